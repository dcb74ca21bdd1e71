/* The simulated TEE's report and evidence codec (layout in sim.h). */
#include <string.h>

#include <openssl/crypto.h>

#include "attest/sim.h"

static VEIL_RESULT rd_tcb(struct veil_rd *r, struct veil_sim_tcb *t)
{
    uint8_t b[8];

    GUARD(veil_rd_bytes(r, b, sizeof(b)));
    t->bootloader = b[0];
    t->tee = b[1];
    t->snp = b[6];
    t->microcode = b[7];
    /* Reserved bytes of the SNP TCB_VERSION must be zero. */
    ENSURE(b[2] == 0 && b[3] == 0 && b[4] == 0 && b[5] == 0, VEIL_ERR_PROTO);
    return VEIL_RESULT_OK;
}

veil_result veil_sim_report_encode_body(const struct veil_sim_report *r, struct veil_wr *w)
{
    uint8_t tcb[8] = {r->tcb.bootloader, r->tcb.tee, 0, 0, 0, 0, r->tcb.snp, r->tcb.microcode};

    GUARD(veil_wr_bytes(w, VEIL_SIM_MAGIC, 8));
    GUARD(veil_wr_u32le(w, r->version));
    GUARD(veil_wr_u32le(w, r->guest_svn));
    GUARD(veil_wr_u64le(w, r->policy));
    GUARD(veil_wr_u32le(w, r->vmpl));
    GUARD(veil_wr_bytes(w, r->family_id, sizeof(r->family_id)));
    GUARD(veil_wr_bytes(w, r->image_id, sizeof(r->image_id)));
    GUARD(veil_wr_bytes(w, r->measurement, sizeof(r->measurement)));
    GUARD(veil_wr_bytes(w, r->host_data, sizeof(r->host_data)));
    GUARD(veil_wr_bytes(w, r->report_data, sizeof(r->report_data)));
    GUARD(veil_wr_bytes(w, r->chip_id, sizeof(r->chip_id)));
    GUARD(veil_wr_bytes(w, tcb, sizeof(tcb)));
    return VEIL_RESULT_OK;
}

veil_result veil_sim_evidence_parse(const uint8_t *data, size_t n, struct veil_sim_evidence *e)
{
    struct veil_rd r;
    struct veil_rd cert;
    struct veil_sim_report *rep = &e->report;
    uint8_t magic[8];

    memset(e, 0, sizeof(*e));
    veil_rd_init(&r, data, n);
    GUARD(veil_rd_bytes(&r, magic, sizeof(magic)));
    ENSURE(CRYPTO_memcmp(magic, VEIL_SIM_MAGIC, sizeof(magic)) == 0, VEIL_ERR_PROTO);
    GUARD(veil_rd_u32le(&r, &rep->version));
    ENSURE(rep->version == 1, VEIL_ERR_PROTO);
    GUARD(veil_rd_u32le(&r, &rep->guest_svn));
    GUARD(veil_rd_u64le(&r, &rep->policy));
    GUARD(veil_rd_u32le(&r, &rep->vmpl));
    ENSURE(rep->vmpl <= 3, VEIL_ERR_PROTO);
    GUARD(veil_rd_bytes(&r, rep->family_id, sizeof(rep->family_id)));
    GUARD(veil_rd_bytes(&r, rep->image_id, sizeof(rep->image_id)));
    GUARD(veil_rd_bytes(&r, rep->measurement, sizeof(rep->measurement)));
    GUARD(veil_rd_bytes(&r, rep->host_data, sizeof(rep->host_data)));
    GUARD(veil_rd_bytes(&r, rep->report_data, sizeof(rep->report_data)));
    GUARD(veil_rd_bytes(&r, rep->chip_id, sizeof(rep->chip_id)));
    GUARD(rd_tcb(&r, &rep->tcb));
    VEIL_ASSERT(r.off == VEIL_SIM_BODY_SIZE);
    GUARD(veil_rd_bytes(&r, rep->signature, sizeof(rep->signature)));
    GUARD(veil_rd_vec16(&r, VEIL_SIM_CERT_SIZE_MAX, &cert));
    ENSURE(cert.size > 0, VEIL_ERR_PROTO);
    GUARD(veil_rd_done(&r));
    e->body = data;
    e->cert_der = cert.data;
    e->cert_size = cert.size;
    return VEIL_RESULT_OK;
}

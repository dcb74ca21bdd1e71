/*
 * Intel DCAP quote parser: SGX quote v3, TDX quote v4 and v5, ECDSA P-256 attestation keys.
 * Layouts: Intel SGX ECDSA Quote Library API (v3), Intel TDX DCAP Quoting Library API (v4, v5).
 * Every field is read with the bounded reader; integers are little endian.
 *
 *   header (48)   version u16, att_key_type u16, tee_type u32, reserved u32, qe_vendor_id[16],
 *                 user_data[20]
 *   v5 only       body_type u16, body_size u32
 *   body          SGX report (384) | TD report 1.0 (584) | TD report 1.5 (648)
 *   sig_data_len u32, then:
 *     signature[64] (r||s over header+body), attestation_key[64] (x||y)
 *     v3:     qe_report[384] qe_report_sig[64] qe_auth(u16 len) cert_data(u16 type 5, u32 len)
 *     v4, v5: cert_data(u16 type 6, u32 len) = { qe_report, qe_report_sig, qe_auth, cert_data 5 }
 */
#include <string.h>

#include "base/buf.h"
#include "verify/dcap_internal.h"

/* Little-endian length-prefixed slices; the cursor does not move on failure. */
static VEIL_RESULT rd_vec32le(struct veil_rd *r, size_t max, struct veil_rd *sub)
{
    struct veil_rd save = *r;
    uint32_t len;
    veil_result res;

    GUARD(veil_rd_u32le(r, &len));
    if (len > max) {
        *r = save;
        BAIL(VEIL_ERR_PROTO_LIMIT);
    }
    res = veil_rd_sub(r, len, sub);
    if (!veil_ok(res)) {
        *r = save;
    }
    return res;
}

static VEIL_RESULT rd_vec16le(struct veil_rd *r, size_t max, struct veil_rd *sub)
{
    struct veil_rd save = *r;
    uint16_t len;
    veil_result res;

    GUARD(veil_rd_u16le(r, &len));
    if (len > max) {
        *r = save;
        BAIL(VEIL_ERR_PROTO_LIMIT);
    }
    res = veil_rd_sub(r, len, sub);
    if (!veil_ok(res)) {
        *r = save;
    }
    return res;
}

static VEIL_RESULT read_sgx_report(struct veil_rd *r, struct veil_dcap_sgx_report *s)
{
    GUARD(veil_rd_bytes(r, s->cpu_svn, sizeof(s->cpu_svn)));
    GUARD(veil_rd_u32le(r, &s->misc_select));
    GUARD(veil_rd_skip(r, 28)); /* reserved1[12], isv_ext_prod_id[16] */
    GUARD(veil_rd_bytes(r, s->attributes, sizeof(s->attributes)));
    GUARD(veil_rd_bytes(r, s->mr_enclave, sizeof(s->mr_enclave)));
    GUARD(veil_rd_skip(r, 32)); /* reserved2 */
    GUARD(veil_rd_bytes(r, s->mr_signer, sizeof(s->mr_signer)));
    GUARD(veil_rd_skip(r, 96)); /* reserved3[32], config_id[64] */
    GUARD(veil_rd_u16le(r, &s->isv_prod_id));
    GUARD(veil_rd_u16le(r, &s->isv_svn));
    GUARD(veil_rd_skip(r, 60)); /* config_svn u16, reserved4[42], isv_family_id[16] */
    GUARD(veil_rd_bytes(r, s->report_data, sizeof(s->report_data)));
    return VEIL_RESULT_OK;
}

static VEIL_RESULT read_td_report(struct veil_rd *r, bool v15, struct veil_dcap_td_report *t)
{
    GUARD(veil_rd_bytes(r, t->tee_tcb_svn, sizeof(t->tee_tcb_svn)));
    GUARD(veil_rd_bytes(r, t->mr_seam, sizeof(t->mr_seam)));
    GUARD(veil_rd_bytes(r, t->mr_signer_seam, sizeof(t->mr_signer_seam)));
    GUARD(veil_rd_bytes(r, t->seam_attributes, sizeof(t->seam_attributes)));
    GUARD(veil_rd_bytes(r, t->td_attributes, sizeof(t->td_attributes)));
    GUARD(veil_rd_bytes(r, t->xfam, sizeof(t->xfam)));
    GUARD(veil_rd_bytes(r, t->mr_td, sizeof(t->mr_td)));
    GUARD(veil_rd_bytes(r, t->mr_config_id, sizeof(t->mr_config_id)));
    GUARD(veil_rd_bytes(r, t->mr_owner, sizeof(t->mr_owner)));
    GUARD(veil_rd_bytes(r, t->mr_owner_config, sizeof(t->mr_owner_config)));
    for (size_t i = 0; i < 4; i++) {
        GUARD(veil_rd_bytes(r, t->rtmr[i], sizeof(t->rtmr[i])));
    }
    GUARD(veil_rd_bytes(r, t->report_data, sizeof(t->report_data)));
    t->is_v15 = v15;
    if (v15) {
        GUARD(veil_rd_bytes(r, t->tee_tcb_svn2, sizeof(t->tee_tcb_svn2)));
        GUARD(veil_rd_bytes(r, t->mr_servicetd, sizeof(t->mr_servicetd)));
    }
    return VEIL_RESULT_OK;
}

/* Certification data type 5: the PEM chain. */
static VEIL_RESULT read_pck_chain(struct veil_rd *r, struct veil_dcap_quote *q)
{
    uint16_t type;
    struct veil_rd pem;

    GUARD(veil_rd_u16le(r, &type));
    ENSURE(type == VEIL_DCAP_CERT_PCK_CHAIN, VEIL_ERR_DCAP_CERT_DATA);
    GUARD(rd_vec32le(r, VEIL_DCAP_CERT_DATA_SIZE_MAX, &pem));
    ENSURE(veil_rd_left(&pem) > 0, VEIL_ERR_DCAP_CERT_DATA);
    q->pck_chain_pem = veil_rd_ptr(&pem);
    q->pck_chain_pem_size = veil_rd_left(&pem);
    return VEIL_RESULT_OK;
}

/* QE report, its signature, QE authentication data, PCK chain (v3 inline; v4/v5 inside type 6). */
static VEIL_RESULT read_qe_part(struct veil_rd *r, struct veil_dcap_quote *q)
{
    struct veil_rd qe;
    struct veil_rd auth;

    GUARD(veil_rd_sub(r, VEIL_DCAP_SGX_REPORT_SIZE, &qe));
    q->qe_report_raw = veil_rd_ptr(&qe);
    GUARD(read_sgx_report(&qe, &q->qe_report));
    GUARD(veil_rd_done(&qe));
    GUARD(veil_rd_bytes(r, q->qe_report_signature, sizeof(q->qe_report_signature)));
    GUARD(rd_vec16le(r, VEIL_DCAP_QE_AUTH_SIZE_MAX, &auth));
    q->qe_auth = veil_rd_ptr(&auth);
    q->qe_auth_size = veil_rd_left(&auth);
    return read_pck_chain(r, q);
}

static VEIL_RESULT read_sig_data(struct veil_rd *r, struct veil_dcap_quote *q)
{
    struct veil_rd sig;

    GUARD(rd_vec32le(r, VEIL_DCAP_SIG_DATA_SIZE_MAX, &sig));
    GUARD(veil_rd_bytes(&sig, q->signature, sizeof(q->signature)));
    GUARD(veil_rd_bytes(&sig, q->att_key, sizeof(q->att_key)));
    if (q->version == 3) {
        GUARD(read_qe_part(&sig, q));
    } else {
        uint16_t type;
        struct veil_rd cert;
        GUARD(veil_rd_u16le(&sig, &type));
        ENSURE(type == VEIL_DCAP_CERT_QE_REPORT, VEIL_ERR_DCAP_CERT_DATA);
        GUARD(rd_vec32le(&sig, VEIL_DCAP_CERT_DATA_SIZE_MAX, &cert));
        GUARD(read_qe_part(&cert, q));
        GUARD(veil_rd_done(&cert));
    }
    return veil_rd_done(&sig);
}

static VEIL_RESULT read_header(struct veil_rd *r, struct veil_dcap_quote *q)
{
    GUARD(veil_rd_u16le(r, &q->version));
    ENSURE(q->version == 3 || q->version == 4 || q->version == 5, VEIL_ERR_DCAP_QUOTE_VERSION);
    GUARD(veil_rd_u16le(r, &q->att_key_type));
    ENSURE(q->att_key_type == VEIL_DCAP_KEY_TYPE_P256, VEIL_ERR_DCAP_QUOTE_KEY_TYPE);
    GUARD(veil_rd_u32le(r, &q->tee_type));
    ENSURE(q->tee_type == VEIL_DCAP_TEE_SGX || q->tee_type == VEIL_DCAP_TEE_TDX,
           VEIL_ERR_DCAP_QUOTE_TEE);
    /* SGX quotes are v3; TDX quotes are v4 or v5. */
    ENSURE((q->version == 3) == (q->tee_type == VEIL_DCAP_TEE_SGX), VEIL_ERR_DCAP_QUOTE_TEE);
    GUARD(veil_rd_skip(r, 4)); /* v3: qe_svn, pce_svn; v4/v5: reserved */
    GUARD(veil_rd_bytes(r, q->qe_vendor_id, sizeof(q->qe_vendor_id)));
    GUARD(veil_rd_skip(r, 20)); /* user_data */
    return VEIL_RESULT_OK;
}

static VEIL_RESULT read_body(struct veil_rd *r, struct veil_dcap_quote *q)
{
    struct veil_rd body;
    uint32_t body_size;

    if (q->version == 3) {
        GUARD(veil_rd_sub(r, VEIL_DCAP_SGX_REPORT_SIZE, &body));
        GUARD(read_sgx_report(&body, &q->enclave));
        return veil_rd_done(&body);
    }
    if (q->version == 4) {
        GUARD(veil_rd_sub(r, VEIL_DCAP_TD10_REPORT_SIZE, &body));
        GUARD(read_td_report(&body, false, &q->td));
        return veil_rd_done(&body);
    }
    GUARD(veil_rd_u16le(r, &q->body_type));
    GUARD(veil_rd_u32le(r, &body_size));
    ENSURE((q->body_type == 2 && body_size == VEIL_DCAP_TD10_REPORT_SIZE) ||
               (q->body_type == 3 && body_size == VEIL_DCAP_TD15_REPORT_SIZE),
           VEIL_ERR_DCAP_QUOTE_BODY);
    GUARD(veil_rd_sub(r, body_size, &body));
    GUARD(read_td_report(&body, q->body_type == 3, &q->td));
    return veil_rd_done(&body);
}

veil_result veil_dcap_quote_parse(const uint8_t *data, size_t n, struct veil_dcap_quote *out)
{
    struct veil_dcap_quote q;
    struct veil_rd r;

    ENSURE_REF(data);
    ENSURE(n <= VEIL_DCAP_QUOTE_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    memset(&q, 0, sizeof(q));
    veil_rd_init(&r, data, n);
    GUARD(read_header(&r, &q));
    GUARD(read_body(&r, &q));
    q.signed_data = data;
    q.signed_size = r.off;
    GUARD(read_sig_data(&r, &q));
    q.quote_size = r.off;
    /* Zero padding after the quote is tolerated; anything else is not. */
    while (veil_rd_left(&r) > 0) {
        uint8_t b;
        GUARD(veil_rd_u8(&r, &b));
        ENSURE(b == 0, VEIL_ERR_PROTO_TRAILING);
    }
    *out = q;
    return VEIL_RESULT_OK;
}

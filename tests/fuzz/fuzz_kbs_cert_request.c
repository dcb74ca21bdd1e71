/* Fuzz target: the key broker's certificate request body (POST /kbs/v0/cert), the PKCS#10
 * request inside it (also fed the input directly as DER), and the answer body. */
#include "kbs/cert.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_kbs_cert_request req;
    struct veil_kbs_csr csr;
    struct veil_wr pem;
    char why[256];

    if (veil_ok(veil_kbs_cert_request_parse(data, size, &req, why, sizeof(why)))) {
        VEIL_ASSERT(req.csr_size > 0 && req.csr_size <= VEIL_KBS_CSR_SIZE_MAX);
        VEIL_ASSERT(req.name[0] != '\0');
        if (veil_ok(veil_kbs_csr_parse(req.csr, req.csr_size, &csr, why, sizeof(why)))) {
            VEIL_ASSERT(csr.san_count >= 1 && csr.san_count <= VEIL_KBS_CERT_SAN_COUNT_MAX);
            veil_kbs_csr_free(&csr);
        }
        veil_kbs_cert_request_free(&req);
    }
    if (veil_ok(veil_kbs_csr_parse(data, size, &csr, why, sizeof(why)))) {
        VEIL_ASSERT(csr.key != NULL && csr.san_ext != NULL);
        veil_kbs_csr_free(&csr);
    }
    veil_wr_init(&pem, VEIL_KBS_CERT_CHAIN_SIZE_MAX);
    (void)veil_ok(veil_kbs_cert_response_parse(data, size, &pem));
    veil_wr_free(&pem);
    return 0;
}

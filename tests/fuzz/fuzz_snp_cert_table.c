/* Fuzz target: the SNP extended-report certificate table, and each blob it yields as DER. */
#include <openssl/x509.h>

#include "veil_fuzz.h"
#include "verify/snp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_snp_cert_entry e[VEIL_SNP_CERT_TABLE_COUNT_MAX];
    size_t n = 0;

    if (!veil_ok(veil_snp_cert_table_parse(data, size, e, &n))) {
        return 0;
    }
    VEIL_ASSERT(n <= VEIL_SNP_CERT_TABLE_COUNT_MAX);
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = e[i].der;
        X509 *x;
        VEIL_ASSERT(e[i].offset + e[i].der_size <= size);
        x = d2i_X509(NULL, &p, (long)e[i].der_size);
        X509_free(x);
    }
    return 0;
}

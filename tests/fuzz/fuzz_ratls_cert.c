/* Fuzz target: a server certificate (DER) through evidence extraction and the whole attested TLS
 * verification, with a policy that names sim and no trust anchor: nothing may pass. */
#include <time.h>

#include "ratls/ratls.h"
#include "veil_fuzz.h"

static const char policy_json[] =
    "{\"version\":1,\"anyOf\":[{\"claim\":\"tee\",\"equals\":\"sim\"},"
    "{\"claim\":\"tee\",\"equals\":\"snp\"},{\"claim\":\"tee\",\"equals\":\"tdx\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const unsigned char *p = data;
    X509 *cert;
    struct veil_policy policy;
    struct veil_ratls_verifier v;
    struct veil_wr ev;
    enum veil_tee tee;
    struct tm tm;

    if (size > 128u << 10) {
        return 0;
    }
    cert = d2i_X509(NULL, &p, (long)size);
    if (cert == NULL) {
        return 0;
    }
    veil_wr_init(&ev, VEIL_RATLS_EVIDENCE_SIZE_MAX);
    (void)veil_ok(veil_ratls_cert_evidence(cert, &tee, &ev));
    veil_wr_free(&ev);
    VEIL_ASSERT(veil_ok(veil_policy_parse((const uint8_t *)policy_json, sizeof(policy_json) - 1,
                                          &policy, NULL, 0)));
    veil_ratls_verifier_init(&v, &policy, NULL);
    /* deterministic: just after the certificate's own notBefore, so that fuzzing gets past the
     * validity check */
    if (ASN1_TIME_to_tm(X509_get0_notBefore(cert), &tm) == 1) {
        v.at = timegm(&tm) + 1;
    } else {
        v.at = 1700000000;
    }
    VEIL_ASSERT(!veil_ok(veil_ratls_cert_verify(&v, cert)));
    VEIL_ASSERT(v.failure[0] != '\0');
    veil_ratls_verifier_reset(&v);
    veil_policy_free(&policy);
    X509_free(cert);
    return 0;
}

/* Making X.509 certificates (OpenSSL does the encoding and signing). */
#ifndef VEIL_CRYPTO_X509_H
#define VEIL_CRYPTO_X509_H

#include <stdbool.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/buf.h"
#include "base/result.h"

struct veil_x509_params {
    const char *cn;
    long validity_s;  /* from one hour ago (clock skew) to now + validity_s */
    bool ca;          /* CA:TRUE, keyCertSign; else CA:FALSE, digitalSignature */
    const char *san;  /* e.g. "DNS:localhost,IP:127.0.0.1", or NULL */
    bool server_auth; /* extendedKeyUsage serverAuth */
};

/* A certificate for key, signed by signer with SHA-384, issued by issuer (NULL: self-signed). */
VEIL_RESULT veil_x509_make(EVP_PKEY *key, const struct veil_x509_params *p, X509 *issuer,
                           EVP_PKEY *signer, X509 **out);
VEIL_RESULT veil_x509_pem(X509 *cert, struct veil_wr *w);

#endif

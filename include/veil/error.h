/*
 * veil error codes. Every public function returns 0 or -VEIL_ERR_*; every code has one
 * sentence that says what went wrong, in words a person can act on (veil_strerror).
 */
#ifndef VEIL_ERROR_H
#define VEIL_ERROR_H

#include <veil/export.h>

/* Categories: the hundreds digit. */
#define VEIL_ERR_CATEGORY(code) ((code) / 100 * 100)

/* X-macro: name, value, message. One table feeds the enum and veil_strerror. */
#define VEIL_ERROR_TABLE(X)                                                                        \
    X(VEIL_OK, 0, "success")                                                                       \
    /* IO: the operating system said no */                                                         \
    X(VEIL_ERR_IO, 100, "input/output error")                                                      \
    X(VEIL_ERR_IO_OPEN, 101, "cannot open file")                                                   \
    X(VEIL_ERR_IO_READ, 102, "read failed")                                                        \
    X(VEIL_ERR_IO_WRITE, 103, "write failed")                                                      \
    X(VEIL_ERR_IO_RENAME, 104, "cannot move the finished file into place")                         \
    X(VEIL_ERR_IO_EXISTS, 105, "output file already exists")                                       \
    X(VEIL_ERR_IO_PERMISSIONS, 106, "key file is readable by group or others; chmod 600 it")       \
    X(VEIL_ERR_IO_NOT_REGULAR, 107, "not a regular file")                                          \
    X(VEIL_ERR_IO_SHORT, 108, "file ended early")                                                  \
    X(VEIL_ERR_STORE_DB, 120, "database error (see the log for SQLite's message)")                 \
    X(VEIL_ERR_STORE_BUSY, 121, "database is locked by another process; try again")                \
    X(VEIL_ERR_STORE_SCHEMA, 122, "database schema is newer than this program; upgrade veil")      \
    X(VEIL_ERR_STORE_NOT_FOUND, 123, "no such resource, policy or session in the store")           \
    /* PROTO: the bytes we were given are malformed */                                             \
    X(VEIL_ERR_PROTO, 200, "malformed input")                                                      \
    X(VEIL_ERR_PROTO_TRUNCATED, 201, "input is truncated")                                         \
    X(VEIL_ERR_PROTO_TRAILING, 202, "unexpected bytes after the end of the input")                 \
    X(VEIL_ERR_PROTO_LIMIT, 203, "a length in the input exceeds its limit")                        \
    X(VEIL_ERR_PROTO_ENCODING, 204, "invalid hex or base64 encoding")                              \
    X(VEIL_ERR_PROTO_KEY, 205, "not a valid key file")                                             \
    /* PROTO 275-279: certificate requests to the key broker (docs/PROTOCOL.kbs-certs.md) */       \
    X(VEIL_ERR_PROTO_CSR, 275,                                                                     \
      "certificate signing request is malformed, asks for an extension the broker does not "       \
      "issue, or its signature does not verify")                                                   \
    X(VEIL_ERR_PROTO_SAN, 276,                                                                     \
      "a requested subject alternative name is not a plain DNS name or IP address")                \
    X(VEIL_ERR_DCAP_QUOTE_VERSION, 240,                                                            \
      "unsupported Intel DCAP quote version (SGX v3, TDX v4 and v5 are supported)")                \
    X(VEIL_ERR_DCAP_QUOTE_KEY_TYPE, 241,                                                           \
      "unsupported DCAP attestation key type (only ECDSA P-256 is supported)")                     \
    X(VEIL_ERR_DCAP_QUOTE_TEE, 242, "DCAP quote is for another TEE type (SGX vs TDX)")             \
    X(VEIL_ERR_DCAP_QUOTE_BODY, 243, "unsupported DCAP quote body type or body size")              \
    X(VEIL_ERR_DCAP_CERT_DATA, 244,                                                                \
      "unsupported or malformed certification data in the DCAP quote")                             \
    X(VEIL_ERR_DCAP_TCB_INFO, 245, "malformed Intel TCB info JSON")                                \
    X(VEIL_ERR_DCAP_QE_IDENTITY, 246, "malformed Intel QE identity JSON")                          \
    X(VEIL_ERR_DCAP_COLLATERAL, 247, "malformed DCAP collateral bundle")                           \
    X(VEIL_ERR_DCAP_PCK_EXTENSION, 248, "malformed Intel SGX extension in the PCK certificate")    \
    X(VEIL_ERR_MODEL_MAGIC, 220, "not a veil sealed model (bad magic)")                            \
    X(VEIL_ERR_MODEL_VERSION, 221, "unsupported sealed model format version")                      \
    X(VEIL_ERR_MODEL_SUITE, 222, "unsupported cipher suite or signature algorithm")                \
    X(VEIL_ERR_MODEL_HEADER, 223, "sealed model header has an invalid field")                      \
    X(VEIL_ERR_MODEL_TRUNCATED, 224, "sealed model is truncated: chunks are missing or cut short") \
    X(VEIL_ERR_MODEL_EXTENDED, 225, "sealed model has bytes after its last chunk")                 \
    /* PROTO 230-239: AMD SEV-SNP attestation reports and certificate tables */                    \
    X(VEIL_ERR_SNP_SIZE, 230, "SEV-SNP attestation report is not 1184 bytes")                      \
    X(VEIL_ERR_SNP_VERSION, 231,                                                                   \
      "unsupported SEV-SNP attestation report version (supported: 2, 3, 5)")                       \
    X(VEIL_ERR_SNP_RESERVED, 232, "SEV-SNP attestation report has nonzero reserved bits or bytes") \
    X(VEIL_ERR_SNP_SIG_ALGO, 233,                                                                  \
      "SEV-SNP report signature algorithm is not 1 (ECDSA P-384 with SHA-384)")                    \
    X(VEIL_ERR_SNP_FIELD, 234, "SEV-SNP attestation report has an invalid field value")            \
    X(VEIL_ERR_SNP_CERT_TABLE, 235, "malformed SEV-SNP extended-report certificate table")         \
    /* PROTO 250-259: attested TLS certificates */                                                 \
    X(VEIL_ERR_RATLS_EXTENSION, 250,                                                               \
      "certificate has no attested TLS evidence extension, or it is malformed")                    \
    X(VEIL_ERR_RATLS_TAG, 251, "attested TLS evidence has an unknown or unsupported CBOR tag")     \
    /* PROTO 270-274: images and inference responses read by the client-side tensor tool */        \
    X(VEIL_ERR_IMAGE_FORMAT, 270, "not a PNG or a binary PGM/PPM (P5/P6) image")                   \
    X(VEIL_ERR_IMAGE_MALFORMED, 271,                                                               \
      "image is malformed: bad header, truncated pixel data or a corrupt PNG stream")              \
    X(VEIL_ERR_IMAGE_SIZE, 272,                                                                    \
      "image has a zero dimension or exceeds the limit (8192 pixels a side, 16 Mpixels)")          \
    X(VEIL_ERR_TENSOR_RESPONSE, 273,                                                               \
      "not a KServe v2 inference response with an FP32 output of shape [1, T, C] as flat data")    \
    X(VEIL_ERR_CTC_LABELS, 274,                                                                    \
      "label file is malformed: empty, over 65536 lines, a line over 64 bytes or not UTF-8")       \
    X(VEIL_ERR_STORE_PATH, 280,                                                                    \
      "invalid resource path: want repo/type/tag, segments of [A-Za-z0-9._-] of 1..128 bytes")     \
    X(VEIL_ERR_JOSE, 260, "malformed JOSE object: not JSON, not an object, or not three parts")    \
    X(VEIL_ERR_JOSE_MEMBER, 261, "JOSE object has an unknown, missing or mistyped member")         \
    X(VEIL_ERR_JOSE_ALG, 262,                                                                      \
      "JOSE algorithm refused: none, HMAC, unknown, or not the algorithm of the key")              \
    X(VEIL_ERR_JOSE_CRIT, 263, "JOSE header marks extensions as critical; none are supported")     \
    X(VEIL_ERR_JOSE_LENGTH, 264,                                                                   \
      "JOSE field has the wrong length (IV, tag, wrapped key, coordinate or signature)")           \
    X(VEIL_ERR_JWK_PRIVATE, 265, "JWK carries private key members; only public keys are accepted") \
    X(VEIL_ERR_JWK_KEY, 266,                                                                       \
      "JWK is not a valid public key (point not on the curve, modulus or exponent out of range)")  \
    X(VEIL_ERR_JWE_EPK, 267, "JWE ephemeral key is not an EC key on the recipient's curve")        \
    X(VEIL_ERR_JWT_CLAIMS, 268,                                                                    \
      "JWT claims are not a JSON object, or exp/nbf/iat is missing or not an integer")             \
    X(VEIL_ERR_ENGINE_MODEL, 290, "not a valid ONNX model (protobuf does not parse or is empty)")  \
    X(VEIL_ERR_ENGINE_LIMIT, 291, "ONNX model exceeds an engine limit (size, count, rank, depth)") \
    X(VEIL_ERR_ENGINE_GRAPH, 292,                                                                  \
      "ONNX graph is invalid: a value is undefined, defined twice, or the graph has a cycle")      \
    X(VEIL_ERR_ENGINE_TENSOR, 293,                                                                 \
      "ONNX tensor is malformed: its data does not match its type and shape")                      \
    X(VEIL_ERR_ENGINE_EXTERNAL, 294,                                                               \
      "ONNX tensor uses external data, which is allowed only when loading from a directory")       \
    X(VEIL_ERR_ENGINE_ATTR, 295, "ONNX node attribute is missing, of the wrong type or invalid")   \
    X(VEIL_ERR_ENGINE_SHAPE, 296, "tensor shapes or types do not fit the operator")                \
    X(VEIL_ERR_ENGINE_INDEX, 297, "an index or value in tensor data is out of range")              \
    /* CRYPTO: authentication or signature checks refused the input */                             \
    X(VEIL_ERR_CRYPTO, 300, "cryptographic operation failed")                                      \
    X(VEIL_ERR_MODEL_SIGNER, 301, "sealed model was signed by a different key than the one given") \
    X(VEIL_ERR_MODEL_SIGNATURE, 302,                                                               \
      "provider signature over the manifest does not verify: the header was modified")             \
    X(VEIL_ERR_MODEL_KEY, 303, "wrong model key: it does not match the file's key commitment")     \
    X(VEIL_ERR_MODEL_CHUNK, 304,                                                                   \
      "a chunk failed authentication: the file was modified, reordered or spliced")                \
    X(VEIL_ERR_MODEL_ROOT, 305,                                                                    \
      "chunk digest does not match the signed manifest: the chunks were replaced")                 \
    X(VEIL_ERR_MODEL_IDENTITY, 306,                                                                \
      "sealed model is not the one expected (name, version or model id differ)")                   \
    X(VEIL_ERR_CRYPTO_KEY, 307, "key is of an unsupported type or malformed")                      \
    X(VEIL_ERR_CRYPTO_KEY_MISMATCH, 323,                                                           \
      "the certificate request's key is not the key the attestation bound")                        \
    X(VEIL_ERR_STORE_NONCE_USED, 320, "session nonce was already used: the evidence is a replay")  \
    X(VEIL_ERR_STORE_NONCE_EXPIRED, 321, "session nonce has passed its deadline")                  \
    X(VEIL_ERR_STORE_AUDIT_BROKEN, 322,                                                            \
      "audit log hash chain is broken: a record was edited, removed or reordered")                 \
    X(VEIL_ERR_JWS_SIGNATURE, 310, "JWS signature does not verify with the given key")             \
    X(VEIL_ERR_JWE_DECRYPT, 311,                                                                   \
      "JWE does not decrypt: wrong key, or the header, wrapped key, IV, ciphertext or tag "        \
      "changed")                                                                                   \
    X(VEIL_ERR_JWT_EXPIRED, 312, "JWT has expired")                                                \
    X(VEIL_ERR_JWT_NOT_YET_VALID, 313, "JWT is not valid yet (nbf or iat lies in the future)")     \
    X(VEIL_ERR_KBS_SESSIONS_FULL, 314,                                                             \
      "the key broker holds as many sessions as sessions_max allows: retry once some expire")      \
    X(VEIL_ERR_KBS_SESSION_UNKNOWN, 315,                                                           \
      "no such session: unknown, expired, or lost when the key broker restarted")                  \
    /* ATTEST: evidence rejected */                                                                \
    X(VEIL_ERR_ATTEST, 400, "attestation evidence rejected")                                       \
    /* ATTEST 410-449: AMD SEV-SNP (410-411 used inside the verifier, which returns ATTEST) */     \
    X(VEIL_ERR_SNP_SIGNATURE, 410, "SEV-SNP report signature does not verify with the VCEK/VLEK")  \
    X(VEIL_ERR_SNP_REVOKED, 411, "an SEV-SNP certificate is revoked or its CRL is not valid")      \
    /* POLICY: access denied */                                                                    \
    X(VEIL_ERR_POLICY, 500, "denied by policy")                                                    \
    /* NOMEM */                                                                                    \
    X(VEIL_ERR_NOMEM, 600, "out of memory")                                                        \
    X(VEIL_ERR_NOMEM_LOCK, 601,                                                                    \
      "cannot lock memory: raise RLIMIT_MEMLOCK (ulimit -l) or run with CAP_IPC_LOCK")             \
    /* USAGE: the caller asked for something invalid */                                            \
    X(VEIL_ERR_USAGE, 700, "invalid argument")                                                     \
    X(VEIL_ERR_USAGE_STREAM, 701,                                                                  \
      "refusing to write to stdout: output cannot be held back until the whole file "              \
      "has verified; use a file, or --unsafe-stream if a consumer can discard it")                 \
    X(VEIL_ERR_USAGE_LIMIT, 702, "value out of range")                                             \
    X(VEIL_ERR_USAGE_NO_CA, 726,                                                                   \
      "the key broker has no certificate authority (kbs-ca.pem, kbs-ca.key in its state "          \
      "directory)")                                                                                \
    X(VEIL_ERR_KBS_CURL, 727,                                                                      \
      "cannot load libcurl (libcurl.so.4), which the key broker client loads for its exchange")    \
    X(VEIL_ERR_ENGINE_UNSUPPORTED_OP, 710,                                                         \
      "the model uses an operator the engine does not support")                                    \
    X(VEIL_ERR_ENGINE_UNSUPPORTED_TYPE, 711,                                                       \
      "the model uses a tensor type the engine does not support for this operator")                \
    X(VEIL_ERR_ENGINE_INPUT, 712, "model input is missing, unknown, or of the wrong type or rank") \
    X(VEIL_ERR_ENGINE_INPUT_SHAPE, 713,                                                            \
      "the given input shape does not fit the model's declared input (rank or a static dim)")      \
    X(VEIL_ERR_ENGINE_NOTHING_TO_PLAN, 714,                                                        \
      "the graph has no intermediate values to plan: its inputs and weights feed its outputs")     \
    /* USAGE 720-739: veil-serve (inference requests, start-up) */                                 \
    X(VEIL_ERR_SERVE_REQUEST, 720,                                                                 \
      "inference request is malformed: unknown key, wrong type, or shape and data disagree")       \
    X(VEIL_ERR_SERVE_DATATYPE, 721, "tensor datatype is not supported by the inference server")    \
    X(VEIL_ERR_SERVE_MODEL_SIZE, 722,                                                              \
      "the sealed model's plaintext is empty or too large to load")                                \
    /* USAGE 723-725: the client-side tensor tool (veil tensor) */                                 \
    X(VEIL_ERR_CTC_CLASSES, 723,                                                                   \
      "the output's class count does not fit the labels: want labels + 1 blank (+ 1 space)")       \
    X(VEIL_ERR_TENSOR_GEOMETRY, 724,                                                               \
      "tensor geometry out of range: height 1..1024, width multiple 1..64, width up to 8192")      \
    /* INTERNAL: a bug or a library failure we did not expect */                                   \
    X(VEIL_ERR_INTERNAL, 800, "internal error")                                                    \
    X(VEIL_ERR_INTERNAL_OSSL, 801, "OpenSSL call failed")                                          \
    X(VEIL_ERR_INTERNAL_THREAD, 802, "cannot start worker threads")

enum veil_error {
#define VEIL_ERROR_ENUM(name, value, msg) name = value,
    VEIL_ERROR_TABLE(VEIL_ERROR_ENUM)
#undef VEIL_ERROR_ENUM
};

/* The message for a code; accepts code or -code. Never NULL. */
VEIL_API const char *veil_strerror(int code);
/* The symbolic name ("VEIL_ERR_MODEL_KEY"); never NULL. */
VEIL_API const char *veil_error_name(int code);

#endif

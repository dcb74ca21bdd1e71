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
    /* PROTO: the bytes we were given are malformed */                                             \
    X(VEIL_ERR_PROTO, 200, "malformed input")                                                      \
    X(VEIL_ERR_PROTO_TRUNCATED, 201, "input is truncated")                                         \
    X(VEIL_ERR_PROTO_TRAILING, 202, "unexpected bytes after the end of the input")                 \
    X(VEIL_ERR_PROTO_LIMIT, 203, "a length in the input exceeds its limit")                        \
    X(VEIL_ERR_PROTO_ENCODING, 204, "invalid hex or base64 encoding")                              \
    X(VEIL_ERR_PROTO_KEY, 205, "not a valid key file")                                             \
    X(VEIL_ERR_MODEL_MAGIC, 220, "not a veil sealed model (bad magic)")                            \
    X(VEIL_ERR_MODEL_VERSION, 221, "unsupported sealed model format version")                      \
    X(VEIL_ERR_MODEL_SUITE, 222, "unsupported cipher suite or signature algorithm")                \
    X(VEIL_ERR_MODEL_HEADER, 223, "sealed model header has an invalid field")                      \
    X(VEIL_ERR_MODEL_TRUNCATED, 224, "sealed model is truncated: chunks are missing or cut short") \
    X(VEIL_ERR_MODEL_EXTENDED, 225, "sealed model has bytes after its last chunk")                 \
    X(VEIL_ERR_ENGINE_MODEL, 240, "not a valid ONNX model (protobuf does not parse or is empty)")  \
    X(VEIL_ERR_ENGINE_LIMIT, 241, "ONNX model exceeds an engine limit (size, count, rank, depth)") \
    X(VEIL_ERR_ENGINE_GRAPH, 242,                                                                  \
      "ONNX graph is invalid: a value is undefined, defined twice, or the graph has a cycle")      \
    X(VEIL_ERR_ENGINE_TENSOR, 243,                                                                 \
      "ONNX tensor is malformed: its data does not match its type and shape")                      \
    X(VEIL_ERR_ENGINE_EXTERNAL, 244,                                                               \
      "ONNX tensor uses external data, which is allowed only when loading from a directory")       \
    X(VEIL_ERR_ENGINE_ATTR, 245, "ONNX node attribute is missing, of the wrong type or invalid")   \
    X(VEIL_ERR_ENGINE_SHAPE, 246, "tensor shapes or types do not fit the operator")                \
    X(VEIL_ERR_ENGINE_INDEX, 247, "an index or value in tensor data is out of range")              \
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
    /* ATTEST: evidence rejected */                                                                \
    X(VEIL_ERR_ATTEST, 400, "attestation evidence rejected")                                       \
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
    X(VEIL_ERR_ENGINE_UNSUPPORTED_OP, 710,                                                         \
      "the model uses an operator the engine does not support")                                    \
    X(VEIL_ERR_ENGINE_UNSUPPORTED_TYPE, 711,                                                       \
      "the model uses a tensor type the engine does not support for this operator")                \
    X(VEIL_ERR_ENGINE_INPUT, 712, "model input is missing, unknown, or of the wrong type or rank") \
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

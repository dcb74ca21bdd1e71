/*
 * The body of an inference response as a libevent buffer, without copying the outputs: the JSON
 * header and each binary output's tensor data are added to the buffer by reference, and the
 * memory that held them is wiped and freed when libevent has sent (or dropped) the last of them.
 * Outputs may be confidential: no copy of them is left in libevent's own (unwiped) chains.
 */
#ifndef VEIL_SERVE_RESPONSE_H
#define VEIL_SERVE_RESPONSE_H

#include <stddef.h>

#include "tensor_json.h"

struct evbuffer;

/* Appends to b the response serve_response_build would write (its JSON, then its binary parts),
 * byte for byte, and sets *json_len to the JSON's size (the Inference-Header-Content-Length when
 * any output is binary). tensors (tensor_count of them, heap-allocated with calloc, each owned)
 * are taken over in every case: outs must point into them. The JSON and the binary parts are each
 * capped at size_max (VEIL_ERR_PROTO_LIMIT beyond, and b left empty). b NULL: VEIL_ERR_NOMEM. */
VEIL_RESULT serve_response_evbuffer(const char *model_name, const char *model_version,
                                    const char *id, const struct serve_output *outs, size_t count,
                                    struct veil_tensor *tensors, size_t tensor_count,
                                    size_t size_max, struct evbuffer *b, size_t *json_len);

#endif

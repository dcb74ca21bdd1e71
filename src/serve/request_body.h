/*
 * An inference request's body as it arrived, in libevent's evbuffer chains (docs/PROTOCOL.serve.md,
 * "Request handling"). A binary tensor extension request is parsed without making the body
 * contiguous: only the JSON header is copied out, and each binary input's bytes are moved from
 * the chains straight into the input's tensor, the chains drained as they go, so that the input
 * is never held twice. Unit-tested and fuzzed on its own (tests/unit/serve/test_request_body.c,
 * tests/fuzz/fuzz_kserve_request.c).
 */
#ifndef VEIL_SERVE_REQUEST_BODY_H
#define VEIL_SERVE_REQUEST_BODY_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/buffer.h>

#include "base/result.h"
#include "tensor_json.h"

/* The value of Inference-Header-Content-Length (h; NULL when the header is absent: the whole
 * body is JSON) for a body of body_size bytes: a decimal of at most 12 digits, no larger than the
 * body. Sets *json_size and returns true, or returns false. */
bool serve_header_length(const char *h, size_t body_size, size_t *json_size);

/* Parses a request whose first json_size bytes of body (json_size <= the body's length) are the
 * JSON and the rest the binary tensor data, as serve_request_parse does (same checks, same
 * codes, same sentences in why), consuming body as it goes: on return, whatever the outcome,
 * the bytes read are drained (what is left is the caller's to drain). req as in
 * serve_request_parse. A binary input of 2 MiB or more, or of hand_back_min bytes or more, is
 * moved in slices with the drained chains' heap pages handed back between them (malloc_trim:
 * the input is not held twice, for some time per request); a smaller one in one go. A binary
 * input goes into the room room gives it, if any (optional), else into a tensor of its own. */
VEIL_RESULT serve_request_parse_evbuffer(struct evbuffer *body, size_t json_size,
                                         size_t tensor_size_max, size_t hand_back_min,
                                         const struct serve_room *room, struct serve_request *req,
                                         char *why, size_t why_size);

#endif

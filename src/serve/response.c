/* Inference responses into libevent buffers by reference (see response.h). */
#include "response.h"

#include <stdlib.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>

#include <veil/veil.h>

/* What the buffer's references point into: freed, wiped, when the last reference goes. Every
 * reference lives in the one worker thread's buffers, so the count needs no lock. */
struct held {
    struct veil_wr json;
    struct veil_tensor *tensors;
    size_t tensor_count;
    size_t refs;
};

static void held_release(struct held *h)
{
    if (--h->refs > 0) {
        return;
    }
    veil_wr_free(&h->json); /* a secret writer: wiped */
    for (size_t i = 0; i < h->tensor_count; i++) {
        struct veil_tensor *t = &h->tensors[i];
        if (t->data != NULL && !t->borrowed) {
            OPENSSL_cleanse(t->data, t->size);
        }
        veil_tensor_free(t);
    }
    free(h->tensors);
    free(h);
}

static void unref(const void *data, size_t n, void *arg)
{
    (void)data;
    (void)n;
    held_release(arg);
}

static veil_result add_ref(struct evbuffer *b, struct held *h, const void *data, size_t n)
{
    if (n == 0) {
        return VEIL_RESULT_OK;
    }
    h->refs++;
    if (evbuffer_add_reference(b, data, n, unref, h) != 0) {
        h->refs--;
        return veil_result_of(VEIL_ERR_NOMEM);
    }
    return VEIL_RESULT_OK;
}

veil_result serve_response_evbuffer(const char *model_name, const char *model_version,
                                    const char *id, const struct serve_output *outs, size_t count,
                                    struct veil_tensor *tensors, size_t tensor_count,
                                    size_t size_max, struct evbuffer *b, size_t *json_len)
{
    struct held *h = calloc(1, sizeof(*h));
    size_t bin_len = 0;
    veil_result r = VEIL_RESULT_OK;

    if (h == NULL) {
        for (size_t i = 0; i < tensor_count; i++) {
            if (tensors[i].data != NULL && !tensors[i].borrowed) {
                OPENSSL_cleanse(tensors[i].data, tensors[i].size);
            }
            veil_tensor_free(&tensors[i]);
        }
        free(tensors);
        return veil_result_of(VEIL_ERR_NOMEM);
    }
    h->tensors = tensors;
    h->tensor_count = tensor_count;
    h->refs = 1; /* ours, until the end */
    veil_wr_init_secret(&h->json, size_max);
    r = b != NULL ? serve_response_build(model_name, model_version, id, outs, count, &h->json, NULL)
                  : veil_result_of(VEIL_ERR_NOMEM);
    for (size_t i = 0; veil_ok(r) && i < count; i++) {
        if (outs[i].binary) {
            if (outs[i].tensor->size > size_max - bin_len) {
                r = veil_result_of(VEIL_ERR_PROTO_LIMIT);
            } else {
                bin_len += outs[i].tensor->size;
            }
        }
    }
    if (veil_ok(r)) {
        *json_len = h->json.len;
        r = add_ref(b, h, h->json.data, h->json.len);
    }
    for (size_t i = 0; veil_ok(r) && i < count; i++) {
        if (outs[i].binary) {
            r = add_ref(b, h, outs[i].tensor->data, outs[i].tensor->size);
        }
    }
    if (!veil_ok(r) && b != NULL) {
        /* Drops what was added: its references go, and with ours the memory. */
        (void)evbuffer_drain(b, evbuffer_get_length(b));
    }
    held_release(h);
    return r;
}

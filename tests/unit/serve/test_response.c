/* Inference responses into libevent buffers by reference (src/serve/response.c): the body is
 * byte for byte what serve_response_build writes (JSON, then the binary parts), the tensors are
 * taken over and freed once the buffer lets go of them (ASan reports a leak or a use after free
 * otherwise), and the limits refuse without leaving part of a body behind. */
#include <event2/buffer.h>

#include "response.h"
#include "veil_test.h"
#include <veil/veil.h>

enum { BIG = 300000 }; /* elements: a body larger than one libevent chain */

/* Three tensors on the heap: a large FP32 one, a small INT64 one, an empty FP32 one. */
static struct veil_tensor *make_tensors(void)
{
    struct veil_tensor *t = calloc(3, sizeof(*t));
    const int64_t big[3] = {1, BIG / 100, 100};
    const int64_t small[1] = {3};
    const int64_t empty[2] = {1, 0};

    assert_non_null(t);
    EXPECT_OK(veil_tensor_shape(&t[0], VEIL_DT_FLOAT, 3, big));
    EXPECT_OK(veil_tensor_alloc(&t[0]));
    for (size_t i = 0; i < t[0].count; i++) {
        veil_tensor_set_f64(&t[0], i, (double)(i % 977) / 7.0 - 3.0);
    }
    EXPECT_OK(veil_tensor_shape(&t[1], VEIL_DT_INT64, 1, small));
    EXPECT_OK(veil_tensor_alloc(&t[1]));
    veil_tensor_set_i64(&t[1], 0, -5);
    veil_tensor_set_i64(&t[1], 2, 1LL << 40);
    EXPECT_OK(veil_tensor_shape(&t[2], VEIL_DT_FLOAT, 2, empty));
    EXPECT_OK(veil_tensor_alloc(&t[2]));
    return t;
}

static void free_tensors(struct veil_tensor *t)
{
    for (size_t i = 0; i < 3; i++) {
        veil_tensor_free(&t[i]);
    }
    free(t);
}

/* The body and JSON size of outs (indexes into the three tensors) both ways; they must agree. */
static void check_same(const size_t *idx, const bool *binary, size_t n, const char *id)
{
    struct veil_tensor *ref = make_tensors();
    struct veil_tensor *t = make_tensors();
    struct serve_output ro[4];
    struct serve_output to[4];
    struct veil_wr json;
    struct veil_wr bin;
    struct evbuffer *b = evbuffer_new();
    size_t json_len = 0;
    uint8_t *body;

    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        ro[i] = (struct serve_output){i == 1 ? "second" : "y", &ref[idx[i]], binary[i]};
        to[i] = (struct serve_output){i == 1 ? "second" : "y", &t[idx[i]], binary[i]};
    }
    veil_wr_init(&json, 1u << 24);
    veil_wr_init(&bin, 1u << 24);
    EXPECT_OK(serve_response_build("m", "1", id, ro, n, &json, &bin));
    EXPECT_OK(serve_response_evbuffer("m", "1", id, to, n, t, 3, 1u << 24, b, &json_len));
    EXPECT_EQ(json_len, json.len);
    EXPECT_EQ(evbuffer_get_length(b), json.len + bin.len);
    body = malloc(json.len + bin.len);
    assert_non_null(body);
    /* Copied out (not pulled up, which would replace the references), in two pieces as a socket
     * would take it: what is left stays valid until drained or freed. */
    EXPECT_EQ(evbuffer_remove(b, body, json.len / 2), (int)(json.len / 2));
    EXPECT_EQ(evbuffer_get_length(b), json.len + bin.len - json.len / 2);
    EXPECT_EQ(evbuffer_copyout(b, body + json.len / 2, json.len + bin.len - json.len / 2),
              (ssize_t)(json.len + bin.len - json.len / 2));
    EXPECT_EQ(memcmp(body, json.data, json.len), 0);
    if (bin.len > 0) {
        EXPECT_EQ(memcmp(body + json.len, bin.data, bin.len), 0);
    }
    free(body);
    evbuffer_free(b); /* the last reference: the tensors go */
    veil_wr_free(&json);
    veil_wr_free(&bin);
    free_tensors(ref);
}

static void test_same_bytes(void **state)
{
    const size_t all[3] = {0, 1, 2};
    const bool bin_all[3] = {true, true, true};
    const bool bin_none[3] = {false, false, false};
    const bool bin_mixed[3] = {true, false, true};
    /* The same tensor twice, binary both times: two references to it. */
    const size_t twice[2] = {0, 0};
    const bool bin_twice[2] = {true, true};

    (void)state;
    check_same(all, bin_all, 3, "req-1");
    check_same(all + 1, bin_none + 1, 2, NULL); /* JSON only (the small ones) */
    check_same(all, bin_mixed, 3, NULL);
    check_same(twice, bin_twice, 2, "x\"y");
    check_same(all + 2, bin_all, 1, NULL); /* binary, but empty: no binary part */
}

static void test_refusals(void **state)
{
    struct veil_tensor *t = make_tensors();
    struct serve_output o[1] = {{"y", &t[0], true}};
    struct evbuffer *b = evbuffer_new();
    size_t json_len = 0;

    (void)state;
    assert_non_null(b);
    /* The binary part over the cap (the JSON under it): refused, nothing left in b. */
    EXPECT_ERR(serve_response_evbuffer("m", "1", NULL, o, 1, t, 3, 4096, b, &json_len),
               VEIL_ERR_PROTO_LIMIT);
    EXPECT_EQ(evbuffer_get_length(b), 0);
    /* The JSON over the cap. */
    t = make_tensors();
    o[0] = (struct serve_output){"y", &t[1], false};
    EXPECT_ERR(serve_response_evbuffer("m", "1", NULL, o, 1, t, 3, 16, b, &json_len),
               VEIL_ERR_PROTO_LIMIT);
    EXPECT_EQ(evbuffer_get_length(b), 0);
    /* No buffer: the tensors are still taken over. */
    t = make_tensors();
    o[0] = (struct serve_output){"y", &t[0], true};
    EXPECT_ERR(serve_response_evbuffer("m", "1", NULL, o, 1, t, 3, 1u << 24, NULL, &json_len),
               VEIL_ERR_NOMEM);
    evbuffer_free(b);
}

VEIL_TEST_MAIN(test_same_bytes, test_refusals)

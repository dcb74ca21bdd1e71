/* Binary tensor extension requests parsed out of an evbuffer (src/serve/request_body.c): the
 * same outcome, code and sentence as the contiguous parser (tensor_json.c) for every split of
 * the body into chains, what is drained, and the refusals (Inference-Header-Content-Length
 * values, a truncated body, a body longer than the tensors, byte counts that disagree with the
 * shape, zero-size tensors, several inputs). */
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>

#include "request_body.h"
#include "tensor_json.h"
#include "veil_test.h"
#include <veil/veil.h>

/* An evbuffer holding bytes in chains of at most piece bytes (evbuffer_add_reference: each piece
 * is a chain of its own, so a tensor's bytes cross chain boundaries). */
static struct evbuffer *body_of(const uint8_t *bytes, size_t n, size_t piece)
{
    struct evbuffer *b = evbuffer_new();

    assert_non_null(b);
    for (size_t at = 0; at < n; at += piece) {
        size_t k = n - at < piece ? n - at : piece;
        assert_int_equal(evbuffer_add_reference(b, bytes + at, k, NULL, NULL), 0);
    }
    return b;
}

/* Room of the caller's for binary inputs (as veil-serve gives the engine run's arena): from buf
 * while it lasts, to the input named only (every input when only is NULL). */
struct test_room {
    uint8_t buf[4096];
    size_t used;
    const char *only;
    unsigned given;
};

static bool give_test_room(void *ctx, const char *name, struct veil_tensor *t)
{
    struct test_room *tr = ctx;
    if ((tr->only != NULL && strcmp(name, tr->only) != 0) || t->size > sizeof(tr->buf) - tr->used) {
        return false;
    }
    t->data = tr->buf + tr->used;
    t->borrowed = true;
    tr->used += t->size;
    tr->given++;
    return true;
}

/* Parses json + bin both ways for every piece size in 1..max_piece and at an odd start (every
 * other piece size with room given to every input, struct test_room); checks the two agree
 * (code, sentence, tensors) and that the evbuffer kept `left` bytes. Returns the code. */
static int32_t both(const char *json, const void *bin, size_t bin_size, size_t left)
{
    size_t jn = strlen(json);
    size_t n = jn + bin_size;
    uint8_t *whole = malloc(n + 2);
    struct serve_request *want = calloc(1, sizeof(*want));
    char want_why[256] = "";
    veil_result wr;

    assert_non_null(whole);
    assert_non_null(want);
    memcpy(whole + 1, json, jn); /* whole + 1: an odd address */
    if (bin_size > 0) {
        memcpy(whole + 1 + jn, bin, bin_size);
    }
    wr = serve_request_parse(whole + 1, jn, whole + 1 + jn, bin_size, 1u << 20, want, want_why,
                             sizeof(want_why));
    for (size_t piece = 1; piece <= n + 1; piece = piece < 8 ? piece + 1 : piece * 2 + 1) {
        struct serve_request *got = calloc(1, sizeof(*got));
        char why[256] = "";
        struct evbuffer *b = body_of(whole + 1, n, piece);
        struct test_room *tr = calloc(1, sizeof(*tr));
        struct serve_room room = {tr, give_test_room};
        veil_result gr;
        assert_non_null(got);
        assert_non_null(tr);
        gr = serve_request_parse_evbuffer(b, jn, 1u << 20, 64u << 10, piece % 2 == 1 ? &room : NULL,
                                          got, why, sizeof(why));
        if (gr.code != wr.code || strcmp(why, want_why) != 0) {
            fail_msg("piece %zu: %s (%s), the contiguous parser %s (%s)", piece,
                     veil_error_name(gr.code), why, veil_error_name(wr.code), want_why);
        }
        if (veil_ok(gr)) {
            EXPECT_EQ(got->input_count, want->input_count);
            for (size_t i = 0; i < got->input_count; i++) {
                EXPECT_STR_EQ(got->inputs[i].name, want->inputs[i].name);
                EXPECT_EQ(got->inputs[i].tensor.size, want->inputs[i].tensor.size);
                if (got->inputs[i].tensor.size > 0) {
                    EXPECT_BYTES_EQ(got->inputs[i].tensor.data, want->inputs[i].tensor.data,
                                    got->inputs[i].tensor.size);
                }
            }
        }
        EXPECT_EQ(evbuffer_get_length(b), left);
        evbuffer_free(b);
        serve_request_free(got);
        free(got);
        free(tr);
    }
    serve_request_free(want);
    free(want);
    free(whole);
    return wr.code;
}

static const char FP32_3[] =
    "{\"inputs\":[{\"name\":\"a\",\"shape\":[3],\"datatype\":\"FP32\","
    "\"parameters\":{\"binary_data_size\":12}}]}";

static void test_binary(void **state)
{
    const float v[3] = {1.0f, 2.5f, -3.0f};
    uint8_t more[16] = {0};
    char why[256];
    struct serve_request r = {0};
    struct evbuffer *b;

    (void)state;
    EXPECT_EQ(both(FP32_3, v, sizeof(v), 0), VEIL_OK);
    /* the tensor holds the bytes, the evbuffer none of them */
    b = body_of((const uint8_t *)FP32_3, strlen(FP32_3), 7);
    EXPECT_EQ(evbuffer_add(b, v, sizeof(v)), 0);
    EXPECT_OK(serve_request_parse_evbuffer(b, strlen(FP32_3), 1u << 20, 64u << 10, NULL, &r, why,
                                           sizeof(why)));
    EXPECT_EQ(evbuffer_get_length(b), 0);
    EXPECT_BYTES_EQ(r.inputs[0].tensor.data, v, sizeof(v));
    serve_request_free(&r);
    evbuffer_free(b);
    /* truncated: the data ends inside the tensor (nothing of it is taken), and the tensor,
     * which is not zeroed since the body fills it, is never allocated */
    b = body_of((const uint8_t *)FP32_3, strlen(FP32_3), 7);
    EXPECT_EQ(evbuffer_add(b, v, 8), 0);
    memset(&r, 0, sizeof(r));
    EXPECT_ERR(serve_request_parse_evbuffer(b, strlen(FP32_3), 1u << 20, 64u << 10, NULL, &r, why,
                                            sizeof(why)),
               VEIL_ERR_SERVE_REQUEST);
    EXPECT_NOT_NULL(strstr(why, "ends before"));
    EXPECT_NULL(r.inputs[0].tensor.data);
    EXPECT_EQ(evbuffer_get_length(b), 8);
    serve_request_free(&r);
    evbuffer_free(b);
    EXPECT_EQ(both(FP32_3, v, 8, 8), VEIL_ERR_SERVE_REQUEST);
    EXPECT_EQ(both(FP32_3, v, 0, 0), VEIL_ERR_SERVE_REQUEST);
    /* longer than the tensors: the excess is left for the caller to drain */
    EXPECT_EQ(both(FP32_3, more, sizeof(more), 4), VEIL_ERR_SERVE_REQUEST);
    EXPECT_EQ(both(FP32_3, more, 13, 1), VEIL_ERR_SERVE_REQUEST);
}

/* Room given to one of two inputs: its bytes land there (the tensor borrows them), the other's
 * in a tensor of its own; a BOOL input in room is still checked; and where no room is given the
 * input is allocated as before. */
static void test_room(void **state)
{
    static const char two[] =
        "{\"inputs\":[{\"name\":\"a\",\"shape\":[3],\"datatype\":\"FP32\","
        "\"parameters\":{\"binary_data_size\":12}},{\"name\":\"b\",\"shape\":[2],"
        "\"datatype\":\"BOOL\",\"parameters\":{\"binary_data_size\":2}}]}";
    const float v[3] = {1.0f, 2.5f, -3.0f};
    const uint8_t flags[2] = {1, 0};
    const uint8_t bad_flags[2] = {1, 2};
    struct test_room tr = {.only = "a"};
    struct serve_room room = {&tr, give_test_room};
    struct serve_request r = {0};
    char why[256];
    struct evbuffer *b;

    (void)state;
    b = body_of((const uint8_t *)two, strlen(two), 5);
    EXPECT_EQ(evbuffer_add(b, v, sizeof(v)), 0);
    EXPECT_EQ(evbuffer_add(b, flags, sizeof(flags)), 0);
    EXPECT_OK(serve_request_parse_evbuffer(b, strlen(two), 1u << 20, 64u << 10, &room, &r, why,
                                           sizeof(why)));
    EXPECT_EQ(tr.given, 1);
    EXPECT_TRUE(r.inputs[0].tensor.data == tr.buf);
    EXPECT_TRUE(r.inputs[0].tensor.borrowed);
    EXPECT_BYTES_EQ(tr.buf, v, sizeof(v));
    EXPECT_FALSE(r.inputs[1].tensor.borrowed);
    EXPECT_BYTES_EQ(r.inputs[1].tensor.data, flags, sizeof(flags));
    serve_request_free(&r);
    evbuffer_free(b);
    /* the BOOL input in room: its bytes are checked there too */
    memset(&tr, 0, sizeof(tr));
    tr.only = "b";
    memset(&r, 0, sizeof(r));
    b = body_of((const uint8_t *)two, strlen(two), 5);
    EXPECT_EQ(evbuffer_add(b, v, sizeof(v)), 0);
    EXPECT_EQ(evbuffer_add(b, bad_flags, sizeof(bad_flags)), 0);
    EXPECT_ERR(serve_request_parse_evbuffer(b, strlen(two), 1u << 20, 64u << 10, &room, &r, why,
                                            sizeof(why)),
               VEIL_ERR_SERVE_REQUEST);
    EXPECT_NOT_NULL(strstr(why, "BOOL bytes must be 0 or 1"));
    EXPECT_EQ(tr.given, 1);
    serve_request_free(&r);
    evbuffer_free(b);
    /* room too small for the input: allocated instead */
    memset(&tr, 0, sizeof(tr));
    tr.used = sizeof(tr.buf) - 8;
    memset(&r, 0, sizeof(r));
    b = body_of((const uint8_t *)FP32_3, strlen(FP32_3), 5);
    EXPECT_EQ(evbuffer_add(b, v, sizeof(v)), 0);
    EXPECT_OK(serve_request_parse_evbuffer(b, strlen(FP32_3), 1u << 20, 64u << 10, &room, &r, why,
                                           sizeof(why)));
    EXPECT_EQ(tr.given, 0);
    EXPECT_FALSE(r.inputs[0].tensor.borrowed);
    EXPECT_BYTES_EQ(r.inputs[0].tensor.data, v, sizeof(v));
    serve_request_free(&r);
    evbuffer_free(b);
}

static void test_byte_counts(void **state)
{
    const uint8_t bytes[24] = {1, 0, 1, 1, 0, 0, 1, 0, 2, 3, 4, 5, 6, 7, 8, 9}; /* 16..23: 0 */

    (void)state;
    /* an odd binary_data_size for FP32, and one that is not the shape's */
    EXPECT_EQ(both("{\"inputs\":[{\"name\":\"a\",\"shape\":[3],\"datatype\":\"FP32\","
                   "\"parameters\":{\"binary_data_size\":11}}]}",
                   bytes, 11, 11),
              VEIL_ERR_SERVE_REQUEST);
    EXPECT_EQ(both("{\"inputs\":[{\"name\":\"a\",\"shape\":[1,3],\"datatype\":\"FP16\","
                   "\"parameters\":{\"binary_data_size\":8}}]}",
                   bytes, 8, 8),
              VEIL_ERR_SERVE_REQUEST);
    /* odd-sized tensors crossing chains at odd offsets */
    EXPECT_EQ(
        both("{\"inputs\":[{\"name\":\"a\",\"shape\":[3],\"datatype\":\"UINT8\","
             "\"parameters\":{\"binary_data_size\":3}},{\"name\":\"b\",\"shape\":[5],"
             "\"datatype\":\"BOOL\",\"parameters\":{\"binary_data_size\":5}},{\"name\":\"c\","
             "\"shape\":[2],\"datatype\":\"INT32\",\"parameters\":{\"binary_data_size\":8}}]}",
             bytes + 8, 16, 8),
        VEIL_ERR_SERVE_REQUEST); /* b's bytes hold a 5: BOOL refused, c's bytes left */
    EXPECT_EQ(
        both("{\"inputs\":[{\"name\":\"a\",\"shape\":[3],\"datatype\":\"UINT8\","
             "\"parameters\":{\"binary_data_size\":3}},{\"name\":\"b\",\"shape\":[5],"
             "\"datatype\":\"BOOL\",\"parameters\":{\"binary_data_size\":5}},{\"name\":\"c\","
             "\"shape\":[2],\"datatype\":\"INT32\",\"parameters\":{\"binary_data_size\":8}}]}",
             bytes, 16, 0),
        VEIL_OK);
    /* a tensor over tensor_size_max */
    EXPECT_EQ(both("{\"inputs\":[{\"name\":\"a\",\"shape\":[1048576],\"datatype\":\"FP32\","
                   "\"parameters\":{\"binary_data_size\":4194304}}]}",
                   bytes, 16, 16),
              VEIL_ERR_PROTO_LIMIT);
}

static void test_several_and_empty(void **state)
{
    const int64_t v[4] = {1, -2, 3, INT64_MAX};
    const char *mixed =
        "{\"id\":\"r\",\"inputs\":[{\"name\":\"z\",\"shape\":[0,3],\"datatype\":\"FP32\","
        "\"parameters\":{\"binary_data_size\":0}},{\"name\":\"x\",\"shape\":[2,2],\"datatype\":"
        "\"INT64\",\"parameters\":{\"binary_data_size\":32}},{\"name\":\"j\",\"shape\":[2],"
        "\"datatype\":\"INT8\",\"data\":[1,2]},{\"name\":\"e\",\"shape\":[0],\"datatype\":\"BOOL\","
        "\"parameters\":{\"binary_data_size\":0}}],\"outputs\":[{\"name\":\"y\"}]}";

    (void)state;
    /* zero-size tensors before and after a binary one, and a JSON input between */
    EXPECT_EQ(both(mixed, v, sizeof(v), 0), VEIL_OK);
    EXPECT_EQ(both(mixed, v, sizeof(v) - 1, sizeof(v) - 1), VEIL_ERR_SERVE_REQUEST);
    EXPECT_EQ(both(mixed, v, 0, 0), VEIL_ERR_SERVE_REQUEST);
    /* only zero-size tensors and no binary bytes */
    EXPECT_EQ(both("{\"inputs\":[{\"name\":\"z\",\"shape\":[0],\"datatype\":\"FP64\","
                   "\"parameters\":{\"binary_data_size\":0}}]}",
                   NULL, 0, 0),
              VEIL_OK);
    EXPECT_EQ(both("{\"inputs\":[{\"name\":\"z\",\"shape\":[0],\"datatype\":\"FP64\","
                   "\"parameters\":{\"binary_data_size\":0}}]}",
                   v, 1, 1),
              VEIL_ERR_SERVE_REQUEST);
    /* a JSON-only request sent with the header (no binary part) */
    EXPECT_EQ(
        both("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
             NULL, 0, 0),
        VEIL_OK);
    /* the same input twice: refused after its bytes were taken, the rest left */
    EXPECT_EQ(both("{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"datatype\":\"INT64\","
                   "\"parameters\":{\"binary_data_size\":8}},{\"name\":\"x\",\"shape\":[1],"
                   "\"datatype\":\"INT64\",\"parameters\":{\"binary_data_size\":8}}]}",
                   v, 16, 0),
              VEIL_ERR_SERVE_REQUEST);
}

static void test_bad_header(void **state)
{
    const float v[3] = {1.0f, 2.5f, -3.0f};

    (void)state;
    /* the header is not JSON, is cut short, or runs into the binary part */
    EXPECT_EQ(both("", v, sizeof(v), sizeof(v)), VEIL_ERR_SERVE_REQUEST);
    EXPECT_EQ(both("{\"inputs\":[{\"name\":\"a\"", v, sizeof(v), sizeof(v)),
              VEIL_ERR_SERVE_REQUEST);
    EXPECT_EQ(both("\x80\xff", v, sizeof(v), sizeof(v)), VEIL_ERR_SERVE_REQUEST);
}

/* A tensor of 2 MiB and more is moved in 1 MiB slices, one of hand_back_min to 2 MiB in 64 KiB
 * slices (the drained chains' heap pages handed back between them), a smaller one at once:
 * every byte lands where it belongs, across 16 KB chains and slice ends. */
static void take_sliced(size_t count, size_t hand_back_min)
{
    const size_t size = count * 4;
    char json[160];
    size_t jn = (size_t)snprintf(json, sizeof(json),
                                 "{\"inputs\":[{\"name\":\"a\",\"shape\":[%zu],\"datatype\":"
                                 "\"FP32\",\"parameters\":{\"binary_data_size\":%zu}}]}",
                                 count, size);
    uint8_t *whole = malloc(jn + size + 1);
    char why[256] = "";

    assert_non_null(whole);
    memcpy(whole, json, jn);
    for (size_t i = 0; i < size + 1; i++) {
        whole[jn + i] = (uint8_t)(i * 131 + i / 251);
    }
    for (size_t extra = 0; extra < 2; extra++) { /* the whole tensor, then one byte more */
        struct serve_request r = {0};
        struct evbuffer *b = body_of(whole, jn + size + extra, 16384 + 5);
        veil_result res = serve_request_parse_evbuffer(b, jn, 4u << 20, hand_back_min, NULL, &r,
                                                       why, sizeof(why));
        if (extra == 0) {
            EXPECT_OK(res);
            EXPECT_EQ(r.inputs[0].tensor.size, size);
            EXPECT_BYTES_EQ(r.inputs[0].tensor.data, whole + jn, size);
            EXPECT_EQ(evbuffer_get_length(b), 0);
        } else {
            EXPECT_ERR(res, VEIL_ERR_SERVE_REQUEST);
            EXPECT_NOT_NULL(strstr(why, "longer"));
            EXPECT_EQ(evbuffer_get_length(b), 1);
        }
        serve_request_free(&r);
        evbuffer_free(b);
    }
    {
        struct serve_request r = {0}; /* one byte short: nothing taken */
        struct evbuffer *b = body_of(whole, jn + size - 1, 16384);
        EXPECT_ERR(serve_request_parse_evbuffer(b, jn, 4u << 20, hand_back_min, NULL, &r, why,
                                                sizeof(why)),
                   VEIL_ERR_SERVE_REQUEST);
        EXPECT_NOT_NULL(strstr(why, "ends before"));
        EXPECT_EQ(evbuffer_get_length(b), size - 1);
        serve_request_free(&r);
        evbuffer_free(b);
    }
    free(whole);
}

static void test_large(void **state)
{
    (void)state;
    take_sliced(655361, 64u << 10); /* FP32: 2.5 MiB + 4 bytes, three 1 MiB slices */
    take_sliced(655361, SIZE_MAX);  /* the same: from 2 MiB always */
    take_sliced(40961, 64u << 10);  /* 160 KiB + 4 bytes, three 64 KiB slices */
    take_sliced(40961, 1u << 20);   /* the same below hand_back_min: moved at once */
    take_sliced(16384, 64u << 10);  /* 64 KiB: one slice */
    take_sliced(16383, 64u << 10);  /* 64 KiB - 4 bytes: moved at once */
}

static void test_header_length(void **state)
{
    size_t n = 0;

    (void)state;
    EXPECT_TRUE(serve_header_length(NULL, 17, &n));
    EXPECT_EQ(n, 17);
    EXPECT_TRUE(serve_header_length("0", 17, &n));
    EXPECT_EQ(n, 0);
    EXPECT_TRUE(serve_header_length("17", 17, &n));
    EXPECT_EQ(n, 17);
    EXPECT_TRUE(serve_header_length("000000000017", 17, &n));
    EXPECT_EQ(n, 17);
    EXPECT_FALSE(serve_header_length("18", 17, &n)); /* past the body */
    EXPECT_FALSE(serve_header_length("", 17, &n));
    EXPECT_FALSE(serve_header_length("-1", 17, &n));
    EXPECT_FALSE(serve_header_length("+1", 17, &n));
    EXPECT_FALSE(serve_header_length(" 1", 17, &n));
    EXPECT_FALSE(serve_header_length("1 ", 17, &n));
    EXPECT_FALSE(serve_header_length("1x", 17, &n));
    EXPECT_FALSE(serve_header_length("0x1", 17, &n));
    EXPECT_FALSE(serve_header_length("0000000000017", 17, &n)); /* 13 digits */
    EXPECT_FALSE(serve_header_length("999999999999", 17, &n));
}

VEIL_TEST_MAIN(test_binary, test_room, test_byte_counts, test_several_and_empty, test_bad_header,
               test_large, test_header_length)

#include <string.h>

#include "ctc/ctc.h"
#include "veil_test.h"

static veil_result parse(const char *json, const char *name, struct veil_ctc_output *o, char *why)
{
    return veil_ctc_response_parse((const uint8_t *)json, strlen(json), name, o, why, 256);
}

static void test_veil_serve_response(void **state)
{
    struct veil_ctc_output o;
    char why[256];

    (void)state;
    EXPECT_OK(
        parse("{\"model_name\":\"ocr\",\"model_version\":\"4.0\",\"id\":\"\",\"outputs\":"
              "[{\"name\":\"softmax\",\"datatype\":\"FP32\",\"shape\":[1,2,3],"
              "\"data\":[0.1,0.2,0.7,1,0,0]}]}",
              NULL, &o, why));
    EXPECT_EQ(o.steps, 2);
    EXPECT_EQ(o.classes, 3);
    EXPECT_TRUE(o.data[2] == 0.7f);
    EXPECT_TRUE(o.data[3] == 1.0f);
    veil_ctc_output_free(&o);
    EXPECT_NULL(o.data);
    EXPECT_OK(
        parse("{\"outputs\":[{\"name\":\"a\",\"datatype\":\"FP32\",\"shape\":[1,1,1],"
              "\"data\":[1]},{\"name\":\"b\",\"datatype\":\"FP64\",\"shape\":[1,1,2],"
              "\"data\":[0.5,0.25],\"parameters\":{}}]}",
              "b", &o, why));
    EXPECT_EQ(o.classes, 2);
    EXPECT_TRUE(o.data[1] == 0.25f);
    veil_ctc_output_free(&o);
}

#define REFUSED(json, name, sentence)                                         \
    do {                                                                      \
        EXPECT_ERR(parse((json), (name), &o, why), VEIL_ERR_TENSOR_RESPONSE); \
        EXPECT_NOT_NULL(strstr(why, (sentence)));                             \
    } while (0)

static void test_refusals(void **state)
{
    struct veil_ctc_output o = {NULL, 0, 0};
    char why[256];
    const char *one =
        "{\"outputs\":[{\"name\":\"a\",\"datatype\":\"FP32\",\"shape\":[1,1,1],"
        "\"data\":[1]},{\"name\":\"b\",\"datatype\":\"FP32\",\"shape\":[1,1,1],"
        "\"data\":[1]}]}";

    (void)state;
    REFUSED("", NULL, "not a JSON object");
    REFUSED("[1]", NULL, "not a JSON object");
    REFUSED("{\"outputs\":[], \"outputs\":[]}", NULL, "not a JSON object");
    REFUSED("{\"error\":\"no such model\\u001b[31m\"}", NULL,
            "the server answered an error: no such model?[31m");
    REFUSED("{\"error\":\"upstream refused\",\"check\":\"policy\",\"reason\":\"denied\"}", NULL,
            "the server answered an error: upstream refused: denied");
    REFUSED("{\"outputs\":[],\"extra\":1}", NULL, "unknown key 'extra'");
    REFUSED("{\"model_name\":\"m\"}", NULL, "no outputs array");
    REFUSED("{\"outputs\":[]}", NULL, "has 0 outputs");
    REFUSED(one, NULL, "has 2 outputs");
    REFUSED(one, "c", "no output named 'c'");
    REFUSED("{\"outputs\":[1]}", NULL, "not an object");
    REFUSED("{\"outputs\":[{\"name\":\"a\",\"x\":1}]}", NULL, "not an object of known keys");
    REFUSED("{\"outputs\":[{\"datatype\":\"INT64\",\"shape\":[1,1,1],\"data\":[1]}]}", NULL,
            "not FP32 or FP64");
    REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1],\"data\":[1]}]}", NULL,
            "not [1, T, C]");
    REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,\"2\"],\"data\":[1]}]}", NULL,
            "not three integers");
    REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[2,1,1],\"data\":[1,1]}]}", NULL,
            "[2, 1, 1] is not");
    REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,0,1],\"data\":[]}]}", NULL,
            "is not [1, T, C] within limits");
    REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,65536,65536],\"data\":[]}]}", NULL,
            "within limits");
    REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,2],\"data\":[1]}]}", NULL,
            "flat array of 2 numbers");
    REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,2],\"data\":[[1],2]}]}", NULL,
            "data[0] is not a number");
    REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,2],\"data\":[1,null]}]}", NULL,
            "data[1] is not a number");
    REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,1],\"data\":[1e300]}]}", NULL,
            "data[0] is out of range");
    EXPECT_NULL(o.data);
}

/* json followed by nbin bytes of bin, parsed with header length hlen (VEIL_CTC_HEADER_FIND:
 * found from the JSON); total is how many of those bytes the parser sees. */
static veil_result parse_bin(const char *json, const void *bin, size_t nbin, size_t hlen,
                             size_t total, const char *name, struct veil_ctc_output *o, char *why)
{
    uint8_t buf[512];
    size_t n = strlen(json);

    assert_true(n + nbin <= sizeof(buf) && total <= n + nbin);
    memcpy(buf, json, n);
    memcpy(buf + n, bin, nbin);
    return veil_ctc_response_parse_binary(buf, total, hlen, name, o, why, 256);
}

#define BIN_ONE                                                                                  \
    "{\"model_name\":\"ocr\",\"outputs\":[{\"name\":\"p\",\"datatype\":\"FP32\",\"shape\":[1,2," \
    "2],\"parameters\":{\"binary_data_size\":16}}]}"

/* What veil-serve writes with binary_data_output: JSON, then the raw little-endian values. */
static void test_binary_response(void **state)
{
    const float v[4] = {0.25f, 0.75f, 1.0f, 0.0f};
    const double d[2] = {0.5, 0.125};
    const char *two =
        "{\"outputs\":[{\"name\":\"a\",\"datatype\":\"FP64\",\"shape\":[1,1,2],"
        "\"parameters\":{\"binary_data_size\":16}},{\"name\":\"b\",\"datatype\":"
        "\"FP32\",\"shape\":[1,1,4],\"parameters\":{\"binary_data_size\":16}}]}";
    uint8_t both[32];
    struct veil_ctc_output o;
    char why[256];
    size_t n = strlen(BIN_ONE);

    (void)state;
    EXPECT_OK(parse_bin(BIN_ONE, v, sizeof(v), VEIL_CTC_HEADER_FIND, n + 16, NULL, &o, why));
    EXPECT_EQ(o.steps, 2);
    EXPECT_EQ(o.classes, 2);
    EXPECT_TRUE(o.data[1] == 0.75f && o.data[2] == 1.0f);
    veil_ctc_output_free(&o);
    EXPECT_OK(parse_bin(BIN_ONE, v, sizeof(v), n, n + 16, NULL, &o, why));
    EXPECT_TRUE(o.data[0] == 0.25f);
    veil_ctc_output_free(&o);
    /* the second output's part starts after the first's */
    memcpy(both, d, sizeof(d));
    memcpy(both + 16, v, sizeof(v));
    EXPECT_OK(parse_bin(two, both, 32, VEIL_CTC_HEADER_FIND, strlen(two) + 32, "b", &o, why));
    EXPECT_EQ(o.classes, 4);
    EXPECT_TRUE(o.data[1] == 0.75f);
    veil_ctc_output_free(&o);
    EXPECT_OK(parse_bin(two, both, 32, strlen(two), strlen(two) + 32, "a", &o, why));
    EXPECT_TRUE(o.data[1] == 0.125f);
    veil_ctc_output_free(&o);
    /* a JSON-only response through the binary entry point, with or without a newline */
    EXPECT_OK(parse_bin("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,1],\"data\":[1]}]}\n",
                        "", 0, VEIL_CTC_HEADER_FIND, 61, NULL, &o, why));
    veil_ctc_output_free(&o);
}

#define BIN_REFUSED(json, bin, nbin, hlen, total, name, sentence)                      \
    do {                                                                               \
        size_t J = strlen(json);                                                       \
        (void)J;                                                                       \
        EXPECT_ERR(parse_bin((json), (bin), (nbin), (hlen), (total), (name), &o, why), \
                   VEIL_ERR_TENSOR_RESPONSE);                                          \
        if (strstr(why, (sentence)) == NULL) {                                         \
            print_error("why: %s\n", why);                                             \
        }                                                                              \
        EXPECT_NOT_NULL(strstr(why, (sentence)));                                      \
    } while (0)

static void test_binary_refusals(void **state)
{
    const float v[5] = {0.25f, 0.75f, 1.0f, 0.0f, 0.5f};
    float bad[4] = {0.25f, 0.75f, 1.0f, 0.0f};
    struct veil_ctc_output o = {NULL, 0, 0};
    char why[256];
    size_t n = strlen(BIN_ONE);

    (void)state;
    /* truncated binary part: the declared bytes go past the end */
    BIN_REFUSED(BIN_ONE, v, 16, VEIL_CTC_HEADER_FIND, n + 15, NULL, "go past the end");
    BIN_REFUSED(BIN_ONE, v, 16, n, n, NULL, "go past the end");
    /* bytes left over */
    BIN_REFUSED(BIN_ONE, v, 20, VEIL_CTC_HEADER_FIND, n + 20, NULL,
                "20 bytes follow the JSON but its outputs declare 16");
    /* the header length is past the end, inside the JSON, or inside the binary part */
    BIN_REFUSED(BIN_ONE, v, 16, n + 17, n + 16, NULL, "past the end of the response");
    BIN_REFUSED(BIN_ONE, v, 16, n - 1, n + 16, NULL, "are not one JSON object");
    BIN_REFUSED(BIN_ONE, v, 16, n + 4, n + 16, NULL, "are not one JSON object");
    BIN_REFUSED(BIN_ONE, v, 16, 0, n + 16, NULL, "not a JSON object");
    /* binary_data_size disagrees with the shape, or is not a size */
    BIN_REFUSED(
        "{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,2],\"parameters\":{"
        "\"binary_data_size\":12}}]}",
        v, 12, VEIL_CTC_HEADER_FIND, J + 12, NULL, "binary_data_size 12 is not 8");
    BIN_REFUSED(
        "{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,1],\"parameters\":{"
        "\"binary_data_size\":-4}}]}",
        v, 4, VEIL_CTC_HEADER_FIND, J + 4, NULL, "not an integer of 0 to 64 MiB");
    BIN_REFUSED(
        "{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,1],\"parameters\":{"
        "\"binary_data_size\":\"4\"}}]}",
        v, 4, VEIL_CTC_HEADER_FIND, J + 4, NULL, "not an integer of 0 to 64 MiB");
    BIN_REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,1],\"parameters\":7}]}", v, 4,
                VEIL_CTC_HEADER_FIND, J + 4, NULL, "not an integer of 0 to 64 MiB");
    BIN_REFUSED(
        "{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,1],\"data\":[1],"
        "\"parameters\":{\"binary_data_size\":4}}]}",
        v, 4, VEIL_CTC_HEADER_FIND, J + 4, NULL, "both data and");
    /* a binary value that is not finite */
    memset(&bad[2], 0xff, sizeof(float));
    BIN_REFUSED(BIN_ONE, bad, 16, VEIL_CTC_HEADER_FIND, n + 16, NULL, "binary value 2 is out");
    /* binary bytes after a JSON-only response */
    BIN_REFUSED("{\"outputs\":[{\"datatype\":\"FP32\",\"shape\":[1,1,1],\"data\":[1]}]}", v, 4,
                VEIL_CTC_HEADER_FIND, J + 4, NULL,
                "4 bytes follow the JSON but its outputs declare 0");
    EXPECT_NULL(o.data);
}

VEIL_TEST_MAIN(test_veil_serve_response, test_refusals, test_binary_response, test_binary_refusals)

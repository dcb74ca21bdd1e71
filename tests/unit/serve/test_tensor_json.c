/* KServe v2 requests and responses (src/serve/tensor_json.c): every datatype, nested data,
 * binary parts, and the refusals (unknown keys, wrong types, shape/data disagreement, limits). */
#include <jansson.h>

#include "tensor_json.h"
#include "veil_test.h"
#include <veil/veil.h>

static struct serve_request *parse_bin(const char *json, const void *bin, size_t bin_size,
                                       int32_t want, char *why)
{
    struct serve_request *r = calloc(1, sizeof(*r));
    veil_result res;

    assert_non_null(r);
    res = serve_request_parse((const uint8_t *)json, strlen(json), bin, bin_size, 1u << 20, r, why,
                              256);
    if (res.code != want) {
        fail_msg("%s: got %s (%s), wanted %s", json, veil_error_name(res.code), why,
                 veil_error_name(want));
    }
    return r;
}

static struct serve_request *parse(const char *json, int32_t want, char *why)
{
    return parse_bin(json, NULL, 0, want, why);
}

static void done(struct serve_request *r)
{
    serve_request_free(r);
    free(r);
}

static void test_datatypes(void **state)
{
    static const struct {
        const char *json;
        int32_t dtype;
        double last;
    } cases[] = {
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1.5,-2]}]}",
         VEIL_DT_FLOAT, -2},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[2],\"datatype\":\"FP64\",\"data\":[1,1e300]}]}",
         VEIL_DT_DOUBLE, 1e300},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[2],\"datatype\":\"FP16\",\"data\":[1,0.5]}]}",
         VEIL_DT_FLOAT16, 0.5},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[2],\"datatype\":\"INT64\",\"data\":[1,-"
         "9007199254740993]}]}",
         VEIL_DT_INT64, -9007199254740993.0},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[2],\"datatype\":\"INT32\",\"data\":[1,-"
         "2147483648]}]}",
         VEIL_DT_INT32, -2147483648.0},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[2],\"datatype\":\"UINT8\",\"data\":[0,255]}]}",
         VEIL_DT_UINT8, 255},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[2],\"datatype\":\"INT8\",\"data\":[0,-128]}]}",
         VEIL_DT_INT8, -128},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[2],\"datatype\":\"BOOL\",\"data\":[false,true]}]"
         "}",
         VEIL_DT_BOOL, 1},
    };
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct serve_request *r = parse(cases[i].json, VEIL_OK, why);
        EXPECT_EQ(r->input_count, 1);
        EXPECT_STR_EQ(r->inputs[0].name, "a");
        EXPECT_EQ(r->inputs[0].tensor.dtype, cases[i].dtype);
        EXPECT_EQ(r->inputs[0].tensor.count, 2);
        if (cases[i].dtype == VEIL_DT_INT64) {
            EXPECT_TRUE(veil_tensor_get_i64(&r->inputs[0].tensor, 1) == -9007199254740993LL);
        } else {
            EXPECT_TRUE(veil_tensor_get_f64(&r->inputs[0].tensor, 1) == cases[i].last);
        }
        done(r);
    }
}

static void test_nested_and_scalar(void **state)
{
    char why[256];
    struct serve_request *r = parse(
        "{\"id\":\"r1\",\"inputs\":[{\"name\":\"m\",\"shape\":[2,3],\"datatype\":\"INT32\","
        "\"data\":[[1,2,3],[4,5,6]]},{\"name\":\"s\",\"shape\":[],\"datatype\":\"FP32\","
        "\"data\":7}],\"outputs\":[{\"name\":\"y\",\"parameters\":{\"binary_data\":true}}],"
        "\"parameters\":{\"priority\":1}}",
        VEIL_OK, why);

    (void)state;
    EXPECT_TRUE(r->has_id);
    EXPECT_STR_EQ(r->id, "r1");
    EXPECT_EQ(r->input_count, 2);
    EXPECT_EQ(r->inputs[0].tensor.rank, 2);
    EXPECT_EQ(veil_tensor_get_i64(&r->inputs[0].tensor, 5), 6);
    EXPECT_EQ(r->inputs[1].tensor.rank, 0);
    EXPECT_EQ(r->inputs[1].tensor.count, 1);
    EXPECT_EQ(r->output_count, 1);
    EXPECT_TRUE(r->outputs[0].binary);
    done(r);
}

static void test_binary(void **state)
{
    const float v[3] = {1.0f, 2.5f, -3.0f};
    const uint8_t bools[2] = {1, 2};
    char why[256];
    const char *j =
        "{\"inputs\":[{\"name\":\"a\",\"shape\":[3],\"datatype\":\"FP32\","
        "\"parameters\":{\"binary_data_size\":12}}]}";
    struct serve_request *r = parse_bin(j, v, sizeof(v), VEIL_OK, why);

    (void)state;
    EXPECT_BYTES_EQ(r->inputs[0].tensor.data, v, sizeof(v));
    done(r);
    done(parse_bin(j, v, 8, VEIL_ERR_SERVE_REQUEST, why)); /* short */
    EXPECT_NOT_NULL(strstr(why, "ends before"));
    done(parse_bin(j, v, sizeof(v), VEIL_OK, why));
    {
        uint8_t more[16] = {0};
        done(parse_bin(j, more, sizeof(more), VEIL_ERR_SERVE_REQUEST, why)); /* trailing */
        EXPECT_NOT_NULL(strstr(why, "longer"));
    }
    done(
        parse_bin("{\"inputs\":[{\"name\":\"a\",\"shape\":[3],\"datatype\":\"FP32\","
                  "\"parameters\":{\"binary_data_size\":8}}]}",
                  v, 8, VEIL_ERR_SERVE_REQUEST, why)); /* size disagrees with shape */
    done(
        parse_bin("{\"inputs\":[{\"name\":\"b\",\"shape\":[2],\"datatype\":\"BOOL\","
                  "\"parameters\":{\"binary_data_size\":2}}]}",
                  bools, 2, VEIL_ERR_SERVE_REQUEST, why)); /* BOOL byte 2 */
}

static void test_refusals(void **state)
{
    static const struct {
        const char *json;
        int32_t err;
        const char *why;
    } cases[] = {
        {"", VEIL_ERR_SERVE_REQUEST, "not JSON"},
        {"[]", VEIL_ERR_SERVE_REQUEST, "JSON object"},
        {"{}", VEIL_ERR_SERVE_REQUEST, "inputs: required"},
        {"{\"inputs\":[]}", VEIL_ERR_SERVE_REQUEST, "1..64"},
        {"{\"inputs\":[],\"inputs\":[]}", VEIL_ERR_SERVE_REQUEST, "duplicate"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
         "\"x\":1}",
         VEIL_ERR_SERVE_REQUEST, "unknown key 'x'"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1],"
         "\"type\":1}]}",
         VEIL_ERR_SERVE_REQUEST, "unknown key 'type'"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
         "\"outputs\":[{\"name\":\"y\",\"x\":1}]}",
         VEIL_ERR_SERVE_REQUEST, "unknown key 'x'"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[2],\"datatype\":\"FP32\",\"data\":[1]}]}",
         VEIL_ERR_SERVE_REQUEST, "holds 2 elements, data has 1"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1,2]}]}",
         VEIL_ERR_SERVE_REQUEST, "more data"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[\"1\"]}]}",
         VEIL_ERR_SERVE_REQUEST, "numbers"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1e39]}]}",
         VEIL_ERR_SERVE_REQUEST, "range of FP32"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"INT32\",\"data\":[1.5]}]}",
         VEIL_ERR_SERVE_REQUEST, "integers"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"UINT8\",\"data\":[256]}]}",
         VEIL_ERR_SERVE_REQUEST, "range of UINT8"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"BOOL\",\"data\":[1]}]}",
         VEIL_ERR_SERVE_REQUEST, "true or false"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"x\"]}]}",
         VEIL_ERR_SERVE_DATATYPE, "not supported"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[-1],\"datatype\":\"FP32\",\"data\":[1]}]}",
         VEIL_ERR_SERVE_REQUEST, "shape"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1,1,1,1,1,1,1,1,1],\"datatype\":\"FP32\","
         "\"data\":[1]}]}",
         VEIL_ERR_SERVE_REQUEST, "rank 9"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1073741824],\"datatype\":\"FP32\","
         "\"data\":[]}]}",
         VEIL_ERR_PROTO_LIMIT, "more than"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\"}]}",
         VEIL_ERR_SERVE_REQUEST, "either data or"},
        {"{\"inputs\":[{\"name\":\"\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
         VEIL_ERR_SERVE_REQUEST, "1..255 bytes"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]},"
         "{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}",
         VEIL_ERR_SERVE_REQUEST, "given twice"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[[[[[[[[[[1]]]]"
         "]]]]]]}]}",
         VEIL_ERR_SERVE_REQUEST, "nested deeper"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
         "\"outputs\":[{\"name\":\"y\",\"parameters\":{\"classification\":3}}]}",
         VEIL_ERR_SERVE_REQUEST, "classification"},
        {"{\"inputs\":[{\"name\":\"a\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}],"
         "\"parameters\":{\"binary_data_output\":1}}",
         VEIL_ERR_SERVE_REQUEST, "true or false"},
    };
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        why[0] = '\0';
        done(parse(cases[i].json, cases[i].err, why));
        if (strstr(why, cases[i].why) == NULL) {
            fail_msg("%s: why '%s' lacks '%s'", cases[i].json, why, cases[i].why);
        }
    }
}

static void test_response(void **state)
{
    struct veil_tensor t = {0};
    struct veil_tensor b = {0};
    const int64_t dims[2] = {1, 2};
    struct serve_output outs[2] = {{"y\"1", &t, false}, {"z", &b, true}};
    struct veil_wr json;
    struct veil_wr bin;
    const char *text = NULL;
    json_t *root;

    (void)state;
    EXPECT_OK(veil_tensor_shape(&t, VEIL_DT_FLOAT, 2, dims));
    EXPECT_OK(veil_tensor_alloc(&t));
    veil_tensor_set_f64(&t, 0, 0.1);
    veil_tensor_set_f64(&t, 1, -2.0);
    EXPECT_OK(veil_tensor_shape(&b, VEIL_DT_BOOL, 2, dims));
    EXPECT_OK(veil_tensor_alloc(&b));
    veil_tensor_set_i64(&b, 1, 1);
    veil_wr_init(&json, 4096);
    veil_wr_init(&bin, 4096);
    EXPECT_OK(serve_response_build("m", "1", "id\n", outs, 2, &json, &bin));
    EXPECT_OK(veil_wr_cstr(&json, &text));
    root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    EXPECT_NOT_NULL(root);
    EXPECT_STR_EQ(json_string_value(json_object_get(root, "id")), "id\n");
    EXPECT_STR_EQ(json_string_value(
                      json_object_get(json_array_get(json_object_get(root, "outputs"), 0), "name")),
                  "y\"1");
    EXPECT_NOT_NULL(strstr(text, "\"data\":[0.100000001,-2]"));
    EXPECT_NOT_NULL(strstr(text, "\"binary_data_size\":2"));
    EXPECT_EQ(bin.len, 2);
    EXPECT_EQ(bin.data[1], 1);
    json_decref(root);
    /* Over the cap: refused, not truncated. */
    veil_wr_free(&json);
    veil_wr_init(&json, 16);
    EXPECT_ERR(serve_response_build("m", "1", NULL, outs, 1, &json, &bin), VEIL_ERR_PROTO_LIMIT);
    veil_wr_reset(&json);
    EXPECT_OK(serve_error_build("x", &json));
    EXPECT_EQ(json.len, strlen("{\"error\":\"x\"}"));
    veil_wr_free(&json);
    veil_wr_free(&bin);
    veil_tensor_free(&t);
    veil_tensor_free(&b);
}

static void test_datatype_names(void **state)
{
    (void)state;
    EXPECT_EQ(serve_datatype_of("FP32"), VEIL_DT_FLOAT);
    EXPECT_EQ(serve_datatype_of("fp32"), 0);
    EXPECT_EQ(serve_datatype_of("BYTES"), 0);
    EXPECT_STR_EQ(serve_datatype_name(VEIL_DT_INT64), "INT64");
    EXPECT_NULL(serve_datatype_name(VEIL_DT_STRING));
}

VEIL_TEST_MAIN(test_datatypes, test_nested_and_scalar, test_binary, test_refusals, test_response,
               test_datatype_names)

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

VEIL_TEST_MAIN(test_veil_serve_response, test_refusals)

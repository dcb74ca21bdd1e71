#include <math.h>

#include "ctc/ctc.h"
#include "veil_test.h"

/* Labels a, b, c; classes: 0 blank, 1 a, 2 b, 3 c, 4 space. */
static const char buf_abc[] = "a\nb\nc";

static void one_hot(float *p, uint32_t classes, const uint32_t *best, uint32_t steps, float peak)
{
    for (uint32_t t = 0; t < steps; t++) {
        for (uint32_t c = 0; c < classes; c++) {
            p[t * classes + c] = c == best[t] ? peak : (1 - peak) / (float)(classes - 1);
        }
    }
}

static void test_greedy(void **state)
{
    static const uint32_t best[] = {1, 1, 0, 1, 2, 2, 4, 3, 0, 0};
    float p[10 * 5];
    struct veil_ctc_labels l;
    struct veil_ctc_result res;
    const char *s = NULL;

    (void)state;
    EXPECT_OK(veil_ctc_labels_parse((const uint8_t *)buf_abc, sizeof(buf_abc) - 1, &l));
    one_hot(p, 5, best, 10, 0.8f);
    p[1 * 5 + 1] = 0.9f; /* a repeat does not count twice toward the confidence */
    EXPECT_OK(veil_ctc_decode(p, 10, 5, &l, true, &res));
    EXPECT_OK(veil_wr_cstr(&res.text, &s));
    EXPECT_STR_EQ(s, "aab c");
    EXPECT_EQ(res.chars, 5);
    EXPECT_TRUE(fabs(res.confidence - 0.8) < 1e-6);
    veil_wr_free(&res.text);
    veil_ctc_labels_free(&l);
}

static void test_blank_only_and_no_space(void **state)
{
    static const uint32_t blank[] = {0, 0, 0};
    static const uint32_t abc[] = {3, 2, 1};
    float p[3 * 4];
    struct veil_ctc_labels l;
    struct veil_ctc_result res;
    const char *s = NULL;

    (void)state;
    EXPECT_OK(veil_ctc_labels_parse((const uint8_t *)buf_abc, sizeof(buf_abc) - 1, &l));
    one_hot(p, 4, blank, 3, 0.7f);
    EXPECT_OK(veil_ctc_decode(p, 3, 4, &l, false, &res));
    EXPECT_OK(veil_wr_cstr(&res.text, &s));
    EXPECT_STR_EQ(s, "");
    EXPECT_EQ(res.chars, 0);
    EXPECT_TRUE(res.confidence == 0);
    veil_wr_free(&res.text);
    one_hot(p, 4, abc, 3, 0.7f);
    EXPECT_OK(veil_ctc_decode(p, 3, 4, &l, false, &res));
    EXPECT_OK(veil_wr_cstr(&res.text, &s));
    EXPECT_STR_EQ(s, "cba");
    veil_wr_free(&res.text);
    veil_ctc_labels_free(&l);
}

static void test_refusals(void **state)
{
    static const uint32_t abc[] = {1, 2, 3};
    float p[3 * 5];
    struct veil_ctc_labels l;
    struct veil_ctc_result res;

    (void)state;
    EXPECT_OK(veil_ctc_labels_parse((const uint8_t *)buf_abc, sizeof(buf_abc) - 1, &l));
    one_hot(p, 5, abc, 3, 0.9f);
    EXPECT_ERR(veil_ctc_decode(p, 3, 5, &l, false, &res), VEIL_ERR_CTC_CLASSES);
    EXPECT_ERR(veil_ctc_decode(p, 3, 4, &l, true, &res), VEIL_ERR_CTC_CLASSES);
    p[7] = NAN;
    EXPECT_ERR(veil_ctc_decode(p, 3, 5, &l, true, &res), VEIL_ERR_TENSOR_RESPONSE);
    p[7] = INFINITY;
    EXPECT_ERR(veil_ctc_decode(p, 3, 5, &l, true, &res), VEIL_ERR_TENSOR_RESPONSE);
    /* Not probabilities (found by fuzz_ctc_response: a negative "confidence" came out). */
    p[7] = -0.5f;
    EXPECT_ERR(veil_ctc_decode(p, 3, 5, &l, true, &res), VEIL_ERR_TENSOR_RESPONSE);
    p[7] = 1.5f;
    EXPECT_ERR(veil_ctc_decode(p, 3, 5, &l, true, &res), VEIL_ERR_TENSOR_RESPONSE);
    p[7] = 1.0f;
    EXPECT_OK(veil_ctc_decode(p, 3, 5, &l, true, &res));
    EXPECT_TRUE(res.confidence >= 0 && res.confidence <= 1);
    veil_wr_free(&res.text);
    veil_ctc_labels_free(&l);
}

VEIL_TEST_MAIN(test_greedy, test_blank_only_and_no_space, test_refusals)

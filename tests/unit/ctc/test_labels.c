#include <stdlib.h>

#include "base/file.h"
#include "ctc/ctc.h"
#include "veil_test.h"

#define PARSE(lit, l) veil_ctc_labels_parse((const uint8_t *)(lit), sizeof(lit) - 1, (l))

static void test_lines(void **state)
{
    struct veil_ctc_labels l;

    (void)state;
    EXPECT_OK(PARSE("a\r\n\xe4\xb8\xad\n b \n\nlast", &l));
    EXPECT_EQ(l.count, 5);
    EXPECT_STR_EQ(l.label[0], "a");
    EXPECT_STR_EQ(l.label[1], "\xe4\xb8\xad");
    EXPECT_STR_EQ(l.label[2], " b ");
    EXPECT_STR_EQ(l.label[3], "");
    EXPECT_STR_EQ(l.label[4], "last");
    veil_ctc_labels_free(&l);
    EXPECT_OK(PARSE("x\ny\n", &l));
    EXPECT_EQ(l.count, 2);
    veil_ctc_labels_free(&l);
    veil_ctc_labels_free(NULL);
}

static void test_paddleocr_keys(void **state)
{
    const char *home = getenv("HOME");
    char path[4096];
    struct veil_wr w;
    struct veil_ctc_labels l;

    (void)state;
    if (home == NULL ||
        !veil_path_join(path, sizeof(path), home,
                        ".cache/veil/models/ocr-models-1.4.2/ppocr_keys_v1.txt") ||
        !veil_ok(veil_file_read(path, VEIL_CTC_LABELS_FILE_SIZE_MAX, &w))) {
        skip(); /* tools/fetch-models has not run */
    }
    EXPECT_OK(veil_ctc_labels_parse(w.data, w.len, &l));
    EXPECT_EQ(l.count, 6623); /* + blank + space = the rec model's 6625 classes */
    veil_ctc_labels_free(&l);
    veil_wr_free(&w);
}

static void test_refusals(void **state)
{
    struct veil_ctc_labels l = {NULL, NULL, 0};
    char big[VEIL_CTC_LABEL_SIZE_MAX + 2];

    (void)state;
    EXPECT_ERR(PARSE("", &l), VEIL_ERR_CTC_LABELS);
    EXPECT_ERR(PARSE("a\0b", &l), VEIL_ERR_CTC_LABELS);
    EXPECT_ERR(PARSE("\xff\n", &l), VEIL_ERR_CTC_LABELS);
    EXPECT_ERR(PARSE("\xc0\x80", &l), VEIL_ERR_CTC_LABELS);         /* overlong NUL */
    EXPECT_ERR(PARSE("\xed\xa0\x80", &l), VEIL_ERR_CTC_LABELS);     /* surrogate */
    EXPECT_ERR(PARSE("\xf4\x90\x80\x80", &l), VEIL_ERR_CTC_LABELS); /* above U+10FFFF */
    EXPECT_ERR(PARSE("\xe4\xb8", &l), VEIL_ERR_CTC_LABELS);         /* cut short */
    memset(big, 'a', sizeof(big));
    big[sizeof(big) - 1] = '\n';
    EXPECT_ERR(veil_ctc_labels_parse((const uint8_t *)big, sizeof(big), &l), VEIL_ERR_CTC_LABELS);
    EXPECT_OK(veil_ctc_labels_parse((const uint8_t *)big + 1, sizeof(big) - 1, &l));
    veil_ctc_labels_free(&l);
    {
        size_t n = (VEIL_CTC_LABEL_COUNT_MAX + 1) * 2;
        uint8_t *many = malloc(n);

        assert_non_null(many);
        for (size_t i = 0; i < n; i += 2) {
            many[i] = 'a', many[i + 1] = '\n';
        }
        EXPECT_ERR(veil_ctc_labels_parse(many, n, &l), VEIL_ERR_CTC_LABELS);
        EXPECT_OK(veil_ctc_labels_parse(many, n - 2, &l));
        EXPECT_EQ(l.count, VEIL_CTC_LABEL_COUNT_MAX);
        veil_ctc_labels_free(&l);
        free(many);
    }
}

VEIL_TEST_MAIN(test_lines, test_paddleocr_keys, test_refusals)

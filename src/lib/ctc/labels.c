/* The label file: one class a line, as PaddleOCR reads its character dictionaries. */
#include <stdlib.h>
#include <string.h>

#include "ctc/ctc.h"

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static bool labels_utf8(const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint8_t c = p[i];
        size_t k;
        uint32_t v;
        uint32_t min;

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) {
            k = 1, v = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            k = 2, v = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            k = 3, v = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (k > n - i - 1) {
            return false;
        }
        for (size_t j = 1; j <= k; j++) {
            if ((p[i + j] & 0xc0) != 0x80) {
                return false;
            }
            v = (v << 6) | (p[i + j] & 0x3fu);
        }
        if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
            return false;
        }
        i += k + 1;
    }
    return true;
}

/* Counts the lines and checks each; NUL bytes are refused (a label is a C string). */
static VEIL_RESULT labels_scan(const uint8_t *data, size_t size, size_t *count)
{
    size_t n = 0;
    size_t start = 0;

    ENSURE(size > 0, VEIL_ERR_CTC_LABELS);
    ENSURE(memchr(data, 0, size) == NULL, VEIL_ERR_CTC_LABELS);
    while (start < size) {
        const uint8_t *nl = memchr(data + start, '\n', size - start);
        size_t end = nl != NULL ? (size_t)(nl - data) : size;
        size_t len = end - start;

        if (len > 0 && data[end - 1] == '\r') {
            len--;
        }
        ENSURE(len <= VEIL_CTC_LABEL_SIZE_MAX, VEIL_ERR_CTC_LABELS);
        ENSURE(labels_utf8(data + start, len), VEIL_ERR_CTC_LABELS);
        ENSURE(++n <= VEIL_CTC_LABEL_COUNT_MAX, VEIL_ERR_CTC_LABELS);
        start = end + 1;
    }
    *count = n;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_ctc_labels_parse(const uint8_t *data, size_t size, struct veil_ctc_labels *out)
{
    size_t count = 0;
    size_t start = 0;
    char *buf;
    const char **label;

    ENSURE_REF(out);
    ENSURE(data != NULL || size == 0, VEIL_ERR_INTERNAL);
    ENSURE(size <= VEIL_CTC_LABELS_FILE_SIZE_MAX, VEIL_ERR_CTC_LABELS);
    GUARD(labels_scan(data, size, &count));
    buf = malloc(size + 1);
    label = calloc(count, sizeof(*label));
    if (buf == NULL || label == NULL) {
        free(buf);
        free(label);
        BAIL(VEIL_ERR_NOMEM);
    }
    memcpy(buf, data, size);
    buf[size] = '\0';
    for (size_t i = 0; i < count; i++) {
        char *nl = memchr(buf + start, '\n', size - start);
        size_t end = nl != NULL ? (size_t)(nl - buf) : size;

        buf[end] = '\0';
        if (end > start && buf[end - 1] == '\r') {
            buf[end - 1] = '\0';
        }
        label[i] = buf + start;
        start = end + 1;
    }
    out->buf = buf;
    out->label = label;
    out->count = count;
    return VEIL_RESULT_OK;
}

void veil_ctc_labels_free(struct veil_ctc_labels *l)
{
    if (l == NULL) {
        return;
    }
    free(l->buf);
    free(l->label);
    l->buf = NULL;
    l->label = NULL;
    l->count = 0;
}

/* Greedy CTC decoding (PaddleOCR's CTCLabelDecode with is_remove_duplicate). */
#include <math.h>
#include <string.h>

#include "ctc/ctc.h"

VEIL_RESULT veil_ctc_decode(const float *probs, uint32_t steps, uint32_t classes,
                            const struct veil_ctc_labels *labels, bool use_space,
                            struct veil_ctc_result *out)
{
    uint32_t prev = 0;
    double sum = 0;

    ENSURE_REF(labels);
    ENSURE_REF(out);
    ENSURE(probs != NULL || steps == 0, VEIL_ERR_INTERNAL);
    ENSURE(classes >= 1 && (uint64_t)classes == labels->count + 1 + (use_space ? 1 : 0),
           VEIL_ERR_CTC_CLASSES);
    ENSURE((uint64_t)steps * classes <= VEIL_CTC_VALUES_MAX, VEIL_ERR_TENSOR_RESPONSE);
    veil_wr_init(&out->text, VEIL_CTC_TEXT_SIZE_MAX);
    out->chars = 0;
    out->confidence = 0;
    for (uint32_t t = 0; t < steps; t++) {
        const float *row = probs + (size_t)t * classes;
        uint32_t best = 0;

        for (uint32_t c = 0; c < classes; c++) {
            /* The model's output is a softmax per step: a value that is not a probability is a
             * wrong model or a lying server, not something to decode (and average). */
            if (!isfinite(row[c]) || row[c] < 0.0f || row[c] > 1.0f + 1e-5f) {
                veil_wr_free(&out->text);
                BAIL(VEIL_ERR_TENSOR_RESPONSE);
            }
            if (row[c] > row[best]) {
                best = c;
            }
        }
        if (best != 0 && !(t > 0 && best == prev)) {
            const char *s = (size_t)best - 1 < labels->count ? labels->label[best - 1] : " ";
            veil_result r = veil_wr_bytes(&out->text, s, strlen(s));

            if (!veil_ok(r)) {
                veil_wr_free(&out->text);
                return r;
            }
            out->chars++;
            sum += row[best];
        }
        prev = best;
    }
    out->confidence = out->chars > 0 ? sum / (double)out->chars : 0;
    return VEIL_RESULT_OK;
}

/* Fuzz target: a KServe v2 inference response through the parser and greedy CTC decoding. The
 * first byte picks the path: the JSON-only parser, the binary extension with the JSON's end
 * found, or the binary extension with a header length taken from the next two bytes. */
#include "ctc/ctc.h"
#include "veil_fuzz.h"

#define FUZZ_CLASSES_MAX 64

static veil_result fuzz_parse(const uint8_t *data, size_t size, struct veil_ctc_output *o,
                              char *why, size_t why_size)
{
    size_t header;

    if (size == 0 || data[0] < 0x80) {
        /* JSON seeds start with '{': the JSON-only path, as before */
        return veil_ctc_response_parse(data, size, NULL, o, why, why_size);
    }
    if (data[0] < 0xc0 || size < 3) {
        return veil_ctc_response_parse_binary(data + 1, size - 1, VEIL_CTC_HEADER_FIND, NULL, o,
                                              why, why_size);
    }
    header = (size_t)data[1] | (size_t)data[2] << 8;
    return veil_ctc_response_parse_binary(data + 3, size - 3, header, NULL, o, why, why_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *names[FUZZ_CLASSES_MAX];
    struct veil_ctc_output o = {NULL, 0, 0};
    struct veil_ctc_labels l;
    struct veil_ctc_result res;
    char why[256];

    if (!veil_ok(fuzz_parse(data, size, &o, why, sizeof(why)))) {
        return 0;
    }
    VEIL_ASSERT(o.steps >= 1 && o.classes >= 1);
    for (size_t i = 0; i < FUZZ_CLASSES_MAX; i++) {
        names[i] = i % 2 ? "\xe4\xb8\xad" : "ab";
    }
    l.buf = NULL;
    l.label = names;
    l.count = o.classes >= 2 && o.classes <= FUZZ_CLASSES_MAX ? o.classes - 2 : 0;
    if (veil_ok(veil_ctc_decode(o.data, o.steps, o.classes, &l, true, &res))) {
        VEIL_ASSERT(res.chars <= o.steps);
        VEIL_ASSERT(res.confidence >= 0 && res.confidence <= 1.0 + 1e-5);
        veil_wr_free(&res.text);
    }
    veil_ctc_output_free(&o);
    return 0;
}

/*
 * Client-side post-processing for text recognition: the label file (one class a line, as
 * PaddleOCR's ppocr_keys_v1.txt), the KServe v2 inference response that carries the model's
 * per-time-step class probabilities ([1, T, C] FP32), and greedy CTC decoding (PaddleOCR's
 * CTCLabelDecode: argmax per step, repeats collapsed, blank class 0 dropped, class i is label
 * i - 1, and with use_space a space as the last class).
 */
#ifndef VEIL_CTC_CTC_H
#define VEIL_CTC_CTC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/result.h"

#define VEIL_CTC_LABELS_FILE_SIZE_MAX (4u << 20)
#define VEIL_CTC_LABEL_COUNT_MAX      65536u
#define VEIL_CTC_LABEL_SIZE_MAX       64u
#define VEIL_CTC_RESPONSE_SIZE_MAX    (64u << 20)
#define VEIL_CTC_STEPS_MAX            65536u
#define VEIL_CTC_VALUES_MAX           (16u << 20)
#define VEIL_CTC_TEXT_SIZE_MAX        (1u << 20)

struct veil_ctc_labels {
    char *buf;          /* the file's bytes, each line NUL-terminated in place */
    const char **label; /* count pointers into buf */
    size_t count;
};

/* Lines split on \n (a trailing \r removed, other bytes kept, an empty last line ignored);
 * each line valid UTF-8 of at most VEIL_CTC_LABEL_SIZE_MAX bytes. VEIL_ERR_CTC_LABELS otherwise. */
VEIL_RESULT veil_ctc_labels_parse(const uint8_t *data, size_t size, struct veil_ctc_labels *out);
void veil_ctc_labels_free(struct veil_ctc_labels *l);

/* One output tensor of a KServe v2 response. */
struct veil_ctc_output {
    float *data; /* steps * classes values, row-major (malloc'd) */
    uint32_t steps;
    uint32_t classes;
};

/* Parses a KServe v2 JSON response (at most VEIL_CTC_RESPONSE_SIZE_MAX bytes) and takes the
 * output named `name` (NULL: the only output): FP32 or FP64, shape [1, T, C], flat data of
 * T * C finite numbers. On failure VEIL_ERR_TENSOR_RESPONSE and a sentence in why (the
 * server's own {"error": ...} message when that is what it sent). */
VEIL_RESULT veil_ctc_response_parse(const uint8_t *data, size_t size, const char *name,
                                    struct veil_ctc_output *out, char *why, size_t why_size);
/* The same, for a response that may use the KServe v2 binary tensor extension: the first
 * header_size bytes are the JSON (the response's Inference-Header-Content-Length), or with
 * VEIL_CTC_HEADER_FIND the JSON ends where its top-level object closes. The bytes after it are
 * the binary parts of the outputs that have parameters.binary_data_size, in output order, and
 * must add up exactly; a binary output is little-endian FP32 (FP64) of T * C * 4 (8) bytes, each
 * finite. Anything else is VEIL_ERR_TENSOR_RESPONSE with a sentence in why. */
#define VEIL_CTC_HEADER_FIND SIZE_MAX
VEIL_RESULT veil_ctc_response_parse_binary(const uint8_t *data, size_t size, size_t header_size,
                                           const char *name, struct veil_ctc_output *out, char *why,
                                           size_t why_size);
void veil_ctc_output_free(struct veil_ctc_output *o);

struct veil_ctc_result {
    struct veil_wr text; /* UTF-8, NUL-terminated by veil_wr_cstr */
    size_t chars;        /* classes kept */
    double confidence;   /* mean probability of the kept classes; 0 when none */
};

/* Greedy decoding of steps x classes probabilities. classes must equal labels + 1 (blank)
 * + (use_space ? 1 : 0), else VEIL_ERR_CTC_CLASSES. out->text is initialised here; free it
 * with veil_wr_free. */
VEIL_RESULT veil_ctc_decode(const float *probs, uint32_t steps, uint32_t classes,
                            const struct veil_ctc_labels *labels, bool use_space,
                            struct veil_ctc_result *out);

#endif

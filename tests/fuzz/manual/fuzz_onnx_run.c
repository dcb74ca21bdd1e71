/*
 * Fuzz target: ONNX model loading *and execution* on inputs synthesized from the declared input
 * shapes (symbolic dims = 1), under tight run-time limits (1 MiB per tensor, 64 Loop iterations,
 * 2^24 units of work per node). Built by the fuzz presets as build/<preset>/fuzz/fuzz_onnx_run
 * but not run by CTest: the work budget covers the heavy kernels, not every linear pass, so a
 * hostile model can still be slow enough for libFuzzer to call it a timeout. Run it by hand,
 * seeded with the backend-test models:
 *   mkdir corpus && for d in /usr/share/libonnx-testdata/data/node/test_*; do
 *       cp "$d/model.onnx" "corpus/$(basename "$d").onnx"; done
 *   build/asan-ubsan/fuzz/fuzz_onnx_run -timeout=20 -rss_limit_mb=3000 corpus
 */
#include <string.h>

#include "engine/engine.h"
#include "veil_fuzz.h"

#define FUZZ_INPUTS_MAX  16
#define FUZZ_OUTPUTS_MAX 64
#define FUZZ_INPUT_SIZE  65536

static void synth(struct veil_engine_model *m, size_t k, struct veil_tensor *t)
{
    int32_t dtype;
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];

    veil_engine_input_info(m, k, &dtype, &rank, dims);
    for (uint32_t d = 0; d < rank; d++) {
        dims[d] = dims[d] < 0 || dims[d] > 64 ? 1 : dims[d];
    }
    if (!veil_ok(veil_tensor_shape(t, dtype != 0 ? dtype : VEIL_DT_FLOAT, rank, dims)) ||
        t->size > FUZZ_INPUT_SIZE || !veil_ok(veil_tensor_alloc(t))) {
        memset(t, 0, sizeof(*t));
        if (!veil_ok(veil_tensor_shape(t, VEIL_DT_FLOAT, 0, NULL)) ||
            !veil_ok(veil_tensor_alloc(t))) {
            return;
        }
    }
    for (size_t i = 0; i < t->count; i++) {
        veil_tensor_set_f64(t, i, (double)(i % 7) - 3.0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_engine_model *m = NULL;
    struct veil_tensor in[FUZZ_INPUTS_MAX];
    struct veil_tensor out[FUZZ_OUTPUTS_MAX];
    size_t nin;
    size_t nout;

    if (!veil_ok(veil_engine_load(data, size, NULL, &m))) {
        return 0;
    }
    nin = veil_engine_input_count(m);
    nout = veil_engine_output_count(m);
    if (nin > FUZZ_INPUTS_MAX || nout > FUZZ_OUTPUTS_MAX ||
        !veil_ok(veil_engine_set_limits(m, (size_t)1 << 20, 64, (uint64_t)1 << 24)) ||
        !veil_ok(veil_engine_set_threads(m, 1))) {
        veil_engine_free(m);
        return 0;
    }
    memset(in, 0, sizeof(in));
    memset(out, 0, sizeof(out));
    for (size_t k = 0; k < nin; k++) {
        synth(m, k, &in[k]);
    }
    if (veil_ok(veil_engine_run(m, in, out, NULL))) {
        for (size_t k = 0; k < nout; k++) {
            veil_tensor_free(&out[k]);
        }
    }
    for (size_t k = 0; k < nin; k++) {
        veil_tensor_free(&in[k]);
    }
    veil_engine_free(m);
    return 0;
}

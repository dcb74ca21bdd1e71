/* Fuzz target: ONNX model loading from memory (protobuf-c parse, then every bound the graph
 * builder enforces). Any input must either load or fail with an error; never crash or leak. */
#include <stdlib.h>

#include "engine/engine.h"
#include "veil_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_engine_model *m = NULL;
    struct veil_engine_diag diag;
    char ops[256];
    veil_result r = veil_engine_load(data, size, &diag, &m);

    if (veil_ok(r)) {
        for (size_t i = 0; i < veil_engine_input_count(m); i++) {
            int32_t dtype;
            uint32_t rank;
            int64_t dims[VEIL_ENGINE_RANK_MAX];
            (void)veil_engine_input_name(m, i);
            veil_engine_input_info(m, i, &dtype, &rank, dims);
        }
        for (size_t i = 0; i < veil_engine_output_count(m); i++) {
            (void)veil_engine_output_name(m, i);
        }
        veil_engine_free(m);
    }
    r = veil_engine_model_unsupported_ops(data, size, ops, sizeof(ops));
    (void)r;
    return 0;
}

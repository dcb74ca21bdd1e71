/*
 * engine: the ONNX inference engine (docs/internals/engine.md).
 *
 * A model is loaded from memory (veil_engine_load): protobuf-c parses the ModelProto with a
 * capped allocator, then every count, name, dim, index and data size in it is bounded before use
 * while the graph is built (values resolved by name, nodes sorted topologically, operators looked
 * up, initializers converted to tensors, last uses computed for buffer reuse). A run
 * (veil_engine_run) infers each node's output shapes from its actual inputs, takes output
 * buffers from a pool of freed intermediates, runs the kernel and releases inputs after their
 * last use.
 */
#ifndef VEIL_ENGINE_ENGINE_H
#define VEIL_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/result.h"

#define VEIL_ENGINE_RANK_MAX        8
#define VEIL_ENGINE_MODEL_SIZE_MAX  ((size_t)2 << 30) /* protobuf's own 2 GiB limit */
#define VEIL_ENGINE_TENSOR_SIZE_MAX ((size_t)4 << 30) /* bytes in any one tensor */
#define VEIL_ENGINE_NODE_COUNT_MAX  ((size_t)1 << 20)
#define VEIL_ENGINE_IO_COUNT_MAX    ((size_t)4096) /* inputs or outputs of one node or graph */
#define VEIL_ENGINE_DEPTH_MAX       8              /* nested subgraphs */
#define VEIL_ENGINE_NAME_SIZE_MAX   4096
#define VEIL_ENGINE_THREADS_MAX     256
#define VEIL_ENGINE_LOOP_MAX        ((int64_t)1 << 24)
#define VEIL_ENGINE_WORK_MAX        ((uint64_t)1 << 40) /* ~multiply-adds in one node */

/* ONNX TensorProto.DataType codes. */
enum veil_dtype {
    VEIL_DT_UNDEFINED = 0,
    VEIL_DT_FLOAT = 1,
    VEIL_DT_UINT8 = 2,
    VEIL_DT_INT8 = 3,
    VEIL_DT_UINT16 = 4,
    VEIL_DT_INT16 = 5,
    VEIL_DT_INT32 = 6,
    VEIL_DT_INT64 = 7,
    VEIL_DT_STRING = 8,
    VEIL_DT_BOOL = 9,
    VEIL_DT_FLOAT16 = 10,
    VEIL_DT_DOUBLE = 11,
    VEIL_DT_UINT32 = 12,
    VEIL_DT_UINT64 = 13,
    VEIL_DT_BFLOAT16 = 16,
};

struct veil_tensor {
    int32_t dtype;
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t count; /* elements */
    size_t size;  /* bytes: count * element size */
    void *data;   /* at least one byte allocated when owned, even for empty tensors */
    bool borrowed;
};

/* Bytes per element, or 0 for a type the engine does not hold. */
size_t veil_dtype_size(int32_t dtype);
const char *veil_dtype_name(int32_t dtype);
/* Sets type and shape, checking every dim (>= 0), the element count and the byte size (no
 * overflow, below VEIL_ENGINE_TENSOR_SIZE_MAX). Does not touch data. */
VEIL_RESULT veil_tensor_shape(struct veil_tensor *t, int32_t dtype, uint32_t rank,
                              const int64_t *dims);
/* Allocates zeroed data for the shape set by veil_tensor_shape. */
VEIL_RESULT veil_tensor_alloc(struct veil_tensor *t);
/* The same, not zeroed: for a caller that writes every byte before the tensor is read (a binary
 * request input: zeroing 217 KB out of the cache cost veil-serve 21 us a request). */
VEIL_RESULT veil_tensor_alloc_uninit(struct veil_tensor *t);
/* A new owned copy of src. */
VEIL_RESULT veil_tensor_copy(const struct veil_tensor *src, struct veil_tensor *dst);
/* A borrowed view of src (shares its data). */
void veil_tensor_view(const struct veil_tensor *src, struct veil_tensor *dst);
void veil_tensor_free(struct veil_tensor *t);
bool veil_tensor_same_shape(const struct veil_tensor *a, const struct veil_tensor *b);

/* Element access through double / int64 for any numeric dtype (shape inputs, slow paths). */
double veil_tensor_get_f64(const struct veil_tensor *t, size_t i);
int64_t veil_tensor_get_i64(const struct veil_tensor *t, size_t i);
void veil_tensor_set_f64(struct veil_tensor *t, size_t i, double v);
void veil_tensor_set_i64(struct veil_tensor *t, size_t i, int64_t v);
bool veil_dtype_is_float(int32_t dtype);
bool veil_dtype_is_int(int32_t dtype);
float veil_f16_to_f32(uint16_t h);
uint16_t veil_f32_to_f16(float f);
float veil_bf16_to_f32(uint16_t h);
uint16_t veil_f32_to_bf16(float f);
/* Saturating float -> integer conversion (C leaves out-of-range conversion undefined). */
int64_t veil_f64_to_i64(double v);
uint64_t veil_f64_to_u64(double v);

/* TensorProto bytes (a test data set's input_K.pb) -> tensor, and back. */
VEIL_RESULT veil_tensor_decode(const void *data, size_t size, struct veil_tensor *t, char **name);
/* Encodes t as a TensorProto with raw_data; *out is malloc'd. */
VEIL_RESULT veil_tensor_encode(const struct veil_tensor *t, const char *name, uint8_t **out,
                               size_t *out_size);

struct veil_engine_model;

/* Optional detail of a load failure, for people: "node 12 (Conv): unsupported op". */
struct veil_engine_diag {
    char what[256];
};

/* Loads a model from memory. Initializers must be embedded (external data is refused). data is
 * only read while loading: the weights are copied once into the model. */
VEIL_RESULT veil_engine_load(const void *data, size_t size, struct veil_engine_diag *diag,
                             struct veil_engine_model **out);
/* Same, without copying the weights: the raw_data of the graphs' initializers and node attribute
 * tensors (64 bytes and more; subgraphs of If, Loop and Scan included) stays in data, which the
 * caller keeps, unchanged and unfreed, until veil_engine_free. The engine rewrites data (moving
 * each payload a few bytes back onto an aligned offset, or copying it where it cannot be aligned;
 * folding BatchNormalization into Conv weights and packing Conv weights for its GEMM kernel where
 * nothing else reads them), so it no longer holds the model afterwards, also when loading fails.
 * For the decrypted model in locked memory (veil-serve). */
VEIL_RESULT veil_engine_load_inplace(void *data, size_t size, struct veil_engine_diag *diag,
                                     struct veil_engine_model **out);
/* After veil_engine_load_inplace: the i-th of the byte ranges of data that the model still reads
 * (the payloads it borrows: weights, folded or packed in place), sorted and disjoint, as an offset
 * from data and a length; false past the last. The rest of data is never read again: the caller
 * may wipe it and release its pages (veil-serve). None after veil_engine_load; after
 * veil_engine_load_file, of the file's bytes (which the model holds). */
bool veil_engine_kept_range(const struct veil_engine_model *m, size_t i, size_t *off, size_t *len);
/* Where the first weight payload (a raw_data of at least min bytes, on the paths the in-place
 * loader takes: graph initializers, node attribute tensors, subgraphs included) starts, from a
 * prefix of a model's bytes (len of them; the rest need not be known). False when the prefix ends
 * first, the wire format is malformed, or there is none; every length is checked against the
 * prefix, so any bytes are safe. A hint for placing the model so that its big payload is aligned:
 * loading in place then need not move it (veil-serve). */
/* The alignment that loading in place gives a payload it has to move (VEIL_PB_PLACE_ALIGN): one
 * that already starts on such a boundary stays where it is. */
#define VEIL_ENGINE_PLACE_ALIGN 64
bool veil_engine_first_payload_offset(const void *prefix, size_t len, size_t min, size_t *off);
/* Loads a model file; initializers may then keep their data in external files beneath the
 * model's directory (relative locations only, no "..", no symlinks). The model keeps the file's
 * bytes and borrows the weights from them, as veil_engine_load_inplace. */
VEIL_RESULT veil_engine_load_file(const char *path, struct veil_engine_diag *diag,
                                  struct veil_engine_model **out);
void veil_engine_free(struct veil_engine_model *m);
/* Worker threads for heavy kernels (1..VEIL_ENGINE_THREADS_MAX; 0 = all cores). */
VEIL_RESULT veil_engine_set_threads(struct veil_engine_model *m, unsigned threads);

/* Tighter run-time limits than the defaults (VEIL_ENGINE_TENSOR_SIZE_MAX bytes per tensor,
 * VEIL_ENGINE_LOOP_MAX iterations per Loop, VEIL_ENGINE_WORK_MAX units of work per node, roughly
 * multiply-adds): for serving untrusted models, and for fuzzing. Exceeding one fails the run
 * with VEIL_ERR_ENGINE_LIMIT instead of allocating or computing without end. */
VEIL_RESULT veil_engine_set_limits(struct veil_engine_model *m, size_t tensor_size_max,
                                   int64_t loop_iterations_max, uint64_t work_max);

/* Static shape inference and memory planning: with every input's shape static, one planning run
 * on zero inputs infers every value's type and shape, and intermediates get offsets in one
 * arena, reused between values whose lifetimes do not overlap; each input gets room there too
 * (veil_engine_run_input_room). Later runs with the same shapes use the arena; other shapes fall
 * back to the buffer pool. VEIL_ERR_ENGINE_INPUT if an input's shape is not static. */
VEIL_RESULT veil_engine_plan(struct veil_engine_model *m, struct veil_engine_diag *diag);
/* The same, planning on the values of the given inputs (one per model input, in order) instead
 * of zeros: for models whose control flow or shapes depend on input values (Silero's sample
 * rate). Runs then use the plan where their shapes match it. */
VEIL_RESULT veil_engine_plan_for(struct veil_engine_model *m, const struct veil_tensor *in,
                                 struct veil_engine_diag *diag);
/* The plan's arena size, how many intermediates it holds, and their total size without reuse.
 * The arena also holds each node's kernel scratch (im2col), alive during that node only. */
VEIL_RESULT veil_engine_plan_info(const struct veil_engine_model *m, size_t *arena_size,
                                  size_t *planned, size_t *total_size);
/* The largest total size of the activations alive at one point of the planned run: planned
 * intermediates, the graph's inputs (until their last reader) and outputs (from their producer
 * on); weights and views are not counted. */
VEIL_RESULT veil_engine_plan_live_max(const struct veil_engine_model *m, size_t *live_max);
/* The part of the arena the planned intermediates alone take (placed before the scratch, which
 * goes into the room they leave at its node, or above them). */
VEIL_RESULT veil_engine_plan_values_arena(const struct veil_engine_model *m, size_t *size);

size_t veil_engine_input_count(const struct veil_engine_model *m);
const char *veil_engine_input_name(const struct veil_engine_model *m, size_t i);
/* The declared type and shape of input i; unknown or symbolic dims are -1, dtype 0 if unknown. */
void veil_engine_input_info(const struct veil_engine_model *m, size_t i, int32_t *dtype,
                            uint32_t *rank, int64_t *dims);
/* "1x3x48x320" -> rank and dims (at most VEIL_ENGINE_RANK_MAX dims of 0..2^40, as `--shape` and
 * veil-serve's input_shapes write them); false on bad syntax (empty, a non-digit, an empty dim,
 * too many dims or too large a one). */
bool veil_engine_parse_dims(const char *s, uint32_t *rank, int64_t *dims);
/* Fixes the symbolic dims of input i (for veil_engine_input_info and veil_engine_plan): rank must
 * be the declared rank and every static dim must be given as declared, else
 * VEIL_ERR_ENGINE_INPUT_SHAPE. Drops any plan made before. */
VEIL_RESULT veil_engine_fix_input_shape(struct veil_engine_model *m, size_t i, uint32_t rank,
                                        const int64_t *dims);
size_t veil_engine_output_count(const struct veil_engine_model *m);
const char *veil_engine_output_name(const struct veil_engine_model *m, size_t i);
/* The declared type and shape of output i, as veil_engine_input_info. */
void veil_engine_output_info(const struct veil_engine_model *m, size_t i, int32_t *dtype,
                             uint32_t *rank, int64_t *dims);

/* Runs the model. inputs[i] is model input i (borrowed); outputs[i] receives model output i
 * (owned by the caller: veil_tensor_free each). On failure no output is set. */
VEIL_RESULT veil_engine_run(struct veil_engine_model *m, const struct veil_tensor *inputs,
                            struct veil_tensor *outputs, struct veil_engine_diag *diag);

/* The same run in steps, for a caller that can write an input straight into the run's arena
 * (veil-serve moves a request's binary tensors there: the input is not held beside the arena).
 * veil_engine_run_begin takes the buffers a run computes in (the model's cached ones unless
 * another run holds them); every begun run is ended with veil_engine_run_end, run or not. */
struct veil_engine_run;
VEIL_RESULT veil_engine_run_begin(struct veil_engine_model *m, struct veil_engine_run **out);
/* For t, the caller's tensor for model input i with its type and shape set and no data: when the
 * model is planned and the plan keeps room for input i at this type and shape, points t->data
 * there (borrowed: valid until veil_engine_run_end, and overwritten by the run's intermediates
 * once no node reads input i any more) and returns true; else returns false and leaves t as it
 * was (allocate it as usual). Before veil_engine_run_exec only. */
bool veil_engine_run_input_room(struct veil_engine_run *run, size_t i, struct veil_tensor *t);
/* Runs the model once, as veil_engine_run; a second call is VEIL_ERR_USAGE. */
VEIL_RESULT veil_engine_run_exec(struct veil_engine_run *run, const struct veil_tensor *inputs,
                                 struct veil_tensor *outputs, struct veil_engine_diag *diag);
void veil_engine_run_end(struct veil_engine_run *run);

/* Does the engine implement this operator (default domain)? */
bool veil_engine_op_supported(const char *op_type);
/* Lists every operator type the model uses that the engine lacks, comma separated, into buf;
 * returns VEIL_ERR_ENGINE_MODEL if the bytes are not a model. */
VEIL_RESULT veil_engine_model_unsupported_ops(const void *data, size_t size, char *buf,
                                              size_t buf_size);

#endif

/*
 * Model loading from memory. protobuf-c parses the ModelProto with an allocator capped at a
 * multiple of the input size (a hostile file cannot make the parser allocate without bound); the
 * graph builder then bounds everything else.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/file.h"
#include "engine/graph.h"

/* protobuf-c structs are larger than their wire form; real models stay well below this. */
#define ALLOC_FACTOR  16
#define ALLOC_SLACK   ((size_t)64 << 20)
#define OPSET_MIN     1
#define OPSET_MAX     18
#define DEFAULT_OPSET OPSET_MAX

/* The parsed model holds plaintext weights: every block protobuf-c allocates carries its size in
 * a 16-byte header (keeping 16-byte alignment) so that it is wiped when freed. */
#define BLOCK_HEADER 16

/* Blocks of at most PB_SMALL_MAX bytes (messages, names, small arrays: nearly all of them) are
 * cut from the parse arena (a store of mapped chunks, store.c); larger ones (typed weight arrays,
 * which veil_tensor_proto_drop_data frees during the build) come from malloc, as before. Measured
 * on Silero VAD served (bench/engine/memory, docs/ENGINE.models.md "Fifth round"): with every block
 * from malloc, the ModelProto's blocks freed after the build left ~0.5 MB of partly used heap
 * pages resident around the graphs' records, which malloc_trim cannot return. */
#define PB_SMALL_MAX ((size_t)4096)

static void *cap_alloc(void *ctx, size_t n)
{
    struct veil_engine_model *m = ctx;
    uint8_t *p;
    if (n > m->alloc_max - m->alloc_used || n > SIZE_MAX - BLOCK_HEADER) {
        return NULL;
    }
    p = n <= PB_SMALL_MAX ? veil_store_alloc(&m->pb_arena, n + BLOCK_HEADER)
                          : malloc(n + BLOCK_HEADER);
    if (p == NULL) {
        return NULL;
    }
    m->alloc_used += n;
    memcpy(p, &n, sizeof(n));
    return p + BLOCK_HEADER;
}

static void cap_free(void *ctx, void *q)
{
    uint8_t *p;
    size_t n;
    (void)ctx;
    if (q == NULL) {
        return;
    }
    p = (uint8_t *)q - BLOCK_HEADER;
    memcpy(&n, p, sizeof(n));
    OPENSSL_cleanse(q, n);
    if (n > PB_SMALL_MAX) {
        free(p); /* an arena block stays until the arena goes (veil_store_free) */
    }
}

static VEIL_RESULT find_opset(const Onnx__ModelProto *mp, int64_t *opset)
{
    *opset = 0;
    ENSURE(mp->n_opset_import <= VEIL_ENGINE_IO_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        if (o->domain == NULL || o->domain[0] == '\0' || strcmp(o->domain, "ai.onnx") == 0) {
            ENSURE(o->has_version, VEIL_ERR_ENGINE_MODEL);
            *opset = o->version;
        }
    }
    if (*opset == 0) {
        *opset = DEFAULT_OPSET; /* IR version 1/2 models had no opset import */
    }
    ENSURE(*opset >= OPSET_MIN && *opset <= OPSET_MAX, VEIL_ERR_ENGINE_UNSUPPORTED_OP);
    return VEIL_RESULT_OK;
}

/* Parses the ModelProto. With split, the big raw_data payloads of the graphs (initializers and
 * node attribute tensors such as Constant values) are left out of what protobuf-c sees (wire.c)
 * and stay in data: protobuf-c would copy each. */
static VEIL_RESULT parse(const void *data, size_t size, bool split, struct veil_engine_model *m)
{
    const void *pb = data;
    size_t pb_size = size;
    veil_result r;

    ENSURE(data != NULL || size == 0, VEIL_ERR_USAGE);
    ENSURE(size > 0, VEIL_ERR_ENGINE_MODEL);
    ENSURE(size <= VEIL_ENGINE_MODEL_SIZE_MAX, VEIL_ERR_ENGINE_LIMIT);
    if (split) {
        GUARD(veil_pb_split_model(data, size, VEIL_PB_STRIP_MIN, &m->split));
        m->src = data;
        if (m->split.skeleton != NULL) {
            pb = m->split.skeleton;
            pb_size = m->split.skeleton_size;
            if (m->inplace != NULL) {
                GUARD(veil_pb_place_all(m->inplace, &m->split));
            }
        }
    }
    m->alloc.alloc = cap_alloc;
    m->alloc.free = cap_free;
    m->alloc.allocator_data = m;
    m->pb_arena.mapped = true;
    m->alloc_max =
        pb_size <= (SIZE_MAX - ALLOC_SLACK) / ALLOC_FACTOR ? pb_size * ALLOC_FACTOR : SIZE_MAX;
    m->alloc_max += ALLOC_SLACK;
    r = veil_pb_check_nesting(pb, pb_size, &onnx__model_proto__descriptor);
    if (veil_ok(r)) {
        m->proto = onnx__model_proto__unpack(&m->alloc, pb_size, pb);
    }
    if (m->split.skeleton != NULL) {
        /* protobuf-c copied what it keeps: the skeleton (plaintext structure) goes now */
        OPENSSL_cleanse(m->split.skeleton, m->split.skeleton_size);
        free(m->split.skeleton);
        m->split.skeleton = NULL;
        m->split.skeleton_size = 0;
    }
    GUARD(r);
    ENSURE(m->proto != NULL, VEIL_ERR_ENGINE_MODEL);
    ENSURE(m->proto->graph != NULL, VEIL_ERR_ENGINE_MODEL);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT load(const void *data, uint8_t *inplace, size_t size, int dirfd,
                        struct veil_engine_diag *diag, struct veil_engine_model **out);
static void value_info(Onnx__ValueInfoProto *const *list, size_t count, const char *name,
                       int32_t *dtype, uint32_t *rank, int64_t *dims);

VEIL_RESULT veil_engine_load(const void *data, size_t size, struct veil_engine_diag *diag,
                             struct veil_engine_model **out)
{
    return load(data, NULL, size, -1, diag, out);
}

VEIL_RESULT veil_engine_load_inplace(void *data, size_t size, struct veil_engine_diag *diag,
                                     struct veil_engine_model **out)
{
    return load(data, data, size, -1, diag, out);
}

VEIL_RESULT veil_engine_load_file(const char *path, struct veil_engine_diag *diag,
                                  struct veil_engine_model **out)
{
    struct veil_wr w;
    char *copy = strdup(path);
    int dirfd;
    veil_result r;

    if (diag != NULL) {
        diag->what[0] = '\0';
    }
    ENSURE(copy != NULL, VEIL_ERR_NOMEM);
    dirfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (dirfd < 0 && diag != NULL) {
        (void)snprintf(diag->what, sizeof(diag->what), "%s: cannot open its directory", path);
    }
    ENSURE(dirfd >= 0, VEIL_ERR_IO_OPEN);
    r = veil_file_read(path, VEIL_ENGINE_MODEL_SIZE_MAX, &w);
    if (veil_ok(r)) {
        /* the weights stay in the file's buffer, which the model then owns */
        r = load(w.data, w.data, w.len, dirfd, diag, out);
        if (veil_ok(r) && (*out)->borrowed > 0) {
            (*out)->file = w;
        } else { /* failed, or nothing borrowed (small or typed-field initializers only) */
            OPENSSL_cleanse(w.data, w.len);
            veil_wr_free(&w);
        }
    } else if (diag != NULL) {
        (void)snprintf(diag->what, sizeof(diag->what), "%s: %s", path, veil_strerror(r.code));
    }
    (void)close(dirfd);
    return r;
}

/* The declared types of the main graph's inputs and outputs, kept for veil_engine_input_info,
 * veil_engine_output_info and veil_engine_fix_input_shape. */
static VEIL_RESULT resolve_io(struct veil_engine_model *m)
{
    const Onnx__GraphProto *g = m->proto->graph;
    size_t ni = m->main->input_count;
    size_t no = m->main->output_count;

    m->in_info = calloc(ni > 0 ? ni : 1, sizeof(*m->in_info));
    m->out_info = calloc(no > 0 ? no : 1, sizeof(*m->out_info));
    ENSURE(m->in_info != NULL && m->out_info != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < ni; i++) {
        struct veil_engine_vinfo *v = &m->in_info[i];
        value_info(g->input, g->n_input, veil_engine_input_name(m, i), &v->dtype, &v->rank,
                   v->dims);
    }
    for (size_t i = 0; i < no; i++) {
        struct veil_engine_vinfo *v = &m->out_info[i];
        value_info(g->output, g->n_output, veil_engine_output_name(m, i), &v->dtype, &v->rank,
                   v->dims);
    }
    return VEIL_RESULT_OK;
}

static int span_cmp(const void *a, const void *b)
{
    const struct veil_span *x = a;
    const struct veil_span *y = b;
    return (x->off > y->off) - (x->off < y->off);
}

/* The borrowed payloads' ranges, sorted, overlapping or touching ones merged, the array trimmed. */
static void kept_merge(struct veil_engine_model *m)
{
    size_t n = 0;
    struct veil_span *k;

    if (m->kept_count == 0) {
        free(m->kept);
        m->kept = NULL;
        m->kept_cap = 0;
        return;
    }
    qsort(m->kept, m->kept_count, sizeof(*m->kept), span_cmp);
    for (size_t i = 1; i < m->kept_count; i++) {
        struct veil_span *last = &m->kept[n];
        const struct veil_span *c = &m->kept[i];
        if (c->off <= last->off + last->len) {
            size_t end = c->off + c->len;
            if (end > last->off + last->len) {
                last->len = end - last->off;
            }
        } else {
            m->kept[++n] = *c;
        }
    }
    m->kept_count = n + 1;
    k = realloc(m->kept, m->kept_count * sizeof(*k));
    if (k != NULL) {
        m->kept = k;
        m->kept_cap = m->kept_count;
    }
}

bool veil_engine_kept_range(const struct veil_engine_model *m, size_t i, size_t *off, size_t *len)
{
    if (i >= m->kept_count) {
        return false;
    }
    *off = m->kept[i].off;
    *len = m->kept[i].len;
    return true;
}

static VEIL_RESULT load(const void *data, uint8_t *inplace, size_t size, int dirfd,
                        struct veil_engine_diag *diag, struct veil_engine_model **out)
{
    struct veil_engine_model *m = calloc(1, sizeof(*m));
    veil_result r;

    ENSURE(m != NULL, VEIL_ERR_NOMEM);
    m->ext_dirfd = dirfd;
    if (diag != NULL) {
        diag->what[0] = '\0';
    }
    m->inplace = inplace;
    r = parse(data, size, true, m);
    if (!veil_ok(r)) {
        if (diag != NULL) {
            (void)snprintf(diag->what, sizeof(diag->what), "%s", veil_strerror(r.code));
        }
        goto fail;
    }
    r = find_opset(m->proto, &m->opset);
    if (!veil_ok(r)) {
        if (diag != NULL) {
            (void)snprintf(diag->what, sizeof(diag->what), "unsupported opset version %lld",
                           (long long)m->opset);
        }
        goto fail;
    }
    r = veil_graph_build(m, NULL, m->proto->graph, 0, diag, &m->main);
    if (!veil_ok(r)) {
        goto fail;
    }
    r = resolve_io(m);
    if (!veil_ok(r)) {
        goto fail;
    }
    /* the graphs keep nothing of the parsed model (names, attributes and tensors are resolved
     * into the store and the tensors): it goes now, wiped, and runs never touch it */
    onnx__model_proto__free_unpacked(m->proto, &m->alloc);
    m->proto = NULL;
    veil_store_free(&m->pb_arena);
    m->threads = 0;
    m->tensor_size_max = VEIL_ENGINE_TENSOR_SIZE_MAX;
    m->loop_iterations_max = VEIL_ENGINE_LOOP_MAX;
    m->work_max = VEIL_ENGINE_WORK_MAX;
    m->ext_dirfd = -1; /* the directory is only read while loading */
    veil_pb_split_free(&m->split);
    kept_merge(m);
    m->src = NULL;
    m->inplace = NULL; /* only used while loading */
    *out = m;
    return VEIL_RESULT_OK;
fail:
    veil_engine_free(m);
    return r;
}

void veil_engine_free(struct veil_engine_model *m)
{
    if (m == NULL) {
        return;
    }
    veil_graph_free(m->main);
    veil_store_free(&m->store); /* after the graphs: their attributes' tensors are in it */
    free(m->in_info);
    free(m->out_info);
    veil_plan_free(m->plan);
    free(m->input_dims);
    free(m->input_fixed);
    veil_pool_free(&m->cache_pool);
    free(m->cache_vals); /* shapes and pointers only: the data they point to is wiped elsewhere */
    if (m->cache_arena != NULL) {
        OPENSSL_cleanse(m->cache_arena, m->cache_arena_size);
        free(m->cache_arena);
    }
    if (m->proto != NULL) {
        onnx__model_proto__free_unpacked(m->proto, &m->alloc);
    }
    veil_store_free(&m->pb_arena);
    veil_pb_split_free(&m->split);
    free(m->kept);
    if (m->file.data != NULL) {
        OPENSSL_cleanse(m->file.data, m->file.len);
        veil_wr_free(&m->file);
    }
    free(m);
}

VEIL_RESULT veil_engine_set_threads(struct veil_engine_model *m, unsigned threads)
{
    ENSURE(threads <= VEIL_ENGINE_THREADS_MAX, VEIL_ERR_USAGE_LIMIT);
    m->threads = threads;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_engine_set_limits(struct veil_engine_model *m, size_t tensor_size_max,
                                   int64_t loop_iterations_max, uint64_t work_max)
{
    ENSURE(work_max <= VEIL_ENGINE_WORK_MAX, VEIL_ERR_USAGE_LIMIT);
    ENSURE(tensor_size_max <= VEIL_ENGINE_TENSOR_SIZE_MAX, VEIL_ERR_USAGE_LIMIT);
    ENSURE(loop_iterations_max >= 0 && loop_iterations_max <= VEIL_ENGINE_LOOP_MAX,
           VEIL_ERR_USAGE_LIMIT);
    m->tensor_size_max = tensor_size_max;
    m->loop_iterations_max = loop_iterations_max;
    m->work_max = work_max;
    return VEIL_RESULT_OK;
}

size_t veil_engine_input_count(const struct veil_engine_model *m)
{
    return m->main->input_count;
}

const char *veil_engine_input_name(const struct veil_engine_model *m, size_t i)
{
    VEIL_ASSERT(i < m->main->input_count);
    return m->main->values[m->main->inputs[i]].name;
}

/* The declared tensor type and shape of name among a graph's value infos (inputs or outputs). */
static void value_info(Onnx__ValueInfoProto *const *list, size_t count, const char *name,
                       int32_t *dtype, uint32_t *rank, int64_t *dims)
{
    *dtype = 0;
    *rank = 0;
    for (size_t k = 0; k < count; k++) {
        const Onnx__ValueInfoProto *vi = list[k];
        const Onnx__TypeProto__Tensor *tt;
        if (strcmp(vi->name, name) != 0 || vi->type == NULL ||
            vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            continue;
        }
        tt = vi->type->tensor_type;
        *dtype = tt->has_elem_type ? tt->elem_type : 0;
        if (tt->shape == NULL || tt->shape->n_dim > VEIL_ENGINE_RANK_MAX) {
            return;
        }
        *rank = (uint32_t)tt->shape->n_dim;
        for (size_t d = 0; d < tt->shape->n_dim; d++) {
            const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
            bool known = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                         dim->dim_value >= 0;
            dims[d] = known ? dim->dim_value : -1;
        }
        return;
    }
}

void veil_engine_input_info(const struct veil_engine_model *m, size_t i, int32_t *dtype,
                            uint32_t *rank, int64_t *dims)
{
    const struct veil_engine_vinfo *v = &m->in_info[i];

    VEIL_ASSERT(i < m->main->input_count);
    *dtype = v->dtype;
    *rank = v->rank;
    memcpy(dims, v->dims, v->rank * sizeof(*dims));
    if (m->input_fixed != NULL && m->input_fixed[i]) {
        memcpy(dims, m->input_dims[i], *rank * sizeof(*dims));
    }
}

bool veil_engine_parse_dims(const char *s, uint32_t *rank, int64_t *dims)
{
    *rank = 0;
    while (*s != '\0') {
        char *end = NULL;
        long long v;
        if (*s < '0' || *s > '9' || *rank == VEIL_ENGINE_RANK_MAX) {
            return false;
        }
        v = strtoll(s, &end, 10);
        if (v > ((long long)1 << 40) || (*end != 'x' && *end != '\0') ||
            (*end == 'x' && end[1] == '\0')) {
            return false;
        }
        dims[(*rank)++] = v;
        s = *end == 'x' ? end + 1 : end;
    }
    return *rank > 0;
}

VEIL_RESULT veil_engine_fix_input_shape(struct veil_engine_model *m, size_t i, uint32_t rank,
                                        const int64_t *dims)
{
    int32_t dtype;
    uint32_t declared;
    int64_t want[VEIL_ENGINE_RANK_MAX];
    size_t n = m->main->input_count;

    ENSURE(i < n, VEIL_ERR_USAGE);
    dtype = m->in_info[i].dtype;
    declared = m->in_info[i].rank;
    memcpy(want, m->in_info[i].dims, sizeof(want));
    ENSURE(dtype != 0 && rank == declared, VEIL_ERR_ENGINE_INPUT_SHAPE);
    for (uint32_t d = 0; d < rank; d++) {
        ENSURE(dims[d] >= 0 && (want[d] < 0 || want[d] == dims[d]), VEIL_ERR_ENGINE_INPUT_SHAPE);
    }
    if (m->input_fixed == NULL) {
        m->input_dims = calloc(n, sizeof(*m->input_dims));
        m->input_fixed = calloc(n, sizeof(*m->input_fixed));
        if (m->input_dims == NULL || m->input_fixed == NULL) {
            free(m->input_dims);
            free(m->input_fixed);
            m->input_dims = NULL;
            m->input_fixed = NULL;
            return veil_result_of(VEIL_ERR_NOMEM);
        }
    }
    memcpy(m->input_dims[i], dims, rank * sizeof(*dims));
    m->input_fixed[i] = true;
    veil_plan_free(m->plan); /* planned for other shapes */
    m->plan = NULL;
    return VEIL_RESULT_OK;
}

void veil_engine_output_info(const struct veil_engine_model *m, size_t i, int32_t *dtype,
                             uint32_t *rank, int64_t *dims)
{
    const struct veil_engine_vinfo *v = &m->out_info[i];

    VEIL_ASSERT(i < m->main->output_count);
    *dtype = v->dtype;
    *rank = v->rank;
    memcpy(dims, v->dims, v->rank * sizeof(*dims));
}

size_t veil_engine_output_count(const struct veil_engine_model *m)
{
    return m->main->output_count;
}

const char *veil_engine_output_name(const struct veil_engine_model *m, size_t i)
{
    VEIL_ASSERT(i < m->main->output_count);
    return m->main->values[m->main->outputs[i]].name;
}

static void list_graph_ops(const Onnx__GraphProto *g, uint32_t depth, char *buf, size_t buf_size)
{
    if (g == NULL || depth > VEIL_ENGINE_DEPTH_MAX) {
        return;
    }
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        const char *op = n->op_type != NULL ? n->op_type : "";
        bool dflt = n->domain == NULL || n->domain[0] == '\0' || strcmp(n->domain, "ai.onnx") == 0;
        if (!dflt || !veil_engine_op_supported(op)) {
            size_t len = strlen(buf);
            if (strstr(buf, op) == NULL && len + strlen(op) + 2 < buf_size) {
                (void)snprintf(buf + len, buf_size - len, "%s%s", len > 0 ? "," : "", op);
            }
        }
        for (size_t a = 0; a < n->n_attribute; a++) {
            list_graph_ops(n->attribute[a]->g, depth + 1, buf, buf_size);
            for (size_t k = 0; k < n->attribute[a]->n_graphs; k++) {
                list_graph_ops(n->attribute[a]->graphs[k], depth + 1, buf, buf_size);
            }
        }
    }
}

VEIL_RESULT veil_engine_model_unsupported_ops(const void *data, size_t size, char *buf,
                                              size_t buf_size)
{
    struct veil_engine_model m = {0};
    veil_result r;

    m.ext_dirfd = -1;
    VEIL_ASSERT(buf_size > 0);
    buf[0] = '\0';
    r = parse(data, size, false, &m);
    if (veil_ok(r)) {
        list_graph_ops(m.proto->graph, 0, buf, buf_size);
    }
    if (m.proto != NULL) {
        onnx__model_proto__free_unpacked(m.proto, &m.alloc);
    }
    veil_store_free(&m.pb_arena);
    return r;
}

bool veil_engine_op_supported(const char *op_type)
{
    return veil_op_find(op_type) != NULL;
}

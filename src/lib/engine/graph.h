/* engine internals: the built graph, the run-time frame and the operator interface. */
#ifndef VEIL_ENGINE_GRAPH_H
#define VEIL_ENGINE_GRAPH_H

#include <protobuf-c/protobuf-c.h>

#include "base/buf.h"
#include "engine/engine.h"
#include "onnx.pb-c.h"

/* ---- the weight payloads of a model, kept out of protobuf-c (wire.c) ---- */

/* raw_data fields shorter than this stay in the skeleton (protobuf-c copies them: cheap). */
#define VEIL_PB_STRIP_MIN 64
/* Where a misaligned payload is moved to in place: this alignment, else its element size's. */
#define VEIL_PB_PLACE_ALIGN 64

/* The raw_data of one TensorProto of a graph (an initializer, or a node attribute's
 * tensor t such as a Constant node's value), left out of the skeleton: off is from the start of
 * the model's bytes (after veil_pb_place_all, where the bytes are now); dtype is the data_type
 * the scanner read (only a hint for placing: protobuf-c's parse decides). */
struct veil_pb_payload {
    bool present;
    int32_t dtype;
    size_t off;
    size_t len;
};

struct veil_pb_split {
    uint8_t *skeleton; /* the ModelProto without the payloads (malloc'd, wiped when freed) */
    size_t skeleton_size;
    /* one per GraphProto.initializer, graph by graph (graph_first[k] .. graph_first[k + 1] - 1
     * are graph k's, in wire order, which protobuf-c keeps); graphs are numbered in pre-order
     * (the main graph 0, then each node's subgraphs, node by node, attribute by attribute,
     * recursively), the order in which veil_graph_build builds them */
    struct veil_pb_payload *payloads;
    size_t count;
    size_t *graph_first; /* graph_count + 1 entries */
    size_t graph_count;
    /* one per AttributeProto.t of every graph's nodes (node by node, attribute by attribute,
     * a subgraph's before the next attribute of its node: pre-order, in wire order) */
    struct veil_pb_payload *attrs;
    size_t attr_count;
};

/* Scans a ModelProto's wire format (bounded: only ModelProto.graph (7) -> GraphProto.initializer
 * (5) -> TensorProto.raw_data (9), GraphProto.node (1) -> NodeProto.attribute (5) ->
 * AttributeProto.t (5) -> TensorProto.raw_data and, for subgraphs, AttributeProto.g (6) ->
 * GraphProto are descended into, subgraphs at most VEIL_ENGINE_DEPTH_MAX deep, else
 * VEIL_ERR_ENGINE_LIMIT) and writes the skeleton: the same message with every such raw_data of at
 * least min bytes left out and the enclosing lengths rewritten. Malformed wire format (truncated
 * varints or fields, lengths past their message, groups, a second graph field, a second t or g
 * in one attribute, or both) is VEIL_ERR_ENGINE_MODEL. When nothing is left out, out->skeleton,
 * out->payloads and out->attrs are NULL (use data as it is). */
VEIL_RESULT veil_pb_split_model(const void *data, size_t size, size_t min,
                                struct veil_pb_split *out);
void veil_pb_split_free(struct veil_pb_split *s);
/* Leaves the len bytes at buf + off where they are if aligned to align (a power of two <=
 * VEIL_PB_PLACE_ALIGN), else moves them backwards in place onto an address aligned to
 * VEIL_PB_PLACE_ALIGN, else to align, never below *floor (the end of what
 * was placed before: payloads are placed in increasing offset order); returns the new offset and
 * sets *floor past it, or SIZE_MAX when neither fits (the bytes stay; *floor = off + len). */
size_t veil_pb_place(uint8_t *buf, size_t *floor, size_t off, size_t len, size_t align);
/* Places every present payload of sp (initializers and attribute tensors merged in offset order)
 * with veil_pb_place, aligned to its dtype's size, and updates each off to where its bytes are
 * now. For loading in place: the bytes are then borrowed where aligned, else copied. */
VEIL_RESULT veil_pb_place_all(uint8_t *buf, struct veil_pb_split *sp);

enum veil_value_kind {
    VEIL_VALUE_INPUT,       /* graph input, given by the caller */
    VEIL_VALUE_INITIALIZER, /* constant from the model */
    VEIL_VALUE_NODE,        /* produced by a node */
    VEIL_VALUE_OUTER,       /* a subgraph's view of a value in an enclosing graph */
};

#define VEIL_NO_VALUE   (-1)
#define VEIL_NO_SLOT    UINT32_MAX
#define VEIL_LAST_NEVER UINT32_MAX

struct veil_engine_value {
    /* the main graph's inputs and outputs: a copy in the model's store; the others' names are
     * used only while the model is built (the ModelProto's) and are NULL after */
    const char *name;
    enum veil_value_kind kind;
    uint32_t outer;    /* VEIL_VALUE_OUTER: index in the parent graph */
    int32_t producer;  /* VEIL_VALUE_NODE: index of the node in proto order */
    uint32_t last_use; /* position (sorted order) of the last reader, or VEIL_LAST_NEVER */
    /* VEIL_VALUE_INITIALIZER: its tensor (a record in the model's store; the array of values is
     * sized for an upper bound, so an embedded tensor cost 104 bytes per slot), else NULL */
    struct veil_tensor *init;
};

struct veil_engine_graph;
struct veil_op;

/* Memory allocated in blocks from chunks and freed (wiped) at once (store.c): what loading copies
 * out of the ModelProto (names, attributes) before it is freed, in heap chunks; protobuf-c's small
 * blocks while a model is parsed, in chunks of their own mappings (mapped). */
struct veil_store_chunk;
struct veil_store {
    struct veil_store_chunk *head;
    size_t total; /* bytes of all chunks */
    size_t used;  /* bytes handed out */
    bool mapped;  /* chunks from anonymous mappings (kept by veil_store_free) */
};

/* A zeroed block of n bytes, aligned to 16, or NULL. */
void *veil_store_alloc(struct veil_store *s, size_t n);
/* A copy of s (NUL-terminated) in the store, or NULL when out of memory; NULL for NULL. */
char *veil_store_strdup(struct veil_store *st, const char *s, bool *ok);
void veil_store_free(struct veil_store *s);

/* A byte string of an attribute (STRING, or one of STRINGS), in the store. */
struct veil_bytes {
    size_t len;
    const uint8_t *data;
};

/* The fields of an attribute as protobuf-c had set them, with the same has_ flags, so that the
 * type checks are unchanged (type 0: not declared). Arrays and strings are in the model's store;
 * t is the TENSOR value decoded at load (its bytes borrowed from the model's buffer where the load
 * is in place, else owned: freed with the graph), g the built GRAPH. What veil_attr_fields gives;
 * a record holds them so only when it cannot hold them compactly (below). */
struct veil_attr_fields {
    int64_t i;
    const int64_t *ints;
    const float *floats;
    const struct veil_bytes *strings;
    struct veil_tensor *t;
    struct veil_engine_graph *g;
    struct veil_bytes s;
    float f;
    uint32_t n_ints;
    uint32_t n_floats;
    uint32_t n_strings;
    int32_t type;
    bool has_type;
    bool has_i;
    bool has_f;
    bool has_s;
};

/* What a struct veil_attr holds in u: one field, the one its AttributeProto set (NONE: none). */
enum veil_attr_holds {
    VEIL_ATTR_NONE,
    VEIL_ATTR_I,
    VEIL_ATTR_F,
    VEIL_ATTR_S, /* u.s, n its length */
    VEIL_ATTR_INTS,
    VEIL_ATTR_FLOATS,
    VEIL_ATTR_STRINGS,
    VEIL_ATTR_T,
    VEIL_ATTR_G,
    VEIL_ATTR_MORE, /* u.more: all the fields (several set, or a type beyond 255) */
};

/* One attribute of a node, resolved at load from its AttributeProto (which is freed then), in
 * 24 bytes (96 when every field had its own member: cls has 650 attributes): almost every
 * attribute sets one field, of its declared type; that one is kept in u, which holds says; an
 * attribute that sets several (no declared type, or a malformed one) keeps all its fields in a
 * record of its own (u.more). Read through the accessors of attr.c (veil_attr_int, ...,
 * veil_attr_fields), which give what the fields gave. */
struct veil_attr {
    const char *name;
    union {
        int64_t i;
        float f;
        const uint8_t *s;
        const int64_t *ints;
        const float *floats;
        const struct veil_bytes *strings;
        struct veil_tensor *t;
        struct veil_engine_graph *g;
        struct veil_attr_fields *more;
    } u;
    uint32_t n;    /* INTS, FLOATS, STRINGS: the count; S: the length */
    uint8_t holds; /* enum veil_attr_holds */
    uint8_t type;  /* the declared type (not MORE) */
    bool has_type; /* (not MORE) */
};

/* All the fields of a (what protobuf-c had set; the others zero, as it left them). */
void veil_attr_fields(const struct veil_attr *a, struct veil_attr_fields *out);
/* The TENSOR value (decoded at load) and the built GRAPH of a, or NULL. */
struct veil_tensor *veil_attr_tensor(const struct veil_attr *a);
struct veil_engine_graph *veil_attr_subgraph(const struct veil_attr *a);

/* The fields of a node that fuses (veil_engine_node.x). */
struct veil_node_extra {
    /* Conv followed by a per-channel Mul and/or Add folded at build time: the Conv runs with
     * these weights and bias (one side record in the store) and writes the last folded node's
     * output; the folded nodes skip (fused, skip: with the node's flags). NULL unless fused. */
    struct veil_tensor *fused_w;
    struct veil_tensor *fused_b;
    /* Add(x, a) -> Clip(lo, hi) -> Mul(x, .) -> Div(., d) (hard-swish as exporters spell it)
     * folded into the Add: it computes (x * clip(x + a, lo, hi)) / d in the same float steps and
     * writes the Div's output; input hs_x of the Add is x; hs = {a, lo, hi, d} (hswish). */
    uint32_t hs_x;
    float hs[4];
    float act_alpha; /* act (the node's flags) */
    float act_k;
};

/* A node as built (528 bytes before the fourth round: the tensors below were embedded though
 * most nodes use none of them; now pointers to side records made only for the nodes that do;
 * 104 bytes since the fusion fields moved to struct veil_node_extra). */
struct veil_engine_node {
    const struct veil_op *op;
    uint32_t in_count;
    uint32_t out_count;
    int32_t *in;  /* value index or VEIL_NO_VALUE (in the model's store) */
    int32_t *out; /* value index or VEIL_NO_VALUE (in the model's store) */
    /* what the executor reads of every node at every run, kept in the node's first cache line
     * (the fields they flag are described below and in struct veil_node_extra) */
    bool has_constant;
    bool fused;
    bool skip;
    bool hswish;
    bool writes_all; /* veil_op_writes_all(op), found once at build */
    /* Conv -> LeakyRelu(alpha) [-> Max with a float scalar k] folded into the Conv (graph.c
     * fuse_conv_act): the Conv applies them to its output (per part, while the part's output is
     * in its thread's cache) and writes the last folded node's output; the folded nodes skip.
     * act_k_first: k is Max's first operand (which side wins a tie, as op_binary computes). */
    bool act;
    bool act_max;
    bool act_k_first;
    /* wpack was written over the weights (nothing else read them): their original layout is
     * gone and the Conv must run from wpack, whatever its shape (op_conv.c). */
    bool wpack_only;
    /* constant is the tensor of the node's 'value' attribute (a Constant node: the attribute
     * owns it), not a folded result of its own */
    bool constant_of_attr;
    uint32_t attr_count;
    struct veil_attr *attrs; /* in the model's store */
    /* has_constant: the value the node hands out instead of running (a Constant's, decoded at
     * load; or a result folded at load, in the model's store), runs view it; else NULL. */
    struct veil_tensor *constant;
    /* what a fusion adds to the nodes that fuse (fused, hswish, act), else NULL (a record of
     * its own: 44 bytes fewer in every node; cls fuses 53 of its 471 nodes) */
    struct veil_node_extra *x;
    uint32_t implicit_count;
    /* the node's position in the model's NodeProto list (diagnostics: "node 3 (Conv) ..."); the
     * array holds no Constant node once the graph is settled (graph.c drop_constant_nodes) */
    uint32_t index;
    uint32_t *implicit; /* outer values read by subgraphs of this node */
    const char *name;   /* the NodeProto's name (store), or "" */
    /* Conv (group 1) with constant float weights: the weights packed at load for
     * veil_sgemm_packed (ops.h), or NULL (then the Conv runs on veil_sgemm). */
    struct veil_gemm_pack *wpack;
};

struct veil_engine_graph {
    struct veil_engine_graph *parent;
    struct veil_engine_model *model;
    struct veil_engine_value *values;
    uint32_t value_count;
    uint32_t value_cap;
    struct veil_engine_node *nodes; /* in proto order */
    uint32_t node_count;
    uint32_t *order; /* topological order: indices into nodes */
    /* What the executor gives back after the node at position pos of order: the intermediates
     * (VEIL_VALUE_NODE) whose last reader (or, unread, producer) it is, each once:
     * release[release_at[pos] .. release_at[pos + 1]) (built once with last_use). */
    uint32_t *release; /* frame slots (below) */
    uint32_t *release_at;
    /* value -> its entry in a run's frame (veil_engine_frame.vals, slot_count entries), or
     * VEIL_NO_SLOT for a value whose tensor the model holds: an initializer that is not also
     * an input, the output of a node with has_constant (a Constant's or a folded result). Runs
     * read those in place (veil_graph_fixed) instead of a 104-byte view per value and run: cls
     * has 250 Constant nodes in 472 values. Also VEIL_NO_SLOT: a node's output that no node
     * that runs writes or reads (between the nodes a fusion folded; cls 89): nothing reads it. */
    uint32_t *slot;
    uint32_t slot_count;
    uint32_t io_max; /* the most inputs or outputs of one node, at least 3 (a fused Conv) */
    uint32_t *inputs;
    uint32_t input_count;
    uint32_t *outputs;
    uint32_t output_count;
    /* name -> value index, open addressing */
    uint32_t *table;
    uint32_t table_size;
    int32_t building;   /* node whose subgraphs are being built */
    size_t split_index; /* its number in the model's split.graph_first (pre-order) */
};

/* The declared type of a main-graph input or output (its ValueInfoProto, resolved at load):
 * dtype 0 when not declared a tensor, dims -1 where not a fixed size. */
struct veil_engine_vinfo {
    int32_t dtype;
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
};

/* A static memory plan of the main graph for one set of input shapes (veil_engine_plan):
 * each planned intermediate has an offset in one arena; lifetimes that overlap never share bytes.
 * veil_plan_shape(p, v) is the inferred type and shape of value v (data NULL; rank UINT32_MAX if
 * unknown), kept for the values a run or veil_engine_plan_live_max asks about: the planned
 * intermediates, the graph's inputs and outputs (NULL for the others).
 */
struct veil_engine_plan {
    size_t arena_size;
    /* per value; SIZE_MAX = not planned (outputs, control flow). An input's is the room a
     * caller may write it in (veil_engine_run_input_room), from before the first node to its
     * last reader: the runs themselves never place anything there. */
    size_t *offset;
    /* per value: its index in shape, or UINT32_MAX (the planning run records every value's shape,
     * 104 bytes each; only these are kept: cls 49 -> 14 KB) */
    uint32_t *shape_at;
    struct veil_tensor *shape;
    uint32_t planned_count;
    /* per topological position of the main graph: the node's kernel scratch (im2col) placed in
     * the arena like an intermediate alive during that node only, and its size; SIZE_MAX / 0
     * when the planning run's node took none */
    size_t *scratch_offset;
    size_t *scratch_size;
    size_t values_arena_size; /* what the intermediates alone take (placed first, as before) */
};

static inline const struct veil_tensor *veil_plan_shape(const struct veil_engine_plan *p,
                                                        uint32_t v)
{
    return p->shape_at[v] == UINT32_MAX ? NULL : &p->shape[p->shape_at[v]];
}

struct veil_engine_pool {
    void **ptr;
    size_t *size;
    size_t count;
    size_t cap;
    /* one kernel scratch buffer (im2col), grown to the largest request */
    void *scratch;
    size_t scratch_size;
    bool scratch_busy;
    /* the running main-graph node's planned scratch in the arena (before the own one) */
    uint8_t *node_scratch;
    size_t node_scratch_size;
    bool node_scratch_busy;
    /* planning run: the largest scratch asked since the executor reset it, and per topological
     * position of the main graph the largest its node asked (or NULL); likewise the least a
     * kernel said it works well with (veil_pool_scratch_budget; 0: the whole of it) */
    size_t scratch_seen;
    size_t *scratch_record;
    size_t scratch_min_seen;
    size_t *scratch_min_record;
    /* keep no idle buffers: a buffer given back is wiped and freed at once (the planning run,
     * whose peak is then its live set, not live + idle) */
    bool keep_none;
};

struct veil_span {
    size_t off;
    size_t len;
};

struct veil_engine_model {
    ProtobufCAllocator alloc;
    size_t alloc_used;
    size_t alloc_max;
    struct veil_store pb_arena; /* while loading only: protobuf-c's small blocks (mapped) */
    Onnx__ModelProto *proto;    /* while loading only: freed once the graphs are built */
    struct veil_store store;    /* names, attributes: what the graphs keep of the ModelProto */
    struct veil_engine_vinfo *in_info;  /* per main-graph input */
    struct veil_engine_vinfo *out_info; /* per main-graph output */
    int64_t opset;
    unsigned threads;
    size_t tensor_size_max;        /* per run-time tensor, <= VEIL_ENGINE_TENSOR_SIZE_MAX */
    int64_t loop_iterations_max;   /* per Loop node execution */
    uint64_t work_max;             /* per node execution, ~multiply-adds */
    int ext_dirfd;                 /* directory for external data while loading, or -1 */
    struct veil_engine_plan *plan; /* static memory plan (veil_engine_plan), or NULL */
    struct veil_engine_graph *main;
    int64_t (*input_dims)[VEIL_ENGINE_RANK_MAX]; /* veil_engine_fix_input_shape, or NULL */
    bool *input_fixed;
    /* Buffers kept from one run to the next (freed, wiped, in veil_engine_free): one run at a
     * time takes them (cache_busy), concurrent runs allocate their own. */
    _Atomic int cache_busy;
    struct veil_engine_pool cache_pool;
    uint8_t *cache_arena;
    size_t cache_arena_size;
    struct veil_tensor *cache_vals; /* the run frame's values (main->slot_count), or NULL */
    /* Loading without copying the weights (model.c): the payloads of the top-level initializers
     * are read from src, or, for veil_engine_load_inplace, placed within inplace and borrowed. */
    struct veil_pb_split split;
    const uint8_t *src;
    uint8_t *inplace;
    size_t borrowed; /* payloads borrowed from inplace */
    /* the bytes of inplace they cover (offsets from it), merged after the load: the rest of the
     * buffer is not read once loaded (veil_engine_kept_range) */
    struct veil_span *kept;
    size_t kept_count;
    size_t kept_cap;
    size_t attr_next;    /* the next of split.attrs, while building the graphs */
    size_t graph_next;   /* the next graph's number in split.graph_first (pre-order) */
    struct veil_wr file; /* veil_engine_load_file: the file's bytes, which the tensors borrow */
};

/* Builds a graph (and its subgraphs) from a GraphProto; depth counts nesting. */
VEIL_RESULT veil_graph_build(struct veil_engine_model *m, struct veil_engine_graph *parent,
                             const Onnx__GraphProto *gp, uint32_t depth,
                             struct veil_engine_diag *diag, struct veil_engine_graph **out);
void veil_graph_free(struct veil_engine_graph *g);
/* Message nesting in protobuf wire bytes, checked against the schema before protobuf-c (which
 * recurses once per level) sees them: deeper than VEIL_ENGINE_PB_DEPTH_MAX is
 * VEIL_ERR_ENGINE_LIMIT, malformed wire format VEIL_ERR_ENGINE_MODEL. */
#define VEIL_ENGINE_PB_DEPTH_MAX 100
VEIL_RESULT veil_pb_check_nesting(const void *data, size_t size,
                                  const ProtobufCMessageDescriptor *d);
/* TensorProto -> tensor, every size bounded (initializers, Constant, attributes). */
VEIL_RESULT veil_tensor_from_proto(const Onnx__TensorProto *p, struct veil_tensor *t);
/* Frees (wiping) the data fields of a parsed TensorProto once it has been converted. */
void veil_tensor_proto_drop_data(Onnx__TensorProto *p, ProtobufCAllocator *a);
/* Same, allowing external data in files beneath the directory dirfd (-1: refuse it). */
VEIL_RESULT veil_tensor_from_proto_ext(const Onnx__TensorProto *p, int dirfd,
                                       struct veil_tensor *t);
/* Same for a main-graph TensorProto whose raw_data pl was left out of the skeleton: its bytes are
 * borrowed in place (m->inplace, placed by veil_pb_place_all) where they are aligned, else copied
 * once. */
VEIL_RESULT veil_tensor_from_payload(const Onnx__TensorProto *p, struct veil_engine_model *m,
                                     const struct veil_pb_payload *pl, struct veil_tensor *t);

/* ---- run time ---- */

struct veil_engine_frame {
    const struct veil_engine_graph *graph;
    const struct veil_engine_frame *parent;
    struct veil_tensor *vals; /* graph->slot_count: the values with a slot */
    struct veil_engine_pool *pool;
    unsigned threads;
    struct veil_engine_diag *diag;
    uint8_t *arena; /* main graph with a plan that fits: intermediates here */
    const struct veil_engine_plan *plan;
    struct veil_tensor *record; /* planning run: every value's inferred shape */
    bool vals_given;            /* vals is the caller's (slot_count entries), not calloc'd */
};

/* The model's tensor of value v of g, which has no frame slot (g->slot[v] == VEIL_NO_SLOT). */
const struct veil_tensor *veil_graph_fixed(const struct veil_engine_graph *g, uint32_t v);

/* Runs g with the given inputs (borrowed), results into outputs (owned by the caller). */
VEIL_RESULT veil_graph_run(const struct veil_engine_graph *g,
                           const struct veil_engine_frame *parent, struct veil_engine_pool *pool,
                           unsigned threads, const struct veil_tensor *const *inputs,
                           uint32_t input_count, struct veil_tensor *outputs,
                           struct veil_engine_diag *diag);
void veil_pool_free(struct veil_engine_pool *p);
/* A buffer for t (its size set) from the pool (best fit no more than 2x; a miss frees smaller
 * pooled buffers, up to the request, before allocating), zeroed (zero) or only beyond t->size;
 * and back (wiped and freed beyond POOL_KEEP_MAX buffers). Exposed for the unit tests. */
VEIL_RESULT veil_pool_take(struct veil_engine_pool *p, struct veil_tensor *t, bool zero);
void veil_pool_give(struct veil_engine_pool *p, struct veil_tensor *t);
/* The main graph's run with an optional plan/arena (run) or shape recording (planning). */
VEIL_RESULT veil_graph_run_main(const struct veil_engine_graph *g, struct veil_engine_pool *pool,
                                unsigned threads, const struct veil_tensor *const *inputs,
                                uint32_t input_count, struct veil_tensor *outputs,
                                struct veil_engine_diag *diag, const struct veil_engine_plan *plan,
                                uint8_t *arena, struct veil_tensor *record,
                                struct veil_tensor *vals);
void veil_plan_free(struct veil_engine_plan *p);

#define VEIL_OP_IN_MAX VEIL_ENGINE_IO_COUNT_MAX

struct veil_op_ctx {
    const struct veil_engine_node *node;
    const struct veil_engine_frame *frame;
    int64_t opset;
    uint32_t in_count;
    const struct veil_tensor **in; /* NULL for an absent optional input */
    uint32_t out_count;
    struct veil_tensor **out; /* never NULL: absent outputs get a scratch tensor */
};

/* Every operator: shape() checks the inputs (types, ranks, attributes, data it depends on) and
 * sets each output's type and shape; run() fills the outputs, which the executor allocated. An op
 * with own_alloc allocates its outputs in run() (control flow). */
struct veil_op {
    const char *name;
    VEIL_RESULT (*shape)(struct veil_op_ctx *c);
    VEIL_RESULT (*run)(struct veil_op_ctx *c);
    bool own_alloc;
};

const struct veil_op *veil_op_find(const char *name);

/* Attributes of the current node (resolved at load, graph.h struct veil_attr). A missing
 * attribute gives the default; a present one of the wrong type is VEIL_ERR_ENGINE_ATTR. */
const struct veil_attr *veil_attr_find(const struct veil_op_ctx *c, const char *name);
/* Same on a node (the fusion passes at load). */
const struct veil_attr *veil_node_attr(const struct veil_engine_node *n, const char *name);
/* Resolves an AttributeProto into a (attribute tensors are decoded by the caller, subgraphs built
 * by it): copies into the store; VEIL_ERR_NOMEM, or VEIL_ERR_ENGINE_LIMIT for counts beyond
 * what a struct veil_attr holds. */
/* The attribute names operators use, sorted; name's entry among them, or NULL. */
extern const char *const veil_attr_known[];
extern const size_t veil_attr_known_count;
const char *veil_attr_name_known(const char *name);
VEIL_RESULT veil_attr_resolve(struct veil_store *st, const Onnx__AttributeProto *ap,
                              struct veil_attr *a);
/* Sets the decoded TENSOR (t) or the built GRAPH (g) of a resolved attribute: VEIL_ERR_NOMEM
 * when it then needs a record of all its fields and the store has no room. */
VEIL_RESULT veil_attr_set_tensor(struct veil_store *st, struct veil_attr *a, struct veil_tensor *t);
VEIL_RESULT veil_attr_set_graph(struct veil_store *st, struct veil_attr *a,
                                struct veil_engine_graph *g);
VEIL_RESULT veil_attr_int(const struct veil_op_ctx *c, const char *name, int64_t def, int64_t *v);
VEIL_RESULT veil_attr_float(const struct veil_op_ctx *c, const char *name, float def, float *v);
VEIL_RESULT veil_attr_ints(const struct veil_op_ctx *c, const char *name, const int64_t **v,
                           size_t *count);
VEIL_RESULT veil_attr_floats(const struct veil_op_ctx *c, const char *name, const float **v,
                             size_t *count);
/* Copies a string attribute (NUL-free) into buf; def when absent. */
VEIL_RESULT veil_attr_string(const struct veil_op_ctx *c, const char *name, const char *def,
                             char *buf, size_t buf_size);
/* The built subgraph of a GRAPH attribute, or NULL. */
const struct veil_engine_graph *veil_attr_graph(const struct veil_op_ctx *c, const char *name);

#endif

/*
 * Graph building: names -> values, operators looked up, subgraphs built with access to outer
 * values, nodes sorted topologically (Kahn), last uses computed so that the executor can hand
 * buffers back to the pool. Every count from the model is bounded before anything is sized by it.
 */
#include "engine/graph.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine/ops.h"

#define TABLE_EMPTY UINT32_MAX
#define VALUE_MAX   ((size_t)1 << 24)

__attribute__((format(printf, 2, 3))) static void diag_set(struct veil_engine_diag *d,
                                                           const char *fmt, ...)
{
    va_list ap;
    if (d == NULL || d->what[0] != '\0') {
        return;
    }
    va_start(ap, fmt);
    (void)vsnprintf(d->what, sizeof(d->what), fmt, ap);
    va_end(ap);
}

static VEIL_RESULT check_name(const char *s)
{
    if (s == NULL) {
        return VEIL_RESULT_OK;
    }
    ENSURE(strnlen(s, VEIL_ENGINE_NAME_SIZE_MAX) < VEIL_ENGINE_NAME_SIZE_MAX,
           VEIL_ERR_ENGINE_LIMIT);
    return VEIL_RESULT_OK;
}

static bool name_empty(const char *s)
{
    return s == NULL || s[0] == '\0';
}

static uint32_t hash_name(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 16777619u;
    }
    return h;
}

static uint32_t lookup_local(const struct veil_engine_graph *g, const char *name)
{
    uint32_t mask = g->table_size - 1;
    for (uint32_t i = hash_name(name) & mask;; i = (i + 1) & mask) {
        uint32_t v = g->table[i];
        if (v == TABLE_EMPTY || strcmp(g->values[v].name, name) == 0) {
            return v;
        }
    }
}

/* Adds a value named name. The name is the ModelProto's (or, for an outer value, the enclosing
 * graph's value's), which lives while the model is built: names are looked up only then, and
 * settle() keeps a copy only of the main graph's inputs' and outputs' (veil_engine_input_name). */
static VEIL_RESULT value_add(struct veil_engine_graph *g, const char *name,
                             enum veil_value_kind kind, uint32_t *idx)
{
    uint32_t mask = g->table_size - 1;
    uint32_t slot;

    GUARD(check_name(name));
    ENSURE(!name_empty(name), VEIL_ERR_ENGINE_GRAPH);
    ENSURE(g->value_count < g->value_cap, VEIL_ERR_INTERNAL);
    for (slot = hash_name(name) & mask; g->table[slot] != TABLE_EMPTY; slot = (slot + 1) & mask) {
        ENSURE(strcmp(g->values[g->table[slot]].name, name) != 0, VEIL_ERR_ENGINE_GRAPH);
    }
    g->table[slot] = g->value_count;
    g->values[g->value_count].name = name;
    g->values[g->value_count].kind = kind;
    g->values[g->value_count].producer = -1;
    g->values[g->value_count].last_use = VEIL_LAST_NEVER;
    *idx = g->value_count++;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT node_add_implicit(struct veil_engine_node *n, uint32_t v)
{
    for (uint32_t i = 0; i < n->implicit_count; i++) {
        if (n->implicit[i] == v) {
            return VEIL_RESULT_OK;
        }
    }
    uint32_t *p = realloc(n->implicit, (n->implicit_count + 1) * sizeof(*p));
    ENSURE(p != NULL, VEIL_ERR_NOMEM);
    p[n->implicit_count++] = v;
    n->implicit = p;
    return VEIL_RESULT_OK;
}

/* Finds a name here or in an enclosing graph (making an OUTER value for it here). */
static VEIL_RESULT resolve(struct veil_engine_graph *g, const char *name, uint32_t *idx)
{
    uint32_t v;
    uint32_t pidx;

    GUARD(check_name(name));
    v = lookup_local(g, name);
    if (v != TABLE_EMPTY) {
        *idx = v;
        return VEIL_RESULT_OK;
    }
    ENSURE(g->parent != NULL, VEIL_ERR_ENGINE_GRAPH);
    GUARD(resolve(g->parent, name, &pidx));
    VEIL_ASSERT(g->parent->building >= 0);
    GUARD(node_add_implicit(&g->parent->nodes[g->parent->building], pidx));
    GUARD(value_add(g, g->parent->values[pidx].name, VEIL_VALUE_OUTER, &v));
    g->values[v].outer = pidx;
    *idx = v;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT graph_alloc(struct veil_engine_graph *g, const Onnx__GraphProto *gp)
{
    size_t bound = gp->n_initializer + gp->n_input + gp->n_output;
    size_t table = 16;

    ENSURE(gp->n_node <= VEIL_ENGINE_NODE_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
    ENSURE(gp->n_initializer <= VEIL_ENGINE_NODE_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
    ENSURE(gp->n_input <= VEIL_ENGINE_IO_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
    ENSURE(gp->n_output <= VEIL_ENGINE_IO_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        ENSURE(np->n_input <= VEIL_ENGINE_IO_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
        ENSURE(np->n_output <= VEIL_ENGINE_IO_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
        ENSURE(np->n_attribute <= VEIL_ENGINE_IO_COUNT_MAX, VEIL_ERR_ENGINE_LIMIT);
        bound += np->n_input + np->n_output;
        ENSURE(bound <= VALUE_MAX, VEIL_ERR_ENGINE_LIMIT);
    }
    while (table < 2 * bound) {
        table *= 2;
    }
    g->values = calloc(bound > 0 ? bound : 1, sizeof(*g->values));
    g->value_cap = (uint32_t)bound;
    g->table = malloc(table * sizeof(*g->table));
    g->table_size = (uint32_t)table;
    g->nodes = calloc(gp->n_node > 0 ? gp->n_node : 1, sizeof(*g->nodes));
    g->order = calloc(gp->n_node > 0 ? gp->n_node : 1, sizeof(*g->order));
    g->inputs = calloc(gp->n_input > 0 ? gp->n_input : 1, sizeof(*g->inputs));
    g->outputs = calloc(gp->n_output > 0 ? gp->n_output : 1, sizeof(*g->outputs));
    ENSURE(g->values != NULL && g->table != NULL && g->nodes != NULL && g->order != NULL &&
               g->inputs != NULL && g->outputs != NULL,
           VEIL_ERR_NOMEM);
    for (size_t i = 0; i < table; i++) {
        g->table[i] = TABLE_EMPTY;
    }
    g->node_count = (uint32_t)gp->n_node;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT add_initializers(struct veil_engine_graph *g, const Onnx__GraphProto *gp,
                                    struct veil_engine_diag *diag)
{
    /* the graphs' big raw_data payloads were kept out of protobuf-c (model.c) */
    const struct veil_pb_split *split = &g->model->split;
    const struct veil_pb_payload *payloads = NULL;

    ENSURE(gp->n_sparse_initializer == 0, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    if (split->payloads != NULL) {
        /* graphs are built in the scanner's pre-order, and protobuf-c keeps the initializers in
         * wire order, as the scanner counted them */
        ENSURE(g->split_index < split->graph_count, VEIL_ERR_ENGINE_MODEL);
        ENSURE(split->graph_first[g->split_index + 1] - split->graph_first[g->split_index] ==
                   gp->n_initializer,
               VEIL_ERR_ENGINE_MODEL);
        payloads = &split->payloads[split->graph_first[g->split_index]];
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        uint32_t v;
        veil_result r = value_add(g, tp->name, VEIL_VALUE_INITIALIZER, &v);
        if (veil_ok(r)) {
            g->values[v].init = veil_store_alloc(&g->model->store, sizeof(*g->values[v].init));
            r = g->values[v].init == NULL ? veil_result_of(VEIL_ERR_NOMEM) : VEIL_RESULT_OK;
        }
        if (veil_ok(r) && payloads != NULL && payloads[i].present) {
            r = veil_tensor_from_payload(tp, g->model, &payloads[i], g->values[v].init);
        } else if (veil_ok(r)) {
            r = veil_tensor_from_proto_ext(tp, g->model->ext_dirfd, g->values[v].init);
        }
        if (veil_ok(r)) {
            /* one plaintext copy of the weights is enough: drop (and wipe) the parsed one */
            veil_tensor_proto_drop_data((Onnx__TensorProto *)(uintptr_t)tp, &g->model->alloc);
        }
        if (!veil_ok(r)) {
            diag_set(diag, "initializer %zu '%.64s': %s", i, tp->name ? tp->name : "",
                     veil_strerror(r.code));
            return r;
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT add_inputs(struct veil_engine_graph *g, const Onnx__GraphProto *gp,
                              struct veil_engine_diag *diag)
{
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        uint32_t v;
        GUARD(check_name(vi->name));
        ENSURE(!name_empty(vi->name), VEIL_ERR_ENGINE_GRAPH);
        if (g->parent == NULL && lookup_local(g, vi->name) != TABLE_EMPTY) {
            continue; /* an initializer listed as input (IR < 4): it is a constant */
        }
        if (vi->type != NULL && vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
            vi->type->value_case != ONNX__TYPE_PROTO__VALUE__NOT_SET) {
            diag_set(diag, "input '%.64s' is not a tensor (sequence/map/optional)", vi->name);
            BAIL(VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
        }
        veil_result r = value_add(g, vi->name, VEIL_VALUE_INPUT, &v);
        if (!veil_ok(r)) {
            diag_set(diag, "input '%.64s' defined twice", vi->name);
            return r;
        }
        g->inputs[g->input_count++] = v;
    }
    return VEIL_RESULT_OK;
}

static bool domain_default(const char *d)
{
    return d == NULL || d[0] == '\0' || strcmp(d, "ai.onnx") == 0;
}

/* A Constant whose one attribute is a tensor 'value' (and sets nothing else): the node keeps the
 * decoded tensor (veil_engine_node.constant) and no attribute record (cls: 250 of its 471
 * nodes). */
static bool constant_value_only(const struct veil_op *op, const Onnx__NodeProto *np)
{
    const Onnx__AttributeProto *ap = np->n_attribute == 1 ? np->attribute[0] : NULL;
    return strcmp(op->name, "Constant") == 0 && np->n_input == 0 && np->n_output == 1 &&
           ap != NULL && ap->name != NULL && strcmp(ap->name, "value") == 0 && ap->t != NULL &&
           ap->g == NULL && !ap->has_i && !ap->has_f && !ap->has_s && ap->n_ints == 0 &&
           ap->n_floats == 0 && ap->n_strings == 0 && ap->n_tensors == 0 && ap->n_graphs == 0;
}

static VEIL_RESULT add_node_outputs(struct veil_engine_graph *g, const Onnx__GraphProto *gp,
                                    struct veil_engine_diag *diag)
{
    for (uint32_t i = 0; i < g->node_count; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        struct veil_engine_node *n = &g->nodes[i];
        const char *op = np->op_type != NULL ? np->op_type : "";
        bool ok = true;

        GUARD(check_name(np->op_type));
        GUARD(check_name(np->domain));
        GUARD(check_name(np->name));
        n->op = domain_default(np->domain) ? veil_op_find(op) : NULL;
        if (n->op == NULL) {
            diag_set(diag, "node %u: unsupported op %.64s%s%.64s", i, op,
                     domain_default(np->domain) ? "" : " in domain ",
                     domain_default(np->domain) ? "" : np->domain);
            BAIL(VEIL_ERR_ENGINE_UNSUPPORTED_OP);
        }
        n->index = i;
        n->in_count = (uint32_t)np->n_input;
        n->out_count = (uint32_t)np->n_output;
        n->attr_count = constant_value_only(n->op, np) ? 0 : (uint32_t)np->n_attribute;
        n->in = veil_store_alloc(&g->model->store, (np->n_input + np->n_output) * sizeof(*n->in));
        n->out = n->in != NULL ? n->in + np->n_input : NULL;
        n->attrs = n->attr_count > 0
                       ? veil_store_alloc(&g->model->store, n->attr_count * sizeof(*n->attrs))
                       : NULL;
        n->name = name_empty(np->name) ? "" : veil_store_strdup(&g->model->store, np->name, &ok);
        ENSURE(ok && n->name != NULL && n->in != NULL && n->out != NULL &&
                   (n->attrs != NULL || n->attr_count == 0),
               VEIL_ERR_NOMEM);
        for (size_t k = 0; k < np->n_output; k++) {
            uint32_t v;
            if (name_empty(np->output[k])) {
                n->out[k] = VEIL_NO_VALUE;
                continue;
            }
            veil_result r = value_add(g, np->output[k], VEIL_VALUE_NODE, &v);
            if (!veil_ok(r)) {
                diag_set(diag, "node %u (%.64s): output '%.64s' is defined twice", i, op,
                         np->output[k]);
                return r;
            }
            g->values[v].producer = (int32_t)i;
            n->out[k] = (int32_t)v;
        }
    }
    return VEIL_RESULT_OK;
}

/* The payload the wire scanner left out of a node's attribute tensor (the next of split.attrs:
 * they are in the order the nodes and attributes are linked, subgraphs as they are built), or
 * NULL. */
static VEIL_RESULT attr_payload(struct veil_engine_model *m, const Onnx__AttributeProto *ap,
                                const struct veil_pb_payload **pl)
{
    *pl = NULL;
    if (m->split.attrs == NULL || ap->t == NULL) {
        return VEIL_RESULT_OK;
    }
    ENSURE(m->attr_next < m->split.attr_count, VEIL_ERR_ENGINE_MODEL);
    if (m->split.attrs[m->attr_next].present) {
        *pl = &m->split.attrs[m->attr_next];
    }
    m->attr_next++;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT link_node(struct veil_engine_model *m, struct veil_engine_graph *g,
                             const Onnx__NodeProto *np, uint32_t i, uint32_t depth,
                             struct veil_engine_diag *diag)
{
    struct veil_engine_node *n = &g->nodes[i];

    for (size_t k = 0; k < np->n_input; k++) {
        uint32_t v;
        if (name_empty(np->input[k])) {
            n->in[k] = VEIL_NO_VALUE;
            continue;
        }
        veil_result r = resolve(g, np->input[k], &v);
        if (!veil_ok(r)) {
            diag_set(diag, "node %u (%.64s): input '%.64s' is not defined", i, np->op_type,
                     np->input[k]);
            return r;
        }
        n->in[k] = (int32_t)v;
    }
    for (size_t a = 0; a < np->n_attribute; a++) {
        const Onnx__AttributeProto *ap = np->attribute[a];
        struct veil_attr one; /* a Constant's value (constant_value_only): not kept */
        struct veil_attr *at = n->attrs != NULL ? &n->attrs[a] : &one;
        GUARD(check_name(ap->name));
        GUARD(veil_attr_resolve(&m->store, ap, at));
        if (ap->t != NULL) {
            /* tensor attributes (Constant, ConstantOfShape) are decoded (and checked) now, once:
             * the bytes the wire scanner left out borrowed in place where the load is in
             * place, else copied, and the parsed copy wiped */
            const struct veil_pb_payload *pl = NULL;
            struct veil_tensor *t = NULL;
            veil_result r = attr_payload(m, ap, &pl);
            if (veil_ok(r)) {
                t = veil_store_alloc(&m->store, sizeof(*t));
                r = t == NULL ? veil_result_of(VEIL_ERR_NOMEM) : VEIL_RESULT_OK;
            }
            if (veil_ok(r)) {
                r = pl != NULL ? veil_tensor_from_payload(ap->t, m, pl, t)
                               : veil_tensor_from_proto(ap->t, t);
            }
            if (veil_ok(r)) {
                r = veil_attr_set_tensor(&m->store, at, t); /* then the graph frees it */
            }
            if (veil_ok(r) && at == &one) {
                n->constant = t; /* the node's (decode_constants) */
            }
            if (veil_ok(r)) {
                veil_tensor_proto_drop_data((Onnx__TensorProto *)(uintptr_t)ap->t, &m->alloc);
            } else {
                if (t != NULL) {
                    if (t->data != NULL && !t->borrowed) {
                        OPENSSL_cleanse(t->data, t->size);
                    }
                    veil_tensor_free(t);
                }
                diag_set(diag, "node %u (%.64s): attribute '%.64s': %s", i, np->op_type,
                         ap->name != NULL ? ap->name : "", veil_strerror(r.code));
                return r;
            }
        }
        ENSURE(ap->n_graphs == 0, VEIL_ERR_ENGINE_UNSUPPORTED_OP);
        if (ap->g == NULL) {
            continue;
        }
        struct veil_engine_graph *sub = NULL;
        g->building = (int32_t)i;
        GUARD(veil_graph_build(m, g, ap->g, depth + 1, diag, &sub));
        g->building = -1;
        veil_result r = veil_attr_set_graph(&m->store, at, sub);
        if (!veil_ok(r)) {
            veil_graph_free(sub);
            return r;
        }
    }
    return VEIL_RESULT_OK;
}

/* The node (proto order) producing input k (or implicit input) of n, or -1. */
static int32_t node_dep(const struct veil_engine_graph *g, const struct veil_engine_node *n,
                        uint32_t k)
{
    if (k < n->in_count) {
        return n->in[k] == VEIL_NO_VALUE ? -1 : g->values[n->in[k]].producer;
    }
    return g->values[n->implicit[k - n->in_count]].producer;
}

/* Kahn's algorithm over producer -> consumer edges; a cycle leaves nodes unsorted. */
static VEIL_RESULT topo_sort(struct veil_engine_graph *g)
{
    uint32_t nn = g->node_count;
    uint32_t *indeg = calloc(nn > 0 ? nn : 1, sizeof(*indeg));
    uint32_t *first = calloc((size_t)nn + 1, sizeof(*first));
    uint32_t *edges = NULL;
    size_t edge_count = 0;
    uint32_t head = 0;
    uint32_t tail = 0;
    veil_result r = veil_result_of(VEIL_ERR_NOMEM);

    if (indeg == NULL || first == NULL) {
        goto out;
    }
    for (uint32_t i = 0; i < nn; i++) {
        const struct veil_engine_node *n = &g->nodes[i];
        for (uint32_t k = 0; k < n->in_count + n->implicit_count; k++) {
            int32_t p = node_dep(g, n, k);
            if (p >= 0) {
                first[p + 1]++;
                edge_count++;
            }
        }
    }
    for (uint32_t i = 0; i < nn; i++) {
        first[i + 1] += first[i];
    }
    edges = malloc((edge_count > 0 ? edge_count : 1) * sizeof(*edges));
    if (edges == NULL) {
        goto out;
    }
    {
        uint32_t *fill = calloc(nn > 0 ? nn : 1, sizeof(*fill));
        if (fill == NULL) {
            goto out;
        }
        for (uint32_t i = 0; i < nn; i++) {
            const struct veil_engine_node *n = &g->nodes[i];
            for (uint32_t k = 0; k < n->in_count + n->implicit_count; k++) {
                int32_t p = node_dep(g, n, k);
                if (p >= 0) {
                    edges[first[p] + fill[p]++] = i;
                    indeg[i]++;
                }
            }
        }
        free(fill);
    }
    for (uint32_t i = 0; i < nn; i++) {
        if (indeg[i] == 0) {
            g->order[tail++] = i;
        }
    }
    while (head < tail) {
        uint32_t p = g->order[head++];
        for (uint32_t e = first[p]; e < first[p + 1]; e++) {
            if (--indeg[edges[e]] == 0) {
                g->order[tail++] = edges[e];
            }
        }
    }
    r = tail == nn ? VEIL_RESULT_OK : veil_result_of(VEIL_ERR_ENGINE_GRAPH);
out:
    free(indeg);
    free(first);
    free(edges);
    return r;
}

static void compute_last_use(struct veil_engine_graph *g)
{
    for (uint32_t pos = 0; pos < g->node_count; pos++) {
        const struct veil_engine_node *n = &g->nodes[g->order[pos]];
        for (uint32_t k = 0; k < n->in_count; k++) {
            if (n->in[k] != VEIL_NO_VALUE) {
                g->values[n->in[k]].last_use = pos;
            }
        }
        for (uint32_t k = 0; k < n->implicit_count; k++) {
            g->values[n->implicit[k]].last_use = pos;
        }
    }
    for (uint32_t k = 0; k < g->output_count; k++) {
        g->values[g->outputs[k]].last_use = VEIL_LAST_NEVER;
    }
    /* A node output nobody reads is freed right after its node. */
    for (uint32_t pos = 0; pos < g->node_count; pos++) {
        const struct veil_engine_node *n = &g->nodes[g->order[pos]];
        for (uint32_t k = 0; k < n->out_count; k++) {
            int32_t v = n->out[k];
            if (v != VEIL_NO_VALUE && g->values[v].last_use == VEIL_LAST_NEVER) {
                bool is_output = false;
                for (uint32_t o = 0; o < g->output_count; o++) {
                    is_output |= g->outputs[o] == (uint32_t)v;
                }
                if (!is_output) {
                    g->values[v].last_use = pos;
                }
            }
        }
    }
}

/* The executor's per-node release lists (graph.h), in the order it used to find them: inputs,
 * then outputs, each value once; and the most inputs or outputs of a node, so a run sizes its
 * argument arrays without a pass over the nodes. */
/* n's fusion record, allocated (zeroed) on first use; NULL when out of memory (then the
 * fusion is not made). */
static struct veil_node_extra *node_extra(struct veil_engine_node *n)
{
    if (n->x == NULL) {
        n->x = calloc(1, sizeof(*n->x));
    }
    return n->x;
}

const struct veil_tensor *veil_graph_fixed(const struct veil_engine_graph *g, uint32_t v)
{
    const struct veil_engine_value *val = &g->values[v];
    return val->kind == VEIL_VALUE_INITIALIZER ? val->init : g->nodes[val->producer].constant;
}

/* Whether the model holds the tensor of value v of g (then it has no frame slot). */
static bool value_fixed(const struct veil_engine_graph *g, int32_t v)
{
    const struct veil_engine_value *val = &g->values[v];
    return (val->kind == VEIL_VALUE_INITIALIZER && val->init != NULL) ||
           (val->kind == VEIL_VALUE_NODE && val->producer >= 0 &&
            g->nodes[val->producer].has_constant && g->nodes[val->producer].constant != NULL);
}

/* Marks v used (a slot to come) when it is a node's output the model does not hold. */
static void slot_use(struct veil_engine_graph *g, int32_t v)
{
    if (v != VEIL_NO_VALUE && g->values[v].kind == VEIL_VALUE_NODE && !value_fixed(g, v)) {
        g->slot[v] = 0;
    }
}

/* g->slot: every value gets a frame slot but those whose tensor the model holds (graph.h) and
 * the nodes' outputs that no node that runs writes or reads: the ones a fusion left between the
 * nodes it folded (a fused Conv's own output, hard-swish's three, ...), which only skipped nodes
 * name. The release lists, built with value indices, then hold slots (those values dropped).
 * Once the whole model is folded (fold_subgraphs folds the branches' nodes on the main graph's
 * constants after the branches were built). */
static VEIL_RESULT build_slots(struct veil_engine_graph *g)
{
    uint32_t at = 0;

    free(g->slot);
    g->slot = malloc(((size_t)g->value_count + 1) * sizeof(*g->slot));
    ENSURE(g->slot != NULL, VEIL_ERR_NOMEM);
    g->slot_count = 0;
    for (uint32_t v = 0; v < g->value_count; v++) {
        bool fixed = value_fixed(g, (int32_t)v);
        g->slot[v] = fixed || g->values[v].kind == VEIL_VALUE_NODE ? VEIL_NO_SLOT : 0;
    }
    for (uint32_t i = 0; i < g->node_count; i++) {
        const struct veil_engine_node *n = &g->nodes[i];
        if (n->skip || n->has_constant) {
            continue; /* never runs: neither writes nor reads */
        }
        for (uint32_t k = 0; k < n->in_count; k++) {
            slot_use(g, n->in[k]);
        }
        for (uint32_t k = 0; k < n->out_count; k++) {
            slot_use(g, n->out[k]);
        }
        for (uint32_t k = 0; k < n->implicit_count; k++) {
            slot_use(g, (int32_t)n->implicit[k]);
        }
    }
    for (uint32_t o = 0; o < g->output_count; o++) {
        slot_use(g, (int32_t)g->outputs[o]); /* the caller's (an error when never written) */
    }
    for (uint32_t i = 0; i < g->input_count; i++) {
        g->slot[g->inputs[i]] = 0; /* an initializer that is also an input: the caller's value */
    }
    for (uint32_t v = 0; v < g->value_count; v++) {
        if (g->slot[v] != VEIL_NO_SLOT) {
            g->slot[v] = g->slot_count++;
        }
    }
    for (uint32_t pos = 0, begin = 0; g->release_at != NULL && pos < g->node_count; pos++) {
        uint32_t end = g->release_at[pos + 1];
        for (uint32_t i = begin; i < end; i++) {
            if (g->slot[g->release[i]] != VEIL_NO_SLOT) {
                g->release[at++] = g->slot[g->release[i]];
            }
        }
        g->release_at[pos + 1] = at;
        begin = end;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT build_release(struct veil_engine_graph *g)
{
    size_t total = 0;
    uint32_t at = 0;

    g->io_max = 3;
    for (uint32_t i = 0; i < g->node_count; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        n->writes_all = n->op != NULL && veil_op_writes_all(n->op);
        g->io_max = n->in_count > g->io_max ? n->in_count : g->io_max;
        g->io_max = n->out_count > g->io_max ? n->out_count : g->io_max;
        total += (size_t)n->in_count + n->out_count;
    }
    g->release_at = calloc((size_t)g->node_count + 1, sizeof(*g->release_at));
    g->release = calloc(total > 0 ? total : 1, sizeof(*g->release));
    ENSURE(g->release_at != NULL && g->release != NULL, VEIL_ERR_NOMEM);
    for (uint32_t pos = 0; pos < g->node_count; pos++) {
        const struct veil_engine_node *n = &g->nodes[g->order[pos]];
        uint32_t first = at;
        g->release_at[pos] = at;
        for (uint32_t k = 0; k < n->in_count + n->out_count; k++) {
            int32_t v = k < n->in_count ? n->in[k] : n->out[k - n->in_count];
            bool seen = false;
            if (v == VEIL_NO_VALUE || g->values[v].kind != VEIL_VALUE_NODE ||
                g->values[v].last_use != pos) {
                continue;
            }
            for (uint32_t q = first; q < at; q++) {
                seen |= g->release[q] == (uint32_t)v;
            }
            if (!seen) {
                g->release[at++] = (uint32_t)v; /* a value until settle() makes it a slot */
            }
        }
    }
    g->release_at[g->node_count] = at;
    return VEIL_RESULT_OK;
}

/* Constant nodes with a tensor value hand it out as a constant instead of running. */
static void decode_constants(struct veil_engine_graph *g)
{
    for (uint32_t i = 0; i < g->node_count; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        struct veil_attr *at = n->attr_count == 1 ? &n->attrs[0] : NULL;
        if (n->constant != NULL && n->attr_count == 0) {
            n->has_constant = true; /* constant_value_only: the node holds it already */
            continue;
        }
        if (n->op == NULL || strcmp(n->op->name, "Constant") != 0 || n->out_count != 1 ||
            n->in_count != 0 || at == NULL || at->name == NULL || strcmp(at->name, "value") != 0 ||
            veil_attr_tensor(at) == NULL) {
            continue;
        }
        /* decoded while building the node (link_node); the attribute keeps owning it */
        n->constant = veil_attr_tensor(at);
        n->constant_of_attr = true;
        n->has_constant = true;
    }
}

/* The value of an initializer or of a decoded Constant node, else NULL. */
static const struct veil_tensor *const_tensor(const struct veil_engine_graph *g, int32_t v)
{
    const struct veil_engine_value *val;
    if (v == VEIL_NO_VALUE) {
        return NULL;
    }
    val = &g->values[v];
    if (val->kind == VEIL_VALUE_INITIALIZER) {
        /* no data: folded results were written over it (fold_into_dead_weights) */
        return val->init->data != NULL ? val->init : NULL;
    }
    if (val->kind == VEIL_VALUE_NODE && val->producer >= 0 &&
        g->nodes[val->producer].has_constant && !g->nodes[val->producer].skip) {
        return g->nodes[val->producer].constant;
    }
    if (val->kind == VEIL_VALUE_OUTER && g->parent != NULL) {
        /* the enclosing graph is still being built: its initializers are there already, its
         * Constant nodes not decoded yet (then no constant: nothing is folded) */
        return const_tensor(g->parent, (int32_t)val->outer);
    }
    return NULL;
}

/* Data movement on constants (PyTorch exports rearrange LSTM weights with Slice, Concat and
 * Unsqueeze at every run: 1.5 MB of copies per Silero VAD inference) is done once here, in
 * topological order so chains fold, and the node then hands out views like a Constant. Only
 * these operators, only when every input is constant, each result at most 16 MiB and all of
 * them at most 64 MiB per graph (a chain of Concats must not blow up at load); a node whose
 * shape() or run() refuses its inputs stays as it is and reports the error at run time. */
#define FOLD_TENSOR_MAX     ((size_t)16 << 20)
#define VEIL_OP_FOLD_IN_MAX 64
#define FOLD_TOTAL_MAX      ((size_t)64 << 20)

/* A folded result whose readers are all folded too (they hand out their own results and never
 * read their inputs at run time) is not needed after loading: Silero's Slice -> Concat chains
 * kept every step (6 MB for 2 MB of weights). It is wiped and freed, and its node skipped. */
static void drop_folded_inputs(struct veil_engine_graph *g)
{
    bool *needed = calloc((size_t)g->value_count + 1, sizeof(*needed));
    if (needed == NULL) {
        return; /* keeping them is correct too */
    }
    for (uint32_t i = 0; i < g->node_count; i++) {
        const struct veil_engine_node *n = &g->nodes[i];
        if (n->has_constant) {
            continue;
        }
        for (uint32_t k = 0; k < n->in_count; k++) {
            if (n->in[k] != VEIL_NO_VALUE) {
                needed[n->in[k]] = true;
            }
        }
        for (uint32_t k = 0; k < n->implicit_count; k++) {
            needed[n->implicit[k]] = true; /* read by a subgraph */
        }
    }
    for (uint32_t o = 0; o < g->output_count; o++) {
        needed[g->outputs[o]] = true;
    }
    for (uint32_t i = 0; i < g->node_count; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        if (!n->has_constant || n->op == NULL || strcmp(n->op->name, "Constant") == 0 ||
            n->out_count != 1 || n->out[0] == VEIL_NO_VALUE || needed[n->out[0]] ||
            n->constant->borrowed) {
            continue;
        }
        OPENSSL_cleanse(n->constant->data, n->constant->size);
        veil_tensor_free(n->constant); /* its record stays in the store, empty */
        n->has_constant = false;
        n->skip = true;
    }
    free(needed);
}

struct dead_weight {
    struct veil_tensor *t;
    size_t size;
    struct veil_engine_node *node; /* a Constant node's, else NULL */
    struct veil_tensor *same;      /* a folded result with the same bytes, kept instead */
};

struct dead_weights {
    struct dead_weight *dead; /* weights nothing reads at run time */
    size_t nd;
    struct dead_weight *res; /* folded results that runs read */
    size_t nr;
    bool failed;
};

static int by_dead_size(const void *a, const void *b)
{
    const struct dead_weight *x = a;
    const struct dead_weight *y = b;
    return (x->size > y->size) - (x->size < y->size);
}

/* Folded results by size, type, shape and bytes (equal ones next to each other). */
static int by_result(const void *a, const void *b)
{
    const struct veil_tensor *x = ((const struct dead_weight *)a)->t;
    const struct veil_tensor *y = ((const struct dead_weight *)b)->t;
    if (x->size != y->size) {
        return (x->size > y->size) - (x->size < y->size);
    }
    if (x->dtype != y->dtype || x->rank != y->rank) {
        return x->dtype != y->dtype ? (x->dtype > y->dtype) - (x->dtype < y->dtype)
                                    : (x->rank > y->rank) - (x->rank < y->rank);
    }
    int c = memcmp(x->dims, y->dims, x->rank * sizeof(x->dims[0]));
    return c != 0 ? c : memcmp(x->data, y->data, x->size);
}

/* The first unused region at or after k (next[] skips used ones, paths halved). */
static size_t dead_next(size_t *next, size_t k)
{
    while (next[k] != k) {
        next[k] = next[next[k]];
        k = next[k];
    }
    return k;
}

/* Alignment a region must have to take any folded result (the largest element: complex128). */
#define REUSE_ALIGN 16

static void dead_add(struct dead_weights *dw, struct dead_weight **list, size_t *n,
                     struct veil_tensor *t, struct veil_engine_node *node)
{
    struct dead_weight *grown = realloc(*list, (*n + 1) * sizeof(**list));
    if (grown == NULL) {
        dw->failed = true;
        return;
    }
    *list = grown;
    grown[*n].t = t;
    grown[*n].size = t->size;
    grown[*n].node = node;
    grown[*n].same = NULL;
    (*n)++;
}

/* What g reads at run time (needed, per value of g): the inputs of the nodes that run (not
 * folded, not skipped), the outer values that its subgraphs need, its outputs; then its dead
 * weights and its folded results into dw. Subgraphs first, at most VEIL_ENGINE_DEPTH_MAX deep
 * as built. */
static void dead_weights_of(struct veil_engine_graph *g, bool *needed, struct dead_weights *dw,
                            uint32_t depth)
{
    for (uint32_t i = 0; i < g->node_count && !dw->failed; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        if (n->has_constant || n->skip) {
            continue; /* never runs: reads nothing at run time */
        }
        for (uint32_t k = 0; k < n->in_count; k++) {
            if (n->in[k] != VEIL_NO_VALUE) {
                needed[n->in[k]] = true;
            }
        }
        for (size_t a = 0; a < n->attr_count; a++) {
            struct veil_engine_graph *sub = veil_attr_subgraph(&n->attrs[a]);
            bool *sub_needed;
            if (sub == NULL) {
                continue;
            }
            sub_needed = depth < VEIL_ENGINE_DEPTH_MAX
                             ? calloc((size_t)sub->value_count + 1, sizeof(*sub_needed))
                             : NULL;
            if (sub_needed == NULL) {
                dw->failed = true;
                return;
            }
            dead_weights_of(sub, sub_needed, dw, depth + 1);
            for (uint32_t v = 0; v < sub->value_count; v++) {
                if (sub_needed[v] && sub->values[v].kind == VEIL_VALUE_OUTER) {
                    needed[sub->values[v].outer] = true;
                }
            }
            free(sub_needed);
        }
    }
    for (uint32_t o = 0; o < g->output_count; o++) {
        needed[g->outputs[o]] = true;
    }
    for (uint32_t v = 0; v < g->value_count && !dw->failed; v++) {
        struct veil_tensor *t = g->values[v].init; /* NULL unless an initializer */
        if (g->values[v].kind == VEIL_VALUE_INITIALIZER && !needed[v] && t->borrowed &&
            t->data != NULL && t->size > 0 && ((uintptr_t)t->data % REUSE_ALIGN) == 0) {
            dead_add(dw, &dw->dead, &dw->nd, t, NULL);
        }
    }
    for (uint32_t i = 0; i < g->node_count && !dw->failed; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        struct veil_tensor *t = n->constant; /* NULL unless has_constant */
        if (!n->has_constant || n->skip || n->op == NULL || t->size == 0 || t->data == NULL) {
            continue;
        }
        if (strcmp(n->op->name, "Constant") == 0) {
            if (n->out_count == 1 && n->out[0] != VEIL_NO_VALUE && !needed[n->out[0]] &&
                t->borrowed && ((uintptr_t)t->data % REUSE_ALIGN) == 0) {
                dead_add(dw, &dw->dead, &dw->nd, t, n);
            }
        } else if (!t->borrowed && t->dtype != VEIL_DT_STRING) {
            dead_add(dw, &dw->res, &dw->nr, t, n);
        }
    }
}

/* Moves folded result c into the smallest unused region of dw->dead (sorted by size) that
 * holds it, if any. */
static void into_dead(struct dead_weights *dw, size_t *next, struct veil_tensor *c)
{
    size_t lo = 0;
    size_t hi = dw->nd;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dw->dead[mid].size < c->size) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    size_t k = dead_next(next, lo);
    if (k == dw->nd) {
        return;
    }
    next[k] = k + 1;
    memcpy(dw->dead[k].t->data, c->data, c->size);
    OPENSSL_cleanse(c->data, c->size);
    free(c->data);
    c->data = dw->dead[k].t->data;
    c->borrowed = true;
    dw->dead[k].t->data = NULL; /* its bytes are c's now */
    if (dw->dead[k].node != NULL) {
        dw->dead[k].node->skip = true;
    }
}

/* A folded result that runs read (PyTorch's LSTM weights, their gates reordered by Slice and
 * Concat) is a copy beside the weights it came from, which nothing reads any more once every
 * reader is folded: it is written over them instead, when they are borrowed from the model's
 * (writable) buffer and big enough, and the copy freed (Silero VAD: 2.1 MB; its weights are the
 * main graph's, the readers in the If branches). Such a weight (an initializer, or a Constant
 * node's value, whose node is then skipped) keeps its shape but no data: no reader remains (the
 * nodes of any graph that read it were folded or fused away) and const_tensor no longer offers
 * it. Equal folded results are kept once, the others viewing it. Once, when the whole model
 * is built and folded. */
static void fold_into_dead_weights(struct veil_engine_graph *main)
{
    struct dead_weights dw = {0};
    bool *needed = calloc((size_t)main->value_count + 1, sizeof(*needed));

    if (needed == NULL) {
        return; /* keeping the copies is correct too */
    }
    dead_weights_of(main, needed, &dw, 0);
    free(needed);
    size_t *next = dw.failed ? NULL : calloc(dw.nd + 1, sizeof(*next));
    if (next != NULL && dw.nr > 0) {
        /* equal results (one weight reordered alike for two LSTMs): the later ones view the
         * first, which is all that is matched to a region */
        qsort(dw.res, dw.nr, sizeof(*dw.res), by_result);
        for (size_t i = 1; i < dw.nr; i++) {
            struct dead_weight *first = &dw.res[i - 1];
            while (first->same != NULL && first > dw.res) {
                first--;
            }
            if (by_result(first, &dw.res[i]) == 0) {
                dw.res[i].same = first->t;
            }
        }
        if (dw.nd > 0) {
            qsort(dw.dead, dw.nd, sizeof(*dw.dead), by_dead_size);
        }
        for (size_t k = 0; k <= dw.nd; k++) {
            next[k] = k;
        }
        /* largest first, each into the smallest unused region that holds it */
        for (size_t i = dw.nr; i-- > 0;) {
            if (dw.res[i].same == NULL) {
                into_dead(&dw, next, dw.res[i].t);
            }
        }
        for (size_t i = 0; i < dw.nr; i++) {
            struct veil_tensor *c = dw.res[i].t;
            if (dw.res[i].same != NULL) {
                OPENSSL_cleanse(c->data, c->size);
                free(c->data);
                c->data = dw.res[i].same->data;
                c->borrowed = true;
            }
        }
    }
    free(next);
    free(dw.dead);
    free(dw.res);
}

static void fold_constants(struct veil_engine_graph *g)
{
    static const char *const foldable[] = {"Slice",   "Concat",  "Unsqueeze", "Squeeze",
                                           "Reshape", "Flatten", "Transpose"};
    size_t total = 0;
    for (uint32_t pos = 0; pos < g->node_count; pos++) {
        struct veil_engine_node *n = &g->nodes[g->order[pos]];
        const struct veil_tensor *in[VEIL_OP_FOLD_IN_MAX];
        struct veil_tensor res = {0};
        struct veil_tensor *outp = &res;
        struct veil_op_ctx c = {0};
        bool ok = n->op != NULL && !n->has_constant && !n->skip && n->out_count == 1 &&
                  n->out[0] != VEIL_NO_VALUE && n->in_count <= VEIL_OP_FOLD_IN_MAX &&
                  n->implicit_count == 0;
        bool listed = false;
        for (size_t f = 0; ok && f < sizeof(foldable) / sizeof(foldable[0]); f++) {
            listed |= strcmp(n->op->name, foldable[f]) == 0;
        }
        ok = ok && listed;
        for (size_t a = 0; ok && a < n->attr_count; a++) {
            ok = veil_attr_subgraph(&n->attrs[a]) == NULL;
        }
        for (uint32_t k = 0; ok && k < n->in_count; k++) {
            in[k] = n->in[k] == VEIL_NO_VALUE ? NULL : const_tensor(g, n->in[k]);
            ok = n->in[k] == VEIL_NO_VALUE || in[k] != NULL;
        }
        if (!ok) {
            continue;
        }
        c.node = n;
        c.frame = NULL; /* no threads, default limits */
        c.opset = g->model->opset;
        c.in_count = n->in_count;
        c.in = in;
        c.out_count = 1;
        c.out = &outp;
        if (!veil_ok(n->op->shape(&c)) || res.size > FOLD_TENSOR_MAX ||
            res.size > FOLD_TOTAL_MAX - total || !veil_ok(veil_tensor_alloc(&res))) {
            veil_tensor_free(&res);
            continue;
        }
        if (!veil_ok(n->op->run(&c))) {
            OPENSSL_cleanse(res.data, res.size);
            veil_tensor_free(&res);
            continue;
        }
        n->constant = veil_store_alloc(&g->model->store, sizeof(*n->constant));
        if (n->constant == NULL) {
            OPENSSL_cleanse(res.data, res.size);
            veil_tensor_free(&res);
            continue;
        }
        total += res.size;
        *n->constant = res;
        n->has_constant = true;
    }
    drop_folded_inputs(g);
}

/* Subgraphs are built before their parent decodes its Constant nodes, so their constant inputs
 * from outside are only known once the whole model is built: fold again, top down. */
static void fold_subgraphs(struct veil_engine_graph *g, uint32_t depth)
{
    for (uint32_t i = 0; i < g->node_count && depth < VEIL_ENGINE_DEPTH_MAX; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        for (size_t a = 0; a < n->attr_count; a++) {
            struct veil_engine_graph *sub = veil_attr_subgraph(&n->attrs[a]);
            if (sub != NULL) {
                fold_constants(sub);
                fold_subgraphs(sub, depth + 1);
            }
        }
    }
}

/* Who reads each value, counted once before the fusion passes (O(nodes + inputs); a hostile
 * graph must not make loading quadratic). Reads by nodes a pass skips stay counted, which can
 * only block a later fusion, never allow a wrong one. */
struct fuse_index {
    uint32_t *nread; /* readers per value: node inputs and subgraph reads */
    int32_t *reader; /* a node that reads it: the only one when nread is 1 */
    bool *out;       /* graph outputs */
};

static void fuse_index_free(struct fuse_index *ix)
{
    free(ix->nread);
    free(ix->reader);
    free(ix->out);
}

static bool fuse_index_build(const struct veil_engine_graph *g, struct fuse_index *ix)
{
    size_t n = g->value_count + 1;
    ix->nread = calloc(n, sizeof(*ix->nread));
    ix->reader = calloc(n, sizeof(*ix->reader));
    ix->out = calloc(n, sizeof(*ix->out));
    if (ix->nread == NULL || ix->reader == NULL || ix->out == NULL) {
        fuse_index_free(ix);
        return false;
    }
    for (uint32_t i = 0; i < g->node_count; i++) {
        const struct veil_engine_node *nd = &g->nodes[i];
        for (uint32_t k = 0; k < nd->in_count; k++) {
            if (nd->in[k] != VEIL_NO_VALUE) {
                ix->nread[nd->in[k]]++;
                ix->reader[nd->in[k]] = (int32_t)i;
            }
        }
        for (uint32_t k = 0; k < nd->implicit_count; k++) {
            ix->nread[nd->implicit[k]]++;
            ix->reader[nd->implicit[k]] = (int32_t)i;
        }
    }
    for (uint32_t o = 0; o < g->output_count; o++) {
        ix->out[g->outputs[o]] = true;
    }
    return true;
}

/* The only node reading v, v not a graph output, else NULL. */
static struct veil_engine_node *sole_reader(struct veil_engine_graph *g,
                                            const struct fuse_index *ix, int32_t v)
{
    if (v == VEIL_NO_VALUE || ix->nread[v] != 1 || ix->out[v]) {
        return NULL;
    }
    return &g->nodes[ix->reader[v]];
}

/* The node that reads v, when it is the only reader, v is not a graph output, and the node is
 * a Mul or Add of v and a float initializer holding one value per channel (or one value) of a
 * rank-r output with m channels; *other gets that initializer. */
static struct veil_engine_node *affine_reader(struct veil_engine_graph *g,
                                              const struct fuse_index *ix, int32_t v, uint32_t r,
                                              int64_t m, const char *op,
                                              const struct veil_tensor **other)
{
    struct veil_engine_node *hit = sole_reader(g, ix, v);
    const struct veil_tensor *t;
    if (hit == NULL || hit->skip || hit->op == NULL || strcmp(hit->op->name, op) != 0 ||
        hit->in_count != 2 || hit->out_count != 1 || hit->in[0] == hit->in[1] ||
        hit->out[0] == VEIL_NO_VALUE) {
        return NULL;
    }
    t = const_tensor(g, hit->in[0] == v ? hit->in[1] : hit->in[0]);
    if (t == NULL) {
        return NULL;
    }
    if (t->dtype != VEIL_DT_FLOAT || t->rank > r || (t->count != (size_t)m && t->count != 1) ||
        (t->count != 1 && t->rank + 1 < r)) {
        return NULL;
    }
    for (uint32_t d = 0; d < t->rank; d++) {
        uint32_t axis = d + (r - t->rank);
        int64_t want = t->count == 1 ? 1 : (axis == 1 ? m : 1);
        if (t->dims[d] != want) {
            return NULL;
        }
    }
    *other = t;
    return hit;
}

/* The BatchNormalization (inference form: one output, constant float parameters of m values,
 * no attribute but epsilon and momentum) that is the only reader of v, with its per-channel
 * factor and offset in mul/add (y = x * mul + add, as bn_run computes it), else NULL. */
static struct veil_engine_node *bn_reader(struct veil_engine_graph *g, const struct fuse_index *ix,
                                          int32_t v, int64_t m, double *mul, double *add)
{
    struct veil_engine_node *bn = sole_reader(g, ix, v);
    const struct veil_tensor *p[4];
    double eps = 1e-5;
    if (bn == NULL || bn->skip || bn->op == NULL ||
        strcmp(bn->op->name, "BatchNormalization") != 0 || bn->in_count != 5 ||
        bn->out_count != 1 || bn->out[0] == VEIL_NO_VALUE || bn->in[0] != v) {
        return NULL;
    }
    for (size_t a = 0; a < bn->attr_count; a++) {
        const struct veil_attr *at = &bn->attrs[a];
        struct veil_attr_fields f;
        veil_attr_fields(at, &f);
        if (at->name != NULL && strcmp(at->name, "epsilon") == 0 && f.has_f) {
            eps = f.f;
        } else if (at->name == NULL || strcmp(at->name, "momentum") != 0) {
            return NULL;
        }
    }
    for (int k = 0; k < 4; k++) {
        p[k] = const_tensor(g, bn->in[k + 1]);
        if (p[k] == NULL || p[k]->dtype != VEIL_DT_FLOAT || p[k]->count != (size_t)m) {
            return NULL;
        }
    }
    for (int64_t c = 0; c < m; c++) {
        double scale = ((const float *)p[0]->data)[c];
        double bias = ((const float *)p[1]->data)[c];
        double mean = ((const float *)p[2]->data)[c];
        double var = ((const float *)p[3]->data)[c];
        mul[c] = scale / sqrt(var + (double)(float)eps);
        add[c] = bias - mean * mul[c];
    }
    return bn;
}

/* Conv -> BatchNormalization -> Mul(per-channel scale) -> Add(per-channel shift), any non-empty
 * run of them in this order: the scales and shifts go into a copy of the Conv's weights and bias
 * (the way inference runtimes fold batch-norm-like layers), the Conv writes the last node's
 * output and the folded nodes are skipped. Needs constant float weights (and bias) and outputs
 * nobody else reads. A model this does not apply to runs unchanged. */
/* The weights (input 1) of Conv n when n is their only reader and they are an initializer or a
 * Constant node's value of g (owned, or borrowed from the model's writable buffer; not a view
 * made by folding), else NULL: these may be rewritten in place. */
static const struct veil_tensor *own_weights(struct veil_engine_graph *g,
                                             const struct fuse_index *ix,
                                             const struct veil_engine_node *n)
{
    const struct veil_engine_value *val;
    if (sole_reader(g, ix, n->in[1]) != n) {
        return NULL;
    }
    val = &g->values[n->in[1]];
    if (val->kind == VEIL_VALUE_INITIALIZER) {
        return val->init;
    }
    if (val->kind == VEIL_VALUE_NODE && val->producer >= 0 &&
        g->nodes[val->producer].has_constant && g->nodes[val->producer].op != NULL &&
        strcmp(g->nodes[val->producer].op->name, "Constant") == 0) {
        return g->nodes[val->producer].constant;
    }
    return NULL;
}

static void fuse_conv_affine(struct veil_engine_graph *g, const struct fuse_index *ix)
{
    for (uint32_t i = 0; i < g->node_count; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        const struct veil_tensor *w;
        const struct veil_tensor *b = NULL;
        const struct veil_tensor *scale = NULL;
        const struct veil_tensor *shift = NULL;
        struct veil_engine_node *bn;
        struct veil_engine_node *mul;
        struct veil_engine_node *add;
        double *fs;
        double *ft;
        int32_t out;
        int64_t m;
        size_t per;
        if (n->op == NULL || strcmp(n->op->name, "Conv") != 0 || n->out_count != 1 ||
            n->in_count < 2 || n->in_count > 3 || n->out[0] == VEIL_NO_VALUE || n->skip ||
            (w = const_tensor(g, n->in[1])) == NULL) {
            continue;
        }
        if (w->dtype != VEIL_DT_FLOAT || w->rank < 3 || w->dims[0] <= 0) {
            continue;
        }
        m = w->dims[0];
        if (n->in_count == 3 && n->in[2] != VEIL_NO_VALUE) {
            b = const_tensor(g, n->in[2]);
            if (b == NULL || b->dtype != VEIL_DT_FLOAT || b->count != (size_t)m) {
                continue;
            }
        }
        fs = calloc((size_t)m, sizeof(*fs));
        ft = calloc((size_t)m, sizeof(*ft));
        if (fs == NULL || ft == NULL) {
            free(fs);
            free(ft);
            return;
        }
        for (int64_t c = 0; c < m; c++) {
            fs[c] = 1.0;
        }
        out = n->out[0];
        bn = bn_reader(g, ix, out, m, fs, ft);
        if (bn != NULL) {
            out = bn->out[0];
        }
        mul = affine_reader(g, ix, out, w->rank, m, "Mul", &scale);
        if (mul != NULL) {
            out = mul->out[0];
        }
        add = affine_reader(g, ix, out, w->rank, m, "Add", &shift);
        if (add != NULL) {
            out = add->out[0];
        }
        /* the folded weights and bias: one side record, only for the Convs that fuse */
        struct veil_tensor *fz = bn == NULL && mul == NULL && add == NULL
                                     ? NULL
                                     : veil_store_alloc(&g->model->store, 2 * sizeof(*fz));
        if (fz != NULL) {
            fz[0] = *w;
            fz[0].data = NULL;
            fz[0].borrowed = false;
            if (own_weights(g, ix, n) == w) {
                /* nothing else reads the weights: fold into them, no copy (a view of their
                 * owner) */
                fz[0].data = (void *)(uintptr_t)w->data;
                fz[0].borrowed = true;
            }
        }
        if (fz == NULL || node_extra(n) == NULL ||
            (!fz[0].borrowed && !veil_ok(veil_tensor_alloc(&fz[0]))) ||
            !veil_ok(veil_tensor_shape(&fz[1], VEIL_DT_FLOAT, 1, &m)) ||
            !veil_ok(veil_tensor_alloc(&fz[1]))) {
            if (fz != NULL) {
                veil_tensor_free(&fz[0]);
                veil_tensor_free(&fz[1]);
            }
            free(fs);
            free(ft);
            continue;
        }
        n->x->fused_w = &fz[0];
        n->x->fused_b = &fz[1];
        per = w->count / (size_t)m;
        for (size_t co = 0; co < (size_t)m; co++) {
            double s = fs[co];
            double t = ft[co];
            if (scale != NULL) {
                double sc = ((const float *)scale->data)[scale->count == 1 ? 0 : co];
                s *= sc;
                t *= sc;
            }
            if (shift != NULL) {
                t += ((const float *)shift->data)[shift->count == 1 ? 0 : co];
            }
            for (size_t k = 0; k < per; k++) {
                ((float *)n->x->fused_w->data)[co * per + k] =
                    (float)(((const float *)w->data)[co * per + k] * s);
            }
            ((float *)n->x->fused_b->data)[co] =
                (float)((b == NULL ? 0.0 : ((const float *)b->data)[co]) * s + t);
        }
        free(fs);
        free(ft);
        n->fused = true;
        if (bn != NULL) {
            bn->skip = true;
        }
        if (mul != NULL) {
            mul->skip = true;
        }
        if (add != NULL) {
            add->skip = true;
        }
        n->out[0] = out;
        g->values[out].producer = (int32_t)i;
    }
}

/* A float scalar constant (initializer or Constant node). */
static bool const_scalar(const struct veil_engine_graph *g, int32_t v, float *out)
{
    const struct veil_tensor *t = const_tensor(g, v);
    if (t == NULL || t->dtype != VEIL_DT_FLOAT || t->count != 1) {
        return false;
    }
    *out = ((const float *)t->data)[0];
    return true;
}

/* The only reader of v when it is a node of type op that is not skipped, else NULL. */
static struct veil_engine_node *only_reader(struct veil_engine_graph *g,
                                            const struct fuse_index *ix, int32_t v, const char *op)
{
    struct veil_engine_node *nd = sole_reader(g, ix, v);
    if (nd == NULL || nd->op == NULL || nd->skip || nd->out_count != 1 ||
        nd->out[0] == VEIL_NO_VALUE || strcmp(nd->op->name, op) != 0) {
        return NULL;
    }
    return nd;
}

/* Conv -> LeakyRelu -> optionally Max(., float scalar constant), each the only reader of the
 * one before: the activation runs in the Conv's kernel parts (op_conv.c conv_act), which write
 * the last node's output; the others skip. Float semantics as the unfused kernels compute them. */
static void fuse_conv_act(struct veil_engine_graph *g, const struct fuse_index *ix)
{
    for (uint32_t i = 0; i < g->node_count; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        struct veil_engine_node *lr;
        struct veil_engine_node *mx;
        float alpha = 0.01f;
        float k = 0.0f;
        bool attrs_ok = true;
        if (n->op == NULL || n->skip || strcmp(n->op->name, "Conv") != 0 || n->out_count != 1 ||
            n->out[0] == VEIL_NO_VALUE) {
            continue;
        }
        lr = only_reader(g, ix, n->out[0], "LeakyRelu");
        if (lr == NULL || lr->in_count != 1 || lr->in[0] != n->out[0]) {
            continue;
        }
        for (size_t a = 0; a < lr->attr_count; a++) {
            const struct veil_attr *at = &lr->attrs[a];
            struct veil_attr_fields f;
            veil_attr_fields(at, &f);
            if (at->name != NULL && strcmp(at->name, "alpha") == 0 && f.has_f &&
                (!f.has_type || f.type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)) {
                alpha = f.f;
            } else {
                attrs_ok = false;
            }
        }
        if (!attrs_ok || node_extra(n) == NULL) {
            continue;
        }
        n->act = true;
        n->x->act_alpha = alpha;
        lr->skip = true;
        n->out[0] = lr->out[0];
        g->values[lr->out[0]].producer = (int32_t)i;
        mx = only_reader(g, ix, lr->out[0], "Max");
        if (mx != NULL && mx->in_count == 2 && mx->in[0] != mx->in[1] &&
            (mx->in[0] == lr->out[0] || mx->in[1] == lr->out[0]) &&
            const_scalar(g, mx->in[0] == lr->out[0] ? mx->in[1] : mx->in[0], &k)) {
            const struct veil_tensor *kt =
                const_tensor(g, mx->in[0] == lr->out[0] ? mx->in[1] : mx->in[0]);
            const struct veil_tensor *w = n->fused ? n->x->fused_w : const_tensor(g, n->in[1]);
            if (w != NULL && kt->rank <= w->rank) {
                /* one value, of rank at most the Conv output's (the weights'): the output
                 * keeps the Conv's shape */
                n->act_max = true;
                n->x->act_k = k;
                n->act_k_first = mx->in[0] != lr->out[0];
                mx->skip = true;
                n->out[0] = mx->out[0];
                g->values[mx->out[0]].producer = (int32_t)i;
            }
        }
    }
}

static void fuse_hard_swish(struct veil_engine_graph *g, const struct fuse_index *ix)
{
    for (uint32_t i = 0; i < g->node_count; i++) {
        struct veil_engine_node *add = &g->nodes[i];
        struct veil_engine_node *clip;
        struct veil_engine_node *mul;
        struct veil_engine_node *div;
        float hs[4] = {0, -INFINITY, INFINITY, 1};
        uint32_t xi;
        int32_t x;
        if (add->op == NULL || add->skip || add->fused || strcmp(add->op->name, "Add") != 0 ||
            add->in_count != 2 || add->out_count != 1) {
            continue;
        }
        if (const_scalar(g, add->in[1], &hs[0])) {
            xi = 0;
        } else if (const_scalar(g, add->in[0], &hs[0])) {
            xi = 1;
        } else {
            continue;
        }
        x = add->in[xi];
        clip = only_reader(g, ix, add->out[0], "Clip");
        if (x == VEIL_NO_VALUE || clip == NULL || clip->in[0] != add->out[0]) {
            continue;
        }
        bool attrs_ok = true;
        for (size_t a = 0; a < clip->attr_count; a++) {
            const struct veil_attr *at = &clip->attrs[a];
            struct veil_attr_fields f;
            veil_attr_fields(at, &f);
            if (at->name != NULL && strcmp(at->name, "min") == 0 && f.has_f) {
                hs[1] = f.f;
            } else if (at->name != NULL && strcmp(at->name, "max") == 0 && f.has_f) {
                hs[2] = f.f;
            } else {
                attrs_ok = false;
            }
        }
        if ((clip->in_count > 1 && clip->in[1] != VEIL_NO_VALUE &&
             !const_scalar(g, clip->in[1], &hs[1])) ||
            (clip->in_count > 2 && clip->in[2] != VEIL_NO_VALUE &&
             !const_scalar(g, clip->in[2], &hs[2]))) {
            continue;
        }
        mul = only_reader(g, ix, clip->out[0], "Mul");
        if (!attrs_ok || mul == NULL || mul->in_count != 2 ||
            !((mul->in[0] == x && mul->in[1] == clip->out[0]) ||
              (mul->in[1] == x && mul->in[0] == clip->out[0]))) {
            continue;
        }
        div = only_reader(g, ix, mul->out[0], "Div");
        if (div == NULL || div->in_count != 2 || div->in[0] != mul->out[0] ||
            !const_scalar(g, div->in[1], &hs[3]) || node_extra(add) == NULL) {
            continue;
        }
        add->hswish = true;
        add->x->hs_x = xi;
        memcpy(add->x->hs, hs, sizeof(hs));
        clip->skip = true;
        mul->skip = true;
        div->skip = true;
        add->out[0] = div->out[0];
        g->values[div->out[0]].producer = (int32_t)i;
    }
}

/* Conv weights packed once for the packed-GEMM kernel (ops.h veil_gemm_pack): constant float
 * weights (the folded copy of a fused Conv), group 1. Only where that kernel is the fast one;
 * a pack that cannot be made (memory) leaves the Conv on veil_sgemm.
 *
 * The weights are not kept twice: when the Conv is their only reader (the rule of in-place
 * folding, own_weights: an initializer or Constant value, owned or borrowed from the model's
 * writable buffer; or a fused Conv's folded weights, which are its own) the panels are written
 * over them (veil_gemm_pack_in_place) and the Conv then always runs from the panels
 * (wpack_only). Weights something else reads too are packed into a copy, and the Conv keeps
 * the choice at run time (OpenBLAS on the original below 48 output columns). */
static void pack_conv_weights(struct veil_engine_graph *g, const struct fuse_index *ix)
{
    if (!veil_gemm_pack_fast()) {
        return;
    }
    for (uint32_t i = 0; i < g->node_count; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        const struct veil_tensor *w;
        bool group1 = true;
        if (n->op == NULL || n->skip || strcmp(n->op->name, "Conv") != 0 || n->in_count < 2 ||
            n->in[1] == VEIL_NO_VALUE) {
            continue;
        }
        for (size_t a = 0; a < n->attr_count; a++) {
            const struct veil_attr *at = &n->attrs[a];
            struct veil_attr_fields f;
            veil_attr_fields(at, &f);
            if (at->name != NULL && strcmp(at->name, "group") == 0 && f.i != 1) {
                group1 = false;
            }
        }
        w = n->fused ? n->x->fused_w : const_tensor(g, n->in[1]);
        if (!group1 || w == NULL || w->dtype != VEIL_DT_FLOAT || w->rank < 3 || w->dims[0] <= 0 ||
            w->count == 0) {
            continue;
        }
        size_t m = (size_t)w->dims[0];
        if (n->fused || (ix != NULL && own_weights(g, ix, n) == w)) {
            n->wpack_only = veil_ok(
                veil_gemm_pack_in_place((float *)(uintptr_t)w->data, m, w->count / m, &n->wpack));
            if (n->wpack_only) {
                continue;
            }
        }
        if (!veil_ok(veil_gemm_pack_new(w->data, m, w->count / m, w->count / m, &n->wpack))) {
            n->wpack = NULL;
        }
    }
}

static VEIL_RESULT build_body(struct veil_engine_model *m, struct veil_engine_graph *g,
                              const Onnx__GraphProto *gp, uint32_t depth,
                              struct veil_engine_diag *diag)
{
    GUARD(graph_alloc(g, gp));
    GUARD(add_initializers(g, gp, diag));
    GUARD(add_inputs(g, gp, diag));
    GUARD(add_node_outputs(g, gp, diag));
    for (uint32_t i = 0; i < g->node_count; i++) {
        GUARD(link_node(m, g, gp->node[i], i, depth, diag));
    }
    if (g->parent == NULL && m->split.attrs != NULL) {
        /* protobuf-c saw as many attribute tensors and graphs as the scanner */
        ENSURE(m->attr_next == m->split.attr_count && m->graph_next == m->split.graph_count,
               VEIL_ERR_ENGINE_MODEL);
    }
    for (size_t k = 0; k < gp->n_output; k++) {
        uint32_t v;
        const char *name = gp->output[k]->name;
        veil_result r =
            name_empty(name) ? veil_result_of(VEIL_ERR_ENGINE_GRAPH) : resolve(g, name, &v);
        if (!veil_ok(r)) {
            diag_set(diag, "graph output '%.64s' is not defined", name != NULL ? name : "");
            return r;
        }
        g->outputs[g->output_count++] = v;
    }
    veil_result r = topo_sort(g);
    if (!veil_ok(r)) {
        diag_set(diag, "graph '%.64s' has a cycle", gp->name != NULL ? gp->name : "");
        return r;
    }
    decode_constants(g);
    fold_constants(g);
    struct fuse_index ix;
    if (fuse_index_build(g, &ix)) {
        fuse_conv_affine(g, &ix);
        fuse_hard_swish(g, &ix);
        fuse_conv_act(g, &ix);
        pack_conv_weights(g, &ix);
        fuse_index_free(&ix);
    } else {
        pack_conv_weights(g, NULL);
    }
    compute_last_use(g);
    return build_release(g);
}

/* A Constant node holding its own value (constant_value_only), for drop_constant_nodes. */
static bool constant_node(const struct veil_engine_node *n)
{
    return n->has_constant && n->attr_count == 0 && !n->constant_of_attr && n->op != NULL &&
           strcmp(n->op->name, "Constant") == 0 && n->out_count == 1 &&
           n->out[0] != VEIL_NO_VALUE && n->implicit_count == 0;
}

/* A Constant node that holds its value (constant_value_only: the node owns the tensor) is, once
 * the graph is built, folded and fused, only a value the graph holds: its output becomes one
 * like an initializer (VEIL_VALUE_INITIALIZER, init the tensor, which the value now owns) and
 * the node leaves the node array and the order (cls: 250 of its 471 nodes, 104 bytes each, and
 * a pass of the executor's loop each per run). The other nodes keep their order; producers,
 * last uses (positions) and release lists are renumbered; a node keeps its index in the model
 * for diagnostics. Before build_slots (settle). */
static void drop_constant_nodes(struct veil_engine_graph *g)
{
    uint32_t *map = NULL;  /* old node -> new node, UINT32_MAX when dropped */
    uint32_t *npos = NULL; /* old position -> new position (of a kept node) */
    uint32_t kept = 0;
    uint32_t at = 0;
    uint32_t gone = 0;

    for (uint32_t i = 0; i < g->node_count; i++) {
        const struct veil_engine_node *n = &g->nodes[i];
        gone += constant_node(n);
    }
    if (gone == 0) {
        return;
    }
    map = malloc(((size_t)g->node_count + 1) * sizeof(*map));
    npos = malloc(((size_t)g->node_count + 1) * sizeof(*npos));
    if (map == NULL || npos == NULL) {
        free(map);
        free(npos);
        return; /* keeping the nodes is correct too */
    }
    for (uint32_t i = 0; i < g->node_count; i++) {
        struct veil_engine_node *n = &g->nodes[i];
        map[i] = kept;
        if (constant_node(n)) {
            struct veil_engine_value *val = &g->values[n->out[0]];
            val->kind = VEIL_VALUE_INITIALIZER;
            val->init = n->constant; /* owned by the value now (veil_graph_free) */
            val->producer = -1;
            val->last_use = VEIL_LAST_NEVER;
            n->constant = NULL;
            map[i] = UINT32_MAX;
            continue;
        }
        if (kept != i) {
            g->nodes[kept] = *n;
        }
        kept++;
    }
    for (uint32_t v = 0; v < g->value_count; v++) {
        if (g->values[v].kind == VEIL_VALUE_NODE && g->values[v].producer >= 0) {
            g->values[v].producer = (int32_t)map[g->values[v].producer];
        }
    }
    /* the order without the dropped nodes; a dropped node's release list held only its own
     * output (a Constant reads nothing), which is no intermediate now */
    for (uint32_t pos = 0, np = 0, begin = 0; pos < g->node_count; pos++) {
        uint32_t end = g->release_at[pos + 1];
        npos[pos] = np;
        if (map[g->order[pos]] != UINT32_MAX) {
            g->order[np] = map[g->order[pos]];
            g->release_at[np] = at;
            for (uint32_t r = begin; r < end; r++) {
                g->release[at++] = g->release[r];
            }
            np++;
        }
        begin = end;
    }
    g->release_at[kept] = at;
    for (uint32_t v = 0; v < g->value_count; v++) {
        if (g->values[v].last_use != VEIL_LAST_NEVER) {
            g->values[v].last_use = npos[g->values[v].last_use];
        }
    }
    g->node_count = kept;
    free(map);
    free(npos);
    if (kept > 0) {
        struct veil_engine_node *nodes = realloc(g->nodes, (size_t)kept * sizeof(*nodes));
        uint32_t *order = realloc(g->order, (size_t)kept * sizeof(*order));
        uint32_t *rat = realloc(g->release_at, ((size_t)kept + 1) * sizeof(*rat));
        g->nodes = nodes != NULL ? nodes : g->nodes;
        g->order = order != NULL ? order : g->order;
        g->release_at = rat != NULL ? rat : g->release_at;
    }
}

/* Once the whole model is built: names are no longer resolved (the tables go) and no value is
 * added (each graph's value array, sized for an upper bound, shrinks to its values: cls 979
 * entries for 472 values); every value's frame slot is set (build_slots). The values' names,
 * the ModelProto's (freed next), are dropped but the main graph's inputs' and outputs', which
 * veil_engine_input_name and veil_engine_output_name give: they are copied into the store (cls
 * kept 472 names, 11.8 KB; the diagnostics name nodes, whose names stay). */
static VEIL_RESULT settle(struct veil_engine_graph *g)
{
    struct veil_engine_value *v;

    free(g->table);
    g->table = NULL;
    g->table_size = 0;
    bool *keep = calloc((size_t)g->value_count + 1, sizeof(*keep));
    bool ok = keep != NULL;
    for (uint32_t k = 0; ok && g->parent == NULL && k < g->input_count + g->output_count; k++) {
        keep[k < g->input_count ? g->inputs[k] : g->outputs[k - g->input_count]] = true;
    }
    for (uint32_t i = 0; ok && i < g->value_count; i++) {
        g->values[i].name =
            keep[i] ? veil_store_strdup(&g->model->store, g->values[i].name, &ok) : NULL;
    }
    free(keep);
    ENSURE(ok, VEIL_ERR_NOMEM);
    if (g->value_count > 0 && g->value_count < g->value_cap) {
        v = realloc(g->values, (size_t)g->value_count * sizeof(*g->values));
        if (v != NULL) {
            g->values = v;
            g->value_cap = g->value_count;
        }
    }
    drop_constant_nodes(g);
    for (uint32_t i = 0; i < g->node_count; i++) {
        const struct veil_engine_node *n = &g->nodes[i];
        for (uint32_t a = 0; n->attrs != NULL && a < n->attr_count; a++) {
            if (veil_attr_subgraph(&n->attrs[a]) != NULL) {
                GUARD(settle(veil_attr_subgraph(&n->attrs[a])));
            }
        }
    }
    return build_slots(g);
}

VEIL_RESULT veil_graph_build(struct veil_engine_model *m, struct veil_engine_graph *parent,
                             const Onnx__GraphProto *gp, uint32_t depth,
                             struct veil_engine_diag *diag, struct veil_engine_graph **out)
{
    struct veil_engine_graph *g;
    veil_result r;

    if (depth > VEIL_ENGINE_DEPTH_MAX) {
        diag_set(diag, "subgraphs nested deeper than %d", VEIL_ENGINE_DEPTH_MAX);
        BAIL(VEIL_ERR_ENGINE_LIMIT);
    }
    g = calloc(1, sizeof(*g));
    ENSURE(g != NULL, VEIL_ERR_NOMEM);
    g->parent = parent;
    g->model = m;
    g->building = -1;
    g->split_index = m->graph_next++;
    r = build_body(m, g, gp, depth, diag);
    if (!veil_ok(r)) {
        diag_set(diag, "%s", veil_strerror(r.code));
        veil_graph_free(g);
        return r;
    }
    if (depth == 0) {
        fold_subgraphs(g, 0);
        fold_into_dead_weights(g);
        r = settle(g);
        if (!veil_ok(r)) {
            veil_graph_free(g);
            return r;
        }
    }
    *out = g;
    return VEIL_RESULT_OK;
}

void veil_graph_free(struct veil_engine_graph *g)
{
    if (g == NULL) {
        return;
    }
    for (uint32_t i = 0; i < g->value_count; i++) {
        struct veil_tensor *t = g->values[i].init;
        if (t == NULL) {
            continue;
        }
        if (t->data != NULL && !t->borrowed) {
            OPENSSL_cleanse(t->data, t->size);
        }
        veil_tensor_free(t);
    }
    if (g->nodes != NULL) {
        for (uint32_t i = 0; i < g->node_count; i++) {
            struct veil_engine_node *n = &g->nodes[i];
            for (uint32_t a = 0; n->attrs != NULL && a < n->attr_count; a++) {
                struct veil_tensor *t = veil_attr_tensor(&n->attrs[a]);
                veil_graph_free(veil_attr_subgraph(&n->attrs[a]));
                if (t != NULL && t->data != NULL && !t->borrowed) {
                    OPENSSL_cleanse(t->data, t->size);
                }
                if (t != NULL) {
                    veil_tensor_free(t);
                }
            }
            if (n->constant != NULL && !n->constant_of_attr) { /* else its attribute's */
                if (n->constant->data != NULL && !n->constant->borrowed) {
                    OPENSSL_cleanse(n->constant->data, n->constant->size);
                }
                veil_tensor_free(n->constant);
            }
            if (n->x != NULL && n->x->fused_w != NULL) {
                if (!n->x->fused_w->borrowed) { /* else the weights' owner wipes them */
                    OPENSSL_cleanse(n->x->fused_w->data, n->x->fused_w->size);
                }
                OPENSSL_cleanse(n->x->fused_b->data, n->x->fused_b->size);
                veil_tensor_free(n->x->fused_w);
                veil_tensor_free(n->x->fused_b);
            }
            veil_gemm_pack_free(n->wpack);
            free(n->implicit);
            if (n->x != NULL) {
                OPENSSL_cleanse(n->x, sizeof(*n->x)); /* the model's constants (hard-swish) */
                free(n->x);
            }
        }
    }
    free(g->values);
    free(g->table);
    free(g->nodes);
    free(g->order);
    free(g->release);
    free(g->release_at);
    free(g->slot);
    free(g->inputs);
    free(g->outputs);
    free(g);
}

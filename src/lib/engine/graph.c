/*
 * Graph building: names -> values, operators looked up, subgraphs built with access to outer
 * values, nodes sorted topologically (Kahn), last uses computed so that the executor can hand
 * buffers back to the pool. Every count from the model is bounded before anything is sized by it.
 */
#include "engine/graph.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

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
    /* the main graph's big raw_data payloads were kept out of protobuf-c (model.c) */
    const struct veil_pb_split *split = g->parent == NULL ? &g->model->split : NULL;

    ENSURE(gp->n_sparse_initializer == 0, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    if (split != NULL && split->payloads != NULL) {
        /* protobuf-c keeps the initializers in wire order, as the scanner counted them */
        ENSURE(split->count == gp->n_initializer, VEIL_ERR_ENGINE_MODEL);
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        uint32_t v;
        veil_result r = value_add(g, tp->name, VEIL_VALUE_INITIALIZER, &v);
        if (veil_ok(r) && split != NULL && split->payloads != NULL && split->payloads[i].present) {
            r = veil_tensor_from_payload(tp, g->model, &split->payloads[i], &g->values[v].init);
        } else if (veil_ok(r)) {
            r = veil_tensor_from_proto_ext(tp, g->model->ext_dirfd, &g->values[v].init);
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

static VEIL_RESULT add_node_outputs(struct veil_engine_graph *g, const Onnx__GraphProto *gp,
                                    struct veil_engine_diag *diag)
{
    for (uint32_t i = 0; i < g->node_count; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        struct veil_engine_node *n = &g->nodes[i];
        const char *op = np->op_type != NULL ? np->op_type : "";

        GUARD(check_name(np->op_type));
        GUARD(check_name(np->domain));
        n->proto = np;
        n->op = domain_default(np->domain) ? veil_op_find(op) : NULL;
        if (n->op == NULL) {
            diag_set(diag, "node %u: unsupported op %.64s%s%.64s", i, op,
                     domain_default(np->domain) ? "" : " in domain ",
                     domain_default(np->domain) ? "" : np->domain);
            BAIL(VEIL_ERR_ENGINE_UNSUPPORTED_OP);
        }
        n->in_count = (uint32_t)np->n_input;
        n->out_count = (uint32_t)np->n_output;
        n->in = calloc(np->n_input > 0 ? np->n_input : 1, sizeof(*n->in));
        n->out = calloc(np->n_output > 0 ? np->n_output : 1, sizeof(*n->out));
        n->graphs = calloc(np->n_attribute > 0 ? np->n_attribute : 1, sizeof(*n->graphs));
        ENSURE(n->in != NULL && n->out != NULL && n->graphs != NULL, VEIL_ERR_NOMEM);
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

static VEIL_RESULT link_node(struct veil_engine_model *m, struct veil_engine_graph *g, uint32_t i,
                             uint32_t depth, struct veil_engine_diag *diag)
{
    struct veil_engine_node *n = &g->nodes[i];
    const Onnx__NodeProto *np = n->proto;

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
        GUARD(check_name(ap->name));
        if (ap->t != NULL) {
            /* tensor attributes (Constant, ConstantOfShape) are checked now, not at run time */
            struct veil_tensor t = {0};
            veil_result r = veil_tensor_from_proto(ap->t, &t);
            if (veil_ok(r) && n->value.data == NULL && strcmp(n->op->name, "Constant") == 0 &&
                ap->name != NULL && strcmp(ap->name, "value") == 0) {
                /* the one copy the runs share (a view each run); the parsed one is wiped now */
                n->value = t;
                veil_tensor_proto_drop_data((Onnx__TensorProto *)(uintptr_t)ap->t, &m->alloc);
            } else {
                if (t.data != NULL) {
                    OPENSSL_cleanse(t.data, t.size);
                }
                veil_tensor_free(&t);
            }
            if (!veil_ok(r)) {
                diag_set(diag, "node %u (%.64s): attribute '%.64s': %s", i, np->op_type,
                         ap->name != NULL ? ap->name : "", veil_strerror(r.code));
                return r;
            }
        }
        ENSURE(ap->n_graphs == 0, VEIL_ERR_ENGINE_UNSUPPORTED_OP);
        if (ap->g == NULL) {
            continue;
        }
        g->building = (int32_t)i;
        GUARD(veil_graph_build(m, g, ap->g, depth + 1, diag, &n->graphs[a]));
        g->building = -1;
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

static VEIL_RESULT build_body(struct veil_engine_model *m, struct veil_engine_graph *g,
                              const Onnx__GraphProto *gp, uint32_t depth,
                              struct veil_engine_diag *diag)
{
    GUARD(graph_alloc(g, gp));
    GUARD(add_initializers(g, gp, diag));
    GUARD(add_inputs(g, gp, diag));
    GUARD(add_node_outputs(g, gp, diag));
    for (uint32_t i = 0; i < g->node_count; i++) {
        GUARD(link_node(m, g, i, depth, diag));
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
    compute_last_use(g);
    return VEIL_RESULT_OK;
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
    g->proto = gp;
    g->building = -1;
    r = build_body(m, g, gp, depth, diag);
    if (!veil_ok(r)) {
        diag_set(diag, "%s", veil_strerror(r.code));
        veil_graph_free(g);
        return r;
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
        if (g->values[i].init.data != NULL && !g->values[i].init.borrowed) {
            OPENSSL_cleanse(g->values[i].init.data, g->values[i].init.size);
        }
        veil_tensor_free(&g->values[i].init);
    }
    if (g->nodes != NULL) {
        for (uint32_t i = 0; i < g->node_count; i++) {
            struct veil_engine_node *n = &g->nodes[i];
            if (n->graphs != NULL && n->proto != NULL) {
                for (size_t a = 0; a < n->proto->n_attribute; a++) {
                    veil_graph_free(n->graphs[a]);
                }
            }
            free(n->graphs);
            if (n->value.data != NULL) {
                OPENSSL_cleanse(n->value.data, n->value.size);
            }
            veil_tensor_free(&n->value);
            free(n->in);
            free(n->out);
            free(n->implicit);
        }
    }
    free(g->values);
    free(g->table);
    free(g->nodes);
    free(g->order);
    free(g->inputs);
    free(g->outputs);
    free(g);
}

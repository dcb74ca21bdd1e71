/*
 * Node attributes: resolved at load from the AttributeProtos into compact records in the model's
 * store (the ModelProto is freed once the graphs are built), and read type-checked at run time: a
 * present attribute of the wrong type is an error.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "engine/graph.h"

/* ---- resolving at load ---- */

/* The attribute names ONNX operators use (sorted, strcmp order): an attribute named so points
 * here instead of at a copy in the store (cls: 650 attributes, 10 KB of copies of a dozen names).
 */
const char *const veil_attr_known[] = {
    "activation_alpha",
    "activation_beta",
    "activations",
    "align_corners",
    "allowzero",
    "alpha",
    "antialias",
    "auto_pad",
    "axes",
    "axis",
    "batch_axis",
    "batch_dims",
    "beta",
    "bias",
    "blocksize",
    "body",
    "ceil_mode",
    "center_point_box",
    "clip",
    "consumed_inputs",
    "coordinate_transformation_mode",
    "count_include_pad",
    "cubic_coeff_a",
    "detect_negative",
    "detect_positive",
    "dilations",
    "direction",
    "directions",
    "dtype",
    "else_branch",
    "end",
    "ends",
    "epsilon",
    "equation",
    "exclude_outside",
    "exclusive",
    "extrapolation_value",
    "fmod",
    "gamma",
    "group",
    "hidden_size",
    "high",
    "ignore_index",
    "input_forget",
    "inverse",
    "is_test",
    "k",
    "keep_aspect_ratio_policy",
    "keepdims",
    "kernel_shape",
    "lambd",
    "largest",
    "layout",
    "linear_before_reset",
    "low",
    "max",
    "max_gram_length",
    "max_skip_count",
    "mean",
    "min",
    "min_gram_length",
    "mode",
    "momentum",
    "nearest_mode",
    "ngram_counts",
    "ngram_indexes",
    "noop_with_empty_axes",
    "num_outputs",
    "num_scan_inputs",
    "onesided",
    "output_datatype",
    "output_height",
    "output_padding",
    "output_shape",
    "output_width",
    "p",
    "padding_mode",
    "pads",
    "periodic",
    "perm",
    "pool_strings",
    "ratio",
    "reduction",
    "reverse",
    "sample_size",
    "sampling_ratio",
    "scale",
    "scales",
    "scan_input_axes",
    "scan_input_directions",
    "scan_output_axes",
    "scan_output_directions",
    "seed",
    "select_last_index",
    "shape",
    "size",
    "sorted",
    "sparse_value",
    "spatial",
    "spatial_scale",
    "split",
    "start",
    "starts",
    "stash_type",
    "storage_order",
    "strides",
    "then_branch",
    "time_axis",
    "to",
    "training_mode",
    "transA",
    "transB",
    "upper",
    "value",
    "value_float",
    "value_floats",
    "value_int",
    "value_ints",
    "value_string",
    "value_strings",
    "weights",
};
const size_t veil_attr_known_count = sizeof(veil_attr_known) / sizeof(veil_attr_known[0]);

static int known_cmp(const void *key, const void *elem)
{
    return strcmp(key, *(const char *const *)elem);
}

const char *veil_attr_name_known(const char *name)
{
    const char *const *k;
    if (name == NULL) {
        return NULL;
    }
    k = bsearch(name, veil_attr_known, veil_attr_known_count, sizeof(veil_attr_known[0]),
                known_cmp);
    return k != NULL ? *k : NULL;
}

static const void *store_copy(struct veil_store *st, const void *p, size_t n, bool *ok)
{
    void *q;
    if (n == 0) {
        return NULL;
    }
    q = veil_store_alloc(st, n);
    if (q == NULL) {
        *ok = false;
        return NULL;
    }
    memcpy(q, p, n);
    return q;
}

VEIL_RESULT veil_attr_resolve(struct veil_store *st, const Onnx__AttributeProto *ap,
                              struct veil_attr *a)
{
    bool ok = true;

    memset(a, 0, sizeof(*a));
    ENSURE(ap->n_ints <= UINT32_MAX / sizeof(int64_t) && ap->n_floats <= UINT32_MAX / 4 &&
               ap->n_strings <= UINT32_MAX / sizeof(struct veil_bytes),
           VEIL_ERR_ENGINE_LIMIT);
    a->name = veil_attr_name_known(ap->name);
    if (a->name == NULL) {
        a->name = veil_store_strdup(st, ap->name, &ok);
    }
    a->has_type = ap->has_type;
    a->type = ap->has_type ? (int32_t)ap->type : 0;
    a->has_i = ap->has_i;
    a->i = ap->i;
    a->has_f = ap->has_f;
    a->f = ap->f;
    a->n_ints = (uint32_t)ap->n_ints;
    a->ints = store_copy(st, ap->ints, ap->n_ints * sizeof(*ap->ints), &ok);
    a->n_floats = (uint32_t)ap->n_floats;
    a->floats = store_copy(st, ap->floats, ap->n_floats * sizeof(*ap->floats), &ok);
    a->has_s = ap->has_s;
    if (ap->has_s) {
        a->s.len = ap->s.len;
        a->s.data = store_copy(st, ap->s.data, ap->s.len, &ok);
    }
    if (ap->n_strings > 0) {
        struct veil_bytes *v = veil_store_alloc(st, ap->n_strings * sizeof(*v));
        ok = ok && v != NULL;
        for (size_t k = 0; ok && k < ap->n_strings; k++) {
            v[k].len = ap->strings[k].len;
            v[k].data = store_copy(st, ap->strings[k].data, ap->strings[k].len, &ok);
        }
        a->strings = v;
        a->n_strings = (uint32_t)ap->n_strings;
    }
    ENSURE(ok, VEIL_ERR_NOMEM);
    return VEIL_RESULT_OK;
}

/* ---- reading at run time ---- */

/* Attribute names are short: an inline compare instead of a call to strcmp per attribute. */
static bool name_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

const struct veil_attr *veil_node_attr(const struct veil_engine_node *n, const char *name)
{
    for (uint32_t i = 0; i < n->attr_count; i++) {
        const struct veil_attr *a = &n->attrs[i];
        /* per node and run: a call to strcmp per attribute was ~3% of a small model's run */
        if (a->name != NULL && name_eq(a->name, name)) {
            return a;
        }
    }
    return NULL;
}

const struct veil_attr *veil_attr_find(const struct veil_op_ctx *c, const char *name)
{
    return veil_node_attr(c->node, name);
}

VEIL_RESULT veil_attr_int(const struct veil_op_ctx *c, const char *name, int64_t def, int64_t *v)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    if (a == NULL) {
        *v = def;
        return VEIL_RESULT_OK;
    }
    ENSURE(a->has_i && (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT),
           VEIL_ERR_ENGINE_ATTR);
    *v = a->i;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_attr_float(const struct veil_op_ctx *c, const char *name, float def, float *v)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    if (a == NULL) {
        *v = def;
        return VEIL_RESULT_OK;
    }
    ENSURE(a->has_f && (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT),
           VEIL_ERR_ENGINE_ATTR);
    *v = a->f;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_attr_ints(const struct veil_op_ctx *c, const char *name, const int64_t **v,
                           size_t *count)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    *v = NULL;
    *count = 0;
    if (a == NULL) {
        return VEIL_RESULT_OK;
    }
    ENSURE(!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
           VEIL_ERR_ENGINE_ATTR);
    *v = a->ints;
    *count = a->n_ints;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_attr_floats(const struct veil_op_ctx *c, const char *name, const float **v,
                             size_t *count)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    *v = NULL;
    *count = 0;
    if (a == NULL) {
        return VEIL_RESULT_OK;
    }
    ENSURE(!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS,
           VEIL_ERR_ENGINE_ATTR);
    *v = a->floats;
    *count = a->n_floats;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_attr_string(const struct veil_op_ctx *c, const char *name, const char *def,
                             char *buf, size_t buf_size)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    VEIL_ASSERT(buf_size > 0);
    if (a == NULL) {
        size_t n = strlen(def);
        ENSURE(n < buf_size, VEIL_ERR_INTERNAL);
        memcpy(buf, def, n + 1);
        return VEIL_RESULT_OK;
    }
    ENSURE(a->has_s && (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING),
           VEIL_ERR_ENGINE_ATTR);
    ENSURE(a->s.len < buf_size, VEIL_ERR_ENGINE_ATTR);
    ENSURE(a->s.len == 0 || memchr(a->s.data, 0, a->s.len) == NULL, VEIL_ERR_ENGINE_ATTR);
    if (a->s.len > 0) {
        memcpy(buf, a->s.data, a->s.len);
    }
    buf[a->s.len] = '\0';
    return VEIL_RESULT_OK;
}

const struct veil_engine_graph *veil_attr_graph(const struct veil_op_ctx *c, const char *name)
{
    for (uint32_t i = 0; i < c->node->attr_count; i++) {
        const struct veil_attr *a = &c->node->attrs[i];
        if (a->name != NULL && strcmp(a->name, name) == 0) {
            return a->g;
        }
    }
    return NULL;
}

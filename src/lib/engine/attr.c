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

_Static_assert(sizeof(struct veil_attr) == 24, "a compact attribute record (graph.h)");

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

/* Whether f fits a compact record: at most one field set, a declared type of one byte. */
static bool fits_compact(const struct veil_attr_fields *f)
{
    unsigned set = (unsigned)f->has_i + (unsigned)f->has_f + (unsigned)f->has_s +
                   (unsigned)(f->n_ints > 0) + (unsigned)(f->n_floats > 0) +
                   (unsigned)(f->n_strings > 0) + (unsigned)(f->t != NULL) +
                   (unsigned)(f->g != NULL);
    return set <= 1 && (!f->has_type || (f->type >= 0 && f->type <= UINT8_MAX)) &&
           (!f->has_s || f->s.len <= UINT32_MAX);
}

/* Writes f into a: the one field it sets in u, else all of them in a record of the store (a's
 * own when it has one already). */
static VEIL_RESULT attr_pack(struct veil_store *st, struct veil_attr *a,
                             const struct veil_attr_fields *f)
{
    if (!fits_compact(f)) {
        struct veil_attr_fields *more =
            a->holds == VEIL_ATTR_MORE ? a->u.more : veil_store_alloc(st, sizeof(*more));
        ENSURE(more != NULL, VEIL_ERR_NOMEM);
        *more = *f;
        a->u.more = more;
        a->n = 0;
        a->holds = VEIL_ATTR_MORE;
        a->type = 0;
        a->has_type = false;
        return VEIL_RESULT_OK;
    }
    memset(&a->u, 0, sizeof(a->u));
    a->n = 0;
    a->has_type = f->has_type;
    a->type = f->has_type ? (uint8_t)f->type : 0;
    a->holds = VEIL_ATTR_NONE;
    if (f->has_i) {
        a->holds = VEIL_ATTR_I;
        a->u.i = f->i;
    } else if (f->has_f) {
        a->holds = VEIL_ATTR_F;
        a->u.f = f->f;
    } else if (f->has_s) {
        a->holds = VEIL_ATTR_S;
        a->u.s = f->s.data;
        a->n = (uint32_t)f->s.len;
    } else if (f->n_ints > 0) {
        a->holds = VEIL_ATTR_INTS;
        a->u.ints = f->ints;
        a->n = f->n_ints;
    } else if (f->n_floats > 0) {
        a->holds = VEIL_ATTR_FLOATS;
        a->u.floats = f->floats;
        a->n = f->n_floats;
    } else if (f->n_strings > 0) {
        a->holds = VEIL_ATTR_STRINGS;
        a->u.strings = f->strings;
        a->n = f->n_strings;
    } else if (f->t != NULL) {
        a->holds = VEIL_ATTR_T;
        a->u.t = f->t;
    } else if (f->g != NULL) {
        a->holds = VEIL_ATTR_G;
        a->u.g = f->g;
    }
    return VEIL_RESULT_OK;
}

void veil_attr_fields(const struct veil_attr *a, struct veil_attr_fields *out)
{
    if (a->holds == VEIL_ATTR_MORE) {
        *out = *a->u.more;
        return;
    }
    memset(out, 0, sizeof(*out));
    out->has_type = a->has_type;
    out->type = a->type;
    switch (a->holds) {
        case VEIL_ATTR_I:
            out->has_i = true;
            out->i = a->u.i;
            break;
        case VEIL_ATTR_F:
            out->has_f = true;
            out->f = a->u.f;
            break;
        case VEIL_ATTR_S:
            out->has_s = true;
            out->s.data = a->u.s;
            out->s.len = a->n;
            break;
        case VEIL_ATTR_INTS:
            out->ints = a->u.ints;
            out->n_ints = a->n;
            break;
        case VEIL_ATTR_FLOATS:
            out->floats = a->u.floats;
            out->n_floats = a->n;
            break;
        case VEIL_ATTR_STRINGS:
            out->strings = a->u.strings;
            out->n_strings = a->n;
            break;
        case VEIL_ATTR_T:
            out->t = a->u.t;
            break;
        case VEIL_ATTR_G:
            out->g = a->u.g;
            break;
        default:
            break;
    }
}

struct veil_tensor *veil_attr_tensor(const struct veil_attr *a)
{
    return a->holds == VEIL_ATTR_T ? a->u.t : a->holds == VEIL_ATTR_MORE ? a->u.more->t : NULL;
}

struct veil_engine_graph *veil_attr_subgraph(const struct veil_attr *a)
{
    return a->holds == VEIL_ATTR_G ? a->u.g : a->holds == VEIL_ATTR_MORE ? a->u.more->g : NULL;
}

VEIL_RESULT veil_attr_set_tensor(struct veil_store *st, struct veil_attr *a, struct veil_tensor *t)
{
    struct veil_attr_fields f;
    veil_attr_fields(a, &f);
    f.t = t;
    return attr_pack(st, a, &f);
}

VEIL_RESULT veil_attr_set_graph(struct veil_store *st, struct veil_attr *a,
                                struct veil_engine_graph *g)
{
    struct veil_attr_fields f;
    veil_attr_fields(a, &f);
    f.g = g;
    return attr_pack(st, a, &f);
}

VEIL_RESULT veil_attr_resolve(struct veil_store *st, const Onnx__AttributeProto *ap,
                              struct veil_attr *a)
{
    struct veil_attr_fields f;
    bool ok = true;

    memset(a, 0, sizeof(*a));
    memset(&f, 0, sizeof(f));
    ENSURE(ap->n_ints <= UINT32_MAX / sizeof(int64_t) && ap->n_floats <= UINT32_MAX / 4 &&
               ap->n_strings <= UINT32_MAX / sizeof(struct veil_bytes),
           VEIL_ERR_ENGINE_LIMIT);
    a->name = veil_attr_name_known(ap->name);
    if (a->name == NULL) {
        a->name = veil_store_strdup(st, ap->name, &ok);
    }
    f.has_type = ap->has_type;
    f.type = ap->has_type ? (int32_t)ap->type : 0;
    f.has_i = ap->has_i;
    f.i = ap->i;
    f.has_f = ap->has_f;
    f.f = ap->f;
    f.n_ints = (uint32_t)ap->n_ints;
    f.ints = store_copy(st, ap->ints, ap->n_ints * sizeof(*ap->ints), &ok);
    f.n_floats = (uint32_t)ap->n_floats;
    f.floats = store_copy(st, ap->floats, ap->n_floats * sizeof(*ap->floats), &ok);
    f.has_s = ap->has_s;
    if (ap->has_s) {
        f.s.len = ap->s.len;
        f.s.data = store_copy(st, ap->s.data, ap->s.len, &ok);
    }
    if (ap->n_strings > 0) {
        struct veil_bytes *v = veil_store_alloc(st, ap->n_strings * sizeof(*v));
        ok = ok && v != NULL;
        for (size_t k = 0; ok && k < ap->n_strings; k++) {
            v[k].len = ap->strings[k].len;
            v[k].data = store_copy(st, ap->strings[k].data, ap->strings[k].len, &ok);
        }
        f.strings = v;
        f.n_strings = (uint32_t)ap->n_strings;
    }
    ENSURE(ok, VEIL_ERR_NOMEM);
    return attr_pack(st, a, &f);
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

/* Whether a present attribute a may be read as type want: declared so, or not declared. */
static bool type_is(const struct veil_attr_fields *f, int32_t want)
{
    return !f->has_type || f->type == want;
}

VEIL_RESULT veil_attr_int(const struct veil_op_ctx *c, const char *name, int64_t def, int64_t *v)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    struct veil_attr_fields f;
    if (a == NULL) {
        *v = def;
        return VEIL_RESULT_OK;
    }
    if (a->holds == VEIL_ATTR_I &&
        (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT)) {
        *v = a->u.i; /* the usual case, without the copy of every field */
        return VEIL_RESULT_OK;
    }
    veil_attr_fields(a, &f);
    ENSURE(f.has_i && type_is(&f, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT),
           VEIL_ERR_ENGINE_ATTR);
    *v = f.i;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_attr_float(const struct veil_op_ctx *c, const char *name, float def, float *v)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    struct veil_attr_fields f;
    if (a == NULL) {
        *v = def;
        return VEIL_RESULT_OK;
    }
    if (a->holds == VEIL_ATTR_F &&
        (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT)) {
        *v = a->u.f;
        return VEIL_RESULT_OK;
    }
    veil_attr_fields(a, &f);
    ENSURE(f.has_f && type_is(&f, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT),
           VEIL_ERR_ENGINE_ATTR);
    *v = f.f;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_attr_ints(const struct veil_op_ctx *c, const char *name, const int64_t **v,
                           size_t *count)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    struct veil_attr_fields f;
    *v = NULL;
    *count = 0;
    if (a == NULL) {
        return VEIL_RESULT_OK;
    }
    if (a->holds == VEIL_ATTR_INTS &&
        (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS)) {
        *v = a->u.ints;
        *count = a->n;
        return VEIL_RESULT_OK;
    }
    veil_attr_fields(a, &f);
    ENSURE(type_is(&f, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS), VEIL_ERR_ENGINE_ATTR);
    *v = f.ints;
    *count = f.n_ints;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_attr_floats(const struct veil_op_ctx *c, const char *name, const float **v,
                             size_t *count)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    struct veil_attr_fields f;
    *v = NULL;
    *count = 0;
    if (a == NULL) {
        return VEIL_RESULT_OK;
    }
    if (a->holds == VEIL_ATTR_FLOATS &&
        (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS)) {
        *v = a->u.floats;
        *count = a->n;
        return VEIL_RESULT_OK;
    }
    veil_attr_fields(a, &f);
    ENSURE(type_is(&f, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS), VEIL_ERR_ENGINE_ATTR);
    *v = f.floats;
    *count = f.n_floats;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_attr_string(const struct veil_op_ctx *c, const char *name, const char *def,
                             char *buf, size_t buf_size)
{
    const struct veil_attr *a = veil_attr_find(c, name);
    struct veil_attr_fields f;
    VEIL_ASSERT(buf_size > 0);
    if (a == NULL) {
        size_t n = strlen(def);
        ENSURE(n < buf_size, VEIL_ERR_INTERNAL);
        memcpy(buf, def, n + 1);
        return VEIL_RESULT_OK;
    }
    if (a->holds == VEIL_ATTR_S &&
        (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING)) {
        f.has_s = true; /* the usual case: only the string is needed */
        f.s.data = a->u.s;
        f.s.len = a->n;
    } else {
        veil_attr_fields(a, &f);
        ENSURE(f.has_s && type_is(&f, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING),
               VEIL_ERR_ENGINE_ATTR);
    }
    ENSURE(f.s.len < buf_size, VEIL_ERR_ENGINE_ATTR);
    ENSURE(f.s.len == 0 || memchr(f.s.data, 0, f.s.len) == NULL, VEIL_ERR_ENGINE_ATTR);
    if (f.s.len > 0) {
        memcpy(buf, f.s.data, f.s.len);
    }
    buf[f.s.len] = '\0';
    return VEIL_RESULT_OK;
}

const struct veil_engine_graph *veil_attr_graph(const struct veil_op_ctx *c, const char *name)
{
    for (uint32_t i = 0; i < c->node->attr_count; i++) {
        const struct veil_attr *a = &c->node->attrs[i];
        if (a->name != NULL && strcmp(a->name, name) == 0) {
            return veil_attr_subgraph(a);
        }
    }
    return NULL;
}

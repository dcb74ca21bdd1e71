/* Node attributes, type-checked: a present attribute of the wrong type is an error. */
#include <string.h>

#include "engine/graph.h"

/* Attribute names are short: an inline compare instead of a call to strcmp per attribute. */
static bool name_eq(const char *a, const char *b)
{
    while (*a != '\0' && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

const Onnx__AttributeProto *veil_attr_find(const struct veil_op_ctx *c, const char *name)
{
    const Onnx__NodeProto *np = c->node->proto;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        /* per node and run: a call to strcmp per attribute was ~3% of a small model's run */
        if (a->name != NULL && name_eq(a->name, name)) {
            return a;
        }
    }
    return NULL;
}

VEIL_RESULT veil_attr_int(const struct veil_op_ctx *c, const char *name, int64_t def, int64_t *v)
{
    const Onnx__AttributeProto *a = veil_attr_find(c, name);
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
    const Onnx__AttributeProto *a = veil_attr_find(c, name);
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
    const Onnx__AttributeProto *a = veil_attr_find(c, name);
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
    const Onnx__AttributeProto *a = veil_attr_find(c, name);
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
    const Onnx__AttributeProto *a = veil_attr_find(c, name);
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
    const Onnx__NodeProto *np = c->node->proto;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *a = np->attribute[i];
        if (a->name != NULL && strcmp(a->name, name) == 0) {
            return c->node->graphs[i];
        }
    }
    return NULL;
}

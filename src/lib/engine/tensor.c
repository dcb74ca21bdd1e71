/* Tensors: types, checked shapes, element access, half-precision conversion. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

size_t veil_dtype_size(int32_t dtype)
{
    switch (dtype) {
        case VEIL_DT_FLOAT:
        case VEIL_DT_INT32:
        case VEIL_DT_UINT32:
            return 4;
        case VEIL_DT_UINT8:
        case VEIL_DT_INT8:
        case VEIL_DT_BOOL:
            return 1;
        case VEIL_DT_UINT16:
        case VEIL_DT_INT16:
        case VEIL_DT_FLOAT16:
        case VEIL_DT_BFLOAT16:
            return 2;
        case VEIL_DT_INT64:
        case VEIL_DT_DOUBLE:
        case VEIL_DT_UINT64:
            return 8;
        default:
            return 0;
    }
}

const char *veil_dtype_name(int32_t dtype)
{
    static const char *const names[] = {"undefined",  "float",   "uint8",  "int8",   "uint16",
                                        "int16",      "int32",   "int64",  "string", "bool",
                                        "float16",    "double",  "uint32", "uint64", "complex64",
                                        "complex128", "bfloat16"};
    if (dtype >= 0 && (size_t)dtype < sizeof(names) / sizeof(names[0])) {
        return names[dtype];
    }
    return "unknown";
}

bool veil_dtype_is_float(int32_t dtype)
{
    return dtype == VEIL_DT_FLOAT || dtype == VEIL_DT_DOUBLE || dtype == VEIL_DT_FLOAT16 ||
           dtype == VEIL_DT_BFLOAT16;
}

bool veil_dtype_is_int(int32_t dtype)
{
    return dtype == VEIL_DT_UINT8 || dtype == VEIL_DT_INT8 || dtype == VEIL_DT_UINT16 ||
           dtype == VEIL_DT_INT16 || dtype == VEIL_DT_INT32 || dtype == VEIL_DT_INT64 ||
           dtype == VEIL_DT_UINT32 || dtype == VEIL_DT_UINT64;
}

VEIL_RESULT veil_tensor_shape(struct veil_tensor *t, int32_t dtype, uint32_t rank,
                              const int64_t *dims)
{
    size_t esize = veil_dtype_size(dtype);
    size_t count = 1;

    ENSURE(esize != 0, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(rank <= VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
    for (uint32_t i = 0; i < rank; i++) {
        ENSURE(dims[i] >= 0, VEIL_ERR_ENGINE_SHAPE);
        ENSURE((uint64_t)dims[i] <= VEIL_ENGINE_TENSOR_SIZE_MAX, VEIL_ERR_ENGINE_LIMIT);
    }
    for (uint32_t i = 0; i < rank; i++) {
        if (dims[i] == 0) {
            count = 0;
            break;
        }
    }
    if (count != 0) {
        for (uint32_t i = 0; i < rank; i++) {
            size_t d = (size_t)dims[i];
            ENSURE(count <= VEIL_ENGINE_TENSOR_SIZE_MAX / d, VEIL_ERR_ENGINE_LIMIT);
            count *= d;
        }
    }
    ENSURE(count <= VEIL_ENGINE_TENSOR_SIZE_MAX / esize, VEIL_ERR_ENGINE_LIMIT);
    t->dtype = dtype;
    t->rank = rank;
    for (uint32_t i = 0; i < VEIL_ENGINE_RANK_MAX; i++) {
        t->dims[i] = i < rank ? dims[i] : 0;
    }
    t->count = count;
    t->size = count * esize;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_tensor_alloc(struct veil_tensor *t)
{
    VEIL_ASSERT(t->data == NULL);
    t->data = calloc(1, t->size > 0 ? t->size : 1);
    ENSURE(t->data != NULL, VEIL_ERR_NOMEM);
    t->borrowed = false;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_tensor_alloc_uninit(struct veil_tensor *t)
{
    VEIL_ASSERT(t->data == NULL);
    t->data = malloc(t->size > 0 ? t->size : 1);
    ENSURE(t->data != NULL, VEIL_ERR_NOMEM);
    t->borrowed = false;
    return VEIL_RESULT_OK;
}

VEIL_RESULT veil_tensor_copy(const struct veil_tensor *src, struct veil_tensor *dst)
{
    struct veil_tensor t = *src;
    t.data = NULL;
    GUARD(veil_tensor_alloc(&t));
    if (src->size > 0) {
        memcpy(t.data, src->data, src->size);
    }
    *dst = t;
    return VEIL_RESULT_OK;
}

void veil_tensor_view(const struct veil_tensor *src, struct veil_tensor *dst)
{
    *dst = *src;
    dst->borrowed = true;
}

void veil_tensor_free(struct veil_tensor *t)
{
    if (t == NULL) {
        return;
    }
    if (!t->borrowed) {
        free(t->data);
    }
    memset(t, 0, sizeof(*t));
}

bool veil_tensor_same_shape(const struct veil_tensor *a, const struct veil_tensor *b)
{
    if (a->rank != b->rank) {
        return false;
    }
    for (uint32_t i = 0; i < a->rank; i++) {
        if (a->dims[i] != b->dims[i]) {
            return false;
        }
    }
    return true;
}

float veil_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t man = h & 0x3ff;
    uint32_t bits;
    float f;

    if (exp == 0) {
        float v = ldexpf((float)man, -24);
        return sign ? -v : v;
    }
    if (exp == 31) {
        bits = sign | 0x7f800000u | (man << 13);
    } else {
        bits = sign | ((exp + 112) << 23) | (man << 13);
    }
    memcpy(&f, &bits, sizeof(f));
    return f;
}

uint16_t veil_f32_to_f16(float f)
{
    uint32_t x;
    uint32_t sign;
    uint32_t exp;
    uint32_t man;

    memcpy(&x, &f, sizeof(x));
    sign = (x >> 16) & 0x8000u;
    exp = (x >> 23) & 0xff;
    man = x & 0x7fffff;
    if (exp == 0xff) {
        return (uint16_t)(sign | 0x7c00u | (man ? 0x200u : 0));
    }
    int32_t e = (int32_t)exp - 127 + 15;
    if (e >= 31) {
        return (uint16_t)(sign | 0x7c00u);
    }
    if (e <= 0) {
        if (e < -10) {
            return (uint16_t)sign;
        }
        man |= 0x800000u;
        uint32_t shift = (uint32_t)(14 - e);
        uint32_t half = man >> shift;
        uint32_t rem = man & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) {
            half++;
        }
        return (uint16_t)(sign | half);
    }
    uint32_t half = sign | ((uint32_t)e << 10) | (man >> 13);
    uint32_t rem = man & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (half & 1u))) {
        half++; /* may carry into the exponent: still correct rounding */
    }
    return (uint16_t)half;
}

float veil_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof(f));
    return f;
}

uint16_t veil_f32_to_bf16(float f)
{
    uint32_t x;
    memcpy(&x, &f, sizeof(x));
    if (isnan(f)) {
        return (uint16_t)((x >> 16) | 0x40);
    }
    /* truncation, as the ONNX reference implementation (1.12) does */
    return (uint16_t)(x >> 16);
}

int64_t veil_f64_to_i64(double v)
{
    if (isnan(v)) {
        return INT64_MIN;
    }
    if (v >= 9223372036854775807.0) {
        return INT64_MAX;
    }
    if (v <= -9223372036854775808.0) {
        return INT64_MIN;
    }
    return (int64_t)v;
}

uint64_t veil_f64_to_u64(double v)
{
    if (isnan(v) || v <= 0) {
        return v <= -1.0 ? (uint64_t)veil_f64_to_i64(v) : 0;
    }
    if (v >= 18446744073709551615.0) {
        return UINT64_MAX;
    }
    return (uint64_t)v;
}

double veil_tensor_get_f64(const struct veil_tensor *t, size_t i)
{
    switch (t->dtype) {
        case VEIL_DT_FLOAT:
            return ((const float *)t->data)[i];
        case VEIL_DT_DOUBLE:
            return ((const double *)t->data)[i];
        case VEIL_DT_FLOAT16:
            return veil_f16_to_f32(((const uint16_t *)t->data)[i]);
        case VEIL_DT_BFLOAT16:
            return veil_bf16_to_f32(((const uint16_t *)t->data)[i]);
        case VEIL_DT_UINT8:
            return ((const uint8_t *)t->data)[i];
        case VEIL_DT_INT8:
            return ((const int8_t *)t->data)[i];
        case VEIL_DT_UINT16:
            return ((const uint16_t *)t->data)[i];
        case VEIL_DT_INT16:
            return ((const int16_t *)t->data)[i];
        case VEIL_DT_INT32:
            return ((const int32_t *)t->data)[i];
        case VEIL_DT_INT64:
            return (double)((const int64_t *)t->data)[i];
        case VEIL_DT_UINT32:
            return ((const uint32_t *)t->data)[i];
        case VEIL_DT_UINT64:
            return (double)((const uint64_t *)t->data)[i];
        case VEIL_DT_BOOL:
            return ((const uint8_t *)t->data)[i] != 0;
        default:
            return 0;
    }
}

int64_t veil_tensor_get_i64(const struct veil_tensor *t, size_t i)
{
    switch (t->dtype) {
        case VEIL_DT_INT64:
            return ((const int64_t *)t->data)[i];
        case VEIL_DT_UINT64:
            return (int64_t)((const uint64_t *)t->data)[i];
        case VEIL_DT_INT32:
            return ((const int32_t *)t->data)[i];
        case VEIL_DT_UINT32:
            return ((const uint32_t *)t->data)[i];
        case VEIL_DT_INT16:
            return ((const int16_t *)t->data)[i];
        case VEIL_DT_UINT16:
            return ((const uint16_t *)t->data)[i];
        case VEIL_DT_INT8:
            return ((const int8_t *)t->data)[i];
        case VEIL_DT_UINT8:
            return ((const uint8_t *)t->data)[i];
        case VEIL_DT_BOOL:
            return ((const uint8_t *)t->data)[i] != 0;
        default:
            return veil_f64_to_i64(veil_tensor_get_f64(t, i));
    }
}

void veil_tensor_set_f64(struct veil_tensor *t, size_t i, double v)
{
    switch (t->dtype) {
        case VEIL_DT_FLOAT:
            ((float *)t->data)[i] = (float)v;
            break;
        case VEIL_DT_DOUBLE:
            ((double *)t->data)[i] = v;
            break;
        case VEIL_DT_FLOAT16:
            ((uint16_t *)t->data)[i] = veil_f32_to_f16((float)v);
            break;
        case VEIL_DT_BFLOAT16:
            ((uint16_t *)t->data)[i] = veil_f32_to_bf16((float)v);
            break;
        case VEIL_DT_BOOL:
            ((uint8_t *)t->data)[i] = v != 0;
            break;
        case VEIL_DT_UINT64:
            ((uint64_t *)t->data)[i] = veil_f64_to_u64(v);
            break;
        default:
            veil_tensor_set_i64(t, i, veil_f64_to_i64(v));
            break;
    }
}

void veil_tensor_set_i64(struct veil_tensor *t, size_t i, int64_t v)
{
    switch (t->dtype) {
        case VEIL_DT_INT64:
            ((int64_t *)t->data)[i] = v;
            break;
        case VEIL_DT_UINT64:
            ((uint64_t *)t->data)[i] = (uint64_t)v;
            break;
        case VEIL_DT_INT32:
            ((int32_t *)t->data)[i] = (int32_t)v;
            break;
        case VEIL_DT_UINT32:
            ((uint32_t *)t->data)[i] = (uint32_t)v;
            break;
        case VEIL_DT_INT16:
            ((int16_t *)t->data)[i] = (int16_t)v;
            break;
        case VEIL_DT_UINT16:
            ((uint16_t *)t->data)[i] = (uint16_t)v;
            break;
        case VEIL_DT_INT8:
            ((int8_t *)t->data)[i] = (int8_t)v;
            break;
        case VEIL_DT_UINT8:
            ((uint8_t *)t->data)[i] = (uint8_t)v;
            break;
        case VEIL_DT_BOOL:
            ((uint8_t *)t->data)[i] = v != 0;
            break;
        default:
            veil_tensor_set_f64(t, i, (double)v);
            break;
    }
}

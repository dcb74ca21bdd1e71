/*
 * Elementwise operators with numpy broadcasting: arithmetic, comparison, logic, bit shifts, the
 * variadic Max/Min/Sum/Mean, PRelu and Where. Floats compute in double (exact for one
 * operation on float inputs), integers in 64-bit with wrap-around, never signed overflow.
 */
#include <math.h>
#include <string.h>

#include "engine/ops.h"

enum bin {
    B_ADD,
    B_SUB,
    B_MUL,
    B_DIV,
    B_POW,
    B_MOD,
    B_FMOD,
    B_AND,
    B_OR,
    B_XOR,
    B_EQ,
    B_LT,
    B_GT,
    B_LE,
    B_GE,
    B_SHL,
    B_SHR,
    B_MAX,
    B_MIN,
    B_PRELU,
};

static bool bin_is_cmp(enum bin k)
{
    return k == B_EQ || k == B_LT || k == B_GT || k == B_LE || k == B_GE;
}

static bool bin_is_logic(enum bin k)
{
    return k == B_AND || k == B_OR || k == B_XOR;
}

static double fbin(enum bin k, double a, double b)
{
    switch (k) {
        case B_ADD:
            return a + b;
        case B_SUB:
            return a - b;
        case B_MUL:
            return a * b;
        case B_DIV:
            return a / b;
        case B_POW:
            return pow(a, b);
        case B_MOD: {
            double r = fmod(a, b);
            if (r != 0 && ((r < 0) != (b < 0))) {
                r += b;
            }
            return r;
        }
        case B_FMOD:
            return fmod(a, b);
        case B_EQ:
            return a == b;
        case B_LT:
            return a < b;
        case B_GT:
            return a > b;
        case B_LE:
            return a <= b;
        case B_GE:
            return a >= b;
        case B_MAX:
            return isnan(a) || isnan(b) ? NAN : (a > b ? a : b);
        case B_MIN:
            return isnan(a) || isnan(b) ? NAN : (a < b ? a : b);
        case B_PRELU:
            return a < 0 ? a * b : a;
        case B_AND:
            return (a != 0) && (b != 0);
        case B_OR:
            return (a != 0) || (b != 0);
        case B_XOR:
            return (a != 0) != (b != 0);
        default:
            return 0;
    }
}

static int64_t ipow(int64_t a, int64_t b)
{
    uint64_t r = 1;
    uint64_t base = (uint64_t)a;
    if (b < 0) {
        return a == 1 ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0);
    }
    while (b > 0) {
        if (b & 1) {
            r *= base;
        }
        base *= base;
        b >>= 1;
    }
    return (int64_t)r;
}

static VEIL_RESULT ibin(enum bin k, int64_t a, int64_t b, bool uns, int64_t *out)
{
    uint64_t ua = (uint64_t)a;
    uint64_t ub = (uint64_t)b;
    switch (k) {
        case B_ADD:
            *out = (int64_t)(ua + ub);
            break;
        case B_SUB:
            *out = (int64_t)(ua - ub);
            break;
        case B_MUL:
            *out = (int64_t)(ua * ub);
            break;
        case B_DIV:
            ENSURE(b != 0, VEIL_ERR_ENGINE_INDEX);
            if (uns) {
                *out = (int64_t)(ua / ub);
            } else {
                *out = (a == INT64_MIN && b == -1) ? INT64_MIN : a / b;
            }
            break;
        case B_MOD:
        case B_FMOD:
            ENSURE(b != 0, VEIL_ERR_ENGINE_INDEX);
            if (uns) {
                *out = (int64_t)(ua % ub);
            } else if (b == -1) {
                *out = 0;
            } else {
                int64_t r = a % b;
                if (k == B_MOD && r != 0 && ((r < 0) != (b < 0))) {
                    r += b;
                }
                *out = r;
            }
            break;
        case B_POW:
            *out = ipow(a, b);
            break;
        case B_SHL:
            *out = ub >= 64 ? 0 : (int64_t)(ua << ub);
            break;
        case B_SHR:
            *out = ub >= 64 ? 0 : (int64_t)(ua >> ub);
            break;
        case B_EQ:
            *out = a == b;
            break;
        case B_LT:
            *out = uns ? ua < ub : a < b;
            break;
        case B_GT:
            *out = uns ? ua > ub : a > b;
            break;
        case B_LE:
            *out = uns ? ua <= ub : a <= b;
            break;
        case B_GE:
            *out = uns ? ua >= ub : a >= b;
            break;
        case B_MAX:
            *out = (uns ? ua > ub : a > b) ? a : b;
            break;
        case B_MIN:
            *out = (uns ? ua < ub : a < b) ? a : b;
            break;
        case B_PRELU:
            *out = a < 0 ? (int64_t)(ua * ub) : a;
            break;
        default:
            *out = (int64_t)fbin(k, (double)a, (double)b);
            break;
    }
    return VEIL_RESULT_OK;
}

/* Float Add/Sub/Mul/Div/Max/Min (NaN in, NaN out). The broadcast is split into an outer loop and an
 * inner run over which each input is either contiguous or one repeated value, so the inner loop
 * vectorizes; the work is split over the frame's threads. Same results as fbin: one float operation
 * computed in double rounds exactly as in float. */
#define FB_CHUNK 16384

struct fb_job {
    enum bin k;
    const float *a;
    const float *b;
    float *o;
    const struct veil_bcast *it;
    uint32_t outer_rank;
    size_t inner;
    size_t chunks; /* per outer index */
    bool a_rep;
    bool b_rep;
};

#define FB_LOOP(expr)                        \
    do {                                     \
        if (!j->a_rep && !j->b_rep) {        \
            for (size_t i = 0; i < n; i++) { \
                float x = a[i], y = b[i];    \
                o[i] = (expr);               \
            }                                \
        } else if (j->b_rep) {               \
            float y = b[0];                  \
            for (size_t i = 0; i < n; i++) { \
                float x = a[i];              \
                o[i] = (expr);               \
            }                                \
        } else {                             \
            float x = a[0];                  \
            for (size_t i = 0; i < n; i++) { \
                float y = b[i];              \
                o[i] = (expr);               \
            }                                \
        }                                    \
    } while (0)

VEIL_TARGET_CLONES
static void fb_part(void *ctx, size_t begin, size_t end)
{
    const struct fb_job *j = ctx;
    for (size_t w = begin; w < end; w++) {
        size_t outer = w / j->chunks;
        size_t i0 = w % j->chunks * FB_CHUNK;
        size_t n = j->inner - i0 < FB_CHUNK ? j->inner - i0 : FB_CHUNK;
        size_t oa = 0;
        size_t ob = 0;
        size_t t = outer;
        for (uint32_t d = j->outer_rank; d-- > 0;) {
            size_t idx = t % (size_t)j->it->dims[d];
            t /= (size_t)j->it->dims[d];
            oa += idx * j->it->stride[0][d];
            ob += idx * j->it->stride[1][d];
        }
        const float *a = j->a + oa + (j->a_rep ? 0 : i0);
        const float *b = j->b + ob + (j->b_rep ? 0 : i0);
        float *o = j->o + outer * j->inner + i0;
        switch (j->k) {
            case B_ADD:
                FB_LOOP(x + y);
                break;
            case B_SUB:
                FB_LOOP(x - y);
                break;
            case B_MUL:
                FB_LOOP(x * y);
                break;
            case B_DIV:
                FB_LOOP(x / y);
                break;
            case B_MAX:
                FB_LOOP(x != x || y != y ? x + y : (x > y ? x : y));
                break;
            default:
                FB_LOOP(x != x || y != y ? x + y : (x < y ? x : y));
                break;
        }
    }
}

/* false when the shapes do not split into a long enough inner run: the caller takes the general
 * path. */
static bool fb_try(const struct veil_op_ctx *c, enum bin k, const struct veil_bcast *it,
                   const struct veil_tensor *a, const struct veil_tensor *b,
                   struct veil_tensor *out)
{
    struct fb_job j = {k, a->data, b->data, out->data, it, 0, 1, 1, false, false};
    int mode[2] = {-1, -1}; /* per input: -1 undecided, 0 repeated, 1 contiguous */
    uint32_t d = it->rank;

    if (c == NULL ||
        (k != B_ADD && k != B_SUB && k != B_MUL && k != B_DIV && k != B_MAX && k != B_MIN)) {
        return false;
    }
    while (d > 0) {
        size_t dim = (size_t)it->dims[d - 1];
        bool fits = true;
        if (dim != 1) {
            for (int q = 0; q < 2; q++) {
                size_t st = it->stride[q][d - 1];
                int m = st == 0 ? 0 : (st == j.inner ? 1 : 2);
                if (m == 2 || (mode[q] != -1 && mode[q] != m)) {
                    fits = false;
                }
            }
        }
        if (!fits) {
            break;
        }
        if (dim != 1) {
            mode[0] = it->stride[0][d - 1] == 0 ? 0 : 1;
            mode[1] = it->stride[1][d - 1] == 0 ? 0 : 1;
        }
        j.inner *= dim;
        d--;
    }
    if (j.inner < 8 || out->count == 0) {
        return false;
    }
    j.outer_rank = d;
    j.a_rep = mode[0] == 0;
    j.b_rep = mode[1] == 0;
    if (j.a_rep && j.b_rep) {
        return false;
    }
    j.chunks = (j.inner + FB_CHUNK - 1) / FB_CHUNK;
    size_t items = out->count / j.inner * j.chunks;
    size_t per = j.inner < FB_CHUNK ? j.inner : FB_CHUNK;
    return veil_ok(veil_op_parallel(c, items, 1 + 32768 / per, fb_part, &j));
}

struct hs_job {
    const float *x;
    float *y;
    float p[4];
};

VEIL_TARGET_CLONES
static void hs_part(void *ctx, size_t begin, size_t end)
{
    const struct hs_job *j = ctx;
    for (size_t i = begin; i < end; i++) {
        float x = j->x[i];
        float t = x + j->p[0];
        t = t < j->p[1] ? j->p[1] : t;
        t = t > j->p[2] ? j->p[2] : t;
        j->y[i] = (x * t) / j->p[3];
    }
}

VEIL_RESULT veil_op_hard_swish_run(struct veil_op_ctx *c, uint32_t xi, const float *p)
{
    const struct veil_tensor *x = c->in[xi];
    struct veil_tensor *y = c->out[0];
    /* the Add's shape() ran: y is x's shape when the other input is a scalar */
    ENSURE(x->dtype == VEIL_DT_FLOAT && y->dtype == VEIL_DT_FLOAT && y->count == x->count,
           VEIL_ERR_ENGINE_SHAPE);
    struct hs_job j = {x->data, y->data, {p[0], p[1], p[2], p[3]}};
    return veil_op_parallel(c, x->count, 32768, hs_part, &j);
}

/* out[i] = a[i] (op) b[i] over the broadcast of a and b onto out's shape. */
static VEIL_RESULT bin_apply(const struct veil_op_ctx *c, enum bin k, const struct veil_tensor *a,
                             const struct veil_tensor *b, struct veil_tensor *out)
{
    const struct veil_tensor *ins[2] = {a, b};
    struct veil_bcast it;
    bool uns = a->dtype == VEIL_DT_UINT64 || a->dtype == VEIL_DT_UINT32 ||
               a->dtype == VEIL_DT_UINT16 || a->dtype == VEIL_DT_UINT8;

    veil_bcast_init(&it, out, ins, 2);
    if (a->dtype == VEIL_DT_FLOAT && b->dtype == VEIL_DT_FLOAT && out->dtype == VEIL_DT_FLOAT) {
        const float *pa = a->data;
        const float *pb = b->data;
        float *po = out->data;
        if (fb_try(c, k, &it, a, b, out)) {
            return VEIL_RESULT_OK;
        }
        if (k == B_POW && b->count == 1 && pb[0] == 2.0f && a->count == out->count) {
            /* x^2 (variance in layer norms): the float square rounds as pow's exact double */
            for (size_t i = 0; i < out->count; i++) {
                po[i] = pa[i] * pa[i];
            }
            return VEIL_RESULT_OK;
        }
        for (size_t i = 0; i < out->count; i++, veil_bcast_next(&it)) {
            po[i] = (float)fbin(k, pa[it.off[0]], pb[it.off[1]]);
        }
        return VEIL_RESULT_OK;
    }
    if (veil_dtype_is_float(a->dtype) || bin_is_logic(k)) {
        for (size_t i = 0; i < out->count; i++, veil_bcast_next(&it)) {
            veil_tensor_set_f64(
                out, i,
                fbin(k, veil_tensor_get_f64(a, it.off[0]), veil_tensor_get_f64(b, it.off[1])));
        }
        return VEIL_RESULT_OK;
    }
    for (size_t i = 0; i < out->count; i++, veil_bcast_next(&it)) {
        int64_t v;
        int64_t bv = veil_dtype_is_float(b->dtype)
                         ? veil_f64_to_i64(veil_tensor_get_f64(b, it.off[1]))
                         : veil_tensor_get_i64(b, it.off[1]);
        if (k == B_POW && veil_dtype_is_float(b->dtype)) {
            veil_tensor_set_f64(
                out, i, pow(veil_tensor_get_f64(a, it.off[0]), veil_tensor_get_f64(b, it.off[1])));
            continue;
        }
        GUARD(ibin(k, veil_tensor_get_i64(a, it.off[0]), bv, uns, &v));
        veil_tensor_set_i64(out, i, v);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT bin_kind(const struct veil_op_ctx *c, enum bin *k)
{
    const struct veil_op *op = c->node->op;
    static const struct {
        const struct veil_op *op; /* compared by address: no string compares per run */
        enum bin k;
    } map[] = {{&veil_op_Add, B_ADD},        {&veil_op_Sub, B_SUB},
               {&veil_op_Mul, B_MUL},        {&veil_op_Div, B_DIV},
               {&veil_op_Pow, B_POW},        {&veil_op_Mod, B_MOD},
               {&veil_op_And, B_AND},        {&veil_op_Or, B_OR},
               {&veil_op_Xor, B_XOR},        {&veil_op_Equal, B_EQ},
               {&veil_op_Less, B_LT},        {&veil_op_Greater, B_GT},
               {&veil_op_LessOrEqual, B_LE}, {&veil_op_GreaterOrEqual, B_GE},
               {&veil_op_BitShift, B_SHL},   {&veil_op_Max, B_MAX},
               {&veil_op_Min, B_MIN},        {&veil_op_Sum, B_ADD},
               {&veil_op_Mean, B_ADD},       {&veil_op_PRelu, B_PRELU}};
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
        if (map[i].op == op) {
            *k = map[i].k;
            if (*k == B_MOD) {
                int64_t fm;
                GUARD(veil_attr_int(c, "fmod", 0, &fm));
                *k = fm ? B_FMOD : B_MOD;
            } else if (*k == B_SHL) {
                char dir[8];
                GUARD(veil_attr_string(c, "direction", "", dir, sizeof(dir)));
                ENSURE(strcmp(dir, "LEFT") == 0 || strcmp(dir, "RIGHT") == 0, VEIL_ERR_ENGINE_ATTR);
                *k = dir[0] == 'L' ? B_SHL : B_SHR;
            }
            return VEIL_RESULT_OK;
        }
    }
    BAIL(VEIL_ERR_INTERNAL);
}

/* PRelu's slope broadcasts numpy-style; a 1-D slope of X's channel count (as older exporters
 * write it) is per channel: viewed as [C, 1, ..., 1]. */
static void prelu_slope(const struct veil_tensor *x, const struct veil_tensor *b,
                        struct veil_tensor *view)
{
    veil_tensor_view(b, view);
    if (b->rank == 1 && x->rank >= 3 && b->dims[0] == x->dims[1] && b->dims[0] != 1 &&
        b->dims[0] != x->dims[x->rank - 1]) {
        view->rank = x->rank - 1;
        for (uint32_t d = 1; d < view->rank; d++) {
            view->dims[d] = 1;
        }
    }
}

static VEIL_RESULT bin_shape(struct veil_op_ctx *c)
{
    enum bin k;
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    const struct veil_tensor *a;
    const struct veil_tensor *b;
    int32_t dt;

    GUARD(bin_kind(c, &k));
    GUARD(veil_op_arity(c, 2, 2, 1));
    a = c->in[0];
    b = c->in[1];
    ENSURE(veil_dtype_is_float(a->dtype) || veil_dtype_is_int(a->dtype) || a->dtype == VEIL_DT_BOOL,
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(k == B_POW || a->dtype == b->dtype, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(!bin_is_logic(k) || a->dtype == VEIL_DT_BOOL, VEIL_ERR_ENGINE_SHAPE);
    ENSURE((k != B_SHL && k != B_SHR) || veil_dtype_is_int(a->dtype), VEIL_ERR_ENGINE_SHAPE);
    if (k == B_PRELU) {
        struct veil_tensor slope;
        prelu_slope(a, b, &slope);
        b = &slope;
        GUARD(veil_op_bcast_shape((const struct veil_tensor *const[]){a, b}, 2, &rank, dims));
    } else {
        GUARD(veil_op_bcast_shape((const struct veil_tensor *const[]){a, b}, 2, &rank, dims));
    }
    if (k == B_PRELU) {
        /* the slope broadcasts to X, not the other way round */
        ENSURE(rank == a->rank, VEIL_ERR_ENGINE_SHAPE);
        for (uint32_t d = 0; d < rank; d++) {
            ENSURE(dims[d] == a->dims[d], VEIL_ERR_ENGINE_SHAPE);
        }
    }
    dt = bin_is_cmp(k) ? VEIL_DT_BOOL : a->dtype;
    return veil_op_out(c, 0, dt, rank, dims);
}

static VEIL_RESULT bin_run(struct veil_op_ctx *c)
{
    enum bin k;
    GUARD(bin_kind(c, &k));
    if (k == B_PRELU) {
        struct veil_tensor slope;
        prelu_slope(c->in[0], c->in[1], &slope);
        return bin_apply(c, k, c->in[0], &slope, c->out[0]);
    }
    return bin_apply(c, k, c->in[0], c->in[1], c->out[0]);
}

/* Max, Min, Sum, Mean: 1..N inputs folded pairwise into the output. */
static VEIL_RESULT var_shape(struct veil_op_ctx *c)
{
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];

    GUARD(veil_op_arity(c, 1, VEIL_OP_IN_MAX, 1));
    for (uint32_t k = 0; k < c->in_count; k++) {
        ENSURE(c->in[k] != NULL && c->in[k]->dtype == c->in[0]->dtype, VEIL_ERR_ENGINE_SHAPE);
    }
    ENSURE(veil_dtype_is_float(c->in[0]->dtype) || veil_dtype_is_int(c->in[0]->dtype),
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(veil_op_bcast_shape(c->in, c->in_count, &rank, dims));
    return veil_op_out(c, 0, c->in[0]->dtype, rank, dims);
}

static VEIL_RESULT var_run(struct veil_op_ctx *c)
{
    enum bin k;
    struct veil_tensor *out = c->out[0];
    struct veil_bcast it;

    GUARD(bin_kind(c, &k));
    if (c->in_count == 2 && c->node->op != &veil_op_Mean) {
        return bin_apply(c, k, c->in[0], c->in[1], out);
    }
    veil_bcast_init(&it, out, c->in, 1);
    for (size_t i = 0; i < out->count; i++, veil_bcast_next(&it)) {
        if (veil_dtype_is_float(out->dtype)) {
            veil_tensor_set_f64(out, i, veil_tensor_get_f64(c->in[0], it.off[0]));
        } else {
            veil_tensor_set_i64(out, i, veil_tensor_get_i64(c->in[0], it.off[0]));
        }
    }
    for (uint32_t j = 1; j < c->in_count; j++) {
        GUARD(bin_apply(NULL, k, out, c->in[j], out));
    }
    if (c->node->op == &veil_op_Mean) {
        for (size_t i = 0; i < out->count; i++) {
            veil_tensor_set_f64(out, i, veil_tensor_get_f64(out, i) / c->in_count);
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT where_shape(struct veil_op_ctx *c)
{
    uint32_t rank;
    int64_t dims[VEIL_ENGINE_RANK_MAX];

    GUARD(veil_op_arity(c, 3, 3, 1));
    ENSURE(c->in[0]->dtype == VEIL_DT_BOOL, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(c->in[1]->dtype == c->in[2]->dtype, VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_op_bcast_shape(c->in, 3, &rank, dims));
    return veil_op_out(c, 0, c->in[1]->dtype, rank, dims);
}

static VEIL_RESULT where_run(struct veil_op_ctx *c)
{
    struct veil_tensor *out = c->out[0];
    struct veil_bcast it;
    size_t es = veil_dtype_size(out->dtype);
    const uint8_t *cond = c->in[0]->data;
    const uint8_t *x = c->in[1]->data;
    const uint8_t *y = c->in[2]->data;
    uint8_t *o = out->data;

    veil_bcast_init(&it, out, c->in, 3);
    for (size_t i = 0; i < out->count; i++, veil_bcast_next(&it)) {
        if (cond[it.off[0]]) {
            veil_op_elem(o, i, x, it.off[1], es);
        } else {
            veil_op_elem(o, i, y, it.off[2], es);
        }
    }
    return VEIL_RESULT_OK;
}

#define BIN_OP(n) const struct veil_op veil_op_##n = {#n, bin_shape, bin_run, false};
#define VAR_OP(n) const struct veil_op veil_op_##n = {#n, var_shape, var_run, false};
BIN_OP(Add)
BIN_OP(Sub)
BIN_OP(Mul)
BIN_OP(Div)
BIN_OP(Pow)
BIN_OP(Mod)
BIN_OP(And)
BIN_OP(Or)
BIN_OP(Xor)
BIN_OP(Equal)
BIN_OP(Less)
BIN_OP(Greater)
BIN_OP(LessOrEqual)
BIN_OP(GreaterOrEqual)
BIN_OP(BitShift)
BIN_OP(PRelu)
VAR_OP(Max)
VAR_OP(Min)
VAR_OP(Sum)
VAR_OP(Mean)
const struct veil_op veil_op_Where = {"Where", where_shape, where_run, false};

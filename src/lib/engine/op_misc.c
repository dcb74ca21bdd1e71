/*
 * Assorted operators: MeanVarianceNormalization, Det, Einsum, Unique, HannWindow,
 * HammingWindow, BlackmanWindow, DFT, STFT. Reference kernels in double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ops.h"

#define PI 3.14159265358979323846

/* ---- MeanVarianceNormalization: (X - mean) / (std + 1e-9) over axes (default 0, 2, 3) ---- */
static VEIL_RESULT mvn_axes(const struct veil_op_ctx *c, bool *red)
{
    const int64_t *a;
    size_t n;
    static const int64_t def[] = {0, 2, 3};
    const struct veil_tensor *x = c->in[0];

    GUARD(veil_attr_ints(c, "axes", &a, &n));
    if (veil_attr_find(c, "axes") == NULL) {
        a = def;
        n = 3;
    }
    for (uint32_t d = 0; d < x->rank; d++) {
        red[d] = false;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t ax;
        GUARD(veil_op_axis(a[i], x->rank, 0, &ax));
        red[ax] = true;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT mvn_shape(struct veil_op_ctx *c)
{
    bool red[VEIL_ENGINE_RANK_MAX];
    GUARD(veil_op_arity(c, 1, 1, 1));
    ENSURE(veil_dtype_is_float(c->in[0]->dtype), VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    GUARD(mvn_axes(c, red));
    return veil_op_out_like(c, 0, c->in[0]);
}

static VEIL_RESULT mvn_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    bool red[VEIL_ENGINE_RANK_MAX];
    size_t gstride[VEIL_ENGINE_RANK_MAX];
    size_t groups = 1;
    double *sum;
    double *sq;
    size_t per;

    GUARD(mvn_axes(c, red));
    for (uint32_t d = x->rank; d-- > 0;) {
        gstride[d] = red[d] ? 0 : groups;
        groups *= red[d] ? 1 : (size_t)x->dims[d];
    }
    per = groups > 0 ? x->count / groups : 0;
    sum = calloc(groups + 1, sizeof(*sum));
    sq = calloc(groups + 1, sizeof(*sq));
    if (sum == NULL || sq == NULL) {
        free(sum);
        free(sq);
        BAIL(VEIL_ERR_NOMEM);
    }
    for (int pass = 0; pass < 2; pass++) {
        int64_t idx[VEIL_ENGINE_RANK_MAX] = {0};
        for (size_t i = 0; i < x->count; i++) {
            size_t g = 0;
            for (uint32_t d = 0; d < x->rank; d++) {
                g += (size_t)idx[d] * gstride[d];
            }
            double v = veil_tensor_get_f64(x, i);
            if (pass == 0) {
                sum[g] += v;
                sq[g] += v * v;
            } else {
                double mean = sum[g] / (double)per;
                double var = sq[g] / (double)per - mean * mean;
                veil_tensor_set_f64(c->out[0], i, (v - mean) / (sqrt(var > 0 ? var : 0) + 1e-9));
            }
            for (uint32_t d = x->rank; d-- > 0;) {
                if (++idx[d] < x->dims[d]) {
                    break;
                }
                idx[d] = 0;
            }
        }
    }
    free(sum);
    free(sq);
    return VEIL_RESULT_OK;
}

/* ---- Det ---- */
static VEIL_RESULT det_shape(struct veil_op_ctx *c)
{
    const struct veil_tensor *x;
    GUARD(veil_op_arity(c, 1, 1, 1));
    x = c->in[0];
    ENSURE(veil_dtype_is_float(x->dtype) && x->rank >= 2 &&
               x->dims[x->rank - 1] == x->dims[x->rank - 2] && x->dims[x->rank - 1] <= 4096,
           VEIL_ERR_ENGINE_SHAPE);
    return veil_op_out(c, 0, x->dtype, x->rank - 2, x->dims);
}

static VEIL_RESULT det_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    size_t n = (size_t)x->dims[x->rank - 1];
    size_t mats = veil_op_span(x, 0, x->rank - 2);
    double *a;

    GUARD(veil_op_work(c, mats, n, n, n));
    a = malloc((n * n + 1) * sizeof(*a));
    ENSURE(a != NULL, VEIL_ERR_NOMEM);
    for (size_t m = 0; m < mats; m++) {
        double det = 1.0;
        for (size_t i = 0; i < n * n; i++) {
            a[i] = veil_tensor_get_f64(x, m * n * n + i);
        }
        for (size_t col = 0; col < n; col++) {
            size_t piv = col;
            for (size_t r = col + 1; r < n; r++) {
                piv = fabs(a[r * n + col]) > fabs(a[piv * n + col]) ? r : piv;
            }
            if (a[piv * n + col] == 0) {
                det = 0;
                break;
            }
            if (piv != col) {
                for (size_t k = 0; k < n; k++) {
                    double t = a[col * n + k];
                    a[col * n + k] = a[piv * n + k];
                    a[piv * n + k] = t;
                }
                det = -det;
            }
            det *= a[col * n + col];
            for (size_t r = col + 1; r < n; r++) {
                double f = a[r * n + col] / a[col * n + col];
                for (size_t k = col; k < n; k++) {
                    a[r * n + k] -= f * a[col * n + k];
                }
            }
        }
        veil_tensor_set_f64(c->out[0], m, det);
    }
    free(a);
    return VEIL_RESULT_OK;
}

/* ---- Einsum: letters, implicit or explicit output, one "..." (the same dims everywhere) ---- */
#define EIN_LETTERS 64

struct ein {
    uint32_t nin;
    char term[VEIL_BCAST_MAX + 1][VEIL_ENGINE_RANK_MAX + 1]; /* per input, then output */
    uint32_t len[VEIL_BCAST_MAX + 1];
    int64_t size[EIN_LETTERS]; /* per letter index, -1 unused */
    char letters[EIN_LETTERS];
    uint32_t nletters;
};

static int ein_letter(struct ein *e, char ch)
{
    for (uint32_t i = 0; i < e->nletters; i++) {
        if (e->letters[i] == ch) {
            return (int)i;
        }
    }
    if (e->nletters >= EIN_LETTERS) {
        return -1;
    }
    e->letters[e->nletters] = ch;
    e->size[e->nletters] = -1;
    return (int)e->nletters++;
}

/* Parses one term into e->term[k], expanding "..." to the letters '0'.. for ell dims. */
static VEIL_RESULT ein_term(struct ein *e, uint32_t k, const char *s, size_t n, uint32_t ell)
{
    uint32_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ' ') {
            continue;
        }
        if (s[i] == '.') {
            ENSURE(i + 2 < n, VEIL_ERR_ENGINE_ATTR);
            ENSURE(s[i + 1] == '.' && s[i + 2] == '.', VEIL_ERR_ENGINE_ATTR);
            for (uint32_t j = 0; j < ell; j++) {
                ENSURE(len < VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
                e->term[k][len++] = (char)('0' + j);
            }
            i += 2;
            continue;
        }
        ENSURE((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'), VEIL_ERR_ENGINE_ATTR);
        ENSURE(len < VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
        e->term[k][len++] = s[i];
    }
    e->term[k][len] = '\0';
    e->len[k] = len;
    return VEIL_RESULT_OK;
}

static size_t count_letters(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++) {
        c += (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z');
    }
    return c;
}

static VEIL_RESULT ein_parse(const struct veil_op_ctx *c, struct ein *e)
{
    char eq[256];
    const char *arrow;
    const char *p;
    uint32_t ell = 0;

    memset(e, 0, sizeof(*e));
    GUARD(veil_attr_string(c, "equation", "", eq, sizeof(eq)));
    ENSURE(c->in_count >= 1 && c->in_count <= VEIL_BCAST_MAX, VEIL_ERR_ENGINE_UNSUPPORTED_OP);
    e->nin = c->in_count;
    arrow = strstr(eq, "->");
    p = eq;
    for (uint32_t k = 0; k < e->nin; k++) {
        const char *end = strchr(p, ',');
        const char *stop = arrow != NULL ? arrow : eq + strlen(eq);
        if (end == NULL || end > stop) {
            end = stop;
        }
        ENSURE(k + 1 == e->nin ? end == stop : end < stop, VEIL_ERR_ENGINE_ATTR);
        ENSURE(c->in[k] != NULL, VEIL_ERR_ENGINE_SHAPE);
        size_t n = (size_t)(end - p);
        bool has_ell = memchr(p, '.', n) != NULL;
        size_t nl = count_letters(p, n);
        ENSURE(c->in[k]->rank >= nl, VEIL_ERR_ENGINE_SHAPE);
        if (has_ell) {
            ell = c->in[k]->rank - (uint32_t)nl;
        }
        GUARD(ein_term(e, k, p, n, has_ell ? c->in[k]->rank - (uint32_t)nl : 0));
        ENSURE(e->len[k] == c->in[k]->rank, VEIL_ERR_ENGINE_SHAPE);
        p = end + 1;
    }
    if (arrow != NULL) {
        GUARD(ein_term(e, e->nin, arrow + 2, strlen(arrow + 2), ell));
    } else {
        /* implicit: ellipsis dims, then letters seen once, in alphabetical order */
        uint32_t len = 0;
        for (uint32_t j = 0; j < ell; j++) {
            e->term[e->nin][len++] = (char)('0' + j);
        }
        for (char ch = 'A'; ch <= 'z'; ch++) {
            uint32_t seen = 0;
            for (uint32_t k = 0; k < e->nin; k++) {
                for (uint32_t i = 0; i < e->len[k]; i++) {
                    seen += e->term[k][i] == ch;
                }
            }
            if (seen == 1 && ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
                ENSURE(len < VEIL_ENGINE_RANK_MAX, VEIL_ERR_ENGINE_LIMIT);
                e->term[e->nin][len++] = ch;
            }
        }
        e->term[e->nin][len] = '\0';
        e->len[e->nin] = len;
    }
    for (uint32_t k = 0; k < e->nin; k++) {
        for (uint32_t i = 0; i < e->len[k]; i++) {
            int l = ein_letter(e, e->term[k][i]);
            ENSURE(l >= 0, VEIL_ERR_ENGINE_LIMIT);
            int64_t d = c->in[k]->dims[i];
            ENSURE(e->size[l] < 0 || e->size[l] == d, VEIL_ERR_ENGINE_SHAPE);
            e->size[l] = d;
        }
    }
    for (uint32_t i = 0; i < e->len[e->nin]; i++) {
        int l = ein_letter(e, e->term[e->nin][i]);
        ENSURE(l >= 0 && e->size[l] >= 0, VEIL_ERR_ENGINE_SHAPE);
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT einsum_shape(struct veil_op_ctx *c)
{
    struct ein e;
    int64_t dims[VEIL_ENGINE_RANK_MAX];
    size_t work = 1;

    GUARD(ein_parse(c, &e));
    for (uint32_t k = 1; k < e.nin; k++) {
        ENSURE(c->in[k]->dtype == c->in[0]->dtype, VEIL_ERR_ENGINE_SHAPE);
    }
    for (uint32_t i = 0; i < e.nletters; i++) {
        if (e.size[i] == 0) {
            work = 0;
            break;
        }
        GUARD(veil_op_work(c, work, (uint64_t)e.size[i], e.nin, 1));
        work *= (size_t)e.size[i];
    }
    for (uint32_t i = 0; i < e.len[e.nin]; i++) {
        dims[i] = e.size[ein_letter(&e, e.term[e.nin][i])];
    }
    return veil_op_out(c, 0, c->in[0]->dtype, e.len[e.nin], dims);
}

static VEIL_RESULT einsum_run(struct veil_op_ctx *c)
{
    struct ein e;
    int64_t val[EIN_LETTERS] = {0};
    struct veil_tensor *y = c->out[0];

    GUARD(ein_parse(c, &e));
    for (size_t i = 0; i < y->count; i++) {
        veil_tensor_set_f64(y, i, 0);
    }
    for (;;) {
        double prod = 1.0;
        size_t yo = 0;
        bool empty = false;
        for (uint32_t l = 0; l < e.nletters; l++) {
            empty |= e.size[l] == 0;
        }
        if (empty) {
            break;
        }
        for (uint32_t k = 0; k < e.nin; k++) {
            size_t off = 0;
            for (uint32_t i = 0; i < e.len[k]; i++) {
                int l = ein_letter(&e, e.term[k][i]);
                off = off * (size_t)c->in[k]->dims[i] + (size_t)val[l];
            }
            prod *= veil_tensor_get_f64(c->in[k], off);
        }
        for (uint32_t i = 0; i < e.len[e.nin]; i++) {
            int l = ein_letter(&e, e.term[e.nin][i]);
            yo = yo * (size_t)e.size[l] + (size_t)val[l];
        }
        veil_tensor_set_f64(y, yo, veil_tensor_get_f64(y, yo) + prod);
        uint32_t l = e.nletters;
        while (l-- > 0) {
            if (++val[l] < e.size[l]) {
                break;
            }
            val[l] = 0;
        }
        if (l == UINT32_MAX) {
            break;
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- Unique ---- */
struct uniq {
    const struct veil_tensor *x;
    size_t outer, n, inner;
};

static int slice_cmp(const struct uniq *u, size_t a, size_t b)
{
    for (size_t o = 0; o < u->outer; o++) {
        for (size_t i = 0; i < u->inner; i++) {
            double va = veil_tensor_get_f64(u->x, (o * u->n + a) * u->inner + i);
            double vb = veil_tensor_get_f64(u->x, (o * u->n + b) * u->inner + i);
            if (va != vb) {
                return va < vb ? -1 : 1;
            }
        }
    }
    return 0;
}

/* Unique slice order: first[j] = slice index of unique j; inv[i] = unique index of slice i. */
static VEIL_RESULT uniq_plan(const struct veil_op_ctx *c, struct uniq *u, size_t **first,
                             size_t **inv, size_t **count, size_t *nu, uint32_t *ax, bool *flat)
{
    const struct veil_tensor *x = c->in[0];
    int64_t sorted;
    const struct veil_attr *a = veil_attr_find(c, "axis");

    GUARD(veil_attr_int(c, "sorted", 1, &sorted));
    u->x = x;
    *flat = a == NULL;
    if (*flat) {
        u->outer = 1;
        u->n = x->count;
        u->inner = 1;
        *ax = 0;
    } else {
        int64_t axis;
        GUARD(veil_attr_int(c, "axis", 0, &axis));
        GUARD(veil_op_axis(axis, x->rank, 0, ax));
        u->outer = veil_op_span(x, 0, *ax);
        u->n = (size_t)x->dims[*ax];
        u->inner = veil_op_span(x, *ax + 1, x->rank);
    }
    GUARD(veil_op_work(c, u->n, u->n, u->outer * u->inner, 1)); /* quadratic reference kernel */
    *first = calloc(u->n + 1, sizeof(size_t));
    *inv = calloc(u->n + 1, sizeof(size_t));
    *count = calloc(u->n + 1, sizeof(size_t));
    ENSURE(*first != NULL && *inv != NULL && *count != NULL, VEIL_ERR_NOMEM);
    *nu = 0;
    for (size_t i = 0; i < u->n; i++) {
        size_t j = 0;
        while (j < *nu && slice_cmp(u, (*first)[j], i) != 0) {
            j++;
        }
        if (j == *nu) {
            (*first)[(*nu)++] = i;
        }
        (*count)[j]++;
        (*inv)[i] = j;
    }
    if (sorted) {
        /* insertion sort of the uniques, carrying counts; then remap inverse */
        for (size_t i = 1; i < *nu; i++) {
            size_t f = (*first)[i];
            size_t cn = (*count)[i];
            size_t j = i;
            while (j > 0 && slice_cmp(u, (*first)[j - 1], f) > 0) {
                (*first)[j] = (*first)[j - 1];
                (*count)[j] = (*count)[j - 1];
                j--;
            }
            (*first)[j] = f;
            (*count)[j] = cn;
        }
        for (size_t i = 0; i < u->n; i++) {
            size_t j = 0;
            while (slice_cmp(u, (*first)[j], i) != 0) {
                j++;
            }
            (*inv)[i] = j;
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT unique_k(struct veil_op_ctx *c, bool run)
{
    struct uniq u;
    size_t *first = NULL;
    size_t *inv = NULL;
    size_t *count = NULL;
    size_t nu = 0;
    uint32_t ax;
    bool flat;
    veil_result r;

    if (!run) {
        GUARD(veil_op_arity(c, 1, 1, 1));
    }
    r = uniq_plan(c, &u, &first, &inv, &count, &nu, &ax, &flat);
    if (veil_ok(r) && !run) {
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        int64_t n = (int64_t)nu;
        int64_t nx = (int64_t)u.n;
        memcpy(dims, c->in[0]->dims, sizeof(dims));
        dims[ax] = n;
        r = flat ? veil_op_out(c, 0, c->in[0]->dtype, 1, &n)
                 : veil_op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, dims);
        for (uint32_t k = 1; veil_ok(r) && k < c->out_count && k < 4; k++) {
            r = veil_op_out(c, k, VEIL_DT_INT64, 1, k == 2 ? &nx : &n);
        }
    }
    if (veil_ok(r) && run) {
        size_t es = veil_dtype_size(c->in[0]->dtype);
        for (size_t o = 0; o < u.outer; o++) {
            for (size_t j = 0; j < nu; j++) {
                memcpy((uint8_t *)c->out[0]->data + ((o * nu + j) * u.inner) * es,
                       (const uint8_t *)c->in[0]->data + ((o * u.n + first[j]) * u.inner) * es,
                       u.inner * es);
            }
        }
        for (size_t j = 0; j < nu; j++) {
            if (c->out_count > 1) {
                ((int64_t *)c->out[1]->data)[j] = (int64_t)first[j];
            }
            if (c->out_count > 3) {
                ((int64_t *)c->out[3]->data)[j] = (int64_t)count[j];
            }
        }
        for (size_t i = 0; c->out_count > 2 && i < u.n; i++) {
            ((int64_t *)c->out[2]->data)[i] = (int64_t)inv[i];
        }
    }
    free(first);
    free(inv);
    free(count);
    return r;
}

static VEIL_RESULT unique_shape(struct veil_op_ctx *c)
{
    return unique_k(c, false);
}

static VEIL_RESULT unique_run(struct veil_op_ctx *c)
{
    return unique_k(c, true);
}

/* ---- HannWindow, HammingWindow, BlackmanWindow ---- */
static VEIL_RESULT window_shape(struct veil_op_ctx *c)
{
    int64_t dt;
    int64_t n;
    GUARD(veil_op_arity(c, 1, 1, 1));
    ENSURE(c->in[0]->count == 1 && veil_dtype_is_int(c->in[0]->dtype), VEIL_ERR_ENGINE_SHAPE);
    n = veil_tensor_get_i64(c->in[0], 0);
    ENSURE(n >= 0 && n <= ((int64_t)1 << 30), VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "output_datatype", VEIL_DT_FLOAT, &dt));
    ENSURE(dt > 0 && dt <= INT32_MAX, VEIL_ERR_ENGINE_ATTR);
    return veil_op_out(c, 0, (int32_t)dt, 1, &n);
}

static VEIL_RESULT window_run(struct veil_op_ctx *c)
{
    const char *name = c->node->op->name;
    int64_t periodic;
    int64_t n = c->out[0]->dims[0];
    double den;

    GUARD(veil_attr_int(c, "periodic", 1, &periodic));
    den = (double)(periodic ? n : n - 1);
    for (int64_t i = 0; i < n; i++) {
        double x = den > 0 ? 2.0 * PI * (double)i / den : 0.0;
        double v;
        if (name[1] == 'a' && name[2] == 'n') { /* Hann */
            v = 0.5 - 0.5 * cos(x);
        } else if (name[0] == 'H') { /* Hamming */
            v = 25.0 / 46.0 - 21.0 / 46.0 * cos(x);
        } else {
            v = 0.42 - 0.5 * cos(x) + 0.08 * cos(2.0 * x);
        }
        veil_tensor_set_f64(c->out[0], (size_t)i, v);
    }
    return VEIL_RESULT_OK;
}

/* ---- DFT (opset 17): [batch, n..., 1|2] -> [..., 2] along axis ---- */
static VEIL_RESULT dft_plan(const struct veil_op_ctx *c, uint32_t *ax, int64_t *len, bool *onesided,
                            bool *inverse)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *lt = veil_op_in(c, 1);
    int64_t axis;
    int64_t one;
    int64_t inv;

    ENSURE(veil_dtype_is_float(x->dtype) && x->rank >= 3, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(x->dims[x->rank - 1] == 1 || x->dims[x->rank - 1] == 2, VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "axis", 1, &axis));
    GUARD(veil_attr_int(c, "onesided", 0, &one));
    GUARD(veil_attr_int(c, "inverse", 0, &inv));
    GUARD(veil_op_axis(axis, x->rank - 1, 0, ax));
    ENSURE(*ax >= 1, VEIL_ERR_ENGINE_ATTR);
    *len = x->dims[*ax];
    if (lt != NULL) {
        ENSURE(lt->count == 1 && veil_dtype_is_int(lt->dtype), VEIL_ERR_ENGINE_SHAPE);
        *len = veil_tensor_get_i64(lt, 0);
    }
    ENSURE(*len >= 1 && *len <= (1 << 20), VEIL_ERR_ENGINE_SHAPE);
    *onesided = one != 0;
    *inverse = inv != 0;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT dft_shape(struct veil_op_ctx *c)
{
    uint32_t ax;
    int64_t len;
    bool one;
    bool inv;
    int64_t dims[VEIL_ENGINE_RANK_MAX];

    GUARD(veil_op_arity(c, 1, 2, 1));
    GUARD(dft_plan(c, &ax, &len, &one, &inv));
    memcpy(dims, c->in[0]->dims, sizeof(dims));
    dims[ax] = one ? len / 2 + 1 : len;
    dims[c->in[0]->rank - 1] = 2;
    return veil_op_out(c, 0, c->in[0]->dtype, c->in[0]->rank, dims);
}

static VEIL_RESULT dft_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    struct veil_tensor *y = c->out[0];
    uint32_t ax;
    int64_t len;
    bool one;
    bool inv;
    size_t comp = (size_t)x->dims[x->rank - 1];
    size_t outer;
    size_t inner;
    size_t nin;
    size_t nout;

    GUARD(dft_plan(c, &ax, &len, &one, &inv));
    outer = veil_op_span(x, 0, ax);
    inner = veil_op_span(x, ax + 1, x->rank - 1);
    nin = (size_t)x->dims[ax];
    nout = (size_t)y->dims[ax];
    GUARD(veil_op_work(c, outer * inner, nout, (uint64_t)len, 1));
    for (size_t o = 0; o < outer; o++) {
        for (size_t in = 0; in < inner; in++) {
            for (size_t k = 0; k < nout; k++) {
                double re = 0;
                double im = 0;
                for (size_t t = 0; t < (size_t)len && t < nin; t++) {
                    size_t xi = ((o * nin + t) * inner + in) * comp;
                    double xr = veil_tensor_get_f64(x, xi);
                    double xim = comp == 2 ? veil_tensor_get_f64(x, xi + 1) : 0.0;
                    double ang = (inv ? 2.0 : -2.0) * PI * (double)k * (double)t / (double)len;
                    re += xr * cos(ang) - xim * sin(ang);
                    im += xr * sin(ang) + xim * cos(ang);
                }
                if (inv) {
                    re /= (double)len;
                    im /= (double)len;
                }
                size_t yi = ((o * nout + k) * inner + in) * 2;
                veil_tensor_set_f64(y, yi, re);
                veil_tensor_set_f64(y, yi + 1, im);
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- STFT: signal [batch, n, 1|2], frame_step, window?, frame_length? ---- */
static VEIL_RESULT stft_plan(const struct veil_op_ctx *c, int64_t *step, int64_t *flen,
                             int64_t *frames, bool *onesided)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *w = veil_op_in(c, 2);
    const struct veil_tensor *fl = veil_op_in(c, 3);
    int64_t one;

    ENSURE(veil_dtype_is_float(x->dtype) && x->rank == 3 && (x->dims[2] == 1 || x->dims[2] == 2),
           VEIL_ERR_ENGINE_SHAPE);
    ENSURE(c->in[1]->count == 1 && veil_dtype_is_int(c->in[1]->dtype), VEIL_ERR_ENGINE_SHAPE);
    *step = veil_tensor_get_i64(c->in[1], 0);
    *flen = w != NULL ? (int64_t)w->count : 0;
    if (fl != NULL) {
        ENSURE(fl->count == 1 && veil_dtype_is_int(fl->dtype), VEIL_ERR_ENGINE_SHAPE);
        *flen = veil_tensor_get_i64(fl, 0);
    }
    ENSURE(w == NULL || (int64_t)w->count == *flen, VEIL_ERR_ENGINE_SHAPE);
    ENSURE(*step >= 1 && *flen >= 1 && *flen <= x->dims[1] && *flen <= (1 << 20),
           VEIL_ERR_ENGINE_SHAPE);
    GUARD(veil_attr_int(c, "onesided", 1, &one));
    *onesided = one != 0;
    *frames = (x->dims[1] - *flen) / *step + 1;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT stft_shape(struct veil_op_ctx *c)
{
    int64_t step;
    int64_t flen;
    int64_t frames;
    bool one;
    int64_t dims[4];

    GUARD(veil_op_arity(c, 2, 4, 1));
    GUARD(stft_plan(c, &step, &flen, &frames, &one));
    dims[0] = c->in[0]->dims[0];
    dims[1] = frames;
    dims[2] = one ? flen / 2 + 1 : flen;
    dims[3] = 2;
    return veil_op_out(c, 0, c->in[0]->dtype, 4, dims);
}

static VEIL_RESULT stft_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    const struct veil_tensor *w = veil_op_in(c, 2);
    struct veil_tensor *y = c->out[0];
    int64_t step;
    int64_t flen;
    int64_t frames;
    bool one;
    size_t comp = (size_t)x->dims[2];
    size_t bins = (size_t)y->dims[2];

    GUARD(stft_plan(c, &step, &flen, &frames, &one));
    GUARD(veil_op_work(c, (uint64_t)x->dims[0], (uint64_t)frames, bins, (uint64_t)flen));
    for (int64_t b = 0; b < x->dims[0]; b++) {
        for (int64_t f = 0; f < frames; f++) {
            for (size_t k = 0; k < bins; k++) {
                double re = 0;
                double im = 0;
                for (int64_t t = 0; t < flen; t++) {
                    size_t xi = ((size_t)(b * x->dims[1] + f * step + t)) * comp;
                    double wv = w != NULL ? veil_tensor_get_f64(w, (size_t)t) : 1.0;
                    double xr = veil_tensor_get_f64(x, xi) * wv;
                    double xim = comp == 2 ? veil_tensor_get_f64(x, xi + 1) * wv : 0.0;
                    double ang = -2.0 * PI * (double)k * (double)t / (double)flen;
                    re += xr * cos(ang) - xim * sin(ang);
                    im += xr * sin(ang) + xim * cos(ang);
                }
                size_t yi = (((size_t)(b * frames + f)) * bins + k) * 2;
                veil_tensor_set_f64(y, yi, re);
                veil_tensor_set_f64(y, yi + 1, im);
            }
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- MelWeightMatrix: triangular mel filters, as the ONNX reference computes them ---- */
struct mel {
    int64_t bins;
    int64_t dft;
    int64_t rate;
    double lo;
    double hi;
};

static VEIL_RESULT mel_params(const struct veil_op_ctx *c, struct mel *m)
{
    for (uint32_t k = 0; k < 5; k++) {
        ENSURE(c->in[k]->count == 1, VEIL_ERR_ENGINE_SHAPE);
    }
    m->bins = veil_tensor_get_i64(c->in[0], 0);
    m->dft = veil_tensor_get_i64(c->in[1], 0);
    m->rate = veil_tensor_get_i64(c->in[2], 0);
    m->lo = veil_tensor_get_f64(c->in[3], 0);
    m->hi = veil_tensor_get_f64(c->in[4], 0);
    ENSURE(m->bins >= 1 && m->bins <= 65536 && m->dft >= 1 && m->dft <= (1 << 24) && m->rate >= 1 &&
               isfinite(m->lo) && isfinite(m->hi) && m->lo >= 0 && m->hi >= m->lo,
           VEIL_ERR_ENGINE_SHAPE);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT mel_shape(struct veil_op_ctx *c)
{
    struct mel m;
    int64_t dt;
    int64_t dims[2];

    GUARD(veil_op_arity(c, 5, 5, 1));
    GUARD(mel_params(c, &m));
    GUARD(veil_attr_int(c, "output_datatype", VEIL_DT_FLOAT, &dt));
    ENSURE(dt > 0 && dt <= INT32_MAX, VEIL_ERR_ENGINE_ATTR);
    dims[0] = m.dft / 2 + 1;
    dims[1] = m.bins;
    return veil_op_out(c, 0, (int32_t)dt, 2, dims);
}

static VEIL_RESULT mel_run(struct veil_op_ctx *c)
{
    struct mel m;
    struct veil_tensor *y = c->out[0];
    int64_t *edge;
    int64_t rows;
    double lo_mel;
    double hi_mel;
    double step;

    GUARD(mel_params(c, &m));
    rows = m.dft / 2 + 1;
    edge = malloc((size_t)(m.bins + 2) * sizeof(*edge));
    ENSURE(edge != NULL, VEIL_ERR_NOMEM);
    lo_mel = 2595.0 * log10(1.0 + m.lo / 700.0);
    hi_mel = 2595.0 * log10(1.0 + m.hi / 700.0);
    step = (hi_mel - lo_mel) / (double)(m.bins + 2); /* as the ONNX 1.12 reference does */
    for (int64_t i = 0; i < m.bins + 2; i++) {
        double hz = 700.0 * (pow(10.0, ((double)i * step + lo_mel) / 2595.0) - 1.0);
        double bin = floor((double)(m.dft + 1) * hz / (double)m.rate);
        edge[i] = bin < 0 ? 0 : (bin > (double)(rows - 1) ? rows - 1 : (int64_t)bin);
    }
    for (int64_t i = 0; i < m.bins; i++) {
        int64_t l = edge[i];
        int64_t ctr = edge[i + 1];
        int64_t h = edge[i + 2];
        if (ctr == l) {
            veil_tensor_set_f64(y, (size_t)(ctr * m.bins + i), 1.0);
        } else {
            for (int64_t j = l; j <= ctr; j++) {
                veil_tensor_set_f64(y, (size_t)(j * m.bins + i),
                                    (double)(j - l) / (double)(ctr - l));
            }
        }
        for (int64_t j = ctr; j < h; j++) {
            veil_tensor_set_f64(y, (size_t)(j * m.bins + i), (double)(h - j) / (double)(h - ctr));
        }
    }
    free(edge);
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_MelWeightMatrix = {"MelWeightMatrix", mel_shape, mel_run, false};
const struct veil_op veil_op_MeanVarianceNormalization = {"MeanVarianceNormalization", mvn_shape,
                                                          mvn_run, false};
const struct veil_op veil_op_Det = {"Det", det_shape, det_run, false};
const struct veil_op veil_op_Einsum = {"Einsum", einsum_shape, einsum_run, false};
const struct veil_op veil_op_Unique = {"Unique", unique_shape, unique_run, false};
const struct veil_op veil_op_HannWindow = {"HannWindow", window_shape, window_run, false};
const struct veil_op veil_op_HammingWindow = {"HammingWindow", window_shape, window_run, false};
const struct veil_op veil_op_BlackmanWindow = {"BlackmanWindow", window_shape, window_run, false};
const struct veil_op veil_op_DFT = {"DFT", dft_shape, dft_run, false};
const struct veil_op veil_op_STFT = {"STFT", stft_shape, stft_run, false};

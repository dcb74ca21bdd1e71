/* TfIdfVectorizer over integer tokens (string pools are not supported). */
#include <string.h>

#include "engine/ops.h"

#define GRAM_MAX 64

struct tfidf {
    int64_t min_n, max_n, skip;
    int mode; /* 0 TF, 1 IDF, 2 TFIDF */
    const int64_t *counts;
    size_t ncounts;
    const int64_t *indexes;
    size_t nindexes;
    const int64_t *pool;
    size_t npool;
    const float *weights;
    size_t nweights;
    int64_t out;
};

static VEIL_RESULT tfidf_attrs(const struct veil_op_ctx *c, struct tfidf *t)
{
    char mode[8];

    GUARD(veil_attr_int(c, "min_gram_length", 0, &t->min_n));
    GUARD(veil_attr_int(c, "max_gram_length", 0, &t->max_n));
    GUARD(veil_attr_int(c, "max_skip_count", 0, &t->skip));
    GUARD(veil_attr_string(c, "mode", "", mode, sizeof(mode)));
    t->mode = strcmp(mode, "TF") == 0 ? 0 : (strcmp(mode, "IDF") == 0 ? 1 : 2);
    ENSURE(t->mode != 2 || strcmp(mode, "TFIDF") == 0, VEIL_ERR_ENGINE_ATTR);
    GUARD(veil_attr_ints(c, "ngram_counts", &t->counts, &t->ncounts));
    GUARD(veil_attr_ints(c, "ngram_indexes", &t->indexes, &t->nindexes));
    GUARD(veil_attr_ints(c, "pool_int64s", &t->pool, &t->npool));
    GUARD(veil_attr_floats(c, "weights", &t->weights, &t->nweights));
    ENSURE(veil_attr_find(c, "pool_strings") == NULL, VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(t->min_n >= 1 && t->max_n >= t->min_n && t->max_n <= GRAM_MAX &&
               (size_t)t->max_n <= t->ncounts && t->skip >= 0 && t->skip <= 1024,
           VEIL_ERR_ENGINE_ATTR);
    ENSURE(t->nweights == 0 || t->nweights == t->nindexes, VEIL_ERR_ENGINE_ATTR);
    /* ngram_counts[k]: where the (k+1)-grams start in the pool, non-decreasing */
    for (size_t k = 0; k < t->ncounts; k++) {
        ENSURE(t->counts[k] >= 0 && (size_t)t->counts[k] <= t->npool, VEIL_ERR_ENGINE_ATTR);
        ENSURE(k == 0 || t->counts[k] >= t->counts[k - 1], VEIL_ERR_ENGINE_ATTR);
    }
    t->out = 0;
    for (size_t i = 0; i < t->nindexes; i++) {
        ENSURE(t->indexes[i] >= 0 && t->indexes[i] < ((int64_t)1 << 24), VEIL_ERR_ENGINE_ATTR);
        t->out = t->indexes[i] + 1 > t->out ? t->indexes[i] + 1 : t->out;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT tfidf_shape(struct veil_op_ctx *c)
{
    struct tfidf t;
    const struct veil_tensor *x;
    int64_t dims[2];

    GUARD(veil_op_arity(c, 1, 1, 1));
    x = c->in[0];
    ENSURE(x->dtype == VEIL_DT_INT32 || x->dtype == VEIL_DT_INT64,
           VEIL_ERR_ENGINE_UNSUPPORTED_TYPE);
    ENSURE(x->rank == 1 || x->rank == 2, VEIL_ERR_ENGINE_SHAPE);
    GUARD(tfidf_attrs(c, &t));
    if (x->rank == 1) {
        return veil_op_out(c, 0, VEIL_DT_FLOAT, 1, &t.out);
    }
    dims[0] = x->dims[0];
    dims[1] = t.out;
    return veil_op_out(c, 0, VEIL_DT_FLOAT, 2, dims);
}

/* The n-gram's entry number (n-grams of every size numbered in pool order), or -1. */
static int64_t find_gram(const struct tfidf *t, int64_t n, const int64_t *gram)
{
    size_t start = (size_t)t->counts[n - 1];
    size_t end = (size_t)n < t->ncounts ? (size_t)t->counts[n] : t->npool;
    size_t before = 0;
    for (int64_t m = 1; m < n; m++) {
        before += ((size_t)t->counts[m] - (size_t)t->counts[m - 1]) / (size_t)m;
    }
    for (size_t p = start; p + (size_t)n <= end; p += (size_t)n) {
        if (memcmp(&t->pool[p], gram, (size_t)n * sizeof(*gram)) == 0) {
            return (int64_t)(before + (p - start) / (size_t)n);
        }
    }
    return -1;
}

static VEIL_RESULT tfidf_run(struct veil_op_ctx *c)
{
    const struct veil_tensor *x = c->in[0];
    float *y = c->out[0]->data;
    struct tfidf t;
    size_t rows = x->rank == 2 ? (size_t)x->dims[0] : 1;
    size_t len = (size_t)x->dims[x->rank - 1];

    GUARD(tfidf_attrs(c, &t));
    GUARD(veil_op_work(c, rows * len, (uint64_t)(t.skip + 1) * (uint64_t)t.max_n, t.npool + 1, 1));
    for (size_t r = 0; r < rows; r++) {
        float *yr = y + r * (size_t)t.out;
        for (size_t i = 0; i < len; i++) {
            for (int64_t s = 0; s <= t.skip; s++) {
                for (int64_t n = t.min_n; n <= t.max_n; n++) {
                    int64_t gram[GRAM_MAX];
                    size_t step = (size_t)s + 1;
                    if (n == 1 && s > 0) {
                        continue; /* a unigram is the same for every skip */
                    }
                    if (i + (size_t)(n - 1) * step >= len) {
                        continue;
                    }
                    for (int64_t k = 0; k < n; k++) {
                        gram[k] = veil_tensor_get_i64(x, r * len + i + (size_t)k * step);
                    }
                    int64_t e = find_gram(&t, n, gram);
                    size_t entry = e < 0 ? SIZE_MAX : (size_t)e;
                    if (entry < t.nindexes) {
                        yr[t.indexes[entry]] += 1.0f;
                    }
                }
            }
        }
        for (size_t i = 0; i < t.nindexes; i++) {
            float w = t.nweights ? t.weights[i] : 1.0f;
            float *v = &yr[t.indexes[i]];
            if (t.mode == 1) {
                *v = *v > 0 ? w : 0;
            } else if (t.mode == 2) {
                *v *= w;
            }
        }
    }
    return VEIL_RESULT_OK;
}

const struct veil_op veil_op_TfIdfVectorizer = {"TfIdfVectorizer", tfidf_shape, tfidf_run, false};

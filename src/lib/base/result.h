/*
 * The internal result type and the guard macros (STYLE.md 3.3, after s2n's s2n_result).
 * A function that owns resources does not GUARD: it uses `r = f(); if (!veil_ok(r)) goto out;`.
 */
#ifndef VEIL_BASE_RESULT_H
#define VEIL_BASE_RESULT_H

#include <stdbool.h>
#include <stdint.h>

#include <veil/error.h>

typedef struct {
    int32_t code;
} veil_result;

#define VEIL_RESULT __attribute__((warn_unused_result)) veil_result

static inline veil_result veil_result_of(int32_t code)
{
    veil_result r = {code};
    return r;
}

#define VEIL_RESULT_OK veil_result_of(VEIL_OK)

static inline bool veil_ok(veil_result r)
{
    return r.code == VEIL_OK;
}

/* Public API convention: 0 or -VEIL_ERR_*. */
static inline int veil_result_to_int(veil_result r)
{
    return -r.code;
}

void veil_ossl_drain(const char *func);

#define GUARD(expr)                    \
    do {                               \
        veil_result guard_r_ = (expr); \
        if (!veil_ok(guard_r_)) {      \
            return guard_r_;           \
        }                              \
    } while (0)

#define BAIL(err) return veil_result_of(err)

#define ENSURE(cond, err) \
    do {                  \
        if (!(cond)) {    \
            BAIL(err);    \
        }                 \
    } while (0)

#define ENSURE_REF(p) ENSURE((p) != NULL, VEIL_ERR_INTERNAL)

/* OpenSSL's convention: 1 is success. The error queue goes to the debug log. */
#define GUARD_OSSL(call, err)          \
    do {                               \
        if ((call) != 1) {             \
            veil_ossl_drain(__func__); \
            BAIL(err);                 \
        }                              \
    } while (0)

/* Programmer errors only; never for input. Stays on in release builds. */
#define VEIL_ASSERT(cond)                                          \
    do {                                                           \
        if (!(cond)) {                                             \
            veil_assert_fail(#cond, __FILE__, __LINE__, __func__); \
        }                                                          \
    } while (0)

_Noreturn void veil_assert_fail(const char *what, const char *file, int line, const char *func);

#endif

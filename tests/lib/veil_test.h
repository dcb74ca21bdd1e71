/*
 * The unit-test harness: cmocka plus a few veil-shaped assertions (after s2n's s2n_test.h).
 * A test file is `static void test_x(void **state)` functions and VEIL_TEST_MAIN(test_x, ...).
 */
#ifndef VEIL_TEST_H
#define VEIL_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/result.h"

/* A veil_result is success. */
#define EXPECT_OK(expr)                                                       \
    do {                                                                      \
        veil_result t_r_ = (expr);                                            \
        if (!veil_ok(t_r_)) {                                                 \
            fail_msg("%s failed: %s (%s)", #expr, veil_error_name(t_r_.code), \
                     veil_strerror(t_r_.code));                               \
        }                                                                     \
    } while (0)

/* A veil_result is exactly this error. */
#define EXPECT_ERR(expr, err)                                                \
    do {                                                                     \
        veil_result t_r_ = (expr);                                           \
        if (t_r_.code != (err)) {                                            \
            fail_msg("%s: expected %s, got %s", #expr, veil_error_name(err), \
                     veil_error_name(t_r_.code));                            \
        }                                                                    \
    } while (0)

/* A public API int is 0 / -err. */
#define EXPECT_API_OK(expr)       EXPECT_ERR(veil_result_of(-(expr)), VEIL_OK)
#define EXPECT_API_ERR(expr, err) EXPECT_ERR(veil_result_of(-(expr)), (err))

#define EXPECT_TRUE(c)           assert_true(c)
#define EXPECT_FALSE(c)          assert_false(c)
#define EXPECT_EQ(a, b)          assert_int_equal((a), (b))
#define EXPECT_NE(a, b)          assert_int_not_equal((a), (b))
#define EXPECT_NULL(p)           assert_null(p)
#define EXPECT_NOT_NULL(p)       assert_non_null(p)
#define EXPECT_STR_EQ(a, b)      assert_string_equal((a), (b))
#define EXPECT_BYTES_EQ(a, b, n) assert_memory_equal((a), (b), (n))
#define EXPECT_BYTES_NE(a, b, n) assert_memory_not_equal((a), (b), (n))

#define VEIL_TEST_MAIN(...)                                              \
    int main(void)                                                       \
    {                                                                    \
        const struct CMUnitTest tests[] = {VEIL_TEST_MAP_(__VA_ARGS__)}; \
        return cmocka_run_group_tests(tests, NULL, NULL);                \
    }

/* The same, with a group setup and teardown (int f(void **state), 0 on success). */
#define VEIL_TEST_MAIN_WITH(setup_fn, teardown_fn, ...)                  \
    int main(void)                                                       \
    {                                                                    \
        const struct CMUnitTest tests[] = {VEIL_TEST_MAP_(__VA_ARGS__)}; \
        return cmocka_run_group_tests(tests, setup_fn, teardown_fn);     \
    }

/* cmocka_unit_test for each listed function (up to 48). */
#define VEIL_TEST_MAP_(...) VEIL_TEST_EXPAND_(VEIL_TEST_APPLY_, __VA_ARGS__)
#define VEIL_TEST_APPLY_(f) cmocka_unit_test(f),
#define VEIL_TEST_EXPAND_(m, ...)                                                                 \
    VEIL_TEST_PICK_(                                                                              \
        __VA_ARGS__, VEIL_TEST_E48_, VEIL_TEST_E47_, VEIL_TEST_E46_, VEIL_TEST_E45_,              \
        VEIL_TEST_E44_, VEIL_TEST_E43_, VEIL_TEST_E42_, VEIL_TEST_E41_, VEIL_TEST_E40_,           \
        VEIL_TEST_E39_, VEIL_TEST_E38_, VEIL_TEST_E37_, VEIL_TEST_E36_, VEIL_TEST_E35_,           \
        VEIL_TEST_E34_, VEIL_TEST_E33_, VEIL_TEST_E32_, VEIL_TEST_E31_, VEIL_TEST_E30_,           \
        VEIL_TEST_E29_, VEIL_TEST_E28_, VEIL_TEST_E27_, VEIL_TEST_E26_, VEIL_TEST_E25_,           \
        VEIL_TEST_E24_, VEIL_TEST_E23_, VEIL_TEST_E22_, VEIL_TEST_E21_, VEIL_TEST_E20_,           \
        VEIL_TEST_E19_, VEIL_TEST_E18_, VEIL_TEST_E17_, VEIL_TEST_E16_, VEIL_TEST_E15_,           \
        VEIL_TEST_E14_, VEIL_TEST_E13_, VEIL_TEST_E12_, VEIL_TEST_E11_, VEIL_TEST_E10_,           \
        VEIL_TEST_E9_, VEIL_TEST_E8_, VEIL_TEST_E7_, VEIL_TEST_E6_, VEIL_TEST_E5_, VEIL_TEST_E4_, \
        VEIL_TEST_E3_, VEIL_TEST_E2_, VEIL_TEST_E1_)                                              \
    (m, __VA_ARGS__)
#define VEIL_TEST_PICK_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16,     \
                        _17, _18, _19, _20, _21, _22, _23, _24, _25, _26, _27, _28, _29, _30, _31, \
                        _32, _33, _34, _35, _36, _37, _38, _39, _40, _41, _42, _43, _44, _45, _46, \
                        _47, _48, N, ...)                                                          \
    N
#define VEIL_TEST_E1_(m, a)       m(a)
#define VEIL_TEST_E2_(m, a, ...)  m(a) VEIL_TEST_E1_(m, __VA_ARGS__)
#define VEIL_TEST_E3_(m, a, ...)  m(a) VEIL_TEST_E2_(m, __VA_ARGS__)
#define VEIL_TEST_E4_(m, a, ...)  m(a) VEIL_TEST_E3_(m, __VA_ARGS__)
#define VEIL_TEST_E5_(m, a, ...)  m(a) VEIL_TEST_E4_(m, __VA_ARGS__)
#define VEIL_TEST_E6_(m, a, ...)  m(a) VEIL_TEST_E5_(m, __VA_ARGS__)
#define VEIL_TEST_E7_(m, a, ...)  m(a) VEIL_TEST_E6_(m, __VA_ARGS__)
#define VEIL_TEST_E8_(m, a, ...)  m(a) VEIL_TEST_E7_(m, __VA_ARGS__)
#define VEIL_TEST_E9_(m, a, ...)  m(a) VEIL_TEST_E8_(m, __VA_ARGS__)
#define VEIL_TEST_E10_(m, a, ...) m(a) VEIL_TEST_E9_(m, __VA_ARGS__)
#define VEIL_TEST_E11_(m, a, ...) m(a) VEIL_TEST_E10_(m, __VA_ARGS__)
#define VEIL_TEST_E12_(m, a, ...) m(a) VEIL_TEST_E11_(m, __VA_ARGS__)
#define VEIL_TEST_E13_(m, a, ...) m(a) VEIL_TEST_E12_(m, __VA_ARGS__)
#define VEIL_TEST_E14_(m, a, ...) m(a) VEIL_TEST_E13_(m, __VA_ARGS__)
#define VEIL_TEST_E15_(m, a, ...) m(a) VEIL_TEST_E14_(m, __VA_ARGS__)
#define VEIL_TEST_E16_(m, a, ...) m(a) VEIL_TEST_E15_(m, __VA_ARGS__)
#define VEIL_TEST_E17_(m, a, ...) m(a) VEIL_TEST_E16_(m, __VA_ARGS__)
#define VEIL_TEST_E18_(m, a, ...) m(a) VEIL_TEST_E17_(m, __VA_ARGS__)
#define VEIL_TEST_E19_(m, a, ...) m(a) VEIL_TEST_E18_(m, __VA_ARGS__)
#define VEIL_TEST_E20_(m, a, ...) m(a) VEIL_TEST_E19_(m, __VA_ARGS__)
#define VEIL_TEST_E21_(m, a, ...) m(a) VEIL_TEST_E20_(m, __VA_ARGS__)
#define VEIL_TEST_E22_(m, a, ...) m(a) VEIL_TEST_E21_(m, __VA_ARGS__)
#define VEIL_TEST_E23_(m, a, ...) m(a) VEIL_TEST_E22_(m, __VA_ARGS__)
#define VEIL_TEST_E24_(m, a, ...) m(a) VEIL_TEST_E23_(m, __VA_ARGS__)
#define VEIL_TEST_E25_(m, a, ...) m(a) VEIL_TEST_E24_(m, __VA_ARGS__)
#define VEIL_TEST_E26_(m, a, ...) m(a) VEIL_TEST_E25_(m, __VA_ARGS__)
#define VEIL_TEST_E27_(m, a, ...) m(a) VEIL_TEST_E26_(m, __VA_ARGS__)
#define VEIL_TEST_E28_(m, a, ...) m(a) VEIL_TEST_E27_(m, __VA_ARGS__)
#define VEIL_TEST_E29_(m, a, ...) m(a) VEIL_TEST_E28_(m, __VA_ARGS__)
#define VEIL_TEST_E30_(m, a, ...) m(a) VEIL_TEST_E29_(m, __VA_ARGS__)
#define VEIL_TEST_E31_(m, a, ...) m(a) VEIL_TEST_E30_(m, __VA_ARGS__)
#define VEIL_TEST_E32_(m, a, ...) m(a) VEIL_TEST_E31_(m, __VA_ARGS__)
#define VEIL_TEST_E33_(m, a, ...) m(a) VEIL_TEST_E32_(m, __VA_ARGS__)
#define VEIL_TEST_E34_(m, a, ...) m(a) VEIL_TEST_E33_(m, __VA_ARGS__)
#define VEIL_TEST_E35_(m, a, ...) m(a) VEIL_TEST_E34_(m, __VA_ARGS__)
#define VEIL_TEST_E36_(m, a, ...) m(a) VEIL_TEST_E35_(m, __VA_ARGS__)
#define VEIL_TEST_E37_(m, a, ...) m(a) VEIL_TEST_E36_(m, __VA_ARGS__)
#define VEIL_TEST_E38_(m, a, ...) m(a) VEIL_TEST_E37_(m, __VA_ARGS__)
#define VEIL_TEST_E39_(m, a, ...) m(a) VEIL_TEST_E38_(m, __VA_ARGS__)
#define VEIL_TEST_E40_(m, a, ...) m(a) VEIL_TEST_E39_(m, __VA_ARGS__)
#define VEIL_TEST_E41_(m, a, ...) m(a) VEIL_TEST_E40_(m, __VA_ARGS__)
#define VEIL_TEST_E42_(m, a, ...) m(a) VEIL_TEST_E41_(m, __VA_ARGS__)
#define VEIL_TEST_E43_(m, a, ...) m(a) VEIL_TEST_E42_(m, __VA_ARGS__)
#define VEIL_TEST_E44_(m, a, ...) m(a) VEIL_TEST_E43_(m, __VA_ARGS__)
#define VEIL_TEST_E45_(m, a, ...) m(a) VEIL_TEST_E44_(m, __VA_ARGS__)
#define VEIL_TEST_E46_(m, a, ...) m(a) VEIL_TEST_E45_(m, __VA_ARGS__)
#define VEIL_TEST_E47_(m, a, ...) m(a) VEIL_TEST_E46_(m, __VA_ARGS__)
#define VEIL_TEST_E48_(m, a, ...) m(a) VEIL_TEST_E47_(m, __VA_ARGS__)

#endif

/* veil_mem_available's parsers: /proc/meminfo's MemAvailable, cgroup memory values, and the
 * memory controller's path in /proc/self/cgroup; every malformed input refused. */
#include <string.h>

#include "base/meminfo.h"
#include "veil_test.h"

#define S(text) text, sizeof(text) - 1

static void test_meminfo_available(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_true(veil_meminfo_parse_available(
        S("MemTotal:       24567892 kB\nMemFree:         1000 kB\nMemAvailable:   20480 kB\n"),
        &v));
    assert_int_equal(v, 20480ULL * 1024);
    assert_true(veil_meminfo_parse_available(S("MemAvailable: 0 kB"), &v));
    assert_int_equal(v, 0);
    assert_true(veil_meminfo_parse_available(S("MemAvailable:18014398509481983 kB\n"), &v));
    assert_int_equal(v, 18014398509481983ULL * 1024);
}

static void test_meminfo_refusals(void **state)
{
    uint64_t v = 7;

    (void)state;
    assert_false(veil_meminfo_parse_available(S(""), &v));
    assert_false(veil_meminfo_parse_available(S("MemTotal: 100 kB\nMemFree: 10 kB\n"), &v));
    assert_false(veil_meminfo_parse_available(S("MemAvailable:    kB\n"), &v));
    assert_false(veil_meminfo_parse_available(S("MemAvailable: 100 MB\n"), &v));
    assert_false(veil_meminfo_parse_available(S("MemAvailable: 100\n"), &v));
    assert_false(veil_meminfo_parse_available(S("MemAvailable: 100 kB extra\n"), &v));
    assert_false(veil_meminfo_parse_available(S("MemAvailable: -1 kB\n"), &v));
    /* 2^54 kB is 2^64 bytes; a 20-digit number overflows the parse itself */
    assert_false(veil_meminfo_parse_available(S("MemAvailable: 18014398509481984 kB\n"), &v));
    assert_false(veil_meminfo_parse_available(S("MemAvailable: 99999999999999999999 kB\n"), &v));
    assert_false(veil_meminfo_parse_available(S(" MemAvailable: 1 kB\n"), &v));
    assert_int_equal(v, 7);
}

static void test_cgroup_value(void **state)
{
    uint64_t v = 0;

    (void)state;
    assert_true(veil_cgroup_parse_value(S("67108864\n"), &v));
    assert_int_equal(v, 67108864);
    assert_true(veil_cgroup_parse_value(S("max\n"), &v));
    assert_true(v == UINT64_MAX);
    assert_true(veil_cgroup_parse_value(S("9223372036854771712"), &v));
    assert_int_equal(v, 9223372036854771712ULL);
    assert_false(veil_cgroup_parse_value(S(""), &v));
    assert_false(veil_cgroup_parse_value(S("\n"), &v));
    assert_false(veil_cgroup_parse_value(S("maximum\n"), &v));
    assert_false(veil_cgroup_parse_value(S("12 34\n"), &v));
    assert_false(veil_cgroup_parse_value(S("-1\n"), &v));
    assert_false(veil_cgroup_parse_value(S("18446744073709551616\n"), &v));
    assert_false(veil_cgroup_parse_value(S("0x100\n"), &v));
}

static void test_cgroup_path(void **state)
{
    char p[64];
    const char v1[] = "9:name=systemd:/\n5:devices:/\n4:memory:/process_api/bd15\n0::/\n";
    const char v1_joined[] = "3:cpu,memory,cpuacct:/a/b\n";

    (void)state;
    assert_true(veil_cgroup_parse_path(S(v1), false, p, sizeof(p)));
    assert_string_equal(p, "/process_api/bd15");
    assert_true(veil_cgroup_parse_path(S(v1), true, p, sizeof(p)));
    assert_string_equal(p, "/");
    assert_true(veil_cgroup_parse_path(S(v1_joined), false, p, sizeof(p)));
    assert_string_equal(p, "/a/b");
    assert_true(
        veil_cgroup_parse_path(S("0::/system.slice/veil-serve.service"), true, p, sizeof(p)));
    assert_string_equal(p, "/system.slice/veil-serve.service");
}

static void test_cgroup_path_refusals(void **state)
{
    char p[16];

    (void)state;
    assert_false(veil_cgroup_parse_path(S(""), true, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("4:memory:/a\n"), true, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("0::/a\n"), false, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("4:memoryx:/a\n"), false, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("4:memory\n"), false, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("0::relative\n"), true, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("0::/a/../../etc\n"), true, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("0::/a/./b\n"), true, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("0::/a//b\n"), true, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("0::/\0a\n"), true, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("0::/0123456789abcdef\n"), true, p, sizeof(p)));
    assert_false(veil_cgroup_parse_path(S("10::/a\n"), true, p, sizeof(p)));
}

static void test_this_machine(void **state)
{
    (void)state;
    /* Linux always has /proc/meminfo: some figure, and not more than the machine has */
    assert_true(veil_mem_available() > 0);
    assert_true(veil_mem_available() != UINT64_MAX);
}

VEIL_TEST_MAIN(test_meminfo_available, test_meminfo_refusals, test_cgroup_value, test_cgroup_path,
               test_cgroup_path_refusals, test_this_machine)

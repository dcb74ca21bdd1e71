/* Shared CLI helpers: error lines, number parsing, the progress bar. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include <veil/veil.h>

__attribute__((format(printf, 2, 0))) static void vfail(const char *cmd, const char *fmt,
                                                        va_list ap)
{
    (void)fprintf(stderr, "veil %s: ", cmd);
    (void)vfprintf(stderr, fmt, ap);
    (void)fputc('\n', stderr);
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(cmd, fmt, ap);
    va_end(ap);
    return CLI_EXIT_FAIL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(cmd, fmt, ap);
    va_end(ap);
    (void)fprintf(stderr, "(see veil %s --help)\n", cmd);
    return CLI_EXIT_USAGE;
}

int cli_fail_err(const char *cmd, const char *what, int err)
{
    int code = err < 0 ? -err : err;

    (void)fprintf(stderr, "veil %s: %s: %s\n", cmd, what, veil_strerror(code));
    return VEIL_ERR_CATEGORY(code) == VEIL_ERR_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

bool cli_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
    char *end = NULL;
    unsigned long v;

    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max) {
        return false;
    }
    *out = v;
    return true;
}

bool cli_parse_size(const char *s, size_t *out)
{
    char *end = NULL;
    unsigned long long v;
    unsigned shift = 0;

    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0) {
        return false;
    }
    switch (*end) {
        case '\0':
            break;
        case 'k':
        case 'K':
            shift = 10;
            end++;
            break;
        case 'm':
        case 'M':
            shift = 20;
            end++;
            break;
        case 'g':
        case 'G':
            shift = 30;
            end++;
            break;
        default:
            return false;
    }
    if (*end == 'i' || *end == 'B') {
        end++;
    }
    if (*end == 'B') {
        end++;
    }
    if (*end != '\0' || (shift > 0 && v > (SIZE_MAX >> shift))) {
        return false;
    }
    *out = (size_t)(v << shift);
    return true;
}

static double now_s(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void cli_progress_init(struct cli_progress *p, const char *label, unsigned long long total)
{
    p->label = label;
    p->total = total;
    p->start = now_s();
    p->last_draw = 0;
    p->drawn = false;
    p->enabled = isatty(STDERR_FILENO) == 1;
}

void cli_progress_update(void *ctx, unsigned long long done, unsigned long long total)
{
    struct cli_progress *p = ctx;
    double t = now_s();
    double elapsed = t - p->start;
    char bar[31];
    size_t fill;
    double frac;

    if (!p->enabled || elapsed < 1.0 || (p->drawn && t - p->last_draw < 0.1)) {
        return;
    }
    frac = total > 0 ? (double)done / (double)total : 1.0;
    fill = (size_t)(frac * 30);
    for (size_t i = 0; i < 30; i++) {
        bar[i] = i < fill ? '#' : '.';
    }
    bar[30] = '\0';
    (void)fprintf(stderr, "\r%s [%s] %5.1f%%  %.0f MiB/s ", p->label, bar, frac * 100,
                  (double)done / (1 << 20) / elapsed);
    p->drawn = true;
    p->last_draw = t;
}

void cli_progress_finish(struct cli_progress *p)
{
    if (p->drawn) {
        (void)fputs("\r\033[K", stderr);
    }
}

/* key=value log lines on stderr. */
#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static _Atomic int log_level = VEIL_LOG_WARN;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void veil_log_set_level(enum veil_log_level level)
{
    atomic_store(&log_level, (int)level);
}

enum veil_log_level veil_log_get_level(void)
{
    return (enum veil_log_level)atomic_load(&log_level);
}

__attribute__((format(printf, 4, 0))) static void log_write(enum veil_log_level level,
                                                            const char *func, const char *suffix,
                                                            const char *fmt, va_list ap)
{
    char msg[1024];
    char line[1400];
    struct timespec ts;
    struct tm tm;
    int n;

    (void)vsnprintf(msg, sizeof(msg), fmt, ap);
    /* Keep the line a line: a message may not smuggle newlines or quotes. */
    for (char *p = msg; *p != '\0'; p++) {
        if (*p == '\n' || *p == '\r' || *p == '"') {
            *p = ' ';
        }
    }
    (void)clock_gettime(CLOCK_REALTIME, &ts);
    (void)gmtime_r(&ts.tv_sec, &tm);
    n = snprintf(line, sizeof(line),
                 "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s func=%s msg=\"%s\"%s\n",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 ts.tv_nsec / 1000000, level_names[level], func, msg, suffix);
    if (n > 0) {
        (void)fputs(line, stderr);
    }
}

void veil_log_at(enum veil_log_level level, const char *func, const char *fmt, ...)
{
    va_list ap;

    if ((int)level > atomic_load(&log_level)) {
        return;
    }
    va_start(ap, fmt);
    log_write(level, func, "", fmt, ap);
    va_end(ap);
}

void veil_log_r_at(enum veil_log_level level, const char *func, veil_result r, const char *fmt, ...)
{
    va_list ap;
    char suffix[256];

    if ((int)level > atomic_load(&log_level)) {
        return;
    }
    (void)snprintf(suffix, sizeof(suffix), " err=%s reason=\"%s\"", veil_error_name(r.code),
                   veil_strerror(r.code));
    va_start(ap, fmt);
    log_write(level, func, suffix, fmt, ap);
    va_end(ap);
}

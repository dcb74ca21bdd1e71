/*
 * Logging: one key=value line per event on stderr (journald-friendly). Never pass secrets.
 * veil_log(VEIL_LOG_WARN, "fmt", ...) adds the function name; veil_log_r also appends a result.
 */
#ifndef VEIL_BASE_LOG_H
#define VEIL_BASE_LOG_H

#include "base/result.h"
#include <veil/log.h>

__attribute__((format(printf, 3, 4))) void veil_log_at(enum veil_log_level level, const char *func,
                                                       const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void veil_log_r_at(enum veil_log_level level,
                                                         const char *func, veil_result r,
                                                         const char *fmt, ...);

#define veil_log(level, ...)      veil_log_at((level), __func__, __VA_ARGS__)
#define veil_log_r(level, r, ...) veil_log_r_at((level), __func__, (r), __VA_ARGS__)

#endif

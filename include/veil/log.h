#ifndef VEIL_LOG_H
#define VEIL_LOG_H

#include <veil/export.h>

enum veil_log_level {
    VEIL_LOG_ERROR = 0,
    VEIL_LOG_WARN = 1,
    VEIL_LOG_INFO = 2,
    VEIL_LOG_DEBUG = 3,
};

/* Messages above this level are dropped. Default: VEIL_LOG_WARN. */
VEIL_API void veil_log_set_level(enum veil_log_level level);
VEIL_API enum veil_log_level veil_log_get_level(void);

#endif

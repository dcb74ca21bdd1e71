/* Error code table: names and messages (include/veil/error.h). */
#include <stdio.h>
#include <stdlib.h>

#include <openssl/err.h>

#include "base/log.h"
#include "base/result.h"

const char *veil_strerror(int code)
{
    if (code < 0) {
        code = -code;
    }
    switch (code) {
#define VEIL_ERROR_MSG(name, value, msg) \
    case value:                          \
        return msg;
        VEIL_ERROR_TABLE(VEIL_ERROR_MSG)
#undef VEIL_ERROR_MSG
        default:
            return "unknown error";
    }
}

const char *veil_error_name(int code)
{
    if (code < 0) {
        code = -code;
    }
    switch (code) {
#define VEIL_ERROR_NAME(name, value, msg) \
    case value:                           \
        return #name;
        VEIL_ERROR_TABLE(VEIL_ERROR_NAME)
#undef VEIL_ERROR_NAME
        default:
            return "VEIL_ERR_UNKNOWN";
    }
}

void veil_ossl_drain(const char *func)
{
    unsigned long e;
    char buf[256];

    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof(buf));
        veil_log_at(VEIL_LOG_DEBUG, func, "openssl: %s", buf);
    }
}

void veil_assert_fail(const char *what, const char *file, int line, const char *func)
{
    (void)fprintf(stderr, "veil: assertion failed: %s (%s:%d, %s)\n", what, file, line, func);
    abort();
}

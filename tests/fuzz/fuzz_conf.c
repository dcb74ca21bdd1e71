/* Fuzz target: the daemon configuration parser, with a table like veil-kbs's. */
#include "conf/conf.h"
#include "veil_fuzz.h"

static const struct veil_conf_item items[] = {
    {"listen", VEIL_CONF_STRING, 1, 255, "127.0.0.1:8443", 0, "address"},
    {"workers", VEIL_CONF_INT, 1, 64, "2", 0, "workers"},
    {"offset", VEIL_CONF_INT, -10, 10, "0", 0, "signed"},
    {"insecure_http", VEIL_CONF_BOOL, 0, 1, "false", VEIL_CONF_INSECURE, "plain"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct veil_conf c;
    char why[256];

    VEIL_ASSERT(veil_ok(veil_conf_init(&c, items, sizeof(items) / sizeof(items[0]))));
    if (veil_ok(veil_conf_parse(&c, (const char *)data, size, why, sizeof(why)))) {
        int64_t w = veil_conf_int(&c, "workers");
        VEIL_ASSERT(w >= 1 && w <= 64);
        VEIL_ASSERT(veil_conf_str(&c, "listen")[0] != '\0');
    }
    veil_conf_free(&c);
    return 0;
}

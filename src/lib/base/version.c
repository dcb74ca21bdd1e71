#include <veil/veil.h>

const char *veil_version(void)
{
    return "0.1.0";
}

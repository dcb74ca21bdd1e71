/* Memory this process can still get (see meminfo.h). */
#include "base/meminfo.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/file.h"

#define TEXT_MAX  16384 /* /proc/meminfo is ~1.5 KB, /proc/self/cgroup and cgroup files less */
#define PATH_SIZE 4096

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Decimal digits at text[*i..len) -> *v; at least one, no overflow. */
static bool parse_u64(const char *text, size_t len, size_t *i, uint64_t *v)
{
    size_t start = *i;

    *v = 0;
    while (*i < len && is_digit(text[*i])) {
        uint64_t d = (uint64_t)(text[*i] - '0');
        if (*v > (UINT64_MAX - d) / 10) {
            return false;
        }
        *v = *v * 10 + d;
        (*i)++;
    }
    return *i > start;
}

bool veil_meminfo_parse_available(const char *text, size_t len, uint64_t *bytes)
{
    static const char key[] = "MemAvailable:";
    size_t i = 0;

    while (i < len) {
        size_t end = i;
        while (end < len && text[end] != '\n') {
            end++;
        }
        if (end - i >= sizeof(key) - 1 && memcmp(text + i, key, sizeof(key) - 1) == 0) {
            uint64_t kb;
            i += sizeof(key) - 1;
            while (i < end && text[i] == ' ') {
                i++;
            }
            if (!parse_u64(text, end, &i, &kb) || i + 3 != end || memcmp(text + i, " kB", 3) != 0 ||
                kb > UINT64_MAX / 1024) {
                return false;
            }
            *bytes = kb * 1024;
            return true;
        }
        i = end + 1;
    }
    return false;
}

bool veil_cgroup_parse_value(const char *text, size_t len, uint64_t *value)
{
    size_t i = 0;

    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ')) {
        len--;
    }
    if (len == 3 && memcmp(text, "max", 3) == 0) {
        *value = UINT64_MAX;
        return true;
    }
    return parse_u64(text, len, &i, value) && i == len;
}

/* Whether the comma-separated list [s, s + n) holds "memory". */
static bool lists_memory(const char *s, size_t n)
{
    size_t i = 0;

    while (i <= n) {
        size_t end = i;
        while (end < n && s[end] != ',') {
            end++;
        }
        if (end - i == 6 && memcmp(s + i, "memory", 6) == 0) {
            return true;
        }
        i = end + 1;
    }
    return false;
}

/* An absolute path without "." or ".." components (nor empty ones but a trailing '/'). */
static bool path_is_plain(const char *p, size_t n)
{
    size_t i = 1;

    if (n == 0 || p[0] != '/') {
        return false;
    }
    while (i < n) {
        size_t end = i;
        while (end < n && p[end] != '/') {
            end++;
        }
        if ((end - i == 0 && end < n) || (end - i == 1 && p[i] == '.') ||
            (end - i == 2 && p[i] == '.' && p[i + 1] == '.')) {
            return false;
        }
        for (size_t k = i; k < end; k++) {
            if (p[k] == '\0') {
                return false;
            }
        }
        i = end + 1;
    }
    return true;
}

bool veil_cgroup_parse_path(const char *text, size_t len, bool v2, char *path, size_t path_size)
{
    size_t i = 0;

    while (i < len) {
        size_t end = i;
        const char *c1;
        const char *c2;
        while (end < len && text[end] != '\n') {
            end++;
        }
        c1 = memchr(text + i, ':', end - i);
        c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(text + end - (c1 + 1))) : NULL;
        if (c2 != NULL) {
            const char *p = c2 + 1;
            size_t n = (size_t)(text + end - p);
            bool match = v2 ? (c1 - (text + i) == 1 && text[i] == '0' && c2 == c1 + 1)
                            : lists_memory(c1 + 1, (size_t)(c2 - (c1 + 1)));
            if (match) {
                if (!path_is_plain(p, n) || n >= path_size) {
                    return false;
                }
                memcpy(path, p, n);
                path[n] = '\0';
                return true;
            }
        }
        i = end + 1;
    }
    return false;
}

/* Reads a small /proc or /sys file (their st_size is 0 or a page, so not veil_file_read). */
static bool read_text(const char *path, char *buf, size_t size, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = veil_ok(veil_read_full(fd, buf, size, len));
    (void)close(fd);
    return ok && *len > 0 && *len < size;
}

static bool read_value(const char *dir, const char *name, uint64_t *v)
{
    char path[PATH_SIZE];
    char text[64];
    size_t len;

    return veil_path_join(path, sizeof(path), dir, name) &&
           read_text(path, text, sizeof(text), &len) && veil_cgroup_parse_value(text, len, v);
}

/* The least room under the limits of the cgroup at base + path and of each of its ancestors. */
static uint64_t cgroup_room(const char *base, const char *path, const char *limit_file,
                            const char *usage_file)
{
    char dir[PATH_SIZE];
    size_t n;
    uint64_t room = UINT64_MAX;

    if (strlen(base) + strlen(path) >= sizeof(dir)) {
        return room;
    }
    memcpy(dir, base, strlen(base));
    memcpy(dir + strlen(base), path, strlen(path) + 1);
    for (;;) {
        uint64_t limit;
        uint64_t usage;
        if (read_value(dir, limit_file, &limit) && limit != UINT64_MAX &&
            read_value(dir, usage_file, &usage)) {
            uint64_t r = limit > usage ? limit - usage : 0;
            room = r < room ? r : room;
        }
        n = strlen(dir);
        while (n > strlen(base) && dir[n - 1] == '/') {
            n--;
        }
        while (n > strlen(base) && dir[n - 1] != '/') {
            n--;
        }
        if (n <= strlen(base)) {
            break;
        }
        dir[n] = '\0';
    }
    return room;
}

uint64_t veil_mem_available(void)
{
    char text[TEXT_MAX];
    char path[PATH_SIZE];
    size_t len;
    uint64_t best = UINT64_MAX;
    uint64_t v;
    struct stat st;
    bool v2 = stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0;

    if (read_text("/proc/meminfo", text, sizeof(text), &len) &&
        veil_meminfo_parse_available(text, len, &v)) {
        best = v;
    }
    if (read_text("/proc/self/cgroup", text, sizeof(text), &len) &&
        veil_cgroup_parse_path(text, len, v2, path, sizeof(path))) {
        v = v2 ? cgroup_room("/sys/fs/cgroup", path, "memory.max", "memory.current")
               : cgroup_room("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes",
                             "memory.usage_in_bytes");
        best = v < best ? v : best;
    }
    return best;
}

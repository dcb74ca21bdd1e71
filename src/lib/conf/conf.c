/* The configuration table and its file parser (see conf.h). */
#include "conf/conf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/file.h"
#include "base/log.h"

__attribute__((format(printf, 3, 4))) static veil_result fail(char *why, size_t size,
                                                              const char *fmt, ...)
{
    va_list ap;

    if (why != NULL && size > 0) {
        va_start(ap, fmt);
        (void)vsnprintf(why, size, fmt, ap);
        va_end(ap);
    }
    return veil_result_of(VEIL_ERR_USAGE);
}

static const struct veil_conf_item *find(const struct veil_conf *c, const char *name, size_t n,
                                         size_t *index)
{
    for (size_t i = 0; i < c->count; i++) {
        if (strlen(c->items[i].name) == n && memcmp(c->items[i].name, name, n) == 0) {
            *index = i;
            return &c->items[i];
        }
    }
    return NULL;
}

/* Sets value v of item it from text s (n bytes); returns false with *what on error. */
static bool set_value(const struct veil_conf_item *it, struct veil_conf_value *v, const char *s,
                      size_t n, const char **what)
{
    char *copy;
    int64_t x = 0;
    bool neg = false;
    size_t i = 0;

    switch (it->type) {
        case VEIL_CONF_STRING:
            if ((int64_t)n < it->min || (int64_t)n > it->max || memchr(s, '\0', n) != NULL) {
                *what = "string length out of bounds";
                return false;
            }
            copy = malloc(n + 1);
            if (copy == NULL) {
                *what = "out of memory";
                return false;
            }
            memcpy(copy, s, n);
            copy[n] = '\0';
            free(v->s);
            v->s = copy;
            return true;
        case VEIL_CONF_INT:
            if (n > 0 && s[0] == '-') {
                neg = true;
                i = 1;
            }
            if (i == n || n - i > 18) {
                *what = "not an integer";
                return false;
            }
            for (; i < n; i++) {
                if (s[i] < '0' || s[i] > '9') {
                    *what = "not an integer";
                    return false;
                }
                x = x * 10 + (s[i] - '0');
            }
            x = neg ? -x : x;
            if (x < it->min || x > it->max) {
                *what = "out of bounds";
                return false;
            }
            v->i = x;
            return true;
        case VEIL_CONF_BOOL:
            if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 3 && memcmp(s, "yes", 3) == 0)) {
                v->b = true;
            } else if ((n == 5 && memcmp(s, "false", 5) == 0) ||
                       (n == 2 && memcmp(s, "no", 2) == 0)) {
                v->b = false;
            } else {
                *what = "not true/false";
                return false;
            }
            return true;
    }
    *what = "bad type";
    return false;
}

veil_result veil_conf_init(struct veil_conf *c, const struct veil_conf_item *items, size_t count)
{
    c->items = items;
    c->count = count;
    c->values = calloc(count, sizeof(*c->values));
    ENSURE(c->values != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < count; i++) {
        const char *what = NULL;
        bool ok = set_value(&items[i], &c->values[i], items[i].def, strlen(items[i].def), &what);
        VEIL_ASSERT(ok); /* a default out of its own bounds is a programming error */
    }
    return VEIL_RESULT_OK;
}

void veil_conf_free(struct veil_conf *c)
{
    for (size_t i = 0; c->values != NULL && i < c->count; i++) {
        free(c->values[i].s);
    }
    free(c->values);
    c->values = NULL;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r';
}

static veil_result parse_line(struct veil_conf *c, const char *s, size_t n, unsigned line,
                              char *why, size_t why_size)
{
    const char *eq;
    size_t klen;
    size_t vstart;
    size_t vend;
    size_t idx = 0;
    const struct veil_conf_item *it;
    const char *what = NULL;

    while (n > 0 && is_space(s[0])) {
        s++;
        n--;
    }
    if (n == 0 || s[0] == '#') {
        return VEIL_RESULT_OK;
    }
    eq = memchr(s, '=', n);
    if (eq == NULL) {
        return fail(why, why_size, "line %u: expected name = value", line);
    }
    klen = (size_t)(eq - s);
    while (klen > 0 && is_space(s[klen - 1])) {
        klen--;
    }
    vstart = (size_t)(eq - s) + 1;
    vend = n;
    while (vstart < n && is_space(s[vstart])) {
        vstart++;
    }
    while (vend > vstart && is_space(s[vend - 1])) {
        vend--;
    }
    if (vend - vstart >= 2 && s[vstart] == '"' && s[vend - 1] == '"') {
        vstart++;
        vend--;
    }
    it = find(c, s, klen, &idx);
    if (it == NULL) {
        return fail(why, why_size, "line %u: unknown setting \"%.*s\"", line,
                    (int)(klen > 64 ? 64 : klen), s);
    }
    if (c->values[idx].set) {
        return fail(why, why_size, "line %u: %s is set twice", line, it->name);
    }
    if (!set_value(it, &c->values[idx], s + vstart, vend - vstart, &what)) {
        if (it->type == VEIL_CONF_INT) {
            return fail(why, why_size, "line %u: %s: %s (%lld..%lld)", line, it->name, what,
                        (long long)it->min, (long long)it->max);
        }
        return fail(why, why_size, "line %u: %s: %s", line, it->name, what);
    }
    c->values[idx].set = true;
    if ((it->flags & VEIL_CONF_INSECURE) != 0 && c->values[idx].b) {
        veil_log(VEIL_LOG_WARN, "INSECURE setting %s is on: %s", it->name, it->doc);
    }
    return VEIL_RESULT_OK;
}

veil_result veil_conf_parse(struct veil_conf *c, const char *text, size_t n, char *why,
                            size_t why_size)
{
    size_t off = 0;
    unsigned line = 0;

    if (n > VEIL_CONF_FILE_SIZE_MAX) {
        (void)fail(why, why_size, "configuration larger than %u bytes", VEIL_CONF_FILE_SIZE_MAX);
        BAIL(VEIL_ERR_PROTO_LIMIT);
    }
    while (off < n) {
        const char *nl = memchr(text + off, '\n', n - off);
        size_t len = nl != NULL ? (size_t)(nl - (text + off)) : n - off;
        line++;
        GUARD(parse_line(c, text + off, len, line, why, why_size));
        off += len + 1;
    }
    return VEIL_RESULT_OK;
}

veil_result veil_conf_load(struct veil_conf *c, const char *path, char *why, size_t why_size)
{
    struct veil_wr w;
    veil_result r = veil_file_read(path, VEIL_CONF_FILE_SIZE_MAX, &w);

    if (!veil_ok(r)) {
        (void)fail(why, why_size, "%s: %s", path, veil_strerror(r.code));
        return r;
    }
    r = veil_conf_parse(c, (const char *)w.data, w.len, why, why_size);
    veil_wr_free(&w);
    return r;
}

static const struct veil_conf_value *get(const struct veil_conf *c, const char *name,
                                         enum veil_conf_type type)
{
    size_t idx = 0;
    const struct veil_conf_item *it = find(c, name, strlen(name), &idx);

    VEIL_ASSERT(it != NULL && it->type == type);
    return &c->values[idx];
}

const char *veil_conf_str(const struct veil_conf *c, const char *name)
{
    return get(c, name, VEIL_CONF_STRING)->s;
}

int64_t veil_conf_int(const struct veil_conf *c, const char *name)
{
    return get(c, name, VEIL_CONF_INT)->i;
}

bool veil_conf_bool(const struct veil_conf *c, const char *name)
{
    return get(c, name, VEIL_CONF_BOOL)->b;
}

void veil_conf_print_sample(const struct veil_conf_item *items, size_t count, FILE *f)
{
    for (size_t i = 0; i < count; i++) {
        const struct veil_conf_item *it = &items[i];
        (void)fprintf(f, "# %s\n", it->doc);
        if (it->type == VEIL_CONF_INT) {
            (void)fprintf(f, "# integer, %lld..%lld\n", (long long)it->min, (long long)it->max);
        } else if (it->type == VEIL_CONF_BOOL) {
            (void)fprintf(f, "# true or false%s\n",
                          (it->flags & VEIL_CONF_INSECURE) != 0 ? " (INSECURE when true)" : "");
        }
        (void)fprintf(f, "#%s = %s\n\n", it->name, it->def);
    }
}

/*
 * Daemon configuration: one table per daemon of {name, type, bounds, default, flags, doc}
 * (STYLE.md 3.7, after Redis's static_configs[] and OpenSSH's servconf). The file format is
 * `name = value` lines, `#` comments; values may be "quoted". An unknown name, a duplicate, or a
 * value out of bounds is an error naming the line. The sample config is generated from the table.
 */
#ifndef VEIL_CONF_H
#define VEIL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/result.h"

#define VEIL_CONF_FILE_SIZE_MAX (64u << 10)
#define VEIL_CONF_STRING_MAX    1024

enum veil_conf_type {
    VEIL_CONF_STRING = 1,
    VEIL_CONF_INT,
    VEIL_CONF_BOOL,
};

#define VEIL_CONF_INSECURE 1u /* name ends in _insecure; logged at warn level when on */

struct veil_conf_item {
    const char *name;
    enum veil_conf_type type;
    int64_t min; /* INT: bounds; STRING: length bounds */
    int64_t max;
    const char *def; /* default, as it would be written in the file */
    unsigned flags;
    const char *doc;
};

struct veil_conf_value {
    bool set;  /* given in the file (else the default) */
    char *s;   /* STRING */
    int64_t i; /* INT */
    bool b;    /* BOOL */
};

struct veil_conf {
    const struct veil_conf_item *items;
    size_t count;
    struct veil_conf_value *values;
};

/* Values start at their defaults (which must themselves be valid: VEIL_ASSERT). */
VEIL_RESULT veil_conf_init(struct veil_conf *c, const struct veil_conf_item *items, size_t count);
void veil_conf_free(struct veil_conf *c);
/* Parses text; on error *why holds "line N: ...". */
VEIL_RESULT veil_conf_parse(struct veil_conf *c, const char *text, size_t n, char *why,
                            size_t why_size);
VEIL_RESULT veil_conf_load(struct veil_conf *c, const char *path, char *why, size_t why_size);
/* Typed getters; the name must be in the table (VEIL_ASSERT). */
const char *veil_conf_str(const struct veil_conf *c, const char *name);
int64_t veil_conf_int(const struct veil_conf *c, const char *name);
bool veil_conf_bool(const struct veil_conf *c, const char *name);
/* Writes a commented sample config from the table. */
void veil_conf_print_sample(const struct veil_conf_item *items, size_t count, FILE *f);

#endif

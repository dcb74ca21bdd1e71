/* The check report: every check, passed, failed or skipped, with words a person can act on. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify/verify.h"

#define REPORT_COUNT_MAX 512
#define REPORT_TEXT_MAX  1024

void veil_report_init(struct veil_report *r)
{
    memset(r, 0, sizeof(*r));
}

void veil_report_free(struct veil_report *r)
{
    for (size_t i = 0; i < r->count; i++) {
        free(r->items[i].id);
        free(r->items[i].detail);
        free(r->items[i].remedy);
    }
    free(r->items);
    veil_report_init(r);
}

veil_result veil_report_add(struct veil_report *r, const char *id, enum veil_check_status status,
                            const char *remedy, const char *fmt, ...)
{
    char detail[REPORT_TEXT_MAX];
    struct veil_check *c;
    va_list ap;

    ENSURE(r->count < REPORT_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    if (r->count == r->cap) {
        size_t cap = r->cap == 0 ? 16 : r->cap * 2;
        struct veil_check *items = realloc(r->items, cap * sizeof(*items));
        ENSURE(items != NULL, VEIL_ERR_NOMEM);
        r->items = items;
        r->cap = cap;
    }
    va_start(ap, fmt);
    (void)vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    c = &r->items[r->count];
    c->id = strdup(id);
    c->detail = strdup(detail);
    c->remedy = remedy != NULL ? strdup(remedy) : NULL;
    c->status = status;
    if (c->id == NULL || c->detail == NULL || (remedy != NULL && c->remedy == NULL)) {
        free(c->id);
        free(c->detail);
        free(c->remedy);
        BAIL(VEIL_ERR_NOMEM);
    }
    r->count++;
    return VEIL_RESULT_OK;
}

bool veil_report_passed(const struct veil_report *r)
{
    return r->count > 0 && veil_report_first_failure(r) == NULL;
}

const struct veil_check *veil_report_find(const struct veil_report *r, const char *id)
{
    for (size_t i = 0; i < r->count; i++) {
        if (strcmp(r->items[i].id, id) == 0) {
            return &r->items[i];
        }
    }
    return NULL;
}

const struct veil_check *veil_report_first_failure(const struct veil_report *r)
{
    for (size_t i = 0; i < r->count; i++) {
        if (r->items[i].status == VEIL_CHECK_FAIL) {
            return &r->items[i];
        }
    }
    return NULL;
}

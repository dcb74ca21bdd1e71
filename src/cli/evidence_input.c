/* Evidence input shared by veil evidence verify and veil policy test: files in raw, hex or base64
 * (told apart by content), collateral paths, RFC 3339 times. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/encoding.h"
#include "base/file.h"
#include "cli.h"
#include <veil/veil.h>

#define EVIDENCE_SIZE_MAX (1u << 20)

static bool is_space(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

static bool is_hex(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_b64(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=' || c == '-' || c == '_';
}

/* Raw, hex or base64, told apart by content; text encodings may carry whitespace. */
static VEIL_RESULT decode_evidence(struct veil_wr *in, struct veil_wr *out, const char **kind)
{
    size_t n = 0;
    bool hex = true;
    bool b64 = true;
    bool url = false;
    size_t got = 0;

    for (size_t i = 0; i < in->len; i++) {
        uint8_t c = in->data[i];
        if (is_space(c)) {
            continue;
        }
        hex = hex && is_hex(c);
        b64 = b64 && is_b64(c);
        url = url || c == '-' || c == '_';
        in->data[n++] = c;
    }
    veil_wr_init(out, EVIDENCE_SIZE_MAX);
    if (n == 0 || (!hex && !b64)) {
        *kind = "raw"; /* out stays empty: the caller uses its own untouched copy */
        return VEIL_RESULT_OK;
    }
    GUARD(veil_wr_reserve(out, n));
    if (hex && n % 2 == 0) {
        *kind = "hex";
        GUARD(veil_hex_decode((const char *)in->data, n, out->data, out->size, &got));
    } else {
        *kind = "base64";
        GUARD(veil_b64_decode((const char *)in->data, n, url ? VEIL_B64_URL : VEIL_B64_STD,
                              out->data, out->size, &got));
    }
    out->len = got;
    return VEIL_RESULT_OK;
}

/* RFC 3339 (2025-06-01T00:00:00Z, fractions and +hh:mm offsets allowed) or a bare date. */
bool cli_parse_time(const char *s, time_t *out)
{
    struct tm tm;
    const char *p;
    long offset = 0;

    memset(&tm, 0, sizeof(tm));
    p = strptime(s, "%Y-%m-%d", &tm);
    if (p == NULL) {
        return false;
    }
    if (*p == 'T' || *p == 't') {
        p = strptime(p + 1, "%H:%M:%S", &tm);
        if (p == NULL) {
            return false;
        }
        if (*p == '.') {
            p++;
            while (*p >= '0' && *p <= '9') {
                p++;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
            unsigned long h = 0;
            unsigned long m = 0;
            char hh[3] = {p[1], p[2], 0};
            char mm[3] = {p[4], p[5], 0};
            if (!cli_parse_uint(hh, 23, &h) || !cli_parse_uint(mm, 59, &m)) {
                return false;
            }
            offset = (long)(h * 3600 + m * 60) * (*p == '+' ? 1 : -1);
            p += 6;
        } else {
            return false;
        }
    }
    if (*p != '\0') {
        return false;
    }
    *out = timegm(&tm) - offset;
    return *out != (time_t)-1;
}

int cli_evidence_verify(const char *cmd, enum veil_tee tee, const char *path,
                        const char *const *collateral, size_t collateral_count,
                        const struct veil_fetch *fetch, const struct veil_verify_opts *opts,
                        struct veil_claims *claims, struct veil_report *report, veil_result *result,
                        size_t *ev_size, const char **kind)
{
    struct veil_verify_opts o = *opts;
    struct veil_collateral col;
    struct veil_wr file;
    struct veil_wr decoded;
    const struct veil_wr *ev;
    veil_result r;
    int rc = CLI_EXIT_OK;

    r = veil_file_read(path, EVIDENCE_SIZE_MAX, &file);
    if (!veil_ok(r)) {
        return cli_fail_err(cmd, path, veil_result_to_int(r));
    }
    veil_collateral_init(&col);
    /* Decode a copy: a raw file must reach the verifier byte for byte. */
    {
        struct veil_wr text;
        veil_wr_init(&text, EVIDENCE_SIZE_MAX);
        r = veil_wr_bytes(&text, file.data, file.len);
        if (veil_ok(r)) {
            r = decode_evidence(&text, &decoded, kind);
        } else {
            veil_wr_init(&decoded, EVIDENCE_SIZE_MAX);
        }
        veil_wr_free(&text);
    }
    if (!veil_ok(r)) {
        rc = cli_fail_err(cmd, "decoding the evidence", veil_result_to_int(r));
        goto out;
    }
    ev = strcmp(*kind, "raw") != 0 ? &decoded : &file;
    for (size_t i = 0; i < collateral_count; i++) {
        r = veil_collateral_add_path(&col, collateral[i]);
        if (!veil_ok(r)) {
            rc = cli_fail_err(cmd, collateral[i], veil_result_to_int(r));
            goto out;
        }
    }
    if (fetch != NULL) {
        char why[1024] = "";
        r = veil_fetch_collateral(fetch, tee, ev->data, ev->len, &col, why, sizeof(why));
        if (!veil_ok(r)) {
            rc = cli_fail(cmd, "online collateral: %s",
                          why[0] != '\0' ? why : veil_strerror(r.code));
            goto out;
        }
    }
    o.collateral = &col;
    *ev_size = ev->len;
    *result = veil_verify_evidence(tee, ev->data, ev->len, &o, claims, report);
out:
    veil_wr_free(&decoded);
    veil_wr_free(&file);
    veil_collateral_free(&col);
    return rc;
}

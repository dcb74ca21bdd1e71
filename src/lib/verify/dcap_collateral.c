/*
 * DCAP collateral: Intel PCS TCB info (v2, v3; SGX and TDX) and QE identity (v2) JSON, and the
 * bundles they arrive in.
 *
 * Signatures: Intel signs the exact bytes of the "tcbInfo" / "enclaveIdentity" member as PCS
 * served them, so the signed text is cut out of the original document (veil_dcap_json_member)
 * and never re-serialized. Bundles recognized by content:
 *   - PCS responses: {"tcbInfo":{...},"signature":"<hex r||s>"}, {"enclaveIdentity":...} (also
 *     the older "qeIdentity" key); issuer chains come as separate PEM collateral.
 *   - dcap-qvl QuoteCollateralV3: {"tcb_info":"<signed text>","tcb_info_signature":"<hex>",
 *     "qe_identity":..,"qe_identity_signature":..,"*_issuer_chain":"<PEM>","pck_crl" and
 *     "root_ca_crl":"<hex DER or PEM>"}.
 * Each schema is mapped by one function that rejects unknown keys and wrong types.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "base/buf.h"
#include "base/encoding.h"
#include "base/log.h"
#include "verify/dcap_internal.h"

static const char *const status_names[] = {
    [VEIL_DCAP_UP_TO_DATE] = "UpToDate",
    [VEIL_DCAP_SW_HARDENING_NEEDED] = "SWHardeningNeeded",
    [VEIL_DCAP_CONFIGURATION_NEEDED] = "ConfigurationNeeded",
    [VEIL_DCAP_CONFIGURATION_AND_SW_HARDENING_NEEDED] = "ConfigurationAndSWHardeningNeeded",
    [VEIL_DCAP_OUT_OF_DATE] = "OutOfDate",
    [VEIL_DCAP_OUT_OF_DATE_CONFIGURATION_NEEDED] = "OutOfDateConfigurationNeeded",
    [VEIL_DCAP_REVOKED] = "Revoked",
};

const char *veil_dcap_tcb_status_name(enum veil_dcap_tcb_status s)
{
    if ((size_t)s < sizeof(status_names) / sizeof(status_names[0])) {
        return status_names[s];
    }
    return "Unknown";
}

bool veil_dcap_tcb_status_parse(const char *s, enum veil_dcap_tcb_status *out)
{
    for (size_t i = 0; i < sizeof(status_names) / sizeof(status_names[0]); i++) {
        if (strcmp(s, status_names[i]) == 0) {
            *out = (enum veil_dcap_tcb_status)i;
            return true;
        }
    }
    return false;
}

/* ---- Dates: "YYYY-MM-DDThh:mm:ssZ" exactly. */

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

veil_result veil_dcap_time_parse(const char *s, time_t *out)
{
    struct tm tm;
    int y, mo, d, h, mi, se;
    time_t t;

    ENSURE(strlen(s) == 20, VEIL_ERR_PROTO);
    ENSURE(
        s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z',
        VEIL_ERR_PROTO);
    ENSURE(digits(s, 4, &y) && digits(s + 5, 2, &mo) && digits(s + 8, 2, &d) &&
               digits(s + 11, 2, &h) && digits(s + 14, 2, &mi) && digits(s + 17, 2, &se),
           VEIL_ERR_PROTO);
    ENSURE(y >= 1970 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h <= 23 && mi <= 59 && se <= 60,
           VEIL_ERR_PROTO);
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    t = timegm(&tm);
    ENSURE(t != (time_t)-1, VEIL_ERR_PROTO);
    *out = t;
    return VEIL_RESULT_OK;
}

void veil_dcap_time_format(time_t t, char out[32])
{
    /* Civil date from days since 1970-01-01 (H. Hinnant, "chrono-compatible low-level date
     * algorithms"), proleptic Gregorian calendar. */
    int64_t days = (int64_t)t / 86400;
    int64_t secs = (int64_t)t % 86400;

    if (secs < 0) {
        secs += 86400;
        days--;
    }
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);

    if (y < 0 || y > 9999) {
        (void)snprintf(out, 32, "(time %lld)", (long long)t);
        return;
    }
    (void)snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m, (int)d,
                   (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/* ---- The exact text of a member: a bounded scanner over JSON that jansson already accepted. */

static void skip_ws(struct veil_rd *r)
{
    while (veil_rd_left(r) > 0) {
        uint8_t c = veil_rd_ptr(r)[0];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
            return;
        }
        r->off++;
    }
}

static VEIL_RESULT expect_char(struct veil_rd *r, uint8_t want)
{
    uint8_t c;

    GUARD(veil_rd_u8(r, &c));
    ENSURE(c == want, VEIL_ERR_PROTO);
    return VEIL_RESULT_OK;
}

/* At the opening quote; leaves the cursor after the closing one. */
static VEIL_RESULT skip_string(struct veil_rd *r)
{
    uint8_t c;

    GUARD(expect_char(r, '"'));
    for (;;) {
        GUARD(veil_rd_u8(r, &c));
        if (c == '"') {
            return VEIL_RESULT_OK;
        }
        if (c == '\\') {
            GUARD(veil_rd_u8(r, &c));
        }
    }
}

static VEIL_RESULT skip_value(struct veil_rd *r)
{
    size_t depth = 0;
    uint8_t c;

    ENSURE(veil_rd_left(r) > 0, VEIL_ERR_PROTO_TRUNCATED);
    c = veil_rd_ptr(r)[0];
    if (c == '"') {
        return skip_string(r);
    }
    if (c != '{' && c != '[') {
        /* number, true, false, null */
        while (veil_rd_left(r) > 0) {
            c = veil_rd_ptr(r)[0];
            if (c == ',' || c == '}' || c == ']' || c == ' ' || c == '\t' || c == '\n' ||
                c == '\r') {
                break;
            }
            r->off++;
        }
        return VEIL_RESULT_OK;
    }
    do {
        ENSURE(veil_rd_left(r) > 0, VEIL_ERR_PROTO_TRUNCATED);
        c = veil_rd_ptr(r)[0];
        if (c == '"') {
            GUARD(skip_string(r));
            continue;
        }
        r->off++;
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    } while (depth > 0);
    return VEIL_RESULT_OK;
}

veil_result veil_dcap_json_member(const char *json, size_t n, const char *key, const char **val,
                                  size_t *val_size)
{
    struct veil_rd r;
    size_t key_size = strlen(key);
    uint8_t c;

    veil_rd_init(&r, json, n);
    skip_ws(&r);
    GUARD(expect_char(&r, '{'));
    for (;;) {
        size_t k0, k1, v0;
        skip_ws(&r);
        k0 = r.off + 1;
        GUARD(skip_string(&r));
        k1 = r.off - 1;
        skip_ws(&r);
        GUARD(expect_char(&r, ':'));
        skip_ws(&r);
        v0 = r.off;
        GUARD(skip_value(&r));
        if (k1 - k0 == key_size && memcmp(json + k0, key, key_size) == 0) {
            *val = json + v0;
            *val_size = r.off - v0;
            return VEIL_RESULT_OK;
        }
        skip_ws(&r);
        GUARD(veil_rd_u8(&r, &c));
        ENSURE(c == ',', VEIL_ERR_PROTO); /* '}' here: the key is not there */
    }
}

/* ---- Small schema helpers. */

static VEIL_RESULT hex_exact(const char *s, uint8_t *out, size_t n, int err)
{
    size_t got;

    ENSURE(strlen(s) == 2 * n, err);
    ENSURE(veil_ok(veil_hex_decode(s, 2 * n, out, n, &got)) && got == n, err);
    return VEIL_RESULT_OK;
}

static VEIL_RESULT json_uint(json_int_t v, json_int_t max, int err, uint32_t *out)
{
    ENSURE(v >= 0 && v <= max, err);
    *out = (uint32_t)v;
    return VEIL_RESULT_OK;
}

void veil_dcap_advisories_free(struct veil_dcap_advisories *a)
{
    for (size_t i = 0; i < a->count; i++) {
        free(a->ids[i]);
    }
    free(a->ids);
    a->ids = NULL;
    a->count = 0;
}

/* advisoryIDs: an optional array of strings. */
static VEIL_RESULT parse_advisories(json_t *arr, int err, struct veil_dcap_advisories *out)
{
    size_t n;

    out->ids = NULL;
    out->count = 0;
    if (arr == NULL) {
        return VEIL_RESULT_OK;
    }
    ENSURE(json_is_array(arr), err);
    n = json_array_size(arr);
    ENSURE(n <= VEIL_DCAP_ADVISORY_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    if (n == 0) {
        return VEIL_RESULT_OK;
    }
    out->ids = calloc(n, sizeof(*out->ids));
    ENSURE(out->ids != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (s == NULL) {
            veil_dcap_advisories_free(out);
            BAIL(err);
        }
        out->ids[i] = strdup(s);
        if (out->ids[i] == NULL) {
            veil_dcap_advisories_free(out);
            BAIL(VEIL_ERR_NOMEM);
        }
        out->count++;
    }
    return VEIL_RESULT_OK;
}

/* {"tcb":{"isvsvn":N},"tcbDate":..,"tcbStatus":..,"advisoryIDs":[..]} */
static VEIL_RESULT parse_isv_level(json_t *j, int err, struct veil_dcap_isv_level *out)
{
    json_int_t svn;
    const char *date;
    const char *status;
    json_t *adv = NULL;
    uint32_t v;

    ENSURE(json_unpack(j, "{s:{s:I!}, s:s, s:s, s?o !}", "tcb", "isvsvn", &svn, "tcbDate", &date,
                       "tcbStatus", &status, "advisoryIDs", &adv) == 0,
           err);
    GUARD(json_uint(svn, 65535, err, &v));
    out->isv_svn = (uint16_t)v;
    ENSURE(veil_ok(veil_dcap_time_parse(date, &out->date)), err);
    ENSURE(veil_dcap_tcb_status_parse(status, &out->status), err);
    return parse_advisories(adv, err, &out->advisories);
}

static void isv_levels_free(struct veil_dcap_isv_level *levels, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        veil_dcap_advisories_free(&levels[i].advisories);
    }
    free(levels);
}

static VEIL_RESULT parse_isv_levels(json_t *arr, int err, struct veil_dcap_isv_level **out,
                                    size_t *count)
{
    size_t n;
    struct veil_dcap_isv_level *levels;

    ENSURE(json_is_array(arr), err);
    n = json_array_size(arr);
    ENSURE(n > 0, err);
    ENSURE(n <= VEIL_DCAP_TCB_LEVEL_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    levels = calloc(n, sizeof(*levels));
    ENSURE(levels != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        veil_result r = parse_isv_level(json_array_get(arr, i), err, &levels[i]);
        if (!veil_ok(r)) {
            isv_levels_free(levels, i);
            return r;
        }
    }
    *out = levels;
    *count = n;
    return VEIL_RESULT_OK;
}

/* ---- TCB info. */

/* 16 x {"svn":N,"category":..,"type":..} */
static VEIL_RESULT parse_components(json_t *arr, uint8_t svn[16])
{
    ENSURE(json_is_array(arr) && json_array_size(arr) == 16, VEIL_ERR_DCAP_TCB_INFO);
    for (size_t i = 0; i < 16; i++) {
        json_int_t v;
        const char *category = NULL;
        const char *type = NULL;
        uint32_t x;
        ENSURE(json_unpack(json_array_get(arr, i), "{s:I, s?s, s?s !}", "svn", &v, "category",
                           &category, "type", &type) == 0,
               VEIL_ERR_DCAP_TCB_INFO);
        GUARD(json_uint(v, 255, VEIL_ERR_DCAP_TCB_INFO, &x));
        svn[i] = (uint8_t)x;
    }
    return VEIL_RESULT_OK;
}

/* v2: {"sgxtcbcomp01svn":N, ..., "sgxtcbcomp16svn":N, "pcesvn":N} */
static VEIL_RESULT parse_tcb_v2(json_t *tcb, struct veil_dcap_tcb_level *l)
{
    char key[32];
    json_int_t v;
    uint32_t x;

    ENSURE(json_is_object(tcb) && json_object_size(tcb) == 17, VEIL_ERR_DCAP_TCB_INFO);
    for (int i = 0; i < 16; i++) {
        (void)snprintf(key, sizeof(key), "sgxtcbcomp%02dsvn", i + 1);
        ENSURE(json_unpack(tcb, "{s:I}", key, &v) == 0, VEIL_ERR_DCAP_TCB_INFO);
        GUARD(json_uint(v, 255, VEIL_ERR_DCAP_TCB_INFO, &x));
        l->sgx_svn[i] = (uint8_t)x;
    }
    ENSURE(json_unpack(tcb, "{s:I}", "pcesvn", &v) == 0, VEIL_ERR_DCAP_TCB_INFO);
    GUARD(json_uint(v, 65535, VEIL_ERR_DCAP_TCB_INFO, &x));
    l->pce_svn = (uint16_t)x;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_tcb_v3(json_t *tcb, bool tdx, struct veil_dcap_tcb_level *l)
{
    json_t *sgx;
    json_t *tdxc = NULL;
    json_int_t v;
    uint32_t x;

    ENSURE(json_unpack(tcb, "{s:o, s:I, s?o !}", "sgxtcbcomponents", &sgx, "pcesvn", &v,
                       "tdxtcbcomponents", &tdxc) == 0,
           VEIL_ERR_DCAP_TCB_INFO);
    GUARD(parse_components(sgx, l->sgx_svn));
    GUARD(json_uint(v, 65535, VEIL_ERR_DCAP_TCB_INFO, &x));
    l->pce_svn = (uint16_t)x;
    ENSURE(!tdx || tdxc != NULL, VEIL_ERR_DCAP_TCB_INFO);
    if (tdxc != NULL) {
        GUARD(parse_components(tdxc, l->tdx_svn));
        l->has_tdx = true;
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_tcb_level(json_t *j, const struct veil_dcap_tcb_info *t,
                                   struct veil_dcap_tcb_level *l)
{
    json_t *tcb;
    json_t *adv = NULL;
    const char *date;
    const char *status;

    ENSURE(json_unpack(j, "{s:o, s:s, s:s, s?o !}", "tcb", &tcb, "tcbDate", &date, "tcbStatus",
                       &status, "advisoryIDs", &adv) == 0,
           VEIL_ERR_DCAP_TCB_INFO);
    if (t->version == 2) {
        GUARD(parse_tcb_v2(tcb, l));
    } else {
        GUARD(parse_tcb_v3(tcb, t->is_tdx, l));
    }
    ENSURE(veil_ok(veil_dcap_time_parse(date, &l->date)), VEIL_ERR_DCAP_TCB_INFO);
    ENSURE(veil_dcap_tcb_status_parse(status, &l->status), VEIL_ERR_DCAP_TCB_INFO);
    return parse_advisories(adv, VEIL_ERR_DCAP_TCB_INFO, &l->advisories);
}

static VEIL_RESULT parse_tcb_levels(json_t *arr, struct veil_dcap_tcb_info *t)
{
    size_t n;

    ENSURE(json_is_array(arr), VEIL_ERR_DCAP_TCB_INFO);
    n = json_array_size(arr);
    ENSURE(n > 0, VEIL_ERR_DCAP_TCB_INFO);
    ENSURE(n <= VEIL_DCAP_TCB_LEVEL_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    t->levels = calloc(n, sizeof(*t->levels));
    ENSURE(t->levels != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        GUARD(parse_tcb_level(json_array_get(arr, i), t, &t->levels[i]));
        t->level_count++;
    }
    return VEIL_RESULT_OK;
}

/* {"mrsigner":hex48,"attributes":hex8,"attributesMask":hex8} (tdxModule) */
static VEIL_RESULT parse_tdx_module(json_t *j, struct veil_dcap_tcb_info *t)
{
    const char *signer;
    const char *attr;
    const char *mask;

    ENSURE(json_unpack(j, "{s:s, s:s, s:s !}", "mrsigner", &signer, "attributes", &attr,
                       "attributesMask", &mask) == 0,
           VEIL_ERR_DCAP_TCB_INFO);
    GUARD(hex_exact(signer, t->module_mr_signer, 48, VEIL_ERR_DCAP_TCB_INFO));
    GUARD(hex_exact(attr, t->module_attributes, 8, VEIL_ERR_DCAP_TCB_INFO));
    GUARD(hex_exact(mask, t->module_attributes_mask, 8, VEIL_ERR_DCAP_TCB_INFO));
    t->has_tdx_module = true;
    return VEIL_RESULT_OK;
}

static VEIL_RESULT parse_module_identity(json_t *j, struct veil_dcap_module_identity *m)
{
    const char *id;
    const char *signer;
    const char *attr;
    const char *mask;
    json_t *levels;

    ENSURE(json_unpack(j, "{s:s, s:s, s:s, s:s, s:o !}", "id", &id, "mrsigner", &signer,
                       "attributes", &attr, "attributesMask", &mask, "tcbLevels", &levels) == 0,
           VEIL_ERR_DCAP_TCB_INFO);
    ENSURE(strlen(id) > 0 && strlen(id) < sizeof(m->id), VEIL_ERR_DCAP_TCB_INFO);
    memcpy(m->id, id, strlen(id) + 1);
    GUARD(hex_exact(signer, m->mr_signer, 48, VEIL_ERR_DCAP_TCB_INFO));
    GUARD(hex_exact(attr, m->attributes, 8, VEIL_ERR_DCAP_TCB_INFO));
    GUARD(hex_exact(mask, m->attributes_mask, 8, VEIL_ERR_DCAP_TCB_INFO));
    return parse_isv_levels(levels, VEIL_ERR_DCAP_TCB_INFO, &m->levels, &m->level_count);
}

static VEIL_RESULT parse_module_identities(json_t *arr, struct veil_dcap_tcb_info *t)
{
    size_t n;

    ENSURE(json_is_array(arr), VEIL_ERR_DCAP_TCB_INFO);
    n = json_array_size(arr);
    ENSURE(n <= VEIL_DCAP_MODULE_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    if (n == 0) {
        return VEIL_RESULT_OK;
    }
    t->modules = calloc(n, sizeof(*t->modules));
    ENSURE(t->modules != NULL, VEIL_ERR_NOMEM);
    for (size_t i = 0; i < n; i++) {
        GUARD(parse_module_identity(json_array_get(arr, i), &t->modules[i]));
        t->module_count++;
    }
    return VEIL_RESULT_OK;
}

void veil_dcap_tcb_info_free(struct veil_dcap_tcb_info *t)
{
    for (size_t i = 0; i < t->level_count; i++) {
        veil_dcap_advisories_free(&t->levels[i].advisories);
    }
    free(t->levels);
    for (size_t i = 0; i < t->module_count; i++) {
        isv_levels_free(t->modules[i].levels, t->modules[i].level_count);
    }
    free(t->modules);
    memset(t, 0, sizeof(*t));
}

static VEIL_RESULT tcb_info_from_json(json_t *root, struct veil_dcap_tcb_info *t)
{
    const char *id;
    const char *issue;
    const char *next;
    const char *fmspc;
    const char *pce_id;
    json_int_t version;
    json_int_t tcb_type = 0;
    json_int_t eval = 0;
    json_t *module = NULL;
    json_t *modules = NULL;
    json_t *levels;

    ENSURE(json_unpack(root, "{s:s, s:I, s:s, s:s, s:s, s:s, s?I, s?I, s?o, s?o, s:o !}", "id", &id,
                       "version", &version, "issueDate", &issue, "nextUpdate", &next, "fmspc",
                       &fmspc, "pceId", &pce_id, "tcbType", &tcb_type, "tcbEvaluationDataNumber",
                       &eval, "tdxModule", &module, "tdxModuleIdentities", &modules, "tcbLevels",
                       &levels) == 0,
           VEIL_ERR_DCAP_TCB_INFO);
    ENSURE(strcmp(id, "TDX") == 0 || strcmp(id, "SGX") == 0, VEIL_ERR_DCAP_TCB_INFO);
    t->is_tdx = strcmp(id, "TDX") == 0;
    ENSURE(version == 2 || version == 3, VEIL_ERR_DCAP_TCB_INFO);
    ENSURE(!t->is_tdx || version == 3, VEIL_ERR_DCAP_TCB_INFO);
    ENSURE(tcb_type == 0, VEIL_ERR_DCAP_TCB_INFO);
    t->version = (int)version;
    ENSURE(eval >= 0, VEIL_ERR_DCAP_TCB_INFO);
    t->eval_number = (int64_t)eval;
    ENSURE(veil_ok(veil_dcap_time_parse(issue, &t->issue_date)), VEIL_ERR_DCAP_TCB_INFO);
    ENSURE(veil_ok(veil_dcap_time_parse(next, &t->next_update)), VEIL_ERR_DCAP_TCB_INFO);
    GUARD(hex_exact(fmspc, t->fmspc, sizeof(t->fmspc), VEIL_ERR_DCAP_TCB_INFO));
    GUARD(hex_exact(pce_id, t->pce_id, sizeof(t->pce_id), VEIL_ERR_DCAP_TCB_INFO));
    ENSURE(!t->is_tdx || module != NULL, VEIL_ERR_DCAP_TCB_INFO);
    if (module != NULL) {
        GUARD(parse_tdx_module(module, t));
    }
    if (modules != NULL) {
        GUARD(parse_module_identities(modules, t));
    }
    return parse_tcb_levels(levels, t);
}

veil_result veil_dcap_tcb_info_parse(const char *json, size_t n, struct veil_dcap_tcb_info *out)
{
    struct veil_dcap_tcb_info t;
    json_error_t jerr;
    json_t *root;
    veil_result r;

    ENSURE(n <= VEIL_DCAP_JSON_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &jerr);
    ENSURE(root != NULL, VEIL_ERR_DCAP_TCB_INFO);
    memset(&t, 0, sizeof(t));
    r = tcb_info_from_json(root, &t);
    json_decref(root);
    if (!veil_ok(r)) {
        veil_dcap_tcb_info_free(&t);
        return r;
    }
    *out = t;
    return VEIL_RESULT_OK;
}

/* ---- QE identity (v2). */

void veil_dcap_qe_identity_free(struct veil_dcap_qe_identity *q)
{
    isv_levels_free(q->levels, q->level_count);
    memset(q, 0, sizeof(*q));
}

static VEIL_RESULT qe_identity_from_json(json_t *root, struct veil_dcap_qe_identity *q)
{
    const char *id;
    const char *issue;
    const char *next;
    const char *misc;
    const char *misc_mask;
    const char *attr;
    const char *attr_mask;
    const char *signer;
    json_int_t version;
    json_int_t eval = 0;
    json_int_t prod;
    json_t *levels;
    uint8_t b4[4];
    uint32_t x;

    ENSURE(json_unpack(root, "{s:s, s:I, s:s, s:s, s?I, s:s, s:s, s:s, s:s, s:s, s:I, s:o !}", "id",
                       &id, "version", &version, "issueDate", &issue, "nextUpdate", &next,
                       "tcbEvaluationDataNumber", &eval, "miscselect", &misc, "miscselectMask",
                       &misc_mask, "attributes", &attr, "attributesMask", &attr_mask, "mrsigner",
                       &signer, "isvprodid", &prod, "tcbLevels", &levels) == 0,
           VEIL_ERR_DCAP_QE_IDENTITY);
    ENSURE(strcmp(id, "TD_QE") == 0 || strcmp(id, "QE") == 0, VEIL_ERR_DCAP_QE_IDENTITY);
    q->is_td_qe = strcmp(id, "TD_QE") == 0;
    ENSURE(version == 2, VEIL_ERR_DCAP_QE_IDENTITY);
    q->version = 2;
    ENSURE(veil_ok(veil_dcap_time_parse(issue, &q->issue_date)), VEIL_ERR_DCAP_QE_IDENTITY);
    ENSURE(veil_ok(veil_dcap_time_parse(next, &q->next_update)), VEIL_ERR_DCAP_QE_IDENTITY);
    /* miscselect is written as the big-endian hex of the 32-bit value. */
    GUARD(hex_exact(misc, b4, 4, VEIL_ERR_DCAP_QE_IDENTITY));
    q->misc_select = (uint32_t)b4[0] << 24 | (uint32_t)b4[1] << 16 | (uint32_t)b4[2] << 8 | b4[3];
    GUARD(hex_exact(misc_mask, b4, 4, VEIL_ERR_DCAP_QE_IDENTITY));
    q->misc_select_mask =
        (uint32_t)b4[0] << 24 | (uint32_t)b4[1] << 16 | (uint32_t)b4[2] << 8 | b4[3];
    GUARD(hex_exact(attr, q->attributes, 16, VEIL_ERR_DCAP_QE_IDENTITY));
    GUARD(hex_exact(attr_mask, q->attributes_mask, 16, VEIL_ERR_DCAP_QE_IDENTITY));
    GUARD(hex_exact(signer, q->mr_signer, 32, VEIL_ERR_DCAP_QE_IDENTITY));
    GUARD(json_uint(prod, 65535, VEIL_ERR_DCAP_QE_IDENTITY, &x));
    q->isv_prod_id = (uint16_t)x;
    ENSURE(eval >= 0, VEIL_ERR_DCAP_QE_IDENTITY);
    q->eval_number = (int64_t)eval;
    return parse_isv_levels(levels, VEIL_ERR_DCAP_QE_IDENTITY, &q->levels, &q->level_count);
}

veil_result veil_dcap_qe_identity_parse(const char *json, size_t n,
                                        struct veil_dcap_qe_identity *out)
{
    struct veil_dcap_qe_identity q;
    json_error_t jerr;
    json_t *root;
    veil_result r;

    ENSURE(n <= VEIL_DCAP_JSON_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &jerr);
    ENSURE(root != NULL, VEIL_ERR_DCAP_QE_IDENTITY);
    memset(&q, 0, sizeof(q));
    r = qe_identity_from_json(root, &q);
    json_decref(root);
    if (!veil_ok(r)) {
        veil_dcap_qe_identity_free(&q);
        return r;
    }
    *out = q;
    return VEIL_RESULT_OK;
}

/* ---- Collateral bundles. */

void veil_dcap_collateral_init(struct veil_dcap_collateral *c)
{
    memset(c, 0, sizeof(*c));
}

void veil_dcap_collateral_free(struct veil_dcap_collateral *c)
{
    sk_X509_pop_free(c->certs, X509_free);
    sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
    for (size_t i = 0; i < c->doc_count; i++) {
        free(c->docs[i].body);
    }
    veil_dcap_collateral_init(c);
}

static VEIL_RESULT add_doc(struct veil_dcap_collateral *c, enum veil_dcap_doc_kind kind,
                           const char *body, size_t body_size, const char *sig_hex)
{
    struct veil_dcap_doc *d;

    ENSURE(c->doc_count < VEIL_DCAP_DOC_COUNT_MAX, VEIL_ERR_PROTO_LIMIT);
    ENSURE(body_size <= VEIL_DCAP_JSON_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    d = &c->docs[c->doc_count];
    GUARD(hex_exact(sig_hex, d->signature, sizeof(d->signature), VEIL_ERR_DCAP_COLLATERAL));
    d->body = malloc(body_size + 1);
    ENSURE(d->body != NULL, VEIL_ERR_NOMEM);
    memcpy(d->body, body, body_size);
    d->body[body_size] = '\0';
    d->body_size = body_size;
    d->kind = kind;
    c->doc_count++;
    return VEIL_RESULT_OK;
}

/* PEM certificates and CRLs in a bundle string. */
static VEIL_RESULT add_pem(struct veil_dcap_collateral *c, const char *pem)
{
    size_t n = strlen(pem);
    BIO *bio;
    STACK_OF(X509_INFO) * infos;
    veil_result r = VEIL_RESULT_OK;

    ENSURE(n > 0 && n <= VEIL_DCAP_JSON_SIZE_MAX, VEIL_ERR_DCAP_COLLATERAL);
    bio = BIO_new_mem_buf(pem, (int)n);
    ENSURE(bio != NULL, VEIL_ERR_NOMEM);
    infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (infos == NULL || sk_X509_INFO_num(infos) == 0) {
        sk_X509_INFO_pop_free(infos, X509_INFO_free);
        ERR_clear_error();
        BAIL(VEIL_ERR_DCAP_COLLATERAL);
    }
    for (int i = 0; i < sk_X509_INFO_num(infos) && veil_ok(r); i++) {
        X509_INFO *info = sk_X509_INFO_value(infos, i);
        if (info->x509 != NULL) {
            if (sk_X509_push(c->certs, info->x509) <= 0) {
                r = veil_result_of(VEIL_ERR_NOMEM);
            } else {
                info->x509 = NULL;
            }
        }
        if (veil_ok(r) && info->crl != NULL) {
            if (sk_X509_CRL_push(c->crls, info->crl) <= 0) {
                r = veil_result_of(VEIL_ERR_NOMEM);
            } else {
                info->crl = NULL;
            }
        }
    }
    sk_X509_INFO_pop_free(infos, X509_INFO_free);
    return r;
}

/* A CRL as hex DER (dcap-qvl) or PEM. */
static VEIL_RESULT add_crl_text(struct veil_dcap_collateral *c, const char *text)
{
    size_t n = strlen(text);
    uint8_t *der;
    size_t der_size;
    const unsigned char *p;
    X509_CRL *crl;
    veil_result r;

    if (strstr(text, "-----BEGIN") != NULL) {
        return add_pem(c, text);
    }
    ENSURE(n > 0 && n % 2 == 0 && n <= VEIL_DCAP_JSON_SIZE_MAX, VEIL_ERR_DCAP_COLLATERAL);
    der = malloc(n / 2);
    ENSURE(der != NULL, VEIL_ERR_NOMEM);
    r = veil_hex_decode(text, n, der, n / 2, &der_size);
    if (!veil_ok(r)) {
        free(der);
        BAIL(VEIL_ERR_DCAP_COLLATERAL);
    }
    p = der;
    crl = d2i_X509_CRL(NULL, &p, (long)der_size);
    if (crl == NULL || p != der + der_size) {
        X509_CRL_free(crl);
        free(der);
        ERR_clear_error();
        BAIL(VEIL_ERR_DCAP_COLLATERAL);
    }
    free(der);
    if (sk_X509_CRL_push(c->crls, crl) <= 0) {
        X509_CRL_free(crl);
        BAIL(VEIL_ERR_NOMEM);
    }
    return VEIL_RESULT_OK;
}

/* dcap-qvl QuoteCollateralV3. */
static VEIL_RESULT add_qvl_bundle(struct veil_dcap_collateral *c, json_t *root)
{
    const char *pck_crl_chain = NULL, *root_crl = NULL, *pck_crl = NULL;
    const char *tcb_chain = NULL, *tcb = NULL, *tcb_sig = NULL;
    const char *qe_chain = NULL, *qe = NULL, *qe_sig = NULL, *pck_chain = NULL;

    ENSURE(json_unpack(root, "{s?s, s?s, s?s, s?s, s:s, s:s, s?s, s:s, s:s, s?s !}",
                       "pck_crl_issuer_chain", &pck_crl_chain, "root_ca_crl", &root_crl, "pck_crl",
                       &pck_crl, "tcb_info_issuer_chain", &tcb_chain, "tcb_info", &tcb,
                       "tcb_info_signature", &tcb_sig, "qe_identity_issuer_chain", &qe_chain,
                       "qe_identity", &qe, "qe_identity_signature", &qe_sig,
                       "pck_certificate_chain", &pck_chain) == 0,
           VEIL_ERR_DCAP_COLLATERAL);
    GUARD(add_doc(c, VEIL_DCAP_DOC_TCB_INFO, tcb, strlen(tcb), tcb_sig));
    GUARD(add_doc(c, VEIL_DCAP_DOC_QE_IDENTITY, qe, strlen(qe), qe_sig));
    const char *chains[] = {pck_crl_chain, tcb_chain, qe_chain, pck_chain};
    for (size_t i = 0; i < sizeof(chains) / sizeof(chains[0]); i++) {
        if (chains[i] != NULL) {
            GUARD(add_pem(c, chains[i]));
        }
    }
    if (pck_crl != NULL) {
        GUARD(add_crl_text(c, pck_crl));
    }
    if (root_crl != NULL) {
        GUARD(add_crl_text(c, root_crl));
    }
    return VEIL_RESULT_OK;
}

/* A PCS response: {"<member>":{...},"signature":"<hex>"}. */
static VEIL_RESULT add_pcs_doc(struct veil_dcap_collateral *c, const char *json, size_t n,
                               json_t *root, const char *member, enum veil_dcap_doc_kind kind)
{
    json_t *body;
    const char *sig;
    const char *text;
    size_t text_size;

    ENSURE(json_unpack(root, "{s:o, s:s !}", member, &body, "signature", &sig) == 0,
           VEIL_ERR_DCAP_COLLATERAL);
    ENSURE(json_is_object(body), VEIL_ERR_DCAP_COLLATERAL);
    ENSURE(veil_ok(veil_dcap_json_member(json, n, member, &text, &text_size)),
           VEIL_ERR_DCAP_COLLATERAL);
    return add_doc(c, kind, text, text_size, sig);
}

static VEIL_RESULT ensure_stacks(struct veil_dcap_collateral *c)
{
    if (c->certs == NULL) {
        c->certs = sk_X509_new_null();
    }
    if (c->crls == NULL) {
        c->crls = sk_X509_CRL_new_null();
    }
    ENSURE(c->certs != NULL && c->crls != NULL, VEIL_ERR_NOMEM);
    return VEIL_RESULT_OK;
}

veil_result veil_dcap_collateral_add_json(struct veil_dcap_collateral *c, const char *json,
                                          size_t n)
{
    json_error_t jerr;
    json_t *root;
    veil_result r = VEIL_RESULT_OK;

    GUARD(ensure_stacks(c));
    ENSURE(n <= VEIL_DCAP_JSON_SIZE_MAX, VEIL_ERR_PROTO_LIMIT);
    root = json_loadb(json, n, JSON_REJECT_DUPLICATES, &jerr);
    ENSURE(root != NULL, VEIL_ERR_DCAP_COLLATERAL);
    if (!json_is_object(root)) {
        r = veil_result_of(VEIL_ERR_DCAP_COLLATERAL);
    } else if (json_object_get(root, "tcbInfo") != NULL) {
        r = add_pcs_doc(c, json, n, root, "tcbInfo", VEIL_DCAP_DOC_TCB_INFO);
    } else if (json_object_get(root, "enclaveIdentity") != NULL) {
        r = add_pcs_doc(c, json, n, root, "enclaveIdentity", VEIL_DCAP_DOC_QE_IDENTITY);
    } else if (json_object_get(root, "qeIdentity") != NULL) {
        r = add_pcs_doc(c, json, n, root, "qeIdentity", VEIL_DCAP_DOC_QE_IDENTITY);
    } else if (json_object_get(root, "tcb_info") != NULL) {
        r = add_qvl_bundle(c, root);
    } else {
        r = veil_result_of(VEIL_ERR_DCAP_COLLATERAL);
    }
    json_decref(root);
    return r;
}

veil_result veil_dcap_collateral_load(const struct veil_collateral *src,
                                      struct veil_dcap_collateral *out)
{
    GUARD(ensure_stacks(out));
    if (src == NULL) {
        return VEIL_RESULT_OK;
    }
    for (int i = 0; src->certs != NULL && i < sk_X509_num(src->certs); i++) {
        X509 *x = sk_X509_value(src->certs, i);
        ENSURE(X509_up_ref(x) == 1, VEIL_ERR_INTERNAL_OSSL);
        if (sk_X509_push(out->certs, x) <= 0) {
            X509_free(x);
            BAIL(VEIL_ERR_NOMEM);
        }
    }
    for (int i = 0; src->crls != NULL && i < sk_X509_CRL_num(src->crls); i++) {
        X509_CRL *crl = sk_X509_CRL_value(src->crls, i);
        ENSURE(X509_CRL_up_ref(crl) == 1, VEIL_ERR_INTERNAL_OSSL);
        if (sk_X509_CRL_push(out->crls, crl) <= 0) {
            X509_CRL_free(crl);
            BAIL(VEIL_ERR_NOMEM);
        }
    }
    for (size_t i = 0; i < src->json_count; i++) {
        veil_result r = veil_dcap_collateral_add_json(out, src->json[i], src->json_size[i]);
        if (r.code == VEIL_ERR_NOMEM) {
            return r;
        }
        if (!veil_ok(r)) {
            /* Not DCAP collateral (or broken): other verifiers' documents share the bundle. */
            veil_log_r(VEIL_LOG_DEBUG, r, "JSON collateral document %zu ignored for DCAP", i);
        }
    }
    return VEIL_RESULT_OK;
}

/* ---- Prepared collateral. */

void veil_dcap_cache_free(struct veil_dcap_cache *cache)
{
    if (cache == NULL) {
        return;
    }
    for (size_t i = 0; i < VEIL_DCAP_DOC_COUNT_MAX; i++) {
        if (cache->tcb_ok[i]) {
            veil_dcap_tcb_info_free(&cache->tcb[i]);
        }
        if (cache->qe_ok[i]) {
            veil_dcap_qe_identity_free(&cache->qe[i]);
        }
    }
    if (cache->memo_owned) {
        veil_dcap_memo_free(cache->memo);
    }
    free(cache->cert_digest);
    free(cache->cert_tcb_signer);
    free(cache->crl_digest);
    X509_free(cache->root);
    veil_dcap_collateral_free(&cache->col);
    free(cache);
}

/* SHA-256 of an object's DER encoding. */
static VEIL_RESULT der_digest(const struct veil_dcap_memo *m, X509 *x, X509_CRL *crl,
                              uint8_t out[32])
{
    unsigned char *der = NULL;
    int n = x != NULL ? i2d_X509(x, &der) : i2d_X509_CRL(crl, &der);
    veil_result r;

    if (n <= 0) {
        ERR_clear_error();
        BAIL(VEIL_ERR_NOMEM);
    }
    r = veil_dcap_memo_sha256(m, der, (size_t)n, out);
    OPENSSL_free(der);
    return r;
}

/* The digests that key the memo: the root, every certificate (and the set of them), every CRL,
 * every document. */
static VEIL_RESULT cache_digests(struct veil_dcap_cache *cache)
{
    int certs = sk_X509_num(cache->col.certs);
    int crls = sk_X509_CRL_num(cache->col.crls);
    struct veil_dcap_part all;
    char name[64];

    GUARD(der_digest(cache->memo, cache->root, NULL, cache->root_digest));
    cache->cert_digest = calloc((size_t)certs + 1, sizeof(*cache->cert_digest));
    cache->cert_tcb_signer = calloc((size_t)certs + 1, sizeof(*cache->cert_tcb_signer));
    cache->crl_digest = calloc((size_t)crls + 1, sizeof(*cache->crl_digest));
    ENSURE(
        cache->cert_digest != NULL && cache->cert_tcb_signer != NULL && cache->crl_digest != NULL,
        VEIL_ERR_NOMEM);
    for (int i = 0; i < certs; i++) {
        X509 *x = sk_X509_value(cache->col.certs, i);
        GUARD(der_digest(cache->memo, x, NULL, cache->cert_digest[i]));
        cache->cert_tcb_signer[i] =
            X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, name,
                                      (int)sizeof(name)) >= 0 &&
            strcmp(name, "Intel SGX TCB Signing") == 0;
    }
    all.data = cache->cert_digest;
    all.size = (size_t)certs * sizeof(*cache->cert_digest);
    GUARD(veil_dcap_memo_key(cache->memo, "dcap collateral certificates", &all, 1,
                             cache->certs_digest));
    for (int i = 0; i < crls; i++) {
        GUARD(der_digest(cache->memo, NULL, sk_X509_CRL_value(cache->col.crls, i),
                         cache->crl_digest[i]));
    }
    for (size_t i = 0; i < cache->col.doc_count; i++) {
        const struct veil_dcap_doc *d = &cache->col.docs[i];
        uint8_t kind = (uint8_t)d->kind;
        const struct veil_dcap_part parts[] = {
            {&kind, 1}, {d->body, d->body_size}, {d->signature, sizeof(d->signature)}};
        GUARD(veil_dcap_memo_key(cache->memo, "dcap collateral document", parts, 3,
                                 cache->doc_digest[i]));
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT cache_docs(struct veil_dcap_cache *cache)
{
    for (size_t i = 0; i < cache->col.doc_count; i++) {
        const struct veil_dcap_doc *d = &cache->col.docs[i];
        veil_result pr;
        if (d->kind == VEIL_DCAP_DOC_TCB_INFO) {
            pr = veil_dcap_tcb_info_parse(d->body, d->body_size, &cache->tcb[i]);
            cache->tcb_ok[i] = veil_ok(pr);
        } else {
            pr = veil_dcap_qe_identity_parse(d->body, d->body_size, &cache->qe[i]);
            cache->qe_ok[i] = veil_ok(pr);
        }
        /* A malformed document is left out (the checks then report it missing); memory is not. */
        if (pr.code == VEIL_ERR_NOMEM) {
            return pr;
        }
        if (!veil_ok(pr)) {
            veil_log_r(VEIL_LOG_DEBUG, pr, "collateral document %zu ignored", i);
        }
    }
    return VEIL_RESULT_OK;
}

static VEIL_RESULT cache_new(const struct veil_collateral *src, struct veil_dcap_memo *memo,
                             struct veil_dcap_cache **out)
{
    struct veil_dcap_cache *cache = calloc(1, sizeof(*cache));
    veil_result r;

    ENSURE(cache != NULL, VEIL_ERR_NOMEM);
    veil_dcap_collateral_init(&cache->col);
    if (memo != NULL) {
        cache->memo = memo;
        r = VEIL_RESULT_OK;
    } else {
        r = veil_dcap_memo_new(&cache->memo);
        cache->memo_owned = veil_ok(r);
    }
    if (veil_ok(r)) {
        r = veil_dcap_root_ca(&cache->root);
    }
    if (veil_ok(r)) {
        r = veil_dcap_collateral_load(src, &cache->col);
    }
    if (veil_ok(r)) {
        r = cache_docs(cache);
    }
    if (veil_ok(r)) {
        r = cache_digests(cache);
    }
    if (!veil_ok(r)) {
        veil_dcap_cache_free(cache);
        return r;
    }
    *out = cache;
    return VEIL_RESULT_OK;
}

veil_result veil_dcap_cache_new(const struct veil_collateral *src, struct veil_dcap_cache **out)
{
    return cache_new(src, NULL, out);
}

veil_result veil_dcap_cache_new_memo(const struct veil_collateral *src, struct veil_dcap_memo *memo,
                                     struct veil_dcap_cache **out)
{
    ENSURE_REF(memo);
    return cache_new(src, memo, out);
}

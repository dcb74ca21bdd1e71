/*
 * veil-serve start-up, in order (docs/PROTOCOL.serve.md): configuration; measurement of the
 * program and its configuration; the sealed model checked (provider signature, size) and its
 * locked memory reserved, faulted in on a thread meanwhile; the model key from the key broker,
 * released to our evidence; the model opened into the locked memory (expected name and id); the
 * key wiped; the engine loaded from that memory and, for static input shapes, its activation
 * memory planned. Every step is logged with its duration; a failure is one line on stderr naming
 * the step and the reason, and the process exits non-zero.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/encoding.h"
#include "base/file.h"
#include "base/heap.h"
#include "base/log.h"
#include "base/meminfo.h"
#include "base/secret.h"
#include "kbs/cert.h"
#include "kbs/client.h"
#include "serve.h"
#include <veil/veil.h>

#define SIGNER_PEM_SIZE_MAX 16384

static int step_failed(const char *step, const char *reason)
{
    (void)fprintf(stderr, "veil-serve: %s: %s\n", step, reason);
    return 1;
}

static int step_failed_code(const char *step, const char *what, int32_t code)
{
    char reason[1024];

    if (snprintf(reason, sizeof(reason), "%s: %s", what, veil_strerror(code)) < 0) {
        reason[0] = '\0';
    }
    return step_failed(step, reason);
}

static double now_s(void)
{
    return serve_now_s();
}

/* Milliseconds since *t, which moves on to now: for the step=... ms=... log lines. */
static double ms_since(double *t)
{
    double now = now_s();
    double ms = (now - *t) * 1e3;

    *t = now;
    return ms;
}

int serve_configure(struct serve *s, const char *config_path)
{
    static const char *const levels[] = {"error", "warn", "info", "debug"};
    char why[512];
    veil_result r = veil_conf_init(&s->conf, serve_conf_items, serve_conf_count);

    s->config_path = config_path;
    if (!veil_ok(r) || !veil_ok(veil_conf_load(&s->conf, config_path, why, sizeof(why)))) {
        (void)fprintf(stderr, "veil-serve: configuration: %s: %s\n", config_path, why);
        return 2;
    }
    for (size_t i = 0; i < 4; i++) {
        if (strcmp(veil_conf_str(&s->conf, "log_level"), levels[i]) == 0) {
            veil_log_set_level((enum veil_log_level)i);
        }
    }
    if (strcmp(veil_conf_str(&s->conf, "tee"), "sim") != 0) {
        (void)fprintf(stderr,
                      "veil-serve: configuration: tee = %s: only the simulated TEE (sim) has an "
                      "attester in this build\n",
                      veil_conf_str(&s->conf, "tee"));
        return 2;
    }
    s->tls = !veil_conf_bool(&s->conf, "insecure_http");
    s->body_size_max = (size_t)veil_conf_int(&s->conf, "request_size_max");
    s->response_size_max = (size_t)veil_conf_int(&s->conf, "response_size_max");
    s->server_timing = veil_conf_bool(&s->conf, "server_timing");
    s->tensor_size_max = (size_t)veil_conf_int(&s->conf, "tensor_size_max");
    s->model.name = veil_conf_str(&s->conf, "model_name");
    veil_wr_init(&s->chain, VEIL_KBS_CERT_CHAIN_SIZE_MAX);
    (void)pthread_rwlock_init(&s->cert_mu, NULL);
    if (veil_conf_bool(&s->conf, "kbs_cert") &&
        (!s->tls || veil_conf_str(&s->conf, "tls_cert")[0] != '\0')) {
        (void)fprintf(stderr,
                      "veil-serve: configuration: kbs_cert = true needs TLS with the ephemeral "
                      "key (no insecure_http, no tls_cert)\n");
        return 2;
    }
    return 0;
}

/* The measurement (program and configuration) and the simulated platform. */
static int measure(struct serve *s)
{
    const char *paths[2] = {"/proc/self/exe", s->config_path};
    char hex[2 * sizeof(s->guest.measurement) + 1] = "";
    double t = now_s();
    veil_result r;

    memset(&s->guest, 0, sizeof(s->guest));
    if (veil_conf_bool(&s->conf, "measure")) {
        r = veil_sim_measure(paths, 2, s->guest.measurement);
        if (!veil_ok(r)) {
            return step_failed_code("measuring", "/proc/self/exe and the configuration", r.code);
        }
    } else {
        veil_log(VEIL_LOG_WARN, "measure = false: the evidence carries a zero measurement");
    }
    if (!veil_ok(veil_hex_encode(s->guest.measurement, sizeof(s->guest.measurement), hex,
                                 sizeof(hex)))) {
        hex[0] = '\0';
    }
    r = veil_sim_platform_load(veil_conf_str(&s->conf, "sim_dir"), &s->sim);
    if (!veil_ok(r)) {
        return step_failed_code("simulated TEE", veil_conf_str(&s->conf, "sim_dir"), r.code);
    }
    veil_log(VEIL_LOG_INFO, "step=measure measurement=%s ms=%.1f", hex, ms_since(&t));
    return 0;
}

/* The sealed model before its key: the provider signature checked, the plaintext's locked memory
 * reserved (each page locked the moment it is touched), and its pages faulted in on a thread of
 * their own while the key is fetched; the rest as the chunks are decrypted (the pipeline's reader
 * faults each chunk's pages in before a worker decrypts into them). */
struct model_prep {
    struct veil_wr pem;
    int fd;
    uint8_t id[VEIL_MODEL_ID_BYTES]; /* model_id */
    struct veil_locked_prefault prefault;
};

static int prepare_model(struct serve *s, struct model_prep *m)
{
    const char *path = veil_conf_str(&s->conf, "sealed_model");
    const char *signer = veil_conf_str(&s->conf, "signer_pub");
    const char *id_hex = veil_conf_str(&s->conf, "model_id");
    struct veil_model_info info;
    double t = now_s();
    uint64_t avail;
    size_t n = 0;
    int e;
    veil_result r;

    if (!veil_ok(veil_hex_decode(id_hex, strlen(id_hex), m->id, sizeof(m->id), &n)) ||
        n != sizeof(m->id)) {
        return step_failed("configuration", "model_id: must be 64 hex digits");
    }
    r = veil_file_read(signer, SIGNER_PEM_SIZE_MAX, &m->pem);
    if (!veil_ok(r)) {
        return step_failed_code("provider key", signer, r.code);
    }
    m->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (m->fd < 0) {
        return step_failed_code("sealed model", path, VEIL_ERR_IO_OPEN);
    }
    e = veil_model_inspect_fd(m->fd, m->pem.data, m->pem.len, &info);
    if (e != 0) {
        return step_failed_code("sealed model", path, -e);
    }
    if (info.plaintext_size == 0 || info.plaintext_size > VEIL_ENGINE_MODEL_SIZE_MAX) {
        return step_failed_code("sealed model", path, VEIL_ERR_SERVE_MODEL_SIZE);
    }
    if (lseek(m->fd, 0, SEEK_SET) != 0) {
        return step_failed_code("sealed model", path, VEIL_ERR_IO_READ);
    }
    veil_log(VEIL_LOG_INFO, "step=sealed-model model=%s size=%llu signature=verified ms=%.1f",
             info.name, info.plaintext_size, ms_since(&t));
    /* Locked pages cannot be reclaimed: a plaintext bigger than what the machine (or a cgroup
     * limit) still has would end in the OOM killer half-way through the fault-in. */
    avail = veil_mem_available();
    if (info.plaintext_size > avail) {
        char reason[256];
        (void)snprintf(reason, sizeof(reason),
                       "the model's plaintext needs %.1f MiB, only %.1f MiB is available "
                       "(MemAvailable, or the room under a cgroup memory limit)",
                       (double)info.plaintext_size / 1048576.0, (double)avail / 1048576.0);
        return step_failed("locked memory", reason);
    }
    /* with room for the pad that place_model chooses */
    r = veil_locked_map_onfault((size_t)info.plaintext_size + VEIL_MODEL_PLACE_PAD_MAX,
                                &s->model.plaintext);
    if (!veil_ok(r)) {
        s->model.plaintext = NULL;
        return step_failed_code("locked memory", "the model's plaintext", r.code);
    }
    s->model.plaintext_map_size = (size_t)info.plaintext_size + VEIL_MODEL_PLACE_PAD_MAX;
    s->model.plaintext_size = (size_t)info.plaintext_size;
    (void)veil_locked_prefault_start(&m->prefault, s->model.plaintext, s->model.plaintext_map_size);
    veil_log(VEIL_LOG_INFO, "step=locked size=%zu lock=on-fault prefault=%s ms=%.1f",
             s->model.plaintext_size, m->prefault.started ? "thread" : "by-decryption",
             ms_since(&t));
    return 0;
}

/* Waits for the fault-in thread (stopping it when the model did not open) and releases the rest. */
static veil_result prep_free(struct model_prep *m, bool stop)
{
    veil_result r = veil_locked_prefault_join(&m->prefault, stop);

    if (m->fd >= 0) {
        (void)close(m->fd);
        m->fd = -1;
    }
    veil_wr_free(&m->pem);
    return r;
}

/* Payloads smaller than this are not worth placing the whole model for (the engine moves them,
 * a few bytes back, in no time). */
#define PLACE_PAYLOAD_MIN (64 * 1024)

/* The placement callback (veil_open_params.place): from the first decrypted chunk, the pad that
 * puts the first big weight payload on a VEIL_ENGINE_PLACE_ALIGN boundary (the mapping is page
 * aligned), so that loading in place borrows it where it is instead of moving it. 0 when the
 * chunk does not reach it. */
static size_t place_model(void *ctx, const uint8_t *first, size_t len)
{
    size_t *pad = ctx;
    size_t off = 0;

    *pad = 0;
    if (veil_engine_first_payload_offset(first, len, PLACE_PAYLOAD_MIN, &off)) {
        *pad = (VEIL_ENGINE_PLACE_ALIGN - off % VEIL_ENGINE_PLACE_ALIGN) % VEIL_ENGINE_PLACE_ALIGN;
    }
    return *pad;
}

/* The model, with its key, into the locked memory prepared for it; then its expected identity. */
static int open_model(struct serve *s, struct model_prep *m,
                      const uint8_t key[VEIL_MODEL_KEY_BYTES])
{
    const char *path = veil_conf_str(&s->conf, "sealed_model");
    struct veil_open_params p = {0};
    double t = now_s();
    int e;
    veil_result r;

    p.expect_name = s->model.name;
    p.expect_model_id = m->id;
    p.place = place_model;
    p.place_ctx = &s->model.plaintext_pad;
    e = veil_model_open_memory(m->fd, s->model.plaintext, s->model.plaintext_map_size, key,
                               m->pem.data, m->pem.len, &p, &s->model.info);
    r = prep_free(m, true);
    if (e != 0) {
        return step_failed_code("opening the sealed model", path, -e);
    }
    if (!veil_ok(r)) {
        return step_failed_code("locked memory", "the model's plaintext", r.code);
    }
    if (!veil_ok(veil_hex_encode(s->model.info.model_id, VEIL_MODEL_ID_BYTES, s->model.id_hex,
                                 sizeof(s->model.id_hex)))) {
        return step_failed("opening the sealed model", "model id");
    }
    veil_log(VEIL_LOG_INFO, "step=open model=%s size=%zu locked=yes pad=%zu ms=%.1f",
             s->model.info.name, s->model.plaintext_size, s->model.plaintext_pad, ms_since(&t));
    return 0;
}

/* The key from the broker (into a secret writer, wiped on free), then the model with it. */
static int fetch_and_open(struct serve *s, struct model_prep *m)
{
    struct veil_sim_attester_ctx sim = {&s->sim, &s->guest};
    struct veil_kbs_client_opts o = {veil_conf_str(&s->conf, "kbs_url"),
                                     veil_conf_str(&s->conf, "kbs_cacert"),
                                     VEIL_TEE_SIM,
                                     veil_sim_attester,
                                     &sim,
                                     30};
    const char *resource = veil_conf_str(&s->conf, "resource");
    struct veil_wr secret;
    char why[1024] = "";
    double t = now_s();
    int rc;
    veil_result r;
    veil_result pr;

    veil_wr_init_secret(&secret, 4096);
    veil_log(VEIL_LOG_INFO, "step=fetch kbs=%s resource=%s", o.url, resource);
    if (veil_conf_bool(&s->conf, "kbs_cert")) {
        struct veil_kbs_cert_want want = {s->tls_key, veil_conf_str(&s->conf, "kbs_cert_name"),
                                          veil_conf_str(&s->conf, "tls_san"),
                                          (long)veil_conf_int(&s->conf, "kbs_cert_validity_s"),
                                          s->ratls_cert};
        r = veil_kbs_fetch_cert(&o, resource, &secret, &want, &s->chain, why, sizeof(why));
        if (veil_ok(r)) {
            veil_log(VEIL_LOG_INFO, "step=kbs-cert name=%s san=%s", want.name, want.san);
        }
    } else {
        r = veil_kbs_fetch(&o, resource, &secret, why, sizeof(why));
    }
    /* The key is here (or not): the decryption faults the rest in, chunk by chunk. */
    pr = veil_locked_prefault_join(&m->prefault, true);
    if (!veil_ok(r)) {
        veil_wr_free(&secret);
        return step_failed("key broker refused", why[0] != '\0' ? why : veil_strerror(r.code));
    }
    if (!veil_ok(pr)) {
        veil_wr_free(&secret);
        return step_failed_code("locked memory", "the model's plaintext", pr.code);
    }
    s->attested_at = time(NULL);
    if (secret.len != VEIL_MODEL_KEY_BYTES) {
        veil_wr_free(&secret);
        return step_failed("model key", "the broker's resource is not a 32-byte model key");
    }
    veil_log(VEIL_LOG_INFO, "step=key bytes=%zu ms=%.1f prefaulted_mib=%zu", secret.len,
             ms_since(&t), m->prefault.done / (1024 * 1024));
    rc = open_model(s, m, secret.data);
    veil_wr_free(&secret); /* wipes the key */
    veil_log(VEIL_LOG_INFO, "step=wipe-key done");
    return rc;
}

void serve_cert_renew(struct serve *s)
{
    struct veil_sim_attester_ctx sim = {&s->sim, &s->guest};
    struct veil_kbs_client_opts o = {veil_conf_str(&s->conf, "kbs_url"),
                                     veil_conf_str(&s->conf, "kbs_cacert"),
                                     VEIL_TEE_SIM,
                                     veil_sim_attester,
                                     &sim,
                                     30};
    struct veil_kbs_cert_want want = {
        s->tls_key, veil_conf_str(&s->conf, "kbs_cert_name"), veil_conf_str(&s->conf, "tls_san"),
        (long)veil_conf_int(&s->conf, "kbs_cert_validity_s"), s->ratls_cert};
    char why[1024] = "";
    veil_result r;

    veil_wr_reset(&s->chain);
    r = veil_kbs_fetch_cert(&o, NULL, NULL, &want, &s->chain, why, sizeof(why));
    if (veil_ok(r)) {
        r = serve_certs_install(s);
    }
    if (veil_ok(r)) {
        r = serve_write_cert_out(s);
    }
    if (!veil_ok(r)) {
        s->cert_renew_at = time(NULL) + 60; /* the current certificate stays until it expires */
        veil_log(VEIL_LOG_WARN, "step=kbs-cert-renew failed (again in 60 s): %s",
                 why[0] != '\0' ? why : veil_strerror(r.code));
        return;
    }
    veil_log(VEIL_LOG_INFO, "step=kbs-cert-renewed name=%s", want.name);
}

/* input_shapes: fixes the symbolic dims of the inputs named (the engine checks them against the
 * declared shapes); a syntax error or an unknown input is a configuration error. */
static bool fix_input_shapes(struct serve *s, char *why, size_t why_size)
{
    char buf[1025];
    char *save = NULL;
    struct veil_engine_model *m = s->model.engine;

    (void)snprintf(buf, sizeof(buf), "%s", veil_conf_str(&s->conf, "input_shapes"));
    for (char *tok = strtok_r(buf, " ,", &save); tok != NULL; tok = strtok_r(NULL, " ,", &save)) {
        char *eq = strchr(tok, '=');
        uint32_t rank;
        int64_t dims[VEIL_ENGINE_RANK_MAX];
        size_t k;
        veil_result r;
        if (eq == NULL || !veil_engine_parse_dims(eq + 1, &rank, dims)) {
            (void)snprintf(why, why_size, "input_shapes: want name=DIMxDIM..., got '%.64s'", tok);
            return false;
        }
        *eq = '\0';
        for (k = 0; k < veil_engine_input_count(m); k++) {
            if (strcmp(veil_engine_input_name(m, k), tok) == 0) {
                break;
            }
        }
        if (k == veil_engine_input_count(m)) {
            (void)snprintf(why, why_size, "input_shapes: the model has no input named '%.64s'",
                           tok);
            return false;
        }
        r = veil_engine_fix_input_shape(m, k, rank, dims);
        if (!veil_ok(r)) {
            (void)snprintf(why, why_size, "input_shapes: '%.64s=%.64s': %s", tok, eq + 1,
                           veil_strerror(r.code));
            return false;
        }
    }
    return true;
}

/* With every input's shape static, one planning run on zero inputs gives every intermediate an
 * offset in one arena, which requests of that shape then use instead of the buffer pool. A model
 * that cannot be planned (symbolic dims, or zeros it refuses) is served unplanned. */
#define SERVE_MMAP_THRESHOLD (2 * 1024 * 1024)

static void plan_engine(struct serve *s)
{
    struct veil_engine_diag diag = {{0}};
    size_t arena = 0;
    size_t planned = 0;
    size_t total = 0;
    size_t live = 0;
    double t0 = now_s();
    veil_result r;

    if (!veil_conf_bool(&s->conf, "plan")) {
        veil_log(VEIL_LOG_INFO, "step=plan none (plan = false)");
        return;
    }
    veil_heap_planning_begin();
    r = veil_engine_plan(s->model.engine, &diag);
    veil_heap_planning_end(SERVE_MMAP_THRESHOLD);
    if (veil_ok(r)) {
        r = veil_engine_plan_info(s->model.engine, &arena, &planned, &total);
    }
    if (veil_ok(r)) {
        r = veil_engine_plan_live_max(s->model.engine, &live);
    }
    if (!veil_ok(r)) {
        veil_log(VEIL_LOG_INFO, "step=plan none (%s%s%s): requests use the buffer pool",
                 veil_strerror(r.code), diag.what[0] != '\0' ? ": " : "", diag.what);
        return;
    }
    veil_log(VEIL_LOG_INFO,
             "step=plan intermediates=%zu arena_bytes=%zu live_max_bytes=%zu unshared_bytes=%zu "
             "seconds=%.3f",
             planned, arena, live, total, now_s() - t0);
}

/* The plaintext the engine no longer reads once loaded (the model's structure, names, small
 * tensors it copied: everything but the weights it borrows) is wiped, and its whole pages are
 * handed back: they no longer count in the process's memory (PaddleOCR cls: ~40 KB of its 570 KB,
 * Silero VAD ~0.1 MB; docs/ENGINE.models.md, fifth round). */
static void release_unread(struct serve *s)
{
    uint8_t *base = s->model.plaintext;
    size_t at = 0; /* from base: everything before it is kept or released */
    size_t wiped = 0;
    size_t released = 0;
    size_t off;
    size_t len;

    for (size_t i = 0;; i++) {
        bool more = veil_engine_kept_range(s->model.engine, i, &off, &len);
        size_t from = more ? s->model.plaintext_pad + off : s->model.plaintext_map_size;
        if (from > at) {
            released += veil_locked_release(base + at, from - at);
            wiped += from - at;
        }
        if (!more) {
            break;
        }
        at = from + len;
    }
    veil_log(VEIL_LOG_INFO, "step=release wiped_bytes=%zu released_bytes=%zu", wiped, released);
}

/* From what size a binary input's drained body chains are handed back while it is moved into its
 * tensor (request_body.h): holding a small input twice for the length of a request matters only
 * when it is a noticeable part of what the model holds anyway (its plaintext and planned arena),
 * and the hand-back costs time per request (PaddleOCR rec, a 217 KB input beside a 13 MB
 * footprint: 0.16 ms; PaddleOCR cls, 111 KB beside 0.93 MB: 0.15 MB of its peak). A sixteenth
 * of the footprint, at least 64 KiB; from 2 MiB always. */
#define HAND_BACK_MIN ((size_t)64 << 10)

static void set_input_hand_back(struct serve *s)
{
    size_t arena = 0;
    size_t planned = 0;
    size_t total = 0;
    size_t footprint = s->model.plaintext_size;

    if (veil_ok(veil_engine_plan_info(s->model.engine, &arena, &planned, &total))) {
        footprint += arena;
    }
    s->input_hand_back_min = footprint / 16 > HAND_BACK_MIN ? footprint / 16 : HAND_BACK_MIN;
    veil_log(VEIL_LOG_INFO, "step=request-memory input_hand_back_min_bytes=%zu",
             s->input_hand_back_min);
}

static int load_engine(struct serve *s)
{
    struct veil_engine_diag diag = {{0}};
    veil_result r;
    char reason[512];

    /* the weights stay in the locked plaintext, which the engine borrows (no copy) */
    r = veil_engine_load_inplace((uint8_t *)s->model.plaintext + s->model.plaintext_pad,
                                 s->model.plaintext_size, &diag, &s->model.engine);
    if (veil_ok(r)) {
        r = veil_engine_set_threads(s->model.engine, (unsigned)veil_conf_int(&s->conf, "threads"));
    }
    if (veil_ok(r)) {
        r = veil_engine_set_limits(s->model.engine, VEIL_ENGINE_TENSOR_SIZE_MAX,
                                   VEIL_ENGINE_LOOP_MAX, VEIL_ENGINE_WORK_MAX);
    }
    if (!veil_ok(r)) {
        if (snprintf(reason, sizeof(reason), "%s%s%s", veil_strerror(r.code),
                     diag.what[0] != '\0' ? ": " : "", diag.what) < 0) {
            reason[0] = '\0';
        }
        return step_failed("loading the model into the engine", reason);
    }
    release_unread(s);
    if (!fix_input_shapes(s, reason, sizeof(reason))) {
        return step_failed("configuration", reason);
    }
    plan_engine(s);
    set_input_hand_back(s);
    /* A request's big buffers (its body, its input tensors, outputs of 2 MiB and more) get
     * mappings of their own, returned to the system when the request is done: from the heap
     * (with glibc's dynamic threshold, up to 32 MiB, as veil onnx bench keeps it) their freed pages
     * stayed resident beside the arena and added up within a request (PaddleOCR det served: peak
     * 73.7 -> 64.7 MB, bench/engine/memory). The engine's own buffers are cached across runs
     * (the arena, the buffer pool). */
    veil_heap_set_mmap_threshold(SERVE_MMAP_THRESHOLD);
    return 0;
}

int serve_start(struct serve *s)
{
    struct model_prep m = {.fd = -1};
    void *curl;
    double t;
    double t0;
    int rc;

    veil_log(VEIL_LOG_INFO, "step=harden dumpable=0 core=0");
    rc = measure(s);
    if (rc != 0) {
        return rc;
    }
    if (veil_conf_bool(&s->conf, "kbs_cert")) {
        /* The TLS key first: the attestation binds it, and the broker certifies it. */
        veil_result r;

        t = now_s();
        r = serve_tls_key(s);
        if (!veil_ok(r)) {
            return step_failed_code("TLS", "ephemeral key and attested certificate", r.code);
        }
        veil_log(VEIL_LOG_INFO, "step=tls-key ms=%.1f", ms_since(&t));
    }
    t0 = now_s();
    veil_wr_init(&m.pem, SIGNER_PEM_SIZE_MAX);
    /* libcurl before the fault-in thread starts: its dlopen waited ~50 ms for the mmap lock that
     * MADV_POPULATE_WRITE holds (1 GiB model; bench/serve/tls_startup) */
    curl = veil_kbs_curl_preload();
    rc = prepare_model(s, &m);
    if (rc == 0) {
        rc = fetch_and_open(s, &m);
    }
    veil_kbs_curl_release(curl); /* unloaded now that the client has let go too */
    if (!veil_ok(prep_free(&m, true)) && rc == 0) { /* a no-op once the model is open */
        rc = step_failed("locked memory", "the model's plaintext");
    }
    if (rc != 0) {
        return rc;
    }
    t = now_s();
    rc = load_engine(s);
    if (rc != 0) {
        return rc;
    }
    s->model_load_s = now_s() - t0;
    veil_log(VEIL_LOG_INFO,
             "step=engine model=%s id=%s inputs=%zu outputs=%zu seconds=%.3f ms=%.1f",
             s->model.name, s->model.id_hex, veil_engine_input_count(s->model.engine),
             veil_engine_output_count(s->model.engine), s->model_load_s, ms_since(&t));
    if (s->tls) {
        veil_result r = serve_tls_ctx(s, &s->tls_ctx);
        if (!veil_ok(r)) {
            return step_failed_code("TLS", "server context", r.code);
        }
        veil_log(VEIL_LOG_INFO, "step=tls-ctx ms=%.1f", ms_since(&t));
    } else {
        veil_log(VEIL_LOG_WARN, "insecure_http = true: PLAIN HTTP, clients cannot attest us");
    }
    return 0;
}

void serve_free(struct serve *s)
{
    veil_engine_free(s->model.engine);
    if (s->model.plaintext != NULL) {
        veil_locked_free(s->model.plaintext, s->model.plaintext_map_size);
    }
    SSL_CTX_free(s->tls_ctx);
    EVP_PKEY_free(s->tls_key);
    X509_free(s->ratls_cert);
    veil_wr_free(&s->chain);
    X509_free(s->cert_leaf);
    sk_X509_pop_free(s->cert_chain, X509_free);
    veil_sim_platform_free(&s->sim);
    veil_conf_free(&s->conf);
}

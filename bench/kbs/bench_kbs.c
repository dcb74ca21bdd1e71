/*
 * Load generator for veil-kbs: full key releases (auth + attest with fresh sim evidence binding
 * the nonce and a fresh ephemeral key + resource + JWE decryption), each on a new TLS connection
 * (full handshake) as a starting TEE would make it. Two transports:
 *  - default: libveil's KBS client (libcurl). Each thread keeps one client (veil_kbs_client_new),
 *    so the CA file is read once per thread, not once per release: that is load-generator
 *    overhead a real TEE pays once per start.
 *  - --lean: one SSL_CTX for the whole run (CA loaded once), one TLS connection per release over
 *    plain OpenSSL sockets and a minimal HTTP/1.1 keep-alive client (Content-Length framing only,
 *    the session cookie echoed), so that one load-generator core can saturate one broker core
 *    (bench/kbs/run's pinned mode). The protocol is the same in full: /auth, fresh sim evidence
 *    binding the nonce and a fresh ephemeral key through libveil's attester and KBS protocol
 *    code, /attest, /resource, the JWE decrypted with libveil's JOSE code.
 * Either way every answer is checked (status 200, well-formed bodies) and every decrypted secret
 * must equal the first one; anything else counts as a failure (the first is printed).
 *   bench_kbs [--lean] URL CACERT SIMDIR RESOURCE THREADS SECONDS [RATE_PER_S]
 * RATE_PER_S (optional) paces the whole load to that many releases per second (open loop).
 * Prints releases/s, latency percentiles and this process's CPU time per release (the load
 * generator may share the machine's cores with the broker: bench/kbs/run reports both).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include "attest/sim.h"
#include "jose/jose.h"
#include "kbs/client.h"
#include "kbs/proto.h"

#define LAT_MAX 1000000

static struct veil_sim_platform plat;
static const char *url;
static const char *cacert;
static const char *resource;
static double deadline;
static double rate;
static double start;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static double *lat;
static size_t lat_count;
static size_t failures;
static unsigned long long issued;
static struct veil_wr first_secret; /* every release must decrypt to the same key */
static bool have_first;

/* --lean transport state, set up once in main. */
static bool lean;
static SSL_CTX *lean_ctx;
static struct sockaddr_storage lean_addr;
static socklen_t lean_addrlen;
static char lean_host[256];
static bool lean_host_is_ip;

#define LEAN_BODY_MAX (1u << 20)
#define LEAN_HEAD_MAX 16384

struct lean_conn {
    SSL *ssl;
    int fd;
    char cookie[256]; /* "kbs-session-id=..." from the auth answer */
    char buf[LEAN_HEAD_MAX];
    size_t have; /* bytes read and not yet consumed */
};

__attribute__((format(printf, 4, 5))) static veil_result lean_fail(char *why, size_t why_size,
                                                                   int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    (void)vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    ERR_clear_error();
    return veil_result_of(code);
}

/* https://HOST:PORT, resolved once. */
static bool lean_setup(const char *u, const char *ca)
{
    struct addrinfo hints = {0};
    struct addrinfo *ai = NULL;
    const char *hp = strncmp(u, "https://", 8) == 0 ? u + 8 : NULL;
    const char *colon = hp != NULL ? strrchr(hp, ':') : NULL;
    unsigned char ip[16];
    bool ok;

    if (colon == NULL || (size_t)(colon - hp) >= sizeof(lean_host) || colon == hp ||
        strchr(colon, '/') != NULL) {
        return false;
    }
    memcpy(lean_host, hp, (size_t)(colon - hp));
    lean_host[colon - hp] = '\0';
    lean_host_is_ip =
        inet_pton(AF_INET, lean_host, ip) == 1 || inet_pton(AF_INET6, lean_host, ip) == 1;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(lean_host, colon + 1, &hints, &ai) != 0) {
        return false;
    }
    memcpy(&lean_addr, ai->ai_addr, ai->ai_addrlen);
    lean_addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    lean_ctx = SSL_CTX_new(TLS_client_method());
    ok = lean_ctx != NULL && SSL_CTX_set_min_proto_version(lean_ctx, TLS1_2_VERSION) == 1 &&
         SSL_CTX_load_verify_file(lean_ctx, ca) == 1;
    if (ok) {
        SSL_CTX_set_verify(lean_ctx, SSL_VERIFY_PEER, NULL);
        /* A TEE attests afresh on every start: a full handshake per release, as with libcurl. */
        SSL_CTX_set_session_cache_mode(lean_ctx, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(lean_ctx, SSL_OP_NO_TICKET);
    }
    return ok;
}

static veil_result lean_connect(struct lean_conn *c, char *why, size_t why_size)
{
    struct timeval tv = {30, 0};
    int one = 1;

    c->fd = socket(lean_addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&lean_addr, lean_addrlen) != 0) {
        return lean_fail(why, why_size, VEIL_ERR_IO, "connect: %s", strerror(errno));
    }
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    c->ssl = SSL_new(lean_ctx);
    if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
        return lean_fail(why, why_size, VEIL_ERR_INTERNAL_OSSL, "tls: cannot make the connection");
    }
    if (lean_host_is_ip) {
        if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), lean_host) != 1) {
            return lean_fail(why, why_size, VEIL_ERR_INTERNAL_OSSL, "tls: bad address");
        }
    } else if (SSL_set_tlsext_host_name(c->ssl, lean_host) != 1 ||
               SSL_set1_host(c->ssl, lean_host) != 1) {
        return lean_fail(why, why_size, VEIL_ERR_INTERNAL_OSSL, "tls: bad host name");
    }
    if (SSL_connect(c->ssl) != 1) {
        char e[256];
        ERR_error_string_n(ERR_peek_last_error(), e, sizeof(e));
        return lean_fail(why, why_size, VEIL_ERR_IO, "tls handshake failed (verify: %s): %s",
                         X509_verify_cert_error_string(SSL_get_verify_result(c->ssl)), e);
    }
    return VEIL_RESULT_OK;
}

static void lean_close(struct lean_conn *c)
{
    if (c->ssl != NULL) {
        (void)SSL_shutdown(c->ssl); /* close_notify; the broker closes its side after our
                                     * "Connection: close" request anyway */
        SSL_free(c->ssl);
        c->ssl = NULL;
    }
    if (c->fd >= 0) {
        (void)close(c->fd);
        c->fd = -1;
    }
    ERR_clear_error();
}

static bool lean_read_more(struct lean_conn *c)
{
    int n;

    if (c->have >= sizeof(c->buf)) {
        return false;
    }
    n = SSL_read(c->ssl, c->buf + c->have, (int)(sizeof(c->buf) - c->have));
    if (n <= 0) {
        return false;
    }
    c->have += (size_t)n;
    return true;
}

/* Header value if line (of length n) is "name: value", else NULL. */
static const char *header_value(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);

    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':') {
        return NULL;
    }
    line += k + 1;
    while (*line == ' ' || *line == '\t') {
        line++;
    }
    return line;
}

/* One request and its answer (body into body); a status other than 200 is an error naming the
 * step. Only Content-Length framing is accepted; the session cookie is taken from Set-Cookie. */
static veil_result lean_call(struct lean_conn *c, const char *step, const char *path,
                             const struct veil_wr *post, bool last, struct veil_wr *body, char *why,
                             size_t why_size)
{
    char head[1024];
    char cl_line[64] = "";
    char ck_line[300] = "";
    struct veil_wr req;
    char *end = NULL;
    size_t head_len;
    long status;
    unsigned long long clen = 0;
    bool have_clen = false;
    bool ok;
    int hn;

    if (post != NULL) {
        (void)snprintf(cl_line, sizeof(cl_line),
                       "Content-Type: application/json\r\nContent-Length: %zu\r\n", post->len);
    }
    if (c->cookie[0] != '\0') {
        (void)snprintf(ck_line, sizeof(ck_line), "Cookie: %s\r\n", c->cookie);
    }
    hn = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\nAccept: */*\r\n%s%s%s\r\n",
                  post != NULL ? "POST" : "GET", path, lean_host, cl_line, ck_line,
                  last ? "Connection: close\r\n" : "");
    if (hn < 0 || (size_t)hn >= sizeof(head)) {
        return lean_fail(why, why_size, VEIL_ERR_USAGE, "%s: request too long", step);
    }
    /* One write (one TLS record) for head and body. */
    veil_wr_init(&req, VEIL_KBS_BODY_SIZE_MAX + sizeof(head));
    ok = veil_ok(veil_wr_bytes(&req, head, (size_t)hn)) &&
         (post == NULL || veil_ok(veil_wr_bytes(&req, post->data, post->len))) &&
         SSL_write(c->ssl, req.data, (int)req.len) == (int)req.len;
    veil_wr_free(&req);
    if (!ok) {
        return lean_fail(why, why_size, VEIL_ERR_IO, "%s: cannot send the request", step);
    }
    for (;;) {
        end = c->have >= 4 ? memmem(c->buf, c->have, "\r\n\r\n", 4) : NULL;
        if (end != NULL) {
            break;
        }
        if (!lean_read_more(c)) {
            return lean_fail(why, why_size, VEIL_ERR_IO, "%s: no complete answer head", step);
        }
    }
    head_len = (size_t)(end - c->buf) + 4;
    if (head_len < 12 || memcmp(c->buf, "HTTP/1.1 ", 9) != 0 || c->buf[9] < '1' ||
        c->buf[9] > '5') {
        return lean_fail(why, why_size, VEIL_ERR_PROTO, "%s: not an HTTP/1.1 answer", step);
    }
    status = strtol(c->buf + 9, NULL, 10);
    for (char *line = (char *)memchr(c->buf, '\n', head_len) + 1; line < end;) {
        char *eol = memchr(line, '\r', (size_t)(end + 2 - line));
        size_t n = (size_t)(eol - line);
        const char *v;

        if ((v = header_value(line, n, "Content-Length")) != NULL) {
            char *stop;
            clen = strtoull(v, &stop, 10);
            if (stop == v || stop != eol || have_clen) {
                return lean_fail(why, why_size, VEIL_ERR_PROTO, "%s: bad Content-Length", step);
            }
            have_clen = true;
        } else if (header_value(line, n, "Transfer-Encoding") != NULL) {
            return lean_fail(why, why_size, VEIL_ERR_PROTO,
                             "%s: Transfer-Encoding is not supported here", step);
        } else if ((v = header_value(line, n, "Set-Cookie")) != NULL &&
                   strncmp(v, VEIL_KBS_COOKIE_NAME "=", sizeof(VEIL_KBS_COOKIE_NAME)) == 0) {
            const char *semi = memchr(v, ';', (size_t)(eol - v));
            size_t k = (size_t)((semi != NULL ? semi : eol) - v);
            if (k >= sizeof(c->cookie)) {
                return lean_fail(why, why_size, VEIL_ERR_PROTO, "%s: cookie too long", step);
            }
            memcpy(c->cookie, v, k);
            c->cookie[k] = '\0';
        }
        line = eol + 2;
    }
    if (!have_clen || clen > LEAN_BODY_MAX) {
        return lean_fail(why, why_size, VEIL_ERR_PROTO, "%s: no usable Content-Length", step);
    }
    veil_wr_reset(body);
    {
        size_t rest = c->have - head_len;
        size_t take = rest < clen ? rest : (size_t)clen;
        if (!veil_ok(veil_wr_bytes(body, c->buf + head_len, take))) {
            return lean_fail(why, why_size, VEIL_ERR_NOMEM, "%s: body too large", step);
        }
        memmove(c->buf, c->buf + head_len + take, rest - take);
        c->have = rest - take;
    }
    while (body->len < clen) {
        char chunk[16384];
        size_t want = (size_t)clen - body->len;
        int n = SSL_read(c->ssl, chunk, (int)(want < sizeof(chunk) ? want : sizeof(chunk)));
        if (n <= 0 || !veil_ok(veil_wr_bytes(body, chunk, (size_t)n))) {
            return lean_fail(why, why_size, VEIL_ERR_IO, "%s: truncated answer body", step);
        }
    }
    if (status != 200) {
        return lean_fail(why, why_size, status == 403 ? VEIL_ERR_POLICY : VEIL_ERR_ATTEST,
                         "%s: key broker answered %ld %.*s", step, status,
                         (int)(body->len > 200 ? 200 : body->len),
                         body->data != NULL ? (const char *)body->data : "");
    }
    return VEIL_RESULT_OK;
}

/* One full release on a connection of its own. */
static veil_result lean_fetch(struct veil_sim_attester_ctx *sim, struct veil_wr *secret, char *why,
                              size_t why_size)
{
    struct lean_conn *c = calloc(1, sizeof(*c));
    struct veil_wr req;
    struct veil_wr body;
    char nonce[128];
    char path[512];
    EVP_PKEY *eph = NULL;
    json_t *j = NULL;
    bool attester_failed;
    veil_result r;

    if (c == NULL) {
        return lean_fail(why, why_size, VEIL_ERR_NOMEM, "out of memory");
    }
    c->fd = -1;
    veil_wr_init(&req, VEIL_KBS_BODY_SIZE_MAX);
    veil_wr_init(&body, LEAN_BODY_MAX);
    r = lean_connect(c, why, why_size);
    if (veil_ok(r)) {
        r = veil_kbs_request_build(VEIL_TEE_SIM, &req);
    }
    if (veil_ok(r)) {
        r = lean_call(c, "auth", "/kbs/v0/auth", &req, false, &body, why, why_size);
    }
    if (veil_ok(r) && c->cookie[0] == '\0') {
        r = lean_fail(why, why_size, VEIL_ERR_PROTO, "auth: no session cookie");
    }
    if (veil_ok(r) &&
        !veil_ok(veil_kbs_challenge_parse(body.data, body.len, nonce, sizeof(nonce)))) {
        r = lean_fail(why, why_size, VEIL_ERR_PROTO, "auth: the challenge is malformed");
    }
    if (veil_ok(r)) {
        eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        r = eph != NULL ? VEIL_RESULT_OK
                        : lean_fail(why, why_size, VEIL_ERR_INTERNAL_OSSL, "keygen failed");
    }
    if (veil_ok(r)) {
        veil_wr_reset(&req);
        r = veil_kbs_attestation_body(nonce, eph, veil_sim_attester, sim, &req, &attester_failed);
        if (!veil_ok(r)) {
            r = lean_fail(why, why_size, r.code, "evidence: %s%s",
                          attester_failed ? "the attester failed: " : "", veil_strerror(r.code));
        }
    }
    if (veil_ok(r)) {
        r = lean_call(c, "attest", "/kbs/v0/attest", &req, false, &body, why, why_size);
    }
    if (veil_ok(r)) {
        j = json_loadb((const char *)body.data, body.len, JSON_REJECT_DUPLICATES, NULL);
        r = json_is_object(j) ? VEIL_RESULT_OK
                              : lean_fail(why, why_size, VEIL_ERR_PROTO,
                                          "attest: the answer is not a JSON object");
        json_decref(j);
        j = NULL;
    }
    if (veil_ok(r)) {
        (void)snprintf(path, sizeof(path), "/kbs/v0/resource/%s", resource);
        r = lean_call(c, "resource", path, NULL, true, &body, why, why_size);
    }
    if (veil_ok(r)) {
        j = json_loadb((const char *)body.data, body.len, JSON_REJECT_DUPLICATES, NULL);
        r = j != NULL ? veil_jwe_decrypt(eph, j, secret) : veil_result_of(VEIL_ERR_PROTO);
        if (!veil_ok(r)) {
            r = lean_fail(why, why_size, r.code, "resource: cannot decrypt the JWE: %s",
                          veil_strerror(r.code));
        }
        json_decref(j);
    }
    if (veil_ok(r) && c->have != 0) {
        r = lean_fail(why, why_size, VEIL_ERR_PROTO, "resource: bytes after the last answer");
    }
    EVP_PKEY_free(eph);
    veil_wr_free(&body);
    veil_wr_free(&req);
    lean_close(c);
    free(c);
    return r;
}

/* Every release must yield the same key: the first one decrypted. */
static bool secret_matches(const struct veil_wr *s)
{
    bool ok;

    pthread_mutex_lock(&mu);
    if (!have_first) {
        have_first = veil_ok(veil_wr_bytes(&first_secret, s->data, s->len));
    }
    ok = have_first && s->len > 0 && s->len == first_secret.len &&
         CRYPTO_memcmp(s->data, first_secret.data, s->len) == 0;
    pthread_mutex_unlock(&mu);
    return ok;
}

static double now_s(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *worker(void *arg)
{
    static const struct veil_sim_guest guest = {0};
    struct veil_sim_attester_ctx sim = {&plat, &guest};
    struct veil_kbs_client_opts o = {url, cacert, VEIL_TEE_SIM, veil_sim_attester, &sim, 30};
    struct veil_kbs_client *client = NULL;
    char why[512];

    (void)arg;
    if (!lean && !veil_ok(veil_kbs_client_new(&o, &client))) {
        pthread_mutex_lock(&mu);
        failures++;
        pthread_mutex_unlock(&mu);
        return NULL;
    }
    for (;;) {
        struct veil_wr secret;
        double t0;
        double t1;
        veil_result r;
        if (rate > 0) {
            /* Open loop: release k is due at start + k / rate. */
            double due;
            pthread_mutex_lock(&mu);
            due = start + (double)issued++ / rate;
            pthread_mutex_unlock(&mu);
            /* One sleep to the due time, not a polling loop: the load generator shares the
             * broker's cores and must not spend them waiting. */
            struct timespec ts = {(time_t)due, (long)((due - (double)(time_t)due) * 1e9)};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
            }
        }
        t0 = now_s();
        if (t0 > deadline) {
            break;
        }
        veil_wr_init_secret(&secret, 4096);
        why[0] = '\0';
        r = lean ? lean_fetch(&sim, &secret, why, sizeof(why))
                 : veil_kbs_client_fetch(client, resource, &secret, why, sizeof(why));
        if (veil_ok(r) && !secret_matches(&secret)) {
            (void)snprintf(why, sizeof(why), "the decrypted key differs from the first one");
            r = veil_result_of(VEIL_ERR_PROTO);
        }
        veil_wr_free(&secret);
        t1 = now_s();
        pthread_mutex_lock(&mu);
        if (!veil_ok(r)) {
            if (failures++ == 0) {
                (void)fprintf(stderr, "first failure: %s\n", why);
            }
        } else if (lat_count < LAT_MAX) {
            lat[lat_count++] = (t1 - t0) * 1000.0;
        }
        pthread_mutex_unlock(&mu);
    }
    veil_kbs_client_free(client);
    return NULL;
}

static double cpu_s(void)
{
    struct rusage ru;

    (void)getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    pthread_t th[64];
    long threads;
    double seconds;
    double elapsed;
    double cpu0;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        (void)printf(
            "usage: bench_kbs [--lean] URL CACERT SIMDIR RESOURCE THREADS SECONDS [RATE]\n"
            "full key releases against veil-kbs (see bench/kbs/run); --lean: plain "
            "OpenSSL sockets and a minimal HTTP/1.1 client instead of libcurl\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--lean") == 0) {
        lean = true;
        argv++;
        argc--;
    }
    if (argc < 7) {
        (void)fprintf(
            stderr,
            "usage: bench_kbs [--lean] URL CACERT SIMDIR RESOURCE THREADS SECONDS [RATE]\n");
        return 2;
    }
    url = argv[1];
    cacert = argv[2];
    resource = argv[4];
    threads = strtol(argv[5], NULL, 10);
    seconds = strtod(argv[6], NULL);
    rate = argc > 7 ? strtod(argv[7], NULL) : 0;
    if (threads < 1 || threads > 64 || seconds <= 0 ||
        !veil_ok(veil_sim_platform_load(argv[3], &plat))) {
        (void)fprintf(stderr, "bad arguments or sim platform\n");
        return 2;
    }
    if (lean && !lean_setup(url, cacert)) {
        (void)fprintf(stderr, "--lean: URL must be https://HOST:PORT and CACERT readable\n");
        veil_sim_platform_free(&plat);
        return 2;
    }
    veil_wr_init_secret(&first_secret, 4096);
    lat = malloc(sizeof(double) * LAT_MAX);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    cpu0 = cpu_s();
    start = now_s();
    deadline = start + seconds;
    for (long i = 0; i < threads; i++) {
        (void)pthread_create(&th[i], NULL, worker, NULL);
    }
    for (long i = 0; i < threads; i++) {
        (void)pthread_join(th[i], NULL);
    }
    elapsed = now_s() - start;
    qsort(lat, lat_count, sizeof(double), cmp);
    (void)printf(
        "releases %zu failures %zu seconds %.1f releases_per_s %.1f p50_ms %.2f p99_ms %.2f "
        "max_ms %.2f client_cpu_ms_per_release %.3f transport %s\n",
        lat_count, failures, elapsed, (double)lat_count / elapsed,
        lat_count > 0 ? lat[lat_count / 2] : 0.0, lat_count > 0 ? lat[lat_count * 99 / 100] : 0.0,
        lat_count > 0 ? lat[lat_count - 1] : 0.0,
        lat_count > 0 ? (cpu_s() - cpu0) * 1000.0 / (double)lat_count : 0.0,
        lean ? "lean" : "libcurl");
    veil_sim_platform_free(&plat);
    veil_wr_free(&first_secret);
    SSL_CTX_free(lean_ctx);
    free(lat);
    curl_global_cleanup();
    return failures == 0 ? 0 : 1;
}

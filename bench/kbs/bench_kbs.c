/*
 * Load generator for veil-kbs: full key releases (auth + attest with fresh sim evidence binding
 * the nonce and a fresh ephemeral key + resource + JWE decryption), each on a new TLS connection
 * (full handshake) as a starting TEE would make it, through libveil's KBS client. Each thread
 * keeps one client (veil_kbs_client_new), so the CA file is read once per thread, not once per
 * release: that is load-generator overhead a real TEE pays once per start.
 *   bench_kbs URL CACERT SIMDIR RESOURCE THREADS SECONDS [RATE_PER_S]
 * RATE_PER_S (optional) paces the whole load to that many releases per second (open loop).
 * Prints releases/s, latency percentiles and this process's CPU time per release (the load
 * generator shares the machine's cores with the broker: bench/kbs/run reports both).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

#include "attest/sim.h"
#include "kbs/client.h"

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
    if (!veil_ok(veil_kbs_client_new(&o, &client))) {
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
        r = veil_kbs_client_fetch(client, resource, &secret, why, sizeof(why));
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

    if (argc < 7) {
        (void)fprintf(stderr,
                      "usage: bench_kbs URL CACERT SIMDIR RESOURCE THREADS SECONDS [RATE]\n");
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
        "max_ms %.2f client_cpu_ms_per_release %.3f\n",
        lat_count, failures, elapsed, (double)lat_count / elapsed,
        lat_count > 0 ? lat[lat_count / 2] : 0.0, lat_count > 0 ? lat[lat_count * 99 / 100] : 0.0,
        lat_count > 0 ? lat[lat_count - 1] : 0.0,
        lat_count > 0 ? (cpu_s() - cpu0) * 1000.0 / (double)lat_count : 0.0);
    veil_sim_platform_free(&plat);
    free(lat);
    curl_global_cleanup();
    return failures == 0 ? 0 : 1;
}

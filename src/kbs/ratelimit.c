/* Per-client token buckets, hashed by peer address into a fixed table (collisions share a
 * bucket, which only ever makes the limit stricter). */
#include <string.h>

#include "http/http.h"
#include "kbs.h"

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ull;

    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    }
    return h;
}

bool kbs_rate_admit(struct kbs *k, enum kbs_endpoint ep, double t0, struct evhttp_request *req)
{
    char peer[64];
    uint64_t key;
    struct kbs_rate_bucket *b;
    bool ok;

    if (k->rate_per_s <= 0) {
        return true;
    }
    veil_http_peer(req, peer, sizeof(peer));
    key = fnv1a(peer);
    pthread_mutex_lock(&k->rate_mu);
    b = &k->rate[key % KBS_RATE_BUCKETS];
    if (b->key != key) {
        b->key = key;
        b->tokens = k->rate_burst;
        b->last_s = t0;
    }
    b->tokens += (t0 - b->last_s) * k->rate_per_s;
    if (b->tokens > k->rate_burst) {
        b->tokens = k->rate_burst;
    }
    b->last_s = t0;
    ok = b->tokens >= 1.0;
    if (ok) {
        b->tokens -= 1.0;
    }
    pthread_mutex_unlock(&k->rate_mu);
    if (!ok) {
        atomic_fetch_add(&k->metrics.rate_limited, 1);
        (void)evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After", "1");
        kbs_reply_error(k, ep, t0, req, 429, "TooManyRequests",
                        "too many requests from this address; retry after a second");
    }
    return ok;
}

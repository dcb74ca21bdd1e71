/* veil-kbs configuration table: the one place that names every setting, its bounds and default.
 * `veil-kbs --print-config` writes the sample configuration from it. */
#include "kbs.h"

const struct veil_conf_item kbs_conf_items[] = {
    {"state_dir", VEIL_CONF_STRING, 1, 1024, "/var/lib/veil-kbs", 0,
     "directory made by veil kbs init: kbs.db, kek, token.key, tls.pem, tls.key, collateral/"},
    {"listen", VEIL_CONF_STRING, 3, 255, "127.0.0.1:8443", 0,
     "address:port to listen on ([::1]:8443 for IPv6)"},
    {"insecure_http", VEIL_CONF_BOOL, 0, 1, "false", VEIL_CONF_INSECURE,
     "serve plain HTTP instead of TLS 1.3: only for tests on loopback"},
    {"workers", VEIL_CONF_INT, 1, 64, "2", 0, "worker threads, each with its own event loop"},
    {"request_size_max", VEIL_CONF_INT, 1024, 1048576, "262144", 0,
     "largest request body in bytes (evidence and key included)"},
    {"timeout_s", VEIL_CONF_INT, 1, 300, "30", 0,
     "per-connection read/write timeout; an idle keep-alive connection is closed after it"},
    {"requests_per_connection_max", VEIL_CONF_INT, 1, 100000, "100", 0,
     "requests on one keep-alive connection; the last answer closes it (a release needs 3)"},
    {"nonce_ttl_s", VEIL_CONF_INT, 1, 3600, "60", 0,
     "how long a challenge nonce may be answered; single use"},
    {"session_ttl_s", VEIL_CONF_INT, 10, 86400, "300", 0,
     "lifetime of a session (cookie) after /auth"},
    {"sessions_max", VEIL_CONF_INT, 100, 1000000, "100000", 0,
     "sessions held in memory at once; /auth answers 503 when full of unexpired ones"},
    {"token_ttl_s", VEIL_CONF_INT, 10, 86400, "300", 0, "lifetime of an attestation token"},
    {"rate_per_s", VEIL_CONF_INT, 0, 1000000, "200", 0,
     "requests per second allowed per client address (0: no limit)"},
    {"rate_burst", VEIL_CONF_INT, 1, 1000000, "400", 0, "burst allowed above rate_per_s"},
    {"issuer", VEIL_CONF_STRING, 1, 255, "veil-kbs", 0, "the iss claim of tokens"},
    {"log_level", VEIL_CONF_STRING, 4, 5, "info", 0, "error, warn, info or debug"},
    {"audit_commit_delay_us", VEIL_CONF_INT, 0, 100000, "1000", 0,
     "longest wait of an audit commit for the records of requests in progress, to join them in "
     "one fsync (0: commit at once; docs/STORE.md)"},
    {"cert_ttl_s", VEIL_CONF_INT, 60, 604800, "86400", 0,
     "default and longest validity of certificates issued at /kbs/v0/cert (kbs-ca.pem)"},
};

const size_t kbs_conf_count = sizeof(kbs_conf_items) / sizeof(kbs_conf_items[0]);

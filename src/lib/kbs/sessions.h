/*
 * The key broker's sessions (the kbs-session-id cookie, docs/PROTOCOL.kbs.md), in memory: a
 * bounded hash table with expiry, shared by the broker's workers behind one mutex. A session is
 * worth a new /auth to its client, never a key: the nonce is single-use with a deadline, and an
 * unattested session releases nothing. So sessions are not written to disk; a broker that
 * restarts loses them (their clients get 401 and start again at /auth).
 */
#ifndef VEIL_KBS_SESSIONS_H
#define VEIL_KBS_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "base/result.h"

#define VEIL_KBS_SESSIONS_MAX_LIMIT 1000000u

struct veil_kbs_sessions;

/* A session as the table hands it out: a copy the caller owns (veil_kbs_session_free). */
struct veil_kbs_session {
    uint8_t id[32]; /* random, from the broker */
    char nonce[64]; /* base64url of 32 random bytes */
    char tee[16];
    int64_t created_at;
    int64_t nonce_expires_at;
    bool nonce_used;
    bool attested;
    int64_t expires_at;    /* the session's end (set again when attested) */
    char *tee_pubkey_json; /* the bound ephemeral key (JWK JSON), NULL before attestation */
    char *claims_json;     /* verified claims, NULL before attestation */
    EVP_PKEY *tee_key;     /* the bound key, imported once at attestation (a reference the
                              holder of this copy owns), or NULL: then import tee_pubkey_json */
};
void veil_kbs_session_free(struct veil_kbs_session *ss);

/* A table of at most max sessions (1..VEIL_KBS_SESSIONS_MAX_LIMIT). */
VEIL_RESULT veil_kbs_sessions_new(size_t max, struct veil_kbs_sessions **out);
void veil_kbs_sessions_free(struct veil_kbs_sessions *t);

/* Adds ss (its JSON fields must be NULL). When the table is full, the sessions expired at now
 * go first (one sweep a second at most); if it is still full: VEIL_ERR_KBS_SESSIONS_FULL. An id
 * already there: USAGE. */
VEIL_RESULT veil_kbs_sessions_create(struct veil_kbs_sessions *t, const struct veil_kbs_session *ss,
                                     int64_t now);
/* A copy of the session; VEIL_ERR_KBS_SESSION_UNKNOWN if there is none. Expiry is the
 * caller's to check (expires_at), as it says which one ran out. */
VEIL_RESULT veil_kbs_sessions_get(struct veil_kbs_sessions *t, const uint8_t id[32],
                                  struct veil_kbs_session *out);
/* Uses up the nonce, atomically (one winner): VEIL_ERR_STORE_NONCE_USED if it already was,
 * VEIL_ERR_STORE_NONCE_EXPIRED once now >= nonce_expires_at. */
VEIL_RESULT veil_kbs_sessions_use_nonce(struct veil_kbs_sessions *t, const uint8_t id[32],
                                        int64_t now);
/* Marks the session attested with its key and claims (copied), until expires_at. Refused
 * (USAGE) until the nonce has been used. */
VEIL_RESULT veil_kbs_sessions_attest(struct veil_kbs_sessions *t, const uint8_t id[32],
                                     const char *tee_pubkey_json, const char *claims_json,
                                     int64_t expires_at);
/* The same, also keeping tee_key (tee_pubkey_json imported; the table takes its own reference)
 * so that the session's later requests need not import the JWK again. */
VEIL_RESULT veil_kbs_sessions_attest_key(struct veil_kbs_sessions *t, const uint8_t id[32],
                                         const char *tee_pubkey_json, EVP_PKEY *tee_key,
                                         const char *claims_json, int64_t expires_at);
/* Drops the table's reference to the session's kept key (if any): the first resource takes the
 * key over, and later requests of the session import tee_pubkey_json again, so a session does not
 * hold an imported key (about 2 KB) for the rest of its life. No session: nothing happens. */
void veil_kbs_sessions_release_key(struct veil_kbs_sessions *t, const uint8_t id[32]);
/* Drops the sessions whose expires_at is before now; returns how many. */
void veil_kbs_sessions_expire(struct veil_kbs_sessions *t, int64_t now, size_t *removed);
/* How many sessions are held, and how many of them are attested (for metrics). */
void veil_kbs_sessions_count(struct veil_kbs_sessions *t, size_t *total, size_t *attested);

#endif

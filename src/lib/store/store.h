/*
 * The key broker's store (docs/STORE.md): SQLite in WAL mode. Resources are encrypted at rest
 * under a key-encryption key (KEK) held in a 0600 file (the interface leaves room for PKCS#11);
 * policies are versioned with their history (sessions are not here: veil-kbs keeps them in
 * memory, src/lib/kbs/sessions.h); the audit log is append-only and hash-chained so that any
 * edited, dropped or reordered record is found by veil_store_audit_verify. No key or resource byte
 * is ever written in clear.
 */
#ifndef VEIL_STORE_H
#define VEIL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/result.h"

struct veil_store;

/* A 32-byte random KEK in a new file, mode 0600. Refuses to replace an existing one. */
VEIL_RESULT veil_store_kek_create(const char *path);
/* Opens (creating if needed) the database; loads the KEK into locked memory. */
VEIL_RESULT veil_store_open(const char *db_path, const char *kek_path, struct veil_store **out);
void veil_store_close(struct veil_store *s);

/* Resource paths are "repo/type/tag": 1..3 segments of [A-Za-z0-9._-], each 1..128 bytes. */
bool veil_store_path_valid(const char *path);

/* Stores a new version (wrapped with AES-256-GCM under the KEK; AAD = path || version). */
VEIL_RESULT veil_store_resource_put(struct veil_store *s, const char *path, const uint8_t *data,
                                    size_t n, int64_t *version);
/* Latest version into `out` (a secret writer the caller initialised). VEIL_ERR_STORE_NOT_FOUND
 * when absent; VEIL_ERR_CRYPTO when the wrapped bytes fail to authenticate. */
VEIL_RESULT veil_store_resource_get(struct veil_store *s, const char *path, struct veil_wr *out,
                                    int64_t *version);
/* A given version (the history is kept; rollback and audits read old versions). */
VEIL_RESULT veil_store_resource_get_version(struct veil_store *s, const char *path, int64_t version,
                                            struct veil_wr *out);

/* Policies: for a resource path, or "repo/\*" (repo, slash, star) for every resource of a
 * repository. The policy for a resource is its own if set, else its repository's; lookups return
 * the latest version. */
VEIL_RESULT veil_store_policy_set(struct veil_store *s, const char *target, const char *json,
                                  size_t n, int64_t *version);
VEIL_RESULT veil_store_policy_get(struct veil_store *s, const char *resource_path,
                                  struct veil_wr *json, char *target, size_t target_size,
                                  int64_t *version);
/* Calls fn for every target's latest policy (e.g. to warn about those that name sim). */
VEIL_RESULT veil_store_policy_foreach(struct veil_store *s,
                                      void (*fn)(void *ctx, const char *target, int64_t version,
                                                 const char *json, size_t n),
                                      void *ctx);

/* Audit log: one record per attestation and per release or refusal. */
struct veil_audit_event {
    int64_t time;          /* seconds since the epoch */
    const char *kind;      /* "attest" | "release" | "refuse" */
    const char *requester; /* remote address */
    const char *tee;
    const char *chip_id; /* hex, may be "" */
    const char *measurement;
    const char *tcb;
    const char *policy; /* policy target, "" if none */
    int64_t policy_version;
    const char *resource; /* "" for attestations */
    const char *decision; /* "allow" | "deny" | "error" */
    const char *reasons;  /* human text, may be long; never key material */
};
struct veil_audit_record {
    int64_t seq;
    struct veil_audit_event ev; /* strings owned by the record */
    uint8_t prev_hash[32];
    uint8_t hash[32]; /* SHA-256 over prev_hash and the canonical encoding of seq and ev */
};
/* Returns once the record is durable (committed with synchronous=FULL). Concurrent appends are
 * group-committed: the records of every thread waiting at that moment go into one transaction,
 * chained in the order they arrived, and each caller returns only after that commit (or with
 * its error: a failed transaction fails every record in it, and none of them is written). */
VEIL_RESULT veil_store_audit_append(struct veil_store *s, const struct veil_audit_event *ev,
                                    int64_t *seq);
/* Commit delay (group commit under load, like PostgreSQL's commit_delay and commit_siblings):
 * a leader about to commit waits up to delay_us (0..VEIL_STORE_AUDIT_DELAY_MAX_US, default 0)
 * for the records that callers announced with veil_store_audit_expect, and only while at least
 * one is announced and not yet queued; it stops as soon as none is. An append still returns only
 * after its record's commit: the delay makes commits larger, never records less durable. */
#define VEIL_STORE_AUDIT_DELAY_MAX_US 100000u
VEIL_RESULT veil_store_audit_set_commit_delay(struct veil_store *s, uint32_t delay_us);
/* The calling thread will append a record soon (e.g. a request handler that audits its answer):
 * its next veil_store_audit_append on s fulfils it, or veil_store_audit_expect_end withdraws it
 * (a no-op once fulfilled). Thread-bound: call both on the thread that appends. At most one open
 * announcement per thread; a second call while one is open does nothing. */
void veil_store_audit_expect(struct veil_store *s);
void veil_store_audit_expect_end(struct veil_store *s);
/* Audit transactions committed and records written by them since open (commits < records when
 * group commit joined appends). */
void veil_store_audit_stats(struct veil_store *s, uint64_t *commits, uint64_t *records);
VEIL_RESULT veil_store_audit_foreach(struct veil_store *s, int64_t from_seq,
                                     void (*fn)(void *ctx, const struct veil_audit_record *r),
                                     void *ctx);
/* Recomputes the chain. *count = records checked; on failure *bad_seq = first bad record and
 * VEIL_ERR_STORE_AUDIT_BROKEN (edited, dropped or reordered). */
VEIL_RESULT veil_store_audit_verify(struct veil_store *s, int64_t *count, int64_t *bad_seq);
/* The last record's seq and hash (0 and 32 zero bytes when empty). The chain cannot show that
 * its tail was cut off: an operator notes the head elsewhere and checks it later with
 * veil_store_audit_verify_head, which also fails (bad_seq = head_seq) if that record is gone or
 * differs. */
VEIL_RESULT veil_store_audit_head(struct veil_store *s, int64_t *seq, uint8_t hash[32]);
VEIL_RESULT veil_store_audit_verify_head(struct veil_store *s, int64_t head_seq,
                                         const uint8_t head_hash[32], int64_t *count,
                                         int64_t *bad_seq);

#endif

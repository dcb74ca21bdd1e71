/* The veil CLI: one dispatch table (main.c), one cmd_<name>.c per subcommand. */
#ifndef VEIL_CLI_H
#define VEIL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "verify/fetch.h"
#include "verify/verify.h"

struct veil_cmd {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* Exit codes: 0 ok, 1 the operation failed (verification, I/O), 2 usage. */
#define CLI_EXIT_OK    0
#define CLI_EXIT_FAIL  1
#define CLI_EXIT_USAGE 2

/* "veil <cmd>: message" on stderr; returns CLI_EXIT_FAIL or the code's category exit. */
__attribute__((format(printf, 2, 3))) int cli_fail(const char *cmd, const char *fmt, ...);
/* Prints "veil <cmd>: <what>: <veil_strerror(err)>" and returns the exit code for err. */
int cli_fail_err(const char *cmd, const char *what, int err);
__attribute__((format(printf, 2, 3))) int cli_usage_error(const char *cmd, const char *fmt, ...);

/* Parses a size with an optional K/M/G suffix (powers of 1024). */
bool cli_parse_size(const char *s, size_t *out);
bool cli_parse_uint(const char *s, unsigned long max, unsigned long *out);

/* A progress bar on stderr: only when stderr is a terminal and after one second of work. */
struct cli_progress {
    const char *label;
    unsigned long long total;
    double start;
    double last_draw;
    bool drawn;
    bool enabled;
};

void cli_progress_init(struct cli_progress *p, const char *label, unsigned long long total);
void cli_progress_update(void *ctx, unsigned long long done, unsigned long long total);
void cli_progress_finish(struct cli_progress *p);

/* RFC 3339 (2025-06-01T00:00:00Z, fractions and +hh:mm offsets allowed) or a bare date. */
bool cli_parse_time(const char *s, time_t *out);

/* Reads evidence from path (raw, hex or base64), loads collateral paths (and fetches online
 * collateral when fetch is not NULL), verifies. On a usage or
 * I/O problem prints one line and returns its exit code; otherwise CLI_EXIT_OK with the
 * verifier's result in *result. */
int cli_evidence_verify(const char *cmd, enum veil_tee tee, const char *path,
                        const char *const *collateral, size_t collateral_count,
                        const struct veil_fetch *fetch, const struct veil_verify_opts *opts,
                        struct veil_claims *claims, struct veil_report *report, veil_result *result,
                        size_t *ev_size, const char **kind);

int cmd_keygen(int argc, char **argv);
int cmd_seal(int argc, char **argv);
int cmd_open(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_sim(int argc, char **argv);
int cmd_policy(int argc, char **argv);
int cmd_kbs(int argc, char **argv);
int cmd_attest(int argc, char **argv);
int cmd_evidence(int argc, char **argv);
int cmd_onnx(int argc, char **argv);
int cmd_infer(int argc, char **argv);
int cmd_tensor(int argc, char **argv);

#endif

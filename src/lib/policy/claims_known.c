/* The normalized claim set: every name a policy may use (docs/POLICY.md lists them). */
#include <string.h>

#include "policy/policy.h"

static const char *const known[] = {
    "tee",
    "model.id",
    "model.name",
    "model.version",
    /* Certificate requests to the key broker (docs/PROTOCOL.kbs-certs.md): the requested names
     * ("DNS:host", "IP:addr") and validity, set by the broker, never by evidence. */
    "cert.san",
    "cert.validity_s",
    /* AMD SEV-SNP; the simulated TEE mirrors these under sim. */
    "snp.version",
    "snp.measurement",
    "snp.host_data",
    "snp.report_data",
    "snp.id_key_digest",
    "snp.author_key_digest",
    "snp.family_id",
    "snp.image_id",
    "snp.guest_svn",
    "snp.policy",
    "snp.debug",
    "snp.migration_agent",
    "snp.smt",
    "snp.single_socket",
    "snp.vmpl",
    "snp.chip_id",
    "snp.signing_key",
    "snp.product",
    "sim.version",
    "sim.measurement",
    "sim.host_data",
    "sim.report_data",
    "sim.guest_svn",
    "sim.policy",
    "sim.debug",
    "sim.vmpl",
    "sim.chip_id",
    /* Intel TDX */
    "tdx.mr_td",
    "tdx.rtmr[0]",
    "tdx.rtmr[1]",
    "tdx.rtmr[2]",
    "tdx.rtmr[3]",
    "tdx.mr_seam",
    "tdx.mr_signer_seam",
    "tdx.mr_config_id",
    "tdx.mr_owner",
    "tdx.mr_owner_config",
    "tdx.td_attributes",
    "tdx.debug",
    "tdx.xfam",
    "tdx.tee_tcb_svn",
    "tdx.report_data",
    "tdx.fmspc",
    "tdx.tcb_status",
    "tdx.tcb_eval_number",
    "tdx.advisory_ids",
    "tdx.quote_version",
    /* Intel SGX */
    "sgx.mr_enclave",
    "sgx.mr_signer",
    "sgx.isv_prod_id",
    "sgx.isv_svn",
    "sgx.attributes",
    "sgx.debug",
    "sgx.report_data",
    "sgx.fmspc",
    "sgx.tcb_status",
    "sgx.tcb_eval_number",
    "sgx.advisory_ids",
};

static const char *const tcb_kinds[] = {"current", "reported", "committed", "launch"};
static const char *const tcb_fields[] = {"bootloader", "tee", "snp", "microcode", "fmc"};

/* snp.tcb.<kind>.<field> and sim.tcb.<kind>.<field> */
static bool tcb_claim(const char *name)
{
    const char *rest;

    if (strncmp(name, "snp.tcb.", 8) == 0 || strncmp(name, "sim.tcb.", 8) == 0) {
        rest = name + 8;
    } else {
        return false;
    }
    for (size_t k = 0; k < sizeof(tcb_kinds) / sizeof(tcb_kinds[0]); k++) {
        size_t kn = strlen(tcb_kinds[k]);
        if (strncmp(rest, tcb_kinds[k], kn) != 0 || rest[kn] != '.') {
            continue;
        }
        for (size_t f = 0; f < sizeof(tcb_fields) / sizeof(tcb_fields[0]); f++) {
            if (strcmp(rest + kn + 1, tcb_fields[f]) == 0) {
                return true;
            }
        }
    }
    return false;
}

bool veil_policy_claim_known(const char *name)
{
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (strcmp(known[i], name) == 0) {
            return true;
        }
    }
    return tcb_claim(name);
}

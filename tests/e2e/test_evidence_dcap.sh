#!/usr/bin/env bash
# veil evidence verify on the dcap-qvl TDX and SGX vectors: a minimum tcbEvaluationDataNumber
# (--min-tcb-eval) is enforced (both documents carry 17), and bad values are usage errors.
source "$(dirname "$0")/lib.sh"
v=${VEIL_SHARED_DIR:?}/vectors

tdx=(--tee tdx --evidence "$v/tdx/dcapqvl-tdx/tdx_quote.bin"
    --collateral "$v/tdx/dcapqvl-tdx/tdx_quote_collateral.json" --at 2025-07-19T10:00:34Z)
sgx=(--tee sgx --evidence "$v/sgx/dcapqvl-sgx/sgx_quote.bin"
    --collateral "$v/sgx/dcapqvl-sgx/sgx_quote_collateral.json" --at 2025-07-19T10:01:17Z)

expect_exit 0 "tdx without a minimum" -- "$VEIL" evidence verify "${tdx[@]}"
expect_stdout "SKIP dcap.tcb_eval_number" "tdx: the check is skipped without a minimum"
expect_stdout "tdx.tcb_eval_number +17" "tdx: the evaluation number is a claim"
expect_exit 0 "tdx --min-tcb-eval 17" -- "$VEIL" evidence verify "${tdx[@]}" --min-tcb-eval 17
expect_stdout "PASS dcap.tcb_eval_number" "tdx: 17 meets 17"
expect_exit 1 "tdx --min-tcb-eval 18 refused" -- "$VEIL" evidence verify "${tdx[@]}" --min-tcb-eval 18
expect_stdout "FAIL dcap.tcb_eval_number" "tdx: 17 is below 18"
expect_exit 1 "sgx --min-tcb-eval 18 refused (JSON)" -- \
    "$VEIL" evidence verify "${sgx[@]}" --min-tcb-eval 18 --json
expect_stdout '"first_failure": "dcap.tcb_eval_number"' "sgx: the first failure is named"
expect_exit 0 "sgx --min-tcb-eval 17" -- "$VEIL" evidence verify "${sgx[@]}" --min-tcb-eval 17
for bad in 0 -1 abc 99999999999; do
    expect_exit 2 "--min-tcb-eval $bad is a usage error" -- \
        "$VEIL" evidence verify "${tdx[@]}" --min-tcb-eval "$bad"
    expect_stderr "min-tcb-eval" "--min-tcb-eval $bad: the option is named"
done
expect_exit 0 "--help" -- "$VEIL" evidence verify --help
expect_stdout "--min-tcb-eval N" "--help documents --min-tcb-eval"
finish

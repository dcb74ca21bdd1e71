#!/usr/bin/env bash
# veil policy check / test over real SEV-SNP and TDX evidence: policies that accept it, and
# policies that refuse it with the right reason.
source "$(dirname "$0")/lib.sh"
S=${VEIL_SHARED_DIR:?}/vectors
snp=(--tee snp --evidence "$S/sev-snp/gosevguest-milan-vcek/attestation.bin" --collateral "$S/sev-snp/gosevguest-milan-vcek")
tdx=(--tee tdx --evidence "$S/tdx/dcapqvl-tdx/tdx_quote.bin" --collateral "$S/tdx/dcapqvl-tdx/tdx_quote_collateral.json" --at 2025-07-19T10:00:34Z)
snp_m=b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01
tdx_m=91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7

cat > snp-dev.json <<JSON
{"version": 1, "name": "snp-dev", "allOf": [
  {"claim": "tee", "equals": "snp"},
  {"claim": "snp.measurement", "equals": "$snp_m"},
  {"claim": "snp.vmpl", "equals": 0},
  {"claim": "snp.tcb.reported.snp", "greaterOrEquals": 5}]}
JSON
cat > snp-prod.json <<JSON
{"version": 1, "name": "snp-prod", "allOf": [
  {"claim": "tee", "equals": "snp"},
  {"claim": "snp.measurement", "equals": "$snp_m"},
  {"claim": "snp.debug", "equals": false},
  {"claim": "snp.tcb.reported.snp", "greaterOrEquals": 8}]}
JSON
cat > tdx-prod.json <<JSON
{"version": 1, "name": "tdx-prod", "anyOf": [{"allOf": [
  {"claim": "tee", "equals": "tdx"},
  {"claim": "tdx.mr_td", "equals": "$tdx_m"},
  {"claim": "tdx.debug", "equals": false},
  {"claim": "tdx.tcb_status", "in": ["UpToDate", "SWHardeningNeeded"]}]}]}
JSON
sed "s/$tdx_m/00$(printf '%094d' 0)/" tdx-prod.json > tdx-other.json
printf '{"version": 1, "allOf": [{"claim": "snp.measurment", "equals": "00"}]}' > typo.json

expect_exit 0 "policy --help" -- "$VEIL" policy --help
expect_exit 0 "check a valid policy" -- "$VEIL" policy check snp-prod.json
expect_stdout "refuses the simulated TEE" "check says whether sim is admitted"
expect_exit 1 "check a policy with a typo" -- "$VEIL" policy check typo.json
expect_stderr 'unknown claim "snp.measurment"' "the typo is named"

expect_exit 0 "SNP vector released by a matching policy" -- "$VEIL" policy test snp-dev.json "${snp[@]}"
expect_stdout "result: released" "SNP released"
expect_exit 1 "SNP vector refused by a production policy" -- "$VEIL" policy test snp-prod.json "${snp[@]}"
expect_stdout "FAIL allOf\[2\] +snp.debug equals false: FAILS, actual true" "debug is named"
expect_stdout "FAIL allOf\[3\] +snp.tcb.reported.snp greaterOrEquals 8: FAILS, actual 5" "TCB is named"
expect_stdout "REFUSED by the policy" "refusal is the policy's"

expect_exit 0 "TDX vector released by a matching policy" -- "$VEIL" policy test tdx-prod.json "${tdx[@]}"
expect_exit 1 "TDX vector refused for another MRTD" -- "$VEIL" policy test tdx-other.json "${tdx[@]}"
expect_stdout "FAIL anyOf\[0\].allOf\[1\] +tdx.mr_td equals" "MRTD is named"

# Evidence that does not verify is refused whatever the policy says (TDX collateral expired now).
expect_exit 1 "TDX vector judged now (expired collateral)" -- "$VEIL" policy test tdx-prod.json --tee tdx --evidence "$S/tdx/dcapqvl-tdx/tdx_quote.bin" --collateral "$S/tdx/dcapqvl-tdx/tdx_quote_collateral.json"
expect_stdout "the evidence did not verify" "an unverified evidence is refused"
expect_exit 2 "test without --evidence" -- "$VEIL" policy test snp-dev.json --tee snp
finish

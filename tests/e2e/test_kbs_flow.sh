#!/usr/bin/env bash
# The key broker end to end with the CLI client (veil attest fetch) and the simulated TEE:
# released when the policy holds; 403 naming the condition, in the response and in the audit
# log, when the measurement, host_data, debug bit or TCB does not satisfy it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
trap 'kbs_stop; rm -rf "$WORK"' EXIT
kbs_setup "$WORK"
printf 'the program\n' > app.bin
printf 'listen = 0.0.0.0:8080\n' > app.conf
meas=$("$VEIL" sim attest --dir sim --report-data 00 --measure app.bin --measure app.conf -o ev.bin >/dev/null &&
       "$VEIL" evidence verify --tee sim --evidence ev.bin --collateral sim/root.pem | awk '/sim.measurement/ {print $2}')
[ ${#meas} = 96 ] && ok "the measurement is a SHA-384 of program and configuration" || not_ok "measurement"
cat > policy.json <<JSON
{"version": 1, "name": "ocr-dev", "allOf": [
  {"claim": "tee", "equals": "sim"},
  {"claim": "sim.measurement", "equals": "$meas"},
  {"claim": "sim.host_data", "equals": "c0ffee0000000000000000000000000000000000000000000000000000000000"},
  {"claim": "sim.debug", "equals": false},
  {"claim": "sim.tcb.reported.snp", "greaterOrEquals": 8}]}
JSON
"$VEIL" keygen model -o model.key >/dev/null
expect_exit 0 "resource put" -- "$VEIL" kbs resource put --dir state models/ocr/key model.key
expect_exit 1 "an invalid policy is refused at set time" -- "$VEIL" kbs policy set --dir state models/ocr/key app.conf
expect_exit 0 "policy set" -- "$VEIL" kbs policy set --dir state models/ocr/key policy.json
expect_stdout "admits the simulated TEE" "setting a sim policy warns"
kbs_start "$WORK"
grep -q "ADMITS THE SIMULATED TEE" kbs.log && ok "the broker warns at start about the sim policy" || not_ok "sim warning at start"

fetch() { "$VEIL" attest fetch --kbs "$KBS_URL" --cacert state/tls.pem --tee sim --resource models/ocr/key "$@"; }
expect_exit 0 "released to the expected program, configuration, host data and TCB" -- \
    fetch --sim-dir sim --measure app.bin --measure app.conf --host-data c0ffee -o got.key
cmp -s got.key model.key && ok "the released key is the stored one" || not_ok "released key differs"
[ "$(stat -c %a got.key)" = 600 ] && ok "written with mode 600" || not_ok "mode of the fetched key"

printf 'listen = 0.0.0.0:9999\n' > other.conf
expect_exit 1 "another configuration (measurement)" -- \
    fetch --sim-dir sim --measure app.bin --measure other.conf --host-data c0ffee -o x.key
expect_stderr "resource: key broker answered 403 PolicyDeny: denied: sim.measurement equals" "the measurement is named"
expect_exit 1 "other host data" -- fetch --sim-dir sim --measure app.bin --measure app.conf --host-data beef -o x.key
expect_stderr "sim.host_data equals" "host_data is named"
expect_exit 1 "a debug guest" -- fetch --sim-dir sim --measure app.bin --measure app.conf --host-data c0ffee --debug -o x.key
expect_stderr "sim.debug equals false: FAILS, actual true" "the debug bit is named"
"$VEIL" sim init --dir oldtcb --tcb 3,0,7,115 >/dev/null
cp oldtcb/root.pem state/collateral/oldtcb-root.pem
kbs_stop; kbs_start "$WORK"
expect_exit 1 "an older TCB" -- fetch --sim-dir oldtcb --measure app.bin --measure app.conf --host-data c0ffee -o x.key
expect_stderr "sim.tcb.reported.snp greaterOrEquals 8: FAILS, actual 7" "the TCB is named"
"$VEIL" sim init --dir rogue >/dev/null
expect_exit 1 "a platform the broker does not trust" -- fetch --sim-dir rogue --measure app.bin --measure app.conf --host-data c0ffee -o x.key
expect_stderr "attest: key broker answered 401 AttestationFailed: attestation refused: sim.chain" "the untrusted platform is named"
[ ! -e x.key ] && ok "nothing written on refusal" || not_ok "x.key written"
kbs_stop

expect_exit 0 "audit log verifies" -- "$VEIL" kbs audit verify --dir state
"$VEIL" kbs audit show --dir state > audit.txt
audited() { grep -A1 -E "$1" audit.txt | grep -qE "$2"; }
audited "refuse +deny .*measurement=[0-9a-f]{96} " "allOf\[1\] sim.measurement equals" && ok "the measurement refusal is audited with claims and reason" || not_ok "audit: measurement refusal"
audited "refuse +deny .*tcb=8" "allOf\[3\] sim.debug equals false" && ok "the debug refusal is audited" || not_ok "audit: debug refusal"
audited "refuse +deny .*tcb=7" "sim.tcb.reported.snp greaterOrEquals 8" && ok "the TCB refusal is audited with the TCB" || not_ok "audit: TCB refusal"
audited "release allow .*resource=models/ocr/key policy=models/ocr/key@1 measurement=$meas" "policy allowed" && ok "the release is audited with policy version and measurement" || not_ok "audit: release"
audited "attest +deny " "sim.chain" && ok "the refused attestation is audited" || not_ok "audit: refused attestation"
finish

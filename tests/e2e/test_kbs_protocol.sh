#!/usr/bin/env bash
# The key broker protocol with a client that misbehaves on purpose (tests/e2e/kbs_protocol.c).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
trap 'kbs_stop; rm -rf "$WORK"' EXIT
kbs_setup "$WORK" "nonce_ttl_s = 2" "rate_per_s = 0"
"$VEIL" keygen model -o model.key >/dev/null
"$VEIL" kbs resource put --dir state models/ocr/key model.key >/dev/null
"$VEIL" kbs resource put --dir state models/secret/key model.key >/dev/null
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"sim.debug","equals":false}]}' > dev.json
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"sim.debug","equals":true}]}' > debug-only.json
"$VEIL" kbs policy set --dir state models/ocr/key dev.json >/dev/null
"$VEIL" kbs policy set --dir state models/secret/key debug-only.json >/dev/null
kbs_start "$WORK"
"${VEIL_BIN}/../tests/kbs_protocol" "$KBS_URL" state/tls.pem sim && ok "protocol refusals" || not_ok "protocol refusals"
kbs_stop
expect_exit 0 "audit log verifies after the run" -- "$VEIL" kbs audit verify --dir state
expect_exit 0 "audit show" -- "$VEIL" kbs audit show --dir state
expect_stdout "refuse +deny .*resource=models/secret/key" "the refusal is in the audit log"
expect_stdout "release +allow .*resource=models/ocr/key" "the release is in the audit log"
if grep -qa "$(xxd -p -c 64 model.key)" state/kbs.db state/kbs.db-wal 2>/dev/null; then
    not_ok "model key bytes found in the database"
else
    ok "no model key bytes in the database files"
fi
finish

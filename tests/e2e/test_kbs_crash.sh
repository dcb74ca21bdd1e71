#!/usr/bin/env bash
# Crash safety: veil-kbs is killed with SIGKILL in the middle of a stream of resource puts and
# releases; after a restart every acknowledged resource is intact and the audit chain verifies.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
trap 'kbs_stop; rm -rf "$WORK"' EXIT
kbs_setup "$WORK" "rate_per_s = 0"
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"}]}' > p.json
"$VEIL" kbs policy set --dir state 'models/*' p.json >/dev/null
kbs_start "$WORK"
: > acked
(
    for i in $(seq 1 200); do
        head -c 32 /dev/urandom > "key.$i"
        if "$VEIL" kbs resource put --dir state "models/m$i/key" "key.$i" >/dev/null 2>&1; then
            echo "$i" >> acked
        fi
    done
) &
puts=$!
(
    while true; do
        "$VEIL" attest fetch --kbs "$KBS_URL" --cacert state/tls.pem --tee sim --sim-dir sim \
            --resource models/m1/key -o fetched.key >/dev/null 2>&1 || true
    done
) &
fetches=$!
sleep 3
kill -KILL "$KBS_PID"; wait "$KBS_PID" 2>/dev/null || true; KBS_PID=
ok "veil-kbs killed with SIGKILL mid-stream"
wait "$puts"
kill "$fetches" 2>/dev/null; wait "$fetches" 2>/dev/null || true
n=$(wc -l < acked)
[ "$n" -gt 0 ] && ok "$n puts acknowledged" || not_ok "no put acknowledged"
kbs_start "$WORK"
missing=0
for i in $(sed -n '1~20p' acked) $(tail -n 1 acked); do
    "$VEIL" attest fetch --kbs "$KBS_URL" --cacert state/tls.pem --tee sim --sim-dir sim \
        --resource "models/m$i/key" -o got >/dev/null 2>&1 && cmp -s got "key.$i" || missing=$((missing + 1))
done
[ "$missing" = 0 ] && ok "every sampled acknowledged resource is intact after restart" || not_ok "$missing resources lost"
kbs_stop
expect_exit 0 "the audit chain verifies after the crash" -- "$VEIL" kbs audit verify --dir state
expect_stdout "audit log intact" "audit verify says intact"
finish

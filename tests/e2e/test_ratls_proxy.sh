#!/usr/bin/env bash
# veil-proxy: plain HTTP in, attested TLS upstream; 502 and nothing forwarded when verification
# fails.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/lib_ratls.sh"
PROXY="$VEIL_BIN/veil-proxy"

# start_proxy NAME ARGS...: like start_server, for veil-proxy
start_proxy() {
    local name=$1 log="$WORK/$1.log" i
    shift
    "$PROXY" "$@" >"$log" 2>"$WORK/$name.err" &
    SERVER_PIDS+=($!)
    for i in $(seq 100); do
        if grep -qs '^ready on ' "$log"; then
            printf -v "${name}_ADDR" '%s' "$(sed -n 's/^ready on //p' "$log")"
            return 0
        fi
        sleep 0.1
    done
    echo "proxy $name did not start:"; cat "$log" "$WORK/$name.err"; return 1
}

"$VEIL" sim init --dir plat >/dev/null
"$VEIL" sim init --dir other >/dev/null
policy good.json 42
policy wrong.json 43

expect_exit 0 "veil-proxy --help" -- "$PROXY" --help
expect_stdout 'usage: veil-proxy' "usage shown"
expect_exit 2 "veil-proxy without arguments" -- "$PROXY"
expect_exit 2 "plain http upstream refused" -- "$PROXY" --listen 127.0.0.1:0 --upstream http://127.0.0.1:1 --policy good.json
expect_exit 2 "non-loopback listen refused" -- "$PROXY" --listen 0.0.0.0:0 --upstream https://127.0.0.1:1 --policy good.json
expect_exit 1 "a bad policy file" -- "$PROXY" --listen 127.0.0.1:0 --upstream https://127.0.0.1:1 --policy nope.json

start_server up --sim-dir plat --model m
start_server untrusted --sim-dir other --model m
start_proxy p_good --listen 127.0.0.1:0 --upstream "https://$up_ADDR" --policy good.json --collateral plat/root.pem
start_proxy p_wrong --listen 127.0.0.1:0 --upstream "https://$up_ADDR/" --policy wrong.json --collateral plat/root.pem
start_proxy p_untrusted --listen 127.0.0.1:0 --upstream "https://$untrusted_ADDR" --policy good.json --collateral plat/root.pem

body='{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[1.0,2.0]}]}'
req() { curl -s -o "$WORK/out.txt" -w '%{http_code}' -H 'Content-Type: application/json' --data "$body" "http://$1/v2/models/m/infer"; }

code=$(req "$p_good_ADDR")
[ "$code" = 200 ] && ok "verified upstream: 200 through the proxy" || not_ok "status $code"
expect_stdout '"outputs":\[\{"name":"output"' "the upstream's answer comes back"
expect_stdout "\"received_bytes\":${#body}" "the whole body was forwarded"
expect_stdout '"content_type":"application/json"' "the content type was forwarded"
code=$(req "$p_good_ADDR")
[ "$code" = 200 ] && ok "a second request (connection reused)" || not_ok "status $code"
code=$(curl -s -o "$WORK/out.txt" -w '%{http_code}' "http://$p_good_ADDR/v2/models/other/infer" --data x)
[ "$code" = 404 ] && ok "the upstream's status is passed through" || not_ok "status $code"
[ "$(requests up)" -eq 2 ] && ok "two requests reached the upstream" || not_ok "requests: $(requests up)"

code=$(req "$p_wrong_ADDR")
[ "$code" = 502 ] && ok "policy mismatch: 502" || not_ok "status $code"
expect_stdout '"check":"policy"' "the refusal says policy"
expect_stdout 'sim.measurement equals' "the failed condition is named"
[ "$(requests up)" -eq 2 ] && ok "nothing was forwarded on a policy mismatch" || not_ok "requests: $(requests up)"

code=$(req "$p_untrusted_ADDR")
[ "$code" = 502 ] && ok "untrusted platform: 502" || not_ok "status $code"
expect_stdout '"check":"attestation"' "the refusal says attestation"
[ "$(requests untrusted)" -eq 0 ] && ok "nothing reached the untrusted upstream" || not_ok "requests: $(requests untrusted)"
finish

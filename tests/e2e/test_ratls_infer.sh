#!/usr/bin/env bash
# veil infer against the attested TLS test server: verification inside the handshake, refusals.
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
source "$HERE/lib_ratls.sh"

"$VEIL" sim init --dir plat >/dev/null
"$VEIL" sim init --dir other >/dev/null
policy good.json 42
policy wrong.json 43
cat >x.json <<'JSON'
{"name": "input", "shape": [1, 2], "datatype": "FP32", "data": [1.0, 2.0]}
JSON

start_server good --sim-dir plat --model m
start_server untrusted --sim-dir other --model m
start_server debug --sim-dir plat --model m --debug

expect_exit 0 "veil infer --help" -- "$VEIL" infer --help
expect_exit 2 "veil infer without arguments" -- "$VEIL" infer
expect_exit 2 "plain http is refused" -- "$VEIL" infer --server "http://$good_ADDR" --policy good.json --collateral plat/root.pem --model m --input x.json
expect_exit 2 "a bad model name" -- "$VEIL" infer --server "https://$good_ADDR" --policy good.json --model '../x' --input x.json

expect_exit 0 "matching policy: inference runs" -- "$VEIL" infer --server "https://$good_ADDR" --policy good.json --collateral plat/root.pem --model m --input x.json
expect_stdout '^output FP32 \[1,2\] \[0.25,0.75\]' "the outputs are printed"
expect_exit 0 "--json and a renamed input" -- "$VEIL" infer --server "https://$good_ADDR/" --policy good.json --collateral plat/root.pem --model m --input renamed=x.json --json
expect_stdout '"model_name": "m"' "the whole answer as JSON"
[ "$(requests good)" -eq 2 ] && ok "two requests reached the server" || not_ok "requests: $(requests good)"

expect_exit 1 "wrong measurement: refused" -- "$VEIL" infer --server "https://$good_ADDR" --policy wrong.json --collateral plat/root.pem --model m --input x.json
expect_stderr '^veil infer: server refused by policy: sim.measurement' "the failed policy condition is named"
[ "$(requests good)" -eq 2 ] && ok "nothing was sent to the refused server" || not_ok "requests: $(requests good)"

expect_exit 1 "untrusted platform: refused" -- "$VEIL" infer --server "https://$untrusted_ADDR" --policy good.json --collateral plat/root.pem --model m --input x.json
expect_stderr '^veil infer: server refused by attestation: sim\.' "the failed attestation check is named"
[ "$(requests untrusted)" -eq 0 ] && ok "nothing reached the untrusted server" || not_ok "requests: $(requests untrusted)"

expect_exit 1 "no collateral: the sim root is unknown" -- "$VEIL" infer --server "https://$good_ADDR" --policy good.json --model m --input x.json
expect_stderr 'refused by attestation' "refused without a trust anchor"

expect_exit 1 "debug platform: refused" -- "$VEIL" infer --server "https://$debug_ADDR" --policy good.json --collateral plat/root.pem --model m --input x.json
expect_stderr 'refused by policy: sim.debug' "the debug condition is named"

echo '{"name": "x", "shape": [1], "datatype": "FP32", "data": [1], "extra": 1}' >bad.json
expect_exit 1 "a malformed input tensor" -- "$VEIL" infer --server "https://$good_ADDR" --policy good.json --collateral plat/root.pem --model m --input bad.json
expect_stderr 'unknown member "extra"' "the bad member is named"
expect_exit 1 "an unknown model: the server's status is shown" -- "$VEIL" infer --server "https://$good_ADDR" --policy good.json --collateral plat/root.pem --model other --input x.json
expect_stderr 'server answered 404' "404 reported"
expect_exit 1 "nothing listening" -- "$VEIL" infer --server "https://127.0.0.1:1" --policy good.json --collateral plat/root.pem --model m --input x.json
expect_stderr 'cannot reach' "connection failure reported"
finish

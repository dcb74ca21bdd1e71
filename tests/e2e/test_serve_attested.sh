#!/usr/bin/env bash
# The whole flow over attested TLS: veil-serve's certificate carries its sim evidence, bound to
# its TLS key; veil infer and veil-proxy verify it against a client policy inside the handshake
# and send nothing to a server whose measurement the policy does not name.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
proxy_pid=
trap '[ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null; serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
DATA="$ONNX_NODE/test_add"
kbs_setup "$WORK"
kbs_start "$WORK"
serve_seal "$DATA" add
"$VEIL" kbs resource put --dir state models/add/key model.key >/dev/null
serve_conf serve.conf models/add/key add
meas=$(serve_measurement serve.conf)
serve_policy models/add/key "$meas"
serve_start serve.conf && ok "veil-serve started with an attested certificate" || not_ok "start"
grep -q "attested certificate" serve.log && ok "it says so" || not_ok "attested certificate log"
URL="https://127.0.0.1:$SERVE_PORT"
"$TOOL" request "$DATA"/test_data_set_0/input_*.pb > req.json
python3 -c 'import json; r = json.load(open("req.json"))["inputs"]; [json.dump(t, open(t["name"] + ".json", "w")) for t in r]'
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"sim.measurement","equals":"%s"},{"claim":"sim.debug","equals":false}]}' "$meas" > client.json
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"sim.measurement","equals":"%096d"}]}' 0 > other.json

expect_exit 0 "veil infer: server verified in the handshake, inference answered" -- \
    "$VEIL" infer --server "$URL" --policy client.json --collateral sim/root.pem --model add --input x.json --input y.json
expect_stdout "^sum FP32" "the output is printed"
expect_exit 1 "veil infer refuses a server whose measurement the policy does not name" -- \
    "$VEIL" infer --server "$URL" --policy other.json --collateral sim/root.pem --model add --input x.json --input y.json
expect_stderr "refused by policy: .*sim.measurement equals" "the failed condition is named"
expect_exit 1 "veil infer refuses without the sim root (untrusted platform)" -- \
    "$VEIL" infer --server "$URL" --policy client.json --model add --input x.json --input y.json
before=$(grep -c "POST /v2/models/add/infer" serve.log || true)

"${VEIL_BIN}/veil-proxy" --listen 127.0.0.1:0 --upstream "$URL" --policy client.json --collateral sim/root.pem > proxy.log 2>&1 &
proxy_pid=$!
for _ in $(seq 50); do grep -q "127.0.0.1:[0-9]" proxy.log && break; sleep 0.1; done
purl="http://$(grep -o '127.0.0.1:[0-9]*' proxy.log | head -1)"
code=$(curl -sS -o body.out -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @req.json "$purl/v2/models/add/infer")
[ "$code" = 200 ] && "$TOOL" check body.out - "$DATA"/test_data_set_0/output_0.pb && ok "curl through veil-proxy: inference equals output_0.pb" || not_ok "proxy inference ($code)"
finish

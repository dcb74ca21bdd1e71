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

# TLS session resumption: a connection the server closes (HTTP/1.0) ends with close_notify, so
# the client keeps its session ticket, and a second connection resumes it (TLS 1.3 PSK).
printf 'GET /v2/health/ready HTTP/1.0\r\n\r\n' |
    timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -tls1_3 -sess_out sess.pem -ign_eof > s1.txt 2>&1 || true
grep -q '^HTTP/1.0 200' s1.txt && ok "HTTP/1.0 over TLS answered" || not_ok "s_client: $(head -c 400 s1.txt)"
grep -qi 'unexpected eof' s1.txt && not_ok "the server closed without close_notify" || ok "the server closed with close_notify"
printf 'GET /v2/health/ready HTTP/1.0\r\n\r\n' |
    timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -tls1_3 -sess_in sess.pem -ign_eof > s2.txt 2>&1 || true
grep -q '^Reused, TLSv1.3' s2.txt && ok "the session was resumed (TLS 1.3)" || not_ok "not resumed: $(grep -E '^(New|Reused)' s2.txt)"
# Cipher suites: the server's order puts AES-128-GCM first (s_client offers AES-256-GCM first), a
# client that offers only AES-256-GCM still gets it, and TLS 1.2 is refused.
grep -q '^New, TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256' s1.txt && ok "the server's order chose TLS_AES_128_GCM_SHA256" || not_ok "suite: $(grep -E '^(New|Reused)' s1.txt)"
printf 'GET /v2/health/ready HTTP/1.0\r\n\r\n' |
    timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -tls1_3 -ciphersuites TLS_AES_256_GCM_SHA384 -ign_eof > s3.txt 2>&1 || true
grep -q '^New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384' s3.txt && grep -q '^HTTP/1.0 200' s3.txt && ok "a client offering only AES-256-GCM is served with it" || not_ok "AES-256 only: $(grep -E '^(New|Reused)' s3.txt)"
timeout 20 openssl s_client -connect "127.0.0.1:$SERVE_PORT" -tls1_2 < /dev/null > s4.txt 2>&1 || true
grep -q 'alert protocol version' s4.txt && ok "TLS 1.2 refused" || not_ok "TLS 1.2: $(grep -E '^(New|Reused)|alert' s4.txt)"

"${VEIL_BIN}/veil-proxy" --listen 127.0.0.1:0 --upstream "$URL" --policy client.json --collateral sim/root.pem > proxy.log 2>&1 &
proxy_pid=$!
for _ in $(seq 50); do grep -q "127.0.0.1:[0-9]" proxy.log && break; sleep 0.1; done
purl="http://$(grep -o '127.0.0.1:[0-9]*' proxy.log | head -1)"
code=$(curl -sS -o body.out -w '%{http_code}' -H 'Content-Type: application/json' --data-binary @req.json "$purl/v2/models/add/infer")
[ "$code" = 200 ] && "$TOOL" check body.out - "$DATA"/test_data_set_0/output_0.pb && ok "curl through veil-proxy: inference equals output_0.pb" || not_ok "proxy inference ($code)"
finish

#!/usr/bin/env bash
# veil-serve end to end: a real ONNX model (ONNX backend test "test_add") sealed by the provider,
# its key at the broker under a sim policy pinning the measurement of veil-serve and its
# configuration; the server attests, receives the key, opens the model into locked memory and
# serves KServe v2 over TLS. Results are compared with the test's output_0.pb.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
trap 'serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
DATA="$ONNX_NODE/test_add"
kbs_setup "$WORK"
kbs_start "$WORK"
serve_seal "$DATA" add
"$VEIL" kbs resource put --dir state models/add/key model.key >/dev/null
serve_conf serve.conf models/add/key add "tls_cert_out = $WORK/serve.pem"
serve_policy models/add/key "$(serve_measurement serve.conf)"
serve_start serve.conf && ok "veil-serve starts: key released, model opened, engine loaded" || not_ok "start"
for step in "step=measure" "step=fetch" "step=open .*locked=yes" "step=wipe-key" "step=engine model=add id=$MODEL_ID" "step=serve"; do
    grep -qE -- "$step" serve.log && ok "start-up logs $step" || not_ok "start-up log lacks $step"
done
URL="https://127.0.0.1:$SERVE_PORT"
c() { curl -sS --cacert serve.pem -o body.out -w '%{http_code}' "$@"; }

[ "$(c "$URL/v2/health/live")" = 200 ] && grep -q '"live":true' body.out && ok "GET /v2/health/live over TLS (certificate from tls_cert_out)" || not_ok "live"
[ "$(c "$URL/v2/health/ready")" = 200 ] && grep -q '"ready":true' body.out && ok "GET /v2/health/ready" || not_ok "ready"
[ "$(c "$URL/v2")" = 200 ] && grep -q '"name":"veil-serve"' body.out && grep -q binary_tensor_data body.out && ok "GET /v2 server metadata" || not_ok "server metadata"
[ "$(c "$URL/v2/models/add")" = 200 ] && grep -q '"inputs":\[{"name":"x","datatype":"FP32","shape":\[3,4,5\]}' body.out &&
    grep -q "\"model_id\":\"$MODEL_ID\"" body.out && grep -q '"outputs":\[{"name":"sum","datatype":"FP32"' body.out &&
    ok "GET /v2/models/add: inputs, outputs, model id" || { not_ok "model metadata"; cat body.out; }
[ "$(c "$URL/v2/models/add/ready")" = 200 ] && grep -q '"ready":true' body.out && ok "GET /v2/models/add/ready" || not_ok "model ready"
[ "$(c "$URL/v2/models/add/versions/1/ready")" = 200 ] && ok "versioned path" || not_ok "versioned path"
[ "$(c "$URL/v2/models/other")" = 404 ] && grep -q '"error":' body.out && ok "an unknown model is 404 with a KServe error" || not_ok "unknown model"

"$TOOL" request "$DATA"/test_data_set_0/input_*.pb > req.json
[ "$(c -H 'Content-Type: application/json' --data-binary @req.json "$URL/v2/models/add/infer")" = 200 ] &&
    "$TOOL" check body.out - "$DATA"/test_data_set_0/output_0.pb && ok "JSON inference equals output_0.pb" || { not_ok "JSON inference"; head -c 300 body.out; }
grep -q '"model_name":"add"' body.out && ok "the response names the model" || not_ok "model_name"

"$TOOL" request --binary "$DATA"/test_data_set_0/input_*.pb > req.bin 2> hlen
[ "$(c -H "Inference-Header-Content-Length: $(cat hlen)" -H 'Content-Type: application/octet-stream' --data-binary @req.bin "$URL/v2/models/add/infer")" = 200 ] &&
    "$TOOL" check body.out - "$DATA"/test_data_set_0/output_0.pb && ok "binary tensor inputs" || not_ok "binary inputs"
# binary requests are parsed out of libevent's buffer chains (src/serve/request_body.c): the
# same refusals as the contiguous parser
binbad() { # binbad STATUS PATTERN DESCRIPTION HEADER_LENGTH BODY_FILE
    local got
    got=$(c -H "Inference-Header-Content-Length: $4" -H 'Content-Type: application/octet-stream' --data-binary @"$5" "$URL/v2/models/add/infer")
    if [ "$got" = "$1" ] && grep -qE -- "$2" body.out; then ok "binary: $3 -> $1"; else not_ok "binary: $3: $got $(cat body.out)"; fi
}
head -c -4 req.bin > req_short.bin
{ cat req.bin; printf 'xyz'; } > req_long.bin
binbad 400 'Inference-Header-Content-Length: must be' "header length past the body" "$(($(stat -c %s req.bin) + 1))" req.bin
binbad 400 'Inference-Header-Content-Length: must be' "header length not a decimal" "1e2" req.bin
binbad 400 'ends before binary_data_size' "a truncated binary part" "$(cat hlen)" req_short.bin
binbad 400 'longer than the inputs' "a binary part longer than the tensors" "$(cat hlen)" req_long.bin
binbad 400 'not JSON' "header length 0" 0 req.bin
binbad 400 'not JSON' "header length inside the JSON" "$(($(cat hlen) - 1))" req.bin
[ "$(c -H "Inference-Header-Content-Length: $(cat hlen)" -H 'Content-Type: application/octet-stream' --data-binary @req.bin "$URL/v2/models/add/infer")" = 200 ] &&
    "$TOOL" check body.out - "$DATA"/test_data_set_0/output_0.pb && ok "binary inputs again after the refusals (same connection state)" || not_ok "binary inputs after refusals"
"$TOOL" request --binary-output "$DATA"/test_data_set_0/input_*.pb > req2.json
curl -sS --cacert serve.pem -D headers.txt -o body.out --data-binary @req2.json "$URL/v2/models/add/infer"
hl=$(sed -n 's/^[Ii]nference-[Hh]eader-[Cc]ontent-[Ll]ength: *\([0-9]*\).*/\1/p' headers.txt)
[ -n "$hl" ] && "$TOOL" check body.out "$hl" "$DATA"/test_data_set_0/output_0.pb && ok "binary tensor outputs (Inference-Header-Content-Length $hl)" || not_ok "binary outputs"
grep -qi '^server-timing:' headers.txt && not_ok "Server-Timing sent without server_timing" ||
    ok "no Server-Timing header by default"

bad() { # bad STATUS PATTERN DESCRIPTION BODY
    local got
    got=$(c -H 'Content-Type: application/json' --data-binary "$4" "$URL/v2/models/add/infer")
    if [ "$got" = "$1" ] && grep -qE -- "$2" body.out; then ok "$3 -> $1"; else not_ok "$3: $got $(cat body.out)"; fi
}
X='"name":"x","shape":[1],"datatype":"FP32","data":[1]'
bad 400 'not JSON' "malformed JSON" '{"inputs":['
bad 400 "unknown key 'extra'" "an unknown top-level key" "{\"inputs\":[{$X}],\"extra\":1}"
bad 400 "unknown key 'dtype'" "an unknown input key" '{"inputs":[{"name":"x","shape":[1],"dtype":"FP32","data":[1]}]}'
bad 400 'holds 2 elements, data has 1' "shape and data disagree" '{"inputs":[{"name":"x","shape":[2],"datatype":"FP32","data":[1]}]}'
bad 400 'FP32 data must be numbers' "a string where a number belongs" '{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":["1"]}]}'
bad 400 "'STRING' is not supported" "an unknown datatype" '{"inputs":[{"name":"x","shape":[1],"datatype":"STRING","data":[1]}]}'
X60="\"name\":\"x\",\"shape\":[3,4,5],\"datatype\":\"FP32\",\"data\":[$(seq -s, 60)]"
bad 400 "input 'y' is missing" "a missing model input" "{\"inputs\":[{$X60}]}"
bad 400 "dimension 2 is 6, the model takes 5" "a shape the model does not take" "{\"inputs\":[{$X60},{\"name\":\"y\",\"shape\":[3,4,6],\"datatype\":\"FP32\",\"data\":[$(seq -s, 72)]}]}"
bad 400 "datatype INT64, the model takes FP32" "a datatype the model does not take" '{"inputs":[{"name":"x","shape":[1],"datatype":"INT64","data":[0]},{"name":"y","shape":[1],"datatype":"FP32","data":[1]}]}'
bad 400 "does not take" "an input the model does not have" "{\"inputs\":[{$X60},{\"name\":\"y\",\"shape\":[3,4,5],\"datatype\":\"FP32\",\"data\":[$(seq -s, 60)]},{\"name\":\"z\",\"shape\":[1],\"datatype\":\"FP32\",\"data\":[1]}]}"
bad 400 "given twice" "a duplicate input" "{\"inputs\":[{$X},{$X}]}"
bad 400 'duplicate' "a duplicate JSON key" '{"inputs":[],"inputs":[]}'
[ "$(c "$URL/v2/models/add/infer")" = 405 ] && ok "GET on infer is 405" || not_ok "405"
head -c 20000000 /dev/zero | tr '\0' ' ' > big.json
got=$(c --data-binary @big.json "$URL/v2/models/add/infer" 2>/dev/null || true)
[ "$got" = 413 ] && ok "a body over request_size_max is refused ($got)" || not_ok "oversize body: $got"

nonce=00112233445566778899aabbccddeeff0123456789abcdef
[ "$(c "$URL/v2/attestation?nonce=$nonce")" = 200 ] && ok "GET /v2/attestation" || not_ok "attestation"
jq -r .evidence body.out | base64 -d > att.ev
"$VEIL" evidence verify --tee sim --evidence att.ev --collateral sim/root.pem > att.txt && ok "the evidence verifies against the sim root" || not_ok "evidence verify"
spki=$(openssl x509 -in serve.pem -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum | cut -c1-64)
nh=$(printf "$(echo "$nonce" | sed 's/../\\x&/g')" | sha256sum | cut -c1-64)
grep -q "sim.report_data *$spki$nh" att.txt && ok "report data = SHA-256(TLS key SPKI) || SHA-256(nonce)" || { not_ok "report data binding"; grep report_data att.txt; }
grep -q "sim.measurement *$(serve_measurement serve.conf)" att.txt && ok "the evidence carries the server's measurement" || not_ok "measurement in evidence"
[ "$(c "$URL/v2/attestation?nonce=00")" = 400 ] && ok "a short nonce is refused" || not_ok "short nonce"

[ "$(c "$URL/metrics")" = 200 ] && ok "GET /metrics" || not_ok "metrics"
grep -qE '^veil_serve_requests_total\{endpoint="infer",code="2xx"\} 4$' body.out && ok "metrics count the inferences" || { not_ok "infer count"; grep infer body.out; }
grep -qE '^veil_serve_inference_seconds_count\{model="add"\} 4$' body.out && ok "inference latency histogram" || not_ok "histogram"
grep -qE '^veil_serve_model_load_seconds\{model="add"\} [0-9.]+$' body.out && grep -qE '^veil_serve_attestation_age_seconds [0-9]+$' body.out &&
    ok "model load time and attestation age" || not_ok "load/age gauges"
serve_stop
[ "$SERVE_RC" = 0 ] && ok "SIGTERM stops it cleanly" || not_ok "exit status $SERVE_RC"

# server_timing = true: each inference answer says the engine's own time (W3C Server-Timing), so
# that a client can tell it from the transport's (bench/serve/ocr pairs the two per request).
serve_conf timing.conf models/add/key add "tls_cert_out = $WORK/serve.pem" "server_timing = true"
serve_policy models/add/key "$(serve_measurement timing.conf)"
serve_start timing.conf || not_ok "start with server_timing"
URL="https://127.0.0.1:$SERVE_PORT"
curl -sS --cacert serve.pem -D headers.txt -o body.out --data-binary @req2.json "$URL/v2/models/add/infer"
grep -qiE '^server-timing: engine;dur=[0-9]+\.[0-9]{3}'$'\r''?$' headers.txt &&
    ok "Server-Timing: engine;dur=MS on an inference" || not_ok "headers: $(cat headers.txt)"
[ "$(c "$URL/v2/health/ready")" = 200 ] && ! grep -qi '^server-timing:' <(curl -sS --cacert serve.pem -D - -o /dev/null "$URL/v2/health/ready") &&
    ok "and only on inferences" || not_ok "Server-Timing on a health check"
serve_stop
finish

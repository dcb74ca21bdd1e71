#!/usr/bin/env bash
# The demo's flow on loopback, on the real PaddleOCR v4 recognition model: seal it, key at the
# broker under a policy pinning veil-serve's measurement, veil-serve attests and opens it, a
# client reaches it through veil-proxy (attested TLS, client policy) with curl, and the text read
# from each sample image (tests/data/ocr/) must be the text rendered into it. Then: a client
# policy naming another measurement gets nothing, and veil-serve under a changed configuration
# is refused its key. Skips (77) only when the models cannot be fetched.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
proxy_pids=()
cleanup() {
    local p
    for p in "${proxy_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    serve_stop
    kbs_stop
    rm -rf "$WORK"
}
trap cleanup EXIT
SRC=${VEIL_SOURCE_DIR:?}
if ! models=$("$SRC/tools/fetch-models" 2>fetch.err); then
    echo "skip: the OCR models cannot be fetched:"; sed 's/^/  | /' fetch.err
    exit 77
fi
KEYS=$models/ppocr_keys_v1.txt
declare -A TEXT=(
    [confidential-inference.png]="Confidential inference"
    [sealed-model-2026.png]="Sealed model 2026"
)

# start_proxy POLICY: PROXY_URL (plain HTTP on loopback, attested TLS to veil-serve)
start_proxy() {
    local log=proxy${#proxy_pids[@]}.log
    "$VEIL_BIN/veil-proxy" --listen 127.0.0.1:0 --upstream "https://127.0.0.1:$SERVE_PORT" \
        --policy "$1" --collateral sim/root.pem > "$log" 2>&1 &
    proxy_pids+=($!)
    for _ in $(seq 100); do grep -q "127.0.0.1:[0-9]" "$log" && break; sleep 0.1; done
    PROXY_URL="http://$(grep -o '127.0.0.1:[0-9]*' "$log" | head -1)"
}

kbs_setup "$WORK"
kbs_start "$WORK"
mkdir rec && ln -s "$models/ch_PP-OCRv4_rec_infer.onnx" rec/model.onnx
serve_seal rec ocr
"$VEIL" kbs resource put --dir state models/ocr/key model.key >/dev/null
serve_conf serve.conf models/ocr/key ocr
meas=$(serve_measurement serve.conf)
serve_policy models/ocr/key "$meas"
serve_start serve.conf && ok "veil-serve attested, received the key and loaded the sealed rec model" ||
    { not_ok "veil-serve start"; finish; exit 1; }

printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"sim.measurement","equals":"%s"},{"claim":"sim.debug","equals":false}]}' "$meas" > client.json
start_proxy client.json
for img in "${!TEXT[@]}"; do
    want=${TEXT[$img]}
    "$VEIL" tensor from-image "$SRC/tests/data/ocr/$img" > req.json 2> from.err ||
        { not_ok "$img: from-image"; cat from.err; continue; }
    grep -q '"shape":\[1,3,48,[0-9]*\],"datatype":"FP32"' req.json && ok "$img: a [1,3,48,W] FP32 request" ||
        not_ok "$img: request shape"
    code=$(curl -sS -o resp.json -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary @req.json "$PROXY_URL/v2/models/ocr/infer")
    [ "$code" = 200 ] && ok "$img: inference through veil-proxy (200)" || not_ok "$img: status $code"
    "$VEIL" tensor ctc-decode --labels "$KEYS" resp.json > out.txt 2>&1 || true
    got=$(sed -n 's/^text: //p' out.txt)
    [ "$got" = "$want" ] && ok "$img: read '$got'" || { not_ok "$img: read '$got', wanted '$want'"; cat out.txt; }
    grep -qE '^confidence: 0\.(9[0-9]|8[0-9])|^confidence: 1\.000' out.txt && ok "$img: confident ($(sed -n 's/^confidence: //p' out.txt))" ||
        not_ok "$img: low confidence: $(cat out.txt)"
done
# The pipe the demo shows, stdin to ctc-decode.
"$VEIL" tensor from-image "$SRC/tests/data/ocr/confidential-inference.png" 2>/dev/null > req.json
curl -s --data-binary @req.json "$PROXY_URL/v2/models/ocr/infer" |
    "$VEIL" tensor ctc-decode --labels "$KEYS" > out.txt && grep -qx 'text: Confidential inference' out.txt &&
    ok "curl | veil tensor ctc-decode" || not_ok "pipe: $(cat out.txt)"
# The KServe binary tensor extension through veil-proxy: the request's and the response's
# Inference-Header-Content-Length must cross it.
n=$("$VEIL" tensor from-image --binary "$SRC/tests/data/ocr/confidential-inference.png" -o req.bin 2>/dev/null)
code=$(curl -sS -D bin.hdr -o resp.bin -w '%{http_code}' -H "Inference-Header-Content-Length: $n" \
    -H 'Content-Type: application/octet-stream' --data-binary @req.bin "$PROXY_URL/v2/models/ocr/infer")
[ "$code" = 200 ] && ok "binary request through veil-proxy (200)" || not_ok "binary: status $code: $(head -c 300 resp.bin)"
rlen=$(sed -n 's/^inference-header-content-length: *\([0-9]*\).*/\1/Ip' bin.hdr)
[[ $rlen =~ ^[0-9]+$ ]] && ok "the response's Inference-Header-Content-Length came back ($rlen)" || not_ok "headers: $(cat bin.hdr)"
grep -qi '^content-type: application/octet-stream' bin.hdr && ok "binary content type" || not_ok "headers: $(cat bin.hdr)"
[ "$(stat -c %s resp.bin)" = $((rlen + 47 * 6625 * 4)) ] && ok "JSON then 47 x 6625 FP32 values" ||
    not_ok "response size $(stat -c %s resp.bin), header $rlen"
"$VEIL" tensor ctc-decode --labels "$KEYS" --header-length "$rlen" resp.bin > out.txt 2>&1 &&
    grep -qx 'text: Confidential inference' out.txt && ok "binary response decoded (--header-length)" || not_ok "binary decode: $(cat out.txt)"
"$VEIL" tensor ctc-decode --labels "$KEYS" resp.bin > out.txt 2>&1 &&
    grep -qx 'text: Confidential inference' out.txt && ok "binary response decoded (the JSON's end found)" || not_ok "binary decode: $(cat out.txt)"
code=$(curl -sS -o bad.json -w '%{http_code}' -H "Inference-Header-Content-Length: 1x" \
    --data-binary @req.bin "$PROXY_URL/v2/models/ocr/infer")
[ "$code" = 400 ] && grep -q 'not a decimal' bad.json && ok "a header length that is not a decimal: 400 at the proxy" || not_ok "status $code: $(cat bad.json)"
code=$(curl -sS -o bad.json -w '%{http_code}' -H "Inference-Header-Content-Length: $((n + 1))" \
    --data-binary @req.bin "$PROXY_URL/v2/models/ocr/infer")
[ "$code" = 400 ] && ok "a wrong header length reaches veil-serve and is refused there (400)" || not_ok "status $code: $(cat bad.json)"
expect_exit 1 "ctc-decode with a label file of the wrong size" -- \
    "$VEIL" tensor ctc-decode --labels "$KEYS" --no-space resp.json
expect_stderr "the output has 6625 classes but .* has 6623 labels \(\+1 blank\)" "the mismatch is explained"

GOOD_URL=$PROXY_URL
# inferences veil-serve has answered, from its /metrics (through the verified proxy)
served() { curl -s "$GOOD_URL/metrics" | awk '/^veil_serve_requests_total\{endpoint="infer"/ {n += $2} END {print n + 0}'; }
[ "$(served)" -ge 3 ] && ok "veil-serve counted the inferences" || not_ok "metrics: $(served)"
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"sim.measurement","equals":"%096d"}]}' 0 > other.json
start_proxy other.json
before=$(served)
curl -s --data-binary @req.json "$PROXY_URL/v2/models/ocr/infer" > refused.json || true
expect_exit 1 "a client policy naming another measurement: nothing to decode" -- \
    "$VEIL" tensor ctc-decode --labels "$KEYS" refused.json
expect_stderr "the server answered an error: upstream refused by attested TLS verification: .*sim.measurement equals" "the refusal is one clear line naming the failed condition"
[ "$(served)" = "$before" ] && ok "no request reached veil-serve" || not_ok "a request was forwarded"

serve_conf changed.conf models/ocr/key ocr "insecure_http = true"
expect_exit 1 "veil-serve switched to plain HTTP (a changed configuration)" -- timeout 120 "$SERVE" --config changed.conf
expect_stderr "^veil-serve: key broker refused: .*PolicyDeny: denied: .*sim.measurement equals [0-9a-f]{96}: FAILS" "refused its key, the failed condition named"
[ "$(grep -c '^veil-serve: ' err.txt)" = 1 ] && ok "in one line" || not_ok "not one line: $(cat err.txt)"
expect_exit 0 "the audit log verifies" -- "$VEIL" kbs audit verify --dir state
finish

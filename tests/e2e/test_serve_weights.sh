#!/usr/bin/env bash
# veil-serve with a model whose weights are an initializer in raw_data at a misaligned offset
# (45): the engine borrows them from the locked plaintext (moved in place onto an aligned offset,
# not copied) and inference uses them: Y = X + W, W[i] = 0.25 i (tests/fuzz/corpus/pb_split/
# add_raw_data.onnx).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
trap 'serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
mkdir -p model
cp "$(dirname "$0")/../fuzz/corpus/pb_split/add_raw_data.onnx" model/model.onnx
kbs_setup "$WORK"
kbs_start "$WORK"
serve_seal model weights
"$VEIL" kbs resource put --dir state models/weights/key model.key >/dev/null
serve_conf serve.conf models/weights/key weights "tls_cert_out = $WORK/serve.pem"
serve_policy models/weights/key "$(serve_measurement serve.conf)"
serve_start serve.conf && ok "veil-serve starts with a raw_data initializer" || not_ok "start"
grep -qE "step=engine model=weights" serve.log && ok "the engine loaded it from locked memory" || not_ok "engine step"
URL="https://127.0.0.1:$SERVE_PORT"
req="{\"inputs\":[{\"name\":\"X\",\"shape\":[32],\"datatype\":\"FP32\",\"data\":[$(seq -s, 32)]}]}"
code=$(curl -sS --cacert serve.pem -o body.out -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "$req" "$URL/v2/models/weights/infer")
want=$(awk 'BEGIN { for (i = 0; i < 32; i++) printf "%s%g", (i ? "," : ""), (i + 1) + 0.25 * i }')
got=$(sed -n 's/.*"data":\[\([^]]*\)\].*/\1/p' body.out | tr -d ' ' |
    awk -F, '{ for (i = 1; i <= NF; i++) printf "%s%g", (i > 1 ? "," : ""), $i }')
[ "$code" = 200 ] && [ "$got" = "$want" ] && ok "inference uses the borrowed weights: Y = X + W" ||
    { not_ok "inference: $code got [$got] want [$want]"; head -c 400 body.out; }
serve_stop
[ "$SERVE_RC" = 0 ] && ok "veil-serve exits cleanly on SIGTERM (frees the engine, then the locked plaintext)" ||
    not_ok "exit status $SERVE_RC"
finish

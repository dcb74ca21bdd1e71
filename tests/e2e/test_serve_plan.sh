#!/usr/bin/env bash
# veil-serve plans the activation memory at load when every input's shape is static, here once
# input_shapes fixes a symbolic dim; without it (or with plan = false) it serves unplanned. Both
# give the same results. Bad input_shapes stop the start-up with a clear line. Model:
# tests/data/serve/add_constant_n.onnx (gen_add_constant_n.py), Y = (X + C) * C, X of shape [N],
# C a Constant node in raw_data (borrowed from the locked plaintext).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
trap 'serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
mkdir -p model
cp "$(dirname "$0")/../data/serve/add_constant_n.onnx" model/model.onnx
kbs_setup "$WORK"
kbs_start "$WORK"
serve_seal model plan
"$VEIL" kbs resource put --dir state models/plan/key model.key >/dev/null
req="{\"inputs\":[{\"name\":\"X\",\"shape\":[32],\"datatype\":\"FP32\",\"data\":[$(seq -s, 32)]}]}"
want=$(awk 'BEGIN { for (i = 0; i < 32; i++) printf "%s%g", (i ? "," : ""), ((i + 1) + 0.25 * i) * 0.25 * i }')

infer() { # infer BODY: HTTP status in CODE, response in body.out
    CODE=$(curl -sS --cacert serve.pem -o body.out -w '%{http_code}' -H 'Content-Type: application/json' \
        --data-binary "$1" "https://127.0.0.1:$SERVE_PORT/v2/models/plan/infer")
}
got() { sed -n 's/.*"data":\[\([^]]*\)\].*/\1/p' body.out | tr -d ' ' |
    awk -F, '{ for (i = 1; i <= NF; i++) printf "%s%g", (i > 1 ? "," : ""), $i }'; }
start() { # start CONF-LINES...: serve.conf with these lines, its measurement in the policy
    serve_conf serve.conf models/plan/key plan "tls_cert_out = $WORK/serve.pem" "$@"
    serve_policy models/plan/key "$(serve_measurement serve.conf)"
    serve_start serve.conf
}

start && ok "starts with a symbolic input dim" || not_ok "start"
grep -q "step=plan none (" serve.log && ok "symbolic dim: not planned, says why" ||
    not_ok "plan step: $(grep step=plan serve.log)"
infer "$req"
[ "$CODE" = 200 ] && [ "$(got)" = "$want" ] && ok "unplanned: Y = (X + C) * C" ||
    not_ok "unplanned inference: $CODE got [$(got)] want [$want]"
serve_stop

start "input_shapes = X=32" && ok "starts with input_shapes = X=32" || not_ok "start"
grep -qE "step=plan intermediates=1 arena_bytes=256 live_max_bytes=256 " serve.log &&
    ok "planned at load: one intermediate and X's room in a 256-byte arena, 256 bytes live at most" ||
    not_ok "plan step: $(grep step=plan serve.log)"
for i in 1 2; do
    infer "$req"
    [ "$CODE" = 200 ] && [ "$(got)" = "$want" ] && ok "planned, request $i: same results" ||
        not_ok "planned inference $i: $CODE got [$(got)] want [$want]"
done
infer '{"inputs":[{"name":"X","shape":[1],"datatype":"FP32","data":[1]}]}'
[ "$CODE" = 400 ] && grep -q "dimension 0 is 1, the model takes 32" body.out &&
    ok "another shape is refused: the configured shape is the served one" ||
    not_ok "shape [1]: $CODE $(head -c 200 body.out)"
# binary tensor data goes straight into the run's arena, in X's room (veil_engine_run_input_room)
infer_bin() { # infer_bin N: X of shape [N] as binary data, 1..N (HTTP status in CODE)
    local h="{\"inputs\":[{\"name\":\"X\",\"shape\":[$1],\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":$(($1 * 4))}}]}"
    { printf '%s' "$h"; perl -e "print pack('f<*', 1..$1)"; } > req.bin
    CODE=$(curl -sS --cacert serve.pem -o body.out -w '%{http_code}' \
        -H "Inference-Header-Content-Length: ${#h}" -H 'Content-Type: application/octet-stream' \
        --data-binary @req.bin "https://127.0.0.1:$SERVE_PORT/v2/models/plan/infer")
}
for i in 1 2; do
    infer_bin 32
    [ "$CODE" = 200 ] && [ "$(got)" = "$want" ] && ok "planned, binary request $i: same results" ||
        not_ok "planned binary inference $i: $CODE got [$(got)] want [$want]"
done
infer_bin 31
[ "$CODE" = 400 ] && grep -q "dimension 0 is 31, the model takes 32" body.out &&
    ok "binary data of another shape: refused, no room given" ||
    not_ok "binary [31]: $CODE $(head -c 200 body.out)"
infer_bin 32
[ "$CODE" = 200 ] && [ "$(got)" = "$want" ] && ok "and the next binary request is right" ||
    not_ok "binary after a refusal: $CODE got [$(got)] want [$want]"
infer "$req"
[ "$CODE" = 200 ] && [ "$(got)" = "$want" ] && ok "then a JSON request: same results" ||
    not_ok "JSON after binary: $CODE got [$(got)] want [$want]"
serve_stop

start "input_shapes = X=32" "plan = false" && ok "starts with plan = false" || not_ok "start"
grep -q "step=plan none (plan = false)" serve.log && ok "plan = false: not planned" ||
    not_ok "plan step: $(grep step=plan serve.log)"
infer "$req"
[ "$CODE" = 200 ] && [ "$(got)" = "$want" ] && ok "plan = false: same results" ||
    not_ok "plan = false inference: $CODE got [$(got)] want [$want]"
serve_stop

for bad in "Z=32|no input named 'Z'" "X=32x|want name=DIMxDIM" "X=1x32|input_shapes: 'X=1x32': "; do
    spec=${bad%%|*}
    why=${bad#*|}
    if start "input_shapes = $spec" >/dev/null 2>&1; then
        not_ok "input_shapes = $spec: started"
        serve_stop
    elif grep -q "veil-serve: configuration: .*$why" serve.log; then
        ok "input_shapes = $spec refused: $why"
    else
        not_ok "input_shapes = $spec: $(tail -n 1 serve.log)"
    fi
    SERVE_PID=
done
finish

#!/usr/bin/env bash
# veil-serve refuses to start, with one line naming the step, when: the policy pins another
# measurement; the sealed model was signed by another provider; the sealed model was changed;
# the broker has no policy for the key; the model id is not the expected one.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
trap 'serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
DATA="$ONNX_NODE/test_add"
kbs_setup "$WORK"
kbs_start "$WORK"
serve_seal "$DATA" add
cp model.veil good.veil
"$VEIL" kbs resource put --dir state models/add/key model.key >/dev/null
serve_conf serve.conf models/add/key add
serve_conf other.conf models/add/key add "workers = 3"
start() { expect_exit 1 "$1" -- timeout 120 "$SERVE" --config serve.conf; }
one_line() { [ "$(grep -c '^veil-serve: ' err.txt)" = 1 ] && ok "$1: one line" || { not_ok "$1: not one line"; cat err.txt; }; }

serve_policy models/add/key "$(serve_measurement other.conf)"
start "a policy pinning another measurement (another configuration)"
expect_stderr "^veil-serve: key broker refused: resource: key broker answered 403 PolicyDeny: denied: .*sim.measurement equals [0-9a-f]{96}: FAILS" "the step and the failed condition are named"
one_line "measurement"

serve_policy models/add/key "$(serve_measurement serve.conf)"
serve_start serve.conf && ok "with the right measurement it starts (the set-up is sound)" || not_ok "good start"
serve_stop

"$VEIL" keygen signer -o rogue.key >/dev/null
"$VEIL" seal --key model.key --sign rogue.key --name add --model-version 1 "$DATA/model.onnx" -o rogue.veil >/dev/null
cp rogue.veil model.veil
start "a model sealed by another provider key"
expect_stderr "^veil-serve: sealed model: $WORK/model.veil: sealed model was signed by a different key" "the signer step is named"
one_line "signer"

cp good.veil model.veil
size=$(stat -c %s model.veil)
printf '\x01' | dd of=model.veil bs=1 seek=$((size - 20)) conv=notrunc status=none
cmp -s model.veil good.veil && not_ok "tamper did not change the file" || true
start "a tampered sealed model (one byte of the last chunk)"
expect_stderr "^veil-serve: opening the sealed model: $WORK/model.veil: " "the open step is named"
one_line "tampered"

cp good.veil model.veil
head -c 100 good.veil > model.veil
start "a truncated sealed model"
expect_stderr "^veil-serve: (sealed model|opening the sealed model): " "the truncation is named"

cp good.veil model.veil
"$VEIL" seal --key model.key --sign provider.key --name add --model-version 2 "$DATA/model.onnx" -o v2.veil >/dev/null
cp v2.veil model.veil
start "another model id (same name and signer, another manifest)"
expect_stderr "^veil-serve: opening the sealed model: .*(identity|id)" "the identity check is named"

cp good.veil model.veil
"$VEIL" keygen model -o nopolicy.key >/dev/null
"$VEIL" kbs resource put --dir state models/nopolicy/key nopolicy.key >/dev/null
serve_conf np.conf models/nopolicy/key add
expect_exit 1 "a key without a policy (the broker refuses)" -- timeout 120 "$SERVE" --config np.conf
expect_stderr "^veil-serve: key broker refused: resource: key broker answered 403" "the broker's refusal is named"
one_line "no policy"

kbs_stop
start "no key broker at all"
expect_stderr "^veil-serve: key broker refused: " "an unreachable broker is named"

printf 'listen = 127.0.0.1:0\nbogus = 1\n' > bad.conf
expect_exit 2 "an unknown setting" -- "$SERVE" --config bad.conf
expect_stderr "^veil-serve: configuration: .*bad.conf: line 2" "the configuration line is named"
finish

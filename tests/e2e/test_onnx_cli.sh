#!/usr/bin/env bash
# veil onnx run / bench / check end to end on ONNX backend-test models (libonnx-testdata):
# outputs written by `run` must pass `check` against the reference, bench must report latency,
# and bad invocations and bad files must fail with the right exit status.
set -euo pipefail
veil=${VEIL_BIN:?VEIL_BIN not set}/veil
data=${VEIL_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}/node
[ -d "$data/test_add" ] || { echo "no ONNX test data at $data (install libonnx-testdata)" >&2; exit 1; }
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_status() { # expect_status CODE cmd...
    local want=$1; shift
    local got=0
    "$@" >"$work/out.txt" 2>"$work/err.txt" || got=$?
    [ "$got" -eq "$want" ] || { cat "$work/err.txt" >&2; fail "$* exited $got, expected $want"; }
}

# run: writes output_K.pb; a directory with those as expectations passes check
src=$data/test_add
"$veil" onnx run "$src/model.onnx" --input x="$src/test_data_set_0/input_0.pb" \
    --input y="$src/test_data_set_0/input_1.pb" -o "$work" >/dev/null
mkdir -p "$work/t/test_data_set_0"
cp "$src/model.onnx" "$work/t/"
cp "$src"/test_data_set_0/input_*.pb "$work/t/test_data_set_0/"
cp "$work/output_0.pb" "$work/t/test_data_set_0/output_0.pb"
"$veil" onnx check "$work/t" | grep -q '^1 passed, 0 failed' || fail "run output does not check"
cmp -s "$work/output_0.pb" "$src/test_data_set_0/output_0.pb" ||
    "$veil" onnx check "$src" >/dev/null || fail "reference check"

# a subgraph model (If) through run
src=$data/test_if
"$veil" onnx run "$src/model.onnx" --input cond="$src/test_data_set_0/input_0.pb" -o "$work" \
    >/dev/null

# a wrong result is a failure: swap in another test's expected output
mkdir -p "$work/bad/test_data_set_0"
cp "$data/test_add/model.onnx" "$work/bad/"
cp "$data/test_add/test_data_set_0"/input_*.pb "$work/bad/test_data_set_0/"
cp "$data/test_sub/test_data_set_0/output_0.pb" "$work/bad/test_data_set_0/output_0.pb"
expect_status 1 "$veil" onnx check "$work/bad"
grep -q 'FAIL' "$work/out.txt" || fail "check did not report the mismatch"

# bench: percentiles and throughput, and a static plan for static shapes
"$veil" onnx bench "$data/test_conv_with_strides_padding/model.onnx" --iterations 5 --threads 2 \
    >"$work/bench.txt"
grep -q '^latency_ms p50 ' "$work/bench.txt" || fail "bench prints no latency"
grep -q '^throughput ' "$work/bench.txt" || fail "bench prints no throughput"
grep -q '^plan: ' "$work/bench.txt" || fail "bench prints no plan"

# usage errors: exit 2
expect_status 2 "$veil" onnx
expect_status 2 "$veil" onnx frobnicate
expect_status 2 "$veil" onnx check
expect_status 2 "$veil" onnx run "$data/test_add/model.onnx" -o "$work"  # inputs missing
expect_status 2 "$veil" onnx run "$data/test_add/model.onnx" --input nosuch=x.pb -o "$work"
expect_status 2 "$veil" onnx run "$data/test_add/model.onnx" --input x -o "$work"
expect_status 2 "$veil" onnx bench "$data/test_add/model.onnx" --threads 100000
expect_status 2 "$veil" onnx bench "$data/test_add/model.onnx" --iterations 0

# --shape: fixes symbolic dims; bad syntax, an unknown input, another rank or a static dim that
# differs are usage errors with the model's declared shape in the message
add=$data/test_add/model.onnx
"$veil" onnx bench "$add" --shape x=3x4x5 --iterations 1 >"$work/bench.txt"
# one Add: nothing to plan, said without a planning run
grep -q '^plan: none (the graph has no intermediate values to plan' "$work/bench.txt" ||
    fail "bench --shape reaches the planner"
for bad in x=3x4x 'x=3xx5' x= x=3x-4x5 x=3x4xa x 'x=3x4x5x1x1x1x1x1x1'; do
    expect_status 2 "$veil" onnx bench "$add" --shape "$bad"
    grep -q -- '--shape wants name=DIMxDIM' "$work/err.txt" || fail "--shape $bad: $(cat "$work/err.txt")"
done
expect_status 2 "$veil" onnx bench "$add" --shape =3x4x5
expect_status 2 "$veil" onnx bench "$add" --shape nosuch=3x4x5
grep -q "no input named 'nosuch'" "$work/err.txt" || fail "--shape nosuch: $(cat "$work/err.txt")"
expect_status 2 "$veil" onnx bench "$add" --shape x=3x4x6
grep -q 'does not fit: the model declares 3x4x5' "$work/err.txt" ||
    fail "--shape static dim: $(cat "$work/err.txt")"
expect_status 2 "$veil" onnx bench "$add" --shape x=3x4
grep -q 'does not fit' "$work/err.txt" || fail "--shape rank: $(cat "$work/err.txt")"
# an input file of another shape than --shape
expect_status 2 "$veil" onnx run "$add" --shape x=3x4x5 \
    --input x="$data/test_add_bcast/test_data_set_0/input_1.pb" \
    --input y="$data/test_add/test_data_set_0/input_1.pb" -o "$work"

# bad files: exit 1 with a reason
head -c 100 /dev/urandom >"$work/junk.onnx"
expect_status 1 "$veil" onnx bench "$work/junk.onnx"
grep -q 'not a valid ONNX model' "$work/err.txt" || fail "junk model: $(cat "$work/err.txt")"
expect_status 1 "$veil" onnx run "$data/test_add/model.onnx" --input x="$work/junk.onnx" \
    --input y="$data/test_add/test_data_set_0/input_1.pb" -o "$work"
expect_status 1 "$veil" onnx bench "$work/missing.onnx"
echo "onnx cli: ok"

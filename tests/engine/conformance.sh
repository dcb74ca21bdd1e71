#!/usr/bin/env bash
# engine/conformance: runs every ONNX backend test in Debian's libonnx-testdata (node,
# pytorch-converted, pytorch-operator, simple) through `veil onnx check --skip-unsupported`.
# A test whose operators (or tensor types) the engine lacks is skipped; a test whose operators
# the engine claims and that fails, crashes or gives wrong numbers fails this test.
# Also prints the share of node tests passed, leaving out training, random and string ops.
set -euo pipefail
data=${VEIL_ONNX_TESTDATA:-/usr/share/libonnx-testdata/data}
veil=${VEIL_BIN:?VEIL_BIN not set}/veil
if [ ! -d "$data/node" ]; then
    echo "engine/conformance: no ONNX backend test data at $data" >&2
    echo "engine/conformance: install Debian package libonnx-testdata (tools/setup does)" >&2
    exit 1
fi
status=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for suite in node pytorch-converted pytorch-operator simple; do
    rc=0
    "$veil" onnx check --skip-unsupported "$data/$suite"/*/ >"$tmp/$suite.txt" 2>&1 || rc=$?
    grep -E '^FAIL' "$tmp/$suite.txt" || true
    if [ "$rc" -ne 0 ]; then
        status=1
        if ! tail -n 1 "$tmp/$suite.txt" | grep -q ' passed, '; then
            echo "engine/conformance: $suite: veil onnx check crashed (exit $rc)" >&2
            tail -n 20 "$tmp/$suite.txt" >&2
        fi
    fi
    echo "$suite: $(tail -n 1 "$tmp/$suite.txt")"
done
# every skip must be an expected one
unexpected=0
for suite in node pytorch-converted pytorch-operator simple; do
    while read -r line; do
        name="$suite/$(basename "$(echo "$line" | awk '{print $2}' | sed 's|/*:*$||')")"
        if ! grep -qxF "$name" "$(dirname "$0")/expected_skips.txt"; then
            echo "UNEXPECTED SKIP $name: $line"
            unexpected=1
        fi
    done < <(grep -E '^skip' "$tmp/$suite.txt" || true)
done
[ "$unexpected" -eq 0 ] || status=1
# the node suite again with static memory plans (veil_engine_plan) where input shapes are static
rc=0
"$veil" onnx check --plan --quiet --skip-unsupported "$data/node"/*/ >"$tmp/node-plan.txt" 2>&1 || rc=$?
grep -E '^FAIL' "$tmp/node-plan.txt" || true
echo "node with --plan: $(tail -n 1 "$tmp/node-plan.txt")"
[ "$rc" -eq 0 ] || status=1
# node tests that are not training, random or string operators
excluded='/test_(adagrad|adam|momentum|nesterov_momentum|training_dropout|gradient|bernoulli|random|strnorm|string|regex|cast_.*STRING|castlike_.*STRING|cast_STRING|castlike_STRING)'
counted=$(grep -vE "$excluded" "$tmp/node.txt" | grep -E '^(pass|FAIL|skip)' || true)
total=$(printf '%s\n' "$counted" | grep -c . || true)
passed=$(printf '%s\n' "$counted" | grep -c '^pass' || true)
echo "node tests excluding training, random and string ops: $passed of $total passed" \
     "($(( total > 0 ? passed * 100 / total : 0 ))%)"
echo "unsupported ops among skipped node tests:"
grep -E '^skip' "$tmp/node.txt" | sed -n 's/.*unsupported op \([A-Za-z0-9_]*\).*/\1/p' | sort | uniq -c |
    sort -rn | awk '{printf "  %s(%s)", $2, $1} END {print ""}'
exit $status

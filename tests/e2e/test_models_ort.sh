#!/usr/bin/env bash
# The engine on real models against ONNX Runtime 1.30.0 (docs/ENGINE.models.md): for every model
# in tests/data/models/models.txt, fetch it (tools/fetch-models, pinned SHA-256), make its
# deterministic inputs (model_tool), run `veil onnx run` and compare every output with the golden
# that tools/ort-ref/make-goldens wrote from ORT's output (tolerances in models.txt).
# Exit 77 (skipped) only when a model set is not cached and the npm registry is unreachable.
set -euo pipefail
veil=${VEIL_BIN:?VEIL_BIN not set}/veil
src=${VEIL_SOURCE_DIR:?VEIL_SOURCE_DIR not set}
tool=$VEIL_BIN/../tests/model_tool
table=$src/tests/data/models/models.txt
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failed=0

declare -A dirs
for set in $(grep -v '^#' "$table" | awk 'NF { print $2 }' | sort -u); do
    if ! dirs[$set]=$("$src/tools/fetch-models" "$set" </dev/null 2>"$work/fetch.txt"); then
        if ! timeout 30 npm ping </dev/null >/dev/null 2>&1; then
            echo "SKIP: the $set models are not cached and the npm registry is unreachable" >&2
            exit 77
        fi
        cat "$work/fetch.txt" >&2
        echo "FAIL: tools/fetch-models $set" >&2
        exit 1
    fi
done

while read -r id set file rtol atol argmax inputs <&3; do
    case "$id" in '#'* | '') continue ;; esac
    data=$src/tests/data/models/$id
    mkdir -p "$work/$id/out"
    args=()
    for spec in $inputs; do
        IFS=: read -r name kind dtype dims value <<<"$spec"
        "$tool" input "$work/$id/$name.pb" "$name" "$kind" "$dtype" "$dims" "${value:-1}"
        args+=(--input "$name=$work/$id/$name.pb")
    done
    # The goldens were made from exactly these inputs.
    if ! (cd "$work/$id" && sha256sum --quiet -c "$data/inputs.sha256"); then
        echo "not ok - $id: model_tool made other inputs than the goldens'" \
            "(tools/ort-ref/make-goldens)"
        failed=$((failed + 1))
        continue
    fi
    if ! "$veil" onnx run "${dirs[$set]}/$file" "${args[@]}" -o "$work/$id/out" \
        >/dev/null 2>"$work/err.txt"; then
        echo "not ok - $id: veil onnx run failed: $(cat "$work/err.txt")"
        failed=$((failed + 1))
        continue
    fi
    for golden in "$data"/output_*.txt; do
        k=$(basename "$golden" .txt)
        if line=$("$tool" check "$work/$id/out/$k.pb" "$golden"); then
            echo "ok - $id $line"
        else
            echo "not ok - $id $line"
            failed=$((failed + 1))
        fi
    done
done 3<"$table"
# The comparison itself refuses a wrong result: a golden with one value moved past the
# tolerance, and another model's golden.
sil=$src/tests/data/models/silero_vad_v5
if [ -f "$work/silero_vad_v5/out/output_1.pb" ]; then
    awk '/^samples/ { s = NR } s && NR == s + 7 { $2 = $2 + 0.01 } { print }' \
        "$sil/output_1.txt" >"$work/moved.txt"
    if "$tool" check "$work/silero_vad_v5/out/output_1.pb" "$work/moved.txt" >/dev/null 2>&1 ||
        "$tool" check "$work/silero_vad_v5/out/output_1.pb" "$sil/output_0.txt" >/dev/null 2>&1
    then
        echo "not ok - model_tool check accepts a wrong output"
        failed=$((failed + 1))
    else
        echo "ok - model_tool check refuses a wrong output"
    fi
fi
[ "$failed" -eq 0 ] || { echo "$failed model outputs differ from ONNX Runtime" >&2; exit 1; }

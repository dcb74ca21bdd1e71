#!/usr/bin/env bash
# run.sh replay TARGET CORPUS         replays every seed (a plain ctest test)
# run.sh fuzz TARGET CORPUS SECONDS   fuzzes for SECONDS from a scratch copy of the corpus
set -euo pipefail
mode=$1 target=$2 corpus=$3
[ -d "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 1; }
n=$(find "$corpus" -type f | wc -l)
[ "$n" -gt 0 ] || { echo "empty corpus at $corpus" >&2; exit 1; }
case "$mode" in
replay)
    if "$target" -help=1 >/dev/null 2>&1; then
        "$target" -runs=0 "$corpus"
    else
        "$target" "$corpus"
    fi
    echo "replayed $n seeds";;
fuzz)
    work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
    cp -r "$corpus"/. "$work"/
    cd "$work"
    "$target" -max_total_time="$4" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
        -artifact_prefix="$work/" "$work" 2>&1 | tail -n 20
    status=${PIPESTATUS[0]}
    found=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o \
        -name 'timeout-*' -o -name 'oom-*' \) -printf '%f ')
    if [ -n "$found" ]; then
        echo "fuzzer found a failing input: $found" >&2
        for f in $found; do echo "$f: $(head -c 512 "$work/$f" | od -An -tx1 | head -8)" >&2; done
        exit 1
    fi
    [ "$status" -eq 0 ] || echo "fuzzer exited with status $status and left no input" >&2
    exit "$status";;
*) echo "usage: run.sh replay|fuzz TARGET CORPUS [SECONDS]" >&2; exit 2;;
esac

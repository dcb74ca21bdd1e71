# Shared helpers for e2e tests: a scratch directory, assertions that print what failed.
set -euo pipefail
VEIL="${VEIL_BIN:?set VEIL_BIN to the bin directory of a build}/veil"
WORK=$(mktemp -d /tmp/veil-e2e-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# expect_exit CODE DESCRIPTION -- command...
expect_exit() {
    local want=$1 what=$2 got=0
    shift 3
    "$@" >"$WORK/out.txt" 2>"$WORK/err.txt" || got=$?
    if [ "$got" -eq "$want" ]; then ok "$what (exit $got)"; else
        not_ok "$what: exit $got, wanted $want"; sed 's/^/  | /' "$WORK/err.txt" | head -5; fi
}

# expect_stderr PATTERN DESCRIPTION: the last command's stderr matches
expect_stderr() {
    if grep -qE -- "$1" "$WORK/err.txt"; then ok "$2"; else
        not_ok "$2: stderr lacks /$1/"; sed 's/^/  | /' "$WORK/err.txt" | head -5; fi
}

expect_stdout() {
    if grep -qE -- "$1" "$WORK/out.txt"; then ok "$2"; else
        not_ok "$2: stdout lacks /$1/"; sed 's/^/  | /' "$WORK/out.txt" | head -5; fi
}

expect_absent() {
    if [ ! -e "$1" ] && ! ls "$1".*.tmp >/dev/null 2>&1; then ok "$2"; else not_ok "$2: $1 exists"; fi
}

finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# Helpers for the attested TLS e2e tests: sim platforms, policies, the test server.
RATLS_SERVER="${VEIL_BIN%/bin}/tests/ratls_server"
SERVER_PIDS=()
cleanup_servers() {
    for p in "${SERVER_PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup_servers EXIT

# policy FILE BYTE: tee sim, not debug, measurement = BYTE repeated 48 times
policy() {
    local m
    m=$(printf "$2%.0s" $(seq 48))
    cat >"$1" <<JSON
{"version": 1, "name": "e2e", "allOf": [
  {"claim": "tee", "equals": "sim"},
  {"claim": "sim.debug", "equals": false},
  {"claim": "sim.measurement", "equals": "$m"}]}
JSON
}

# start_server NAME ARGS...: runs ratls_server, waits for "ready on", sets ${NAME}_ADDR
start_server() {
    local name=$1 log="$WORK/$1.log" i
    shift
    "$RATLS_SERVER" "$@" >"$log" 2>&1 &
    SERVER_PIDS+=($!)
    for i in $(seq 100); do
        if grep -qs '^ready on ' "$log"; then
            printf -v "${name}_ADDR" '%s' "$(sed -n 's/^ready on //p' "$log")"
            return 0
        fi
        sleep 0.1
    done
    echo "server $name did not start:"; cat "$log"; return 1
}

# requests NAME: how many requests reached server NAME
requests() { grep -cs '^request ' "$WORK/$1.log" || true; }

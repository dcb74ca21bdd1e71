# Helpers for e2e tests that run a key broker: a state directory, a sim platform whose root the
# broker trusts, and start/stop of veil-kbs on a free loopback port.
KBS="${VEIL_BIN:?}/veil-kbs"

kbs_setup() { # kbs_setup DIR [extra config lines]
    local dir=$1
    shift
    "$VEIL" sim init --dir "$dir/sim" >/dev/null
    "$VEIL" kbs init --dir "$dir/state" --listen 127.0.0.1:0 >/dev/null
    cp "$dir/sim/root.pem" "$dir/state/collateral/"
    for line in "$@"; do echo "$line" >> "$dir/state/kbs.conf"; done
}

kbs_start() { # kbs_start DIR: sets KBS_PID and KBS_URL
    local dir=$1
    # A restart must not read the last run's "ready on": the background redirection truncates the
    # log only when the new process starts, possibly after the first grep below.
    rm -f "$dir/kbs.log"
    "$KBS" --config "$dir/state/kbs.conf" 2> "$dir/kbs.log" &
    KBS_PID=$!
    for _ in $(seq 100); do
        if grep -qs "ready on" "$dir/kbs.log"; then break; fi
        sleep 0.1
    done
    local port
    port=$(sed -n 's/.*ready on 127.0.0.1:\([0-9]*\).*/\1/p' "$dir/kbs.log")
    [ -n "$port" ] || { cat "$dir/kbs.log"; return 1; }
    KBS_URL="https://127.0.0.1:$port"
}

kbs_stop() {
    [ -n "${KBS_PID:-}" ] || return 0
    kill -TERM "$KBS_PID" 2>/dev/null || true
    wait "$KBS_PID" 2>/dev/null || true
    KBS_PID=
}

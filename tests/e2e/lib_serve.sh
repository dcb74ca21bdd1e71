# Helpers for e2e tests that run veil-serve against a key broker (source lib.sh and lib_kbs.sh
# first): a sealed ONNX model with its key at the broker, a configuration, the measurement a
# policy must pin, start/stop on a free loopback port.
SERVE="${VEIL_BIN:?}/veil-serve"
TOOL="${VEIL_BIN}/../tests/kserve_tool"
ONNX_NODE=/usr/share/libonnx-testdata/data/node

serve_seal() { # serve_seal ONNX_DIR NAME [SIGNER]: model.key, provider.key/.pub, model.veil; MODEL_ID
    local signer=${3:-provider.key}
    [ -e model.key ] || "$VEIL" keygen model -o model.key >/dev/null
    [ -e "$signer" ] || "$VEIL" keygen signer -o "$signer" >/dev/null
    MODEL_ID=$("$VEIL" seal --key model.key --sign "$signer" --name "$2" --model-version 1 \
        "$1/model.onnx" -o model.veil | sed -n 's/^model id: //p')
}

serve_conf() { # serve_conf FILE RESOURCE NAME [extra lines]
    local f=$1 resource=$2 name=$3
    shift 3
    cat > "$f" <<CONF
listen = 127.0.0.1:0
workers = 2
kbs_url = $KBS_URL
kbs_cacert = $WORK/state/tls.pem
resource = $resource
sealed_model = $WORK/model.veil
model_name = $name
model_id = $MODEL_ID
signer_pub = $WORK/provider.pub
tee = sim
sim_dir = $WORK/sim
CONF
    for line in "$@"; do echo "$line" >> "$f"; done
}

serve_measurement() { # serve_measurement CONF: the sim.measurement veil-serve will report
    "$VEIL" sim attest --dir sim --report-data 00 --measure "$SERVE" --measure "$1" -o m.ev >/dev/null &&
        "$VEIL" evidence verify --tee sim --evidence m.ev --collateral sim/root.pem |
        awk '/sim.measurement/ {print $2}'
}

serve_policy() { # serve_policy RESOURCE MEASUREMENT: a sim policy pinning the measurement
    cat > policy.json <<JSON
{"version": 1, "name": "serve-test", "allOf": [
  {"claim": "tee", "equals": "sim"},
  {"claim": "sim.measurement", "equals": "$2"},
  {"claim": "sim.debug", "equals": false}]}
JSON
    "$VEIL" kbs policy set --dir state "$1" policy.json >/dev/null
}

serve_start() { # serve_start CONF [wrapper...]: SERVE_PID, SERVE_PORT; fails if it exits
    local conf=$1
    shift
    # stderr goes through a pipe (not a regular file), read by a cat that is our child, not the
    # wrapper's (strace waits for all its children).
    rm -f serve.fifo serve.log
    mkfifo serve.fifo
    cat serve.fifo > serve.log &
    "$@" "$SERVE" --config "$conf" 2> serve.fifo &
    SERVE_PID=$!
    for _ in $(seq 300); do
        if grep -q "ready on" serve.log 2>/dev/null || ! kill -0 "$SERVE_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    SERVE_CHILD=
    [ $# -eq 0 ] || SERVE_CHILD=$(pgrep -P "$SERVE_PID" -x veil-serve | head -1) # under a wrapper (strace)
    SERVE_PORT=$(sed -n 's/.*veil-serve: ready on 127.0.0.1:\([0-9]*\).*/\1/p' serve.log)
    [ -n "$SERVE_PORT" ] || { sed 's/^/  | /' serve.log; return 1; }
}

serve_stop() { # serve_stop: SIGTERM (to veil-serve, not its wrapper), wait; SERVE_RC is its status
    SERVE_RC=0
    [ -n "${SERVE_PID:-}" ] || return 0
    kill -TERM "${SERVE_CHILD:-$SERVE_PID}" 2>/dev/null || true
    wait "$SERVE_PID" 2>/dev/null || SERVE_RC=$?
    SERVE_PID=
}

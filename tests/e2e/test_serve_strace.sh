#!/usr/bin/env bash
# Security property 1 for veil-serve: the model's plaintext never touches a file. veil-serve runs
# under strace from start-up (key release, opening the sealed model, engine load) through an
# inference to its stop; the trace must show no file opened for writing or created, no write to
# a file descriptor that is a regular file, and no write of any kind carrying the plaintext's
# bytes (the producer string "backend-test" that is in model.onnx and not in model.veil). strace
# -x prints ASCII as is, so the string would show; LeakSanitizer cannot run under ptrace.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
trap 'serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
command -v strace >/dev/null || { echo "strace is missing (tools/setup installs it)"; exit 1; }
DATA="$ONNX_NODE/test_add"
kbs_setup "$WORK"
kbs_start "$WORK"
serve_seal "$DATA" add
"$VEIL" kbs resource put --dir state models/add/key model.key >/dev/null
serve_conf serve.conf models/add/key add "insecure_http = true"
serve_policy models/add/key "$(serve_measurement serve.conf)"
pattern=backend-test
grep -qa "$pattern" "$DATA/model.onnx" && ok "the pattern is in the plaintext" || not_ok "pattern not in model.onnx"
grep -qa "$pattern" model.veil && not_ok "the pattern is in the sealed file" || ok "the pattern is not in the sealed file"

serve_start serve.conf env ASAN_OPTIONS=detect_leaks=0 strace -f -y -x -s 65536 -o trace.txt -e trace=openat,open,creat,write,pwrite64,writev \
    && ok "veil-serve starts under strace" || not_ok "start under strace"
"$TOOL" request "$DATA"/test_data_set_0/input_*.pb > req.json
curl -sS -o body.out --data-binary @req.json "http://127.0.0.1:$SERVE_PORT/v2/models/add/infer" &&
    "$TOOL" check body.out - "$DATA"/test_data_set_0/output_0.pb && ok "an inference under strace" || not_ok "inference"
serve_stop
[ "$SERVE_RC" = 0 ] && ok "stopped cleanly" || not_ok "exit $SERVE_RC"

grep -q 'openat(.*model.veil' trace.txt && ok "the trace covers opening the sealed model" || not_ok "model.veil not in the trace"
grep -qE '^[0-9]+ +write\(' trace.txt && ok "the trace has writes" || not_ok "no writes traced"
wopen=$(grep -E '^[0-9]+ +(open|openat)\(.*O_(WRONLY|RDWR|CREAT|TRUNC)' trace.txt | grep -v ' = -1 ' || true)
[ -z "$wopen" ] && ok "no file opened for writing" || { not_ok "files opened for writing"; echo "$wopen" | head -5; }
grep -qE '^[0-9]+ +creat\(' trace.txt && not_ok "creat() called" || ok "no creat()"
# With -y every fd is shown with what it is: sockets, pipes, /dev/ and the log FIFO (stderr) are
# fine, a path to anything else is not.
freg=$(grep -E '^[0-9]+ +(write|pwrite64|writev)\([0-9]+</' trace.txt | grep -vE '\([0-9]+<(socket|pipe|anon_inode|/dev/|[^>]*/serve\.fifo>)' || true)
[ -z "$freg" ] && ok "no write to a regular file" || { not_ok "writes to regular files"; echo "$freg" | cut -c1-200 | head -5; }
if grep -qa -- "$pattern" trace.txt; then not_ok "model plaintext bytes were written"; else
    ok "no write carries the model's plaintext"; fi
finish

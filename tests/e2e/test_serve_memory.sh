#!/usr/bin/env bash
# veil-serve refuses, in one line and before asking the broker for the key, a model whose
# plaintext is bigger than the memory it can still get: here a memory cgroup limited to 64 MiB and
# a 160 MiB model. Without the check, locking and faulting the plaintext in would end in the
# kernel's OOM killer half-way through, with no word of why. Needs a writable memory cgroup
# (cgroup v2 with the memory controller, or v1's memory hierarchy): skipped (77) without one.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
CG=
cleanup() {
    serve_stop
    kbs_stop
    [ -z "$CG" ] || rmdir "$CG" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# A child memory cgroup of our own with a 64 MiB limit, in CG; its limit file in CG_LIMIT.
if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
    own=$(sed -n 's/^0:://p' /proc/self/cgroup)
    parent=/sys/fs/cgroup${own%/}
    grep -qw memory "$parent/cgroup.subtree_control" 2>/dev/null ||
        echo +memory > "$parent/cgroup.subtree_control" 2>/dev/null || true
    CG_LIMIT=memory.max
else
    own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' /proc/self/cgroup)
    parent=/sys/fs/cgroup/memory${own%/}
    CG_LIMIT=memory.limit_in_bytes
fi
if ! mkdir "$parent/veil-test-$$" 2>/dev/null; then
    echo "skipped: cannot create a memory cgroup under $parent"
    exit 77
fi
CG=$parent/veil-test-$$
if ! echo $((64 << 20)) > "$CG/$CG_LIMIT" 2>/dev/null || [ ! -e "$CG/cgroup.procs" ]; then
    echo "skipped: cannot set a memory limit in $CG"
    exit 77
fi

kbs_setup "$WORK"
kbs_start "$WORK"
mkdir big
head -c $((160 << 20)) /dev/zero > big/model.onnx
serve_seal big big
rm -rf big
"$VEIL" kbs resource put --dir state models/big/key model.key >/dev/null
serve_conf serve.conf models/big/key big
serve_policy models/big/key "$(serve_measurement serve.conf)"

# shellcheck disable=SC2016 # $$ is the inner shell's
expect_exit 1 "a 160 MiB model in a 64 MiB memory cgroup" -- timeout 120 sh -c \
    'echo $$ > "$1/cgroup.procs" && exec "$2" --config serve.conf' sh "$CG" "$SERVE"
expect_stderr "^veil-serve: locked memory: the model's plaintext needs 160\.0 MiB, only [0-9.]+ MiB is available" \
    "the step, the model's size and the memory available are named"
sed "s/^/  | /" err.txt
[ "$(grep -c '^veil-serve: ' err.txt)" = 1 ] && ok "one line" || { not_ok "not one line"; cat err.txt; }
grep -q "step=fetch" err.txt && not_ok "the key broker was asked before the check" ||
    ok "refused before the key broker was asked"
finish

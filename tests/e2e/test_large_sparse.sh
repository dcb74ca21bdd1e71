#!/usr/bin/env bash
# A multi-GiB model seals and opens byte-identically in constant memory (sparse input file).
source "$(dirname "$0")/lib.sh"
size=$((3 * 1024 * 1024 * 1024 + 12345))
free_kb=$(df -Pk "$WORK" | awk 'NR==2 {print $4}')
if [ "$free_kb" -lt $((8 * 1024 * 1024)) ]; then
    echo "not enough disk for the 3 GiB round trip (need 8 GiB free)"; exit 1
fi
truncate -s "$size" big.bin
for off in 0 1048575 1048576 2147483647 $((size - 1)); do
    printf 'veil' | dd of=big.bin bs=1 seek="$off" conv=notrunc status=none 2>/dev/null || true
done
truncate -s "$size" big.bin
"$VEIL" keygen model -o k >/dev/null && "$VEIL" keygen signer -o s.key >/dev/null
expect_exit 0 "seal a 3 GiB sparse file" -- "$VEIL" seal --key k --sign s.key --name big --model-version 1 big.bin -o big.veil
expect_exit 0 "open it" -- "$VEIL" open --key k --signer s.pub big.veil -o big.out
cmp -s big.bin big.out && ok "3 GiB round trip is byte-identical" || not_ok "3 GiB round trip differs"
finish

#!/usr/bin/env bash
# veil sim init / attest from the command line.
source "$(dirname "$0")/lib.sh"
expect_exit 0 "veil sim --help" -- "$VEIL" sim --help
expect_exit 2 "veil sim without a verb" -- "$VEIL" sim
expect_exit 2 "veil sim init without --dir" -- "$VEIL" sim init
expect_exit 2 "bad --tcb" -- "$VEIL" sim init --dir p --tcb 1,2,3
expect_exit 0 "sim init" -- "$VEIL" sim init --dir p --tcb 3,0,8,115
[ "$(stat -c %a p)" = 700 ] && [ -s p/root.pem ] && [ "$(stat -c %a p/chip.key)" = 600 ] && ok "platform files and modes" || not_ok "platform files"
expect_exit 1 "sim init refuses an existing platform" -- "$VEIL" sim init --dir p
printf 'config' > app.conf
expect_exit 0 "sim attest" -- "$VEIL" sim attest --dir p --report-data 00ff --measure "$VEIL" --measure app.conf --host-data abcd -o ev.bin
[ "$(stat -c %s ev.bin)" -gt 372 ] && ok "evidence written" || not_ok "evidence size"
expect_exit 2 "sim attest bad report data" -- "$VEIL" sim attest --dir p --report-data zz -o ev2.bin
expect_exit 2 "sim attest report data too long" -- "$VEIL" sim attest --dir p --report-data "$(printf 'a%.0s' $(seq 130))" -o ev2.bin
expect_exit 1 "sim attest on a missing platform" -- "$VEIL" sim attest --dir nope --report-data 00 -o ev2.bin
# The evidence goes through veil evidence verify like hardware evidence does.
expect_exit 0 "sim evidence verifies with its root" -- "$VEIL" evidence verify --tee sim --evidence ev.bin --collateral p/root.pem --report-data 00ff
expect_stdout "sim.host_data +abcd0000" "host data claim"
expect_exit 1 "without the sim root it does not" -- "$VEIL" evidence verify --tee sim --evidence ev.bin
expect_stdout "FAIL sim.root" "the missing root is named"
expect_exit 1 "another report data is refused" -- "$VEIL" evidence verify --tee sim --evidence ev.bin --collateral p/root.pem --report-data 0100
expect_stdout "FAIL sim.report_data" "the report data check is named"
"$VEIL" sim init --dir q >/dev/null
expect_exit 1 "another platform's root is refused" -- "$VEIL" evidence verify --tee sim --evidence ev.bin --collateral q/root.pem
expect_stdout "FAIL sim.chain " "the chain check is named"
finish

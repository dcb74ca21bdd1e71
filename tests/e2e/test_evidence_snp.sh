#!/usr/bin/env bash
# veil evidence verify on the SEV-SNP vectors: exit codes, text and JSON output (grep only).
set -euo pipefail
veil=${VEIL_BIN:?}/veil
v=${VEIL_SHARED_DIR:?}/vectors/sev-snp
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fails=0

# expect CODE NAME -- ARGS...: runs veil evidence verify ARGS, checks the exit status.
expect() {
    local want=$1 name=$2; shift 3
    local got=0
    "$veil" evidence verify "$@" >"$work/out" 2>"$work/err" || got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL $name: exit $got, expected $want" >&2
        cat "$work/out" "$work/err" >&2
        fails=$((fails + 1))
    else
        echo "ok   $name (exit $got)"
    fi
}
# has PATTERN NAME: the last output contains PATTERN (fixed string).
has() {
    if ! grep -qF -- "$1" "$work/out"; then
        echo "FAIL $2: output lacks '$1'" >&2
        cat "$work/out" >&2
        fails=$((fails + 1))
    fi
}

now=2026-11-26T00:00:00Z
expect 0 gosevguest -- --tee snp --evidence "$v/gosevguest-milan-vcek/attestation.bin" \
    --collateral "$v/gosevguest-milan-vcek/vcek.der" \
    --collateral "$v/gosevguest-milan-vcek/ask_ark_milan.pem" --at "$now"
has "result: verified" gosevguest
has "snp.measurement                b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01" gosevguest
has "PASS snp.signature" gosevguest

# hex evidence, a collateral directory (non-collateral files in it are skipped), JSON output
expect 0 virtee-hex-json -- --tee snp --evidence "$v/virtee-milan-vcek/report_milan.hex" \
    --collateral "$v/virtee-milan-vcek" --at "$now" --json
has '"verified": true' virtee-hex-json
has '"snp.measurement": "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f"' virtee-hex-json
has '"snp.tcb.reported.microcode": 115' virtee-hex-json

# base64 evidence; byte 21 flipped (virtee milan_report_invalid) -> exit 1, signature named
base64 -w 76 "$v/csc-aci-milan/snp_report.bin" >"$work/aci.b64"
expect 0 aci-base64 -- --tee snp --evidence "$work/aci.b64" \
    --collateral "$v/csc-aci-milan/uvm_host_amd_certificate.pem" --at "$now" \
    --report-data ee986ff2bd7e3f22
has "PASS snp.report_data" aci-base64
has "snp.host_data                  cadd74f71ebb8fbf9782baab649612520f3c416bc5ce9ac768808ddc8d9b031c" aci-base64
expect 0 aci-thim-json -- --tee snp --evidence "$v/csc-aci-milan/snp_report.bin" \
    --collateral "$v/csc-aci-milan/uvm_host_amd_certificate.json" --at "$now"
expect 1 aci-wrong-report-data -- --tee snp --evidence "$work/aci.b64" \
    --collateral "$v/csc-aci-milan/uvm_host_amd_certificate.pem" --at "$now" --report-data 00
has "FAIL snp.report_data" aci-wrong-report-data

cp "$v/virtee-milan-vcek/derived_report_milan.bin" "$work/flipped.bin"
printf '\x80' | dd of="$work/flipped.bin" bs=1 seek=21 conv=notrunc status=none # 0x00 ^ 0x80
cmp -s "$work/flipped.bin" "$v/virtee-milan-vcek/derived_report_milan.bin" && { echo "FAIL flip" >&2; exit 1; }
expect 1 virtee-byte21 -- --tee snp --evidence "$work/flipped.bin" \
    --collateral "$v/virtee-milan-vcek/vcek_milan.der" \
    --collateral "$v/virtee-milan-vcek/cert_chain_milan.pem" --at "$now" --json
has '"first_failure": "snp.signature"' virtee-byte21
has '"verified": false' virtee-byte21

# VLEK: valid in 2025, expired now
vlek=(--tee snp --evidence "$v/trustee-milan-vlek/test-vlek-report.bin"
      --collateral "$v/trustee-milan-vlek/test-vlek.der"
      --collateral "$v/amd-root-certs/ask_ark_milan_vlek.pem")
expect 0 vlek-2025 -- "${vlek[@]}" --at 2025-06-01T00:00:00Z
has "snp.signing_key                vlek" vlek-2025
expect 1 vlek-now -- "${vlek[@]}" --at "$now"
has "FAIL snp.chain.validity" vlek-now
has "result: NOT verified (first failure: snp.chain.validity)" vlek-now

# trustee VCEK; synthetic VCEK fails the chain; no collateral names the KDS URL
expect 0 trustee -- --tee snp --evidence "$v/trustee-milan-vcek/test-report.bin" \
    --collateral "$v/trustee-milan-vcek/test-vcek.der" \
    --collateral "$v/amd-root-certs/ask_ark_milan.pem" --at "$now"
expect 1 trustee-synthetic -- --tee snp --evidence "$v/trustee-milan-vcek/test-report.bin" \
    --collateral "$v/trustee-milan-vcek/test-vcek-invalid-new.der" \
    --collateral "$v/amd-root-certs/ask_ark_milan.pem" --at "$now"
has "FAIL snp.chain.vcek" trustee-synthetic
expect 1 no-collateral -- --tee snp --evidence "$v/gosevguest-milan-vcek/attestation.bin"
has "https://kdsintf.amd.com/vcek/v1/Milan/3ac3fe21e13fb099" no-collateral
# wrong product chain
expect 1 genoa-chain -- --tee snp --evidence "$v/gosevguest-milan-vcek/attestation.bin" \
    --collateral "$v/gosevguest-milan-vcek/vcek.der" \
    --collateral "$v/amd-root-certs/ask_ark_genoa.pem" --at "$now"
has "FAIL snp.chain.vcek" genoa-chain

# a v1 report and a truncated file: not verifiable -> 1
expect 1 v1-report -- --tee snp --evidence "$v/csc-aci-milan/derived_report_v1_from_go_test.bin"
has "FAIL snp.parse" v1-report
head -c 1000 "$v/gosevguest-milan-vcek/attestation.bin" >"$work/short.bin"
expect 1 truncated -- --tee snp --evidence "$work/short.bin"

# usage errors -> 2; junk TDX evidence -> 1; --help -> 0
expect 2 no-args -- --tee snp
expect 2 bad-tee -- --tee xyz --evidence "$work/short.bin"
expect 2 bad-time -- --tee snp --evidence "$work/short.bin" --at yesterday
expect 2 bad-report-data -- --tee snp --evidence "$work/short.bin" --report-data xyz
expect 2 unknown-option -- --tee snp --evidence "$work/short.bin" --frobnicate 1
expect 1 tdx-junk -- --tee tdx --evidence "$work/short.bin"
expect 0 help -- --help
has "--report-data HEX" help
got=0; "$veil" evidence >/dev/null 2>&1 || got=$?
[ "$got" = 2 ] || { echo "FAIL 'veil evidence' without a subcommand: exit $got" >&2; fails=$((fails + 1)); }
"$veil" --help | grep -q "evidence" || { echo "FAIL evidence missing from veil --help" >&2; fails=$((fails + 1)); }

[ "$fails" = 0 ] || { echo "$fails failure(s)" >&2; exit 1; }
echo "all SNP CLI checks passed"

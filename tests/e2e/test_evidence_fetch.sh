#!/usr/bin/env bash
# Online collateral: veil evidence verify --fetch against a local stand-in for AMD KDS and Intel
# PCS serving the vector files; the cache; back-off on 503; a clear failure when nothing answers.
source "$(dirname "$0")/lib.sh"
S=${VEIL_SHARED_DIR:?}/vectors
SERVER="${VEIL_BIN}/../tests/collateral_server"
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$WORK"' EXIT

start_server() { # start_server DIR [FAIL]
    "$SERVER" "$@" > server.log 2>&1 &
    server_pid=$!
    for _ in $(seq 50); do grep -q "ready on" server.log && break; sleep 0.1; done
    url="http://$(sed -n 's/ready on //p' server.log)"
}
stop_server() { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true; server_pid=; }

# AMD KDS mirror: the VCEK for this chip (the URL names the chip and TCB) and the Milan chain.
snp=$S/sev-snp/gosevguest-milan-vcek
hwid=$("$VEIL" evidence verify --tee snp --evidence "$snp/attestation.bin" --collateral "$snp" | awk '$1 == "snp.chip_id" {print $2}')
mkdir -p kds/vcek/v1/Milan
cp "$snp/vcek.der" "kds/vcek/v1/Milan/$hwid"
cp "$S/sev-snp/amd-root-certs/ask_ark_milan.pem" kds/vcek/v1/Milan/cert_chain
start_server kds
expect_exit 0 "SNP verifies with collateral fetched from KDS" -- "$VEIL" evidence verify --tee snp --evidence "$snp/attestation.bin" --fetch --kds-url "$url" --cache cache
grep -q "GET /vcek/v1/Milan/$hwid -> 200" server.log && ok "the VCEK was asked for by chip id" || not_ok "VCEK request"
grep -q "GET /vcek/v1/Milan/cert_chain -> 200" server.log && ok "the ASK/ARK chain was fetched" || not_ok "chain request"
stop_server
expect_exit 0 "the second verification is served from the cache (server down)" -- "$VEIL" evidence verify --tee snp --evidence "$snp/attestation.bin" --fetch --kds-url "$url" --cache cache
expect_exit 1 "no server and no cache: a clear failure" -- "$VEIL" evidence verify --tee snp --evidence "$snp/attestation.bin" --fetch --kds-url "$url"
expect_stderr "online collateral: cannot fetch $url/vcek/v1/Milan/" "the failing URL is named"
start_server kds 2
expect_exit 0 "two 503 answers, then success: back-off" -- "$VEIL" evidence verify --tee snp --evidence "$snp/attestation.bin" --fetch --kds-url "$url"
[ "$(grep -c -- '-> 503' server.log)" = 2 ] && ok "the client retried after each 503" || not_ok "retries"
stop_server

# Intel PCS mirror, with PCS-shaped documents built from the dcap-qvl bundle of the TDX vector.
tdx=$S/tdx/dcapqvl-tdx
mkdir -p pcs/tdx/certification/v4/qe pcs/sgx/certification/v4
python3 - "$tdx/tdx_quote_collateral.json" <<'PY'
import json, sys, urllib.parse
b = json.load(open(sys.argv[1]))
def put(path, body, header=None, chain=None):
    open(path, "wb").write(body if isinstance(body, bytes) else body.encode())
    if header:
        open(path + ".headers", "w").write(f"{header}: {urllib.parse.quote(chain)}\n")
put("pcs/tdx/certification/v4/tcb", '{"tcbInfo":' + b["tcb_info"] + ',"signature":"' + b["tcb_info_signature"] + '"}',
    "TCB-Info-Issuer-Chain", b["tcb_info_issuer_chain"])
put("pcs/tdx/certification/v4/qe/identity", '{"enclaveIdentity":' + b["qe_identity"] + ',"signature":"' + b["qe_identity_signature"] + '"}',
    "SGX-Enclave-Identity-Issuer-Chain", b["qe_identity_issuer_chain"])
put("pcs/sgx/certification/v4/pckcrl", bytes.fromhex(b["pck_crl"]), "SGX-PCK-CRL-Issuer-Chain", b["pck_crl_issuer_chain"])
put("pcs/IntelSGXRootCA.der", bytes.fromhex(b["root_ca_crl"]))
PY
start_server pcs
expect_exit 0 "TDX verifies with TCB info, QE identity and CRLs fetched from PCS" -- "$VEIL" evidence verify --tee tdx --evidence "$tdx/tdx_quote.bin" --fetch --pcs-url "$url" --intel-certs-url "$url" --at 2025-07-19T10:00:34Z
expect_stdout "PASS dcap.crl.pck" "the fetched PCK CRL was checked"
expect_stdout "tcb_status +UpToDate" "the fetched TCB info gave the status"
grep -q "GET /tdx/certification/v4/tcb -> 200" server.log && ok "TCB info asked for" || not_ok "TCB info request"
stop_server
finish

#!/usr/bin/env bash
# Broker-issued certificates (docs/PROTOCOL.kbs-certs.md): veil-serve with kbs_cert = true asks
# the key broker, in its attested session, for a certificate from the broker's CA for its TLS
# key. Plain curl then trusts the server through kbs-ca.pem alone, and fails without it; veil
# infer still verifies the evidence the certificate keeps. A policy that does not allow the
# requested names stops veil-serve at start-up, and the audit log has the issuance.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
trap 'serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
DATA="$ONNX_NODE/test_add"
kbs_setup "$WORK"
kbs_start "$WORK"
[ -s state/kbs-ca.pem ] && [ "$(stat -c %a state/kbs-ca.key)" = 600 ] &&
    ok "veil kbs init made the CA (kbs-ca.pem, kbs-ca.key 0600)" || not_ok "CA files"
serve_seal "$DATA" add
"$VEIL" kbs resource put --dir state models/add/key model.key >/dev/null
serve_conf serve.conf models/add/key add "kbs_cert = true" "kbs_cert_name = add" \
    "tls_cert_out = $WORK/chain.pem"
meas=$(serve_measurement serve.conf)
serve_policy models/add/key "$meas"
cat > cert-deny.json <<JSON
{"version": 1, "allOf": [{"claim": "tee", "equals": "sim"},
  {"claim": "sim.measurement", "equals": "$meas"},
  {"claim": "cert.san", "in": ["DNS:add.example"]}]}
JSON
"$VEIL" kbs policy set --dir state veil/cert/add cert-deny.json >/dev/null
expect_exit 1 "veil-serve stops when the cert policy does not allow its names" -- \
    "$SERVE" --config serve.conf
expect_stderr "key broker refused: cert: key broker answered 403 PolicyDeny: denied: .*cert.san in" \
    "it names the failed condition"

cat > cert.json <<JSON
{"version": 1, "allOf": [{"claim": "tee", "equals": "sim"},
  {"claim": "sim.measurement", "equals": "$meas"},
  {"claim": "cert.san", "in": ["DNS:localhost", "IP:127.0.0.1", "IP:::1"]},
  {"claim": "cert.validity_s", "lessOrEquals": 86400}]}
JSON
"$VEIL" kbs policy set --dir state veil/cert/add cert.json >/dev/null
serve_start serve.conf && ok "veil-serve started with a broker-issued certificate" || not_ok "start"
grep -q "issued by the key broker's CA" serve.log && ok "it says so" || not_ok "log line"
URL="https://127.0.0.1:$SERVE_PORT"

code=$(curl -sS --cacert state/kbs-ca.pem -o ready.out -w '%{http_code}' "$URL/v2/health/ready" 2>curl.err || true)
[ "$code" = 200 ] && ok "curl --cacert kbs-ca.pem: /v2/health/ready answers 200" ||
    { not_ok "curl with the CA ($code)"; sed 's/^/  | /' curl.err; }
expect_exit 60 "curl without the broker's CA refuses the server (exit 60)" -- \
    curl -sS -o /dev/null "$URL/v2/health/ready"
expect_exit 60 "curl with the broker's TLS certificate instead of its CA refuses too" -- \
    curl -sS --cacert state/tls.pem -o /dev/null "$URL/v2/health/ready"

openssl x509 -in chain.pem -noout -text > leaf.txt
grep -q "Issuer: CN = veil-kbs CA" leaf.txt && ok "the leaf is issued by the broker's CA" || not_ok "issuer"
grep -q "2.23.133.5.4.9" leaf.txt && ok "the leaf keeps the RA-TLS evidence extension" || not_ok "evidence extension"
nb=$(date -d "$(openssl x509 -in chain.pem -noout -startdate | cut -d= -f2)" +%s)
na=$(date -d "$(openssl x509 -in chain.pem -noout -enddate | cut -d= -f2)" +%s)
[ $((na - nb)) -eq $((86400 + 60)) ] && ok "valid for the broker's default (24 h, from 60 s ago)" ||
    not_ok "validity $((na - nb))"
openssl verify -CAfile state/kbs-ca.pem -purpose sslserver chain.pem >/dev/null 2>&1 &&
    ok "openssl verify: the leaf chains to kbs-ca.pem for TLS servers" || not_ok "openssl verify"

"$TOOL" request "$DATA"/test_data_set_0/input_*.pb > req.json
python3 -c 'import json; r = json.load(open("req.json"))["inputs"]; [json.dump(t, open(t["name"] + ".json", "w")) for t in r]'
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"sim.measurement","equals":"%s"}]}' "$meas" > client.json
expect_exit 0 "veil infer still verifies the evidence in the broker-issued certificate" -- \
    "$VEIL" infer --server "$URL" --policy client.json --collateral sim/root.pem --model add --input x.json --input y.json
code=$(curl -sS --cacert state/kbs-ca.pem -o infer.out -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @req.json "$URL/v2/models/add/infer" || true)
[ "$code" = 200 ] && "$TOOL" check infer.out - "$DATA"/test_data_set_0/output_0.pb &&
    ok "plain curl inference over the broker-issued certificate" || not_ok "curl inference ($code)"

"$VEIL" kbs audit show --dir state > audit.txt
grep -A1 -E "release +allow .*resource=veil/cert/add policy=veil/cert/add@2" audit.txt | grep -q "issued serial" &&
    ok "the audit log records the issuance" || { not_ok "audit issuance"; tail -3 audit.txt | sed 's/^/  | /'; }
grep -A1 -E "refuse +deny .*resource=veil/cert/add policy=veil/cert/add@1" audit.txt | grep -q "cert.san in" &&
    ok "and the refusal, with the failed condition" || not_ok "audit refusal"
expect_exit 0 "the audit chain verifies" -- "$VEIL" kbs audit verify --dir state

# A state directory made without a CA: the endpoint is off; veil kbs ca init adds one, once.
"$VEIL" kbs init --dir old --listen 127.0.0.1:0 >/dev/null
rm old/kbs-ca.pem old/kbs-ca.key
expect_exit 0 "veil-kbs runs without a CA" -- "$KBS" --check --config old/kbs.conf
expect_stderr "/kbs/v0/cert is off" "and says the endpoint is off"
expect_exit 0 "veil kbs ca init adds the CA" -- "$VEIL" kbs ca init --dir old
[ "$(stat -c %a old/kbs-ca.key)" = 600 ] && ok "its key is 0600" || not_ok "CA key mode"
expect_exit 1 "veil kbs ca init never replaces a CA" -- "$VEIL" kbs ca init --dir old
expect_stderr "refusing to replace it" "it says why"
rm old/kbs-ca.key
expect_exit 1 "veil-kbs refuses a CA certificate without its key" -- "$KBS" --check --config old/kbs.conf
finish

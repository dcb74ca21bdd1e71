#!/usr/bin/env bash
# A broker-issued certificate is renewed while veil-serve runs (docs/PROTOCOL.kbs-certs.md): with
# the broker's shortest lifetime (cert_ttl_s = 60) veil-serve attests again and gets a new
# certificate for the same key at two thirds of it (40 s); new handshakes present the new one,
# and curl --cacert kbs-ca.pem keeps working. Waits about 45 s.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
trap 'serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
DATA="$ONNX_NODE/test_add"
kbs_setup "$WORK" "cert_ttl_s = 60"
kbs_start "$WORK"
serve_seal "$DATA" add
"$VEIL" kbs resource put --dir state models/add/key model.key >/dev/null
serve_conf serve.conf models/add/key add "kbs_cert = true" "kbs_cert_name = add" \
    "tls_cert_out = $WORK/chain.pem"
meas=$(serve_measurement serve.conf)
serve_policy models/add/key "$meas"
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"sim.measurement","equals":"%s"},{"claim":"cert.san","in":["DNS:localhost","IP:127.0.0.1","IP:::1"]}]}' "$meas" > cert.json
"$VEIL" kbs policy set --dir state veil/cert/add cert.json >/dev/null
serve_start serve.conf && ok "veil-serve started with a 60 s certificate" || not_ok "start"
presented() { # the serial of the certificate a new handshake presents
    openssl s_client -connect "127.0.0.1:$SERVE_PORT" -CAfile state/kbs-ca.pem -verify_return_error \
        < /dev/null 2>/dev/null | openssl x509 -noout -serial
}
first=$(presented)
[ -n "$first" ] && [ "$first" = "$(openssl x509 -in chain.pem -noout -serial)" ] &&
    ok "the handshake presents the issued certificate ($first)" || not_ok "first serial '$first'"
for _ in $(seq 900); do grep -q "step=kbs-cert-renewed" serve.log && break; sleep 0.1; done
grep -q "step=kbs-cert-renewed" serve.log && ok "veil-serve renewed its certificate" ||
    { not_ok "no renewal"; tail -5 serve.log | sed 's/^/  | /'; }
second=$(presented)
[ -n "$second" ] && [ "$second" != "$first" ] && ok "new handshakes present the new certificate ($second)" ||
    not_ok "serial after renewal '$second'"
[ "$second" = "$(openssl x509 -in chain.pem -noout -serial)" ] && ok "tls_cert_out holds the new chain" ||
    not_ok "tls_cert_out not rewritten"
code=$(curl -sS --cacert state/kbs-ca.pem -o /dev/null -w '%{http_code}' "https://127.0.0.1:$SERVE_PORT/v2/health/ready" || true)
[ "$code" = 200 ] && ok "curl --cacert kbs-ca.pem still works" || not_ok "curl after renewal ($code)"
n=$("$VEIL" kbs audit show --dir state | grep -cE "release +allow .*resource=veil/cert/add" || true)
[ "$n" -ge 2 ] && ok "the audit log has both issuances ($n)" || not_ok "audit issuances: $n"
finish

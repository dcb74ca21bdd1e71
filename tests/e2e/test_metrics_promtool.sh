#!/usr/bin/env bash
# The /metrics pages of veil-kbs and veil-serve, after real traffic (attestations, a release, a
# certificate, refusals, inferences), pass `promtool check metrics` (Prometheus's own linter of
# the text exposition format). Skipped (exit 77) only when promtool is not installed (Debian
# package prometheus; tools/setup installs it).
source "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || { echo "promtool not installed (apt-get install prometheus): skipped"; exit 77; }
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
trap 'serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
DATA="$ONNX_NODE/test_add"
kbs_setup "$WORK"
kbs_start "$WORK"
serve_seal "$DATA" add
"$VEIL" kbs resource put --dir state models/add/key model.key >/dev/null
serve_conf serve.conf models/add/key add "kbs_cert = true" "kbs_cert_name = add"
meas=$(serve_measurement serve.conf)
serve_policy models/add/key "$meas"
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"cert.san","in":["DNS:localhost","IP:127.0.0.1","IP:::1"]}]}' > cert.json
"$VEIL" kbs policy set --dir state veil/cert/add cert.json >/dev/null
serve_start serve.conf && ok "veil-serve started (attested, with a broker-issued certificate)" || not_ok "start"
URL="https://127.0.0.1:$SERVE_PORT"
"$TOOL" request "$DATA"/test_data_set_0/input_*.pb > req.json
for _ in 1 2 3; do
    curl -sS --cacert state/kbs-ca.pem -o /dev/null -H 'Content-Type: application/json' \
        --data-binary @req.json "$URL/v2/models/add/infer"
done
curl -sS --cacert state/kbs-ca.pem -o /dev/null -H 'Content-Type: application/json' \
    --data-binary '{"inputs": 5}' "$URL/v2/models/add/infer" || true
curl -sS --cacert state/kbs-ca.pem -o /dev/null "$URL/v2/models/nosuch" || true
curl -sS --cacert state/tls.pem -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data-binary '{}' "$KBS_URL/kbs/v0/cert" || true # refused: no session
curl -sS --cacert state/tls.pem -o /dev/null -H 'Content-Type: application/json' \
    --data-binary '{"version":"9"}' "$KBS_URL/kbs/v0/auth" || true

curl -sS --cacert state/kbs-ca.pem "$URL/metrics" > serve.prom
curl -sS --cacert state/tls.pem "$KBS_URL/metrics" > kbs.prom
for f in serve kbs; do
    expect_exit 0 "promtool check metrics: veil-$f /metrics" -- sh -c "promtool check metrics < $f.prom"
done
grep -q '^veil_kbs_certificates_total{decision="issued"} 1$' kbs.prom &&
    ok "veil-kbs counts the issued certificate" || not_ok "certificates issued"
grep -q '^veil_kbs_certificates_total{decision="refused"} 1$' kbs.prom &&
    ok "and the refused request" || not_ok "certificates refused"
grep -q '^veil_kbs_requests_total{endpoint="cert",code="2xx"} 1$' kbs.prom &&
    ok "requests by endpoint include cert" || not_ok "cert endpoint requests"
grep -qE '^veil_serve_[a-z_]+' serve.prom && ok "veil-serve exposes veil_serve_* series" || not_ok "serve series"
finish

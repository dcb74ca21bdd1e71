#!/usr/bin/env bash
# No record, no key: when the audit log refuses a record (here a trigger added behind the broker's
# back makes SQLite abort the insert), veil-kbs sends neither the token nor the key, and says why.
# The same holds for certificates: POST /kbs/v0/cert (veil-serve with kbs_cert = true) issues none
# when its record cannot be written. Once the log accepts records again, releases resume and the
# chain verifies.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
source "$(dirname "$0")/lib_serve.sh"
trap 'serve_stop; kbs_stop; rm -rf "$WORK"' EXIT
kbs_setup "$WORK" "rate_per_s = 0"
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"}]}' > p.json
"$VEIL" kbs policy set --dir state 'models/*' p.json >/dev/null
head -c 32 /dev/urandom > m.key
"$VEIL" kbs resource put --dir state models/m/key m.key >/dev/null
kbs_start "$WORK"
fetch() {
    "$VEIL" attest fetch --kbs "$KBS_URL" --cacert state/tls.pem --tee sim --sim-dir sim \
        --resource models/m/key -o "$1"
}
refuse() { # refuse KIND: the audit log aborts every insert of that kind
    sqlite3 state/kbs.db "CREATE TRIGGER refuse_$1 BEFORE INSERT ON audit WHEN NEW.kind = '$1'
                          BEGIN SELECT RAISE(ABORT, 'test: audit log refuses'); END;"
}
expect_exit 0 "a release while the audit log accepts records" -- fetch got0
cmp -s got0 m.key && ok "the key arrived" || not_ok "wrong key"

attested() { # sessions the broker holds as attested (in memory)
    curl -s --cacert state/tls.pem "$KBS_URL/metrics" | awk '/^veil_kbs_sessions\{state="attested"\}/ {print $2}'
}
before=$(attested)
refuse attest
expect_exit 1 "attestation refused when its audit record cannot be written" -- fetch got1
[ "$(attested)" = "$before" ] && ok "no session became attested (its cookie fetches nothing)" ||
    not_ok "a session was marked attested without its audit record"
expect_stderr "attest: key broker answered 500.*cannot record the attestation in the audit log" \
    "the client is told why"
expect_absent got1 "no key written"

sqlite3 state/kbs.db "DROP TRIGGER refuse_attest"
refuse release
expect_exit 1 "release refused when its audit record cannot be written" -- fetch got2
expect_stderr "resource: key broker answered 500.*cannot record the release in the audit log" \
    "the client is told why"
expect_absent got2 "no key written"

sqlite3 state/kbs.db "DROP TRIGGER refuse_release"
expect_exit 0 "releases resume once the log accepts records" -- fetch got3
releases=$(sqlite3 state/kbs.db "SELECT count(*) FROM audit WHERE kind = 'release'")
[ "$releases" = 2 ] && ok "one release record per key sent (2)" || not_ok "$releases release records"

# A certificate, in veil-serve's attested session (model key, then POST /kbs/v0/cert), while the
# log refuses the certificate's record (a release of veil/cert/<name>) and only that one.
certs() { curl -s --cacert state/tls.pem "$KBS_URL/metrics" | awk '/^veil_kbs_certificates_total\{decision="'"$1"'"\}/ {print $2}'; }
serve_seal "$ONNX_NODE/test_add" add
"$VEIL" kbs resource put --dir state models/add/key model.key >/dev/null
serve_conf serve.conf models/add/key add "kbs_cert = true" "kbs_cert_name = add" \
    "tls_cert_out = $WORK/chain.pem"
meas=$(serve_measurement serve.conf)
serve_policy models/add/key "$meas"
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"},{"claim":"sim.measurement","equals":"%s"}]}' \
    "$meas" > cert.json
"$VEIL" kbs policy set --dir state veil/cert/add cert.json >/dev/null
sqlite3 state/kbs.db "CREATE TRIGGER refuse_cert BEFORE INSERT ON audit
                      WHEN NEW.kind = 'release' AND NEW.resource LIKE 'veil/cert/%'
                      BEGIN SELECT RAISE(ABORT, 'test: audit log refuses'); END;"
expect_exit 1 "no certificate when its audit record cannot be written (veil-serve stops)" -- \
    "$SERVE" --config serve.conf
expect_stderr "cert: key broker answered 500.*cannot record the certificate in the audit log" \
    "veil-serve is told why"
expect_absent chain.pem "no certificate chain written"
[ "$(certs issued)" = 0 ] && [ "$(certs refused)" = 1 ] &&
    ok "the broker counts no certificate issued, one refused" ||
    not_ok "certificates issued $(certs issued), refused $(certs refused)"
[ "$(sqlite3 state/kbs.db "SELECT count(*) FROM audit WHERE resource LIKE 'veil/cert/%'")" = 0 ] &&
    ok "and the log holds no certificate record" || not_ok "a certificate record was written"
sqlite3 state/kbs.db "DROP TRIGGER refuse_cert"
serve_start serve.conf && ok "with the log accepting records, the certificate is issued" ||
    not_ok "veil-serve with a certificate"
[ -s chain.pem ] && [ "$(certs issued)" = 1 ] && ok "one certificate, counted" ||
    not_ok "certificate after the log recovered"
serve_stop
kbs_stop
expect_exit 0 "the audit chain verifies" -- "$VEIL" kbs audit verify --dir state
finish

#!/usr/bin/env bash
# No record, no key: when the audit log refuses a record (here a trigger added behind the broker's
# back makes SQLite abort the insert), veil-kbs sends neither the token nor the key, and says why.
# Once the log accepts records again, releases resume and the chain verifies.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
trap 'kbs_stop; rm -rf "$WORK"' EXIT
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

attested() { sqlite3 state/kbs.db "SELECT count(*) FROM sessions WHERE attested = 1"; }
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
kbs_stop
expect_exit 0 "the audit chain verifies" -- "$VEIL" kbs audit verify --dir state
finish

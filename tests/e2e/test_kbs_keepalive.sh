#!/usr/bin/env bash
# Keep-alive (docs/PROTOCOL.kbs.md "Transport"): veil attest fetch makes auth, attest and
# resource on one TLS connection; when the broker bounds requests per connection
# (requests_per_connection_max) and closes it after the last answer, the client opens a new
# connection and the release still completes. Connections are counted by the broker's
# veil_kbs_connections_total.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_kbs.sh"
trap 'kbs_stop; rm -rf "$WORK"' EXIT
kbs_setup "$WORK" "rate_per_s = 0"
printf '{"version":1,"allOf":[{"claim":"tee","equals":"sim"}]}' > p.json
"$VEIL" kbs policy set --dir state 'models/*' p.json >/dev/null
head -c 32 /dev/urandom > m.key
"$VEIL" kbs resource put --dir state models/m/key m.key >/dev/null
fetch() {
    "$VEIL" attest fetch --kbs "$KBS_URL" --cacert state/tls.pem --tee sim --sim-dir sim \
        --resource models/m/key -o "$1"
}
conns() { # connections so far, not counting the one that asks
    curl -s --cacert state/tls.pem "$KBS_URL/metrics" |
        awk '/^veil_kbs_connections_total/ {print $2 - 1}'
}
release_on() { # release_on N BOUND: a release takes N connections under that bound
    rm -f got
    local c0 c1
    c0=$(conns)
    expect_exit 0 "a release with at most $2 requests per connection" -- fetch got
    cmp -s got m.key && ok "the key arrived" || not_ok "wrong key"
    c1=$(conns)
    [ $((c1 - c0 - 1)) = "$1" ] && ok "over $1 connection(s)" ||
        not_ok "over $((c1 - c0 - 1)) connections, expected $1"
}
kbs_start "$WORK"
release_on 1 100 # the default: auth, attest and resource on one connection
kbs_stop
bound() { sed -i /^requests_per_connection_max/d state/kbs.conf; echo "requests_per_connection_max = $1" >> state/kbs.conf; }
bound 2
kbs_start "$WORK"
release_on 2 2 # auth + attest, then the broker closes; resource on a new connection
kbs_stop
bound 1
kbs_start "$WORK"
release_on 3 1 # every answer closes its connection
kbs_stop
finish

#!/usr/bin/env bash
# iceberg_catalog.sh BUILD_DIR — serviceradar-iceberg-catalog end to end:
#   1. bad configs exit 1 naming the key and the file; an unknown key is only warned about;
#   2. iceberg-js (tests/js/catalog_client.js, an independent REST client) creates, loads,
#      commits, gets 409 on a stale commit, registers, renames and drops;
#   3. curl checks the error shapes: 404/400/405/413, 409 on a stale commit leaving the
#      metadata-location unchanged, application/json everywhere;
#   4. N concurrent committers through two catalog processes sharing one database (the
#      compare-and-swap is all that keeps them apart) → exactly N more snapshots, each
#      parented on the one before (none lost, no fork);
#   5. restart: everything is still there; metrics count commits and conflicts;
#   6. mTLS: HTTPS with a client certificate works, without one → 401, plain HTTP fails.
source "$(dirname "$0")/lib.sh"

CATALOG=$IT_BUILD/cmd/iceberg-catalog/serviceradar-iceberg-catalog
CLIENT="node $IT_SRC/tests/js/catalog_client.js"
[ -x "$CATALOG" ] || it_fail "missing $CATALOG"
WH=$IT_WORK/warehouse
DB=$IT_WORK/catalog.db
N=${CATALOG_COMMITTERS:-12}

# catalog_config FILE API_PORT METRICS_PORT [EXTRA_JSON_MEMBERS] — extra members replace
# the defaults written here.
catalog_config() {
    jq -n --arg api "127.0.0.1:$2" --arg met "127.0.0.1:$3" --arg wh "file://$WH" \
        --arg db "$DB" --argjson extra "{${4:-}}" '{
      listen_addr: $api, warehouse: $wh, database: $db, metrics_addr: $met,
      max_body_bytes: "64KiB", log_level: "info"} + $extra' >"$1"
}

# start_catalog CONFIG LOG — sets CAT_PID; waits for /healthz on the metrics port.
start_catalog() {
    "$CATALOG" -c "$1" 2>>"$2" &
    CAT_PID=$!
    IT_PIDS+=("$CAT_PID")
    local m
    m=$(jq -r .metrics_addr "$1")
    it_wait_for curl -fsS "http://$m/healthz" || it_fail "catalog did not start: $(tail -5 "$2")"
}

# http METHOD URL [BODY_FILE] — prints "STATUS CONTENT_TYPE" and leaves the body in $IT_WORK/body.
http() {
    local args=(-sS -o "$IT_WORK/body" -w '%{http_code} %{content_type}' -X "$1" "$2")
    [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "@$3")
    curl "${args[@]}"
}

# expect_error METHOD URL BODY_FILE|"" STATUS TYPE
expect_error() {
    local got
    if [ -n "$3" ]; then got=$(http "$1" "$2" "$3"); else got=$(http "$1" "$2"); fi
    it_expect "$1 $2 status" "$got" "$4 application/json"
    it_expect "$1 $2 type" "$(jq -r .error.type "$IT_WORK/body")" "$5"
    it_expect "$1 $2 code" "$(jq -r .error.code "$IT_WORK/body")" "$4"
    [ -n "$(jq -r .error.message "$IT_WORK/body")" ] || it_fail "$1 $2: empty message"
}

# ---- 1. config errors -------------------------------------------------------------------------
it_note "bad configs"
mapfile -t P < <(it_free_port tcp 4)
API=${P[0]} MET=${P[1]} API2=${P[2]} MET2=${P[3]}
bad() { # bad NAME JSON_MEMBERS EXPECTED_KEY
    catalog_config "$IT_WORK/$1.json" "$API" "$MET" "$2"
    if "$CATALOG" -c "$IT_WORK/$1.json" 2>"$IT_WORK/$1.log"; then
        it_fail "$1: catalog started with a bad config"
    else
        local rc=$?
        it_expect "$1 exit status" "$rc" 1
    fi
    grep -qF "$IT_WORK/$1.json: key '$3'" "$IT_WORK/$1.log" ||
        it_fail "$1: error does not name file and key '$3': $(cat "$IT_WORK/$1.log")"
}
bad warehouse '"warehouse": "s3://bucket/wh"' warehouse
bad body '"max_body_bytes": "lots"' max_body_bytes
bad listen '"listen_addr": "localhost"' listen_addr
bad mode '"security": {"mode": "tls"}' security.mode
bad mtls '"security": {"mode": "mtls", "tls": {"cert_file": ""}}' security.tls.cert_file
"$CATALOG" -c "$IT_WORK/absent.json" 2>"$IT_WORK/absent.log" && it_fail "absent config accepted"
grep -qF "absent.json" "$IT_WORK/absent.log" || it_fail "absent config not named"

# ---- 2. iceberg-js ---------------------------------------------------------------------------
catalog_config "$IT_WORK/cat.json" "$API" "$MET" '"unknown_key": 1'
start_catalog "$IT_WORK/cat.json" "$IT_WORK/cat.log"
grep -q "unknown key 'unknown_key'" "$IT_WORK/cat.log" || it_fail "unknown key not warned"
BASE=http://127.0.0.1:$API
METRICS=http://127.0.0.1:$MET/metrics
it_note "iceberg-js client"
$CLIENT basic "$BASE" "$WH" >"$IT_WORK/basic.json" || it_fail "catalog_client basic failed"
it_expect "basic ok" "$(jq -r .ok "$IT_WORK/basic.json")" true
LOC=$(jq -r '."metadata-location"' "$IT_WORK/basic.json")
[ -f "${LOC#file://}" ] || it_fail "metadata file $LOC missing"
[ "$(cat "$WH/it/events/metadata/version-hint.text")" = 2 ] || it_fail "version-hint is not 2"

# ---- 3. error shapes with curl ---------------------------------------------------------------
it_note "error shapes"
T=$BASE/v1/namespaces/it/tables/events
got=$(http GET "$BASE/v1/config"); it_expect "config" "$got" "200 application/json"
it_expect "config body" "$(jq -c . "$IT_WORK/body")" '{"defaults":{},"overrides":{}}'
expect_error GET "$BASE/v1/namespaces/it/tables/nope" "" 404 NoSuchTableException
expect_error GET "$BASE/v1/namespaces/nope/tables/x" "" 404 NoSuchNamespaceException
expect_error GET "$BASE/v1/namespaces/nope" "" 404 NoSuchNamespaceException
expect_error DELETE "$BASE/v1/namespaces/it" "" 409 NamespaceNotEmptyException
printf '{"namespace": ["x"' >"$IT_WORK/bad.json"
expect_error POST "$BASE/v1/namespaces" "$IT_WORK/bad.json" 400 BadRequestException
jq -r .error.message "$IT_WORK/body" | grep -q "not valid JSON" || it_fail "400 message: $(cat "$IT_WORK/body")"
printf '{"requirements": [], "updates": 5}' >"$IT_WORK/bad.json"
expect_error POST "$T" "$IT_WORK/bad.json" 400 BadRequestException
printf '{"namespace": ["a", "b"]}' >"$IT_WORK/bad.json"
expect_error POST "$BASE/v1/namespaces" "$IT_WORK/bad.json" 400 BadRequestException
expect_error GET "$BASE/v1/namespaces/a%1Fb" "" 400 BadRequestException
expect_error PUT "$BASE/v1/namespaces" "" 405 MethodNotAllowedException
head -c 70000 /dev/zero | tr '\0' ' ' >"$IT_WORK/big.json"
expect_error POST "$BASE/v1/namespaces" "$IT_WORK/big.json" 413 BadRequestException
got=$(curl -sS -o "$IT_WORK/body" -w '%{http_code}' -H 'Transfer-Encoding: chunked' \
    -H 'Content-Type: application/json' --data-binary "@$IT_WORK/big.json" "$BASE/v1/namespaces")
it_expect "chunked body over the bound" "$got" 413
it_expect "HEAD table" "$(curl -sS -o /dev/null -w '%{http_code}' -I "$T")" 204
it_expect "HEAD absent table" "$(curl -sS -o /dev/null -w '%{http_code}' -I "$T-x")" 404

# A stale commit: assert that main is still the snapshot before the current one.
http GET "$T" >/dev/null
BEFORE=$(jq -r '."metadata-location"' "$IT_WORK/body")
jq -n --argjson uuid "$(jq '.metadata."table-uuid"' "$IT_WORK/body")" '{
  requirements: [{type: "assert-table-uuid", uuid: $uuid},
                 {type: "assert-ref-snapshot-id", ref: "main", "snapshot-id": null}],
  updates: [{action: "set-properties", updates: {"stale": "yes"}}]}' >"$IT_WORK/stale.json"
expect_error POST "$T" "$IT_WORK/stale.json" 409 CommitFailedException
http GET "$T" >/dev/null
it_expect "metadata-location after stale commit" "$(jq -r '."metadata-location"' "$IT_WORK/body")" "$BEFORE"
it_expect "property of stale commit" "$(jq -r '.metadata.properties.stale // "absent"' "$IT_WORK/body")" absent
# Moving the table out of the warehouse is refused; nothing changes either.
printf '{"requirements": [], "updates": [{"action": "set-location", "location": "file://%s/out"}]}' \
    "$IT_WORK" >"$IT_WORK/move.json"
expect_error POST "$T" "$IT_WORK/move.json" 400 BadRequestException
http GET "$T" >/dev/null
it_expect "metadata-location after refused move" "$(jq -r '."metadata-location"' "$IT_WORK/body")" "$BEFORE"
[ ! -e "$WH/it/events/metadata/v3.metadata.json" ] || it_fail "a refused commit wrote v3"
[ ! -e "$IT_WORK/out" ] || it_fail "a refused move created $IT_WORK/out"

# ---- 4. concurrent committers, two processes, one database ------------------------------------
it_note "$N concurrent committers through two catalog processes"
catalog_config "$IT_WORK/cat2.json" "$API2" "$MET2"
start_catalog "$IT_WORK/cat2.json" "$IT_WORK/cat2.log"
BASE2=http://127.0.0.1:$API2
$CLIENT snapshots "$BASE" it events >"$IT_WORK/snap0.json" || it_fail "snapshots failed"
S0=$(jq '.snapshots | length' "$IT_WORK/snap0.json")
$CLIENT concurrent "$BASE,$BASE2" it events "$N" >"$IT_WORK/conc.json" ||
    it_fail "concurrent committers failed"
it_expect "commits" "$(jq .commits "$IT_WORK/conc.json")" "$N"
$CLIENT snapshots "$BASE2" it events >"$IT_WORK/snap1.json" || it_fail "snapshots failed"
it_expect "snapshots after $N commits" "$(jq '.snapshots | length' "$IT_WORK/snap1.json")" $((S0 + N))
# Every committed id is in the table, and the snapshots form one chain (no fork).
it_expect "committed ids present" \
    "$(jq -n --slurpfile a "$IT_WORK/conc.json" --slurpfile b "$IT_WORK/snap1.json" \
        '($a[0].ids - $b[0].snapshots) | length')" 0
it_expect "single chain" \
    "$(jq '[.snapshots, .parents] | (.[1][1:] == .[0][:-1])' "$IT_WORK/snap1.json")" true
CONFLICTS=$(jq .conflicts "$IT_WORK/conc.json")
it_note "conflicts retried: $CONFLICTS"
OK1=$(it_metric "$METRICS" serviceradar_iceberg_catalog_commits_total 'result="ok"')
OK2=$(it_metric "http://127.0.0.1:$MET2/metrics" serviceradar_iceberg_catalog_commits_total 'result="ok"')
C1=$(it_metric "$METRICS" serviceradar_iceberg_catalog_commits_total 'result="conflict"')
C2=$(it_metric "http://127.0.0.1:$MET2/metrics" serviceradar_iceberg_catalog_commits_total 'result="conflict"')
# basic made one ok commit and one conflict on server 1; curl one more conflict.
it_expect "ok commits in metrics" $((OK1 + OK2)) $((N + 1))
it_expect "conflicts in metrics" $((C1 + C2)) $((CONFLICTS + 2))
[ "$(it_metric "$METRICS" serviceradar_iceberg_catalog_requests_total 'route="table",status="404"')" -ge 1 ] ||
    it_fail "404 not counted"

# ---- 5. restart --------------------------------------------------------------------------------
it_note "restart"
it_stop "$CAT_PID"
it_stop "${IT_PIDS[-2]}"
start_catalog "$IT_WORK/cat.json" "$IT_WORK/cat.log"
$CLIENT snapshots "$BASE" it events >"$IT_WORK/snap2.json" || it_fail "snapshots after restart"
it_expect "state after restart" "$(jq -c . "$IT_WORK/snap2.json")" "$(jq -c . "$IT_WORK/snap1.json")"
http GET "$BASE/v1/namespaces" >/dev/null
it_expect "namespaces after restart" "$(jq -c .namespaces "$IT_WORK/body")" '[["it"]]'
http GET "$BASE/v1/namespaces/it/tables" >/dev/null
it_expect "tables after restart" "$(jq -c '[.identifiers[].name]' "$IT_WORK/body")" '["events"]'
it_stop "$CAT_PID"

# ---- 6. mTLS -----------------------------------------------------------------------------------
it_note "mTLS"
"$IT_SRC/scripts/certs.sh" "$IT_WORK/certs" catalog reader >/dev/null
catalog_config "$IT_WORK/tls.json" "$API" "$MET" \
    "\"security\": $(it_security_json "$IT_WORK/certs" catalog catalog.serviceradar)"
start_catalog "$IT_WORK/tls.json" "$IT_WORK/tls.log"
C="$IT_WORK/certs"
got=$(curl -sS -o "$IT_WORK/body" -w '%{http_code}' --cacert "$C/root.pem" --cert "$C/reader.pem" \
    --key "$C/reader-key.pem" "https://127.0.0.1:$API/v1/namespaces")
it_expect "mTLS with a client certificate" "$got" 200
it_expect "mTLS namespaces" "$(jq -c .namespaces "$IT_WORK/body")" '[["it"]]'
got=$(curl -sS -o "$IT_WORK/body" -w '%{http_code}' --cacert "$C/root.pem" \
    "https://127.0.0.1:$API/v1/namespaces" 2>/dev/null || true)
[ "$got" = 401 ] || [ "$got" = 000 ] || it_fail "mTLS without a client certificate answered $got"
curl -sS -o /dev/null "http://127.0.0.1:$API/v1/namespaces" 2>/dev/null &&
    it_fail "plain HTTP accepted in mtls mode"
# A certificate from another CA is refused too.
"$IT_SRC/scripts/certs.sh" "$IT_WORK/other" reader >/dev/null
got=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$C/root.pem" --cert "$IT_WORK/other/reader.pem" \
    --key "$IT_WORK/other/reader-key.pem" "https://127.0.0.1:$API/v1/namespaces" 2>/dev/null || true)
[ "$got" = 401 ] || [ "$got" = 000 ] || it_fail "foreign client certificate answered $got"
it_stop "$CAT_PID"
# Sanitizer builds report memory errors and leaks in the daemon logs at exit.
if grep -l -E "AddressSanitizer|LeakSanitizer|runtime error" "$IT_WORK"/*.log; then
    it_fail "sanitizer report in a catalog log"
fi
echo "PASS iceberg_catalog"

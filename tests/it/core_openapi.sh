#!/usr/bin/env bash
# core_openapi.sh BUILD_DIR — the OpenAPI document (docs/openapi.json) is valid and true to a
# running serviceradar-core: a real ClickHouse and a file:// Iceberg table holding the same
# 20 000 flows of the last hour (chload, coldload), auth on with a bcrypt user and an API key,
# status sources up and down. tests/js/openapi_check.mjs then checks the served document's
# bytes, the enums and limits against /api/netflow/fields and real answers (stitched and
# time-travel ones included) against the documented schemas; again against a core whose
# warehouse is empty (historical answers 404, as documented). Then it must fail on documents
# that drifted (an enum value dropped, a response schema changed): the check can fail.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
CORE=$IT_BUILD/cmd/core/serviceradar-core
AUTHTOOL=$IT_BUILD/tests/tools/authtool
CHLOAD=$IT_BUILD/tests/tools/chload
COLDLOAD=$IT_BUILD/tests/tools/coldload
DOC=$IT_SRC/docs/openapi.json
CHECK=$IT_SRC/tests/js/openapi_check.mjs
for b in "$CORE" "$AUTHTOOL" "$CHLOAD" "$COLDLOAD"; do
    [ -x "$b" ] || it_fail "missing $b (build it first)"
done
command -v node >/dev/null || it_fail "node is not installed"
[ -d "$IT_SRC/tests/js/node_modules/@apidevtools/swagger-parser" ] ||
    it_fail "tests/js/node_modules lacks @apidevtools/swagger-parser (cd tests/js && npm ci)"

# ---- the document alone ------------------------------------------------------------------------
node "$CHECK" "$DOC" >doc.out 2>&1 || it_fail "the document is not valid: $(cat doc.out)"

# ---- a core over ClickHouse --------------------------------------------------------------------
it_start_clickhouse "$IT_WORK/ch"
now=$(date +%s)
flows=20000 # at 5 flows/s: the last 67 minutes up to now
"$CHLOAD" insert --url "$CH_URL" --user "$CH_WRITER_USER" --password "$CH_WRITER_PASSWORD" \
    --flows $flows --rate 5 --seed 11 --sampling 1 --batch 10000 --until "$now" >/dev/null || it_fail "chload failed"
it_expect "raw rows" "$(it_ch 'SELECT count() FROM netflow.netflow')" $flows
WH=$IT_WORK/warehouse
mkdir -p "$WH"
"$COLDLOAD" insert --catalog "file://$WH" --flows $flows --rate 5 --seed 11 --sampling 1 \
    --batch 10000 --until "$now" --threads 1 >cold.json || it_fail "coldload failed"
it_note "flows between $(it_ch "SELECT min(timestamp), max(timestamp) FROM netflow.netflow" 2>&1 | tr "\t" " ") (now $(date -u -d @$now +%FT%TZ))"

PASSWORD=pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
hash=$(echo "$PASSWORD" | "$AUTHTOOL" hash - 4) || it_fail "authtool hash failed"
read -r APIKEY keyhash < <("$AUTHTOOL" apikey) || it_fail "authtool apikey failed"
[ -n "$APIKEY" ] && [ ${#keyhash} = 64 ] || it_fail "authtool apikey printed '$APIKEY $keyhash'"
mkdir -p "$IT_WORK/empty-wh"
mapfile -t ports < <(it_free_port tcp 2)
PORT=${ports[0]} DEAD=${ports[1]} # DEAD: nobody listens there (a hop that is down)
cat >core.json <<JSON
{
  "listen_addr": "127.0.0.1:$PORT",
  "netflow": {
    "clickhouse_url": "$CH_URL", "clickhouse_user": "$CH_READER_USER",
    "clickhouse_password": "$CH_READER_PASSWORD", "clickhouse_database": "netflow",
    "iceberg_catalog": "file://$WH", "iceberg_table": "default.netflow",
    "realtime_threshold": "30m", "hot_retention": "2d", "duckdb_threads": 1,
    "duckdb_memory_limit": "256MB"
  },
  "auth": {
    "enabled": true, "jwt_secret": "$SECRET", "jwt_expiration": "1h",
    "local_users": {"admin": "$hash"}, "api_keys": {"it": "$keyhash"},
    "login_max_failures": 3, "login_window": "1m"
  },
  "status": {
    "sources": {
      "self": {"role": "clickhouse_writer", "url": "http://127.0.0.1:$PORT/metrics"},
      "gone": {"role": "checker", "url": "http://127.0.0.1:$DEAD/metrics"}
    },
    "timeout": "2s"
  },
  "log_level": "info"
}
JSON
"$CORE" -c core.json 2>core.log &
CORE_PID=$!
IT_PIDS+=("$CORE_PID")
BASE=http://127.0.0.1:$PORT
it_wait_for curl -fsS "$BASE/healthz" >/dev/null || it_fail "core did not start: $(cat core.log)"
TOKEN=$("$AUTHTOOL" token "$SECRET" admin access 3600) || it_fail "authtool token failed"

# ---- the document against the server -------------------------------------------------------------
OPENAPI_CHECK_API_KEY=$APIKEY node "$CHECK" "$DOC" "$BASE" "$TOKEN" admin "$PASSWORD" >check.out 2>&1 ||
    it_fail "openapi_check against the core: $(cat check.out)"
cat check.out
# the status answer the check validated had both kinds of hop (the core's own metrics read as
# a writer's: up, zero counters; a closed port: down, with an error)
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/netflow/status" >status.json || it_fail "status"
it_expect "status hops" "$(jq -c '[.hops[] | [.name, .up, has("error"), has("received")]]' status.json)" \
    '[["self",true,false,true],["gone",false,true,false]]'
it_expect "status tiers" "$(jq -c '[.tiers.clickhouse.up, .tiers.iceberg.up]' status.json)" '[true,true]'
# the check saw a stitched answer and a snapshot
curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/api/netflow?time_range=last_6h&group_by=time" >long.json
it_expect "stitched" "$(jq -r .backend long.json)" both

# ---- a core whose cold tier has no table: the historical route's 404 ------------------------
PORT2=$(it_free_port tcp)
jq --arg la "127.0.0.1:$PORT2" --arg wh "file://$IT_WORK/empty-wh" \
    '.listen_addr = $la | .netflow.iceberg_catalog = $wh | del(.status)' core.json >core-empty.json
"$CORE" -c core-empty.json 2>core-empty.log &
EMPTY_PID=$!
IT_PIDS+=("$EMPTY_PID")
it_wait_for curl -fsS "http://127.0.0.1:$PORT2/healthz" >/dev/null || it_fail "core (empty) did not start: $(cat core-empty.log)"
node "$CHECK" "$DOC" "http://127.0.0.1:$PORT2" "$TOKEN" >check-empty.out 2>&1 ||
    it_fail "openapi_check against the core without a cold table: $(cat check-empty.out)"
it_expect "no cold table: historical" "$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:$PORT2/api/netflow/historical?group_by=protocol")" 404
kill "$EMPTY_PID"
wait "$EMPTY_PID" || it_fail "core (empty) exited with $? on SIGTERM: $(tail -5 core-empty.log)"
IT_PIDS=("${IT_PIDS[@]/$EMPTY_PID/}")

# ---- the check can fail: documents that drifted from the server ------------------------------
# drift DESCRIPTION JQ_FILTER WANT — a copy of the document changed by JQ_FILTER must make the
# check exit 1 with a message matching WANT.
drift() {
    local what=$1 filter=$2 want=$3 rc
    jq "$filter" "$DOC" >drift.json || it_fail "jq $filter"
    set +e
    node "$CHECK" drift.json "$BASE" "$TOKEN" >drift.out 2>&1
    rc=$?
    set -e
    [ "$rc" = 1 ] || it_fail "drift '$what': openapi_check exit $rc, want 1: $(tail -5 drift.out)"
    grep -q -- "$want" drift.out || it_fail "drift '$what': no '$want' in: $(cat drift.out)"
}
drift "a time_range dropped" '.components.schemas.TimeRange.enum -= ["today"]' \
    "/api/netflow/realtime time_range: document says"
drift "another limit" '.components.parameters.limit.schema.maximum = 5000' "limit: document says"
drift "an answer member undocumented" 'del(.components.schemas.NetflowAnswer.properties.elapsed_ms)' \
    "must NOT have additional properties"
drift "a 401 undocumented" 'del(.paths["/api/netflow/fields"].get.responses["401"])' \
    "HTTP 401 is not documented for GET /api/netflow/fields"
drift "a wrong error shape" '.components.schemas.Error.properties.error.required += ["code"]' \
    "must have required property 'code'"
drift "a public route marked secured" 'del(.paths["/healthz"].get.security)' \
    "GET /healthz without credentials: HTTP 200"
# an invalid document (a $ref that does not resolve)
jq '.paths["/healthz"].get.responses["200"].content["application/json"].schema["$ref"] = "#/components/schemas/Nope"' \
    "$DOC" >broken.json
set +e
node "$CHECK" broken.json >broken.out 2>&1
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "not a valid OpenAPI document" broken.out ||
    it_fail "a broken \$ref: exit $rc: $(cat broken.out)"

kill -0 "$CORE_PID" 2>/dev/null || it_fail "core died: $(tail -5 core.log)"
kill "$CORE_PID"
wait "$CORE_PID" || it_fail "core exited with $? on SIGTERM: $(tail -5 core.log)"
IT_PIDS=("${IT_PIDS[@]/$CORE_PID/}")
echo "PASS core_openapi (document valid, served as built, enums and limits = /api/netflow/fields, answers = schemas with and without a cold table, 6 drifts and a broken \$ref caught)"

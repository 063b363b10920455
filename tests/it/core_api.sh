#!/usr/bin/env bash
# core_api.sh BUILD_DIR — serviceradar-core end to end, against a real ClickHouse and a
# filesystem Iceberg table holding the same flows (chload / coldload, as histq_parity.sh):
#   - auth: 401 without credentials, with a wrong, an expired or a refresh-kind token, a bad
#     API key; login → access token works; refresh → new access token works; API key works;
#     wrong passwords → 401 then 429 with Retry-After;
#   - /realtime (ClickHouse) and /historical (Iceberg) give identical results for the same
#     top-N and series; the auto route answers an old range from Iceberg (= /historical),
#     a recent short one from ClickHouse (= /realtime), and a long range stitched
#     ("backend":"both", "boundary") equal to both;
#   - CSV rows equal the JSON results; realtime refuses a range older than the hot tier;
#   - /api/netflow/flows: the newest raw rows (with filters, limits that need the wider
#     windows) equal ClickHouse's own ORDER BY timestamp DESC; CSV = JSON; refusals;
#   - 30+ hostile parameter sets → 400 naming the parameter, and the server keeps answering;
#   - bad config → exit 1 naming the key; /metrics counts requests;
#   - HTTPS (security.tls), auth off, and a missing cold table: the auto route falls back to
#     ClickHouse inside the hot tier and answers 503 beyond it; static_dir files are served
#     and paths leaving it (.., %2e%2e, symlinks) are 404.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
CORE=$IT_BUILD/cmd/core/serviceradar-core
AUTHTOOL=$IT_BUILD/tests/tools/authtool
COLDLOAD=$IT_BUILD/tests/tools/coldload
CHLOAD=$IT_BUILD/tests/tools/chload
for b in "$CORE" "$AUTHTOOL" "$COLDLOAD" "$CHLOAD"; do
    [ -x "$b" ] || it_fail "missing $b (build it first)"
done

# ---- bad config: exit 1 naming file and key, before any socket -----------------------------
echo '{"listen_addr": ":8090", "netflow": {"iceberg_table": "nodot"}, "auth": {"enabled": false}}' >bad.json
set +e
"$CORE" -c bad.json 2>bad.err
rc=$?
set -e
[ "$rc" = 1 ] || it_fail "bad config: exit $rc, want 1"
grep -q "bad.json: key 'netflow.iceberg_table'" bad.err || it_fail "bad config message: $(cat bad.err)"
echo '{"netflow": {"realtime_threshold": "fast"}, "auth": {"enabled": false}}' >bad2.json
set +e
"$CORE" -c bad2.json 2>bad2.err
rc=$?
set -e
[ "$rc" = 1 ] && grep -q "netflow.realtime_threshold" bad2.err || it_fail "bad duration: exit $rc: $(cat bad2.err)"

# ---- the same flows in both tiers --------------------------------------------------------------
it_start_clickhouse "$IT_WORK/ch"
WH=$IT_WORK/warehouse
mkdir -p "$WH"
now=$(date +%s)
flows=180000 # 1 flow/s (flowgen's density): the flows cover the two days up to now
"$CHLOAD" insert --url "$CH_URL" --user "$CH_WRITER_USER" --password "$CH_WRITER_PASSWORD" \
    --flows $flows --seed 7 --sampling 1 --batch 100000 --until "$now" >/dev/null || it_fail "chload failed"
"$COLDLOAD" insert --catalog "file://$WH" --flows $flows --seed 7 --sampling 1 --batch 100000 \
    --until "$now" --threads 2 >cold.json || it_fail "coldload failed"
it_expect "raw rows" "$(it_ch 'SELECT count() FROM netflow.netflow')" $flows

# ---- config with a bcrypt user and an API key ----------------------------------------------------
PASSWORD=pw-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
SECRET=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
hash=$(echo "$PASSWORD" | "$AUTHTOOL" hash - 4) || it_fail "authtool hash failed"
read -r APIKEY keyhash < <("$AUTHTOOL" apikey) || it_fail "authtool apikey failed"
[ -n "$APIKEY" ] && [ ${#keyhash} = 64 ] || it_fail "authtool apikey printed '$APIKEY $keyhash'"
PORT=$(it_free_port tcp)
cat >core.json <<JSON
{
  "listen_addr": "127.0.0.1:$PORT",
  "netflow": {
    "clickhouse_url": "$CH_URL", "clickhouse_user": "$CH_READER_USER",
    "clickhouse_password": "$CH_READER_PASSWORD", "clickhouse_database": "netflow",
    "iceberg_catalog": "file://$WH", "iceberg_table": "default.netflow",
    "realtime_threshold": "6h", "hot_retention": "3d", "duckdb_threads": 2,
    "duckdb_memory_limit": "512MB"
  },
  "auth": {
    "enabled": true, "jwt_secret": "$SECRET", "jwt_expiration": "1h",
    "local_users": {"admin": "$hash"}, "api_keys": {"it": "$keyhash"},
    "login_max_failures": 3, "login_window": "1m"
  },
  "log_level": "info"
}
JSON
"$CORE" -c core.json 2>core.log &
CORE_PID=$!
IT_PIDS+=("$CORE_PID")
BASE=http://127.0.0.1:$PORT
it_wait_for curl -fsS "$BASE/healthz" >/dev/null || it_fail "core did not start: $(cat core.log)"

# status URL [curl args...] — prints the HTTP status; the body goes to body.out
status() {
    local url=$1
    shift
    curl -sS -o body.out -w '%{http_code}' "$@" "$BASE$url"
}

# ---- authentication ------------------------------------------------------------------------
Q='/api/netflow/realtime?time_range=last_1h&group_by=protocol'
it_expect "no credentials" "$(status "$Q")" 401
[ "$(jq -r .error.message body.out)" != null ] || it_fail "401 without a JSON error: $(cat body.out)"
it_expect "fields without credentials" "$(status /api/netflow/fields)" 401
it_expect "garbage token" "$(status "$Q" -H 'Authorization: Bearer abc.def.ghi')" 401
wrong=$("$AUTHTOOL" token "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" admin access 3600)
it_expect "token of another secret" "$(status "$Q" -H "Authorization: Bearer $wrong")" 401
expired=$("$AUTHTOOL" token "$SECRET" admin access 60 $((now - 3600)))
it_expect "expired token" "$(status "$Q" -H "Authorization: Bearer $expired")" 401
grep -q expired body.out || it_fail "expired token: $(cat body.out)"
refresh_kind=$("$AUTHTOOL" token "$SECRET" admin refresh 3600)
it_expect "refresh token on /api" "$(status "$Q" -H "Authorization: Bearer $refresh_kind")" 401
it_expect "wrong API key" "$(status "$Q" -H "X-API-Key: nope-$APIKEY")" 401
it_expect "basic scheme" "$(status "$Q" -H 'Authorization: Basic YWRtaW46YWRtaW4=')" 401

jq -n --arg p "$PASSWORD" '{username: "admin", password: $p}' >login.json
it_expect "login" "$(status /auth/login -X POST -H 'Content-Type: application/json' --data-binary @login.json)" 200
TOKEN=$(jq -r .access_token body.out)
RTOKEN=$(jq -r .refresh_token body.out)
[ "$(jq -r .expires_at body.out)" != null ] || it_fail "login answer without expires_at: $(cat body.out)"
AUTH=(-H "Authorization: Bearer $TOKEN")
it_expect "access token works" "$(status "$Q" "${AUTH[@]}")" 200
it_expect "API key works" "$(status "$Q" -H "X-API-Key: $APIKEY")" 200
it_expect "refresh with an access token" "$(status /auth/refresh -X POST --data-binary "{\"refresh_token\":\"$TOKEN\"}")" 401
it_expect "refresh" "$(status /auth/refresh -X POST --data-binary "{\"refresh_token\":\"$RTOKEN\"}")" 200
T2=$(jq -r .access_token body.out)
it_expect "refreshed token works" "$(status "$Q" -H "Authorization: Bearer $T2")" 200
it_expect "login without a body" "$(status /auth/login -X POST)" 400
it_expect "GET on login" "$(status /auth/login)" 405
head -c 70000 /dev/zero | tr '\0' a >big.body
it_expect "oversized body" "$(status /auth/login -X POST --data-binary @big.body)" 413

# ---- realtime = historical = auto ------------------------------------------------------------
# results URL — the results array of a JSON answer (as compact JSON), failing on non-200.
results() {
    local code
    code=$(status "$1" "${AUTH[@]}")
    [ "$code" = 200 ] || it_fail "$1: HTTP $code: $(cat body.out)"
    jq -c '[.results[] | del(.spike)]' body.out
}
backend_of() { jq -r .backend body.out; }
s=$((now - 2 * 86400 + 600)) e=$((now + 1))
mid=$((now - 30 * 3600 - 7 * 60))
compared=0
same3() { # same3 PARAMS — realtime, historical and auto (stitched when long) agree
    local p=$1 rt hi au
    rt=$(results "/api/netflow/realtime?$p")
    [ "$(backend_of)" = clickhouse ] || it_fail "realtime backend $(backend_of)"
    hi=$(results "/api/netflow/historical?$p")
    [ "$(backend_of)" = iceberg ] || it_fail "historical backend $(backend_of)"
    au=$(results "/api/netflow?$p")
    [ "$rt" != "[]" ] || it_fail "$p: empty answer (realtime: $(head -c 300 body.out))"
    [ "$rt" = "$hi" ] || it_fail "$p: realtime and historical differ: $(diff <(echo "$rt" | jq .) <(echo "$hi" | jq .) | head -6)"
    [ "$au" = "$hi" ] || it_fail "$p: auto ($(backend_of)) and historical differ: $(diff <(echo "$au" | jq .) <(echo "$hi" | jq .) | head -6)"
    compared=$((compared + 1))
}
for g in protocol dst_port exporter src_as in_if; do
    same3 "start=$s&end=$e&group_by=$g&limit=25"
done
same3 "start=$s&end=$e&group_by=dst_port&metric=packets&unscaled=true&limit=40"
same3 "start=$s&end=$e&group_by=time&interval=3600"
same3 "start=$s&end=$e&group_by=time&interval=300&metric=flows"
same3 "start=$s&end=$e&group_by=protocol&filter=dst_port=443&metric=flows"
same3 "start=$mid&end=$((now - 3 * 3600 + 17))&group_by=exporter&filter=protocol=udp"
# the long auto answers were stitched
status "/api/netflow?start=$s&end=$e&group_by=protocol" "${AUTH[@]}" >/dev/null
[ "$(backend_of)" = both ] || it_fail "long auto range: backend $(backend_of), want both"
[ "$(jq -r .boundary body.out)" != null ] || it_fail "stitched answer without boundary"
b_epoch=$(date -d "$(jq -r .boundary body.out)" +%s)
[ $((b_epoch % 3600)) = 0 ] && [ "$b_epoch" -gt "$s" ] && [ "$b_epoch" -lt "$now" ] ||
    it_fail "boundary $(jq -r .boundary body.out) is not a whole hour inside the range"
# an old range: Iceberg alone, = historical
p="start=$s&end=$mid&group_by=dst_port&limit=15"
au=$(results "/api/netflow?$p")
[ "$(backend_of)" = iceberg ] || it_fail "old auto range: backend $(backend_of)"
[ "$au" = "$(results "/api/netflow/historical?$p")" ] || it_fail "old auto range differs from historical"
# a short recent range: ClickHouse alone, = realtime
p="time_range=last_1h&group_by=protocol"
au=$(results "/api/netflow?$p")
[ "$(backend_of)" = clickhouse ] || it_fail "short auto range: backend $(backend_of)"
[ "$au" = "$(results "/api/netflow/realtime?$p")" ] || it_fail "short auto range differs from realtime"
# realtime refuses what the hot tier does not hold (hot_retention 3d)
it_expect "realtime too old" "$(status "/api/netflow/realtime?time_range=last_7d&group_by=protocol" "${AUTH[@]}")" 400
it_expect "realtime too old: parameter" "$(jq -r .error.parameter body.out)" time_range
# time travel by snapshot id on historical
snap=$(sed -n 's/.*"snapshot_id": \([0-9]*\).*/\1/p' cold.json)
p="start=$s&end=$e&group_by=protocol&snapshot=$snap"
[ "$(results "/api/netflow/historical?$p")" = "$(results "/api/netflow/historical?start=$s&end=$e&group_by=protocol")" ] ||
    it_fail "snapshot $snap differs from the current one (a single load)"
it_expect "unknown snapshot" "$(status "/api/netflow/historical?start=$s&end=$e&group_by=protocol&snapshot=12345" "${AUTH[@]}")" 404
it_expect "unknown snapshot: parameter" "$(jq -r .error.parameter body.out)" snapshot

# ---- recent flows: the newest raw rows, = ClickHouse's own newest rows --------------------------
# flows_tsv PARAMS — the API's rows as ClickHouse's TabSeparated text (time as epoch seconds)
flows_tsv() {
    local code
    code=$(status "/api/netflow/flows?$1" "${AUTH[@]}")
    [ "$code" = 200 ] || it_fail "flows $1: HTTP $code: $(cat body.out)"
    jq -r '.results[] | [(.timestamp | fromdateiso8601), .src_ip, .dst_ip, .src_port, .dst_port,
        .protocol, .bytes, .packets, .exporter, .in_if, .out_if, .sampling_rate] | @tsv' body.out
}
# ch_flows WHERE LIMIT — the same question asked of ClickHouse directly
ch_flows() {
    it_ch "SELECT toUInt32(timestamp), src_ip, dst_ip, src_port, dst_port, protocol, bytes, packets,
        exporter_ip, in_if, out_if, sampling_rate FROM netflow.netflow
        WHERE timestamp >= toDateTime($s) AND timestamp < toDateTime($e) $1
        ORDER BY timestamp DESC, src_addr, dst_addr, src_port, dst_port LIMIT $2"
}
for spec in "50||" "700||" "1000|dst_port=53|AND dst_port = 53" \
    "30|protocol=udp,src_ip=10.0.0.0/8|AND protocol = 17 AND src_addr >= toFixedString(unhex('00000000000000000000FFFF0A000000'), 16) AND src_addr <= toFixedString(unhex('00000000000000000000FFFF0AFFFFFF'), 16)"; do
    IFS='|' read -r lim flt where <<<"$spec"
    got=$(flows_tsv "start=$s&end=$e&limit=$lim${flt:+&filter=$flt}")
    want=$(ch_flows "$where" "$lim")
    [ -n "$want" ] || it_fail "flows $spec: ClickHouse has no such rows (test data)"
    [ "$got" = "$want" ] || it_fail "flows $spec: the API's rows differ from ClickHouse's: $(diff <(echo "$got") <(echo "$want") | head -4)"
    compared=$((compared + 1))
done
[ "$(jq -r .backend body.out)" = clickhouse ] || it_fail "flows backend $(jq -r .backend body.out)"
code=$(curl -sS -D csv.h -o csv.out -w '%{http_code}' "${AUTH[@]}" "$BASE/api/netflow/flows?start=$s&end=$e&limit=40&format=csv")
[ "$code" = 200 ] && grep -qi '^content-type: text/csv' csv.h || it_fail "flows csv: HTTP $code"
status "/api/netflow/flows?start=$s&end=$e&limit=40" "${AUTH[@]}" >/dev/null
jq -r '(.results[0] | keys_unsorted) as $k | ($k | join(",")),
       (.results[] | [.[$k[]]] | map(if type == "string" then "\"" + . + "\"" else tostring end) | join(","))' \
    body.out >json.csv
tr -d '\r' <csv.out | cmp -s - json.csv || it_fail "flows csv differs from JSON: $(diff <(tr -d '\r' <csv.out) json.csv | head -4)"
it_expect "flows: old range" "$(status "/api/netflow/flows?time_range=last_7d" "${AUTH[@]}")" 400
it_expect "flows: old range parameter" "$(jq -r .error.parameter body.out)" time_range
it_expect "flows: group_by" "$(status "/api/netflow/flows?group_by=src_ip" "${AUTH[@]}")" 400
it_expect "flows: limit" "$(status "/api/netflow/flows?limit=1001" "${AUTH[@]}")" 400
it_expect "flows: no credentials" "$(status "/api/netflow/flows")" 401

# ---- concurrency: parallel requests on both tiers give the sequential answers --------------
p="start=$s&end=$e&group_by=dst_port&limit=50&metric=packets"
want_rt=$(results "/api/netflow/realtime?$p")
pids=()
for k in $(seq 1 12); do
    route=realtime
    [ $((k % 2)) = 0 ] && route=historical
    [ $((k % 3)) = 0 ] && route=""
    curl -sS -o "par-$k.json" -w '%{http_code}' "${AUTH[@]}" "$BASE/api/netflow${route:+/$route}?$p" >"par-$k.code" &
    pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done # not a bare wait: the servers are children too
for k in $(seq 1 12); do
    [ "$(cat "par-$k.code")" = 200 ] || it_fail "parallel request $k: HTTP $(cat "par-$k.code"): $(cat "par-$k.json")"
    [ "$(jq -c '[.results[] | del(.spike)]' "par-$k.json")" = "$want_rt" ] || it_fail "parallel request $k differs"
done

# ---- CSV = JSON ------------------------------------------------------------------------------
for p in "start=$s&end=$e&group_by=dst_port&limit=30" "start=$s&end=$e&group_by=time&interval=3600" \
    "start=$s&end=$e&group_by=src_ip&limit=20&metric=packets"; do
    for route in /realtime /historical ""; do # "": auto, stitched over this range
        code=$(curl -sS -D csv.h -o csv.out -w '%{http_code}' "${AUTH[@]}" "$BASE/api/netflow$route?$p&format=csv")
        [ "$code" = 200 ] || it_fail "csv $route $p: HTTP $code $(cat csv.out)"
        grep -qi '^content-type: text/csv' csv.h || it_fail "csv content type: $(cat csv.h)"
        grep -qi '^content-disposition: attachment' csv.h || it_fail "csv without attachment"
        status "/api/netflow$route?$p" "${AUTH[@]}" >/dev/null
        jq -r '(.results[0] | keys_unsorted) as $k | ($k | join(",")),
               (.results[] | [.[$k[]]] | map(if type == "string" then "\"" + . + "\"" else tostring end) | join(","))' \
            body.out >json.csv
        tr -d '\r' <csv.out | cmp -s - json.csv ||
            it_fail "csv $route $p differs from JSON: $(diff <(tr -d '\r' <csv.out) json.csv | head -4)"
        [ "$(wc -l <json.csv)" -gt 1 ] || it_fail "csv $route $p: no rows"
    done
done
# the series carries spike flags in JSON
status "/api/netflow/historical?start=$s&end=$e&group_by=time&interval=3600" "${AUTH[@]}" >/dev/null
[ "$(jq '[.results[] | has("spike")] | all' body.out)" = true ] || it_fail "series without spike flags"

# ---- hostile parameters ----------------------------------------------------------------------
long=$(head -c 2000 /dev/zero | tr '\0' x)
hostile=(
    "group_by=src_ip;drop%20table%20x|group_by"
    "group_by=src_ip'--|group_by"
    "group_by=src_ip&group_by=dst_ip|group_by"
    "group_by=|group_by"
    "time_range=last_1h|group_by"
    "group_by=protocol&time_range=last_2y|time_range"
    "group_by=protocol&time_range=last_1h&start=1700000000&end=1700003600|time_range"
    "group_by=protocol&start=1700000000|end"
    "group_by=protocol&start=1700003600&end=1700000000|end"
    "group_by=protocol&start=yesterday&end=1700000000|start"
    "group_by=protocol&start=1700000000&end=99999999999|end"
    "group_by=protocol&start=-5&end=1700000000|start"
    "group_by=protocol&limit=0|limit"
    "group_by=protocol&limit=10001|limit"
    "group_by=protocol&limit=1e3|limit"
    "group_by=protocol&limit=10;select|limit"
    "group_by=time&limit=5|limit"
    "group_by=protocol&interval=60|interval"
    "group_by=time&interval=0|interval"
    "group_by=time&interval=1s&time_range=last_30d|interval"
    "group_by=time&interval=abc|interval"
    "group_by=protocol&metric=bits|metric"
    "group_by=protocol&metric=bytes)%20or%201=1|metric"
    "group_by=protocol&unscaled=yes|unscaled"
    "group_by=protocol&format=xml|format"
    "group_by=protocol&filter=src_ip=10.0.0.0/33|filter"
    "group_by=protocol&filter=src_ip=1.2.3.4'%20or%20'1'='1|filter"
    "group_by=protocol&filter=dst_port=70000|filter"
    "group_by=protocol&filter=protocol=tcpx|filter"
    "group_by=protocol&filter=nosuch=1|filter"
    "group_by=protocol&filter=|filter"
    "group_by=protocol&filter=dst_port=1,,dst_port=2|filter"
    "group_by=protocol&filter=in_if=4294967296|filter"
    "group_by=protocol&snapshot=0|snapshot"
    "group_by=protocol&as_of=1700000000|as_of"
    "group_by=protocol&bogus=1|bogus"
    "group_by=protocol&metric=$long|metric"
    "group_by=protocol&metric=a%0Ab|metric"
)
# Generated: every checked parameter with payloads of every kind (injection, quoting,
# comments, huge numbers, control bytes, unicode, empty, overlong), on top of the cases above.
payloads=("1'%20OR%20'1'='1" "1;DROP%20TABLE%20netflow" "1)%20UNION%20SELECT%201--" "%27" "%22"
    "1/*x*/" "99999999999999999999999" "-1" "%00" "%0d%0aX:1" "%E2%80%AE" "$long" "1e308"
    "0x10" "%20" "NULL")
for pl in "${payloads[@]}"; do
    hostile+=("group_by=$pl|group_by" "group_by=protocol&metric=$pl|metric"
        "group_by=protocol&limit=$pl|limit" "group_by=protocol&filter=src_ip=$pl|filter"
        "group_by=protocol&filter=dst_port=$pl|filter" "group_by=protocol&start=$pl&end=1700000000|start"
        "group_by=time&interval=$pl|interval" "group_by=protocol&format=$pl|format")
done
# "nothing executed": the core's own count of backend queries does not move
backend_queries() {
    curl -fsS "$BASE/metrics" |
        awk '/^serviceradar_core_backend_queries_total\{/ { n += $2 } END { print n + 0 }'
}
queries_before=$(backend_queries)
i=0
for h in "${hostile[@]}"; do
    q=${h%|*} want=${h##*|}
    code=$(status "/api/netflow/realtime?$q" "${AUTH[@]}")
    [ "$code" = 400 ] || it_fail "hostile '$q': HTTP $code, want 400: $(head -c 300 body.out)"
    got=$(jq -r .error.parameter body.out)
    [ "$got" = "$want" ] || it_fail "hostile '$q': parameter '$got', want '$want': $(cat body.out)"
    i=$((i + 1))
done
[ "$i" -ge 100 ] || it_fail "only $i hostile parameter sets"
it_expect "backend queries run for hostile requests" "$(backend_queries)" "$queries_before"
# time travel is refused on realtime, too many parameters
it_expect "snapshot on realtime" "$(status "/api/netflow/realtime?group_by=protocol&snapshot=5" "${AUTH[@]}")" 400
it_expect "snapshot and as_of" "$(status "/api/netflow/historical?group_by=protocol&snapshot=1&as_of=1700000000" "${AUTH[@]}")" 400
[ "$(jq -r .error.parameter body.out)" != null ] || it_fail "snapshot and as_of: $(cat body.out)"
many="group_by=protocol"
for k in $(seq 1 70); do many="$many&filter=dst_port=$k"; done
it_expect "too many parameters" "$(status "/api/netflow/realtime?$many" "${AUTH[@]}")" 400
kill -0 "$CORE_PID" 2>/dev/null || it_fail "core died during the hostile requests: $(tail -5 core.log)"
it_expect "still answering" "$(status "$Q" "${AUTH[@]}")" 200
it_expect "unknown route" "$(status /api/nope "${AUTH[@]}")" 404
it_expect "fields" "$(status /api/netflow/fields "${AUTH[@]}")" 200
[ "$(jq -r '.metrics | join(",")' body.out)" = "bytes,packets,flows" ] || it_fail "fields: $(cat body.out)"

# ---- login rate limit ------------------------------------------------------------------------
jq -n '{username: "admin", password: "wrong"}' >bad-login.json
for k in 1 2 3; do
    it_expect "wrong password $k" "$(status /auth/login -X POST --data-binary @bad-login.json)" 401
done
code=$(curl -sS -D rl.h -o body.out -w '%{http_code}' -X POST --data-binary @login.json "$BASE/auth/login")
it_expect "blocked login (even with the right password)" "$code" 429
ra=$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9]*\).*/\1/p' rl.h)
[ -n "$ra" ] && [ "$ra" -ge 1 ] && [ "$ra" -le 60 ] || it_fail "429 Retry-After '$ra'"

# ---- metrics ------------------------------------------------------------------------------
curl -fsS "$BASE/metrics" >metrics.txt || it_fail "/metrics"
n400=$(sed -n 's/^serviceradar_core_http_requests_total{route="netflow_realtime",status="400"} \([0-9]*\)$/\1/p' metrics.txt)
[ "$n400" -ge $((i + 2)) ] || it_fail "metrics count $n400 realtime 400s, want >= $((i + 2))"
grep -q '^serviceradar_core_http_requests_total{route="auth_login",status="429"} 1$' metrics.txt ||
    it_fail "metrics: no login 429: $(grep auth_login metrics.txt)"
grep -q '^serviceradar_core_stitched_queries_total [1-9]' metrics.txt || it_fail "metrics: no stitched query"

# ---- a hot tier shorter than the stitch boundary: the answer says it is incomplete ------------
PORT3=$(it_free_port tcp)
jq --arg la "127.0.0.1:$PORT3" '.listen_addr = $la | .auth = {"enabled": false}
    | .netflow.hot_retention = "1h" | .netflow.realtime_threshold = "1h"' core.json >core-short.json
"$CORE" -c core-short.json 2>core-short.log &
SHORT_PID=$!
IT_PIDS+=("$SHORT_PID")
SAVED_BASE=$BASE
BASE=http://127.0.0.1:$PORT3
it_wait_for curl -fsS "$BASE/healthz" >/dev/null || it_fail "core (short) did not start: $(cat core-short.log)"
if [ $((now % 3600)) -gt 60 ]; then # B = hour - 1 h lies before now - 1 h
    it_expect "short hot tier: stitched" "$(status "/api/netflow?start=$s&end=$e&group_by=protocol")" 200
    it_expect "short hot tier: backend" "$(backend_of)" both
    it_expect "short hot tier: incomplete" "$(jq -r .incomplete body.out)" true
fi
it_expect "short hot tier: realtime last_6h" "$(status "/api/netflow/realtime?time_range=last_6h&group_by=protocol")" 400
it_expect "short hot tier: recent range complete" "$(status "/api/netflow?time_range=last_15m&group_by=protocol")" 200
it_expect "short hot tier: recent backend" "$(backend_of)" clickhouse
it_expect "short hot tier: recent not incomplete" "$(jq -r .incomplete body.out)" null
kill "$SHORT_PID"
wait "$SHORT_PID" || it_fail "core (short) exited with $? on SIGTERM: $(tail -5 core-short.log)"
IT_PIDS=("${IT_PIDS[@]/$SHORT_PID/}")
BASE=$SAVED_BASE

# ---- HTTPS, auth off, cold tier missing ----------------------------------------------------------
"$IT_SRC/scripts/certs.sh" "$IT_WORK/certs" core >/dev/null || it_fail "certs.sh failed"
PORT2=$(it_free_port tcp)
mkdir -p "$IT_WORK/empty-wh"
jq --arg la "127.0.0.1:$PORT2" --arg wh "file://$IT_WORK/empty-wh" --arg cd "$IT_WORK/certs" \
    '.listen_addr = $la | .netflow.iceberg_catalog = $wh | .auth = {"enabled": false}
     | .security = {"cert_dir": $cd, "tls": {"cert_file": "core.pem", "key_file": "core-key.pem"}}
     | .static_dir = $cd + "/../www"' \
    core.json >core-tls.json
mkdir -p "$IT_WORK/www/js"
echo -n '<html>netflow ui</html>' >"$IT_WORK/www/index.html"
echo -n 'console.log(1)' >"$IT_WORK/www/js/app.js"
ln -s "$IT_WORK" "$IT_WORK/www/link" # a symlink out of static_dir is not followed out
"$CORE" -c core-tls.json 2>core-tls.log &
TLS_PID=$!
IT_PIDS+=("$TLS_PID")
BASE=https://127.0.0.1:$PORT2
CURL_TLS=(--cacert "$IT_WORK/certs/root.pem")
it_wait_for curl -fsS "${CURL_TLS[@]}" "$BASE/healthz" >/dev/null || it_fail "TLS core did not start: $(cat core-tls.log)"
! curl -fsS "http://127.0.0.1:$PORT2/healthz" >/dev/null 2>&1 || it_fail "plain HTTP answered on the TLS port"
it_expect "auth off: no credentials needed" "$(status "$Q" "${CURL_TLS[@]}")" 200
it_expect "auth off: login" "$(status /auth/login "${CURL_TLS[@]}" -X POST --data-binary @login.json)" 404
# no cold table: a long range inside the hot tier comes from ClickHouse, an older one is a 503
p="time_range=last_24h&group_by=dst_port&limit=20"
it_expect "auto without cold tier" "$(status "/api/netflow?$p" "${CURL_TLS[@]}")" 200
[ "$(backend_of)" = clickhouse ] || it_fail "auto without cold tier: backend $(backend_of)"
au=$(jq -c '.results' body.out)
status "/api/netflow/realtime?$p" "${CURL_TLS[@]}" >/dev/null
[ "$au" = "$(jq -c '.results' body.out)" ] || it_fail "auto without cold tier differs from realtime"
it_expect "auto, old range, no cold tier" "$(status "/api/netflow?time_range=last_7d&group_by=protocol" "${CURL_TLS[@]}")" 503
it_expect "historical, no table" "$(status "/api/netflow/historical?time_range=last_1h&group_by=protocol" "${CURL_TLS[@]}")" 404
# static files of the web UI (static_dir), and nothing outside it
it_expect "static index" "$(status / "${CURL_TLS[@]}")" 200
it_expect "static index body" "$(cat body.out)" "<html>netflow ui</html>"
code=$(curl -sS -o body.out -D st.h -w '%{http_code}' "${CURL_TLS[@]}" "$BASE/js/app.js")
it_expect "static js" "$code" 200
grep -qi '^content-type: text/javascript' st.h || it_fail "static js type: $(cat st.h)"
it_expect "static js body" "$(cat body.out)" "console.log(1)"
for p in /../core.json /js/../../core.json /%2e%2e/core.json /js/%2E%2E/%2e%2e/core.json /link/core.json \
    /nope.html /js/ /js; do
    code=$(curl -sS --path-as-is -o body.out -w '%{http_code}' "${CURL_TLS[@]}" "$BASE$p")
    [ "$code" = 404 ] || it_fail "static $p: HTTP $code: $(head -c 200 body.out)"
done
kill "$TLS_PID"
wait "$TLS_PID" || it_fail "TLS core exited with $? on SIGTERM: $(tail -5 core-tls.log)"
IT_PIDS=("${IT_PIDS[@]/$TLS_PID/}")

kill "$CORE_PID"
wait "$CORE_PID" || it_fail "core exited with $? on SIGTERM: $(tail -5 core.log)"
IT_PIDS=("${IT_PIDS[@]/$CORE_PID/}")
echo "PASS core_api (auth, $compared questions realtime = historical = auto/stitched, CSV = JSON, $i hostile parameter sets, rate limit, metrics, 12 parallel requests, incomplete stitch, HTTPS, cold tier missing, static files)"

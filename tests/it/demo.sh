#!/usr/bin/env bash
# demo.sh BUILD_DIR — the README's main command works: ./run.sh starts nats-server,
# ClickHouse, the checker, the agent, the poller, the ClickHouse writer, the Iceberg catalog
# the Parquet writer and serviceradar-core over mTLS with flowgen traffic; flows of all three
# export protocols come back out of JetStream (serviceradar-flowtail) and are printed, and
# land in ClickHouse and in the Iceberg table; every component serves metrics; the core
# answers with the printed login (its totals = ClickHouse's) and /api/netflow/status shows
# every hop up with its counters and the writers' lag; Ctrl-C (SIGINT) stops everything
# cleanly with the totals.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
mapfile -t ports < <(it_free_port tcp 14)
export NF_DEMO_PORT=$(it_free_port udp) NF_DEMO_CHECKER_GRPC=${ports[0]}
export NF_DEMO_AGENT_GRPC=${ports[1]} NF_DEMO_NATS_PORT=${ports[2]} NF_DEMO_NATS_MONITOR=${ports[3]}
export NF_DEMO_METRICS=127.0.0.1:${ports[4]} NF_DEMO_AGENT_METRICS=${ports[5]}
export NF_DEMO_POLLER_METRICS=${ports[6]} NF_DEMO_CH_HTTP=${ports[7]} NF_DEMO_CH_TCP=${ports[8]}
export NF_DEMO_WRITER_METRICS=${ports[9]} NF_DEMO_RATE=300 NF_DEMO_STATE=$IT_WORK/state
export NF_DEMO_PQ_METRICS=${ports[10]} NF_DEMO_CATALOG=${ports[11]}
export NF_DEMO_CATALOG_METRICS=${ports[12]} NF_DEMO_CORE=${ports[13]}
# setsid: run.sh gets its own process group, so the SIGINT below reaches only it and its
# children, as a terminal's Ctrl-C would.
setsid "$root/run.sh" >"$IT_WORK/out.txt" 2>"$IT_WORK/err.txt" &
demo=$!
IT_PIDS+=("$demo")
it_wait_until '[ "$(grep -c " -> " "$IT_WORK/out.txt")" -ge 60 ]' 240 ||
    it_fail "no flows came out of the stream: $(tail -5 "$IT_WORK/err.txt"; tail -n 3 "$IT_WORK"/state/*.log)"
for proto in v5 v9 ipfix; do
    it_wait_until "grep -q ' $proto ' '$IT_WORK/out.txt'" 30 || it_fail "no $proto flow printed"
done
grep -q ' demo-agent:[0-9]*$' "$IT_WORK/out.txt" || it_fail "lines do not name agent and sequence"
# Fetched whole first: `curl | grep -q` fails under pipefail when grep stops reading early
# (curl: (23) Failed writing body).
scrape() { curl -fsS "$1" || true; }
grep -q '^netflow_checker_flows_decoded_total [1-9]' <<<"$(scrape "http://$NF_DEMO_METRICS/metrics")" ||
    it_fail "checker metrics not served"
grep -q '^serviceradar_agent' <<<"$(scrape "http://127.0.0.1:$NF_DEMO_AGENT_METRICS/metrics")" ||
    it_fail "agent metrics not served"
grep -q '^serviceradar_poller_records_published_total{agent="demo-agent"} [1-9]' \
    <<<"$(scrape "http://127.0.0.1:$NF_DEMO_POLLER_METRICS/metrics")" ||
    it_fail "poller metrics do not show published records"
# ClickHouse holds the flows too (the reader's password is in the demo's state).
reader_pw=$(sed -n 's/^reader=//p' "$IT_WORK/state/clickhouse/passwords")
ch_rows() {
    curl -fsS -H "X-ClickHouse-User: netflow_reader" -H "X-ClickHouse-Key: $reader_pw" \
        "http://127.0.0.1:$NF_DEMO_CH_HTTP/" --data-binary "SELECT count() FROM netflow.netflow"
}
it_wait_until '[ "$(ch_rows)" -ge 60 ]' 60 || it_fail "no flows in ClickHouse: $(tail -3 "$IT_WORK/state/writer.log")"
it_wait_until "grep -q '^clickhouse: [0-9]* flows stored; top sources' '$IT_WORK/err.txt'" 30 ||
    it_fail "no ClickHouse status line"
# …and the Iceberg table (the writer commits every 30 s), as the status line says.
it_wait_until "grep -q '^iceberg: [1-9][0-9]* flows committed' '$IT_WORK/err.txt'" 90 ||
    it_fail "no flows in the Iceberg table: $(tail -3 "$IT_WORK/state/parquet.log")"
# The core: the login run.sh printed, an answer equal to ClickHouse's, the pipeline status.
grep -q "^core         http://127.0.0.1:$NF_DEMO_CORE  (user admin, password " "$IT_WORK/err.txt" ||
    it_fail "run.sh did not print the core's URL and login"
pw=$(sed -n 's/^core .*(user admin, password \([0-9a-f]*\)).*/\1/p' "$IT_WORK/err.txt")
core="http://127.0.0.1:$NF_DEMO_CORE"
token=$(jq -n --arg p "$pw" '{username: "admin", password: $p}' |
    curl -fsS --data-binary @- "$core/auth/login" | jq -r .access_token) || it_fail "login with the printed password"
[ -n "$token" ] && [ "$token" != null ] || it_fail "no token"
it_wait_until "grep -q '^clickhouse: [1-9][0-9]* flows stored' '$IT_WORK/err.txt'" 30 ||
    it_fail "no ClickHouse line from the core's API: $(grep '^clickhouse' "$IT_WORK/err.txt" | tail -2)"
# Totals in an hour that is over: the same in the core's answer and in ClickHouse.
now=$(date +%s)
s=$((now - 3600)) e=$((now - 20)) # flows reach ClickHouse within seconds
api_flows=$(curl -fsS -H "Authorization: Bearer $token" \
    "$core/api/netflow/realtime?start=$s&end=$e&group_by=protocol&metric=flows" |
    jq '[.results[] | [.[]][1]] | add') || it_fail "core query failed"
ch_flows=$(curl -fsS -H "X-ClickHouse-User: netflow_reader" -H "X-ClickHouse-Key: $reader_pw" \
    "http://127.0.0.1:$NF_DEMO_CH_HTTP/" --data-binary \
    "SELECT count() FROM netflow.netflow WHERE timestamp >= toDateTime($s) AND timestamp < toDateTime($e)") ||
    it_fail "ClickHouse count failed"
it_expect "flows in the last hour: core = ClickHouse" "$api_flows" "$ch_flows"
curl -fsS -H "Authorization: Bearer $token" "$core/api/netflow/status" >status.json ||
    it_fail "/api/netflow/status"
it_expect "status: hops" "$(jq '.hops | length' status.json)" 6
it_expect "status: hops up" "$(jq '[.hops[] | select(.up)] | length' status.json)" 6
for role in checker poller clickhouse_writer parquet_writer; do
    [ "$(jq --arg r "$role" '.hops[] | select(.role == $r) | .received' status.json)" -gt 0 ] ||
        it_fail "status: $role received nothing: $(jq -c . status.json)"
done
[ "$(jq '.hops[] | select(.role == "checker") | .decoded' status.json)" -gt 0 ] || it_fail "status: nothing decoded"
it_wait_until "curl -fsS -H 'Authorization: Bearer $token' '$core/api/netflow/status' | jq -e '[.hops[] | select(.lag)] | length == 2' >/dev/null" 30 ||
    it_fail "status: the writers' lag is missing: $(jq -c '.hops[] | select(.role | test("writer"))' status.json)"
it_expect "status: dropped" "$(jq .dropped_total status.json)" 0
it_expect "status: clickhouse up" "$(jq .tiers.clickhouse.up status.json)" true
it_expect "status: iceberg up" "$(jq .tiers.iceberg.up status.json)" true
grep -q '^pipeline: dropped 0; clickhouse-writer lag [0-9]* msgs, parquet-writer lag [0-9]* msgs; down: none' "$IT_WORK/err.txt" ||
    it_wait_until "grep -q '^pipeline: dropped 0; .*down: none' '$IT_WORK/err.txt'" 30 ||
    it_fail "no pipeline line: $(grep '^pipeline' "$IT_WORK/err.txt" | tail -2)"
kill -INT -- "-$demo"
wait "$demo" || true
grep -q "decode_errors=0" "$IT_WORK/err.txt" ||
    it_fail "no clean checker totals: $(tail -3 "$IT_WORK/err.txt")"
grep -q "records printed" "$IT_WORK/err.txt" || it_fail "no flowtail totals"
grep -q "stopping" "$IT_WORK/state/checker.log" || it_fail "the checker did not stop cleanly"
echo "PASS demo ($(grep -c ' -> ' "$IT_WORK/out.txt") flows through the spine and back out of JetStream; the core's answers = ClickHouse; status of 6 hops)"

#!/usr/bin/env bash
# demo.sh BUILD_DIR — the README's main command works: ./run.sh starts nats-server,
# ClickHouse, the checker, the agent, the poller, the ClickHouse writer, the Iceberg catalog
# and the Parquet writer over mTLS with flowgen traffic; flows of all three export protocols
# come back out of JetStream (serviceradar-flowtail) and are printed, and land in ClickHouse
# and in the Iceberg table; every component serves metrics; Ctrl-C (SIGINT) stops everything cleanly with the totals.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
mapfile -t ports < <(it_free_port tcp 13)
export NF_DEMO_PORT=$(it_free_port udp) NF_DEMO_CHECKER_GRPC=${ports[0]}
export NF_DEMO_AGENT_GRPC=${ports[1]} NF_DEMO_NATS_PORT=${ports[2]} NF_DEMO_NATS_MONITOR=${ports[3]}
export NF_DEMO_METRICS=127.0.0.1:${ports[4]} NF_DEMO_AGENT_METRICS=${ports[5]}
export NF_DEMO_POLLER_METRICS=${ports[6]} NF_DEMO_CH_HTTP=${ports[7]} NF_DEMO_CH_TCP=${ports[8]}
export NF_DEMO_WRITER_METRICS=${ports[9]} NF_DEMO_RATE=300 NF_DEMO_STATE=$IT_WORK/state
export NF_DEMO_PQ_METRICS=${ports[10]} NF_DEMO_CATALOG=${ports[11]}
export NF_DEMO_CATALOG_METRICS=${ports[12]}
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
kill -INT -- "-$demo"
wait "$demo" || true
grep -q "decode_errors=0" "$IT_WORK/err.txt" ||
    it_fail "no clean checker totals: $(tail -3 "$IT_WORK/err.txt")"
grep -q "records printed" "$IT_WORK/err.txt" || it_fail "no flowtail totals"
grep -q "stopping" "$IT_WORK/state/checker.log" || it_fail "the checker did not stop cleanly"
echo "PASS demo ($(grep -c ' -> ' "$IT_WORK/out.txt") flows through the spine and back out of JetStream)"

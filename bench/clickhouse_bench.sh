#!/usr/bin/env bash
# clickhouse_bench.sh BUILD_DIR [FLOWS] [WRITER_FLOWS] — the ClickHouse hot tier against the
# PRD's naive schema (§3.2.6), on the same data, in one run:
#
#   0. ingest at live density: LIVE_FLOWS (10 M) flows as dense as traffic arriving at
#      300 k flows/s, RowBinary into the ingest table of a scratch database (chload insert
#      --rate): rows/s and clickhouse-server CPU per row, with the raw table, 13 rollups and
#      the ingest log all fed;
#   1. load FLOWS (100 M) realistic flows spread over the last 2 days into the hot tier's
#      ingest table the same way (a backfill: rollups gain more rows per insert): rows/s;
#   2. copy the same rows into the PRD's table (String addresses, ORDER BY (timestamp,
#      src_ip, dst_ip)) with INSERT … SELECT: rows/s;
#   3. bytes per flow on disk, both;
#   4. p50/p95 of the dashboard questions over the 2 days — top 10 by src_ip, dst_ip,
#      dst_port and protocol, and a 5-minute time series — through lib/query (bench runs:
#      20) and on the PRD table with the PRD's style of SQL (runs: 3; they are slow), plus
#      the PRD's own example query (last hour) on both;
#   5. the writer itself: WRITER_FLOWS (5 M) flows as FlowBatch messages in JetStream
#      (tests/tools/chload publish, live density), then serviceradar-netflow-clickhouse drains them: rows/s,
#      and CPU of the writer and of clickhouse-server.
#
# Queries run as the read-only user over HTTP; times are curl's wall time per query.
set -euo pipefail
build=$(cd "${1:?usage: clickhouse_bench.sh BUILD_DIR [FLOWS] [WRITER_FLOWS]}" && pwd)
flows=${2:-100000000}
writer_flows=${3:-5000000}
live_flows=${LIVE_FLOWS:-10000000}
source "$(dirname "$0")/../tests/it/lib.sh" "$build"
cd "$IT_WORK"
chload=$build/tests/tools/chload
tck=$(getconf CLK_TCK)
cpu_s() { sed 's/^.*) //' /proc/"$1"/stat | awk -v t="$tck" '{ printf "%.2f\n", ($12 + $13) / t }'; }
reader() {
    curl -fsS -H "X-ClickHouse-User: $CH_READER_USER" -H "X-ClickHouse-Key: $CH_READER_PASSWORD" \
        "$CH_URL/" --data-binary "$1"
}
it_start_clickhouse "$IT_WORK/ch"
now=$(date +%s)
start=$((now - 2 * 86400))

# 0. Ingest at live density: traffic arriving at 300 k flows/s (each insert covers about two
#    seconds, as the writer's do), into a database of its own that is dropped afterwards.
live_cpu0=$(cpu_s "$CH_PID")
"$chload" insert --url "$CH_URL" --user "$CH_WRITER_USER" --password "$CH_WRITER_PASSWORD" \
    --db live --rate 300000 --flows "$live_flows" >live.json
live_cpu=$(awk -v a="$live_cpu0" -v b="$(cpu_s "$CH_PID")" 'BEGIN { print b - a }')
it_ch "DROP DATABASE live"

# 1. The hot tier with 2 days of traffic (a backfill: each insert covers about 14 minutes).
"$chload" insert --url "$CH_URL" --user "$CH_WRITER_USER" --password "$CH_WRITER_PASSWORD" \
    --flows "$flows" >load.json
loaded=$(it_ch 'SELECT count() FROM netflow.netflow')
[ "$loaded" = "$flows" ] || it_fail "loaded $loaded of $flows"

# 2. The PRD's table, same rows (TTL left out: 18.16 has none).
it_ch "CREATE DATABASE IF NOT EXISTS prd"
it_ch "CREATE TABLE prd.netflow (timestamp DateTime, src_ip String, dst_ip String,
       src_port UInt16, dst_port UInt16, protocol UInt8, bytes UInt64) ENGINE = MergeTree()
       ORDER BY (timestamp, src_ip, dst_ip) PARTITION BY toDate(timestamp)"
t0=$(date +%s%N)
it_ch "INSERT INTO prd.netflow SELECT timestamp, src_ip, dst_ip, src_port, dst_port, protocol,
       bytes FROM netflow.netflow"
naive_secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { print (b - a) / 1e9 }')

# 3. Bytes per flow on disk (after the merges in flight settle).
sleep 20
disk() { it_ch "SELECT sum(bytes_on_disk) FROM system.parts WHERE active AND database = '$1' AND table LIKE '$2'"; }
raw_b=$(disk netflow netflow) rollup_b=$(disk netflow 'rollup_%') log_b=$(disk netflow ingest_log)
prd_b=$(disk prd netflow)

# 4. Queries.
# time_ms SQL RUNS — wall times in ms, one per line.
time_ms() {
    local i
    for i in $(seq 1 "$2"); do
        curl -fsS -o /dev/null -w '%{time_total}\n' -H "X-ClickHouse-User: $CH_READER_USER" \
            -H "X-ClickHouse-Key: $CH_READER_PASSWORD" "$CH_URL/" --data-binary "$1" |
            awk '{ printf "%.0f\n", $1 * 1000 }'
    done
}
# pct FILE P — the P-th percentile (nearest rank) of the numbers in FILE.
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; print v[i] }'; }
ours() { "$CHQUERY" --db netflow --start "$start" --end "$now" "$@"; }
naive_top() {
    echo "SELECT $1, SUM(bytes) AS total_bytes FROM prd.netflow WHERE timestamp >= toDateTime($start)
          AND timestamp < toDateTime($now) GROUP BY $1 ORDER BY total_bytes DESC LIMIT 10"
}
naive_series="SELECT toStartOfFiveMinute(timestamp) AS t, SUM(bytes) FROM prd.netflow
    WHERE timestamp >= toDateTime($start) AND timestamp < toDateTime($now) GROUP BY t ORDER BY t"
prd_example="SELECT src_ip, SUM(bytes) AS total_bytes FROM %s WHERE timestamp >= now() - INTERVAL 1 HOUR
    GROUP BY src_ip ORDER BY total_bytes DESC LIMIT 10"
rows_out=()
query_row() { # NAME OUR_SQL NAIVE_SQL
    reader "$2" >/dev/null && reader "$2" >/dev/null # warm up
    time_ms "$2" 20 >ours.ms
    reader "$3" >/dev/null
    time_ms "$3" 3 >naive.ms
    rows_out+=("$(printf '| %-24s | %6s | %6s | %8s | %8s |' "$1" "$(pct ours.ms 50)" \
        "$(pct ours.ms 95)" "$(pct naive.ms 50)" "$(pct naive.ms 95)")")
    summary_q+=("$1"$'\t'"$(pct ours.ms 95)"$'\t'"$(pct naive.ms 95)")
}
summary_q=()
query_row "top src_ip, 2 days" "$(ours --group-by src_ip --limit 10 --unscaled)" "$(naive_top src_ip)"
query_row "top dst_ip, 2 days" "$(ours --group-by dst_ip --limit 10 --unscaled)" "$(naive_top dst_ip)"
query_row "top dst_port, 2 days" "$(ours --group-by dst_port --limit 10 --unscaled)" "$(naive_top dst_port)"
query_row "top protocol, 2 days" "$(ours --group-by protocol --limit 10 --unscaled)" "$(naive_top protocol)"
query_row "5-min series, 2 days" "$(ours --group-by time --interval 300 --unscaled)" "$naive_series"
# shellcheck disable=SC2059
query_row "PRD example (last hour)" "$(printf "$prd_example" netflow.netflow)" \
    "$(printf "$prd_example" prd.netflow)"

# 5. The writer draining JetStream.
it_certs certs
it_start_nats nats "$(it_free_port tcp)" "$IT_WORK/certs"
"$chload" publish --nats "$NATS_URL" --certs "$IT_WORK/certs" --flows "$writer_flows" \
    --rate 300000 >publish.json
it_ch "TRUNCATE TABLE netflow.ingest_log" 2>/dev/null || true
before=$(it_ch 'SELECT count() FROM netflow.netflow')
WRITER_BATCH_SIZE=${WRITER_BATCH:-200000} WRITER_BATCH_INTERVAL=2s WRITER_CH_TIMEOUT=60s WRITER_ACK_WAIT=5m \
    it_writer_config "$IT_WORK" "$IT_WORK/certs"
ch_cpu0=$(cpu_s "$CH_PID")
t0=$(date +%s%N)
it_start_writer "$IT_WORK"
it_wait_until "[ \"\$(it_ch 'SELECT count() FROM netflow.netflow')\" -ge $((before + writer_flows)) ]" 1800 ||
    it_fail "the writer did not drain the stream: $(tail -3 writer.log)"
writer_secs=$(awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN { print (b - a) / 1e9 }')
writer_cpu=$(cpu_s "$WRITER_PID") ch_cpu=$(awk -v a="$ch_cpu0" -v b="$(cpu_s "$CH_PID")" 'BEGIN { print b - a }')
stored=$(( $(it_ch 'SELECT count() FROM netflow.netflow') - before ))

echo
echo "### ClickHouse $(it_ch 'SELECT version()'), $flows flows over 2 days"
echo
echo "| ingest                                   | rows        | seconds | rows/s    |"
echo "|------------------------------------------|-------------|---------|-----------|"
printf '| hot tier, live density (300 k/s)         | %11s | %7s | %9s |\n' "$live_flows" \
    "$(jq .seconds live.json)" "$(jq .rows_per_s live.json)"
printf '| hot tier, 2-day backfill                 | %11s | %7s | %9s |\n' "$flows" \
    "$(jq .seconds load.json)" "$(jq .rows_per_s load.json)"
printf '| PRD table (INSERT … SELECT, server-side) | %11s | %7.1f | %9.0f |\n' "$flows" "$naive_secs" \
    "$(awk -v f="$flows" -v s="$naive_secs" 'BEGIN { print f / s }')"
printf '| writer from JetStream (%s flows)   | %11s | %7.1f | %9.0f |\n' "$writer_flows" "$stored" \
    "$writer_secs" "$(awk -v f="$stored" -v s="$writer_secs" 'BEGIN { print f / s }')"
echo
echo "clickhouse-server CPU at live density: $(awk -v c="$live_cpu" -v f="$live_flows" 'BEGIN { printf "%.2f", c * 1e6 / f }') µs per row"
echo "writer CPU $writer_cpu s, clickhouse-server CPU $ch_cpu s while the writer drained $stored flows"
echo
echo "| bytes on disk per flow | hot tier raw | + rollups | + ingest log | PRD table |"
echo "|------------------------|--------------|-----------|--------------|-----------|"
awk -v f="$flows" -v r="$raw_b" -v u="$rollup_b" -v l="$log_b" -v p="$prd_b" 'BEGIN {
    printf "| %-22s | %12.2f | %9.2f | %12.2f | %9.2f |\n", "", r / f, u / f, l / f, p / f }'
echo
echo "| query (ms)               | ours p50 | ours p95 | PRD p50 | PRD p95 |"
echo "|--------------------------|--------|--------|----------|----------|"
printf '%s\n' "${rows_out[@]}"

# The closing table of bench/run.sh (bench/lib_summary.sh).
source "$IT_SRC/bench/lib_summary.sh"
live_rate=$(jq .rows_per_s live.json)
bench_row clickhouse "ingest at live density (RowBinary, all views), rows/s" "$live_rate" \
    "PRD table $(awk -v f="$flows" -v s="$naive_secs" 'BEGIN { printf "%.0f", f / s }') (server-side INSERT … SELECT, no views)" \
    "≥ 300 k" "$(bench_verdict "$(awk -v r="$live_rate" 'BEGIN { print (r >= 300000) }')")"
bench_row clickhouse "writer draining JetStream ($stored records), rows/s" \
    "$(awk -v f="$stored" -v s="$writer_secs" 'BEGIN { printf "%.0f", f / s }')" - - -
bench_row clickhouse "bytes per flow on disk, raw table (+ rollups)" \
    "$(awk -v f="$flows" -v r="$raw_b" -v u="$rollup_b" 'BEGIN { printf "%.2f (+%.2f)", r / f, u / f }')" \
    "PRD table $(awk -v f="$flows" -v p="$prd_b" 'BEGIN { printf "%.2f", p / f }')" "≤ 12" \
    "$(bench_verdict "$(awk -v f="$flows" -v r="$raw_b" 'BEGIN { print (r / f <= 12) }')")"
for q in "${summary_q[@]}"; do
    IFS=$'\t' read -r name p95 naive95 <<<"$q"
    bench_row clickhouse "query p95 ms: $name ($flows flows)" "$p95" "PRD table $naive95" "< 300" \
        "$(bench_verdict "$(awk -v p="$p95" 'BEGIN { print (p < 300) }')")"
done

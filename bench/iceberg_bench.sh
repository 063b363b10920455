#!/usr/bin/env bash
# iceberg_bench.sh BUILD_DIR [FLOWS] [DAYS] — the Iceberg cold tier: FLOWS (300 M) realistic
# flows over the last DAYS (30) days, historical queries through lib/histq next to plain
# DuckDB over the same data, in one run:
#
#   1. load: tests/tools/coldload writes flowgen traffic (the hot tier's generator) as the
#      writer would, 1 M flows per batch → one Parquet file per batch and day, one append:
#      flows/s, bytes per flow of these uncompacted files;
#   2. baseline: the two questions — top 10 source addresses by bytes over the whole range,
#      and bytes per day by protocol — through the same query path before any maintenance,
#      i.e. DuckDB over every uncompacted file with no rollup (BASE_RUNS, 3: they are slow);
#   3. maintenance: serviceradar-netflow-parquet --maintain (compaction of every closed day
#      into one sorted file, hourly rollups, expiry): seconds, bytes per flow after;
#   4. ours: the same two questions through lib/histq (pruned scan, rollups for whole hours,
#      raw files at the edges): p50/p95 over RUNS (20) runs, end to end (process start,
#      catalog load, scan, DuckDB), answers compared with the baseline's;
#   5. the writer itself: WRITER_FLOWS (5 M) flows as FlowBatch messages in JetStream
#      (chload publish, live density), then serviceradar-netflow-parquet drains them into a
#      table of its own through the REST catalog: records/s, CPU of writer and catalog.
#
# Wall time per query is the whole `coldload query` process: what a client pays, including
# DuckDB's start (~50 ms).
set -euo pipefail
build=$(cd "${1:?usage: iceberg_bench.sh BUILD_DIR [FLOWS] [DAYS]}" && pwd)
flows=${2:-300000000}
days=${3:-30}
runs=${RUNS:-20}
base_runs=${BASE_RUNS:-3}
source "$(dirname "$0")/../tests/it/lib.sh" "$build"
cd "$IT_WORK"
coldload=$build/tests/tools/coldload
pqwriter=$build/cmd/netflow-parquet/serviceradar-netflow-parquet
wh=$IT_WORK/warehouse
table=$wh/default/netflow
mkdir -p "$wh"
now=$(date +%s)
until=$now
start=$((now - days * 86400))
# Whole days: the daily series and the top-N cover [start_day, end_day).
start_day=$(( (start / 86400 + 1) * 86400 ))
end_day=$(( (now / 86400) * 86400 ))

ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
pct() { # pct P < times — the P-th percentile (nearest rank) of one number per line
    sort -n | awk -v p="$1" '{ a[NR] = $1 } END { i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; print a[i] }'
}
q_top() { "$coldload" query --catalog "file://$wh" --start "$start_day" --end "$end_day" \
    --group-by src_ip --limit 10 "$@"; }
q_series() { "$coldload" query --catalog "file://$wh" --start "$start_day" --end "$end_day" \
    --group-by time --interval 86400 --filter protocol=6 "$@"; }
q_series_udp() { "$coldload" query --catalog "file://$wh" --start "$start_day" --end "$end_day" \
    --group-by time --interval 86400 --filter protocol=17 "$@"; }
timed() { # timed RUNS OUT_PREFIX CMD... — runs CMD RUNS times, times in OUT_PREFIX.ms
    local n=$1 out=$2 i t0
    shift 2
    : >"$out.ms"
    for i in $(seq 1 "$n"); do
        t0=$(date +%s%N)
        "$@" >"$out.tsv"
        ms "$t0" >>"$out.ms"
    done
}
data_bytes() { du -sb "$table/data" | cut -f1; }

# 1. Load.
t0=$(date +%s%N)
"$coldload" insert --catalog "file://$wh" --flows "$flows" --days "$days" --until "$until" \
    --seed 1 --batch 1000000 --threads "$(nproc)" >load.json
load_ms=$(ms "$t0")
raw_files=$(find "$table/data" -name '*.parquet' | wc -l)
raw_bytes=$(data_bytes)

# 2. Baseline: uncompacted files, no rollups.
timed "$base_runs" base_top q_top
timed "$base_runs" base_series q_series
timed 1 base_series_udp q_series_udp

# 3. Maintenance, once (a closed day is compacted once it has 2 files or more).
cat >pq.json <<JSON
{"iceberg_catalog": "file://$wh", "iceberg_table": "default.netflow", "compact_min_files": 2,
 "retention": "$((days + 2))d", "duckdb_threads": $(nproc), "duckdb_memory_limit": "8GiB",
 "metrics_addr": "", "log_level": "info"}
JSON
t0=$(date +%s%N)
"$pqwriter" --maintain -c pq.json 2>maint.log || it_fail "maintenance failed: $(tail -3 maint.log)"
maint_ms=$(ms "$t0")
# Expiry keeps the last 7 days of snapshots: the uncompacted files are still referenced by
# the previous snapshot, so the live table's bytes are what the current snapshot lists.
live_bytes=$(jq -r '(.["current-snapshot-id"]) as $c | .snapshots[] | select(.["snapshot-id"] == $c) |
    .summary["total-files-size"] // empty' "$table/metadata/v$(cat "$table/metadata/version-hint.text").metadata.json")
live_files=$(jq -r '(.["current-snapshot-id"]) as $c | .snapshots[] | select(.["snapshot-id"] == $c) |
    .summary["total-data-files"] // empty' "$table/metadata/v$(cat "$table/metadata/version-hint.text").metadata.json")

rollup_bytes=$(find "$wh/default" -path '*_rollup_1h_*/data/*' -name '*.parquet' -printf '%s\n' |
    awk '{ s += $1 } END { print s + 0 }')

# 4. Ours.
timed "$runs" our_top q_top
timed "$runs" our_series q_series
timed 1 our_series_udp q_series_udp
diff -q base_top.tsv our_top.tsv >/dev/null || it_fail "top-N differs: $(diff base_top.tsv our_top.tsv | head -4)"
diff -q base_series.tsv our_series.tsv >/dev/null || it_fail "series differ: $(diff base_series.tsv our_series.tsv | head -4)"
diff -q base_series_udp.tsv our_series_udp.tsv >/dev/null || it_fail "UDP series differ"
"$coldload" query --catalog "file://$wh" --start "$start_day" --end "$end_day" \
    --group-by src_ip --limit 10 --stats 2>our_stats.json >/dev/null || true

# 5. The writer draining JetStream.
source "$IT_SRC/tests/it/lib_iceberg.sh"
writer_flows=${WRITER_FLOWS:-5000000}
it_start_nats nats "$(it_free_port tcp)"
mkdir -p w
it_start_catalog "$IT_WORK/w"
"$build/tests/tools/chload" publish --nats "$NATS_URL" --flows "$writer_flows" --rate 300000 \
    --consumer parquet >w/published.json
PQ_BATCH_SIZE=500000 PQ_BATCH_INTERVAL=5s PQ_ACK_WAIT=2m it_pq_config "$IT_WORK/w"
tck=$(getconf CLK_TCK)
cpu_s() { sed 's/^.*) //' /proc/"$1"/stat | awk -v t="$tck" '{ printf "%.2f\n", ($12 + $13) / t }'; }
t0=$(date +%s%N)
it_start_pq "$IT_WORK/w"
it_wait_until "[ \"\$(it_ice_rows $WAREHOUSE/default/netflow)\" -ge $writer_flows ]" 600 ||
    it_fail "the writer committed only $(it_ice_rows "$WAREHOUSE/default/netflow") of $writer_flows"
drain_ms=$(ms "$t0")
writer_cpu=$(cpu_s "$PQ_PID") catalog_cpu=$(cpu_s "$CATALOG_PID")

bpf() { awk -v b="$1" -v f="$flows" 'BEGIN { printf "%.2f", b / f }'; }
echo "## Iceberg cold tier: $flows flows over $days days ($(nproc) CPUs)"
echo
echo "| measure | ours | baseline | target |"
echo "| --- | --- | --- | --- |"
printf '| load (coldload: flowgen → Parquet → append) | %s flows/s (%s files) | | |\n' \
    "$(awk -v f="$flows" -v m="$load_ms" 'BEGIN { printf "%.0f", f / (m / 1000) }')" "$raw_files"
printf '| top 10 src_ip by bytes, %d days: p50 / p95 ms | %s / %s | %s / %s (DuckDB, uncompacted, no rollups) | p95 < 2000 |\n' \
    "$((days - 1))" "$(pct 50 <our_top.ms)" "$(pct 95 <our_top.ms)" "$(pct 50 <base_top.ms)" "$(pct 95 <base_top.ms)"
printf '| bytes per day, TCP, %d days: p50 / p95 ms | %s / %s | %s / %s | p95 < 2000 |\n' \
    "$((days - 1))" "$(pct 50 <our_series.ms)" "$(pct 95 <our_series.ms)" "$(pct 50 <base_series.ms)" "$(pct 95 <base_series.ms)"
printf '| maintenance (compaction + rollups + expiry) | %s s | | |\n' "$(awk -v m="$maint_ms" 'BEGIN { printf "%.0f", m / 1000 }')"
printf '| bytes per flow on disk | %s (%s files after compaction) | %s (uncompacted) | <= 8 |\n' \
    "$(bpf "${live_bytes:-0}")" "${live_files:-?}" "$(bpf "$raw_bytes")"
printf '| bytes per flow in the 8 hourly rollup tables | %s | | |\n' "$(bpf "$rollup_bytes")"
printf '| serviceradar-netflow-parquet draining JetStream (%s records, batch 500 000) | %s records/s | | |\n' \
    "$writer_flows" "$(awk -v f="$writer_flows" -v m="$drain_ms" 'BEGIN { printf "%.0f", f / (m / 1000) }')"
echo
echo "writer CPU while draining: $writer_cpu s (catalog $catalog_cpu s)"
echo "answers identical to the baseline's; our last top-N run: $(cat our_stats.json)"

# The closing table of bench/run.sh (bench/lib_summary.sh).
source "$IT_SRC/bench/lib_summary.sh"
for q in top series; do
    label="top 10 src_ip by bytes"
    [ "$q" = series ] && label="bytes per day, TCP"
    p95=$(pct 95 <"our_$q.ms")
    bench_row iceberg "query p95 ms: $label, $((days - 1)) days ($flows flows)" "$p95" \
        "$(pct 95 <"base_$q.ms") (DuckDB over the uncompacted files, no rollups)" "< 2000" \
        "$(bench_verdict "$(awk -v p="$p95" 'BEGIN { print (p < 2000) }')")"
done
bench_row iceberg "bytes per flow on disk, raw table after compaction" "$(bpf "${live_bytes:-0}")" \
    "$(bpf "$raw_bytes") uncompacted" "≤ 8" \
    "$(bench_verdict "$(awk -v b="${live_bytes:-0}" -v f="$flows" 'BEGIN { print (b > 0 && b / f <= 8) }')")"
bench_row iceberg "maintenance: compaction + rollups + expiry, s" \
    "$(awk -v m="$maint_ms" 'BEGIN { printf "%.0f", m / 1000 }')" - - -
bench_row iceberg "Parquet writer draining JetStream ($writer_flows records), records/s" \
    "$(awk -v f="$writer_flows" -v m="$drain_ms" 'BEGIN { printf "%.0f", f / (m / 1000) }')" - - -

#!/usr/bin/env bash
# bench/run.sh — every benchmark of the project, against its baseline, in one run, closing
# with ONE table: each figure next to the baseline measured in the same run and the issue's
# target (each script also prints its own detailed table on the way).
#
#   bench/run.sh [quick] [SECTION...]
#
# Sections, in order (about 2½ hours in all; `quick` about 15 minutes):
#   decode      decoder throughput per core and protocol (targets: issue 2)
#   ingest      loopback ingest: the checker vs nfcapd on the same replay
#   spine       UDP → checker → agent → poller → JetStream at 200 k flows/s, its drain ceiling,
#               CPU per component against nfcapd's, the edge's memory
#   clickhouse  the hot tier against the PRD's table: 100 M flows over 2 days (ingest, bytes
#               per flow, query p50/p95, the writer draining JetStream)
#   iceberg     the cold tier: 300 M flows over 30 days, historical queries against DuckDB over
#               the uncompacted files, maintenance, bytes per flow, the Parquet writer
#   core        serviceradar-core's API latency against the same questions asked of
#               ClickHouse / lib/histq directly, over both tiers built again
#   load        10 edges behind one poller at 100 k flows/s for 10 minutes through the whole
#               pipeline: lag, CPU and memory of every component
#   faults      the long fault-injection run (1 M flows, every central daemon killed 5 times,
#               NATS restarted, ClickHouse stopped 60 s, the warehouse disk full 30 s)
# quick: 1 s per decode case, 1 M flows per ingest replay, 5 M flows in ClickHouse (the
# writer drains 2 M), 10 M in Iceberg, the API over 2 M + 5 M flows, 60 s of load, the short
# fault run (200 k flows). The spine runs 2 M flows at 200 k/s in both.
# Naming sections runs only those (bench/run.sh quick load faults).
#
# Builds a Release tree in build/release first. bench/RESULTS.md records the results with the
# command and the machine. Exit status: 0 when every benchmark ran (a missed target is a
# result, shown in the table), 1 when one failed to run.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
mode=full
if [ "${1:-}" = quick ] || [ "${1:-}" = full ]; then
    mode=$1
    shift
fi
all=(decode ingest spine clickhouse iceberg core load faults)
want=("$@")
[ ${#want[@]} -gt 0 ] || want=("${all[@]}")
for s in "${want[@]}"; do
    case " ${all[*]} " in *" $s "*) ;; *) echo "bench/run.sh: unknown section '$s' (${all[*]})" >&2; exit 2 ;; esac
done
wanted() { case " ${want[*]} " in *" $1 "*) return 0 ;; esac; return 1; }

scripts/setup.sh >/dev/null
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null

secs=3 flows=3000000
ch_flows=100000000 ice_flows=300000000 writer_flows=5000000
core_ch_flows=$ch_flows core_ice_flows=$ice_flows core_ice_days=30
load_secs=600
if [ "$mode" = quick ]; then
    secs=1 flows=1000000 ch_flows=5000000 ice_flows=10000000 writer_flows=2000000
    core_ch_flows=2000000 core_ice_flows=5000000 core_ice_days=10
    load_secs=60
fi

BENCH_SUMMARY=$(mktemp "${TMPDIR:-/tmp}/nf-bench-summary.XXXXXX")
export BENCH_SUMMARY
trap 'rm -f "$BENCH_SUMMARY"' EXIT
source bench/lib_summary.sh
failed=0

# step SECTION COMMAND... — runs one benchmark; if it fails, the table says so.
step() {
    local section=$1 rc=0
    shift
    wanted "$section" || return 0
    echo
    "$@" || rc=$?
    if [ "$rc" != 0 ]; then
        bench_row "$section" "the benchmark did not finish (exit $rc): $*" - - - missed
        failed=1
    fi
}

# decode_rows — decode_bench's table (stdin, echoed) as summary rows.
decode_rows() {
    local line
    while IFS= read -r line; do
        printf '%s\n' "$line"
        case "$line" in
            "| case"* | "|--"* | "") ;;
            "|"*)
                IFS='|' read -r _ name rate _ _ target met _ <<<"$line"
                name=$(echo $name) rate=$(echo $rate) target=$(echo $target) met=$(echo $met)
                bench_row decode "flows/s per core: $name" "$rate" - "≥ $target" \
                    "$([ "$met" = yes ] && echo met || echo missed)"
                ;;
        esac
    done
}
decode() { build/release/bench/decode_bench "$secs" | decode_rows; }
faults() {
    if [ "$mode" = quick ]; then
        tests/it/faults.sh build/release
    else
        bench/faults.sh build/release
    fi
}

echo "## machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
step decode decode
step ingest bench/receive_bench.sh build/release "$flows" 500000
step spine bench/spine_bench.sh build/release 2000000 200000
step clickhouse env LIVE_FLOWS=$((ch_flows / 10)) \
    bench/clickhouse_bench.sh build/release "$ch_flows" "$writer_flows"
step iceberg bench/iceberg_bench.sh build/release "$ice_flows" 30
step core bench/core_bench.sh build/release "$core_ch_flows" "$core_ice_flows" "$core_ice_days"
step load bench/load.sh build/release "$load_secs" 100000
step faults faults

# ---- the closing table ---------------------------------------------------------------------
echo
echo "## every figure ($mode run, $(date -u +%F), $(nproc) CPUs; baseline = measured in the same run)"
echo
awk -F'\t' '
    # display width: UTF-8 continuation bytes take no column (mawk counts bytes)
    function width(s,   t) { t = s; return length(s) - gsub(/[\200-\277]/, "", t) }
    function cell(s, w,   p) { p = s; while (width(p) < w) p = p " "; return " " p " |" }
    { for (i = 1; i <= 6; i++) { c[NR, i] = $i; if (width($i) > w[i]) w[i] = width($i) } }
    $6 == "met" { met++ } $6 == "missed" { missed++ }
    END {
        split("section|figure|value|baseline|target|verdict", h, "|")
        for (i = 1; i <= 6; i++) if (width(h[i]) > w[i]) w[i] = width(h[i])
        line = "|"; sep = "|"
        for (i = 1; i <= 6; i++) {
            line = line cell(h[i], w[i])
            d = ""; for (k = 0; k < w[i] + 2; k++) d = d "-"; sep = sep d "|"
        }
        print line; print sep
        for (r = 1; r <= NR; r++) {
            line = "|"
            for (i = 1; i <= 6; i++) line = line cell(c[r, i], w[i])
            print line
        }
        printf "\ntargets: %d met, %d missed\n", met, missed
    }' "$BENCH_SUMMARY"
exit "$failed"

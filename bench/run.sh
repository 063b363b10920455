#!/usr/bin/env bash
# bench/run.sh — every benchmark of the project, against its baseline, in one run.
#
#   bench/run.sh              decode throughput per core, then loopback ingest (checker vs
#                             nfcapd on the same replay, and the checker flat out), then the
#                             spine: UDP → checker → agent → poller → JetStream at 200 k
#                             flows/s, its drain ceiling, CPU per component, edge memory;
#                             then the ClickHouse hot tier against the PRD's table (100 M
#                             flows over 2 days: ingest, bytes per flow, query p50/p95, the
#                             writer draining JetStream; about 25 minutes), then the Iceberg
#                             cold tier (300 M flows over 30 days: historical query p50/p95
#                             against DuckDB over the uncompacted files, maintenance, bytes
#                             per flow; about 30 minutes), then serviceradar-core's API
#                             latency: the dashboard's questions through the core against
#                             the same query straight on ClickHouse / lib/histq, p50/p95 and
#                             the overhead (target < 10 ms p95) over both tiers built again
#                             at the same sizes (about 60 minutes)
#   bench/run.sh quick        shorter runs (1 s per decode case, 1 M flows per replay, 5 M
#                             flows in ClickHouse, 10 M in Iceberg; the API latency over 2 M
#                             flows in ClickHouse and 5 M over 10 days in Iceberg)
#
# Builds a Release tree in build/release first. Results go to stdout; bench/RESULTS.md
# records them with the command and the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" >/dev/null

secs=3 flows=3000000
ch_flows=100000000 ice_flows=300000000
core_ch_flows=$ch_flows core_ice_flows=$ice_flows core_ice_days=30
if [ "${1:-}" = quick ]; then
    secs=1 flows=1000000 ch_flows=5000000 ice_flows=10000000
    core_ch_flows=2000000 core_ice_flows=5000000 core_ice_days=10
fi

echo "## machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
echo
build/release/bench/decode_bench "$secs"
echo
bench/receive_bench.sh build/release "$flows" 500000
echo
bench/spine_bench.sh build/release "$((flows * 2 / 3))" 200000
echo
LIVE_FLOWS=$((ch_flows / 10)) bench/clickhouse_bench.sh build/release "$ch_flows" "$((ch_flows / 20))"
echo
bench/iceberg_bench.sh build/release "$ice_flows" 30
echo
bench/core_bench.sh build/release "$core_ch_flows" "$core_ice_flows" "$core_ice_days"

#!/usr/bin/env bash
# run.sh — the main job, as far as the system exists: the NetFlow checker receiving demo
# traffic from flowgen (NetFlow v5, v9 and IPFIX from three simulated exporters) and printing
# every flow it decodes. Ctrl-C stops both and prints the checker's totals.
#
#   ./run.sh                 demo on UDP 127.0.0.1:2055, metrics on http://127.0.0.1:9191/metrics
#   NF_DEMO_PORT=2056 NF_DEMO_RATE=200 ./run.sh
#
# State (config, template state file) lives in .run/ and is reused by the next run.
set -euo pipefail
cd "$(dirname "$0")"

scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target serviceradar-netflow-checker \
    serviceradar-flowgen >/dev/null

port=${NF_DEMO_PORT:-2055}
metrics=${NF_DEMO_METRICS:-127.0.0.1:9191}
rate=${NF_DEMO_RATE:-20}
state=$PWD/.run
mkdir -p "$state"
cat >"$state/netflow.json" <<JSON
{
  "listen_addr": "127.0.0.1:$port",
  "retention_time": "1h",
  "max_records": 100000,
  "state_file": "$state/netflow-checker.state",
  "metrics_addr": "$metrics",
  "security": {"mode": "none"}
}
JSON

bin=build/release/cmd
pids=()
stop() {
    trap - INT TERM
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
}
trap stop INT TERM EXIT

echo "checker: UDP 127.0.0.1:$port, metrics http://$metrics/metrics, config $state/netflow.json" >&2
echo "flowgen: $rate flows/s from 3 exporters (127.0.0.10 v5, .11 v9, .12 IPFIX); Ctrl-C stops" >&2
# One readable line per decoded flow: time, protocol, endpoints, counters, exporter.
"$bin/netflow-checker/serviceradar-netflow-checker" -c "$state/netflow.json" --print > >(
    jq -r --unbuffered '
      def proto: {"1":"ICMP","6":"TCP","17":"UDP","58":"ICMPv6"}[(.protocol|tostring)]
                 // (.protocol|tostring);
      def ep(a; p): if (a|test(":")) then "[\(a)]:\(p)" else "\(a):\(p)" end;
      "\(.last_ms/1000|strftime("%H:%M:%S")) \(.flow_type|.+"     "|.[0:5]) " +
      "\(ep(.src_addr; .src_port)) -> \(ep(.dst_addr; .dst_port)) \(proto) " +
      "\(.packets) pkts \(.bytes) B  1:\(.sampling_rate)  from \(.exporter)"') &
pids+=($!)
sleep 0.5
"$bin/flowgen/serviceradar-flowgen" --target "127.0.0.1:$port" --protocol mix --exporters 3 \
    --rate "$rate" --sampling 1 --ipv6-share 20 --start-time "$(date +%s000)" --quiet >/dev/null &
pids+=($!)
wait "${pids[@]}"

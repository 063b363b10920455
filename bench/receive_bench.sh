#!/usr/bin/env bash
# receive_bench.sh BUILD_DIR [FLOWS] [RATE] — loopback ingest: the checker against nfcapd on
# the same UDP replay, and the checker's highest lossless rate.
#
# flowgen writes FLOWS flows (default 3 M: v5, v9 and IPFIX from 9 exporters, 10 % IPv6) to
# a capture once; `replay` sends exactly those datagrams, paced at RATE flows/s (default
# 500 k), to each collector in turn. Measured per collector: flows it decoded (checker:
# /metrics; nfcapd: `nfdump -I` on what it stored), drops (kernel socket drops for the
# checker, sent − stored for nfcapd), and CPU time (user + system, all threads, from
# /proc/PID/stat) from just before the replay to one second after it —
# so the figure of merit is flows per CPU-second. (nfcapd's final file flush at exit is not
# counted, in its favour.)
# Then the replay is repeated as fast as one sender can go, to find the checker's ceiling.
set -euo pipefail
build=$(cd "${1:?usage: receive_bench.sh BUILD_DIR [FLOWS] [RATE]}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
flows=${2:-3000000}
rate=${3:-500000}
bin=$build/cmd
tools=$build/tests/tools
work=$(mktemp -d "${TMPDIR:-/tmp}/nf-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

tck=$(getconf CLK_TCK)
cpu_ns() { # user + system CPU of a process, all its threads including exited ones, in ns
    # (/proc/PID/stat fields 14 and 15, clock ticks; the command name may contain spaces)
    sed 's/^.*) //' /proc/"$1"/stat | awk -v t="$tck" '{ printf "%.0f\n", ($12 + $13) * 1e9 / t }'
}
metric() {
    curl -fsS "http://127.0.0.1:$mport/metrics" | awk -v n="$1" '$1 == n { print $2 }'
}

"$bin/flowgen/serviceradar-flowgen" --pcap replay.pcap --flows "$flows" --protocol mix \
    --exporters 9 --ipv6-share 10 --seed 1 --quiet >sent.json
datagrams=$(jq .datagrams sent.json)
pps=$(( rate * datagrams / flows ))
echo "replay: $flows flows in $datagrams datagrams ($(( flows / datagrams )) flows/datagram), $rate flows/s = $pps datagrams/s" >&2

port=$("$tools/freeport" udp)
mport=$("$tools/freeport" tcp)

run_checker() { # run_checker PPS → sets C_SENT_S C_DECODED C_DROPS C_CPU
    cat >checker.json <<JSON
{"listen_addr": "127.0.0.1:$port", "metrics_addr": "127.0.0.1:$mport", "state_file": "",
 "max_records": 1000000, "receive_sockets": 2, "receive_buffer": "64MiB", "log_level": "warn"}
JSON
    "$bin/netflow-checker/serviceradar-netflow-checker" -c checker.json 2>checker.log &
    local pid=$!
    pids+=("$pid")
    for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$mport/metrics" >/dev/null 2>&1 && break; sleep 0.1; done
    local c0
    c0=$(cpu_ns "$pid")
    C_SENT_S=$("$tools/replay" replay.pcap "127.0.0.1:$port" --pps "$1" | jq .seconds)
    sleep 1
    C_CPU=$(( $(cpu_ns "$pid") - c0 ))
    C_DECODED=$(metric netflow_checker_flows_decoded_total)
    C_DROPS=$(metric netflow_checker_udp_kernel_drops_total)
    kill "$pid"
    wait "$pid" || true
}

run_nfcapd() { # sets N_SENT_S N_STORED N_CPU
    rm -rf nfcapd.d && mkdir nfcapd.d
    nfcapd -b 127.0.0.1 -p "$port" -w nfcapd.d -B 67108864 -t 3600 >nfcapd.log 2>&1 &
    local pid=$!
    pids+=("$pid")
    sleep 1
    local c0
    c0=$(cpu_ns "$pid")
    N_SENT_S=$("$tools/replay" replay.pcap "127.0.0.1:$port" --pps "$1" | jq .seconds)
    sleep 1
    N_CPU=$(( $(cpu_ns "$pid") - c0 ))
    kill "$pid"
    wait "$pid" || true
    N_STORED=$(nfdump -R nfcapd.d -I 2>/dev/null | awk '/^Flows:/ { s += $2 } END { print s + 0 }')
}

row() { # name sent_s decoded drops cpu_ns
    awk -v n="$1" -v s="$2" -v d="$3" -v x="$4" -v c="$5" -v f="$flows" 'BEGIN {
        printf "| %-26s | %9d | %9d | %7d | %8.0f k | %6.2f | %10.2f M |\n",
               n, f, d, x, f / s / 1000, c / 1e9, d / (c / 1e9) / 1e6 }'
}

run_checker "$pps"
C1=("$C_SENT_S" "$C_DECODED" "$C_DROPS" "$C_CPU")
run_nfcapd "$pps"
N1=("$N_SENT_S" "$N_STORED" "$(( flows - N_STORED ))" "$N_CPU")
run_checker 0
C2=("$C_SENT_S" "$C_DECODED" "$C_DROPS" "$C_CPU")
run_nfcapd 0
N2=("$N_SENT_S" "$N_STORED" "$(( flows - N_STORED ))" "$N_CPU")

echo
echo "| collector (same replay)    |   flows   |  decoded  |  drops  | offered   | CPU s  | flows/CPU-s  |"
echo "|----------------------------|-----------|-----------|---------|-----------|--------|--------------|"
row "checker @ $rate/s" "${C1[@]}"
row "nfcapd 1.7.1 @ $rate/s" "${N1[@]}"
row "checker, sender flat out" "${C2[@]}"
row "nfcapd, sender flat out" "${N2[@]}"
awk -v c="${C1[1]}" -v cc="${C1[3]}" -v n="${N1[1]}" -v nc="${N1[3]}" 'BEGIN {
    r = (c / cc) / (n / nc)
    printf "\nchecker / nfcapd flows per CPU-second at the same rate: %.2fx (target >= 2x: %s)\n", r, (r >= 2 ? "met" : "NOT met") }'
awk -v d="${C1[2]}" -v dec="${C1[1]}" -v f="$flows" -v r="$rate" 'BEGIN {
    printf "checker at %d flows/s: %d of %d decoded, %d kernel drops (target: all, 0 drops: %s)\n",
           r, dec, f, d, ((dec == f && d == 0) ? "met" : "NOT met") }'

# The closing table of bench/run.sh (bench/lib_summary.sh).
source "$src/bench/lib_summary.sh"
per_cpu() { awk -v d="$1" -v c="$2" 'BEGIN { printf "%.2f M", d / (c / 1e9) / 1e6 }'; }
ratio_ok=$(awk -v c="${C1[1]}" -v cc="${C1[3]}" -v n="${N1[1]}" -v nc="${N1[3]}" 'BEGIN {
    r = (c / cc) / (n / nc); printf "%.2f %d", r, (r >= 2) }')
bench_row ingest "flows per CPU-second at $rate flows/s (checker / nfcapd: ${ratio_ok% *}×)" \
    "$(per_cpu "${C1[1]}" "${C1[3]}")" "nfcapd $(per_cpu "${N1[1]}" "${N1[3]}")" "≥ 2× nfcapd" \
    "$(bench_verdict "${ratio_ok#* }")"
bench_row ingest "loopback receive at $rate flows/s: decoded of $flows, kernel drops" \
    "${C1[1]}, ${C1[2]} drops" "nfcapd stored ${N1[1]}" "all, 0 drops" \
    "$(bench_verdict "$([ "${C1[1]}" = "$flows" ] && [ "${C1[2]}" = 0 ] && echo 1)")"
bench_row ingest "sender flat out: stored of $flows, flows per CPU-second" \
    "${C2[1]}, $(per_cpu "${C2[1]}" "${C2[3]}")" "nfcapd ${N2[1]}, $(per_cpu "${N2[1]}" "${N2[3]}")" - -

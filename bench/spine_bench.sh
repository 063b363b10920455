#!/usr/bin/env bash
# spine_bench.sh BUILD_DIR [FLOWS] [RATE] — flows per second from UDP into JetStream through
# the whole spine (checker → agent → poller → nats-server, mTLS on every hop), CPU per
# component, and the edge's memory footprint; nfcapd on the same replay as the baseline.
#
#   A. sustained: FLOWS flows (default 2 M) replayed at RATE flows/s (default 200 k); the
#      clock stops when the poller's cursor (acknowledged by JetStream) reaches the checker's
#      last record. Every record must be published exactly once, none lost.
#   B. drain ceiling: with the poller stopped, the same replay fills the checker's ring;
#      then the poller starts and publishes the backlog as fast as the agent, the poller and
#      JetStream allow.
#   C. baseline: nfcapd 1.7 receives the same replay at the same rate and writes it to disk
#      (what one edge collector costs without any transport).
#   D. footprint: a checker with max_records 100 000 and the agent, after 100 000 records
#      were received and streamed to the poller: resident memory (VmRSS, and the peak VmHWM).
#
# CPU is user + system time of each process (all threads) from /proc/PID/stat over the
# phase. The stream keeps everything (a durable that nobody reads), so it needs FLOWS × ~150
# bytes of disk in TMPDIR.
set -euo pipefail
build=$(cd "${1:?usage: spine_bench.sh BUILD_DIR [FLOWS] [RATE]}" && pwd)
flows=${2:-2000000}
rate=${3:-200000}
source "$(dirname "$0")/../tests/it/lib.sh" "$build"
cd "$IT_WORK"
tools=$build/tests/tools
tck=$(getconf CLK_TCK)
cpu_ns() { sed 's/^.*) //' /proc/"$1"/stat | awk -v t="$tck" '{ printf "%.0f\n", ($12 + $13) * 1e9 / t }'; }
now_ns() { date +%s%N; }
pm() { it_metric "http://127.0.0.1:$POLLER_METRICS_PORT/metrics" "$1" 'agent="edge-1"'; }
cm() { it_metric "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics" "$@"; }
caught_up() { [ "$(pm serviceradar_poller_cursor)" = "$(cm netflow_checker_ring_last_sequence)" ]; }
kib() { awk -v k="$2" '$1 == k ":" { print $2 }' /proc/"$1"/status; }

"$FLOWGEN" --pcap replay.pcap --flows "$flows" --protocol mix --exporters 9 --ipv6-share 10 \
    --seed 1 --quiet >sent.json
datagrams=$(jq .datagrams sent.json)
pps=$((rate * datagrams / flows))
echo "replay: $flows flows in $datagrams datagrams, $rate flows/s = $pps datagrams/s" >&2

it_certs certs
it_start_nats nats "$(it_free_port tcp)" "$IT_WORK/certs"
SPINE_MAX_RECORDS=$((flows + 100000)) SPINE_CONSUMERS=bench SPINE_STREAM_BYTES=4GiB \
SPINE_POLL_INTERVAL=100ms SPINE_CHECKER_EXTRA='"receive_buffer": "64MiB", "log_level": "warn"' \
    it_spine_configs "$IT_WORK" "$IT_WORK/certs"
it_start_checker_spine "$IT_WORK"
it_start_agent "$IT_WORK"
it_start_poller "$IT_WORK"

# measure PHASE — CPU of each component since the last call (sets CPU_<name>).
procs=(checker agent poller nats)
declare -A base
snapshot() {
    local pids=("$CHECKER_PID" "$AGENT_PID" "$POLLER_PID" "$NATS_PID") i
    for i in "${!procs[@]}"; do base[${procs[i]}]=$(cpu_ns "${pids[i]}"); done
}
cpu_since() { # NAME PID
    echo $(( $(cpu_ns "$2") - ${base[$1]} ))
}

# A. Sustained rate.
snapshot
t0=$(now_ns)
"$tools/replay" replay.pcap "127.0.0.1:$UDP_PORT" --pps "$pps" >/dev/null
t_sent=$(now_ns)
it_wait_until '[ "$(cm netflow_checker_ring_appended_total)" -ge "$flows" ] && caught_up' 600 ||
    it_fail "A: not caught up: $(pm serviceradar_poller_cursor) vs $(cm netflow_checker_ring_last_sequence)"
t_done=$(now_ns)
A_cpu=("$(cpu_since checker "$CHECKER_PID")" "$(cpu_since agent "$AGENT_PID")"
       "$(cpu_since poller "$POLLER_PID")" "$(cpu_since nats "$NATS_PID")")
A_decoded=$(cm netflow_checker_flows_decoded_total)
A_drops=$(cm netflow_checker_udp_kernel_drops_total)
A_published=$(pm serviceradar_poller_records_published_total)
A_lost=$(pm serviceradar_poller_records_lost_at_edge_total)
A_secs=$(awk -v a="$t0" -v b="$t_done" 'BEGIN { print (b - a) / 1e9 }')
A_lag=$(awk -v a="$t_sent" -v b="$t_done" 'BEGIN { print (b - a) / 1e9 }')

# B. Drain a backlog of FLOWS records as fast as possible.
it_stop "$POLLER_PID"
"$tools/replay" replay.pcap "127.0.0.1:$UDP_PORT" --pps "$pps" >/dev/null
it_wait_until '[ "$(cm netflow_checker_ring_appended_total)" -ge $((2 * flows)) ]' 60 ||
    it_fail "B: the checker did not receive the second replay"
it_start_poller "$IT_WORK"
snapshot
t0=$(now_ns)
it_wait_until caught_up 600 || it_fail "B: the poller did not catch up"
t_done=$(now_ns)
B_cpu=("$(cpu_since checker "$CHECKER_PID")" "$(cpu_since agent "$AGENT_PID")"
       "$(cpu_since poller "$POLLER_PID")" "$(cpu_since nats "$NATS_PID")")
B_secs=$(awk -v a="$t0" -v b="$t_done" 'BEGIN { print (b - a) / 1e9 }')
B_published=$(pm serviceradar_poller_records_published_total)
B_lost=$(pm serviceradar_poller_records_lost_at_edge_total)
stream_msgs=$(curl -fsS "$NATS_MONITOR/jsz?streams=true" |
    jq '[.account_details[].stream_detail[] | select(.name == "NETFLOW") | .state.messages] | add')
stream_bytes=$(curl -fsS "$NATS_MONITOR/jsz?streams=true" |
    jq '[.account_details[].stream_detail[] | select(.name == "NETFLOW") | .state.bytes] | add')
for p in "$POLLER_PID" "$AGENT_PID" "$CHECKER_PID" "$NATS_PID"; do it_stop "$p"; done

# C. Baseline: nfcapd on the same replay and rate.
udp=$(it_free_port udp)
mkdir nfcapd.d
nfcapd -b 127.0.0.1 -p "$udp" -w nfcapd.d -B 67108864 -t 3600 >nfcapd.log 2>&1 &
nfcapd_pid=$!
IT_PIDS+=("$nfcapd_pid")
sleep 1
c0=$(cpu_ns "$nfcapd_pid")
"$tools/replay" replay.pcap "127.0.0.1:$udp" --pps "$pps" >/dev/null
sleep 1
C_cpu=$(( $(cpu_ns "$nfcapd_pid") - c0 ))
it_stop "$nfcapd_pid"
C_stored=$(nfdump -R nfcapd.d -I 2>/dev/null | awk '/^Flows:/ { s += $2 } END { print s + 0 }')

# D. Edge footprint with 100 000 records held (and streamed once).
mkdir small
it_start_nats small/nats "$(it_free_port tcp)" "$IT_WORK/certs"
SPINE_MAX_RECORDS=100000 SPINE_CONSUMERS=bench2 it_spine_configs "$IT_WORK/small" "$IT_WORK/certs"
it_start_checker_spine "$IT_WORK/small"
it_start_agent "$IT_WORK/small"
it_start_poller "$IT_WORK/small"
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows 100000 --rate 100000 --protocol mix \
    --exporters 9 --ipv6-share 10 --quiet >/dev/null
it_wait_until '[ "$(cm netflow_checker_ring_records)" = 100000 ] && caught_up' 120 ||
    it_fail "D: not caught up"
sleep 1
D_checker_rss=$(kib "$CHECKER_PID" VmRSS) D_checker_hwm=$(kib "$CHECKER_PID" VmHWM)
D_agent_rss=$(kib "$AGENT_PID" VmRSS) D_agent_hwm=$(kib "$AGENT_PID" VmHWM)
D_checker_anon=$(kib "$CHECKER_PID" RssAnon) D_agent_anon=$(kib "$AGENT_PID" RssAnon)
D_poller_rss=$(kib "$POLLER_PID" VmRSS)
# Physical memory of the two together: private memory of each, plus each mapped file (the
# shared libraries, mostly the same in both) counted once.
D_files=$(for p in "$CHECKER_PID" "$AGENT_PID"; do
        awk '/^[0-9a-f]+-[0-9a-f]+ / { file = ($6 ~ /^\//) ? $6 : "" }
             /^Rss:/ && file != "" { r[file] += $2 }
             END { for (f in r) print f, r[f] }' /proc/"$p"/smaps
    done | awk '{ if ($2 > m[$1]) m[$1] = $2 } END { for (f in m) s += m[f]; print s }')

row() { # name cpu_ns flows
    awk -v n="$1" -v c="$2" -v f="$3" 'BEGIN {
        printf "| %-22s | %8.2f | %10.0f | %9.2f |\n", n, c / 1e9, (c > 0 ? f / (c / 1e9) : 0), c / f }'
}
echo
echo "### A. sustained: $flows flows offered at $rate flows/s"
echo
awk -v f="$flows" -v s="$A_secs" -v l="$A_lag" -v d="$A_decoded" -v x="$A_drops" \
    -v p="$A_published" -v lost="$A_lost" 'BEGIN {
    printf "UDP to JetStream-acknowledged: %.2f s for %d flows = %.0f flows/s (last record %.2f s after the replay ended)\n", s, f, f / s, l
    printf "decoded %d, kernel drops %d, published %d, lost at the edge %d\n", d, x, p, lost }'
echo
echo "| component              |  CPU s   | flows/CPU-s | CPU ns/flow |"
echo "|------------------------|----------|-------------|-------------|"
names=("checker" "agent" "poller" "nats-server")
total=0
for i in 0 1 2 3; do row "${names[i]}" "${A_cpu[i]}" "$flows"; total=$((total + A_cpu[i])); done
row "spine total" "$total" "$flows"
row "nfcapd 1.7 (baseline)" "$C_cpu" "$C_stored"
echo
echo "### B. drain ceiling: a backlog of $flows records published from the ring"
echo
awk -v f="$flows" -v s="$B_secs" 'BEGIN { printf "%.2f s = %.0f flows/s\n", s, f / s }'
echo
echo "| component              |  CPU s   | flows/CPU-s | CPU ns/flow |"
echo "|------------------------|----------|-------------|-------------|"
total=0
for i in 0 1 2 3; do row "${names[i]}" "${B_cpu[i]}" "$flows"; total=$((total + B_cpu[i])); done
row "spine total" "$total" "$flows"
echo
echo "stream after A+B: $stream_msgs messages, $stream_bytes bytes ($(( stream_bytes / (2 * flows) )) bytes/flow); B: published $B_published (the poller restarted), lost $B_lost"
echo
echo "### D. edge footprint, 100 000 records held"
echo
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo "| MiB              | RSS  | peak RSS | private (anon) |"
echo "|------------------|------|----------|----------------|"
echo "| checker          | $(mib "$D_checker_rss") | $(mib "$D_checker_hwm") | $(mib "$D_checker_anon") (ring: 100 000 × 144 B = 13.7) |"
echo "| agent            | $(mib "$D_agent_rss") | $(mib "$D_agent_hwm") | $(mib "$D_agent_anon") |"
echo "| checker + agent  | $(mib $((D_checker_rss + D_agent_rss))) | | $(mib $((D_checker_anon + D_agent_anon))) |"
echo
echo "checker + agent in physical memory (private memory of each + mapped files, i.e. shared libraries, once): $(mib $((D_checker_anon + D_agent_anon + D_files))) MiB, of which shared libraries $(mib "$D_files") MiB; target <= 32 MB RSS. (poller, central: RSS $(mib "$D_poller_rss") MiB)"
echo
awk -v f="$flows" -v r="$rate" -v l="$A_lag" -v p="$A_published" -v lost="$A_lost" \
    -v x="$A_drops" -v bs="$B_secs" 'BEGIN {
    ok = (r >= 200000 && l <= 1 && p == f && lost == 0 && x == 0 && f / bs >= 200000)
    printf "target >= 200k flows/s into JetStream (kept up at %d/s within 1 s, none lost; drain >= 200k/s): %s\n", r, ok ? "met" : "NOT met" }'

# The closing table of bench/run.sh (bench/lib_summary.sh).
source "$IT_SRC/bench/lib_summary.sh"
spine_cpu=$(( A_cpu[0] + A_cpu[1] + A_cpu[2] + A_cpu[3] ))
bench_row spine "UDP → JetStream at $rate flows/s: last record acknowledged after the replay" \
    "$(awk -v l="$A_lag" 'BEGIN { printf "%.2f s", l }'), lost $A_lost" - "≥ 200 k flows/s, within 1 s" \
    "$(bench_verdict "$(awk -v r="$rate" -v l="$A_lag" -v lost="$A_lost" -v x="$A_drops" -v p="$A_published" -v f="$flows" \
        'BEGIN { print (r >= 200000 && l <= 1 && lost == 0 && x == 0 && p == f) }')")"
bench_row spine "CPU ns per flow, checker+agent+poller+nats-server" \
    "$(awk -v c="$spine_cpu" -v f="$flows" 'BEGIN { printf "%.0f", c / f }')" \
    "nfcapd $(awk -v c="$C_cpu" -v f="$C_stored" 'BEGIN { printf "%.0f", (f > 0 ? c / f : 0) }') (collector only)" - -
bench_row spine "drain ceiling from the ring, flows/s" \
    "$(awk -v f="$flows" -v s="$B_secs" 'BEGIN { printf "%.0f k", f / s / 1000 }')" - "≥ 200 k" \
    "$(bench_verdict "$(awk -v f="$flows" -v s="$B_secs" 'BEGIN { print (f / s >= 200000) }')")"
bench_row spine "checker + agent RSS with 100 000 records held, MiB" \
    "$(mib $((D_checker_rss + D_agent_rss))) ($(mib $((D_checker_anon + D_agent_anon + D_files))) physical)" - "≤ 32" \
    "$(bench_verdict "$(awk -v k=$((D_checker_rss + D_agent_rss)) 'BEGIN { print (k / 1024 <= 32) }')")"

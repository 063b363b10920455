#!/usr/bin/env bash
# load.sh BUILD_DIR [SECONDS] [RATE] — the load benchmark of issue 8 item 4: 10 simulated edges
# (a checker and an agent each, agent_id edge-1 … edge-10, each checker on its own UDP port)
# behind ONE poller, at a combined RATE flows/s (default 100 000) for SECONDS (default 600),
# through the whole central pipeline: nats-server (JetStream, TLS with client certificates),
# both writers on their own durables (ClickHouse: clickhouse-server; Parquet: the Iceberg REST
# catalog), mutual TLS on every gRPC hop and every NATS client, as in the fault suite (the
# catalog is plain HTTP there too). Real daemons only, one 2-vCPU machine. Run it with a
# Release build:
#   cmake -S . -B build-load-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-load-rel -j2
#   bench/load.sh build-load-rel 600 100000
#
# Traffic: flowgen writes one capture per edge once (RATE/10 × 10 s of flows: v5, v9, IPFIX
# from 9 exporters with their own addresses 127.0.<edge>.1-9, 10 % IPv6), and
# tests/tools/replay sends it SECONDS/10 times over, paced at RATE/10 flows/s: live
# generation costs ~2 µs of CPU per flow (0.2 core at 100 k/s), the replay a tenth of that,
# and the CPU is what this machine lacks. Every flow sent is known exactly (capture totals ×
# loops, per exporter). Looping repeats flow records, which nothing downstream de-duplicates
# (the poller's Nats-Msg-Id is the checker's sequence, unique per record).
#
# Settings are the shipped defaults except where a benchmark on one machine needs otherwise:
# checker ring 1 M records per edge (100 s of its traffic), one receive socket, log level
# warn; poller poll_interval 500 ms (default 5 s), batch 1000 records / 1 s; ClickHouse writer
# defaults (batch 200 000 / 1 s); Parquet writer batch 500 000 (default), batch_interval 10 s
# (default 1 m, which would make the end of the run wait a minute for the last partial file);
# stream max_bytes 4 GiB.
#
# Every 10 s a sample (stderr): flows offered by the replay schedule, the checkers' decoded
# records and kernel drops (sums over the 10), the edge backlog (records in the checkers'
# rings not yet acknowledged by JetStream: ring last sequence − poller cursor, summed over
# the agents), records the poller published, each durable's unacknowledged backlog in
# messages (consumer pending + ack pending, from the writers' metrics), rows in ClickHouse
# (count(): answered from part metadata, cheap) and rows committed to Iceberg (the Parquet
# writer's counter).
#
# "Lag bounded", concretely (each poller message carries 1000 records):
#   - over the second half of the traffic (the first half is warm-up), each durable's
#     unacknowledged backlog never exceeds (2 × its writer's batch_size + 10 s of traffic) /
#     1000 messages: ClickHouse (2 × 200 000 + 10 × RATE) / 1000 = 1400 at 100 k/s, Parquet
#     (2 × 500 000 + 10 × RATE) / 1000 = 2000. A writer holds at most one batch while
#     writing it and fills the next meanwhile; 10 s of traffic is the slack for ClickHouse
#     merges, Parquet encoding and the noise of a shared machine. A writer that cannot keep
#     up grows its backlog by (RATE − its rate) per second and passes any fixed bound;
#   - the edge backlog stays <= 10 s of traffic (the rings hold 100 s);
#   - after the last datagram, both tiers hold every flow and both durables are empty
#     within DRAIN_MAX = 60 s (the Parquet writer's last partial batch alone waits up to its
#     10 s batch_interval).
# Not lost: every flow sent is in ClickHouse (rows, bytes, packets per exporter) and in
# Iceberg (rows in the current snapshot, and the Parquet writer's committed counter); a
# difference must be explained by the checkers' drop counters (kernel drops, truncated,
# receive and decode errors) and /proc/net/snmp UDP InErrors/RcvbufErrors (machine-wide:
# other processes count there too).
#
# CPU of each component: user + system time of all its threads (/proc/PID/stat) over the
# traffic phase ÷ its wall time × 100 (100 % = one core); peak RSS is VmHWM at the end
# (the checkers' rings are pre-faulted at start: 1 M × 144 B = 137 MiB each). The load
# generator (the 10 replay processes) is measured too, and so is the whole machine
# (/proc/stat), so "everything else" shows what other users of the shared machine took.
# Figures also go to bench_row (bench/lib_summary.sh), section "load".
set -euo pipefail
usage="usage: bench/load.sh BUILD_DIR [SECONDS] [RATE]"
build=$(cd "${1:?$usage}" && pwd)
secs=${2:-600}
rate=${3:-100000}
case "$secs$rate" in *[!0-9]*) echo "$usage" >&2; exit 2 ;; esac
[ "$secs" -ge 10 ] && [ "$rate" -ge 10 ] || { echo "$usage (SECONDS >= 10, RATE >= 10)" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/it/lib.sh" "$build"
source "$IT_SRC/tests/it/lib_iceberg.sh"
source "$here/lib_summary.sh"
# In braces, ending with exit: bash reads a script as it runs, and an edit of this file
# during a long run must not make it execute something else afterwards.
{
cd "$IT_WORK"

edges=10
per_rate=$((rate / edges))          # flows/s per edge
cap_flows=$((per_rate * 10))        # one capture = 10 s of an edge's traffic
loops=$((secs / 10))
ring=1000000
ch_batch=200000 pq_batch=500000 msg_records=1000
ch_bound=$(( (2 * ch_batch + 10 * rate) / msg_records ))
pq_bound=$(( (2 * pq_batch + 10 * rate) / msg_records ))
edge_bound=$((10 * rate))
drain_max=60
drain_wait=300                      # how long to keep measuring a drain that is too slow
[ "$per_rate" -ge 1 ] || it_fail "RATE must be at least $edges"
tck=$(getconf CLK_TCK)

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
cpu_ns() { sed 's/^.*) //' /proc/"$1"/stat | awk -v t="$tck" '{ printf "%.0f\n", ($12 + $13) * 1e9 / t }'; }
kib() { awk -v k="$2" '$1 == k ":" { print $2 }' /proc/"$1"/status; }
# Machine CPU: busy and total jiffies of all CPUs.
machine_jiffies() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
# UDP InErrors and RcvbufErrors of the whole machine.
udp_errors() {
    awk '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 } else print $c["InErrors"], $c["RcvbufErrors"] }' /proc/net/snmp
}
scrape() { curl -fsS --max-time 5 "$1" 2>/dev/null || true; }
# msum NAME [LABEL_SUBSTRING] — sum of a metric's samples in the text on stdin.
msum() {
    awk -v n="$1" -v l="${2:-}" '$1 !~ /^#/ { k = $1; sub(/\{.*/, "", k)
        if (k == n && (l == "" || index($1, l))) s += $NF } END { printf "%.0f\n", s }'
}
# ClickHouse as the writer, quietly (nothing when it does not answer).
ch() {
    curl -fsS --max-time 10 -H "X-ClickHouse-User: $CH_WRITER_USER" \
        -H "X-ClickHouse-Key: $CH_WRITER_PASSWORD" --data-binary "$1" "$CH_URL/" 2>/dev/null || true
}

echo "load: $edges edges × $per_rate flows/s = $rate flows/s for $((loops * 10)) s; machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r); load average at start $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# ---- traffic: one capture per edge ------------------------------------------------------------
declare -a UDP CK_GRPC AG_GRPC CK_MET AG_MET CK_PID AG_PID REP_PID PPS
for i in $(seq 1 "$edges"); do
    "$FLOWGEN" --pcap "edge-$i.pcap" --flows "$cap_flows" --rate "$per_rate" --protocol mix \
        --exporters 9 --ipv6-share 10 --seed "$i" --source-base "127.0.$i.1" --quiet \
        >"edge-$i.json" || it_fail "flowgen --pcap for edge $i failed"
    d=$(jq .datagrams "edge-$i.json")
    [ "$(jq .flows "edge-$i.json")" = "$cap_flows" ] || it_fail "edge $i capture: $(cat "edge-$i.json")"
    PPS[i]=$(( (d * per_rate + cap_flows - 1) / cap_flows ))   # datagrams/s, rounded up
done
# What will be sent, per exporter: capture totals × loops.
for i in $(seq 1 "$edges"); do
    jq -r '.exporters[] | [.address, .flows, .bytes, .packets] | @tsv' "edge-$i.json"
done | awk -v l="$loops" -F'\t' '{ printf "%s\t%.0f\t%.0f\t%.0f\n", $1, $2 * l, $3 * l, $4 * l }' |
    LC_ALL=C sort >sent.tsv
sent=$(awk -F'\t' '{ s += $2 } END { printf "%.0f\n", s }' sent.tsv)
it_note "captures: $edges × $cap_flows flows ($(jq -s 'map(.datagrams) | add' edge-*.json) datagrams), each replayed $loops times: $sent flows"

# ---- the central pipeline ---------------------------------------------------------------------
it_certs "$IT_WORK/certs"
certs=$IT_WORK/certs
it_start_nats "$IT_WORK/nats" "$(it_free_port tcp)" "$certs"
it_start_clickhouse "$IT_WORK/ch"
it_start_catalog "$IT_WORK/cat"
# ---- the edges ----------------------------------------------------------------------------------
# edge_configs I — the checker's and the agent's config of edge I on fresh ports.
edge_configs() {
    local i=$1 dir=$IT_WORK/edge-$1 ports
    mkdir -p "$dir/checkers"
    UDP[i]=$(it_free_port udp)
    mapfile -t ports < <(it_free_port tcp 4)
    CK_GRPC[i]=${ports[0]} AG_GRPC[i]=${ports[1]} CK_MET[i]=${ports[2]} AG_MET[i]=${ports[3]}
    cat >"$dir/checkers/netflow.json" <<JSON
{
  "listen_addr": "127.0.0.1:${UDP[i]}",
  "grpc_listen_addr": "127.0.0.1:${CK_GRPC[i]}",
  "metrics_addr": "127.0.0.1:${CK_MET[i]}",
  "max_records": $ring,
  "receive_sockets": 1,
  "receive_buffer": "16MiB",
  "state_file": "$dir/checker.state",
  "log_level": "warn",
  "security": $(it_security_json "$certs" checker checker.serviceradar)
}
JSON
    cat >"$dir/agent.json" <<JSON
{
  "agent_id": "edge-$i",
  "listen_addr": "127.0.0.1:${AG_GRPC[i]}",
  "checkers_dir": "$dir/checkers",
  "metrics_addr": "127.0.0.1:${AG_MET[i]}",
  "log_level": "warn",
  "security": $(it_security_json "$certs" agent agent.serviceradar)
}
JSON
}
# start_edge I — starts edge I's checker and agent; a port that another process took between
# freeport's answer and the daemon's bind (the ports are ephemeral ones, and the machine is
# shared) makes it try again on fresh ports, three times at most.
start_edge() {
    local i=$1 try dir=$IT_WORK/edge-$1
    for try in 1 2 3; do
        edge_configs "$i"
        "$CHECKER" -c "$dir/checkers/netflow.json" 2>>"$dir/checker.log" &
        CK_PID[i]=$!
        IT_PIDS+=("${CK_PID[i]}")
        "$AGENT" -c "$dir/agent.json" 2>>"$dir/agent.log" &
        AG_PID[i]=$!
        IT_PIDS+=("${AG_PID[i]}")
        if it_wait_for curl -fsS "http://127.0.0.1:${CK_MET[i]}/metrics" &&
            it_wait_for curl -fsS "http://127.0.0.1:${AG_MET[i]}/metrics"; then
            return 0
        fi
        it_note "edge $i did not start (try $try): $(tail -n 2 "$dir/checker.log" "$dir/agent.log" | cut -c1-300)"
        it_stop "${CK_PID[i]}"
        it_stop "${AG_PID[i]}"
        it_forget "${CK_PID[i]}"
        it_forget "${AG_PID[i]}"
    done
    it_fail "edge $i did not start in 3 tries"
}
agents_json=
for i in $(seq 1 "$edges"); do
    start_edge "$i"
    agents_json+="${agents_json:+,
    }\"edge-$i\": {\"address\": \"127.0.0.1:${AG_GRPC[i]}\", \"checks\": [{\"service_type\": \"netflow\", \"service_name\": \"netflow\", \"details\": \"127.0.0.1:${CK_GRPC[i]}\"}]}"
done
# The writers' metrics ports are picked only now, after every edge port is bound.
WRITER_BATCH_SIZE=$ch_batch WRITER_BATCH_INTERVAL=1s it_writer_config "$IT_WORK" "$certs"
PQ_BATCH_SIZE=$pq_batch PQ_BATCH_INTERVAL=10s it_pq_config "$IT_WORK" "$certs"

POLLER_METRICS_PORT=$(it_free_port tcp)
mkdir -p poller-state
cat >poller.json <<JSON
{
  "poller_id": "poller-1",
  "agents": {
    $agents_json
  },
  "poll_interval": "500ms",
  "state_dir": "$IT_WORK/poller-state",
  "metrics_addr": "127.0.0.1:$POLLER_METRICS_PORT",
  "log_level": "warn",
  "rpc_timeout": "10s",
  "security": $(it_security_json "$certs" poller agent.serviceradar),
  "nats_config": {
    "url": "$NATS_URL",
    "security": $(it_security_json "$certs" poller nats.serviceradar),
    "batch_size": $msg_records,
    "batch_interval": "1s",
    "max_bytes": "4GiB",
    "consumers": "clickhouse,parquet"
  }
}
JSON
it_start_poller "$IT_WORK"
it_start_writer "$IT_WORK"
it_start_pq "$IT_WORK"

PM=http://127.0.0.1:$POLLER_METRICS_PORT/metrics
WM=http://127.0.0.1:$WRITER_METRICS_PORT/metrics
QM=http://127.0.0.1:$PQ_METRICS_PORT/metrics
it_wait_until "[ \"\$(scrape $PM | msum serviceradar_poller_agent_up)\" = $edges ] &&
    [ \"\$(scrape $PM | msum serviceradar_poller_nats_connected)\" = 1 ] &&
    [ \"\$(it_wm nats_up)\" = 1 ] && [ \"\$(it_wm up)\" = 1 ] &&
    [ \"\$(it_pqm nats_up)\" = 1 ] && [ \"\$(it_pqm catalog_up)\" = 1 ]" 60 ||
    it_fail "pipeline not ready: agents up $(scrape "$PM" | msum serviceradar_poller_agent_up)/$edges, poller nats $(scrape "$PM" | msum serviceradar_poller_nats_connected), clickhouse writer nats/up $(it_wm nats_up)/$(it_wm up), parquet writer nats/catalog $(it_pqm nats_up)/$(it_pqm catalog_up)"
it_note "pipeline up: nats-server, clickhouse-server, catalog, $edges checkers, $edges agents, poller, both writers"

# ---- components for CPU and memory ----------------------------------------------------------------
# "name pid" lines; groups are summed and maxed later by name prefix.
comps=comps.txt
{
    echo "nats-server $NATS_PID"
    echo "clickhouse-server $CH_PID"
    echo "catalog $CATALOG_PID"
    echo "poller $POLLER_PID"
    echo "clickhouse-writer $WRITER_PID"
    echo "parquet-writer $PQ_PID"
    for i in $(seq 1 "$edges"); do echo "checker-$i ${CK_PID[i]}"; echo "agent-$i ${AG_PID[i]}"; done
} >"$comps"
cpu_all() { while read -r n p; do echo "$n $(cpu_ns "$p")"; done <"$comps"; }

# ---- sampling -------------------------------------------------------------------------------------
# sample T_S — one row: to samples.tsv and, formatted, to stderr.
sample() {
    local t=$1 dec=0 drops=0 back=0 b i m p pub chp qp chrows ice offered t_sample
    t_sample=$(now_ms)
    p=$(scrape "$PM")
    pub=$(msum serviceradar_poller_records_published_total <<<"$p")
    for i in $(seq 1 "$edges"); do
        m=$(scrape "http://127.0.0.1:${CK_MET[i]}/metrics")
        dec=$((dec + $(msum netflow_checker_flows_decoded_total <<<"$m")))
        drops=$((drops + $(msum netflow_checker_udp_kernel_drops_total <<<"$m")))
        # The poller's cursor is scraped first, so it can only be behind the ring's sequence;
        # a partial batch published with its range can leave it at most one past (clamped).
        b=$(( $(msum netflow_checker_ring_last_sequence <<<"$m") -
              $(msum serviceradar_poller_cursor "agent=\"edge-$i\"" <<<"$p") ))
        back=$((back + (b > 0 ? b : 0)))
    done
    m=$(scrape "$WM")
    chp=$(( $(msum serviceradar_netflow_clickhouse_consumer_pending_messages <<<"$m") +
            $(msum serviceradar_netflow_clickhouse_consumer_ack_pending <<<"$m") ))
    m=$(scrape "$QM")
    qp=$(( $(msum serviceradar_netflow_parquet_consumer_pending_messages <<<"$m") +
           $(msum serviceradar_netflow_parquet_consumer_ack_pending <<<"$m") ))
    ice=$(msum serviceradar_netflow_parquet_records_committed_total <<<"$m")
    chrows=$(ch 'SELECT count() FROM netflow.netflow')
    # What the schedule had sent when this sample started (the label t is the slot).
    offered=$(awk -v t="$(( t_sample - t0 ))" -v r="$rate" -v s="$sent" 'BEGIN { o = t / 1000 * r; printf "%.0f\n", (o > s ? s : o) }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$PHASE" "$offered" "$dec" "$drops" \
        "$back" "$pub" "$chp" "$qp" "${chrows:-?}" "$ice" >>samples.tsv
    printf '| %6s | %-7s | %11s | %11s | %6s | %9s | %11s | %8s | %8s | %11s | %11s |\n' "$t" "$PHASE" \
        "$offered" "$dec" "$drops" "$back" "$pub" "$chp" "$qp" "${chrows:-?}" "$ice" >&2
}
sample_header() {
    printf '| %6s | %-7s | %11s | %11s | %6s | %9s | %11s | %8s | %8s | %11s | %11s |\n' "t s" phase \
        "offered" "decoded" "kdrops" "edge back" "published" "CH pend" "PQ pend" "CH rows" "ICE rows"
    echo "|--------|---------|-------------|-------------|--------|-----------|-------------|----------|----------|-------------|-------------|"
}
: >samples.tsv

# ---- the run ----------------------------------------------------------------------------------------
read -r udp_in0 udp_rcvbuf0 < <(udp_errors)
read -r mbusy0 mtotal0 < <(machine_jiffies)
cpu_all >cpu0.txt
t0=$(now_ms)
for i in $(seq 1 "$edges"); do
    (
        "$REPLAY" "edge-$i.pcap" "127.0.0.1:${UDP[i]}" --pps "${PPS[i]}" --loop "$loops" >"replay-$i.json" &
        echo $! >"replay-$i.pid"
        wait $! || echo "replay exit $?" >>"replay-$i.err"
        times >"replay-$i.times"
    ) &
    REP_PID[i]=$!
done
for i in $(seq 1 "$edges"); do
    it_wait_until "[ -s replay-$i.pid ]" 10 || it_fail "replay $i did not start"
    IT_PIDS+=("$(cat "replay-$i.pid")")
done
it_note "traffic started: $edges replays at ${PPS[1]} datagrams/s each (~$per_rate flows/s), $loops loops"
sample_header >&2
PHASE=traffic
next=$((t0 + 10000))
t_end=
while [ -z "$t_end" ]; do
    sleep 0.2
    done_n=0
    for i in $(seq 1 "$edges"); do [ ! -e "replay-$i.times" ] || done_n=$((done_n + 1)); done
    if [ "$done_n" = "$edges" ]; then
        t_end=$(now_ms)
        cpu_all >cpu1.txt
        read -r mbusy1 mtotal1 < <(machine_jiffies)
        break
    fi
    if [ "$(now_ms)" -ge "$next" ]; then
        sample $(( (next - t0) / 1000 ))
        next=$((next + 10000))
    fi
done
for i in $(seq 1 "$edges"); do wait "${REP_PID[i]}" 2>/dev/null || true; done
traffic_ms=$((t_end - t0))
for i in $(seq 1 "$edges"); do
    [ ! -s "replay-$i.err" ] || it_fail "replay $i: $(cat "replay-$i.err")"
done
PHASE=end
sample "$(awk -v m="$traffic_ms" 'BEGIN { printf "%.1f", m / 1000 }')"

# ---- drain: until both tiers hold what the checkers kept and both durables are empty ------------
PHASE=drain
# What the checkers kept, once they decoded everything that arrived (stable for 2 s).
kept_now() {
    local i s=0
    for i in $(seq 1 "$edges"); do
        s=$((s + $(scrape "http://127.0.0.1:${CK_MET[i]}/metrics" | msum netflow_checker_ring_appended_total)))
    done
    echo "$s"
}
complete() {
    local k=$1 m
    [ "$(ch 'SELECT count() FROM netflow.netflow')" = "$k" ] || return 1
    [ "$(it_ice_rows "$WAREHOUSE/default/netflow")" = "$k" ] || return 1
    m=$(scrape "$WM")
    [ "$(msum serviceradar_netflow_clickhouse_consumer_pending_messages <<<"$m")" = 0 ] || return 1
    [ "$(msum serviceradar_netflow_clickhouse_consumer_ack_pending <<<"$m")" = 0 ] || return 1
    m=$(scrape "$QM")
    [ "$(msum serviceradar_netflow_parquet_consumer_pending_messages <<<"$m")" = 0 ] || return 1
    [ "$(msum serviceradar_netflow_parquet_consumer_ack_pending <<<"$m")" = 0 ] || return 1
}
t_done=
next=$(( t0 + (traffic_ms / 10000 + 1) * 10000 ))
kept=-1
while [ "$(( $(now_ms) - t_end ))" -lt $((drain_wait * 1000)) ]; do
    k=$(kept_now)
    if [ "$k" = "$kept" ] && complete "$k"; then
        t_done=$(now_ms)
        break
    fi
    kept=$k
    if [ "$(now_ms)" -ge "$next" ]; then
        sample $(( (next - t0) / 1000 ))
        next=$((next + 10000))
    fi
    sleep 0.5
done
kept=$(kept_now)
if [ -n "$t_done" ]; then
    drain_ms=$((t_done - t_end))
    drain_s=$(awk -v m="$drain_ms" 'BEGIN { printf "%.1f", m / 1000 }')
else
    drain_s="> $drain_wait"
    it_note "NOT drained within $drain_wait s after the traffic: ClickHouse $(ch 'SELECT count() FROM netflow.netflow'), Iceberg $(it_ice_rows "$WAREHOUSE/default/netflow") of $kept"
fi
PHASE=done
sample "$(awk -v m="$(( $(now_ms) - t0 ))" 'BEGIN { printf "%.1f", m / 1000 }')"

# ---- the figures ---------------------------------------------------------------------------------
read -r udp_in1 udp_rcvbuf1 < <(udp_errors)
declare -A HWM
while read -r n p; do HWM[$n]=$(kib "$p" VmHWM); done <"$comps"

# Edge counters, summed.
edge_sum() { # METRIC
    local i s=0
    for i in $(seq 1 "$edges"); do
        s=$((s + $(scrape "http://127.0.0.1:${CK_MET[i]}/metrics" | msum "$1")))
    done
    echo "$s"
}
kdrops=$(edge_sum netflow_checker_udp_kernel_drops_total)
trunc=$(edge_sum netflow_checker_udp_truncated_total)
rerr=$(edge_sum netflow_checker_udp_receive_errors_total)
derr=$(edge_sum netflow_checker_decode_errors_total)
unread=$(edge_sum netflow_checker_ring_evicted_unread_total)
datagrams_in=$(edge_sum netflow_checker_udp_datagrams_total)
p=$(scrape "$PM")
published=$(msum serviceradar_poller_records_published_total <<<"$p")
lost_edge=$(msum serviceradar_poller_records_lost_at_edge_total <<<"$p")
dups=$(msum serviceradar_poller_duplicates_total <<<"$p")
ch_rows=$(ch 'SELECT count() FROM netflow.netflow')
ch_rows=${ch_rows:-0}
ice_rows=$(it_ice_rows "$WAREHOUSE/default/netflow")
ice_counter=$(it_pqm records_committed_total)
ch_inserted=$(it_wm records_inserted_total)
datagrams_sent=$(cat replay-*.json | jq -s 'map(.sent) | add')
send_errors=$(cat replay-*.json | jq -s 'map(.send_errors) | add')
ch "SELECT exporter_ip, count(), sum(bytes), sum(packets) FROM netflow.netflow GROUP BY exporter_ip" |
    LC_ALL=C sort >ch.tsv
if cmp -s sent.tsv ch.tsv; then per_exporter="equal to what was sent (rows, bytes, packets; $(wc -l <sent.tsv) exporters)"
else per_exporter="DIFFERENT from what was sent: $(diff sent.tsv ch.tsv | head -6 | tr '\n' ' ')"; fi
lost_ch=$((sent - ch_rows))
lost_ice=$((sent - ice_rows))
lost=$(( lost_ch > lost_ice ? lost_ch : lost_ice ))
[ "$lost_ch" -ge 0 ] && [ "$lost_ice" -ge 0 ] || lost="$lost (negative: duplicates)"
explained=$((kdrops + trunc + rerr + derr))

# Achieved rate: flows sent ÷ the slowest replay's own send time.
send_s=$(cat replay-*.json | jq -s 'map(.seconds) | max')
achieved=$(awk -v f="$sent" -v s="$send_s" 'BEGIN { printf "%.0f\n", f / s }')

# Lag over the second half of the traffic phase.
half=$(awk -v m="$traffic_ms" 'BEGIN { print m / 2000 }')
read -r max_edge max_ch max_pq < <(awk -F'\t' -v h="$half" '$2 == "traffic" && $1 >= h {
    if ($6 > e) e = $6; if ($8 > c) c = $8; if ($9 > q) q = $9 } END { print e + 0, c + 0, q + 0 }' samples.tsv)
read -r all_edge all_ch all_pq < <(awk -F'\t' '{ if ($6 > e) e = $6; if ($8 > c) c = $8; if ($9 > q) q = $9 }
    END { print e + 0, c + 0, q + 0 }' samples.tsv)
nhalf=$(awk -F'\t' -v h="$half" '$2 == "traffic" && $1 >= h' samples.tsv | wc -l)
ch_ok=$(( max_ch <= ch_bound && nhalf > 0 ))
pq_ok=$(( max_pq <= pq_bound && nhalf > 0 ))
edge_ok=$(( max_edge <= edge_bound && nhalf > 0 ))
drain_ok=0
[ -n "$t_done" ] && [ "$drain_ms" -le $((drain_max * 1000)) ] && drain_ok=1
lag_ok=$(( ch_ok && pq_ok && edge_ok && drain_ok ))
lost_ok=0
[ "$ch_rows" = "$sent" ] && [ "$ice_rows" = "$sent" ] && lost_ok=1
rate_ok=$(awk -v a="$achieved" -v r="$rate" -v l="$lag_ok" -v z="$lost_ok" 'BEGIN { print (a >= 100000 && a >= r && l && z) ? 1 : 0 }')

# CPU % over the traffic phase and peak RSS, per component and per group.
join -j1 <(sort cpu0.txt) <(sort cpu1.txt) |
    awk -v w="$traffic_ms" '{ printf "%s %.1f\n", $1, ($3 - $2) / 1e6 / w * 100 }' >cpu.txt
for n in "${!HWM[@]}"; do echo "$n ${HWM[$n]}"; done >hwm.txt
gen_cpu=$(cat replay-*.times | awk 'NR % 2 == 0 { for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } }
    END { print s }')
gen_pct=$(awk -v s="$gen_cpu" -v w="$traffic_ms" 'BEGIN { printf "%.1f", s * 1000 / w * 100 }')
machine_pct=$(awk -v b0="$mbusy0" -v b1="$mbusy1" -v t0="$mtotal0" -v t1="$mtotal1" -v n="$(nproc)" \
    'BEGIN { printf "%.1f", (b1 - b0) / (t1 - t0) * n * 100 }')
ours_pct=$(awk '{ s += $2 } END { printf "%.1f", s }' cpu.txt)
# row NAME PATTERN — one line: cpu sum, cpu max, rss sum, rss max (MiB) over components matching.
group() {
    awk -v pat="$1" 'FNR == 1 { f++ } f == 1 && $1 ~ pat { c[$1] = $2 } f == 2 && $1 ~ pat { r[$1] = $2 }
        END { for (k in c) { cs += c[k]; if (c[k] > cm) cm = c[k]; rs += r[k]; if (r[k] > rm) rm = r[k]; n++ }
              printf "%.1f %.1f %.1f %.1f %d\n", cs, cm, rs / 1024, rm / 1024, n }' cpu.txt hwm.txt
}

declare -A GC GR
for n in nats-server clickhouse-server catalog poller clickhouse-writer parquet-writer; do
    read -r GC[$n] _ GR[$n] _ _ < <(group "^$n\$")
done
read -r ck_cs ck_cm ck_rs ck_rm ck_n < <(group '^checker-')
read -r ag_cs ag_cm ag_rs ag_rm ag_n < <(group '^agent-')

{
echo
echo "### Load: $edges edges behind one poller, $rate flows/s offered for $((loops * 10)) s"
echo
echo "Command: \`bench/load.sh $1 $secs $rate\`. Machine: $(nproc) CPUs, $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo). Date: $(date -u +%F)."
echo
echo "Samples every 10 s (offered: the replay schedule; decoded, kernel drops: sums over the checkers; edge back: records in the rings not yet acknowledged by JetStream; CH/PQ pend: each durable's pending + ack-pending messages of 1000 records; CH rows: count(); ICE rows: the Parquet writer's committed counter):"
echo
sample_header
awk -F'\t' '{ printf "| %6s | %-7s | %11s | %11s | %6s | %9s | %11s | %8s | %8s | %11s | %11s |\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 }' samples.tsv
echo
echo "| figure | value | target | verdict |"
echo "|--------|-------|--------|---------|"
echo "| combined rate sent (flows ÷ the slowest replay's send time) | $achieved flows/s ($sent flows in ${send_s} s) | ≥ 100 k/s, kept up with, none lost | $(bench_verdict "$rate_ok") |"
echo "| ClickHouse durable backlog, max over the 2nd half (whole run) | $max_ch ($all_ch) messages | ≤ $ch_bound | $(bench_verdict "$ch_ok") |"
echo "| Parquet durable backlog, max over the 2nd half (whole run) | $max_pq ($all_pq) messages | ≤ $pq_bound | $(bench_verdict "$pq_ok") |"
echo "| edge backlog (rings − poller cursors), max over the 2nd half (whole run) | $max_edge ($all_edge) records | ≤ $edge_bound | $(bench_verdict "$edge_ok") |"
echo "| drain: last datagram → both tiers complete, durables empty | $drain_s s | ≤ $drain_max s | $(bench_verdict "$drain_ok") |"
echo "| flows lost (sent − stored, worse tier) | $lost | 0 | $(bench_verdict "$lost_ok") |"
echo
echo "Edge: $datagrams_sent datagrams sent ($send_errors send errors), $datagrams_in received by the checkers; checker drops: kernel $kdrops, truncated $trunc, receive errors $rerr, decode errors $derr; rings evicted unread $unread. Machine-wide UDP during the run: InErrors +$((udp_in1 - udp_in0)), RcvbufErrors +$((udp_rcvbuf1 - udp_rcvbuf0)) (other processes count there too)."
echo "Poller: published $published records, lost at the edge $lost_edge, duplicates recognised by JetStream $dups."
echo "Stored: sent $sent; checkers kept $kept; ClickHouse $ch_rows rows (writer inserted $ch_inserted), per exporter $per_exporter; Iceberg $ice_rows rows in the current snapshot (writer committed $ice_counter)."
[ "$lost_ch" = 0 ] || [ "$explained" -gt 0 ] || echo "UNEXPLAINED: $lost_ch flows missing from ClickHouse and no checker drop counter explains it."
echo
echo "CPU over the traffic phase ($(awk -v m="$traffic_ms" 'BEGIN { printf "%.1f", m / 1000 }') s; 100 % = one core) and peak RSS (VmHWM):"
echo
echo "| component | CPU % | peak RSS MiB |"
echo "|-----------|-------|--------------|"
for n in nats-server clickhouse-server catalog poller clickhouse-writer parquet-writer; do
    echo "| $n | ${GC[$n]} | ${GR[$n]} |"
done
echo "| checkers ($ck_n): sum / max | $ck_cs / $ck_cm | $ck_rs / $ck_rm |"
echo "| agents ($ag_n): sum / max | $ag_cs / $ag_cm | $ag_rs / $ag_rm |"
echo "| **all of the above** | $ours_pct | |"
echo "| load generator ($edges × tests/tools/replay) | $gen_pct | |"
echo "| whole machine (/proc/stat; of $(( $(nproc) * 100 )) %) | $machine_pct | |"
echo "| everything else on the machine (other users, the sampling curls) | $(awk -v m="$machine_pct" -v o="$ours_pct" -v g="$gen_pct" 'BEGIN { printf "%.1f", m - o - g }') | |"
echo
echo "Load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
} | tee report.md

# ---- summary rows -------------------------------------------------------------------------------
bench_row load "combined rate, flows/s ($edges edges, one poller)" "$achieved" - "≥ 100 k/s" "$(bench_verdict "$rate_ok")"
bench_row load "duration, s" "$send_s" - - -
bench_row load "max pending, ClickHouse durable, messages" "$max_ch" - "bounded (≤ $ch_bound)" "$(bench_verdict "$ch_ok")"
bench_row load "max pending, Parquet durable, messages" "$max_pq" - "bounded (≤ $pq_bound)" "$(bench_verdict "$pq_ok")"
bench_row load "max edge backlog, records" "$max_edge" - "bounded (≤ $edge_bound)" "$(bench_verdict "$edge_ok")"
bench_row load "drain after traffic, s" "$drain_s" - "≤ $drain_max s" "$(bench_verdict "$drain_ok")"
bench_row load "flows lost" "$lost" - 0 "$(bench_verdict "$lost_ok")"
for n in nats-server clickhouse-server catalog poller clickhouse-writer parquet-writer; do
    bench_row load "$n: CPU %, peak RSS MiB" "${GC[$n]} %, ${GR[$n]} MiB" - - -
done
bench_row load "checkers ($ck_n): CPU % sum/max, peak RSS MiB sum/max" "$ck_cs/$ck_cm %, $ck_rs/$ck_rm MiB" - - -
bench_row load "agents ($ag_n): CPU % sum/max, peak RSS MiB sum/max" "$ag_cs/$ag_cm %, $ag_rs/$ag_rm MiB" - - -
bench_row load "load generator (replay): CPU %" "$gen_pct %" - - -
exit 0
}

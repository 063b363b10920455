#!/usr/bin/env bash
# checker_restart.sh BUILD_DIR — templates survive restarts, and exporters stay on their
# worker when their source port changes.
#
# flowgen writes a capture where each exporter (v9 and IPFIX) sends its templates only in
# its first datagram. The first 40 datagrams (templates + data) go to one checker, the rest
# (data only) to another checker process started afterwards, from new source ports:
#   1. after SIGTERM (state written at stop)           → every flow decodes
#   2. after SIGKILL (state from the periodic write)   → every flow decodes
#   3. control: no state file                          → no v9/IPFIX flow decodes, the data
#      waits in the backlog and is then counted as no_template (what 1 and 2 prevent)
#   4. one checker with 4 receive sockets, the second half from new source ports: source
#      address steering keeps each exporter on the worker that holds its templates.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
"$FLOWGEN" --pcap traffic.pcap --flows 20000 --protocol mix --exporters 6 --template-interval 0 \
    --sampling 4 --seed 7 --quiet >sent.json
total=$(jq .flows sent.json)
head=40

udp=$(it_free_port udp)
metrics=$(it_free_port tcp)
conf() { it_checker_config "$1.json" "$udp" "$metrics" \
    '"decoder": {"backlog_max_age": "1s"}, "receive_sockets": '"${2:-2}"; }
flows() { it_metric "$CHECKER_METRICS" netflow_checker_flows_decoded_total; }

# Phase A: a checker sees the head of the capture; returns how many flows that was.
first_half() {
    local name=$1 signal=$2
    rm -f "$name.state"
    conf "$name"
    it_start_checker "$name.json" "$name.log"
    "$REPLAY" traffic.pcap "127.0.0.1:$udp" --count "$head" >/dev/null
    it_wait_metric "$CHECKER_METRICS" netflow_checker_udp_datagrams_total "$head"
    HEAD_FLOWS=$(flows)
    if [ "$signal" = KILL ]; then
        # Wait for a periodic state write after the templates arrived, then crash.
        local w0
        w0=$(it_metric "$CHECKER_METRICS" netflow_checker_state_writes_total)
        it_wait_until '[ "$(it_metric "$CHECKER_METRICS" netflow_checker_state_writes_total)" -gt "$w0" ]' ||
            it_fail "$name: no periodic state write"
    fi
    it_stop "$CHECKER_PID" "$signal"
}

# Phase B: a new checker on the same state file gets the rest.
second_half() {
    local name=$1
    it_start_checker "$name.json" "$name-2.log"
    "$REPLAY" traffic.pcap "127.0.0.1:$udp" --skip "$head" >/dev/null
}

for signal in TERM KILL; do
    first_half "restart-$signal" "$signal"
    second_half "restart-$signal"
    it_wait_metric "$CHECKER_METRICS" netflow_checker_flows_decoded_total $((total - HEAD_FLOWS))
    it_expect "$signal: queued" "$(it_metric "$CHECKER_METRICS" netflow_checker_backlog_sets_queued_total)" 0
    grep -q "templates restored" "restart-$signal-2.log" || it_fail "$signal: no restore logged"
    # Every worker loaded every exporter; /status must still list each exporter once.
    sleep 1.2
    it_expect "$signal: exporters in /status" \
        "$(curl -fsS "${CHECKER_METRICS%/metrics}/status" | jq '.exporters | length')" 6
    it_stop "$CHECKER_PID"
    it_note "after SIG$signal: $HEAD_FLOWS + $((total - HEAD_FLOWS)) flows, none waiting for templates"
done

# Control: the same second half without the state file cannot be decoded.
first_half control TERM
rm -f control.state
second_half control
it_wait_until '[ "$(it_metric "$CHECKER_METRICS" netflow_checker_decode_errors_total "reason=\"no_template\"")" -gt 0 ]' ||
    it_fail "control: data without templates was not counted"
sleep 1.2 # exporter counters are published once a second
templated=$(curl -fsS "$CHECKER_METRICS" | awk '/^netflow_checker_exporter_flows_total/ &&
    !/protocol="v5"/ { s += $2 } END { print s + 0 }')
it_expect "control: v9/IPFIX flows decoded" "$templated" 0
it_stop "$CHECKER_PID"
it_note "control without state: v9/IPFIX data not decoded, counted as no_template"

# Steering: one checker, four sockets, the exporters come back from new source ports.
rm -f steer.state
conf steer 4
it_start_checker steer.json steer.log
"$REPLAY" traffic.pcap "127.0.0.1:$udp" --count "$head" >/dev/null
sleep 0.3
"$REPLAY" traffic.pcap "127.0.0.1:$udp" --skip "$head" >/dev/null
it_wait_metric "$CHECKER_METRICS" netflow_checker_flows_decoded_total "$total"
it_expect "steering: no_template" \
    "$(it_metric "$CHECKER_METRICS" netflow_checker_decode_errors_total 'reason="no_template"')" 0
grep -q "steering=by-exporter" steer.log || it_fail "steering program not attached"
it_stop "$CHECKER_PID"
echo "PASS checker_restart"

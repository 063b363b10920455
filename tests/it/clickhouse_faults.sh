#!/usr/bin/env bash
# clickhouse_faults.sh BUILD_DIR — the ClickHouse writer under faults, through the whole spine:
#   1. the writer is SIGKILLed 5 times while 1 M flows arrive → every flow stored exactly
#      once (count, bytes, packets; the ingest log holds each message once);
#   2. ClickHouse is stopped for 60 s → the writer backs off, JetStream holds the batches,
#      and once ClickHouse is back the writer catches up, exactly;
#   3. a poison message (not a FlowBatch) → dead-letter stream with its reason, counted, and
#      the flows published after it still arrive.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
it_certs certs
it_start_nats nats "$(it_free_port tcp)" "$IT_WORK/certs"
SPINE_CONSUMERS=clickhouse it_spine_configs "$IT_WORK" "$IT_WORK/certs"
it_start_clickhouse "$IT_WORK/ch"
it_writer_config "$IT_WORK" "$IT_WORK/certs"
it_start_checker_spine "$IT_WORK"
it_start_agent "$IT_WORK"
it_start_poller "$IT_WORK"
it_start_writer "$IT_WORK"
rows() { it_ch 'SELECT count() FROM netflow.netflow'; }
wait_rows() { # wait_rows N SECONDS
    it_wait_until "[ \"\$(rows)\" -ge $1 ]" "$2" ||
        it_fail "only $(rows) of $1 rows: $(tail -3 writer.log)"
    sleep 1
    it_expect "rows" "$(rows)" "$1"
}
exact() { # exact WHAT FLOWS BYTES PACKETS
    it_expect "$1: rows" "$(rows)" "$2"
    it_expect "$1: bytes" "$(it_ch 'SELECT sum(bytes) FROM netflow.netflow')" "$3"
    it_expect "$1: packets" "$(it_ch 'SELECT sum(packets) FROM netflow.netflow')" "$4"
    it_expect "$1: each message once in ingest_log" \
        "$(it_ch 'SELECT count() = uniqExact(msg_id) FROM netflow.ingest_log')" 1
    it_expect "$1: ingest_log rows" "$(it_ch 'SELECT sum(rows) FROM netflow.ingest_log')" "$2"
    it_expect "$1: rollup rows" "$(it_ch 'SELECT sum(flows) FROM netflow.rollup_5m_iface')" "$2"
}

# 1. Writer SIGKILLed 5 times during 1 M flows.
flows=1000000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows" --rate 100000 --protocol mix \
    --exporters 4 --seed 21 --quiet >sent1.json &
gen=$!
for i in 1 2 3 4 5; do
    sleep 1.5
    it_stop "$WRITER_PID" KILL
    it_start_writer "$IT_WORK"
done
wait "$gen"
wait_rows "$flows" 120
exact "writer killed 5 times" "$flows" "$(jq .bytes sent1.json)" "$(jq .packets sent1.json)"
it_note "writer killed 5 times: $flows flows stored once; redelivered messages found already stored since the last start: $(it_wm already_stored_total)"

# 2. ClickHouse away for 60 s.
it_stop_clickhouse
flows2=100000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows2" --rate 50000 --protocol mix \
    --exporters 4 --seed 22 --quiet >sent2.json
sleep 58
failures=$(it_wm insert_failures_total)
[ "$failures" -gt 0 ] || [ "$(it_wm up)" = 0 ] || it_fail "the writer did not notice ClickHouse was gone"
held=$(curl -fsS "$NATS_MONITOR/jsz?streams=true" |
    jq '[.account_details[].stream_detail[] | select(.name == "NETFLOW") | .state.messages] | add')
[ "$held" -gt 0 ] || it_fail "the stream does not hold the batches while ClickHouse is away"
it_note "ClickHouse away: $held messages held in the stream, $failures failed INSERTs, writer backing off"
it_restart_clickhouse
total=$((flows + flows2))
wait_rows "$total" 120
exact "after ClickHouse came back" "$total" \
    "$(( $(jq .bytes sent1.json) + $(jq .bytes sent2.json) ))" \
    "$(( $(jq .packets sent1.json) + $(jq .packets sent2.json) ))"

# 3. A poison message goes to the dead-letter stream; later flows still arrive.
"$JSPUB" --url "$NATS_URL" --certs "$IT_WORK/certs" --subject netflow.raw --msg-id poison-1 \
    --hex 0affffffff0f >/dev/null
it_wait_until '[ "$(it_wm dead_letters_total)" = 1 ]' 20 || it_fail "poison not dead-lettered"
dlq=$(curl -fsS "$NATS_MONITOR/jsz?streams=true" |
    jq '[.account_details[].stream_detail[] | select(.name == "NETFLOW_DEADLETTER") | .state.messages] | add')
it_expect "dead-letter stream messages" "$dlq" 1
grep -q "poison-1 .*dead-lettered to netflow.deadletter: FlowBatch" writer.log ||
    it_fail "no dead-letter line in the log: $(grep -i dead writer.log | tail -2)"
flows3=20000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows3" --rate 40000 --protocol v9 \
    --exporters 2 --seed 23 --quiet >sent3.json
wait_rows "$((total + flows3))" 60
echo "PASS clickhouse_faults (5 writer kills, ClickHouse away 60 s, poison message: $((total + flows3)) flows exactly once)"

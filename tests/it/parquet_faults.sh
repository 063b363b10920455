#!/usr/bin/env bash
# parquet_faults.sh BUILD_DIR — the Parquet writer under faults, through the whole spine:
#   1. the writer is SIGKILLed 5 times while 1 M flows arrive → every flow in the table
#      exactly once (rows, bytes, packets by the independent reader);
#   2. the catalog is SIGKILLed and stays away 20 s → the writer backs off, JetStream holds the
#      batches, and once the catalog is back the writer catches up, exactly;
#   3. a poison message (not a FlowBatch) → dead-letter stream with its reason, counted, and
#      the flows published after it still arrive.
source "$(dirname "$0")/lib.sh"
source "$IT_SRC/tests/it/lib_iceberg.sh"
cd "$IT_WORK"
it_certs certs
it_start_nats nats "$(it_free_port tcp)" "$IT_WORK/certs"
SPINE_CONSUMERS=parquet it_spine_configs "$IT_WORK" "$IT_WORK/certs"
it_start_catalog "$IT_WORK"
PQ_BATCH_SIZE=100000 it_pq_config "$IT_WORK" "$IT_WORK/certs"
it_start_checker_spine "$IT_WORK"
it_start_agent "$IT_WORK"
it_start_poller "$IT_WORK"
it_start_pq "$IT_WORK"
table=$WAREHOUSE/default/netflow

wait_rows() { # wait_rows N SECONDS
    it_wait_until "[ \"\$(it_ice_rows $table)\" -ge $1 ]" "$2" ||
        it_fail "only $(it_ice_rows "$table") of $1 rows: $(tail -3 pq.log)"
    sleep 2
}
exact() { # exact WHAT FLOWS BYTES PACKETS
    it_ice_read "$table" >read.json || it_fail "$1: independent reader failed"
    it_expect "$1: rows" "$(jq -r .rows read.json)" "$2"
    it_expect "$1: bytes" "$(jq -r .bytes read.json)" "$3"
    it_expect "$1: packets" "$(jq -r .packets read.json)" "$4"
    it_expect "$1: summary total-records" "$(it_ice_rows "$table")" "$2"
}

# 1. Writer SIGKILLed 5 times during 1 M flows.
flows=1000000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows" --rate 100000 --protocol mix \
    --exporters 4 --seed 21 --quiet >sent1.json &
gen=$!
for i in 1 2 3 4 5; do
    sleep "1.$((RANDOM % 9))"
    it_stop "$PQ_PID" KILL
    it_start_pq "$IT_WORK"
done
wait "$gen"
wait_rows "$flows" 180
exact "writer killed 5 times" "$flows" "$(jq .bytes sent1.json)" "$(jq .packets sent1.json)"
it_note "writer killed 5 times: $flows flows stored once; found already committed since the last start: $(it_pqm already_committed_total)"

# 2. Catalog killed, away 20 s.
it_stop "$CATALOG_PID" KILL
flows2=100000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows2" --rate 50000 --protocol mix \
    --exporters 4 --seed 22 --quiet >sent2.json
sleep 18
[ "$(it_pqm commit_failures_total)" -gt 0 ] || [ "$(it_pqm catalog_up)" = 0 ] ||
    it_fail "the writer did not notice the catalog was gone"
held=$(curl -fsS "$NATS_MONITOR/jsz?streams=true" |
    jq '[.account_details[].stream_detail[] | select(.name == "NETFLOW") | .state.messages] | add')
[ "$held" -gt 0 ] || it_fail "the stream does not hold the batches while the catalog is away"
it_note "catalog away: $held messages held in the stream, $(it_pqm commit_failures_total) failed commit attempts"
it_start_catalog "$IT_WORK"
total=$((flows + flows2))
wait_rows "$total" 120
exact "after the catalog came back" "$total" \
    "$(( $(jq .bytes sent1.json) + $(jq .bytes sent2.json) ))" \
    "$(( $(jq .packets sent1.json) + $(jq .packets sent2.json) ))"

# 3. A poison message goes to the dead-letter stream; later flows still arrive.
"$JSPUB" --url "$NATS_URL" --certs "$IT_WORK/certs" --subject netflow.raw --msg-id poison-1 \
    --hex 0affffffff0f >/dev/null
it_wait_until '[ "$(it_pqm dead_letters_total)" = 1 ]' 20 || it_fail "poison not dead-lettered"
dlq=$(curl -fsS "$NATS_MONITOR/jsz?streams=true" |
    jq '[.account_details[].stream_detail[] | select(.name == "NETFLOW_DEADLETTER") | .state.messages] | add')
it_expect "dead-letter stream messages" "$dlq" 1
grep -q "poison-1 .*dead-lettered to netflow.deadletter: FlowBatch" pq.log ||
    it_fail "no dead-letter line in the log: $(grep -i dead pq.log | tail -2)"
flows3=20000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows3" --rate 40000 --protocol v9 \
    --exporters 2 --seed 23 --quiet >sent3.json
wait_rows "$((total + flows3))" 60
it_expect "rows after the poison message" "$(it_ice_rows "$table")" "$((total + flows3))"
echo "PASS parquet_faults (5 writer kills, catalog killed and away 20 s, poison message: $((total + flows3)) flows exactly once)"

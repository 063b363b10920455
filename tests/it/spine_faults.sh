#!/usr/bin/env bash
# spine_faults.sh BUILD_DIR — the spine under faults, mTLS throughout:
#   1. the poller is SIGKILLed 5 times while records flow → in the stream every record
#      exactly once (no loss, no duplicate);
#   2. the agent is down for 10 s → the poller backs off and recovers, nothing lost;
#   3. the checker is SIGKILLed and restarted → the poller follows the new sequence and
#      reports the jump; everything sent after the restart arrives.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
it_certs certs
nats_port=$(it_free_port tcp)
it_start_nats nats "$nats_port" "$IT_WORK/certs"
SPINE_BATCH_SIZE=500 it_spine_configs "$IT_WORK" "$IT_WORK/certs"
it_start_checker_spine "$IT_WORK"
it_start_agent "$IT_WORK"
it_start_poller "$IT_WORK"
pm() { it_metric "http://127.0.0.1:$POLLER_METRICS_PORT/metrics" "$1" 'agent="edge-1"'; }

# 1. Poller SIGKILLed mid-stream.
flows=60000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows" --rate 8000 --protocol mix \
    --exporters 4 --seed 11 --quiet >sent1.json &
gen=$!
for i in 1 2 3 4 5; do
    sleep 1.2
    it_stop "$POLLER_PID" KILL
    it_start_poller "$IT_WORK"
done
wait "$gen"
"$JSREAD" --url "$NATS_URL" --certs "$IT_WORK/certs" --durable it-reader --expect "$flows" \
    --timeout 30s >read1.json
it_expect "kills: distinct" "$(jq .distinct read1.json)" "$flows"
it_expect "kills: duplicates" "$(jq .duplicates read1.json)" 0
it_expect "kills: holes" "$(jq .holes read1.json)" 0
it_expect "kills: bytes" "$(jq .bytes read1.json)" "$(jq .bytes sent1.json)"
it_note "poller killed 5 times: $flows records, each exactly once ($(pm serviceradar_poller_duplicates_total) re-sent batches dropped as duplicates by JetStream since the last start)"

# 1b. The worst moment: the poller dies right after JetStream acknowledged a batch and
#     before it saved its cursor (fault injection), with full and partial (tail) batches.
#     The restarted poller publishes the same batches again; JetStream drops them as
#     duplicates (same Nats-Msg-Id, same records). 3100 flows in batches of 500: the 7th
#     publish is the partial tail (100 records), saved as in flight before it went out.
for n in 2 5 7; do
    it_stop "$POLLER_PID" KILL
    NF_FAULT_POLLER_EXIT_AFTER_PUBLISH=$n it_start_poller "$IT_WORK"
    "$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows 3100 --rate 4000 --protocol mix \
        --exporters 4 --seed $((20 + n)) --quiet >"sent-fault-$n.json"
    it_wait_until "! kill -0 $POLLER_PID 2>/dev/null" 20 || it_fail "fault injection did not fire"
    wait "$POLLER_PID" || true
    it_start_poller "$IT_WORK"
    "$JSREAD" --url "$NATS_URL" --certs "$IT_WORK/certs" --durable it-reader --expect 3100 \
        --timeout 30s >"read-fault-$n.json"
    it_expect "fault $n: distinct" "$(jq .distinct "read-fault-$n.json")" 3100
    it_expect "fault $n: duplicates" "$(jq .duplicates "read-fault-$n.json")" 0
    it_expect "fault $n: bytes" "$(jq .bytes "read-fault-$n.json")" "$(jq .bytes "sent-fault-$n.json")"
    it_wait_until '[ "$(pm serviceradar_poller_duplicates_total)" -ge 1 ]' 5 ||
        it_fail "fault $n: the re-sent batch was not recognised as a duplicate"
done
it_note "poller died between ack and cursor save 3 times: re-sent batches dropped as duplicates, each record once"

# 2. Agent down for 10 s while records keep coming.
flows2=20000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows2" --rate 1500 --protocol mix \
    --exporters 4 --seed 12 --quiet >sent2.json &
gen=$!
sleep 1
it_stop "$AGENT_PID"
sleep 10
failures=$(pm serviceradar_poller_agent_failures_total)
[ "$failures" -gt 0 ] || it_fail "the poller did not notice the agent was down"
it_start_agent "$IT_WORK"
wait "$gen"
"$JSREAD" --url "$NATS_URL" --certs "$IT_WORK/certs" --durable it-reader --expect "$flows2" \
    --timeout 40s >read2.json
it_expect "agent down: distinct" "$(jq .distinct read2.json)" "$flows2"
it_expect "agent down: duplicates" "$(jq .duplicates read2.json)" 0
it_expect "agent down: bytes" "$(jq .bytes read2.json)" "$(jq .bytes sent2.json)"
it_note "agent down 10 s: poller backed off ($failures failures), then delivered all $flows2"

# 3. Checker killed and restarted: a new sequence range; what is sent afterwards arrives.
it_stop "$CHECKER_PID" KILL
it_start_checker_spine "$IT_WORK"
flows3=5000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows3" --rate 20000 --protocol mix \
    --exporters 4 --seed 13 --quiet >sent3.json
"$JSREAD" --url "$NATS_URL" --certs "$IT_WORK/certs" --durable it-reader --expect "$flows3" \
    --timeout 30s >read3.json
it_expect "checker restart: distinct" "$(jq .distinct read3.json)" "$flows3"
it_expect "checker restart: bytes" "$(jq .bytes read3.json)" "$(jq .bytes sent3.json)"
it_wait_until '[ "$(pm serviceradar_poller_sequence_jumps_total)" -ge 1 ]' 5 ||
    it_fail "the sequence jump after the checker restart was not reported"
it_note "checker restarted: new sequence range followed, jump reported"
echo "PASS spine_faults"

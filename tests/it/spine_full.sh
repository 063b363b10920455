#!/usr/bin/env bash
# spine_full.sh BUILD_DIR — the stream fills up (tiny max_bytes, a durable consumer that
# nobody reads), mTLS throughout:
#   1. while the stream is full the poller backs off, the checker's ring keeps every record,
#      and once a reader drains the stream every record arrives exactly once;
#   2. with the reader gone again and more records than the ring holds, the ring evicts:
#      the loss is counted by the poller, reported in the stream (dropped_before of the next
#      batch), and everything that was not evicted still arrives exactly once.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
it_certs certs
nats_port=$(it_free_port tcp)
it_start_nats nats "$nats_port" "$IT_WORK/certs"
# ~145 bytes per record on the wire (this traffic mix): 1 MiB, the smallest stream the poller
# accepts (one FlowBatch may be 1 MB), holds 7 batches of 1000.
SPINE_MAX_RECORDS=40000 SPINE_STREAM_BYTES=1MiB SPINE_BACKOFF_MAX=1s \
    it_spine_configs "$IT_WORK" "$IT_WORK/certs"
it_start_checker_spine "$IT_WORK"
it_start_agent "$IT_WORK"
it_start_poller "$IT_WORK"
pm() { it_metric "http://127.0.0.1:$POLLER_METRICS_PORT/metrics" "$1" 'agent="edge-1"'; }
cm() { it_metric "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics" "$@"; }
stream_bytes() {
    curl -fsS "$NATS_MONITOR/jsz?streams=true" |
        jq '[.account_details[].stream_detail[] | select(.name == "NETFLOW") | .state.bytes] | add'
}

# 1. Full stream: back-pressure, the ring holds everything, then a reader drains it.
flows1=30000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows1" --rate 30000 --protocol mix \
    --exporters 3 --seed 5 --quiet >sent1.json
it_wait_metric "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics" \
    netflow_checker_ring_appended_total "$flows1"
it_wait_until '[ "$(pm serviceradar_poller_publish_backpressure_total)" -ge 3 ]' 20 ||
    it_fail "the poller never met a full stream: $(tail -3 poller.log)"
published=$(pm serviceradar_poller_records_published_total)
[ "$published" -lt "$flows1" ] || it_fail "all $published records fit in a 1 MiB stream?"
[ "$(stream_bytes)" -le $((1024 * 1024)) ] || it_fail "stream holds $(stream_bytes) bytes > max"
it_expect "full: ring holds every record" "$(cm netflow_checker_ring_records)" "$flows1"
it_expect "full: ring evicted" "$(cm netflow_checker_ring_evicted_total 'cause="capacity"')" 0
it_expect "full: lost at the edge" "$(pm serviceradar_poller_records_lost_at_edge_total)" 0
it_note "stream full: $published of $flows1 records published, $(pm serviceradar_poller_publish_backpressure_total) publishes refused and retried, $(stream_bytes) bytes stored"

"$JSREAD" --url "$NATS_URL" --certs "$IT_WORK/certs" --durable it-reader --expect "$flows1" \
    --timeout 30s >read1.json
it_expect "drained: distinct" "$(jq .distinct read1.json)" "$flows1"
it_expect "drained: duplicates" "$(jq .duplicates read1.json)" 0
it_expect "drained: holes" "$(jq .holes read1.json)" 0
it_expect "drained: bytes" "$(jq .bytes read1.json)" "$(jq .bytes sent1.json)"
it_expect "drained: dropped at the edge" "$(jq .dropped_reported read1.json)" 0

# 2. Nobody reads and the ring (40000) must evict: 100000 more records arrive.
flows2=100000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows2" --rate 50000 --protocol mix \
    --exporters 3 --seed 6 --quiet >sent2.json
total=$((flows1 + flows2))
it_wait_metric "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics" \
    netflow_checker_ring_appended_total "$total"
evicted=$(cm netflow_checker_ring_evicted_total 'cause="capacity"')
[ "$evicted" -gt 0 ] || it_fail "the ring did not evict"
"$JSREAD" --url "$NATS_URL" --certs "$IT_WORK/certs" --durable it-reader --expect 0 \
    --timeout 6s >read2.json
lost=$(pm serviceradar_poller_records_lost_at_edge_total)
[ "$lost" -gt 0 ] || it_fail "records were evicted unpublished but no loss was counted"
it_expect "caught up: poller cursor" "$(pm serviceradar_poller_cursor)" \
    "$(cm netflow_checker_ring_last_sequence)"
it_expect "evicted: distinct + lost" "$(($(jq .distinct read2.json) + lost))" "$flows2"
it_expect "evicted: duplicates" "$(jq .duplicates read2.json)" 0
it_expect "evicted: loss reported in the stream" "$(jq .dropped_reported read2.json)" "$lost"
it_expect "evicted: holes are exactly the loss" "$(jq .holes read2.json)" "$lost"
[ "$lost" -le "$evicted" ] || it_fail "lost $lost > evicted $evicted"
unread=$(cm netflow_checker_ring_evicted_unread_total)
[ "$unread" -le "$lost" ] || it_fail "checker: $unread evicted unread > $lost lost"
grep -q "records were evicted by the checker before they could be published" poller.log ||
    it_fail "the poller did not log the loss"
echo "PASS spine_full (backpressure, then $lost of $flows2 records lost to ring eviction, counted and reported; the rest exactly once)"

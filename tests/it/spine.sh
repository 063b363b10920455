#!/usr/bin/env bash
# spine.sh BUILD_DIR — flowgen → checker → agent → poller → JetStream, all over mTLS:
# exact record counts and byte/packet sums, no duplicates, no holes, read back with a
# durable consumer.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
it_certs certs
nats_port=$(it_free_port tcp)
it_start_nats nats "$nats_port" "$IT_WORK/certs"
it_spine_configs "$IT_WORK" "$IT_WORK/certs"
it_start_checker_spine "$IT_WORK"
it_start_agent "$IT_WORK"
it_start_poller "$IT_WORK"

flows=50000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows" --rate 50000 --protocol mix \
    --exporters 6 --sampling 4 --ipv6-share 20 --quiet >sent.json
it_expect "flowgen flows" "$(jq .flows sent.json)" "$flows"

"$JSREAD" --url "$NATS_URL" --certs "$IT_WORK/certs" --durable it-reader --expect "$flows" \
    --timeout 30s >read.json
it_expect "distinct records in the stream" "$(jq .distinct read.json)" "$flows"
it_expect "duplicate records" "$(jq .duplicates read.json)" 0
it_expect "holes" "$(jq .holes read.json)" 0
it_expect "bytes" "$(jq .bytes read.json)" "$(jq .bytes sent.json)"
it_expect "packets" "$(jq .packets read.json)" "$(jq .packets sent.json)"
it_expect "dropped at the edge" "$(jq .dropped_reported read.json)" 0
echo "PASS spine ($flows flows, $(jq .messages read.json) messages over mTLS)"

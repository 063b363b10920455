#!/usr/bin/env bash
# checker_accounting.sh BUILD_DIR — exact end-to-end accounting through the checker:
# flowgen sends a known number of flows (v5, v9 and IPFIX from six exporters, sampled,
# IPv4 and IPv6) over loopback; the checker's counters and the records it holds must match
# flowgen's totals exactly: flows, bytes and packets, per exporter too, with no decode
# error, no sequence loss and nothing dropped.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
udp=$(it_free_port udp)
metrics=$(it_free_port tcp)
it_checker_config checker.json "$udp" "$metrics" '"max_records": 500000, "receive_sockets": 2'
it_start_checker checker.json checker.log --print >records.json

flows=120000
"$FLOWGEN" --target "127.0.0.1:$udp" --flows "$flows" --rate 40000 --protocol mix \
    --exporters 6 --sampling 10 --ipv6-share 25 --seed 42 --quiet >sent.json
it_expect "flowgen flows" "$(jq .flows sent.json)" "$flows"
it_expect "flowgen send errors" "$(jq .send_errors sent.json)" 0

it_wait_metric "$CHECKER_METRICS" netflow_checker_flows_decoded_total "$flows"
it_expect "datagrams" "$(it_metric "$CHECKER_METRICS" netflow_checker_udp_datagrams_total)" \
    "$(jq .datagrams sent.json)"
it_expect "ring appended" "$(it_metric "$CHECKER_METRICS" netflow_checker_ring_appended_total)" "$flows"
it_expect "kernel drops" "$(it_metric "$CHECKER_METRICS" netflow_checker_udp_kernel_drops_total)" 0
for reason in $(curl -fsS "$CHECKER_METRICS" | sed -n 's/^netflow_checker_decode_errors_total{reason="\([a-z_]*\)"}.*/\1/p'); do
    it_expect "decode errors ($reason)" \
        "$(it_metric "$CHECKER_METRICS" netflow_checker_decode_errors_total "reason=\"$reason\"")" 0
done
it_expect "sequence loss" "$(it_metric "$CHECKER_METRICS" netflow_checker_sequence_lost_total 'unit="records"')" 0
it_expect "sequence loss" "$(it_metric "$CHECKER_METRICS" netflow_checker_sequence_lost_total 'unit="datagrams"')" 0

# Every record, as read back from the ring, adds up to what was sent, per exporter too.
it_wait_until '[ "$(wc -l <records.json)" -ge "$flows" ]' || it_fail "only $(wc -l <records.json) records printed"
jq -s 'group_by(.exporter) | map({address: .[0].exporter, flows: length,
        bytes: (map(.bytes) | add), packets: (map(.packets) | add),
        rate: (map(.sampling_rate) | unique)}) | sort_by(.address)' records.json >got.json
jq '.exporters | map({address, flows, bytes, packets, rate: [10]}) | sort_by(.address)' \
    sent.json >want.json
diff -u want.json got.json || it_fail "records differ from what flowgen sent"
# /status tells the same story, one entry per exporter (counters are published each second).
sleep 1.2
curl -fsS "${CHECKER_METRICS%/metrics}/status" >status.json
it_expect "status: decoded" "$(jq .decoder.flows status.json)" "$flows"
it_expect "status: ring held" "$(jq .ring.held status.json)" "$flows"
it_expect "status: exporters" "$(jq '.exporters | length' status.json)" 6
jq '.exporters | map({address, flows}) | sort_by(.address)' status.json >status-exp.json
jq '.exporters | map({address, flows}) | sort_by(.address)' sent.json >sent-exp.json
diff -u sent-exp.json status-exp.json || it_fail "per-exporter flows in /status differ"
it_expect "status: templates of v9/IPFIX exporters" \
    "$(jq '[.exporters[] | select(.protocol != "v5") | .templates >= 2] | all' status.json)" true
jq -e '.udp.flows_per_s | type == "number"' status.json >/dev/null || it_fail "no receive rate"
it_stop "$CHECKER_PID"
grep -q "flows=$flows" checker.log || it_fail "final status line missing: $(tail -3 checker.log)"
echo "PASS checker_accounting ($flows flows, $(jq .bytes sent.json) bytes)"

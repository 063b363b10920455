#!/usr/bin/env bash
# clickhouse_spine.sh BUILD_DIR — flowgen → checker → agent → poller → JetStream → writer →
# ClickHouse, mTLS to NATS: every record lands once in the raw table, every rollup and the
# ingest log add up to what flowgen sent (flows, bytes, packets, per exporter), the PRD's
# example query runs unchanged as the read-only user, and that user cannot write.
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

flows=200000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows" --rate 50000 --protocol mix \
    --exporters 6 --sampling 4 --ipv6-share 20 --seed 8 --quiet >sent.json
it_wait_until "[ \"\$(it_ch 'SELECT count() FROM netflow.netflow')\" -ge $flows ]" 60 ||
    it_fail "only $(it_ch 'SELECT count() FROM netflow.netflow') of $flows rows arrived: $(tail -3 writer.log)"
sleep 1 # anything beyond the expected count would show up now

it_expect "rows" "$(it_ch 'SELECT count() FROM netflow.netflow')" "$flows"
it_expect "bytes" "$(it_ch 'SELECT sum(bytes) FROM netflow.netflow')" "$(jq .bytes sent.json)"
it_expect "packets" "$(it_ch 'SELECT sum(packets) FROM netflow.netflow')" "$(jq .packets sent.json)"
it_expect "sampling rate" "$(it_ch 'SELECT groupUniqArray(sampling_rate) FROM netflow.netflow')" "[4]"
it_ch "SELECT exporter_ip, count(), sum(bytes), sum(packets) FROM netflow.netflow
       GROUP BY exporter_ip ORDER BY exporter_ip FORMAT TSV" >got-exporters.tsv
jq -r '.exporters | sort_by(.address) | .[] | [.address, .flows, .bytes, .packets] | @tsv' \
    sent.json >want-exporters.tsv
diff -u want-exporters.tsv got-exporters.tsv || it_fail "per-exporter sums differ"

# Every rollup holds the same totals; the scaled columns multiply by the sampling rate.
for t in $(it_ch "SELECT name FROM system.tables WHERE database = 'netflow' AND name LIKE 'rollup_%'"); do
    it_expect "$t" "$(it_ch "SELECT sum(flows), sum(bytes), sum(bytes_scaled) FROM netflow.$t FORMAT CSV")" \
        "$flows,$(jq .bytes sent.json),$(( $(jq .bytes sent.json) * 4 ))"
done
it_expect "rollup tables" "$(it_ch "SELECT count() FROM system.tables WHERE database = 'netflow' AND name LIKE 'rollup_%'")" 13

# One ingest_log row per message, each message once.
it_expect "ingest_log rows" "$(it_ch 'SELECT sum(rows) FROM netflow.ingest_log')" "$flows"
it_expect "ingest_log messages" "$(it_ch 'SELECT count() = uniqExact(msg_id) FROM netflow.ingest_log')" 1
# The last batch's acks follow its INSERT (after the writer's next fetch): wait for them.
logged=$(it_ch 'SELECT count() FROM netflow.ingest_log')
it_wait_until "[ \"\$(it_wm messages_acked_total)\" = $logged ]" 20 ||
    it_fail "messages acked: $(it_wm messages_acked_total), logged $logged"
it_expect "dead letters" "$(it_wm dead_letters_total)" 0

# The PRD's example query (§12.3), unchanged, as the read-only user.
prd="SELECT src_ip, SUM(bytes) AS total_bytes
FROM netflow
WHERE timestamp >= now() - INTERVAL 1 HOUR
GROUP BY src_ip
ORDER BY total_bytes DESC
LIMIT 10;"
curl -fsS -H "X-ClickHouse-User: $CH_READER_USER" -H "X-ClickHouse-Key: $CH_READER_PASSWORD" \
    "$CH_URL/?database=netflow" --data-binary "$prd" >prd.tsv || it_fail "PRD query failed"
it_expect "PRD query rows" "$(wc -l <prd.tsv)" 10
grep -qE '^[0-9a-f.:]+	[0-9]+$' prd.tsv || it_fail "PRD query output: $(head -3 prd.tsv)"
it_note "PRD query, top source: $(head -1 prd.tsv)"
# ...and that user cannot write.
if curl -fsS -H "X-ClickHouse-User: $CH_READER_USER" -H "X-ClickHouse-Key: $CH_READER_PASSWORD" \
    "$CH_URL/" --data-binary "INSERT INTO netflow.ingest_log (msg_id, rows) VALUES ('x', 1)" \
    >/dev/null 2>&1; then
    it_fail "the read-only user could insert"
fi
echo "PASS clickhouse_spine ($flows flows through the spine into ClickHouse, exact)"

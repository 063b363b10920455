#!/usr/bin/env bash
# parquet_spine.sh BUILD_DIR — flowgen → checker → agent → poller → JetStream → Parquet
# writer → Iceberg table through the REST catalog, mTLS to NATS and to the catalog. An independent reader
# (icebird + hyparquet, tests/js/iceberg_read.mjs) finds exactly what flowgen sent — flows,
# bytes, packets, per exporter —, every Parquet column carries the schema's field id, a strict
# Avro decoder (avsc) reads every manifest and manifest list, the catalog serves the same
# metadata the files hold, and the last snapshot records the JetStream sequences committed.
source "$(dirname "$0")/lib.sh"
source "$IT_SRC/tests/it/lib_iceberg.sh"
cd "$IT_WORK"
it_certs certs
it_start_nats nats "$(it_free_port tcp)" "$IT_WORK/certs"
SPINE_CONSUMERS=parquet it_spine_configs "$IT_WORK" "$IT_WORK/certs"
it_start_catalog "$IT_WORK" "$IT_WORK/certs"
it_pq_config "$IT_WORK" "$IT_WORK/certs"
it_start_checker_spine "$IT_WORK"
it_start_agent "$IT_WORK"
it_start_poller "$IT_WORK"
it_start_pq "$IT_WORK"
table=$WAREHOUSE/default/netflow

flows=200000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows" --rate 50000 --protocol mix \
    --exporters 6 --sampling 4 --ipv6-share 20 --seed 8 --quiet >sent.json
it_wait_until "[ \"\$(it_ice_rows $table)\" -ge $flows ]" 90 ||
    it_fail "only $(it_ice_rows "$table") of $flows rows committed: $(tail -3 pq.log)"
sleep 2 # anything beyond the expected count would show up now

it_ice_read "$table" >read.json || it_fail "independent reader failed"
it_expect "rows (independent reader)" "$(jq -r .rows read.json)" "$flows"
it_expect "bytes" "$(jq -r .bytes read.json)" "$(jq .bytes sent.json)"
it_expect "packets" "$(jq -r .packets read.json)" "$(jq .packets sent.json)"
jq -r '.exporters[] | [.address, .flows, .bytes, .packets] | @tsv' read.json >got-exporters.tsv
jq -r '.exporters | sort_by(.address) | .[] | [.address, .flows, .bytes, .packets] | @tsv' \
    sent.json >want-exporters.tsv
diff -u want-exporters.tsv got-exporters.tsv || it_fail "per-exporter sums differ"
it_note "$(jq -r .files read.json) data files, $(ls "$table"/metadata/*.metadata.json | wc -l) metadata versions"

# Every manifest list and manifest, strictly.
node "$JS_DIR/avro_check.js" "$table"/metadata/*.avro >avro.out 2>&1 ||
    it_fail "strict Avro decoding failed: $(tail -5 avro.out)"

# The catalog serves the metadata the files hold, and the writer's state is in the summary.
curl -fsS "${CATALOG_CURL[@]}" "$CATALOG_URL/v1/namespaces/default/tables/netflow" >load.json
curl -fsS --cacert certs/root.pem "$CATALOG_URL/v1/config" >/dev/null 2>&1 &&
    it_fail "the catalog answered a client without a certificate"
it_expect "catalog metadata location" "$(jq -r '."metadata-location"' load.json)" \
    "file://$table/metadata/v$(cat "$table/metadata/version-hint.text").metadata.json"
cur=$(jq '.metadata."current-snapshot-id"' load.json)
summary=$(jq -c ".metadata.snapshots[] | select(.\"snapshot-id\" == $cur) | .summary" load.json)
it_expect "summary stream" "$(jq -r '."serviceradar.jetstream.stream"' <<<"$summary")" NETFLOW
it_expect "summary total-records" "$(jq -r '."total-records"' <<<"$summary")" "$flows"
last=$(jq -r '."serviceradar.jetstream.last-sequence"' <<<"$summary")
[ "$last" -gt 0 ] || it_fail "no last sequence in the summary: $summary"

it_expect "records committed" "$(it_pqm records_committed_total)" "$flows"
it_expect "dead letters" "$(it_pqm dead_letters_total)" 0
it_expect "already committed" "$(it_pqm already_committed_total)" 0
it_expect "messages acked" "$(it_pqm messages_acked_total)" "$(it_pqm messages_total)"
it_expect "last committed sequence" "$(it_pqm last_committed_sequence)" "$last"
echo "PASS parquet_spine ($flows flows through the spine into Iceberg, exact by an independent reader)"

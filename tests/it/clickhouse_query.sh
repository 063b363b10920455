#!/usr/bin/env bash
# clickhouse_query.sh BUILD_DIR — the hot tier's query side and retention, on a real
# ClickHouse with the writer's schema:
#   - two days of synthetic flows (IPv4 and IPv6, sampled and not, two exporters) go in
#     through the ingest table, so the rollups fill as they do in production;
#   - for top-N by every field lib/query knows and for time series at several intervals,
#     with and without filters, the answer through the rollups (chquery) equals the answer
#     from the raw table alone (chquery --raw-only), row for row, run as the read-only user;
#   - retention: the writer drops, at start, exactly the day partitions older than its
#     retention from every table and keeps the rest.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
it_start_nats nats "$(it_free_port tcp)"
it_start_clickhouse "$IT_WORK/ch"
it_writer_config "$IT_WORK"
it_start_writer "$IT_WORK"
it_wait_until "[ \"\$(it_ch \"SELECT count() FROM system.tables WHERE database = 'netflow' AND name = 'zz_mv_ingest_log'\")\" = 1 ]" 30 ||
    it_fail "the writer did not create the schema: $(tail -3 writer.log)" # its last view

# Two days of flows ending now, at uneven times (7919 is prime), every row distinct.
now=$(date +%s)
start=$((now - 2 * 86400))
rows=600000
it_ch "INSERT INTO netflow.ingest SELECT
    toDateTime($start + (number * 7919) % (2 * 86400)) AS timestamp,
    if(number % 10 = 0,
       IPv6StringToNum(concat('2001:db8::', toString(number % 97))),
       IPv6StringToNum(concat('::ffff:10.', toString(number % 5), '.', toString(number % 211), '.1'))),
    IPv6StringToNum(concat('::ffff:192.168.', toString(number % 3), '.', toString(number % 53))),
    toUInt16(1024 + number % 3000), toUInt16([80, 443, 53, 22, 8080][number % 5 + 1]),
    toUInt8([6, 17, 1][number % 3 + 1]),
    toUInt64(40 + number % 1460), toUInt64(1 + number % 9), toUInt8(number % 64), toUInt8(0),
    IPv6StringToNum(concat('::ffff:127.0.0.', toString(10 + number % 2))), toUInt32(0),
    toUInt32(if(number % 4 = 0, 10, 1)), toUInt32(number % 4), toUInt32(number % 6),
    toUInt32(64500 + number % 13), toUInt32(65000 + number % 7), toUInt8(24), toUInt8(16),
    IPv6StringToNum('::ffff:10.255.0.1'), timestamp, timestamp, toUInt8(9), 'edge-1',
    concat('synthetic:', toString(intDiv(number, 1000)))
  FROM numbers($rows)"
it_expect "raw rows" "$(it_ch 'SELECT count() FROM netflow.netflow')" "$rows"

# query NAME CHQUERY-ARGS... — auto plan and raw-only give identical answers.
checked=0 via_rollup=0
query() {
    local name=$1
    shift
    "$CHQUERY" --db netflow "$@" >"$name.auto.sql" || it_fail "$name: chquery failed"
    "$CHQUERY" --db netflow --raw-only "$@" >"$name.raw.sql" || it_fail "$name: chquery --raw-only failed"
    local plan
    plan=$("$CHQUERY" --db netflow --explain "$@")
    for kind in auto raw; do
        curl -fsS -H "X-ClickHouse-User: $CH_READER_USER" -H "X-ClickHouse-Key: $CH_READER_PASSWORD" \
            "$CH_URL/" --data-binary @"$name.$kind.sql" >"$name.$kind.tsv" ||
            it_fail "$name ($kind): $(cat "$name.$kind.tsv") SQL: $(cat "$name.$kind.sql")"
    done
    [ -s "$name.raw.tsv" ] || it_fail "$name: empty answer"
    diff -q "$name.raw.tsv" "$name.auto.tsv" >/dev/null ||
        it_fail "$name: rollup answer differs from raw (plan: $plan): $(diff "$name.raw.tsv" "$name.auto.tsv" | head -5)"
    checked=$((checked + 1))
    case "$plan" in *rollup_*) via_rollup=$((via_rollup + 1)) ;; esac
}
# A range with whole hours inside and ragged edges, and the whole two days.
a=$((start + 3 * 3600 + 17 * 60 + 23)) b=$((now - 5 * 3600 - 7 * 60 - 11))
for field in src_ip dst_ip dst_port protocol exporter in_if out_if src_as dst_as src_port; do
    for metric in bytes packets flows; do
        query "top-$field-$metric" --start "$a" --end "$b" --group-by "$field" --metric "$metric" --limit 20
    done
    query "top-$field-all-unscaled" --start "$start" --end "$((now + 1))" --group-by "$field" --unscaled --limit 50
done
query "series-60" --start "$a" --end "$((a + 10 * 3600 + 7))" --group-by time --interval 60 # <= 1000 buckets
for interval in 300 900 3600 86400; do
    query "series-$interval" --start "$a" --end "$b" --group-by time --interval "$interval"
done
query "series-300-all" --start "$start" --end "$((now + 1))" --group-by time --interval 300 --metric packets
query "filter-cidr" --start "$a" --end "$b" --group-by src_ip --filter src_ip=10.1.0.0/16 --limit 30
query "filter-v6" --start "$a" --end "$b" --group-by dst_port --filter src_ip=2001:db8::/120
query "filter-port" --start "$a" --end "$b" --group-by dst_ip --filter dst_port=443 --filter dst_port=53
query "filter-proto-exporter" --start "$a" --end "$b" --group-by time --interval 3600 \
    --filter protocol=udp --filter exporter=127.0.0.11
query "filter-iface" --start "$a" --end "$b" --group-by protocol --filter in_if=2
query "filter-as" --start "$a" --end "$b" --group-by src_as --filter dst_as=65003
query "short" --start "$((now - 200))" --end "$now" --group-by src_ip
[ "$via_rollup" -ge $((checked / 2)) ] || it_fail "only $via_rollup of $checked queries used a rollup"
it_note "$checked queries: rollup answer == raw answer ($via_rollup of them through rollups)"

# Retention: rows 5 and 4 days old go, those from 2 days ago stay (retention 2 days).
day() { date -u -d "@$(( now - $1 * 86400 ))" +%F; }
for d in 5 4; do
    it_ch "INSERT INTO netflow.ingest (timestamp, exporter, msg_id)
           VALUES (toDateTime('$(day "$d") 12:00:00'), IPv6StringToNum('::ffff:127.0.0.10'), 'old-$d')"
done
parts() { it_ch "SELECT groupUniqArray(partition) FROM system.parts WHERE database = 'netflow'
                 AND table = '$1' AND active"; }
[[ "$(parts netflow)" == *"$(day 5)"* ]] || it_fail "old rows not in place: $(parts netflow)"
it_stop "$WRITER_PID"
it_start_writer "$IT_WORK"
it_wait_until '[ "$(it_wm retention_runs_total)" -ge 1 ]' 30 || it_fail "retention did not run"
for t in netflow rollup_1h_src_addr rollup_5m_iface; do
    p=$(parts "$t")
    [[ "$p" != *"$(day 5)"* && "$p" != *"$(day 4)"* ]] || it_fail "$t still holds old days: $p"
    [[ "$p" == *"$(day 2)"* && "$p" == *"$(day 0)"* ]] || it_fail "$t lost recent days: $p"
done
echo "PASS clickhouse_query ($checked queries equal through rollups and raw; retention dropped only old days)"

#!/usr/bin/env bash
# clickhouse_query.sh BUILD_DIR — the hot tier's query side and retention, on a real
# ClickHouse with the writer's schema:
#   - two days of flowgen flows (IPv4 and IPv6, sampled and not, nine exporters) go in
#     through the ingest table as the writer's rows, so the rollups fill as in production;
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

# Two days of flowgen traffic ending now (v5, v9 and IPFIX from 9 exporters, 10 % IPv6),
# half unsampled and half sampled 1 in 10, as the writer's RowBinary rows (chload).
now=$(date +%s)
start=$((now - 2 * 86400))
load() { # load FLOWS SEED SAMPLING [CHLOAD ARGS...]
    local flows=$1 seed=$2 rate=$3
    shift 3
    "$IT_BUILD/tests/tools/chload" insert --url "$CH_URL" --user "$CH_WRITER_USER" \
        --password "$CH_WRITER_PASSWORD" --flows "$flows" --seed "$seed" --sampling "$rate" \
        --batch 100000 --until "$now" "$@" >/dev/null || it_fail "chload failed"
}
rows=600000
load 300000 1 1
load 300000 2 10
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
# Filters on values the traffic has: the busiest IPv4 /16, an IPv6 source's /120, the
# busiest interface and destination AS.
top4=$(it_ch "SELECT src_ip FROM netflow.netflow WHERE position(src_ip, ':') = 0
              GROUP BY src_ip ORDER BY count() DESC LIMIT 1")
v6=$(it_ch "SELECT src_ip FROM netflow.netflow WHERE position(src_ip, ':') > 0 LIMIT 1")
in_if=$(it_ch "SELECT in_if FROM netflow.netflow GROUP BY in_if ORDER BY count() DESC LIMIT 1")
dst_as=$(it_ch "SELECT dst_as FROM netflow.netflow GROUP BY dst_as ORDER BY count() DESC LIMIT 1")
query "filter-cidr" --start "$a" --end "$b" --group-by src_ip --filter "src_ip=${top4%.*.*}.0.0/16" --limit 30
query "filter-v6" --start "$a" --end "$b" --group-by dst_port --filter "src_ip=$v6/120"
query "filter-port" --start "$a" --end "$b" --group-by dst_ip --filter dst_port=443 --filter dst_port=53
query "filter-proto-exporter" --start "$a" --end "$b" --group-by time --interval 3600 \
    --filter protocol=udp --filter exporter=127.0.0.11
query "filter-iface" --start "$a" --end "$b" --group-by protocol --filter "in_if=$in_if"
# One exporter's addresses and ports (the hourly exporter_* rollups, raw at the edges).
query "exporter-src" --start "$a" --end "$b" --group-by src_ip --filter exporter=127.0.0.12 --limit 20
query "exporter-dst" --start "$a" --end "$b" --group-by dst_ip --filter exporter=127.0.0.13
query "exporter-port" --start "$a" --end "$b" --group-by dst_port --filter exporter=127.0.0.10 \
    --filter protocol=tcp
query "exporter-by-port" --start "$a" --end "$b" --group-by exporter --filter dst_port=443
query "filter-as" --start "$a" --end "$b" --group-by src_as --filter "dst_as=$dst_as"
query "short" --start "$((now - 200))" --end "$now" --group-by src_ip
[ "$via_rollup" -ge $((checked / 2)) ] || it_fail "only $via_rollup of $checked queries used a rollup"
it_note "$checked queries: rollup answer == raw answer ($via_rollup of them through rollups)"

# Retention: rows 5 and 4 days old go, those from 2 days ago stay (retention 2 days).
day() { date -u -d "@$(( now - $1 * 86400 ))" +%F; }
load 2000 3 1 --days 1 --until "$(date -u -d "$(day 4) 12:00:00" +%s)" # day 5 noon .. day 4 noon
parts() { it_ch "SELECT groupUniqArray(partition) FROM system.parts WHERE database = 'netflow'
                 AND table = '$1' AND active"; }
for t in netflow rollup_1h_src_addr; do
    [[ "$(parts $t)" == *"$(day 5)"* ]] || it_fail "old rows not in place in $t: $(parts $t)"
done
it_stop "$WRITER_PID"
it_start_writer "$IT_WORK"
it_wait_until '[ "$(it_wm retention_runs_total)" -ge 1 ]' 30 || it_fail "retention did not run"
for t in netflow rollup_1h_src_addr rollup_5m_iface; do
    p=$(parts "$t")
    [[ "$p" != *"$(day 5)"* && "$p" != *"$(day 4)"* ]] || it_fail "$t still holds old days: $p"
    [[ "$p" == *"$(day 2)"* && "$p" == *"$(day 0)"* ]] || it_fail "$t lost recent days: $p"
done
echo "PASS clickhouse_query ($checked queries equal through rollups and raw; retention dropped only old days)"

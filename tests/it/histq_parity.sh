#!/usr/bin/env bash
# histq_parity.sh BUILD_DIR — the historical query path answers like the hot tier:
#   - the same flowgen traffic (same seeds, half unsampled, half sampled 1 in 10; nine
#     exporters, IPv4 and IPv6) goes into a real ClickHouse (chload, the writer's rows and
#     rollups) and into a filesystem Iceberg table (coldload: Parquet files, manifests,
#     two append snapshots);
#   - for top-N by every field, time series at several intervals, filters on IPv4 and IPv6
#     CIDRs, exporters, ports, protocol, interfaces and AS, every metric scaled and not,
#     over ranges with ragged edges, the ClickHouse answer to lib/query's SQL (chquery,
#     through the rollups) and the answer of lib/histq through DuckDB (coldload query) are
#     byte for byte the same TSV;
#   - time travel: the first snapshot answers as ClickHouse did with the first load only;
#   - query times of both are reported.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
COLDLOAD=$IT_BUILD/tests/tools/coldload
CHLOAD=$IT_BUILD/tests/tools/chload
it_start_clickhouse "$IT_WORK/ch"
WH=$IT_WORK/warehouse
mkdir -p "$WH"
CAT=file://$WH

now=$(date +%s)
start=$((now - 2 * 86400))
load() { # load FLOWS SEED SAMPLING — the same flows into both tiers
    "$CHLOAD" insert --url "$CH_URL" --user "$CH_WRITER_USER" --password "$CH_WRITER_PASSWORD" \
        --flows "$1" --seed "$2" --sampling "$3" --batch 100000 --until "$now" >/dev/null ||
        it_fail "chload failed"
    "$COLDLOAD" insert --catalog "$CAT" --flows "$1" --seed "$2" --sampling "$3" \
        --batch 100000 --until "$now" --threads 2 >"cold-$2.json" || it_fail "coldload failed"
}
flows=150000
load $flows 1 1
snap1=$(sed -n 's/.*"snapshot_id": \([0-9]*\).*/\1/p' cold-1.json)
[ -n "$snap1" ] || it_fail "coldload printed no snapshot id: $(cat cold-1.json)"
# Answers after the first load only, for time travel below.
a1=$((start + 7 * 3600 + 13 * 60 + 7)) b1=$((now - 9 * 3600 - 1))
travel_args=(--start "$a1" --end "$b1" --group-by dst_port --metric packets --limit 15)
"$CHQUERY" --db netflow "${travel_args[@]}" >travel.sql || it_fail "chquery failed"
curl -fsS -H "X-ClickHouse-User: $CH_READER_USER" -H "X-ClickHouse-Key: $CH_READER_PASSWORD" \
    "$CH_URL/" --data-binary @travel.sql >travel.ch.tsv || it_fail "ClickHouse refused travel.sql"
load $flows 2 10
it_expect "raw rows" "$(it_ch 'SELECT count() FROM netflow.netflow')" $((2 * flows))

checked=0 ch_ms=0 cold_ms=0 slowest=""
slowest_ms=0
# ask NAME ARGS... — chquery's SQL to ClickHouse and coldload query give the same TSV.
ask() {
    local name=$1
    shift
    "$CHQUERY" --db netflow "$@" >"$name.sql" || it_fail "$name: chquery refused: $*"
    local t
    t=$(curl -fsS -o "$name.ch.tsv" -w '%{time_total}' -H "X-ClickHouse-User: $CH_READER_USER" \
        -H "X-ClickHouse-Key: $CH_READER_PASSWORD" "$CH_URL/" --data-binary @"$name.sql") ||
        it_fail "$name: ClickHouse: $(cat "$name.ch.tsv") SQL: $(cat "$name.sql")"
    ch_ms=$((ch_ms + $(awk -v t="$t" 'BEGIN { printf "%d", t * 1000 }')))
    "$COLDLOAD" query --catalog "$CAT" --threads 2 --stats "$@" >"$name.cold.tsv" 2>"$name.stats" ||
        it_fail "$name: coldload query failed: $(cat "$name.stats")"
    local q
    q=$(sed -n 's/.*"total_ms": \([0-9]*\).*/\1/p' "$name.stats")
    cold_ms=$((cold_ms + q))
    if [ "$q" -gt "$slowest_ms" ]; then slowest_ms=$q slowest=$name; fi
    [ -s "$name.ch.tsv" ] || it_fail "$name: empty answer from ClickHouse (pick another filter)"
    cmp -s "$name.ch.tsv" "$name.cold.tsv" ||
        it_fail "$name: histq differs from ClickHouse: $(diff "$name.ch.tsv" "$name.cold.tsv" | head -6)"
    checked=$((checked + 1))
}

# Ranges: ragged edges with whole hours inside, the whole two days, a short one. (At the
# default density, 1 flow/s, the flows end some hours before now: ranges lie inside them.)
a=$((start + 3 * 3600 + 17 * 60 + 23)) b=$((now - 5 * 3600 - 7 * 60 - 11))
for field in src_ip dst_ip src_port dst_port protocol exporter in_if out_if src_as dst_as; do
    ask "top-$field-bytes" --start "$a" --end "$b" --group-by "$field" --limit 20
    ask "top-$field-flows-unscaled" --start "$start" --end "$((now + 1))" --group-by "$field" \
        --metric flows --unscaled --limit 50
done
ask "top-src-packets" --start "$a" --end "$b" --group-by src_ip --metric packets --limit 100
ask "top-dst-flows" --start "$a" --end "$b" --group-by dst_ip --metric flows --limit 1000
ask "top-srcport-packets-unscaled" --start "$a" --end "$b" --group-by src_port --metric packets \
    --unscaled --limit 200
ask "top-short" --start "$((a + 3600))" --end "$((a + 3900))" --group-by src_ip --metric flows --unscaled \
    --limit 500 # mostly ties: the order among equal values decides
ask "series-60" --start "$a" --end "$((a + 10 * 3600 + 7))" --group-by time --interval 60
ask "series-300" --start "$a" --end "$b" --group-by time --interval 300 --metric packets
ask "series-900-unscaled" --start "$a" --end "$b" --group-by time --interval 900 --unscaled
ask "series-3600-flows" --start "$a" --end "$b" --group-by time --interval 3600 --metric flows
ask "series-86400" --start "$start" --end "$((now + 1))" --group-by time --interval 86400
ask "series-7" --start "$((a + 7200))" --end "$((a + 13200))" --group-by time --interval 7 --metric flows

# Filters on values the traffic has.
top4=$(it_ch "SELECT src_ip FROM netflow.netflow WHERE position(src_ip, ':') = 0
              GROUP BY src_ip ORDER BY count() DESC, src_ip LIMIT 1")
v6=$(it_ch "SELECT src_ip FROM netflow.netflow WHERE position(src_ip, ':') > 0
            GROUP BY src_ip ORDER BY count() DESC, src_ip LIMIT 1")
v6dst=$(it_ch "SELECT dst_ip FROM netflow.netflow WHERE position(dst_ip, ':') > 0
               GROUP BY dst_ip ORDER BY count() DESC, dst_ip LIMIT 1")
in_if=$(it_ch "SELECT in_if FROM netflow.netflow GROUP BY in_if ORDER BY count() DESC, in_if LIMIT 1")
dst_as=$(it_ch "SELECT dst_as FROM netflow.netflow GROUP BY dst_as ORDER BY count() DESC, dst_as LIMIT 1")
src_as=$(it_ch "SELECT src_as FROM netflow.netflow GROUP BY src_as ORDER BY count() DESC, src_as LIMIT 1")
[ -n "$top4" ] && [ -n "$v6" ] && [ -n "$v6dst" ] || it_fail "no IPv4/IPv6 addresses in the traffic"
o1=${top4%%.*} rest=${top4#*.} o2=${rest%%.*}
ask "filter-v4-16" --start "$a" --end "$b" --group-by src_ip --filter "src_ip=$o1.$o2.0.0/16" --limit 30
ask "filter-v4-12" --start "$a" --end "$b" --group-by dst_port --filter "src_ip=$o1.$((o2 & 240)).0.0/12"
ask "filter-v4-host" --start "$a" --end "$b" --group-by dst_ip --filter "src_ip=$top4" --limit 40
ask "filter-v4-1" --start "$a" --end "$b" --group-by protocol --filter "src_ip=0.0.0.0/1" --metric flows
ask "filter-v6-120" --start "$a" --end "$b" --group-by dst_port --filter "src_ip=$v6/120"
ask "filter-v6-64" --start "$a" --end "$b" --group-by src_ip --filter "src_ip=$v6/64" --limit 100
ask "filter-v6-host" --start "$start" --end "$((now + 1))" --group-by time --interval 3600 \
    --filter "dst_ip=$v6dst"
ask "filter-v6-all" --start "$a" --end "$b" --group-by dst_ip --filter "dst_ip=::/0" --metric flows \
    --unscaled --limit 300 # ::/0 holds IPv4 too (IPv4-mapped)
ask "filter-v6-only" --start "$a" --end "$b" --group-by dst_ip --filter "dst_ip=2000::/3" --limit 50
ask "filter-mapped" --start "$a" --end "$b" --group-by src_as --filter "src_ip=::ffff:0:0/96"
ask "filter-or" --start "$a" --end "$b" --group-by src_ip --filter "src_ip=$top4" \
    --filter "src_ip=$v6/112" --limit 50
ask "filter-port" --start "$a" --end "$b" --group-by dst_ip --filter dst_port=443 --filter dst_port=53
ask "filter-proto-exporter" --start "$a" --end "$b" --group-by time --interval 3600 \
    --filter protocol=udp --filter exporter=127.0.0.11
ask "filter-exporter-cidr" --start "$a" --end "$b" --group-by exporter --filter exporter=127.0.0.8/29 \
    --metric packets
ask "filter-iface" --start "$a" --end "$b" --group-by protocol --filter "in_if=$in_if"
ask "filter-as" --start "$a" --end "$b" --group-by src_as --filter "dst_as=$dst_as"
ask "filter-as-iface" --start "$a" --end "$b" --group-by out_if --filter "src_as=$src_as" \
    --filter "in_if=$in_if" --unscaled
ask "exporter-src" --start "$a" --end "$b" --group-by src_ip --filter exporter=127.0.0.12 --limit 20
ask "exporter-port" --start "$a" --end "$b" --group-by dst_port --filter exporter=127.0.0.10 \
    --filter protocol=tcp
ask "srcport-filter" --start "$a" --end "$b" --group-by dst_as --filter "src_port=443" --metric flows
[ "$checked" -ge 40 ] || it_fail "only $checked questions asked"

# Time travel: the first snapshot holds the first load only.
"$COLDLOAD" query --catalog "$CAT" --snapshot "$snap1" "${travel_args[@]}" >travel.cold.tsv ||
    it_fail "coldload query --snapshot failed"
cmp -s travel.ch.tsv travel.cold.tsv ||
    it_fail "snapshot $snap1 differs from ClickHouse before the second load: $(diff travel.ch.tsv travel.cold.tsv | head -4)"
"$COLDLOAD" query --catalog "$CAT" "${travel_args[@]}" >travel.now.tsv || it_fail "coldload query failed"
! cmp -s travel.ch.tsv travel.now.tsv || it_fail "the current snapshot answers as the first one did"
# Pruning: a short range reads fewer files than the table has.
"$COLDLOAD" query --catalog "$CAT" --stats --start "$((a + 3600))" --end "$((a + 3900))" --group-by src_ip \
    >/dev/null 2>short.stats || it_fail "coldload query failed"
kept=$(sed -n 's/.*"files_kept": \([0-9]*\).*/\1/p' short.stats)
total=$(sed -n 's/.*"files_total": \([0-9]*\).*/\1/p' short.stats)
[ "$kept" -lt "$total" ] || it_fail "a 5-minute range read all $total files"

it_note "$checked questions: ClickHouse ${ch_ms} ms in all, histq ${cold_ms} ms in all (slowest $slowest: ${slowest_ms} ms); a 5-minute range read $kept of $total files"
echo "PASS histq_parity ($checked questions answered identically by ClickHouse and histq/DuckDB; time travel; pruning)"

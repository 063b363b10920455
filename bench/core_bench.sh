#!/usr/bin/env bash
# core_bench.sh BUILD_DIR [CH_FLOWS] [ICE_FLOWS] [ICE_DAYS] — the API latency of
# serviceradar-core (issue 6, deliverable 8; target: the API adds < 10 ms p95 over the
# backend query), on the dashboard's own questions (issue 7), in one run:
#
#   1. the hot tier as bench/clickhouse_bench.sh builds it: a real clickhouse-server on free
#      loopback ports, CH_FLOWS (100 M) flowgen flows over the 2 days before now
#      (tests/tools/chload);
#   2. the cold tier as bench/iceberg_bench.sh builds it: a file:// warehouse, ICE_FLOWS
#      (300 M) flows over the ICE_DAYS (30) days before now (tests/tools/coldload), then the
#      maintenance (serviceradar-netflow-parquet --maintain: compaction of closed days,
#      hourly rollups), so the historical path is the production one;
#   3. serviceradar-core on loopback, plain HTTP, auth on (an API key made by authtool, sent
#      as X-API-Key), both tiers configured;
#   4. each question RUNS (100) times after WARMUP (5) untimed runs, end to end through the
#      core (curl's time_total; one curl process per request, so a new TCP connection every
#      time, no keep-alive) and directly on its backend:
#        ClickHouse  tests/tools/chquery's SQL (the SQL the core sends) posted to
#                    ClickHouse's HTTP interface as the reader user, the URL the core uses
#                    (?database=netflow&wait_end_of_query=1), curl's time_total, also a new
#                    connection per request — as the core opens one per request;
#                    direct and core requests alternate, so they can be paired;
#        Iceberg     tests/tools/histrun: nf_histq_run in one process that keeps its
#                    catalog and DuckDB open as the core does (no process start in the
#                    times); a block of runs, then the core's block;
#        stitched    the auto route over 7 days: the core splits at its boundary B (read
#                    from its answer), asks Iceberg for [start, B) and ClickHouse for
#                    [B, end) with limit 10 000, and merges; the direct time is the sum of
#                    the i-th histrun run of the cold part and the i-th ClickHouse run of
#                    the hot part.
#      The answers are checked: the core's rows (its CSV) equal the direct answer's rows
#      (a stitched answer: the key set of the merged top 10 is checked against a merge
#      of the two direct answers done here).
#
# Overhead = p95(through core) − p95(direct) for every question ("difference of p95s");
# for the ClickHouse questions also the p95 of the paired per-request differences.
# The core's own "elapsed_ms" (its time from parameters to rows, backend included) is
# printed as p50 too: through-core minus it is HTTP, auth and rendering.
set -euo pipefail
build=$(cd "${1:?usage: core_bench.sh BUILD_DIR [CH_FLOWS] [ICE_FLOWS] [ICE_DAYS]}" && pwd)
ch_flows=${2:-100000000}
ice_flows=${3:-300000000}
ice_days=${4:-30}
runs=${RUNS:-100}
warmup=${WARMUP:-5}
target_ms=10
source "$(dirname "$0")/../tests/it/lib.sh" "$build"
cd "$IT_WORK"
core=$build/cmd/core/serviceradar-core
pqwriter=$build/cmd/netflow-parquet/serviceradar-netflow-parquet
chload=$build/tests/tools/chload
coldload=$build/tests/tools/coldload
authtool=$build/tests/tools/authtool
histrun=$build/tests/tools/histrun
for b in "$core" "$pqwriter" "$chload" "$coldload" "$authtool" "$histrun" "$CHQUERY"; do
    [ -x "$b" ] || it_fail "missing $b (build it first)"
done
[ "$ice_days" -ge 8 ] || it_fail "ICE_DAYS must be 8 or more (the stitched question spans 7 days)"
threads=$(nproc)
duck_mem=2GB
wh=$IT_WORK/warehouse
mkdir -p "$wh"

# ---- 1. and 2. the two tiers ---------------------------------------------------------------
it_start_clickhouse "$IT_WORK/ch"
now=$(date +%s)
it_note "loading $ch_flows flows into ClickHouse"
"$chload" insert --url "$CH_URL" --user "$CH_WRITER_USER" --password "$CH_WRITER_PASSWORD" \
    --flows "$ch_flows" --until "$now" >chload.json || it_fail "chload failed"
loaded=$(it_ch 'SELECT count() FROM netflow.netflow')
[ "$loaded" = "$ch_flows" ] || it_fail "ClickHouse holds $loaded of $ch_flows flows"
it_note "loading $ice_flows flows over $ice_days days into Iceberg"
"$coldload" insert --catalog "file://$wh" --flows "$ice_flows" --days "$ice_days" --until "$now" \
    --seed 1 --batch 1000000 --threads "$threads" >coldload.json || it_fail "coldload failed"
cat >pq.json <<JSON
{"iceberg_catalog": "file://$wh", "iceberg_table": "default.netflow", "compact_min_files": 2,
 "retention": "$((ice_days + 2))d", "duckdb_threads": $threads, "duckdb_memory_limit": "8GiB",
 "metrics_addr": "", "log_level": "info"}
JSON
it_note "maintenance (compaction, rollups)"
"$pqwriter" --maintain -c pq.json 2>maint.log || it_fail "maintenance failed: $(tail -3 maint.log)"
ls -d "$wh"/default/netflow_rollup_1h_* >/dev/null 2>&1 || it_fail "maintenance made no rollup table"

# ---- 3. the core -----------------------------------------------------------------------------
secret=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
read -r apikey keyhash < <("$authtool" apikey) || it_fail "authtool apikey failed"
[ ${#keyhash} = 64 ] || it_fail "authtool apikey printed '$apikey $keyhash'"
port=$(it_free_port tcp)
cat >core.json <<JSON
{
  "listen_addr": "127.0.0.1:$port",
  "netflow": {
    "clickhouse_url": "$CH_URL", "clickhouse_user": "$CH_READER_USER",
    "clickhouse_password": "$CH_READER_PASSWORD", "clickhouse_database": "netflow",
    "iceberg_catalog": "file://$wh", "iceberg_table": "default.netflow",
    "hot_retention": "3d", "duckdb_threads": $threads, "duckdb_memory_limit": "$duck_mem"
  },
  "auth": {"enabled": true, "jwt_secret": "$secret", "jwt_expiration": "1h",
           "api_keys": {"bench": "$keyhash"}},
  "log_level": "warn"
}
JSON
"$core" -c core.json 2>core.log &
IT_PIDS+=("$!")
base=http://127.0.0.1:$port
it_wait_for curl -fsS "$base/healthz" || it_fail "core did not start: $(cat core.log)"

# ---- helpers ---------------------------------------------------------------------------------
# pct P < numbers — the P-th percentile (nearest rank) of one number per line.
pct() {
    sort -g | awk -v p="$1" '{ a[NR] = $1 } END { i = int((p / 100) * NR + 0.999999); if (i < 1) i = 1; print a[i] }'
}
# core_get PATH BODY — one request through the core; prints time_total in ms; fails on
# anything but 200.
core_get() {
    local out
    out=$(curl -sS -o "$2" -w '%{http_code} %{time_total}' -H "X-API-Key: $apikey" "$base$1") ||
        it_fail "core: $1: curl failed"
    [ "${out% *}" = 200 ] || it_fail "core: $1: HTTP ${out% *}: $(head -c 300 "$2")"
    awk -v t="${out#* }" 'BEGIN { printf "%.3f\n", t * 1000 }'
}
# ch_post SQL BODY — the SQL straight to ClickHouse as the reader, the core's URL; prints
# time_total in ms.
ch_post() {
    local out
    out=$(curl -sS -o "$2" -w '%{http_code} %{time_total}' -H "X-ClickHouse-User: $CH_READER_USER" \
        -H "X-ClickHouse-Key: $CH_READER_PASSWORD" --data-binary "$1" \
        "$CH_URL/?database=netflow&wait_end_of_query=1") || it_fail "ClickHouse: curl failed"
    [ "${out% *}" = 200 ] || it_fail "ClickHouse: HTTP ${out% *}: $(head -c 300 "$2")"
    awk -v t="${out#* }" 'BEGIN { printf "%.3f\n", t * 1000 }'
}
# core_rows PATH — the core's answer as "key<TAB>value" lines (its CSV: exact integers;
# series timestamps back to epoch seconds), for comparing with a backend's TSV.
core_rows() {
    local code
    code=$(curl -sS -o csv.out -w '%{http_code}' -H "X-API-Key: $apikey" "$base$1&format=csv")
    [ "$code" = 200 ] || it_fail "core: $1 (csv): HTTP $code: $(head -c 300 csv.out)"
    tr -d '\r"' <csv.out | awk -F, 'NR > 1 { print $1 "\t" $2 }' | while IFS=$'\t' read -r k v; do
        case $k in
        *T*Z) printf '%s\t%s\n' "$(date -u -d "$k" +%s)" "$v" ;;
        *) printf '%s\t%s\n' "$k" "$v" ;;
        esac
    done
}
# same_rows NAME DIRECT_TSV CORE_TSV — the same rows; top-N ties may come in another order,
# so both sides are sorted.
same_rows() {
    [ -s "$2" ] || it_fail "$1: the direct answer is empty"
    cmp -s <(sort "$2") <(sort "$3") ||
        it_fail "$1: the core's rows differ from the backend's: $(diff <(sort "$2") <(sort "$3") | head -6)"
}
# elapsed BODIES... — the core's elapsed_ms of each answer, one per line.
elapsed() { for f in "$@"; do jq -r .elapsed_ms "$f"; done; }

source "$IT_SRC/bench/lib_summary.sh"
rows_out=()
# row NAME BACKEND DIRECT_MS_FILE CORE_MS_FILE ELAPSED_FILE [PAIRED_DIFF_FILE]
row() {
    local d50 d95 c50 c95 e50 over paired=- met
    d50=$(pct 50 <"$3") d95=$(pct 95 <"$3") c50=$(pct 50 <"$4") c95=$(pct 95 <"$4")
    e50=$(pct 50 <"$5")
    over=$(awk -v c="$c95" -v d="$d95" 'BEGIN { printf "%.1f", c - d }')
    [ -n "${6:-}" ] && paired=$(pct 95 <"$6" | awk '{ printf "%.1f", $1 }')
    met=$(awk -v o="$over" -v p="$paired" -v t="$target_ms" \
        'BEGIN { print (o < t && (p == "-" || p < t)) ? "met" : "NOT met" }')
    rows_out+=("$(printf '| %-34s | %-10s | %7.1f / %7.1f | %7.1f / %7.1f | %7s | %7s | %6s | %2s ms | %-7s |' \
        "$1" "$2" "$d50" "$d95" "$c50" "$c95" "$e50" "$over" "$paired" "$target_ms" "$met")")
    bench_row core "API overhead p95, ms: $1 ($2)" "$over (core p95 $(printf '%.1f' "$c95"))" \
        "direct p95 $(printf '%.1f' "$d95")" "< $target_ms" "$([ "$met" = met ] && echo met || echo missed)"
}

# ---- 4a. ClickHouse questions (realtime route) -------------------------------------------------
# ch_question NAME RANGE_S API_PARAMS CHQUERY_ARGS...
ch_question() {
    local name=$1 range=$2 params=$3 i s e api d c
    shift 3
    e=$((now_q + 1)) s=$((now_q + 1 - range))
    api="/api/netflow/realtime?start=$s&end=$e&$params"
    local sql
    sql=$("$CHQUERY" --db netflow --start "$s" --end "$e" "$@") || it_fail "chquery $*"
    for i in $(seq 1 "$warmup"); do
        ch_post "$sql" direct.tsv >/dev/null
        core_get "$api" core.json.out >/dev/null
    done
    : >direct.ms
    : >core.ms
    : >paired.ms
    : >elapsed.ms
    for i in $(seq 1 "$runs"); do
        d=$(ch_post "$sql" direct.tsv)
        c=$(core_get "$api" "body.$i")
        echo "$d" >>direct.ms
        echo "$c" >>core.ms
        awk -v c="$c" -v d="$d" 'BEGIN { printf "%.3f\n", c - d }' >>paired.ms
    done
    elapsed body.* >elapsed.ms
    rm -f body.*
    core_rows "$api" >core.tsv
    same_rows "$name" direct.tsv core.tsv
    row "$name" clickhouse direct.ms core.ms elapsed.ms paired.ms
}
now_q=$(date +%s)
for r in "1h 3600" "24h 86400"; do
    read -r label secs <<<"$r"
    it_note "realtime questions, last $label"
    ch_question "top 10 src_ip, last $label" "$secs" "group_by=src_ip&limit=10" --group-by src_ip --limit 10
    ch_question "top 10 dst_ip, last $label" "$secs" "group_by=dst_ip&limit=10" --group-by dst_ip --limit 10
    ch_question "top 5 dst_port, last $label" "$secs" "group_by=dst_port&limit=5" --group-by dst_port --limit 5
    ch_question "protocols, last $label" "$secs" "group_by=protocol&limit=10" --group-by protocol --limit 10
    ch_question "5-min series, last $label" "$secs" "group_by=time&interval=300" --group-by time --interval 300
done

# ---- 4b. Iceberg questions (historical route) -------------------------------------------------
# hist_runs OUT_MS OUT_TSV HISTRUN_ARGS... — the direct runs.
hist_runs() {
    local ms=$1 tsv=$2
    shift 2
    "$histrun" --catalog "file://$wh" --threads "$threads" --memory-limit "$duck_mem" \
        --warmup "$warmup" --runs "$runs" --out "$tsv" "$@" >"$ms" || it_fail "histrun $*"
}
# core_runs PATH OUT_MS — the core's runs (after the warm-up); the bodies in body.N.
core_runs() {
    local i
    for i in $(seq 1 "$warmup"); do core_get "$1" core.json.out >/dev/null; done
    : >"$2"
    for i in $(seq 1 "$runs"); do core_get "$1" "body.$i" >>"$2"; done
}
# ice_question NAME API_PARAMS HISTRUN_ARGS...
ice_question() {
    local name=$1 api="/api/netflow/historical?start=$start_day&end=$end_day&$2"
    shift 2
    hist_runs direct.ms direct.tsv --start "$start_day" --end "$end_day" "$@"
    core_runs "$api" core.ms
    elapsed body.* >elapsed.ms
    rm -f body.*
    core_rows "$api" >core.tsv
    same_rows "$name" direct.tsv core.tsv
    row "$name" iceberg direct.ms core.ms elapsed.ms
}
# Whole days, as bench/iceberg_bench.sh: [start_day, end_day) is ICE_DAYS - 1 closed days.
start_day=$(( ((now - ice_days * 86400) / 86400 + 1) * 86400 ))
end_day=$(( (now / 86400) * 86400 ))
hist_days=$(( (end_day - start_day) / 86400 ))
it_note "historical questions, $hist_days days"
ice_question "bytes per day, TCP, $hist_days days" "group_by=time&interval=86400&filter=protocol%3D6" \
    --group-by time --interval 86400 --filter protocol=6
ice_question "bytes per day, UDP, $hist_days days" "group_by=time&interval=86400&filter=protocol%3D17" \
    --group-by time --interval 86400 --filter protocol=17
ice_question "top 10 src_ip, $hist_days days" "group_by=src_ip&limit=10" --group-by src_ip --limit 10

# ---- 4c. the stitched question (auto route) ----------------------------------------------------
# stitched_runs — the core's block; false if the boundary moved (an hour turned) meanwhile.
stitched_runs() {
    local f b1
    now_q=$(date +%s)
    s=$((now_q + 1 - 7 * 86400)) e=$((now_q + 1))
    api="/api/netflow?start=$s&end=$e&group_by=src_ip&limit=10"
    core_runs "$api" core.ms
    [ "$(jq -r .backend body.1)" = both ] ||
        it_fail "auto route over 7 days: backend $(jq -r .backend body.1), want both"
    b1=$(jq -r .boundary body.1)
    boundary=$(date -u -d "$b1" +%s) || it_fail "no boundary: $(head -c 300 body.1)"
    for f in body.*; do
        [ "$(jq -r .boundary "$f")" = "$b1" ] || return 1
    done
}
it_note "stitched question, 7 days"
tries=0
until stitched_runs; do
    tries=$((tries + 1))
    [ "$tries" -lt 3 ] || it_fail "the stitch boundary kept moving during the runs"
    it_note "an hour turned during the runs: again"
done
elapsed body.* >elapsed.ms
jq -r '.results[] | .src_ip' body.1 | sort >core_keys.txt
approx=$(jq -r '.approximate // false' body.1)
rm -f body.*
hist_runs cold.ms cold.tsv --start "$s" --end "$boundary" --group-by src_ip --limit 10000
sql=$("$CHQUERY" --db netflow --start "$boundary" --end "$e" --group-by src_ip --limit 10000) ||
    it_fail "chquery (hot part)"
for i in $(seq 1 "$warmup"); do ch_post "$sql" hot.tsv >/dev/null; done
: >hot.ms
for i in $(seq 1 "$runs"); do ch_post "$sql" hot.tsv >>hot.ms; done
paste cold.ms hot.ms | awk '{ printf "%.3f\n", $1 + $2 }' >direct.ms
# The merged top 10 from the two direct answers: sums per key, largest first.
cat cold.tsv hot.tsv | awk -F'\t' '{ s[$1] += $2 } END { for (k in s) printf "%s\t%.0f\n", k, s[k] }' |
    sort -t$'\t' -k2,2gr | awk -F'\t' 'NR <= 10 { print $1 }' | sort >direct_keys.txt
[ -s direct_keys.txt ] || it_fail "stitched: the direct answers are empty"
cmp -s direct_keys.txt core_keys.txt ||
    it_fail "stitched: the core's top 10 differs from the direct merge: $(diff direct_keys.txt core_keys.txt | head -6)"
row "top 10 src_ip, 7 days, stitched" "both" direct.ms core.ms elapsed.ms

# ---- report ----------------------------------------------------------------------------------
echo "## serviceradar-core API latency: ClickHouse $ch_flows flows over 2 days, Iceberg $ice_flows flows over $ice_days days ($(nproc) CPUs)"
echo
echo "$runs runs per question after $warmup warm-up runs; ms. Through core: curl time_total, a new"
echo "connection per request (no keep-alive), auth by X-API-Key. Direct: ClickHouse HTTP as the reader"
echo "(new connection per request, like the core's), or lib/histq in a process that keeps catalog and"
echo "DuckDB open (tests/tools/histrun). Overhead p95 = p95(core) − p95(direct); paired = p95 of"
echo "per-request differences (ClickHouse questions, direct and core requests alternating)."
echo
echo "| question                           | backend    | direct p50 / p95  | core p50 / p95    | core elapsed_ms p50 | overhead p95 | paired Δ p95 | target | result  |"
echo "|------------------------------------|------------|-------------------|-------------------|---------|---------|--------|-------|---------|"
printf '%s\n' "${rows_out[@]}"
echo
echo "stitched: boundary $(date -u -d "@$boundary" +%FT%TZ) (approximate: $approx); direct = histrun [start, B) +"
echo "ClickHouse [B, end), both limit 10 000, i-th runs summed; cold part $(pct 95 <cold.ms) ms p95, hot part $(pct 95 <hot.ms) ms p95"

#!/usr/bin/env bash
# parquet_config.sh BUILD_DIR — bad input to serviceradar-netflow-parquet and the catalog:
#   - a bad config stops the daemon with a message that names the file and the key (a
#     catalog URL of no known kind, a table that is not namespace.table, an ack_wait too short
#     for the batch, a DuckDB memory limit too small for the batch, retention that is not
#     whole days, a file that does not exist or is not JSON);
#   - no NATS and no catalog do not stop the writer: it reports what is down (metrics and
#     log) and keeps trying; once both come up it creates the table and commits;
#   - --maintain against a catalog that is not there fails with a message, exit 1.
source "$(dirname "$0")/lib.sh"
source "$IT_SRC/tests/it/lib_iceberg.sh"
cd "$IT_WORK"
nats_port=$(it_free_port tcp) catalog_port=$(it_free_port tcp)
NATS_URL=nats://127.0.0.1:$nats_port PQ_CATALOG=http://127.0.0.1:$catalog_port \
    it_pq_config "$IT_WORK"

expect_refused() { # expect_refused WHAT FILE KEY [ARGS…]
    local what=$1 file=$2 key=$3 rc=0 log=$1.log
    shift 3
    log=${log// /_}
    "$PQWRITER" -c "$file" "$@" >/dev/null 2>"$log" || rc=$?
    [ "$rc" = 1 ] || it_fail "$what: exit status $rc, expected 1: $(tail -2 "$log")"
    grep -qF -- "$file" "$log" || it_fail "$what: message does not name $file: $(cat "$log")"
    grep -qF -- "$key" "$log" || it_fail "$what: message does not name '$key': $(cat "$log")"
    it_note "$what: $(grep -o 'error.*' "$log" | head -1)"
}
n=0
bad() { # bad NAME JQ_FILTER KEY
    n=$((n + 1))
    jq "$2" netflow-parquet.json >"bad-$n.json"
    expect_refused "$1" "bad-$n.json" "$3"
}
bad "catalog URL of no known kind" '.iceberg_catalog = "thrift://localhost:9083"' iceberg_catalog
bad "table without namespace" '.iceberg_table = "netflow"' iceberg_table
bad "table name not an identifier" '.iceberg_table = "default.net-flow"' iceberg_table
bad "ack_wait too short" '.ack_wait = "10s" | .batch_interval = "5s" | .catalog_timeout = "5s"' ack_wait
bad "memory limit too small" '.batch_size = 2000000 | .duckdb_memory_limit = "512MiB"' duckdb_memory_limit
bad "batch_size zero" '.batch_size = 0' batch_size
bad "retention in hours" '.retention = "36h"' retention
bad "relative output path" '.output_path = "data/netflow"' output_path
bad "security mode" '.security = {"mode": "tls-maybe"}' security
expect_refused "missing file" missing.json missing.json
printf '{"nats_url": "nats://127.0.0.1:4222",}\n' >broken.json
expect_refused "not JSON" broken.json broken.json
rc=0
"$PQWRITER" -c netflow-parquet.json --maintain 2>maintain.log || rc=$?
[ "$rc" = 1 ] || it_fail "--maintain without a catalog: exit $rc"
grep -q "maintenance" maintain.log || it_fail "--maintain: no message: $(tail -2 maintain.log)"

# No NATS, no catalog: the writer runs, says what is down, and keeps trying.
it_start_pq "$IT_WORK"
it_wait_until "grep -q 'NATS' pq.log" 30 || it_fail "no log line about NATS: $(tail -3 pq.log)"
it_expect "nats_up" "$(it_pqm nats_up)" 0
it_start_nats nats "$nats_port"
# The stream appears when a publisher (the poller, here chload) creates it; the flows wait in
# it while the catalog is away.
"$IT_BUILD/tests/tools/chload" publish --nats "$NATS_URL" --flows 20000 --consumer parquet \
    --id-prefix cfg >/dev/null
it_wait_until "grep -q 'Iceberg catalog\|Iceberg table' pq.log" 30 ||
    it_fail "no log line about the catalog: $(tail -3 pq.log)"
it_expect "catalog_up" "$(it_pqm catalog_up)" 0
kill -0 "$PQ_PID" || it_fail "the writer exited"
CATALOG_PORT=$catalog_port CATALOG_METRICS_PORT=$(it_free_port tcp) it_start_catalog "$IT_WORK"
it_wait_until "[ \"\$(it_ice_rows $WAREHOUSE/default/netflow)\" = 20000 ]" 60 ||
    it_fail "nothing committed once NATS and the catalog were up: $(tail -3 pq.log)"
it_expect "catalog_up" "$(it_pqm catalog_up)" 1
echo "PASS parquet_config (bad configs named by file and key; no NATS and no catalog reported, not fatal)"

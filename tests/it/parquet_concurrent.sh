#!/usr/bin/env bash
# parquet_concurrent.sh BUILD_DIR — two Parquet writers share the durable "parquet" and
# commit to one table through the catalog at the same time: conflicts are resolved by
# reloading and rebasing, no commit is lost and no message is committed twice (the
# independent reader finds exactly what was published); then two writers on a filesystem
# catalog (file:///…, commits by atomic no-clobber metadata files) do the same.
source "$(dirname "$0")/lib.sh"
source "$IT_SRC/tests/it/lib_iceberg.sh"
cd "$IT_WORK"
it_start_nats nats "$(it_free_port tcp)"
JSLOAD=$IT_BUILD/tests/tools/chload

run_pair() { # run_pair NAME CATALOG TABLE_DIR FLOWS SEED
    local name=$1 catalog=$2 table=$3 flows=$4 seed=$5
    mkdir -p "$name"
    PQ_CATALOG=$catalog PQ_BATCH_SIZE=20000 PQ_BATCH_INTERVAL=200ms it_pq_config "$IT_WORK/$name"
    it_start_pq "$IT_WORK/$name" pq1
    local a_port=$PQ_METRICS_PORT a_pid=$PQ_PID
    sed -i "s/127.0.0.1:$a_port/127.0.0.1:$(it_free_port tcp)/" "$name/netflow-parquet.json"
    PQ_METRICS_PORT=$(jq -r .metrics_addr "$name/netflow-parquet.json" | cut -d: -f2)
    it_start_pq "$IT_WORK/$name" pq2
    local b_port=$PQ_METRICS_PORT
    "$JSLOAD" publish --nats "$NATS_URL" --flows "$flows" --seed "$seed" --batch 1000 \
        --consumer parquet --id-prefix "$name" \
        >"$name/published.json" || it_fail "$name: publishing failed"
    it_wait_until "[ \"\$(it_ice_rows $table)\" -ge $flows ]" 120 ||
        it_fail "$name: only $(it_ice_rows "$table") of $flows rows: $(tail -3 "$name"/pq1.log)"
    sleep 2
    it_ice_read "$table" >"$name/read.json" || it_fail "$name: independent reader failed"
    it_expect "$name: rows" "$(jq -r .rows "$name/read.json")" "$flows"
    local c1 c2 k1 k2
    c1=$(it_metric "http://127.0.0.1:$a_port/metrics" serviceradar_netflow_parquet_records_committed_total)
    c2=$(it_metric "http://127.0.0.1:$b_port/metrics" serviceradar_netflow_parquet_records_committed_total)
    k1=$(it_metric "http://127.0.0.1:$a_port/metrics" serviceradar_netflow_parquet_commit_rebases_total)
    k2=$(it_metric "http://127.0.0.1:$b_port/metrics" serviceradar_netflow_parquet_commit_rebases_total)
    it_expect "$name: records committed by both writers" "$((c1 + c2))" "$flows"
    [ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] || it_fail "$name: one writer did all the work ($c1 / $c2)"
    it_note "$name: writer 1 committed $c1 records, writer 2 $c2; commits rebased after a 409: $k1 / $k2"
    it_stop "$a_pid"
    it_stop "$PQ_PID"
}

it_start_catalog "$IT_WORK"
run_pair rest "$CATALOG_URL" "$WAREHOUSE/default/netflow" 400000 31
# The same stream again, now into a filesystem warehouse: the durable continues where it was,
# so publish afresh into a new stream position and count only the new table.
mkdir -p fswh
run_pair fs "file://$IT_WORK/fswh" "$IT_WORK/fswh/default/netflow" 300000 32
echo "PASS parquet_concurrent (two writers on one durable: REST and filesystem catalogs, nothing lost or doubled)"

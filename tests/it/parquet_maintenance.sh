#!/usr/bin/env bash
# parquet_maintenance.sh BUILD_DIR — table maintenance (lib/pqwriter/maintain.c) through the
# REST catalog, run by `serviceradar-netflow-parquet --maintain`, checked by the independent
# reader (icebird + hyparquet) and a strict Avro decoder (avsc):
#   1. three days of flows published to JetStream and committed by the writer in many small
#      appends; a maintenance pass compacts every closed day, retention (2 days) drops the
#      oldest day, the rows of every other day are unchanged, the JetStream keys of the
#      writer's last snapshot are carried into the maintenance snapshots, and the snapshot
#      before maintenance still reads exactly as it did (time travel by any reader);
#   2. the writer appends again on top of the maintenance snapshots (into compacted days)
#      without committing anything twice; a second pass re-compacts them and changes no
#      total;
#   3. after a minute, a pass with snapshot_max_age 1m expires every snapshot but the current
#      one and deletes exactly the files it no longer references: one file per closed day on
#      disk, as many Parquet files as the reader sees, one manifest list and one manifest.
# The table spans midnight-relative days: a run across 00:00 UTC may fail spuriously.
source "$(dirname "$0")/lib.sh"
source "$IT_SRC/tests/it/lib_iceberg.sh"
cd "$IT_WORK"
it_start_nats nats "$(it_free_port tcp)"
JSLOAD=$IT_BUILD/tests/tools/chload
it_start_catalog "$IT_WORK"
table=$WAREHOUSE/default/netflow
PQ_BATCH_SIZE=20000 PQ_BATCH_INTERVAL=200ms it_pq_config "$IT_WORK"

# maint_config AGE — the writer's config with the maintenance keys, for --maintain.
maint_config() {
    jq --arg age "$1" '. + {compact_min_files: 2, retention: "2d", min_snapshots: 1,
        snapshot_max_age: $age}' netflow-parquet.json >maintain.json
}
# maintain NAME AGE — one maintenance pass; its log in NAME.log.
maintain() {
    maint_config "$2"
    "$PQWRITER" -c maintain.json --maintain 2>"$1.log" ||
        it_fail "$1: --maintain failed: $(tail -3 "$1.log")"
}
read_table() { # read_table OUT [--snapshot ID]
    local out=$1
    shift
    it_ice_read "$table" "$@" >"$out" || it_fail "independent reader failed ($out)"
}
summary_keys() { # the JetStream keys of the current snapshot, as compact JSON
    curl -fsS "$CATALOG_URL/v1/namespaces/default/tables/netflow" |
        jq -cS '.metadata as $m | $m.snapshots[] | select(."snapshot-id" == $m."current-snapshot-id")
               | .summary | with_entries(select(.key | startswith("serviceradar.jetstream.")))'
}
publish() { # publish FLOWS DAYS SEED PREFIX — and wait until the writer committed them
    local want=$(($(it_ice_rows "$table") + $1))
    it_start_pq "$IT_WORK"
    "$JSLOAD" publish --nats "$NATS_URL" --flows "$1" --days "$2" --seed "$3" --batch 1000 \
        --consumer parquet --id-prefix "$4" >"$4.json" || it_fail "publishing $4 failed"
    it_wait_until "[ \"\$(it_ice_rows $table)\" -ge $want ]" 120 ||
        it_fail "$4: only $(it_ice_rows "$table") of $want rows: $(tail -3 pq.log)"
    sleep 1
    it_expect "$4: rows" "$(it_ice_rows "$table")" "$want"
    it_expect "$4: already committed" "$(it_pqm already_committed_total)" 0
    it_stop "$PQ_PID"
}
today=$(date -u +%F)
cutoff=$(date -u -d '-2 day' +%F) # retention 2d: days before this one are dropped

# 1. Three days in many appends, then compaction + retention.
flows=200000
publish "$flows" 3 41 first
read_table before.json
s0=$(jq -r .snapshot before.json)
keys0=$(summary_keys)
[ "$(jq -r '."serviceradar.jetstream.last-sequence" // 0' <<<"$keys0")" -gt 0 ] ||
    it_fail "the writer's snapshot has no JetStream keys: $keys0"
it_expect "rows before" "$(jq -r .rows before.json)" "$flows"
nfiles0=$(jq -r .files before.json)
[ "$nfiles0" -ge 10 ] || it_fail "only $nfiles0 files: nothing to compact"
# chload's virtual clock decides which days hold rows: at least one before the cut-off.
[ "$(jq -r --arg c "$cutoff" '[.days | keys[] | select(. < $c)] | length' before.json)" -gt 0 ] ||
    it_fail "no rows before $cutoff: $(jq -cS .days before.json)"
closed_kept=$(jq -r --arg c "$cutoff" --arg t "$today" \
    '[.days | keys[] | select(. >= $c and . < $t)] | length' before.json)

maintain maint1 1d
read_table after1.json
dropped=$(jq -r --arg c "$cutoff" '[.days | to_entries[] | select(.key < $c) | .value] | add' \
    before.json)
it_expect "rows after retention" "$(jq -r .rows after1.json)" "$((flows - dropped))"
it_expect "days after retention" "$(jq -cS .days after1.json)" \
    "$(jq -cS --arg c "$cutoff" '.days | with_entries(select(.key >= $c))' before.json)"
it_expect "operation" "$(jq -r .operation after1.json)" delete
it_expect "JetStream keys carried" "$(summary_keys)" "$keys0"
# Closed days now have one live file each; today (if it has rows) keeps its appends.
today_files0=$(find "$table/data" -path "*timestamp_day=$today/*" -name '*.parquet' | wc -l)
it_expect "live files after compaction" "$(jq -r .files after1.json)" \
    "$((closed_kept + today_files0))"
grep -Eq "maintenance: [1-9] day\(s\) compacted" maint1.log ||
    it_fail "maint1: $(grep maintenance maint1.log)"
# Time travel: the snapshot before maintenance reads exactly as before.
read_table old.json --snapshot "$s0"
it_expect "time travel to $s0" "$(jq -cS 'del(.snapshot)' old.json)" "$(jq -cS 'del(.snapshot)' before.json)"
node "$JS_DIR/avro_check.js" "$table"/metadata/*.avro >avro1.out 2>&1 ||
    it_fail "strict Avro decoding failed: $(tail -5 avro1.out)"

# 2. The writer appends on top (into days already compacted); compact again.
publish 50000 1 42 second
read_table before2.json
keys2=$(summary_keys)
maintain maint2 1d
read_table after2.json
it_expect "maint2 changes no total" "$(jq -cS 'del(.snapshot, .operation, .files)' after2.json)" \
    "$(jq -cS 'del(.snapshot, .operation, .files)' before2.json)"
it_expect "maint2 operation" "$(jq -r .operation after2.json)" replace
it_expect "maint2 JetStream keys" "$(summary_keys)" "$keys2"
[ "$(jq -r .files after2.json)" -lt "$(jq -r .files before2.json)" ] ||
    it_fail "maint2 compacted nothing: $(grep maintenance maint2.log)"

# 3. A minute later every snapshot but the current one is old enough to expire.
sleep 61
maintain maint3 1m
read_table after3.json
it_expect "maint3 changes nothing readable" "$(jq -cS 'del(.snapshot)' after3.json)" \
    "$(jq -cS 'del(.snapshot)' after2.json)"
it_expect "snapshots left" "$(curl -fsS "$CATALOG_URL/v1/namespaces/default/tables/netflow" |
    jq '.metadata.snapshots | length')" 1
for d in $(jq -r '.days | keys[]' before.json before2.json | sort -u); do
    want=1
    [[ "$d" < "$cutoff" ]] && want=0 # dropped by retention
    [ "$d" = "$today" ] && continue  # not compacted
    it_expect "files on disk for $d" \
        "$(find "$table/data" -path "*timestamp_day=$d/*" -name '*.parquet' | wc -l)" "$want"
done
it_expect "Parquet files on disk" "$(find "$table/data" -name '*.parquet' | wc -l)" \
    "$(jq -r .files after3.json)"
it_expect "manifest lists and manifests on disk" "$(ls "$table"/metadata/*.avro | wc -l)" 2
if it_ice_read "$table" --snapshot "$s0" >gone.json 2>&1; then
    it_fail "expired snapshot $s0 still readable"
fi
node "$JS_DIR/avro_check.js" "$table"/metadata/*.avro >avro3.out 2>&1 ||
    it_fail "strict Avro decoding failed: $(tail -5 avro3.out)"
it_note "files: $nfiles0 appended, $(jq -r .files after3.json) after maintenance"
echo "PASS parquet_maintenance (compaction, retention, expiry through the REST catalog; exact by an independent reader)"

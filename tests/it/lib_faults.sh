# lib_faults.sh — the fault-injection suite of the whole central pipeline (sourced after
# lib.sh and lib_iceberg.sh by tests/it/faults.sh, the short version in the test command, and
# by bench/faults.sh, the long version). One function, faults_run, parameterised by:
#
#   FAULTS_FLOWS      flows flowgen sends (exact totals per exporter in its JSON)
#   FAULTS_RATE       flows/s; the traffic lasts FAULTS_FLOWS / FAULTS_RATE seconds, and
#                     every fault is injected inside that window
#   FAULTS_KILLS      SIGKILL + restart of each central daemon (poller, ClickHouse writer,
#                     Parquet writer, catalog, core) this many times at random moments
#   FAULTS_CH_DOWN    seconds ClickHouse is away (once)
#   FAULTS_CH_MODE    stop (SIGTERM, start again on the same ports and data) or sigstop
#                     (frozen: INSERTs hang until the writer's timeout — the ambiguous case)
#   FAULTS_DISK_FULL  seconds the warehouse disk stays full (once)
#   FAULTS_SEED       the schedule's seed (random when unset; printed: a failing run is
#                     reproduced with FAULTS_SEED=<seed>)
#
# Plus one nats-server restart (stopped by PID, started again on the same port and store).
#
# Design: the schedule is drawn up front from bash's seeded RANDOM and printed, then played
# against the wall clock while flowgen sends, so the same seed gives the same faults at the
# same moments of the traffic. Recovery is measured from the data itself, not from counters
# that reset when a daemon is killed: ClickHouse's ingest_log (a row per stored message, with
# its insert time), the Iceberg table's snapshots (commit timestamps), the poller's published
# counter, the core's /healthz. Every check at the end is exact: per exporter, rows/bytes/
# packets in ClickHouse and in Iceberg (the independent icebird reader, tests/js) equal
# flowgen's totals minus what the edge counters say was dropped; the checker's ring is made
# larger than the traffic, so nothing may be evicted and the poller may lose nothing.
# FAULTS_TLS=1 (the default) runs the spine with mTLS (scripts/certs.sh): checker ↔ agent ↔
# poller gRPC, and every NATS client (poller, both writers) to a nats-server that verifies
# client certificates. The catalog, the core and the metrics endpoints are plain HTTP here
# (it_core_api, it_install and run.sh cover their TLS); FAULTS_TLS=0 turns mTLS off.
#
# The warehouse is a tmpfs mounted on the catalog's warehouse directory. "Disk full" remounts
# it with a size equal to what it holds (every further write: ENOSPC), "freed" remounts it
# with its original size. Without mount permission the disk fault is skipped with a printed
# reason (never silently).

FAULTS_EVENTS=()   # "at_ms kind" of the schedule, sorted
FAULTS_MOUNTED=
FAULTS_WATCHERS=()
declare -A FAULTS_AT   # evidence per fault kind, summed over its injections (for the report)

# faults_kill PID — SIGKILL, wait, forget.
faults_kill() {
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    it_forget "$1"
}

faults_cleanup() {
    local pid
    for pid in "${FAULTS_WATCHERS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${IT_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${IT_PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    IT_PIDS=()
    if [ -n "$FAULTS_MOUNTED" ]; then
        local n=0
        while mountpoint -q "$FAULTS_MOUNTED" && [ "$n" -lt 5 ]; do
            umount "$FAULTS_MOUNTED" 2>/dev/null || umount -l "$FAULTS_MOUNTED" ||
                echo "faults: could not unmount $FAULTS_MOUNTED" >&2
            n=$((n + 1))
        done
    fi
    it_cleanup
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- the daemons (each start sets its *_PID; ports and files stay the same) -------------------

faults_start_nats() {
    local log=$IT_WORK/nats/nats.log ready
    ready=$(grep -c 'Server is ready' "$log" || true)
    nats-server -c "$IT_WORK/nats/nats.conf" >>"$log" 2>&1 &
    NATS_PID=$!
    IT_PIDS+=("$NATS_PID")
    it_wait_until "[ \$(grep -c 'Server is ready' '$log') -gt $ready ]" 20 ||
        it_fail "nats-server did not restart: $(tail -5 "$log")"
}

faults_core_config() {
    CORE_PORT=$(it_free_port tcp)
    cat >"$IT_WORK/core.json" <<JSON
{
  "listen_addr": "127.0.0.1:$CORE_PORT",
  "netflow": {
    "clickhouse_url": "$CH_URL", "clickhouse_user": "$CH_READER_USER",
    "clickhouse_password": "$CH_READER_PASSWORD", "clickhouse_database": "netflow",
    "iceberg_catalog": "$CATALOG_URL", "iceberg_table": "default.netflow",
    "duckdb_threads": 1, "duckdb_memory_limit": "256MB"
  },
  "auth": {"enabled": false},
  "status": {
    "sources": {
      "checker": {"role": "checker", "url": "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics"},
      "agent": {"role": "agent", "url": "http://127.0.0.1:$AGENT_METRICS_PORT/metrics"},
      "poller": {"role": "poller", "url": "http://127.0.0.1:$POLLER_METRICS_PORT/metrics"},
      "clickhouse-writer": {"role": "clickhouse_writer", "url": "http://127.0.0.1:$WRITER_METRICS_PORT/metrics"},
      "parquet-writer": {"role": "parquet_writer", "url": "http://127.0.0.1:$PQ_METRICS_PORT/metrics"},
      "iceberg-catalog": {"role": "iceberg_catalog", "url": "http://127.0.0.1:$CATALOG_METRICS_PORT/metrics"}
    }
  }
}
JSON
}

faults_start_core() {
    "$IT_BUILD/cmd/core/serviceradar-core" -c "$IT_WORK/core.json" 2>>"$IT_WORK/core.log" &
    CORE_PID=$!
    IT_PIDS+=("$CORE_PID")
    it_wait_for curl -fsS "http://127.0.0.1:$CORE_PORT/healthz" ||
        it_fail "core did not start: $(tail -5 "$IT_WORK/core.log")"
}

faults_start_catalog() {
    # it_start_catalog keeps CATALOG_PORT once set: the same port, warehouse and database.
    it_start_catalog "$IT_WORK/cat"
}

# ---- observations -----------------------------------------------------------------------------

pm() { it_metric "http://127.0.0.1:$POLLER_METRICS_PORT/metrics" "$1" 'agent="edge-1"'; }
cm() { it_metric "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics" "$@"; }

# ClickHouse as the writer, quietly: prints nothing when it does not answer.
faults_ch() {
    curl -fsS --max-time 5 -H "X-ClickHouse-User: $CH_WRITER_USER" \
        -H "X-ClickHouse-Key: $CH_WRITER_PASSWORD" --data-binary "$1" "$CH_URL/" 2>/dev/null || true
}

# Newest commit of the Iceberg table (ms since the epoch), 0 before the first.
faults_last_commit_ms() {
    local t=$WAREHOUSE/default/netflow/metadata v
    [ -f "$t/version-hint.text" ] || { echo 0; return; }
    v=$(cat "$t/version-hint.text" 2>/dev/null) || { echo 0; return; }
    jq -r '[.snapshots[]?["timestamp-ms"]] | max // 0' "$t/v$v.metadata.json" 2>/dev/null || echo 0
}

# Newest insert recorded in ClickHouse's ingest_log (seconds since the epoch), 0 if none or
# ClickHouse does not answer.
faults_last_insert_s() {
    local v
    v=$(faults_ch 'SELECT toUInt32(max(inserted)) FROM netflow.ingest_log')
    echo "${v:-0}"
}

# faults_watch LABEL KIND SINCE_MS — in the background, wait (up to FAULTS_CATCHUP s) until KIND shows
# progress after SINCE_MS and append "LABEL recovery_ms" to recovery.txt ("LABEL -" when it
# never did).
faults_watch() {
    local label=$1 kind=$2 since=$3
    (
        set +e
        deadline=$(( $(now_ms) + FAULTS_CATCHUP * 1000 ))
        while [ "$(now_ms)" -lt "$deadline" ]; do
            ok=0
            case $kind in
            insert) [ "$(( $(faults_last_insert_s) * 1000 ))" -ge "$since" ] && ok=1 ;;
            commit) [ "$(faults_last_commit_ms)" -gt "$since" ] && ok=1 ;;
            both) [ "$(( $(faults_last_insert_s) * 1000 ))" -ge "$since" ] &&
                [ "$(faults_last_commit_ms)" -gt "$since" ] && ok=1 ;;
            publish) [ "$(pm serviceradar_poller_records_published_total)" -gt 0 ] &&
                [ "$(it_metric "http://127.0.0.1:$POLLER_METRICS_PORT/metrics" \
                    serviceradar_poller_nats_connected)" = 1 ] && ok=1 ;;
            core) curl -fsS --max-time 2 -o /dev/null \
                "http://127.0.0.1:$CORE_PORT/api/netflow/status" && ok=1 ;;
            esac
            if [ "$ok" = 1 ]; then
                echo "$label $(( $(now_ms) - since ))" >>"$IT_WORK/recovery.txt"
                exit 0
            fi
            sleep 0.2
        done
        echo "$label - $(( $(now_ms) - since ))" >>"$IT_WORK/recovery.txt"
    ) 2>/dev/null &
    FAULTS_WATCHERS+=("$!")
}

# ---- the faults ---------------------------------------------------------------------------------

# faults_writer_story TWICE — what the ClickHouse writer's debug log says about the messages
# of TWICE (ingest_log rows: msg_id first): each writer start, each delivery of them, the
# look-ups that found them and the INSERTs of their stream sequences, one line each.
faults_writer_story() {
    local id seq
    {
    grep -h ' info clickhouse-writer: nats=' writer.log | cut -c1-24 | sed 's/$/ writer started/'
    for id in $(cut -f1 <<<"$1"); do
        grep -F "$id" writer.log
        for seq in $(grep -F "fetched $id:" writer.log | sed -n 's/.*stream \([0-9]*\),.*/\1/p' | sort -u); do
            awk -v s="$seq" '/INSERT .*: [0-9]+ messages/ {
                    split($0, a, "[(). ]+"); lo = hi = ""
                    for (i = 1; i in a; i++) if (a[i] == "stream") { lo = a[i + 1]; hi = a[i + 2] }
                    if (lo != "" && s + 0 >= lo + 0 && s + 0 <= hi + 0) { print; q[$5] = 1 }
                }
                /INSERT .*: / && !/messages/ && ($5 in q) { print }' writer.log
        done
    done >story.txt
    cat story.txt
    # ClickHouse's side (its log is at debug level here): when each of those INSERTs began
    # and ended on the server, by query id
    local q
    for q in $(sed -n 's/.*INSERT \(netflow-writer-[0-9-]*\): [0-9]* messages.*/\1/p' story.txt | sort -u); do
        grep -F "{$q}" ch/log/clickhouse-server.log 2>/dev/null | sed -n '1p;$p' |
            awk -v q="$q" '{ d = $1; gsub(/\./, "-", d); t = $2; sub(/^[^}]*\} /, "")
                             print d "T" t " clickhouse: " q ": " substr($0, 1, 90) }'
    done
    } | sort | uniq | cut -c12-220 | sed 's/ debug clickhouse-writer://' | tr '\n' ';'
}

# faults_inject KIND — one fault; writes what it did to faults.log.
faults_inject() {
    local kind=$1 t
    t=$(now_ms)
    case $kind in
    kill_poller)
        # Records the checker holds that this poller has not had stored by JetStream yet.
        faults_add kill_poller $(( $(cm netflow_checker_ring_last_sequence) - $(pm serviceradar_poller_cursor) ))
        faults_kill "$POLLER_PID"
        it_start_poller "$IT_WORK"
        faults_watch "$kind" publish "$t" ;;
    kill_chwriter)
        faults_add kill_chwriter "$(it_wm held_records)"
        faults_kill "$WRITER_PID"
        it_start_writer "$IT_WORK"
        faults_watch "$kind" insert "$t" ;;
    kill_pqwriter)
        faults_add kill_pqwriter "$(it_pqm held_records)"
        faults_kill "$PQ_PID"
        it_start_pq "$IT_WORK"
        faults_watch "$kind" commit "$t" ;;
    kill_catalog)
        faults_add kill_catalog "$(it_pqm held_records)"
        faults_kill "$CATALOG_PID"
        faults_start_catalog
        faults_watch "$kind" commit "$t" ;;
    kill_core)
        faults_kill "$CORE_PID"
        faults_start_core
        faults_watch "$kind" core "$t" ;;
    nats_restart)
        faults_add nats_restart "$(it_wm held_records)"
        faults_add nats_restart "$(it_pqm held_records)"
        kill -TERM "$NATS_PID" 2>/dev/null || true
        wait "$NATS_PID" 2>/dev/null || true
        it_forget "$NATS_PID"
        faults_start_nats
        faults_watch "$kind" both "$(now_ms)" ;;
    ch_down)
        FAULTS_CH_FAIL0=$(( $(it_wm insert_failures_total) + $(it_wm lookup_failures_total) ))
        if [ "$FAULTS_CH_MODE" = sigstop ]; then
            kill -STOP "$CH_PID"
        else
            it_stop_clickhouse
        fi ;;
    ch_up)
        # The writer's own view before ClickHouse is back: 0 = it noticed.
        faults_add ch_seen_down $(( 1 - $(it_wm up) ))
        if [ "$FAULTS_CH_MODE" = sigstop ]; then
            kill -CONT "$CH_PID"
        else
            it_ch_launch
        fi
        # INSERTs and ingest_log look-ups that failed while it was away (this writer process's
        # counters).
        faults_add ch_down $(( $(it_wm insert_failures_total) + $(it_wm lookup_failures_total) - FAULTS_CH_FAIL0 ))
        faults_watch ch_down insert "$(now_ms)" ;;
    disk_full)
        local used
        FAULTS_ENOSPC0=$(cat pq.log cat/catalog.log | grep -c 'No space left on device' || true)
        # tmpfs refuses to shrink below what it holds, and the writer may add a file between
        # df and the remount: measure again and retry
        local try
        for try in 1 2 3 4 5 6 7 8 9 10; do
            used=$(df -k --output=used "$WAREHOUSE" | tail -1 | tr -d ' ')
            mount -o remount,size=$((used + 4))k "$WAREHOUSE" 2>>"$IT_WORK/mount.err" && break
            [ "$try" -lt 10 ] || it_fail "disk_full: remount size=$((used + 4))k of $WAREHOUSE failed: $(tail -1 "$IT_WORK/mount.err")"
            sleep 0.1
        done
        echo "disk_full: warehouse tmpfs shrunk to $((used + 4)) KiB (holds $used KiB)" >>"$IT_WORK/notes.log" ;;
    disk_free)
        mount -o remount,size="$FAULTS_WH_SIZE" "$WAREHOUSE" ||
            it_fail "disk_free: remount size=$FAULTS_WH_SIZE of $WAREHOUSE failed"
        FAULTS_WF_AT_FREE=$(it_pqm write_failures_total)
        echo "disk_free: write failures counted by the (current) Parquet writer: $FAULTS_WF_AT_FREE" >>"$IT_WORK/notes.log"
        faults_add disk_full $(( $(cat pq.log cat/catalog.log | grep -c 'No space left on device' || true) - FAULTS_ENOSPC0 ))
        faults_watch disk_full commit "$(now_ms)" ;;
    *) it_fail "unknown fault $kind" ;;
    esac
    echo "$(( t - FAULTS_T0 )) $kind" >>"$IT_WORK/faults.log"
}

# faults_add KIND N — adds N to the evidence of KIND.
faults_add() {
    FAULTS_AT[$1]=$(( ${FAULTS_AT[$1]:-0} + ${2:-0} ))
}

# What the evidence number of each kind means in the report.
faults_found() {
    local n=${FAULTS_AT[$1]:-0}
    case $1 in
    kill_poller) echo "$n records in the ring not yet in JetStream at the kills" ;;
    kill_chwriter) echo "$n records fetched, not yet acked at the kills" ;;
    kill_pqwriter) echo "$n records fetched, not yet committed at the kills" ;;
    kill_catalog) echo "$n records held by the Parquet writer at the kills" ;;
    kill_core) echo "answered /api/netflow/status again" ;;
    nats_restart) echo "$n records held unacked by the writers at the restart" ;;
    ch_down) echo "$n failed INSERTs or look-ups while ClickHouse was away; writer saw it down (up=0) in ${FAULTS_AT[ch_seen_down]:-0} of its injections" ;;
    disk_full) echo "$n ENOSPC errors logged (Parquet writer, catalog)" ;;
    esac
}

# faults_schedule SECONDS — draws the events over the traffic window (from RANDOM, seeded).
faults_schedule() {
    local span_ms=$(( $1 * 1000 )) lo=2000 d i ev=()
    local hi=$(( span_ms - 2000 ))
    [ "$hi" -gt "$lo" ] || it_fail "traffic window of $1 s too short for faults"
    # R, not $(...): a command substitution is a subshell, whose RANDOM would not advance ours.
    rnd() { R=$(( $1 + ( (RANDOM << 15 | RANDOM) % ($2 - $1) ) )); }
    for d in poller chwriter pqwriter catalog core; do
        for ((i = 0; i < FAULTS_KILLS; i++)); do rnd "$lo" "$hi"; ev+=("$R kill_$d"); done
    done
    rnd "$lo" "$hi"
    ev+=("$R nats_restart")
    local chmax=$(( hi - FAULTS_CH_DOWN * 1000 ))
    [ "$chmax" -gt "$lo" ] || chmax=$(( lo + 1 ))
    rnd "$lo" "$chmax"
    ev+=("$R ch_down" "$(( R + FAULTS_CH_DOWN * 1000 )) ch_up")
    if [ -n "$FAULTS_MOUNTED" ]; then
        local dmax=$(( hi - FAULTS_DISK_FULL * 1000 ))
        [ "$dmax" -gt "$lo" ] || dmax=$(( lo + 1 ))
        rnd "$lo" "$dmax"
        ev+=("$R disk_full" "$(( R + FAULTS_DISK_FULL * 1000 )) disk_free")
    fi
    mapfile -t FAULTS_EVENTS < <(printf '%s\n' "${ev[@]}" | sort -n)
}

# faults_table — what was injected, how long each recovery took, the evidence per fault
# (uses faults_run's sent, t_end_faults, t_caught; printed before the exact checks so that a
# failing run shows it too).
faults_table() {
    echo
    echo "faults report (seed $FAULTS_SEED; $sent flows sent by $FAULTS_EXPORTERS exporters at $FAULTS_RATE/s; traffic $(jq .elapsed_ms sent.json) ms, faults until $t_end_faults ms, both tiers complete at $t_caught ms)"
    printf '| %-14s | %5s | %-28s | %s\n' fault times "recovery ms (min/max)" found
    printf '|%s|\n' "----------------|-------|------------------------------|------------------------------------------"
    local k n rec
    for k in kill_poller kill_chwriter kill_pqwriter kill_catalog kill_core nats_restart ch_down disk_full; do
        n=$(awk -v k="$k" '$2 == k' faults.log | wc -l)
        rec=$(awk -v k="$k" '$1 == k && $2 != "-" {if (min == "" || $2 < min) min = $2; if ($2 > max) max = $2; c++}
                $1 == k && $2 == "-" {nr++}
                END {if (c) printf "%d/%d", min, max; else printf "-"; if (nr) printf " (%d never)", nr}' recovery.txt)
        printf '| %-14s | %5s | %-28s | %s\n' "$k" "$n" "$rec" "$(faults_found "$k")"
    done
}

# ---- the run ------------------------------------------------------------------------------------

faults_run() {
    : "${FAULTS_FLOWS:=200000}" "${FAULTS_RATE:=2000}" "${FAULTS_KILLS:=2}"
    : "${FAULTS_CH_DOWN:=15}" "${FAULTS_CH_MODE:=sigstop}" "${FAULTS_DISK_FULL:=10}"
    : "${FAULTS_TLS:=1}" "${FAULTS_EXPORTERS:=4}" "${FAULTS_WH_SIZE:=512m}" "${FAULTS_CATCHUP:=300}"
    FAULTS_SEED=${FAULTS_SEED:-$(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') ))}
    RANDOM=$FAULTS_SEED
    echo "faults: seed $FAULTS_SEED (reproduce: FAULTS_SEED=$FAULTS_SEED), $FAULTS_FLOWS flows at $FAULTS_RATE/s, $FAULTS_KILLS kills per daemon, ClickHouse away $FAULTS_CH_DOWN s ($FAULTS_CH_MODE), disk full $FAULTS_DISK_FULL s; mTLS $( [ "$FAULTS_TLS" = 1 ] && echo "on (spine, NATS)" || echo off)" >&2
    trap faults_cleanup EXIT
    cd "$IT_WORK"
    : >recovery.txt
    : >faults.log
    : >notes.log

    # The warehouse on its own tmpfs.
    mkdir -p cat/warehouse
    if mount -t tmpfs -o size="$FAULTS_WH_SIZE" nf-faults "$IT_WORK/cat/warehouse" 2>mount.err; then
        FAULTS_MOUNTED=$IT_WORK/cat/warehouse
    else
        echo "faults: SKIPPING the disk-full fault: cannot mount a tmpfs ($(cat mount.err))" >&2
    fi

    mkdir -p nats
    local certs=""
    if [ "$FAULTS_TLS" = 1 ]; then
        it_certs "$IT_WORK/certs"
        certs=$IT_WORK/certs
    fi
    it_start_nats "$IT_WORK/nats" "$(it_free_port tcp)" "$certs"
    SPINE_CONSUMERS=clickhouse,parquet SPINE_MAX_RECORDS=$(( FAULTS_FLOWS + 100000 )) \
        it_spine_configs "$IT_WORK" "$certs"
    CH_LOG_LEVEL=debug it_start_clickhouse "$IT_WORK/ch"
    faults_start_catalog
    WRITER_LOG_LEVEL=debug it_writer_config "$IT_WORK" "$certs"
    PQ_BATCH_INTERVAL=5s PQ_BATCH_SIZE=100000 it_pq_config "$IT_WORK" "$certs"
    it_start_checker_spine "$IT_WORK"
    it_start_agent "$IT_WORK"
    it_start_poller "$IT_WORK"
    it_start_writer "$IT_WORK"
    it_start_pq "$IT_WORK"
    faults_core_config
    faults_start_core

    local secs=$(( FAULTS_FLOWS / FAULTS_RATE ))
    faults_schedule "$secs"
    echo "faults: schedule (ms into the traffic):" >&2
    printf '  %s\n' "${FAULTS_EVENTS[@]}" >&2

    FAULTS_T0=$(now_ms)
    "$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$FAULTS_FLOWS" --rate "$FAULTS_RATE" \
        --protocol mix --exporters "$FAULTS_EXPORTERS" --seed "$FAULTS_SEED" --quiet >sent.json &
    local gen=$! e at kind
    for e in "${FAULTS_EVENTS[@]}"; do
        at=${e%% *} kind=${e#* }
        while [ "$(( $(now_ms) - FAULTS_T0 ))" -lt "$at" ]; do sleep 0.05; done
        faults_inject "$kind"
    done
    wait "$gen" || it_fail "flowgen failed"
    local t_end_faults
    t_end_faults=$(( $(now_ms) - FAULTS_T0 ))
    it_note "traffic done in $(jq .elapsed_ms sent.json) ms, last fault at $t_end_faults ms: $(jq -c '{flows, bytes, packets, send_errors}' sent.json)"

    # ---- the edge: what was sent against what the checker kept ------------------------------
    local sent appended
    sent=$(jq .flows sent.json)
    it_wait_until "[ \"\$(cm netflow_checker_flows_decoded_total)\" -ge $sent ]" 20 || true
    sleep 1
    appended=$(cm netflow_checker_ring_appended_total)
    local kdrops trunc rerr derr evicted unread
    kdrops=$(cm netflow_checker_udp_kernel_drops_total)
    trunc=$(cm netflow_checker_udp_truncated_total)
    rerr=$(cm netflow_checker_udp_receive_errors_total)
    derr=$(curl -fsS "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics" | awk '/^netflow_checker_decode_errors_total/ {s += $NF} END {print s + 0}')
    evicted=$(curl -fsS "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics" |
        awk '/^netflow_checker_ring_evicted_total/ {s += $NF} END {print s + 0}')
    unread=$(cm netflow_checker_ring_evicted_unread_total)
    it_expect "ring evicted (the ring holds more than the traffic)" "$evicted" 0
    it_expect "ring evicted unread" "$unread" 0
    local edge_lost=$(( sent - appended )) explained=""
    if [ "$edge_lost" != 0 ]; then
        [ "$edge_lost" -gt 0 ] || it_fail "the checker stored $appended records of $sent sent"
        [ $(( kdrops + trunc + rerr + derr )) -gt 0 ] ||
            it_fail "$edge_lost flows lost at the edge and no counter explains it"
        explained="udp_kernel_drops=$kdrops udp_truncated=$trunc receive_errors=$rerr decode_errors=$derr"
    fi

    # ---- catch up: both writers stored everything the checker kept --------------------------
    local table=$WAREHOUSE/default/netflow
    # At least: more (a duplicate) never goes away, and the exact checks below say so.
    it_wait_until "[ \"\$(faults_ch 'SELECT count() FROM netflow.netflow')\" -ge $appended ] && \
        [ \"\$(it_ice_rows $table)\" -ge $appended ]" "$FAULTS_CATCHUP" ||
        it_fail "no catch-up in $FAULTS_CATCHUP s: ClickHouse $(faults_ch 'SELECT count() FROM netflow.netflow') (server state $(awk '{print $3}' "/proc/$CH_PID/stat" 2>/dev/null || echo gone); $(grep -E '<(Error|Fatal)>' "$CH_DIR/log/clickhouse-server.err.log" 2>/dev/null | tail -n 2 | cut -c1-300)), Iceberg $(it_ice_rows "$table") of $appended rows; writer: $(grep -v ' debug ' writer.log | tail -n 3 | cut -c1-300); parquet: $(tail -n 2 pq.log | cut -c1-300)"
    local t_caught
    t_caught=$(( $(now_ms) - FAULTS_T0 ))
    # Nothing may come later (a late duplicate): wait one more Parquet batch interval and until
    # both durables report nothing pending.
    it_wait_until "[ \"\$(it_wm consumer_pending_messages)\" = 0 ] && [ \"\$(it_wm consumer_ack_pending)\" = 0 ] && \
        [ \"\$(it_pqm consumer_pending_messages)\" = 0 ] && [ \"\$(it_pqm consumer_ack_pending)\" = 0 ]" 30 ||
        it_fail "durables still pending: clickhouse $(it_wm consumer_pending_messages)/$(it_wm consumer_ack_pending), parquet $(it_pqm consumer_pending_messages)/$(it_pqm consumer_ack_pending)"
    sleep 7
    wait "${FAULTS_WATCHERS[@]}" 2>/dev/null || true
    FAULTS_WATCHERS=()
    faults_table | tee report.txt >&2

    # ---- exact checks -------------------------------------------------------------------------
    faults_ch "SELECT exporter_ip, count(), sum(bytes), sum(packets) FROM netflow.netflow GROUP BY exporter_ip ORDER BY exporter_ip" >ch.tsv
    it_ice_read "$table" >ice.json || it_fail "independent Iceberg reader failed"
    jq -r '.exporters[] | [.address, .flows, .bytes, .packets] | @tsv' ice.json >ice.tsv
    jq -r '.exporters | sort_by(.address)[] | [.address, .flows, .bytes, .packets] | @tsv' sent.json >sent.tsv
    local twice
    twice=$(faults_ch "SELECT msg_id, count(), groupArray(inserted) FROM netflow.ingest_log GROUP BY msg_id HAVING count() > 1 LIMIT 5")
    [ -z "$twice" ] || it_fail "messages stored twice in ClickHouse (msg_id, times, inserted): $twice; the writer's log of them: $(faults_writer_story "$twice"); ClickHouse rows $(faults_ch 'SELECT count() FROM netflow.netflow'), expected $appended; Iceberg rows $(jq -r .rows ice.json); faults (ms into the traffic, traffic started at $(date -u -d @$(( FAULTS_T0 / 1000 )) +%T) UTC): $(tr '\n' ';' <faults.log)"
    it_expect "ClickHouse rows" "$(faults_ch 'SELECT count() FROM netflow.netflow')" "$appended"
    it_expect "Iceberg rows" "$(jq -r .rows ice.json)" "$appended"
    it_expect "each message once in ingest_log" \
        "$(faults_ch 'SELECT count() = uniqExact(msg_id) FROM netflow.ingest_log')" 1
    it_expect "ingest_log rows" "$(faults_ch 'SELECT sum(rows) FROM netflow.ingest_log')" "$appended"
    cmp -s ch.tsv ice.tsv || it_fail "ClickHouse and Iceberg differ per exporter: $(diff ch.tsv ice.tsv | head -10)"
    if [ "$edge_lost" = 0 ]; then
        cmp -s ch.tsv sent.tsv ||
            it_fail "stored per exporter differs from flowgen's totals: $(diff sent.tsv ch.tsv | head -10)"
    fi
    local dups
    dups=$(faults_ch "SELECT count() - uniqExact(exporter, observation_domain, src_addr, dst_addr, src_port, dst_port, protocol, timestamp, flow_start, flow_end, bytes, packets, in_if, out_if) FROM netflow.netflow")

    # ---- the core answers both tiers on the same data -----------------------------------------
    it_wait_until "curl -fsS 'http://127.0.0.1:$CORE_PORT/api/netflow/status' >status.json && \
        jq -e '[.hops[] | select(.up)] | length == 6' status.json" 20 ||
        it_fail "core status: not every hop up: $(jq -c '[.hops[] | {name, up}]' status.json 2>/dev/null)"
    local s=$(( $(date +%s) - 86400 )) e=$(( $(date +%s) + 3600 ))
    local q="start=$s&end=$e&group_by=exporter&metric=flows&limit=100"
    curl -fsS "http://127.0.0.1:$CORE_PORT/api/netflow/realtime?$q" >rt.json ||
        it_fail "core realtime query: $(cat rt.json)"
    curl -fsS "http://127.0.0.1:$CORE_PORT/api/netflow/historical?$q" >hist.json ||
        it_fail "core historical query: $(cat hist.json)"
    it_expect "core realtime flows" "$(jq '[.results[] | [.[]][1]] | add' rt.json)" "$appended"
    it_expect "core historical flows" "$(jq '[.results[] | [.[]][1]] | add' hist.json)" "$appended"
    local dropped_total
    dropped_total=$(jq .dropped_total status.json)
    [ "$edge_lost" != 0 ] || it_expect "core status dropped_total" "$dropped_total" 0

    # ---- the report (the faults' table was printed before the checks) --------------------------
    {
        echo "found, all faults together: lost 0, duplicated 0 in ClickHouse and in Iceberg"
        echo "edge: sent $sent, checker stored $appended, ring evicted $evicted, lost ${edge_lost}${explained:+ (explained by $explained)}"
        echo "ClickHouse: $(faults_ch 'SELECT count() FROM netflow.netflow') rows = Iceberg $(jq -r .rows ice.json) rows; per exporter equal$( [ "$edge_lost" = 0 ] && echo " to flowgen's flows/bytes/packets"); ingest_log: each message once; identical-flow rows beyond distinct: $dups"
        echo "writers: ClickHouse already_stored $(it_wm already_stored_total) since its last start; Parquet already_committed $(it_pqm already_committed_total), write_failures at disk-free ${FAULTS_WF_AT_FREE:-n/a}; core: realtime = historical = $appended flows, status dropped_total $dropped_total"
    } | tee -a report.txt >&2
    for rec in $(awk '$2 == "-" {print $1}' recovery.txt); do
        it_fail "$rec: no progress within $FAULTS_CATCHUP s after the fault"
    done
    if [ -n "$FAULTS_MOUNTED" ]; then
        grep -q 'No space left on device' pq.log cat/catalog.log ||
            it_fail "disk full: neither the Parquet writer nor the catalog met ENOSPC: $(cat notes.log)"
    fi
    # Stop everything gracefully (SIGTERM by PID), then no sanitizer report (ASan/UBSan/LSan
    # builds) may be in any daemon's log, including the killed and restarted ones.
    local pid
    for pid in "${IT_PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    for pid in "${IT_PIDS[@]:-}"; do [ -n "$pid" ] && wait "$pid" 2>/dev/null || true; done
    IT_PIDS=()
    if grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' ./*.log cat/*.log >sanitizer.txt 2>/dev/null; then
        it_fail "sanitizer reports in $(tr '\n' ' ' <sanitizer.txt): $(grep -h -m3 -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' $(cat sanitizer.txt))"
    fi
    echo "PASS faults (seed $FAULTS_SEED: $sent flows, $(wc -l <faults.log) faults; every stored flow exactly once in both tiers)"
    # bench/run.sh's closing table (bench/faults.sh; nothing happens in the test command)
    source "$IT_SRC/bench/lib_summary.sh"
    bench_row faults "$sent flows, $(wc -l <faults.log) faults (seed $FAULTS_SEED): flows lost / stored twice, each tier" \
        "0 / 0" - "0 / 0" met
    bench_row faults "slowest recovery after a fault, ms" \
        "$(sort -k2,2n recovery.txt | tail -1 | awk '{ print $2 " (" $1 ")" }')" - - -
}

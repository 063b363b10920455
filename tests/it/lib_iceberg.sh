# lib_iceberg.sh — cold-tier helpers for the integration tests (sourced after lib.sh):
# the Iceberg REST catalog, the Parquet writer, and the independent reader.

CATALOG=$IT_BUILD/cmd/iceberg-catalog/serviceradar-iceberg-catalog
PQWRITER=$IT_BUILD/cmd/netflow-parquet/serviceradar-netflow-parquet
ICETOOL=$IT_BUILD/tests/tools/icetool
JS_DIR=$IT_SRC/tests/js

# it_start_catalog DIR [CERTS] — the REST catalog on a free port, warehouse DIR/warehouse,
# database DIR/catalog.db, HTTPS with client certificates required when CERTS is given (its
# certificate CERTS/catalog.pem: it_certs makes one); sets CATALOG_URL, CATALOG_PID,
# CATALOG_METRICS_PORT, WAREHOUSE, and CATALOG_CURL (curl options that reach it).
it_start_catalog() {
    local dir=$1 certs=${2:-}
    WAREHOUSE=$dir/warehouse
    mkdir -p "$WAREHOUSE"
    if [ -z "${CATALOG_PORT:-}" ]; then
        CATALOG_PORT=$(it_free_port tcp)
        CATALOG_METRICS_PORT=$(it_free_port tcp)
    fi
    local security='{"mode": "none"}'
    CATALOG_URL=http://127.0.0.1:$CATALOG_PORT
    CATALOG_CURL=()
    if [ -n "$certs" ]; then
        security=$(it_security_json "$certs" catalog catalog.serviceradar)
        CATALOG_URL=https://127.0.0.1:$CATALOG_PORT
        CATALOG_CURL=(--cacert "$certs/root.pem" --cert "$certs/poller.pem" --key "$certs/poller-key.pem")
    fi
    cat >"$dir/iceberg-catalog.json" <<JSON
{
  "listen_addr": "127.0.0.1:$CATALOG_PORT",
  "warehouse": "file://$WAREHOUSE",
  "database": "$dir/catalog.db",
  "metrics_addr": "127.0.0.1:$CATALOG_METRICS_PORT",
  "security": $security
}
JSON
    "$CATALOG" -c "$dir/iceberg-catalog.json" 2>>"$dir/catalog.log" &
    CATALOG_PID=$!
    IT_PIDS+=("$CATALOG_PID")
    it_wait_for curl -fsS "${CATALOG_CURL[@]}" "$CATALOG_URL/v1/config" ||
        it_fail "catalog did not start: $(tail -5 "$dir/catalog.log")"
}

# it_pq_config DIR [CERTS] — netflow-parquet.json in DIR for NATS_URL and CATALOG_URL (or
# PQ_CATALOG); sets PQ_METRICS_PORT. PQ_* variables override settings.
it_pq_config() {
    local dir=$1 certs=${2:-}
    PQ_METRICS_PORT=$(it_free_port tcp)
    cat >"$dir/netflow-parquet.json" <<JSON
{
  "nats_url": "$NATS_URL",
  "security": $(it_security_json "$certs" poller nats.serviceradar),
  "iceberg_catalog": "${PQ_CATALOG:-$CATALOG_URL}",
  "iceberg_table": "default.netflow",
  "batch_size": ${PQ_BATCH_SIZE:-50000},
  "batch_interval": "${PQ_BATCH_INTERVAL:-1s}",
  "catalog_timeout": "${PQ_CATALOG_TIMEOUT:-5s}",
  "ack_wait": "${PQ_ACK_WAIT:-30s}",
  "backoff_min": "100ms",
  "backoff_max": "${PQ_BACKOFF_MAX:-2s}",
  "maintenance_interval": "${PQ_MAINTENANCE_INTERVAL:-0s}",
  "metrics_addr": "127.0.0.1:$PQ_METRICS_PORT"
}
JSON
}

# it_start_pq DIR [NAME] — the Parquet writer with DIR/netflow-parquet.json (log DIR/NAME.log,
# default pq); sets PQ_PID.
it_start_pq() {
    local name=${2:-pq}
    "$PQWRITER" -c "$1/netflow-parquet.json" 2>>"$1/$name.log" &
    PQ_PID=$!
    IT_PIDS+=("$PQ_PID")
    it_wait_for curl -fsS "http://127.0.0.1:$PQ_METRICS_PORT/metrics" ||
        it_fail "parquet writer did not start: $(tail -5 "$1/$name.log")"
}

# it_pqm NAME — a Parquet writer metric.
it_pqm() {
    it_metric "http://127.0.0.1:$PQ_METRICS_PORT/metrics" "serviceradar_netflow_parquet_$1"
}

# it_ice_read TABLE_DIR [--snapshot ID] — the independent reader's JSON (tests/js).
it_ice_read() {
    node "$JS_DIR/iceberg_read.mjs" "$@"
}

# it_ice_rows TABLE_DIR — rows in the table's current snapshot by the summary (cheap; 0 if
# the table does not exist yet).
it_ice_rows() {
    local hint=$1/metadata/version-hint.text
    [ -f "$hint" ] || { echo 0; return; }
    jq -r '(.["current-snapshot-id"]) as $c | [.snapshots[] | select(.["snapshot-id"] == $c) |
        .summary["total-records"] | tonumber] | add // 0' "$1/metadata/v$(cat "$hint").metadata.json"
}

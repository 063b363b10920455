# lib.sh — shared helpers for the integration tests (sourced, not run).
#
# Every test runs in its own temporary directory, starts real processes on loopback ports
# it picked itself, and stops them by PID on exit. Nothing here kills by name or relies on
# a system service.

set -euo pipefail

IT_BUILD=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
IT_PIDS=()
IT_WORK=$(mktemp -d "${TMPDIR:-/tmp}/nf-it.XXXXXX")

it_cleanup() {
    local pid
    for pid in "${IT_PIDS[@]:-}"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "${IT_PIDS[@]:-}"; do
        [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
    done
    if [ "${IT_KEEP:-0}" = 1 ]; then
        echo "kept $IT_WORK" >&2
    else
        rm -rf "$IT_WORK"
    fi
}
trap it_cleanup EXIT

# it_forget PID — drop PID from IT_PIDS once it was stopped and waited for, so the cleanup
# never signals a process that reused the number.
it_forget() {
    local kept=() pid
    for pid in "${IT_PIDS[@]:-}"; do
        [ -n "$pid" ] && [ "$pid" != "$1" ] && kept+=("$pid")
    done
    IT_PIDS=("${kept[@]+"${kept[@]}"}")
}

it_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

it_note() {
    echo "-- $*" >&2
}

# it_free_port tcp|udp [COUNT] — loopback ports nobody listens on right now (tests/tools).
it_free_port() {
    "$IT_BUILD/tests/tools/freeport" "$@"
}

# it_wait_for CMD... — retry a command for up to 10 s. Its arguments are expanded once, by
# the caller; for a condition on values that change use it_wait_until.
it_wait_for() {
    local i
    for i in $(seq 1 100); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

# it_wait_until 'SHELL CONDITION' [SECONDS] — re-evaluate the condition until it holds.
it_wait_until() {
    local i tries=$(( ${2:-10} * 10 ))
    for i in $(seq 1 "$tries"); do
        if eval "$1" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    return 1
}

# it_metric URL NAME [LABELS] — value of one Prometheus sample (0 if absent).
it_metric() {
    local url=$1 name=$2 labels=${3:-}
    local line
    if [ -n "$labels" ]; then
        line=$(curl -fsS "$url" | grep -F "$name{$labels} " || true)
    else
        line=$(curl -fsS "$url" | grep -E "^$name " || true)
    fi
    [ -n "$line" ] && echo "${line##* }" || echo 0
}

CHECKER=$IT_BUILD/cmd/netflow-checker/serviceradar-netflow-checker
FLOWGEN=$IT_BUILD/cmd/flowgen/serviceradar-flowgen
FLOWDUMP=$IT_BUILD/cmd/flowdump/serviceradar-flowdump
REPLAY=$IT_BUILD/tests/tools/replay

# it_checker_config FILE UDP_PORT METRICS_PORT [EXTRA_JSON_MEMBERS] — writes a checker config
# whose state file sits next to it.
it_checker_config() {
    local file=$1 udp=$2 metrics=$3 extra=${4:-}
    local grpc
    grpc=$(it_free_port tcp)
    cat >"$file" <<JSON
{
  "listen_addr": "127.0.0.1:$udp",
  "metrics_addr": "127.0.0.1:$metrics",
  "grpc_listen_addr": "127.0.0.1:$grpc",
  "state_file": "${file%.json}.state",
  "state_interval": "1s",
  "security": {"mode": "none"}${extra:+,
  $extra}
}
JSON
}

# it_start_checker CONFIG LOG [ARGS...] — starts the checker, waits for /metrics; sets
# CHECKER_PID and CHECKER_METRICS (the URL).
it_start_checker() {
    local config=$1 log=$2
    shift 2
    "$CHECKER" -c "$config" "$@" 2>>"$log" &
    CHECKER_PID=$!
    IT_PIDS+=("$CHECKER_PID")
    CHECKER_METRICS="http://$(jq -r .metrics_addr "$config")/metrics"
    it_wait_for curl -fsS "$CHECKER_METRICS" || it_fail "checker did not start: $(tail -5 "$log")"
}

# it_stop PID [SIGNAL] — signal a process and wait for it.
it_stop() {
    kill -"${2:-TERM}" "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

# it_wait_metric URL NAME VALUE [LABELS] — wait (10 s) until a sample reaches VALUE.
it_wait_metric() {
    local url=$1 name=$2 want=$3 labels=${4:-} i got
    for i in $(seq 1 100); do
        got=$(it_metric "$url" "$name" "$labels")
        [ "$got" = "$want" ] && return 0
        sleep 0.1
    done
    it_fail "$name{$labels} is $got, expected $want"
}

# it_expect NAME GOT WANT — compare two values.
it_expect() {
    [ "$2" = "$3" ] || it_fail "$1: got $2, expected $3"
}

AGENT=$IT_BUILD/cmd/agent/serviceradar-agent
POLLER=$IT_BUILD/cmd/poller/serviceradar-poller
JSREAD=$IT_BUILD/tests/tools/jsread
JSPUB=$IT_BUILD/tests/tools/jspub
CHQUERY=$IT_BUILD/tests/tools/chquery
IT_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# it_certs DIR — a CA and certificates for every component (scripts/certs.sh).
it_certs() {
    "$IT_SRC/scripts/certs.sh" "$1" checker agent poller nats reader catalog >/dev/null
}

# it_start_nats DIR PORT [CERTS] — nats-server with JetStream in DIR (TLS with client
# verification when CERTS is given); sets NATS_PID, NATS_URL and, with CERTS, NATS_MONITOR
# (the URL of its HTTP monitoring endpoint).
it_start_nats() {
    local dir=$1 port=$2 certs=${3:-}
    mkdir -p "$dir/js"
    if [ -n "$certs" ]; then
        NATS_MONITOR=http://127.0.0.1:$(it_free_port tcp)
        sed -e "s|@NATS_SERVER_NAME@|it-nats|" -e "s|@NATS_HOST@|127.0.0.1|" \
            -e "s|@NATS_PORT@|$port|" -e "s|@NATS_STORE_DIR@|$dir/js|" \
            -e "s|@NATS_MONITOR@|${NATS_MONITOR#http://}|" \
            -e "s|@NATS_CERT_FILE@|$certs/nats.pem|" -e "s|@NATS_KEY_FILE@|$certs/nats-key.pem|" \
            -e "s|@NATS_CA_FILE@|$certs/root.pem|" "$IT_SRC/etc/nats-server.conf.in" \
            >"$dir/nats.conf"
        NATS_URL="tls://127.0.0.1:$port"
    else
        printf 'host: "127.0.0.1"\nport: %s\nmax_payload: 8388608\njetstream { store_dir: "%s/js" }\n' \
            "$port" "$dir" >"$dir/nats.conf"
        NATS_URL="nats://127.0.0.1:$port"
    fi
    nats-server -c "$dir/nats.conf" >>"$dir/nats.log" 2>&1 &
    NATS_PID=$!
    IT_PIDS+=("$NATS_PID")
    it_wait_until "grep -q 'Server is ready' '$dir/nats.log'" 20 ||
        it_fail "nats-server did not start: $(tail -5 "$dir/nats.log")"
}

# it_security_json CERTS NAME SERVER_NAME — a ServiceRadar security block (mtls) for a
# component whose certificate is NAME.pem, expecting peers named SERVER_NAME; CERTS empty
# gives mode none.
it_security_json() {
    local certs=$1 name=$2 server=$3
    if [ -z "$certs" ]; then
        echo '{"mode": "none"}'
    else
        printf '{"mode": "mtls", "cert_dir": "%s", "server_name": "%s", "role": "%s", "tls": {"cert_file": "%s.pem", "key_file": "%s-key.pem", "ca_file": "root.pem"}}' \
            "$certs" "$server" "$name" "$name" "$name"
    fi
}

# it_spine_configs DIR [CERTS] — configs for checker, agent and poller in DIR on fresh ports,
# mTLS when CERTS is given. Sets UDP_PORT, CHECKER_GRPC, AGENT_GRPC and *_METRICS_PORT.
# SPINE_* variables override settings (see below); SPINE_CHECKER_EXTRA adds JSON members to
# the checker's config.
it_spine_configs() {
    local dir=$1 certs=${2:-}
    mkdir -p "$dir/checkers" "$dir/poller-state"
    UDP_PORT=$(it_free_port udp)
    local ports
    mapfile -t ports < <(it_free_port tcp 5)
    CHECKER_GRPC=${ports[0]} AGENT_GRPC=${ports[1]} CHECKER_METRICS_PORT=${ports[2]}
    AGENT_METRICS_PORT=${ports[3]} POLLER_METRICS_PORT=${ports[4]}
    cat >"$dir/checkers/netflow.json" <<JSON
{
  "listen_addr": "127.0.0.1:$UDP_PORT",
  "grpc_listen_addr": "127.0.0.1:$CHECKER_GRPC",
  "metrics_addr": "127.0.0.1:$CHECKER_METRICS_PORT",
  "max_records": ${SPINE_MAX_RECORDS:-500000},
  "state_file": "$dir/checker.state",
  "security": $(it_security_json "$certs" checker checker.serviceradar)${SPINE_CHECKER_EXTRA:+,
  $SPINE_CHECKER_EXTRA}
}
JSON
    cat >"$dir/agent.json" <<JSON
{
  "agent_id": "edge-1",
  "listen_addr": "127.0.0.1:$AGENT_GRPC",
  "checkers_dir": "$dir/checkers",
  "metrics_addr": "127.0.0.1:$AGENT_METRICS_PORT",
  "security": $(it_security_json "$certs" agent agent.serviceradar)
}
JSON
    cat >"$dir/poller.json" <<JSON
{
  "poller_id": "poller-1",
  "agents": {"edge-1": {"address": "127.0.0.1:$AGENT_GRPC",
             "checks": [{"service_type": "netflow", "service_name": "netflow",
                         "details": "127.0.0.1:$CHECKER_GRPC"}]}},
  "poll_interval": "${SPINE_POLL_INTERVAL:-300ms}",
  "state_dir": "$dir/poller-state",
  "metrics_addr": "127.0.0.1:$POLLER_METRICS_PORT",
  "backoff_min": "100ms",
  "backoff_max": "${SPINE_BACKOFF_MAX:-2s}",
  "rpc_timeout": "10s",
  "security": $(it_security_json "$certs" poller agent.serviceradar),
  "nats_config": {
    "url": "$NATS_URL",
    "security": $(it_security_json "$certs" poller nats.serviceradar),
    "batch_size": ${SPINE_BATCH_SIZE:-1000},
    "batch_interval": "${SPINE_BATCH_INTERVAL:-1s}",
    "max_bytes": "${SPINE_STREAM_BYTES:-256MiB}",
    "consumers": "${SPINE_CONSUMERS:-it-reader}"
  }
}
JSON
}

# Start/stop each daemon of the spine; each sets its *_PID.
it_start_checker_spine() {
    "$CHECKER" -c "$1/checkers/netflow.json" 2>>"$1/checker.log" &
    CHECKER_PID=$!
    IT_PIDS+=("$CHECKER_PID")
    it_wait_for curl -fsS "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics" ||
        it_fail "checker did not start: $(tail -5 "$1/checker.log")"
}
it_start_agent() {
    "$AGENT" -c "$1/agent.json" 2>>"$1/agent.log" &
    AGENT_PID=$!
    IT_PIDS+=("$AGENT_PID")
    it_wait_for curl -fsS "http://127.0.0.1:$AGENT_METRICS_PORT/metrics" ||
        it_fail "agent did not start: $(tail -5 "$1/agent.log")"
}
it_start_poller() {
    "$POLLER" -c "$1/poller.json" 2>>"$1/poller.log" &
    POLLER_PID=$!
    IT_PIDS+=("$POLLER_PID")
    it_wait_for curl -fsS "http://127.0.0.1:$POLLER_METRICS_PORT/metrics" ||
        it_fail "poller did not start: $(tail -5 "$1/poller.log")"
}

# ClickHouse helpers (it_start_clickhouse …) live in their own file.
source "$IT_SRC/tests/it/lib_clickhouse.sh"

WRITER=$IT_BUILD/cmd/netflow-clickhouse/serviceradar-netflow-clickhouse

# it_writer_config DIR [CERTS] — netflow-clickhouse.json in DIR for the NATS of NATS_URL and
# the ClickHouse of CH_URL (it_start_nats, it_start_clickhouse); sets WRITER_METRICS_PORT.
# WRITER_* variables override settings.
it_writer_config() {
    local dir=$1 certs=${2:-}
    WRITER_METRICS_PORT=$(it_free_port tcp)
    cat >"$dir/netflow-clickhouse.json" <<JSON
{
  "nats_url": "$NATS_URL",
  "security": $(it_security_json "$certs" poller nats.serviceradar),
  "clickhouse_url": "$CH_URL",
  "clickhouse_user": "$CH_WRITER_USER",
  "clickhouse_password": "$CH_WRITER_PASSWORD",
  "batch_size": ${WRITER_BATCH_SIZE:-20000},
  "batch_interval": "${WRITER_BATCH_INTERVAL:-500ms}",
  "clickhouse_timeout": "${WRITER_CH_TIMEOUT:-10s}",
  "ack_wait": "${WRITER_ACK_WAIT:-30s}",
  "backoff_min": "100ms",
  "backoff_max": "${WRITER_BACKOFF_MAX:-2s}",
  "metrics_addr": "127.0.0.1:$WRITER_METRICS_PORT",
  "log_level": "${WRITER_LOG_LEVEL:-info}"
}
JSON
}

# it_start_writer DIR — the ClickHouse writer with DIR/netflow-clickhouse.json; sets WRITER_PID.
it_start_writer() {
    "$WRITER" -c "$1/netflow-clickhouse.json" 2>>"$1/writer.log" &
    WRITER_PID=$!
    IT_PIDS+=("$WRITER_PID")
    it_wait_for curl -fsS "http://127.0.0.1:$WRITER_METRICS_PORT/metrics" ||
        it_fail "writer did not start: $(tail -5 "$1/writer.log")"
}

# it_wm NAME — a writer metric.
it_wm() {
    it_metric "http://127.0.0.1:$WRITER_METRICS_PORT/metrics" "serviceradar_netflow_clickhouse_$1"
}

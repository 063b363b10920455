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
    cat >"$file" <<JSON
{
  "listen_addr": "127.0.0.1:$udp",
  "metrics_addr": "127.0.0.1:$metrics",
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

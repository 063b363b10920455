# lib_clickhouse.sh — ClickHouse helpers for the integration tests (sourced by lib.sh).
#
# it_start_clickhouse DIR    start a server whose config, data and logs live in DIR
# it_stop_clickhouse         stop it (SIGTERM, wait; SIGKILL after 60 s)
# it_restart_clickhouse      stop and start again: same ports, same data
# it_ch SQL                  run SQL as the writer, print the TabSeparated answer
#
# The server is made by scripts/clickhouse-config.sh from etc/clickhouse/*.xml.in on free
# loopback ports, with fresh random passwords, and stopped by its PID only (other
# ClickHouse servers may run on the same host). CLICKHOUSE_SERVER overrides the binary.

# it_start_clickhouse DIR — sets CH_PID, CH_URL (http://127.0.0.1:PORT), CH_DIR,
# CH_WRITER_USER/CH_WRITER_PASSWORD, CH_READER_USER/CH_READER_PASSWORD and registers the PID
# in IT_PIDS. Fails the test if the server does not answer within 60 s.
it_start_clickhouse() {
    local dir=$1 ports
    mkdir -p "$dir"
    mapfile -t ports < <(it_free_port tcp 2)
    CH_DIR=$(cd "$dir" && pwd)
    CH_HTTP_PORT=${ports[0]}
    CH_TCP_PORT=${ports[1]}
    CH_URL=http://127.0.0.1:$CH_HTTP_PORT
    CH_WRITER_USER=netflow_writer
    CH_READER_USER=netflow_reader
    CH_WRITER_PASSWORD=w-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    CH_READER_PASSWORD=r-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
    "$IT_SRC/scripts/clickhouse-config.sh" "$CH_DIR" "$CH_HTTP_PORT" "$CH_TCP_PORT" \
        "$CH_WRITER_PASSWORD" "$CH_READER_PASSWORD" ||
        it_fail "clickhouse-config.sh failed for $CH_DIR"
    it_ch_launch
}

# Starts the server of CH_DIR and waits until it answers (internal).
it_ch_launch() {
    local bin=${CLICKHOUSE_SERVER:-}
    if [ -z "$bin" ]; then
        bin=$(command -v clickhouse-server || echo /usr/sbin/clickhouse-server)
    fi
    "$bin" --config-file="$CH_DIR/config.xml" >>"$CH_DIR/log/stdout.log" 2>&1 &
    CH_PID=$!
    IT_PIDS+=("$CH_PID")
    local i
    for i in $(seq 1 600); do
        if [ "$(curl -sS --max-time 2 "$CH_URL/ping" 2>/dev/null)" = "Ok." ]; then
            return 0
        fi
        if ! kill -0 "$CH_PID" 2>/dev/null || it_ch_exited "$CH_PID"; then
            break
        fi
        sleep 0.1
    done
    it_fail "clickhouse-server did not start: $(tail -5 "$CH_DIR/log/clickhouse-server.err.log" \
        "$CH_DIR/log/stdout.log" 2>/dev/null)"
}

# it_ch_exited PID — true if the process is gone or a zombie (kill -0 succeeds on zombies
# until they are waited for).
it_ch_exited() {
    local state
    state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
    [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}

# it_stop_clickhouse — SIGTERM to CH_PID, wait until it exited (SIGKILL after 60 s), forget
# the PID so the cleanup never signals a reused one.
it_stop_clickhouse() {
    [ -n "${CH_PID:-}" ] || return 0
    kill -TERM "$CH_PID" 2>/dev/null || true
    local i
    for i in $(seq 1 600); do
        it_ch_exited "$CH_PID" && break
        sleep 0.1
    done
    it_ch_exited "$CH_PID" || kill -KILL "$CH_PID" 2>/dev/null || true
    wait "$CH_PID" 2>/dev/null || true
    it_forget "$CH_PID"
    CH_PID=
}

# it_restart_clickhouse — the same server again: same ports, users and data.
it_restart_clickhouse() {
    [ -n "${CH_DIR:-}" ] || it_fail "it_restart_clickhouse: no server was started"
    it_stop_clickhouse
    it_ch_launch
}

# it_ch SQL — runs SQL as the writer and prints the answer (TabSeparated unless the SQL
# says FORMAT); fails the test with ClickHouse's message if it was refused.
it_ch() {
    local out code
    out=$(mktemp "$IT_WORK/ch.XXXXXX")
    code=$(curl -sS -o "$out" -w '%{http_code}' \
        -H "X-ClickHouse-User: $CH_WRITER_USER" -H "X-ClickHouse-Key: $CH_WRITER_PASSWORD" \
        --data-binary "$1" "$CH_URL/?wait_end_of_query=1") || code=000
    if [ "$code" != 200 ]; then
        local msg
        msg=$(head -c 500 "$out")
        rm -f "$out"
        it_fail "it_ch: HTTP $code for: $1: $msg"
    fi
    cat "$out"
    rm -f "$out"
}

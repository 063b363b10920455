#!/usr/bin/env bash
# clickhouse_config.sh BUILD_DIR — bad input to serviceradar-netflow-clickhouse:
#   - a bad config stops the writer with a message that names the file and the key (the
#     native-protocol URL of the PRD's example, an ack_wait too short for the batch, sizes
#     and durations out of range, retention that is not whole days, a database name that is
#     not an identifier, a file that does not exist or is not JSON);
#   - a wrong ClickHouse password or an unreachable NATS does not stop it: it reports the
#     side that is down (metrics and log) and keeps trying.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
NATS_URL=nats://127.0.0.1:1 CH_URL=http://127.0.0.1:1 CH_WRITER_USER=netflow_writer \
    CH_WRITER_PASSWORD=x it_writer_config "$IT_WORK"

# expect_refused WHAT FILE KEY — the writer with FILE must exit 1, naming FILE and KEY.
expect_refused() {
    local what=$1 file=$2 key=$3 rc=0 log=$1.log
    log=${log// /_}
    "$WRITER" -c "$file" >/dev/null 2>"$log" || rc=$?
    [ "$rc" = 1 ] || it_fail "$what: exit status $rc, expected 1: $(tail -2 "$log")"
    grep -qF -- "$file" "$log" || it_fail "$what: message does not name $file: $(cat "$log")"
    grep -qF -- "$key" "$log" || it_fail "$what: message does not name '$key': $(cat "$log")"
    it_note "$what: $(grep -o 'error.*' "$log" | head -1)"
}
# bad NAME JQ_FILTER KEY — a changed copy of the config must be refused naming KEY.
n=0
bad() {
    n=$((n + 1))
    jq "$2" netflow-clickhouse.json >"bad-$n.json"
    expect_refused "$1" "bad-$n.json" "$3"
}
bad "native protocol URL" '.clickhouse_url = "tcp://localhost:9000"' clickhouse_url
bad "URL without scheme" '.clickhouse_url = "localhost:8123"' clickhouse_url
bad "ack_wait too short" '.ack_wait = "5s" | .batch_interval = "1s" | .clickhouse_timeout = "10s"' ack_wait
bad "batch_size zero" '.batch_size = 0' batch_size
bad "batch_size above one block" '.batch_size = 2000000' batch_size
bad "batch_size not a number" '.batch_size = "lots"' batch_size
bad "retention in hours" '.retention = "36h"' retention
bad "retention bad duration" '.retention = "2 days"' retention
bad "database not an identifier" '.clickhouse_database = "netflow; DROP TABLE x"' clickhouse_database
bad "bad metrics address" '.metrics_addr = "everywhere"' metrics_addr
bad "security mode" '.security = {"mode": "tls-maybe"}' security
expect_refused "missing file" missing.json missing.json
printf '{"nats_url": "nats://127.0.0.1:4222",}\n' >broken.json
expect_refused "not JSON" broken.json broken.json

# A wrong password and no NATS: the writer runs, says what is down, and keeps trying.
it_start_clickhouse ch
NATS_URL=nats://127.0.0.1:1 CH_WRITER_PASSWORD=wrong it_writer_config "$IT_WORK"
it_start_writer "$IT_WORK"
it_wait_until "grep -q 'Wrong password\|Authentication failed' writer.log" 30 ||
    it_fail "no log line about the wrong password: $(tail -3 writer.log)"
it_wait_until "grep -q 'NATS' writer.log" 30 || it_fail "no log line about NATS: $(tail -3 writer.log)"
it_expect "clickhouse_up" "$(it_wm up)" 0
it_expect "nats_up" "$(it_wm nats_up)" 0
kill -0 "$WRITER_PID" || it_fail "the writer exited"
it_expect "no schema with a wrong password" \
    "$(it_ch "SELECT count() FROM system.databases WHERE name = 'netflow'")" 0
echo "PASS clickhouse_config (bad configs named by file and key; a wrong password and no NATS reported, not fatal)"

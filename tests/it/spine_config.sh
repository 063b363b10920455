#!/usr/bin/env bash
# spine_config.sh BUILD_DIR — bad input to the agent and the poller:
#   - a bad config stops the daemon with a message that names the file and the key
#     (poller.json, agent.json, a checker file in checkers_dir); a file in checkers_dir that
#     is another service's config is skipped with a warning; the checker refuses a gRPC port
#     another process holds;
#   - malformed gRPC requests (bytes that are not the message, a bad last_sequence) get
#     INVALID_ARGUMENT from the checker and from the agent, which keep serving.
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
it_certs certs
NATS_URL=nats://127.0.0.1:1 it_spine_configs "$IT_WORK" "$IT_WORK/certs"

# expect_refused WHAT LOG FILE KEY -- CMD... — CMD must exit 1, its log naming FILE and KEY.
expect_refused() {
    local what=$1 log=$2 file=$3 key=$4 rc=0
    shift 5
    "$@" >/dev/null 2>"$log" || rc=$?
    [ "$rc" = 1 ] || it_fail "$what: exit status $rc, expected 1: $(tail -2 "$log")"
    grep -qF -- "$file" "$log" || it_fail "$what: message does not name $file: $(cat "$log")"
    grep -qF -- "$key" "$log" || it_fail "$what: message does not name '$key': $(cat "$log")"
    it_note "$what: $(grep -o 'error.*' "$log" | head -1)"
}
# edit FILE JQ_FILTER OUT — a changed copy of a config.
edit() { jq "$2" "$1" >"$3"; }

# Poller.
edit poller.json '.poll_interval = "5x"' p1.json
expect_refused "poller: bad duration" p1.log p1.json poll_interval -- "$POLLER" -c p1.json
edit poller.json 'del(.agents["edge-1"].address)' p2.json
expect_refused "poller: agent without address" p2.log p2.json agents.edge-1.address -- \
    "$POLLER" -c p2.json
edit poller.json '.agents["edge-1"].checks[0].details = "nowhere"' p3.json
expect_refused "poller: bad check details" p3.log p3.json 'agents.edge-1.checks[0]' -- \
    "$POLLER" -c p3.json
edit poller.json '.nats_config.max_bytes = "10KiB"' p4.json
expect_refused "poller: stream too small" p4.log p4.json nats_config.max_bytes -- \
    "$POLLER" -c p4.json
edit poller.json '.agents = {}' p5.json
expect_refused "poller: no agents" p5.log p5.json agents -- "$POLLER" -c p5.json
expect_refused "poller: missing file" p6.log missing.json missing.json -- \
    "$POLLER" -c missing.json

# Agent.
edit agent.json '.listen_addr = "everywhere"' a1.json
expect_refused "agent: bad listen_addr" a1.log a1.json listen_addr -- "$AGENT" -c a1.json
edit agent.json '.checkers_dir = "/nonexistent/checkers"' a2.json
expect_refused "agent: missing checkers_dir" a2.log a2.json checkers_dir -- "$AGENT" -c a2.json
mkdir bad-json bad-addr
printf '{"grpc_listen_addr": "127.0.0.1:1",}\n' >bad-json/netflow.json
edit agent.json '.checkers_dir = "bad-json"' a3.json
expect_refused "agent: malformed checker file" a3.log bad-json/netflow.json ":1:" -- \
    "$AGENT" -c a3.json
printf '{"grpc_listen_addr": "port 50057"}\n' >bad-addr/netflow.json
edit agent.json '.checkers_dir = "bad-addr"' a4.json
expect_refused "agent: checker address not host:port" a4.log bad-addr/netflow.json \
    grpc_listen_addr -- "$AGENT" -c a4.json

# Another service's config in checkers_dir is skipped with a warning; the agent runs.
printf '{"service": "sysmon", "interval": "30s"}\n' >checkers/sysmon.json
it_start_checker_spine "$IT_WORK"
it_start_agent "$IT_WORK"
skipped='checkers/sysmon.json: no grpc_listen_addr or address: not a gRPC checker, skipped'
it_wait_until "grep -qF '$skipped' agent.log" 10 ||
    it_fail "no warning for the skipped file: $(cat agent.log)"

# The checker refuses a gRPC port in use (here: the agent's), naming the key.
jq --arg a "127.0.0.1:$AGENT_GRPC" --arg u "127.0.0.1:$(it_free_port udp)" \
    '.grpc_listen_addr = $a | .listen_addr = $u | .metrics_addr = ""' checkers/netflow.json >c1.json
expect_refused "checker: gRPC port in use" c1.log c1.json grpc_listen_addr -- "$CHECKER" -c c1.json

# Malformed requests, through the agent and straight to the checker.
js() {
    node "$IT_SRC/tests/js/grpc_client.js" --ca certs/root.pem --cert certs/poller.pem \
        --key certs/poller-key.pem --details "127.0.0.1:$CHECKER_GRPC" "$@"
}
for target in "agent $AGENT_GRPC" "checker $CHECKER_GRPC"; do
    set -- $target
    for method in GetStatus GetResults StreamResults; do
        # 0x0a 0xff: field 1 (service_name), length 255, and nothing after it.
        if js --addr "127.0.0.1:$2" --server-name "$1.serviceradar" raw \
            --method "/monitoring.AgentService/$method" --hex 0aff >raw.json; then
            it_fail "$1 $method accepted a truncated message: $(cat raw.json)"
        fi
        it_expect "$1 $method, truncated message: status" "$(jq .code raw.json)" 3
    done
    if js --addr "127.0.0.1:$2" --server-name "$1.serviceradar" results \
        --last-sequence -5 >bad.json; then
        it_fail "$1 accepted last_sequence -5: $(cat bad.json)"
    fi
    it_expect "$1 GetResults, last_sequence -5: status" "$(jq .code bad.json)" 3
done
js --addr "127.0.0.1:$AGENT_GRPC" --server-name agent.serviceradar status >status.json ||
    it_fail "the agent stopped serving: $(cat status.json)"
it_expect "still serving" "$(jq .available status.json)" true
kill -0 "$CHECKER_PID" && kill -0 "$AGENT_PID" || it_fail "a daemon died"
echo "PASS spine_config (bad configs named by file and key; malformed requests refused)"

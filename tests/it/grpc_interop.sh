#!/usr/bin/env bash
# grpc_interop.sh BUILD_DIR — an independent gRPC client (grpc-js, tests/js/grpc_client.js,
# with the .proto files) talks to the agent and the checker over mTLS:
#   - health, GetStatus and StreamResults through the agent return what flowgen sent;
#   - a client with no certificate, or with one from another CA, is refused by both;
#   - both speak TLS 1.3 only (openssl s_client).
source "$(dirname "$0")/lib.sh"
cd "$IT_WORK"
it_certs certs
"$IT_SRC/scripts/certs.sh" other poller >/dev/null # same names, another CA
NATS_URL=nats://127.0.0.1:1 it_spine_configs "$IT_WORK" "$IT_WORK/certs"
it_start_checker_spine "$IT_WORK"
it_start_agent "$IT_WORK"
agent=127.0.0.1:$AGENT_GRPC checker=127.0.0.1:$CHECKER_GRPC

# js TARGET NAME CALL [ARGS...] — the JS client with the poller's certificate, expecting the
# server to be NAME.serviceradar.
js() {
    local addr=$1 name=$2
    shift 2
    node "$IT_SRC/tests/js/grpc_client.js" --addr "$addr" --ca certs/root.pem \
        --cert certs/poller.pem --key certs/poller-key.pem --server-name "$name.serviceradar" \
        --details "$checker" "$@"
}

flows=5000
"$FLOWGEN" --target "127.0.0.1:$UDP_PORT" --flows "$flows" --rate 20000 --protocol mix \
    --exporters 3 --sampling 2 --ipv6-share 30 --quiet >sent.json
it_wait_metric "http://127.0.0.1:$CHECKER_METRICS_PORT/metrics" \
    netflow_checker_ring_appended_total "$flows"
sleep 1.2 # per-exporter counters in the status are published each second

for service in "" AgentService monitoring.AgentService; do
    js "$agent" agent health --service "$service" >health.json ||
        it_fail "health of '$service': $(cat health.json)"
    it_expect "agent health of '$service'" "$(jq -r .status health.json)" SERVING
done
if js "$agent" agent health --service no.such.Service >health.json; then
    it_fail "health of an unknown service answered: $(cat health.json)"
fi
it_expect "health of an unknown service" "$(jq .code health.json)" 5 # NOT_FOUND
js "$agent" agent status >status.json || it_fail "GetStatus: $(cat status.json)"
it_expect "GetStatus available" "$(jq .available status.json)" true
it_expect "GetStatus: records held" "$(jq .message.ring.held status.json)" "$flows"
it_expect "GetStatus: exporters" "$(jq '.message.exporters | length' status.json)" 3
js "$agent" agent stream >stream.json || it_fail "StreamResults: $(cat stream.json)"
it_expect "StreamResults: records" "$(jq .records stream.json)" "$flows"
it_expect "StreamResults: bytes" "$(jq -r .bytes stream.json)" "$(jq .bytes sent.json)"
it_expect "StreamResults: packets" "$(jq -r .packets stream.json)" "$(jq .packets sent.json)"
it_expect "StreamResults: consecutive sequences" "$(jq .consecutive stream.json)" true
it_expect "StreamResults: final chunk" "$(jq .final stream.json)" true
it_expect "StreamResults: current_sequence" "$(jq -r .current_sequence stream.json)" \
    "$(jq -r .last_seq stream.json)"
# GetResults pages through the same records: a batch of the checker's batch_size (1000)
# after last_sequence, current_sequence = its last record; nothing new at the end.
first=$(jq -r .first_seq stream.json) last=$(jq -r .last_seq stream.json)
js "$agent" agent results --last-sequence 0 >page1.json || it_fail "GetResults: $(cat page1.json)"
it_expect "GetResults: records" "$(jq .records page1.json)" 1000
it_expect "GetResults: first sequence" "$(jq -r .first_seq page1.json)" "$first"
it_expect "GetResults: current_sequence" "$(jq -r .current_sequence page1.json)" \
    "$(jq -r .last_seq page1.json)"
it_expect "GetResults: has_new_data" "$(jq .has_new_data page1.json)" true
js "$agent" agent results --last-sequence "$(jq -r .current_sequence page1.json)" >page2.json ||
    it_fail "GetResults page 2: $(cat page2.json)"
it_expect "GetResults page 2 follows page 1" "$(jq -r .first_seq page2.json)" \
    "$(( $(jq -r .last_seq page1.json) + 1 ))"
js "$agent" agent results --last-sequence "$last" >end.json || it_fail "GetResults at the end"
it_expect "GetResults at the end: records" "$(jq .records end.json)" 0
it_expect "GetResults at the end: has_new_data" "$(jq .has_new_data end.json)" false
it_expect "GetResults at the end: current_sequence" "$(jq -r .current_sequence end.json)" "$last"
if js "$agent" agent results --last-sequence not-a-number >bad.json; then
    it_fail "GetResults accepted a bad last_sequence: $(cat bad.json)"
fi
it_expect "GetResults with a bad last_sequence" "$(jq .code bad.json)" 3 # INVALID_ARGUMENT
# The checker answers the same client directly too.
js "$checker" checker status >status-direct.json || it_fail "checker GetStatus: $(cat status-direct.json)"
it_expect "checker GetStatus: records held" "$(jq .message.ring.held status-direct.json)" "$flows"

# Refusals: each must fail, on the agent and on the checker alike.
for target in "agent $agent" "checker $checker"; do
    set -- $target
    name=$1 addr=$2
    if node "$IT_SRC/tests/js/grpc_client.js" --addr "$addr" --ca certs/root.pem \
        --server-name "$name.serviceradar" --timeout-ms 5000 status >nocert.json; then
        it_fail "$name served a client without a certificate: $(cat nocert.json)"
    fi
    it_expect "$name, no client certificate: refused" "$(jq .ok nocert.json)" false
    if node "$IT_SRC/tests/js/grpc_client.js" --addr "$addr" --ca certs/root.pem \
        --cert other/poller.pem --key other/poller-key.pem --server-name "$name.serviceradar" \
        --timeout-ms 5000 status >othercert.json; then
        it_fail "$name served a client whose certificate is from another CA: $(cat othercert.json)"
    fi
    it_expect "$name, certificate of another CA: refused" "$(jq .ok othercert.json)" false
    if node "$IT_SRC/tests/js/grpc_client.js" --addr "$addr" --timeout-ms 5000 \
        status >plain.json; then
        it_fail "$name served a plaintext client: $(cat plain.json)"
    fi
    it_note "$name refused: no cert ($(jq -r .details nocert.json)); other CA ($(jq -r .details othercert.json))"
done
# TLS 1.3 only: a TLS 1.2 handshake with a valid client certificate fails, 1.3 succeeds.
for target in "agent $agent" "checker $checker"; do
    set -- $target
    for v in tls1_2 tls1_3; do
        # The exit status says little (the server drops a peer that sends no HTTP/2
        # preface, sometimes before s_client is done); the handshake summary says it all.
        timeout 10 openssl s_client -connect "$2" -"$v" -cert certs/poller.pem \
            -key certs/poller-key.pem -CAfile certs/root.pem -alpn h2 </dev/null \
            >"$1-$v.txt" 2>&1 || true
        if [ "$v" = tls1_2 ]; then
            grep -aq "^New, (NONE), Cipher is (NONE)" "$1-$v.txt" ||
                it_fail "$1 completed a TLS 1.2 handshake: $(grep -a Cipher "$1-$v.txt")"
        else
            grep -aq "^New, TLSv1.3, Cipher is TLS_" "$1-$v.txt" ||
                it_fail "$1: TLS 1.3 handshake failed: $(tail -3 "$1-$v.txt")"
        fi
    done
done
# ...and still serves the right client afterwards.
js "$agent" agent health >health2.json || it_fail "health after refusals: $(cat health2.json)"
echo "PASS grpc_interop (grpc-js: health, GetStatus, GetResults, StreamResults of $flows records via the agent; refused without a certificate and with another CA's)"

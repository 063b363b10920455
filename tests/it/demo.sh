#!/usr/bin/env bash
# demo.sh BUILD_DIR — the README's main command works: ./run.sh starts the checker and
# flowgen, prints decoded flows from all three export protocols, serves metrics, and stops
# cleanly on Ctrl-C (SIGINT) with the checker's totals.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
udp=$(it_free_port udp)
metrics=$(it_free_port tcp)
export NF_DEMO_PORT=$udp NF_DEMO_METRICS=127.0.0.1:$metrics NF_DEMO_RATE=300
# setsid: run.sh gets its own process group, so the SIGINT below reaches only it and its
# children, as a terminal's Ctrl-C would.
setsid "$root/run.sh" >"$IT_WORK/out.txt" 2>"$IT_WORK/err.txt" &
demo=$!
IT_PIDS+=("$demo")
it_wait_until '[ "$(grep -c " -> " "$IT_WORK/out.txt")" -ge 60 ]' 240 ||
    it_fail "no decoded flows printed: $(tail -5 "$IT_WORK/err.txt")"
for proto in v5 v9 ipfix; do
    it_wait_until "grep -q ' $proto ' '$IT_WORK/out.txt'" 30 || it_fail "no $proto flow printed"
done
curl -fsS "http://127.0.0.1:$metrics/metrics" | grep -q '^netflow_checker_flows_decoded_total [1-9]' ||
    it_fail "metrics not served"
kill -INT -- "-$demo"
wait "$demo" || true
grep -q "stopping" "$IT_WORK/err.txt" || it_fail "the checker did not stop cleanly: $(tail -3 "$IT_WORK/err.txt")"
grep -q "decode_errors=0" "$IT_WORK/err.txt" || it_fail "decode errors in the demo"
echo "PASS demo ($(grep -c ' -> ' "$IT_WORK/out.txt") flows printed)"

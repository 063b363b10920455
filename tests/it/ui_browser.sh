#!/usr/bin/env bash
# ui_browser.sh BUILD_DIR — the web UI in a real browser (Debian's chromium, headless, driven
# by playwright-core from tests/js) against the whole stack of ./run.sh with flowgen traffic
# of known totals (NF_DEMO_FLOWS): once ClickHouse and the Iceberg table hold every flow (the
# numbers no longer move), tests/js/ui_test.mjs logs in, opens every view, checks the cards
# show exactly what flowgen sent, compares every number shown with the API's, applies and removes filters, follows a link that holds
# the view's state, downloads CSVs and checks their rows, and finally stops the core to see
# the error state. Screenshots go to BUILD_DIR/ui-artifacts (ignored by git).
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
[ -x /usr/bin/chromium ] || it_fail "chromium is missing (scripts/setup.sh installs it)"
[ -d "$root/tests/js/node_modules/playwright-core" ] || it_fail "tests/js has no playwright-core (scripts/setup.sh)"
mapfile -t ports < <(it_free_port tcp 14)
export NF_DEMO_PORT=$(it_free_port udp) NF_DEMO_CHECKER_GRPC=${ports[0]}
export NF_DEMO_AGENT_GRPC=${ports[1]} NF_DEMO_NATS_PORT=${ports[2]} NF_DEMO_NATS_MONITOR=${ports[3]}
export NF_DEMO_METRICS=127.0.0.1:${ports[4]} NF_DEMO_AGENT_METRICS=${ports[5]}
export NF_DEMO_POLLER_METRICS=${ports[6]} NF_DEMO_CH_HTTP=${ports[7]} NF_DEMO_CH_TCP=${ports[8]}
export NF_DEMO_WRITER_METRICS=${ports[9]} NF_DEMO_STATE=$IT_WORK/state
export NF_DEMO_FLOWS=20000 NF_DEMO_RATE=2000 NF_DEMO_SEED=5 # known totals, then quiet
export NF_DEMO_PQ_METRICS=${ports[10]} NF_DEMO_CATALOG=${ports[11]}
export NF_DEMO_CATALOG_METRICS=${ports[12]} NF_DEMO_CORE=${ports[13]}
setsid "$root/run.sh" >"$IT_WORK/out.txt" 2>"$IT_WORK/err.txt" &
demo=$!
IT_PIDS+=("$demo")
state=$IT_WORK/state
it_wait_until "[ -s '$state/flowgen.json' ]" 300 ||
    it_fail "the stack did not run flowgen to its end: $(tail -5 "$IT_WORK/err.txt")"
[ -f "$root/web/dist/index.html" ] || it_fail "web/dist was not built by setup.sh"
# Then until both tiers hold every flow: ClickHouse's count stops moving and the Iceberg
# table's total equals it.
reader_pw=$(sed -n 's/^reader=//p' "$state/clickhouse/passwords")
ch_count() {
    curl -fsS -H "X-ClickHouse-User: netflow_reader" -H "X-ClickHouse-Key: $reader_pw" \
        "http://127.0.0.1:$NF_DEMO_CH_HTTP/" --data-binary "SELECT count() FROM netflow.netflow"
}
ice_count() {
    curl -fsS --cacert "$state/certs/root.pem" --cert "$state/certs/core.pem" --key "$state/certs/core-key.pem" \
        "https://127.0.0.1:$NF_DEMO_CATALOG/v1/namespaces/default/tables/netflow" |
        jq -r '.metadata as $m | [$m.snapshots[]? | select(.["snapshot-id"] == $m["current-snapshot-id"]) |
               .summary["total-records"] | tonumber] | add // 0'
}
settled() {
    local a b
    a=$(ch_count) && sleep 2 && b=$(ch_count) && [ "$a" = "$b" ] && [ "$(ice_count)" = "$b" ]
}
it_wait_until settled 120 || it_fail "the tiers did not settle: ClickHouse $(ch_count), Iceberg $(ice_count)"
echo "stack settled: $(ch_count) flows in both tiers"
pw=$(cat "$state/core/admin-password")
artifacts=$IT_BUILD/ui-artifacts
rm -rf "$artifacts" && mkdir -p "$artifacts"
[ "$(ch_count)" = "$(jq .flows "$state/flowgen.json")" ] ||
    it_fail "ClickHouse holds $(ch_count) flows, flowgen sent $(jq .flows "$state/flowgen.json")"
# The cards must show exactly what flowgen sent (sampling 1: scaled = as sent).
export EXPECT_FLOWS EXPECT_PACKETS EXPECT_BYTES
EXPECT_FLOWS=$(jq .flows "$state/flowgen.json") EXPECT_PACKETS=$(jq .packets "$state/flowgen.json")
EXPECT_BYTES=$(jq .bytes "$state/flowgen.json")
node "$root/tests/js/ui_test.mjs" "http://127.0.0.1:$NF_DEMO_CORE" admin "$pw" "$artifacts" \
    "$(cat "$state/run/core.pid")" || it_fail "browser test failed (screenshots in $artifacts)"
kill -INT -- "-$demo"
wait "$demo" || true
echo "PASS ui_browser (screenshots in $artifacts)"

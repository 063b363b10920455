#!/usr/bin/env bash
# e2e.sh BUILD_DIR — the whole system end to end with known totals, through ./run.sh (every
# daemon, mTLS, generated certificates and configs):
#   1. flowgen sends exactly N flows (NF_DEMO_FLOWS; v5, v9 and IPFIX from three exporters)
#      and prints its exact totals per exporter;
#   2. a real exporter: softflowd (Debian) reads a packet capture written by trafficgen
#      (known flows, packets, bytes) and exports NetFlow v9 into the same checker;
#   3. once both tiers hold everything, the API's numbers are exact, per exporter, for flows,
#      packets and bytes: /api/netflow/realtime (ClickHouse), /api/netflow/historical
#      (Iceberg) and /api/netflow over three days (stitched) — each equal to what was sent;
#      the pipeline status shows nothing dropped anywhere.
# The browser's numbers against known totals are it_ui_browser's.
source "$(dirname "$0")/lib.sh"
root=$(cd "$(dirname "$0")/../.." && pwd)
command -v softflowd >/dev/null || it_fail "softflowd missing (run scripts/setup.sh)"
flows=60000
mapfile -t ports < <(it_free_port tcp 14)
export NF_DEMO_PORT=$(it_free_port udp) NF_DEMO_CHECKER_GRPC=${ports[0]}
export NF_DEMO_AGENT_GRPC=${ports[1]} NF_DEMO_NATS_PORT=${ports[2]} NF_DEMO_NATS_MONITOR=${ports[3]}
export NF_DEMO_METRICS=127.0.0.1:${ports[4]} NF_DEMO_AGENT_METRICS=${ports[5]}
export NF_DEMO_POLLER_METRICS=${ports[6]} NF_DEMO_CH_HTTP=${ports[7]} NF_DEMO_CH_TCP=${ports[8]}
export NF_DEMO_WRITER_METRICS=${ports[9]} NF_DEMO_STATE=$IT_WORK/state
export NF_DEMO_PQ_METRICS=${ports[10]} NF_DEMO_CATALOG=${ports[11]}
export NF_DEMO_CATALOG_METRICS=${ports[12]} NF_DEMO_CORE=${ports[13]}
export NF_DEMO_FLOWS=$flows NF_DEMO_RATE=10000 NF_DEMO_SEED=11
state=$IT_WORK/state
cd "$IT_WORK"
"$IT_BUILD/tests/tools/trafficgen" traffic.pcap 300 5 truth.tsv >softflowd-truth.json ||
    it_fail "trafficgen failed"
setsid "$root/run.sh" >out.txt 2>err.txt &
demo=$!
IT_PIDS+=("$demo")
it_wait_until "[ -s '$state/flowgen.json' ]" 300 ||
    it_fail "flowgen did not finish: $(tail -5 err.txt)"
it_expect "flowgen flows sent" "$(jq .flows "$state/flowgen.json")" "$flows"
it_expect "flowgen send errors" "$(jq .send_errors "$state/flowgen.json")" 0
softflowd -r traffic.pcap -n "127.0.0.1:$NF_DEMO_PORT" -v 9 -a -d >softflowd.log 2>&1 ||
    it_fail "softflowd failed: $(tail -3 softflowd.log)"

# want.tsv: exporter, flows, packets, bytes — flowgen's exporters and softflowd's (127.0.0.1)
{
    jq -r '.exporters[] | [.address, .flows, .packets, .bytes] | @tsv' "$state/flowgen.json"
    jq -r '["127.0.0.1", .flows, .packets, .bytes] | @tsv' softflowd-truth.json
} | sort >want.tsv
total=$(awk '{ n += $2 } END { print n }' want.tsv)

pw=$(cat "$state/core/admin-password")
core="http://127.0.0.1:$NF_DEMO_CORE"
token=$(jq -n --arg p "$pw" '{username: "admin", password: $p}' |
    curl -fsS --data-binary @- "$core/auth/login" | jq -r .access_token) || it_fail "login"
# got ROUTE RANGE — exporter, flows, packets, bytes as the core answers (unscaled: sampling
# is 1 everywhere, checked below with the scaled default)
got() {
    local m
    for m in flows packets bytes; do
        curl -fsS -H "Authorization: Bearer $token" \
            "$core/api/netflow$1?$2&group_by=exporter&metric=$m&unscaled=true&limit=100" |
            jq -r --arg m "$m" '.results[] | [.exporter, .[$m]] | @tsv' | sort >"got-$m.tsv" ||
            return 1
    done
    join -t $'\t' got-flows.tsv got-packets.tsv | join -t $'\t' - got-bytes.tsv
}
now=$(date +%s)
range="start=$((now - 3600))&end=$((now + 600))"
it_wait_until "[ \"\$(got /realtime '$range' | awk '{ n += \$2 } END { print n + 0 }')\" = $total ]" 120 ||
    it_fail "ClickHouse holds $(got /realtime "$range" | awk '{ n += $2 } END { print n + 0 }') of $total flows: $(tail -3 "$state/writer.log")"
it_expect "realtime per exporter" "$(got /realtime "$range")" "$(cat want.tsv)"
it_wait_until "[ \"\$(got /historical '$range' | awk '{ n += \$2 } END { print n + 0 }')\" = $total ]" 120 ||
    it_fail "Iceberg holds $(got /historical "$range" | awk '{ n += $2 } END { print n + 0 }') of $total flows: $(tail -3 "$state/parquet.log")"
it_expect "historical per exporter" "$(got /historical "$range")" "$(cat want.tsv)"
long="start=$((now - 3 * 86400))&end=$((now + 600))"
it_expect "auto (stitched) per exporter" "$(got "" "$long")" "$(cat want.tsv)"
backend=$(curl -fsS -H "Authorization: Bearer $token" "$core/api/netflow?$long&group_by=exporter" | jq -r .backend)
it_expect "three days: both tiers" "$backend" both
scaled=$(curl -fsS -H "Authorization: Bearer $token" \
    "$core/api/netflow/realtime?$range&group_by=protocol&metric=bytes&limit=300" | jq '[.results[].bytes] | add')
it_expect "scaled bytes (sampling 1)" "$scaled" "$(awk '{ n += $4 } END { print n }' want.tsv)"
status=$(curl -fsS -H "Authorization: Bearer $token" "$core/api/netflow/status")
it_expect "nothing dropped at any hop" "$(jq .dropped_total <<<"$status")" 0
it_expect "checker decoded" "$(jq '.hops[] | select(.role == "checker") | .decoded' <<<"$status")" "$total"
kill -INT -- "-$demo"
wait "$demo" || true
echo "PASS e2e ($total flows — flowgen v5/v9/IPFIX and softflowd v9 — exact per exporter in ClickHouse, Iceberg and stitched answers)"

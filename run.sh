#!/usr/bin/env bash
# run.sh — the main job: the whole system on this machine with demo traffic. Every hop
# between our components is mutual TLS (checker ⇄ agent ⇄ poller over gRPC, NATS, the
# Iceberg REST catalog); ClickHouse and the core's own HTTP port are plain HTTP on loopback
# (a browser would not trust the demo's CA):
#
#   flowgen ──UDP──▶ netflow-checker ──gRPC──▶ agent ──gRPC──▶ poller ──▶ NATS JetStream
#   (NetFlow v5, v9, IPFIX from              (AgentService)         (stream NETFLOW,
#    three simulated exporters)                                      subject netflow.raw)
#                                                                          │
#                                  ClickHouse (netflow.*) ◀── netflow-clickhouse writer
#                                                                          │
#        Iceberg table default.netflow (Parquet) ◀── netflow-parquet writer ┘
#                    ▲ commits through iceberg-catalog (REST over mTLS, SQLite)
#
#        serviceradar-core (http://127.0.0.1:8090): the web UI and /api/netflow (answers from
#        both tiers), login with the credentials it prints; /api/netflow/status reads every
#        daemon's metrics
#
# serviceradar-flowtail reads the stream back and prints one line per flow as it arrives in
# JetStream; every 10 s a line says how many flows ClickHouse and the Iceberg table hold and
# the top talkers (asked of the core's API), and what the pipeline dropped and how far each
# writer lags (the core's /api/netflow/status).
# Ctrl-C stops everything and prints what the checker received, what came out of the stream
# and what ClickHouse stored.
#
#   ./run.sh
#   NF_DEMO_RATE=2000 ./run.sh           flows per second (default 20)
#   NF_DEMO_FLOWS=100000 ./run.sh        exactly that many flows (seed NF_DEMO_SEED, default 1),
#                                        totals in $state/flowgen.json; the stack keeps running
#
# Ports (all on 127.0.0.1, each overridable): NetFlow UDP NF_DEMO_PORT=2055, checker gRPC
# NF_DEMO_CHECKER_GRPC=50057, agent gRPC NF_DEMO_AGENT_GRPC=50051, NATS NF_DEMO_NATS_PORT=4222
# (monitoring NF_DEMO_NATS_MONITOR=8222), ClickHouse HTTP NF_DEMO_CH_HTTP=8123 and native
# NF_DEMO_CH_TCP=9000, metrics: checker NF_DEMO_METRICS=127.0.0.1:9191, agent
# NF_DEMO_AGENT_METRICS=9193, poller NF_DEMO_POLLER_METRICS=9194, writer
# NF_DEMO_WRITER_METRICS=9195, Parquet writer NF_DEMO_PQ_METRICS=9196, Iceberg REST catalog
# NF_DEMO_CATALOG=8181 (metrics NF_DEMO_CATALOG_METRICS=9197), core NF_DEMO_CORE=8090.
# ClickHouse's users and their passwords are in $state/clickhouse/passwords; the core's
# login (user admin) in $state/core/admin-password.
# State (configs, certificates, logs, JetStream data, cursors) lives in NF_DEMO_STATE
# (default .run/) and is reused by the next run.
set -euo pipefail
cd "$(dirname "$0")"

scripts/setup.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j"$(nproc)" --target serviceradar-netflow-checker \
    serviceradar-agent serviceradar-poller serviceradar-flowtail serviceradar-flowgen \
    serviceradar-netflow-clickhouse serviceradar-iceberg-catalog serviceradar-netflow-parquet \
    serviceradar-core icetool >/dev/null

udp=${NF_DEMO_PORT:-2055}
checker_grpc=${NF_DEMO_CHECKER_GRPC:-50057}
agent_grpc=${NF_DEMO_AGENT_GRPC:-50051}
nats_port=${NF_DEMO_NATS_PORT:-4222}
nats_monitor=${NF_DEMO_NATS_MONITOR:-8222}
checker_metrics=${NF_DEMO_METRICS:-127.0.0.1:9191}
agent_metrics=127.0.0.1:${NF_DEMO_AGENT_METRICS:-9193}
poller_metrics=127.0.0.1:${NF_DEMO_POLLER_METRICS:-9194}
writer_metrics=127.0.0.1:${NF_DEMO_WRITER_METRICS:-9195}
pq_metrics=127.0.0.1:${NF_DEMO_PQ_METRICS:-9196}
catalog_port=${NF_DEMO_CATALOG:-8181}
catalog_metrics=127.0.0.1:${NF_DEMO_CATALOG_METRICS:-9197}
core_port=${NF_DEMO_CORE:-8090}
ch_http=${NF_DEMO_CH_HTTP:-8123}
ch_tcp=${NF_DEMO_CH_TCP:-9000}
rate=${NF_DEMO_RATE:-20}
state=$(mkdir -p "${NF_DEMO_STATE:-.run}" && cd "${NF_DEMO_STATE:-.run}" && pwd)
certs=$state/certs
mkdir -p "$state/checkers" "$state/poller" "$state/nats" "$state/clickhouse" "$state/iceberg" \
    "$state/core"
scripts/certs.sh "$certs" checker agent poller nats clickhouse-writer catalog core >/dev/null
# ClickHouse passwords: made once, kept with the data (users.xml stores only their hashes).
if [ ! -f "$state/clickhouse/passwords" ]; then
    (umask 077 && printf 'writer=%s\nreader=%s\n' "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" \
        "$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')" >"$state/clickhouse/passwords")
fi
ch_writer_pw=$(sed -n 's/^writer=//p' "$state/clickhouse/passwords")
ch_reader_pw=$(sed -n 's/^reader=//p' "$state/clickhouse/passwords")
scripts/clickhouse-config.sh "$state/clickhouse" "$ch_http" "$ch_tcp" "$ch_writer_pw" \
    "$ch_reader_pw" >/dev/null

# security COMPONENT NAME — a ServiceRadar mTLS block with COMPONENT's certificate; NAME is
# the server's name: the peer's for a client, its own for a server (the agent dials the
# checker under the name in the checker's config, as ServiceRadar does).
security() {
    printf '{"mode": "mtls", "cert_dir": "%s", "server_name": "%s.serviceradar", "role": "%s", "tls": {"cert_file": "%s.pem", "key_file": "%s-key.pem", "ca_file": "root.pem"}}' \
        "$certs" "$2" "$1" "$1" "$1"
}

sed -e "s|@NATS_SERVER_NAME@|nats-demo|" -e "s|@NATS_HOST@|127.0.0.1|" \
    -e "s|@NATS_PORT@|$nats_port|" -e "s|@NATS_STORE_DIR@|$state/nats/js|" \
    -e "s|@NATS_MONITOR@|127.0.0.1:$nats_monitor|" \
    -e "s|@NATS_CERT_FILE@|$certs/nats.pem|" -e "s|@NATS_KEY_FILE@|$certs/nats-key.pem|" \
    -e "s|@NATS_CA_FILE@|$certs/root.pem|" etc/nats-server.conf.in >"$state/nats/nats.conf"

cat >"$state/checkers/netflow.json" <<JSON
{
  "listen_addr": "127.0.0.1:$udp",
  "grpc_listen_addr": "127.0.0.1:$checker_grpc",
  "retention_time": "1h",
  "max_records": 100000,
  "state_file": "$state/netflow-checker.state",
  "metrics_addr": "$checker_metrics",
  "security": $(security checker checker)
}
JSON
cat >"$state/agent.json" <<JSON
{
  "agent_id": "demo-agent",
  "listen_addr": "127.0.0.1:$agent_grpc",
  "checkers_dir": "$state/checkers",
  "metrics_addr": "$agent_metrics",
  "security": $(security agent agent)
}
JSON
cat >"$state/poller.json" <<JSON
{
  "poller_id": "demo-poller",
  "agents": {"demo-agent": {"address": "127.0.0.1:$agent_grpc",
             "checks": [{"service_type": "netflow", "service_name": "netflow",
                         "details": "127.0.0.1:$checker_grpc"}]}},
  "poll_interval": "500ms",
  "state_dir": "$state/poller",
  "metrics_addr": "$poller_metrics",
  "security": $(security poller agent),
  "nats_config": {
    "url": "tls://127.0.0.1:$nats_port",
    "security": $(security poller nats),
    "batch_size": 1000,
    "batch_interval": "1s",
    "consumers": "flowtail,clickhouse,parquet"
  }
}
JSON
cat >"$state/netflow-clickhouse.json" <<JSON
{
  "nats_url": "tls://127.0.0.1:$nats_port",
  "security": $(security clickhouse-writer nats),
  "clickhouse_url": "http://127.0.0.1:$ch_http",
  "clickhouse_user": "netflow_writer",
  "clickhouse_password": "$ch_writer_pw",
  "batch_size": 10000,
  "batch_interval": "1s",
  "metrics_addr": "$writer_metrics"
}
JSON
cat >"$state/iceberg-catalog.json" <<JSON
{
  "listen_addr": "127.0.0.1:$catalog_port",
  "warehouse": "file://$state/iceberg",
  "database": "$state/iceberg-catalog.db",
  "metrics_addr": "$catalog_metrics",
  "security": $(security catalog catalog)
}
JSON
# Commits every 30 s (or 500 000 flows); maintenance (compaction of closed days, retention,
# snapshot expiry) hourly.
cat >"$state/netflow-parquet.json" <<JSON
{
  "nats_url": "tls://127.0.0.1:$nats_port",
  "security": $(security clickhouse-writer nats),
  "iceberg_catalog": "https://127.0.0.1:$catalog_port",
  "iceberg_table": "default.netflow",
  "batch_interval": "30s",
  "metrics_addr": "$pq_metrics"
}
JSON

# The core's login: a password and a token secret made once, kept with the state; core.json
# holds only the password's bcrypt hash.
if [ ! -f "$state/core/admin-password" ]; then
    (umask 077 && od -An -N9 -tx1 /dev/urandom | tr -d ' \n' >"$state/core/admin-password" &&
        od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$state/core/jwt-secret")
fi
admin_pw=$(cat "$state/core/admin-password")
admin_hash=$(build/release/cmd/core/serviceradar-core --hash-password <"$state/core/admin-password")
static_dir=""
[ -f web/dist/index.html ] && static_dir=$PWD/web/dist
(umask 077 && cat >"$state/core/core.json" <<JSON
{
  "listen_addr": "127.0.0.1:$core_port",
  "netflow": {
    "clickhouse_url": "http://127.0.0.1:$ch_http",
    "clickhouse_user": "netflow_reader",
    "clickhouse_password": "$ch_reader_pw",
    "iceberg_catalog": "https://127.0.0.1:$catalog_port",
    "iceberg_table": "default.netflow",
    "iceberg_security": $(security core catalog)
  },
  "auth": {
    "enabled": true,
    "jwt_secret": "$(cat "$state/core/jwt-secret")",
    "local_users": {"admin": "$admin_hash"}
  },
  "status": {
    "sources": {
      "checker": {"role": "checker", "url": "http://$checker_metrics/metrics"},
      "agent": {"role": "agent", "url": "http://$agent_metrics/metrics"},
      "poller": {"role": "poller", "url": "http://$poller_metrics/metrics"},
      "clickhouse-writer": {"role": "clickhouse_writer", "url": "http://$writer_metrics/metrics"},
      "parquet-writer": {"role": "parquet_writer", "url": "http://$pq_metrics/metrics"},
      "iceberg-catalog": {"role": "iceberg_catalog", "url": "http://$catalog_metrics/metrics"}
    }
  },
  "static_dir": "$static_dir"
}
JSON
)

bin=build/release/cmd
pids=()
stored=
cold=
stop() {
    trap - INT TERM EXIT
    # In reverse start order: the traffic first, NATS last, so each hop can finish what it
    # holds.
    local i
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    echo "--- totals (logs in $state/*.log)" >&2
    grep -h "flows=" "$state/checker.log" 2>/dev/null | tail -1 >&2 || true
    grep -h "records printed" "$state/flowtail.log" 2>/dev/null | tail -1 >&2 || true
    [ -n "$stored" ] && echo "clickhouse: $stored flows stored in netflow.netflow" >&2 || true
    [ -n "$cold" ] && echo "iceberg: $cold flows committed to default.netflow ($state/iceberg/default/netflow)" >&2 || true
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# start NAME CMD... — a component in the background, its stderr in $state/NAME.log, its PID
# in $state/run/NAME.pid (for scripts and tests that stop one component).
mkdir -p "$state/run"
start() {
    local name=$1
    shift
    "$@" 2>>"$state/$name.log" &
    pids+=($!)
    echo "$!" >"$state/run/$name.pid"
}
# wait_ready NAME URL [TENTHS] — until URL answers (10 s), else show the component's log
# and stop.
wait_ready() {
    local i
    for i in $(seq 1 "${3:-100}"); do
        curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "run.sh: $1 did not start; the end of $state/$1.log:" >&2
    tail -5 "$state/$1.log" >&2
    exit 1
}

start nats nats-server -c "$state/nats/nats.conf"
wait_ready nats "http://127.0.0.1:$nats_monitor/healthz?js-enabled-only=true"
start clickhouse clickhouse-server --config-file="$state/clickhouse/config.xml"
wait_ready clickhouse "http://127.0.0.1:$ch_http/ping" 600
start catalog "$bin/iceberg-catalog/serviceradar-iceberg-catalog" -c "$state/iceberg-catalog.json"
wait_ready catalog "http://$catalog_metrics/metrics"
start checker "$bin/netflow-checker/serviceradar-netflow-checker" -c "$state/checkers/netflow.json"
wait_ready checker "http://$checker_metrics/metrics"
start agent "$bin/agent/serviceradar-agent" -c "$state/agent.json"
wait_ready agent "http://$agent_metrics/metrics"
start poller "$bin/poller/serviceradar-poller" -c "$state/poller.json"
wait_ready poller "http://$poller_metrics/metrics"
start writer "$bin/netflow-clickhouse/serviceradar-netflow-clickhouse" \
    -c "$state/netflow-clickhouse.json"
wait_ready writer "http://$writer_metrics/metrics"
start parquet "$bin/netflow-parquet/serviceradar-netflow-parquet" -c "$state/netflow-parquet.json"
wait_ready parquet "http://$pq_metrics/metrics"
start core "$bin/core/serviceradar-core" -c "$state/core/core.json"
wait_ready core "http://127.0.0.1:$core_port/healthz"

cat >&2 <<EOF
nats-server  tls://127.0.0.1:$nats_port (monitoring http://127.0.0.1:$nats_monitor/jsz)
checker      NetFlow on UDP 127.0.0.1:$udp, gRPC 127.0.0.1:$checker_grpc, http://$checker_metrics/metrics
agent        gRPC 127.0.0.1:$agent_grpc, http://$agent_metrics/metrics
poller       → stream NETFLOW, subject netflow.raw, http://$poller_metrics/metrics
writer       → ClickHouse http://127.0.0.1:$ch_http database netflow, http://$writer_metrics/metrics
               (query it: curl -H 'X-ClickHouse-User: netflow_reader' -H "X-ClickHouse-Key: \$(sed -n 's/^reader=//p' $state/clickhouse/passwords)" http://127.0.0.1:$ch_http/ --data-binary 'SELECT src_ip, sum(bytes) FROM netflow.netflow GROUP BY src_ip ORDER BY 2 DESC LIMIT 10')
catalog      Iceberg REST catalog https://127.0.0.1:$catalog_port/v1/namespaces/default/tables/netflow
               (client certificates required: curl --cacert $certs/root.pem --cert $certs/core.pem --key $certs/core-key.pem …)
parquet      → Iceberg table default.netflow in $state/iceberg/default/netflow (commits every 30 s),
               http://$pq_metrics/metrics
core         http://127.0.0.1:$core_port  (user admin, password $admin_pw)
               web UI: open http://127.0.0.1:$core_port/ and log in with that user and password
               e.g. curl -H "Authorization: Bearer \$token" 'http://127.0.0.1:$core_port/api/netflow?time_range=last_15m&group_by=src_ip'
               after token=\$(curl -s -d '{"username":"admin","password":"$admin_pw"}' http://127.0.0.1:$core_port/auth/login | jq -r .access_token)
flowgen      $rate flows/s from 3 exporters (127.0.0.10 v5, .11 v9, .12 IPFIX)
Each line below is a flow read back from JetStream (batches leave the poller every second
or every 1000 records). Ctrl-C stops everything.
EOF
# One readable line per flow: time, protocol, endpoints, counters, exporter, agent:sequence.
start flowtail "$bin/flowtail/serviceradar-flowtail" -c "$state/poller.json" > >(
    jq -r --unbuffered '
      def proto: {"1":"ICMP","6":"TCP","17":"UDP","58":"ICMPv6"}[(.protocol|tostring)]
                 // (.protocol|tostring);
      def ep(a; p): if (a|test(":")) then "[\(a)]:\(p)" else "\(a):\(p)" end;
      "\(.last_ms/1000|strftime("%H:%M:%S")) \(.flow_type|.+"     "|.[0:5]) " +
      "\(ep(.src_addr; .src_port)) -> \(ep(.dst_addr; .dst_port)) \(proto) " +
      "\(.packets) pkts \(.bytes) B  1:\(.sampling_rate)  from \(.exporter)  " +
      "\(.agent_id):\(.sequence)"')
# NF_DEMO_FLOWS=N: exactly N flows (seed NF_DEMO_SEED), then the stack keeps running with
# what it received; flowgen's exact totals (per exporter) land in $state/flowgen.json.
flowgen_args=(--target "127.0.0.1:$udp" --protocol mix --exporters 3 --rate "$rate" --sampling 1
    --ipv6-share 20 --start-time "$(date +%s000)" --quiet)
[ -n "${NF_DEMO_FLOWS:-}" ] && flowgen_args+=(--flows "$NF_DEMO_FLOWS" --seed "${NF_DEMO_SEED:-1}")
start flowgen "$bin/flowgen/serviceradar-flowgen" "${flowgen_args[@]}" >"$state/flowgen.json"

# api PATH — GET from the core with a fresh token (the demo's lines use the API a UI uses).
token=
api() {
    local out
    if [ -z "$token" ]; then
        token=$(jq -n --arg p "$admin_pw" '{username: "admin", password: $p}' |
            curl -fsS --data-binary @- "http://127.0.0.1:$core_port/auth/login" 2>/dev/null |
            jq -r .access_token) || return 1
    fi
    out=$(curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$core_port$1" 2>/dev/null) ||
        { token=; return 1; }
    printf '%s' "$out"
}
declare -A reported=()
while :; do # until Ctrl-C (the trap stops everything)
    sleep 10
    # A component that died is named once (the others keep running: Ctrl-C stops them). When
    # none is left (they all got the signal: a SIGINT to the process group reaches them even
    # where this shell ignores it, as a background job does), this script ends too.
    alive=0
    for f in "$state"/run/*.pid; do
        name=$(basename "$f" .pid)
        [ "$name" = flowgen ] && [ -n "${NF_DEMO_FLOWS:-}" ] && continue # done sending
        kill -0 "$(cat "$f")" 2>/dev/null && alive=$((alive + 1))
        if [ -z "${reported[$name]:-}" ] && ! kill -0 "$(cat "$f")" 2>/dev/null; then
            echo "run.sh: $name exited; the end of $state/$name.log:" >&2
            tail -3 "$state/$name.log" >&2 || true
            reported[$name]=1
        fi
    done
    [ "$alive" -gt 0 ] || break
    ans=$(api "/api/netflow/realtime?time_range=last_15m&group_by=src_ip&limit=3") || continue
    top=$(jq -r '[.results[] | [.[]] | "\(.[0]) \(.[1]) B"] | join(", ")' <<<"$ans")
    now=$(date +%s) # what the hot tier holds: its last 47 hours
    stored=$(api "/api/netflow/realtime?start=$((now - 47 * 3600))&end=$((now + 60))&group_by=protocol&metric=flows" |
        jq -r '[.results[] | [.[]][1]] | add // 0' 2>/dev/null) || stored=
    echo "clickhouse: ${stored:-?} flows stored; top sources, last 15 min: ${top:-none yet}" >&2
    cold=$(curl -fsS --cacert "$certs/root.pem" --cert "$certs/core.pem" --key "$certs/core-key.pem" \
        "https://127.0.0.1:$catalog_port/v1/namespaces/default/tables/netflow" 2>/dev/null |
        jq -r '.metadata as $m | [$m.snapshots[]? | select(.["snapshot-id"] == $m["current-snapshot-id"]) |
               .summary["total-records"] | tonumber] | add // 0') || continue
    echo "iceberg: $cold flows committed to default.netflow" >&2
    st=$(api /api/netflow/status) || continue
    jq -r '"pipeline: dropped \(.dropped_total); " + ([.hops[] | select(.lag) |
           "\(.name) lag \(.lag.pending_messages) msgs"] | join(", ")) +
           "; down: " + ([.hops[] | select(.up | not) | .name] | join(",") | if . == "" then "none" else . end)' \
        <<<"$st" >&2
done

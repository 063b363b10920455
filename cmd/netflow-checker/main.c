/* serviceradar-netflow-checker — receives NetFlow v5/v9/IPFIX on UDP, decodes it, keeps the
 * records in a sequenced in-memory ring and serves them to the agent over gRPC
 * (monitoring.AgentService: GetStatus, GetResults, StreamResults; mTLS per "security").
 *
 *   serviceradar-netflow-checker [-c FILE] [--print] [--help-config]
 *
 * -c FILE        config (default /etc/serviceradar/checkers/netflow.json; a missing default
 *                file means built-in defaults, a missing -c file is an error)
 * --print        follow the ring and print every flow as a JSON line on stdout, plus a
 *                status line every 10 s on stderr (the demo uses this)
 * --help-config  list every config key with its default and meaning
 *
 * Wiring only: config → log level → ring → collector → gRPC service → metrics endpoint →
 * loop → shutdown. SIGINT/SIGTERM stop it cleanly: gRPC calls are cancelled, workers finish
 * their batch, the state file is written.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/daemon.h"
#include "base/log.h"
#include "collector/checker_service.h"
#include "collector/collector.h"
#include "flow/flow_json.h"
#include "metrics/metrics.h"
#include "ring/ring.h"

#define COMP "checker"
#define PRINT_BATCH 1024
#define STATUS_EVERY_MS 10000

typedef struct checker {
    nf_collector *collector;
    nf_checker_service *service; /* NULL when grpc_listen_addr is "" */
} checker;

static void
render_metrics(void *ctx, nf_metrics *m)
{
    checker *c = ctx;
    nf_collector_render_metrics(c->collector, m);
    if (c->service != NULL)
        nf_checker_service_render_metrics(c->service, m);
}

/* The status document is the collector's; the service adds nothing to it yet. */
static char *
render_status(void *ctx)
{
    const checker *c = ctx;
    return nf_collector_status_text(c->collector);
}

static int
usage(void)
{
    fprintf(stderr, "usage: serviceradar-netflow-checker [-c FILE] [--print] [--help-config]\n");
    return 2;
}

/* Prints records after *cursor; returns how many. */
static size_t
print_new(nf_ring *ring, uint64_t *cursor, nf_flow *buf)
{
    nf_ring_read_result res;
    nf_ring_read(ring, *cursor, buf, PRINT_BATCH, nf_wall_ms(), &res);
    char line[NF_FLOW_JSON_MAX];
    for (size_t i = 0; i < res.count; i++) {
        size_t n = nf_flow_to_json(&buf[i], line, sizeof(line));
        printf("%.*s\n", (int)n, line);
    }
    if (res.count > 0) {
        *cursor = res.first_seq + res.count - 1;
        fflush(stdout);
    }
    return res.count;
}

static void
log_status(nf_collector *c)
{
    nf_collector_stats st;
    nf_collector_stats_get(c, &st);
    uint64_t errors = 0;
    for (int r = 0; r < NF_DROP_REASON_COUNT; r++)
        errors += st.decode.errors[r];
    nf_log_info(COMP,
                "datagrams=%llu flows=%llu templates=%llu decode_errors=%llu "
                "kernel_drops=%llu seq_lost_datagrams=%llu seq_lost_records=%llu",
                (unsigned long long)st.datagrams, (unsigned long long)st.decode.flows,
                (unsigned long long)st.decode.templates_learnt, (unsigned long long)errors,
                (unsigned long long)st.kernel_drops, (unsigned long long)st.decode.seq_lost_packets,
                (unsigned long long)st.decode.seq_lost_flows);
}

int
main(int argc, char **argv)
{
    const char *path = NF_CHECKER_CONFIG_PATH;
    bool path_given = false, print = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            path = argv[++i];
            path_given = true;
        } else if (strcmp(argv[i], "--print") == 0) {
            print = true;
        } else if (strcmp(argv[i], "--help-config") == 0) {
            nf_cfg_describe(stdout, nf_checker_config_table, "");
            return 0;
        } else {
            return usage();
        }
    }

    nf_checker_config cfg = {0};
    nf_err err = {0};
    if (nf_cfg_load_file(path, !path_given, nf_checker_config_table, &cfg, nf_cfg_log_unknown_key,
                         (void *)COMP, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        return 1;
    }
    sigset_t stop_signals;
    nf_daemon_begin(cfg.log_level, &stop_signals);

    /* Sequences continue from the wall clock (µs) so a restart never reuses old numbers. */
    nf_ring_config rcfg = {.max_records = cfg.max_records, .retention_ms = cfg.retention_ms,
                           .first_seq = nf_wall_ms() * 1000};
    nf_ring *ring = NULL;
    nf_collector *coll = NULL;
    nf_rpc_server *rpc = NULL;
    nf_checker_service *service = NULL;
    nf_metrics_server *metrics = NULL;
    checker both = {NULL, NULL};
    char note[256];
    int rc = 1;
    if (nf_ring_create(&rcfg, &ring, &err) != NF_OK ||
        nf_collector_create(&cfg, ring, &coll, note, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        goto out;
    }
    if (note[0] != '\0')
        nf_log_info(COMP, "%s", note);
    if (cfg.grpc_listen_addr[0] != '\0' &&
        (nf_rpc_server_create(cfg.grpc_listen_addr, &cfg.security, &rpc, &err) != NF_OK ||
         nf_checker_service_register(rpc, coll, ring, &cfg, &service, &err) != NF_OK ||
         nf_rpc_server_start(rpc, (unsigned)cfg.rpc_threads, &err) != NF_OK)) {
        nf_log_error(COMP, "%s (config keys grpc_listen_addr, security in %s)", err.msg, path);
        goto out;
    }
    both.collector = coll;
    both.service = service;
    if (cfg.metrics_addr[0] != '\0' &&
        nf_metrics_server_start(cfg.metrics_addr, render_metrics, render_status,
                                &both, &metrics, &err) != NF_OK) {
        nf_log_error(COMP, "%s (config key metrics_addr in %s)", err.msg, path);
        goto out;
    }
    if (nf_collector_start(coll, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        goto out;
    }
    nf_collector_stats st;
    nf_collector_stats_get(coll, &st);
    nf_log_info(COMP,
                "listening udp=%s port=%u workers=%u steering=%s grpc=%s security=%s metrics=%s "
                "records=%llu",
                cfg.listen_addr, st.port, st.workers, st.steered ? "by-exporter" : "kernel-hash",
                cfg.grpc_listen_addr[0] ? cfg.grpc_listen_addr : "off", cfg.security.mode,
                cfg.metrics_addr[0] ? cfg.metrics_addr : "off",
                (unsigned long long)cfg.max_records);

    static nf_flow print_buf[PRINT_BATCH];
    uint64_t cursor = 0, last_tick = 0, last_status = nf_mono_ms();
    for (;;) {
        struct timespec wait = {0, 200 * 1000 * 1000};
        int sig = sigtimedwait(&stop_signals, NULL, &wait);
        if (sig == SIGINT || sig == SIGTERM) {
            nf_log_info(COMP, "signal %d: stopping", sig);
            break;
        }
        if (print)
            while (print_new(ring, &cursor, print_buf) == PRINT_BATCH)
                ;
        uint64_t mono = nf_mono_ms();
        if (mono - last_tick >= 1000) {
            last_tick = mono;
            if (nf_collector_tick(coll, nf_wall_ms(), &err) != NF_OK)
                nf_log_warn(COMP, "%s", err.msg);
        }
        if (print && mono - last_status >= STATUS_EVERY_MS) {
            last_status = mono;
            log_status(coll);
        }
    }
    nf_rpc_server_destroy(rpc); /* cancels streams in flight; the poller resumes later */
    rpc = NULL;
    nf_collector_stop(coll);
    if (print)
        while (print_new(ring, &cursor, print_buf) == PRINT_BATCH)
            ;
    log_status(coll);
    rc = 0;
out:
    nf_metrics_server_stop(metrics);
    nf_rpc_server_destroy(rpc); /* before the collector and ring its handlers read */
    nf_checker_service_destroy(service);
    nf_collector_destroy(coll);
    nf_ring_destroy(ring);
    nf_cfg_free(nf_checker_config_table, &cfg);
    return rc;
}

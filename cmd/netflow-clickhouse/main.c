/* serviceradar-netflow-clickhouse — stores the flow batches of the NETFLOW stream in the
 * ClickHouse hot tier (see lib/chwriter/chwriter.h and docs/clickhouse.md).
 *
 *   serviceradar-netflow-clickhouse [-c FILE] [--help-config]
 *
 * Wiring only: config → engine → metrics → wait for SIGINT/SIGTERM → stop (the batch in
 * hand is inserted and acked, or handed back to JetStream).
 */
#include <signal.h>
#include <stdio.h>

#include "base/daemon.h"
#include "base/log.h"
#include "chwriter/chwriter.h"
#include "metrics/metrics.h"

#define COMP "clickhouse-writer"

int
main(int argc, char **argv)
{
    const char *path = NF_CHWRITER_CONFIG_PATH;
    bool path_given;
    int args = nf_cfg_daemon_args(argc, argv, "serviceradar-netflow-clickhouse",
                                  nf_chwriter_config_table, &path, &path_given);
    if (args >= 0)
        return args;
    nf_chwriter_config cfg;
    nf_err err = {0};
    if (nf_chwriter_config_load(path, !path_given, &cfg, nf_cfg_log_unknown_key, (void *)COMP,
                                &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        return 1;
    }
    sigset_t stop;
    nf_daemon_begin(cfg.log_level, &stop);

    nf_chwriter *w = NULL;
    nf_metrics_server *metrics = NULL;
    int rc = 1;
    if (nf_chwriter_create(&cfg, &w, &err) != NF_OK) {
        nf_log_error(COMP, "%s (config %s)", err.msg, path);
        goto out;
    }
    if (cfg.metrics_addr[0] != '\0' &&
        nf_metrics_server_start(cfg.metrics_addr, nf_chwriter_render_metrics, NULL, w, &metrics,
                                &err) != NF_OK) {
        nf_log_error(COMP, "%s (config key metrics_addr in %s)", err.msg, path);
        goto out;
    }
    if (nf_chwriter_start(w, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        goto out;
    }
    nf_log_info(COMP, "nats=%s stream=%s consumer=%s clickhouse=%s database=%s batch_size=%llu",
                cfg.nats_url, cfg.stream, cfg.consumer, cfg.clickhouse_url,
                cfg.clickhouse_database, (unsigned long long)cfg.batch_size);
    int sig = 0;
    sigwait(&stop, &sig);
    nf_log_info(COMP, "signal %d: stopping", sig);
    rc = 0;
out:
    nf_metrics_server_stop(metrics);
    nf_chwriter_destroy(w);
    nf_chwriter_config_free(&cfg);
    /* No nf_bus_global_cleanup(): see cmd/poller/main.c (nats.c issue #904). */
    return rc;
}

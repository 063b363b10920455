/* serviceradar-netflow-parquet — stores the flow batches of the NETFLOW stream as Parquet
 * files in the Iceberg table of the cold tier, and maintains the table (see
 * lib/pqwriter/pqwriter.h and docs/iceberg.md).
 *
 *   serviceradar-netflow-parquet [-c FILE] [--help-config] [--maintain]
 *
 * --maintain: one maintenance pass (compaction, retention, snapshot expiry) and exit — for
 * cron or by hand; the daemon also runs it every maintenance_interval.
 *
 * Wiring only: config → engine → metrics → wait for SIGINT/SIGTERM → stop (the batch in
 * hand is committed and acked, or handed back to JetStream).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/daemon.h"
#include "base/log.h"
#include "metrics/metrics.h"
#include "pqwriter/pqwriter.h"

#define COMP "parquet-writer"

/* Removes --maintain from argv; true if it was there. */
static bool
take_flag(int *argc, char **argv, const char *flag)
{
    for (int i = 1; i < *argc; i++)
        if (strcmp(argv[i], flag) == 0) {
            memmove(&argv[i], &argv[i + 1], (size_t)(*argc - i) * sizeof(char *));
            (*argc)--;
            return true;
        }
    return false;
}

int
main(int argc, char **argv)
{
    bool maintain_only = take_flag(&argc, argv, "--maintain");
    const char *path = NF_PQWRITER_CONFIG_PATH;
    bool path_given;
    int args = nf_cfg_daemon_args(argc, argv, "serviceradar-netflow-parquet [--maintain]",
                                  nf_pqwriter_config_table, &path, &path_given);
    if (args >= 0)
        return args;
    nf_pqwriter_config cfg;
    nf_err err = {0};
    if (nf_pqwriter_config_load(path, !path_given, &cfg, nf_cfg_log_unknown_key, (void *)COMP,
                                &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        return 1;
    }
    sigset_t stop;
    nf_daemon_begin(cfg.log_level, &stop);

    nf_pqwriter *w = NULL;
    nf_metrics_server *metrics = NULL;
    int rc = 1;
    if (nf_pqwriter_create(&cfg, &w, &err) != NF_OK) {
        nf_log_error(COMP, "%s (config %s)", err.msg, path);
        goto out;
    }
    if (maintain_only) {
        if (nf_pqwriter_maintain_once(w, &err) != NF_OK)
            nf_log_error(COMP, "maintenance: %s", err.msg);
        else
            rc = 0;
        goto out;
    }
    if (cfg.metrics_addr[0] != '\0' &&
        nf_metrics_server_start(cfg.metrics_addr, nf_pqwriter_render_metrics, NULL, w, &metrics,
                                &err) != NF_OK) {
        nf_log_error(COMP, "%s (config key metrics_addr in %s)", err.msg, path);
        goto out;
    }
    if (nf_pqwriter_start(w, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        goto out;
    }
    nf_log_info(COMP, "nats=%s stream=%s consumer=%s catalog=%s table=%s batch_size=%llu",
                cfg.nats_url, cfg.stream, cfg.consumer, cfg.iceberg_catalog, cfg.iceberg_table,
                (unsigned long long)cfg.batch_size);
    int sig = 0;
    sigwait(&stop, &sig);
    nf_log_info(COMP, "signal %d: stopping", sig);
    rc = 0;
out:
    nf_metrics_server_stop(metrics);
    nf_pqwriter_destroy(w);
    nf_pqwriter_config_free(&cfg);
    /* No nf_bus_global_cleanup(): see cmd/poller/main.c (nats.c issue #904). */
    return rc;
}

/* serviceradar-iceberg-catalog — an Iceberg REST catalog backed by SQLite (see
 * lib/catalog/catalog.h): the cold tier's writers commit through it, readers find the
 * current metadata file of a table through it.
 *
 *   serviceradar-iceberg-catalog [-c FILE] [--help-config]
 *
 * Wiring only: config → catalog (database, REST listener) → metrics → wait for
 * SIGINT/SIGTERM → stop (requests in progress finish first).
 */
#include <signal.h>
#include <stdio.h>

#include "base/daemon.h"
#include "base/log.h"
#include "catalog/catalog.h"
#include "metrics/metrics.h"

#define COMP "iceberg-catalog"

int
main(int argc, char **argv)
{
    const char *path = NF_CATALOG_CONFIG_PATH;
    bool path_given;
    int args = nf_cfg_daemon_args(argc, argv, "serviceradar-iceberg-catalog",
                                  nf_catalog_config_table, &path, &path_given);
    if (args >= 0)
        return args;
    nf_catalog_config cfg;
    nf_err err = {0};
    if (nf_catalog_config_load(path, !path_given, &cfg, nf_cfg_log_unknown_key, (void *)COMP,
                               &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        return 1;
    }
    sigset_t stop;
    nf_daemon_begin(cfg.log_level, &stop);

    nf_catalog *cat = NULL;
    nf_metrics_server *metrics = NULL;
    int rc = 1;
    if (nf_catalog_start(&cfg, &cat, &err) != NF_OK) {
        nf_log_error(COMP, "%s (config %s)", err.msg, path);
        goto out;
    }
    if (cfg.metrics_addr[0] != '\0' &&
        nf_metrics_server_start(cfg.metrics_addr, nf_catalog_render_metrics, NULL, cat,
                                &metrics, &err) != NF_OK) {
        nf_log_error(COMP, "%s (config key metrics_addr in %s)", err.msg, path);
        goto out;
    }
    nf_log_info(COMP, "listen=%s tls=%s warehouse=%s database=%s metrics=%s", cfg.listen_addr,
                cfg.security.mode, cfg.warehouse, cfg.database, cfg.metrics_addr);
    int sig = 0;
    sigwait(&stop, &sig);
    nf_log_info(COMP, "signal %d: stopping", sig);
    rc = 0;
out:
    nf_metrics_server_stop(metrics);
    nf_catalog_stop(cat);
    nf_catalog_config_free(&cfg);
    return rc;
}

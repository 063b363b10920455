/* serviceradar-core — the NetFlow API server: ClickHouse for recent flows, Iceberg for
 * history, stitched answers in between, with ServiceRadar's login and API keys (see
 * lib/core/core.h and docs/core.md).
 *
 *   serviceradar-core [-c FILE] [--help-config]
 *
 * Wiring only: config (bad config → exit 1 naming file and key) → server → wait for
 * SIGINT/SIGTERM → stop.
 */
#include <signal.h>
#include <stdio.h>

#include "base/daemon.h"
#include "base/log.h"
#include "core/core.h"

#define COMP "core"

int
main(int argc, char **argv)
{
    const char *path = NF_CORE_CONFIG_PATH;
    bool path_given;
    int args = nf_cfg_daemon_args(argc, argv, "serviceradar-core", nf_core_config_table, &path,
                                  &path_given);
    if (args >= 0)
        return args;
    nf_core_config cfg;
    nf_err err = {0};
    if (nf_core_config_load(path, !path_given, &cfg, nf_cfg_log_unknown_key, (void *)COMP,
                            &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        return 1;
    }
    sigset_t stop;
    nf_daemon_begin(cfg.log_level, &stop);
    nf_core *core = NULL;
    int rc = 1;
    if (nf_core_start(&cfg, &core, &err) != NF_OK) {
        nf_log_error(COMP, "%s (config %s)", err.msg, path);
        goto out;
    }
    nf_log_info(COMP, "listening on %s tls=%s auth=%s clickhouse=%s iceberg=%s table=%s",
                cfg.listen_addr,
                cfg.security.tls.cert_file[0] != '\0' ? "on" : "off",
                cfg.auth.enabled ? "on" : "off", cfg.netflow.clickhouse_url,
                cfg.netflow.iceberg_catalog, cfg.netflow.iceberg_table);
    int sig = 0;
    sigwait(&stop, &sig);
    nf_log_info(COMP, "signal %d: stopping", sig);
    rc = 0;
out:
    nf_core_stop(core);
    nf_core_config_free(&cfg);
    return rc;
}

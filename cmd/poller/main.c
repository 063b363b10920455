/* serviceradar-poller — pulls netflow records from agents and publishes them to NATS
 * JetStream (see lib/poller/poller.h).
 *
 *   serviceradar-poller [-c FILE] [--help-config]
 *
 * Wiring only: config → engine → metrics → wait for SIGINT/SIGTERM → stop (threads finish
 * the batch in hand; cursors are saved after every acknowledged publish).
 */
#include <signal.h>
#include <stdio.h>

#include "base/daemon.h"
#include "base/log.h"
#include "metrics/metrics.h"
#include "poller/poller.h"

#define COMP "poller"

static void
warn_key(void *ctx, const char *file, const char *key)
{
    (void)ctx;
    nf_log_warn(COMP, "%s: '%s' ignored (unknown key, or a check this poller does not run)",
                file, key);
}

int
main(int argc, char **argv)
{
    const char *path = NF_POLLER_CONFIG_PATH;
    bool path_given;
    int args = nf_cfg_daemon_args(argc, argv, "serviceradar-poller",
                                  nf_poller_config_table, &path, &path_given);
    if (args >= 0)
        return args;
    nf_poller_config cfg;
    nf_err err = {0};
    /* A poller without agents has nothing to do: the config file is required. */
    if (nf_poller_config_load(path, false, &cfg, warn_key, NULL, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        return 1;
    }
    sigset_t stop;
    nf_daemon_begin(cfg.log_level, &stop);

    nf_poller *p = NULL;
    nf_metrics_server *metrics = NULL;
    int rc = 1;
    if (nf_poller_create(&cfg, &p, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        goto out;
    }
    if (cfg.metrics_addr[0] != '\0' &&
        nf_metrics_server_start(cfg.metrics_addr, nf_poller_render_metrics, NULL, p, &metrics,
                                &err) != NF_OK) {
        nf_log_error(COMP, "%s (config key metrics_addr in %s)", err.msg, path);
        goto out;
    }
    if (nf_poller_start(p, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        goto out;
    }
    nf_log_info(COMP, "poller_id=%s agents=%zu nats=%s stream=%s subject=%s batch_size=%llu",
                cfg.poller_id, cfg.nagents, cfg.nats.url, cfg.nats.stream, cfg.nats.subject,
                (unsigned long long)cfg.nats.batch_size);
    int sig = 0;
    sigwait(&stop, &sig);
    nf_log_info(COMP, "signal %d: stopping", sig);
    rc = 0;
out:
    nf_metrics_server_stop(metrics);
    nf_poller_destroy(p);
    nf_poller_config_free(&cfg);
    /* No nf_bus_global_cleanup(): libnats 3.4 frees OpenSSL state it does not own (nats.c
     * issue #904) and OpenSSL's own exit handler then crashes; the process is ending anyway. */
    return rc;
}

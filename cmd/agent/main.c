/* serviceradar-agent — ServiceRadar's AgentService on the edge host, forwarding netflow
 * checks to the NetFlow checker (see lib/agent/agent.h).
 *
 *   serviceradar-agent [-c FILE] [--help-config]
 *
 * Wiring only: config → checkers dir → gRPC server → agent service → metrics → wait for
 * SIGINT/SIGTERM → shutdown (calls in flight are cancelled, the poller retries).
 */
#include <signal.h>
#include <stdio.h>

#include "agent/agent.h"
#include "base/daemon.h"
#include "base/log.h"
#include "metrics/metrics.h"

#define COMP "agent"

int
main(int argc, char **argv)
{
    const char *path = NF_AGENT_CONFIG_PATH;
    bool path_given;
    int args = nf_cfg_daemon_args(argc, argv, "serviceradar-agent",
                                  nf_agent_config_table, &path, &path_given);
    if (args >= 0)
        return args;
    nf_agent_config cfg = {0};
    nf_err err = {0};
    if (nf_cfg_load_file(path, !path_given, nf_agent_config_table, &cfg, nf_cfg_log_unknown_key,
                         (void *)COMP, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        return 1;
    }
    sigset_t stop;
    nf_daemon_begin(cfg.log_level, &stop);

    nf_agent_checker checkers[64];
    size_t ncheckers = 0;
    nf_rpc_server *srv = NULL;
    nf_agent *agent = NULL;
    nf_metrics_server *metrics = NULL;
    int rc = 1;
    if (nf_agent_checkers_load(cfg.checkers_dir, checkers, 64, &ncheckers, &err) != NF_OK) {
        nf_log_error(COMP, "%s (config key checkers_dir in %s)", err.msg, path);
        goto out;
    }
    for (size_t i = 0; i < ncheckers; i++)
        nf_log_info(COMP, "checker name=%s address=%s tls=%s server_name=%s", checkers[i].name,
                    checkers[i].address, checkers[i].tls ? "mtls" : "none",
                    checkers[i].server_name[0] ? checkers[i].server_name : "(host)");
    if (nf_rpc_server_create(cfg.listen_addr, &cfg.security, &srv, &err) != NF_OK ||
        nf_agent_create(srv, &cfg, checkers, ncheckers, &agent, &err) != NF_OK ||
        nf_rpc_server_start(srv, (unsigned)cfg.rpc_threads, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        goto out;
    }
    if (cfg.metrics_addr[0] != '\0' &&
        nf_metrics_server_start(cfg.metrics_addr, nf_agent_render_metrics, NULL, agent, &metrics,
                                &err) != NF_OK) {
        nf_log_error(COMP, "%s (config key metrics_addr in %s)", err.msg, path);
        goto out;
    }
    nf_log_info(COMP, "agent_id=%s listening grpc=%s port=%u security=%s checkers=%zu",
                cfg.agent_id, cfg.listen_addr, nf_rpc_server_port(srv), cfg.security.mode,
                ncheckers);
    int sig = 0;
    sigwait(&stop, &sig);
    nf_log_info(COMP, "signal %d: stopping", sig);
    rc = 0;
out:
    nf_metrics_server_stop(metrics);
    nf_rpc_server_destroy(srv);
    nf_agent_destroy(agent);
    nf_cfg_free(nf_agent_config_table, &cfg);
    return rc;
}

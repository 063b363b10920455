/* agent.h — serviceradar-agent: ServiceRadar's AgentService on the edge host, forwarding
 * netflow checks to the NetFlow checker.
 *
 *   poller ──gRPC (mTLS)──▶ agent :50051 ──gRPC (mTLS)──▶ checker 127.0.0.1:50057
 *
 * Config /etc/serviceradar/agent.json: agent_id, listen_addr, checkers_dir, security,
 * metrics_addr, log_level, rpc_threads, forward_timeout. The checkers directory holds one
 * JSON file per checker, as on a ServiceRadar edge host; a file with "grpc_listen_addr"
 * (the NetFlow checker's own netflow.json) or "address" describes a checker the agent may
 * forward to, and its "security.server_name"/"security.mode" say how to reach it. The
 * agent dials only checkers listed there: a request naming any other address is refused,
 * so a poller cannot turn the agent into a proxy to arbitrary hosts.
 *
 * Forwarding is byte-for-byte: requests and answers are passed on without re-encoding
 * (the agent reads a request only to route it), and StreamResults chunks are relayed one
 * by one as they arrive, under HTTP/2 flow control at both ends.
 *
 * Health: grpc.health.v1 answers SERVING for "", "AgentService" and
 * "monitoring.AgentService".
 */
#ifndef NFX_LIB_AGENT_AGENT_H
#define NFX_LIB_AGENT_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"
#include "../metrics/metrics.h"
#include "../rpc/rpc.h"

typedef struct nf_agent_config {
    char *agent_id;             /* reported in answers; default "agent" */
    char *listen_addr;          /* AgentService listen address, ":50051" */
    char *checkers_dir;         /* checker configs, "/etc/serviceradar/checkers" */
    char *metrics_addr;         /* Prometheus /metrics, "" = off */
    char *log_level;
    uint64_t rpc_threads;       /* calls served at once */
    uint64_t forward_timeout_ms; /* longest forwarded call when the caller set no deadline */
    nf_security_config security; /* server side, and client side towards the checkers */
} nf_agent_config;

extern const nf_cfg_field nf_agent_config_table[];

#define NF_AGENT_CONFIG_PATH "/etc/serviceradar/agent.json"

/* One checker the agent may forward to. */
typedef struct nf_agent_checker {
    char name[64];        /* file name without .json */
    char address[128];    /* host:port the agent dials (a wildcard host becomes 127.0.0.1) */
    char server_name[128];/* name expected in the checker's certificate ("" = the host) */
    bool tls;             /* the checker's security.mode is mtls */
} nf_agent_checker;

/* Reads every *.json in dir into out (at most max; *n_out = how many). A file without
 * grpc_listen_addr or address (another service's config) or beyond max is skipped with a
 * warning. Errors name the file (and the key): unreadable dir, malformed JSON, an address
 * that is not host:port. */
nf_status nf_agent_checkers_load(const char *dir, nf_agent_checker *out, size_t max,
                                 size_t *n_out, nf_err *err);

typedef struct nf_agent nf_agent;

/* Registers AgentService on srv, forwarding to checkers[0..n) (copied). cfg is borrowed
 * and must outlive the agent. */
nf_status nf_agent_create(nf_rpc_server *srv, const nf_agent_config *cfg,
                          const nf_agent_checker *checkers, size_t n, nf_agent **out,
                          nf_err *err);

/* Frees the agent and its checker clients. After the server is destroyed. NULL-safe. */
void nf_agent_destroy(nf_agent *a);

/* nf_metrics_render_fn for the agent's /metrics. */
void nf_agent_render_metrics(void *ctx, nf_metrics *m);

#endif

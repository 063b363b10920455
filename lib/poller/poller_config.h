/* poller_config.h — /etc/serviceradar/poller.json, the poller's config.
 *
 *   {
 *     "poller_id": "poller-1",
 *     "agents": {
 *       "edge-1": {
 *         "address": "10.0.0.5:50051",
 *         "checks": [{"service_type": "netflow", "service_name": "netflow",
 *                     "details": "127.0.0.1:50057"}]
 *       }
 *     },
 *     "poll_interval": "5s",
 *     "state_dir": "/var/lib/serviceradar/poller",
 *     "security": {...},                       (to the agents)
 *     "nats_config": {"url": "nats://localhost:4222", "security": {...},
 *                     "batch_size": 1000, "batch_interval": "10s", ...}
 *   }
 *
 * The shape follows ServiceRadar's poller.json (agents by name, each with an address and
 * its checks; nats_config as in PRD §7.2). Each agent may have one netflow check; checks of
 * other types are ServiceRadar's and ignored here with a warning.
 */
#ifndef NFX_LIB_POLLER_POLLER_CONFIG_H
#define NFX_LIB_POLLER_POLLER_CONFIG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../config/config.h"

typedef struct nf_poller_agent {
    char *name;         /* the agent id: key in "agents" */
    char *address;      /* host:port of its AgentService */
    char *service_name; /* of its netflow check */
    char *service_type; /* "netflow" */
    char *details;      /* the checker's host:port, as the agent knows it */
} nf_poller_agent;

typedef struct nf_poller_config {
    char *poller_id;
    json_t *agents_json;          /* raw "agents"; parsed into agents[] */
    uint64_t poll_interval_ms;    /* pause when caught up */
    char *state_dir;              /* cursor files */
    char *metrics_addr;           /* Prometheus /metrics, "" = off */
    char *log_level;
    uint64_t backoff_min_ms;      /* first retry delay after a failure */
    uint64_t backoff_max_ms;      /* cap of the exponential backoff */
    uint64_t rpc_timeout_ms;      /* deadline of each call to an agent */
    uint64_t health_timeout_ms;   /* health check, which also (re)connects */
    nf_security_config security;  /* towards the agents */
    struct {
        char *url;
        nf_security_config security;
        uint64_t batch_size;          /* records per JetStream message */
        uint64_t batch_interval_ms;   /* how long a partial batch may wait */
        char *stream;                 /* "NETFLOW" */
        char *subject;                /* "netflow.raw" */
        uint64_t max_bytes;           /* stream size limit (discard new when full) */
        uint64_t duplicate_window_ms; /* JetStream de-duplication window */
        uint64_t publish_timeout_ms;  /* wait for a publish acknowledgement */
        uint64_t replicas;            /* stream replicas (1 on one server, 3 in a cluster) */
        char *consumers;              /* durables created before publishing ("a,b") */
    } nats;
    nf_poller_agent *agents;      /* parsed from agents_json */
    size_t nagents;
} nf_poller_config;

extern const nf_cfg_field nf_poller_config_table[];

#define NF_POLLER_CONFIG_PATH "/etc/serviceradar/poller.json"

/* Loads path (missing_ok: defaults if absent) and parses the agents; every error names the
 * file and the key. warn gets unknown keys and ignored non-netflow checks. Free with
 * nf_poller_config_free. */
nf_status nf_poller_config_load(const char *path, bool missing_ok, nf_poller_config *out,
                                nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err);

void nf_poller_config_free(nf_poller_config *c);

#endif

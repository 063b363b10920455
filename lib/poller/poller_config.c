/* poller_config.c — the poller's config table and agent parsing. See poller_config.h. */
#include "poller_config.h"

#include <stdlib.h>
#include <string.h>

#define F(key, type, field, def, min, max, help) \
    {key, type, offsetof(nf_poller_config, field), def, min, max, NULL, NULL, help}
#define N(key, type, field, def, min, max, help)                                            \
    {key, type, offsetof(nf_poller_config, nats.field) - offsetof(nf_poller_config, nats),  \
     def, min, max, NULL, NULL, help}

static const char *const log_levels[] = {"debug", "info", "warn", "warning", "error", NULL};

static const nf_cfg_field nats_table[] = {
    {"url", NF_CFG_STRING, offsetof(nf_poller_config, nats.url) - offsetof(nf_poller_config, nats),
     "nats://localhost:4222", 0, 0, NULL, NULL, "NATS server URL", NULL},
    {"security", NF_CFG_OBJECT,
     offsetof(nf_poller_config, nats.security) - offsetof(nf_poller_config, nats), NULL, 0, 0,
     nf_security_table, NULL, "TLS towards NATS"},
    N("batch_size", NF_CFG_UINT, batch_size, "1000", 1, 100000,
      "flow records per JetStream message (a message stays under 1 MB)"),
    N("batch_interval", NF_CFG_DURATION, batch_interval_ms, "10s", 0, 3600000,
      "how long a batch that is not full may wait for more records"),
    N("stream", NF_CFG_STRING, stream, "NETFLOW", 0, 0, "JetStream stream name"),
    N("subject", NF_CFG_STRING, subject, "netflow.raw", 0, 0, "subject records are published on"),
    N("max_bytes", NF_CFG_SIZE, max_bytes, "1GiB", 1u << 20, 0,
      "stream size limit; when full, publishing waits (discard new)"),
    N("duplicate_window", NF_CFG_DURATION, duplicate_window_ms, "2m", 1000, 86400000,
      "JetStream de-duplication window for Nats-Msg-Id"),
    N("publish_timeout", NF_CFG_DURATION, publish_timeout_ms, "5s", 100, 600000,
      "wait for a publish acknowledgement"),
    N("replicas", NF_CFG_UINT, replicas, "1", 1, 5, "stream replicas"),
    N("consumers", NF_CFG_STRING, consumers, "clickhouse,parquet", 0, 0,
      "durable consumers created before publishing (JetStream's Interest retention stores "
      "nothing while no consumer exists)"),
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

const nf_cfg_field nf_poller_config_table[] = {
    F("poller_id", NF_CFG_STRING, poller_id, "poller", 0, 0, "this poller's id"),
    F("agents", NF_CFG_JSON, agents_json, NULL, 0, 0,
      "agents by id: {\"address\": host:port, \"checks\": [...]}"),
    F("poll_interval", NF_CFG_DURATION, poll_interval_ms, "5s", 100, 3600000,
      "pause between polls of an agent that is caught up"),
    F("state_dir", NF_CFG_STRING, state_dir, "/var/lib/serviceradar/poller", 0, 0,
      "directory of the per-agent cursor files"),
    {"metrics_addr", NF_CFG_STRING, offsetof(nf_poller_config, metrics_addr), "127.0.0.1:9194",
     0, 0, NULL, NULL, "host:port serving Prometheus /metrics; \"\" = off",
     nf_cfg_check_hostport_or_empty},
    {"log_level", NF_CFG_STRING, offsetof(nf_poller_config, log_level), "info", 0, 0, NULL,
     log_levels, "debug, info, warn or error"},
    F("backoff_min", NF_CFG_DURATION, backoff_min_ms, "500ms", 10, 600000,
      "first retry delay after an agent or NATS failure"),
    F("backoff_max", NF_CFG_DURATION, backoff_max_ms, "30s", 10, 3600000,
      "largest retry delay (exponential with jitter in between)"),
    F("rpc_timeout", NF_CFG_DURATION, rpc_timeout_ms, "30s", 100, 600000,
      "deadline of each call to an agent"),
    F("health_timeout", NF_CFG_DURATION, health_timeout_ms, "5s", 100, 600000,
      "how long a health check may wait for the agent to (re)connect"),
    {"security", NF_CFG_OBJECT, offsetof(nf_poller_config, security), NULL, 0, 0,
     nf_security_table, NULL, "TLS towards the agents"},
    {"nats_config", NF_CFG_OBJECT, offsetof(nf_poller_config, nats), NULL, 0, 0, nats_table,
     NULL, "JetStream publishing"},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

static char *
dup_string(json_t *obj, const char *key, const char *def)
{
    json_t *v = json_object_get(obj, key);
    const char *s = json_is_string(v) ? json_string_value(v) : def;
    return s ? strdup(s) : NULL;
}

static void
agent_free(nf_poller_agent *a)
{
    free(a->name);
    free(a->address);
    free(a->service_name);
    free(a->service_type);
    free(a->details);
}

/* Parses one agent entry into a; warns about ignored checks. */
static nf_status
parse_agent(const char *file, const char *name, json_t *v, nf_poller_agent *a,
            nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err)
{
    char path[256], why[160];
    snprintf(path, sizeof(path), "agents.%s", name);
    if (!json_is_object(v))
        return nf_cfg_json_error(err, file, path, "expected an object");
    json_t *address = json_object_get(v, "address");
    snprintf(path, sizeof(path), "agents.%s.address", name);
    if (!json_is_string(address))
        return nf_cfg_json_error(err, file, path, "expected a host:port string");
    if (!nf_cfg_check_hostport(json_string_value(address), why, sizeof(why)))
        return nf_cfg_json_error(err, file, path, "%s", why);
    json_t *checks = json_object_get(v, "checks");
    snprintf(path, sizeof(path), "agents.%s.checks", name);
    if (!json_is_array(checks))
        return nf_cfg_json_error(err, file, path, "expected an array of checks");
    size_t i;
    json_t *check;
    json_t *netflow = NULL;
    json_array_foreach(checks, i, check) {
        snprintf(path, sizeof(path), "agents.%s.checks[%zu]", name, i);
        json_t *type = json_object_get(check, "service_type");
        if (!json_is_object(check) || !json_is_string(type))
            return nf_cfg_json_error(err, file, path, "expected an object with service_type");
        if (strcmp(json_string_value(type), "netflow") != 0) {
            if (warn != NULL)
                warn(warn_ctx, file, path);
            continue;
        }
        if (netflow != NULL)
            return nf_cfg_json_error(err, file, path, "one netflow check per agent");
        json_t *details = json_object_get(check, "details");
        if (!json_is_string(details) ||
            !nf_cfg_check_hostport(json_string_value(details), why, sizeof(why)))
            return nf_cfg_json_error(err, file, path,
                                     "details must be the checker's host:port");
        netflow = check;
    }
    if (netflow == NULL)
        return nf_cfg_json_error(err, file, path, "no check of service_type \"netflow\"");
    a->name = strdup(name);
    a->address = strdup(json_string_value(address));
    a->service_type = strdup("netflow");
    a->service_name = dup_string(netflow, "service_name", "netflow");
    a->details = dup_string(netflow, "details", "");
    if (!a->name || !a->address || !a->service_name || !a->details) {
        agent_free(a);
        return nf_err_set(err, NF_ENOMEM, "%s: out of memory", file);
    }
    return NF_OK;
}

nf_status
nf_poller_config_load(const char *path, bool missing_ok, nf_poller_config *out,
                      nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    nf_status st = nf_cfg_load_file(path, missing_ok, nf_poller_config_table, out, warn,
                                    warn_ctx, err);
    if (st != NF_OK)
        return st;
    if (out->backoff_max_ms < out->backoff_min_ms) {
        nf_poller_config_free(out);
        return nf_cfg_json_error(err, path, "backoff_max", "smaller than backoff_min");
    }
    json_t *agents = out->agents_json;
    if (agents == NULL || !json_is_object(agents) || json_object_size(agents) == 0) {
        nf_poller_config_free(out);
        return nf_cfg_json_error(err, path, "agents", "expected an object with at least one agent");
    }
    out->agents = calloc(json_object_size(agents), sizeof(*out->agents));
    if (out->agents == NULL) {
        nf_poller_config_free(out);
        return nf_err_set(err, NF_ENOMEM, "%s: out of memory", path);
    }
    const char *name;
    json_t *v;
    json_object_foreach(agents, name, v) {
        st = parse_agent(path, name, v, &out->agents[out->nagents], warn, warn_ctx, err);
        if (st != NF_OK) {
            nf_poller_config_free(out);
            return st;
        }
        out->nagents++;
    }
    return NF_OK;
}

void
nf_poller_config_free(nf_poller_config *c)
{
    for (size_t i = 0; c->agents != NULL && i < c->nagents; i++)
        agent_free(&c->agents[i]);
    free(c->agents);
    c->agents = NULL;
    c->nagents = 0;
    nf_cfg_free(nf_poller_config_table, c);
}

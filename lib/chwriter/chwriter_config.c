/* chwriter_config.c — the ClickHouse writer's config table. See chwriter_config.h. */
#include "chwriter_config.h"

#include <stdio.h>
#include <string.h>

#define F(key, type, field, def, min, max, help) \
    {key, type, offsetof(nf_chwriter_config, field), def, min, max, NULL, NULL, help, NULL}

#define DAY_MS 86400000ull

static const char *const log_levels[] = {"debug", "info", "warn", "warning", "error", NULL};

static bool
check_http_url(const char *v, char *why, size_t why_len)
{
    if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)
        return true;
    if (strncmp(v, "tcp://", 6) == 0)
        snprintf(why, why_len,
                 "\"%s\" is ClickHouse's native protocol; the writer uses its HTTP interface: "
                 "http://host:8123",
                 v);
    else
        snprintf(why, why_len, "\"%s\" is not an http:// or https:// URL", v);
    return false;
}

const nf_cfg_field nf_chwriter_config_table[] = {
    F("nats_url", NF_CFG_STRING, nats_url, "nats://localhost:4222", 0, 0, "NATS server URL"),
    {"security", NF_CFG_OBJECT, offsetof(nf_chwriter_config, security), NULL, 0, 0,
     nf_security_table, NULL, "TLS towards NATS", NULL},
    {"clickhouse_url", NF_CFG_STRING, offsetof(nf_chwriter_config, clickhouse_url),
     "http://localhost:8123", 0, 0, NULL, NULL, "ClickHouse HTTP interface", check_http_url},
    F("clickhouse_user", NF_CFG_STRING, clickhouse_user, "default", 0, 0,
      "ClickHouse user allowed to create tables and insert"),
    F("clickhouse_password", NF_CFG_STRING, clickhouse_password, "", 0, 0,
      "its password (sent in a header, never in a URL)"),
    {"clickhouse_database", NF_CFG_STRING, offsetof(nf_chwriter_config, clickhouse_database),
     "netflow", 0, 0, NULL, NULL, "database of the flow tables", nf_cfg_check_identifier},
    F("clickhouse_timeout", NF_CFG_DURATION, clickhouse_timeout_ms, "30s", 1000, 600000,
      "longest wait for one ClickHouse request"),
    /* Large: every INSERT makes a part in each of the 15 tables, and ClickHouse wants few
     * big inserts. Draining JetStream, 10 000-row inserts stored 104 k rows/s at 13.8 µs of
     * server CPU per row, 100 000-row ones 192 k rows/s at 6.1, 200 000-row ones 247 k at
     * 5.1 (bench/RESULTS.md). At lower rates batch_interval decides. */
    F("batch_size", NF_CFG_UINT, batch_size, "200000", 1, 1000000,
      "flow records per INSERT at most"),
    F("batch_interval", NF_CFG_DURATION, batch_interval_ms, "1s", 20, 600000,
      "longest a record waits for its INSERT"),
    F("retention", NF_CFG_DURATION, retention_ms, "2d", DAY_MS, 3650 * DAY_MS,
      "how long flows stay (whole days; older day partitions are dropped)"),
    F("stream", NF_CFG_STRING, stream, "NETFLOW", 0, 0, "JetStream stream"),
    F("subject", NF_CFG_STRING, subject, "netflow.raw", 0, 0, "subject of the flow batches"),
    F("consumer", NF_CFG_STRING, consumer, "clickhouse", 0, 0,
      "durable consumer name (must be in the poller's nats_config.consumers)"),
    F("ack_wait", NF_CFG_DURATION, ack_wait_ms, "2m", 1000, 3600000,
      "JetStream redelivers a message not acknowledged by then"),
    F("max_ack_pending", NF_CFG_UINT, max_ack_pending, "1000", 1, 1000000,
      "messages held unacknowledged at most"),
    F("dead_letter_subject", NF_CFG_STRING, dead_letter_subject, "netflow.deadletter", 0, 0,
      "where messages that can never be inserted go, with their reason"),
    F("dead_letter_stream", NF_CFG_STRING, dead_letter_stream, "NETFLOW_DEADLETTER", 0, 0,
      "stream that keeps the dead letters"),
    F("dead_letter_max_age", NF_CFG_DURATION, dead_letter_max_age_ms, "7d", 60000,
      3650 * DAY_MS, "how long dead letters are kept"),
    F("backoff_min", NF_CFG_DURATION, backoff_min_ms, "500ms", 10, 600000,
      "first retry delay after a ClickHouse or NATS failure"),
    F("backoff_max", NF_CFG_DURATION, backoff_max_ms, "30s", 10, 3600000,
      "largest retry delay (exponential with jitter in between)"),
    {"metrics_addr", NF_CFG_STRING, offsetof(nf_chwriter_config, metrics_addr),
     "127.0.0.1:9195", 0, 0, NULL, NULL, "host:port serving Prometheus /metrics; \"\" = off",
     nf_cfg_check_hostport_or_empty},
    {"log_level", NF_CFG_STRING, offsetof(nf_chwriter_config, log_level), "info", 0, 0, NULL,
     log_levels, "debug, info, warn or error", NULL},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

nf_status
nf_chwriter_config_load(const char *path, bool missing_ok, nf_chwriter_config *out,
                        nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    nf_status st = nf_cfg_load_file(path, missing_ok, nf_chwriter_config_table, out, warn,
                                    warn_ctx, err);
    if (st != NF_OK)
        return st;
    const char *key = NULL, *why = NULL;
    if (out->retention_ms % DAY_MS != 0)
        key = "retention", why = "must be whole days (1d, 2d, …): day partitions are dropped";
    else if (out->backoff_max_ms < out->backoff_min_ms)
        key = "backoff_max", why = "smaller than backoff_min";
    else if (out->ack_wait_ms < 2 * (out->batch_interval_ms + out->clickhouse_timeout_ms))
        /* A message must not come back while the writer still holds it for an INSERT. */
        key = "ack_wait", why = "must be at least twice batch_interval + clickhouse_timeout";
    if (key != NULL) {
        nf_chwriter_config_free(out);
        return nf_cfg_json_error(err, path, key, "%s", why);
    }
    return NF_OK;
}

void
nf_chwriter_config_free(nf_chwriter_config *c)
{
    nf_cfg_free(nf_chwriter_config_table, c);
}

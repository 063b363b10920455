/* pqwriter_config.c — the Parquet writer's config table. See pqwriter_config.h. */
#include "pqwriter_config.h"

#include <stdio.h>
#include <string.h>

#define F(key, type, field, def, min, max, help) \
    {key, type, offsetof(nf_pqwriter_config, field), def, min, max, NULL, NULL, help, NULL}

#define DAY_MS 86400000ull

static const char *const log_levels[] = {"debug", "info", "warn", "warning", "error", NULL};

static bool
plain_ident(const char *s, size_t n)
{
    if (n == 0 || !(s[0] == '_' || ((s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'z')))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '_' || (s[i] >= '0' && s[i] <= '9') ||
              ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z')))
            return false;
    return true;
}

bool
nf_pqwriter_table_ident(const char *ident, char *ns, size_t ns_len, char *table,
                        size_t table_len)
{
    const char *dot = strchr(ident, '.');
    if (dot == NULL || strchr(dot + 1, '.') != NULL)
        return false;
    size_t a = (size_t)(dot - ident), b = strlen(dot + 1);
    if (!plain_ident(ident, a) || !plain_ident(dot + 1, b) || a >= ns_len || b >= table_len)
        return false;
    memcpy(ns, ident, a);
    ns[a] = '\0';
    memcpy(table, dot + 1, b + 1);
    return true;
}

static bool
check_table(const char *v, char *why, size_t why_len)
{
    char ns[128], t[128];
    if (nf_pqwriter_table_ident(v, ns, sizeof(ns), t, sizeof(t)))
        return true;
    snprintf(why, why_len, "\"%s\" is not namespace.table (two plain identifiers)", v);
    return false;
}

static bool
check_catalog(const char *v, char *why, size_t why_len)
{
    if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0 ||
        strncmp(v, "file:///", 8) == 0)
        return true;
    snprintf(why, why_len,
             "\"%s\" is neither a REST catalog URL (http://host:8181) nor a filesystem "
             "warehouse (file:///path)",
             v);
    return false;
}

static bool
check_path(const char *v, char *why, size_t why_len)
{
    if (v[0] == '\0' || v[0] == '/' || strncmp(v, "file:///", 8) == 0)
        return true;
    snprintf(why, why_len, "\"%s\" is not an absolute path or file:/// URI", v);
    return false;
}

const nf_cfg_field nf_pqwriter_config_table[] = {
    F("nats_url", NF_CFG_STRING, nats_url, "nats://localhost:4222", 0, 0, "NATS server URL"),
    {"security", NF_CFG_OBJECT, offsetof(nf_pqwriter_config, security), NULL, 0, 0,
     nf_security_table, NULL, "TLS towards NATS and an https catalog", NULL},
    {"output_path", NF_CFG_STRING, offsetof(nf_pqwriter_config, output_path), "", 0, 0, NULL,
     NULL, "table location when the writer creates the table; \"\" = the catalog's choice",
     check_path},
    {"iceberg_catalog", NF_CFG_STRING, offsetof(nf_pqwriter_config, iceberg_catalog),
     "http://localhost:8181", 0, 0, NULL, NULL, "Iceberg REST catalog, or file:///warehouse",
     check_catalog},
    {"iceberg_table", NF_CFG_STRING, offsetof(nf_pqwriter_config, iceberg_table),
     "default.netflow", 0, 0, NULL, NULL, "namespace.table", check_table},
    F("catalog_token", NF_CFG_STRING, catalog_token, "", 0, 0,
      "bearer token sent to the catalog; \"\" = none"),
    F("catalog_timeout", NF_CFG_DURATION, catalog_timeout_ms, "30s", 1000, 600000,
      "longest wait for one catalog request"),
    /* Each batch is one commit and one file per day it touches: large batches make few,
     * well-compressed files (bench/RESULTS.md). At low rates batch_interval decides. */
    F("batch_size", NF_CFG_UINT, batch_size, "500000", 1, 5000000,
      "flow records per commit at most"),
    F("batch_interval", NF_CFG_DURATION, batch_interval_ms, "1m", 100, 3600000,
      "longest a record waits for its commit"),
    F("stream", NF_CFG_STRING, stream, "NETFLOW", 0, 0, "JetStream stream"),
    F("subject", NF_CFG_STRING, subject, "netflow.raw", 0, 0, "subject of the flow batches"),
    F("consumer", NF_CFG_STRING, consumer, "parquet", 0, 0,
      "durable consumer name (must be in the poller's nats_config.consumers)"),
    F("ack_wait", NF_CFG_DURATION, ack_wait_ms, "5m", 1000, 7200000,
      "JetStream redelivers a message not acknowledged by then"),
    F("max_ack_pending", NF_CFG_UINT, max_ack_pending, "5000", 1, 1000000,
      "messages held unacknowledged at most (a batch holds batch_size / ~1000 of them)"),
    F("dead_letter_subject", NF_CFG_STRING, dead_letter_subject, "netflow.deadletter",
      0, 0, "where messages that can never be written go, with their reason"),
    F("dead_letter_stream", NF_CFG_STRING, dead_letter_stream, "NETFLOW_DEADLETTER", 0, 0,
      "stream that keeps the dead letters"),
    F("dead_letter_max_age", NF_CFG_DURATION, dead_letter_max_age_ms, "7d", 60000,
      3650 * DAY_MS, "how long dead letters are kept"),
    F("backoff_min", NF_CFG_DURATION, backoff_min_ms, "500ms", 10, 600000,
      "first retry delay after a catalog, disk or NATS failure"),
    F("backoff_max", NF_CFG_DURATION, backoff_max_ms, "30s", 10, 3600000,
      "largest retry delay (exponential with jitter in between)"),
    F("duckdb_threads", NF_CFG_UINT, duckdb_threads, "1", 1, 64,
      "DuckDB threads writing Parquet"),
    F("duckdb_memory_limit", NF_CFG_SIZE, duckdb_memory_limit, "1GiB", 64u << 20, 0,
      "DuckDB memory limit (bytes, \"1GiB\"); at least batch_size × 600 bytes"),
    F("maintenance_interval", NF_CFG_DURATION, maintenance_interval_ms, "1h", 0, 7 * DAY_MS,
      "how often compaction, snapshot expiry and retention run; 0 = never"),
    F("compact_min_files", NF_CFG_UINT, compact_min_files, "4", 2, 100000,
      "a closed day with at least this many data files is rewritten as one sorted file"),
    /* Not the PRD's 90 days: every commit adds a snapshot to metadata.json, and one commit a
     * minute kept for 90 days is 130 000 snapshots — a ~100 MB metadata file rewritten at
     * every commit. Data retention (below) stays 90 days; time travel reaches back a week. */
    F("snapshot_max_age", NF_CFG_DURATION, snapshot_max_age_ms, "7d", 60000, 3650 * DAY_MS,
      "snapshots older than this are expired (time travel reaches back this far)"),
    F("min_snapshots", NF_CFG_UINT, min_snapshots, "1", 1, 100000,
      "snapshots of main's history kept whatever their age"),
    F("retention", NF_CFG_DURATION, retention_ms, "90d", DAY_MS, 3650 * DAY_MS,
      "how long flows stay (whole days; older day partitions are deleted)"),
    {"metrics_addr", NF_CFG_STRING, offsetof(nf_pqwriter_config, metrics_addr),
     "127.0.0.1:9196", 0, 0, NULL, NULL, "host:port serving Prometheus /metrics; \"\" = off",
     nf_cfg_check_hostport_or_empty},
    {"log_level", NF_CFG_STRING, offsetof(nf_pqwriter_config, log_level), "info", 0, 0, NULL,
     log_levels, "debug, info, warn or error", NULL},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static nf_status
check_loaded(const char *name, nf_pqwriter_config *out, nf_err *err)
{
    const char *key = NULL, *why = NULL;
    if (out->retention_ms % DAY_MS != 0)
        key = "retention", why = "must be whole days (1d, 30d, 90d …): day partitions are deleted";
    else if (out->backoff_max_ms < out->backoff_min_ms)
        key = "backoff_max", why = "smaller than backoff_min";
    else if (out->batch_size * NF_PQWRITER_BYTES_PER_RECORD > out->duckdb_memory_limit)
        /* DuckDB holds the batch's rows while it sorts and writes them (lib/duck/flowfile.h);
         * beyond its limit every write of the batch fails and the batch never lands. */
        key = "duckdb_memory_limit",
        why = "too small for batch_size (about 600 bytes per record)";
    else if (out->ack_wait_ms < 2 * (out->batch_interval_ms + out->catalog_timeout_ms))
        /* A message must not come back while the writer still holds it for a commit. */
        key = "ack_wait", why = "must be at least twice batch_interval + catalog_timeout";
    if (key == NULL)
        return NF_OK;
    nf_pqwriter_config_free(out);
    return nf_cfg_json_error(err, name, key, "%s", why);
}

nf_status
nf_pqwriter_config_load(const char *path, bool missing_ok, nf_pqwriter_config *out,
                        nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    nf_status st = nf_cfg_load_file(path, missing_ok, nf_pqwriter_config_table, out, warn,
                                    warn_ctx, err);
    return st != NF_OK ? st : check_loaded(path, out, err);
}

nf_status
nf_pqwriter_config_load_text(const char *name, const char *text, nf_pqwriter_config *out,
                             nf_err *err)
{
    memset(out, 0, sizeof(*out));
    nf_status st =
        nf_cfg_load_text(name, text, nf_pqwriter_config_table, out, NULL, NULL, err);
    return st != NF_OK ? st : check_loaded(name, out, err);
}

void
nf_pqwriter_config_free(nf_pqwriter_config *c)
{
    nf_cfg_free(nf_pqwriter_config_table, c);
}

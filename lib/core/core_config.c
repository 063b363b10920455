/* core_config.c — serviceradar-core's config table and whole-struct checks. See
 * core_config.h. Defaults follow the PRD's netflow section; bounds keep obviously wrong
 * values (a 0 s threshold, a 10-year timeout) out before any socket is opened. */
#include "core_config.h"

#include <stdio.h>
#include <string.h>

#define DAY_MS 86400000ull

static const char *const log_levels[] = {"debug", "info", "warn", "warning", "error", NULL};

static bool
check_http_url(const char *v, char *why, size_t why_len)
{
    if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0)
        return true;
    snprintf(why, why_len, "\"%s\" is not an http:// or https:// URL", v);
    return false;
}

static bool
check_catalog(const char *v, char *why, size_t why_len)
{
    if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0 ||
        strncmp(v, "file:///", 8) == 0)
        return true;
    snprintf(why, why_len, "\"%s\" is neither a REST catalog URL (http[s]://) nor a "
             "filesystem warehouse (file:///absolute/path)", v);
    return false;
}

/* ":8090" is accepted by nf_cfg_check_hostport (empty host = any). */
static bool
check_listen(const char *v, char *why, size_t why_len)
{
    return nf_cfg_check_hostport(v, why, why_len);
}

#define NF(key, type, field, def, min, max, help) \
    {key, type, offsetof(nf_core_netflow_config, field), def, min, max, NULL, NULL, help, NULL}
#define NFC(key, field, def, help, check) \
    {key, NF_CFG_STRING, offsetof(nf_core_netflow_config, field), def, 0, 0, NULL, NULL, help, \
     check}

static const nf_cfg_field netflow_table[] = {
    NFC("clickhouse_url", clickhouse_url, "http://localhost:8123", "ClickHouse HTTP interface",
        check_http_url),
    NF("clickhouse_user", NF_CFG_STRING, clickhouse_user, "default", 0, 0,
       "ClickHouse read-only user"),
    NF("clickhouse_password", NF_CFG_STRING, clickhouse_password, "", 0, 0,
       "its password (sent in a header)"),
    NFC("clickhouse_database", clickhouse_database, "netflow", "database of the flow tables",
        nf_cfg_check_identifier),
    NF("clickhouse_timeout", NF_CFG_DURATION, clickhouse_timeout_ms, "30s", 1000, 600000,
       "longest wait for one ClickHouse query"),
    NFC("iceberg_catalog", iceberg_catalog, "http://localhost:8181",
        "Iceberg REST catalog URL or file:///warehouse", check_catalog),
    NF("iceberg_table", NF_CFG_STRING, iceberg_table, "default.netflow", 0, 0,
       "namespace.table of the cold tier"),
    /* Bounds: at least a minute (shorter makes every query a stitched one), at most a
     * year (the cold tier keeps 90 days). */
    NF("realtime_threshold", NF_CFG_DURATION, realtime_threshold_ms, "2d", 60000,
       366 * DAY_MS, "auto route: ranges shorter than this are answered by ClickHouse"),
    NF("hot_retention", NF_CFG_DURATION, hot_retention_ms, "2d", 3600000, 3650 * DAY_MS,
       "how far back ClickHouse holds flows (the writer's retention)"),
    NF("duckdb_threads", NF_CFG_UINT, duckdb_threads, "2", 1, 256,
       "DuckDB worker threads for historical queries"),
    NF("duckdb_memory_limit", NF_CFG_STRING, duckdb_memory_limit, "1GB", 0, 0,
       "DuckDB memory limit (size text)"),
    {"iceberg_security", NF_CFG_OBJECT, offsetof(nf_core_netflow_config, iceberg_security),
     NULL, 0, 0, nf_security_table, NULL,
     "https catalog: tls.cert_file/key_file (client certificate), tls.ca_file", NULL},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const nf_cfg_field status_table[] = {
    {"sources", NF_CFG_JSON, offsetof(nf_core_status_config, sources_json), NULL, 0, 0, NULL,
     NULL, "metrics endpoints by name: {\"role\": checker|agent|poller|clickhouse_writer|"
     "parquet_writer|iceberg_catalog, \"url\": \"http://host:port/metrics\"}", NULL},
    {"timeout", NF_CFG_DURATION, offsetof(nf_core_status_config, timeout_ms), "2s", 100, 60000,
     NULL, NULL, "longest wait for one metrics endpoint", NULL},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static const char *const role_names[NF_CORE_ROLE_COUNT] = {
    "checker", "agent", "poller", "clickhouse_writer", "parquet_writer", "iceberg_catalog"};

const char *
nf_core_role_name(nf_core_role r)
{
    return (unsigned)r < NF_CORE_ROLE_COUNT ? role_names[r] : "?";
}

/* status.sources → sources[]: every entry an object with a known role and an http(s) URL. */
static nf_status
check_status_sources(const char *file, nf_core_status_config *st, nf_err *err)
{
    json_t *src = st->sources_json;
    st->nsources = 0;
    if (src == NULL || json_is_null(src))
        return NF_OK;
    if (!json_is_object(src))
        return nf_cfg_json_error(err, file, "status.sources",
                                 "expected an object of {\"role\": …, \"url\": …} by name");
    if (json_object_size(src) > NF_CORE_STATUS_SOURCES_MAX)
        return nf_cfg_json_error(err, file, "status.sources", "more than %u sources",
                                 NF_CORE_STATUS_SOURCES_MAX);
    const char *name;
    json_t *v;
    json_object_foreach(src, name, v) {
        char path[192], why[256];
        snprintf(path, sizeof(path), "status.sources.%.100s", name);
        if (name[0] == '\0' || strlen(name) > 100)
            return nf_cfg_json_error(err, file, path, "a name of 1 to 100 bytes");
        if (!json_is_object(v))
            return nf_cfg_json_error(err, file, path, "expected {\"role\": …, \"url\": …}");
        const char *key;
        json_t *kv;
        json_object_foreach(v, key, kv) {
            if (strcmp(key, "role") != 0 && strcmp(key, "url") != 0) {
                snprintf(path, sizeof(path), "status.sources.%.100s.%.40s", name, key);
                return nf_cfg_json_error(err, file, path, "unknown key (role and url only)");
            }
        }
        json_t *role = json_object_get(v, "role"), *url = json_object_get(v, "url");
        snprintf(path, sizeof(path), "status.sources.%.100s.role", name);
        if (!json_is_string(role))
            return nf_cfg_json_error(err, file, path, "missing (one of checker, agent, poller, "
                                     "clickhouse_writer, parquet_writer, iceberg_catalog)");
        nf_core_role r = NF_CORE_ROLE_COUNT;
        for (int i = 0; i < NF_CORE_ROLE_COUNT; i++)
            if (strcmp(json_string_value(role), role_names[i]) == 0)
                r = (nf_core_role)i;
        if (r == NF_CORE_ROLE_COUNT)
            return nf_cfg_json_error(err, file, path, "\"%.60s\" is not one of checker, agent, "
                                     "poller, clickhouse_writer, parquet_writer, "
                                     "iceberg_catalog", json_string_value(role));
        snprintf(path, sizeof(path), "status.sources.%.100s.url", name);
        if (!json_is_string(url))
            return nf_cfg_json_error(err, file, path, "missing (http://host:port/metrics)");
        if (!check_http_url(json_string_value(url), why, sizeof(why)))
            return nf_cfg_json_error(err, file, path, "%s", why);
        st->sources[st->nsources++] =
            (nf_core_status_source){.name = name, .url = json_string_value(url), .role = r};
    }
    return NF_OK;
}

const nf_cfg_field nf_core_config_table[] = {
    {"listen_addr", NF_CFG_STRING, offsetof(nf_core_config, listen_addr), ":8090", 0, 0, NULL,
     NULL, "host:port of the HTTP API (/api, /auth, /healthz, /metrics)", check_listen},
    {"netflow", NF_CFG_OBJECT, offsetof(nf_core_config, netflow), NULL, 0, 0, netflow_table,
     NULL, "the hot and cold tiers", NULL},
    {"auth", NF_CFG_OBJECT, offsetof(nf_core_config, auth), NULL, 0, 0, nf_auth_config_table,
     NULL, "users, tokens, API keys", NULL},
    {"security", NF_CFG_OBJECT, offsetof(nf_core_config, security), NULL, 0, 0,
     nf_security_table, NULL, "tls.cert_file + tls.key_file: serve HTTPS", NULL},
    {"status", NF_CFG_OBJECT, offsetof(nf_core_config, status), NULL, 0, 0, status_table, NULL,
     "the metrics endpoints /api/netflow/status reads", NULL},
    {"static_dir", NF_CFG_STRING, offsetof(nf_core_config, static_dir), "", 0, 0, NULL, NULL,
     "web UI files, served for GET outside /api and /auth; \"\" = none", NULL},
    /* Login and refresh bodies are a few hundred bytes; 64 KiB is generous and bounded. */
    {"max_body_bytes", NF_CFG_SIZE, offsetof(nf_core_config, max_body_bytes), "64KiB", 256,
     1048576, NULL, NULL, "largest request body accepted", NULL},
    {"log_level", NF_CFG_STRING, offsetof(nf_core_config, log_level), "info", 0, 0, NULL,
     log_levels, "debug, info, warn or error", NULL},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

static nf_status
check_all(const char *file, nf_core_config *c, nf_err *err)
{
    const char *t = c->netflow.iceberg_table;
    const char *dot = strchr(t, '.');
    if (dot == NULL || dot == t || dot[1] == '\0' || strchr(dot + 1, '.') != NULL ||
        (size_t)(dot - t) >= sizeof(c->ice_ns) || strlen(dot + 1) >= sizeof(c->ice_table))
        return nf_cfg_json_error(err, file, "netflow.iceberg_table",
                                 "\"%s\" is not namespace.table", t);
    memcpy(c->ice_ns, t, (size_t)(dot - t));
    c->ice_ns[dot - t] = '\0';
    snprintf(c->ice_table, sizeof(c->ice_table), "%s", dot + 1);
    bool cert = c->security.tls.cert_file != NULL && c->security.tls.cert_file[0] != '\0';
    bool key = c->security.tls.key_file != NULL && c->security.tls.key_file[0] != '\0';
    if (cert != key)
        return nf_cfg_json_error(err, file, cert ? "security.tls.key_file" :
                                 "security.tls.cert_file",
                                 "HTTPS needs both cert_file and key_file");
    if (c->netflow.duckdb_memory_limit[0] == '\0')
        return nf_cfg_json_error(err, file, "netflow.duckdb_memory_limit", "empty");
    nf_status st = check_status_sources(file, &c->status, err);
    if (st != NF_OK)
        return st;
    return nf_auth_config_check(&c->auth, file, "auth", err);
}

static nf_status
finish(const char *file, nf_status st, nf_core_config *out, nf_err *err)
{
    if (st != NF_OK)
        return st;
    if ((st = check_all(file, out, err)) != NF_OK)
        nf_core_config_free(out);
    return st;
}

nf_status
nf_core_config_load(const char *path, bool missing_ok, nf_core_config *out,
                    nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    nf_status st = nf_cfg_load_file(path, missing_ok, nf_core_config_table, out, warn,
                                    warn_ctx, err);
    return finish(path, st, out, err);
}

nf_status
nf_core_config_load_text(const char *name, const char *text, nf_core_config *out,
                         nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    nf_status st = nf_cfg_load_text(name, text, nf_core_config_table, out, warn, warn_ctx, err);
    return finish(name, st, out, err);
}

void
nf_core_config_free(nf_core_config *c)
{
    if (c != NULL)
        nf_cfg_free(nf_core_config_table, c);
}

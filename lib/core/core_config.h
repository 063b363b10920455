/* core_config.h — the configuration of serviceradar-core (/etc/serviceradar/core.json),
 * described by a table (lib/config, the nginx model) and checked as a whole at load.
 *
 *   {
 *     "listen_addr": ":8090",                 HTTP(S) API, /healthz and /metrics
 *     "netflow": {
 *       "clickhouse_url": "http://localhost:8123", "clickhouse_user": "netflow_reader",
 *       "clickhouse_password": "…", "clickhouse_database": "netflow",
 *       "iceberg_catalog": "http://localhost:8181" | "file:///var/lib/…/warehouse",
 *       "iceberg_table": "default.netflow",
 *       "realtime_threshold": "2d",  auto route: shorter ranges go to ClickHouse only
 *       "hot_retention": "2d",       what ClickHouse holds (its writer's retention)
 *       "duckdb_threads": 2, "duckdb_memory_limit": "1GB",
 *       "iceberg_security": { ServiceRadar security block: with an https:// catalog, the
 *                             client certificate the core presents and the CA it checks }
 *     },
 *     "auth": { … lib/auth/auth.h … },
 *     "security": { "tls": {"cert_file": "…", "key_file": "…"}, "cert_dir": "…" },
 *                  optional: both files set = the server speaks HTTPS (TLS 1.2+)
 *     "status": {                  /api/netflow/status: where every hop's counters are read
 *       "sources": {"edge-1": {"role": "checker", "url": "http://10.0.0.5:9191/metrics"}, …},
 *       "timeout": "2s"            per scrape (all sources are read in parallel)
 *     },
 *     "static_dir": "/usr/share/serviceradar/web",   web UI files (GET outside /api, /auth)
 *     "log_level": "info"
 *   }
 *
 * Ownership: strings and JSON values of a loaded struct are owned by it; free with
 * nf_core_config_free. Immutable after load; any thread may read it.
 */
#ifndef NFX_LIB_CORE_CORE_CONFIG_H
#define NFX_LIB_CORE_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "../auth/auth.h"
#include "../base/nf_status.h"
#include "../config/config.h"

#define NF_CORE_CONFIG_PATH "/etc/serviceradar/core.json"

typedef struct nf_core_netflow_config {
    char *clickhouse_url;        /* ClickHouse HTTP interface */
    char *clickhouse_user;       /* the read-only user */
    char *clickhouse_password;
    char *clickhouse_database;   /* plain identifier */
    uint64_t clickhouse_timeout_ms;
    char *iceberg_catalog;       /* REST (http[s]://) or filesystem (file:///abs) catalog */
    char *iceberg_table;         /* "namespace.table" */
    uint64_t realtime_threshold_ms; /* auto route: end - start below this → ClickHouse */
    uint64_t hot_retention_ms;   /* how far back ClickHouse holds flows */
    uint64_t duckdb_threads;     /* DuckDB worker threads of the historical path */
    char *duckdb_memory_limit;   /* DuckDB size text ("1GB") */
    nf_security_config iceberg_security; /* https catalog: client certificate (mTLS), CA */
} nf_core_netflow_config;

/* A metrics endpoint /api/netflow/status reads. role: what the daemon is (decides which of
 * its counters mean received, forwarded and dropped). */
typedef enum nf_core_role {
    NF_CORE_ROLE_CHECKER = 0,
    NF_CORE_ROLE_AGENT,
    NF_CORE_ROLE_POLLER,
    NF_CORE_ROLE_CLICKHOUSE_WRITER,
    NF_CORE_ROLE_PARQUET_WRITER,
    NF_CORE_ROLE_ICEBERG_CATALOG,
    NF_CORE_ROLE_COUNT
} nf_core_role;

#define NF_CORE_STATUS_SOURCES_MAX 64u

typedef struct nf_core_status_source {
    const char *name;   /* the key in status.sources (borrowed from sources_json) */
    const char *url;    /* http:// or https:// (borrowed from sources_json) */
    nf_core_role role;
} nf_core_status_source;

typedef struct nf_core_status_config {
    json_t *sources_json;        /* raw "sources"; parsed into sources[] */
    uint64_t timeout_ms;
    nf_core_status_source sources[NF_CORE_STATUS_SOURCES_MAX]; /* derived at load */
    size_t nsources;
} nf_core_status_config;

/* "checker", "agent", …: the role's name in config and answers. */
const char *nf_core_role_name(nf_core_role r);

typedef struct nf_core_config {
    char *listen_addr;           /* "host:port" or ":port" */
    nf_core_netflow_config netflow;
    nf_auth_config auth;
    nf_security_config security;
    nf_core_status_config status;
    char *static_dir;
    uint64_t max_body_bytes;     /* POST bodies (login, refresh) at most */
    char *log_level;
    /* Derived at load (not keys): iceberg_table split at its first dot. */
    char ice_ns[128];
    char ice_table[128];
} nf_core_config;

/* The table (for --help-config). */
extern const nf_cfg_field nf_core_config_table[];

/* Loads path (missing_ok: defaults only when absent) into *out and checks it as a whole:
 * iceberg_table "ns.table", the auth section (nf_auth_config_check, when enabled), TLS cert
 * and key both or neither. NF_EINVAL with "FILE: key 'K': why" on the first bad value; the
 * struct then holds nothing to free. warn/warn_ctx: unknown keys (may be NULL). */
nf_status nf_core_config_load(const char *path, bool missing_ok, nf_core_config *out,
                              nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err);

/* Same from a JSON text (name stands for the file in messages). */
nf_status nf_core_config_load_text(const char *name, const char *text, nf_core_config *out,
                                   nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err);

/* Frees what a load allocated. NULL-safe. */
void nf_core_config_free(nf_core_config *c);

#endif

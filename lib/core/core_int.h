/* core_int.h — what server.c, routes.c and backends.c share inside lib/core (not part of the
 * library's contract; see core.h for the thread rules). */
#ifndef NFX_LIB_CORE_CORE_INT_H
#define NFX_LIB_CORE_CORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../api/api.h"
#include "../auth/auth.h"
#include "../duck/duck.h"
#include "../histq/histq.h"
#include "../iceberg/iceberg.h"
#include "core.h"

/* Routes, for the counters. */
enum core_route {
    CORE_R_HEALTHZ = 0,
    CORE_R_METRICS,
    CORE_R_LOGIN,
    CORE_R_REFRESH,
    CORE_R_NETFLOW,
    CORE_R_REALTIME,
    CORE_R_HISTORICAL,
    CORE_R_FIELDS,
    CORE_R_STATUS,
    CORE_R_FLOWS,
    CORE_R_OPENAPI,
    CORE_R_OTHER,
    CORE_R_COUNT
};

/* Status codes counted one by one; anything else is counted as "other". */
#define CORE_STATUS_COUNT 12

enum core_backend { CORE_B_CLICKHOUSE = 0, CORE_B_ICEBERG, CORE_B_COUNT };

struct nf_core {
    const nf_core_config *cfg; /* borrowed */
    struct MHD_Daemon *mhd;
    nf_auth *auth;             /* NULL when auth.enabled is false */
    nf_auth_limiter *limiter;  /* NULL when auth.enabled is false */
    char *pem_cert, *pem_key;  /* HTTPS; NULL when plain HTTP */
    /* Historical backend: one DuckDB connection and one catalog, used by one request at a
     * time (hist_mu). Simple and bounded in memory (DuckDB's limit applies once); the cost is
     * that historical queries queue. */
    pthread_mutex_t hist_mu;
    nf_duck *duck;
    nf_ice_catalog *cat;
    /* The cold tier's freshness, kept FRESHNESS_TTL_MS (backends.c) under hist_mu: a
     * stitched answer would otherwise load the table's metadata twice. */
    int64_t fresh_ms, fresh_snapshot;
    uint64_t fresh_read_at; /* monotonic ms; 0 = never read */
    /* Counters: written by request threads, read by /metrics. */
    _Atomic uint64_t requests[CORE_R_COUNT][CORE_STATUS_COUNT];
    _Atomic uint64_t latency_us[CORE_R_COUNT];
    _Atomic uint64_t backend_errors[CORE_B_COUNT];
    _Atomic uint64_t backend_queries[CORE_B_COUNT];
    _Atomic uint64_t stitched;
};

/* One HTTP answer being built. body malloc'd (freed by the sender). */
typedef struct core_answer {
    unsigned status;
    char *body;
    size_t len;
    const char *type;        /* Content-Type (static) */
    const char *disposition; /* Content-Disposition or NULL (static) */
    unsigned retry_after;    /* > 0: Retry-After seconds */
    bool file;               /* static file: fd (owned; handed to microhttpd) and size */
    int fd;
    uint64_t size;
} core_answer;

/* Sets a to a JSON error (status, parameter name or NULL, printf message). */
void core_fail(core_answer *a, unsigned status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* /api/netflow, /realtime, /historical: parameters kv (n of them, borrowed) at now_s. */
void core_route_netflow(nf_core *c, nf_api_route route, const nf_api_kv *kv, size_t n,
                        int64_t now_s, core_answer *a);

/* A file of static_dir for GET path (borrowed, percent-decoded); 404 when absent or the
 * path could leave the directory. */
void core_route_static(const nf_core *c, const char *path, core_answer *a);

/* /api/netflow/fields. */
void core_route_fields(core_answer *a);

/* /api/netflow/flows: the newest raw flows from ClickHouse (parameters kv, n borrowed). */
void core_route_flows(nf_core *c, const nf_api_kv *kv, size_t n, int64_t now_s, core_answer *a);

/* ---- status.c ---- */

/* /api/netflow/status: the pipeline's counters gathered from every hop's metrics endpoint
 * (status.sources in core.json) and the two tiers' freshness. */
void core_route_status(nf_core *c, core_answer *a);

/* ---- openapi.c ---- */

/* /api/openapi.json: the OpenAPI document of this API (docs/openapi.json, compiled in). */
void core_route_openapi(core_answer *a);

/* ---- backends.c ---- */

/* ClickHouse: lib/query's SQL for q over a fresh connection; *rows (malloc'd, free(); NULL
 * when *n is 0). plan (n_plan bytes) gets nf_q_explain's text. NF_EAGAIN when ClickHouse
 * cannot be reached, NF_EUPSTREAM when it refused, NF_EPROTO for an answer not in the
 * expected shape, NF_EINVAL/NF_ENOMEM. */
nf_status core_ch_run(nf_core *c, const nf_q_request *q, nf_api_row **rows, size_t *n,
                      char *plan, size_t n_plan, nf_err *err);

/* The newest q->limit raw flows of q's range and filters (nf_q_build_flows), newest first;
 * *out malloc'd (free()). Errors as core_ch_run. */
nf_status core_ch_flows(nf_core *c, const nf_q_request *q, nf_api_flow **out, size_t *nout,
                        nf_err *err);

/* Iceberg through histq, under hist_mu. *rows as core_ch_run; *snapshot_id the snapshot
 * read (0 none). opt may be NULL (current snapshot). */
nf_status core_ice_run(nf_core *c, const nf_q_request *q, const nf_histq_options *opt,
                       nf_api_row **rows, size_t *n, int64_t *snapshot_id, nf_err *err);

/* The cold tier's freshness: the current snapshot's timestamp (epoch ms; 0 when the table
 * has no snapshot) and, when snapshot_id is not NULL, its id (0: none). NF_ENOTFOUND for a
 * missing table, the catalog's errors otherwise. */
nf_status core_ice_freshness(nf_core *c, int64_t *fresh_ms, int64_t *snapshot_id, nf_err *err);

/* The hot tier's newest flow time (epoch s) within the last day; 0 when it holds none.
 * Errors as core_ch_run. */
nf_status core_ch_latest(nf_core *c, int64_t *latest_s, nf_err *err);

#endif

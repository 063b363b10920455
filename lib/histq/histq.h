/* histq.h — historical queries: the typed questions of lib/query (top-N, time series),
 * answered from the cold tier's Iceberg table (lib/cold/table.h) instead of ClickHouse, with
 * the same answer on the same flows.
 *
 * The path of one question (nf_histq_run):
 *
 *   catalog ──load──▶ table metadata ──pick snapshot──▶ manifest list
 *      (current; or by id; or the one current at a time: time travel)
 *   manifest list ──nf_ice_scan──▶ data files that can hold matching rows
 *      time range [start, end) → day partitions and timestamp bounds (µs);
 *      ports, protocol, interfaces, AS → int/long equality conditions on column bounds;
 *      addresses → text bounds (one address: its text; a CIDR: its text prefix when it has
 *      one, nf_q_addr_text_bounds) — a field gets conditions only when every filter on it
 *      yields some, since filters on one field are ORed
 *   data files ──nf_q_build_duckdb──▶ SQL over read_parquet([...])
 *   DuckDB ──▶ rows (key text or bucket start, value), order and text as lib/query's
 *
 * Rollups (unless req->raw_only): when a family of lib/cold/rollup.h has every field of the
 * request (nf_q_family_for) and, for a series, the interval is a multiple of an hour, the
 * whole hours of [start, end) inside days whose rollup is current for the snapshot read — the
 * rollup table's recorded raw record count of the day equals the snapshot's live record
 * count of that day — are answered from the rollup files, the rest from raw files, in one
 * SQL (nf_q_build_duckdb_parts). Exact by construction: the answer equals the raw-only one;
 * a stale day or an older snapshot (time travel) simply reads raw.
 *
 * Pruning only skips files that statistics prove hold no matching row; the SQL applies
 * every condition exactly, so pruning changes the cost, never the answer.
 *
 * Thread safety: none of its own; the catalog and the nf_duck are used for the call (one
 * call at a time on each, as their own rules say). Memory: the answer is at most
 * 10 000 rows (top-N limit) or 1 000 buckets (lib/query's bounds).
 */
#ifndef NFX_LIB_HISTQ_HISTQ_H
#define NFX_LIB_HISTQ_HISTQ_H

#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../duck/duck.h"
#include "../iceberg/iceberg.h"
#include "../query/query.h"

/* Which snapshot to read. Both 0: the current one. */
typedef struct nf_histq_options {
    int64_t snapshot_id; /* > 0: exactly this snapshot (NF_ENOTFOUND if the table has none) */
    int64_t as_of_ms;    /* > 0 (and no snapshot_id): the snapshot current at this epoch ms */
} nf_histq_options;

typedef struct nf_histq_row {
    char key[48];   /* top-N: the key as text ("10.1.2.3", "2001:db8::1", "443"); "" for a
                     * time series */
    int64_t ts;     /* time series: bucket start, epoch seconds; 0 for top-N */
    uint64_t value; /* the metric (wrapping mod 2^64 as ClickHouse's UInt64) */
} nf_histq_row;

typedef struct nf_histq_result {
    nf_histq_row *rows; /* owned */
    size_t n;
} nf_histq_result;

typedef struct nf_histq_stats {
    int64_t snapshot_id;    /* snapshot read; 0 when the table has none (empty answer) */
    size_t files_total;     /* live data files of the snapshot */
    size_t files_kept;      /* files the scan could not exclude, read by DuckDB */
    int64_t records_kept;   /* rows in those files */
    int64_t bytes_kept;     /* bytes of those files */
    uint64_t load_ms;       /* catalog load and snapshot choice */
    uint64_t scan_ms;       /* manifest list and manifests */
    uint64_t query_ms;      /* DuckDB */
    /* Hourly rollups (docs/iceberg.md "Rollups"): the family used ("" if none), the rollup
     * files read, the raw files left out because rollups cover their time, and the seconds
     * of [start, end) answered from rollups. */
    char rollup_family[24];
    size_t rollup_files;
    size_t raw_files_replaced;
    int64_t rollup_seconds;
} nf_histq_stats;

/* Fills f with the scan conditions req allows (note in the top comment): time range on the
 * timestamp column and the filter conditions; borrowed req must be valid (nf_q_build_duckdb
 * accepts it). Conditions that do not fit NF_ICE_MAX_CONDS are left out (fewer files
 * skipped, same answer). */
void nf_histq_scan_filter(const nf_q_request *req, nf_ice_scan_filter *f);

/* Answers req from the Parquet files paths (local paths or file:// URIs, borrowed) through
 * duck: builds the SQL, runs it, converts the rows. *out (written only on NF_OK) is owned by
 * the caller: nf_histq_result_free. Errors: those of nf_q_build_duckdb (NF_EINVAL for an
 * invalid request or path), NF_EUPSTREAM with DuckDB's message, NF_EPROTO if DuckDB's
 * answer has an unexpected shape, NF_ENOMEM. query_ms (may be NULL) receives the time. */
nf_status nf_histq_query(nf_duck *duck, const nf_q_request *req, const char *const *paths,
                         size_t npaths, nf_histq_result **out, uint64_t *query_ms, nf_err *err);

/* The whole path: loads ns.table from cat, picks the snapshot opt says (NULL = current),
 * scans it with nf_histq_scan_filter(req) and answers through nf_histq_query, or with the
 * rollups as described at the top (the rollup tables <table>_rollup_1h_<family> in ns; a
 * missing one means raw only). A table
 * without snapshots gives an empty answer. stats (may be NULL) is filled on NF_OK.
 * Errors: nf_ice_catalog_load's (NF_ENOTFOUND for a missing table), NF_ENOTFOUND for a
 * snapshot id or time with no snapshot, nf_ice_scan's, nf_histq_query's. cat, duck, req,
 * ns, table and opt are borrowed. */
nf_status nf_histq_run(nf_ice_catalog *cat, const char *ns, const char *table,
                       const nf_histq_options *opt, nf_duck *duck, const nf_q_request *req,
                       nf_histq_result **out, nf_histq_stats *stats, nf_err *err);

/* Frees a result. NULL-safe. */
void nf_histq_result_free(nf_histq_result *r);

#endif

/* rollup.h — the cold tier's hourly rollup tables: one Iceberg table per family
 * `default.netflow_rollup_1h_<family>` (format v2, partitioned by day(ts), sorted by ts), each
 * holding, per hour and per combination of the family's dims, the sums the hot tier's
 * rollups hold (docs/clickhouse.md). Written by maintenance for closed days
 * (lib/pqwriter/rollup.h), read by the historical queries (lib/histq) in place of raw data
 * for whole hours of days whose rollup is current. Design: docs/iceberg.md, "Rollups".
 *
 * The tables are named after the raw table: `<raw>_rollup_1h_<family>` (nf_cold_rollup_table).
 * Families: the 8 of lib/query (build.c `families[]`), hourly only, in the same order (fewest
 * rows per bucket first): iface, as, dst_port, src_addr, dst_addr, exporter_dst_port,
 * exporter_src_addr, exporter_dst_addr.
 *
 * Columns of a family's table (ids in this order):
 *   1       ts              timestamptz   start of the hour (UTC, whole hour)
 *   2..     the dims        the raw table's names and types (lib/cold/table.h)
 *   then    flows           long          rows of the raw table (count)
 *           flows_scaled    long          sum(sampling_rate)
 *           bytes           long          sum(bytes)
 *           bytes_scaled    long          sum(bytes * sampling_rate)
 *           packets         long          sum(packets)
 *           packets_scaled  long          sum(packets * sampling_rate)
 * Every sum is taken exactly (128 bits) and stored modulo 2^64 as a two's-complement long:
 * the queries sum modulo 2^64 as ClickHouse's UInt64 do, and (a + b) mod 2^64 equals
 * ((a mod 2^64) + (b mod 2^64)) mod 2^64, so summing rollup rows gives the raw answer bit
 * for bit. The scaled sums mean what lib/query's scaled metrics mean (ClickHouse's views
 * compute sum(bytes) * rate per rate, the same number modulo 2^64).
 *
 * Freshness: every snapshot of a rollup table records, in its summary key
 * NF_COLD_ROLLUP_SUMMARY_DAYS, "day:raw_records,…" — for every day the table covers, the
 * number of raw records (sum of record_count of the raw table's live files of that day) the
 * day's rollup was computed from. A day's rollup may stand in for raw snapshot S exactly when
 * S's live record count of that day is the recorded one: the raw table only ever gains whole
 * files (appends), swaps files for ones with the same rows (compaction) or loses whole days
 * (retention), so an equal count means the same rows.
 *
 * Thread safety: constant data and pure functions; any thread.
 */
#ifndef NFX_LIB_COLD_ROLLUP_H
#define NFX_LIB_COLD_ROLLUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../iceberg/iceberg.h"
#include "table.h"

#define NF_COLD_ROLLUP_NFAMILIES 8
#define NF_COLD_ROLLUP_MAX_DIMS 4
#define NF_COLD_ROLLUP_NMETRICS 6
/* ts + dims + metrics */
#define NF_COLD_ROLLUP_MAX_COLUMNS (1 + NF_COLD_ROLLUP_MAX_DIMS + NF_COLD_ROLLUP_NMETRICS)
/* The resolution of every rollup table: one hour, in seconds. */
#define NF_COLD_ROLLUP_SECONDS 3600

/* Summary key of every rollup snapshot (see the top). */
#define NF_COLD_ROLLUP_SUMMARY_DAYS "serviceradar.rollup.days"

typedef struct nf_cold_rollup {
    const char *family;                     /* "iface", as lib/query names it */
    int32_t dims[NF_COLD_ROLLUP_MAX_DIMS];  /* raw column ids (NF_COLD_*), in table order */
    size_t ndims;
    /* Type of a column of this family's table by field id, 0 for an unknown id
     * (nf_ice_manifest_ctx.type_of). */
    nf_ice_type (*type_of)(int32_t field_id);
} nf_cold_rollup;

/* The families, fewest rows first (lib/query's order). */
extern const nf_cold_rollup nf_cold_rollups[NF_COLD_ROLLUP_NFAMILIES];

/* Partition spec (day(ts), field 1000 "ts_day"), its JSON, sort order 1 (ts ascending) and the
 * table properties (those of the raw table: v2, zstd Parquet, expiry). Same for every
 * family. */
extern const nf_ice_spec nf_cold_rollup_spec;
extern const char nf_cold_rollup_spec_json[];
extern const char nf_cold_rollup_sort_order_json[];

/* The name of r's table next to raw table `raw` (borrowed): "<raw>_rollup_1h_<family>", e.g.
 * "netflow_rollup_1h_iface", written to out (cap bytes, NUL-terminated). NF_EINVAL if raw is
 * NULL or empty or the name does not fit. */
#define NF_COLD_ROLLUP_NAME_MAX 128
nf_status nf_cold_rollup_table(const char *raw, const nf_cold_rollup *r, char *out, size_t cap,
                               nf_err *err);

/* The family named `family` ("iface", …), NULL if none. */
const nf_cold_rollup *nf_cold_rollup_named(const char *family);

/* The columns of r's table in id order (out[i].id == i + 1): ts, the dims, the metrics.
 * Returns their number (at most NF_COLD_ROLLUP_MAX_COLUMNS). The strings are static. */
size_t nf_cold_rollup_columns(const nf_cold_rollup *r,
                              nf_cold_column out[NF_COLD_ROLLUP_MAX_COLUMNS]);

/* The schema object of r's table (schema-id 0, every field optional like the raw table's),
 * malloc'd JSON text; the caller frees it. NULL if memory ran out. */
char *nf_cold_rollup_schema_json(const nf_cold_rollup *r);

/* ---- the summary's day list ----------------------------------------------------------------- */

typedef struct nf_cold_rollup_day {
    int32_t day;          /* days since 1970-01-01 (the partition value) */
    int64_t raw_records;  /* raw live records the day's rollup was computed from */
} nf_cold_rollup_day;

/* Most days a list may hold: 100 years. A longer list is refused as malformed. */
#define NF_COLD_ROLLUP_MAX_DAYS 36600

/* Parses "day:records,day:records" (NULL or "" = no day) into *out (malloc'd, sorted by
 * day, no day twice; free with free(); NULL when *n is 0). NF_EINVAL naming the offending
 * entry for anything else: missing ':', a number out of range (day outside int32, records
 * negative), a repeated day, more than NF_COLD_ROLLUP_MAX_DAYS entries. Outputs written
 * only on NF_OK. */
nf_status nf_cold_rollup_days_parse(const char *text, nf_cold_rollup_day **out, size_t *n,
                                    nf_err *err);

/* Formats n days (sorted by day) as the summary value; malloc'd, caller frees; "" for n 0;
 * NULL if memory ran out. */
char *nf_cold_rollup_days_format(const nf_cold_rollup_day *days, size_t n);

/* The recorded raw count of day in days (n entries, sorted), or -1 if absent. */
int64_t nf_cold_rollup_days_find(const nf_cold_rollup_day *days, size_t n, int32_t day);

#endif

/* query.h — the SQL for the questions core asks the ClickHouse hot tier: top-N by a flow
 * field and time series, over a time range, with filters, for a metric. Schema:
 * docs/clickhouse.md.
 *
 * Requests are typed (enums, numbers, 16-byte addresses); text from users is parsed into
 * them by the nf_q_parse_* functions, which refuse anything they do not understand and name
 * the parameter. The SQL builder writes only values it produced itself (decimal numbers,
 * hex-encoded addresses through unhex()), so nothing a user typed is ever pasted into SQL.
 *
 * Table choice: a rollup can answer when every field the request groups or filters by is
 * one of its dims. The range [start, end) is split into the part whole buckets of the
 * coarsest usable table cover (1 h, then 5 min) and the edges, which finer tables answer —
 * down to the raw table for what is not a whole five minutes. The parts are summed in one
 * query (UNION ALL), so the answer equals what the raw table alone would give
 * (nf_q_request.raw_only forces that, for tests and comparison).
 *
 * Results (TabSeparated unless the caller appends another FORMAT):
 *   top-N:       key, value     — key as text: addresses "10.1.2.3" / "2001:db8::1",
 *                                 numbers in decimal; ordered by value desc, then by
 *                                 key (numbers numerically, addresses by their 16 bytes)
 *   time series: ts, value      — ts as epoch seconds (bucket start), ascending; buckets
 *                                 without flows are absent
 */
#ifndef NFX_LIB_QUERY_QUERY_H
#define NFX_LIB_QUERY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"

typedef enum nf_q_field {
    NF_Q_NONE = 0,
    NF_Q_SRC_ADDR, /* names: "src_ip" (also "src_addr") */
    NF_Q_DST_ADDR, /* "dst_ip" (also "dst_addr") */
    NF_Q_SRC_PORT, /* "src_port" */
    NF_Q_DST_PORT, /* "dst_port" */
    NF_Q_PROTOCOL, /* "protocol": number or name (tcp, udp, icmp, icmpv6, gre, esp, sctp;
                    * any case) */
    NF_Q_EXPORTER, /* "exporter" (also "exporter_ip"): address or CIDR */
    NF_Q_IN_IF,    /* "in_if" */
    NF_Q_OUT_IF,   /* "out_if" */
    NF_Q_SRC_AS,   /* "src_as" */
    NF_Q_DST_AS,   /* "dst_as" */
    NF_Q_TIME,     /* "time": group_by only, makes a time series */
} nf_q_field;

typedef enum nf_q_metric { NF_Q_BYTES, NF_Q_PACKETS, NF_Q_FLOWS } nf_q_metric;

/* One filter: field equals a value, or an address lies in a CIDR range (lo..hi inclusive,
 * 16-byte form, IPv4 as IPv4-mapped). Several filters on the same field are ORed, filters on
 * different fields ANDed. */
typedef struct nf_q_filter {
    nf_q_field field;
    uint8_t lo[16], hi[16]; /* address fields */
    uint64_t value;         /* numeric fields */
} nf_q_filter;

#define NF_Q_MAX_FILTERS 16

typedef struct nf_q_request {
    int64_t start;       /* epoch seconds, inclusive */
    int64_t end;         /* epoch seconds, exclusive; end > start */
    nf_q_field group_by; /* a field, or NF_Q_TIME for a time series */
    uint32_t interval;   /* time series bucket in seconds (>= 1); ignored for top-N */
    nf_q_metric metric;
    bool unscaled;       /* true: counters as exported; false (default): × sampling rate */
    uint32_t limit;      /* top-N rows (1..10000); ignored for time series */
    nf_q_filter filters[NF_Q_MAX_FILTERS];
    size_t nfilters;
    bool raw_only;       /* answer from the raw table only */
} nf_q_request;

/* Text → typed. Each returns NF_OK or NF_EINVAL with err->msg naming param (the API
 * parameter the text came from, e.g. "filter", "group_by") and what is wrong. */
nf_status nf_q_parse_field(const char *text, const char *param, nf_q_field *out, nf_err *err);
nf_status nf_q_parse_metric(const char *text, const char *param, nf_q_metric *out, nf_err *err);
/* "field=value": src_ip=10.0.0.0/8, dst_ip=2001:db8::1, dst_port=443, protocol=tcp,
 * exporter=192.0.2.1, in_if=3, src_as=64500. Ports 0..65535, interfaces and AS 0..2^32-1,
 * protocol 0..255 or a name; an address without /len is a single host. */
nf_status nf_q_parse_filter(const char *text, const char *param, nf_q_filter *out,
                            nf_err *err);

/* The field's API name ("src_ip", …); "none" for NF_Q_NONE and unknown values. Static. */
const char *nf_q_field_name(nf_q_field f);

/* Builds the SQL for req against database db (a plain identifier). *sql is malloc'd, the
 * caller frees it. NF_EINVAL (naming the request member) for an invalid request: end <=
 * start, start < 0 or end > 2^32-1 (ClickHouse DateTime), group_by NONE, unknown metric,
 * limit 0 or > 10000, interval 0, a filter on NF_Q_TIME, a filter value outside its
 * column's type or lo > hi, too many filters, more than 1000 time buckets; and for db. */
nf_status nf_q_build(const nf_q_request *req, const char *db, char **sql, nf_err *err);

/* Recent flows (the UI's "recent flows" table): the newest req->limit rows of the raw table
 * in [start, end) matching the filters, newest first (ties: addresses, then ports — a stable
 * order). group_by, interval, metric and unscaled are ignored; limit 1..NF_Q_FLOWS_MAX.
 * Columns (TabSeparated): timestamp (epoch s), src_ip, dst_ip (text as top-N keys),
 * src_port, dst_port, protocol, bytes, packets (as exported: unscaled), exporter (text),
 * in_if, out_if, sampling_rate. *sql malloc'd (free()). NF_EINVAL as nf_q_build for the
 * range, the filters and db; for limit outside 1..NF_Q_FLOWS_MAX; NF_ENOMEM. */
#define NF_Q_FLOWS_MAX 1000u
nf_status nf_q_build_flows(const nf_q_request *req, const char *db, char **sql, nf_err *err);

/* Builds the DuckDB SQL for req over the cold tier's Parquet data files (lib/cold/table.h
 * columns): read_parquet of the nfiles paths in files (local paths or file:// URIs, e.g. what
 * nf_ice_scan kept), the same answer as nf_q_build's on the same flows — same rows, same
 * order, same text, sums wrapping modulo 2^64 as ClickHouse's UInt64 do. Columns:
 *   top-N:       key VARCHAR, value UBIGINT
 *   time series: ts BIGINT (epoch seconds, bucket start), value UBIGINT
 * nfiles 0 gives a query with these columns and no rows. raw_only is irrelevant (one
 * source). *sql is malloc'd, the caller frees it. NF_EINVAL for every request nf_q_build
 * refuses (same messages), and for a missing list, an empty path, a path longer than
 * PATH_MAX or with a control character or a glob character ('*', '?', '['); NF_ENOMEM. The
 * paths are borrowed for the call. Design: duck.c. */
nf_status nf_q_build_duckdb(const nf_q_request *req, const char *const *files, size_t nfiles,
                            char **sql, nf_err *err);

/* The rollup family lib/query would answer req from ("iface", "as", "dst_port", "src_addr",
 * "dst_addr", "exporter_dst_port", "exporter_src_addr", "exporter_dst_addr"; static text):
 * the first, fewest rows first, whose dims include every field req groups or filters by.
 * NULL if none can, or req->raw_only. The cold tier's hourly rollups (lib/cold/rollup.h) use
 * the same names. req is borrowed and need not be valid beyond its fields being in range. */
const char *nf_q_family_for(const nf_q_request *req);

/* A time range [start, end), epoch seconds. */
typedef struct nf_q_span {
    int64_t start, end;
} nf_q_span;

/* What the cold tier answers a request from when it mixes raw files and hourly rollups
 * (lib/histq): the raw files answer the raw spans (row-level time filter), the rollup files
 * of family nf_q_family_for(req) (lib/cold/rollup.h columns: ts, the dims, flows,
 * flows_scaled, bytes, bytes_scaled, packets, packets_scaled) the rollup spans. All borrowed. */
typedef struct nf_q_cold_parts {
    const char *const *raw_files;
    size_t nraw_files;
    const nf_q_span *raw_spans;
    size_t nraw_spans;
    const char *const *rollup_files;
    size_t nrollup_files;
    const nf_q_span *rollup_spans;
    size_t nrollup_spans;
} nf_q_cold_parts;

/* nf_q_build_duckdb over raw files and hourly rollup files: one SQL, UNION ALL of the parts'
 * partial sums (exact, 128-bit) summed and reduced modulo 2^64 — the same rows, order and
 * text as nf_q_build_duckdb gives over raw files holding the same flows. The spans (each
 * list sorted, non-empty spans) must be disjoint and together cover exactly [start, end);
 * rollup spans must start and end on whole hours, need a family (nf_q_family_for not NULL)
 * and, for a time series, an interval that is a multiple of 3600. NF_EINVAL naming the part
 * for anything else, and for everything nf_q_build_duckdb refuses; NF_ENOMEM. *sql is
 * malloc'd, the caller frees it. */
nf_status nf_q_build_duckdb_parts(const nf_q_request *req, const nf_q_cold_parts *parts,
                                  char **sql, nf_err *err);

/* Text bounds of an address filter, for pruning data files by the min/max statistics of a
 * text address column: every address in f's range [lo, hi] has a text form t (as
 * nf_addr_format writes it) with lo <= t <= hi, compared as unsigned bytes, for one of the
 * *n (1..NF_Q_TEXT_RANGES) ranges written to out. A single address gives its own text; a
 * range gives [prefix, prefix "\xff"] per part (below, inside and above the IPv4-mapped
 * block), where the prefix is the text all its addresses begin with. Returns false (out
 * untouched) when some part has no such prefix (e.g. 0.0.0.0/1, ::/0) or f is not a valid
 * address filter: then no file can be excluded by that filter. */
#define NF_Q_TEXT_RANGES 3
#define NF_Q_TEXT_MAX 48 /* longest address text (45) and the 0xff byte, NUL-terminated */
typedef struct nf_q_text_range {
    char lo[NF_Q_TEXT_MAX], hi[NF_Q_TEXT_MAX];
} nf_q_text_range;
bool nf_q_addr_text_bounds(const nf_q_filter *f, nf_q_text_range out[NF_Q_TEXT_RANGES],
                           size_t *n);

/* Describes the plan nf_q_build chose, for logs and tests: e.g.
 * "raw[1700000000,1700000300) rollup_5m_src_addr[1700000300,1700003600) rollup_1h_src_addr[…)".
 * Written to out (NUL-terminated, truncated to n). Refuses the requests nf_q_build refuses. */
nf_status nf_q_explain(const nf_q_request *req, char *out, size_t n, nf_err *err);

#endif

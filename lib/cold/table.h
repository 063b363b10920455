/* table.h — the flow table of the cold tier: Iceberg table `default.netflow` (format v2,
 * partitioned by day(timestamp), sorted by timestamp). One definition used by everything
 * that writes or reads it: the Parquet writer (column names, DuckDB types, field ids), the
 * manifests (types of the bounds), the catalog's create call and the historical queries.
 *
 * Columns keep the PRD's names (timestamp, src_ip, dst_ip, src_port, dst_port, protocol,
 * bytes) with ids 1-7, then the rest of a flow record. Semantics equal the hot tier's
 * (docs/clickhouse.md), so the same question gets the same answer from both:
 *   - timestamp: when the collector received the flow, whole seconds (µs type, UTC);
 *   - addresses: text, IPv4 as dotted quad (not IPv4-mapped), IPv6 as RFC 5952;
 *   - counters as exported (not scaled); sampling_rate beside them (scale at query time);
 *   - flow_start / flow_end: the exporter's times, whole seconds;
 *   - unsigned 32-bit fields are `long` (Iceberg has no unsigned types), 8/16-bit `int`.
 * Every column is optional in the schema (Parquet writers mark columns OPTIONAL; readers
 * that compare repetition with `required` then agree); the writer never writes a null.
 */
#ifndef NFX_LIB_COLD_TABLE_H
#define NFX_LIB_COLD_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "../iceberg/iceberg.h"

typedef struct nf_cold_column {
    int32_t id;             /* Iceberg field id == Parquet field id */
    const char *name;
    nf_ice_type type;
    const char *iceberg;    /* type name in schema JSON */
    const char *duckdb;     /* DuckDB type the writer uses */
} nf_cold_column;

enum {
    NF_COLD_TIMESTAMP = 1,
    NF_COLD_SRC_IP,
    NF_COLD_DST_IP,
    NF_COLD_SRC_PORT,
    NF_COLD_DST_PORT,
    NF_COLD_PROTOCOL,
    NF_COLD_BYTES,
    NF_COLD_PACKETS,
    NF_COLD_TCP_FLAGS,
    NF_COLD_TOS,
    NF_COLD_EXPORTER_IP,
    NF_COLD_OBSERVATION_DOMAIN,
    NF_COLD_SAMPLING_RATE,
    NF_COLD_IN_IF,
    NF_COLD_OUT_IF,
    NF_COLD_SRC_AS,
    NF_COLD_DST_AS,
    NF_COLD_SRC_MASK,
    NF_COLD_DST_MASK,
    NF_COLD_NEXT_HOP_IP,
    NF_COLD_FLOW_START,
    NF_COLD_FLOW_END,
    NF_COLD_FLOW_TYPE,
    NF_COLD_AGENT_ID,
    NF_COLD_NCOLUMNS = NF_COLD_AGENT_ID /* ids are 1..NF_COLD_NCOLUMNS */
};

/* The columns in id order: nf_cold_columns[i].id == i + 1. */
extern const nf_cold_column nf_cold_columns[NF_COLD_NCOLUMNS];

/* Partition field of spec 0: day(timestamp), id 1000, name "timestamp_day". */
extern const nf_ice_spec nf_cold_spec;

/* JSON texts for nf_ice_catalog_create / nf_ice_manifest_ctx: schema 0, spec 0, sort order 1
 * (timestamp ascending), and the table properties (format v2, zstd Parquet, expiry). */
extern const char nf_cold_schema_json[];
extern const char nf_cold_spec_json[];
extern const char nf_cold_sort_order_json[];
extern const char nf_cold_properties_json[];

/* Type of a column by field id (nf_ice_manifest_ctx.type_of); 0 for an unknown id. */
nf_ice_type nf_cold_type_of(int32_t field_id);

/* Column by name, NULL if none. */
const nf_cold_column *nf_cold_column_named(const char *name);

/* Default table identifier. */
#define NF_COLD_NAMESPACE "default"
#define NF_COLD_TABLE "netflow"

/* Summary keys the Parquet writer records in each snapshot it commits (docs/iceberg.md):
 * the JetStream stream, the highest stream sequence committed, and the committed sequence
 * set above the consumer's ack floor, as ranges "a-b,c-d". */
#define NF_COLD_SUMMARY_STREAM "serviceradar.jetstream.stream"
#define NF_COLD_SUMMARY_LAST_SEQ "serviceradar.jetstream.last-sequence"
#define NF_COLD_SUMMARY_SEQS "serviceradar.jetstream.committed"

#endif

/* flowfile.h — the cold tier's Parquet data files: flow records in, zstd Parquet files of the
 * table lib/cold/table.h describes out (column names and Parquet field ids equal to the
 * table's), with the statistics an Iceberg manifest entry needs.
 *
 * Layout: <location>/data/timestamp_day=YYYY-MM-DD/<uuid>.parquet, one partition (UTC day of
 * `timestamp`) per file. Rows are sorted by timestamp (the table's sort order 1), then by
 * exporter, protocol, source and destination address, which groups similar rows so zstd and
 * the dictionaries compress them better: nf_flowfile_write orders the addresses by their
 * 16-byte form (numeric; IPv4 before IPv6), nf_flowfile_rewrite by their text (SQL). A file is written under a temporary directory
 * next to its final place, fsync'd and renamed, so a crash never leaves a partial file
 * under a final name; the directory is fsync'd after the rename.
 *
 * Returned files are nf_ice_datafile values ready for nf_ice_manifest_write: path URI,
 * record_count, file_size, partition = day number, partition_null false, sort_order_id 1,
 * status NF_ICE_ADDED, snapshot_id/data_seq/file_seq -1, and cols[] for every column in id
 * order (value_count, null_count, lower/upper bounds in Iceberg's single-value encoding,
 * column_size = compressed bytes of the column chunks). Free them with
 * nf_ice_datafiles_free (lib/iceberg).
 *
 * All or nothing: on failure every file the call created is removed.
 *
 * Memory (measured, bench/flowfile_bench.c): nf_flowfile_write stages one day's flows in
 * DuckDB at about 290 bytes per flow, and DuckDB's Parquet writer holds a row group of up to
 * 1 M rows (about 300-600 MB) while encoding it: 2 M flows peak at 1.2 GB in DuckDB. Callers
 * bound it by the number of flows per call. A memory_limit below that fails with
 * NF_EUPSTREAM (an in-memory database does not spill its temp tables).
 * Thread safety: as the nf_duck used (one call at a time per nf_duck). The call uses a temp
 * table named nf_flowfile_stage on the connection and relies on DuckDB's default
 * preserve_insertion_order = true (do not turn it off on an nf_duck used here).
 */
#ifndef NFX_LIB_DUCK_FLOWFILE_H
#define NFX_LIB_DUCK_FLOWFILE_H

#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../flow/flow.h"
#include "../iceberg/iceberg.h"
#include "duck.h"

/* Files larger than this (or with more rows than NF_FLOWFILE_MAX_ROWS) are split. */
#define NF_FLOWFILE_MAX_BYTES "1GB"
#define NF_FLOWFILE_MAX_ROWS 100000000

/* Writes n flows (borrowed) as one Parquet file per UTC day of their timestamp under
 * table_location ("file:///abs/dir" or "/abs/dir", borrowed; directories are created).
 * agent_ids: per flow agent id text (borrowed), or NULL for "" everywhere; a NULL element
 * is "" too. Column values follow lib/cold/table.h: timestamp = received_ms floored to whole
 * seconds, flow_start/flow_end = first_ms/last_ms floored to whole seconds, times after
 * 9999-12-31T23:59:59Z clamped to it, counters above INT64_MAX clamped to INT64_MAX,
 * addresses as text (nf_addr_format).
 * On NF_OK *files (owned by the caller: nf_ice_datafiles_free) holds *nfiles files sorted by
 * day (n == 0 gives none). Errors: NF_EINVAL (bad argument or location), NF_EIO naming the
 * path that could not be created, written, synced or renamed, NF_EUPSTREAM with DuckDB's
 * message, NF_ENOMEM. Outputs are written only on NF_OK. */
nf_status nf_flowfile_write(nf_duck *d, const nf_flow *flows, const char *const *agent_ids,
                            size_t n, const char *table_location, nf_ice_datafile **files,
                            size_t *nfiles, nf_err *err);

/* Compaction: reads the n Parquet files input_uris (file:// URIs or absolute paths,
 * borrowed; columns matched by name) and writes their rows, sorted as above, as one file
 * (several if beyond NF_FLOWFILE_MAX_BYTES / NF_FLOWFILE_MAX_ROWS) in partition `day` (days
 * since 1970-01-01) of table_location, with the same format and statistics. Every row must
 * lie in that day: otherwise NF_EINVAL and nothing is left. The inputs are not touched
 * (deleting them is the caller's business once the replace is committed). Outputs and
 * errors as nf_flowfile_write. */
nf_status nf_flowfile_rewrite(nf_duck *d, const char *const *input_uris, size_t n,
                              const char *table_location, int32_t day, nf_ice_datafile **files,
                              size_t *nfiles, nf_err *err);

#endif

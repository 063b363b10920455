/* pqstats.h — the statistics an Iceberg manifest entry needs, read back from a Parquet file
 * that is already written: record count, and per column value and null counts, exact
 * lower/upper bounds (Iceberg's single-value encoding) and compressed size.
 *
 * Why read back rather than trust the writer: the statistics then describe the bytes on disk.
 * DuckDB reads the file once with one aggregate over all the asked columns (count, min, max),
 * then parquet_metadata() for the compressed sizes. Any Parquet file DuckDB reads will do;
 * columns are matched by name.
 *
 * Used for the raw table's files (lib/duck/flowfile.c, which adds its partition-day check)
 * and the rollup maintenance (lib/pqwriter/rollup.c).
 *
 * Thread safety: as the nf_duck used (one call at a time per nf_duck).
 */
#ifndef NFX_LIB_DUCK_PQSTATS_H
#define NFX_LIB_DUCK_PQSTATS_H

#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"
#include "../cold/table.h"
#include "../iceberg/iceberg.h"
#include "duck.h"

/* Reads the statistics of the Parquet file at path (local path, borrowed) for the ncols
 * columns cols (borrowed; id, name and type are used; at most 64). On NF_OK *records is the
 * file's row count and *stats (malloc'd array of ncols, caller frees with free()) holds, for
 * cols[i], field_id = cols[i].id, value_count = rows, null_count, bounds (none when every
 * value is null; strings truncated as iceberg.h describes), column_size = compressed bytes
 * over all row groups (-1 if parquet_metadata does not list the column).
 * Errors: NF_EINVAL (bad argument, SQL too long for the path), NF_EUPSTREAM with DuckDB's
 * message (unreadable file, missing column), NF_ENOMEM. Outputs written only on NF_OK. */
nf_status nf_pqstats_read(nf_duck *d, const char *path, const nf_cold_column *cols, size_t ncols,
                          int64_t *records, nf_ice_colstat **stats, nf_err *err);

/* Whether the statistics ts (borrowed; a TIMESTAMPTZ column's, as nf_pqstats_read gives
 * them) put every row in UTC day `day` (days since 1970-01-01): true when ts has both bounds,
 * no nulls, and its bounds lie in [day start, next day start). A column without bounds (no
 * rows, or only nulls) gives false. *lo_us and *hi_us (may be NULL) receive the bounds in µs
 * (0 when there are none). */
bool nf_pqstats_in_day(const nf_ice_colstat *ts, int32_t day, int64_t *lo_us, int64_t *hi_us);

#endif

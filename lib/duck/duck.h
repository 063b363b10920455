/* duck.h — a thin wrapper over DuckDB's C API: one database with one connection, statements
 * run for their effect, and queries whose materialized result is read by row and column.
 *
 * Used by the cold tier: the Parquet writer (flowfile.h) stages flows and COPYs them to
 * Parquet; the historical query helper turns SELECT results into API rows.
 *
 * Errors: a statement DuckDB refuses is NF_EUPSTREAM with DuckDB's own message (which names
 * the offending identifier or file) in err->msg, cut to fit.
 *
 * Thread safety: an nf_duck is NOT thread-safe: use one per thread, or serialise calls.
 * DuckDB itself may use `threads` worker threads inside one call. Distinct nf_duck objects
 * share nothing. A result is independent of later calls on its nf_duck but must be freed
 * before the nf_duck is closed.
 */
#ifndef NFX_LIB_DUCK_DUCK_H
#define NFX_LIB_DUCK_DUCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <duckdb.h>

#include "../base/nf_status.h"

typedef struct nf_duck nf_duck;
typedef struct nf_duck_result nf_duck_result;

/* Opens a database: path is a DuckDB file (created if absent), or NULL for an in-memory one.
 * threads > 0 sets DuckDB's worker threads (0 = DuckDB's default, one per core);
 * memory_limit is a DuckDB size text such as "512MB" (NULL = DuckDB's default). path and
 * memory_limit are borrowed. NF_EUPSTREAM with DuckDB's message if it refuses (bad setting,
 * unopenable file); NF_ENOMEM. *out is written only on NF_OK; close with nf_duck_close. */
nf_status nf_duck_open(const char *path, int threads, const char *memory_limit, nf_duck **out,
                       nf_err *err);

/* Closes the connection and the database. NULL-safe. */
void nf_duck_close(nf_duck *d);

/* Runs sql (one or more statements, borrowed) and discards any result. NF_EUPSTREAM with
 * DuckDB's message on failure. */
nf_status nf_duck_exec(nf_duck *d, const char *sql, nf_err *err);

/* Runs sql (borrowed) and returns its whole result, materialized, in *out (written only on
 * NF_OK; free with nf_duck_result_free). NF_EUPSTREAM with DuckDB's message on failure. */
nf_status nf_duck_query(nf_duck *d, const char *sql, nf_duck_result **out, nf_err *err);

/* Frees a result and every text it handed out. NULL-safe. */
void nf_duck_result_free(nf_duck_result *r);

/* Shape of a result. */
size_t nf_duck_result_rows(nf_duck_result *r);
size_t nf_duck_result_cols(nf_duck_result *r);
/* Name of column col (owned by r, valid until it is freed); NULL if col is out of range. */
const char *nf_duck_result_name(nf_duck_result *r, size_t col);
/* DuckDB's type of column col (DUCKDB_TYPE_INVALID if out of range). */
duckdb_type nf_duck_result_type(nf_duck_result *r, size_t col);

/* Value accessors. Out-of-range row/col reads as NULL. is_null: SQL NULL.
 * int64: the value cast to BIGINT (0 for NULL or when the cast fails: TIMESTAMP values read
 * as µs since the epoch are better selected as epoch_us(x)); double likewise (0.0).
 * text: the value as DuckDB prints it, NUL-terminated; the pointer is owned by r and valid
 * until nf_duck_result_free; NULL for SQL NULL or if memory ran out. */
bool nf_duck_result_is_null(nf_duck_result *r, size_t row, size_t col);
int64_t nf_duck_result_int64(nf_duck_result *r, size_t row, size_t col);
double nf_duck_result_double(nf_duck_result *r, size_t row, size_t col);
const char *nf_duck_result_text(nf_duck_result *r, size_t row, size_t col);

/* The DuckDB connection (borrowed, valid until nf_duck_close), for the appender and other
 * calls this wrapper does not cover. Same thread rule as the nf_duck. */
duckdb_connection nf_duck_connection(nf_duck *d);

/* Appends s to buf (cap bytes, NUL-terminated, at *len) as a SQL string literal: quoted, with
 * quotes doubled. NF_EINVAL (naming what) if it does not fit. */
nf_status nf_duck_quote(char *buf, size_t cap, size_t *len, const char *s, const char *what,
                        nf_err *err);

/* Appends printf text to buf (cap bytes, NUL-terminated, at *len), for building a statement
 * piece by piece. NF_EINVAL if it does not fit (buf's text is then cut, *len unchanged). */
nf_status nf_duck_sql_add(char *buf, size_t cap, size_t *len, nf_err *err, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif

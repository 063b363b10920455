/* pqstats.c — statistics of a written Parquet file for its manifest entry (see pqstats.h).
 *
 * One aggregate query: count(*) and, per column, count(col), min(col), max(col) (timestamps
 * through epoch_us so they read as µs integers), then parquet_metadata() summed per column
 * path for compressed sizes. Bounds are encoded by lib/iceberg (nf_ice_bound_*: little-endian
 * numbers, strings truncated on UTF-8 character boundaries), so nf_duck links
 * nf_iceberg_format (which depends on nf_base only: no cycle).
 */
#include "pqstats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest statement: 64 columns × ~100 bytes plus a quoted path of PATH_MAX. */
#define SQL_MAX 16384
#define MAX_COLS 64

/* A column name safe to write as a quoted identifier: no '"', no control characters. */
static bool
plain_name(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (*s == '"' || (unsigned char)*s < 0x20)
            return false;
    return true;
}

nf_status
nf_pqstats_read(nf_duck *d, const char *path, const nf_cold_column *cols, size_t ncols,
                int64_t *records, nf_ice_colstat **stats, nf_err *err)
{
    if (d == NULL || path == NULL || records == NULL || stats == NULL ||
        (ncols > 0 && cols == NULL))
        return nf_err_set(err, NF_EINVAL, "parquet statistics: missing argument");
    if (ncols > MAX_COLS)
        return nf_err_set(err, NF_EINVAL, "%s: statistics of %zu columns, at most %d", path,
                          ncols, MAX_COLS);
    for (size_t i = 0; i < ncols; i++)
        if (!plain_name(cols[i].name))
            return nf_err_set(err, NF_EINVAL, "%s: column %zu has an unusable name", path, i);

    char *sql = malloc(SQL_MAX);
    nf_ice_colstat *cs = calloc(ncols ? ncols : 1, sizeof *cs);
    nf_duck_result *r = NULL;
    nf_status st = NF_OK;
    if (sql == NULL || cs == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "%s: statistics of %zu columns", path, ncols);
        goto done;
    }
    size_t len = 0;
    st = nf_duck_sql_add(sql, SQL_MAX, &len, err, "SELECT count(*)");
    for (size_t i = 0; st == NF_OK && i < ncols; i++) {
        const char *fn = cols[i].type == NF_ICE_TIMESTAMPTZ ? "epoch_us" : "";
        st = nf_duck_sql_add(sql, SQL_MAX, &len, err,
                             ", count(\"%s\"), min(%s(\"%s\")), max(%s(\"%s\"))", cols[i].name,
                             fn, cols[i].name, fn, cols[i].name);
    }
    if (st == NF_OK)
        st = nf_duck_sql_add(sql, SQL_MAX, &len, err, " FROM read_parquet(");
    if (st == NF_OK)
        st = nf_duck_quote(sql, SQL_MAX, &len, path, path, err);
    if (st == NF_OK)
        st = nf_duck_sql_add(sql, SQL_MAX, &len, err, ")");
    if (st == NF_OK)
        st = nf_duck_query(d, sql, &r, err);
    if (st != NF_OK)
        goto done;
    if (nf_duck_result_rows(r) != 1) {
        st = nf_err_set(err, NF_EINTERNAL, "%s: statistics query gave no row", path);
        goto done;
    }
    int64_t rows = nf_duck_result_int64(r, 0, 0);
    for (size_t i = 0; i < ncols; i++) {
        nf_ice_colstat *c = &cs[i];
        size_t k = 1 + 3 * i;
        int64_t nonnull = nf_duck_result_int64(r, 0, k);
        c->field_id = cols[i].id;
        c->column_size = -1;
        c->value_count = rows;
        c->null_count = rows - nonnull;
        if (nonnull == 0)
            continue;
        switch (cols[i].type) {
        case NF_ICE_INT:
        case NF_ICE_DATE:
            c->lower_len = (uint8_t)nf_ice_bound_int((int32_t)nf_duck_result_int64(r, 0, k + 1),
                                                     c->lower);
            c->upper_len = (uint8_t)nf_ice_bound_int((int32_t)nf_duck_result_int64(r, 0, k + 2),
                                                     c->upper);
            break;
        case NF_ICE_LONG:
        case NF_ICE_TIMESTAMPTZ:
            c->lower_len = (uint8_t)nf_ice_bound_long(nf_duck_result_int64(r, 0, k + 1), c->lower);
            c->upper_len = (uint8_t)nf_ice_bound_long(nf_duck_result_int64(r, 0, k + 2), c->upper);
            break;
        case NF_ICE_STRING: {
            const char *lo = nf_duck_result_text(r, 0, k + 1);
            const char *hi = nf_duck_result_text(r, 0, k + 2);
            if (lo == NULL || hi == NULL) {
                st = nf_err_set(err, NF_ENOMEM, "%s: bounds of %s", path, cols[i].name);
                goto done;
            }
            nf_ice_bound_string_lower(c, lo, strlen(lo));
            nf_ice_bound_string_upper(c, hi, strlen(hi));
            break;
        }
        default: /* BINARY: no bounds written (they would need the raw bytes) */
            break;
        }
    }
    nf_duck_result_free(r);
    r = NULL;

    len = 0;
    st = nf_duck_sql_add(
        sql, SQL_MAX, &len, err,
        "SELECT path_in_schema, sum(total_compressed_size)::BIGINT FROM parquet_metadata(");
    if (st == NF_OK)
        st = nf_duck_quote(sql, SQL_MAX, &len, path, path, err);
    if (st == NF_OK)
        st = nf_duck_sql_add(sql, SQL_MAX, &len, err, ") GROUP BY ALL");
    if (st == NF_OK)
        st = nf_duck_query(d, sql, &r, err);
    if (st != NF_OK)
        goto done;
    for (size_t row = 0; row < nf_duck_result_rows(r); row++) {
        const char *name = nf_duck_result_text(r, row, 0);
        for (size_t i = 0; name != NULL && i < ncols; i++)
            if (strcmp(cols[i].name, name) == 0)
                cs[i].column_size = nf_duck_result_int64(r, row, 1);
    }
    *records = rows;
    *stats = cs;
    cs = NULL;
done:
    nf_duck_result_free(r);
    free(sql);
    free(cs);
    return st;
}

/* A LONG/TIMESTAMPTZ bound back to its value (little-endian two's complement). */
static int64_t
bound_long_value(const uint8_t b[8])
{
    uint64_t u = 0;
    for (int i = 7; i >= 0; i--)
        u = u << 8 | b[i];
    return (int64_t)u;
}

bool
nf_pqstats_in_day(const nf_ice_colstat *ts, int32_t day, int64_t *lo_us, int64_t *hi_us)
{
    bool bounded = ts->lower_len == 8 && ts->upper_len == 8;
    int64_t lo = bounded ? bound_long_value(ts->lower) : 0;
    int64_t hi = bounded ? bound_long_value(ts->upper) : 0;
    if (lo_us != NULL)
        *lo_us = lo;
    if (hi_us != NULL)
        *hi_us = hi;
    int64_t first = (int64_t)day * 86400000000LL, end = first + 86400000000LL;
    return bounded && ts->null_count == 0 && lo >= first && hi < end;
}

/* duck.c — DuckDB's C API behind nf_duck (see duck.h for the contract).
 *
 * Design: one duckdb_database and one duckdb_connection per nf_duck, opened together and
 * closed together, so the caller holds one handle. Results are materialized duckdb_result
 * objects (duckdb_query), read through DuckDB's value accessors, which convert between
 * types; texts they return are collected in the result and freed with it, so callers never
 * free individual values.
 *
 * Invariants:
 *   1. An nf_duck always holds an open database and connection (never half open).
 *   2. Every text handed out by nf_duck_result_text is in r->texts and freed exactly once.
 */
#include "duck.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct nf_duck {
    duckdb_database db;
    duckdb_connection conn;
};

struct nf_duck_result {
    duckdb_result res;
    char **texts; /* texts handed out (duckdb_free each); owned */
    size_t ntexts, captexts;
};

nf_status
nf_duck_open(const char *path, int threads, const char *memory_limit, nf_duck **out,
             nf_err *err)
{
    const char *where = path != NULL ? path : ":memory:";
    if (out == NULL || threads < 0)
        return nf_err_set(err, NF_EINVAL, "duckdb open %s: bad arguments", where);
    nf_duck *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return nf_err_set(err, NF_ENOMEM, "duckdb open %s: out of memory", where);

    duckdb_config cfg = NULL;
    char *open_err = NULL;
    nf_status st = NF_OK;
    if (duckdb_create_config(&cfg) != DuckDBSuccess) {
        st = nf_err_set(err, NF_ENOMEM, "duckdb open %s: cannot create config", where);
        goto fail;
    }
    char num[32];
    if (threads > 0) {
        snprintf(num, sizeof(num), "%d", threads);
        if (duckdb_set_config(cfg, "threads", num) != DuckDBSuccess) {
            st = nf_err_set(err, NF_EINVAL, "duckdb open %s: threads=%d refused", where, threads);
            goto fail;
        }
    }
    if (memory_limit != NULL &&
        duckdb_set_config(cfg, "memory_limit", memory_limit) != DuckDBSuccess) {
        st = nf_err_set(err, NF_EINVAL, "duckdb open %s: memory_limit '%s' refused", where,
                        memory_limit);
        goto fail;
    }
    if (duckdb_open_ext(path, &d->db, cfg, &open_err) != DuckDBSuccess) {
        st = nf_err_set(err, NF_EUPSTREAM, "duckdb open %s: %s", where,
                        open_err != NULL ? open_err : "failed");
        goto fail;
    }
    if (duckdb_connect(d->db, &d->conn) != DuckDBSuccess) {
        duckdb_close(&d->db);
        st = nf_err_set(err, NF_EUPSTREAM, "duckdb open %s: cannot connect", where);
        goto fail;
    }
    duckdb_destroy_config(&cfg);
    *out = d;
    return NF_OK;
fail:
    if (open_err != NULL)
        duckdb_free(open_err);
    if (cfg != NULL)
        duckdb_destroy_config(&cfg);
    free(d);
    return st;
}

void
nf_duck_close(nf_duck *d)
{
    if (d == NULL)
        return;
    duckdb_disconnect(&d->conn);
    duckdb_close(&d->db);
    free(d);
}

duckdb_connection
nf_duck_connection(nf_duck *d)
{
    return d->conn;
}

/* Fills err from a failed result; the SQL is not repeated (it may be long), DuckDB's message
 * names what failed. */
static nf_status
upstream(nf_err *err, duckdb_result *res)
{
    const char *m = duckdb_result_error(res);
    return nf_err_set(err, NF_EUPSTREAM, "duckdb: %s", m != NULL ? m : "query failed");
}

nf_status
nf_duck_exec(nf_duck *d, const char *sql, nf_err *err)
{
    if (d == NULL || sql == NULL)
        return nf_err_set(err, NF_EINVAL, "duckdb exec: NULL argument");
    duckdb_result res;
    nf_status st = NF_OK;
    if (duckdb_query(d->conn, sql, &res) != DuckDBSuccess)
        st = upstream(err, &res);
    duckdb_destroy_result(&res);
    return st;
}

nf_status
nf_duck_query(nf_duck *d, const char *sql, nf_duck_result **out, nf_err *err)
{
    if (d == NULL || sql == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "duckdb query: NULL argument");
    nf_duck_result *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return nf_err_set(err, NF_ENOMEM, "duckdb query: out of memory");
    if (duckdb_query(d->conn, sql, &r->res) != DuckDBSuccess) {
        nf_status st = upstream(err, &r->res);
        duckdb_destroy_result(&r->res);
        free(r);
        return st;
    }
    *out = r;
    return NF_OK;
}

void
nf_duck_result_free(nf_duck_result *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->ntexts; i++)
        duckdb_free(r->texts[i]);
    free(r->texts);
    duckdb_destroy_result(&r->res);
    free(r);
}

size_t
nf_duck_result_rows(nf_duck_result *r)
{
    return (size_t)duckdb_row_count(&r->res);
}

size_t
nf_duck_result_cols(nf_duck_result *r)
{
    return (size_t)duckdb_column_count(&r->res);
}

const char *
nf_duck_result_name(nf_duck_result *r, size_t col)
{
    if (col >= nf_duck_result_cols(r))
        return NULL;
    return duckdb_column_name(&r->res, col);
}

duckdb_type
nf_duck_result_type(nf_duck_result *r, size_t col)
{
    if (col >= nf_duck_result_cols(r))
        return DUCKDB_TYPE_INVALID;
    return duckdb_column_type(&r->res, col);
}

/* True if (row, col) names a cell. */
static bool
in_range(nf_duck_result *r, size_t row, size_t col)
{
    return row < nf_duck_result_rows(r) && col < nf_duck_result_cols(r);
}

bool
nf_duck_result_is_null(nf_duck_result *r, size_t row, size_t col)
{
    return !in_range(r, row, col) || duckdb_value_is_null(&r->res, col, row);
}

int64_t
nf_duck_result_int64(nf_duck_result *r, size_t row, size_t col)
{
    return in_range(r, row, col) ? duckdb_value_int64(&r->res, col, row) : 0;
}

double
nf_duck_result_double(nf_duck_result *r, size_t row, size_t col)
{
    return in_range(r, row, col) ? duckdb_value_double(&r->res, col, row) : 0.0;
}

const char *
nf_duck_result_text(nf_duck_result *r, size_t row, size_t col)
{
    if (nf_duck_result_is_null(r, row, col))
        return NULL;
    if (r->ntexts == r->captexts) {
        size_t cap = r->captexts != 0 ? r->captexts * 2 : 16;
        char **t = realloc(r->texts, cap * sizeof(*t));
        if (t == NULL)
            return NULL;
        r->texts = t;
        r->captexts = cap;
    }
    char *v = duckdb_value_varchar(&r->res, col, row);
    if (v == NULL)
        return NULL;
    r->texts[r->ntexts++] = v;
    return v;
}

nf_status
nf_duck_quote(char *buf, size_t cap, size_t *len, const char *s, const char *what, nf_err *err)
{
    size_t n = *len;
    if (n >= cap)
        return nf_err_set(err, NF_EINVAL, "%s: SQL text longer than %zu bytes", what, cap);
    /* Room check per byte: a quote becomes two, plus the closing quote and the NUL. */
    if (n + 1 >= cap)
        goto too_long;
    buf[n++] = '\'';
    for (const char *p = s; *p != '\0'; p++) {
        size_t need = *p == '\'' ? 2 : 1;
        if (n + need + 1 >= cap)
            goto too_long;
        if (*p == '\'')
            buf[n++] = '\'';
        buf[n++] = *p;
    }
    buf[n++] = '\'';
    buf[n] = '\0';
    *len = n;
    return NF_OK;
too_long:
    return nf_err_set(err, NF_EINVAL, "%s: SQL text longer than %zu bytes", what, cap);
}

nf_status
nf_duck_sql_add(char *buf, size_t cap, size_t *len, nf_err *err, const char *fmt, ...)
{
    if (*len >= cap)
        return nf_err_set(err, NF_EINVAL, "SQL statement longer than %zu bytes", cap);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *len)
        return nf_err_set(err, NF_EINVAL, "SQL statement longer than %zu bytes", cap);
    *len += (size_t)k;
    return NF_OK;
}

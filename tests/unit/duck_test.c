/* duck_test.c — lib/duck: the DuckDB wrapper (exec, query, accessors, errors carrying
 * DuckDB's message) and the Parquet data files: flows over three days → three files, then
 * checked with DuckDB against values computed here from the flows (row counts, sums, text
 * addresses v4/v6), the file's own schema (field ids, zstd), the row order, every column
 * bound against SQL min/max over the file, temp names gone, the unwritable location
 * (NF_EIO naming it), and compaction (the rewrite of several files equals their union; a
 * wrong day is refused and leaves nothing), the day check on timestamp statistics and SQL
 * text building. Each test works in its own mkdtemp directory,
 * removed at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/addr.h"
#include "cold/table.h"
#include "duck/duck.h"
#include "duck/flowfile.h"
#include "duck/pqstats.h"
#include "flowgen/flowgen.h"

#define DAY_MS 86400000ull
#define DAY0 20454 /* 2026-01-01 */

/* ---- helpers ------------------------------------------------------------------------------ */

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void
rm_tree(const char *dir)
{
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static int g_tmp_found;

static int
tmp_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    if (strstr(p + ftw->base, "tmp") != NULL)
        g_tmp_found++;
    return 0;
}

/* Number of entries under dir whose name contains "tmp". */
static int
count_tmp(const char *dir)
{
    g_tmp_found = 0;
    nftw(dir, tmp_cb, 16, FTW_PHYS);
    return g_tmp_found;
}

typedef struct fixture {
    char dir[64];
    char loc[128];
    nf_duck *d;
} fixture;

static int
setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    assert_non_null(fx);
    strcpy(fx->dir, "/tmp/duck_test.XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->loc, sizeof(fx->loc), "file://%s/netflow", fx->dir);
    nf_err err = {0};
    assert_int_equal(nf_duck_open(NULL, 2, "1GB", &fx->d, &err), NF_OK);
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    fixture *fx = *state;
    nf_duck_close(fx->d);
    rm_tree(fx->dir);
    free(fx);
    return 0;
}

/* One int64 from a one-cell query. */
static int64_t
q64(nf_duck *d, const char *fmt, ...)
{
    char sql[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    nf_duck_result *r = NULL;
    nf_err err = {0};
    if (nf_duck_query(d, sql, &r, &err) != NF_OK)
        fail_msg("%s: %s", sql, err.msg);
    assert_int_equal(nf_duck_result_rows(r), 1);
    int64_t v = nf_duck_result_int64(r, 0, 0);
    nf_duck_result_free(r);
    return v;
}

static void
set_addr4(uint8_t out[16], uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    uint8_t v4[4] = {a, b, c, d};
    nf_addr_from_v4(out, v4);
}

/* n >= 12 hand-made flows over days DAY0..DAY0+2 (in mixed order), flow 7 IPv6. */
static nf_flow *
make_flows(size_t n)
{
    nf_flow *f = calloc(n, sizeof(*f));
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        uint64_t day = DAY0 + (i * 7) % 3;
        f[i].received_ms = day * DAY_MS + (i * 7919) % DAY_MS + 123; /* not whole seconds */
        f[i].first_ms = f[i].received_ms - 5000 - i % 1000;
        f[i].last_ms = f[i].received_ms - 1000;
        set_addr4(f[i].src_addr, 10, (uint8_t)(i % 5), (uint8_t)(i % 251), (uint8_t)(i % 13));
        set_addr4(f[i].dst_addr, 192, 168, (uint8_t)(i % 3), (uint8_t)(1 + i % 200));
        set_addr4(f[i].exporter, 127, 0, 0, (uint8_t)(10 + i % 4));
        f[i].bytes = 40 + (i * 131) % 100000;
        f[i].packets = 1 + i % 77;
        f[i].in_if = (uint32_t)(i % 9);
        f[i].out_if = 4000000000u; /* > INT32_MAX: must stay positive as a long */
        f[i].src_as = 64512;
        f[i].dst_as = (uint32_t)(i % 3000);
        f[i].domain = (uint32_t)(i % 4);
        f[i].sampling_rate = 1 + (uint32_t)(i % 2) * 99;
        f[i].src_port = (uint16_t)(1024 + i % 60000);
        f[i].dst_port = (uint16_t)(i % 2 ? 443 : 53);
        f[i].protocol = i % 2 ? 6 : 17;
        f[i].tcp_flags = (uint8_t)(i % 64);
        f[i].tos = (uint8_t)(i % 4);
        f[i].src_mask = 24;
        f[i].dst_mask = 16;
        f[i].ip_version = 4;
        f[i].flow_type = (uint8_t)(i % 2 ? 9 : 10);
    }
    /* One IPv6 flow, and a flow whose counters exceed INT64_MAX (clamped). */
    assert_true(nf_addr_parse("2001:db8::1", f[7].src_addr));
    assert_true(nf_addr_parse("2001:db8:0:0:1::2", f[7].dst_addr));
    f[7].ip_version = 6;
    f[8].bytes = UINT64_MAX;
    /* Edge cases of the dotted-quad text. */
    set_addr4(f[10].src_addr, 0, 0, 0, 0);
    set_addr4(f[10].dst_addr, 255, 255, 255, 255);
    set_addr4(f[11].src_addr, 1, 20, 100, 0);
    set_addr4(f[11].next_hop, 100, 9, 10, 199);
    return f;
}

/* Local path of a file:// URI (borrowed). */
static const char *
upath(const char *uri)
{
    assert_int_equal(strncmp(uri, "file://", 7), 0);
    return uri + 7;
}

/* nf_ice_datafiles_free lives in nf_iceberg_format, not linked here yet. */
static void
free_files(nf_ice_datafile *files, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        free(files[k].path);
        free(files[k].cols);
    }
    free(files);
}

/* Checks every column bound of f against SQL min/max computed over the file. */
static void
check_bounds(nf_duck *d, const nf_ice_datafile *f)
{
    const char *p = upath(f->path);
    assert_int_equal(f->ncols, NF_COLD_NCOLUMNS);
    for (size_t i = 0; i < NF_COLD_NCOLUMNS; i++) {
        const nf_cold_column *c = &nf_cold_columns[i];
        const nf_ice_colstat *s = &f->cols[i];
        assert_int_equal(s->field_id, c->id);
        assert_int_equal(s->value_count, f->record_count);
        assert_int_equal(s->null_count, 0);
        assert_true(s->column_size > 0);
        char sql[512];
        snprintf(sql, sizeof(sql), "SELECT min(\"%s\")::VARCHAR, max(\"%s\")::VARCHAR, "
                 "epoch_us(min(\"%s\")::TIMESTAMPTZ), epoch_us(max(\"%s\")::TIMESTAMPTZ) "
                 "FROM read_parquet('%s')", c->name, c->name,
                 c->type == NF_ICE_TIMESTAMPTZ ? c->name : "timestamp",
                 c->type == NF_ICE_TIMESTAMPTZ ? c->name : "timestamp", p);
        nf_duck_result *r = NULL;
        nf_err err = {0};
        if (nf_duck_query(d, sql, &r, &err) != NF_OK)
            fail_msg("%s", err.msg);
        const char *lo = nf_duck_result_text(r, 0, 0), *hi = nf_duck_result_text(r, 0, 1);
        assert_non_null(lo);
        assert_non_null(hi);
        switch (c->type) {
        case NF_ICE_INT: {
            assert_int_equal(s->lower_len, 4);
            assert_int_equal(s->upper_len, 4);
            int32_t a = (int32_t)(s->lower[0] | s->lower[1] << 8 | s->lower[2] << 16 |
                                  (uint32_t)s->lower[3] << 24);
            int32_t b = (int32_t)(s->upper[0] | s->upper[1] << 8 | s->upper[2] << 16 |
                                  (uint32_t)s->upper[3] << 24);
            assert_int_equal(a, strtoll(lo, NULL, 10));
            assert_int_equal(b, strtoll(hi, NULL, 10));
            break;
        }
        case NF_ICE_LONG:
        case NF_ICE_TIMESTAMPTZ: {
            assert_int_equal(s->lower_len, 8);
            assert_int_equal(s->upper_len, 8);
            uint64_t a = 0, b = 0;
            for (int k = 7; k >= 0; k--) {
                a = a << 8 | s->lower[k];
                b = b << 8 | s->upper[k];
            }
            if (c->type == NF_ICE_LONG) {
                assert_int_equal((int64_t)a, strtoll(lo, NULL, 10));
                assert_int_equal((int64_t)b, strtoll(hi, NULL, 10));
            } else {
                assert_int_equal((int64_t)a, nf_duck_result_int64(r, 0, 2));
                assert_int_equal((int64_t)b, nf_duck_result_int64(r, 0, 3));
                assert_int_equal((int64_t)a % 1000000, 0); /* whole seconds */
            }
            break;
        }
        case NF_ICE_STRING: {
            size_t ll = strlen(lo), hl = strlen(hi);
            if (ll <= NF_ICE_BOUND_MAX) {
                assert_int_equal(s->lower_len, ll);
                assert_memory_equal(s->lower, lo, ll);
            } else {
                assert_int_equal(s->lower_len, NF_ICE_BOUND_MAX);
                assert_memory_equal(s->lower, lo, NF_ICE_BOUND_MAX);
            }
            if (hl <= NF_ICE_BOUND_MAX) {
                assert_int_equal(s->upper_len, hl);
                assert_memory_equal(s->upper, hi, hl);
            } else {
                assert_int_equal(s->upper_len, NF_ICE_BOUND_MAX);
                assert_memory_equal(s->upper, hi, NF_ICE_BOUND_MAX - 1);
                assert_int_equal(s->upper[NF_ICE_BOUND_MAX - 1],
                                 (uint8_t)hi[NF_ICE_BOUND_MAX - 1] + 1);
            }
            break;
        }
        default:
            fail_msg("unexpected type of %s", c->name);
        }
        nf_duck_result_free(r);
    }
}

/* Checks the rows of file p are in the write's order: timestamp, then exporter, protocol,
 * source, destination as 16-byte addresses (parsed back from the text here). */
static void
check_numeric_order(nf_duck *d, const char *p)
{
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT epoch_us(\"timestamp\"), exporter_ip, protocol, src_ip, "
             "dst_ip FROM read_parquet('%s', file_row_number = true) ORDER BY file_row_number", p);
    nf_duck_result *r = NULL;
    nf_err err = {0};
    if (nf_duck_query(d, sql, &r, &err) != NF_OK)
        fail_msg("%s", err.msg);
    uint8_t prev[49] = {0}, cur[49];
    int64_t prev_ts = INT64_MIN;
    for (size_t i = 0; i < nf_duck_result_rows(r); i++) {
        int64_t ts = nf_duck_result_int64(r, i, 0);
        assert_true(nf_addr_parse(nf_duck_result_text(r, i, 1), cur));
        cur[16] = (uint8_t)nf_duck_result_int64(r, i, 2);
        assert_true(nf_addr_parse(nf_duck_result_text(r, i, 3), cur + 17));
        assert_true(nf_addr_parse(nf_duck_result_text(r, i, 4), cur + 33));
        assert_true(ts >= prev_ts);
        if (ts == prev_ts && memcmp(cur, prev, sizeof(cur)) < 0)
            fail_msg("%s: row %zu out of order", p, i);
        prev_ts = ts;
        memcpy(prev, cur, sizeof(cur));
    }
    nf_duck_result_free(r);
}

/* Checks a file's schema (names, field ids), codec, order and manifest fields; text_order:
 * the rewrite's order (addresses as text), else the write's (16-byte addresses). */
static void
check_file(nf_duck *d, const nf_ice_datafile *f, bool text_order)
{
    const char *p = upath(f->path);
    struct stat sb;
    assert_int_equal(stat(p, &sb), 0);
    assert_int_equal(f->file_size, sb.st_size);
    assert_false(f->partition_null);
    assert_int_equal(f->sort_order_id, 1);
    assert_int_equal(f->status, NF_ICE_ADDED);
    assert_int_equal(f->snapshot_id, -1);
    assert_int_equal(f->data_seq, -1);
    assert_int_equal(f->file_seq, -1);
    assert_int_equal(q64(d, "SELECT count(*) FROM read_parquet('%s')", p), f->record_count);
    /* Field ids equal lib/cold's, every column present once. */
    for (size_t i = 0; i < NF_COLD_NCOLUMNS; i++)
        assert_int_equal(q64(d, "SELECT count(*) FROM parquet_schema('%s') WHERE name = '%s' "
                             "AND field_id = %d", p, nf_cold_columns[i].name,
                             (int)nf_cold_columns[i].id), 1);
    assert_int_equal(q64(d, "SELECT count(*) FROM parquet_schema('%s') WHERE field_id IS NOT "
                         "NULL", p), NF_COLD_NCOLUMNS);
    /* zstd everywhere; column sizes are the chunk sizes. */
    assert_int_equal(q64(d, "SELECT count(*) FROM parquet_metadata('%s') WHERE compression <> "
                         "'ZSTD'", p), 0);
    for (size_t i = 0; i < NF_COLD_NCOLUMNS; i++)
        assert_int_equal(q64(d, "SELECT sum(total_compressed_size) FROM parquet_metadata('%s') "
                             "WHERE path_in_schema = '%s'", p, nf_cold_columns[i].name),
                         f->cols[i].column_size);
    /* Sorted by timestamp, exporter_ip, protocol, src_ip, dst_ip in file order. */
    if (!text_order)
        check_numeric_order(d, p);
    else
        assert_int_equal(q64(d, "SELECT count(*) FROM (SELECT (\"timestamp\", exporter_ip, "
                             "protocol, src_ip, dst_ip) AS k, lag(k) OVER (ORDER BY "
                             "file_row_number) AS pk FROM read_parquet('%s', file_row_number = "
                             "true)) WHERE k < pk", p), 0);
    /* Every row in the partition's day. */
    assert_int_equal(q64(d, "SELECT count(*) FROM read_parquet('%s') WHERE "
                         "epoch_us(\"timestamp\") // 86400000000 <> %d", p, (int)f->partition), 0);
    check_bounds(d, f);
}

/* ---- tests: wrapper ----------------------------------------------------------------------- */

static void
test_duck_query(void **state)
{
    fixture *fx = *state;
    nf_err err = {0};
    assert_int_equal(nf_duck_exec(fx->d, "CREATE TABLE t (a INTEGER, b VARCHAR, c DOUBLE)", &err),
                     NF_OK);
    assert_int_equal(nf_duck_exec(fx->d, "INSERT INTO t VALUES (1, 'x''y', 1.5), (NULL, NULL, "
                                  "NULL), (-7, '2001:db8::1', 2.25)", &err), NF_OK);
    nf_duck_result *r = NULL;
    assert_int_equal(nf_duck_query(fx->d, "SELECT a, b, c FROM t ORDER BY a NULLS LAST", &r, &err),
                     NF_OK);
    assert_int_equal(nf_duck_result_rows(r), 3);
    assert_int_equal(nf_duck_result_cols(r), 3);
    assert_string_equal(nf_duck_result_name(r, 1), "b");
    assert_null(nf_duck_result_name(r, 3));
    assert_int_equal(nf_duck_result_type(r, 0), DUCKDB_TYPE_INTEGER);
    assert_int_equal(nf_duck_result_int64(r, 0, 0), -7);
    assert_string_equal(nf_duck_result_text(r, 0, 1), "2001:db8::1");
    assert_string_equal(nf_duck_result_text(r, 1, 1), "x'y");
    assert_true(nf_duck_result_double(r, 1, 2) == 1.5);
    assert_string_equal(nf_duck_result_text(r, 1, 0), "1");
    assert_true(nf_duck_result_is_null(r, 2, 0));
    assert_null(nf_duck_result_text(r, 2, 1));
    assert_true(nf_duck_result_is_null(r, 3, 0)); /* out of range */
    assert_int_equal(nf_duck_result_int64(r, 0, 9), 0);
    nf_duck_result_free(r);

    r = NULL;
    assert_int_equal(nf_duck_query(fx->d, "SELECT * FROM no_such_table", &r, &err), NF_EUPSTREAM);
    assert_null(r);
    assert_non_null(strstr(err.msg, "no_such_table"));
    assert_int_equal(nf_duck_exec(fx->d, "SELEC 1", &err), NF_EUPSTREAM);
    assert_non_null(strstr(err.msg, "syntax"));

    char buf[16];
    size_t len = 0;
    assert_int_equal(nf_duck_quote(buf, sizeof(buf), &len, "a'b", "t", &err), NF_OK);
    assert_string_equal(buf, "'a''b'");
    assert_int_equal(nf_duck_quote(buf, sizeof(buf), &len, "0123456789", "t", &err), NF_EINVAL);

    nf_duck *bad = NULL;
    assert_int_equal(nf_duck_open(NULL, 1, "lots", &bad, &err), NF_EINVAL);
    assert_null(bad);
    assert_int_equal(nf_duck_open("/nonexistent-dir/x/y.duckdb", 1, NULL, &bad, &err),
                     NF_EUPSTREAM);
    assert_null(bad);
}

/* ---- tests: files ------------------------------------------------------------------------- */

static void
test_write_three_days(void **state)
{
    fixture *fx = *state;
    const size_t n = 30000;
    nf_flow *flows = make_flows(n);
    const char **agents = calloc(n, sizeof(*agents));
    assert_non_null(agents);
    for (size_t i = 0; i < n; i++)
        agents[i] = i % 3 == 0 ? "agent-a" : i % 3 == 1 ? NULL
                               : "agent-with-a-name-longer-than-thirty-two-bytes";
    nf_ice_datafile *files = NULL;
    size_t nfiles = 0;
    nf_err err = {0};
    nf_status st = nf_flowfile_write(fx->d, flows, agents, n, fx->loc, &files, &nfiles, &err);
    if (st != NF_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(nfiles, 3);
    int64_t total = 0;
    for (size_t k = 0; k < nfiles; k++) {
        const nf_ice_datafile *f = &files[k];
        assert_int_equal(f->partition, DAY0 + (int32_t)k);
        char want[256];
        snprintf(want, sizeof(want), "%s/data/timestamp_day=2026-01-0%zu/", fx->loc, k + 1);
        assert_int_equal(strncmp(f->path, want, strlen(want)), 0);
        assert_non_null(strstr(f->path, ".parquet"));
        /* Counts and sums computed here from the flows. */
        int64_t rows = 0, bytes = 0, pkts = 0;
        for (size_t i = 0; i < n; i++) {
            if ((int64_t)(flows[i].received_ms / DAY_MS) != f->partition)
                continue;
            rows++;
            bytes += flows[i].bytes > INT64_MAX ? 0 : (int64_t)flows[i].bytes;
            pkts += (int64_t)flows[i].packets;
        }
        assert_int_equal(f->record_count, rows);
        total += rows;
        const char *p = upath(f->path);
        assert_int_equal(q64(fx->d, "SELECT sum(bytes) FILTER (WHERE bytes <> 9223372036854775807)"
                             " FROM read_parquet('%s')", p), bytes);
        assert_int_equal(q64(fx->d, "SELECT sum(packets) FROM read_parquet('%s')", p), pkts);
        check_file(fx->d, f, false);
    }
    assert_int_equal(total, (int64_t)n);

    /* Values of single flows, by text address (v4 dotted, v6 RFC 5952). */
    char g[1024];
    snprintf(g, sizeof(g), "read_parquet('%s/netflow/data/*/*.parquet')", fx->dir);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM %s WHERE src_ip = '2001:db8::1' AND "
                         "dst_ip = '2001:db8::1:0:0:2'", g), 1);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM %s WHERE src_ip = '0.0.0.0' AND "
                         "dst_ip = '255.255.255.255'", g), 1);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM %s WHERE src_ip = '1.20.100.0' AND "
                         "next_hop_ip = '100.9.10.199'", g), 1);
    /* Every text address is what nf_addr_format gives (checked here over all flows). */
    int64_t distinct_text = q64(fx->d, "SELECT count(DISTINCT src_ip) FROM %s", g);
    {
        char (*txt)[NF_ADDR_STRLEN] = calloc(n, NF_ADDR_STRLEN);
        assert_non_null(txt);
        for (size_t i = 0; i < n; i++)
            nf_addr_format(flows[i].src_addr, txt[i]);
        qsort(txt, n, NF_ADDR_STRLEN, (int (*)(const void *, const void *))strcmp);
        int64_t distinct = 0;
        for (size_t i = 0; i < n; i++) {
            if (i > 0 && strcmp(txt[i], txt[i - 1]) == 0)
                continue;
            distinct++;
            if (i % 97 == 0) /* a sample: each text present */
                assert_true(q64(fx->d, "SELECT count(*) FROM %s WHERE src_ip = '%s'", g,
                                txt[i]) > 0);
        }
        assert_int_equal(distinct, distinct_text);
        free(txt);
    }
    const nf_flow *f9 = &flows[9];
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM %s WHERE src_ip = '10.4.9.9' AND "
                         "dst_ip = '192.168.0.10' AND exporter_ip = '127.0.0.11' AND "
                         "next_hop_ip = '::' AND src_port = %u AND dst_port = 443 AND "
                         "protocol = 6 AND epoch_us(\"timestamp\") = %" PRIu64 " AND "
                         "epoch_us(flow_start) = %" PRIu64 " AND epoch_us(flow_end) = %" PRIu64
                         " AND out_if = 4000000000 AND sampling_rate = 100 AND flow_type = 9 "
                         "AND agent_id = 'agent-a' AND observation_domain = 1 AND tcp_flags = 9",
                         g, f9->src_port, f9->received_ms / 1000 * 1000000,
                         f9->first_ms / 1000 * 1000000, f9->last_ms / 1000 * 1000000), 1);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM %s WHERE bytes = 9223372036854775807", g), 1);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM %s WHERE agent_id = 'agent-a'", g),
                     (int64_t)(n + 2) / 3);
    assert_int_equal(count_tmp(fx->dir), 0);

    free_files(files, nfiles);
    free(agents);
    free(flows);
}

static void
test_unwritable(void **state)
{
    fixture *fx = *state;
    nf_flow *flows = make_flows(12);
    char blocker[128], loc[256];
    snprintf(blocker, sizeof(blocker), "%s/plainfile", fx->dir);
    FILE *fp = fopen(blocker, "w");
    assert_non_null(fp);
    fclose(fp);
    /* A directory under a regular file cannot be created, even by root. */
    snprintf(loc, sizeof(loc), "file://%s/netflow", blocker);
    nf_ice_datafile *files = NULL;
    size_t nfiles = 7;
    nf_err err = {0};
    assert_int_equal(nf_flowfile_write(fx->d, flows, NULL, 10, loc, &files, &nfiles, &err), NF_EIO);
    assert_non_null(strstr(err.msg, blocker));
    assert_null(files);
    assert_int_equal(nfiles, 7);
    /* A read-only directory, when permissions apply (not as root). */
    if (geteuid() != 0) {
        char ro[128];
        snprintf(ro, sizeof(ro), "%s/ro", fx->dir);
        assert_int_equal(mkdir(ro, 0555), 0);
        snprintf(loc, sizeof(loc), "file://%s/netflow", ro);
        assert_int_equal(nf_flowfile_write(fx->d, flows, NULL, 10, loc, &files, &nfiles, &err),
                         NF_EIO);
        assert_non_null(strstr(err.msg, ro));
        chmod(ro, 0755);
    }
    assert_int_equal(nf_flowfile_write(fx->d, flows, NULL, 10, "relative/dir", &files, &nfiles,
                                       &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "relative/dir"));
    free(flows);
}

static void
test_rewrite(void **state)
{
    fixture *fx = *state;
    const size_t n = 9000;
    nf_flow *flows = make_flows(n);
    /* Keep day DAY0+1 only, written in three calls → three files. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (flows[i].received_ms / DAY_MS == DAY0 + 1)
            flows[m++] = flows[i];
    assert_true(m > 2000);
    nf_ice_datafile *parts[3];
    size_t nparts[3];
    const char *uris[3];
    nf_err err = {0};
    size_t third = m / 3;
    for (int k = 0; k < 3; k++) {
        size_t lo = k * third, cnt = k == 2 ? m - lo : third;
        assert_int_equal(nf_flowfile_write(fx->d, flows + lo, NULL, cnt, fx->loc, &parts[k],
                                           &nparts[k], &err), NF_OK);
        assert_int_equal(nparts[k], 1);
        uris[k] = parts[k][0].path;
    }
    nf_ice_datafile *out = NULL;
    size_t nout = 0;
    nf_status st = nf_flowfile_rewrite(fx->d, uris, 3, fx->loc, DAY0 + 1, &out, &nout, &err);
    if (st != NF_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(nout, 1);
    assert_int_equal(out[0].record_count, (int64_t)m);
    assert_int_equal(out[0].partition, DAY0 + 1);
    check_file(fx->d, &out[0], true);
    /* The rewrite equals the union of its inputs, as multisets. */
    char in[1024];
    snprintf(in, sizeof(in), "read_parquet(['%s', '%s', '%s'])", upath(uris[0]), upath(uris[1]),
             upath(uris[2]));
    const char *o = upath(out[0].path);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM (SELECT * FROM %s EXCEPT ALL SELECT * FROM "
                         "read_parquet('%s'))", in, o), 0);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM (SELECT * FROM read_parquet('%s') EXCEPT ALL"
                         " SELECT * FROM %s)", o, in), 0);
    /* Inputs untouched. */
    for (int k = 0; k < 3; k++)
        assert_int_equal(access(upath(uris[k]), F_OK), 0);

    /* Wrong day: refused, nothing left behind. */
    char dir[256];
    snprintf(dir, sizeof(dir), "%s/netflow/data/timestamp_day=2026-01-01", fx->dir);
    nf_ice_datafile *bad = NULL;
    size_t nbad = 0;
    assert_int_equal(nf_flowfile_rewrite(fx->d, uris, 3, fx->loc, DAY0, &bad, &nbad, &err),
                     NF_EINVAL);
    assert_non_null(strstr(err.msg, "outside partition day"));
    assert_null(bad);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM glob('%s/*')", dir), 0);
    assert_int_equal(count_tmp(fx->dir), 0);
    /* A missing input: DuckDB's error, naming it. */
    const char *missing[1] = {"file:///nonexistent/x.parquet"};
    assert_int_equal(nf_flowfile_rewrite(fx->d, missing, 1, fx->loc, DAY0, &bad, &nbad, &err),
                     NF_EUPSTREAM);
    assert_non_null(strstr(err.msg, "/nonexistent/x.parquet"));

    free_files(out, nout);
    for (int k = 0; k < 3; k++)
        free_files(parts[k], nparts[k]);
    free(flows);
}

/* ---- flowgen traffic ---------------------------------------------------------------------- */

typedef struct collect {
    nf_flow *flows;
    size_t n, cap;
    uint64_t now_ms;
} collect;

static void
hook(void *ctx, const nf_flow *f)
{
    collect *c = ctx;
    if (c->n < c->cap) {
        c->flows[c->n] = *f;
        c->flows[c->n].received_ms = c->now_ms;
        c->n++;
    }
}

static void
test_flowgen(void **state)
{
    fixture *fx = *state;
    flowgen_config cfg;
    flowgen_config_default(&cfg);
    cfg.protocol = FLOWGEN_MIX;
    cfg.exporters = 8;
    cfg.ipv6_share = 20;
    cfg.start_ms = (uint64_t)DAY0 * DAY_MS + DAY_MS - 2000; /* crosses midnight */
    cfg.flows_per_sec = 20000;
    nf_err err = {0};
    flowgen *g = NULL;
    assert_int_equal(flowgen_create(&cfg, &g, &err), NF_OK);
    collect c = {.cap = 100000};
    c.flows = calloc(c.cap, sizeof(*c.flows));
    assert_non_null(c.flows);
    flowgen_set_flow_hook(g, hook, &c);
    uint8_t buf[2048];
    while (c.n < c.cap) {
        size_t len;
        flowgen_datagram info;
        c.now_ms = 0;
        /* received_ms is the datagram's virtual time: known after the call, so patch. */
        size_t before = c.n;
        assert_int_equal(flowgen_next(g, 0, buf, sizeof(buf), &len, &info), NF_OK);
        for (size_t i = before; i < c.n; i++)
            c.flows[i].received_ms = info.virtual_ms;
    }
    flowgen_destroy(g);
    nf_ice_datafile *files = NULL;
    size_t nfiles = 0;
    nf_status st = nf_flowfile_write(fx->d, c.flows, NULL, c.n, fx->loc, &files, &nfiles, &err);
    if (st != NF_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(nfiles, 2);
    int64_t bytes = 0, sum = 0;
    for (size_t i = 0; i < c.n; i++)
        sum += (int64_t)c.flows[i].bytes;
    for (size_t k = 0; k < nfiles; k++) {
        check_file(fx->d, &files[k], false);
        bytes += files[k].file_size;
        assert_int_equal(files[k].partition, DAY0 + (int32_t)k);
    }
    char g2[512];
    snprintf(g2, sizeof(g2), "read_parquet('%s/netflow/data/*/*.parquet')", fx->dir);
    assert_int_equal(q64(fx->d, "SELECT sum(bytes) FROM %s", g2), sum);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM %s", g2), (int64_t)c.n);
    assert_true(q64(fx->d, "SELECT count(*) FROM %s WHERE src_ip LIKE '%%:%%'", g2) > 0);
    assert_int_equal(q64(fx->d, "SELECT count(*) FROM %s WHERE src_ip LIKE '::ffff:%%'", g2), 0);
    print_message("flowgen: %zu flows, %zu files, %.2f bytes per flow\n", c.n, nfiles,
                  (double)bytes / (double)c.n);
    free_files(files, nfiles);
    free(c.flows);
}

/* nf_pqstats_in_day: bounds exactly at the day's edges, one µs outside, nulls, none. */
static void
test_in_day(void **state)
{
    (void)state;
    const int32_t day = 20000;
    const int64_t first = (int64_t)day * 86400000000LL, last = first + 86400000000LL - 1;
    nf_ice_colstat ts = {.field_id = NF_COLD_TIMESTAMP, .value_count = 2};
    ts.lower_len = (uint8_t)nf_ice_bound_long(first, ts.lower);
    ts.upper_len = (uint8_t)nf_ice_bound_long(last, ts.upper);
    int64_t lo = 0, hi = 0;
    assert_true(nf_pqstats_in_day(&ts, day, &lo, &hi));
    assert_int_equal(lo, first);
    assert_int_equal(hi, last);
    assert_false(nf_pqstats_in_day(&ts, day + 1, NULL, NULL));
    assert_false(nf_pqstats_in_day(&ts, day - 1, NULL, NULL));
    nf_ice_bound_long(last + 1, ts.upper);
    assert_false(nf_pqstats_in_day(&ts, day, NULL, &hi));
    assert_int_equal(hi, last + 1);
    nf_ice_bound_long(last, ts.upper);
    nf_ice_bound_long(first - 1, ts.lower);
    assert_false(nf_pqstats_in_day(&ts, day, NULL, NULL));
    nf_ice_bound_long(first, ts.lower);
    ts.null_count = 1;
    assert_false(nf_pqstats_in_day(&ts, day, NULL, NULL));
    ts.null_count = 0;
    ts.lower_len = ts.upper_len = 0;
    assert_false(nf_pqstats_in_day(&ts, day, &lo, &hi));
    assert_int_equal(lo, 0);
    assert_int_equal(hi, 0);
}

/* nf_duck_sql_add: appends while it fits; refuses (length unchanged) when it does not. */
static void
test_sql_add(void **state)
{
    (void)state;
    char buf[12];
    size_t len = 0;
    nf_err err = {0};
    assert_int_equal(nf_duck_sql_add(buf, sizeof(buf), &len, &err, "SELECT %d", 42), NF_OK);
    assert_string_equal(buf, "SELECT 42");
    assert_int_equal(len, 9);
    assert_int_equal(nf_duck_sql_add(buf, sizeof(buf), &len, &err, "%s", ", 1"), NF_EINVAL);
    assert_int_equal(len, 9);
    assert_int_equal(nf_duck_sql_add(buf, sizeof(buf), &len, &err, "%s", "!!"), NF_OK);
    assert_string_equal(buf, "SELECT 42!!");
    assert_int_equal(len, 11);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_duck_query, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_three_days, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unwritable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flowgen, setup, teardown),
        cmocka_unit_test(test_in_day),
        cmocka_unit_test(test_sql_add),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

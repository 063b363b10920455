/* rollup_test.c — the cold tier's hourly rollups: the table definitions (lib/cold/rollup.h),
 * their maintenance (lib/pqwriter/rollup.h) against a filesystem Iceberg catalog in a
 * temporary directory with DuckDB in memory, and (with lib/histq) answers from rollups
 * equal to raw-only answers.
 *
 * The raw table gets four days of flows appended the way the writer does (three closed days
 * and today) with varied dims, IPv4 and IPv6 addresses, sampling rates up to 2^32-1 and
 * byte counters up to 2^62, so the scaled sums wrap modulo 2^64. Expected per-day totals
 * are computed in C from the flows the test made (not by the code under test).
 *
 * Covered: day-list parsing and formatting; schema JSON and columns; a maintenance pass
 * builds one file per (family, closed day), none for today, with the day list recording the
 * raw counts; per family and day the rollup's sums equal the C totals, and every rollup row
 * equals a GROUP BY over the raw files written differently (time_bucket, plain sums mod
 * 2^64); a second pass does nothing; a late append into a closed day makes it stale, and the
 * next pass rebuilds exactly that day (old file DELETED, one live file per day); retention
 * of a raw day drops it from every rollup; rollup expiry deletes the replaced files. With
 * histq: random requests (top-N and series, filters, scaled or not) answered with rollups
 * equal the raw-only answers row for row, also while a day is stale and after time travel.
 *
 * The temporary directory is removed at the end (kept with ROLLUP_TEST_KEEP=1).
 */
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
#include <unistd.h>

#include "base/clock.h"
#include "cold/rollup.h"
#include "cold/table.h"
#include "duck/duck.h"
#include "duck/flowfile.h"
#include "flow/flow.h"
#include "iceberg/iceberg.h"
#include "pqwriter/maintain.h"
#include "pqwriter/rollup.h"
#include "coldtest.h"
#ifdef ROLLUP_TEST_HISTQ
#include "histq/histq.h"
#include "query/query.h"
#endif

#define DAY_MS 86400000LL
#define NS NF_COLD_NAMESPACE
#define TBL NF_COLD_TABLE
#define NDAYS 4 /* today-3 .. today */

/* ---- pure functions ---------------------------------------------------------------------- */

static void
test_days_text(void **state)
{
    (void)state;
    nf_err err = {0};
    nf_cold_rollup_day *d = NULL;
    size_t n = 99;
    assert_int_equal(nf_cold_rollup_days_parse(NULL, &d, &n, &err), NF_OK);
    assert_int_equal(n, 0);
    assert_int_equal(nf_cold_rollup_days_parse("20400:5,-3:0,20399:123456789012", &d, &n, &err),
                     NF_OK);
    assert_int_equal(n, 3);
    assert_int_equal(d[0].day, -3);
    assert_int_equal(d[1].day, 20399);
    assert_int_equal(d[1].raw_records, 123456789012LL);
    assert_int_equal(nf_cold_rollup_days_find(d, n, 20400), 5);
    assert_int_equal(nf_cold_rollup_days_find(d, n, 20401), -1);
    char *s = nf_cold_rollup_days_format(d, n);
    assert_string_equal(s, "-3:0,20399:123456789012,20400:5");
    free(s);
    free(d);
    static const char *const bad[] = {"1", "1:", ":1", "1:2,", "1:-2", "1:2,1:3", "x:1",
                                      "1:2;3:4", "99999999999:1", "1:99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = NULL;
        if (nf_cold_rollup_days_parse(bad[i], &d, &n, &err) != NF_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err.msg, NF_COLD_ROLLUP_SUMMARY_DAYS));
    }
}

static void
test_definitions(void **state)
{
    (void)state;
    nf_err err = {0};
    char name[NF_COLD_ROLLUP_NAME_MAX];
    assert_int_equal(nf_cold_rollup_table("netflow", &nf_cold_rollups[0], name, sizeof name,
                                          &err),
                     NF_OK);
    assert_string_equal(name, "netflow_rollup_1h_iface");
    assert_int_equal(nf_cold_rollup_table("netflow", &nf_cold_rollups[0], name, 10, &err),
                     NF_EINVAL);
    const nf_cold_rollup *r = nf_cold_rollup_named("exporter_dst_port");
    assert_non_null(r);
    assert_null(nf_cold_rollup_named("nope"));
    nf_cold_column cols[NF_COLD_ROLLUP_MAX_COLUMNS];
    size_t n = nf_cold_rollup_columns(r, cols);
    assert_int_equal(n, 1 + 3 + 6);
    static const char *const names[] = {"ts",    "exporter_ip",  "protocol", "dst_port",
                                        "flows", "flows_scaled", "bytes",    "bytes_scaled",
                                        "packets", "packets_scaled"};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(cols[i].id, (int)i + 1);
        assert_string_equal(cols[i].name, names[i]);
        assert_int_equal(r->type_of(cols[i].id), cols[i].type);
    }
    assert_int_equal(r->type_of(3), NF_ICE_INT);
    assert_int_equal(r->type_of(2), NF_ICE_STRING);
    assert_int_equal(r->type_of(11), 0);
    char *json = nf_cold_rollup_schema_json(r);
    assert_non_null(strstr(json, "{\"id\":4,\"name\":\"dst_port\",\"required\":false,"
                                 "\"type\":\"int\"}"));
    assert_non_null(strstr(json, "{\"id\":10,\"name\":\"packets_scaled\""));
    /* The schema parses as a table's: create one from it. */
    nf_ice_table *t = NULL;
    assert_int_equal(nf_ice_table_new("file:///tmp/x", json, nf_cold_rollup_spec_json,
                                      nf_cold_rollup_sort_order_json, nf_cold_properties_json,
                                      &t, &err),
                     NF_OK);
    nf_ice_spec spec;
    assert_int_equal(nf_ice_table_spec(t, &spec, &err), NF_OK);
    assert_int_equal(spec.transform, NF_ICE_DAY);
    assert_int_equal(spec.source_id, 1);
    nf_ice_table_free(t);
    free(json);
}

/* ---- fixture ------------------------------------------------------------------------------ */

/* Totals of one day as the test made them (sums mod 2^64). */
typedef struct daytot {
    int64_t flows;
    uint64_t flows_scaled, bytes, bytes_scaled, packets, packets_scaled;
} daytot;

typedef struct fx {
    char dir[128];
    char loc[256];
    nf_ice_catalog *cat;
    nf_duck *duck;
    int64_t today;
    uint64_t rng;
    daytot tot[NDAYS]; /* index: day - (today - 3) */
} fx;

static uint64_t
rnd(fx *f)
{
    f->rng ^= f->rng << 13;
    f->rng ^= f->rng >> 7;
    f->rng ^= f->rng << 17;
    return f->rng;
}

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    coldtest_table_open("/tmp/rollup_test.XXXXXX", f->dir, sizeof f->dir, f->loc,
                        sizeof f->loc, &f->cat);
    nf_err err = {0};
    assert_int_equal(nf_duck_open(NULL, 1, NULL, &f->duck, &err), NF_OK);
    f->today = (int64_t)nf_wall_ms() / DAY_MS;
    f->rng = 0x9e3779b97f4a7c15ull;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    nf_duck_close(f->duck);
    nf_ice_catalog_close(f->cat);
    coldtest_remove_dir(f->dir, "ROLLUP_TEST_KEEP");
    free(f);
    return 0;
}

static void
v4(uint8_t a[16], uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
    memset(a, 0, 16);
    a[10] = a[11] = 0xff;
    a[12] = x, a[13] = y, a[14] = z, a[15] = w;
}

static void
v6(uint8_t a[16], uint8_t last)
{
    memset(a, 0, 16);
    a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
    a[15] = last;
}

/* Appends n random flows in day `day` (absolute day number) as one writer batch. */
static void
append_day(fx *f, int64_t day, size_t n)
{
    nf_err err = {0};
    nf_flow *flows = calloc(n, sizeof *flows);
    assert_non_null(flows);
    static const uint32_t rates[] = {1, 1, 10, 1000, 4294967295u};
    static const uint16_t ports[] = {53, 80, 443, 8080, 22};
    static const uint8_t protos[] = {6, 17, 1};
    daytot *t = &f->tot[day - (f->today - 3)];
    for (size_t i = 0; i < n; i++) {
        nf_flow *x = &flows[i];
        uint64_t r = rnd(f);
        if (r % 5 == 0)
            v6(x->src_addr, (uint8_t)(r >> 8) % 6);
        else
            v4(x->src_addr, 10, 0, (uint8_t)(r >> 12) % 3, (uint8_t)(r >> 16) % 9);
        if (r % 7 == 0)
            v6(x->dst_addr, (uint8_t)(r >> 20) % 4 + 100);
        else
            v4(x->dst_addr, 192, 168, 1, (uint8_t)(r >> 24) % 12);
        if (r % 3 == 0)
            v6(x->exporter, 1);
        else
            v4(x->exporter, 127, 0, 0, (uint8_t)(1 + (r >> 28) % 2));
        uint64_t r2 = rnd(f);
        x->bytes = r2 % 11 == 0 ? (r2 >> 2) : 40 + r2 % 1500; /* up to 2^62 */
        x->packets = 1 + (r2 >> 8) % 20;
        x->sampling_rate = rates[(r2 >> 16) % 5];
        x->received_ms = (uint64_t)(day * DAY_MS) + (r2 >> 20) % (uint64_t)DAY_MS;
        x->first_ms = x->last_ms = x->received_ms;
        x->src_port = (uint16_t)(1024 + (r2 >> 40) % 100);
        x->dst_port = ports[(r2 >> 44) % 5];
        x->protocol = protos[(r2 >> 48) % 3];
        x->in_if = (uint32_t)((r2 >> 50) % 3);
        x->out_if = (uint32_t)((r2 >> 52) % 3) + 10;
        x->src_as = (uint32_t)((r2 >> 54) % 2) * 64500;
        x->dst_as = r2 % 13 == 0 ? 4294967295u : 15169;
        x->ip_version = 4;
        x->flow_type = NF_FLOW_V9;
        t->flows++;
        t->flows_scaled += x->sampling_rate;
        t->bytes += x->bytes;
        t->bytes_scaled += x->bytes * x->sampling_rate;
        t->packets += x->packets;
        t->packets_scaled += x->packets * x->sampling_rate;
    }
    nf_ice_datafile *files = NULL;
    size_t nf = 0;
    if (nf_flowfile_write(f->duck, flows, NULL, n, f->loc, &files, &nf, &err) != NF_OK)
        fail_msg("flowfile_write: %s", err.msg);
    free(flows);

    const char *kv[] = {"added-records", "0"};
    coldtest_append_files(f->cat, f->loc, files, nf, kv, 1);
    nf_ice_datafiles_free(files, nf);
    usleep(2000); /* distinct snapshot times for time travel */
}

static void
fill(fx *f)
{
    for (int d = 0; d < NDAYS; d++)
        for (int b = 0; b < 2; b++)
            append_day(f, f->today - 3 + d, 300 + 37 * (size_t)b);
}

static nf_maint_options
opts(void)
{
    nf_maint_options o = {.compact_min_files = 2, .snapshot_max_age_ms = 86400000,
                          .min_snapshots = 1};
    return o;
}

static nf_rollup_report
run_rollups(fx *f)
{
    nf_err err = {0};
    nf_maint_options o = opts();
    nf_rollup_report r = {0};
    if (nf_rollup_maintain(f->cat, NS, TBL, f->duck, &o, &r, &err) != NF_OK)
        fail_msg("rollups: %s", err.msg);
    return r;
}

/* ---- reading rollup tables back ------------------------------------------------------------- */

typedef struct rtable {
    nf_ice_table *t;
    nf_cold_rollup_day *days;
    size_t ndays;
    nf_ice_datafile *files; /* live files of the current snapshot */
    size_t nfiles;
} rtable;

static rtable
rload(fx *f, const nf_cold_rollup *fam)
{
    nf_err err = {0};
    char name[NF_COLD_ROLLUP_NAME_MAX];
    assert_int_equal(nf_cold_rollup_table(TBL, fam, name, sizeof name, &err), NF_OK);
    rtable r = {0};
    if (nf_ice_catalog_load(f->cat, NS, name, &r.t, NULL, &err) != NF_OK)
        fail_msg("load %s: %s", name, err.msg);
    const nf_ice_snapshot *cur = nf_ice_table_current(r.t);
    assert_non_null(cur);
    const char *text = nf_ice_table_summary(r.t, cur->snapshot_id, NF_COLD_ROLLUP_SUMMARY_DAYS);
    assert_non_null(text);
    assert_int_equal(nf_cold_rollup_days_parse(text, &r.days, &r.ndays, &err), NF_OK);
    assert_int_equal(nf_ice_scan(cur->manifest_list, NULL, &r.files, &r.nfiles, NULL, &err),
                     NF_OK);
    return r;
}

static void
rfree(rtable *r)
{
    nf_ice_table_free(r->t);
    free(r->days);
    nf_ice_datafiles_free(r->files, r->nfiles);
}

/* "'p1', 'p2'" of the files of day (all days if day < 0), local paths; malloc'd. */
static char *
path_list(const nf_ice_datafile *files, size_t n, int64_t day)
{
    size_t cap = 16 + n * 600, len = 0;
    char *s = malloc(cap);
    assert_non_null(s);
    s[0] = '\0';
    nf_err err = {0};
    for (size_t i = 0; i < n; i++) {
        if (day >= 0 && files[i].partition != day)
            continue;
        char *p = NULL;
        assert_int_equal(nf_ice_uri_path(files[i].path, &p, &err), NF_OK);
        if (len > 0)
            s[len++] = ',';
        assert_int_equal(nf_duck_quote(s, cap, &len, p, "path", &err), NF_OK);
        free(p);
    }
    return s;
}

static uint64_t
u64_text(nf_duck_result *r, size_t row, size_t col)
{
    const char *s = nf_duck_result_text(r, row, col);
    assert_non_null(s);
    return strtoull(s, NULL, 10);
}

/* x modulo 2^64 as UBIGINT; written into printf formats (hence %%). */
#define MOD64(x) "CAST(((" x ") %% 18446744073709551616 + 18446744073709551616) %% " \
                 "18446744073709551616 AS UBIGINT)"

/* A rollup's rows in unsigned form, and the same rows computed independently from raw files
 * (hour by time_bucket on a zone-less timestamp, plain sums): printf formats of dims, paths. */
#define FMT_R                                                                                   \
    "(SELECT epoch_us(ts) AS h, %s flows::UBIGINT, " MOD64("flows_scaled::HUGEINT") ", "       \
    MOD64("bytes::HUGEINT") ", " MOD64("bytes_scaled::HUGEINT") ", " MOD64("packets::HUGEINT")  \
    ", " MOD64("packets_scaled::HUGEINT") " FROM read_parquet([%s]))"
#define FMT_P                                                                                   \
    "(SELECT epoch_us(time_bucket(INTERVAL 1 HOUR, make_timestamp(epoch_us(\"timestamp\")))) " \
    "AS h, %s count(*)::UBIGINT, " MOD64("sum(sampling_rate::HUGEINT)") ", "                   \
    MOD64("sum(bytes::HUGEINT)") ", " MOD64("sum(bytes::HUGEINT * sampling_rate)") ", "         \
    MOD64("sum(packets::HUGEINT)") ", " MOD64("sum(packets::HUGEINT * sampling_rate)")          \
    " FROM read_parquet([%s]) GROUP BY ALL)"

/* Per family and closed day: the rollup's sums equal the C totals; every row equals an
 * independent GROUP BY of the raw files of that day. */
static void
check_rollups(fx *f, size_t want_days)
{
    nf_err err = {0};
    nf_ice_table *raw = NULL;
    assert_int_equal(nf_ice_catalog_load(f->cat, NS, TBL, &raw, NULL, &err), NF_OK);
    nf_ice_datafile *rf = NULL;
    size_t nrf = 0;
    assert_int_equal(nf_ice_scan(nf_ice_table_current(raw)->manifest_list, NULL, &rf, &nrf,
                                 NULL, &err),
                     NF_OK);
    for (size_t fi = 0; fi < NF_COLD_ROLLUP_NFAMILIES; fi++) {
        const nf_cold_rollup *fam = &nf_cold_rollups[fi];
        rtable r = rload(f, fam);
        assert_int_equal(r.ndays, want_days);
        assert_int_equal(r.nfiles, want_days); /* one file per day (invariant 2) */
        nf_cold_column cols[NF_COLD_ROLLUP_MAX_COLUMNS];
        nf_cold_rollup_columns(fam, cols);
        for (size_t k = 0; k < r.ndays; k++) {
            int64_t day = r.days[k].day;
            assert_true(day < f->today && day >= f->today - 3);
            const daytot *t = &f->tot[day - (f->today - 3)];
            int64_t raw_rec = 0;
            for (size_t i = 0; i < nrf; i++)
                raw_rec += rf[i].partition == day ? rf[i].record_count : 0;
            assert_int_equal(r.days[k].raw_records, raw_rec);
            assert_int_equal(r.days[k].raw_records, t->flows);
            char *rp = path_list(r.files, r.nfiles, day);
            char *pp = path_list(rf, nrf, day);
            size_t cap = strlen(rp) + strlen(pp) + 8192;
            char *sql = malloc(cap);
            assert_non_null(sql);
            snprintf(sql, cap,
                     "SELECT sum(flows)::BIGINT, " MOD64("sum(flows_scaled::HUGEINT)") ", "
                     MOD64("sum(bytes::HUGEINT)") ", " MOD64("sum(bytes_scaled::HUGEINT)") ", "
                     MOD64("sum(packets::HUGEINT)") ", " MOD64("sum(packets_scaled::HUGEINT)")
                     ", count(*), min(epoch_us(ts)), max(epoch_us(ts)) FROM read_parquet([%s])",
                     rp);
            nf_duck_result *res = NULL;
            if (nf_duck_query(f->duck, sql, &res, &err) != NF_OK)
                fail_msg("%s: %s", fam->family, err.msg);
            assert_int_equal(nf_duck_result_int64(res, 0, 0), t->flows);
            assert_true(u64_text(res, 0, 1) == t->flows_scaled);
            assert_true(u64_text(res, 0, 2) == t->bytes);
            assert_true(u64_text(res, 0, 3) == t->bytes_scaled);
            assert_true(u64_text(res, 0, 4) == t->packets);
            assert_true(u64_text(res, 0, 5) == t->packets_scaled);
            int64_t rows = nf_duck_result_int64(res, 0, 6);
            assert_true(nf_duck_result_int64(res, 0, 7) >= day * DAY_MS * 1000);
            assert_true(nf_duck_result_int64(res, 0, 8) < (day + 1) * DAY_MS * 1000);
            nf_duck_result_free(res);
            for (size_t i = 0; i < r.nfiles; i++)
                if (r.files[i].partition == day)
                    assert_int_equal(r.files[i].record_count, rows);

            /* Row by row against raw (FMT_R, FMT_P), both directions. */
            char dims[256] = "";
            size_t dl = 0;
            for (size_t d = 0; d < fam->ndims; d++)
                dl += (size_t)snprintf(dims + dl, sizeof dims - dl, "\"%s\", ",
                                       cols[1 + d].name);
            char *both[2];
            size_t qcap = cap;
            both[0] = malloc(qcap);
            both[1] = malloc(qcap);
            assert_true(both[0] != NULL && both[1] != NULL);
            snprintf(both[0], qcap, FMT_R, dims, rp);
            snprintf(both[1], qcap, FMT_P, dims, pp);
            for (int dir = 0; dir < 2; dir++) {
                snprintf(sql, cap, "SELECT count(*) FROM (%s EXCEPT ALL %s)", both[dir],
                         both[1 - dir]);
                if (nf_duck_query(f->duck, sql, &res, &err) != NF_OK)
                    fail_msg("%s: %s", fam->family, err.msg);
                if (nf_duck_result_int64(res, 0, 0) != 0)
                    fail_msg("%s day %" PRId64 ": %" PRId64 " rows only on the %s side",
                             fam->family, day, nf_duck_result_int64(res, 0, 0),
                             dir == 0 ? "rollup" : "raw");
                nf_duck_result_free(res);
            }
            free(both[0]);
            free(both[1]);
            free(rp);
            free(pp);
            free(sql);
        }
        rfree(&r);
    }
    nf_ice_datafiles_free(rf, nrf);
    nf_ice_table_free(raw);
}

static void
test_build(void **state)
{
    fx *f = *state;
    nf_err err = {0};
    fill(f);
    nf_maint_options o = opts();
    nf_maint_report mr = {0};
    assert_int_equal(nf_maint_compact(f->cat, NS, TBL, f->duck, &o, &mr, &err), NF_OK);
    assert_int_equal(mr.days_compacted, 3);
    nf_rollup_report r = run_rollups(f);
    assert_int_equal(r.tables_created, NF_COLD_ROLLUP_NFAMILIES);
    assert_int_equal(r.days_read, 3);
    assert_int_equal(r.rollups_built, 3 * NF_COLD_ROLLUP_NFAMILIES);
    assert_int_equal(r.commits, 3 * NF_COLD_ROLLUP_NFAMILIES);
    check_rollups(f, 3);
    /* Nothing changed: nothing to do. */
    r = run_rollups(f);
    assert_int_equal(r.days_read, 0);
    assert_int_equal(r.commits, 0);
    assert_int_equal(r.tables_created, 0);

    /* A late append into a closed day: that day (only) is stale, then rebuilt. */
    append_day(f, f->today - 2, 55);
    rtable rt = rload(f, &nf_cold_rollups[3]);
    assert_int_equal(nf_cold_rollup_days_find(rt.days, rt.ndays, (int32_t)(f->today - 2)),
                     f->tot[1].flows - 55);
    rfree(&rt);
    r = run_rollups(f);
    assert_int_equal(r.days_read, 1);
    assert_int_equal(r.records_read, f->tot[1].flows);
    assert_int_equal(r.rollups_built, NF_COLD_ROLLUP_NFAMILIES);
    check_rollups(f, 3);

    /* Retention drops today-3 from the raw table; the next pass drops it from every rollup. */
    o.retention_ms = 2 * DAY_MS + 1;
    o.now_ms = (f->today + 1) * DAY_MS - 1;
    assert_int_equal(nf_maint_retention(f->cat, NS, TBL, &o, &mr, &err), NF_OK);
    assert_int_equal(mr.days_dropped, 1);
    memset(&f->tot[0], 0, sizeof f->tot[0]);
    r = run_rollups(f);
    assert_int_equal(r.days_read, 0);
    assert_int_equal(r.rollups_dropped, NF_COLD_ROLLUP_NFAMILIES);
    check_rollups(f, 2);

    /* Expiry of the rollup tables deletes the replaced and dropped files. */
    o.snapshot_max_age_ms = 0;
    o.now_ms = 0;
    nf_maint_report er = {0};
    assert_int_equal(nf_rollup_expire(f->cat, NS, TBL, &o, &er, &err), NF_OK);
    /* Per family: today-2's first file (replaced) and today-3's (dropped). */
    assert_int_equal(er.data_files_deleted, 2 * NF_COLD_ROLLUP_NFAMILIES);
    check_rollups(f, 2);
}

#ifdef ROLLUP_TEST_HISTQ
/* ---- answers with rollups equal raw-only answers --------------------------------------------- */

static nf_q_request
random_request(fx *f)
{
    nf_q_request q;
    memset(&q, 0, sizeof q);
    int64_t base = (f->today - 4) * 86400;
    uint64_t r = rnd(f);
    /* Whole hours, odd seconds, whole days: edges of every kind. */
    q.start = base + (int64_t)(r % (5 * 86400));
    if (r % 3 == 0)
        q.start -= q.start % 3600;
    q.end = q.start + 1 + (int64_t)((r >> 20) % (4 * 86400));
    if ((r >> 40) % 3 == 0)
        q.end -= q.end % 86400;
    if (q.end <= q.start)
        q.end = q.start + 3600;
    static const nf_q_field groups[] = {NF_Q_SRC_ADDR, NF_Q_DST_ADDR, NF_Q_DST_PORT,
                                        NF_Q_PROTOCOL, NF_Q_EXPORTER, NF_Q_IN_IF,
                                        NF_Q_OUT_IF,   NF_Q_SRC_AS,   NF_Q_DST_AS,
                                        NF_Q_TIME,     NF_Q_TIME,     NF_Q_SRC_PORT};
    q.group_by = groups[(r >> 8) % (sizeof groups / sizeof groups[0])];
    static const uint32_t intervals[] = {3600, 7200, 86400, 1800, 10800};
    q.interval = intervals[(r >> 12) % 5];
    while (q.group_by == NF_Q_TIME &&
           (q.end - 1) / q.interval - q.start / q.interval + 1 > 1000)
        q.interval *= 2;
    q.metric = (nf_q_metric)((r >> 16) % 3);
    q.unscaled = (r >> 18) % 2;
    q.limit = 1 + (uint32_t)((r >> 24) % 15);
    uint64_t r2 = rnd(f);
    size_t nf = r2 % 3;
    for (size_t i = 0; i < nf; i++) {
        nf_q_filter *fl = &q.filters[q.nfilters];
        uint64_t r3 = rnd(f);
        switch (r3 % 6) {
        case 0:
            fl->field = NF_Q_EXPORTER;
            if (r3 % 4 == 0)
                v6(fl->lo, 1);
            else
                v4(fl->lo, 127, 0, 0, (uint8_t)(1 + (r3 >> 8) % 2));
            memcpy(fl->hi, fl->lo, 16);
            break;
        case 1:
            fl->field = NF_Q_PROTOCOL;
            fl->value = (r3 >> 8) % 2 ? 6 : 17;
            break;
        case 2:
            fl->field = NF_Q_DST_PORT;
            fl->value = (r3 >> 8) % 2 ? 443 : 53;
            break;
        case 3:
            fl->field = NF_Q_SRC_ADDR; /* 10.0.0.0/23 */
            v4(fl->lo, 10, 0, 0, 0);
            v4(fl->hi, 10, 0, 1, 255);
            break;
        case 4:
            fl->field = NF_Q_IN_IF;
            fl->value = (r3 >> 8) % 3;
            break;
        default:
            fl->field = NF_Q_DST_AS;
            fl->value = 15169;
            break;
        }
        q.nfilters++;
    }
    return q;
}

/* Runs n random requests with and without rollups (at snapshot sid, 0 = current); every pair
 * must be equal row for row. Returns how many used rollups. */
static size_t
compare_answers(fx *f, size_t n, int64_t sid)
{
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        nf_q_request q = random_request(f);
        nf_histq_options opt = {.snapshot_id = sid};
        nf_histq_result *a = NULL, *b = NULL;
        nf_histq_stats sa = {0}, sb = {0};
        nf_err err = {0};
        if (nf_histq_run(f->cat, NS, TBL, &opt, f->duck, &q, &a, &sa, &err) != NF_OK)
            fail_msg("request %zu with rollups: %s", i, err.msg);
        q.raw_only = true;
        if (nf_histq_run(f->cat, NS, TBL, &opt, f->duck, &q, &b, &sb, &err) != NF_OK)
            fail_msg("request %zu raw only: %s", i, err.msg);
        assert_int_equal(sb.rollup_seconds, 0);
        if (a->n != b->n || (a->n > 0 && memcmp(a->rows, b->rows, a->n * sizeof *a->rows) != 0))
            fail_msg("request %zu (group %d, metric %d, [%" PRId64 ", %" PRId64 "), %zu filters,"
                     " family %s, %" PRId64 " s from rollups): %zu rows vs %zu raw-only",
                     i, (int)q.group_by, (int)q.metric, q.start, q.end, q.nfilters,
                     sa.rollup_family, sa.rollup_seconds, a->n, b->n);
        used += sa.rollup_seconds > 0;
        nf_histq_result_free(a);
        nf_histq_result_free(b);
    }
    return used;
}

static void
test_queries(void **state)
{
    fx *f = *state;
    nf_err err = {0};
    fill(f);
    nf_maint_options o = opts();
    nf_maint_report mr = {0};
    assert_int_equal(nf_maint_compact(f->cat, NS, TBL, f->duck, &o, &mr, &err), NF_OK);
    run_rollups(f);
    /* A question wholly answered from rollups reads no raw file. */
    nf_q_request q = {.start = (f->today - 3) * 86400, .end = (f->today - 1) * 86400,
                      .group_by = NF_Q_DST_PORT, .metric = NF_Q_BYTES, .limit = 10};
    nf_histq_result *res = NULL;
    nf_histq_stats st = {0};
    assert_int_equal(nf_histq_run(f->cat, NS, TBL, NULL, f->duck, &q, &res, &st, &err), NF_OK);
    assert_string_equal(st.rollup_family, "dst_port");
    assert_int_equal(st.rollup_seconds, 2 * 86400);
    assert_int_equal(st.rollup_files, 2);
    assert_int_equal(st.raw_files_replaced, 2);
    nf_histq_result_free(res);

    size_t used = compare_answers(f, 60, 0);
    assert_true(used >= 10); /* the property is exercised, not vacuous */

    /* A late append makes today-2 stale: answers stay exact (that day from raw). */
    nf_ice_table *t = NULL;
    assert_int_equal(nf_ice_catalog_load(f->cat, NS, TBL, &t, NULL, &err), NF_OK);
    int64_t before = nf_ice_table_current(t)->snapshot_id;
    nf_ice_table_free(t);
    append_day(f, f->today - 2, 41);
    assert_int_equal(nf_histq_run(f->cat, NS, TBL, NULL, f->duck, &q, &res, &st, &err), NF_OK);
    assert_int_equal(st.rollup_seconds, 86400); /* today-3 only */
    nf_histq_result_free(res);
    compare_answers(f, 40, 0);
    /* Time travel to before the append: the rollups are current for that snapshot. */
    nf_histq_options opt = {.snapshot_id = before};
    assert_int_equal(nf_histq_run(f->cat, NS, TBL, &opt, f->duck, &q, &res, &st, &err), NF_OK);
    assert_int_equal(st.rollup_seconds, 2 * 86400);
    nf_histq_result_free(res);
    compare_answers(f, 20, before);
    /* Rebuilt: both days from rollups again. */
    run_rollups(f);
    assert_int_equal(nf_histq_run(f->cat, NS, TBL, NULL, f->duck, &q, &res, &st, &err), NF_OK);
    assert_int_equal(st.rollup_seconds, 2 * 86400);
    nf_histq_result_free(res);
    compare_answers(f, 40, 0);
    compare_answers(f, 20, before); /* the old snapshot now reads raw for today-2 */
}
#endif

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_days_text),
        cmocka_unit_test(test_definitions),
        cmocka_unit_test_setup_teardown(test_build, setup, teardown),
#ifdef ROLLUP_TEST_HISTQ
        cmocka_unit_test_setup_teardown(test_queries, setup, teardown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* pqwriter_test.c — lib/pqwriter: table maintenance (maintain.h) against a filesystem Iceberg
 * catalog in a temporary directory, with DuckDB in memory reading the Parquet files back.
 *
 * Each test builds its own table by appending small batches the way the writer does
 * (nf_flowfile_write → a manifest of the new files → a manifest list of the parent's
 * manifests plus the new one → a commit asserting main), over three days: two closed ones
 * and today. Totals are computed twice: from the flows the test made (expected) and by
 * DuckDB over the file list nf_ice_scan returns (actual).
 *
 * Covered: compaction (one file per closed day, same records and byte sums, today untouched,
 * the manifest's entry statuses, the JetStream keys carried, the older snapshot still
 * readable by id and by time), retention (old days only), expiry (exactly the unreferenced
 * files deleted, listed on disk before and after; kept snapshots all readable, including a
 * delete snapshot whose parent holds the deleted files), conflicts during compaction (an
 * append to another day and to the day being compacted, committed between plan and commit,
 * are retried and nothing is lost), an unknown commit outcome (a real REST catalog server
 * stopped with SIGSTOP during the commit and resumed after the client's timeout: whichever
 * way it resolves, exactly one replace snapshot, credited to the call), and time-travel
 * argument errors.
 *
 * The temporary directory is removed at the end (kept with PQ_TEST_KEEP=1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>
#include <sys/random.h>
#include <unistd.h>

#include "base/clock.h"
#include "cold/table.h"
#include "duck/duck.h"
#include "duck/flowfile.h"
#include "flow/flow.h"
#include "iceberg/iceberg.h"
#include "pqwriter/maintain.h"

#include "coldtest.h"
#include "testnet.h"

#define DAY_MS 86400000LL
#define NS NF_COLD_NAMESPACE
#define TBL NF_COLD_TABLE

/* ---- fixture --------------------------------------------------------------------------------- */

typedef struct fx {
    char dir[128];      /* warehouse directory */
    char loc[256];      /* table location path */
    nf_ice_catalog *cat;
    nf_ice_catalog *cat2; /* a second client: the "other writer" of the conflict tests */
    nf_duck *duck;
    int64_t today;      /* day number */
    int64_t records;    /* expected totals of the live table */
    int64_t bytes;
    uint64_t jsseq;     /* JetStream sequence the appends record */
    uint32_t salt;      /* varies the flows between batches */
} fx;

static int
setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    coldtest_table_open("/tmp/pqwriter_test.XXXXXX", f->dir, sizeof f->dir, f->loc,
                        sizeof f->loc, &f->cat);
    char uri[160];
    snprintf(uri, sizeof uri, "file://%s", f->dir);
    nf_ice_catalog_config cfg = {.uri = uri};
    nf_err err = {0};
    assert_int_equal(nf_ice_catalog_open(&cfg, &f->cat2, &err), NF_OK);
    assert_int_equal(nf_duck_open(NULL, 1, NULL, &f->duck, &err), NF_OK);
    f->today = (int64_t)nf_wall_ms() / DAY_MS;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fx *f = *state;
    nf_duck_close(f->duck);
    nf_ice_catalog_close(f->cat);
    nf_ice_catalog_close(f->cat2);
    coldtest_remove_dir(f->dir, "PQ_TEST_KEEP");
    free(f);
    return 0;
}

/* ---- appending the way the writer does ------------------------------------------------------- */

/* Appends n flows in day `day` through catalog c; adds them to the expected totals. */
static void
append_day(fx *f, nf_ice_catalog *c, int64_t day, size_t n)
{
    nf_err err = {0};
    nf_flow *flows = calloc(n, sizeof *flows);
    assert_non_null(flows);
    for (size_t i = 0; i < n; i++) {
        nf_flow *x = &flows[i];
        uint32_t v = f->salt * 131u + (uint32_t)i;
        x->src_addr[10] = x->src_addr[11] = 0xff;
        x->src_addr[12] = 10, x->src_addr[15] = (uint8_t)v;
        x->dst_addr[10] = x->dst_addr[11] = 0xff;
        x->dst_addr[12] = 192, x->dst_addr[13] = 168, x->dst_addr[15] = (uint8_t)(v >> 3);
        x->exporter[10] = x->exporter[11] = 0xff;
        x->exporter[12] = 127, x->exporter[15] = 1;
        x->bytes = 100 + v % 1000;
        x->packets = 1 + v % 7;
        x->received_ms = (uint64_t)(day * DAY_MS) + (uint64_t)((v * 7919u) % 86400u) * 1000u;
        x->first_ms = x->last_ms = x->received_ms;
        x->src_port = (uint16_t)(1024 + v);
        x->dst_port = 443;
        x->protocol = 6;
        x->sampling_rate = 1;
        x->ip_version = 4;
        x->flow_type = NF_FLOW_V9;
        f->bytes += (int64_t)x->bytes;
    }
    f->records += (int64_t)n;
    f->salt++;

    nf_ice_datafile *files = NULL;
    size_t nf = 0;
    nf_status st = nf_flowfile_write(f->duck, flows, NULL, n, f->loc, &files, &nf, &err);
    if (st != NF_OK)
        fail_msg("flowfile_write: %s", err.msg);
    free(flows);

    char last[24], added[24];
    f->jsseq += n;
    snprintf(last, sizeof last, "%" PRIu64, f->jsseq);
    snprintf(added, sizeof added, "%zu", n);
    const char *kv[] = {"added-records", added, NF_COLD_SUMMARY_STREAM, "NETFLOW",
                        NF_COLD_SUMMARY_LAST_SEQ, last, NF_COLD_SUMMARY_SEQS, ""};
    coldtest_append_files(c, f->loc, files, nf, kv, 4);
    nf_ice_datafiles_free(files, nf);
}

/* ---- reading back ----------------------------------------------------------------------------- */

typedef struct totals {
    int64_t records, bytes;
    size_t files;
    size_t per_day[3]; /* files of today-2, today-1, today */
} totals;

/* Totals of snapshot s read by DuckDB over the scan's file list; *paths (may be NULL)
 * receives the scan's files. */
static totals
read_snapshot(fx *f, const nf_ice_snapshot *s, nf_ice_datafile **paths, size_t *npaths)
{
    nf_err err = {0};
    nf_ice_datafile *files = NULL;
    size_t n = 0;
    nf_status st = nf_ice_scan(s->manifest_list, NULL, &files, &n, NULL, &err);
    if (st != NF_OK)
        fail_msg("scan: %s", err.msg);
    totals t = {0};
    t.files = n;
    size_t cap = 256 + n * 512;
    char *sql = malloc(cap);
    assert_non_null(sql);
    size_t len = (size_t)snprintf(sql, cap, "SELECT count(*), coalesce(sum(bytes), 0) FROM "
                                            "read_parquet([");
    for (size_t i = 0; i < n; i++) {
        char *p = NULL;
        assert_int_equal(nf_ice_uri_path(files[i].path, &p, &err), NF_OK);
        if (i > 0)
            sql[len++] = ',';
        assert_int_equal(nf_duck_quote(sql, cap, &len, p, "path", &err), NF_OK);
        free(p);
        int64_t d = files[i].partition - (f->today - 2);
        if (d >= 0 && d < 3)
            t.per_day[d]++;
    }
    snprintf(sql + len, cap - len, "])");
    if (n > 0) {
        nf_duck_result *r = NULL;
        st = nf_duck_query(f->duck, sql, &r, &err);
        if (st != NF_OK)
            fail_msg("query: %s", err.msg);
        t.records = nf_duck_result_int64(r, 0, 0);
        t.bytes = nf_duck_result_int64(r, 0, 1);
        nf_duck_result_free(r);
    }
    free(sql);
    if (paths != NULL) {
        *paths = files;
        *npaths = n;
    } else {
        nf_ice_datafiles_free(files, n);
    }
    return t;
}

static nf_ice_table *
load(fx *f)
{
    nf_err err = {0};
    nf_ice_table *t = NULL;
    nf_status st = nf_ice_catalog_load(f->cat, NS, TBL, &t, NULL, &err);
    if (st != NF_OK)
        fail_msg("load: %s", err.msg);
    return t;
}

static totals
read_current(fx *f)
{
    nf_ice_table *t = load(f);
    totals r = read_snapshot(f, nf_ice_table_current(t), NULL, NULL);
    nf_ice_table_free(t);
    return r;
}

/* The three days: 3 batches two days ago, 4 yesterday, 2 today. */
static void
fill(fx *f)
{
    for (int i = 0; i < 3; i++)
        append_day(f, f->cat, f->today - 2, 50 + (size_t)i);
    for (int i = 0; i < 4; i++)
        append_day(f, f->cat, f->today - 1, 40 + (size_t)i);
    for (int i = 0; i < 2; i++)
        append_day(f, f->cat, f->today, 30 + (size_t)i);
}

static nf_maint_options
opts(void)
{
    nf_maint_options o = {.compact_min_files = 3,
                          .snapshot_max_age_ms = 86400000,
                          .min_snapshots = 1,
                          .retention_ms = 0};
    return o;
}

/* The JetStream keys of the current snapshot equal those of the last append. */
static void
check_jetstream_keys(fx *f, const nf_ice_table *t)
{
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    char last[24];
    snprintf(last, sizeof last, "%" PRIu64, f->jsseq);
    const char *v = nf_ice_table_summary(t, cur->snapshot_id, NF_COLD_SUMMARY_STREAM);
    assert_non_null(v);
    assert_string_equal(v, "NETFLOW");
    v = nf_ice_table_summary(t, cur->snapshot_id, NF_COLD_SUMMARY_LAST_SEQ);
    assert_non_null(v);
    assert_string_equal(v, last);
    v = nf_ice_table_summary(t, cur->snapshot_id, NF_COLD_SUMMARY_SEQS);
    assert_non_null(v);
    assert_string_equal(v, "");
}

/* ---- tests ------------------------------------------------------------------------------------- */

static void
test_compact(void **state)
{
    fx *f = *state;
    fill(f);
    totals before = read_current(f);
    assert_int_equal(before.records, f->records);
    assert_int_equal(before.bytes, f->bytes);
    assert_int_equal(before.files, 9);
    nf_ice_table *t0 = load(f);
    int64_t old_id = nf_ice_table_current(t0)->snapshot_id;
    nf_ice_datafile *old_files = NULL;
    size_t nold = 0;
    (void)read_snapshot(f, nf_ice_table_current(t0), &old_files, &nold);
    nf_ice_table_free(t0);
    int64_t before_ms = (int64_t)nf_wall_ms();
    usleep(5000); /* the compaction's snapshots come strictly after before_ms */

    nf_maint_options o = opts();
    nf_maint_report r = {0};
    nf_err err = {0};
    nf_status st = nf_maint_compact(f->cat, NS, TBL, f->duck, &o, &r, &err);
    if (st != NF_OK)
        fail_msg("compact: %s", err.msg);
    assert_int_equal(r.days_compacted, 2);
    assert_int_equal(r.files_rewritten, 7);
    assert_int_equal(r.files_written, 2);
    assert_int_equal(r.records_rewritten, (50 + 51 + 52) + (40 + 41 + 42 + 43));
    assert_int_equal(r.conflicts, 0);

    totals after = read_current(f);
    assert_int_equal(after.records, f->records);
    assert_int_equal(after.bytes, f->bytes);
    assert_int_equal(after.files, 4);
    assert_int_equal(after.per_day[0], 1);
    assert_int_equal(after.per_day[1], 1);
    assert_int_equal(after.per_day[2], 2); /* today is still being appended to */

    nf_ice_table *t = load(f);
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    assert_int_equal(cur->snapshot_id, r.last_snapshot_id);
    assert_string_equal(cur->operation, "replace");
    assert_string_equal(nf_ice_table_summary(t, cur->snapshot_id, "total-records"),
                        "380"); /* 153 + 166 + 61 */
    assert_int_equal(f->records, 380);
    assert_string_equal(nf_ice_table_summary(t, cur->snapshot_id, "deleted-data-files"), "4");
    assert_string_equal(nf_ice_table_summary(t, cur->snapshot_id, "added-data-files"), "1");
    check_jetstream_keys(f, t);

    /* The last replace: one manifest; yesterday's 4 files DELETED, its new file ADDED, the
     * other three EXISTING with the snapshot ids and sequence numbers they were added with. */
    nf_ice_manifest *ms = NULL;
    size_t nm = 0;
    assert_int_equal(nf_ice_mlist_read(cur->manifest_list, &ms, &nm, &err), NF_OK);
    assert_int_equal(nm, 1);
    nf_ice_datafile *e = NULL;
    size_t ne = 0;
    assert_int_equal(nf_ice_manifest_read(&ms[0], &e, &ne, &err), NF_OK);
    assert_int_equal(ne, 8);
    size_t by[3] = {0};
    for (size_t i = 0; i < ne; i++) {
        by[e[i].status]++;
        if (e[i].status == NF_ICE_DELETED) {
            assert_int_equal(e[i].partition, f->today - 1);
            assert_int_equal(e[i].snapshot_id, cur->snapshot_id);
            assert_true(e[i].data_seq < cur->sequence_number);
        } else if (e[i].status == NF_ICE_EXISTING) {
            assert_int_not_equal(e[i].snapshot_id, cur->snapshot_id);
            const nf_ice_snapshot *added = nf_ice_table_snapshot(t, e[i].snapshot_id);
            assert_non_null(added);
            assert_int_equal(e[i].data_seq, added->sequence_number);
            assert_int_equal(e[i].file_seq, added->sequence_number);
        } else {
            assert_int_equal(e[i].snapshot_id, cur->snapshot_id);
            assert_int_equal(e[i].data_seq, cur->sequence_number);
        }
    }
    assert_int_equal(by[NF_ICE_DELETED], 4);
    assert_int_equal(by[NF_ICE_ADDED], 1);
    assert_int_equal(by[NF_ICE_EXISTING], 3);
    nf_ice_datafiles_free(e, ne);
    nf_ice_manifests_free(ms, nm);

    /* Time travel: by id and by time, the old snapshot gives the old files and totals. */
    const nf_ice_snapshot *s = NULL;
    assert_int_equal(nf_maint_snapshot_for(t, old_id, 0, &s, &err), NF_OK);
    assert_int_equal(s->snapshot_id, old_id);
    nf_ice_datafile *again = NULL;
    size_t nagain = 0;
    totals old = read_snapshot(f, s, &again, &nagain);
    assert_int_equal(old.records, before.records);
    assert_int_equal(old.bytes, before.bytes);
    assert_int_equal(nagain, nold);
    for (size_t i = 0; i < nold; i++)
        assert_string_equal(again[i].path, old_files[i].path);
    nf_ice_datafiles_free(again, nagain);
    assert_int_equal(nf_maint_snapshot_for(t, 0, before_ms, &s, &err), NF_OK);
    assert_int_equal(s->snapshot_id, old_id);
    assert_int_equal(nf_maint_snapshot_for(t, 0, 0, &s, &err), NF_OK);
    assert_int_equal(s->snapshot_id, r.last_snapshot_id);
    nf_ice_table_free(t);
    nf_ice_datafiles_free(old_files, nold);

    /* Again: nothing left to do, no new snapshot. */
    nf_maint_report r2 = {0};
    assert_int_equal(nf_maint_compact(f->cat, NS, TBL, f->duck, &o, &r2, &err), NF_OK);
    assert_int_equal(r2.days_compacted, 0);
    assert_int_equal(r2.last_snapshot_id, 0);
}

static void
test_retention(void **state)
{
    fx *f = *state;
    fill(f);
    int64_t day0_records = 50 + 51 + 52, day0_files = 3;
    totals before = read_current(f);

    nf_maint_options o = opts();
    nf_maint_report r = {0};
    nf_err err = {0};
    /* retention 0 keeps everything */
    assert_int_equal(nf_maint_retention(f->cat, NS, TBL, &o, &r, &err), NF_OK);
    assert_int_equal(r.files_dropped, 0);
    /* one day: the day of now - 1 d (yesterday) and later stay, the day before goes */
    o.retention_ms = 86400000;
    nf_status st = nf_maint_retention(f->cat, NS, TBL, &o, &r, &err);
    if (st != NF_OK)
        fail_msg("retention: %s", err.msg);
    assert_int_equal(r.days_dropped, 1);
    assert_int_equal(r.files_dropped, day0_files);
    assert_int_equal(r.records_dropped, day0_records);
    totals after = read_current(f);
    assert_int_equal(after.per_day[0], 0);
    assert_int_equal(after.per_day[1], 4);
    assert_int_equal(after.per_day[2], 2);
    assert_int_equal(after.records, before.records - day0_records);
    nf_ice_table *t = load(f);
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    assert_string_equal(cur->operation, "delete");
    check_jetstream_keys(f, t);
    nf_ice_table_free(t);
    /* again: nothing */
    nf_maint_report r2 = {0};
    assert_int_equal(nf_maint_retention(f->cat, NS, TBL, &o, &r2, &err), NF_OK);
    assert_int_equal(r2.files_dropped, 0);
}

/* ---- files on disk ------------------------------------------------------------------------ */

typedef struct list {
    char *v[512];
    size_t n;
} list;

static list *g_walk; /* nftw has no context argument; set only around one nftw call */

static int
collect(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)ftw;
    size_t l = strlen(path);
    if (type == FTW_F && ((l > 5 && strcmp(path + l - 5, ".avro") == 0) ||
                          (l > 8 && strcmp(path + l - 8, ".parquet") == 0))) {
        assert_true(g_walk->n < 512);
        g_walk->v[g_walk->n++] = strdup(path);
    }
    return 0;
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_files(fx *f, list *l)
{
    l->n = 0;
    g_walk = l;
    assert_int_equal(nftw(f->loc, collect, 16, FTW_PHYS), 0);
    g_walk = NULL;
    qsort(l->v, l->n, sizeof l->v[0], cmp_str);
}

static void
list_add_uri(list *l, const char *uri)
{
    char *p = NULL;
    assert_int_equal(nf_ice_uri_path(uri, &p, NULL), NF_OK);
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->v[i], p) == 0) {
            free(p);
            return;
        }
    }
    assert_true(l->n < 512);
    l->v[l->n++] = p;
}

/* Everything the snapshots of t reference: lists, manifests, live data files. */
static void
referenced(const nf_ice_table *t, list *l)
{
    l->n = 0;
    size_t n = 0;
    const nf_ice_snapshot *s = nf_ice_table_snapshots(t, &n);
    for (size_t i = 0; i < n; i++) {
        list_add_uri(l, s[i].manifest_list);
        nf_ice_manifest *ms = NULL;
        size_t nm = 0;
        assert_int_equal(nf_ice_mlist_read(s[i].manifest_list, &ms, &nm, NULL), NF_OK);
        for (size_t k = 0; k < nm; k++)
            list_add_uri(l, ms[k].path);
        nf_ice_manifests_free(ms, nm);
        nf_ice_datafile *d = NULL;
        size_t nd = 0;
        assert_int_equal(nf_ice_scan(s[i].manifest_list, NULL, &d, &nd, NULL, NULL), NF_OK);
        for (size_t k = 0; k < nd; k++)
            list_add_uri(l, d[k].path);
        nf_ice_datafiles_free(d, nd);
    }
    qsort(l->v, l->n, sizeof l->v[0], cmp_str);
}

static void
list_clear(list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    l->n = 0;
}

static void
assert_lists_equal(const list *a, const list *b)
{
    for (size_t i = 0; i < a->n || i < b->n; i++) {
        if (i >= a->n || i >= b->n || strcmp(a->v[i], b->v[i]) != 0)
            fail_msg("file lists differ at %zu: %s vs %s", i, i < a->n ? a->v[i] : "(end)",
                     i < b->n ? b->v[i] : "(end)");
    }
}

static void
test_expire(void **state)
{
    fx *f = *state;
    fill(f);
    nf_maint_options o = opts();
    o.retention_ms = 86400000;
    nf_maint_report r = {0};
    nf_err err = {0};
    /* Compaction skips day -2, which retention drops right after. */
    assert_int_equal(nf_maint_compact(f->cat, NS, TBL, f->duck, &o, &r, &err), NF_OK);
    assert_int_equal(r.days_compacted, 1);
    assert_int_equal(r.files_rewritten, 4);
    assert_int_equal(nf_maint_retention(f->cat, NS, TBL, &o, &r, &err), NF_OK);
    assert_int_equal(r.files_dropped, 3);
    totals live = read_current(f);
    assert_int_equal(live.records, f->records - (50 + 51 + 52));
    nf_ice_table *t = load(f);
    size_t nsnap = 0;
    (void)nf_ice_table_snapshots(t, &nsnap);
    assert_int_equal(nsnap, 9 + 1 + 1);
    int64_t first_id = nf_ice_table_snapshots(t, &nsnap)[0].snapshot_id;
    nf_ice_table_free(t);

    /* Nothing is old enough yet under a one-day age: no change. */
    assert_int_equal(nf_maint_expire(f->cat, NS, TBL, &o, &r, &err), NF_OK);
    assert_int_equal(r.snapshots_expired, 0);

    /* Age 0 but min 3: the retention (delete) snapshot, its parent (yesterday's replace)
     * and the last append stay. Every file they reference must still be there: the
     * delete snapshot's DELETED files are live in its parent. */
    list disk = {0}, refs = {0};
    o.snapshot_max_age_ms = 0;
    o.min_snapshots = 3;
    nf_status st = nf_maint_expire(f->cat, NS, TBL, &o, &r, &err);
    if (st != NF_OK)
        fail_msg("expire: %s", err.msg);
    assert_int_equal(r.snapshots_expired, 8);
    t = load(f);
    (void)nf_ice_table_snapshots(t, &nsnap);
    assert_int_equal(nsnap, 3);
    referenced(t, &refs);
    list_files(f, &disk);
    assert_lists_equal(&disk, &refs); /* exactly: nothing unreferenced left, nothing missing */
    size_t n = 0;
    const nf_ice_snapshot *s = nf_ice_table_snapshots(t, &n);
    for (size_t i = 0; i < n; i++) {
        totals x = read_snapshot(f, &s[i], NULL, NULL); /* reads every file: all exist */
        assert_true(x.records == f->records || x.records == live.records);
    }
    const nf_ice_snapshot *gone = NULL;
    assert_int_equal(nf_maint_snapshot_for(t, first_id, 0, &gone, &err), NF_ENOTFOUND);
    nf_ice_table_free(t);
    list_clear(&disk);
    list_clear(&refs);

    /* Age 0, min 1: only the current snapshot stays; the files deleted are exactly those
     * on disk that it does not reference. Metadata files: keep 2 previous versions. */
    const char *props = "[{\"action\":\"set-properties\",\"updates\":"
                        "{\"write.metadata.previous-versions-max\":\"2\"}}]";
    st = nf_ice_catalog_commit(f->cat, NS, TBL, "[]", props, NULL, &err);
    if (st != NF_OK)
        fail_msg("set-properties: %s", err.msg);
    int64_t vmax = 0;
    assert_int_equal(nf_ice_fs_latest_version(f->loc, &vmax, &err), NF_OK);
    assert_true(vmax > 10);
    o.min_snapshots = 1;
    nf_maint_report r2 = {0};
    st = nf_maint_expire(f->cat, NS, TBL, &o, &r2, &err);
    if (st != NF_OK)
        fail_msg("expire: %s", err.msg);
    assert_int_equal(r2.snapshots_expired, 2);
    t = load(f);
    (void)nf_ice_table_snapshots(t, &nsnap);
    assert_int_equal(nsnap, 1);
    referenced(t, &refs);
    list_files(f, &disk);
    assert_lists_equal(&disk, &refs);
    /* deleted now: the lists of the last append and of the replace; the append's 9
     * manifests (one per append, all still in its list) and the replace's one; yesterday's
     * 4 original files (live in the append, DELETED in the replace) and day -2's 3 (live
     * in both, DELETED by retention). */
    assert_int_equal(r2.manifest_lists_deleted, 2);
    assert_int_equal(r2.manifests_deleted, 9 + 1);
    assert_int_equal(r2.data_files_deleted, 4 + 3);
    /* v1 … v(vmax+1) were written; the expiry's commit made v(vmax+1): it and the two
     * before it stay, every older one is gone. */
    assert_int_equal(r2.metadata_files_deleted, (size_t)(vmax + 1 - 3));
    for (int64_t v = 1; v <= vmax + 2; v++) {
        char mp[512];
        snprintf(mp, sizeof mp, "%s/metadata/v%" PRId64 ".metadata.json", f->loc, v);
        bool want = v >= vmax - 1 && v <= vmax + 1;
        if ((access(mp, F_OK) == 0) != want)
            fail_msg("%s: %s", mp, want ? "missing" : "still there");
    }
    nf_ice_table_free(t);
    list_clear(&disk);
    list_clear(&refs);

    totals still = read_current(f);
    assert_int_equal(still.records, live.records);
    assert_int_equal(still.bytes, live.bytes);
    check_jetstream_keys(f, (t = load(f)));
    nf_ice_table_free(t);
}

/* Writes a small file at path, modified `age_s` seconds ago. */
static void
put_aged(const char *path, int64_t age_s)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("orphan", fp);
    fclose(fp);
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= age_s;
    tv[1] = tv[0];
    assert_int_equal(utimes(path, tv), 0);
}

/* The orphan sweep: unreferenced files older than the age go; fresh ones, referenced ones
 * and ones whose URI could be spelled two ways stay; the table reads the same. */
static void
test_orphans(void **state)
{
    fx *f = *state;
    fill(f);
    totals before = read_current(f);
    char day_dir[600], p[4][700];
    snprintf(day_dir, sizeof day_dir, "%s/data/orphans", f->loc);
    assert_int_equal(mkdir(day_dir, 0755), 0);
    snprintf(p[0], sizeof p[0], "%s/old.parquet", day_dir);          /* goes */
    snprintf(p[1], sizeof p[1], "%s/metadata/old-m0.avro", f->loc);  /* goes */
    snprintf(p[2], sizeof p[2], "%s/fresh.parquet", day_dir);        /* too young */
    snprintf(p[3], sizeof p[3], "%s/old copy.parquet", day_dir);     /* two spellings */
    put_aged(p[0], 2 * 86400);
    put_aged(p[1], 2 * 86400);
    put_aged(p[2], 60);
    put_aged(p[3], 2 * 86400);
    /* A referenced file made old stays: age alone never deletes. */
    nf_ice_table *t = load(f);
    list refs = {0};
    referenced(t, &refs);
    nf_ice_table_free(t);
    assert_true(refs.n > 0);
    char *ref_path = NULL;
    assert_int_equal(nf_ice_uri_path(refs.v[0], &ref_path, NULL), NF_OK);
    struct timeval tv[2] = {{.tv_sec = time(NULL) - 3 * 86400}, {.tv_sec = time(NULL) - 3 * 86400}};
    assert_int_equal(utimes(ref_path, tv), 0);

    nf_maint_options o = opts();
    nf_maint_report r = {0};
    nf_err err = {0};
    nf_status st = nf_maint_expire(f->cat, NS, TBL, &o, &r, &err);
    if (st != NF_OK)
        fail_msg("expire: %s", err.msg);
    assert_int_equal(r.orphans_deleted, 2);
    assert_int_not_equal(access(p[0], F_OK), 0);
    assert_int_not_equal(access(p[1], F_OK), 0);
    assert_int_equal(access(p[2], F_OK), 0);
    assert_int_equal(access(p[3], F_OK), 0);
    assert_int_equal(access(ref_path, F_OK), 0);
    totals after = read_current(f);
    assert_int_equal(after.records, before.records);
    assert_int_equal(after.bytes, before.bytes);
    /* A shorter age takes the young one too. */
    o.orphan_min_age_ms = 1;
    sleep(1);
    assert_int_equal(nf_maint_expire(f->cat, NS, TBL, &o, &r, &err), NF_OK);
    assert_int_equal(r.orphans_deleted, 3);
    assert_int_not_equal(access(p[2], F_OK), 0);
    assert_int_equal(access(ref_path, F_OK), 0);
    free(ref_path);
    list_clear(&refs);
}

/* The competing writer of test_conflict: appends through the second catalog client. */
typedef struct hook_ctx {
    fx *f;
    int calls;
} hook_ctx;

static void
compete(void *ctx, const char *phase, int attempt)
{
    hook_ctx *h = ctx;
    assert_string_equal(phase, "compact");
    h->calls++;
    if (h->calls == 1) {
        assert_int_equal(attempt, 0);
        /* into the day being compacted: the retry must rewrite it with this file too */
        append_day(h->f, h->f->cat2, h->f->today - 2, 25);
    } else if (h->calls == 3) {
        assert_int_equal(attempt, 0);
        /* into today: the retry reuses the rewrite */
        append_day(h->f, h->f->cat2, h->f->today, 20);
    }
}

static void
compete_always(void *ctx, const char *phase, int attempt)
{
    (void)phase, (void)attempt;
    hook_ctx *h = ctx;
    append_day(h->f, h->f->cat2, h->f->today, 5);
}

static void
test_conflict(void **state)
{
    fx *f = *state;
    fill(f);
    hook_ctx h = {.f = f};
    nf_maint_options o = opts();
    o.before_commit = compete;
    o.hook_ctx = &h;
    nf_maint_report r = {0};
    nf_err err = {0};
    nf_status st = nf_maint_compact(f->cat, NS, TBL, f->duck, &o, &r, &err);
    if (st != NF_OK)
        fail_msg("compact: %s", err.msg);
    assert_int_equal(h.calls, 4); /* day -2: conflict, retry; day -1: conflict, retry */
    assert_int_equal(r.conflicts, 2);
    assert_int_equal(r.days_compacted, 2);
    assert_int_equal(r.files_rewritten, 4 + 4); /* day -2 had 4 files at the retry */
    totals after = read_current(f);
    assert_int_equal(after.records, f->records);
    assert_int_equal(after.bytes, f->bytes);
    assert_int_equal(after.per_day[0], 1);
    assert_int_equal(after.per_day[1], 1);
    assert_int_equal(after.per_day[2], 3);
    nf_ice_table *t = load(f);
    check_jetstream_keys(f, t); /* the competing appends' state, carried by the replace */
    nf_ice_table_free(t);

    /* A competitor that commits before every attempt: the call gives up with
     * NF_ECONFLICT after max_attempts, and nothing is lost or changed by it. */
    for (int i = 0; i < 3; i++)
        append_day(f, f->cat, f->today - 1, 10);
    o.before_commit = compete_always;
    o.max_attempts = 2;
    nf_maint_report r2 = {0};
    assert_int_equal(nf_maint_compact(f->cat, NS, TBL, f->duck, &o, &r2, &err), NF_ECONFLICT);
    assert_int_equal(r2.conflicts, 2);
    assert_int_equal(r2.days_compacted, 0);
    after = read_current(f);
    assert_int_equal(after.records, f->records);
    assert_int_equal(after.bytes, f->bytes);
    assert_int_equal(after.per_day[1], 4);
}

static void
test_time_travel_args(void **state)
{
    fx *f = *state;
    nf_ice_table *t = load(f);
    const nf_ice_snapshot *s = NULL;
    nf_err err = {0};
    assert_int_equal(nf_maint_snapshot_for(t, 0, 0, &s, &err), NF_ENOTFOUND);
    assert_int_equal(nf_maint_snapshot_for(t, 5, 0, &s, &err), NF_ENOTFOUND);
    assert_int_equal(nf_maint_snapshot_for(t, 5, 5, &s, &err), NF_EINVAL);
    assert_null(s);
    nf_ice_table_free(t);
    append_day(f, f->cat, f->today, 10);
    t = load(f);
    assert_int_equal(nf_maint_snapshot_for(t, 0, 0, &s, &err), NF_OK);
    assert_non_null(s);
    assert_int_equal(nf_maint_snapshot_for(t, 0, 1000, &s, &err), NF_ENOTFOUND);
    nf_ice_table_free(t);
    /* maintenance of an empty or missing table */
    nf_maint_options o = opts();
    assert_int_equal(nf_maint_compact(f->cat, NS, "absent", f->duck, &o, NULL, &err),
                     NF_ENOTFOUND);
}

#ifdef NF_CATALOG_BIN
/* ---- an unknown commit outcome, through the REST catalog -------------------------------------- */

typedef struct stall {
    pid_t pid;     /* the catalog server */
    pthread_t thread;
    bool started;
    int calls;
} stall;

static void *
resume_later(void *arg)
{
    stall *s = arg;
    msleep(3000); /* past the client's 2 s timeout, within the reload's */
    kill(s->pid, SIGCONT);
    return NULL;
}

/* First commit attempt: the server is stopped, so the commit times out with its request
 * delivered; it is resumed a second after the timeout, while the client reloads. */
static void
stall_commit(void *ctx, const char *phase, int attempt)
{
    stall *s = ctx;
    (void)phase;
    s->calls++;
    if (attempt != 0 || s->started)
        return;
    assert_int_equal(kill(s->pid, SIGSTOP), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, resume_later, s), 0);
    s->started = true;
}

static void
test_unknown_outcome(void **state)
{
    fx *f = *state;
    char dir[256], cfgpath[300], wh[300];
    snprintf(dir, sizeof dir, "%s/rest", f->dir);
    snprintf(wh, sizeof wh, "%s/warehouse", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    assert_int_equal(mkdir(wh, 0700), 0);
    snprintf(cfgpath, sizeof cfgpath, "%s/catalog.json", dir);
    uint16_t port = free_port(), mport = free_port();
    FILE *cf = fopen(cfgpath, "w");
    assert_non_null(cf);
    fprintf(cf,
            "{\"listen_addr\": \"127.0.0.1:%u\", \"warehouse\": \"file://%s\", "
            "\"database\": \"%s/catalog.db\", \"metrics_addr\": \"127.0.0.1:%u\", "
            "\"security\": {\"mode\": \"none\"}}\n",
            port, wh, dir, mport);
    fclose(cf);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlive a crashed test */
        char logpath[320];
        snprintf(logpath, sizeof logpath, "%s/catalog.log", dir);
        if (freopen(logpath, "w", stderr) == NULL)
            _exit(126);
        execl(NF_CATALOG_BIN, NF_CATALOG_BIN, "-c", cfgpath, (char *)NULL);
        _exit(127);
    }
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
    nf_ice_catalog_config cfg = {.uri = url, .timeout_ms = 2000};
    nf_ice_catalog *rest = NULL;
    nf_err err = {0};
    nf_status st = NF_EAGAIN;
    for (int i = 0; i < 100 && st != NF_OK; i++) { /* the server starts meanwhile */
        if (rest == NULL)
            st = nf_ice_catalog_open(&cfg, &rest, &err);
        if (rest != NULL)
            st = nf_ice_catalog_ensure_namespace(rest, NS, &err);
        if (st != NF_OK)
            msleep(100);
    }
    if (st != NF_OK)
        fail_msg("catalog did not start: %s", err.msg);
    nf_ice_table *t = NULL;
    st = nf_ice_catalog_create(rest, NS, TBL, NULL, nf_cold_schema_json, nf_cold_spec_json,
                               nf_cold_sort_order_json, nf_cold_properties_json, &t, &err);
    if (st != NF_OK)
        fail_msg("create: %s", err.msg);
    char *p = NULL;
    assert_int_equal(nf_ice_uri_path(nf_ice_table_location(t), &p, &err), NF_OK);
    snprintf(f->loc, sizeof f->loc, "%s", p);
    free(p);
    nf_ice_table_free(t);
    /* The fixture's catalogs now mean the REST one (the filesystem table stays unused). */
    nf_ice_catalog *fs = f->cat;
    f->cat = rest;
    for (int i = 0; i < 3; i++)
        append_day(f, rest, f->today - 1, 20 + (size_t)i);
    append_day(f, rest, f->today, 10);

    stall s = {.pid = pid};
    nf_maint_options o = opts();
    o.before_commit = stall_commit;
    o.hook_ctx = &s;
    nf_maint_report r = {0};
    st = nf_maint_compact(rest, NS, TBL, f->duck, &o, &r, &err);
    if (s.started)
        pthread_join(s.thread, NULL);
    if (st != NF_OK)
        fail_msg("compact: %s", err.msg);
    assert_true(s.started);
    assert_int_equal(r.unknown_outcomes, 1);
    /* However it went, the call knows the day was compacted by its own snapshot. */
    assert_int_equal(r.days_compacted, 1);
    fprintf(stderr, "-- unknown outcome: %d commit attempt(s), %zu conflict(s)\n", s.calls,
            r.conflicts);
    /* Whether the stalled commit landed before the reload was answered (found: done), after
     * it (retry conflicts, re-plan finds the day compacted) or never (retry commits), the
     * table holds exactly one replace, one file for the day, every record once. */
    t = load(f);
    size_t n = 0, replaces = 0;
    const nf_ice_snapshot *snaps = nf_ice_table_snapshots(t, &n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(snaps[i].operation, "replace") == 0) {
            replaces++;
            assert_int_equal(snaps[i].snapshot_id, r.last_snapshot_id);
        }
    }
    assert_int_equal(replaces, 1);
    check_jetstream_keys(f, t);
    nf_ice_table_free(t);
    totals after = read_current(f);
    assert_int_equal(after.records, f->records);
    assert_int_equal(after.bytes, f->bytes);
    assert_int_equal(after.per_day[1], 1);
    assert_int_equal(after.per_day[2], 1);

    f->cat = fs;
    nf_ice_catalog_close(rest);
    kill(pid, SIGTERM);
    int status = 0;
    waitpid(pid, &status, 0);
}
#endif

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_time_travel_args, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orphans, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conflict, setup, teardown),
#ifdef NF_CATALOG_BIN
        cmocka_unit_test_setup_teardown(test_unknown_outcome, setup, teardown),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

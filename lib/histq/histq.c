/* histq.c — historical queries over the cold tier's Iceberg table (see histq.h for the
 * path of one question).
 *
 * Design notes
 *
 * 1. Pruning must never change the answer: a condition handed to nf_ice_scan is a
 *    necessary condition of the request's filters on that field. Filters on one field are
 *    ORed, and so are scan conditions on one field, so a field contributes the conditions of
 *    all its filters or none (one filter without a usable bound — e.g. 0.0.0.0/1 — leaves
 *    the field unpruned). Address bounds come from nf_q_addr_text_bounds; a bound longer
 *    than NF_ICE_BOUND_MAX is shortened the way the spec shortens statistics (lower: a
 *    prefix; upper: a prefix whose last byte is 0xff), which keeps it a bound.
 *
 * 2. Paths handed to DuckDB are local paths (nf_ice_uri_path of the manifest's URIs), so
 *    the same SQL works whatever URI forms the DuckDB build accepts.
 *
 * 3. The answer is read as text for the value (UBIGINT exceeds int64) and parsed strictly;
 *    its row count is checked against what the request allows, so a wrong SQL shape is an
 *    error, not an unbounded allocation.
 */
#include "histq.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/clock.h"
#include "../cold/rollup.h"
#include "../cold/table.h"

/* Cold-table column of each filterable field, and its Iceberg type. */
static const struct {
    int32_t id;
    nf_ice_type type;
} field_cols[] = {
    [NF_Q_SRC_ADDR] = {NF_COLD_SRC_IP, NF_ICE_STRING},
    [NF_Q_DST_ADDR] = {NF_COLD_DST_IP, NF_ICE_STRING},
    [NF_Q_SRC_PORT] = {NF_COLD_SRC_PORT, NF_ICE_INT},
    [NF_Q_DST_PORT] = {NF_COLD_DST_PORT, NF_ICE_INT},
    [NF_Q_PROTOCOL] = {NF_COLD_PROTOCOL, NF_ICE_INT},
    [NF_Q_EXPORTER] = {NF_COLD_EXPORTER_IP, NF_ICE_STRING},
    [NF_Q_IN_IF] = {NF_COLD_IN_IF, NF_ICE_LONG},
    [NF_Q_OUT_IF] = {NF_COLD_OUT_IF, NF_ICE_LONG},
    [NF_Q_SRC_AS] = {NF_COLD_SRC_AS, NF_ICE_LONG},
    [NF_Q_DST_AS] = {NF_COLD_DST_AS, NF_ICE_LONG},
};

/* Note 1: a text bound as a scan bound, shortened to NF_ICE_BOUND_MAX if needed. */
static void
text_bound(const char *s, bool upper, uint8_t *out, uint8_t *len)
{
    size_t n = strlen(s);
    if (n > NF_ICE_BOUND_MAX) {
        n = NF_ICE_BOUND_MAX;
        memcpy(out, s, n);
        if (upper)
            out[n - 1] = 0xff; /* above every text sharing the first n - 1 bytes */
    } else {
        memcpy(out, s, n);
    }
    *len = (uint8_t)n;
}

/* The conditions of one filter; returns how many (0: none usable). */
static size_t
filter_conds(const nf_q_filter *fl, nf_ice_cond out[NF_Q_TEXT_RANGES])
{
    int32_t id = field_cols[fl->field].id;
    nf_ice_type type = field_cols[fl->field].type;
    if (type == NF_ICE_STRING) {
        nf_q_text_range tr[NF_Q_TEXT_RANGES];
        size_t n = 0;
        if (!nf_q_addr_text_bounds(fl, tr, &n))
            return 0;
        for (size_t i = 0; i < n; i++) {
            memset(&out[i], 0, sizeof(out[i]));
            out[i].field_id = id;
            out[i].type = type;
            text_bound(tr[i].lo, false, out[i].lo, &out[i].lo_len);
            text_bound(tr[i].hi, true, out[i].hi, &out[i].hi_len);
        }
        return n;
    }
    memset(&out[0], 0, sizeof(out[0]));
    out[0].field_id = id;
    out[0].type = type;
    if (type == NF_ICE_INT) {
        out[0].lo_len = (uint8_t)nf_ice_bound_int((int32_t)fl->value, out[0].lo);
        out[0].hi_len = (uint8_t)nf_ice_bound_int((int32_t)fl->value, out[0].hi);
    } else {
        out[0].lo_len = (uint8_t)nf_ice_bound_long((int64_t)fl->value, out[0].lo);
        out[0].hi_len = (uint8_t)nf_ice_bound_long((int64_t)fl->value, out[0].hi);
    }
    return 1;
}

void
nf_histq_scan_filter(const nf_q_request *req, nf_ice_scan_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->ts_field_id = NF_COLD_TIMESTAMP;
    f->ts_lo_us = req->start * 1000000;
    f->ts_hi_us = req->end * 1000000;
    for (unsigned fld = NF_Q_NONE + 1; fld < NF_Q_TIME; fld++) {
        nf_ice_cond conds[NF_Q_MAX_FILTERS * NF_Q_TEXT_RANGES];
        size_t n = 0;
        bool usable = false;
        for (size_t i = 0; i < req->nfilters && i < NF_Q_MAX_FILTERS; i++) {
            if ((unsigned)req->filters[i].field != fld)
                continue;
            size_t k = filter_conds(&req->filters[i], conds + n);
            usable = k > 0;
            if (!usable)
                break; /* note 1: one unbounded filter makes the field unprunable */
            n += k;
        }
        if (!usable || f->nconds + n > NF_ICE_MAX_CONDS)
            continue;
        memcpy(f->conds + f->nconds, conds, n * sizeof(conds[0]));
        f->nconds += n;
    }
}

void
nf_histq_result_free(nf_histq_result *r)
{
    if (r == NULL)
        return;
    free(r->rows);
    free(r);
}

static bool
parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL || *s < '0' || *s > '9')
        return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

/* Note 3: the rows of res as nf_histq_row values. */
static nf_status
convert(nf_duck_result *res, const nf_q_request *req, nf_histq_result **out, nf_err *err)
{
    bool series = req->group_by == NF_Q_TIME;
    size_t nr = nf_duck_result_rows(res);
    size_t most = series ? (size_t)((req->end - 1) / req->interval - req->start / req->interval + 1)
                         : req->limit;
    if (nf_duck_result_cols(res) != 2 || nr > most)
        return nf_err_set(err, NF_EPROTO, "histq: DuckDB answered %zu rows of %zu columns, "
                          "expected at most %zu of 2", nr, nf_duck_result_cols(res), most);
    nf_histq_result *r = calloc(1, sizeof(*r));
    if (r == NULL || (nr > 0 && (r->rows = calloc(nr, sizeof(nf_histq_row))) == NULL)) {
        free(r);
        return nf_err_set(err, NF_ENOMEM, "histq: out of memory for %zu rows", nr);
    }
    for (size_t i = 0; i < nr; i++) {
        nf_histq_row *row = &r->rows[i];
        const char *v = nf_duck_result_text(res, i, 1);
        if (!parse_u64(v, &row->value)) {
            nf_histq_result_free(r);
            return nf_err_set(err, NF_EPROTO, "histq: row %zu: value \"%.32s\" is not a "
                              "uint64", i, v ? v : "NULL");
        }
        if (series) {
            row->ts = nf_duck_result_int64(res, i, 0);
            continue;
        }
        const char *k = nf_duck_result_text(res, i, 0);
        if (k == NULL || strlen(k) >= sizeof(row->key)) {
            nf_histq_result_free(r);
            return nf_err_set(err, NF_EPROTO, "histq: row %zu: key missing or longer than "
                              "%zu bytes", i, sizeof(row->key) - 1);
        }
        strcpy(row->key, k);
    }
    r->n = nr;
    *out = r;
    return NF_OK;
}

/* Runs sql (consumed) and converts its rows. */
static nf_status
run_sql(nf_duck *duck, const nf_q_request *req, char *sql, nf_histq_result **out,
        uint64_t *query_ms, nf_err *err)
{
    nf_status st;
    uint64_t t0 = nf_mono_ms();
    nf_duck_result *res = NULL;
    st = nf_duck_query(duck, sql, &res, err);
    free(sql);
    if (st == NF_OK)
        st = convert(res, req, out, err);
    nf_duck_result_free(res);
    if (st == NF_OK && query_ms != NULL)
        *query_ms = nf_mono_ms() - t0;
    return st;
}

nf_status
nf_histq_query(nf_duck *duck, const nf_q_request *req, const char *const *paths, size_t npaths,
               nf_histq_result **out, uint64_t *query_ms, nf_err *err)
{
    if (duck == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "histq: missing %s", duck == NULL ? "duck" : "out");
    char *sql = NULL;
    nf_status st = nf_q_build_duckdb(req, paths, npaths, &sql, err);
    if (st != NF_OK)
        return st;
    return run_sql(duck, req, sql, out, query_ms, err);
}

/* The snapshot opt asks for; *snap NULL (NF_OK) for a table without snapshots. */
static nf_status
pick_snapshot(const nf_ice_table *t, const nf_histq_options *opt, const nf_ice_snapshot **snap,
              nf_err *err)
{
    if (opt != NULL && opt->snapshot_id > 0) {
        *snap = nf_ice_table_snapshot(t, opt->snapshot_id);
        if (*snap == NULL)
            return nf_err_set(err, NF_ENOTFOUND, "histq: snapshot %lld not in the table",
                              (long long)opt->snapshot_id);
    } else if (opt != NULL && opt->as_of_ms > 0) {
        *snap = nf_ice_table_snapshot_at(t, opt->as_of_ms);
        if (*snap == NULL)
            return nf_err_set(err, NF_ENOTFOUND, "histq: no snapshot was current at %lld ms",
                              (long long)opt->as_of_ms);
    } else {
        *snap = nf_ice_table_current(t);
    }
    return NF_OK;
}

/* ---- rollups (histq.h, docs/iceberg.md "Rollups") ------------------------------------------ */

#define DAY_S 86400
#define HOUR_S 3600
#define US 1000000LL

/* The parts of one mixed answer: spans and the rollup files' local paths (owned). */
typedef struct rplan {
    nf_q_span *raw, *rollup;
    size_t nraw, nrollup;
    char **rpaths;
    size_t nrpaths;
} rplan;

static void
rplan_free(rplan *p)
{
    for (size_t i = 0; i < p->nrpaths; i++)
        free(p->rpaths[i]);
    free(p->rpaths);
    free(p->raw);
    free(p->rollup);
    memset(p, 0, sizeof(*p));
}

/* Live record count per day d0..d1 of snapshot mlist (counts[d - d0]): a scan with only the
 * time condition of those whole days, which no file of those days can fail. */
static nf_status
day_counts(const char *mlist, int64_t d0, int64_t d1, int64_t *counts, nf_err *err)
{
    nf_ice_scan_filter f;
    memset(&f, 0, sizeof(f));
    f.ts_field_id = NF_COLD_TIMESTAMP;
    f.ts_lo_us = d0 * DAY_S * US;
    f.ts_hi_us = (d1 + 1) * DAY_S * US;
    nf_ice_datafile *files = NULL;
    size_t n = 0;
    nf_status st = nf_ice_scan(mlist, &f, &files, &n, NULL, err);
    if (st != NF_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        if (!files[i].partition_null && files[i].partition >= d0 && files[i].partition <= d1)
            counts[files[i].partition - d0] += files[i].record_count;
    nf_ice_datafiles_free(files, n);
    return NF_OK;
}

/* Plans the rollup part of req over raw snapshot snap: p->rollup (whole hours of usable
 * days), p->raw (the rest of [start, end)) and the rollup files. Nothing (p empty, NF_OK)
 * when no rollup can be used. */
static nf_status
plan_rollups(nf_ice_catalog *cat, const char *ns, const char *table, const nf_ice_snapshot *snap,
             const nf_q_request *req, rplan *p, nf_histq_stats *s, nf_err *err)
{
    memset(p, 0, sizeof(*p));
    const char *fam_name = nf_q_family_for(req);
    const nf_cold_rollup *fam = nf_cold_rollup_named(fam_name);
    if (fam == NULL || (req->group_by == NF_Q_TIME && req->interval % HOUR_S != 0))
        return NF_OK;
    int64_t a = (req->start + HOUR_S - 1) / HOUR_S * HOUR_S; /* start >= 0 (checked) */
    int64_t b = req->end / HOUR_S * HOUR_S;
    if (a >= b)
        return NF_OK;
    char name[NF_COLD_ROLLUP_NAME_MAX];
    nf_status st = nf_cold_rollup_table(table, fam, name, sizeof(name), err);
    if (st != NF_OK)
        return st;
    nf_ice_table *rt = NULL;
    nf_cold_rollup_day *rec = NULL;
    size_t nrec = 0;
    int64_t *counts = NULL;
    nf_ice_datafile *rf = NULL;
    size_t nrf = 0;
    st = nf_ice_catalog_load(cat, ns, name, &rt, NULL, err);
    if (st == NF_ENOTFOUND) { /* never built: raw only */
        st = NF_OK;
        goto done;
    }
    const nf_ice_snapshot *rcur = st == NF_OK ? nf_ice_table_current(rt) : NULL;
    if (rcur == NULL)
        goto done;
    if (nf_cold_rollup_days_parse(nf_ice_table_summary(rt, rcur->snapshot_id,
                                                       NF_COLD_ROLLUP_SUMMARY_DAYS),
                                  &rec, &nrec, NULL) != NF_OK || nrec == 0)
        goto done; /* a list that does not parse: no day is known current */
    int64_t d0 = nf_floor_div(a, DAY_S), d1 = nf_floor_div(b - 1, DAY_S);
    size_t nd = (size_t)(d1 - d0 + 1);
    counts = calloc(nd, sizeof(*counts));
    /* At most one rollup span per day, and a raw span before each and after the last. */
    p->rollup = calloc(nd, sizeof(*p->rollup));
    p->raw = calloc(nd + 1, sizeof(*p->raw));
    if (counts == NULL || p->rollup == NULL || p->raw == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "histq: rollup plan of %zu days", nd);
        goto done;
    }
    if ((st = day_counts(snap->manifest_list, d0, d1, counts, err)) != NF_OK)
        goto done;
    for (int64_t d = d0; d <= d1; d++) {
        int64_t c = counts[d - d0];
        if (c <= 0 || nf_cold_rollup_days_find(rec, nrec, (int32_t)d) != c)
            continue; /* stale, never built, or nothing there: raw */
        int64_t lo = d * DAY_S > a ? d * DAY_S : a, hi = (d + 1) * DAY_S < b ? (d + 1) * DAY_S : b;
        if (p->nrollup > 0 && p->rollup[p->nrollup - 1].end == lo)
            p->rollup[p->nrollup - 1].end = hi;
        else
            p->rollup[p->nrollup++] = (nf_q_span){lo, hi};
    }
    if (p->nrollup == 0)
        goto done;
    int64_t at = req->start;
    for (size_t i = 0; i < p->nrollup; i++) {
        if (p->rollup[i].start > at)
            p->raw[p->nraw++] = (nf_q_span){at, p->rollup[i].start};
        at = p->rollup[i].end;
    }
    if (at < req->end)
        p->raw[p->nraw++] = (nf_q_span){at, req->end};

    /* The rollup files of the usable days (their table's current snapshot: the same
     * metadata the day list came from). */
    nf_ice_scan_filter f;
    memset(&f, 0, sizeof(f));
    f.ts_field_id = 1;
    f.ts_lo_us = p->rollup[0].start * US;
    f.ts_hi_us = p->rollup[p->nrollup - 1].end * US;
    if ((st = nf_ice_scan(rcur->manifest_list, &f, &rf, &nrf, NULL, err)) != NF_OK)
        goto done;
    p->rpaths = calloc(nrf ? nrf : 1, sizeof(char *));
    if (p->rpaths == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "histq: %zu rollup paths", nrf);
        goto done;
    }
    for (size_t i = 0; i < nrf; i++) {
        int64_t d = rf[i].partition;
        if (rf[i].partition_null || d < d0 || d > d1 || counts[d - d0] <= 0 ||
            nf_cold_rollup_days_find(rec, nrec, (int32_t)d) != counts[d - d0])
            continue;
        if ((st = nf_ice_uri_path(rf[i].path, &p->rpaths[p->nrpaths], err)) != NF_OK)
            goto done;
        p->nrpaths++;
    }
    for (size_t i = 0; i < p->nrollup; i++)
        s->rollup_seconds += p->rollup[i].end - p->rollup[i].start;
    snprintf(s->rollup_family, sizeof(s->rollup_family), "%s", fam->family);
    s->rollup_files = p->nrpaths;
done:
    if (st != NF_OK || p->nrollup == 0) {
        rplan_free(p);
        s->rollup_seconds = 0;
        s->rollup_files = 0;
        s->rollup_family[0] = '\0';
    }
    nf_ice_datafiles_free(rf, nrf);
    free(counts);
    free(rec);
    nf_ice_table_free(rt);
    return st;
}

/* True when raw file f holds no row of the raw spans: its timestamp bounds lie inside one
 * rollup span. Without bounds it is kept. */
static bool
covered_by_rollups(const nf_ice_datafile *f, const rplan *p)
{
    for (size_t i = 0; i < f->ncols; i++) {
        const nf_ice_colstat *c = &f->cols[i];
        if (c->field_id != NF_COLD_TIMESTAMP)
            continue;
        if (c->lower_len != 8 || c->upper_len != 8)
            return false;
        int64_t lo = 0, hi = 0;
        for (int k = 7; k >= 0; k--) {
            lo = (int64_t)((uint64_t)lo << 8 | c->lower[k]);
            hi = (int64_t)((uint64_t)hi << 8 | c->upper[k]);
        }
        for (size_t k = 0; k < p->nrollup; k++)
            if (lo >= p->rollup[k].start * US && hi < p->rollup[k].end * US)
                return true;
        return false;
    }
    return false;
}

nf_status
nf_histq_run(nf_ice_catalog *cat, const char *ns, const char *table,
             const nf_histq_options *opt, nf_duck *duck, const nf_q_request *req,
             nf_histq_result **out, nf_histq_stats *stats, nf_err *err)
{
    if (cat == NULL || ns == NULL || table == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "histq: missing catalog, namespace, table or out");
    /* Refuse an invalid request before any I/O (the same checks as the SQL builder). */
    char *probe = NULL;
    nf_status st = nf_q_build_duckdb(req, NULL, 0, &probe, err);
    free(probe);
    if (st != NF_OK)
        return st;
    nf_histq_stats s = {0};
    nf_ice_table *t = NULL;
    nf_ice_datafile *files = NULL;
    size_t nfiles = 0;
    char **paths = NULL;
    rplan rp;
    memset(&rp, 0, sizeof(rp));
    uint64_t t0 = nf_mono_ms();
    st = nf_ice_catalog_load(cat, ns, table, &t, NULL, err);
    const nf_ice_snapshot *snap = NULL;
    if (st == NF_OK)
        st = pick_snapshot(t, opt, &snap, err);
    s.load_ms = nf_mono_ms() - t0;
    if (st != NF_OK)
        goto done;
    if (snap != NULL) {
        s.snapshot_id = snap->snapshot_id;
        nf_ice_scan_filter f;
        nf_histq_scan_filter(req, &f);
        nf_ice_scan_stats ss = {0};
        t0 = nf_mono_ms();
        st = nf_ice_scan(snap->manifest_list, &f, &files, &nfiles, &ss, err);
        s.scan_ms = nf_mono_ms() - t0;
        if (st != NF_OK)
            goto done;
        s.files_total = ss.files;
        s.files_kept = nfiles;
        s.records_kept = ss.records;
        s.bytes_kept = ss.bytes;
    }
    if (nfiles > 0 && (paths = calloc(nfiles, sizeof(char *))) == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "histq: out of memory for %zu paths", nfiles);
        goto done;
    }
    if (snap != NULL && !req->raw_only) {
        t0 = nf_mono_ms();
        st = plan_rollups(cat, ns, table, snap, req, &rp, &s, err);
        s.scan_ms += nf_mono_ms() - t0;
        if (st != NF_OK)
            goto done;
    }
    size_t npaths = 0;
    for (size_t i = 0; i < nfiles; i++) { /* note 2 */
        if (rp.nrollup > 0 && covered_by_rollups(&files[i], &rp)) {
            s.raw_files_replaced++;
            continue;
        }
        st = nf_ice_uri_path(files[i].path, &paths[npaths], err);
        if (st != NF_OK)
            goto done;
        npaths++;
    }
    if (rp.nrollup == 0) {
        st = nf_histq_query(duck, req, (const char *const *)paths, npaths, out, &s.query_ms,
                            err);
    } else {
        nf_q_cold_parts parts = {.raw_files = (const char *const *)paths,
                                 .nraw_files = npaths,
                                 .raw_spans = rp.raw,
                                 .nraw_spans = rp.nraw,
                                 .rollup_files = (const char *const *)rp.rpaths,
                                 .nrollup_files = rp.nrpaths,
                                 .rollup_spans = rp.rollup,
                                 .nrollup_spans = rp.nrollup};
        char *sql = NULL;
        st = nf_q_build_duckdb_parts(req, &parts, &sql, err);
        if (st == NF_OK)
            st = run_sql(duck, req, sql, out, &s.query_ms, err);
    }
done:
    rplan_free(&rp);
    for (size_t i = 0; paths != NULL && i < nfiles; i++)
        free(paths[i]); /* calloc'd: entries past those used are NULL */
    free(paths);
    nf_ice_datafiles_free(files, nfiles);
    nf_ice_table_free(t);
    if (st == NF_OK && stats != NULL)
        *stats = s;
    return st;
}

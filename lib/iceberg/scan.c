/* scan.c — nf_ice_scan: manifest list → manifests → the live data files a filter cannot
 * exclude.
 *
 * Pruning, cheapest first (each step only ever excludes what provably has no matching row;
 * missing statistics keep the file):
 *   1. manifest: its partition summary [lower, upper] is disjoint from the days of the time
 *      range — only when the partition spec is known to be day(ts_field_id);
 *   2. data file: its partition value (same condition) outside those days;
 *   3. data file: the timestamp column's bounds disjoint from [ts_lo, ts_hi);
 *   4. data file: the nf_ice_cond conditions (OR within a field, AND across fields) against
 *      the column's lower/upper bounds.
 *
 * The manifest list records only a spec id; what that spec is comes from a manifest's header
 * (partition-spec). Spec ids never change meaning within a table, so the first manifest read
 * for an id tells us for every later one: a scan reads at most one manifest per spec id that
 * pruning step 1 could have skipped.
 */
#include <stdlib.h>
#include <string.h>

#include "avro.h"
#include "iceberg.h"

#include "base/clock.h"

#define US_PER_DAY 86400000000LL
#define MAX_SPECS 16

typedef struct spec_cache {
    nf_ice_manifest_spec specs[MAX_SPECS];
    int32_t ids[MAX_SPECS];
    size_t n;
} spec_cache;

static const nf_ice_manifest_spec *
spec_lookup(const spec_cache *c, int32_t id)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->ids[i] == id)
            return &c->specs[i];
    return NULL;
}

static void
spec_remember(spec_cache *c, int32_t id, const nf_ice_manifest_spec *s)
{
    if (c->n < MAX_SPECS && spec_lookup(c, id) == NULL) {
        c->ids[c->n] = id;
        c->specs[c->n++] = *s;
    }
}

typedef struct range {
    bool time;              /* a time condition is set */
    bool empty;             /* ts_hi <= ts_lo: nothing matches */
    int64_t day_lo, day_hi; /* inclusive */
} range;

/* The spec is day(ts_field_id): partition values are comparable with the range's days. */
static bool
day_spec(const nf_ice_scan_filter *f, const nf_ice_manifest_spec *s)
{
    return s != NULL && s->known && s->spec.transform == NF_ICE_DAY && f != NULL &&
           s->spec.source_id == f->ts_field_id;
}

static const nf_ice_colstat *
find_col(const nf_ice_datafile *d, int32_t id)
{
    for (size_t i = 0; i < d->ncols; i++)
        if (d->cols[i].field_id == id)
            return &d->cols[i];
    return NULL;
}

static bool
len_ok(nf_ice_type t, size_t len)
{
    size_t want = nf_ice_bound_len(t);
    return len > 0 && (want == 0 || want == len);
}

/* Whether condition c may match a file whose column has statistics s (NULL = none). */
static bool
cond_may_match(const nf_ice_cond *c, const nf_ice_colstat *s)
{
    if (s == NULL)
        return true;
    /* File minimum above the condition's maximum? */
    if (c->hi_len > 0 && len_ok(c->type, c->hi_len) && len_ok(c->type, s->lower_len) &&
        (nf_ice_bound_len(c->type) == 0 || s->lower_len == c->hi_len) &&
        nf_ice_bound_cmp(c->type, s->lower, s->lower_len, c->hi, c->hi_len) > 0)
        return false;
    /* File maximum below the condition's minimum? */
    if (c->lo_len > 0 && len_ok(c->type, c->lo_len) && len_ok(c->type, s->upper_len) &&
        (nf_ice_bound_len(c->type) == 0 || s->upper_len == c->lo_len) &&
        nf_ice_bound_cmp(c->type, s->upper, s->upper_len, c->lo, c->lo_len) < 0)
        return false;
    return true;
}

/* Whether the data file may hold a matching row (false = provably not). */
static bool
file_may_match(const nf_ice_scan_filter *f, const range *rg, bool day, const nf_ice_datafile *d)
{
    if (f == NULL)
        return true;
    if (rg->time) {
        if (rg->empty)
            return false;
        if (day && !d->partition_null && (d->partition < rg->day_lo || d->partition > rg->day_hi))
            return false;
        const nf_ice_colstat *ts = find_col(d, f->ts_field_id);
        uint8_t lo[8], hi[8];
        nf_ice_bound_long(f->ts_lo_us, lo);
        nf_ice_bound_long(f->ts_hi_us, hi);
        if (ts != NULL && ts->upper_len == 8 &&
            nf_ice_bound_cmp(NF_ICE_TIMESTAMPTZ, ts->upper, 8, lo, 8) < 0)
            return false;
        if (ts != NULL && ts->lower_len == 8 &&
            nf_ice_bound_cmp(NF_ICE_TIMESTAMPTZ, ts->lower, 8, hi, 8) >= 0)
            return false;
    }
    /* Conditions: for each distinct field (first occurrence), OR its conditions. */
    for (size_t i = 0; i < f->nconds; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = f->conds[j].field_id == f->conds[i].field_id;
        if (seen)
            continue;
        const nf_ice_colstat *s = find_col(d, f->conds[i].field_id);
        bool any = false;
        for (size_t j = i; j < f->nconds && !any; j++)
            if (f->conds[j].field_id == f->conds[i].field_id)
                any = cond_may_match(&f->conds[j], s);
        if (!any)
            return false;
    }
    return true;
}

static bool
manifest_may_match(const range *rg, bool day, const nf_ice_manifest *m)
{
    if (!rg->time)
        return true;
    if (rg->empty)
        return false;
    if (!day || !m->has_summary || !m->has_bounds)
        return true;
    return !(m->upper < rg->day_lo || m->lower > rg->day_hi);
}

static int
by_path(const void *a, const void *b)
{
    return strcmp(((const nf_ice_datafile *)a)->path, ((const nf_ice_datafile *)b)->path);
}

nf_status
nf_ice_scan(const char *mlist_uri, const nf_ice_scan_filter *f, nf_ice_datafile **out,
            size_t *n, nf_ice_scan_stats *st, nf_err *err)
{
    if (mlist_uri == NULL || out == NULL || n == NULL)
        return nf_err_set(err, NF_EINVAL, "scan: bad arguments");
    if (f != NULL && f->nconds > NF_ICE_MAX_CONDS)
        return nf_err_set(err, NF_EINVAL, "scan: %zu conditions (at most %d)", f->nconds,
                          NF_ICE_MAX_CONDS);
    range rg = {0};
    if (f != NULL && f->ts_field_id != 0) {
        rg.time = true;
        rg.empty = f->ts_hi_us <= f->ts_lo_us;
        if (!rg.empty) {
            rg.day_lo = nf_floor_div(f->ts_lo_us, US_PER_DAY);
            rg.day_hi = nf_floor_div(f->ts_hi_us - 1, US_PER_DAY);
        }
    }
    nf_ice_scan_stats stats = {0};
    nf_ice_manifest *ms = NULL;
    size_t nm = 0;
    nf_status rc = nf_ice_mlist_read(mlist_uri, &ms, &nm, err);
    if (rc != NF_OK)
        return rc;
    for (size_t i = 0; i < nm; i++)
        if (ms[i].content != 0) {
            rc = nf_err_set(err, NF_EINVAL, "scan %s: manifest %s holds deletes (content %d), "
                            "not supported", mlist_uri, ms[i].path, ms[i].content);
            nf_ice_manifests_free(ms, nm);
            return rc;
        }
    spec_cache cache = {0};
    nf_ice_datafile *keep = NULL;
    size_t nkeep = 0, cap = 0;
    for (size_t i = 0; i < nm; i++) {
        const nf_ice_manifest *m = &ms[i];
        stats.manifests++;
        bool day = day_spec(f, spec_lookup(&cache, m->spec_id));
        if (!manifest_may_match(&rg, day, m)) {
            stats.manifests_skipped++;
            continue;
        }
        nf_ice_datafile *files = NULL;
        size_t nf = 0;
        nf_ice_manifest_spec spec;
        rc = nf_ice_manifest_read_spec(m, &files, &nf, &spec, err);
        if (rc != NF_OK)
            goto fail;
        spec_remember(&cache, m->spec_id, &spec);
        day = day_spec(f, &spec);
        if (!manifest_may_match(&rg, day, m)) {
            stats.manifests_skipped++;
            nf_ice_datafiles_free(files, nf);
            continue;
        }
        for (size_t j = 0; j < nf; j++) {
            nf_ice_datafile *d = &files[j];
            if (d->status == NF_ICE_DELETED)
                continue;
            stats.files++;
            if (!file_may_match(f, &rg, day, d)) {
                stats.files_skipped++;
                continue;
            }
            if (nkeep == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                nf_ice_datafile *k = realloc(keep, ncap * sizeof(*k));
                if (k == NULL) {
                    nf_ice_datafiles_free(files, nf);
                    rc = nf_err_set(err, NF_ENOMEM, "scan %s: %zu files", mlist_uri, ncap);
                    goto fail;
                }
                keep = k;
                cap = ncap;
            }
            /* Move the file (path and stats) instead of copying it. */
            keep[nkeep++] = *d;
            d->path = NULL;
            d->cols = NULL;
            d->ncols = 0;
            stats.records += keep[nkeep - 1].record_count;
            stats.bytes += keep[nkeep - 1].file_size;
        }
        nf_ice_datafiles_free(files, nf);
    }
    nf_ice_manifests_free(ms, nm);
    if (nkeep > 1)
        qsort(keep, nkeep, sizeof(*keep), by_path);
    *out = keep;
    *n = nkeep;
    if (st != NULL)
        *st = stats;
    return NF_OK;
fail:
    nf_ice_datafiles_free(keep, nkeep);
    nf_ice_manifests_free(ms, nm);
    return rc;
}

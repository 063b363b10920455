/* maintain.c — compaction, retention, snapshot expiry and time travel for the cold tier's
 * Iceberg table (contract in maintain.h, design in docs/iceberg.md "Maintenance").
 *
 * Design
 *   Compaction and retention change the set of live files. Both commit the same simple
 *   shape of snapshot: ONE new manifest listing every live file of the table (EXISTING
 *   entries with the snapshot id and sequence numbers kept from where the file was added,
 *   DELETED entries for the files leaving, ADDED entries for the new ones) and a manifest
 *   list holding that one manifest (snapcommit.h, shared with the rollup tables). It costs
 *   one manifest rewrite of the whole table per maintenance commit (a few hundred bytes per
 *   live file), but every such snapshot is self-contained and the next appends start from a
 *   single manifest again.
 *
 *   Every commit goes through the catalog with the requirement "main is still the snapshot
 *   we planned from" (nf_ice_requirements_main):
 *
 *        load ──► plan ──► write files ──► commit ──OK──────────────► done
 *         ▲                                  │
 *         ├──────── NF_ECONFLICT ────────────┤  (nothing changed: re-plan)
 *         └── not found after reload ◄───────┘  NF_EUPSTREAM/ETIMEDOUT/EAGAIN: reload;
 *                                               our snapshot there → done
 *
 *   A compaction's rewritten file is reused by the next attempt when the day's input files
 *   are still exactly the same live set (an append to another day does not force a second
 *   rewrite).
 *
 * Invariants
 *   1. No file is deleted after a failed or unknown commit. The only deletion outside
 *      expiry is of a rewrite output whose record count disagrees, before any commit.
 *   2. Every committed snapshot copies the parent's NF_COLD_SUMMARY_* keys.
 *   3. Compaction commits only when the records of the new files equal the replaced ones'.
 *   4. Expiry deletes only after its metadata commit landed, only files under the table's
 *      location, and only files no snapshot of the committed metadata references through
 *      its manifest list, its manifests or an ADDED/EXISTING entry.
 */
#include "maintain.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "../base/clock.h"
#include "../cold/table.h"
#include "../duck/flowfile.h"
#include "snapcommit.h"

#define DAY_MS 86400000LL

static const char *const g_jetstream_keys[] = {NF_COLD_SUMMARY_STREAM, NF_COLD_SUMMARY_LAST_SEQ,
                                               NF_COLD_SUMMARY_SEQS};

/* ---- small helpers --------------------------------------------------------------------------- */

static int64_t
now_of(const nf_maint_options *o)
{
    return o->now_ms > 0 ? o->now_ms : (int64_t)nf_wall_ms();
}

/* ---- a set of URIs (hash set, open addressing) ------------------------------------------- */

/* Expiry walks every kept snapshot: with a table of thousands of snapshots sharing the same
 * manifests, each manifest must be read once, so membership is a hash lookup. */
typedef struct strset {
    char **slot; /* cap entries, NULL = empty; owned strings */
    size_t cap, n;
} strset;

static uint64_t
str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s != '\0'; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static size_t
strset_find(const strset *s, const char *uri)
{
    size_t i = (size_t)str_hash(uri) & (s->cap - 1);
    while (s->slot[i] != NULL && strcmp(s->slot[i], uri) != 0)
        i = (i + 1) & (s->cap - 1);
    return i;
}

static bool
strset_has(const strset *s, const char *uri)
{
    return s->n > 0 && s->slot[strset_find(s, uri)] != NULL;
}

/* Adds a copy of uri; *added (may be NULL) tells whether it was new. */
static nf_status
strset_add(strset *s, const char *uri, bool *added, nf_err *err)
{
    if (2 * (s->n + 1) > s->cap) { /* keep the load at most one half */
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **slot = calloc(cap, sizeof *slot);
        if (slot == NULL)
            return nf_err_set(err, NF_ENOMEM, "file set of %zu entries", cap);
        strset bigger = {.slot = slot, .cap = cap, .n = s->n};
        for (size_t i = 0; i < s->cap; i++)
            if (s->slot[i] != NULL)
                slot[strset_find(&bigger, s->slot[i])] = s->slot[i];
        free(s->slot);
        *s = bigger;
    }
    size_t i = strset_find(s, uri);
    if (added != NULL)
        *added = s->slot[i] == NULL;
    if (s->slot[i] != NULL)
        return NF_OK;
    s->slot[i] = strdup(uri);
    if (s->slot[i] == NULL)
        return nf_err_set(err, NF_ENOMEM, "file set entry %s", uri);
    s->n++;
    return NF_OK;
}

static void
strset_free(strset *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->slot[i]);
    free(s->slot);
    memset(s, 0, sizeof *s);
}

/* ---- the table as loaded: metadata, current snapshot, live files ---------------------------- */

typedef struct base {
    nf_ice_table *t;
    const nf_ice_snapshot *cur; /* NULL: no snapshot yet */
    nf_ice_datafile *files;     /* live files of cur (ADDED/EXISTING entries) */
    size_t n;
} base;

static void
base_free(base *b)
{
    nf_ice_datafiles_free(b->files, b->n);
    nf_ice_table_free(b->t);
    memset(b, 0, sizeof *b);
}

/* Loads ns.name and, if with_files, the live files of its current snapshot. */
static nf_status
base_load(nf_ice_catalog *c, const char *ns, const char *name, bool with_files, base *b,
          nf_err *err)
{
    memset(b, 0, sizeof *b);
    nf_status st = nf_ice_catalog_load(c, ns, name, &b->t, NULL, err);
    if (st != NF_OK)
        return st;
    b->cur = nf_ice_table_current(b->t);
    if (b->cur != NULL && with_files) {
        st = nf_ice_scan(b->cur->manifest_list, NULL, &b->files, &b->n, NULL, err);
        if (st != NF_OK)
            base_free(b);
    }
    return st;
}

/* ---- committing a change of the live files ---------------------------------------------------- */

typedef struct change {
    const char *phase;             /* for the hook: "compact", "retention" */
    const char *operation;         /* "replace", "delete" */
    const bool *drop;              /* per b->files[i]: leaves the table */
    const nf_ice_datafile *added;  /* new files (status ADDED) */
    size_t nadded;
} change;

/* Commits change ch on top of b (snapcommit.h), with the parent's JetStream keys copied
 * (invariant 2), and counts conflicts and unknown outcomes in r. NF_OK: committed.
 * NF_ECONFLICT: nothing changed. NF_EAGAIN: the outcome was unknown and our snapshot is not
 * in the reloaded metadata (yet: the commit may still land, so callers look for it again
 * after each reload). Either of those two: re-plan and retry. Anything else: stop.
 * *sid_out receives the snapshot id once a commit was attempted. */
static nf_status
commit_change(nf_ice_catalog *c, const char *ns, const char *name, const base *b,
              const change *ch, const nf_maint_options *o, int attempt, nf_maint_report *r,
              int64_t *sid_out, nf_err *err)
{
    const char *extra[2 * NF_SNAPCOMMIT_MAX_EXTRA];
    size_t nextra = 0;
    for (size_t i = 0; i < sizeof g_jetstream_keys / sizeof g_jetstream_keys[0]; i++) {
        const char *v = nf_ice_table_summary(b->t, b->cur->snapshot_id, g_jetstream_keys[i]);
        if (v == NULL)
            continue;
        extra[2 * nextra] = g_jetstream_keys[i];
        extra[2 * nextra + 1] = v;
        nextra++;
    }
    nf_snapcommit sc = {.ns = ns,
                        .table = name,
                        .t = b->t,
                        .type_of = nf_cold_type_of,
                        .live = b->files,
                        .nlive = b->n,
                        .drop = ch->drop,
                        .added = ch->added,
                        .nadded = ch->nadded,
                        .operation = ch->operation,
                        .files_size = true,
                        .extra = extra,
                        .nextra = nextra,
                        .phase = ch->phase};
    nf_snapcommit_result res;
    nf_status st = nf_snapcommit_try(c, &sc, o, attempt, &res, err);
    if (res.snapshot_id != 0)
        *sid_out = res.snapshot_id;
    if (r != NULL) {
        r->conflicts += res.conflicted;
        r->unknown_outcomes += res.unknown;
    }
    return st;
}

/* Commit attempts whose outcome stayed unknown, with what they would have done: each reload
 * looks for them, since such a commit may land after the reload that did not see it. */
typedef struct unknown {
    int64_t sid;
    size_t days, files_in, files_out;
    int64_t records;
} unknown;

/* The unknown attempt that landed in t, or NULL. */
static const unknown *
landed(const nf_ice_table *t, const unknown *u, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (nf_ice_table_snapshot(t, u[i].sid) != NULL)
            return &u[i];
    return NULL;
}

static nf_status
check_args(nf_ice_catalog *c, const char *ns, const char *table, const nf_maint_options *o,
           nf_err *err)
{
    if (c == NULL || ns == NULL || table == NULL || o == NULL)
        return nf_err_set(err, NF_EINVAL, "maintenance: catalog, namespace, table and options "
                                          "are required");
    return NF_OK;
}

/* ---- compaction ------------------------------------------------------------------------------ */

/* True if the live files of day in b are exactly the paths in set (n of them). */
static bool
same_inputs(const base *b, int32_t day, char **set, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (b->files[i].partition_null || b->files[i].partition != day)
            continue;
        bool found = false;
        for (size_t j = 0; j < n && !found; j++)
            found = strcmp(set[j], b->files[i].path) == 0;
        if (!found)
            return false;
        k++;
    }
    return k == n;
}

static void
free_paths(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static nf_status
compact_day(nf_ice_catalog *c, const char *ns, const char *name, nf_duck *duck, int32_t day,
            size_t min_files, const nf_maint_options *o, nf_maint_report *r, nf_err *err)
{
    nf_status st = NF_ECONFLICT;
    nf_ice_datafile *out = NULL; /* the rewrite, reused while its inputs stay live */
    size_t nout = 0;
    char **inputs = NULL;        /* paths the rewrite read */
    size_t ninputs = 0;
    bool *drop = NULL;
    unknown *unk = calloc((size_t)nf_snapcommit_attempts(o), sizeof *unk);
    size_t nunk = 0;
    const unknown *u;
    base b;
    memset(&b, 0, sizeof b);
    if (unk == NULL)
        return nf_err_set(err, NF_ENOMEM, "compaction of day %" PRId32, day);

    for (int attempt = 0; attempt < nf_snapcommit_attempts(o); attempt++) {
        st = base_load(c, ns, name, true, &b, err);
        if (st != NF_OK)
            goto done;
        if ((u = landed(b.t, unk, nunk)) != NULL)
            goto done_landed; /* an earlier attempt landed after all */
        if (b.cur == NULL)
            goto done; /* st is NF_OK */
        size_t k = 0;
        int64_t in_rec = 0;
        for (size_t i = 0; i < b.n; i++) {
            if (!b.files[i].partition_null && b.files[i].partition == day) {
                k++;
                in_rec += b.files[i].record_count;
            }
        }
        if (k < min_files)
            goto done; /* compacted by someone else meanwhile: nothing to do */

        if (out == NULL || !same_inputs(&b, day, inputs, ninputs)) {
            /* A previous rewrite whose inputs changed stays as an orphan (invariant 1). */
            nf_ice_datafiles_free(out, nout);
            out = NULL;
            nout = 0;
            free_paths(inputs, ninputs);
            ninputs = 0;
            inputs = calloc(k, sizeof *inputs);
            if (inputs == NULL) {
                st = nf_err_set(err, NF_ENOMEM, "input list of day %" PRId32, day);
                goto done;
            }
            for (size_t i = 0; i < b.n; i++) {
                if (b.files[i].partition_null || b.files[i].partition != day)
                    continue;
                inputs[ninputs] = strdup(b.files[i].path);
                if (inputs[ninputs] == NULL) {
                    st = nf_err_set(err, NF_ENOMEM, "input list of day %" PRId32, day);
                    goto done;
                }
                ninputs++;
            }
            st = nf_flowfile_rewrite(duck, (const char *const *)inputs, ninputs,
                                     nf_ice_table_location(b.t), day, &out, &nout, err);
            if (st != NF_OK)
                goto done;
            int64_t out_rec = 0;
            bool bad_part = false;
            for (size_t i = 0; i < nout; i++) {
                out_rec += out[i].record_count;
                bad_part |= out[i].partition_null || out[i].partition != day;
            }
            if (out_rec != in_rec || bad_part || nout == 0) {
                nf_ice_fs_remove_files(out, nout); /* never committed: safe to remove */
                st = nf_err_set(err, NF_EINTERNAL,
                                "compaction of day %" PRId32 " of %s.%s: %zu files of %" PRId64
                                " records rewritten into %zu files of %" PRId64
                                " records%s; nothing committed",
                                day, ns, name, ninputs, in_rec, nout, out_rec,
                                bad_part ? " (wrong partition)" : "");
                goto done;
            }
        }

        free(drop);
        drop = calloc(b.n, sizeof *drop);
        if (drop == NULL) {
            st = nf_err_set(err, NF_ENOMEM, "plan of %zu files", b.n);
            goto done;
        }
        for (size_t i = 0; i < b.n; i++)
            drop[i] = !b.files[i].partition_null && b.files[i].partition == day;
        change ch = {.phase = "compact", .operation = "replace", .drop = drop, .added = out,
                     .nadded = nout};
        unk[nunk] = (unknown){.sid = 0, .days = 1, .files_in = ninputs, .files_out = nout,
                              .records = in_rec};
        st = commit_change(c, ns, name, &b, &ch, o, attempt, r, &unk[nunk].sid, err);
        if (st == NF_OK) {
            u = &unk[nunk];
            goto done_landed;
        }
        if (st == NF_EAGAIN)
            nunk++;
        if (st != NF_ECONFLICT && st != NF_EAGAIN)
            goto done;
        base_free(&b);
    }
    st = nf_err_set(err, NF_ECONFLICT,
                    "compaction of day %" PRId32 " of %s.%s: %d commit attempts conflicted",
                    day, ns, name, nf_snapcommit_attempts(o));
    goto done;
done_landed:
    st = NF_OK;
    if (r != NULL) {
        r->days_compacted++;
        r->files_rewritten += u->files_in;
        r->files_written += u->files_out;
        r->records_rewritten += u->records;
        r->last_snapshot_id = u->sid;
    }
done:
    free(unk);
    base_free(&b);
    nf_ice_datafiles_free(out, nout);
    free_paths(inputs, ninputs);
    free(drop);
    return st;
}

static int
cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

nf_status
nf_maint_compact(nf_ice_catalog *c, const char *ns, const char *table, nf_duck *duck,
                 const nf_maint_options *o, nf_maint_report *r, nf_err *err)
{
    nf_status st = check_args(c, ns, table, o, err);
    if (st != NF_OK)
        return st;
    if (duck == NULL)
        return nf_err_set(err, NF_EINVAL, "compaction of %s.%s needs a DuckDB", ns, table);
    int64_t today = nf_floor_div(now_of(o), DAY_MS);
    size_t min_files = o->compact_min_files < 2 ? 2 : (size_t)o->compact_min_files;
    /* Days retention is about to drop are not worth rewriting. */
    int64_t first_day = INT64_MIN;
    if (o->retention_ms > 0 && o->retention_ms <= (uint64_t)INT64_MAX / 2)
        first_day = nf_floor_div(now_of(o) - (int64_t)o->retention_ms, DAY_MS);

    /* Plan the days from one load; each day is then re-planned at its own commit. */
    base b;
    st = base_load(c, ns, table, true, &b, err);
    if (st != NF_OK)
        return st;
    int32_t *days = calloc(b.n ? b.n : 1, sizeof *days);
    if (days == NULL) {
        base_free(&b);
        return nf_err_set(err, NF_ENOMEM, "days of %zu files", b.n);
    }
    size_t nd = 0;
    for (size_t i = 0; i < b.n; i++)
        if (!b.files[i].partition_null && b.files[i].partition < today &&
            b.files[i].partition >= first_day)
            days[nd++] = b.files[i].partition;
    base_free(&b);
    if (nd > 0)
        qsort(days, nd, sizeof *days, cmp_i32);
    for (size_t i = 0; i < nd && st == NF_OK;) {
        size_t j = i;
        while (j < nd && days[j] == days[i])
            j++;
        if (j - i >= min_files)
            st = compact_day(c, ns, table, duck, days[i], min_files, o, r, err);
        i = j;
    }
    free(days);
    return st;
}

/* ---- retention -------------------------------------------------------------------------------- */

nf_status
nf_maint_retention(nf_ice_catalog *c, const char *ns, const char *table,
                   const nf_maint_options *o, nf_maint_report *r, nf_err *err)
{
    nf_status st = check_args(c, ns, table, o, err);
    if (st != NF_OK || o->retention_ms == 0)
        return st;
    if (o->retention_ms > (uint64_t)INT64_MAX / 2)
        return nf_err_set(err, NF_EINVAL, "retention of %s.%s: %" PRIu64 " ms is too long", ns,
                          table, o->retention_ms);
    /* Days before the day of the cut-off are wholly older than it. */
    int64_t cutoff_day = nf_floor_div(now_of(o) - (int64_t)o->retention_ms, DAY_MS);

    unknown *unk = calloc((size_t)nf_snapcommit_attempts(o), sizeof *unk);
    size_t nunk = 0;
    if (unk == NULL)
        return nf_err_set(err, NF_ENOMEM, "retention of %s.%s", ns, table);
    for (int attempt = 0; attempt < nf_snapcommit_attempts(o); attempt++) {
        base b;
        st = base_load(c, ns, table, true, &b, err);
        if (st != NF_OK)
            break;
        const unknown *u = landed(b.t, unk, nunk);
        if (u != NULL) { /* an earlier attempt landed after all */
            if (r != NULL) {
                r->days_dropped += u->days;
                r->files_dropped += u->files_in;
                r->records_dropped += u->records;
                r->last_snapshot_id = u->sid;
            }
            base_free(&b);
            break; /* st is NF_OK */
        }
        bool *drop = calloc(b.n ? b.n : 1, sizeof *drop);
        int32_t *days = calloc(b.n ? b.n : 1, sizeof *days);
        if (drop == NULL || days == NULL) {
            free(drop);
            free(days);
            base_free(&b);
            st = nf_err_set(err, NF_ENOMEM, "retention plan of %s.%s", ns, table);
            break;
        }
        size_t ndrop = 0;
        int64_t rec = 0;
        for (size_t i = 0; i < b.n; i++) {
            drop[i] = !b.files[i].partition_null && b.files[i].partition < cutoff_day;
            if (drop[i]) {
                days[ndrop++] = b.files[i].partition;
                rec += b.files[i].record_count;
            }
        }
        if (ndrop == 0 || b.cur == NULL) {
            free(drop);
            free(days);
            base_free(&b);
            st = NF_OK;
            break;
        }
        qsort(days, ndrop, sizeof *days, cmp_i32);
        size_t ndays = 0;
        for (size_t i = 0; i < ndrop; i++)
            ndays += (i == 0 || days[i] != days[i - 1]);
        change ch = {.phase = "retention", .operation = "delete", .drop = drop};
        unk[nunk] = (unknown){.sid = 0, .days = ndays, .files_in = ndrop, .records = rec};
        st = commit_change(c, ns, table, &b, &ch, o, attempt, r, &unk[nunk].sid, err);
        if (st == NF_OK && r != NULL) {
            r->days_dropped += ndays;
            r->files_dropped += ndrop;
            r->records_dropped += rec;
            r->last_snapshot_id = unk[nunk].sid;
        }
        if (st == NF_EAGAIN)
            nunk++;
        free(drop);
        free(days);
        base_free(&b);
        if (st != NF_ECONFLICT && st != NF_EAGAIN)
            break;
        if (attempt + 1 == nf_snapcommit_attempts(o))
            st = nf_err_set(err, NF_ECONFLICT,
                            "retention of %s.%s: %d commit attempts conflicted", ns, table,
                            nf_snapcommit_attempts(o));
    }
    free(unk);
    return st;
}

/* ---- expiry ----------------------------------------------------------------------------------- */

/* Adds what snapshot mlist references to the sets: the list itself, its manifests and the
 * data files of their ADDED/EXISTING entries (all entries if all_statuses). A manifest
 * already in the set is not read again (manifests never change). missing_ok: a manifest list or manifest that no longer exists is skipped
 * (for expired snapshots whose files a previous run deleted). */
static nf_status
walk_snapshot(const char *mlist, bool all_statuses, bool missing_ok, strset *lists,
              strset *manifests, strset *data, nf_err *err)
{
    nf_status st = NF_OK;
    nf_ice_manifest *ms = NULL;
    size_t nm = 0;
    char *p = NULL;

    if (missing_ok) {
        if (nf_ice_uri_path(mlist, &p, NULL) == NF_OK && access(p, F_OK) != 0 &&
            errno == ENOENT) {
            free(p);
            return NF_OK;
        }
        free(p);
        p = NULL;
    }
    st = strset_add(lists, mlist, NULL, err);
    if (st != NF_OK)
        return st;
    st = nf_ice_mlist_read(mlist, &ms, &nm, err);
    if (st != NF_OK)
        return st;
    for (size_t i = 0; i < nm; i++) {
        if (missing_ok) {
            bool gone = nf_ice_uri_path(ms[i].path, &p, NULL) == NF_OK && access(p, F_OK) != 0 &&
                        errno == ENOENT;
            free(p);
            p = NULL;
            if (gone)
                continue;
        }
        bool added = false;
        st = strset_add(manifests, ms[i].path, &added, err);
        if (st != NF_OK)
            goto done;
        if (!added)
            continue;
        nf_ice_datafile *e = NULL;
        size_t ne = 0;
        st = nf_ice_manifest_read(&ms[i], &e, &ne, err);
        if (st != NF_OK)
            goto done;
        for (size_t k = 0; k < ne && st == NF_OK; k++)
            if (all_statuses || e[k].status != NF_ICE_DELETED)
                st = strset_add(data, e[k].path, NULL, err);
        nf_ice_datafiles_free(e, ne);
        if (st != NF_OK)
            goto done;
    }
done:
    nf_ice_manifests_free(ms, nm);
    return st;
}

/* Deletes the URIs of cand that keep does not hold and that lie under prefix (the table's
 * location path followed by '/'). Counts into *count. */
static nf_status
delete_unreferenced(strset *cand, strset *keep, const char *prefix, size_t *count, nf_err *err)
{
    size_t plen = strlen(prefix);
    for (size_t i = 0; i < cand->cap; i++) {
        if (cand->slot[i] == NULL || strset_has(keep, cand->slot[i]))
            continue;
        char *p = NULL;
        if (nf_ice_uri_path(cand->slot[i], &p, NULL) != NF_OK)
            continue; /* not a local file of ours */
        if (strncmp(p, prefix, plen) != 0) {
            free(p);
            continue; /* outside the table's location: never ours to delete */
        }
        if (unlink(p) != 0) {
            int e = errno;
            if (e != ENOENT) {
                nf_status st = nf_err_sys(err, NF_EIO, e, "expiry: deleting %s", p);
                free(p);
                return st;
            }
        } else {
            (*count)++;
        }
        free(p);
    }
    return NF_OK;
}

/* Everything the committed metadata t references versus what the expired manifest lists
 * reach; deletes the difference. */
static nf_status
expire_files(const nf_ice_table *t, char **expired_lists, size_t nexp, nf_maint_report *r,
             nf_err *err)
{
    strset kl = {0}, km = {0}, kd = {0}, el = {0}, em = {0}, ed = {0};
    char *loc = NULL, *prefix = NULL;
    nf_status st = nf_ice_uri_path(nf_ice_table_location(t), &loc, err);
    if (st != NF_OK)
        return st;
    size_t n = 0;
    const nf_ice_snapshot *snaps = nf_ice_table_snapshots(t, &n);
    for (size_t i = 0; i < n && st == NF_OK; i++)
        st = walk_snapshot(snaps[i].manifest_list, false, false, &kl, &km, &kd, err);
    for (size_t i = 0; i < nexp && st == NF_OK; i++)
        st = walk_snapshot(expired_lists[i], true, true, &el, &em, &ed, err);
    if (st != NF_OK)
        goto done;
    size_t llen = strlen(loc);
    prefix = malloc(llen + 2);
    if (prefix == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "location prefix");
        goto done;
    }
    memcpy(prefix, loc, llen);
    prefix[llen] = '/';
    prefix[llen + 1] = '\0';
    if (llen > 0 && loc[llen - 1] == '/')
        prefix[llen] = '\0';
    /* Data first, then manifests, then lists: a crash in between leaves unreferenced files
     * (orphans), never a kept reference to a deleted file. */
    size_t dd = 0, dm = 0, dl = 0;
    st = delete_unreferenced(&ed, &kd, prefix, &dd, err);
    if (st == NF_OK)
        st = delete_unreferenced(&em, &km, prefix, &dm, err);
    if (st == NF_OK)
        st = delete_unreferenced(&el, &kl, prefix, &dl, err);
    if (r != NULL) {
        r->data_files_deleted += dd;
        r->manifests_deleted += dm;
        r->manifest_lists_deleted += dl;
    }
done:
    strset_free(&kl);
    strset_free(&km);
    strset_free(&kd);
    strset_free(&el);
    strset_free(&em);
    strset_free(&ed);
    free(loc);
    free(prefix);
    return st;
}

static nf_status
expire_snapshots(nf_ice_catalog *c, const char *ns, const char *table, const nf_maint_options *o,
                 nf_maint_report *r, nf_err *err)
{
    nf_status st;
    if (o->snapshot_max_age_ms > (uint64_t)INT64_MAX / 2)
        return nf_err_set(err, NF_EINVAL, "expiry of %s.%s: max age %" PRIu64 " ms too long", ns,
                          table, o->snapshot_max_age_ms);
    int64_t cutoff = now_of(o) - (int64_t)o->snapshot_max_age_ms;
    size_t min_keep = o->min_snapshots < 1 ? 1 : (size_t)o->min_snapshots;

    for (int attempt = 0; attempt < nf_snapcommit_attempts(o); attempt++) {
        nf_ice_table *t = NULL, *nt = NULL;
        int64_t *ids = NULL;
        char **lists = NULL;
        bool *keep = NULL;
        char *req = NULL, *upd = NULL;
        size_t nexp = 0, n = 0;

        st = nf_ice_catalog_load(c, ns, table, &t, NULL, err);
        if (st != NF_OK)
            return st;
        const nf_ice_snapshot *cur = nf_ice_table_current(t);
        const nf_ice_snapshot *snaps = nf_ice_table_snapshots(t, &n);
        if (cur == NULL || n == 0) {
            nf_ice_table_free(t);
            return NF_OK;
        }
        keep = calloc(n, sizeof *keep);
        ids = calloc(n, sizeof *ids);
        lists = calloc(n, sizeof *lists);
        if (keep == NULL || ids == NULL || lists == NULL) {
            st = nf_err_set(err, NF_ENOMEM, "expiry plan of %zu snapshots", n);
            goto next;
        }
        /* Main's ancestry, newest first: the first min_keep stay whatever their age. The
         * walk is bounded by n (a parent cycle in bad metadata cannot loop). */
        int64_t id = cur->snapshot_id;
        for (size_t depth = 0; depth < n && id > 0; depth++) {
            size_t i = 0;
            while (i < n && snaps[i].snapshot_id != id)
                i++;
            if (i == n)
                break;
            if (depth < min_keep)
                keep[i] = true;
            id = snaps[i].parent_id;
        }
        for (size_t i = 0; i < n; i++) {
            if (snaps[i].snapshot_id == cur->snapshot_id || snaps[i].timestamp_ms >= cutoff)
                keep[i] = true;
            if (keep[i])
                continue;
            ids[nexp] = snaps[i].snapshot_id;
            lists[nexp] = strdup(snaps[i].manifest_list);
            if (lists[nexp] == NULL) {
                st = nf_err_set(err, NF_ENOMEM, "expiry plan of %zu snapshots", n);
                goto next;
            }
            nexp++;
        }
        if (nexp == 0) {
            st = NF_OK;
            goto next;
        }
        req = nf_ice_requirements_main(t);
        upd = nf_ice_updates_remove_snapshots(ids, nexp);
        if (req == NULL || upd == NULL) {
            st = nf_err_set(err, NF_ENOMEM, "expiry commit of %s.%s", ns, table);
            goto next;
        }
        if (o->before_commit != NULL)
            o->before_commit(o->hook_ctx, "expire", attempt);
        st = nf_ice_catalog_commit(c, ns, table, req, upd, &nt, err);
        if (st == NF_ECONFLICT) {
            if (r != NULL)
                r->conflicts++;
        } else if (nf_snapcommit_unknown(st)) {
            if (r != NULL)
                r->unknown_outcomes++;
            nf_err reload_err = {0}; /* err keeps the commit's error */
            if (nf_ice_catalog_load(c, ns, table, &nt, NULL, &reload_err) == NF_OK) {
                bool gone = true;
                for (size_t i = 0; i < nexp && gone; i++)
                    gone = nf_ice_table_snapshot(nt, ids[i]) == NULL;
                st = gone ? NF_OK : NF_EAGAIN;
            }
        }
        if (st == NF_OK) {
            if (nt == NULL) { /* the catalog gave no metadata back: load it */
                st = nf_ice_catalog_load(c, ns, table, &nt, NULL, err);
            }
            if (st == NF_OK) {
                if (r != NULL)
                    r->snapshots_expired += nexp;
                st = expire_files(nt, lists, nexp, r, err);
            }
        }
    next:
        nf_ice_table_free(t);
        nf_ice_table_free(nt);
        for (size_t i = 0; lists != NULL && i < nexp; i++)
            free(lists[i]);
        free(lists);
        free(ids);
        free(keep);
        free(req);
        free(upd);
        if (st != NF_ECONFLICT && st != NF_EAGAIN)
            return st;
    }
    return nf_err_set(err, NF_ECONFLICT, "expiry of %s.%s: %d commit attempts conflicted", ns,
                      table, nf_snapcommit_attempts(o));
}

/* Deletes the metadata files beyond write.metadata.previous-versions-max: in the directory of
 * the current metadata file, every v<N>.metadata.json older than the current one that the
 * metadata-log (which the commit code trims to that many entries) no longer lists. Never the
 * current file, never a newer one (a commit may just have written it), never a name of
 * another form. */
static nf_status
trim_metadata(nf_ice_catalog *c, const char *ns, const char *table, nf_maint_report *r,
              nf_err *err)
{
    nf_ice_table *t = NULL;
    char *cur_uri = NULL, *cur = NULL, *json = NULL, *path = NULL;
    json_t *root = NULL;
    DIR *d = NULL;
    strset keep = {0};
    nf_status st = nf_ice_catalog_load(c, ns, table, &t, &cur_uri, err);
    if (st != NF_OK)
        return st;
    if (cur_uri == NULL || nf_ice_uri_path(cur_uri, &cur, NULL) != NF_OK)
        goto done; /* not a local file: nothing of ours to trim */
    char *slash = strrchr(cur, '/');
    int64_t cur_version = slash != NULL ? nf_ice_fs_version_of_name(slash + 1) : 0;
    if (cur_version == 0)
        goto done;
    *slash = '\0'; /* cur is now the metadata directory */

    json = nf_ice_table_json(t);
    if (json == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "metadata of %s.%s as JSON", ns, table);
        goto done;
    }
    json_error_t jerr;
    root = json_loads(json, 0, &jerr);
    if (root == NULL) {
        st = nf_err_set(err, NF_EINTERNAL, "metadata of %s.%s: %s", ns, table, jerr.text);
        goto done;
    }
    json_t *log = json_object_get(root, "metadata-log");
    size_t i;
    json_t *e;
    json_array_foreach(log, i, e) {
        const char *f = json_string_value(json_object_get(e, "metadata-file"));
        char *p = NULL;
        if (f == NULL || nf_ice_uri_path(f, &p, NULL) != NF_OK)
            continue;
        st = strset_add(&keep, p, NULL, err);
        free(p);
        if (st != NF_OK)
            goto done;
    }

    d = opendir(cur);
    if (d == NULL) {
        st = nf_err_sys(err, NF_EIO, errno, "metadata trim: opening %s", cur);
        goto done;
    }
    size_t dlen = strlen(cur);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int64_t v = nf_ice_fs_version_of_name(de->d_name);
        if (v == 0 || v >= cur_version)
            continue;
        free(path);
        path = malloc(dlen + strlen(de->d_name) + 2);
        if (path == NULL) {
            st = nf_err_set(err, NF_ENOMEM, "metadata trim path");
            goto done;
        }
        sprintf(path, "%s/%s", cur, de->d_name);
        if (strset_has(&keep, path))
            continue;
        if (unlink(path) != 0) {
            if (errno == ENOENT)
                continue;
            st = nf_err_sys(err, NF_EIO, errno, "metadata trim: deleting %s", path);
            goto done;
        }
        if (r != NULL)
            r->metadata_files_deleted++;
    }
done:
    if (d != NULL)
        closedir(d);
    json_decref(root);
    strset_free(&keep);
    free(path);
    free(json);
    free(cur);
    free(cur_uri);
    nf_ice_table_free(t);
    return st;
}

/* ---- orphans ---------------------------------------------------------------------------------- */

#define ORPHAN_MIN_AGE_MS 86400000ull /* default: no commit attempt lasts a day */
#define ORPHAN_MAX_DEPTH 4            /* data/<partition>/<file>, and DuckDB's temp dirs */

typedef struct orphan_walk {
    const strset *lists, *manifests, *data; /* what the snapshots reference */
    int64_t cutoff_s;   /* files modified before this (epoch s) may go */
    bool metadata;      /* walking <location>/metadata: only *.avro are candidates */
    size_t deleted;
} orphan_walk;

/* True when path reads the same as a URI written either way: our writers put paths into URIs
 * verbatim ("file://" + path) except manifest.c, which percent-encodes characters outside
 * RFC 3986's unreserved and sub-delims sets. A path with such a character could be listed
 * under another spelling than the one compared here, so the sweep leaves it alone. */
static bool
uri_spelling_unique(const char *path)
{
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("-._~/!$&'()*+,;=:@", *p) != NULL))
            return false;
    return true;
}

/* Deletes the unreferenced old files under dir (recursively, ORPHAN_MAX_DEPTH levels). */
static nf_status
sweep_dir(orphan_walk *w, const char *dir, int depth, nf_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? NF_OK : nf_err_sys(err, NF_EIO, errno, "orphan sweep: %s", dir);
    nf_status st = NF_OK;
    struct dirent *e;
    while (st == NF_OK && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char path[4096];
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            continue;
        struct stat sb;
        if (lstat(path, &sb) != 0)
            continue; /* gone meanwhile */
        if (S_ISDIR(sb.st_mode)) {
            if (depth < ORPHAN_MAX_DEPTH)
                st = sweep_dir(w, path, depth + 1, err);
            continue;
        }
        size_t n = strlen(path);
        if (!S_ISREG(sb.st_mode) || sb.st_mtime >= w->cutoff_s ||
            (w->metadata && (n < 5 || strcmp(path + n - 5, ".avro") != 0)) ||
            !uri_spelling_unique(path))
            continue; /* metadata JSON and the hint are trim_metadata's business */
        char *uri = nf_ice_path_uri(path);
        if (uri == NULL) {
            st = nf_err_set(err, NF_ENOMEM, "orphan sweep: %s", path);
            break;
        }
        bool referenced = strset_has(w->lists, uri) || strset_has(w->manifests, uri) ||
                          strset_has(w->data, uri);
        free(uri);
        if (referenced)
            continue;
        if (unlink(path) == 0)
            w->deleted++;
        else if (errno != ENOENT)
            st = nf_err_sys(err, NF_EIO, errno, "orphan sweep: deleting %s", path);
    }
    closedir(d);
    return st;
}

/* Deletes the table's files that no snapshot of its committed metadata references and that
 * are older than the orphan age (see nf_maint_expire). */
static nf_status
remove_orphans(nf_ice_catalog *c, const char *ns, const char *table, const nf_maint_options *o,
               nf_maint_report *r, nf_err *err)
{
    nf_ice_table *t = NULL;
    nf_status st = nf_ice_catalog_load(c, ns, table, &t, NULL, err);
    if (st != NF_OK)
        return st;
    strset kl = {0}, km = {0}, kd = {0};
    char *loc = NULL;
    size_t n = 0;
    const nf_ice_snapshot *snaps = nf_ice_table_snapshots(t, &n);
    for (size_t i = 0; i < n && st == NF_OK; i++)
        st = walk_snapshot(snaps[i].manifest_list, false, false, &kl, &km, &kd, err);
    if (st == NF_OK)
        st = nf_ice_uri_path(nf_ice_table_location(t), &loc, err);
    if (st != NF_OK)
        goto done;
    uint64_t age = o->orphan_min_age_ms ? o->orphan_min_age_ms : ORPHAN_MIN_AGE_MS;
    orphan_walk w = {.lists = &kl, .manifests = &km, .data = &kd,
                     .cutoff_s = (now_of(o) - (int64_t)age) / 1000};
    static const char *const dirs[] = {"data", "metadata"};
    for (size_t i = 0; i < 2 && st == NF_OK; i++) {
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s/%s", loc, dirs[i]);
        w.metadata = i == 1;
        st = sweep_dir(&w, dir, 1, err);
    }
    if (r != NULL)
        r->orphans_deleted += w.deleted;
done:
    strset_free(&kl);
    strset_free(&km);
    strset_free(&kd);
    free(loc);
    nf_ice_table_free(t);
    return st;
}

nf_status
nf_maint_expire(nf_ice_catalog *c, const char *ns, const char *table, const nf_maint_options *o,
                nf_maint_report *r, nf_err *err)
{
    nf_status st = check_args(c, ns, table, o, err);
    if (st == NF_OK)
        st = expire_snapshots(c, ns, table, o, r, err);
    if (st == NF_OK)
        st = trim_metadata(c, ns, table, r, err);
    if (st == NF_OK)
        st = remove_orphans(c, ns, table, o, r, err);
    return st;
}

/* ---- time travel ------------------------------------------------------------------------------ */

nf_status
nf_maint_snapshot_for(const nf_ice_table *t, int64_t snapshot_id, int64_t as_of_ms,
                      const nf_ice_snapshot **out, nf_err *err)
{
    if (t == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "time travel: table and out are required");
    if (snapshot_id > 0 && as_of_ms > 0)
        return nf_err_set(err, NF_EINVAL,
                          "time travel: snapshot id %" PRId64 " and as-of %" PRId64
                          " are exclusive",
                          snapshot_id, as_of_ms);
    const nf_ice_snapshot *s;
    if (snapshot_id > 0) {
        s = nf_ice_table_snapshot(t, snapshot_id);
        if (s == NULL)
            return nf_err_set(err, NF_ENOTFOUND, "snapshot %" PRId64 " not in the metadata of %s",
                              snapshot_id, nf_ice_table_location(t));
    } else if (as_of_ms > 0) {
        s = nf_ice_table_snapshot_at(t, as_of_ms);
        if (s == NULL)
            return nf_err_set(err, NF_ENOTFOUND, "no snapshot of %s was current at %" PRId64
                                                 " ms",
                              nf_ice_table_location(t), as_of_ms);
    } else {
        s = nf_ice_table_current(t);
        if (s == NULL)
            return nf_err_set(err, NF_ENOTFOUND, "table %s has no snapshot",
                              nf_ice_table_location(t));
    }
    *out = s;
    return NF_OK;
}

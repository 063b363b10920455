/* snapcommit.c — one commit of a new live-file set (see snapcommit.h).
 *
 * Steps: entries (shallow copies of the live and added files, with their new status and
 * the counters of the summary) → manifest (only when there is an entry) → manifest list →
 * snapshot (time never before the parent's: snapshot times never go backwards on main) →
 * commit → on an unknown outcome, reload and look for the snapshot.
 */
#include "snapcommit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/clock.h"
#include "../base/files.h"

/* Commit attempts per operation: enough to ride out a writer committing every few seconds
 * (each attempt re-plans from the new metadata), few enough to give up on a livelock. */
#define DEFAULT_ATTEMPTS 8
/* Counters of the summary (the six Iceberg ones, plus total-files-size). */
#define NCOUNTERS 7

int
nf_snapcommit_attempts(const nf_maint_options *o)
{
    return o->max_attempts > 0 ? o->max_attempts : DEFAULT_ATTEMPTS;
}

bool
nf_snapcommit_unknown(nf_status st)
{
    return st == NF_EUPSTREAM || st == NF_ETIMEDOUT || st == NF_EAGAIN;
}

nf_status
nf_snapcommit_try(nf_ice_catalog *c, const nf_snapcommit *sc, const nf_maint_options *o,
                  int attempt, nf_snapcommit_result *res, nf_err *err)
{
    memset(res, 0, sizeof *res);
    if (sc->nextra > NF_SNAPCOMMIT_MAX_EXTRA)
        return nf_err_set(err, NF_EINVAL, "commit to %s.%s: %zu extra summary pairs", sc->ns,
                          sc->table, sc->nextra);
    nf_status st = NF_OK;
    char *locpath = NULL, *schema = NULL, *mpath = NULL, *lpath = NULL, *luri = NULL;
    char *req = NULL, *upd = NULL;
    nf_ice_manifest m;
    bool have_m = false;
    memset(&m, 0, sizeof m);

    const nf_ice_snapshot *cur = nf_ice_table_current(sc->t);
    int64_t sid = nf_ice_new_snapshot_id();
    int64_t seq = nf_ice_table_last_sequence(sc->t) + 1;
    size_t n = sc->nlive + sc->nadded;
    int64_t added_files = 0, deleted_files = 0, added_rec = 0, deleted_rec = 0;
    int64_t total_files = 0, total_rec = 0, total_size = 0;

    nf_ice_datafile *entries = calloc(n ? n : 1, sizeof *entries);
    if (entries == NULL)
        return nf_err_set(err, NF_ENOMEM, "manifest of %zu entries for %s.%s", n, sc->ns,
                          sc->table);
    /* Shallow copies: paths and stats stay owned by the caller. */
    for (size_t i = 0; i < sc->nlive; i++) {
        entries[i] = sc->live[i];
        if (sc->drop[i]) {
            entries[i].status = NF_ICE_DELETED;
            entries[i].snapshot_id = sid; /* the spec: snapshot that deleted it */
            deleted_files++;
            deleted_rec += sc->live[i].record_count;
        } else {
            entries[i].status = NF_ICE_EXISTING; /* ids and sequence numbers as read */
            total_files++;
            total_rec += sc->live[i].record_count;
            total_size += sc->live[i].file_size;
        }
    }
    for (size_t i = 0; i < sc->nadded; i++) {
        nf_ice_datafile *e = &entries[sc->nlive + i];
        *e = sc->added[i];
        e->status = NF_ICE_ADDED;
        e->snapshot_id = e->data_seq = e->file_seq = -1; /* inherited */
        added_files++;
        added_rec += sc->added[i].record_count;
        total_files++;
        total_rec += sc->added[i].record_count;
        total_size += sc->added[i].file_size;
    }

    if ((st = nf_ice_uri_path(nf_ice_table_location(sc->t), &locpath, err)) != NF_OK)
        goto done;
    schema = nf_ice_table_schema_json(sc->t);
    if (schema == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "schema of %s.%s", sc->ns, sc->table);
        goto done;
    }
    nf_ice_spec spec;
    if ((st = nf_ice_table_spec(sc->t, &spec, err)) != NF_OK)
        goto done;
    nf_ice_manifest_ctx ctx = {.schema_json = schema,
                               .schema_id = nf_ice_table_schema_id(sc->t),
                               .spec = &spec,
                               .type_of = sc->type_of};
    char uuid[NF_UUID_STRLEN];
    if ((st = nf_uuid4(uuid, "a manifest name", err)) != NF_OK)
        goto done;
    size_t plen = strlen(locpath) + 128;
    mpath = malloc(plen);
    lpath = malloc(plen);
    if (mpath == NULL || lpath == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "manifest paths under %s", locpath);
        goto done;
    }
    snprintf(mpath, plen, "%s/metadata/%s-m0.avro", locpath, uuid);
    snprintf(lpath, plen, "%s/metadata/snap-%" PRId64 "-%d-%s.avro", locpath, sid,
             attempt + 1, uuid);
    if (n > 0) {
        if ((st = nf_ice_manifest_write(mpath, &ctx, sid, seq, entries, n, &m, err)) != NF_OK)
            goto done;
        have_m = true;
    }
    st = nf_ice_mlist_write(lpath, sid, cur != NULL ? cur->snapshot_id : -1, seq, &m,
                            have_m ? 1 : 0, err);
    if (st != NF_OK)
        goto done;
    luri = nf_ice_path_uri(lpath);
    if (luri == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "URI of %s", lpath);
        goto done;
    }

    /* Summary: the counters, then the caller's pairs. */
    char num[NCOUNTERS][24];
    const char *kv[2 * (NCOUNTERS + NF_SNAPCOMMIT_MAX_EXTRA)];
    static const char *const names[NCOUNTERS] = {
        "added-data-files", "deleted-data-files", "added-records",   "deleted-records",
        "total-data-files", "total-records",      "total-files-size"};
    int64_t vals[NCOUNTERS] = {added_files, deleted_files, added_rec, deleted_rec,
                               total_files, total_rec,     total_size};
    size_t np = 0;
    for (size_t i = 0; i < (sc->files_size ? NCOUNTERS : NCOUNTERS - 1); i++) {
        snprintf(num[i], sizeof num[i], "%" PRId64, vals[i]);
        kv[2 * np] = names[i];
        kv[2 * np + 1] = num[i];
        np++;
    }
    for (size_t i = 0; i < sc->nextra; i++) {
        kv[2 * np] = sc->extra[2 * i];
        kv[2 * np + 1] = sc->extra[2 * i + 1];
        np++;
    }
    int64_t ts = (int64_t)nf_wall_ms();
    if (cur != NULL && ts <= cur->timestamp_ms)
        ts = cur->timestamp_ms + 1; /* snapshot times never go backwards on main */
    const char *op = sc->operation;
    if (op == NULL)
        op = added_files == 0 ? "delete" : deleted_files == 0 ? "append" : "overwrite";
    nf_ice_snapshot_new s = {.snapshot_id = sid,
                             .parent_id = cur != NULL ? cur->snapshot_id : -1,
                             .sequence_number = seq,
                             .timestamp_ms = ts,
                             .manifest_list = luri,
                             .operation = op,
                             .summary = kv,
                             .nsummary = np};
    req = nf_ice_requirements_main(sc->t);
    upd = nf_ice_updates_add_snapshot(&s);
    if (req == NULL || upd == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "commit of %s.%s", sc->ns, sc->table);
        goto done;
    }
    if (o->before_commit != NULL)
        o->before_commit(o->hook_ctx, sc->phase, attempt);

    res->snapshot_id = sid;
    st = nf_ice_catalog_commit(c, sc->ns, sc->table, req, upd, NULL, err);
    if (st == NF_ECONFLICT) {
        res->conflicted = true;
    } else if (nf_snapcommit_unknown(st)) {
        /* Unknown: did it land? The files written stay either way. */
        res->unknown = true;
        nf_err reload_err = {0}; /* err keeps the commit's error, which says more */
        nf_ice_table *t2 = NULL;
        if (nf_ice_catalog_load(c, sc->ns, sc->table, &t2, NULL, &reload_err) == NF_OK)
            st = nf_ice_table_snapshot(t2, sid) != NULL ? NF_OK : NF_EAGAIN;
        nf_ice_table_free(t2);
    }
done:
    if (have_m)
        free(m.path); /* m itself is on the stack */
    free(entries);
    free(locpath);
    free(schema);
    free(mpath);
    free(lpath);
    free(luri);
    free(req);
    free(upd);
    return st;
}

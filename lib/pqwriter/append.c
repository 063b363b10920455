/* append.c — the Parquet writer's append commit with its exactly-once bookkeeping. See
 * append.h for the protocol and its invariants. */
#include "append.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "../cold/table.h"

/* Conflicts with other writers are resolved by reloading; beyond this many in one call the
 * caller backs off and calls again. */
#define MAX_ATTEMPTS 16

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
random_hex(char *out, size_t nbytes)
{
    uint8_t b[32];
    if (nbytes > sizeof(b))
        nbytes = sizeof(b);
    if (getrandom(b, nbytes, 0) != (ssize_t)nbytes)
        for (size_t i = 0; i < nbytes; i++)
            b[i] = (uint8_t)(rand() ^ (int)(now_ms() >> (i % 8)));
    for (size_t i = 0; i < nbytes; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

/* <table location>/metadata as a local directory path (malloc'd). */
static nf_status
metadata_dir(const nf_ice_table *t, char **out, nf_err *err)
{
    char *loc = NULL;
    nf_status st = nf_ice_uri_path(nf_ice_table_location(t), &loc, err);
    if (st != NF_OK)
        return st;
    size_t n = strlen(loc) + sizeof("/metadata");
    *out = malloc(n);
    if (*out == NULL) {
        free(loc);
        return nf_err_set(err, NF_ENOMEM, "out of memory");
    }
    snprintf(*out, n, "%s/metadata", loc);
    free(loc);
    return NF_OK;
}

nf_status
nf_pq_committed(const nf_ice_table *t, const char *stream, nf_seqset *out, nf_err *err)
{
    nf_seqset_clear(out);
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    if (cur == NULL)
        return NF_OK;
    const char *s = nf_ice_table_summary(t, cur->snapshot_id, NF_COLD_SUMMARY_STREAM);
    const char *set = nf_ice_table_summary(t, cur->snapshot_id, NF_COLD_SUMMARY_SEQS);
    if (s == NULL && set == NULL)
        return NF_OK;
    if (s == NULL || strcmp(s, stream) != 0)
        return nf_err_set(err, NF_EINVAL,
                          "table's snapshot %" PRId64 " records stream \"%s\", not \"%s\": "
                          "another stream feeds this table",
                          cur->snapshot_id, s ? s : "(none)", stream);
    nf_status st = nf_seqset_parse(out, set ? set : "", err);
    if (st != NF_OK)
        return nf_err_set(err, NF_EINVAL, "snapshot %" PRId64 " summary %s: %s",
                          cur->snapshot_id, NF_COLD_SUMMARY_SEQS, err->msg);
    return NF_OK;
}

static nf_status
write_manifest(nf_pq_append *a, const nf_ice_table *t, nf_err *err)
{
    char *dir = NULL, *schema = NULL;
    nf_status st = metadata_dir(t, &dir, err);
    if (st != NF_OK)
        return st;
    schema = nf_ice_table_schema_json(t);
    nf_ice_spec spec;
    if (schema == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "out of memory");
        goto out;
    }
    if ((st = nf_ice_table_spec(t, &spec, err)) != NF_OK)
        goto out;
    char hex[33], path[4096];
    random_hex(hex, 16);
    snprintf(path, sizeof(path), "%s/%s-m0.avro", dir, hex);
    nf_ice_manifest_ctx ctx = {.schema_json = schema,
                               .schema_id = nf_ice_table_schema_id(t),
                               .spec = &spec,
                               .type_of = nf_cold_type_of};
    st = nf_ice_manifest_write(path, &ctx, a->snapshot_id, 0, a->files, a->nfiles, &a->manifest,
                               err);
out:
    free(dir);
    free(schema);
    return st;
}

static int64_t
summary_num(const nf_ice_table *t, int64_t snap, const char *key)
{
    const char *v = snap > 0 ? nf_ice_table_summary(t, snap, key) : NULL;
    return v ? strtoll(v, NULL, 10) : 0;
}

/* Writes the manifest list for committing on base; *uri receives its URI. */
static nf_status
write_list(nf_pq_append *a, const nf_ice_table *base, int64_t seq, char **uri, nf_err *err)
{
    const nf_ice_snapshot *cur = nf_ice_table_current(base);
    nf_ice_manifest *old = NULL;
    size_t nold = 0;
    nf_status st = NF_OK;
    if (cur != NULL && (st = nf_ice_mlist_read(cur->manifest_list, &old, &nold, err)) != NF_OK)
        return st;
    nf_ice_manifest *all = calloc(nold + 1, sizeof(*all));
    char *dir = NULL;
    if (all == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "out of memory");
        goto out;
    }
    if (nold)
        memcpy(all, old, nold * sizeof(*all));
    all[nold] = a->manifest;
    all[nold].sequence_number = seq;
    all[nold].min_sequence_number = seq;
    if ((st = metadata_dir(base, &dir, err)) != NF_OK)
        goto out;
    char hex[33], path[4096];
    random_hex(hex, 16);
    snprintf(path, sizeof(path), "%s/snap-%" PRId64 "-%d-%s.avro", dir, a->snapshot_id,
             a->attempts, hex);
    st = nf_ice_mlist_write(path, a->snapshot_id, cur ? cur->snapshot_id : -1, seq, all,
                            nold + 1, err);
    if (st == NF_OK && (*uri = nf_ice_path_uri(path)) == NULL)
        st = nf_err_set(err, NF_ENOMEM, "out of memory");
out:
    free(all); /* shallow: the paths belong to old and a->manifest */
    nf_ice_manifests_free(old, nold);
    free(dir);
    return st;
}

/* The commit's updates: the snapshot with its summary. */
static char *
updates_for(nf_pq_append *a, const nf_ice_table *base, int64_t seq, const char *list_uri,
            const nf_seqset *committed)
{
    const nf_ice_snapshot *cur = nf_ice_table_current(base);
    int64_t parent = cur ? cur->snapshot_id : -1;
    int64_t recs = 0, bytes = 0;
    for (size_t i = 0; i < a->nfiles; i++) {
        recs += a->files[i].record_count;
        bytes += a->files[i].file_size;
    }
    char v[10][32];
    snprintf(v[0], 32, "%zu", a->nfiles);
    snprintf(v[1], 32, "%" PRId64, recs);
    snprintf(v[2], 32, "%" PRId64, bytes);
    snprintf(v[3], 32, "%" PRId64,
             summary_num(base, parent, "total-data-files") + (int64_t)a->nfiles);
    snprintf(v[4], 32, "%" PRId64, summary_num(base, parent, "total-records") + recs);
    snprintf(v[5], 32, "%" PRId64, summary_num(base, parent, "total-files-size") + bytes);
    snprintf(v[6], 32, "%" PRIu64, nf_seqset_max(committed));
    char *set = nf_seqset_format(committed);
    if (set == NULL)
        return NULL;
    const char *kv[] = {"added-data-files", v[0], "added-records", v[1], "added-files-size", v[2],
                        "total-data-files", v[3], "total-records", v[4], "total-files-size", v[5],
                        "total-delete-files", "0", "total-position-deletes", "0",
                        "total-equality-deletes", "0",
                        NF_COLD_SUMMARY_STREAM, a->stream, NF_COLD_SUMMARY_LAST_SEQ, v[6],
                        NF_COLD_SUMMARY_SEQS, set};
    nf_ice_snapshot_new s = {.snapshot_id = a->snapshot_id,
                             .parent_id = parent,
                             .sequence_number = seq,
                             .timestamp_ms = now_ms(),
                             .manifest_list = list_uri,
                             .operation = "append",
                             .summary = kv,
                             .nsummary = sizeof(kv) / sizeof(kv[0]) / 2};
    char *u = nf_ice_updates_add_snapshot(&s);
    free(set);
    return u;
}

static bool
unknown_outcome(nf_status st)
{
    return st == NF_EUPSTREAM || st == NF_ETIMEDOUT || st == NF_EAGAIN || st == NF_EIO;
}

static nf_status
reload(nf_ice_catalog *cat, const nf_pq_append *a, nf_ice_table **table, nf_err *err)
{
    nf_ice_table *t = NULL;
    nf_status st = nf_ice_catalog_load(cat, a->ns, a->table, &t, NULL, err);
    if (st != NF_OK)
        return st;
    nf_ice_table_free(*table);
    *table = t;
    return NF_OK;
}

/* One attempt on base *table. NF_ECONFLICT with overlap->n == 0: the catalog refused (409). */
static nf_status
attempt(nf_ice_catalog *cat, nf_pq_append *a, nf_ice_table **table, nf_seqset *overlap,
        nf_err *err)
{
    const nf_ice_table *base = *table;
    nf_seqset committed = {0};
    nf_status st = nf_pq_committed(base, a->stream, &committed, err);
    if (st != NF_OK)
        return st;
    for (size_t i = 0; i < a->seqs->n && st == NF_OK; i++)
        for (uint64_t s = a->seqs->r[i].lo; st == NF_OK; s++) {
            if (nf_seqset_contains(&committed, s))
                st = nf_seqset_add(overlap, s, s, err);
            if (s == a->seqs->r[i].hi)
                break;
        }
    if (st == NF_OK && overlap->n > 0)
        st = nf_err_set(err, NF_ECONFLICT, "%zu sequence range(s) already committed",
                        overlap->n);
    if (st == NF_OK)
        st = nf_seqset_union(&committed, a->seqs, err);
    if (st == NF_OK && a->settled != NULL)
        st = nf_seqset_union(&committed, a->settled, err);
    if (st != NF_OK) {
        nf_seqset_clear(&committed);
        return st;
    }
    nf_seqset_trim(&committed, a->ack_floor);
    if (a->manifest.path == NULL && (st = write_manifest(a, base, err)) != NF_OK) {
        nf_seqset_clear(&committed);
        return st;
    }
    int64_t seq = nf_ice_table_last_sequence(base) + 1;
    char *list = NULL, *updates = NULL, *reqs = NULL;
    a->attempts++;
    if ((st = write_list(a, base, seq, &list, err)) != NF_OK)
        goto out;
    updates = updates_for(a, base, seq, list, &committed);
    reqs = nf_ice_requirements_main(base);
    if (updates == NULL || reqs == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "out of memory");
        goto out;
    }
    nf_ice_table *next = NULL;
    st = nf_ice_catalog_commit(cat, a->ns, a->table, reqs, updates, &next, err);
    if (st == NF_OK) {
        nf_ice_table_free(*table);
        *table = next;
    } else if (st == NF_ECONFLICT || st == NF_EINVAL) {
        char *p = NULL;
        if (nf_ice_uri_path(list, &p, NULL) == NF_OK)
            unlink(p); /* certainly not committed (invariant 3) */
        free(p);
    }
out:
    nf_seqset_clear(&committed);
    free(list);
    free(updates);
    free(reqs);
    return st;
}

nf_status
nf_pq_append_commit(nf_ice_catalog *cat, nf_pq_append *a, nf_ice_table **table,
                    nf_seqset *overlap, nf_err *err)
{
    nf_seqset_clear(overlap);
    if (a->snapshot_id == 0)
        a->snapshot_id = nf_ice_new_snapshot_id();
    nf_status st = NF_OK;
    if (*table == NULL || a->attempts > 0) /* after an unknown outcome, look again */
        if ((st = reload(cat, a, table, err)) != NF_OK)
            return st;
    for (int i = 0; i < MAX_ATTEMPTS; i++) {
        if (nf_ice_table_snapshot(*table, a->snapshot_id) != NULL)
            return NF_OK; /* an earlier attempt went through (invariant 1) */
        st = attempt(cat, a, table, overlap, err);
        if (st == NF_OK || (st == NF_ECONFLICT && overlap->n > 0))
            return st;
        if (st != NF_ECONFLICT && !unknown_outcome(st))
            return st;
        nf_err e2 = {0};
        if (reload(cat, a, table, &e2) != NF_OK)
            return st; /* unknown: the caller calls again */
    }
    return nf_err_set(err, NF_EAGAIN, "commit: %d attempts lost to other writers", MAX_ATTEMPTS);
}

void
nf_pq_append_discard(nf_pq_append *a)
{
    char *p = NULL;
    if (a->manifest.path != NULL && nf_ice_uri_path(a->manifest.path, &p, NULL) == NF_OK)
        unlink(p);
    free(p);
}

void
nf_pq_append_clear(nf_pq_append *a)
{
    free(a->manifest.path);
    memset(&a->manifest, 0, sizeof(a->manifest));
    a->snapshot_id = 0;
    a->attempts = 0;
}

/* coldtest.h — helpers for the unit tests of the cold tier (pqwriter_test, rollup_test): a
 * raw netflow table in a filesystem catalog under a temporary directory, an append committed
 * the way the Parquet writer commits one, and the directory's removal.
 *
 * Why an append of its own rather than the writer's code: the tests build tables from plain
 * catalog calls, so a bug in the writer's append cannot hide one in the code under test.
 * Include after <cmocka.h> (the helpers assert). Everything is static inline, as testnet.h.
 */
#ifndef NFX_TESTS_UNIT_COLDTEST_H
#define NFX_TESTS_UNIT_COLDTEST_H

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/clock.h"
#include "cold/table.h"
#include "iceberg/iceberg.h"

/* Makes a temporary directory from tmpl (e.g. "/tmp/x_test.XXXXXX") into dir (dirlen bytes),
 * opens a filesystem catalog on it into *cat (close with nf_ice_catalog_close) and creates
 * the raw table NF_COLD_NAMESPACE.NF_COLD_TABLE; loc (loclen bytes) receives the table's
 * location as a local path. */
static inline void
coldtest_table_open(const char *tmpl, char *dir, size_t dirlen, char *loc, size_t loclen,
                    nf_ice_catalog **cat)
{
    snprintf(dir, dirlen, "%s", tmpl);
    assert_non_null(mkdtemp(dir));
    char uri[512];
    snprintf(uri, sizeof uri, "file://%s", dir);
    nf_ice_catalog_config cfg = {.uri = uri};
    nf_err err = {0};
    assert_int_equal(nf_ice_catalog_open(&cfg, cat, &err), NF_OK);
    assert_int_equal(nf_ice_catalog_ensure_namespace(*cat, NF_COLD_NAMESPACE, &err), NF_OK);
    nf_ice_table *t = NULL;
    if (nf_ice_catalog_create(*cat, NF_COLD_NAMESPACE, NF_COLD_TABLE, NULL, nf_cold_schema_json,
                              nf_cold_spec_json, nf_cold_sort_order_json,
                              nf_cold_properties_json, &t, &err) != NF_OK)
        fail_msg("create: %s", err.msg);
    char *p = NULL;
    assert_int_equal(nf_ice_uri_path(nf_ice_table_location(t), &p, &err), NF_OK);
    snprintf(loc, loclen, "%s", p);
    free(p);
    nf_ice_table_free(t);
}

/* Commits the nf files (borrowed) to the raw table at loc through catalog c as the writer
 * does: a manifest of the new files, a manifest list of the parent's manifests plus it, an
 * "append" snapshot with the npairs summary pairs kv (key, value, ...; borrowed), committed
 * with the requirement that main is unchanged. Fails the test on any error. */
static inline void
coldtest_append_files(nf_ice_catalog *c, const char *loc, const nf_ice_datafile *files,
                      size_t nf, const char *const *kv, size_t npairs)
{
    nf_err err = {0};
    nf_ice_table *t = NULL;
    assert_int_equal(nf_ice_catalog_load(c, NF_COLD_NAMESPACE, NF_COLD_TABLE, &t, NULL, &err),
                     NF_OK);
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    int64_t sid = nf_ice_new_snapshot_id();
    int64_t seq = nf_ice_table_last_sequence(t) + 1;
    nf_ice_manifest *ms = NULL;
    size_t nm = 0;
    if (cur != NULL)
        assert_int_equal(nf_ice_mlist_read(cur->manifest_list, &ms, &nm, &err), NF_OK);
    nf_ice_manifest *all = calloc(nm + 1, sizeof *all);
    assert_non_null(all);
    if (nm > 0)
        memcpy(all, ms, nm * sizeof *ms);

    char *schema = nf_ice_table_schema_json(t);
    assert_non_null(schema);
    nf_ice_spec spec;
    assert_int_equal(nf_ice_table_spec(t, &spec, &err), NF_OK);
    nf_ice_manifest_ctx ctx = {.schema_json = schema,
                               .schema_id = nf_ice_table_schema_id(t),
                               .spec = &spec,
                               .type_of = nf_cold_type_of};
    char mpath[512], lpath[512];
    snprintf(mpath, sizeof mpath, "%s/metadata/append-%" PRId64 "-m0.avro", loc, sid);
    snprintf(lpath, sizeof lpath, "%s/metadata/snap-%" PRId64 "-1-append.avro", loc, sid);
    if (nf_ice_manifest_write(mpath, &ctx, sid, seq, files, nf, &all[nm], &err) != NF_OK)
        fail_msg("manifest_write: %s", err.msg);
    if (nf_ice_mlist_write(lpath, sid, cur ? cur->snapshot_id : -1, seq, all, nm + 1, &err) !=
        NF_OK)
        fail_msg("mlist_write: %s", err.msg);
    char *luri = nf_ice_path_uri(lpath);
    assert_non_null(luri);
    nf_ice_snapshot_new s = {.snapshot_id = sid,
                             .parent_id = cur ? cur->snapshot_id : -1,
                             .sequence_number = seq,
                             .timestamp_ms = (int64_t)nf_wall_ms(),
                             .manifest_list = luri,
                             .operation = "append",
                             .summary = kv,
                             .nsummary = npairs};
    char *req = nf_ice_requirements_main(t);
    char *upd = nf_ice_updates_add_snapshot(&s);
    if (nf_ice_catalog_commit(c, NF_COLD_NAMESPACE, NF_COLD_TABLE, req, upd, NULL, &err) !=
        NF_OK)
        fail_msg("append commit: %s", err.msg);
    free(req);
    free(upd);
    free(luri);
    free(schema);
    free(all[nm].path);
    free(all);
    nf_ice_manifests_free(ms, nm);
    nf_ice_table_free(t);
}

static inline int
coldtest_rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb, (void)type, (void)ftw;
    return remove(path);
}

/* Removes dir and everything below it, unless the environment variable keep_env is "1"
 * (then says on stderr where it was kept). */
static inline void
coldtest_remove_dir(const char *dir, const char *keep_env)
{
    const char *keep = getenv(keep_env);
    if (keep == NULL || strcmp(keep, "1") != 0)
        nftw(dir, coldtest_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    else
        fprintf(stderr, "kept %s\n", dir);
}

#endif

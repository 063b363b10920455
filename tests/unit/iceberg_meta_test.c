/* iceberg_meta_test.c — lib/iceberg's JSON half (nf_iceberg_meta): table metadata (new,
 * parse, dump round trip, accessors), every commit requirement passing and failing (the
 * table's JSON text unchanged after every failure), every update kind, snapshot-log and
 * metadata-log, snapshot_at, metadata files on a filesystem (latest version with and
 * without a hint, no-clobber writes), the filesystem catalog (create, load, commit, two
 * commits from the same base, drop) and malformed metadata.
 *
 * Everything on disk lives in one mkdtemp directory removed at the end of each test. The
 * REST client is exercised against the real catalog server by the integration tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "iceberg/iceberg.h"

static const char SCHEMA[] =
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    "{\"id\":1,\"name\":\"ts\",\"required\":false,\"type\":\"timestamptz\"},"
    "{\"id\":2,\"name\":\"tags\",\"required\":false,\"type\":{\"type\":\"list\","
    "\"element-id\":7,\"element\":\"string\",\"element-required\":false}},"
    "{\"id\":3,\"name\":\"n\",\"required\":false,\"type\":\"long\"}]}";
static const char SPEC[] = "{\"spec-id\":0,\"fields\":[{\"name\":\"ts_day\",\"transform\":\"day\","
                           "\"source-id\":1,\"field-id\":1000}]}";
static const char ORDER[] = "{\"order-id\":1,\"fields\":[{\"transform\":\"identity\","
                            "\"source-id\":1,\"direction\":\"asc\",\"null-order\":"
                            "\"nulls-first\"}]}";
static const char PROPS[] = "{\"write.format.default\":\"parquet\"}";

/* ---- helpers --------------------------------------------------------------------------------- */

static nf_ice_table *
new_table(void)
{
    nf_ice_table *t = NULL;
    nf_err err = {0};
    nf_status st = nf_ice_table_new("file:///tmp/x/t", SCHEMA, SPEC, ORDER, PROPS, &t, &err);
    if (st != NF_OK)
        fail_msg("new: %s", err.msg);
    return t;
}

/* Adds snapshot id with sequence seq and time ts to t through apply; returns the status. */
static nf_status
add_snap(nf_ice_table *t, int64_t id, int64_t parent, int64_t seq, int64_t ts, const char *prev,
         nf_err *err)
{
    const char *summary[] = {"added-records", "10", "x-writer", "abc"};
    nf_ice_snapshot_new s = {.snapshot_id = id, .parent_id = parent, .sequence_number = seq,
                             .timestamp_ms = ts, .manifest_list = "file:///tmp/x/t/m.avro",
                             .operation = "append", .summary = summary, .nsummary = 2};
    char *ups = nf_ice_updates_add_snapshot(&s);
    assert_non_null(ups);
    char *reqs = nf_ice_requirements_main(t);
    assert_non_null(reqs);
    nf_status st = nf_ice_table_apply(t, reqs, ups, prev, err);
    free(ups);
    free(reqs);
    return st;
}

/* Applies reqs/ups expecting want; on failure checks t's JSON did not change. */
static void
expect_apply(nf_ice_table *t, const char *reqs, const char *ups, nf_status want,
             const char *msg_part)
{
    char *before = nf_ice_table_json(t);
    nf_err err = {0};
    nf_status st = nf_ice_table_apply(t, reqs, ups, NULL, &err);
    if (st != want)
        fail_msg("apply %s / %s: got %s (%s), want %s", reqs, ups, nf_status_name(st), err.msg,
                 nf_status_name(want));
    if (msg_part != NULL && strstr(err.msg, msg_part) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, msg_part);
    if (st != NF_OK) {
        char *after = nf_ice_table_json(t);
        assert_string_equal(before, after);
        free(after);
    }
    free(before);
}

static char g_dir[256];

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int
setup_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/icemeta-test-XXXXXX");
    return mkdtemp(g_dir) != NULL ? 0 : -1;
}

static int
teardown_dir(void **state)
{
    (void)state;
    return nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* ---- metadata -------------------------------------------------------------------------------- */

static void
test_new_and_round_trip(void **state)
{
    (void)state;
    nf_ice_table *t = new_table();
    assert_string_equal(nf_ice_table_location(t), "file:///tmp/x/t");
    const char *uuid = nf_ice_table_uuid(t);
    assert_int_equal(strlen(uuid), 36);
    assert_int_equal(uuid[14], '4');
    assert_int_equal(nf_ice_table_last_sequence(t), 0);
    assert_null(nf_ice_table_current(t));
    assert_string_equal(nf_ice_table_property(t, "write.format.default"), "parquet");
    assert_null(nf_ice_table_property(t, "nope"));
    assert_int_equal(nf_ice_table_schema_id(t), 0);
    nf_ice_spec spec;
    nf_err err = {0};
    assert_int_equal(nf_ice_table_spec(t, &spec, &err), NF_OK);
    assert_int_equal(spec.transform, NF_ICE_DAY);
    assert_int_equal(spec.source_id, 1);
    assert_int_equal(spec.field_id, 1000);
    assert_string_equal(spec.name, "ts_day");

    char *json = nf_ice_table_json(t);
    assert_non_null(strstr(json, "\"format-version\":2"));
    assert_non_null(strstr(json, "\"last-column-id\":7")); /* nested element id */
    assert_non_null(strstr(json, "\"last-partition-id\":1000"));
    assert_non_null(strstr(json, "\"current-snapshot-id\":-1"));
    assert_non_null(strstr(json, "\"default-sort-order-id\":1"));
    nf_ice_table *u = NULL;
    assert_int_equal(nf_ice_table_parse(json, strlen(json), &u, &err), NF_OK);
    char *json2 = nf_ice_table_json(u);
    assert_string_equal(json, json2);
    char *schema = nf_ice_table_schema_json(u);
    assert_non_null(strstr(schema, "\"element-id\":7"));
    free(schema);
    free(json);
    free(json2);
    nf_ice_table_free(u);
    nf_ice_table_free(t);

    /* Unpartitioned, unsorted defaults. */
    assert_int_equal(nf_ice_table_new("file:///a", SCHEMA, NULL, NULL, NULL, &t, &err), NF_OK);
    json = nf_ice_table_json(t);
    assert_non_null(strstr(json, "\"last-partition-id\":999"));
    assert_non_null(strstr(json, "\"default-sort-order-id\":0"));
    assert_int_equal(nf_ice_table_spec(t, &spec, &err), NF_OK);
    assert_int_equal(spec.transform, NF_ICE_UNPARTITIONED);
    free(json);
    nf_ice_table_free(t);

    /* Unsupported transform is refused by name. */
    assert_int_equal(nf_ice_table_new("file:///a", SCHEMA,
                                      "{\"spec-id\":0,\"fields\":[{\"name\":\"b\",\"transform\":"
                                      "\"bucket[16]\",\"source-id\":3,\"field-id\":1000}]}",
                                      NULL, NULL, &t, &err),
                     NF_OK);
    assert_int_equal(nf_ice_table_spec(t, &spec, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "bucket[16]"));
    nf_ice_table_free(t);

    /* Bad inputs. */
    assert_int_equal(nf_ice_table_new("file:///a", "{\"x\":1}", NULL, NULL, NULL, &t, &err),
                     NF_EINVAL);
    assert_int_equal(nf_ice_table_new("file:///a", "[", NULL, NULL, NULL, &t, &err), NF_EINVAL);
    assert_int_equal(nf_ice_table_new(NULL, SCHEMA, NULL, NULL, NULL, &t, &err), NF_EINVAL);
}

static void
test_snapshot_ids(void **state)
{
    (void)state;
    int64_t a = nf_ice_new_snapshot_id(), b = nf_ice_new_snapshot_id();
    assert_true(a >= 1 && a <= (INT64_C(1) << 53) - 1);
    assert_true(b >= 1 && b <= (INT64_C(1) << 53) - 1);
    assert_true(a != b);
}

static void
test_malformed(void **state)
{
    (void)state;
    nf_ice_table *t = new_table();
    char *good = nf_ice_table_json(t);
    nf_ice_table_free(t);
    nf_err err = {0};
    t = NULL;
    static const char *const bad[] = {
        "", "{", "[]", "null", "{\"format-version\":2}", "{\"format-version\":\"2\"}",
        "{\"a\":1,\"a\":2}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        nf_status st = nf_ice_table_parse(bad[i], strlen(bad[i]), &t, &err);
        assert_true(st == NF_EPROTO || st == NF_EINVAL);
        assert_null(t);
    }
    /* Mutations of a good document: each must be refused, none may crash. */
    static const struct {
        const char *from, *to;
        nf_status want;
    } muts[] = {
        {"\"format-version\":2", "\"format-version\":1", NF_EINVAL},
        {"\"format-version\":2", "\"format-version\":3", NF_EINVAL},
        {"\"current-schema-id\":0", "\"current-schema-id\":5", NF_EPROTO},
        {"\"default-spec-id\":0", "\"default-spec-id\":\"0\"", NF_EPROTO},
        {"\"schemas\":[", "\"schemas\":7,\"x\":[", NF_EPROTO},
        {"\"current-snapshot-id\":-1", "\"current-snapshot-id\":12", NF_EPROTO},
        {"\"refs\":{}", "\"refs\":{\"main\":{\"snapshot-id\":5,\"type\":\"branch\"}}", NF_EPROTO},
        {"\"snapshots\":[]", "\"snapshots\":[{\"snapshot-id\":1}]", NF_EPROTO},
        {"\"properties\":{", "\"properties\":{\"n\":1,", NF_EPROTO},
        {"\"table-uuid\"", "\"table-uuid-x\"", NF_EPROTO},
    };
    for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
        const char *at = strstr(good, muts[i].from);
        assert_non_null(at);
        size_t n = strlen(good) + strlen(muts[i].to) + 1;
        char *doc = malloc(n);
        snprintf(doc, n, "%.*s%s%s", (int)(at - good), good, muts[i].to,
                 at + strlen(muts[i].from));
        nf_status st = nf_ice_table_parse(doc, strlen(doc), &t, &err);
        if (st != muts[i].want)
            fail_msg("mutation %zu (%s): %s, %s", i, muts[i].to, nf_status_name(st), err.msg);
        assert_null(t);
        free(doc);
    }
    /* Every truncation of a good document fails cleanly. */
    for (size_t n = 0; n < strlen(good); n += 7)
        assert_int_not_equal(nf_ice_table_parse(good, n, &t, &err), NF_OK);
    free(good);
}

static void
test_requirements(void **state)
{
    (void)state;
    nf_ice_table *t = new_table();
    nf_err err = {0};
    assert_int_equal(add_snap(t, 11, -1, 1, 1000, NULL, &err), NF_OK);
    char uuid[64], r[512];
    snprintf(uuid, sizeof(uuid), "%s", nf_ice_table_uuid(t));
    static const char UP[] =
        "[{\"action\":\"set-properties\",\"updates\":{\"k\":\"v\"}}]";

    snprintf(r, sizeof(r), "[{\"type\":\"assert-table-uuid\",\"uuid\":\"%s\"}]", uuid);
    expect_apply(t, r, UP, NF_OK, NULL);
    expect_apply(t, "[{\"type\":\"assert-table-uuid\",\"uuid\":\"00000000-0000-4000-8000-000000000000\"}]",
                 UP, NF_ECONFLICT, "assert-table-uuid");
    expect_apply(t, "[{\"type\":\"assert-create\"}]", UP, NF_ECONFLICT, "assert-create");
    expect_apply(t, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":11}]",
                 UP, NF_OK, NULL);
    expect_apply(t, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":12}]",
                 UP, NF_ECONFLICT, "assert-ref-snapshot-id");
    expect_apply(t, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":null}]",
                 UP, NF_ECONFLICT, "assert-ref-snapshot-id");
    expect_apply(t, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"dev\",\"snapshot-id\":null}]",
                 UP, NF_OK, NULL);
    expect_apply(t, "[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"dev\",\"snapshot-id\":11}]",
                 UP, NF_ECONFLICT, "dev");
    static const struct {
        const char *type, *key;
        int good, bad;
    } ints[] = {
        {"assert-last-assigned-field-id", "last-assigned-field-id", 7, 6},
        {"assert-current-schema-id", "current-schema-id", 0, 1},
        {"assert-last-assigned-partition-id", "last-assigned-partition-id", 1000, 999},
        {"assert-default-spec-id", "default-spec-id", 0, 1},
        {"assert-default-sort-order-id", "default-sort-order-id", 1, 0},
    };
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        snprintf(r, sizeof(r), "[{\"type\":\"%s\",\"%s\":%d}]", ints[i].type, ints[i].key,
                 ints[i].good);
        expect_apply(t, r, UP, NF_OK, NULL);
        snprintf(r, sizeof(r), "[{\"type\":\"%s\",\"%s\":%d}]", ints[i].type, ints[i].key,
                 ints[i].bad);
        expect_apply(t, r, UP, NF_ECONFLICT, ints[i].type);
    }
    /* A passing requirement followed by a failing one: nothing applied. */
    snprintf(r, sizeof(r),
             "[{\"type\":\"assert-table-uuid\",\"uuid\":\"%s\"},{\"type\":"
             "\"assert-current-schema-id\",\"current-schema-id\":9}]", uuid);
    expect_apply(t, r, "[{\"action\":\"set-properties\",\"updates\":{\"z\":\"1\"}}]",
                 NF_ECONFLICT, "current-schema-id");
    assert_null(nf_ice_table_property(t, "z"));
    /* Malformed requirements. */
    expect_apply(t, "[{\"type\":\"assert-nothing\"}]", UP, NF_EINVAL, "assert-nothing");
    expect_apply(t, "[{\"type\":\"assert-current-schema-id\"}]", UP, NF_EINVAL, NULL);
    expect_apply(t, "{}", UP, NF_EINVAL, NULL);
    expect_apply(t, "[1]", UP, NF_EINVAL, NULL);
    expect_apply(t, "[", UP, NF_EINVAL, NULL);
    nf_ice_table_free(t);
}

static void
test_updates(void **state)
{
    (void)state;
    nf_ice_table *t = new_table();
    nf_err err = {0};
    /* Unknown or malformed updates, and an update list that fails halfway. */
    expect_apply(t, NULL, "[{\"action\":\"frobnicate\"}]", NF_EINVAL, "frobnicate");
    expect_apply(t, NULL, "[{\"nope\":1}]", NF_EINVAL, NULL);
    expect_apply(t, NULL,
                 "[{\"action\":\"set-properties\",\"updates\":{\"a\":\"1\"}},"
                 "{\"action\":\"set-current-schema\",\"schema-id\":42}]",
                 NF_EINVAL, "42");
    assert_null(nf_ice_table_property(t, "a"));

    expect_apply(t, NULL, "[{\"action\":\"assign-uuid\",\"uuid\":\"u-1\"}]", NF_OK, NULL);
    assert_string_equal(nf_ice_table_uuid(t), "u-1");
    expect_apply(t, NULL, "[{\"action\":\"upgrade-format-version\",\"format-version\":2}]", NF_OK,
                 NULL);
    expect_apply(t, NULL, "[{\"action\":\"upgrade-format-version\",\"format-version\":1}]",
                 NF_EINVAL, NULL);
    expect_apply(t, NULL, "[{\"action\":\"set-location\",\"location\":\"file:///b\"}]", NF_OK,
                 NULL);
    assert_string_equal(nf_ice_table_location(t), "file:///b");
    expect_apply(t, NULL,
                 "[{\"action\":\"set-properties\",\"updates\":{\"a\":\"1\",\"b\":\"2\"}},"
                 "{\"action\":\"remove-properties\",\"removals\":[\"b\"]}]",
                 NF_OK, NULL);
    assert_string_equal(nf_ice_table_property(t, "a"), "1");
    assert_null(nf_ice_table_property(t, "b"));
    expect_apply(t, NULL, "[{\"action\":\"set-properties\",\"updates\":{\"a\":1}}]", NF_EINVAL,
                 NULL);

    /* Schema: added (new id 1, last-column-id raised), then made current with -1. */
    expect_apply(t, NULL,
                 "[{\"action\":\"add-schema\",\"schema\":{\"type\":\"struct\",\"schema-id\":1,"
                 "\"fields\":[{\"id\":1,\"name\":\"ts\",\"required\":false,\"type\":"
                 "\"timestamptz\"},{\"id\":9,\"name\":\"m\",\"required\":false,\"type\":"
                 "\"int\"}]}},{\"action\":\"set-current-schema\",\"schema-id\":-1}]",
                 NF_OK, NULL);
    assert_int_equal(nf_ice_table_schema_id(t), 1);
    char *json = nf_ice_table_json(t);
    assert_non_null(strstr(json, "\"last-column-id\":9"));
    free(json);
    expect_apply(t, NULL, "[{\"action\":\"set-current-schema\",\"schema-id\":-1}]", NF_EINVAL,
                 NULL);
    expect_apply(t, NULL, "[{\"action\":\"set-current-schema\",\"schema-id\":0}]", NF_OK, NULL);
    assert_int_equal(nf_ice_table_schema_id(t), 0);

    /* Spec: fields without ids get 1001; unpartitioned spec. */
    expect_apply(t, NULL,
                 "[{\"action\":\"add-spec\",\"spec\":{\"fields\":[{\"name\":\"n\",\"transform\":"
                 "\"identity\",\"source-id\":3}]}},{\"action\":\"set-default-spec\","
                 "\"spec-id\":-1}]",
                 NF_OK, NULL);
    nf_ice_spec spec;
    assert_int_equal(nf_ice_table_spec(t, &spec, &err), NF_OK);
    assert_int_equal(spec.spec_id, 1);
    assert_int_equal(spec.transform, NF_ICE_IDENTITY);
    assert_int_equal(spec.field_id, 1001);
    expect_apply(t, NULL, "[{\"action\":\"set-default-spec\",\"spec-id\":7}]", NF_EINVAL, NULL);

    /* Sort order: an identical one is reused, a new one gets id 2. */
    expect_apply(t, NULL,
                 "[{\"action\":\"add-sort-order\",\"sort-order\":{\"order-id\":5,\"fields\":["
                 "{\"transform\":\"identity\",\"source-id\":3,\"direction\":\"desc\","
                 "\"null-order\":\"nulls-last\"}]}},{\"action\":\"set-default-sort-order\","
                 "\"sort-order-id\":-1}]",
                 NF_OK, NULL);
    json = nf_ice_table_json(t);
    assert_non_null(strstr(json, "\"default-sort-order-id\":2"));
    free(json);

    /* Snapshots and refs. */
    assert_int_equal(add_snap(t, 100, -1, 1, 5000, NULL, &err), NF_OK);
    assert_int_equal(nf_ice_table_last_sequence(t), 1);
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    assert_non_null(cur);
    assert_int_equal(cur->snapshot_id, 100);
    assert_int_equal(cur->parent_id, -1);
    assert_int_equal(cur->timestamp_ms, 5000);
    assert_string_equal(cur->operation, "append");
    assert_string_equal(cur->manifest_list, "file:///tmp/x/t/m.avro");
    assert_string_equal(nf_ice_table_summary(t, 100, "x-writer"), "abc");
    assert_string_equal(nf_ice_table_summary(t, 100, "operation"), "append");
    assert_null(nf_ice_table_summary(t, 100, "nope"));
    /* Stale sequence number and duplicate id: conflict, unchanged. */
    char *before = nf_ice_table_json(t);
    assert_int_equal(add_snap(t, 101, 100, 1, 6000, NULL, &err), NF_ECONFLICT);
    assert_non_null(strstr(err.msg, "sequence-number"));
    char *after = nf_ice_table_json(t);
    assert_string_equal(before, after);
    free(after);
    free(before);
    expect_apply(t, NULL,
                 "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":100,"
                 "\"sequence-number\":5,\"timestamp-ms\":1,\"manifest-list\":\"file:///m\","
                 "\"summary\":{\"operation\":\"append\"}}}]",
                 NF_ECONFLICT, "already exists");
    expect_apply(t, NULL,
                 "[{\"action\":\"add-snapshot\",\"snapshot\":{\"snapshot-id\":7,"
                 "\"sequence-number\":5,\"timestamp-ms\":1,\"manifest-list\":\"file:///m\","
                 "\"summary\":{}}}]",
                 NF_EINVAL, "operation");
    assert_int_equal(add_snap(t, 101, 100, 2, 6000, NULL, &err), NF_OK);
    assert_int_equal(nf_ice_table_current(t)->snapshot_id, 101);
    assert_int_equal(nf_ice_table_current(t)->parent_id, 100);

    /* Tag, set-snapshot-ref of a missing snapshot, remove-snapshot-ref. */
    expect_apply(t, NULL,
                 "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"keep\",\"type\":\"tag\","
                 "\"snapshot-id\":100,\"max-ref-age-ms\":1000}]",
                 NF_OK, NULL);
    expect_apply(t, NULL,
                 "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
                 "\"snapshot-id\":999}]",
                 NF_EINVAL, "999");
    expect_apply(t, NULL,
                 "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"tag\","
                 "\"snapshot-id\":100}]",
                 NF_EINVAL, NULL);
    json = nf_ice_table_json(t);
    assert_non_null(strstr(json, "\"keep\":{\"snapshot-id\":100,\"type\":\"tag\","
                                 "\"max-ref-age-ms\":1000}"));
    free(json);
    expect_apply(t, NULL, "[{\"action\":\"remove-snapshot-ref\",\"ref-name\":\"keep\"}]", NF_OK,
                 NULL);
    json = nf_ice_table_json(t);
    assert_null(strstr(json, "\"keep\""));
    free(json);

    /* remove-snapshots: the snapshot, its log entries and refs to it go. */
    expect_apply(t, NULL,
                 "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"old\",\"type\":\"tag\","
                 "\"snapshot-id\":100}]",
                 NF_OK, NULL);
    int64_t ids[] = {100};
    char *rm = nf_ice_updates_remove_snapshots(ids, 1);
    expect_apply(t, NULL, rm, NF_OK, NULL);
    free(rm);
    assert_null(nf_ice_table_snapshot(t, 100));
    assert_non_null(nf_ice_table_snapshot(t, 101));
    json = nf_ice_table_json(t);
    assert_null(strstr(json, "\"old\""));
    assert_null(strstr(json, "\"snapshot-id\":100"));
    free(json);
    /* Removing the current snapshot clears main. */
    ids[0] = 101;
    rm = nf_ice_updates_remove_snapshots(ids, 1);
    expect_apply(t, NULL, rm, NF_OK, NULL);
    free(rm);
    assert_null(nf_ice_table_current(t));
    size_t n = 9;
    nf_ice_table_snapshots(t, &n);
    assert_int_equal(n, 0);
    json = nf_ice_table_json(t);
    assert_non_null(strstr(json, "\"current-snapshot-id\":-1"));
    assert_non_null(strstr(json, "\"refs\":{}"));
    free(json);
    nf_ice_table_free(t);
}

static void
test_logs_and_snapshot_at(void **state)
{
    (void)state;
    nf_ice_table *t = new_table();
    nf_err err = {0};
    expect_apply(t, NULL,
                 "[{\"action\":\"set-properties\",\"updates\":{"
                 "\"write.metadata.previous-versions-max\":\"3\"}}]",
                 NF_OK, NULL);
    char prev[64];
    for (int i = 1; i <= 5; i++) {
        snprintf(prev, sizeof(prev), "file:///t/metadata/v%d.metadata.json", i);
        const nf_ice_snapshot *cur = nf_ice_table_current(t);
        assert_int_equal(add_snap(t, 1000 + i, cur ? cur->snapshot_id : -1, i, 10000 * i, prev,
                                  &err),
                         NF_OK);
    }
    size_t n;
    const nf_ice_snapshot *all = nf_ice_table_snapshots(t, &n);
    assert_int_equal(n, 5);
    assert_int_equal(all[4].parent_id, 1004);
    assert_int_equal(all[4].sequence_number, 5);
    char *json = nf_ice_table_json(t);
    /* metadata-log: the last 3 previous files only, with their times. */
    assert_null(strstr(json, "v2.metadata.json"));
    assert_non_null(strstr(json, "{\"timestamp-ms\":20000,\"metadata-file\":"
                                 "\"file:///t/metadata/v3.metadata.json\"}"));
    assert_non_null(strstr(json, "\"file:///t/metadata/v5.metadata.json\""));
    assert_non_null(strstr(json, "\"last-updated-ms\":50000"));
    /* snapshot-log: one entry per commit, at the snapshot's time. */
    assert_non_null(strstr(json, "\"snapshot-log\":[{\"timestamp-ms\":10000,\"snapshot-id\":1001},"
                                 "{\"timestamp-ms\":20000,\"snapshot-id\":1002}"));
    free(json);
    assert_null(nf_ice_table_snapshot_at(t, 9999));
    assert_int_equal(nf_ice_table_snapshot_at(t, 10000)->snapshot_id, 1001);
    assert_int_equal(nf_ice_table_snapshot_at(t, 29999)->snapshot_id, 1002);
    assert_int_equal(nf_ice_table_snapshot_at(t, 1000000)->snapshot_id, 1005);
    /* Rolling back main to an older snapshot logs it again. */
    expect_apply(t, NULL,
                 "[{\"action\":\"set-snapshot-ref\",\"ref-name\":\"main\",\"type\":\"branch\","
                 "\"snapshot-id\":1002}]",
                 NF_OK, NULL);
    assert_int_equal(nf_ice_table_current(t)->snapshot_id, 1002);
    assert_int_equal(nf_ice_table_snapshot_at(t, INT64_MAX)->snapshot_id, 1002);
    nf_ice_table_free(t);
}

/* ---- filesystem ------------------------------------------------------------------------------ */

static void
test_fs_versions(void **state)
{
    (void)state;
    nf_err err = {0};
    char tdir[512], path[600];
    snprintf(tdir, sizeof(tdir), "%s/tbl", g_dir);
    int64_t v = 0;
    assert_int_equal(nf_ice_fs_latest_version(tdir, &v, &err), NF_ENOTFOUND);
    char *uri = NULL;
    assert_int_equal(nf_ice_fs_write_version(tdir, 1, "{\"v\":1}", &uri, &err), NF_OK);
    snprintf(path, sizeof(path), "file://%s/metadata/v1.metadata.json", tdir);
    assert_string_equal(uri, path);
    free(uri);
    assert_int_equal(nf_ice_fs_latest_version(tdir, &v, &err), NF_OK);
    assert_int_equal(v, 1);
    /* No clobbering: v1 again is a conflict and the file keeps its content. */
    assert_int_equal(nf_ice_fs_write_version(tdir, 1, "{\"v\":\"other\"}", NULL, &err),
                     NF_ECONFLICT);
    snprintf(path, sizeof(path), "%s/metadata/v1.metadata.json", tdir);
    FILE *f = fopen(path, "r");
    char buf[64] = "";
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "{\"v\":1}");
    assert_int_equal(nf_ice_fs_write_version(tdir, 2, "{}", NULL, &err), NF_OK);
    snprintf(path, sizeof(path), "%s/metadata/version-hint.text", tdir);
    f = fopen(path, "r");
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "2");
    /* A lagging hint: probing finds v4. */
    write_text(path, "1");
    snprintf(path, sizeof(path), "%s/metadata/v3.metadata.json", tdir);
    write_text(path, "{}");
    snprintf(path, sizeof(path), "%s/metadata/v4.metadata.json", tdir);
    write_text(path, "{}");
    assert_int_equal(nf_ice_fs_latest_version(tdir, &v, &err), NF_OK);
    assert_int_equal(v, 4);
    /* No hint (or garbage): the directory listing decides, v10 beats v9. */
    snprintf(path, sizeof(path), "%s/metadata/version-hint.text", tdir);
    write_text(path, "banana");
    snprintf(path, sizeof(path), "%s/metadata/v10.metadata.json", tdir);
    write_text(path, "{}");
    snprintf(path, sizeof(path), "%s/metadata/v9.metadata.json", tdir);
    write_text(path, "{}");
    snprintf(path, sizeof(path), "%s/metadata/v11.metadata.json.tmp", tdir);
    write_text(path, "{}");
    assert_int_equal(nf_ice_fs_latest_version(tdir, &v, &err), NF_OK);
    assert_int_equal(v, 10);
    snprintf(path, sizeof(path), "%s/metadata/version-hint.text", tdir);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(nf_ice_fs_latest_version(tdir, &v, &err), NF_OK);
    assert_int_equal(v, 10);
    /* The hint is not moved backwards by a late writer of an older version. */
    assert_int_equal(nf_ice_fs_write_version(tdir, 11, "{}", NULL, &err), NF_OK);
    assert_int_equal(nf_ice_fs_write_version(tdir, 5, "{}", NULL, &err), NF_OK);
    f = fopen(path, "r");
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "11");
    /* The REST catalog's way: the version first, the hint only after its pointer swap. */
    assert_int_equal(nf_ice_fs_write_version_only(tdir, 12, "{}", NULL, false, &err), NF_OK);
    f = fopen(path, "r");
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "11");
    assert_int_equal(nf_ice_fs_write_version_only(tdir, 12, "{}", NULL, false, &err),
                     NF_ECONFLICT);
    assert_int_equal(nf_ice_fs_write_hint(tdir, 12, &err), NF_OK);
    assert_int_equal(nf_ice_fs_write_hint(tdir, 7, &err), NF_OK); /* never backwards */
    f = fopen(path, "r");
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    assert_string_equal(buf, "12");
    assert_int_equal(nf_ice_fs_write_hint(tdir, 0, &err), NF_EINVAL);
}

static void
test_uris(void **state)
{
    (void)state;
    nf_err err = {0};
    char *p = NULL;
    assert_int_equal(nf_ice_uri_path("file:///a/b", &p, &err), NF_OK);
    assert_string_equal(p, "/a/b");
    free(p);
    assert_int_equal(nf_ice_uri_path("file:/a/b", &p, &err), NF_OK);
    assert_string_equal(p, "/a/b");
    free(p);
    assert_int_equal(nf_ice_uri_path("/c", &p, &err), NF_OK);
    assert_string_equal(p, "/c");
    free(p);
    assert_int_equal(nf_ice_uri_path("s3://bucket/x", &p, &err), NF_EINVAL);
    assert_int_equal(nf_ice_uri_path("file://host/x", &p, &err), NF_EINVAL);
    assert_int_equal(nf_ice_uri_path("rel/x", &p, &err), NF_EINVAL);
    char *u = nf_ice_path_uri("/a/b");
    assert_string_equal(u, "file:///a/b");
    free(u);
}

static nf_ice_catalog *
fs_catalog(void)
{
    char uri[300];
    snprintf(uri, sizeof(uri), "file://%s/wh", g_dir);
    nf_ice_catalog_config cfg = {.uri = uri};
    nf_ice_catalog *c = NULL;
    nf_err err = {0};
    if (nf_ice_catalog_open(&cfg, &c, &err) != NF_OK)
        fail_msg("open: %s", err.msg);
    return c;
}

static void
test_fs_catalog(void **state)
{
    (void)state;
    nf_ice_catalog *c = fs_catalog();
    nf_err err = {0};
    nf_ice_table *t = NULL;
    assert_int_equal(nf_ice_catalog_ensure_namespace(c, "default", &err), NF_OK);
    assert_int_equal(nf_ice_catalog_ensure_namespace(c, "default", &err), NF_OK);
    assert_int_equal(nf_ice_catalog_load(c, "default", "t", &t, NULL, &err), NF_ENOTFOUND);
    assert_int_equal(nf_ice_catalog_create(c, "default", "t", NULL, SCHEMA, SPEC, ORDER, PROPS,
                                           &t, &err),
                     NF_OK);
    char want[400];
    snprintf(want, sizeof(want), "file://%s/wh/default/t", g_dir);
    assert_string_equal(nf_ice_table_location(t), want);
    nf_ice_table_free(t);
    assert_int_equal(nf_ice_catalog_create(c, "default", "t", NULL, SCHEMA, SPEC, ORDER, PROPS,
                                           NULL, &err),
                     NF_ECONFLICT);
    assert_int_equal(nf_ice_catalog_create(c, "default", "../x", NULL, SCHEMA, NULL, NULL, NULL,
                                           NULL, &err),
                     NF_EINVAL);

    /* Two writers load the same base and commit; the second must conflict. */
    nf_ice_table *a = NULL, *b = NULL;
    char *uri = NULL;
    assert_int_equal(nf_ice_catalog_load(c, "default", "t", &a, &uri, &err), NF_OK);
    snprintf(want, sizeof(want), "file://%s/wh/default/t/metadata/v1.metadata.json", g_dir);
    assert_string_equal(uri, want);
    free(uri);
    assert_int_equal(nf_ice_catalog_load(c, "default", "t", &b, NULL, &err), NF_OK);
    char *ra = nf_ice_requirements_main(a), *rb = nf_ice_requirements_main(b);
    const char *sum[] = {"k", "a"};
    nf_ice_snapshot_new sa = {.snapshot_id = 501, .parent_id = -1, .sequence_number = 1,
                              .timestamp_ms = 1000, .manifest_list = "file:///m1",
                              .operation = "append", .summary = sum, .nsummary = 1};
    nf_ice_snapshot_new sb = sa;
    sb.snapshot_id = 502;
    sb.manifest_list = "file:///m2";
    char *ua = nf_ice_updates_add_snapshot(&sa), *ub = nf_ice_updates_add_snapshot(&sb);
    nf_ice_table *res = NULL;
    assert_int_equal(nf_ice_catalog_commit(c, "default", "t", ra, ua, &res, &err), NF_OK);
    assert_int_equal(nf_ice_table_current(res)->snapshot_id, 501);
    nf_ice_table_free(res);
    assert_int_equal(nf_ice_catalog_commit(c, "default", "t", rb, ub, &res, &err), NF_ECONFLICT);
    assert_non_null(strstr(err.msg, "assert-ref-snapshot-id"));
    /* Nothing lost: v2 holds 501, no v3. */
    nf_ice_table *now = NULL;
    assert_int_equal(nf_ice_catalog_load(c, "default", "t", &now, &uri, &err), NF_OK);
    assert_int_equal(nf_ice_table_current(now)->snapshot_id, 501);
    assert_null(nf_ice_table_snapshot(now, 502));
    assert_non_null(strstr(uri, "/v2.metadata.json"));
    char *json = nf_ice_table_json(now);
    assert_non_null(strstr(json, "v1.metadata.json")); /* metadata-log */
    free(json);
    free(uri);
    /* The loser rebases on the reloaded table and succeeds. */
    free(rb);
    free(ub);
    rb = nf_ice_requirements_main(now);
    sb.parent_id = 501;
    sb.sequence_number = nf_ice_table_last_sequence(now) + 1;
    ub = nf_ice_updates_add_snapshot(&sb);
    assert_int_equal(nf_ice_catalog_commit(c, "default", "t", rb, ub, NULL, &err), NF_OK);
    nf_ice_table_free(now);
    assert_int_equal(nf_ice_catalog_load(c, "default", "t", &now, NULL, &err), NF_OK);
    assert_int_equal(nf_ice_table_current(now)->snapshot_id, 502);
    assert_non_null(nf_ice_table_snapshot(now, 501));
    nf_ice_table_free(now);
    /* A malformed commit changes nothing. */
    assert_int_equal(nf_ice_catalog_commit(c, "default", "t", NULL, "[{\"action\":\"x\"}]", NULL,
                                           &err),
                     NF_EINVAL);
    int64_t v;
    char tdir[400];
    snprintf(tdir, sizeof(tdir), "%s/wh/default/t", g_dir);
    assert_int_equal(nf_ice_fs_latest_version(tdir, &v, &err), NF_OK);
    assert_int_equal(v, 3);
    /* A corrupt newest file: an error naming it, no crash. */
    char path[500];
    snprintf(path, sizeof(path), "%s/metadata/v4.metadata.json", tdir);
    write_text(path, "{\"format-version\":2,");
    assert_int_equal(nf_ice_catalog_load(c, "default", "t", &now, NULL, &err), NF_EPROTO);
    assert_non_null(strstr(err.msg, "v4.metadata.json"));
    assert_int_equal(unlink(path), 0);

    free(ra);
    free(ua);
    free(rb);
    free(ub);
    nf_ice_table_free(a);
    nf_ice_table_free(b);

    /* Commit to a missing table; drop; drop again; create again. */
    assert_int_equal(nf_ice_catalog_commit(c, "default", "nope", NULL, "[]", NULL, &err),
                     NF_ENOTFOUND);
    assert_int_equal(nf_ice_catalog_drop(c, "default", "t", &err), NF_OK);
    assert_int_equal(nf_ice_catalog_load(c, "default", "t", &now, NULL, &err), NF_ENOTFOUND);
    assert_int_equal(nf_ice_catalog_drop(c, "default", "t", &err), NF_ENOTFOUND);
    assert_int_equal(nf_ice_catalog_create(c, "default", "t", NULL, SCHEMA, NULL, NULL, NULL,
                                           NULL, &err),
                     NF_OK);
    nf_ice_catalog_close(c);

    nf_ice_catalog_config bad = {.uri = "ftp://x"};
    assert_int_equal(nf_ice_catalog_open(&bad, &c, &err), NF_EINVAL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_and_round_trip),
        cmocka_unit_test(test_snapshot_ids),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_requirements),
        cmocka_unit_test(test_updates),
        cmocka_unit_test(test_logs_and_snapshot_at),
        cmocka_unit_test_setup_teardown(test_fs_versions, setup_dir, teardown_dir),
        cmocka_unit_test(test_uris),
        cmocka_unit_test_setup_teardown(test_fs_catalog, setup_dir, teardown_dir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

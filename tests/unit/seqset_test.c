/* seqset_test.c — lib/pqwriter's sequence sets (the exactly-once record carried in snapshot
 * summaries), the Parquet writer's config checks, and lib/cold's table definition (the JSON
 * texts agree with the column table).
 *
 * The set is checked against a plain bitmap model under random adds and trims: every
 * membership, the text form and its parse agree after each step.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cold/table.h"
#include "config/config.h"
#include "pqwriter/pqwriter_config.h"
#include "pqwriter/seqset.h"

static void
test_add_merges(void **state)
{
    (void)state;
    nf_seqset s = {0};
    assert_int_equal(nf_seqset_add(&s, 5, 7, NULL), NF_OK);
    assert_int_equal(nf_seqset_add(&s, 10, 10, NULL), NF_OK);
    assert_int_equal(nf_seqset_add(&s, 1, 1, NULL), NF_OK);
    assert_int_equal(s.n, 3);
    assert_int_equal(nf_seqset_add(&s, 8, 9, NULL), NF_OK); /* bridges 5-7 and 10 */
    assert_int_equal(s.n, 2);
    char *t = nf_seqset_format(&s);
    assert_string_equal(t, "1,5-10");
    free(t);
    assert_int_equal(nf_seqset_add(&s, 2, 4, NULL), NF_OK); /* adjacent on both sides */
    t = nf_seqset_format(&s);
    assert_string_equal(t, "1-10");
    free(t);
    assert_true(nf_seqset_contains(&s, 1));
    assert_true(nf_seqset_contains(&s, 10));
    assert_false(nf_seqset_contains(&s, 0));
    assert_false(nf_seqset_contains(&s, 11));
    assert_int_equal(nf_seqset_max(&s), 10);
    nf_err err = {0};
    assert_int_equal(nf_seqset_add(&s, 9, 3, &err), NF_EINVAL);
    nf_seqset_clear(&s);
    assert_int_equal(s.n, 0);
}

static void
test_trim(void **state)
{
    (void)state;
    nf_seqset s = {0};
    assert_int_equal(nf_seqset_parse(&s, "3-5,8,12-20", NULL), NF_OK);
    nf_seqset_trim(&s, 8);
    char *t = nf_seqset_format(&s);
    assert_string_equal(t, "12-20");
    free(t);
    nf_seqset_trim(&s, 15);
    t = nf_seqset_format(&s);
    assert_string_equal(t, "16-20");
    free(t);
    nf_seqset_trim(&s, 100);
    assert_int_equal(s.n, 0);
    nf_seqset_trim(&s, 0);
    nf_seqset_clear(&s);
}

static void
test_parse_refuses(void **state)
{
    (void)state;
    static const char *const bad[] = {"x",    "1-",   "-3",  "5-3", "1,1",  "1-4,3",
                                      "1,,2", "1,2,", " 1",  "1 ",  "1-2-3", "2,1",
                                      "99999999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        nf_seqset s = {0};
        nf_err err = {0};
        assert_int_equal(nf_seqset_parse(&s, bad[i], &err), NF_EINVAL);
        assert_int_equal(s.n, 0);
        assert_non_null(strstr(err.msg, "sequence set"));
    }
    nf_seqset s = {0};
    assert_int_equal(nf_seqset_parse(&s, "", NULL), NF_OK);
    assert_int_equal(s.n, 0);
    /* Adjacent ranges in the text are not the canonical form and are refused too. */
    assert_int_equal(nf_seqset_parse(&s, "1-2,3", NULL), NF_EINVAL);
}

static void
test_range_cap(void **state)
{
    (void)state;
    nf_seqset s = {0};
    nf_err err = {0};
    for (uint64_t i = 0; i < NF_SEQSET_MAX_RANGES; i++)
        assert_int_equal(nf_seqset_add(&s, 2 * i, 2 * i, NULL), NF_OK);
    assert_int_equal(nf_seqset_add(&s, 2 * NF_SEQSET_MAX_RANGES + 5, 2 * NF_SEQSET_MAX_RANGES + 5,
                                   &err),
                     NF_EINVAL);
    assert_int_equal(s.n, NF_SEQSET_MAX_RANGES); /* unchanged */
    /* Filling a gap still works at the cap. */
    assert_int_equal(nf_seqset_add(&s, 1, 1, NULL), NF_OK);
    assert_int_equal(s.n, NF_SEQSET_MAX_RANGES - 1);
    nf_seqset_clear(&s);
}

/* Random adds, unions and trims against a bitmap model. */
static void
test_model(void **state)
{
    (void)state;
    enum { N = 600 };
    srand(7);
    for (int round = 0; round < 40; round++) {
        bool model[N + 2] = {false};
        nf_seqset s = {0}, o = {0};
        for (int op = 0; op < 60; op++) {
            uint64_t a = (uint64_t)(rand() % N), b = a + (uint64_t)(rand() % 12);
            if (b >= N)
                b = N - 1;
            int kind = rand() % 10;
            if (kind < 7) {
                assert_int_equal(nf_seqset_add(&s, a, b, NULL), NF_OK);
                for (uint64_t i = a; i <= b; i++)
                    model[i] = true;
            } else if (kind < 9) {
                nf_seqset_clear(&o);
                assert_int_equal(nf_seqset_add(&o, a, b, NULL), NF_OK);
                assert_int_equal(nf_seqset_add(&o, b + 1 < N ? b + 1 : b, b + 1 < N ? b + 1 : b,
                                               NULL),
                                 NF_OK);
                assert_int_equal(nf_seqset_union(&s, &o, NULL), NF_OK);
                for (uint64_t i = a; i <= b + 1 && i < N; i++)
                    model[i] = true;
            } else {
                uint64_t floor = (uint64_t)(rand() % (N / 4));
                nf_seqset_trim(&s, floor);
                for (uint64_t i = 0; i <= floor; i++)
                    model[i] = false;
            }
            uint64_t max = 0;
            for (uint64_t i = 0; i < N; i++) {
                assert_int_equal(nf_seqset_contains(&s, i), model[i]);
                if (model[i])
                    max = i;
            }
            assert_int_equal(nf_seqset_max(&s), max);
            for (size_t i = 1; i < s.n; i++)
                assert_true(s.r[i].lo > s.r[i - 1].hi + 1); /* canonical */
            char *t = nf_seqset_format(&s);
            nf_seqset p = {0};
            assert_int_equal(nf_seqset_parse(&p, t, NULL), NF_OK);
            assert_int_equal(p.n, s.n);
            if (s.n)
                assert_memory_equal(p.r, s.r, s.n * sizeof(s.r[0]));
            nf_seqset_clear(&p);
            free(t);
        }
        nf_seqset_clear(&s);
        nf_seqset_clear(&o);
    }
}

/* ---- the writer's config ----------------------------------------------------------------- */

static void
test_config_defaults(void **state)
{
    (void)state;
    nf_pqwriter_config c;
    nf_err err = {0};
    assert_int_equal(nf_pqwriter_config_load_text("t.json", "{}", &c, &err), NF_OK);
    assert_string_equal(c.iceberg_catalog, "http://localhost:8181");
    assert_string_equal(c.iceberg_table, "default.netflow");
    assert_string_equal(c.consumer, "parquet");
    assert_int_equal(c.retention_ms, 90ull * 86400000);
    nf_pqwriter_config_free(&c);
    /* The PRD's example keys load as they are. */
    assert_int_equal(nf_pqwriter_config_load_text(
                         "prd.json",
                         "{\"nats_url\":\"nats://localhost:4222\",\"output_path\":\"/path/to/"
                         "parquet\",\"iceberg_catalog\":\"http://localhost:8080\","
                         "\"iceberg_table\":\"default.netflow\",\"batch_size\":10000,"
                         "\"batch_interval\":\"5m\",\"ack_wait\":\"20m\",\"security\":{\"mode\":"
                         "\"mtls\",\"cert_dir\":\"/etc/serviceradar/certs\",\"server_name\":"
                         "\"nats-serviceradar\"}}",
                         &c, &err),
                     NF_OK);
    assert_int_equal(c.batch_interval_ms, 300000);
    nf_pqwriter_config_free(&c);
}

static void
test_config_refuses(void **state)
{
    (void)state;
    static const struct {
        const char *json, *key;
    } bad[] = {
        {"{\"iceberg_catalog\":\"ftp://x\"}", "iceberg_catalog"},
        {"{\"iceberg_table\":\"netflow\"}", "iceberg_table"},
        {"{\"iceberg_table\":\"a.b.c\"}", "iceberg_table"},
        {"{\"iceberg_table\":\"a;drop.b\"}", "iceberg_table"},
        {"{\"output_path\":\"relative/dir\"}", "output_path"},
        {"{\"batch_size\":0}", "batch_size"},
        {"{\"retention\":\"36h\"}", "retention"},
        {"{\"batch_interval\":\"5m\",\"ack_wait\":\"5m\"}", "ack_wait"},
        {"{\"backoff_min\":\"10s\",\"backoff_max\":\"1s\"}", "backoff_max"},
        {"{\"compact_min_files\":1}", "compact_min_files"},
        {"{\"batch_size\":2000000,\"duckdb_memory_limit\":\"1GiB\"}", "duckdb_memory_limit"},
        {"{\"duckdb_memory_limit\":\"1GB\"}", "duckdb_memory_limit"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        nf_pqwriter_config c;
        nf_err err = {0};
        assert_int_equal(nf_pqwriter_config_load_text("w.json", bad[i].json, &c, &err), NF_EINVAL);
        if (strstr(err.msg, bad[i].key) == NULL || strstr(err.msg, "w.json") == NULL)
            fail_msg("%s: message \"%s\" does not name key %s and the file", bad[i].json,
                     err.msg, bad[i].key);
    }
    char ns[8], t[8];
    assert_false(nf_pqwriter_table_ident("averylongnamespace.t", ns, sizeof(ns), t, sizeof(t)));
    assert_true(nf_pqwriter_table_ident("default.netflow", ns, sizeof(ns), t, sizeof(t)));
    assert_string_equal(ns, "default");
    assert_string_equal(t, "netflow");
}

/* ---- lib/cold ------------------------------------------------------------------------------- */

static void
test_cold_schema_matches_columns(void **state)
{
    (void)state;
    json_error_t je;
    json_t *schema = json_loads(nf_cold_schema_json, 0, &je);
    if (schema == NULL)
        fail_msg("schema JSON: %s at %d:%d", je.text, je.line, je.column);
    json_t *fields = json_object_get(schema, "fields");
    assert_int_equal(json_array_size(fields), NF_COLD_NCOLUMNS);
    for (size_t i = 0; i < NF_COLD_NCOLUMNS; i++) {
        json_t *f = json_array_get(fields, i);
        const nf_cold_column *c = &nf_cold_columns[i];
        assert_int_equal(c->id, (int32_t)i + 1);
        assert_int_equal(json_integer_value(json_object_get(f, "id")), c->id);
        assert_string_equal(json_string_value(json_object_get(f, "name")), c->name);
        assert_string_equal(json_string_value(json_object_get(f, "type")), c->iceberg);
        assert_ptr_equal(nf_cold_column_named(c->name), c);
        assert_int_equal(nf_cold_type_of(c->id), c->type);
    }
    json_decref(schema);
    for (int i = 0; i < 3; i++) {
        const char *t[] = {nf_cold_spec_json, nf_cold_sort_order_json, nf_cold_properties_json};
        json_t *j = json_loads(t[i], 0, &je);
        assert_non_null(j);
        json_decref(j);
    }
    assert_null(nf_cold_column_named("msg_id"));
    assert_int_equal(nf_cold_type_of(0), 0);
    assert_int_equal(nf_cold_type_of(NF_COLD_NCOLUMNS + 1), 0);
    /* The PRD's columns keep ids 1-7 in its order. */
    const char *prd[] = {"timestamp", "src_ip", "dst_ip", "src_port", "dst_port", "protocol",
                         "bytes"};
    for (int i = 0; i < 7; i++)
        assert_int_equal(nf_cold_column_named(prd[i])->id, i + 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_merges),
        cmocka_unit_test(test_trim),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_range_cap),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_refuses),
        cmocka_unit_test(test_cold_schema_matches_columns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

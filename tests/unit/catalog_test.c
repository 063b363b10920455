/* catalog_test.c — lib/catalog: the SQLite store and the config loader (the HTTP side is
 * tested end to end by tests/it/iceberg_catalog.sh).
 *
 * Covered: namespaces (create twice, properties, update/remove, list order, drop only when
 * empty), tables (create only in an existing namespace and only once, get, list, rename,
 * drop), the compare-and-swap of a commit between two connections to one database file (the
 * situation of two catalog processes: the second swap from the same old location loses
 * and changes nothing), persistence across reopen, and the config: defaults, a bad
 * warehouse and mtls without files named with file and key. Runs under ASan/LSan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/catalog_config.h"
#include "catalog/store.h"

typedef struct fixture {
    char dir[64];
    char db[96];
} fixture;

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/catalog_test.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->db, sizeof(f->db), "%s/c.db", f->dir);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    char path[128];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s%s", f->db, suffix[i]);
        unlink(path);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void
test_namespaces(void **state)
{
    fixture *f = *state;
    cat_store *s = NULL;
    nf_err e = {0};
    assert_int_equal(cat_store_open(f->db, &s, &e), NF_OK);
    json_t *props = json_pack("{s:s}", "owner", "me");
    assert_int_equal(cat_store_ns_create(s, "b", props, &e), NF_OK);
    assert_int_equal(cat_store_ns_create(s, "a", NULL, &e), NF_OK);
    assert_int_equal(cat_store_ns_create(s, "b", NULL, &e), NF_ECONFLICT);
    assert_non_null(strstr(e.msg, "namespace b already exists"));
    json_t *got = NULL;
    assert_int_equal(cat_store_ns_get(s, "b", &got, &e), NF_OK);
    assert_true(json_equal(got, props));
    json_decref(got);
    assert_int_equal(cat_store_ns_get(s, "zz", &got, &e), NF_ENOTFOUND);
    assert_non_null(strstr(e.msg, "namespace zz"));

    json_t *upd = json_pack("{s:s}", "k", "v"), *rem = json_pack("[s,s]", "owner", "nope");
    json_t *res = NULL;
    assert_int_equal(cat_store_ns_update_props(s, "b", upd, rem, &res, &e), NF_OK);
    char *text = json_dumps(res, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(text,
                        "{\"missing\":[\"nope\"],\"removed\":[\"owner\"],\"updated\":[\"k\"]}");
    free(text);
    json_decref(res);
    assert_int_equal(cat_store_ns_get(s, "b", &got, &e), NF_OK);
    assert_true(json_equal(got, upd));
    json_decref(got);
    /* A key both set and removed is refused and changes nothing. */
    json_t *rem2 = json_pack("[s]", "k");
    assert_int_equal(cat_store_ns_update_props(s, "b", upd, rem2, &res, &e), NF_EINVAL);
    assert_int_equal(cat_store_ns_get(s, "b", &got, &e), NF_OK);
    assert_true(json_equal(got, upd));
    json_decref(got);

    json_t *names = NULL;
    assert_int_equal(cat_store_ns_list(s, &names, &e), NF_OK);
    text = json_dumps(names, JSON_COMPACT);
    assert_string_equal(text, "[\"a\",\"b\"]");
    free(text);
    json_decref(names);

    assert_int_equal(cat_store_table_create(s, "b", "t", "file:///x/v1.metadata.json", 1, &e),
                     NF_OK);
    assert_int_equal(cat_store_ns_drop(s, "b", &e), NF_ECONFLICT);
    assert_non_null(strstr(e.msg, "not empty"));
    assert_int_equal(cat_store_ns_drop(s, "zz", &e), NF_ENOTFOUND);
    assert_int_equal(cat_store_ns_drop(s, "a", &e), NF_OK);
    assert_int_equal(cat_store_ns_get(s, "a", &got, &e), NF_ENOTFOUND);
    json_decref(props);
    json_decref(upd);
    json_decref(rem);
    json_decref(rem2);
    cat_store_close(s);
}

static void
test_tables_and_cas(void **state)
{
    fixture *f = *state;
    cat_store *s1 = NULL, *s2 = NULL;
    nf_err e = {0};
    assert_int_equal(cat_store_open(f->db, &s1, &e), NF_OK);
    assert_int_equal(cat_store_open(f->db, &s2, &e), NF_OK); /* a second "process" */
    assert_int_equal(cat_store_table_create(s1, "ns", "t", "v1", 1, &e), NF_ENOTFOUND);
    assert_non_null(strstr(e.msg, "namespace ns does not exist"));
    assert_int_equal(cat_store_ns_create(s1, "ns", NULL, &e), NF_OK);
    assert_int_equal(cat_store_table_create(s1, "ns", "t", "v1", 1, &e), NF_OK);
    assert_int_equal(cat_store_table_create(s2, "ns", "t", "v1b", 1, &e), NF_ECONFLICT);

    char *loc = NULL;
    int64_t version = 0;
    assert_int_equal(cat_store_table_get(s2, "ns", "t", &loc, &version, &e), NF_OK);
    assert_string_equal(loc, "v1");
    assert_int_equal(version, 1);
    free(loc);
    assert_int_equal(cat_store_table_get(s2, "ns", "u", &loc, NULL, &e), NF_ENOTFOUND);
    assert_non_null(strstr(e.msg, "table ns.u does not exist"));

    /* Both started from v1: the first swap wins, the second changes nothing. */
    assert_int_equal(cat_store_table_swap(s1, "ns", "t", "v1", "v2", 2, &e), NF_OK);
    assert_int_equal(cat_store_table_swap(s2, "ns", "t", "v1", "v2b", 2, &e), NF_ECONFLICT);
    assert_non_null(strstr(e.msg, "no longer v1"));
    assert_int_equal(cat_store_table_get(s2, "ns", "t", &loc, &version, &e), NF_OK);
    assert_string_equal(loc, "v2");
    assert_int_equal(version, 2);
    free(loc);
    assert_int_equal(cat_store_table_swap(s2, "ns", "gone", "v1", "v2", 2, &e), NF_ECONFLICT);

    assert_int_equal(cat_store_ns_create(s1, "other", NULL, &e), NF_OK);
    assert_int_equal(cat_store_table_create(s1, "other", "t", "o1", 1, &e), NF_OK);
    assert_int_equal(cat_store_table_rename(s1, "ns", "t", "other", "t", &e), NF_ECONFLICT);
    assert_int_equal(cat_store_table_rename(s1, "ns", "t", "absent", "t", &e), NF_ENOTFOUND);
    assert_int_equal(cat_store_table_rename(s1, "ns", "t", "other", "t2", &e), NF_OK);
    json_t *names = NULL;
    assert_int_equal(cat_store_table_list(s2, "other", &names, &e), NF_OK);
    char *text = json_dumps(names, JSON_COMPACT);
    assert_string_equal(text, "[\"t\",\"t2\"]");
    free(text);
    json_decref(names);
    assert_int_equal(cat_store_table_list(s2, "absent", &names, &e), NF_ENOTFOUND);

    assert_int_equal(cat_store_table_drop(s1, "other", "t", &e), NF_OK);
    assert_int_equal(cat_store_table_drop(s1, "other", "t", &e), NF_ENOTFOUND);
    cat_store_close(s1);
    cat_store_close(s2);

    /* Persistence: what was committed is there after reopening. */
    assert_int_equal(cat_store_open(f->db, &s1, &e), NF_OK);
    assert_int_equal(cat_store_table_get(s1, "other", "t2", &loc, &version, &e), NF_OK);
    assert_string_equal(loc, "v2");
    assert_int_equal(version, 2);
    free(loc);
    cat_store_close(s1);
}

static void
test_config(void **state)
{
    fixture *f = *state;
    char path[128];
    snprintf(path, sizeof(path), "%s/absent.json", f->dir);
    nf_catalog_config c;
    nf_err e = {0};
    assert_int_equal(nf_catalog_config_load(path, true, &c, NULL, NULL, &e), NF_OK);
    assert_string_equal(c.listen_addr, "0.0.0.0:8181");
    assert_string_equal(c.warehouse, "file:///var/lib/serviceradar/iceberg");
    assert_string_equal(c.database, "/var/lib/serviceradar/iceberg-catalog.db");
    assert_string_equal(c.metrics_addr, ":9197");
    assert_int_equal(c.max_body_bytes, 16u * 1024 * 1024);
    assert_string_equal(c.security.mode, "none");
    nf_catalog_config_free(&c);

    const struct {
        const char *json, *want;
    } bad[] = {
        {"{\"warehouse\": \"/no/scheme\"}", "key 'warehouse'"},
        {"{\"warehouse\": \"file:///a/../b\"}", "key 'warehouse'"},
        {"{\"database\": \"\"}", "key 'database'"},
        {"{\"max_body_bytes\": 10}", "key 'max_body_bytes'"},
        {"{\"security\": {\"mode\": \"mtls\"}}", "key 'security.tls.cert_file'"},
        {"{\"security\": {\"mode\": \"mtls\", \"tls\": {\"cert_file\": \"c.pem\"}}}",
         "key 'security.tls.key_file'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(bad[i].json, fp);
        fclose(fp);
        assert_int_equal(nf_catalog_config_load(path, false, &c, NULL, NULL, &e), NF_EINVAL);
        if (strstr(e.msg, bad[i].want) == NULL || strstr(e.msg, path) == NULL)
            fail_msg("%s: message '%s' lacks '%s' or the file", bad[i].json, e.msg,
                     bad[i].want);
    }
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_namespaces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tables_and_cas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

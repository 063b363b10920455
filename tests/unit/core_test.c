/* core_test.c — lib/core without real backends: the config table and its whole-struct
 * checks (each bad value refused naming file and key), and the server in process (auth on,
 * ClickHouse unreachable, an empty filesystem warehouse) driven over HTTP with libcurl:
 * routes, methods, body bounds, login and tokens, JSON errors, backend failures mapped to
 * 503/404, and the counters of /metrics. The answers of real data are it_core_api's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "testnet.h"

/* ---- config ---------------------------------------------------------------------------- */

static void
config_refused(const char *text, const char *want)
{
    nf_core_config c;
    nf_err err = {0};
    nf_status st = nf_core_config_load_text("t.json", text, &c, NULL, NULL, &err);
    if (st == NF_OK) {
        nf_core_config_free(&c);
        fail_msg("accepted: %s", text);
    }
    assert_int_equal(st, NF_EINVAL);
    if (strstr(err.msg, want) == NULL)
        fail_msg("message '%s' lacks '%s'", err.msg, want);
}

static void
test_config_defaults(void **state)
{
    (void)state;
    nf_core_config c;
    nf_err err = {0};
    assert_int_equal(nf_core_config_load_text("t.json", "{\"auth\": {\"enabled\": false}}", &c,
                                              NULL, NULL, &err),
                     NF_OK);
    assert_string_equal(c.listen_addr, ":8090");
    assert_string_equal(c.netflow.clickhouse_database, "netflow");
    assert_int_equal(c.netflow.realtime_threshold_ms, 2 * 86400000ull);
    assert_int_equal(c.netflow.hot_retention_ms, 2 * 86400000ull);
    assert_int_equal(c.max_body_bytes, 65536);
    assert_string_equal(c.ice_ns, "default");
    assert_string_equal(c.ice_table, "netflow");
    nf_core_config_free(&c);
}

static void
test_config_refused(void **state)
{
    (void)state;
    config_refused("{\"auth\": {\"enabled\": false}, \"netflow\": {\"iceberg_table\": \"x\"}}",
                   "t.json: key 'netflow.iceberg_table'");
    config_refused("{\"auth\": {\"enabled\": false}, \"netflow\": {\"iceberg_table\": \"a.b.c\"}}",
                   "key 'netflow.iceberg_table'");
    config_refused("{\"auth\": {\"enabled\": false}, \"netflow\": {\"iceberg_table\": \".t\"}}",
                   "key 'netflow.iceberg_table'");
    config_refused("{\"auth\": {\"enabled\": false}, \"security\": {\"tls\": {\"cert_file\": "
                   "\"c.pem\"}}}",
                   "key 'security.tls.key_file'");
    config_refused("{\"auth\": {\"enabled\": false}, \"security\": {\"tls\": {\"key_file\": "
                   "\"k.pem\"}}}",
                   "key 'security.tls.cert_file'");
    config_refused("{}", "auth.jwt_secret");
    config_refused("{\"auth\": {\"enabled\": false}, \"netflow\": {\"realtime_threshold\": "
                   "\"1s\"}}",
                   "netflow.realtime_threshold");
    config_refused("{\"auth\": {\"enabled\": false}, \"netflow\": {\"hot_retention\": \"soon\"}}",
                   "netflow.hot_retention");
    config_refused("{\"auth\": {\"enabled\": false}, \"netflow\": {\"clickhouse_database\": "
                   "\"net-flow\"}}",
                   "netflow.clickhouse_database");
    config_refused("{\"auth\": {\"enabled\": false}, \"netflow\": {\"iceberg_catalog\": "
                   "\"s3://bucket\"}}",
                   "netflow.iceberg_catalog");
    config_refused("{\"auth\": {\"enabled\": false}, \"netflow\": {\"clickhouse_url\": "
                   "\"tcp://h:9000\"}}",
                   "netflow.clickhouse_url");
    config_refused("{\"auth\": {\"enabled\": false}, \"listen_addr\": \"localhost:80\"}",
                   "listen_addr");
    config_refused("{\"auth\": {\"enabled\": false}, \"log_level\": \"loud\"}", "log_level");
    config_refused("{\"auth\": {\"enabled\": false}, \"max_body_bytes\": 10}", "max_body_bytes");
    config_refused("{\"auth\": {\"enabled\": false}, \"netflow\": {\"duckdb_threads\": 0}}",
                   "netflow.duckdb_threads");
    config_refused("{\"auth\": {\"enabled\": true, \"jwt_secret\": "
                   "\"0123456789abcdefghijklmnopqrstuvwxyzABCD\", \"local_users\": "
                   "{\"bob\": \"plain\"}}}",
                   "auth.local_users.bob");
}

/* ---- the server in process ----------------------------------------------------------- */

typedef struct reply {
    long status;
    char *body;
    size_t len;
    char retry_after[16];
} reply;

static size_t
on_body(char *p, size_t size, size_t n, void *ctx)
{
    reply *r = ctx;
    char *g = realloc(r->body, r->len + size * n + 1);
    if (g == NULL)
        return 0;
    memcpy(g + r->len, p, size * n);
    r->len += size * n;
    g[r->len] = '\0';
    r->body = g;
    return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *ctx)
{
    reply *r = ctx;
    if (size * n > 13 && strncasecmp(p, "Retry-After: ", 13) == 0)
        snprintf(r->retry_after, sizeof(r->retry_after), "%.*s", (int)strcspn(p + 13, "\r\n"),
                 p + 13);
    return size * n;
}

/* One request; header may be NULL, body NULL for GET (method given explicitly). */
static reply
http(uint16_t port, const char *method, const char *path, const char *header, const char *body,
     size_t body_len)
{
    reply r = {0};
    char url[512];
    snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct curl_slist *hl = NULL;
    if (header != NULL)
        hl = curl_slist_append(hl, header);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
    if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)body_len);
    }
    CURLcode rc = curl_easy_perform(h);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(h);
    return r;
}

/* The error parameter of a JSON error body ("" for null); fails on a non-error body. */
static void
expect_error(reply *r, long status, const char *param)
{
    if (r->status != status)
        fail_msg("status %ld, want %ld: %s", r->status, status, r->body ? r->body : "");
    json_error_t je;
    json_t *j = json_loads(r->body != NULL ? r->body : "", 0, &je);
    assert_non_null(j);
    json_t *e = json_object_get(j, "error");
    assert_true(json_is_string(json_object_get(e, "message")));
    json_t *p = json_object_get(e, "parameter");
    if (param == NULL)
        assert_true(json_is_null(p));
    else
        assert_string_equal(json_string_value(p), param);
    json_decref(j);
    free(r->body);
}

static void
test_server(void **state)
{
    (void)state;
    char wh[] = "/tmp/core_test.XXXXXX";
    assert_non_null(mkdtemp(wh));
    char hash[NF_AUTH_BCRYPT_LEN + 1];
    nf_err err = {0};
    assert_int_equal(nf_auth_hash_password("pw-123", 4, hash, &err), NF_OK);
    uint16_t port = free_port(), dead = free_port();
    char text[2048];
    snprintf(text, sizeof(text),
             "{\"listen_addr\": \"127.0.0.1:%u\", \"netflow\": {\"clickhouse_url\": "
             "\"http://127.0.0.1:%u\", \"iceberg_catalog\": \"file://%s\", \"clickhouse_timeout\": "
             "\"2s\", \"duckdb_memory_limit\": \"256MB\", \"duckdb_threads\": 1}, "
             "\"auth\": {\"jwt_secret\": \"k3Jd8s0Qm2Zx7Lp4Vb9Nc1Hf6Tg5Ry0Wq3Ea8Uo2\", "
             "\"local_users\": {\"admin\": \"%s\"}, \"login_max_failures\": 2}, "
             "\"max_body_bytes\": 4096}",
             port, dead, wh, hash);
    nf_core_config cfg;
    assert_int_equal(nf_core_config_load_text("t.json", text, &cfg, NULL, NULL, &err), NF_OK);
    nf_core *core = NULL;
    if (nf_core_start(&cfg, &core, &err) != NF_OK)
        fail_msg("start: %s", err.msg);

    reply r = http(port, "GET", "/healthz", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"status\":\"ok\"}");
    free(r.body);
    r = http(port, "GET", "/nope", NULL, NULL, 0);
    expect_error(&r, 404, NULL);
    r = http(port, "POST", "/healthz", NULL, "x", 1);
    expect_error(&r, 405, NULL);
    r = http(port, "GET", "/api/netflow/fields", NULL, NULL, 0);
    expect_error(&r, 401, NULL);
    r = http(port, "GET", "/api/netflow/fields", "X-API-Key: nope", NULL, 0);
    expect_error(&r, 401, NULL);
    r = http(port, "GET", "/api/netflow?group_by=protocol", "Authorization: Bearer x.y.z", NULL,
             0);
    expect_error(&r, 401, NULL);

    /* login: bad bodies, then the right password */
    r = http(port, "POST", "/auth/login", NULL, "not json", 8);
    expect_error(&r, 400, NULL);
    r = http(port, "POST", "/auth/login", NULL, "{\"username\":\"admin\"}", 20);
    expect_error(&r, 400, "password");
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'a', 5000);
    r = http(port, "POST", "/auth/login", NULL, big, 5000);
    free(big);
    expect_error(&r, 413, NULL);
    const char good[] = "{\"username\":\"admin\",\"password\":\"pw-123\"}";
    r = http(port, "POST", "/auth/login", NULL, good, sizeof(good) - 1);
    assert_int_equal(r.status, 200);
    json_t *j = json_loads(r.body, 0, NULL);
    free(r.body);
    assert_non_null(j);
    const char *tok = json_string_value(json_object_get(j, "access_token"));
    const char *rtok = json_string_value(json_object_get(j, "refresh_token"));
    assert_non_null(tok);
    assert_non_null(rtok);
    assert_true(json_is_string(json_object_get(j, "expires_at")));
    char bearer[NF_AUTH_TOKEN_MAX + 32], rbody[NF_AUTH_TOKEN_MAX + 32];
    snprintf(bearer, sizeof(bearer), "Authorization: Bearer %s", tok);
    snprintf(rbody, sizeof(rbody), "{\"refresh_token\":\"%s\"}", rtok);
    char rbearer[NF_AUTH_TOKEN_MAX + 32];
    snprintf(rbearer, sizeof(rbearer), "Authorization: Bearer %s", rtok);
    json_decref(j);

    r = http(port, "GET", "/api/netflow/fields", bearer, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"metrics\":[\"bytes\",\"packets\",\"flows\"]"));
    free(r.body);
    r = http(port, "GET", "/api/netflow/fields", rbearer, NULL, 0);
    expect_error(&r, 401, NULL);
    r = http(port, "POST", "/auth/refresh", NULL, rbody, strlen(rbody));
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"access_token\":\""));
    free(r.body);

    /* parameters and backends */
    r = http(port, "GET", "/api/netflow/realtime?group_by=bogus", bearer, NULL, 0);
    expect_error(&r, 400, "group_by");
    r = http(port, "GET", "/api/netflow/realtime?time_range=last_1h&group_by=protocol&x=1",
             bearer, NULL, 0);
    expect_error(&r, 400, "x");
    r = http(port, "GET", "/api/netflow/realtime?time_range=last_1h&group_by=protocol", bearer,
             NULL, 0);
    expect_error(&r, 503, NULL); /* nothing listens on the ClickHouse port */
    r = http(port, "GET", "/api/netflow/historical?time_range=last_1h&group_by=protocol",
             bearer, NULL, 0);
    expect_error(&r, 404, NULL); /* the warehouse has no table */
    r = http(port, "GET", "/api/netflow?time_range=last_7d&group_by=protocol", bearer, NULL, 0);
    expect_error(&r, 503, NULL); /* older than the hot tier, and no cold tier */

    /* login limiter: 2 failures, then 429 with Retry-After */
    const char bad[] = "{\"username\":\"admin\",\"password\":\"wrong\"}";
    for (int i = 0; i < 2; i++) {
        r = http(port, "POST", "/auth/login", NULL, bad, sizeof(bad) - 1);
        expect_error(&r, 401, NULL);
    }
    r = http(port, "POST", "/auth/login", NULL, good, sizeof(good) - 1);
    assert_true(atoi(r.retry_after) >= 1);
    expect_error(&r, 429, NULL);

    r = http(port, "GET", "/metrics", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "serviceradar_core_http_requests_total{route=\"netflow_"
                                   "realtime\",status=\"503\"} 1\n"));
    assert_non_null(strstr(r.body, "serviceradar_core_http_requests_total{route=\"auth_login\","
                                   "status=\"401\"} 2\n"));
    assert_non_null(strstr(r.body, "serviceradar_core_backend_errors_total{backend="
                                   "\"clickhouse\"} 1\n"));
    free(r.body);

    nf_core_stop(core);
    nf_core_config_free(&cfg);
    rmdir(wh);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_refused),
        cmocka_unit_test(test_server),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

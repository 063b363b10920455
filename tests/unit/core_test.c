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
#include "metrics/metrics.h"
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
    /* status.sources: each entry named by its path */
    const char *const bad_sources[][2] = {
        {"[1]", "key 'status.sources'"},
        {"{\"a\": 1}", "key 'status.sources.a'"},
        {"{\"a\": {\"url\": \"http://h:1/metrics\"}}", "key 'status.sources.a.role'"},
        {"{\"a\": {\"role\": \"router\", \"url\": \"http://h:1/\"}}",
         "key 'status.sources.a.role'"},
        {"{\"a\": {\"role\": \"poller\"}}", "key 'status.sources.a.url'"},
        {"{\"a\": {\"role\": \"poller\", \"url\": \"file:///etc/passwd\"}}",
         "key 'status.sources.a.url'"},
        {"{\"a\": {\"role\": \"poller\", \"url\": \"http://h:1/\", \"tls\": 1}}",
         "key 'status.sources.a.tls'"},
    };
    for (size_t i = 0; i < sizeof(bad_sources) / sizeof(bad_sources[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "{\"auth\": {\"enabled\": false}, \"status\": "
                 "{\"sources\": %s}}", bad_sources[i][0]);
        config_refused(text, bad_sources[i][1]);
    }
    config_refused("{\"auth\": {\"enabled\": false}, \"status\": {\"timeout\": \"1h\"}}",
                   "status.timeout");
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

/* Metrics of a fake hop for /api/netflow/status: ctx 0 a ClickHouse writer, 1 a checker,
 * 2 text that is not Prometheus. */
static void
render_hop(void *ctx, nf_metrics *m)
{
    int kind = *(const int *)ctx;
    if (kind == 0) {
        nf_metrics_counter(m, "serviceradar_netflow_clickhouse_records_total", "h", 1000);
        nf_metrics_counter(m, "serviceradar_netflow_clickhouse_records_inserted_total", "h",
                           990);
        nf_metrics_counter(m, "serviceradar_netflow_clickhouse_dead_letters_total", "h", 2);
        nf_metrics_gauge(m, "serviceradar_netflow_clickhouse_consumer_pending_messages", "h", 7);
        nf_metrics_gauge(m, "serviceradar_netflow_clickhouse_consumer_ack_pending", "h", 3);
        nf_metrics_gauge(m, "serviceradar_netflow_clickhouse_up", "h", 1);
        nf_metrics_gauge(m, "serviceradar_netflow_clickhouse_nats_up", "h", 0);
    } else if (kind == 1) {
        nf_metrics_counter(m, "netflow_checker_udp_datagrams_total", "h", 10);
        nf_metrics_counter(m, "netflow_checker_flows_decoded_total", "h", 100);
        nf_metrics_counter(m, "netflow_checker_records_sent_total", "re-reads: not used", 190);
        nf_metrics_counter(m, "netflow_checker_ring_appended_total", "h", 95);
        nf_metrics_family(m, "netflow_checker_decode_errors_total", "counter", "h");
        nf_metrics_sample(m, "netflow_checker_decode_errors_total", "reason=\"bad_length\"", 5);
        nf_metrics_sample(m, "netflow_checker_decode_errors_total", "reason=\"Bad-Thing\"", 1);
        nf_metrics_family(m, "netflow_checker_sequence_lost_total", "counter", "h");
        nf_metrics_sample(m, "netflow_checker_sequence_lost_total", "unit=\"records\"", 3);
        nf_metrics_counter(m, "netflow_checker_udp_datagrams_total", "counted twice: summed", 1);
        nf_metrics_counter(m, "unrelated_total", "ignored", 99);
    } else {
        nf_metrics_family(m, "bad name", "counter", "h");
        nf_metrics_sample(m, "bad name", NULL, 1);
    }
}

static json_t *
hop_named(json_t *status, const char *name)
{
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(status, "hops"), i, h)
        if (strcmp(json_string_value(json_object_get(h, "name")), name) == 0)
            return h;
    fail_msg("no hop %s", name);
    return NULL;
}

static json_int_t
jget(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b != NULL)
        v = json_object_get(v, b);
    if (!json_is_integer(v))
        fail_msg("%s.%s is not an integer", a, b ? b : "");
    return json_integer_value(v);
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
    static const int kinds[3] = {0, 1, 2};
    nf_metrics_server *hops[3] = {NULL};
    uint16_t hop_ports[3];
    for (int i = 0; i < 3; i++) {
        char addr[64];
        hop_ports[i] = free_port();
        snprintf(addr, sizeof(addr), "127.0.0.1:%u", hop_ports[i]);
        assert_int_equal(nf_metrics_server_start(addr, render_hop, NULL, (void *)&kinds[i],
                                                 &hops[i], &err),
                         NF_OK);
    }
    char text[4096];
    snprintf(text, sizeof(text),
             "{\"listen_addr\": \"127.0.0.1:%u\", \"netflow\": {\"clickhouse_url\": "
             "\"http://127.0.0.1:%u\", \"iceberg_catalog\": \"file://%s\", \"clickhouse_timeout\": "
             "\"2s\", \"duckdb_memory_limit\": \"256MB\", \"duckdb_threads\": 1}, "
             "\"auth\": {\"jwt_secret\": \"k3Jd8s0Qm2Zx7Lp4Vb9Nc1Hf6Tg5Ry0Wq3Ea8Uo2\", "
             "\"local_users\": {\"admin\": \"%s\"}, \"login_max_failures\": 2}, "
             "\"status\": {\"timeout\": \"1s\", \"sources\": {"
             "\"ch\": {\"role\": \"clickhouse_writer\", \"url\": \"http://127.0.0.1:%u/metrics\"}, "
             "\"edge\": {\"role\": \"checker\", \"url\": \"http://127.0.0.1:%u/metrics\"}, "
             "\"junk\": {\"role\": \"poller\", \"url\": \"http://127.0.0.1:%u/metrics\"}, "
             "\"gone\": {\"role\": \"agent\", \"url\": \"http://127.0.0.1:%u/metrics\"}}}, "
             "\"max_body_bytes\": 4096}",
             port, dead, wh, hash, hop_ports[0], hop_ports[1], hop_ports[2], dead);
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

    /* /api/netflow/status: every source reported, read or not; the tiers are down here */
    r = http(port, "GET", "/api/netflow/status", NULL, NULL, 0);
    expect_error(&r, 401, NULL);
    r = http(port, "GET", "/api/netflow/status", bearer, NULL, 0);
    assert_int_equal(r.status, 200);
    json_t *st = json_loads(r.body, 0, NULL);
    free(r.body);
    assert_non_null(st);
    assert_int_equal(json_array_size(json_object_get(st, "hops")), 4);
    json_t *h = hop_named(st, "ch");
    assert_true(json_is_true(json_object_get(h, "up")));
    assert_string_equal(json_string_value(json_object_get(h, "role")), "clickhouse_writer");
    assert_int_equal(jget(h, "received", NULL), 1000);
    assert_int_equal(jget(h, "forwarded", NULL), 990);
    assert_int_equal(jget(h, "dropped", "dead_letter_messages"), 2);
    assert_int_equal(jget(h, "lag", "pending_messages"), 7);
    assert_int_equal(jget(h, "lag", "ack_pending"), 3);
    assert_true(json_is_false(json_object_get(h, "healthy"))); /* nats_up 0 */
    h = hop_named(st, "edge");
    assert_int_equal(jget(h, "received", NULL), 11);
    assert_int_equal(jget(h, "decoded", NULL), 100);
    assert_int_equal(jget(h, "forwarded", NULL), 95);
    assert_int_equal(jget(h, "dropped", "decode_bad_length"), 5);
    assert_int_equal(jget(h, "dropped", "decode_bad_thing"), 1);
    assert_int_equal(jget(h, "dropped", "exporter_sequence_lost_records"), 3);
    assert_string_equal(json_string_value(json_object_get(json_object_get(h, "units"),
                                                          "received")),
                        "datagrams");
    assert_null(json_object_get(h, "lag"));
    assert_null(json_object_get(h, "healthy"));
    h = hop_named(st, "junk");
    assert_true(json_is_false(json_object_get(h, "up")));
    assert_non_null(strstr(json_string_value(json_object_get(h, "error")), "not Prometheus"));
    assert_null(json_object_get(h, "received"));
    h = hop_named(st, "gone");
    assert_true(json_is_false(json_object_get(h, "up")));
    assert_non_null(json_string_value(json_object_get(h, "error")));
    assert_int_equal(jget(st, "dropped_total", NULL), 2 + 5 + 1 + 3);
    json_t *tiers = json_object_get(st, "tiers");
    assert_true(json_is_false(json_object_get(json_object_get(tiers, "clickhouse"), "up")));
    assert_true(json_is_false(json_object_get(json_object_get(tiers, "iceberg"), "up")));
    assert_true(json_is_null(json_object_get(json_object_get(tiers, "iceberg"), "last_commit")));
    assert_true(json_is_string(json_object_get(st, "generated_at")));
    json_decref(st);
    for (int i = 0; i < 3; i++)
        nf_metrics_server_stop(hops[i]);

    nf_core_stop(core);
    nf_core_config_free(&cfg);
    rmdir(wh);
}

/* A REST catalog that is down when the core starts: the core starts (real-time answers do
 * not need it), historical answers are 503 until it is back. */
static void
test_catalog_down_at_start(void **state)
{
    (void)state;
    uint16_t port = free_port(), dead = free_port();
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"listen_addr\": \"127.0.0.1:%u\", \"auth\": {\"enabled\": false}, "
             "\"netflow\": {\"clickhouse_url\": \"http://127.0.0.1:%u\", \"iceberg_catalog\": "
             "\"http://127.0.0.1:%u\", \"clickhouse_timeout\": \"2s\", "
             "\"duckdb_memory_limit\": \"256MB\", \"duckdb_threads\": 1, "
             "\"iceberg_security\": {\"cert_dir\": \"/nonexistent\", "
             "\"tls\": {\"cert_file\": \"core.pem\", \"key_file\": \"core-key.pem\"}}}}",
             port, dead, dead);
    nf_core_config cfg;
    nf_err err = {0};
    assert_int_equal(nf_core_config_load_text("t.json", text, &cfg, NULL, NULL, &err), NF_OK);
    assert_string_equal(cfg.netflow.iceberg_security.tls.cert_file, "core.pem");
    nf_core *core = NULL;
    if (nf_core_start(&cfg, &core, &err) != NF_OK)
        fail_msg("the core did not start with its catalog down: %s", err.msg);
    for (int i = 0; i < 2; i++) { /* and again: the open is retried */
        reply r = http(port, "GET", "/api/netflow/historical?time_range=last_1h&group_by=protocol",
                       NULL, NULL, 0);
        expect_error(&r, 503, NULL);
    }
    reply r = http(port, "GET", "/healthz", NULL, NULL, 0);
    assert_int_equal(r.status, 200);
    free(r.body);
    nf_core_stop(core);
    nf_core_config_free(&cfg);
}

int
main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_defaults),
        cmocka_unit_test(test_config_refused),
        cmocka_unit_test(test_server),
        cmocka_unit_test(test_catalog_down_at_start),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}

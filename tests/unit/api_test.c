/* api_test.c — lib/api: query parameters (every parameter good and bad, 100+ hostile
 * inputs, each refused with NF_EINVAL naming the parameter and the output untouched), the
 * JSON and CSV answers (parsed back with jansson; exact uint64 values up to 2^64-1; CSV equal
 * to JSON row for row), the JSON error, the merge of two answers against a single-source
 * answer computed here independently, and spike detection on synthetic series.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "base/addr.h"

#define NOW 1700000000 /* 2023-11-14T22:13:20Z */
#define MIDNIGHT 1699920000 /* 2023-11-14T00:00:00Z */

#define KV(...) ((const nf_api_kv[]){__VA_ARGS__})
#define NKV(...) (sizeof((const nf_api_kv[]){__VA_ARGS__}) / sizeof(nf_api_kv))
#define PARSE_OK(...) parse_ok(KV(__VA_ARGS__), NKV(__VA_ARGS__), NF_API_AUTO)
#define REFUSED(param, ...) refused(param, KV(__VA_ARGS__), NKV(__VA_ARGS__), NF_API_AUTO, __LINE__)

/* ---- helpers ---------------------------------------------------------------------------- */

static nf_api_request
parse_ok(const nf_api_kv *kv, size_t n, nf_api_route route)
{
    nf_api_request r;
    nf_err err = {0};
    char param[NF_API_PARAM_MAX] = "untouched";
    nf_status st = nf_api_parse(kv, n, NOW, route, &r, param, &err);
    if (st != NF_OK)
        fail_msg("refused: %s", err.msg);
    assert_string_equal(param, "untouched");
    return r;
}

/* Refused with NF_EINVAL, param and message naming want, the request untouched. */
static void
refused(const char *want, const nf_api_kv *kv, size_t n, nf_api_route route, int line)
{
    nf_api_request r;
    memset(&r, 0xab, sizeof(r));
    nf_api_request before = r;
    nf_err err = {0};
    char param[NF_API_PARAM_MAX] = "untouched";
    nf_status st = nf_api_parse(kv, n, NOW, route, &r, param, &err);
    if (st != NF_EINVAL)
        fail_msg("line %d: accepted (status %d), wanted a refusal naming '%s'", line, (int)st,
                 want);
    if (strcmp(param, want) != 0)
        fail_msg("line %d: named '%s', wanted '%s' (%s)", line, param, want, err.msg);
    char prefix[NF_API_PARAM_MAX + 16];
    snprintf(prefix, sizeof(prefix), "parameter '%s': ", want);
    if (strncmp(err.msg, prefix, strlen(prefix)) != 0 || strlen(err.msg) <= strlen(prefix))
        fail_msg("line %d: message \"%s\" does not start with \"%s\"", line, err.msg, prefix);
    assert_memory_equal(&r, &before, sizeof(r));
}

/* ---- parameters: good ------------------------------------------------------------------- */

static void
test_defaults(void **state)
{
    (void)state;
    nf_api_request r = PARSE_OK({"group_by", "src_ip"});
    assert_int_equal(r.q.start, NOW + 1 - 3600);
    assert_int_equal(r.q.end, NOW + 1);
    assert_int_equal(r.q.group_by, NF_Q_SRC_ADDR);
    assert_int_equal(r.q.metric, NF_Q_BYTES);
    assert_false(r.q.unscaled);
    assert_int_equal(r.q.limit, 10);
    assert_int_equal(r.q.nfilters, 0);
    assert_false(r.q.raw_only);
    assert_int_equal(r.format, NF_API_JSON);
    assert_int_equal(r.snapshot_id, 0);
    assert_int_equal(r.as_of_ms, 0);
    assert_int_equal(r.given, NF_API_GIVEN_GROUP_BY);
}

static void
test_time_range(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        int64_t len;
    } cases[] = {
        {"last_15m", 900},      {"last_1h", 3600},          {"last_6h", 6 * 3600},
        {"last_24h", 86400},    {"last_7d", 7 * 86400},     {"last_30d", 30 * 86400},
        {"last_90d", 90 * 86400}, {"today", NOW + 1 - MIDNIGHT},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nf_api_request r = PARSE_OK({"time_range", cases[i].name}, {"group_by", "dst_port"});
        assert_int_equal(r.q.end, NOW + 1);
        assert_int_equal(r.q.end - r.q.start, cases[i].len);
        assert_int_equal(r.given, NF_API_GIVEN_TIME_RANGE | NF_API_GIVEN_GROUP_BY);
    }
    /* today at midnight exactly is one second long, never empty */
    nf_api_request r;
    nf_err err = {0};
    assert_int_equal(nf_api_parse(KV({"time_range", "today"}, {"group_by", "time"}), 2,
                                  MIDNIGHT, NF_API_AUTO, &r, NULL, &err),
                     NF_OK);
    assert_int_equal(r.q.start, MIDNIGHT);
    assert_int_equal(r.q.end, MIDNIGHT + 1);
}

static void
test_start_end(void **state)
{
    (void)state;
    static const struct {
        const char *start, *end;
        int64_t s, e;
    } cases[] = {
        {"2023-11-14T22:13:20Z", "2023-11-14T23:13:20Z", NOW, NOW + 3600},
        {"2023-11-14t22:13:20z", "2023-11-14 23:13:20Z", NOW, NOW + 3600},
        {"2023-11-15T00:13:20+02:00", "2023-11-14T18:13:20-05:00", NOW, NOW + 3600},
        {"2023-11-14T22:13:20.999Z", "2023-11-14T22:13:21.001Z", NOW, NOW + 2},
        {"2023-11-14T22:13:20.000Z", "2023-11-14T22:13:21.000000000Z", NOW, NOW + 1},
        {"1700000000", "1700003600", NOW, NOW + 3600},
        {"0", "1", 0, 1},
        {"1970-01-01T00:00:00Z", "2106-02-07T06:28:15Z", 0, 4294967295LL},
        {"2024-02-29T00:00:00Z", "2024-03-01T00:00:00Z", 1709164800, 1709251200},
        {"2000-02-29T12:00:00Z", "2000-03-01T00:00:00+05:30", 951825600, 951849000},
        {"2016-12-31T23:59:60Z", "2017-01-01T00:00:01Z", 1483228800, 1483228801},
        {"1700000000", "2023-11-14T22:13:21Z", NOW, NOW + 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nf_api_request r = PARSE_OK({"start", cases[i].start}, {"end", cases[i].end},
                                    {"group_by", "src_ip"});
        if (r.q.start != cases[i].s || r.q.end != cases[i].e)
            fail_msg("case %zu: [%" PRId64 ", %" PRId64 ") wanted [%" PRId64 ", %" PRId64 ")",
                     i, r.q.start, r.q.end, cases[i].s, cases[i].e);
        assert_int_equal(r.given, NF_API_GIVEN_START | NF_API_GIVEN_END | NF_API_GIVEN_GROUP_BY);
    }
}

static void
test_group_by(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        nf_q_field f;
    } cases[] = {
        {"src_ip", NF_Q_SRC_ADDR},   {"dst_ip", NF_Q_DST_ADDR},     {"src_addr", NF_Q_SRC_ADDR},
        {"dst_addr", NF_Q_DST_ADDR}, {"src_port", NF_Q_SRC_PORT},   {"dst_port", NF_Q_DST_PORT},
        {"protocol", NF_Q_PROTOCOL}, {"exporter", NF_Q_EXPORTER},   {"exporter_ip", NF_Q_EXPORTER},
        {"in_if", NF_Q_IN_IF},       {"out_if", NF_Q_OUT_IF},       {"src_as", NF_Q_SRC_AS},
        {"dst_as", NF_Q_DST_AS},     {"time", NF_Q_TIME},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nf_api_request r = PARSE_OK({"group_by", cases[i].name});
        assert_int_equal(r.q.group_by, cases[i].f);
        /* what the parser accepts, the SQL builder accepts */
        char *sql = NULL;
        nf_err err = {0};
        if (nf_q_build(&r.q, "netflow", &sql, &err) != NF_OK)
            fail_msg("%s: nf_q_build refused: %s", cases[i].name, err.msg);
        free(sql);
    }
}

/* Buckets lib/query counts for r. */
static uint64_t
buckets(const nf_api_request *r)
{
    return (uint64_t)(r->q.end - 1) / r->q.interval - (uint64_t)r->q.start / r->q.interval + 1;
}

static void
test_interval(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint32_t s;
    } cases[] = {
        {"60s", 60}, {"5m", 300}, {"1h", 3600}, {"1d", 86400}, {"300", 300}, {"1", 1},
        {"1h30m", 5400}, {"90s", 90}, {"2000ms", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nf_api_request r =
            PARSE_OK({"group_by", "time"}, {"interval", cases[i].text}, {"time_range", "last_15m"});
        assert_int_equal(r.q.interval, cases[i].s);
        assert_int_equal(r.given,
                         NF_API_GIVEN_GROUP_BY | NF_API_GIVEN_INTERVAL | NF_API_GIVEN_TIME_RANGE);
    }
    /* defaults: the finest of 60/300/900/3600/86400 giving at most 300 points */
    static const struct {
        const char *range;
        uint32_t s;
    } defaults[] = {
        {"last_15m", 60},  {"last_1h", 60},     {"last_6h", 300},    {"last_24h", 300},
        {"last_7d", 3600}, {"last_30d", 86400}, {"last_90d", 86400}, {"today", 300},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        nf_api_request r = PARSE_OK({"group_by", "time"}, {"time_range", defaults[i].range});
        assert_int_equal(r.q.interval, defaults[i].s);
        assert_true((r.q.end - r.q.start + r.q.interval - 1) / r.q.interval <= 300);
        char *sql = NULL;
        nf_err err = {0};
        if (nf_q_build(&r.q, "netflow", &sql, &err) != NF_OK)
            fail_msg("%s: nf_q_build refused: %s", defaults[i].range, err.msg);
        free(sql);
    }
    /* beyond 300 days: whole days */
    nf_api_request r = PARSE_OK({"group_by", "time"}, {"start", "0"}, {"end", "4294967295"});
    assert_int_equal(r.q.interval % 86400, 0);
    assert_true((r.q.end - r.q.start + r.q.interval - 1) / r.q.interval <= 300);
    assert_true((r.q.end - r.q.start) / (r.q.interval - 86400) > 300);
    assert_true(buckets(&r) <= 1000);
    /* exactly 1000 buckets is fine, 1001 not */
    r = PARSE_OK({"group_by", "time"}, {"start", "0"}, {"end", "1000"}, {"interval", "1"});
    assert_int_equal(buckets(&r), 1000);
    REFUSED("interval", {"group_by", "time"}, {"start", "0"}, {"end", "1001"}, {"interval", "1"});
}

static void
test_filters(void **state)
{
    (void)state;
    nf_api_request r =
        PARSE_OK({"filter", "src_ip=10.0.0.0/8"}, {"group_by", "dst_ip"},
                 {"filter", "dst_port=443,protocol=tcp"}, {"filter", "dst_ip=2001:db8::/32"});
    assert_int_equal(r.q.nfilters, 4);
    assert_int_equal(r.q.filters[0].field, NF_Q_SRC_ADDR);
    assert_int_equal(r.q.filters[1].field, NF_Q_DST_PORT);
    assert_int_equal(r.q.filters[1].value, 443);
    assert_int_equal(r.q.filters[2].field, NF_Q_PROTOCOL);
    assert_int_equal(r.q.filters[2].value, 6);
    assert_int_equal(r.q.filters[3].field, NF_Q_DST_ADDR);
    uint8_t lo[16];
    assert_true(nf_addr_parse("10.0.0.0", lo));
    assert_memory_equal(r.q.filters[0].lo, lo, 16);
    assert_true(nf_addr_parse("10.255.255.255", lo));
    assert_memory_equal(r.q.filters[0].hi, lo, 16);
    assert_true(r.given & NF_API_GIVEN_FILTER);

    /* 16 conditions: the limit, spread over parameters and commas */
    char many[NF_API_VALUE_MAX];
    size_t used = 0;
    for (int i = 0; i < 15; i++)
        used += (size_t)snprintf(many + used, sizeof(many) - used, "%sdst_port=%d",
                                 i ? "," : "", i);
    r = PARSE_OK({"group_by", "src_ip"}, {"filter", many}, {"filter", "in_if=7"});
    assert_int_equal(r.q.nfilters, 16);
    assert_int_equal(r.q.filters[15].field, NF_Q_IN_IF);
    REFUSED("filter", {"group_by", "src_ip"}, {"filter", many}, {"filter", "in_if=7,in_if=8"});
    REFUSED("filter", {"group_by", "src_ip"}, {"filter", many}, {"filter", "in_if=7"},
            {"filter", "out_if=1"});
}

static void
test_other_params(void **state)
{
    (void)state;
    nf_api_request r = PARSE_OK({"group_by", "protocol"}, {"metric", "packets"},
                                {"unscaled", "true"}, {"limit", "10000"}, {"format", "csv"});
    assert_int_equal(r.q.metric, NF_Q_PACKETS);
    assert_true(r.q.unscaled);
    assert_int_equal(r.q.limit, 10000);
    assert_int_equal(r.format, NF_API_CSV);
    r = PARSE_OK({"group_by", "protocol"}, {"metric", "flows"}, {"unscaled", "false"},
                 {"limit", "1"}, {"format", "json"});
    assert_int_equal(r.q.metric, NF_Q_FLOWS);
    assert_false(r.q.unscaled);
    assert_int_equal(r.q.limit, 1);
    assert_int_equal(r.format, NF_API_JSON);
    r = PARSE_OK({"group_by", "protocol"}, {"metric", "bytes"});
    assert_int_equal(r.q.metric, NF_Q_BYTES);

    /* time travel */
    r = parse_ok(KV({"group_by", "src_as"}, {"snapshot", "9223372036854775807"}), 2,
                 NF_API_HISTORICAL);
    assert_int_equal(r.snapshot_id, INT64_MAX);
    assert_int_equal(r.given, NF_API_GIVEN_GROUP_BY | NF_API_GIVEN_SNAPSHOT);
    r = parse_ok(KV({"group_by", "src_as"}, {"as_of", "2023-11-14T22:13:20Z"}), 2, NF_API_AUTO);
    assert_int_equal(r.as_of_ms, (int64_t)NOW * 1000);
    r = parse_ok(KV({"group_by", "src_as"}, {"as_of", "1700000000"}), 2, NF_API_HISTORICAL);
    assert_int_equal(r.as_of_ms, (int64_t)NOW * 1000);
    /* an instant, not a second: a snapshot committed within the second named is before it */
    r = parse_ok(KV({"group_by", "src_as"}, {"as_of", "2023-11-14T22:13:20.123456Z"}), 2,
                 NF_API_AUTO);
    assert_int_equal(r.as_of_ms, (int64_t)NOW * 1000 + 123);
    r = parse_ok(KV({"group_by", "src_as"}, {"as_of", "2023-11-14T23:13:20.5+01:00"}), 2,
                 NF_API_AUTO);
    assert_int_equal(r.as_of_ms, (int64_t)NOW * 1000 + 500);
    r = parse_ok(KV({"group_by", "src_as"}, {"as_of", "2023-11-14T22:13:20.07Z"}), 2,
                 NF_API_AUTO);
    assert_int_equal(r.as_of_ms, (int64_t)NOW * 1000 + 70);
    refused("snapshot", KV({"group_by", "src_as"}, {"snapshot", "5"}), 2, NF_API_REALTIME,
            __LINE__);
    refused("as_of", KV({"group_by", "src_as"}, {"as_of", "1700000000"}), 2, NF_API_REALTIME,
            __LINE__);
    refused("as_of", KV({"group_by", "src_as"}, {"as_of", "1"}, {"snapshot", "5"}), 3,
            NF_API_HISTORICAL, __LINE__);

    /* nothing at all: group_by is required */
    nf_err err = {0};
    char param[NF_API_PARAM_MAX];
    nf_api_request out;
    assert_int_equal(nf_api_parse(NULL, 0, NOW, NF_API_AUTO, &out, param, &err), NF_EINVAL);
    assert_string_equal(param, "group_by");
    /* the caller's faults */
    assert_int_equal(nf_api_parse(NULL, 1, NOW, NF_API_AUTO, &out, param, &err), NF_EINVAL);
    assert_string_equal(param, "");
    assert_int_equal(nf_api_parse(KV({"group_by", "time"}), 1, NOW, NF_API_AUTO, NULL, NULL, &err),
                     NF_EINVAL);
    assert_int_equal(nf_api_parse(KV({"group_by", "time"}), 1, -1, NF_API_AUTO, &out, NULL, &err),
                     NF_EINVAL);
    assert_int_equal(nf_api_parse(KV({"group_by", "time"}), 1, NOW, NF_API_AUTO, &out, NULL, NULL),
                     NF_OK);
}

/* ---- parameters: hostile ---------------------------------------------------------------- */

/* Each case is one extra parameter added to a valid top-N request (group_by=src_ip) or, with
 * group_by itself, replacing it; want is the parameter that must be named. */
static const struct {
    const char *key, *value, *want;
} hostile[] = {
    /* SQL injection and friends, in every parameter */
    {"group_by", "src_ip; DROP TABLE netflow", "group_by"},
    {"group_by", "src_ip' OR '1'='1", "group_by"},
    {"group_by", "src_ip--", "group_by"},
    {"group_by", "SRC_IP", "group_by"},
    {"group_by", "toString(src_addr)", "group_by"},
    {"group_by", "none", "group_by"},
    {"group_by", " src_ip", "group_by"},
    {"group_by", "src_ip ", "group_by"},
    {"filter", "src_ip=1.2.3.4' OR 1=1 --", "filter"},
    {"filter", "src_ip=1.2.3.4; DROP TABLE netflow", "filter"},
    {"filter", "dst_port=443 OR 1=1", "filter"},
    {"filter", "dst_port=443)", "filter"},
    {"filter", "1=1", "filter"},
    {"filter", "src_ip", "filter"},
    {"filter", "=10.0.0.1", "filter"},
    {"filter", "src_ip=", "filter"},
    {"filter", "src_ip==10.0.0.1", "filter"},
    {"filter", "src_ip!=10.0.0.1", "filter"},
    {"filter", "time=1700000000", "filter"},
    {"filter", "bogus=1", "filter"},
    {"filter", "src_ip=10.0.0.1 ", "filter"},
    {"filter", "src_ip=10.0.0.0/33", "filter"},
    {"filter", "src_ip=2001:db8::/129", "filter"},
    {"filter", "src_ip=10.0.0.0/-1", "filter"},
    {"filter", "src_ip=10.0.0.0/", "filter"},
    {"filter", "src_ip=10.0.0.0/8/8", "filter"},
    {"filter", "src_ip=10.0.0.256", "filter"},
    {"filter", "src_ip=10.0.0", "filter"},
    {"filter", "src_ip=::g", "filter"},
    {"filter", "src_ip=1:2:3:4:5:6:7:8:9", "filter"},
    {"filter", "dst_port=65536", "filter"},
    {"filter", "dst_port=-1", "filter"},
    {"filter", "dst_port=+443", "filter"},
    {"filter", "dst_port=0x1bb", "filter"},
    {"filter", "dst_port=99999999999999999999999", "filter"},
    {"filter", "protocol=256", "filter"},
    {"filter", "protocol=tcpx", "filter"},
    {"filter", "in_if=4294967296", "filter"},
    {"filter", "src_as=18446744073709551616", "filter"},
    {"filter", "src_ip=10.0.0.1,", "filter"},
    {"filter", ",src_ip=10.0.0.1", "filter"},
    {"filter", "src_ip=10.0.0.1,,dst_port=1", "filter"},
    {"filter", ",", "filter"},
    {"metric", "bytes; DROP TABLE netflow", "metric"},
    {"metric", "BYTES", "metric"},
    {"metric", "sum(bytes)", "metric"},
    {"metric", "octets", "metric"},
    {"limit", "0", "limit"},
    {"limit", "10001", "limit"},
    {"limit", "-1", "limit"},
    {"limit", "1e3", "limit"},
    {"limit", "10 OR 1=1", "limit"},
    {"limit", "18446744073709551616", "limit"},
    {"limit", "99999999999999999999999999999999", "limit"},
    {"limit", "+5", "limit"},
    {"limit", " 5", "limit"},
    {"limit", "5.0", "limit"},
    {"format", "xml", "format"},
    {"format", "JSON", "format"},
    {"format", "csv;", "format"},
    {"unscaled", "yes", "unscaled"},
    {"unscaled", "1", "unscaled"},
    {"unscaled", "TRUE", "unscaled"},
    {"time_range", "last_2h", "time_range"},
    {"time_range", "last_15m; DROP", "time_range"},
    {"time_range", "LAST_1H", "time_range"},
    {"time_range", "yesterday", "time_range"},
    {"interval", "60s", "interval"},      /* interval with a top-N */
    {"snapshot", "0", "snapshot"},
    {"snapshot", "-1", "snapshot"},
    {"snapshot", "9223372036854775808", "snapshot"},
    {"snapshot", "abc", "snapshot"},
    {"as_of", "yesterday", "as_of"},
    {"as_of", "0", "as_of"},
    {"as_of", "-5", "as_of"},
    {"as_of", "99999999999", "as_of"},
    {"as_of", "2023-02-30T00:00:00Z", "as_of"},
    /* unknown and misspelt parameters */
    {"groupby", "src_ip", "groupby"},
    {"Group_By", "src_ip", "Group_By"},
    {"filter[]", "src_ip=1.1.1.1", "filter[]"},
    {"limit ", "5", "limit "},
    {"raw_only", "true", "raw_only"},
    {"db", "system", "db"},
    {"sql", "SELECT 1", "sql"},
    {"callback", "alert", "callback"},
    {"", "x", ""},
    {"it's", "x", "it?s"},
    {"a\"b\\c", "x", "a?b?c"},
    {"\x01name", "x", "?name"},
    {"caf\xc3\xa9", "x", "caf??"},
    {"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
     "1", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"},
    /* empty values */
    {"metric", "", "metric"},
    {"filter", "", "filter"},
    {"limit", "", "limit"},
    {"format", NULL, "format"},
    {"time_range", NULL, "time_range"},
    /* control characters and other bytes in values */
    {"metric", "bytes\n", "metric"},
    {"metric", "bytes\r\nX-Injected: 1", "metric"},
    {"filter", "src_ip=10.0.0.1\t", "filter"},
    {"filter", "src_ip=10.0.0.1\x7f", "filter"},
    {"limit", "\x1b[31m5", "limit"},
    {"metric", "byt\xc3\xa9s", "metric"},
    {"filter", "src_ip=\xff\xfe", "filter"},
};

/* start/end pairs that must be refused, and which of the two is named */
static const struct {
    const char *start, *end, *want;
} bad_ranges[] = {
    {"1700003600", "1700000000", "end"},             /* reversed */
    {"1700000000", "1700000000", "end"},             /* empty */
    {"-1", "1700000000", "start"},                   /* negative */
    {"1700000000", "-1", "end"},
    {"0", "4294967296", "end"},                      /* past UInt32 */
    {"0", "99999999999999999999", "end"},            /* overflowing */
    {"18446744073709551615", "1", "start"},
    {"1969-12-31T23:59:59Z", "1970-01-01T00:00:10Z", "start"},
    {"2023-11-14T22:13:20Z", "2200-01-01T00:00:00Z", "end"},
    {"2023-13-01T00:00:00Z", "2024-01-01T00:00:00Z", "start"},
    {"2023-02-29T00:00:00Z", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-31T00:00:00Z", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T24:00:00Z", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:60:00Z", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:13:61Z", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:13:60Z", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:13:20", "2024-01-01T00:00:00Z", "start"},       /* no zone */
    {"2023-11-14", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:13:20+2:00", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:13:20+24:00", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:13:20.Z", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:13:20.1234567890Z", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:13:20ZZ", "2024-01-01T00:00:00Z", "start"},
    {"2023-11-14T22:13:20Z' OR 1=1", "2024-01-01T00:00:00Z", "start"},
    {"now()", "2024-01-01T00:00:00Z", "start"},
    {"1700000000", "now", "end"},
    {"1700000000.5", "1700003600", "start"},
    {"1e9", "1700003600", "start"},
    {"+1700000000", "1700003600", "start"},
    {"0x10", "1700003600", "start"},
    {"2023-11-14T22:13:20Z", "2023-11-14T22:13:20+00:00", "end"},
};

static void
test_hostile(void **state)
{
    (void)state;
    size_t count = 0;
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++, count++) {
        bool gb = strcmp(hostile[i].key, "group_by") == 0;
        nf_api_kv kv[2] = {{"group_by", "src_ip"}, {hostile[i].key, hostile[i].value}};
        refused(hostile[i].want, gb ? kv + 1 : kv, gb ? 1 : 2, NF_API_AUTO, 1000 + (int)i);
    }
    for (size_t i = 0; i < sizeof(bad_ranges) / sizeof(bad_ranges[0]); i++, count++) {
        nf_api_kv kv[3] = {{"start", bad_ranges[i].start}, {"end", bad_ranges[i].end},
                           {"group_by", "src_ip"}};
        refused(bad_ranges[i].want, kv, 3, NF_API_AUTO, 2000 + (int)i);
    }
    /* every control byte, in a value */
    for (int c = 1; c < 0x20; c++, count++) {
        char v[8] = "src_ip";
        v[2] = (char)c;
        refused("group_by", KV({"group_by", v}), 1, NF_API_AUTO, 3000 + c);
    }
    /* range combinations */
    REFUSED("time_range", {"time_range", "last_1h"}, {"start", "1"}, {"end", "2"},
            {"group_by", "src_ip"});
    REFUSED("time_range", {"time_range", "last_1h"}, {"end", "2"}, {"group_by", "src_ip"});
    REFUSED("end", {"start", "1"}, {"group_by", "src_ip"});
    REFUSED("start", {"end", "2"}, {"group_by", "src_ip"});
    /* interval and limit on the wrong kind */
    REFUSED("limit", {"group_by", "time"}, {"limit", "5"});
    static const char *bad_intervals[] = {"0", "0s", "500ms", "1500ms", "367d", "31622401", "abc",
                                          "-60", "5 m", "1h ", "60S", "1w", "1.5h",
                                          "99999999999999999999", "1s; DROP"};
    for (size_t i = 0; i < sizeof(bad_intervals) / sizeof(bad_intervals[0]); i++, count++)
        refused("interval", KV({"group_by", "time"}, {"interval", bad_intervals[i]}), 2,
                NF_API_AUTO, 4000 + (int)i);
    /* too many buckets */
    REFUSED("interval", {"group_by", "time"}, {"interval", "1s"}, {"time_range", "last_1h"});
    REFUSED("interval", {"group_by", "time"}, {"interval", "60s"}, {"time_range", "last_90d"});
    /* every single-valued parameter twice */
    static const char *singles[][2] = {
        {"time_range", "last_1h"}, {"start", "1"},       {"end", "2"},
        {"group_by", "src_ip"},    {"metric", "bytes"},  {"unscaled", "true"},
        {"limit", "5"},            {"format", "csv"},    {"snapshot", "1"},
        {"as_of", "1"},
    };
    for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++, count++) {
        nf_api_kv kv[3] = {{"group_by", "dst_ip"}, {singles[i][0], singles[i][1]},
                           {singles[i][0], singles[i][1]}};
        bool gb = strcmp(singles[i][0], "group_by") == 0;
        refused(singles[i][0], gb ? kv + 1 : kv, gb ? 2 : 3, NF_API_AUTO, 5000 + (int)i);
    }
    REFUSED("interval", {"group_by", "time"}, {"interval", "60s"}, {"interval", "60s"});
    /* oversized value: 1024 bytes pass the size check (and fail as a filter), 1025 do not */
    char big[NF_API_VALUE_MAX + 2];
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    nf_err err = {0};
    char param[NF_API_PARAM_MAX];
    nf_api_request out;
    assert_int_equal(nf_api_parse(KV({"group_by", "src_ip"}, {"limit", big}), 2, NOW,
                                  NF_API_AUTO, &out, param, &err),
                     NF_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 1024"));
    big[NF_API_VALUE_MAX] = '\0';
    assert_int_equal(nf_api_parse(KV({"group_by", "src_ip"}, {"limit", big}), 2, NOW,
                                  NF_API_AUTO, &out, param, &err),
                     NF_EINVAL);
    assert_null(strstr(err.msg, "longer than"));
    assert_string_equal(param, "limit");
    count += 2;
    /* too many parameters: 64 filters pass the count (and fail as too many filters), 65 not */
    nf_api_kv kv[NF_API_MAX_PARAMS + 1];
    kv[0] = (nf_api_kv){"group_by", "src_ip"};
    for (size_t i = 1; i < NF_API_MAX_PARAMS + 1; i++)
        kv[i] = (nf_api_kv){"filter", "dst_port=1"};
    refused("", kv, NF_API_MAX_PARAMS + 1, NF_API_AUTO, __LINE__);
    refused("filter", kv, NF_API_MAX_PARAMS, NF_API_AUTO, __LINE__);
    count += 2;
    assert_true(count >= 100);
    print_message("%zu hostile inputs refused\n", count);
}

/* Random parameter soup: never a crash, always NF_OK or NF_EINVAL with a name; what is
 * accepted is accepted by nf_q_build too. */
static void
test_fuzz(void **state)
{
    (void)state;
    static const char *keys[] = {"time_range", "start", "end", "group_by", "interval", "filter",
                                 "metric", "unscaled", "limit", "format", "snapshot", "as_of", "x"};
    static const char *vals[] = {"last_1h", "today", "0", "1700000000", "4294967295", "time",
                                 "src_ip", "dst_port", "60s", "1", "src_ip=10.0.0.0/8",
                                 "dst_port=443,protocol=udp", "bytes", "true", "10", "csv",
                                 "2023-11-14T22:13:20Z", "", "-1", "1d", "99999999999"};
    uint64_t seed = 42;
    size_t accepted = 0;
    for (int round = 0; round < 20000; round++) {
        nf_api_kv kv[8];
        size_t n = 0;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t want = (size_t)(seed >> 62); /* 0..3 more parameters */
        if (round % 2 == 0) /* half the rounds start from a valid request */
            kv[n++] = (nf_api_kv){"group_by", round % 4 == 0 ? "src_ip" : "time"};
        for (want += n; n < want; n++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            kv[n].key = keys[(seed >> 33) % (sizeof(keys) / sizeof(keys[0]))];
            kv[n].value = vals[(seed >> 13) % (sizeof(vals) / sizeof(vals[0]))];
        }
        nf_api_request r;
        nf_err err = {0};
        char param[NF_API_PARAM_MAX] = "";
        nf_status st = nf_api_parse(kv, n, NOW, (nf_api_route)(round % 3), &r, param, &err);
        if (st == NF_OK) {
            char *sql = NULL;
            if (nf_q_build(&r.q, "netflow", &sql, &err) != NF_OK)
                fail_msg("round %d: accepted, but nf_q_build refused: %s", round, err.msg);
            free(sql);
            accepted++;
        } else {
            assert_int_equal(st, NF_EINVAL);
            assert_int_equal(strncmp(err.msg, "parameter '", 11), 0);
        }
    }
    print_message("%zu of 20000 random requests accepted\n", accepted);
    assert_true(accepted > 2000); /* the soup reaches the accepting paths too */
}

/* ---- rendering -------------------------------------------------------------------------- */

static nf_api_row
row(const char *key, int64_t ts, uint64_t value)
{
    nf_api_row r;
    memset(&r, 0, sizeof(r));
    snprintf(r.key, sizeof(r.key), "%s", key);
    r.ts = ts;
    r.value = value;
    return r;
}

static char *
render(bool csv, const nf_api_request *req, const nf_api_row *rows, size_t n,
       const nf_api_meta *meta)
{
    char *out = NULL;
    nf_err err = {0};
    nf_status st = csv ? nf_api_render_csv(req, rows, n, meta, &out, &err)
                       : nf_api_render_json(req, rows, n, meta, &out, &err);
    if (st != NF_OK)
        fail_msg("render refused: %s", err.msg);
    return out;
}

/* Splits CSV text into lines (CRLF) and checks each against the JSON results: same columns
 * in the same order, strings quoted, numbers as their exact text. */
static void
csv_equals_json(const char *csv, const char *json_text, const char *const *cols, size_t ncols)
{
    json_error_t je;
    json_t *doc = json_loads(json_text, JSON_DECODE_INT_AS_REAL, &je);
    if (doc == NULL)
        fail_msg("JSON does not parse: %s: %s", je.text, json_text);
    json_t *results = json_object_get(doc, "results");
    assert_true(json_is_array(results));
    const char *p = csv;
    const char *eol = strstr(p, "\r\n");
    assert_non_null(eol);
    char header[256] = "";
    for (size_t c = 0; c < ncols; c++)
        snprintf(header + strlen(header), sizeof(header) - strlen(header), "%s%s", c ? "," : "",
                 cols[c]);
    assert_int_equal((size_t)(eol - p), strlen(header));
    assert_memory_equal(p, header, strlen(header));
    p = eol + 2;
    size_t i = 0;
    for (; *p != '\0'; i++) {
        eol = strstr(p, "\r\n");
        assert_non_null(eol);
        json_t *obj = json_array_get(results, i);
        assert_non_null(obj);
        assert_int_equal(json_object_size(obj), ncols);
        /* rebuild the line from the JSON object, with the exact number text from the JSON */
        char line[512] = "";
        for (size_t c = 0; c < ncols; c++) {
            json_t *v = json_object_get(obj, cols[c]);
            assert_non_null(v);
            char cell[128];
            if (json_is_string(v))
                snprintf(cell, sizeof(cell), "\"%s\"", json_string_value(v));
            else if (json_is_boolean(v))
                snprintf(cell, sizeof(cell), "%s", json_is_true(v) ? "true" : "false");
            else
                snprintf(cell, sizeof(cell), "%s", "#");
            snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s", c ? "," : "", cell);
        }
        /* numbers: compare the CSV cell text with the JSON number text */
        char got[512];
        assert_true((size_t)(eol - p) < sizeof(got));
        memcpy(got, p, (size_t)(eol - p));
        got[eol - p] = '\0';
        char *g = got, *w = line;
        for (size_t c = 0; c < ncols; c++) {
            char *gc = strchr(g, ','), *wc = strchr(w, ',');
            if (gc)
                *gc = '\0';
            if (wc)
                *wc = '\0';
            if (strcmp(w, "#") == 0) {
                /* find this number's text in the JSON: "col":<digits> in row i */
                json_t *v = json_object_get(obj, cols[c]);
                double d = json_number_value(v);
                uint64_t u = strtoull(g, NULL, 10);
                assert_true(fabs((double)u - d) <= d * 1e-15);
                char key[600];
                snprintf(key, sizeof(key), "\"%s\":%s", cols[c], g);
                assert_non_null(strstr(json_text, key));
            } else {
                assert_string_equal(g, w);
            }
            g = gc ? gc + 1 : g + strlen(g);
            w = wc ? wc + 1 : w + strlen(w);
        }
        p = eol + 2;
    }
    assert_int_equal(i, json_array_size(results));
    json_decref(doc);
}

static void
test_render_topn(void **state)
{
    (void)state;
    nf_api_request r = PARSE_OK({"group_by", "src_ip"}, {"start", "2025-04-14T12:00:00Z"},
                                {"end", "2025-04-14T13:00:00Z"}, {"limit", "5"});
    nf_api_row rows[] = {row("192.168.1.1", 0, UINT64_MAX), row("2001:db8::1", 0, 1000000),
                         row("10.0.0.1", 0, (uint64_t)INT64_MAX + 1), row("::", 0, 0)};
    nf_api_meta meta = {.backend = "clickhouse",
                        .table = "raw[1744632000,1744635600) \"q\" \xff\xfe tab\t",
                        .elapsed_ms = 12};
    char *json = render(false, &r, rows, 4, &meta);
    /* exact text of the big values */
    assert_non_null(strstr(json, "{\"src_ip\":\"192.168.1.1\",\"bytes\":18446744073709551615}"));
    assert_non_null(strstr(json, "{\"src_ip\":\"10.0.0.1\",\"bytes\":9223372036854775808}"));
    json_error_t je;
    json_t *doc = json_loads(json, JSON_DECODE_INT_AS_REAL, &je);
    if (doc == NULL)
        fail_msg("%s: %s", je.text, json);
    json_t *res = json_object_get(doc, "results");
    assert_int_equal(json_array_size(res), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(res, 1), "src_ip")),
                        "2001:db8::1");
    assert_string_equal(json_string_value(json_object_get(doc, "backend")), "clickhouse");
    assert_string_equal(json_string_value(json_object_get(doc, "table")),
                        "raw[1744632000,1744635600) \"q\" ?? tab\t");
    assert_string_equal(json_string_value(json_object_get(doc, "start")), "2025-04-14T12:00:00Z");
    assert_string_equal(json_string_value(json_object_get(doc, "end")), "2025-04-14T13:00:00Z");
    assert_string_equal(json_string_value(json_object_get(doc, "group_by")), "src_ip");
    assert_string_equal(json_string_value(json_object_get(doc, "metric")), "bytes");
    assert_true(json_number_value(json_object_get(doc, "elapsed_ms")) == 12.0);
    assert_true(json_number_value(json_object_get(doc, "limit")) == 5.0);
    assert_null(json_object_get(doc, "interval"));
    assert_null(json_object_get(doc, "snapshot_id"));
    json_decref(doc);
    /* without the big values jansson reads every integer exactly */
    doc = json_loads(strstr(json, "{\"src_ip\":\"2001"), JSON_DISABLE_EOF_CHECK, &je);
    assert_non_null(doc);
    assert_int_equal(json_integer_value(json_object_get(doc, "bytes")), 1000000);
    json_decref(doc);

    char *csv = render(true, &r, rows, 4, &meta);
    assert_string_equal(csv, "src_ip,bytes\r\n"
                             "\"192.168.1.1\",18446744073709551615\r\n"
                             "\"2001:db8::1\",1000000\r\n"
                             "\"10.0.0.1\",9223372036854775808\r\n"
                             "\"::\",0\r\n");
    const char *cols[] = {"src_ip", "bytes"};
    csv_equals_json(csv, json, cols, 2);
    free(csv);
    free(json);

    /* numeric keys are numbers; packets; snapshot id */
    r = PARSE_OK({"group_by", "dst_port"}, {"metric", "packets"});
    nf_api_row ports[] = {row("443", 0, 7), row("0", 0, 3), row("65535", 0, 1)};
    meta = (nf_api_meta){.backend = "iceberg", .snapshot_id = 123456789012345};
    json = render(false, &r, ports, 3, &meta);
    doc = json_loads(json, 0, &je);
    assert_non_null(doc);
    json_t *first = json_array_get(json_object_get(doc, "results"), 0);
    assert_int_equal(json_integer_value(json_object_get(first, "dst_port")), 443);
    assert_int_equal(json_integer_value(json_object_get(first, "packets")), 7);
    assert_int_equal(json_integer_value(json_object_get(doc, "snapshot_id")), 123456789012345);
    assert_string_equal(json_string_value(json_object_get(doc, "table")), "");
    json_decref(doc);
    csv = render(true, &r, ports, 3, &meta);
    assert_string_equal(csv, "dst_port,packets\r\n443,7\r\n0,3\r\n65535,1\r\n");
    free(csv);
    free(json);

    /* empty answer */
    json = render(false, &r, NULL, 0, &meta);
    assert_non_null(strstr(json, "{\"results\":[],"));
    free(json);
    csv = render(true, &r, NULL, 0, &meta);
    assert_string_equal(csv, "dst_port,packets\r\n");
    free(csv);

    /* rows the answer cannot carry */
    nf_err err = {0};
    char *out = (char *)"untouched";
    nf_api_row bad_port = row("443x", 0, 1);
    assert_int_equal(nf_api_render_json(&r, &bad_port, 1, &meta, &out, &err), NF_EINVAL);
    assert_int_equal(nf_api_render_csv(&r, &bad_port, 1, &meta, &out, &err), NF_EINVAL);
    nf_api_row unterminated;
    memset(&unterminated, '7', sizeof(unterminated));
    assert_int_equal(nf_api_render_json(&r, &unterminated, 1, &meta, &out, &err), NF_EINVAL);
    r = PARSE_OK({"group_by", "exporter"});
    nf_api_row bad_addr = row("10.0.0.1\"}],\"x\":1", 0, 1);
    assert_int_equal(nf_api_render_json(&r, &bad_addr, 1, &meta, &out, &err), NF_EINVAL);
    assert_string_equal(out, "untouched");
    assert_int_equal(nf_api_render_json(&r, NULL, 1, &meta, &out, &err), NF_EINVAL);
    assert_int_equal(nf_api_render_json(&r, NULL, 0, NULL, &out, &err), NF_EINVAL);
    r.q.metric = (nf_q_metric)7;
    assert_int_equal(nf_api_render_json(&r, NULL, 0, &meta, &out, &err), NF_EINVAL);
    assert_string_equal(out, "untouched");
}

static void
test_render_series(void **state)
{
    (void)state;
    nf_api_request r = PARSE_OK({"group_by", "time"}, {"start", "2025-04-14T12:00:00Z"},
                                {"end", "2025-04-14T12:05:00Z"}, {"metric", "flows"});
    assert_int_equal(r.q.interval, 60);
    nf_api_row rows[] = {row("", 1744632000, 5), row("", 1744632060, UINT64_MAX),
                         row("", 1744632240, 1)};
    bool spikes[] = {false, true, false};
    nf_api_meta meta = {.backend = "both", .table = "stitched", .elapsed_ms = 0,
                        .spikes = spikes};
    char *json = render(false, &r, rows, 3, &meta);
    assert_non_null(strstr(json, "{\"results\":[{\"timestamp\":\"2025-04-14T12:00:00Z\","
                                 "\"flows\":5,\"spike\":false},{\"timestamp\":\"2025-04-14T12:01:"
                                 "00Z\",\"flows\":18446744073709551615,\"spike\":true},"));
    json_error_t je;
    json_t *doc = json_loads(json, JSON_DECODE_INT_AS_REAL, &je);
    assert_non_null(doc);
    assert_true(json_number_value(json_object_get(doc, "interval")) == 60.0);
    assert_null(json_object_get(doc, "limit"));
    assert_string_equal(json_string_value(json_object_get(doc, "group_by")), "time");
    assert_string_equal(json_string_value(json_object_get(doc, "backend")), "both");
    json_decref(doc);
    char *csv = render(true, &r, rows, 3, &meta);
    assert_string_equal(csv, "timestamp,flows,spike\r\n"
                             "\"2025-04-14T12:00:00Z\",5,false\r\n"
                             "\"2025-04-14T12:01:00Z\",18446744073709551615,true\r\n"
                             "\"2025-04-14T12:04:00Z\",1,false\r\n");
    const char *cols[] = {"timestamp", "flows", "spike"};
    csv_equals_json(csv, json, cols, 3);
    free(csv);
    free(json);
    /* without spikes: no spike column */
    meta.spikes = NULL;
    csv = render(true, &r, rows, 1, &meta);
    assert_string_equal(csv, "timestamp,flows\r\n\"2025-04-14T12:00:00Z\",5\r\n");
    json = render(false, &r, rows, 1, &meta);
    const char *cols2[] = {"timestamp", "flows"};
    csv_equals_json(csv, json, cols2, 2);
    free(csv);
    free(json);
    /* bucket times outside four-digit years */
    nf_err err = {0};
    char *out = NULL;
    nf_api_row bad = row("", -1, 1);
    assert_int_equal(nf_api_render_json(&r, &bad, 1, &meta, &out, &err), NF_EINVAL);
    bad.ts = 253402300800;
    assert_int_equal(nf_api_render_csv(&r, &bad, 1, &meta, &out, &err), NF_EINVAL);
    assert_null(out);
}

static void
test_render_error(void **state)
{
    (void)state;
    char *e = nf_api_render_error("filter", "parameter 'filter': bad \"x\"\n\xc3");
    json_error_t je;
    json_t *doc = json_loads(e, 0, &je);
    assert_non_null(doc);
    json_t *obj = json_object_get(doc, "error");
    assert_string_equal(json_string_value(json_object_get(obj, "message")),
                        "parameter 'filter': bad \"x\"\n?");
    assert_string_equal(json_string_value(json_object_get(obj, "parameter")), "filter");
    json_decref(doc);
    free(e);
    e = nf_api_render_error(NULL, NULL);
    assert_string_equal(e, "{\"error\":{\"message\":\"error\",\"parameter\":null}}");
    free(e);
    e = nf_api_render_error("", "too many");
    assert_string_equal(e, "{\"error\":{\"message\":\"too many\",\"parameter\":null}}");
    free(e);
    /* straight from a parse refusal */
    nf_err err = {0};
    char param[NF_API_PARAM_MAX];
    nf_api_request out;
    assert_int_equal(nf_api_parse(KV({"group_by", "src_ip"}, {"limit", "0"}), 2, NOW,
                                  NF_API_AUTO, &out, param, &err),
                     NF_EINVAL);
    e = nf_api_render_error(param, err.msg);
    doc = json_loads(e, 0, &je);
    obj = json_object_get(doc, "error");
    assert_string_equal(json_string_value(json_object_get(obj, "parameter")), "limit");
    assert_string_equal(json_string_value(json_object_get(obj, "message")), err.msg);
    json_decref(doc);
    free(e);
}

/* ---- merge ------------------------------------------------------------------------------ */

typedef struct flow {
    uint32_t key; /* address 10.0.x.y or port */
    int64_t ts;
    uint64_t value;
} flow;

/* Independent oracle: the answer one source holding all flows would give. Aggregates with a
 * plain O(n·k) scan, ranks by value desc then key (addresses by bytes = numerically here). */
static size_t
oracle(const nf_api_request *r, const flow *f, size_t n, bool addr, nf_api_row *out, size_t max)
{
    /* dense accumulation over the small id space (keys < 70000, buckets from start) */
    size_t k = 0;
    static uint64_t acc[70000];
    static bool seen[70000];
    memset(acc, 0, sizeof(acc));
    memset(seen, 0, sizeof(seen));
    for (size_t i = 0; i < n; i++) {
        size_t id = r->q.group_by == NF_Q_TIME
                        ? (size_t)((f[i].ts - r->q.start) / r->q.interval)
                        : f[i].key;
        acc[id] += f[i].value;
        seen[id] = true;
    }
    for (size_t id = 0; id < 70000; id++) {
        if (!seen[id])
            continue;
        assert_true(k < max);
        nf_api_row x;
        memset(&x, 0, sizeof(x));
        if (r->q.group_by == NF_Q_TIME)
            x.ts = r->q.start + (int64_t)id * r->q.interval;
        else if (addr)
            snprintf(x.key, sizeof(x.key), "10.0.%zu.%zu", id >> 8, id & 255);
        else
            snprintf(x.key, sizeof(x.key), "%zu", id);
        x.value = acc[id];
        out[k++] = x;
    }
    if (r->q.group_by != NF_Q_TIME) {
        /* insertion sort by value desc, id asc (ids ascending already: stable) */
        for (size_t i = 1; i < k; i++) {
            nf_api_row x = out[i];
            size_t j = i;
            while (j > 0 && out[j - 1].value < x.value) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = x;
        }
        if (k > r->q.limit)
            k = r->q.limit;
    }
    return k;
}

static void
check_merge(const char *group_by, bool addr, uint32_t seed0)
{
    nf_api_request r =
        PARSE_OK({"group_by", group_by}, {"start", "1700000000"}, {"end", "1700086400"},
                 {"limit", "50"});
    static flow flows[4000];
    uint64_t seed = seed0;
    for (size_t i = 0; i < 4000; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        flows[i].key = (uint32_t)((seed >> 33) % 300);
        flows[i].ts = r.q.start + (int64_t)((seed >> 11) % 86400);
        flows[i].value = (seed >> 40) % 100000;
    }
    int64_t cut = r.q.start + 50000;
    static nf_api_row all[70000], a[70000], b[70000];
    size_t nall = oracle(&r, flows, 4000, addr, all, 70000);
    /* each part answered completely (limit 10000 > keys) */
    nf_api_request part = r;
    part.q.limit = 10000;
    static flow fa[4000], fb[4000];
    size_t nfa = 0, nfb = 0;
    for (size_t i = 0; i < 4000; i++) {
        if (flows[i].ts < cut)
            fa[nfa++] = flows[i];
        else
            fb[nfb++] = flows[i];
    }
    size_t na = oracle(&part, fa, nfa, addr, a, 70000);
    size_t nb = oracle(&part, fb, nfb, addr, b, 70000);
    nf_api_row *m = NULL;
    size_t nm = 0;
    nf_err err = {0};
    assert_int_equal(nf_api_merge(&r, a, na, b, nb, &m, &nm, &err), NF_OK);
    assert_int_equal(nm, nall);
    for (size_t i = 0; i < nm; i++) {
        if (strcmp(m[i].key, all[i].key) != 0 || m[i].value != all[i].value || m[i].ts != all[i].ts)
            fail_msg("%s row %zu: %s %" PRId64 " %" PRIu64 " wanted %s %" PRId64 " %" PRIu64,
                     group_by, i, m[i].key, m[i].ts, m[i].value, all[i].key, all[i].ts,
                     all[i].value);
    }
    free(m);
    /* argument order does not matter */
    assert_int_equal(nf_api_merge(&r, b, nb, a, na, &m, &nm, &err), NF_OK);
    assert_int_equal(nm, nall);
    for (size_t i = 0; i < nm; i++)
        assert_true(m[i].value == all[i].value && m[i].ts == all[i].ts);
    free(m);
}

static void
test_merge(void **state)
{
    (void)state;
    check_merge("src_ip", true, 1);
    check_merge("dst_port", false, 2);
    /* time series through the same path: limit is not applied to series */
    {
        nf_api_request r = PARSE_OK({"group_by", "time"}, {"start", "1700000100"},
                                    {"end", "1700086500"}, {"interval", "5m"});
        static flow flows[3000];
        uint64_t seed = 3;
        for (size_t i = 0; i < 3000; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            flows[i].key = 0;
            /* bucket-aligned times, so oracle ids are bucket numbers */
            flows[i].ts = r.q.start / 300 * 300 + (int64_t)((seed >> 20) % 288) * 300;
            flows[i].value = (seed >> 40) % 1000;
        }
        nf_api_request rr = r;
        rr.q.start = r.q.start / 300 * 300;
        static nf_api_row all[1000], a[1000], b[1000];
        size_t nall = oracle(&rr, flows, 3000, false, all, 1000);
        static flow fa[3000], fb[3000];
        size_t nfa = 0, nfb = 0;
        int64_t cut = rr.q.start + 100 * 300;
        for (size_t i = 0; i < 3000; i++) {
            if (flows[i].ts < cut)
                fa[nfa++] = flows[i];
            else
                fb[nfb++] = flows[i];
        }
        size_t na = oracle(&rr, fa, nfa, false, a, 1000);
        size_t nb = oracle(&rr, fb, nfb, false, b, 1000);
        nf_api_row *m = NULL;
        size_t nm = 0;
        nf_err err = {0};
        assert_int_equal(nf_api_merge(&r, b, nb, a, na, &m, &nm, &err), NF_OK);
        assert_int_equal(nm, nall);
        assert_true(nm > 50);
        for (size_t i = 0; i < nm; i++)
            assert_true(m[i].ts == all[i].ts && m[i].value == all[i].value);
        free(m);
        /* overlapping buckets (the cut inside a bucket) are summed */
        nf_api_row x[] = {row("", 600, 5), row("", 900, 1)};
        nf_api_row y[] = {row("", 300, 2), row("", 900, UINT64_MAX)};
        assert_int_equal(nf_api_merge(&r, x, 2, y, 2, &m, &nm, &err), NF_OK);
        assert_int_equal(nm, 3);
        assert_true(m[0].ts == 300 && m[0].value == 2);
        assert_true(m[1].ts == 600 && m[1].value == 5);
        assert_true(m[2].ts == 900 && m[2].value == 0); /* wraps modulo 2^64 */
        free(m);
    }
    /* one key in two spellings; ties ranked by key bytes; limit */
    nf_api_request r = PARSE_OK({"group_by", "dst_ip"}, {"limit", "3"});
    nf_api_row a[] = {row("::ffff:10.0.0.1", 0, 5), row("2001:db8::1", 0, 7),
                      row("10.0.0.9", 0, 7)};
    nf_api_row b[] = {row("10.0.0.1", 0, 5), row("10.0.0.2", 0, 1)};
    nf_api_row *m = NULL;
    size_t nm = 0;
    nf_err err = {0};
    assert_int_equal(nf_api_merge(&r, a, 3, b, 2, &m, &nm, &err), NF_OK);
    assert_int_equal(nm, 3);
    assert_string_equal(m[0].key, "::ffff:10.0.0.1");
    assert_int_equal(m[0].value, 10);
    assert_string_equal(m[1].key, "10.0.0.9"); /* ::ffff:10.0.0.9 < 2001:db8::1 */
    assert_string_equal(m[2].key, "2001:db8::1");
    free(m);
    /* empty, and bad input */
    m = (nf_api_row *)&err;
    assert_int_equal(nf_api_merge(&r, NULL, 0, NULL, 0, &m, &nm, &err), NF_OK);
    assert_null(m);
    assert_int_equal(nm, 0);
    nf_api_row bad[] = {row("10.0.0.1/8", 0, 1)};
    m = NULL;
    assert_int_equal(nf_api_merge(&r, a, 3, bad, 1, &m, &nm, &err), NF_EINVAL);
    assert_null(m);
    assert_int_equal(nf_api_merge(&r, NULL, 1, NULL, 0, &m, &nm, &err), NF_EINVAL);
    r.q.group_by = NF_Q_NONE;
    assert_int_equal(nf_api_merge(&r, a, 3, b, 2, &m, &nm, &err), NF_EINVAL);
}

/* ---- spikes ----------------------------------------------------------------------------- */

static size_t
spikes(const nf_api_row *s, size_t n, uint32_t interval, bool *flags)
{
    size_t k = 99;
    nf_err err = {0};
    if (nf_api_spikes(s, n, interval, flags, &k, &err) != NF_OK)
        fail_msg("refused: %s", err.msg);
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += flags[i];
    assert_int_equal(c, k);
    return k;
}

/* Deterministic normal noise (sum of 12 uniforms − 6: mean 0, sd 1). */
static double
noise(uint64_t *seed)
{
    double s = 0;
    for (int i = 0; i < 12; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        s += (double)(*seed >> 11) / 9007199254740992.0;
    }
    return s - 6.0;
}

static void
test_spikes(void **state)
{
    (void)state;
    static nf_api_row s[600];
    static bool f[600];
    /* flat + one spike */
    for (size_t i = 0; i < 100; i++)
        s[i] = row("", 1700000000 - 1700000000 % 60 + (int64_t)i * 60, 1000);
    s[40].value = 5000;
    assert_int_equal(spikes(s, 100, 60, f), 1);
    assert_true(f[40]);
    /* ... and a collapse */
    s[70].value = 0;
    assert_int_equal(spikes(s, 100, 60, f), 2);
    assert_true(f[40] && f[70]);
    /* a flat series with small wiggles: the relative floor keeps it quiet */
    for (size_t i = 0; i < 100; i++)
        s[i].value = 1000 + (i % 3);
    assert_int_equal(spikes(s, 100, 60, f), 0);
    /* trend + spike (the window follows the trend; the ends included) */
    for (size_t i = 0; i < 200; i++)
        s[i] = row("", (int64_t)i * 300, 10000 + 100 * i);
    s[120].value += 8000;
    assert_int_equal(spikes(s, 200, 300, f), 1);
    assert_true(f[120]);
    /* noise without spikes: none; with 3 departures of 40..80 sd (and 40..80 %): those */
    uint64_t seed = 7;
    for (size_t i = 0; i < 600; i++)
        s[i] = row("", (int64_t)i * 60, (uint64_t)llround(100000 + 1000 * noise(&seed)));
    assert_int_equal(spikes(s, 600, 60, f), 0);
    s[10].value += 50000;
    s[300].value -= 40000;
    s[599].value += 80000;
    assert_int_equal(spikes(s, 600, 60, f), 3);
    assert_true(f[10] && f[300] && f[599]);
    /* daily cycle (sine) + noise at 1 h over 30 days: no spikes; then one */
    seed = 11;
    for (size_t i = 0; i < 600; i++)
        s[i] = row("", (int64_t)i * 3600,
                   (uint64_t)llround(1e6 + 2e5 * sin(2 * M_PI * (double)i / 24.0) +
                                     5e3 * noise(&seed)));
    assert_int_equal(spikes(s, 600, 3600, f), 0);
    s[333].value *= 3;
    assert_int_equal(spikes(s, 600, 3600, f), 1);
    assert_true(f[333]);
    /* short series: nothing, however wild */
    nf_api_row shortser[8];
    bool sf[8] = {true, true, true, true, true, true, true, true};
    for (int64_t t = 0; t < 8; t++)
        shortser[t] = row("", t * 60, t == 1 ? 1000000 : 10);
    assert_int_equal(spikes(shortser, 7, 60, sf), 0); /* 7 buckets */
    for (size_t i = 0; i < 7; i++)
        assert_false(sf[i]);
    /* one more bucket: a baseline */
    assert_int_equal(spikes(shortser, 8, 60, sf), 1);
    assert_true(sf[1]);
    /* missing buckets count as 0: five of them next to steady rows flag nothing, a burst
     * after them is still a spike */
    size_t ns = 0;
    for (int64_t t = 0; t < 22; t++)
        if (t < 5 || t > 9)
            s[ns++] = row("", t * 60, t == 12 ? 100000 : 10);
    assert_int_equal(spikes(s, ns, 60, f), 1);
    assert_true(f[7]); /* t = 12 */
    /* bad input */
    nf_err err = {0};
    nf_api_row unsorted[] = {row("", 120, 1), row("", 60, 1)};
    bool uf[2];
    assert_int_equal(nf_api_spikes(unsorted, 2, 60, uf, NULL, &err), NF_EINVAL);
    nf_api_row offgrid[] = {row("", 0, 1), row("", 90, 1)};
    assert_int_equal(nf_api_spikes(offgrid, 2, 60, uf, NULL, &err), NF_EINVAL);
    assert_int_equal(nf_api_spikes(offgrid, 2, 0, uf, NULL, &err), NF_EINVAL);
    nf_api_row huge[] = {row("", 0, 1), row("", (int64_t)60 * (NF_API_SPIKE_MAX_GRID + 1), 1)};
    assert_int_equal(nf_api_spikes(huge, 2, 60, uf, NULL, &err), NF_EINVAL);
    nf_api_row extreme[] = {row("", INT64_MIN, 1), row("", INT64_MAX, 1)};
    assert_int_equal(nf_api_spikes(extreme, 2, 1, uf, NULL, &err), NF_EINVAL);
    assert_int_equal(nf_api_spikes(NULL, 0, 60, NULL, NULL, &err), NF_OK);
}

/* ---- /api/netflow/flows ---------------------------------------------------------------- */

#define FLOWS_OK(...) parse_ok(KV(__VA_ARGS__), NKV(__VA_ARGS__), NF_API_FLOWS)
#define FLOWS_REFUSED(param, ...)                                                               \
    refused(param, KV(__VA_ARGS__), NKV(__VA_ARGS__), NF_API_FLOWS, __LINE__)

static void
test_flows_params(void **state)
{
    (void)state;
    nf_api_request r = parse_ok(NULL, 0, NF_API_FLOWS);
    assert_int_equal(r.q.group_by, NF_Q_NONE);
    assert_int_equal(r.q.limit, 100);
    assert_int_equal(r.q.end - r.q.start, 3600);
    r = FLOWS_OK({"time_range", "last_15m"}, {"limit", "1000"}, {"filter", "dst_port=443"},
                 {"filter", "src_ip=10.0.0.0/8,protocol=tcp"}, {"format", "csv"});
    assert_int_equal(r.q.limit, 1000);
    assert_int_equal(r.q.nfilters, 3);
    assert_int_equal(r.format, NF_API_CSV);
    FLOWS_REFUSED("limit", {"limit", "1001"});
    FLOWS_REFUSED("limit", {"limit", "0"});
    FLOWS_REFUSED("group_by", {"group_by", "src_ip"});
    FLOWS_REFUSED("interval", {"interval", "60"});
    FLOWS_REFUSED("metric", {"metric", "bytes"});
    FLOWS_REFUSED("unscaled", {"unscaled", "true"});
    FLOWS_REFUSED("snapshot", {"snapshot", "5"});
    FLOWS_REFUSED("as_of", {"as_of", "1700000000"});
    FLOWS_REFUSED("filter", {"filter", "src_ip=1.2.3.4'--"});
    FLOWS_REFUSED("time_range", {"time_range", "last_2y"});
    FLOWS_REFUSED("bogus", {"bogus", "1"});
    /* what is accepted, lib/query builds */
    char *sql = NULL;
    nf_err err = {0};
    assert_int_equal(nf_q_build_flows(&r.q, "netflow", &sql, &err), NF_OK);
    assert_non_null(strstr(sql, "ORDER BY timestamp DESC"));
    assert_non_null(strstr(sql, "LIMIT 1000"));
    assert_non_null(strstr(sql, "dst_port = 443"));
    free(sql);
    r.q.limit = 1001;
    assert_int_equal(nf_q_build_flows(&r.q, "netflow", &sql, &err), NF_EINVAL);
    r.q.limit = 5;
    assert_int_equal(nf_q_build_flows(&r.q, "net;flow", &sql, &err), NF_EINVAL);
    r.q.end = r.q.start;
    assert_int_equal(nf_q_build_flows(&r.q, "netflow", &sql, &err), NF_EINVAL);
}

static void
test_render_flows(void **state)
{
    (void)state;
    nf_api_request r = FLOWS_OK({"start", "1700000000"}, {"end", "1700003600"}, {"limit", "3"});
    nf_api_flow f[2];
    memset(f, 0, sizeof(f));
    f[0] = (nf_api_flow){.ts = 1700003599, .src = "10.1.2.3", .dst = "2001:db8::1",
                         .exporter = "192.0.2.1", .src_port = 51000, .dst_port = 443,
                         .protocol = 6, .bytes = UINT64_MAX, .packets = 7, .in_if = 4294967295u,
                         .out_if = 2, .sampling_rate = 100};
    f[1] = (nf_api_flow){.ts = 1700000000, .src = "::", .dst = "0.0.0.0", .exporter = "::1",
                         .protocol = 17, .bytes = 1, .packets = 1, .sampling_rate = 1};
    nf_api_meta meta = {.backend = "clickhouse", .table = "netflow", .elapsed_ms = 4};
    char *json = NULL, *csv = NULL;
    nf_err err = {0};
    assert_int_equal(nf_api_render_flows(&r, f, 2, &meta, false, &json, &err), NF_OK);
    assert_int_equal(nf_api_render_flows(&r, f, 2, &meta, true, &csv, &err), NF_OK);
    assert_non_null(strstr(json, "{\"timestamp\":\"2023-11-14T23:13:19Z\",\"src_ip\":\"10.1.2.3\","
                                 "\"dst_ip\":\"2001:db8::1\",\"src_port\":51000,\"dst_port\":443,"
                                 "\"protocol\":6,\"bytes\":18446744073709551615,\"packets\":7,"
                                 "\"exporter\":\"192.0.2.1\",\"in_if\":4294967295,\"out_if\":2,"
                                 "\"sampling_rate\":100}"));
    assert_non_null(strstr(json, "\"limit\":3}"));
    static const char *const cols[] = {"timestamp", "src_ip", "dst_ip", "src_port", "dst_port",
                                       "protocol", "bytes", "packets", "exporter", "in_if",
                                       "out_if", "sampling_rate"};
    csv_equals_json(csv, json, cols, 12);
    free(json);
    free(csv);
    /* a row the answer cannot carry */
    snprintf(f[1].dst, sizeof(f[1].dst), "%s", "not-an-address");
    assert_int_equal(nf_api_render_flows(&r, f, 2, &meta, false, &json, &err), NF_EINVAL);
    assert_non_null(strstr(err.msg, "dst_ip"));
    f[1].dst[0] = '\0';
    assert_int_equal(nf_api_render_flows(&r, f, 2, &meta, true, &csv, &err), NF_EINVAL);
    snprintf(f[1].dst, sizeof(f[1].dst), "%s", "1.2.3.4");
    f[1].ts = -1;
    assert_int_equal(nf_api_render_flows(&r, f, 2, &meta, false, &json, &err), NF_EINVAL);
    assert_int_equal(nf_api_render_flows(&r, NULL, 0, &meta, false, &json, &err), NF_OK);
    assert_non_null(strstr(json, "{\"results\":[],"));
    free(json);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),      cmocka_unit_test(test_time_range),
        cmocka_unit_test(test_start_end),     cmocka_unit_test(test_group_by),
        cmocka_unit_test(test_interval),      cmocka_unit_test(test_filters),
        cmocka_unit_test(test_other_params),  cmocka_unit_test(test_hostile),
        cmocka_unit_test(test_fuzz),          cmocka_unit_test(test_render_topn),
        cmocka_unit_test(test_render_series), cmocka_unit_test(test_render_error),
        cmocka_unit_test(test_merge),         cmocka_unit_test(test_spikes),
        cmocka_unit_test(test_flows_params),  cmocka_unit_test(test_render_flows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

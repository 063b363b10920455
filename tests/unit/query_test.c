/* query_test.c — lib/query: the text parsers (fields, metrics, filters with CIDR ranges),
 * request validation, the plan (which tables answer which part of the range, read back
 * through nf_q_explain) and the SQL text.
 *
 * The plan tests check the rules of build.c's design notes from the outside: parts tile
 * [start, end) without gaps or overlaps, rollup parts are aligned to their resolution, a
 * time series uses a resolution only when its interval is a multiple of it, and a rollup
 * family is used only when every grouped or filtered field is one of its dims (the dims
 * are written out again here from docs/clickhouse.md, as an independent oracle).
 * Whether ClickHouse gives equal answers for those plans is the integration test's job
 * (tests/tools/chquery).
 *
 * The SQL tests check that nothing but the typed request reaches the SQL: random valid
 * requests, and requests built from random text through the parsers, give SQL made only of
 * the characters the builder itself writes, whose only quoted literals are hex.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/nf_status.h"
#include "query/query.h"

#define T0 1700000000 /* 2023-11-14 22:13:20 UTC: 100 s before a 5-min edge, 800 s into its hour */
#define H0 1699999200 /* the hour T0 lies in */

/* ---- helpers ------------------------------------------------------------------------ */

static nf_q_filter
filter_ok(const char *text)
{
    nf_q_filter f;
    nf_err err = {0};
    nf_status st = nf_q_parse_filter(text, "filter", &f, &err);
    if (st != NF_OK)
        fail_msg("\"%s\" refused: %s", text, err.msg);
    return f;
}

/* True if text is refused with NF_EINVAL, a message that starts with "param: ", and the
 * output untouched. */
static bool
filter_refused(const char *text)
{
    nf_q_filter f;
    memset(&f, 0xa5, sizeof(f));
    nf_q_filter before = f;
    nf_err err = {0};
    if (nf_q_parse_filter(text, "filter", &f, &err) != NF_EINVAL)
        return false;
    return strncmp(err.msg, "filter: ", 8) == 0 && memcmp(&f, &before, sizeof(f)) == 0;
}

static void
hex16(const char *hex, uint8_t out[16])
{
    for (int i = 0; i < 16; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void
assert_range(const nf_q_filter *f, const char *lo_hex, const char *hi_hex)
{
    uint8_t lo[16], hi[16];
    hex16(lo_hex, lo);
    hex16(hi_hex, hi);
    assert_memory_equal(f->lo, lo, 16);
    assert_memory_equal(f->hi, hi, 16);
}

static nf_q_request
top(nf_q_field by, int64_t start, int64_t end)
{
    nf_q_request r;
    memset(&r, 0, sizeof(r));
    r.start = start;
    r.end = end;
    r.group_by = by;
    r.metric = NF_Q_BYTES;
    r.limit = 10;
    return r;
}

static nf_q_request
series(uint32_t interval, int64_t start, int64_t end)
{
    nf_q_request r = top(NF_Q_TIME, start, end);
    r.interval = interval;
    return r;
}

static void
add_filter(nf_q_request *r, const char *text)
{
    r->filters[r->nfilters++] = filter_ok(text);
}

/* The plan as text; fails the test if explain refuses. */
static const char *
plan_of(const nf_q_request *r)
{
    static char buf[1024];
    nf_err err = {0};
    nf_status st = nf_q_explain(r, buf, sizeof(buf), &err);
    if (st != NF_OK)
        fail_msg("explain refused: %s", err.msg);
    return buf;
}

static void
assert_plan(const nf_q_request *r, const char *want)
{
    const char *got = plan_of(r);
    if (strcmp(got, want) != 0)
        fail_msg("plan\n  got:  %s\n  want: %s", got, want);
}

static char *
sql_of(const nf_q_request *r)
{
    char *sql = NULL;
    nf_err err = {0};
    nf_status st = nf_q_build(r, "netflow", &sql, &err);
    if (st != NF_OK)
        fail_msg("build refused: %s", err.msg);
    return sql;
}

/* Both nf_q_build and nf_q_explain refuse r with NF_EINVAL and a message starting with
 * "member", and leave the output pointer alone. */
static void
assert_invalid(const nf_q_request *r, const char *member)
{
    nf_err err = {0};
    char *sql = (char *)"untouched";
    assert_int_equal(nf_q_build(r, "netflow", &sql, &err), NF_EINVAL);
    assert_string_equal(sql, "untouched");
    if (strncmp(err.msg, member, strlen(member)) != 0)
        fail_msg("build: \"%s\" does not name %s", err.msg, member);
    char buf[256];
    memset(&err, 0, sizeof(err));
    assert_int_equal(nf_q_explain(r, buf, sizeof(buf), &err), NF_EINVAL);
    if (strncmp(err.msg, member, strlen(member)) != 0)
        fail_msg("explain: \"%s\" does not name %s", err.msg, member);
}

static bool
contains(const char *hay, const char *needle)
{
    return strstr(hay, needle) != NULL;
}

static size_t
count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

/* xorshift64*: deterministic, so a failing case can be replayed from its seed. */
static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1DULL;
}

static uint64_t
rnd_below(uint64_t *s, uint64_t n)
{
    return rnd(s) % n;
}

/* ---- field and metric names ----------------------------------------------------------- */

static void
test_field_names(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        nf_q_field f;
    } cases[] = {
        {"src_ip", NF_Q_SRC_ADDR},    {"src_addr", NF_Q_SRC_ADDR}, {"dst_ip", NF_Q_DST_ADDR},
        {"dst_addr", NF_Q_DST_ADDR},  {"src_port", NF_Q_SRC_PORT}, {"dst_port", NF_Q_DST_PORT},
        {"protocol", NF_Q_PROTOCOL},  {"exporter", NF_Q_EXPORTER}, {"exporter_ip", NF_Q_EXPORTER},
        {"in_if", NF_Q_IN_IF},        {"out_if", NF_Q_OUT_IF},     {"src_as", NF_Q_SRC_AS},
        {"dst_as", NF_Q_DST_AS},      {"time", NF_Q_TIME},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nf_q_field f = NF_Q_NONE;
        nf_err err = {0};
        assert_int_equal(nf_q_parse_field(cases[i].text, "group_by", &f, &err), NF_OK);
        assert_int_equal(f, cases[i].f);
    }
}

static void
test_field_name_roundtrip(void **state)
{
    (void)state;
    for (int f = NF_Q_SRC_ADDR; f <= NF_Q_TIME; f++) {
        nf_q_field back = NF_Q_NONE;
        assert_int_equal(nf_q_parse_field(nf_q_field_name((nf_q_field)f), "p", &back, NULL),
                         NF_OK);
        assert_int_equal(back, f);
    }
    assert_string_equal(nf_q_field_name(NF_Q_SRC_ADDR), "src_ip");
    assert_string_equal(nf_q_field_name(NF_Q_DST_ADDR), "dst_ip");
    assert_string_equal(nf_q_field_name(NF_Q_NONE), "none");
    assert_string_equal(nf_q_field_name((nf_q_field)99), "none");
    assert_string_equal(nf_q_field_name((nf_q_field)-1), "none");
}

static void
test_field_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "SRC_IP", "Src_ip", " src_ip", "src_ip ", "src", "src_ipx", "none", "src_ip=1",
        "ts", "timestamp", "bytes", "src_ip\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        nf_q_field f = (nf_q_field)77;
        nf_err err = {0};
        assert_int_equal(nf_q_parse_field(bad[i], "group_by", &f, &err), NF_EINVAL);
        assert_int_equal(f, 77);
        assert_true(strncmp(err.msg, "group_by: unknown field", 23) == 0);
        assert_true(contains(err.msg, "src_ip, dst_ip")); /* says what would do */
    }
    nf_q_field f;
    nf_err err = {0};
    assert_int_equal(nf_q_parse_field(NULL, "group_by", &f, &err), NF_EINVAL);
    assert_string_equal(err.msg, "group_by: missing");
}

static void
test_metric_names(void **state)
{
    (void)state;
    nf_q_metric m = (nf_q_metric)9;
    nf_err err = {0};
    assert_int_equal(nf_q_parse_metric("bytes", "metric", &m, &err), NF_OK);
    assert_int_equal(m, NF_Q_BYTES);
    assert_int_equal(nf_q_parse_metric("packets", "metric", &m, &err), NF_OK);
    assert_int_equal(m, NF_Q_PACKETS);
    assert_int_equal(nf_q_parse_metric("flows", "metric", &m, &err), NF_OK);
    assert_int_equal(m, NF_Q_FLOWS);
    static const char *const bad[] = {"", "Bytes", "byte", "bytes ", "bits", "flows;"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = (nf_q_metric)9;
        assert_int_equal(nf_q_parse_metric(bad[i], "metric", &m, &err), NF_EINVAL);
        assert_int_equal(m, 9);
        assert_true(strncmp(err.msg, "metric: ", 8) == 0);
    }
    assert_int_equal(nf_q_parse_metric(NULL, "m", &m, &err), NF_EINVAL);
}

/* ---- filters: numbers ----------------------------------------------------------------- */

static void
test_filter_ports(void **state)
{
    (void)state;
    nf_q_filter f = filter_ok("dst_port=443");
    assert_int_equal(f.field, NF_Q_DST_PORT);
    assert_int_equal(f.value, 443);
    assert_int_equal(filter_ok("src_port=0").value, 0);
    assert_int_equal(filter_ok("src_port=65535").value, 65535);
    assert_int_equal(filter_ok("src_port=65535").field, NF_Q_SRC_PORT);
    static const char *const bad[] = {
        "dst_port=65536", "dst_port=-1",  "dst_port=+1",  "dst_port= 1",  "dst_port=1 ",
        "dst_port=1x",    "dst_port=",    "dst_port=0x1", "dst_port=1.0", "dst_port=https",
        "src_port=-0",    "src_port=1e3", "dst_port=99999999999999999999999",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!filter_refused(bad[i]))
            fail_msg("accepted %s", bad[i]);
}

static void
test_filter_protocol(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t v;
    } good[] = {
        {"protocol=0", 0},      {"protocol=6", 6},     {"protocol=255", 255},
        {"protocol=tcp", 6},    {"protocol=udp", 17},  {"protocol=icmp", 1},
        {"protocol=icmpv6", 58}, {"protocol=gre", 47}, {"protocol=esp", 50},
        {"protocol=sctp", 132}, {"protocol=TCP", 6},   {"protocol=Udp", 17},
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        nf_q_filter f = filter_ok(good[i].text);
        assert_int_equal(f.field, NF_Q_PROTOCOL);
        assert_int_equal(f.value, good[i].v);
    }
    static const char *const bad[] = {
        "protocol=256", "protocol=tcpx", "protocol=", "protocol=-6", "protocol= tcp",
        "protocol=tcp ", "protocol=ipv6-icmp", "protocol=+6",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!filter_refused(bad[i]))
            fail_msg("accepted %s", bad[i]);
}

static void
test_filter_interfaces_and_as(void **state)
{
    (void)state;
    static const char *const names[] = {"in_if", "out_if", "src_as", "dst_as"};
    static const nf_q_field fields[] = {NF_Q_IN_IF, NF_Q_OUT_IF, NF_Q_SRC_AS, NF_Q_DST_AS};
    for (size_t i = 0; i < 4; i++) {
        char text[64];
        snprintf(text, sizeof(text), "%s=0", names[i]);
        assert_int_equal(filter_ok(text).value, 0);
        assert_int_equal(filter_ok(text).field, fields[i]);
        snprintf(text, sizeof(text), "%s=4294967295", names[i]);
        assert_int_equal(filter_ok(text).value, UINT32_MAX);
        snprintf(text, sizeof(text), "%s=4294967296", names[i]);
        assert_true(filter_refused(text));
        snprintf(text, sizeof(text), "%s=AS64500", names[i]);
        assert_true(filter_refused(text));
        snprintf(text, sizeof(text), "%s=-1", names[i]);
        assert_true(filter_refused(text));
    }
}

/* ---- filters: addresses --------------------------------------------------------------- */

static void
test_filter_v4_host_and_prefixes(void **state)
{
    (void)state;
    nf_q_filter f = filter_ok("src_ip=10.1.2.3");
    assert_int_equal(f.field, NF_Q_SRC_ADDR);
    assert_range(&f, "00000000000000000000FFFF0A010203", "00000000000000000000FFFF0A010203");
    f = filter_ok("src_ip=10.1.2.3/32");
    assert_range(&f, "00000000000000000000FFFF0A010203", "00000000000000000000FFFF0A010203");
    f = filter_ok("dst_ip=10.1.2.3/31"); /* host bit of .3 masked */
    assert_int_equal(f.field, NF_Q_DST_ADDR);
    assert_range(&f, "00000000000000000000FFFF0A010202", "00000000000000000000FFFF0A010203");
    f = filter_ok("src_ip=10.1.2.3/8");
    assert_range(&f, "00000000000000000000FFFF0A000000", "00000000000000000000FFFF0AFFFFFF");
    f = filter_ok("src_ip=192.168.77.1/20");
    assert_range(&f, "00000000000000000000FFFFC0A84000", "00000000000000000000FFFFC0A84FFF");
    f = filter_ok("src_ip=128.0.0.0/1");
    assert_range(&f, "00000000000000000000FFFF80000000", "00000000000000000000FFFFFFFFFFFF");
    /* /0 of an IPv4 address is every IPv4 address, not every address. */
    f = filter_ok("exporter=1.2.3.4/0");
    assert_int_equal(f.field, NF_Q_EXPORTER);
    assert_range(&f, "00000000000000000000FFFF00000000", "00000000000000000000FFFFFFFFFFFF");
}

static void
test_filter_v6_prefixes(void **state)
{
    (void)state;
    nf_q_filter f = filter_ok("dst_ip=2001:db8::1");
    assert_range(&f, "20010DB8000000000000000000000001", "20010DB8000000000000000000000001");
    f = filter_ok("dst_ip=2001:db8::1/128");
    assert_range(&f, "20010DB8000000000000000000000001", "20010DB8000000000000000000000001");
    f = filter_ok("dst_ip=2001:db8::1/127");
    assert_range(&f, "20010DB8000000000000000000000000", "20010DB8000000000000000000000001");
    f = filter_ok("dst_ip=2001:db8:aaaa::ff/32");
    assert_range(&f, "20010DB8000000000000000000000000", "20010DB8FFFFFFFFFFFFFFFFFFFFFFFF");
    f = filter_ok("dst_ip=2001:db8::/33");
    assert_range(&f, "20010DB8000000000000000000000000", "20010DB87FFFFFFFFFFFFFFFFFFFFFFF");
    f = filter_ok("dst_ip=2001:db8::1f/120");
    assert_range(&f, "20010DB8000000000000000000000000", "20010DB80000000000000000000000FF");
    f = filter_ok("src_ip=::/0"); /* every address, IPv4-mapped ones too */
    assert_range(&f, "00000000000000000000000000000000", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
    f = filter_ok("src_ip=8000::/1");
    assert_range(&f, "80000000000000000000000000000000", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF");
    /* IPv4-mapped written as IPv6 takes IPv6 prefix lengths. */
    f = filter_ok("src_ip=::ffff:10.9.8.7/104");
    assert_range(&f, "00000000000000000000FFFF0A000000", "00000000000000000000FFFF0AFFFFFF");
    f = filter_ok("exporter=fe80::1");
    assert_range(&f, "FE800000000000000000000000000001", "FE800000000000000000000000000001");
}

static void
test_filter_address_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "src_ip=",          "src_ip=10.0.0.0/33",   "src_ip=10.0.0.0/-1", "src_ip=10.0.0.0/",
        "src_ip=/8",        "src_ip=10.0.0/8",      "src_ip=10.0.0.0/8/9", "src_ip=256.0.0.1",
        "src_ip=10.0.0.1 ", "src_ip= 10.0.0.1",     "src_ip=10.0.0.0/+8", "src_ip=10.0.0.0/8x",
        "dst_ip=2001:db8::/129", "dst_ip=2001:db8:::1", "dst_ip=fe80::1%eth0", "dst_ip=::/",
        "exporter=example.com", "exporter=10.0.0.1:2055", "src_ip=10.0.0.1/08x",
        "src_ip=1.2.3.4/4294967328",
        "src_ip=2001:0db8:0000:0000:0000:0000:0000:0001:0001/64",
        "src_ip=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!filter_refused(bad[i]))
            fail_msg("accepted %s", bad[i]);
}

static void
test_filter_syntax_refused(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "dst_port", "=443", "dst_port==443", "dst_port =443", "DST_PORT=443",
        "port=443", "time=1700000000", "none=1", "dst_port:443", "bytes=1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (!filter_refused(bad[i]))
            fail_msg("accepted \"%s\"", bad[i]);
    nf_err err = {0};
    nf_q_filter f;
    assert_int_equal(nf_q_parse_filter("time=1", "filters", &f, &err), NF_EINVAL);
    assert_true(contains(err.msg, "filters: time"));
    assert_int_equal(nf_q_parse_filter(NULL, "filters", &f, &err), NF_EINVAL);
    assert_int_equal(nf_q_parse_filter("dst_port=1", "filters", NULL, &err), NF_EINVAL);
    /* NULL err is allowed. */
    assert_int_equal(nf_q_parse_filter("x=1", "filters", &f, NULL), NF_EINVAL);
}

static void
test_filter_error_messages(void **state)
{
    (void)state;
    nf_err err = {0};
    nf_q_filter f;
    assert_int_equal(nf_q_parse_filter("dst_port=70000", "filter", &f, &err), NF_EINVAL);
    assert_string_equal(err.msg, "filter: dst_port: \"70000\" is not a number in 0..65535");
    assert_int_equal(nf_q_parse_filter("src_ip=10.0.0.0/40", "q.filter", &f, &err), NF_EINVAL);
    assert_string_equal(err.msg, "q.filter: src_ip: prefix length \"40\" is not 0..32");
    assert_int_equal(nf_q_parse_filter("foo=1", "filter", &f, &err), NF_EINVAL);
    static const char unknown[] = "filter: unknown field \"foo\" (one of src_ip, dst_ip, ";
    assert_true(strncmp(err.msg, unknown, strlen(unknown)) == 0);
    /* A long value is clipped, so the reason still fits in the message. */
    char text[600] = "protocol=";
    memset(text + 9, 'x', 500);
    text[509] = '\0';
    assert_int_equal(nf_q_parse_filter(text, "filter", &f, &err), NF_EINVAL);
    assert_true(contains(err.msg, "is not 0..255"));
}

/* ---- plans ---------------------------------------------------------------------------- */

static void
test_plan_aligned_hours(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, H0, H0 + 7200);
    assert_plan(&r, "rollup_1h_src_addr[1699999200,1700006400)");
    r = top(NF_Q_DST_ADDR, H0, H0 + 3600);
    assert_plan(&r, "rollup_1h_dst_addr[1699999200,1700002800)");
}

static void
test_plan_unaligned_five_parts(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, T0, T0 + 3 * 3600 + 7);
    assert_plan(&r, "raw[1700000000,1700000100) "
                    "rollup_5m_src_addr[1700000100,1700002800) "
                    "rollup_1h_src_addr[1700002800,1700010000) "
                    "rollup_5m_src_addr[1700010000,1700010600) "
                    "raw[1700010600,1700010807)");
}

/* A family with hourly rows only (one exporter's addresses): raw edges, no 5-minute parts. */
static void
test_plan_hourly_family(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, T0, T0 + 3 * 3600 + 7);
    add_filter(&r, "exporter=192.0.2.1");
    assert_plan(&r, "raw[1700000000,1700002800) "
                    "rollup_1h_exporter_src_addr[1700002800,1700010000) "
                    "raw[1700010000,1700010807)");
    r = series(300, T0, T0 + 3 * 3600 + 7); /* 5-minute buckets: no hourly rows */
    add_filter(&r, "exporter=192.0.2.1");
    add_filter(&r, "dst_port=443");
    assert_plan(&r, "raw[1700000000,1700010807)");
}

static void
test_plan_aligned_five_minutes(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_DST_PORT, H0 + 300, H0 + 3300);
    assert_plan(&r, "rollup_5m_dst_port[1699999500,1700002500)");
    r = top(NF_Q_DST_PORT, H0 + 300, H0 + 600); /* exactly one bucket */
    assert_plan(&r, "rollup_5m_dst_port[1699999500,1699999800)");
    /* Hour-aligned start, five-minute-aligned end past the hour. */
    r = top(NF_Q_DST_PORT, H0, H0 + 3600 + 900);
    assert_plan(&r, "rollup_1h_dst_port[1699999200,1700002800) "
                    "rollup_5m_dst_port[1700002800,1700003700)");
}

static void
test_plan_short_ranges_are_raw(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, T0, T0 + 1);
    assert_plan(&r, "raw[1700000000,1700000001)");
    r = top(NF_Q_SRC_ADDR, T0, T0 + 299); /* crosses a five-minute edge, no whole bucket */
    assert_plan(&r, "raw[1700000000,1700000299)");
    r = top(NF_Q_SRC_ADDR, H0 + 300, H0 + 599);
    assert_plan(&r, "raw[1699999500,1699999799)");
    r = top(NF_Q_SRC_ADDR, H0 + 1, H0 + 301);
    assert_plan(&r, "raw[1699999201,1699999501)");
    /* Within an hour: the 1 h table cannot help, the 5 min one can. */
    r = top(NF_Q_SRC_ADDR, T0, T0 + 1050);
    assert_plan(&r, "raw[1700000000,1700000100) rollup_5m_src_addr[1700000100,1700001000) "
                    "raw[1700001000,1700001050)");
    /* Start at zero is fine. */
    r = top(NF_Q_PROTOCOL, 0, 3601);
    assert_plan(&r, "rollup_1h_iface[0,3600) raw[3600,3601)");
}

static void
test_plan_family_choice(void **state)
{
    (void)state;
    const int64_t s = H0, e = H0 + 3600;
    static const struct {
        nf_q_field by;
        const char *filter; /* NULL: none */
        const char *table;  /* expected rollup family, NULL: raw */
    } cases[] = {
        {NF_Q_SRC_ADDR, NULL, "src_addr"},
        {NF_Q_SRC_ADDR, "exporter=192.0.2.1", "exporter_src_addr"},
        {NF_Q_SRC_ADDR, "src_ip=10.0.0.0/8", "src_addr"},
        {NF_Q_SRC_ADDR, "dst_port=443", NULL}, /* no rollup has both */
        {NF_Q_SRC_ADDR, "dst_ip=10.0.0.1", NULL},
        {NF_Q_DST_ADDR, NULL, "dst_addr"},
        {NF_Q_DST_ADDR, "exporter=2001:db8::/32", "exporter_dst_addr"},
        {NF_Q_DST_ADDR, "protocol=tcp", NULL},
        {NF_Q_SRC_PORT, NULL, NULL}, /* no rollup has src_port */
        {NF_Q_DST_PORT, "src_port=53", NULL},
        {NF_Q_DST_PORT, NULL, "dst_port"},
        {NF_Q_DST_PORT, "protocol=udp", "dst_port"},
        {NF_Q_DST_PORT, "exporter=192.0.2.1", "exporter_dst_port"},
        {NF_Q_EXPORTER, "dst_port=443", "exporter_dst_port"},
        {NF_Q_SRC_AS, "src_ip=10.0.0.0/8", NULL},
        {NF_Q_PROTOCOL, NULL, "iface"},
        {NF_Q_PROTOCOL, "dst_port=53", "dst_port"},
        {NF_Q_PROTOCOL, "in_if=3", "iface"},
        {NF_Q_EXPORTER, NULL, "iface"},
        {NF_Q_EXPORTER, "src_as=64500", "as"},
        {NF_Q_IN_IF, "out_if=2", "iface"},
        {NF_Q_OUT_IF, "src_as=1", NULL},
        {NF_Q_SRC_AS, NULL, "as"},
        {NF_Q_DST_AS, "src_as=64500", "as"},
        {NF_Q_DST_AS, "dst_port=80", NULL},
        {NF_Q_IN_IF, "src_ip=10.0.0.1", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nf_q_request r = top(cases[i].by, s, e);
        if (cases[i].filter != NULL)
            add_filter(&r, cases[i].filter);
        char want[128];
        if (cases[i].table != NULL)
            snprintf(want, sizeof(want), "rollup_1h_%s[%d,%d)", cases[i].table, (int)s, (int)e);
        else
            snprintf(want, sizeof(want), "raw[%d,%d)", (int)s, (int)e);
        assert_plan(&r, want);
    }
}

static void
test_plan_raw_only(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, T0, T0 + 3 * 3600 + 7);
    r.raw_only = true;
    assert_plan(&r, "raw[1700000000,1700010807)");
    r = series(3600, H0, H0 + 7200);
    r.raw_only = true;
    assert_plan(&r, "raw[1699999200,1700006400)");
}

static void
test_plan_series_intervals(void **state)
{
    (void)state;
    const int64_t s = T0, e = T0 + 4 * 3600 + 150;
    nf_q_request r = series(60, s, e);
    assert_plan(&r, "raw[1700000000,1700014550)"); /* a 5-min row spans five 1-min buckets */
    r = series(7, s, s + 3600);
    assert_plan(&r, "raw[1700000000,1700003600)");
    r = series(300, s, e);
    assert_plan(&r, "raw[1700000000,1700000100) rollup_5m_iface[1700000100,1700014500) "
                    "raw[1700014500,1700014550)");
    r = series(900, s, e);
    assert_plan(&r, "raw[1700000000,1700000100) rollup_5m_iface[1700000100,1700014500) "
                    "raw[1700014500,1700014550)");
    r = series(1800, s, e); /* a 1 h row would span two buckets */
    assert_plan(&r, "raw[1700000000,1700000100) rollup_5m_iface[1700000100,1700014500) "
                    "raw[1700014500,1700014550)");
    r = series(3600, s, e);
    assert_plan(&r, "raw[1700000000,1700000100) rollup_5m_iface[1700000100,1700002800) "
                    "rollup_1h_iface[1700002800,1700013600) "
                    "rollup_5m_iface[1700013600,1700014500) raw[1700014500,1700014550)");
    r = series(86400, s, e);
    assert_plan(&r, "raw[1700000000,1700000100) rollup_5m_iface[1700000100,1700002800) "
                    "rollup_1h_iface[1700002800,1700013600) "
                    "rollup_5m_iface[1700013600,1700014500) raw[1700014500,1700014550)");
    /* Filters decide the family of a series, as for top-N. */
    r = series(3600, H0, H0 + 3600);
    add_filter(&r, "dst_ip=10.0.0.0/8");
    assert_plan(&r, "rollup_1h_dst_addr[1699999200,1700002800)");
    add_filter(&r, "src_port=22");
    assert_plan(&r, "raw[1699999200,1700002800)");
}

static void
test_explain_truncates(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, T0, T0 + 3 * 3600 + 7);
    char *small = malloc(12); /* exact size: ASan sees a write past the end */
    assert_non_null(small);
    assert_int_equal(nf_q_explain(&r, small, 12, NULL), NF_OK);
    assert_string_equal(small, "raw[1700000");
    assert_int_equal(nf_q_explain(&r, small, 1, NULL), NF_OK);
    assert_string_equal(small, "");
    free(small);
    nf_err err = {0};
    assert_int_equal(nf_q_explain(&r, NULL, 10, &err), NF_EINVAL);
    char one;
    assert_int_equal(nf_q_explain(&r, &one, 0, &err), NF_EINVAL);
}

/* ---- invalid requests ----------------------------------------------------------------- */

static void
test_invalid_requests(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, T0, T0);
    assert_invalid(&r, "end:");
    r = top(NF_Q_SRC_ADDR, T0, T0 - 1);
    assert_invalid(&r, "end:");
    r = top(NF_Q_SRC_ADDR, -1, T0);
    assert_invalid(&r, "start:");
    r = top(NF_Q_SRC_ADDR, T0, (int64_t)UINT32_MAX + 1);
    assert_invalid(&r, "end:");
    r = top(NF_Q_SRC_ADDR, T0, UINT32_MAX); /* the last second DateTime holds is fine */
    assert_non_null(plan_of(&r));
    r = top(NF_Q_NONE, T0, T0 + 60);
    assert_invalid(&r, "group_by:");
    r = top((nf_q_field)99, T0, T0 + 60);
    assert_invalid(&r, "group_by:");
    r = top(NF_Q_SRC_ADDR, T0, T0 + 60);
    r.limit = 0;
    assert_invalid(&r, "limit:");
    r.limit = 10001;
    assert_invalid(&r, "limit:");
    r.limit = 10000;
    assert_non_null(plan_of(&r));
    r.metric = (nf_q_metric)3;
    assert_invalid(&r, "metric:");
    r = series(0, T0, T0 + 60);
    assert_invalid(&r, "interval:");
    r = series(60, T0, T0 + 60);
    r.limit = 0; /* ignored for a series */
    assert_non_null(plan_of(&r));
}

static void
test_invalid_bucket_count(void **state)
{
    (void)state;
    /* [H0, H0 + 1000 min) in minutes is exactly 1000 buckets. */
    nf_q_request r = series(60, H0, H0 + 60000);
    assert_non_null(plan_of(&r));
    r.end++;
    assert_invalid(&r, "interval:");
    /* Unaligned edges count the partial buckets at both ends. */
    r = series(60, H0 + 30, H0 + 59970);
    assert_non_null(plan_of(&r));
    r.end = H0 + 60001;
    assert_invalid(&r, "interval:");
    r = series(UINT32_MAX, 0, UINT32_MAX);
    assert_non_null(plan_of(&r));
    r = series(1, 0, UINT32_MAX);
    assert_invalid(&r, "interval:");
}

static void
test_invalid_filters(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, T0, T0 + 60);
    r.nfilters = NF_Q_MAX_FILTERS + 1;
    assert_invalid(&r, "nfilters:");
    r.nfilters = NF_Q_MAX_FILTERS;
    for (size_t i = 0; i < NF_Q_MAX_FILTERS; i++)
        r.filters[i] = filter_ok("dst_port=1");
    assert_non_null(plan_of(&r));
    r.filters[3].field = NF_Q_TIME;
    assert_invalid(&r, "filters[3]:");
    r.filters[3].field = NF_Q_NONE;
    assert_invalid(&r, "filters[3]:");
    r.filters[3].field = (nf_q_field)42;
    assert_invalid(&r, "filters[3]:");
    r.filters[3] = filter_ok("dst_port=1");
    r.filters[5].value = 65536; /* typed requests get the parsers' range checks too */
    assert_invalid(&r, "filters[5]:");
    r.filters[5] = filter_ok("protocol=1");
    r.filters[5].value = 256;
    assert_invalid(&r, "filters[5]:");
    r.filters[5] = filter_ok("src_ip=10.0.0.0/8");
    uint8_t t[16];
    memcpy(t, r.filters[5].lo, 16);
    memcpy(r.filters[5].lo, r.filters[5].hi, 16);
    memcpy(r.filters[5].hi, t, 16);
    assert_invalid(&r, "filters[5]:");
}

static void
test_invalid_db_and_args(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, T0, T0 + 60);
    static const char *const bad[] = {
        "", "net-flow", "x;DROP TABLE y", "1abc", "a`b", "a.b", "a b", "ä",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *sql = NULL;
        nf_err err = {0};
        assert_int_equal(nf_q_build(&r, bad[i], &sql, &err), NF_EINVAL);
        assert_null(sql);
        assert_true(strncmp(err.msg, "db:", 3) == 0);
    }
    char *sql = NULL;
    nf_err err = {0};
    assert_int_equal(nf_q_build(&r, NULL, &sql, &err), NF_EINVAL);
    assert_int_equal(nf_q_build(NULL, "netflow", &sql, &err), NF_EINVAL);
    assert_int_equal(nf_q_build(&r, "netflow", NULL, &err), NF_EINVAL);
    static const char *const good[] = {
        "netflow", "_", "_a1", "Z9",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 64 */
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(nf_q_build(&r, good[i], &sql, &err), NF_OK);
        char want[80];
        snprintf(want, sizeof(want), "`%s`.", good[i]);
        assert_true(contains(sql, want));
        free(sql);
    }
}

/* ---- SQL text ------------------------------------------------------------------------- */

static void
test_sql_top_golden(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_SRC_ADDR, T0, T0 + 60);
    r.limit = 5;
    add_filter(&r, "dst_port=443");
    add_filter(&r, "src_ip=10.0.0.0/8");
    add_filter(&r, "dst_port=80");
    char *sql = sql_of(&r);
    assert_string_equal(
        sql,
        "SELECT if(startsWith(IPv6NumToString(k), unhex('3A3A666666663A')), "
        "substring(IPv6NumToString(k), 8), "
        "IPv6NumToString(k)) AS key, value FROM (\n"
        " SELECT k, sum(v) AS value FROM (\n"
        "  SELECT src_addr AS k, sum(bytes * sampling_rate) AS v FROM `netflow`.netflow "
        "WHERE timestamp >= toDateTime(1700000000) AND timestamp < toDateTime(1700000060) "
        "AND ((src_addr >= toFixedString(unhex('00000000000000000000FFFF0A000000'), 16) AND "
        "src_addr <= toFixedString(unhex('00000000000000000000FFFF0AFFFFFF'), 16))) "
        "AND (dst_port = 443 OR dst_port = 80) GROUP BY k\n"
        " ) GROUP BY k ORDER BY value DESC, k LIMIT 5\n"
        ") ORDER BY value DESC, k");
    free(sql);
}

static void
test_sql_series_golden(void **state)
{
    (void)state;
    nf_q_request r = series(3600, H0 + 3000, H0 + 7200);
    r.metric = NF_Q_FLOWS;
    add_filter(&r, "exporter=192.0.2.1");
    char *sql = sql_of(&r);
    assert_string_equal(
        sql,
        "SELECT t AS ts, sum(v) AS value FROM (\n"
        "  SELECT toUInt32(intDiv(toUInt32(ts), 3600) * 3600) AS t, sum(flows_scaled) AS v "
        "FROM `netflow`.rollup_5m_iface WHERE ts >= toDateTime(1700002200) AND ts < "
        "toDateTime(1700002800) AND (exporter = "
        "toFixedString(unhex('00000000000000000000FFFFC0000201'), 16)) GROUP BY t\n"
        "  UNION ALL\n"
        "  SELECT toUInt32(intDiv(toUInt32(ts), 3600) * 3600) AS t, sum(flows_scaled) AS v "
        "FROM `netflow`.rollup_1h_iface WHERE ts >= toDateTime(1700002800) AND ts < "
        "toDateTime(1700006400) AND (exporter = "
        "toFixedString(unhex('00000000000000000000FFFFC0000201'), 16)) GROUP BY t\n"
        ") GROUP BY t ORDER BY t");
    free(sql);
}

static void
test_sql_numeric_key_not_formatted(void **state)
{
    (void)state;
    nf_q_request r = top(NF_Q_DST_PORT, T0, T0 + 60);
    char *sql = sql_of(&r);
    assert_true(strncmp(sql, "SELECT k AS key, value FROM (", 29) == 0);
    assert_false(contains(sql, "IPv6NumToString"));
    free(sql);
    r = top(NF_Q_EXPORTER, T0, T0 + 60);
    sql = sql_of(&r);
    assert_true(contains(sql, "IPv6NumToString(k)) AS key"));
    assert_true(contains(sql, "SELECT exporter AS k"));
    free(sql);
}

static void
test_sql_metrics(void **state)
{
    (void)state;
    static const struct {
        nf_q_metric m;
        bool unscaled;
        const char *raw, *rollup;
    } cases[] = {
        {NF_Q_BYTES, false, "sum(bytes * sampling_rate) AS v", "sum(bytes_scaled) AS v"},
        {NF_Q_BYTES, true, "sum(bytes) AS v", "sum(bytes) AS v"},
        {NF_Q_PACKETS, false, "sum(packets * sampling_rate) AS v", "sum(packets_scaled) AS v"},
        {NF_Q_PACKETS, true, "sum(packets) AS v", "sum(packets) AS v"},
        {NF_Q_FLOWS, false, "sum(sampling_rate) AS v", "sum(flows_scaled) AS v"},
        {NF_Q_FLOWS, true, "count() AS v", "sum(flows) AS v"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        nf_q_request r = top(NF_Q_PROTOCOL, T0, T0 + 3600); /* raw + 5m + raw */
        r.metric = cases[i].m;
        r.unscaled = cases[i].unscaled;
        char *sql = sql_of(&r);
        bool same = strcmp(cases[i].raw, cases[i].rollup) == 0;
        assert_int_equal(count_of(sql, cases[i].raw), same ? 3 : 2);
        assert_true(contains(sql, cases[i].rollup));
        assert_int_equal(count_of(sql, "UNION ALL"), 2);
        free(sql);
    }
}

/* Filters on one field are ORed and fields ANDed, in field order, whatever order the fields
 * came in (filters on one field keep theirs). */
static void
test_sql_filter_order_irrelevant(void **state)
{
    (void)state;
    nf_q_request a = top(NF_Q_PROTOCOL, T0, T0 + 7200), b = a;
    add_filter(&a, "exporter=2001:db8::/32");
    add_filter(&a, "in_if=3");
    add_filter(&a, "exporter=192.0.2.1");
    add_filter(&b, "in_if=3");
    add_filter(&b, "exporter=2001:db8::/32");
    add_filter(&b, "exporter=192.0.2.1");
    char *sa = sql_of(&a), *sb = sql_of(&b);
    assert_string_equal(sa, sb);
    assert_true(contains(sa, " AND ((exporter >= toFixedString(unhex('20010DB8"));
    assert_true(contains(sa, ") OR exporter = "
                             "toFixedString(unhex('00000000000000000000FFFFC0000201'), 16)) "
                             "AND (in_if = 3)"));
    free(sa);
    free(sb);
}

/* Characters the builder writes itself. A user's text could only get in through a value,
 * and every value is a number or hex. */
static void
assert_sql_clean(const char *sql, const char *what)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789_ ()*,.=<>'`\n";
    size_t bad = strspn(sql, allowed);
    if (sql[bad] != '\0')
        fail_msg("%s: unexpected character 0x%02x at %zu", what, (unsigned char)sql[bad], bad);
    /* Every quoted literal is upper-case hex (the unhex() arguments). */
    bool in_quote = false;
    for (const char *p = sql; *p != '\0'; p++) {
        if (*p == '\'') {
            in_quote = !in_quote;
            continue;
        }
        if (in_quote && !((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F')))
            fail_msg("%s: non-hex '%c' inside a quoted literal", what, *p);
    }
    assert_false(in_quote);
    /* Backquotes hold only the database name, and parentheses balance. */
    assert_int_equal(count_of(sql, "`") % 2, 0);
    long depth = 0;
    for (const char *p = sql; *p != '\0'; p++) {
        depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
        assert_true(depth >= 0);
    }
    assert_int_equal(depth, 0);
}

/* The dims of each rollup family, from docs/clickhouse.md. */
static bool
family_has(const char *fam, nf_q_field f)
{
    if (strncmp(fam, "exporter_", 9) == 0)
        return f == NF_Q_EXPORTER || family_has(fam + 9, f);
    if (strcmp(fam, "iface") == 0)
        return f == NF_Q_EXPORTER || f == NF_Q_IN_IF || f == NF_Q_OUT_IF || f == NF_Q_PROTOCOL;
    if (strcmp(fam, "src_addr") == 0)
        return f == NF_Q_SRC_ADDR;
    if (strcmp(fam, "dst_addr") == 0)
        return f == NF_Q_DST_ADDR;
    if (strcmp(fam, "dst_port") == 0)
        return f == NF_Q_PROTOCOL || f == NF_Q_DST_PORT;
    if (strcmp(fam, "as") == 0)
        return f == NF_Q_EXPORTER || f == NF_Q_SRC_AS || f == NF_Q_DST_AS;
    return false;
}

/* Parses the plan text and checks the rules of build.c's notes 2 and 3 against r. Returns
 * the number of parts. */
static size_t
check_plan(const nf_q_request *r, const char *plan)
{
    int64_t at = r->start;
    size_t n = 0;
    const char *p = plan;
    while (*p != '\0') {
        char name[64];
        long long a, b;
        int used = 0;
        if (sscanf(p, "%63[a-z0-9_][%lld,%lld)%n", name, &a, &b, &used) != 3 || used == 0)
            fail_msg("unparsable plan: %s", plan);
        p += used;
        if (*p == ' ')
            p++;
        n++;
        if (a != at || b <= a)
            fail_msg("parts do not tile [%lld,%lld): %s", (long long)r->start,
                     (long long)r->end, plan);
        at = b;
        if (strcmp(name, "raw") == 0)
            continue;
        assert_false(r->raw_only);
        int64_t res = strncmp(name, "rollup_1h_", 10) == 0   ? 3600
                      : strncmp(name, "rollup_5m_", 10) == 0 ? 300
                                                             : 0;
        assert_true(res != 0);
        if (res == 300 && strncmp(name + 10, "exporter_", 9) == 0)
            fail_msg("%s: the exporter families are hourly only", name);
        if (a % res != 0 || b % res != 0)
            fail_msg("part %s[%lld,%lld) not aligned", name, a, b);
        if (r->group_by == NF_Q_TIME && r->interval % res != 0)
            fail_msg("interval %u uses %s", r->interval, name);
        if (r->group_by != NF_Q_TIME && !family_has(name + 10, r->group_by))
            fail_msg("group by %s from %s", nf_q_field_name(r->group_by), name);
        for (size_t i = 0; i < r->nfilters; i++)
            if (!family_has(name + 10, r->filters[i].field))
                fail_msg("filter on %s from %s", nf_q_field_name(r->filters[i].field), name);
    }
    if (at != r->end)
        fail_msg("plan stops at %lld, not %lld: %s", (long long)at, (long long)r->end, plan);
    return n;
}

static const char *const sample_filters[] = {
    "src_ip=10.0.0.0/8", "src_ip=2001:db8::/32", "dst_ip=192.0.2.1", "dst_ip=::/0",
    "src_port=53",       "dst_port=443",        "dst_port=0",       "protocol=tcp",
    "protocol=255",      "exporter=192.0.2.0/24", "exporter=2001:db8::1", "in_if=4294967295",
    "out_if=0",          "src_as=64500",        "dst_as=15169",
};

/* A random valid request: any field, metric and flags, a range that is aligned or not,
 * short or long, and up to four filters from two fields (so rollups are sometimes usable). */
static nf_q_request
random_request(uint64_t *s)
{
    int64_t start = (int64_t)rnd_below(s, 4000000000u);
    switch (rnd_below(s, 3)) {
    case 0: start -= start % 3600; break;
    case 1: start -= start % 300; break;
    default: break;
    }
    static const int64_t spans[] = {1, 59, 299, 300, 301, 3599, 3600, 3601, 7200, 86400, 172800};
    int64_t end = start + spans[rnd_below(s, 11)] + (int64_t)rnd_below(s, 3) * 300 -
                  (rnd_below(s, 2) ? 0 : (int64_t)rnd_below(s, 2));
    if (end <= start)
        end = start + 1;
    if (end > UINT32_MAX)
        end = UINT32_MAX;
    nf_q_request r;
    if (rnd_below(s, 3) == 0) {
        static const uint32_t ivs[] = {1, 7, 60, 300, 900, 1800, 3600, 7200, 86400};
        r = series(ivs[rnd_below(s, 9)], start, end);
        while ((uint64_t)(end - 1) / r.interval - (uint64_t)start / r.interval + 1 > 1000)
            r.interval *= 2;
    } else {
        r = top((nf_q_field)(NF_Q_SRC_ADDR + rnd_below(s, NF_Q_DST_AS)), start, end);
        r.limit = 1 + (uint32_t)rnd_below(s, 10000);
    }
    r.metric = (nf_q_metric)rnd_below(s, 3);
    r.unscaled = rnd_below(s, 2);
    r.raw_only = rnd_below(s, 5) == 0;
    size_t nsample = sizeof(sample_filters) / sizeof(sample_filters[0]);
    size_t pick[2] = {rnd_below(s, nsample), rnd_below(s, nsample)};
    size_t nf = rnd_below(s, 5);
    for (size_t i = 0; i < nf; i++)
        add_filter(&r, sample_filters[pick[rnd_below(s, 2)]]);
    return r;
}

static void
test_property_random_requests(void **state)
{
    (void)state;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    size_t rollup_plans = 0;
    for (int i = 0; i < 5000; i++) {
        nf_q_request r = random_request(&seed);
        char what[64];
        snprintf(what, sizeof(what), "request %d", i);
        const char *plan = plan_of(&r);
        size_t parts = check_plan(&r, plan);
        rollup_plans += strstr(plan, "rollup_") != NULL;
        char *sql = sql_of(&r);
        assert_sql_clean(sql, what);
        assert_int_equal(count_of(sql, "UNION ALL"), parts - 1);
        assert_int_equal(count_of(sql, "`netflow`.netflow"), count_of(plan, "raw["));
        free(sql);
    }
    assert_true(rollup_plans > 1000); /* the generator does reach the rollups */
}

/* Random text through the parsers: whatever they accept builds SQL that is still clean,
 * however hostile the text. */
static void
test_property_text_never_reaches_sql(void **state)
{
    (void)state;
    static const char *const hostile[] = {
        "dst_port=1 OR 1=1", "src_ip=10.0.0.1'); DROP TABLE netflow; --", "protocol=tcp'",
        "src_ip=10.0.0.1/8 OR 1", "in_if=1\n", "exporter=::ffff:1.2.3.4`", "dst_as=1--",
    };
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++)
        assert_true(filter_refused(hostile[i]));
    static const char alphabet[] = "0123456789abcdef:./=x'`;- ";
    static const char *const prefixes[] = {"src_ip=", "dst_port=", "protocol=", "exporter=",
                                           "in_if=", "dst_ip=", ""};
    uint64_t seed = 12345;
    size_t accepted = 0;
    for (int i = 0; i < 20000; i++) {
        char text[64];
        const char *pre = prefixes[rnd_below(&seed, 7)];
        size_t len = strlen(pre);
        memcpy(text, pre, len);
        size_t extra = rnd_below(&seed, 20);
        for (size_t j = 0; j < extra; j++)
            text[len++] = alphabet[rnd_below(&seed, sizeof(alphabet) - 1)];
        text[len] = '\0';
        nf_q_filter f;
        if (nf_q_parse_filter(text, "filter", &f, NULL) != NF_OK)
            continue;
        accepted++;
        nf_q_request r = top(f.field == NF_Q_PROTOCOL ? NF_Q_DST_PORT : NF_Q_PROTOCOL, T0,
                             T0 + 7200);
        r.filters[r.nfilters++] = f;
        char *sql = sql_of(&r);
        assert_sql_clean(sql, text);
        free(sql);
    }
    assert_true(accepted > 100);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_names),
        cmocka_unit_test(test_field_name_roundtrip),
        cmocka_unit_test(test_field_refused),
        cmocka_unit_test(test_metric_names),
        cmocka_unit_test(test_filter_ports),
        cmocka_unit_test(test_filter_protocol),
        cmocka_unit_test(test_filter_interfaces_and_as),
        cmocka_unit_test(test_filter_v4_host_and_prefixes),
        cmocka_unit_test(test_filter_v6_prefixes),
        cmocka_unit_test(test_filter_address_refused),
        cmocka_unit_test(test_filter_syntax_refused),
        cmocka_unit_test(test_filter_error_messages),
        cmocka_unit_test(test_plan_aligned_hours),
        cmocka_unit_test(test_plan_unaligned_five_parts),
        cmocka_unit_test(test_plan_aligned_five_minutes),
        cmocka_unit_test(test_plan_short_ranges_are_raw),
        cmocka_unit_test(test_plan_family_choice),
        cmocka_unit_test(test_plan_raw_only),
        cmocka_unit_test(test_plan_hourly_family),
        cmocka_unit_test(test_plan_series_intervals),
        cmocka_unit_test(test_explain_truncates),
        cmocka_unit_test(test_invalid_requests),
        cmocka_unit_test(test_invalid_bucket_count),
        cmocka_unit_test(test_invalid_filters),
        cmocka_unit_test(test_invalid_db_and_args),
        cmocka_unit_test(test_sql_top_golden),
        cmocka_unit_test(test_sql_series_golden),
        cmocka_unit_test(test_sql_numeric_key_not_formatted),
        cmocka_unit_test(test_sql_metrics),
        cmocka_unit_test(test_sql_filter_order_irrelevant),
        cmocka_unit_test(test_property_random_requests),
        cmocka_unit_test(test_property_text_never_reaches_sql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

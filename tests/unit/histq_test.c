/* histq_test.c — the historical query path: lib/query's DuckDB SQL (nf_q_build_duckdb) and
 * lib/histq (scan conditions from a request, queries over Parquet files, the whole path
 * through a filesystem Iceberg catalog).
 *
 * The SQL is checked by running it. The test makes its own flows in C (a deterministic
 * generator with IPv4, IPv6 of every text shape — zero runs, "::1", IPv4-compatible
 * "::1.2.3.4" — ports, protocols, counters large enough to wrap a UInt64 once scaled),
 * writes them to Parquet files with DuckDB, asks random questions through the library and
 * compares every answer with the one computed here in C from the same flows: filters on the
 * 16-byte addresses, uint64 sums that wrap as ClickHouse's do, order by value descending
 * then by key (numbers numerically, addresses by their 16 bytes), limit, text formatting.
 * The oracle knows nothing of the SQL, so an address key or CIDR expression that is wrong
 * for any address shape shows up as a difference.
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
#include <unistd.h>

#include "base/addr.h"
#include "base/nf_status.h"
#include "duck/duck.h"
#include "query/query.h"
#ifdef HISTQ_TEST_FULL
#include "cold/table.h"
#include "duck/flowfile.h"
#include "histq/histq.h"
#include "iceberg/iceberg.h"
#endif

#define T0 1700000000 /* a few hours of flows from here */
#define SPAN 20000     /* seconds the rows cover */
#define NROWS 4000

/* ---- deterministic randomness ------------------------------------------------------------ */

static uint64_t
rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

static uint64_t
below(uint64_t *s, uint64_t n)
{
    return rnd(s) % n;
}

/* ---- rows ------------------------------------------------------------------------------- */

typedef struct row {
    int64_t ts; /* epoch seconds */
    uint8_t src[16], dst[16], exp[16];
    uint64_t src_port, dst_port, protocol, in_if, out_if, src_as, dst_as;
    uint64_t bytes, packets, sampling;
} row;

/* Addresses of every shape the text form can take, from a small pool so keys repeat. */
static void
rand_addr(uint64_t *s, uint8_t a[16])
{
    memset(a, 0, 16);
    switch (below(s, 8)) {
    case 0: case 1: case 2: { /* IPv4 in a few /16s and /24s */
        uint8_t v4[4] = {10, (uint8_t)below(s, 3), (uint8_t)below(s, 4), (uint8_t)below(s, 40)};
        if (below(s, 4) == 0)
            v4[0] = 192, v4[1] = 168;
        if (below(s, 6) == 0)
            v4[0] = (uint8_t)(below(s, 2) ? 255 : 0), v4[3] = (uint8_t)below(s, 256);
        nf_addr_from_v4(a, v4);
        break;
    }
    case 3: /* 2001:db8::/32, a few hosts, zero runs */
        a[0] = 0x20, a[1] = 0x01, a[2] = 0x0d, a[3] = 0xb8;
        a[15] = (uint8_t)below(s, 20);
        if (below(s, 3) == 0)
            a[7] = (uint8_t)below(s, 3);
        break;
    case 4: /* fe80::x:y:z:w */
        a[0] = 0xfe, a[1] = 0x80;
        for (int i = 8; i < 16; i++)
            a[i] = (uint8_t)below(s, 3);
        break;
    case 5: /* low addresses: ::, ::1, IPv4-compatible ::a.b.c.d, ::ffff:0:0/96 neighbours */
        switch (below(s, 4)) {
        case 0: a[15] = (uint8_t)below(s, 2); break;
        case 1: a[12] = 1, a[13] = 2, a[14] = 3, a[15] = (uint8_t)below(s, 4); break;
        case 2: a[10] = 0xff, a[11] = 0xfe, a[15] = (uint8_t)below(s, 3); break; /* below v4 */
        default: a[9] = 1, a[15] = (uint8_t)below(s, 3); break;                 /* above v4 */
        }
        break;
    case 6: /* random-ish IPv6 with one zero group */
        for (int i = 0; i < 16; i++)
            a[i] = (uint8_t)below(s, 4);
        a[0] = 0x2a, a[6] = a[7] = 0;
        break;
    default: /* ffff:… high addresses */
        memset(a, 0xff, 16);
        a[15] = (uint8_t)below(s, 4);
        break;
    }
}

static void
make_rows(row *rows, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    static const uint64_t protos[] = {6, 17, 1, 58};
    for (size_t i = 0; i < n; i++) {
        row *r = &rows[i];
        r->ts = T0 + (int64_t)below(&s, SPAN);
        rand_addr(&s, r->src);
        rand_addr(&s, r->dst);
        uint8_t e[4] = {127, 0, 0, (uint8_t)(10 + below(&s, 4))};
        nf_addr_from_v4(r->exp, e);
        r->src_port = below(&s, 3) ? 1024 + below(&s, 50) : below(&s, 65536);
        r->dst_port = below(&s, 2) ? 443 : below(&s, 100);
        r->protocol = protos[below(&s, 4)];
        r->in_if = below(&s, 5);
        r->out_if = below(&s, 2) ? 4000000000u + below(&s, 3) : below(&s, 3);
        r->src_as = below(&s, 4) + 64500;
        r->dst_as = below(&s, 2) ? 4294967295u : below(&s, 6);
        r->bytes = 40 + below(&s, 100000);
        r->packets = 1 + below(&s, 100);
        r->sampling = below(&s, 2) ? 1 : 1 + below(&s, 1000);
        if (below(&s, 500) == 0) /* wraps a UInt64 when scaled (still a valid long) */
            r->bytes = INT64_MAX - below(&s, 1000);
    }
}

/* ---- writing Parquet with DuckDB ------------------------------------------------------------ */

static void
exec_ok(nf_duck *d, const char *sql)
{
    nf_err err = {0};
    if (nf_duck_exec(d, sql, &err) != NF_OK)
        fail_msg("%s\nSQL: %.300s", err.msg, sql);
}

/* Columns the queries read, with the cold table's names and types. */
#define STAGE_COLUMNS                                                                        \
    "\"timestamp\" TIMESTAMPTZ, src_ip VARCHAR, dst_ip VARCHAR, src_port INTEGER, "         \
    "dst_port INTEGER, protocol INTEGER, bytes BIGINT, packets BIGINT, exporter_ip VARCHAR, " \
    "sampling_rate BIGINT, in_if BIGINT, out_if BIGINT, src_as BIGINT, dst_as BIGINT"

/* Writes rows [from, to) as a Parquet file at path. */
static void
write_parquet(nf_duck *d, const row *rows, size_t from, size_t to, const char *path)
{
    exec_ok(d, "CREATE OR REPLACE TEMP TABLE stage (" STAGE_COLUMNS ")");
    size_t cap = 1 << 20, len = 0;
    char *sql = malloc(cap);
    assert_non_null(sql);
    for (size_t i = from; i < to; i++) {
        if (len == 0)
            len = (size_t)snprintf(sql, cap, "INSERT INTO stage VALUES ");
        const row *r = &rows[i];
        char s[NF_ADDR_STRLEN], t[NF_ADDR_STRLEN], e[NF_ADDR_STRLEN];
        len += (size_t)snprintf(
            sql + len, cap - len,
            "%s(to_timestamp(%" PRId64 "), '%s', '%s', %" PRIu64 ", %" PRIu64 ", %" PRIu64
            ", %" PRIu64 ", %" PRIu64 ", '%s', %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64
            ", %" PRIu64 ")",
            len > 30 ? ", " : "", r->ts, nf_addr_format(r->src, s), nf_addr_format(r->dst, t),
            r->src_port, r->dst_port, r->protocol, r->bytes, r->packets,
            nf_addr_format(r->exp, e), r->sampling, r->in_if, r->out_if, r->src_as, r->dst_as);
        assert_true(len < cap - 1000);
        if (len > cap - 2000 || i + 1 == to) {
            exec_ok(d, sql);
            len = 0;
        }
    }
    snprintf(sql, cap, "COPY stage TO '%s' (FORMAT parquet)", path);
    exec_ok(d, sql);
    free(sql);
}

/* ---- the oracle ------------------------------------------------------------------------- */

static uint64_t
num_of(const row *r, nf_q_field f)
{
    switch (f) {
    case NF_Q_SRC_PORT: return r->src_port;
    case NF_Q_DST_PORT: return r->dst_port;
    case NF_Q_PROTOCOL: return r->protocol;
    case NF_Q_IN_IF: return r->in_if;
    case NF_Q_OUT_IF: return r->out_if;
    case NF_Q_SRC_AS: return r->src_as;
    case NF_Q_DST_AS: return r->dst_as;
    default: return 0;
    }
}

static const uint8_t *
addr_of(const row *r, nf_q_field f)
{
    return f == NF_Q_SRC_ADDR ? r->src : f == NF_Q_DST_ADDR ? r->dst : r->exp;
}

static bool
is_addr(nf_q_field f)
{
    return f == NF_Q_SRC_ADDR || f == NF_Q_DST_ADDR || f == NF_Q_EXPORTER;
}

static bool
matches(const row *r, const nf_q_request *q)
{
    if (r->ts < q->start || r->ts >= q->end)
        return false;
    for (unsigned f = 1; f < NF_Q_TIME; f++) {
        bool any = false, hit = false;
        for (size_t i = 0; i < q->nfilters; i++) {
            const nf_q_filter *fl = &q->filters[i];
            if ((unsigned)fl->field != f)
                continue;
            any = true;
            if (is_addr(fl->field)) {
                const uint8_t *a = addr_of(r, fl->field);
                hit |= memcmp(a, fl->lo, 16) >= 0 && memcmp(a, fl->hi, 16) <= 0;
            } else {
                hit |= num_of(r, fl->field) == fl->value;
            }
        }
        if (any && !hit)
            return false;
    }
    return true;
}

static uint64_t
metric_of(const row *r, const nf_q_request *q)
{
    uint64_t scale = q->unscaled ? 1 : r->sampling;
    switch (q->metric) {
    case NF_Q_BYTES: return r->bytes * scale; /* wraps as ClickHouse's UInt64 */
    case NF_Q_PACKETS: return r->packets * scale;
    default: return scale;
    }
}

typedef struct group {
    uint8_t addr[16];
    uint64_t num; /* number key, or time bucket */
    uint64_t value;
} group;

static const nf_q_request *cmp_req;

static int
cmp_group(const void *pa, const void *pb)
{
    const group *a = pa, *b = pb;
    if (cmp_req->group_by != NF_Q_TIME && a->value != b->value)
        return a->value > b->value ? -1 : 1;
    if (is_addr(cmp_req->group_by))
        return memcmp(a->addr, b->addr, 16);
    return a->num < b->num ? -1 : a->num > b->num;
}

/* The expected TSV answer ("key\tvalue\n" or "ts\tvalue\n" lines); caller frees. */
static char *
expected(const row *rows, size_t n, const nf_q_request *q)
{
    group *g = calloc(n + 1, sizeof(group));
    assert_non_null(g);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        const row *r = &rows[i];
        if (!matches(r, q))
            continue;
        group k = {0};
        if (q->group_by == NF_Q_TIME)
            k.num = (uint64_t)r->ts / q->interval * q->interval;
        else if (is_addr(q->group_by))
            memcpy(k.addr, addr_of(r, q->group_by), 16);
        else
            k.num = num_of(r, q->group_by);
        size_t j = 0;
        while (j < ng && !(memcmp(g[j].addr, k.addr, 16) == 0 && g[j].num == k.num))
            j++;
        if (j == ng)
            g[ng++] = k;
        g[j].value += metric_of(r, q);
    }
    cmp_req = q;
    qsort(g, ng, sizeof(group), cmp_group);
    if (q->group_by != NF_Q_TIME && ng > q->limit)
        ng = q->limit;
    char *out = malloc(ng * 80 + 1);
    assert_non_null(out);
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < ng; i++) {
        char text[NF_ADDR_STRLEN];
        if (is_addr(q->group_by))
            nf_addr_format(g[i].addr, text);
        else
            snprintf(text, sizeof(text), "%" PRIu64, g[i].num);
        len += (size_t)sprintf(out + len, "%s\t%" PRIu64 "\n", text, g[i].value);
    }
    free(g);
    return out;
}

/* ---- running the SQL -------------------------------------------------------------------- */

/* The result as TSV lines, as histq's callers print it. */
static char *
result_tsv(nf_duck_result *res)
{
    size_t nr = nf_duck_result_rows(res);
    char *out = malloc(nr * 80 + 1);
    assert_non_null(out);
    size_t len = 0;
    out[0] = '\0';
    assert_int_equal(nf_duck_result_cols(res), 2);
    for (size_t i = 0; i < nr; i++) {
        const char *k = nf_duck_result_text(res, i, 0), *v = nf_duck_result_text(res, i, 1);
        assert_non_null(k);
        assert_non_null(v);
        len += (size_t)sprintf(out + len, "%s\t%s\n", k, v);
    }
    return out;
}

static char *
run_sql(nf_duck *d, const nf_q_request *q, const char *const *files, size_t nfiles)
{
    char *sql = NULL;
    nf_err err = {0};
    if (nf_q_build_duckdb(q, files, nfiles, &sql, &err) != NF_OK)
        fail_msg("build: %s", err.msg);
    nf_duck_result *res = NULL;
    if (nf_duck_query(d, sql, &res, &err) != NF_OK)
        fail_msg("query: %s\nSQL: %s", err.msg, sql);
    free(sql);
    char *tsv = result_tsv(res);
    nf_duck_result_free(res);
    return tsv;
}

/* ---- fixture: a temp dir with two Parquet files of the same rows ----------------------------- */

typedef struct fixture {
    char dir[64];
    char file[2][128];
    const char *files[2];
    row *rows;
    nf_duck *duck;
} fixture;

static int
setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    if (fx == NULL)
        return -1;
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/histq_test.XXXXXX");
    if (mkdtemp(fx->dir) == NULL)
        return -1;
    nf_err err = {0};
    if (nf_duck_open(NULL, 2, NULL, &fx->duck, &err) != NF_OK)
        return -1;
    fx->rows = calloc(NROWS, sizeof(row));
    if (fx->rows == NULL)
        return -1;
    make_rows(fx->rows, NROWS, 42);
    /* The second file's name has a quote: paths are quoted, not pasted. */
    snprintf(fx->file[0], sizeof(fx->file[0]), "%s/a.parquet", fx->dir);
    snprintf(fx->file[1], sizeof(fx->file[1]), "%s/it's.parquet", fx->dir);
    fx->files[0] = fx->file[0];
    fx->files[1] = fx->file[1];
    write_parquet(fx->duck, fx->rows, 0, NROWS / 2, fx->file[0]);
    /* COPY cannot take the quote in a literal we build with %s: write, then rename. */
    char tmp[128];
    snprintf(tmp, sizeof(tmp), "%s/b.parquet", fx->dir);
    write_parquet(fx->duck, fx->rows, NROWS / 2, NROWS, tmp);
    if (rename(tmp, fx->file[1]) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int
teardown(void **state)
{
    fixture *fx = *state;
    unlink(fx->file[0]);
    unlink(fx->file[1]);
    rmdir(fx->dir);
    nf_duck_close(fx->duck);
    free(fx->rows);
    free(fx);
    return 0;
}

static nf_q_request
request(nf_q_field by, int64_t start, int64_t end)
{
    nf_q_request r;
    memset(&r, 0, sizeof(r));
    r.start = start;
    r.end = end;
    r.group_by = by;
    r.metric = NF_Q_BYTES;
    r.limit = 10;
    r.interval = 600;
    return r;
}

static void
check(fixture *fx, const nf_q_request *q, const char *what)
{
    char *want = expected(fx->rows, NROWS, q);
    char *got = run_sql(fx->duck, q, fx->files, 2);
    if (strcmp(want, got) != 0) {
        /* Show from the line where they part. */
        size_t at = 0, line = 0;
        while (want[at] == got[at])
            if (want[at++] == '\n')
                line = at;
        fail_msg("%s: answers differ at byte %zu\ngot:  %.200s\nwant: %.200s", what, line,
                 got + line, want + line);
    }
    free(want);
    free(got);
}

/* ---- tests ----------------------------------------------------------------------------- */

/* Every request nf_q_build refuses is refused with the same code and message. */
static void
test_validation_same_as_clickhouse(void **state)
{
    (void)state;
    const char *files[] = {"/x/a.parquet"};
    nf_q_request bad[12];
    for (size_t i = 0; i < 12; i++)
        bad[i] = request(NF_Q_SRC_ADDR, T0, T0 + 3600);
    bad[0].end = bad[0].start;               /* empty range */
    bad[1].start = -1;                       /* before the epoch */
    bad[2].end = (int64_t)UINT32_MAX + 1;    /* beyond DateTime */
    bad[3].group_by = NF_Q_NONE;
    bad[4].metric = (nf_q_metric)7;
    bad[5].limit = 0;
    bad[6].limit = 10001;
    bad[7].group_by = NF_Q_TIME, bad[7].interval = 0;
    bad[8].group_by = NF_Q_TIME, bad[8].interval = 1; /* 3600 buckets */
    bad[9].nfilters = 1, bad[9].filters[0].field = NF_Q_TIME;
    bad[10].nfilters = 1, bad[10].filters[0].field = NF_Q_DST_PORT,
    bad[10].filters[0].value = 65536;
    bad[11].nfilters = 1, bad[11].filters[0].field = NF_Q_SRC_ADDR,
    bad[11].filters[0].lo[0] = 1; /* lo above hi */
    for (size_t i = 0; i < 12; i++) {
        nf_err e1 = {0}, e2 = {0};
        char *sql = (char *)"untouched", *ch = NULL;
        assert_int_equal(nf_q_build(&bad[i], "netflow", &ch, &e1), NF_EINVAL);
        assert_int_equal(nf_q_build_duckdb(&bad[i], files, 1, &sql, &e2), NF_EINVAL);
        assert_string_equal(e1.msg, e2.msg);
        assert_string_equal(sql, "untouched");
    }
    nf_err err = {0};
    assert_int_equal(nf_q_build_duckdb(NULL, files, 1, &(char *){NULL}, &err), NF_EINVAL);
    nf_q_request ok = request(NF_Q_SRC_ADDR, T0, T0 + 3600);
    assert_int_equal(nf_q_build_duckdb(&ok, files, 1, NULL, &err), NF_EINVAL);
    assert_int_equal(nf_q_build_duckdb(&ok, NULL, 1, &(char *){NULL}, &err), NF_EINVAL);
}

/* Paths with control or glob characters are refused, naming the file; quotes are doubled. */
static void
test_paths(void **state)
{
    (void)state;
    nf_q_request q = request(NF_Q_DST_PORT, T0, T0 + 3600);
    static const char *const refused[] = {"/a/b\n.parquet", "/a/*.parquet", "/a/b?.parquet",
                                          "/a/[ab].parquet", "", "/a/\x7f"};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        const char *files[] = {"/ok.parquet", refused[i]};
        char *sql = NULL;
        nf_err err = {0};
        assert_int_equal(nf_q_build_duckdb(&q, files, 2, &sql, &err), NF_EINVAL);
        assert_non_null(strstr(err.msg, "files[1]"));
        assert_null(sql);
    }
    const char *files[] = {"/d/it's.parquet"};
    char *sql = NULL;
    assert_int_equal(nf_q_build_duckdb(&q, files, 1, &sql, NULL), NF_OK);
    assert_non_null(strstr(sql, "'/d/it''s.parquet'"));
    free(sql);
}

/* No files: a query of the right shape without rows. */
static void
test_empty_list(void **state)
{
    fixture *fx = *state;
    for (int series = 0; series < 2; series++) {
        nf_q_request q = request(series ? NF_Q_TIME : NF_Q_SRC_ADDR, T0, T0 + 3600);
        char *sql = NULL;
        nf_err err = {0};
        assert_int_equal(nf_q_build_duckdb(&q, NULL, 0, &sql, &err), NF_OK);
        nf_duck_result *res = NULL;
        assert_int_equal(nf_duck_query(fx->duck, sql, &res, &err), NF_OK);
        assert_int_equal(nf_duck_result_rows(res), 0);
        assert_int_equal(nf_duck_result_cols(res), 2);
        assert_string_equal(nf_duck_result_name(res, 0), series ? "ts" : "key");
        assert_string_equal(nf_duck_result_name(res, 1), "value");
        nf_duck_result_free(res);
        free(sql);
    }
}

/* Top-N by every field, every metric, scaled and not, small and large limits. */
static void
test_top_every_field(void **state)
{
    fixture *fx = *state;
    static const nf_q_field fields[] = {NF_Q_SRC_ADDR, NF_Q_DST_ADDR, NF_Q_SRC_PORT,
                                        NF_Q_DST_PORT, NF_Q_PROTOCOL, NF_Q_EXPORTER,
                                        NF_Q_IN_IF,    NF_Q_OUT_IF,   NF_Q_SRC_AS,
                                        NF_Q_DST_AS};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        for (int m = 0; m < 3; m++) {
            for (int unscaled = 0; unscaled < 2; unscaled++) {
                nf_q_request q = request(fields[i], T0 + 1234, T0 + SPAN - 777);
                q.metric = (nf_q_metric)m;
                q.unscaled = unscaled;
                q.limit = m == 2 ? 10000 : 7; /* flows: many ties, all keys in order */
                char what[64];
                snprintf(what, sizeof(what), "top %s m%d u%d", nf_q_field_name(fields[i]), m,
                         unscaled);
                check(fx, &q, what);
            }
        }
    }
}

/* Short ranges: most keys have one flow, so the order among equal values — IPv4 between
 * "::ffff:0:0" neighbours, "::1.2.3.4", "2001:db8::", "ffff::" — decides the answer. */
static void
test_top_ties(void **state)
{
    fixture *fx = *state;
    static const nf_q_field fields[] = {NF_Q_SRC_ADDR, NF_Q_DST_ADDR, NF_Q_SRC_PORT,
                                        NF_Q_OUT_IF};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        for (int64_t at = T0; at < T0 + SPAN; at += 2000) {
            nf_q_request q = request(fields[i], at, at + 900);
            q.metric = NF_Q_FLOWS;
            q.unscaled = true;
            q.limit = 10000;
            check(fx, &q, "ties");
            q.limit = 25; /* the cut falls among equal values */
            check(fx, &q, "ties, cut");
        }
    }
}

static void
test_series(void **state)
{
    fixture *fx = *state;
    static const uint32_t intervals[] = {60, 300, 900, 3600, 86400, 7};
    for (size_t i = 0; i < sizeof(intervals) / sizeof(intervals[0]); i++) {
        nf_q_request q = request(NF_Q_TIME, T0 + 100, T0 + SPAN - 13);
        if (intervals[i] < 60)
            q.end = q.start + 999 * 7;
        q.interval = intervals[i];
        q.metric = (nf_q_metric)(i % 3);
        q.unscaled = i % 2;
        check(fx, &q, "series");
    }
}

/* A random address range: a CIDR around a row's address, or an arbitrary lo..hi. */
static void
rand_range(uint64_t *s, const row *rows, nf_q_filter *f)
{
    const uint8_t *base = addr_of(&rows[below(s, NROWS)], f->field);
    unsigned len;
    switch (below(s, 5)) {
    case 0: len = 128; break;
    case 1: len = nf_addr_is_v4(base) ? 96 + 8 * (unsigned)below(s, 4) : 16 * (unsigned)below(s, 8); break;
    case 2: len = (unsigned)below(s, 129); break;
    case 3: len = (unsigned)below(s, 97); break; /* often spans the IPv4-mapped block */
    default: len = 0xffff; break;                 /* arbitrary range */
    }
    if (len == 0xffff) {
        const uint8_t *other = addr_of(&rows[below(s, NROWS)], f->field);
        bool lt = memcmp(base, other, 16) <= 0;
        memcpy(f->lo, lt ? base : other, 16);
        memcpy(f->hi, lt ? other : base, 16);
        return;
    }
    for (unsigned i = 0; i < 16; i++) {
        unsigned bits = len > 8 * i ? (len - 8 * i > 8 ? 8 : len - 8 * i) : 0;
        uint8_t mask = (uint8_t)(bits == 0 ? 0 : 0xff << (8 - bits));
        f->lo[i] = base[i] & mask;
        f->hi[i] = (uint8_t)(base[i] | (uint8_t)~mask);
    }
}

/* Random filters of every kind, ORed on one field and ANDed across fields. */
static void
test_filters_random(void **state)
{
    fixture *fx = *state;
    uint64_t s = 7;
    static const nf_q_field groups[] = {NF_Q_SRC_ADDR, NF_Q_DST_PORT, NF_Q_TIME, NF_Q_DST_ADDR,
                                        NF_Q_PROTOCOL, NF_Q_EXPORTER, NF_Q_OUT_IF};
    static const nf_q_field ffields[] = {NF_Q_SRC_ADDR, NF_Q_DST_ADDR, NF_Q_EXPORTER,
                                         NF_Q_DST_PORT, NF_Q_PROTOCOL, NF_Q_DST_AS,
                                         NF_Q_OUT_IF,   NF_Q_SRC_AS,   NF_Q_IN_IF};
    for (int it = 0; it < 150; it++) {
        nf_q_request q = request(groups[below(&s, 7)], T0 + (int64_t)below(&s, 5000),
                                 T0 + SPAN - (int64_t)below(&s, 5000));
        q.metric = (nf_q_metric)below(&s, 3);
        q.limit = (uint32_t)(1 + below(&s, 60));
        q.interval = 3600;
        q.nfilters = 1 + below(&s, 4);
        for (size_t i = 0; i < q.nfilters; i++) {
            nf_q_filter *f = &q.filters[i];
            f->field = ffields[below(&s, it < 100 ? 3 : 9)];
            if (is_addr(f->field))
                rand_range(&s, fx->rows, f);
            else
                f->value = num_of(&fx->rows[below(&s, NROWS)], f->field);
        }
        char what[32];
        snprintf(what, sizeof(what), "filters #%d", it);
        check(fx, &q, what);
    }
}

/* Whole blocks: ::/0 holds every address (IPv4 included), ::ffff:0:0/96 every IPv4 one,
 * 0.0.0.0/0 likewise; and ranges whose edges sit next to the IPv4-mapped block. */
static void
test_filters_blocks(void **state)
{
    fixture *fx = *state;
    static const char *const cidrs[] = {
        "src_ip=::/0",        "src_ip=0.0.0.0/0",     "src_ip=::ffff:0:0/96", "src_ip=::/1",
        "src_ip=::/96",       "src_ip=::ffff:0:0/95", "src_ip=10.0.0.0/8",    "src_ip=10.1.0.0/16",
        "src_ip=10.1.2.0/23", "src_ip=10.0.0.0/12",   "src_ip=2001:db8::/32", "src_ip=2001:db8::/64",
        "src_ip=fe80::/10",   "src_ip=::1",           "src_ip=::1.2.3.0/120", "src_ip=ffff::/16",
        "src_ip=::1:0:0:0/80", "src_ip=192.168.0.0/16", "src_ip=255.0.0.0/8",  "src_ip=0.0.0.0/8",
    };
    for (size_t i = 0; i < sizeof(cidrs) / sizeof(cidrs[0]); i++) {
        nf_q_request q = request(NF_Q_SRC_ADDR, T0, T0 + SPAN);
        q.metric = NF_Q_FLOWS;
        q.unscaled = true;
        q.limit = 10000;
        nf_err err = {0};
        if (nf_q_parse_filter(cidrs[i], "filter", &q.filters[0], &err) != NF_OK)
            fail_msg("%s: %s", cidrs[i], err.msg);
        q.nfilters = 1;
        check(fx, &q, cidrs[i]);
    }
}

/* Text bounds for pruning hold every address of the range: checked against the rows. */
static void
test_text_bounds(void **state)
{
    fixture *fx = *state;
    uint64_t s = 99;
    for (int it = 0; it < 3000; it++) {
        nf_q_filter f = {.field = NF_Q_SRC_ADDR};
        rand_range(&s, fx->rows, &f);
        nf_q_text_range tr[NF_Q_TEXT_RANGES];
        size_t n = 0;
        if (!nf_q_addr_text_bounds(&f, tr, &n))
            continue;
        assert_true(n >= 1 && n <= NF_Q_TEXT_RANGES);
        for (size_t i = 0; i < NROWS; i++) {
            const uint8_t *a = fx->rows[i].src;
            if (memcmp(a, f.lo, 16) < 0 || memcmp(a, f.hi, 16) > 0)
                continue;
            char text[NF_ADDR_STRLEN];
            nf_addr_format(a, text);
            bool in = false;
            for (size_t j = 0; j < n; j++)
                in |= strcmp(text, tr[j].lo) >= 0 && strcmp(text, tr[j].hi) <= 0;
            if (!in)
                fail_msg("%s outside the text bounds of its range (%zu bounds, first %s..%s)",
                         text, n, tr[0].lo, tr[0].hi);
        }
    }
}

#ifdef HISTQ_TEST_FULL
/* Scan conditions: time in µs; numeric filters as equalities; a field with one filter that
 * has no text prefix (0.0.0.0/1) gets no condition at all, since its filters are ORed. */
static void
test_scan_filter(void **state)
{
    (void)state;
    nf_q_request q = request(NF_Q_SRC_ADDR, T0, T0 + 60);
    static const char *const filters[] = {"dst_port=443", "dst_port=53", "src_ip=10.1.0.0/16",
                                          "dst_ip=0.0.0.0/1", "dst_ip=2001:db8::1",
                                          "in_if=7"};
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(nf_q_parse_filter(filters[i], "filter", &q.filters[i], NULL), NF_OK);
    q.nfilters = 6;
    nf_ice_scan_filter f;
    nf_histq_scan_filter(&q, &f);
    assert_int_equal(f.ts_field_id, NF_COLD_TIMESTAMP);
    assert_true(f.ts_lo_us == (int64_t)T0 * 1000000 && f.ts_hi_us == (int64_t)(T0 + 60) * 1000000);
    assert_int_equal(f.nconds, 4); /* src_ip, two dst_port, in_if; no dst_ip */
    size_t ports = 0;
    for (size_t i = 0; i < f.nconds; i++) {
        const nf_ice_cond *c = &f.conds[i];
        assert_int_not_equal(c->field_id, NF_COLD_DST_IP);
        if (c->field_id == NF_COLD_SRC_IP) {
            assert_int_equal(c->lo_len, 5);
            assert_memory_equal(c->lo, "10.1.", 5);
            assert_int_equal(c->hi_len, 6);
            assert_int_equal(c->hi[5], 0xff);
        } else if (c->field_id == NF_COLD_DST_PORT) {
            uint8_t b[4];
            nf_ice_bound_int(ports++ == 0 ? 443 : 53, b);
            assert_memory_equal(c->lo, b, 4);
            assert_memory_equal(c->hi, b, 4);
        } else {
            assert_int_equal(c->field_id, NF_COLD_IN_IF);
            assert_int_equal(c->type, NF_ICE_LONG);
        }
    }
    assert_int_equal(ports, 2);
}
#endif

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validation_same_as_clickhouse),
        cmocka_unit_test(test_paths),
        cmocka_unit_test_setup_teardown(test_empty_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_every_field, setup, teardown),
        cmocka_unit_test_setup_teardown(test_top_ties, setup, teardown),
        cmocka_unit_test_setup_teardown(test_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters_random, setup, teardown),
        cmocka_unit_test_setup_teardown(test_filters_blocks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_bounds, setup, teardown),
#ifdef HISTQ_TEST_FULL
        cmocka_unit_test(test_scan_filter),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

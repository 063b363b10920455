/* build.c — from a typed request to the plan (which table answers which part of the time
 * range) and to the SQL. See query.h; schema in docs/clickhouse.md.
 *
 * Design notes
 *
 * 1. Which rollup family. A family can answer when every field the request groups or
 *    filters by is one of its dims; it is read at the resolutions it has (a family with
 *    1 h only makes raw + 1h + raw plans). When several can (a time series filtered by exporter
 *    only, say), the first in `families` wins: they are listed from the one expected to have
 *    the fewest rows per bucket (interfaces × protocols) to the most (addresses).
 *
 * 2. The range split. With resolutions R1 > R2 > … usable, [s, e) becomes
 *      finer[s, ceil_R1(s)) + R1[ceil_R1(s), floor_R1(e)) + finer[floor_R1(e), e)
 *    when the middle is not empty, and finer[s, e) otherwise, where "finer" splits the same
 *    way with the next resolution and the raw table is the last. With 1 h and 5 min that is
 *    raw + 5m + 1h + 5m + raw, at most MAX_PARTS parts, and every rollup part starts and
 *    ends on its own resolution — so each rollup row read (which stands for the flows of
 *    [ts, ts + R)) lies wholly inside [s, e). Every flow is counted in exactly one part.
 *
 * 3. Time series. A rollup row of resolution R may only feed buckets of interval I when the
 *    whole of [ts, ts + R) falls into one bucket [kI, (k+1)I): true for every row exactly
 *    when I is a multiple of R (bucket edges kI are then multiples of R too, and ts is one).
 *    Parts need not start on a bucket edge: a bucket cut by a part boundary gets rows from
 *    both parts, and the outer query sums each bucket over the UNION ALL (GROUP BY t), so
 *    it equals the raw answer. I = 60 therefore reads raw only, 300/900 use 5 min, 3600 and
 *    86400 use both.
 *
 * 4. Nothing from the user reaches the SQL as text: numbers are printed with %llu/%u from
 *    typed fields, addresses as hex of their 16 bytes, names from this file's tables, and db
 *    only after it passed the identifier check. Aliases in the generated SQL (k, t, v,
 *    value, key) are chosen not to be column names, because ClickHouse resolves an alias
 *    before a column of the same name anywhere in the query (`… AS ts … WHERE ts >= …`
 *    would filter on the alias).
 */
#include "query_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LIMIT 10000  /* top-N rows: the API pages nothing; more is an export, not a chart */
#define MAX_BUCKETS 1000 /* time series points: more than a chart can show */
#define MAX_PARTS 5      /* raw, 5m, 1h, 5m, raw (note 2) */
#define SQL_INITIAL 4096 /* bytes; the buffer grows when filters make the SQL longer */
#define DB_NAME_MAX 64   /* longer database names are surely a mistake */
/* DateTime is UInt32 seconds: end must still be one, as it is written as toDateTime(end). */
#define MAX_EPOCH ((int64_t)UINT32_MAX)

#define BIT(f) (1u << (f))

typedef struct family {
    const char *name;     /* table suffix: rollup_<res>_<name> */
    unsigned dims;        /* BIT(field) of each dim */
    unsigned resolutions; /* BIT(i) of each resolutions[i] it has */
} family;

#define EVERY_RES 3u /* 1 h and 5 min */
#define HOURLY 1u    /* 1 h only (resolutions[0]) */

/* Note 1: fewest rows first. The address and port families have no exporter (their rows
 * are shared by all exporters); the exporter_* ones answer questions about one exporter's
 * addresses and ports, hourly only (docs/clickhouse.md). */
static const family families[] = {
    {"iface", BIT(NF_Q_EXPORTER) | BIT(NF_Q_IN_IF) | BIT(NF_Q_OUT_IF) | BIT(NF_Q_PROTOCOL),
     EVERY_RES},
    {"as", BIT(NF_Q_EXPORTER) | BIT(NF_Q_SRC_AS) | BIT(NF_Q_DST_AS), EVERY_RES},
    {"dst_port", BIT(NF_Q_PROTOCOL) | BIT(NF_Q_DST_PORT), EVERY_RES},
    {"src_addr", BIT(NF_Q_SRC_ADDR), EVERY_RES},
    {"dst_addr", BIT(NF_Q_DST_ADDR), EVERY_RES},
    {"exporter_dst_port", BIT(NF_Q_EXPORTER) | BIT(NF_Q_PROTOCOL) | BIT(NF_Q_DST_PORT), HOURLY},
    {"exporter_src_addr", BIT(NF_Q_EXPORTER) | BIT(NF_Q_SRC_ADDR), HOURLY},
    {"exporter_dst_addr", BIT(NF_Q_EXPORTER) | BIT(NF_Q_DST_ADDR), HOURLY},
};

typedef struct resolution {
    uint32_t seconds;
    const char *tag; /* in the table name */
} resolution;

/* Coarsest first: the split (note 2) takes whole buckets of the coarsest table it may use. */
static const resolution resolutions[] = {{3600, "1h"}, {300, "5m"}};
#define NRES (sizeof(resolutions) / sizeof(resolutions[0]))
_Static_assert(MAX_PARTS == 2 * NRES + 1, "the split (note 2) makes at most 2 * NRES + 1 parts");

typedef struct part {
    const resolution *res; /* NULL: the raw table */
    int64_t start, end;    /* [start, end), epoch seconds; aligned to res when a rollup */
} part;

typedef struct plan {
    const family *fam; /* NULL when no rollup family can answer */
    part parts[MAX_PARTS];
    size_t nparts;
} plan;

/* ---- validation ------------------------------------------------------------------------ */

static bool
is_time_series(const nf_q_request *req)
{
    return req->group_by == NF_Q_TIME;
}

static nf_status
check_filter(const nf_q_filter *f, size_t i, nf_err *err)
{
    const q_field_info *fi = q_field_get(f->field);
    if (fi == NULL || fi->kind == Q_KIND_TIME)
        return nf_err_set(err, NF_EINVAL, "filters[%zu]: field %d cannot be filtered on", i,
                          (int)f->field);
    if (fi->kind == Q_KIND_ADDR && memcmp(f->lo, f->hi, 16) > 0)
        return nf_err_set(err, NF_EINVAL, "filters[%zu]: %s range has lo above hi", i,
                          fi->name);
    if (fi->kind != Q_KIND_ADDR && f->value > fi->max)
        return nf_err_set(err, NF_EINVAL, "filters[%zu]: %s value %llu is outside 0..%llu", i,
                          fi->name, (unsigned long long)f->value, (unsigned long long)fi->max);
    return NF_OK;
}

static nf_status
check_range(const nf_q_request *req, nf_err *err)
{
    if (req->start < 0 || req->start >= MAX_EPOCH)
        return nf_err_set(err, NF_EINVAL, "start: %" PRId64 " is outside 0..%" PRId64,
                          req->start, MAX_EPOCH - 1);
    if (req->end <= req->start)
        return nf_err_set(err, NF_EINVAL, "end: %" PRId64 " is not after start %" PRId64,
                          req->end, req->start);
    if (req->end > MAX_EPOCH)
        return nf_err_set(err, NF_EINVAL, "end: %" PRId64 " is beyond %" PRId64, req->end,
                          MAX_EPOCH);
    return NF_OK;
}

/* Buckets [kI, (k+1)I) that [start, end) touches. */
static uint64_t
bucket_count(const nf_q_request *req)
{
    uint64_t first = (uint64_t)req->start / req->interval;
    uint64_t last = (uint64_t)(req->end - 1) / req->interval;
    return last - first + 1;
}

static nf_status
check_shape(const nf_q_request *req, nf_err *err)
{
    if (q_field_get(req->group_by) == NULL)
        return nf_err_set(err, NF_EINVAL, "group_by: missing or unknown field %d",
                          (int)req->group_by);
    if ((unsigned)req->metric > NF_Q_FLOWS)
        return nf_err_set(err, NF_EINVAL, "metric: unknown metric %d", (int)req->metric);
    if (!is_time_series(req)) {
        if (req->limit < 1 || req->limit > MAX_LIMIT)
            return nf_err_set(err, NF_EINVAL, "limit: %u is outside 1..%d", req->limit,
                              MAX_LIMIT);
        return NF_OK;
    }
    if (req->interval == 0)
        return nf_err_set(err, NF_EINVAL, "interval: must be at least 1 second");
    uint64_t n = bucket_count(req);
    if (n > MAX_BUCKETS)
        return nf_err_set(err, NF_EINVAL,
                          "interval: %u s over [%" PRId64 ", %" PRId64
                          ") makes %llu buckets, at most %d",
                          req->interval, req->start, req->end, (unsigned long long)n,
                          MAX_BUCKETS);
    return NF_OK;
}

/* Shared with duck.c (query_int.h): the DuckDB builder refuses exactly what this one does. */
nf_status
q_check_request(const nf_q_request *req, nf_err *err)
{
    if (req == NULL)
        return nf_err_set(err, NF_EINVAL, "request: missing");
    nf_status st = check_range(req, err);
    if (st == NF_OK)
        st = check_shape(req, err);
    if (st != NF_OK)
        return st;
    if (req->nfilters > NF_Q_MAX_FILTERS)
        return nf_err_set(err, NF_EINVAL, "nfilters: %zu filters, at most %d", req->nfilters,
                          NF_Q_MAX_FILTERS);
    for (size_t i = 0; i < req->nfilters; i++) {
        st = check_filter(&req->filters[i], i, err);
        if (st != NF_OK)
            return st;
    }
    return NF_OK;
}

/* [A-Za-z_][A-Za-z0-9_]*: a name that needs no quoting and cannot carry SQL. */
static nf_status
check_db(const char *db, nf_err *err)
{
    if (db == NULL || db[0] == '\0')
        return nf_err_set(err, NF_EINVAL, "db: missing");
    size_t len = strlen(db);
    bool ok = len <= DB_NAME_MAX && !(db[0] >= '0' && db[0] <= '9');
    for (size_t i = 0; ok && i < len; i++) {
        char c = db[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '_';
    }
    if (!ok)
        return nf_err_set(err, NF_EINVAL,
                          "db: \"%.48s\" is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at "
                          "most %d characters)",
                          db, DB_NAME_MAX);
    return NF_OK;
}

/* ---- planning -------------------------------------------------------------------------- */

/* BIT() of every field the request groups or filters by; time is not a dim (all have ts). */
static unsigned
used_fields(const nf_q_request *req)
{
    unsigned used = is_time_series(req) ? 0 : BIT(req->group_by);
    for (size_t i = 0; i < req->nfilters; i++)
        used |= BIT(req->filters[i].field);
    return used;
}

static const family *
choose_family(const nf_q_request *req)
{
    if (req->raw_only)
        return NULL;
    unsigned used = used_fields(req);
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
        if ((used & ~families[i].dims) == 0)
            return &families[i];
    return NULL;
}

const char *
nf_q_family_for(const nf_q_request *req)
{
    if (req == NULL)
        return NULL;
    for (size_t i = 0; i < req->nfilters && i < NF_Q_MAX_FILTERS; i++)
        if ((unsigned)req->filters[i].field > NF_Q_TIME)
            return NULL; /* BIT() of an out-of-range field would be meaningless */
    if ((unsigned)req->group_by > NF_Q_TIME)
        return NULL;
    nf_q_request r = *req;
    if (r.nfilters > NF_Q_MAX_FILTERS)
        r.nfilters = NF_Q_MAX_FILTERS;
    const family *f = choose_family(&r);
    return f != NULL ? f->name : NULL;
}

static void
add_part(plan *p, const resolution *res, int64_t start, int64_t end)
{
    if (start >= end)
        return;
    assert(p->nparts < MAX_PARTS); /* the split makes at most 2 * NRES + 1 parts */
    p->parts[p->nparts++] = (part){res, start, end};
}

/* Note 2. tiers: the usable resolutions, coarsest first; n of them. */
static void
split(plan *p, int64_t start, int64_t end, const resolution *const *tiers, size_t n)
{
    if (n == 0) {
        add_part(p, NULL, start, end);
        return;
    }
    int64_t r = tiers[0]->seconds;
    int64_t a = (start + r - 1) / r * r; /* start >= 0: division rounds down */
    int64_t b = end / r * r;
    if (a >= b) {
        split(p, start, end, tiers + 1, n - 1);
        return;
    }
    split(p, start, a, tiers + 1, n - 1);
    add_part(p, tiers[0], a, b);
    split(p, b, end, tiers + 1, n - 1);
}

static void
make_plan(const nf_q_request *req, plan *p)
{
    const resolution *tiers[NRES];
    size_t n = 0;
    memset(p, 0, sizeof(*p));
    p->fam = choose_family(req);
    for (size_t i = 0; p->fam != NULL && i < NRES; i++) {
        /* Note 3: a series may use a resolution only if its interval is a multiple of it. */
        if ((p->fam->resolutions & (1u << i)) != 0 &&
            (!is_time_series(req) || req->interval % resolutions[i].seconds == 0))
            tiers[n++] = &resolutions[i];
    }
    split(p, req->start, req->end, tiers, n);
}

/* ---- SQL text -------------------------------------------------------------------------- */

/* A growing string; after the first failed allocation every append is a no-op and oom
 * stays set, so callers check once at the end. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int w = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (w < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)w < b->cap - b->len) {
            b->len += (size_t)w;
            return;
        }
        size_t cap = (b->cap + (size_t)w + 1) * 2;
        char *np = realloc(b->p, cap);
        if (np == NULL) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

static void
sb_hex(sbuf *b, const uint8_t a[16])
{
    char hex[33];
    static const char digits[] = "0123456789ABCDEF";
    for (int i = 0; i < 16; i++) {
        hex[2 * i] = digits[a[i] >> 4];
        hex[2 * i + 1] = digits[a[i] & 15];
    }
    hex[32] = '\0';
    sb_printf(b, "toFixedString(unhex('%s'), 16)", hex);
}

/* One filter as a condition on its column. Byte-wise comparison of FixedString(16) is
 * address order, since the 16 bytes are big-endian (checked on 18.16). */
static void
sb_filter(sbuf *b, const nf_q_filter *f)
{
    const q_field_info *fi = q_field_get(f->field);
    if (fi->kind != Q_KIND_ADDR) {
        sb_printf(b, "%s = %llu", fi->column, (unsigned long long)f->value);
        return;
    }
    if (memcmp(f->lo, f->hi, 16) == 0) {
        sb_printf(b, "%s = ", fi->column);
        sb_hex(b, f->lo);
        return;
    }
    sb_printf(b, "(%s >= ", fi->column);
    sb_hex(b, f->lo);
    sb_printf(b, " AND %s <= ", fi->column);
    sb_hex(b, f->hi);
    sb_printf(b, ")");
}

/* " AND (a OR b) AND (c)": filters on one field ORed, fields ANDed, in field order so that
 * the SQL does not depend on the order filters were given in. */
static void
sb_filters(sbuf *b, const nf_q_request *req)
{
    for (unsigned f = NF_Q_NONE + 1; f < NF_Q_TIME; f++) {
        bool first = true;
        for (size_t i = 0; i < req->nfilters; i++) {
            if ((unsigned)req->filters[i].field != f)
                continue;
            sb_printf(b, "%s", first ? " AND (" : " OR ");
            sb_filter(b, &req->filters[i]);
            first = false;
        }
        if (!first)
            sb_printf(b, ")");
    }
}

/* The metric over the raw table: counters as exported or times the sampling rate; flows
 * are rows (each row one flow), or rows times the rate. */
static const char *
raw_metric(const nf_q_request *req)
{
    static const char *const exprs[][2] = {
        [NF_Q_BYTES] = {"sum(bytes * sampling_rate)", "sum(bytes)"},
        [NF_Q_PACKETS] = {"sum(packets * sampling_rate)", "sum(packets)"},
        [NF_Q_FLOWS] = {"sum(sampling_rate)", "count()"},
    };
    return exprs[req->metric][req->unscaled ? 1 : 0];
}

/* The same metric over a rollup, whose view computed both forms the same way. */
static const char *
rollup_metric(const nf_q_request *req)
{
    static const char *const exprs[][2] = {
        [NF_Q_BYTES] = {"sum(bytes_scaled)", "sum(bytes)"},
        [NF_Q_PACKETS] = {"sum(packets_scaled)", "sum(packets)"},
        [NF_Q_FLOWS] = {"sum(flows_scaled)", "sum(flows)"},
    };
    return exprs[req->metric][req->unscaled ? 1 : 0];
}

/* One SELECT of the UNION ALL: the key (k: the group column; t: the bucket start) and the
 * part's value v. */
static void
sb_part(sbuf *b, const nf_q_request *req, const plan *p, const part *pt, const char *db)
{
    const char *tcol = pt->res == NULL ? "timestamp" : "ts";
    sb_printf(b, "SELECT ");
    if (is_time_series(req))
        /* toStartOfInterval is not in 18.16; this is the same bucket start as epoch secs. */
        sb_printf(b, "toUInt32(intDiv(toUInt32(%s), %u) * %u)", tcol, req->interval,
                  req->interval);
    else
        sb_printf(b, "%s", q_field_get(req->group_by)->column);
    sb_printf(b, " AS %s, %s AS v FROM `%s`.", is_time_series(req) ? "t" : "k",
              pt->res == NULL ? raw_metric(req) : rollup_metric(req), db);
    if (pt->res == NULL)
        sb_printf(b, "netflow");
    else
        sb_printf(b, "rollup_%s_%s", pt->res->tag, p->fam->name);
    sb_printf(b, " WHERE %s >= toDateTime(%" PRId64 ") AND %s < toDateTime(%" PRId64 ")", tcol,
              pt->start, tcol, pt->end);
    sb_filters(b, req);
    sb_printf(b, " GROUP BY %s", is_time_series(req) ? "t" : "k");
}

static void
sb_parts(sbuf *b, const nf_q_request *req, const plan *p, const char *db)
{
    for (size_t i = 0; i < p->nparts; i++) {
        sb_printf(b, i == 0 ? "\n  " : "\n  UNION ALL\n  ");
        sb_part(b, req, p, &p->parts[i], db);
    }
    sb_printf(b, "\n");
}

/* Same text as the schema's ALIAS columns (src_ip, …): dotted quad for IPv4-mapped (the
 * prefix IPv6NumToString prints for those, "::ffff:", is written in hex: note 4). */
#define ADDR_TEXT(k)                                                                          \
    "if(startsWith(IPv6NumToString(" k "), unhex('3A3A666666663A')), "                    \
    "substring(IPv6NumToString(" k "), 8), IPv6NumToString(" k "))"

/* Top-N: sum the parts per key, keep the N largest, and only then format the N keys (the
 * outer query sorts again: ClickHouse does not promise a subquery's order survives). Ties
 * are broken by the key's own order (numbers, address bytes) so the answer is stable. */
static void
sb_top(sbuf *b, const nf_q_request *req, const plan *p, const char *db)
{
    bool addr = q_field_get(req->group_by)->kind == Q_KIND_ADDR;
    sb_printf(b, "SELECT %s AS key, value FROM (\n SELECT k, sum(v) AS value FROM (",
              addr ? ADDR_TEXT("k") : "k");
    sb_parts(b, req, p, db);
    sb_printf(b, " ) GROUP BY k ORDER BY value DESC, k LIMIT %u\n) ORDER BY value DESC, k",
              req->limit);
}

static void
sb_series(sbuf *b, const nf_q_request *req, const plan *p, const char *db)
{
    /* Note 3: a bucket may be made of rows of several parts; GROUP BY t adds them up. */
    sb_printf(b, "SELECT t AS ts, sum(v) AS value FROM (");
    sb_parts(b, req, p, db);
    sb_printf(b, ") GROUP BY t ORDER BY t");
}

/* ---- API ------------------------------------------------------------------------------- */

nf_status
nf_q_build(const nf_q_request *req, const char *db, char **sql, nf_err *err)
{
    if (sql == NULL)
        return nf_err_set(err, NF_EINVAL, "sql: missing output pointer");
    nf_status st = q_check_request(req, err);
    if (st == NF_OK)
        st = check_db(db, err);
    if (st != NF_OK)
        return st;
    plan p;
    make_plan(req, &p);
    /* Enough for the largest plan with no filters; filters grow it. */
    sbuf b = {.p = malloc(SQL_INITIAL), .cap = SQL_INITIAL};
    b.oom = b.p == NULL;
    if (is_time_series(req))
        sb_series(&b, req, &p, db);
    else
        sb_top(&b, req, &p, db);
    if (b.oom) {
        free(b.p);
        return nf_err_set(err, NF_ENOMEM, "query: out of memory building the SQL");
    }
    *sql = b.p;
    return NF_OK;
}

nf_status
nf_q_build_flows(const nf_q_request *req, const char *db, char **sql, nf_err *err)
{
    if (sql == NULL || req == NULL)
        return nf_err_set(err, NF_EINVAL, "sql: missing argument");
    nf_status st = check_range(req, err);
    if (st == NF_OK)
        st = check_db(db, err);
    if (st != NF_OK)
        return st;
    if (req->limit < 1 || req->limit > NF_Q_FLOWS_MAX)
        return nf_err_set(err, NF_EINVAL, "limit: %u is outside 1..%u", req->limit,
                          NF_Q_FLOWS_MAX);
    if (req->nfilters > NF_Q_MAX_FILTERS)
        return nf_err_set(err, NF_EINVAL, "nfilters: %zu filters, at most %d", req->nfilters,
                          NF_Q_MAX_FILTERS);
    for (size_t i = 0; i < req->nfilters; i++)
        if ((st = check_filter(&req->filters[i], i, err)) != NF_OK)
            return st;
    sbuf b = {.p = malloc(SQL_INITIAL), .cap = SQL_INITIAL};
    b.oom = b.p == NULL;
    sb_printf(&b, "SELECT toUInt32(timestamp), " ADDR_TEXT("src_addr") ", " ADDR_TEXT("dst_addr")
                  ", src_port, dst_port, protocol, bytes, packets, " ADDR_TEXT("exporter")
                  ", in_if, out_if, sampling_rate FROM `%s`.netflow"
                  " WHERE timestamp >= toDateTime(%" PRId64 ") AND timestamp < toDateTime(%"
                  PRId64 ")",
              db, req->start, req->end);
    sb_filters(&b, req);
    sb_printf(&b, " ORDER BY timestamp DESC, src_addr, dst_addr, src_port, dst_port LIMIT %u",
              req->limit);
    if (b.oom) {
        free(b.p);
        return nf_err_set(err, NF_ENOMEM, "query: out of memory building the SQL");
    }
    *sql = b.p;
    return NF_OK;
}

nf_status
nf_q_explain(const nf_q_request *req, char *out, size_t n, nf_err *err)
{
    if (out == NULL || n == 0)
        return nf_err_set(err, NF_EINVAL, "out: missing buffer");
    nf_status st = q_check_request(req, err);
    if (st != NF_OK)
        return st;
    plan p;
    make_plan(req, &p);
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < p.nparts && used < n; i++) {
        const part *pt = &p.parts[i];
        char table[64];
        if (pt->res == NULL)
            snprintf(table, sizeof(table), "raw");
        else
            snprintf(table, sizeof(table), "rollup_%s_%s", pt->res->tag, p.fam->name);
        int w = snprintf(out + used, n - used, "%s%s[%" PRId64 ",%" PRId64 ")", i ? " " : "",
                         table, pt->start, pt->end);
        if (w < 0)
            return nf_err_set(err, NF_EINTERNAL, "explain: formatting failed");
        used += (size_t)w;
    }
    return NF_OK;
}

/* params.c — query parameters of /api/netflow into a typed request (api.h lists them).
 *
 * Two passes. The first looks at the parameters as text only: how many, which names, which
 * repeat, how long, which bytes — so hostile input is refused before any value parser sees
 * it. The second parses the values in a fixed order (range, group_by, interval, filters,
 * metric, …), reusing lib/query's parsers for fields, metrics and filters, and then checks
 * what depends on several of them (interval against the range, limit against group_by).
 *
 * Invariants:
 *  1. Every refusal is NF_EINVAL with "parameter 'X': why" and X in the caller's buffer —
 *     the HTTP layer answers 400 with both, and never has to parse the message.
 *  2. What nf_api_parse accepts, nf_q_build accepts (start >= 0, end <= 2^32-1, end > start,
 *     at most 1000 buckets, limit 1..10000): a bad request never gets as far as a backend.
 *  3. Names quoted back from the request are sanitised (printable ASCII without quotes) and
 *     clipped, values are not quoted back by this file (lib/query clips its own quotes).
 */
#include "api.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../base/clock.h"
#include "../base/parse.h"

#define NAME_SHOWN 40          /* characters of an unknown parameter name repeated back */
#define TIME_MAX 4294967295LL  /* end bound: ClickHouse DateTime is UInt32 */
#define INTERVAL_MAX 31622400u /* 366 days: longer buckets than a year say nothing */
#define BUCKETS_MAX 1000u      /* lib/query's bound on time series buckets */
#define LIMIT_DEFAULT 10u
#define LIMIT_MAX 10000u
#define FLOWS_LIMIT_DEFAULT 100u
#define DEFAULT_RANGE 3600     /* last_1h when the request names no range */
#define AS_OF_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

enum { P_TIME_RANGE, P_START, P_END, P_GROUP_BY, P_INTERVAL, P_FILTER, P_METRIC, P_UNSCALED,
       P_LIMIT, P_FORMAT, P_SNAPSHOT, P_AS_OF, P_COUNT };

static const struct {
    const char *name;
    bool repeatable;
} params[P_COUNT] = {
    [P_TIME_RANGE] = {"time_range", false}, [P_START] = {"start", false},
    [P_END] = {"end", false},               [P_GROUP_BY] = {"group_by", false},
    [P_INTERVAL] = {"interval", false},     [P_FILTER] = {"filter", true},
    [P_METRIC] = {"metric", false},         [P_UNSCALED] = {"unscaled", false},
    [P_LIMIT] = {"limit", false},           [P_FORMAT] = {"format", false},
    [P_SNAPSHOT] = {"snapshot", false},     [P_AS_OF] = {"as_of", false},
};

static const struct {
    const char *name;
    int64_t seconds; /* 0: today */
} ranges[] = {
    {"last_15m", 900},      {"last_1h", 3600},      {"last_6h", 21600},
    {"last_24h", 86400},    {"last_7d", 7 * 86400}, {"last_30d", 30 * 86400},
    {"last_90d", 90 * 86400}, {"today", 0},
};

/* Default intervals, finest first: round numbers people read on a time axis, and each a
 * multiple of the one before, so buckets of a coarser one are whole buckets of a finer one. */
static const uint32_t steps[] = {60, 300, 900, 3600, 86400};

_Static_assert(NF_API_GIVEN_AS_OF == 1u << P_AS_OF && NF_API_GIVEN_FILTER == 1u << P_FILTER,
               "P_* and NF_API_GIVEN_* bits in the same order");

/* Refuses with "parameter 'name': why" and copies name to param_out (may be NULL). */
static nf_status
refuse(nf_err *err, char *param_out, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static nf_status
refuse(nf_err *err, char *param_out, const char *name, const char *fmt, ...)
{
    char why[NF_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    if (param_out != NULL)
        snprintf(param_out, NF_API_PARAM_MAX, "%s", name);
    return nf_err_set(err, NF_EINVAL, "parameter '%s': %s", name, why);
}

/* A lib/query parser's refusal ("name: why") in this file's form. */
static nf_status
rewrap(nf_err *err, char *param_out, const char *name)
{
    char why[NF_ERR_MSG_MAX];
    size_t nl = strlen(name);
    const char *m = err != NULL ? err->msg : "";
    if (strncmp(m, name, nl) == 0 && m[nl] == ':' && m[nl + 1] == ' ')
        m += nl + 2;
    snprintf(why, sizeof(why), "%s", m);
    return refuse(err, param_out, name, "%s", why);
}

/* A request's parameter name made safe to repeat: printable ASCII without quotes and
 * backslash, clipped. */
static void
sanitize_name(const char *key, char out[NF_API_PARAM_MAX])
{
    size_t i = 0;
    for (; key != NULL && key[i] != '\0' && i < NAME_SHOWN; i++) {
        unsigned char c = (unsigned char)key[i];
        out[i] = (c < 0x20 || c >= 0x7f || c == '\'' || c == '"' || c == '\\') ? '?' : (char)c;
    }
    out[i] = '\0';
}

static bool
has_control(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

static bool
all_digits(const char *s)
{
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* ---- times ------------------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
days_in_month(int64_t y, int64_t m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dim[m - 1];
}

/* n decimal digits at *p into *out; advances *p. */
static bool
digits(const char **p, int n, int64_t *out)
{
    int64_t v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool
expect(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* RFC 3339 date-time: YYYY-MM-DD(T|t| )HH:MM:SS[.frac](Z|z|±HH:MM). A fraction rounds down,
 * or up when round_up (so an end bound still covers the instant it names); its milliseconds
 * go to *ms when ms is not NULL (time travel names an instant, not a second). Leap second 60
 * (only at minute 59, local time) is the first second of the next minute. */
static bool
parse_rfc3339(const char *s, bool round_up, int64_t *out, int64_t *ms)
{
    int64_t y, mo, d, h, mi, sec, oh = 0, om = 0;
    const char *p = s;
    if (!digits(&p, 4, &y) || !expect(&p, '-') || !digits(&p, 2, &mo) || !expect(&p, '-') ||
        !digits(&p, 2, &d))
        return false;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return false;
    p++;
    if (!digits(&p, 2, &h) || !expect(&p, ':') || !digits(&p, 2, &mi) || !expect(&p, ':') ||
        !digits(&p, 2, &sec))
        return false;
    bool frac = false;
    int64_t millis = 0;
    if (*p == '.') {
        p++;
        int nd = 0;
        for (; *p >= '0' && *p <= '9'; p++, nd++) {
            if (*p != '0')
                frac = true;
            if (nd < 3)
                millis = millis * 10 + (*p - '0');
        }
        for (int k = nd; k < 3; k++)
            millis *= 10;
        if (nd == 0 || nd > 9)
            return false;
    }
    int sign = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p == '+' ? 1 : -1;
        p++;
        if (!digits(&p, 2, &oh) || !expect(&p, ':') || !digits(&p, 2, &om))
            return false;
    } else {
        return false;
    }
    if (*p != '\0')
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 ||
        sec > 60 || (sec == 60 && mi != 59) || oh > 23 || om > 59)
        return false;
    int64_t t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);
    if (frac && round_up)
        t++;
    *out = t;
    if (ms != NULL)
        *ms = millis;
    return true;
}

/* RFC 3339 or epoch seconds (0..2^32-1); *ms as parse_rfc3339 (0 for epoch seconds). */
static bool
parse_time(const char *s, bool round_up, int64_t *out, int64_t *ms)
{
    if (all_digits(s)) {
        uint64_t v;
        if (!nf_parse_u64(s, 0, (uint64_t)TIME_MAX, &v))
            return false;
        *out = (int64_t)v;
        if (ms != NULL)
            *ms = 0;
        return true;
    }
    return parse_rfc3339(s, round_up, out, ms);
}

/* ---- the pieces of a request ------------------------------------------------------------ */

static nf_status
parse_range(const char *const *val, int64_t now_s, nf_q_request *q, char *param, nf_err *err)
{
    const char *tr = val[P_TIME_RANGE], *s = val[P_START], *e = val[P_END];
    if (tr != NULL && (s != NULL || e != NULL))
        return refuse(err, param, "time_range", "give either time_range or start and end");
    if ((s == NULL) != (e == NULL))
        return refuse(err, param, s == NULL ? "start" : "end",
                      "missing (start and end come together)");
    if (s != NULL) {
        if (!parse_time(s, false, &q->start, NULL))
            return refuse(err, param, "start",
                          "not an RFC 3339 time (2025-04-14T12:00:00Z) or epoch seconds");
        if (!parse_time(e, true, &q->end, NULL))
            return refuse(err, param, "end",
                          "not an RFC 3339 time (2025-04-14T12:00:00Z) or epoch seconds");
        if (q->start < 0 || q->start >= TIME_MAX)
            return refuse(err, param, "start", "outside 1970-01-01 .. 2106-02-07");
        if (q->end > TIME_MAX || q->end < 0)
            return refuse(err, param, "end", "outside 1970-01-01 .. 2106-02-07");
        if (q->end <= q->start)
            return refuse(err, param, "end", "must be after start");
        return NF_OK;
    }
    int64_t end = now_s + 1, len = DEFAULT_RANGE;
    if (tr != NULL) {
        size_t i = 0;
        while (i < sizeof(ranges) / sizeof(ranges[0]) && strcmp(tr, ranges[i].name) != 0)
            i++;
        if (i == sizeof(ranges) / sizeof(ranges[0]))
            return refuse(err, param, "time_range",
                          "unknown (last_15m, last_1h, last_6h, last_24h, today, last_7d, "
                          "last_30d or last_90d)");
        len = ranges[i].seconds != 0 ? ranges[i].seconds
                                     : end - nf_floor_div(now_s, 86400) * 86400;
    }
    if (end - len < 0)
        return refuse(err, param, "time_range", "reaches before 1970-01-01");
    q->start = end - len;
    q->end = end;
    return NF_OK;
}

/* Default: the finest step giving at most NF_API_TARGET_POINTS buckets, whole days beyond. */
static uint32_t
default_interval(int64_t span)
{
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if ((span + steps[i] - 1) / steps[i] <= NF_API_TARGET_POINTS)
            return steps[i];
    int64_t days = (span + 86400LL * NF_API_TARGET_POINTS - 1) / (86400LL * NF_API_TARGET_POINTS);
    return (uint32_t)(days * 86400);
}

static nf_status
parse_interval(const char *text, nf_q_request *q, char *param, nf_err *err)
{
    if (text == NULL) {
        q->interval = default_interval(q->end - q->start);
    } else {
        uint64_t secs = 0;
        if (all_digits(text)) {
            if (!nf_parse_u64(text, 1, INTERVAL_MAX, &secs))
                return refuse(err, param, "interval", "not 1..%u seconds", INTERVAL_MAX);
        } else {
            uint64_t ms;
            if (!nf_parse_duration_ms(text, &ms))
                return refuse(err, param, "interval",
                              "not a duration (60s, 5m, 1h, 1d) or seconds");
            if (ms % 1000 != 0 || ms < 1000 || ms / 1000 > INTERVAL_MAX)
                return refuse(err, param, "interval", "not whole seconds in 1 s .. 366 d");
            secs = ms / 1000;
        }
        q->interval = (uint32_t)secs;
    }
    /* lib/query's count: buckets from the one holding start to the one holding end - 1. */
    uint64_t first = (uint64_t)q->start / q->interval, last = (uint64_t)(q->end - 1) / q->interval;
    if (last - first + 1 > BUCKETS_MAX)
        return refuse(err, param, "interval", "%" PRIu32 " s gives %" PRIu64
                      " buckets over the range (at most %u)", q->interval, last - first + 1,
                      BUCKETS_MAX);
    return NF_OK;
}

/* One filter value: one or more comma-separated conditions. */
static nf_status
parse_filters(const char *text, nf_q_request *q, char *param, nf_err *err)
{
    size_t len = strlen(text);
    const char *p = text;
    for (;;) {
        const char *comma = memchr(p, ',', len - (size_t)(p - text));
        size_t cl = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (cl == 0)
            return refuse(err, param, "filter", "empty condition (field=value, comma-separated)");
        if (q->nfilters == NF_Q_MAX_FILTERS)
            return refuse(err, param, "filter", "more than %d conditions", NF_Q_MAX_FILTERS);
        char cond[NF_API_VALUE_MAX + 1];
        memcpy(cond, p, cl); /* cl <= len <= NF_API_VALUE_MAX: checked in the first pass */
        cond[cl] = '\0';
        if (nf_q_parse_filter(cond, "filter", &q->filters[q->nfilters], err) != NF_OK)
            return rewrap(err, param, "filter");
        if (q->filters[q->nfilters].field == NF_Q_TIME)
            return refuse(err, param, "filter", "time cannot be filtered on (use start/end)");
        q->nfilters++;
        if (comma == NULL)
            return NF_OK;
        p = comma + 1;
    }
}

static nf_status
parse_bool(const char *text, const char *name, bool *out, char *param, nf_err *err)
{
    if (strcmp(text, "true") == 0)
        *out = true;
    else if (strcmp(text, "false") == 0)
        *out = false;
    else
        return refuse(err, param, name, "not true or false");
    return NF_OK;
}

/* ---- the request ------------------------------------------------------------------------ */

nf_status
nf_api_parse(const nf_api_kv *kv, size_t n, int64_t now_s, nf_api_route route,
             nf_api_request *out, char *param, nf_err *err)
{
    if (out == NULL || (kv == NULL && n > 0))
        return refuse(err, param, "", "no request (internal)");
    if (now_s < 0 || now_s > TIME_MAX - 1)
        return refuse(err, param, "", "clock outside 1970 .. 2106 (internal)");
    if (n > NF_API_MAX_PARAMS)
        return refuse(err, param, "", "%zu parameters (at most %d)", n, NF_API_MAX_PARAMS);

    /* Pass 1: names, repeats, lengths, bytes. */
    const char *val[P_COUNT] = {0};
    for (size_t i = 0; i < n; i++) {
        char shown[NF_API_PARAM_MAX];
        sanitize_name(kv[i].key, shown);
        size_t p = 0;
        while (p < P_COUNT && (kv[i].key == NULL || strcmp(kv[i].key, params[p].name) != 0))
            p++;
        if (p == P_COUNT)
            return refuse(err, param, shown, "unknown parameter (time_range, start, end, "
                          "group_by, interval, filter, metric, unscaled, limit, format, "
                          "snapshot, as_of)");
        const char *v = kv[i].value;
        if (v == NULL || v[0] == '\0')
            return refuse(err, param, shown, "empty value");
        size_t vl = strnlen(v, NF_API_VALUE_MAX + 1);
        if (vl > NF_API_VALUE_MAX)
            return refuse(err, param, shown, "value longer than %d bytes", NF_API_VALUE_MAX);
        if (has_control(v, vl))
            return refuse(err, param, shown, "control character in the value");
        if (val[p] != NULL && !params[p].repeatable)
            return refuse(err, param, shown, "given more than once");
        val[p] = v;
    }

    /* Pass 2: values. */
    nf_api_request r;
    memset(&r, 0, sizeof(r));
    for (size_t p = 0; p < P_COUNT; p++)
        if (val[p] != NULL)
            r.given |= 1u << p; /* P_* and NF_API_GIVEN_* bits are in the same order */
    nf_status st = parse_range(val, now_s, &r.q, param, err);
    if (st != NF_OK)
        return st;

    if (route == NF_API_FLOWS) {
        static const int not_here[] = {P_GROUP_BY, P_INTERVAL, P_METRIC, P_UNSCALED, P_SNAPSHOT,
                                       P_AS_OF};
        for (size_t i = 0; i < sizeof(not_here) / sizeof(not_here[0]); i++)
            if (val[not_here[i]] != NULL)
                return refuse(err, param, params[not_here[i]].name,
                              "not a parameter of /api/netflow/flows (time_range, start, end, "
                              "filter, limit, format)");
        r.q.group_by = NF_Q_NONE;
        r.q.limit = FLOWS_LIMIT_DEFAULT;
        if (val[P_LIMIT] != NULL) {
            uint64_t l;
            if (!nf_parse_u64(val[P_LIMIT], 1, NF_Q_FLOWS_MAX, &l))
                return refuse(err, param, "limit", "not 1..%u", NF_Q_FLOWS_MAX);
            r.q.limit = (uint32_t)l;
        }
    } else if (val[P_GROUP_BY] == NULL)
        return refuse(err, param, "group_by", "missing (a field, or time for a time series)");
    if (route != NF_API_FLOWS &&
        nf_q_parse_field(val[P_GROUP_BY], "group_by", &r.q.group_by, err) != NF_OK)
        return rewrap(err, param, "group_by");
    bool series = r.q.group_by == NF_Q_TIME;

    if (route == NF_API_FLOWS) {
        /* limit parsed above */
    } else if (series) {
        if ((st = parse_interval(val[P_INTERVAL], &r.q, param, err)) != NF_OK)
            return st;
        if (val[P_LIMIT] != NULL)
            return refuse(err, param, "limit", "only for top-N (group_by is time)");
        r.q.limit = LIMIT_DEFAULT;
    } else {
        if (val[P_INTERVAL] != NULL)
            return refuse(err, param, "interval", "only for group_by=time");
        r.q.limit = LIMIT_DEFAULT;
        if (val[P_LIMIT] != NULL) {
            uint64_t l;
            if (!nf_parse_u64(val[P_LIMIT], 1, LIMIT_MAX, &l))
                return refuse(err, param, "limit", "not 1..%u", LIMIT_MAX);
            r.q.limit = (uint32_t)l;
        }
    }

    /* Filters in request order (pass 1 kept only the last value of each name). */
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, "filter") == 0 &&
            (st = parse_filters(kv[i].value, &r.q, param, err)) != NF_OK)
            return st;

    r.q.metric = NF_Q_BYTES;
    if (val[P_METRIC] != NULL &&
        nf_q_parse_metric(val[P_METRIC], "metric", &r.q.metric, err) != NF_OK)
        return rewrap(err, param, "metric");
    if (val[P_UNSCALED] != NULL &&
        (st = parse_bool(val[P_UNSCALED], "unscaled", &r.q.unscaled, param, err)) != NF_OK)
        return st;

    r.format = NF_API_JSON;
    if (val[P_FORMAT] != NULL) {
        if (strcmp(val[P_FORMAT], "json") == 0)
            r.format = NF_API_JSON;
        else if (strcmp(val[P_FORMAT], "csv") == 0)
            r.format = NF_API_CSV;
        else
            return refuse(err, param, "format", "not json or csv");
    }

    if (val[P_SNAPSHOT] != NULL || val[P_AS_OF] != NULL) {
        const char *name = val[P_SNAPSHOT] != NULL ? "snapshot" : "as_of";
        if (route == NF_API_REALTIME)
            return refuse(err, param, name, "time travel is for the historical route only");
        if (val[P_SNAPSHOT] != NULL && val[P_AS_OF] != NULL)
            return refuse(err, param, "as_of", "give either snapshot or as_of");
    }
    if (val[P_SNAPSHOT] != NULL) {
        uint64_t id;
        if (!nf_parse_u64(val[P_SNAPSHOT], 1, INT64_MAX, &id))
            return refuse(err, param, "snapshot", "not a snapshot id (1..2^63-1)");
        r.snapshot_id = (int64_t)id;
    }
    if (val[P_AS_OF] != NULL) {
        int64_t t, ms;
        if (!parse_time(val[P_AS_OF], false, &t, &ms))
            return refuse(err, param, "as_of",
                          "not an RFC 3339 time (2025-04-14T12:00:00Z) or epoch seconds");
        if (t <= 0 || t > AS_OF_MAX)
            return refuse(err, param, "as_of", "outside 1970-01-01 .. 9999-12-31");
        r.as_of_ms = t * 1000 + ms;
    }
    *out = r;
    return NF_OK;
}

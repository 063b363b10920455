/* schema.c — the hot tier's tables and views (docs/clickhouse.md) and their retention.
 *
 * Everything is generated from two tables below: INGEST (the columns of `ingest`, in the
 * order the writer sends RowBinary) and ROLLUPS (name, bucket function, dimensions). The
 * statements only use SQL that ClickHouse 18.16 and current versions both accept.
 *
 * Invariants:
 *   1. NF_CH_INGEST_COLUMNS lists INGEST's names in order (checked at every apply).
 *   2. `netflow` has INGEST's columns except msg_id (those of STORED_AS in their stored form,
 *      with an ALIAS of the original name), plus the text ALIAS columns; the materialized
 *      views copy or aggregate from `ingest` only.
 *   3. zz_mv_ingest_log sorts after every other view of the database: ClickHouse pushes an
 *      insert into the views of a table in name order and stops at the first that fails,
 *      so a message is logged only once every other table has its rows. It is created
 *      last, so a half-applied schema never logs messages whose rows went nowhere.
 *   4. Every statement is idempotent (IF NOT EXISTS), so applying again repairs what is
 *      missing and two writers may apply at once.
 */
#include "clickhouse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the schema ---------------------------------------------------------------------------- */

typedef struct column {
    const char *name;
    const char *type;
} column;

/* `ingest`, in RowBinary order (invariant 1). */
static const column INGEST[] = {
    {"timestamp", "DateTime"},
    {"src_addr", "FixedString(16)"},
    {"dst_addr", "FixedString(16)"},
    {"src_port", "UInt16"},
    {"dst_port", "UInt16"},
    {"protocol", "UInt8"},
    {"bytes", "UInt64"},
    {"packets", "UInt64"},
    {"tcp_flags", "UInt8"},
    {"tos", "UInt8"},
    {"exporter", "FixedString(16)"},
    {"observation_domain", "UInt32"},
    {"sampling_rate", "UInt32"},
    {"in_if", "UInt32"},
    {"out_if", "UInt32"},
    {"src_as", "UInt32"},
    {"dst_as", "UInt32"},
    {"src_mask", "UInt8"},
    {"dst_mask", "UInt8"},
    {"next_hop", "FixedString(16)"},
    {"flow_start", "DateTime"},
    {"flow_end", "DateTime"},
    {"flow_type", "UInt8"},
    {"agent_id", "String"},
    {"msg_id", "String"},
};
#define NINGEST (sizeof(INGEST) / sizeof(INGEST[0]))

const char NF_CH_INGEST_COLUMNS[] =
    "(timestamp, src_addr, dst_addr, src_port, dst_port, protocol, bytes, packets, tcp_flags, "
    "tos, exporter, observation_domain, sampling_rate, in_if, out_if, src_as, dst_as, "
    "src_mask, dst_mask, next_hop, flow_start, flow_end, flow_type, agent_id, msg_id)";

/* Text forms of the address columns, placed in `netflow` right after `after`. The address
 * is IPv4-mapped for IPv4, which IPv6NumToString prints as "::ffff:a.b.c.d"; the text form
 * drops that prefix. ClickHouse evaluates both branches of if() on every row, so both are
 * kept cheap: the IPv4NumToString(reinterpretAsUInt32(reverse(…))) form cost 4x the whole
 * GROUP BY of the PRD's example query (docs/clickhouse.md); the repeated IPv6NumToString
 * is computed once (identical subexpressions are shared). */
typedef struct alias_col {
    const char *after;  /* stored column it follows */
    const char *name;   /* alias column */
    const char *source; /* FixedString(16) column it is computed from */
} alias_col;

static const alias_col ALIASES[] = {
    {"dst_addr", "src_ip", "src_addr"},
    {"dst_addr", "dst_ip", "dst_addr"},
    {"exporter", "exporter_ip", "exporter"},
    {"next_hop", "next_hop_ip", "next_hop"},
};

/* Columns of `ingest` that `netflow` stores in another form, to compress: the flow's end
 * as its distance from `timestamp` (the export delay, nearly constant per exporter) and its
 * start as the flow's duration, instead of two more absolute times (about 1.5 bytes per
 * flow each, 0.2-0.3 as offsets; docs/clickhouse.md). The original names stay readable as
 * ALIAS columns. Offsets are whole seconds like the DateTimes they replace; a delay beyond
 * +-68 years is clamped and a negative duration (an exporter bug) is stored as 0. */
typedef struct stored_as {
    const char *ingest;  /* INGEST column it replaces */
    const char *name;    /* stored column */
    const char *type;
    const char *compute; /* from `ingest` columns, in mv_netflow */
    const char *alias;   /* the original back, from `netflow` columns */
} stored_as;

static const stored_as STORED_AS[] = {
    {"flow_start", "flow_duration", "UInt32",
     "toUInt32(greatest(toInt64(flow_end) - toInt64(flow_start), 0))",
     "toDateTime(toInt64(timestamp) - flow_end_delay - flow_duration)"},
    {"flow_end", "flow_end_delay", "Int32",
     "toInt32(greatest(least(toInt64(timestamp) - toInt64(flow_end), 2147483647), "
     "-2147483648))",
     "toDateTime(toInt64(timestamp) - flow_end_delay)"},
};

static const stored_as *
stored_form(const char *ingest_column)
{
    for (size_t i = 0; i < sizeof(STORED_AS) / sizeof(STORED_AS[0]); i++)
        if (strcmp(STORED_AS[i].ingest, ingest_column) == 0)
            return &STORED_AS[i];
    return NULL;
}

#define IP_TEXT_FMT                                                                                \
    "if(startsWith(IPv6NumToString(%s), unhex('3A3A666666663A')), "                              \
    "substring(IPv6NumToString(%s), 8), IPv6NumToString(%s))"

typedef struct rollup {
    const char *name;    /* table; its view is "mv_" name */
    const char *bucket;  /* function of timestamp giving ts */
    const char *dims[5]; /* after ts, NULL-terminated; names of INGEST columns */
} rollup;

/* Address and port rollups have no exporter: flows from every exporter share their rows, so
 * a 2-day top-N reads few rows (with the exporter, flowgen traffic put 22 M rows in
 * rollup_1h_dst_port for 100 M flows: 385 ms per query). Questions about one exporter's
 * addresses or ports use the rollup_1h_exporter_* tables, hourly only: a one-exporter
 * question reads a slice of them, and of the raw table (whose key starts with the 5-minute
 * bucket and the exporter) at the edges. */
static const rollup ROLLUPS[] = {
    {"rollup_5m_iface", "toStartOfFiveMinute", {"exporter", "in_if", "out_if", "protocol"}},
    {"rollup_1h_iface", "toStartOfHour", {"exporter", "in_if", "out_if", "protocol"}},
    {"rollup_5m_as", "toStartOfFiveMinute", {"exporter", "src_as", "dst_as"}},
    {"rollup_1h_as", "toStartOfHour", {"exporter", "src_as", "dst_as"}},
    {"rollup_5m_dst_port", "toStartOfFiveMinute", {"protocol", "dst_port"}},
    {"rollup_1h_dst_port", "toStartOfHour", {"protocol", "dst_port"}},
    {"rollup_5m_src_addr", "toStartOfFiveMinute", {"src_addr"}},
    {"rollup_1h_src_addr", "toStartOfHour", {"src_addr"}},
    {"rollup_5m_dst_addr", "toStartOfFiveMinute", {"dst_addr"}},
    {"rollup_1h_dst_addr", "toStartOfHour", {"dst_addr"}},
    {"rollup_1h_exporter_dst_port", "toStartOfHour", {"exporter", "protocol", "dst_port"}},
    {"rollup_1h_exporter_src_addr", "toStartOfHour", {"exporter", "src_addr"}},
    {"rollup_1h_exporter_dst_addr", "toStartOfHour", {"exporter", "dst_addr"}},
};
#define NROLLUPS (sizeof(ROLLUPS) / sizeof(ROLLUPS[0]))

/* Metric columns of every rollup (all UInt64), summed by SummingMergeTree. */
#define ROLLUP_METRICS "bytes, packets, flows, bytes_scaled, packets_scaled, flows_scaled"

/* Longest database name accepted: ClickHouse has no small limit, but names end up in file
 * paths and our fixed-size statements. */
#define MAX_DB_NAME 64
/* A statement of this schema is at most a few KiB (netflow's CREATE is the longest). */
#define SQL_MAX 8192
/* Concurrent CREATE … IF NOT EXISTS of the same object can fail on older servers while the
 * other creation is in flight (DDL guard); then we retry this often, this far apart. */
#define DDL_RACE_RETRIES 40
#define DDL_RACE_PAUSE_MS 50

/* ---- statement building ------------------------------------------------------------------ */

typedef struct sql {
    char buf[SQL_MAX];
    size_t len;
    bool overflow;
} sql;

static void sql_add(sql *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sql_add(sql *s, const char *fmt, ...)
{
    if (s->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->buf + s->len, sizeof(s->buf) - s->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(s->buf) - s->len) {
        s->overflow = true;
        return;
    }
    s->len += (size_t)n;
}

static const char *
ingest_type(const char *name)
{
    for (size_t i = 0; i < NINGEST; i++)
        if (strcmp(INGEST[i].name, name) == 0)
            return INGEST[i].type;
    return NULL;
}

static bool
valid_identifier(const char *s)
{
    if (s == NULL || s[0] == '\0' || strlen(s) > MAX_DB_NAME)
        return false;
    if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (const char *p = s + 1; *p != '\0'; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '_'))
            return false;
    return true;
}

/* Invariant 1, checked rather than trusted: the two lists are edited by hand. */
static bool
ingest_columns_match(void)
{
    sql s = {.len = 0};
    sql_add(&s, "(");
    for (size_t i = 0; i < NINGEST; i++)
        sql_add(&s, "%s%s", i > 0 ? ", " : "", INGEST[i].name);
    sql_add(&s, ")");
    return !s.overflow && strcmp(s.buf, NF_CH_INGEST_COLUMNS) == 0;
}

static void
msleep(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Runs one idempotent DDL statement, retrying while a concurrent creation of the same
 * object is in flight: TABLE_ALREADY_EXISTS (57), TABLE_METADATA_ALREADY_EXISTS (58),
 * DATABASE_ALREADY_EXISTS (82), DDL_GUARD_IS_ACTIVE (337). Once the other side is done,
 * IF NOT EXISTS succeeds. */
static nf_status
exec_ddl(nf_ch *c, const sql *s, nf_err *err)
{
    if (s->overflow)
        return nf_err_set(err, NF_EINTERNAL, "clickhouse schema: statement longer than %d bytes",
                          SQL_MAX);
    nf_status st = NF_OK;
    for (int attempt = 0; attempt <= DDL_RACE_RETRIES; attempt++) {
        st = nf_ch_exec(c, s->buf, err);
        int code = nf_ch_last_code(c);
        if (st == NF_OK || !(code == 57 || code == 58 || code == 82 || code == 337))
            return st;
        msleep(DDL_RACE_PAUSE_MS);
    }
    return st;
}

/* ---- the statements ---------------------------------------------------------------------- */

static nf_status
create_netflow(nf_ch *c, const char *db, nf_err *err)
{
    sql s = {.len = 0};
    sql_add(&s, "CREATE TABLE IF NOT EXISTS %s.netflow (", db);
    for (size_t i = 0; i + 1 < NINGEST; i++) { /* all but msg_id */
        const stored_as *sa = stored_form(INGEST[i].name);
        if (sa != NULL)
            sql_add(&s, ", %s %s, %s %s ALIAS %s", sa->name, sa->type, INGEST[i].name,
                    INGEST[i].type, sa->alias);
        else
            sql_add(&s, "%s%s %s", i > 0 ? ", " : "", INGEST[i].name, INGEST[i].type);
        for (size_t a = 0; a < sizeof(ALIASES) / sizeof(ALIASES[0]); a++) {
            const char *src = ALIASES[a].source;
            if (strcmp(ALIASES[a].after, INGEST[i].name) == 0)
                sql_add(&s, ", %s String ALIAS " IP_TEXT_FMT, ALIASES[a].name, src, src, src);
        }
    }
    /* Five-minute buckets first keep time-range reads tight; the rest groups similar rows
     * so generic ZSTD compresses them well (docs/clickhouse.md). The bucket is taken in the
     * server's time zone on purpose: only the one-argument form lets 18.16 use the key for
     * a condition on timestamp (with 'UTC' a 5-minute range read 14 M rows instead of
     * 156 k), and every time zone in use has an offset of whole 5 minutes, so the buckets
     * are the same. */
    sql_add(&s, ") ENGINE = MergeTree() PARTITION BY toDate(timestamp, 'UTC') ORDER BY "
                "(toStartOfFiveMinute(timestamp), exporter, protocol, src_addr, dst_addr)");
    return exec_ddl(c, &s, err);
}

static nf_status
create_ingest(nf_ch *c, const char *db, nf_err *err)
{
    sql s = {.len = 0};
    sql_add(&s, "CREATE TABLE IF NOT EXISTS %s.ingest (", db);
    for (size_t i = 0; i < NINGEST; i++)
        sql_add(&s, "%s%s %s", i > 0 ? ", " : "", INGEST[i].name, INGEST[i].type);
    /* Null: stores nothing, only feeds the views. */
    sql_add(&s, ") ENGINE = Null");
    return exec_ddl(c, &s, err);
}

static nf_status
create_rollup(nf_ch *c, const char *db, const rollup *r, nf_err *err)
{
    sql s = {.len = 0};
    sql_add(&s, "CREATE TABLE IF NOT EXISTS %s.%s (ts DateTime", db, r->name);
    for (const char *const *d = r->dims; *d != NULL; d++) {
        const char *type = ingest_type(*d);
        if (type == NULL)
            return nf_err_set(err, NF_EINTERNAL, "clickhouse schema: %s: unknown dim %s", r->name,
                              *d);
        sql_add(&s, ", %s %s", *d, type);
    }
    sql_add(&s, ", bytes UInt64, packets UInt64, flows UInt64, bytes_scaled UInt64, "
                "packets_scaled UInt64, flows_scaled UInt64) "
                "ENGINE = SummingMergeTree((" ROLLUP_METRICS ")) "
                "PARTITION BY toDate(ts, 'UTC') ORDER BY (ts");
    for (const char *const *d = r->dims; *d != NULL; d++)
        sql_add(&s, ", %s", *d);
    sql_add(&s, ")");
    return exec_ddl(c, &s, err);
}

static nf_status
create_ingest_log(nf_ch *c, const char *db, nf_err *err)
{
    sql s = {.len = 0};
    sql_add(&s,
            "CREATE TABLE IF NOT EXISTS %s.ingest_log (msg_id String, `rows` UInt64, "
            "inserted DateTime) ENGINE = MergeTree() PARTITION BY toDate(inserted, 'UTC') "
            "ORDER BY msg_id",
            db);
    return exec_ddl(c, &s, err);
}

static nf_status
create_mv_netflow(nf_ch *c, const char *db, nf_err *err)
{
    sql s = {.len = 0};
    sql_add(&s, "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.mv_netflow TO %s.netflow AS SELECT ", db,
            db);
    for (size_t i = 0; i + 1 < NINGEST; i++) {
        const stored_as *sa = stored_form(INGEST[i].name);
        if (sa != NULL)
            sql_add(&s, "%s%s AS %s", i > 0 ? ", " : "", sa->compute, sa->name);
        else
            sql_add(&s, "%s%s", i > 0 ? ", " : "", INGEST[i].name);
    }
    sql_add(&s, " FROM %s.ingest", db);
    return exec_ddl(c, &s, err);
}

/* The view sums per block of the insert, grouped by the rollup's key, so each insert adds
 * few rows. It also groups by sampling_rate: within a group the rate is one value, so the
 * scaled sums are the raw sums times the rate. `bytes * sampling_rate` there refers to the
 * alias `bytes` (= sum(bytes)) on purpose: writing sum(bytes * sampling_rate) next to
 * `sum(bytes) AS bytes` makes ClickHouse substitute the alias inside the sum (a nested
 * aggregate error), and 18.16 cannot push into views whose FROM is a subquery. Rows of one
 * key with several rates are summed by SummingMergeTree later. */
static nf_status
create_mv_rollup(nf_ch *c, const char *db, const rollup *r, nf_err *err)
{
    sql s = {.len = 0};
    sql_add(
        &s,
        "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.mv_%s TO %s.%s AS SELECT %s(timestamp, 'UTC') "
        "AS ts",
        db, r->name, db, r->name, r->bucket);
    for (const char *const *d = r->dims; *d != NULL; d++)
        sql_add(&s, ", %s", *d);
    sql_add(&s,
            ", sum(bytes) AS bytes, sum(packets) AS packets, count() AS flows, "
            "bytes * sampling_rate AS bytes_scaled, packets * sampling_rate AS packets_scaled, "
            "flows * sampling_rate AS flows_scaled FROM %s.ingest GROUP BY ts",
            db);
    for (const char *const *d = r->dims; *d != NULL; d++)
        sql_add(&s, ", %s", *d);
    sql_add(&s, ", sampling_rate");
    return exec_ddl(c, &s, err);
}

/* Invariant 3: the name sorts last; the view is created last. */
static nf_status
create_mv_ingest_log(nf_ch *c, const char *db, nf_err *err)
{
    sql s = {.len = 0};
    sql_add(&s,
            "CREATE MATERIALIZED VIEW IF NOT EXISTS %s.zz_mv_ingest_log TO %s.ingest_log AS "
            "SELECT msg_id, count() AS `rows`, now() AS inserted FROM %s.ingest GROUP BY msg_id",
            db, db, db);
    return exec_ddl(c, &s, err);
}

/* Reads one unsigned number answered by sql into *out. */
static nf_status
query_uint(nf_ch *c, const char *sqltext, unsigned long long *out, nf_err *err)
{
    char *body = NULL;
    size_t len = 0;
    nf_status st = nf_ch_query(c, sqltext, 64, &body, &len, err);
    if (st != NF_OK)
        return st;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(body, &end, 10);
    bool ok = errno == 0 && end != body && (*end == '\n' || *end == '\0');
    if (!ok) {
        st = nf_err_set(err, NF_EUPSTREAM, "clickhouse: '%s' answered '%.40s', not a number",
                        sqltext, body);
        free(body);
        return st;
    }
    free(body);
    *out = v;
    return NF_OK;
}

/* Creates the database and schema_version, then refuses a newer version. *found is the
 * highest version recorded (0 for a new database). */
static nf_status
check_version(nf_ch *c, const char *db, unsigned long long *found, nf_err *err)
{
    sql s = {.len = 0};
    sql_add(&s, "CREATE DATABASE IF NOT EXISTS %s", db);
    nf_status st = exec_ddl(c, &s, err);
    if (st != NF_OK)
        return st;
    s = (sql){.len = 0};
    sql_add(&s,
            "CREATE TABLE IF NOT EXISTS %s.schema_version (version UInt32, applied DateTime) "
            "ENGINE = MergeTree() ORDER BY version",
            db);
    if ((st = exec_ddl(c, &s, err)) != NF_OK)
        return st;
    s = (sql){.len = 0};
    sql_add(&s, "SELECT max(version) FROM %s.schema_version", db);
    if ((st = query_uint(c, s.buf, found, err)) != NF_OK)
        return st;
    if (*found > NF_CH_SCHEMA_VERSION)
        return nf_err_set(err, NF_EUPSTREAM,
                          "clickhouse: database %s has schema version %llu, newer than this "
                          "program's %d; refusing to use it (upgrade this program)",
                          db, *found, NF_CH_SCHEMA_VERSION);
    return NF_OK;
}

nf_status
nf_ch_schema_apply(nf_ch *c, const char *db, nf_err *err)
{
    if (c == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_ch_schema_apply: NULL client");
    if (!valid_identifier(db))
        return nf_err_set(err, NF_EINVAL, "clickhouse database '%s': not a plain identifier",
                          db != NULL ? db : "(null)");
    if (!ingest_columns_match())
        return nf_err_set(err, NF_EINTERNAL,
                          "clickhouse schema: INGEST and NF_CH_INGEST_COLUMNS differ");

    unsigned long long found = 0;
    nf_status st = check_version(c, db, &found, err);
    if (st != NF_OK)
        return st;
    /* Tables before the views that write into them; the log's view last (invariant 3). */
    if ((st = create_netflow(c, db, err)) != NF_OK || (st = create_ingest(c, db, err)) != NF_OK)
        return st;
    for (size_t i = 0; i < NROLLUPS; i++)
        if ((st = create_rollup(c, db, &ROLLUPS[i], err)) != NF_OK)
            return st;
    if ((st = create_ingest_log(c, db, err)) != NF_OK ||
        (st = create_mv_netflow(c, db, err)) != NF_OK)
        return st;
    for (size_t i = 0; i < NROLLUPS; i++)
        if ((st = create_mv_rollup(c, db, &ROLLUPS[i], err)) != NF_OK)
            return st;
    if ((st = create_mv_ingest_log(c, db, err)) != NF_OK)
        return st;

    if (found == NF_CH_SCHEMA_VERSION)
        return NF_OK;
    /* Two writers starting together may both record it: harmless, readers take max(). */
    sql s = {.len = 0};
    sql_add(&s, "INSERT INTO %s.schema_version (version, applied) SELECT %d, now()", db,
            NF_CH_SCHEMA_VERSION);
    return exec_ddl(c, &s, err);
}

/* ---- retention --------------------------------------------------------------------------- */

/* Days since 1970-01-01 of "YYYY-MM-DD" (optionally in single quotes), or -1 if p is not
 * exactly such a date. */
static long
parse_day(const char *p, size_t n)
{
    if (n == 12 && p[0] == '\'' && p[11] == '\'') {
        p++;
        n -= 2;
    }
    if (n != 10 || p[4] != '-' || p[7] != '-')
        return -1;
    int v[8];
    static const int pos[8] = {0, 1, 2, 3, 5, 6, 8, 9};
    for (int i = 0; i < 8; i++) {
        if (p[pos[i]] < '0' || p[pos[i]] > '9')
            return -1;
        v[i] = p[pos[i]] - '0';
    }
    struct tm tm = {.tm_year = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3] - 1900,
                    .tm_mon = v[4] * 10 + v[5] - 1,
                    .tm_mday = v[6] * 10 + v[7]};
    if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31)
        return -1;
    int mon = tm.tm_mon, mday = tm.tm_mday;
    time_t t = timegm(&tm);
    /* timegm normalises 02-31 into March: such a name is no date of ours. */
    if (t == (time_t)-1 || tm.tm_mon != mon || tm.tm_mday != mday)
        return -1;
    return (long)(t / 86400);
}

/* True if table is one retention manages; *extra_days is how much longer it keeps data. */
static bool
retained_table(const char *table, size_t n, unsigned *extra_days)
{
    *extra_days = 0;
    if (n == strlen("netflow") && memcmp(table, "netflow", n) == 0)
        return true;
    if (n == strlen("ingest_log") && memcmp(table, "ingest_log", n) == 0) {
        /* A late redelivery must still be recognised after its rows are gone. */
        *extra_days = 1;
        return true;
    }
    for (size_t i = 0; i < NROLLUPS; i++)
        if (n == strlen(ROLLUPS[i].name) && memcmp(table, ROLLUPS[i].name, n) == 0)
            return true;
    return false;
}

/* Drops db.table's partition named day (validated "YYYY-MM-DD"). */
static nf_status
drop_partition(nf_ch *c, const char *db, const char *table, size_t tn, const char *day, nf_err *err)
{
    sql s = {.len = 0};
    sql_add(&s, "ALTER TABLE %s.%.*s DROP PARTITION '%.10s'", db, (int)tn, table, day);
    if (s.overflow)
        return nf_err_set(err, NF_EINTERNAL, "clickhouse retention: statement too long");
    return nf_ch_exec(c, s.buf, err);
}

/* Walks the "table\tpartition\n" lines of the answer and drops what is too old. */
static nf_status
drop_old(nf_ch *c, const char *db, char *body, long today, unsigned days, unsigned *dropped,
         nf_err *err)
{
    char *line = body;
    while (*line != '\0') {
        char *eol = strchr(line, '\n');
        size_t ll = eol != NULL ? (size_t)(eol - line) : strlen(line);
        char *tab = memchr(line, '\t', ll);
        unsigned extra = 0;
        if (tab != NULL && retained_table(line, (size_t)(tab - line), &extra)) {
            const char *part = tab + 1;
            size_t pn = ll - (size_t)(part - line);
            long day = parse_day(part, pn);
            if (day >= 0 && day < today - (long)days - (long)extra) {
                const char *d = pn == 12 ? part + 1 : part;
                nf_status st = drop_partition(c, db, line, (size_t)(tab - line), d, err);
                if (st != NF_OK)
                    return st;
                (*dropped)++;
            }
        }
        if (eol == NULL)
            break;
        line = eol + 1;
    }
    return NF_OK;
}

nf_status
nf_ch_retention_apply(nf_ch *c, const char *db, unsigned days, time_t now,
                      nf_ch_retention_result *res, nf_err *err)
{
    if (c == NULL || res == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_ch_retention_apply: NULL argument");
    if (!valid_identifier(db))
        return nf_err_set(err, NF_EINVAL, "clickhouse database '%s': not a plain identifier",
                          db != NULL ? db : "(null)");
    if (days < 1 || days > 100000)
        return nf_err_set(err, NF_EINVAL, "clickhouse retention: %u days (must be >= 1)", days);
    struct tm tm;
    if (gmtime_r(&now, &tm) == NULL)
        return nf_err_set(err, NF_EINVAL, "clickhouse retention: bad time %lld", (long long)now);
    long today = (long)(now / 86400);
    if (now < 0 && now % 86400 != 0)
        today--; /* floor, so that dates before 1970 stay right */

    sql s = {.len = 0};
    /* Active parts only: inactive ones are leftovers of merges about to be removed. */
    sql_add(&s,
            "SELECT table, partition FROM system.parts WHERE database = '%s' AND active "
            "GROUP BY table, partition ORDER BY table, partition",
            db);
    char *body = NULL;
    size_t len = 0;
    nf_status st = nf_ch_query(c, s.buf, 0, &body, &len, err);
    if (st != NF_OK)
        return st;
    unsigned dropped = 0;
    st = drop_old(c, db, body, today, days, &dropped, err);
    free(body);
    if (st != NF_OK)
        return st;
    res->partitions_dropped = dropped;
    res->tables = (unsigned)NROLLUPS + 2; /* netflow, the rollups, ingest_log */
    return NF_OK;
}

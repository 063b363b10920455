/* duck.c — the SQL for the same typed questions as build.c, asked of the cold tier's Parquet
 * data files through DuckDB (read_parquet over a list of files a scan chose). See query.h
 * for the result shapes, which are ClickHouse's; lib/cold/table.h for the columns.
 *
 * Design notes
 *
 * 1. Same questions, same answers. Validation is build.c's (q_check_request), so both
 *    builders refuse the same requests with the same messages. The data differ in form
 *    only: the Iceberg table keeps addresses as canonical text (IPv4 dotted quad, IPv6
 *    RFC 5952 as inet_ntop prints it), whole-second timestamps as timestamptz, counters
 *    unscaled beside sampling_rate — the raw ClickHouse table's content. Every metric is
 *    raw_metric() of build.c written for DuckDB.
 *
 * 2. Counters wrap as ClickHouse's do. ClickHouse sums UInt64 (bytes * sampling_rate) and
 *    wraps modulo 2^64 on overflow; DuckDB's BIGINT product would raise an error instead. So
 *    the product is taken in HUGEINT (128 bits, cannot overflow for 64 × 32-bit factors and
 *    any realistic row count), summed, and reduced modulo 2^64 into UBIGINT. The reduction
 *    also maps a counter ≥ 2^63 (stored in an Iceberg long as its two's complement) back to
 *    the unsigned value ClickHouse sums. The top-N order is taken on the reduced value, as
 *    ClickHouse orders its wrapped sums.
 *
 * 3. Address order and ranges without an inet type. ClickHouse orders and filters
 *    addresses by their 16 bytes (IPv4-mapped for IPv4). Here a text address x gets a sort
 *    key of 32 lowercase hex digits equal to those 16 bytes (hex preserves byte order, and
 *    DuckDB compares VARCHAR bytewise):
 *      IPv4 (no ':'):  '00000000000000000000ffff' || printf('%08x', a*2^24 + b*2^16 + c*2^8 + d)
 *      IPv6:           a dotted tail ("::1.2.3.4") becomes two hex groups, "::" is replaced
 *                      by the missing ":0" groups, and each group is padded to 4 digits.
 *    A range filter [lo, hi] is cut where the IPv4-mapped block ::ffff:0:0/96 begins and
 *    ends: the part inside is a range of IPv4 numbers, the parts outside ranges of IPv6
 *    keys on rows whose text has a ':'. Each part is tested exactly; where the range is a
 *    whole text prefix ("10.1." for 10.1.0.0/16, "2001:db8:" for 2001:db8::/32) the prefix
 *    test alone is exact and nothing is parsed, otherwise the prefix is a cheap first test
 *    and the key comparison decides. A single address is an equality on the text (which
 *    Parquet statistics can prune on). Every cast is TRY_CAST, because DuckDB may evaluate
 *    the terms of an AND in any order (adaptive filters): an IPv6 text reaching the IPv4
 *    arithmetic yields NULL (no match), never an error.
 *
 * 4. Paths. They come from our own scan, yet they are still checked: no control
 *    characters, no glob characters ('*', '?', '[': read_parquet would expand them into
 *    other files), at most PATH_MAX bytes; single quotes are doubled. hive_partitioning is
 *    off, so a directory named like "k=v" never adds a column.
 *
 * 5. Nothing a user typed reaches the SQL: numbers are printed from typed fields, addresses
 *    as text nf_addr_format produced from 16 bytes, column names from the table below.
 */
#include "query_int.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"

/* Column of the cold table (lib/cold/table.h) for each field; quoted identifiers. */
static const char *const columns[] = {
    [NF_Q_SRC_ADDR] = "\"src_ip\"",     [NF_Q_DST_ADDR] = "\"dst_ip\"",
    [NF_Q_SRC_PORT] = "\"src_port\"",   [NF_Q_DST_PORT] = "\"dst_port\"",
    [NF_Q_PROTOCOL] = "\"protocol\"",   [NF_Q_EXPORTER] = "\"exporter_ip\"",
    [NF_Q_IN_IF] = "\"in_if\"",         [NF_Q_OUT_IF] = "\"out_if\"",
    [NF_Q_SRC_AS] = "\"src_as\"",       [NF_Q_DST_AS] = "\"dst_as\"",
};

/* 2^64 as a DuckDB literal (parsed as HUGEINT): note 2's modulus. */
#define TWO64 "18446744073709551616"

static const uint8_t v4_first[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0};
static const uint8_t v4_last[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

/* ---- address expressions (note 3) ------------------------------------------------------ */

/* The IPv4 number of text column col, NULL for anything that is not a dotted quad. */
static void
put_v4num(FILE *f, const char *col)
{
    fprintf(f,
            "(TRY_CAST(split_part(%s, '.', 1) AS BIGINT) * 16777216 + "
            "TRY_CAST(split_part(%s, '.', 2) AS BIGINT) * 65536 + "
            "TRY_CAST(split_part(%s, '.', 3) AS BIGINT) * 256 + "
            "TRY_CAST(split_part(%s, '.', 4) AS BIGINT))",
            col, col, col, col);
}

/* col with a dotted IPv4 tail rewritten as two hex groups ("::1.2.3.4" → "::102:304"). */
static void
put_v6norm(FILE *f, const char *col)
{
    fprintf(f, "(CASE WHEN contains(%s, '.') THEN regexp_replace(%s, '[^:]*$', '') || "
               "printf('%%x:%%x', ",
            col, col);
    for (int i = 1; i <= 4; i++)
        fprintf(f, "TRY_CAST(split_part(string_split(%s, ':')[-1], '.', %d) AS INTEGER)%s", col,
                i, i == 1 || i == 3 ? " * 256 + " : i == 2 ? ", " : "");
    fprintf(f, ") ELSE %s END)", col);
}

/* The 32-hex-digit key of an IPv6 text column col (meaningless for IPv4 text). */
static void
put_v6key(FILE *f, const char *col)
{
    fprintf(f, "array_to_string(list_transform(list_filter(string_split(replace(");
    put_v6norm(f, col);
    fprintf(f, ", '::', ':' || repeat('0:', 8 - len(list_filter(string_split(");
    put_v6norm(f, col);
    fprintf(f, ", ':'), lambda g: g <> '')))), ':'), lambda g: g <> ''), "
               "lambda g: lpad(g, 4, '0')), '')");
}

/* The sort key of any address text: 32 hex digits of its 16-byte form. */
static void
put_addr_key(FILE *f, const char *col)
{
    fprintf(f, "(CASE WHEN contains(%s, ':') THEN ", col);
    put_v6key(f, col);
    fprintf(f, " ELSE '00000000000000000000ffff' || printf('%%08x', ");
    put_v4num(f, col);
    fprintf(f, ") END)");
}

static void
hex16(const uint8_t a[16], char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = digits[a[i] >> 4];
        out[2 * i + 1] = digits[a[i] & 15];
    }
    out[32] = '\0';
}

static void
put_addr_eq(FILE *f, const char *col, const uint8_t a[16])
{
    char text[NF_ADDR_STRLEN];
    fprintf(f, "%s = '%s'", col, nf_addr_format(a, text));
}

/* The text prefix every IPv4 address in [a, b] (a < b) starts with: its leading octets
 * common to a and b, each followed by '.' ("10.1." — the dot makes "10.10.0.1" not match).
 * *whole: the range is exactly the addresses under that prefix (when the prefix is empty,
 * every IPv4 address). Returns the prefix length. */
static size_t
v4_prefix(uint32_t a, uint32_t b, char prefix[16], bool *whole)
{
    int common = 0;
    while (common < 3 && ((a >> (24 - 8 * common)) & 255) == ((b >> (24 - 8 * common)) & 255))
        common++;
    uint32_t rest = common == 0 ? UINT32_MAX : (UINT32_MAX >> (8 * common));
    *whole = (a & rest) == 0 && (b & rest) == rest;
    size_t used = 0;
    prefix[0] = '\0';
    for (int i = 0; i < common; i++)
        used += (size_t)snprintf(prefix + used, 16 - used, "%u.",
                                 (unsigned)((a >> (24 - 8 * i)) & 255));
    return used;
}

/* The text prefix every IPv6 address in [a, b] (a < b, outside the IPv4-mapped block)
 * starts with. Groups before the first zero group are printed as they are, each followed
 * by ':' (a zero group may start the "::"), so the common ones up to the first zero group
 * make the prefix. *whole: the range is exactly the addresses under it (never when the
 * prefix is empty). Returns the prefix length. */
static size_t
v6_prefix(const uint8_t a[16], const uint8_t b[16], char prefix[48], bool *whole)
{
    int common = 0;
    while (common < 8 && memcmp(a + 2 * common, b + 2 * common, 2) == 0)
        common++;
    int printed = 0;
    size_t used = 0;
    prefix[0] = '\0';
    while (printed < common && (a[2 * printed] | a[2 * printed + 1]) != 0) {
        used += (size_t)snprintf(prefix + used, 48 - used, "%x:",
                                 (unsigned)(a[2 * printed] << 8 | a[2 * printed + 1]));
        printed++;
    }
    *whole = printed == common && printed > 0;
    for (int i = 2 * common; *whole && i < 16; i++)
        *whole = a[i] == 0 && b[i] == 0xff;
    return used;
}

/* IPv4 numbers [a, b], a < b (note 3). */
static void
put_v4_range(FILE *f, const char *col, uint32_t a, uint32_t b)
{
    char prefix[16];
    bool whole;
    size_t plen = v4_prefix(a, b, prefix, &whole);
    if (whole && plen == 0) {
        fprintf(f, "NOT contains(%s, ':')", col);
        return;
    }
    if (whole) {
        fprintf(f, "starts_with(%s, '%s')", col, prefix);
        return;
    }
    fprintf(f, "(");
    if (plen > 0)
        fprintf(f, "starts_with(%s, '%s') AND ", col, prefix);
    put_v4num(f, col);
    fprintf(f, " BETWEEN %" PRIu32 " AND %" PRIu32 ")", a, b);
}

/* IPv6 addresses [a, b], a < b, both outside the IPv4-mapped block (note 3). */
static void
put_v6_range(FILE *f, const char *col, const uint8_t a[16], const uint8_t b[16])
{
    char prefix[48];
    bool whole;
    size_t plen = v6_prefix(a, b, prefix, &whole);
    if (whole) {
        fprintf(f, "starts_with(%s, '%s')", col, prefix);
        return;
    }
    char lo[33], hi[33];
    hex16(a, lo);
    hex16(b, hi);
    fprintf(f, "(contains(%s, ':') AND ", col);
    if (plen > 0)
        fprintf(f, "starts_with(%s, '%s') AND ", col, prefix);
    put_v6key(f, col);
    fprintf(f, " BETWEEN '%s' AND '%s')", lo, hi);
}

/* a - 1 and a + 1 on 16 big-endian bytes (callers never cross 0 or 2^128 - 1). */
static void
addr_step(uint8_t a[16], int delta)
{
    for (int i = 15; i >= 0; i--) {
        a[i] = (uint8_t)(a[i] + delta);
        if (a[i] != (delta > 0 ? 0 : 0xff))
            break;
    }
}

static uint32_t
v4_of(const uint8_t a[16])
{
    return (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
}

/* One part of an address range (note 3): wholly below, inside or above the IPv4-mapped
 * block. */
typedef struct section {
    bool v4;
    uint8_t lo[16], hi[16];
} section;

/* Cuts [lo, hi] at the edges of the IPv4-mapped block; returns the number of parts (1-3). */
static size_t
cut_sections(const uint8_t lo[16], const uint8_t hi[16], section out[NF_Q_TEXT_RANGES])
{
    size_t n = 0;
    if (memcmp(lo, v4_first, 16) < 0) { /* below ::ffff:0.0.0.0 */
        uint8_t end[16];
        memcpy(end, v4_first, 16);
        addr_step(end, -1);
        out[n].v4 = false;
        memcpy(out[n].lo, lo, 16);
        memcpy(out[n].hi, memcmp(hi, end, 16) < 0 ? hi : end, 16);
        n++;
    }
    if (memcmp(lo, v4_last, 16) <= 0 && memcmp(hi, v4_first, 16) >= 0) { /* IPv4 */
        out[n].v4 = true;
        memcpy(out[n].lo, memcmp(lo, v4_first, 16) > 0 ? lo : v4_first, 16);
        memcpy(out[n].hi, memcmp(hi, v4_last, 16) < 0 ? hi : v4_last, 16);
        n++;
    }
    if (memcmp(hi, v4_last, 16) > 0) { /* above ::ffff:255.255.255.255 */
        uint8_t start[16];
        memcpy(start, v4_last, 16);
        addr_step(start, +1);
        out[n].v4 = false;
        memcpy(out[n].lo, memcmp(lo, start, 16) > 0 ? lo : start, 16);
        memcpy(out[n].hi, hi, 16);
        n++;
    }
    return n;
}

/* An address range filter: the parts below, inside and above the IPv4-mapped block. */
static void
put_addr_range(FILE *f, const char *col, const uint8_t lo[16], const uint8_t hi[16])
{
    if (memcmp(lo, hi, 16) == 0) {
        put_addr_eq(f, col, lo);
        return;
    }
    section sec[NF_Q_TEXT_RANGES];
    size_t n = cut_sections(lo, hi, sec);
    fprintf(f, "(");
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%s", i ? " OR " : "");
        if (memcmp(sec[i].lo, sec[i].hi, 16) == 0)
            put_addr_eq(f, col, sec[i].lo);
        else if (sec[i].v4)
            put_v4_range(f, col, v4_of(sec[i].lo), v4_of(sec[i].hi));
        else
            put_v6_range(f, col, sec[i].lo, sec[i].hi);
    }
    fprintf(f, ")");
}

bool
nf_q_addr_text_bounds(const nf_q_filter *f, nf_q_text_range out[NF_Q_TEXT_RANGES], size_t *n)
{
    const q_field_info *fi = f != NULL ? q_field_get(f->field) : NULL;
    if (fi == NULL || fi->kind != Q_KIND_ADDR || memcmp(f->lo, f->hi, 16) > 0)
        return false;
    section sec[NF_Q_TEXT_RANGES];
    size_t ns = cut_sections(f->lo, f->hi, sec);
    nf_q_text_range tr[NF_Q_TEXT_RANGES];
    for (size_t i = 0; i < ns; i++) {
        if (memcmp(sec[i].lo, sec[i].hi, 16) == 0) { /* one address: its text */
            nf_addr_format(sec[i].lo, tr[i].lo);
            memcpy(tr[i].hi, tr[i].lo, sizeof(tr[i].hi));
            continue;
        }
        bool whole;
        size_t plen = sec[i].v4 ? v4_prefix(v4_of(sec[i].lo), v4_of(sec[i].hi), tr[i].lo, &whole)
                                : v6_prefix(sec[i].lo, sec[i].hi, tr[i].lo, &whole);
        if (plen == 0)
            return false; /* no prefix: texts anywhere */
        /* Every text starting with the prefix lies in [prefix, prefix "\xff"]: the other
         * characters of an address text are ASCII, below 0xff. */
        memcpy(tr[i].hi, tr[i].lo, plen);
        tr[i].hi[plen] = (char)0xff;
        tr[i].hi[plen + 1] = '\0';
    }
    memcpy(out, tr, ns * sizeof(tr[0]));
    *n = ns;
    return true;
}

/* ---- the query ------------------------------------------------------------------------- */

/* build.c's sb_filters: filters on one field ORed, fields ANDed, in field order. */
static void
put_filters(FILE *f, const nf_q_request *req)
{
    for (unsigned fld = NF_Q_NONE + 1; fld < NF_Q_TIME; fld++) {
        bool first = true;
        for (size_t i = 0; i < req->nfilters; i++) {
            const nf_q_filter *flt = &req->filters[i];
            if ((unsigned)flt->field != fld)
                continue;
            fprintf(f, "%s", first ? " AND (" : " OR ");
            if (q_field_get(flt->field)->kind == Q_KIND_ADDR)
                put_addr_range(f, columns[fld], flt->lo, flt->hi);
            else
                fprintf(f, "%s = %llu", columns[fld], (unsigned long long)flt->value);
            first = false;
        }
        if (!first)
            fprintf(f, ")");
    }
}

/* build.c's raw_metric (note 2), reduced modulo 2^64 into UBIGINT. */
static void
put_metric(FILE *f, const nf_q_request *req)
{
    static const char *const exprs[][2] = {
        [NF_Q_BYTES] = {"sum(CAST(\"bytes\" AS HUGEINT) * \"sampling_rate\")", "sum(\"bytes\")"},
        [NF_Q_PACKETS] = {"sum(CAST(\"packets\" AS HUGEINT) * \"sampling_rate\")",
                          "sum(\"packets\")"},
        [NF_Q_FLOWS] = {"sum(\"sampling_rate\")", "count(*)"},
    };
    fprintf(f, "CAST(((CAST(%s AS HUGEINT) %% " TWO64 ") + " TWO64 ") %% " TWO64 " AS UBIGINT)",
            exprs[req->metric][req->unscaled ? 1 : 0]);
}

/* read_parquet([...]) over the files (quoted as SQL string literals). */
static void
put_file_list(FILE *f, const char *const *files, size_t n)
{
    fprintf(f, " FROM read_parquet([");
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ", '" : "'", f);
        for (const char *p = files[i]; *p; p++) {
            if (*p == '\'')
                fputc('\'', f);
            fputc(*p, f);
        }
        fputc('\'', f);
    }
    fprintf(f, "], hive_partitioning = false)");
}

/* read_parquet([...]) over the files, and the time range. */
static void
put_from(FILE *f, const nf_q_request *req, const char *const *files, size_t nfiles)
{
    put_file_list(f, files, nfiles);
    fprintf(f,
            " WHERE \"timestamp\" >= to_timestamp(%" PRId64
            ") AND \"timestamp\" < to_timestamp(%" PRId64 ")",
            req->start, req->end);
    put_filters(f, req);
}

static void
put_top(FILE *f, const nf_q_request *req, const char *const *files, size_t nfiles)
{
    const q_field_info *fi = q_field_get(req->group_by);
    const char *col = columns[req->group_by];
    bool addr = fi->kind == Q_KIND_ADDR;
    /* k: the group column, v: the reduced sum, o: the order key (address bytes as hex). */
    fprintf(f, "SELECT key, value FROM (\n SELECT %s AS key, v AS value, ",
            addr ? "k" : "CAST(k AS VARCHAR)");
    if (addr)
        put_addr_key(f, "k");
    else
        fprintf(f, "k");
    fprintf(f, " AS o FROM (\n  SELECT %s AS k, ", col);
    put_metric(f, req);
    fprintf(f, " AS v");
    put_from(f, req, files, nfiles);
    fprintf(f, " GROUP BY k\n )\n) ORDER BY value DESC, o LIMIT %u", req->limit);
}

static void
put_series(FILE *f, const nf_q_request *req, const char *const *files, size_t nfiles)
{
    /* The bucket start in epoch seconds: timestamps are whole non-negative seconds. */
    fprintf(f, "SELECT ts, value FROM (\n SELECT epoch_us(\"timestamp\") // 1000000 // %u * %u AS ts, ",
            req->interval, req->interval);
    put_metric(f, req);
    fprintf(f, " AS value");
    put_from(f, req, files, nfiles);
    fprintf(f, " GROUP BY ts\n) ORDER BY ts");
}

static nf_status
check_files(const char *const *files, size_t nfiles, nf_err *err)
{
    if (nfiles > 0 && files == NULL)
        return nf_err_set(err, NF_EINVAL, "files: missing list of %zu paths", nfiles);
    for (size_t i = 0; i < nfiles; i++) {
        const char *p = files[i];
        if (p == NULL || p[0] == '\0')
            return nf_err_set(err, NF_EINVAL, "files[%zu]: empty path", i);
        size_t len = strnlen(p, PATH_MAX + 1);
        if (len > PATH_MAX)
            return nf_err_set(err, NF_EINVAL, "files[%zu]: path longer than %d bytes", i,
                              PATH_MAX);
        for (size_t j = 0; j < len; j++) {
            unsigned char c = (unsigned char)p[j];
            if (c < 0x20 || c == 0x7f)
                return nf_err_set(err, NF_EINVAL,
                                  "files[%zu]: control character 0x%02x at byte %zu of \"%.64s\"",
                                  i, c, j, p);
            if (c == '*' || c == '?' || c == '[')
                return nf_err_set(err, NF_EINVAL,
                                  "files[%zu]: glob character '%c' in \"%.64s\" (read_parquet "
                                  "would expand it)",
                                  i, c, p);
        }
    }
    return NF_OK;
}

nf_status
nf_q_build_duckdb(const nf_q_request *req, const char *const *files, size_t nfiles, char **sql,
                  nf_err *err)
{
    if (sql == NULL)
        return nf_err_set(err, NF_EINVAL, "sql: missing output pointer");
    nf_status st = q_check_request(req, err);
    if (st == NF_OK)
        st = check_files(files, nfiles, err);
    if (st != NF_OK)
        return st;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return nf_err_sys(err, NF_ENOMEM, errno, "query: open_memstream for the SQL");
    if (nfiles == 0) /* nothing to read: the result's shape, no rows */
        fprintf(f, "SELECT CAST(NULL AS %s) AS %s, CAST(NULL AS UBIGINT) AS value WHERE false",
                req->group_by == NF_Q_TIME ? "BIGINT" : "VARCHAR",
                req->group_by == NF_Q_TIME ? "ts" : "key");
    else if (req->group_by == NF_Q_TIME)
        put_series(f, req, files, nfiles);
    else
        put_top(f, req, files, nfiles);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        free(text);
        return nf_err_set(err, NF_ENOMEM, "query: out of memory building the DuckDB SQL");
    }
    *sql = text;
    return NF_OK;
}

/* ---- raw files and hourly rollups (nf_q_build_duckdb_parts) ------------------------------ */

/* Note 6. A mixed answer sums partial sums: each part aggregates its own rows exactly in
 * HUGEINT (GROUP BY the key), the parts are joined by UNION ALL, and the outer query sums
 * them and reduces modulo 2^64 once — note 2's reduction, so the value equals the raw-only
 * one. A rollup stores each sum modulo 2^64 as a two's-complement long; summed as HUGEINT it
 * is congruent to the true sum, which is all the final reduction needs. */

#define HOUR 3600

/* Spans: sorted, non-empty, inside [start, end); rollup ones hour-aligned. */
static nf_status
check_spans(const nf_q_request *req, const nf_q_span *s, size_t n, bool hourly,
            const char *what, int64_t *total, nf_err *err)
{
    if (n > 0 && s == NULL)
        return nf_err_set(err, NF_EINVAL, "%s: missing list of %zu spans", what, n);
    for (size_t i = 0; i < n; i++) {
        if (s[i].start >= s[i].end || s[i].start < req->start || s[i].end > req->end ||
            (i > 0 && s[i].start < s[i - 1].end))
            return nf_err_set(err, NF_EINVAL,
                              "%s[%zu]: [%" PRId64 ", %" PRId64 ") is empty, outside [%" PRId64
                              ", %" PRId64 ") or out of order",
                              what, i, s[i].start, s[i].end, req->start, req->end);
        if (hourly && (s[i].start % HOUR != 0 || s[i].end % HOUR != 0))
            return nf_err_set(err, NF_EINVAL, "%s[%zu]: [%" PRId64 ", %" PRId64
                              ") is not whole hours", what, i, s[i].start, s[i].end);
        *total += s[i].end - s[i].start;
    }
    return NF_OK;
}

/* The part's rows: the spans on time column tcol (µs), then the filters. */
static void
put_part_where(FILE *f, const nf_q_request *req, const char *tcol, const nf_q_span *s, size_t n)
{
    fprintf(f, " WHERE (");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s(%s >= to_timestamp(%" PRId64 ") AND %s < to_timestamp(%" PRId64 "))",
                i ? " OR " : "", tcol, s[i].start, tcol, s[i].end);
    fprintf(f, ")");
    put_filters(f, req);
}

/* One part: key k (group column or bucket start t) and its exact partial sum p. */
static void
put_part(FILE *f, const nf_q_request *req, bool rollup, const char *const *files, size_t nfiles,
         const nf_q_span *spans, size_t nspans)
{
    static const char *const raw_sum[][2] = {
        [NF_Q_BYTES] = {"sum(CAST(\"bytes\" AS HUGEINT) * \"sampling_rate\")",
                        "sum(CAST(\"bytes\" AS HUGEINT))"},
        [NF_Q_PACKETS] = {"sum(CAST(\"packets\" AS HUGEINT) * \"sampling_rate\")",
                          "sum(CAST(\"packets\" AS HUGEINT))"},
        [NF_Q_FLOWS] = {"sum(CAST(\"sampling_rate\" AS HUGEINT))", "CAST(count(*) AS HUGEINT)"},
    };
    static const char *const rollup_sum[][2] = {
        [NF_Q_BYTES] = {"sum(CAST(\"bytes_scaled\" AS HUGEINT))", "sum(CAST(\"bytes\" AS HUGEINT))"},
        [NF_Q_PACKETS] = {"sum(CAST(\"packets_scaled\" AS HUGEINT))",
                          "sum(CAST(\"packets\" AS HUGEINT))"},
        [NF_Q_FLOWS] = {"sum(CAST(\"flows_scaled\" AS HUGEINT))",
                        "sum(CAST(\"flows\" AS HUGEINT))"},
    };
    const char *tcol = rollup ? "\"ts\"" : "\"timestamp\"";
    if (req->group_by == NF_Q_TIME)
        fprintf(f, "SELECT epoch_us(%s) // 1000000 // %u * %u AS k, ", tcol, req->interval,
                req->interval);
    else
        fprintf(f, "SELECT %s AS k, ", columns[req->group_by]);
    fprintf(f, "%s AS p", (rollup ? rollup_sum : raw_sum)[req->metric][req->unscaled ? 1 : 0]);
    put_file_list(f, files, nfiles);
    put_part_where(f, req, tcol, spans, nspans);
    fprintf(f, " GROUP BY k");
}

nf_status
nf_q_build_duckdb_parts(const nf_q_request *req, const nf_q_cold_parts *parts, char **sql,
                        nf_err *err)
{
    if (sql == NULL || parts == NULL)
        return nf_err_set(err, NF_EINVAL, "%s: missing", sql == NULL ? "sql" : "parts");
    nf_status st = q_check_request(req, err);
    int64_t covered = 0;
    if (st == NF_OK)
        st = check_files(parts->raw_files, parts->nraw_files, err);
    if (st == NF_OK)
        st = check_files(parts->rollup_files, parts->nrollup_files, err);
    if (st == NF_OK)
        st = check_spans(req, parts->raw_spans, parts->nraw_spans, false, "raw_spans", &covered,
                         err);
    if (st == NF_OK)
        st = check_spans(req, parts->rollup_spans, parts->nrollup_spans, true, "rollup_spans",
                         &covered, err);
    if (st != NF_OK)
        return st;
    /* Each list is sorted and inside [start, end): they are disjoint and cover it exactly
     * when no raw span overlaps a rollup span and the lengths add up. */
    for (size_t i = 0, j = 0; i < parts->nraw_spans && j < parts->nrollup_spans;) {
        const nf_q_span *a = &parts->raw_spans[i], *b = &parts->rollup_spans[j];
        if (a->start < b->end && b->start < a->end)
            return nf_err_set(err, NF_EINVAL, "raw_spans[%zu] overlaps rollup_spans[%zu]", i, j);
        if (a->end <= b->start)
            i++;
        else
            j++;
    }
    if (covered != req->end - req->start)
        return nf_err_set(err, NF_EINVAL, "spans cover %" PRId64 " s of [%" PRId64 ", %" PRId64
                          ")", covered, req->start, req->end);
    if (parts->nrollup_spans > 0 && nf_q_family_for(req) == NULL)
        return nf_err_set(err, NF_EINVAL, "rollup_spans: no rollup family has every field of "
                          "the request (or raw_only)");
    if (parts->nrollup_spans > 0 && req->group_by == NF_Q_TIME && req->interval % HOUR != 0)
        return nf_err_set(err, NF_EINVAL, "rollup_spans: interval %u is not a multiple of %d",
                          req->interval, HOUR);

    bool has_raw = parts->nraw_files > 0 && parts->nraw_spans > 0;
    bool has_rollup = parts->nrollup_files > 0 && parts->nrollup_spans > 0;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return nf_err_sys(err, NF_ENOMEM, errno, "query: open_memstream for the SQL");
    bool series = req->group_by == NF_Q_TIME;
    if (!has_raw && !has_rollup) {
        fprintf(f, "SELECT CAST(NULL AS %s) AS %s, CAST(NULL AS UBIGINT) AS value WHERE false",
                series ? "BIGINT" : "VARCHAR", series ? "ts" : "key");
    } else {
        bool addr = !series && q_field_get(req->group_by)->kind == Q_KIND_ADDR;
        if (series)
            fprintf(f, "SELECT ts, value FROM (\n SELECT k AS ts, ");
        else
            fprintf(f, "SELECT key, value FROM (\n SELECT %s AS key, v AS value, ",
                    addr ? "k" : "CAST(k AS VARCHAR)");
        if (!series) {
            if (addr)
                put_addr_key(f, "k");
            else
                fprintf(f, "k");
            fprintf(f, " AS o FROM (\n  SELECT k, ");
        }
        fprintf(f, "CAST(((sum(p) %% " TWO64 ") + " TWO64 ") %% " TWO64 " AS UBIGINT) AS %s "
                   "FROM (\n   ",
                series ? "value" : "v");
        if (has_raw)
            put_part(f, req, false, parts->raw_files, parts->nraw_files, parts->raw_spans,
                     parts->nraw_spans);
        if (has_raw && has_rollup)
            fprintf(f, "\n   UNION ALL\n   ");
        if (has_rollup)
            put_part(f, req, true, parts->rollup_files, parts->nrollup_files,
                     parts->rollup_spans, parts->nrollup_spans);
        if (series)
            fprintf(f, "\n  ) GROUP BY k\n) ORDER BY ts");
        else
            fprintf(f, "\n  ) GROUP BY k\n )\n) ORDER BY value DESC, o LIMIT %u", req->limit);
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        free(text);
        return nf_err_set(err, NF_ENOMEM, "query: out of memory building the DuckDB SQL");
    }
    *sql = text;
    return NF_OK;
}

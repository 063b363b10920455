/* flowfile.c — flows → sorted zstd Parquet files with Iceberg statistics (see flowfile.h).
 *
 * Path of a write:
 *   1. sort:   (timestamp, index) keys sorted in C by timestamp, exporter, protocol, source,
 *              destination (16-byte forms): each day's flows are then one run, in file order.
 *   2. stage:  per day, the run goes into the temp table nf_flowfile_stage through DuckDB's
 *              appender, a data chunk (2048 rows) at a time: values are written straight into
 *              the chunk's vectors, far cheaper than one append call per value.
 *   3. copy:   COPY (SELECT * FROM stage) — insertion order is kept — TO
 *              <daydir>/.tmp-<uuid>/ with FIELD_IDS from lib/cold and FILE_SIZE_BYTES, so
 *              DuckDB splits a huge partition itself; RETURN_STATS lists the files written.
 *   4. describe: each file is read back by nf_pqstats_read (pqstats.h: one aggregate over
 *              all columns, then parquet_metadata for compressed column sizes) for exact
 *              bounds of what is really in the file; the rows must lie in the day.
 *   5. publish: fsync the file, rename it to <daydir>/<uuid>.parquet, fsync the directory.
 * Compaction (nf_flowfile_rewrite) is steps 3–5 with read_parquet() ... ORDER BY
 * NF_FLOWFILE_ORDER_BY as the source (addresses in text order there: SQL has only the text).
 *
 * Why the bounds come from DuckDB and not from the C loop: the same code then serves the
 * write and the rewrite (whose rows never pass through C), and the statistics describe the
 * bytes on disk, not what we meant to write.
 *
 * Invariants:
 *   1. A file appears under its final name only complete and fsync'd.
 *   2. On failure nothing created by the call remains (temp dirs and published files).
 *   3. out->files[i].cols[j].field_id == j + 1 for every column of lib/cold.
 */
#include "flowfile.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/files.h"
#include "cold/table.h"
#include "pqstats.h"

#define STAGE "nf_flowfile_stage"
/* zstd level, measured with bench/flowfile_bench.c on 2 M flowgen flows: level 3 10.84,
 * 6 10.49, 9 10.45, 15 10.38 bytes per flow; 3, 6 and 9 write at the same speed within the
 * noise (the Parquet encoding, the sort and the staging dominate), 15 is 3x slower. */
#ifndef NF_FLOWFILE_ZSTD_LEVEL
#define NF_FLOWFILE_ZSTD_LEVEL 9
#endif
/* Rows per row group: large groups give the dictionaries and zstd more to work with
 * (1 M flowgen flows: 100 000-row groups 12.39 bytes per flow, 1 M-row groups 10.85); a day
 * of one collector is millions of rows, read by time range through the file's bounds.
 * Turning dictionaries off costs 46 % (15.85). */
#ifndef NF_FLOWFILE_ROW_GROUP_ROWS
#define NF_FLOWFILE_ROW_GROUP_ROWS 1000000
#endif
/* Order of the rewrite, and (as 16-byte forms) of the write. Measured inside a second with
 * SQL text order (1 M flowgen flows, zstd 3): timestamp alone 13.32 bytes per flow;
 * + exporter, protocol, src, dst 10.85; + protocol, dst_port, dst, src 11.50; + exporter,
 * protocol, dst, dst_port, src 10.89; + src, dst 10.95; + dst, src 10.94. The sort costs
 * about a fifth of the write in DuckDB; sorting the keys in C is 10 % faster overall and
 * needs no sorted copy in DuckDB (2 M flows: 1.86 → 1.54 GB peak RSS), for 0.3 % more bytes
 * (numeric rather than text order of the addresses). */
#ifndef NF_FLOWFILE_ORDER_BY
#define NF_FLOWFILE_ORDER_BY "\"timestamp\", exporter_ip, protocol, src_ip, dst_ip"
#endif
/* More COPY options (e.g. PARQUET_VERSION); measured, see below. */
#ifndef NF_FLOWFILE_EXTRA_OPTIONS
#define NF_FLOWFILE_EXTRA_OPTIONS ""
#endif
/* 9999-12-31T23:59:59Z in ms: the last second every Parquet and Iceberg reader accepts. */
#define MAX_MS 253402300799000ull
#define SQL_MAX 16384

/* ---- small helpers ------------------------------------------------------------------------ */

/* The files produced so far by one call. */
typedef struct outset {
    nf_ice_datafile *files;
    size_t n, cap;
} outset;

/* Removes the published files of o and frees o's contents. */
static void
outset_discard(outset *o)
{
    for (size_t i = 0; i < o->n; i++) {
        if (o->files[i].path != NULL && strncmp(o->files[i].path, "file://", 7) == 0)
            unlink(o->files[i].path + 7);
        nf_ice_datafile_clear(&o->files[i]);
    }
    free(o->files);
    o->files = NULL;
    o->n = o->cap = 0;
}

/* "file:///a/b/" or "/a/b/" → "/a/b" (malloc'd). */
static nf_status
uri_to_path(const char *uri, char **out, nf_err *err)
{
    const char *p = uri;
    if (strncmp(p, "file://", 7) == 0)
        p += 7;
    if (p[0] != '/')
        return nf_err_set(err, NF_EINVAL, "location '%s': not an absolute file:// URI or path",
                          uri);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        len--;
    if (len >= PATH_MAX - 128)
        return nf_err_set(err, NF_EINVAL, "location '%s': path too long", uri);
    if (memchr(p, '%', len) != NULL)
        return nf_err_set(err, NF_EINVAL, "location '%s': percent-encoded URIs not supported",
                          uri);
    char *s = strndup(p, len);
    if (s == NULL)
        return nf_err_set(err, NF_ENOMEM, "location '%s': out of memory", uri);
    *out = s;
    return NF_OK;
}

/* ---- statistics --------------------------------------------------------------------------- */

/* Fills f's record_count and cols[] (nf_pqstats_read over lib/cold's columns, in id order)
 * from the Parquet file at path and checks every row is in day `day`. */
static nf_status
describe(nf_duck *d, const char *path, int32_t day, nf_ice_datafile *f, nf_err *err)
{
    int64_t rows = 0;
    nf_ice_colstat *cols = NULL;
    nf_status st =
        nf_pqstats_read(d, path, nf_cold_columns, NF_COLD_NCOLUMNS, &rows, &cols, err);
    if (st != NF_OK)
        return st;
    f->record_count = rows;
    f->cols = cols;
    f->ncols = NF_COLD_NCOLUMNS;
    /* The partition check, on the timestamp bounds; a column without bounds holds no
     * non-null value and is not checked. */
    const nf_ice_colstat *ts = &cols[NF_COLD_TIMESTAMP - 1];
    if (ts->lower_len == 0 && ts->upper_len == 0)
        return NF_OK;
    int64_t lo, hi;
    if (!nf_pqstats_in_day(ts, day, &lo, &hi))
        return nf_err_set(err, NF_EINVAL,
                          "%s: rows outside partition day %" PRId32 " (timestamp %" PRId64
                          "..%" PRId64 " us, %" PRId64 " nulls)",
                          path, day, lo, hi, ts->null_count);
    return NF_OK;
}

/* ---- COPY out and publish ----------------------------------------------------------------- */

/* Runs COPY (select) into a temp dir of day's directory under base, then describes, syncs
 * and publishes every file DuckDB wrote, appending them to o. */
static nf_status
copy_out(nf_duck *d, const char *select, const char *base, int32_t day, outset *o, nf_err *err)
{
    char daydir[PATH_MAX], tmpdir[PATH_MAX], final[PATH_MAX];
    time_t secs = (time_t)day * 86400;
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        return nf_err_set(err, NF_EINVAL, "partition day %" PRId32 " out of range", day);
    if (snprintf(daydir, sizeof(daydir), "%s/data/timestamp_day=%04d-%02d-%02d", base,
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) >= (int)sizeof(daydir))
        return nf_err_set(err, NF_EINVAL, "%s: path too long", base);
    nf_status st = nf_mkdirs(daydir, err);
    if (st != NF_OK)
        return st;
    char id[NF_UUID_STRLEN];
    if ((st = nf_uuid4(id, "a file name", err)) != NF_OK)
        return st;
    if (snprintf(tmpdir, sizeof(tmpdir), "%s/.tmp-%s", daydir, id) >= (int)sizeof(tmpdir))
        return nf_err_set(err, NF_EINVAL, "%s: path too long", daydir);
    if (mkdir(tmpdir, 0755) != 0)
        return nf_err_sys(err, NF_EIO, errno, "mkdir %s", tmpdir);

    nf_duck_result *r = NULL;
    /* "COPY (" select ") TO " then at most SQL_MAX bytes of target and options. */
    size_t head = strlen(select) + 16;
    char *sql = malloc(head + SQL_MAX);
    if (sql == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "%s: out of memory", tmpdir);
        goto done;
    }
    size_t len = (size_t)snprintf(sql, head, "COPY (%s) TO ", select);
    char *tail = sql + len;
    size_t tlen = 0;
    st = nf_duck_quote(tail, SQL_MAX, &tlen, tmpdir, tmpdir, err);
    if (st == NF_OK)
        st = nf_duck_sql_add(
            tail, SQL_MAX, &tlen, err,
            " (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL %d, ROW_GROUP_SIZE %d,"
            " FILE_SIZE_BYTES '%s', ROW_GROUPS_PER_FILE %d, RETURN_STATS true,"
            " OVERWRITE_OR_IGNORE true" NF_FLOWFILE_EXTRA_OPTIONS ", FIELD_IDS {",
            NF_FLOWFILE_ZSTD_LEVEL, NF_FLOWFILE_ROW_GROUP_ROWS, NF_FLOWFILE_MAX_BYTES,
            NF_FLOWFILE_MAX_ROWS / NF_FLOWFILE_ROW_GROUP_ROWS);
    for (size_t i = 0; st == NF_OK && i < NF_COLD_NCOLUMNS; i++)
        st = nf_duck_sql_add(tail, SQL_MAX, &tlen, err, "%s\"%s\": %d", i ? ", " : "",
                             nf_cold_columns[i].name, (int)nf_cold_columns[i].id);
    if (st == NF_OK)
        st = nf_duck_sql_add(tail, SQL_MAX, &tlen, err, "})");
    if (st == NF_OK)
        st = nf_duck_query(d, sql, &r, err);
    if (st != NF_OK)
        goto done;

    size_t nout = nf_duck_result_rows(r);
    for (size_t i = 0; i < nout; i++) {
        const char *tmpfile = nf_duck_result_text(r, i, 0);
        if (tmpfile == NULL) {
            st = nf_err_set(err, NF_EINTERNAL, "%s: COPY returned no file name", tmpdir);
            goto done;
        }
        if (o->n == o->cap) {
            size_t cap = o->cap ? o->cap * 2 : 4;
            nf_ice_datafile *nf = realloc(o->files, cap * sizeof(*nf));
            if (nf == NULL) {
                st = nf_err_set(err, NF_ENOMEM, "%s: out of memory", tmpfile);
                goto done;
            }
            o->files = nf;
            o->cap = cap;
        }
        nf_ice_datafile f = {
            .partition = day,
            .partition_null = false,
            .sort_order_id = 1,
            .status = NF_ICE_ADDED,
            .snapshot_id = -1,
            .data_seq = -1,
            .file_seq = -1,
        };
        if ((st = describe(d, tmpfile, day, &f, err)) != NF_OK ||
            (st = nf_fsync_path(tmpfile, false, &f.file_size, err)) != NF_OK ||
            (st = nf_uuid4(id, "a file name", err)) != NF_OK) {
            nf_ice_datafile_clear(&f);
            goto done;
        }
        if (snprintf(final, sizeof(final), "%s/%s.parquet", daydir, id) >= (int)sizeof(final)) {
            nf_ice_datafile_clear(&f);
            st = nf_err_set(err, NF_EINVAL, "%s: path too long", daydir);
            goto done;
        }
        size_t ulen = strlen(final) + 8;
        f.path = malloc(ulen);
        if (f.path == NULL) {
            nf_ice_datafile_clear(&f);
            st = nf_err_set(err, NF_ENOMEM, "%s: out of memory", final);
            goto done;
        }
        snprintf(f.path, ulen, "file://%s", final);
        if (rename(tmpfile, final) != 0) {
            st = nf_err_sys(err, NF_EIO, errno, "rename %s to %s", tmpfile, final);
            nf_ice_datafile_clear(&f);
            goto done;
        }
        o->files[o->n++] = f;
    }
    st = nf_fsync_path(daydir, true, NULL, err);
done:
    nf_duck_result_free(r);
    free(sql);
    nf_remove_flat_dir(tmpdir);
    return st;
}

/* ---- nf_flowfile_write -------------------------------------------------------------------- */

/* Sort key of one flow: its timestamp (whole seconds, in µs), then its exporter, protocol,
 * source and destination in their 16-byte form, then its index. The tie-breaking bytes are
 * copied into the key as big-endian words, so a comparison reads one cache line and compares
 * integers: comparing through the flows (three memcmp calls on rows scattered in memory; a
 * second holds ~100 000 flows at 100 k/s, so ties are the rule) took a sixth of the Parquet
 * writer's CPU. The order is the same byte order as before. Sorting here rather than with
 * ORDER BY in DuckDB halves DuckDB's memory (no sorted copy of the stage) and saves a fifth
 * of the time; the index makes the order total, so runs are repeatable. */
#define ROWKEY_WORDS 7 /* 16 + 1 + 16 + 16 = 49 bytes, zero-padded to 56 */
typedef struct rowkey {
    int64_t ts_us;
    uint64_t w[ROWKEY_WORDS];
    size_t idx;
} rowkey;

static int64_t secs_us(uint64_t ms);

static uint64_t
be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void
rowkey_fill(rowkey *k, const nf_flow *f, size_t idx)
{
    uint8_t b[8 * ROWKEY_WORDS] = {0};
    memcpy(b, f->exporter, 16);
    b[16] = f->protocol;
    memcpy(b + 17, f->src_addr, 16);
    memcpy(b + 33, f->dst_addr, 16);
    k->ts_us = secs_us(f->received_ms);
    for (int i = 0; i < ROWKEY_WORDS; i++)
        k->w[i] = be64(b + 8 * i);
    k->idx = idx;
}

static int
rowkey_cmp(const void *a, const void *b)
{
    const rowkey *x = a, *y = b;
    if (x->ts_us != y->ts_us)
        return x->ts_us < y->ts_us ? -1 : 1;
    for (int i = 0; i < ROWKEY_WORDS; i++)
        if (x->w[i] != y->w[i])
            return x->w[i] < y->w[i] ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int32_t
day_of(int64_t ts_us)
{
    return (int32_t)(ts_us / 86400000000LL);
}

static int64_t
secs_us(uint64_t ms)
{
    if (ms > MAX_MS)
        ms = MAX_MS;
    return (int64_t)(ms / 1000) * 1000000;
}

static int64_t
clamp64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
}

/* Text of address a into buf (NF_ADDR_STRLEN bytes); returns its length. IPv4 (the common
 * case, four per flow) is formatted here: nf_addr_format goes through inet_ntop, which cost
 * a third of the append time. The output is the same dotted quad. */
static size_t
addr_text(const uint8_t a[16], char *buf)
{
    if (!nf_addr_is_v4(a)) {
        nf_addr_format(a, buf);
        return strlen(buf);
    }
    char *p = buf;
    for (int i = 12; i < 16; i++) {
        unsigned v = a[i];
        if (v >= 100)
            *p++ = (char)('0' + v / 100);
        if (v >= 10)
            *p++ = (char)('0' + v / 10 % 10);
        *p++ = (char)('0' + v % 10);
        *p++ = i < 15 ? '.' : '\0';
    }
    return (size_t)(p - buf - 1);
}

/* Appends the flows ix[0..n) to the stage table through chunk (its vectors in id order). */
static nf_status
append_run(duckdb_appender app, duckdb_data_chunk chunk, const nf_flow *flows,
           const char *const *agent_ids, const rowkey *ix, size_t n, nf_err *err)
{
    const size_t cap = (size_t)duckdb_vector_size();
    char a[NF_ADDR_STRLEN];
    size_t alen;
    for (size_t off = 0; off < n; off += cap) {
        size_t m = n - off < cap ? n - off : cap;
        duckdb_data_chunk_reset(chunk);
        duckdb_vector v[NF_COLD_NCOLUMNS];
        for (size_t c = 0; c < NF_COLD_NCOLUMNS; c++)
            v[c] = duckdb_data_chunk_get_vector(chunk, c);
#define COL(id, T) ((T *)duckdb_vector_get_data(v[(id) - 1]))
        int64_t *ts = COL(NF_COLD_TIMESTAMP, int64_t);
        int32_t *sport = COL(NF_COLD_SRC_PORT, int32_t), *dport = COL(NF_COLD_DST_PORT, int32_t);
        int32_t *proto = COL(NF_COLD_PROTOCOL, int32_t), *flags = COL(NF_COLD_TCP_FLAGS, int32_t);
        int32_t *tos = COL(NF_COLD_TOS, int32_t), *smask = COL(NF_COLD_SRC_MASK, int32_t);
        int32_t *dmask = COL(NF_COLD_DST_MASK, int32_t), *ftype = COL(NF_COLD_FLOW_TYPE, int32_t);
        int64_t *bytes = COL(NF_COLD_BYTES, int64_t), *pkts = COL(NF_COLD_PACKETS, int64_t);
        int64_t *dom = COL(NF_COLD_OBSERVATION_DOMAIN, int64_t);
        int64_t *rate = COL(NF_COLD_SAMPLING_RATE, int64_t);
        int64_t *inif = COL(NF_COLD_IN_IF, int64_t), *outif = COL(NF_COLD_OUT_IF, int64_t);
        int64_t *sas = COL(NF_COLD_SRC_AS, int64_t), *das = COL(NF_COLD_DST_AS, int64_t);
        int64_t *fstart = COL(NF_COLD_FLOW_START, int64_t), *fend = COL(NF_COLD_FLOW_END, int64_t);
#undef COL
        for (size_t k = 0; k < m; k++) {
            size_t i = ix[off + k].idx;
            const nf_flow *f = &flows[i];
            ts[k] = ix[off + k].ts_us;
            sport[k] = f->src_port;
            dport[k] = f->dst_port;
            proto[k] = f->protocol;
            flags[k] = f->tcp_flags;
            tos[k] = f->tos;
            smask[k] = f->src_mask;
            dmask[k] = f->dst_mask;
            ftype[k] = f->flow_type;
            bytes[k] = clamp64(f->bytes);
            pkts[k] = clamp64(f->packets);
            dom[k] = f->domain;
            rate[k] = f->sampling_rate;
            inif[k] = f->in_if;
            outif[k] = f->out_if;
            sas[k] = f->src_as;
            das[k] = f->dst_as;
            fstart[k] = secs_us(f->first_ms);
            fend[k] = secs_us(f->last_ms);
            alen = addr_text(f->src_addr, a);
            duckdb_vector_assign_string_element_len(v[NF_COLD_SRC_IP - 1], k, a, alen);
            alen = addr_text(f->dst_addr, a);
            duckdb_vector_assign_string_element_len(v[NF_COLD_DST_IP - 1], k, a, alen);
            alen = addr_text(f->exporter, a);
            duckdb_vector_assign_string_element_len(v[NF_COLD_EXPORTER_IP - 1], k, a, alen);
            alen = addr_text(f->next_hop, a);
            duckdb_vector_assign_string_element_len(v[NF_COLD_NEXT_HOP_IP - 1], k, a, alen);
            const char *agent = agent_ids != NULL && agent_ids[i] != NULL ? agent_ids[i] : "";
            duckdb_vector_assign_string_element(v[NF_COLD_AGENT_ID - 1], k, agent);
        }
        duckdb_data_chunk_set_size(chunk, m);
        if (duckdb_append_data_chunk(app, chunk) != DuckDBSuccess) {
            const char *e = duckdb_appender_error(app);
            return nf_err_set(err, NF_EUPSTREAM, "duckdb append to %s: %s", STAGE,
                              e != NULL ? e : "failed");
        }
    }
    if (duckdb_appender_flush(app) != DuckDBSuccess) {
        const char *e = duckdb_appender_error(app);
        return nf_err_set(err, NF_EUPSTREAM, "duckdb append to %s: %s", STAGE,
                          e != NULL ? e : "flush failed");
    }
    return NF_OK;
}

/* CREATE OR REPLACE TEMP TABLE nf_flowfile_stage with lib/cold's columns. */
static nf_status
create_stage(nf_duck *d, nf_err *err)
{
    char sql[SQL_MAX];
    size_t len = 0;
    nf_status st =
        nf_duck_sql_add(sql, SQL_MAX, &len, err, "CREATE OR REPLACE TEMP TABLE " STAGE " (");
    for (size_t i = 0; st == NF_OK && i < NF_COLD_NCOLUMNS; i++)
        st = nf_duck_sql_add(sql, SQL_MAX, &len, err, "%s\"%s\" %s", i ? ", " : "",
                             nf_cold_columns[i].name, nf_cold_columns[i].duckdb);
    if (st == NF_OK)
        st = nf_duck_sql_add(sql, SQL_MAX, &len, err, ")");
    return st == NF_OK ? nf_duck_exec(d, sql, err) : st;
}

/* The stage holds the rows in order already; COPY keeps insertion order
 * (preserve_insertion_order, DuckDB's default). */
static const char select_stage[] = "SELECT * FROM " STAGE;

nf_status
nf_flowfile_write(nf_duck *d, const nf_flow *flows, const char *const *agent_ids, size_t n,
                  const char *table_location, nf_ice_datafile **files, size_t *nfiles,
                  nf_err *err)
{
    if (d == NULL || (flows == NULL && n > 0) || table_location == NULL || files == NULL ||
        nfiles == NULL)
        return nf_err_set(err, NF_EINVAL, "flowfile write: NULL argument");
    if (n == 0) {
        *files = NULL;
        *nfiles = 0;
        return NF_OK;
    }
    char *base = NULL;
    nf_status st = uri_to_path(table_location, &base, err);
    if (st != NF_OK)
        return st;

    outset o = {0};
    duckdb_appender app = NULL;
    duckdb_data_chunk chunk = NULL;
    duckdb_logical_type types[NF_COLD_NCOLUMNS] = {0};
    rowkey *ix = n <= SIZE_MAX / sizeof(*ix) ? malloc(n * sizeof(*ix)) : NULL;
    if (ix == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "flowfile write: out of memory for %zu flows", n);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        rowkey_fill(&ix[i], &flows[i], i);
    qsort(ix, n, sizeof(*ix), rowkey_cmp);

    for (size_t i = 0; i < NF_COLD_NCOLUMNS; i++) {
        duckdb_type t = DUCKDB_TYPE_BIGINT;
        switch (nf_cold_columns[i].type) {
        case NF_ICE_TIMESTAMPTZ: t = DUCKDB_TYPE_TIMESTAMP_TZ; break;
        case NF_ICE_STRING: t = DUCKDB_TYPE_VARCHAR; break;
        case NF_ICE_INT: t = DUCKDB_TYPE_INTEGER; break;
        default: t = DUCKDB_TYPE_BIGINT; break;
        }
        types[i] = duckdb_create_logical_type(t);
    }
    chunk = duckdb_create_data_chunk(types, NF_COLD_NCOLUMNS);
    if (chunk == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "flowfile write: cannot create a data chunk");
        goto done;
    }

    for (size_t lo = 0; lo < n;) {
        size_t hi = lo;
        int32_t day = day_of(ix[lo].ts_us);
        while (hi < n && day_of(ix[hi].ts_us) == day)
            hi++;
        if ((st = create_stage(d, err)) != NF_OK)
            goto done;
        if (duckdb_appender_create_ext(nf_duck_connection(d), "temp", "main", STAGE, &app) !=
            DuckDBSuccess) {
            const char *e = app != NULL ? duckdb_appender_error(app) : NULL;
            st = nf_err_set(err, NF_EUPSTREAM, "duckdb appender on %s: %s", STAGE,
                            e != NULL ? e : "failed");
            goto done;
        }
        st = append_run(app, chunk, flows, agent_ids, ix + lo, hi - lo, err);
        duckdb_appender_destroy(&app);
        app = NULL;
        if (st != NF_OK)
            goto done;
        if ((st = copy_out(d, select_stage, base, day, &o, err)) != NF_OK)
            goto done;
        lo = hi;
    }
    /* The stage's memory is given back now rather than at the next write. */
    st = nf_duck_exec(d, "DROP TABLE IF EXISTS temp.main." STAGE, err);
done:
    if (app != NULL)
        duckdb_appender_destroy(&app);
    if (chunk != NULL)
        duckdb_destroy_data_chunk(&chunk);
    for (size_t i = 0; i < NF_COLD_NCOLUMNS; i++)
        if (types[i] != NULL)
            duckdb_destroy_logical_type(&types[i]);
    free(ix);
    free(base);
    if (st != NF_OK) {
        nf_err dropped;
        nf_duck_exec(d, "DROP TABLE IF EXISTS temp.main." STAGE, &dropped);
        outset_discard(&o);
        return st;
    }
    *files = o.files;
    *nfiles = o.n;
    return NF_OK;
}

/* ---- nf_flowfile_rewrite ------------------------------------------------------------------ */

nf_status
nf_flowfile_rewrite(nf_duck *d, const char *const *input_uris, size_t n,
                    const char *table_location, int32_t day, nf_ice_datafile **files,
                    size_t *nfiles, nf_err *err)
{
    if (d == NULL || input_uris == NULL || n == 0 || table_location == NULL || files == NULL ||
        nfiles == NULL)
        return nf_err_set(err, NF_EINVAL, "flowfile rewrite: no input files or NULL argument");
    char *base = NULL;
    nf_status st = uri_to_path(table_location, &base, err);
    if (st != NF_OK)
        return st;
    outset o = {0};
    /* SELECT with every column named (inputs are matched by name) and the inputs' paths. */
    size_t cap = SQL_MAX, len = 0;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(input_uris[i]) + 8;
    char *sql = malloc(cap);
    if (sql == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "flowfile rewrite: out of memory for %zu inputs", n);
        goto done;
    }
    len = (size_t)snprintf(sql, cap, "SELECT ");
    for (size_t i = 0; i < NF_COLD_NCOLUMNS; i++)
        len += (size_t)snprintf(sql + len, cap - len, "%s\"%s\"", i ? ", " : "",
                                nf_cold_columns[i].name);
    len += (size_t)snprintf(sql + len, cap - len, " FROM read_parquet([");
    for (size_t i = 0; i < n; i++) {
        char *p = NULL;
        if (input_uris[i] == NULL) {
            st = nf_err_set(err, NF_EINVAL, "flowfile rewrite: input %zu is NULL", i);
            goto done;
        }
        if ((st = uri_to_path(input_uris[i], &p, err)) != NF_OK)
            goto done;
        if (i > 0)
            sql[len++] = ',';
        st = nf_duck_quote(sql, cap, &len, p, input_uris[i], err);
        free(p);
        if (st != NF_OK)
            goto done;
    }
    len += (size_t)snprintf(sql + len, cap - len, "]) ORDER BY " NF_FLOWFILE_ORDER_BY);
    st = copy_out(d, sql, base, day, &o, err);
done:
    free(sql);
    free(base);
    if (st != NF_OK) {
        outset_discard(&o);
        return st;
    }
    *files = o.files;
    *nfiles = o.n;
    return NF_OK;
}

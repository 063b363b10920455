/* rollup.c — building the cold tier's hourly rollup tables from closed raw days (contract in
 * rollup.h, tables in lib/cold/rollup.h, design in docs/iceberg.md "Rollups").
 *
 * A pass
 *
 *     load raw ──► scan its live files ──► closed days: files, record count
 *        │
 *        ├─► per family: load (create) the rollup table, read its day list
 *        │
 *        ├─► per closed day with any stale family (recorded count != raw count):
 *        │     per stale family: COPY (hourly GROUP BY over read_parquet(the day's files),
 *        │       ORDER BY ts)
 *        │       → <rollup>/data/ts_day=YYYY-MM-DD/.tmp-<uuid>.parquet, statistics read back,
 *        │       sum(flows) must equal the raw count, fsync, rename, fsync the directory
 *        │     per stale family: commit (day replaced, days raw no longer has dropped)
 *        │
 *        └─► per family not committed yet whose day list names days raw no longer has:
 *              commit (those days dropped)
 *
 * Why one commit per (family, day): a day's work lands as soon as it is done (a pass over
 * 30 days that fails on day 17 keeps 16), and the commits are small (one manifest of the
 * table's live files, one per day). A day is read by DuckDB once per stale family: each
 * query reads only the columns it needs from the day's (compacted, sorted) file.
 *
 * The sums (lib/cold/rollup.h): taken in HUGEINT, reduced modulo 2^64 and stored as the
 * two's-complement long, so a reader summing rollup rows modulo 2^64 gets the raw answer
 * exactly. The hour is computed from epoch microseconds, never through a time zone.
 *
 * Invariants
 *   1. A rollup file is committed only if its flows add up to the raw record count recorded
 *      for its day, all its rows lie in that day, and it was fsync'd under its final name.
 *   2. After every commit, the live files of a rollup table are exactly one set per day of
 *      its day list (the days the list names); a day leaving the list leaves with its files.
 *   3. No file is deleted after a failed or unknown commit (maintain.h's rule); an
 *      uncommitted rollup file is removed only before any commit was tried with it.
 */
#include "rollup.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../base/clock.h"
#include "../base/files.h"
#include "../cold/rollup.h"
#include "../cold/table.h"
#include "../duck/pqstats.h"
#include "snapcommit.h"

#define DAY_MS 86400000LL
/* zstd level of rollup files: they are small next to the raw data and written once a day; 3
 * is DuckDB's default and as fast as lower levels (bench/flowfile_bench.c measured 3..9
 * within noise of each other in speed). */
#define ZSTD_LEVEL 3
/* Rows per row group: a day's rollup of the address families can have millions of rows; one
 * group per million keeps dictionaries effective and the ts bounds per group useful. */
#define ROW_GROUP_ROWS 1000000
/* 2^64 and 2^63 as DuckDB HUGEINT literals (the modulo reduction above). */
#define TWO64 "18446744073709551616"
#define TWO63 "9223372036854775808"

/* ---- small helpers --------------------------------------------------------------------------- */

/* A path DuckDB gets inside a SQL string: no control characters, no glob characters
 * (read_parquet would expand '*', '?', '[' into other files). */
static nf_status
check_sql_path(const char *p, nf_err *err)
{
    for (const char *s = p; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch < 0x20 || ch == 0x7f || ch == '*' || ch == '?' || ch == '[')
            return nf_err_set(err, NF_EINVAL, "path \"%.80s\": character 0x%02x not allowed", p,
                              ch);
    }
    return NF_OK;
}

/* Writes p as a SQL string literal to f. */
static void
put_quoted(FILE *f, const char *p)
{
    fputc('\'', f);
    for (; *p; p++) {
        if (*p == '\'')
            fputc('\'', f);
        fputc(*p, f);
    }
    fputc('\'', f);
}

/* ---- the raw table's closed days --------------------------------------------------------------- */

typedef struct rawday {
    int32_t day;
    int64_t records;  /* sum of record_count of its live files */
    char **paths;     /* local paths of its live files (owned) */
    size_t npaths;
} rawday;

typedef struct rawdays {
    rawday *v;
    size_t n;
} rawdays;

static void
rawdays_free(rawdays *d)
{
    for (size_t i = 0; i < d->n; i++) {
        for (size_t k = 0; k < d->v[i].npaths; k++)
            free(d->v[i].paths[k]);
        free(d->v[i].paths);
    }
    free(d->v);
    memset(d, 0, sizeof *d);
}

static int
cmp_file_day(const void *a, const void *b)
{
    const nf_ice_datafile *x = *(const nf_ice_datafile *const *)a;
    const nf_ice_datafile *y = *(const nf_ice_datafile *const *)b;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return strcmp(x->path, y->path);
}

/* The days before `today` of the n live files, with their record counts and paths. Days
 * with no records are left out (nothing to sum, nothing a rollup could stand for). */
static nf_status
closed_days(const nf_ice_datafile *files, size_t n, int64_t today, rawdays *out, nf_err *err)
{
    nf_status st = NF_OK;
    const nf_ice_datafile **ix = calloc(n ? n : 1, sizeof *ix);
    rawdays d = {.v = calloc(n ? n : 1, sizeof *d.v)};
    if (ix == NULL || d.v == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "closed days of %zu raw files", n);
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!files[i].partition_null && files[i].partition < today && files[i].record_count > 0)
            ix[k++] = &files[i];
    if (k > 0)
        qsort(ix, k, sizeof *ix, cmp_file_day);
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && ix[j]->partition == ix[i]->partition)
            j++;
        rawday *r = &d.v[d.n++];
        r->day = ix[i]->partition;
        r->paths = calloc(j - i, sizeof *r->paths);
        if (r->paths == NULL) {
            st = nf_err_set(err, NF_ENOMEM, "paths of raw day %" PRId32, r->day);
            goto done;
        }
        for (size_t m = i; m < j; m++) {
            st = nf_ice_uri_path(ix[m]->path, &r->paths[r->npaths], err);
            if (st == NF_OK)
                st = check_sql_path(r->paths[r->npaths], err);
            if (r->paths[r->npaths] != NULL)
                r->npaths++;
            if (st != NF_OK)
                goto done;
            r->records += ix[m]->record_count;
        }
        i = j;
    }
    *out = d;
    d = (rawdays){0};
done:
    rawdays_free(&d);
    free(ix);
    return st;
}

/* The raw day `day` in d, or NULL. */
static const rawday *
rawday_find(const rawdays *d, int32_t day)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->v[mid].day == day)
            return &d->v[mid];
        if (d->v[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- one family's table ------------------------------------------------------------------------ */

typedef struct family {
    const nf_cold_rollup *fam;
    char table[NF_COLD_ROLLUP_NAME_MAX];
    char *loc;                 /* local path of the table's location (owned) */
    nf_cold_rollup_day *days;  /* day list of the current snapshot when planned (owned) */
    size_t ndays;
    bool committed;            /* a commit of this pass landed */
} family;

static void
family_free(family *f)
{
    free(f->loc);
    free(f->days);
    f->loc = NULL;
    f->days = NULL;
    f->ndays = 0;
}

/* The day list of t's current snapshot. A list that does not parse counts as empty: every
 * day is then rebuilt, and the commit drops files of days the new list does not name
 * (invariant 2), so the table heals instead of staying stuck. */
static void
days_of(const nf_ice_table *t, nf_cold_rollup_day **days, size_t *n)
{
    *days = NULL;
    *n = 0;
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    if (cur == NULL)
        return;
    const char *text = nf_ice_table_summary(t, cur->snapshot_id, NF_COLD_ROLLUP_SUMMARY_DAYS);
    if (nf_cold_rollup_days_parse(text, days, n, NULL) != NF_OK) {
        *days = NULL;
        *n = 0;
    }
}

/* Loads the family's table (creating it if absent) and reads its location and day list. */
static nf_status
family_open(nf_ice_catalog *c, const char *ns, const char *raw, const nf_cold_rollup *fam,
            family *f, nf_rollup_report *r, nf_err *err)
{
    memset(f, 0, sizeof *f);
    f->fam = fam;
    nf_status st = nf_cold_rollup_table(raw, fam, f->table, sizeof f->table, err);
    if (st != NF_OK)
        return st;
    nf_ice_table *t = NULL;
    st = nf_ice_catalog_load(c, ns, f->table, &t, NULL, err);
    if (st == NF_ENOTFOUND) {
        char *schema = nf_cold_rollup_schema_json(fam);
        if (schema == NULL)
            return nf_err_set(err, NF_ENOMEM, "schema of %s.%s", ns, f->table);
        st = nf_ice_catalog_create(c, ns, f->table, NULL, schema, nf_cold_rollup_spec_json,
                                   nf_cold_rollup_sort_order_json, nf_cold_properties_json, &t,
                                   err);
        free(schema);
        if (st == NF_OK && r != NULL)
            r->tables_created++;
        if (st == NF_ECONFLICT) /* created meanwhile by someone else */
            st = nf_ice_catalog_load(c, ns, f->table, &t, NULL, err);
    }
    if (st != NF_OK)
        return st;
    st = nf_ice_uri_path(nf_ice_table_location(t), &f->loc, err);
    if (st == NF_OK)
        days_of(t, &f->days, &f->ndays);
    nf_ice_table_free(t);
    return st;
}

/* ---- building one day's rollup file ------------------------------------------------------------- */

/* The COPY statement writing family fam's rollup of the files paths to tmp. */
static nf_status
copy_sql(const nf_cold_rollup *fam, const rawday *d, const char *tmp, char **sql, nf_err *err)
{
    nf_cold_column cols[NF_COLD_ROLLUP_MAX_COLUMNS];
    size_t ncols = nf_cold_rollup_columns(fam, cols);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (f == NULL)
        return nf_err_sys(err, NF_ENOMEM, errno, "rollup SQL of %s", fam->family);
    /* Inner: exact sums per (hour, dims). Outer: reduced modulo 2^64 to a signed long. */
    fputs("COPY (SELECT ts", f);
    for (size_t i = 0; i < fam->ndims; i++)
        fprintf(f, ", \"%s\"", cols[1 + i].name);
    fputs(", flows", f);
    static const char *const wrapped[] = {"flows_scaled", "bytes", "bytes_scaled", "packets",
                                          "packets_scaled"};
    for (size_t i = 0; i < sizeof wrapped / sizeof wrapped[0]; i++)
        fprintf(f,
                ", CAST(CASE WHEN (s_%s %% " TWO64 " + " TWO64 ") %% " TWO64 " >= " TWO63
                " THEN (s_%s %% " TWO64 " + " TWO64 ") %% " TWO64 " - " TWO64
                " ELSE (s_%s %% " TWO64 " + " TWO64 ") %% " TWO64 " END AS BIGINT) AS %s",
                wrapped[i], wrapped[i], wrapped[i], wrapped[i]);
    fputs(" FROM (SELECT to_timestamp(epoch_us(\"timestamp\") // 3600000000 * 3600) "
          "AS ts",
          f);
    for (size_t i = 0; i < fam->ndims; i++)
        fprintf(f, ", \"%s\"", cols[1 + i].name);
    fputs(", count(*)::BIGINT AS flows,"
          " sum(CAST(\"sampling_rate\" AS HUGEINT)) AS s_flows_scaled,"
          " sum(CAST(\"bytes\" AS HUGEINT)) AS s_bytes,"
          " sum(CAST(\"bytes\" AS HUGEINT) * \"sampling_rate\") AS s_bytes_scaled,"
          " sum(CAST(\"packets\" AS HUGEINT)) AS s_packets,"
          " sum(CAST(\"packets\" AS HUGEINT) * \"sampling_rate\") AS s_packets_scaled"
          " FROM read_parquet([",
          f);
    for (size_t i = 0; i < d->npaths; i++) {
        if (i > 0)
            fputs(", ", f);
        put_quoted(f, d->paths[i]);
    }
    /* ORDER BY ts (the table's sort order), not every column: on a day of 10 M flows with
     * near-unique addresses (9 M rollup rows) sorting by all columns doubled the time
     * (24 s vs 12 s for src_addr on 2 cores). */
    fputs("], hive_partitioning = false) GROUP BY ALL) ORDER BY ts) TO ", f);
    put_quoted(f, tmp);
    fprintf(f,
            " (FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL %d, ROW_GROUP_SIZE %d, "
            "FIELD_IDS {",
            ZSTD_LEVEL, ROW_GROUP_ROWS);
    for (size_t i = 0; i < ncols; i++)
        fprintf(f, "%s\"%s\": %d", i ? ", " : "", cols[i].name, (int)cols[i].id);
    fputs("})", f);
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad) {
        free(text);
        return nf_err_set(err, NF_ENOMEM, "rollup SQL of %s", fam->family);
    }
    *sql = text;
    return NF_OK;
}

/* Checks the file at tmp (invariant 1): sum(flows) == d->records, count(*) == rows. */
static nf_status
check_sums(nf_duck *duck, const char *tmp, const rawday *d, int64_t rows, nf_err *err)
{
    char sql[PATH_MAX * 2 + 128];
    size_t len = (size_t)snprintf(sql, sizeof sql,
                                  "SELECT count(*), coalesce(sum(flows), 0)::BIGINT FROM "
                                  "read_parquet(");
    nf_status st = nf_duck_quote(sql, sizeof sql, &len, tmp, tmp, err);
    if (st != NF_OK)
        return st;
    snprintf(sql + len, sizeof sql - len, ")");
    nf_duck_result *res = NULL;
    if ((st = nf_duck_query(duck, sql, &res, err)) != NF_OK)
        return st;
    int64_t n = nf_duck_result_int64(res, 0, 0), flows = nf_duck_result_int64(res, 0, 1);
    nf_duck_result_free(res);
    if (n != rows || flows != d->records)
        return nf_err_set(err, NF_EINTERNAL,
                          "%s: rollup of raw day %" PRId32 " has %" PRId64 " flows in %" PRId64
                          " rows; the raw day has %" PRId64 " records; nothing committed",
                          tmp, d->day, flows, n, d->records);
    return NF_OK;
}

/* Writes family fam's rollup of raw day d under the table location loc, published under its
 * final name; *out (path, stats owned: nf_ice_datafile_clear) describes it. On failure
 * nothing of it is left on disk. */
static nf_status
build_file(nf_duck *duck, const nf_cold_rollup *fam, const rawday *d, const char *loc,
           nf_ice_datafile *out, nf_err *err)
{
    char daydir[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX], id[37];
    time_t secs = (time_t)d->day * 86400;
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL)
        return nf_err_set(err, NF_EINVAL, "raw day %" PRId32 " out of range", d->day);
    if (snprintf(daydir, sizeof daydir, "%s/data/ts_day=%04d-%02d-%02d", loc, tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday) >= (int)sizeof daydir)
        return nf_err_set(err, NF_EINVAL, "%s: path too long", loc);
    nf_status st = nf_mkdirs(daydir, err);
    if (st == NF_OK)
        st = check_sql_path(daydir, err);
    if (st == NF_OK)
        st = nf_uuid4(id, "a rollup file name", err);
    if (st != NF_OK)
        return st;
    if (snprintf(tmp, sizeof tmp, "%s/.tmp-%s.parquet", daydir, id) >= (int)sizeof tmp ||
        snprintf(final, sizeof final, "%s/%s.parquet", daydir, id) >= (int)sizeof final)
        return nf_err_set(err, NF_EINVAL, "%s: path too long", daydir);

    nf_cold_column cols[NF_COLD_ROLLUP_MAX_COLUMNS];
    size_t ncols = nf_cold_rollup_columns(fam, cols);
    nf_ice_datafile f = {.partition = d->day,
                         .sort_order_id = 1,
                         .status = NF_ICE_ADDED,
                         .snapshot_id = -1,
                         .data_seq = -1,
                         .file_seq = -1};
    bool published = false;
    char *sql = NULL;
    st = copy_sql(fam, d, tmp, &sql, err);
    if (st == NF_OK)
        st = nf_duck_exec(duck, sql, err);
    free(sql);
    if (st == NF_OK)
        st = nf_pqstats_read(duck, tmp, cols, ncols, &f.record_count, &f.cols, err);
    if (st != NF_OK)
        goto fail;
    f.ncols = ncols;
    /* Every row in the day, by the exact bounds of ts (column 0). */
    if (!nf_pqstats_in_day(&f.cols[0], d->day, NULL, NULL)) {
        st = nf_err_set(err, NF_EINTERNAL,
                        "%s: rollup rows outside raw day %" PRId32 "; nothing committed", tmp,
                        d->day);
        goto fail;
    }
    if ((st = check_sums(duck, tmp, d, f.record_count, err)) != NF_OK ||
        (st = nf_fsync_path(tmp, false, &f.file_size, err)) != NF_OK)
        goto fail;
    if (rename(tmp, final) != 0) {
        st = nf_err_sys(err, NF_EIO, errno, "rename %s to %s", tmp, final);
        goto fail;
    }
    published = true;
    if ((st = nf_fsync_path(daydir, true, NULL, err)) != NF_OK)
        goto fail;
    f.path = nf_ice_path_uri(final);
    if (f.path == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "URI of %s", final);
        goto fail;
    }
    *out = f;
    return NF_OK;
fail:
    unlink(published ? final : tmp);
    nf_ice_datafile_clear(&f);
    return st;
}

/* ---- committing a family's days ------------------------------------------------------------------ */

/* What one commit changes: day `set` (if has_set) gets `added` (one file, NULL if none) and
 * the raw count `set_records`; every recorded day not among the raw days `keep` leaves. */
typedef struct fchange {
    const rawdays *keep;
    bool has_set;
    int32_t set;
    int64_t set_records;
    const nf_ice_datafile *added;
} fchange;

/* The new day list: the old one without the set day and without days raw no longer has,
 * plus the set day. *out malloc'd (may be NULL when *n is 0). */
static nf_status
new_days(const nf_cold_rollup_day *old, size_t nold, const fchange *ch, nf_cold_rollup_day **out,
         size_t *n, nf_err *err)
{
    nf_cold_rollup_day *v = calloc(nold + 1, sizeof *v);
    if (v == NULL)
        return nf_err_set(err, NF_ENOMEM, "day list of %zu days", nold + 1);
    size_t k = 0;
    bool placed = !ch->has_set;
    for (size_t i = 0; i < nold; i++) {
        if (!placed && old[i].day > ch->set) {
            v[k++] = (nf_cold_rollup_day){ch->set, ch->set_records};
            placed = true;
        }
        if (ch->has_set && old[i].day == ch->set)
            continue;
        if (rawday_find(ch->keep, old[i].day) == NULL)
            continue;
        v[k++] = old[i];
    }
    if (!placed)
        v[k++] = (nf_cold_rollup_day){ch->set, ch->set_records};
    *out = v;
    *n = k;
    return NF_OK;
}

/* One attempt. NF_OK: committed, or nothing to change (*changed false). NF_ECONFLICT or
 * NF_EAGAIN (unknown outcome, our snapshot not found or the reload failed): re-plan and
 * retry. */
static nf_status
commit_once(nf_ice_catalog *c, const char *ns, family *fa, const fchange *ch,
            const nf_maint_options *o, int attempt, nf_rollup_report *r, bool *changed,
            nf_err *err)
{
    nf_ice_table *t = NULL;
    nf_ice_datafile *live = NULL;
    size_t nlive = 0;
    bool *drop = NULL;
    nf_cold_rollup_day *old = NULL, *nd = NULL;
    size_t nold = 0, nnd = 0;
    char *old_text = NULL, *new_text = NULL;
    *changed = false;

    nf_status st = nf_ice_catalog_load(c, ns, fa->table, &t, NULL, err);
    if (st != NF_OK)
        return st;
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    days_of(t, &old, &nold);
    if (cur != NULL && (st = nf_ice_scan(cur->manifest_list, NULL, &live, &nlive, NULL, err)) !=
                           NF_OK)
        goto done;
    if ((st = new_days(old, nold, ch, &nd, &nnd, err)) != NF_OK)
        goto done;
    drop = calloc(nlive ? nlive : 1, sizeof *drop);
    if (drop == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "plan of %zu files of %s", nlive, fa->table);
        goto done;
    }
    /* Invariant 2: a file stays only if its day stays in the list and is not the day being
     * replaced. */
    size_t ndrop = 0;
    for (size_t i = 0; i < nlive; i++) {
        bool stays = !live[i].partition_null &&
                     !(ch->has_set && live[i].partition == ch->set) &&
                     nf_cold_rollup_days_find(nd, nnd, live[i].partition) >= 0;
        drop[i] = !stays;
        ndrop += drop[i];
    }
    old_text = nf_cold_rollup_days_format(old, nold);
    new_text = nf_cold_rollup_days_format(nd, nnd);
    if (old_text == NULL || new_text == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "day list of %s", fa->table);
        goto done;
    }
    if (ch->added == NULL && ndrop == 0 && strcmp(old_text, new_text) == 0)
        goto done; /* nothing to change: st is NF_OK, *changed false */

    const char *extra[2] = {NF_COLD_ROLLUP_SUMMARY_DAYS, new_text};
    nf_snapcommit sc = {.ns = ns,
                        .table = fa->table,
                        .t = t,
                        .type_of = fa->fam->type_of,
                        .live = live,
                        .nlive = nlive,
                        .drop = drop,
                        .added = ch->added,
                        .nadded = ch->added != NULL,
                        .operation = NULL,
                        .files_size = false,
                        .extra = extra,
                        .nextra = 1,
                        .phase = "rollup"};
    nf_snapcommit_result res;
    st = nf_snapcommit_try(c, &sc, o, attempt, &res, err);
    if (r != NULL) {
        r->conflicts += res.conflicted;
        r->unknown_outcomes += res.unknown;
    }
    if (res.unknown && st != NF_OK)
        st = NF_EAGAIN; /* not seen, or the reload failed: re-plan either way */
    if (st == NF_OK) {
        *changed = true;
        if (r != NULL) {
            r->commits++;
            r->rollup_rows += ch->added != NULL ? ch->added->record_count : 0;
        }
    }
done:
    nf_ice_datafiles_free(live, nlive);
    free(drop);
    free(old);
    free(nd);
    free(old_text);
    free(new_text);
    nf_ice_table_free(t);
    return st;
}

static nf_status
commit_family(nf_ice_catalog *c, const char *ns, family *fa, const fchange *ch,
              const nf_maint_options *o, nf_rollup_report *r, nf_err *err)
{
    for (int attempt = 0; attempt < nf_snapcommit_attempts(o); attempt++) {
        bool changed = false;
        nf_status st = commit_once(c, ns, fa, ch, o, attempt, r, &changed, err);
        if (st == NF_OK) {
            fa->committed |= changed;
            return NF_OK;
        }
        if (st != NF_ECONFLICT && st != NF_EAGAIN)
            return st;
    }
    return nf_err_set(err, NF_ECONFLICT, "rollup commit to %s.%s: %d attempts conflicted", ns,
                      fa->table, nf_snapcommit_attempts(o));
}

/* ---- the pass ------------------------------------------------------------------------------------ */

/* Builds and commits every stale family of raw day d. */
static nf_status
do_day(nf_ice_catalog *c, const char *ns, nf_duck *duck, family *fams, const rawdays *raw,
       const rawday *d, const nf_maint_options *o, nf_rollup_report *r, nf_err *err)
{
    bool counted = false;
    for (size_t i = 0; i < NF_COLD_ROLLUP_NFAMILIES; i++) {
        family *fa = &fams[i];
        if (nf_cold_rollup_days_find(fa->days, fa->ndays, d->day) == d->records)
            continue;
        if (!counted && r != NULL) {
            r->days_read++;
            r->records_read += d->records;
        }
        counted = true;
        nf_ice_datafile f;
        memset(&f, 0, sizeof f);
        nf_status st = build_file(duck, fa->fam, d, fa->loc, &f, err);
        if (st != NF_OK)
            return st;
        fchange ch = {.keep = raw, .has_set = true, .set = d->day, .set_records = d->records,
                      .added = &f};
        st = commit_family(c, ns, fa, &ch, o, r, err);
        if (st == NF_OK && r != NULL)
            r->rollups_built++;
        /* Not removed on failure: the commit may have been tried (invariant 3). */
        nf_ice_datafile_clear(&f);
        if (st != NF_OK)
            return st;
    }
    return NF_OK;
}

nf_status
nf_rollup_maintain(nf_ice_catalog *c, const char *ns, const char *raw, nf_duck *duck,
                   const nf_maint_options *o, nf_rollup_report *r, nf_err *err)
{
    if (c == NULL || ns == NULL || raw == NULL || duck == NULL || o == NULL)
        return nf_err_set(err, NF_EINVAL, "rollups: catalog, namespace, table, DuckDB and "
                                          "options are required");
    int64_t now = o->now_ms > 0 ? o->now_ms : (int64_t)nf_wall_ms();
    int64_t today = nf_floor_div(now, DAY_MS);

    nf_ice_table *t = NULL;
    nf_ice_datafile *files = NULL;
    size_t nfiles = 0;
    rawdays days = {0};
    family fams[NF_COLD_ROLLUP_NFAMILIES];
    size_t nfams = 0;
    nf_status st = nf_ice_catalog_load(c, ns, raw, &t, NULL, err);
    if (st != NF_OK)
        return st;
    const nf_ice_snapshot *cur = nf_ice_table_current(t);
    if (cur == NULL)
        goto done;
    if ((st = nf_ice_scan(cur->manifest_list, NULL, &files, &nfiles, NULL, err)) != NF_OK ||
        (st = closed_days(files, nfiles, today, &days, err)) != NF_OK)
        goto done;
    nf_ice_datafiles_free(files, nfiles);
    files = NULL;
    nfiles = 0;

    for (; nfams < NF_COLD_ROLLUP_NFAMILIES; nfams++) {
        st = family_open(c, ns, raw, &nf_cold_rollups[nfams], &fams[nfams], r, err);
        if (st != NF_OK) {
            family_free(&fams[nfams]);
            goto done;
        }
    }
    for (size_t i = 0; i < days.n; i++)
        if ((st = do_day(c, ns, duck, fams, &days, &days.v[i], o, r, err)) != NF_OK)
            goto done;
    /* Days raw no longer has, in tables no commit of this pass touched (a commit drops them
     * along with its own day). */
    for (size_t i = 0; i < nfams; i++) {
        family *fa = &fams[i];
        size_t gone = 0;
        for (size_t k = 0; k < fa->ndays; k++)
            gone += rawday_find(&days, fa->days[k].day) == NULL;
        if (gone == 0)
            continue;
        if (!fa->committed) {
            fchange ch = {.keep = &days};
            if ((st = commit_family(c, ns, fa, &ch, o, r, err)) != NF_OK)
                goto done;
        }
        if (r != NULL)
            r->rollups_dropped += gone;
    }
done:
    for (size_t i = 0; i < nfams; i++)
        family_free(&fams[i]);
    rawdays_free(&days);
    nf_ice_datafiles_free(files, nfiles);
    nf_ice_table_free(t);
    return st;
}

nf_status
nf_rollup_expire(nf_ice_catalog *c, const char *ns, const char *raw, const nf_maint_options *o,
                 nf_maint_report *r, nf_err *err)
{
    if (c == NULL || ns == NULL || raw == NULL || o == NULL)
        return nf_err_set(err, NF_EINVAL, "rollup expiry: catalog, namespace, table and "
                                          "options are required");
    nf_status first = NF_OK;
    for (size_t i = 0; i < NF_COLD_ROLLUP_NFAMILIES; i++) {
        char name[NF_COLD_ROLLUP_NAME_MAX];
        nf_err e = {0};
        nf_status st = nf_cold_rollup_table(raw, &nf_cold_rollups[i], name, sizeof name, &e);
        if (st == NF_OK)
            st = nf_maint_expire(c, ns, name, o, r, &e);
        if (st == NF_ENOTFOUND)
            continue;
        if (st != NF_OK && first == NF_OK) {
            first = st;
            if (err != NULL)
                *err = e;
        }
    }
    return first;
}

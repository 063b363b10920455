/* histrun.c — one historical question asked N times through lib/histq in one process, the
 * way serviceradar-core asks it: for bench/core_bench.sh, whose baseline is "the same
 * backend query without the core".
 *
 *   histrun --catalog URI [--ns default] [--table netflow] [--threads T] [--memory-limit SIZE]
 *           [--warmup W] [--runs N] [--out FILE] --start EPOCH --end EPOCH --group-by FIELD
 *           [--interval S] [--metric bytes|packets|flows] [--unscaled] [--limit N]
 *           [--filter FIELD=VALUE]...
 *
 * Design:
 *   1. The catalog and the DuckDB connection are opened once and kept, as the core keeps
 *      c->cat and c->duck (lib/core/backends.c): each run is exactly nf_histq_run, with the
 *      catalog load, the manifest scan and the DuckDB query, and nothing the core does not
 *      pay per request. `coldload query` would add a process start and a cold DuckDB to
 *      every run, which the core does not pay.
 *   2. W warm-up runs (default 2) are not timed, then N (default 30) timed runs; the times
 *      go to stdout, one per line, in milliseconds with microsecond resolution ("12.345"),
 *      so percentiles of a few milliseconds stay meaningful.
 *   3. The answer of the last run goes to --out as TabSeparated "key\tvalue" or
 *      "ts\tvalue" lines (coldload query's and ClickHouse's format), so the benchmark can
 *      check that the core answered the same rows.
 * The request options are chquery's and coldload's (same parsers, same defaults: bytes,
 * scaled by the sampling rate, limit 10).
 *
 * Exit status: 0; 2 for bad arguments or an invalid request; 1 for anything else (message
 * on stderr naming what failed).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/parse.h"
#include "cold/table.h"
#include "duck/duck.h"
#include "histq/histq.h"
#include "iceberg/iceberg.h"
#include "query/query.h"

#define DEFAULT_LIMIT 10     /* chquery's and the API's */
#define DEFAULT_RUNS 30      /* the benchmark's repetitions */
#define DEFAULT_WARMUP 2     /* the first run fills DuckDB's and the OS's caches */
#define MAX_RUNS 100000      /* a bound on a typo, not on a real benchmark */
#define DEFAULT_THREADS 2    /* serviceradar-core's netflow.duckdb_threads default */
#define DEFAULT_MEMORY "1GB" /* serviceradar-core's netflow.duckdb_memory_limit default */

typedef struct opts {
    const char *catalog, *ns, *table, *memory_limit, *out;
    uint64_t threads, warmup, runs;
    bool have_start, have_end, have_group;
    nf_q_request req;
} opts;

static int
usage(void)
{
    fprintf(stderr,
            "usage: histrun --catalog URI [--ns NS] [--table T] [--threads T] "
            "[--memory-limit SIZE] [--warmup W] [--runs N] [--out FILE] --start EPOCH "
            "--end EPOCH --group-by FIELD [--interval S] [--metric M] [--unscaled] "
            "[--limit N] [--filter F]...\n");
    return 2;
}

static bool
num(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (nf_parse_u64(v, min, max, out))
        return true;
    fprintf(stderr, "histrun: %s: \"%s\" is not a number in %" PRIu64 "..%" PRIu64 "\n", name,
            v, min, max);
    return false;
}

/* One option with a value; false with a message on stderr. */
static bool
set_opt(opts *o, const char *k, const char *v)
{
    nf_err err = {0};
    nf_status st = NF_OK;
    uint64_t n;
    if (strcmp(k, "--catalog") == 0) {
        o->catalog = v;
    } else if (strcmp(k, "--ns") == 0) {
        o->ns = v;
    } else if (strcmp(k, "--table") == 0) {
        o->table = v;
    } else if (strcmp(k, "--memory-limit") == 0) {
        o->memory_limit = v;
    } else if (strcmp(k, "--out") == 0) {
        o->out = v;
    } else if (strcmp(k, "--threads") == 0) {
        return num(k, v, 1, 256, &o->threads);
    } else if (strcmp(k, "--warmup") == 0) {
        return num(k, v, 0, MAX_RUNS, &o->warmup);
    } else if (strcmp(k, "--runs") == 0) {
        return num(k, v, 1, MAX_RUNS, &o->runs);
    } else if (strcmp(k, "--start") == 0 || strcmp(k, "--end") == 0) {
        if (!num(k, v, 0, UINT32_MAX, &n))
            return false;
        if (k[2] == 's') {
            o->req.start = (int64_t)n;
            o->have_start = true;
        } else {
            o->req.end = (int64_t)n;
            o->have_end = true;
        }
    } else if (strcmp(k, "--interval") == 0 || strcmp(k, "--limit") == 0) {
        if (!num(k, v, 0, UINT32_MAX, &n))
            return false;
        *(strcmp(k, "--limit") == 0 ? &o->req.limit : &o->req.interval) = (uint32_t)n;
    } else if (strcmp(k, "--group-by") == 0) {
        st = nf_q_parse_field(v, k, &o->req.group_by, &err);
        o->have_group = st == NF_OK;
    } else if (strcmp(k, "--metric") == 0) {
        st = nf_q_parse_metric(v, k, &o->req.metric, &err);
    } else if (strcmp(k, "--filter") == 0) {
        if (o->req.nfilters == NF_Q_MAX_FILTERS) {
            st = nf_err_set(&err, NF_EINVAL, "%s: at most %d", k, NF_Q_MAX_FILTERS);
        } else {
            st = nf_q_parse_filter(v, k, &o->req.filters[o->req.nfilters], &err);
            o->req.nfilters += st == NF_OK;
        }
    } else {
        fprintf(stderr, "histrun: unknown option %s\n", k);
        return false;
    }
    if (st != NF_OK)
        fprintf(stderr, "histrun: %s\n", err.msg);
    return st == NF_OK;
}

/* Writes the answer as TabSeparated lines to path. */
static nf_status
write_answer(const char *path, const nf_q_request *req, const nf_histq_result *res, nf_err *err)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return nf_err_sys(err, NF_EIO, errno, "--out %s", path);
    for (size_t i = 0; i < res->n; i++) {
        if (req->group_by == NF_Q_TIME)
            fprintf(f, "%" PRId64 "\t%" PRIu64 "\n", res->rows[i].ts, res->rows[i].value);
        else
            fprintf(f, "%s\t%" PRIu64 "\n", res->rows[i].key, res->rows[i].value);
    }
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0 || bad)
        return nf_err_sys(err, NF_EIO, errno, "--out %s: write", path);
    return NF_OK;
}

int
main(int argc, char **argv)
{
    opts o = {.ns = NF_COLD_NAMESPACE, .table = NF_COLD_TABLE, .memory_limit = DEFAULT_MEMORY,
              .threads = DEFAULT_THREADS, .warmup = DEFAULT_WARMUP, .runs = DEFAULT_RUNS,
              .req = {.metric = NF_Q_BYTES, .limit = DEFAULT_LIMIT}};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--unscaled") == 0) {
            o.req.unscaled = true;
            continue;
        }
        if (strncmp(argv[i], "--", 2) != 0 || i + 1 >= argc) {
            fprintf(stderr, "histrun: %s: an option with a value expected\n", argv[i]);
            return usage();
        }
        if (!set_opt(&o, argv[i], argv[i + 1]))
            return usage();
        i++;
    }
    if (o.catalog == NULL || !o.have_start || !o.have_end || !o.have_group) {
        fprintf(stderr, "histrun: --catalog, --start, --end and --group-by are required\n");
        return usage();
    }
    nf_err err = {0};
    nf_ice_catalog *cat = NULL;
    nf_duck *duck = NULL;
    nf_histq_result *res = NULL;
    nf_ice_catalog_config cc = {.uri = o.catalog};
    const char *what = "catalog";
    nf_status st = nf_ice_catalog_open(&cc, &cat, &err);
    if (st == NF_OK) {
        what = "duckdb";
        st = nf_duck_open(NULL, (int)o.threads, o.memory_limit, &duck, &err);
    }
    what = st == NF_OK ? "query" : what;
    for (uint64_t i = 0; st == NF_OK && i < o.warmup + o.runs; i++) {
        nf_histq_result_free(res);
        res = NULL;
        uint64_t t0 = nf_mono_ns();
        st = nf_histq_run(cat, o.ns, o.table, NULL, duck, &o.req, &res, NULL, &err);
        uint64_t ns = nf_mono_ns() - t0;
        if (st == NF_OK && i >= o.warmup)
            printf("%" PRIu64 ".%03" PRIu64 "\n", ns / 1000000u, ns / 1000u % 1000u);
    }
    if (st == NF_OK && o.out != NULL) {
        what = "answer";
        st = write_answer(o.out, &o.req, res, &err);
    }
    if (st != NF_OK)
        fprintf(stderr, "histrun: %s: %s\n", what, err.msg);
    nf_histq_result_free(res);
    nf_duck_close(duck);
    nf_ice_catalog_close(cat);
    if (st != NF_OK)
        return st == NF_EINVAL ? 2 : 1;
    return fflush(stdout) == 0 ? 0 : 1;
}

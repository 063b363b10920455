/* flowfile_bench.c — the cold tier's Parquet writer: flows/s of nf_flowfile_write and bytes
 * per flow on flowgen traffic.
 *
 *   flowfile_bench [FLOWS ...]        (default 1000000 2000000 5000000)
 *
 * flowgen makes the largest count of flows once (mixed v5/v9/IPFIX, 8 exporters, 10 % IPv6,
 * 10 000 flows per virtual second: a busy collector's density; received_ms = the datagram's
 * virtual time), then for each count the first FLOWS flows are written by one
 * nf_flowfile_write call to a fresh table directory in $TMPDIR (removed after), with DuckDB
 * on one thread (threads=1) so the figure is per core. Time is wall time of the call,
 * including the fsyncs. Bytes are the Parquet files' sizes; the per-column breakdown of the
 * last run follows the table. FLOWFILE_BENCH_MEMORY sets DuckDB's memory_limit (e.g. 512MB;
 * default DuckDB's, 80 % of RAM), FLOWFILE_BENCH_SPILL=DIR its temp_directory (where it
 * spills beyond the limit). FLOWFILE_BENCH_KEEP=1 keeps the directories (path on stderr).
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cold/table.h"
#include "duck/duck.h"
#include "duck/flowfile.h"
#include "flowgen/flowgen.h"

typedef struct collect {
    nf_flow *flows;
    size_t n, cap;
} collect;

static void
hook(void *ctx, const nf_flow *f)
{
    collect *c = ctx;
    if (c->n < c->cap)
        c->flows[c->n++] = *f;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

int
main(int argc, char **argv)
{
    size_t counts[16] = {1000000, 2000000, 5000000};
    size_t ncounts = 3, max = 0;
    if (argc > 1) {
        ncounts = 0;
        for (int i = 1; i < argc && ncounts < 16; i++) {
            char *end;
            unsigned long long v = strtoull(argv[i], &end, 10);
            if (*end != '\0' || v == 0 || v > 50000000ull) {
                fprintf(stderr, "usage: %s [FLOWS ...] (1..50000000)\n", argv[0]);
                return 2;
            }
            counts[ncounts++] = (size_t)v;
        }
    }
    for (size_t i = 0; i < ncounts; i++)
        max = counts[i] > max ? counts[i] : max;

    flowgen_config cfg;
    flowgen_config_default(&cfg);
    cfg.exporters = 8;
    cfg.flows_per_sec = 10000;
    nf_err err = {0};
    flowgen *g = NULL;
    if (flowgen_create(&cfg, &g, &err) != NF_OK) {
        fprintf(stderr, "flowgen: %s\n", err.msg);
        return 1;
    }
    collect c = {.cap = max, .flows = malloc(max * sizeof(nf_flow))};
    if (c.flows == NULL) {
        fprintf(stderr, "out of memory for %zu flows\n", max);
        return 1;
    }
    flowgen_set_flow_hook(g, hook, &c);
    uint8_t buf[2048];
    while (c.n < c.cap) {
        size_t len, before = c.n;
        flowgen_datagram info;
        if (flowgen_next(g, 0, buf, sizeof(buf), &len, &info) != NF_OK) {
            fprintf(stderr, "flowgen_next failed\n");
            return 1;
        }
        for (size_t i = before; i < c.n; i++)
            c.flows[i].received_ms = info.virtual_ms;
    }
    flowgen_destroy(g);

    nf_duck *d = NULL;
    if (nf_duck_open(NULL, 1, getenv("FLOWFILE_BENCH_MEMORY"), &d, &err) != NF_OK) {
        fprintf(stderr, "duckdb: %s\n", err.msg);
        return 1;
    }
    const char *spill = getenv("FLOWFILE_BENCH_SPILL");
    if (spill != NULL) {
        char set[600];
        snprintf(set, sizeof(set), "SET temp_directory = '%s'", spill);
        if (nf_duck_exec(d, set, &err) != NF_OK) {
            fprintf(stderr, "duckdb: %s\n", err.msg);
            return 1;
        }
    }
    const char *tmp = getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp";
    printf("%-10s %5s %8s %10s %12s %10s\n", "flows", "files", "seconds", "flows/s", "bytes",
           "B/flow");
    int rc = 0;
    int64_t colsize[NF_COLD_NCOLUMNS] = {0};
    size_t last = 0;
    for (size_t k = 0; k < ncounts && rc == 0; k++) {
        char dir[512], loc[600];
        snprintf(dir, sizeof(dir), "%s/flowfile_bench.XXXXXX", tmp);
        if (mkdtemp(dir) == NULL) {
            perror("mkdtemp");
            rc = 1;
            break;
        }
        snprintf(loc, sizeof(loc), "file://%s/netflow", dir);
        nf_ice_datafile *files = NULL;
        size_t nfiles = 0;
        double t0 = now_s();
        nf_status st = nf_flowfile_write(d, c.flows, NULL, counts[k], loc, &files, &nfiles, &err);
        double t = now_s() - t0;
        if (st != NF_OK) {
            fprintf(stderr, "write: %s\n", err.msg);
            rc = 1;
        } else {
            int64_t bytes = 0;
            memset(colsize, 0, sizeof(colsize));
            for (size_t i = 0; i < nfiles; i++) {
                bytes += files[i].file_size;
                for (size_t j = 0; j < files[i].ncols && j < NF_COLD_NCOLUMNS; j++)
                    colsize[j] += files[i].cols[j].column_size;
                free(files[i].path);
                free(files[i].cols);
            }
            free(files);
            last = counts[k];
            printf("%-10zu %5zu %8.2f %10.0f %12" PRId64 " %10.2f\n", counts[k], nfiles, t,
                   (double)counts[k] / t, bytes, (double)bytes / (double)counts[k]);
            fflush(stdout);
        }
        if (getenv("FLOWFILE_BENCH_KEEP") != NULL)
            fprintf(stderr, "kept %s\n", dir);
        else
            nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (rc == 0 && last > 0) {
        printf("\ncolumn bytes per flow (%zu flows):\n", last);
        for (size_t j = 0; j < NF_COLD_NCOLUMNS; j++)
            printf("  %-20s %6.3f\n", nf_cold_columns[j].name, (double)colsize[j] / (double)last);
    }
    nf_duck_close(d);
    free(c.flows);
    return rc;
}

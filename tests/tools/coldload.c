/* coldload.c — the cold tier's counterpart of chload: flowgen traffic into the Iceberg
 * table, and the historical queries (lib/histq) over it, for tests and the benchmark.
 *
 *   coldload insert --catalog URI [--ns default] [--table netflow] --flows N [--days D]
 *                   [--rate FLOWS_PER_S] [--until EPOCH] [--seed S] [--sampling N]
 *                   [--batch ROWS] [--threads T] [--memory-limit SIZE]
 *       The same flows as `chload insert` with the same options (flowsrc.h), written as
 *       Parquet data files of ROWS flows per batch (1 000 000; nf_flowfile_write: one file
 *       per UTC day in a batch), then one append snapshot: a manifest of the new files, a
 *       manifest list of the current snapshot's manifests plus it, a commit through the
 *       catalog ("file:///warehouse" or "http://host:port"). The table is created from
 *       lib/cold if absent. A commit conflict (someone else appended first) is retried on
 *       the new snapshot, at most COMMIT_TRIES times.
 *       Prints one JSON line: {"flows", "files", "snapshot_id", "seconds", "rows_per_s"}.
 *
 *   coldload query --catalog URI [--ns default] [--table netflow] [--snapshot ID]
 *                  [--as-of EPOCH_MS] [--stats] --start EPOCH --end EPOCH --group-by FIELD
 *                  [--interval S] [--metric bytes|packets|flows] [--unscaled] [--limit N]
 *                  [--filter FIELD=VALUE]...
 *       The request options are chquery's (same parsers, same defaults: bytes, limit 10);
 *       the answer is printed as ClickHouse prints nf_q_build's (TabSeparated): "key\tvalue"
 *       or "ts\tvalue" lines. --stats adds a JSON line on stderr (files kept, times).
 *
 * Exit status: 0; 2 for bad arguments or an invalid request; 1 for anything else (message
 * on stderr naming what failed).
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/parse.h"
#include "cold/table.h"
#include "duck/duck.h"
#include "duck/flowfile.h"
#include "flowsrc.h"
#include "histq/histq.h"
#include "iceberg/iceberg.h"
#include "query/query.h"

#define DEFAULT_BATCH 1000000 /* flows per nf_flowfile_write: ~150 MB of nf_flow */
#define COMMIT_TRIES 5        /* conflicts are rare (tests and benchmarks load alone) */
#define DEFAULT_LIMIT 10      /* chquery's */

typedef struct loader {
    const char *catalog, *ns, *table, *memory_limit;
    uint64_t flows, days, rate, until, seed, sampling, batch, threads;
    /* query */
    nf_q_request req;
    nf_histq_options hopt;
    bool have_start, have_end, have_group, stats;
    /* insert state */
    nf_duck *duck;
    char *location; /* the table's location URI */
    nf_flow *buf;
    size_t nbuf;
    nf_ice_datafile *files;
    size_t nfiles, capfiles;
    int failed;
} loader;

static void
fail(loader *l, const char *what, const nf_err *err)
{
    fprintf(stderr, "coldload: %s: %s\n", what, err->msg);
    l->failed = 1;
}

static int
usage(void)
{
    fprintf(stderr,
            "usage: coldload insert --catalog URI [--ns NS] [--table T] --flows N [--days D | "
            "--rate FLOWS_PER_S] [--until EPOCH] [--seed S] [--sampling N] [--batch ROWS] "
            "[--threads T] [--memory-limit SIZE]\n"
            "       coldload query --catalog URI [--ns NS] [--table T] [--snapshot ID] "
            "[--as-of EPOCH_MS] [--stats] --start EPOCH --end EPOCH --group-by FIELD "
            "[--interval S] [--metric M] [--unscaled] [--limit N] [--filter F]...\n");
    return 2;
}

/* ---- arguments ------------------------------------------------------------------------- */

static bool
num(const char *name, const char *v, uint64_t max, uint64_t *out)
{
    if (nf_parse_u64(v, 0, max, out))
        return true;
    fprintf(stderr, "coldload: %s: \"%s\" is not a number in 0..%" PRIu64 "\n", name, v, max);
    return false;
}

/* One option with a value; false with a message on stderr. */
static bool
set_opt(loader *l, const char *k, const char *v)
{
    nf_err err = {0};
    nf_status st = NF_OK;
    uint64_t n;
    static const struct {
        const char *name;
        size_t off;
    } nums[] = {
        {"--flows", offsetof(loader, flows)},       {"--days", offsetof(loader, days)},
        {"--rate", offsetof(loader, rate)},         {"--until", offsetof(loader, until)},
        {"--seed", offsetof(loader, seed)},         {"--sampling", offsetof(loader, sampling)},
        {"--batch", offsetof(loader, batch)},       {"--threads", offsetof(loader, threads)},
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++)
        if (strcmp(k, nums[i].name) == 0)
            return num(k, v, UINT64_MAX, (uint64_t *)((char *)l + nums[i].off));
    if (strcmp(k, "--catalog") == 0) {
        l->catalog = v;
    } else if (strcmp(k, "--ns") == 0) {
        l->ns = v;
    } else if (strcmp(k, "--table") == 0) {
        l->table = v;
    } else if (strcmp(k, "--memory-limit") == 0) {
        l->memory_limit = v;
    } else if (strcmp(k, "--snapshot") == 0 || strcmp(k, "--as-of") == 0) {
        if (!num(k, v, INT64_MAX, &n))
            return false;
        *(k[2] == 's' ? &l->hopt.snapshot_id : &l->hopt.as_of_ms) = (int64_t)n;
    } else if (strcmp(k, "--start") == 0 || strcmp(k, "--end") == 0) {
        if (!num(k, v, UINT32_MAX, &n))
            return false;
        *(k[2] == 's' ? &l->req.start : &l->req.end) = (int64_t)n;
        *(k[2] == 's' ? &l->have_start : &l->have_end) = true;
    } else if (strcmp(k, "--interval") == 0 || strcmp(k, "--limit") == 0) {
        if (!num(k, v, UINT32_MAX, &n))
            return false;
        *(k[2] == 'l' ? &l->req.limit : &l->req.interval) = (uint32_t)n;
    } else if (strcmp(k, "--group-by") == 0) {
        st = nf_q_parse_field(v, k, &l->req.group_by, &err);
        l->have_group = st == NF_OK;
    } else if (strcmp(k, "--metric") == 0) {
        st = nf_q_parse_metric(v, k, &l->req.metric, &err);
    } else if (strcmp(k, "--filter") == 0) {
        if (l->req.nfilters == NF_Q_MAX_FILTERS)
            st = nf_err_set(&err, NF_EINVAL, "%s: at most %d", k, NF_Q_MAX_FILTERS);
        else
            st = nf_q_parse_filter(v, k, &l->req.filters[l->req.nfilters], &err);
        l->req.nfilters += st == NF_OK;
    } else {
        fprintf(stderr, "coldload: unknown option %s\n", k);
        return false;
    }
    if (st != NF_OK)
        fprintf(stderr, "coldload: %s\n", err.msg);
    return st == NF_OK;
}

static int
parse(loader *l, int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        bool *flag = strcmp(k, "--unscaled") == 0 ? &l->req.unscaled
                     : strcmp(k, "--stats") == 0  ? &l->stats
                                                  : NULL;
        if (flag != NULL) {
            *flag = true;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "coldload: %s needs a value\n", k);
            return usage();
        }
        if (!set_opt(l, k, argv[++i]))
            return usage();
    }
    if (l->catalog == NULL)
        return usage();
    return 0;
}

/* ---- insert ---------------------------------------------------------------------------- */

static void
flush(loader *l)
{
    if (l->nbuf == 0 || l->failed)
        return;
    nf_err err = {0};
    nf_ice_datafile *files = NULL;
    size_t n = 0;
    if (nf_flowfile_write(l->duck, l->buf, NULL, l->nbuf, l->location, &files, &n, &err) !=
        NF_OK) {
        fail(l, "parquet", &err);
        return;
    }
    l->nbuf = 0;
    if (l->nfiles + n > l->capfiles) {
        size_t cap = (l->capfiles + n) * 2;
        nf_ice_datafile *nf = realloc(l->files, cap * sizeof(*nf));
        if (nf == NULL) {
            nf_ice_datafiles_free(files, n);
            nf_err_set(&err, NF_ENOMEM, "out of memory for %zu files", cap);
            fail(l, "parquet", &err);
            return;
        }
        l->files = nf;
        l->capfiles = cap;
    }
    /* Moved, not copied: the array's elements own their contents now. */
    memcpy(l->files + l->nfiles, files, n * sizeof(*files));
    l->nfiles += n;
    free(files);
}

static void
on_flow(void *ctx, const nf_flow *flow)
{
    loader *l = ctx;
    l->buf[l->nbuf++] = *flow;
    if (l->nbuf == l->batch)
        flush(l);
}

/* The table, created from lib/cold when absent. */
static nf_status
load_or_create(nf_ice_catalog *cat, loader *l, nf_ice_table **t, nf_err *err)
{
    nf_status st = nf_ice_catalog_ensure_namespace(cat, l->ns, err);
    if (st == NF_OK)
        st = nf_ice_catalog_load(cat, l->ns, l->table, t, NULL, err);
    if (st != NF_ENOTFOUND)
        return st;
    st = nf_ice_catalog_create(cat, l->ns, l->table, NULL, nf_cold_schema_json,
                               nf_cold_spec_json, nf_cold_sort_order_json,
                               nf_cold_properties_json, t, err);
    if (st == NF_ECONFLICT) /* created meanwhile by someone else */
        st = nf_ice_catalog_load(cat, l->ns, l->table, t, NULL, err);
    return st;
}

/* One attempt at the append snapshot on top of base t. */
static nf_status
commit_once(nf_ice_catalog *cat, loader *l, const nf_ice_table *t, int attempt,
            int64_t *snapshot_id, nf_err *err)
{
    const nf_ice_snapshot *base = nf_ice_table_current(t);
    int64_t id = nf_ice_new_snapshot_id();
    int64_t seq = nf_ice_table_last_sequence(t) + 1;
    char *dir = NULL, *schema = nf_ice_table_schema_json(t), *req = NULL, *upd = NULL;
    char *mlist_uri = NULL;
    nf_ice_manifest *ms = NULL;
    size_t nms = 0;
    nf_ice_spec spec;
    nf_status st = nf_ice_uri_path(nf_ice_table_location(t), &dir, err);
    if (st == NF_OK && schema == NULL)
        st = nf_err_set(err, NF_ENOMEM, "out of memory for the schema");
    if (st == NF_OK)
        st = nf_ice_table_spec(t, &spec, err);
    if (st == NF_OK && base != NULL)
        st = nf_ice_mlist_read(base->manifest_list, &ms, &nms, err);
    if (st != NF_OK)
        goto done;
    nf_ice_manifest *grown = realloc(ms, (nms + 1) * sizeof(*ms));
    if (grown == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "out of memory for %zu manifests", nms + 1);
        goto done;
    }
    ms = grown;
    char path[4096], lpath[4096];
    snprintf(path, sizeof(path), "%s/metadata/coldload-%" PRId64 "-%d-m0.avro", dir, id, attempt);
    snprintf(lpath, sizeof(lpath), "%s/metadata/snap-%" PRId64 "-%d-coldload.avro", dir, id,
             attempt);
    nf_ice_manifest_ctx ctx = {.schema_json = schema, .schema_id = nf_ice_table_schema_id(t),
                               .spec = &spec, .type_of = nf_cold_type_of};
    st = nf_ice_manifest_write(path, &ctx, id, seq, l->files, l->nfiles, &ms[nms], err);
    if (st != NF_OK)
        goto done;
    nms++;
    st = nf_ice_mlist_write(lpath, id, base ? base->snapshot_id : -1, seq, ms, nms, err);
    if (st != NF_OK)
        goto done;
    mlist_uri = nf_ice_path_uri(lpath);
    int64_t records = 0;
    for (size_t i = 0; i < l->nfiles; i++)
        records += l->files[i].record_count;
    char nfiles_text[32], records_text[32];
    snprintf(nfiles_text, sizeof(nfiles_text), "%zu", l->nfiles);
    snprintf(records_text, sizeof(records_text), "%" PRId64, records);
    const char *summary[] = {"added-data-files", nfiles_text, "added-records", records_text};
    nf_ice_snapshot_new s = {.snapshot_id = id, .parent_id = base ? base->snapshot_id : -1,
                             .sequence_number = seq, .timestamp_ms = (int64_t)nf_wall_ms(),
                             .manifest_list = mlist_uri, .operation = "append",
                             .summary = summary, .nsummary = 2};
    req = nf_ice_requirements_main(t);
    upd = nf_ice_updates_add_snapshot(&s);
    if (mlist_uri == NULL || req == NULL || upd == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "out of memory for the commit");
        goto done;
    }
    st = nf_ice_catalog_commit(cat, l->ns, l->table, req, upd, NULL, err);
    if (st == NF_OK)
        *snapshot_id = id;
done:
    nf_ice_manifests_free(ms, nms);
    free(dir);
    free(schema);
    free(req);
    free(upd);
    free(mlist_uri);
    return st;
}

static int
insert(loader *l)
{
    if (l->flows == 0 || l->days == 0)
        return usage();
    if (l->batch == 0)
        l->batch = DEFAULT_BATCH;
    nf_err err = {0};
    nf_ice_catalog *cat = NULL;
    nf_ice_table *t = NULL;
    nf_ice_catalog_config cc = {.uri = l->catalog, .timeout_ms = 600000};
    if (nf_ice_catalog_open(&cc, &cat, &err) != NF_OK || load_or_create(cat, l, &t, &err) != NF_OK ||
        nf_duck_open(NULL, (int)l->threads, l->memory_limit, &l->duck, &err) != NF_OK) {
        fail(l, "catalog", &err);
        goto done;
    }
    l->location = strdup(nf_ice_table_location(t));
    l->buf = malloc(l->batch * sizeof(nf_flow));
    if (l->location == NULL || l->buf == NULL) {
        nf_err_set(&err, NF_ENOMEM, "%" PRIu64 " flows per batch", l->batch);
        fail(l, "memory", &err);
        goto done;
    }
    uint64_t t0 = nf_mono_ms();
    flowsrc src = {.flows = l->flows, .days = l->days, .rate = l->rate, .until = l->until,
                   .seed = l->seed, .sampling = l->sampling, .emit = on_flow, .ctx = l,
                   .failed = &l->failed};
    if (flowsrc_run(&src, &err) != NF_OK)
        fail(l, "flowgen", &err);
    flush(l);
    int64_t snapshot_id = 0;
    for (int attempt = 1; !l->failed && attempt <= COMMIT_TRIES; attempt++) {
        nf_status st = commit_once(cat, l, t, attempt, &snapshot_id, &err);
        if (st == NF_OK)
            break;
        if (st != NF_ECONFLICT || attempt == COMMIT_TRIES) {
            fail(l, "commit", &err);
            break;
        }
        nf_ice_table_free(t); /* someone appended first: rebase on their snapshot */
        t = NULL;
        if (nf_ice_catalog_load(cat, l->ns, l->table, &t, NULL, &err) != NF_OK)
            fail(l, "reload", &err);
    }
    double secs = (double)(nf_mono_ms() - t0) / 1000.0;
    if (!l->failed)
        printf("{\"flows\": %" PRIu64 ", \"files\": %zu, \"snapshot_id\": %" PRId64
               ", \"seconds\": %.2f, \"rows_per_s\": %.0f}\n",
               src.done, l->nfiles, snapshot_id, secs, secs > 0 ? (double)src.done / secs : 0);
done:
    nf_ice_datafiles_free(l->files, l->nfiles);
    free(l->buf);
    free(l->location);
    nf_duck_close(l->duck);
    nf_ice_table_free(t);
    nf_ice_catalog_close(cat);
    return l->failed;
}

/* ---- query ----------------------------------------------------------------------------- */

static int
query(loader *l)
{
    if (!l->have_start || !l->have_end || !l->have_group) {
        fprintf(stderr, "coldload: --start, --end and --group-by are required\n");
        return usage();
    }
    nf_err err = {0};
    nf_ice_catalog *cat = NULL;
    nf_duck *duck = NULL;
    nf_histq_result *res = NULL;
    nf_histq_stats hs = {0};
    nf_ice_catalog_config cc = {.uri = l->catalog};
    nf_status st = nf_ice_catalog_open(&cc, &cat, &err);
    if (st == NF_OK)
        st = nf_duck_open(NULL, (int)l->threads, l->memory_limit, &duck, &err);
    uint64_t t0 = nf_mono_ms();
    if (st == NF_OK)
        st = nf_histq_run(cat, l->ns, l->table, &l->hopt, duck, &l->req, &res, &hs, &err);
    uint64_t total = nf_mono_ms() - t0;
    for (size_t i = 0; st == NF_OK && i < res->n; i++) {
        if (l->req.group_by == NF_Q_TIME)
            printf("%" PRId64 "\t%" PRIu64 "\n", res->rows[i].ts, res->rows[i].value);
        else
            printf("%s\t%" PRIu64 "\n", res->rows[i].key, res->rows[i].value);
    }
    if (st == NF_OK && l->stats)
        fprintf(stderr,
                "{\"snapshot_id\": %" PRId64 ", \"files_total\": %zu, \"files_kept\": %zu, "
                "\"records_kept\": %" PRId64 ", \"bytes_kept\": %" PRId64 ", \"load_ms\": %" PRIu64
                ", \"scan_ms\": %" PRIu64 ", \"query_ms\": %" PRIu64 ", \"total_ms\": %" PRIu64 "}\n",
                hs.snapshot_id, hs.files_total, hs.files_kept, hs.records_kept, hs.bytes_kept,
                hs.load_ms, hs.scan_ms, hs.query_ms, total);
    if (st != NF_OK)
        fprintf(stderr, "coldload: query: %s\n", err.msg);
    nf_histq_result_free(res);
    nf_duck_close(duck);
    nf_ice_catalog_close(cat);
    if (st != NF_OK)
        return st == NF_EINVAL ? 2 : 1;
    return fflush(stdout) == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    loader l = {.ns = NF_COLD_NAMESPACE, .table = NF_COLD_TABLE, .seed = 1, .days = 2,
                .req = {.metric = NF_Q_BYTES, .limit = DEFAULT_LIMIT}};
    if (argc < 2 || (strcmp(argv[1], "insert") != 0 && strcmp(argv[1], "query") != 0))
        return usage();
    int rc = parse(&l, argc, argv);
    if (rc != 0)
        return rc;
    return strcmp(argv[1], "insert") == 0 ? insert(&l) : query(&l);
}

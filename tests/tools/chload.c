/* chload.c — loads flowgen's realistic traffic into the ClickHouse hot tier, for the
 * benchmarks and the tests, two ways:
 *
 *   chload insert  --url URL --user U --password P [--db netflow] --flows N [--days D]
 *                  [--rate FLOWS_PER_S] [--until EPOCH] [--seed S] [--batch ROWS] [--sampling N]
 *                  [--keep-schema 1]
 *       INSERT INTO <db>.ingest … FORMAT RowBinary straight from the generator (the same
 *       rows the writer sends), N flows spread evenly over the D days (2) before now (or
 *       before --until EPOCH) — or as densely as traffic arriving at --rate flows/s —, every
 *       flow sampled 1 in --sampling N (1), in
 *       batches of ROWS (500 000). Measures what ClickHouse itself ingests, views included.
 *       The schema is created first unless --keep-schema 1 (experiments that change it).
 *
 *   chload publish --nats URL [--certs DIR] [--subject netflow.raw] --flows N [--seed S]
 *                  [--days D | --rate FLOWS_PER_S] [--batch RECORDS] [--consumer DURABLE]
 *                  [--id-prefix P]
 *       publishes FlowBatch messages of RECORDS (1000) records to JetStream, as the poller
 *       would (Nats-Msg-Id P:<first_seq>, P = --id-prefix, default "bench"), after creating
 *       the durable --consumer (default "clickhouse"), for measuring a writer from a full
 *       stream.
 *
 * Traffic: flowgen's model (Zipf client and server pools, weighted ports, Pareto packet
 * counts; lib/flowgen/flowgen.h) from 9 exporters speaking v5, v9 and IPFIX, 10 % IPv6,
 * made by flowsrc.h, which coldload shares (same options, same flows in the cold tier).
 * Prints one JSON line: {"flows": N, "seconds": S, "rows_per_s": R}.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "bus/bus.h"
#include "chwriter/rowbinary.h"
#include "clickhouse/clickhouse.h"
#include "flowgen/flowgen.h"
#include "flowsrc.h"
#include "proto/flowbatch.h"

typedef struct loader {
    const char *mode;
    const char *url, *user, *password, *db, *nats, *certs, *subject;
    const char *consumer, *id_prefix; /* publish: durable created first, Nats-Msg-Id prefix */
    uint64_t flows, seed, batch, days, sampling, until, rate;
    int keep_schema; /* --keep-schema: do not create what is missing (experiments) */
    /* output */
    nf_ch *ch;
    nf_bus *bus;
    nf_rowbuf rows;
    nf_flowbatch_writer fb;
    uint64_t done, seq, batches;
    char into[1024];
    int failed;
} loader;

static void
fail(loader *l, const char *what, const nf_err *err)
{
    fprintf(stderr, "chload: %s: %s\n", what, err->msg);
    l->failed = 1;
}

static void
flush_rows(loader *l)
{
    nf_err err = {0};
    if (l->rows.rows == 0 || l->failed)
        return;
    if (nf_ch_insert_rowbinary(l->ch, l->into, l->rows.buf, l->rows.len, &err) != NF_OK)
        fail(l, "insert", &err);
    nf_rowbuf_reset(&l->rows);
}

static void
flush_batch(loader *l)
{
    nf_err err = {0};
    if (l->fb.records == 0 || l->failed)
        return;
    size_t len;
    const uint8_t *msg = nf_flowbatch_finish(&l->fb, "bench-agent", "bench-poller", 0, &len);
    char id[64];
    snprintf(id, sizeof(id), "%s:%" PRIu64, l->id_prefix, l->fb.first_seq);
    nf_status st;
    /* The stream may be full for a moment: back-pressure, retry. */
    while ((st = nf_bus_publish(l->bus, l->subject, msg, len, id, 10000, NULL, &err)) ==
           NF_EAGAIN)
        nanosleep(&(struct timespec){.tv_nsec = 100000000}, NULL);
    if (st != NF_OK)
        fail(l, "publish", &err);
    nf_flowbatch_reset(&l->fb);
}

/* flowsrc_hook has stopped at --flows or on failure and set received_ms already. */
static void
on_flow(void *ctx, const nf_flow *flow)
{
    loader *l = ctx;
    nf_flow f = *flow;
    l->done++;
    if (strcmp(l->mode, "insert") == 0) {
        char id[32];
        snprintf(id, sizeof(id), "bench:%" PRIu64, l->done / l->batch);
        if (!nf_rowbuf_add(&l->rows, &f, "bench-agent", id)) {
            nf_err err = {0};
            nf_err_set(&err, NF_ENOMEM, "out of memory");
            fail(l, "batch", &err);
        }
        if (l->rows.rows >= l->batch)
            flush_rows(l);
    } else {
        nf_flowbatch_add(&l->fb, &f, ++l->seq, NF_FLOWBATCH_MAX_BYTES);
        if (l->fb.records >= l->batch)
            flush_batch(l);
    }
}

static int
usage(void)
{
    fprintf(stderr, "usage: chload insert --url URL --user U --password P [--db D] --flows N "
                    "[--days D | --rate FLOWS_PER_S] [--until EPOCH] [--seed S] [--batch ROWS] [--sampling N] "
                    "[--keep-schema 1]\n"
                    "       chload publish --nats URL [--certs DIR] [--subject S] --flows N "
                    "[--days D | --rate FLOWS_PER_S] [--seed S] [--batch RECORDS]\n"
                    "                      [--consumer DURABLE] [--id-prefix P]\n");
    return 2;
}

static int
parse(loader *l, int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "insert") != 0 && strcmp(argv[1], "publish") != 0))
        return usage();
    l->mode = argv[1];
    for (int i = 2; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--url") == 0) l->url = v;
        else if (strcmp(k, "--user") == 0) l->user = v;
        else if (strcmp(k, "--password") == 0) l->password = v;
        else if (strcmp(k, "--db") == 0) l->db = v;
        else if (strcmp(k, "--nats") == 0) l->nats = v;
        else if (strcmp(k, "--certs") == 0) l->certs = v;
        else if (strcmp(k, "--subject") == 0) l->subject = v;
        else if (strcmp(k, "--consumer") == 0) l->consumer = v;
        else if (strcmp(k, "--id-prefix") == 0) l->id_prefix = v;
        else if (strcmp(k, "--flows") == 0) l->flows = strtoull(v, NULL, 10);
        else if (strcmp(k, "--seed") == 0) l->seed = strtoull(v, NULL, 10);
        else if (strcmp(k, "--batch") == 0) l->batch = strtoull(v, NULL, 10);
        else if (strcmp(k, "--days") == 0) l->days = strtoull(v, NULL, 10);
        else if (strcmp(k, "--sampling") == 0) l->sampling = strtoull(v, NULL, 10);
        else if (strcmp(k, "--until") == 0) l->until = strtoull(v, NULL, 10);
        else if (strcmp(k, "--rate") == 0) l->rate = strtoull(v, NULL, 10);
        else if (strcmp(k, "--keep-schema") == 0) l->keep_schema = atoi(v);
        else return usage();
    }
    if (l->batch == 0)
        l->batch = strcmp(l->mode, "insert") == 0 ? 500000 : 1000;
    if (l->flows == 0 || l->days == 0 ||
        (strcmp(l->mode, "insert") == 0 ? l->url == NULL : l->nats == NULL))
        return usage();
    return 0;
}

static int
connect_output(loader *l)
{
    nf_err err = {0};
    if (strcmp(l->mode, "insert") == 0) {
        nf_ch_config cc = {.url = l->url, .user = l->user, .password = l->password,
                           .timeout_ms = 600000};
        snprintf(l->into, sizeof(l->into), "%s.ingest %s", l->db, NF_CH_INGEST_COLUMNS);
        if (nf_ch_open(&cc, &l->ch, &err) != NF_OK ||
            (!l->keep_schema && nf_ch_schema_apply(l->ch, l->db, &err) != NF_OK)) {
            fail(l, "clickhouse", &err);
            return 1;
        }
        return 0;
    }
    static char mtls[] = "mtls", cert[] = "poller.pem", key[] = "poller-key.pem",
                ca[] = "root.pem", empty[] = "", name[] = "nats.serviceradar";
    char cert_dir[4096];
    snprintf(cert_dir, sizeof(cert_dir), "%s", l->certs ? l->certs : "");
    nf_security_config sec = {.mode = mtls, .cert_dir = cert_dir, .server_name = name,
                              .role = empty};
    sec.tls.cert_file = cert, sec.tls.key_file = key, sec.tls.ca_file = ca;
    sec.tls.client_ca_file = empty;
    nf_bus_config bc = {.url = l->nats, .security = l->certs ? &sec : NULL, .name = "chload"};
    /* As the poller does: the stream and the writer's durable exist before the first
     * message, or Interest retention would keep nothing. */
    const char *subjects[] = {l->subject};
    nf_stream_config sc = {.name = "NETFLOW", .subjects = subjects, .nsubjects = 1,
                           .max_bytes = (int64_t)4 << 30, .discard_new = true};
    if (nf_bus_connect(&bc, &l->bus, &err) != NF_OK ||
        nf_bus_ensure_stream(l->bus, &sc, &err) != NF_OK ||
        nf_bus_consumer_ensure(l->bus, "NETFLOW", l->consumer, l->subject, 0, 0, &err) != NF_OK) {
        fail(l, "nats", &err);
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    loader l = {.db = "netflow", .subject = "netflow.raw", .consumer = "clickhouse",
                .id_prefix = "bench", .seed = 1, .batch = 0, .days = 2};
    if (parse(&l, argc, argv) != 0)
        return 2;
    if (connect_output(&l) != 0)
        return 1;

    flowsrc src = {.flows = l.flows, .days = l.days, .rate = l.rate, .until = l.until,
                   .seed = l.seed, .sampling = l.sampling, .emit = on_flow, .ctx = &l,
                   .failed = &l.failed};
    nf_err err = {0};
    uint64_t t0 = nf_mono_ms();
    if (flowsrc_run(&src, &err) != NF_OK) {
        fprintf(stderr, "chload: %s\n", err.msg);
        return 1;
    }
    if (strcmp(l.mode, "insert") == 0)
        flush_rows(&l);
    else
        flush_batch(&l);
    double secs = (double)(nf_mono_ms() - t0) / 1000.0;
    if (!l.failed)
        printf("{\"flows\": %" PRIu64 ", \"seconds\": %.2f, \"rows_per_s\": %.0f}\n", l.done, secs,
               secs > 0 ? (double)l.done / secs : 0);
    nf_rowbuf_free(&l.rows);
    nf_flowbatch_writer_free(&l.fb);
    nf_ch_close(l.ch);
    nf_bus_close(l.bus);
    return l.failed;
}

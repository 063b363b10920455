/* jsread.c — reads FlowBatches back from JetStream with a durable pull consumer and checks
 * them: every record is counted once per (agent, sequence), so duplicates and gaps show.
 *
 *   jsread --url URL [--certs DIR] [--stream NETFLOW] [--durable NAME] [--subject S]
 *          [--expect N] [--timeout 30s] [--no-ack]
 *
 * Stops when N distinct records were seen (or at the timeout, or when nothing arrives for
 * the timeout if --expect is 0). Prints one JSON line: messages, records, distinct records,
 * duplicate records, sums of bytes and packets (raw), per-agent sequence ranges and the
 * holes inside them. With --certs, connects with mTLS as "poller" (DIR/poller.pem).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/parse.h"
#include "bus/bus.h"
#include "proto/flowbatch.h"
#include "test_security.h"

#define MAX_AGENTS 64
#define FETCH 64

typedef struct agent_seen {
    char name[128];
    uint64_t *seqs; /* every sequence seen, sorted at the end */
    size_t n, cap;
} agent_seen;

static agent_seen agents[MAX_AGENTS];
static size_t nagents;

static agent_seen *
agent_for(const char *name)
{
    for (size_t i = 0; i < nagents; i++)
        if (strcmp(agents[i].name, name) == 0)
            return &agents[i];
    if (nagents == MAX_AGENTS)
        return NULL;
    snprintf(agents[nagents].name, sizeof(agents[nagents].name), "%s", name);
    return &agents[nagents++];
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    const char *url = NULL, *certs = NULL, *stream = "NETFLOW", *durable = "jsread",
               *subject = "netflow.raw";
    uint64_t expect = 0, timeout_ms = 30000;
    int ack = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--url") == 0 && v) url = v, i++;
        else if (strcmp(argv[i], "--certs") == 0 && v) certs = v, i++;
        else if (strcmp(argv[i], "--stream") == 0 && v) stream = v, i++;
        else if (strcmp(argv[i], "--durable") == 0 && v) durable = v, i++;
        else if (strcmp(argv[i], "--subject") == 0 && v) subject = v, i++;
        else if (strcmp(argv[i], "--expect") == 0 && v && nf_parse_u64(v, 0, UINT64_MAX, &expect)) i++;
        else if (strcmp(argv[i], "--timeout") == 0 && v && nf_parse_duration_ms(v, &timeout_ms)) i++;
        else if (strcmp(argv[i], "--no-ack") == 0) ack = 0;
        else {
            fprintf(stderr, "jsread: bad argument %s\n", argv[i]);
            return 2;
        }
    }
    if (url == NULL) {
        fprintf(stderr, "jsread: --url is required\n");
        return 2;
    }
    char cert_dir[4096];
    nf_security_config sec = {0};
    if (certs != NULL)
        test_security(&sec, certs, cert_dir, sizeof(cert_dir));
    nf_bus_config bc = {.url = url, .security = certs ? &sec : NULL, .name = "jsread"};
    nf_bus *bus = NULL;
    nf_bus_consumer *c = NULL;
    nf_err err = {0};
    if (nf_bus_connect(&bc, &bus, &err) != NF_OK ||
        nf_bus_consumer_open(bus, stream, durable, subject, 30000, 0, &c, &err) != NF_OK) {
        fprintf(stderr, "jsread: %s\n", err.msg);
        nf_bus_close(bus);
        return 1;
    }
    uint64_t messages = 0, records = 0, bytes = 0, packets = 0, dropped_reported = 0;
    uint64_t last_progress = nf_mono_ms();
    nf_flow *flows = malloc(20000 * sizeof(nf_flow));
    uint64_t *seqs = malloc(20000 * sizeof(uint64_t));
    size_t distinct_est = 0;
    while (nf_mono_ms() - last_progress < timeout_ms && (expect == 0 || distinct_est < expect)) {
        nf_bus_msg msgs[FETCH];
        size_t n = 0;
        if (nf_bus_fetch(c, FETCH, 500, msgs, &n, &err) != NF_OK)
            continue;
        for (size_t i = 0; i < n; i++) {
            nf_flowbatch_header h;
            size_t got = 0;
            if (nf_flowbatch_decode(msgs[i].data, msgs[i].len, &h, flows, seqs, 20000, &got,
                                    &err) != NF_OK) {
                fprintf(stderr, "jsread: message %" PRIu64 ": %s\n", msgs[i].stream_seq, err.msg);
                if (ack)
                    nf_bus_term(c, &msgs[i], NULL);
                else
                    nf_bus_msg_release(&msgs[i]);
                continue;
            }
            messages++;
            dropped_reported += h.dropped_before;
            agent_seen *a = agent_for(h.agent_id);
            for (size_t k = 0; k < got && a != NULL; k++) {
                records++;
                bytes += flows[k].bytes;
                packets += flows[k].packets;
                if (a->n == a->cap) {
                    a->cap = a->cap ? a->cap * 2 : 4096;
                    a->seqs = realloc(a->seqs, a->cap * sizeof(uint64_t));
                }
                a->seqs[a->n++] = seqs[k];
            }
            distinct_est += got; /* exact distinct count is computed at the end */
            if (ack)
                nf_bus_ack(c, &msgs[i], NULL);
            else
                nf_bus_msg_release(&msgs[i]);
        }
        if (n > 0)
            last_progress = nf_mono_ms();
    }
    uint64_t distinct = 0, duplicates = 0, holes = 0;
    printf("{\"messages\":%" PRIu64 ",\"records\":%" PRIu64, messages, records);
    char per[8192];
    size_t off = 0;
    for (size_t i = 0; i < nagents; i++) {
        agent_seen *a = &agents[i];
        qsort(a->seqs, a->n, sizeof(uint64_t), cmp_u64);
        uint64_t d = 0, a_holes = 0;
        for (size_t k = 0; k < a->n; k++) {
            if (k > 0 && a->seqs[k] == a->seqs[k - 1]) {
                duplicates++;
                continue;
            }
            if (k > 0)
                a_holes += a->seqs[k] - a->seqs[k - 1] - 1;
            d++;
        }
        distinct += d;
        holes += a_holes;
        off += (size_t)snprintf(per + off, sizeof(per) - off,
                                "%s{\"agent\":\"%s\",\"distinct\":%" PRIu64 ",\"first\":%" PRIu64
                                ",\"last\":%" PRIu64 ",\"holes\":%" PRIu64 "}",
                                i ? "," : "", a->name, d, a->n ? a->seqs[0] : 0,
                                a->n ? a->seqs[a->n - 1] : 0, a_holes);
        if (off >= sizeof(per))
            off = sizeof(per) - 1;
        free(a->seqs);
    }
    printf(",\"distinct\":%" PRIu64 ",\"duplicates\":%" PRIu64 ",\"holes\":%" PRIu64
           ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"dropped_reported\":%" PRIu64
           ",\"agents\":[%s]}\n",
           distinct, duplicates, holes, bytes, packets, dropped_reported, per);
    free(flows);
    free(seqs);
    nf_bus_consumer_close(c);
    nf_bus_close(bus);
    nf_bus_global_cleanup(2000);
    return 0;
}

/* serviceradar-flowtail — prints the flow records arriving in the NETFLOW stream, one JSON
 * object per line (the fields of `serviceradar-flowdump`, plus agent_id and sequence): a way
 * for an operator to see what the pollers publish, with the poller's own NATS settings.
 *
 *   serviceradar-flowtail [-c poller.json] [--durable NAME] [--count N] [--timeout DUR]
 *
 * Reads with a durable pull consumer (default "flowtail") and acknowledges each message
 * after printing it, so a restarted tail continues where it stopped. With the stream's
 * Interest retention a durable only receives messages published after it exists: name it in
 * the poller's nats_config.consumers to have the poller create it before publishing.
 * --count N: stop after N records; --timeout DUR: stop when nothing arrives for DUR. Stops
 * on SIGINT/SIGTERM too. Undecodable messages are reported on stderr and terminated.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/parse.h"
#include "bus/bus.h"
#include "flow/flow_json.h"
#include "poller/poller_config.h"
#include "proto/flowbatch.h"

#define COMP "flowtail"
#define FETCH 16
#define FETCH_WAIT_MS 500
#define ACK_WAIT_MS 30000
/* Records decoded from one message at most; a FlowBatch from our pollers holds <= 10 000. */
#define MAX_RECORDS 100000

static volatile sig_atomic_t stop_signal;

static void
on_signal(int sig)
{
    stop_signal = sig;
}

static void
warn_key(void *ctx, const char *file, const char *key)
{
    (void)ctx;
    (void)file;
    (void)key; /* the poller warns about its own config; the tail stays quiet */
}

typedef struct tail {
    nf_flow *flows;
    uint64_t *seqs;
    uint64_t printed;
} tail;

/* Prints one message's records; false if it does not decode. */
static bool
print_batch(tail *t, const nf_bus_msg *m)
{
    nf_flowbatch_header h;
    size_t n = 0;
    nf_err err = {0};
    if (nf_flowbatch_decode(m->data, m->len, &h, t->flows, t->seqs, MAX_RECORDS, &n, &err) !=
        NF_OK) {
        nf_log_error(COMP, "stream message %llu: %s", (unsigned long long)m->stream_seq, err.msg);
        return false;
    }
    if (h.records > n)
        nf_log_warn(COMP, "stream message %llu: %u records, printing the first %zu",
                    (unsigned long long)m->stream_seq, h.records, n);
    if (h.dropped_before > 0)
        nf_log_warn(COMP, "agent %s: %llu records were lost at the edge before sequence %llu",
                    h.agent_id, (unsigned long long)h.dropped_before,
                    (unsigned long long)h.first_seq);
    /* The agent id is whatever the publisher wrote: quote it as JSON. */
    json_t *id = json_string(h.agent_id);
    char *quoted = id != NULL ? json_dumps(id, JSON_ENCODE_ANY) : NULL;
    json_decref(id);
    char line[NF_FLOW_JSON_MAX];
    for (size_t i = 0; i < n; i++) {
        size_t len = nf_flow_to_json(&t->flows[i], line, sizeof(line));
        if (len < 2 || line[len - 1] != '}')
            continue;
        printf("%.*s,\"agent_id\":%s,\"sequence\":%llu}\n", (int)(len - 1), line,
               quoted != NULL ? quoted : "null", (unsigned long long)t->seqs[i]);
    }
    free(quoted);
    t->printed += n;
    return true;
}

int
main(int argc, char **argv)
{
    const char *path = NF_POLLER_CONFIG_PATH, *durable = "flowtail";
    uint64_t count = 0, timeout_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "-c") == 0 && v)
            path = argv[++i];
        else if (strcmp(argv[i], "--durable") == 0 && v)
            durable = argv[++i];
        else if (strcmp(argv[i], "--count") == 0 && v && nf_parse_u64(v, 1, UINT64_MAX, &count))
            i++;
        else if (strcmp(argv[i], "--timeout") == 0 && v && nf_parse_duration_ms(v, &timeout_ms))
            i++;
        else {
            fprintf(stderr, "usage: serviceradar-flowtail [-c poller.json] [--durable NAME] "
                            "[--count N] [--timeout DUR]\n");
            return 2;
        }
    }
    nf_poller_config cfg;
    nf_err err = {0};
    if (nf_poller_config_load(path, false, &cfg, warn_key, NULL, &err) != NF_OK) {
        nf_log_error(COMP, "%s", err.msg);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    nf_bus *bus = NULL;
    nf_bus_consumer *c = NULL;
    tail t = {.flows = malloc(MAX_RECORDS * sizeof(nf_flow)),
              .seqs = malloc(MAX_RECORDS * sizeof(uint64_t))};
    nf_bus_config bc = {.url = cfg.nats.url, .security = &cfg.nats.security, .name = COMP};
    if (t.flows == NULL || t.seqs == NULL) {
        nf_log_error(COMP, "out of memory");
        goto out;
    }
    if (nf_bus_connect(&bc, &bus, &err) != NF_OK ||
        nf_bus_consumer_open(bus, cfg.nats.stream, durable, cfg.nats.subject, ACK_WAIT_MS, 0, &c,
                             &err) != NF_OK) {
        nf_log_error(COMP, "%s (nats_config in %s)", err.msg, path);
        goto out;
    }
    nf_log_info(COMP, "reading stream %s subject %s as durable %s from %s", cfg.nats.stream,
                cfg.nats.subject, durable, cfg.nats.url);
    uint64_t last_data = nf_mono_ms();
    rc = 0;
    while (!stop_signal && (count == 0 || t.printed < count) &&
           (timeout_ms == 0 || nf_mono_ms() - last_data < timeout_ms)) {
        nf_bus_msg msgs[FETCH];
        size_t n = 0;
        if (nf_bus_fetch(c, FETCH, FETCH_WAIT_MS, msgs, &n, &err) != NF_OK) {
            nf_log_warn(COMP, "%s", err.msg);
            continue; /* the connection reconnects by itself */
        }
        if (n > 0)
            last_data = nf_mono_ms();
        for (size_t i = 0; i < n; i++) {
            bool ok = print_batch(&t, &msgs[i]);
            fflush(stdout);
            nf_status st = ok ? nf_bus_ack(c, &msgs[i], &err) : nf_bus_term(c, &msgs[i], &err);
            if (st != NF_OK) {
                nf_log_warn(COMP, "settling a message: %s (it will be redelivered)", err.msg);
                nf_bus_msg_release(&msgs[i]);
            }
        }
    }
    nf_log_info(COMP, "%llu records printed", (unsigned long long)t.printed);
out:
    nf_bus_consumer_close(c);
    nf_bus_close(bus);
    free(t.flows);
    free(t.seqs);
    nf_poller_config_free(&cfg);
    /* No nf_bus_global_cleanup(): see cmd/poller/main.c (nats.c issue #904). */
    return rc;
}

/* serviceradar-flowgen — sends (or writes to pcap) deterministic NetFlow v5/v9/IPFIX traffic.
 *
 * Thin: arguments → lib/flowgen (the generator) → lib/flowgen/sender (one UDP socket per
 * exporter, sendmmsg batches, or a pcap file). Rate limiting is a token bucket of flows on
 * CLOCK_MONOTONIC. Ends after --flows (exactly), --duration (wall time; virtual time with
 * --pcap) or SIGINT/SIGTERM, then prints one JSON line of what was actually sent on stdout.
 * Send errors are counted, never fatal.
 * Exit status: 0 done, 1 runtime failure (socket, pcap file), 2 bad arguments.
 *
 * Addresses: with --source-base, or a 127/8 target, socket i is bound to exporter address
 * base + i (127.0.0.10 + i by default: all of 127/8 is local on Linux), so a collector sees
 * distinct exporters. Otherwise the kernel chooses the source and exporters differ only by
 * their domain; the JSON still names the generator's exporter addresses.
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/parse.h"
#include "flowgen/flowgen.h"
#include "flowgen/sender.h"

#define DEFAULT_RATE 10000 /* flows/s */
#define FAST_PACE 1000000  /* virtual flows/s for --rate 0: about what one core sends */
#define PROGRESS_MS 1000

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

typedef struct opts {
    char host[NF_ADDR_STRLEN];
    uint16_t port;
    uint64_t flows, duration_ms, rate, start_ms;
    const char *pcap;
    bool have_base, quiet;
    flowgen_config cfg;
} opts;

static void
usage(FILE *out)
{
    fputs("usage: serviceradar-flowgen [--target HOST:PORT] [--protocol v5|v9|ipfix|mix]\n"
          "  [--exporters N] [--flows N] [--duration 30s] [--rate FLOWS_PER_SEC] [--seed S]\n"
          "  [--sampling N] [--ipv6-share PCT] [--template-interval N] [--start-time EPOCH_MS]\n"
          "  [--pcap FILE] [--source-base ADDR] [--max-datagram BYTES] [--quiet]\n",
          out);
}

static _Noreturn void
bad(const char *opt, const char *val)
{
    fprintf(stderr, "serviceradar-flowgen: --%s: invalid value '%s'\n", opt, val ? val : "");
    usage(stderr);
    exit(2);
}

static _Noreturn void
refuse(const char *opt, const char *why)
{
    fprintf(stderr, "serviceradar-flowgen: --%s: %s\n", opt, why);
    usage(stderr);
    exit(2);
}

static uint64_t
num(const char *opt, const char *v, uint64_t min, uint64_t max)
{
    uint64_t x;
    if (!nf_parse_u64(v, min, max, &x))
        bad(opt, v);
    return x;
}

static uint32_t
num32(const char *opt, const char *v, uint64_t min, uint64_t max)
{
    return (uint32_t)num(opt, v, min, max);
}

static void
parse_args(int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        {"target", 1, 0, 't'},
        {"protocol", 1, 0, 'P'},
        {"exporters", 1, 0, 'e'},
        {"flows", 1, 0, 'f'},
        {"duration", 1, 0, 'd'},
        {"rate", 1, 0, 'r'},
        {"seed", 1, 0, 's'},
        {"sampling", 1, 0, 'S'},
        {"ipv6-share", 1, 0, '6'},
        {"template-interval", 1, 0, 'T'},
        {"start-time", 1, 0, 'b'},
        {"pcap", 1, 0, 'p'},
        {"source-base", 1, 0, 'B'},
        {"max-datagram", 1, 0, 'm'},
        {"quiet", 0, 0, 'q'},
        {"help", 0, 0, 'h'},
        {0, 0, 0, 0},
    };
    const char *target = "127.0.0.1:2055";
    flowgen_config *c = &o->cfg;
    o->rate = DEFAULT_RATE;
    flowgen_config_default(c);
    o->start_ms = nf_wall_ms(); /* real time, so a collector sees current flows */
    int ch, idx = 0;
    while ((ch = getopt_long(argc, argv, "", longs, &idx)) != -1) {
        const char *n = longs[idx].name, *v = optarg;
        switch (ch) {
        case 't':
            target = v;
            break;
        case 'P':
            if (!flowgen_protocol_parse(v, &c->protocol))
                bad(n, v);
            break;
        case 'e':
            c->exporters = num32(n, v, 1, FLOWGEN_MAX_EXPORTERS);
            break;
        case 'f':
            o->flows = num(n, v, 1, UINT64_MAX);
            break;
        case 'd':
            if (!nf_parse_duration_ms(v, &o->duration_ms) || o->duration_ms == 0)
                bad(n, v);
            break;
        case 'r':
            o->rate = num(n, v, 0, UINT32_MAX);
            break;
        case 's':
            c->seed = num(n, v, 0, UINT64_MAX);
            break;
        case 'S':
            c->sampling_rate = num32(n, v, 1, UINT32_MAX);
            break;
        case '6':
            c->ipv6_share = num32(n, v, 0, 100);
            break;
        case 'T':
            c->template_interval = num32(n, v, 0, UINT32_MAX);
            break;
        case 'b':
            o->start_ms = num(n, v, FLOWGEN_MIN_START_MS, FLOWGEN_MAX_START_MS);
            break;
        case 'p':
            o->pcap = v;
            break;
        case 'B':
            if (!nf_addr_parse(v, c->exporter_base))
                bad(n, v);
            o->have_base = true;
            break;
        case 'm':
            c->max_datagram = num32(n, v, FLOWGEN_MIN_DATAGRAM, FLOWGEN_MAX_DATAGRAM);
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default: /* getopt_long has named the option */
            usage(stderr);
            exit(2);
        }
    }
    if (optind < argc) { /* every option starts with -- */
        fprintf(stderr, "serviceradar-flowgen: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        exit(2);
    }
    if (!nf_hostport_parse(target, o->host, sizeof(o->host), &o->port) || o->host[0] == '\0')
        bad("target", target);
    c->start_ms = o->start_ms;
    c->flows_per_sec = o->rate ? (uint32_t)o->rate : FAST_PACE;
    if (o->pcap != NULL && o->flows == 0 && o->duration_ms == 0)
        refuse("pcap", "needs --flows or --duration");
    if (c->sampling_rate > FLOWGEN_V5_MAX_RATE &&
        (c->protocol == FLOWGEN_V5 || c->protocol == FLOWGEN_MIX))
        refuse("sampling", "v5 carries at most 16383 (14-bit interval)");
}

/* Generates and sends until --flows, --duration or a signal; returns the exit status. */
static int
run(const opts *o, flowgen *g, flowgen_sender *snd)
{
    uint64_t t0 = nf_mono_ns(), last = t0, progress = nf_mono_ms(), generated = 0;
    double tokens = 0, burst = o->rate / 50.0 > 64 ? o->rate / 50.0 : 64; /* 20 ms of flows */
    while (!stop_flag && (o->flows == 0 || generated < o->flows)) {
        uint64_t now = nf_mono_ns();
        if (o->pcap == NULL && o->duration_ms && now - t0 >= o->duration_ms * 1000000u)
            break;
        if (o->pcap == NULL && o->rate > 0) {
            tokens += (double)(now - last) * 1e-9 * (double)o->rate;
            tokens = tokens > burst ? burst : tokens;
            last = now;
            if (tokens < 0) { /* in debt: send what is queued, then wait it off */
                flowgen_sender_flush(snd);
                double wait_s = -tokens / (double)o->rate;
                struct timespec ts = {0, (long)((wait_s < 0.05 ? wait_s : 0.05) * 1e9)};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        uint64_t left = o->flows ? o->flows - generated : 0;
        uint32_t max = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
        size_t cap, len;
        uint8_t *buf = flowgen_sender_slot(snd, &cap);
        flowgen_datagram d;
        nf_err err;
        if (flowgen_next(g, max, buf, cap, &len, &d) != NF_OK ||
            flowgen_sender_commit(snd, len, &d, &err) != NF_OK) {
            fprintf(stderr, "serviceradar-flowgen: %s\n", err.msg);
            return 1;
        }
        generated += d.flows;
        tokens -= d.flows;
        if (o->pcap != NULL && o->duration_ms && d.virtual_ms - o->start_ms >= o->duration_ms)
            break;
        if (!o->quiet && nf_mono_ms() - progress >= PROGRESS_MS) {
            flowgen_counts c;
            uint64_t errors;
            progress = nf_mono_ms();
            flowgen_sender_totals(snd, &c, &errors);
            fprintf(stderr,
                    "flowgen: flows=%" PRIu64 " datagrams=%" PRIu64 " send_errors=%" PRIu64 "\n",
                    c.flows, c.datagrams, errors);
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof(o));
    parse_args(argc, argv, &o);
    flowgen_sender_config sc = {.port = o.port, .pcap_path = o.pcap};
    if (!nf_addr_parse(o.host, sc.target))
        bad("target", o.host);
    if (!o.have_base && !nf_addr_is_v4(sc.target) && o.pcap != NULL)
        refuse("pcap", "an IPv6 --target needs an IPv6 --source-base");
    if (o.have_base && nf_addr_is_v4(o.cfg.exporter_base) != nf_addr_is_v4(sc.target))
        refuse("source-base", "address family differs from --target");
    /* Bind exporter addresses when asked, or when they are local anyway (a 127/8 target). */
    sc.bind_sources = o.have_base || (nf_addr_is_v4(sc.target) && sc.target[12] == 127);

    nf_err err;
    flowgen *g = NULL;
    flowgen_sender *snd = NULL;
    if (flowgen_create(&o.cfg, &g, &err) != NF_OK) { /* names the offending setting */
        fprintf(stderr, "serviceradar-flowgen: invalid arguments: %s\n", err.msg);
        return 2;
    }
    if (flowgen_sender_open(g, &sc, &snd, &err) != NF_OK) {
        fprintf(stderr, "serviceradar-flowgen: %s\n", err.msg);
        flowgen_destroy(g);
        return 1;
    }
    if (o.pcap == NULL && !sc.bind_sources && !o.quiet)
        nf_log_info("flowgen", "not binding exporter addresses (non-loopback target without "
                               "--source-base): exporters differ by domain only");
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps and sends return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uint64_t t0 = nf_mono_ns();
    int rc = run(&o, g, snd);
    flowgen_sender_flush(snd);
    flowgen_sender_write_json(snd, stdout, (nf_mono_ns() - t0) / 1000000u);
    if (flowgen_sender_close(snd, &err) != NF_OK) {
        fprintf(stderr, "serviceradar-flowgen: %s\n", err.msg);
        rc = 1;
    }
    flowgen_destroy(g);
    return rc;
}

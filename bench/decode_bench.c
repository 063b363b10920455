/* decode_bench.c — decoder throughput per core, by export protocol.
 *
 *   decode_bench [SECONDS_PER_CASE]
 *
 * flowgen produces 4096 datagrams per case in memory (1400-byte datagrams as exporters
 * send them, 8 exporters, templates re-sent every 20 datagrams); the decoder then decodes
 * them over and over for the given time on one thread. The sink copies each flow into a
 * 4096-record buffer, as the collector does before a ring append, so the figure includes
 * producing a usable record, not just parsing. Time is thread CPU time. Prints a table with
 * the project's targets next to the results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decode/nf_decode.h"
#include "flowgen/flowgen.h"

#define DATAGRAMS 4096

typedef struct sink {
    nf_flow buf[4096];
    size_t n;
    uint64_t flows, bytes;
} sink;

static void
collect(void *ctx, const nf_flow *f)
{
    sink *s = ctx;
    s->buf[s->n++ & 4095] = *f;
    s->flows++;
    s->bytes += f->bytes;
}

static double
cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct bench_case {
    const char *name;
    flowgen_protocol protocol;
    uint32_t ipv6_share, sampling;
    double target; /* flows/s per core */
} bench_case;

static int
run(const bench_case *bc, double seconds)
{
    flowgen_config cfg;
    flowgen_config_default(&cfg);
    cfg.protocol = bc->protocol;
    cfg.exporters = 8;
    cfg.ipv6_share = bc->ipv6_share;
    cfg.sampling_rate = bc->sampling;
    flowgen *g = NULL;
    if (flowgen_create(&cfg, &g, NULL) != NF_OK)
        return -1;
    uint8_t *bufs = malloc((size_t)DATAGRAMS * cfg.max_datagram);
    size_t *lens = malloc(DATAGRAMS * sizeof(*lens));
    uint8_t (*srcs)[16] = malloc(DATAGRAMS * 16);
    uint64_t wire_bytes = 0;
    for (int i = 0; i < DATAGRAMS; i++) {
        flowgen_datagram info;
        flowgen_next(g, 0, bufs + (size_t)i * cfg.max_datagram, cfg.max_datagram, &lens[i], &info);
        memcpy(srcs[i], info.exporter_addr, 16);
        wire_bytes += lens[i];
    }
    flowgen_destroy(g);

    nf_decoder *d = NULL;
    nf_decoder_create(NULL, &d, NULL);
    static sink s;
    memset(&s, 0, sizeof(s));
    nf_datagram dg = {.received_ms = 1767225600000ull};
    double start = cpu_seconds(), now = start;
    uint64_t datagrams = 0;
    while (now - start < seconds) {
        for (int i = 0; i < DATAGRAMS; i++) {
            dg.data = bufs + (size_t)i * cfg.max_datagram;
            dg.len = lens[i];
            memcpy(dg.src_addr, srcs[i], 16);
            nf_decoder_decode(d, &dg, collect, &s);
        }
        datagrams += DATAGRAMS;
        now = cpu_seconds();
    }
    double elapsed = now - start;
    const nf_decode_counters *c = nf_decoder_counters(d);
    uint64_t errors = 0;
    for (int r = 0; r < NF_DROP_REASON_COUNT; r++)
        errors += c->errors[r];
    double rate = (double)s.flows / elapsed;
    printf("| %-22s | %10.2f M | %8.0f k | %7.1f | %6.1f M | %-4s | %5llu |\n", bc->name, rate / 1e6,
           (double)datagrams / elapsed / 1e3, (double)wire_bytes / DATAGRAMS,
           bc->target / 1e6, rate >= bc->target ? "yes" : "NO", (unsigned long long)errors);
    nf_decoder_destroy(d);
    free(bufs);
    free(lens);
    free(srcs);
    return errors == 0 ? 0 : -1;
}

int
main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    static const bench_case cases[] = {
        {"v5", FLOWGEN_V5, 0, 1, 10e6},
        {"v9 (IPv4)", FLOWGEN_V9, 0, 1, 4e6},
        {"v9 (20% IPv6, sampled)", FLOWGEN_V9, 20, 100, 4e6},
        {"IPFIX (IPv4)", FLOWGEN_IPFIX, 0, 1, 4e6},
        {"IPFIX (20% IPv6, smp.)", FLOWGEN_IPFIX, 20, 100, 4e6},
    };
    printf("decode throughput, one core, %.0f s CPU per case\n\n", seconds);
    printf("| %-22s | %12s | %10s | %7s | %8s | %-4s | %5s |\n", "case", "flows/s", "dgrams/s",
           "B/dgram", "target", "met", "errs");
    printf("|%s|%s|%s|%s|%s|%s|%s|\n", "------------------------", "--------------",
           "------------", "---------", "----------", "------", "-------");
    int bad = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        bad |= run(&cases[i], seconds);
    return bad ? 1 : 0;
}

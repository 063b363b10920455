/* serviceradar-flowgen — sends (or writes to pcap) deterministic NetFlow v5/v9/IPFIX traffic.
 *
 * Thin: arguments → lib/flowgen → one UDP socket per exporter (sendmmsg batches) or a pcap
 * file. Rate limiting is a token bucket of flows on CLOCK_MONOTONIC. Ends after --flows
 * (exactly), --duration (wall time; virtual time with --pcap) or SIGINT/SIGTERM, then prints
 * one JSON line of what was actually sent on stdout. Send errors are counted, never fatal.
 * Exit status: 0 done, 1 runtime failure (socket, pcap file), 2 bad arguments.
 *
 * Addresses: with --source-base, or a 127/8 target, socket i is bound to exporter address
 * base + i (127.0.0.10 + i by default: all of 127/8 is local on Linux), so a collector sees
 * distinct exporters. Otherwise the kernel chooses the source and exporters differ only by
 * their domain; the JSON still names the generator's exporter addresses.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/parse.h"
#include "flowgen/flowgen.h"

#define BATCH 64           /* datagrams per flush: amortises syscalls, bounds latency */
#define DEFAULT_RATE 10000 /* flows/s */
#define FAST_PACE 1000000  /* virtual flows/s for --rate 0: about what one core sends */
#define PROGRESS_MS 1000
#define SNDBUF (4 << 20) /* absorbs bursts at high rates */

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

typedef struct sender {
    flowgen *g;
    int *fds;           /* one per exporter; unused with pcap */
    uint8_t (*src)[16]; /* per exporter: the source address datagrams carry */
    pcap_t *pd;
    pcap_dumper_t *dump;
    uint8_t target[16];
    uint16_t port;
    flowgen_counts total, *per; /* what was actually sent */
    uint64_t send_errors;
    uint16_t ip_id;
    nf_ratelimit rl;
    uint8_t *bufs; /* BATCH buffers of max_datagram bytes */
    size_t lens[BATCH];
    flowgen_datagram infos[BATCH];
    int n;
} sender;

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

/* Opens the per-exporter sockets. Returns false (message printed) on failure. */
static bool
open_sockets(sender *s, const opts *o)
{
    struct sockaddr_storage dst;
    socklen_t dst_len;
    nf_sockaddr_make(o->host, o->port, &dst, &dst_len);
    bool v4 = nf_addr_is_v4(s->target);
    bool bind_src = o->have_base || (v4 && s->target[12] == 127);
    uint32_t n = flowgen_exporter_count(s->g);
    for (uint32_t i = 0; i < n; i++) {
        flowgen_exporter ex;
        flowgen_exporter_get(s->g, i, &ex);
        char a[NF_ADDR_STRLEN];
        int fd = s->fds[i] = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fprintf(stderr, "serviceradar-flowgen: socket: %s\n", strerror(errno));
            return false;
        }
        int sz = SNDBUF;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)); /* best effort */
        struct sockaddr_storage src;
        socklen_t src_len;
        if (bind_src && (!nf_sockaddr_make(nf_addr_format(ex.addr, a), 0, &src, &src_len) ||
                         bind(fd, (struct sockaddr *)&src, src_len) != 0)) {
            fprintf(stderr, "serviceradar-flowgen: bind %s: %s\n", a, strerror(errno));
            return false;
        }
        if (connect(fd, (struct sockaddr *)&dst, dst_len) != 0) {
            fprintf(stderr, "serviceradar-flowgen: connect %s:%u: %s\n", o->host, o->port,
                    strerror(errno));
            return false;
        }
        /* Unbound: report the address the kernel chose, which is what a collector sees. */
        uint16_t port;
        src_len = sizeof(src);
        if (!bind_src && getsockname(fd, (struct sockaddr *)&src, &src_len) == 0)
            nf_addr_from_sockaddr((struct sockaddr *)&src, s->src[i], &port);
    }
    if (!bind_src && !o->quiet)
        nf_log_info("flowgen", "not binding exporter addresses (non-loopback target without "
                               "--source-base): exporters differ by domain only");
    return true;
}

static void
count_sent(sender *s, const flowgen_datagram *d)
{
    flowgen_counts *cs[2] = {&s->total, &s->per[d->exporter]};
    for (int k = 0; k < 2; k++) {
        cs[k]->datagrams++;
        cs[k]->flows += d->flows;
        cs[k]->bytes += d->bytes;
        cs[k]->packets += d->packets;
        cs[k]->template_datagrams += d->has_templates;
    }
}

static void
send_error(sender *s, int err)
{
    uint64_t suppressed = 0;
    s->send_errors++;
    if (nf_ratelimit_allow(&s->rl, nf_mono_ms(), 5000, &suppressed))
        nf_log_warn("flowgen", "send failed err=\"%s\" suppressed=%" PRIu64, strerror(err),
                    suppressed);
}

/* Sends the batch: one sendmmsg run per exporter, in datagram order within each. */
static void
flush(sender *s, size_t cap)
{
    bool done[BATCH] = {false};
    for (int i = 0; i < s->n; i++) {
        if (done[i])
            continue;
        struct mmsghdr msgs[BATCH];
        struct iovec iov[BATCH];
        int slot[BATCH], m = 0;
        for (int j = i; j < s->n; j++) {
            if (done[j] || s->infos[j].exporter != s->infos[i].exporter)
                continue;
            done[j] = true;
            iov[m] = (struct iovec){s->bufs + (size_t)j * cap, s->lens[j]};
            memset(&msgs[m], 0, sizeof(msgs[m]));
            msgs[m].msg_hdr.msg_iov = &iov[m];
            msgs[m].msg_hdr.msg_iovlen = 1;
            slot[m++] = j;
        }
        int fd = s->fds[s->infos[i].exporter];
        for (int k = 0; k < m;) {
            int r = sendmmsg(fd, msgs + k, (unsigned)(m - k), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) { /* the datagram at k failed; skip it and go on */
                send_error(s, r < 0 ? errno : EIO);
                k++;
                continue;
            }
            for (int q = 0; q < r; q++)
                count_sent(s, &s->infos[slot[k + q]]);
            k += r;
        }
    }
    s->n = 0;
}

static bool
write_pcap(sender *s, const uint8_t *data, size_t len, const flowgen_datagram *d)
{
    uint8_t frame[FLOWGEN_MAX_DATAGRAM + FLOWGEN_FRAME_OVERHEAD];
    size_t flen;
    nf_err err;
    if (flowgen_frame_build(d->exporter_addr, (uint16_t)(40000 + d->exporter % 20000), s->target,
                            s->port, s->ip_id++, data, len, frame, sizeof(frame), &flen,
                            &err) != NF_OK) {
        fprintf(stderr, "serviceradar-flowgen: pcap: %s\n", err.msg);
        return false;
    }
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)flen, .len = (bpf_u_int32)flen};
    h.ts.tv_sec = (time_t)(d->virtual_ms / 1000);
    h.ts.tv_usec = (suseconds_t)(d->virtual_ms % 1000 * 1000);
    pcap_dump((u_char *)s->dump, &h, frame);
    count_sent(s, d);
    return true;
}

static void
print_json(const sender *s, uint64_t elapsed_ms)
{
    printf("{\"datagrams\":%" PRIu64 ",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64
           ",\"packets\":%" PRIu64 ",\"template_datagrams\":%" PRIu64 ",\"send_errors\":%" PRIu64
           ",\"elapsed_ms\":%" PRIu64 ",\"exporters\":[",
           s->total.datagrams, s->total.flows, s->total.bytes, s->total.packets,
           s->total.template_datagrams, s->send_errors, elapsed_ms);
    for (uint32_t i = 0; i < flowgen_exporter_count(s->g); i++) {
        flowgen_exporter ex;
        char a[NF_ADDR_STRLEN];
        flowgen_exporter_get(s->g, i, &ex);
        const flowgen_counts *c = &s->per[i];
        printf("%s{\"address\":\"%s\",\"protocol\":\"%s\",\"domain\":%u,\"datagrams\":%" PRIu64
               ",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 "}",
               i ? "," : "", nf_addr_format(s->src[i], a), flowgen_protocol_name(ex.version),
               ex.domain, c->datagrams, c->flows, c->bytes, c->packets);
    }
    printf("]}\n");
    fflush(stdout);
}

int
main(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof(o));
    parse_args(argc, argv, &o);
    sender s;
    memset(&s, 0, sizeof(s));
    if (!nf_addr_parse(o.host, s.target))
        bad("target", o.host);
    s.port = o.port;
    if (!o.have_base && !nf_addr_is_v4(s.target) && o.pcap != NULL)
        refuse("pcap", "an IPv6 --target needs an IPv6 --source-base");
    if (o.have_base && nf_addr_is_v4(o.cfg.exporter_base) != nf_addr_is_v4(s.target))
        refuse("source-base", "address family differs from --target");
    nf_err err;
    if (flowgen_create(&o.cfg, &s.g, &err) != NF_OK) { /* names the offending setting */
        fprintf(stderr, "serviceradar-flowgen: invalid arguments: %s\n", err.msg);
        return 2;
    }
    int rc = 1;
    uint32_t nexp = flowgen_exporter_count(s.g);
    size_t cap = o.cfg.max_datagram;
    s.per = calloc(nexp, sizeof(*s.per));
    s.fds = malloc(nexp * sizeof(*s.fds));
    s.bufs = malloc(BATCH * cap);
    s.src = malloc(nexp * sizeof(*s.src));
    if (s.per == NULL || s.fds == NULL || s.bufs == NULL || s.src == NULL)
        goto done;
    for (uint32_t i = 0; i < nexp; i++) {
        flowgen_exporter ex;
        flowgen_exporter_get(s.g, i, &ex);
        memcpy(s.src[i], ex.addr, 16);
        s.fds[i] = -1;
    }
    if (o.pcap != NULL) {
        s.pd = pcap_open_dead(DLT_EN10MB, 65535);
        s.dump = s.pd ? pcap_dump_open(s.pd, o.pcap) : NULL;
        if (s.dump == NULL) {
            fprintf(stderr, "serviceradar-flowgen: pcap %s: %s\n", o.pcap,
                    s.pd ? pcap_geterr(s.pd) : "cannot open");
            goto done;
        }
    } else if (!open_sockets(&s, &o)) {
        goto done;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: sleeps and sends return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    uint64_t t0 = nf_mono_ns(), last = t0, progress = nf_mono_ms(), generated = 0;
    double tokens = 0, burst = o.rate / 50.0 > 64 ? o.rate / 50.0 : 64; /* 20 ms of flows */
    rc = 0;
    while (!stop_flag && (o.flows == 0 || generated < o.flows)) {
        uint64_t now = nf_mono_ns();
        if (o.pcap == NULL && o.duration_ms && now - t0 >= o.duration_ms * 1000000u)
            break;
        if (o.pcap == NULL && o.rate > 0) {
            tokens += (double)(now - last) * 1e-9 * (double)o.rate;
            tokens = tokens > burst ? burst : tokens;
            last = now;
            if (tokens < 0) { /* in debt: send what is queued, then wait it off */
                flush(&s, cap);
                double wait_s = -tokens / (double)o.rate;
                struct timespec ts = {0, (long)((wait_s < 0.05 ? wait_s : 0.05) * 1e9)};
                nanosleep(&ts, NULL);
                continue;
            }
        }
        uint64_t left = o.flows ? o.flows - generated : 0;
        uint32_t max = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
        flowgen_datagram *d = &s.infos[s.n];
        if (flowgen_next(s.g, max, s.bufs + (size_t)s.n * cap, cap, &s.lens[s.n], d) != NF_OK) {
            fprintf(stderr, "serviceradar-flowgen: generator refused a datagram\n");
            rc = 1;
            break;
        }
        generated += d->flows;
        tokens -= d->flows;
        if (o.pcap != NULL) {
            if (!write_pcap(&s, s.bufs, s.lens[0], d)) {
                rc = 1;
                break;
            }
            if (o.duration_ms && d->virtual_ms - o.start_ms >= o.duration_ms)
                break;
        } else if (++s.n == BATCH) {
            flush(&s, cap);
        }
        if (!o.quiet && nf_mono_ms() - progress >= PROGRESS_MS) {
            progress = nf_mono_ms();
            fprintf(stderr,
                    "flowgen: flows=%" PRIu64 " datagrams=%" PRIu64 " send_errors=%" PRIu64 "\n",
                    s.total.flows, s.total.datagrams, s.send_errors);
        }
    }
    if (o.pcap == NULL)
        flush(&s, cap);
    if (s.dump != NULL && pcap_dump_flush(s.dump) != 0) {
        fprintf(stderr, "serviceradar-flowgen: pcap %s: write failed\n", o.pcap);
        rc = 1;
    }
    print_json(&s, (nf_mono_ns() - t0) / 1000000u);
done:
    if (s.dump != NULL)
        pcap_dump_close(s.dump);
    if (s.pd != NULL)
        pcap_close(s.pd);
    for (uint32_t i = 0; s.fds != NULL && i < nexp; i++)
        if (s.fds[i] >= 0)
            close(s.fds[i]);
    free(s.fds);
    free(s.src);
    free(s.per);
    free(s.bufs);
    flowgen_destroy(s.g);
    return rc;
}

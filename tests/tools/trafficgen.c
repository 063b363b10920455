/* trafficgen.c — writes a deterministic packet capture of TCP, UDP and ICMP flows over IPv4
 * and IPv6, to feed real exporters (softflowd, nfprobe) in tests.
 *
 *   trafficgen OUT.pcap [FLOWS] [SEED] [TRUTH.tsv]
 *
 * Each flow is a run of packets between one address/port pair, interleaved with other
 * flows over a few seconds of capture time (1 ms per packet from 2026-01-01T00:00:00Z).
 * TCP flows start with SYN and end with FIN; ICMP flows are echo requests. Prints one JSON
 * line of totals (flows, packets, IP bytes). With TRUTH.tsv, also writes what a flow
 * exporter should report for each flow, one line each:
 *   src dst src_port dst_port protocol bytes packets tcp_flags first_ms last_ms ip_version
 * with ICMP type/code as dst_port (type*256+code), the NetFlow convention.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct flow {
    int v6;
    uint8_t proto;
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    int packets, sent;
    uint16_t size; /* IP packet size */
    uint8_t flags; /* TCP flags seen, ORed */
    uint64_t first_us, last_us;
} flow;

static uint64_t rng_state;

static uint64_t
rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint16_t
csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static void
make_flow(flow *f, int i)
{
    memset(f, 0, sizeof(*f));
    f->v6 = (rnd() % 100) < 25;
    unsigned kind = (unsigned)(rnd() % 100);
    f->proto = kind < 60 ? 6 : kind < 92 ? 17 : (f->v6 ? 58 : 1);
    if (f->v6) {
        static const uint8_t a[8] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0};
        memcpy(f->src, a, 8);
        memcpy(f->dst, a, 8);
        f->dst[5] = 2;
        f->src[15] = (uint8_t)(1 + rnd() % 200);
        f->dst[14] = (uint8_t)i;
        f->dst[15] = (uint8_t)(1 + rnd() % 250);
    } else {
        f->src[0] = 10;
        f->src[1] = 1;
        f->src[2] = (uint8_t)(rnd() % 4);
        f->src[3] = (uint8_t)(1 + rnd() % 250);
        f->dst[0] = 192;
        f->dst[1] = 0;
        f->dst[2] = 2;
        f->dst[3] = (uint8_t)(1 + rnd() % 250);
    }
    static const uint16_t ports[] = {443, 80, 53, 22, 123, 25, 8080, 3306};
    /* Unique source ports, and unique ICMP sources, so no two flows share a flow key. */
    f->sport = (uint16_t)(10000 + i);
    if (f->proto == 1 || f->proto == 58) {
        f->src[f->v6 ? 14 : 2] = (uint8_t)(i >> 8);
        f->src[f->v6 ? 15 : 3] = (uint8_t)i;
    }
    f->dport = f->proto == 1 || f->proto == 58 ? 0 : ports[rnd() % 8];
    f->packets = 1 + (int)(rnd() % 12);
    f->size = (uint16_t)(f->v6 ? 60 : 40) + (uint16_t)(rnd() % 1400);
}

/* Builds Ethernet + IP + transport + zero payload for packet k of flow f. */
static size_t
build(const flow *f, int k, uint8_t *b)
{
    memset(b, 0, 1600);
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
    memcpy(b, macs, 12);
    size_t ip = 14, l4;
    if (f->v6) {
        b[12] = 0x86, b[13] = 0xdd;
        b[ip] = 0x60;
        uint16_t plen = (uint16_t)(f->size - 40);
        b[ip + 4] = (uint8_t)(plen >> 8), b[ip + 5] = (uint8_t)plen;
        b[ip + 6] = f->proto, b[ip + 7] = 64;
        memcpy(b + ip + 8, f->src, 16);
        memcpy(b + ip + 24, f->dst, 16);
        l4 = ip + 40;
    } else {
        b[12] = 0x08, b[13] = 0x00;
        b[ip] = 0x45;
        b[ip + 2] = (uint8_t)(f->size >> 8), b[ip + 3] = (uint8_t)f->size;
        b[ip + 8] = 64, b[ip + 9] = f->proto;
        memcpy(b + ip + 12, f->src, 4);
        memcpy(b + ip + 16, f->dst, 4);
        uint16_t c = csum(b + ip, 20);
        b[ip + 10] = (uint8_t)(c >> 8), b[ip + 11] = (uint8_t)c;
        l4 = ip + 20;
    }
    if (f->proto == 6) {
        b[l4] = (uint8_t)(f->sport >> 8), b[l4 + 1] = (uint8_t)f->sport;
        b[l4 + 2] = (uint8_t)(f->dport >> 8), b[l4 + 3] = (uint8_t)f->dport;
        b[l4 + 12] = 0x50;
        b[l4 + 13] = k == 0 ? 0x02 : k == f->packets - 1 ? 0x11 : 0x18; /* SYN, FIN|ACK, PSH|ACK */
    } else if (f->proto == 17) {
        uint16_t ulen = (uint16_t)(f->size - (l4 - ip));
        b[l4] = (uint8_t)(f->sport >> 8), b[l4 + 1] = (uint8_t)f->sport;
        b[l4 + 2] = (uint8_t)(f->dport >> 8), b[l4 + 3] = (uint8_t)f->dport;
        b[l4 + 4] = (uint8_t)(ulen >> 8), b[l4 + 5] = (uint8_t)ulen;
    } else {
        b[l4] = f->proto == 1 ? 8 : 128; /* echo request */
    }
    return ip + f->size;
}

static int
write_truth(const char *path, const flow *flows, int n)
{
    FILE *fp = fopen(path, "w");
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        const flow *f = &flows[i];
        char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
        inet_ntop(f->v6 ? AF_INET6 : AF_INET, f->src, src, sizeof(src));
        inet_ntop(f->v6 ? AF_INET6 : AF_INET, f->dst, dst, sizeof(dst));
        unsigned dport = f->proto == 1 ? 8u << 8 : f->proto == 58 ? 128u << 8 : f->dport;
        unsigned sport = f->proto == 1 || f->proto == 58 ? 0 : f->sport;
        fprintf(fp, "%s\t%s\t%u\t%u\t%u\t%llu\t%d\t%u\t%llu\t%llu\t%d\n", src, dst, sport,
                dport, f->proto, (unsigned long long)f->size * (unsigned)f->packets, f->packets,
                f->flags, (unsigned long long)(f->first_us / 1000),
                (unsigned long long)(f->last_us / 1000), f->v6 ? 6 : 4);
    }
    return fclose(fp);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: trafficgen OUT.pcap [FLOWS] [SEED] [TRUTH.tsv]\n");
        return 2;
    }
    int nflows = argc > 2 ? atoi(argv[2]) : 200;
    const char *truth_path = argc > 4 ? argv[4] : NULL;
    rng_state = argc > 3 ? strtoull(argv[3], NULL, 10) : 1;
    if (nflows < 1 || nflows > 50000) {
        fprintf(stderr, "trafficgen: FLOWS must be 1..50000\n");
        return 2;
    }
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *out = pcap_dump_open(dead, argv[1]);
    if (out == NULL) {
        fprintf(stderr, "trafficgen: %s\n", pcap_geterr(dead));
        return 1;
    }
    flow *flows = calloc((size_t)nflows, sizeof(*flows));
    for (int i = 0; i < nflows; i++)
        make_flow(&flows[i], i);
    /* Round-robin over active flows so they overlap in time, 1 ms apart. */
    uint64_t t_us = 1767225600000000ull, packets = 0, bytes = 0;
    int active = nflows;
    uint8_t frame[1600];
    while (active > 0) {
        for (int i = 0; i < nflows; i++) {
            flow *f = &flows[i];
            if (f->sent == f->packets)
                continue;
            size_t len = build(f, f->sent, frame);
            struct pcap_pkthdr h;
            h.ts.tv_sec = (time_t)(t_us / 1000000u);
            h.ts.tv_usec = (suseconds_t)(t_us % 1000000u);
            h.caplen = h.len = (bpf_u_int32)len;
            pcap_dump((u_char *)out, &h, frame);
            if (f->sent == 0)
                f->first_us = t_us;
            f->last_us = t_us;
            if (f->proto == 6)
                f->flags |= frame[(f->v6 ? 54 : 34) + 13];
            t_us += 1000;
            packets++;
            bytes += f->size;
            if (++f->sent == f->packets)
                active--;
        }
    }
    pcap_dump_close(out);
    pcap_close(dead);
    if (truth_path != NULL && write_truth(truth_path, flows, nflows) != 0)
        return 1;
    printf("{\"flows\":%d,\"packets\":%llu,\"bytes\":%llu}\n", nflows,
           (unsigned long long)packets, (unsigned long long)bytes);
    free(flows);
    return 0;
}

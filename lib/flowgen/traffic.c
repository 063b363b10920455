/* traffic.c — the PRNG, the host pools and the traffic model: one realistic flow at a time.
 *
 * Design notes:
 *  - xoshiro256** seeded through splitmix64 (never rand(): its state is global and its
 *    output differs between libcs). One stream per generator.
 *  - Hosts: per family a pool of 2000 clients (private/ULA space) and 500 servers (public
 *    space with the origin AS of a well-known network). Popularity is Zipf with exponent
 *    1.1, the figure usually measured for destinations in enterprise and ISP traces; a
 *    host's rank is its index, and the pools are built in random order so rank 0 is not a
 *    "first" address.
 *  - Services: a weighted list of (port, transport) pairs, so the protocol always agrees
 *    with the port (53 is UDP except a little DNS over TCP, 443 is TCP or QUIC).
 *  - Packets per flow: Pareto with shape 1.2 (heavy-tailed: median about 1.8 × scale, a
 *    few elephants), scale per service, capped at 10^6 so bytes always fit the 32-bit v5
 *    and v9 counters (10^6 × 1500 < 2^32).
 *  - Duration: 0 for one packet, else up to 50 ms per packet, capped at 120 s, the usual
 *    active timeout: a longer flow would have been exported in pieces.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"
#include "internal.h"

#define CLIENTS 2000u
#define SERVERS 500u
#define ZIPF_S 1.1
#define PARETO_SHAPE 1.2
#define MAX_PACKETS 1000000u
#define MAX_DURATION_MS 120000u /* active timeout */
#define END_JITTER_MS 2000u     /* flows end up to this long before their export */
#define AS_TRANS 23456u         /* RFC 6793: what 2-byte-AS exporters report for 4-byte ASes */
#define LOCAL_AS 64512u         /* private AS of the simulated site */

void
rng_seed(rng *r, uint64_t seed)
{
    /* splitmix64: spreads any seed (even 0) over the 256-bit state, never all zero. */
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) {
        uint64_t z = (x += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        r->s[i] = z ^ (z >> 31);
    }
}

/* ---- services ---- */

typedef struct service {
    uint16_t port;     /* server port; 0 for ICMP */
    uint8_t proto;     /* 6 TCP, 17 UDP, 1 ICMP (58 for IPv6 flows) */
    uint8_t weight;    /* relative frequency of flows */
    uint16_t size_min; /* per-flow average packet size range, bytes (40..1500) */
    uint16_t size_max;
    uint8_t scale; /* Pareto scale of packets per flow */
} service;

static const service services[] = {
    {443, 6, 30, 52, 1400, 4},  /* HTTPS */
    {443, 17, 8, 80, 1350, 6},  /* QUIC */
    {80, 6, 10, 52, 1400, 3},   /* HTTP */
    {53, 17, 14, 60, 300, 1},   /* DNS */
    {53, 6, 1, 60, 600, 3},     /* DNS over TCP (zone transfers, big answers) */
    {22, 6, 3, 52, 1200, 8},    /* SSH */
    {123, 17, 3, 76, 76, 1},    /* NTP: always 76-byte packets */
    {25, 6, 2, 52, 1400, 6},    /* SMTP */
    {587, 6, 1, 52, 1400, 6},   /* submission */
    {993, 6, 2, 52, 1200, 4},   /* IMAPS */
    {3306, 6, 2, 52, 1400, 5},  /* MySQL */
    {5432, 6, 2, 52, 1400, 5},  /* PostgreSQL */
    {8080, 6, 3, 52, 1400, 3},  /* HTTP alternate */
    {8443, 6, 1, 52, 1400, 3},  /* HTTPS alternate */
    {161, 17, 2, 80, 500, 1},   /* SNMP */
    {514, 17, 1, 100, 600, 1},  /* syslog */
    {3389, 6, 1, 52, 1400, 8},  /* RDP */
    {6379, 6, 1, 52, 800, 4},   /* Redis */
    {9092, 6, 1, 52, 1400, 6},  /* Kafka */
    {5060, 17, 1, 300, 900, 1}, /* SIP */
    {1194, 17, 1, 80, 1400, 6}, /* OpenVPN */
    {0, 1, 2, 64, 128, 1},      /* ICMP */
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

static uint32_t
services_total_weight(void)
{
    uint32_t total = 0;
    for (size_t i = 0; i < NSERVICES; i++)
        total += services[i].weight;
    return total;
}

static const service *
pick_service(rng *r)
{
    uint32_t w = rng_below(r, services_total_weight());
    for (size_t i = 0; i < NSERVICES; i++) {
        if (w < services[i].weight)
            return &services[i];
        w -= services[i].weight;
    }
    return &services[0]; /* not reached */
}

/* ICMP type/code pairs as type*256+code. */
static const uint16_t icmp4[] = {8 << 8, 0, 3 << 8 | 3, 3 << 8 | 1, 11 << 8, 3 << 8 | 13};
static const uint16_t icmp6[] = {128 << 8, 129 << 8, 1 << 8 | 4, 3 << 8, 135 << 8, 136 << 8};

/* ---- interfaces ---- */

/* Client-side (access) and network-side (uplink) interface indexes; ifname index = position
 * in access[] then uplink[]. */
static const uint32_t access_if[] = {1, 2, 3, 4};
static const uint32_t uplink_if[] = {10, 11, 12, 13};
static const char *const ifnames[TRAFFIC_IFNAMES] = {
    "ge-0/0/1", "ge-0/0/2", "Gi0/0/3", "eth4", "xe-1/0/0", "xe-1/0/1", "TenGigE0/1/0/2", "ae0",
};

const char *
traffic_ifname(uint8_t i)
{
    return ifnames[i % TRAFFIC_IFNAMES];
}

/* ---- pools ---- */

/* Origin networks for servers: an IPv4 first octet, an IPv6 /32, and the AS. Includes
 * 4-byte ASes so v5's AS_TRANS clamping is exercised. */
typedef struct origin {
    uint8_t v4_octet;
    uint8_t v6_prefix[4];
    uint32_t asn;
} origin;

static const origin origins[] = {
    {8, {0x20, 0x01, 0x48, 0x60}, 15169},    /* Google */
    {142, {0x2a, 0x00, 0x14, 0x50}, 15169},  /* Google */
    {34, {0x26, 0x00, 0x19, 0x00}, 396982},  /* Google Cloud (4-byte AS) */
    {52, {0x26, 0x00, 0x1f, 0x00}, 16509},   /* Amazon */
    {54, {0x26, 0x00, 0x1f, 0x18}, 14618},   /* Amazon */
    {104, {0x26, 0x06, 0x47, 0x00}, 13335},  /* Cloudflare */
    {13, {0x26, 0x20, 0x01, 0xec}, 8075},    /* Microsoft */
    {157, {0x2a, 0x03, 0x28, 0x80}, 32934},  /* Meta */
    {23, {0x2a, 0x02, 0x26, 0xf0}, 20940},   /* Akamai */
    {45, {0x2a, 0x05, 0xd0, 0x14}, 2906},    /* Netflix */
    {17, {0x26, 0x20, 0x01, 0x49}, 714},     /* Apple */
    {185, {0x2a, 0x0e, 0x97, 0xc0}, 200651}, /* a European hoster (4-byte AS) */
    {64, {0x20, 0x01, 0x04, 0x70}, 6939},    /* Hurricane Electric */
    {4, {0x20, 0x01, 0x18, 0x88}, 3356},     /* Lumen */
};
#define NORIGINS (sizeof(origins) / sizeof(origins[0]))

static bool
pool_alloc(pool *p, uint32_t n)
{
    p->n = n;
    p->hosts = calloc(n, sizeof(*p->hosts));
    p->cdf = malloc(n * sizeof(*p->cdf));
    if (p->hosts == NULL || p->cdf == NULL)
        return false;
    double sum = 0;
    for (uint32_t k = 0; k < n; k++) {
        sum += 1.0 / pow((double)(k + 1), ZIPF_S);
        p->cdf[k] = sum;
    }
    for (uint32_t k = 0; k < n; k++)
        p->cdf[k] /= sum;
    p->cdf[n - 1] = 1.0; /* exact, so a draw below 1 always finds a host */
    return true;
}

static void
client4(rng *r, host *h)
{
    uint8_t a[4];
    uint32_t x = (uint32_t)rng_next(r);
    uint32_t which = rng_below(r, 10);
    if (which < 5) { /* 10.0.0.0/8, hosts clustered in 64 /24s */
        a[0] = 10;
        a[1] = (uint8_t)(x & 0x07);
        a[2] = (uint8_t)((x >> 8) & 0x07);
    } else if (which < 8) { /* 192.168.0.0/16 */
        a[0] = 192;
        a[1] = 168;
        a[2] = (uint8_t)((x >> 8) & 0x0f);
    } else { /* 172.16.0.0/12 */
        a[0] = 172;
        a[1] = (uint8_t)(16 + (x & 0x0f));
        a[2] = (uint8_t)((x >> 8) & 0x03);
    }
    a[3] = (uint8_t)(1 + ((x >> 16) % 254));
    nf_addr_from_v4(h->addr, a);
    h->mask = 24;
    h->asn = LOCAL_AS;
}

static void
server4(rng *r, host *h)
{
    const origin *o = &origins[rng_below(r, NORIGINS)];
    uint32_t x = (uint32_t)rng_next(r);
    uint8_t a[4] = {o->v4_octet, (uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(1 + (x >> 16) % 254)};
    nf_addr_from_v4(h->addr, a);
    h->mask = (uint8_t)(16 + rng_below(r, 9)); /* /16 .. /24 */
    h->asn = o->asn;
}

static void
client6(rng *r, host *h)
{
    /* fd5e:ed00:<site>::/48 ULA, 16 /64s per site, random interface ids. */
    uint64_t x = rng_next(r), iid = rng_next(r);
    memset(h->addr, 0, 16);
    h->addr[0] = 0xfd;
    h->addr[1] = 0x5e;
    h->addr[2] = 0xed;
    h->addr[3] = 0x00;
    h->addr[5] = (uint8_t)(x & 0x03);
    h->addr[7] = (uint8_t)((x >> 8) & 0x0f);
    for (int i = 0; i < 8; i++)
        h->addr[8 + i] = (uint8_t)(iid >> (8 * i));
    h->mask = 64;
    h->asn = LOCAL_AS;
}

static void
server6(rng *r, host *h)
{
    const origin *o = &origins[rng_below(r, NORIGINS)];
    uint64_t x = rng_next(r);
    memset(h->addr, 0, 16);
    memcpy(h->addr, o->v6_prefix, 4);
    h->addr[4] = (uint8_t)x;
    h->addr[5] = (uint8_t)(x >> 8);
    h->addr[7] = (uint8_t)((x >> 16) & 0xff);
    h->addr[14] = (uint8_t)(x >> 24);
    h->addr[15] = (uint8_t)(1 + (x >> 32) % 254);
    h->mask = (uint8_t)(32 + rng_below(r, 17)); /* /32 .. /48 */
    h->asn = o->asn;
}

bool
traffic_init(traffic *t, rng *r)
{
    memset(t, 0, sizeof(*t));
    if (!pool_alloc(&t->cli4, CLIENTS) || !pool_alloc(&t->srv4, SERVERS) ||
        !pool_alloc(&t->cli6, CLIENTS) || !pool_alloc(&t->srv6, SERVERS))
        return false;
    for (uint32_t i = 0; i < CLIENTS; i++)
        client4(r, &t->cli4.hosts[i]);
    for (uint32_t i = 0; i < SERVERS; i++)
        server4(r, &t->srv4.hosts[i]);
    for (uint32_t i = 0; i < CLIENTS; i++)
        client6(r, &t->cli6.hosts[i]);
    for (uint32_t i = 0; i < SERVERS; i++)
        server6(r, &t->srv6.hosts[i]);
    return true;
}

static void
pool_free(pool *p)
{
    free(p->hosts);
    free(p->cdf);
    p->hosts = NULL;
    p->cdf = NULL;
}

void
traffic_free(traffic *t)
{
    pool_free(&t->cli4);
    pool_free(&t->srv4);
    pool_free(&t->cli6);
    pool_free(&t->srv6);
}

static const host *
pick_host(const pool *p, rng *r)
{
    double u = rng_unit(r);
    uint32_t lo = 0, hi = p->n - 1; /* first k with cdf[k] > u */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (p->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return &p->hosts[lo];
}

/* ---- one flow ---- */

static uint8_t
tcp_flags(rng *r, uint64_t packets)
{
    uint32_t x = rng_below(r, 100);
    if (packets == 1) /* a lone SYN (scan, retry), a reset, or a stray ACK */
        return x < 60 ? 0x02 : x < 80 ? 0x14 : 0x10;
    if (x < 50)
        return 0x1b; /* SYN PSH ACK FIN: complete connection */
    if (x < 75)
        return 0x18; /* PSH ACK: middle of a long connection (active timeout) */
    if (x < 90)
        return 0x1a; /* SYN PSH ACK: started, not yet closed */
    if (x < 95)
        return 0x11; /* FIN ACK: the end of a long connection */
    return 0x16;     /* SYN RST ACK: refused */
}

static uint8_t
tos(rng *r)
{
    static const uint8_t marks[] = {0x10, 0x28, 0x48, 0x68, 0xb8};
    uint32_t x = rng_below(r, 100);
    return x < 80 ? 0 : marks[x % sizeof(marks)];
}

static void
next_hop(bool v6, uint32_t out_if, uint8_t nh[16])
{
    if (v6) { /* link-local address of the neighbour on that interface */
        memset(nh, 0, 16);
        nh[0] = 0xfe;
        nh[1] = 0x80;
        nh[13] = (uint8_t)out_if;
        nh[15] = 1;
    } else {
        uint8_t a[4] = {10, 255, (uint8_t)out_if, 1};
        nf_addr_from_v4(nh, a);
    }
}

void
traffic_flow(const traffic *t, rng *r, bool v6, bool v5, uint64_t end_ms, gen_flow *out)
{
    nf_flow *f = &out->f;
    memset(out, 0, sizeof(*out));
    const service *s = pick_service(r);
    const host *cli = pick_host(v6 ? &t->cli6 : &t->cli4, r);
    const host *srv = pick_host(v6 ? &t->srv6 : &t->srv4, r);
    bool request = rng_below(r, 2) == 0; /* client → server, else the reply direction */
    const host *src = request ? cli : srv;
    const host *dst = request ? srv : cli;
    uint16_t ephemeral = (uint16_t)(32768 + rng_below(r, 28232)); /* Linux 32768..60999 */

    memcpy(f->src_addr, src->addr, 16);
    memcpy(f->dst_addr, dst->addr, 16);
    f->ip_version = v6 ? 6 : 4;
    f->src_mask = src->mask;
    f->dst_mask = dst->mask;
    f->src_as = src->asn;
    f->dst_as = dst->asn;
    if (v5) {
        f->src_as = f->src_as > 0xffff ? AS_TRANS : f->src_as;
        f->dst_as = f->dst_as > 0xffff ? AS_TRANS : f->dst_as;
    }

    if (s->proto == 1) {
        const uint16_t *codes = v6 ? icmp6 : icmp4;
        out->is_icmp = true;
        f->protocol = v6 ? 58 : 1;
        f->src_port = 0;
        f->dst_port = codes[rng_below(r, 6)];
    } else {
        f->protocol = s->proto;
        f->src_port = request ? ephemeral : s->port;
        f->dst_port = request ? s->port : ephemeral;
    }

    double u = 1.0 - rng_unit(r); /* (0, 1] */
    double p = (double)s->scale * pow(u, -1.0 / PARETO_SHAPE);
    uint64_t packets = p >= (double)MAX_PACKETS ? MAX_PACKETS : (uint64_t)p;
    if (packets == 0)
        packets = 1;
    /* Requests of download-type services are mostly small packets (ACKs, queries). */
    uint32_t range = (uint32_t)(s->size_max - s->size_min) + 1;
    uint32_t size = s->size_min + rng_below(r, range) / (request ? 3u : 1u);
    f->packets = packets;
    f->bytes = packets * size;
    f->tcp_flags = f->protocol == 6 ? tcp_flags(r, packets) : 0;
    f->tos = tos(r);

    uint32_t a = rng_below(r, 4), b = rng_below(r, 4);
    f->in_if = request ? access_if[a] : uplink_if[b];
    f->out_if = request ? uplink_if[b] : access_if[a];
    out->ifname = (uint8_t)(request ? a : 4 + b);
    next_hop(v6, f->out_if, f->next_hop);

    uint64_t duration = 0;
    if (packets > 1) {
        duration = packets * (1 + rng_below(r, 50));
        if (duration > MAX_DURATION_MS)
            duration = MAX_DURATION_MS;
    }
    f->last_ms = end_ms - rng_below(r, END_JITTER_MS);
    f->first_ms = f->last_ms - duration;
    out->app_id = (uint32_t)f->protocol << 16 | s->port;
}

/* flowgen.c — the generator object: configuration, exporters, datagram assembly, sequence
 * numbers and totals. See flowgen.h for the contract and the wire formats.
 *
 * Datagram assembly, per call:
 *
 *   exporter = next in turn ──► header time from the virtual clock
 *        │                      (v5: ms; v9/IPFIX: whole seconds, what the header holds)
 *        ├─ first datagram or every template_interval-th: template set (+ options
 *        │  template and one options data record when sampled)
 *        ├─ flows until max_flows, 30 (v5) or the worst-case record no longer fits;
 *        │  v9/IPFIX write them as one IPv4 data set then one IPv6 data set
 *        └─ header written last (count/length/sequence known), exporter state advanced
 *
 * Invariants:
 *  1. For each exporter, seq is the sequence number its next datagram carries: v5 flows,
 *     v9 datagrams, IPFIX flow + options data records sent before (all mod 2^32).
 *  2. total equals the sum of the exporters' counts.
 *  3. The virtual clock is start_ms + flows_total * 1000 / flows_per_sec (integer ms), so
 *     it never drifts however many flows are generated.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"
#include "internal.h"

#define V5_HEADER_LEN 24
#define V5_RECORD_LEN 48
#define V5_MAX_RECORDS 30 /* Cisco's limit; decoders refuse more */
#define V9_HEADER_LEN 20
#define IPFIX_HEADER_LEN 16
#define SET_HEADER_LEN 4
#define TSET_CAP 512          /* a template set of two templates: < 256 bytes */
#define OPTIONS_LEN (28 + 16) /* options template set + options data set, padded */
#define DAY_MS 86400000ull
#define DEFAULT_START_MS 1767225600000ull /* 2026-01-01T00:00:00Z */

typedef struct exp_state {
    uint8_t addr[16];
    uint8_t version; /* 5, 9, 10 */
    uint32_t domain;
    uint64_t boot_ms; /* epoch ms of sysUptime 0 (v5/v9) */
    uint32_t seq;     /* invariant 1 */
    flowgen_counts c;
} exp_state;

struct flowgen {
    flowgen_config cfg;
    rng r;
    traffic t;
    exp_state *exp;
    uint32_t next; /* exporter of the next datagram */

    tmpl_def tmpl9[2], tmplx[2];              /* data templates, [0] IPv4 [1] IPv6 */
    uint8_t tset9[TSET_CAP], tsetx[TSET_CAP]; /* complete template sets, with set header */
    size_t tset9_len, tsetx_len;
    uint32_t worst9, worstx; /* largest data record */
    gen_flow *pending;       /* flows of the datagram being built (v9/IPFIX) */

    uint64_t flows_total; /* drives the virtual clock (invariant 3) */
    flowgen_counts total;
    flowgen_flow_hook *hook;
    void *hook_ctx;
};

void
flowgen_config_default(flowgen_config *c)
{
    memset(c, 0, sizeof(*c));
    c->protocol = FLOWGEN_V9;
    c->exporters = 4;
    const uint8_t base[4] = {127, 0, 0, 10};
    nf_addr_from_v4(c->exporter_base, base);
    c->seed = 1;
    c->sampling_rate = 1;
    c->ipv6_share = 10;
    c->template_interval = 20;
    c->start_ms = DEFAULT_START_MS;
    c->flows_per_sec = 10000;
    c->max_datagram = 1400;
    c->ipfix_varlen = true;
}

const char *
flowgen_protocol_name(int protocol)
{
    switch (protocol) {
    case FLOWGEN_MIX:
        return "mix";
    case FLOWGEN_V5:
        return "v5";
    case FLOWGEN_V9:
        return "v9";
    case FLOWGEN_IPFIX:
        return "ipfix";
    default:
        return "?";
    }
}

bool
flowgen_protocol_parse(const char *text, flowgen_protocol *out)
{
    static const flowgen_protocol all[] = {FLOWGEN_MIX, FLOWGEN_V5, FLOWGEN_V9, FLOWGEN_IPFIX};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (text != NULL && strcmp(text, flowgen_protocol_name(all[i])) == 0) {
            *out = all[i];
            return true;
        }
    }
    return false;
}

/* base + i as 128-bit big-endian integers; false if it overflows or, for an IPv4-mapped
 * base, leaves the IPv4 space. */
static bool
addr_add(const uint8_t base[16], uint32_t i, uint8_t out[16])
{
    uint64_t carry = i;
    for (int b = 15; b >= 0; b--) {
        uint64_t v = base[b] + carry;
        out[b] = (uint8_t)v;
        carry = v >> 8;
    }
    if (carry != 0)
        return false;
    return !nf_addr_is_v4(base) || nf_addr_is_v4(out);
}

static nf_status
config_check(const flowgen_config *c, nf_err *err)
{
    if (c->protocol != FLOWGEN_MIX && c->protocol != FLOWGEN_V5 && c->protocol != FLOWGEN_V9 &&
        c->protocol != FLOWGEN_IPFIX)
        return nf_err_set(err, NF_EINVAL, "flowgen: protocol %d is not v5, v9, ipfix or mix",
                          (int)c->protocol);
    if (c->exporters < 1 || c->exporters > FLOWGEN_MAX_EXPORTERS)
        return nf_err_set(err, NF_EINVAL, "flowgen: exporters %u out of range 1..%u", c->exporters,
                          FLOWGEN_MAX_EXPORTERS);
    uint8_t last[16];
    if (!addr_add(c->exporter_base, c->exporters - 1, last)) {
        char buf[NF_ADDR_STRLEN];
        return nf_err_set(err, NF_EINVAL, "flowgen: %u exporter addresses from %s overflow",
                          c->exporters, nf_addr_format(c->exporter_base, buf));
    }
    bool any_v5 = c->protocol == FLOWGEN_V5 || c->protocol == FLOWGEN_MIX;
    if (c->sampling_rate < 1 || (any_v5 && c->sampling_rate > FLOWGEN_V5_MAX_RATE))
        return nf_err_set(err, NF_EINVAL, "flowgen: sampling rate %u out of range 1..%u",
                          c->sampling_rate, any_v5 ? FLOWGEN_V5_MAX_RATE : UINT32_MAX);
    if (c->ipv6_share > 100)
        return nf_err_set(err, NF_EINVAL, "flowgen: ipv6 share %u%% above 100", c->ipv6_share);
    if (c->start_ms < FLOWGEN_MIN_START_MS || c->start_ms > FLOWGEN_MAX_START_MS)
        return nf_err_set(err, NF_EINVAL,
                          "flowgen: start time %llu ms out of range %llu..%llu (epoch ms)",
                          (unsigned long long)c->start_ms, (unsigned long long)FLOWGEN_MIN_START_MS,
                          (unsigned long long)FLOWGEN_MAX_START_MS);
    if (c->flows_per_sec < 1)
        return nf_err_set(err, NF_EINVAL, "flowgen: flows_per_sec must be at least 1");
    if (c->max_datagram < FLOWGEN_MIN_DATAGRAM || c->max_datagram > FLOWGEN_MAX_DATAGRAM)
        return nf_err_set(err, NF_EINVAL, "flowgen: max datagram %u out of range %u..%u",
                          c->max_datagram, FLOWGEN_MIN_DATAGRAM, FLOWGEN_MAX_DATAGRAM);
    return NF_OK;
}

/* Template set (set header + both data templates) of a version into out. */
static size_t
tset_build(uint8_t *out, uint8_t version, const tmpl_def t[2])
{
    size_t len = SET_HEADER_LEN;
    len += tmpl_write(&t[0], version, out + len);
    len += tmpl_write(&t[1], version, out + len);
    put16(out, version == NF_FLOW_IPFIX ? 2 : 0);
    put16(out + 2, (uint16_t)len); /* template records are multiples of 4: no padding */
    return len;
}

static uint8_t
exporter_version(const flowgen_config *c, uint32_t i)
{
    static const uint8_t mix[3] = {NF_FLOW_V5, NF_FLOW_V9, NF_FLOW_IPFIX};
    return c->protocol == FLOWGEN_MIX ? mix[i % 3] : (uint8_t)c->protocol;
}

/* Fixed bytes of a template datagram before its first data set. */
static size_t
template_overhead(const flowgen *g, uint8_t version)
{
    size_t sampled = g->cfg.sampling_rate > 1 ? OPTIONS_LEN : 0;
    if (version == NF_FLOW_V9)
        return V9_HEADER_LEN + g->tset9_len + sampled;
    return IPFIX_HEADER_LEN + g->tsetx_len + sampled;
}

/* Smallest limit that still holds a template datagram with one record. */
static size_t
min_datagram(const flowgen *g, uint8_t version, bool with_templates)
{
    if (version == NF_FLOW_V5)
        return V5_HEADER_LEN + V5_RECORD_LEN;
    size_t head = with_templates ? template_overhead(g, version)
                                 : (version == NF_FLOW_V9 ? V9_HEADER_LEN : IPFIX_HEADER_LEN);
    uint32_t worst = version == NF_FLOW_V9 ? g->worst9 : g->worstx;
    return head + 2 * (SET_HEADER_LEN + 3) + worst; /* the room check of sets_build */
}

nf_status
flowgen_create(const flowgen_config *cfg, flowgen **out, nf_err *err)
{
    nf_status st = config_check(cfg, err);
    if (st != NF_OK)
        return st;
    flowgen *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return nf_err_set(err, NF_ENOMEM, "flowgen: out of memory");
    g->cfg = *cfg;
    rng_seed(&g->r, cfg->seed);
    g->exp = calloc(cfg->exporters, sizeof(*g->exp));
    /* A record is at least 40 bytes (IPv4 v9), so this bounds the flows of a datagram. */
    g->pending = malloc((cfg->max_datagram / 40 + 1) * sizeof(*g->pending));
    if (g->exp == NULL || g->pending == NULL || !traffic_init(&g->t, &g->r)) {
        st = nf_err_set(err, NF_ENOMEM, "flowgen: out of memory for %u exporters", cfg->exporters);
        goto fail;
    }
    bool sampled = cfg->sampling_rate > 1;
    for (int v6 = 0; v6 < 2; v6++) {
        tmpl_build(&g->tmpl9[v6], NF_FLOW_V9, v6, sampled, false);
        tmpl_build(&g->tmplx[v6], NF_FLOW_IPFIX, v6, sampled, cfg->ipfix_varlen);
    }
    g->tset9_len = tset_build(g->tset9, NF_FLOW_V9, g->tmpl9);
    g->tsetx_len = tset_build(g->tsetx, NF_FLOW_IPFIX, g->tmplx);
    g->worst9 =
        g->tmpl9[1].max_rec > g->tmpl9[0].max_rec ? g->tmpl9[1].max_rec : g->tmpl9[0].max_rec;
    g->worstx =
        g->tmplx[1].max_rec > g->tmplx[0].max_rec ? g->tmplx[1].max_rec : g->tmplx[0].max_rec;

    for (uint32_t i = 0; i < cfg->exporters; i++) {
        exp_state *x = &g->exp[i];
        addr_add(cfg->exporter_base, i, x->addr);
        x->version = exporter_version(cfg, i);
        x->domain = x->version == NF_FLOW_V5   ? (0x100u | (i & 0xffu))
                    : x->version == NF_FLOW_V9 ? i
                                               : i + 1;
        /* Up 1..10 days: sysUptime stays far from its 49.7-day wrap for a long run. */
        x->boot_ms = cfg->start_ms - DAY_MS - rng_below(&g->r, (uint32_t)(9 * DAY_MS));
        if (min_datagram(g, x->version, true) > cfg->max_datagram) {
            st = nf_err_set(err, NF_EINVAL,
                            "flowgen: max datagram %u cannot hold templates and a record (%zu)",
                            cfg->max_datagram, min_datagram(g, x->version, true));
            goto fail;
        }
    }
    *out = g;
    return NF_OK;
fail:
    flowgen_destroy(g);
    return st;
}

void
flowgen_destroy(flowgen *g)
{
    if (g == NULL)
        return;
    traffic_free(&g->t);
    free(g->pending);
    free(g->exp);
    free(g);
}

void
flowgen_set_flow_hook(flowgen *g, flowgen_flow_hook *fn, void *ctx)
{
    g->hook = fn;
    g->hook_ctx = fn != NULL ? ctx : NULL;
}

/* Generates one flow for exporter x and adds it to the datagram's sums. */
static inline void
make_flow(flowgen *g, const exp_state *x, bool v6, uint64_t end_ms, gen_flow *gf,
          flowgen_datagram *d)
{
    traffic_flow(&g->t, &g->r, v6, x->version == NF_FLOW_V5, end_ms, gf);
    memcpy(gf->f.exporter, x->addr, 16);
    gf->f.domain = x->domain;
    gf->f.flow_type = x->version;
    gf->f.sampling_rate = g->cfg.sampling_rate;
    d->flows++;
    d->bytes += gf->f.bytes;
    d->packets += gf->f.packets;
}

static size_t
v5_build(flowgen *g, exp_state *x, uint32_t max_flows, uint8_t *buf, size_t limit,
         flowgen_datagram *d)
{
    uint8_t *p = buf + V5_HEADER_LEN;
    gen_flow gf;
    while (d->flows < V5_MAX_RECORDS && d->flows < max_flows &&
           (size_t)(p - buf) + V5_RECORD_LEN <= limit) {
        make_flow(g, x, false, d->export_ms, &gf, d);
        if (g->hook != NULL)
            g->hook(g->hook_ctx, &gf.f);
        v5_record_write(&gf, x->boot_ms, p);
        p += V5_RECORD_LEN;
    }
    uint32_t rate = g->cfg.sampling_rate;
    put16(buf, 5);
    put16(buf + 2, (uint16_t)d->flows);
    put32(buf + 4, (uint32_t)(d->export_ms - x->boot_ms));
    put32(buf + 8, (uint32_t)(d->export_ms / 1000));
    put32(buf + 12, (uint32_t)(d->export_ms % 1000) * 1000000u);
    put32(buf + 16, x->seq);
    buf[20] = (uint8_t)(x->domain >> 8);                         /* engine_type */
    buf[21] = (uint8_t)x->domain;                                /* engine_id */
    put16(buf + 22, rate > 1 ? (uint16_t)(1u << 14 | rate) : 0); /* mode 01: 1-in-N */
    x->seq += d->flows;
    return (size_t)(p - buf);
}

/* Pads a set that starts at set to a 4-byte boundary and writes its length; returns the
 * new end. */
static uint8_t *
set_close(uint8_t *set, uint8_t *p)
{
    while ((p - set) % 4 != 0)
        *p++ = 0;
    put16(set + 2, (uint16_t)(p - set));
    return p;
}

/* Options template set and one options data record announcing the sampling rate. */
static uint8_t *
options_write(const flowgen *g, const exp_state *x, uint8_t version, uint8_t *p)
{
    uint32_t rate = g->cfg.sampling_rate;
    uint8_t *set = p;
    if (version == NF_FLOW_V9) {
        /* RFC 3954 §6.1: {id, scope length, option length} in bytes, then scope System (1)
         * of 4 bytes, FLOW_SAMPLER_ID, FLOW_SAMPLER_MODE, FLOW_SAMPLER_RANDOM_INTERVAL. */
        static const uint16_t spec[] = {1, 4, 48, 1, 49, 1, 50, 4};
        put16(p, 1);
        put16(p + 4, TMPL_ID_OPTIONS);
        put16(p + 6, 4);
        put16(p + 8, 12);
        p += 10;
        for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++, p += 2)
            put16(p, spec[i]);
        p = set_close(set, p);
        set = p;
        put16(p, TMPL_ID_OPTIONS);
        memcpy(p + 4, x->addr + 12, 4); /* System scope: the exporter's IPv4 address */
        p[8] = SAMPLER_ID;
        p[9] = 2; /* random sampling */
        put32(p + 10, rate);
        p = set_close(set, p + 14);
    } else {
        /* RFC 7011 §3.4.2.2: {id, field count, scope field count}; scope selectorId (302),
         * samplingPacketInterval (305), samplingPacketSpace (306) (RFC 5477). */
        static const uint16_t spec[] = {302, 4, 305, 4, 306, 4};
        put16(p, 3);
        put16(p + 4, TMPL_ID_OPTIONS);
        put16(p + 6, 3);
        put16(p + 8, 1);
        p += 10;
        for (size_t i = 0; i < sizeof(spec) / sizeof(spec[0]); i++, p += 2)
            put16(p, spec[i]);
        p = set_close(set, p);
        set = p;
        put16(p, TMPL_ID_OPTIONS);
        put32(p + 4, SAMPLER_ID);
        put32(p + 8, 1);
        put32(p + 12, rate - 1);
        p = set_close(set, p + 16);
    }
    return p;
}

/* v9 and IPFIX: header, optional templates/options, data sets. */
static size_t
sets_build(flowgen *g, exp_state *x, uint32_t max_flows, uint8_t *buf, size_t limit,
           flowgen_datagram *d)
{
    bool v9 = x->version == NF_FLOW_V9;
    const tmpl_def *tmpls = v9 ? g->tmpl9 : g->tmplx;
    size_t worst = v9 ? g->worst9 : g->worstx;
    uint8_t *p = buf + (v9 ? V9_HEADER_LEN : IPFIX_HEADER_LEN);
    uint32_t records = 0; /* v9 header count: every record of every kind */

    if (d->has_templates) {
        memcpy(p, v9 ? g->tset9 : g->tsetx, v9 ? g->tset9_len : g->tsetx_len);
        p += v9 ? g->tset9_len : g->tsetx_len;
        records += 2;
        if (g->cfg.sampling_rate > 1) {
            p = options_write(g, x, x->version, p);
            records += 2; /* options template record + options data record */
            d->options_records = 1;
        }
    }

    /* Flows are generated first and then written one set per template (IPv4 set, then
     * IPv6 set), as exporters pack them; the hook sees them in that, the datagram's, order.
     * Room check: both set headers and paddings plus one more worst-case record. */
    uint32_t share = g->cfg.ipv6_share;
    size_t head = (size_t)(p - buf), body = 0;
    uint32_t n = 0, n6 = 0;
    while (d->flows < max_flows && head + 2 * (SET_HEADER_LEN + 3) + body + worst <= limit) {
        bool v6 = share >= 100 || (share > 0 && rng_below(&g->r, 100) < share);
        gen_flow *gf = &g->pending[n++];
        make_flow(g, x, v6, d->export_ms, gf, d);
        body += record_len(&tmpls[v6], gf);
        n6 += v6;
    }
    for (int fam = 0; fam < 2; fam++) {
        if ((fam ? n6 : n - n6) == 0)
            continue;
        const tmpl_def *t = &tmpls[fam];
        uint8_t *set = p;
        put16(p, t->id);
        p += SET_HEADER_LEN;
        for (uint32_t i = 0; i < n; i++) {
            const gen_flow *gf = &g->pending[i];
            if ((gf->f.ip_version == 6) != fam)
                continue;
            if (g->hook != NULL)
                g->hook(g->hook_ctx, &gf->f);
            p += record_write(t, gf, x->boot_ms, p);
        }
        p = set_close(set, p);
    }

    size_t len = (size_t)(p - buf);
    uint32_t secs = (uint32_t)(d->export_ms / 1000);
    if (v9) {
        put16(buf, 9);
        put16(buf + 2, (uint16_t)(records + d->flows));
        put32(buf + 4, (uint32_t)(d->export_ms - x->boot_ms));
        put32(buf + 8, secs);
        put32(buf + 12, x->seq);
        put32(buf + 16, x->domain);
        x->seq += 1;
    } else {
        put16(buf, 10);
        put16(buf + 2, (uint16_t)len);
        put32(buf + 4, secs);
        put32(buf + 8, x->seq);
        put32(buf + 12, x->domain);
        x->seq += d->flows + d->options_records;
    }
    return len;
}

static void
counts_add(flowgen_counts *c, const flowgen_datagram *d)
{
    c->datagrams++;
    c->flows += d->flows;
    c->bytes += d->bytes;
    c->packets += d->packets;
    c->template_datagrams += d->has_templates;
}

nf_status
flowgen_next(flowgen *g, uint32_t max_flows, uint8_t *buf, size_t cap, size_t *len_out,
             flowgen_datagram *info)
{
    if (g == NULL || buf == NULL || len_out == NULL)
        return NF_EINVAL;
    exp_state *x = &g->exp[g->next];
    size_t limit = cap < g->cfg.max_datagram ? cap : g->cfg.max_datagram;
    uint32_t every = g->cfg.template_interval;
    bool with_templates = x->version != NF_FLOW_V5 &&
                          (x->c.datagrams == 0 || (every != 0 && x->c.datagrams % every == 0));
    if (limit < min_datagram(g, x->version, with_templates))
        return NF_EINVAL;

    flowgen_datagram d;
    memset(&d, 0, sizeof(d));
    d.exporter = g->next;
    memcpy(d.exporter_addr, x->addr, 16);
    d.version = x->version;
    d.domain = x->domain;
    d.sequence = x->seq;
    d.has_templates = with_templates;
    /* The header time as a decoder reads it; flows end at or before it. */
    uint64_t now_ms = g->cfg.start_ms + g->flows_total * 1000u / g->cfg.flows_per_sec;
    d.virtual_ms = now_ms;
    d.export_ms = x->version == NF_FLOW_V5 ? now_ms : now_ms / 1000u * 1000u;

    if (max_flows == 0)
        max_flows = UINT32_MAX;
    size_t len = x->version == NF_FLOW_V5 ? v5_build(g, x, max_flows, buf, limit, &d)
                                          : sets_build(g, x, max_flows, buf, limit, &d);

    counts_add(&x->c, &d);
    counts_add(&g->total, &d);
    g->flows_total += d.flows;
    g->next = g->next + 1 == g->cfg.exporters ? 0 : g->next + 1;
    *len_out = len;
    if (info != NULL)
        *info = d;
    return NF_OK;
}

void
flowgen_totals(const flowgen *g, flowgen_counts *out)
{
    *out = g->total;
}

uint32_t
flowgen_exporter_count(const flowgen *g)
{
    return g->cfg.exporters;
}

bool
flowgen_exporter_get(const flowgen *g, uint32_t i, flowgen_exporter *out)
{
    if (i >= g->cfg.exporters)
        return false;
    const exp_state *x = &g->exp[i];
    memcpy(out->addr, x->addr, 16);
    out->version = x->version;
    out->domain = x->domain;
    out->counts = x->c;
    return true;
}

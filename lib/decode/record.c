/* record.c — running a compiled template over data records; options records and sampling.
 *
 * A data record becomes an nf_flow: the field program writes values into a record context,
 * then finish_flow() resolves what needs the whole record — which of several time forms to
 * use, which sampling rate applies, ICMP type/code as destination port — and hands the flow
 * to the sink. An options record goes through the same program but feeds the exporter's
 * sampling state (and system init time) instead of producing a flow.
 *
 * Time forms, best first: epoch ms (152/153), NTP micro/nanoseconds (154..157), epoch
 * seconds (150/151), sysUptime-relative ms (21/22), microseconds before export (158/159);
 * then observation time (322..325); a record with none of these gets the export time.
 * sysUptime-relative times use signed 32-bit differences, so both clocks may wrap at 2^32 ms.
 *
 * Sampling rate of a record, first that applies: a rate carried in the record itself
 * (size/population, packet interval/space, interval), the rate of the sampler id the record
 * names, the exporter key's default rate (v5 header, or options data naming no sampler),
 * the rate of the only sampler the exporter announced, 1.
 */
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"
#include "internal.h"

#define NTP_UNIX_OFFSET 2208988800ull /* seconds from 1900-01-01 to 1970-01-01 */

typedef struct rec_ctx {
    nf_flow f;
    uint64_t start, end, obs, sysinit;
    uint64_t interval, pkt_interval, pkt_space, sample_size, sample_population;
    uint32_t sampler_id;
    uint16_t icmp;
    uint8_t start_op, end_op, obs_op; /* field_op that set the value, OP_SKIP if none */
    uint8_t src_family, dst_family, nh_family; /* 4 or 6 once an address was written */
    bool has_sampler;
    bool has_pkt_space;
} rec_ctx;

static inline uint64_t
rd_uint(const uint8_t *p, unsigned len)
{
    switch (len) {
    case 1:
        return p[0];
    case 2:
        return nf_be16(p);
    case 4:
        return nf_be32(p);
    case 8:
        return nf_be64(p);
    default:
        return nf_be_uint(p, len);
    }
}

/* Writes an address unless it is all zero and the slot already holds one: templates that
 * carry both IPv4 and IPv6 fields fill the unused family with zeros. */
static inline void
put_addr(uint8_t dst[16], uint8_t *family, const uint8_t *v, unsigned len)
{
    bool zero = true;
    for (unsigned i = 0; i < len; i++)
        zero &= v[i] == 0;
    if (zero && *family != 0)
        return;
    if (len == 4)
        nf_addr_from_v4(dst, v);
    else
        memcpy(dst, v, 16);
    *family = len == 4 ? 4 : 6;
}

/* Inlined into both record loops: this switch is the decoder's innermost step. */
static inline __attribute__((always_inline)) void
apply(rec_ctx *r, uint8_t op, const uint8_t *v, unsigned len)
{
    switch ((field_op)op) {
    case OP_SKIP:
        break;
    case OP_BYTES:
        r->f.bytes = rd_uint(v, len);
        break;
    case OP_BYTES_ADD:
        r->f.bytes += rd_uint(v, len);
        break;
    case OP_PACKETS:
        r->f.packets = rd_uint(v, len);
        break;
    case OP_PACKETS_ADD:
        r->f.packets += rd_uint(v, len);
        break;
    case OP_PROTO:
        r->f.protocol = (uint8_t)rd_uint(v, len);
        break;
    case OP_TOS:
        r->f.tos = (uint8_t)rd_uint(v, len);
        break;
    case OP_TCP_FLAGS:
        r->f.tcp_flags = (uint8_t)rd_uint(v, len); /* 2-byte form: low byte holds the flags */
        break;
    /* Ports and ICMP type/code may come in several fields (tcp/udp-specific ports, IPv4 and
     * IPv6 ICMP); the one that does not apply is zero and must not wipe the other. */
    case OP_SRC_PORT: {
        uint16_t p = (uint16_t)rd_uint(v, len);
        if (p != 0)
            r->f.src_port = p;
        break;
    }
    case OP_DST_PORT: {
        uint16_t p = (uint16_t)rd_uint(v, len);
        if (p != 0)
            r->f.dst_port = p;
        break;
    }
    case OP_SRC4:
    case OP_SRC6:
        put_addr(r->f.src_addr, &r->src_family, v, len);
        break;
    case OP_DST4:
    case OP_DST6:
        put_addr(r->f.dst_addr, &r->dst_family, v, len);
        break;
    case OP_NH4:
    case OP_NH6:
        put_addr(r->f.next_hop, &r->nh_family, v, len);
        break;
    case OP_SRC_MASK:
        r->f.src_mask = (uint8_t)rd_uint(v, len);
        break;
    case OP_DST_MASK:
        r->f.dst_mask = (uint8_t)rd_uint(v, len);
        break;
    case OP_IN_IF:
        r->f.in_if = (uint32_t)rd_uint(v, len);
        break;
    case OP_OUT_IF:
        r->f.out_if = (uint32_t)rd_uint(v, len);
        break;
    case OP_SRC_AS:
        r->f.src_as = (uint32_t)rd_uint(v, len);
        break;
    case OP_DST_AS:
        r->f.dst_as = (uint32_t)rd_uint(v, len);
        break;
    case OP_ICMP: {
        uint16_t t = (uint16_t)rd_uint(v, len);
        if (t != 0)
            r->icmp = t;
        break;
    }
    case OP_START_UPTIME:
    case OP_START_SEC:
    case OP_START_MS:
    case OP_START_DELTA_US:
        r->start = rd_uint(v, len);
        r->start_op = op;
        break;
    case OP_START_NTP:
        r->start = nf_be64(v);
        r->start_op = op;
        break;
    case OP_END_UPTIME:
    case OP_END_SEC:
    case OP_END_MS:
    case OP_END_DELTA_US:
        r->end = rd_uint(v, len);
        r->end_op = op;
        break;
    case OP_END_NTP:
        r->end = nf_be64(v);
        r->end_op = op;
        break;
    case OP_OBS_SEC:
    case OP_OBS_MS:
        r->obs = rd_uint(v, len);
        r->obs_op = op;
        break;
    case OP_OBS_NTP:
        r->obs = nf_be64(v);
        r->obs_op = op;
        break;
    case OP_SYSINIT_MS:
        r->sysinit = rd_uint(v, len);
        break;
    case OP_SAMPLER_ID:
        r->sampler_id = (uint32_t)rd_uint(v, len);
        r->has_sampler = true;
        break;
    case OP_SAMPLING_INTERVAL:
        r->interval = rd_uint(v, len);
        break;
    case OP_PKT_INTERVAL:
        r->pkt_interval = rd_uint(v, len);
        break;
    case OP_PKT_SPACE:
        r->pkt_space = rd_uint(v, len);
        r->has_pkt_space = true;
        break;
    case OP_SAMPLE_SIZE:
        r->sample_size = rd_uint(v, len);
        break;
    case OP_SAMPLE_POPULATION:
        r->sample_population = rd_uint(v, len);
        break;
    case OP_COUNT:
        break;
    }
}

static uint64_t
ntp_to_ms(uint64_t ntp)
{
    uint64_t secs = ntp >> 32;
    uint64_t frac = ntp & 0xffffffffu;
    if (secs < NTP_UNIX_OFFSET)
        return 0;
    return (secs - NTP_UNIX_OFFSET) * 1000u + ((frac * 1000u) >> 32);
}

/* Converts a time value of the given form to epoch ms; 0 if it cannot be placed. */
static uint64_t
to_epoch_ms(uint8_t op, uint64_t v, const hdr_ctx *hdr, uint64_t sysinit, uint8_t version)
{
    switch (op) {
    case OP_START_MS:
    case OP_END_MS:
    case OP_OBS_MS:
        return v;
    case OP_START_SEC:
    case OP_END_SEC:
    case OP_OBS_SEC:
        return v * 1000u;
    case OP_START_NTP:
    case OP_END_NTP:
    case OP_OBS_NTP:
        return ntp_to_ms(v);
    case OP_START_DELTA_US:
    case OP_END_DELTA_US:
        return v / 1000u <= hdr->export_ms ? hdr->export_ms - v / 1000u : 0;
    case OP_START_UPTIME:
    case OP_END_UPTIME:
        if (version == NF_FLOW_V9)
            return uptime_to_epoch_ms(hdr, (uint32_t)v);
        return sysinit != 0 ? sysinit + v : 0; /* IPFIX: relative to system init time */
    default:
        return 0;
    }
}

static uint64_t
rate_from_record(const rec_ctx *r)
{
    if (r->sample_size > 0 && r->sample_population > 0)
        return r->sample_population / r->sample_size;
    if (r->pkt_interval > 0 && (r->has_pkt_space || r->interval == 0))
        return (r->pkt_interval + r->pkt_space) / r->pkt_interval;
    return r->interval;
}

static uint32_t
clamp_rate(uint64_t rate)
{
    if (rate == 0)
        return 1;
    return rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
}

uint32_t
sampler_rate(const exporter *e, uint32_t id, bool *found)
{
    for (uint32_t i = 0; i < e->nsamplers; i++) {
        if (e->samplers[i].id == id) {
            *found = true;
            return e->samplers[i].rate;
        }
    }
    *found = false;
    return 0;
}

void
sampler_set(nf_decoder *d, exporter *e, uint32_t id, uint32_t rate)
{
    for (uint32_t i = 0; i < e->nsamplers; i++) {
        if (e->samplers[i].id == id) {
            if (e->samplers[i].rate != rate)
                d->state_gen++;
            e->samplers[i].rate = rate; /* re-sent options data replace old values */
            return;
        }
    }
    if (e->samplers == NULL) {
        e->samplers = calloc(d->cfg.max_samplers ? d->cfg.max_samplers : 1, sizeof(sampler));
        if (e->samplers == NULL) {
            count_error(d, NF_DROP_SAMPLER_LIMIT);
            return;
        }
    }
    if (e->nsamplers >= d->cfg.max_samplers) {
        count_error(d, NF_DROP_SAMPLER_LIMIT);
        return;
    }
    e->samplers[e->nsamplers++] = (sampler){id, rate};
    d->state_gen++;
}

static void
finish_options(pkt_ctx *pc, const rec_ctx *r)
{
    exporter *e = pc->e;
    if (r->sysinit != 0 && r->sysinit != e->sysinit_ms) {
        e->sysinit_ms = r->sysinit;
        pc->d->state_gen++;
    }
    uint64_t rate = rate_from_record(r);
    if (rate == 0)
        return;
    uint32_t clamped = clamp_rate(rate);
    if (r->has_sampler)
        sampler_set(pc->d, e, r->sampler_id, clamped);
    else if (e->default_rate != clamped) {
        e->default_rate = clamped;
        pc->d->state_gen++;
    }
}

static void
finish_flow(pkt_ctx *pc, rec_ctx *r, const hdr_ctx *hdr)
{
    exporter *e = pc->e;
    nf_flow *f = &r->f;
    uint64_t sysinit = r->sysinit ? r->sysinit : e->sysinit_ms;

    uint64_t start = r->start_op ? to_epoch_ms(r->start_op, r->start, hdr, sysinit, e->version)
                                 : 0;
    uint64_t end = r->end_op ? to_epoch_ms(r->end_op, r->end, hdr, sysinit, e->version) : 0;
    if (start == 0 && end == 0 && r->obs_op)
        start = end = to_epoch_ms(r->obs_op, r->obs, hdr, sysinit, e->version);
    if (start == 0)
        start = end;
    if (end == 0)
        end = start;
    if (start == 0)
        start = end = hdr->export_ms;
    f->first_ms = start;
    f->last_ms = end;

    uint64_t rate = rate_from_record(r);
    if (rate == 0 && r->has_sampler) {
        bool found;
        rate = sampler_rate(e, r->sampler_id, &found);
    }
    if (rate == 0)
        rate = e->default_rate;
    /* A single announced sampler applies to records that name none (IOS-XR announces a
     * selector but does not repeat its id in the data records, capture 20). */
    if (rate == 0 && e->nsamplers == 1)
        rate = e->samplers[0].rate;
    f->sampling_rate = clamp_rate(rate);

    if (f->dst_port == 0 && r->icmp != 0)
        f->dst_port = r->icmp;
    /* One family per record, so writers can store 4 or 16 bytes by ip_version: 6 if any
     * address is IPv6 (IPv4-mapped addresses stay valid there), else 4 with any missing
     * address as 0.0.0.0 in mapped form. */
    if (r->src_family == 6 || r->dst_family == 6) {
        f->ip_version = 6;
    } else if (r->src_family == 4 || r->dst_family == 4) {
        static const uint8_t zero4[4] = {0, 0, 0, 0};
        f->ip_version = 4;
        if (r->src_family == 0)
            nf_addr_from_v4(f->src_addr, zero4);
        if (r->dst_family == 0)
            nf_addr_from_v4(f->dst_addr, zero4);
    }

    e->flows++;
    pc->d->c.flows++;
    pc->sink(pc->sink_ctx, f);
}

static void
finish(pkt_ctx *pc, const tmpl *t, rec_ctx *r, const hdr_ctx *hdr)
{
    if (t->is_options) {
        pc->e->options_records++;
        pc->d->c.options_records++;
        finish_options(pc, r);
    } else {
        finish_flow(pc, r, hdr);
    }
}

/* Walks one variable-layout record; false if it runs past the set. */
static bool
decode_var_record(rec_ctx *r, const tmpl *t, nf_cursor *c)
{
    for (uint16_t i = 0; i < t->nops; i++) {
        const field_prog *op = &t->ops[i];
        size_t len = op->len;
        if (len == NF_VARLEN) {
            uint8_t short_len;
            if (!nf_rd_u8(c, &short_len))
                return false;
            len = short_len;
            if (short_len == 255) { /* RFC 7011 §7: 255 then a 2-byte length */
                uint16_t long_len;
                if (!nf_rd_u16(c, &long_len))
                    return false;
                len = long_len;
            }
        }
        if (nf_cursor_left(c) < len)
            return false;
        if (op->op != OP_SKIP)
            apply(r, op->op, c->p, (unsigned)len);
        c->p += len;
    }
    return true;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return false;
    return true;
}

uint32_t
records_decode(pkt_ctx *pc, const tmpl *t, const hdr_ctx *hdr, nf_cursor set)
{
    exporter *e = pc->e;
    rec_ctx proto;
    memset(&proto, 0, sizeof(proto));
    memcpy(proto.f.exporter, e->addr, 16);
    proto.f.domain = e->domain;
    proto.f.flow_type = e->version;
    proto.f.received_ms = hdr->received_ms;

    uint32_t n = 0;
    if (!t->has_varlen) {
        const uint8_t *p = set.p;
        size_t left = nf_cursor_left(&set);
        /* Whatever is shorter than a record at the end is padding (RFC 7011 §3.3.1). */
        while (left >= t->rec_len) {
            rec_ctx r = proto;
            for (uint16_t i = 0; i < t->nops; i++)
                apply(&r, t->ops[i].op, p + t->ops[i].offset, t->ops[i].len);
            finish(pc, t, &r, hdr);
            p += t->rec_len;
            left -= t->rec_len;
            n++;
        }
    } else {
        while (nf_cursor_left(&set) >= t->rec_len) {
            /* Variable-length records can be as short as padding: a short all-zero tail is
             * padding, not a record of empty fields. */
            if (nf_cursor_left(&set) < 4 && all_zero(set.p, nf_cursor_left(&set)))
                break;
            rec_ctx r = proto;
            if (!decode_var_record(&r, t, &set)) {
                count_error(pc->d, NF_DROP_SHORT_RECORD);
                break;
            }
            finish(pc, t, &r, hdr);
            n++;
        }
    }
    pc->d->c.enterprise_values += (uint64_t)n * t->enterprise;
    return n;
}

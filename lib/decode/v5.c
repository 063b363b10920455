/* v5.c — NetFlow v5: a 24-byte header and up to 30 fixed 48-byte records.
 *
 * Header:  version(2) count(2) sysUptime(4) unix_secs(4) unix_nsecs(4) flow_sequence(4)
 *          engine_type(1) engine_id(1) sampling_interval(2: 2-bit mode, 14-bit interval)
 * Record:  srcaddr(4) dstaddr(4) nexthop(4) input(2) output(2) dPkts(4) dOctets(4)
 *          first(4) last(4) srcport(2) dstport(2) pad(1) tcp_flags(1) prot(1) tos(1)
 *          src_as(2) dst_as(2) src_mask(1) dst_mask(1) pad(2)
 *
 * A datagram whose count is 0, above 30, or larger than the bytes present is refused whole:
 * a wrong count means the header cannot be trusted (capture 03 of the corpus). The exporter
 * key's domain is engine_type << 8 | engine_id; flow_sequence counts flows.
 */
#include <string.h>

#include "../base/addr.h"
#include "internal.h"

#define V5_HEADER_LEN 24
#define V5_RECORD_LEN 48
#define V5_MAX_COUNT 30

nf_status
v5_decode(nf_decoder *d, const nf_datagram *dg, nf_flow_sink *sink, void *ctx)
{
    const uint8_t *h = dg->data;
    if (dg->len < V5_HEADER_LEN) {
        count_error(d, NF_DROP_SHORT_HEADER);
        return NF_EPROTO;
    }
    uint16_t count = nf_be16(h + 2);
    if (count == 0 || count > V5_MAX_COUNT ||
        V5_HEADER_LEN + (size_t)count * V5_RECORD_LEN > dg->len) {
        count_error(d, NF_DROP_V5_COUNT);
        return NF_EPROTO;
    }
    uint32_t domain = (uint32_t)h[20] << 8 | h[21];
    exporter *e = exporter_get(d, dg->src_addr, NF_FLOW_V5, domain, dg->received_ms);
    if (e == NULL)
        return NF_EPROTO;
    d->c.packets_v5++;

    hdr_ctx hdr;
    hdr.sys_uptime = nf_be32(h + 4);
    hdr.export_ms = (uint64_t)nf_be32(h + 8) * 1000u + nf_be32(h + 12) / 1000000u;
    hdr.received_ms = dg->received_ms;
    uint32_t interval = nf_be16(h + 22) & 0x3fffu;
    if (e->default_rate != (interval ? interval : 1u)) {
        e->default_rate = interval ? interval : 1;
        d->state_gen++;
    }

    nf_flow f = {0};
    memcpy(f.exporter, dg->src_addr, 16);
    f.domain = domain;
    f.flow_type = NF_FLOW_V5;
    f.received_ms = dg->received_ms;
    f.sampling_rate = e->default_rate;
    f.ip_version = 4;

    for (uint16_t i = 0; i < count; i++) {
        const uint8_t *r = h + V5_HEADER_LEN + (size_t)i * V5_RECORD_LEN;
        nf_addr_from_v4(f.src_addr, r);
        nf_addr_from_v4(f.dst_addr, r + 4);
        nf_addr_from_v4(f.next_hop, r + 8);
        f.in_if = nf_be16(r + 12);
        f.out_if = nf_be16(r + 14);
        f.packets = nf_be32(r + 16);
        f.bytes = nf_be32(r + 20);
        f.first_ms = uptime_to_epoch_ms(&hdr, nf_be32(r + 24));
        f.last_ms = uptime_to_epoch_ms(&hdr, nf_be32(r + 28));
        f.src_port = nf_be16(r + 32);
        f.dst_port = nf_be16(r + 34);
        f.tcp_flags = r[37];
        f.protocol = r[38];
        f.tos = r[39];
        f.src_as = nf_be16(r + 40);
        f.dst_as = nf_be16(r + 42);
        f.src_mask = r[44];
        f.dst_mask = r[45];
        e->flows++;
        d->c.flows++;
        sink(ctx, &f);
    }
    seq_track(d, e, nf_be32(h + 16), count, count, dg->src_port);
    return NF_OK;
}

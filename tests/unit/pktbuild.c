/* pktbuild.c — see pktbuild.h. */
#include "pktbuild.h"

#include <string.h>

void
pkt_init(pkt *p)
{
    p->len = 0;
    p->msg_start = 0;
    p->set_start = SIZE_MAX;
    p->version = 0;
    p->overflow = false;
}

static bool
room(pkt *p, size_t n)
{
    if (p->overflow || n > PKT_MAX - p->len) {
        p->overflow = true;
        return false;
    }
    return true;
}

void
pkt_u8(pkt *p, uint8_t v)
{
    if (room(p, 1))
        p->buf[p->len++] = v;
}

void
pkt_uint(pkt *p, uint64_t v, unsigned n)
{
    if (n == 0 || n > 8 || !room(p, n)) {
        p->overflow = true;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        p->buf[p->len + i] = (uint8_t)(v >> (8 * (n - 1 - i)));
    p->len += n;
}

void
pkt_u16(pkt *p, uint16_t v)
{
    pkt_uint(p, v, 2);
}

void
pkt_u24(pkt *p, uint32_t v)
{
    pkt_uint(p, v, 3);
}

void
pkt_u32(pkt *p, uint32_t v)
{
    pkt_uint(p, v, 4);
}

void
pkt_u64(pkt *p, uint64_t v)
{
    pkt_uint(p, v, 8);
}

void
pkt_bytes(pkt *p, const void *src, size_t n)
{
    if (n == 0 || !room(p, n))
        return;
    memcpy(p->buf + p->len, src, n);
    p->len += n;
}

void
pkt_fill(pkt *p, uint8_t byte, size_t n)
{
    if (n == 0 || !room(p, n))
        return;
    memset(p->buf + p->len, byte, n);
    p->len += n;
}

void
pkt_ip4(pkt *p, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
    uint8_t v[4] = {a, b, c, d};
    pkt_bytes(p, v, 4);
}

void
pkt_patch_u16(pkt *p, size_t off, uint16_t v)
{
    if (off + 2 > p->len) {
        p->overflow = true;
        return;
    }
    p->buf[off] = (uint8_t)(v >> 8);
    p->buf[off + 1] = (uint8_t)v;
}

void
pkt_patch_u32(pkt *p, size_t off, uint32_t v)
{
    pkt_patch_u16(p, off, (uint16_t)(v >> 16));
    pkt_patch_u16(p, off + 2, (uint16_t)v);
}

void
pkt_v5_header(pkt *p, uint16_t count, uint32_t sys_uptime, uint32_t unix_secs,
              uint32_t unix_nsecs, uint32_t flow_seq, uint8_t engine_type, uint8_t engine_id,
              uint16_t sampling)
{
    p->msg_start = p->len;
    p->version = 5;
    pkt_u16(p, 5);
    pkt_u16(p, count);
    pkt_u32(p, sys_uptime);
    pkt_u32(p, unix_secs);
    pkt_u32(p, unix_nsecs);
    pkt_u32(p, flow_seq);
    pkt_u8(p, engine_type);
    pkt_u8(p, engine_id);
    pkt_u16(p, sampling);
}

void
pkt_v9_header(pkt *p, uint16_t count, uint32_t sys_uptime, uint32_t unix_secs, uint32_t seq,
              uint32_t source_id)
{
    p->msg_start = p->len;
    p->version = 9;
    pkt_u16(p, 9);
    pkt_u16(p, count);
    pkt_u32(p, sys_uptime);
    pkt_u32(p, unix_secs);
    pkt_u32(p, seq);
    pkt_u32(p, source_id);
}

void
pkt_ipfix_header(pkt *p, uint32_t export_time, uint32_t seq, uint32_t domain)
{
    p->msg_start = p->len;
    p->version = 10;
    pkt_u16(p, 10);
    pkt_u16(p, 0); /* length, patched by pkt_finish */
    pkt_u32(p, export_time);
    pkt_u32(p, seq);
    pkt_u32(p, domain);
}

void
pkt_v5_record(pkt *p, const pkt_v5_rec *r)
{
    pkt_u32(p, r->src);
    pkt_u32(p, r->dst);
    pkt_u32(p, r->nexthop);
    pkt_u16(p, r->input);
    pkt_u16(p, r->output);
    pkt_u32(p, r->packets);
    pkt_u32(p, r->octets);
    pkt_u32(p, r->first);
    pkt_u32(p, r->last);
    pkt_u16(p, r->src_port);
    pkt_u16(p, r->dst_port);
    pkt_u8(p, 0); /* pad1 */
    pkt_u8(p, r->tcp_flags);
    pkt_u8(p, r->proto);
    pkt_u8(p, r->tos);
    pkt_u16(p, r->src_as);
    pkt_u16(p, r->dst_as);
    pkt_u8(p, r->src_mask);
    pkt_u8(p, r->dst_mask);
    pkt_u16(p, 0); /* pad2 */
}

void
pkt_set_begin(pkt *p, uint16_t set_id)
{
    p->set_start = p->len;
    pkt_u16(p, set_id);
    pkt_u16(p, 0);
}

void
pkt_set_end_pad(pkt *p, size_t pad)
{
    if (p->set_start == SIZE_MAX) {
        p->overflow = true; /* no open set: a test bug */
        return;
    }
    pkt_fill(p, 0, pad);
    size_t n = p->len - p->set_start;
    if (n > 0xffff)
        p->overflow = true;
    pkt_patch_u16(p, p->set_start + 2, (uint16_t)n);
    p->set_start = SIZE_MAX;
}

void
pkt_set_end(pkt *p)
{
    pkt_set_end_pad(p, 0);
}

void
pkt_tmpl_begin(pkt *p, uint16_t template_id, uint16_t field_count)
{
    pkt_u16(p, template_id);
    pkt_u16(p, field_count);
}

void
pkt_field(pkt *p, uint16_t type, uint16_t len)
{
    pkt_u16(p, type);
    pkt_u16(p, len);
}

void
pkt_field_pen(pkt *p, uint16_t type, uint16_t len, uint32_t pen)
{
    pkt_u16(p, (uint16_t)(type | 0x8000u));
    pkt_u16(p, len);
    pkt_u32(p, pen);
}

void
pkt_tmpl(pkt *p, uint16_t template_id, const uint16_t *fields, uint16_t n)
{
    pkt_tmpl_begin(p, template_id, n);
    for (uint16_t i = 0; i < n; i++)
        pkt_field(p, fields[2 * i], fields[2 * i + 1]);
}

void
pkt_v9_opt_tmpl_begin(pkt *p, uint16_t template_id, uint16_t scope_bytes,
                      uint16_t option_bytes)
{
    pkt_u16(p, template_id);
    pkt_u16(p, scope_bytes);
    pkt_u16(p, option_bytes);
}

void
pkt_ipfix_opt_tmpl_begin(pkt *p, uint16_t template_id, uint16_t field_count,
                         uint16_t scope_count)
{
    pkt_u16(p, template_id);
    pkt_u16(p, field_count);
    pkt_u16(p, scope_count);
}

void
pkt_varlen_long(pkt *p, const void *src, size_t n)
{
    if (n > 0xffff) {
        p->overflow = true;
        return;
    }
    pkt_u8(p, 255);
    pkt_u16(p, (uint16_t)n);
    pkt_bytes(p, src, n);
}

void
pkt_varlen(pkt *p, const void *src, size_t n)
{
    if (n >= 255) {
        pkt_varlen_long(p, src, n);
        return;
    }
    pkt_u8(p, (uint8_t)n);
    pkt_bytes(p, src, n);
}

void
pkt_finish(pkt *p)
{
    if (p->version != 10)
        return;
    size_t n = p->len - p->msg_start;
    if (n > 0xffff)
        p->overflow = true;
    pkt_patch_u16(p, p->msg_start + 2, (uint16_t)n);
}

/* sets.c — NetFlow v9 and IPFIX datagrams: headers, set walking and template sets.
 *
 * v9 header (20 bytes):    version count sysUptime unix_secs sequence source_id
 * IPFIX header (16 bytes): version length export_time sequence observation_domain
 * Then sets of {id(2), length(2), body}:
 *
 *   set id        v9                          IPFIX
 *   0             templates                   reserved
 *   1             options templates           reserved
 *   2             reserved                    templates
 *   3             reserved                    options templates
 *   4..255        reserved                    reserved
 *   >= 256        data for template <id>      data for template <id>
 *
 * Sets are processed in order, so a template defined earlier in a datagram applies to data
 * later in it. A set length below 4 or beyond the message ends the datagram (the next set
 * cannot be found); if the rest of the datagram is all zero bytes it is padding (PAN-OS
 * pads to 1400 bytes, capture 11) and nothing is counted. Template records of id 0 with
 * only zeros after them are padding too.
 *
 * IPFIX template withdrawal (RFC 7011 §8.1): a template record with field count 0 withdraws
 * its id; id 2 in a template set withdraws all templates, id 3 in an options template set
 * all options templates.
 */
#include "internal.h"

#define V9_HEADER_LEN 20
#define IPFIX_HEADER_LEN 16
#define SET_HEADER_LEN 4

static bool
rest_is_zero(nf_cursor c)
{
    for (const uint8_t *p = c.p; p < c.end; p++)
        if (*p != 0)
            return false;
    return true;
}

static void
data_set(pkt_ctx *pc, uint16_t set_id, nf_cursor body)
{
    tmpl *t = template_find(pc->e, set_id);
    if (t == NULL) {
        pc->uncountable = true;
        backlog_push(pc, set_id, body);
        return;
    }
    uint32_t n = records_decode(pc, t, &pc->hdr, body);
    pc->records += n;
    if (!t->is_options)
        pc->flows += n;
}

static void
installed(pkt_ctx *pc, uint8_t version, uint16_t id, bool is_options, uint16_t nfields,
          uint16_t nscope, const uint8_t *spec, size_t spec_len)
{
    if (template_install(pc->d, pc->e, version, id, is_options, nfields, nscope, spec, spec_len))
        backlog_replay(pc, id);
}

/* v9 set 0: {template_id, field_count, field_count x {type, length}}. */
static void
v9_template_set(pkt_ctx *pc, nf_cursor c)
{
    while (nf_cursor_left(&c) >= 4) {
        uint16_t id = nf_be16(c.p), nfields = nf_be16(c.p + 2);
        if (id < 256 || nfields == 0) {
            if (!rest_is_zero(c))
                count_error(pc->d, NF_DROP_BAD_TEMPLATE);
            return;
        }
        c.p += 4;
        size_t spec_len = (size_t)nfields * 4;
        if (nf_cursor_left(&c) < spec_len) {
            count_error(pc->d, NF_DROP_BAD_TEMPLATE);
            return;
        }
        installed(pc, NF_FLOW_V9, id, false, nfields, 0, c.p, spec_len);
        c.p += spec_len;
    }
}

/* v9 set 1: {template_id, scope_length, option_length, scope fields, option fields}, the two
 * lengths in bytes. A scope length of 0 occurs (Juniper SRX, capture 10) and is accepted. */
static void
v9_options_template_set(pkt_ctx *pc, nf_cursor c)
{
    while (nf_cursor_left(&c) >= 6) {
        uint16_t id = nf_be16(c.p), scope_len = nf_be16(c.p + 2), opt_len = nf_be16(c.p + 4);
        if (id < 256) {
            if (!rest_is_zero(c))
                count_error(pc->d, NF_DROP_BAD_TEMPLATE);
            return;
        }
        c.p += 6;
        size_t spec_len = (size_t)scope_len + opt_len;
        if (scope_len % 4 != 0 || opt_len % 4 != 0 || spec_len == 0 ||
            nf_cursor_left(&c) < spec_len) {
            count_error(pc->d, NF_DROP_BAD_TEMPLATE);
            return;
        }
        installed(pc, NF_FLOW_V9, id, true, (uint16_t)(spec_len / 4), (uint16_t)(scope_len / 4),
                  c.p, spec_len);
        c.p += spec_len;
    }
}

/* Length of nfields IPFIX field specifiers at c (4 bytes, 8 with an enterprise number), or 0
 * if they do not fit. */
static size_t
ipfix_spec_len(nf_cursor c, uint16_t nfields)
{
    const uint8_t *start = c.p;
    for (uint16_t i = 0; i < nfields; i++) {
        if (nf_cursor_left(&c) < 4)
            return 0;
        size_t step = (nf_be16(c.p) & 0x8000u) ? 8 : 4;
        if (!nf_cursor_skip(&c, step))
            return 0;
    }
    return (size_t)(c.p - start);
}

/* IPFIX sets 2 and 3: {template_id, field_count, [scope_field_count,] specifiers}. */
static void
ipfix_template_set(pkt_ctx *pc, nf_cursor c, bool is_options)
{
    size_t head = is_options ? 6 : 4;
    while (nf_cursor_left(&c) >= 4) {
        uint16_t id = nf_be16(c.p), nfields = nf_be16(c.p + 2);
        if (nfields == 0) {
            c.p += 4;
            if (id == (is_options ? 3 : 2))
                template_withdraw_all(pc->d, pc->e, is_options);
            else if (id >= 256)
                template_withdraw(pc->d, pc->e, id);
            else if (id != 0 || !rest_is_zero(c))
                count_error(pc->d, NF_DROP_BAD_TEMPLATE);
            else
                return; /* zero padding */
            continue;
        }
        if (id < 256 || nf_cursor_left(&c) < head) {
            count_error(pc->d, NF_DROP_BAD_TEMPLATE);
            return;
        }
        uint16_t nscope = is_options ? nf_be16(c.p + 4) : 0;
        c.p += head;
        size_t spec_len = ipfix_spec_len(c, nfields);
        if (spec_len == 0 || nscope > nfields) {
            count_error(pc->d, NF_DROP_BAD_TEMPLATE);
            return;
        }
        installed(pc, NF_FLOW_IPFIX, id, is_options, nfields, nscope, c.p, spec_len);
        c.p += spec_len;
    }
}

/* Walks the sets of a message body. */
static void
walk_sets(pkt_ctx *pc, nf_cursor c, uint8_t version)
{
    while (nf_cursor_left(&c) >= SET_HEADER_LEN) {
        uint16_t set_id = nf_be16(c.p), set_len = nf_be16(c.p + 2);
        if (set_len < SET_HEADER_LEN || set_len > nf_cursor_left(&c)) {
            if (!rest_is_zero(c))
                count_error(pc->d, NF_DROP_SET_LENGTH);
            return;
        }
        nf_cursor body;
        c.p += SET_HEADER_LEN;
        nf_cursor_sub(&c, set_len - SET_HEADER_LEN, &body);
        if (set_id >= 256)
            data_set(pc, set_id, body);
        else if (version == NF_FLOW_V9 && set_id == 0)
            v9_template_set(pc, body);
        else if (version == NF_FLOW_V9 && set_id == 1)
            v9_options_template_set(pc, body);
        else if (version == NF_FLOW_IPFIX && (set_id == 2 || set_id == 3))
            ipfix_template_set(pc, body, set_id == 3);
        else
            count_error(pc->d, NF_DROP_RESERVED_SET);
    }
    /* Fewer than 4 bytes left: padding. */
}

static void
pkt_init(pkt_ctx *pc, nf_decoder *d, exporter *e, nf_flow_sink *sink, void *ctx)
{
    pc->d = d;
    pc->e = e;
    pc->sink = sink;
    pc->sink_ctx = ctx;
    pc->records = 0;
    pc->flows = 0;
    pc->uncountable = false;
}

nf_status
v9_decode(nf_decoder *d, const nf_datagram *dg, nf_flow_sink *sink, void *ctx)
{
    const uint8_t *h = dg->data;
    if (dg->len < V9_HEADER_LEN) {
        count_error(d, NF_DROP_SHORT_HEADER);
        return NF_EPROTO;
    }
    exporter *e = exporter_get(d, dg->src_addr, NF_FLOW_V9, nf_be32(h + 16), dg->received_ms);
    if (e == NULL)
        return NF_EPROTO;
    d->c.packets_v9++;

    pkt_ctx pc;
    pkt_init(&pc, d, e, sink, ctx);
    pc.hdr.sys_uptime = nf_be32(h + 4);
    pc.hdr.export_ms = (uint64_t)nf_be32(h + 8) * 1000u;
    pc.hdr.received_ms = dg->received_ms;
    walk_sets(&pc, nf_cursor_make(h + V9_HEADER_LEN, dg->len - V9_HEADER_LEN), NF_FLOW_V9);

    /* sysUptime going back by more than reordering could explain is a reboot. */
    uint32_t seq = nf_be32(h + 12);
    if (e->seq_valid && (int32_t)(pc.hdr.sys_uptime - e->last_uptime) < -60000 &&
        seq != e->seq_next) {
        seq_confirm_all(d, e);
        e->seq_valid = false;
        e->seq_resets++;
        d->c.seq_resets++;
    }
    e->last_uptime = pc.hdr.sys_uptime;
    seq_track(d, e, seq, 1, 1, dg->src_port);
    return NF_OK;
}

nf_status
ipfix_decode(nf_decoder *d, const nf_datagram *dg, nf_flow_sink *sink, void *ctx)
{
    const uint8_t *h = dg->data;
    if (dg->len < IPFIX_HEADER_LEN) {
        count_error(d, NF_DROP_SHORT_HEADER);
        return NF_EPROTO;
    }
    uint16_t msg_len = nf_be16(h + 2);
    if (msg_len < IPFIX_HEADER_LEN || msg_len > dg->len) {
        count_error(d, NF_DROP_MSG_LENGTH);
        return NF_EPROTO;
    }
    exporter *e = exporter_get(d, dg->src_addr, NF_FLOW_IPFIX, nf_be32(h + 12), dg->received_ms);
    if (e == NULL)
        return NF_EPROTO;
    d->c.packets_ipfix++;

    pkt_ctx pc;
    pkt_init(&pc, d, e, sink, ctx);
    pc.hdr.sys_uptime = 0;
    pc.hdr.export_ms = (uint64_t)nf_be32(h + 4) * 1000u;
    pc.hdr.received_ms = dg->received_ms;
    walk_sets(&pc, nf_cursor_make(h + IPFIX_HEADER_LEN, msg_len - IPFIX_HEADER_LEN),
              NF_FLOW_IPFIX);

    seq_track(d, e, nf_be32(h + 8), pc.flows, pc.records, dg->src_port);
    if (pc.uncountable)
        e->seq_valid = false; /* resume counting from the next datagram */
    return NF_OK;
}

/* encode.c — data templates and record encoders for NetFlow v5, v9 (RFC 3954) and IPFIX
 * (RFC 7011).
 *
 * One table per template drives both the template record and every data record, so the
 * two cannot disagree. Field choices (see flowgen.h for the summary):
 *  - v9 uses 4-byte counters and sysUptime-relative FIRST/LAST_SWITCHED, as most routers;
 *    IPFIX uses 8-byte delta counters and absolute flowStart/EndMilliseconds.
 *  - ICMP type/code travels in ICMP_TYPE (32) / icmpTypeCodeIPv4 (32) / icmpTypeCodeIPv6
 *    (139) with destination port 0, as Cisco and Juniper export it; v9 has no separate IPv6
 *    element in RFC 3954, so its IPv6 template uses 32 as well. v5 has no such field and
 *    carries type*256+code in the destination port.
 *  - IPFIX puts the enterprise-specific element after the counters and the variable-length
 *    interfaceName after the protocol, so a decoder must skip both to find later fields.
 */
#include <string.h>

#include "internal.h"

static void
add(tmpl_def *t, uint16_t ie, uint16_t len, uint32_t pen, fkind kind)
{
    tfield *f = &t->f[t->nfields++];
    f->ie = ie;
    f->len = len;
    f->pen = pen;
    f->kind = (uint8_t)kind;
    if (len == FLOWGEN_VARLEN) {
        t->has_varlen = true;
        t->max_rec += 1 + TRAFFIC_IFNAME_MAX; /* short length form: names are < 255 */
    } else {
        t->rec_fixed += len;
        t->max_rec += len;
    }
}

void
tmpl_build(tmpl_def *t, uint8_t version, bool v6, bool sampled, bool varlen)
{
    bool ipfix = version == NF_FLOW_IPFIX;
    uint16_t counter = ipfix ? 8 : 4;
    memset(t, 0, sizeof(*t));
    t->id = v6 ? TMPL_ID_V6 : TMPL_ID_V4;
    if (v6) {
        add(t, 27, 16, 0, K_SRC6); /* sourceIPv6Address / IPV6_SRC_ADDR */
        add(t, 28, 16, 0, K_DST6); /* destinationIPv6Address / IPV6_DST_ADDR */
        add(t, 62, 16, 0, K_NH6);  /* ipNextHopIPv6Address / IPV6_NEXT_HOP */
    } else {
        add(t, 8, 4, 0, K_SRC4);  /* sourceIPv4Address / IPV4_SRC_ADDR */
        add(t, 12, 4, 0, K_DST4); /* destinationIPv4Address / IPV4_DST_ADDR */
        add(t, 15, 4, 0, K_NH4);  /* ipNextHopIPv4Address / IPV4_NEXT_HOP */
    }
    add(t, 10, 4, 0, K_IN_IF);        /* ingressInterface / INPUT_SNMP */
    add(t, 14, 4, 0, K_OUT_IF);       /* egressInterface / OUTPUT_SNMP */
    add(t, 2, counter, 0, K_PACKETS); /* packetDeltaCount / IN_PKTS */
    add(t, 1, counter, 0, K_BYTES);   /* octetDeltaCount / IN_BYTES */
    if (ipfix) {
        add(t, 1, 4, FLOWGEN_PEN, K_APP_ID); /* enterprise element: must be skipped */
        add(t, 152, 8, 0, K_FIRST_MS);       /* flowStartMilliseconds */
        add(t, 153, 8, 0, K_LAST_MS);        /* flowEndMilliseconds */
    } else {
        add(t, 22, 4, 0, K_FIRST_UPTIME); /* FIRST_SWITCHED */
        add(t, 21, 4, 0, K_LAST_UPTIME);  /* LAST_SWITCHED */
    }
    add(t, 7, 2, 0, K_SRC_PORT);                    /* sourceTransportPort / L4_SRC_PORT */
    add(t, 11, 2, 0, K_DST_PORT);                   /* destinationTransportPort */
    add(t, (ipfix && v6) ? 139 : 32, 2, 0, K_ICMP); /* icmpTypeCode / ICMP_TYPE */
    add(t, 4, 1, 0, K_PROTO);                       /* protocolIdentifier / PROTOCOL */
    if (ipfix && varlen)
        add(t, 82, FLOWGEN_VARLEN, 0, K_IFNAME); /* interfaceName (string) */
    add(t, 6, ipfix ? 2 : 1, 0, K_TCP_FLAGS);    /* tcpControlBits (RFC 7125: 2 bytes) */
    add(t, 5, 1, 0, K_TOS);                      /* ipClassOfService / SRC_TOS */
    add(t, v6 ? 29 : 9, 1, 0, K_SRC_MASK);       /* source prefix length */
    add(t, v6 ? 30 : 13, 1, 0, K_DST_MASK);      /* destination prefix length */
    add(t, 16, 4, 0, K_SRC_AS);                  /* bgpSourceAsNumber / SRC_AS */
    add(t, 17, 4, 0, K_DST_AS);                  /* bgpDestinationAsNumber / DST_AS */
    if (!ipfix && sampled)
        add(t, 48, 1, 0, K_SAMPLER_ID); /* FLOW_SAMPLER_ID */
}

size_t
tmpl_write(const tmpl_def *t, uint8_t version, uint8_t *p)
{
    uint8_t *start = p;
    put16(p, t->id);
    put16(p + 2, t->nfields);
    p += 4;
    for (uint16_t i = 0; i < t->nfields; i++) {
        const tfield *f = &t->f[i];
        bool ent = version == NF_FLOW_IPFIX && f->pen != 0;
        put16(p, (uint16_t)(f->ie | (ent ? 0x8000u : 0)));
        put16(p + 2, f->len);
        p += 4;
        if (ent) {
            put32(p, f->pen);
            p += 4;
        }
    }
    return (size_t)(p - start);
}

static inline void
put_uint(uint8_t *p, uint64_t v, uint16_t len)
{
    switch (len) {
    case 1:
        p[0] = (uint8_t)v;
        break;
    case 2:
        put16(p, (uint16_t)v);
        break;
    case 4:
        put32(p, (uint32_t)v);
        break;
    default:
        put64(p, v);
        break;
    }
}

size_t
record_write(const tmpl_def *t, const gen_flow *g, uint64_t boot_ms, uint8_t *p)
{
    const nf_flow *f = &g->f;
    uint8_t *start = p;
    for (uint16_t i = 0; i < t->nfields; i++) {
        const tfield *fd = &t->f[i];
        switch ((fkind)fd->kind) {
        case K_SRC4:
            memcpy(p, f->src_addr + 12, 4);
            break;
        case K_DST4:
            memcpy(p, f->dst_addr + 12, 4);
            break;
        case K_NH4:
            memcpy(p, f->next_hop + 12, 4);
            break;
        case K_SRC6:
            memcpy(p, f->src_addr, 16);
            break;
        case K_DST6:
            memcpy(p, f->dst_addr, 16);
            break;
        case K_NH6:
            memcpy(p, f->next_hop, 16);
            break;
        case K_IN_IF:
            put_uint(p, f->in_if, fd->len);
            break;
        case K_OUT_IF:
            put_uint(p, f->out_if, fd->len);
            break;
        case K_PACKETS:
            put_uint(p, f->packets, fd->len);
            break;
        case K_BYTES:
            put_uint(p, f->bytes, fd->len);
            break;
        case K_FIRST_UPTIME:
            put32(p, (uint32_t)(f->first_ms - boot_ms));
            break;
        case K_LAST_UPTIME:
            put32(p, (uint32_t)(f->last_ms - boot_ms));
            break;
        case K_FIRST_MS:
            put64(p, f->first_ms);
            break;
        case K_LAST_MS:
            put64(p, f->last_ms);
            break;
        case K_SRC_PORT:
            put16(p, f->src_port);
            break;
        case K_DST_PORT:
            put16(p, g->is_icmp ? 0 : f->dst_port);
            break;
        case K_ICMP:
            put16(p, g->is_icmp ? f->dst_port : 0);
            break;
        case K_PROTO:
            p[0] = f->protocol;
            break;
        case K_TCP_FLAGS:
            put_uint(p, f->tcp_flags, fd->len);
            break;
        case K_TOS:
            p[0] = f->tos;
            break;
        case K_SRC_MASK:
            p[0] = f->src_mask;
            break;
        case K_DST_MASK:
            p[0] = f->dst_mask;
            break;
        case K_SRC_AS:
            put32(p, f->src_as);
            break;
        case K_DST_AS:
            put32(p, f->dst_as);
            break;
        case K_SAMPLER_ID:
            p[0] = SAMPLER_ID;
            break;
        case K_APP_ID:
            put32(p, g->app_id);
            break;
        case K_IFNAME: {
            const char *name = traffic_ifname(g->ifname);
            size_t n = strlen(name);
            p[0] = (uint8_t)n;
            memcpy(p + 1, name, n);
            p += 1 + n;
            continue;
        }
        }
        p += fd->len;
    }
    return (size_t)(p - start);
}

size_t
record_len(const tmpl_def *t, const gen_flow *g)
{
    /* The only variable-length field is the interface name. */
    return t->rec_fixed + (t->has_varlen ? 1 + strlen(traffic_ifname(g->ifname)) : 0);
}

void
v5_record_write(const gen_flow *g, uint64_t boot_ms, uint8_t *p)
{
    const nf_flow *f = &g->f;
    memcpy(p, f->src_addr + 12, 4);
    memcpy(p + 4, f->dst_addr + 12, 4);
    memcpy(p + 8, f->next_hop + 12, 4);
    put16(p + 12, (uint16_t)f->in_if);
    put16(p + 14, (uint16_t)f->out_if);
    put32(p + 16, (uint32_t)f->packets);
    put32(p + 20, (uint32_t)f->bytes);
    put32(p + 24, (uint32_t)(f->first_ms - boot_ms));
    put32(p + 28, (uint32_t)(f->last_ms - boot_ms));
    put16(p + 32, f->src_port);
    put16(p + 34, f->dst_port); /* ICMP: type*256+code, as v5 exporters do */
    p[36] = 0;
    p[37] = f->tcp_flags;
    p[38] = f->protocol;
    p[39] = f->tos;
    put16(p + 40, (uint16_t)f->src_as);
    put16(p + 42, (uint16_t)f->dst_as);
    p[44] = f->src_mask;
    p[45] = f->dst_mask;
    p[46] = 0;
    p[47] = 0;
}

/* flow_json.c — JSON text of a flow record. See flow_json.h. */
#include "flow_json.h"

#include <inttypes.h>
#include <stdio.h>

#include "../base/addr.h"

const char *
nf_flow_type_name(unsigned flow_type)
{
    switch (flow_type) {
    case NF_FLOW_V5:
        return "v5";
    case NF_FLOW_V9:
        return "v9";
    case NF_FLOW_IPFIX:
        return "ipfix";
    default:
        return "unknown";
    }
}

size_t
nf_flow_to_json(const nf_flow *f, char *buf, size_t len)
{
    char src[NF_ADDR_STRLEN], dst[NF_ADDR_STRLEN], nh[NF_ADDR_STRLEN], exp[NF_ADDR_STRLEN];
    int n = snprintf(
        buf, len,
        "{\"src_addr\":\"%s\",\"dst_addr\":\"%s\",\"src_port\":%u,\"dst_port\":%u,"
        "\"protocol\":%u,\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 ",\"tcp_flags\":%u,"
        "\"tos\":%u,\"in_if\":%" PRIu32 ",\"out_if\":%" PRIu32 ",\"src_as\":%" PRIu32
        ",\"dst_as\":%" PRIu32 ",\"src_mask\":%u,\"dst_mask\":%u,\"next_hop\":\"%s\","
        "\"first_ms\":%" PRIu64 ",\"last_ms\":%" PRIu64 ",\"received_ms\":%" PRIu64
        ",\"exporter\":\"%s\",\"domain\":%" PRIu32 ",\"sampling_rate\":%" PRIu32
        ",\"ip_version\":%u,\"flow_type\":\"%s\"}",
        nf_addr_format(f->src_addr, src), nf_addr_format(f->dst_addr, dst), f->src_port,
        f->dst_port, f->protocol, f->bytes, f->packets, f->tcp_flags, f->tos, f->in_if,
        f->out_if, f->src_as, f->dst_as, f->src_mask, f->dst_mask,
        nf_addr_format(f->next_hop, nh), f->first_ms, f->last_ms, f->received_ms,
        nf_addr_format(f->exporter, exp), f->domain, f->sampling_rate, f->ip_version,
        nf_flow_type_name(f->flow_type));
    if (n < 0)
        return 0;
    return (size_t)n < len ? (size_t)n : len - 1;
}

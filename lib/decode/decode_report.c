/* decode_report.c — JSON views of decoder state. See decode_report.h. */
#include "decode_report.h"

#include "../base/addr.h"
#include "../flow/flow_json.h"

json_t *
nf_decode_counters_json(const nf_decode_counters *c)
{
    json_t *errors = json_object();
    for (int r = 0; r < NF_DROP_REASON_COUNT; r++)
        json_object_set_new(errors, nf_drop_reason_name((nf_drop_reason)r),
                            json_integer((json_int_t)c->errors[r]));
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}",
                     "packets", (json_int_t)c->packets, "packets_v5", (json_int_t)c->packets_v5,
                     "packets_v9", (json_int_t)c->packets_v9, "packets_ipfix",
                     (json_int_t)c->packets_ipfix, "flows", (json_int_t)c->flows,
                     "options_records", (json_int_t)c->options_records, "templates_learnt",
                     (json_int_t)c->templates_learnt, "templates_withdrawn",
                     (json_int_t)c->templates_withdrawn, "enterprise_values",
                     (json_int_t)c->enterprise_values, "backlog_queued",
                     (json_int_t)c->backlog_queued, "backlog_decoded",
                     (json_int_t)c->backlog_decoded, "seq_lost_packets",
                     (json_int_t)c->seq_lost_packets, "seq_lost_flows",
                     (json_int_t)c->seq_lost_flows, "seq_resets", (json_int_t)c->seq_resets,
                     "errors", errors);
}

json_t *
nf_exporters_json(const nf_exporter_info *xs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const nf_exporter_info *x = &xs[i];
        char addr[NF_ADDR_STRLEN];
        json_array_append_new(
            arr, json_pack("{s:s,s:i,s:s,s:I,s:I,s:I,s:I,s:i,s:i,s:I,s:I,s:I,s:I,s:I}",
                           "address", nf_addr_format(x->addr, addr), "port", x->last_port,
                           "protocol", nf_flow_type_name(x->version), "domain",
                           (json_int_t)x->domain, "packets", (json_int_t)x->packets, "flows",
                           (json_int_t)x->flows, "options_records",
                           (json_int_t)x->options_records, "templates", (int)x->templates,
                           "backlog_sets", (int)x->backlog_sets, "sampling_rate",
                           (json_int_t)x->sampling_rate, "sequence_lost", (json_int_t)x->seq_lost,
                           "sequence_reordered", (json_int_t)x->seq_reordered,
                           "sequence_resets", (json_int_t)x->seq_resets, "last_seen_ms",
                           (json_int_t)x->last_seen_ms));
    }
    return arr;
}

void
nf_decode_counters_add(nf_decode_counters *a, const nf_decode_counters *b)
{
    a->packets += b->packets;
    a->packets_v5 += b->packets_v5;
    a->packets_v9 += b->packets_v9;
    a->packets_ipfix += b->packets_ipfix;
    a->flows += b->flows;
    a->options_records += b->options_records;
    a->templates_learnt += b->templates_learnt;
    a->templates_withdrawn += b->templates_withdrawn;
    a->enterprise_values += b->enterprise_values;
    a->backlog_queued += b->backlog_queued;
    a->backlog_decoded += b->backlog_decoded;
    a->seq_lost_packets += b->seq_lost_packets;
    a->seq_lost_flows += b->seq_lost_flows;
    a->seq_resets += b->seq_resets;
    for (int r = 0; r < NF_DROP_REASON_COUNT; r++)
        a->errors[r] += b->errors[r];
}

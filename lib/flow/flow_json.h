/* flow_json.h — one flow record as one line of JSON, for flowdump, logs and tests.
 *
 * Keys are stable (tests and operators' scripts parse them): src_addr, dst_addr, src_port,
 * dst_port, protocol, bytes, packets, tcp_flags, tos, in_if, out_if, src_as, dst_as,
 * src_mask, dst_mask, next_hop, first_ms, last_ms, received_ms, exporter, domain,
 * sampling_rate, ip_version, flow_type ("v5", "v9", "ipfix").
 */
#ifndef NFX_LIB_FLOW_FLOW_JSON_H
#define NFX_LIB_FLOW_FLOW_JSON_H

#include <stddef.h>

#include "flow.h"

#define NF_FLOW_JSON_MAX 640 /* enough for every key with its longest value */

/* Writes the JSON object (no newline) into buf of size len (>= NF_FLOW_JSON_MAX for a
 * guaranteed fit). Returns the length written, excluding the NUL. */
size_t nf_flow_to_json(const nf_flow *f, char *buf, size_t len);

/* "v5", "v9", "ipfix" or "unknown". */
const char *nf_flow_type_name(unsigned flow_type);

#endif

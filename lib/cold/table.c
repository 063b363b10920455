/* table.c — the cold tier's flow table definition (see table.h). The JSON texts are
 * written out by hand next to the column table; table_test checks they agree. */
#include "table.h"

#include <string.h>

const nf_cold_column nf_cold_columns[NF_COLD_NCOLUMNS] = {
    {NF_COLD_TIMESTAMP, "timestamp", NF_ICE_TIMESTAMPTZ, "timestamptz", "TIMESTAMPTZ"},
    {NF_COLD_SRC_IP, "src_ip", NF_ICE_STRING, "string", "VARCHAR"},
    {NF_COLD_DST_IP, "dst_ip", NF_ICE_STRING, "string", "VARCHAR"},
    {NF_COLD_SRC_PORT, "src_port", NF_ICE_INT, "int", "INTEGER"},
    {NF_COLD_DST_PORT, "dst_port", NF_ICE_INT, "int", "INTEGER"},
    {NF_COLD_PROTOCOL, "protocol", NF_ICE_INT, "int", "INTEGER"},
    {NF_COLD_BYTES, "bytes", NF_ICE_LONG, "long", "BIGINT"},
    {NF_COLD_PACKETS, "packets", NF_ICE_LONG, "long", "BIGINT"},
    {NF_COLD_TCP_FLAGS, "tcp_flags", NF_ICE_INT, "int", "INTEGER"},
    {NF_COLD_TOS, "tos", NF_ICE_INT, "int", "INTEGER"},
    {NF_COLD_EXPORTER_IP, "exporter_ip", NF_ICE_STRING, "string", "VARCHAR"},
    {NF_COLD_OBSERVATION_DOMAIN, "observation_domain", NF_ICE_LONG, "long", "BIGINT"},
    {NF_COLD_SAMPLING_RATE, "sampling_rate", NF_ICE_LONG, "long", "BIGINT"},
    {NF_COLD_IN_IF, "in_if", NF_ICE_LONG, "long", "BIGINT"},
    {NF_COLD_OUT_IF, "out_if", NF_ICE_LONG, "long", "BIGINT"},
    {NF_COLD_SRC_AS, "src_as", NF_ICE_LONG, "long", "BIGINT"},
    {NF_COLD_DST_AS, "dst_as", NF_ICE_LONG, "long", "BIGINT"},
    {NF_COLD_SRC_MASK, "src_mask", NF_ICE_INT, "int", "INTEGER"},
    {NF_COLD_DST_MASK, "dst_mask", NF_ICE_INT, "int", "INTEGER"},
    {NF_COLD_NEXT_HOP_IP, "next_hop_ip", NF_ICE_STRING, "string", "VARCHAR"},
    {NF_COLD_FLOW_START, "flow_start", NF_ICE_TIMESTAMPTZ, "timestamptz", "TIMESTAMPTZ"},
    {NF_COLD_FLOW_END, "flow_end", NF_ICE_TIMESTAMPTZ, "timestamptz", "TIMESTAMPTZ"},
    {NF_COLD_FLOW_TYPE, "flow_type", NF_ICE_INT, "int", "INTEGER"},
    {NF_COLD_AGENT_ID, "agent_id", NF_ICE_STRING, "string", "VARCHAR"},
};

const nf_ice_spec nf_cold_spec = {
    .spec_id = 0,
    .transform = NF_ICE_DAY,
    .source_id = NF_COLD_TIMESTAMP,
    .field_id = 1000,
    .name = "timestamp_day",
};

#define F(id, name, type) "{\"id\":" #id ",\"name\":\"" name "\",\"required\":false,\"type\":\"" type "\"}"

const char nf_cold_schema_json[] =
    "{\"type\":\"struct\",\"schema-id\":0,\"fields\":["
    F(1, "timestamp", "timestamptz") "," F(2, "src_ip", "string") "," F(3, "dst_ip", "string") ","
    F(4, "src_port", "int") "," F(5, "dst_port", "int") "," F(6, "protocol", "int") ","
    F(7, "bytes", "long") "," F(8, "packets", "long") "," F(9, "tcp_flags", "int") ","
    F(10, "tos", "int") "," F(11, "exporter_ip", "string") ","
    F(12, "observation_domain", "long") "," F(13, "sampling_rate", "long") ","
    F(14, "in_if", "long") "," F(15, "out_if", "long") "," F(16, "src_as", "long") ","
    F(17, "dst_as", "long") "," F(18, "src_mask", "int") "," F(19, "dst_mask", "int") ","
    F(20, "next_hop_ip", "string") "," F(21, "flow_start", "timestamptz") ","
    F(22, "flow_end", "timestamptz") "," F(23, "flow_type", "int") ","
    F(24, "agent_id", "string") "]}";

#undef F

const char nf_cold_spec_json[] =
    "{\"spec-id\":0,\"fields\":[{\"name\":\"timestamp_day\",\"transform\":\"day\","
    "\"source-id\":1,\"field-id\":1000}]}";

const char nf_cold_sort_order_json[] =
    "{\"order-id\":1,\"fields\":[{\"transform\":\"identity\",\"source-id\":1,"
    "\"direction\":\"asc\",\"null-order\":\"nulls-first\"}]}";

const char nf_cold_properties_json[] =
    "{\"format-version\":\"2\",\"write.format.default\":\"parquet\","
    "\"write.parquet.compression-codec\":\"zstd\","
    "\"history.expire.max-snapshot-age-ms\":\"604800000\","
    "\"history.expire.min-snapshots-to-keep\":\"1\"}";

nf_ice_type
nf_cold_type_of(int32_t field_id)
{
    if (field_id < 1 || field_id > NF_COLD_NCOLUMNS)
        return 0;
    return nf_cold_columns[field_id - 1].type;
}

const nf_cold_column *
nf_cold_column_named(const char *name)
{
    for (size_t i = 0; i < NF_COLD_NCOLUMNS; i++)
        if (strcmp(nf_cold_columns[i].name, name) == 0)
            return &nf_cold_columns[i];
    return NULL;
}

/* checker_config.c — the NetFlow checker's config table. See checker_config.h. */
#include "checker_config.h"

#include <stddef.h>

#define F(key, type, field, def, min, max, help) \
    {key, type, offsetof(nf_checker_config, field), def, min, max, NULL, NULL, help}
#define D(key, type, field, def, min, max, help)                                            \
    {key, type, offsetof(nf_checker_config, decoder.field) -                                \
                    offsetof(nf_checker_config, decoder),                                   \
     def, min, max, NULL, NULL, help}

static const char *const log_levels[] = {"debug", "info", "warn", "warning", "error", NULL};

static const nf_cfg_field decoder_table[] = {
    D("max_exporters", NF_CFG_UINT, max_exporters, "4096", 1, 1u << 24,
      "exporter keys (address, version, domain) held"),
    D("max_templates", NF_CFG_UINT, max_templates, "1024", 1, 65535,
      "templates held per exporter key"),
    D("backlog_sets", NF_CFG_UINT, backlog_sets, "256", 0, 65536,
      "data sets held per exporter until their template arrives; 0 = drop at once"),
    D("backlog_bytes", NF_CFG_SIZE, backlog_bytes, "64KiB", 0, 64u << 20,
      "bytes of such data sets held per exporter"),
    D("backlog_max_age", NF_CFG_DURATION, backlog_max_age_ms, "60s", 1, 3600000,
      "held data sets older than this are dropped and counted"),
    D("exporter_idle", NF_CFG_DURATION, exporter_idle_ms, "24h", 1000, 0,
      "exporters silent this long are forgotten"),
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

const nf_cfg_field nf_checker_config_table[] = {
    {"listen_addr", NF_CFG_STRING, offsetof(nf_checker_config, listen_addr), ":2055", 0, 0, NULL,
     NULL, "UDP host:port for NetFlow v5/v9/IPFIX; \":2055\" = every address",
     nf_cfg_check_hostport},
    F("retention_time", NF_CFG_DURATION, retention_ms, "1h", 1000, 0,
      "records older than this leave the in-memory ring"),
    F("max_records", NF_CFG_UINT, max_records, "100000", 1, 1u << 28,
      "records held in memory, 144 bytes each"),
    F("receive_sockets", NF_CFG_UINT, receive_sockets, "0", 0, 64,
      "SO_REUSEPORT sockets, one decode worker each; 0 = one per CPU, at most 8"),
    F("receive_buffer", NF_CFG_SIZE, receive_buffer, "32MiB", 65536, 1u << 30,
      "kernel receive buffer per socket"),
    F("state_file", NF_CFG_STRING, state_file, "/var/lib/serviceradar/netflow-checker.state",
      0, 0, "where templates and sampling rates are kept across restarts; \"\" = nowhere"),
    F("state_interval", NF_CFG_DURATION, state_interval_ms, "30s", 1000, 0,
      "how often the state file is rewritten"),
    {"metrics_addr", NF_CFG_STRING, offsetof(nf_checker_config, metrics_addr), "127.0.0.1:9191",
     0, 0, NULL, NULL, "host:port serving Prometheus /metrics; \"\" = off",
     nf_cfg_check_hostport_or_empty},
    {"grpc_listen_addr", NF_CFG_STRING, offsetof(nf_checker_config, grpc_listen_addr),
     "127.0.0.1:50057", 0, 0, NULL, NULL,
     "host:port of the AgentService the agent calls (mTLS per security); \"\" = off",
     nf_cfg_check_hostport_or_empty},
    F("batch_size", NF_CFG_UINT, batch_size, "1000", 1, 10000,
      "records per FlowBatch when the request does not ask for a size"),
    F("rpc_threads", NF_CFG_UINT, rpc_threads, "4", 1, 64,
      "gRPC calls served at once"),
    {"log_level", NF_CFG_STRING, offsetof(nf_checker_config, log_level), "info", 0, 0, NULL,
     log_levels, "debug, info, warn or error"},
    {"decoder", NF_CFG_OBJECT, offsetof(nf_checker_config, decoder), NULL, 0, 0, decoder_table,
     NULL, "decoder limits"},
    {"security", NF_CFG_OBJECT, offsetof(nf_checker_config, security), NULL, 0, 0,
     nf_security_table, NULL, "ServiceRadar security block (mTLS for the gRPC side)"},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

/* checker_config.h — /etc/serviceradar/checkers/netflow.json, the NetFlow checker's config.
 *
 * Keys of PRD §7.1 (listen_addr, retention_time, max_records, security) plus the receive,
 * decoder, state and metrics settings an operator needs. Every key, its default and its
 * bounds are in the table in checker_config.c; `serviceradar-netflow-checker --help-config`
 * prints them.
 */
#ifndef NFX_LIB_COLLECTOR_CHECKER_CONFIG_H
#define NFX_LIB_COLLECTOR_CHECKER_CONFIG_H

#include <stdint.h>

#include "../config/config.h"

typedef struct nf_checker_config {
    char *listen_addr;          /* UDP address for NetFlow/IPFIX, ":2055" */
    uint64_t retention_ms;      /* records older than this leave the ring ("1h") */
    uint64_t max_records;       /* ring capacity (100000 = 14.4 MB) */
    uint64_t receive_sockets;   /* SO_REUSEPORT sockets/workers; 0 = one per CPU, at most 8 */
    uint64_t receive_buffer;    /* SO_RCVBUF per socket, bytes ("32MiB") */
    char *state_file;           /* templates and sampling rates survive restarts; "" = off */
    uint64_t state_interval_ms; /* how often the state file is rewritten ("30s") */
    char *metrics_addr;         /* Prometheus /metrics listen address; "" = off */
    char *grpc_listen_addr;     /* AgentService (gRPC) for the agent; "" = off */
    uint64_t batch_size;        /* records per FlowBatch when a request does not say */
    uint64_t rpc_threads;       /* gRPC worker threads (concurrent calls) */
    char *log_level;            /* debug, info, warn, error */
    struct {
        uint64_t max_exporters;      /* exporter keys (address, version, domain) */
        uint64_t max_templates;      /* per exporter key */
        uint64_t backlog_sets;       /* data sets held per exporter until their template */
        uint64_t backlog_bytes;      /* bytes held per exporter */
        uint64_t backlog_max_age_ms; /* held sets older than this are dropped */
        uint64_t exporter_idle_ms;   /* silent exporters are forgotten after this */
    } decoder;
    nf_security_config security; /* gRPC side (next stage); validated now */
} nf_checker_config;

extern const nf_cfg_field nf_checker_config_table[];

#define NF_CHECKER_CONFIG_PATH "/etc/serviceradar/checkers/netflow.json"

#endif

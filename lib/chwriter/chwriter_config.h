/* chwriter_config.h — /etc/serviceradar/netflow-clickhouse.json, the ClickHouse writer's
 * config.
 *
 *   {
 *     "nats_url": "tls://nats.example:4222",
 *     "clickhouse_url": "http://localhost:8123",
 *     "clickhouse_user": "netflow_writer", "clickhouse_password": "…",
 *     "batch_size": 10000,
 *     "security": {...}                         (TLS towards NATS)
 *   }
 *
 * nats_url, clickhouse_url, batch_size and security are the PRD's keys (§7.3). One deliberate
 * difference: the PRD's example URL is the native protocol's (tcp://host:9000); the writer
 * speaks ClickHouse's HTTP interface (ARCHITECTURE.md §2), so the URL is http://host:8123,
 * and a tcp:// URL is refused with a message saying so.
 */
#ifndef NFX_LIB_CHWRITER_CHWRITER_CONFIG_H
#define NFX_LIB_CHWRITER_CHWRITER_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../config/config.h"

typedef struct nf_chwriter_config {
    char *nats_url;
    nf_security_config security;   /* towards NATS */
    char *clickhouse_url;          /* http://host:port */
    char *clickhouse_user;
    char *clickhouse_password;
    char *clickhouse_database;     /* "netflow" */
    uint64_t clickhouse_timeout_ms;
    uint64_t batch_size;           /* records per INSERT at most */
    uint64_t batch_interval_ms;    /* longest a record waits before its INSERT */
    uint64_t retention_ms;         /* whole days */
    char *stream;                  /* "NETFLOW" */
    char *subject;                 /* "netflow.raw" */
    char *consumer;                /* durable name, "clickhouse" */
    uint64_t ack_wait_ms;          /* JetStream redelivers what is not acked by then */
    uint64_t max_ack_pending;      /* messages held un-acked at most */
    char *dead_letter_subject;     /* "netflow.deadletter" */
    char *dead_letter_stream;      /* "NETFLOW_DEADLETTER" */
    uint64_t dead_letter_max_age_ms;
    uint64_t backoff_min_ms;
    uint64_t backoff_max_ms;
    char *metrics_addr;
    char *log_level;
} nf_chwriter_config;

extern const nf_cfg_field nf_chwriter_config_table[];

#define NF_CHWRITER_CONFIG_PATH "/etc/serviceradar/netflow-clickhouse.json"

/* Loads path (missing_ok: defaults if absent) and checks what the table cannot: the URL
 * scheme, the database name, ack_wait against the batch interval and the ClickHouse timeout.
 * Errors name the file and the key. Free with nf_chwriter_config_free. */
nf_status nf_chwriter_config_load(const char *path, bool missing_ok, nf_chwriter_config *out,
                                  nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err);

void nf_chwriter_config_free(nf_chwriter_config *c);

#endif

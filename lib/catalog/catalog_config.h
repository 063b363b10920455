/* catalog_config.h — /etc/serviceradar/iceberg-catalog.json, the Iceberg REST catalog's
 * config.
 *
 *   {
 *     "listen_addr": "0.0.0.0:8181",
 *     "warehouse": "file:///var/lib/serviceradar/iceberg",
 *     "database": "/var/lib/serviceradar/iceberg-catalog.db",
 *     "max_body_bytes": "16MiB",
 *     "metrics_addr": ":9197",
 *     "log_level": "info",
 *     "security": {"mode": "mtls", "cert_dir": "/etc/serviceradar/certs",
 *                  "tls": {"cert_file": "catalog.pem", "key_file": "catalog-key.pem",
 *                          "ca_file": "root.pem"}}
 *   }
 *
 * The PRD shows the catalog on port 8080; 8181 (the Iceberg REST catalog's usual port) is
 * only a different default. warehouse is where new tables go: <warehouse>/<ns>/<table>;
 * only local file:/// warehouses are supported (the table files are written by this host).
 * With security.mode "mtls" the REST port speaks HTTPS and every request must carry a
 * client certificate signed by tls.client_ca_file (or tls.ca_file).
 */
#ifndef NFX_LIB_CATALOG_CATALOG_CONFIG_H
#define NFX_LIB_CATALOG_CATALOG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "../config/config.h"

typedef struct nf_catalog_config {
    char *listen_addr;         /* host:port of the REST API */
    char *warehouse;           /* "file:///abs/dir" where new tables are placed */
    char *database;            /* SQLite file holding namespaces and table pointers */
    uint64_t max_body_bytes;   /* largest request body accepted (413 beyond) */
    nf_security_config security;
    char *metrics_addr;        /* host:port of Prometheus /metrics; "" = off */
    char *log_level;
} nf_catalog_config;

extern const nf_cfg_field nf_catalog_config_table[];

#define NF_CATALOG_CONFIG_PATH "/etc/serviceradar/iceberg-catalog.json"

/* Loads path (missing_ok: defaults if absent) and checks what the table cannot (the
 * warehouse URI, the database path). Errors name the file and the key. *out is written on
 * every call; on NF_OK free it with nf_catalog_config_free. */
nf_status nf_catalog_config_load(const char *path, bool missing_ok, nf_catalog_config *out,
                                 nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err);

/* Frees the strings of c (not c). */
void nf_catalog_config_free(nf_catalog_config *c);

#endif

/* catalog_config.c — the catalog's config table. See catalog_config.h. */
#include "catalog_config.h"

#include <stdio.h>
#include <string.h>

static const char *const log_levels[] = {"debug", "info", "warn", "warning", "error", NULL};

/* A warehouse is a local directory given as an absolute file:/// URI: table locations and
 * every path in their metadata are URIs with a scheme (iceberg-notes.md). */
static bool
check_warehouse(const char *v, char *why, size_t why_len)
{
    if (strncmp(v, "file:///", 8) != 0) {
        snprintf(why, why_len, "\"%s\" is not a file:/// URI of an absolute directory", v);
        return false;
    }
    size_t n = strlen(v);
    if (strstr(v, "/../") != NULL || strstr(v, "/./") != NULL ||
        (n >= 3 && strcmp(v + n - 3, "/..") == 0)) {
        snprintf(why, why_len, "\"%s\" contains . or .. segments", v);
        return false;
    }
    return true;
}

static bool
check_nonempty(const char *v, char *why, size_t why_len)
{
    if (v[0] == '\0') {
        snprintf(why, why_len, "must not be empty");
        return false;
    }
    return true;
}

const nf_cfg_field nf_catalog_config_table[] = {
    {"listen_addr", NF_CFG_STRING, offsetof(nf_catalog_config, listen_addr), "0.0.0.0:8181",
     0, 0, NULL, NULL, "host:port of the Iceberg REST API", nf_cfg_check_hostport},
    {"warehouse", NF_CFG_STRING, offsetof(nf_catalog_config, warehouse),
     "file:///var/lib/serviceradar/iceberg", 0, 0, NULL, NULL,
     "file:/// directory where new tables go (<warehouse>/<namespace>/<table>)",
     check_warehouse},
    {"database", NF_CFG_STRING, offsetof(nf_catalog_config, database),
     "/var/lib/serviceradar/iceberg-catalog.db", 0, 0, NULL, NULL,
     "SQLite file holding namespaces and table metadata pointers", check_nonempty},
    /* 16 MiB: a commit carries a few updates (KiB); a created schema or a registered
     * table's request is small too. The bound protects memory against a hostile client. */
    {"max_body_bytes", NF_CFG_SIZE, offsetof(nf_catalog_config, max_body_bytes), "16MiB", 1024,
     1024ull * 1024 * 1024, NULL, NULL, "largest request body accepted (413 beyond)", NULL},
    {"security", NF_CFG_OBJECT, offsetof(nf_catalog_config, security), NULL, 0, 0,
     nf_security_table, NULL, "mTLS of the REST API (mode mtls: HTTPS + client certificates)",
     NULL},
    {"metrics_addr", NF_CFG_STRING, offsetof(nf_catalog_config, metrics_addr), ":9197", 0, 0,
     NULL, NULL, "host:port serving Prometheus /metrics; \"\" = off",
     nf_cfg_check_hostport_or_empty},
    {"log_level", NF_CFG_STRING, offsetof(nf_catalog_config, log_level), "info", 0, 0, NULL,
     log_levels, "debug, info, warn or error", NULL},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

nf_status
nf_catalog_config_load(const char *path, bool missing_ok, nf_catalog_config *out,
                       nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    nf_status st = nf_cfg_load_file(path, missing_ok, nf_catalog_config_table, out, warn,
                                    warn_ctx, err);
    if (st != NF_OK)
        return st;
    const char *key = NULL, *why = NULL;
    const nf_security_config *sec = &out->security;
    if (strcmp(sec->mode, "mtls") == 0) {
        if (sec->tls.cert_file[0] == '\0')
            key = "security.tls.cert_file", why = "required when security.mode is mtls";
        else if (sec->tls.key_file[0] == '\0')
            key = "security.tls.key_file", why = "required when security.mode is mtls";
        else if (sec->tls.ca_file[0] == '\0' && sec->tls.client_ca_file[0] == '\0')
            key = "security.tls.ca_file", why = "required when security.mode is mtls";
    }
    if (key != NULL) {
        nf_catalog_config_free(out);
        return nf_cfg_json_error(err, path, key, "%s", why);
    }
    return NF_OK;
}

void
nf_catalog_config_free(nf_catalog_config *c)
{
    nf_cfg_free(nf_catalog_config_table, c);
}

/* config.h — table-driven JSON configuration (the nginx model, on jansson).
 *
 * A daemon describes its config struct with a table of nf_cfg_field rows: key name, type,
 * offsetof() into the struct, default (as text, parsed by the same parser as file values),
 * bounds, and a one-line meaning. nf_cfg_load_file() then:
 *   1. sets every field from its default (a NULL default on a string = empty string);
 *   2. parses the file and overrides the keys present, recursing into nested objects;
 *   3. checks types and bounds, failing fast on the first bad value with an error that names
 *      the file and the full key path ("netflow.json: key 'security.tls.cert_file': ...").
 * Unknown keys are reported through the warn callback (a typo must be visible) but do not
 * fail: ServiceRadar configs carry keys that belong to other components.
 *
 * Ownership: string fields are char* allocated by the loader, owned by the struct; free
 * them all with nf_cfg_free(table, struct). The loaded struct is immutable afterwards; a
 * reload builds a new one.
 */
#ifndef NFX_LIB_CONFIG_CONFIG_H
#define NFX_LIB_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../base/nf_status.h"

typedef enum nf_cfg_type {
    NF_CFG_END = 0,   /* terminates a table */
    NF_CFG_STRING,    /* char*: JSON string */
    NF_CFG_UINT,      /* uint64_t: JSON integer (or a numeric string) in [min, max] */
    NF_CFG_DURATION,  /* uint64_t ms: JSON string "30s"/"5m"/"1h"/"500ms", in [min, max] */
    NF_CFG_SIZE,      /* uint64_t bytes: integer or "32MiB", in [min, max] */
    NF_CFG_BOOL,      /* bool: JSON true/false */
    NF_CFG_OBJECT,    /* nested object described by sub (a table), at offset */
    NF_CFG_JSON,      /* json_t* (jansson, a new reference; NULL if absent): a value of a
                       * shape the table cannot describe (maps, arrays), which the daemon
                       * checks itself — nf_cfg_json_error names the key in the same style */
} nf_cfg_type;

/* Optional check of a string value beyond its type: returns false and writes the reason
 * (why, why_len bytes) if the value is unusable. */
typedef bool nf_cfg_check_fn(const char *value, char *why, size_t why_len);

/* Checks for string fields: "host:port" with a numeric host (or empty = any) and port
 * 1..65535; the second also accepts "" (feature off). */
nf_cfg_check_fn nf_cfg_check_hostport;
nf_cfg_check_fn nf_cfg_check_hostport_or_empty;
/* A plain identifier [A-Za-z_][A-Za-z0-9_]* (a database name: needs no quoting in SQL). */
nf_cfg_check_fn nf_cfg_check_identifier;

typedef struct nf_cfg_field {
    const char *key;                 /* JSON key */
    nf_cfg_type type;
    size_t offset;                   /* offsetof(struct, field) */
    const char *def;                 /* default as text; NULL: "" for strings, 0 otherwise */
    uint64_t min, max;               /* bounds for UINT, DURATION (ms) and SIZE; max 0 = none */
    const struct nf_cfg_field *sub;  /* NF_CFG_OBJECT: the nested table */
    const char *const *choices;      /* NF_CFG_STRING: NULL-terminated allowed values, or NULL */
    const char *help;                /* what the key means (used in error messages) */
    nf_cfg_check_fn *check;          /* NF_CFG_STRING: further validation, or NULL */
} nf_cfg_field;

/* Called once per unknown key with its full path ("security.tlz"). */
typedef void nf_cfg_warn_fn(void *ctx, const char *file, const char *key);

/* An nf_cfg_warn_fn for daemons: logs "FILE: unknown key 'KEY' ignored" as a warning of the
 * component named by ctx (a const char *, e.g. "parquet-writer"). */
void nf_cfg_log_unknown_key(void *ctx, const char *file, const char *key);

/* Fills out (a struct described by table) from defaults and then from the JSON file at path.
 * A missing file is an error unless missing_ok, in which case defaults alone are used.
 * On failure the struct holds no allocated strings. */
nf_status nf_cfg_load_file(const char *path, bool missing_ok, const nf_cfg_field *table,
                           void *out, nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err);

/* Same from a JSON text (tests; name stands for the file in messages). */
nf_status nf_cfg_load_text(const char *name, const char *text, const nf_cfg_field *table,
                           void *out, nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err);

/* Formats a validation error about a key inside an NF_CFG_JSON value ("agents.edge-1.address")
 * the way the loader does: "FILE: key 'PATH': WHY". Returns NF_EINVAL. */
nf_status nf_cfg_json_error(nf_err *err, const char *file, const char *path, const char *fmt,
                            ...) __attribute__((format(printf, 4, 5)));

/* Frees the strings (and JSON values) of a struct filled by a load. NULL-safe on out. */
void nf_cfg_free(const nf_cfg_field *table, void *out);

/* Writes every key of table with its type, default and meaning, one per line, keys prefixed
 * by prefix ("" at the top) — for a daemon's --help-config. */
void nf_cfg_describe(FILE *out, const nf_cfg_field *table, const char *prefix);

/* The command line of a daemon that takes only [-c FILE] [--help-config]: -c sets *path
 * (borrowed from argv) and *path_given; --help-config describes table on stdout. Returns -1
 * to go on, else the exit status: 0 after --help-config, 2 after a usage line naming prog
 * on stderr. */
int nf_cfg_daemon_args(int argc, char **argv, const char *prog, const nf_cfg_field *table,
                       const char **path, bool *path_given);

/* ServiceRadar's "security" block, the same in every component's config. */
typedef struct nf_security_config {
    char *mode;        /* "mtls" or "none" */
    char *cert_dir;    /* directory that relative file names are joined to */
    char *server_name; /* name the client checks in the server's certificate */
    char *role;        /* agent, poller, checker, core, ... */
    struct {
        char *cert_file;      /* this component's certificate (PEM) */
        char *key_file;       /* its private key (PEM) */
        char *ca_file;        /* CA that signs the peer's certificate */
        char *client_ca_file; /* CA for client certificates (servers); "" = ca_file */
    } tls;
} nf_security_config;

/* Full path of a file named in the security block: absolute names as they are, relative ones
 * joined to sec->cert_dir; "" for an empty or NULL name. False (out = "") if it does not fit
 * in n bytes. */
bool nf_security_path(const nf_security_config *sec, const char *name, char *out, size_t n);

/* The client side of a security block as full paths ("" where not set): what a TLS client
 * (libcurl, e.g. an Iceberg REST catalog client) is given. */
typedef struct nf_security_files {
    char ca[1024], cert[1024], key[1024];
} nf_security_files;

/* Fills out from sec's tls.ca_file, cert_file and key_file (nf_security_path). False when a
 * path does not fit (that one is then ""). */
bool nf_security_files_get(const nf_security_config *sec, nf_security_files *out);

/* Table for nf_security_config, to embed with NF_CFG_OBJECT. */
extern const nf_cfg_field nf_security_table[];

#endif

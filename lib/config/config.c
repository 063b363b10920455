/* config.c — loading JSON configs through field tables. See config.h. */
#include "config.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../base/addr.h"
#include "../base/log.h"
#include "../base/parse.h"

#define KEY_PATH_MAX 256

typedef struct load_ctx {
    const char *file;
    nf_cfg_warn_fn *warn;
    void *warn_ctx;
    nf_err *err;
} load_ctx;

static void *
field_ptr(void *base, const nf_cfg_field *f)
{
    return (char *)base + f->offset;
}

static void
join_key(char *out, const char *prefix, const char *key)
{
    if (prefix[0] == '\0')
        snprintf(out, KEY_PATH_MAX, "%s", key);
    else
        snprintf(out, KEY_PATH_MAX, "%s.%s", prefix, key);
}

static nf_status
bad(load_ctx *lc, const char *path, const nf_cfg_field *f, const char *what)
{
    return nf_err_set(lc->err, NF_EINVAL, "%s: key '%s': %s (%s)", lc->file, path, what,
                      f->help ? f->help : "see the documentation");
}

static bool
in_bounds(const nf_cfg_field *f, uint64_t v)
{
    return v >= f->min && (f->max == 0 || v <= f->max);
}

static bool
choice_ok(const nf_cfg_field *f, const char *v)
{
    if (f->choices == NULL)
        return true;
    for (const char *const *c = f->choices; *c != NULL; c++)
        if (strcmp(*c, v) == 0)
            return true;
    return false;
}

/* Parses text into the field according to its type (defaults and string-valued JSON). */
static nf_status
set_from_text(load_ctx *lc, const char *path, const nf_cfg_field *f, void *base,
              const char *text)
{
    uint64_t v = 0;
    char why[160];
    switch (f->type) {
    case NF_CFG_STRING: {
        if (!choice_ok(f, text)) {
            snprintf(why, sizeof(why), "\"%s\" is not one of the allowed values", text);
            return bad(lc, path, f, why);
        }
        if (f->check != NULL && !f->check(text, why, sizeof(why)))
            return bad(lc, path, f, why);
        char *copy = strdup(text);
        if (copy == NULL)
            return nf_err_set(lc->err, NF_ENOMEM, "%s: out of memory", lc->file);
        char **slot = field_ptr(base, f);
        free(*slot);
        *slot = copy;
        return NF_OK;
    }
    case NF_CFG_UINT:
        if (!nf_parse_u64(text, 0, UINT64_MAX, &v))
            return bad(lc, path, f, "expected a non-negative integer");
        break;
    case NF_CFG_DURATION:
        if (!nf_parse_duration_ms(text, &v)) {
            snprintf(why, sizeof(why), "\"%s\" is not a duration like 500ms, 30s, 5m, 1h, 2d",
                     text);
            return bad(lc, path, f, why);
        }
        break;
    case NF_CFG_SIZE:
        if (!nf_parse_size(text, &v)) {
            snprintf(why, sizeof(why), "\"%s\" is not a size like 4096, 64KiB, 32MiB", text);
            return bad(lc, path, f, why);
        }
        break;
    case NF_CFG_BOOL:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
            return bad(lc, path, f, "expected true or false");
        *(bool *)field_ptr(base, f) = text[0] == 't';
        return NF_OK;
    default:
        return nf_err_set(lc->err, NF_EINTERNAL, "config: field '%s' has no text form", path);
    }
    if (!in_bounds(f, v)) {
        if (f->max != 0)
            snprintf(why, sizeof(why), "%llu is outside %llu..%llu", (unsigned long long)v,
                     (unsigned long long)f->min, (unsigned long long)f->max);
        else
            snprintf(why, sizeof(why), "%llu is below the minimum %llu", (unsigned long long)v,
                     (unsigned long long)f->min);
        return bad(lc, path, f, why);
    }
    *(uint64_t *)field_ptr(base, f) = v;
    return NF_OK;
}

static nf_status
apply_defaults(load_ctx *lc, const nf_cfg_field *table, void *base, const char *prefix)
{
    for (const nf_cfg_field *f = table; f->type != NF_CFG_END; f++) {
        char path[KEY_PATH_MAX];
        join_key(path, prefix, f->key);
        nf_status s = NF_OK;
        if (f->type == NF_CFG_OBJECT)
            s = apply_defaults(lc, f->sub, field_ptr(base, f), path);
        else if (f->def != NULL)
            s = set_from_text(lc, path, f, base, f->def);
        else if (f->type == NF_CFG_STRING)
            s = set_from_text(lc, path, f, base, "");
        if (s != NF_OK)
            return s;
    }
    return NF_OK;
}

static nf_status apply_object(load_ctx *lc, const nf_cfg_field *table, void *base,
                              const char *prefix, json_t *obj);

static nf_status
apply_value(load_ctx *lc, const char *path, const nf_cfg_field *f, void *base, json_t *v)
{
    char num[32];
    switch (f->type) {
    case NF_CFG_OBJECT:
        if (!json_is_object(v))
            return bad(lc, path, f, "expected an object");
        return apply_object(lc, f->sub, field_ptr(base, f), path, v);
    case NF_CFG_STRING:
        if (!json_is_string(v))
            return bad(lc, path, f, "expected a string");
        return set_from_text(lc, path, f, base, json_string_value(v));
    case NF_CFG_BOOL:
        if (!json_is_boolean(v))
            return bad(lc, path, f, "expected true or false");
        return set_from_text(lc, path, f, base, json_is_true(v) ? "true" : "false");
    case NF_CFG_UINT:
    case NF_CFG_SIZE:
        if (json_is_integer(v)) {
            if (json_integer_value(v) < 0)
                return bad(lc, path, f, "expected a non-negative number");
            snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(v));
            return set_from_text(lc, path, f, base, num);
        }
        if (json_is_string(v))
            return set_from_text(lc, path, f, base, json_string_value(v));
        return bad(lc, path, f, f->type == NF_CFG_SIZE ? "expected a size" : "expected a number");
    case NF_CFG_DURATION:
        if (!json_is_string(v))
            return bad(lc, path, f, "expected a duration string like \"30s\"");
        return set_from_text(lc, path, f, base, json_string_value(v));
    case NF_CFG_JSON: {
        json_t **slot = field_ptr(base, f);
        json_decref(*slot);
        *slot = json_incref(v);
        return NF_OK;
    }
    default:
        return nf_err_set(lc->err, NF_EINTERNAL, "config: bad table row for '%s'", path);
    }
}

static nf_status
apply_object(load_ctx *lc, const nf_cfg_field *table, void *base, const char *prefix,
             json_t *obj)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        char path[KEY_PATH_MAX];
        join_key(path, prefix, key);
        const nf_cfg_field *f = table;
        while (f->type != NF_CFG_END && strcmp(f->key, key) != 0)
            f++;
        if (f->type == NF_CFG_END) {
            if (lc->warn != NULL)
                lc->warn(lc->warn_ctx, lc->file, path);
            continue;
        }
        nf_status s = apply_value(lc, path, f, base, v);
        if (s != NF_OK)
            return s;
    }
    return NF_OK;
}

/* Sets every string slot to NULL, so the loader never frees what the caller left in an
 * uninitialised struct. */
static void
clear_strings(const nf_cfg_field *table, void *out)
{
    for (const nf_cfg_field *f = table; f->type != NF_CFG_END; f++) {
        if (f->type == NF_CFG_OBJECT)
            clear_strings(f->sub, field_ptr(out, f));
        else if (f->type == NF_CFG_STRING)
            *(char **)field_ptr(out, f) = NULL;
        else if (f->type == NF_CFG_JSON)
            *(json_t **)field_ptr(out, f) = NULL;
    }
}

static nf_status
load_root(load_ctx *lc, const nf_cfg_field *table, void *out, json_t *root)
{
    clear_strings(table, out);
    nf_status s = apply_defaults(lc, table, out, "");
    if (s == NF_OK && root != NULL) {
        if (!json_is_object(root))
            s = nf_err_set(lc->err, NF_EINVAL, "%s: the top level must be a JSON object",
                           lc->file);
        else
            s = apply_object(lc, table, out, "", root);
    }
    if (s != NF_OK)
        nf_cfg_free(table, out);
    return s;
}

nf_status
nf_cfg_load_file(const char *path, bool missing_ok, const nf_cfg_field *table, void *out,
                 nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err)
{
    load_ctx lc = {path, warn, warn_ctx, err};
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        if (errno == ENOENT && missing_ok)
            return load_root(&lc, table, out, NULL);
        return nf_err_sys(err, NF_EIO, errno, "%s: cannot open config", path);
    }
    json_error_t jerr;
    errno = 0;
    json_t *root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr);
    int read_errno = ferror(fp) ? (errno ? errno : EIO) : 0;
    fclose(fp);
    if (read_errno != 0) { /* a directory, an I/O error: not a syntax problem */
        json_decref(root);
        return nf_err_sys(err, NF_EIO, read_errno, "%s: cannot read config", path);
    }
    if (root == NULL)
        return nf_err_set(err, NF_EINVAL, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                          jerr.text);
    nf_status s = load_root(&lc, table, out, root);
    json_decref(root);
    return s;
}

nf_status
nf_cfg_load_text(const char *name, const char *text, const nf_cfg_field *table, void *out,
                 nf_cfg_warn_fn *warn, void *warn_ctx, nf_err *err)
{
    load_ctx lc = {name, warn, warn_ctx, err};
    json_error_t jerr;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return nf_err_set(err, NF_EINVAL, "%s:%d:%d: %s", name, jerr.line, jerr.column,
                          jerr.text);
    nf_status s = load_root(&lc, table, out, root);
    json_decref(root);
    return s;
}

void
nf_cfg_free(const nf_cfg_field *table, void *out)
{
    if (out == NULL)
        return;
    for (const nf_cfg_field *f = table; f->type != NF_CFG_END; f++) {
        if (f->type == NF_CFG_OBJECT) {
            nf_cfg_free(f->sub, field_ptr(out, f));
        } else if (f->type == NF_CFG_STRING) {
            char **slot = field_ptr(out, f);
            free(*slot);
            *slot = NULL;
        } else if (f->type == NF_CFG_JSON) {
            json_t **slot = field_ptr(out, f);
            json_decref(*slot);
            *slot = NULL;
        }
    }
}

nf_status
nf_cfg_json_error(nf_err *err, const char *file, const char *path, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    return nf_err_set(err, NF_EINVAL, "%s: key '%s': %s", file, path, why);
}

void
nf_cfg_describe(FILE *out, const nf_cfg_field *table, const char *prefix)
{
    static const char *const type_names[] = {
        [NF_CFG_STRING] = "string", [NF_CFG_UINT] = "integer", [NF_CFG_DURATION] = "duration",
        [NF_CFG_SIZE] = "size",     [NF_CFG_BOOL] = "bool",     [NF_CFG_OBJECT] = "object",
        [NF_CFG_JSON] = "json",
    };
    for (const nf_cfg_field *f = table; f->type != NF_CFG_END; f++) {
        char path[256];
        snprintf(path, sizeof(path), "%s%s%s", prefix, prefix[0] ? "." : "", f->key);
        if (f->type == NF_CFG_OBJECT) {
            nf_cfg_describe(out, f->sub, path);
            continue;
        }
        const char *def = f->def                  ? f->def
                          : f->type == NF_CFG_STRING ? "\"\""
                          : f->type == NF_CFG_JSON   ? "-"
                                                     : "0";
        fprintf(out, "%-28s %-8s default %-12s %s\n", path, type_names[f->type], def,
                f->help ? f->help : "");
    }
}

bool
nf_cfg_check_identifier(const char *v, char *why, size_t why_len)
{
    bool ok = v[0] != '\0' && (v[0] == '_' || ((v[0] | 0x20) >= 'a' && (v[0] | 0x20) <= 'z'));
    for (const char *p = v; ok && *p; p++)
        ok = *p == '_' || (*p >= '0' && *p <= '9') || ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z');
    if (!ok)
        snprintf(why, why_len, "\"%s\" is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*)", v);
    return ok;
}

bool
nf_cfg_check_hostport(const char *value, char *why, size_t why_len)
{
    char host[NF_ADDR_STRLEN];
    uint16_t port;
    struct sockaddr_storage ss;
    socklen_t len;
    if (!nf_hostport_parse(value, host, sizeof(host), &port) || port == 0) {
        snprintf(why, why_len, "\"%.64s\" is not host:port with a port 1..65535", value);
        return false;
    }
    if (!nf_sockaddr_make(host, port, &ss, &len)) {
        snprintf(why, why_len, "\"%.64s\" is not a numeric IPv4/IPv6 address", host);
        return false;
    }
    return true;
}

bool
nf_cfg_check_hostport_or_empty(const char *value, char *why, size_t why_len)
{
    return value[0] == '\0' || nf_cfg_check_hostport(value, why, why_len);
}

static const char *const security_modes[] = {"mtls", "none", NULL};

static const nf_cfg_field tls_table[] = {
    {"cert_file", NF_CFG_STRING, offsetof(nf_security_config, tls.cert_file) -
                                     offsetof(nf_security_config, tls), NULL, 0, 0, NULL, NULL,
     "certificate file, relative to cert_dir"},
    {"key_file", NF_CFG_STRING, offsetof(nf_security_config, tls.key_file) -
                                    offsetof(nf_security_config, tls), NULL, 0, 0, NULL, NULL,
     "private key file, relative to cert_dir"},
    {"ca_file", NF_CFG_STRING, offsetof(nf_security_config, tls.ca_file) -
                                   offsetof(nf_security_config, tls), "root.pem", 0, 0, NULL,
     NULL, "CA certificate that signs the peers"},
    {"client_ca_file", NF_CFG_STRING, offsetof(nf_security_config, tls.client_ca_file) -
                                          offsetof(nf_security_config, tls), NULL, 0, 0, NULL,
     NULL, "CA for client certificates; empty means ca_file"},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

const nf_cfg_field nf_security_table[] = {
    {"mode", NF_CFG_STRING, offsetof(nf_security_config, mode), "none", 0, 0, NULL,
     security_modes, "\"mtls\" or \"none\""},
    {"cert_dir", NF_CFG_STRING, offsetof(nf_security_config, cert_dir),
     "/etc/serviceradar/certs", 0, 0, NULL, NULL, "directory holding certificates and keys"},
    {"server_name", NF_CFG_STRING, offsetof(nf_security_config, server_name), NULL, 0, 0, NULL,
     NULL, "name expected in the server certificate"},
    {"role", NF_CFG_STRING, offsetof(nf_security_config, role), NULL, 0, 0, NULL, NULL,
     "component role (agent, poller, checker, core)"},
    {"tls", NF_CFG_OBJECT, offsetof(nf_security_config, tls), NULL, 0, 0, tls_table, NULL,
     "certificate file names"},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL},
};

int
nf_cfg_daemon_args(int argc, char **argv, const char *prog, const nf_cfg_field *table,
                   const char **path, bool *path_given)
{
    *path_given = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            *path = argv[++i];
            *path_given = true;
        } else if (strcmp(argv[i], "--help-config") == 0) {
            nf_cfg_describe(stdout, table, "");
            return 0;
        } else {
            fprintf(stderr, "usage: %s [-c FILE] [--help-config]\n", prog);
            return 2;
        }
    }
    return -1;
}

bool
nf_security_path(const nf_security_config *sec, const char *name, char *out, size_t n)
{
    int len;
    const char *dir = sec->cert_dir != NULL ? sec->cert_dir : "";
    if (name == NULL || name[0] == '\0')
        len = snprintf(out, n, "%s", "");
    else if (name[0] == '/' || dir[0] == '\0')
        len = snprintf(out, n, "%s", name);
    else
        len = snprintf(out, n, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", name);
    if (len < 0 || (size_t)len >= n) {
        if (n > 0)
            out[0] = '\0';
        return false;
    }
    return true;
}

bool
nf_security_files_get(const nf_security_config *sec, nf_security_files *out)
{
    bool ok = nf_security_path(sec, sec->tls.ca_file, out->ca, sizeof(out->ca));
    ok = nf_security_path(sec, sec->tls.cert_file, out->cert, sizeof(out->cert)) && ok;
    return nf_security_path(sec, sec->tls.key_file, out->key, sizeof(out->key)) && ok;
}

void
nf_cfg_log_unknown_key(void *ctx, const char *file, const char *key)
{
    nf_log_warn((const char *)ctx, "%s: unknown key '%s' ignored", file, key);
}

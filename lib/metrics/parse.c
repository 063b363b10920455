/* parse.c — the Prometheus text format reader. See parse.h.
 *
 * Line grammar accepted (the exposition format 0.0.4, minus nothing we emit):
 *   line    = name [ "{" [ label *( "," label ) [","] ] "}" ] SP+ value [ SP+ timestamp ]
 *   name    = [a-zA-Z_:][a-zA-Z0-9_:]*
 *   label   = [a-zA-Z_][a-zA-Z0-9_]* "=" '"' ( any byte but '"' '\' LF | '\' ('\'|'"'|'n') )* '"'
 * Every line is checked whole before its sample is delivered.
 */
#include "parse.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool
name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool
name_char(char c)
{
    return name_start(c) || (c >= '0' && c <= '9');
}

/* Scans the label set starting after '{'; *p ends after '}'. */
static bool
scan_labels(const char **p, const char *end)
{
    const char *s = *p;
    while (s < end && *s != '}') {
        if (!(name_start(*s) && *s != ':'))
            return false;
        while (s < end && name_char(*s) && *s != ':')
            s++;
        if (s + 1 >= end || s[0] != '=' || s[1] != '"')
            return false;
        s += 2;
        while (s < end && *s != '"') {
            if (*s == '\\') {
                if (s + 1 >= end || (s[1] != '\\' && s[1] != '"' && s[1] != 'n'))
                    return false;
                s++;
            }
            s++;
        }
        if (s >= end)
            return false;
        s++; /* closing quote */
        if (s < end && *s == ',')
            s++;
        else if (s < end && *s != '}')
            return false;
    }
    if (s >= end)
        return false;
    *p = s + 1;
    return true;
}

/* Parses the value token [s, e) into the sample. */
static bool
parse_value(const char *s, const char *e, nf_prom_sample *out)
{
    char buf[64];
    size_t n = (size_t)(e - s);
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    out->is_uint = false;
    bool digits = true;
    for (size_t i = 0; i < n; i++)
        digits = digits && buf[i] >= '0' && buf[i] <= '9';
    if (digits) {
        errno = 0;
        unsigned long long u = strtoull(buf, NULL, 10);
        if (errno == 0) {
            out->uvalue = (uint64_t)u;
            out->is_uint = true;
        }
    }
    char *stop = NULL;
    errno = 0;
    out->value = strtod(buf, &stop);
    if (stop != buf + n)
        return false;
    /* strtod accepts hex floats and "infinity"/"nan(...)" spellings; the format does not. */
    for (size_t i = 0; i < n; i++)
        if (buf[i] == 'x' || buf[i] == 'X' || buf[i] == '(')
            return false;
    return true;
}

static bool
parse_line(const char *s, const char *end, nf_prom_sample *out, const char **why)
{
    const char *p = s;
    if (!name_start(*p)) {
        *why = "bad metric name";
        return false;
    }
    while (p < end && name_char(*p))
        p++;
    out->name = s;
    out->name_len = (size_t)(p - s);
    out->labels = p;
    out->labels_len = 0;
    if (p < end && *p == '{') {
        const char *ls = ++p;
        if (!scan_labels(&p, end)) {
            *why = "bad label set";
            return false;
        }
        out->labels = ls;
        out->labels_len = (size_t)(p - 1 - ls);
    }
    if (p >= end || (*p != ' ' && *p != '\t')) {
        *why = "no value";
        return false;
    }
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    const char *v = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    if (!parse_value(v, p, out)) {
        *why = "bad value";
        return false;
    }
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < end) { /* a timestamp: an integer (milliseconds), possibly negative */
        const char *t = p;
        if (*p == '-')
            p++;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
            p++;
        if (p != end || t == end || (t[0] == '-' && t + 1 == end)) {
            *why = "bad timestamp";
            return false;
        }
    }
    return true;
}

nf_status
nf_prom_parse(const char *text, size_t len, nf_prom_sample_fn *fn, void *ctx, nf_err *err)
{
    const char *p = text, *end = text + len;
    size_t line = 0;
    while (p < end) {
        line++;
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl != NULL ? nl : end;
        if ((size_t)(e - p) > NF_PROM_LINE_MAX)
            return nf_err_set(err, NF_EINVAL, "line %zu: longer than %u bytes", line,
                              NF_PROM_LINE_MAX);
        if (e > p && e[-1] == '\r')
            e--;
        const char *s = p;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        if (s < e && *s != '#') {
            nf_prom_sample smp;
            const char *why = NULL;
            if (!parse_line(s, e, &smp, &why))
                return nf_err_set(err, NF_EINVAL, "line %zu: %s", line, why);
            fn(ctx, &smp);
        }
        p = nl != NULL ? nl + 1 : end;
    }
    return NF_OK;
}

bool
nf_prom_is(const nf_prom_sample *s, const char *name)
{
    size_t n = strlen(name);
    return s->name_len == n && memcmp(s->name, name, n) == 0;
}

bool
nf_prom_label(const nf_prom_sample *s, const char *key, char *out, size_t n)
{
    size_t klen = strlen(key);
    const char *p = s->labels, *end = s->labels + s->labels_len;
    while (p < end) {
        const char *k = p;
        while (p < end && *p != '=')
            p++;
        bool match = (size_t)(p - k) == klen && memcmp(k, key, klen) == 0;
        p += 2; /* '="': the label set was checked by the parser */
        size_t o = 0;
        while (p < end && *p != '"') {
            char c = *p;
            if (c == '\\') {
                p++;
                c = *p == 'n' ? '\n' : *p;
            }
            if (match && n > 0 && o + 1 < n)
                out[o++] = c;
            p++;
        }
        p++; /* closing quote */
        if (p < end && *p == ',')
            p++;
        if (match) {
            if (n > 0)
                out[o] = '\0';
            return true;
        }
    }
    return false;
}

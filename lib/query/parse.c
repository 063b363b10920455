/* parse.c — text from API users into the typed pieces of a request: field names, metric
 * names and filters. See query.h.
 *
 * Everything here refuses rather than guesses: no leading '+', no spaces, no trailing
 * characters, no numbers outside the column's type, no unknown names. Errors start with the
 * API parameter the text came from, so the API can hand them to the user as they are. User
 * text quoted back in a message is clipped (QUOTE_MAX) so that one long value cannot push
 * the reason out of the 256-byte message.
 */
#include "query_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "../base/addr.h"
#include "../base/parse.h"

#define QUOTE_MAX 48    /* characters of user text repeated in an error message */
#define ADDR_TEXT_MAX 64 /* longest "address/len" we look at: IPv6 text is at most 45 */

/* Indexed by nf_q_field. Columns are the same in netflow and in every rollup that has the
 * field as a dim (docs/clickhouse.md). */
static const q_field_info fields[] = {
    [NF_Q_NONE] = {NF_Q_NONE, "none", NULL, Q_KIND_TIME, 0},
    [NF_Q_SRC_ADDR] = {NF_Q_SRC_ADDR, "src_ip", "src_addr", Q_KIND_ADDR, 0},
    [NF_Q_DST_ADDR] = {NF_Q_DST_ADDR, "dst_ip", "dst_addr", Q_KIND_ADDR, 0},
    [NF_Q_SRC_PORT] = {NF_Q_SRC_PORT, "src_port", "src_port", Q_KIND_NUM, UINT16_MAX},
    [NF_Q_DST_PORT] = {NF_Q_DST_PORT, "dst_port", "dst_port", Q_KIND_NUM, UINT16_MAX},
    [NF_Q_PROTOCOL] = {NF_Q_PROTOCOL, "protocol", "protocol", Q_KIND_PROTO, UINT8_MAX},
    [NF_Q_EXPORTER] = {NF_Q_EXPORTER, "exporter", "exporter", Q_KIND_ADDR, 0},
    [NF_Q_IN_IF] = {NF_Q_IN_IF, "in_if", "in_if", Q_KIND_NUM, UINT32_MAX},
    [NF_Q_OUT_IF] = {NF_Q_OUT_IF, "out_if", "out_if", Q_KIND_NUM, UINT32_MAX},
    [NF_Q_SRC_AS] = {NF_Q_SRC_AS, "src_as", "src_as", Q_KIND_NUM, UINT32_MAX},
    [NF_Q_DST_AS] = {NF_Q_DST_AS, "dst_as", "dst_as", Q_KIND_NUM, UINT32_MAX},
    [NF_Q_TIME] = {NF_Q_TIME, "time", NULL, Q_KIND_TIME, 0},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* Other accepted spellings: the schema's column names, for people who know the tables. */
static const struct {
    const char *name;
    nf_q_field field;
} aliases[] = {
    {"src_addr", NF_Q_SRC_ADDR},
    {"dst_addr", NF_Q_DST_ADDR},
    {"exporter_ip", NF_Q_EXPORTER},
};

/* IANA protocol numbers for the names query.h promises. */
static const struct {
    const char *name;
    uint8_t number;
} protocols[] = {
    {"icmp", 1}, {"tcp", 6}, {"udp", 17}, {"gre", 47}, {"esp", 50}, {"icmpv6", 58}, {"sctp", 132},
};

const q_field_info *
q_field_get(nf_q_field f)
{
    if ((unsigned)f == NF_Q_NONE || (unsigned)f >= NFIELDS)
        return NULL;
    return &fields[f];
}

const char *
nf_q_field_name(nf_q_field f)
{
    const q_field_info *fi = q_field_get(f);
    return fi != NULL ? fi->name : "none";
}

/* Finds a field by API name or alias; names are exact (lowercase), as the API documents
 * them. */
static bool
field_lookup(const char *text, size_t len, nf_q_field *out)
{
    for (size_t i = 1; i < NFIELDS; i++) {
        if (strlen(fields[i].name) == len && memcmp(fields[i].name, text, len) == 0) {
            *out = fields[i].field;
            return true;
        }
    }
    for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
        if (strlen(aliases[i].name) == len && memcmp(aliases[i].name, text, len) == 0) {
            *out = aliases[i].field;
            return true;
        }
    }
    return false;
}

/* "src_ip, dst_ip, …, time" for error messages. */
static void
field_list(char *out, size_t n)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 1; i < NFIELDS && used < n; i++) {
        int w = snprintf(out + used, n - used, "%s%s", i > 1 ? ", " : "", fields[i].name);
        if (w < 0)
            return;
        used += (size_t)w;
    }
}

static nf_status
unknown_field(const char *param, const char *text, size_t len, nf_err *err)
{
    char list[160];
    field_list(list, sizeof(list));
    int shown = len > QUOTE_MAX ? QUOTE_MAX : (int)len;
    return nf_err_set(err, NF_EINVAL, "%s: unknown field \"%.*s\" (one of %s)", param, shown,
                      text, list);
}

nf_status
nf_q_parse_field(const char *text, const char *param, nf_q_field *out, nf_err *err)
{
    if (param == NULL)
        param = "field";
    if (text == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "%s: missing", param);
    nf_q_field f;
    if (!field_lookup(text, strlen(text), &f))
        return unknown_field(param, text, strlen(text), err);
    *out = f;
    return NF_OK;
}

nf_status
nf_q_parse_metric(const char *text, const char *param, nf_q_metric *out, nf_err *err)
{
    static const struct {
        const char *name;
        nf_q_metric metric;
    } metrics[] = {{"bytes", NF_Q_BYTES}, {"packets", NF_Q_PACKETS}, {"flows", NF_Q_FLOWS}};
    if (param == NULL)
        param = "metric";
    if (text == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "%s: missing", param);
    for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
        if (strcmp(text, metrics[i].name) == 0) {
            *out = metrics[i].metric;
            return NF_OK;
        }
    }
    return nf_err_set(err, NF_EINVAL, "%s: unknown metric \"%.*s\" (bytes, packets or flows)",
                      param, QUOTE_MAX, text);
}

/* Sets lo/hi to the first and last address of the prefix of `bits` bits (0..128) around
 * addr. Host bits of addr need not be zero: they are masked, as routers do. */
static void
prefix_range(const uint8_t addr[16], unsigned bits, uint8_t lo[16], uint8_t hi[16])
{
    for (unsigned i = 0; i < 16; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * i : 0;
        uint8_t mask = (uint8_t)(keep == 0 ? 0 : 0xff << (8 - keep));
        lo[i] = addr[i] & mask;
        hi[i] = (uint8_t)(addr[i] | (uint8_t)~mask);
    }
}

/* "address" or "address/len". IPv4 text takes /0../32 and means IPv4 addresses only (the
 * prefix sits under the ::ffff:0:0/96 mapping); IPv6 text takes /0../128 — so ::/0 is every
 * address, 0.0.0.0/0 every IPv4 address. */
static nf_status
parse_cidr(const char *param, const char *name, const char *text, uint8_t lo[16],
           uint8_t hi[16], nf_err *err)
{
    char buf[ADDR_TEXT_MAX + 1];
    size_t len = strlen(text);
    if (len == 0 || len > ADDR_TEXT_MAX)
        return nf_err_set(err, NF_EINVAL, "%s: %s: \"%.*s\" is not an address or CIDR", param,
                          name, QUOTE_MAX, text);
    memcpy(buf, text, len + 1);
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash = '\0';
    uint8_t addr[16];
    if (!nf_addr_parse(buf, addr))
        return nf_err_set(err, NF_EINVAL, "%s: %s: \"%.*s\" is not an IPv4 or IPv6 address",
                          param, name, QUOTE_MAX, buf);
    bool v6_text = strchr(buf, ':') != NULL;
    unsigned max_len = v6_text ? 128 : 32;
    uint64_t plen = max_len;
    if (slash != NULL && !nf_parse_u64(slash + 1, 0, max_len, &plen))
        return nf_err_set(err, NF_EINVAL, "%s: %s: prefix length \"%.*s\" is not 0..%u", param,
                          name, QUOTE_MAX, slash + 1, max_len);
    prefix_range(addr, v6_text ? (unsigned)plen : 96 + (unsigned)plen, lo, hi);
    return NF_OK;
}

static bool
protocol_lookup(const char *text, uint64_t *out)
{
    for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++) {
        /* Case-insensitive: operators write both "tcp" and "TCP". */
        if (strcasecmp(text, protocols[i].name) == 0) {
            *out = protocols[i].number;
            return true;
        }
    }
    return false;
}

static nf_status
parse_number(const char *param, const q_field_info *fi, const char *text, uint64_t *out,
             nf_err *err)
{
    if (fi->kind == Q_KIND_PROTO && protocol_lookup(text, out))
        return NF_OK;
    if (nf_parse_u64(text, 0, fi->max, out))
        return NF_OK;
    if (fi->kind == Q_KIND_PROTO)
        return nf_err_set(err, NF_EINVAL,
                          "%s: protocol: \"%.*s\" is not 0..255 or one of tcp, udp, icmp, "
                          "icmpv6, gre, esp, sctp",
                          param, QUOTE_MAX, text);
    return nf_err_set(err, NF_EINVAL, "%s: %s: \"%.*s\" is not a number in 0..%llu", param,
                      fi->name, QUOTE_MAX, text, (unsigned long long)fi->max);
}

nf_status
nf_q_parse_filter(const char *text, const char *param, nf_q_filter *out, nf_err *err)
{
    if (param == NULL)
        param = "filter";
    if (text == NULL || out == NULL)
        return nf_err_set(err, NF_EINVAL, "%s: missing", param);
    const char *eq = strchr(text, '=');
    if (eq == NULL)
        return nf_err_set(err, NF_EINVAL, "%s: \"%.*s\" is not field=value", param, QUOTE_MAX,
                          text);
    nf_q_filter f;
    memset(&f, 0, sizeof(f));
    if (!field_lookup(text, (size_t)(eq - text), &f.field))
        return unknown_field(param, text, (size_t)(eq - text), err);
    const q_field_info *fi = q_field_get(f.field);
    const char *value = eq + 1;
    nf_status st;
    switch (fi->kind) {
    case Q_KIND_ADDR:
        st = parse_cidr(param, fi->name, value, f.lo, f.hi, err);
        break;
    case Q_KIND_NUM:
    case Q_KIND_PROTO:
        st = parse_number(param, fi, value, &f.value, err);
        break;
    default:
        return nf_err_set(err, NF_EINVAL, "%s: %s cannot be filtered on (use start and end)",
                          param, fi->name);
    }
    if (st != NF_OK)
        return st;
    *out = f;
    return NF_OK;
}

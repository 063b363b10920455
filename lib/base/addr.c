/* addr.c — address text forms and socket addresses. See addr.h. */
#include "addr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

/* Writes one octet in decimal; returns the position after it. */
static char *
put_octet(char *p, unsigned v)
{
    if (v >= 100) {
        *p++ = (char)('0' + v / 100);
        v %= 100;
        *p++ = (char)('0' + v / 10);
    } else if (v >= 10) {
        *p++ = (char)('0' + v / 10);
    }
    *p++ = (char)('0' + v % 10);
    return p;
}

/* IPv4 is formatted here rather than by inet_ntop, which goes through sprintf: the checker
 * formats two addresses per record it serves, and sprintf was a fifth of its CPU time there
 * (perf, bench/spine_bench.sh). IPv6 keeps inet_ntop for its RFC 5952 compression. */
char *
nf_addr_format(const uint8_t a[16], char *buf)
{
    if (nf_addr_is_v4(a)) {
        char *p = buf;
        for (int i = 12; i < 16; i++) {
            p = put_octet(p, a[i]);
            *p++ = i < 15 ? '.' : '\0';
        }
    } else {
        inet_ntop(AF_INET6, a, buf, NF_ADDR_STRLEN);
    }
    return buf;
}

bool
nf_addr_parse(const char *text, uint8_t out[16])
{
    uint8_t v4[4];
    if (inet_pton(AF_INET, text, v4) == 1) {
        nf_addr_from_v4(out, v4);
        return true;
    }
    return inet_pton(AF_INET6, text, out) == 1;
}

bool
nf_addr_from_sockaddr(const struct sockaddr *sa, uint8_t out[16], uint16_t *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        nf_addr_from_v4(out, (const uint8_t *)&in->sin_addr);
        *port = ntohs(in->sin_port);
        return true;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        memcpy(out, &in6->sin6_addr, 16);
        *port = ntohs(in6->sin6_port);
        return true;
    }
    return false;
}

bool
nf_hostport_parse(const char *text, char *host_out, size_t host_len, uint16_t *port)
{
    if (text == NULL)
        return false;
    const char *colon;
    const char *host = text;
    size_t hlen;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':')
            return false;
        host = text + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL)
            return false;
        hlen = (size_t)(colon - text);
        if (memchr(text, ':', hlen) != NULL) /* bare IPv6 without brackets is ambiguous */
            return false;
    }
    uint64_t p;
    if (!nf_parse_u64(colon + 1, 0, 65535, &p))
        return false;
    if (hlen + 1 > host_len)
        return false;
    memcpy(host_out, host, hlen);
    host_out[hlen] = '\0';
    *port = (uint16_t)p;
    return true;
}

bool
nf_sockaddr_make(const char *host, uint16_t port, struct sockaddr_storage *out,
                 socklen_t *len_out)
{
    struct sockaddr_storage ss; /* *out is written only on success */
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (host == NULL || host[0] == '\0') {
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_any;
        in6->sin6_port = htons(port);
        len = sizeof(*in6);
    } else if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        len = sizeof(*in);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        len = sizeof(*in6);
    } else {
        return false;
    }
    *out = ss;
    *len_out = len;
    return true;
}

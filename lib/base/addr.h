/* addr.h — IP addresses as 16 bytes, and "host:port" listen/target addresses.
 *
 * Every address in the project is stored as 16 bytes: IPv6 as is, IPv4 as the IPv4-mapped
 * IPv6 address ::ffff:a.b.c.d (RFC 4291 §2.5.5.2). One representation means one code path
 * for hashing, comparing and storing; nf_addr_is_v4 tells the family back.
 */
#ifndef NFX_LIB_BASE_ADDR_H
#define NFX_LIB_BASE_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define NF_ADDR_STRLEN 46 /* INET6_ADDRSTRLEN: longest text form, with the NUL */

/* Writes the IPv4-mapped form of a 4-byte big-endian address into out. */
static inline void
nf_addr_from_v4(uint8_t out[16], const uint8_t v4[4])
{
    for (int i = 0; i < 10; i++)
        out[i] = 0;
    out[10] = 0xff;
    out[11] = 0xff;
    out[12] = v4[0];
    out[13] = v4[1];
    out[14] = v4[2];
    out[15] = v4[3];
}

/* True if a is an IPv4-mapped address. */
static inline bool
nf_addr_is_v4(const uint8_t a[16])
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    for (int i = 0; i < 12; i++)
        if (a[i] != prefix[i])
            return false;
    return true;
}

/* Formats a as dotted quad (IPv4-mapped) or RFC 5952 IPv6 text. buf must hold
 * NF_ADDR_STRLEN bytes. Returns buf. */
char *nf_addr_format(const uint8_t a[16], char *buf);

/* Parses dotted-quad IPv4 or IPv6 text into the 16-byte form. */
bool nf_addr_parse(const char *text, uint8_t out[16]);

/* Fills out (16 bytes) and *port from a socket address of family AF_INET or AF_INET6.
 * Returns false for other families. */
bool nf_addr_from_sockaddr(const struct sockaddr *sa, uint8_t out[16], uint16_t *port);

/* Parses "host:port", "[v6]:port" or ":port" (host empty = any address). host is written to
 * host_out (size host_len, "" for any); the port is 0..65535 (0 = let the kernel choose,
 * for listeners; callers that need a real port check it). */
bool nf_hostport_parse(const char *text, char *host_out, size_t host_len, uint16_t *port);

/* Resolves a numeric host ("" = any) and port into a sockaddr_storage suitable for bind or
 * sendto. An empty host gives the IPv6 wildcard (dual-stack). Returns false if host is not a
 * numeric IPv4 or IPv6 address. */
bool nf_sockaddr_make(const char *host, uint16_t port, struct sockaddr_storage *out,
                      socklen_t *len_out);

#endif

/* frame.c — wraps a UDP payload in Ethernet II + IPv4/IPv6 + UDP headers for pcap files.
 *
 * Pure byte assembly (no sockets). Checksums are the RFC 1071 ones' complement sum: the
 * IPv4 header checksum over the 20-byte header, the UDP checksum over the pseudo-header
 * (RFC 768 / RFC 8200 §8.1) and the datagram; a computed UDP checksum of 0 is sent as
 * 0xffff, since 0 means "none" (and is not allowed at all over IPv6).
 */
#include <string.h>

#include "../base/addr.h"
#include "internal.h"

#define ETH_LEN 14
#define IP4_LEN 20
#define IP6_LEN 40
#define UDP_LEN 8

/* Adds n bytes to a running 32-bit ones' complement accumulator. */
static uint32_t
sum_bytes(uint32_t acc, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    return acc;
}

static uint16_t
sum_fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffffu) + (acc >> 16);
    return (uint16_t)~acc;
}

nf_status
flowgen_frame_build(const uint8_t src[16], uint16_t src_port, const uint8_t dst[16],
                    uint16_t dst_port, uint16_t ip_id, const uint8_t *payload, size_t len,
                    uint8_t *out, size_t cap, size_t *len_out, nf_err *err)
{
    static const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02}; /* locally administered */
    static const uint8_t src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    bool v4 = nf_addr_is_v4(src);
    if (v4 != nf_addr_is_v4(dst))
        return nf_err_set(err, NF_EINVAL, "frame: source and destination families differ");
    if (len > FLOWGEN_MAX_DATAGRAM)
        return nf_err_set(err, NF_EINVAL, "frame: payload of %zu bytes exceeds %u", len,
                          FLOWGEN_MAX_DATAGRAM);
    size_t ip_len = v4 ? IP4_LEN : IP6_LEN;
    size_t total = ETH_LEN + ip_len + UDP_LEN + len;
    if (total > cap)
        return nf_err_set(err, NF_EINVAL, "frame: %zu bytes do not fit in %zu", total, cap);

    uint16_t udp_len = (uint16_t)(UDP_LEN + len);
    memcpy(out, dst_mac, 6);
    memcpy(out + 6, src_mac, 6);
    put16(out + 12, v4 ? 0x0800 : 0x86dd);
    uint8_t *ip = out + ETH_LEN;
    uint32_t acc = 0; /* UDP pseudo-header sum */
    if (v4) {
        ip[0] = 0x45; /* version 4, IHL 5 */
        ip[1] = 0;
        put16(ip + 2, (uint16_t)(IP4_LEN + udp_len));
        put16(ip + 4, ip_id);
        put16(ip + 6, 0x4000); /* DF */
        ip[8] = 64;
        ip[9] = 17;
        put16(ip + 10, 0);
        memcpy(ip + 12, src + 12, 4);
        memcpy(ip + 16, dst + 12, 4);
        put16(ip + 10, sum_fold(sum_bytes(0, ip, IP4_LEN)));
        acc = sum_bytes(acc, ip + 12, 8);
    } else {
        put32(ip, 0x60000000u); /* version 6, class 0, label 0 */
        put16(ip + 4, udp_len);
        ip[6] = 17;
        ip[7] = 64;
        memcpy(ip + 8, src, 16);
        memcpy(ip + 24, dst, 16);
        acc = sum_bytes(acc, ip + 8, 32);
    }
    acc += 17u + udp_len;
    uint8_t *udp = ip + ip_len;
    put16(udp, src_port);
    put16(udp + 2, dst_port);
    put16(udp + 4, udp_len);
    put16(udp + 6, 0);
    memcpy(udp + UDP_LEN, payload, len);
    acc = sum_bytes(acc, udp, UDP_LEN + len);
    uint16_t csum = sum_fold(acc);
    put16(udp + 6, csum == 0 ? 0xffff : csum);
    *len_out = total;
    return NF_OK;
}

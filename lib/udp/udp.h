/* udp.h — the collector's UDP receive path.
 *
 * A group of N sockets bound to the same address with SO_REUSEPORT, each read by its own
 * worker. A classic-BPF program attached with SO_ATTACH_REUSEPORT_CBPF picks the socket by a
 * hash of the datagram's source address (not the 4-tuple), so every datagram of one exporter
 * reaches the same worker even when the exporter changes its UDP source port — the worker's
 * decoder holds that exporter's templates. If the kernel refuses the program, the group
 * still works with the kernel's default 4-tuple hash (nf_udp_group.steered = false); the
 * collector then loads saved templates into every worker so a moved exporter still decodes.
 *
 * Each socket gets a large receive buffer (SO_RCVBUFFORCE when permitted, else SO_RCVBUF up
 * to net.core.rmem_max) because bursts are absorbed there, and SO_RXQ_OVFL so the kernel
 * reports how many datagrams it dropped on that socket for lack of buffer: drops are counted,
 * never silent.
 *
 * Receiving uses one blocking recvmmsg per wakeup (MSG_WAITFORONE: wait for the first
 * datagram, take what else is queued, up to `batch`). Sockets time out after
 * NF_UDP_RECV_TIMEOUT_MS without data, so a worker can notice shutdown. A datagram larger
 * than the buffer (MSG_TRUNC) is reported as truncated, never decoded.
 */
#ifndef NFX_LIB_UDP_UDP_H
#define NFX_LIB_UDP_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../base/nf_status.h"

#define NF_UDP_MAX_SOCKETS 64
#define NF_UDP_RECV_TIMEOUT_MS 100 /* longest a receive blocks without data */

typedef struct nf_udp_group {
    int fds[NF_UDP_MAX_SOCKETS]; /* bound sockets */
    unsigned n;                  /* how many */
    bool steered;                /* source-address steering program attached */
    int rcvbuf;                  /* receive buffer the kernel granted (bytes, as reported) */
    uint16_t port;               /* bound port (useful when 0 was asked for) */
} nf_udp_group;

/* Opens n (1..NF_UDP_MAX_SOCKETS) sockets on listen_addr (":2055" = all addresses, IPv4 and
 * IPv6; "0.0.0.0:2055", "127.0.0.1:2055", "[::1]:2055") with receive buffers of rcvbuf
 * bytes. Port 0 picks a free port (all sockets share it). On failure nothing stays open. */
nf_status nf_udp_group_open(const char *listen_addr, unsigned n, int rcvbuf, nf_udp_group *g,
                            nf_err *err);

/* Closes every socket. Safe on a zeroed or already-closed group. */
void nf_udp_group_close(nf_udp_group *g);

/* One received datagram; data points into the receiver's buffers until the next receive. */
typedef struct nf_udp_msg {
    const uint8_t *data;
    size_t len;
    uint8_t src_addr[16]; /* IPv4-mapped for IPv4 senders */
    uint16_t src_port;
    bool truncated;       /* larger than the buffer: data is incomplete */
} nf_udp_msg;

typedef struct nf_udp_rx nf_udp_rx;

/* Buffers for batches of up to `batch` datagrams of up to max_datagram bytes each.
 * Free with nf_udp_rx_destroy. */
nf_status nf_udp_rx_create(unsigned batch, size_t max_datagram, nf_udp_rx **out, nf_err *err);
void nf_udp_rx_destroy(nf_udp_rx *rx);

/* Waits (up to NF_UDP_RECV_TIMEOUT_MS) for a datagram on fd, a socket of an nf_udp_group,
 * then receives what is queued, at most the batch. *n_out = 0 on timeout or EINTR. NF_EIO
 * on a socket error. */
nf_status nf_udp_rx_recv(nf_udp_rx *rx, int fd, unsigned *n_out, nf_err *err);

/* The i-th datagram of the last receive (i < *n_out). */
const nf_udp_msg *nf_udp_rx_msg(const nf_udp_rx *rx, unsigned i);

/* Datagrams the kernel dropped on this socket since it was opened (SO_RXQ_OVFL), as of the
 * last datagram received. */
uint64_t nf_udp_rx_kernel_drops(const nf_udp_rx *rx);

#endif

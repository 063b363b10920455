/* udp.c — SO_REUSEPORT socket groups with source-address steering, recvmmsg batches.
 * See udp.h. */
#include "udp.h"

#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../base/addr.h"

#ifndef SO_ATTACH_REUSEPORT_CBPF
#define SO_ATTACH_REUSEPORT_CBPF 51
#endif
#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

/* Classic BPF run by the kernel for each datagram to pick the socket index. The packet's
 * data starts at the UDP payload; SKF_NET_OFF reaches the IP header. IPv4: index = mix(src)
 * % n; IPv6: the four words of the source XORed, then the same. */
static int
attach_steering(int fd, unsigned n)
{
    struct sock_filter code[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_B | BPF_ABS, (uint32_t)SKF_NET_OFF + 0),
        /* 1 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 4),
        /* 2 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 6, 2, 0),
        /* 3 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
        /* 4 */ BPF_JUMP(BPF_JMP | BPF_JA, 10, 0, 0),
        /* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 8),
        /* 6 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
        /* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12),
        /* 8 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        /* 9 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
        /* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 16),
        /* 11 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        /* 12 */ BPF_STMT(BPF_MISC | BPF_TAX, 0),
        /* 13 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 20),
        /* 14 */ BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        /* 15: Fibonacci hashing spreads consecutive addresses over all sockets. */
        /* 15 */ BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 2654435761u),
        /* 16 */ BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
        /* 17 */ BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, n),
        /* 18 */ BPF_STMT(BPF_RET | BPF_A, 0),
    };
    struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
    return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog));
}

static int
open_one(const struct sockaddr_storage *ss, socklen_t sslen, int rcvbuf, nf_err *err)
{
    int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        nf_err_sys(err, NF_EIO, errno, "udp: socket");
        return -1;
    }
    int one = 1, zero = 0;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
        (ss->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero)) != 0)) {
        nf_err_sys(err, NF_EIO, errno, "udp: setsockopt");
        close(fd);
        return -1;
    }
    /* Best effort: FORCE needs CAP_NET_ADMIN; plain SO_RCVBUF is capped at rmem_max. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    (void)setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
    /* A blocking receive returns after this long without data, so a worker notices a stop
     * request within it. */
    struct timeval tv = {0, NF_UDP_RECV_TIMEOUT_MS * 1000};
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (bind(fd, (const struct sockaddr *)ss, sslen) != 0) {
        nf_err_sys(err, NF_EIO, errno, "udp: bind");
        close(fd);
        return -1;
    }
    return fd;
}

nf_status
nf_udp_group_open(const char *listen_addr, unsigned n, int rcvbuf, nf_udp_group *g, nf_err *err)
{
    memset(g, 0, sizeof(*g));
    for (unsigned i = 0; i < NF_UDP_MAX_SOCKETS; i++)
        g->fds[i] = -1;
    if (n == 0 || n > NF_UDP_MAX_SOCKETS)
        return nf_err_set(err, NF_EINVAL, "udp: %u sockets, want 1..%d", n, NF_UDP_MAX_SOCKETS);
    char host[NF_ADDR_STRLEN];
    uint16_t port = 0;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (!nf_hostport_parse(listen_addr, host, sizeof(host), &port))
        return nf_err_set(err, NF_EINVAL, "udp: bad listen address \"%s\" (want host:port)",
                          listen_addr ? listen_addr : "(null)");
    if (!nf_sockaddr_make(host, port, &ss, &sslen))
        return nf_err_set(err, NF_EINVAL, "udp: \"%s\" is not a numeric address", host);

    /* SO_REUSEPORT would let a second collector of the same user join our group and take
     * part of the traffic without an error. A plain bind first tells whether anyone else
     * holds the port; it is released before the group binds. */
    if (port != 0) {
        int probe = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        int zero = 0;
        if (probe >= 0 && ss.ss_family == AF_INET6)
            (void)setsockopt(probe, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        if (probe >= 0 && bind(probe, (struct sockaddr *)&ss, sslen) != 0) {
            int e = errno;
            close(probe);
            return nf_err_sys(err, NF_EIO, e, "udp: cannot listen on %s", listen_addr);
        }
        if (probe >= 0)
            close(probe);
    }
    for (unsigned i = 0; i < n; i++) {
        int fd = open_one(&ss, sslen, rcvbuf, err);
        if (fd < 0) {
            nf_udp_group_close(g);
            return err ? err->code : NF_EIO;
        }
        g->fds[i] = fd;
        g->n = i + 1;
        if (i == 0) {
            /* With port 0, the first bind picked a port: the others must share it. */
            struct sockaddr_storage bound;
            socklen_t blen = sizeof(bound);
            uint8_t ignored[16];
            if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0 &&
                nf_addr_from_sockaddr((struct sockaddr *)&bound, ignored, &g->port)) {
                if (ss.ss_family == AF_INET6)
                    ((struct sockaddr_in6 *)&ss)->sin6_port = htons(g->port);
                else
                    ((struct sockaddr_in *)&ss)->sin_port = htons(g->port);
            }
            socklen_t optlen = sizeof(g->rcvbuf);
            getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &g->rcvbuf, &optlen);
        }
    }
    /* The program belongs to the reuseport group; attaching it on one socket is enough. */
    g->steered = n == 1 || attach_steering(g->fds[0], n) == 0;
    return NF_OK;
}

void
nf_udp_group_close(nf_udp_group *g)
{
    for (unsigned i = 0; i < g->n; i++) {
        if (g->fds[i] >= 0)
            close(g->fds[i]);
        g->fds[i] = -1;
    }
    g->n = 0;
}

struct nf_udp_rx {
    unsigned batch;
    size_t max_datagram;
    uint8_t *bufs;
    struct mmsghdr *hdrs;
    struct iovec *iov;
    struct sockaddr_storage *addrs;
    char (*ctrl)[CMSG_SPACE(sizeof(uint32_t))];
    nf_udp_msg *msgs;
    uint64_t kernel_drops;
};

nf_status
nf_udp_rx_create(unsigned batch, size_t max_datagram, nf_udp_rx **out, nf_err *err)
{
    if (batch == 0 || batch > 1024 || max_datagram == 0 || max_datagram > 65536)
        return nf_err_set(err, NF_EINVAL, "udp: bad batch %u or datagram size %zu", batch,
                          max_datagram);
    nf_udp_rx *rx = calloc(1, sizeof(*rx));
    if (rx == NULL)
        return nf_err_set(err, NF_ENOMEM, "udp: out of memory");
    rx->batch = batch;
    rx->max_datagram = max_datagram;
    rx->bufs = malloc((size_t)batch * max_datagram);
    rx->hdrs = calloc(batch, sizeof(*rx->hdrs));
    rx->iov = calloc(batch, sizeof(*rx->iov));
    rx->addrs = calloc(batch, sizeof(*rx->addrs));
    rx->ctrl = calloc(batch, sizeof(*rx->ctrl));
    rx->msgs = calloc(batch, sizeof(*rx->msgs));
    if (!rx->bufs || !rx->hdrs || !rx->iov || !rx->addrs || !rx->ctrl || !rx->msgs) {
        nf_udp_rx_destroy(rx);
        return nf_err_set(err, NF_ENOMEM, "udp: out of memory for %u buffers", batch);
    }
    *out = rx;
    return NF_OK;
}

void
nf_udp_rx_destroy(nf_udp_rx *rx)
{
    if (rx == NULL)
        return;
    free(rx->bufs);
    free(rx->hdrs);
    free(rx->iov);
    free(rx->addrs);
    free(rx->ctrl);
    free(rx->msgs);
    free(rx);
}

static void
note_drops(nf_udp_rx *rx, struct msghdr *mh)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
            uint32_t drops;
            memcpy(&drops, CMSG_DATA(c), sizeof(drops));
            if (drops > rx->kernel_drops)
                rx->kernel_drops = drops;
        }
    }
}

nf_status
nf_udp_rx_recv(nf_udp_rx *rx, int fd, unsigned *n_out, nf_err *err)
{
    *n_out = 0;
    for (unsigned i = 0; i < rx->batch; i++) {
        rx->iov[i].iov_base = rx->bufs + (size_t)i * rx->max_datagram;
        rx->iov[i].iov_len = rx->max_datagram;
        struct msghdr *mh = &rx->hdrs[i].msg_hdr;
        mh->msg_name = &rx->addrs[i];
        mh->msg_namelen = sizeof(rx->addrs[i]);
        mh->msg_iov = &rx->iov[i];
        mh->msg_iovlen = 1;
        mh->msg_control = rx->ctrl[i];
        mh->msg_controllen = sizeof(rx->ctrl[i]);
        mh->msg_flags = 0;
    }
    /* MSG_WAITFORONE: block (up to SO_RCVTIMEO) for the first datagram, then take whatever
     * else is queued without waiting: one syscall per wakeup. */
    int got = recvmmsg(fd, rx->hdrs, rx->batch, MSG_WAITFORONE, NULL);
    if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return NF_OK;
        return nf_err_sys(err, NF_EIO, errno, "udp: recvmmsg");
    }
    for (int i = 0; i < got; i++) {
        struct msghdr *mh = &rx->hdrs[i].msg_hdr;
        nf_udp_msg *m = &rx->msgs[i];
        m->data = rx->iov[i].iov_base;
        m->len = rx->hdrs[i].msg_len;
        m->truncated = (mh->msg_flags & MSG_TRUNC) != 0;
        if (!nf_addr_from_sockaddr((struct sockaddr *)&rx->addrs[i], m->src_addr,
                                   &m->src_port)) {
            memset(m->src_addr, 0, 16);
            m->src_port = 0;
        }
        note_drops(rx, mh);
    }
    *n_out = (unsigned)got;
    return NF_OK;
}

const nf_udp_msg *
nf_udp_rx_msg(const nf_udp_rx *rx, unsigned i)
{
    return &rx->msgs[i];
}

uint64_t
nf_udp_rx_kernel_drops(const nf_udp_rx *rx)
{
    return rx->kernel_drops;
}

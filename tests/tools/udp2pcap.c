/* udp2pcap.c — records the UDP datagrams sent to a local port into a pcap file, so a test
 * can capture a real exporter's output without packet-capture privileges.
 *
 *   udp2pcap LISTEN_ADDR OUT.pcap [IDLE_MS]
 *
 * Binds LISTEN_ADDR (e.g. 127.0.0.1:0), prints the bound port on stdout (one line), then
 * writes every datagram as an Ethernet/IP/UDP frame with the sender's real address and
 * port. Stops IDLE_MS (default 2000) after the last datagram once at least one arrived, or
 * on SIGTERM/SIGINT.
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/addr.h"
#include "flowgen/flowgen.h"

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: udp2pcap LISTEN_ADDR OUT.pcap [IDLE_MS]\n");
        return 2;
    }
    int idle_ms = argc > 3 ? atoi(argv[3]) : 2000;
    char host[NF_ADDR_STRLEN];
    uint16_t port;
    struct sockaddr_storage ss;
    socklen_t sslen;
    if (!nf_hostport_parse(argv[1], host, sizeof(host), &port) ||
        !nf_sockaddr_make(host, port, &ss, &sslen)) {
        fprintf(stderr, "udp2pcap: bad address %s\n", argv[1]);
        return 2;
    }
    int fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    int big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, sslen) != 0) {
        perror("udp2pcap: bind");
        return 1;
    }
    struct sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    uint8_t local[16];
    getsockname(fd, (struct sockaddr *)&bound, &blen);
    nf_addr_from_sockaddr((struct sockaddr *)&bound, local, &port);
    printf("%u\n", port);
    fflush(stdout);

    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *out = pcap_dump_open(dead, argv[2]);
    if (out == NULL) {
        fprintf(stderr, "udp2pcap: %s\n", pcap_geterr(dead));
        return 1;
    }
    static uint8_t buf[65536], frame[65536 + FLOWGEN_FRAME_OVERHEAD];
    unsigned long count = 0;
    uint16_t ip_id = 0;
    while (!stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, count > 0 ? idle_ms : 60000);
        if (r == 0)
            break;
        if (r < 0)
            continue;
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &flen);
        if (n < 0)
            continue;
        uint8_t src[16];
        uint16_t sport;
        nf_addr_from_sockaddr((struct sockaddr *)&from, src, &sport);
        const uint8_t *dst = local;
        uint8_t dst_fix[16];
        if (nf_addr_is_v4(src) != nf_addr_is_v4(local)) { /* dual-stack socket */
            memcpy(dst_fix, local, 16);
            if (nf_addr_is_v4(src)) {
                static const uint8_t lo[4] = {127, 0, 0, 1};
                nf_addr_from_v4(dst_fix, lo);
            }
            dst = dst_fix;
        }
        size_t flen_out;
        if (flowgen_frame_build(src, sport, dst, port, ip_id++, buf, (size_t)n, frame,
                                sizeof(frame), &flen_out, NULL) != NF_OK)
            continue;
        struct pcap_pkthdr h;
        gettimeofday(&h.ts, NULL);
        h.caplen = h.len = (bpf_u_int32)flen_out;
        pcap_dump((u_char *)out, &h, frame);
        count++;
    }
    pcap_dump_close(out);
    pcap_close(dead);
    fprintf(stderr, "udp2pcap: %lu datagrams\n", count);
    return 0;
}

/* replay.c — sends the UDP payloads of a capture to a collector, keeping each exporter apart.
 *
 *   replay FILE.pcap HOST:PORT [--skip N] [--count N] [--pps N]
 *
 * Datagrams whose source address is a loopback address (127/8, as in flowgen's captures)
 * are sent from a socket bound to that address, so the collector sees the same exporters;
 * others are sent from 127.0.0.1. Each run binds fresh sockets, i.e. new source ports, like
 * an exporter that restarted its export process. --skip/--count select a slice of the
 * datagrams; --pps paces them against an absolute schedule (datagram i leaves at
 * start + i/pps, so sleep overshoot is caught up; default: as fast as possible). --loop N
 * sends the slice N times. The capture is loaded into memory first so reading it costs
 * nothing during the send. Prints the number sent and the seconds it took.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/addr.h"
#include "base/parse.h"
#include "capture/capture.h"

#define MAX_SOURCES 256

typedef struct source {
    uint8_t addr[16];
    int fd;
} source;

static int
socket_for(source *srcs, int *n, const uint8_t addr[16])
{
    static const uint8_t lo[4] = {127, 0, 0, 1};
    uint8_t use[16];
    if (nf_addr_is_v4(addr) && addr[12] == 127)
        memcpy(use, addr, 16);
    else
        nf_addr_from_v4(use, lo);
    for (int i = 0; i < *n; i++)
        if (memcmp(srcs[i].addr, use, 16) == 0)
            return srcs[i].fd;
    if (*n == MAX_SOURCES)
        return srcs[0].fd;
    struct sockaddr_in sin = {.sin_family = AF_INET};
    memcpy(&sin.sin_addr, use + 12, 4);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        perror("replay: bind");
        exit(1);
    }
    memcpy(srcs[*n].addr, use, 16);
    srcs[*n].fd = fd;
    (*n)++;
    return fd;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: replay FILE.pcap HOST:PORT [--skip N] [--count N] [--pps N] "
                        "[--loop N]\n");
        return 2;
    }
    uint64_t skip = 0, count = UINT64_MAX, pps = 0, loops = 1;
    for (int i = 3; i + 1 < argc; i += 2) {
        uint64_t *slot = strcmp(argv[i], "--skip") == 0    ? &skip
                         : strcmp(argv[i], "--count") == 0 ? &count
                         : strcmp(argv[i], "--pps") == 0   ? &pps
                         : strcmp(argv[i], "--loop") == 0  ? &loops
                                                           : NULL;
        if (slot == NULL || !nf_parse_u64(argv[i + 1], 0, UINT64_MAX, slot)) {
            fprintf(stderr, "replay: bad option %s\n", argv[i]);
            return 2;
        }
    }
    char host[NF_ADDR_STRLEN];
    uint16_t port;
    struct sockaddr_storage to;
    socklen_t tolen;
    if (!nf_hostport_parse(argv[2], host, sizeof(host), &port) || port == 0 ||
        !nf_sockaddr_make(host, port, &to, &tolen) || to.ss_family != AF_INET) {
        fprintf(stderr, "replay: target must be IPv4 host:port\n");
        return 2;
    }
    nf_pcap_reader *r = NULL;
    nf_err err;
    if (nf_pcap_open(argv[1], &r, &err) != NF_OK) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return 1;
    }
    /* Load the slice: payload bytes and the socket each goes out on. */
    static source srcs[MAX_SOURCES];
    int nsrcs = 0;
    size_t cap = 1024, n = 0;
    struct pkt {
        uint8_t *data;
        size_t len;
        int fd;
    } *pkts = malloc(cap * sizeof(*pkts));
    uint64_t index = 0;
    nf_udp_datagram u;
    while (n < count && nf_pcap_next(r, &u, &err) == NF_OK) {
        if (index++ < skip)
            continue;
        if (n == cap) {
            cap *= 2;
            pkts = realloc(pkts, cap * sizeof(*pkts));
        }
        pkts[n].data = malloc(u.len ? u.len : 1);
        memcpy(pkts[n].data, u.payload, u.len);
        pkts[n].len = u.len;
        pkts[n].fd = socket_for(srcs, &nsrcs, u.src);
        n++;
    }
    nf_pcap_close(r);

    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t sent = 0, errors = 0;
    for (uint64_t l = 0; l < loops; l++) {
        for (size_t i = 0; i < n; i++) {
            if (pps) {
                uint64_t due_ns = sent * 1000000000ull / pps;
                struct timespec due = {t0.tv_sec + (time_t)(due_ns / 1000000000ull),
                                       t0.tv_nsec + (long)(due_ns % 1000000000ull)};
                if (due.tv_nsec >= 1000000000L) {
                    due.tv_sec++;
                    due.tv_nsec -= 1000000000L;
                }
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL);
            }
            if (sendto(pkts[i].fd, pkts[i].data, pkts[i].len, 0, (struct sockaddr *)&to, tolen) < 0)
                errors++;
            sent++;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs = (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) / 1e9;
    for (size_t i = 0; i < n; i++)
        free(pkts[i].data);
    free(pkts);
    printf("{\"sent\":%llu,\"send_errors\":%llu,\"seconds\":%.3f}\n",
           (unsigned long long)sent, (unsigned long long)errors, secs);
    return 0;
}

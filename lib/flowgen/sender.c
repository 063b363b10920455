/* sender.c — flowgen datagrams to UDP sockets or a pcap file. See sender.h. */
#include "sender.h"

#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../base/addr.h"

#define SNDBUF (4 << 20) /* absorbs bursts at high rates */

struct flowgen_sender {
    flowgen *g;
    flowgen_sender_config cfg;
    uint32_t nexp;
    int *fds;              /* one per exporter; unused with pcap */
    uint8_t (*src)[16];    /* per exporter: the source address its datagrams carry */
    pcap_t *pd;
    pcap_dumper_t *dump;
    flowgen_counts total;
    flowgen_counts *per;   /* per exporter */
    uint64_t send_errors;
    uint16_t ip_id;
    size_t cap;            /* bytes per slot */
    uint8_t *bufs;         /* FLOWGEN_SENDER_BATCH slots */
    size_t lens[FLOWGEN_SENDER_BATCH];
    flowgen_datagram infos[FLOWGEN_SENDER_BATCH];
    int n;                 /* queued */
};

static nf_status
open_sockets(flowgen_sender *s, nf_err *err)
{
    struct sockaddr_storage dst;
    socklen_t dst_len;
    char host[NF_ADDR_STRLEN];
    if (!nf_sockaddr_make(nf_addr_format(s->cfg.target, host), s->cfg.port, &dst, &dst_len))
        return nf_err_set(err, NF_EINVAL, "flowgen: bad target %s", host);
    bool v4 = nf_addr_is_v4(s->cfg.target);
    for (uint32_t i = 0; i < s->nexp; i++) {
        char a[NF_ADDR_STRLEN];
        int fd = s->fds[i] = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return nf_err_sys(err, NF_EIO, errno, "flowgen: socket");
        int sz = SNDBUF;
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)); /* best effort */
        struct sockaddr_storage src;
        socklen_t src_len;
        if (s->cfg.bind_sources &&
            (!nf_sockaddr_make(nf_addr_format(s->src[i], a), 0, &src, &src_len) ||
             bind(fd, (struct sockaddr *)&src, src_len) != 0))
            return nf_err_sys(err, NF_EIO, errno, "flowgen: bind %s", a);
        /* Connected: faster sends, and an unreachable port shows up as a send error. */
        if (connect(fd, (struct sockaddr *)&dst, dst_len) != 0)
            return nf_err_sys(err, NF_EIO, errno, "flowgen: connect %s:%u", host, s->cfg.port);
        /* Unbound: report the address the kernel chose, which is what a collector sees. */
        uint16_t port;
        src_len = sizeof(src);
        if (!s->cfg.bind_sources && getsockname(fd, (struct sockaddr *)&src, &src_len) == 0)
            nf_addr_from_sockaddr((struct sockaddr *)&src, s->src[i], &port);
    }
    return NF_OK;
}

nf_status
flowgen_sender_open(flowgen *g, const flowgen_sender_config *cfg, flowgen_sender **out,
                    nf_err *err)
{
    flowgen_sender *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return nf_err_set(err, NF_ENOMEM, "flowgen: out of memory");
    s->g = g;
    s->cfg = *cfg;
    s->nexp = flowgen_exporter_count(g);
    s->cap = FLOWGEN_MAX_DATAGRAM;
    s->per = calloc(s->nexp, sizeof(*s->per));
    s->fds = malloc(s->nexp * sizeof(*s->fds));
    s->src = malloc(s->nexp * sizeof(*s->src));
    s->bufs = malloc(FLOWGEN_SENDER_BATCH * s->cap);
    if (s->per == NULL || s->fds == NULL || s->src == NULL || s->bufs == NULL) {
        flowgen_sender_close(s, NULL);
        return nf_err_set(err, NF_ENOMEM, "flowgen: out of memory for %u exporters", s->nexp);
    }
    for (uint32_t i = 0; i < s->nexp; i++) {
        flowgen_exporter ex;
        flowgen_exporter_get(g, i, &ex);
        memcpy(s->src[i], ex.addr, 16);
        s->fds[i] = -1;
    }
    nf_status st = NF_OK;
    if (cfg->pcap_path != NULL) {
        s->pd = pcap_open_dead(DLT_EN10MB, 65535);
        s->dump = s->pd ? pcap_dump_open(s->pd, cfg->pcap_path) : NULL;
        if (s->dump == NULL)
            st = nf_err_set(err, NF_EIO, "flowgen: pcap %s: %s", cfg->pcap_path,
                            s->pd ? pcap_geterr(s->pd) : "cannot open");
    } else {
        st = open_sockets(s, err);
    }
    if (st != NF_OK) {
        flowgen_sender_close(s, NULL);
        return st;
    }
    *out = s;
    return NF_OK;
}

static void
count_sent(flowgen_sender *s, const flowgen_datagram *d)
{
    flowgen_counts *cs[2] = {&s->total, &s->per[d->exporter]};
    for (int k = 0; k < 2; k++) {
        cs[k]->datagrams++;
        cs[k]->flows += d->flows;
        cs[k]->bytes += d->bytes;
        cs[k]->packets += d->packets;
        cs[k]->template_datagrams += d->has_templates;
    }
}

uint8_t *
flowgen_sender_slot(flowgen_sender *s, size_t *cap)
{
    *cap = s->cap;
    return s->bufs + (size_t)s->n * s->cap;
}

/* Sends the queue: one sendmmsg run per exporter, in datagram order within each. */
void
flowgen_sender_flush(flowgen_sender *s)
{
    bool done[FLOWGEN_SENDER_BATCH] = {false};
    for (int i = 0; i < s->n; i++) {
        if (done[i])
            continue;
        struct mmsghdr msgs[FLOWGEN_SENDER_BATCH];
        struct iovec iov[FLOWGEN_SENDER_BATCH];
        int slot[FLOWGEN_SENDER_BATCH], m = 0;
        for (int j = i; j < s->n; j++) {
            if (done[j] || s->infos[j].exporter != s->infos[i].exporter)
                continue;
            done[j] = true;
            iov[m] = (struct iovec){s->bufs + (size_t)j * s->cap, s->lens[j]};
            memset(&msgs[m], 0, sizeof(msgs[m]));
            msgs[m].msg_hdr.msg_iov = &iov[m];
            msgs[m].msg_hdr.msg_iovlen = 1;
            slot[m++] = j;
        }
        int fd = s->fds[s->infos[i].exporter];
        for (int k = 0; k < m;) {
            int r = sendmmsg(fd, msgs + k, (unsigned)(m - k), 0);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0) { /* the datagram at k failed; count it and go on */
                s->send_errors++;
                k++;
                continue;
            }
            for (int q = 0; q < r; q++)
                count_sent(s, &s->infos[slot[k + q]]);
            k += r;
        }
    }
    s->n = 0;
}

static nf_status
write_pcap(flowgen_sender *s, const uint8_t *data, size_t len, const flowgen_datagram *d,
           nf_err *err)
{
    static uint8_t frame[FLOWGEN_MAX_DATAGRAM + FLOWGEN_FRAME_OVERHEAD];
    size_t flen;
    if (flowgen_frame_build(d->exporter_addr, (uint16_t)(40000 + d->exporter % 20000),
                            s->cfg.target, s->cfg.port, s->ip_id++, data, len, frame,
                            sizeof(frame), &flen, err) != NF_OK)
        return NF_EIO;
    struct pcap_pkthdr h = {.caplen = (bpf_u_int32)flen, .len = (bpf_u_int32)flen};
    h.ts.tv_sec = (time_t)(d->virtual_ms / 1000);
    h.ts.tv_usec = (suseconds_t)(d->virtual_ms % 1000 * 1000);
    pcap_dump((u_char *)s->dump, &h, frame);
    count_sent(s, d);
    return NF_OK;
}

nf_status
flowgen_sender_commit(flowgen_sender *s, size_t len, const flowgen_datagram *info, nf_err *err)
{
    if (s->dump != NULL)
        return write_pcap(s, s->bufs, len, info, err);
    s->lens[s->n] = len;
    s->infos[s->n] = *info;
    if (++s->n == FLOWGEN_SENDER_BATCH)
        flowgen_sender_flush(s);
    return NF_OK;
}

void
flowgen_sender_totals(const flowgen_sender *s, flowgen_counts *total, uint64_t *send_errors)
{
    *total = s->total;
    *send_errors = s->send_errors;
}

void
flowgen_sender_write_json(const flowgen_sender *s, FILE *out, uint64_t elapsed_ms)
{
    fprintf(out,
            "{\"datagrams\":%" PRIu64 ",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64
            ",\"packets\":%" PRIu64 ",\"template_datagrams\":%" PRIu64
            ",\"send_errors\":%" PRIu64 ",\"elapsed_ms\":%" PRIu64 ",\"exporters\":[",
            s->total.datagrams, s->total.flows, s->total.bytes, s->total.packets,
            s->total.template_datagrams, s->send_errors, elapsed_ms);
    for (uint32_t i = 0; i < s->nexp; i++) {
        flowgen_exporter ex;
        char a[NF_ADDR_STRLEN];
        flowgen_exporter_get(s->g, i, &ex);
        const flowgen_counts *c = &s->per[i];
        fprintf(out,
                "%s{\"address\":\"%s\",\"protocol\":\"%s\",\"domain\":%u,\"datagrams\":%" PRIu64
                ",\"flows\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"packets\":%" PRIu64 "}",
                i ? "," : "", nf_addr_format(s->src[i], a), flowgen_protocol_name(ex.version),
                ex.domain, c->datagrams, c->flows, c->bytes, c->packets);
    }
    fprintf(out, "]}\n");
    fflush(out);
}

nf_status
flowgen_sender_close(flowgen_sender *s, nf_err *err)
{
    if (s == NULL)
        return NF_OK;
    nf_status st = NF_OK;
    if (s->dump == NULL && s->fds != NULL)
        flowgen_sender_flush(s);
    if (s->dump != NULL) {
        if (pcap_dump_flush(s->dump) != 0)
            st = nf_err_set(err, NF_EIO, "flowgen: pcap %s: write failed", s->cfg.pcap_path);
        pcap_dump_close(s->dump);
    }
    if (s->pd != NULL)
        pcap_close(s->pd);
    for (uint32_t i = 0; s->fds != NULL && i < s->nexp; i++)
        if (s->fds[i] >= 0)
            close(s->fds[i]);
    free(s->fds);
    free(s->src);
    free(s->per);
    free(s->bufs);
    free(s);
    return st;
}

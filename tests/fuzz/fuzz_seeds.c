/* fuzz_seeds.c — writes a seed corpus for fuzz_decode in its input framing
 * ({u8 flags, u16 length, datagram}...): conversations from flowgen (v5, v9, IPFIX, sampled,
 * IPv6) and, when a capture directory is given, one seed per capture file with all its UDP
 * payloads in order.
 *
 *   fuzz_seeds OUT_DIR [CAPTURE_DIR]
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/capture.h"
#include "flowgen/flowgen.h"

#define SEED_MAX (60 * 1024)

typedef struct seed {
    uint8_t buf[SEED_MAX];
    size_t len;
} seed;

static int
seed_add(seed *s, uint8_t flags, const uint8_t *p, size_t len)
{
    if (len > 0xffff || s->len + 3 + len > SEED_MAX)
        return -1;
    s->buf[s->len++] = flags;
    s->buf[s->len++] = (uint8_t)(len >> 8);
    s->buf[s->len++] = (uint8_t)len;
    memcpy(s->buf + s->len, p, len);
    s->len += len;
    return 0;
}

static int
seed_write(const char *dir, const char *name, const seed *s)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(s->buf, 1, s->len, fp) != s->len) {
        perror(path);
        if (fp)
            fclose(fp);
        return -1;
    }
    return fclose(fp);
}

static int
flowgen_seed(const char *dir, const char *name, flowgen_protocol proto, uint32_t rate,
             uint32_t v6, uint32_t exporters)
{
    flowgen_config cfg;
    flowgen_config_default(&cfg);
    cfg.protocol = proto;
    cfg.sampling_rate = rate;
    cfg.ipv6_share = v6;
    cfg.exporters = exporters;
    cfg.template_interval = 3;
    cfg.max_datagram = 600;
    flowgen *g = NULL;
    if (flowgen_create(&cfg, &g, NULL) != NF_OK)
        return -1;
    static seed s;
    s.len = 0;
    uint8_t dg[600];
    for (int i = 0; i < 12; i++) {
        size_t len;
        flowgen_datagram info;
        if (flowgen_next(g, 4, dg, sizeof(dg), &len, &info) != NF_OK)
            break;
        if (seed_add(&s, (uint8_t)(info.exporter & 3), dg, len) != 0)
            break;
    }
    flowgen_destroy(g);
    return seed_write(dir, name, &s);
}

static int
capture_seed(const char *dir, const char *capdir, const char *file)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", capdir, file);
    nf_pcap_reader *r = NULL;
    if (nf_pcap_open(path, &r, NULL) != NF_OK)
        return -1;
    static seed s;
    s.len = 0;
    nf_udp_datagram u;
    while (nf_pcap_next(r, &u, NULL) == NF_OK)
        if (seed_add(&s, 0, u.payload, u.len) != 0)
            break;
    nf_pcap_close(r);
    char name[512];
    snprintf(name, sizeof(name), "capture-%s", file);
    return seed_write(dir, name, &s);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz_seeds OUT_DIR [CAPTURE_DIR]\n");
        return 2;
    }
    int bad = 0;
    bad |= flowgen_seed(argv[1], "flowgen-v5", FLOWGEN_V5, 1, 0, 2);
    bad |= flowgen_seed(argv[1], "flowgen-v5-sampled", FLOWGEN_V5, 100, 0, 1);
    bad |= flowgen_seed(argv[1], "flowgen-v9", FLOWGEN_V9, 1, 30, 2);
    bad |= flowgen_seed(argv[1], "flowgen-v9-sampled", FLOWGEN_V9, 512, 50, 1);
    bad |= flowgen_seed(argv[1], "flowgen-ipfix", FLOWGEN_IPFIX, 1, 30, 2);
    bad |= flowgen_seed(argv[1], "flowgen-ipfix-sampled", FLOWGEN_IPFIX, 64, 50, 1);
    bad |= flowgen_seed(argv[1], "flowgen-mix", FLOWGEN_MIX, 1, 20, 3);
    if (argc > 2) {
        DIR *d = opendir(argv[2]);
        struct dirent *de;
        while (d != NULL && (de = readdir(d)) != NULL) {
            size_t n = strlen(de->d_name);
            if (n > 5 && strcmp(de->d_name + n - 5, ".pcap") == 0)
                bad |= capture_seed(argv[1], argv[2], de->d_name);
        }
        if (d != NULL)
            closedir(d);
    }
    return bad ? 1 : 0;
}

/* fuzz_flowbatch_seeds.c — writes a seed corpus for fuzz_flowbatch: batches from our encoder
 * (empty, IPv4, IPv6 with every field set, one with a loss report) and one in the PRD's
 * shape (text addresses only) from the protobuf-c generated encoder.
 *
 *   fuzz_flowbatch_seeds OUT_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "netflow.pb-c.h"
#include "proto/flowbatch.h"

static int
write_seed(const char *dir, const char *name, const uint8_t *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(buf, 1, len, fp) != len) {
        perror(path);
        if (fp)
            fclose(fp);
        return -1;
    }
    return fclose(fp);
}

static nf_flow
sample_flow(unsigned i, int v6)
{
    nf_flow f;
    memset(&f, 0, sizeof(f));
    char src[64], dst[64];
    snprintf(src, sizeof(src), v6 ? "2001:db8::%x" : "192.0.2.%u", i + 1);
    snprintf(dst, sizeof(dst), v6 ? "2001:db8:1::%x" : "198.51.100.%u", i + 7);
    nf_addr_parse(src, f.src_addr);
    nf_addr_parse(dst, f.dst_addr);
    nf_addr_parse(v6 ? "fe80::1" : "10.0.0.1", f.next_hop);
    nf_addr_parse("127.0.0.10", f.exporter);
    f.ip_version = v6 ? 6 : 4;
    f.bytes = 1500u * (i + 1);
    f.packets = i + 1;
    f.first_ms = 1795000000000u + i;
    f.last_ms = f.first_ms + 250;
    f.received_ms = f.last_ms + 1000;
    f.in_if = 3, f.out_if = 4, f.src_as = 64500, f.dst_as = 64501;
    f.domain = 7, f.sampling_rate = 10;
    f.src_port = (uint16_t)(40000 + i), f.dst_port = 443;
    f.protocol = 6, f.tcp_flags = 0x1b, f.tos = 0x10, f.src_mask = 24, f.dst_mask = 16;
    f.flow_type = v6 ? 10 : 9;
    return f;
}

static int
batch_seed(const char *dir, const char *name, unsigned records, int v6, uint64_t dropped)
{
    nf_flowbatch_writer w = {0};
    for (unsigned i = 0; i < records; i++) {
        nf_flow f = sample_flow(i, v6);
        nf_flowbatch_add(&w, &f, 1000 + i, NF_FLOWBATCH_MAX_BYTES);
    }
    size_t len;
    const uint8_t *buf = nf_flowbatch_finish(&w, "edge-1", "poller-1", dropped, &len);
    int rc = buf ? write_seed(dir, name, buf, len) : -1;
    nf_flowbatch_writer_free(&w);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_flowbatch_seeds OUT_DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    int rc = batch_seed(dir, "empty", 0, 0, 0) | batch_seed(dir, "v4", 3, 0, 0) |
             batch_seed(dir, "v6", 3, 1, 0) | batch_seed(dir, "lost", 2, 0, 500);

    Netflow__FlowRecord r = NETFLOW__FLOW_RECORD__INIT;
    r.timestamp = 1795000000;
    r.src_ip = "192.0.2.1";
    r.dst_ip = "2001:db8::2";
    r.src_port = 53;
    r.dst_port = 5353;
    r.protocol = 17;
    r.bytes = 512;
    Netflow__FlowRecord *recs[] = {&r};
    Netflow__FlowBatch b = NETFLOW__FLOW_BATCH__INIT;
    b.agent_id = "prd";
    b.n_records = 1;
    b.records = recs;
    uint8_t buf[512];
    size_t len = netflow__flow_batch__pack(&b, buf);
    rc |= write_seed(dir, "prd-text", buf, len);
    return rc == 0 ? 0 : 1;
}

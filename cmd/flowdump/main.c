/* serviceradar-flowdump — decode the NetFlow v5/v9/IPFIX datagrams in a capture file.
 *
 *   serviceradar-flowdump FILE.pcap [--port N]... [--summary-only] [--no-backlog]
 *
 * Prints one JSON object per flow on stdout, then a summary (frames, datagrams, flows,
 * templates, drops by reason, exporters) as one JSON line on stderr — or on stdout alone
 * with --summary-only. The capture's timestamps stand in for receive times, so template
 * backlog ageing behaves as it did on the wire. Exit status: 0, 1 on I/O error, 2 on usage.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/parse.h"
#include "capture/capture.h"
#include "decode/decode_report.h"
#include "decode/nf_decode.h"
#include "flow/flow_json.h"

#define MAX_PORTS 16

typedef struct opts {
    const char *path;
    uint16_t ports[MAX_PORTS];
    int nports;
    bool summary_only;
    bool no_backlog;
} opts;

static int
usage(const char *why)
{
    fprintf(stderr,
            "serviceradar-flowdump: %s\n"
            "usage: serviceradar-flowdump FILE.pcap [--port N]... [--summary-only] "
            "[--no-backlog]\n",
            why);
    return 2;
}

static int
parse_args(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        uint64_t port;
        if (strcmp(argv[i], "--port") == 0) {
            if (i + 1 >= argc || !nf_parse_u64(argv[i + 1], 1, 65535, &port))
                return usage("--port needs a number 1..65535");
            if (o->nports == MAX_PORTS)
                return usage("at most 16 --port options");
            o->ports[o->nports++] = (uint16_t)port;
            i++;
        } else if (strcmp(argv[i], "--summary-only") == 0) {
            o->summary_only = true;
        } else if (strcmp(argv[i], "--no-backlog") == 0) {
            o->no_backlog = true;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage("unknown option");
        } else if (o->path == NULL) {
            o->path = argv[i];
        } else {
            return usage("only one capture file");
        }
    }
    return o->path == NULL ? usage("no capture file given") : 0;
}

static bool
port_wanted(const opts *o, uint16_t port)
{
    if (o->nports == 0)
        return true;
    for (int i = 0; i < o->nports; i++)
        if (o->ports[i] == port)
            return true;
    return false;
}

static void
print_flow(void *ctx, const nf_flow *f)
{
    char line[NF_FLOW_JSON_MAX];
    size_t n = nf_flow_to_json(f, line, sizeof(line));
    line[n] = '\n';
    fwrite(line, 1, n + 1, (FILE *)ctx);
}

static void
ignore_flow(void *ctx, const nf_flow *f)
{
    (void)ctx;
    (void)f;
}

static json_t *
summary(nf_decoder *d, const nf_pcap_stats *ps, uint64_t port_skipped, uint64_t last_ms)
{
    size_t n = nf_decoder_exporters(d, NULL, 0);
    nf_exporter_info *xs = calloc(n ? n : 1, sizeof(*xs));
    n = xs ? nf_decoder_exporters(d, xs, n) : 0;
    json_t *exporters = nf_exporters_json(xs, n);
    free(xs);
    /* Sets still waiting for a template at the end of the capture are drops: expire them
     * (after the exporter list was taken, since expiry also forgets idle exporters). */
    nf_decoder_expire(d, last_ms + UINT32_MAX);
    json_t *skipped = json_object();
    for (int s = 1; s < NF_FRAME_SKIP_COUNT; s++)
        json_object_set_new(skipped, nf_frame_skip_name((nf_frame_skip)s),
                            json_integer((json_int_t)ps->skipped[s]));
    json_object_set_new(skipped, "port_filter", json_integer((json_int_t)port_skipped));
    return json_pack("{s:I,s:I,s:o,s:o,s:o}", "frames", (json_int_t)ps->frames, "datagrams",
                     (json_int_t)ps->datagrams, "skipped", skipped, "decoder",
                     nf_decode_counters_json(nf_decoder_counters(d)), "exporters", exporters);
}

int
main(int argc, char **argv)
{
    opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc;

    nf_err err = {0};
    nf_pcap_reader *r = NULL;
    nf_decoder *d = NULL;
    nf_decoder_config cfg;
    nf_decoder_config_default(&cfg);
    if (o.no_backlog)
        cfg.backlog_sets = 0;
    if (nf_pcap_open(o.path, &r, &err) != NF_OK || nf_decoder_create(&cfg, &d, &err) != NF_OK) {
        fprintf(stderr, "serviceradar-flowdump: %s\n", err.msg);
        nf_pcap_close(r);
        return 1;
    }

    nf_udp_datagram u;
    nf_status s;
    uint64_t port_skipped = 0, last_ms = 0, last_expire = 0;
    while ((s = nf_pcap_next(r, &u, &err)) == NF_OK) {
        if (!port_wanted(&o, u.dst_port)) {
            port_skipped++;
            continue;
        }
        nf_datagram dg = {.data = u.payload, .len = u.len, .src_port = u.src_port,
                          .received_ms = u.ts_ms};
        memcpy(dg.src_addr, u.src, 16);
        nf_decoder_decode(d, &dg, o.summary_only ? ignore_flow : print_flow, stdout);
        last_ms = u.ts_ms;
        if (last_ms >= last_expire + 1000) {
            nf_decoder_expire(d, last_ms);
            last_expire = last_ms;
        }
    }
    if (s != NF_ENOTFOUND)
        fprintf(stderr, "serviceradar-flowdump: %s\n", err.msg);

    json_t *sum = summary(d, nf_pcap_stats_get(r), port_skipped, last_ms);
    json_dumpf(sum, o.summary_only ? stdout : stderr, JSON_COMPACT);
    fputc('\n', o.summary_only ? stdout : stderr);
    json_decref(sum);
    nf_decoder_destroy(d);
    nf_pcap_close(r);
    return s == NF_ENOTFOUND ? 0 : 1;
}

/* fuzz_decode.c — libFuzzer target for the decoder, the state loader and the frame parser.
 *
 * Input framing, so one input can carry a conversation (templates, then data that uses
 * them, withdrawals, restarts):
 *
 *   repeated { u8 flags, u16 length (big-endian), length bytes of datagram }
 *
 * flags bit 0..1 pick one of four exporter addresses, bit 2 changes the source port, bit 3
 * runs expiry with a time far in the future, bit 4 feeds the datagram to the state loader
 * instead, bit 5 to the pcap frame parser (Ethernet). A trailing incomplete frame is used as
 * is. Limits are set small so the limit paths are reachable. After the input, the decoder's
 * state is saved, loaded into a fresh decoder and the last datagram is decoded again there,
 * so the state writer and reader are exercised on every state the fuzzer reaches.
 *
 * The sink checks what a consumer relies on: ip_version is 0, 4 or 6; IPv4 flows carry
 * IPv4-mapped source and destination addresses; the sampling rate is at least 1.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/addr.h"
#include "capture/capture.h"
#include "decode/nf_decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_flow(void *ctx, const nf_flow *f)
{
    (void)ctx;
    if (f->ip_version != 0 && f->ip_version != 4 && f->ip_version != 6)
        abort();
    if (f->ip_version == 4 && (!nf_addr_is_v4(f->src_addr) || !nf_addr_is_v4(f->dst_addr)))
        abort();
    if (f->sampling_rate == 0)
        abort();
}

static nf_decoder *
small_decoder(void)
{
    nf_decoder_config cfg;
    nf_decoder_config_default(&cfg);
    cfg.max_exporters = 3;
    cfg.max_templates = 6;
    cfg.max_templates_total = 12;
    cfg.max_template_fields = 64;
    cfg.max_samplers = 3;
    cfg.backlog_sets = 4;
    cfg.backlog_bytes = 2048;
    cfg.backlog_total_bytes = 4096;
    cfg.backlog_max_age_ms = 1000;
    nf_decoder *d = NULL;
    if (nf_decoder_create(&cfg, &d, NULL) != NF_OK)
        abort();
    return d;
}

/* Exporter address chosen by the low two flag bits: three IPv4 and one IPv6. */
static void
set_source(nf_datagram *dg, uint8_t flags)
{
    static const uint8_t v4[3][4] = {{10, 0, 0, 1}, {10, 0, 0, 2}, {192, 0, 2, 1}};
    if ((flags & 3) == 3) {
        memset(dg->src_addr, 0, 16);
        dg->src_addr[0] = 0x20;
        dg->src_addr[1] = 0x01;
        dg->src_addr[15] = 1;
    } else {
        nf_addr_from_v4(dg->src_addr, v4[flags & 3]);
    }
    dg->src_port = (flags & 4) ? 4000 : 2055;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nf_decoder *d = small_decoder();
    nf_datagram dg = {0};
    uint64_t now = 1700000000000ull;
    const uint8_t *last = NULL;
    size_t last_len = 0;
    uint8_t last_flags = 0;

    size_t off = 0;
    while (off < size) {
        uint8_t flags = data[off++];
        size_t len = size - off;
        if (len >= 2) {
            size_t want = (size_t)data[off] << 8 | data[off + 1];
            off += 2;
            len = want < size - off ? want : size - off;
        } else {
            off += len;
            len = 0;
        }
        const uint8_t *p = data + off;
        off += len;
        now += 1000;

        /* Copy into an exact-size heap buffer so ASan sees any over-read. */
        uint8_t *buf = malloc(len ? len : 1);
        memcpy(buf, p, len);
        if (flags & 0x10) {
            nf_decoder_load_state(d, buf, len, NULL, NULL);
        } else if (flags & 0x20) {
            nf_udp_datagram u;
            nf_frame_udp(1 /* DLT_EN10MB */, buf, len, &u);
        } else {
            set_source(&dg, flags);
            dg.data = buf;
            dg.len = len;
            dg.received_ms = now;
            nf_decoder_decode(d, &dg, check_flow, NULL);
            last = p;
            last_len = len;
            last_flags = flags;
        }
        free(buf);
        if (flags & 8)
            nf_decoder_expire(d, now + 86400000ull * 2);
    }

    uint8_t *state = NULL;
    size_t state_len = 0;
    if (nf_decoder_save_state(d, &state, &state_len, NULL) == NF_OK) {
        nf_decoder *d2 = small_decoder();
        if (nf_decoder_load_state(d2, state, state_len, NULL, NULL) != NF_OK)
            abort(); /* what we wrote we must be able to read */
        if (last != NULL) {
            uint8_t *buf = malloc(last_len ? last_len : 1);
            memcpy(buf, last, last_len);
            set_source(&dg, last_flags);
            dg.data = buf;
            dg.len = last_len;
            nf_decoder_decode(d2, &dg, check_flow, NULL);
            free(buf);
        }
        nf_decoder_destroy(d2);
        free(state);
    }
    nf_decoder_destroy(d);
    return 0;
}

/* flowsrc.h — the deterministic flowgen traffic the loaders share (chload into ClickHouse,
 * coldload into the Iceberg table), so the same options give the same flows in both tiers:
 * flowgen's model from 9 exporters (v5, v9 and IPFIX, 10 % IPv6), N flows spread evenly
 * over the D days before --until (or as dense as --rate flows/s), every flow sampled 1 in
 * --sampling, each received a second after it ended.
 *
 * Header-only (static functions) so both tools compile it without a shared library.
 * Not thread-safe; one flowsrc per loop.
 */
#ifndef NFX_TESTS_TOOLS_FLOWSRC_H
#define NFX_TESTS_TOOLS_FLOWSRC_H

#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "flowgen/flowgen.h"

#define FLOWSRC_DATAGRAM_CAP 65536

typedef void flowsrc_emit(void *ctx, const nf_flow *flow);

typedef struct flowsrc {
    uint64_t flows, days, rate, until, seed, sampling; /* the loaders' options; 0 = default */
    flowsrc_emit *emit; /* called once per flow, received_ms set; flow borrowed */
    void *ctx;
    const int *failed;  /* stop early when *failed becomes non-zero (may be NULL) */
    uint64_t done;      /* flows emitted */
} flowsrc;

static inline void
flowsrc_hook(void *ctx, const nf_flow *flow)
{
    flowsrc *s = ctx;
    if (s->done >= s->flows || (s->failed != NULL && *s->failed))
        return;
    nf_flow f = *flow;
    f.received_ms = f.last_ms + 1000; /* an export a second after the flow ended */
    s->done++;
    s->emit(s->ctx, &f);
}

/* Generates s->flows flows into s->emit (fewer if *s->failed is set). NF_OK, or flowgen's
 * error, or NF_ENOMEM. */
static inline nf_status
flowsrc_run(flowsrc *s, nf_err *err)
{
    flowgen_config fc;
    flowgen_config_default(&fc);
    fc.protocol = FLOWGEN_MIX;
    fc.exporters = 9;
    fc.seed = s->seed;
    fc.sampling_rate = (uint32_t)(s->sampling ? s->sampling : 1);
    /* The virtual clock: N flows over D days, or at --rate flows per second (as dense as
     * traffic arriving at that rate: what the writer sees when ingesting that fast). */
    uint64_t span_s = s->rate ? s->flows / s->rate + 1 : s->days * 86400;
    uint64_t until = s->until ? s->until : (uint64_t)time(NULL);
    fc.start_ms = (until - span_s) * 1000u;
    fc.flows_per_sec =
        (uint32_t)(s->rate ? s->rate : (s->flows / span_s > 0 ? s->flows / span_s : 1));
    flowgen *g = NULL;
    nf_status st = flowgen_create(&fc, &g, err);
    if (st != NF_OK)
        return st;
    flowgen_set_flow_hook(g, flowsrc_hook, s);
    uint8_t *buf = malloc(FLOWSRC_DATAGRAM_CAP);
    if (buf == NULL)
        st = nf_err_set(err, NF_ENOMEM, "flowsrc: out of memory");
    while (buf != NULL && s->done < s->flows && !(s->failed != NULL && *s->failed)) {
        size_t len;
        if (flowgen_next(g, 0, buf, FLOWSRC_DATAGRAM_CAP, &len, NULL) != NF_OK)
            break;
    }
    free(buf);
    flowgen_destroy(g);
    return st;
}

#endif

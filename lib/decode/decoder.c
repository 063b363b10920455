/* decoder.c — the decoder object: exporter table, dispatch by version, sequence tracking,
 * expiry and the read-only views (counters, exporters).
 *
 * Exporter keys live in a chained hash table sized at creation for max_exporters (so it
 * never rehashes) with a one-entry cache, since datagrams from one exporter come in runs.
 *
 * Sequence tracking, per exporter key. Units: v9 counts export datagrams, v5 and IPFIX
 * count records. With `expected` the sequence the next datagram should carry:
 *
 *     delta = (int32)(seq - expected)          wrap-safe at 2^32
 *     delta == 0                    in order
 *     0 < delta <= max_gap          [expected, seq) becomes an open gap
 *     -window <= delta < 0          late datagram (reordered): it closes what it covers of
 *                                   the open gaps
 *     otherwise, or a new UDP       exporter restart / resync: counted as a reset, not loss
 *     source port with delta != 0
 *
 * Record-counting exporters disagree on what they count. RFC 7011: data records (flows and
 * options) sent before this datagram. Seen in the wild: flows only, and counts that
 * include the datagram's own records (softflowd's IPFIX counts its flows that way). The
 * tracker keeps the reading that last matched, and when a datagram does not match it but
 * does match another reading exactly, switches to that one instead of reporting loss —
 * until a reading has matched SEQ_MODE_PROVEN datagrams in a row; from then on a mismatch
 * is loss (so a coincidence cannot hide real loss on an established exporter).
 * Every reading is normalised to "start = sequence before this datagram's units", so the
 * gap bookkeeping below is the same for all.
 *
 * An open gap is confirmed as lost once the sequence has moved more than `window` past it
 * (or when more than SEQ_GAPS gaps are open, or at a reset, or when the exporter is
 * forgotten). So loss counters only ever grow and reordering within the window is never
 * reported as loss.
 *
 * IPFIX datagrams whose records could not all be counted (data before its template) end
 * the run: tracking restarts at the next datagram rather than report a false loss.
 * Templates are NOT flushed on a reset: a restarted exporter re-sends its templates before
 * use, and capture 17 of the test corpus shows an exporter changing port and sequence while
 * still using a template it defined before.
 */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Loss larger than this in one step is a restart, not loss: 1 M records or 64 k packets is
 * more than a minute of a busy exporter's output. */
#define SEQ_MAX_GAP_RECORDS 1000000
#define SEQ_MAX_GAP_PACKETS 65536
/* How far back a late datagram may be and still count as reordering. */
#define SEQ_WINDOW_RECORDS 100000
#define SEQ_WINDOW_PACKETS 1000
/* Datagrams in a row that must match a reading before it is trusted (no more switching). */
#define SEQ_MODE_PROVEN 3

static const char *const drop_names[NF_DROP_REASON_COUNT] = {
    [NF_DROP_SHORT_HEADER] = "short_header",
    [NF_DROP_BAD_VERSION] = "bad_version",
    [NF_DROP_V5_COUNT] = "v5_bad_count",
    [NF_DROP_MSG_LENGTH] = "bad_message_length",
    [NF_DROP_SET_LENGTH] = "bad_set_length",
    [NF_DROP_RESERVED_SET] = "reserved_set_id",
    [NF_DROP_BAD_TEMPLATE] = "bad_template",
    [NF_DROP_TEMPLATE_LIMIT] = "template_limit",
    [NF_DROP_EXPORTER_LIMIT] = "exporter_limit",
    [NF_DROP_NO_TEMPLATE] = "no_template",
    [NF_DROP_SHORT_RECORD] = "short_record",
    [NF_DROP_BAD_FIELD_LENGTH] = "bad_field_length",
    [NF_DROP_SAMPLER_LIMIT] = "sampler_limit",
};

const char *
nf_drop_reason_name(nf_drop_reason r)
{
    if ((unsigned)r >= NF_DROP_REASON_COUNT)
        return "unknown";
    return drop_names[r];
}

void
nf_decoder_config_default(nf_decoder_config *c)
{
    c->max_exporters = 4096;
    c->max_templates = 1024;
    c->max_templates_total = 16384;
    c->max_template_fields = 512;
    c->max_samplers = 64;
    c->backlog_sets = 256;
    c->backlog_bytes = 65536;
    c->backlog_total_bytes = 8u << 20;
    c->backlog_max_age_ms = 60000;
    c->exporter_idle_ms = 24u * 3600u * 1000u;
}

nf_status
nf_decoder_create(const nf_decoder_config *cfg, nf_decoder **out, nf_err *err)
{
    nf_decoder *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return nf_err_set(err, NF_ENOMEM, "decoder: out of memory");
    if (cfg != NULL)
        d->cfg = *cfg;
    else
        nf_decoder_config_default(&d->cfg);
    if (d->cfg.max_exporters == 0 || d->cfg.max_exporters > (1u << 24)) {
        uint32_t bad = d->cfg.max_exporters;
        free(d);
        return nf_err_set(err, NF_EINVAL, "decoder: max_exporters %u out of range 1..16777216",
                          bad);
    }
    d->nbuckets = 16;
    while (d->nbuckets < d->cfg.max_exporters)
        d->nbuckets <<= 1;
    d->buckets = calloc(d->nbuckets, sizeof(*d->buckets));
    if (d->buckets == NULL) {
        uint32_t n = d->nbuckets;
        free(d);
        return nf_err_set(err, NF_ENOMEM, "decoder: out of memory for %u buckets", n);
    }
    *out = d;
    return NF_OK;
}

static void
exporter_free(nf_decoder *d, exporter *e)
{
    seq_confirm_all(d, e);
    template_free_all(d, e);
    backlog_free(d, e);
    free(e->samplers);
    free(e);
}

static uint32_t
key_hash(const uint8_t addr[16], uint8_t version, uint32_t domain)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ addr[i]) * 16777619u;
    for (int i = 0; i < 4; i++)
        h = (h ^ ((domain >> (8 * i)) & 0xffu)) * 16777619u;
    h = (h ^ version) * 16777619u;
    return h;
}

#ifndef NDEBUG
/* Invariants 2-4 of internal.h for one exporter. */
bool
exporter_check(const nf_decoder *d, const exporter *e)
{
    (void)d;
    bool cached = e->last_tmpl == NULL;
    for (uint32_t i = 0; i < e->ntemplates; i++) {
        if (i > 0 && e->templates[i - 1]->id >= e->templates[i]->id)
            return false;
        if (e->templates[i]->rec_len == 0)
            return false;
        cached |= e->templates[i] == e->last_tmpl;
    }
    uint32_t sets = 0, bytes = 0;
    const backlog_entry *last = NULL;
    for (const backlog_entry *b = e->bl_head; b != NULL; b = b->next) {
        sets++;
        bytes += b->len;
        last = b;
    }
    return cached && e->ntemplates <= e->templates_cap && sets == e->bl_sets &&
           bytes == e->bl_bytes && last == e->bl_tail && e->ngaps <= SEQ_GAPS;
}

/* All invariants of internal.h. */
bool
decoder_check(const nf_decoder *d)
{
    uint32_t exporters = 0, templates = 0;
    uint64_t backlog = 0;
    for (uint32_t b = 0; b < d->nbuckets; b++) {
        for (const exporter *e = d->buckets[b]; e != NULL; e = e->hnext) {
            if ((key_hash(e->addr, e->version, e->domain) & (d->nbuckets - 1)) != b ||
                !exporter_check(d, e))
                return false;
            exporters++;
            templates += e->ntemplates;
            backlog += e->bl_bytes;
        }
    }
    return exporters == d->nexporters && templates == d->templates_total &&
           backlog == d->backlog_bytes_total;
}
#endif

void
nf_decoder_destroy(nf_decoder *d)
{
    if (d == NULL)
        return;
    assert(decoder_check(d));
    for (uint32_t b = 0; b < d->nbuckets; b++) {
        exporter *e = d->buckets[b];
        while (e != NULL) {
            exporter *next = e->hnext;
            exporter_free(d, e);
            e = next;
        }
    }
    free(d->buckets);
    free(d);
}


static bool
key_equal(const exporter *e, const uint8_t addr[16], uint8_t version, uint32_t domain)
{
    return e->version == version && e->domain == domain && memcmp(e->addr, addr, 16) == 0;
}

exporter *
exporter_find(nf_decoder *d, const uint8_t addr[16], uint8_t version, uint32_t domain)
{
    uint32_t b = key_hash(addr, version, domain) & (d->nbuckets - 1);
    for (exporter *e = d->buckets[b]; e != NULL; e = e->hnext)
        if (key_equal(e, addr, version, domain))
            return e;
    return NULL;
}

exporter *
exporter_find_or_add(nf_decoder *d, const uint8_t addr[16], uint8_t version, uint32_t domain)
{
    exporter *e = d->last_exporter;
    if (e != NULL && key_equal(e, addr, version, domain))
        return e;
    uint32_t b = key_hash(addr, version, domain) & (d->nbuckets - 1);
    for (e = d->buckets[b]; e != NULL; e = e->hnext)
        if (key_equal(e, addr, version, domain))
            break;
    if (e == NULL) {
        if (d->nexporters >= d->cfg.max_exporters || (e = calloc(1, sizeof(*e))) == NULL) {
            count_error(d, NF_DROP_EXPORTER_LIMIT);
            return NULL;
        }
        memcpy(e->addr, addr, 16);
        e->version = version;
        e->domain = domain;
        e->hnext = d->buckets[b];
        d->buckets[b] = e;
        d->nexporters++;
        d->state_gen++;
    }
    d->last_exporter = e;
    return e;
}

exporter *
exporter_get(nf_decoder *d, const uint8_t addr[16], uint8_t version, uint32_t domain,
             uint64_t now_ms)
{
    exporter *e = exporter_find_or_add(d, addr, version, domain);
    if (e != NULL) {
        e->packets++;
        e->last_seen_ms = now_ms;
    }
    return e;
}

static void
add_lost(nf_decoder *d, exporter *e, uint64_t units)
{
    e->seq_lost += units;
    if (e->version == NF_FLOW_V9)
        d->c.seq_lost_packets += units;
    else
        d->c.seq_lost_flows += units;
}

static void
gap_remove(exporter *e, unsigned i)
{
    memmove(&e->gaps[i], &e->gaps[i + 1], (e->ngaps - i - 1) * sizeof(e->gaps[0]));
    e->ngaps--;
}

static void
gap_confirm(nf_decoder *d, exporter *e, unsigned i)
{
    add_lost(d, e, e->gaps[i].end - e->gaps[i].start);
    gap_remove(e, i);
}

/* Confirms every open gap (reset, eviction). */
void
seq_confirm_all(nf_decoder *d, exporter *e)
{
    while (e->ngaps > 0)
        gap_confirm(d, e, 0);
}

/* Inserts [start, end) at index at, keeping the gaps oldest first; when all slots are in use
 * the oldest gap is confirmed to make room. */
static void
gap_insert(nf_decoder *d, exporter *e, unsigned at, uint32_t start, uint32_t end)
{
    if (e->ngaps == SEQ_GAPS) {
        gap_confirm(d, e, 0);
        if (at > 0)
            at--;
    }
    memmove(&e->gaps[at + 1], &e->gaps[at], (e->ngaps - at) * sizeof(e->gaps[0]));
    e->gaps[at] = (seq_gap){start, end};
    e->ngaps++;
}

static void
gap_open(nf_decoder *d, exporter *e, uint32_t start, uint32_t end)
{
    gap_insert(d, e, e->ngaps, start, end);
}

/* A late datagram covering [start, end) arrived: take it out of the open gaps. */
static void
gaps_fill(nf_decoder *d, exporter *e, uint32_t start, uint32_t end)
{
    for (unsigned i = 0; i < e->ngaps;) {
        seq_gap g = e->gaps[i];
        /* Overlap in wrap-safe terms: offsets relative to the gap start. */
        uint32_t len = g.end - g.start;
        uint32_t from = start - g.start, to = end - g.start;
        if ((int32_t)from < 0)
            from = 0;
        if ((int32_t)to > (int32_t)len)
            to = len;
        if ((int32_t)from >= (int32_t)to) {
            i++;
            continue;
        }
        if (from == 0 && to == len) {
            gap_remove(e, i);
            continue;
        }
        if (from == 0) {
            e->gaps[i].start = g.start + to;
        } else if (to == len) {
            e->gaps[i].end = g.start + from;
        } else {
            /* The datagram lies strictly inside this gap, so no other gap can overlap it:
             * split, keeping the second piece right after the first (oldest first). */
            e->gaps[i].end = g.start + from;
            gap_insert(d, e, i + 1, g.start + to, g.end);
            return;
        }
        i++;
    }
}

/* Confirms gaps the sequence has moved more than window past. */
static void
gaps_age(nf_decoder *d, exporter *e, int64_t window)
{
    while (e->ngaps > 0 && (int32_t)(e->seq_next - e->gaps[0].end) > window)
        gap_confirm(d, e, 0);
}

/* How an exporter's sequence field counts; see the comment at the top. */
enum seq_mode {
    SEQ_RFC_RECORDS = 0, /* records before this datagram (RFC 7011; v5 flows; v9 packets) */
    SEQ_RFC_FLOWS,       /* flow records before this datagram */
    SEQ_INCL_RECORDS,    /* records up to and including this datagram's */
    SEQ_INCL_FLOWS,      /* flow records up to and including this datagram's */
    SEQ_MODES
};

/* Normalised start and units of a datagram under a reading. */
static void
seq_normalise(uint8_t mode, uint32_t seq, uint32_t flows, uint32_t records, uint32_t *start,
              uint32_t *units)
{
    bool by_flows = mode == SEQ_RFC_FLOWS || mode == SEQ_INCL_FLOWS;
    *units = by_flows ? flows : records;
    *start = mode >= SEQ_INCL_RECORDS ? seq - *units : seq;
}

/* Where the previous datagram says the next one starts, under a reading. */
static uint32_t
seq_expected(const exporter *e, uint8_t mode)
{
    switch (mode) {
    case SEQ_RFC_RECORDS:
        return e->seq_last + e->seq_last_records;
    case SEQ_RFC_FLOWS:
        return e->seq_last + e->seq_last_flows;
    default:
        return e->seq_last;
    }
}

void
seq_track(nf_decoder *d, exporter *e, uint32_t seq, uint32_t flows, uint32_t records,
          uint16_t port)
{
    bool packets = e->version == NF_FLOW_V9;
    int64_t max_gap = packets ? SEQ_MAX_GAP_PACKETS : SEQ_MAX_GAP_RECORDS;
    int64_t window = packets ? SEQ_WINDOW_PACKETS : SEQ_WINDOW_RECORDS;
    bool port_changed = e->packets > 1 && port != e->last_port;
    e->last_port = port;

    uint32_t start, units;
    seq_normalise(e->seq_mode, seq, flows, records, &start, &units);
    if (!e->seq_valid) {
        e->seq_valid = true;
        e->seq_next = start + units;
        goto remember;
    }
    int64_t delta = (int32_t)(start - e->seq_next);
    /* Look for another reading only while the current one has not yet proven itself: after
     * SEQ_MODE_PROVEN datagrams in a row matched it, a mismatch is loss, not a new reading. */
    if (delta != 0 && !packets && !port_changed && e->seq_matched < SEQ_MODE_PROVEN) {
        for (uint8_t m = 0; m < SEQ_MODES; m++) {
            uint32_t s2, u2;
            seq_normalise(m, seq, flows, records, &s2, &u2);
            if (m != e->seq_mode && s2 == seq_expected(e, m)) {
                e->seq_mode = m; /* this exporter counts differently: no loss */
                start = s2;
                units = u2;
                delta = 0;
                break;
            }
        }
    }
    if (delta == 0) {
        e->seq_next = start + units;
        if (e->seq_matched < SEQ_MODE_PROVEN)
            e->seq_matched++;
    } else if (!port_changed && delta > 0 && delta <= max_gap) {
        gap_open(d, e, e->seq_next, start);
        e->seq_next = start + units;
    } else if (!port_changed && delta < 0 && -delta <= window) {
        e->seq_reordered++;
        gaps_fill(d, e, start, start + units);
        return; /* a late datagram does not move the expectation */
    } else {
        seq_confirm_all(d, e);
        e->seq_resets++;
        d->c.seq_resets++;
        e->seq_matched = 0;
        e->seq_next = start + units;
    }
    gaps_age(d, e, window);
remember:
    e->seq_last = seq;
    e->seq_last_flows = flows;
    e->seq_last_records = records;
}

nf_status
nf_decoder_decode(nf_decoder *d, const nf_datagram *dg, nf_flow_sink *sink, void *ctx)
{
    d->c.packets++;
    if (dg->len < 2) {
        count_error(d, NF_DROP_SHORT_HEADER);
        return NF_EPROTO;
    }
    nf_status s;
    switch (nf_be16(dg->data)) {
    case 5:
        s = v5_decode(d, dg, sink, ctx);
        break;
    case 9:
        s = v9_decode(d, dg, sink, ctx);
        break;
    case 10:
        s = ipfix_decode(d, dg, sink, ctx);
        break;
    default:
        count_error(d, NF_DROP_BAD_VERSION);
        return NF_EPROTO;
    }
    assert(d->last_exporter == NULL || exporter_check(d, d->last_exporter));
    return s;
}

static void
exporter_unlink(nf_decoder *d, exporter **link)
{
    exporter *e = *link;
    *link = e->hnext;
    if (d->last_exporter == e)
        d->last_exporter = NULL;
    d->nexporters--;
    d->state_gen++;
    exporter_free(d, e);
}

void
nf_decoder_expire(nf_decoder *d, uint64_t now_ms)
{
    for (uint32_t b = 0; b < d->nbuckets; b++) {
        exporter **link = &d->buckets[b];
        while (*link != NULL) {
            exporter *e = *link;
            if (e->last_seen_ms + d->cfg.exporter_idle_ms < now_ms) {
                exporter_unlink(d, link);
                continue;
            }
            backlog_expire(d, e, now_ms);
            link = &e->hnext;
        }
    }
    assert(decoder_check(d));
}

uint64_t
nf_decoder_state_generation(const nf_decoder *d)
{
    return d->state_gen;
}

const nf_decode_counters *
nf_decoder_counters(const nf_decoder *d)
{
    return &d->c;
}

size_t
nf_decoder_exporters(const nf_decoder *d, nf_exporter_info *out, size_t max)
{
    size_t n = 0;
    for (uint32_t b = 0; b < d->nbuckets; b++) {
        for (const exporter *e = d->buckets[b]; e != NULL; e = e->hnext, n++) {
            if (n >= max)
                continue;
            nf_exporter_info *x = &out[n];
            memcpy(x->addr, e->addr, 16);
            x->last_port = e->last_port;
            x->version = e->version;
            x->domain = e->domain;
            x->packets = e->packets;
            x->flows = e->flows;
            x->options_records = e->options_records;
            x->templates = e->ntemplates;
            x->backlog_sets = e->bl_sets;
            /* The rate records naming no sampler get (see record.c). */
            x->sampling_rate = e->default_rate   ? e->default_rate
                               : e->nsamplers == 1 ? e->samplers[0].rate
                                                   : 1;
            x->seq_lost = e->seq_lost;
            for (unsigned g = 0; g < e->ngaps; g++)
                x->seq_lost += e->gaps[g].end - e->gaps[g].start;
            x->seq_reordered = e->seq_reordered;
            x->seq_resets = e->seq_resets;
            x->last_seen_ms = e->last_seen_ms;
        }
    }
    return n;
}

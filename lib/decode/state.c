/* state.c — saving and loading what the decoder learnt, so a restarted collector decodes
 * v9/IPFIX data at once instead of waiting minutes for templates to be re-sent.
 *
 * Format (all integers big-endian), version 1:
 *
 *   "NFDS" u16 format=1 u16 0
 *   entries, each starting with u8 kind:
 *     1 exporter  u8 version, addr[16], u32 domain, u32 default_rate, u64 sysinit_ms,
 *                 u64 last_seen_ms
 *     2 template  u8 version, addr[16], u32 domain, u16 id, u8 is_options, u16 field_count,
 *                 u16 scope_count, u16 spec_len, spec[spec_len] (wire field specifiers)
 *     3 sampler   u8 version, addr[16], u32 domain, u32 sampler_id, u32 rate
 *     0 end
 *   u64 FNV-1a 64 of every byte before it
 *
 * Templates are stored as their wire field specifiers and re-installed through the same
 * compile path as live ones, so a state file can never hold anything a datagram could not.
 * Loading is all-or-nothing: the checksum and the framing of every entry are verified
 * before the first entry is applied. Entries of an exporter the decoder has seen more
 * recently than the state file did are skipped, so loading several files (one per collector
 * worker) into each decoder keeps the freshest knowledge of every exporter.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STATE_MAGIC "NFDS"
#define STATE_FORMAT 1
#define KEY_LEN 21 /* version + addr + domain */

enum { ENTRY_END = 0, ENTRY_EXPORTER = 1, ENTRY_TEMPLATE = 2, ENTRY_SAMPLER = 3 };

typedef struct wbuf {
    uint8_t *p;
    size_t len, cap;
    bool failed;
} wbuf;

static void
put(wbuf *w, const void *src, size_t n)
{
    if (w->failed)
        return;
    if (w->len + n > w->cap) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *grown = realloc(w->p, cap);
        if (grown == NULL) {
            w->failed = true;
            return;
        }
        w->p = grown;
        w->cap = cap;
    }
    memcpy(w->p + w->len, src, n);
    w->len += n;
}

static void
put_u8(wbuf *w, uint8_t v)
{
    put(w, &v, 1);
}

static void
put_u16(wbuf *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(w, b, 2);
}

static void
put_u32(wbuf *w, uint32_t v)
{
    put_u16(w, (uint16_t)(v >> 16));
    put_u16(w, (uint16_t)v);
}

static void
put_u64(wbuf *w, uint64_t v)
{
    put_u32(w, (uint32_t)(v >> 32));
    put_u32(w, (uint32_t)v);
}

static void
put_key(wbuf *w, uint8_t kind, const exporter *e)
{
    put_u8(w, kind);
    put_u8(w, e->version);
    put(w, e->addr, 16);
    put_u32(w, e->domain);
}

static uint64_t
fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

nf_status
nf_decoder_save_state(const nf_decoder *d, uint8_t **buf_out, size_t *len_out, nf_err *err)
{
    wbuf w = {0};
    put(&w, STATE_MAGIC, 4);
    put_u16(&w, STATE_FORMAT);
    put_u16(&w, 0);
    for (uint32_t b = 0; b < d->nbuckets; b++) {
        for (const exporter *e = d->buckets[b]; e != NULL; e = e->hnext) {
            put_key(&w, ENTRY_EXPORTER, e);
            put_u32(&w, e->default_rate);
            put_u64(&w, e->sysinit_ms);
            put_u64(&w, e->last_seen_ms);
            for (uint32_t i = 0; i < e->ntemplates; i++) {
                const tmpl *t = e->templates[i];
                put_key(&w, ENTRY_TEMPLATE, e);
                put_u16(&w, t->id);
                put_u8(&w, t->is_options);
                put_u16(&w, t->field_count);
                put_u16(&w, t->scope_count);
                put_u16(&w, t->spec_len);
                put(&w, t->spec, t->spec_len);
            }
            for (uint32_t i = 0; i < e->nsamplers; i++) {
                put_key(&w, ENTRY_SAMPLER, e);
                put_u32(&w, e->samplers[i].id);
                put_u32(&w, e->samplers[i].rate);
            }
        }
    }
    put_u8(&w, ENTRY_END);
    if (!w.failed)
        put_u64(&w, fnv1a64(w.p, w.len));
    if (w.failed) {
        free(w.p);
        return nf_err_set(err, NF_ENOMEM, "decoder state: out of memory");
    }
    *buf_out = w.p;
    *len_out = w.len;
    return NF_OK;
}

/* One parsed entry; pointers borrow the input buffer. */
typedef struct entry {
    uint8_t kind, version;
    const uint8_t *addr;
    uint32_t domain;
    uint32_t a, b;      /* exporter: default_rate; sampler: id, rate */
    uint64_t x, y;      /* exporter: sysinit_ms, last_seen_ms */
    uint16_t id, field_count, scope_count, spec_len;
    uint8_t is_options;
    const uint8_t *spec;
} entry;

/* Reads the next entry; false on malformed framing. */
static bool
read_entry(nf_cursor *c, entry *en)
{
    if (!nf_rd_u8(c, &en->kind))
        return false;
    if (en->kind == ENTRY_END)
        return true;
    if (en->kind > ENTRY_SAMPLER || nf_cursor_left(c) < KEY_LEN)
        return false;
    en->version = c->p[0];
    en->addr = c->p + 1;
    en->domain = nf_be32(c->p + 17);
    c->p += KEY_LEN;
    if (en->version != NF_FLOW_V5 && en->version != NF_FLOW_V9 && en->version != NF_FLOW_IPFIX)
        return false;
    switch (en->kind) {
    case ENTRY_EXPORTER:
        if (nf_cursor_left(c) < 20)
            return false;
        en->a = nf_be32(c->p);
        en->x = nf_be64(c->p + 4);
        en->y = nf_be64(c->p + 12);
        c->p += 20;
        return true;
    case ENTRY_TEMPLATE:
        if (!nf_rd_u16(c, &en->id) || !nf_rd_u8(c, &en->is_options) ||
            !nf_rd_u16(c, &en->field_count) || !nf_rd_u16(c, &en->scope_count) ||
            !nf_rd_u16(c, &en->spec_len))
            return false;
        en->spec = c->p;
        return en->id >= 256 && en->is_options <= 1 && en->version != NF_FLOW_V5 &&
               en->scope_count <= en->field_count && nf_cursor_skip(c, en->spec_len);
    default: /* ENTRY_SAMPLER */
        if (!nf_rd_u32(c, &en->a) || !nf_rd_u32(c, &en->b))
            return false;
        return true;
    }
}

nf_status
nf_decoder_load_state(nf_decoder *d, const uint8_t *buf, size_t len, size_t *loaded_out,
                      nf_err *err)
{
    if (len < 4 + 4 + 1 + 8 || memcmp(buf, STATE_MAGIC, 4) != 0)
        return nf_err_set(err, NF_EPROTO, "decoder state: not a state file (bad magic or size)");
    if (nf_be16(buf + 4) != STATE_FORMAT)
        return nf_err_set(err, NF_EPROTO, "decoder state: format %u, expected %u",
                          nf_be16(buf + 4), STATE_FORMAT);
    if (fnv1a64(buf, len - 8) != nf_be64(buf + len - 8))
        return nf_err_set(err, NF_EPROTO, "decoder state: checksum mismatch (truncated?)");

    /* Pass 1: framing, and every template must compile exactly as saved. */
    nf_cursor c = nf_cursor_make(buf + 8, len - 8 - 8);
    entry en;
    size_t entries = 0;
    for (;;) {
        if (!read_entry(&c, &en))
            return nf_err_set(err, NF_EPROTO, "decoder state: malformed entry %zu", entries);
        if (en.kind == ENTRY_END)
            break;
        if (en.kind == ENTRY_TEMPLATE &&
            !template_valid(en.version, en.is_options, en.field_count, en.scope_count, en.spec,
                            en.spec_len, UINT32_MAX))
            return nf_err_set(err, NF_EPROTO, "decoder state: entry %zu: template %u invalid",
                              entries, en.id);
        entries++;
    }
    if (nf_cursor_left(&c) != 0)
        return nf_err_set(err, NF_EPROTO, "decoder state: %zu bytes after the end marker",
                          nf_cursor_left(&c));

    /* Pass 2: apply. An exporter's entries are skipped when the decoder already knows that
     * key from more recent traffic (a larger last_seen_ms): loading several workers' states
     * into one decoder then keeps the freshest copy of each exporter. */
    size_t loaded = 0;
    bool accept = true;
    c = nf_cursor_make(buf + 8, len - 8 - 8);
    while (read_entry(&c, &en) && en.kind != ENTRY_END) {
        if (en.kind == ENTRY_EXPORTER) {
            const exporter *known = exporter_find(d, en.addr, en.version, en.domain);
            accept = known == NULL || known->last_seen_ms <= en.y;
        }
        if (!accept)
            continue;
        exporter *e = exporter_find_or_add(d, en.addr, en.version, en.domain);
        if (e == NULL)
            continue;
        switch (en.kind) {
        case ENTRY_EXPORTER:
            e->default_rate = en.a;
            e->sysinit_ms = en.x;
            e->last_seen_ms = en.y;
            break;
        case ENTRY_TEMPLATE:
            if (template_install(d, e, en.version, en.id, en.is_options, en.field_count,
                                 en.scope_count, en.spec, en.spec_len))
                loaded++;
            break;
        default:
            sampler_set(d, e, en.a, en.b ? en.b : 1);
            break;
        }
    }
    if (loaded_out != NULL)
        *loaded_out = loaded;
    return NF_OK;
}

/* template.c — compiling template definitions into field programs, and the per-exporter
 * template table.
 *
 * A template is compiled once, when it arrives (nfdump's idea): every field becomes a
 * field_prog step {offset, len, op}; the data path then only runs that program. For
 * templates without variable-length fields the program keeps only the steps that do
 * something, each with its absolute offset, and records are stepped by a fixed length.
 *
 * Refused definitions (counted as NF_DROP_BAD_TEMPLATE): more fields than the set holds,
 * a record length of 0 (a zero-length record would never advance: an endless loop on a
 * hostile template) or above 65535 (no set could hold it). More fields than
 * max_template_fields is a limit (NF_DROP_TEMPLATE_LIMIT), like a full template table. A field whose length cannot hold its element (an IPv4 address of 3
 * bytes, a counter of 9) is kept for framing but skipped, and counted as
 * NF_DROP_BAD_FIELD_LENGTH.
 *
 * The table is a sorted array per exporter with a one-entry cache: exporters rarely hold
 * more than a few dozen templates, and consecutive sets mostly use the same one.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct raw_field {
    uint16_t len;
    uint8_t op;
    uint8_t group;
    uint8_t prio;
} raw_field;

static bool
shape_fits(uint8_t shape, uint16_t len)
{
    switch (shape) {
    case SHAPE_UINT:
        return len >= 1 && len <= 8;
    case SHAPE_ADDR4:
        return len == 4;
    case SHAPE_ADDR6:
        return len == 16;
    case SHAPE_NTP:
        return len == 8;
    default:
        return true;
    }
}

/* Reads the field specifiers into raw[], resolving each element to an operation (d may be
 * NULL: nothing is counted). Returns the number of bytes the specifiers occupy, or 0 if
 * they do not fit in spec_len. */
static size_t
read_fields(nf_decoder *d, uint8_t version, bool is_options, uint16_t field_count,
            uint16_t scope_count, const uint8_t *spec, size_t spec_len, raw_field *raw,
            uint16_t *enterprise)
{
    nf_cursor c = nf_cursor_make(spec, spec_len);
    for (uint16_t i = 0; i < field_count; i++) {
        uint16_t ie, len;
        if (!nf_rd_u16(&c, &ie) || !nf_rd_u16(&c, &len))
            return 0;
        bool is_enterprise = false;
        if (version == NF_FLOW_IPFIX && (ie & 0x8000u)) {
            if (!nf_cursor_skip(&c, 4)) /* private enterprise number */
                return 0;
            is_enterprise = true;
            (*enterprise)++;
        }
        /* v9 options scope fields use their own type space (1 = system, 2 = interface...),
         * which collides with element ids: never interpret them as elements. */
        bool v9_scope = version == NF_FLOW_V9 && is_options && i < scope_count;
        const ie_def *def = (is_enterprise || v9_scope) ? NULL : ie_lookup(ie);
        raw[i].len = len;
        raw[i].op = OP_SKIP;
        raw[i].group = 0;
        raw[i].prio = 0;
        if (def == NULL || len == 0)
            continue;
        if (len == NF_VARLEN || !shape_fits(def->shape, len)) {
            if (d != NULL)
                count_error(d, NF_DROP_BAD_FIELD_LENGTH);
            continue;
        }
        raw[i].op = def->op;
        raw[i].group = def->group;
        raw[i].prio = def->prio;
    }
    return (size_t)(c.p - spec);
}

/* Keeps, within each alternatives group, only the fields with the best (lowest) prio. */
static void
resolve_alternatives(raw_field *raw, uint16_t n)
{
    uint8_t best[32];
    memset(best, 0xff, sizeof(best));
    for (uint16_t i = 0; i < n; i++)
        if (raw[i].group != 0 && raw[i].prio < best[raw[i].group])
            best[raw[i].group] = raw[i].prio;
    for (uint16_t i = 0; i < n; i++)
        if (raw[i].group != 0 && raw[i].prio != best[raw[i].group])
            raw[i].op = OP_SKIP;
}

/* Builds the field program into t->ops; returns false if the record length is unusable. */
static bool
build_program(tmpl *t, const raw_field *raw, uint16_t n)
{
    uint32_t total = 0;
    bool varlen = false;
    for (uint16_t i = 0; i < n; i++) {
        if (raw[i].len == NF_VARLEN) {
            varlen = true;
            total += 1; /* at least the length byte */
        } else {
            total += raw[i].len;
        }
    }
    if (total == 0 || total > 65535)
        return false;
    t->has_varlen = varlen;
    t->rec_len = total;
    t->nops = 0;

    uint32_t offset = 0;
    for (uint16_t i = 0; i < n; i++) {
        if (raw[i].len == 0)
            continue;
        if (!varlen) {
            if (raw[i].op != OP_SKIP)
                t->ops[t->nops++] = (field_prog){(uint16_t)offset, raw[i].len, raw[i].op};
            offset += raw[i].len;
            continue;
        }
        /* Variable layout: every field is a step; merge runs of fixed-length skips. */
        field_prog *prev = t->nops ? &t->ops[t->nops - 1] : NULL;
        if (raw[i].op == OP_SKIP && raw[i].len != NF_VARLEN && prev != NULL &&
            prev->op == OP_SKIP && prev->len != NF_VARLEN &&
            (uint32_t)prev->len + raw[i].len < NF_VARLEN) {
            prev->len = (uint16_t)(prev->len + raw[i].len);
            continue;
        }
        t->ops[t->nops++] = (field_prog){0, raw[i].len, raw[i].op};
    }
    return true;
}

tmpl *
template_find(exporter *e, uint16_t id)
{
    if (e->last_tmpl != NULL && e->last_tmpl->id == id)
        return e->last_tmpl;
    uint32_t lo = 0, hi = e->ntemplates;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        uint16_t mid_id = e->templates[mid]->id;
        if (mid_id == id) {
            e->last_tmpl = e->templates[mid];
            return e->last_tmpl;
        }
        if (mid_id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Index of the first template with id >= the given one. */
static uint32_t
lower_bound(const exporter *e, uint16_t id)
{
    uint32_t lo = 0, hi = e->ntemplates;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (e->templates[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Puts t into the table, replacing a template of the same id. Returns false at a limit. */
static bool
table_put(nf_decoder *d, exporter *e, tmpl *t)
{
    uint32_t at = lower_bound(e, t->id);
    if (at < e->ntemplates && e->templates[at]->id == t->id) {
        if (e->last_tmpl == e->templates[at])
            e->last_tmpl = NULL;
        free(e->templates[at]);
        e->templates[at] = t;
        return true;
    }
    if (e->ntemplates >= d->cfg.max_templates || d->templates_total >= d->cfg.max_templates_total)
        return false;
    if (e->ntemplates == e->templates_cap) {
        uint32_t cap = e->templates_cap ? e->templates_cap * 2 : 8;
        tmpl **grown = realloc(e->templates, cap * sizeof(*grown));
        if (grown == NULL)
            return false;
        e->templates = grown;
        e->templates_cap = cap;
    }
    memmove(&e->templates[at + 1], &e->templates[at],
            (e->ntemplates - at) * sizeof(e->templates[0]));
    e->templates[at] = t;
    e->ntemplates++;
    d->templates_total++;
    return true;
}

/* Compiles a definition. d may be NULL (validation only: nothing is counted). Returns the
 * template (free with free()) or NULL with *reason set. */
static tmpl *
compile(nf_decoder *d, uint8_t version, uint16_t id, bool is_options, uint16_t field_count,
        uint16_t scope_count, const uint8_t *spec, size_t spec_len, uint32_t max_fields,
        nf_drop_reason *reason)
{
    *reason = NF_DROP_BAD_TEMPLATE;
    if (field_count > max_fields) {
        *reason = NF_DROP_TEMPLATE_LIMIT;
        return NULL;
    }
    if (field_count == 0 || scope_count > field_count)
        return NULL;
    raw_field *raw = malloc(field_count * sizeof(*raw));
    if (raw == NULL) {
        *reason = NF_DROP_TEMPLATE_LIMIT;
        return NULL;
    }
    uint16_t enterprise = 0;
    size_t used = read_fields(d, version, is_options, field_count, scope_count, spec, spec_len,
                              raw, &enterprise);
    if (used == 0 || used > UINT16_MAX) {
        free(raw);
        return NULL;
    }
    resolve_alternatives(raw, field_count);
    tmpl *t = malloc(sizeof(*t) + field_count * sizeof(field_prog) + used);
    if (t == NULL) {
        free(raw);
        *reason = NF_DROP_TEMPLATE_LIMIT;
        return NULL;
    }
    t->id = id;
    t->is_options = is_options;
    t->field_count = field_count;
    t->scope_count = scope_count;
    t->enterprise = enterprise;
    t->spec_len = (uint16_t)used;
    t->spec = (uint8_t *)&t->ops[field_count];
    memcpy(t->spec, spec, used);
    bool ok = build_program(t, raw, field_count);
    free(raw);
    if (!ok) {
        free(t);
        return NULL;
    }
    return t;
}

bool
template_valid(uint8_t version, bool is_options, uint16_t field_count, uint16_t scope_count,
               const uint8_t *spec, size_t spec_len, uint32_t max_fields)
{
    nf_drop_reason reason;
    tmpl *t = compile(NULL, version, 256, is_options, field_count, scope_count, spec, spec_len,
                      max_fields, &reason);
    free(t);
    return t != NULL;
}

bool
template_install(nf_decoder *d, exporter *e, uint8_t version, uint16_t id, bool is_options,
                 uint16_t field_count, uint16_t scope_count, const uint8_t *spec,
                 size_t spec_len)
{
    /* Exporters re-send their templates every few seconds, mostly unchanged: an identical
     * definition is a refresh, with nothing to compile. */
    const tmpl *old = template_find(e, id);
    if (old != NULL && (bool)old->is_options == is_options && old->field_count == field_count &&
        old->scope_count == scope_count && old->spec_len <= spec_len &&
        memcmp(old->spec, spec, old->spec_len) == 0)
        return true;
    nf_drop_reason reason;
    tmpl *t = compile(d, version, id, is_options, field_count, scope_count, spec, spec_len,
                      d->cfg.max_template_fields, &reason);
    if (t == NULL) {
        count_error(d, reason);
        return false;
    }
    if (!table_put(d, e, t)) {
        free(t);
        count_error(d, NF_DROP_TEMPLATE_LIMIT);
        return false;
    }
    d->c.templates_learnt++;
    d->state_gen++;
    return true;
}

/* Removes the template at index i. */
static void
table_remove_at(nf_decoder *d, exporter *e, uint32_t i)
{
    if (e->last_tmpl == e->templates[i])
        e->last_tmpl = NULL;
    free(e->templates[i]);
    memmove(&e->templates[i], &e->templates[i + 1],
            (e->ntemplates - i - 1) * sizeof(e->templates[0]));
    e->ntemplates--;
    d->templates_total--;
    d->c.templates_withdrawn++;
    d->state_gen++;
}

void
template_withdraw(nf_decoder *d, exporter *e, uint16_t id)
{
    uint32_t at = lower_bound(e, id);
    if (at < e->ntemplates && e->templates[at]->id == id)
        table_remove_at(d, e, at);
}

void
template_withdraw_all(nf_decoder *d, exporter *e, bool options)
{
    uint32_t i = 0;
    while (i < e->ntemplates) {
        if ((bool)e->templates[i]->is_options == options)
            table_remove_at(d, e, i);
        else
            i++;
    }
}

void
template_free_all(nf_decoder *d, exporter *e)
{
    for (uint32_t i = 0; i < e->ntemplates; i++)
        free(e->templates[i]);
    d->templates_total -= e->ntemplates;
    free(e->templates);
    e->templates = NULL;
    e->ntemplates = e->templates_cap = 0;
    e->last_tmpl = NULL;
}

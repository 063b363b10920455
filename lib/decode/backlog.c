/* backlog.c — data sets that arrived before their template.
 *
 * Exporters send templates every N packets or seconds; after a collector restart (without
 * saved state) or when a template datagram is lost, data sets arrive for templates not yet
 * known. Instead of dropping them at once, each exporter key keeps a small FIFO of such sets
 * with the header times of their datagram. When a template is installed, the queued sets
 * for its id are decoded in arrival order, exactly as if the template had come first.
 *
 * Bounds: backlog_sets and backlog_bytes per exporter (the oldest entry makes room for a
 * new one), backlog_total_bytes for the whole decoder (a new entry that does not fit is
 * dropped), backlog_max_age_ms (nf_decoder_expire drops older entries). Every dropped set is
 * counted under NF_DROP_NO_TEMPLATE; a set is never silently lost.
 *
 * Memory per entry: the set body plus about 56 bytes of header.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void
entry_drop(nf_decoder *d, exporter *e, backlog_entry *prev, backlog_entry *b, bool count)
{
    if (prev == NULL)
        e->bl_head = b->next;
    else
        prev->next = b->next;
    if (e->bl_tail == b)
        e->bl_tail = prev;
    e->bl_sets--;
    e->bl_bytes -= b->len;
    d->backlog_bytes_total -= b->len;
    if (count)
        count_error(d, NF_DROP_NO_TEMPLATE);
    free(b);
}

void
backlog_push(pkt_ctx *pc, uint16_t set_id, nf_cursor body)
{
    nf_decoder *d = pc->d;
    exporter *e = pc->e;
    size_t len = nf_cursor_left(&body);
    if (d->cfg.backlog_sets == 0 || len > d->cfg.backlog_bytes) {
        count_error(d, NF_DROP_NO_TEMPLATE);
        return;
    }
    while (e->bl_head != NULL &&
           (e->bl_sets >= d->cfg.backlog_sets || e->bl_bytes + len > d->cfg.backlog_bytes))
        entry_drop(d, e, NULL, e->bl_head, true);
    if (d->backlog_bytes_total + len > d->cfg.backlog_total_bytes) {
        count_error(d, NF_DROP_NO_TEMPLATE);
        return;
    }
    backlog_entry *b = malloc(sizeof(*b) + len);
    if (b == NULL) {
        count_error(d, NF_DROP_NO_TEMPLATE);
        return;
    }
    b->next = NULL;
    b->hdr = pc->hdr;
    b->set_id = set_id;
    b->len = (uint32_t)len;
    memcpy(b->data, body.p, len);
    if (e->bl_tail == NULL)
        e->bl_head = b;
    else
        e->bl_tail->next = b;
    e->bl_tail = b;
    e->bl_sets++;
    e->bl_bytes += (uint32_t)len;
    d->backlog_bytes_total += len;
    d->c.backlog_queued++;
}

void
backlog_replay(pkt_ctx *pc, uint16_t template_id)
{
    exporter *e = pc->e;
    backlog_entry *prev = NULL, *b = e->bl_head;
    while (b != NULL) {
        backlog_entry *next = b->next;
        if (b->set_id != template_id) {
            prev = b;
            b = next;
            continue;
        }
        tmpl *t = template_find(e, template_id);
        if (t != NULL) {
            records_decode(pc, t, &b->hdr, nf_cursor_make(b->data, b->len));
            pc->d->c.backlog_decoded++;
        }
        entry_drop(pc->d, e, prev, b, t == NULL);
        b = next;
    }
}

void
backlog_expire(nf_decoder *d, exporter *e, uint64_t now_ms)
{
    /* Entries are in arrival order, so the expired ones are a prefix. */
    while (e->bl_head != NULL && e->bl_head->hdr.received_ms + d->cfg.backlog_max_age_ms < now_ms)
        entry_drop(d, e, NULL, e->bl_head, true);
}

void
backlog_free(nf_decoder *d, exporter *e)
{
    while (e->bl_head != NULL)
        entry_drop(d, e, NULL, e->bl_head, true);
}

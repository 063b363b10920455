/* pqwriter.c — the Parquet writer's engine. See pqwriter.h for the design and invariants,
 * append.h for the commit, docs/iceberg.md for the table. */
#include "pqwriter.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../base/backoff.h"
#include "../base/clock.h"
#include "../base/daemon.h"
#include "../base/log.h"
#include "../bus/bus.h"
#include "../cold/table.h"
#include "../duck/duck.h"
#include "../duck/flowfile.h"
#include "../iceberg/iceberg.h"
#include "../proto/flowbatch.h"
#include "append.h"
#include "maintain.h"
#include "rollup.h"

#define COMP "parquet-writer"
#define MSG_ID_MAX 200
#define AGENT_MAX 128
#define RECORDS_PER_MSG_MAX 1000000u
#define LOG_EVERY_MS 10000u
#define FETCH_WAIT_MS 100u
#define LAG_EVERY_MS 5000u /* how often the durable's backlog is asked for */
#define FETCH_MAX 64
#define STOP_ATTEMPTS 3

typedef struct held_msg {
    nf_bus_msg msg;
    size_t row_lo, row_hi; /* its rows in the batch: [row_lo, row_hi) */
    char agent[AGENT_MAX];
} held_msg;

typedef struct stats {
    atomic_uint_fast64_t messages;         /* fetched */
    atomic_uint_fast64_t records;          /* in decoded messages */
    atomic_uint_fast64_t redeliveries;     /* fetched with num_delivered > 1 */
    atomic_uint_fast64_t already_committed; /* found in the table's committed set: acked */
    atomic_uint_fast64_t held_twice;
    atomic_uint_fast64_t commits;
    atomic_uint_fast64_t commit_conflicts; /* batches that met rows already stored */
    atomic_uint_fast64_t commit_rebases;   /* commits retried on a newer snapshot (409) */
    atomic_uint_fast64_t commit_failures;  /* attempts that failed or whose outcome was unknown */
    atomic_uint_fast64_t commits_abandoned; /* given up: messages released for redelivery */
    atomic_uint_fast64_t records_committed;
    atomic_uint_fast64_t files_written;
    atomic_uint_fast64_t bytes_written;
    atomic_uint_fast64_t messages_acked;
    atomic_uint_fast64_t write_failures;   /* Parquet files that could not be written */
    atomic_uint_fast64_t dead_letters;
    atomic_uint_fast64_t dead_letter_failures;
    atomic_uint_fast64_t maintenance_runs;
    atomic_uint_fast64_t maintenance_failures;
    atomic_uint_fast64_t held_records;     /* gauge */
    atomic_uint_fast64_t last_commit_ms;   /* gauge: last batch's files + commit, ms */
    atomic_uint_fast64_t last_committed_seq; /* gauge */
    atomic_int nats_up, catalog_up;        /* gauges */
    nf_bus_lag lag; /* the durable's backlog, for the metrics */
} stats;

struct nf_pqwriter {
    const nf_pqwriter_config *cfg;
    char ns[128], table_name[128];
    pthread_t thread;
    bool started;
    pthread_mutex_t mu; /* guards stop */
    pthread_cond_t wake;
    bool stop;

    nf_bus *bus;
    nf_bus_consumer *consumer;
    bool dlq_ready;
    nf_ice_catalog *cat;
    nf_ice_table *table;
    nf_seqset committed; /* the current snapshot's set, as last seen */
    nf_duck *duck;

    /* The batch. */
    held_msg *held;
    size_t nheld, held_cap;
    nf_flow *flows;
    size_t nflows, flows_cap;
    uint64_t started_ms;   /* when its first message was taken */
    nf_seqset settled;     /* dead-lettered since the last commit */
    /* A commit whose outcome is unknown (files written, snapshot maybe committed). */
    bool pending;
    nf_pq_append app;
    nf_seqset app_seqs;
    nf_ice_datafile *files;
    size_t nfiles;
    uint64_t flush_started_ms; /* when the pending batch's files began to be written */

    uint64_t next_maintenance_ms;
    nf_backoff backoff;
    nf_ratelimit rl, rl_nats, rl_cat;
    stats st;
};

/* ---- small helpers ----------------------------------------------------------------------- */

static bool
stopping(nf_pqwriter *w)
{
    return nf_stop_requested(&w->mu, &w->stop);
}

static bool
nap(nf_pqwriter *w, uint64_t ms)
{
    return nf_nap_unless_stopped(&w->mu, &w->wake, &w->stop, ms);
}

static void
warn_rl(nf_ratelimit *rl, const char *what, const char *why)
{
    nf_log_warn_rl(rl, LOG_EVERY_MS, COMP, what, why);
}

/* ---- connecting ------------------------------------------------------------------------- */

static bool
bus_ready(nf_pqwriter *w)
{
    const nf_pqwriter_config *cfg = w->cfg;
    nf_bus_reader_config rc = {
        .bus = {.url = cfg->nats_url,
                .security = &cfg->security,
                .name = "serviceradar-netflow-parquet"},
        .dead_letter_stream = cfg->dead_letter_stream,
        .dead_letter_subject = cfg->dead_letter_subject,
        .dead_letter_max_age_ms = cfg->dead_letter_max_age_ms,
        .stream = cfg->stream,
        .durable = cfg->consumer,
        .subject = cfg->subject,
        .ack_wait_ms = cfg->ack_wait_ms,
        .max_ack_pending = (int)cfg->max_ack_pending};
    nf_err err = {0};
    unsigned done = 0;
    const char *what = NULL;
    nf_status st =
        nf_bus_reader_ready(&rc, &w->bus, &w->dlq_ready, &w->consumer, &done, &what, &err);
    if (done & NF_BUS_READER_CONNECTED)
        nf_log_info(COMP, "connected to NATS %s", cfg->nats_url);
    if (done & NF_BUS_READER_BOUND)
        nf_log_info(COMP, "reading stream %s subject %s as durable %s", cfg->stream,
                    cfg->subject, cfg->consumer);
    if (st != NF_OK) {
        warn_rl(&w->rl_nats, what, err.msg);
        return false;
    }
    atomic_store(&w->st.nats_up, nf_bus_connected(w->bus) ? 1 : 0);
    return true;
}

/* Opens the catalog, and loads the table (creating it, and its namespace, if absent). */
static bool
catalog_ready(nf_pqwriter *w)
{
    nf_err err = {0};
    if (w->cat == NULL) {
        bool tls = strncmp(w->cfg->iceberg_catalog, "https://", 8) == 0;
        nf_security_files f = {{0}};
        if (tls)
            nf_security_files_get(&w->cfg->security, &f);
        nf_ice_catalog_config cc = {.uri = w->cfg->iceberg_catalog,
                                    .ca_file = f.ca[0] ? f.ca : NULL,
                                    .cert_file = f.cert[0] ? f.cert : NULL,
                                    .key_file = f.key[0] ? f.key : NULL,
                                    .token = w->cfg->catalog_token[0] ? w->cfg->catalog_token
                                                                      : NULL,
                                    .timeout_ms = (int)w->cfg->catalog_timeout_ms};
        if (nf_ice_catalog_open(&cc, &w->cat, &err) != NF_OK) {
            warn_rl(&w->rl_cat, "Iceberg catalog", err.msg);
            return false;
        }
    }
    if (w->table == NULL) {
        nf_status st = nf_ice_catalog_load(w->cat, w->ns, w->table_name, &w->table, NULL, &err);
        if (st == NF_ENOTFOUND) {
            const char *loc = w->cfg->output_path[0] ? w->cfg->output_path : NULL;
            char *uri = NULL;
            if (loc != NULL && loc[0] == '/')
                loc = uri = nf_ice_path_uri(loc);
            st = nf_ice_catalog_ensure_namespace(w->cat, w->ns, &err);
            if (st == NF_OK)
                st = nf_ice_catalog_create(w->cat, w->ns, w->table_name, loc,
                                           nf_cold_schema_json, nf_cold_spec_json,
                                           nf_cold_sort_order_json, nf_cold_properties_json,
                                           &w->table, &err);
            free(uri);
            if (st == NF_ECONFLICT) /* another writer created it first */
                st = nf_ice_catalog_load(w->cat, w->ns, w->table_name, &w->table, NULL, &err);
            else if (st == NF_OK)
                nf_log_info(COMP, "created table %s.%s at %s", w->ns, w->table_name,
                            nf_ice_table_location(w->table));
        }
        if (st != NF_OK) {
            atomic_store(&w->st.catalog_up, 0);
            warn_rl(&w->rl_cat, "Iceberg table", err.msg);
            return false;
        }
        if (nf_pq_committed(w->table, w->cfg->stream, &w->committed, &err) != NF_OK) {
            warn_rl(&w->rl_cat, "Iceberg table state", err.msg);
            nf_ice_table_free(w->table);
            w->table = NULL;
            return false;
        }
        atomic_store(&w->st.last_committed_seq, nf_seqset_max(&w->committed));
        nf_log_info(COMP, "table %s.%s: %zu committed sequence range(s), last %" PRIu64,
                    w->ns, w->table_name, w->committed.n, nf_seqset_max(&w->committed));
    }
    atomic_store(&w->st.catalog_up, 1);
    return true;
}

static bool
duck_ready(nf_pqwriter *w)
{
    if (w->duck != NULL)
        return true;
    nf_err err = {0};
    char limit[32];
    snprintf(limit, sizeof(limit), "%" PRIu64 "KiB", w->cfg->duckdb_memory_limit >> 10);
    if (nf_duck_open(NULL, (int)w->cfg->duckdb_threads, limit, &w->duck, &err) != NF_OK) {
        warn_rl(&w->rl, "DuckDB", err.msg);
        return false;
    }
    return true;
}

/* ---- the batch ---------------------------------------------------------------------------- */

static bool
is_held(const nf_pqwriter *w, uint64_t seq)
{
    for (size_t i = 0; i < w->nheld; i++)
        if (w->held[i].msg.stream_seq == seq)
            return true;
    return false;
}

static void
publish_held_gauge(nf_pqwriter *w)
{
    atomic_store(&w->st.held_records, w->nflows);
}

static void
batch_reset(nf_pqwriter *w)
{
    w->nheld = 0;
    w->nflows = 0;
    publish_held_gauge(w);
}

/* Gives every held message back for redelivery after delay_ms and empties the batch. */
static void
nak_all(nf_pqwriter *w, uint64_t delay_ms)
{
    for (size_t i = 0; i < w->nheld; i++)
        if (w->held[i].msg.handle != NULL &&
            nf_bus_nak(w->consumer, &w->held[i].msg, delay_ms, NULL) != NF_OK)
            nf_bus_msg_release(&w->held[i].msg);
    batch_reset(w);
}

static void
release_all(nf_pqwriter *w)
{
    for (size_t i = 0; i < w->nheld; i++)
        if (w->held[i].msg.handle != NULL)
            nf_bus_msg_release(&w->held[i].msg);
    batch_reset(w);
}

static void
dead_letter(nf_pqwriter *w, nf_bus_msg *m, const char *id, const char *reason)
{
    uint64_t seq = m->stream_seq; /* m is settled below */
    nf_err err = {0};
    if (nf_bus_dead_letter(w->bus, w->consumer, m, w->cfg->dead_letter_subject, w->cfg->stream,
                           id, reason, w->cfg->backoff_max_ms, &err) != NF_OK) {
        atomic_fetch_add(&w->st.dead_letter_failures, 1);
        warn_rl(&w->rl, "dead letter not stored, message retried", err.msg);
        return;
    }
    atomic_fetch_add(&w->st.dead_letters, 1);
    nf_seqset_add(&w->settled, seq, seq, NULL); /* best effort: a hole costs nothing */
    nf_log_warn(COMP, "message %s (stream sequence %" PRIu64 ") dead-lettered to %s: %s", id,
                seq, w->cfg->dead_letter_subject, reason);
}

static bool
grow(nf_pqwriter *w, size_t flows)
{
    if (flows > w->flows_cap) {
        size_t cap = w->flows_cap ? w->flows_cap : 4096;
        while (cap < flows)
            cap *= 2;
        nf_flow *f = realloc(w->flows, cap * sizeof(*f));
        if (f == NULL)
            return false;
        w->flows = f;
        w->flows_cap = cap;
    }
    if (w->nheld == w->held_cap) {
        size_t cap = w->held_cap ? w->held_cap * 2 : 64;
        held_msg *h = realloc(w->held, cap * sizeof(*h));
        if (h == NULL)
            return false;
        w->held = h;
        w->held_cap = cap;
    }
    return true;
}

static void flush(nf_pqwriter *w);

/* Decodes m into the batch (flushing first if its rows would not fit), acks it if the table
 * already has it, or dead-letters it. Takes ownership of *m. */
static void
take(nf_pqwriter *w, nf_bus_msg *m)
{
    char id[MSG_ID_MAX];
    nf_bus_msg_id(m, id, sizeof(id));
    atomic_fetch_add(&w->st.messages, 1);
    if (m->num_delivered > 1)
        atomic_fetch_add(&w->st.redeliveries, 1);
    if (is_held(w, m->stream_seq)) {
        atomic_fetch_add(&w->st.held_twice, 1);
        nf_bus_msg_release(m);
        return;
    }
    nf_err err = {0};
    if (nf_seqset_contains(&w->committed, m->stream_seq)) {
        if (nf_bus_ack(w->consumer, m, &err) != NF_OK) {
            warn_rl(&w->rl_nats, "ack", err.msg);
            if (m->handle != NULL)
                nf_bus_msg_release(m);
            return;
        }
        atomic_fetch_add(&w->st.already_committed, 1);
        atomic_fetch_add(&w->st.messages_acked, 1);
        return;
    }
    nf_flowbatch_header h;
    if (nf_flowbatch_peek(m->data, m->len, &h, &err) != NF_OK) {
        dead_letter(w, m, id, err.msg);
        return;
    }
    if (h.records > RECORDS_PER_MSG_MAX) {
        dead_letter(w, m, id, "more records than a FlowBatch can hold");
        return;
    }
    if (w->nheld > 0 && w->nflows + h.records > w->cfg->batch_size) {
        flush(w);
        if (w->nheld > 0) { /* the commit did not go through: hand this one back too */
            nf_bus_msg_release(m);
            return;
        }
    }
    if (!grow(w, w->nflows + h.records + 1)) {
        warn_rl(&w->rl, "out of memory holding a batch", id);
        nf_bus_msg_release(m);
        return;
    }
    size_t n = 0;
    if (nf_flowbatch_decode(m->data, m->len, &h, w->flows + w->nflows, NULL,
                            w->flows_cap - w->nflows, &n, &err) != NF_OK) {
        dead_letter(w, m, id, err.msg);
        return;
    }
    atomic_fetch_add(&w->st.records, n);
    held_msg *hm = &w->held[w->nheld++];
    hm->msg = *m;
    hm->row_lo = w->nflows;
    hm->row_hi = w->nflows + n;
    snprintf(hm->agent, sizeof(hm->agent), "%s", h.agent_id);
    w->nflows += n;
    if (w->nheld == 1)
        w->started_ms = nf_mono_ms();
    publish_held_gauge(w);
}

/* Removes the held messages whose sequences are in drop (acking them: the table has their
 * rows) and their rows. */
static void
ack_and_drop(nf_pqwriter *w, const nf_seqset *drop)
{
    size_t keep = 0, row = 0;
    for (size_t i = 0; i < w->nheld; i++) {
        held_msg hm = w->held[i];
        if (nf_seqset_contains(drop, hm.msg.stream_seq)) {
            nf_err err = {0};
            if (nf_bus_ack(w->consumer, &hm.msg, &err) != NF_OK) {
                warn_rl(&w->rl_nats, "ack", err.msg);
                if (hm.msg.handle != NULL)
                    nf_bus_msg_release(&hm.msg);
            } else {
                atomic_fetch_add(&w->st.already_committed, 1);
                atomic_fetch_add(&w->st.messages_acked, 1);
            }
            continue;
        }
        size_t n = hm.row_hi - hm.row_lo;
        memmove(&w->flows[row], &w->flows[hm.row_lo], n * sizeof(nf_flow));
        hm.row_lo = row;
        hm.row_hi = row + n;
        row += n;
        w->held[keep++] = hm;
    }
    w->nheld = keep;
    w->nflows = row;
    publish_held_gauge(w);
}

static void
pending_clear(nf_pqwriter *w)
{
    nf_pq_append_clear(&w->app);
    nf_seqset_clear(&w->app_seqs);
    nf_ice_datafiles_free(w->files, w->nfiles);
    w->files = NULL;
    w->nfiles = 0;
    w->pending = false;
}

/* The commit of the files in hand went through: ack everything held. */
static void
committed(nf_pqwriter *w)
{
    uint64_t recs = 0, bytes = 0;
    for (size_t i = 0; i < w->nfiles; i++) {
        recs += (uint64_t)w->files[i].record_count;
        bytes += (uint64_t)w->files[i].file_size;
    }
    size_t acked = 0;
    for (size_t i = 0; i < w->nheld; i++) {
        nf_err err = {0};
        if (nf_bus_ack(w->consumer, &w->held[i].msg, &err) == NF_OK) {
            acked++;
            continue;
        }
        /* Stored but not acked: it comes back and is acked as already committed. */
        warn_rl(&w->rl_nats, "ack after commit", err.msg);
        if (w->held[i].msg.handle != NULL)
            nf_bus_msg_release(&w->held[i].msg);
    }
    atomic_fetch_add(&w->st.commits, 1);
    if (w->app.attempts > 1)
        atomic_fetch_add(&w->st.commit_rebases, (uint64_t)(w->app.attempts - 1));
    atomic_fetch_add(&w->st.records_committed, recs);
    atomic_fetch_add(&w->st.files_written, w->nfiles);
    atomic_fetch_add(&w->st.bytes_written, bytes);
    atomic_fetch_add(&w->st.messages_acked, acked);
    atomic_store(&w->st.last_commit_ms, nf_mono_ms() - w->flush_started_ms);
    nf_err err = {0};
    if (nf_pq_committed(w->table, w->cfg->stream, &w->committed, &err) != NF_OK)
        warn_rl(&w->rl_cat, "table state after commit", err.msg);
    atomic_store(&w->st.last_committed_seq, nf_seqset_max(&w->committed));
    nf_log_debug(COMP, "committed %" PRIu64 " records in %zu file(s), %zu messages", recs,
                 w->nfiles, w->nheld);
    nf_seqset_clear(&w->settled);
    pending_clear(w);
    batch_reset(w);
    nf_backoff_reset(&w->backoff);
}

/* Tries the pending commit once more. True when it is settled (committed or abandoned). */
static bool
retry_pending(nf_pqwriter *w)
{
    nf_seqset overlap = {0};
    nf_err err = {0};
    nf_status st = nf_pq_append_commit(w->cat, &w->app, &w->table, &overlap, &err);
    if (st == NF_OK) {
        committed(w);
        nf_seqset_clear(&overlap);
        return true;
    }
    if (st == NF_ECONFLICT && overlap.n > 0) {
        /* Someone stored some of these messages: theirs stand; ours are rewritten. */
        atomic_fetch_add(&w->st.commit_conflicts, 1);
        nf_log_warn(COMP, "%zu sequence range(s) of this batch were already committed by "
                    "another writer: acking them and writing the rest again", overlap.n);
        nf_pq_append_discard(&w->app);
        nf_ice_fs_remove_files(w->files, w->nfiles);
        pending_clear(w);
        ack_and_drop(w, &overlap);
        nf_seqset_clear(&overlap);
        nf_seqset_clear(&w->committed);
        nf_pq_committed(w->table, w->cfg->stream, &w->committed, NULL);
        return true;
    }
    nf_seqset_clear(&overlap);
    atomic_fetch_add(&w->st.commit_failures, 1);
    warn_rl(&w->rl_cat, "commit (retried)", err.msg);
    /* Invariant 3: never hold the messages past half of ack_wait. */
    if (nf_mono_ms() - w->started_ms > w->cfg->ack_wait_ms / 2) {
        atomic_fetch_add(&w->st.commits_abandoned, 1);
        nf_log_warn(COMP, "commit still failing after %" PRIu64 " ms: %zu messages released "
                    "for redelivery (a later commit of them is recognised)",
                    nf_mono_ms() - w->started_ms, w->nheld);
        pending_clear(w); /* the files stay: the snapshot may exist */
        release_all(w);
        nf_ice_table_free(w->table);
        w->table = NULL; /* reload: the committed set decides what comes back */
        return true;
    }
    return false;
}

/* Writes the batch's files and commits them (see pqwriter.h). */
static void
flush(nf_pqwriter *w)
{
    if (w->nheld == 0 || w->pending)
        return;
    if (w->nflows == 0) { /* empty FlowBatches: nothing to store */
        for (size_t i = 0; i < w->nheld; i++)
            if (nf_bus_ack(w->consumer, &w->held[i].msg, NULL) != NF_OK &&
                w->held[i].msg.handle != NULL)
                nf_bus_msg_release(&w->held[i].msg);
        batch_reset(w);
        return;
    }
    w->flush_started_ms = nf_mono_ms();
    const char **agents = malloc(w->nflows * sizeof(*agents));
    nf_err err = {0};
    if (agents == NULL) {
        warn_rl(&w->rl, "out of memory writing a batch", "messages handed back");
        nak_all(w, w->cfg->backoff_max_ms);
        return;
    }
    for (size_t i = 0; i < w->nheld; i++)
        for (size_t r = w->held[i].row_lo; r < w->held[i].row_hi; r++)
            agents[r] = w->held[i].agent;
    nf_status st = nf_flowfile_write(w->duck, w->flows, agents, w->nflows,
                                     nf_ice_table_location(w->table), &w->files, &w->nfiles,
                                     &err);
    free(agents);
    if (st != NF_OK) {
        atomic_fetch_add(&w->st.write_failures, 1);
        warn_rl(&w->rl, "writing Parquet (batch handed back)", err.msg);
        nak_all(w, nf_backoff_next(&w->backoff));
        return;
    }
    for (size_t i = 0; i < w->nheld; i++)
        nf_seqset_add(&w->app_seqs, w->held[i].msg.stream_seq, w->held[i].msg.stream_seq, NULL);
    uint64_t floor = 0;
    if (nf_bus_consumer_ack_floor(w->bus, w->cfg->stream, w->cfg->consumer, &floor, &err) !=
        NF_OK)
        floor = 0; /* no trimming this time: always safe */
    w->app = (nf_pq_append){.ns = w->ns,
                            .table = w->table_name,
                            .stream = w->cfg->stream,
                            .files = w->files,
                            .nfiles = w->nfiles,
                            .seqs = &w->app_seqs,
                            .settled = &w->settled,
                            .ack_floor = floor};
    w->pending = true;
    retry_pending(w);
}

static bool
batch_due(const nf_pqwriter *w)
{
    return w->nheld > 0 &&
           (w->nflows >= w->cfg->batch_size ||
            nf_mono_ms() - w->started_ms >= w->cfg->batch_interval_ms);
}

static uint64_t
fetch_wait_ms(const nf_pqwriter *w)
{
    if (w->nheld == 0)
        return FETCH_WAIT_MS;
    uint64_t age = nf_mono_ms() - w->started_ms;
    if (age >= w->cfg->batch_interval_ms)
        return 1;
    uint64_t left = w->cfg->batch_interval_ms - age;
    return left < FETCH_WAIT_MS ? left : FETCH_WAIT_MS;
}

/* ---- maintenance ------------------------------------------------------------------------- */

/* Compaction, retention, rollups of closed days (rollup.h), snapshot expiry of the table and
 * of its rollup tables — in that order, so the rollups sum each day's compacted file and drop
 * the days retention removed, and expiry removes what the others replaced as soon as no
 * retained snapshot needs it. Each step runs even if an earlier one failed; the first error
 * is returned. */
static nf_status
maintain(nf_pqwriter *w, nf_err *err)
{
    atomic_fetch_add(&w->st.maintenance_runs, 1);
    nf_maint_options o = {.compact_min_files = w->cfg->compact_min_files,
                          .snapshot_max_age_ms = w->cfg->snapshot_max_age_ms,
                          .min_snapshots = w->cfg->min_snapshots,
                          .retention_ms = w->cfg->retention_ms};
    nf_maint_report r = {0};
    nf_rollup_report rr = {0};
    nf_err e[5] = {{0}};
    nf_status st[5];
    st[0] = nf_maint_compact(w->cat, w->ns, w->table_name, w->duck, &o, &r, &e[0]);
    st[1] = nf_maint_retention(w->cat, w->ns, w->table_name, &o, &r, &e[1]);
    st[2] = nf_rollup_maintain(w->cat, w->ns, w->table_name, w->duck, &o, &rr, &e[2]);
    st[3] = nf_maint_expire(w->cat, w->ns, w->table_name, &o, &r, &e[3]);
    st[4] = nf_rollup_expire(w->cat, w->ns, w->table_name, &o, &r, &e[4]);
    nf_log_info(COMP, "maintenance: %zu day(s) compacted (%zu files into %zu), %zu day(s) "
                "dropped by retention, %zu snapshot(s) expired, deleted %zu data file(s), %zu "
                "manifest(s), %zu manifest list(s), %zu metadata file(s), %zu orphan(s); %zu "
                "conflict(s), %zu unknown outcome(s)",
                r.days_compacted, r.files_rewritten, r.files_written, r.days_dropped,
                r.snapshots_expired, r.data_files_deleted, r.manifests_deleted,
                r.manifest_lists_deleted, r.metadata_files_deleted, r.orphans_deleted,
                r.conflicts, r.unknown_outcomes);
    nf_log_info(COMP, "rollups: %zu day(s) read (%" PRId64 " records), %zu rollup(s) built, "
                "%zu dropped, %zu table(s) created", rr.days_read, rr.records_read,
                rr.rollups_built, rr.rollups_dropped, rr.tables_created);
    /* The table changed under the cached metadata: reload before the next commit. */
    nf_ice_table_free(w->table);
    w->table = NULL;
    static const char *const step_name[] = {"compaction", "retention", "rollups",
                                            "snapshot expiry", "rollup snapshot expiry"};
    for (int i = 0; i < 5; i++)
        if (st[i] != NF_OK) {
            atomic_fetch_add(&w->st.maintenance_failures, 1);
            return nf_err_set(err, st[i], "%s: %s", step_name[i], e[i].msg);
        }
    return NF_OK;
}

static void
maybe_maintain(nf_pqwriter *w)
{
    if (w->cfg->maintenance_interval_ms == 0 || w->nheld > 0 || w->pending)
        return; /* invariant 4 */
    uint64_t now = nf_mono_ms();
    if (now < w->next_maintenance_ms)
        return;
    w->next_maintenance_ms = now + w->cfg->maintenance_interval_ms;
    nf_err err = {0};
    if (maintain(w, &err) != NF_OK)
        nf_log_warn(COMP, "maintenance: %s (next run in %" PRIu64 " s)", err.msg,
                    w->cfg->maintenance_interval_ms / 1000);
}

/* ---- the worker -------------------------------------------------------------------------- */

static void
step(nf_pqwriter *w)
{
    if (!bus_ready(w) || !catalog_ready(w) || !duck_ready(w)) {
        nap(w, nf_backoff_next(&w->backoff));
        return;
    }
    if (w->pending) {
        if (!retry_pending(w))
            nap(w, nf_backoff_next(&w->backoff));
        return;
    }
    nf_bus_msg msgs[FETCH_MAX];
    size_t got = 0;
    nf_err err = {0};
    nf_status st = nf_bus_fetch(w->consumer, FETCH_MAX, fetch_wait_ms(w), msgs, &got, &err);
    if (st != NF_OK && st != NF_ETIMEDOUT) {
        atomic_store(&w->st.nats_up, 0);
        warn_rl(&w->rl_nats, "fetch", err.msg);
        if (batch_due(w))
            flush(w);
        nap(w, nf_backoff_next(&w->backoff));
        return;
    }
    atomic_store(&w->st.nats_up, 1);
    nf_bus_lag_refresh(&w->st.lag, w->bus, w->cfg->stream, w->cfg->consumer, LAG_EVERY_MS);
    for (size_t i = 0; i < got; i++)
        take(w, &msgs[i]);
    if (batch_due(w))
        flush(w);
    if (w->nheld == 0)
        maybe_maintain(w);
}

static void *
run(void *arg)
{
    nf_pqwriter *w = arg;
    while (!stopping(w))
        step(w);
    /* Stopping: commit what is held (a few attempts), or hand it back. */
    if (w->nheld > 0 && w->consumer != NULL && w->cat != NULL && w->table != NULL &&
        w->duck != NULL) {
        if (!w->pending)
            flush(w);
        for (int i = 0; i < STOP_ATTEMPTS && w->pending; i++)
            retry_pending(w);
    }
    if (w->pending) {
        pending_clear(w);
        release_all(w);
    }
    if (w->nheld > 0)
        nak_all(w, 0);
    return NULL;
}

nf_status
nf_pqwriter_create(const nf_pqwriter_config *cfg, nf_pqwriter **out, nf_err *err)
{
    nf_pqwriter *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return nf_err_set(err, NF_ENOMEM, "out of memory");
    w->cfg = cfg;
    if (!nf_pqwriter_table_ident(cfg->iceberg_table, w->ns, sizeof(w->ns), w->table_name,
                                 sizeof(w->table_name))) {
        free(w);
        return nf_err_set(err, NF_EINVAL, "iceberg_table \"%s\" is not namespace.table",
                          cfg->iceberg_table);
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    nf_backoff_init(&w->backoff, cfg->backoff_min_ms, cfg->backoff_max_ms,
                    (unsigned)nf_mono_ms());
    *out = w;
    return NF_OK;
}

nf_status
nf_pqwriter_start(nf_pqwriter *w, nf_err *err)
{
    int rc = pthread_create(&w->thread, NULL, run, w);
    if (rc != 0)
        return nf_err_sys(err, NF_EIO, rc, "starting the writer thread");
    w->started = true;
    return NF_OK;
}

void
nf_pqwriter_stop(nf_pqwriter *w)
{
    if (w == NULL || !w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    w->started = false;
}

nf_status
nf_pqwriter_maintain_once(nf_pqwriter *w, nf_err *err)
{
    if (!catalog_ready(w) || !duck_ready(w))
        return nf_err_set(err, NF_EAGAIN, "catalog %s or DuckDB not ready (see the log)",
                          w->cfg->iceberg_catalog);
    return maintain(w, err);
}

void
nf_pqwriter_destroy(nf_pqwriter *w)
{
    if (w == NULL)
        return;
    nf_pqwriter_stop(w);
    if (w->consumer != NULL)
        nf_bus_consumer_close(w->consumer);
    nf_bus_close(w->bus);
    nf_ice_table_free(w->table);
    nf_ice_catalog_close(w->cat);
    nf_duck_close(w->duck);
    pending_clear(w);
    nf_seqset_clear(&w->committed);
    nf_seqset_clear(&w->settled);
    free(w->held);
    free(w->flows);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->wake);
    free(w);
}

void
nf_pqwriter_render_metrics(void *ctx, nf_metrics *m)
{
    nf_pqwriter *w = ctx;
    stats *s = &w->st;
#define C(name, field, help)                                                                    \
    nf_metrics_counter(m, "serviceradar_netflow_parquet_" name, help, atomic_load(&s->field))
    C("messages_total", messages, "FlowBatch messages fetched from JetStream");
    C("records_total", records, "flow records in decoded messages");
    C("redeliveries_total", redeliveries, "messages fetched again (num_delivered > 1)");
    C("already_committed_total", already_committed,
      "messages whose rows the table already held: acked without writing");
    C("held_twice_total", held_twice, "deliveries of a message already held (released)");
    C("commits_total", commits, "append snapshots committed");
    C("commit_conflicts_total", commit_conflicts,
      "batches that met rows another writer had committed");
    C("commit_rebases_total", commit_rebases,
      "commit attempts refused because another writer committed first (then rebased)");
    C("commit_failures_total", commit_failures, "commit attempts failed or of unknown outcome");
    C("commits_abandoned_total", commits_abandoned,
      "batches released for redelivery after failing until ack_wait/2");
    C("records_committed_total", records_committed, "flow records committed to the table");
    C("files_written_total", files_written, "Parquet data files committed");
    C("bytes_written_total", bytes_written, "bytes of Parquet data files committed");
    C("messages_acked_total", messages_acked, "messages acknowledged to JetStream");
    C("write_failures_total", write_failures, "batches whose Parquet files could not be written");
    C("dead_letters_total", dead_letters, "undecodable messages moved to the dead-letter stream");
    C("dead_letter_failures_total", dead_letter_failures,
      "dead letters that could not be stored (message retried)");
    C("maintenance_runs_total", maintenance_runs, "maintenance passes");
    C("maintenance_failures_total", maintenance_failures, "maintenance passes that failed");
#undef C
    nf_metrics_gauge(m, "serviceradar_netflow_parquet_held_records",
                     "records held for the next commit", (double)atomic_load(&s->held_records));
    nf_metrics_gauge(m, "serviceradar_netflow_parquet_last_commit_ms",
                     "duration of the last commit (files and catalog)",
                     (double)atomic_load(&s->last_commit_ms));
    nf_metrics_gauge(m, "serviceradar_netflow_parquet_last_committed_sequence",
                     "highest JetStream stream sequence the table records",
                     (double)atomic_load(&s->last_committed_seq));
    nf_metrics_gauge(m, "serviceradar_netflow_parquet_nats_up", "1 while NATS is reachable",
                     (double)atomic_load(&s->nats_up));
    nf_metrics_gauge(m, "serviceradar_netflow_parquet_catalog_up", "1 while the catalog answers",
                     (double)atomic_load(&s->catalog_up));
    uint64_t pending, ack_pending;
    if (nf_bus_lag_read(&s->lag, &pending, &ack_pending)) {
        nf_metrics_gauge(m, "serviceradar_netflow_parquet_consumer_pending_messages",
                         "messages in the stream not delivered to this durable yet (its lag)",
                         (double)pending);
        nf_metrics_gauge(m, "serviceradar_netflow_parquet_consumer_ack_pending",
                         "messages delivered to this durable and not acked yet",
                         (double)ack_pending);
    }
}

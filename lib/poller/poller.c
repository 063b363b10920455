/* poller.c — the poller engine. See poller.h for the design and the state diagram.
 *
 * Chunk handling in one poll (normal mode, cursor c, batch size B):
 *
 *     chunk [first..last], n records, is_final
 *       dropped_before > 0     → counted as lost at the edge (evicted before fetched)
 *       first > c + 1 + dropped→ counted as a sequence jump (the checker restarted)
 *       n == 0                 → nothing to publish (caught up)
 *       !is_final or n == B    → full batch: publish, then cursor = last
 *       else (partial tail)    → publish only once it has waited batch_interval, after
 *                                saving inflight=[first..last]; else leave it for later
 *
 * Replay mode (a saved inflight range [F..L]): ask for last_sequence F-1 with batch size
 * L-F+1, publish the one chunk that comes back under id <agent>:F, clear the range.
 */
#include "poller.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../base/backoff.h"
#include "../base/clock.h"
#include "../base/daemon.h"
#include "../base/log.h"
#include "../bus/bus.h"
#include "../proto/flowbatch.h"
#include "../rpc/rpc.h"
#include "cursor.h"
#include "monitoring.pb-c.h"

#define COMP "poller"
#define LOG_EVERY_MS 10000

/* Per-agent counters, read by the metrics thread. */
typedef struct agent_stats {
    atomic_uint_fast64_t batches;        /* messages JetStream stored */
    atomic_uint_fast64_t records;        /* records in them */
    atomic_uint_fast64_t duplicates;     /* publishes the server recognised as duplicates */
    atomic_uint_fast64_t publish_full;   /* refused: stream full / NATS unavailable */
    atomic_uint_fast64_t publish_errors; /* refused for other reasons */
    atomic_uint_fast64_t lost_at_edge;   /* records evicted from the ring before fetched */
    atomic_uint_fast64_t seq_jumps;      /* sequence jumps (checker restart): records unknown */
    atomic_uint_fast64_t agent_failures; /* health checks or streams that failed */
    atomic_uint_fast64_t replays;        /* partial batches re-published after a restart */
    atomic_uint_fast64_t cursor;         /* last acknowledged sequence */
    atomic_int up;                       /* last health check passed */
} agent_stats;

typedef struct agent_worker {
    struct nf_poller *p;
    const nf_poller_agent *cfg;
    pthread_t thread;
    bool started;
    nf_rpc_client *client;
    char cursor_path[4096];
    nf_cursor_state st;
    uint64_t tail_first;    /* first sequence of the partial tail being waited on */
    uint64_t tail_since_ms; /* monotonic time it was first seen */
    uint64_t lost_upto;     /* highest sequence already counted in lost_at_edge: a chunk
                             * reporting a loss may be fetched again when its publish fails */
    nf_ratelimit rl;
    agent_stats stats;
} agent_worker;

struct nf_poller {
    const nf_poller_config *cfg;
    agent_worker *agents;
    size_t nagents;
    pthread_mutex_t mu;   /* guards bus, bus_ready, and the stop condition */
    pthread_cond_t wake;
    bool stop;
    nf_bus *bus;
    bool bus_ready;       /* connected, stream and consumers ensured */
    uint64_t bus_next_try_ms;
    atomic_uint_fast64_t bus_failures;
};

/* ---- helpers ----------------------------------------------------------------------------- */

/* Sleeps up to ms unless stop is requested; returns true when stopping. */
static bool
nap(nf_poller *p, uint64_t ms)
{
    return nf_nap_unless_stopped(&p->mu, &p->wake, &p->stop, ms);
}

static bool
stopping(nf_poller *p)
{
    return nf_stop_requested(&p->mu, &p->stop);
}

/* Comma-separated durable names the writers use ("clickhouse,parquet"). */
static nf_status
ensure_consumers(nf_poller *p, nf_err *err)
{
    const char *list = p->cfg->nats.consumers;
    while (list != NULL && *list != '\0') {
        const char *comma = strchr(list, ',');
        size_t n = comma ? (size_t)(comma - list) : strlen(list);
        char name[128];
        if (n > 0 && n < sizeof(name)) {
            memcpy(name, list, n);
            name[n] = '\0';
            nf_status st = nf_bus_consumer_ensure(p->bus, p->cfg->nats.stream, name,
                                                  p->cfg->nats.subject, 0, 0, err);
            if (st != NF_OK)
                return st;
        }
        list = comma ? comma + 1 : NULL;
    }
    return NF_OK;
}

/* Makes sure NATS is connected and the stream and consumers exist; at most one attempt per
 * backoff step, shared by all agent threads. */
static bool
bus_ready(nf_poller *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->bus_ready && nf_bus_connected(p->bus)) {
        pthread_mutex_unlock(&p->mu);
        return true;
    }
    uint64_t now = nf_mono_ms();
    if (now < p->bus_next_try_ms) {
        pthread_mutex_unlock(&p->mu);
        return false;
    }
    const nf_poller_config *cfg = p->cfg;
    nf_err err = {0};
    nf_status st = NF_OK;
    if (p->bus == NULL) {
        nf_bus_config bc = {.url = cfg->nats.url, .security = &cfg->nats.security,
                            .name = cfg->poller_id, .timeout_ms = cfg->nats.publish_timeout_ms};
        st = nf_bus_connect(&bc, &p->bus, &err);
    }
    if (st == NF_OK) {
        const char *subjects[] = {cfg->nats.subject};
        nf_stream_config sc = {.name = cfg->nats.stream, .subjects = subjects, .nsubjects = 1,
                               .max_bytes = (int64_t)cfg->nats.max_bytes, .discard_new = true,
                               .duplicate_window_ms = cfg->nats.duplicate_window_ms,
                               .replicas = (int)cfg->nats.replicas};
        st = nf_bus_ensure_stream(p->bus, &sc, &err);
    }
    if (st == NF_OK)
        st = ensure_consumers(p, &err);
    p->bus_ready = st == NF_OK;
    if (st != NF_OK) {
        atomic_fetch_add(&p->bus_failures, 1);
        p->bus_next_try_ms = now + cfg->backoff_max_ms / 4 + cfg->backoff_min_ms;
        nf_log_warn(COMP, "nats %s: %s (retrying)", cfg->nats.url, err.msg);
        if (st == NF_EINVAL) /* a misconfigured stream will not fix itself: say so loudly */
            nf_log_error(COMP, "stream %s: %s", cfg->nats.stream, err.msg);
    } else {
        nf_log_info(COMP, "nats %s: stream %s ready (consumers %s)", cfg->nats.url,
                    cfg->nats.stream, cfg->nats.consumers);
    }
    pthread_mutex_unlock(&p->mu);
    return st == NF_OK;
}

/* ---- one poll ------------------------------------------------------------------------------ */

typedef enum poll_result {
    POLL_CAUGHT_UP, /* nothing (more) to publish now */
    POLL_MORE,      /* stream ended before catching up: poll again at once */
    POLL_AGENT_DOWN,
    POLL_BUS_DOWN,
} poll_result;

typedef struct poll_ctx {
    agent_worker *w;
    bool replay;          /* publishing a saved inflight range */
    uint32_t batch;       /* batch size asked for */
    bool saw_final;
    bool published_final;
    bool bus_failed;
    bool cancelled;       /* stopped by us (replay done, stopping) */
} poll_ctx;

static bool
save_cursor(agent_worker *w, bool sync)
{
    nf_err err;
    if (nf_cursor_save(w->cursor_path, &w->st, sync, &err) != NF_OK) {
        nf_log_error(COMP, "agent=%s %s", w->cfg->name, err.msg);
        return false;
    }
    return true;
}

/* Fault injection for tests: NF_FAULT_POLLER_EXIT_AFTER_PUBLISH=N makes the process exit
 * right after the N-th acknowledged publish, before the cursor is saved — the worst moment
 * for a crash, which the de-duplication must absorb. Read once; costs an atomic decrement. */
static atomic_int fault_countdown = -1;

static void
fault_init(void)
{
    const char *v = getenv("NF_FAULT_POLLER_EXIT_AFTER_PUBLISH");
    atomic_store(&fault_countdown, v ? atoi(v) : 0);
}

static void
fault_after_publish(void)
{
    if (atomic_load(&fault_countdown) > 0 && atomic_fetch_sub(&fault_countdown, 1) == 1) {
        nf_log_warn(COMP, "fault injection: exiting after a publish, before saving the cursor");
        _exit(99);
    }
}

/* Publishes one FlowBatch; on success advances the cursor to last. A replayed batch keeps
 * the id it was first published under (its saved first sequence), so that JetStream drops it
 * as a duplicate even if records at its head were evicted in the meantime. */
static bool
publish(poll_ctx *pc, const uint8_t *data, size_t len, const nf_flowbatch_header *h)
{
    agent_worker *w = pc->w;
    const nf_poller_config *cfg = w->p->cfg;
    char id[192];
    snprintf(id, sizeof(id), "%s:%" PRIu64, w->cfg->name,
             pc->replay ? w->st.inflight_first : h->first_seq);
    nf_pub_ack ack;
    nf_err err = {0};
    nf_status st = nf_bus_publish(w->p->bus, cfg->nats.subject, data, len, id,
                                  cfg->nats.publish_timeout_ms, &ack, &err);
    if (st != NF_OK) {
        atomic_fetch_add(st == NF_EAGAIN ? &w->stats.publish_full : &w->stats.publish_errors, 1);
        uint64_t suppressed;
        if (nf_ratelimit_allow(&w->rl, nf_mono_ms(), LOG_EVERY_MS, &suppressed))
            nf_log_warn(COMP, "agent=%s publish %s: %s (suppressed=%" PRIu64 ")", w->cfg->name,
                        id, err.msg, suppressed);
        pc->bus_failed = true;
        return false;
    }
    fault_after_publish();
    if (ack.duplicate)
        atomic_fetch_add(&w->stats.duplicates, 1);
    else {
        atomic_fetch_add(&w->stats.batches, 1);
        atomic_fetch_add(&w->stats.records, h->records);
    }
    w->st.cursor = h->last_seq;
    w->st.inflight_first = w->st.inflight_last = 0;
    atomic_store(&w->stats.cursor, w->st.cursor);
    save_cursor(w, false);
    return true;
}

/* Called for every ResultsChunk; returns false to end the stream. */
static bool
on_chunk(void *ctx, const uint8_t *msg, size_t len)
{
    poll_ctx *pc = ctx;
    agent_worker *w = pc->w;
    if (stopping(w->p)) {
        pc->cancelled = true;
        return false;
    }
    Monitoring__ResultsChunk *chunk = monitoring__results_chunk__unpack(NULL, len, msg);
    nf_flowbatch_header h;
    if (chunk == NULL || nf_flowbatch_peek(chunk->data.data, chunk->data.len, &h, NULL) != NF_OK) {
        if (chunk != NULL)
            monitoring__results_chunk__free_unpacked(chunk, NULL);
        nf_log_error(COMP, "agent=%s: undecodable chunk (%zu bytes): stream abandoned",
                     w->cfg->name, len);
        atomic_fetch_add(&w->stats.agent_failures, 1);
        return false;
    }
    bool keep = true;
    uint64_t from = pc->replay ? w->st.inflight_first : w->st.cursor + 1;
    uint64_t expected = from + h.dropped_before;
    if (h.dropped_before > 0 && expected - 1 > w->lost_upto) {
        uint64_t fresh = expected - 1 - (w->lost_upto >= from ? w->lost_upto : from - 1);
        w->lost_upto = expected - 1;
        atomic_fetch_add(&w->stats.lost_at_edge, fresh);
        nf_log_warn(COMP, "agent=%s: %" PRIu64 " records were evicted by the checker before "
                          "they could be published",
                    w->cfg->name, fresh);
    }
    if (h.records > 0 && w->st.cursor != 0 && h.first_seq != expected) {
        atomic_fetch_add(&w->stats.seq_jumps, 1);
        nf_log_warn(COMP, "agent=%s: sequence jumps from %" PRIu64 " to %" PRIu64
                          " (checker restarted?): records in between are unknown",
                    w->cfg->name, expected, h.first_seq);
    }
    if (chunk->is_final)
        pc->saw_final = true;
    if (h.records == 0) {
        /* nothing */
    } else if (pc->replay) {
        if (h.first_seq != w->st.inflight_first || h.last_seq != w->st.inflight_last)
            nf_log_warn(COMP, "agent=%s: saved batch %" PRIu64 "-%" PRIu64 " came back as %" PRIu64
                              "-%" PRIu64 " (records evicted meanwhile)",
                        w->cfg->name, w->st.inflight_first, w->st.inflight_last, h.first_seq,
                        h.last_seq);
        keep = publish(pc, chunk->data.data, chunk->data.len, &h);
        if (keep)
            atomic_fetch_add(&w->stats.replays, 1);
        pc->cancelled = keep; /* done: poll again in normal mode */
        keep = false;
    } else if (!chunk->is_final || h.records >= pc->batch) {
        keep = publish(pc, chunk->data.data, chunk->data.len, &h);
        pc->published_final = keep && chunk->is_final;
    } else {
        /* Partial tail: publish once it has waited batch_interval for more records. */
        uint64_t now = nf_mono_ms();
        if (w->tail_first != h.first_seq) {
            w->tail_first = h.first_seq;
            w->tail_since_ms = now;
        }
        if (now - w->tail_since_ms >= w->p->cfg->nats.batch_interval_ms) {
            w->st.inflight_first = h.first_seq;
            w->st.inflight_last = h.last_seq;
            if (save_cursor(w, true)) {
                keep = publish(pc, chunk->data.data, chunk->data.len, &h);
                pc->published_final = keep;
            } else {
                w->st.inflight_first = w->st.inflight_last = 0;
                keep = false;
            }
        }
    }
    monitoring__results_chunk__free_unpacked(chunk, NULL);
    return keep;
}

static poll_result
poll_once(agent_worker *w)
{
    const nf_poller_config *cfg = w->p->cfg;
    poll_ctx pc = {.w = w};
    char last[24];
    Monitoring__ResultsRequest req = MONITORING__RESULTS_REQUEST__INIT;
    req.service_name = w->cfg->service_name;
    req.service_type = w->cfg->service_type;
    req.agent_id = w->cfg->name;
    req.poller_id = cfg->poller_id;
    req.details = w->cfg->details;
    if (w->st.inflight_first != 0) {
        pc.replay = true;
        pc.batch = (uint32_t)(w->st.inflight_last - w->st.inflight_first + 1);
        snprintf(last, sizeof(last), "%" PRIu64, w->st.inflight_first - 1);
    } else {
        pc.batch = (uint32_t)cfg->nats.batch_size;
        snprintf(last, sizeof(last), "%" PRIu64, w->st.cursor);
    }
    req.last_sequence = last;
    req.batch_size = pc.batch;
    uint8_t buf[1024];
    size_t len = monitoring__results_request__get_packed_size(&req);
    if (len > sizeof(buf))
        return POLL_AGENT_DOWN;
    monitoring__results_request__pack(&req, buf);

    nf_rpc_status rs;
    nf_err err = {0};
    nf_status st = nf_rpc_server_stream(w->client, "/monitoring.AgentService/StreamResults", buf,
                                        len, cfg->rpc_timeout_ms, on_chunk, &pc, &rs, &err);
    if (pc.bus_failed)
        return POLL_BUS_DOWN;
    if (pc.cancelled)
        return POLL_MORE;
    if (st != NF_OK || rs.code != NF_RPC_OK) {
        uint64_t suppressed;
        if (nf_ratelimit_allow(&w->rl, nf_mono_ms(), LOG_EVERY_MS, &suppressed))
            nf_log_warn(COMP, "agent=%s StreamResults: %s", w->cfg->name,
                        st != NF_OK ? err.msg : rs.message);
        return POLL_AGENT_DOWN;
    }
    return pc.saw_final ? POLL_CAUGHT_UP : POLL_MORE;
}

/* ---- agent thread ---------------------------------------------------------------------------- */

static void *
agent_main(void *arg)
{
    agent_worker *w = arg;
    nf_poller *p = w->p;
    const nf_poller_config *cfg = p->cfg;
    nf_backoff backoff;
    nf_backoff_init(&backoff, cfg->backoff_min_ms, cfg->backoff_max_ms,
                    (unsigned)(nf_mono_ns() ^ (uintptr_t)w));
    while (!stopping(p)) {
        if (!bus_ready(p)) {
            if (nap(p, nf_backoff_next(&backoff)))
                break;
            continue;
        }
        bool serving = false;
        nf_err err = {0};
        nf_status hs = nf_rpc_health_check(w->client, "monitoring.AgentService",
                                           cfg->health_timeout_ms, &serving, &err);
        atomic_store(&w->stats.up, hs == NF_OK && serving);
        poll_result r = POLL_AGENT_DOWN;
        if (hs == NF_OK && serving)
            r = poll_once(w);
        else if (nf_ratelimit_allow(&w->rl, nf_mono_ms(), LOG_EVERY_MS, NULL))
            nf_log_warn(COMP, "agent=%s %s: health check failed: %s", w->cfg->name,
                        w->cfg->address, hs == NF_OK ? "NOT_SERVING" : err.msg);
        switch (r) {
        case POLL_CAUGHT_UP:
            nf_backoff_reset(&backoff);
            if (nap(p, cfg->poll_interval_ms))
                goto out;
            break;
        case POLL_MORE:
            nf_backoff_reset(&backoff);
            break;
        case POLL_AGENT_DOWN:
            atomic_store(&w->stats.up, 0);
            atomic_fetch_add(&w->stats.agent_failures, 1);
            if (nap(p, nf_backoff_next(&backoff)))
                goto out;
            break;
        case POLL_BUS_DOWN:
            if (nap(p, nf_backoff_next(&backoff)))
                goto out;
            break;
        }
    }
out:
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------------- */

static nf_status
make_state_dir(const char *dir, nf_err *err)
{
    if (mkdir(dir, 0750) != 0 && errno != EEXIST)
        return nf_err_sys(err, NF_EIO, errno, "state_dir %s", dir);
    return NF_OK;
}

nf_status
nf_poller_create(const nf_poller_config *cfg, nf_poller **out, nf_err *err)
{
    nf_status st = make_state_dir(cfg->state_dir, err);
    if (st != NF_OK)
        return st;
    nf_poller *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return nf_err_set(err, NF_ENOMEM, "poller: out of memory");
    p->cfg = cfg;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    p->agents = calloc(cfg->nagents, sizeof(*p->agents));
    if (p->agents == NULL) {
        nf_poller_destroy(p);
        return nf_err_set(err, NF_ENOMEM, "poller: out of memory");
    }
    for (size_t i = 0; i < cfg->nagents; i++) {
        agent_worker *w = &p->agents[i];
        w->p = p;
        w->cfg = &cfg->agents[i];
        p->nagents++;
        snprintf(w->cursor_path, sizeof(w->cursor_path), "%s/%s.cursor", cfg->state_dir,
                 w->cfg->name);
        st = nf_cursor_load(w->cursor_path, &w->st, err);
        if (st == NF_OK)
            st = nf_rpc_client_create(w->cfg->address, &cfg->security, &w->client, err);
        if (st != NF_OK) {
            nf_poller_destroy(p);
            return st;
        }
        atomic_store(&w->stats.cursor, w->st.cursor);
    }
    *out = p;
    return NF_OK;
}

nf_status
nf_poller_start(nf_poller *p, nf_err *err)
{
    fault_init();
    for (size_t i = 0; i < p->nagents; i++) {
        agent_worker *w = &p->agents[i];
        int rc = pthread_create(&w->thread, NULL, agent_main, w);
        if (rc != 0) {
            nf_poller_stop(p);
            return nf_err_sys(err, NF_EINTERNAL, rc, "poller: thread for agent %s",
                              w->cfg->name);
        }
        w->started = true;
    }
    return NF_OK;
}

void
nf_poller_stop(nf_poller *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->nagents; i++) {
        if (p->agents[i].started) {
            pthread_join(p->agents[i].thread, NULL);
            p->agents[i].started = false;
        }
    }
}

void
nf_poller_destroy(nf_poller *p)
{
    if (p == NULL)
        return;
    nf_poller_stop(p);
    for (size_t i = 0; p->agents != NULL && i < p->nagents; i++)
        nf_rpc_client_destroy(p->agents[i].client);
    free(p->agents);
    nf_bus_close(p->bus);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void
nf_poller_render_metrics(void *ctx, nf_metrics *m)
{
    nf_poller *p = ctx;
    static const struct {
        const char *name, *type, *help;
        size_t offset;
    } per[] = {
        {"serviceradar_poller_batches_published_total", "counter",
         "FlowBatch messages JetStream stored", offsetof(agent_stats, batches)},
        {"serviceradar_poller_records_published_total", "counter",
         "flow records in the stored messages", offsetof(agent_stats, records)},
        {"serviceradar_poller_duplicates_total", "counter",
         "re-published batches the server recognised (after a restart)",
         offsetof(agent_stats, duplicates)},
        {"serviceradar_poller_publish_backpressure_total", "counter",
         "publishes refused for now (stream full, NATS unavailable): retried",
         offsetof(agent_stats, publish_full)},
        {"serviceradar_poller_publish_errors_total", "counter", "publishes refused otherwise",
         offsetof(agent_stats, publish_errors)},
        {"serviceradar_poller_records_lost_at_edge_total", "counter",
         "records the checker evicted before they could be fetched",
         offsetof(agent_stats, lost_at_edge)},
        {"serviceradar_poller_sequence_jumps_total", "counter",
         "sequence discontinuities (checker restarted): records in between unknown",
         offsetof(agent_stats, seq_jumps)},
        {"serviceradar_poller_agent_failures_total", "counter",
         "failed health checks or result streams", offsetof(agent_stats, agent_failures)},
        {"serviceradar_poller_replays_total", "counter",
         "saved partial batches re-published after a restart", offsetof(agent_stats, replays)},
        {"serviceradar_poller_cursor", "gauge", "last sequence acknowledged by JetStream",
         offsetof(agent_stats, cursor)},
    };
    for (size_t k = 0; k < sizeof(per) / sizeof(per[0]); k++) {
        nf_metrics_family(m, per[k].name, per[k].type, per[k].help);
        for (size_t i = 0; i < p->nagents; i++) {
            char labels[160], esc[128];
            nf_metrics_escape(p->agents[i].cfg->name, esc, sizeof(esc));
            snprintf(labels, sizeof(labels), "agent=\"%s\"", esc);
            atomic_uint_fast64_t *v =
                (atomic_uint_fast64_t *)((char *)&p->agents[i].stats + per[k].offset);
            nf_metrics_sample(m, per[k].name, labels, atomic_load(v));
        }
    }
    nf_metrics_family(m, "serviceradar_poller_agent_up", "gauge",
                      "1 if the agent's last health check passed");
    for (size_t i = 0; i < p->nagents; i++) {
        char labels[160], esc[128];
        nf_metrics_escape(p->agents[i].cfg->name, esc, sizeof(esc));
        snprintf(labels, sizeof(labels), "agent=\"%s\"", esc);
        nf_metrics_sample(m, "serviceradar_poller_agent_up", labels,
                          (uint64_t)atomic_load(&p->agents[i].stats.up));
    }
    pthread_mutex_lock(&p->mu);
    bool connected = p->bus != NULL && nf_bus_connected(p->bus);
    pthread_mutex_unlock(&p->mu);
    nf_metrics_gauge(m, "serviceradar_poller_nats_connected", "1 while connected to NATS",
                     connected ? 1.0 : 0.0);
    nf_metrics_counter(m, "serviceradar_poller_nats_failures_total",
                       "failed attempts to connect or prepare the stream",
                       atomic_load(&p->bus_failures));
}

/* cursor.h — where a poller is in an agent's record stream, kept on disk.
 *
 * One small text file per agent in the poller's state directory:
 *
 *     cursor=<last sequence published and acknowledged by JetStream>
 *     inflight=<first>-<last>       (only while a partial batch is being published)
 *
 * The cursor moves only after JetStream acknowledged the batch, so after a crash the poller
 * re-reads from it and nothing is lost. Re-published batches carry the same Nats-Msg-Id
 * (<agent>:<first_seq>) and so are dropped by the server as duplicates — provided they hold
 * the same records. Full batches do (the checker cuts batches deterministically from a
 * start sequence). A partial batch (the tail, published after batch_interval) does not, so
 * its exact range is written here first (fsync'd), and after a crash exactly that range is
 * published again.
 *
 * Writes go to a temporary file renamed over the old one, so a reader sees the old or the
 * new state, never a torn one. Not thread-safe; one owner per file.
 */
#ifndef NFX_LIB_POLLER_CURSOR_H
#define NFX_LIB_POLLER_CURSOR_H

#include <stdbool.h>
#include <stdint.h>

#include "../base/nf_status.h"

typedef struct nf_cursor_state {
    uint64_t cursor;          /* last sequence acknowledged (0: none yet) */
    uint64_t inflight_first;  /* partial batch being published; 0 when none */
    uint64_t inflight_last;
} nf_cursor_state;

/* Reads path into *out; a missing file gives a zero state (NF_OK). NF_EPROTO names the line
 * of a damaged file; NF_EIO other read errors. */
nf_status nf_cursor_load(const char *path, nf_cursor_state *out, nf_err *err);

/* Writes *st to path atomically; with sync, fsyncs the file and its directory first. */
nf_status nf_cursor_save(const char *path, const nf_cursor_state *st, bool sync, nf_err *err);

#endif

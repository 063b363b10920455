/* sender.h — where flowgen's datagrams go: UDP to a collector, or a pcap file.
 *
 * The I/O half of flowgen, kept out of the pure generator. UDP: one socket per simulated
 * exporter, optionally bound to that exporter's address (every 127/8 address is local on
 * Linux, so a collector on loopback sees distinct exporters), connected to the target, and
 * written with sendmmsg in batches of FLOWGEN_SENDER_BATCH datagrams. pcap: each datagram
 * becomes an Ethernet/IP/UDP frame stamped with the generator's virtual time.
 *
 * Counting: only datagrams the kernel accepted (or the pcap file took) are counted, per
 * exporter and in total; a failed send is counted as a send error and never stops the run.
 *
 * Use: slot() gives the buffer for the next datagram, flowgen_next fills it, commit() queues
 * it (sending a full batch); flush() sends what is queued. Single-threaded.
 */
#ifndef NFX_LIB_FLOWGEN_SENDER_H
#define NFX_LIB_FLOWGEN_SENDER_H

#include <stdbool.h>
#include <stdio.h>

#include "flowgen.h"

#define FLOWGEN_SENDER_BATCH 64 /* datagrams per sendmmsg round: amortises syscalls */

typedef struct flowgen_sender_config {
    uint8_t target[16];     /* collector address, 16-byte form */
    uint16_t port;          /* collector port */
    const char *pcap_path;  /* write a capture here instead of sending (NULL: send) */
    bool bind_sources;      /* bind exporter i's socket to its address */
} flowgen_sender_config;

typedef struct flowgen_sender flowgen_sender;

/* Opens the sockets (or the pcap file) for the exporters of g. g and cfg are borrowed; g
 * must outlive the sender. *out set only on NF_OK; free with flowgen_sender_close. */
nf_status flowgen_sender_open(flowgen *g, const flowgen_sender_config *cfg,
                              flowgen_sender **out, nf_err *err);

/* Buffer (of *cap bytes) for the next datagram; valid until the next commit. */
uint8_t *flowgen_sender_slot(flowgen_sender *s, size_t *cap);

/* Queues the datagram just written into the slot (len bytes, described by info). A full
 * batch is sent at once; with a pcap file the datagram is written at once. NF_EIO only for
 * a pcap write failure. */
nf_status flowgen_sender_commit(flowgen_sender *s, size_t len, const flowgen_datagram *info,
                                nf_err *err);

/* Sends every queued datagram. */
void flowgen_sender_flush(flowgen_sender *s);

/* What was sent so far. */
void flowgen_sender_totals(const flowgen_sender *s, flowgen_counts *total,
                           uint64_t *send_errors);

/* Writes one JSON line: totals, send errors, elapsed_ms and every exporter with its
 * address (as a collector sees it), protocol, domain and counts. */
void flowgen_sender_write_json(const flowgen_sender *s, FILE *out, uint64_t elapsed_ms);

/* Flushes, closes the sockets or the file, frees. Returns NF_EIO if the capture file could
 * not be completed. NULL-safe. */
nf_status flowgen_sender_close(flowgen_sender *s, nf_err *err);

#endif

/* avro.h — internal to lib/iceberg: the Avro object-container framing we write and read
 * ourselves, with libavro encoding and decoding only the values.
 *
 * Why not libavro's file API: Debian's libavro 1.11 re-serializes the schema without the
 * `field-id`/`element-id`/`logicalType` attributes Iceberg readers need and cannot put user
 * metadata in the header. So the writer keeps the caller's schema text verbatim, and the
 * reader hands out the file's own (writer) schema text so callers can resolve fields by id.
 *
 * Untrusted input: the reader checks every length against what is left, refuses absurd
 * counts and sizes (limits below), inflates with a bounded output, and validates each
 * block's encoded records against the writer schema with its own bounded walker *before*
 * libavro decodes them — libavro allocates whatever a length prefix says and loops for
 * whatever a block count says, so it only ever sees bytes already proven well-formed.
 *
 * Not thread-safe per object; distinct objects on distinct threads are fine.
 */
#ifndef NFX_LIB_ICEBERG_AVRO_H
#define NFX_LIB_ICEBERG_AVRO_H

#include <stddef.h>
#include <stdint.h>

#include <avro.h>

#include "iceberg.h"

/* Limits on files read (they may come from other writers). */
#define NF_AVRO_MAX_FILE (256u << 20)   /* whole container file */
#define NF_AVRO_MAX_BLOCK (64u << 20)   /* one block, compressed or inflated */
#define NF_AVRO_MAX_META 64             /* header metadata entries */
#define NF_AVRO_MAX_META_VALUE (1u << 20)
#define NF_AVRO_MAX_DEPTH 32            /* schema nesting walked by the validator */

/* ---- writer ---------------------------------------------------------------------------- */

typedef struct nf_avro_writer nf_avro_writer;

/* Starts a deflate-compressed container for records of schema_json (kept verbatim in the
 * header as avro.schema; also parsed by libavro, which must accept it). meta is nmeta
 * key/value pairs of NUL-terminated strings added to the header (borrowed for the call).
 * Nothing touches the disk until nf_avro_writer_finish. *out: free with
 * nf_avro_writer_free. NF_EINVAL if libavro rejects the schema. */
nf_status nf_avro_writer_new(const char *schema_json, const char *const *meta, size_t nmeta,
                             nf_avro_writer **out, nf_err *err);

/* The record value to fill before each nf_avro_writer_append; owned by the writer, reset
 * after every append. Every union inside must get an explicit branch. */
avro_value_t *nf_avro_writer_record(nf_avro_writer *w);

/* Encodes the current record (type-checked by libavro) and resets it. */
nf_status nf_avro_writer_append(nf_avro_writer *w, nf_err *err);

/* Writes the container to path: temp file in the same directory, fsync, rename, fsync of the
 * directory. *length (may be NULL) receives the file's exact size. The writer stays owned
 * by the caller (free it afterwards). */
nf_status nf_avro_writer_finish(nf_avro_writer *w, const char *path, int64_t *length,
                                nf_err *err);

void nf_avro_writer_free(nf_avro_writer *w);

/* ---- reader ---------------------------------------------------------------------------- */

typedef struct nf_avro_reader nf_avro_reader;

/* Parses a container held in memory (buf borrowed: it must outlive the reader). name is
 * used in error messages (borrowed for the call). NF_EPROTO for a malformed header,
 * unknown codec or a schema libavro refuses. */
nf_status nf_avro_reader_open_mem(const uint8_t *buf, size_t len, const char *name,
                                  nf_avro_reader **out, nf_err *err);
/* Reads file path (at most NF_AVRO_MAX_FILE bytes) and parses it. NF_EIO if unreadable. */
nf_status nf_avro_reader_open_file(const char *path, nf_avro_reader **out, nf_err *err);

/* Header metadata value of key (not NUL-terminated; *len its size), NULL if absent.
 * Valid while the reader lives. */
const char *nf_avro_reader_meta(const nf_avro_reader *r, const char *key, size_t *len);

/* The file's schema text (NUL-terminated copy) and libavro's parse of it. Owned by r. */
const char *nf_avro_reader_schema_json(const nf_avro_reader *r);

/* Next record: NF_OK with *rec pointing at a value owned by r (valid until the next call),
 * NF_ENOTFOUND at the end of the file, NF_EPROTO for malformed data. */
nf_status nf_avro_reader_next(nf_avro_reader *r, avro_value_t **rec, nf_err *err);

/* Total size of the container read (the file length). */
size_t nf_avro_reader_size(const nf_avro_reader *r);

void nf_avro_reader_free(nf_avro_reader *r);

/* ---- manifests from memory (fuzzing, tests) -------------------------------------------- */

/* As nf_ice_manifest_read / nf_ice_mlist_read, on the bytes of a file in memory (borrowed);
 * m->path names it in errors and need not exist. */
nf_status nf_ice_manifest_read_mem(const nf_ice_manifest *m, const uint8_t *buf, size_t len,
                                   nf_ice_datafile **out, size_t *n, nf_err *err);
nf_status nf_ice_mlist_read_mem(const char *name, const uint8_t *buf, size_t len,
                                nf_ice_manifest **out, size_t *n, nf_err *err);

/* What a manifest's header says about its partition spec (scan.c prunes with it). */
typedef struct nf_ice_manifest_spec {
    bool known;                 /* the header had a partition-spec we understood */
    nf_ice_spec spec;           /* transform UNPARTITIONED when it has no field */
} nf_ice_manifest_spec;

/* nf_ice_manifest_read that also reports the header's partition spec (spec_out may be
 * NULL). */
nf_status nf_ice_manifest_read_spec(const nf_ice_manifest *m, nf_ice_datafile **out, size_t *n,
                                    nf_ice_manifest_spec *spec_out, nf_err *err);

#endif

/* meta_int.h — what metadata.c, fs.c and catalog.c share inside nf_iceberg_meta and nobody
 * else should call: the table's jansson tree, a table made from an already parsed tree, and
 * reading a whole local file with a size bound.
 *
 * Not part of the public contract (iceberg.h); may change with the three files.
 */
#ifndef NFX_LIB_ICEBERG_META_INT_H
#define NFX_LIB_ICEBERG_META_INT_H

#include <jansson.h>

#include "iceberg.h"

/* Largest metadata.json or REST answer we accept: a table with years of snapshots stays
 * far below it (~1 KB per snapshot); anything bigger is not a file we wrote or can trust. */
#define NF_ICE_META_MAX ((size_t)64 << 20)

/* Makes a table of root (a parsed metadata object). Consumes the caller's reference to
 * root in every case (on failure it is released). Validation and errors as
 * nf_ice_table_parse. */
nf_status nf_ice_table_adopt(json_t *root, nf_ice_table **out, nf_err *err);

/* The table's tree; borrowed, valid until t changes or is freed. Do not modify. */
const json_t *nf_ice_table_root(const nf_ice_table *t);

/* Reads the whole local file path (at most max bytes; larger → NF_EPROTO naming it) into a
 * malloc'd NUL-terminated buffer; *len (may be NULL) receives its length. NF_ENOTFOUND if
 * the file does not exist, NF_EIO for other errors. */
nf_status nf_ice_read_file(const char *path, size_t max, char **out, size_t *len, nf_err *err);

#endif

/* files.h — small helpers for writing files durably and naming them uniquely, shared by the
 * cold tier's writers (lib/duck/flowfile.c, lib/pqwriter, lib/iceberg, lib/catalog).
 *
 * Why here: each of those wrote the same mkdir -p, fsync-by-path and random UUID code; the
 * pattern they serve (write under a temporary name, fsync, rename, fsync the directory) needs
 * all of them, and lib/base is the one library every writer links.
 *
 * Every function is thread-safe (no shared state) and reports failures through nf_err with
 * the path (or purpose) named in the message.
 */
#ifndef NFX_LIB_BASE_FILES_H
#define NFX_LIB_BASE_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nf_status.h"

/* Length of a UUID's text, with the NUL. */
#define NF_UUID_STRLEN 37

/* Fills buf (n bytes, borrowed) from the kernel's random source (getrandom, retried on
 * EINTR). what (borrowed) names the purpose in the error. NF_EIO with errno on failure. */
nf_status nf_random_bytes(void *buf, size_t n, const char *what, nf_err *err);

/* A random (version 4, RFC 4122 variant) UUID as 36 lowercase hex-and-dash characters plus
 * NUL into out. what names the purpose in the error (e.g. "a manifest name"). Errors as
 * nf_random_bytes; out is written only on NF_OK. */
nf_status nf_uuid4(char out[NF_UUID_STRLEN], const char *what, nf_err *err);

/* mkdir -p of path (borrowed; mode 0755 for every directory created), then checks path is a
 * directory. NF_EINVAL if path is empty or not shorter than PATH_MAX; NF_EIO naming the
 * directory that could not be created, or path if it is not a directory. */
nf_status nf_mkdirs(const char *path, nf_err *err);

/* Opens path (borrowed; a directory when dir is true) read-only and fsyncs it. If size is
 * not NULL, *size receives the file's size (written only on NF_OK). NF_EIO naming path and
 * the step (open, fsync, fstat) that failed. */
nf_status nf_fsync_path(const char *path, bool dir, int64_t *size, nf_err *err);

/* Removes the files directly in dir (borrowed) and then dir itself: for a temporary directory
 * that holds files only. Best effort, nothing reported (used on cleanup paths). */
void nf_remove_flat_dir(const char *dir);

#endif

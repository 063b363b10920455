/* fs.c — Iceberg metadata files on a local filesystem: metadata/vN.metadata.json written
 * without ever overwriting one, metadata/version-hint.text, and file:// URIs. Contract:
 * iceberg.h, "metadata files on a filesystem". Shared by the filesystem catalog
 * (catalog.c) and the REST catalog server (lib/catalog).
 *
 * Commit protocol (the one Hadoop tables and DuckDB's version-hint readers agree on):
 *
 *   write  metadata/.vN.metadata.json.<pid>.<rand>.tmp   O_EXCL, full write, fsync, close
 *   link   tmp → metadata/vN.metadata.json               EEXIST → NF_ECONFLICT (someone
 *                                                        else committed vN first)
 *   unlink tmp; fsync metadata/                          vN is durable and visible
 *   write  metadata/.version-hint.<pid>.<rand>.tmp "N"   fsync, rename → version-hint.text
 *
 * link() is the atomic "create unless it exists" of POSIX filesystems (rename() would
 * silently clobber a concurrent writer's vN). The hint is only a hint: it is written after
 * vN exists, may lag behind (a crash in between, or two writers racing), and readers probe
 * N+1, N+2, … past it. It is never moved backwards on purpose (checked before the rename;
 * a lost race there only makes it lag, which readers tolerate).
 *
 * Invariants
 *   1. A vN.metadata.json, once visible, is complete and never changes.
 *   2. version-hint.text, when present, names a version that existed when it was written.
 *
 * URIs: "file:///abs/path" (also "file:/abs/path" and "file://localhost/abs/path", as
 * Java's Hadoop code writes them) ↔ "/abs/path". No percent-decoding: the paths we write
 * contain no characters that would need it, and decoding would misread a literal '%'.
 */
#include "meta_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"

/* version-hint.text is a number: anything longer is not one we should trust. */
#define HINT_MAX 32
/* Probing past the hint stops after this many versions: a hint that lags by more means
 * something rewrites versions without the hint, and a directory scan is cheaper then. */
#define PROBE_MAX 1000

/* ---- helpers --------------------------------------------------------------------------------- */

/* Joins a and b with one '/'; malloc'd or NULL. */
static char *
join(const char *a, const char *b)
{
    size_t n = strlen(a) + 1 + strlen(b) + 1;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", a, b);
    return p;
}

/* Creates a new temporary file dir/.<stem>.<pid>.<random>.tmp holding len bytes of data,
 * fsync'd. *tmp_out receives its path (malloc'd). */
static nf_status
write_temp(const char *dir, const char *stem, const char *data, size_t len, char **tmp_out,
           nf_err *err)
{
    uint32_t r = 0;
    if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
        r = (uint32_t)rand(); /* only uniqueness matters here, and O_EXCL checks that */
    size_t n = strlen(dir) + strlen(stem) + 64;
    char *tmp = malloc(n);
    if (tmp == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    snprintf(tmp, n, "%s/.%s.%ld.%08" PRIx32 ".tmp", dir, stem, (long)getpid(), r);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        nf_status st = nf_err_sys(err, NF_EIO, errno, "create %.200s", tmp);
        free(tmp);
        return st;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0)
        goto fail;
    if (close(fd) != 0) {
        fd = -1;
        goto fail;
    }
    *tmp_out = tmp;
    return NF_OK;

fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    nf_status st = nf_err_sys(err, NF_EIO, e, "write %.200s", tmp);
    unlink(tmp);
    free(tmp);
    return st;
}

nf_status
nf_ice_read_file(const char *path, size_t max, char **out, size_t *len, nf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return nf_err_sys(err, NF_ENOTFOUND, errno, "open %.200s", path);
        return nf_err_sys(err, NF_EIO, errno, "open %.200s", path);
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return nf_err_sys(err, NF_EIO, e, "stat %.200s", path);
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size < 0 || (uint64_t)sb.st_size > max) {
        close(fd);
        return nf_err_set(err, NF_EPROTO, "%.200s: not a regular file of at most %zu bytes",
                          path, max);
    }
    /* Read to EOF rather than trusting st_size alone (the file may have been growing), but
     * never past max. */
    size_t cap = (size_t)sb.st_size + 1, n = 0;
    char *buf = malloc(cap + 1);
    if (buf == NULL) {
        close(fd);
        return nf_err_set(err, NF_ENOMEM, "%.200s: no memory for %zu bytes", path, cap);
    }
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(buf);
                close(fd);
                return nf_err_set(err, NF_EPROTO, "%.200s: larger than %zu bytes", path, max);
            }
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            char *p = realloc(buf, ncap + 1);
            if (p == NULL) {
                free(buf);
                close(fd);
                return nf_err_set(err, NF_ENOMEM, "%.200s: no memory", path);
            }
            buf = p;
            cap = ncap;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            return nf_err_sys(err, NF_EIO, e, "read %.200s", path);
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > max) {
        free(buf);
        return nf_err_set(err, NF_EPROTO, "%.200s: larger than %zu bytes", path, max);
    }
    buf[n] = '\0';
    *out = buf;
    if (len != NULL)
        *len = n;
    return NF_OK;
}

/* True if path exists (any type). */
static bool
exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* dir/vN.metadata.json, malloc'd. */
static char *
version_path(const char *meta_dir, int64_t v)
{
    char name[48];
    snprintf(name, sizeof(name), "v%" PRId64 ".metadata.json", v);
    return join(meta_dir, name);
}

/* Reads the hint of meta_dir: >0 on success, 0 when absent or not a number. */
static int64_t
read_hint(const char *meta_dir)
{
    char *path = join(meta_dir, "version-hint.text");
    if (path == NULL)
        return 0;
    char *text = NULL;
    nf_status st = nf_ice_read_file(path, HINT_MAX, &text, NULL, NULL);
    free(path);
    if (st != NF_OK)
        return 0;
    int64_t v = 0;
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        v = -1;
    for (; *p >= '0' && *p <= '9' && v >= 0; p++)
        v = v > (INT64_MAX - 9) / 10 ? -1 : v * 10 + (*p - '0');
    while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')
        p++;
    bool whole = *p == '\0';
    free(text);
    return whole && v > 0 ? v : 0;
}

int64_t
nf_ice_fs_version_of_name(const char *name)
{
    if (name[0] != 'v' || name[1] < '1' || name[1] > '9')
        return 0;
    int64_t v = 0;
    const char *p = name + 1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (INT64_MAX - 9) / 10)
            return 0;
        v = v * 10 + (*p - '0');
    }
    return strcmp(p, ".metadata.json") == 0 ? v : 0;
}

/* Highest vN in meta_dir by listing it; 0 if none. */
static nf_status
scan_versions(const char *meta_dir, int64_t *best, nf_err *err)
{
    *best = 0;
    DIR *d = opendir(meta_dir);
    if (d == NULL) {
        if (errno == ENOENT || errno == ENOTDIR)
            return NF_OK;
        return nf_err_sys(err, NF_EIO, errno, "opendir %.200s", meta_dir);
    }
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d)) != NULL) {
        int64_t v = nf_ice_fs_version_of_name(de->d_name);
        if (v > *best)
            *best = v;
        errno = 0;
    }
    int e = errno;
    closedir(d);
    if (e != 0)
        return nf_err_sys(err, NF_EIO, e, "readdir %.200s", meta_dir);
    return NF_OK;
}

/* ---- the public calls ------------------------------------------------------------------------ */

nf_status
nf_ice_fs_latest_version(const char *table_dir, int64_t *version, nf_err *err)
{
    if (table_dir == NULL || version == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_ice_fs_latest_version: NULL argument");
    char *meta = join(table_dir, "metadata");
    if (meta == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    nf_status st = NF_OK;
    int64_t v = read_hint(meta);
    bool ok = false;
    if (v > 0) {
        char *p = version_path(meta, v);
        if (p == NULL) {
            st = nf_err_set(err, NF_ENOMEM, "no memory");
            goto done;
        }
        ok = exists(p);
        free(p);
    }
    if (ok) {
        /* The hint may lag: probe upwards. */
        for (int i = 0; i < PROBE_MAX; i++) {
            char *p = version_path(meta, v + 1);
            if (p == NULL) {
                st = nf_err_set(err, NF_ENOMEM, "no memory");
                goto done;
            }
            bool next = exists(p);
            free(p);
            if (!next)
                break;
            v++;
            if (i == PROBE_MAX - 1)
                ok = false; /* too far behind: list the directory */
        }
    }
    if (!ok) {
        if ((st = scan_versions(meta, &v, err)) != NF_OK)
            goto done;
        if (v == 0) {
            st = nf_err_set(err, NF_ENOTFOUND, "%.200s: no vN.metadata.json", meta);
            goto done;
        }
    }
    *version = v;
done:
    free(meta);
    return st;
}

/* Raises metadata/version-hint.text (in meta) to version; a higher hint stays. */
static nf_status
raise_hint(const char *meta, int64_t version, nf_err *err)
{
    if (read_hint(meta) >= version)
        return NF_OK;
    char *hint = join(meta, "version-hint.text"), *hint_tmp = NULL;
    if (hint == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    char num[24];
    int n = snprintf(num, sizeof(num), "%" PRId64, version);
    nf_status st = write_temp(meta, "version-hint", num, (size_t)n, &hint_tmp, err);
    if (st == NF_OK && rename(hint_tmp, hint) != 0) {
        st = nf_err_sys(err, NF_EIO, errno, "rename %.200s", hint);
        unlink(hint_tmp);
    }
    if (st == NF_OK)
        st = nf_fsync_path(meta, true, NULL, err);
    free(hint);
    free(hint_tmp);
    return st;
}

nf_status
nf_ice_fs_write_hint(const char *table_dir, int64_t version, nf_err *err)
{
    if (table_dir == NULL || version < 1)
        return nf_err_set(err, NF_EINVAL, "nf_ice_fs_write_hint: bad argument");
    char *meta = join(table_dir, "metadata");
    if (meta == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    nf_status st = raise_hint(meta, version, err);
    free(meta);
    return st;
}

nf_status
nf_ice_fs_write_version(const char *table_dir, int64_t version, const char *json, char **uri,
                        nf_err *err)
{
    return nf_ice_fs_write_version_only(table_dir, version, json, uri, true, err);
}

nf_status
nf_ice_fs_write_version_only(const char *table_dir, int64_t version, const char *json,
                             char **uri, bool hint, nf_err *err)
{
    if (table_dir == NULL || json == NULL || version < 1)
        return nf_err_set(err, NF_EINVAL, "nf_ice_fs_write_version: bad argument (version %"
                          PRId64 ")", version);
    char *meta = join(table_dir, "metadata");
    char *final = meta != NULL ? version_path(meta, version) : NULL;
    char *tmp = NULL, *u = NULL;
    nf_status st;
    if (meta == NULL || final == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "no memory");
        goto done;
    }
    if ((st = nf_mkdirs(meta, err)) != NF_OK)
        goto done;
    char stem[48];
    snprintf(stem, sizeof(stem), "v%" PRId64 ".metadata.json", version);
    if ((st = write_temp(meta, stem, json, strlen(json), &tmp, err)) != NF_OK)
        goto done;
    if (link(tmp, final) != 0) {
        int e = errno;
        unlink(tmp);
        if (e == EEXIST)
            st = nf_err_set(err, NF_ECONFLICT, "%.200s already exists: another writer committed "
                            "version %" PRId64 " first", final, version);
        else
            st = nf_err_sys(err, NF_EIO, e, "link %.200s", final);
        goto done;
    }
    if (unlink(tmp) != 0) {
        st = nf_err_sys(err, NF_EIO, errno, "unlink %.200s", tmp);
        goto done;
    }
    if ((st = nf_fsync_path(meta, true, NULL, err)) != NF_OK)
        goto done;

    /* vN is written; the hint is best effort from here on, but its errors are reported:
     * a hint that cannot be written usually means the disk is in trouble. */
    if (hint && (st = raise_hint(meta, version, err)) != NF_OK)
        goto done;
    if (uri != NULL) {
        u = nf_ice_path_uri(final);
        if (u == NULL) {
            st = nf_err_set(err, NF_ENOMEM, "no memory");
            goto done;
        }
        *uri = u;
    }
    st = NF_OK;
done:
    free(meta);
    free(final);
    free(tmp);
    return st;
}

nf_status
nf_ice_uri_path(const char *uri, char **path, nf_err *err)
{
    if (uri == NULL || path == NULL)
        return nf_err_set(err, NF_EINVAL, "nf_ice_uri_path: NULL argument");
    const char *p;
    if (strncmp(uri, "file:///", 8) == 0)
        p = uri + 7;
    else if (strncmp(uri, "file://localhost/", 17) == 0)
        p = uri + 16;
    else if (strncmp(uri, "file:/", 6) == 0 && uri[6] != '/')
        p = uri + 5;
    else if (uri[0] == '/')
        p = uri;
    else
        return nf_err_set(err, NF_EINVAL, "\"%.200s\": not a file:// URI or absolute path", uri);
    char *copy = strdup(p);
    if (copy == NULL)
        return nf_err_set(err, NF_ENOMEM, "no memory");
    *path = copy;
    return NF_OK;
}

char *
nf_ice_path_uri(const char *path)
{
    if (path == NULL)
        return NULL;
    char cwd[PATH_MAX] = "";
    if (path[0] != '/' && getcwd(cwd, sizeof(cwd)) == NULL)
        return NULL;
    size_t n = strlen("file://") + strlen(cwd) + 1 + strlen(path) + 1;
    char *u = malloc(n);
    if (u == NULL)
        return NULL;
    if (path[0] == '/')
        snprintf(u, n, "file://%s", path);
    else
        snprintf(u, n, "file://%s/%s", cwd, path);
    return u;
}

void
nf_ice_fs_remove_files(const nf_ice_datafile *files, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *p = NULL;
        if (nf_ice_uri_path(files[i].path, &p, NULL) == NF_OK)
            unlink(p);
        free(p);
    }
}

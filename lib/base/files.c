/* files.c — mkdir -p, fsync by path, random UUIDs (see files.h).
 *
 * mkdir -p walks a stack copy of the path (PATH_MAX) component by component, so no memory
 * is allocated; EEXIST at any level is fine, and the final stat catches a file standing
 * where a directory was wanted.
 */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

nf_status
nf_random_bytes(void *buf, size_t n, const char *what, nf_err *err)
{
    uint8_t *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return nf_err_sys(err, NF_EIO, errno, "getrandom for %s", what);
        }
        got += (size_t)r;
    }
    return NF_OK;
}

nf_status
nf_uuid4(char out[NF_UUID_STRLEN], const char *what, nf_err *err)
{
    uint8_t b[16];
    nf_status st = nf_random_bytes(b, sizeof(b), what, err);
    if (st != NF_OK)
        return st;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(out, NF_UUID_STRLEN,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
             b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
             b[15]);
    return NF_OK;
}

nf_status
nf_mkdirs(const char *path, nf_err *err)
{
    size_t n = strlen(path);
    if (n == 0 || n >= PATH_MAX)
        return nf_err_set(err, NF_EINVAL, "directory \"%.200s\": empty or too long", path);
    char buf[PATH_MAX];
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        char save = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return nf_err_sys(err, NF_EIO, errno, "mkdir %.200s", buf);
        buf[i] = save;
    }
    struct stat sb;
    if (stat(path, &sb) != 0)
        return nf_err_sys(err, NF_EIO, errno, "stat %.200s", path);
    if (!S_ISDIR(sb.st_mode))
        return nf_err_set(err, NF_EIO, "%.200s: not a directory", path);
    return NF_OK;
}

nf_status
nf_fsync_path(const char *path, bool dir, int64_t *size, nf_err *err)
{
    int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nf_err_sys(err, NF_EIO, errno, "open %s", path);
    nf_status st = NF_OK;
    struct stat sb;
    if (fsync(fd) != 0)
        st = nf_err_sys(err, NF_EIO, errno, "fsync %s", path);
    else if (size != NULL && fstat(fd, &sb) != 0)
        st = nf_err_sys(err, NF_EIO, errno, "fstat %s", path);
    else if (size != NULL)
        *size = (int64_t)sb.st_size;
    close(fd);
    return st;
}

void
nf_remove_flat_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    if (dp != NULL) {
        struct dirent *e;
        char p[PATH_MAX];
        while ((e = readdir(dp)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (snprintf(p, sizeof(p), "%s/%s", dir, e->d_name) < (int)sizeof(p))
                unlink(p);
        }
        closedir(dp);
    }
    rmdir(dir);
}

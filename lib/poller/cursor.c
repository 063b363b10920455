/* cursor.c — the poller's per-agent cursor file. See cursor.h. */
#include "cursor.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../base/parse.h"

nf_status
nf_cursor_load(const char *path, nf_cursor_state *out, nf_err *err)
{
    memset(out, 0, sizeof(*out));
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return errno == ENOENT ? NF_OK : nf_err_sys(err, NF_EIO, errno, "cursor %s", path);
    char line[128];
    int lineno = 0;
    nf_status st = NF_OK;
    while (st == NF_OK && fgets(line, sizeof(line), fp) != NULL) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        char *eq = strchr(line, '=');
        if (eq == NULL) {
            st = nf_err_set(err, NF_EPROTO, "cursor %s:%d: expected key=value", path, lineno);
            break;
        }
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(line, "cursor") == 0) {
            if (!nf_parse_u64(v, 0, UINT64_MAX, &out->cursor))
                st = nf_err_set(err, NF_EPROTO, "cursor %s:%d: bad cursor", path, lineno);
        } else if (strcmp(line, "inflight") == 0) {
            char first[32];
            const char *dash = strchr(v, '-');
            size_t n = dash ? (size_t)(dash - v) : 0;
            if (dash == NULL || n == 0 || n >= sizeof(first)) {
                st = nf_err_set(err, NF_EPROTO, "cursor %s:%d: bad inflight", path, lineno);
                break;
            }
            memcpy(first, v, n);
            first[n] = '\0';
            if (!nf_parse_u64(first, 1, UINT64_MAX, &out->inflight_first) ||
                !nf_parse_u64(dash + 1, 1, UINT64_MAX, &out->inflight_last) ||
                out->inflight_last < out->inflight_first)
                st = nf_err_set(err, NF_EPROTO, "cursor %s:%d: bad inflight", path, lineno);
        } /* unknown keys: written by a newer version; ignored */
    }
    fclose(fp);
    if (st != NF_OK)
        memset(out, 0, sizeof(*out));
    return st;
}

nf_status
nf_cursor_save(const char *path, const nf_cursor_state *st, bool sync, nf_err *err)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return nf_err_set(err, NF_EINVAL, "cursor path too long: %s", path);
    char text[128];
    int n = st->inflight_first
                ? snprintf(text, sizeof(text), "cursor=%" PRIu64 "\ninflight=%" PRIu64 "-%" PRIu64
                                               "\n",
                           st->cursor, st->inflight_first, st->inflight_last)
                : snprintf(text, sizeof(text), "cursor=%" PRIu64 "\n", st->cursor);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0)
        return nf_err_sys(err, NF_EIO, errno, "cursor %s", tmp);
    bool ok = write(fd, text, (size_t)n) == n && (!sync || fdatasync(fd) == 0);
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok || rename(tmp, path) != 0) {
        if (ok)
            saved = errno;
        unlink(tmp);
        return nf_err_sys(err, NF_EIO, saved, "cursor %s", path);
    }
    if (sync) { /* the rename itself must survive a power cut */
        char dir[4096];
        snprintf(dir, sizeof(dir), "%s", path);
        int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    return NF_OK;
}

/* err.c — filling nf_err objects. See nf_status.h for the contract. */
#include "nf_status.h"

#include <stdio.h>
#include <string.h>

const char *
nf_status_name(nf_status s)
{
    static const char *const names[] = {
        [NF_OK] = "OK",           [NF_EINVAL] = "EINVAL",           [NF_ENOMEM] = "ENOMEM",
        [NF_EIO] = "EIO",         [NF_EPROTO] = "EPROTO",           [NF_ETIMEDOUT] = "ETIMEDOUT",
        [NF_EAGAIN] = "EAGAIN",   [NF_ENOTFOUND] = "ENOTFOUND",     [NF_EUPSTREAM] = "EUPSTREAM",
        [NF_EINTERNAL] = "EINTERNAL",     [NF_ECONFLICT] = "ECONFLICT",
    };
    if ((unsigned)s >= sizeof(names) / sizeof(names[0]) || names[s] == NULL)
        return "EUNKNOWN";
    return names[s];
}

static void
fill(nf_err *e, nf_status code, int errnum, const char *where, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

static void
fill(nf_err *e, nf_status code, int errnum, const char *where, const char *fmt, va_list ap)
{
    e->code = code;
    e->sys_errno = errnum;
    e->where = where;
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
}

nf_status
nf_err_set_(nf_err *e, nf_status code, const char *where, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    fill(e, code, 0, where, fmt, ap);
    va_end(ap);
    return code;
}

nf_status
nf_err_sys_(nf_err *e, nf_status code, int errnum, const char *where, const char *fmt, ...)
{
    if (e == NULL)
        return code;
    va_list ap;
    va_start(ap, fmt);
    fill(e, code, errnum, where, fmt, ap);
    va_end(ap);
    size_t used = strlen(e->msg);
    if (used + 3 < sizeof(e->msg))
        snprintf(e->msg + used, sizeof(e->msg) - used, ": %s", strerror(errnum));
    return code;
}

void
nf_err_clear(nf_err *e)
{
    if (e == NULL)
        return;
    e->code = NF_OK;
    e->sys_errno = 0;
    e->where = NULL;
    e->msg[0] = '\0';
}

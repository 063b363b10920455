/* seqset.c — sets of stream sequences as ranges. See seqset.h. */
#include "seqset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
nf_seqset_clear(nf_seqset *s)
{
    free(s->r);
    memset(s, 0, sizeof(*s));
}

/* Index of the first range with hi >= seq (n if none). */
static size_t
first_reaching(const nf_seqset *s, uint64_t seq)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].hi < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool
nf_seqset_contains(const nf_seqset *s, uint64_t seq)
{
    size_t i = first_reaching(s, seq);
    return i < s->n && s->r[i].lo <= seq;
}

static nf_status
reserve(nf_seqset *s, size_t want, nf_err *err)
{
    if (want > NF_SEQSET_MAX_RANGES)
        return nf_err_set(err, NF_EINVAL, "sequence set: more than %d ranges",
                          NF_SEQSET_MAX_RANGES);
    if (want <= s->cap)
        return NF_OK;
    size_t cap = s->cap ? s->cap * 2 : 8;
    while (cap < want)
        cap *= 2;
    nf_seqrange *r = realloc(s->r, cap * sizeof(*r));
    if (r == NULL)
        return nf_err_set(err, NF_ENOMEM, "sequence set: out of memory");
    s->r = r;
    s->cap = cap;
    return NF_OK;
}

nf_status
nf_seqset_add(nf_seqset *s, uint64_t lo, uint64_t hi, nf_err *err)
{
    if (lo > hi)
        return nf_err_set(err, NF_EINVAL, "sequence set: range %llu-%llu is reversed",
                          (unsigned long long)lo, (unsigned long long)hi);
    /* Ranges that touch [lo, hi] (overlap or adjacency) are [i, j). */
    size_t i = first_reaching(s, lo == 0 ? 0 : lo - 1);
    size_t j = i;
    while (j < s->n && (hi == UINT64_MAX || s->r[j].lo <= hi + 1))
        j++;
    if (i == j) {
        nf_status st = reserve(s, s->n + 1, err);
        if (st != NF_OK)
            return st;
        memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(s->r[0]));
        s->r[i] = (nf_seqrange){lo, hi};
        s->n++;
        return NF_OK;
    }
    nf_seqrange merged = {lo < s->r[i].lo ? lo : s->r[i].lo,
                          hi > s->r[j - 1].hi ? hi : s->r[j - 1].hi};
    s->r[i] = merged;
    memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(s->r[0]));
    s->n -= j - i - 1;
    return NF_OK;
}

nf_status
nf_seqset_union(nf_seqset *s, const nf_seqset *o, nf_err *err)
{
    for (size_t k = 0; k < o->n; k++) {
        nf_status st = nf_seqset_add(s, o->r[k].lo, o->r[k].hi, err);
        if (st != NF_OK)
            return st;
    }
    return NF_OK;
}

void
nf_seqset_trim(nf_seqset *s, uint64_t floor)
{
    if (s->n == 0)
        return;
    size_t i = first_reaching(s, floor + 1);
    memmove(&s->r[0], &s->r[i], (s->n - i) * sizeof(s->r[0]));
    s->n -= i;
    if (s->n > 0 && s->r[0].lo <= floor)
        s->r[0].lo = floor + 1;
}

uint64_t
nf_seqset_max(const nf_seqset *s)
{
    return s->n ? s->r[s->n - 1].hi : 0;
}

static bool
parse_u64(const char **p, uint64_t *out)
{
    if (**p < '0' || **p > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(*p, &end, 10);
    if (errno != 0)
        return false;
    *out = v;
    *p = end;
    return true;
}

nf_status
nf_seqset_parse(nf_seqset *s, const char *text, nf_err *err)
{
    nf_seqset_clear(s);
    const char *p = text;
    while (*p != '\0') {
        uint64_t lo, hi;
        if (!parse_u64(&p, &lo))
            goto bad;
        hi = lo;
        if (*p == '-') {
            p++;
            if (!parse_u64(&p, &hi) || hi < lo)
                goto bad;
        }
        if (s->n > 0 && lo <= s->r[s->n - 1].hi + 1)
            goto bad; /* not ascending and disjoint */
        nf_status st = reserve(s, s->n + 1, err);
        if (st != NF_OK) {
            nf_seqset_clear(s);
            return st;
        }
        s->r[s->n++] = (nf_seqrange){lo, hi};
        if (*p == ',' && p[1] != '\0')
            p++;
        else if (*p != '\0')
            goto bad;
    }
    return NF_OK;
bad:
    nf_seqset_clear(s);
    return nf_err_set(err, NF_EINVAL,
                      "sequence set: bad text at offset %zu (want ascending \"a-b,c\")",
                      (size_t)(p - text));
}

char *
nf_seqset_format(const nf_seqset *s)
{
    size_t cap = s->n * 42 + 1, len = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    out[0] = '\0';
    for (size_t i = 0; i < s->n; i++) {
        const char *sep = i ? "," : "";
        if (s->r[i].lo == s->r[i].hi)
            len += (size_t)snprintf(out + len, cap - len, "%s%llu", sep,
                                    (unsigned long long)s->r[i].lo);
        else
            len += (size_t)snprintf(out + len, cap - len, "%s%llu-%llu", sep,
                                    (unsigned long long)s->r[i].lo,
                                    (unsigned long long)s->r[i].hi);
    }
    return out;
}

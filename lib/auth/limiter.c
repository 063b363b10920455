/* limiter.c — login rate limiting: failed logins counted per client address and per user
 * name in a fixed-size table. See auth.h for the contract.
 *
 * Per key (an address or a user name, kept apart by a one-letter prefix "a"/"u"):
 *
 *     failure at t:  t >= start + window ?  → count = 0, start = t     (a new window)
 *                    count++
 *                    count >= max_failures ? → blocked_until = t + window
 *     allowed at t:  blocked_until > t ?    → refuse, Retry-After = blocked_until - t
 *     success:       the user's key is forgotten (the address's is not: auth.h)
 *
 * A fixed window counted from the first failure, not a sliding one: it needs two integers per
 * key instead of max_failures timestamps. Its known weakness, up to 2·max_failures − 2
 * failures around a window boundary, is harmless next to bcrypt's cost per guess.
 *
 * Memory is slots × sizeof(slot) from creation on. A new key takes, in this order: a free
 * slot, an idle one (window over, not blocked), the unblocked one with the fewest failures
 * (ties: the one touched longest ago), and last the blocked one whose block ends first. So a
 * flood of one-off keys pushes out other one-off keys before a key close to its block.
 * Lookups scan the table (O(slots)); logins cost a bcrypt each (~50 ms), so a 4096-slot scan
 * (~10 µs) does not matter, and there is no hash an attacker could aim collisions at.
 *
 * Invariants: 1. a slot with used == false has no meaning beyond being free;
 *             2. every access to slots holds mu.
 */
#include "auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define KEY_MAX (1 + NF_AUTH_USER_MAX) /* prefix letter + name, without the NUL */

typedef struct slot {
    bool used;
    char key[KEY_MAX + 1];
    uint32_t failures;     /* in the window that started at start */
    int64_t start;         /* epoch s of the window's first failure */
    int64_t blocked_until; /* epoch s; <= now means not blocked */
    uint64_t touched;      /* limiter's seq at the last failure (eviction order) */
} slot;

struct nf_auth_limiter {
    pthread_mutex_t mu;
    uint32_t max_failures;
    int64_t window_s;
    uint32_t nslots;
    slot *slots;
    uint64_t seq; /* counts failures recorded, orders slots by recency */
};

nf_status
nf_auth_limiter_create(uint32_t max_failures, uint32_t window_s, uint32_t slots,
                       nf_auth_limiter **out, nf_err *err)
{
    if (max_failures < 1 || window_s < 1 || slots < 2 || slots > 1000000)
        return nf_err_set(err, NF_EINVAL,
                          "login limiter: max_failures %u, window %u s, slots %u out of range",
                          max_failures, window_s, slots);
    nf_auth_limiter *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return nf_err_set(err, NF_ENOMEM, "login limiter");
    l->slots = calloc(slots, sizeof(*l->slots));
    if (l->slots == NULL) {
        free(l);
        return nf_err_set(err, NF_ENOMEM, "login limiter: %u slots", slots);
    }
    int rc = pthread_mutex_init(&l->mu, NULL);
    if (rc != 0) {
        free(l->slots);
        free(l);
        return nf_err_sys(err, NF_EIO, rc, "login limiter: mutex");
    }
    l->max_failures = max_failures;
    l->window_s = window_s;
    l->nslots = slots;
    *out = l;
    return NF_OK;
}

nf_status
nf_auth_limiter_create_for(const nf_auth_config *cfg, nf_auth_limiter **out, nf_err *err)
{
    uint64_t w = (cfg->login_window_ms + 999) / 1000;
    if (cfg->login_max_failures > UINT32_MAX || w > UINT32_MAX ||
        cfg->login_table_size > UINT32_MAX)
        return nf_err_set(err, NF_EINVAL, "login limiter: configured numbers out of range");
    return nf_auth_limiter_create((uint32_t)cfg->login_max_failures, (uint32_t)w,
                                  (uint32_t)cfg->login_table_size, out, err);
}

void
nf_auth_limiter_destroy(nf_auth_limiter *l)
{
    if (l == NULL)
        return;
    pthread_mutex_destroy(&l->mu);
    free(l->slots);
    free(l);
}

/* Builds the table key of a name: false if the name is absent or empty (not tracked). */
static bool
make_key(char out[KEY_MAX + 1], char prefix, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return false;
    size_t n = strnlen(name, NF_AUTH_USER_MAX);
    out[0] = prefix;
    memcpy(out + 1, name, n);
    out[1 + n] = '\0';
    return true;
}

static slot *
find(nf_auth_limiter *l, const char *key)
{
    for (uint32_t i = 0; i < l->nslots; i++)
        if (l->slots[i].used && strcmp(l->slots[i].key, key) == 0)
            return &l->slots[i];
    return NULL;
}

/* The slot a new key takes (see the file comment for the order), never keep (the slot the
 * same call just filled). Never NULL: there are at least two slots. */
static slot *
victim(nf_auth_limiter *l, int64_t now, const slot *keep)
{
    slot *fewest = NULL, *soonest_blocked = NULL;
    for (uint32_t i = 0; i < l->nslots; i++) {
        slot *s = &l->slots[i];
        if (s == keep)
            continue;
        if (!s->used)
            return s;
        bool blocked = s->blocked_until > now;
        if (!blocked && now >= s->start + l->window_s)
            return s; /* idle: forgetting it changes nothing */
        if (!blocked &&
            (fewest == NULL || s->failures < fewest->failures ||
             (s->failures == fewest->failures && s->touched < fewest->touched)))
            fewest = s;
        if (blocked &&
            (soonest_blocked == NULL || s->blocked_until < soonest_blocked->blocked_until))
            soonest_blocked = s;
    }
    return fewest != NULL ? fewest : soonest_blocked;
}

bool
nf_auth_login_allowed(nf_auth_limiter *l, const char *addr, const char *user, int64_t now,
                      uint32_t *retry_after_s)
{
    char keys[2][KEY_MAX + 1];
    bool have[2] = {make_key(keys[0], 'a', addr), make_key(keys[1], 'u', user)};
    int64_t wait = 0;
    pthread_mutex_lock(&l->mu);
    for (int k = 0; k < 2; k++) {
        slot *s = have[k] ? find(l, keys[k]) : NULL;
        if (s != NULL && s->blocked_until - now > wait)
            wait = s->blocked_until - now;
    }
    pthread_mutex_unlock(&l->mu);
    if (wait <= 0)
        return true;
    if (retry_after_s != NULL)
        *retry_after_s = wait > UINT32_MAX ? UINT32_MAX : (uint32_t)wait;
    return false;
}

void
nf_auth_login_failed(nf_auth_limiter *l, const char *addr, const char *user, int64_t now)
{
    char keys[2][KEY_MAX + 1];
    bool have[2] = {make_key(keys[0], 'a', addr), make_key(keys[1], 'u', user)};
    slot *prev = NULL;
    pthread_mutex_lock(&l->mu);
    for (int k = 0; k < 2; k++) {
        if (!have[k])
            continue;
        slot *s = find(l, keys[k]);
        if (s == NULL) {
            s = victim(l, now, prev);
            if (s == NULL) /* cannot happen (>= 2 slots); says so to the optimiser too */
                continue;
            memset(s, 0, sizeof(*s));
            s->used = true;
            memcpy(s->key, keys[k], sizeof(s->key));
            s->start = now;
        }
        if (now >= s->start + l->window_s) {
            s->failures = 0;
            s->start = now;
        }
        if (s->failures < UINT32_MAX)
            s->failures++;
        s->touched = ++l->seq;
        if (s->failures >= l->max_failures)
            s->blocked_until = now + l->window_s;
        prev = s;
    }
    pthread_mutex_unlock(&l->mu);
}

void
nf_auth_login_succeeded(nf_auth_limiter *l, const char *addr, const char *user, int64_t now)
{
    (void)addr;
    (void)now;
    char key[KEY_MAX + 1];
    if (!make_key(key, 'u', user))
        return;
    pthread_mutex_lock(&l->mu);
    slot *s = find(l, key);
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&l->mu);
}

size_t
nf_auth_limiter_count(nf_auth_limiter *l)
{
    size_t n = 0;
    pthread_mutex_lock(&l->mu);
    for (uint32_t i = 0; i < l->nslots; i++)
        n += l->slots[i].used;
    pthread_mutex_unlock(&l->mu);
    return n;
}

/* auth.c — the `auth` config section, local users (bcrypt through libxcrypt) and API keys.
 * See auth.h for the contract and the design notes.
 *
 * Invariants of an nf_auth:
 *   1. users[i].hash is a 60-character bcrypt string checked by bcrypt_hash_ok; dummy_hash
 *      too, with the largest cost found among the users (so an unknown name costs as much as
 *      the most expensive known one).
 *   2. keys[i].digest is the SHA-256 of an API key; the key itself is never held.
 *   3. secret is a private copy, wiped (OPENSSL_cleanse) before it is freed.
 */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#define DAY_MS 86400000ull

typedef struct auth_user {
    char *name;
    char hash[NF_AUTH_BCRYPT_LEN + 1];
} auth_user;

typedef struct auth_key {
    char *name;
    uint8_t digest[SHA256_DIGEST_LENGTH];
} auth_key;

struct nf_auth {
    char *secret;
    size_t secret_len;
    int64_t access_s, refresh_s;
    auth_user *users;
    size_t nusers;
    auth_key *keys;
    size_t nkeys;
    char dummy_hash[NF_AUTH_BCRYPT_LEN + 1];
};

#define F(key, type, field, def, min, max, help) \
    {key, type, offsetof(nf_auth_config, field), def, min, max, NULL, NULL, help, NULL}

const nf_cfg_field nf_auth_config_table[] = {
    F("enabled", NF_CFG_BOOL, enabled, "true", 0, 0,
      "require a JWT or an API key on /api (on unless turned off)"),
    F("jwt_secret", NF_CFG_STRING, jwt_secret, NULL, 0, 0,
      "HS256 signing key, at least 32 random bytes"),
    F("jwt_expiration", NF_CFG_DURATION, jwt_expiration_ms, "24h", 60000, 365 * DAY_MS,
      "access token lifetime"),
    F("refresh_expiration", NF_CFG_DURATION, refresh_expiration_ms, "7d", 60000, 3650 * DAY_MS,
      "refresh token lifetime"),
    F("local_users", NF_CFG_JSON, local_users, NULL, 0, 0,
      "object: user name -> bcrypt hash ($2a$/$2b$/$2y$; tests/tools/authtool hash)"),
    F("api_keys", NF_CFG_JSON, api_keys, NULL, 0, 0,
      "object: key name -> SHA-256 hex of the X-API-Key value (authtool apikey)"),
    /* 5 per minute: a person mistyping gets several tries, a guesser gets 7200 a day per
     * address and per user name, against bcrypt. */
    F("login_max_failures", NF_CFG_UINT, login_max_failures, "5", 1, 1000,
      "failed logins per address or user name within login_window before 429"),
    F("login_window", NF_CFG_DURATION, login_window_ms, "1m", 1000, DAY_MS,
      "failure counting window, and how long a blocked address or user waits"),
    /* 4096 slots × ~100 bytes: 400 KiB whatever an attacker sends. */
    F("login_table_size", NF_CFG_UINT, login_table_size, "4096", 2, 1000000,
      "addresses + user names the login limiter tracks at most"),
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

/* "$2b$10$" + 53 characters of bcrypt's alphabet; cost 4..31. Returns the cost or -1. */
static int
bcrypt_hash_cost(const char *h)
{
    if (strlen(h) != NF_AUTH_BCRYPT_LEN || h[0] != '$' || h[1] != '2' ||
        (h[2] != 'a' && h[2] != 'b' && h[2] != 'y') || h[3] != '$' || h[6] != '$')
        return -1;
    if (h[4] < '0' || h[4] > '9' || h[5] < '0' || h[5] > '9')
        return -1;
    int cost = (h[4] - '0') * 10 + (h[5] - '0');
    if (cost < 4 || cost > 31)
        return -1;
    for (size_t i = 7; i < NF_AUTH_BCRYPT_LEN; i++) {
        char c = h[i];
        if (!(c == '.' || c == '/' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9')))
            return -1;
    }
    return cost;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool
parse_sha256_hex(const char *s, uint8_t out[SHA256_DIGEST_LENGTH])
{
    if (strlen(s) != 2 * SHA256_DIGEST_LENGTH)
        return false;
    for (size_t i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* Placeholders seen in sample configs; a secret containing one was not generated. */
static const char *const weak_words[] = {"changeme", "change-me", "change_me", "your-secret",
                                         "your_secret", "yoursecret", "placeholder", "example",
                                         NULL};

/* Why secret is unusable, or NULL. Never quotes the secret. */
static const char *
secret_weakness(const char *s)
{
    size_t n = strlen(s);
    if (n < NF_AUTH_SECRET_MIN)
        return "must be at least 32 bytes (generate one: openssl rand -base64 48)";
    bool seen[256] = {false};
    unsigned distinct = 0;
    for (size_t i = 0; i < n; i++)
        if (!seen[(unsigned char)s[i]]) {
            seen[(unsigned char)s[i]] = true;
            distinct++;
        }
    /* Random base64 of 32+ characters has ~25 distinct ones; 10 rules out "aaaa…",
     * "abababab…" and "1234567890…" repeated, not anything a generator produces. */
    if (distinct < 10)
        return "is too repetitive to be random (generate one: openssl rand -base64 48)";
    char lower[NF_AUTH_SECRET_MIN * 8];
    size_t m = n < sizeof(lower) - 1 ? n : sizeof(lower) - 1;
    for (size_t i = 0; i < m; i++)
        lower[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
    lower[m] = '\0';
    for (const char *const *w = weak_words; *w != NULL; w++)
        if (strstr(lower, *w) != NULL)
            return "looks like a placeholder from a sample config (generate one: "
                   "openssl rand -base64 48)";
    return NULL;
}

static void
join(char *out, size_t n, const char *prefix, const char *a, const char *b)
{
    const char *p = prefix != NULL ? prefix : "";
    snprintf(out, n, "%s%s%s%s%s", p, p[0] != '\0' ? "." : "", a, b != NULL ? "." : "",
             b != NULL ? b : "");
}

nf_status
nf_auth_config_check(const nf_auth_config *c, const char *file, const char *prefix, nf_err *err)
{
    char key[160];
    const char *file_name = file != NULL ? file : "config";
    json_t *maps[2] = {c->local_users, c->api_keys};
    const char *names[2] = {"local_users", "api_keys"};
    size_t counts[2] = {0, 0};
    for (int m = 0; m < 2; m++) {
        if (maps[m] == NULL)
            continue;
        join(key, sizeof(key), prefix, names[m], NULL);
        if (!json_is_object(maps[m]))
            return nf_cfg_json_error(err, file_name, key, "expected an object of %s",
                                     m == 0 ? "user name -> bcrypt hash"
                                            : "key name -> SHA-256 hex");
        counts[m] = json_object_size(maps[m]);
        if (counts[m] > NF_AUTH_ENTRIES_MAX)
            return nf_cfg_json_error(err, file_name, key, "%zu entries, at most %d", counts[m],
                                     NF_AUTH_ENTRIES_MAX);
        const char *name;
        json_t *v;
        json_object_foreach(maps[m], name, v) {
            if (!nf_auth_user_name_ok(name)) {
                join(key, sizeof(key), prefix, names[m], NULL);
                return nf_cfg_json_error(err, file_name, key,
                                         "a name is empty, longer than %d bytes or has "
                                         "control characters",
                                         NF_AUTH_USER_MAX);
            }
            join(key, sizeof(key), prefix, names[m], name);
            if (!json_is_string(v))
                return nf_cfg_json_error(err, file_name, key, "expected a string");
            uint8_t digest[SHA256_DIGEST_LENGTH];
            if (m == 0 && bcrypt_hash_cost(json_string_value(v)) < 0)
                return nf_cfg_json_error(err, file_name, key,
                                         "not a bcrypt hash ($2a$/$2b$/$2y$, cost 04..31, 60 "
                                         "characters; make one with authtool hash)");
            if (m == 1 && !parse_sha256_hex(json_string_value(v), digest))
                return nf_cfg_json_error(err, file_name, key,
                                         "not a SHA-256 in hex (64 hex digits; the key itself "
                                         "is not stored: authtool apikey-hash KEY)");
        }
    }
    if (!c->enabled)
        return NF_OK;
    join(key, sizeof(key), prefix, "jwt_secret", NULL);
    if (c->jwt_secret == NULL || c->jwt_secret[0] == '\0')
        return nf_cfg_json_error(err, file_name, key, "required when auth is enabled");
    const char *weak = secret_weakness(c->jwt_secret);
    if (weak != NULL)
        return nf_cfg_json_error(err, file_name, key, "%s", weak);
    if (c->refresh_expiration_ms < c->jwt_expiration_ms) {
        join(key, sizeof(key), prefix, "refresh_expiration", NULL);
        return nf_cfg_json_error(err, file_name, key, "shorter than jwt_expiration");
    }
    if (counts[0] == 0 && counts[1] == 0) {
        join(key, sizeof(key), prefix, "local_users", NULL);
        return nf_cfg_json_error(err, file_name, key,
                                 "auth is enabled but neither local_users nor api_keys has an "
                                 "entry: nobody could log in");
    }
    return NF_OK;
}

/* Runs bcrypt of password with setting into out (NF_AUTH_BCRYPT_LEN + 1 bytes). */
static nf_status
bcrypt_run(const char *password, const char *setting, char *out, nf_err *err)
{
    /* struct crypt_data is 32 KiB: on the heap, HTTP server threads may have small stacks. */
    struct crypt_data *cd = calloc(1, sizeof(*cd));
    if (cd == NULL)
        return nf_err_set(err, NF_ENOMEM, "bcrypt: %zu bytes", sizeof(*cd));
    nf_status st = NF_OK;
    const char *h = crypt_rn(password, setting, cd, (int)sizeof(*cd));
    if (h == NULL || strlen(h) != NF_AUTH_BCRYPT_LEN)
        st = nf_err_set(err, NF_EINTERNAL, "bcrypt: libcrypt refused the setting");
    else
        memcpy(out, h, NF_AUTH_BCRYPT_LEN + 1);
    OPENSSL_cleanse(cd, sizeof(*cd));
    free(cd);
    return st;
}

nf_status
nf_auth_hash_password(const char *password, unsigned cost, char out[NF_AUTH_BCRYPT_LEN + 1],
                      nf_err *err)
{
    size_t n = password == NULL ? 0 : strnlen(password, NF_AUTH_PASSWORD_MAX + 1);
    if (n == 0 || n > NF_AUTH_PASSWORD_MAX)
        return nf_err_set(err, NF_EINVAL, "bcrypt: password must be 1..%d bytes",
                          NF_AUTH_PASSWORD_MAX);
    if (cost < 4 || cost > 31)
        return nf_err_set(err, NF_EINVAL, "bcrypt: cost %u outside 4..31", cost);
    char setting[CRYPT_GENSALT_OUTPUT_SIZE];
    /* NULL random bytes: libxcrypt takes the salt from the OS's random source. */
    if (crypt_gensalt_rn("$2b$", cost, NULL, 0, setting, (int)sizeof(setting)) == NULL)
        return nf_err_sys(err, NF_EINTERNAL, errno, "bcrypt: crypt_gensalt_rn($2b$, %u)", cost);
    return bcrypt_run(password, setting, out, err);
}

void
nf_auth_destroy(nf_auth *a)
{
    if (a == NULL)
        return;
    if (a->secret != NULL) {
        OPENSSL_cleanse(a->secret, a->secret_len);
        free(a->secret);
    }
    for (size_t i = 0; i < a->nusers; i++)
        free(a->users[i].name);
    free(a->users);
    for (size_t i = 0; i < a->nkeys; i++)
        free(a->keys[i].name);
    free(a->keys);
    free(a);
}

nf_status
nf_auth_create(const nf_auth_config *cfg, const char *file, const char *prefix, nf_auth **out,
               nf_err *err)
{
    if (!cfg->enabled)
        return nf_err_set(err, NF_EINVAL, "auth: not enabled, nothing to create");
    nf_status st = nf_auth_config_check(cfg, file, prefix, err);
    if (st != NF_OK)
        return st;
    nf_auth *a = calloc(1, sizeof(*a));
    size_t nu = cfg->local_users != NULL ? json_object_size(cfg->local_users) : 0;
    size_t nk = cfg->api_keys != NULL ? json_object_size(cfg->api_keys) : 0;
    if (a == NULL)
        return nf_err_set(err, NF_ENOMEM, "auth: %zu bytes", sizeof(*a));
    a->secret_len = strlen(cfg->jwt_secret);
    a->secret = malloc(a->secret_len + 1);
    a->users = calloc(nu + 1, sizeof(*a->users));
    a->keys = calloc(nk + 1, sizeof(*a->keys));
    if (a->secret == NULL || a->users == NULL || a->keys == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "auth: %zu users, %zu keys", nu, nk);
        goto fail;
    }
    memcpy(a->secret, cfg->jwt_secret, a->secret_len + 1);
    a->access_s = (int64_t)((cfg->jwt_expiration_ms + 999) / 1000);
    a->refresh_s = (int64_t)((cfg->refresh_expiration_ms + 999) / 1000);

    int max_cost = 0;
    const char *name;
    json_t *v;
    if (cfg->local_users != NULL)
        json_object_foreach(cfg->local_users, name, v) {
            auth_user *u = &a->users[a->nusers];
            u->name = strdup(name);
            if (u->name == NULL) {
                st = nf_err_set(err, NF_ENOMEM, "auth: user name");
                goto fail;
            }
            a->nusers++;
            memcpy(u->hash, json_string_value(v), NF_AUTH_BCRYPT_LEN + 1);
            int cost = bcrypt_hash_cost(u->hash);
            if (cost > max_cost)
                max_cost = cost;
        }
    if (cfg->api_keys != NULL)
        json_object_foreach(cfg->api_keys, name, v) {
            auth_key *k = &a->keys[a->nkeys];
            k->name = strdup(name);
            if (k->name == NULL) {
                st = nf_err_set(err, NF_ENOMEM, "auth: key name");
                goto fail;
            }
            a->nkeys++;
            if (!parse_sha256_hex(json_string_value(v), k->digest)) {
                st = nf_err_set(err, NF_EINTERNAL, "auth: api key %s passed the check", name);
                goto fail;
            }
        }

    /* The dummy hash for unknown users: a real bcrypt of random bytes at the largest cost. */
    uint8_t rnd[24];
    char pw[40];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        st = nf_err_set(err, NF_EINTERNAL, "auth: RAND_bytes failed");
        goto fail;
    }
    nf_b64url_encode(rnd, sizeof(rnd), pw, sizeof(pw));
    st = nf_auth_hash_password(pw, (unsigned)(max_cost > 0 ? max_cost : 10), a->dummy_hash, err);
    OPENSSL_cleanse(pw, sizeof(pw));
    if (st != NF_OK)
        goto fail;
    *out = a;
    return NF_OK;
fail:
    nf_auth_destroy(a);
    return st;
}

nf_status
nf_auth_check_password(const nf_auth *a, const char *user, const char *password, nf_err *err)
{
    size_t plen = password == NULL ? 0 : strnlen(password, NF_AUTH_PASSWORD_MAX + 1);
    if (!nf_auth_user_name_ok(user) || plen == 0 || plen > NF_AUTH_PASSWORD_MAX)
        return nf_err_set(err, NF_EINVAL, "invalid user name or password");
    const auth_user *found = NULL;
    for (size_t i = 0; i < a->nusers; i++)
        if (strcmp(a->users[i].name, user) == 0)
            found = &a->users[i];
    const char *hash = found != NULL ? found->hash : a->dummy_hash;
    char got[NF_AUTH_BCRYPT_LEN + 1];
    nf_status st = bcrypt_run(password, hash, got, err);
    if (st != NF_OK)
        return st;
    bool same = CRYPTO_memcmp(got, hash, NF_AUTH_BCRYPT_LEN) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    if (!same || found == NULL)
        return nf_err_set(err, NF_EINVAL, "invalid user name or password");
    return NF_OK;
}

bool
nf_auth_user_exists(const nf_auth *a, const char *user)
{
    if (user == NULL)
        return false;
    for (size_t i = 0; i < a->nusers; i++)
        if (strcmp(a->users[i].name, user) == 0)
            return true;
    return false;
}

nf_status
nf_auth_check_api_key(const nf_auth *a, const char *key, const char **name, nf_err *err)
{
    size_t n = key == NULL ? 0 : strnlen(key, NF_AUTH_API_KEY_MAX + 1);
    if (n == 0 || n > NF_AUTH_API_KEY_MAX)
        return nf_err_set(err, NF_EINVAL, "invalid API key");
    uint8_t d[SHA256_DIGEST_LENGTH];
    if (SHA256((const unsigned char *)key, n, d) == NULL)
        return nf_err_set(err, NF_EINTERNAL, "API key: SHA-256 failed");
    const char *match = NULL;
    for (size_t i = 0; i < a->nkeys; i++) {
        bool eq = CRYPTO_memcmp(d, a->keys[i].digest, sizeof(d)) == 0;
        if (eq)
            match = a->keys[i].name;
    }
    if (match == NULL)
        return nf_err_set(err, NF_EINVAL, "invalid API key");
    if (name != NULL)
        *name = match;
    return NF_OK;
}

nf_status
nf_auth_issue_for(const nf_auth *a, const char *user, nf_auth_kind kind, int64_t now,
                  char **token, int64_t *expires_at, nf_err *err)
{
    int64_t life = kind == NF_AUTH_REFRESH ? a->refresh_s : a->access_s;
    nf_status st = nf_auth_issue(a->secret, a->secret_len, user, kind, now, life, token, err);
    if (st == NF_OK && expires_at != NULL)
        *expires_at = now + life;
    return st;
}

nf_auth_verdict
nf_auth_verify_for(const nf_auth *a, const char *token, int64_t now, nf_auth_kind kind,
                   nf_auth_claims *claims, nf_err *err)
{
    return nf_auth_verify(a->secret, a->secret_len, token, now, kind, claims, err);
}

/* auth.h — authentication for serviceradar-core: local users with bcrypt hashes, HS256 JWT
 * access and refresh tokens, X-API-Key keys, and login rate limiting. A pure library: the HTTP
 * server decides what to answer (401, 429 + Retry-After); nothing here logs.
 *
 * The `auth` section of core.json (ServiceRadar's shape, see docs/references.md):
 *
 *   "auth": {
 *     "enabled": true,                         (default true: auth is on unless turned off)
 *     "jwt_secret": "<at least 32 bytes, not a placeholder>",
 *     "jwt_expiration": "24h",                 (access token lifetime)
 *     "refresh_expiration": "168h",            (refresh token lifetime, 7 days)
 *     "local_users": {"admin": "$2b$10$…"},    (bcrypt $2a$/$2b$/$2y$ only)
 *     "api_keys": {"grafana": "<sha256 hex>"}, (name -> SHA-256 of the key, 64 hex digits)
 *     "login_max_failures": 5, "login_window": "1m", "login_table_size": 4096
 *   }
 *
 * API keys are stored as the lowercase or uppercase hex SHA-256 of the key, never the key
 * itself: core.json is readable by operators and ends up in backups. A SHA-256 (not bcrypt)
 * is enough because keys are long random strings (tests/tools/authtool apikey makes 256-bit
 * ones), and it keeps an API request at microseconds. `authtool apikey-hash KEY` prints the
 * hash of an existing key.
 *
 * Design:
 *   1. nf_auth (users, keys, secret, lifetimes) is immutable after nf_auth_create, so any
 *      number of threads may use one without locking.
 *   2. A password check costs one bcrypt whatever the user name: unknown users are checked
 *      against a dummy hash of the same cost, and the answer is the same error for both
 *      cases, so neither the timing nor the message reveals which users exist.
 *   3. Every comparison of a secret-derived value (bcrypt output, HMAC, key digest) is
 *      constant-time (CRYPTO_memcmp); the API key check visits every configured key.
 *   4. Tokens are refused before any JSON of the payload is parsed unless the header says
 *      HS256 and the signature matches. "alg":"none" and every other algorithm are refused.
 *      Base64url must be canonical (no padding, zero trailing bits), so a token has exactly
 *      one valid spelling.
 *   5. Untrusted input is bounded: tokens NF_AUTH_TOKEN_MAX bytes, user names
 *      NF_AUTH_USER_MAX, passwords NF_AUTH_PASSWORD_MAX, API keys NF_AUTH_API_KEY_MAX; the
 *      limiter's table has a fixed size chosen at creation.
 *   6. The limiter (nf_auth_limiter) is the only mutable object; it has its own mutex.
 *   7. Secrets (passwords, jwt_secret, keys, tokens) never appear in error messages.
 */
#ifndef NFX_LIB_AUTH_AUTH_H
#define NFX_LIB_AUTH_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../base/nf_status.h"
#include "../config/config.h"

#define NF_AUTH_TOKEN_MAX 4096      /* bytes of a JWT we look at; ours are ~300 */
#define NF_AUTH_USER_MAX 64         /* bytes of a user name */
#define NF_AUTH_PASSWORD_MAX 1024   /* bytes of a password (bcrypt uses the first 72) */
#define NF_AUTH_API_KEY_MAX 256     /* bytes of an X-API-Key value */
#define NF_AUTH_SECRET_MIN 32       /* bytes of jwt_secret at least (HS256 key = 256 bits) */
#define NF_AUTH_ENTRIES_MAX 10000   /* local_users / api_keys entries at most */
#define NF_AUTH_BCRYPT_LEN 60       /* "$2b$10$" + 22 salt + 31 hash characters */

/* ---- configuration ------------------------------------------------------------------- */

typedef struct nf_auth_config {
    bool enabled;                   /* false: the core serves /api without credentials */
    char *jwt_secret;               /* HMAC key; required (>= 32 bytes) when enabled */
    uint64_t jwt_expiration_ms;     /* access token lifetime, default 24h */
    uint64_t refresh_expiration_ms; /* refresh token lifetime, default 7 days */
    json_t *local_users;            /* object: user -> bcrypt hash; NULL if absent */
    json_t *api_keys;               /* object: key name -> SHA-256 hex of the key; NULL */
    uint64_t login_max_failures;    /* failed logins per window before 429, default 5 */
    uint64_t login_window_ms;       /* failure window and lockout length, default 1m */
    uint64_t login_table_size;      /* addresses + user names tracked at most, default 4096 */
} nf_auth_config;

/* Table of the auth section: embed it in the core's table with
 * {"auth", NF_CFG_OBJECT, offsetof(core_config, auth), …, nf_auth_config_table, …}.
 * Free the loaded struct with nf_cfg_free(nf_auth_config_table, &cfg.auth). */
extern const nf_cfg_field nf_auth_config_table[];

/* Checks what the table cannot: when enabled, jwt_secret present, at least
 * NF_AUTH_SECRET_MIN bytes and not obviously weak (few distinct bytes, a placeholder such as
 * "changeme"); local_users an object of user -> bcrypt hash (cost 4..31, 60 characters);
 * api_keys an object of name -> 64 hex digits; refresh_expiration >= jwt_expiration.
 * Disabled: only the shapes are checked. Errors are NF_EINVAL in the loader's style
 * "FILE: key 'PREFIX.local_users.bob': why" (file and prefix borrowed, prefix may be "").
 * The secret's value is never put in the message. */
nf_status nf_auth_config_check(const nf_auth_config *c, const char *file, const char *prefix,
                               nf_err *err);

/* ---- the authenticator --------------------------------------------------------------- */

typedef struct nf_auth nf_auth;

/* Builds an authenticator from an enabled config (copied: cfg may be freed afterwards).
 * Runs nf_auth_config_check first (file and prefix name keys in its errors), then computes
 * the dummy bcrypt hash (one bcrypt of the largest configured cost). NF_EINVAL if cfg is
 * disabled or invalid, NF_ENOMEM, NF_EINTERNAL if libcrypt fails. *out is written only on
 * success; free with nf_auth_destroy. Thread-safe to use from any thread once created. */
nf_status nf_auth_create(const nf_auth_config *cfg, const char *file, const char *prefix,
                         nf_auth **out, nf_err *err);

/* Frees a. NULL-safe. Secrets are wiped before their memory is freed. */
void nf_auth_destroy(nf_auth *a);

/* Checks user/password (both borrowed, NUL-terminated). NF_OK if the user exists and the
 * password matches its bcrypt hash. Otherwise NF_EINVAL with the same message "invalid user
 * name or password" whether the user is unknown or the password wrong (and the same bcrypt
 * work, design note 2); NF_EINVAL too for an empty or oversized user name or password (no
 * bcrypt is run then: the length is not secret). NF_ENOMEM / NF_EINTERNAL if libcrypt
 * could not run (then nobody is let in). */
nf_status nf_auth_check_password(const nf_auth *a, const char *user, const char *password,
                                 nf_err *err);

/* Makes a bcrypt hash ("$2b$", random salt, cost 4..31; 10 is the usual) of password
 * (borrowed, 1..NF_AUTH_PASSWORD_MAX bytes) into out (NF_AUTH_BCRYPT_LEN + 1 bytes, written
 * only on NF_OK). For tooling (authtool hash); the service never stores passwords. NF_EINVAL
 * for bad arguments, NF_ENOMEM, NF_EINTERNAL if libcrypt fails. */
nf_status nf_auth_hash_password(const char *password, unsigned cost,
                                char out[NF_AUTH_BCRYPT_LEN + 1], nf_err *err);

/* True if user (borrowed) is configured; for /auth/refresh, so that removing a user from
 * core.json also ends their refresh tokens. */
bool nf_auth_user_exists(const nf_auth *a, const char *user);

/* Checks an X-API-Key value (borrowed). NF_OK and *name (borrowed from a, valid until
 * nf_auth_destroy; name may be NULL) if its SHA-256 equals a configured one; NF_EINVAL
 * "invalid API key" otherwise, also for an empty or oversized key. Every configured key is
 * compared, so the time does not depend on which one matched. */
nf_status nf_auth_check_api_key(const nf_auth *a, const char *key, const char **name,
                                nf_err *err);

/* ---- JWT HS256 ----------------------------------------------------------------------- */

typedef enum nf_auth_kind {
    NF_AUTH_ACCESS = 0, /* "typ":"access": accepted on the /api routes */
    NF_AUTH_REFRESH,    /* "typ":"refresh": accepted only by /auth/refresh */
} nf_auth_kind;

/* Why a token was refused; NF_AUTH_TOKEN_OK = accepted. */
typedef enum nf_auth_verdict {
    NF_AUTH_TOKEN_OK = 0,
    NF_AUTH_TOKEN_MALFORMED,     /* not three canonical base64url parts of JSON, too large,
                                  * missing or mistyped claims */
    NF_AUTH_TOKEN_BAD_ALG,       /* header alg is not HS256 ("none" included), or has "crit" */
    NF_AUTH_TOKEN_BAD_SIGNATURE, /* HMAC does not match */
    NF_AUTH_TOKEN_EXPIRED,       /* now >= exp */
    NF_AUTH_TOKEN_NOT_YET_VALID, /* iat or nbf later than now + NF_AUTH_CLOCK_SKEW_S */
    NF_AUTH_TOKEN_WRONG_KIND,    /* a refresh token where an access token is expected, … */
} nf_auth_verdict;

/* Leeway for iat/nbf in the future: several cores sharing a secret may disagree on the time
 * by a few seconds. exp gets none: a token is never accepted after its stated expiry. */
#define NF_AUTH_CLOCK_SKEW_S 30

/* Short stable name of a verdict ("expired"); never NULL. */
const char *nf_auth_verdict_name(nf_auth_verdict v);

/* What a valid token says. */
typedef struct nf_auth_claims {
    char sub[NF_AUTH_USER_MAX + 1]; /* user name */
    nf_auth_kind kind;
    int64_t iat;                    /* epoch s, issuer clock */
    int64_t exp;                    /* epoch s */
    char jti[33];                   /* random id, 32 hex digits (or what the issuer put, cut) */
} nf_auth_claims;

/* Issues an HS256 token for user (1..NF_AUTH_USER_MAX bytes, no control characters) of the
 * given kind: header {"alg":"HS256","typ":"JWT"}, claims sub, iat = now, exp = now +
 * lifetime_s, typ "access"/"refresh", jti = 128 random bits in hex. secret (borrowed,
 * secret_len bytes) must be non-empty. On NF_OK *token is returned-owned (free with free()).
 * NF_EINVAL for bad arguments (lifetime_s must be 1..10 years), NF_ENOMEM, NF_EINTERNAL if
 * OpenSSL fails. */
nf_status nf_auth_issue(const void *secret, size_t secret_len, const char *user,
                        nf_auth_kind kind, int64_t now, int64_t lifetime_s, char **token,
                        nf_err *err);

/* Verifies token (borrowed, NUL-terminated, untrusted) against secret at time now (epoch s)
 * and expects kind. Returns NF_AUTH_TOKEN_OK and fills *claims (may be NULL), or the reason
 * of the refusal with err set (NF_EPROTO for malformed/bad alg, NF_EINVAL otherwise; the
 * message never quotes the token). Checks in order: size, shape, header (alg), signature,
 * then claims — nothing of the payload is parsed before the signature matched. */
nf_auth_verdict nf_auth_verify(const void *secret, size_t secret_len, const char *token,
                               int64_t now, nf_auth_kind kind, nf_auth_claims *claims,
                               nf_err *err);

/* nf_auth_issue with a's secret and the configured lifetime of kind; *expires_at (may be
 * NULL) receives exp (epoch s) on success. */
nf_status nf_auth_issue_for(const nf_auth *a, const char *user, nf_auth_kind kind,
                            int64_t now, char **token, int64_t *expires_at, nf_err *err);

/* nf_auth_verify with a's secret. */
nf_auth_verdict nf_auth_verify_for(const nf_auth *a, const char *token, int64_t now,
                                   nf_auth_kind kind, nf_auth_claims *claims, nf_err *err);

/* True if user is a usable user name: 1..NF_AUTH_USER_MAX bytes, no control characters
 * (names end up in logs and headers). NULL-safe. */
bool nf_auth_user_name_ok(const char *user);

/* ---- base64url (RFC 4648 §5, no padding), exposed for tests and tools ----------------- */

/* Encodes n bytes of in into out (capacity cap, including the NUL). Returns the length
 * written (without NUL), or 0 if it does not fit (and n > 0). */
size_t nf_b64url_encode(const void *in, size_t n, char *out, size_t cap);

/* Decodes n characters of in (no padding; canonical: unused trailing bits zero) into out
 * (capacity cap). Returns true and *len on success; false on a bad character, a length of
 * 4k+1, non-zero trailing bits or too little room. */
bool nf_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *len);

/* ---- login rate limiting -------------------------------------------------------------- */

/* Counts failed logins per client address and per user name (separately: spraying one
 * password over many users from one address, and one user from many addresses, are both
 * caught). A key with max_failures failures inside a window of window_s seconds (counted from
 * its first failure) is refused for window_s seconds from the last failure. The table has a
 * fixed number of slots; when full, a new key takes the slot of an idle key, else of the
 * blocked key whose block ends first (an attacker flooding the table can at worst shorten
 * blocks, never grow memory). Thread-safe: one mutex; each call is O(table size), which is
 * small next to the bcrypt a login costs. */
typedef struct nf_auth_limiter nf_auth_limiter;

/* max_failures >= 1, window_s >= 1, slots 2..1000000. *out written on NF_OK; free with
 * nf_auth_limiter_destroy. NF_EINVAL for bad numbers, NF_ENOMEM, NF_EIO if the mutex fails. */
nf_status nf_auth_limiter_create(uint32_t max_failures, uint32_t window_s, uint32_t slots,
                                 nf_auth_limiter **out, nf_err *err);

/* From an nf_auth_config (login_max_failures, login_window_ms rounded up to seconds,
 * login_table_size). */
nf_status nf_auth_limiter_create_for(const nf_auth_config *cfg, nf_auth_limiter **out,
                                     nf_err *err);

/* NULL-safe. No other thread may be using l. */
void nf_auth_limiter_destroy(nf_auth_limiter *l);

/* May a login for user from addr (both borrowed; either may be NULL or "" = not tracked;
 * longer than NF_AUTH_USER_MAX / 64 bytes are cut) be attempted at now (epoch s)? True if
 * neither is blocked; false with *retry_after_s (may be NULL; >= 1) set to the seconds until
 * both are free — the value of a 429's Retry-After. Call before checking the password. */
bool nf_auth_login_allowed(nf_auth_limiter *l, const char *addr, const char *user, int64_t now,
                           uint32_t *retry_after_s);

/* Records a failed login of user from addr at now. */
void nf_auth_login_failed(nf_auth_limiter *l, const char *addr, const char *user, int64_t now);

/* Records a successful login: forgets the user's failures. The address keeps its count
 * (one valid account must not reset the budget for guessing others from that address). */
void nf_auth_login_succeeded(nf_auth_limiter *l, const char *addr, const char *user,
                             int64_t now);

/* Keys currently held (tests: proves the table does not grow past its size). */
size_t nf_auth_limiter_count(nf_auth_limiter *l);

#endif

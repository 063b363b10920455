/* jwt.c — HS256 JSON Web Tokens (RFC 7519 / RFC 7515 compact form) and base64url.
 *
 * Only what the core needs: tokens this service issued itself, signed with one shared secret.
 * Design (see auth.h notes 3–5):
 *   1. The header must say "alg":"HS256"; the algorithm is never taken from the token to pick
 *      a verifier (the classic "alg":"none" / RS-HS confusion bugs come from doing that).
 *   2. The signature is checked before the payload is decoded or parsed, so unauthenticated
 *      bytes reach jansson only through the small header.
 *   3. Base64url is strict and canonical: no padding, no whitespace, unused low bits zero.
 *      Without the last rule "…c" and "…d" could decode to the same signature, and a token
 *      would have several valid spellings (a cache or a revocation list keyed by the token
 *      text would then be bypassed).
 *   4. Everything is bounded by NF_AUTH_TOKEN_MAX: decoded parts fit in stack buffers of
 *      3/4 of it.
 */
#include "auth.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#define SIG_LEN 32 /* HMAC-SHA256 */
/* Decoded size of a part of a token of NF_AUTH_TOKEN_MAX characters, at most. */
#define PART_MAX (NF_AUTH_TOKEN_MAX / 4 * 3 + 3)
/* 10 years: longer lifetimes are a configuration mistake, and exp stays far from overflow. */
#define LIFETIME_MAX_S (10 * 366 * 86400LL)

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
nf_b64url_encode(const void *in, size_t n, char *out, size_t cap)
{
    const uint8_t *p = in;
    size_t need = n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
    if (cap == 0 || need > cap - 1)
        return 0;
    size_t o = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
        out[o++] = b64url_alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        out[o++] = b64url_alphabet[v >> 18 & 63];
        out[o++] = b64url_alphabet[v >> 12 & 63];
        out[o++] = b64url_alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return o;
}

static int
b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

bool
nf_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *len)
{
    if (n % 4 == 1)
        return false;
    size_t need = n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
    if (need > cap)
        return false;
    size_t o = 0;
    uint32_t acc = 0;
    unsigned bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64url_value(in[i]);
        if (v < 0)
            return false;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    /* Canonical form: the bits left over (2 or 4) must be zero. */
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return false;
    *len = o;
    return true;
}

const char *
nf_auth_verdict_name(nf_auth_verdict v)
{
    switch (v) {
    case NF_AUTH_TOKEN_OK: return "ok";
    case NF_AUTH_TOKEN_MALFORMED: return "malformed";
    case NF_AUTH_TOKEN_BAD_ALG: return "bad algorithm";
    case NF_AUTH_TOKEN_BAD_SIGNATURE: return "bad signature";
    case NF_AUTH_TOKEN_EXPIRED: return "expired";
    case NF_AUTH_TOKEN_NOT_YET_VALID: return "not yet valid";
    case NF_AUTH_TOKEN_WRONG_KIND: return "wrong kind";
    }
    return "unknown";
}

static const char *
kind_name(nf_auth_kind k)
{
    return k == NF_AUTH_REFRESH ? "refresh" : "access";
}

bool
nf_auth_user_name_ok(const char *user)
{
    size_t n = user == NULL ? 0 : strnlen(user, NF_AUTH_USER_MAX + 1);
    if (n == 0 || n > NF_AUTH_USER_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)user[i] < 0x20 || user[i] == 0x7f)
            return false;
    return true;
}

static bool
hmac256(const void *secret, size_t secret_len, const char *data, size_t n, uint8_t out[SIG_LEN])
{
    unsigned int md_len = 0;
    if (secret_len > INT32_MAX)
        return false;
    if (HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)data, n, out,
             &md_len) == NULL)
        return false;
    return md_len == SIG_LEN;
}

nf_status
nf_auth_issue(const void *secret, size_t secret_len, const char *user, nf_auth_kind kind,
              int64_t now, int64_t lifetime_s, char **token, nf_err *err)
{
    static const char header_json[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    if (secret == NULL || secret_len == 0)
        return nf_err_set(err, NF_EINVAL, "jwt issue: empty secret");
    if (!nf_auth_user_name_ok(user))
        return nf_err_set(err, NF_EINVAL,
                          "jwt issue: user name must be 1..%d bytes without control characters",
                          NF_AUTH_USER_MAX);
    if (kind != NF_AUTH_ACCESS && kind != NF_AUTH_REFRESH)
        return nf_err_set(err, NF_EINVAL, "jwt issue: bad token kind %d", (int)kind);
    if (lifetime_s < 1 || lifetime_s > LIFETIME_MAX_S || now < 0 || now > INT64_MAX / 2)
        return nf_err_set(err, NF_EINVAL, "jwt issue: lifetime %lld s or time %lld out of range",
                          (long long)lifetime_s, (long long)now);

    uint8_t rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1)
        return nf_err_set(err, NF_EINTERNAL, "jwt issue: RAND_bytes failed");
    char jti[33];
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(jti + 2 * i, 3, "%02x", rnd[i]);

    nf_status st = NF_OK;
    char *payload_json = NULL, *out = NULL;
    json_t *claims = json_pack("{s:s, s:I, s:I, s:s, s:s}", "sub", user, "iat", (json_int_t)now,
                               "exp", (json_int_t)(now + lifetime_s), "typ", kind_name(kind),
                               "jti", jti);
    if (claims == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "jwt issue: cannot build claims");
        goto fail;
    }
    payload_json = json_dumps(claims, JSON_COMPACT);
    if (payload_json == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "jwt issue: cannot serialise claims");
        goto fail;
    }
    size_t hlen = sizeof(header_json) - 1, plen = strlen(payload_json);
    size_t cap = (hlen + plen + SIG_LEN) / 3 * 4 + 16;
    out = malloc(cap);
    if (out == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "jwt issue: %zu bytes", cap);
        goto fail;
    }
    size_t o = nf_b64url_encode(header_json, hlen, out, cap);
    out[o++] = '.';
    size_t k = nf_b64url_encode(payload_json, plen, out + o, cap - o);
    if (o == 1 || k == 0) {
        st = nf_err_set(err, NF_EINTERNAL, "jwt issue: encoding did not fit");
        goto fail;
    }
    o += k;
    uint8_t sig[SIG_LEN];
    if (!hmac256(secret, secret_len, out, o, sig)) {
        st = nf_err_set(err, NF_EINTERNAL, "jwt issue: HMAC-SHA256 failed");
        goto fail;
    }
    out[o++] = '.';
    if (nf_b64url_encode(sig, sizeof(sig), out + o, cap - o) == 0) {
        st = nf_err_set(err, NF_EINTERNAL, "jwt issue: encoding did not fit");
        goto fail;
    }
    *token = out;
    out = NULL;
fail:
    free(out);
    free(payload_json);
    json_decref(claims);
    return st;
}

static nf_auth_verdict refuse(nf_err *err, nf_auth_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets err ("token refused (why): detail") and returns v. */
static nf_auth_verdict
refuse(nf_err *err, nf_auth_verdict v, const char *fmt, ...)
{
    nf_status code = v == NF_AUTH_TOKEN_MALFORMED || v == NF_AUTH_TOKEN_BAD_ALG ? NF_EPROTO
                                                                               : NF_EINVAL;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    nf_err_set(err, code, "token refused (%s): %s", nf_auth_verdict_name(v), msg);
    return v;
}

/* Decodes part [p, p+n) and parses it as a JSON object; NULL if either fails. */
static json_t *
decode_json_part(const char *p, size_t n)
{
    uint8_t buf[PART_MAX];
    size_t len = 0;
    if (!nf_b64url_decode(p, n, buf, sizeof(buf), &len))
        return NULL;
    json_error_t jerr;
    json_t *j = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static bool
int_claim(json_t *claims, const char *name, bool required, int64_t *v)
{
    json_t *j = json_object_get(claims, name);
    if (j == NULL)
        return !required;
    if (!json_is_integer(j))
        return false;
    *v = (int64_t)json_integer_value(j);
    return true;
}

nf_auth_verdict
nf_auth_verify(const void *secret, size_t secret_len, const char *token, int64_t now,
               nf_auth_kind kind, nf_auth_claims *claims, nf_err *err)
{
    if (secret == NULL || secret_len == 0)
        return refuse(err, NF_AUTH_TOKEN_BAD_SIGNATURE, "no secret configured");
    size_t n = token == NULL ? 0 : strnlen(token, NF_AUTH_TOKEN_MAX + 1);
    if (n == 0)
        return refuse(err, NF_AUTH_TOKEN_MALFORMED, "empty token");
    if (n > NF_AUTH_TOKEN_MAX)
        return refuse(err, NF_AUTH_TOKEN_MALFORMED, "longer than 4096 bytes");
    const char *dot1 = memchr(token, '.', n);
    const char *dot2 = dot1 == NULL ? NULL : memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - token));
    if (dot2 == NULL || memchr(dot2 + 1, '.', n - (size_t)(dot2 + 1 - token)) != NULL)
        return refuse(err, NF_AUTH_TOKEN_MALFORMED, "not three dot-separated parts");
    size_t hlen = (size_t)(dot1 - token), plen = (size_t)(dot2 - dot1 - 1);
    size_t slen = n - (size_t)(dot2 + 1 - token);
    if (hlen == 0 || plen == 0)
        return refuse(err, NF_AUTH_TOKEN_MALFORMED, "empty header or payload");

    /* 1. Header: the algorithm is fixed by us, the token may only confirm it. */
    json_t *header = decode_json_part(token, hlen);
    if (header == NULL)
        return refuse(err, NF_AUTH_TOKEN_MALFORMED, "header is not base64url JSON object");
    json_t *alg = json_object_get(header, "alg");
    json_t *typ = json_object_get(header, "typ");
    nf_auth_verdict v = NF_AUTH_TOKEN_OK;
    if (!json_is_string(alg) || strcmp(json_string_value(alg), "HS256") != 0 ||
        json_object_get(header, "crit") != NULL)
        v = NF_AUTH_TOKEN_BAD_ALG;
    else if (typ != NULL && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0))
        v = NF_AUTH_TOKEN_MALFORMED;
    json_decref(header);
    if (v == NF_AUTH_TOKEN_BAD_ALG)
        return refuse(err, v, "header alg must be HS256 (no crit)");
    if (v != NF_AUTH_TOKEN_OK)
        return refuse(err, v, "header typ is not JWT");

    /* 2. Signature over "header.payload", compared in constant time. */
    uint8_t sig[PART_MAX], want[SIG_LEN];
    size_t sig_len = 0;
    if (slen == 0)
        return refuse(err, NF_AUTH_TOKEN_BAD_SIGNATURE, "no signature");
    if (!nf_b64url_decode(dot2 + 1, slen, sig, sizeof(sig), &sig_len))
        return refuse(err, NF_AUTH_TOKEN_MALFORMED, "signature is not canonical base64url");
    if (!hmac256(secret, secret_len, token, (size_t)(dot2 - token), want)) {
        nf_err_set(err, NF_EINTERNAL, "token refused: HMAC-SHA256 failed");
        return NF_AUTH_TOKEN_BAD_SIGNATURE;
    }
    if (sig_len != SIG_LEN || CRYPTO_memcmp(sig, want, SIG_LEN) != 0)
        return refuse(err, NF_AUTH_TOKEN_BAD_SIGNATURE, "signature does not match");

    /* 3. Claims, now that we know we wrote them (or someone holding the secret did). */
    json_t *body = decode_json_part(dot1 + 1, plen);
    if (body == NULL)
        return refuse(err, NF_AUTH_TOKEN_MALFORMED, "payload is not base64url JSON object");
    nf_auth_claims c;
    memset(&c, 0, sizeof(c));
    int64_t nbf = INT64_MIN;
    json_t *sub = json_object_get(body, "sub");
    json_t *ktyp = json_object_get(body, "typ");
    json_t *jti = json_object_get(body, "jti");
    const char *why = NULL;
    if (!json_is_string(sub) || !nf_auth_user_name_ok(json_string_value(sub)))
        why = "sub";
    else if (!int_claim(body, "exp", true, &c.exp))
        why = "exp";
    else if (!int_claim(body, "iat", true, &c.iat))
        why = "iat";
    else if (!int_claim(body, "nbf", false, &nbf))
        why = "nbf";
    else if (!json_is_string(ktyp) || (strcmp(json_string_value(ktyp), "access") != 0 &&
                                       strcmp(json_string_value(ktyp), "refresh") != 0))
        why = "typ";
    else if (jti != NULL && !json_is_string(jti))
        why = "jti";
    if (why != NULL) {
        json_decref(body);
        return refuse(err, NF_AUTH_TOKEN_MALFORMED, "claim %s missing or of the wrong type",
                      why);
    }
    snprintf(c.sub, sizeof(c.sub), "%s", json_string_value(sub));
    c.kind = strcmp(json_string_value(ktyp), "refresh") == 0 ? NF_AUTH_REFRESH : NF_AUTH_ACCESS;
    if (jti != NULL)
        snprintf(c.jti, sizeof(c.jti), "%.32s", json_string_value(jti));
    json_decref(body);

    if (now >= c.exp)
        return refuse(err, NF_AUTH_TOKEN_EXPIRED, "exp has passed");
    if (c.iat > now + NF_AUTH_CLOCK_SKEW_S || nbf > now + NF_AUTH_CLOCK_SKEW_S)
        return refuse(err, NF_AUTH_TOKEN_NOT_YET_VALID, "iat or nbf is in the future");
    if (c.kind != kind)
        return refuse(err, NF_AUTH_TOKEN_WRONG_KIND, "expected a token of kind %s",
                      kind_name(kind));
    if (claims != NULL)
        *claims = c;
    return NF_AUTH_TOKEN_OK;
}

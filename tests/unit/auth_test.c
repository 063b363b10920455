/* auth_test.c — lib/auth: bcrypt users, HS256 JWT, base64url, API keys, the login limiter
 * and the auth config section.
 *
 * Known answers come from outside this code: bcrypt vectors from the OpenBSD/Openwall test
 * set, a JWT signed by an independent HMAC-SHA256 implementation (Python's hmac), RFC 4648's
 * base64 vectors. Tokens with chosen headers and claims are signed here with OpenSSL's HMAC
 * directly (sign()), so the refusals are checked for well-signed tokens, not only for broken
 * ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "auth/auth.h"
#include "config/config.h"

#define SECRET "k3Y-for-tests_0123456789abcdefghijKLMNOPQRSTUV"
#define UU_HASH "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW" /* "U*U" */
#define EMPTYISH_HASH "$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy" /* "" */

/* ---- helpers ------------------------------------------------------------------------- */

typedef struct core_cfg {
    nf_auth_config auth;
} core_cfg;

static const nf_cfg_field core_table[] = {
    {"auth", NF_CFG_OBJECT, offsetof(core_cfg, auth), NULL, 0, 0, nf_auth_config_table, NULL,
     "authentication", NULL},
    {NULL, NF_CFG_END, 0, NULL, 0, 0, NULL, NULL, NULL, NULL},
};

/* Loads text as core.json and checks the auth section; on failure nothing is left to free. */
static nf_status
load(const char *text, core_cfg *c, nf_err *err)
{
    memset(c, 0, sizeof(*c));
    nf_status st = nf_cfg_load_text("core.json", text, core_table, c, NULL, NULL, err);
    if (st != NF_OK)
        return st;
    st = nf_auth_config_check(&c->auth, "core.json", "auth", err);
    if (st != NF_OK)
        nf_cfg_free(core_table, c);
    return st;
}

static nf_auth *
make_auth(const char *text)
{
    core_cfg c;
    nf_err err = {0};
    nf_auth *a = NULL;
    assert_int_equal(load(text, &c, &err), NF_OK);
    nf_status st = nf_auth_create(&c.auth, "core.json", "auth", &a, &err);
    if (st != NF_OK)
        fprintf(stderr, "%s\n", err.msg);
    assert_int_equal(st, NF_OK);
    nf_cfg_free(core_table, &c);
    return a;
}

/* header.payload.signature from JSON texts, signed with secret by OpenSSL directly. */
static char *
sign(const char *secret, const char *header, const char *payload)
{
    char *t = malloc(8192);
    assert_non_null(t);
    size_t o = nf_b64url_encode(header, strlen(header), t, 8192);
    t[o++] = '.';
    o += nf_b64url_encode(payload, strlen(payload), t + o, 8192 - o);
    unsigned char md[32];
    unsigned int mdlen = 0;
    assert_non_null(HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)t, o, md,
                         &mdlen));
    t[o++] = '.';
    nf_b64url_encode(md, mdlen, t + o, 8192 - o);
    return t;
}

static nf_auth_verdict
verify_at(const char *token, int64_t now, nf_auth_kind kind)
{
    nf_err err = {0};
    nf_auth_verdict v = nf_auth_verify(SECRET, strlen(SECRET), token, now, kind, NULL, &err);
    /* A refusal always explains itself and never quotes the secret. */
    if (v != NF_AUTH_TOKEN_OK) {
        assert_true(err.msg[0] != '\0');
        assert_null(strstr(err.msg, SECRET));
    }
    return v;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sha256_hex(const char *s, char out[65], bool upper)
{
    unsigned char d[32];
    SHA256((const unsigned char *)s, strlen(s), d);
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, upper ? "%02X" : "%02x", d[i]);
}

/* ---- users ----------------------------------------------------------------------------- */

static void
test_bcrypt_users(void **state)
{
    (void)state;
    nf_auth *a = make_auth("{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":{"
                           "\"alice\":\"" UU_HASH "\",\"bob\":\"" EMPTYISH_HASH "\"}}}");
    nf_err err = {0};
    assert_int_equal(nf_auth_check_password(a, "alice", "U*U", &err), NF_OK);
    assert_int_equal(nf_auth_check_password(a, "alice", "U*V", &err), NF_EINVAL);
    assert_string_equal(err.msg, "invalid user name or password");
    char unknown_msg[NF_ERR_MSG_MAX];
    assert_int_equal(nf_auth_check_password(a, "mallory", "U*U", &err), NF_EINVAL);
    snprintf(unknown_msg, sizeof(unknown_msg), "%s", err.msg);
    assert_string_equal(unknown_msg, "invalid user name or password");
    /* bob's hash is of the empty password: empty passwords are refused before bcrypt. */
    assert_int_equal(nf_auth_check_password(a, "bob", "", &err), NF_EINVAL);
    assert_int_equal(nf_auth_check_password(a, "alice", NULL, &err), NF_EINVAL);
    assert_int_equal(nf_auth_check_password(a, "", "U*U", &err), NF_EINVAL);
    assert_int_equal(nf_auth_check_password(a, "al\nice", "U*U", &err), NF_EINVAL);
    char *big = malloc(NF_AUTH_PASSWORD_MAX + 2);
    assert_non_null(big);
    memset(big, 'x', NF_AUTH_PASSWORD_MAX + 1);
    big[NF_AUTH_PASSWORD_MAX + 1] = '\0';
    assert_int_equal(nf_auth_check_password(a, "alice", big, &err), NF_EINVAL);
    free(big);
    assert_true(nf_auth_user_exists(a, "alice"));
    assert_false(nf_auth_user_exists(a, "mallory"));
    assert_false(nf_auth_user_exists(a, NULL));
    nf_auth_destroy(a);
    nf_auth_destroy(NULL);
}

/* An unknown user costs a bcrypt like a known one. At cost 10 a bcrypt is ~50 ms and a miss
 * without one would be microseconds, so a factor of 4 in either direction is a safe bound on
 * a loaded machine; the best of three runs removes scheduling noise. */
static void
test_unknown_user_same_work(void **state)
{
    (void)state;
    char h[NF_AUTH_BCRYPT_LEN + 1];
    nf_err err = {0};
    assert_int_equal(nf_auth_hash_password("right horse", 10, h, &err), NF_OK);
    assert_memory_equal(h, "$2b$10$", 7);
    char cfg[512];
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":{\"carol\":\"%s\"}}}", h);
    nf_auth *a = make_auth(cfg);
    double known = 1e9, unknown = 1e9;
    for (int i = 0; i < 3; i++) {
        double t0 = now_s();
        assert_int_equal(nf_auth_check_password(a, "carol", "wrong horse", &err), NF_EINVAL);
        double t1 = now_s();
        assert_int_equal(nf_auth_check_password(a, "dave", "wrong horse", &err), NF_EINVAL);
        double t2 = now_s();
        known = t1 - t0 < known ? t1 - t0 : known;
        unknown = t2 - t1 < unknown ? t2 - t1 : unknown;
    }
    assert_int_equal(nf_auth_check_password(a, "carol", "right horse", &err), NF_OK);
    assert_true(unknown > known / 4 && unknown < known * 4);
    assert_true(unknown > 0.005); /* a real bcrypt ran, not a short cut */
    nf_auth_destroy(a);
}

/* A hash made by the authtool binary is accepted in core.json and verifies. */
static void
test_authtool_hash(void **state)
{
    (void)state;
    FILE *p = popen(AUTHTOOL_PATH " hash 'S3cret pass' 4", "r");
    assert_non_null(p);
    char h[128] = "";
    assert_non_null(fgets(h, sizeof(h), p));
    assert_int_equal(pclose(p), 0);
    h[strcspn(h, "\n")] = '\0';
    assert_int_equal(strlen(h), NF_AUTH_BCRYPT_LEN);
    assert_memory_equal(h, "$2b$04$", 7);
    char cfg[512];
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":{\"ops\":\"%s\"}}}", h);
    nf_auth *a = make_auth(cfg);
    nf_err err = {0};
    assert_int_equal(nf_auth_check_password(a, "ops", "S3cret pass", &err), NF_OK);
    assert_int_equal(nf_auth_check_password(a, "ops", "S3cret pas", &err), NF_EINVAL);
    nf_auth_destroy(a);

    /* authtool token makes what the library verifies. */
    p = popen(AUTHTOOL_PATH " token '" SECRET "' ops refresh 600 1800000000", "r");
    assert_non_null(p);
    char tok[1024] = "";
    assert_non_null(fgets(tok, sizeof(tok), p));
    assert_int_equal(pclose(p), 0);
    tok[strcspn(tok, "\n")] = '\0';
    nf_auth_claims c;
    assert_int_equal(nf_auth_verify(SECRET, strlen(SECRET), tok, 1800000001, NF_AUTH_REFRESH, &c,
                                    &err),
                     NF_AUTH_TOKEN_OK);
    assert_string_equal(c.sub, "ops");
    assert_int_equal(c.exp, 1800000600);
}

/* ---- JWT ------------------------------------------------------------------------------- */

static void
test_jwt_round_trip(void **state)
{
    (void)state;
    nf_err err = {0};
    char *t = NULL;
    const int64_t now = 1795000000;
    assert_int_equal(nf_auth_issue(SECRET, strlen(SECRET), "admin", NF_AUTH_ACCESS, now, 3600, &t,
                                   &err),
                     NF_OK);
    assert_memory_equal(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37);
    nf_auth_claims c;
    memset(&c, 0x55, sizeof(c));
    assert_int_equal(nf_auth_verify(SECRET, strlen(SECRET), t, now + 10, NF_AUTH_ACCESS, &c, &err),
                     NF_AUTH_TOKEN_OK);
    assert_string_equal(c.sub, "admin");
    assert_int_equal(c.kind, NF_AUTH_ACCESS);
    assert_int_equal(c.iat, now);
    assert_int_equal(c.exp, now + 3600);
    assert_int_equal(strlen(c.jti), 32);
    assert_int_equal(strspn(c.jti, "0123456789abcdef"), 32);
    /* Every token gets its own jti. */
    char *t2 = NULL;
    nf_auth_claims c2;
    assert_int_equal(nf_auth_issue(SECRET, strlen(SECRET), "admin", NF_AUTH_ACCESS, now, 3600,
                                   &t2, &err),
                     NF_OK);
    assert_int_equal(nf_auth_verify(SECRET, strlen(SECRET), t2, now, NF_AUTH_ACCESS, &c2, &err),
                     NF_AUTH_TOKEN_OK);
    assert_string_not_equal(c.jti, c2.jti);
    /* Exactly at exp it is over; a second before it is not. */
    assert_int_equal(verify_at(t, now + 3599, NF_AUTH_ACCESS), NF_AUTH_TOKEN_OK);
    assert_int_equal(verify_at(t, now + 3600, NF_AUTH_ACCESS), NF_AUTH_TOKEN_EXPIRED);
    /* Another secret: bad signature. */
    const char *other = "another-secret-0123456789-abcdefghijklmnop";
    assert_int_equal(nf_auth_verify(other, strlen(other), t, now, NF_AUTH_ACCESS, NULL, &err),
                     NF_AUTH_TOKEN_BAD_SIGNATURE);
    free(t);
    free(t2);
    /* Bad arguments to issue. */
    assert_int_equal(nf_auth_issue(SECRET, strlen(SECRET), "", NF_AUTH_ACCESS, now, 60, &t, &err),
                     NF_EINVAL);
    assert_int_equal(nf_auth_issue(SECRET, 0, "a", NF_AUTH_ACCESS, now, 60, &t, &err), NF_EINVAL);
    assert_int_equal(nf_auth_issue(SECRET, strlen(SECRET), "a", NF_AUTH_ACCESS, now, 0, &t, &err),
                     NF_EINVAL);
}

/* A token made by an independent HS256 implementation (Python hmac + base64), header keys
 * in the other order and an extra claim. */
static void
test_jwt_interop(void **state)
{
    (void)state;
    const char *secret = "interop-Secret-0123456789abcdefghijKLMN";
    const char *tok =
        "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIj"
        "oxNzAwMDAzNjAwLCJ0eXAiOiJhY2Nlc3MiLCJqdGkiOiIwMTIzNDU2Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZi"
        "IsImV4dHJhIjoiaWdub3JlZCJ9.ZEtlGvj7Q19Sh_s0-tBuxXDvRz8Tmn1uyh7t9-8kRMw";
    nf_err err = {0};
    nf_auth_claims c;
    assert_int_equal(nf_auth_verify(secret, strlen(secret), tok, 1700000100, NF_AUTH_ACCESS, &c,
                                    &err),
                     NF_AUTH_TOKEN_OK);
    assert_string_equal(c.sub, "alice");
    assert_int_equal(c.exp, 1700003600);
    assert_string_equal(c.jti, "0123456789abcdef0123456789abcdef");
    assert_int_equal(nf_auth_verify(secret, strlen(secret), tok, 1700003600, NF_AUTH_ACCESS, &c,
                                    &err),
                     NF_AUTH_TOKEN_EXPIRED);
    assert_int_equal(nf_auth_verify(secret, strlen(secret) - 1, tok, 1700000100, NF_AUTH_ACCESS,
                                    &c, &err),
                     NF_AUTH_TOKEN_BAD_SIGNATURE);
}

static void
test_jwt_tampered(void **state)
{
    (void)state;
    nf_err err = {0};
    char *t = NULL;
    const int64_t now = 1795000000;
    assert_int_equal(nf_auth_issue(SECRET, strlen(SECRET), "guest", NF_AUTH_ACCESS, now, 3600, &t,
                                   &err),
                     NF_OK);
    char *dot1 = strchr(t, '.'), *dot2 = strrchr(t, '.');
    size_t n = strlen(t);
    /* Every single-character change anywhere is refused. */
    char *m = strdup(t);
    assert_non_null(m);
    for (size_t i = 0; i < n; i++) {
        if (t[i] == '.')
            continue;
        for (const char *r = "AQgw_-"; *r; r++) {
            if (*r == t[i])
                continue;
            m[i] = *r;
            nf_auth_verdict v = verify_at(m, now, NF_AUTH_ACCESS);
            assert_int_not_equal(v, NF_AUTH_TOKEN_OK);
            m[i] = t[i];
        }
    }
    free(m);
    /* Payload swapped for another user's, signature kept: bad signature. */
    char forged[2048];
    char payload[512], enc[1024];
    snprintf(payload, sizeof(payload),
             "{\"sub\":\"admin\",\"iat\":%lld,\"exp\":%lld,\"typ\":\"access\"}", (long long)now,
             (long long)now + 3600);
    nf_b64url_encode(payload, strlen(payload), enc, sizeof(enc));
    snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(dot1 - t), t, enc, dot2);
    assert_int_equal(verify_at(forged, now, NF_AUTH_ACCESS), NF_AUTH_TOKEN_BAD_SIGNATURE);
    /* Header changed (still HS256): bad signature. */
    const char *h2 = "{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"x\"}";
    nf_b64url_encode(h2, strlen(h2), enc, sizeof(enc));
    snprintf(forged, sizeof(forged), "%s%s", enc, dot1);
    assert_int_equal(verify_at(forged, now, NF_AUTH_ACCESS), NF_AUTH_TOKEN_BAD_SIGNATURE);
    /* Signature missing, truncated, doubled. */
    snprintf(forged, sizeof(forged), "%.*s.", (int)(dot2 - t), t);
    assert_int_equal(verify_at(forged, now, NF_AUTH_ACCESS), NF_AUTH_TOKEN_BAD_SIGNATURE);
    snprintf(forged, sizeof(forged), "%.*s", (int)(n - 4), t); /* 29 bytes or not canonical */
    assert_int_not_equal(verify_at(forged, now, NF_AUTH_ACCESS), NF_AUTH_TOKEN_OK);
    snprintf(forged, sizeof(forged), "%.*s", (int)(n - 3), t); /* 30 bytes, canonical */
    assert_int_equal(verify_at(forged, now, NF_AUTH_ACCESS), NF_AUTH_TOKEN_BAD_SIGNATURE);
    snprintf(forged, sizeof(forged), "%s%s", t, dot2 + 1);
    assert_int_not_equal(verify_at(forged, now, NF_AUTH_ACCESS), NF_AUTH_TOKEN_OK);
    /* Non-canonical last character of the signature (43 chars: 2 spare bits): the same bytes
     * spelled differently are refused. */
    strcpy(forged, t);
    char *last = forged + n - 1;
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    int v = (int)(strchr(alpha, *last) - alpha);
    *last = alpha[v | 1];
    assert_int_equal(verify_at(forged, now, NF_AUTH_ACCESS), NF_AUTH_TOKEN_MALFORMED);
    free(t);
}

static void
test_jwt_alg(void **state)
{
    (void)state;
    const char *claims = "{\"sub\":\"admin\",\"iat\":1795000000,\"exp\":1795003600,"
                         "\"typ\":\"access\"}";
    const char *bad_headers[] = {
        "{\"alg\":\"none\",\"typ\":\"JWT\"}",   "{\"alg\":\"None\"}",
        "{\"alg\":\"HS512\",\"typ\":\"JWT\"}",  "{\"alg\":\"RS256\"}",
        "{\"alg\":\"hs256\"}",                  "{\"typ\":\"JWT\"}",
        "{\"alg\":null}",                       "{\"alg\":[\"HS256\"]}",
        "{\"alg\":\"HS256\",\"crit\":[\"b64\"]}", "{\"alg\":\"HS256 \"}",
    };
    for (size_t i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
        char *t = sign(SECRET, bad_headers[i], claims);
        assert_int_equal(verify_at(t, 1795000001, NF_AUTH_ACCESS), NF_AUTH_TOKEN_BAD_ALG);
        /* The unsigned "alg":"none" form. */
        *(strrchr(t, '.') + 1) = '\0';
        assert_int_equal(verify_at(t, 1795000001, NF_AUTH_ACCESS), NF_AUTH_TOKEN_BAD_ALG);
        free(t);
    }
    /* A minimal header with only alg is fine, typ other than JWT is not. */
    char *t = sign(SECRET, "{\"alg\":\"HS256\"}", claims);
    assert_int_equal(verify_at(t, 1795000001, NF_AUTH_ACCESS), NF_AUTH_TOKEN_OK);
    free(t);
    t = sign(SECRET, "{\"alg\":\"HS256\",\"typ\":\"JWE\"}", claims);
    assert_int_equal(verify_at(t, 1795000001, NF_AUTH_ACCESS), NF_AUTH_TOKEN_MALFORMED);
    free(t);
}

static void
test_jwt_times_and_kinds(void **state)
{
    (void)state;
    nf_err err = {0};
    char *acc = NULL, *ref = NULL;
    const int64_t now = 1795000000;
    assert_int_equal(nf_auth_issue(SECRET, strlen(SECRET), "u", NF_AUTH_ACCESS, now, 600, &acc,
                                   &err),
                     NF_OK);
    assert_int_equal(nf_auth_issue(SECRET, strlen(SECRET), "u", NF_AUTH_REFRESH, now, 600, &ref,
                                   &err),
                     NF_OK);
    assert_int_equal(verify_at(ref, now, NF_AUTH_ACCESS), NF_AUTH_TOKEN_WRONG_KIND);
    assert_int_equal(verify_at(acc, now, NF_AUTH_REFRESH), NF_AUTH_TOKEN_WRONG_KIND);
    assert_int_equal(verify_at(ref, now, NF_AUTH_REFRESH), NF_AUTH_TOKEN_OK);
    /* Issued in the future: within the skew fine, beyond it not yet valid. */
    assert_int_equal(verify_at(acc, now - NF_AUTH_CLOCK_SKEW_S, NF_AUTH_ACCESS),
                     NF_AUTH_TOKEN_OK);
    assert_int_equal(verify_at(acc, now - NF_AUTH_CLOCK_SKEW_S - 1, NF_AUTH_ACCESS),
                     NF_AUTH_TOKEN_NOT_YET_VALID);
    assert_int_equal(verify_at(acc, now + 600, NF_AUTH_ACCESS), NF_AUTH_TOKEN_EXPIRED);
    free(acc);
    free(ref);
    /* nbf in the future. */
    char *t = sign(SECRET, "{\"alg\":\"HS256\"}",
                   "{\"sub\":\"u\",\"iat\":1795000000,\"nbf\":1795000100,\"exp\":1795003600,"
                   "\"typ\":\"access\"}");
    assert_int_equal(verify_at(t, 1795000000, NF_AUTH_ACCESS), NF_AUTH_TOKEN_NOT_YET_VALID);
    assert_int_equal(verify_at(t, 1795000070, NF_AUTH_ACCESS), NF_AUTH_TOKEN_OK);
    free(t);
}

static void
test_jwt_garbage(void **state)
{
    (void)state;
    const char *junk[] = {"", ".", "..", "...", "a", "a.b", "a.b.c", "a.b.c.d",
                          "eyJhbGciOiJIUzI1NiJ9..sig", ".eyJ9.x", "e30.e30.e30",
                          "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA", "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA",
                          "W10.e30.AAAA" /* header [] */, "bnVsbA.e30.AAAA" /* header null */,
                          "eyJhbGciOiJIUzI1NiIsImFsZyI6IkhTMjU2In0.e30.AAAA" /* dup key */};
    for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
        nf_auth_verdict v = verify_at(junk[i], 1795000000, NF_AUTH_ACCESS);
        if (v != NF_AUTH_TOKEN_MALFORMED && v != NF_AUTH_TOKEN_BAD_SIGNATURE &&
            v != NF_AUTH_TOKEN_BAD_ALG)
            fail_msg("junk %zu (%s) gave %s", i, junk[i], nf_auth_verdict_name(v));
    }
    assert_int_equal(verify_at(NULL, 1795000000, NF_AUTH_ACCESS), NF_AUTH_TOKEN_MALFORMED);
    /* Huge: refused on size without reading past the bound. */
    size_t big = 1 << 20;
    char *h = malloc(big + 1);
    assert_non_null(h);
    memset(h, 'A', big);
    h[10] = '.';
    h[20] = '.';
    h[big] = '\0';
    nf_err err = {0};
    assert_int_equal(nf_auth_verify(SECRET, strlen(SECRET), h, 0, NF_AUTH_ACCESS, NULL, &err),
                     NF_AUTH_TOKEN_MALFORMED);
    assert_non_null(strstr(err.msg, "4096"));
    free(h);
    /* Random bytes of every length up to the bound never pass and never crash. */
    char *r = malloc(NF_AUTH_TOKEN_MAX + 1);
    assert_non_null(r);
    unsigned seed = 12345;
    for (size_t len = 1; len <= NF_AUTH_TOKEN_MAX; len += 37) {
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            r[i] = "ABCDEFGHabcdefgh0123-_.e3yJ"[(seed >> 16) % 27];
        }
        r[len] = '\0';
        assert_int_not_equal(verify_at(r, 1795000000, NF_AUTH_ACCESS), NF_AUTH_TOKEN_OK);
    }
    free(r);
    /* Well signed but bad claims: malformed. */
    const char *bad_claims[] = {
        "{\"iat\":1,\"exp\":1795003600,\"typ\":\"access\"}",
        "{\"sub\":\"\",\"iat\":1,\"exp\":1795003600,\"typ\":\"access\"}",
        "{\"sub\":\"u\",\"iat\":1,\"typ\":\"access\"}",
        "{\"sub\":\"u\",\"iat\":1,\"exp\":\"1795003600\",\"typ\":\"access\"}",
        "{\"sub\":\"u\",\"iat\":1,\"exp\":1.7e9,\"typ\":\"access\"}",
        "{\"sub\":\"u\",\"exp\":1795003600,\"typ\":\"access\"}",
        "{\"sub\":\"u\",\"iat\":1,\"exp\":1795003600}",
        "{\"sub\":\"u\",\"iat\":1,\"exp\":1795003600,\"typ\":\"id\"}",
        "{\"sub\":7,\"iat\":1,\"exp\":1795003600,\"typ\":\"access\"}",
        "{\"sub\":\"u\",\"iat\":1,\"exp\":1795003600,\"typ\":\"access\",\"jti\":5}",
        "{\"sub\":\"u\",\"sub\":\"admin\",\"iat\":1,\"exp\":1795003600,\"typ\":\"access\"}",
        "{\"sub\":\"a\\u0000b\",\"iat\":1,\"exp\":1795003600,\"typ\":\"access\"}",
        "[\"sub\"]",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad_claims) / sizeof(bad_claims[0]); i++) {
        char *t = sign(SECRET, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", bad_claims[i]);
        nf_auth_verdict v = verify_at(t, 1795000000, NF_AUTH_ACCESS);
        if (v != NF_AUTH_TOKEN_MALFORMED)
            fail_msg("claims %zu gave %s", i, nf_auth_verdict_name(v));
        free(t);
    }
    /* A user name of 65 bytes is refused, 64 accepted. */
    char claims[256];
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"%065d\",\"iat\":1,\"exp\":1795003600,\"typ\":\"access\"}", 0);
    char *t = sign(SECRET, "{\"alg\":\"HS256\"}", claims);
    assert_int_equal(verify_at(t, 1795000000, NF_AUTH_ACCESS), NF_AUTH_TOKEN_MALFORMED);
    free(t);
    snprintf(claims, sizeof(claims),
             "{\"sub\":\"%064d\",\"iat\":1,\"exp\":1795003600,\"typ\":\"access\"}", 0);
    t = sign(SECRET, "{\"alg\":\"HS256\"}", claims);
    assert_int_equal(verify_at(t, 1795000000, NF_AUTH_ACCESS), NF_AUTH_TOKEN_OK);
    free(t);
}

static void
test_b64url(void **state)
{
    (void)state;
    /* RFC 4648 §10 vectors (without padding). */
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    char out[64];
    uint8_t dec[64];
    size_t len;
    for (int i = 0; i < 7; i++) {
        assert_int_equal(nf_b64url_encode(plain[i], strlen(plain[i]), out, sizeof(out)),
                         strlen(enc[i]));
        assert_string_equal(out, enc[i]);
        assert_true(nf_b64url_decode(enc[i], strlen(enc[i]), dec, sizeof(dec), &len));
        assert_int_equal(len, strlen(plain[i]));
        assert_memory_equal(dec, plain[i], len);
    }
    /* The URL alphabet: 0xfb 0xff is "+/8=" in standard base64. */
    const uint8_t hi[] = {0xfb, 0xff};
    nf_b64url_encode(hi, 2, out, sizeof(out));
    assert_string_equal(out, "-_8");
    assert_true(nf_b64url_decode("-_8", 3, dec, sizeof(dec), &len));
    assert_int_equal(len, 2);
    assert_memory_equal(dec, hi, 2);
    /* Refused: standard alphabet, padding, 4k+1 lengths, non-zero spare bits, no room. */
    const char *bad[] = {"+/8", "Zg==", "Zg=", "Z", "Zm9vY", "Zh", "Zm9", "Zm9vYmF", " Zg",
                         "Z\0g"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (nf_b64url_decode(bad[i], i == 9 ? 3 : strlen(bad[i]), dec, sizeof(dec), &len))
            fail_msg("decoded bad input %zu", i);
    assert_false(nf_b64url_decode("Zm9vYmFy", 8, dec, 5, &len));
    assert_true(nf_b64url_decode("Zm9vYmFy", 8, dec, 6, &len));
    assert_int_equal(nf_b64url_encode("foobar", 6, out, 8), 0);
    assert_int_equal(nf_b64url_encode("foobar", 6, out, 9), 8);
    assert_int_equal(nf_b64url_encode("", 0, out, 0), 0);
}

/* ---- API keys ------------------------------------------------------------------------- */

static void
test_api_keys(void **state)
{
    (void)state;
    char h1[65], h2[65], cfg[512];
    sha256_hex("key-one-0123456789", h1, false);
    sha256_hex("key-two-0123456789", h2, true);
    snprintf(cfg, sizeof(cfg),
             "{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"api_keys\":{\"grafana\":\"%s\","
             "\"ci\":\"%s\"}}}",
             h1, h2);
    nf_auth *a = make_auth(cfg);
    nf_err err = {0};
    const char *name = NULL;
    assert_int_equal(nf_auth_check_api_key(a, "key-one-0123456789", &name, &err), NF_OK);
    assert_string_equal(name, "grafana");
    assert_int_equal(nf_auth_check_api_key(a, "key-two-0123456789", &name, &err), NF_OK);
    assert_string_equal(name, "ci");
    name = NULL;
    assert_int_equal(nf_auth_check_api_key(a, "key-one-012345678", &name, &err), NF_EINVAL);
    assert_null(name);
    assert_string_equal(err.msg, "invalid API key");
    assert_int_equal(nf_auth_check_api_key(a, h1, &name, &err), NF_EINVAL); /* the hash itself */
    assert_int_equal(nf_auth_check_api_key(a, "", &name, &err), NF_EINVAL);
    assert_int_equal(nf_auth_check_api_key(a, NULL, &name, &err), NF_EINVAL);
    char big[NF_AUTH_API_KEY_MAX + 2];
    memset(big, 'k', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(nf_auth_check_api_key(a, big, &name, &err), NF_EINVAL);
    /* Without users nobody logs in with a password. */
    assert_int_equal(nf_auth_check_password(a, "grafana", "key-one-0123456789", &err), NF_EINVAL);
    nf_auth_destroy(a);
}

/* ---- login limiter -------------------------------------------------------------------- */

static void
test_limiter_basic(void **state)
{
    (void)state;
    nf_auth_limiter *l = NULL;
    nf_err err = {0};
    assert_int_equal(nf_auth_limiter_create(5, 60, 64, &l, &err), NF_OK);
    uint32_t ra = 0;
    const int64_t t = 1000;
    for (int i = 0; i < 4; i++) {
        assert_true(nf_auth_login_allowed(l, "10.0.0.1", "admin", t + i, &ra));
        nf_auth_login_failed(l, "10.0.0.1", "admin", t + i);
    }
    assert_true(nf_auth_login_allowed(l, "10.0.0.1", "admin", t + 4, &ra));
    nf_auth_login_failed(l, "10.0.0.1", "admin", t + 4); /* the fifth */
    assert_false(nf_auth_login_allowed(l, "10.0.0.1", "admin", t + 4, &ra));
    assert_int_equal(ra, 60);
    /* Blocked by address whatever the user, and by user whatever the address. */
    assert_false(nf_auth_login_allowed(l, "10.0.0.1", "other", t + 10, &ra));
    assert_int_equal(ra, 54);
    assert_false(nf_auth_login_allowed(l, "10.9.9.9", "admin", t + 63, &ra));
    assert_int_equal(ra, 1);
    /* Others are independent. */
    assert_true(nf_auth_login_allowed(l, "10.0.0.2", "other", t + 10, &ra));
    /* The block ends one window after the last failure. */
    assert_true(nf_auth_login_allowed(l, "10.0.0.1", "admin", t + 64, &ra));
    /* A new window starts fresh: four more failures do not block. */
    for (int i = 0; i < 4; i++)
        nf_auth_login_failed(l, "10.0.0.1", "admin", t + 70 + i);
    assert_true(nf_auth_login_allowed(l, "10.0.0.1", "admin", t + 74, &ra));
    /* Failures spread out more than a window apart never block. */
    for (int i = 0; i < 20; i++)
        nf_auth_login_failed(l, "10.0.0.3", NULL, t + 61 * i);
    assert_true(nf_auth_login_allowed(l, "10.0.0.3", NULL, t + 61 * 20, &ra));
    /* Spraying users from one address: blocked by address. */
    char u[16];
    for (int i = 0; i < 5; i++) {
        snprintf(u, sizeof(u), "user%d", i);
        nf_auth_login_failed(l, "10.0.0.4", u, t);
    }
    assert_false(nf_auth_login_allowed(l, "10.0.0.4", "user9", t, &ra));
    assert_true(nf_auth_login_allowed(l, "10.0.0.5", "user0", t, &ra));
    /* Success forgets the user's failures, not the address's. */
    for (int i = 0; i < 4; i++)
        nf_auth_login_failed(l, "10.0.0.6", "eve", t);
    nf_auth_login_succeeded(l, "10.0.0.6", "eve", t);
    nf_auth_login_failed(l, "10.0.0.7", "eve", t);
    assert_true(nf_auth_login_allowed(l, "10.0.0.7", "eve", t, &ra));
    nf_auth_login_failed(l, "10.0.0.6", "frank", t); /* address's fifth */
    assert_false(nf_auth_login_allowed(l, "10.0.0.6", "frank2", t, &ra));
    /* Names longer than 64 bytes are cut, so they still count (and collide). */
    char longname[200];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    for (int i = 0; i < 5; i++)
        nf_auth_login_failed(l, NULL, longname, t);
    longname[100] = '\0';
    assert_false(nf_auth_login_allowed(l, "", longname, t, &ra));
    nf_auth_limiter_destroy(l);
    nf_auth_limiter_destroy(NULL);
    assert_int_equal(nf_auth_limiter_create(0, 60, 64, &l, &err), NF_EINVAL);
    assert_int_equal(nf_auth_limiter_create(5, 60, 1, &l, &err), NF_EINVAL);
}

static void
test_limiter_eviction(void **state)
{
    (void)state;
    nf_auth_limiter *l = NULL;
    nf_err err = {0};
    assert_int_equal(nf_auth_limiter_create(5, 60, 8, &l, &err), NF_OK);
    const int64_t t = 5000;
    for (int i = 0; i < 5; i++)
        nf_auth_login_failed(l, "192.0.2.66", "root", t);
    assert_int_equal(nf_auth_limiter_count(l), 2);
    /* A flood of new addresses fills the table but never grows it, and does not push out
     * the blocked keys while unblocked ones can go instead. */
    char a[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(a, sizeof(a), "198.51.100.%d", i);
        nf_auth_login_failed(l, a, NULL, t + 1);
        assert_true(nf_auth_limiter_count(l) <= 8);
    }
    assert_int_equal(nf_auth_limiter_count(l), 8);
    uint32_t ra = 0;
    assert_false(nf_auth_login_allowed(l, "192.0.2.66", NULL, t + 2, &ra));
    assert_false(nf_auth_login_allowed(l, NULL, "root", t + 2, &ra));
    /* The most recent address is still counted. */
    for (int i = 0; i < 4; i++)
        nf_auth_login_failed(l, "198.51.100.999", NULL, t + 1);
    assert_false(nf_auth_login_allowed(l, "198.51.100.999", NULL, t + 2, &ra));
    /* When everything is blocked, the block ending first gives way. */
    for (int k = 0; k < 8; k++) {
        snprintf(a, sizeof(a), "203.0.113.%d", k);
        for (int i = 0; i < 5; i++)
            nf_auth_login_failed(l, a, NULL, t + 10 + k);
    }
    assert_int_equal(nf_auth_limiter_count(l), 8);
    assert_true(nf_auth_login_allowed(l, "192.0.2.66", NULL, t + 20, &ra));  /* evicted */
    assert_false(nf_auth_login_allowed(l, "203.0.113.7", NULL, t + 20, &ra)); /* kept */
    nf_auth_limiter_destroy(l);

    /* A key one failure short of its block outlives a flood of one-off keys. */
    assert_int_equal(nf_auth_limiter_create(5, 60, 4, &l, &err), NF_OK);
    for (int i = 0; i < 4; i++)
        nf_auth_login_failed(l, "192.0.2.1", NULL, t);
    for (int i = 0; i < 100; i++) {
        snprintf(a, sizeof(a), "198.51.100.%d", i);
        nf_auth_login_failed(l, a, NULL, t + 1);
    }
    nf_auth_login_failed(l, "192.0.2.1", NULL, t + 2);
    assert_false(nf_auth_login_allowed(l, "192.0.2.1", NULL, t + 2, &ra));
    assert_int_equal(ra, 60);
    nf_auth_limiter_destroy(l);
}

typedef struct worker_arg {
    nf_auth_limiter *l;
    pthread_barrier_t *flood_done;
    int id;
    bool blocked_at_end;
} worker_arg;

static void *
worker(void *p)
{
    worker_arg *w = p;
    char a[48], u[48];
    for (int i = 0; i < 2000; i++) {
        snprintf(a, sizeof(a), "10.%d.%d.%d", w->id, i / 250, i % 250);
        snprintf(u, sizeof(u), "u%d-%d", w->id, i % 97);
        uint32_t ra;
        if (nf_auth_login_allowed(w->l, a, NULL, 100, &ra))
            nf_auth_login_failed(w->l, a, NULL, 100);
        if (i % 3 == 0)
            nf_auth_login_succeeded(w->l, a, u, 100);
    }
    /* After every flood: a key with five failures in a row is blocked, even while the other
     * threads add theirs (their one-off keys give way first). */
    pthread_barrier_wait(w->flood_done);
    snprintf(a, sizeof(a), "final-%d", w->id);
    for (int i = 0; i < 5; i++)
        nf_auth_login_failed(w->l, a, NULL, 100);
    uint32_t ra = 0;
    w->blocked_at_end = !nf_auth_login_allowed(w->l, a, NULL, 100, &ra) && ra == 60;
    return NULL;
}

static void
test_limiter_threads(void **state)
{
    (void)state;
    nf_auth_limiter *l = NULL;
    nf_err err = {0};
    assert_int_equal(nf_auth_limiter_create(5, 60, 64, &l, &err), NF_OK);
    pthread_t th[4];
    worker_arg w[4];
    pthread_barrier_t b;
    assert_int_equal(pthread_barrier_init(&b, NULL, 4), 0);
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_arg){l, &b, i, false};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    pthread_barrier_destroy(&b);
    for (int i = 0; i < 4; i++)
        assert_true(w[i].blocked_at_end);
    assert_int_equal(nf_auth_limiter_count(l), 64);
    nf_auth_limiter_destroy(l);
}

/* ---- config --------------------------------------------------------------------------- */

static void
expect_config_error(const char *text, const char *key)
{
    core_cfg c;
    nf_err err = {0};
    nf_status st = load(text, &c, &err);
    if (st == NF_OK) {
        nf_cfg_free(core_table, &c);
        fail_msg("accepted: %s", text);
    }
    assert_int_equal(st, NF_EINVAL);
    char want[128];
    snprintf(want, sizeof(want), "key '%s'", key);
    if (strstr(err.msg, want) == NULL)
        fail_msg("error \"%s\" does not name %s", err.msg, want);
}

static void
test_config(void **state)
{
    (void)state;
    core_cfg c;
    nf_err err = {0};
    assert_int_equal(load("{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":{\"admin\":"
                          "\"" UU_HASH "\"}}}",
                          &c, &err),
                     NF_OK);
    assert_true(c.auth.enabled);
    assert_int_equal(c.auth.jwt_expiration_ms, 24 * 3600 * 1000ull);
    assert_int_equal(c.auth.refresh_expiration_ms, 7 * 24 * 3600 * 1000ull);
    assert_int_equal(c.auth.login_max_failures, 5);
    assert_int_equal(c.auth.login_window_ms, 60000);
    assert_int_equal(c.auth.login_table_size, 4096);
    nf_auth *a = NULL;
    assert_int_equal(nf_auth_create(&c.auth, "core.json", "auth", &a, &err), NF_OK);
    nf_auth_limiter *l = NULL;
    assert_int_equal(nf_auth_limiter_create_for(&c.auth, &l, &err), NF_OK);
    nf_cfg_free(core_table, &c); /* the authenticator keeps its own copies */
    char *t = NULL;
    int64_t exp = 0;
    assert_int_equal(nf_auth_issue_for(a, "admin", NF_AUTH_REFRESH, 1000, &t, &exp, &err), NF_OK);
    assert_int_equal(exp, 1000 + 7 * 86400);
    nf_auth_claims cl;
    assert_int_equal(nf_auth_verify_for(a, t, 1001, NF_AUTH_REFRESH, &cl, &err),
                     NF_AUTH_TOKEN_OK);
    assert_string_equal(cl.sub, "admin");
    free(t);
    assert_int_equal(nf_auth_issue_for(a, "admin", NF_AUTH_ACCESS, 1000, &t, &exp, &err), NF_OK);
    assert_int_equal(exp, 1000 + 86400);
    assert_int_equal(nf_auth_verify_for(a, t, 1000 + 86400, NF_AUTH_ACCESS, &cl, &err),
                     NF_AUTH_TOKEN_EXPIRED);
    free(t);
    nf_auth_limiter_destroy(l);
    nf_auth_destroy(a);

    /* Disabled: no secret needed, but no authenticator either. */
    assert_int_equal(load("{\"auth\":{\"enabled\":false}}", &c, &err), NF_OK);
    assert_int_equal(nf_auth_create(&c.auth, "core.json", "auth", &a, &err), NF_EINVAL);
    nf_cfg_free(core_table, &c);
    /* No auth section at all: enabled by default, so the secret is missing. */
    expect_config_error("{}", "auth.jwt_secret");

    const char *users = ",\"local_users\":{\"admin\":\"" UU_HASH "\"}";
    char text[1024];
    const char *weak[] = {"short-but-random-Xy7", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                          "abcabcabcabcabcabcabcabcabcabcabcabcabc",
                          "CHANGEME-0123456789-abcdefghijklmnopqrstuv",
                          "your-secret-key-0123456789-abcdefghijklm"};
    for (size_t i = 0; i < sizeof(weak) / sizeof(weak[0]); i++) {
        snprintf(text, sizeof(text), "{\"auth\":{\"jwt_secret\":\"%s\"%s}}", weak[i], users);
        expect_config_error(text, "auth.jwt_secret");
        assert_int_equal(load(text, &c, &err), NF_EINVAL);
        assert_null(strstr(err.msg, weak[i])); /* never quoted */
    }
    expect_config_error("{\"auth\":{\"jwt_secret\":\"" SECRET "\"}}", "auth.local_users");
    expect_config_error("{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":[]}}",
                        "auth.local_users");
    expect_config_error("{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":{\"bob\":"
                        "\"hunter2\"}}}",
                        "auth.local_users.bob");
    expect_config_error("{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":{\"bob\":"
                        "\"$1$abcdefgh$abcdefghijklmnopqrstuv\"}}}",
                        "auth.local_users.bob");
    expect_config_error("{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":{\"bob\":"
                        "\"$2b$03$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW\"}}}",
                        "auth.local_users.bob");
    expect_config_error("{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":{\"bob\":5}}}",
                        "auth.local_users.bob");
    expect_config_error("{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"local_users\":{\"\":"
                        "\"" UU_HASH "\"}}}",
                        "auth.local_users");
    expect_config_error("{\"auth\":{\"jwt_secret\":\"" SECRET "\",\"api_keys\":{\"ci\":"
                        "\"plaintext-key\"}}}",
                        "auth.api_keys.ci");
    snprintf(text, sizeof(text),
             "{\"auth\":{\"jwt_secret\":\"" SECRET "\"%s,\"jwt_expiration\":\"48h\","
             "\"refresh_expiration\":\"24h\"}}",
             users);
    expect_config_error(text, "auth.refresh_expiration");
    snprintf(text, sizeof(text), "{\"auth\":{\"jwt_secret\":\"" SECRET "\"%s,"
             "\"jwt_expiration\":\"1s\"}}", users);
    expect_config_error(text, "auth.jwt_expiration");
    snprintf(text, sizeof(text), "{\"auth\":{\"jwt_secret\":\"" SECRET "\"%s,"
             "\"login_table_size\":1}}", users);
    expect_config_error(text, "auth.login_table_size");
    /* Disabled still checks the shapes it is given. */
    expect_config_error("{\"auth\":{\"enabled\":false,\"local_users\":{\"x\":\"y\"}}}",
                        "auth.local_users.x");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bcrypt_users),
        cmocka_unit_test(test_unknown_user_same_work),
        cmocka_unit_test(test_authtool_hash),
        cmocka_unit_test(test_jwt_round_trip),
        cmocka_unit_test(test_jwt_interop),
        cmocka_unit_test(test_jwt_tampered),
        cmocka_unit_test(test_jwt_alg),
        cmocka_unit_test(test_jwt_times_and_kinds),
        cmocka_unit_test(test_jwt_garbage),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_api_keys),
        cmocka_unit_test(test_limiter_basic),
        cmocka_unit_test(test_limiter_eviction),
        cmocka_unit_test(test_limiter_threads),
        cmocka_unit_test(test_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

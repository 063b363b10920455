/* authtool — command-line access to lib/auth for operators and tests.
 *
 *   authtool hash PASSWORD [COST]          bcrypt "$2b$" hash (cost 10) for auth.local_users
 *   authtool token SECRET USER [access|refresh] [LIFETIME_S] [NOW]
 *                                          an HS256 token (NOW defaults to the clock)
 *   authtool verify SECRET TOKEN [access|refresh] [NOW]
 *                                          prints the user, or the refusal (exit 1)
 *   authtool apikey                        a new random key and its SHA-256 (auth.api_keys)
 *   authtool apikey-hash KEY               the SHA-256 hex of an existing key
 *
 * PASSWORD, SECRET and KEY may be "-": the value is read from the first line of stdin, so it
 * does not appear in the process list. Exit status: 0 ok, 1 refused/failed, 2 usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "auth/auth.h"

static int
usage(void)
{
    fprintf(stderr, "usage: authtool hash PASSWORD [COST]\n"
                    "       authtool token SECRET USER [access|refresh] [LIFETIME_S] [NOW]\n"
                    "       authtool verify SECRET TOKEN [access|refresh] [NOW]\n"
                    "       authtool apikey\n"
                    "       authtool apikey-hash KEY\n");
    return 2;
}

/* arg itself, or for "-" the first line of stdin (into buf). NULL if stdin has nothing. */
static const char *
value(const char *arg, char *buf, size_t n)
{
    if (strcmp(arg, "-") != 0)
        return arg;
    if (fgets(buf, (int)n, stdin) == NULL)
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

static bool
parse_i64(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool
parse_kind(const char *s, nf_auth_kind *k)
{
    if (strcmp(s, "access") == 0)
        *k = NF_AUTH_ACCESS;
    else if (strcmp(s, "refresh") == 0)
        *k = NF_AUTH_REFRESH;
    else
        return false;
    return true;
}

static void
print_sha256_hex(const char *key)
{
    uint8_t d[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)key, strlen(key), d);
    for (size_t i = 0; i < sizeof(d); i++)
        printf("%02x", d[i]);
    printf("\n");
}

int
main(int argc, char **argv)
{
    static char buf[NF_AUTH_TOKEN_MAX + 2];
    nf_err err = {0};
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];
    if (strcmp(cmd, "hash") == 0 && (argc == 3 || argc == 4)) {
        long long cost = 10;
        const char *pw = value(argv[2], buf, sizeof(buf));
        if (pw == NULL || (argc == 4 && !parse_i64(argv[3], 4, 31, &cost)))
            return usage();
        char h[NF_AUTH_BCRYPT_LEN + 1];
        if (nf_auth_hash_password(pw, (unsigned)cost, h, &err) != NF_OK) {
            fprintf(stderr, "authtool: %s\n", err.msg);
            return 1;
        }
        printf("%s\n", h);
        return 0;
    }
    if (strcmp(cmd, "token") == 0 && argc >= 4 && argc <= 7) {
        nf_auth_kind kind = NF_AUTH_ACCESS;
        long long life = 86400, now = (long long)time(NULL);
        const char *secret = value(argv[2], buf, sizeof(buf));
        if (secret == NULL || (argc > 4 && !parse_kind(argv[4], &kind)) ||
            (argc > 5 && !parse_i64(argv[5], 1, 10LL * 366 * 86400, &life)) ||
            (argc > 6 && !parse_i64(argv[6], 0, 1LL << 40, &now)))
            return usage();
        char *tok = NULL;
        if (nf_auth_issue(secret, strlen(secret), argv[3], kind, now, life, &tok, &err) != NF_OK) {
            fprintf(stderr, "authtool: %s\n", err.msg);
            return 1;
        }
        printf("%s\n", tok);
        free(tok);
        return 0;
    }
    if (strcmp(cmd, "verify") == 0 && argc >= 4 && argc <= 6) {
        nf_auth_kind kind = NF_AUTH_ACCESS;
        long long now = (long long)time(NULL);
        const char *secret = value(argv[2], buf, sizeof(buf));
        if (secret == NULL || (argc > 4 && !parse_kind(argv[4], &kind)) ||
            (argc > 5 && !parse_i64(argv[5], 0, 1LL << 40, &now)))
            return usage();
        nf_auth_claims c;
        if (nf_auth_verify(secret, strlen(secret), argv[3], now, kind, &c, &err) !=
            NF_AUTH_TOKEN_OK) {
            fprintf(stderr, "authtool: %s\n", err.msg);
            return 1;
        }
        printf("%s exp=%lld\n", c.sub, (long long)c.exp);
        return 0;
    }
    if (strcmp(cmd, "apikey") == 0 && argc == 2) {
        uint8_t rnd[32];
        char key[64];
        if (RAND_bytes(rnd, sizeof(rnd)) != 1 ||
            nf_b64url_encode(rnd, sizeof(rnd), key, sizeof(key)) == 0) {
            fprintf(stderr, "authtool: no random bytes\n");
            return 1;
        }
        printf("%s ", key);
        print_sha256_hex(key);
        return 0;
    }
    if (strcmp(cmd, "apikey-hash") == 0 && argc == 3) {
        const char *key = value(argv[2], buf, sizeof(buf));
        if (key == NULL || key[0] == '\0')
            return usage();
        print_sha256_hex(key);
        return 0;
    }
    return usage();
}

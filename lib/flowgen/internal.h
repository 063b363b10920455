/* internal.h — flowgen's private structures, shared by its .c files only.
 *
 * Files:  flowgen.c  object, configuration, datagram assembly, sequence numbers, totals
 *         traffic.c  PRNG, host pools, the traffic model (one flow at a time)
 *         encode.c   templates and record encoders for v5, v9 and IPFIX
 *         frame.c    Ethernet/IP/UDP framing for pcap output
 *
 * Invariants:
 *  1. A template's rec_fixed is the sum of its fixed field lengths (>= 40 for every data
 *     template); max_rec is rec_fixed plus the largest encoding of its variable-length
 *     fields. record_write writes exactly record_len bytes, at most max_rec, and a v9/IPFIX
 *     datagram only takes another flow while two set headers, two paddings (3 each), the
 *     records so far and one more max_rec record fit.
 *  2. The generator's PRNG is advanced only while generating flows and building pools at
 *     creation, in a fixed order, so output depends on nothing but the configuration.
 */
#ifndef NFX_LIB_FLOWGEN_INTERNAL_H
#define NFX_LIB_FLOWGEN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flowgen.h"

/* ---- PRNG: xoshiro256** seeded through splitmix64 ---- */

typedef struct rng {
    uint64_t s[4];
} rng;

void rng_seed(rng *r, uint64_t seed);

static inline uint64_t
rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t
rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, n) (Lemire's multiply-shift; the bias for n << 2^32 is negligible and,
 * unlike rejection, costs exactly one draw, which keeps the stream easy to reason about). */
static inline uint32_t
rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Uniform in [0, 1). */
static inline double
rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- host pools and the traffic model ---- */

typedef struct host {
    uint8_t addr[16]; /* 16-byte form */
    uint32_t asn;     /* origin AS */
    uint8_t mask;     /* prefix length */
} host;

typedef struct pool {
    host *hosts; /* n hosts, in rank order (rank 0 most popular) */
    double *cdf; /* cumulative Zipf probabilities, cdf[n-1] == 1 */
    uint32_t n;
} pool;

typedef struct traffic {
    pool cli4, srv4, cli6, srv6;
} traffic;

/* Builds the pools from r. Returns false on allocation failure (t partly built: free it). */
bool traffic_init(traffic *t, rng *r);
void traffic_free(traffic *t);

/* A generated flow: the decoded form plus what the wire needs beyond it. */
typedef struct gen_flow {
    nf_flow f;       /* exactly as a correct decoder produces it (received_ms 0) */
    bool is_icmp;    /* f.dst_port holds ICMP type*256+code, src_port 0 */
    uint8_t ifname;  /* index into traffic_ifname() for IPFIX interfaceName */
    uint32_t app_id; /* value of the enterprise-specific element */
} gen_flow;

/* Generates one flow of the given family ending at or before end_ms. Fills every field of
 * out->f except exporter, domain, sampling_rate and flow_type. v5 clamps 4-byte AS numbers
 * to AS_TRANS (23456) as v5 exporters do. */
void traffic_flow(const traffic *t, rng *r, bool v6, bool v5, uint64_t end_ms, gen_flow *out);

/* Interface name for index i (i < TRAFFIC_IFNAMES); static storage. */
#define TRAFFIC_IFNAMES 8
const char *traffic_ifname(uint8_t i);
#define TRAFFIC_IFNAME_MAX 16 /* longest name in the table, bytes without NUL */

/* ---- templates and encoders ---- */

/* What a template field carries (the encoder's switch). */
typedef enum fkind {
    K_SRC4,
    K_DST4,
    K_NH4,
    K_SRC6,
    K_DST6,
    K_NH6,
    K_IN_IF,
    K_OUT_IF,
    K_PACKETS,
    K_BYTES,
    K_FIRST_UPTIME,
    K_LAST_UPTIME,
    K_FIRST_MS,
    K_LAST_MS,
    K_SRC_PORT,
    K_DST_PORT,
    K_ICMP,
    K_PROTO,
    K_TCP_FLAGS,
    K_TOS,
    K_SRC_MASK,
    K_DST_MASK,
    K_SRC_AS,
    K_DST_AS,
    K_SAMPLER_ID,
    K_APP_ID, /* enterprise-specific */
    K_IFNAME, /* variable-length string */
} fkind;

typedef struct tfield {
    uint16_t ie;  /* element id (without the enterprise bit) */
    uint16_t len; /* wire length; 0xFFFF = variable */
    uint32_t pen; /* enterprise number, 0 = IANA */
    uint8_t kind; /* fkind */
} tfield;

#define TMPL_MAX_FIELDS 24
#define FLOWGEN_PEN 32473u /* RFC 5612 documentation enterprise number */
#define FLOWGEN_VARLEN 0xFFFFu

typedef struct tmpl_def {
    uint16_t id;
    uint16_t nfields;
    uint32_t rec_fixed; /* fixed bytes of a record */
    uint32_t max_rec;   /* largest record */
    bool has_varlen;    /* carries the variable-length interfaceName */
    tfield f[TMPL_MAX_FIELDS];
} tmpl_def;

/* Template ids (distinct per protocol, >= 256). */
#define TMPL_ID_V4 256
#define TMPL_ID_V6 257
#define TMPL_ID_OPTIONS 258
#define SAMPLER_ID 1 /* the one sampler / selector every exporter announces */

/* Fills the data template for (version 9 or 10, family, sampled, varlen). */
void tmpl_build(tmpl_def *t, uint8_t version, bool v6, bool sampled, bool varlen);

/* Appends template records (id, count, specifiers) of t in version's format at p; returns
 * bytes written. */
size_t tmpl_write(const tmpl_def *t, uint8_t version, uint8_t *p);

/* Encodes one record of g with template t at p; returns bytes written (<= t->max_rec).
 * boot_ms is the exporter's boot time (uptime fields). */
size_t record_write(const tmpl_def *t, const gen_flow *g, uint64_t boot_ms, uint8_t *p);

/* Bytes record_write will write for g with template t. */
size_t record_len(const tmpl_def *t, const gen_flow *g);

/* v5: writes the 48-byte record. */
void v5_record_write(const gen_flow *g, uint64_t boot_ms, uint8_t *p);

/* Big-endian stores. */
static inline void
put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void
put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)(v >> 32));
    put32(p + 4, (uint32_t)v);
}

#endif

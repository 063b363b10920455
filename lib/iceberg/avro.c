/* avro.c — Avro object-container files written and read by us; libavro encodes and decodes
 * the values (see avro.h for why).
 *
 * Container layout (Avro 1.11 spec, "Object Container Files"):
 *   "Obj" 0x01 | header map<bytes> (avro.schema, avro.codec, user keys) | 16-byte sync |
 *   blocks: { long count, long size, size bytes of records (deflated), sync }*
 * Longs are zig-zag varints. Codec "deflate" is raw RFC 1951 (zlib window bits -15).
 *
 * Writer: records are encoded by libavro into one growing buffer; a block is cut every
 * BLOCK_TARGET bytes and compressed; finish() writes header and blocks to a temp file,
 * fsyncs it, renames it into place and fsyncs the directory.
 *
 * Reader invariants:
 *   1. Every length read from the file is checked against the bytes left before use.
 *   2. Counts and sizes above the NF_AVRO_MAX_* limits are refused (NF_EPROTO).
 *   3. A block's records are validated against the writer schema by validate() (bounded
 *      recursion depth, a step budget proportional to the block size, exact end) before
 *      libavro reads them: libavro then never sees a length or count that lies.
 */
#include "avro.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "base/files.h"

/* Uncompressed bytes per block: big enough that deflate works well and per-block overhead
 * vanishes, small enough that a reader holds little (a manifest entry is ~1 KB). */
#define BLOCK_TARGET (1u << 20)

static const uint8_t MAGIC[4] = {'O', 'b', 'j', 1};

/* ---- growable byte buffer ---------------------------------------------------------------- */

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static int
buf_reserve(buf *b, size_t more)
{
    if (more > SIZE_MAX / 2 - b->len)
        return -1;
    if (b->len + more <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int
buf_put(buf *b, const void *src, size_t n)
{
    if (buf_reserve(b, n) != 0)
        return -1;
    if (n > 0)
        memcpy(b->p + b->len, src, n);
    b->len += n;
    return 0;
}

static int
buf_long(buf *b, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    uint8_t tmp[10];
    size_t n = 0;
    do {
        uint8_t byte = z & 0x7f;
        z >>= 7;
        tmp[n++] = (uint8_t)(byte | (z ? 0x80 : 0));
    } while (z);
    return buf_put(b, tmp, n);
}

static int
buf_bytes(buf *b, const void *p, size_t n)
{
    return buf_long(b, (int64_t)n) == 0 && buf_put(b, p, n) == 0 ? 0 : -1;
}

/* ---- writer ------------------------------------------------------------------------------ */

struct nf_avro_writer {
    char *schema_text;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t rec;
    bool rec_ok;
    avro_writer_t mem;
    buf header;   /* magic, metadata, sync */
    buf pending;  /* encoded records of the block being filled */
    int64_t pending_count;
    buf blocks;   /* finished blocks (count, size, deflated bytes, sync) */
    uint8_t sync[16];
};

nf_status
nf_avro_writer_new(const char *schema_json, const char *const *meta, size_t nmeta,
                   nf_avro_writer **out, nf_err *err)
{
    nf_avro_writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return nf_err_set(err, NF_ENOMEM, "avro writer");
    nf_status st = NF_ENOMEM;
    w->schema_text = strdup(schema_json);
    if (w->schema_text == NULL)
        goto fail;
    if (avro_schema_from_json_length(schema_json, strlen(schema_json), &w->schema) != 0) {
        st = nf_err_set(err, NF_EINVAL, "libavro refuses the schema: %s", avro_strerror());
        goto fail;
    }
    w->iface = avro_generic_class_from_schema(w->schema);
    if (w->iface == NULL || avro_generic_value_new(w->iface, &w->rec) != 0) {
        st = nf_err_set(err, NF_EINVAL, "libavro value for the schema: %s", avro_strerror());
        goto fail;
    }
    w->rec_ok = true;
    w->mem = avro_writer_memory(NULL, 0);
    if (w->mem == NULL)
        goto fail;
    if ((st = nf_random_bytes(w->sync, sizeof(w->sync), "an Avro sync marker", err)) != NF_OK)
        goto fail;
    st = NF_ENOMEM;
    buf *h = &w->header;
    if (buf_put(h, MAGIC, 4) != 0 || buf_long(h, (int64_t)(2 + nmeta)) != 0 ||
        buf_bytes(h, "avro.schema", 11) != 0 || buf_bytes(h, schema_json, strlen(schema_json)) ||
        buf_bytes(h, "avro.codec", 10) != 0 || buf_bytes(h, "deflate", 7) != 0)
        goto fail;
    for (size_t i = 0; i < nmeta; i++)
        if (buf_bytes(h, meta[2 * i], strlen(meta[2 * i])) != 0 ||
            buf_bytes(h, meta[2 * i + 1], strlen(meta[2 * i + 1])) != 0)
            goto fail;
    if (buf_long(h, 0) != 0 || buf_put(h, w->sync, 16) != 0)
        goto fail;
    *out = w;
    return NF_OK;
fail:
    if (st == NF_ENOMEM)
        nf_err_set(err, NF_ENOMEM, "avro writer");
    nf_avro_writer_free(w);
    return st;
}

avro_value_t *
nf_avro_writer_record(nf_avro_writer *w)
{
    return &w->rec;
}

/* Deflates the pending records into one block. */
static nf_status
flush_block(nf_avro_writer *w, nf_err *err)
{
    if (w->pending_count == 0)
        return NF_OK;
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return nf_err_set(err, NF_ENOMEM, "deflateInit2");
    uLong bound = deflateBound(&zs, (uLong)w->pending.len);
    buf out = {0};
    nf_status st = NF_OK;
    if (buf_reserve(&out, bound) != 0) {
        st = nf_err_set(err, NF_ENOMEM, "deflate buffer of %lu bytes", (unsigned long)bound);
        goto done;
    }
    zs.next_in = w->pending.p;
    zs.avail_in = (uInt)w->pending.len;
    zs.next_out = out.p;
    zs.avail_out = (uInt)bound;
    if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
        st = nf_err_set(err, NF_EINTERNAL, "deflate did not finish");
        goto done;
    }
    out.len = zs.total_out;
    if (buf_long(&w->blocks, w->pending_count) != 0 || buf_bytes(&w->blocks, out.p, out.len) ||
        buf_put(&w->blocks, w->sync, 16) != 0) {
        st = nf_err_set(err, NF_ENOMEM, "avro block");
        goto done;
    }
    w->pending.len = 0;
    w->pending_count = 0;
done:
    deflateEnd(&zs);
    free(out.p);
    return st;
}

nf_status
nf_avro_writer_append(nf_avro_writer *w, nf_err *err)
{
    size_t size = 0;
    if (avro_value_sizeof(&w->rec, &size) != 0)
        return nf_err_set(err, NF_EINVAL, "avro record size: %s", avro_strerror());
    if (buf_reserve(&w->pending, size) != 0)
        return nf_err_set(err, NF_ENOMEM, "avro record of %zu bytes", size);
    avro_writer_memory_set_dest(w->mem, (const char *)w->pending.p + w->pending.len,
                                (int64_t)size);
    if (avro_value_write(w->mem, &w->rec) != 0 || avro_writer_tell(w->mem) != (int64_t)size)
        return nf_err_set(err, NF_EINVAL, "avro record encoding: %s", avro_strerror());
    w->pending.len += size;
    w->pending_count++;
    avro_value_reset(&w->rec);
    if (w->pending.len >= BLOCK_TARGET)
        return flush_block(w, err);
    return NF_OK;
}

static nf_status
write_all(int fd, const uint8_t *p, size_t n, const char *path, nf_err *err)
{
    while (n > 0) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return nf_err_sys(err, NF_EIO, errno, "write %s", path);
        }
        p += r;
        n -= (size_t)r;
    }
    return NF_OK;
}

nf_status
nf_avro_writer_finish(nf_avro_writer *w, const char *path, int64_t *length, nf_err *err)
{
    nf_status st = flush_block(w, err);
    if (st != NF_OK)
        return st;
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 32);
    char *dir = strdup(path);
    if (tmp == NULL || dir == NULL) {
        free(tmp);
        free(dir);
        return nf_err_set(err, NF_ENOMEM, "path %s", path);
    }
    uint8_t rnd[4];
    if ((st = nf_random_bytes(rnd, sizeof(rnd), "a temporary file name", err)) != NF_OK) {
        free(tmp);
        free(dir);
        return st;
    }
    snprintf(tmp, plen + 32, "%s.tmp-%02x%02x%02x%02x", path, rnd[0], rnd[1], rnd[2], rnd[3]);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        st = nf_err_sys(err, NF_EIO, errno, "create %s", tmp);
        goto out;
    }
    if ((st = write_all(fd, w->header.p, w->header.len, tmp, err)) != NF_OK ||
        (st = write_all(fd, w->blocks.p, w->blocks.len, tmp, err)) != NF_OK)
        goto fail;
    if (fsync(fd) != 0) {
        st = nf_err_sys(err, NF_EIO, errno, "fsync %s", tmp);
        goto fail;
    }
    if (close(fd) != 0) {
        fd = -1;
        st = nf_err_sys(err, NF_EIO, errno, "close %s", tmp);
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        st = nf_err_sys(err, NF_EIO, errno, "rename %s to %s", tmp, path);
        goto fail;
    }
    /* The directory entry must be durable too before anyone references the file. */
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    else
        strcpy(dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || fsync(dfd) != 0) {
        st = nf_err_sys(err, NF_EIO, errno, "fsync directory %s", dir);
        if (dfd >= 0)
            close(dfd);
        goto out;
    }
    close(dfd);
    if (length != NULL)
        *length = (int64_t)(w->header.len + w->blocks.len);
    goto out;
fail:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out:
    free(tmp);
    free(dir);
    return st;
}

void
nf_avro_writer_free(nf_avro_writer *w)
{
    if (w == NULL)
        return;
    if (w->rec_ok)
        avro_value_decref(&w->rec);
    if (w->iface != NULL)
        avro_value_iface_decref(w->iface);
    if (w->schema != NULL)
        avro_schema_decref(w->schema);
    if (w->mem != NULL)
        avro_writer_free(w->mem);
    free(w->schema_text);
    free(w->header.p);
    free(w->pending.p);
    free(w->blocks.p);
    free(w);
}

/* ---- reader ------------------------------------------------------------------------------ */

typedef struct cursor {
    const uint8_t *p, *end;
} cursor;

/* Zig-zag varint long of at most 10 bytes. */
static int
rd_long(cursor *c, int64_t *v)
{
    uint64_t z = 0;
    for (int i = 0; i < 10; i++) {
        if (c->p >= c->end)
            return -1;
        uint8_t b = *c->p++;
        z |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return 0;
        }
    }
    return -1;
}

/* A length-prefixed byte string of at most max bytes. */
static int
rd_bytes(cursor *c, size_t max, const uint8_t **p, size_t *n)
{
    int64_t len;
    if (rd_long(c, &len) != 0 || len < 0 || (uint64_t)len > max ||
        (uint64_t)len > (uint64_t)(c->end - c->p))
        return -1;
    *p = c->p;
    *n = (size_t)len;
    c->p += len;
    return 0;
}

typedef struct meta_kv {
    const uint8_t *key, *val;
    size_t klen, vlen;
} meta_kv;

struct nf_avro_reader {
    char name[160];
    const uint8_t *file;
    size_t file_len;
    uint8_t *owned;          /* the file's bytes when read by open_file */
    meta_kv meta[NF_AVRO_MAX_META];
    size_t nmeta;
    char *schema_text;
    avro_schema_t schema;
    avro_value_iface_t *iface;
    avro_value_t rec;
    bool rec_ok;
    avro_reader_t mem;
    bool deflate;
    uint8_t sync[16];
    cursor blocks;           /* what follows the header */
    buf inflated;            /* current block, inflated */
    cursor block;            /* records left in the current block */
    int64_t left;            /* records left in the current block */
};

static void
copy_name(char *dst, size_t cap, const char *name)
{
    snprintf(dst, cap, "%s", name ? name : "(avro)");
}

nf_status
nf_avro_reader_open_mem(const uint8_t *data, size_t len, const char *name, nf_avro_reader **out,
                        nf_err *err)
{
    nf_avro_reader *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return nf_err_set(err, NF_ENOMEM, "avro reader for %s", name);
    copy_name(r->name, sizeof(r->name), name);
    r->file = data;
    r->file_len = len;
    nf_status st = NF_EPROTO;
    cursor c = {data, data + len};
    if (len > NF_AVRO_MAX_FILE) {
        st = nf_err_set(err, NF_EPROTO, "%s: %zu bytes is more than the %u allowed", r->name,
                        len, NF_AVRO_MAX_FILE);
        goto fail;
    }
    if (len < 4 || memcmp(data, MAGIC, 4) != 0) {
        st = nf_err_set(err, NF_EPROTO, "%s: not an Avro container (bad magic)", r->name);
        goto fail;
    }
    c.p += 4;
    for (;;) {
        int64_t count;
        if (rd_long(&c, &count) != 0) {
            st = nf_err_set(err, NF_EPROTO, "%s: truncated header", r->name);
            goto fail;
        }
        if (count == 0)
            break;
        if (count < 0) {
            int64_t bytes;
            if (count == INT64_MIN || rd_long(&c, &bytes) != 0) {
                st = nf_err_set(err, NF_EPROTO, "%s: bad header block", r->name);
                goto fail;
            }
            count = -count;
        }
        if ((uint64_t)count > NF_AVRO_MAX_META - r->nmeta) {
            st = nf_err_set(err, NF_EPROTO, "%s: more than %d header entries", r->name,
                            NF_AVRO_MAX_META);
            goto fail;
        }
        for (int64_t i = 0; i < count; i++) {
            meta_kv *kv = &r->meta[r->nmeta];
            if (rd_bytes(&c, 1024, &kv->key, &kv->klen) != 0 ||
                rd_bytes(&c, NF_AVRO_MAX_META_VALUE, &kv->val, &kv->vlen) != 0) {
                st = nf_err_set(err, NF_EPROTO, "%s: bad header entry %zu", r->name,
                                r->nmeta);
                goto fail;
            }
            r->nmeta++;
        }
    }
    if ((size_t)(c.end - c.p) < 16) {
        st = nf_err_set(err, NF_EPROTO, "%s: truncated header (sync marker)", r->name);
        goto fail;
    }
    memcpy(r->sync, c.p, 16);
    c.p += 16;
    r->blocks = c;

    size_t n;
    const char *codec = nf_avro_reader_meta(r, "avro.codec", &n);
    if (codec == NULL || (n == 4 && memcmp(codec, "null", 4) == 0))
        r->deflate = false;
    else if (n == 7 && memcmp(codec, "deflate", 7) == 0)
        r->deflate = true;
    else {
        st = nf_err_set(err, NF_EPROTO, "%s: unsupported codec \"%.*s\"", r->name,
                        (int)(n > 32 ? 32 : n), codec);
        goto fail;
    }
    const char *schema = nf_avro_reader_meta(r, "avro.schema", &n);
    if (schema == NULL || n == 0) {
        st = nf_err_set(err, NF_EPROTO, "%s: no avro.schema in the header", r->name);
        goto fail;
    }
    r->schema_text = malloc(n + 1);
    if (r->schema_text == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "%s: schema of %zu bytes", r->name, n);
        goto fail;
    }
    memcpy(r->schema_text, schema, n);
    r->schema_text[n] = '\0';
    if (avro_schema_from_json_length(r->schema_text, n, &r->schema) != 0) {
        st = nf_err_set(err, NF_EPROTO, "%s: bad avro.schema: %s", r->name, avro_strerror());
        goto fail;
    }
    r->iface = avro_generic_class_from_schema(r->schema);
    if (r->iface == NULL || avro_generic_value_new(r->iface, &r->rec) != 0) {
        st = nf_err_set(err, NF_EPROTO, "%s: unusable avro.schema: %s", r->name,
                        avro_strerror());
        goto fail;
    }
    r->rec_ok = true;
    r->mem = avro_reader_memory(NULL, 0);
    if (r->mem == NULL) {
        st = nf_err_set(err, NF_ENOMEM, "%s: avro memory reader", r->name);
        goto fail;
    }
    *out = r;
    return NF_OK;
fail:
    nf_avro_reader_free(r);
    return st;
}

nf_status
nf_avro_reader_open_file(const char *path, nf_avro_reader **out, nf_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nf_err_sys(err, errno == ENOENT ? NF_ENOTFOUND : NF_EIO, errno, "open %s",
                          path);
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        nf_status st = nf_err_sys(err, NF_EIO, errno, "stat %s", path);
        close(fd);
        return st;
    }
    if (!S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > NF_AVRO_MAX_FILE) {
        close(fd);
        return nf_err_set(err, NF_EPROTO, "%s: not a regular file of at most %u bytes", path,
                          NF_AVRO_MAX_FILE);
    }
    size_t size = (size_t)sb.st_size;
    uint8_t *data = malloc(size ? size : 1);
    if (data == NULL) {
        close(fd);
        return nf_err_set(err, NF_ENOMEM, "%s: %zu bytes", path, size);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, data + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            nf_status st = r < 0 ? nf_err_sys(err, NF_EIO, errno, "read %s", path)
                                 : nf_err_set(err, NF_EIO, "%s shrank while read", path);
            free(data);
            close(fd);
            return st;
        }
        got += (size_t)r;
    }
    close(fd);
    nf_avro_reader *r;
    nf_status st = nf_avro_reader_open_mem(data, size, path, &r, err);
    if (st != NF_OK) {
        free(data);
        return st;
    }
    r->owned = data;
    *out = r;
    return NF_OK;
}

const char *
nf_avro_reader_meta(const nf_avro_reader *r, const char *key, size_t *len)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < r->nmeta; i++)
        if (r->meta[i].klen == klen && memcmp(r->meta[i].key, key, klen) == 0) {
            *len = r->meta[i].vlen;
            return (const char *)r->meta[i].val;
        }
    return NULL;
}

const char *
nf_avro_reader_schema_json(const nf_avro_reader *r)
{
    return r->schema_text;
}

size_t
nf_avro_reader_size(const nf_avro_reader *r)
{
    return r->file_len;
}

/* Validation walk of one encoded value against schema s (invariant 3). *steps bounds the
 * work on zero-byte values (arrays of nulls or empty records). */
static int
validate(cursor *c, avro_schema_t s, int depth, int64_t *steps)
{
    if (depth > NF_AVRO_MAX_DEPTH || --*steps < 0)
        return -1;
    int64_t v;
    const uint8_t *p;
    size_t n;
    switch (avro_typeof(s)) {
    case AVRO_NULL:
        return 0;
    case AVRO_BOOLEAN:
        if (c->p >= c->end || *c->p > 1)
            return -1;
        c->p++;
        return 0;
    case AVRO_INT32:
        if (rd_long(c, &v) != 0 || v < INT32_MIN || v > INT32_MAX)
            return -1;
        return 0;
    case AVRO_INT64:
        return rd_long(c, &v);
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        size_t w = avro_typeof(s) == AVRO_FLOAT ? 4 : 8;
        if ((size_t)(c->end - c->p) < w)
            return -1;
        c->p += w;
        return 0;
    }
    case AVRO_STRING:
    case AVRO_BYTES:
        return rd_bytes(c, NF_AVRO_MAX_BLOCK, &p, &n);
    case AVRO_FIXED: {
        int64_t size = avro_schema_fixed_size(s);
        if (size < 0 || size > c->end - c->p)
            return -1;
        c->p += size;
        return 0;
    }
    case AVRO_ENUM:
        if (rd_long(c, &v) != 0 || v < 0 || v >= avro_schema_enum_number_of_symbols(s))
            return -1;
        return 0;
    case AVRO_RECORD: {
        size_t nf = avro_schema_record_size(s);
        for (size_t i = 0; i < nf; i++)
            if (validate(c, avro_schema_record_field_get_by_index(s, (int)i), depth + 1,
                         steps) != 0)
                return -1;
        return 0;
    }
    case AVRO_UNION:
        if (rd_long(c, &v) != 0 || v < 0 || (uint64_t)v >= avro_schema_union_size(s))
            return -1;
        return validate(c, avro_schema_union_branch(s, (int)v), depth + 1, steps);
    case AVRO_ARRAY:
    case AVRO_MAP: {
        avro_schema_t item = avro_typeof(s) == AVRO_ARRAY ? avro_schema_array_items(s)
                                                          : avro_schema_map_values(s);
        for (;;) {
            int64_t count;
            if (rd_long(c, &count) != 0)
                return -1;
            if (count == 0)
                return 0;
            if (count < 0) {
                int64_t bytes;
                if (count == INT64_MIN || rd_long(c, &bytes) != 0 || bytes < 0 ||
                    bytes > c->end - c->p)
                    return -1;
                count = -count;
            }
            /* Each element costs a step, so a count larger than the budget fails fast. */
            if (count > *steps)
                return -1;
            for (int64_t i = 0; i < count; i++) {
                if (avro_typeof(s) == AVRO_MAP && rd_bytes(c, NF_AVRO_MAX_BLOCK, &p, &n) != 0)
                    return -1;
                if (validate(c, item, depth + 1, steps) != 0)
                    return -1;
            }
        }
    }
    case AVRO_LINK:
        return validate(c, avro_schema_link_target(s), depth + 1, steps);
    default:
        return -1;
    }
}

static nf_status
inflate_block(nf_avro_reader *r, const uint8_t *p, size_t n, nf_err *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -15) != Z_OK)
        return nf_err_set(err, NF_ENOMEM, "%s: inflateInit2", r->name);
    r->inflated.len = 0;
    zs.next_in = (Bytef *)(uintptr_t)p;
    zs.avail_in = (uInt)n;
    nf_status st = NF_OK;
    for (;;) {
        if (r->inflated.len >= NF_AVRO_MAX_BLOCK) {
            st = nf_err_set(err, NF_EPROTO, "%s: block inflates past %u bytes", r->name,
                            NF_AVRO_MAX_BLOCK);
            break;
        }
        size_t chunk = n * 4 + 4096;
        if (chunk > NF_AVRO_MAX_BLOCK - r->inflated.len)
            chunk = NF_AVRO_MAX_BLOCK - r->inflated.len;
        if (buf_reserve(&r->inflated, chunk) != 0) {
            st = nf_err_set(err, NF_ENOMEM, "%s: inflate buffer", r->name);
            break;
        }
        zs.next_out = r->inflated.p + r->inflated.len;
        zs.avail_out = (uInt)chunk;
        int zr = inflate(&zs, Z_NO_FLUSH);
        r->inflated.len += chunk - zs.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && zs.avail_out == 0)) {
            st = nf_err_set(err, NF_EPROTO, "%s: bad deflate data (%s)", r->name,
                            zs.msg ? zs.msg : "truncated");
            break;
        }
    }
    inflateEnd(&zs);
    return st;
}

/* Loads the next block: NF_ENOTFOUND at the end of the file. */
static nf_status
next_block(nf_avro_reader *r, nf_err *err)
{
    cursor *c = &r->blocks;
    if (c->p == c->end)
        return NF_ENOTFOUND;
    int64_t count;
    const uint8_t *p;
    size_t n;
    if (rd_long(c, &count) != 0 || count < 0 ||
        rd_bytes(c, NF_AVRO_MAX_BLOCK, &p, &n) != 0 || (size_t)(c->end - c->p) < 16)
        return nf_err_set(err, NF_EPROTO, "%s: truncated or oversized block at offset %zu",
                          r->name, (size_t)(c->p - r->file));
    if (memcmp(c->p, r->sync, 16) != 0)
        return nf_err_set(err, NF_EPROTO, "%s: sync marker mismatch at offset %zu", r->name,
                          (size_t)(c->p - r->file));
    c->p += 16;
    if (r->deflate) {
        nf_status st = inflate_block(r, p, n, err);
        if (st != NF_OK)
            return st;
        p = r->inflated.p;
        n = r->inflated.len;
    }
    /* Invariant 3: prove the whole block well-formed before libavro touches it. Every
     * record has at least one step, so count is bounded by the budget too. */
    int64_t steps = 16 * (int64_t)n + 1024;
    if (count > steps)
        return nf_err_set(err, NF_EPROTO, "%s: block claims %lld records in %zu bytes", r->name,
                          (long long)count, n);
    cursor v = {p, p + n};
    for (int64_t i = 0; i < count; i++)
        if (validate(&v, r->schema, 0, &steps) != 0)
            return nf_err_set(err, NF_EPROTO, "%s: record %lld of a block does not match the "
                              "schema", r->name, (long long)i);
    if (v.p != v.end)
        return nf_err_set(err, NF_EPROTO, "%s: %zu stray bytes after a block's records",
                          r->name, (size_t)(v.end - v.p));
    r->block.p = p;
    r->block.end = p + n;
    r->left = count;
    avro_reader_memory_set_source(r->mem, (const char *)p, (int64_t)n);
    return NF_OK;
}

nf_status
nf_avro_reader_next(nf_avro_reader *r, avro_value_t **rec, nf_err *err)
{
    while (r->left == 0) {
        nf_status st = next_block(r, err);
        if (st != NF_OK)
            return st;
    }
    avro_value_reset(&r->rec);
    if (avro_value_read(r->mem, &r->rec) != 0)
        return nf_err_set(err, NF_EPROTO, "%s: libavro: %s", r->name, avro_strerror());
    r->left--;
    *rec = &r->rec;
    return NF_OK;
}

void
nf_avro_reader_free(nf_avro_reader *r)
{
    if (r == NULL)
        return;
    if (r->rec_ok)
        avro_value_decref(&r->rec);
    if (r->iface != NULL)
        avro_value_iface_decref(r->iface);
    if (r->schema != NULL)
        avro_schema_decref(r->schema);
    if (r->mem != NULL)
        avro_reader_free(r->mem);
    free(r->schema_text);
    free(r->inflated.p);
    free(r->owned);
    free(r);
}

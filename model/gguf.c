/* gguf.c: the GGUF reader: maps a file and checks every byte it will ever hand out.
 *
 * Parsing never trusts a count or a length: each one is compared with the bytes that remain
 * before anything is read or allocated, with arithmetic that cannot wrap. The first problem
 * found ends the parse with a message naming the file, the key or tensor, and the problem.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"

#define GGUF_HEADER_BYTES 24
#define GGUF_DEFAULT_ALIGNMENT 32
/* The smallest a kv can be: key length, one key byte, value type, one value byte. Bounding the
 * counts by these lets a hostile count be refused before anything is allocated for it. */
#define MIN_KV_BYTES 14
/* Name length, one name byte, n_dims, one dimension, type, offset. */
#define MIN_TENSOR_BYTES 33
#define NAME_SHOWN 80 /* longest key or tensor name quoted in a message */

struct fsk_gguf {
    char *name;
    const uint8_t *base;
    size_t size;
    int mapped;
    uint32_t version;
    uint64_t alignment;
    size_t data_offset;
    size_t n_kv;
    struct fsk_gguf_kv *kvs;
    const struct fsk_gguf_kv **kv_by_key; /* sorted: duplicate check and binary-search lookup */
    size_t n_tensors;
    struct fsk_gguf_tensor *tensors;
    const struct fsk_gguf_tensor **t_by_name;
};

/* A read position inside the file. */
struct cur {
    const uint8_t *p;
    size_t size, pos;
};

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static fsk_status fail(fsk_error *err, fsk_status st, const fsk_gguf *g, const char *fmt, ...)
{
    if (!err)
        return st;
    err->status = st;
    int n = snprintf(err->message, sizeof err->message, "%.240s: ", g->name);
    if (n < 0 || (size_t)n >= sizeof err->message)
        return st;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message + n, sizeof err->message - (size_t)n, fmt, ap);
    va_end(ap);
    return st;
}

/* A printable, bounded copy of a name for messages (control bytes become '?'). */
static const char *shown(char *buf, size_t cap, const char *p, uint64_t len)
{
    size_t n = len < NAME_SHOWN ? (size_t)len : NAME_SHOWN;
    if (n > cap - 4)
        n = cap - 4;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        buf[i] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    strcpy(buf + n, n < len ? "..." : "");
    return buf;
}

static int avail(const struct cur *c, uint64_t n)
{
    return n <= c->size - c->pos;
}

static uint64_t load_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int take_u32(struct cur *c, uint32_t *v)
{
    if (!avail(c, 4))
        return 0;
    *v = (uint32_t)load_le(c->p + c->pos, 4);
    c->pos += 4;
    return 1;
}

static int take_u64(struct cur *c, uint64_t *v)
{
    if (!avail(c, 8))
        return 0;
    *v = load_le(c->p + c->pos, 8);
    c->pos += 8;
    return 1;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static int utf8_valid(const uint8_t *s, uint64_t n)
{
    uint64_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int more;
        uint8_t lo = 0x80, hi = 0xbf; /* the allowed range of the first continuation byte */
        if (c >= 0xc2 && c <= 0xdf)
            more = 1;
        else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;
        } else
            return 0;
        if ((uint64_t)more > n - i - 1 || s[i + 1] < lo || s[i + 1] > hi)
            return 0;
        for (int k = 2; k <= more; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += (uint64_t)more + 1;
    }
    return 1;
}

/* Checks a key or tensor name; what is "key 3 of 9" or "tensor 2 of 5". */
static fsk_status check_name(const fsk_gguf *g, const struct fsk_gguf_str *s, const char *what,
                             fsk_error *err)
{
    if (s->len == 0)
        return fail(err, FSK_ERR_FORMAT, g, "%s has an empty name", what);
    if (memchr(s->ptr, '\0', (size_t)s->len))
        return fail(err, FSK_ERR_FORMAT, g, "%s: its name contains a NUL byte", what);
    if (!utf8_valid((const uint8_t *)s->ptr, s->len))
        return fail(err, FSK_ERR_FORMAT, g, "%s: its name is not valid UTF-8", what);
    return FSK_OK;
}

/* Reads a length-prefixed name; the length is checked against the file before use. */
static fsk_status take_name(const fsk_gguf *g, struct cur *c, struct fsk_gguf_str *s,
                            const char *section, const char *what, fsk_error *err)
{
    uint64_t len;
    if (!take_u64(c, &len))
        return fail(err, FSK_ERR_FORMAT, g, "truncated in the %s (%s)", section, what);
    if (!avail(c, len))
        return fail(err, FSK_ERR_FORMAT, g, "truncated in the %s (%s: name of %llu bytes)",
                    section, what, (unsigned long long)len);
    s->ptr = (const char *)c->p + c->pos;
    s->len = len;
    c->pos += (size_t)len;
    return check_name(g, s, what, err);
}

/* ------------------------------------------------------------------ metadata */

static size_t scalar_bytes(uint32_t t)
{
    switch (t) {
    case FSK_GGUF_U8: case FSK_GGUF_I8: case FSK_GGUF_BOOL: return 1;
    case FSK_GGUF_U16: case FSK_GGUF_I16: return 2;
    case FSK_GGUF_U32: case FSK_GGUF_I32: case FSK_GGUF_F32: return 4;
    case FSK_GGUF_U64: case FSK_GGUF_I64: case FSK_GGUF_F64: return 8;
    default: return 0; /* strings, arrays and unknown types have no fixed size */
    }
}

static int is_signed(uint32_t t)
{
    return t == FSK_GGUF_I8 || t == FSK_GGUF_I16 || t == FSK_GGUF_I32 || t == FSK_GGUF_I64;
}

/* Decodes one scalar of type t at p into kv's union (bounds already checked). */
static void decode_scalar(struct fsk_gguf_kv *kv, uint32_t t, const uint8_t *p)
{
    size_t n = scalar_bytes(t);
    uint64_t raw = load_le(p, (int)n);
    if (t == FSK_GGUF_F32) {
        float f;
        uint32_t bits = (uint32_t)raw;
        memcpy(&f, &bits, sizeof f);
        kv->v.f = f;
    } else if (t == FSK_GGUF_F64) {
        memcpy(&kv->v.f, &raw, sizeof raw);
    } else if (is_signed(t)) {
        unsigned shift = (unsigned)(64 - 8 * n);
        kv->v.i = (int64_t)(raw << shift) >> shift; /* sign-extend */
    } else {
        kv->v.u = raw;
    }
}

/* Context for messages about kv number idx. */
struct kvctx {
    size_t idx, n;
    char key[NAME_SHOWN + 4];
};

static fsk_status kv_truncated(const fsk_gguf *g, const struct kvctx *k, fsk_error *err)
{
    return fail(err, FSK_ERR_FORMAT, g, "truncated in the metadata (key %zu of %zu, %s)",
                k->idx + 1, k->n, k->key);
}

static fsk_status take_string_array(const fsk_gguf *g, struct cur *c, struct fsk_gguf_kv *kv,
                                    const struct kvctx *k, fsk_error *err)
{
    uint64_t n = kv->v.arr.n;
    if (n > (c->size - c->pos) / 8)
        return fail(err, FSK_ERR_FORMAT, g,
                    "key %s: an array of %llu strings cannot fit in the %zu bytes left", k->key,
                    (unsigned long long)n, c->size - c->pos);
    if (n == 0)
        return FSK_OK;
    uint64_t *off = malloc((size_t)n * sizeof *off);
    if (!off)
        return fail(err, FSK_ERR_NOMEM, g, "key %s: out of memory for %llu strings", k->key,
                    (unsigned long long)n);
    kv->v.arr.str_off = off;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t len;
        off[i] = c->pos - (size_t)((const uint8_t *)kv->v.arr.data - c->p);
        if (!take_u64(c, &len) || !avail(c, len))
            return fail(err, FSK_ERR_FORMAT, g,
                        "truncated in the metadata (key %zu of %zu, %s, string %llu of %llu)",
                        k->idx + 1, k->n, k->key, (unsigned long long)i + 1,
                        (unsigned long long)n);
        c->pos += (size_t)len;
    }
    return FSK_OK;
}

static fsk_status take_array(const fsk_gguf *g, struct cur *c, struct fsk_gguf_kv *kv,
                             const struct kvctx *k, fsk_error *err)
{
    uint32_t et;
    uint64_t n;
    if (!take_u32(c, &et))
        return kv_truncated(g, k, err);
    if (et == FSK_GGUF_ARRAY)
        return fail(err, FSK_ERR_UNSUPPORTED, g, "key %s: arrays of arrays are not supported",
                    k->key);
    if (et >= FSK_GGUF_VTYPE_COUNT)
        return fail(err, FSK_ERR_FORMAT, g, "key %s: unknown array element type %u", k->key, et);
    if (!take_u64(c, &n))
        return kv_truncated(g, k, err);
    kv->v.arr.type = (enum fsk_gguf_vtype)et;
    kv->v.arr.n = n;
    kv->v.arr.data = c->p + c->pos;
    if (et == FSK_GGUF_STRING)
        return take_string_array(g, c, kv, k, err);
    size_t es = scalar_bytes(et);
    if (n > (c->size - c->pos) / es)
        return fail(err, FSK_ERR_FORMAT, g,
                    "key %s: an array of %llu %s values runs past the end of the file", k->key,
                    (unsigned long long)n, fsk_gguf_vtype_name(kv->v.arr.type));
    if (et == FSK_GGUF_BOOL)
        for (uint64_t i = 0; i < n; i++)
            if (c->p[c->pos + i] > 1)
                return fail(err, FSK_ERR_FORMAT, g, "key %s: element %llu is a bool of value %u",
                            k->key, (unsigned long long)i, c->p[c->pos + i]);
    c->pos += (size_t)(n * es);
    return FSK_OK;
}

static fsk_status take_value(const fsk_gguf *g, struct cur *c, struct fsk_gguf_kv *kv,
                             const struct kvctx *k, fsk_error *err)
{
    uint32_t t = kv->type;
    if (t == FSK_GGUF_ARRAY)
        return take_array(g, c, kv, k, err);
    if (t == FSK_GGUF_STRING) {
        uint64_t len;
        if (!take_u64(c, &len))
            return kv_truncated(g, k, err);
        if (!avail(c, len))
            return fail(err, FSK_ERR_FORMAT, g,
                        "key %s: a string of %llu bytes runs past the end of the file", k->key,
                        (unsigned long long)len);
        kv->v.s.ptr = (const char *)c->p + c->pos;
        kv->v.s.len = len;
        c->pos += (size_t)len;
        return FSK_OK;
    }
    size_t n = scalar_bytes(t);
    if (!avail(c, n))
        return kv_truncated(g, k, err);
    decode_scalar(kv, t, c->p + c->pos);
    c->pos += n;
    if (t == FSK_GGUF_BOOL && kv->v.u > 1)
        return fail(err, FSK_ERR_FORMAT, g, "key %s: a bool of value %llu", k->key,
                    (unsigned long long)kv->v.u);
    return FSK_OK;
}

static fsk_status take_kv(const fsk_gguf *g, struct cur *c, struct fsk_gguf_kv *kv, size_t idx,
                          fsk_error *err)
{
    struct kvctx k = {idx, g->n_kv, ""};
    char what[64];
    snprintf(what, sizeof what, "key %zu of %zu", idx + 1, g->n_kv);
    fsk_status st = take_name(g, c, &kv->key, "metadata", what, err);
    if (st != FSK_OK)
        return st;
    shown(k.key, sizeof k.key, kv->key.ptr, kv->key.len);
    uint32_t t;
    if (!take_u32(c, &t))
        return kv_truncated(g, &k, err);
    if (t >= FSK_GGUF_VTYPE_COUNT)
        return fail(err, FSK_ERR_FORMAT, g, "key %s: unknown value type %u", k.key, t);
    kv->type = (enum fsk_gguf_vtype)t;
    return take_value(g, c, kv, &k, err);
}

static int cmp_key(const struct fsk_gguf_str *a, const char *b, uint64_t blen)
{
    uint64_t n = a->len < blen ? a->len : blen;
    int r = memcmp(a->ptr, b, (size_t)n);
    if (r)
        return r;
    return a->len < blen ? -1 : a->len > blen;
}

static int cmp_kv(const void *pa, const void *pb)
{
    const struct fsk_gguf_kv *a = *(const struct fsk_gguf_kv *const *)pa;
    const struct fsk_gguf_kv *b = *(const struct fsk_gguf_kv *const *)pb;
    return cmp_key(&a->key, b->key.ptr, b->key.len);
}

static fsk_status index_keys(fsk_gguf *g, fsk_error *err)
{
    if (g->n_kv == 0)
        return FSK_OK;
    g->kv_by_key = malloc(g->n_kv * sizeof *g->kv_by_key);
    if (!g->kv_by_key)
        return fail(err, FSK_ERR_NOMEM, g, "out of memory indexing %zu keys", g->n_kv);
    for (size_t i = 0; i < g->n_kv; i++)
        g->kv_by_key[i] = &g->kvs[i];
    qsort(g->kv_by_key, g->n_kv, sizeof *g->kv_by_key, cmp_kv);
    for (size_t i = 1; i < g->n_kv; i++)
        if (cmp_kv(&g->kv_by_key[i - 1], &g->kv_by_key[i]) == 0) {
            char key[NAME_SHOWN + 4];
            const struct fsk_gguf_str *s = &g->kv_by_key[i]->key;
            return fail(err, FSK_ERR_FORMAT, g, "key %s appears more than once",
                        shown(key, sizeof key, s->ptr, s->len));
        }
    return FSK_OK;
}

static fsk_status read_alignment(fsk_gguf *g, fsk_error *err)
{
    g->alignment = GGUF_DEFAULT_ALIGNMENT;
    const struct fsk_gguf_kv *kv = fsk_gguf_find(g, "general.alignment");
    if (!kv)
        return FSK_OK;
    if (kv->type != FSK_GGUF_U32)
        return fail(err, FSK_ERR_FORMAT, g, "key general.alignment is a %s, not a u32",
                    fsk_gguf_vtype_name(kv->type));
    if (kv->v.u == 0 || (kv->v.u & (kv->v.u - 1)) != 0)
        return fail(err, FSK_ERR_FORMAT, g, "key general.alignment = %llu is not a power of two",
                    (unsigned long long)kv->v.u);
    g->alignment = kv->v.u;
    return FSK_OK;
}

static fsk_status read_metadata(fsk_gguf *g, struct cur *c, fsk_error *err)
{
    if (g->n_kv) {
        g->kvs = calloc(g->n_kv, sizeof *g->kvs);
        if (!g->kvs)
            return fail(err, FSK_ERR_NOMEM, g, "out of memory for %zu keys", g->n_kv);
    }
    for (size_t i = 0; i < g->n_kv; i++) {
        fsk_status st = take_kv(g, c, &g->kvs[i], i, err);
        if (st != FSK_OK)
            return st;
    }
    fsk_status st = index_keys(g, err);
    return st != FSK_OK ? st : read_alignment(g, err);
}

/* ------------------------------------------------------------------ tensor infos */

static fsk_status take_tensor_info(fsk_gguf *g, struct cur *c, size_t idx, fsk_error *err)
{
    struct fsk_gguf_tensor *t = &g->tensors[idx];
    char what[64], nm[NAME_SHOWN + 4];
    snprintf(what, sizeof what, "tensor %zu of %zu", idx + 1, g->n_tensors);
    struct fsk_gguf_str name;
    fsk_status st = take_name(g, c, &name, "tensor infos", what, err);
    if (st != FSK_OK)
        return st;
    char *copy = malloc((size_t)name.len + 1);
    if (!copy)
        return fail(err, FSK_ERR_NOMEM, g, "out of memory for the name of %s", what);
    memcpy(copy, name.ptr, (size_t)name.len);
    copy[name.len] = '\0';
    t->name = copy;
    shown(nm, sizeof nm, name.ptr, name.len);
    if (!take_u32(c, &t->n_dims))
        return fail(err, FSK_ERR_FORMAT, g, "truncated in the tensor infos (%s, %s)", what, nm);
    if (t->n_dims < 1 || t->n_dims > 4)
        return fail(err, FSK_ERR_FORMAT, g, "tensor %s: %u dimensions (must be 1 to 4)", nm,
                    t->n_dims);
    for (int d = 0; d < 4; d++)
        t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++)
        if (!take_u64(c, &t->ne[d]))
            return fail(err, FSK_ERR_FORMAT, g, "truncated in the tensor infos (%s, %s)", what,
                        nm);
    if (!take_u32(c, &t->type) || !take_u64(c, &t->offset))
        return fail(err, FSK_ERR_FORMAT, g, "truncated in the tensor infos (%s, %s)", what, nm);
    return FSK_OK;
}

/* Shape and type: every dimension positive, the element count within int64, a weight type,
 * whole blocks per row, and a byte size that fits in size_t. */
static fsk_status check_tensor_shape(const fsk_gguf *g, struct fsk_gguf_tensor *t, fsk_error *err)
{
    char nm[NAME_SHOWN + 4];
    shown(nm, sizeof nm, t->name, strlen(t->name));
    uint64_t elems = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        if (t->ne[d] == 0)
            return fail(err, FSK_ERR_FORMAT, g, "tensor %s: dimension %u is 0", nm, d);
        if (t->ne[d] > (uint64_t)INT64_MAX / elems)
            return fail(err, FSK_ERR_FORMAT, g, "tensor %s: its element count overflows", nm);
        elems *= t->ne[d];
    }
    const struct fsk_type_traits *tr = fsk_type_traits(t->type);
    if (!tr || tr->packed) /* a packed id is ours, made at load: no file may claim it */
        return fail(err, FSK_ERR_UNSUPPORTED, g, "tensor %s: unknown tensor type %u", nm,
                    t->type);
    if (!tr->weight)
        return fail(err, FSK_ERR_UNSUPPORTED, g,
                    "tensor %s: type %s (%u) is for activations, not weights", nm, tr->name,
                    t->type);
    if (t->ne[0] % tr->block != 0)
        return fail(err, FSK_ERR_FORMAT, g,
                    "tensor %s: row length %llu is not a multiple of the %s block size %u", nm,
                    (unsigned long long)t->ne[0], tr->name, tr->block);
    size_t row = fsk_type_row_bytes(t->type, t->ne[0]);
    uint64_t rows = t->ne[1] * t->ne[2] * t->ne[3]; /* cannot wrap: bounded by elems */
    if (row == 0 || rows > SIZE_MAX / row)
        return fail(err, FSK_ERR_FORMAT, g, "tensor %s: its size in bytes overflows", nm);
    t->nbytes = row * (size_t)rows;
    return FSK_OK;
}

static fsk_status place_tensor(const fsk_gguf *g, struct fsk_gguf_tensor *t, fsk_error *err)
{
    char nm[NAME_SHOWN + 4];
    shown(nm, sizeof nm, t->name, strlen(t->name));
    size_t room = g->size - g->data_offset;
    if (t->offset % g->alignment != 0)
        return fail(err, FSK_ERR_FORMAT, g,
                    "tensor %s: offset %llu is not a multiple of the alignment %llu", nm,
                    (unsigned long long)t->offset, (unsigned long long)g->alignment);
    if (t->offset > room)
        return fail(err, FSK_ERR_FORMAT, g, "tensor %s: data starts past the end of the file",
                    nm);
    if (t->nbytes > room - t->offset)
        return fail(err, FSK_ERR_FORMAT, g, "tensor %s: data ends past the end of the file", nm);
    t->data = g->base + g->data_offset + t->offset;
    return FSK_OK;
}

static int cmp_tensor_name(const void *pa, const void *pb)
{
    const struct fsk_gguf_tensor *a = *(const struct fsk_gguf_tensor *const *)pa;
    const struct fsk_gguf_tensor *b = *(const struct fsk_gguf_tensor *const *)pb;
    return strcmp(a->name, b->name);
}

static int cmp_tensor_offset(const void *pa, const void *pb)
{
    const struct fsk_gguf_tensor *a = *(const struct fsk_gguf_tensor *const *)pa;
    const struct fsk_gguf_tensor *b = *(const struct fsk_gguf_tensor *const *)pb;
    return a->offset < b->offset ? -1 : a->offset > b->offset;
}

/* Two tensors sharing bytes would let a write to one (or a reader's assumption) corrupt the
 * other; real writers never do it. */
static fsk_status check_overlaps(const fsk_gguf *g, fsk_error *err)
{
    const struct fsk_gguf_tensor **by_off = malloc(g->n_tensors * sizeof *by_off);
    if (!by_off)
        return fail(err, FSK_ERR_NOMEM, g, "out of memory indexing %zu tensors", g->n_tensors);
    for (size_t i = 0; i < g->n_tensors; i++)
        by_off[i] = &g->tensors[i];
    qsort(by_off, g->n_tensors, sizeof *by_off, cmp_tensor_offset);
    fsk_status st = FSK_OK;
    for (size_t i = 1; i < g->n_tensors && st == FSK_OK; i++) {
        const struct fsk_gguf_tensor *a = by_off[i - 1], *b = by_off[i];
        if (a->offset + a->nbytes > b->offset) { /* both already lie within the file */
            char na[NAME_SHOWN + 4], nb[NAME_SHOWN + 4];
            st = fail(err, FSK_ERR_FORMAT, g, "tensors %s and %s overlap in the data section",
                      shown(na, sizeof na, a->name, strlen(a->name)),
                      shown(nb, sizeof nb, b->name, strlen(b->name)));
        }
    }
    free(by_off);
    return st;
}

static fsk_status index_tensors(fsk_gguf *g, fsk_error *err)
{
    g->t_by_name = malloc(g->n_tensors * sizeof *g->t_by_name);
    if (!g->t_by_name)
        return fail(err, FSK_ERR_NOMEM, g, "out of memory indexing %zu tensors", g->n_tensors);
    for (size_t i = 0; i < g->n_tensors; i++)
        g->t_by_name[i] = &g->tensors[i];
    qsort(g->t_by_name, g->n_tensors, sizeof *g->t_by_name, cmp_tensor_name);
    for (size_t i = 1; i < g->n_tensors; i++)
        if (strcmp(g->t_by_name[i - 1]->name, g->t_by_name[i]->name) == 0) {
            char nm[NAME_SHOWN + 4];
            const char *s = g->t_by_name[i]->name;
            return fail(err, FSK_ERR_FORMAT, g, "tensor %s appears more than once",
                        shown(nm, sizeof nm, s, strlen(s)));
        }
    return check_overlaps(g, err);
}

static fsk_status read_tensors(fsk_gguf *g, struct cur *c, fsk_error *err)
{
    if (g->n_tensors) {
        g->tensors = calloc(g->n_tensors, sizeof *g->tensors);
        if (!g->tensors)
            return fail(err, FSK_ERR_NOMEM, g, "out of memory for %zu tensors", g->n_tensors);
    }
    for (size_t i = 0; i < g->n_tensors; i++) {
        fsk_status st = take_tensor_info(g, c, i, err);
        if (st == FSK_OK)
            st = check_tensor_shape(g, &g->tensors[i], err);
        if (st != FSK_OK)
            return st;
    }
    size_t pad = (size_t)((g->alignment - c->pos % g->alignment) % g->alignment);
    if (pad > c->size - c->pos) {
        if (g->n_tensors)
            return fail(err, FSK_ERR_FORMAT, g,
                        "truncated in the padding before the data section");
        pad = c->size - c->pos; /* no tensors: nothing follows, the padding may be left out */
    }
    g->data_offset = c->pos + pad;
    for (size_t i = 0; i < g->n_tensors; i++) {
        fsk_status st = place_tensor(g, &g->tensors[i], err);
        if (st != FSK_OK)
            return st;
    }
    return g->n_tensors ? index_tensors(g, err) : FSK_OK;
}

/* ------------------------------------------------------------------ header and open */

static fsk_status read_header(fsk_gguf *g, struct cur *c, fsk_error *err)
{
    const uint8_t *p = g->base;
    if (g->size < 4)
        return fail(err, FSK_ERR_FORMAT, g, "truncated in the header (%zu bytes)", g->size);
    if (memcmp(p, "GGUF", 4) != 0)
        return fail(err, FSK_ERR_FORMAT, g,
                    "not a GGUF file (it starts with %02x %02x %02x %02x, not \"GGUF\")", p[0],
                    p[1], p[2], p[3]);
    c->pos = 4;
    uint64_t nt, nkv;
    if (!take_u32(c, &g->version))
        return fail(err, FSK_ERR_FORMAT, g, "truncated in the header (%zu bytes)", g->size);
    uint32_t v = g->version;
    if ((v & 0xffff) == 0 && v != 0)
        return fail(err, FSK_ERR_UNSUPPORTED, g,
                    "a big-endian GGUF file (version field %08x); only little-endian files are "
                    "supported", v);
    if (v != 2 && v != 3)
        return fail(err, FSK_ERR_UNSUPPORTED, g, "GGUF version %u is not supported (only 2 and 3)",
                    v);
    if (!take_u64(c, &nt) || !take_u64(c, &nkv))
        return fail(err, FSK_ERR_FORMAT, g, "truncated in the header (%zu bytes)", g->size);
    size_t left = c->size - c->pos;
    if (nkv > left / MIN_KV_BYTES)
        return fail(err, FSK_ERR_FORMAT, g,
                    "truncated in the metadata (%llu keys cannot fit in the %zu bytes left)",
                    (unsigned long long)nkv, left);
    if (nt > (left - nkv * MIN_KV_BYTES) / MIN_TENSOR_BYTES)
        return fail(err, FSK_ERR_FORMAT, g,
                    "truncated in the tensor infos (%llu tensors and %llu keys cannot fit in the "
                    "%zu bytes left)", (unsigned long long)nt, (unsigned long long)nkv, left);
    g->n_kv = (size_t)nkv;
    g->n_tensors = (size_t)nt;
    return FSK_OK;
}

static fsk_status parse(fsk_gguf *g, fsk_error *err)
{
    struct cur c = {g->base, g->size, 0};
    fsk_status st = read_header(g, &c, err);
    if (st == FSK_OK)
        st = read_metadata(g, &c, err);
    if (st == FSK_OK)
        st = read_tensors(g, &c, err);
    return st;
}

/* Takes ownership of a mapping (mapped != 0) or borrows a caller's buffer. */
static fsk_status open_bytes(fsk_gguf **out, const void *data, size_t size, const char *name,
                             int mapped, fsk_error *err)
{
    fsk_gguf *g = calloc(1, sizeof *g);
    char *copy = g ? malloc(strlen(name) + 1) : NULL;
    if (!copy) {
        free(g);
        if (mapped)
            munmap((void *)data, size);
        fsk_gguf tmp = {.name = (char *)name};
        return fail(err, FSK_ERR_NOMEM, &tmp, "out of memory opening the file");
    }
    strcpy(copy, name);
    g->name = copy;
    g->base = data;
    g->size = size;
    g->mapped = mapped;
    fsk_status st = parse(g, err);
    if (st != FSK_OK) {
        fsk_gguf_close(g);
        return st;
    }
    *out = g;
    return FSK_OK;
}

fsk_status fsk_gguf_open_memory(fsk_gguf **out, const void *data, size_t size, const char *name,
                                fsk_error *err)
{
    if (out)
        *out = NULL;
    if (!name)
        name = "(memory)";
    if (!out || (!data && size)) {
        fsk_gguf tmp = {.name = (char *)name};
        return fail(err, FSK_ERR_INVALID_ARG, &tmp, "fsk_gguf_open_memory: %s is NULL",
                    out ? "data" : "out");
    }
    return open_bytes(out, data ? data : "", size, name, 0, err);
}

static fsk_status io_fail(fsk_error *err, const char *path, const char *what, int errnum)
{
    fsk_gguf tmp = {.name = (char *)path};
    return fail(err, FSK_ERR_IO, &tmp, "%s: %s", what, strerror(errnum));
}

fsk_status fsk_gguf_open(fsk_gguf **out, const char *path, fsk_error *err)
{
    if (out)
        *out = NULL;
    if (!out || !path) {
        fsk_gguf tmp = {.name = "fsk_gguf_open"};
        return fail(err, FSK_ERR_INVALID_ARG, &tmp, "%s is NULL", out ? "path" : "out");
    }
    /* O_NONBLOCK: opening a FIFO by mistake must not hang; it has no effect on regular files. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return io_fail(err, path, "cannot open", errno);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return io_fail(err, path, "cannot stat", e);
    }
    fsk_gguf tmp = {.name = (char *)path};
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return S_ISDIR(st.st_mode) ? io_fail(err, path, "cannot map", EISDIR)
                                   : fail(err, FSK_ERR_IO, &tmp, "not a regular file");
    }
    if (st.st_size == 0) {
        close(fd);
        return fail(err, FSK_ERR_FORMAT, &tmp, "the file is empty, not a GGUF file");
    }
    if ((uint64_t)st.st_size > SIZE_MAX) {
        close(fd);
        return fail(err, FSK_ERR_UNSUPPORTED, &tmp, "too large to map in this address space");
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (m == MAP_FAILED)
        return io_fail(err, path, "cannot map", e);
    return open_bytes(out, m, (size_t)st.st_size, path, 1, err);
}

void fsk_gguf_close(fsk_gguf *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->n_kv && g->kvs; i++)
        if (g->kvs[i].type == FSK_GGUF_ARRAY)
            free((void *)g->kvs[i].v.arr.str_off);
    for (size_t i = 0; i < g->n_tensors && g->tensors; i++)
        free((void *)g->tensors[i].name);
    free(g->kvs);
    free(g->kv_by_key);
    free(g->tensors);
    free(g->t_by_name);
    if (g->mapped)
        munmap((void *)g->base, g->size);
    free(g->name);
    free(g);
}

/* ------------------------------------------------------------------ accessors */

const char *fsk_gguf_name(const fsk_gguf *g) { return g->name; }
int fsk_gguf_is_mapped(const fsk_gguf *g) { return g->mapped; }
uint32_t fsk_gguf_version(const fsk_gguf *g) { return g->version; }
size_t fsk_gguf_file_size(const fsk_gguf *g) { return g->size; }
uint64_t fsk_gguf_alignment(const fsk_gguf *g) { return g->alignment; }
size_t fsk_gguf_n_kv(const fsk_gguf *g) { return g->n_kv; }
size_t fsk_gguf_n_tensors(const fsk_gguf *g) { return g->n_tensors; }

const struct fsk_gguf_kv *fsk_gguf_kv_at(const fsk_gguf *g, size_t i)
{
    return i < g->n_kv ? &g->kvs[i] : NULL;
}

void fsk_gguf_data_extent(const fsk_gguf *g, uintptr_t *lo, uintptr_t *hi)
{
    *lo = UINTPTR_MAX;
    *hi = 0;
    for (size_t i = 0; i < fsk_gguf_n_tensors(g); i++) {
        const struct fsk_gguf_tensor *t = fsk_gguf_tensor_at(g, i);
        if (!t->nbytes)
            continue;
        const uintptr_t a = (uintptr_t)t->data, b = a + t->nbytes;
        *lo = a < *lo ? a : *lo;
        *hi = b > *hi ? b : *hi;
    }
}

const struct fsk_gguf_tensor *fsk_gguf_tensor_at(const fsk_gguf *g, size_t i)
{
    return i < g->n_tensors ? &g->tensors[i] : NULL;
}

const struct fsk_gguf_kv *fsk_gguf_find(const fsk_gguf *g, const char *key)
{
    size_t lo = 0, hi = g->n_kv, len = strlen(key);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_key(&g->kv_by_key[mid]->key, key, len);
        if (r == 0)
            return g->kv_by_key[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct fsk_gguf_tensor *fsk_gguf_find_tensor(const fsk_gguf *g, const char *name)
{
    size_t lo = 0, hi = g->n_tensors;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(g->t_by_name[mid]->name, name);
        if (r == 0)
            return g->t_by_name[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *fsk_gguf_vtype_name(enum fsk_gguf_vtype t)
{
    static const char *const names[FSK_GGUF_VTYPE_COUNT] = {
        "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64",
        "f64"};
    return (unsigned)t < FSK_GGUF_VTYPE_COUNT ? names[t] : "unknown type";
}

static const struct fsk_gguf_kv *need_key(const fsk_gguf *g, const char *key, fsk_error *err)
{
    const struct fsk_gguf_kv *kv = fsk_gguf_find(g, key);
    if (!kv)
        fail(err, FSK_ERR_FORMAT, g, "key %.*s is missing", NAME_SHOWN, key);
    return kv;
}

static fsk_status wrong_type(const fsk_gguf *g, const struct fsk_gguf_kv *kv, const char *want,
                             fsk_error *err)
{
    char key[NAME_SHOWN + 4];
    return fail(err, FSK_ERR_FORMAT, g, "key %s is a %s, not %s",
                shown(key, sizeof key, kv->key.ptr, kv->key.len), fsk_gguf_vtype_name(kv->type),
                want);
}

fsk_status fsk_gguf_get_u32(const fsk_gguf *g, const char *key, uint32_t *out, fsk_error *err)
{
    const struct fsk_gguf_kv *kv = need_key(g, key, err);
    if (!kv)
        return FSK_ERR_FORMAT;
    char shown_key[NAME_SHOWN + 4];
    shown(shown_key, sizeof shown_key, kv->key.ptr, kv->key.len);
    if (is_signed(kv->type)) {
        if (kv->v.i < 0 || kv->v.i > (int64_t)UINT32_MAX)
            return fail(err, FSK_ERR_FORMAT, g, "key %s = %lld does not fit in a u32", shown_key,
                        (long long)kv->v.i);
        *out = (uint32_t)kv->v.i;
        return FSK_OK;
    }
    switch (kv->type) {
    case FSK_GGUF_U8: case FSK_GGUF_U16: case FSK_GGUF_U32: case FSK_GGUF_U64: case FSK_GGUF_BOOL:
        if (kv->v.u > UINT32_MAX)
            return fail(err, FSK_ERR_FORMAT, g, "key %s = %llu does not fit in a u32", shown_key,
                        (unsigned long long)kv->v.u);
        *out = (uint32_t)kv->v.u;
        return FSK_OK;
    default:
        return wrong_type(g, kv, "an integer", err);
    }
}

fsk_status fsk_gguf_get_f32(const fsk_gguf *g, const char *key, float *out, fsk_error *err)
{
    const struct fsk_gguf_kv *kv = need_key(g, key, err);
    if (!kv)
        return FSK_ERR_FORMAT;
    if (kv->type != FSK_GGUF_F32 && kv->type != FSK_GGUF_F64)
        return wrong_type(g, kv, "a float", err);
    if (isfinite(kv->v.f) && fabs(kv->v.f) > FLT_MAX)
        return fail(err, FSK_ERR_FORMAT, g, "key %.*s = %g does not fit in an f32", NAME_SHOWN,
                    key, kv->v.f);
    *out = (float)kv->v.f;
    return FSK_OK;
}

fsk_status fsk_gguf_get_str(const fsk_gguf *g, const char *key, struct fsk_gguf_str *out,
                            fsk_error *err)
{
    const struct fsk_gguf_kv *kv = need_key(g, key, err);
    if (!kv)
        return FSK_ERR_FORMAT;
    if (kv->type != FSK_GGUF_STRING)
        return wrong_type(g, kv, "a string", err);
    *out = kv->v.s;
    return FSK_OK;
}

fsk_status fsk_gguf_get_arr(const fsk_gguf *g, const char *key, enum fsk_gguf_vtype elem,
                            const struct fsk_gguf_kv **out, fsk_error *err)
{
    const struct fsk_gguf_kv *kv = need_key(g, key, err);
    if (!kv)
        return FSK_ERR_FORMAT;
    if (kv->type != FSK_GGUF_ARRAY)
        return wrong_type(g, kv, "an array", err);
    if (elem != FSK_GGUF_VTYPE_COUNT && kv->v.arr.type != elem)
        return fail(err, FSK_ERR_FORMAT, g, "key %.*s is an array of %s, not of %s", NAME_SHOWN,
                    key, fsk_gguf_vtype_name(kv->v.arr.type), fsk_gguf_vtype_name(elem));
    *out = kv;
    return FSK_OK;
}

struct fsk_gguf_str fsk_gguf_arr_str(const struct fsk_gguf_kv *kv, uint64_t i)
{
    struct fsk_gguf_str s = {NULL, 0};
    if (kv->type != FSK_GGUF_ARRAY || kv->v.arr.type != FSK_GGUF_STRING || i >= kv->v.arr.n)
        return s;
    const uint8_t *p = (const uint8_t *)kv->v.arr.data + kv->v.arr.str_off[i];
    s.len = load_le(p, 8);
    s.ptr = (const char *)p + 8;
    return s;
}

double fsk_gguf_arr_num(const struct fsk_gguf_kv *kv, uint64_t i)
{
    if (kv->type != FSK_GGUF_ARRAY || i >= kv->v.arr.n)
        return 0;
    uint32_t t = kv->v.arr.type;
    size_t es = scalar_bytes(t);
    if (es == 0)
        return 0;
    struct fsk_gguf_kv one;
    decode_scalar(&one, t, (const uint8_t *)kv->v.arr.data + i * es);
    if (t == FSK_GGUF_F32 || t == FSK_GGUF_F64)
        return one.v.f;
    return is_signed(t) ? (double)one.v.i : (double)one.v.u;
}

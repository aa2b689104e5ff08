/* gguf_writer.c: a tiny in-memory GGUF writer for tests (see gguf_writer.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf_writer.h"
#include "quant.h"

struct buf {
    uint8_t *p;
    size_t len, cap;
};

struct gw {
    uint32_t version;
    uint64_t alignment;
    uint64_t n_kv, n_tensors;
    int forced;
    uint64_t force_kv, force_tensors;
    struct buf kvs, infos, data;
};

static void put(struct buf *b, const void *src, size_t n)
{
    if (n > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n)
            cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "gguf_writer: out of memory\n");
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, src, n);
    b->len += n;
}

static void put_le(struct buf *b, uint64_t v, int n)
{
    uint8_t le[8];
    for (int i = 0; i < n; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    put(b, le, (size_t)n);
}

static void put_str(struct buf *b, const char *s, size_t n)
{
    put_le(b, n, 8);
    put(b, s, n);
}

gw *gw_new(void)
{
    gw *w = calloc(1, sizeof *w);
    if (!w)
        abort();
    w->version = 3;
    w->alignment = 32;
    return w;
}

void gw_free(gw *w)
{
    if (!w)
        return;
    free(w->kvs.p);
    free(w->infos.p);
    free(w->data.p);
    free(w);
}

void gw_set_version(gw *w, uint32_t version) { w->version = version; }
void gw_set_layout_alignment(gw *w, uint64_t alignment) { w->alignment = alignment; }

void gw_set_alignment(gw *w, uint32_t alignment)
{
    gw_kv_u32(w, "general.alignment", alignment);
    w->alignment = alignment;
}

void gw_override_counts(gw *w, uint64_t n_tensors, uint64_t n_kv)
{
    w->forced = 1;
    w->force_tensors = n_tensors;
    w->force_kv = n_kv;
}

void gw_kv_raw(gw *w, const char *key, size_t key_len, uint32_t vtype, const void *value, size_t n)
{
    put_str(&w->kvs, key, key_len);
    put_le(&w->kvs, vtype, 4);
    put(&w->kvs, value, n);
    w->n_kv++;
}

static void kv_int(gw *w, const char *key, uint32_t vtype, uint64_t v, int n)
{
    uint8_t le[8];
    for (int i = 0; i < n; i++)
        le[i] = (uint8_t)(v >> (8 * i));
    gw_kv_raw(w, key, strlen(key), vtype, le, (size_t)n);
}

void gw_kv_u8(gw *w, const char *key, uint8_t v) { kv_int(w, key, FSK_GGUF_U8, v, 1); }
void gw_kv_i8(gw *w, const char *key, int8_t v) { kv_int(w, key, FSK_GGUF_I8, (uint64_t)v, 1); }
void gw_kv_u16(gw *w, const char *key, uint16_t v) { kv_int(w, key, FSK_GGUF_U16, v, 2); }
void gw_kv_i16(gw *w, const char *key, int16_t v) { kv_int(w, key, FSK_GGUF_I16, (uint64_t)v, 2); }
void gw_kv_u32(gw *w, const char *key, uint32_t v) { kv_int(w, key, FSK_GGUF_U32, v, 4); }
void gw_kv_i32(gw *w, const char *key, int32_t v) { kv_int(w, key, FSK_GGUF_I32, (uint64_t)v, 4); }
void gw_kv_u64(gw *w, const char *key, uint64_t v) { kv_int(w, key, FSK_GGUF_U64, v, 8); }
void gw_kv_i64(gw *w, const char *key, int64_t v) { kv_int(w, key, FSK_GGUF_I64, (uint64_t)v, 8); }
void gw_kv_bool(gw *w, const char *key, int v) { kv_int(w, key, FSK_GGUF_BOOL, v != 0, 1); }

void gw_kv_f32(gw *w, const char *key, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    kv_int(w, key, FSK_GGUF_F32, bits, 4);
}

void gw_kv_f64(gw *w, const char *key, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    kv_int(w, key, FSK_GGUF_F64, bits, 8);
}

void gw_kv_str(gw *w, const char *key, const char *v)
{
    gw_kv_str_n(w, key, strlen(key), v, strlen(v));
}

void gw_kv_str_n(gw *w, const char *key, size_t key_len, const char *v, size_t v_len)
{
    put_str(&w->kvs, key, key_len);
    put_le(&w->kvs, FSK_GGUF_STRING, 4);
    put_str(&w->kvs, v, v_len);
    w->n_kv++;
}

static int elem_bytes(enum fsk_gguf_vtype t)
{
    switch (t) {
    case FSK_GGUF_U8: case FSK_GGUF_I8: case FSK_GGUF_BOOL: return 1;
    case FSK_GGUF_U16: case FSK_GGUF_I16: return 2;
    case FSK_GGUF_U32: case FSK_GGUF_I32: case FSK_GGUF_F32: return 4;
    case FSK_GGUF_U64: case FSK_GGUF_I64: case FSK_GGUF_F64: return 8;
    default: return 0;
    }
}

void gw_kv_arr(gw *w, const char *key, enum fsk_gguf_vtype elem, uint64_t n, const void *elems)
{
    int es = elem_bytes(elem);
    put_str(&w->kvs, key, strlen(key));
    put_le(&w->kvs, FSK_GGUF_ARRAY, 4);
    put_le(&w->kvs, (uint64_t)elem, 4);
    put_le(&w->kvs, n, 8);
    const uint8_t *p = elems;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v = 0;
        switch (es) {
        case 1: v = p[i]; break;
        case 2: { uint16_t x; memcpy(&x, p + 2 * i, 2); v = x; } break;
        case 4: { uint32_t x; memcpy(&x, p + 4 * i, 4); v = x; } break;
        case 8: memcpy(&v, p + 8 * i, 8); break;
        default: break;
        }
        put_le(&w->kvs, v, es);
    }
    w->n_kv++;
}

void gw_kv_arr_str(gw *w, const char *key, uint64_t n, const char *const *strs)
{
    put_str(&w->kvs, key, strlen(key));
    put_le(&w->kvs, FSK_GGUF_ARRAY, 4);
    put_le(&w->kvs, FSK_GGUF_STRING, 4);
    put_le(&w->kvs, n, 8);
    for (uint64_t i = 0; i < n; i++)
        put_str(&w->kvs, strs[i], strlen(strs[i]));
    w->n_kv++;
}

void gw_tensor_info(gw *w, const char *name, size_t name_len, uint32_t type, uint32_t n_dims,
                    const uint64_t *ne, uint64_t offset)
{
    put_str(&w->infos, name, name_len);
    put_le(&w->infos, n_dims, 4);
    for (uint32_t d = 0; d < n_dims; d++)
        put_le(&w->infos, ne[d], 8);
    put_le(&w->infos, type, 4);
    put_le(&w->infos, offset, 8);
    w->n_tensors++;
}

void gw_data(gw *w, const void *data, size_t n)
{
    put(&w->data, data, n);
}

static void pad_to(struct buf *b, size_t base, uint64_t alignment)
{
    static const uint8_t zero[64];
    while ((base + b->len) % alignment)
        put(b, zero, 1);
}

uint64_t gw_tensor(gw *w, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *ne,
                   const void *data, size_t nbytes)
{
    pad_to(&w->data, 0, w->alignment);
    uint64_t offset = w->data.len;
    gw_tensor_info(w, name, strlen(name), type, n_dims, ne, offset);
    if (data)
        put(&w->data, data, nbytes);
    else
        for (size_t i = 0; i < nbytes; i++)
            put(&w->data, "", 1);
    return offset;
}

uint8_t *gw_finish(gw *w, size_t *size)
{
    struct buf out = {0};
    put(&out, "GGUF", 4);
    put_le(&out, w->version, 4);
    put_le(&out, w->forced ? w->force_tensors : w->n_tensors, 8);
    put_le(&out, w->forced ? w->force_kv : w->n_kv, 8);
    put(&out, w->kvs.p, w->kvs.len);
    put(&out, w->infos.p, w->infos.len);
    if (w->data.len)
        pad_to(&out, 0, w->alignment);
    put(&out, w->data.p, w->data.len);
    *size = out.len;
    return out.p;
}

int gw_write_file(gw *w, const char *path)
{
    size_t n;
    uint8_t *p = gw_finish(w, &n);
    FILE *f = fopen(path, "wb");
    int bad = !f || fwrite(p, 1, n, f) != n;
    if (f && fclose(f) != 0)
        bad = 1;
    free(p);
    return bad ? -1 : 0;
}

size_t gw_tensor_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne)
{
    size_t n = fsk_type_row_bytes(type, ne[0]);
    for (uint32_t d = 1; d < n_dims; d++)
        n *= (size_t)ne[d];
    return n;
}

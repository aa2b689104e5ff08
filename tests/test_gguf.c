/* test_gguf.c: the GGUF reader against valid, truncated and hostile files, and the gguf package. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gguf.h"
#include "gguf_writer.h"

/* ------------------------------------------------------------------ helpers */

/* Opens a private copy of exactly size bytes, so that any read past the end is caught by
 * valgrind or ASan. */
static fsk_status open_copy(const uint8_t *bytes, size_t size, const char *name, fsk_gguf **g,
                            fsk_error *err, uint8_t **copy)
{
    *copy = malloc(size ? size : 1);
    ck_assert_ptr_nonnull(*copy);
    if (size)
        memcpy(*copy, bytes, size);
    memset(err, 0, sizeof *err);
    return fsk_gguf_open_memory(g, *copy, size, name, err);
}

/* Finishes w, opens it, expects status want and a message containing each of the given
 * substrings (NULL-terminated list). */
static void expect_fail_(gw *w, fsk_status want, const char *const *subs, int line)
{
    size_t size;
    uint8_t *bytes = gw_finish(w, &size), *copy;
    fsk_gguf *g = (fsk_gguf *)1;
    fsk_error err;
    fsk_status st = open_copy(bytes, size, "bad.gguf", &g, &err, &copy);
    ck_assert_msg(st == want, "line %d: status %d, want %d (%s)", line, st, want, err.message);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(err.status, want);
    ck_assert_msg(strncmp(err.message, "bad.gguf: ", 10) == 0, "line %d: message '%s' does not "
                  "name the file", line, err.message);
    for (; *subs; subs++)
        ck_assert_msg(strstr(err.message, *subs), "line %d: message '%s' lacks '%s'", line,
                      err.message, *subs);
    free(copy);
    free(bytes);
    gw_free(w);
}
#define expect_fail(w, want, ...) \
    expect_fail_((w), (want), (const char *const[]){__VA_ARGS__, NULL}, __LINE__)

static float f32_data[64];
static uint8_t q8_data[2 * 2 * 34];

/* A small valid file touching every section: kvs of several types, a string array, F32 and
 * Q8_0 tensors. */
static gw *small_valid(void)
{
    static const char *const toks[] = {"a", "bc", ""};
    static const int32_t ints[] = {1, -2, 3};
    gw *w = gw_new();
    gw_kv_str(w, "general.architecture", "llama");
    gw_kv_u32(w, "llama.block_count", 2);
    gw_kv_f32(w, "llama.rope.freq_base", 10000.0f);
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", 3, toks);
    gw_kv_arr(w, "tokenizer.ggml.token_type", FSK_GGUF_I32, 3, ints);
    gw_kv_bool(w, "tokenizer.ggml.add_bos_token", 1);
    for (int i = 0; i < 64; i++)
        f32_data[i] = (float)i * 0.25f - 3.0f;
    for (size_t i = 0; i < sizeof q8_data; i++)
        q8_data[i] = (uint8_t)(i * 7 + 1);
    gw_tensor(w, "output_norm.weight", FSK_TYPE_F32, 1, (const uint64_t[]){64}, f32_data, 256);
    gw_tensor(w, "blk.0.ffn_up.weight", FSK_TYPE_Q8_0, 2, (const uint64_t[]){64, 2}, q8_data,
              sizeof q8_data);
    return w;
}

/* A writer with one tensor info of the given shape and type, and enough data behind it. */
static gw *one_tensor(uint32_t type, uint32_t n_dims, const uint64_t *ne, uint64_t offset)
{
    gw *w = gw_new();
    gw_kv_str(w, "general.architecture", "llama");
    gw_tensor_info(w, "blk.0.bad", 9, type, n_dims, ne, offset);
    static const uint8_t zeros[256];
    gw_data(w, zeros, sizeof zeros);
    return w;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void wr64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* ------------------------------------------------------------------ valid files */

START_TEST(test_small_valid_file)
{
    size_t size;
    gw *w = small_valid();
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    fsk_gguf *g;
    fsk_error err;
    ck_assert_int_eq(open_copy(bytes, size, "small.gguf", &g, &err, &copy), FSK_OK);
    ck_assert_str_eq(fsk_gguf_name(g), "small.gguf");
    ck_assert_uint_eq(fsk_gguf_version(g), 3);
    ck_assert_uint_eq(fsk_gguf_file_size(g), size);
    ck_assert_uint_eq(fsk_gguf_alignment(g), 32);
    ck_assert_uint_eq(fsk_gguf_n_kv(g), 6);
    ck_assert_uint_eq(fsk_gguf_n_tensors(g), 2);

    const struct fsk_gguf_tensor *t = fsk_gguf_tensor_at(g, 0);
    ck_assert_str_eq(t->name, "output_norm.weight");
    ck_assert_uint_eq(t->n_dims, 1);
    ck_assert_uint_eq(t->ne[0], 64);
    ck_assert_uint_eq(t->ne[1], 1);
    ck_assert_uint_eq(t->ne[3], 1);
    ck_assert_uint_eq(t->type, FSK_TYPE_F32);
    ck_assert_uint_eq(t->offset, 0);
    ck_assert_uint_eq(t->nbytes, 256);
    ck_assert_mem_eq(t->data, f32_data, 256);
    ck_assert_uint_eq(((const uint8_t *)t->data - copy) % 32, 0);
    t = fsk_gguf_find_tensor(g, "blk.0.ffn_up.weight");
    ck_assert_ptr_eq(t, fsk_gguf_tensor_at(g, 1));
    ck_assert_uint_eq(t->type, FSK_TYPE_Q8_0);
    ck_assert_uint_eq(t->ne[1], 2);
    ck_assert_uint_eq(t->offset, 256);
    ck_assert_uint_eq(t->nbytes, sizeof q8_data);
    ck_assert_mem_eq(t->data, q8_data, sizeof q8_data);
    ck_assert_ptr_eq((const uint8_t *)t->data + t->nbytes, copy + size);
    ck_assert_ptr_null(fsk_gguf_find_tensor(g, "blk.0.ffn_up"));
    ck_assert_ptr_null(fsk_gguf_find_tensor(g, "zzz"));
    ck_assert_ptr_null(fsk_gguf_tensor_at(g, 2));
    ck_assert_ptr_null(fsk_gguf_kv_at(g, 6));

    const struct fsk_gguf_kv *kv = fsk_gguf_kv_at(g, 3);
    ck_assert_ptr_eq(kv, fsk_gguf_find(g, "tokenizer.ggml.tokens"));
    ck_assert_int_eq(kv->type, FSK_GGUF_ARRAY);
    ck_assert_int_eq(kv->v.arr.type, FSK_GGUF_STRING);
    ck_assert_uint_eq(kv->v.arr.n, 3);
    struct fsk_gguf_str s = fsk_gguf_arr_str(kv, 1);
    ck_assert_uint_eq(s.len, 2);
    ck_assert_mem_eq(s.ptr, "bc", 2);
    ck_assert_uint_eq(fsk_gguf_arr_str(kv, 2).len, 0);
    ck_assert_ptr_null(fsk_gguf_arr_str(kv, 3).ptr);
    kv = fsk_gguf_find(g, "tokenizer.ggml.token_type");
    ck_assert(fsk_gguf_arr_num(kv, 1) == -2.0);
    ck_assert(fsk_gguf_arr_num(kv, 2) == 3.0);
    ck_assert(fsk_gguf_arr_num(kv, 3) == 0.0);
    ck_assert_ptr_null(fsk_gguf_arr_str(kv, 0).ptr);
    ck_assert_ptr_null(fsk_gguf_find(g, "tokenizer.ggml"));
    ck_assert_ptr_null(fsk_gguf_find(g, "general.architecturex"));
    fsk_gguf_close(g);
    fsk_gguf_close(NULL);
    free(copy);

    /* version 2 has the same layout */
    bytes[4] = 2;
    ck_assert_int_eq(open_copy(bytes, size, "v2.gguf", &g, &err, &copy), FSK_OK);
    ck_assert_uint_eq(fsk_gguf_version(g), 2);
    fsk_gguf_close(g);
    free(copy);
    free(bytes);
}
END_TEST

START_TEST(test_every_kv_type_and_getters)
{
    gw *w = gw_new();
    gw_kv_u8(w, "k.u8", 250);
    gw_kv_i8(w, "k.i8", -5);
    gw_kv_u16(w, "k.u16", 60000);
    gw_kv_i16(w, "k.i16", 300);
    gw_kv_u32(w, "k.u32", 4000000000u);
    gw_kv_i32(w, "k.i32", -1);
    gw_kv_u64(w, "k.u64", 7);
    gw_kv_u64(w, "k.u64big", 1ull << 40);
    gw_kv_i64(w, "k.i64", 123456);
    gw_kv_f32(w, "k.f32", 0.5f);
    gw_kv_f64(w, "k.f64", 2.5);
    gw_kv_f64(w, "k.f64big", 1e300);
    gw_kv_bool(w, "k.bool", 1);
    gw_kv_str(w, "k.str", "h\xc3\xa9llo");
    gw_kv_arr(w, "k.f32s", FSK_GGUF_F32, 2, (const float[]){1.5f, -0.25f});
    gw_kv_arr(w, "k.u16s", FSK_GGUF_U16, 2, (const uint16_t[]){65535, 1});
    gw_kv_arr(w, "k.i8s", FSK_GGUF_I8, 2, (const int8_t[]){-128, 127});
    gw_kv_arr(w, "k.u64s", FSK_GGUF_U64, 1, (const uint64_t[]){1ull << 52});
    gw_kv_arr(w, "k.f64s", FSK_GGUF_F64, 1, (const double[]){-3.75});
    gw_kv_arr(w, "k.bools", FSK_GGUF_BOOL, 3, (const uint8_t[]){1, 0, 1});
    gw_kv_arr(w, "k.empty", FSK_GGUF_U32, 0, NULL);
    size_t size;
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    fsk_gguf *g;
    fsk_error err;
    ck_assert_int_eq(open_copy(bytes, size, "kv.gguf", &g, &err, &copy), FSK_OK);
    ck_assert_uint_eq(fsk_gguf_n_tensors(g), 0);
    ck_assert_uint_eq(fsk_gguf_n_kv(g), 21);

    ck_assert_int_eq(fsk_gguf_find(g, "k.i8")->v.i, -5);
    ck_assert_int_eq(fsk_gguf_find(g, "k.i32")->v.i, -1);
    ck_assert_int_eq(fsk_gguf_find(g, "k.u16")->type, FSK_GGUF_U16);
    ck_assert(fsk_gguf_find(g, "k.f32")->v.f == 0.5);

    static const struct { const char *key; uint32_t want; } ok[] = {
        {"k.u8", 250}, {"k.u16", 60000}, {"k.i16", 300}, {"k.u32", 4000000000u}, {"k.u64", 7},
        {"k.i64", 123456}, {"k.bool", 1}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        uint32_t v = 0;
        ck_assert_int_eq(fsk_gguf_get_u32(g, ok[i].key, &v, &err), FSK_OK);
        ck_assert_uint_eq(v, ok[i].want);
    }
    static const struct { const char *key, *msg; } bad[] = {
        {"k.i8", "k.i8 = -5 does not fit"}, {"k.i32", "k.i32 = -1 does not fit"},
        {"k.u64big", "k.u64big = 1099511627776 does not fit"}, {"k.f32", "k.f32 is a f32"},
        {"k.str", "k.str is a string"}, {"k.f32s", "k.f32s is a array"},
        {"k.nope", "key k.nope is missing"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        uint32_t v = 77;
        ck_assert_int_eq(fsk_gguf_get_u32(g, bad[i].key, &v, &err), FSK_ERR_FORMAT);
        ck_assert_uint_eq(v, 77);
        ck_assert_int_eq(err.status, FSK_ERR_FORMAT);
        ck_assert_msg(strstr(err.message, bad[i].msg), "'%s' lacks '%s'", err.message,
                      bad[i].msg);
        ck_assert(strncmp(err.message, "kv.gguf: ", 9) == 0);
    }

    float f = 0;
    ck_assert_int_eq(fsk_gguf_get_f32(g, "k.f32", &f, &err), FSK_OK);
    ck_assert(f == 0.5f);
    ck_assert_int_eq(fsk_gguf_get_f32(g, "k.f64", &f, &err), FSK_OK);
    ck_assert(f == 2.5f);
    ck_assert_int_eq(fsk_gguf_get_f32(g, "k.f64big", &f, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "k.f64big"));
    ck_assert_int_eq(fsk_gguf_get_f32(g, "k.u32", &f, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "not a float"));
    ck_assert_int_eq(fsk_gguf_get_f32(g, "k.missing", &f, &err), FSK_ERR_FORMAT);

    struct fsk_gguf_str s;
    ck_assert_int_eq(fsk_gguf_get_str(g, "k.str", &s, &err), FSK_OK);
    ck_assert_uint_eq(s.len, 6);
    ck_assert_mem_eq(s.ptr, "h\xc3\xa9llo", 6);
    ck_assert_int_eq(fsk_gguf_get_str(g, "k.u8", &s, &err), FSK_ERR_FORMAT);

    const struct fsk_gguf_kv *a;
    ck_assert_int_eq(fsk_gguf_get_arr(g, "k.f32s", FSK_GGUF_F32, &a, &err), FSK_OK);
    ck_assert(fsk_gguf_arr_num(a, 0) == 1.5 && fsk_gguf_arr_num(a, 1) == -0.25);
    ck_assert_int_eq(fsk_gguf_get_arr(g, "k.f32s", FSK_GGUF_VTYPE_COUNT, &a, &err), FSK_OK);
    ck_assert_int_eq(fsk_gguf_get_arr(g, "k.f32s", FSK_GGUF_I32, &a, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "array of f32, not of i32"));
    ck_assert_int_eq(fsk_gguf_get_arr(g, "k.u8", FSK_GGUF_VTYPE_COUNT, &a, &err), FSK_ERR_FORMAT);
    ck_assert_int_eq(fsk_gguf_get_arr(g, "k.u16s", FSK_GGUF_U16, &a, &err), FSK_OK);
    ck_assert(fsk_gguf_arr_num(a, 0) == 65535.0);
    ck_assert_int_eq(fsk_gguf_get_arr(g, "k.i8s", FSK_GGUF_I8, &a, &err), FSK_OK);
    ck_assert(fsk_gguf_arr_num(a, 0) == -128.0 && fsk_gguf_arr_num(a, 1) == 127.0);
    ck_assert(fsk_gguf_arr_num(fsk_gguf_find(g, "k.u64s"), 0) == 4503599627370496.0);
    ck_assert(fsk_gguf_arr_num(fsk_gguf_find(g, "k.f64s"), 0) == -3.75);
    a = fsk_gguf_find(g, "k.bools");
    ck_assert(fsk_gguf_arr_num(a, 0) == 1 && fsk_gguf_arr_num(a, 1) == 0);
    ck_assert_uint_eq(fsk_gguf_find(g, "k.empty")->v.arr.n, 0);
    ck_assert(fsk_gguf_arr_num(fsk_gguf_find(g, "k.u8"), 0) == 0); /* not an array */

    ck_assert_str_eq(fsk_gguf_vtype_name(FSK_GGUF_F64), "f64");
    ck_assert_str_eq(fsk_gguf_vtype_name(FSK_GGUF_VTYPE_COUNT), "unknown type");
    fsk_gguf_close(g);
    free(copy);
    free(bytes);
}
END_TEST

START_TEST(test_alignment_key)
{
    gw *w = gw_new();
    gw_set_alignment(w, 64);
    gw_tensor(w, "a", FSK_TYPE_F16, 1, (const uint64_t[]){3}, NULL, 6);
    gw_tensor(w, "b", FSK_TYPE_F32, 2, (const uint64_t[]){2, 2}, f32_data, 16);
    size_t size;
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    fsk_gguf *g;
    fsk_error err;
    ck_assert_int_eq(open_copy(bytes, size, "a64.gguf", &g, &err, &copy), FSK_OK);
    ck_assert_uint_eq(fsk_gguf_alignment(g), 64);
    const struct fsk_gguf_tensor *b = fsk_gguf_find_tensor(g, "b");
    ck_assert_uint_eq(b->offset, 64);
    ck_assert_uint_eq(((const uint8_t *)b->data - copy) % 64, 0);
    ck_assert_uint_eq(fsk_gguf_find_tensor(g, "a")->nbytes, 6);
    fsk_gguf_close(g);
    free(copy);
    free(bytes);
}
END_TEST

/* ------------------------------------------------------------------ truncation */

START_TEST(test_truncated_at_every_byte)
{
    size_t size;
    gw *w = small_valid();
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    ck_assert_uint_gt(size, 300);
    for (size_t len = 0; len < size; len++) {
        fsk_gguf *g = (fsk_gguf *)1;
        fsk_error err;
        fsk_status st = open_copy(bytes, len, "cut.gguf", &g, &err, &copy);
        ck_assert_msg(st == FSK_ERR_FORMAT, "cut at %zu of %zu: status %d (%s)", len, size, st,
                      err.message);
        ck_assert_ptr_null(g);
        ck_assert(strncmp(err.message, "cut.gguf: ", 10) == 0);
        ck_assert_msg(strlen(err.message) > 15, "cut at %zu: bare message", len);
        free(copy);
    }
    fsk_gguf *g;
    fsk_error err;
    ck_assert_int_eq(open_copy(bytes, size, "cut.gguf", &g, &err, &copy), FSK_OK);
    fsk_gguf_close(g);
    free(copy);
    free(bytes);
}
END_TEST

START_TEST(test_truncation_messages)
{
    size_t size;
    gw *w = small_valid();
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    fsk_gguf *g;
    fsk_error err;
    /* just before the value of the last kv */
    static const char key[] = "tokenizer.ggml.add_bos_token";
    const uint8_t *at = memmem(bytes, size, key, sizeof key - 1);
    ck_assert_ptr_nonnull(at);
    size_t cut = (size_t)(at - bytes) + sizeof key - 1 + 4;
    ck_assert_int_eq(open_copy(bytes, cut, "m.gguf", &g, &err, &copy), FSK_ERR_FORMAT);
    ck_assert_str_eq(err.message,
                     "m.gguf: truncated in the metadata (key 6 of 6, tokenizer.ggml.add_bos_token)");
    free(copy);
    ck_assert_int_eq(open_copy(bytes, 10, "m.gguf", &g, &err, &copy), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "truncated in the header"));
    free(copy);
    ck_assert_int_eq(open_copy(bytes, size - 1, "m.gguf", &g, &err, &copy), FSK_ERR_FORMAT);
    ck_assert_str_eq(err.message,
                     "m.gguf: tensor blk.0.ffn_up.weight: data ends past the end of the file");
    free(copy);
    free(bytes);
}
END_TEST

/* ------------------------------------------------------------------ hostile headers and kvs */

START_TEST(test_bad_header)
{
    size_t size;
    gw *w = small_valid();
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    static const struct { size_t at; uint8_t byte; fsk_status want; const char *msg; } cases[] = {
        {0, 'X', FSK_ERR_FORMAT, "not a GGUF file"},
        {3, 'f', FSK_ERR_FORMAT, "not a GGUF file"},
        {4, 1, FSK_ERR_UNSUPPORTED, "GGUF version 1 is not supported"},
        {4, 4, FSK_ERR_UNSUPPORTED, "GGUF version 4 is not supported"},
        {4, 0, FSK_ERR_UNSUPPORTED, "GGUF version 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint8_t *b = malloc(size);
        memcpy(b, bytes, size);
        b[cases[i].at] = cases[i].byte;
        fsk_gguf *g = (fsk_gguf *)1;
        fsk_error err;
        ck_assert_int_eq(open_copy(b, size, "h.gguf", &g, &err, &copy), cases[i].want);
        ck_assert_ptr_null(g);
        ck_assert_msg(strstr(err.message, cases[i].msg), "'%s' lacks '%s'", err.message,
                      cases[i].msg);
        free(copy);
        free(b);
    }
    /* a big-endian v3 file */
    uint8_t *b = malloc(size);
    memcpy(b, bytes, size);
    b[4] = 0, b[7] = 3;
    fsk_gguf *g;
    fsk_error err;
    ck_assert_int_eq(open_copy(b, size, "be.gguf", &g, &err, &copy), FSK_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "big-endian"));
    free(copy);
    free(b);
    free(bytes);
}
END_TEST

START_TEST(test_huge_counts)
{
    static const uint64_t counts[] = {UINT64_MAX, UINT64_MAX / 14 + 1, 1ull << 60, 1000000};
    for (size_t i = 0; i < sizeof counts / sizeof *counts; i++) {
        gw *w = small_valid();
        gw_override_counts(w, 2, counts[i]);
        expect_fail(w, FSK_ERR_FORMAT, "cannot fit");
        w = small_valid();
        gw_override_counts(w, counts[i], 6);
        expect_fail(w, FSK_ERR_FORMAT, "cannot fit");
    }
    /* one more tensor or key than there are: runs into the next section and then out */
    gw *w = small_valid();
    gw_override_counts(w, 3, 6);
    expect_fail(w, FSK_ERR_FORMAT, "");
    w = small_valid();
    gw_override_counts(w, 2, 7);
    expect_fail(w, FSK_ERR_FORMAT, "");
}
END_TEST

START_TEST(test_huge_lengths)
{
    size_t size;
    gw *w = small_valid();
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    static const uint64_t lens[] = {UINT64_MAX, UINT64_MAX - 7, 1ull << 63, 100000};
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        wr64(bytes + 24, lens[i]); /* the first key's length */
        fsk_gguf *g;
        fsk_error err;
        ck_assert_int_eq(open_copy(bytes, size, "l.gguf", &g, &err, &copy), FSK_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(err.message, "truncated in the metadata (key 1 of 6"));
        free(copy);
    }
    wr64(bytes + 24, 20);
    ck_assert_uint_eq(rd64(bytes + 24 + 8 + 20 + 4), 5); /* the first value's length */
    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        wr64(bytes + 24 + 8 + 20 + 4, lens[i]);
        fsk_gguf *g;
        fsk_error err;
        ck_assert_int_eq(open_copy(bytes, size, "l.gguf", &g, &err, &copy), FSK_ERR_FORMAT);
        ck_assert_ptr_nonnull(strstr(err.message, "key general.architecture: a string of"));
        free(copy);
    }
    free(bytes);

    for (size_t i = 0; i < sizeof lens / sizeof *lens; i++) {
        uint8_t arr[12] = {FSK_GGUF_U32};
        wr64(arr + 4, lens[i]);
        w = small_valid();
        gw_kv_raw(w, "k.arr", 5, FSK_GGUF_ARRAY, arr, sizeof arr);
        expect_fail(w, FSK_ERR_FORMAT, "key k.arr: an array of", "u32");
        arr[0] = FSK_GGUF_STRING;
        w = small_valid();
        gw_kv_raw(w, "k.arr", 5, FSK_GGUF_ARRAY, arr, sizeof arr);
        expect_fail(w, FSK_ERR_FORMAT, "key k.arr: ");
        uint8_t str[8];
        wr64(str, lens[i]);
        w = small_valid();
        gw_kv_raw(w, "k.str", 5, FSK_GGUF_STRING, str, sizeof str);
        expect_fail(w, FSK_ERR_FORMAT, "key k.str: a string of");
    }
    /* a string array whose third string lies about its length */
    uint8_t sarr[4 + 8 + 2 * 9 + 8] = {FSK_GGUF_STRING};
    wr64(sarr + 4, 3);
    wr64(sarr + 12, 1), sarr[20] = 'x';
    wr64(sarr + 21, 1), sarr[29] = 'y';
    wr64(sarr + 30, 1000);
    w = gw_new();
    gw_kv_raw(w, "k.sarr", 6, FSK_GGUF_ARRAY, sarr, sizeof sarr);
    expect_fail(w, FSK_ERR_FORMAT, "truncated in the metadata (key 1 of 1, k.sarr, string 3 of 3)");
}
END_TEST

START_TEST(test_bad_values)
{
    gw *w = gw_new();
    uint8_t v[16] = {0};
    gw_kv_raw(w, "k.t13", 5, 13, v, 4);
    expect_fail(w, FSK_ERR_FORMAT, "key k.t13: unknown value type 13");
    w = gw_new();
    gw_kv_raw(w, "k.t", 3, 0xffffffffu, v, 4);
    expect_fail(w, FSK_ERR_FORMAT, "unknown value type 4294967295");

    uint8_t nested[4 + 8 + 4 + 8 + 1] = {FSK_GGUF_ARRAY};
    wr64(nested + 4, 1);
    nested[12] = FSK_GGUF_U8;
    wr64(nested + 16, 1);
    w = gw_new();
    gw_kv_raw(w, "k.nested", 8, FSK_GGUF_ARRAY, nested, sizeof nested);
    expect_fail(w, FSK_ERR_UNSUPPORTED, "key k.nested: arrays of arrays are not supported");

    uint8_t arr99[12] = {99};
    w = gw_new();
    gw_kv_raw(w, "k.a99", 5, FSK_GGUF_ARRAY, arr99, sizeof arr99);
    expect_fail(w, FSK_ERR_FORMAT, "key k.a99: unknown array element type 99");

    v[0] = 2;
    w = gw_new();
    gw_kv_raw(w, "k.bool", 6, FSK_GGUF_BOOL, v, 1);
    expect_fail(w, FSK_ERR_FORMAT, "key k.bool: a bool of value 2");
    w = gw_new();
    gw_kv_arr(w, "k.bools", FSK_GGUF_BOOL, 3, (const uint8_t[]){0, 1, 255});
    expect_fail(w, FSK_ERR_FORMAT, "key k.bools: element 2 is a bool of value 255");
}
END_TEST

START_TEST(test_bad_keys)
{
    gw *w = small_valid();
    gw_kv_u32(w, "llama.block_count", 3);
    expect_fail(w, FSK_ERR_FORMAT, "key llama.block_count appears more than once");
    static const struct { const char *key; size_t len; const char *msg; } bad[] = {
        {"", 0, "key 1 of 1 has an empty name"},
        {"a\0b", 3, "key 1 of 1: its name contains a NUL byte"},
        {"k\xff", 2, "key 1 of 1: its name is not valid UTF-8"},
        {"k\xc0\xaf", 3, "not valid UTF-8"},         /* overlong '/' */
        {"k\xed\xa0\x80", 4, "not valid UTF-8"},     /* a surrogate */
        {"k\xf4\x90\x80\x80", 5, "not valid UTF-8"}, /* beyond U+10FFFF */
        {"k\xe2\x98", 3, "not valid UTF-8"},         /* cut short */
        {"k\x80", 2, "not valid UTF-8"},             /* a lone continuation byte */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        w = gw_new();
        gw_kv_str_n(w, bad[i].key, bad[i].len, "v", 1);
        expect_fail(w, FSK_ERR_FORMAT, bad[i].msg);
    }
    /* valid multi-byte keys pass */
    w = gw_new();
    gw_kv_str_n(w, "k\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80", 10, "v", 1);
    size_t size;
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    fsk_gguf *g;
    fsk_error err;
    ck_assert_int_eq(open_copy(bytes, size, "u.gguf", &g, &err, &copy), FSK_OK);
    ck_assert_ptr_nonnull(fsk_gguf_find(g, "k\xc3\xa9\xe2\x98\x83\xf0\x9f\x98\x80"));
    fsk_gguf_close(g);
    free(copy);
    free(bytes);
}
END_TEST

START_TEST(test_bad_alignment)
{
    static const uint32_t bad[] = {0, 3, 48, 0x80000001u};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        gw *w = small_valid();
        gw_kv_u32(w, "general.alignment", bad[i]);
        expect_fail(w, FSK_ERR_FORMAT, "general.alignment", "is not a power of two");
    }
    gw *w = small_valid();
    gw_kv_u64(w, "general.alignment", 32);
    expect_fail(w, FSK_ERR_FORMAT, "key general.alignment is a u64, not a u32");
}
END_TEST

/* ------------------------------------------------------------------ hostile tensor infos */

START_TEST(test_bad_shapes)
{
    static const uint64_t ne5[5] = {32, 1, 1, 1, 1};
    expect_fail(one_tensor(FSK_TYPE_F32, 5, ne5, 0), FSK_ERR_FORMAT,
                "tensor blk.0.bad: 5 dimensions (must be 1 to 4)");
    expect_fail(one_tensor(FSK_TYPE_F32, 0, ne5, 0), FSK_ERR_FORMAT, "0 dimensions");
    expect_fail(one_tensor(FSK_TYPE_F32, 3, (const uint64_t[]){32, 0, 2}, 0), FSK_ERR_FORMAT,
                "tensor blk.0.bad: dimension 1 is 0");
    expect_fail(one_tensor(FSK_TYPE_F32, 1, (const uint64_t[]){0}, 0), FSK_ERR_FORMAT,
                "dimension 0 is 0");
    expect_fail(one_tensor(FSK_TYPE_F32, 3, (const uint64_t[]){32, 1ull << 40, 1ull << 40}, 0),
                FSK_ERR_FORMAT, "tensor blk.0.bad: its element count overflows");
    expect_fail(one_tensor(FSK_TYPE_F32, 1, (const uint64_t[]){UINT64_MAX}, 0), FSK_ERR_FORMAT,
                "overflows");
    expect_fail(one_tensor(FSK_TYPE_Q8_0, 4, (const uint64_t[]){1ull << 62, 2, 1, 1}, 0),
                FSK_ERR_FORMAT, "overflows");
    /* fits in int64 elements but not in bytes: 2^61 F32 elements are 2^63 bytes */
    expect_fail(one_tensor(FSK_TYPE_F32, 2, (const uint64_t[]){1ull << 31, 1ull << 30}, 0),
                FSK_ERR_FORMAT, "");
    expect_fail(one_tensor(FSK_TYPE_Q8_0, 2, (const uint64_t[]){48, 2}, 0), FSK_ERR_FORMAT,
                "tensor blk.0.bad: row length 48 is not a multiple of the Q8_0 block size 32");
    expect_fail(one_tensor(FSK_TYPE_Q4_K, 1, (const uint64_t[]){128}, 0), FSK_ERR_FORMAT,
                "Q4_K block size 256");
}
END_TEST

START_TEST(test_bad_types)
{
    static const uint64_t ne[1] = {32};
    expect_fail(one_tensor(99, 1, ne, 0), FSK_ERR_UNSUPPORTED,
                "bad.gguf: tensor blk.0.bad: unknown tensor type 99");
    expect_fail(one_tensor(4, 1, ne, 0), FSK_ERR_UNSUPPORTED, "unknown tensor type 4");
    expect_fail(one_tensor(0xffffffffu, 1, ne, 0), FSK_ERR_UNSUPPORTED,
                "unknown tensor type 4294967295");
    expect_fail(one_tensor(FSK_TYPE_Q8_K, 1, (const uint64_t[]){256}, 0), FSK_ERR_UNSUPPORTED,
                "tensor blk.0.bad: type Q8_K (15)");
    expect_fail(one_tensor(FSK_TYPE_Q8_1, 1, ne, 0), FSK_ERR_UNSUPPORTED, "Q8_1");
    /* our own ids for layouts made at load: never from a file */
    expect_fail(one_tensor(FSK_TYPE_Q4_1_R8, 1, ne, 0), FSK_ERR_UNSUPPORTED, "unknown tensor type 64");
    expect_fail(one_tensor(FSK_TYPE_Q8_0_R8, 1, ne, 0), FSK_ERR_UNSUPPORTED, "unknown tensor type 65");
    expect_fail(one_tensor(FSK_TYPE_Q4_0_R8, 1, ne, 0), FSK_ERR_UNSUPPORTED, "unknown tensor type 66");
    expect_fail(one_tensor(FSK_TYPE_Q5_0_R8, 1, ne, 0), FSK_ERR_UNSUPPORTED, "unknown tensor type 67");
    expect_fail(one_tensor(FSK_TYPE_Q5_1_R8, 1, ne, 0), FSK_ERR_UNSUPPORTED, "unknown tensor type 68");
    expect_fail(one_tensor(FSK_TYPE_Q4_K_R8, 1, (const uint64_t[]){256}, 0), FSK_ERR_UNSUPPORTED,
                "unknown tensor type 69");
    expect_fail(one_tensor(FSK_TYPE_Q5_K_R8, 1, (const uint64_t[]){256}, 0), FSK_ERR_UNSUPPORTED,
                "unknown tensor type 70");
    expect_fail(one_tensor(FSK_TYPE_Q6_K_R8, 1, (const uint64_t[]){256}, 0), FSK_ERR_UNSUPPORTED,
                "unknown tensor type 71");
}
END_TEST

START_TEST(test_bad_offsets)
{
    /* the data section holds 256 bytes */
    expect_fail(one_tensor(FSK_TYPE_F32, 1, (const uint64_t[]){32}, 1024), FSK_ERR_FORMAT,
                "bad.gguf: tensor blk.0.bad: data starts past the end of the file");
    expect_fail(one_tensor(FSK_TYPE_F32, 1, (const uint64_t[]){32}, 160), FSK_ERR_FORMAT,
                "bad.gguf: tensor blk.0.bad: data ends past the end of the file");
    expect_fail(one_tensor(FSK_TYPE_F32, 1, (const uint64_t[]){65}, 0), FSK_ERR_FORMAT,
                "data ends past the end of the file");
    expect_fail(one_tensor(FSK_TYPE_F32, 1, (const uint64_t[]){32}, UINT64_MAX - 31),
                FSK_ERR_FORMAT, "data starts past the end");
    expect_fail(one_tensor(FSK_TYPE_F32, 1, (const uint64_t[]){32}, 16), FSK_ERR_FORMAT,
                "tensor blk.0.bad: offset 16 is not a multiple of the alignment 32");
    /* exactly at the end is fine */
    gw *w = one_tensor(FSK_TYPE_F32, 1, (const uint64_t[]){32}, 128);
    size_t size;
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    fsk_gguf *g;
    fsk_error err;
    ck_assert_int_eq(open_copy(bytes, size, "end.gguf", &g, &err, &copy), FSK_OK);
    ck_assert_ptr_eq((const uint8_t *)fsk_gguf_tensor_at(g, 0)->data + 128, copy + size);
    fsk_gguf_close(g);
    free(copy);
    free(bytes);
}
END_TEST

START_TEST(test_bad_tensor_sets)
{
    static const uint8_t zeros[512];
    gw *w = gw_new();
    gw_tensor_info(w, "t.a", 3, FSK_TYPE_F32, 1, (const uint64_t[]){32}, 0);
    gw_tensor_info(w, "t.b", 3, FSK_TYPE_F32, 1, (const uint64_t[]){32}, 128);
    gw_tensor_info(w, "t.a", 3, FSK_TYPE_F32, 1, (const uint64_t[]){32}, 256);
    gw_data(w, zeros, 384);
    expect_fail(w, FSK_ERR_FORMAT, "tensor t.a appears more than once");

    w = gw_new();
    gw_tensor_info(w, "t.a", 3, FSK_TYPE_F32, 1, (const uint64_t[]){64}, 0);
    gw_tensor_info(w, "t.b", 3, FSK_TYPE_F32, 1, (const uint64_t[]){32}, 224);
    gw_tensor_info(w, "t.c", 3, FSK_TYPE_F32, 1, (const uint64_t[]){32}, 96);
    gw_data(w, zeros, 384);
    expect_fail(w, FSK_ERR_FORMAT, "tensors t.a and t.c overlap");

    w = gw_new();
    gw_tensor_info(w, "t.a", 3, FSK_TYPE_F32, 1, (const uint64_t[]){32}, 0);
    gw_tensor_info(w, "t.b", 3, FSK_TYPE_F16, 1, (const uint64_t[]){32}, 0);
    gw_data(w, zeros, 384);
    expect_fail(w, FSK_ERR_FORMAT, "overlap");

    static const struct { const char *name; size_t len; const char *msg; } bad[] = {
        {"", 0, "tensor 1 of 1 has an empty name"},
        {"t\0x", 3, "tensor 1 of 1: its name contains a NUL byte"},
        {"t\xfe", 2, "tensor 1 of 1: its name is not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        w = gw_new();
        gw_tensor_info(w, bad[i].name, bad[i].len, FSK_TYPE_F32, 1, (const uint64_t[]){32}, 0);
        gw_data(w, zeros, 128);
        expect_fail(w, FSK_ERR_FORMAT, bad[i].msg);
    }

    /* tensors listed out of offset order, touching but not overlapping, are fine */
    w = gw_new();
    gw_tensor_info(w, "t.b", 3, FSK_TYPE_F32, 1, (const uint64_t[]){32}, 128);
    gw_tensor_info(w, "t.a", 3, FSK_TYPE_F32, 2, (const uint64_t[]){32, 1}, 0);
    gw_data(w, zeros, 256);
    size_t size;
    uint8_t *bytes = gw_finish(w, &size), *copy;
    gw_free(w);
    fsk_gguf *g;
    fsk_error err;
    ck_assert_int_eq(open_copy(bytes, size, "ok.gguf", &g, &err, &copy), FSK_OK);
    ck_assert_ptr_eq(fsk_gguf_find_tensor(g, "t.a"), fsk_gguf_tensor_at(g, 1));
    fsk_gguf_close(g);
    free(copy);
    free(bytes);
}
END_TEST

/* ------------------------------------------------------------------ real files */

static char tmpdir[64];

static void make_tmpdir(void)
{
    strcpy(tmpdir, "/tmp/test_gguf.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

START_TEST(test_open_files)
{
    make_tmpdir();
    char path[128];
    fsk_gguf *g = (fsk_gguf *)1;
    fsk_error err;

    snprintf(path, sizeof path, "%s/model.gguf", tmpdir);
    gw *w = small_valid();
    ck_assert_int_eq(gw_write_file(w, path), 0);
    gw_free(w);
    ck_assert_int_eq(fsk_gguf_open(&g, path, &err), FSK_OK);
    ck_assert_str_eq(fsk_gguf_name(g), path);
    const struct fsk_gguf_tensor *t = fsk_gguf_find_tensor(g, "blk.0.ffn_up.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_mem_eq(t->data, q8_data, sizeof q8_data);
    ck_assert_uint_eq((uintptr_t)fsk_gguf_tensor_at(g, 0)->data % 32, 0);
    fsk_gguf_close(g);
    /* a truncated file on disk names its tensor */
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(truncate(path, st.st_size - 1), 0);
    ck_assert_int_eq(fsk_gguf_open(&g, path, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(err.message, path));
    ck_assert_ptr_nonnull(strstr(err.message, "tensor blk.0.ffn_up.weight: data ends past"));
    unlink(path);

    snprintf(path, sizeof path, "%s/missing.gguf", tmpdir);
    ck_assert_int_eq(fsk_gguf_open(&g, path, &err), FSK_ERR_IO);
    ck_assert_int_eq(err.status, FSK_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, path));
    ck_assert_ptr_nonnull(strstr(err.message, strerror(ENOENT)));

    ck_assert_int_eq(fsk_gguf_open(&g, tmpdir, &err), FSK_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, tmpdir));
    ck_assert_ptr_nonnull(strstr(err.message, strerror(EISDIR)));

    snprintf(path, sizeof path, "%s/empty.gguf", tmpdir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    ck_assert_int_eq(fsk_gguf_open(&g, path, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, path));
    ck_assert_ptr_nonnull(strstr(err.message, "empty"));
    unlink(path);
    rmdir(tmpdir);

    ck_assert_int_eq(fsk_gguf_open(NULL, "x", &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_gguf_open(&g, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_gguf_open_memory(&g, NULL, 10, "m", &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_gguf_open_memory(&g, NULL, 0, "m", NULL), FSK_ERR_FORMAT);
}
END_TEST

/* ------------------------------------------------------------------ the gguf package's view */

/* SHA-256 (FIPS 180-4), to compare tensor bytes with the listing the gguf package wrote. */
static uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
    static const uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    uint32_t w[64], s[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(s, h, sizeof s);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = s[7] + (ror(s[4], 6) ^ ror(s[4], 11) ^ ror(s[4], 25)) +
                      ((s[4] & s[5]) ^ (~s[4] & s[6])) + k[i] + w[i];
        uint32_t t2 = (ror(s[0], 2) ^ ror(s[0], 13) ^ ror(s[0], 22)) +
                      ((s[0] & s[1]) ^ (s[0] & s[2]) ^ (s[1] & s[2]));
        memmove(s + 1, s, 7 * sizeof *s);
        s[4] += t1;
        s[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        h[i] += s[i];
}

static void sha256_hex(const void *data, size_t n, char out[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const uint8_t *p = data;
    size_t i = 0;
    for (; n - i >= 64; i += 64)
        sha256_block(h, p + i);
    uint8_t tail[128] = {0};
    size_t r = n - i, tl = r < 56 ? 64 : 128;
    memcpy(tail, p + i, r);
    tail[r] = 0x80;
    for (int b = 0; b < 8; b++)
        tail[tl - 1 - b] = (uint8_t)((uint64_t)n * 8 >> (8 * b));
    for (size_t b = 0; b < tl; b += 64)
        sha256_block(h, tail + b);
    for (int b = 0; b < 8; b++)
        snprintf(out + 8 * b, 9, "%08x", h[b]);
}

START_TEST(test_sha256)
{
    char hex[65];
    sha256_hex("", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sha256_hex("abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    static const char m[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(m, 56, hex);
    ck_assert_str_eq(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}
END_TEST

static char *data_path(const char *file)
{
    const char *dir = getenv("FSK_TEST_DATA");
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : "tests/data", file);
    return path;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void check_string(struct fsk_gguf_str s, const char *hex, const char *what)
{
    size_t n = strcmp(hex, "-") == 0 ? 0 : strlen(hex) / 2;
    ck_assert_msg(s.len == n, "%s: %llu bytes, listing has %zu", what, (unsigned long long)s.len,
                  n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg((uint8_t)s.ptr[i] == hexval(hex[2 * i]) * 16 + hexval(hex[2 * i + 1]),
                      "%s: byte %zu differs", what, i);
}

/* One scalar kv value against its listing token. */
static void check_scalar(const struct fsk_gguf_kv *kv, const char *tok)
{
    char what[160];
    snprintf(what, sizeof what, "key %.*s", (int)kv->key.len, kv->key.ptr);
    switch (kv->type) {
    case FSK_GGUF_F32: case FSK_GGUF_F64:
        ck_assert_msg(kv->v.f == strtod(tok, NULL), "%s: %a, listing %s", what, kv->v.f, tok);
        break;
    case FSK_GGUF_STRING: check_string(kv->v.s, tok, what); break;
    case FSK_GGUF_I8: case FSK_GGUF_I16: case FSK_GGUF_I32: case FSK_GGUF_I64:
        ck_assert_msg(kv->v.i == strtoll(tok, NULL, 10), "%s: %lld, listing %s", what,
                      (long long)kv->v.i, tok);
        break;
    default:
        ck_assert_msg(kv->v.u == strtoull(tok, NULL, 10), "%s: %llu, listing %s", what,
                      (unsigned long long)kv->v.u, tok);
    }
}

static void check_array(const struct fsk_gguf_kv *kv, char **save)
{
    const char *et = strtok_r(NULL, " \n", save), *n = strtok_r(NULL, " \n", save);
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(fsk_gguf_vtype_name(kv->v.arr.type), et);
    ck_assert_uint_eq(kv->v.arr.n, strtoull(n, NULL, 10));
    for (uint64_t i = 0; i < kv->v.arr.n; i++) {
        const char *tok = strtok_r(NULL, " \n", save);
        ck_assert_ptr_nonnull(tok);
        if (kv->v.arr.type == FSK_GGUF_STRING)
            check_string(fsk_gguf_arr_str(kv, i), tok, "array element");
        else
            ck_assert_msg(fsk_gguf_arr_num(kv, i) == strtod(tok, NULL), "element %llu: %g vs %s",
                          (unsigned long long)i, fsk_gguf_arr_num(kv, i), tok);
    }
    ck_assert_ptr_null(strtok_r(NULL, " \n", save));
}

static void check_tensor(const fsk_gguf *g, size_t idx, const char *name, const uint8_t *base,
                         size_t data_offset, char **save)
{
    const struct fsk_gguf_tensor *t = fsk_gguf_tensor_at(g, idx);
    ck_assert_ptr_nonnull(t); /* same names in the same order */
    ck_assert_str_eq(t->name, name);
    ck_assert_uint_eq(t->type, strtoul(strtok_r(NULL, " \n", save), NULL, 10));
    ck_assert_uint_eq(t->n_dims, strtoul(strtok_r(NULL, " \n", save), NULL, 10));
    for (uint32_t d = 0; d < t->n_dims; d++)
        ck_assert_uint_eq(t->ne[d], strtoull(strtok_r(NULL, " \n", save), NULL, 10));
    ck_assert_uint_eq(t->offset, strtoull(strtok_r(NULL, " \n", save), NULL, 10));
    ck_assert_uint_eq(t->nbytes, strtoull(strtok_r(NULL, " \n", save), NULL, 10));
    char hex[65];
    sha256_hex(t->data, t->nbytes, hex);
    ck_assert_str_eq(hex, strtok_r(NULL, " \n", save));
    if (base)
        ck_assert_uint_eq((size_t)((const uint8_t *)t->data - base), data_offset + t->offset);
    ck_assert_ptr_eq(fsk_gguf_find_tensor(g, t->name), t);
}

/* Compares g with the listing line by line; base is the buffer g reads (NULL: a mapping). */
static void compare_with_listing(const fsk_gguf *g, const uint8_t *base)
{
    FILE *f = fopen(data_path("tiny.gguf.txt"), "r");
    ck_assert_msg(f != NULL, "cannot open %s: set FSK_TEST_DATA", data_path("tiny.gguf.txt"));
    char *line = NULL;
    size_t cap = 0, n_kv = 0, n_t = 0, data_offset = 0;
    while (getline(&line, &cap, f) > 0) {
        char *save, *tag = strtok_r(line, " \n", &save), *a = strtok_r(NULL, " \n", &save);
        ck_assert_ptr_nonnull(a);
        if (strcmp(tag, "version") == 0)
            ck_assert_uint_eq(fsk_gguf_version(g), strtoul(a, NULL, 10));
        else if (strcmp(tag, "alignment") == 0)
            ck_assert_uint_eq(fsk_gguf_alignment(g), strtoull(a, NULL, 10));
        else if (strcmp(tag, "data_offset") == 0)
            data_offset = strtoull(a, NULL, 10);
        else if (strcmp(tag, "kv_count") == 0)
            ck_assert_uint_eq(fsk_gguf_n_kv(g), strtoull(a, NULL, 10));
        else if (strcmp(tag, "tensor_count") == 0)
            ck_assert_uint_eq(fsk_gguf_n_tensors(g), strtoull(a, NULL, 10));
        else if (strcmp(tag, "kv") == 0) {
            const struct fsk_gguf_kv *kv = fsk_gguf_kv_at(g, n_kv++);
            ck_assert_ptr_nonnull(kv);
            ck_assert_uint_eq(kv->key.len, strlen(a)); /* same key, same order */
            ck_assert_mem_eq(kv->key.ptr, a, kv->key.len);
            ck_assert_ptr_eq(fsk_gguf_find(g, a), kv);
            const char *type = strtok_r(NULL, " \n", &save);
            ck_assert_str_eq(fsk_gguf_vtype_name(kv->type), type);
            if (kv->type == FSK_GGUF_ARRAY)
                check_array(kv, &save);
            else
                check_scalar(kv, strtok_r(NULL, " \n", &save));
        } else if (strcmp(tag, "tensor") == 0)
            check_tensor(g, n_t++, a, base, data_offset, &save);
        else
            ck_abort_msg("unknown listing line '%s'", tag);
    }
    free(line);
    fclose(f);
    ck_assert_uint_eq(n_kv, fsk_gguf_n_kv(g));
    ck_assert_uint_eq(n_t, fsk_gguf_n_tensors(g));
    ck_assert_uint_gt(n_kv, 10);
    ck_assert_uint_gt(n_t, 2);
}

START_TEST(test_matches_gguf_package)
{
    fsk_gguf *g;
    fsk_error err;
    char path[1024];
    snprintf(path, sizeof path, "%s", data_path("tiny.gguf"));
    ck_assert_msg(fsk_gguf_open(&g, path, &err) == FSK_OK, "%s", err.message);
    compare_with_listing(g, NULL);
    fsk_gguf_close(g);

    /* in memory, to check the absolute positions as well */
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    ck_assert_uint_lt(n, sizeof buf);
    ck_assert_int_eq(fsk_gguf_open_memory(&g, buf, n, "tiny.gguf", &err), FSK_OK);
    compare_with_listing(g, buf);
    uint32_t v;
    ck_assert_int_eq(fsk_gguf_get_u32(g, "general.alignment", &v, &err), FSK_OK);
    ck_assert_uint_eq(v, 64);
    fsk_gguf_close(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gguf");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_small_valid_file);
    tcase_add_test(tc, test_every_kv_type_and_getters);
    tcase_add_test(tc, test_alignment_key);
    tcase_add_test(tc, test_truncated_at_every_byte);
    tcase_add_test(tc, test_truncation_messages);
    tcase_add_test(tc, test_bad_header);
    tcase_add_test(tc, test_huge_counts);
    tcase_add_test(tc, test_huge_lengths);
    tcase_add_test(tc, test_bad_values);
    tcase_add_test(tc, test_bad_keys);
    tcase_add_test(tc, test_bad_alignment);
    tcase_add_test(tc, test_bad_shapes);
    tcase_add_test(tc, test_bad_types);
    tcase_add_test(tc, test_bad_offsets);
    tcase_add_test(tc, test_bad_tensor_sets);
    tcase_add_test(tc, test_open_files);
    tcase_add_test(tc, test_sha256);
    tcase_add_test(tc, test_matches_gguf_package);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

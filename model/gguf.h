/* gguf.h: a validating, read-only view of a GGUF (v2/v3) file mapped into memory. */
#ifndef FSK_GGUF_H
#define FSK_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "ffnskip.h"
#include "quant.h"

/* Metadata value types as stored in the file. */
enum fsk_gguf_vtype {
    FSK_GGUF_U8 = 0,
    FSK_GGUF_I8 = 1,
    FSK_GGUF_U16 = 2,
    FSK_GGUF_I16 = 3,
    FSK_GGUF_U32 = 4,
    FSK_GGUF_I32 = 5,
    FSK_GGUF_F32 = 6,
    FSK_GGUF_BOOL = 7,
    FSK_GGUF_STRING = 8,
    FSK_GGUF_ARRAY = 9,
    FSK_GGUF_U64 = 10,
    FSK_GGUF_I64 = 11,
    FSK_GGUF_F64 = 12,
    FSK_GGUF_VTYPE_COUNT
};

/* A string inside the mapping: not NUL-terminated. */
struct fsk_gguf_str {
    const char *ptr;
    uint64_t len;
};

struct fsk_gguf_kv {
    struct fsk_gguf_str key;
    enum fsk_gguf_vtype type;
    union {
        uint64_t u;  /* every unsigned integer type and bool */
        int64_t i;   /* every signed integer type */
        double f;    /* F32 and F64 */
        struct fsk_gguf_str s;
        struct {
            enum fsk_gguf_vtype type; /* element type (never ARRAY: nested arrays are rejected) */
            uint64_t n;
            const void *data;         /* raw elements; for strings use fsk_gguf_arr_str */
            const uint64_t *str_off;  /* for string arrays: offset of element i from data */
                                      /* (of its u64 length prefix; use fsk_gguf_arr_str) */
        } arr;
    } v;
};

struct fsk_gguf_tensor {
    const char *name;   /* NUL-terminated copy */
    uint32_t n_dims;    /* 1..4 */
    uint64_t ne[4];     /* ne[0] is the row length (contiguous); unused dims are 1 */
    uint32_t type;      /* enum fsk_type */
    uint64_t offset;    /* from the start of the data section */
    const void *data;   /* inside the mapping, validated to lie within the file */
    size_t nbytes;
};

typedef struct fsk_gguf fsk_gguf;

/* Maps and validates path. Every count, length, dimension, type, offset and size is checked
 * against the file size with overflow-safe arithmetic; the first problem found is described in
 * err, naming the file (and the tensor or key), e.g.
 * "model.gguf: tensor blk.3.ffn_up.weight: data ends past the end of the file".
 * Statuses: FSK_ERR_IO when the OS refuses (open, stat, mmap; a directory), with strerror;
 * FSK_ERR_FORMAT for malformed or truncated content (an empty file included); FSK_ERR_UNSUPPORTED
 * for well-formed files we cannot use (version 1 or newer than 3, big-endian files, nested
 * arrays, unknown tensor types, activation-only types such as Q8_K); FSK_ERR_NOMEM.
 * Keys and tensor names must be non-empty UTF-8 without NUL bytes and unique; string values are
 * only bounds-checked. Tensor data must be aligned, inside the file and not overlap. */
fsk_status fsk_gguf_open(fsk_gguf **out, const char *path, fsk_error *err);
/* The same over a caller's buffer (not copied; must outlive the handle), for tests and fuzzing;
 * name is used in messages. */
fsk_status fsk_gguf_open_memory(fsk_gguf **out, const void *data, size_t size, const char *name,
                                fsk_error *err);
void fsk_gguf_close(fsk_gguf *g);

const char *fsk_gguf_name(const fsk_gguf *g);
uint32_t fsk_gguf_version(const fsk_gguf *g);
size_t fsk_gguf_file_size(const fsk_gguf *g);
/* 1 when the bytes are a mapping of a file that the reader owns, 0 for a caller's buffer. */
int fsk_gguf_is_mapped(const fsk_gguf *g);
uint64_t fsk_gguf_alignment(const fsk_gguf *g);

size_t fsk_gguf_n_kv(const fsk_gguf *g);
const struct fsk_gguf_kv *fsk_gguf_kv_at(const fsk_gguf *g, size_t i);
/* NULL when absent. */
const struct fsk_gguf_kv *fsk_gguf_find(const fsk_gguf *g, const char *key);

/* Typed getters. FSK_ERR_FORMAT with a message naming the key when it is absent (unless a
 * default is documented by the caller), of a wrong type, or out of range. Integers of any width
 * are accepted where the value fits. get_u32 also accepts a bool (0 or 1; the reader rejects any
 * other bool byte). get_f32 accepts F32 and F64 (an F64 beyond the f32 range is out of range),
 * never an integer. On failure *out is left unchanged. */
fsk_status fsk_gguf_get_u32(const fsk_gguf *g, const char *key, uint32_t *out, fsk_error *err);
fsk_status fsk_gguf_get_f32(const fsk_gguf *g, const char *key, float *out, fsk_error *err);
fsk_status fsk_gguf_get_str(const fsk_gguf *g, const char *key, struct fsk_gguf_str *out,
                            fsk_error *err);
/* An array of elem type (FSK_GGUF_VTYPE_COUNT: any). */
fsk_status fsk_gguf_get_arr(const fsk_gguf *g, const char *key, enum fsk_gguf_vtype elem,
                            const struct fsk_gguf_kv **out, fsk_error *err);
/* Element i of a string array ({NULL, 0} when kv is not a string array or i is out of range). */
struct fsk_gguf_str fsk_gguf_arr_str(const struct fsk_gguf_kv *kv, uint64_t i);
/* Element i of a numeric or bool array as a double (exact for every 32-bit type), read without
 * alignment assumptions; 0 when kv is not such an array or i is out of range. */
double fsk_gguf_arr_num(const struct fsk_gguf_kv *kv, uint64_t i);

size_t fsk_gguf_n_tensors(const fsk_gguf *g);
const struct fsk_gguf_tensor *fsk_gguf_tensor_at(const fsk_gguf *g, size_t i);
/* The addresses [*lo, *hi) that the tensors' data span (*lo >= *hi: no tensor holds bytes). */
void fsk_gguf_data_extent(const fsk_gguf *g, uintptr_t *lo, uintptr_t *hi);
/* NULL when absent. */
const struct fsk_gguf_tensor *fsk_gguf_find_tensor(const fsk_gguf *g, const char *name);

const char *fsk_gguf_vtype_name(enum fsk_gguf_vtype t);

#endif

/* gguf_writer.h: a tiny in-memory GGUF writer for tests: valid files, and hostile ones on request.
 *
 * Build a file with gw_new, add kvs and tensors in order, then gw_finish returns the bytes.
 * Nothing is validated here on purpose: a test may write any type id, shape, offset or count.
 * Out of memory aborts (test code only). Little-endian output on any host.
 */
#ifndef FSK_TEST_GGUF_WRITER_H
#define FSK_TEST_GGUF_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "gguf.h"

typedef struct gw gw;

/* A writer for a GGUF v3 file with alignment 32 and no kvs or tensors. */
gw *gw_new(void);
void gw_free(gw *w);

/* The version field written in the header. */
void gw_set_version(gw *w, uint32_t version);
/* Writes the general.alignment kv (u32) and lays tensor data out on that alignment. */
void gw_set_alignment(gw *w, uint32_t alignment);
/* Lays data out on this alignment without writing a kv (for hostile files; must be nonzero). */
void gw_set_layout_alignment(gw *w, uint64_t alignment);
/* Writes these counts in the header instead of the true ones. */
void gw_override_counts(gw *w, uint64_t n_tensors, uint64_t n_kv);

void gw_kv_u8(gw *w, const char *key, uint8_t v);
void gw_kv_i8(gw *w, const char *key, int8_t v);
void gw_kv_u16(gw *w, const char *key, uint16_t v);
void gw_kv_i16(gw *w, const char *key, int16_t v);
void gw_kv_u32(gw *w, const char *key, uint32_t v);
void gw_kv_i32(gw *w, const char *key, int32_t v);
void gw_kv_u64(gw *w, const char *key, uint64_t v);
void gw_kv_i64(gw *w, const char *key, int64_t v);
void gw_kv_f32(gw *w, const char *key, float v);
void gw_kv_f64(gw *w, const char *key, double v);
void gw_kv_bool(gw *w, const char *key, int v);
void gw_kv_str(gw *w, const char *key, const char *v);
/* A key and string value of any bytes (NULs, invalid UTF-8). */
void gw_kv_str_n(gw *w, const char *key, size_t key_len, const char *v, size_t v_len);
/* An array of n fixed-size elements of type elem; elems holds them in host order, packed (one
 * byte per bool). */
void gw_kv_arr(gw *w, const char *key, enum fsk_gguf_vtype elem, uint64_t n, const void *elems);
void gw_kv_arr_str(gw *w, const char *key, uint64_t n, const char *const *strs);
/* A key, a value type and then the given bytes verbatim as the value (nested arrays, unknown
 * types, lying lengths). */
void gw_kv_raw(gw *w, const char *key, size_t key_len, uint32_t vtype, const void *value,
               size_t n);

/* A tensor with its data: the offset is the next aligned position of the data section.
 * data may be NULL (zeros); nbytes is what gets written, whatever the shape says. Returns the
 * offset used. */
uint64_t gw_tensor(gw *w, const char *name, uint32_t type, uint32_t n_dims, const uint64_t *ne,
                   const void *data, size_t nbytes);
/* A tensor info only, with any name bytes and offset; no data is written. */
void gw_tensor_info(gw *w, const char *name, size_t name_len, uint32_t type, uint32_t n_dims,
                    const uint64_t *ne, uint64_t offset);
/* Raw bytes appended to the data section. */
void gw_data(gw *w, const void *data, size_t n);

/* The whole file, malloc'd (free it); the data section is not padded after its last byte. */
uint8_t *gw_finish(gw *w, size_t *size);
/* Writes the file to path; 0 on success. */
int gw_write_file(gw *w, const char *path);

/* Bytes of a tensor of type t and shape ne (for filling data); 0 when the shape is not valid. */
size_t gw_tensor_bytes(uint32_t type, uint32_t n_dims, const uint64_t *ne);

#endif

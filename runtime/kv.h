/* kv.h: the KV cache, F16 like llama.cpp's default. Per (layer, kv head), the values are a row of
 * head_dim halves per position, positions one after the other, and the keys are tiles of
 * FSK_KTILE positions, each tile a row of FSK_KTILE halves per dimension (tdot_f16's layout): the
 * scores take a tile's positions a lane each, with no horizontal sums, and both products read
 * their part of the cache as one ascending stream. */
#ifndef FSK_KV_H
#define FSK_KV_H

#include <stddef.h>
#include <stdint.h>

#include "ffnskip.h"
#include "kernels.h"

struct fsk_kv {
    uint32_t n_layer, n_head_kv, head_dim, n_ctx;
    uint32_t n_ktiles; /* tiles of keys per (layer, kv head): n_ctx / FSK_KTILE rounded up */
    uint16_t *k; /* [layer][kv head][position / FSK_KTILE][head_dim][position % FSK_KTILE] */
    uint16_t *v; /* [layer][kv head][position][head_dim] */
};

fsk_status fsk_kv_init(struct fsk_kv *kv, uint32_t n_layer, uint32_t n_head_kv, uint32_t head_dim,
                       uint32_t n_ctx, fsk_error *err);
void fsk_kv_free(struct fsk_kv *kv);
struct fsk_kernels;
/* Stores position pos of (layer, kv head) as halves: head_dim floats of key and of value, through
 * the table's cvt_f16_f32. */
void fsk_kv_put(struct fsk_kv *kv, const struct fsk_kernels *k, uint32_t l, uint32_t g, uint32_t pos,
                const float *key, const float *val);

/* The key tiles of (layer, kv head), as tdot_f16 reads them: n_ktiles x head_dim x FSK_KTILE halves. */
static inline uint16_t *fsk_kv_ktiles(const struct fsk_kv *kv, uint32_t l, uint32_t g)
{
    return kv->k + ((size_t)l * kv->n_head_kv + g) * kv->n_ktiles * FSK_KTILE * kv->head_dim;
}

/* Half d of the key of (layer, kv head, position t). */
static inline uint16_t fsk_kv_key(const struct fsk_kv *kv, uint32_t l, uint32_t g, uint32_t t, uint32_t d)
{
    return fsk_kv_ktiles(kv, l, g)[((size_t)t / FSK_KTILE * kv->head_dim + d) * FSK_KTILE + t % FSK_KTILE];
}

/* Value of (layer, kv head, position): head_dim halves. */
static inline uint16_t *fsk_kv_v(const struct fsk_kv *kv, uint32_t l, uint32_t g, uint32_t t)
{
    return kv->v + (((size_t)l * kv->n_head_kv + g) * kv->n_ctx + t) * kv->head_dim;
}

#endif

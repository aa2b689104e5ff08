/* kv.h: the KV cache, F16 like llama.cpp's default. Keys and values alike are a row of head_dim
 * halves per position, positions one after the other per (layer, kv head): the scores read the
 * keys and the weighted sum reads the values as one ascending stream each, and a position's write
 * is two short contiguous runs. */
#ifndef FSK_KV_H
#define FSK_KV_H

#include <stddef.h>
#include <stdint.h>

#include "ffnskip.h"

struct fsk_kv {
    uint32_t n_layer, n_head_kv, head_dim, n_ctx;
    uint16_t *k; /* [layer][kv head][position][head_dim] */
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

/* Key of (layer, kv head, position): head_dim halves. */
static inline uint16_t *fsk_kv_k(const struct fsk_kv *kv, uint32_t l, uint32_t g, uint32_t t)
{
    return kv->k + (((size_t)l * kv->n_head_kv + g) * kv->n_ctx + t) * kv->head_dim;
}

/* Value of (layer, kv head, position): head_dim halves. */
static inline uint16_t *fsk_kv_v(const struct fsk_kv *kv, uint32_t l, uint32_t g, uint32_t t)
{
    return kv->v + (((size_t)l * kv->n_head_kv + g) * kv->n_ctx + t) * kv->head_dim;
}

#endif

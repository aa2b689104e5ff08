/* kv.h: the KV cache, F16 like llama.cpp's default, with V stored transposed so both attention
 * products are row-major products over the cache (matmul_f16 over a kv group's query heads). */
#ifndef FSK_KV_H
#define FSK_KV_H

#include <stddef.h>
#include <stdint.h>

#include "ffnskip.h"

struct fsk_kv {
    uint32_t n_layer, n_head_kv, head_dim, n_ctx;
    uint16_t *k; /* [layer][kv head][position][head_dim] */
    uint16_t *v; /* [layer][kv head][head_dim][position] */
};

fsk_status fsk_kv_init(struct fsk_kv *kv, uint32_t n_layer, uint32_t n_head_kv, uint32_t head_dim,
                       uint32_t n_ctx, fsk_error *err);
void fsk_kv_free(struct fsk_kv *kv);
/* Faults in the pages of the values' cache that the first positions write (after any NUMA
 * binding of it). */
void fsk_kv_prefault_values(struct fsk_kv *kv);

struct fsk_kernels;
/* Stores position pos of (layer, kv head) as halves: head_dim floats of key and of value (through
 * the table's cvt_f16_f32 for the key; the values' rows are one half apart per dimension). */
void fsk_kv_put(struct fsk_kv *kv, const struct fsk_kernels *k, uint32_t l, uint32_t g, uint32_t pos,
                const float *key, const float *val);

/* Key of (layer, kv head, position): head_dim halves. */
static inline uint16_t *fsk_kv_k(const struct fsk_kv *kv, uint32_t l, uint32_t g, uint32_t t)
{
    return kv->k + (((size_t)l * kv->n_head_kv + g) * kv->n_ctx + t) * kv->head_dim;
}

/* Row d of the transposed values of (layer, kv head): n_ctx halves, one per position. */
static inline uint16_t *fsk_kv_vrow(const struct fsk_kv *kv, uint32_t l, uint32_t g, uint32_t d)
{
    return kv->v + (((size_t)l * kv->n_head_kv + g) * kv->head_dim + d) * kv->n_ctx;
}

#endif

/* kv.c: allocation of the KV cache (zeroed by the OS; its pages are faulted in lazily, as positions
 * are written). */
#include "config.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

#include "kernels.h"
#include "kv.h"

fsk_status fsk_kv_init(struct fsk_kv *kv, uint32_t n_layer, uint32_t n_head_kv, uint32_t head_dim,
                       uint32_t n_ctx, fsk_error *err)
{
    kv->n_layer = n_layer;
    kv->n_head_kv = n_head_kv;
    kv->head_dim = head_dim;
    kv->n_ctx = n_ctx;
    kv->n_ktiles = (uint32_t)(((size_t)n_ctx + FSK_KTILE - 1) / FSK_KTILE);
    const size_t per_layer = (size_t)n_head_kv * head_dim, padded = (size_t)kv->n_ktiles * FSK_KTILE;
    size_t n = 0;
    if (per_layer != 0 && n_layer != 0 && padded <= SIZE_MAX / per_layer / n_layer / 2)
        n = per_layer * n_layer;
    /* the keys' last tile whole, its positions past n_ctx never written */
    kv->k = n ? calloc(n * padded, sizeof *kv->k) : NULL;
    kv->v = n ? calloc(n * n_ctx, sizeof *kv->v) : NULL;
    if (!kv->k || !kv->v) {
        fsk_kv_free(kv);
        if (err) {
            err->status = FSK_ERR_NOMEM;
            snprintf(err->message, sizeof err->message,
                     "cannot allocate a KV cache of %u tokens (%.1f MiB); try a smaller context", n_ctx,
                     2.0 * (double)per_layer * n_layer * n_ctx * 2 / 1048576.0);
        }
        return FSK_ERR_NOMEM;
    }
    return FSK_OK;
}

void fsk_kv_put(struct fsk_kv *kv, const struct fsk_kernels *k, uint32_t l, uint32_t g, uint32_t pos,
                const float *key, const float *val)
{
    /* the key a half per row of its tile, through the table's conversion 64 at a time */
    uint16_t *tile = fsk_kv_ktiles(kv, l, g) + (size_t)pos / FSK_KTILE * FSK_KTILE * kv->head_dim + pos % FSK_KTILE;
    for (uint32_t d0 = 0; d0 < kv->head_dim; d0 += 64) {
        uint16_t h[64];
        const uint32_t n = kv->head_dim - d0 < 64 ? kv->head_dim - d0 : 64;
        k->cvt_f16_f32(h, key + d0, n);
        for (uint32_t d = 0; d < n; d++)
            tile[(size_t)(d0 + d) * FSK_KTILE] = h[d];
    }
    k->cvt_f16_f32(fsk_kv_v(kv, l, g, pos), val, kv->head_dim);
}

void fsk_kv_free(struct fsk_kv *kv)
{
    free(kv->k);
    free(kv->v);
    kv->k = kv->v = NULL;
}

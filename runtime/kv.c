/* kv.c: allocation of the KV cache (zeroed by the OS; the keys' pages are faulted in lazily). */
#include "config.h"

#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "f16.h"
#include "kernels.h"
#include "kv.h"

fsk_status fsk_kv_init(struct fsk_kv *kv, uint32_t n_layer, uint32_t n_head_kv, uint32_t head_dim,
                       uint32_t n_ctx, fsk_error *err)
{
    kv->n_layer = n_layer;
    kv->n_head_kv = n_head_kv;
    kv->head_dim = head_dim;
    kv->n_ctx = n_ctx;
    size_t per_layer = (size_t)n_head_kv * head_dim;
    size_t n = 0;
    if (per_layer != 0 && n_ctx <= SIZE_MAX / per_layer / n_layer / 2)
        n = per_layer * n_layer * n_ctx;
    kv->k = n ? calloc(n, sizeof *kv->k) : NULL;
    kv->v = n ? calloc(n, sizeof *kv->v) : NULL;
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

/* The values' cache is transposed (a row per dimension, a column per position), so the first
 * position of a prompt touches a page in every row: thousands of page faults inside the first
 * chunk (about 30 ms of a 540 ms, 128-token F16 prompt at 1 thread). They are taken here, at
 * context creation, as llama.cpp takes its KV buffer's when it clears it. Only the pages holding
 * each row's first 2048 positions (one page of halves) are touched, which the first token would
 * fault in anyway, bar a second page where those positions straddle two: long contexts do not
 * become resident up front, and later pages come one per row per 2048 positions. */
void fsk_kv_prefault_values(struct fsk_kv *kv)
{
    if (!kv->v || !kv->n_ctx)
        return;
    long ps = sysconf(_SC_PAGESIZE);
    const uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
    const size_t n = kv->n_ctx < 2048 ? kv->n_ctx : 2048;
    for (uint32_t l = 0; l < kv->n_layer; l++)
        for (uint32_t g = 0; g < kv->n_head_kv; g++)
            for (uint32_t d = 0; d < kv->head_dim; d++) {
                volatile unsigned char *row = (volatile unsigned char *)fsk_kv_vrow(kv, l, g, d);
                const uintptr_t end = (uintptr_t)row + n * sizeof *kv->v;
                row[0] = 0; /* zero already (calloc): the write only maps the page */
                for (uintptr_t at = ((uintptr_t)row / page + 1) * page; at < end; at += page)
                    *(volatile unsigned char *)at = 0;
            }
}

void fsk_kv_put(struct fsk_kv *kv, const struct fsk_kernels *k, uint32_t l, uint32_t g, uint32_t pos,
                const float *key, const float *val)
{
    k->cvt_f16_f32(fsk_kv_k(kv, l, g, pos), key, kv->head_dim);
    for (uint32_t d = 0; d < kv->head_dim; d++)
        fsk_kv_vrow(kv, l, g, d)[pos] = fsk_f32_to_f16(val[d]);
}

void fsk_kv_free(struct fsk_kv *kv)
{
    free(kv->k);
    free(kv->v);
    kv->k = kv->v = NULL;
}

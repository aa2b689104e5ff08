/* bf16_tiles.h (x86): the BF16 prefill matmul's walk over rows and tokens, one text for the AVX2
 * and AVX-512 variants. The including file defines ROWS (rows per group), BF16_TOK (tokens per
 * tile, 2 to 4), QINLINE and its tile_bf16(y, ldy, rows, nr, xs, nt, n, pf) first: the tile
 * computes y[t * ldy + j] = rows[j] . xs[t] for nr rows and nt tokens as the variant's matvec
 * computes each, so every value is bit for bit the matvec's. */
#ifndef FSK_X86_BF16_TILES_H
#define FSK_X86_BF16_TILES_H

#include <stddef.h>
#include <stdint.h>

#include "prefetch.h"

/* nr rows against every token: tiles of BF16_TOK, then the rest as one narrower tile; each width
 * its own unrolled copy. */
QINLINE void rows_bf16_tokens(float *y, size_t ldy, const uint16_t *const *w, int nr, const void *x,
                              size_t x_stride, size_t ntok, size_t n)
{
    const struct fsk_pf_plan none = {0, 0};
    for (size_t k = 0; k < ntok; k += BF16_TOK) {
        const float *xs[BF16_TOK];
        const int nt = ntok - k < BF16_TOK ? (int)(ntok - k) : BF16_TOK;
        for (int t = 0; t < nt; t++)
            xs[t] = (const float *)(const void *)((const char *)x + (k + (size_t)t) * x_stride);
        switch (nt) {
#if BF16_TOK >= 4
        case 4: tile_bf16(y + k * ldy, ldy, w, nr, xs, 4, n, none); break;
#endif
        case 3: tile_bf16(y + k * ldy, ldy, w, nr, xs, 3, n, none); break;
        case 2: tile_bf16(y + k * ldy, ldy, w, nr, xs, 2, n, none); break;
        default: tile_bf16(y + k * ldy, ldy, w, nr, xs, 1, n, none); break;
        }
    }
}

/* Rows ROWS at a time, then one by one, as the matvecs take them; a group of rows stays in L1
 * cache while every token passes over it. */
QINLINE void matmul_bf16_rows(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                              size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const uint16_t *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = (const uint16_t *)((const char *)w + (r + (size_t)j) * row_stride);
        rows_bf16_tokens(y + r, ldy, rows, ROWS, x, x_stride, ntok, ncols);
    }
    for (; r < r1; r++) {
        const uint16_t *row = (const uint16_t *)((const char *)w + r * row_stride);
        rows_bf16_tokens(y + r, ldy, &row, 1, x, x_stride, ntok, ncols);
    }
}

#endif

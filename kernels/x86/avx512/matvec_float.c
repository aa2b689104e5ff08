/* matvec_float.c (avx512): matrix-vector products over a row range for F32 and F16 weights. */
#include "isa.h"
#include "kernels.h"
#include "../prefetch.h"
#include "../tdot_chain.h"
#include "unroll.h"

/* Rows are taken four at a time so that each vector of x is loaded once for four rows and the
 * four FMA chains hide each other's latency. */
#define ROWS 4

static inline const float *row_f32(const void *w, size_t row_stride, size_t r)
{
    return (const float *)((const char *)w + r * row_stride);
}

static inline const uint16_t *row_f16(const void *w, size_t row_stride, size_t r)
{
    return (const uint16_t *)((const char *)w + r * row_stride);
}

/* y[0..3] = rows w[0..3] . x, float sums like ref. */
static void dot4_f32(float *y, const float *const w[ROWS], const float *x, size_t n,
                     struct fsk_pf_plan pf)
{
    __m512 s[ROWS];
    FSK_UNROLL for (int j = 0; j < ROWS; j++)
        s[j] = _mm512_setzero_ps();
    size_t i = 0;
    for (size_t step = 0; i + FSK_AVX512_W <= n; i += FSK_AVX512_W, step++) {
        FSK_PF_STEP(w[0], pf, step);
        __m512 xv = _mm512_loadu_ps(x + i);
        FSK_UNROLL for (int j = 0; j < ROWS; j++)
            s[j] = _mm512_fmadd_ps(_mm512_loadu_ps(w[j] + i), xv, s[j]);
    }
    if (i < n) {
        __mmask16 m = fsk_avx512_tail_mask(n - i);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
        FSK_UNROLL for (int j = 0; j < ROWS; j++)
            s[j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w[j] + i), xv, s[j]);
    }
    FSK_UNROLL for (int j = 0; j < ROWS; j++)
        y[j] = fsk_avx512_hsum_ps(s[j]);
}

void fsk_matvec_f32__avx512(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                            size_t r0, size_t r1)
{
    const struct fsk_pf_plan pf = fsk_pf_plan_make(ROWS, row_stride, ncols / FSK_AVX512_W);
    const float *xf = x;
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const float *rows[ROWS];
        FSK_UNROLL for (int j = 0; j < ROWS; j++)
            rows[j] = row_f32(w, row_stride, r + (size_t)j);
        dot4_f32(y + r, rows, xf, ncols, pf);
    }
    for (; r < r1; r++)
        y[r] = fsk_dot_f32__avx512(row_f32(w, row_stride, r), xf, ncols);
}

/* Sixteen halves widened to floats; exact, every half is a float. */
static inline __m512 load16_f16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* The last k < 16 halves of a row, zero-filled by a masked 16-bit load (AVX512BW+VL), which
 * reads nothing past the end of the weights. */
static inline __m512 load_tail_f16(const uint16_t *p, size_t k)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(fsk_avx512_tail_mask(k), p));
}

static float dot1_f16(const uint16_t *w, const float *x, size_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 2 * FSK_AVX512_W <= n; i += 2 * FSK_AVX512_W) {
        s0 = _mm512_fmadd_ps(load16_f16(w + i), _mm512_loadu_ps(x + i), s0);
        s1 = _mm512_fmadd_ps(load16_f16(w + i + 16), _mm512_loadu_ps(x + i + 16), s1);
    }
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        s0 = _mm512_fmadd_ps(load16_f16(w + i), _mm512_loadu_ps(x + i), s0);
    if (i < n) {
        __m512 xv = _mm512_maskz_loadu_ps(fsk_avx512_tail_mask(n - i), x + i);
        s1 = _mm512_fmadd_ps(load_tail_f16(w + i, n - i), xv, s1);
    }
    return fsk_avx512_hsum_ps(_mm512_add_ps(s0, s1));
}

/* One row of a group of four: one accumulator, columns in order (the matmul's tiles repeat these
 * operations per token). With pf, a weight matrix's row read as a single stream: each line of the
 * bytes `ahead` further on is fetched as the row is read (prefetching changes no result). */
FSK_FORCE_INLINE float dot1x_f16_at(const uint16_t *w, const float *x, size_t n, int pf, size_t ahead)
{
    __m512 s = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 2 * FSK_AVX512_W <= n; i += 2 * FSK_AVX512_W) {
        if (pf) /* an integer address: past the end of the matrix a prefetch is harmless */
            _mm_prefetch((const char *)((uintptr_t)(w + i) + ahead), _MM_HINT_T0);
        s = _mm512_fmadd_ps(load16_f16(w + i), _mm512_loadu_ps(x + i), s);
        s = _mm512_fmadd_ps(load16_f16(w + i + FSK_AVX512_W), _mm512_loadu_ps(x + i + FSK_AVX512_W), s);
    }
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        s = _mm512_fmadd_ps(load16_f16(w + i), _mm512_loadu_ps(x + i), s);
    if (i < n)
        s = _mm512_fmadd_ps(load_tail_f16(w + i, n - i),
                            _mm512_maskz_loadu_ps(fsk_avx512_tail_mask(n - i), x + i), s);
    return fsk_avx512_hsum_ps(s);
}

static float dot1x_f16(const uint16_t *w, const float *x, size_t n)
{
    return dot1x_f16_at(w, x, n, 0, 0);
}

static float dot1x_f16_pf(const uint16_t *w, const float *x, size_t n, size_t ahead)
{
    return dot1x_f16_at(w, x, n, 1, ahead);
}

/* rows[j] . x for 16 rows as dot1x_f16 computes each (one accumulator, columns in order, the
 * same sum at the end), the sixteen sums reduced together: for short rows, such as an attention
 * head's keys (64 halves), the sum at the end costs more than the products. With kb, the rows come
 * already widened from it (4 vectors a row, a row's tail zero-filled as load_tail_f16 fills it):
 * the same products and sums. (Attention has read its keys through tdot_f16 since the keys' cache
 * became tiles; the short-row paths here were made, and measured, for keys a row per position,
 * and serve any F16 matrix of short rows.) */
FSK_FORCE_INLINE void dot16x_f16(float *y, const uint16_t *const rows[16], const float *kb,
                                 const float *x, size_t n)
{
    __m512 s[16];
    FSK_UNROLL16 for (int j = 0; j < 16; j++)
        s[j] = _mm512_setzero_ps();
    size_t i = 0, v = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W, v++) {
        const __m512 xv = _mm512_loadu_ps(x + i);
        FSK_UNROLL16 for (int j = 0; j < 16; j++)
            s[j] = _mm512_fmadd_ps(kb ? _mm512_load_ps(kb + ((size_t)j * 4 + v) * FSK_AVX512_W)
                                      : load16_f16(rows[j] + i),
                                   xv, s[j]);
    }
    if (i < n) {
        const __m512 xv = _mm512_maskz_loadu_ps(fsk_avx512_tail_mask(n - i), x + i);
        FSK_UNROLL16 for (int j = 0; j < 16; j++)
            s[j] = _mm512_fmadd_ps(kb ? _mm512_load_ps(kb + ((size_t)j * 4 + v) * FSK_AVX512_W)
                                      : load_tail_f16(rows[j] + i, n - i),
                                   xv, s[j]);
    }
    fsk_avx512_hsum16_ps(y, s);
}

/* ------------------------------------------------------------------ matmul (prefill)
 * Tiles of four rows by MM_TOK tokens: each vector of a weight row is loaded (and for F16
 * widened) once per tile. The matvec takes rows four at a time from r0 (one accumulator per
 * row, dot4_f32 and dot1x_f16) and the last (r1 - r0) % 4 rows one by one (fsk_dot_f32__avx512,
 * dot1_f16); the
 * matmul splits rows the same way and repeats those operations per token, so each value is bit
 * for bit the matvec's. */
#define MM_TOK 4

/* The tile loops run over constant counts and must be unrolled for their accumulators to live
 * in registers. */
#define MM_INLINE FSK_FORCE_INLINE
#define UNROLL FSK_UNROLL

/* One column step (k 0: a full vector; else the k-element tail) of a 4 x nt tile. */
MM_INLINE void tile_step(int f16, const void *const *w, const float *const *x, int nt, size_t i,
                         size_t k, __m512 s[ROWS][MM_TOK])
{
    const __mmask16 m = fsk_avx512_tail_mask(k ? k : FSK_AVX512_W);
    __m512 xv[MM_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        xv[t] = k ? _mm512_maskz_loadu_ps(m, x[t] + i) : _mm512_loadu_ps(x[t] + i);
    UNROLL for (int j = 0; j < ROWS; j++) {
        __m512 wv;
        if (f16) {
            const uint16_t *p = (const uint16_t *)w[j] + i;
            wv = k ? load_tail_f16(p, k) : load16_f16(p);
        } else {
            const float *p = (const float *)w[j] + i;
            wv = k ? _mm512_maskz_loadu_ps(m, p) : _mm512_loadu_ps(p);
        }
        UNROLL for (int t = 0; t < nt; t++)
            s[j][t] = _mm512_fmadd_ps(wv, xv[t], s[j][t]);
    }
}

/* y[t * ldy + j] = row w[j] . x[t], as dot4_f32 / dot1x_f16 compute it. */
MM_INLINE void tile4(int f16, float *y, size_t ldy, const void *const *w, const float *const *x,
                     int nt, size_t n)
{
    __m512 s[ROWS][MM_TOK];
    UNROLL for (int j = 0; j < ROWS; j++)
        UNROLL for (int t = 0; t < nt; t++)
            s[j][t] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        tile_step(f16, w, x, nt, i, 0, s);
    if (i < n)
        tile_step(f16, w, x, nt, i, n - i, s);
    UNROLL for (int j = 0; j < ROWS; j++)
        UNROLL for (int t = 0; t < nt; t++)
            y[(size_t)t * ldy + (size_t)j] = fsk_avx512_hsum_ps(s[j][t]);
}

static inline const float *tok_f32(const void *x, size_t x_stride, size_t k)
{
    return (const float *)((const char *)x + k * x_stride);
}

/* Short rows: whole blocks of sixteen of [r, end) per token, each block widened once when there
 * are several tokens (a kv group's query heads), staying in L1 cache from one to the next;
 * returns where they stop. */
static size_t short_rows_f16(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                             size_t x_stride, size_t ncols, size_t ntok, size_t r, size_t end)
{
    for (; r + 16 <= end; r += 16) {
        const uint16_t *rows[16];
        FSK_UNROLL16 for (int j = 0; j < 16; j++)
            rows[j] = row_f16(w, row_stride, r + (size_t)j);
        if (ntok == 1) {
            dot16x_f16(y + r, rows, NULL, tok_f32(x, x_stride, 0), ncols);
            continue;
        }
        _Alignas(64) float kb[16 * 4 * FSK_AVX512_W];
        const size_t nv = (ncols + FSK_AVX512_W - 1) / FSK_AVX512_W, full = ncols / FSK_AVX512_W;
        /* the next block's rows, fetched while this one is widened and used: an attention head's
         * keys, one short row per position, which the hardware prefetchers left behind on an
         * Intel Xeon (2026-12-04, decode after 3159 positions, 1 thread: 64.4-65.2 -> 67.1-69.2
         * tok/s). Each row's own bytes only: rows may lie far apart (a head's values, one row
         * per dimension). An integer address: past the last row, a prefetch is harmless. */
        FSK_UNROLL16 for (int j = 0; j < 16; j++)
            FSK_PF_BYTES(rows[j], 16 * row_stride, ncols * sizeof(uint16_t));
        FSK_UNROLL16 for (int j = 0; j < 16; j++)
            for (size_t v = 0; v < nv; v++)
                _mm512_store_ps(kb + ((size_t)j * 4 + v) * FSK_AVX512_W,
                                v < full ? load16_f16(rows[j] + v * FSK_AVX512_W)
                                         : load_tail_f16(rows[j] + v * FSK_AVX512_W, ncols % FSK_AVX512_W));
        for (size_t k = 0; k < ntok; k++)
            dot16x_f16(y + k * ldy + r, rows, kb, tok_f32(x, x_stride, k), ncols);
    }
    return r;
}

/* Contiguous F16 rows (weight matrices) are also fetched FSK_PF_AHEAD bytes ahead of the row being
 * read: on the Intel Xeon of 2026-12-04 the hardware prefetchers alone left the stream short
 * (fsk_bench, 1 thread: 83-96% of the read probe beside each case; 2 KiB ahead 94-104%, 4 KiB
 * 87-99%; 2 threads, the three largest shapes: 77-85% -> 85-95%); on Zen 4 the same had measured
 * level to slower, so it runs where fsk_swpf says. An integer address: past the end of the
 * matrix a prefetch is harmless. */

void fsk_matvec_f16__avx512(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                            size_t r0, size_t r1)
{
    const float *xf = x;
    size_t r = r0;
    const size_t end = r0 + (r1 - r0) / ROWS * ROWS;
    /* The rows of the groups of four are computed as dot1x_f16 computes them (the matmul's tiles
     * repeat its operations) and the last (r1 - r0) % 4 by dot1_f16; which rows are in flight
     * together changes no result. Short rows (an attention head's keys) go sixteen at a time.
     * Rows that do not follow each other in memory (an attention head's values, one row per
     * dimension, a context apart) go four side by side: each is its own stream anyway, and four
     * chains in flight hide the FMA's latency. Contiguous rows, weight matrices, are read one
     * after the other: one ascending stream, which the hardware prefetchers follow, where four
     * short streams side by side they did not (Zen 4, 1 thread, 576x576: about 18 GB/s side by
     * side, 24 in a row). */
    if (ncols <= 4 * FSK_AVX512_W) {
        r = short_rows_f16(y, 0, w, row_stride, x, 0, ncols, 1, r, end);
    } else if (row_stride != ncols * sizeof(uint16_t)) {
        for (; r < end; r += ROWS) { /* the matmul's tile for one token */
            const void *rows[ROWS];
            FSK_UNROLL for (int j = 0; j < ROWS; j++)
                rows[j] = row_f16(w, row_stride, r + (size_t)j);
            tile4(1, y + r, 0, rows, &xf, 1, ncols);
        }
    }
    const int swpf = row_stride == ncols * sizeof(uint16_t) && fsk_swpf();
    for (; r < end; r++) {
        /* a weight matrix's single stream: each line fetched FSK_PF_AHEAD on as the row is read
         * (a whole row's lines fetched at its start, as until 2026-12-05, left 3 KiB rows at
         * 71-75% of the read probe: 48 fetches at once) */
        y[r] = swpf ? dot1x_f16_pf(row_f16(w, row_stride, r), xf, ncols, FSK_PF_AHEAD)
                    : dot1x_f16(row_f16(w, row_stride, r), xf, ncols);
    }
    for (; r < r1; r++)
        y[r] = dot1_f16(row_f16(w, row_stride, r), xf, ncols);
}

/* Four rows against every token: whole tiles of MM_TOK, then one tile of the rest. */
MM_INLINE void group4(int f16, float *y, size_t ldy, const void *const *w, const void *x,
                      size_t x_stride, size_t ntok, size_t n)
{
    size_t k = 0;
    for (; k + MM_TOK <= ntok; k += MM_TOK) {
        const float *xs[MM_TOK];
        for (int t = 0; t < MM_TOK; t++)
            xs[t] = tok_f32(x, x_stride, k + (size_t)t);
        tile4(f16, y + k * ldy, ldy, w, xs, MM_TOK, n);
    }
    const float *xs[MM_TOK - 1];
    for (int t = 0; k + (size_t)t < ntok; t++)
        xs[t] = tok_f32(x, x_stride, k + (size_t)t);
    /* the rest as one narrower tile (a kv group's three query heads: each value row widened once
     * for the three, not once per head); each tile width its own unrolled copy */
    switch (ntok - k) {
    case 3:
        tile4(f16, y + k * ldy, ldy, w, xs, 3, n);
        break;
    case 2:
        tile4(f16, y + k * ldy, ldy, w, xs, 2, n);
        break;
    case 1:
        tile4(f16, y + k * ldy, ldy, w, xs, 1, n);
        break;
    default:
        break;
    }
}

/* n halves at src widened to floats at dst (64-byte aligned) in whole vectors, a tail zero-filled
 * to the next multiple of 16 as load_tail_f16 fills it (dst has room for that many). */
FSK_FORCE_INLINE void widen_f16(float *dst, const uint16_t *src, size_t n)
{
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        _mm512_store_ps(dst + i, load16_f16(src + i));
    if (i < n)
        _mm512_store_ps(dst + i, load_tail_f16(src + i, n - i));
}

/* F16 rows widened once into floats for this many tokens or more: a tile then spends its
 * port cycles on FMAs alone. Each of a tile's FMAs takes a widened vector either way (vcvtph2ps
 * is exact, and load_tail_f16 zero-fills a tail as the masked float load does), so the values
 * are bit for bit those of the F16 tile. On the Intel Xeon of 2026-12-04, where vcvtph2ps
 * takes two of the two FMA ports' slots, the 4 x 4 tile ran at 81-89 GFLOP/s widening as it
 * went (fsk_bench, 1 thread, 64 tokens). */
#define MM_WIDEN_TOK 8
#define MM_WIDEN_COLS 2048 /* four rows of floats on the stack: 32 KiB */

/* Rows four at a time through the tiles, the rest one by one as the matvec takes them; short F16
 * rows sixteen at a time, as the matvec takes them. */
static void matmul_float(int f16, float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                         size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    size_t r = r0;
    if (f16 && ncols <= 4 * FSK_AVX512_W)
        r = short_rows_f16(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r0 + (r1 - r0) / ROWS * ROWS);
    if (f16 && ntok >= MM_WIDEN_TOK && ncols <= MM_WIDEN_COLS) {
        _Alignas(64) float wide[ROWS * MM_WIDEN_COLS];
        const size_t ld = (ncols + FSK_AVX512_W - 1) / FSK_AVX512_W * FSK_AVX512_W;
        for (; r + ROWS <= r1; r += ROWS) {
            const void *rows[ROWS];
            for (int j = 0; j < ROWS; j++) {
                widen_f16(wide + (size_t)j * ld, row_f16(w, row_stride, r + (size_t)j), ncols);
                rows[j] = wide + (size_t)j * ld;
            }
            group4(0, y + r, ldy, rows, x, x_stride, ntok, ncols);
        }
    }
    for (; r + ROWS <= r1; r += ROWS) {
        const void *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = (const char *)w + (r + (size_t)j) * row_stride;
        group4(f16, y + r, ldy, rows, x, x_stride, ntok, ncols);
    }
    for (; r < r1; r++)
        for (size_t k = 0; k < ntok; k++) {
            const float *xk = tok_f32(x, x_stride, k);
            y[k * ldy + r] = f16 ? dot1_f16(row_f16(w, row_stride, r), xk, ncols)
                                 : fsk_dot_f32__avx512(row_f32(w, row_stride, r), xk, ncols);
        }
}

void fsk_matmul_f32__avx512(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                            size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    matmul_float(0, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
}

void fsk_matmul_f16__avx512(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                            size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    matmul_float(1, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
}

/* ------------------------------------------------------------------ weighted sums of F16 rows
 * Attention's values, a row of head_dim halves per position, read once per position for up to
 * four weight vectors (a kv group's query heads) in a tile of up to 64 columns: sixteen
 * accumulators, a lane per column, each taking its terms row after row by one FMA as ref's fmaf
 * does, so the floats are ref's. Each row is widened once for the tile's weight vectors. The rows
 * follow each other in memory (one stream), fetched WSUM_PF_ROWS rows ahead. */
#define WSUM_COLS (4 * FSK_AVX512_W)
#define WSUM_PF_ROWS 16

FSK_FORCE_INLINE void wsum_tile(int nt, float *y, size_t ldy, const uint16_t *v, size_t row_stride,
                                const float *a, size_t a_stride, size_t nc, size_t r0, size_t r1)
{
    __mmask16 m[4];
    FSK_UNROLL for (int k = 0; k < 4; k++) {
        const size_t at = (size_t)k * FSK_AVX512_W;
        m[k] = fsk_avx512_tail_mask(nc <= at ? 0 : nc - at >= FSK_AVX512_W ? FSK_AVX512_W : nc - at);
    }
    __m512 s[4][4];
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int k = 0; k < 4; k++)
            s[t][k] = _mm512_setzero_ps();
    const size_t bytes = nc * sizeof(uint16_t);
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *row = row_f16(v, row_stride, r);
        FSK_PF_BYTES(row, WSUM_PF_ROWS * row_stride, bytes);
        __m512 w[4];
        FSK_UNROLL for (int k = 0; k < 4; k++)
            w[k] = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m[k], row + (size_t)k * FSK_AVX512_W));
        FSK_UNROLL for (int t = 0; t < nt; t++) {
            const __m512 b = _mm512_set1_ps(a[(size_t)t * a_stride + r]);
            FSK_UNROLL for (int k = 0; k < 4; k++)
                s[t][k] = _mm512_fmadd_ps(b, w[k], s[t][k]);
        }
    }
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int k = 0; k < 4; k++)
            _mm512_mask_storeu_ps(y + (size_t)t * ldy + (size_t)k * FSK_AVX512_W, m[k], s[t][k]);
}

void fsk_wsum_f16__avx512(float *y, size_t ldy, const void *v, size_t row_stride, const float *a,
                          size_t a_stride, size_t ncols, size_t nw, size_t r0, size_t r1)
{
    for (size_t t0 = 0; t0 < nw; t0 += 4) {
        const float *at = a + t0 * a_stride;
        float *yt = y + t0 * ldy;
        for (size_t j = 0; j < ncols; j += WSUM_COLS) {
            const uint16_t *vj = (const uint16_t *)v + j;
            const size_t nc = ncols - j < WSUM_COLS ? ncols - j : WSUM_COLS;
            switch (nw - t0 < 4 ? nw - t0 : 4) {
            case 1:
                wsum_tile(1, yt + j, ldy, vj, row_stride, at, a_stride, nc, r0, r1);
                break;
            case 2:
                wsum_tile(2, yt + j, ldy, vj, row_stride, at, a_stride, nc, r0, r1);
                break;
            case 3:
                wsum_tile(3, yt + j, ldy, vj, row_stride, at, a_stride, nc, r0, r1);
                break;
            default:
                wsum_tile(4, yt + j, ldy, vj, row_stride, at, a_stride, nc, r0, r1);
                break;
            }
        }
    }
}

/* ------------------------------------------------------------------ scores against key tiles
 * Up to TD_TT tiles of keys (FSK_KTILE positions each, a row of 16 halves per dimension) are
 * widened into floats once, then each query's scores for them accumulate a lane per position over
 * the dimensions in order, by one FMA each (ref's fmaf): no horizontal sums, and the floats are
 * ref's. Up to TD_QT queries at a time over the widened tiles: sixteen chains for the FMA's
 * latency. Lanes at or past p1 are neither read (a masked load: the next position may be being
 * written) nor stored; lanes before p0 are not stored. */
#define TD_TT 4
#define TD_QT 4
#define TD_MAXCOLS 128 /* dimensions for four tiles in the buffer: 32 KiB of floats */

FSK_FORCE_INLINE void td_block(int nb, int nt, float *y, size_t ldy, const float *buf, size_t ncols,
                               const float *q, size_t q_stride, const __mmask16 *sm)
{
    __m512 s[TD_QT][TD_TT];
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int j = 0; j < nb; j++)
            s[t][j] = _mm512_setzero_ps();
    for (size_t d = 0; d < ncols; d++)
        FSK_UNROLL for (int t = 0; t < nt; t++) {
            const __m512 b = _mm512_set1_ps(q[(size_t)t * q_stride + d]);
            FSK_UNROLL for (int j = 0; j < nb; j++)
                s[t][j] = _mm512_fmadd_ps(b, _mm512_load_ps(buf + ((size_t)j * ncols + d) * FSK_KTILE), s[t][j]);
        }
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int j = 0; j < nb; j++)
            _mm512_mask_storeu_ps(y + (size_t)t * ldy + (size_t)j * FSK_KTILE, sm[j], s[t][j]);
}

#define TD_CASE(B, T)                                                        \
    case (B) * 8 + (T):                                                      \
        td_block(B, T, yb + t0 * ldy, ldy, buf, ncols, q + t0 * q_stride, q_stride, m); \
        break;

void fsk_tdot_f16__avx512(float *y, size_t ldy, const void *k, const float *q, size_t q_stride,
                          size_t ncols, size_t nq, size_t p0, size_t p1)
{
    const uint16_t *kt = k;
    const size_t tile = (size_t)FSK_KTILE * ncols; /* halves */
    const size_t b_end = (p1 + FSK_KTILE - 1) / FSK_KTILE;
    const size_t tt = ncols <= TD_MAXCOLS ? TD_TT : ncols <= 2 * TD_MAXCOLS ? 2 : 1;
    if (p0 >= p1)
        return;
    if (ncols > TD_TT * TD_MAXCOLS) { /* no room to widen a tile: one chain per score */
        fsk_tdot_chains(y, ldy, kt, q, q_stride, ncols, nq, p0, p1);
        return;
    }
    _Alignas(64) float buf[TD_TT * TD_MAXCOLS * FSK_KTILE];
    for (size_t b0 = p0 / FSK_KTILE; b0 < b_end; b0 += tt) {
        const size_t nb = b_end - b0 < tt ? b_end - b0 : tt;
        __mmask16 m[TD_TT];
        for (size_t j = 0; j < nb; j++) {
            const size_t ts = (b0 + j) * FSK_KTILE;
            const size_t lo = p0 > ts ? p0 - ts : 0, hi = p1 - ts < FSK_KTILE ? p1 - ts : FSK_KTILE;
            const __mmask16 rd = fsk_avx512_tail_mask(hi);
            m[j] = (__mmask16)(rd & ~fsk_avx512_tail_mask(lo));
            const uint16_t *src = kt + (b0 + j) * tile;
            float *dst = buf + j * ncols * FSK_KTILE;
            for (size_t d = 0; d < ncols; d++) {
                /* the tiles after this block's, a row's 32 bytes at a time */
                FSK_PF_BYTES(src + d * FSK_KTILE, tt * tile * sizeof(uint16_t), 32);
                _mm512_store_ps(dst + d * FSK_KTILE,
                                _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(rd, src + d * FSK_KTILE)));
            }
        }
        float *yb = y + b0 * FSK_KTILE;
        for (size_t t0 = 0; t0 < nq; t0 += TD_QT) {
            const size_t nt = nq - t0 < TD_QT ? nq - t0 : TD_QT;
            switch (nb * 8 + nt) {
                TD_CASE(1, 1) TD_CASE(1, 2) TD_CASE(1, 3) TD_CASE(1, 4)
                TD_CASE(2, 1) TD_CASE(2, 2) TD_CASE(2, 3) TD_CASE(2, 4)
                TD_CASE(3, 1) TD_CASE(3, 2) TD_CASE(3, 3) TD_CASE(3, 4)
                TD_CASE(4, 1) TD_CASE(4, 2) TD_CASE(4, 3) TD_CASE(4, 4)
            default:
                break;
            }
        }
    }
}
#undef TD_CASE

/* matvec_float.c (avx2): matrix-vector products over a row range for F32 and F16 (F16C) weights. */
#include <string.h>

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
    __m256 s[ROWS];
    FSK_UNROLL for (int j = 0; j < ROWS; j++)
        s[j] = _mm256_setzero_ps();
    size_t i = 0;
    for (size_t step = 0; i + FSK_AVX2_W <= n; i += FSK_AVX2_W, step++) {
        FSK_PF_STEP(w[0], pf, step);
        __m256 xv = _mm256_loadu_ps(x + i);
        FSK_UNROLL for (int j = 0; j < ROWS; j++)
            s[j] = _mm256_fmadd_ps(_mm256_loadu_ps(w[j] + i), xv, s[j]);
    }
    if (i < n) {
        __m256i m = fsk_avx2_tail_mask(n - i);
        __m256 xv = _mm256_maskload_ps(x + i, m);
        FSK_UNROLL for (int j = 0; j < ROWS; j++)
            s[j] = _mm256_fmadd_ps(_mm256_maskload_ps(w[j] + i, m), xv, s[j]);
    }
    FSK_UNROLL for (int j = 0; j < ROWS; j++)
        y[j] = fsk_avx2_hsum_ps(s[j]);
}

void fsk_matvec_f32__avx2(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    const struct fsk_pf_plan pf = fsk_pf_plan_make(ROWS, row_stride, ncols / FSK_AVX2_W);
    const float *xf = x;
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const float *rows[ROWS];
        FSK_UNROLL for (int j = 0; j < ROWS; j++)
            rows[j] = row_f32(w, row_stride, r + (size_t)j);
        dot4_f32(y + r, rows, xf, ncols, pf);
    }
    for (; r < r1; r++)
        y[r] = fsk_dot_f32__avx2(row_f32(w, row_stride, r), xf, ncols);
}

/* Eight halves widened to floats; exact, every half is a float. */
static inline __m256 load8_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* The last k < 8 halves of a row, zero-filled: AVX2 has no 16-bit masked load, and reading a
 * whole vector could run past the end of the weights. The pairs go through a 32-bit masked load
 * (masked-off lanes are never read), an odd last half through a scalar load moved into its lane.
 * A memcpy into a zeroed array did the same and dominated attention's value products while the
 * values' cache was transposed (rows as long as the positions so far, ending in a tail seven
 * times out of eight). */
static inline __m256 load_tail_f16(const uint16_t *p, size_t k)
{
    static const int32_t lanes[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
    /* byte shuffles that put bytes 0 and 1 at half j's place and zero every other byte */
    static const uint8_t place[7][16] = {
        {0x00, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
        {0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
        {0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
        {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
        {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80},
        {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x80, 0x80, 0x80, 0x80},
        {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x80, 0x80},
    };
    const __m128i m = _mm_loadu_si128((const __m128i *)(lanes + 4 - k / 2));
    __m128i v = _mm_maskload_epi32((const int *)(const void *)p, m);
    if (k & 1) {
        const __m128i last = _mm_cvtsi32_si128(p[k - 1]);
        v = _mm_or_si128(v, _mm_shuffle_epi8(last, _mm_loadu_si128((const __m128i *)place[k - 1])));
    }
    return _mm256_cvtph_ps(v);
}

/* One row of a group of four: one accumulator, columns in order (the matmul's tiles repeat these
 * operations per token). With pf, a weight matrix's row read as a single stream: each line of the
 * bytes `ahead` further on is fetched as the row is read (prefetching changes no result). */
FSK_FORCE_INLINE float dot1x_f16_at(const uint16_t *w, const float *x, size_t n, int pf, size_t ahead)
{
    __m256 s = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 4 * FSK_AVX2_W <= n; i += 4 * FSK_AVX2_W) {
        if (pf) /* an integer address: past the end of the matrix a prefetch is harmless */
            _mm_prefetch((const char *)((uintptr_t)(w + i) + ahead), _MM_HINT_T0);
        FSK_UNROLL for (int v = 0; v < 4; v++)
            s = _mm256_fmadd_ps(load8_f16(w + i + (size_t)v * FSK_AVX2_W),
                                _mm256_loadu_ps(x + i + (size_t)v * FSK_AVX2_W), s);
    }
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        s = _mm256_fmadd_ps(load8_f16(w + i), _mm256_loadu_ps(x + i), s);
    if (i < n)
        s = _mm256_fmadd_ps(load_tail_f16(w + i, n - i),
                            _mm256_maskload_ps(x + i, fsk_avx2_tail_mask(n - i)), s);
    return fsk_avx2_hsum_ps(s);
}

static float dot1x_f16(const uint16_t *w, const float *x, size_t n)
{
    return dot1x_f16_at(w, x, n, 0, 0);
}

static float dot1x_f16_pf(const uint16_t *w, const float *x, size_t n, size_t ahead)
{
    return dot1x_f16_at(w, x, n, 1, ahead);
}

static float dot1_f16(const uint16_t *w, const float *x, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 2 * FSK_AVX2_W <= n; i += 2 * FSK_AVX2_W) {
        s0 = _mm256_fmadd_ps(load8_f16(w + i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(load8_f16(w + i + 8), _mm256_loadu_ps(x + i + 8), s1);
    }
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        s0 = _mm256_fmadd_ps(load8_f16(w + i), _mm256_loadu_ps(x + i), s0);
    if (i < n) {
        __m256 xv = _mm256_maskload_ps(x + i, fsk_avx2_tail_mask(n - i));
        s1 = _mm256_fmadd_ps(load_tail_f16(w + i, n - i), xv, s1);
    }
    return fsk_avx2_hsum_ps(_mm256_add_ps(s0, s1));
}

/* rows[j] . x for 8 rows as dot1x_f16 computes each, the eight sums reduced together: for short
 * rows (an attention head's keys) the sum at the end costs more than the products. With kb, the
 * rows come already widened from it (8 vectors a row, a row's tail zero-filled as load_tail_f16
 * fills it): the same products and sums. (As in the AVX-512 file: made for keys a row per
 * position, before the keys' tiles and tdot_f16; any F16 matrix of short rows takes them.) */
FSK_FORCE_INLINE void dot8x_f16(float *y, const uint16_t *const rows[8], const float *kb, const float *x,
                                size_t n)
{
    __m256 s[8];
    FSK_UNROLL for (int j = 0; j < 8; j++)
        s[j] = _mm256_setzero_ps();
    size_t i = 0, v = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W, v++) {
        const __m256 xv = _mm256_loadu_ps(x + i);
        FSK_UNROLL for (int j = 0; j < 8; j++)
            s[j] = _mm256_fmadd_ps(kb ? _mm256_load_ps(kb + ((size_t)j * 8 + v) * FSK_AVX2_W)
                                      : load8_f16(rows[j] + i),
                                   xv, s[j]);
    }
    if (i < n) {
        const __m256 xv = _mm256_maskload_ps(x + i, fsk_avx2_tail_mask(n - i));
        FSK_UNROLL for (int j = 0; j < 8; j++)
            s[j] = _mm256_fmadd_ps(kb ? _mm256_load_ps(kb + ((size_t)j * 8 + v) * FSK_AVX2_W)
                                      : load_tail_f16(rows[j] + i, n - i),
                                   xv, s[j]);
    }
    fsk_avx2_hsum8_ps(y, s);
}

/* Short rows: whole blocks of eight of [r, end) per token, each block widened once when there are
 * many tokens (a prefill tile's queries), staying in L1 cache from one to the next; returns where
 * they stop. */
static size_t short_rows_f16(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                             size_t x_stride, size_t ncols, size_t ntok, size_t r, size_t end)
{
    const int swpf = fsk_swpf();
    for (; r + 8 <= end; r += 8) {
        const uint16_t *rows[8];
        FSK_UNROLL for (int j = 0; j < 8; j++)
            rows[j] = row_f16(w, row_stride, r + (size_t)j);
        /* the next block's rows, each row's own bytes, fetched while this one is used (decode
         * attention's keys, as the AVX-512 variant does; a lone query is a matvec's stream) */
        if (ntok > 1 && swpf)
            FSK_UNROLL for (int j = 0; j < 8; j++)
                FSK_PF_BYTES(rows[j], 8 * row_stride, ncols * sizeof(uint16_t));
        if (ntok < 4) { /* a kv group's heads in decoding: widening them again cost no more */
            for (size_t k = 0; k < ntok; k++)
                dot8x_f16(y + k * ldy + r, rows, NULL, (const float *)((const char *)x + k * x_stride), ncols);
            continue;
        }
        _Alignas(32) float kb[8 * 8 * FSK_AVX2_W];
        const size_t nv = (ncols + FSK_AVX2_W - 1) / FSK_AVX2_W, full = ncols / FSK_AVX2_W;
        FSK_UNROLL for (int j = 0; j < 8; j++)
            for (size_t v = 0; v < nv; v++)
                _mm256_store_ps(kb + ((size_t)j * 8 + v) * FSK_AVX2_W,
                                v < full ? load8_f16(rows[j] + v * FSK_AVX2_W)
                                         : load_tail_f16(rows[j] + v * FSK_AVX2_W, ncols % FSK_AVX2_W));
        for (size_t k = 0; k < ntok; k++)
            dot8x_f16(y + k * ldy + r, rows, kb, (const float *)((const char *)x + k * x_stride), ncols);
    }
    return r;
}

/* ------------------------------------------------------------------ matmul (prefill)
 * Tiles of four rows by MM_TOK tokens: each vector of a weight row is loaded (and for F16
 * widened) once per tile. The matvec takes rows four at a time from r0 (one accumulator per
 * row, dot4_f32 and dot1x_f16) and the last (r1 - r0) % 4 rows one by one (fsk_dot_f32__avx2,
 * dot1_f16); the
 * matmul splits rows the same way and repeats those operations per token, so each value is bit
 * for bit the matvec's. */
#define MM_TOK 3

/* The tile loops run over constant counts and must be unrolled for their accumulators to live
 * in registers. */
#define MM_INLINE FSK_FORCE_INLINE
#define UNROLL FSK_UNROLL

/* Eight values of row w from column i (all of them: f16 0, full vector; else the last k). */
MM_INLINE __m256 wload_f32(const void *w, size_t i, size_t k, __m256i m)
{
    const float *p = (const float *)w + i;
    return k ? _mm256_maskload_ps(p, m) : _mm256_loadu_ps(p);
}

MM_INLINE __m256 wload_f16(const void *w, size_t i, size_t k, __m256i m)
{
    (void)m;
    const uint16_t *p = (const uint16_t *)w + i;
    return k ? load_tail_f16(p, k) : load8_f16(p);
}

/* One column step (k 0: a full vector; else the k-element tail) of a 4 x nt tile. */
MM_INLINE void tile_step(int f16, const void *const *w, const float *const *x, int nt, size_t i,
                         size_t k, __m256 s[ROWS][MM_TOK])
{
    const __m256i m = fsk_avx2_tail_mask(k ? k : FSK_AVX2_W);
    __m256 xv[MM_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        xv[t] = k ? _mm256_maskload_ps(x[t] + i, m) : _mm256_loadu_ps(x[t] + i);
    UNROLL for (int j = 0; j < ROWS; j++) {
        __m256 wv = f16 ? wload_f16(w[j], i, k, m) : wload_f32(w[j], i, k, m);
        UNROLL for (int t = 0; t < nt; t++)
            s[j][t] = _mm256_fmadd_ps(wv, xv[t], s[j][t]);
    }
}

/* y[t * ldy + j] = row w[j] . x[t], as dot4_f32 / dot1x_f16 compute it. */
MM_INLINE void tile4(int f16, float *y, size_t ldy, const void *const *w, const float *const *x,
                     int nt, size_t n)
{
    __m256 s[ROWS][MM_TOK];
    UNROLL for (int j = 0; j < ROWS; j++)
        UNROLL for (int t = 0; t < nt; t++)
            s[j][t] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        tile_step(f16, w, x, nt, i, 0, s);
    if (i < n)
        tile_step(f16, w, x, nt, i, n - i, s);
    UNROLL for (int j = 0; j < ROWS; j++)
        UNROLL for (int t = 0; t < nt; t++)
            y[(size_t)t * ldy + (size_t)j] = fsk_avx2_hsum_ps(s[j][t]);
}

static inline const float *tok_f32(const void *x, size_t x_stride, size_t k)
{
    return (const float *)((const char *)x + k * x_stride);
}

/* Contiguous F16 rows (weight matrices) are also fetched FSK_PF_AHEAD bytes ahead of the row
 * being read, as in the AVX-512 variant (measured there and here on the Intel Xeon of
 * 2026-12-04), where fsk_swpf says (not on AMD: on Zen 4 the AVX-512 one measured level to
 * slower). */

void fsk_matvec_f16__avx2(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    const float *xf = x;
    size_t r = r0;
    const size_t end = r0 + (r1 - r0) / ROWS * ROWS;
    /* Each row of the groups of four as dot1x_f16 computes it, the last (r1 - r0) % 4 by
     * dot1_f16, whichever rows are in flight together (as in the AVX-512 variant): short rows
     * (attention keys) eight at a time, rows apart in memory (attention values) four side by
     * side, contiguous rows (weights) one after the other, one ascending stream. */
    if (ncols <= 8 * FSK_AVX2_W) {
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
        /* a weight matrix's single stream: each line fetched FSK_PF_AHEAD on as the row is read */
        y[r] = swpf ? dot1x_f16_pf(row_f16(w, row_stride, r), xf, ncols, FSK_PF_AHEAD)
                    : dot1x_f16(row_f16(w, row_stride, r), xf, ncols);
    }
    for (; r < r1; r++)
        y[r] = dot1_f16(row_f16(w, row_stride, r), xf, ncols);
}

/* Four rows against every token: whole tiles of MM_TOK, then two or single tokens. Before each
 * tile, pf's share of the lines at pf_base (the next group's rows; none when pf.chunk is 0). */
MM_INLINE void group4(int f16, float *y, size_t ldy, const void *const *w, const void *x,
                      size_t x_stride, size_t ntok, size_t n, const void *pf_base,
                      struct fsk_pf_plan pf)
{
    size_t k = 0;
    for (size_t step = 0; k + MM_TOK <= ntok; k += MM_TOK, step++) {
        FSK_PF_STEP(pf_base, pf, step);
        const float *xs[MM_TOK];
        for (int t = 0; t < MM_TOK; t++)
            xs[t] = tok_f32(x, x_stride, k + (size_t)t);
        tile4(f16, y + k * ldy, ldy, w, xs, MM_TOK, n);
    }
    if (k + 2 == ntok) { /* two left: one tile of two still shares each weight load */
        const float *xs[2] = {tok_f32(x, x_stride, k), tok_f32(x, x_stride, k + 1)};
        tile4(f16, y + k * ldy, ldy, w, xs, 2, n);
        k += 2;
    }
    for (; k < ntok; k++) {
        const float *xs = tok_f32(x, x_stride, k);
        tile4(f16, y + k * ldy, ldy, w, &xs, 1, n);
    }
}

/* Rows four at a time through the tiles, the rest one by one as the matvec takes them. */
MM_INLINE void matmul_float(int f16, float *y, size_t ldy, const void *w, size_t row_stride,
                            const void *x, size_t x_stride, size_t ncols, size_t ntok, size_t r0,
                            size_t r1)
{
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const void *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = (const char *)w + (r + (size_t)j) * row_stride;
        group4(f16, y + r, ldy, rows, x, x_stride, ntok, ncols, NULL, (struct fsk_pf_plan){0, 0});
    }
    for (; r < r1; r++)
        for (size_t k = 0; k < ntok; k++) {
            const float *xk = tok_f32(x, x_stride, k);
            y[k * ldy + r] = f16 ? dot1_f16(row_f16(w, row_stride, r), xk, ncols)
                                 : fsk_dot_f32__avx2(row_f32(w, row_stride, r), xk, ncols);
        }
}

void fsk_matmul_f32__avx2(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                          size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    matmul_float(0, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
}

/* F16: each group of four rows is widened once into a float buffer (exact), then runs through
 * the F32 tiles, so the conversions are paid once per group instead of once per tile of tokens.
 * The products and sums are the same as dot1x_f16's: a zero-filled tail half widens to the same
 * +0 a masked float load gives. Rows longer than the buffer widen per tile as before. */
#define MM_F16_COLS 4096

void fsk_matmul_f16__avx2(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                          size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    if (ncols <= 8 * FSK_AVX2_W) /* short rows (attention keys): eight at a time, as the matvec */
        r0 = short_rows_f16(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0,
                            r0 + (r1 - r0) / ROWS * ROWS);
    if (ncols > MM_F16_COLS || ntok < 2) {
        matmul_float(1, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
        return;
    }
    _Alignas(32) float buf[ROWS * MM_F16_COLS];
    const void *rows[ROWS];
    for (int j = 0; j < ROWS; j++)
        rows[j] = buf + (size_t)j * ncols;
    /* while a group computes, its tiles fetch the next group's rows (the widening would
     * otherwise wait on memory with nothing to overlap) */
    const size_t pass = ROWS * row_stride, tiles = ntok / MM_TOK;
    const struct fsk_pf_plan pf = {pass, tiles ? ((pass + tiles - 1) / tiles + 63) / 64 * 64 : 0};
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const uint16_t *first = row_f16(w, row_stride, r);
        for (int j = 0; j < ROWS; j++)
            fsk_dequantize_f16__avx2((float *)rows[j], row_f16(w, row_stride, r + (size_t)j), ncols);
        group4(0, y + r, ldy, rows, x, x_stride, ntok, ncols, first, pf);
    }
    if (r < r1)
        matmul_float(1, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r, r1);
}

/* ------------------------------------------------------------------ weighted sums of F16 rows
 * Attention's values, a row of head_dim halves per position, read once per position for up to
 * three weight vectors (a kv group's query heads) in a tile of up to 32 columns: twelve
 * accumulators, three broadcast weights and the widened vector fill the sixteen registers. A lane
 * per column takes its terms row after row by one FMA as ref's fmaf does, so the floats are ref's.
 * The rows follow each other in memory (one stream), fetched WSUM_PF_ROWS rows ahead. */
#define WSUM_COLS (4 * FSK_AVX2_W)
#define WSUM_W 3
#define WSUM_PF_ROWS 16

/* full: the tile is WSUM_COLS wide; else vector k holds n[k] (0..8) columns. */
FSK_FORCE_INLINE void wsum_tile(int nt, int full, float *y, size_t ldy, const uint16_t *v, size_t row_stride,
                                const float *a, size_t a_stride, size_t nc, size_t r0, size_t r1)
{
    size_t n[4];
    FSK_UNROLL for (int k = 0; k < 4; k++) {
        const size_t at = (size_t)k * FSK_AVX2_W;
        n[k] = nc <= at ? 0 : nc - at >= FSK_AVX2_W ? FSK_AVX2_W : nc - at;
    }
    __m256 s[WSUM_W][4];
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int k = 0; k < 4; k++)
            s[t][k] = _mm256_setzero_ps();
    const size_t bytes = nc * sizeof(uint16_t);
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *row = row_f16(v, row_stride, r);
        FSK_PF_BYTES(row, WSUM_PF_ROWS * row_stride, bytes);
        __m256 b[WSUM_W];
        FSK_UNROLL for (int t = 0; t < nt; t++)
            b[t] = _mm256_broadcast_ss(a + (size_t)t * a_stride + r);
        FSK_UNROLL for (int k = 0; k < 4; k++) {
            const uint16_t *p = row + (size_t)k * FSK_AVX2_W;
            const __m256 w = full || n[k] == FSK_AVX2_W ? load8_f16(p)
                             : n[k]                     ? load_tail_f16(p, n[k])
                                                        : _mm256_setzero_ps();
            FSK_UNROLL for (int t = 0; t < nt; t++)
                s[t][k] = _mm256_fmadd_ps(b[t], w, s[t][k]);
        }
    }
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int k = 0; k < 4; k++) {
            float *out = y + (size_t)t * ldy + (size_t)k * FSK_AVX2_W;
            if (full || n[k] == FSK_AVX2_W)
                _mm256_storeu_ps(out, s[t][k]);
            else if (n[k])
                _mm256_maskstore_ps(out, fsk_avx2_tail_mask(n[k]), s[t][k]);
        }
}

FSK_FORCE_INLINE void wsum_cols(int full, float *y, size_t ldy, const uint16_t *v, size_t row_stride,
                                const float *a, size_t a_stride, size_t nc, size_t nt, size_t r0, size_t r1)
{
    switch (nt) {
    case 1:
        wsum_tile(1, full, y, ldy, v, row_stride, a, a_stride, nc, r0, r1);
        break;
    case 2:
        wsum_tile(2, full, y, ldy, v, row_stride, a, a_stride, nc, r0, r1);
        break;
    default:
        wsum_tile(3, full, y, ldy, v, row_stride, a, a_stride, nc, r0, r1);
        break;
    }
}

void fsk_wsum_f16__avx2(float *y, size_t ldy, const void *v, size_t row_stride, const float *a,
                        size_t a_stride, size_t ncols, size_t nw, size_t r0, size_t r1)
{
    for (size_t t0 = 0; t0 < nw; t0 += WSUM_W) {
        const size_t nt = nw - t0 < WSUM_W ? nw - t0 : WSUM_W;
        for (size_t j = 0; j < ncols; j += WSUM_COLS) {
            const uint16_t *vj = (const uint16_t *)v + j;
            float *yj = y + t0 * ldy + j;
            const float *at = a + t0 * a_stride;
            if (ncols - j >= WSUM_COLS)
                wsum_cols(1, yj, ldy, vj, row_stride, at, a_stride, WSUM_COLS, nt, r0, r1);
            else
                wsum_cols(0, yj, ldy, vj, row_stride, at, a_stride, ncols - j, nt, r0, r1);
        }
    }
}

/* ------------------------------------------------------------------ scores against key tiles
 * As the AVX-512 variant: up to TD_TT tiles of keys (FSK_KTILE positions, a row of 16 halves per
 * dimension) widened once, then up to TD_QT queries at a time accumulate a lane per position over
 * the dimensions in order, one FMA each (ref's fmaf). A tile row is two vectors here: two tiles by
 * three queries make twelve chains, beside three broadcast queries, in the sixteen registers.
 * Lanes at or past p1 are neither read nor stored; lanes before p0 are not stored. */
#define TD_TT 2
#define TD_QT 3
#define TD_MAXCOLS 256 /* dimensions for two tiles in the buffer: 32 KiB of floats */

/* Halves [0, n) of the 8 at p widened, the rest zero and unread (n <= 8). */
static inline __m256 td_load8(const uint16_t *p, size_t n)
{
    return n >= FSK_AVX2_W ? load8_f16(p) : n ? load_tail_f16(p, n) : _mm256_setzero_ps();
}

FSK_FORCE_INLINE void td_block(int nb, int nt, float *y, size_t ldy, const float *buf, size_t ncols,
                               const float *q, size_t q_stride, const __m256i *sm)
{
    __m256 s[TD_QT][2 * TD_TT];
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int j = 0; j < 2 * nb; j++)
            s[t][j] = _mm256_setzero_ps();
    for (size_t d = 0; d < ncols; d++) {
        __m256 b[TD_QT];
        FSK_UNROLL for (int t = 0; t < nt; t++)
            b[t] = _mm256_broadcast_ss(q + (size_t)t * q_stride + d);
        FSK_UNROLL for (int j = 0; j < 2 * nb; j++) {
            /* vector j: half j % 2 of tile j / 2's row d */
            const __m256 w = _mm256_load_ps(buf + ((size_t)(j / 2) * ncols + d) * FSK_KTILE + (size_t)(j % 2) * FSK_AVX2_W);
            FSK_UNROLL for (int t = 0; t < nt; t++)
                s[t][j] = _mm256_fmadd_ps(b[t], w, s[t][j]);
        }
    }
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int j = 0; j < 2 * nb; j++)
            _mm256_maskstore_ps(y + (size_t)t * ldy + (size_t)j * FSK_AVX2_W, sm[j], s[t][j]);
}

#define TD_CASE(B, T)                                                        \
    case (B) * 8 + (T):                                                      \
        td_block(B, T, yb + t0 * ldy, ldy, buf, ncols, q + t0 * q_stride, q_stride, m); \
        break;

void fsk_tdot_f16__avx2(float *y, size_t ldy, const void *k, const float *q, size_t q_stride,
                        size_t ncols, size_t nq, size_t p0, size_t p1)
{
    const uint16_t *kt = k;
    const size_t tile = (size_t)FSK_KTILE * ncols; /* halves */
    const size_t b_end = (p1 + FSK_KTILE - 1) / FSK_KTILE;
    const size_t tt = ncols <= TD_MAXCOLS ? TD_TT : 1;
    if (p0 >= p1)
        return;
    if (ncols > TD_TT * TD_MAXCOLS) { /* no room to widen a tile: one chain per score */
        fsk_tdot_chains(y, ldy, kt, q, q_stride, ncols, nq, p0, p1);
        return;
    }
    _Alignas(32) float buf[TD_TT * TD_MAXCOLS * FSK_KTILE];
    for (size_t b0 = p0 / FSK_KTILE; b0 < b_end; b0 += tt) {
        const size_t nb = b_end - b0 < tt ? b_end - b0 : tt;
        __m256i m[2 * TD_TT];
        for (size_t j = 0; j < nb; j++) {
            const size_t ts = (b0 + j) * FSK_KTILE;
            const size_t lo = p0 > ts ? p0 - ts : 0, hi = p1 - ts < FSK_KTILE ? p1 - ts : FSK_KTILE;
            for (size_t h = 0; h < 2; h++) { /* the lanes of half h that are stored: [lo, hi) */
                const size_t at = h * FSK_AVX2_W;
                const size_t e = hi > at ? (hi - at < FSK_AVX2_W ? hi - at : FSK_AVX2_W) : 0;
                const size_t b = lo > at ? (lo - at < FSK_AVX2_W ? lo - at : FSK_AVX2_W) : 0;
                m[2 * j + h] = _mm256_andnot_si256(fsk_avx2_tail_mask(b), fsk_avx2_tail_mask(e));
            }
            const size_t n0 = hi < FSK_AVX2_W ? hi : FSK_AVX2_W, n1 = hi > FSK_AVX2_W ? hi - FSK_AVX2_W : 0;
            const uint16_t *src = kt + (b0 + j) * tile;
            float *dst = buf + j * ncols * FSK_KTILE;
            for (size_t d = 0; d < ncols; d++) {
                FSK_PF_BYTES(src + d * FSK_KTILE, tt * tile * sizeof(uint16_t), 32);
                _mm256_store_ps(dst + d * FSK_KTILE, td_load8(src + d * FSK_KTILE, n0));
                _mm256_store_ps(dst + d * FSK_KTILE + FSK_AVX2_W, td_load8(src + d * FSK_KTILE + FSK_AVX2_W, n1));
            }
        }
        float *yb = y + b0 * FSK_KTILE;
        for (size_t t0 = 0; t0 < nq; t0 += TD_QT) {
            const size_t nt = nq - t0 < TD_QT ? nq - t0 : TD_QT;
            switch (nb * 8 + nt) {
                TD_CASE(1, 1) TD_CASE(1, 2) TD_CASE(1, 3)
                TD_CASE(2, 1) TD_CASE(2, 2) TD_CASE(2, 3)
            default:
                break;
            }
        }
    }
}
#undef TD_CASE

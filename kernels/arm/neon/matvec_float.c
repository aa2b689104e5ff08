/* matvec_float.c (neon): matrix-vector products over a row range for F32, F16 and BF16 weights. */
#include <math.h>

#include "f16.h"
#include "isa.h"
#include "unroll.h"

void fsk_matvec_f32__neon(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    for (size_t r = r0; r < r1; r++) {
        const float *row = (const float *)((const char *)w + r * row_stride);
        y[r] = fsk_dot_f32__neon(row, x, ncols);
    }
}

/* Eight halves widened to two float vectors; FCVTL is in the aarch64 baseline. */
static inline void load_f16x8(const uint16_t *p, float32x4_t *lo, float32x4_t *hi)
{
    float16x8_t h = vreinterpretq_f16_u16(vld1q_u16(p));
    *lo = vcvt_f32_f16(vget_low_f16(h));
    *hi = vcvt_high_f32_f16(h);
}

static float dot_f16_f32(const uint16_t *row, const float *x, size_t n)
{
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        float32x4_t w0, w1, w2, w3;
        load_f16x8(row + c, &w0, &w1);
        load_f16x8(row + c + 8, &w2, &w3);
        s0 = vfmaq_f32(s0, w0, vld1q_f32(x + c));
        s1 = vfmaq_f32(s1, w1, vld1q_f32(x + c + 4));
        s2 = vfmaq_f32(s2, w2, vld1q_f32(x + c + 8));
        s3 = vfmaq_f32(s3, w3, vld1q_f32(x + c + 12));
    }
    for (; c + 4 <= n; c += 4) {
        float32x4_t wv = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(row + c)));
        s0 = vfmaq_f32(s0, wv, vld1q_f32(x + c));
    }
    float s = fsk_neon_sum4(s0, s1, s2, s3);
    for (; c < n; c++)
        s = fmaf(fsk_f16_to_f32(row[c]), x[c], s);
    return s;
}

void fsk_matvec_f16__neon(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *row = (const uint16_t *)((const char *)w + r * row_stride);
        y[r] = dot_f16_f32(row, x, ncols);
    }
}

/* ------------------------------------------------------------------ matmul (prefill)
 * One row against MM_TOK tokens at a time: each weight vector is loaded (and for F16 and BF16
 * widened) once for the tile. The F32 and F16 matvecs compute each row alone (fsk_dot_f32__neon,
 * dot_f16_f32); per (row, token) the tile keeps the same four accumulators, the same steps and
 * the same scalar tail, so each value is bit for bit the matvec's. The BF16 matvec is the tile of
 * one token itself. */
#define MM_TOK 4
#define MM_INLINE FSK_FORCE_INLINE
#define MM_UNROLL FSK_UNROLL

enum wkind { W_F32, W_F16, W_BF16 };

/* y[t * ldy] = row . x[t] for nt tokens; row holds floats, halves or bf16 as kind says. */
MM_INLINE void mm_row(enum wkind kind, float *y, size_t ldy, const void *row, const float *const *x,
                      int nt, size_t n)
{
    const float *rf = row;
    const uint16_t *rh = row;
    float32x4_t s[MM_TOK][4];
    MM_UNROLL for (int t = 0; t < nt; t++)
        MM_UNROLL for (int j = 0; j < 4; j++)
            s[t][j] = vdupq_n_f32(0.0f);
    size_t c = 0;
    for (; c + 16 <= n; c += 16) {
        float32x4_t w[4];
        if (kind == W_F16) {
            load_f16x8(rh + c, &w[0], &w[1]);
            load_f16x8(rh + c + 8, &w[2], &w[3]);
        } else if (kind == W_BF16) {
            fsk_neon_bf16x8(rh + c, &w[0], &w[1]);
            fsk_neon_bf16x8(rh + c + 8, &w[2], &w[3]);
        } else {
            MM_UNROLL for (int j = 0; j < 4; j++)
                w[j] = vld1q_f32(rf + c + 4 * j);
        }
        MM_UNROLL for (int t = 0; t < nt; t++)
            MM_UNROLL for (int j = 0; j < 4; j++)
                s[t][j] = vfmaq_f32(s[t][j], w[j], vld1q_f32(x[t] + c + 4 * j));
    }
    for (; c + 4 <= n; c += 4) {
        const float32x4_t w =
            kind == W_F16    ? vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(rh + c)))
            : kind == W_BF16 ? vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(rh + c), 16))
                             : vld1q_f32(rf + c);
        MM_UNROLL for (int t = 0; t < nt; t++)
            s[t][0] = vfmaq_f32(s[t][0], w, vld1q_f32(x[t] + c));
    }
    MM_UNROLL for (int t = 0; t < nt; t++) {
        float v = fsk_neon_sum4(s[t][0], s[t][1], s[t][2], s[t][3]);
        for (size_t k = c; k < n; k++)
            v = fmaf(kind == W_F16 ? fsk_f16_to_f32(rh[k]) : kind == W_BF16 ? fsk_bf16_to_f32(rh[k]) : rf[k],
                     x[t][k], v);
        y[(size_t)t * ldy] = v;
    }
}

void fsk_matvec_bf16__neon(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                           size_t r0, size_t r1)
{
    const float *xf = x;
    for (size_t r = r0; r < r1; r++)
        mm_row(W_BF16, y + r, 0, (const char *)w + r * row_stride, &xf, 1, ncols);
}

MM_INLINE void mm_rows(enum wkind kind, float *y, size_t ldy, const void *w, size_t row_stride,
                       const void *x, size_t x_stride, size_t ncols, size_t ntok, size_t r0,
                       size_t r1)
{
    const float *xs[MM_TOK];
    size_t k = 0;
    for (; k + MM_TOK <= ntok; k += MM_TOK) {
        for (int t = 0; t < MM_TOK; t++)
            xs[t] = (const float *)((const char *)x + (k + (size_t)t) * x_stride);
        for (size_t r = r0; r < r1; r++)
            mm_row(kind, y + k * ldy + r, ldy, (const char *)w + r * row_stride, xs, MM_TOK, ncols);
    }
    /* the last 1-3 tokens as one tile (attention's query heads of a kv group come three or
     * four at a time: each key row then is widened once for all of them) */
    const int nt = (int)(ntok - k);
    for (int t = 0; t < nt; t++)
        xs[t] = (const float *)((const char *)x + (k + (size_t)t) * x_stride);
    for (size_t r = r0; nt > 0 && r < r1; r++) {
        float *yr = y + k * ldy + r;
        const void *row = (const char *)w + r * row_stride;
        if (nt == 3)
            mm_row(kind, yr, ldy, row, xs, 3, ncols);
        else if (nt == 2)
            mm_row(kind, yr, ldy, row, xs, 2, ncols);
        else
            mm_row(kind, yr, ldy, row, xs, 1, ncols);
    }
}

void fsk_matmul_f32__neon(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                          size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    mm_rows(W_F32, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
}

void fsk_matmul_f16__neon(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                          size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    mm_rows(W_F16, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
}

void fsk_matmul_bf16__neon(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                           size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    mm_rows(W_BF16, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
}

/* Weighted sums of F16 rows (attention's values, a row per position): tiles of sixteen columns
 * for up to four weight vectors, each row widened once for them; a lane per column takes its terms
 * row after row by one fused multiply-add (FMLA), as ref's fmaf, so the floats are ref's. Columns
 * past the last whole tile (head sizes not a multiple of 16) go one by one through fmaf. */
#define WSUM_W 4

static inline __attribute__((always_inline)) void wsum_tile(int nt, float *y, size_t ldy, const uint16_t *v,
                                                            size_t row_stride, const float *a, size_t a_stride,
                                                            size_t r0, size_t r1)
{
    float32x4_t s[WSUM_W][4];
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int k = 0; k < 4; k++)
            s[t][k] = vdupq_n_f32(0.0f);
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *row = (const uint16_t *)((const char *)v + r * row_stride);
        float32x4_t w[4];
        load_f16x8(row, &w[0], &w[1]);
        load_f16x8(row + 8, &w[2], &w[3]);
        FSK_UNROLL for (int t = 0; t < nt; t++) {
            const float b = a[(size_t)t * a_stride + r];
            FSK_UNROLL for (int k = 0; k < 4; k++)
                s[t][k] = vfmaq_n_f32(s[t][k], w[k], b);
        }
    }
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int k = 0; k < 4; k++)
            vst1q_f32(y + (size_t)t * ldy + (size_t)k * FSK_NEON_LANES, s[t][k]);
}

void fsk_wsum_f16__neon(float *y, size_t ldy, const void *v, size_t row_stride, const float *a,
                        size_t a_stride, size_t ncols, size_t nw, size_t r0, size_t r1)
{
    const size_t whole = ncols / 16 * 16;
    for (size_t t0 = 0; t0 < nw; t0 += WSUM_W) {
        const size_t nt = nw - t0 < WSUM_W ? nw - t0 : WSUM_W;
        const float *at = a + t0 * a_stride;
        for (size_t j = 0; j < whole; j += 16) {
            float *yj = y + t0 * ldy + j;
            const uint16_t *vj = (const uint16_t *)v + j;
            if (nt == 4)
                wsum_tile(4, yj, ldy, vj, row_stride, at, a_stride, r0, r1);
            else if (nt == 3)
                wsum_tile(3, yj, ldy, vj, row_stride, at, a_stride, r0, r1);
            else if (nt == 2)
                wsum_tile(2, yj, ldy, vj, row_stride, at, a_stride, r0, r1);
            else
                wsum_tile(1, yj, ldy, vj, row_stride, at, a_stride, r0, r1);
        }
        for (size_t t = t0; t < t0 + nt; t++)
            for (size_t j = whole; j < ncols; j++) {
                float s = 0.0f;
                for (size_t r = r0; r < r1; r++)
                    s = fmaf(a[t * a_stride + r],
                             fsk_f16_to_f32(((const uint16_t *)((const char *)v + r * row_stride))[j]), s);
                y[t * ldy + j] = s;
            }
    }
}

/* Scores against key tiles (FSK_KTILE positions, a row of 16 halves per dimension): a tile's row
 * widened into four vectors, up to four queries at a time accumulating a lane per position over
 * the dimensions in order by FMLA (ref's fmaf): sixteen chains. A tile's lanes at or past p1 are
 * neither read (built from the valid halves and zeros) nor stored; lanes before p0 are not stored. */
#define TD_QT 4

/* Halves [0, n) of the 4 at p widened, the rest zero and unread. */
static inline float32x4_t td_load4(const uint16_t *p, size_t n)
{
    if (n >= 4)
        return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
    uint16_t part[4] = {0, 0, 0, 0};
    for (size_t i = 0; i < n; i++)
        part[i] = p[i];
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(part)));
}

static inline __attribute__((always_inline)) void td_tile(int nt, float *y, size_t ldy, const uint16_t *src,
                                                          size_t ncols, const float *q, size_t q_stride,
                                                          size_t lo, size_t hi)
{
    float32x4_t s[TD_QT][4];
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int g = 0; g < 4; g++)
            s[t][g] = vdupq_n_f32(0.0f);
    for (size_t d = 0; d < ncols; d++) {
        const uint16_t *row = src + d * FSK_KTILE;
        float32x4_t w[4];
        if (hi == FSK_KTILE) {
            load_f16x8(row, &w[0], &w[1]);
            load_f16x8(row + 8, &w[2], &w[3]);
        } else {
            FSK_UNROLL for (int g = 0; g < 4; g++) {
                const size_t at = (size_t)g * 4;
                w[g] = td_load4(row + at, hi > at ? hi - at : 0);
            }
        }
        FSK_UNROLL for (int t = 0; t < nt; t++) {
            const float b = q[(size_t)t * q_stride + d];
            FSK_UNROLL for (int g = 0; g < 4; g++)
                s[t][g] = vfmaq_n_f32(s[t][g], w[g], b);
        }
    }
    FSK_UNROLL for (int t = 0; t < nt; t++)
        FSK_UNROLL for (int g = 0; g < 4; g++) {
            float *out = y + (size_t)t * ldy + (size_t)g * 4;
            if (lo <= (size_t)g * 4 && (size_t)g * 4 + 4 <= hi) {
                vst1q_f32(out, s[t][g]);
            } else {
                float part[4];
                vst1q_f32(part, s[t][g]);
                for (size_t i = 0; i < 4; i++)
                    if ((size_t)g * 4 + i >= lo && (size_t)g * 4 + i < hi)
                        out[i] = part[i];
            }
        }
}

void fsk_tdot_f16__neon(float *y, size_t ldy, const void *k, const float *q, size_t q_stride, size_t ncols,
                        size_t nq, size_t p0, size_t p1)
{
    const uint16_t *kt = k;
    const size_t tile = (size_t)FSK_KTILE * ncols;
    for (size_t b = p0 / FSK_KTILE; b * FSK_KTILE < p1; b++) {
        const size_t ts = b * FSK_KTILE;
        const size_t lo = p0 > ts ? p0 - ts : 0, hi = p1 - ts < FSK_KTILE ? p1 - ts : FSK_KTILE;
        for (size_t t0 = 0; t0 < nq; t0 += TD_QT) {
            const size_t nt = nq - t0 < TD_QT ? nq - t0 : TD_QT;
            float *yt = y + t0 * ldy + ts;
            const float *qt = q + t0 * q_stride;
            if (nt == 4)
                td_tile(4, yt, ldy, kt + b * tile, ncols, qt, q_stride, lo, hi);
            else if (nt == 3)
                td_tile(3, yt, ldy, kt + b * tile, ncols, qt, q_stride, lo, hi);
            else if (nt == 2)
                td_tile(2, yt, ldy, kt + b * tile, ncols, qt, q_stride, lo, hi);
            else
                td_tile(1, yt, ldy, kt + b * tile, ncols, qt, q_stride, lo, hi);
        }
    }
}

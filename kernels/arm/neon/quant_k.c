/* quant_k.c (neon): the 256-element K formats: Q8_K activations, integer matvec for Q4_K, Q5_K and Q6_K (baseline and dotprod paths), dequantize. */
#include <stddef.h>
#include <string.h>

#include "f16.h"
#include "qdot.h"
#include "quant.h"

/* ------------------------------------------------------------------ Q8_K activations */

/* Sixteen vectors of pair sums (vpaddlq_s8 of each 16 quants) to the sixteen quants' totals,
 * one per lane: each pairwise add halves the lanes per source vector. */
FSK_NEON_INLINE int16x8_t group_sums(const int16x8_t p[8])
{
    const int16x8_t a = vpaddq_s16(vpaddq_s16(p[0], p[1]), vpaddq_s16(p[2], p[3]));
    const int16x8_t b = vpaddq_s16(vpaddq_s16(p[4], p[5]), vpaddq_s16(p[6], p[7]));
    return vpaddq_s16(a, b);
}

/* d = amax / 127 kept in float, quants as in Q8_0; bsums[g] = sum of quants 16g..16g+15. */
void fsk_quantize_q8_k__neon(void *y, const float *x, size_t n)
{
    fsk_block_q8_K *b = y;
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        const float *xb = x + i * FSK_QK_K;
        const float d = fsk_neon_amax(xb, FSK_QK_K) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int16x8_t p[FSK_QK_K / 16];
        for (int g = 0; g < FSK_QK_K / 16; g++) {
            const int8x16_t q = fsk_neon_quant16(xb + 16 * g, id);
            vst1q_s8(b[i].qs + 16 * g, q);
            p[g] = vpaddlq_s8(q);
        }
        vst1q_s16(b[i].bsums, group_sums(p));
        vst1q_s16(b[i].bsums + 8, group_sums(p + 8));
        b[i].d = d;
    }
}

/* ------------------------------------------------------------------ weight quants */

/* Eight 6-bit scales and mins in 12 bytes (the layout is spelled out in kernels/ref/quant_k.c). */
static inline void k_scales(const uint8_t s[12], uint8_t sc[8], uint8_t mn[8])
{
    FSK_NEON_UNROLL
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (uint8_t)((s[j + 8] & 15) | ((s[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
}

/* Sub-blocks 2c (low nibbles) and 2c+1 (high nibbles) of Q4_K/Q5_K, 32 quants each as two
 * vectors; qh (Q5_K, else NULL) adds bit j of qh[l] as bit 4 of element l of sub-block j. */
FSK_NEON_INLINE void unpack_pair_k(const uint8_t *qs, const uint8_t *qh, int c, int8x16_t lo[2],
                                   int8x16_t hi[2])
{
    FSK_NEON_UNROLL
    for (int h = 0; h < 2; h++) {
        const uint8x16_t v = vld1q_u8(qs + 32 * c + 16 * h);
        uint8x16_t l = vandq_u8(v, vdupq_n_u8(0x0f)), u = vshrq_n_u8(v, 4);
        if (qh) {
            const uint8x16_t bits = vld1q_u8(qh + 16 * h), top = vdupq_n_u8(0x10);
            l = vorrq_u8(l, vandq_u8(vtstq_u8(bits, vdupq_n_u8((uint8_t)(1u << (2 * c)))), top));
            u = vorrq_u8(u, vandq_u8(vtstq_u8(bits, vdupq_n_u8((uint8_t)(2u << (2 * c)))), top));
        }
        lo[h] = vreinterpretq_s8_u8(l);
        hi[h] = vreinterpretq_s8_u8(u);
    }
}

/* Lanes j of the two halves' products, summed: sum_j a_j * b_j over 8 int16 pairs. */
FSK_NEON_INLINE int32_t dot8_s16(int16x8_t a, int16x8_t b)
{
    return vaddvq_s32(vmlal_high_s16(vmull_s16(vget_low_s16(a), vget_low_s16(b)), a, b));
}

/* One Q4_K/Q5_K super-block against Q8_K, as ref: sumi = sum sc_j isum_j and
 * summ = sum m_j (bsums 2j + 2j+1) in int32, then (d d_a) sumi - (dmin d_a) summ. */
FSK_NEON_INLINE float block_min_k(const uint8_t scales[12], fsk_half dh, fsk_half dminh,
                                  const uint8_t *qs, const uint8_t *qh, const fsk_block_q8_K *a,
                                  fsk_neon_dot32_fn dot)
{
    uint8_t sc[8], mn[8];
    k_scales(scales, sc, mn);
    int32x4_t p[8];
    FSK_NEON_UNROLL
    for (int c = 0; c < 4; c++) {
        int8x16_t lo[2], hi[2];
        unpack_pair_k(qs, qh, c, lo, hi);
        const int8_t *q = a->qs + 64 * c;
        p[2 * c] = dot(lo[0], lo[1], vld1q_s8(q), vld1q_s8(q + 16));
        p[2 * c + 1] = dot(hi[0], hi[1], vld1q_s8(q + 32), vld1q_s8(q + 48));
    }
    const int16x8_t sc16 = vreinterpretq_s16_u16(vmovl_u8(vld1_u8(sc)));
    int32x4_t s = vmulq_s32(fsk_neon_hsum4_s32(p[0], p[1], p[2], p[3]), vmovl_s16(vget_low_s16(sc16)));
    s = vmlaq_s32(s, fsk_neon_hsum4_s32(p[4], p[5], p[6], p[7]), vmovl_high_s16(sc16));
    const int32_t sumi = vaddvq_s32(s);
    const int16x8_t pairs = vpaddq_s16(vld1q_s16(a->bsums), vld1q_s16(a->bsums + 8));
    const int32_t summ = dot8_s16(pairs, vreinterpretq_s16_u16(vmovl_u8(vld1_u8(mn))));
    const float d = fsk_neon_from_half(dh) * a->d, dmin = fsk_neon_from_half(dminh) * a->d;
    return d * (float)sumi - dmin * (float)summ;
}

/* Q6_K's half h (128 quants) as 8 groups of 16: low nibbles of ql[0..63] with qh's bit pairs
 * 0-1 and 2-3, then high nibbles with pairs 4-5 and 6-7 (ref's unpack_q6_k), minus 32. */
FSK_NEON_INLINE void unpack_half_q6_k(const fsk_block_q6_K *b, int h, int8x16_t w[8])
{
    const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
    const uint8x16_t m4 = vdupq_n_u8(0x0f), m2 = vdupq_n_u8(0x30);
    uint8x16_t l[4], hb[2];
    FSK_NEON_UNROLL
    for (int k = 0; k < 4; k++)
        l[k] = vld1q_u8(ql + 16 * k);
    hb[0] = vld1q_u8(qh);
    hb[1] = vld1q_u8(qh + 16);
    uint8x16_t u[8];
    FSK_NEON_UNROLL
    for (int k = 0; k < 2; k++) {
        u[k] = vorrq_u8(vandq_u8(l[k], m4), vandq_u8(vshlq_n_u8(hb[k], 4), m2));
        u[k + 2] = vorrq_u8(vandq_u8(l[k + 2], m4), vandq_u8(vshlq_n_u8(hb[k], 2), m2));
        u[k + 4] = vorrq_u8(vshrq_n_u8(l[k], 4), vandq_u8(hb[k], m2));
        u[k + 6] = vorrq_u8(vshrq_n_u8(l[k + 2], 4), vandq_u8(vshrq_n_u8(hb[k], 2), m2));
    }
    FSK_NEON_UNROLL
    for (int k = 0; k < 8; k++)
        w[k] = vsubq_s8(vreinterpretq_s8_u8(u[k]), vdupq_n_s8(32));
}

/* One Q6_K super-block: (d d_a) * sum_g sc_g isum_g over the 16 groups of 16, as ref. */
FSK_NEON_INLINE float block_q6_k(const fsk_block_q6_K *b, const fsk_block_q8_K *a,
                                 fsk_neon_dot16_fn dot)
{
    int32x4_t s = vdupq_n_s32(0);
    FSK_NEON_UNROLL
    for (int h = 0; h < 2; h++) {
        int8x16_t w[8];
        unpack_half_q6_k(b, h, w);
        int32x4_t p[8];
        FSK_NEON_UNROLL
        for (int g = 0; g < 8; g++)
            p[g] = dot(w[g], vld1q_s8(a->qs + 128 * h + 16 * g));
        const int16x8_t sc = vmovl_s8(vld1_s8(b->scales + 8 * h));
        s = vmlaq_s32(s, fsk_neon_hsum4_s32(p[0], p[1], p[2], p[3]), vmovl_s16(vget_low_s16(sc)));
        s = vmlaq_s32(s, fsk_neon_hsum4_s32(p[4], p[5], p[6], p[7]), vmovl_high_s16(sc));
    }
    return (fsk_neon_from_half(b->d) * a->d) * (float)vaddvq_s32(s);
}

/* ------------------------------------------------------------------ matvec
 * A super-block is 256 activation bytes, which stay in L1 across rows; one row at a time, its
 * super-blocks summed left to right as ref sums them. */

FSK_NEON_INLINE void rows_q4_k(float *y, const void *w, size_t row_stride, const void *x,
                               size_t ncols, size_t r0, size_t r1, fsk_neon_dot32_fn dot)
{
    const fsk_block_q8_K *a = x;
    for (size_t r = r0; r < r1; r++) {
        const fsk_block_q4_K *b = (const fsk_block_q4_K *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK_K; i++)
            s += block_min_k(b[i].scales, b[i].d, b[i].dmin, b[i].qs, NULL, &a[i], dot);
        y[r] = s;
    }
}

FSK_NEON_INLINE void rows_q5_k(float *y, const void *w, size_t row_stride, const void *x,
                               size_t ncols, size_t r0, size_t r1, fsk_neon_dot32_fn dot)
{
    const fsk_block_q8_K *a = x;
    for (size_t r = r0; r < r1; r++) {
        const fsk_block_q5_K *b = (const fsk_block_q5_K *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK_K; i++)
            s += block_min_k(b[i].scales, b[i].d, b[i].dmin, b[i].qs, b[i].qh, &a[i], dot);
        y[r] = s;
    }
}

FSK_NEON_INLINE void rows_q6_k(float *y, const void *w, size_t row_stride, const void *x,
                               size_t ncols, size_t r0, size_t r1, fsk_neon_dot16_fn dot)
{
    const fsk_block_q8_K *a = x;
    for (size_t r = r0; r < r1; r++) {
        const fsk_block_q6_K *b = (const fsk_block_q6_K *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK_K; i++)
            s += block_q6_k(&b[i], &a[i], dot);
        y[r] = s;
    }
}

#define MATVEC_K(t, n)                                                                             \
    void fsk_matvec_##t##__neon_base(float *y, const void *w, size_t row_stride, const void *x,    \
                                     size_t ncols, size_t r0, size_t r1)                           \
    {                                                                                              \
        rows_##t(y, w, row_stride, x, ncols, r0, r1, fsk_neon_dot##n##_base);                      \
    }                                                                                              \
    FSK_NEON_DOTPROD void fsk_matvec_##t##__neon_dotprod(float *y, const void *w,                 \
                                                         size_t row_stride, const void *x,         \
                                                         size_t ncols, size_t r0, size_t r1)       \
    {                                                                                              \
        rows_##t(y, w, row_stride, x, ncols, r0, r1, fsk_neon_dot##n##_sdot);                      \
    }                                                                                              \
    FSK_NEON_MATVEC_DISPATCH(matvec_##t)

MATVEC_K(q4_k, 32)
MATVEC_K(q5_k, 32)
MATVEC_K(q6_k, 16)

/* ------------------------------------------------------------------ matmul (prefill)
 * For a tile of MK_TOK tokens, each row's super-blocks are taken against every token while they
 * sit in L1: the weights come from memory once per tile instead of once per token. Per (row,
 * token) the very block functions the matvec calls, summed in its order: the same bits. */
#define MK_TOK 4

FSK_NEON_INLINE void matmul_k(int kind, float *y, size_t ldy, const void *w, size_t row_stride,
                              const void *x, size_t x_stride, size_t ncols, size_t ntok, size_t r0,
                              size_t r1, fsk_neon_dot32_fn dot32, fsk_neon_dot16_fn dot16)
{
    const size_t nb = ncols / FSK_QK_K;
    for (size_t k = 0; k < ntok; k += MK_TOK) {
        const int nt = ntok - k < MK_TOK ? (int)(ntok - k) : MK_TOK;
        const fsk_block_q8_K *a[MK_TOK];
        for (int t = 0; t < nt; t++)
            a[t] = (const fsk_block_q8_K *)((const char *)x + (k + (size_t)t) * x_stride);
        for (size_t r = r0; r < r1; r++) {
            const char *row = (const char *)w + r * row_stride;
            float s[MK_TOK] = {0.0f};
            for (size_t i = 0; i < nb; i++)
                for (int t = 0; t < nt; t++) {
                    if (kind == 6) {
                        s[t] += block_q6_k((const fsk_block_q6_K *)row + i, &a[t][i], dot16);
                    } else if (kind == 5) {
                        const fsk_block_q5_K *b = (const fsk_block_q5_K *)row + i;
                        s[t] += block_min_k(b->scales, b->d, b->dmin, b->qs, b->qh, &a[t][i], dot32);
                    } else {
                        const fsk_block_q4_K *b = (const fsk_block_q4_K *)row + i;
                        s[t] += block_min_k(b->scales, b->d, b->dmin, b->qs, NULL, &a[t][i], dot32);
                    }
                }
            for (int t = 0; t < nt; t++)
                y[(k + (size_t)t) * ldy + r] = s[t];
        }
    }
}

#define MATMUL_K(t, kind)                                                                          \
    static void fsk_matmul_##t##__neon_base(float *y, size_t ldy, const void *w,                   \
                                            size_t row_stride, const void *x, size_t x_stride,     \
                                            size_t ncols, size_t ntok, size_t r0, size_t r1)       \
    {                                                                                              \
        matmul_k(kind, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1,                    \
                 fsk_neon_dot32_base, fsk_neon_dot16_base);                                        \
    }                                                                                              \
    static FSK_NEON_DOTPROD void fsk_matmul_##t##__neon_dotprod(                                   \
        float *y, size_t ldy, const void *w, size_t row_stride, const void *x, size_t x_stride,    \
        size_t ncols, size_t ntok, size_t r0, size_t r1)                                           \
    {                                                                                              \
        matmul_k(kind, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1,                    \
                 fsk_neon_dot32_sdot, fsk_neon_dot16_sdot);                                        \
    }                                                                                              \
    FSK_NEON_MATMUL_DISPATCH(matmul_##t)

MATMUL_K(q4_k, 4)
MATMUL_K(q5_k, 5)
MATMUL_K(q6_k, 6)

/* ------------------------------------------------------------------ dequantize
 * d * sc is exact (a half times at most 8 bits), and so is its product with a quant (at most
 * 24 bits): the only rounding is the subtraction of the min, as in ref, bit for bit. */

FSK_NEON_INLINE void store16(float *y, int8x16_t q, float d, float m)
{
    const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_high_s8(q);
    const int32x4_t v[4] = {vmovl_s16(vget_low_s16(lo)), vmovl_high_s16(lo),
                            vmovl_s16(vget_low_s16(hi)), vmovl_high_s16(hi)};
    FSK_NEON_UNROLL
    for (int k = 0; k < 4; k++)
        vst1q_f32(y + 4 * k,
                  vsubq_f32(vmulq_f32(vdupq_n_f32(d), vcvtq_f32_s32(v[k])), vdupq_n_f32(m)));
}

/* Sub-block j of 32: (d * sc_j) * q - dmin * m_j. */
FSK_NEON_INLINE void dequant_min_k(float *y, const uint8_t scales[12], fsk_half dh, fsk_half dminh,
                                   const uint8_t *qs, const uint8_t *qh)
{
    uint8_t sc[8], mn[8];
    k_scales(scales, sc, mn);
    const float d = fsk_neon_from_half(dh), dmin = fsk_neon_from_half(dminh);
    FSK_NEON_UNROLL
    for (int c = 0; c < 4; c++) {
        int8x16_t lo[2], hi[2];
        unpack_pair_k(qs, qh, c, lo, hi);
        const float d0 = d * (float)sc[2 * c], m0 = dmin * (float)mn[2 * c];
        const float d1 = d * (float)sc[2 * c + 1], m1 = dmin * (float)mn[2 * c + 1];
        store16(y + 64 * c, lo[0], d0, m0);
        store16(y + 64 * c + 16, lo[1], d0, m0);
        store16(y + 64 * c + 32, hi[0], d1, m1);
        store16(y + 64 * c + 48, hi[1], d1, m1);
    }
}

void fsk_dequantize_q4_k__neon(float *y, const void *x, size_t n)
{
    const fsk_block_q4_K *b = x;
    for (size_t i = 0; i < n / FSK_QK_K; i++)
        dequant_min_k(y + i * FSK_QK_K, b[i].scales, b[i].d, b[i].dmin, b[i].qs, NULL);
}

void fsk_dequantize_q5_k__neon(float *y, const void *x, size_t n)
{
    const fsk_block_q5_K *b = x;
    for (size_t i = 0; i < n / FSK_QK_K; i++)
        dequant_min_k(y + i * FSK_QK_K, b[i].scales, b[i].d, b[i].dmin, b[i].qs, b[i].qh);
}

/* Group g of 16: (d * sc_g) * q, both products exact; a min of 0 leaves every value (and the
 * sign of a zero) as it is. */
void fsk_dequantize_q6_k__neon(float *y, const void *x, size_t n)
{
    const fsk_block_q6_K *b = x;
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        const float d = fsk_neon_from_half(b[i].d);
        FSK_NEON_UNROLL
        for (int h = 0; h < 2; h++) {
            int8x16_t w[8];
            unpack_half_q6_k(&b[i], h, w);
            FSK_NEON_UNROLL
            for (int g = 0; g < 8; g++)
                store16(y + i * FSK_QK_K + 128 * h + 16 * g, w[g],
                        d * (float)b[i].scales[8 * h + g], 0.0f);
        }
    }
}

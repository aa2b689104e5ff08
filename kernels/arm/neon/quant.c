/* quant.c (neon): the 32-element GGML formats and BF16: activation quantizers, integer matvec (baseline and dotprod paths), dequantize. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "f16.h"
#include "qdot.h"
#include "quant.h"

/* ------------------------------------------------------------------ activations */

/* One block of 32 floats to quants as ref does (see fsk_neon_quant16); returns d = amax / 127.
 * q0, q1 get quants 0-15 and 16-31. */
FSK_NEON_INLINE float quant_block32(int8x16_t *q0, int8x16_t *q1, const float *x)
{
    const float d = fsk_neon_amax(x, FSK_QK) / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    *q0 = fsk_neon_quant16(x, id);
    *q1 = fsk_neon_quant16(x + 16, id);
    return d;
}

void fsk_quantize_q8_0__neon(void *y, const float *x, size_t n)
{
    fsk_block_q8_0 *b = y;
    for (size_t i = 0; i < n / FSK_QK; i++) {
        int8x16_t q0, q1;
        const float d = quant_block32(&q0, &q1, x + i * FSK_QK);
        vst1q_s8(b[i].qs, q0);
        vst1q_s8(b[i].qs + 16, q1);
        b[i].d = fsk_neon_to_half(d);
    }
}

/* s = half(d) * sum(q), exact in float, then rounded once to half (as ref). */
void fsk_quantize_q8_1__neon(void *y, const float *x, size_t n)
{
    fsk_block_q8_1 *b = y;
    for (size_t i = 0; i < n / FSK_QK; i++) {
        int8x16_t q0, q1;
        const float d = quant_block32(&q0, &q1, x + i * FSK_QK);
        vst1q_s8(b[i].qs, q0);
        vst1q_s8(b[i].qs + 16, q1);
        b[i].d = fsk_neon_to_half(d);
        const int sum = vaddlvq_s8(q0) + vaddlvq_s8(q1);
        b[i].s = fsk_neon_to_half(fsk_neon_from_half(b[i].d) * (float)sum);
    }
}

/* ------------------------------------------------------------------ weight quants
 * Each unpacker gives a block's 32 quants as two vectors, elements 0-15 and 16-31: symmetric
 * formats as q - offset, min formats as q. Low nibbles hold 0-15, high nibbles 16-31. */

FSK_NEON_INLINE void nibbles(const unsigned char *qs, uint8x16_t *lo, uint8x16_t *hi)
{
    const uint8x16_t v = vld1q_u8(qs);
    *lo = vandq_u8(v, vdupq_n_u8(0x0f));
    *hi = vshrq_n_u8(v, 4);
}

/* Bit j of the little-endian 32-bit qh is bit 4 of quant j: each qh byte is spread over the
 * eight lanes it covers, each lane keeps its own bit and moves it to 0x10. */
FSK_NEON_INLINE void fifth_bits(const unsigned char *qh, uint8x16_t *h0, uint8x16_t *h1)
{
    uint32_t bits;
    memcpy(&bits, qh, sizeof bits);
    const uint8x8_t v = vreinterpret_u8_u32(vdup_n_u32(bits));
    const uint8x16_t lane_bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull));
    const uint8x16_t b0 = vcombine_u8(vdup_lane_u8(v, 0), vdup_lane_u8(v, 1));
    const uint8x16_t b1 = vcombine_u8(vdup_lane_u8(v, 2), vdup_lane_u8(v, 3));
    *h0 = vandq_u8(vtstq_u8(b0, lane_bit), vdupq_n_u8(0x10));
    *h1 = vandq_u8(vtstq_u8(b1, lane_bit), vdupq_n_u8(0x10));
}

FSK_NEON_INLINE int8x16_t minus(uint8x16_t q, int8_t offset)
{
    return vsubq_s8(vreinterpretq_s8_u8(q), vdupq_n_s8(offset));
}

FSK_NEON_INLINE void unpack_q4_0(const unsigned char *b, int8x16_t *w0, int8x16_t *w1)
{
    uint8x16_t lo, hi;
    nibbles(b + offsetof(fsk_block_q4_0, qs), &lo, &hi);
    *w0 = minus(lo, 8);
    *w1 = minus(hi, 8);
}

FSK_NEON_INLINE void unpack_q4_1(const unsigned char *b, int8x16_t *w0, int8x16_t *w1)
{
    uint8x16_t lo, hi;
    nibbles(b + offsetof(fsk_block_q4_1, qs), &lo, &hi);
    *w0 = vreinterpretq_s8_u8(lo);
    *w1 = vreinterpretq_s8_u8(hi);
}

FSK_NEON_INLINE void unpack_q5_0(const unsigned char *b, int8x16_t *w0, int8x16_t *w1)
{
    uint8x16_t lo, hi, h0, h1;
    nibbles(b + offsetof(fsk_block_q5_0, qs), &lo, &hi);
    fifth_bits(b + offsetof(fsk_block_q5_0, qh), &h0, &h1);
    *w0 = minus(vorrq_u8(lo, h0), 16);
    *w1 = minus(vorrq_u8(hi, h1), 16);
}

FSK_NEON_INLINE void unpack_q5_1(const unsigned char *b, int8x16_t *w0, int8x16_t *w1)
{
    uint8x16_t lo, hi, h0, h1;
    nibbles(b + offsetof(fsk_block_q5_1, qs), &lo, &hi);
    fifth_bits(b + offsetof(fsk_block_q5_1, qh), &h0, &h1);
    *w0 = vreinterpretq_s8_u8(vorrq_u8(lo, h0));
    *w1 = vreinterpretq_s8_u8(vorrq_u8(hi, h1));
}

FSK_NEON_INLINE void unpack_q8_0(const unsigned char *b, int8x16_t *w0, int8x16_t *w1)
{
    const int8_t *qs = (const int8_t *)(b + offsetof(fsk_block_q8_0, qs));
    *w0 = vld1q_s8(qs);
    *w1 = vld1q_s8(qs + 16);
}

typedef void (*unpack_fn)(const unsigned char *blk, int8x16_t *w0, int8x16_t *w1);

/* ------------------------------------------------------------------ matvec
 * ROWS rows per pass share each activation block; GROUP blocks per step reduce their four
 * integer dot products into one vector, which is scaled and accumulated in float lanes, one
 * lane per block of the group: ref's per-block arithmetic, with the block sums reordered. */

#define ROWS 4
#define GROUP 4

/* n (1..4) halves at p, p + stride, ... as floats; lanes past n are 0 (and never read from
 * memory, which may end after block n). */
FSK_NEON_INLINE float32x4_t halves(const unsigned char *p, size_t stride, int n)
{
    uint16_t h[GROUP] = {0, 0, 0, 0};
    FSK_NEON_UNROLL
    for (int k = 0; k < n; k++)
        memcpy(&h[k], p + (size_t)k * stride, sizeof h[k]);
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(h)));
}

/* The activation side of n blocks: quants, d and, for Q8_1, s. */
struct act_group {
    int8x16_t q[GROUP][2];
    float32x4_t d, s;
};

/* The activation formats: Q8_0 (d, qs) for the symmetric weights, Q8_1 (d, s, qs) for the
 * min ones. */
struct act_form {
    size_t bytes, qs;
    int has_s;
};

FSK_NEON_INLINE void load_act(struct act_group *g, const unsigned char *ab, struct act_form f,
                              int n)
{
    FSK_NEON_UNROLL
    for (int k = 0; k < n; k++) {
        const int8_t *q = (const int8_t *)(ab + (size_t)k * f.bytes + f.qs);
        g->q[k][0] = vld1q_s8(q);
        g->q[k][1] = vld1q_s8(q + 16);
    }
    g->d = halves(ab, f.bytes, n);
    g->s = f.has_s ? halves(ab + sizeof(fsk_half), f.bytes, n) : vdupq_n_f32(0.0f);
}

/* One row's n blocks: acc lane k += (d_w d_a) isum_k (+ m_w s_a for the min formats). */
FSK_NEON_INLINE float32x4_t row_step(float32x4_t acc, const unsigned char *wb, size_t wbytes,
                                     unpack_fn unpack, fsk_neon_dot32_fn dot, int has_min,
                                     const struct act_group *g, int n)
{
    int32x4_t p[GROUP];
    FSK_NEON_UNROLL
    for (int k = 0; k < GROUP; k++) {
        p[k] = vdupq_n_s32(0);
        if (k < n) {
            int8x16_t w0, w1;
            unpack(wb + (size_t)k * wbytes, &w0, &w1);
            p[k] = dot(w0, w1, g->q[k][0], g->q[k][1]);
        }
    }
    const float32x4_t isum = vcvtq_f32_s32(fsk_neon_hsum4_s32(p[0], p[1], p[2], p[3]));
    acc = vfmaq_f32(acc, vmulq_f32(halves(wb, wbytes, n), g->d), isum);
    if (has_min)
        acc = vfmaq_f32(acc, halves(wb + sizeof(fsk_half), wbytes, n), g->s);
    return acc;
}

/* nrows (ROWS or 1) consecutive rows over all nb blocks. */
FSK_NEON_INLINE void rows_pass(float *y, const unsigned char *w, size_t row_stride,
                               const unsigned char *x, size_t nb, int nrows, size_t wbytes,
                               unpack_fn unpack, fsk_neon_dot32_fn dot, struct act_form f)
{
    float32x4_t acc[ROWS];
    struct act_group g;
    for (int r = 0; r < nrows; r++)
        acc[r] = vdupq_n_f32(0.0f);
    size_t i = 0;
    for (; i + GROUP <= nb; i += GROUP) {
        load_act(&g, x + i * f.bytes, f, GROUP);
        FSK_NEON_UNROLL
        for (int r = 0; r < nrows; r++)
            acc[r] = row_step(acc[r], w + r * row_stride + i * wbytes, wbytes, unpack, dot,
                              f.has_s, &g, GROUP);
    }
    if (i < nb) {
        const int n = (int)(nb - i);
        load_act(&g, x + i * f.bytes, f, n);
        FSK_NEON_UNROLL
        for (int r = 0; r < nrows; r++)
            acc[r] = row_step(acc[r], w + r * row_stride + i * wbytes, wbytes, unpack, dot,
                              f.has_s, &g, n);
    }
    for (int r = 0; r < nrows; r++)
        y[r] = vaddvq_f32(acc[r]);
}

FSK_NEON_INLINE void matvec_q(float *y, const void *w, size_t row_stride, const void *x,
                              size_t ncols, size_t r0, size_t r1, size_t wbytes, int has_min,
                              unpack_fn unpack, fsk_neon_dot32_fn dot)
{
    const struct act_form f = has_min
        ? (struct act_form){sizeof(fsk_block_q8_1), offsetof(fsk_block_q8_1, qs), 1}
        : (struct act_form){sizeof(fsk_block_q8_0), offsetof(fsk_block_q8_0, qs), 0};
    const unsigned char *wr = w;
    const size_t nb = ncols / FSK_QK;
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS)
        rows_pass(y + r, wr + r * row_stride, row_stride, x, nb, ROWS, wbytes, unpack, dot, f);
    for (; r < r1; r++)
        rows_pass(y + r, wr + r * row_stride, row_stride, x, nb, 1, wbytes, unpack, dot, f);
}

#define MATVEC_32(t, min)                                                                          \
    void fsk_matvec_##t##__neon_base(float *y, const void *w, size_t row_stride, const void *x,    \
                                     size_t ncols, size_t r0, size_t r1)                           \
    {                                                                                              \
        matvec_q(y, w, row_stride, x, ncols, r0, r1, sizeof(fsk_block_##t), min, unpack_##t,      \
                 fsk_neon_dot32_base);                                                             \
    }                                                                                              \
    FSK_NEON_DOTPROD void fsk_matvec_##t##__neon_dotprod(float *y, const void *w,                 \
                                                         size_t row_stride, const void *x,         \
                                                         size_t ncols, size_t r0, size_t r1)       \
    {                                                                                              \
        matvec_q(y, w, row_stride, x, ncols, r0, r1, sizeof(fsk_block_##t), min, unpack_##t,      \
                 fsk_neon_dot32_sdot);                                                             \
    }                                                                                              \
    FSK_NEON_MATVEC_DISPATCH(matvec_##t)

MATVEC_32(q4_0, 0)
MATVEC_32(q4_1, 1)
MATVEC_32(q5_0, 0)
MATVEC_32(q5_1, 1)
MATVEC_32(q8_0, 0)

/* ------------------------------------------------------------------ dequantize
 * d * q is exact for every format (an 11-bit half times at most 8 bits), so the only rounding
 * is the add of m, as in ref: the results are ref's bit for bit, fused or not. */

FSK_NEON_INLINE void store_scaled(float *y, int8x16_t q, float32x4_t d, float32x4_t m, int has_min)
{
    const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_high_s8(q);
    const int32x4_t v[4] = {vmovl_s16(vget_low_s16(lo)), vmovl_high_s16(lo),
                            vmovl_s16(vget_low_s16(hi)), vmovl_high_s16(hi)};
    for (int k = 0; k < 4; k++) {
        float32x4_t f = vmulq_f32(d, vcvtq_f32_s32(v[k]));
        if (has_min)
            f = vaddq_f32(f, m);
        vst1q_f32(y + 4 * k, f);
    }
}

FSK_NEON_INLINE void dequant_32(float *y, const void *x, size_t n, size_t bytes, int has_min,
                                unpack_fn unpack)
{
    const unsigned char *b = x;
    for (size_t i = 0; i < n / FSK_QK; i++, b += bytes) {
        fsk_half dm[2] = {0, 0};
        memcpy(dm, b, (has_min ? 2 : 1) * sizeof(fsk_half)); /* d, then m, lead the block */
        const float32x4_t d = vdupq_n_f32(fsk_neon_from_half(dm[0]));
        const float32x4_t m = vdupq_n_f32(fsk_neon_from_half(dm[1]));
        int8x16_t w0, w1;
        unpack(b, &w0, &w1);
        store_scaled(y + i * FSK_QK, w0, d, m, has_min);
        store_scaled(y + i * FSK_QK + 16, w1, d, m, has_min);
    }
}

#define DEQUANT_32(t, min)                                                                         \
    void fsk_dequantize_##t##__neon(float *y, const void *x, size_t n)                            \
    {                                                                                              \
        dequant_32(y, x, n, sizeof(fsk_block_##t), min, unpack_##t);                               \
    }

DEQUANT_32(q4_0, 0)
DEQUANT_32(q4_1, 1)
DEQUANT_32(q5_0, 0)
DEQUANT_32(q5_1, 1)
DEQUANT_32(q8_0, 0)

void fsk_dequantize_bf16__neon(float *y, const void *x, size_t n)
{
    const uint16_t *h = x;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t lo, hi;
        fsk_neon_bf16x8(h + i, &lo, &hi);
        vst1q_f32(y + i, lo);
        vst1q_f32(y + i + 4, hi);
    }
    for (; i < n; i++)
        y[i] = fsk_bf16_to_f32(h[i]);
}

/* FCVTL is exact for every half, subnormals included (Linux leaves FPCR's flush bits clear);
 * only a signalling NaN comes out quieted, where the portable conversion keeps it as is. */
void fsk_dequantize_f16__neon(float *y, const void *x, size_t n)
{
    const uint16_t *h = x;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const float16x8_t v = vreinterpretq_f16_u16(vld1q_u16(h + i));
        vst1q_f32(y + i, vcvt_f32_f16(vget_low_f16(v)));
        vst1q_f32(y + i + 4, vcvt_high_f32_f16(v));
    }
    for (; i < n; i++)
        y[i] = fsk_f16_to_f32(h[i]);
}

/* FCVTN rounds by FPCR's mode, nearest even under Linux, as fsk_f32_to_f16 does. */
void fsk_round_f16_f32__neon(float *x, size_t n)
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(x + i, vcvt_f32_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++)
        x[i] = fsk_f16_to_f32(fsk_f32_to_f16(x[i]));
}

void fsk_cvt_f16_f32__neon(void *y, const float *x, size_t n)
{
    uint16_t *h = y;
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1_u16(h + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
    for (; i < n; i++)
        h[i] = fsk_f32_to_f16(x[i]);
}

/* ------------------------------------------------------------------ matmul (prefill)
 * One row against MM_TOK tokens at a time: each group of weight blocks is unpacked once for the
 * tile, the tokens' quants are read straight from their blocks, and their d and s (halves) are
 * converted once per token block into a stack buffer. Per (row, token) the operations are
 * row_step's, group by group, so each value is bit for bit the matvec's. */
#define MM_TOK 4
#define MM_BUF 2048 /* float32x4_t units of activation scales on the stack (32 KiB) */

/* One row against nt tokens; ds holds per group, per token, d then s (as halves() gives). */
FSK_NEON_INLINE void mm_row_q(float *y, size_t ldy, const unsigned char *w,
                              const unsigned char *const *x, const float32x4_t *ds, int nt,
                              size_t nb, size_t wbytes, int has_min, unpack_fn unpack,
                              fsk_neon_dot32_fn dot, struct act_form f)
{
    float32x4_t acc[MM_TOK];
    FSK_NEON_UNROLL
    for (int t = 0; t < nt; t++)
        acc[t] = vdupq_n_f32(0.0f);
    for (size_t i = 0, g = 0; i < nb; i += GROUP, g++) {
        const int n = nb - i < GROUP ? (int)(nb - i) : GROUP;
        const unsigned char *wb = w + i * wbytes;
        int8x16_t wq[GROUP][2];
        FSK_NEON_UNROLL
        for (int k = 0; k < GROUP; k++) {
            wq[k][0] = wq[k][1] = vdupq_n_s8(0); /* blocks past n are never used */
            if (k < n)
                unpack(wb + (size_t)k * wbytes, &wq[k][0], &wq[k][1]);
        }
        const float32x4_t wd = halves(wb, wbytes, n);
        const float32x4_t wm = has_min ? halves(wb + sizeof(fsk_half), wbytes, n) : wd;
        FSK_NEON_UNROLL
        for (int t = 0; t < nt; t++) {
            const unsigned char *ab = x[t] + i * f.bytes;
            int32x4_t p[GROUP];
            FSK_NEON_UNROLL
            for (int k = 0; k < GROUP; k++) {
                p[k] = vdupq_n_s32(0);
                if (k < n) {
                    const int8_t *q = (const int8_t *)(ab + (size_t)k * f.bytes + f.qs);
                    p[k] = dot(wq[k][0], wq[k][1], vld1q_s8(q), vld1q_s8(q + 16));
                }
            }
            const float32x4_t isum = vcvtq_f32_s32(fsk_neon_hsum4_s32(p[0], p[1], p[2], p[3]));
            const float32x4_t *e = ds + (g * (size_t)nt + (size_t)t) * 2;
            acc[t] = vfmaq_f32(acc[t], vmulq_f32(wd, e[0]), isum);
            if (has_min)
                acc[t] = vfmaq_f32(acc[t], wm, e[1]);
        }
    }
    FSK_NEON_UNROLL
    for (int t = 0; t < nt; t++)
        y[(size_t)t * ldy] = vaddvq_f32(acc[t]);
}

FSK_NEON_INLINE void mm_block_q(float32x4_t *ds, float *y, size_t ldy, const unsigned char *w,
                                size_t row_stride, const unsigned char *x, size_t x_stride, int nt,
                                size_t nb, size_t r0, size_t r1, size_t wbytes, int has_min,
                                unpack_fn unpack, fsk_neon_dot32_fn dot, struct act_form f)
{
    const unsigned char *xs[MM_TOK];
    for (int t = 0; t < nt; t++)
        xs[t] = x + (size_t)t * x_stride;
    for (size_t i = 0, g = 0; i < nb; i += GROUP, g++) {
        const int n = nb - i < GROUP ? (int)(nb - i) : GROUP;
        for (int t = 0; t < nt; t++) { /* load_act's d and s */
            const unsigned char *ab = xs[t] + i * f.bytes;
            float32x4_t *e = ds + (g * (size_t)nt + (size_t)t) * 2;
            e[0] = halves(ab, f.bytes, n);
            e[1] = f.has_s ? halves(ab + sizeof(fsk_half), f.bytes, n) : vdupq_n_f32(0.0f);
        }
    }
    for (size_t r = r0; r < r1; r++)
        mm_row_q(y + r, ldy, w + r * row_stride, xs, ds, nt, nb, wbytes, has_min, unpack, dot, f);
}

FSK_NEON_INLINE void matmul_q(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                              size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1,
                              size_t wbytes, int has_min, unpack_fn unpack, fsk_neon_dot32_fn dot,
                              fsk_matvec_q4_0_fn matvec)
{
    const struct act_form f = has_min
        ? (struct act_form){sizeof(fsk_block_q8_1), offsetof(fsk_block_q8_1, qs), 1}
        : (struct act_form){sizeof(fsk_block_q8_0), offsetof(fsk_block_q8_0, qs), 0};
    const size_t nb = ncols / FSK_QK, ng = (nb + GROUP - 1) / GROUP;
    const unsigned char *xb = x;
    float32x4_t ds[MM_BUF];
    size_t k = 0;
    if (ng * MM_TOK * 2 <= MM_BUF)
        for (; k + MM_TOK <= ntok; k += MM_TOK)
            mm_block_q(ds, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, MM_TOK,
                       nb, r0, r1, wbytes, has_min, unpack, dot, f);
    if (ng * 2 <= MM_BUF) {
        for (; k < ntok; k++)
            mm_block_q(ds, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, 1, nb,
                       r0, r1, wbytes, has_min, unpack, dot, f);
    } else { /* rows too long for the buffer: the matvec itself, token by token */
        for (; k < ntok; k++)
            matvec(y + k * ldy, w, row_stride, xb + k * x_stride, ncols, r0, r1);
    }
}

#define MATMUL_32(t, min)                                                                          \
    static void fsk_matmul_##t##__neon_base(float *y, size_t ldy, const void *w,                   \
                                            size_t row_stride, const void *x, size_t x_stride,     \
                                            size_t ncols, size_t ntok, size_t r0, size_t r1)       \
    {                                                                                              \
        matmul_q(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, sizeof(fsk_block_##t),   \
                 min, unpack_##t, fsk_neon_dot32_base, fsk_matvec_##t##__neon_base);               \
    }                                                                                              \
    static FSK_NEON_DOTPROD void fsk_matmul_##t##__neon_dotprod(                                   \
        float *y, size_t ldy, const void *w, size_t row_stride, const void *x, size_t x_stride,    \
        size_t ncols, size_t ntok, size_t r0, size_t r1)                                           \
    {                                                                                              \
        matmul_q(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, sizeof(fsk_block_##t),   \
                 min, unpack_##t, fsk_neon_dot32_sdot, fsk_matvec_##t##__neon_dotprod);            \
    }                                                                                              \
    FSK_NEON_MATMUL_DISPATCH(matmul_##t)

MATMUL_32(q4_0, 0)
MATMUL_32(q4_1, 1)
MATMUL_32(q5_0, 0)
MATMUL_32(q5_1, 1)
MATMUL_32(q8_0, 0)

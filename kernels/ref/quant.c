/* quant.c (ref): the 32-element GGML formats and BF16: dequantize, activation quantizers, integer matvec, weight quantizers. */
#include <math.h>
#include <string.h>

#include "f16.h"
#include "kernels.h"
#include "quant.h"

/* Every 32-element weight block is unpacked to its integer quants first, so that dequantize and
 * matvec read the bits in one place. Signed formats give q - offset, the min formats give q. */

static void unpack_nibbles(const uint8_t *qs, int8_t q[FSK_QK], int offset)
{
    for (int j = 0; j < FSK_QK / 2; j++) {
        q[j] = (int8_t)((qs[j] & 0x0f) - offset);
        q[j + FSK_QK / 2] = (int8_t)((qs[j] >> 4) - offset);
    }
}

/* qh holds bit 4 of quant j at bit j of a little-endian 32-bit word. */
static void unpack_fives(const uint8_t *qs, const uint8_t qh[4], int8_t q[FSK_QK], int offset)
{
    for (int j = 0; j < FSK_QK / 2; j++) {
        int k = j + FSK_QK / 2;
        int h0 = (qh[j >> 3] >> (j & 7)) & 1, h1 = (qh[k >> 3] >> (k & 7)) & 1;
        q[j] = (int8_t)(((qs[j] & 0x0f) | (h0 << 4)) - offset);
        q[k] = (int8_t)(((qs[j] >> 4) | (h1 << 4)) - offset);
    }
}

/* Integer dot product of one block's quants: |sum| <= 32 * 127 * 127, exact in int32. */
static int32_t idot32(const int8_t *a, const int8_t *b)
{
    int32_t s = 0;
    for (int j = 0; j < FSK_QK; j++)
        s += (int32_t)a[j] * b[j];
    return s;
}

/* ------------------------------------------------------------------ dequantize */

/* y = d * q: d has 11 significant bits and |q| <= 16, so the product is exact. */
static void scale_block(float *y, float d, const int8_t q[FSK_QK])
{
    for (int j = 0; j < FSK_QK; j++)
        y[j] = d * (float)q[j];
}

/* y = d * q + m, rounded twice (no fused multiply-add: GGML and gguf-py round twice). */
static void scale_min_block(float *y, float d, float m, const int8_t q[FSK_QK])
{
    for (int j = 0; j < FSK_QK; j++)
        y[j] = d * (float)q[j] + m;
}

void fsk_dequantize_q4_0__ref(float *y, const void *x, size_t n)
{
    const fsk_block_q4_0 *b = x;
    int8_t q[FSK_QK];
    for (size_t i = 0; i < n / FSK_QK; i++) {
        unpack_nibbles(b[i].qs, q, 8);
        scale_block(y + i * FSK_QK, fsk_f16_to_f32(b[i].d), q);
    }
}

void fsk_dequantize_q4_1__ref(float *y, const void *x, size_t n)
{
    const fsk_block_q4_1 *b = x;
    int8_t q[FSK_QK];
    for (size_t i = 0; i < n / FSK_QK; i++) {
        unpack_nibbles(b[i].qs, q, 0);
        scale_min_block(y + i * FSK_QK, fsk_f16_to_f32(b[i].d), fsk_f16_to_f32(b[i].m), q);
    }
}

void fsk_dequantize_q5_0__ref(float *y, const void *x, size_t n)
{
    const fsk_block_q5_0 *b = x;
    int8_t q[FSK_QK];
    for (size_t i = 0; i < n / FSK_QK; i++) {
        unpack_fives(b[i].qs, b[i].qh, q, 16);
        scale_block(y + i * FSK_QK, fsk_f16_to_f32(b[i].d), q);
    }
}

void fsk_dequantize_q5_1__ref(float *y, const void *x, size_t n)
{
    const fsk_block_q5_1 *b = x;
    int8_t q[FSK_QK];
    for (size_t i = 0; i < n / FSK_QK; i++) {
        unpack_fives(b[i].qs, b[i].qh, q, 0);
        scale_min_block(y + i * FSK_QK, fsk_f16_to_f32(b[i].d), fsk_f16_to_f32(b[i].m), q);
    }
}

void fsk_dequantize_q8_0__ref(float *y, const void *x, size_t n)
{
    const fsk_block_q8_0 *b = x;
    for (size_t i = 0; i < n / FSK_QK; i++)
        scale_block(y + i * FSK_QK, fsk_f16_to_f32(b[i].d), b[i].qs);
}

void fsk_dequantize_bf16__ref(float *y, const void *x, size_t n)
{
    const uint16_t *h = x;
    for (size_t i = 0; i < n; i++)
        y[i] = fsk_bf16_to_f32(h[i]);
}

void fsk_dequantize_f16__ref(float *y, const void *x, size_t n)
{
    const uint16_t *h = x;
    for (size_t i = 0; i < n; i++)
        y[i] = fsk_f16_to_f32(h[i]);
}

void fsk_round_f16_f32__ref(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = fsk_f16_to_f32(fsk_f32_to_f16(x[i]));
}

void fsk_cvt_f16_f32__ref(void *y, const float *x, size_t n)
{
    uint16_t *h = y;
    for (size_t i = 0; i < n; i++)
        h[i] = fsk_f32_to_f16(x[i]);
}

/* ------------------------------------------------------------------ activations */

/* roundf (half away from zero, as GGML's reference); NaN gives 0 rather than undefined casts. */
static int8_t round_q8(float v)
{
    if (!(v == v))
        return 0;
    v = roundf(v);
    return (int8_t)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
}

/* d = amax / 127 and q = round(x * (1 / d)) in float: GGML's q8_0 reference, byte for byte.
 * Returns sum(q) for the q8_1 form; *d_out gets the unrounded d. */
static int32_t quant_block_q8(int8_t q[FSK_QK], float *d_out, const float *x)
{
    float amax = 0.0f;
    for (int j = 0; j < FSK_QK; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int32_t sum = 0;
    for (int j = 0; j < FSK_QK; j++) {
        q[j] = round_q8(x[j] * id);
        sum += q[j];
    }
    *d_out = d;
    return sum;
}

void fsk_quantize_q8_0__ref(void *y, const float *x, size_t n)
{
    fsk_block_q8_0 *b = y;
    for (size_t i = 0; i < n / FSK_QK; i++) {
        float d;
        quant_block_q8(b[i].qs, &d, x + i * FSK_QK);
        b[i].d = fsk_f32_to_f16(d);
    }
}

/* s is the stored (half) d times sum(q): that product is exact in float (11 + 12 bits), so s is
 * it rounded once to half, and m * s in the matvec is as close to m * d * sum(q) as half allows. */
void fsk_quantize_q8_1__ref(void *y, const float *x, size_t n)
{
    fsk_block_q8_1 *b = y;
    for (size_t i = 0; i < n / FSK_QK; i++) {
        float d;
        int32_t sum = quant_block_q8(b[i].qs, &d, x + i * FSK_QK);
        b[i].d = fsk_f32_to_f16(d);
        b[i].s = fsk_f32_to_f16(fsk_f16_to_f32(b[i].d) * (float)sum);
    }
}

/* ------------------------------------------------------------------ matvec
 * Per block: the integer dot product of weight and activation quants, then the scales, in float;
 * blocks are summed left to right. This is what an int8 SIMD kernel computes, up to the order of
 * the float sums and fused multiply-adds. */

typedef void (*unpack_fn)(const void *blk, int8_t q[FSK_QK]);

static void unpack_q4_0(const void *blk, int8_t q[FSK_QK])
{
    unpack_nibbles(((const fsk_block_q4_0 *)blk)->qs, q, 8);
}

static void unpack_q5_0(const void *blk, int8_t q[FSK_QK])
{
    const fsk_block_q5_0 *b = blk;
    unpack_fives(b->qs, b->qh, q, 16);
}

static void unpack_q8_0(const void *blk, int8_t q[FSK_QK])
{
    memcpy(q, ((const fsk_block_q8_0 *)blk)->qs, FSK_QK);
}

static void unpack_q4_1(const void *blk, int8_t q[FSK_QK])
{
    unpack_nibbles(((const fsk_block_q4_1 *)blk)->qs, q, 0);
}

static void unpack_q5_1(const void *blk, int8_t q[FSK_QK])
{
    const fsk_block_q5_1 *b = blk;
    unpack_fives(b->qs, b->qh, q, 0);
}

/* Weights whose block is d then quants (Q4_0, Q5_0, Q8_0) against Q8_0 activations:
 * block = (d_w * d_a) * isum; d_w * d_a is exact (two halves). */
static void matvec_sym(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                       size_t r0, size_t r1, size_t block_bytes, unpack_fn unpack)
{
    const fsk_block_q8_0 *a = x;
    int8_t q[FSK_QK];
    for (size_t r = r0; r < r1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * row_stride;
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK; i++) {
            const unsigned char *blk = row + i * block_bytes;
            fsk_half dh;
            memcpy(&dh, blk, sizeof dh); /* d leads every one of these blocks */
            unpack(blk, q);
            float d = fsk_f16_to_f32(dh) * fsk_f16_to_f32(a[i].d);
            s += d * (float)idot32(q, a[i].qs);
        }
        y[r] = s;
    }
}

/* Weights d, m, quants (Q4_1, Q5_1) against Q8_1 activations:
 * sum (d_w q + m)(d_a a) = (d_w d_a) isum + m s, with s = d_a * sum(a) stored in the block. */
static void matvec_min(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                       size_t r0, size_t r1, size_t block_bytes, unpack_fn unpack)
{
    const fsk_block_q8_1 *a = x;
    int8_t q[FSK_QK];
    for (size_t r = r0; r < r1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * row_stride;
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK; i++) {
            const unsigned char *blk = row + i * block_bytes;
            fsk_half dm[2];
            memcpy(dm, blk, sizeof dm); /* d then m lead both formats */
            unpack(blk, q);
            float d = fsk_f16_to_f32(dm[0]) * fsk_f16_to_f32(a[i].d);
            float ms = fsk_f16_to_f32(dm[1]) * fsk_f16_to_f32(a[i].s);
            s += d * (float)idot32(q, a[i].qs) + ms;
        }
        y[r] = s;
    }
}

void fsk_matvec_q4_0__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    matvec_sym(y, w, row_stride, x, ncols, r0, r1, sizeof(fsk_block_q4_0), unpack_q4_0);
}

void fsk_matvec_q5_0__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    matvec_sym(y, w, row_stride, x, ncols, r0, r1, sizeof(fsk_block_q5_0), unpack_q5_0);
}

void fsk_matvec_q8_0__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    matvec_sym(y, w, row_stride, x, ncols, r0, r1, sizeof(fsk_block_q8_0), unpack_q8_0);
}

void fsk_matvec_q4_1__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    matvec_min(y, w, row_stride, x, ncols, r0, r1, sizeof(fsk_block_q4_1), unpack_q4_1);
}

/* The repacked layouts: each row's blocks taken back out of the records, one at a time, through
 * the plain matvec over that one block (a sum starting at 0 is the block's value exactly), then
 * summed left to right as the plain matvec sums them: bit for bit the plain result on the rows
 * before repacking. r0 and r1 are multiples of FSK_R8. */
static void matvec_r8(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                      size_t r0, size_t r1, uint32_t type, fsk_matvec_f32_fn plain)
{
    const struct fsk_type_traits *tr = fsk_type_traits(type);
    const size_t bb = tr->block_bytes, ab = fsk_type_traits(tr->act)->block_bytes;
    for (size_t r = r0; r < r1; r++) {
        const unsigned char *g = (const unsigned char *)w + r / FSK_R8 * FSK_R8 * row_stride;
        float s = 0.0f;
        for (size_t i = 0; i < ncols / tr->block; i++) {
            _Alignas(8) unsigned char blk[sizeof(fsk_block_q6_K)]; /* the largest plain block of a record */
            float v;
            fsk_r8_block(blk, g + i * FSK_R8 * bb, type, r % FSK_R8);
            plain(&v, blk, bb, (const unsigned char *)x + i * ab, tr->block, 0, 1);
            s += v;
        }
        y[r] = s;
    }
}

/* fsk_matvec_<t>_r8__ref: the layout FSK_TYPE_<T>_R8 through the plain ref matvec of t. */
#define REF_R8(t, T)                                                                               \
    void fsk_matvec_##t##_r8__ref(float *y, const void *w, size_t row_stride, const void *x,       \
                                  size_t ncols, size_t r0, size_t r1)                              \
    {                                                                                              \
        matvec_r8(y, w, row_stride, x, ncols, r0, r1, FSK_TYPE_##T##_R8, fsk_matvec_##t##__ref);  \
    }
REF_R8(q4_1, Q4_1)
REF_R8(q8_0, Q8_0)
REF_R8(q4_0, Q4_0)
REF_R8(q5_0, Q5_0)
REF_R8(q5_1, Q5_1)
REF_R8(q4_k, Q4_K)
REF_R8(q5_k, Q5_K)
REF_R8(q6_k, Q6_K)
#undef REF_R8

void fsk_matvec_q5_1__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    matvec_min(y, w, row_stride, x, ncols, r0, r1, sizeof(fsk_block_q5_1), unpack_q5_1);
}

void fsk_matvec_bf16__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    const float *xf = x;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *row = (const uint16_t *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t c = 0; c < ncols; c++)
            s += fsk_bf16_to_f32(row[c]) * xf[c];
        y[r] = s;
    }
}

/* ------------------------------------------------------------------ weight quantizers
 * GGML's reference schemes, float for float, so that a row we write is the row llama.cpp and
 * gguf-py write: the code is truncated after adding 0.5 (not rounded), and the half d is stored
 * but the unrounded d is what the codes were computed with. */

/* trunc(v) clipped to [0, hi]; v is never negative for finite input, NaN gives 0. */
static uint8_t trunc_code(float v, int hi)
{
    if (!(v > 0.0f))
        return 0;
    return v >= (float)hi ? (uint8_t)hi : (uint8_t)v;
}

/* The value of largest magnitude, sign kept; the first one wins a tie. */
static float signed_absmax(const float *x)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < FSK_QK; j++)
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    return max;
}

static void min_max(const float *x, float *mn, float *mx)
{
    *mn = x[0];
    *mx = x[0];
    for (int j = 1; j < FSK_QK; j++) {
        if (x[j] < *mn)
            *mn = x[j];
        if (x[j] > *mx)
            *mx = x[j];
    }
}

/* Codes for the symmetric formats: d = max / -half_range, code = trunc(x / d + half_range + 0.5). */
static float sym_codes(uint8_t q[FSK_QK], const float *x, int half_range)
{
    const float d = signed_absmax(x) / (float)-half_range;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    const float bias = (float)half_range + 0.5f;
    for (int j = 0; j < FSK_QK; j++)
        q[j] = trunc_code(x[j] * id + bias, 2 * half_range - 1);
    return d;
}

/* Codes for the min formats: d = (max - min) / top, code = trunc((x - min) / d + 0.5). */
static float min_codes(uint8_t q[FSK_QK], float *mn, const float *x, int top)
{
    float mx;
    min_max(x, mn, &mx);
    const float d = (mx - *mn) / (float)top;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    for (int j = 0; j < FSK_QK; j++)
        q[j] = trunc_code((x[j] - *mn) * id + 0.5f, top);
    return d;
}

/* Low nibbles hold quants 0..15, high nibbles 16..31; bit 4 of quant j goes to bit j of qh. */
static void pack_codes(uint8_t qs[FSK_QK / 2], uint8_t *qh, const uint8_t q[FSK_QK])
{
    for (int j = 0; j < FSK_QK / 2; j++)
        qs[j] = (uint8_t)((q[j] & 0x0f) | ((q[j + FSK_QK / 2] & 0x0f) << 4));
    if (!qh)
        return;
    memset(qh, 0, 4);
    for (int j = 0; j < FSK_QK; j++)
        qh[j >> 3] |= (uint8_t)(((q[j] >> 4) & 1) << (j & 7));
}

size_t fsk_quantize_row_q4_0(void *dst, const float *src, size_t n)
{
    if (n % FSK_QK)
        return 0;
    fsk_block_q4_0 *b = dst;
    uint8_t q[FSK_QK];
    for (size_t i = 0; i < n / FSK_QK; i++) {
        b[i].d = fsk_f32_to_f16(sym_codes(q, src + i * FSK_QK, 8));
        pack_codes(b[i].qs, NULL, q);
    }
    return n / FSK_QK * sizeof *b;
}

size_t fsk_quantize_row_q5_0(void *dst, const float *src, size_t n)
{
    if (n % FSK_QK)
        return 0;
    fsk_block_q5_0 *b = dst;
    uint8_t q[FSK_QK];
    for (size_t i = 0; i < n / FSK_QK; i++) {
        b[i].d = fsk_f32_to_f16(sym_codes(q, src + i * FSK_QK, 16));
        pack_codes(b[i].qs, b[i].qh, q);
    }
    return n / FSK_QK * sizeof *b;
}

size_t fsk_quantize_row_q4_1(void *dst, const float *src, size_t n)
{
    if (n % FSK_QK)
        return 0;
    fsk_block_q4_1 *b = dst;
    uint8_t q[FSK_QK];
    for (size_t i = 0; i < n / FSK_QK; i++) {
        float mn;
        b[i].d = fsk_f32_to_f16(min_codes(q, &mn, src + i * FSK_QK, 15));
        b[i].m = fsk_f32_to_f16(mn);
        pack_codes(b[i].qs, NULL, q);
    }
    return n / FSK_QK * sizeof *b;
}

size_t fsk_quantize_row_q5_1(void *dst, const float *src, size_t n)
{
    if (n % FSK_QK)
        return 0;
    fsk_block_q5_1 *b = dst;
    uint8_t q[FSK_QK];
    for (size_t i = 0; i < n / FSK_QK; i++) {
        float mn;
        b[i].d = fsk_f32_to_f16(min_codes(q, &mn, src + i * FSK_QK, 31));
        b[i].m = fsk_f32_to_f16(mn);
        pack_codes(b[i].qs, b[i].qh, q);
    }
    return n / FSK_QK * sizeof *b;
}

/* Q8_0 weights are the Q8_0 activation form: one quantizer serves both. */
size_t fsk_quantize_row_q8_0(void *dst, const float *src, size_t n)
{
    if (n % FSK_QK)
        return 0;
    fsk_quantize_q8_0__ref(dst, src, n);
    return n / FSK_QK * sizeof(fsk_block_q8_0);
}

/* Round to nearest even on the top 16 bits; a NaN keeps its top bits and is made quiet, so that
 * truncating its payload can never turn it into an infinity. */
static uint16_t f32_to_bf16(float f)
{
    uint32_t u = fsk_f32_to_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

size_t fsk_quantize_row_bf16(void *dst, const float *src, size_t n)
{
    uint16_t *h = dst;
    for (size_t i = 0; i < n; i++)
        h[i] = f32_to_bf16(src[i]);
    return n * sizeof *h;
}

fsk_quantize_row_fn fsk_row_quantizer(uint32_t t)
{
    switch (t) {
    case FSK_TYPE_Q4_0: return fsk_quantize_row_q4_0;
    case FSK_TYPE_Q4_1: return fsk_quantize_row_q4_1;
    case FSK_TYPE_Q5_0: return fsk_quantize_row_q5_0;
    case FSK_TYPE_Q5_1: return fsk_quantize_row_q5_1;
    case FSK_TYPE_Q8_0: return fsk_quantize_row_q8_0;
    case FSK_TYPE_BF16: return fsk_quantize_row_bf16;
    default: return NULL;
    }
}

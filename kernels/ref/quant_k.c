/* quant_k.c (ref): the 256-element K formats (Q4_K, Q5_K, Q6_K) and their Q8_K activations. */
#include <math.h>
#include <string.h>

#include "f16.h"
#include "kernels.h"
#include "quant.h"

/* Each 32 bytes of qs hold two sub-blocks: low nibbles the first, high nibbles the second. */
static void unpack_q4_k(const fsk_block_q4_K *b, int8_t q[FSK_QK_K])
{
    for (int c = 0; c < FSK_QK_K / 64; c++)
        for (int l = 0; l < 32; l++) {
            q[64 * c + l] = (int8_t)(b->qs[32 * c + l] & 15);
            q[64 * c + 32 + l] = (int8_t)(b->qs[32 * c + l] >> 4);
        }
}

/* As Q4_K, plus bit 4 of element l of sub-block j in bit j of qh[l]. */
static void unpack_q5_k(const fsk_block_q5_K *b, int8_t q[FSK_QK_K])
{
    for (int c = 0; c < FSK_QK_K / 64; c++)
        for (int l = 0; l < 32; l++) {
            int lo = 2 * c, hi = 2 * c + 1;
            q[32 * lo + l] = (int8_t)((b->qs[32 * c + l] & 15) | (((b->qh[l] >> lo) & 1) << 4));
            q[32 * hi + l] = (int8_t)((b->qs[32 * c + l] >> 4) | (((b->qh[l] >> hi) & 1) << 4));
        }
}

/* Each half of 128: ql[l] and ql[l+32] give the low nibbles of elements l, l+32 (low) and
 * l+64, l+96 (high); qh[l] gives their top two bits at shifts 0, 2, 4, 6. Stored offset 32. */
static void unpack_q6_k(const fsk_block_q6_K *b, int8_t q[FSK_QK_K])
{
    for (int h = 0; h < 2; h++) {
        const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
        int8_t *o = q + 128 * h;
        for (int l = 0; l < 32; l++) {
            o[l] = (int8_t)(((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32);
            o[l + 32] = (int8_t)(((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32);
            o[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            o[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

/* ------------------------------------------------------------------ dequantize */

/* Sub-block j: (d * sc_j) * q - dmin * m_j, rounded as GGML and gguf-py round it. */
static void dequant_scale_min(float *y, const int8_t q[FSK_QK_K], fsk_half dh, fsk_half dminh,
                              const uint8_t s[12])
{
    uint8_t sc[8], mn[8];
    fsk_k_scales(s, sc, mn); /* kernels/quant.c */
    const float d = fsk_f16_to_f32(dh), dmin = fsk_f16_to_f32(dminh);
    for (int j = 0; j < 8; j++) {
        const float d1 = d * (float)sc[j], m1 = dmin * (float)mn[j];
        for (int l = 0; l < 32; l++)
            y[32 * j + l] = d1 * (float)q[32 * j + l] - m1;
    }
}

void fsk_dequantize_q4_k__ref(float *y, const void *x, size_t n)
{
    const fsk_block_q4_K *b = x;
    int8_t q[FSK_QK_K];
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        unpack_q4_k(&b[i], q);
        dequant_scale_min(y + i * FSK_QK_K, q, b[i].d, b[i].dmin, b[i].scales);
    }
}

void fsk_dequantize_q5_k__ref(float *y, const void *x, size_t n)
{
    const fsk_block_q5_K *b = x;
    int8_t q[FSK_QK_K];
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        unpack_q5_k(&b[i], q);
        dequant_scale_min(y + i * FSK_QK_K, q, b[i].d, b[i].dmin, b[i].scales);
    }
}

void fsk_dequantize_q6_k__ref(float *y, const void *x, size_t n)
{
    const fsk_block_q6_K *b = x;
    int8_t q[FSK_QK_K];
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        unpack_q6_k(&b[i], q);
        const float d = fsk_f16_to_f32(b[i].d);
        float *o = y + i * FSK_QK_K;
        for (int g = 0; g < FSK_QK_K / 16; g++) {
            const float dg = d * (float)b[i].scales[g];
            for (int l = 0; l < 16; l++)
                o[16 * g + l] = dg * (float)q[16 * g + l];
        }
    }
}

/* ------------------------------------------------------------------ Q8_K activations */

/* d = amax / 127 kept in float, q = round(x * (1 / d)) as for Q8_0; bsums[g] = sum of quants
 * 16g..16g+15, which lets the min formats fold their mins in without touching the quants. */
void fsk_quantize_q8_k__ref(void *y, const float *x, size_t n)
{
    fsk_block_q8_K *b = y;
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        const float *xb = x + i * FSK_QK_K;
        float amax = 0.0f;
        for (int j = 0; j < FSK_QK_K; j++)
            amax = fmaxf(amax, fabsf(xb[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        for (int j = 0; j < FSK_QK_K; j++) {
            float v = xb[j] * id;
            v = v == v ? roundf(v) : 0.0f;
            b[i].qs[j] = (int8_t)(v > 127.0f ? 127.0f : v < -127.0f ? -127.0f : v);
        }
        for (int g = 0; g < FSK_QK_K / 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++)
                s += b[i].qs[16 * g + l];
            b[i].bsums[g] = (int16_t)s;
        }
        b[i].d = d;
    }
}

/* ------------------------------------------------------------------ matvec
 * Per super-block, integers first: isum_j over each sub-block, sumi = sum sc_j isum_j and, for
 * the min formats, summ = sum m_j (bsums of sub-block j); then the scales in float:
 * block = (d_w d_a) sumi - (dmin_w d_a) summ. Super-blocks are summed left to right. Every
 * integer fits int32: |sumi| <= 8 * 63 * 32 * 31 * 127, and for Q6_K 16 * 128 * 16 * 32 * 127. */

static int32_t idot(const int8_t *a, const int8_t *b, int n)
{
    int32_t s = 0;
    for (int j = 0; j < n; j++)
        s += (int32_t)a[j] * b[j];
    return s;
}

static float block_scale_min(const int8_t q[FSK_QK_K], const uint8_t s[12], fsk_half dh,
                             fsk_half dminh, const fsk_block_q8_K *a)
{
    uint8_t sc[8], mn[8];
    fsk_k_scales(s, sc, mn); /* kernels/quant.c */
    int32_t sumi = 0, summ = 0;
    for (int j = 0; j < 8; j++) {
        sumi += (int32_t)sc[j] * idot(q + 32 * j, a->qs + 32 * j, 32);
        summ += (int32_t)mn[j] * (a->bsums[2 * j] + a->bsums[2 * j + 1]);
    }
    const float d = fsk_f16_to_f32(dh) * a->d, dmin = fsk_f16_to_f32(dminh) * a->d;
    return d * (float)sumi - dmin * (float)summ;
}

void fsk_matvec_q4_k__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    const fsk_block_q8_K *a = x;
    int8_t q[FSK_QK_K];
    for (size_t r = r0; r < r1; r++) {
        const fsk_block_q4_K *b = (const fsk_block_q4_K *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK_K; i++) {
            unpack_q4_k(&b[i], q);
            s += block_scale_min(q, b[i].scales, b[i].d, b[i].dmin, &a[i]);
        }
        y[r] = s;
    }
}

void fsk_matvec_q5_k__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    const fsk_block_q8_K *a = x;
    int8_t q[FSK_QK_K];
    for (size_t r = r0; r < r1; r++) {
        const fsk_block_q5_K *b = (const fsk_block_q5_K *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK_K; i++) {
            unpack_q5_k(&b[i], q);
            s += block_scale_min(q, b[i].scales, b[i].d, b[i].dmin, &a[i]);
        }
        y[r] = s;
    }
}

/* block = (d_w d_a) * sum_g sc_g isum_g over the 16 groups of 16. */
static float block_q6_k(const fsk_block_q6_K *b, const fsk_block_q8_K *a)
{
    int8_t q[FSK_QK_K];
    unpack_q6_k(b, q);
    int32_t sumi = 0;
    for (int g = 0; g < FSK_QK_K / 16; g++)
        sumi += (int32_t)b->scales[g] * idot(q + 16 * g, a->qs + 16 * g, 16);
    return (fsk_f16_to_f32(b->d) * a->d) * (float)sumi;
}

void fsk_matvec_q6_k__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                          size_t r0, size_t r1)
{
    const fsk_block_q8_K *a = x;
    for (size_t r = r0; r < r1; r++) {
        const fsk_block_q6_K *b = (const fsk_block_q6_K *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK_K; i++)
            s += block_q6_k(&b[i], &a[i]);
        y[r] = s;
    }
}

/* r8zmm.c (avx512 + AVX512-VNNI): the prompt matmuls of the eight-row records (Q8_0, Q4_0, Q4_1,
 * Q5_0, Q5_1; the K ones below) on zmm registers, for CPUs with AVX512-VNNI where AMX does not
 * take the call: no AMX-INT8 (Ice Lake and Cascade Lake Xeons, AMD Zen 4 and 5), or a prompt
 * chunk shorter than a tile.
 *
 * Two groups of records (16 weight rows) at a time: 32-bit lane j of a code vector holds row j's
 * four quants 4k..4k+3 (lanes 0-7 the first group's record, 8-15 the second's), as the AVX2
 * kernels hold a group's eight in a ymm; vpdpbusd against the activation's four bytes 4k..4k+3,
 * broadcast, adds each row's products into its lane. Per block the eight code vectors pair with
 * the activation's bytes 0, 4, ..., 28: Q8_0's vectors k = 0..7 as they are, with the sign bit
 * flipped (w + 128, unsigned; 128 sum(a) is taken off after), the 4- and 5-bit records' low
 * nibbles of vectors 0..3 (quants 4k..) and their high ones (quants 16 + 4k..). So each row's
 * integer dot is the AVX2 kernel's (integers are exact in any order), and the float work after
 * it is theirs (kernels/x86/avx2/quant.c: r8q8u_group, r8q40_group, r8_group) lane for lane, as
 * in amx.c: acc = fma(float(isum), d_w * d_a, acc) block after block, the minimums in a chain of
 * their own, added last. The results are the AVX2 matvec's bit for bit
 * (tests/test_x86_matmul.c). A group left over (an odd count in r0..r1) goes through the AVX2
 * VNNI path. Each pair's records (2 x 18 of them for SmolLM2's rows of 576) stay in L1 while up
 * to ZMM_TOK tokens at a time pass over them. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "../loadu.h"
#include "kernels.h"
#include "quant.h"
#include "unroll.h"
#include "../q4k_r8.h"
#include "../vnni.h"
#include "../zmm.h"

#ifdef FSK_ZMM_R8

#define QINLINE FSK_FORCE_INLINE
#define UNROLL FSK_UNROLL16
#define ZT FSK_TARGET_VNNI512Z

/* Tokens per pass over a pair's records: their accumulators (two for the layouts with minimums)
 * and the eight code vectors stay in the 32 registers. */
#define ZMM_TOK 8

/* Blocks of sums (8 sum(a) per block and token) the stack table holds; tokens are taken in runs
 * that fit it. */
#define ZMM_SUMS 4096

enum zkind { Z_Q8_0, Z_Q4_0, Z_Q4_1, Z_Q5_0, Z_Q5_1 };
#define ZK_MIN(k) ((k) == Z_Q4_1 || (k) == Z_Q5_1)
#define ZK_FIFTH(k) ((k) == Z_Q5_0 || (k) == Z_Q5_1)
#define ZK_SUMS(k) ((k) == Z_Q8_0 || (k) == Z_Q4_0 || (k) == Z_Q5_0)

/* 32 bytes of each of two records side by side. */
QINLINE __m512i pair32(const void *a, const void *b)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)a)),
                              _mm256_loadu_si256((const __m256i *)b), 1);
}

/* The low and high nibbles of the quant vector at byte q of records r0 (lanes 0-7) and r1 (lanes
 * 8-15); with fifth, 16 added where the records' 32-bit masks at byte h (low nibbles) and h + 16
 * (high ones) set bit b for byte b. */
QINLINE void nibbles2(const uint8_t *r0, const uint8_t *r1, size_t q, int fifth, size_t h, __m512i *lo,
                      __m512i *hi)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), b4 = _mm512_set1_epi8(0x10);
    const __m512i v = pair32(r0 + q, r1 + q);
    *lo = _mm512_and_si512(v, m4);
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    if (fifth) {
        const __mmask64 ml = (__mmask64)load_u32(r0 + h) | (__mmask64)load_u32(r1 + h) << 32;
        const __mmask64 mh = (__mmask64)load_u32(r0 + h + 16) | (__mmask64)load_u32(r1 + h + 16) << 32;
        *lo = _mm512_mask_add_epi8(*lo, ml, *lo, b4);
        *hi = _mm512_mask_add_epi8(*hi, mh, *hi, b4);
    }
}

/* The eight code vectors of block records r0 (rows 0-7) and r1 (rows 8-15): c[j] pairs with the
 * activation's bytes 4j..4j+3. */
QINLINE void zmm_codes(enum zkind kind, __m512i c[8], const uint8_t *r0, const uint8_t *r1)
{
    if (kind == Z_Q8_0) {
        const __m512i flip = _mm512_set1_epi8((char)0x80);
        UNROLL for (int k = 0; k < 8; k++)
            c[k] = _mm512_xor_si512(pair32(r0 + offsetof(fsk_block_q8_0_r8, qs) + 32 * k,
                                           r1 + offsetof(fsk_block_q8_0_r8, qs) + 32 * k),
                                    flip);
        return;
    }
    const size_t qs = kind == Z_Q4_0   ? offsetof(fsk_block_q4_0_r8, qs)
                      : kind == Z_Q4_1 ? offsetof(fsk_block_q4_1_r8, qs)
                      : kind == Z_Q5_0 ? offsetof(fsk_block_q5_0_r8, qs)
                                       : offsetof(fsk_block_q5_1_r8, qs);
    const size_t qh = kind == Z_Q5_0 ? offsetof(fsk_block_q5_0_r8, qh) : offsetof(fsk_block_q5_1_r8, qh);
    UNROLL for (int k = 0; k < 4; k++)
        nibbles2(r0, r1, qs + 32 * (size_t)k, ZK_FIFTH(kind), qh + 4 * (size_t)k, &c[k], &c[4 + k]);
}

/* y[t][16 rows] for nt tokens (x, x_stride) and the records of groups g0, g0 + 1 (rs bytes each,
 * nb blocks); s8[t * nb + i] is token t's 8 sum(a) of block i for the kinds that take it off. */
QINLINE ZT void zmm_pair(enum zkind kind, int nt, float *y, size_t ldy, const uint8_t *g0,
                         const uint8_t *g1, size_t rs, const char *x, size_t x_stride, size_t nb,
                         const int32_t *s8)
{
    const size_t bs = ZK_MIN(kind) ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    const size_t qoff = ZK_MIN(kind) ? offsetof(fsk_block_q8_1, qs) : offsetof(fsk_block_q8_0, qs);
    /* 128 sum(a) for Q8_0's flipped sign, 16 sum(a) for five-bit codes, 8 sum(a) for four */
    const int32_t mul = kind == Z_Q8_0 ? 16 : kind == Z_Q5_0 ? 2 : 1;
    __m512 acc[ZMM_TOK], accm[ZMM_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = accm[t] = _mm512_setzero_ps();
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *r0 = g0 + i * rs, *r1 = g1 + i * rs;
        __m512i c[8];
        zmm_codes(kind, c, r0, r1);
        const __m512 d = fsk_avx512_halves16(r0, r1); /* every record starts with its eight d */
        /* m[] right after d[] in Q4_1's and Q5_1's records (d again for the others: unused) */
        const size_t m_at = ZK_MIN(kind) ? 2 * FSK_R8 : 0;
        const __m512 m = fsk_avx512_halves16(r0 + m_at, r1 + m_at);
        UNROLL for (int t = 0; t < nt; t++) {
            const char *a = x + (size_t)t * x_stride + i * bs;
            const int8_t *q = (const int8_t *)(a + qoff);
            __m512i p = _mm512_setzero_si512(), r = _mm512_setzero_si512();
            UNROLL for (int j = 0; j < 8; j += 2) {
                p = _mm512_dpbusd_epi32(p, c[j], _mm512_set1_epi32((int)load_u32(q + 4 * j)));
                r = _mm512_dpbusd_epi32(r, c[j + 1], _mm512_set1_epi32((int)load_u32(q + 4 * j + 4)));
            }
            __m512i is = _mm512_add_epi32(p, r);
            if (ZK_SUMS(kind))
                is = _mm512_sub_epi32(is, _mm512_set1_epi32(s8[(size_t)t * nb + i] * mul));
            const __m512 da = _mm512_set1_ps(_cvtsh_ss(load_u16(a)));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_mul_ps(d, da), acc[t]);
            if (ZK_MIN(kind)) /* s_a right after d_a in a Q8_1 block */
                accm[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(_cvtsh_ss(load_u16(a + 2))), accm[t]);
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        _mm512_storeu_ps(y + (size_t)t * ldy, ZK_MIN(kind) ? _mm512_add_ps(acc[t], accm[t]) : acc[t]);
}

/* 8 sum(a) of each block of one Q8_0 activation. */
static void sums8(int32_t *s, const fsk_block_q8_0 *a, size_t nb)
{
    for (size_t i = 0; i < nb; i++) {
        const __m256i v = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)a[i].qs));
        const __m256i w = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(a[i].qs + 16)));
        const __m256i m = _mm256_madd_epi16(_mm256_add_epi16(v, w), _mm256_set1_epi16(1));
        __m128i h = _mm_add_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
        h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
        s[i] = 8 * _mm_cvtsi128_si32(h);
    }
}

#define ZMM_CALL_NT(nt, call)                                                                      \
    do {                                                                                           \
        switch (nt) {                                                                              \
        case 8: call(8); break;                                                                    \
        case 7: call(7); break;                                                                    \
        case 6: call(6); break;                                                                    \
        case 5: call(5); break;                                                                    \
        case 4: call(4); break;                                                                    \
        case 3: call(3); break;                                                                    \
        case 2: call(2); break;                                                                    \
        default: call(1); break;                                                                   \
        }                                                                                          \
    } while (0)

typedef void (*zmm_tail_fn)(float *, size_t, const void *, size_t, const void *, size_t, size_t, size_t,
                            size_t, size_t);

QINLINE ZT void zmm_matmul(enum zkind kind, float *y, size_t ldy, const void *w, size_t row_stride,
                           const void *x, size_t x_stride, size_t ncols, size_t ntok, size_t r0,
                           size_t r1, zmm_tail_fn tail)
{
    const size_t nb = ncols / FSK_QK, gs = FSK_R8 * row_stride;
    const size_t rs = kind == Z_Q8_0   ? sizeof(fsk_block_q8_0_r8)
                      : kind == Z_Q4_0 ? sizeof(fsk_block_q4_0_r8)
                      : kind == Z_Q4_1 ? sizeof(fsk_block_q4_1_r8)
                      : kind == Z_Q5_0 ? sizeof(fsk_block_q5_0_r8)
                                       : sizeof(fsk_block_q5_1_r8);
    const size_t g_lo = r0 / FSK_R8, g_hi = r1 / FSK_R8, pairs = (g_hi - g_lo) / 2;
    _Alignas(64) int32_t stack_sums[ZMM_SUMS];
    int32_t *sums = stack_sums;
    size_t per = ntok; /* tokens per run of the sums table */
    if (ZK_SUMS(kind) && nb > 0) {
        per = ZMM_SUMS / nb / ZMM_TOK * ZMM_TOK;
        if (per == 0) { /* rows longer than the table: one pass of tokens at a time, on the heap */
            sums = malloc(ZMM_TOK * nb * sizeof *sums);
            per = ZMM_TOK;
            if (!sums) { /* the AVX2 path needs no table */
                tail(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
                return;
            }
        }
    }
    for (size_t k0 = 0; k0 < ntok; k0 += per) {
        const size_t kn = ntok - k0 < per ? ntok - k0 : per;
        const char *xk = (const char *)x + k0 * x_stride;
        if (ZK_SUMS(kind))
            for (size_t k = 0; k < kn; k++)
                sums8(sums + k * nb, (const fsk_block_q8_0 *)(const void *)(xk + k * x_stride), nb);
        for (size_t pi = 0; pi < pairs; pi++) {
            const size_t g = g_lo + 2 * pi;
            const uint8_t *w0 = (const uint8_t *)w + g * gs, *w1 = w0 + gs;
            for (size_t k = 0; k < kn; k += ZMM_TOK) {
                const int nt = kn - k < ZMM_TOK ? (int)(kn - k) : ZMM_TOK;
                float *yt = y + (k0 + k) * ldy + g * FSK_R8;
#define ZMM_PAIR(n)                                                                                \
    zmm_pair(kind, n, yt, ldy, w0, w1, rs, xk + k * x_stride, x_stride, nb,                        \
             ZK_SUMS(kind) ? sums + k * nb : NULL)
                ZMM_CALL_NT(nt, ZMM_PAIR);
#undef ZMM_PAIR
            }
        }
    }
    if (sums != stack_sums)
        free(sums);
    if ((g_hi - g_lo) % 2) /* the group left over */
        tail(y, ldy, w, row_stride, x, x_stride, ncols, ntok, (g_hi - 1) * FSK_R8, g_hi * FSK_R8);
}

/* ------------------------------------------------------------------ Q4_K and Q5_K records
 * As the AVX2 kernel (kernels/x86/avx2/quant.c: r8q4k_group), two records to a vector: per pair p
 * of sub-blocks the rows' code sums of sub-blocks 2p (low nibbles) and 2p + 1 (high), then, exact
 * in int32, sumi = sum_s sc_s isum_s and summ = sum_p madd(m pairs, bsum pairs), and the block's
 * value d_a d_w sumi - d_a dmin_w summ by one fused multiply-subtract, blocks added left to right.
 * Each record's scales and mins are unpacked by the AVX2 kernels' helper (q4k_r8.h). */

/* Tokens per pass: five vectors each (two code sums, sumi, summ, acc) beside the eight codes. */
#define ZMMK_TOK 4

/* 8 bytes of each of two unpacked tables side by side, widened to 16 int32. */
QINLINE __m512i pair8_epi32(const uint8_t *a, const uint8_t *b)
{
    uint64_t x, y;
    memcpy(&x, a, sizeof x);
    memcpy(&y, b, sizeof y);
    return _mm512_cvtepu8_epi32(_mm_set_epi64x((long long)y, (long long)x));
}

QINLINE ZT void zmmk_pair(int nt, int fifth, float *y, size_t ldy, const uint8_t *g0, const uint8_t *g1,
                          const char *x, size_t x_stride, size_t nb)
{
    const size_t rs = fifth ? sizeof(fsk_block_q5_K_r8) : sizeof(fsk_block_q4_K_r8);
    const size_t qs_at = fifth ? offsetof(fsk_block_q5_K_r8, qs) : offsetof(fsk_block_q4_K_r8, qs);
    const size_t qh_at = offsetof(fsk_block_q5_K_r8, qh);
    __m512 acc[ZMMK_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm512_setzero_ps();
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *r0 = g0 + i * rs, *r1 = g1 + i * rs;
        const fsk_block_q4_K_r8 *k0 = (const fsk_block_q4_K_r8 *)(const void *)r0; /* d, dmin, sm */
        const fsk_block_q4_K_r8 *k1 = (const fsk_block_q4_K_r8 *)(const void *)r1;
        _Alignas(32) uint8_t u0[128], u1[128];
        fsk_k8_unpack(k0->sm, u0);
        fsk_k8_unpack(k1->sm, u1);
        const fsk_block_q8_K *xa[ZMMK_TOK];
        __m512i sumi[ZMMK_TOK], summ[ZMMK_TOK];
        UNROLL for (int t = 0; t < nt; t++) {
            xa[t] = (const fsk_block_q8_K *)(const void *)(x + (size_t)t * x_stride) + i;
            sumi[t] = summ[t] = _mm512_setzero_si512();
        }
        for (int p = 0; p < 4; p++) {
            __m512i s0[ZMMK_TOK], s1[ZMMK_TOK]; /* sub-blocks 2p and 2p + 1 */
            UNROLL for (int t = 0; t < nt; t++)
                s0[t] = s1[t] = _mm512_setzero_si512();
            UNROLL for (int q = 0; q < 2; q++) { /* quant vectors 4q..4q+3 of the pair */
                UNROLL for (int c = 0; c < 4; c++) {
                    __m512i lo, hi;
                    nibbles2(r0, r1, qs_at + 256 * (size_t)p + 128 * (size_t)q + 32 * (size_t)c, fifth,
                             qh_at + 64 * (size_t)p + 32 * (size_t)q + 4 * (size_t)c, &lo, &hi);
                    UNROLL for (int t = 0; t < nt; t++) {
                        const int8_t *aq = xa[t]->qs + 64 * p + 16 * q + 4 * c;
                        s0[t] = _mm512_dpbusd_epi32(s0[t], lo, _mm512_set1_epi32((int)load_u32(aq)));
                        s1[t] = _mm512_dpbusd_epi32(s1[t], hi, _mm512_set1_epi32((int)load_u32(aq + 32)));
                    }
                }
            }
            const __m512i sc0 = pair8_epi32(u0 + 16 * p, u1 + 16 * p);
            const __m512i sc1 = pair8_epi32(u0 + 16 * p + 8, u1 + 16 * p + 8);
            UNROLL for (int t = 0; t < nt; t++)
                sumi[t] = _mm512_add_epi32(sumi[t], _mm512_add_epi32(_mm512_mullo_epi32(sc0, s0[t]),
                                                                     _mm512_mullo_epi32(sc1, s1[t])));
        }
        UNROLL for (int t = 0; t < nt; t++) {
            int32_t bp[4];
            fsk_k8_bsum_pairs(xa[t], bp);
            UNROLL for (int p = 0; p < 4; p++) {
                const __m128i m0 = _mm_loadu_si128((const __m128i *)(const void *)(u0 + 64 + 16 * p));
                const __m128i m1 = _mm_loadu_si128((const __m128i *)(const void *)(u1 + 64 + 16 * p));
                const __m512i mp =
                    _mm512_cvtepu8_epi16(_mm256_inserti128_si256(_mm256_castsi128_si256(m0), m1, 1));
                summ[t] = _mm512_add_epi32(summ[t], _mm512_madd_epi16(mp, _mm512_set1_epi32(bp[p])));
            }
        }
        const __m512 d = fsk_avx512_halves16(k0->d, k1->d);
        const __m512 dm = fsk_avx512_halves16(k0->dmin, k1->dmin);
        UNROLL for (int t = 0; t < nt; t++) {
            const __m512 da = _mm512_set1_ps(xa[t]->d);
            const __m512 mins = _mm512_mul_ps(_mm512_mul_ps(dm, da), _mm512_cvtepi32_ps(summ[t]));
            acc[t] = _mm512_add_ps(acc[t],
                                   _mm512_fmsub_ps(_mm512_mul_ps(d, da), _mm512_cvtepi32_ps(sumi[t]), mins));
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        _mm512_storeu_ps(y + (size_t)t * ldy, acc[t]);
}

/* ------------------------------------------------------------------ Q6_K records
 * As the AVX2 kernel (r8q6k_group), two records to a vector: per 32-element chunk m the rows'
 * code sums (codes 0..63) of 16-element groups 2m and 2m + 1, sumi = sum_g sc_g isum_g and
 * corr = sum_g sc_g bsum_g exact in int32, the block's value (d_w d_a) (sumi - 32 corr), blocks
 * added left to right. */

/* Chunk m's quant vector k of two records: low four bits from ql, top two from qh. */
QINLINE __m512i q6_code2(const fsk_block_q6_K_r8 *a, const fsk_block_q6_K_r8 *b, int m, int k)
{
    const size_t lat = 256 * (size_t)(m % 4) + 32 * (size_t)k, hat = 256 * (size_t)(m % 2) + 32 * (size_t)k;
    const __m512i l = pair32(a->ql + lat, b->ql + lat), h = pair32(a->qh + hat, b->qh + hat);
    const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
    const __m512i lo = _mm512_and_si512(m < 4 ? l : _mm512_srli_epi16(l, 4), m4);
    __m512i hi; /* bits 2(m / 2) and up of each byte to bits 4-5; masked after the 16-bit shift */
    switch (m / 2) {
    case 0: hi = _mm512_slli_epi16(h, 4); break;
    case 1: hi = _mm512_slli_epi16(h, 2); break;
    case 2: hi = h; break;
    default: hi = _mm512_srli_epi16(h, 2); break;
    }
    return _mm512_or_si512(lo, _mm512_and_si512(hi, m30));
}

QINLINE ZT void zmmq6_pair(int nt, float *y, size_t ldy, const fsk_block_q6_K_r8 *g0,
                           const fsk_block_q6_K_r8 *g1, const char *x, size_t x_stride, size_t nb)
{
    __m512 acc[ZMMK_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm512_setzero_ps();
    for (size_t i = 0; i < nb; i++) {
        const fsk_block_q6_K_r8 *r0 = &g0[i], *r1 = &g1[i];
        const fsk_block_q8_K *xa[ZMMK_TOK];
        __m512i sumi[ZMMK_TOK], corr[ZMMK_TOK];
        UNROLL for (int t = 0; t < nt; t++) {
            xa[t] = (const fsk_block_q8_K *)(const void *)(x + (size_t)t * x_stride) + i;
            sumi[t] = corr[t] = _mm512_setzero_si512();
        }
        UNROLL for (int m = 0; m < 8; m++) {
            __m512i s0[ZMMK_TOK], s1[ZMMK_TOK]; /* groups 2m and 2m + 1 */
            UNROLL for (int t = 0; t < nt; t++)
                s0[t] = s1[t] = _mm512_setzero_si512();
            UNROLL for (int k = 0; k < 8; k++) {
                const __m512i c = q6_code2(r0, r1, m, k);
                UNROLL for (int t = 0; t < nt; t++) {
                    const __m512i a = _mm512_set1_epi32((int)load_u32(xa[t]->qs + 32 * m + 4 * k));
                    if (k < 4)
                        s0[t] = _mm512_dpbusd_epi32(s0[t], c, a);
                    else
                        s1[t] = _mm512_dpbusd_epi32(s1[t], c, a);
                }
            }
            /* lane j: row j's scales of groups 2m (low word) and 2m + 1 (high word) */
            const __m512i pr = _mm512_cvtepi8_epi16(_mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(r0->sc + 16 * m))),
                _mm_loadu_si128((const __m128i *)(const void *)(r1->sc + 16 * m)), 1));
            const __m512i sc0 = _mm512_srai_epi32(_mm512_slli_epi32(pr, 16), 16);
            const __m512i sc1 = _mm512_srai_epi32(pr, 16);
            UNROLL for (int t = 0; t < nt; t++) {
                sumi[t] = _mm512_add_epi32(sumi[t], _mm512_add_epi32(_mm512_mullo_epi32(sc0, s0[t]),
                                                                     _mm512_mullo_epi32(sc1, s1[t])));
                const __m512i bs = _mm512_set1_epi32((int)load_u32(xa[t]->bsums + 2 * m));
                corr[t] = _mm512_add_epi32(corr[t], _mm512_madd_epi16(pr, bs));
            }
        }
        const __m512 d = fsk_avx512_halves16(r0->d, r1->d);
        UNROLL for (int t = 0; t < nt; t++) {
            const __m512i is = _mm512_sub_epi32(sumi[t], _mm512_slli_epi32(corr[t], 5));
            const __m512 da = _mm512_set1_ps(xa[t]->d);
            const __m512 v = _mm512_mul_ps(_mm512_mul_ps(d, da), _mm512_cvtepi32_ps(is));
            acc[t] = _mm512_add_ps(acc[t], v);
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        _mm512_storeu_ps(y + (size_t)t * ldy, acc[t]);
}

QINLINE ZT void zmmk_matmul(int fifth, int six, float *y, size_t ldy, const void *w, size_t row_stride,
                            const void *x, size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1,
                            zmm_tail_fn tail)
{
    const size_t nb = ncols / FSK_QK_K, gs = FSK_R8 * row_stride;
    const size_t g_lo = r0 / FSK_R8, g_hi = r1 / FSK_R8, pairs = (g_hi - g_lo) / 2;
    for (size_t pi = 0; pi < pairs; pi++) {
        const size_t g = g_lo + 2 * pi;
        const uint8_t *w0 = (const uint8_t *)w + g * gs, *w1 = w0 + gs;
        for (size_t k = 0; k < ntok; k += ZMMK_TOK) {
            const int nt = ntok - k < ZMMK_TOK ? (int)(ntok - k) : ZMMK_TOK;
            float *yt = y + k * ldy + g * FSK_R8;
            const char *xk = (const char *)x + k * x_stride;
#define ZMMK_PAIR(n)                                                                               \
    (six ? zmmq6_pair(n, yt, ldy, (const fsk_block_q6_K_r8 *)(const void *)w0,                     \
                      (const fsk_block_q6_K_r8 *)(const void *)w1, xk, x_stride, nb)               \
         : zmmk_pair(n, fifth, yt, ldy, w0, w1, xk, x_stride, nb))
            switch (nt) {
            case 4: ZMMK_PAIR(4); break;
            case 3: ZMMK_PAIR(3); break;
            case 2: ZMMK_PAIR(2); break;
            default: ZMMK_PAIR(1); break;
            }
#undef ZMMK_PAIR
        }
    }
    if ((g_hi - g_lo) % 2) /* the group left over */
        tail(y, ldy, w, row_stride, x, x_stride, ncols, ntok, (g_hi - 1) * FSK_R8, g_hi * FSK_R8);
}

ZT void fsk_matmul_q4_k_r8__zmm(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                               size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    zmmk_matmul(0, 0, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1,
                fsk_matmul_q4_k_r8__avx2_vnni512);
}

ZT void fsk_matmul_q5_k_r8__zmm(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                               size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    zmmk_matmul(1, 0, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1,
                fsk_matmul_q5_k_r8__avx2_vnni512);
}

ZT void fsk_matmul_q6_k_r8__zmm(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                               size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    zmmk_matmul(0, 1, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1,
                fsk_matmul_q6_k_r8__avx2_vnni512);
}

#define ZMM_TYPE(t, kind)                                                                          \
    ZT void fsk_matmul_##t##__zmm(float *y, size_t ldy, const void *w, size_t row_stride,          \
                                  const void *x, size_t x_stride, size_t ncols, size_t ntok,       \
                                  size_t r0, size_t r1)                                            \
    {                                                                                              \
        zmm_matmul(kind, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1,                  \
                   fsk_matmul_##t##__avx2_vnni512);                                                \
    }
ZMM_TYPE(q8_0_r8, Z_Q8_0)
ZMM_TYPE(q4_0_r8, Z_Q4_0)
ZMM_TYPE(q4_1_r8, Z_Q4_1)
ZMM_TYPE(q5_0_r8, Z_Q5_0)
ZMM_TYPE(q5_1_r8, Z_Q5_1)
#undef ZMM_TYPE

#else

/* ISO C forbids an empty translation unit */
typedef int fsk_r8zmm_unused;

#endif

/* quant_k.c (avx2): the 256-element K formats (Q4_K, Q5_K, Q6_K): integer matvec against Q8_K, dequantize. */
#include <string.h>

#include "isa.h"
#include "../loadu.h"
#include "kernels.h"
#include "unroll.h"
#include "quant.h"
#include "../vnni.h"

#define QINLINE FSK_FORCE_INLINE

/* Loops over the sub-blocks of a super-block are unrolled so that their shuffle indices and
 * shift counts are constants; GCC's -O2 does not do that by itself for bodies this big. */
#define UNROLL FSK_UNROLL

static inline float half_f32(fsk_half h)
{
    return _cvtsh_ss(h);
}

static inline int32_t hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

/* Q4_K and Q5_K's 12 scale bytes (layout in kernels/ref/quant_k.c) to the eight 6-bit scales
 * (low 8 bytes) and the eight mins (high 8 bytes), four at a time in 32-bit words. */
static inline __m128i k_scales(const uint8_t s[12])
{
    const uint32_t w0 = load_u32(s), w1 = load_u32(s + 4), w2 = load_u32(s + 8);
    const uint32_t lo6 = 0x3f3f3f3fu, lo4 = 0x0f0f0f0fu, lo2 = 0x03030303u;
    uint32_t sc_lo = w0 & lo6, mn_lo = w1 & lo6;
    uint32_t sc_hi = (w2 & lo4) | (((w0 >> 6) & lo2) << 4);
    uint32_t mn_hi = ((w2 >> 4) & lo4) | (((w1 >> 6) & lo2) << 4);
    return _mm_setr_epi32((int)sc_lo, (int)sc_hi, (int)mn_lo, (int)mn_hi);
}

/* int16 vector holding v's word k in every lane. */
static inline __m256i bcast_word(__m256i v, int k)
{
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(2 * k | (2 * k + 1) << 8)));
}

/* ------------------------------------------------------------------ matvec
 * Per super-block the integers are exact, as in ref: sumi = sum_j sc_j isum_j comes out of
 * maddubs (unsigned codes times signed activations, pairs in int16) and madd with the sub-block
 * scale (int32); the min term sums m_j times Q8_K's bsums. Both are reduced to one int32 and
 * the block is (d_w d_a) sumi - (dmin_w d_a) summ in float, super-blocks summed left to right:
 * the very operations ref does. */

/* Chunk c (sub-blocks 2c and 2c + 1) of a Q4_K or Q5_K super-block's codes; *hb carries Q5_K's
 * high bits from chunk to chunk (start it at qh, or zero for Q4_K). */
QINLINE void sm_chunk(const unsigned char *qs, int c, int five, __m256i *hb, __m256i *lo, __m256i *hi)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
    *lo = _mm256_and_si256(q, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
    if (five) {
        /* bit 2c of qh[l] goes to bit 4 of element l of sub-block 2c, bit 2c+1 of 2c+1; the
         * 16-bit shifts carry bits across bytes only above the bit read */
        const __m256i b4 = _mm256_set1_epi8(0x10);
        *lo = _mm256_or_si256(*lo, _mm256_and_si256(_mm256_slli_epi16(*hb, 4), b4));
        *hi = _mm256_or_si256(*hi, _mm256_and_si256(_mm256_slli_epi16(*hb, 3), b4));
        *hb = _mm256_srli_epi16(*hb, 2);
    }
}

/* summ = sum_j m_j (bsums[2j] + bsums[2j+1]); the pair sums fit int16 (|.| <= 32 * 127). */
QINLINE int32_t sm_summ(__m128i scm, const fsk_block_q8_K *a)
{
    __m128i bs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)a->bsums),
                                _mm_loadu_si128((const __m128i *)(a->bsums + 8)));
    __m128i mm = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(scm, scm)), bs);
    mm = _mm_add_epi32(mm, _mm_unpackhi_epi64(mm, mm));
    mm = _mm_add_epi32(mm, _mm_shuffle_epi32(mm, 1));
    return _mm_cvtsi128_si32(mm);
}

/* The block's float value from its exact integers, as ref computes it. */
QINLINE float sm_value(float dw, float dminw, float da, int32_t sumi, int32_t summ)
{
    const float d = dw * da, dmin = dminw * da;
    return d * (float)sumi - dmin * (float)summ;
}

/* acc + the sub-block-scaled sums of one vector: maddubs pairs (int16) times the scale words s,
 * adjacent products summed into int32 lanes. Paths (kernels/x86/vnni.h): madd then add, or
 * vpdpwssd doing both (EVEX with AVX512-VNNI + VL, VEX with AVX-VNNI); the same integers (no lane
 * overflows either way), so the same values bit for bit. The templates below take one as a
 * parameter and are forced inline. */
typedef __m256i (*kdot_fn)(__m256i acc, __m256i q, __m256i a, __m256i s);

QINLINE __m256i kdot_base(__m256i acc, __m256i q, __m256i a, __m256i s)
{
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q, a), s));
}

#ifdef FSK_HAVE_AVX512VNNI
QINLINE FSK_TARGET_VNNI512 __m256i kdot_vnni512(__m256i acc, __m256i q, __m256i a, __m256i s)
{
    return _mm256_dpwssd_epi32(acc, _mm256_maddubs_epi16(q, a), s);
}
#endif
#ifdef FSK_HAVE_AVXVNNI
QINLINE FSK_TARGET_AVXVNNI __m256i kdot_avxvnni(__m256i acc, __m256i q, __m256i a, __m256i s)
{
    return _mm256_dpwssd_avx_epi32(acc, _mm256_maddubs_epi16(q, a), s);
}
#endif

/* Q4_K or Q5_K (five set): one super-block of one row. */
QINLINE float block_scale_min(const unsigned char *qs, const unsigned char *qh, const uint8_t *sc12,
                              fsk_half dh, fsk_half dminh, const fsk_block_q8_K *a, int five,
                              kdot_fn kdot)
{
    const __m128i scm = k_scales(sc12);
    /* scales as int16, each replicated over both 128-bit lanes for bcast_word */
    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scm));
    __m256i hb = five ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    __m256i sumi = _mm256_setzero_si256();
    UNROLL for (int c = 0; c < FSK_QK_K / 64; c++) {
        __m256i lo, hi;
        sm_chunk(qs, c, five, &hb, &lo, &hi);
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(a->qs + 64 * c));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(a->qs + 64 * c + 32));
        sumi = kdot(kdot(sumi, lo, a0, bcast_word(sc16, 2 * c)), hi, a1, bcast_word(sc16, 2 * c + 1));
    }
    return sm_value(half_f32(dh), half_f32(dminh), a->d, hsum_epi32(sumi), sm_summ(scm, a));
}

QINLINE void matvec_q4_k(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                        size_t r0, size_t r1, kdot_fn kdot)
{
    const fsk_block_q8_K *a = x;
    for (size_t r = r0; r < r1; r++) {
        const fsk_block_q4_K *b = (const fsk_block_q4_K *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK_K; i++)
            s += block_scale_min(b[i].qs, NULL, b[i].scales, b[i].d, b[i].dmin, &a[i], 0, kdot);
        y[r] = s;
    }
}

QINLINE void matvec_q5_k(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                        size_t r0, size_t r1, kdot_fn kdot)
{
    const fsk_block_q8_K *a = x;
    for (size_t r = r0; r < r1; r++) {
        const fsk_block_q5_K *b = (const fsk_block_q5_K *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK_K; i++)
            s += block_scale_min(b[i].qs, b[i].qh, b[i].scales, b[i].d, b[i].dmin, &a[i], 1, kdot);
        y[r] = s;
    }
}

/* The 64 six-bit codes 0..63 of Q6_K quants 128h + 32k + l (k = 0..3) from ql and qh (layout in
 * kernels/ref/quant_k.c): code k gets qh's bits 2k, 2k+1 as its bits 4, 5. */
static inline void q6_codes(const uint8_t *ql, const uint8_t *qh, __m256i q[4])
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
    __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
    __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
    __m256i h = _mm256_loadu_si256((const __m256i *)qh);
    q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m2));
    q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m2));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m2));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                           _mm256_and_si256(_mm256_srli_epi16(h, 2), m2));
}

/* One Q6_K super-block: sumi = sum_g sc_g isum_g with the codes' offset 32 taken out as
 * 32 * sum_g sc_g bsums[g], all in int32 (|sumi| <= 16 * 128 * 16 * 32 * 127, as ref notes). */
QINLINE float block_q6_k(const fsk_block_q6_K *b, const fsk_block_q8_K *a, kdot_fn kdot)
{
    /* group scales as int16: words 0..7 of both lanes sc 0..7 (lo), sc 8..15 (hi) */
    const __m128i sc8 = _mm_loadu_si128((const __m128i *)b->scales);
    const __m256i sc_lo = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(sc8));
    const __m256i sc_hi = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_unpackhi_epi64(sc8, sc8)));
    __m256i sumi = _mm256_setzero_si256();
    UNROLL for (int h = 0; h < 2; h++) {
        __m256i q[4];
        q6_codes(b->ql + 64 * h, b->qh + 32 * h, q);
        const __m256i sc = h ? sc_hi : sc_lo;
        UNROLL for (int k = 0; k < 4; k++) {
            /* vector k holds groups 8h + 2k (low lane) and 8h + 2k + 1 (high lane) */
            __m256i s = _mm256_shuffle_epi8(sc, _mm256_setr_epi8(
                4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k,
                4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k + 2,
                4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3,
                4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2,
                4 * k + 3));
            __m256i av = _mm256_loadu_si256((const __m256i *)(a->qs + 128 * h + 32 * k));
            sumi = kdot(sumi, q[k], av, s);
        }
    }
    /* the offset: 32 * sum_g sc_g bsums[g] */
    __m256i bs = _mm256_loadu_si256((const __m256i *)a->bsums);
    __m256i corr = _mm256_madd_epi16(_mm256_cvtepi8_epi16(sc8), bs);
    /* the offset taken out lane by lane: one reduction, the same integer (it fits int32) */
    const int32_t isum = hsum_epi32(_mm256_sub_epi32(sumi, _mm256_slli_epi32(corr, 5)));
    return (half_f32(b->d) * a->d) * (float)isum;
}

QINLINE void matvec_q6_k(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                        size_t r0, size_t r1, kdot_fn kdot)
{
    const fsk_block_q8_K *a = x;
    for (size_t r = r0; r < r1; r++) {
        const fsk_block_q6_K *b = (const fsk_block_q6_K *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t i = 0; i < ncols / FSK_QK_K; i++)
            s += block_q6_k(&b[i], &a[i], kdot);
        y[r] = s;
    }
}

/* ------------------------------------------------------------------ matmul (prefill)
 * Per row, each super-block is unpacked once into a struct for a tile of MK_TOK tokens, then each
 * token's integer sums (exact, in any order) and the matvec's float operations on them, in the
 * same order: d * (float)sumi - dmin * (float)summ per block (Q6_K: (d_w d_a) * (float)isum),
 * blocks summed left to right, so each value is the matvec's bit for bit (kernels/verify.c checks
 * it). The matvec keeps its own code: held in a struct for one activation, the unpacked block
 * spills registers and the matvec ran 5-15% slower.
 *
 * A Q4_K or Q5_K super-block unpacked: the codes of its eight sub-blocks (lo[c]: sub-block 2c,
 * hi[c]: 2c + 1, as block_scale_min makes them), the scales as int16 (replicated over both
 * 128-bit lanes for bcast_word), the scales and mins as bytes, and d, dmin. */
struct sm_block {
    __m256i lo[4], hi[4], sc16;
    __m128i scm;
    float d, dmin;
};

QINLINE void sm_unpack(struct sm_block *u, const unsigned char *qs, const unsigned char *qh,
                       const uint8_t *sc12, fsk_half dh, fsk_half dminh, int five)
{
    u->scm = k_scales(sc12);
    u->sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(u->scm));
    __m256i hb = five ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    UNROLL for (int c = 0; c < FSK_QK_K / 64; c++)
        sm_chunk(qs, c, five, &hb, &u->lo[c], &u->hi[c]);
    u->d = half_f32(dh);
    u->dmin = half_f32(dminh);
}

/* The block's value against one activation block: (d_w d_a) sumi - (dmin_w d_a) summ. */
QINLINE float sm_dot(const struct sm_block *u, const fsk_block_q8_K *a, kdot_fn kdot)
{
    __m256i sumi = _mm256_setzero_si256();
    UNROLL for (int c = 0; c < FSK_QK_K / 64; c++) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)(a->qs + 64 * c));
        __m256i a1 = _mm256_loadu_si256((const __m256i *)(a->qs + 64 * c + 32));
        sumi = kdot(kdot(sumi, u->lo[c], a0, bcast_word(u->sc16, 2 * c)), u->hi[c], a1,
                    bcast_word(u->sc16, 2 * c + 1));
    }
    return sm_value(u->d, u->dmin, a->d, hsum_epi32(sumi), sm_summ(u->scm, a));
}

/* Super-block i of a Q4_K (five 0) or Q5_K row. */
QINLINE void sm_unpack_at(struct sm_block *u, const unsigned char *row, size_t i, int five)
{
    if (five) {
        const fsk_block_q5_K *b = (const fsk_block_q5_K *)row + i;
        sm_unpack(u, b->qs, b->qh, b->scales, b->d, b->dmin, 1);
    } else {
        const fsk_block_q4_K *b = (const fsk_block_q4_K *)row + i;
        sm_unpack(u, b->qs, NULL, b->scales, b->d, b->dmin, 0);
    }
}

/* A Q6_K super-block unpacked: the codes, each code vector's pair of group scales as int16 words
 * (vector k of half h holds groups 8h + 2k and 8h + 2k + 1, as block_q6_k shuffles them), the
 * scales as bytes, and d. */
struct q6_block {
    __m256i q[8], sc[8];
    __m128i sc8;
    float d;
};

QINLINE void q6_unpack(struct q6_block *u, const fsk_block_q6_K *b)
{
    u->sc8 = _mm_loadu_si128((const __m128i *)b->scales);
    const __m256i sc_lo = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(u->sc8));
    const __m256i sc_hi = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(_mm_unpackhi_epi64(u->sc8, u->sc8)));
    UNROLL for (int h = 0; h < 2; h++) {
        q6_codes(b->ql + 64 * h, b->qh + 32 * h, u->q + 4 * h);
        const __m256i sc = h ? sc_hi : sc_lo;
        UNROLL for (int k = 0; k < 4; k++)
            u->sc[4 * h + k] = _mm256_shuffle_epi8(sc, _mm256_setr_epi8(
                4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k,
                4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k, 4 * k + 1, 4 * k + 2,
                4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3,
                4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2, 4 * k + 3, 4 * k + 2,
                4 * k + 3));
    }
    u->d = half_f32(b->d);
}

/* sumi = sum_g sc_g isum_g with the codes' offset 32 taken out as 32 * sum_g sc_g bsums[g], all
 * in int32 (|sumi| <= 16 * 128 * 16 * 32 * 127, as ref notes). */
QINLINE float q6_dot(const struct q6_block *u, const fsk_block_q8_K *a, kdot_fn kdot)
{
    __m256i sumi = _mm256_setzero_si256();
    UNROLL for (int v = 0; v < 8; v++) {
        __m256i av = _mm256_loadu_si256((const __m256i *)(a->qs + 32 * v));
        sumi = kdot(sumi, u->q[v], av, u->sc[v]);
    }
    __m256i bs = _mm256_loadu_si256((const __m256i *)a->bsums);
    __m256i corr = _mm256_madd_epi16(_mm256_cvtepi8_epi16(u->sc8), bs);
    /* the offset taken out lane by lane: one reduction, the same integer (it fits int32) */
    const int32_t isum = hsum_epi32(_mm256_sub_epi32(sumi, _mm256_slli_epi32(corr, 5)));
    return (u->d * a->d) * (float)isum;
}

#define MK_TOK 8

QINLINE void matmul_k(int kind, float *y, size_t ldy, const void *w, size_t row_stride,
                      const void *x, size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1,
                      kdot_fn kdot)
{
    const size_t nb = ncols / FSK_QK_K;
    for (size_t k = 0; k < ntok; k += MK_TOK) {
        const int nt = ntok - k < MK_TOK ? (int)(ntok - k) : MK_TOK;
        const fsk_block_q8_K *a[MK_TOK];
        for (int t = 0; t < nt; t++)
            a[t] = (const fsk_block_q8_K *)((const char *)x + (k + (size_t)t) * x_stride);
        for (size_t r = r0; r < r1; r++) {
            const unsigned char *row = (const unsigned char *)w + r * row_stride;
            float s[MK_TOK] = {0.0f};
            for (size_t i = 0; i < nb; i++) {
                if (kind == 6) {
                    struct q6_block u;
                    q6_unpack(&u, (const fsk_block_q6_K *)row + i);
                    for (int t = 0; t < nt; t++)
                        s[t] += q6_dot(&u, &a[t][i], kdot);
                } else {
                    struct sm_block u;
                    sm_unpack_at(&u, row, i, kind == 5);
                    for (int t = 0; t < nt; t++)
                        s[t] += sm_dot(&u, &a[t][i], kdot);
                }
            }
            for (int t = 0; t < nt; t++)
                y[(k + (size_t)t) * ldy + r] = s[t];
        }
    }
}




/* ------------------------------------------------------------------ the paths
 * Each kernel above with madd + add, and with vpdpwssd where the compiler has the instruction
 * set; the exported op takes the path fsk_avx2_vnni_path names, as the repacked kernels do. */
#define K_PATH(t, kind, attr, path)                                                                \
    attr void fsk_matvec_##t##__avx2_##path FSK_MV_PARAMS                                          \
    {                                                                                              \
        matvec_##t(y, w, row_stride, x, ncols, r0, r1, kdot_##path);                               \
    }                                                                                              \
    attr void fsk_matmul_##t##__avx2_##path FSK_MM_PARAMS                                          \
    {                                                                                              \
        matmul_k(kind, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, kdot_##path);      \
    }
#define K_PATHS(attr, path) K_PATH(q4_k, 4, attr, path) K_PATH(q5_k, 5, attr, path) K_PATH(q6_k, 6, attr, path)
#define FSK_NO_ATTR
K_PATHS(FSK_NO_ATTR, base)
#ifdef FSK_HAVE_AVX512VNNI
K_PATHS(FSK_TARGET_VNNI512, vnni512)
#endif
#ifdef FSK_HAVE_AVXVNNI
K_PATHS(FSK_TARGET_AVXVNNI, avxvnni)
#endif
FSK_AVX2_DISPATCH_TYPE(q4_k)
FSK_AVX2_DISPATCH_TYPE(q5_k)
FSK_AVX2_DISPATCH_TYPE(q6_k)

/* ------------------------------------------------------------------ dequantize
 * Bit for bit as ref: the scale products rounded once each, then d1 * q - m1 rounded twice (a
 * multiply, then a subtract: C11 without -ffast-math, so no contraction into an FMA). */

/* y[0..31] = d1 * q - m1 for 32 codes q (bytes of v), or d1 * (q - 32) when off. */
static inline void scale_store32(float *y, __m256i v, float d1, float m1, int off)
{
    const __m256 dv = _mm256_set1_ps(d1), mv = _mm256_set1_ps(m1);
    UNROLL for (int k = 0; k < 4; k++) {
        __m128i b8 = k < 2 ? _mm256_castsi256_si128(v) : _mm256_extracti128_si256(v, 1);
        if (k & 1)
            b8 = _mm_unpackhi_epi64(b8, b8);
        __m256i i32 = _mm256_cvtepu8_epi32(b8);
        if (off)
            i32 = _mm256_sub_epi32(i32, _mm256_set1_epi32(32));
        __m256 p = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(i32));
        _mm256_storeu_ps(y + 8 * k, off ? p : _mm256_sub_ps(p, mv));
    }
}

QINLINE void dequant_scale_min(float *y, const unsigned char *qs, const unsigned char *qh,
                               const uint8_t *sc12, fsk_half dh, fsk_half dminh, int five)
{
    uint8_t sm[16];
    _mm_storeu_si128((__m128i *)sm, k_scales(sc12));
    const float d = half_f32(dh), dmin = half_f32(dminh);
    const __m256i m4 = _mm256_set1_epi8(0x0f), b4 = _mm256_set1_epi8(0x10);
    __m256i hb = five ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    UNROLL for (int c = 0; c < FSK_QK_K / 64; c++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
        __m256i lo = _mm256_and_si256(q, m4);
        __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        if (five) {
            lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(hb, 4), b4));
            hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(hb, 3), b4));
            hb = _mm256_srli_epi16(hb, 2);
        }
        const int j = 2 * c;
        scale_store32(y + 32 * j, lo, d * (float)sm[j], dmin * (float)sm[8 + j], 0);
        scale_store32(y + 32 * (j + 1), hi, d * (float)sm[j + 1], dmin * (float)sm[9 + j], 0);
    }
}

void fsk_dequantize_q4_k__avx2(float *y, const void *x, size_t n)
{
    const fsk_block_q4_K *b = x;
    for (size_t i = 0; i < n / FSK_QK_K; i++)
        dequant_scale_min(y + i * FSK_QK_K, b[i].qs, NULL, b[i].scales, b[i].d, b[i].dmin, 0);
}

void fsk_dequantize_q5_k__avx2(float *y, const void *x, size_t n)
{
    const fsk_block_q5_K *b = x;
    for (size_t i = 0; i < n / FSK_QK_K; i++)
        dequant_scale_min(y + i * FSK_QK_K, b[i].qs, b[i].qh, b[i].scales, b[i].d, b[i].dmin, 1);
}

/* Groups of 16 share a scale, so each 32-code vector is stored as two halves of 16. */
void fsk_dequantize_q6_k__avx2(float *y, const void *x, size_t n)
{
    const fsk_block_q6_K *b = x;
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        const float d = half_f32(b[i].d);
        float *o = y + i * FSK_QK_K;
        UNROLL for (int h = 0; h < 2; h++) {
            __m256i q[4];
            q6_codes(b[i].ql + 64 * h, b[i].qh + 32 * h, q);
            UNROLL for (int k = 0; k < 4; k++) {
                const int g = 8 * h + 2 * k;
                float t[32];
                scale_store32(t, q[k], 1.0f, 0.0f, 1); /* t = q - 32, exact */
                const __m256 d0 = _mm256_set1_ps(d * (float)b[i].scales[g]);
                const __m256 d1 = _mm256_set1_ps(d * (float)b[i].scales[g + 1]);
                for (int l = 0; l < 4; l++)
                    _mm256_storeu_ps(o + 16 * g + 8 * l,
                                     _mm256_mul_ps(l < 2 ? d0 : d1, _mm256_loadu_ps(t + 8 * l)));
            }
        }
    }
}

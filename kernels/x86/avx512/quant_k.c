/* quant_k.c (avx512): the 256-element K formats (Q4_K, Q5_K, Q6_K): integer matvec against Q8_K, dequantize. */
#include <string.h>

#include "isa.h"
#include "../loadu.h"
#include "kernels.h"
#include "unroll.h"
#include "quant.h"
#include "../vnni.h"

#define QINLINE FSK_FORCE_INLINE

#define UNROLL FSK_UNROLL

/* Rows per pass: each super-block of the activation is shuffled once for four rows. */
#define ROWS 4

/* The four rows of a pass are short streams read side by side, which the hardware prefetchers
 * follow badly (see quant.c); each super-block step also fetches, in address order, its share
 * of the rows two passes ahead. Off for rows longer than PF_MAX / 8 bytes. */
#define PF_MAX 16384

/* Bytes fetched per step for rows of row_stride bytes read in steps steps; 0: no fetching. */
static inline size_t prefetch_chunk(size_t row_stride, size_t steps)
{
    const size_t pass = ROWS * row_stride;
    if (steps == 0 || 2 * pass > PF_MAX)
        return 0;
    return ((pass + steps - 1) / steps + 63) / 64 * 64;
}

/* A macro, not a function: GCC finds a wrapper around the prefetch builtin free of side effects
 * and deletes its calls before inlining it. */
#define PF_STEP(first_row, row_stride, chunk, step)                                           \
    do {                                                                                       \
        /* an integer sum: the rows ahead may lie past the end of the matrix */               \
        const uintptr_t pf_at_ = (uintptr_t)(first_row) + 2 * ROWS * (row_stride) +           \
                                 (step) * (chunk);                                             \
        for (size_t pf_o_ = 0; pf_o_ < (chunk); pf_o_ += 64)                                   \
            _mm_prefetch((const char *)(pf_at_ + pf_o_), _MM_HINT_T0);                         \
    } while (0)

static inline float half_f32(fsk_half h)
{
    return _cvtsh_ss(h);
}

static inline int32_t hsum128_epi32(__m128i s)
{
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

/* Two 32-byte pieces, p0 in the low half. */
static inline __m512i halves(const void *p0, const void *p1)
{
    __m256i lo = _mm256_loadu_si256((const __m256i *)p0);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256((const __m256i *)p1), 1);
}

/* A vector of v0 in the low 256 bits and v1 in the high 256 bits, per 16-bit or 8-bit lane. */
static inline __m512i split16(int v0, int v1)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi16((short)v0)),
                              _mm256_set1_epi16((short)v1), 1);
}

/* ------------------------------------------------------------------ matvec
 * Per super-block the integers are exact, as in ref: sumi = sum_j sc_j isum_j comes out of
 * maddubs (unsigned codes times signed activations, pairs in int16) and madd with the sub-block
 * scale (int32); the min term sums m_j times Q8_K's bsums. Both are reduced to one int32 and
 * the block is (d_w d_a) sumi - (dmin_w d_a) summ in float, super-blocks summed left to right:
 * the very operations ref does. A vector holds two 32-element sub-blocks, one per 256-bit half;
 * the activation is arranged to match once per super-block for four rows. */

/* acc + the sub-block-scaled sums of one vector: maddubs pairs (int16) times the scale words s,
 * adjacent products summed into int32 lanes. Two paths: madd then add, or vpdpwssd (AVX512-VNNI)
 * doing both; the same integers (no lane of either overflows), so the same values bit for bit.
 * The templates below take one as a parameter and are forced inline. */
typedef __m512i (*kdot_fn)(__m512i acc, __m512i q, __m512i a, __m512i s);

QINLINE __m512i kdot_base(__m512i acc, __m512i q, __m512i a, __m512i s)
{
    return _mm512_add_epi32(acc, _mm512_madd_epi16(_mm512_maddubs_epi16(q, a), s));
}

#ifdef FSK_HAVE_AVX512VNNI
QINLINE FSK_TARGET_VNNI512Z __m512i kdot_vnni(__m512i acc, __m512i q, __m512i a, __m512i s)
{
    return _mm512_dpwssd_epi32(acc, _mm512_maddubs_epi16(q, a), s);
}
#endif

/* Q4_K/Q5_K: vector v holds sub-blocks (sb[v][0], sb[v][1]): the low and high nibbles of the
 * first 64 bytes of qs (sub-blocks 0..3) give (0, 2) and (1, 3), of the next 64 (4, 6), (5, 7). */
static const int sb[4][2] = {{0, 2}, {1, 3}, {4, 6}, {5, 7}};

struct kact {
    __m512i q[4];
    __m128i pairs; /* bsums[2j] + bsums[2j+1], j = 0..7 (|.| <= 32 * 127 fits int16) */
};

static inline void kact_scale_min(const fsk_block_q8_K *a, struct kact *k)
{
    for (int v = 0; v < 4; v++)
        k->q[v] = halves(a->qs + 32 * sb[v][0], a->qs + 32 * sb[v][1]);
    k->pairs = _mm_hadd_epi16(_mm_loadu_si128((const __m128i *)a->bsums),
                              _mm_loadu_si128((const __m128i *)(a->bsums + 8)));
}

/* A super-block's scaled code sums (sumi, in int32 lanes) and its eight mins times the
 * activation's pair sums (mm, in four int32 lanes): the integers block_scale_min reduces. */
QINLINE void block_sums(const unsigned char *qs, const unsigned char *qh, const uint8_t *sc12,
                        const struct kact *k, int five, kdot_fn kdot, __m512i *sumi_out, __m128i *mm_out)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m128i scm = k_scales(sc12);
    const __m512i sc16 = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(scm));
    const __m512i hb = five ? _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)qh))
                            : _mm512_setzero_si512();
    __m512i sumi = _mm512_setzero_si512();
    UNROLL for (int v = 0; v < 4; v++) {
        __m512i q = _mm512_loadu_si512((const void *)(qs + 64 * (v / 2)));
        q = (v & 1) ? _mm512_srli_epi16(q, 4) : q;
        q = _mm512_and_si512(q, m4);
        const int s0 = sb[v][0], s1 = sb[v][1];
        if (five) {
            /* bit j of qh[l] is bit 4 of element l of sub-block j */
            const __m512i bit = _mm512_inserti64x4(_mm512_set1_epi8((char)(1 << s0)),
                                                   _mm256_set1_epi8((char)(1 << s1)), 1);
            q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(hb, bit), q, _mm512_set1_epi8(0x10));
        }
        /* word s of every 128-bit lane: bytes 2s, 2s + 1 */
        const __m512i pick = split16(2 * s0 | (2 * s0 + 1) << 8, 2 * s1 | (2 * s1 + 1) << 8);
        const __m512i s = _mm512_shuffle_epi8(sc16, pick);
        sumi = kdot(sumi, q, k->q[v], s);
    }
    *sumi_out = sumi;
    *mm_out = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(scm, scm)), k->pairs);
}

/* The block's float value from its exact integers, as ref computes it. */
QINLINE float scale_min_value(fsk_half dh, fsk_half dminh, float da, int32_t sumi, int32_t summ)
{
    const float d = half_f32(dh) * da, dmin = half_f32(dminh) * da;
    return d * (float)sumi - dmin * (float)summ;
}

/* Super-block i of a Q4_K (five 0) or Q5_K row: its integers (block_sums), its d and dmin. */
QINLINE void row_block_sums(const char *row, size_t i, int five, const struct kact *k, kdot_fn kdot,
                            __m512i *sumi, __m128i *mm, fsk_half *d, fsk_half *dmin)
{
    if (five) {
        const fsk_block_q5_K *b = (const fsk_block_q5_K *)row + i;
        block_sums(b->qs, b->qh, b->scales, k, 1, kdot, sumi, mm);
        *d = b->d;
        *dmin = b->dmin;
    } else {
        const fsk_block_q4_K *b = (const fsk_block_q4_K *)row + i;
        block_sums(b->qs, NULL, b->scales, k, 0, kdot, sumi, mm);
        *d = b->d;
        *dmin = b->dmin;
    }
}

/* Super-block i of a Q4_K or Q5_K row, one row alone. */
QINLINE float block_scale_min(const char *row, size_t i, int five, float da, const struct kact *k,
                              kdot_fn kdot)
{
    __m512i sumi;
    __m128i mm;
    fsk_half d, dmin;
    row_block_sums(row, i, five, k, kdot, &sumi, &mm, &d, &dmin);
    return scale_min_value(d, dmin, da, _mm512_reduce_add_epi32(sumi), hsum128_epi32(mm));
}

/* The sums of four rows' vectors, lane j of the result row j's: integer adds, exact in any
 * order, so the same integers as four separate reductions, in fewer operations. */
QINLINE __m128i hsum4_epi32(const __m512i v[4], const __m128i m[4], __m128i *msum)
{
    __m128i x[4];
    UNROLL for (int j = 0; j < 4; j++) {
        const __m256i h = _mm256_add_epi32(_mm512_castsi512_si256(v[j]), _mm512_extracti64x4_epi64(v[j], 1));
        x[j] = _mm_add_epi32(_mm256_castsi256_si128(h), _mm256_extracti128_si256(h, 1));
    }
    *msum = _mm_hadd_epi32(_mm_hadd_epi32(m[0], m[1]), _mm_hadd_epi32(m[2], m[3]));
    return _mm_hadd_epi32(_mm_hadd_epi32(x[0], x[1]), _mm_hadd_epi32(x[2], x[3]));
}

QINLINE void matvec_scale_min(float *y, const void *w, size_t row_stride, const void *x,
                              size_t ncols, size_t r0, size_t r1, int five, kdot_fn kdot)
{
    const fsk_block_q8_K *a = x;
    const size_t nb = ncols / FSK_QK_K, chunk = prefetch_chunk(row_stride, nb);
    size_t r = r0;
    while (r < r1) {
        const int nr = r1 - r >= ROWS ? ROWS : 1;
        const char *first = (const char *)w + r * row_stride;
        float s[ROWS] = {0};
        for (size_t i = 0; i < nb; i++) {
            struct kact k;
            kact_scale_min(&a[i], &k);
            if (nr == ROWS && chunk)
                PF_STEP(first, row_stride, chunk, i);
            if (nr == ROWS) { /* the four rows' integers reduced together */
                __m512i sumi[ROWS];
                __m128i mm[ROWS], msum;
                fsk_half dh[ROWS], dm[ROWS];
                UNROLL for (int j = 0; j < ROWS; j++)
                    row_block_sums(first + (size_t)j * row_stride, i, five, &k, kdot, &sumi[j], &mm[j],
                                   &dh[j], &dm[j]);
                int32_t si[ROWS], sm[ROWS];
                _mm_storeu_si128((__m128i *)si, hsum4_epi32(sumi, mm, &msum));
                _mm_storeu_si128((__m128i *)sm, msum);
                UNROLL for (int j = 0; j < ROWS; j++)
                    s[j] += scale_min_value(dh[j], dm[j], a[i].d, si[j], sm[j]);
                continue;
            }
            for (int j = 0; j < nr; j++)
                s[j] += block_scale_min(first + (size_t)j * row_stride, i, five, a[i].d, &k, kdot);
        }
        for (int j = 0; j < nr; j++)
            y[r + (size_t)j] = s[j];
        r += (size_t)nr;
    }
}

/* Q6_K codes 0..63 (layout in kernels/ref/quant_k.c): vector k holds code k of quants
 * 32k + l (low half) and 128 + 32k + l (high half), qh's bits 2k, 2k+1 as its bits 4, 5. */
static inline void q6_codes(const fsk_block_q6_K *b, __m512i q[4])
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), m2 = _mm512_set1_epi8(0x30);
    const __m512i l0 = halves(b->ql, b->ql + 64), l1 = halves(b->ql + 32, b->ql + 96);
    const __m512i h = _mm512_loadu_si512((const void *)b->qh);
    q[0] = _mm512_or_si512(_mm512_and_si512(l0, m4), _mm512_and_si512(_mm512_slli_epi16(h, 4), m2));
    q[1] = _mm512_or_si512(_mm512_and_si512(l1, m4), _mm512_and_si512(_mm512_slli_epi16(h, 2), m2));
    q[2] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l0, 4), m4), _mm512_and_si512(h, m2));
    q[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l1, 4), m4),
                           _mm512_and_si512(_mm512_srli_epi16(h, 2), m2));
}

/* Two words v in a 32-bit lane. */
#define W2(v) ((v) * 0x10001)

/* One Q6_K super-block: sumi = sum_g sc_g isum_g with the codes' offset 32 taken out as
 * 32 * sum_g sc_g bsums[g], all in int32 (|sumi| <= 16 * 128 * 16 * 32 * 127, as ref notes). */
QINLINE float block_q6_k(const fsk_block_q6_K *b, const fsk_block_q8_K *a, const __m512i aq[4],
                         kdot_fn kdot)
{
    const __m128i sc8 = _mm_loadu_si128((const __m128i *)b->scales);
    const __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
    const __m512i scz = _mm512_castsi256_si512(sc16);
    __m512i q[4];
    q6_codes(b, q);
    __m512i sumi = _mm512_setzero_si512();
    UNROLL for (int k = 0; k < 4; k++) {
        /* 128-bit lanes of vector k: groups 2k, 2k+1, 8+2k, 9+2k */
        const int g = 2 * k;
        const __m512i pick = _mm512_setr_epi32(
            W2(g), W2(g), W2(g), W2(g), W2(g + 1), W2(g + 1), W2(g + 1), W2(g + 1), W2(g + 8),
            W2(g + 8), W2(g + 8), W2(g + 8), W2(g + 9), W2(g + 9), W2(g + 9), W2(g + 9));
        const __m512i s = _mm512_permutexvar_epi16(pick, scz);
        sumi = kdot(sumi, q[k], aq[k], s);
    }
    const __m256i corr = _mm256_madd_epi16(sc16, _mm256_loadu_si256((const __m256i *)a->bsums));
    const __m128i c4 = _mm_add_epi32(_mm256_castsi256_si128(corr), _mm256_extracti128_si256(corr, 1));
    const int32_t isum = _mm512_reduce_add_epi32(sumi) - 32 * hsum128_epi32(c4);
    return (half_f32(b->d) * a->d) * (float)isum;
}

QINLINE void matvec_q6_k(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                        size_t r0, size_t r1, kdot_fn kdot)
{
    const fsk_block_q8_K *a = x;
    const size_t nb = ncols / FSK_QK_K, chunk = prefetch_chunk(row_stride, nb);
    size_t r = r0;
    while (r < r1) {
        const int nr = r1 - r >= ROWS ? ROWS : 1;
        const char *first = (const char *)w + r * row_stride;
        float s[ROWS] = {0};
        for (size_t i = 0; i < nb; i++) {
            __m512i aq[4];
            if (nr == ROWS && chunk)
                PF_STEP(first, row_stride, chunk, i);
            for (int k = 0; k < 4; k++)
                aq[k] = halves(a[i].qs + 32 * k, a[i].qs + 128 + 32 * k);
            for (int j = 0; j < nr; j++) {
                const char *row = (const char *)w + (r + (size_t)j) * row_stride;
                s[j] += block_q6_k((const fsk_block_q6_K *)row + i, &a[i], aq, kdot);
            }
        }
        for (int j = 0; j < nr; j++)
            y[r + (size_t)j] = s[j];
        r += (size_t)nr;
    }
}

/* ------------------------------------------------------------------ matmul (prefill)
 * Per row and token, the matvec's own block function over the super-blocks in order, summed as
 * the matvec sums them: each value is the matvec's, bit for bit. A tile of MK_TOK tokens runs over
 * each row while it sits in L1 cache (one read from memory per tile instead of one per token),
 * and the tile's activations are arranged once for all rows (rows of up to MK_BLOCKS
 * super-blocks; longer rows arrange them per row, as the matvec does). */
#define MK_TOK 8
#define MK_BLOCKS 16 /* 4096 columns; the arranged tile takes 40 KiB of stack */

static inline void kact_q6_k(const fsk_block_q8_K *a, struct kact *k)
{
    for (int v = 0; v < 4; v++)
        k->q[v] = halves(a->qs + 32 * v, a->qs + 128 + 32 * v);
    k->pairs = _mm_setzero_si128();
}

QINLINE float kblock(int kind, const unsigned char *row, size_t i, const fsk_block_q8_K *a,
                     const struct kact *k, kdot_fn kdot)
{
    if (kind == 6)
        return block_q6_k((const fsk_block_q6_K *)row + i, a, k->q, kdot);
    return block_scale_min((const char *)row, i, kind == 5, a->d, k, kdot);
}

QINLINE void kact_of(int kind, const fsk_block_q8_K *a, struct kact *k)
{
    if (kind == 6)
        kact_q6_k(a, k);
    else
        kact_scale_min(a, k);
}

QINLINE void matmul_k(int kind, float *y, size_t ldy, const void *w, size_t row_stride,
                      const void *x, size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1,
                      kdot_fn kdot)
{
    const size_t nb = ncols / FSK_QK_K;
    const int arranged = nb <= MK_BLOCKS;
    struct kact tile[MK_TOK * MK_BLOCKS];
    for (size_t k = 0; k < ntok; k += MK_TOK) {
        const int nt = ntok - k < MK_TOK ? (int)(ntok - k) : MK_TOK;
        const fsk_block_q8_K *a[MK_TOK];
        for (int t = 0; t < nt; t++)
            a[t] = (const fsk_block_q8_K *)((const char *)x + (k + (size_t)t) * x_stride);
        if (arranged)
            for (int t = 0; t < nt; t++)
                for (size_t i = 0; i < nb; i++)
                    kact_of(kind, &a[t][i], &tile[(size_t)t * MK_BLOCKS + i]);
        for (size_t r = r0; r < r1; r++) {
            const unsigned char *row = (const unsigned char *)w + r * row_stride;
            float s[MK_TOK] = {0.0f};
            for (size_t i = 0; i < nb; i++)
                for (int t = 0; t < nt; t++) {
                    struct kact own;
                    const struct kact *kp = &own;
                    if (arranged)
                        kp = &tile[(size_t)t * MK_BLOCKS + i];
                    else
                        kact_of(kind, &a[t][i], &own);
                    s[t] += kblock(kind, row, i, &a[t][i], kp, kdot);
                }
            for (int t = 0; t < nt; t++)
                y[(k + (size_t)t) * ldy + r] = s[t];
        }
    }
}

/* ------------------------------------------------------------------ the two paths
 * Each kernel above once with madd + add and once with vpdpwssd (where the compiler has
 * AVX512-VNNI); the exported op takes the second where the CPU has it (kernels/x86/vnni.h). */
#define K_PATH(t, attr, path, mv, mm)                                                              \
    attr void fsk_matvec_##t##__avx512_##path FSK_MV_PARAMS { mv; }                                \
    attr void fsk_matmul_##t##__avx512_##path FSK_MM_PARAMS { mm; }
#define K_PATHS(attr, path, kd)                                                                    \
    K_PATH(q4_k, attr, path, matvec_scale_min(y, w, row_stride, x, ncols, r0, r1, 0, kd),           \
           matmul_k(4, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, kd))               \
    K_PATH(q5_k, attr, path, matvec_scale_min(y, w, row_stride, x, ncols, r0, r1, 1, kd),           \
           matmul_k(5, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, kd))               \
    K_PATH(q6_k, attr, path, matvec_q6_k(y, w, row_stride, x, ncols, r0, r1, kd),                   \
           matmul_k(6, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, kd))
#define FSK_NO_ATTR
K_PATHS(FSK_NO_ATTR, base, kdot_base)
#ifdef FSK_HAVE_AVX512VNNI
K_PATHS(FSK_TARGET_VNNI512Z, vnni, kdot_vnni)
#endif
FSK_AVX512_DISPATCH_TYPE(q4_k)
FSK_AVX512_DISPATCH_TYPE(q5_k)
FSK_AVX512_DISPATCH_TYPE(q6_k)

/* ------------------------------------------------------------------ dequantize
 * Bit for bit as ref: the scale products rounded once each, then d1 * q - m1 rounded twice (a
 * multiply, then a subtract: C11 without -ffast-math, so no contraction into an FMA). */

/* y[0..31] = d1 * q - m1 for the 32 codes q (bytes of v). */
static inline void scale_store32(float *y, __m256i v, float d1, float m1)
{
    const __m512 dv = _mm512_set1_ps(d1), mv = _mm512_set1_ps(m1);
    for (int k = 0; k < 2; k++) {
        __m128i b16 = k ? _mm256_extracti128_si256(v, 1) : _mm256_castsi256_si128(v);
        __m512 p = _mm512_mul_ps(dv, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b16)));
        _mm512_storeu_ps(y + 16 * k, _mm512_sub_ps(p, mv));
    }
}

QINLINE void dequant_scale_min(float *y, const unsigned char *qs, const unsigned char *qh,
                               const uint8_t *sc12, fsk_half dh, fsk_half dminh, int five)
{
    uint8_t sm[16];
    _mm_storeu_si128((__m128i *)sm, k_scales(sc12));
    const float d = half_f32(dh), dmin = half_f32(dminh);
    const __m256i m4 = _mm256_set1_epi8(0x0f), b4 = _mm256_set1_epi8(0x10);
    const __m256i hb = five ? _mm256_loadu_si256((const __m256i *)qh) : _mm256_setzero_si256();
    for (int j = 0; j < 8; j++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)(qs + 32 * (j / 2)));
        q = _mm256_and_si256((j & 1) ? _mm256_srli_epi16(q, 4) : q, m4);
        if (five)
            q = _mm256_mask_add_epi8(q, _mm256_test_epi8_mask(hb, _mm256_set1_epi8((char)(1 << j))),
                                     q, b4);
        scale_store32(y + 32 * j, q, d * (float)sm[j], dmin * (float)sm[8 + j]);
    }
}

void fsk_dequantize_q4_k__avx512(float *y, const void *x, size_t n)
{
    const fsk_block_q4_K *b = x;
    for (size_t i = 0; i < n / FSK_QK_K; i++)
        dequant_scale_min(y + i * FSK_QK_K, b[i].qs, NULL, b[i].scales, b[i].d, b[i].dmin, 0);
}

void fsk_dequantize_q5_k__avx512(float *y, const void *x, size_t n)
{
    const fsk_block_q5_K *b = x;
    for (size_t i = 0; i < n / FSK_QK_K; i++)
        dequant_scale_min(y + i * FSK_QK_K, b[i].qs, b[i].qh, b[i].scales, b[i].d, b[i].dmin, 1);
}

/* Groups of 16 share a scale: one vector of 16 codes per group, y = (d sc_g) * (q - 32). */
void fsk_dequantize_q6_k__avx512(float *y, const void *x, size_t n)
{
    const fsk_block_q6_K *b = x;
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        const float d = half_f32(b[i].d);
        float *o = y + i * FSK_QK_K;
        __m512i q[4];
        q6_codes(&b[i], q);
        for (int k = 0; k < 4; k++)
            for (int part = 0; part < 4; part++) {
                /* part p of vector k: 16 codes of quant 128 (p / 2) + 32k + 16 (p % 2) */
                const int first = 128 * (part / 2) + 32 * k + 16 * (part % 2);
                __m128i b16;
                switch (part) {
                case 0: b16 = _mm512_extracti32x4_epi32(q[k], 0); break;
                case 1: b16 = _mm512_extracti32x4_epi32(q[k], 1); break;
                case 2: b16 = _mm512_extracti32x4_epi32(q[k], 2); break;
                default: b16 = _mm512_extracti32x4_epi32(q[k], 3); break;
                }
                __m512i v = _mm512_sub_epi32(_mm512_cvtepu8_epi32(b16), _mm512_set1_epi32(32));
                const __m512 dg = _mm512_set1_ps(d * (float)b[i].scales[first / 16]);
                _mm512_storeu_ps(o + first, _mm512_mul_ps(dg, _mm512_cvtepi32_ps(v)));
            }
    }
}

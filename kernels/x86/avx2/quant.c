/* quant.c (avx2): the 32-element GGML formats and BF16: activation quantizers, integer matvec, dequantize. */
#include <string.h>

#include "isa.h"
#include "../loadu.h"
#include "kernels.h"
#include "../prefetch.h"
#include "unroll.h"
#include "quant.h"
#include "../vnni.h"
#include "../q4k_r8.h"

/* The block loops below are written once for several formats; forcing them inline lets the
 * compiler fold the format and the row count into straight-line code per caller. */
#define QINLINE FSK_FORCE_INLINE

/* Per-row loops run over a constant count (ROWS or 1) and must be unrolled for their
 * accumulators to live in registers; GCC's -O2 does not do that by itself for bodies this big. */
#define UNROLL FSK_UNROLL

/* Rows per pass: each activation block is loaded once for four rows. */
#define ROWS 4

static inline float half_f32(uint16_t h)
{
    return _cvtsh_ss(h);
}

static inline float hmax_ps(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* ------------------------------------------------------------------ activations */

/* roundf (half away from zero) of v, clamped to [-127, 127], NaN to 0, as ref's round_q8.
 * |v| plus the float just below 1/2, truncated: adding 1/2 itself would carry 0.49999997 up to 1.
 * |v| is clamped before the conversion so that an infinite v (x / d with d subnormal) gives 127,
 * not the conversion's INT_MIN. */
static inline __m256i round_q8(__m256 v)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 a = _mm256_min_ps(_mm256_andnot_ps(sign, v), _mm256_set1_ps(127.0f));
    a = _mm256_add_ps(a, _mm256_set1_ps(0.49999997f));
    a = _mm256_and_ps(a, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
    return _mm256_cvttps_epi32(_mm256_or_ps(a, _mm256_and_ps(v, sign)));
}

/* max |x| over n (a multiple of 8) floats; a NaN lane leaves the maximum alone, as fmaxf does
 * (maxps returns its second operand when either is NaN). */
static inline float absmax(const float *x, size_t n)
{
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 m = _mm256_setzero_ps();
    for (size_t k = 0; k < n; k += FSK_AVX2_W)
        m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + k), abs), m);
    return hmax_ps(m);
}

/* 32 quants of x * id in element order; *sum gets their lane-wise partial sums. */
static inline __m256i quant32(const float *x, __m256 id, __m256i *sum)
{
    __m256i q[4];
    for (int k = 0; k < 4; k++)
        q[k] = round_q8(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), id));
    *sum = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
    /* packs work per 128-bit lane: the bytes come out in dword order 0 2 4 6 1 3 5 7 */
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

/* d = amax / 127 and id = 1 / d exactly as ref computes them, in scalar float. */
static inline float q8_scale(float amax, float *id)
{
    const float d = amax / 127.0f;
    *id = d != 0.0f ? 1.0f / d : 0.0f;
    return d;
}

/* Eight vectors to one, lane j the reduction of v[j]'s eight lanes (max of floats, or sum of
 * int32 as float bit patterns): a 128-bit step and two in-lane steps, each combining a pair of
 * vectors with two shuffles, leave block 2m + h in lane 4h + m, which one permute puts right (as
 * avx512/quant.c does for sixteen). v is consumed. */
#define FSK_REDUCE8(v, OP)                                                                         \
    do {                                                                                           \
        for (int i_ = 0; i_ < 4; i_++)                                                             \
            v[i_] = OP(_mm256_permute2f128_ps(v[2 * i_], v[2 * i_ + 1], 0x20),                       \
                       _mm256_permute2f128_ps(v[2 * i_], v[2 * i_ + 1], 0x31));                      \
        for (int i_ = 0; i_ < 2; i_++)                                                             \
            v[i_] = OP(_mm256_shuffle_ps(v[2 * i_], v[2 * i_ + 1], _MM_SHUFFLE(1, 0, 1, 0)),         \
                       _mm256_shuffle_ps(v[2 * i_], v[2 * i_ + 1], _MM_SHUFFLE(3, 2, 3, 2)));        \
        v[0] = OP(_mm256_shuffle_ps(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),                          \
                  _mm256_shuffle_ps(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));                         \
        v[0] = _mm256_permutevar8x32_ps(v[0], _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));          \
    } while (0)
#define FSK_ADD_EPI32_PS(a, b) _mm256_castsi256_ps(_mm256_add_epi32(_mm256_castps_si256(a), _mm256_castps_si256(b)))

static inline __m256 reduce8_max(__m256 *v)
{
    FSK_REDUCE8(v, _mm256_max_ps);
    return v[0];
}

static inline __m256i reduce8_add(const __m256i *iv)
{
    __m256 v[8];
    for (int i = 0; i < 8; i++)
        v[i] = _mm256_castsi256_ps(iv[i]);
    FSK_REDUCE8(v, FSK_ADD_EPI32_PS);
    return _mm256_castps_si256(v[0]);
}

/* The 32-element activation blocks, up to eight at a time: their maxima, scales (d = amax / 127,
 * id = 1 / d or 0, the same divisions as q8_scale) and half d together, then each block's quants,
 * then Q8_1's sums together. */
QINLINE void quantize_q8_32(void *y, const float *x, size_t n, int with_sum)
{
    const size_t bs = with_sum ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    const size_t qs_at = with_sum ? offsetof(fsk_block_q8_1, qs) : offsetof(fsk_block_q8_0, qs);
    const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const size_t nb = n / FSK_QK;
    for (size_t b0 = 0; b0 < nb; b0 += 8) {
        const size_t g = nb - b0 < 8 ? nb - b0 : 8;
        const float *xg = x + b0 * FSK_QK;
        unsigned char *yg = (unsigned char *)y + b0 * bs;
        __m256 m[8];
        for (size_t j = 0; j < 8; j++) {
            m[j] = _mm256_setzero_ps(); /* the running maximum second: a NaN lane leaves it alone */
            for (size_t k = 0; j < g && k < FSK_QK; k += FSK_AVX2_W)
                m[j] = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(xg + j * FSK_QK + k), abs), m[j]);
        }
        const __m256 d = _mm256_div_ps(reduce8_max(m), _mm256_set1_ps(127.0f));
        const __m256 idv = _mm256_and_ps(_mm256_div_ps(_mm256_set1_ps(1.0f), d),
                                         _mm256_cmp_ps(d, _mm256_setzero_ps(), _CMP_NEQ_UQ));
        _Alignas(32) float id[8];
        _Alignas(16) fsk_half dh[8];
        _mm256_store_ps(id, idv);
        const __m128i dhv = _mm256_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        _mm_store_si128((__m128i *)dh, dhv);
        __m256i sums[8];
        for (size_t j = 0; j < 8; j++) {
            sums[j] = _mm256_setzero_si256();
            if (j >= g)
                continue;
            _mm256_storeu_si256((__m256i *)(void *)(yg + j * bs + qs_at),
                                quant32(xg + j * FSK_QK, _mm256_set1_ps(id[j]), &sums[j]));
            memcpy(yg + j * bs, &dh[j], sizeof dh[j]); /* d opens both block formats */
        }
        if (with_sum) { /* s = d * sum(q), from the half d as ref rounds it */
            const __m256 sf = _mm256_mul_ps(_mm256_cvtph_ps(dhv), _mm256_cvtepi32_ps(reduce8_add(sums)));
            _Alignas(16) fsk_half sh[8];
            _mm_store_si128((__m128i *)sh, _mm256_cvtps_ph(sf, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            for (size_t j = 0; j < g; j++)
                memcpy(yg + j * bs + offsetof(fsk_block_q8_1, s), &sh[j], sizeof sh[j]);
        }
    }
}

void fsk_quantize_q8_0__avx2(void *y, const float *x, size_t n)
{
    quantize_q8_32(y, x, n, 0);
}

void fsk_quantize_q8_1__avx2(void *y, const float *x, size_t n)
{
    quantize_q8_32(y, x, n, 1);
}

/* 256 quants, and bsums[g] = the sum of quants 16g..16g+15 (from the int32 lanes, exact; the
 * sixteen groups' sums reduced eight at a time). */
void fsk_quantize_q8_k__avx2(void *y, const float *x, size_t n)
{
    fsk_block_q8_K *b = y;
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        const float *xb = x + i * FSK_QK_K;
        float id, d = q8_scale(absmax(xb, FSK_QK_K), &id);
        const __m256 idv = _mm256_set1_ps(id);
        __m256i gs[16];
        for (int c = 0; c < FSK_QK_K / 32; c++) {
            __m256i q[4];
            for (int k = 0; k < 4; k++)
                q[k] = round_q8(_mm256_mul_ps(_mm256_loadu_ps(xb + 32 * c + 8 * k), idv));
            __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]),
                                           _mm256_packs_epi32(q[2], q[3]));
            p = _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            _mm256_storeu_si256((__m256i *)(b[i].qs + 32 * c), p);
            gs[2 * c] = _mm256_add_epi32(q[0], q[1]);
            gs[2 * c + 1] = _mm256_add_epi32(q[2], q[3]);
        }
        const __m256i lo = reduce8_add(gs), hi = reduce8_add(gs + 8); /* |sum| <= 2032: packs is exact */
        _mm256_storeu_si256((__m256i *)(void *)b[i].bsums,
                            _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), _MM_SHUFFLE(3, 1, 2, 0)));
        b[i].d = d;
    }
}

/* ------------------------------------------------------------------ matvec
 * Blocks go in pairs i, i+1 laid out for 4- and 5-bit weights: a vector's low 128-bit lane
 * holds block i, its high lane block i+1; "lo" vectors hold quants 0..15 of each block (the low
 * nibbles), "hi" vectors quants 16..31 (the high nibbles), and the activation pair is shuffled
 * to match once per pass. maddubs (unsigned weight quants times signed activation quants, pairs
 * summed in int16) then madd with ones give eight int32 partial sums, four per block: converted
 * (exactly) and multiplied by the block's d_w * d_a in one FMA per pair. The signed formats use
 * their unsigned codes and subtract offset * sum(a) in int16; the min formats add m * s. */

enum fmt { F_Q4_0, F_Q4_1, F_Q5_0, F_Q5_1 };

/* acc plus, per 32-bit lane, the four products of u's unsigned and s's signed bytes: the VNNI
 * paths pass vpdpbusd (below); the base path passes NULL to these kernels, which then sum in
 * int16 (maddubs, the correction, one madd), and dot4_base to the repacked ones. */
typedef __m256i (*dot4_fn)(__m256i acc, __m256i u, __m256i s);

QINLINE __m256i dot4_base(__m256i acc, __m256i u, __m256i s)
{
    return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}

static inline int fmt_min(enum fmt f)
{
    return f == F_Q4_1 || f == F_Q5_1;
}

static inline int fmt_five(enum fmt f)
{
    return f == F_Q5_0 || f == F_Q5_1;
}

/* Byte offsets of qs and qh, and the size, of a block. */
static inline size_t fmt_qs(enum fmt f)
{
    return f == F_Q4_0 ? offsetof(fsk_block_q4_0, qs) : f == F_Q4_1 ? offsetof(fsk_block_q4_1, qs)
         : f == F_Q5_0 ? offsetof(fsk_block_q5_0, qs) : offsetof(fsk_block_q5_1, qs);
}

static inline size_t fmt_qh(enum fmt f)
{
    return f == F_Q5_0 ? offsetof(fsk_block_q5_0, qh) : offsetof(fsk_block_q5_1, qh);
}

static inline size_t fmt_bytes(enum fmt f)
{
    return f == F_Q4_0 ? sizeof(fsk_block_q4_0) : f == F_Q4_1 ? sizeof(fsk_block_q4_1)
         : f == F_Q5_0 ? sizeof(fsk_block_q5_0) : sizeof(fsk_block_q5_1);
}

/* Halves as floats [h(p0), h(p0+2), h(p1), h(p1+2)]: d and m (or d and s) of two blocks. With
 * two 0 (an odd last block) p1 is not read and the second pair is 0. */
QINLINE __m128 dm_pair(const unsigned char *p0, const unsigned char *p1, int two)
{
    __m128i h = _mm_cvtsi32_si128((int)load_u32(p0));
    if (two)
        h = _mm_insert_epi32(h, (int)load_u32(p1), 1);
    return _mm_cvtph_ps(h);
}

/* [h(p0), 0, h(p1), 0]: d of two activation blocks without a second half (Q8_0). Weight blocks
 * of the signed formats go through dm_pair instead, one load fewer: lanes 1 and 3 then hold two
 * quant bytes read as a half, possibly inf or NaN, which only ever meet lanes that are dropped. */
QINLINE __m128 d_pair(const unsigned char *p0, const unsigned char *p1, int two)
{
    __m128i h = _mm_cvtsi32_si128(load_u16(p0));
    if (two)
        h = _mm_insert_epi32(h, load_u16(p1), 1);
    return _mm_cvtph_ps(h);
}

/* Two blocks' 16 quant bytes, block b0 in the low lane; two 0 leaves the high lane zero. */
QINLINE __m256i load_pair16(const unsigned char *b0, const unsigned char *b1, int two)
{
    if (two)
        return _mm256_loadu2_m128i((const __m128i *)b1, (const __m128i *)b0);
    return _mm256_zextsi128_si256(_mm_loadu_si128((const __m128i *)b0));
}

/* 0x10 in byte k of each lane where bit k (lo) or bit 16+k (hi) of that lane's block's qh is set. */
QINLINE void fifth_bits(const unsigned char *h0, const unsigned char *h1, int two, __m256i *lo,
                        __m256i *hi)
{
    __m128i h = _mm_cvtsi32_si128((int)load_u32(h0));
    if (two)
        h = _mm_insert_epi32(h, (int)load_u32(h1), 1);
    const __m256i hb = _mm256_broadcastq_epi64(h);
    const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
    const __m256i sel_lo = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                            4, 4, 4, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5);
    const __m256i sel_hi = _mm256_setr_epi8(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
                                            6, 6, 6, 6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7, 7, 7);
    const __m256i b4 = _mm256_set1_epi8(0x10);
    __m256i l = _mm256_and_si256(_mm256_shuffle_epi8(hb, sel_lo), bit);
    __m256i u = _mm256_and_si256(_mm256_shuffle_epi8(hb, sel_hi), bit);
    *lo = _mm256_and_si256(_mm256_cmpeq_epi8(l, bit), b4);
    *hi = _mm256_and_si256(_mm256_cmpeq_epi8(u, bit), b4);
}

/* Adds 16 to the codes in lo and hi (the pair layout) whose fifth bit is set in the qh words at
 * h0 and h1 (h1 not read when two is 0): what fifth_bits and an or do, in fewer operations where
 * the CPU has byte masks (the EVEX path). NULL: fifth_bits. */
typedef void (*fifth_fn)(const unsigned char *h0, const unsigned char *h1, int two, __m256i *lo,
                         __m256i *hi);

/* Unsigned codes (0..15 or 0..31) of weight blocks b0, b1 in the pair layout. */
QINLINE void weight_pair(enum fmt f, const unsigned char *b0, const unsigned char *b1, int two,
                         __m256i *lo, __m256i *hi, fifth_fn fifth)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    __m256i v = load_pair16(b0 + fmt_qs(f), b1 + fmt_qs(f), two);
    *lo = _mm256_and_si256(v, m4);
    *hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    if (fmt_five(f) && fifth) {
        fifth(b0 + fmt_qh(f), b1 + fmt_qh(f), two, lo, hi);
    } else if (fmt_five(f)) {
        __m256i l, h;
        fifth_bits(b0 + fmt_qh(f), b1 + fmt_qh(f), two, &l, &h);
        *lo = _mm256_or_si256(*lo, l);
        *hi = _mm256_or_si256(*hi, h);
    }
}

/* An activation pair: quants in the pair layout, [d_i, s_i, d_i+1, s_i+1] (s 0 for Q8_0), and
 * for the signed formats offset * (a pair sums) in the int16 lanes maddubs produces. */
struct apair {
    __m256i lo, hi, corr;
    __m128 ds;
};

QINLINE void act_pair(enum fmt f, const unsigned char *a0, const unsigned char *a1, int two,
                      struct apair *p, dot4_fn dot)
{
    const size_t qs = fmt_min(f) ? offsetof(fsk_block_q8_1, qs) : offsetof(fsk_block_q8_0, qs);
    __m256i x0 = _mm256_loadu_si256((const __m256i *)(a0 + qs));
    __m256i x1 = two ? _mm256_loadu_si256((const __m256i *)(a1 + qs)) : _mm256_setzero_si256();
    p->lo = _mm256_permute2x128_si256(x0, x1, 0x20);
    p->hi = _mm256_permute2x128_si256(x0, x1, 0x31);
    p->ds = fmt_min(f) ? dm_pair(a0, a1, two) : d_pair(a0, a1, two);
    if (!fmt_min(f)) {
        const __m256i off = _mm256_set1_epi8(fmt_five(f) ? 16 : 8);
        if (dot) /* in int32 lanes, as the VNNI sums come */
            p->corr = dot(dot(_mm256_setzero_si256(), off, p->lo), off, p->hi);
        else
            p->corr = _mm256_add_epi16(_mm256_maddubs_epi16(off, p->lo), _mm256_maddubs_epi16(off, p->hi));
    }
}

/* The eight int32 sums of a weight pair's codes times an activation pair's quants, less the
 * signed formats' correction: in int16 then one madd (dot NULL), or through dot in int32. The
 * same integers either way. */
QINLINE __m256i pair_isum(enum fmt f, __m256i lo, __m256i hi, __m256i alo, __m256i ahi, __m256i corr,
                          dot4_fn dot)
{
    if (dot) {
        const __m256i p = dot(dot(_mm256_setzero_si256(), lo, alo), hi, ahi);
        return fmt_min(f) ? p : _mm256_sub_epi32(p, corr);
    }
    __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(lo, alo), _mm256_maddubs_epi16(hi, ahi));
    if (!fmt_min(f))
        p = _mm256_sub_epi16(p, corr);
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* One row's pair: acc += (d_w d_a) * isum per lane; accm lanes 1 and 3 gather m * s. Every int16
 * fits: codes <= 31 give |pair| <= 2 * 31 * 127, two pairs 15748; the corrected sum is the exact
 * sum of four signed products, |.| <= 4 * 16 * 127. */
QINLINE void row_pair(enum fmt f, const unsigned char *b0, const unsigned char *b1, int two,
                      const struct apair *a, __m256 *acc, __m128 *accm, dot4_fn dot, fifth_fn fifth)
{
    __m256i lo, hi;
    weight_pair(f, b0, b1, two, &lo, &hi, fifth);
    const __m256i isum = pair_isum(f, lo, hi, a->lo, a->hi, a->corr, dot);
    __m128 sc = _mm_mul_ps(dm_pair(b0, b1, two), a->ds);
    if (fmt_min(f))
        *accm = _mm_add_ps(*accm, sc);
    __m256 s8 = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(sc),
                                         _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2));
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), s8, *acc);
}

/* y[j] = row w[j] . x for nr rows (ROWS, or 1 for the last few). */
QINLINE void rows_32(enum fmt f, float *y, const unsigned char *const *w, int nr,
                     const unsigned char *x, size_t nb, struct fsk_pf_plan pf, dot4_fn dot,
                     fifth_fn fifth)
{
    const size_t bb = fmt_bytes(f);
    const size_t ab = fmt_min(f) ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    __m256 acc[ROWS];
    __m128 accm[ROWS];
    UNROLL for (int j = 0; j < nr; j++) {
        acc[j] = _mm256_setzero_ps();
        accm[j] = _mm_setzero_ps();
    }
    size_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        struct apair a;
        act_pair(f, x + i * ab, x + (i + 1) * ab, 1, &a, dot);
        if (pf.dist)
            FSK_PF_STEP(w[0], pf, i / 2);
        UNROLL for (int j = 0; j < nr; j++)
            row_pair(f, w[j] + i * bb, w[j] + (i + 1) * bb, 1, &a, &acc[j], &accm[j], dot, fifth);
    }
    if (i < nb) {
        struct apair a;
        act_pair(f, x + i * ab, x + i * ab, 0, &a, dot);
        UNROLL for (int j = 0; j < nr; j++)
            row_pair(f, w[j] + i * bb, w[j] + i * bb, 0, &a, &acc[j], &accm[j], dot, fifth);
    }
    UNROLL for (int j = 0; j < nr; j++) {
        float s = fsk_avx2_hsum_ps(acc[j]);
        if (fmt_min(f)) {
            __m128 m = _mm_add_ps(accm[j], _mm_movehl_ps(accm[j], accm[j]));
            s += _mm_cvtss_f32(_mm_movehdup_ps(m));
        }
        y[j] = s;
    }
}

QINLINE void matvec_32(enum fmt f, float *y, const void *w, size_t row_stride, const void *x,
                       size_t ncols, size_t r0, size_t r1, dot4_fn dot, fifth_fn fifth)
{
    const size_t nb = ncols / FSK_QK;
    const struct fsk_pf_plan pf = fsk_pf_plan_make(ROWS, row_stride, nb / 2), none = {0, 0};
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const unsigned char *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = (const unsigned char *)w + (r + (size_t)j) * row_stride;
        rows_32(f, y + r, rows, ROWS, x, nb, pf, dot, fifth);
    }
    for (; r < r1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * row_stride;
        rows_32(f, y + r, &row, 1, x, nb, none, dot, fifth);
    }
}

/* Q8_0: signed times signed, so maddubs gets |w| and a with w's sign (|pair| <= 2 * 128 * 127
 * fits int16 even for a -128 weight); blocks go in pairs only to convert their scales together. */
QINLINE void row_q8_0(const unsigned char *b0, const unsigned char *b1, int two, __m256i a0,
                      __m256i a1, __m128 da, __m256 *acc)
{
    const __m256i ones = _mm256_set1_epi16(1);
    const size_t qs = offsetof(fsk_block_q8_0, qs);
    __m128 sc = _mm_mul_ps(dm_pair(b0, b1, two), da);
    __m256i w0 = _mm256_loadu_si256((const __m256i *)(b0 + qs));
    __m256i p0 = _mm256_maddubs_epi16(_mm256_abs_epi8(w0), _mm256_sign_epi8(a0, w0));
    __m256 s0 = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(sc), _mm256_setzero_si256());
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p0, ones)), s0, *acc);
    if (two) {
        __m256i w1 = _mm256_loadu_si256((const __m256i *)(b1 + qs));
        __m256i p1 = _mm256_maddubs_epi16(_mm256_abs_epi8(w1), _mm256_sign_epi8(a1, w1));
        __m256 s1 = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(sc), _mm256_set1_epi32(2));
        *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p1, ones)), s1, *acc);
    }
}

QINLINE void rows_q8_0(float *y, const unsigned char *const *w, int nr, const fsk_block_q8_0 *a,
                       size_t nb, struct fsk_pf_plan pf)
{
    const size_t bb = sizeof(fsk_block_q8_0);
    __m256 acc[ROWS];
    UNROLL for (int j = 0; j < nr; j++)
        acc[j] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 2 <= nb; i += 2) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m256i a1 = _mm256_loadu_si256((const __m256i *)a[i + 1].qs);
        __m128 da = d_pair((const unsigned char *)&a[i], (const unsigned char *)&a[i + 1], 1);
        if (pf.dist)
            FSK_PF_STEP(w[0], pf, i / 2);
        UNROLL for (int j = 0; j < nr; j++)
            row_q8_0(w[j] + i * bb, w[j] + (i + 1) * bb, 1, a0, a1, da, &acc[j]);
    }
    if (i < nb) {
        __m256i a0 = _mm256_loadu_si256((const __m256i *)a[i].qs);
        __m128 da = d_pair((const unsigned char *)&a[i], (const unsigned char *)&a[i], 0);
        UNROLL for (int j = 0; j < nr; j++)
            row_q8_0(w[j] + i * bb, w[j] + i * bb, 0, a0, a0, da, &acc[j]);
    }
    UNROLL for (int j = 0; j < nr; j++)
        y[j] = fsk_avx2_hsum_ps(acc[j]);
}

void fsk_matvec_q8_0__avx2(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                           size_t r0, size_t r1)
{
    const size_t nb = ncols / FSK_QK;
    const struct fsk_pf_plan pf = fsk_pf_plan_make(ROWS, row_stride, nb / 2), none = {0, 0};
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const unsigned char *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = (const unsigned char *)w + (r + (size_t)j) * row_stride;
        rows_q8_0(y + r, rows, ROWS, x, nb, pf);
    }
    for (; r < r1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * row_stride;
        rows_q8_0(y + r, &row, 1, x, nb, none);
    }
}

/* BF16 weights, float activations: a bf16 is the top half of a float, so widening is a shift. */
static inline __m256 load8_bf16(const uint16_t *p)
{
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

/* The last k < 8 values of a row, zero-filled: no read past the end of the weights. */
static inline __m256 load_tail_bf16(const uint16_t *p, size_t k)
{
    uint16_t t[FSK_AVX2_W] = {0};
    memcpy(t, p, k * sizeof *p);
    return load8_bf16(t);
}

/* The BF16 kernels' one body: y[t * ldy + j] = w[j] . x[t] for nr rows (four, or one) and nt
 * tokens, one accumulator per (row, token), columns in order, the same zero-filled tail, one
 * reduction. The matvec is its one-token case and the prefill matmul runs tiles of up to
 * BF16_TOK tokens (three keep the twelve accumulators of four rows in registers), so each matmul
 * value is bit for bit the matvec's by construction; each weight vector is widened once per
 * tile. pf: the matvec's prefetch plan ({0, 0}: none). */
#define BF16_TOK 3

QINLINE void tile_bf16(float *y, size_t ldy, const uint16_t *const *w, int nr, const float *const *x,
                       int nt, size_t n, struct fsk_pf_plan pf)
{
    __m256 s[ROWS][BF16_TOK];
    UNROLL for (int j = 0; j < nr; j++)
        UNROLL for (int t = 0; t < nt; t++)
            s[j][t] = _mm256_setzero_ps();
    size_t i = 0;
    /* steps every 32 values for the prefetch: the full vectors at i % 32 == 0 */
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W) {
        __m256 xv[BF16_TOK];
        UNROLL for (int t = 0; t < nt; t++)
            xv[t] = _mm256_loadu_ps(x[t] + i);
        if (pf.dist && i % 32 == 0)
            FSK_PF_STEP(w[0], pf, i / 32);
        UNROLL for (int j = 0; j < nr; j++) {
            const __m256 wv = load8_bf16(w[j] + i);
            UNROLL for (int t = 0; t < nt; t++)
                s[j][t] = _mm256_fmadd_ps(wv, xv[t], s[j][t]);
        }
    }
    if (i < n) {
        const __m256i m = fsk_avx2_tail_mask(n - i);
        __m256 xv[BF16_TOK];
        UNROLL for (int t = 0; t < nt; t++)
            xv[t] = _mm256_maskload_ps(x[t] + i, m);
        UNROLL for (int j = 0; j < nr; j++) {
            const __m256 wv = load_tail_bf16(w[j] + i, n - i);
            UNROLL for (int t = 0; t < nt; t++)
                s[j][t] = _mm256_fmadd_ps(wv, xv[t], s[j][t]);
        }
    }
    UNROLL for (int j = 0; j < nr; j++)
        UNROLL for (int t = 0; t < nt; t++)
            y[(size_t)t * ldy + (size_t)j] = fsk_avx2_hsum_ps(s[j][t]);
}

void fsk_matvec_bf16__avx2(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                           size_t r0, size_t r1)
{
    const float *xf = x;
    const struct fsk_pf_plan none = {0, 0};
    const struct fsk_pf_plan pf = fsk_pf_plan_make(ROWS, row_stride, (ncols / FSK_AVX2_W + 3) / 4);
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const uint16_t *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = (const uint16_t *)((const char *)w + (r + (size_t)j) * row_stride);
        tile_bf16(y + r, 0, rows, ROWS, &xf, 1, ncols, pf);
    }
    for (; r < r1; r++) {
        const uint16_t *row = (const uint16_t *)((const char *)w + r * row_stride);
        tile_bf16(y + r, 0, &row, 1, &xf, 1, ncols, none);
    }
}

/* the matmul's walk over rows and tokens, around tile_bf16 above */
#include "../bf16_tiles.h"

void fsk_matmul_bf16__avx2(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                           size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    matmul_bf16_rows(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
}

/* ------------------------------------------------------------------ dequantize
 * Bit for bit as ref: d * q is exact, and d * q + m rounds twice (a multiply, then an add; this
 * file is C11 without -ffast-math, so GCC does not contract them into an FMA). */

/* The 32 codes of one 4- or 5-bit block in element order: low nibbles then high nibbles. */
QINLINE __m256i codes32(enum fmt f, const unsigned char *b)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(b + fmt_qs(f)));
    __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
    q = _mm256_and_si256(q, _mm256_set1_epi8(0x0f));
    if (fmt_five(f)) {
        const __m256i hb = _mm256_set1_epi32((int)load_u32(b + fmt_qh(f)));
        const __m256i bit = _mm256_set1_epi64x(0x8040201008040201LL);
        const __m256i sel = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
                                             2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
        __m256i h = _mm256_and_si256(_mm256_shuffle_epi8(hb, sel), bit);
        q = _mm256_or_si256(q, _mm256_and_si256(_mm256_cmpeq_epi8(h, bit), _mm256_set1_epi8(0x10)));
    }
    return q;
}

/* y[0..31] = d * (q - off) (+ m): the codes widened 8 at a time. */
static inline void scale_store(float *y, __m256i q, int off, float d, const float *m, int sign)
{
    const __m256 dv = _mm256_set1_ps(d);
    const __m256i ov = _mm256_set1_epi32(off);
    for (int k = 0; k < 4; k++) {
        __m128i b8 = k < 2 ? _mm256_castsi256_si128(q) : _mm256_extracti128_si256(q, 1);
        if (k & 1)
            b8 = _mm_unpackhi_epi64(b8, b8);
        __m256i i32 = sign ? _mm256_cvtepi8_epi32(b8) : _mm256_cvtepu8_epi32(b8);
        __m256 v = _mm256_mul_ps(dv, _mm256_cvtepi32_ps(_mm256_sub_epi32(i32, ov)));
        if (m)
            v = _mm256_add_ps(v, _mm256_set1_ps(*m));
        _mm256_storeu_ps(y + 8 * k, v);
    }
}

QINLINE void dequant_32(enum fmt f, float *y, const void *x, size_t n)
{
    const unsigned char *b = x;
    const size_t bb = fmt_bytes(f);
    for (size_t i = 0; i < n / FSK_QK; i++, b += bb) {
        const float d = half_f32(load_u16(b));
        const int off = fmt_min(f) ? 0 : fmt_five(f) ? 16 : 8;
        if (fmt_min(f)) {
            const float m = half_f32(load_u16(b + 2));
            scale_store(y + i * FSK_QK, codes32(f, b), off, d, &m, 0);
        } else {
            scale_store(y + i * FSK_QK, codes32(f, b), off, d, NULL, 0);
        }
    }
}

void fsk_dequantize_q4_0__avx2(float *y, const void *x, size_t n)
{
    dequant_32(F_Q4_0, y, x, n);
}

void fsk_dequantize_q4_1__avx2(float *y, const void *x, size_t n)
{
    dequant_32(F_Q4_1, y, x, n);
}

void fsk_dequantize_q5_0__avx2(float *y, const void *x, size_t n)
{
    dequant_32(F_Q5_0, y, x, n);
}

void fsk_dequantize_q5_1__avx2(float *y, const void *x, size_t n)
{
    dequant_32(F_Q5_1, y, x, n);
}

void fsk_dequantize_q8_0__avx2(float *y, const void *x, size_t n)
{
    const fsk_block_q8_0 *b = x;
    for (size_t i = 0; i < n / FSK_QK; i++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)b[i].qs);
        scale_store(y + i * FSK_QK, q, 0, half_f32(b[i].d), NULL, 1);
    }
}

/* Widening 16-bit values 8 at a time; the last n % 8 through a zero-filled copy. */
void fsk_dequantize_bf16__avx2(float *y, const void *x, size_t n)
{
    const uint16_t *h = x;
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        _mm256_storeu_ps(y + i, load8_bf16(h + i));
    if (i < n)
        _mm256_maskstore_ps(y + i, fsk_avx2_tail_mask(n - i), load_tail_bf16(h + i, n - i));
}

void fsk_dequantize_f16__avx2(float *y, const void *x, size_t n)
{
    const uint16_t *h = x;
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
    if (i < n) {
        uint16_t t[FSK_AVX2_W] = {0};
        memcpy(t, h + i, (n - i) * sizeof *t);
        _mm256_maskstore_ps(y + i, fsk_avx2_tail_mask(n - i),
                            _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)t)));
    }
}

/* F16C rounds to nearest even like fsk_f32_to_f16, subnormals and overflow included. */
void fsk_round_f16_f32__avx2(float *x, size_t n)
{
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W) {
        const __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm256_storeu_ps(x + i, _mm256_cvtph_ps(h));
    }
    if (i < n) {
        const __m256i m = fsk_avx2_tail_mask(n - i);
        const __m128i h = _mm256_cvtps_ph(_mm256_maskload_ps(x + i, m), _MM_FROUND_TO_NEAREST_INT);
        _mm256_maskstore_ps(x + i, m, _mm256_cvtph_ps(h));
    }
}

/* AVX2 has no 16-bit masked store: the tail goes through a small array. */
void fsk_cvt_f16_f32__avx2(void *y, const float *x, size_t n)
{
    unsigned char *h = y;
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        _mm_storeu_si128((__m128i *)(h + 2 * i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
        uint16_t t[FSK_AVX2_W];
        const __m256 v = _mm256_maskload_ps(x + i, fsk_avx2_tail_mask(n - i));
        _mm_storeu_si128((__m128i *)t, _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT));
        memcpy(h + 2 * i, t, (n - i) * sizeof *t);
    }
}

/* ------------------------------------------------------------------ matmul (prefill)
 * Tokens go in blocks of MM_TOK: a block's activation pairs are shuffled once (act_pair) into a
 * stack buffer, then every row of the range is run against the block, its weight pairs unpacked
 * once per block. In the inner loop the activations are memory operands and the four tokens'
 * accumulators stay in registers. For every (row, token) the operations are those of rows_32 and
 * rows_q8_0 above, in the same order, so each value is bit for bit the matvec's; the scale
 * products of two tokens share one 256-bit multiply, lane by lane the matvec's 128-bit one. */
#define MM_TOK 8
#define MM_BUF 2048 /* 32-byte units of shuffled activations on the stack (64 KiB) */

/* Buffer units per pair for a block of nt tokens (see mm_shuffle). */
static inline size_t mm_units(enum fmt f, int nt)
{
    return (size_t)nt * (fmt_min(f) ? 3 : 4) + (fmt_min(f) ? (size_t)(nt + 3) / 4 : 0);
}

/* Shuffles nt tokens' activations (x[t]) for all pairs of nb blocks into buf: per pair lo[nt],
 * hi[nt], corr[nt] (signed formats), then [d_i x4, d_i+1 x4] per token, then (min formats) the
 * s of both blocks for four tokens per unit, [s_i, s_i+1] token after token. */
QINLINE void mm_shuffle(enum fmt f, __m256i *buf, const unsigned char *const *x, int nt, size_t nb,
                        dot4_fn dot)
{
    const size_t ab = fmt_min(f) ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    const size_t u = mm_units(f, nt), nv = fmt_min(f) ? 3 : 4;
    for (size_t i = 0, p = 0; i < nb; i += 2, p++) {
        const int two = i + 1 < nb;
        __m256i *e = buf + p * u;
        float s[4 * 2 * 2] = {0};
        for (int t = 0; t < nt; t++) {
            struct apair a;
            act_pair(f, x[t] + i * ab, x[t] + (two ? i + 1 : i) * ab, two, &a, dot);
            _mm256_store_si256(e + t, a.lo);
            _mm256_store_si256(e + nt + t, a.hi);
            if (!fmt_min(f))
                _mm256_store_si256(e + 2 * nt + t, a.corr);
            const __m256 d8 = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(a.ds),
                                                       _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2));
            _mm256_store_ps((float *)(e + (nv - 1) * (size_t)nt + t), d8);
            if (fmt_min(f)) {
                float ds[4];
                _mm_storeu_ps(ds, a.ds);
                s[2 * (t % 4)] = ds[1];
                s[2 * (t % 4) + 1] = ds[3];
                if (t % 4 == 3 || t == nt - 1) {
                    _mm256_store_ps((float *)(e + nv * (size_t)nt + (size_t)t / 4), _mm256_loadu_ps(s));
                    memset(s, 0, sizeof s);
                }
            }
        }
    }
}

/* y[t * ldy] = row w . token t for the nt tokens shuffled into buf. Per (row, token, pair) the
 * matvec's scale is lane 0 or 2 of dm_pair(w) * ds: here the product of the same two floats
 * spread over the lanes (wdx times the token's [d x4, d x4]). Its m * s lanes (1 and 3) go to
 * accm, two lanes per token, four tokens per vector, each lane summed pair after pair as the
 * matvec's are and the two added at the end in its order. */
QINLINE void mm_row_32(enum fmt f, float *y, size_t ldy, const unsigned char *w, const __m256i *buf,
                       int nt, size_t nb, dot4_fn dot, fifth_fn fifth)
{
    const size_t bb = fmt_bytes(f), u = mm_units(f, nt), nv = fmt_min(f) ? 3 : 4;
    __m256 acc[MM_TOK], accm[(MM_TOK + 3) / 4];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm256_setzero_ps();
    UNROLL for (int q = 0; q < (nt + 3) / 4; q++)
        accm[q] = _mm256_setzero_ps();
    for (size_t i = 0, p = 0; i < nb; i += 2, p++) {
        const int two = i + 1 < nb;
        const unsigned char *b0 = w + i * bb, *b1 = two ? b0 + bb : b0;
        const __m256i *e = buf + p * u;
        const __m256 *d = (const __m256 *)(e + (nv - 1) * (size_t)nt);
        __m256i lo, hi;
        weight_pair(f, b0, b1, two, &lo, &hi, fifth);
        const __m256 wd = _mm256_castps128_ps256(dm_pair(b0, b1, two));
        const __m256 wdx = _mm256_permutevar8x32_ps(wd, _mm256_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2));
        if (fmt_min(f)) {
            const __m256 wm = _mm256_permutevar8x32_ps(wd, _mm256_setr_epi32(1, 3, 1, 3, 1, 3, 1, 3));
            const __m256 *s = (const __m256 *)(e + nv * (size_t)nt);
            UNROLL for (int q = 0; q < (nt + 3) / 4; q++)
                accm[q] = _mm256_add_ps(accm[q], _mm256_mul_ps(wm, s[q]));
        }
        UNROLL for (int t = 0; t < nt; t++) {
            const __m256i isum = pair_isum(f, lo, hi, e[t], e[nt + t],
                                           fmt_min(f) ? _mm256_setzero_si256() : e[2 * nt + t], dot);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(wdx, d[t]), acc[t]);
        }
    }
    float ms[MM_TOK * 2];
    if (fmt_min(f))
        UNROLL for (int q = 0; q < (nt + 3) / 4; q++)
            _mm256_storeu_ps(ms + 8 * q, accm[q]);
    UNROLL for (int t = 0; t < nt; t++) {
        float s = fsk_avx2_hsum_ps(acc[t]);
        if (fmt_min(f))
            s += ms[2 * t] + ms[2 * t + 1];
        y[(size_t)t * ldy] = s;
    }
}

/* Tokens k..k+nt-1 against rows [r0, r1). */
QINLINE void mm_block_32(enum fmt f, __m256i *buf, float *y, size_t ldy, const unsigned char *w,
                         size_t row_stride, const unsigned char *x, size_t x_stride, int nt,
                         size_t nb, size_t r0, size_t r1, dot4_fn dot, fifth_fn fifth)
{
    const unsigned char *xs[MM_TOK];
    for (int t = 0; t < nt; t++)
        xs[t] = x + (size_t)t * x_stride;
    mm_shuffle(f, buf, xs, nt, nb, dot);
    for (size_t r = r0; r < r1; r++)
        mm_row_32(f, y + r, ldy, w + r * row_stride, buf, nt, nb, dot, fifth);
}

QINLINE void matmul_32(enum fmt f, float *y, size_t ldy, const void *w, size_t row_stride,
                       const void *x, size_t x_stride, size_t ncols, size_t ntok, size_t r0,
                       size_t r1, dot4_fn dot, fifth_fn fifth)
{
    const size_t nb = ncols / FSK_QK, np = (nb + 1) / 2;
    const unsigned char *xb = x;
    __m256i buf[MM_BUF];
    size_t k = 0;
    if (np * mm_units(f, MM_TOK) <= MM_BUF)
        for (; k + MM_TOK <= ntok; k += MM_TOK)
            mm_block_32(f, buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride,
                        MM_TOK, nb, r0, r1, dot, fifth);
    if (np * mm_units(f, 2) <= MM_BUF) /* long rows: pairs of tokens still share the weights */
        for (; k + 2 <= ntok; k += 2)
            mm_block_32(f, buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, 2,
                        nb, r0, r1, dot, fifth);
    if (np * mm_units(f, 1) <= MM_BUF) {
        for (; k < ntok; k++)
            mm_block_32(f, buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, 1,
                        nb, r0, r1, dot, fifth);
    } else { /* rows too long for the buffer: the matvec itself, token by token */
        for (; k < ntok; k++)
            matvec_32(f, y + k * ldy, w, row_stride, xb + k * x_stride, ncols, r0, r1, dot, fifth);
    }
}





/* Q8_0: the activations need no shuffle. Per token block the buffer holds each token's d as an
 * eight-lane vector, block by block ([block][token]). A row then takes its blocks one by one:
 * |w| once, w's d broadcast once, and per token row_q8_0's operations: sign, maddubs, madd, the
 * scale d_w * d_a (the same float product the matvec takes from its 128-bit multiply), one FMA.
 * Eight accumulators, |w|, d_w, ones and the temporaries fit the sixteen registers. */
QINLINE void mm_row_q8_0(float *y, size_t ldy, const unsigned char *w, const unsigned char *const *x,
                         const __m256 *da, int nt, size_t nb)
{
    const size_t bb = sizeof(fsk_block_q8_0), qs = offsetof(fsk_block_q8_0, qs);
    const __m256i ones = _mm256_set1_epi16(1);
    __m256 acc[MM_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm256_setzero_ps();
    for (size_t i = 0; i < nb; i++) {
        const unsigned char *b = w + i * bb;
        const __m256i wq = _mm256_loadu_si256((const __m256i *)(b + qs));
        const __m256i aw = _mm256_abs_epi8(wq);
        const __m256 wd = _mm256_set1_ps(half_f32(load_u16(b)));
        const __m256 *d = da + i * (size_t)nt;
        UNROLL for (int t = 0; t < nt; t++) {
            const __m256i a = _mm256_loadu_si256((const __m256i *)(x[t] + i * bb + qs));
            const __m256i p = _mm256_maddubs_epi16(aw, _mm256_sign_epi8(a, wq));
            const __m256 sc = _mm256_mul_ps(wd, d[t]);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), sc, acc[t]);
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        y[(size_t)t * ldy] = fsk_avx2_hsum_ps(acc[t]);
}

QINLINE void mm_block_q8_0(__m256 *buf, float *y, size_t ldy, const unsigned char *w,
                           size_t row_stride, const unsigned char *x, size_t x_stride, int nt,
                           size_t nb, size_t r0, size_t r1)
{
    const size_t bb = sizeof(fsk_block_q8_0);
    const unsigned char *xs[MM_TOK];
    for (int t = 0; t < nt; t++)
        xs[t] = x + (size_t)t * x_stride;
    for (size_t i = 0; i < nb; i++)
        for (int t = 0; t < nt; t++)
            buf[i * (size_t)nt + (size_t)t] = _mm256_set1_ps(half_f32(load_u16(xs[t] + i * bb)));
    for (size_t r = r0; r < r1; r++)
        mm_row_q8_0(y + r, ldy, w + r * row_stride, xs, buf, nt, nb);
}

void fsk_matmul_q8_0__avx2(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                           size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1)
{
    const size_t nb = ncols / FSK_QK;
    const unsigned char *xb = x;
    __m256 buf[MM_BUF];
    size_t k = 0;
    if (nb * MM_TOK <= MM_BUF) {
        for (; k + MM_TOK <= ntok; k += MM_TOK)
            mm_block_q8_0(buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride,
                          MM_TOK, nb, r0, r1);
        if (k + 4 <= ntok) {
            mm_block_q8_0(buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, 4,
                          nb, r0, r1);
            k += 4;
        }
        if (k + 2 <= ntok) {
            mm_block_q8_0(buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, 2,
                          nb, r0, r1);
            k += 2;
        }
    }
    if (nb <= MM_BUF) {
        for (; k < ntok; k++)
            mm_block_q8_0(buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, 1,
                          nb, r0, r1);
    } else { /* rows too long for the buffer: the matvec itself, token by token */
        for (; k < ntok; k++)
            fsk_matvec_q8_0__avx2(y + k * ldy, w, row_stride, xb + k * x_stride, ncols, r0, r1);
    }
}

/* ------------------------------------------------------------------ Q4_1, eight rows per record
 * A record is block i of eight rows (FSK_TYPE_Q4_1_R8, kernels/quant.h): 32-bit lane j of quant
 * vector k holds row j's quant bytes 4k..4k+3. maddubs against the activation's bytes 4k..4k+3
 * (with the low nibbles) and 16+4k..16+4k+3 (with the high ones), broadcast to every lane, then
 * madd with ones leave each row's integer dot in its own lane: no horizontal sums, and one load
 * brings the eight rows' d (another their m). int16 bound: a maddubs lane is at most
 * 2 * 15 * 128 = 3840 in magnitude, the eight summed 30720. Groups run one after the other, so
 * the weights are read as one ascending stream, which the hardware prefetchers follow on Zen 4
 * (1 thread: 21-29 GB/s, against 15-23 for the file layout's four rows side by side) though not
 * on an Intel Xeon, hence the software fetch in the matvecs (R8_PREFETCH_AT, below). The matmul
 * is the matvec token by token per group, the group's records then coming from L1 cache.
 *
 * Each repacked kernel has two paths (kernels/x86/vnni.h): this one, and one for CPUs with
 * VNNI, whose vpdpbusd adds the four unsigned-by-signed byte products of each 32-bit lane into
 * that lane in int32, in place of maddubs, madd and the add. The integer sums are the same
 * (maddubs never saturates at the bounds given here), so the paths agree bit for bit. The
 * integer helpers are parameters of the group functions, which are forced inline: each path's
 * kernels are straight-line code built for its own target. */

/* A record's codes: lo[k], hi[k] hold the low and high nibbles of quant vector k. */
QINLINE void r8_codes(const uint8_t *qs, __m256i lo[4], __m256i hi[4])
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    UNROLL for (int k = 0; k < 4; k++) {
        const __m256i v = _mm256_loadu_si256((const __m256i *)(qs + 32 * k));
        lo[k] = _mm256_and_si256(v, m4);
        hi[k] = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
    }
}

/* The eight rows' integer dots (codes times quants) with one activation block's 32 quants. */
typedef __m256i (*r8_isum_fn)(const __m256i lo[4], const __m256i hi[4], const int8_t *qs);

QINLINE __m256i r8_isum_base(const __m256i lo[4], const __m256i hi[4], const int8_t *qs)
{
    __m256i p = _mm256_setzero_si256();
    UNROLL for (int k = 0; k < 4; k++) {
        const __m256i alo = _mm256_set1_epi32((int)load_u32(qs + 4 * k));
        const __m256i ahi = _mm256_set1_epi32((int)load_u32(qs + 16 + 4 * k));
        p = _mm256_add_epi16(p, _mm256_add_epi16(_mm256_maddubs_epi16(lo[k], alo),
                                                 _mm256_maddubs_epi16(hi[k], ahi)));
    }
    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* The VNNI helpers, once per encoding: EVEX (AVX512-VNNI with AVX512-VL: Ice Lake, Zen 4 and
 * later) and VEX (AVX-VNNI: Alder Lake and later cores without AVX-512). Two chains (low and
 * high nibbles) so that the adds do not wait on one another. */
#define VNNI_HELPERS(path, attr, dpbusd)                                                           \
    QINLINE attr __m256i r8_isum_##path(const __m256i lo[4], const __m256i hi[4], const int8_t *qs) \
    {                                                                                              \
        __m256i p = _mm256_setzero_si256(), q = _mm256_setzero_si256();                            \
        UNROLL for (int k = 0; k < 4; k++) {                                                       \
            p = dpbusd(p, lo[k], _mm256_set1_epi32((int)load_u32(qs + 4 * k)));                    \
            q = dpbusd(q, hi[k], _mm256_set1_epi32((int)load_u32(qs + 16 + 4 * k)));               \
        }                                                                                          \
        return _mm256_add_epi32(p, q);                                                             \
    }                                                                                              \
    QINLINE attr __m256i dot4_##path(__m256i acc, __m256i u, __m256i s)                            \
    {                                                                                              \
        return dpbusd(acc, u, s);                                                                  \
    }

#ifdef FSK_HAVE_AVX512VNNI
VNNI_HELPERS(vnni512, FSK_TARGET_VNNI512, _mm256_dpbusd_epi32)
#endif
#ifdef FSK_HAVE_AVXVNNI
VNNI_HELPERS(avxvnni, FSK_TARGET_AVXVNNI, _mm256_dpbusd_avx_epi32)
#endif

/* The five-bit records (Q5_0 as Q4_0's, Q5_1 as Q4_1's, with codes 0..31: FSK_TYPE_Q5_0_R8,
 * FSK_TYPE_Q5_1_R8): a record's masks put 16 into the bytes whose fifth bit is set, one mask per
 * half quant vector. A maddubs lane is then at most 2 * 31 * 127 = 7874, so the maddubs path
 * takes each vector's pairs to int32 at once (r8_isum5_base); vpdpbusd sums in int32 anyway. */

/* Adds a record's fifth bits (its qh, fsk_block_q5_0_r8) into the codes r8_codes made. */
typedef void (*r8_fifth_fn)(const uint8_t *qh, __m256i lo[4], __m256i hi[4]);

/* 0x10 in byte i where bit i of m is set: byte i picks m's byte i / 8 and tests its bit i % 8. */
QINLINE __m256i r8_sixteens(uint32_t m)
{
    const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2,
                                          2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    const __m256i bits = _mm256_set1_epi64x((long long)0x8040201008040201ull);
    const __m256i v = _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi32((int)m), pick), bits);
    return _mm256_and_si256(_mm256_cmpeq_epi8(v, bits), _mm256_set1_epi8(0x10));
}

QINLINE void r8_fifth_base(const uint8_t *qh, __m256i lo[4], __m256i hi[4])
{
    UNROLL for (int k = 0; k < 4; k++) {
        lo[k] = _mm256_or_si256(lo[k], r8_sixteens(load_u32(qh + 4 * k)));
        hi[k] = _mm256_or_si256(hi[k], r8_sixteens(load_u32(qh + 16 + 4 * k)));
    }
}

QINLINE __m256i r8_isum5_base(const __m256i lo[4], const __m256i hi[4], const int8_t *qs)
{
    __m256i p = _mm256_setzero_si256();
    UNROLL for (int k = 0; k < 4; k++) {
        const __m256i alo = _mm256_set1_epi32((int)load_u32(qs + 4 * k));
        const __m256i ahi = _mm256_set1_epi32((int)load_u32(qs + 16 + 4 * k));
        const __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(lo[k], alo),
                                           _mm256_maddubs_epi16(hi[k], ahi));
        p = _mm256_add_epi32(p, _mm256_madd_epi16(s, _mm256_set1_epi16(1)));
    }
    return p;
}

#ifdef FSK_HAVE_AVX512VNNI
/* The EVEX path's: a mask is a byte mask as it is, for a masked add. */
QINLINE FSK_TARGET_VNNI512 void r8_fifth_evex(const uint8_t *qh, __m256i lo[4], __m256i hi[4])
{
    const __m256i b4 = _mm256_set1_epi8(0x10);
    UNROLL for (int k = 0; k < 4; k++) {
        lo[k] = _mm256_mask_add_epi8(lo[k], (__mmask32)load_u32(qh + 4 * k), lo[k], b4);
        hi[k] = _mm256_mask_add_epi8(hi[k], (__mmask32)load_u32(qh + 16 + 4 * k), hi[k], b4);
    }
}
#endif

/* acc += isum (d_w d_a), accm += m_w s_a for one record (Q4_1's or Q5_1's: d[8], then m[8])
 * and one activation block. */
QINLINE void r8_scale(const uint8_t *rec, const fsk_block_q8_1 *a, __m256i isum, __m256 *acc,
                      __m256 *accm)
{
    const __m256 da = _mm256_set1_ps(half_f32(load_u16(&a->d)));
    const __m256 sa = _mm256_set1_ps(half_f32(load_u16(&a->s)));
    const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)rec));
    const __m256 m = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)(rec + 2 * FSK_R8)));
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), _mm256_mul_ps(d, da), *acc);
    *accm = _mm256_fmadd_ps(m, sa, *accm);
}

/* Tokens per pass of a matmul over a group's records, at most: 2 with AVX2's sixteen vector
 * registers, 4 in the EVEX path, which has thirty-two (the records' codes stay in registers). */
#define R8_TOK 4

/* Matvecs (one token) also fetch records ahead of the one they read, into L2 (prefetcht1), so
 * that the fetched bytes end fsk_pf_reach() past the record's start (backends/cpu.h: 3 KiB for
 * weights streamed from memory, 8 KiB for weights the last-level cache holds). The hardware
 * prefetchers alone left the stream short of memory's pace on an Intel Xeon (2026-12-04,
 * fsk_bench, Q4_1 records at 1 thread: 13.1-13.8 GB/s, 78-80% of the read probe next to it).
 * Measured there on 2026-12-05 (fsk_bench, % of the probe, avx2+vnni path, two rounds):
 * into L1 2 KiB ahead, Q4_1 records at 576x49152, 2 threads 67.6-74.4%, 1 thread 74.3-76.1%;
 * into L2 3 KiB ahead 85.1-86.2% and 87.8-88.8% (Q4_0 66.1-72.1 -> 90.5-92.8 at 2 threads,
 * Q5_0 63.1-68.5 -> 86.7-87.5; Q8_0 level; the small shapes at 1 thread level to 5 points lower);
 * reach 8 KiB, memory-bound, 1 thread lost 5-15 points, but with the weights in cache (96 MiB of
 * copies, the size of the Q4_1 model) it gained 40-50% (Q4_1 at 2 threads 34.5-41.3 -> 54.7-55.4
 * GB/s), and end to end decoding SmolLM2's Q4_1 file, which the 480 MiB cache holds, went from
 * 160-166 to 209-227 tok/s at 1 thread and 355-364 to 410-431 at 2. The K records (1152 bytes
 * and more) fetch a record at a time, so the reach, not the offset, is what matches across types.
 * A matmul's tokens give each record enough work to hide its load. The address is an integer
 * sum: records ahead may lie past the matrix, and a prefetch there is harmless. */
/* The records fetched into L2 as far as the reach says are also fetched into L1 this far ahead
 * (a second prefetcht0 per record): fsk_bench, 2026-12-05, avx2+vnni, two rounds, % of the
 * probe, L2 only -> with the L1 fetch 1 KiB ahead: Q4_1 records 1 thread 576x1536 84.2/86.1 ->
 * 96.6/97.8, 576x49152 80.5/82.3 -> 87.3/88.8, 2 threads 576x49152 82.9/83.5 -> 85.8/87.8; Q8_0
 * and Q4_K level (512 bytes ahead: between). End to end (far reach, 128 tokens, three rounds),
 * decode tok/s: Q4_1 1 thread 165.8-202.2 -> 189.7-210.2, 2 threads 391.2-409.6 -> 405.5-421.7;
 * Q4_K_M 2 threads 332.3-341.0 -> 348.3-374.3; Q8_0 level. */
#define R8_PF_L1_AHEAD 1024

static inline size_t r8_pf_ahead(int nt, size_t len)
{
    const size_t reach = nt == 1 ? fsk_pf_reach() : 0;
    if (reach == 0)
        return 0;
    return reach > 2 * len ? reach - len : len;
}
#define R8_PREFETCH_AT(ahead, rec, len)                                                           \
    do {                                                                                          \
        if (ahead) {                                                                              \
            FSK_PF_BYTES_L2(rec, ahead, len);                                                     \
            FSK_PF_BYTES(rec, R8_PF_L1_AHEAD, len);                                               \
        }                                                                                         \
    } while (0)

/* y[t][0..7] = the eight rows of the group at g . x[t], for nt (1 to R8_TOK) activations: Q4_1
 * records (fifth NULL) or Q5_1 ones (fifth adds their fifth bits). */
QINLINE void r8_group(int nt, float *const *y, const void *g, const fsk_block_q8_1 *const *x,
                      size_t nb, r8_isum_fn isum, r8_fifth_fn fifth)
{
    const size_t rs = fifth ? sizeof(fsk_block_q5_1_r8) : sizeof(fsk_block_q4_1_r8);
    const size_t qs_at = fifth ? offsetof(fsk_block_q5_1_r8, qs) : offsetof(fsk_block_q4_1_r8, qs);
    __m256 acc[R8_TOK], accm[R8_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = accm[t] = _mm256_setzero_ps();
    const size_t pf = r8_pf_ahead(nt, rs);
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *rec = (const uint8_t *)g + i * rs;
        __m256i lo[4], hi[4];
        R8_PREFETCH_AT(pf, rec, rs);
        r8_codes(rec + qs_at, lo, hi);
        if (fifth)
            fifth(rec + offsetof(fsk_block_q5_1_r8, qh), lo, hi);
        UNROLL for (int t = 0; t < nt; t++)
            r8_scale(rec, &x[t][i], isum(lo, hi, x[t][i].qs), &acc[t], &accm[t]);
    }
    UNROLL for (int t = 0; t < nt; t++)
        _mm256_storeu_ps(y[t], _mm256_add_ps(acc[t], accm[t]));
}

/* ------------------------------------------------------------------ Q8_0, eight rows per record
 * As Q4_1's above (FSK_TYPE_Q8_0_R8): 32-bit lane j of quant vector k holds row j's quants
 * 4k..4k+3, against the activation's bytes 4k..4k+3 broadcast; signed times signed as |w| times
 * a * sign(w) (maddubs: |pair| <= 2 * 128 * 127 fits int16, so each goes to int32 at once). */

/* y[t][0..7] = the eight rows of the group at g . x[t], for nt (1 to R8_TOK) activations. */
QINLINE void r8q8_group(int nt, float *const *y, const fsk_block_q8_0_r8 *g,
                        const fsk_block_q8_0 *const *x, size_t nb, dot4_fn dot)
{
    __m256 acc[R8_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm256_setzero_ps();
    const size_t pf = r8_pf_ahead(nt, sizeof *g);
    for (size_t i = 0; i < nb; i++) {
        __m256i even[R8_TOK], odd[R8_TOK]; /* two chains per token */
        R8_PREFETCH_AT(pf, &g[i], sizeof *g);
        UNROLL for (int t = 0; t < nt; t++)
            even[t] = odd[t] = _mm256_setzero_si256();
        UNROLL for (int k = 0; k < FSK_QK / 4; k++) {
            const __m256i v = _mm256_loadu_si256((const __m256i *)(g[i].qs + 32 * k));
            const __m256i av = _mm256_abs_epi8(v);
            UNROLL for (int t = 0; t < nt; t++) {
                const __m256i a = _mm256_set1_epi32((int)load_u32(x[t][i].qs + 4 * k));
                if (k & 1)
                    odd[t] = dot(odd[t], av, _mm256_sign_epi8(a, v));
                else
                    even[t] = dot(even[t], av, _mm256_sign_epi8(a, v));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g[i].d));
        UNROLL for (int t = 0; t < nt; t++) {
            const __m256 da = _mm256_set1_ps(half_f32(load_u16(&x[t][i].d)));
            const __m256i s = _mm256_add_epi32(even[t], odd[t]);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(d, da), acc[t]);
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        _mm256_storeu_ps(y[t], acc[t]);
}

/* ------------------------------------------------------------------ Q4_0, eight rows per record
 * As Q4_1's (FSK_TYPE_Q4_0_R8), against Q8_0 activations, which carry no sum: each row's integer
 * dot is sum(code * a) - 8 sum(a), the codes 0..15 through maddubs as for Q4_1 (same int16
 * bound). sum(a) per block and activation is worked out once per call (a table on the stack),
 * not once per group of rows. */

/* 8 sum(a) of one activation block, in every lane. */
QINLINE __m256i q8_0_sum8_lanes(const fsk_block_q8_0 *a)
{
    __m256i v = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), _mm256_loadu_si256((const __m256i *)a->qs)),
                                  _mm256_set1_epi16(1));
    v = _mm256_add_epi32(v, _mm256_permute2x128_si256(v, v, 1));
    v = _mm256_add_epi32(v, _mm256_shuffle_epi32(v, 0x4e));
    v = _mm256_add_epi32(v, _mm256_shuffle_epi32(v, 0xb1));
    return _mm256_slli_epi32(v, 3);
}

/* 8 sum(a) for each block of one activation. */
static void q8_0_sums8(int32_t *s8, const fsk_block_q8_0 *a, size_t nb)
{
    for (size_t i = 0; i < nb; i++)
        s8[i] = _mm256_cvtsi256_si32(q8_0_sum8_lanes(&a[i]));
}

/* y[t][0..7] = the eight rows of the group at g . x[t], for nt (1 to R8_TOK) activations whose
 * blocks' 8 sum(a) are s8[t][i], or (s8 NULL) worked out here: the same integers either way.
 * Q4_0 records (fifth NULL) or Q5_0 ones (fifth adds their fifth bits). */
QINLINE void r8q40_group(int nt, float *const *y, const void *g, const fsk_block_q8_0 *const *x,
                         const int32_t *const *s8, size_t nb, r8_isum_fn isum, r8_fifth_fn fifth)
{
    const size_t rs = fifth ? sizeof(fsk_block_q5_0_r8) : sizeof(fsk_block_q4_0_r8);
    const size_t qs_at = fifth ? offsetof(fsk_block_q5_0_r8, qs) : offsetof(fsk_block_q4_0_r8, qs);
    const int32_t mul = fifth ? 2 : 1; /* 16 sum(a) for five bits, 8 sum(a) for four */
    __m256 acc[R8_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm256_setzero_ps();
    const size_t pf = r8_pf_ahead(nt, rs);
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *rec = (const uint8_t *)g + i * rs; /* d[] first in both layouts */
        __m256i lo[4], hi[4];
        R8_PREFETCH_AT(pf, rec, rs);
        r8_codes(rec + qs_at, lo, hi);
        if (fifth)
            fifth(rec + offsetof(fsk_block_q5_0_r8, qh), lo, hi);
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)rec));
        UNROLL for (int t = 0; t < nt; t++) {
            const fsk_block_q8_0 *a = &x[t][i];
            const __m256i corr = s8 ? _mm256_set1_epi32(s8[t][i] * mul)
                                    : _mm256_slli_epi32(q8_0_sum8_lanes(a), mul - 1);
            const __m256i is = _mm256_sub_epi32(isum(lo, hi, a->qs), corr);
            const __m256 da = _mm256_set1_ps(half_f32(load_u16(&a->d)));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(d, da), acc[t]);
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        _mm256_storeu_ps(y[t], acc[t]);
}

/* Q8_0 records through vpdpbusd without the sign trick: each quant's sign bit flipped makes it
 * w + 128 as an unsigned byte, so the lanes sum (w + 128) a, and the row's integer dot is that
 * less 128 sum(a) (16 times the 8 sum(a) of the Q4_0 table): the same integers as r8q8_group's,
 * with one xor per quant vector (shared by the tokens) in place of an abs and a sign per token.
 * maddubs cannot take it (2 x 255 x 127 overflows int16), so only the VNNI paths' matmuls use
 * it; their matvecs keep r8q8_group. */
QINLINE void r8q8u_group(int nt, float *const *y, const fsk_block_q8_0_r8 *g,
                         const fsk_block_q8_0 *const *x, const int32_t *const *s8, size_t nb,
                         dot4_fn dot)
{
    const __m256i flip = _mm256_set1_epi8((char)0x80);
    __m256 acc[R8_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm256_setzero_ps();
    for (size_t i = 0; i < nb; i++) {
        __m256i even[R8_TOK], odd[R8_TOK];
        UNROLL for (int t = 0; t < nt; t++)
            even[t] = odd[t] = _mm256_setzero_si256();
        UNROLL for (int k = 0; k < FSK_QK / 4; k++) {
            const __m256i u = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)(g[i].qs + 32 * k)), flip);
            UNROLL for (int t = 0; t < nt; t++) {
                const __m256i a = _mm256_set1_epi32((int)load_u32(x[t][i].qs + 4 * k));
                if (k & 1)
                    odd[t] = dot(odd[t], u, a);
                else
                    even[t] = dot(even[t], u, a);
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)g[i].d));
        UNROLL for (int t = 0; t < nt; t++) {
            const fsk_block_q8_0 *a = &x[t][i];
            const __m256i corr = s8 ? _mm256_set1_epi32(s8[t][i] * 16) : _mm256_slli_epi32(q8_0_sum8_lanes(a), 4);
            const __m256i is = _mm256_sub_epi32(_mm256_add_epi32(even[t], odd[t]), corr);
            const __m256 da = _mm256_set1_ps(half_f32(load_u16(&a->d)));
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_mul_ps(d, da), acc[t]);
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        _mm256_storeu_ps(y[t], acc[t]);
}

/* Blocks of sums the stack table holds; longer rows work their sums out per group. */
#define Q40_SUMS 4096

/* A group function called with a literal token count (1 to 4), so that its loops over tokens
 * unroll and its accumulators stay in registers. */
#define R8_CALL_NT(nt, call)                                                                       \
    do {                                                                                           \
        switch (nt) {                                                                              \
        case 4: call(4); break;                                                                    \
        case 3: call(3); break;                                                                    \
        case 2: call(2); break;                                                                    \
        default: call(1); break;                                                                   \
        }                                                                                          \
    } while (0)

/* The matmul of the layouts whose dots take the activations' block sums (Q4_0 records, Q5_0 ones
 * with fifth set, or with dot set Q8_0 records through r8q8u_group): the sums of up to a table's
 * worth of tokens, then every group against those tokens, tok at a time. */
QINLINE void sums_r8_matmul(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                            size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1,
                            r8_isum_fn isum, dot4_fn dot, r8_fifth_fn fifth, int tok)
{
    const size_t nb = ncols / FSK_QK, gs = FSK_R8 * row_stride;
    int32_t sums[Q40_SUMS];
    const int table = nb > 0 && nb <= Q40_SUMS / R8_TOK;
    const size_t per = table ? Q40_SUMS / nb / R8_TOK * R8_TOK : R8_TOK; /* tokens per table */
    for (size_t k0 = 0; k0 < ntok; k0 += per) {
        const size_t kn = ntok - k0 < per ? ntok - k0 : per;
        for (size_t k = 0; table && k < kn; k++)
            q8_0_sums8(sums + k * nb, (const fsk_block_q8_0 *)((const char *)x + (k0 + k) * x_stride), nb);
        for (size_t g = r0 / FSK_R8; g < r1 / FSK_R8; g++) {
            const void *gw = (const char *)w + g * gs;
            for (size_t k = 0; k < kn; k += (size_t)tok) {
                const int nt = kn - k < (size_t)tok ? (int)(kn - k) : tok;
                float *yt[R8_TOK];
                const fsk_block_q8_0 *xt[R8_TOK];
                const int32_t *st[R8_TOK];
                for (int t = 0; t < nt; t++) {
                    yt[t] = y + (k0 + k + (size_t)t) * ldy + g * FSK_R8;
                    xt[t] = (const fsk_block_q8_0 *)((const char *)x + (k0 + k + (size_t)t) * x_stride);
                    st[t] = sums + (k + (size_t)t) * nb;
                }
#define Q40_GROUP(n) r8q40_group(n, yt, gw, xt, table ? st : NULL, nb, isum, fifth)
#define Q80U_GROUP(n) r8q8u_group(n, yt, gw, xt, table ? st : NULL, nb, dot)
                if (dot)
                    R8_CALL_NT(nt, Q80U_GROUP);
                else
                    R8_CALL_NT(nt, Q40_GROUP);
#undef Q40_GROUP
#undef Q80U_GROUP
            }
        }
    }
}

/* ------------------------------------------------------------------ Q4_K, eight rows per record
 * A record is super-block i of eight rows (FSK_TYPE_Q4_K_R8, kernels/quant.h). Per sub-block s
 * the eight rows' code sums isum_s come out in eight int32 lanes as for Q4_0's records (vector k
 * of pair p: its low nibbles are elements 4k..4k+3 of sub-block 2p, its high ones of 2p + 1);
 * then, exact in int32 as in ref, sumi = sum_s sc_s isum_s and summ = sum_s m_s bsum_s (bsum_s
 * the activation's 32 quants summed, from Q8_K's bsums, in int16 pairs against the minimums
 * through madd). The block's value is d_a d_w sumi - d_a dmin_w summ, one fused multiply-add
 * (ref rounds the product first: within the tolerance), and blocks add up left to right. */

/* y[t][0..7] = the eight rows of the group at g . x[t], for nt (1 to R8_TOK) activations: Q4_K
 * records (fifth NULL) or Q5_K ones (fifth adds their fifth bits, four quant vectors at a time). */
QINLINE void r8q4k_group(int nt, float *const *y, const void *g, const fsk_block_q8_K *const *x,
                         size_t nb, dot4_fn dot, r8_fifth_fn fifth)
{
    const size_t rs = fifth ? sizeof(fsk_block_q5_K_r8) : sizeof(fsk_block_q4_K_r8);
    const size_t qs_at = fifth ? offsetof(fsk_block_q5_K_r8, qs) : offsetof(fsk_block_q4_K_r8, qs);
    __m256 acc[R8_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm256_setzero_ps();
    const size_t pf = r8_pf_ahead(nt, rs);
    for (size_t i = 0; i < nb; i++) {
        const uint8_t *rb = (const uint8_t *)g + i * rs;
        const fsk_block_q4_K_r8 *rec = (const fsk_block_q4_K_r8 *)(const void *)rb; /* d, dmin, sm */
        _Alignas(32) uint8_t u[128];
        R8_PREFETCH_AT(pf, rb, rs);
        fsk_k8_unpack(rec->sm, u);
        __m256i sumi[R8_TOK], summ[R8_TOK];
        UNROLL for (int t = 0; t < nt; t++)
            sumi[t] = summ[t] = _mm256_setzero_si256();
        for (int p = 0; p < 4; p++) {
            __m256i s0[R8_TOK], s1[R8_TOK]; /* sub-blocks 2p and 2p + 1 */
            UNROLL for (int t = 0; t < nt; t++)
                s0[t] = s1[t] = _mm256_setzero_si256();
            UNROLL for (int q = 0; q < 2; q++) { /* quant vectors 4q..4q+3 of the pair */
                __m256i lo[4], hi[4];
                r8_codes(rb + qs_at + 256 * p + 128 * q, lo, hi);
                if (fifth)
                    fifth(rb + offsetof(fsk_block_q5_K_r8, qh) + 64 * p + 32 * q, lo, hi);
                UNROLL for (int c = 0; c < 4; c++)
                    UNROLL for (int t = 0; t < nt; t++) {
                        const int8_t *aq = x[t][i].qs + 64 * p + 16 * q + 4 * c;
                        s0[t] = dot(s0[t], lo[c], _mm256_set1_epi32((int)load_u32(aq)));
                        s1[t] = dot(s1[t], hi[c], _mm256_set1_epi32((int)load_u32(aq + 32)));
                    }
            }
            const __m256i sc0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(u + 16 * p)));
            const __m256i sc1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)(u + 16 * p + 8)));
            UNROLL for (int t = 0; t < nt; t++)
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(_mm256_mullo_epi32(sc0, s0[t]),
                                                                     _mm256_mullo_epi32(sc1, s1[t])));
        }
        UNROLL for (int t = 0; t < nt; t++) {
            int32_t bp[4];
            fsk_k8_bsum_pairs(&x[t][i], bp);
            UNROLL for (int p = 0; p < 4; p++) {
                const __m256i mp = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(u + 64 + 16 * p)));
                summ[t] = _mm256_add_epi32(summ[t], _mm256_madd_epi16(mp, _mm256_set1_epi32(bp[p])));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)rec->d));
        const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)rec->dmin));
        UNROLL for (int t = 0; t < nt; t++) {
            const __m256 da = _mm256_set1_ps(x[t][i].d);
            const __m256 mins = _mm256_mul_ps(_mm256_mul_ps(dm, da), _mm256_cvtepi32_ps(summ[t]));
            acc[t] = _mm256_add_ps(acc[t], _mm256_fmsub_ps(_mm256_mul_ps(d, da), _mm256_cvtepi32_ps(sumi[t]), mins));
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        _mm256_storeu_ps(y[t], acc[t]);
}

/* ------------------------------------------------------------------ Q6_K, eight rows per record
 * A record is super-block i of eight rows (FSK_TYPE_Q6_K_R8, kernels/quant.h). Per 32-element
 * chunk m, quant vector k's codes (0..63) come from one ql and one qh vector; vectors 0-3 are
 * 16-element group 2m, 4-7 group 2m + 1, each group's eight code sums in eight int32 lanes (a
 * maddubs lane is at most 2 * 63 * 127). sumi = sum_g sc_g isum_g - 32 sum_g sc_g bsum_g, exact
 * in int32 as in ref, and the block's value (d_w d_a) sumi as ref computes it, blocks added left
 * to right. */

/* Chunk m's quant vector k of a record: low four bits from ql, top two from qh. */
QINLINE __m256i q6_code(const fsk_block_q6_K_r8 *r, int m, int k)
{
    const __m256i l = _mm256_loadu_si256((const __m256i *)(const void *)(r->ql + 256 * (m % 4) + 32 * k));
    const __m256i h = _mm256_loadu_si256((const __m256i *)(const void *)(r->qh + 256 * (m % 2) + 32 * k));
    const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
    const __m256i lo = _mm256_and_si256(m < 4 ? l : _mm256_srli_epi16(l, 4), m4);
    __m256i hi; /* bits 2(m / 2) and up of each byte to bits 4-5; masked after the 16-bit shift */
    switch (m / 2) {
    case 0: hi = _mm256_slli_epi16(h, 4); break;
    case 1: hi = _mm256_slli_epi16(h, 2); break;
    case 2: hi = h; break;
    default: hi = _mm256_srli_epi16(h, 2); break;
    }
    return _mm256_or_si256(lo, _mm256_and_si256(hi, m30));
}

/* y[t][0..7] = the eight rows of the group at g . x[t], for nt (1 to R8_TOK) activations. */
QINLINE void r8q6k_group(int nt, float *const *y, const fsk_block_q6_K_r8 *g,
                         const fsk_block_q8_K *const *x, size_t nb, dot4_fn dot)
{
    __m256 acc[R8_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm256_setzero_ps();
    const size_t pf = r8_pf_ahead(nt, sizeof *g);
    for (size_t i = 0; i < nb; i++) {
        const fsk_block_q6_K_r8 *rec = &g[i];
        R8_PREFETCH_AT(pf, rec, sizeof *rec);
        __m256i sumi[R8_TOK], corr[R8_TOK];
        UNROLL for (int t = 0; t < nt; t++)
            sumi[t] = corr[t] = _mm256_setzero_si256();
        UNROLL for (int m = 0; m < 8; m++) {
            __m256i s0[R8_TOK], s1[R8_TOK]; /* groups 2m and 2m + 1 */
            UNROLL for (int t = 0; t < nt; t++)
                s0[t] = s1[t] = _mm256_setzero_si256();
            UNROLL for (int k = 0; k < 8; k++) {
                const __m256i c = q6_code(rec, m, k);
                UNROLL for (int t = 0; t < nt; t++) {
                    const __m256i a = _mm256_set1_epi32((int)load_u32(x[t][i].qs + 32 * m + 4 * k));
                    if (k < 4)
                        s0[t] = dot(s0[t], c, a);
                    else
                        s1[t] = dot(s1[t], c, a);
                }
            }
            /* lane j: row j's scales of groups 2m (low word) and 2m + 1 (high word) */
            const __m256i pr = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(const void *)(rec->sc + 16 * m)));
            const __m256i sc0 = _mm256_srai_epi32(_mm256_slli_epi32(pr, 16), 16), sc1 = _mm256_srai_epi32(pr, 16);
            UNROLL for (int t = 0; t < nt; t++) {
                sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(_mm256_mullo_epi32(sc0, s0[t]),
                                                                     _mm256_mullo_epi32(sc1, s1[t])));
                const __m256i bs = _mm256_set1_epi32((int)load_u32(x[t][i].bsums + 2 * m));
                corr[t] = _mm256_add_epi32(corr[t], _mm256_madd_epi16(pr, bs));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(const void *)rec->d));
        UNROLL for (int t = 0; t < nt; t++) {
            const __m256i is = _mm256_sub_epi32(sumi[t], _mm256_slli_epi32(corr[t], 5));
            const __m256 v = _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(x[t][i].d)), _mm256_cvtepi32_ps(is));
            acc[t] = _mm256_add_ps(acc[t], v);
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        _mm256_storeu_ps(y[t], acc[t]);
}

/* The K records' matvec and matmul: Q4_K's, with fifth set Q5_K's, with six set Q6_K's. */
QINLINE void q4_k_r8_matvec(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                            size_t r0, size_t r1, dot4_fn dot, r8_fifth_fn fifth, int six)
{
    const size_t nb = ncols / FSK_QK_K, gs = FSK_R8 * row_stride;
    const fsk_block_q8_K *xa = x;
    for (size_t g = r0 / FSK_R8; g < r1 / FSK_R8; g++) {
        float *yg = y + g * FSK_R8;
        const char *gw = (const char *)w + g * gs;
        if (six)
            r8q6k_group(1, &yg, (const fsk_block_q6_K_r8 *)(const void *)gw, &xa, nb, dot);
        else
            r8q4k_group(1, &yg, gw, &xa, nb, dot, fifth);
    }
}

QINLINE void q4_k_r8_matmul(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                            size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1,
                            dot4_fn dot, r8_fifth_fn fifth, int six, int tok)
{
    const size_t nb = ncols / FSK_QK_K, gs = FSK_R8 * row_stride;
    for (size_t g = r0 / FSK_R8; g < r1 / FSK_R8; g++) {
        const char *gw = (const char *)w + g * gs;
        for (size_t k = 0; k < ntok; k += (size_t)tok) {
            const int nt = ntok - k < (size_t)tok ? (int)(ntok - k) : tok;
            float *yt[R8_TOK];
            const fsk_block_q8_K *xt[R8_TOK];
            for (int t = 0; t < nt; t++) {
                yt[t] = y + (k + (size_t)t) * ldy + g * FSK_R8;
                xt[t] = (const fsk_block_q8_K *)(const void *)((const char *)x + (k + (size_t)t) * x_stride);
            }
#define Q4K_GROUP(n) r8q4k_group(n, yt, gw, xt, nb, dot, fifth)
#define Q6K_GROUP(n) r8q6k_group(n, yt, (const fsk_block_q6_K_r8 *)(const void *)gw, xt, nb, dot)
            if (six)
                R8_CALL_NT(nt, Q6K_GROUP);
            else
                R8_CALL_NT(nt, Q4K_GROUP);
#undef Q4K_GROUP
#undef Q6K_GROUP
        }
    }
}

/* Q4_0 records' matvec, or with fifth set Q5_0 records'. */
QINLINE void q4_0_r8_matvec(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                            size_t r0, size_t r1, r8_isum_fn isum, r8_fifth_fn fifth)
{
    const size_t nb = ncols / FSK_QK, gs = FSK_R8 * row_stride;
    const fsk_block_q8_0 *xa = x;
    int32_t sums[Q40_SUMS];
    const int table = nb <= Q40_SUMS;
    if (table)
        q8_0_sums8(sums, xa, nb);
    const int32_t *sp = sums;
    for (size_t g = r0 / FSK_R8; g < r1 / FSK_R8; g++) {
        float *yg = y + g * FSK_R8;
        r8q40_group(1, &yg, (const char *)w + g * gs, &xa, table ? &sp : NULL, nb, isum, fifth);
    }
}

/* The matvec and the matmul over whole groups of eight rows, from a group function: the matmul
 * takes tok tokens per pass over a group (sharing the loads and unpacking of its records), and
 * each token's sums are the matvec's. */
QINLINE void r8_matvec(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                       size_t r0, size_t r1, int type, r8_isum_fn isum, dot4_fn dot,
                       r8_fifth_fn fifth)
{
    const size_t nb = ncols / FSK_QK, gs = FSK_R8 * row_stride;
    for (size_t g = r0 / FSK_R8; g < r1 / FSK_R8; g++) {
        float *yg = y + g * FSK_R8;
        const void *gw = (const char *)w + g * gs;
        if (type == FSK_TYPE_Q4_1_R8 || type == FSK_TYPE_Q5_1_R8) {
            const fsk_block_q8_1 *xa = x;
            r8_group(1, &yg, gw, &xa, nb, isum, fifth);
        } else {
            const fsk_block_q8_0 *xa = x;
            r8q8_group(1, &yg, gw, &xa, nb, dot);
        }
    }
}

QINLINE void r8_matmul(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                       size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1, int type,
                       r8_isum_fn isum, dot4_fn dot, r8_fifth_fn fifth, int tok)
{
    const size_t nb = ncols / FSK_QK, gs = FSK_R8 * row_stride;
    for (size_t g = r0 / FSK_R8; g < r1 / FSK_R8; g++) {
        const void *gw = (const char *)w + g * gs;
        for (size_t k = 0; k < ntok; k += (size_t)tok) {
            const int nt = ntok - k < (size_t)tok ? (int)(ntok - k) : tok;
            float *yt[R8_TOK];
            const fsk_block_q8_1 *x1[R8_TOK];
            const fsk_block_q8_0 *x0[R8_TOK];
            for (int t = 0; t < nt; t++) {
                yt[t] = y + (k + (size_t)t) * ldy + g * FSK_R8;
                const void *xt = (const char *)x + (k + (size_t)t) * x_stride;
                x1[t] = xt;
                x0[t] = xt;
            }
#define Q41_GROUP(n) r8_group(n, yt, gw, x1, nb, isum, fifth)
#define Q80_GROUP(n) r8q8_group(n, yt, gw, x0, nb, dot)
            if (type == FSK_TYPE_Q4_1_R8 || type == FSK_TYPE_Q5_1_R8)
                R8_CALL_NT(nt, Q41_GROUP);
            else
                R8_CALL_NT(nt, Q80_GROUP);
#undef Q41_GROUP
#undef Q80_GROUP
        }
    }
}

/* Q8_0's matmul with the sign trick (every path), or the sign bit flipped (VNNI paths only:
 * r8q8u_group). */
QINLINE void q8_0_r8_matmul_signed(float *y, size_t ldy, const void *w, size_t row_stride,
                                   const void *x, size_t x_stride, size_t ncols, size_t ntok,
                                   size_t r0, size_t r1, r8_isum_fn isum, dot4_fn dot, int tok)
{
    r8_matmul(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, FSK_TYPE_Q8_0_R8, isum, dot, NULL,
              tok);
}

QINLINE void q8_0_r8_matmul_flipped(float *y, size_t ldy, const void *w, size_t row_stride,
                                    const void *x, size_t x_stride, size_t ncols, size_t ntok,
                                    size_t r0, size_t r1, r8_isum_fn isum, dot4_fn dot, int tok)
{
    sums_r8_matmul(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, isum, dot, NULL, tok);
}

/* The two kernels of a K record type in one path (fifth NULL: Q4_K or Q6_K (six); else Q5_K's
 * helper). */
#define R8_K_TYPE(path, attr, tok, t, fifth, six)                                                  \
    attr void fsk_matvec_##t##__avx2_##path FSK_MV_PARAMS                                          \
    {                                                                                              \
        q4_k_r8_matvec(y, w, row_stride, x, ncols, r0, r1, dot4_##path, fifth, six);               \
    }                                                                                              \
    attr void fsk_matmul_##t##__avx2_##path FSK_MM_PARAMS                                          \
    {                                                                                              \
        q4_k_r8_matmul(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, dot4_##path, fifth, \
                       six, tok);                                                                  \
    }

/* One path's sixteen kernels; q8_mm is one of the two above, isum5 and fifth the five-bit helpers. */
#define R8_PATH(path, attr, tok, q8_mm, isum5, fifth)                                              \
    attr void fsk_matvec_q4_1_r8__avx2_##path FSK_MV_PARAMS                                        \
    {                                                                                              \
        r8_matvec(y, w, row_stride, x, ncols, r0, r1, FSK_TYPE_Q4_1_R8, r8_isum_##path, dot4_##path, \
                  NULL);                                                                           \
    }                                                                                              \
    attr void fsk_matvec_q5_1_r8__avx2_##path FSK_MV_PARAMS                                        \
    {                                                                                              \
        r8_matvec(y, w, row_stride, x, ncols, r0, r1, FSK_TYPE_Q5_1_R8, isum5, dot4_##path, fifth); \
    }                                                                                              \
    attr void fsk_matvec_q8_0_r8__avx2_##path FSK_MV_PARAMS                                        \
    {                                                                                              \
        r8_matvec(y, w, row_stride, x, ncols, r0, r1, FSK_TYPE_Q8_0_R8, r8_isum_##path, dot4_##path, \
                  NULL);                                                                           \
    }                                                                                              \
    attr void fsk_matvec_q4_0_r8__avx2_##path FSK_MV_PARAMS                                        \
    {                                                                                              \
        q4_0_r8_matvec(y, w, row_stride, x, ncols, r0, r1, r8_isum_##path, NULL);                  \
    }                                                                                              \
    attr void fsk_matvec_q5_0_r8__avx2_##path FSK_MV_PARAMS                                        \
    {                                                                                              \
        q4_0_r8_matvec(y, w, row_stride, x, ncols, r0, r1, isum5, fifth);                          \
    }                                                                                              \
    attr void fsk_matmul_q4_1_r8__avx2_##path FSK_MM_PARAMS                                        \
    {                                                                                              \
        r8_matmul(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, FSK_TYPE_Q4_1_R8,      \
                  r8_isum_##path, dot4_##path, NULL, tok);                                         \
    }                                                                                              \
    R8_K_TYPE(path, attr, tok, q4_k_r8, NULL, 0) R8_K_TYPE(path, attr, tok, q5_k_r8, fifth, 0)   \
    R8_K_TYPE(path, attr, tok, q6_k_r8, NULL, 1)                                                   \
    attr void fsk_matmul_q5_1_r8__avx2_##path FSK_MM_PARAMS                                        \
    {                                                                                              \
        r8_matmul(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, FSK_TYPE_Q5_1_R8,      \
                  isum5, dot4_##path, fifth, tok);                                                 \
    }                                                                                              \
    attr void fsk_matmul_q8_0_r8__avx2_##path FSK_MM_PARAMS                                        \
    {                                                                                              \
        q8_mm(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, r8_isum_##path, dot4_##path, tok); \
    }                                                                                              \
    attr void fsk_matmul_q4_0_r8__avx2_##path FSK_MM_PARAMS                                        \
    {                                                                                              \
        sums_r8_matmul(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, r8_isum_##path, NULL, \
                       NULL, tok);                                                                 \
    }                                                                                              \
    attr void fsk_matmul_q5_0_r8__avx2_##path FSK_MM_PARAMS                                        \
    {                                                                                              \
        sums_r8_matmul(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, isum5, NULL, fifth, tok); \
    }

#define FSK_NO_ATTR
R8_PATH(base, FSK_NO_ATTR, 2, q8_0_r8_matmul_signed, r8_isum5_base, r8_fifth_base)
#ifdef FSK_HAVE_AVX512VNNI
R8_PATH(vnni512, FSK_TARGET_VNNI512, 4, q8_0_r8_matmul_flipped, r8_isum_vnni512, r8_fifth_evex)
#endif
#ifdef FSK_HAVE_AVXVNNI
R8_PATH(avxvnni, FSK_TARGET_AVXVNNI, 2, q8_0_r8_matmul_flipped, r8_isum_avxvnni, r8_fifth_base)
#endif

/* The exported kernels (kernels/x86/vnni.h): a matvec and a matmul of one type always take the
 * same path. */
FSK_R8_TYPES(FSK_AVX2_DISPATCH_R8)

/* The file-layout 32-element kernels (Q4_0 and Q4_1 where they are not repacked, Q5_0, Q5_1),
 * path by path: base sums in int16, the VNNI paths through vpdpbusd; the same integers. */
#define F32_TYPE(path, attr, dot, fifth, t, F)                                                     \
    attr void fsk_matvec_##t##__avx2_##path FSK_MV_PARAMS                                          \
    {                                                                                              \
        matvec_32(F, y, w, row_stride, x, ncols, r0, r1, dot, fifth);                              \
    }                                                                                              \
    attr void fsk_matmul_##t##__avx2_##path FSK_MM_PARAMS                                          \
    {                                                                                              \
        matmul_32(F, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, dot, fifth);         \
    }
#define F32_PATH(path, attr, dot, fifth)                                                           \
    F32_TYPE(path, attr, dot, fifth, q4_0, F_Q4_0) F32_TYPE(path, attr, dot, fifth, q4_1, F_Q4_1)  \
    F32_TYPE(path, attr, dot, fifth, q5_0, F_Q5_0) F32_TYPE(path, attr, dot, fifth, q5_1, F_Q5_1)

#ifdef FSK_HAVE_AVX512VNNI
/* The EVEX path's fifth bits: each 32-bit qh is a byte mask for one half of a block (bits 0-15
 * the low-nibble quants, 16-31 the high), so a masked byte add puts the 16s in place. */
QINLINE FSK_TARGET_VNNI512 void fifth_evex(const unsigned char *h0, const unsigned char *h1, int two,
                                           __m256i *lo, __m256i *hi)
{
    const uint32_t q0 = load_u32(h0), q1 = two ? load_u32(h1) : 0;
    const __m256i b4 = _mm256_set1_epi8(0x10);
    *lo = _mm256_mask_add_epi8(*lo, (__mmask32)((q0 & 0xffffu) | (q1 << 16)), *lo, b4);
    *hi = _mm256_mask_add_epi8(*hi, (__mmask32)((q0 >> 16) | (q1 & 0xffff0000u)), *hi, b4);
}
#endif

F32_PATH(base, FSK_NO_ATTR, NULL, NULL)
#ifdef FSK_HAVE_AVX512VNNI
F32_PATH(vnni512, FSK_TARGET_VNNI512, dot4_vnni512, fifth_evex)
#endif
#ifdef FSK_HAVE_AVXVNNI
F32_PATH(avxvnni, FSK_TARGET_AVXVNNI, dot4_avxvnni, NULL)
#endif
#undef F32_PATH
#undef F32_TYPE

FSK_AVX2_DISPATCH_TYPE(q4_0)
FSK_AVX2_DISPATCH_TYPE(q4_1)
FSK_AVX2_DISPATCH_TYPE(q5_0)
FSK_AVX2_DISPATCH_TYPE(q5_1)

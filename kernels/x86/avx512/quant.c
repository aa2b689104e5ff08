/* quant.c (avx512): the 32-element GGML formats and BF16: activation quantizers, integer matvec, dequantize. */
#include <string.h>

#include "isa.h"
#include "../loadu.h"
#include "kernels.h"
#include "../prefetch.h"
#include "unroll.h"
#include "quant.h"
#include "../vnni.h"

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

/* ------------------------------------------------------------------ activations */

/* roundf (half away from zero) of v, clamped to [-127, 127], NaN to 0, as ref's round_q8.
 * |v| plus the float just below 1/2, truncated: adding 1/2 itself would carry 0.49999997 up to 1.
 * |v| is clamped before the conversion so that an infinite v (x / d with d subnormal) gives 127,
 * not the conversion's INT_MIN. */
static inline __m512i round_q8(__m512 v)
{
    const __m512 sign = _mm512_set1_ps(-0.0f);
    __m512 a = _mm512_min_ps(_mm512_andnot_ps(sign, v), _mm512_set1_ps(127.0f));
    a = _mm512_add_ps(a, _mm512_set1_ps(0.49999997f));
    a = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), a);
    return _mm512_cvttps_epi32(_mm512_or_ps(a, _mm512_and_ps(v, sign)));
}

/* max |x| over n (a multiple of 16) floats, per lane (absmax16) or in all (absmax); a NaN lane
 * leaves the maximum alone, as fmaxf does (maxps returns its second operand when either is NaN,
 * so the running maximum, never NaN, goes second). */
static inline __m512 absmax16(const float *x, size_t n)
{
    __m512 m = _mm512_setzero_ps();
    for (size_t k = 0; k < n; k += FSK_AVX512_W)
        m = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + k)), m);
    return m;
}

static inline float absmax(const float *x, size_t n)
{
    return _mm512_reduce_max_ps(absmax16(x, n));
}

/* d = amax / 127 and id = 1 / d exactly as ref computes them, in scalar float. */
static inline float q8_scale(float amax, float *id)
{
    const float d = amax / 127.0f;
    *id = d != 0.0f ? 1.0f / d : 0.0f;
    return d;
}

/* 16 quants of x * id stored at q (every value is within int8 already); returns them as int32. */
static inline __m512i quant16(int8_t *q, const float *x, __m512 id)
{
    __m512i v = round_q8(_mm512_mul_ps(_mm512_loadu_ps(x), id));
    _mm_storeu_si128((__m128i *)q, _mm512_cvtsepi32_epi8(v));
    return v;
}

/* Sixteen vectors to one, lane j the reduction of v[j]'s sixteen lanes (max of floats, or sum of
 * int32 with the vectors as float bit patterns): two 256-bit, two 128-bit and two in-lane steps,
 * each combining a pair of vectors with two shuffles, leave block 4m + k in lane 4k + m, which one
 * permute puts right. 15 x 3 operations for sixteen reductions where one reduce_* per vector
 * takes eight: on CPUs that run 512-bit operations on two ports, the per-block shuffles were most
 * of a quantizer's time. Lanes of v[] past the caller's count may hold anything; v is consumed. */
#define FSK_REDUCE16(v, OP)                                                                        \
    do {                                                                                           \
        for (int i_ = 0; i_ < 8; i_++)                                                             \
            v[i_] = OP(_mm512_shuffle_f32x4(v[2 * i_], v[2 * i_ + 1], _MM_SHUFFLE(1, 0, 1, 0)),      \
                       _mm512_shuffle_f32x4(v[2 * i_], v[2 * i_ + 1], _MM_SHUFFLE(3, 2, 3, 2)));     \
        for (int i_ = 0; i_ < 4; i_++)                                                             \
            v[i_] = OP(_mm512_shuffle_f32x4(v[2 * i_], v[2 * i_ + 1], _MM_SHUFFLE(2, 0, 2, 0)),      \
                       _mm512_shuffle_f32x4(v[2 * i_], v[2 * i_ + 1], _MM_SHUFFLE(3, 1, 3, 1)));     \
        for (int i_ = 0; i_ < 2; i_++)                                                             \
            v[i_] = OP(_mm512_shuffle_ps(v[2 * i_], v[2 * i_ + 1], _MM_SHUFFLE(1, 0, 1, 0)),         \
                       _mm512_shuffle_ps(v[2 * i_], v[2 * i_ + 1], _MM_SHUFFLE(3, 2, 3, 2)));        \
        v[0] = OP(_mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(2, 0, 2, 0)),                          \
                  _mm512_shuffle_ps(v[0], v[1], _MM_SHUFFLE(3, 1, 3, 1)));                         \
        v[0] = _mm512_permutexvar_ps(_mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, \
                                                       11, 15), v[0]);                              \
    } while (0)
#define FSK_ADD_EPI32_PS(a, b) _mm512_castsi512_ps(_mm512_add_epi32(_mm512_castps_si512(a), _mm512_castps_si512(b)))

static inline __m512 reduce16_max(__m512 *v)
{
    FSK_REDUCE16(v, _mm512_max_ps);
    return v[0];
}

static inline __m512i reduce16_add(__m512i *iv)
{
    __m512 v[16];
    for (int i = 0; i < 16; i++)
        v[i] = _mm512_castsi512_ps(iv[i]);
    FSK_REDUCE16(v, FSK_ADD_EPI32_PS);
    return _mm512_castps_si512(v[0]);
}

/* d = amax / 127 and id = 1 / d (0 where d is 0) for sixteen blocks at once: the same divisions
 * as q8_scale, so the same bits. */
static inline __m512 q8_scales16(__m512 amax, __m512 *id)
{
    const __m512 d = _mm512_div_ps(amax, _mm512_set1_ps(127.0f));
    *id = _mm512_maskz_div_ps(_mm512_cmp_ps_mask(d, _mm512_setzero_ps(), _CMP_NEQ_UQ), _mm512_set1_ps(1.0f), d);
    return d;
}

/* The 32-element activation blocks, up to sixteen at a time: their maxima and scales together
 * (reduce16_max, q8_scales16), then each block's quants; Q8_1's sums the same way. */
QINLINE void quantize_q8_32(void *y, const float *x, size_t n, int with_sum)
{
    const size_t bs = with_sum ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    const size_t qs_at = with_sum ? offsetof(fsk_block_q8_1, qs) : offsetof(fsk_block_q8_0, qs);
    const size_t nb = n / FSK_QK;
    for (size_t b0 = 0; b0 < nb; b0 += 16) {
        const size_t g = nb - b0 < 16 ? nb - b0 : 16;
        const float *xg = x + b0 * FSK_QK;
        unsigned char *yg = (unsigned char *)y + b0 * bs;
        __m512 m[16];
        for (size_t j = 0; j < 16; j++)
            m[j] = j < g ? absmax16(xg + j * FSK_QK, FSK_QK) : _mm512_setzero_ps();
        __m512 idv;
        const __m512 d = q8_scales16(reduce16_max(m), &idv);
        _Alignas(64) float id[16];
        _Alignas(32) fsk_half dh[16];
        _mm512_store_ps(id, idv);
        _mm256_store_si256((__m256i *)dh, _mm512_cvtps_ph(d, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        __m512i sums[16];
        for (size_t j = 0; j < 16; j++) {
            if (j >= g) {
                sums[j] = _mm512_setzero_si512();
                continue;
            }
            int8_t *q = (int8_t *)(yg + j * bs + qs_at);
            const __m512 ij = _mm512_set1_ps(id[j]);
            sums[j] = _mm512_add_epi32(quant16(q, xg + j * FSK_QK, ij), quant16(q + 16, xg + j * FSK_QK + 16, ij));
            memcpy(yg + j * bs, &dh[j], sizeof dh[j]); /* d opens both block formats */
        }
        if (with_sum) { /* s = d * sum(q), from the half d as ref rounds it */
            const __m512 sf = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_load_si256((const __m256i *)dh)),
                                            _mm512_cvtepi32_ps(reduce16_add(sums)));
            _Alignas(32) fsk_half sh[16];
            _mm256_store_si256((__m256i *)sh, _mm512_cvtps_ph(sf, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
            for (size_t j = 0; j < g; j++)
                memcpy(yg + j * bs + offsetof(fsk_block_q8_1, s), &sh[j], sizeof sh[j]);
        }
    }
}

void fsk_quantize_q8_0__avx512(void *y, const float *x, size_t n)
{
    quantize_q8_32(y, x, n, 0);
}

void fsk_quantize_q8_1__avx512(void *y, const float *x, size_t n)
{
    quantize_q8_32(y, x, n, 1);
}

/* 256 quants; each vector of 16 is one bsums group, the sixteen groups' sums reduced together. */
void fsk_quantize_q8_k__avx512(void *y, const float *x, size_t n)
{
    fsk_block_q8_K *b = y;
    for (size_t i = 0; i < n / FSK_QK_K; i++) {
        const float *xb = x + i * FSK_QK_K;
        float id, d = q8_scale(absmax(xb, FSK_QK_K), &id);
        const __m512 idv = _mm512_set1_ps(id);
        __m512i g[16];
        for (int k = 0; k < FSK_QK_K / 16; k++)
            g[k] = quant16(b[i].qs + 16 * k, xb + 16 * k, idv);
        _mm256_storeu_si256((__m256i *)(void *)b[i].bsums, _mm512_cvtepi32_epi16(reduce16_add(g)));
        b[i].d = d;
    }
}

/* ------------------------------------------------------------------ matvec
 * Blocks go four at a time, one per 128-bit lane: "lo" vectors hold quants 0..15 of each block
 * (the low nibbles), "hi" vectors quants 16..31; the activation quad is shuffled to match once
 * per pass. Four weight blocks are 72..96 contiguous bytes whose fields all sit on 16-bit
 * boundaries, so one full and one masked load and a two-source word permute gather their quants,
 * and a second permute their scales (and Q5 high bits). maddubs (unsigned codes times signed
 * activations, pairs in int16) and madd with ones, or vpdpbusd where the CPU has VNNI (the
 * same integers; quad_isum below), give sixteen int32 partial sums, four per block, converted
 * exactly and multiplied by the block's d_w * d_a in one FMA. The signed formats use their
 * unsigned codes and subtract offset * sum(a); the min formats add m * s. A last partial quad
 * goes through zero-filled copies: zero blocks add exactly zero. */

enum fmt { F_Q4_0, F_Q4_1, F_Q5_0, F_Q5_1 };

static inline int fmt_min(enum fmt f)
{
    return f == F_Q4_1 || f == F_Q5_1;
}

static inline int fmt_five(enum fmt f)
{
    return f == F_Q5_0 || f == F_Q5_1;
}

/* 16-bit words per block (d is word 0, m word 1), and the word where qh, then qs, start. */
static inline int fmt_words(enum fmt f)
{
    return f == F_Q4_0 ? 9 : f == F_Q4_1 ? 10 : f == F_Q5_0 ? 11 : 12;
}

static inline int fmt_qh(enum fmt f)
{
    return fmt_min(f) ? 2 : 1;
}

static inline int fmt_qs(enum fmt f)
{
    return fmt_qh(f) + (fmt_five(f) ? 2 : 0);
}

/* The words of four blocks past the first 64 bytes, loaded masked. */
static inline __mmask32 fmt_tail(enum fmt f)
{
    return (__mmask32)((1u << (4 * fmt_words(f) - 32)) - 1u);
}

/* Word k of the permute result is word idx[k] of the 64 in (first 64 bytes, next 64 bytes). */
static inline __m512i words_index(const uint16_t idx[32])
{
    return _mm512_loadu_si512((const void *)idx);
}

/* qs of block k to lane k. */
static inline __m512i qs_index(enum fmt f)
{
    uint16_t idx[32];
    for (int k = 0; k < 4; k++)
        for (int w = 0; w < 8; w++)
            idx[8 * k + w] = (uint16_t)(fmt_words(f) * k + fmt_qs(f) + w);
    return words_index(idx);
}

/* Words 0..7: d_k and m_k (m_k zeroed by the mask for the signed formats); words 8..11: the low
 * halves of qh_k, 12..15 the high halves. */
static inline __m512i scale_index(enum fmt f)
{
    uint16_t idx[32] = {0};
    for (int k = 0; k < 4; k++) {
        idx[2 * k] = (uint16_t)(fmt_words(f) * k);
        idx[2 * k + 1] = (uint16_t)(fmt_words(f) * k + 1);
        idx[8 + k] = (uint16_t)(fmt_words(f) * k + fmt_qh(f));
        idx[12 + k] = (uint16_t)(fmt_words(f) * k + fmt_qh(f) + 1);
    }
    return words_index(idx);
}

static inline __mmask32 scale_mask(enum fmt f)
{
    return (__mmask32)((fmt_min(f) ? 0xffu : 0x55u) | (fmt_five(f) ? 0xff00u : 0u));
}

/* Four 16-byte pieces p[k] into lane k. */
static inline __m512i lanes4(const unsigned char *p0, const unsigned char *p1,
                             const unsigned char *p2, const unsigned char *p3)
{
    __m256i a = _mm256_loadu2_m128i((const __m128i *)p1, (const __m128i *)p0);
    __m256i b = _mm256_loadu2_m128i((const __m128i *)p3, (const __m128i *)p2);
    return _mm512_inserti64x4(_mm512_castsi256_si512(a), b, 1);
}

/* An activation quad: quants in the lane layout, [d_k, s_k] for k = 0..3 (s 0 for Q8_0), and for
 * the signed formats offset * (a pair sums) in the int16 lanes maddubs produces. */
struct aquad {
    __m512i lo, hi, corr;
    __m256 ds;
};

QINLINE void act_quad(enum fmt f, const unsigned char *a, struct aquad *p)
{
    const size_t ab = fmt_min(f) ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    const size_t qs = fmt_min(f) ? offsetof(fsk_block_q8_1, qs) : offsetof(fsk_block_q8_0, qs);
    p->lo = lanes4(a + qs, a + ab + qs, a + 2 * ab + qs, a + 3 * ab + qs);
    p->hi = lanes4(a + qs + 16, a + ab + qs + 16, a + 2 * ab + qs + 16, a + 3 * ab + qs + 16);
    __m128i h;
    if (fmt_min(f))
        h = _mm_setr_epi32((int)load_u32(a), (int)load_u32(a + ab), (int)load_u32(a + 2 * ab),
                           (int)load_u32(a + 3 * ab));
    else
        h = _mm_setr_epi32(load_u16(a), load_u16(a + ab), load_u16(a + 2 * ab), load_u16(a + 3 * ab));
    p->ds = _mm256_cvtph_ps(h);
    if (!fmt_min(f)) {
        const __m512i off = _mm512_set1_epi8(fmt_five(f) ? 16 : 8);
        p->corr = _mm512_add_epi16(_mm512_maddubs_epi16(off, p->lo), _mm512_maddubs_epi16(off, p->hi));
    }
}

struct wperm {
    __m512i qs, sc;
    __mmask32 tail, sc_mask;
};

/* A weight quad's unsigned codes in the lane layout and its d (and m) floats. nbytes < 4 blocks
 * (a last partial quad): masked loads read zeros past nbytes, as if the quad were padded with
 * zero blocks (which add exactly zero), and nothing past the row (masked lanes never fault). */
QINLINE void weight_quad(enum fmt f, const unsigned char *b, size_t nbytes,
                            const struct wperm *pm, __m512i *lo, __m512i *hi, __m256 *wd)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const size_t full = 8 * (size_t)fmt_words(f);
    __mmask64 m0 = ~(__mmask64)0;
    __mmask32 m1 = pm->tail;
    if (nbytes < full) {
        m0 = nbytes >= 64 ? m0 : (((__mmask64)1 << nbytes) - 1);
        m1 = nbytes > 64 ? (__mmask32)(m1 & ((1u << ((nbytes - 64) / 2)) - 1u)) : 0;
    }
    const __m512i w0 = _mm512_maskz_loadu_epi8(m0, b);
    const __m512i w1 = _mm512_maskz_loadu_epi16(m1, b + 64);
    const __m512i v = _mm512_permutex2var_epi16(w0, pm->qs, w1);
    const __m512i sv = _mm512_maskz_permutex2var_epi16(pm->sc_mask, w0, pm->sc, w1);
    *lo = _mm512_and_si512(v, m4);
    *hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
    if (fmt_five(f)) {
        const __m128i qh = _mm512_extracti32x4_epi32(sv, 1);
        const __m512i b4 = _mm512_set1_epi8(0x10);
        *lo = _mm512_mask_add_epi8(*lo, _cvtu64_mask64((uint64_t)_mm_cvtsi128_si64(qh)), *lo, b4);
        *hi = _mm512_mask_add_epi8(*hi, _cvtu64_mask64((uint64_t)_mm_extract_epi64(qh, 1)), *hi, b4);
    }
    *wd = _mm256_cvtph_ps(_mm512_castsi512_si128(sv));
}

/* The integer sums of a weight quad (codes lo, hi) against an activation quad (alo, ahi), less
 * the offset correction for the signed formats: sixteen int32 lanes, each the sum over four
 * byte positions of lo and the same four of hi. Two paths (kernels/x86/vnni.h): maddubs pairs in
 * int16 then madd with ones, or vpdpbusd (AVX512-VNNI) adding the four products of each 32-bit
 * lane in int32; the same integers (no int16 lane of the first overflows, bounds below), so the
 * same values bit for bit. The templates below take one as a parameter and are forced inline. */
typedef __m512i (*quad_isum_fn)(__m512i lo, __m512i hi, __m512i alo, __m512i ahi, __m512i corr, int sgn);
/* Q8_0's: |w| (unsigned) against a with w's sign, 32-bit lanes of four products. */
typedef __m512i (*pair_isum_fn)(__m512i av, __m512i an);

QINLINE __m512i quad_isum_base(__m512i lo, __m512i hi, __m512i alo, __m512i ahi, __m512i corr, int sgn)
{
    __m512i p = _mm512_add_epi16(_mm512_maddubs_epi16(lo, alo), _mm512_maddubs_epi16(hi, ahi));
    if (sgn)
        p = _mm512_sub_epi16(p, corr);
    return _mm512_madd_epi16(p, _mm512_set1_epi16(1));
}

QINLINE __m512i pair_isum_base(__m512i av, __m512i an)
{
    return _mm512_madd_epi16(_mm512_maddubs_epi16(av, an), _mm512_set1_epi16(1));
}

#ifdef FSK_HAVE_AVX512VNNI
QINLINE FSK_TARGET_VNNI512Z __m512i quad_isum_vnni(__m512i lo, __m512i hi, __m512i alo, __m512i ahi,
                                                   __m512i corr, int sgn)
{
    const __m512i s = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, alo), hi, ahi);
    return sgn ? _mm512_sub_epi32(s, _mm512_madd_epi16(corr, _mm512_set1_epi16(1))) : s;
}

QINLINE FSK_TARGET_VNNI512Z __m512i pair_isum_vnni(__m512i av, __m512i an)
{
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), av, an);
}
#endif

/* One row's quad of nbytes (4 blocks, or fewer for the last): acc += (d_w d_a) * isum per lane;
 * accm's odd lanes gather m * s. Every int16 fits: codes <= 31 give |pair| <= 2 * 31 * 127, two
 * pairs 15748; the corrected sum is the exact sum of four signed products, |.| <= 4 * 16 * 127. */
QINLINE void row_quad(enum fmt f, const unsigned char *b, size_t nbytes, const struct wperm *pm,
                      const struct aquad *a, __m512 *acc, __m256 *accm, quad_isum_fn qsum)
{
    __m512i lo, hi;
    __m256 wd;
    weight_quad(f, b, nbytes, pm, &lo, &hi, &wd);
    const __m512i isum = qsum(lo, hi, a->lo, a->hi, fmt_min(f) ? _mm512_setzero_si512() : a->corr, !fmt_min(f));
    const __m256 sc = _mm256_mul_ps(wd, a->ds);
    if (fmt_min(f))
        *accm = _mm256_add_ps(*accm, sc);
    const __m512 s16 = _mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6), _mm512_castps256_ps512(sc));
    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s16, *acc);
}

/* y[j] = row w[j] . x for nr rows (ROWS, or 1 for the last few). */
QINLINE void rows_32(enum fmt f, float *y, const unsigned char *const *w, int nr,
                     const unsigned char *x, const struct aquad *aq, size_t nb,
                     const struct wperm *pm, struct fsk_pf_plan pf, quad_isum_fn qsum)
{
    const size_t bb = 2 * (size_t)fmt_words(f);
    const size_t ab = fmt_min(f) ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    __m512 acc[ROWS];
    __m256 accm[ROWS];
    UNROLL for (int j = 0; j < nr; j++) {
        acc[j] = _mm512_setzero_ps();
        accm[j] = _mm256_setzero_ps();
    }
    size_t i = 0;
    for (; i + 4 <= nb; i += 4) {
        struct aquad a;
        if (aq)
            a = aq[i / 4];
        else
            act_quad(f, x + i * ab, &a);
        if (pf.dist)
            FSK_PF_STEP(w[0], pf, i / 4);
        UNROLL for (int j = 0; j < nr; j++)
            row_quad(f, w[j] + i * bb, 4 * bb, pm, &a, &acc[j], &accm[j], qsum);
    }
    if (i < nb) { /* a last partial quad, as if padded with zero blocks */
        struct aquad a;
        if (aq) {
            a = aq[i / 4];
        } else {
            unsigned char xa[4 * sizeof(fsk_block_q8_1)] = {0};
            memcpy(xa, x + i * ab, (nb - i) * ab);
            act_quad(f, xa, &a);
        }
        UNROLL for (int j = 0; j < nr; j++)
            row_quad(f, w[j] + i * bb, (nb - i) * bb, pm, &a, &acc[j], &accm[j], qsum);
    }
    UNROLL for (int j = 0; j < nr; j++) {
        float s = _mm512_reduce_add_ps(acc[j]);
        if (fmt_min(f)) {
            /* the odd lanes: m_k * s_k */
            __m128 m = _mm_add_ps(_mm256_castps256_ps128(accm[j]), _mm256_extractf128_ps(accm[j], 1));
            m = _mm_add_ps(m, _mm_movehl_ps(m, m));
            s += _mm_cvtss_f32(_mm_movehdup_ps(m));
        }
        y[j] = s;
    }
}

#define MV_QUADS 64 /* 256 blocks: 8192 columns; 14 KiB of stack */

QINLINE void matvec_32(enum fmt f, float *y, const void *w, size_t row_stride, const void *x,
                       size_t ncols, size_t r0, size_t r1, quad_isum_fn qsum)
{
    const size_t nb = ncols / FSK_QK;
    const struct wperm pm = {qs_index(f), scale_index(f), fmt_tail(f), scale_mask(f)};
    const struct fsk_pf_plan pf = fsk_pf_plan_make(ROWS, row_stride, nb / 4), none = {0, 0};
    /* The activation quads, shuffled once per call instead of once per pass of ROWS rows (rows of
     * up to MV_QUADS quads; longer ones shuffle as they go): the same values either way. */
    struct aquad aq_buf[MV_QUADS];
    const struct aquad *aq = NULL;
    const size_t nq = (nb + 3) / 4;
    if (nq <= MV_QUADS && r1 - r0 > ROWS) {
        const size_t ab = fmt_min(f) ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
        for (size_t q = 0; q < nq; q++) {
            const size_t i = 4 * q;
            if (i + 4 <= nb) {
                act_quad(f, (const unsigned char *)x + i * ab, &aq_buf[q]);
            } else { /* a last partial quad: zero blocks add exactly zero */
                unsigned char xa[4 * sizeof(fsk_block_q8_1)] = {0};
                memcpy(xa, (const unsigned char *)x + i * ab, (nb - i) * ab);
                act_quad(f, xa, &aq_buf[q]);
            }
        }
        aq = aq_buf;
    }
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const unsigned char *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = (const unsigned char *)w + (r + (size_t)j) * row_stride;
        rows_32(f, y + r, rows, ROWS, x, aq, nb, &pm, pf, qsum);
    }
    for (; r < r1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * row_stride;
        rows_32(f, y + r, &row, 1, x, aq, nb, &pm, none, qsum);
    }
}

/* Word indices that gather a pair of Q8_0 blocks' quants (words 1-16 and 18-33) into one vector. */
static inline __m512i q8_0_index(void)
{
    uint16_t idx[32];
    for (int k = 0; k < 16; k++) {
        idx[k] = (uint16_t)(1 + k);
        idx[16 + k] = (uint16_t)(18 + k);
    }
    return words_index(idx);
}

/* Q8_0: two blocks (68 bytes, 34 words: d then 16 words of quants each) per step, one per
 * 256-bit half. Signed times signed, so maddubs gets |w| and a negated where w < 0
 * (|pair| <= 2 * 128 * 127 fits int16 even for a -128 weight). */
/* The pair of blocks at b (68 bytes, all read): the quants as one vector, and [d_0, 0, d_1, 0]
 * in *wd. */
QINLINE __m512i pair_q8_0(const unsigned char *b, __m512i qidx, __m128 *wd)
{
    const __m512i w0 = _mm512_loadu_si512((const void *)b);
    const __m512i w1 = _mm512_maskz_loadu_epi16(0x3, b + 64);
    /* words 0 and 2: d of the two blocks (words 0 and 17 of the pair) */
    const __m128i dh = _mm512_castsi512_si128(_mm512_maskz_permutexvar_epi16(
        0x5, _mm512_setr_epi32(0, 17, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), w0));
    *wd = _mm_cvtph_ps(dh);
    return _mm512_permutex2var_epi16(w0, qidx, w1);
}

/* A row's pair from block i of nb; a last single block is read from a zero-filled copy. */
QINLINE __m512i pair_q8_0_at(const unsigned char *row, size_t i, size_t nb, __m512i qidx, __m128 *wd)
{
    const unsigned char *b = row + i * sizeof(fsk_block_q8_0);
    if (i + 2 <= nb)
        return pair_q8_0(b, qidx, wd);
    unsigned char wb[2 * sizeof(fsk_block_q8_0)] = {0};
    memcpy(wb, b, sizeof(fsk_block_q8_0));
    return pair_q8_0(wb, qidx, wd);
}

/* A token's pair of activation blocks from block i of nb; a last single block as a zero-filled
 * pair in xa. */
QINLINE const fsk_block_q8_0 *act_pair_q8_0(const fsk_block_q8_0 *a, size_t i, size_t nb,
                                            fsk_block_q8_0 xa[2])
{
    if (i + 2 <= nb)
        return a + i;
    memset(xa, 0, 2 * sizeof *xa);
    xa[0] = a[i];
    return xa;
}

QINLINE void row_q8_0(const unsigned char *b, size_t i, size_t nb, __m512i qidx, __m512i a, __m128 da,
                       __m512 *acc, pair_isum_fn psum)
{
    __m128 wd;
    const __m512i v = pair_q8_0_at(b, i, nb, qidx, &wd);
    const __m128 sc = _mm_mul_ps(wd, da);
    const __m512 s16 = _mm512_permutexvar_ps(
        _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2), _mm512_castps128_ps512(sc));
    const __m512i an = _mm512_mask_sub_epi8(a, _mm512_movepi8_mask(v), _mm512_setzero_si512(), a);
    *acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(psum(_mm512_abs_epi8(v), an)), s16, *acc);
}

/* The activation pair: both blocks' quants, and [d_0, 0, d_1, 0]. */
static inline __m512i act_q8_0(const fsk_block_q8_0 *a, __m128 *da)
{
    *da = _mm_cvtph_ps(_mm_setr_epi32(a[0].d, a[1].d, 0, 0));
    __m256i lo = _mm256_loadu_si256((const __m256i *)a[0].qs);
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), _mm256_loadu_si256((const __m256i *)a[1].qs), 1);
}

QINLINE void rows_q8_0(float *y, const unsigned char *const *w, int nr, const fsk_block_q8_0 *a,
                       size_t nb, __m512i qidx, struct fsk_pf_plan pf, pair_isum_fn psum)
{
    __m512 acc[ROWS];
    UNROLL for (int j = 0; j < nr; j++)
        acc[j] = _mm512_setzero_ps();
    for (size_t i = 0; i < nb; i += 2) {
        fsk_block_q8_0 xa[2];
        __m128 da;
        __m512i av = act_q8_0(act_pair_q8_0(a, i, nb, xa), &da);
        if (pf.dist)
            FSK_PF_STEP(w[0], pf, i / 2);
        UNROLL for (int j = 0; j < nr; j++)
            row_q8_0(w[j], i, nb, qidx, av, da, &acc[j], psum);
    }
    UNROLL for (int j = 0; j < nr; j++)
        y[j] = _mm512_reduce_add_ps(acc[j]);
}

QINLINE void matvec_q8_0(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                        size_t r0, size_t r1, pair_isum_fn psum)
{
    const size_t nb = ncols / FSK_QK;
    const __m512i qidx = q8_0_index();
    const struct fsk_pf_plan pf = fsk_pf_plan_make(ROWS, row_stride, nb / 2), none = {0, 0};
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const unsigned char *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = (const unsigned char *)w + (r + (size_t)j) * row_stride;
        rows_q8_0(y + r, rows, ROWS, x, nb, qidx, pf, psum);
    }
    for (; r < r1; r++) {
        const unsigned char *row = (const unsigned char *)w + r * row_stride;
        rows_q8_0(y + r, &row, 1, x, nb, qidx, none, psum);
    }
}

/* BF16 weights, float activations: a bf16 is the top half of a float, so widening is a shift.
 * A masked 16-bit load reads nothing past the end of a row. */
static inline __m512 load16_bf16(const uint16_t *p, __mmask16 m)
{
    __m512i v = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, p));
    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

/* The BF16 kernels' one body: y[t * ldy + j] = w[j] . x[t] for nr rows (four, or one) and nt
 * tokens, one accumulator per (row, token), columns in order, a masked tail, one reduction. The
 * matvec is its one-token case and the prefill matmul runs tiles of up to BF16_TOK tokens (four,
 * sixteen accumulators), so each matmul value is bit for bit the matvec's by construction; each
 * weight vector is widened once per tile. pf: the matvec's prefetch plan ({0, 0}: none). */
#define BF16_TOK 4

QINLINE void tile_bf16(float *y, size_t ldy, const uint16_t *const *w, int nr, const float *const *x,
                       int nt, size_t n, struct fsk_pf_plan pf)
{
    __m512 s[ROWS][BF16_TOK];
    UNROLL for (int j = 0; j < nr; j++)
        UNROLL for (int t = 0; t < nt; t++)
            s[j][t] = _mm512_setzero_ps();
    size_t i = 0;
    /* steps every 32 values for the prefetch: the full vectors at i % 32 == 0 */
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W) {
        __m512 xv[BF16_TOK];
        UNROLL for (int t = 0; t < nt; t++)
            xv[t] = _mm512_loadu_ps(x[t] + i);
        if (pf.dist && i % 32 == 0)
            FSK_PF_STEP(w[0], pf, i / 32);
        UNROLL for (int j = 0; j < nr; j++) {
            const __m512 wv = load16_bf16(w[j] + i, 0xffff);
            UNROLL for (int t = 0; t < nt; t++)
                s[j][t] = _mm512_fmadd_ps(wv, xv[t], s[j][t]);
        }
    }
    if (i < n) {
        const __mmask16 m = fsk_avx512_tail_mask(n - i);
        __m512 xv[BF16_TOK];
        UNROLL for (int t = 0; t < nt; t++)
            xv[t] = _mm512_maskz_loadu_ps(m, x[t] + i);
        UNROLL for (int j = 0; j < nr; j++) {
            const __m512 wv = load16_bf16(w[j] + i, m);
            UNROLL for (int t = 0; t < nt; t++)
                s[j][t] = _mm512_fmadd_ps(wv, xv[t], s[j][t]);
        }
    }
    UNROLL for (int j = 0; j < nr; j++)
        UNROLL for (int t = 0; t < nt; t++)
            y[(size_t)t * ldy + (size_t)j] = _mm512_reduce_add_ps(s[j][t]);
}

/* tile_bf16 for one row and one token (the same products, sums and reduction), fetching each
 * line of the row `ahead` bytes on as it goes. */
static float row_bf16_pf(const uint16_t *w, const float *x, size_t n, size_t ahead)
{
    __m512 s = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 2 * FSK_AVX512_W <= n; i += 2 * FSK_AVX512_W) {
        /* an integer address: past the end of the matrix a prefetch is harmless */
        _mm_prefetch((const char *)((uintptr_t)(w + i) + ahead), _MM_HINT_T0);
        s = _mm512_fmadd_ps(load16_bf16(w + i, 0xffff), _mm512_loadu_ps(x + i), s);
        s = _mm512_fmadd_ps(load16_bf16(w + i + FSK_AVX512_W, 0xffff), _mm512_loadu_ps(x + i + FSK_AVX512_W), s);
    }
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        s = _mm512_fmadd_ps(load16_bf16(w + i, 0xffff), _mm512_loadu_ps(x + i), s);
    if (i < n) {
        const __mmask16 m = fsk_avx512_tail_mask(n - i);
        s = _mm512_fmadd_ps(load16_bf16(w + i, m), _mm512_maskz_loadu_ps(m, x + i), s);
    }
    return _mm512_reduce_add_ps(s);
}

void fsk_matvec_bf16__avx512(float *y, const void *w, size_t row_stride, const void *x,
                             size_t ncols, size_t r0, size_t r1)
{
    const float *xf = x;
    const struct fsk_pf_plan none = {0, 0};
    const struct fsk_pf_plan pf = fsk_pf_plan_make(ROWS, row_stride, (ncols / FSK_AVX512_W + 1) / 2);
    size_t r = r0;
    /* Rows that follow each other in memory (every weight matrix) are read one after the other:
     * one ascending stream, which the hardware prefetchers follow, where four rows side by side
     * are four short streams (Zen 4, 49152x576, three runs: 15.9-22.7 GB/s side by side, 20.8-24.0
     * one by one at 1 thread; 27.9-30.0 and 32.2-32.9 at 2). Each row's operations are the same
     * either way. With 8-wide vectors (AVX2) one row's chain of FMAs is too slow alone. */
    if (row_stride == ncols * sizeof(uint16_t)) {
        /* each line fetched FSK_PF_AHEAD on as the row is read, where fsk_swpf says: the
         * prefetchers alone left this stream short on an Intel Xeon, as they did F16's */
        const int swpf = fsk_swpf();
        for (; r < r1; r++) {
            const uint16_t *row = (const uint16_t *)((const char *)w + r * row_stride);
            if (swpf)
                y[r] = row_bf16_pf(row, xf, ncols, FSK_PF_AHEAD);
            else
                tile_bf16(y + r, 0, &row, 1, &xf, 1, ncols, none);
        }
    }
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

void fsk_matmul_bf16__avx512(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
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
    __m128i v = _mm_loadu_si128((const __m128i *)(b + 2 * fmt_qs(f)));
    __m256i q = _mm256_inserti128_si256(_mm256_castsi128_si256(v), _mm_srli_epi16(v, 4), 1);
    q = _mm256_and_si256(q, _mm256_set1_epi8(0x0f));
    if (fmt_five(f)) {
        const __mmask32 h = _cvtu32_mask32(load_u32(b + 2 * fmt_qh(f)));
        q = _mm256_mask_add_epi8(q, h, q, _mm256_set1_epi8(0x10));
    }
    return q;
}

/* y[0..31] = d * (q - off) (+ m): the codes widened 16 at a time. */
static inline void scale_store(float *y, __m256i q, int off, float d, const float *m, int sign)
{
    const __m512 dv = _mm512_set1_ps(d);
    const __m512i ov = _mm512_set1_epi32(off);
    for (int k = 0; k < 2; k++) {
        __m128i b16 = k ? _mm256_extracti128_si256(q, 1) : _mm256_castsi256_si128(q);
        __m512i i32 = sign ? _mm512_cvtepi8_epi32(b16) : _mm512_cvtepu8_epi32(b16);
        __m512 v = _mm512_mul_ps(dv, _mm512_cvtepi32_ps(_mm512_sub_epi32(i32, ov)));
        if (m)
            v = _mm512_add_ps(v, _mm512_set1_ps(*m));
        _mm512_storeu_ps(y + 16 * k, v);
    }
}

QINLINE void dequant_32(enum fmt f, float *y, const void *x, size_t n)
{
    const unsigned char *b = x;
    const size_t bb = 2 * (size_t)fmt_words(f);
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

void fsk_dequantize_q4_0__avx512(float *y, const void *x, size_t n)
{
    dequant_32(F_Q4_0, y, x, n);
}

void fsk_dequantize_q4_1__avx512(float *y, const void *x, size_t n)
{
    dequant_32(F_Q4_1, y, x, n);
}

void fsk_dequantize_q5_0__avx512(float *y, const void *x, size_t n)
{
    dequant_32(F_Q5_0, y, x, n);
}

void fsk_dequantize_q5_1__avx512(float *y, const void *x, size_t n)
{
    dequant_32(F_Q5_1, y, x, n);
}

void fsk_dequantize_q8_0__avx512(float *y, const void *x, size_t n)
{
    const fsk_block_q8_0 *b = x;
    for (size_t i = 0; i < n / FSK_QK; i++) {
        __m256i q = _mm256_loadu_si256((const __m256i *)b[i].qs);
        scale_store(y + i * FSK_QK, q, 0, half_f32(b[i].d), NULL, 1);
    }
}

/* Widening 16-bit values 16 at a time; the last n % 16 through masked loads and stores. */
void fsk_dequantize_bf16__avx512(float *y, const void *x, size_t n)
{
    const uint16_t *h = x;
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        _mm512_storeu_ps(y + i, load16_bf16(h + i, 0xffff));
    if (i < n) {
        const __mmask16 m = fsk_avx512_tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, load16_bf16(h + i, m));
    }
}

void fsk_dequantize_f16__avx512(float *y, const void *x, size_t n)
{
    const uint16_t *h = x;
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        _mm512_storeu_ps(y + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i))));
    if (i < n) {
        const __mmask16 m = fsk_avx512_tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, h + i)));
    }
}
void fsk_round_f16_f32__avx512(float *x, size_t n)
{
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W) {
        const __m256i h = _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm512_storeu_ps(x + i, _mm512_cvtph_ps(h));
    }
    if (i < n) {
        const __mmask16 m = fsk_avx512_tail_mask(n - i);
        const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm512_mask_storeu_ps(x + i, m, _mm512_cvtph_ps(h));
    }
}

void fsk_cvt_f16_f32__avx512(void *y, const float *x, size_t n)
{
    uint16_t *h = y;
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        _mm256_storeu_si256((__m256i *)(h + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT));
    if (i < n) {
        const __mmask16 m = fsk_avx512_tail_mask(n - i);
        _mm256_mask_storeu_epi16(h + i, m,
                                 _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT));
    }
}

/* ------------------------------------------------------------------ matmul (prefill)
 * Tokens go in blocks of MM_TOK: a block's activation quads (pairs for Q8_0) are shuffled once
 * into a stack buffer, then every row of the range runs against the block, each weight quad
 * unpacked once per block. For every (row, token) the operations are those of rows_32 and
 * rows_q8_0 above, in the same order, so each value is bit for bit the matvec's; the scale
 * products of two tokens share one multiply twice as wide, lane by lane the matvec's. */
#define MM_TOK 4
#define MM_BUF 1024 /* 64-byte units of shuffled activations on the stack (64 KiB) */

/* Buffer units per quad for nt tokens: lo[nt], hi[nt], corr[nt] (signed formats), then the
 * [d, s] x 4 floats of two tokens per unit. */
static inline size_t mm_units(enum fmt f, int nt)
{
    return (size_t)nt * (fmt_min(f) ? 2 : 3) + (size_t)(nt + 1) / 2;
}

static inline __m512 mm_two_ps(__m256 a, __m256 b)
{
    return _mm512_insertf32x8(_mm512_castps256_ps512(a), b, 1);
}

QINLINE void mm_shuffle(enum fmt f, __m512i *buf, const unsigned char *const *x, int nt, size_t nb)
{
    const size_t ab = fmt_min(f) ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    const size_t u = mm_units(f, nt);
    for (size_t i = 0, p = 0; i < nb; i += 4, p++) {
        __m512i *e = buf + p * u;
        __m256 ds[MM_TOK];
        for (int t = 0; t < nt; t++) {
            struct aquad a;
            if (i + 4 <= nb) {
                act_quad(f, x[t] + i * ab, &a);
            } else { /* rows_32's zero-filled last quad */
                unsigned char xa[4 * sizeof(fsk_block_q8_1)] = {0};
                memcpy(xa, x[t] + i * ab, (nb - i) * ab);
                act_quad(f, xa, &a);
            }
            _mm512_store_si512((void *)(e + t), a.lo);
            _mm512_store_si512((void *)(e + nt + t), a.hi);
            if (!fmt_min(f))
                _mm512_store_si512((void *)(e + 2 * nt + t), a.corr);
            ds[t] = a.ds;
        }
        __m512 *d = (__m512 *)(e + (fmt_min(f) ? 2 : 3) * nt);
        for (int t = 0; t < nt; t += 2)
            _mm512_store_ps((void *)(d + t / 2),
                            mm_two_ps(ds[t], t + 1 < nt ? ds[t + 1] : _mm256_setzero_ps()));
    }
}

QINLINE void mm_row_32(enum fmt f, float *y, size_t ldy, const unsigned char *w, const __m512i *buf,
                       int nt, size_t nb, const struct wperm *pm, quad_isum_fn qsum)
{
    const size_t bb = 2 * (size_t)fmt_words(f), u = mm_units(f, nt);
    const __m512i lanes_a = _mm512_setr_epi32(0, 0, 0, 0, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6);
    const __m512i lanes_b = _mm512_add_epi32(lanes_a, _mm512_set1_epi32(8));
    __m512 acc[MM_TOK], accm[(MM_TOK + 1) / 2];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm512_setzero_ps();
    UNROLL for (int q = 0; q < (nt + 1) / 2; q++)
        accm[q] = _mm512_setzero_ps();
    for (size_t i = 0, p = 0; i < nb; i += 4, p++) {
        __m512i lo, hi;
        __m256 wd;
        weight_quad(f, w + i * bb, (nb - i < 4 ? nb - i : 4) * bb, pm, &lo, &hi, &wd);
        const __m512i *e = buf + p * u;
        const __m512 *d = (const __m512 *)(e + (fmt_min(f) ? 2 : 3) * nt);
        const __m512 wd2 = mm_two_ps(wd, wd);
        UNROLL for (int q = 0; q < (nt + 1) / 2; q++) {
            const __m512 sc = _mm512_mul_ps(wd2, d[q]);
            if (fmt_min(f))
                accm[q] = _mm512_add_ps(accm[q], sc);
            UNROLL for (int h = 0; h < 2; h++) {
                const int t = 2 * q + h;
                if (t >= nt)
                    break;
                const __m512i isum = qsum(lo, hi, e[t], e[nt + t],
                                          fmt_min(f) ? _mm512_setzero_si512() : e[2 * nt + t], !fmt_min(f));
                const __m512 s16 = _mm512_permutexvar_ps(h ? lanes_b : lanes_a, sc);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s16, acc[t]);
            }
        }
    }
    UNROLL for (int t = 0; t < nt; t++) {
        float s = _mm512_reduce_add_ps(acc[t]);
        if (fmt_min(f)) {
            const __m256 a = t & 1 ? _mm512_extractf32x8_ps(accm[t / 2], 1)
                                   : _mm512_castps512_ps256(accm[t / 2]);
            __m128 m = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
            m = _mm_add_ps(m, _mm_movehl_ps(m, m));
            s += _mm_cvtss_f32(_mm_movehdup_ps(m));
        }
        y[(size_t)t * ldy] = s;
    }
}

QINLINE void mm_block_32(enum fmt f, __m512i *buf, float *y, size_t ldy, const unsigned char *w,
                         size_t row_stride, const unsigned char *x, size_t x_stride, int nt,
                         size_t nb, size_t r0, size_t r1, const struct wperm *pm, quad_isum_fn qsum)
{
    const unsigned char *xs[MM_TOK];
    for (int t = 0; t < nt; t++)
        xs[t] = x + (size_t)t * x_stride;
    mm_shuffle(f, buf, xs, nt, nb);
    for (size_t r = r0; r < r1; r++)
        mm_row_32(f, y + r, ldy, w + r * row_stride, buf, nt, nb, pm, qsum);
}

QINLINE void matmul_32(enum fmt f, float *y, size_t ldy, const void *w, size_t row_stride,
                       const void *x, size_t x_stride, size_t ncols, size_t ntok, size_t r0,
                       size_t r1, quad_isum_fn qsum)
{
    const size_t nb = ncols / FSK_QK, nq = (nb + 3) / 4;
    const struct wperm pm = {qs_index(f), scale_index(f), fmt_tail(f), scale_mask(f)};
    const unsigned char *xb = x;
    __m512i buf[MM_BUF];
    size_t k = 0;
    if (nq * mm_units(f, MM_TOK) <= MM_BUF)
        for (; k + MM_TOK <= ntok; k += MM_TOK)
            mm_block_32(f, buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride,
                        MM_TOK, nb, r0, r1, &pm, qsum);
    if (nq * mm_units(f, 1) <= MM_BUF) {
        for (; k < ntok; k++)
            mm_block_32(f, buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, 1,
                        nb, r0, r1, &pm, qsum);
    } else { /* rows too long for the buffer: the matvec itself, token by token */
        for (; k < ntok; k++)
            matvec_32(f, y + k * ldy, w, row_stride, xb + k * x_stride, ncols, r0, r1, qsum);
    }
}

/* Q8_0: per pair of blocks, the activation quants (act_q8_0, or its zero-filled last pair) and
 * [d_0, 0, d_1, 0] of two tokens per 256 bits; per (row, token) row_q8_0's operations. */
QINLINE void mm_row_q8_0(float *y, size_t ldy, const unsigned char *w, const __m512i *buf, int nt,
                         size_t nb, __m512i qidx, pair_isum_fn psum)
{
    const size_t u = (size_t)nt + (size_t)(nt + 1) / 2;
    const __m512i lanes_a = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
    const __m512i lanes_b = _mm512_add_epi32(lanes_a, _mm512_set1_epi32(4));
    __m512 acc[MM_TOK];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm512_setzero_ps();
    for (size_t i = 0, p = 0; i < nb; i += 2, p++) {
        __m128 wd;
        const __m512i v = pair_q8_0_at(w, i, nb, qidx, &wd);
        const __m256 wd2 = _mm256_set_m128(wd, wd);
        const __mmask64 neg = _mm512_movepi8_mask(v);
        const __m512i av = _mm512_abs_epi8(v);
        const __m512i *e = buf + p * u;
        UNROLL for (int q = 0; q < (nt + 1) / 2; q++) {
            const __m256 sc = _mm256_mul_ps(wd2, _mm512_castps512_ps256(_mm512_castsi512_ps(e[nt + q])));
            UNROLL for (int h = 0; h < 2; h++) {
                const int t = 2 * q + h;
                if (t >= nt)
                    break;
                const __m512 s16 = _mm512_permutexvar_ps(h ? lanes_b : lanes_a, _mm512_castps256_ps512(sc));
                const __m512i an = _mm512_mask_sub_epi8(e[t], neg, _mm512_setzero_si512(), e[t]);
                acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(psum(av, an)), s16, acc[t]);
            }
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        y[(size_t)t * ldy] = _mm512_reduce_add_ps(acc[t]);
}

QINLINE void mm_block_q8_0(__m512i *buf, float *y, size_t ldy, const unsigned char *w,
                           size_t row_stride, const unsigned char *x, size_t x_stride, int nt,
                           size_t nb, size_t r0, size_t r1, __m512i qidx, pair_isum_fn psum)
{
    const size_t u = (size_t)nt + (size_t)(nt + 1) / 2;
    for (size_t i = 0, p = 0; i < nb; i += 2, p++) {
        __m512i *e = buf + p * u;
        __m128 da[MM_TOK];
        for (int t = 0; t < nt; t++) {
            fsk_block_q8_0 xa[2];
            const fsk_block_q8_0 *a = act_pair_q8_0((const fsk_block_q8_0 *)(x + (size_t)t * x_stride), i, nb, xa);
            e[t] = act_q8_0(a, &da[t]);
        }
        for (int t = 0; t < nt; t += 2) {
            __m256 d2 = _mm256_set_m128(t + 1 < nt ? da[t + 1] : _mm_setzero_ps(), da[t]);
            e[nt + t / 2] = _mm512_castps_si512(_mm512_castps256_ps512(d2));
        }
    }
    for (size_t r = r0; r < r1; r++)
        mm_row_q8_0(y + r, ldy, w + r * row_stride, buf, nt, nb, qidx, psum);
}

QINLINE void matmul_q8_0(float *y, size_t ldy, const void *w, size_t row_stride, const void *x,
                        size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1,
                        pair_isum_fn psum)
{
    const size_t nb = ncols / FSK_QK, np = (nb + 1) / 2;
    const __m512i qidx = q8_0_index();
    const unsigned char *xb = x;
    __m512i buf[MM_BUF];
    size_t k = 0;
    if (np * (MM_TOK + MM_TOK / 2) <= MM_BUF)
        for (; k + MM_TOK <= ntok; k += MM_TOK)
            mm_block_q8_0(buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride,
                          MM_TOK, nb, r0, r1, qidx, psum);
    if (np * 2 <= MM_BUF) {
        for (; k < ntok; k++)
            mm_block_q8_0(buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, 1,
                          nb, r0, r1, qidx, psum);
    } else { /* rows too long for the buffer: the matvec itself, token by token */
        for (; k < ntok; k++)
            matvec_q8_0(y + k * ldy, w, row_stride, xb + k * x_stride, ncols, r0, r1, psum);
    }
}

#ifdef FSK_HAVE_AVX512VNNI
/* Q8_0 on VNNI: signed times signed without the sign juggling. Each activation quant goes in as
 * a + 128 (a xor 0x80, unsigned), and the accumulator starts at -128 * (the lane's four weights),
 * so vpdpbusd leaves exactly the lane's sum of a * w, the integer pair_isum gives: the same
 * int32 per lane, then row_q8_0's float operations in its order (the scale product is formed
 * from the same two floats, broadcast the other way round), so every value is bit for bit the
 * matvec's. Per (row, token, pair of blocks): a multiply, vpdpbusd, a convert and an FMA; the
 * weights' sign work and the correction are done once per row for MM_TOK8 tokens; a last block
 * of fewer tokens takes matmul_q8_0. */
#define MM_TOK8 8

QINLINE FSK_TARGET_VNNI512Z void mm_row_q8_0_off(float *y, size_t ldy, const unsigned char *w,
                                                 const __m512i *buf, int nt, size_t nb, __m512i qidx)
{
    const size_t u = 2 * (size_t)nt;
    const __m512i lanes = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    __m512 acc[MM_TOK8];
    UNROLL for (int t = 0; t < nt; t++)
        acc[t] = _mm512_setzero_ps();
    for (size_t i = 0, p = 0; i < nb; i += 2, p++) {
        __m128 wd;
        const __m512i v = pair_q8_0_at(w, i, nb, qidx, &wd);
        const __m512 wd16 = _mm512_permutexvar_ps(lanes, _mm512_castps128_ps512(wd));
        const __m512i init = _mm512_sub_epi32(_mm512_setzero_si512(),
                                              _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, v));
        const __m512i *e = buf + p * u;
        UNROLL for (int t = 0; t < nt; t++) {
            const __m512 s16 = _mm512_mul_ps(wd16, _mm512_castsi512_ps(e[nt + t]));
            const __m512i isum = _mm512_dpbusd_epi32(init, e[t], v);
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s16, acc[t]);
        }
    }
    UNROLL for (int t = 0; t < nt; t++)
        y[(size_t)t * ldy] = _mm512_reduce_add_ps(acc[t]);
}

/* Per pair of blocks: nt units of offset quants, then nt units of [d_0 x 8, d_1 x 8]. */
QINLINE FSK_TARGET_VNNI512Z void mm_block_q8_0_off(__m512i *buf, float *y, size_t ldy,
                                                   const unsigned char *w, size_t row_stride,
                                                   const unsigned char *x, size_t x_stride, int nt,
                                                   size_t nb, size_t r0, size_t r1, __m512i qidx)
{
    const size_t u = 2 * (size_t)nt;
    const __m512i lanes = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 2, 2, 2, 2, 2, 2, 2, 2);
    for (size_t i = 0, p = 0; i < nb; i += 2, p++) {
        __m512i *e = buf + p * u;
        for (int t = 0; t < nt; t++) {
            fsk_block_q8_0 xa[2];
            const fsk_block_q8_0 *a = act_pair_q8_0((const fsk_block_q8_0 *)(x + (size_t)t * x_stride), i, nb, xa);
            __m128 da;
            e[t] = _mm512_xor_si512(act_q8_0(a, &da), _mm512_set1_epi8((char)0x80));
            e[nt + t] = _mm512_castps_si512(_mm512_permutexvar_ps(lanes, _mm512_castps128_ps512(da)));
        }
    }
    for (size_t r = r0; r < r1; r++)
        mm_row_q8_0_off(y + r, ldy, w + r * row_stride, buf, nt, nb, qidx);
}

QINLINE FSK_TARGET_VNNI512Z void matmul_q8_0_vnni(float *y, size_t ldy, const void *w, size_t row_stride,
                                                  const void *x, size_t x_stride, size_t ncols,
                                                  size_t ntok, size_t r0, size_t r1)
{
    const size_t nb = ncols / FSK_QK, np = (nb + 1) / 2;
    const __m512i qidx = q8_0_index();
    const unsigned char *xb = x;
    __m512i buf[MM_BUF];
    if (np * 2 * MM_TOK8 > MM_BUF) { /* rows too long for the buffer */
        matmul_q8_0(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, pair_isum_vnni);
        return;
    }
    size_t k = 0;
    for (; k + MM_TOK8 <= ntok; k += MM_TOK8)
        mm_block_q8_0_off(buf, y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, MM_TOK8, nb,
                          r0, r1, qidx);
    if (k < ntok) /* the last few tokens the other way: the same values */
        matmul_q8_0(y + k * ldy, ldy, w, row_stride, xb + k * x_stride, x_stride, ncols, ntok - k, r0, r1,
                    pair_isum_vnni);
}
#endif

/* ------------------------------------------------------------------ the two paths
 * Each integer kernel above, once with maddubs and once with vpdpbusd (where the compiler has
 * AVX512-VNNI); the exported op takes the second where the CPU has it (kernels/x86/vnni.h). */
#define PATH_FN(name, attr, params, body) attr void name params { body; }
#ifdef FSK_HAVE_AVX512VNNI
#define VNNI_FN(name, params, body) PATH_FN(name, FSK_TARGET_VNNI512Z, params, body)
#else
#define VNNI_FN(name, params, body)
#endif
#define PATHS_32(t, F)                                                                             \
    PATH_FN(fsk_matvec_##t##__avx512_base, , FSK_MV_PARAMS,                                        \
            matvec_32(F, y, w, row_stride, x, ncols, r0, r1, quad_isum_base))                      \
    PATH_FN(fsk_matmul_##t##__avx512_base, , FSK_MM_PARAMS,                                        \
            matmul_32(F, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, quad_isum_base)) \
    VNNI_FN(fsk_matvec_##t##__avx512_vnni, FSK_MV_PARAMS,                                          \
            matvec_32(F, y, w, row_stride, x, ncols, r0, r1, quad_isum_vnni))                      \
    VNNI_FN(fsk_matmul_##t##__avx512_vnni, FSK_MM_PARAMS,                                          \
            matmul_32(F, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, quad_isum_vnni)) \
    FSK_AVX512_DISPATCH_TYPE(t)

PATHS_32(q4_0, F_Q4_0)
PATHS_32(q4_1, F_Q4_1)
PATHS_32(q5_0, F_Q5_0)
PATHS_32(q5_1, F_Q5_1)
PATH_FN(fsk_matvec_q8_0__avx512_base, , FSK_MV_PARAMS, matvec_q8_0(y, w, row_stride, x, ncols, r0, r1, pair_isum_base))
PATH_FN(fsk_matmul_q8_0__avx512_base, , FSK_MM_PARAMS,
        matmul_q8_0(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1, pair_isum_base))
VNNI_FN(fsk_matvec_q8_0__avx512_vnni, FSK_MV_PARAMS, matvec_q8_0(y, w, row_stride, x, ncols, r0, r1, pair_isum_vnni))
VNNI_FN(fsk_matmul_q8_0__avx512_vnni, FSK_MM_PARAMS,
        matmul_q8_0_vnni(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1))
FSK_AVX512_DISPATCH_TYPE(q8_0)

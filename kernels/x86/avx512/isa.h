/* isa.h (avx512): the AVX-512 F/BW/DQ/VL guard and the small vector helpers every AVX-512 kernel file shares. */
#ifndef FSK_X86_AVX512_ISA_H
#define FSK_X86_AVX512_ISA_H

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || !defined(__AVX512DQ__) || \
    !defined(__AVX512VL__)
#error "AVX-512 kernels must be built with -mavx512f -mavx512bw -mavx512dq -mavx512vl (AVX512_CFLAGS)"
#endif

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "unroll.h"

/* 16 floats per vector. */
#define FSK_AVX512_W 16

/* A mask whose first k lanes are set (0 <= k <= 16), for masked tails: masked-off lanes are
 * neither read nor written (no fault past n) and read as zero with the maskz forms. */
static inline __mmask16 fsk_avx512_tail_mask(size_t k)
{
    return (__mmask16)((1u << k) - 1u);
}

/* Sixteen halves as floats: eight at p (lanes 0-7) and eight at q (lanes 8-15), such as two
 * eight-row records' scales. */
static inline __m512 fsk_avx512_halves16(const void *p, const void *q)
{
    const __m256i h = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)p)),
                                              _mm_loadu_si128((const __m128i *)q), 1);
    return _mm512_cvtph_ps(h);
}

/* The sum of v's lanes by one fixed tree: t8[j] = v[j] + v[j + 8], t4[j] = t8[j] + t8[j + 4],
 * t2[j] = t4[j] + t4[j + 2], then t2[0] + t2[1] (spelled out, not _mm512_reduce_add_ps, whose
 * order is the compiler's: fsk_avx512_hsum16_ps below repeats this tree for 16 vectors at once). */
static inline float fsk_avx512_hsum_ps(__m512 v)
{
    const __m256 t8 = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    const __m128 t4 = _mm_add_ps(_mm256_castps256_ps128(t8), _mm256_extractf128_ps(t8, 1));
    const __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_movehdup_ps(t2)));
}

/* y[j] = fsk_avx512_hsum_ps(v[j]) for j < 16, bit for bit (the same additions, four vectors'
 * worth at each level instead of one per lane, and a fraction of the shuffles). */
__attribute__((always_inline)) static inline void fsk_avx512_hsum16_ps(float *y, const __m512 v[16])
{
    __m512 b[8], c[4], d[2];
    FSK_UNROLL for (int k = 0; k < 8; k++) /* rows 2k, 2k+1: t8 of each in a half */
        b[k] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0x44),
                             _mm512_shuffle_f32x4(v[2 * k], v[2 * k + 1], 0xee));
    FSK_UNROLL for (int m = 0; m < 4; m++) /* rows 4m..4m+3: t4 of each in a quarter */
        c[m] = _mm512_add_ps(_mm512_shuffle_f32x4(b[2 * m], b[2 * m + 1], 0x88),
                             _mm512_shuffle_f32x4(b[2 * m], b[2 * m + 1], 0xdd));
    FSK_UNROLL for (int n = 0; n < 2; n++) { /* quarter q: t2 of rows 8n + q, 8n + 4 + q */
        const __m512d lo = _mm512_unpacklo_pd(_mm512_castps_pd(c[2 * n]), _mm512_castps_pd(c[2 * n + 1]));
        const __m512d hi = _mm512_unpackhi_pd(_mm512_castps_pd(c[2 * n]), _mm512_castps_pd(c[2 * n + 1]));
        d[n] = _mm512_add_ps(_mm512_castpd_ps(lo), _mm512_castpd_ps(hi)); /* pd: moves only */
    }
    /* lane 4q + k: row 4k + q */
    const __m512 e = _mm512_add_ps(_mm512_shuffle_ps(d[0], d[1], 0x88), _mm512_shuffle_ps(d[0], d[1], 0xdd));
    const __m512i to_rows = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    _mm512_storeu_ps(y, _mm512_permutexvar_ps(to_rows, e));
}

static inline double fsk_avx512_hsum_pd(__m512d v)
{
    return _mm512_reduce_add_pd(v);
}

/* The low and high eight floats of v widened to double: a float product is exact in double, so
 * sums that ref keeps in double are kept in double here too. */
static inline __m512d fsk_avx512_lo_pd(__m512 v)
{
    return _mm512_cvtps_pd(_mm512_castps512_ps256(v));
}

static inline __m512d fsk_avx512_hi_pd(__m512 v)
{
    return _mm512_cvtps_pd(_mm512_extractf32x8_ps(v, 1));
}

#endif

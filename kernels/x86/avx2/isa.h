/* isa.h (avx2): the AVX2+FMA+F16C guard and the small vector helpers every AVX2 kernel file shares. */
#ifndef FSK_X86_AVX2_ISA_H
#define FSK_X86_AVX2_ISA_H

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "AVX2 kernels must be built with -mavx2 -mfma -mf16c (AVX2_CFLAGS)"
#endif

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

#include "unroll.h"

/* 8 floats per vector. */
#define FSK_AVX2_W 8

/* A mask whose first k lanes are set (0 <= k <= 8), for maskload/maskstore tails: masked-off
 * lanes are neither read nor written, so a tail never touches memory past n. */
static inline __m256i fsk_avx2_tail_mask(size_t k)
{
    static const int32_t bits[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    return _mm256_loadu_si256((const __m256i *)(bits + 8 - k));
}

static inline float fsk_avx2_hsum_ps(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* y[j] = fsk_avx2_hsum_ps(v[j]) for j < 8, bit for bit: the same additions (t4[j] = v[j] + v[j + 4],
 * t2[j] = t4[j] + t4[j + 2], t2[0] + t2[1]), two vectors' worth at each level. */
__attribute__((always_inline)) static inline void fsk_avx2_hsum8_ps(float *y, const __m256 v[8])
{
    __m256 b[4], c[2];
    FSK_UNROLL for (int k = 0; k < 4; k++) /* rows 2k, 2k+1: t4 of each in a half */
        b[k] = _mm256_add_ps(_mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x20),
                             _mm256_permute2f128_ps(v[2 * k], v[2 * k + 1], 0x31));
    FSK_UNROLL for (int m = 0; m < 2; m++) { /* half h: t2 of rows 4m + h, 4m + 2 + h */
        const __m256d lo = _mm256_unpacklo_pd(_mm256_castps_pd(b[2 * m]), _mm256_castps_pd(b[2 * m + 1]));
        const __m256d hi = _mm256_unpackhi_pd(_mm256_castps_pd(b[2 * m]), _mm256_castps_pd(b[2 * m + 1]));
        c[m] = _mm256_add_ps(_mm256_castpd_ps(lo), _mm256_castpd_ps(hi)); /* pd: moves only */
    }
    /* lane 4h + k: row 2k + h */
    const __m256 e = _mm256_add_ps(_mm256_shuffle_ps(c[0], c[1], 0x88), _mm256_shuffle_ps(c[0], c[1], 0xdd));
    _mm256_storeu_ps(y, _mm256_permutevar8x32_ps(e, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
}

static inline double fsk_avx2_hsum_pd(__m256d v)
{
    __m128d s = _mm_add_pd(_mm256_castpd256_pd128(v), _mm256_extractf128_pd(v, 1));
    s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
    return _mm_cvtsd_f64(s);
}

/* The low and high four floats of v widened to double: a float product is exact in double, so
 * sums that ref keeps in double are kept in double here too. */
static inline __m256d fsk_avx2_lo_pd(__m256 v)
{
    return _mm256_cvtps_pd(_mm256_castps256_ps128(v));
}

static inline __m256d fsk_avx2_hi_pd(__m256 v)
{
    return _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
}

#endif

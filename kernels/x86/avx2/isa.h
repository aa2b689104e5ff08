/* isa.h (avx2): the AVX2+FMA+F16C guard and the small vector helpers every AVX2 kernel file shares. */
#ifndef FSK_X86_AVX2_ISA_H
#define FSK_X86_AVX2_ISA_H

#if !defined(__AVX2__) || !defined(__FMA__) || !defined(__F16C__)
#error "AVX2 kernels must be built with -mavx2 -mfma -mf16c (AVX2_CFLAGS)"
#endif

#include <immintrin.h>
#include <stddef.h>
#include <stdint.h>

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

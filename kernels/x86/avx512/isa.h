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

/* 16 floats per vector. */
#define FSK_AVX512_W 16

/* A mask whose first k lanes are set (0 <= k <= 16), for masked tails: masked-off lanes are
 * neither read nor written (no fault past n) and read as zero with the maskz forms. */
static inline __mmask16 fsk_avx512_tail_mask(size_t k)
{
    return (__mmask16)((1u << k) - 1u);
}

static inline float fsk_avx512_hsum_ps(__m512 v)
{
    return _mm512_reduce_add_ps(v);
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

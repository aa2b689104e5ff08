/* q4k_r8.h (x86): helpers of the Q4_K eight-row records (FSK_TYPE_Q4_K_R8, kernels/quant.h)
 * shared by the AVX2 kernels and the AMX-INT8 ones: the scales' and mins' unpacking, and the
 * activation's sub-block sums. AVX2 instructions; the files including it are built for AVX2 or
 * above. */
#ifndef FSK_X86_Q4K_R8_H
#define FSK_X86_Q4K_R8_H

#include <immintrin.h>
#include <stdint.h>

#include "quant.h"

/* The record's 128 six-bit numbers, u[] of kernels/quant.h, into 128 bytes. */
static inline void fsk_k8_unpack(const uint8_t *sm, uint8_t *u)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    const __m256i l0 = _mm256_loadu_si256((const __m256i *)(const void *)sm);
    const __m256i l1 = _mm256_loadu_si256((const __m256i *)(const void *)(sm + 32));
    const __m256i h = _mm256_loadu_si256((const __m256i *)(const void *)(sm + 64));
    /* each masked before its shift, so no bit crosses into the next byte */
    const __m256i t0 = _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(0x03)), 4);
    const __m256i t1 = _mm256_slli_epi16(_mm256_and_si256(h, _mm256_set1_epi8(0x0c)), 2);
    const __m256i t2 = _mm256_and_si256(h, _mm256_set1_epi8(0x30));
    const __m256i t3 = _mm256_srli_epi16(_mm256_and_si256(h, _mm256_set1_epi8((char)0xc0)), 2);
    _mm256_storeu_si256((__m256i *)(void *)u, _mm256_or_si256(_mm256_and_si256(l0, m4), t0));
    _mm256_storeu_si256((__m256i *)(void *)(u + 32), _mm256_or_si256(_mm256_and_si256(l1, m4), t1));
    _mm256_storeu_si256((__m256i *)(void *)(u + 64),
                        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), t2));
    _mm256_storeu_si256((__m256i *)(void *)(u + 96),
                        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4), t3));
}

/* The activation's sub-block sums of one Q8_K block as int16 pairs: lane p holds bsum_2p and
 * bsum_2p+1 (each |.| <= 32 * 127). */
static inline void fsk_k8_bsum_pairs(const fsk_block_q8_K *a, int32_t bp[4])
{
    const __m128i lo = _mm_loadu_si128((const __m128i *)(const void *)a->bsums);
    const __m128i hi = _mm_loadu_si128((const __m128i *)(const void *)(a->bsums + 8));
    _mm_storeu_si128((__m128i *)(void *)bp, _mm_hadd_epi16(lo, hi));
}

#endif

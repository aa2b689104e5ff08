/* vec.c (avx2): dot product, cosine similarity, add and scaled add, 8 floats at a time with masked tails. */
#include <math.h>

#include "isa.h"
#include "kernels.h"

float fsk_dot_f32__avx2(const float *a, const float *b, size_t n)
{
    /* four independent chains hide the FMA latency; float sums as ref does */
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 4 * FSK_AVX2_W <= n; i += 4 * FSK_AVX2_W) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    if (i < n) {
        __m256i m = fsk_avx2_tail_mask(n - i);
        s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s1);
    }
    return fsk_avx2_hsum_ps(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
}

/* The three sums of cosine over 8 floats, in double like ref: the skip test compares cosines
 * close to 1, where float sums would lose the digits that matter. */
static inline void cosine_step(__m256 a, __m256 b, __m256d s[6])
{
    __m256d al = fsk_avx2_lo_pd(a), ah = fsk_avx2_hi_pd(a);
    __m256d bl = fsk_avx2_lo_pd(b), bh = fsk_avx2_hi_pd(b);
    s[0] = _mm256_fmadd_pd(al, bl, s[0]);
    s[1] = _mm256_fmadd_pd(ah, bh, s[1]);
    s[2] = _mm256_fmadd_pd(al, al, s[2]);
    s[3] = _mm256_fmadd_pd(ah, ah, s[3]);
    s[4] = _mm256_fmadd_pd(bl, bl, s[4]);
    s[5] = _mm256_fmadd_pd(bh, bh, s[5]);
}

float fsk_cosine_f32__avx2(const float *a, const float *b, size_t n)
{
    __m256d s[6];
    for (int k = 0; k < 6; k++)
        s[k] = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        cosine_step(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s);
    if (i < n) {
        __m256i m = fsk_avx2_tail_mask(n - i);
        cosine_step(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m), s);
    }
    double ab = fsk_avx2_hsum_pd(_mm256_add_pd(s[0], s[1]));
    double aa = fsk_avx2_hsum_pd(_mm256_add_pd(s[2], s[3]));
    double bb = fsk_avx2_hsum_pd(_mm256_add_pd(s[4], s[5]));
    if (aa == 0.0 || bb == 0.0)
        return 0.0f; /* as ref: a zero vector has no direction */
    return (float)(ab / sqrt(aa * bb));
}

void fsk_add_f32__avx2(float *y, const float *a, const float *b, size_t n)
{
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
    if (i < n) {
        __m256i m = fsk_avx2_tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m,
                            _mm256_add_ps(_mm256_maskload_ps(a + i, m), _mm256_maskload_ps(b + i, m)));
    }
}

void fsk_axpy_f32__avx2(float *y, float alpha, const float *x, size_t n)
{
    __m256 va = _mm256_set1_ps(alpha);
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
    if (i < n) {
        __m256i m = fsk_avx2_tail_mask(n - i);
        _mm256_maskstore_ps(y + i, m,
                            _mm256_fmadd_ps(va, _mm256_maskload_ps(x + i, m), _mm256_maskload_ps(y + i, m)));
    }
}

void fsk_scale_f32__avx2(float *x, float s, size_t n)
{
    const __m256 vs = _mm256_set1_ps(s);
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vs));
    if (i < n) {
        __m256i m = fsk_avx2_tail_mask(n - i);
        _mm256_maskstore_ps(x + i, m, _mm256_mul_ps(_mm256_maskload_ps(x + i, m), vs));
    }
}

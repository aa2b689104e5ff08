/* norm.c (avx2): rmsnorm, softmax and the SwiGLU gate silu(g)*u, with SLEEF's AVX2 expf. */
#include <math.h>
#include <sleef.h>

#include "isa.h"
#include "kernels.h"

/* Sum of squares in double, as ref: a float product is exact in double. */
static double sum_squares(const float *x, size_t n)
{
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256d lo = fsk_avx2_lo_pd(v), hi = fsk_avx2_hi_pd(v);
        s0 = _mm256_fmadd_pd(lo, lo, s0);
        s1 = _mm256_fmadd_pd(hi, hi, s1);
    }
    if (i < n) {
        __m256 v = _mm256_maskload_ps(x + i, fsk_avx2_tail_mask(n - i));
        __m256d lo = fsk_avx2_lo_pd(v), hi = fsk_avx2_hi_pd(v);
        s0 = _mm256_fmadd_pd(lo, lo, s0);
        s1 = _mm256_fmadd_pd(hi, hi, s1);
    }
    return fsk_avx2_hsum_pd(_mm256_add_pd(s0, s1));
}

void fsk_rmsnorm_f32__avx2(float *y, const float *x, const float *w, size_t n, float eps)
{
    double ss = sum_squares(x, n);
    __m256 scale = _mm256_set1_ps((float)(1.0 / sqrt(ss / (double)n + (double)eps)));
    /* (x * scale) * w, two roundings in ref's order; y may be x: each block is read first */
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), scale);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(v, _mm256_loadu_ps(w + i)));
    }
    if (i < n) {
        __m256i m = fsk_avx2_tail_mask(n - i);
        __m256 v = _mm256_mul_ps(_mm256_maskload_ps(x + i, m), scale);
        _mm256_maskstore_ps(y + i, m, _mm256_mul_ps(v, _mm256_maskload_ps(w + i, m)));
    }
}

/* max_ps returns its second operand when either is NaN: with the running max second, a NaN
 * element is passed over, as ref's `>` passes it over. */
static float max_of(const float *x, size_t n)
{
    __m256 m = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        m = _mm256_max_ps(_mm256_loadu_ps(x + i), m);
    if (i < n) {
        /* lanes past n read as 0 and must not win: blend the running max back into them */
        __m256i k = fsk_avx2_tail_mask(n - i);
        __m256 v = _mm256_blendv_ps(m, _mm256_maskload_ps(x + i, k), _mm256_castsi256_ps(k));
        m = _mm256_max_ps(v, m);
    }
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

/* x = exp(x - max) in float; returns their sum, kept in double as ref keeps it. */
static double exp_and_sum(float *x, size_t n, float max)
{
    __m256 vmax = _mm256_set1_ps(max);
    __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W) {
        __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmax));
        _mm256_storeu_ps(x + i, e);
        s0 = _mm256_add_pd(s0, fsk_avx2_lo_pd(e));
        s1 = _mm256_add_pd(s1, fsk_avx2_hi_pd(e));
    }
    if (i < n) {
        __m256i k = fsk_avx2_tail_mask(n - i);
        __m256 e = Sleef_expf8_u10avx2(_mm256_sub_ps(_mm256_maskload_ps(x + i, k), vmax));
        _mm256_maskstore_ps(x + i, k, e);
        e = _mm256_and_ps(e, _mm256_castsi256_ps(k)); /* lanes past n stay out of the sum */
        s0 = _mm256_add_pd(s0, fsk_avx2_lo_pd(e));
        s1 = _mm256_add_pd(s1, fsk_avx2_hi_pd(e));
    }
    return fsk_avx2_hsum_pd(_mm256_add_pd(s0, s1));
}

void fsk_softmax_f32__avx2(float *x, size_t n)
{
    if (n == 0)
        return;
    double sum = exp_and_sum(x, n, max_of(x, n));
    __m256 inv = _mm256_set1_ps((float)(1.0 / sum));
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    if (i < n) {
        __m256i k = fsk_avx2_tail_mask(n - i);
        _mm256_maskstore_ps(x + i, k, _mm256_mul_ps(_mm256_maskload_ps(x + i, k), inv));
    }
}

/* g / (1 + exp(-g)) * u with a true division, as ref: for very negative g, exp(-g) overflows to
 * inf and g / inf gives the signed zero ref gives (a reciprocal estimate would not be accurate). */
static inline __m256 silu_mul(__m256 g, __m256 u)
{
    __m256 e = Sleef_expf8_u10avx2(_mm256_xor_ps(g, _mm256_set1_ps(-0.0f)));
    __m256 d = _mm256_add_ps(_mm256_set1_ps(1.0f), e);
    return _mm256_mul_ps(_mm256_div_ps(g, d), u);
}

void fsk_silu_mul_f32__avx2(float *y, const float *g, const float *u, size_t n)
{
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        _mm256_storeu_ps(y + i, silu_mul(_mm256_loadu_ps(g + i), _mm256_loadu_ps(u + i)));
    if (i < n) {
        __m256i k = fsk_avx2_tail_mask(n - i);
        _mm256_maskstore_ps(y + i, k, silu_mul(_mm256_maskload_ps(g + i, k), _mm256_maskload_ps(u + i, k)));
    }
}

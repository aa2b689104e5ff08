/* norm.c (avx512): rmsnorm, softmax and the SwiGLU gate silu(g)*u, with SLEEF's AVX-512 expf. */
#include <math.h>
#include <sleef.h>

#include "isa.h"
#include "kernels.h"

/* Sum of squares in double, as ref: a float product is exact in double. */
static double sum_squares(const float *x, size_t n)
{
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W) {
        __m512 v = _mm512_loadu_ps(x + i);
        __m512d lo = fsk_avx512_lo_pd(v), hi = fsk_avx512_hi_pd(v);
        s0 = _mm512_fmadd_pd(lo, lo, s0);
        s1 = _mm512_fmadd_pd(hi, hi, s1);
    }
    if (i < n) {
        __m512 v = _mm512_maskz_loadu_ps(fsk_avx512_tail_mask(n - i), x + i);
        __m512d lo = fsk_avx512_lo_pd(v), hi = fsk_avx512_hi_pd(v);
        s0 = _mm512_fmadd_pd(lo, lo, s0);
        s1 = _mm512_fmadd_pd(hi, hi, s1);
    }
    return fsk_avx512_hsum_pd(_mm512_add_pd(s0, s1));
}

void fsk_rmsnorm_f32__avx512(float *y, const float *x, const float *w, size_t n, float eps)
{
    double ss = sum_squares(x, n);
    __m512 scale = _mm512_set1_ps((float)(1.0 / sqrt(ss / (double)n + (double)eps)));
    /* (x * scale) * w, two roundings in ref's order; y may be x: each block is read first */
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W) {
        __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), scale);
        _mm512_storeu_ps(y + i, _mm512_mul_ps(v, _mm512_loadu_ps(w + i)));
    }
    if (i < n) {
        __mmask16 m = fsk_avx512_tail_mask(n - i);
        __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), scale);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, w + i)));
    }
}

/* max_ps returns its second operand when either is NaN: with the running max second, a NaN
 * element is passed over, as ref's `>` passes it over. */
static float max_of(const float *x, size_t n)
{
    __m512 m = _mm512_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        m = _mm512_max_ps(_mm512_loadu_ps(x + i), m);
    if (i < n) {
        /* lanes past n keep the running max, so they cannot win */
        __m512 v = _mm512_mask_loadu_ps(m, fsk_avx512_tail_mask(n - i), x + i);
        m = _mm512_max_ps(v, m);
    }
    return _mm512_reduce_max_ps(m);
}

/* x = exp(x - max) in float; returns their sum, kept in double as ref keeps it. */
static double exp_and_sum(float *x, size_t n, float max)
{
    __m512 vmax = _mm512_set1_ps(max);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W) {
        __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmax));
        _mm512_storeu_ps(x + i, e);
        s0 = _mm512_add_pd(s0, fsk_avx512_lo_pd(e));
        s1 = _mm512_add_pd(s1, fsk_avx512_hi_pd(e));
    }
    if (i < n) {
        __mmask16 k = fsk_avx512_tail_mask(n - i);
        __m512 e = Sleef_expf16_u10avx512f(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + i), vmax));
        _mm512_mask_storeu_ps(x + i, k, e);
        e = _mm512_maskz_mov_ps(k, e); /* lanes past n stay out of the sum */
        s0 = _mm512_add_pd(s0, fsk_avx512_lo_pd(e));
        s1 = _mm512_add_pd(s1, fsk_avx512_hi_pd(e));
    }
    return fsk_avx512_hsum_pd(_mm512_add_pd(s0, s1));
}

void fsk_softmax_f32__avx512(float *x, size_t n)
{
    if (n == 0)
        return;
    double sum = exp_and_sum(x, n, max_of(x, n));
    __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
    if (i < n) {
        __mmask16 k = fsk_avx512_tail_mask(n - i);
        _mm512_mask_storeu_ps(x + i, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, x + i), inv));
    }
}

/* g / (1 + exp(-g)) * u with a true division, as ref: for very negative g, exp(-g) overflows to
 * inf and g / inf gives the signed zero ref gives (a reciprocal estimate would not be accurate). */
static inline __m512 silu_mul(__m512 g, __m512 u)
{
    __m512 e = Sleef_expf16_u10avx512f(_mm512_xor_ps(g, _mm512_set1_ps(-0.0f)));
    __m512 d = _mm512_add_ps(_mm512_set1_ps(1.0f), e);
    return _mm512_mul_ps(_mm512_div_ps(g, d), u);
}

void fsk_silu_mul_f32__avx512(float *y, const float *g, const float *u, size_t n)
{
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        _mm512_storeu_ps(y + i, silu_mul(_mm512_loadu_ps(g + i), _mm512_loadu_ps(u + i)));
    if (i < n) {
        __mmask16 k = fsk_avx512_tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, k,
                              silu_mul(_mm512_maskz_loadu_ps(k, g + i), _mm512_maskz_loadu_ps(k, u + i)));
    }
}

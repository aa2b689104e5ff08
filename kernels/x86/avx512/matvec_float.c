/* matvec_float.c (avx512): matrix-vector products over a row range for F32 and F16 weights. */
#include "isa.h"
#include "kernels.h"

/* Rows are taken four at a time so that each vector of x is loaded once for four rows and the
 * four FMA chains hide each other's latency. */
#define ROWS 4

static inline const float *row_f32(const void *w, size_t row_stride, size_t r)
{
    return (const float *)((const char *)w + r * row_stride);
}

static inline const uint16_t *row_f16(const void *w, size_t row_stride, size_t r)
{
    return (const uint16_t *)((const char *)w + r * row_stride);
}

/* y[0..3] = rows w[0..3] . x, float sums like ref. */
static void dot4_f32(float *y, const float *const w[ROWS], const float *x, size_t n)
{
    __m512 s[ROWS];
    for (int j = 0; j < ROWS; j++)
        s[j] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W) {
        __m512 xv = _mm512_loadu_ps(x + i);
        for (int j = 0; j < ROWS; j++)
            s[j] = _mm512_fmadd_ps(_mm512_loadu_ps(w[j] + i), xv, s[j]);
    }
    if (i < n) {
        __mmask16 m = fsk_avx512_tail_mask(n - i);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + i);
        for (int j = 0; j < ROWS; j++)
            s[j] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, w[j] + i), xv, s[j]);
    }
    for (int j = 0; j < ROWS; j++)
        y[j] = fsk_avx512_hsum_ps(s[j]);
}

void fsk_matvec_f32__avx512(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                            size_t r0, size_t r1)
{
    const float *xf = x;
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const float *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = row_f32(w, row_stride, r + (size_t)j);
        dot4_f32(y + r, rows, xf, ncols);
    }
    for (; r < r1; r++)
        y[r] = fsk_dot_f32__avx512(row_f32(w, row_stride, r), xf, ncols);
}

/* Sixteen halves widened to floats; exact, every half is a float. */
static inline __m512 load16_f16(const uint16_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* The last k < 16 halves of a row, zero-filled by a masked 16-bit load (AVX512BW+VL), which
 * reads nothing past the end of the weights. */
static inline __m512 load_tail_f16(const uint16_t *p, size_t k)
{
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(fsk_avx512_tail_mask(k), p));
}

static void dot4_f16(float *y, const uint16_t *const w[ROWS], const float *x, size_t n)
{
    __m512 s[ROWS];
    for (int j = 0; j < ROWS; j++)
        s[j] = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W) {
        __m512 xv = _mm512_loadu_ps(x + i);
        for (int j = 0; j < ROWS; j++)
            s[j] = _mm512_fmadd_ps(load16_f16(w[j] + i), xv, s[j]);
    }
    if (i < n) {
        __m512 xv = _mm512_maskz_loadu_ps(fsk_avx512_tail_mask(n - i), x + i);
        for (int j = 0; j < ROWS; j++)
            s[j] = _mm512_fmadd_ps(load_tail_f16(w[j] + i, n - i), xv, s[j]);
    }
    for (int j = 0; j < ROWS; j++)
        y[j] = fsk_avx512_hsum_ps(s[j]);
}

static float dot1_f16(const uint16_t *w, const float *x, size_t n)
{
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 2 * FSK_AVX512_W <= n; i += 2 * FSK_AVX512_W) {
        s0 = _mm512_fmadd_ps(load16_f16(w + i), _mm512_loadu_ps(x + i), s0);
        s1 = _mm512_fmadd_ps(load16_f16(w + i + 16), _mm512_loadu_ps(x + i + 16), s1);
    }
    for (; i + FSK_AVX512_W <= n; i += FSK_AVX512_W)
        s0 = _mm512_fmadd_ps(load16_f16(w + i), _mm512_loadu_ps(x + i), s0);
    if (i < n) {
        __m512 xv = _mm512_maskz_loadu_ps(fsk_avx512_tail_mask(n - i), x + i);
        s1 = _mm512_fmadd_ps(load_tail_f16(w + i, n - i), xv, s1);
    }
    return fsk_avx512_hsum_ps(_mm512_add_ps(s0, s1));
}

void fsk_matvec_f16__avx512(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                            size_t r0, size_t r1)
{
    const float *xf = x;
    size_t r = r0;
    for (; r + ROWS <= r1; r += ROWS) {
        const uint16_t *rows[ROWS];
        for (int j = 0; j < ROWS; j++)
            rows[j] = row_f16(w, row_stride, r + (size_t)j);
        dot4_f16(y + r, rows, xf, ncols);
    }
    for (; r < r1; r++)
        y[r] = dot1_f16(row_f16(w, row_stride, r), xf, ncols);
}

/* matvec_float.c (avx2): matrix-vector products over a row range for F32 and F16 (F16C) weights. */
#include <string.h>

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
    __m256 s[ROWS];
    for (int j = 0; j < ROWS; j++)
        s[j] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W) {
        __m256 xv = _mm256_loadu_ps(x + i);
        for (int j = 0; j < ROWS; j++)
            s[j] = _mm256_fmadd_ps(_mm256_loadu_ps(w[j] + i), xv, s[j]);
    }
    if (i < n) {
        __m256i m = fsk_avx2_tail_mask(n - i);
        __m256 xv = _mm256_maskload_ps(x + i, m);
        for (int j = 0; j < ROWS; j++)
            s[j] = _mm256_fmadd_ps(_mm256_maskload_ps(w[j] + i, m), xv, s[j]);
    }
    for (int j = 0; j < ROWS; j++)
        y[j] = fsk_avx2_hsum_ps(s[j]);
}

void fsk_matvec_f32__avx2(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
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
        y[r] = fsk_dot_f32__avx2(row_f32(w, row_stride, r), xf, ncols);
}

/* Eight halves widened to floats; exact, every half is a float. */
static inline __m256 load8_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* The last k < 8 halves of a row, zero-filled: AVX2 has no 16-bit masked load, and reading a
 * whole vector could run past the end of the weights. */
static inline __m256 load_tail_f16(const uint16_t *p, size_t k)
{
    uint16_t t[FSK_AVX2_W] = {0};
    memcpy(t, p, k * sizeof *p);
    return load8_f16(t);
}

static void dot4_f16(float *y, const uint16_t *const w[ROWS], const float *x, size_t n)
{
    __m256 s[ROWS];
    for (int j = 0; j < ROWS; j++)
        s[j] = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W) {
        __m256 xv = _mm256_loadu_ps(x + i);
        for (int j = 0; j < ROWS; j++)
            s[j] = _mm256_fmadd_ps(load8_f16(w[j] + i), xv, s[j]);
    }
    if (i < n) {
        __m256 xv = _mm256_maskload_ps(x + i, fsk_avx2_tail_mask(n - i));
        for (int j = 0; j < ROWS; j++)
            s[j] = _mm256_fmadd_ps(load_tail_f16(w[j] + i, n - i), xv, s[j]);
    }
    for (int j = 0; j < ROWS; j++)
        y[j] = fsk_avx2_hsum_ps(s[j]);
}

static float dot1_f16(const uint16_t *w, const float *x, size_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 2 * FSK_AVX2_W <= n; i += 2 * FSK_AVX2_W) {
        s0 = _mm256_fmadd_ps(load8_f16(w + i), _mm256_loadu_ps(x + i), s0);
        s1 = _mm256_fmadd_ps(load8_f16(w + i + 8), _mm256_loadu_ps(x + i + 8), s1);
    }
    for (; i + FSK_AVX2_W <= n; i += FSK_AVX2_W)
        s0 = _mm256_fmadd_ps(load8_f16(w + i), _mm256_loadu_ps(x + i), s0);
    if (i < n) {
        __m256 xv = _mm256_maskload_ps(x + i, fsk_avx2_tail_mask(n - i));
        s1 = _mm256_fmadd_ps(load_tail_f16(w + i, n - i), xv, s1);
    }
    return fsk_avx2_hsum_ps(_mm256_add_ps(s0, s1));
}

void fsk_matvec_f16__avx2(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
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

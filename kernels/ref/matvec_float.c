/* matvec_float.c (ref): matrix-vector products over a row range for F32 and F16 weights. */
#include <math.h>

#include "f16.h"
#include "kernels.h"

void fsk_matvec_f32__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                         size_t r0, size_t r1)
{
    const float *xf = x;
    for (size_t r = r0; r < r1; r++) {
        const float *row = (const float *)((const char *)w + r * row_stride);
        y[r] = fsk_dot_f32__ref(row, xf, ncols);
    }
}

void fsk_matvec_f16__ref(float *y, const void *w, size_t row_stride, const void *x, size_t ncols,
                         size_t r0, size_t r1)
{
    const float *xf = x;
    for (size_t r = r0; r < r1; r++) {
        const uint16_t *row = (const uint16_t *)((const char *)w + r * row_stride);
        float s = 0.0f;
        for (size_t c = 0; c < ncols; c++)
            s += fsk_f16_to_f32(row[c]) * xf[c];
        y[r] = s;
    }
}

/* Row after row into each output float: one fmaf per term, rows ascending, from zero. */
void fsk_wsum_f16__ref(float *y, size_t ldy, const void *v, size_t row_stride, const float *a,
                       size_t a_stride, size_t ncols, size_t nw, size_t r0, size_t r1)
{
    for (size_t t = 0; t < nw; t++) {
        float *yt = y + t * ldy;
        for (size_t j = 0; j < ncols; j++)
            yt[j] = 0.0f;
        for (size_t r = r0; r < r1; r++) {
            const uint16_t *row = (const uint16_t *)((const char *)v + r * row_stride);
            const float w = a[t * a_stride + r];
            for (size_t j = 0; j < ncols; j++)
                yt[j] = fmaf(w, fsk_f16_to_f32(row[j]), yt[j]);
        }
    }
}

/* Each score by itself: one fmaf per dimension, in order, from zero. */
void fsk_tdot_f16__ref(float *y, size_t ldy, const void *k, const float *q, size_t q_stride, size_t ncols,
                       size_t nq, size_t p0, size_t p1)
{
    const uint16_t *kt = k;
    for (size_t t = 0; t < nq; t++)
        for (size_t p = p0; p < p1; p++) {
            const uint16_t *at = kt + p / FSK_KTILE * FSK_KTILE * ncols + p % FSK_KTILE;
            float s = 0.0f;
            for (size_t d = 0; d < ncols; d++)
                s = fmaf(q[t * q_stride + d], fsk_f16_to_f32(at[d * FSK_KTILE]), s);
            y[t * ldy + p] = s;
        }
}

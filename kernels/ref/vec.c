/* vec.c (ref): dot product, cosine similarity, add and scaled add: the scalar oracle, summed left to right. */
#include <math.h>

#include "kernels.h"

float fsk_dot_f32__ref(const float *a, const float *b, size_t n)
{
    float s = 0.0f;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

float fsk_cosine_f32__ref(const float *a, const float *b, size_t n)
{
    double ab = 0.0, aa = 0.0, bb = 0.0;
    for (size_t i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    if (aa == 0.0 || bb == 0.0)
        return 0.0f; /* direction of a zero vector is undefined: call it orthogonal */
    return (float)(ab / sqrt(aa * bb));
}

void fsk_add_f32__ref(float *y, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = a[i] + b[i];
}

void fsk_axpy_f32__ref(float *y, float alpha, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] += alpha * x[i];
}

void fsk_scale_f32__ref(float *x, float s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] *= s;
}

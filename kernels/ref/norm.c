/* norm.c (ref): rmsnorm, softmax and the SwiGLU gate silu(g)*u. */
#include <math.h>

#include "kernels.h"

void fsk_rmsnorm_f32__ref(float *y, const float *x, const float *w, size_t n, float eps)
{
    double ss = 0.0;
    for (size_t i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] * scale * w[i];
}

void fsk_softmax_f32__ref(float *x, size_t n)
{
    if (n == 0)
        return;
    float max = x[0];
    for (size_t i = 1; i < n; i++)
        if (x[i] > max)
            max = x[i];
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        x[i] = expf(x[i] - max);
        sum += x[i];
    }
    float inv = (float)(1.0 / sum);
    for (size_t i = 0; i < n; i++)
        x[i] *= inv;
}

void fsk_silu_mul_f32__ref(float *y, const float *g, const float *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        y[i] = gi / (1.0f + expf(-gi)) * u[i];
    }
}

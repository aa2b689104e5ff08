/* norm.c (neon): rmsnorm, softmax and the SwiGLU gate silu(g)*u; exp comes from SLEEF's AdvSIMD build. */
#include <math.h>
#include <string.h>

#include <sleef.h>

#include "isa.h"

/* Sum of squares in float with sixteen partial sums: every term is positive, so the relative
 * error stays below n*u even summed naively, and the partial sums shrink it further. */
static float sum_squares(const float *x, size_t n, size_t *done)
{
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        float32x4_t a = vld1q_f32(x + i), b = vld1q_f32(x + i + 4);
        float32x4_t c = vld1q_f32(x + i + 8), d = vld1q_f32(x + i + 12);
        s0 = vfmaq_f32(s0, a, a);
        s1 = vfmaq_f32(s1, b, b);
        s2 = vfmaq_f32(s2, c, c);
        s3 = vfmaq_f32(s3, d, d);
    }
    for (; i + 4 <= n; i += 4) {
        float32x4_t a = vld1q_f32(x + i);
        s0 = vfmaq_f32(s0, a, a);
    }
    *done = i;
    return fsk_neon_sum4(s0, s1, s2, s3);
}

void fsk_rmsnorm_f32__neon(float *y, const float *x, const float *w, size_t n, float eps)
{
    size_t i;
    double ss = sum_squares(x, n, &i);
    for (; i < n; i++)
        ss += (double)x[i] * x[i];
    float scale = (float)(1.0 / sqrt(ss / (double)n + (double)eps));
    float32x4_t vs = vdupq_n_f32(scale);
    /* (x*scale)*w in ref's order, so both round the same two products; y may be x */
    for (i = 0; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vmulq_f32(vmulq_f32(vld1q_f32(x + i), vs), vld1q_f32(w + i)));
    for (; i < n; i++)
        y[i] = x[i] * scale * w[i];
}

static float max_f32(const float *x, size_t n)
{
    size_t i = 0;
    float m = x[0];
    if (n >= 4) {
        float32x4_t vm = vld1q_f32(x);
        for (i = 4; i + 4 <= n; i += 4)
            vm = vmaxq_f32(vm, vld1q_f32(x + i));
        m = vmaxvq_f32(vm);
    }
    for (; i < n; i++)
        if (x[i] > m)
            m = x[i];
    return m;
}

void fsk_softmax_f32__neon(float *x, size_t n)
{
    if (n == 0)
        return;
    float32x4_t vmax = vdupq_n_f32(max_f32(x, n));
    /* the sum in double, as ref: thousands of positive terms of very different sizes */
    float64x2_t acc = vdupq_n_f64(0.0);
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        float32x4_t e = Sleef_expf4_u10advsimd(vsubq_f32(vld1q_f32(x + i), vmax));
        vst1q_f32(x + i, e);
        acc = fsk_neon_acc_f64(acc, e);
    }
    double sum = vaddvq_f64(acc);
    if (i < n) {
        /* the tail goes through the same vector exp, padded with -inf whose exp adds 0 */
        float t[FSK_NEON_LANES] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
        memcpy(t, x + i, (n - i) * sizeof *x);
        float32x4_t e = Sleef_expf4_u10advsimd(vsubq_f32(vld1q_f32(t), vmax));
        vst1q_f32(t, e);
        memcpy(x + i, t, (n - i) * sizeof *x);
        sum += vaddvq_f64(fsk_neon_acc_f64(vdupq_n_f64(0.0), e));
    }
    float32x4_t vinv = vdupq_n_f32((float)(1.0 / sum));
    for (i = 0; i + 4 <= n; i += 4)
        vst1q_f32(x + i, vmulq_f32(vld1q_f32(x + i), vinv));
    for (; i < n; i++)
        x[i] *= vgetq_lane_f32(vinv, 0);
}

/* g/(1+exp(-g))*u with a true division: a reciprocal estimate would cost the accuracy ref sets.
 * For very negative g, exp(-g) is +inf and g/inf is -0, so y is a signed zero, never NaN. */
static inline float32x4_t silu_mul4(float32x4_t g, float32x4_t u)
{
    float32x4_t e = Sleef_expf4_u10advsimd(vnegq_f32(g));
    return vmulq_f32(vdivq_f32(g, vaddq_f32(vdupq_n_f32(1.0f), e)), u);
}

void fsk_silu_mul_f32__neon(float *y, const float *g, const float *u, size_t n)
{
    /* y may be g: each lane of g is read before the same lane of y is written */
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, silu_mul4(vld1q_f32(g + i), vld1q_f32(u + i)));
    if (i < n) {
        float tg[FSK_NEON_LANES] = {0}, tu[FSK_NEON_LANES] = {0};
        memcpy(tg, g + i, (n - i) * sizeof *g);
        memcpy(tu, u + i, (n - i) * sizeof *u);
        vst1q_f32(tg, silu_mul4(vld1q_f32(tg), vld1q_f32(tu)));
        memcpy(y + i, tg, (n - i) * sizeof *y);
    }
}

/* vec.c (neon): dot product, cosine similarity, add and scaled add over float vectors. */
#include <math.h>

#include "isa.h"

float fsk_dot_f32__neon(const float *a, const float *b, size_t n)
{
    /* four independent accumulators hide the FMA latency */
    float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0, s2 = s0, s3 = s0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
        s1 = vfmaq_f32(s1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        s2 = vfmaq_f32(s2, vld1q_f32(a + i + 8), vld1q_f32(b + i + 8));
        s3 = vfmaq_f32(s3, vld1q_f32(a + i + 12), vld1q_f32(b + i + 12));
    }
    for (; i + 4 <= n; i += 4)
        s0 = vfmaq_f32(s0, vld1q_f32(a + i), vld1q_f32(b + i));
    float s = fsk_neon_sum4(s0, s1, s2, s3);
    for (; i < n; i++)
        s = fmaf(a[i], b[i], s);
    return s;
}

/* Sums of a.b, a.a and b.b in double, as ref does: the skip policy compares cosines that sit
 * within about 1e-3 of 1, where float sums over thousands of terms would blur the decision. */
struct cos_sums {
    float64x2_t ab, aa, bb;
};

static void cos_acc(struct cos_sums *s, float32x4_t a, float32x4_t b)
{
    float64x2_t alo = vcvt_f64_f32(vget_low_f32(a)), ahi = vcvt_high_f64_f32(a);
    float64x2_t blo = vcvt_f64_f32(vget_low_f32(b)), bhi = vcvt_high_f64_f32(b);
    s->ab = vfmaq_f64(vfmaq_f64(s->ab, alo, blo), ahi, bhi);
    s->aa = vfmaq_f64(vfmaq_f64(s->aa, alo, alo), ahi, ahi);
    s->bb = vfmaq_f64(vfmaq_f64(s->bb, blo, blo), bhi, bhi);
}

float fsk_cosine_f32__neon(const float *a, const float *b, size_t n)
{
    struct cos_sums s = {vdupq_n_f64(0.0), vdupq_n_f64(0.0), vdupq_n_f64(0.0)};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        cos_acc(&s, vld1q_f32(a + i), vld1q_f32(b + i));
    double ab = vaddvq_f64(s.ab), aa = vaddvq_f64(s.aa), bb = vaddvq_f64(s.bb);
    for (; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    if (aa == 0.0 || bb == 0.0)
        return 0.0f; /* a zero vector has no direction: call it orthogonal, as ref does */
    return (float)(ab / sqrt(aa * bb));
}

void fsk_add_f32__neon(float *y, const float *a, const float *b, size_t n)
{
    /* each lane is loaded before it is stored, so y may alias a or b */
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t s0 = vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i));
        float32x4_t s1 = vaddq_f32(vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
        vst1q_f32(y + i, s0);
        vst1q_f32(y + i + 4, s1);
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vaddq_f32(vld1q_f32(a + i), vld1q_f32(b + i)));
    for (; i < n; i++)
        y[i] = a[i] + b[i];
}

void fsk_axpy_f32__neon(float *y, float alpha, const float *x, size_t n)
{
    float32x4_t va = vdupq_n_f32(alpha);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        float32x4_t y0 = vfmaq_f32(vld1q_f32(y + i), vld1q_f32(x + i), va);
        float32x4_t y1 = vfmaq_f32(vld1q_f32(y + i + 4), vld1q_f32(x + i + 4), va);
        vst1q_f32(y + i, y0);
        vst1q_f32(y + i + 4, y1);
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(y + i, vfmaq_f32(vld1q_f32(y + i), vld1q_f32(x + i), va));
    for (; i < n; i++)
        y[i] = fmaf(alpha, x[i], y[i]);
}

void fsk_scale_f32__neon(float *x, float s, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), s));
        vst1q_f32(x + i + 4, vmulq_n_f32(vld1q_f32(x + i + 4), s));
    }
    for (; i + 4 <= n; i += 4)
        vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), s));
    for (; i < n; i++)
        x[i] *= s;
}

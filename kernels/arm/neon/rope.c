/* rope.c (neon): rotary position embedding over adjacent pairs (x[2i], x[2i+1]) of every head. */
#include <sleef.h>

#include "isa.h"
#include "rope_freq.h"

/* Rotates the two adjacent pairs in p: cc holds each pair's cosine twice, ss its sine as (-s, s),
 * so that x*cc + swap(x)*ss gives (x0 c - x1 s, x0 s + x1 c). */
static inline void rotate2(float *p, float32x4_t cc, float32x4_t ss)
{
    float32x4_t v = vld1q_f32(p);
    vst1q_f32(p, vfmaq_f32(vmulq_f32(v, cc), vrev64q_f32(v), ss));
}

static inline void rotate1(float *p, float c, float s)
{
    float x0 = p[0], x1 = p[1];
    p[0] = x0 * c - x1 * s;
    p[1] = x0 * s + x1 * c;
}

/* Pairs i0 .. i0+cnt-1 (cnt <= 4) of every head; the angles are ref's scalar ones, only sin and
 * cos are vector. */
static void rope_block(float *x, size_t n_heads, size_t head_dim, size_t pos, float base,
                       size_t i0, size_t cnt)
{
    float th[FSK_NEON_LANES] = {0};
    for (size_t j = 0; j < cnt; j++)
        th[j] = fsk_rope_theta(pos, i0 + j, head_dim, base);
    Sleef_float32x4_t_2 sc = Sleef_sincosf4_u10advsimd(vld1q_f32(th));
    static const float alt[FSK_NEON_LANES] = {-1.0f, 1.0f, -1.0f, 1.0f};
    float32x4_t sign = vld1q_f32(alt);
    float32x4_t cc_lo = vzip1q_f32(sc.y, sc.y), cc_hi = vzip2q_f32(sc.y, sc.y);
    float32x4_t ss_lo = vmulq_f32(vzip1q_f32(sc.x, sc.x), sign);
    float32x4_t ss_hi = vmulq_f32(vzip2q_f32(sc.x, sc.x), sign);
    float c[FSK_NEON_LANES], s[FSK_NEON_LANES];
    vst1q_f32(c, sc.y);
    vst1q_f32(s, sc.x);
    for (size_t h = 0; h < n_heads; h++) {
        float *p = x + h * head_dim + 2 * i0;
        if (cnt == 4) {
            rotate2(p, cc_lo, ss_lo);
            rotate2(p + 4, cc_hi, ss_hi);
            continue;
        }
        size_t j = 0;
        if (cnt >= 2) {
            rotate2(p, cc_lo, ss_lo);
            j = 2;
        }
        for (; j < cnt; j++)
            rotate1(p + 2 * j, c[j], s[j]);
    }
}

void fsk_rope_f32__neon(float *x, size_t n_heads, size_t head_dim, size_t pos, float base)
{
    size_t pairs = head_dim / 2;
    for (size_t i = 0; i < pairs; i += FSK_NEON_LANES) {
        size_t cnt = pairs - i < FSK_NEON_LANES ? pairs - i : FSK_NEON_LANES;
        rope_block(x, n_heads, head_dim, pos, base, i, cnt);
    }
}

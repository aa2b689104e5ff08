/* rope.c (avx2): rotary position embedding over adjacent pairs, eight angles per SLEEF sincos call. */
#include <math.h>
#include <sleef.h>

#include "isa.h"
#include "kernels.h"
#include "rope_freq.h"

/* Rotates each pair (x0, x1) of v by the angle whose cos and sin sit in both lanes of the pair:
 * (x0 c - x1 s, x0 s + x1 c). sgn_s carries -s in even lanes and s in odd lanes, so two products
 * and one add give ref's three roundings exactly; only sin and cos differ from ref. */
static inline __m256 rotate(__m256 v, __m256 c, __m256 sgn_s)
{
    __m256 swapped = _mm256_permute_ps(v, 0xB1); /* (x1, x0) in every pair */
    return _mm256_add_ps(_mm256_mul_ps(v, c), _mm256_mul_ps(swapped, sgn_s));
}

/* Rotates the pairs among the first nf floats at p: a whole vector, or fewer through a mask. */
static inline void rotate_at(float *p, size_t nf, __m256 c, __m256 sgn_s)
{
    if (nf >= FSK_AVX2_W) {
        _mm256_storeu_ps(p, rotate(_mm256_loadu_ps(p), c, sgn_s));
        return;
    }
    __m256i m = fsk_avx2_tail_mask(nf);
    _mm256_maskstore_ps(p, m, rotate(_mm256_maskload_ps(p, m), c, sgn_s));
}

/* cos and signed sin of one block of up to 8 angles, each repeated in both lanes of its pair:
 * the _lo vectors cover the block's pairs 0..3, the _hi vectors pairs 4..7. */
struct rope_block {
    __m256 c_lo, s_lo, c_hi, s_hi;
};

static struct rope_block rope_angles(size_t i0, size_t k, size_t head_dim, size_t pos, float base)
{
    float th[FSK_AVX2_W] = {0};
    for (size_t j = 0; j < k; j++)
        th[j] = fsk_rope_theta(pos, i0 + j, head_dim, base);
    Sleef___m256_2 sc = Sleef_sincosf8_u10avx2(_mm256_loadu_ps(th)); /* .x sin, .y cos */
    const __m256i lo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
    const __m256i hi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    const __m256 even_neg = _mm256_setr_ps(-0.0f, 0.0f, -0.0f, 0.0f, -0.0f, 0.0f, -0.0f, 0.0f);
    struct rope_block b;
    b.c_lo = _mm256_permutevar8x32_ps(sc.y, lo);
    b.c_hi = _mm256_permutevar8x32_ps(sc.y, hi);
    b.s_lo = _mm256_xor_ps(_mm256_permutevar8x32_ps(sc.x, lo), even_neg);
    b.s_hi = _mm256_xor_ps(_mm256_permutevar8x32_ps(sc.x, hi), even_neg);
    return b;
}

void fsk_rope_f32__avx2(float *x, size_t n_heads, size_t head_dim, size_t pos, float base)
{
    size_t half = head_dim / 2;
    for (size_t i0 = 0; i0 < half; i0 += FSK_AVX2_W) {
        size_t k = half - i0 < FSK_AVX2_W ? half - i0 : FSK_AVX2_W;
        struct rope_block b = rope_angles(i0, k, head_dim, pos, base);
        size_t nf = 2 * k; /* floats this block of angles rotates in each head */
        for (size_t h = 0; h < n_heads; h++) {
            float *p = x + h * head_dim + 2 * i0;
            rotate_at(p, nf, b.c_lo, b.s_lo);
            if (nf > FSK_AVX2_W)
                rotate_at(p + FSK_AVX2_W, nf - FSK_AVX2_W, b.c_hi, b.s_hi);
        }
    }
}

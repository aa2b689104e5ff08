/* rope.c (avx512): rotary position embedding over adjacent pairs, sixteen angles per SLEEF sincos call. */
#include <math.h>
#include <sleef.h>

#include "isa.h"
#include "kernels.h"
#include "rope_freq.h"

/* Rotates each pair (x0, x1) of v by the angle whose cos and sin sit in both lanes of the pair:
 * (x0 c - x1 s, x0 s + x1 c). sgn_s carries -s in even lanes and s in odd lanes, so two products
 * and one add give ref's three roundings exactly; only sin and cos differ from ref. */
static inline __m512 rotate(__m512 v, __m512 c, __m512 sgn_s)
{
    __m512 swapped = _mm512_permute_ps(v, 0xB1); /* (x1, x0) in every pair */
    return _mm512_add_ps(_mm512_mul_ps(v, c), _mm512_mul_ps(swapped, sgn_s));
}

/* Rotates the pairs among the first nf floats at p: a whole vector, or fewer through a mask. */
static inline void rotate_at(float *p, size_t nf, __m512 c, __m512 sgn_s)
{
    if (nf >= FSK_AVX512_W) {
        _mm512_storeu_ps(p, rotate(_mm512_loadu_ps(p), c, sgn_s));
        return;
    }
    __mmask16 m = fsk_avx512_tail_mask(nf);
    _mm512_mask_storeu_ps(p, m, rotate(_mm512_maskz_loadu_ps(m, p), c, sgn_s));
}

/* cos and signed sin of one block of up to 16 angles, each repeated in both lanes of its pair:
 * the _lo vectors cover the block's pairs 0..7, the _hi vectors pairs 8..15. */
struct rope_block {
    __m512 c_lo, s_lo, c_hi, s_hi;
};

static struct rope_block rope_angles(size_t i0, size_t k, size_t head_dim, size_t pos, float base)
{
    float th[FSK_AVX512_W] = {0};
    for (size_t j = 0; j < k; j++)
        th[j] = fsk_rope_theta(pos, i0 + j, head_dim, base);
    Sleef___m512_2 sc = Sleef_sincosf16_u10avx512f(_mm512_loadu_ps(th)); /* .x sin, .y cos */
    const __m512i lo = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i hi = _mm512_setr_epi32(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    const __m512 even_neg = _mm512_setr_ps(-0.0f, 0.0f, -0.0f, 0.0f, -0.0f, 0.0f, -0.0f, 0.0f,
                                           -0.0f, 0.0f, -0.0f, 0.0f, -0.0f, 0.0f, -0.0f, 0.0f);
    struct rope_block b;
    b.c_lo = _mm512_permutexvar_ps(lo, sc.y);
    b.c_hi = _mm512_permutexvar_ps(hi, sc.y);
    b.s_lo = _mm512_xor_ps(_mm512_permutexvar_ps(lo, sc.x), even_neg);
    b.s_hi = _mm512_xor_ps(_mm512_permutexvar_ps(hi, sc.x), even_neg);
    return b;
}

void fsk_rope_f32__avx512(float *x, size_t n_heads, size_t head_dim, size_t pos, float base)
{
    size_t half = head_dim / 2;
    for (size_t i0 = 0; i0 < half; i0 += FSK_AVX512_W) {
        size_t k = half - i0 < FSK_AVX512_W ? half - i0 : FSK_AVX512_W;
        struct rope_block b = rope_angles(i0, k, head_dim, pos, base);
        size_t nf = 2 * k; /* floats this block of angles rotates in each head */
        for (size_t h = 0; h < n_heads; h++) {
            float *p = x + h * head_dim + 2 * i0;
            rotate_at(p, nf, b.c_lo, b.s_lo);
            if (nf > FSK_AVX512_W)
                rotate_at(p + FSK_AVX512_W, nf - FSK_AVX512_W, b.c_hi, b.s_hi);
        }
    }
}

/* rope.c (ref): rotary position embedding over adjacent pairs (x[2i], x[2i+1]), the GGUF llama layout. */
#include <math.h>

#include "kernels.h"
#include "rope_freq.h"

void fsk_rope_f32__ref(float *x, size_t n_heads, size_t head_dim, size_t pos, float base)
{
    for (size_t i = 0; i < head_dim / 2; i++) {
        float theta = fsk_rope_theta(pos, i, head_dim, base);
        float c = cosf(theta), s = sinf(theta);
        for (size_t h = 0; h < n_heads; h++) {
            float *p = x + h * head_dim + 2 * i;
            float x0 = p[0], x1 = p[1];
            p[0] = x0 * c - x1 * s;
            p[1] = x0 * s + x1 * c;
        }
    }
}

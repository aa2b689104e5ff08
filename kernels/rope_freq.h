/* rope_freq.h: the RoPE angle of pair i at a position, computed identically by every variant. */
#ifndef FSK_ROPE_FREQ_H
#define FSK_ROPE_FREQ_H

#include <math.h>
#include <stddef.h>

/* theta_i = pos * base^(-2i/head_dim). Every variant computes the angle with this scalar code so
 * that the variants differ only in their sin/cos, not in the angle fed to them. */
static inline float fsk_rope_theta(size_t pos, size_t i, size_t head_dim, float base)
{
    float freq = powf(base, -2.0f * (float)i / (float)head_dim);
    return (float)pos * freq;
}

#endif

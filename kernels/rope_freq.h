/* rope_freq.h: the RoPE angle of pair i at a position, computed identically by every variant. */
#ifndef FSK_ROPE_FREQ_H
#define FSK_ROPE_FREQ_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* theta_i = pos * base^(-2i/head_dim). Every variant computes the angle with this scalar code so
 * that the variants differ only in their sin/cos, not in the angle fed to them. */
static inline float fsk_rope_freq(size_t i, size_t head_dim, float base)
{
    return powf(base, -2.0f * (float)i / (float)head_dim);
}

/* The frequencies depend only on head_dim and base, and a powf per pair per call was most of a
 * rope call's time (in a prompt: one call per token, layer and kv group). So each thread keeps
 * the last set, per variant (each file that includes this has its own): the same floats, computed
 * once. Heads wider than the table take powf each time. */
#define FSK_ROPE_TABLE 256

static inline float fsk_rope_theta(size_t pos, size_t i, size_t head_dim, float base)
{
    static _Thread_local struct {
        size_t head_dim;
        uint32_t base_bits;
        float freq[FSK_ROPE_TABLE];
    } t;
    const size_t half = head_dim / 2;
    if (half > FSK_ROPE_TABLE || i >= half)
        return (float)pos * fsk_rope_freq(i, head_dim, base);
    uint32_t bits;
    memcpy(&bits, &base, sizeof bits);
    if (t.head_dim != head_dim || t.base_bits != bits) {
        for (size_t j = 0; j < half; j++)
            t.freq[j] = fsk_rope_freq(j, head_dim, base);
        t.head_dim = head_dim;
        t.base_bits = bits;
    }
    return (float)pos * t.freq[i];
}

#endif

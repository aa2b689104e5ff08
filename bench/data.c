/* data.c (bench): random weights and activations in each GGML type, with scales a model could have. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "bench.h"
#include "f16.h"
#include "quant.h"

uint64_t bench_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

void bench_fill_f32(float *x, size_t n, float lo, float hi, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = lo + (hi - lo) * (float)(bench_rand(rng) >> 40) * (1.0f / 16777216.0f);
}

/* Bit patterns rather than conversions, because a weight matrix is tens of megabytes and a
 * float-to-half conversion per element would dominate the run. Magnitudes are [1/8, 2) with a
 * random sign and mantissa: never zero, subnormal, infinite or NaN. */
static uint32_t rand_f32_bits(uint64_t r)
{
    return (uint32_t)(r & 0x807fffffu) | ((124u + (uint32_t)((r >> 23) & 3u)) << 23);
}

static uint16_t rand_f16_bits(uint64_t r)
{
    return (uint16_t)((r & 0x83ffu) | ((12u + ((r >> 10) & 3u)) << 10));
}

static void fill_bytes(unsigned char *p, size_t n, uint64_t *rng)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t r = bench_rand(rng);
        memcpy(p + i, &r, 8);
    }
    if (i < n) {
        uint64_t r = bench_rand(rng);
        memcpy(p + i, &r, n - i);
    }
}

/* A positive scale near 2^-7: about what a block of weights or activations of size ~1 gets. */
static fsk_half scale_half(uint64_t *rng)
{
    return (fsk_half)(0x2000u | (bench_rand(rng) & 0x3ffu));
}

static void put_half(unsigned char *p, size_t off, fsk_half h)
{
    memcpy(p + off, &h, sizeof h);
}

/* Quantizers never emit -128 (they round x/d with d = max|x|/127) and some int8 dot products
 * rely on that, so the random quants avoid it too. */
static int32_t clamp_q8(int8_t *q, size_t n)
{
    int32_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (q[i] == -128)
            q[i] = -127;
        sum += q[i];
    }
    return sum;
}

static void fill_float_type(uint32_t type, unsigned char *p, size_t nbytes, uint64_t *rng)
{
    size_t i = 0;
    if (type == FSK_TYPE_F32) {
        for (; i + 4 <= nbytes; i += 4) {
            uint32_t b = rand_f32_bits(bench_rand(rng));
            memcpy(p + i, &b, 4);
        }
        return;
    }
    for (; i + 8 <= nbytes; i += 8) {
        uint64_t r = bench_rand(rng);
        uint16_t h[4];
        for (int k = 0; k < 4; k++) {
            uint64_t part = r >> (16 * k);
            h[k] = type == FSK_TYPE_F16 ? rand_f16_bits(part)
                                        : (uint16_t)(rand_f32_bits(part << 16 | part) >> 16);
        }
        memcpy(p + i, h, 8);
    }
    for (; i + 2 <= nbytes; i += 2) {
        uint16_t h = type == FSK_TYPE_F16 ? rand_f16_bits(bench_rand(rng))
                                          : (uint16_t)(rand_f32_bits(bench_rand(rng)) >> 16);
        memcpy(p + i, &h, 2);
    }
}

/* Block formats whose only constraint is one or two half scales at fixed offsets. */
struct scaled_block {
    uint32_t type;
    size_t d;   /* offset of the scale */
    size_t m;   /* offset of the min (negated scale), or SIZE_MAX */
};

static const struct scaled_block scaled_blocks[] = {
    {FSK_TYPE_Q4_0, offsetof(fsk_block_q4_0, d), SIZE_MAX},
    {FSK_TYPE_Q4_1, offsetof(fsk_block_q4_1, d), offsetof(fsk_block_q4_1, m)},
    {FSK_TYPE_Q5_0, offsetof(fsk_block_q5_0, d), SIZE_MAX},
    {FSK_TYPE_Q5_1, offsetof(fsk_block_q5_1, d), offsetof(fsk_block_q5_1, m)},
    {FSK_TYPE_Q4_K, offsetof(fsk_block_q4_K, d), offsetof(fsk_block_q4_K, dmin)},
    {FSK_TYPE_Q5_K, offsetof(fsk_block_q5_K, d), offsetof(fsk_block_q5_K, dmin)},
    {FSK_TYPE_Q6_K, offsetof(fsk_block_q6_K, d), SIZE_MAX},
};

static void fix_scaled(const struct scaled_block *sb, unsigned char *blk, uint64_t *rng)
{
    put_half(blk, sb->d, scale_half(rng));
    if (sb->m != SIZE_MAX)
        put_half(blk, sb->m, (fsk_half)(0x8000u | scale_half(rng)));
}

/* The 8-bit formats: quants in range, and the derived fields (sums) consistent with them. */
static void fix_q8(uint32_t type, unsigned char *blk, uint64_t *rng)
{
    if (type == FSK_TYPE_Q8_0) {
        fsk_block_q8_0 b;
        memcpy(&b, blk, sizeof b);
        b.d = scale_half(rng);
        clamp_q8(b.qs, FSK_QK);
        memcpy(blk, &b, sizeof b);
    } else if (type == FSK_TYPE_Q8_1) {
        fsk_block_q8_1 b;
        memcpy(&b, blk, sizeof b);
        b.d = scale_half(rng);
        int32_t sum = clamp_q8(b.qs, FSK_QK);
        b.s = fsk_f32_to_f16(fsk_f16_to_f32(b.d) * (float)sum);
        memcpy(blk, &b, sizeof b);
    } else { /* FSK_TYPE_Q8_K */
        fsk_block_q8_K b;
        memcpy(&b, blk, sizeof b);
        b.d = 1.0f / 128.0f;
        for (int g = 0; g < FSK_QK_K / 16; g++)
            b.bsums[g] = (int16_t)clamp_q8(b.qs + 16 * g, 16);
        memcpy(blk, &b, sizeof b);
    }
}

int bench_fill_type(uint32_t type, void *dst, size_t nbytes, uint64_t *rng)
{
    unsigned char *p = dst;
    if (type == FSK_TYPE_F32 || type == FSK_TYPE_F16 || type == FSK_TYPE_BF16) {
        fill_float_type(type, p, nbytes, rng);
        return 1;
    }
    const struct fsk_type_traits *tr = fsk_type_traits(type);
    if (!tr)
        return 0;
    if (type == FSK_TYPE_Q4_1_R8 || type == FSK_TYPE_Q5_1_R8) { /* eight rows' scales, then mins */
        const size_t rs = type == FSK_TYPE_Q4_1_R8 ? sizeof(fsk_block_q4_1_r8) : sizeof(fsk_block_q5_1_r8);
        fill_bytes(p, nbytes, rng);
        for (size_t off = 0; off + rs <= nbytes; off += rs)
            for (size_t j = 0; j < FSK_R8; j++) {
                put_half(p + off, 2 * j, scale_half(rng));
                put_half(p + off, 16 + 2 * j, (fsk_half)(0x8000u | scale_half(rng)));
            }
        return 1;
    }
    if (type == FSK_TYPE_Q4_0_R8 || type == FSK_TYPE_Q5_0_R8) { /* eight rows' scales first */
        const size_t rs = type == FSK_TYPE_Q4_0_R8 ? sizeof(fsk_block_q4_0_r8) : sizeof(fsk_block_q5_0_r8);
        fill_bytes(p, nbytes, rng);
        for (size_t off = 0; off + rs <= nbytes; off += rs)
            for (size_t j = 0; j < FSK_R8; j++)
                put_half(p + off, 2 * j, scale_half(rng));
        return 1;
    }
    if (type == FSK_TYPE_Q4_K_R8 || type == FSK_TYPE_Q5_K_R8) { /* eight rows' d, then dmin */
        const size_t rs = type == FSK_TYPE_Q4_K_R8 ? sizeof(fsk_block_q4_K_r8) : sizeof(fsk_block_q5_K_r8);
        fill_bytes(p, nbytes, rng);
        for (size_t off = 0; off + rs <= nbytes; off += rs)
            for (size_t j = 0; j < FSK_R8; j++) {
                put_half(p + off, 2 * j, scale_half(rng));
                put_half(p + off, 2 * FSK_R8 + 2 * j, scale_half(rng));
            }
        return 1;
    }
    if (type == FSK_TYPE_Q6_K_R8) { /* eight rows' d first; scales and codes any bits */
        fill_bytes(p, nbytes, rng);
        for (size_t off = 0; off + sizeof(fsk_block_q6_K_r8) <= nbytes; off += sizeof(fsk_block_q6_K_r8))
            for (size_t j = 0; j < FSK_R8; j++)
                put_half(p + off, 2 * j, scale_half(rng));
        return 1;
    }
    if (type == FSK_TYPE_Q8_0_R8) { /* records of eight rows' scales and quants */
        fill_bytes(p, nbytes, rng);
        for (size_t off = 0; off + sizeof(fsk_block_q8_0_r8) <= nbytes; off += sizeof(fsk_block_q8_0_r8)) {
            for (size_t j = 0; j < FSK_R8; j++)
                put_half(p + off, offsetof(fsk_block_q8_0_r8, d) + 2 * j, scale_half(rng));
            clamp_q8((int8_t *)(p + off + offsetof(fsk_block_q8_0_r8, qs)), FSK_R8 * FSK_QK);
        }
        return 1;
    }
    const struct scaled_block *sb = NULL;
    for (size_t i = 0; i < sizeof scaled_blocks / sizeof *scaled_blocks; i++)
        if (scaled_blocks[i].type == type)
            sb = &scaled_blocks[i];
    int q8 = type == FSK_TYPE_Q8_0 || type == FSK_TYPE_Q8_1 || type == FSK_TYPE_Q8_K;
    if (!sb && !q8)
        return 0;
    fill_bytes(p, nbytes, rng);
    for (size_t off = 0; off + tr->block_bytes <= nbytes; off += tr->block_bytes) {
        if (sb)
            fix_scaled(sb, p + off, rng);
        else
            fix_q8(type, p + off, rng);
    }
    return 1;
}

/* amx.c (avx512 + AMX-INT8): the prefill matmuls of the eight-row records (Q8_0, Q4_0, Q4_1,
 * Q5_0, Q5_1) with the integer sums from tile instructions.
 *
 * One tile product per 32-element block: A is 16 tokens' activation quants (16 rows of 32 bytes,
 * read in place: the row stride is the activations'), B one record's quants (8 rows of 32 bytes:
 * B row k holds quants 4k..4k+3 of each of the record's 8 weight rows, which is the record's own
 * order, so Q8_0 records are read in place, Q4 ones only split into nibbles and Q5 ones given
 * their fifth bits by a masked add), C the 16 x 8
 * int32 sums. Two records (16 weight rows) per block make two C tiles, stored side by side so
 * that each token's 16 sums are one vector. After each block the float work is the AVX2 kernel's
 * (kernels/x86/avx2/quant.c: r8q8_group, r8q40_group, r8_group) lane for lane: acc = fma(float(sum),
 * d_w * d_a, acc), the minimum terms in a chain of their own; so the results are the AVX2 matmul's
 * and matvec's bit for bit, with the 16 rows of a vector in place of 8.
 *
 * Tiles: 0 A, 1 and 2 B (the two records), 3 and 4 C. Each call loads the configuration and
 * releases the tiles before it returns (the pool's threads run other kernels in between). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "isa.h"
#include "../loadu.h"
#include "kernels.h"
#include "quant.h"
#include "unroll.h"
#include "../amx.h"
#include "../vnni.h"
#include "../q4k_r8.h"

#ifdef FSK_AMX_R8

#define QINLINE FSK_FORCE_INLINE
#define UNROLL FSK_UNROLL16
#define AMX_T __attribute__((target("amx-tile,amx-int8")))

/* The tile numbers, literal for the intrinsics' assembly: two sets of A, B, C, which alternate
 * from block to block so that one block's product runs while the one before is stored and scaled
 * (a tile is written only after the instructions reading it are done). */
#define TA0 0
#define TB0 1
#define TC0 2
#define TA1 3
#define TB1 4
#define TC1 5

/* Per-tile tables up to this many bytes live on the stack (SmolLM2's rows: at most 48 blocks,
 * 6 KiB); longer rows take them from the heap, so that a pool thread with a small stack is never
 * at risk. */
#define AMX_STACK_TABLES 8192

enum amx_kind { AMX_Q8_0, AMX_Q4_0, AMX_Q4_1, AMX_Q5_0, AMX_Q5_1, AMX_Q4_K, AMX_Q5_K, AMX_Q6_K };

/* Records with minimums (Q8_1 activations, s_a), with fifth bits, with 8 or 16 sum(a) taken off. */
#define KIND_MIN(k) ((k) == AMX_Q4_1 || (k) == AMX_Q5_1)
#define KIND_FIFTH(k) ((k) == AMX_Q5_0 || (k) == AMX_Q5_1)
#define KIND_SUMS(k) ((k) == AMX_Q4_0 || (k) == AMX_Q5_0)

struct amx_cfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

/* Palette 1: A 16 x 32 bytes, B 8 x 64, C 16 x 64 (16 int32). A constant in memory: the
 * configuration intrinsic's assembly names only the first 8 bytes as its operand, so fields
 * written just before it could be dropped as dead stores. */
static const struct amx_cfg amx_cfg = {
    .palette = 1,
    .colsb = {[TA0] = 32, [TB0] = 64, [TC0] = 64, [TA1] = 32, [TB1] = 64, [TC1] = 64},
    .rows = {[TA0] = 16, [TB0] = 8, [TC0] = 16, [TA1] = 16, [TB1] = 8, [TC1] = 16},
};

/* Q6_K's 16-element groups: A 16 x 16 bytes, B 4 x 64, C 16 x 64. */
static const struct amx_cfg amx_cfg16 = {
    .palette = 1,
    .colsb = {[TA0] = 16, [TB0] = 64, [TC0] = 64, [TA1] = 16, [TB1] = 64, [TC1] = 64},
    .rows = {[TA0] = 16, [TB0] = 4, [TC0] = 16, [TA1] = 16, [TB1] = 4, [TC1] = 16},
};

static AMX_T void amx_begin(int k16)
{
    _tile_loadconfig(k16 ? &amx_cfg16 : &amx_cfg);
}

/* The tile loads' assembly names no memory operand: this keeps stores to a buffer before them. */
#define AMX_MEM_BARRIER() __asm__ volatile("" ::: "memory")

/* Two records' codes (16 weight rows) as the 8 x 64 bytes of a B tile: row k is quants
 * 4k..4k+3 of the first record's eight rows, then of the second's. The halves of a 64-byte load
 * of a record are its rows k and k + 1; these put row k of each record side by side. */
static const int64_t lo_halves[8] = {0, 1, 2, 3, 8, 9, 10, 11}, hi_halves[8] = {4, 5, 6, 7, 12, 13, 14, 15};

QINLINE void pair_rows(uint8_t *dst, __m512i a, __m512i b)
{
    const __m512i lo = _mm512_loadu_si512(lo_halves), hi = _mm512_loadu_si512(hi_halves);
    _mm512_store_si512(dst, _mm512_permutex2var_epi64(a, lo, b));
    _mm512_store_si512(dst + 64, _mm512_permutex2var_epi64(a, hi, b));
}

/* Q8_0 records: their quants are already B rows, 32 bytes per record. */
QINLINE void q8_codes(uint8_t *dst, const int8_t *q0, const int8_t *q1)
{
    UNROLL for (int k = 0; k < 8; k += 2)
        pair_rows(dst + 64 * k, _mm512_loadu_si512(q0 + 32 * k), _mm512_loadu_si512(q1 + 32 * k));
}

/* Q4 records: rows 0..3 are the low nibbles of qs[32k..], rows 4..7 the high ones (quants 16 +
 * 4k..). */
QINLINE void q4_codes(uint8_t *dst, const uint8_t *q0, const uint8_t *q1)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    UNROLL for (int h = 0; h < 2; h++) {
        const __m512i a = _mm512_loadu_si512(q0 + 64 * h), b = _mm512_loadu_si512(q1 + 64 * h);
        pair_rows(dst + 128 * h, _mm512_and_si512(a, m4), _mm512_and_si512(b, m4));
        pair_rows(dst + 256 + 128 * h, _mm512_and_si512(_mm512_srli_epi16(a, 4), m4),
                  _mm512_and_si512(_mm512_srli_epi16(b, 4), m4));
    }
}

/* Q5 records: Q4's codes, and 16 added where a fifth bit is set. A 64-byte load holds quant
 * vectors 2h and 2h + 1, whose low-nibble masks are the record's two 32-bit masks at qh + 8h and
 * whose high-nibble ones those at qh + 16 + 8h (fsk_block_q5_0_r8): one 64-bit mask each. h0, q0
 * are the first record's masks and quants, h1, q1 the second's. */
QINLINE void q5_codes(uint8_t *dst, const uint8_t *h0, const uint8_t *q0, const uint8_t *h1,
                      const uint8_t *q1)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), b4 = _mm512_set1_epi8(0x10);
    UNROLL for (int h = 0; h < 2; h++) {
        const __m512i a = _mm512_loadu_si512(q0 + 64 * h), b = _mm512_loadu_si512(q1 + 64 * h);
        const __mmask64 la = load_u64(h0 + 8 * h), lb = load_u64(h1 + 8 * h);
        const __mmask64 ha = load_u64(h0 + 16 + 8 * h), hb = load_u64(h1 + 16 + 8 * h);
        const __m512i alo = _mm512_and_si512(a, m4), blo = _mm512_and_si512(b, m4);
        const __m512i ahi = _mm512_and_si512(_mm512_srli_epi16(a, 4), m4);
        const __m512i bhi = _mm512_and_si512(_mm512_srli_epi16(b, 4), m4);
        pair_rows(dst + 128 * h, _mm512_mask_add_epi8(alo, la, alo, b4),
                  _mm512_mask_add_epi8(blo, lb, blo, b4));
        pair_rows(dst + 256 + 128 * h, _mm512_mask_add_epi8(ahi, ha, ahi, b4),
                  _mm512_mask_add_epi8(bhi, hb, bhi, b4));
    }
}

/* The per-token, per-block numbers of one 16-token tile, [block][token]: d_a, and s_a (Q4_1) or
 * 8 sum(a) (Q4_0, Q5_0). */
QINLINE void amx_tables(enum amx_kind kind, float *da, float *sa, int32_t *s8, const char *x,
                        size_t x_stride, size_t nb)
{
    const size_t bs = KIND_MIN(kind) ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    for (int t = 0; t < 16; t++) {
        const char *xt = x + (size_t)t * x_stride;
        for (size_t i = 0; i < nb; i++) {
            const char *blk = xt + i * bs;
            da[i * 16 + (size_t)t] = _cvtsh_ss(load_u16(blk));
            if (KIND_MIN(kind))
                sa[i * 16 + (size_t)t] = _cvtsh_ss(load_u16(blk + 2));
            if (KIND_SUMS(kind)) {
                const fsk_block_q8_0 *b = (const fsk_block_q8_0 *)(const void *)blk;
                int32_t s = 0;
                for (int j = 0; j < FSK_QK; j++)
                    s += b->qs[j];
                s8[i * 16 + (size_t)t] = 8 * s;
            }
        }
    }
}

/* Block i's B rows into codes: built a block before its tile load, as a tile load waits for the
 * stores it reads to reach the cache. */
#define AMX_CODES(codes, i)                                                                        \
    do {                                                                                           \
        const char *b0_ = g0 + (i) * rs, *b1_ = g1 + (i) * rs;                                     \
        if (kind == AMX_Q8_0)                                                                      \
            q8_codes(codes, (const int8_t *)(b0_ + roff), (const int8_t *)(b1_ + roff));           \
        else if (KIND_FIFTH(kind))                                                                 \
            q5_codes(codes, (const uint8_t *)b0_ + hoff, (const uint8_t *)b0_ + roff,              \
                     (const uint8_t *)b1_ + hoff, (const uint8_t *)b1_ + roff);                    \
        else                                                                                       \
            q4_codes(codes, (const uint8_t *)(b0_ + roff), (const uint8_t *)(b1_ + roff));         \
    } while (0)

/* Block i's product into tile set (a, b, c): A read in place, B from codes. */
#define AMX_PREP(a, b, c, codes, i)                                                                \
    do {                                                                                           \
        AMX_MEM_BARRIER();                                                                         \
        _tile_loadd(a, x + (i) * bs + qoff, (long)x_stride);                                       \
        _tile_loadd(b, codes, 64);                                                                 \
        _tile_zero(c);                                                                             \
        if (kind == AMX_Q8_0)                                                                      \
            _tile_dpbssd(c, a, b);                                                                 \
        else                                                                                       \
            _tile_dpbsud(c, a, b);                                                                 \
    } while (0)

/* Block i's sums out of tile c into the accumulators, as the AVX2 kernels do. */
#define AMX_FINISH(c, cbuf, i)                                                                     \
    do {                                                                                           \
        _tile_stored(c, cbuf, 64);                                                                 \
        const __m512 d_ = fsk_avx512_halves16(g0 + (i) * rs, g1 + (i) * rs);                      \
        const float *da_ = da + (i) * 16;                                                          \
        UNROLL for (int t = 0; t < 16; t++) {                                                      \
            __m512i s_ = _mm512_load_si512(cbuf + 16 * t);                                         \
            if (KIND_SUMS(kind)) /* 8 or 16 sum(a), as the AVX2 kernel */                          \
                s_ = _mm512_sub_epi32(s_, _mm512_set1_epi32(s8[(i) * 16 + (size_t)t] *             \
                                                             (kind == AMX_Q5_0 ? 2 : 1)));         \
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s_), _mm512_mul_ps(d_, _mm512_set1_ps(da_[t])), acc[t]); \
        }                                                                                          \
    } while (0)

/* y[t][16 rows] for the 16 tokens at x and the record groups g, g + 1 (rows 8g..8g+15). */
QINLINE AMX_T void amx_pair(enum amx_kind kind, float *y, size_t ldy, const char *w, size_t gs,
                            size_t g, const char *x, size_t x_stride, size_t nb, const float *da,
                            const float *sa, const int32_t *s8)
{
    const size_t rs = kind == AMX_Q8_0 ? sizeof(fsk_block_q8_0_r8)
                      : kind == AMX_Q4_0 ? sizeof(fsk_block_q4_0_r8)
                      : kind == AMX_Q5_0 ? sizeof(fsk_block_q5_0_r8)
                      : kind == AMX_Q5_1 ? sizeof(fsk_block_q5_1_r8)
                                         : sizeof(fsk_block_q4_1_r8);
    const size_t bs = KIND_MIN(kind) ? sizeof(fsk_block_q8_1) : sizeof(fsk_block_q8_0);
    const size_t qoff = KIND_MIN(kind) ? offsetof(fsk_block_q8_1, qs) : offsetof(fsk_block_q8_0, qs);
    /* where the quants and the fifth bits start in a record (its d[], then m[], come first) */
    const size_t roff = kind == AMX_Q8_0 ? offsetof(fsk_block_q8_0_r8, qs)
                        : kind == AMX_Q4_0 ? offsetof(fsk_block_q4_0_r8, qs)
                        : kind == AMX_Q5_0 ? offsetof(fsk_block_q5_0_r8, qs)
                        : kind == AMX_Q5_1 ? offsetof(fsk_block_q5_1_r8, qs)
                                           : offsetof(fsk_block_q4_1_r8, qs);
    const size_t hoff =
        kind == AMX_Q5_1 ? offsetof(fsk_block_q5_1_r8, qh) : offsetof(fsk_block_q5_0_r8, qh);
    const char *g0 = w + g * gs, *g1 = g0 + gs;
    _Alignas(64) int32_t c0[16 * 16], c1[16 * 16];
    _Alignas(64) uint8_t codes0[512], codes1[512];
    __m512 acc[16];
    UNROLL for (int t = 0; t < 16; t++)
        acc[t] = _mm512_setzero_ps();
    /* block i + 1's product is under way while block i is scaled, and block i + 2's codes are
     * built (into the buffer block i's tile load has read) */
    AMX_CODES(codes0, 0);
    if (nb > 1)
        AMX_CODES(codes1, 1);
    AMX_PREP(TA0, TB0, TC0, codes0, 0);
    for (size_t i = 0;;) {
        if (i + 2 < nb)
            AMX_CODES(codes0, i + 2);
        if (i + 1 < nb)
            AMX_PREP(TA1, TB1, TC1, codes1, i + 1);
        AMX_FINISH(TC0, c0, i);
        if (++i == nb)
            break;
        if (i + 2 < nb)
            AMX_CODES(codes1, i + 2);
        if (i + 1 < nb)
            AMX_PREP(TA0, TB0, TC0, codes0, i + 1);
        AMX_FINISH(TC1, c1, i);
        if (++i == nb)
            break;
    }
    if (KIND_MIN(kind)) {
        /* the minimums' chain: accm = fma(m_w, s_a, accm) over the blocks, then acc + accm */
        __m512 accm[16];
        UNROLL for (int t = 0; t < 16; t++)
            accm[t] = _mm512_setzero_ps();
        for (size_t i = 0; i < nb; i++) {
            /* m[] right after d[] in Q4_1's and Q5_1's records */
            const __m512 m = fsk_avx512_halves16(g0 + i * rs + 2 * FSK_R8, g1 + i * rs + 2 * FSK_R8);
            UNROLL for (int t = 0; t < 16; t++)
                accm[t] = _mm512_fmadd_ps(m, _mm512_set1_ps(sa[i * 16 + (size_t)t]), accm[t]);
        }
        UNROLL for (int t = 0; t < 16; t++)
            acc[t] = _mm512_add_ps(acc[t], accm[t]);
    }
    UNROLL for (int t = 0; t < 16; t++)
        _mm512_storeu_ps(y + (size_t)t * ldy + 8 * g, acc[t]);
}
#undef AMX_CODES
#undef AMX_PREP
#undef AMX_FINISH

/* ------------------------------------------------------------------ Q4_K and Q5_K records
 * One tile product per 32-element sub-block s of a super-block: A = 16 tokens' quants of s (Q8_K,
 * read in place), B = the codes of s in two records side by side, built as q4_codes builds them
 * (the low nibbles of pair p's eight quant vectors are sub-block 2p, the high ones 2p + 1). The
 * eight products' sums go to memory, and then per token the AVX2 kernel's (r8q4k_group) integer
 * and float work, 16 rows to a vector: sumi = sum_s sc_s isum_s, summ = sum_p madd(m pairs, bsum
 * pairs), the block's value by one fused multiply-subtract, blocks added left to right. */

/* A super-block's codes of two records (quants q0, q1; Q5_K's masks h0, h1, else NULL), eight
 * sub-blocks of 512 bytes (B tiles). A 64-byte load holds quant vectors k, k + 1 of pair p, whose
 * Q5_K masks are 64 bits at 64p + 32(k / 4) + 4(k % 4) (low nibbles) and 16 bytes on. */
QINLINE void q4k_codes(uint8_t *dst, const uint8_t *q0, const uint8_t *q1, const uint8_t *h0,
                       const uint8_t *h1)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f), b4 = _mm512_set1_epi8(0x10);
    UNROLL for (int p = 0; p < 4; p++)
        UNROLL for (int k = 0; k < 8; k += 2) {
            const __m512i a = _mm512_loadu_si512(q0 + 256 * p + 32 * k);
            const __m512i b = _mm512_loadu_si512(q1 + 256 * p + 32 * k);
            __m512i alo = _mm512_and_si512(a, m4), blo = _mm512_and_si512(b, m4);
            __m512i ahi = _mm512_and_si512(_mm512_srli_epi16(a, 4), m4);
            __m512i bhi = _mm512_and_si512(_mm512_srli_epi16(b, 4), m4);
            if (h0) {
                const size_t at = 64 * (size_t)p + 32 * (size_t)(k / 4) + 4 * (size_t)(k % 4);
                alo = _mm512_mask_add_epi8(alo, load_u64(h0 + at), alo, b4);
                blo = _mm512_mask_add_epi8(blo, load_u64(h1 + at), blo, b4);
                ahi = _mm512_mask_add_epi8(ahi, load_u64(h0 + at + 16), ahi, b4);
                bhi = _mm512_mask_add_epi8(bhi, load_u64(h1 + at + 16), bhi, b4);
            }
            pair_rows(dst + 1024 * p + 64 * k, alo, blo);
            pair_rows(dst + 1024 * p + 512 + 64 * k, ahi, bhi);
        }
}

/* The product of sub-block (Q6_K: group) s, depth elements deep, into tile set (a, b, c): A the
 * tokens' quants of s at xi (row stride x_stride), B its codes, 16 depth bytes a sub-block. */
#define K_PREP(a, b, c, s, depth)                                                                  \
    do {                                                                                           \
        AMX_MEM_BARRIER();                                                                         \
        _tile_loadd(a, xi + offsetof(fsk_block_q8_K, qs) + (depth) * (s), (long)x_stride);       \
        _tile_loadd(b, codes + 16 * (depth) * (s), 64);                                            \
        _tile_zero(c);                                                                             \
        _tile_dpbsud(c, a, b);                                                                     \
    } while (0)
/* A super-block's n products into c[0..n-1], the two tile sets alternating: one product runs
 * while the one before is stored. */
#define K_PRODUCTS(n, depth)                                                                       \
    do {                                                                                           \
        K_PREP(TA0, TB0, TC0, 0, depth);                                                           \
        for (int s_ = 0; s_ < (n); s_ += 2) {                                                      \
            K_PREP(TA1, TB1, TC1, s_ + 1, depth);                                                  \
            _tile_stored(TC0, c[s_], 64);                                                          \
            if (s_ + 2 < (n))                                                                      \
                K_PREP(TA0, TB0, TC0, s_ + 2, depth);                                              \
            _tile_stored(TC1, c[s_ + 1], 64);                                                      \
        }                                                                                          \
    } while (0)

/* y[t][16 rows] for the 16 tokens at x and the record groups g, g + 1 (rows 8g..8g+15): Q4_K
 * records, or Q5_K ones (five). */
QINLINE AMX_T void amx_q4k_pair(float *y, size_t ldy, const char *w, size_t gs, size_t g,
                                const char *x, size_t x_stride, size_t nb, int five)
{
    const size_t rs = five ? sizeof(fsk_block_q5_K_r8) : sizeof(fsk_block_q4_K_r8);
    const size_t qs_at = five ? offsetof(fsk_block_q5_K_r8, qs) : offsetof(fsk_block_q4_K_r8, qs);
    const uint8_t *w0 = (const uint8_t *)w + g * gs, *w1 = w0 + gs;
    _Alignas(64) int32_t c[8][16 * 16];
    _Alignas(64) uint8_t codes[8 * 512];
    __m512 acc[16];
    UNROLL for (int t = 0; t < 16; t++)
        acc[t] = _mm512_setzero_ps();
    for (size_t i = 0; i < nb; i++) {
        const char *xi = x + i * sizeof(fsk_block_q8_K);
        const uint8_t *b0 = w0 + i * rs, *b1 = w1 + i * rs; /* d, dmin and sm alike in both */
        const fsk_block_q4_K_r8 *r0 = (const fsk_block_q4_K_r8 *)(const void *)b0;
        const fsk_block_q4_K_r8 *r1 = (const fsk_block_q4_K_r8 *)(const void *)b1;
        q4k_codes(codes, b0 + qs_at, b1 + qs_at, five ? b0 + offsetof(fsk_block_q5_K_r8, qh) : NULL,
                  five ? b1 + offsetof(fsk_block_q5_K_r8, qh) : NULL);
        K_PRODUCTS(8, 32);
        _Alignas(32) uint8_t u0[128], u1[128];
        fsk_k8_unpack(r0->sm, u0);
        fsk_k8_unpack(r1->sm, u1);
        __m512i sc[8], mp[4];
        UNROLL for (int sb = 0; sb < 8; sb++)
            sc[sb] = _mm512_cvtepu8_epi32(_mm_unpacklo_epi64(_mm_loadl_epi64((const __m128i *)(const void *)(u0 + 8 * sb)),
                                                               _mm_loadl_epi64((const __m128i *)(const void *)(u1 + 8 * sb))));
        UNROLL for (int p = 0; p < 4; p++)
            mp[p] = _mm512_cvtepu8_epi16(_mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(u0 + 64 + 16 * p))),
                _mm_loadu_si128((const __m128i *)(const void *)(u1 + 64 + 16 * p)), 1));
        const __m512 d = fsk_avx512_halves16(r0->d, r1->d);
        const __m512 dm = fsk_avx512_halves16(r0->dmin, r1->dmin);
        UNROLL for (int t = 0; t < 16; t++) {
            const fsk_block_q8_K *a = (const fsk_block_q8_K *)(const void *)(xi + (size_t)t * x_stride);
            __m512i sumi = _mm512_setzero_si512(), summ = _mm512_setzero_si512();
            UNROLL for (int sb = 0; sb < 8; sb++)
                sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(sc[sb], _mm512_load_si512(c[sb] + 16 * t)));
            int32_t bp[4];
            fsk_k8_bsum_pairs(a, bp);
            UNROLL for (int p = 0; p < 4; p++)
                summ = _mm512_add_epi32(summ, _mm512_madd_epi16(mp[p], _mm512_set1_epi32(bp[p])));
            const __m512 da = _mm512_set1_ps(a->d);
            const __m512 mins = _mm512_mul_ps(_mm512_mul_ps(dm, da), _mm512_cvtepi32_ps(summ));
            acc[t] = _mm512_add_ps(acc[t], _mm512_fmsub_ps(_mm512_mul_ps(d, da), _mm512_cvtepi32_ps(sumi), mins));
        }
    }
    UNROLL for (int t = 0; t < 16; t++)
        _mm512_storeu_ps(y + (size_t)t * ldy + 8 * g, acc[t]);
}

/* ------------------------------------------------------------------ Q6_K records
 * One tile product per 16-element group (sixteen per super-block, the tiles configured 16 bytes
 * deep): A is 16 tokens' quants of the group, B its codes (0..63) of two records side by side,
 * built as the AVX2 kernel builds them (q6_code) 64 bytes at a time. Then per token the AVX2
 * kernel's (r8q6k_group) integer and float steps, 16 rows to a vector: sumi = sum_g sc_g isum_g -
 * 32 sum_g sc_g bsum_g, the value (d_w d_a) sumi, blocks added left to right. */

/* Chunk m's codes of a record, quant vectors k and k + 1 (k even). */
QINLINE __m512i q6_code2(const fsk_block_q6_K_r8 *r, int m, int k)
{
    const __m512i l = _mm512_loadu_si512(r->ql + 256 * (m % 4) + 32 * k);
    const __m512i h = _mm512_loadu_si512(r->qh + 256 * (m % 2) + 32 * k);
    const __m512i lo = _mm512_and_si512(m < 4 ? l : _mm512_srli_epi16(l, 4), _mm512_set1_epi8(0x0f));
    __m512i hi;
    switch (m / 2) {
    case 0: hi = _mm512_slli_epi16(h, 4); break;
    case 1: hi = _mm512_slli_epi16(h, 2); break;
    case 2: hi = h; break;
    default: hi = _mm512_srli_epi16(h, 2); break;
    }
    return _mm512_or_si512(lo, _mm512_and_si512(hi, _mm512_set1_epi8(0x30)));
}

/* y[t][16 rows] for the 16 tokens at x and the record groups g, g + 1 (rows 8g..8g+15). */
QINLINE AMX_T void amx_q6k_pair(float *y, size_t ldy, const char *w, size_t gs, size_t g,
                                const char *x, size_t x_stride, size_t nb)
{
    const fsk_block_q6_K_r8 *g0 = (const fsk_block_q6_K_r8 *)(const void *)(w + g * gs);
    const fsk_block_q6_K_r8 *g1 = (const fsk_block_q6_K_r8 *)(const void *)(w + (g + 1) * gs);
    _Alignas(64) int32_t c[16][16 * 16], sc[16][16];
    _Alignas(64) int16_t pr[8][32];
    _Alignas(64) uint8_t codes[8 * 512];
    __m512 acc[16];
    UNROLL for (int t = 0; t < 16; t++)
        acc[t] = _mm512_setzero_ps();
    for (size_t i = 0; i < nb; i++) {
        const char *xi = x + i * sizeof(fsk_block_q8_K);
        UNROLL for (int m = 0; m < 8; m++)
            UNROLL for (int k = 0; k < 8; k += 2)
                pair_rows(codes + 512 * m + 64 * k, q6_code2(&g0[i], m, k), q6_code2(&g1[i], m, k));
        K_PRODUCTS(16, 16);
        /* lane j of pr[m]: row j's scales of groups 2m (low word) and 2m + 1 (high word) */
        UNROLL for (int m = 0; m < 8; m++) {
            const __m512i p = _mm512_cvtepi8_epi16(_mm256_inserti128_si256(
                _mm256_castsi128_si256(_mm_loadu_si128((const __m128i *)(const void *)(g0[i].sc + 16 * m))),
                _mm_loadu_si128((const __m128i *)(const void *)(g1[i].sc + 16 * m)), 1));
            _mm512_store_si512(pr[m], p);
            _mm512_store_si512(sc[2 * m], _mm512_srai_epi32(_mm512_slli_epi32(p, 16), 16));
            _mm512_store_si512(sc[2 * m + 1], _mm512_srai_epi32(p, 16));
        }
        const __m512 d = fsk_avx512_halves16(g0[i].d, g1[i].d);
        UNROLL for (int t = 0; t < 16; t++) {
            const fsk_block_q8_K *a = (const fsk_block_q8_K *)(const void *)(xi + (size_t)t * x_stride);
            __m512i sumi = _mm512_setzero_si512(), corr = _mm512_setzero_si512();
            UNROLL for (int gr = 0; gr < 16; gr++)
                sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(_mm512_load_si512(sc[gr]),
                                                                 _mm512_load_si512(c[gr] + 16 * t)));
            UNROLL for (int m = 0; m < 8; m++) {
                uint32_t bs;
                memcpy(&bs, a->bsums + 2 * m, sizeof bs);
                corr = _mm512_add_epi32(corr, _mm512_madd_epi16(_mm512_load_si512(pr[m]), _mm512_set1_epi32((int)bs)));
            }
            const __m512i is = _mm512_sub_epi32(sumi, _mm512_slli_epi32(corr, 5));
            const __m512 v = _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(a->d)), _mm512_cvtepi32_ps(is));
            acc[t] = _mm512_add_ps(acc[t], v);
        }
    }
    UNROLL for (int t = 0; t < 16; t++)
        _mm512_storeu_ps(y + (size_t)t * ldy + 8 * g, acc[t]);
}
#undef K_PREP
#undef K_PRODUCTS

typedef void (*mm_fn)(float *, size_t, const void *, size_t, const void *, size_t, size_t, size_t,
                      size_t, size_t);

QINLINE AMX_T void amx_matmul(enum amx_kind kind, float *y, size_t ldy, const void *w,
                              size_t row_stride, const void *x, size_t x_stride, size_t ncols,
                              size_t ntok, size_t r0, size_t r1, mm_fn rest)
{
    const int kfmt = kind == AMX_Q4_K || kind == AMX_Q5_K || kind == AMX_Q6_K;
    const size_t nb = ncols / (kfmt ? FSK_QK_K : FSK_QK), gs = FSK_R8 * row_stride;
    const size_t gbeg = r0 / FSK_R8, gend = r1 / FSK_R8, pend = gbeg + (gend - gbeg) / 2 * 2;
    const size_t tiles = ntok / 16;
    /* d_a, then s_a (Q4_1) or 8 sum(a) (Q4_0), 16 tokens per block: 4-byte entries alike */
    const size_t table_bytes = 2 * nb * 16 * sizeof(float);
    _Alignas(64) union { float f[AMX_STACK_TABLES / 4]; int32_t i[AMX_STACK_TABLES / 4]; } st;
    float *heap = NULL, *da = NULL, *sa = NULL;
    int32_t *s8 = NULL; /* Q4_0's and Q5_0's, where Q4_1's sa would be */
    if (nb > 0 && tiles > 0 && pend > gbeg) {
        if (kfmt) /* no tables: the K kernel reads the activations' numbers itself */
            da = st.f;
        else if (table_bytes <= sizeof st) {
            da = st.f;
            sa = st.f + nb * 16;
            s8 = st.i + nb * 16;
        } else if ((heap = malloc(table_bytes)) != NULL) {
            da = heap;
            sa = heap + nb * 16;
            s8 = (int32_t *)(void *)sa;
        }
    }
    if (!da) { /* no whole tile, or no memory for the tables */
        rest(y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1);
        return;
    }
    amx_begin(kind == AMX_Q6_K);
    for (size_t k = 0; k < tiles; k++) {
        const char *xk = (const char *)x + 16 * k * x_stride;
        float *yk = y + 16 * k * ldy;
        if (kind == AMX_Q6_K) {
            for (size_t g = gbeg; g < pend; g += 2)
                amx_q6k_pair(yk, ldy, w, gs, g, xk, x_stride, nb);
            continue;
        }
        if (kfmt) {
            for (size_t g = gbeg; g < pend; g += 2)
                amx_q4k_pair(yk, ldy, w, gs, g, xk, x_stride, nb, kind == AMX_Q5_K);
            continue;
        }
        amx_tables(kind, da, sa, s8, xk, x_stride, nb);
        for (size_t g = gbeg; g < pend; g += 2)
            amx_pair(kind, yk, ldy, w, gs, g, xk, x_stride, nb, da, sa, s8);
    }
    _tile_release();
    free(heap);
    /* an odd group left over, for the tiles' tokens; then the tokens after the last tile */
    if (pend < gend)
        rest(y, ldy, w, row_stride, x, x_stride, ncols, tiles * 16, pend * FSK_R8, r1);
    if (tiles * 16 < ntok)
        rest(y + tiles * 16 * ldy, ldy, w, row_stride, (const char *)x + tiles * 16 * x_stride,
             x_stride, ncols, ntok - tiles * 16, r0, r1);
}

/* fsk_matmul_<t>__amx for each layout, its AMX_<T> kind. */
#define AMX_EXPORT(t, T)                                                                           \
    AMX_T void fsk_matmul_##t##_r8__amx(float *y, size_t ldy, const void *w, size_t row_stride,    \
                                        const void *x, size_t x_stride, size_t ncols, size_t ntok, \
                                        size_t r0, size_t r1)                                      \
    {                                                                                              \
        amx_matmul(AMX_##T, y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1,               \
                   fsk_matmul_##t##_r8__avx2_rest);                                                \
    }
AMX_EXPORT(q8_0, Q8_0)
AMX_EXPORT(q4_0, Q4_0)
AMX_EXPORT(q4_1, Q4_1)
AMX_EXPORT(q5_0, Q5_0)
AMX_EXPORT(q5_1, Q5_1)
AMX_EXPORT(q4_k, Q4_K)
AMX_EXPORT(q5_k, Q5_K)
AMX_EXPORT(q6_k, Q6_K)
#undef AMX_EXPORT

#endif

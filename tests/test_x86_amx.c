/* test_x86_amx.c: the AMX-INT8 matmuls of the eight-row records (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
 * Q4_K, Q5_K, Q6_K) give the AVX2 matvec's results token by token, bit for bit: random quants
 * and the integer limits, rows that leave an odd group or no whole tile, token counts that
 * leave a tail, rows of 1 to 65 blocks; rows outside r0..r1 are not written. The exported AVX2
 * matmul (which takes this path for 16 tokens or more) is held to the same. Skipped (77) where
 * the build or the CPU has no AMX-INT8. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "f16.h"
#include "kernels.h"
#include "quant.h"
#include "x86/vnni.h"

#ifdef FSK_AMX_R8

typedef void (*matmul_fn)(float *, size_t, const void *, size_t, const void *, size_t, size_t, size_t,
                          size_t, size_t);
typedef void (*matvec_fn)(float *, const void *, size_t, const void *, size_t, size_t, size_t);

struct amx_case {
    enum fsk_type plain, layout, act;
    matmul_fn amx, op;
    matvec_fn mv;
};

static const struct amx_case cases[] = {
    {FSK_TYPE_Q8_0, FSK_TYPE_Q8_0_R8, FSK_TYPE_Q8_0, fsk_matmul_q8_0_r8__amx, fsk_matmul_q8_0_r8__avx2,
     fsk_matvec_q8_0_r8__avx2},
    {FSK_TYPE_Q4_0, FSK_TYPE_Q4_0_R8, FSK_TYPE_Q8_0, fsk_matmul_q4_0_r8__amx, fsk_matmul_q4_0_r8__avx2,
     fsk_matvec_q4_0_r8__avx2},
    {FSK_TYPE_Q4_1, FSK_TYPE_Q4_1_R8, FSK_TYPE_Q8_1, fsk_matmul_q4_1_r8__amx, fsk_matmul_q4_1_r8__avx2,
     fsk_matvec_q4_1_r8__avx2},
    {FSK_TYPE_Q5_0, FSK_TYPE_Q5_0_R8, FSK_TYPE_Q8_0, fsk_matmul_q5_0_r8__amx, fsk_matmul_q5_0_r8__avx2,
     fsk_matvec_q5_0_r8__avx2},
    {FSK_TYPE_Q5_1, FSK_TYPE_Q5_1_R8, FSK_TYPE_Q8_1, fsk_matmul_q5_1_r8__amx, fsk_matmul_q5_1_r8__avx2,
     fsk_matvec_q5_1_r8__avx2},
    {FSK_TYPE_Q4_K, FSK_TYPE_Q4_K_R8, FSK_TYPE_Q8_K, fsk_matmul_q4_k_r8__amx, fsk_matmul_q4_k_r8__avx2,
     fsk_matvec_q4_k_r8__avx2},
    {FSK_TYPE_Q5_K, FSK_TYPE_Q5_K_R8, FSK_TYPE_Q8_K, fsk_matmul_q5_k_r8__amx, fsk_matmul_q5_k_r8__avx2,
     fsk_matvec_q5_k_r8__avx2},
    {FSK_TYPE_Q6_K, FSK_TYPE_Q6_K_R8, FSK_TYPE_Q8_K, fsk_matmul_q6_k_r8__amx, fsk_matmul_q6_k_r8__avx2,
     fsk_matvec_q6_k_r8__avx2},
};
enum { NCASES = sizeof cases / sizeof *cases, KINDS = 3 };

/* 7 groups of eight rows: three pairs and one group left */
enum { ROWS = 56, MAXTOK = 48 };
/* up to 64 blocks the kernel's tables are on its stack, past that on the heap (blocks of the
 * type's size: 32 elements, 256 for Q4_K) */
static const size_t nblocks_list[] = {1, 17, 18, 64, 65};
static const size_t ntok_list[] = {16, 37, 48};
static const size_t spans[][2] = {{0, ROWS}, {8, 40}, {16, 24}, {24, 56}};

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t next32(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 32);
}

static float rndf(float lo, float hi)
{
    return lo + (hi - lo) * (float)(next32() >> 8) * (1.0f / 16777216.0f);
}

/* kind 0 random bytes, 1 every quant at its lowest (codes 0; -128 for Q8_0), 2 at its highest
 * (codes 15, 31 for the 5-bit formats, 63 for Q6_K; 127); the half scales small and finite */
static void weights(const struct amx_case *c, unsigned char *w, size_t row_bytes, size_t ncols, int kind)
{
    const struct fsk_type_traits *tr = fsk_type_traits(c->plain);
    const int q8 = c->plain == FSK_TYPE_Q8_0;
    const size_t scales = c->plain == FSK_TYPE_Q4_1 || c->plain == FSK_TYPE_Q5_1 ||
                                  c->plain == FSK_TYPE_Q4_K || c->plain == FSK_TYPE_Q5_K
                              ? 2
                              : 1;
    for (size_t r = 0; r < ROWS; r++)
        for (size_t b = 0; b < ncols / tr->block; b++) {
            unsigned char *blk = w + r * row_bytes + b * tr->block_bytes;
            for (size_t i = 0; i < tr->block_bytes; i++)
                blk[i] = kind == 0 ? (unsigned char)next32() : kind == 1 ? (q8 ? 0x80 : 0) : (q8 ? 0x7f : 0xff);
            /* the half scales lead the block, but Q6_K's d ends it */
            const size_t at = c->plain == FSK_TYPE_Q6_K ? offsetof(fsk_block_q6_K, d) : 0;
            for (size_t s = 0; s < scales; s++) {
                fsk_half h = fsk_f32_to_f16(rndf(-1e-2f, 1e-2f));
                memcpy(blk + at + 2 * s, &h, sizeof h);
            }
        }
}

/* kind 0 random, 1 every quant -127, 2 every quant 127 */
static void activations(const struct amx_case *c, unsigned char *x, size_t x_stride, size_t ncols, int kind)
{
    float *f = malloc(ncols * sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (int t = 0; t < MAXTOK; t++) {
        for (size_t i = 0; i < ncols; i++)
            f[i] = kind == 0 ? rndf(-3.0f, 3.0f) : kind == 1 ? -2.5f : 2.5f;
        if (c->act == FSK_TYPE_Q8_1)
            fsk_quantize_q8_1__ref(x + (size_t)t * x_stride, f, ncols);
        else if (c->act == FSK_TYPE_Q8_K)
            fsk_quantize_q8_k__ref(x + (size_t)t * x_stride, f, ncols);
        else
            fsk_quantize_q8_0__ref(x + (size_t)t * x_stride, f, ncols);
    }
    free(f);
}

START_TEST(test_amx_matches_matvec)
{
    const struct amx_case *c = &cases[_i / KINDS];
    const int kind = _i % KINDS;
    const char *name = fsk_type_traits(c->plain)->name;
    int tiles_run = 0;
    const size_t block = fsk_type_traits(c->plain)->block;
    for (size_t ci = 0; ci < sizeof nblocks_list / sizeof *nblocks_list; ci++) {
        const size_t ncols = nblocks_list[ci] * block;
        if (block > FSK_QK && nblocks_list[ci] > 32) /* the K kernels keep no tables: rows of */
            continue;                                 /* up to 18 super-blocks are enough */
        const size_t row_bytes = fsk_type_row_bytes(c->plain, ncols);
        const size_t x_stride = fsk_type_row_bytes(c->act, ncols);
        unsigned char *w = malloc(ROWS * row_bytes), *wr = malloc(ROWS * row_bytes);
        unsigned char *x = malloc(MAXTOK * x_stride);
        float *ref = malloc(MAXTOK * ROWS * sizeof(float)), *y = malloc(MAXTOK * ROWS * sizeof(float));
        ck_assert(w && wr && x && ref && y);
        weights(c, w, row_bytes, ncols, kind);
        activations(c, x, x_stride, ncols, kind);
        ck_assert_int_eq(fsk_repack_r8(wr, w, ROWS, row_bytes, ncols, c->layout), 0);
        for (size_t t = 0; t < MAXTOK; t++)
            c->mv(ref + t * ROWS, wr, row_bytes, x + t * x_stride, ncols, 0, ROWS);
        for (size_t si = 0; si < sizeof spans / sizeof *spans; si++)
            for (size_t ti = 0; ti < sizeof ntok_list / sizeof *ntok_list; ti++)
                for (int exported = 0; exported < 2; exported++) {
                    const size_t r0 = spans[si][0], r1 = spans[si][1], ntok = ntok_list[ti];
                    for (size_t i = 0; i < MAXTOK * ROWS; i++)
                        y[i] = NAN;
                    (exported ? c->op : c->amx)(y, ROWS, wr, row_bytes, x, x_stride, ncols, ntok, r0, r1);
                    tiles_run += r1 - r0 >= 16 && !exported;
                    for (size_t t = 0; t < MAXTOK; t++)
                        for (size_t r = 0; r < ROWS; r++) {
                            const float got = y[t * ROWS + r], want = ref[t * ROWS + r];
                            if (t >= ntok || r < r0 || r >= r1) {
                                ck_assert_msg(isnan(got), "%s: %zu columns, rows %zu..%zu, %zu tokens: "
                                              "wrote token %zu row %zu outside the call",
                                              name, ncols, r0, r1, ntok, t, r);
                                continue;
                            }
                            ck_assert_msg(memcmp(&got, &want, sizeof got) == 0,
                                          "%s %s, inputs %d: %zu columns, rows %zu..%zu, %zu tokens: "
                                          "token %zu row %zu is %.9g, the matvec's %.9g",
                                          name, exported ? "exported matmul" : "AMX matmul", kind, ncols,
                                          r0, r1, ntok, t, r, (double)got, (double)want);
                        }
                }
        free(w);
        free(wr);
        free(x);
        free(ref);
        free(y);
    }
    ck_assert_int_gt(tiles_run, 0);
}
END_TEST

int main(void)
{
    if (!fsk_amx_usable() || !fsk_isa_usable(FSK_ISA_AVX2, NULL)) {
        fprintf(stderr, "SKIP: this CPU has no AMX-INT8 with AVX-512 (or the OS did not grant the "
                        "tile state): the AVX2 matmuls run instead (test_x86_vnni checks those)\n");
        return 77;
    }
    Suite *s = suite_create("x86_amx");
    TCase *tc = tcase_create("amx");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_amx_matches_matvec, 0, NCASES * KINDS);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#else

int main(void)
{
    fprintf(stderr, "SKIP: this build has no AMX-INT8 matmuls (compiler, or AVX2/AVX-512 kernels "
                    "configured off)\n");
    return 77;
}

#endif

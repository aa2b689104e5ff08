/* test_x86_matmul.c: the two fronts of the eight-row records' prompt matmuls give the AVX2
 * matvec's results token by token, bit for bit: the AMX-INT8 ones (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,
 * Q4_K, Q5_K, Q6_K) and the zmm ones (AVX512-VNNI, the same layouts). Random quants and the
 * integer limits, rows that leave an odd group or no whole tile, token counts that leave a tail,
 * rows of 1 to 65 blocks (to 520 for the zmm kernels, whose table of sums then runs in passes or
 * moves to the heap); rows outside r0..r1 are not written. The exported AVX2 matmul (AMX for 16
 * tokens or more, zmm for fewer) is held to the same. Each front is skipped where the build or
 * the CPU lacks it, and the program (77) where both are. */
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

#if defined(FSK_AMX_R8) || defined(FSK_ZMM_R8)

typedef void (*matmul_fn)(float *, size_t, const void *, size_t, const void *, size_t, size_t, size_t,
                          size_t, size_t);
typedef void (*matvec_fn)(float *, const void *, size_t, const void *, size_t, size_t, size_t);

struct amx_case {
    enum fsk_type plain, layout, act;
    matmul_fn amx, zmm, op; /* amx, zmm NULL where the build has no such kernel */
    matvec_fn mv;
};

#ifdef FSK_AMX_R8
#define AMX(t) fsk_matmul_##t##__amx
#else
#define AMX(t) NULL
#endif
#ifdef FSK_ZMM_R8
#define ZMM(t) fsk_matmul_##t##__zmm
#else
#define ZMM(t) NULL
#endif
#define CASE(P, t, A, z)                                                                           \
    {FSK_TYPE_##P, FSK_TYPE_##P##_R8, FSK_TYPE_##A, AMX(t##_r8), z, fsk_matmul_##t##_r8__avx2,       \
     fsk_matvec_##t##_r8__avx2}
static const struct amx_case cases[] = {
    CASE(Q8_0, q8_0, Q8_0, ZMM(q8_0_r8)), CASE(Q4_0, q4_0, Q8_0, ZMM(q4_0_r8)),
    CASE(Q4_1, q4_1, Q8_1, ZMM(q4_1_r8)), CASE(Q5_0, q5_0, Q8_0, ZMM(q5_0_r8)),
    CASE(Q5_1, q5_1, Q8_1, ZMM(q5_1_r8)), CASE(Q4_K, q4_k, Q8_K, ZMM(q4_k_r8)),
    CASE(Q5_K, q5_k, Q8_K, ZMM(q5_k_r8)), CASE(Q6_K, q6_k, Q8_K, ZMM(q6_k_r8)),
};
#undef CASE
enum { NCASES = sizeof cases / sizeof *cases, KINDS = 3 };

/* 7 groups of eight rows: three pairs and one group left */
enum { ROWS = 56, MAXTOK = 48 };
/* up to 64 blocks the AMX kernel's tables are on its stack, past that on the heap (blocks of the
 * type's size: 32 elements, 256 for Q4_K); the zmm kernel's table of sums takes 56 tokens of 65
 * blocks at once, 24 of 130, and past 512 blocks a pass of tokens at a time from the heap */
static const size_t nblocks_amx[] = {1, 17, 18, 64, 65};
static const size_t nblocks_zmm[] = {1, 17, 18, 65, 130, 520};
/* AMX: a tile of 16 tokens and more; zmm: passes of 8 and their tails, and one token */
static const size_t ntok_amx[] = {16, 37, 48};
static const size_t ntok_zmm[] = {1, 2, 8, 9, 15, 48};
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

/* One front (AMX when zmm is 0) of case c against the matvec, on inputs of one kind. */
static void check_front(const struct amx_case *c, int zmm, int kind)
{
    const char *name = fsk_type_traits(c->plain)->name;
    const char *front = zmm ? "zmm matmul" : "AMX matmul";
    matmul_fn fn = zmm ? c->zmm : c->amx;
    const size_t *nbl = zmm ? nblocks_zmm : nblocks_amx, *ntl = zmm ? ntok_zmm : ntok_amx;
    const size_t n_nb = zmm ? sizeof nblocks_zmm / sizeof *nblocks_zmm : sizeof nblocks_amx / sizeof *nblocks_amx;
    const size_t n_nt = zmm ? sizeof ntok_zmm / sizeof *ntok_zmm : sizeof ntok_amx / sizeof *ntok_amx;
    int pairs_run = 0;
    const size_t block = fsk_type_traits(c->plain)->block;
    for (size_t ci = 0; ci < n_nb; ci++) {
        const size_t ncols = nbl[ci] * block;
        if (block > FSK_QK && nbl[ci] > 32) /* the K kernels keep no tables: rows of */
            continue;                        /* up to 18 super-blocks are enough */
        /* the heap's table of sums (rows past 512 blocks) on random inputs, whole rows, once */
        const int huge = nbl[ci] > 512;
        if (huge && kind != 0)
            continue;
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
        for (size_t si = 0; si < (huge ? 1 : sizeof spans / sizeof *spans); si++)
            for (size_t ti = 0; ti < n_nt; ti++)
                for (int exported = 0; exported < 2; exported++) {
                    const size_t r0 = spans[si][0], r1 = spans[si][1], ntok = ntl[ti];
                    for (size_t i = 0; i < MAXTOK * ROWS; i++)
                        y[i] = NAN;
                    (exported ? c->op : fn)(y, ROWS, wr, row_bytes, x, x_stride, ncols, ntok, r0, r1);
                    pairs_run += r1 - r0 >= 16 && !exported;
                    /* Check records every assertion it evaluates (a write per call): only a
                     * mismatch reaches one */
                    for (size_t t = 0; t < MAXTOK; t++)
                        for (size_t r = 0; r < ROWS; r++) {
                            const float got = y[t * ROWS + r], want = ref[t * ROWS + r];
                            if (t >= ntok || r < r0 || r >= r1) {
                                if (!isnan(got))
                                    ck_abort_msg("%s %s: %zu columns, rows %zu..%zu, %zu tokens: "
                                                 "wrote token %zu row %zu outside the call",
                                                 name, exported ? "exported matmul" : front, ncols, r0, r1,
                                                 ntok, t, r);
                                continue;
                            }
                            if (memcmp(&got, &want, sizeof got) != 0)
                                ck_abort_msg("%s %s, inputs %d: %zu columns, rows %zu..%zu, %zu tokens: "
                                             "token %zu row %zu is %.9g, the matvec's %.9g",
                                             name, exported ? "exported matmul" : front, kind, ncols,
                                             r0, r1, ntok, t, r, (double)got, (double)want);
                        }
                }
        free(w);
        free(wr);
        free(x);
        free(ref);
        free(y);
    }
    ck_assert_int_gt(pairs_run, 0);
}

START_TEST(test_amx_matches_matvec)
{
    check_front(&cases[_i / KINDS], 0, _i % KINDS);
}
END_TEST

/* _i runs over the cases that have a zmm kernel x kinds. */
START_TEST(test_zmm_matches_matvec)
{
    int n = 0;
    for (size_t ci = 0; ci < NCASES; ci++)
        if (cases[ci].zmm && n++ == _i / KINDS)
            check_front(&cases[ci], 1, _i % KINDS);
}
END_TEST

int main(void)
{
    const int avx2 = fsk_isa_usable(FSK_ISA_AVX2, NULL);
#ifdef FSK_AMX_R8
    const int amx = avx2 && fsk_amx_usable();
    const char *amx_lack = "CPU";
#else
    const int amx = 0;
    const char *amx_lack = "build";
#endif
#ifdef FSK_ZMM_R8
    const int zmm = avx2 && fsk_zmm_usable();
    const char *zmm_lack = "CPU";
#else
    const int zmm = 0;
    const char *zmm_lack = "build";
#endif
    if (!amx)
        fprintf(stderr, "SKIP (AMX part): this %s has no AMX-INT8 with AVX-512 (or the OS did not grant "
                        "the tile state)\n", amx_lack);
    if (!zmm)
        fprintf(stderr, "SKIP (zmm part): this %s has no AVX512-VNNI with AVX-512 BW and VL\n", zmm_lack);
    if (!amx && !zmm) {
        fprintf(stderr, "SKIP: neither front here; the AVX2 matmuls run instead (test_x86_vnni checks those)\n");
        return 77;
    }
    int nzmm = 0;
    for (size_t ci = 0; ci < NCASES; ci++)
        nzmm += cases[ci].zmm != NULL;
    Suite *s = suite_create("x86_matmul");
    TCase *tc = tcase_create("fronts");
    tcase_set_timeout(tc, 120);
    if (amx)
        tcase_add_loop_test(tc, test_amx_matches_matvec, 0, NCASES * KINDS);
    if (zmm)
        tcase_add_loop_test(tc, test_zmm_matches_matvec, 0, nzmm * KINDS);
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
    fprintf(stderr, "SKIP: this build has neither the AMX-INT8 nor the zmm matmuls (compiler, or "
                    "AVX2/AVX-512 kernels configured off)\n");
    return 77;
}

#endif

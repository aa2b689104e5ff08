/* test_x86_vnni.c: the paths of each x86 integer kernel that has several (maddubs, and vpdpbusd
 * or vpdpwssd where the CPU has VNNI: the repacked and K-format AVX2 kernels in EVEX and VEX
 * encodings, the AVX-512 32-element and K formats) agree bit for bit, at the integer limits too,
 * and the exported op takes the path named. */
#include "config.h"

#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "f16.h"
#include "kernels.h"
#include "quant.h"
#include "x86/vnni.h"

/* test_kernels_avx2 and test_kernels_avx512 check the path this CPU dispatches to against ref;
 * the paths do the same integer sums and then the same float operations in the same order, so
 * equality here carries that check over to the others. */
typedef void (*matmul_fn)(float *, size_t, const void *, size_t, const void *, size_t, size_t, size_t,
                          size_t, size_t);
typedef void (*matvec_fn)(float *, const void *, size_t, const void *, size_t, size_t, size_t);
struct kernel_paths {
    enum fsk_isa isa;
    enum fsk_type plain, layout, act; /* layout: the plain type or its repacked form */
    matvec_fn mv[3];                  /* by enum fsk_vnni_path; NULL where not built */
    matmul_fn mm[3];
    matvec_fn mv_op;
    matmul_fn mm_op;
};

#ifdef FSK_HAVE_AVX512VNNI
#define EVEX(f) f##_vnni512
#define Z(f) f##_vnni
#else
#define EVEX(f) NULL
#define Z(f) NULL
#endif
#ifdef FSK_HAVE_AVXVNNI
#define VEX(f) f##_avxvnni
#else
#define VEX(f) NULL
#endif
/* An AVX2 kernel: plain type T, layout L as loaded, op stem t, activations A. */
#define AVX2(T, L, t, A)                                                                           \
    {FSK_ISA_AVX2, FSK_TYPE_##T, FSK_TYPE_##L, FSK_TYPE_##A,                                       \
     {fsk_matvec_##t##__avx2_base, EVEX(fsk_matvec_##t##__avx2), VEX(fsk_matvec_##t##__avx2)},     \
     {fsk_matmul_##t##__avx2_base, EVEX(fsk_matmul_##t##__avx2), VEX(fsk_matmul_##t##__avx2)},     \
     fsk_matvec_##t##__avx2, fsk_matmul_##t##__avx2}
#ifdef FSK_BUILD_AVX512
#define V512(T, t, A)                                                                              \
    {FSK_ISA_AVX512, FSK_TYPE_##T, FSK_TYPE_##T, FSK_TYPE_##A,                                     \
     {fsk_matvec_##t##__avx512_base, Z(fsk_matvec_##t##__avx512), NULL},                           \
     {fsk_matmul_##t##__avx512_base, Z(fsk_matmul_##t##__avx512), NULL},                           \
     fsk_matvec_##t##__avx512, fsk_matmul_##t##__avx512},
#else
#define V512(T, t, A)
#endif
static const struct kernel_paths kp[] = {
    AVX2(Q4_1, Q4_1_R8, q4_1_r8, Q8_1), AVX2(Q8_0, Q8_0_R8, q8_0_r8, Q8_0),
    AVX2(Q4_0, Q4_0_R8, q4_0_r8, Q8_0), AVX2(Q4_K, Q4_K, q4_k, Q8_K), AVX2(Q5_K, Q5_K, q5_k, Q8_K),
    AVX2(Q6_K, Q6_K, q6_k, Q8_K), AVX2(Q4_0, Q4_0, q4_0, Q8_0), AVX2(Q4_1, Q4_1, q4_1, Q8_1),
    AVX2(Q5_0, Q5_0, q5_0, Q8_0), AVX2(Q5_1, Q5_1, q5_1, Q8_1), AVX2(Q5_0, Q5_0_R8, q5_0_r8, Q8_0),
    AVX2(Q5_1, Q5_1_R8, q5_1_r8, Q8_1), AVX2(Q4_K, Q4_K_R8, q4_k_r8, Q8_K),
    AVX2(Q5_K, Q5_K_R8, q5_k_r8, Q8_K), AVX2(Q6_K, Q6_K_R8, q6_k_r8, Q8_K),
    V512(Q4_0, q4_0, Q8_0) V512(Q4_1, q4_1, Q8_1) V512(Q5_0, q5_0, Q8_0) V512(Q5_1, q5_1, Q8_1)
    V512(Q8_0, q8_0, Q8_0) V512(Q4_K, q4_k, Q8_K) V512(Q5_K, q5_k, Q8_K) V512(Q6_K, q6_k, Q8_K)
};
#undef AVX2
#undef V512
enum { NKP = sizeof kp / sizeof *kp };
static const char *const path_names[3] = {"base", "VNNI (EVEX)", "VNNI (VEX)"};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next32(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 32);
}

static float rndf(float lo, float hi)
{
    return lo + (hi - lo) * (float)(next32() >> 8) * (1.0f / 16777216.0f);
}

/* Whether the CPU can run path p of an isa kernel (and this build has it). */
static int runnable(enum fsk_isa isa, enum fsk_vnni_path p)
{
    const struct fsk_cpu *c = fsk_cpu_get();
    if (!fsk_isa_usable(isa, NULL))
        return 0;
    switch (p) {
    case FSK_VNNI_NONE: return 1;
    case FSK_VNNI_EVEX:
#ifdef FSK_HAVE_AVX512VNNI
        return fsk_cpu_has(c, FSK_CPU_AVX512VNNI) && fsk_cpu_has(c, FSK_CPU_AVX512VL) &&
               fsk_cpu_has(c, FSK_CPU_AVX512BW) && fsk_cpu_has(c, FSK_CPU_OS_ZMM);
#else
        return 0;
#endif
    case FSK_VNNI_VEX:
#ifdef FSK_HAVE_AVXVNNI
        return isa == FSK_ISA_AVX2 && fsk_cpu_has(c, FSK_CPU_AVXVNNI) && fsk_cpu_has(c, FSK_CPU_OS_YMM);
#else
        return 0;
#endif
    }
    return 0;
}

/* The path the exported op of an isa kernel takes here. */
static enum fsk_vnni_path chosen_path(enum fsk_isa isa)
{
    if (isa == FSK_ISA_AVX2)
        return fsk_avx2_vnni_path();
    return runnable(isa, FSK_VNNI_EVEX) ? FSK_VNNI_EVEX : FSK_VNNI_NONE;
}

/* 18 blocks of 32 (the AVX-512 kernels' last quad partial), 3 super-blocks of 256 */
enum { ROWS = 24, NCOLS = 18 * 32, NCOLS_K = 3 * 256, NTOK = 5 };

static size_t ncols_of(const struct kernel_paths *p)
{
    return fsk_type_traits(p->plain)->block == 256 ? NCOLS_K : NCOLS;
}

/* Weight rows of the plain type: kind 0 random bytes, 1 every byte at its most negative quant
 * (codes 0; -128 for Q8_0), 2 at its largest (all bits set: codes 15, 31 or 63, K sub-block
 * scales at their largest; 127 for Q8_0); the half scales (d, and m or dmin) small and finite. */
static void weights(const struct kernel_paths *p, unsigned char *w, size_t row_bytes, int kind)
{
    const struct fsk_type_traits *tr = fsk_type_traits(p->plain);
    const size_t nb = ncols_of(p) / tr->block;
    const int q8 = p->plain == FSK_TYPE_Q8_0;
    for (size_t r = 0; r < ROWS; r++)
        for (size_t b = 0; b < nb; b++) {
            unsigned char *blk = w + r * row_bytes + b * tr->block_bytes;
            for (size_t i = 0; i < tr->block_bytes; i++)
                blk[i] = kind == 0 ? (unsigned char)next32() : kind == 1 ? (q8 ? 0x80 : 0) : (q8 ? 0x7f : 0xff);
            size_t at = 0, scales = 1; /* d (then m or dmin) lead the block, but Q6_K's d ends it */
            if (p->plain == FSK_TYPE_Q4_1 || p->plain == FSK_TYPE_Q5_1 || p->plain == FSK_TYPE_Q4_K ||
                p->plain == FSK_TYPE_Q5_K)
                scales = 2;
            if (p->plain == FSK_TYPE_Q6_K)
                at = offsetof(fsk_block_q6_K, d);
            for (size_t s = 0; s < scales; s++) {
                fsk_half h = fsk_f32_to_f16(rndf(-1e-2f, 1e-2f));
                memcpy(blk + at + 2 * s, &h, sizeof h);
            }
        }
}

/* Activations: kind 0 random, 1 every quant -127, 2 every quant 127 (the quantizers' limits). */
static void activations(const struct kernel_paths *p, unsigned char *x, size_t x_stride, int kind)
{
    const size_t n = ncols_of(p);
    float *f = malloc(n * sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (int t = 0; t < NTOK; t++) {
        for (size_t i = 0; i < n; i++)
            f[i] = kind == 0 ? rndf(-3.0f, 3.0f) : kind == 1 ? -2.5f : 2.5f;
        if (p->act == FSK_TYPE_Q8_1)
            fsk_quantize_q8_1__ref(x + t * x_stride, f, n);
        else if (p->act == FSK_TYPE_Q8_K)
            fsk_quantize_q8_k__ref(x + t * x_stride, f, n);
        else
            fsk_quantize_q8_0__ref(x + t * x_stride, f, n);
    }
    free(f);
}

static int same_bits(const float *a, const float *b, size_t n, size_t *at)
{
    for (size_t i = 0; i < n; i++)
        if (memcmp(&a[i], &b[i], sizeof *a) != 0) {
            *at = i;
            return 0;
        }
    return 1;
}

START_TEST(test_paths_agree)
{
    const struct kernel_paths *p = &kp[_i / 3];
    const int kind = _i % 3;
    const size_t ncols = ncols_of(p);
    const size_t row_bytes = fsk_type_row_bytes(p->plain, ncols);
    const size_t x_stride = fsk_type_row_bytes(p->act, ncols);
    unsigned char *w = malloc(ROWS * row_bytes), *wr = malloc(ROWS * row_bytes);
    unsigned char *x = malloc(NTOK * x_stride);
    float *y[3], *z[3];
    ck_assert(w && wr && x);
    weights(p, w, row_bytes, kind);
    activations(p, x, x_stride, kind);
    if (p->layout != p->plain)
        ck_assert_int_eq(fsk_repack_r8(wr, w, ROWS, row_bytes, ncols, p->layout), 0);
    else
        memcpy(wr, w, ROWS * row_bytes);
    int ran = 0;
    for (int q = 0; q < 3; q++) {
        y[q] = calloc(NTOK * ROWS, sizeof(float));
        z[q] = calloc(NTOK * ROWS, sizeof(float));
        ck_assert(y[q] && z[q]);
        if (!p->mv[q] || !runnable(p->isa, (enum fsk_vnni_path)q))
            continue;
        ran++;
        for (int t = 0; t < NTOK; t++) /* rows 8..ROWS only, so the matvec's r0 is used */
            p->mv[q](y[q] + t * ROWS, wr, row_bytes, x + t * x_stride, ncols, 8, ROWS);
        p->mm[q](z[q], ROWS, wr, row_bytes, x, x_stride, ncols, NTOK, 8, ROWS);
        for (int t = 0; t < NTOK; t++) {
            size_t at;
            ck_assert_msg(same_bits(y[q] + t * ROWS + 8, y[0] + t * ROWS + 8, ROWS - 8, &at),
                          "%s %s matvec, %s path, inputs %d, token %d row %zu: %.9g against the base path %.9g",
                          fsk_isa_name(p->isa), fsk_type_traits(p->plain)->name, path_names[q], kind, t,
                          at + 8, y[q][t * ROWS + 8 + at], y[0][t * ROWS + 8 + at]);
            ck_assert_msg(same_bits(z[q] + t * ROWS + 8, y[0] + t * ROWS + 8, ROWS - 8, &at),
                          "%s %s matmul, %s path, inputs %d, token %d row %zu: %.9g against the base path %.9g",
                          fsk_isa_name(p->isa), fsk_type_traits(p->plain)->name, path_names[q], kind, t,
                          at + 8, z[q][t * ROWS + 8 + at], y[0][t * ROWS + 8 + at]);
            ck_assert_float_eq(y[q][t * ROWS], 0.0f); /* rows before r0 untouched */
        }
        /* fewer tokens per call: every tail of a matmul's tile of tokens (1 to 3 left over) */
        for (size_t nt = 1; nt < NTOK; nt++) {
            float *zz = calloc(nt * ROWS, sizeof(float));
            ck_assert_ptr_nonnull(zz);
            p->mm[q](zz, ROWS, wr, row_bytes, x, x_stride, ncols, nt, 8, ROWS);
            for (size_t t = 0; t < nt; t++) {
                size_t at;
                ck_assert_msg(same_bits(zz + t * ROWS + 8, y[0] + t * ROWS + 8, ROWS - 8, &at),
                              "%s %s matmul of %zu tokens, %s path, inputs %d, token %zu row %zu",
                              fsk_isa_name(p->isa), fsk_type_traits(p->plain)->name, nt, path_names[q],
                              kind, t, at + 8);
            }
            free(zz);
        }
    }
    ck_assert_int_ge(ran, 2); /* main() adds this test only where a VNNI path runs */
    /* the exported ops are the path the dispatcher names, bit for bit */
    const enum fsk_vnni_path chosen = chosen_path(p->isa);
    ck_assert(runnable(p->isa, chosen));
    float *yo = calloc(NTOK * ROWS, sizeof(float));
    ck_assert_ptr_nonnull(yo);
    p->mm_op(yo, ROWS, wr, row_bytes, x, x_stride, ncols, NTOK, 8, ROWS);
    size_t at;
    ck_assert_msg(same_bits(yo, z[chosen], NTOK * ROWS, &at), "op differs from the %s path at %zu",
                  path_names[chosen], at);
    p->mv_op(yo, wr, row_bytes, x, ncols, 8, ROWS);
    ck_assert_msg(same_bits(yo + 8, y[chosen] + 8, ROWS - 8, &at), "matvec op differs at %zu", at);
    for (int q = 0; q < 3; q++) {
        free(y[q]);
        free(z[q]);
    }
    free(yo);
    free(w);
    free(wr);
    free(x);
}
END_TEST

int main(void)
{
    int loops[NKP * 3], n = 0, vnni = 0;
    for (int i = 0; i < NKP; i++) {
        if (!runnable(kp[i].isa, FSK_VNNI_NONE))
            continue;
        int any = 0;
        for (int q = 1; q < 3; q++)
            any |= kp[i].mv[q] && runnable(kp[i].isa, (enum fsk_vnni_path)q);
        if (!any)
            continue;
        vnni = 1;
        for (int k = 0; k < 3; k++)
            loops[n++] = 3 * i + k;
    }
    if (!vnni) {
        fprintf(stderr, "SKIP: this CPU (or build) has neither AVX512-VNNI nor AVX-VNNI: only the "
                        "base paths run here (test_kernels_avx2/avx512 check them against ref)\n");
        return 77;
    }
    if (!runnable(FSK_ISA_AVX2, FSK_VNNI_VEX))
        fprintf(stderr, "note: the %s path is not run here (CPU or build lacks it)\n", path_names[2]);
    if (!runnable(FSK_ISA_AVX512, FSK_VNNI_EVEX))
        fprintf(stderr, "note: the AVX-512 kernels' vpdpbusd path is not run here (CPU or build lacks it)\n");
    Suite *s = suite_create("x86_vnni");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, 60);
    for (int i = 0; i < n; i++)
        tcase_add_loop_test(tc, test_paths_agree, loops[i], loops[i] + 1);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

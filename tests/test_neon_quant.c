/* test_neon_quant.c: the two paths of each NEON quantized matvec (baseline Advanced SIMD and dotprod) agree bit for bit, at the int16 limits too; the NEON activation quantizers write ref's bytes exactly. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arm/neon/qdot.h"
#include "cpu.h"
#include "f16.h"
#include "quant.h"

/* test_kernels_neon checks the path this CPU dispatches to against ref; the paths do the same
 * integer sums and then the same float operations in the same order, so equality here carries
 * that check over to the other path. */
struct paths {
    enum fsk_type t;
    fsk_matvec_f32_fn base, sdot;
};

#define PATHS(T, t)                                                                                \
    {FSK_TYPE_##T, fsk_matvec_##t##__neon_base, fsk_matvec_##t##__neon_dotprod}
static const struct paths paths[] = {
    PATHS(Q4_0, q4_0), PATHS(Q4_1, q4_1), PATHS(Q5_0, q5_0), PATHS(Q5_1, q5_1),
    PATHS(Q8_0, q8_0), PATHS(Q4_K, q4_k), PATHS(Q5_K, q5_k), PATHS(Q6_K, q6_k),
};
#undef PATHS
enum { NPATHS = sizeof paths / sizeof *paths };

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

/* Random blocks with small finite half scales, for the formats we have no quantizer for. */
static void random_k_row(enum fsk_type t, unsigned char *row, size_t nblocks)
{
    const struct fsk_type_traits *tr = fsk_type_traits(t);
    for (size_t i = 0; i < nblocks * tr->block_bytes; i++)
        row[i] = (unsigned char)next32();
    for (size_t b = 0; b < nblocks; b++) {
        unsigned char *blk = row + b * tr->block_bytes;
        fsk_half h[2] = {fsk_f32_to_f16(rndf(1e-3f, 1e-2f)), fsk_f32_to_f16(rndf(1e-3f, 1e-2f))};
        if (t == FSK_TYPE_Q6_K)
            memcpy(blk + offsetof(fsk_block_q6_K, d), h, sizeof h[0]);
        else
            memcpy(blk, h, sizeof h); /* d and dmin lead Q4_K and Q5_K */
    }
}

static void activation(enum fsk_type act, void *x, const float *f, size_t ncols)
{
    if (act == FSK_TYPE_Q8_0)
        fsk_quantize_q8_0__ref(x, f, ncols);
    else if (act == FSK_TYPE_Q8_1)
        fsk_quantize_q8_1__ref(x, f, ncols);
    else
        fsk_quantize_q8_k__ref(x, f, ncols);
}

/* Runs both paths over rows r0..rows-1 of w and checks they agree, and leave rows < r0 alone. */
static void compare_paths(const struct paths *p, const unsigned char *w, size_t stride,
                          const void *x, size_t ncols, size_t rows, size_t r0)
{
    float *yb = malloc(rows * sizeof *yb), *ys = malloc(rows * sizeof *ys);
    ck_assert_ptr_nonnull(yb);
    ck_assert_ptr_nonnull(ys);
    for (size_t r = 0; r < rows; r++)
        yb[r] = ys[r] = -12345.0f;
    p->base(yb, w, stride, x, ncols, r0, rows);
    p->sdot(ys, w, stride, x, ncols, r0, rows);
    for (size_t r = 0; r < rows; r++) {
        if (r < r0) {
            ck_assert_msg(yb[r] == -12345.0f && ys[r] == -12345.0f, "row %zu < r0 written", r);
            continue;
        }
        ck_assert_msg(fsk_f32_to_bits(yb[r]) == fsk_f32_to_bits(ys[r]),
                      "type %d ncols=%zu row=%zu: base %.9g, dotprod %.9g", (int)p->t, ncols, r,
                      yb[r], ys[r]);
    }
    free(yb);
    free(ys);
}

/* Block counts 1..9 and a few longer rows; row counts around the 4-row pass; padded strides. */
START_TEST(test_paths_agree)
{
    static const size_t nblocks[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 64};
    static const size_t nrows[] = {1, 2, 3, 4, 5, 7, 8, 9};
    const struct paths *p = &paths[_i];
    const struct fsk_type_traits *tr = fsk_type_traits(p->t);
    for (size_t bi = 0; bi < sizeof nblocks / sizeof *nblocks; bi++) {
        const size_t ncols = nblocks[bi] * tr->block, rows = nrows[bi % 8];
        const size_t stride = fsk_type_row_bytes(p->t, ncols) + 2 * (bi & 1);
        unsigned char *w = malloc(rows * stride);
        float *f = malloc(ncols * sizeof *f);
        void *x = malloc(fsk_type_row_bytes(tr->act, ncols));
        ck_assert(w && f && x);
        for (size_t r = 0; r < rows; r++) {
            if (fsk_row_quantizer(p->t)) {
                for (size_t c = 0; c < ncols; c++)
                    f[c] = rndf(-1.0f, 1.0f) + 0.5f * (float)(r % 3);
                fsk_row_quantizer(p->t)(w + r * stride, f, ncols);
            } else {
                random_k_row(p->t, w + r * stride, nblocks[bi]);
            }
        }
        for (size_t c = 0; c < ncols; c++)
            f[c] = rndf(-1.0f, 1.0f);
        activation(tr->act, x, f, ncols);
        compare_paths(p, w, stride, x, ncols, rows, rows > 2 ? 1 : 0);
        free(w);
        free(f);
        free(x);
    }
}
END_TEST

/* The baseline path adds two int8 products in an int16 lane: with Q8_0 weights at -128 (a
 * file may hold them) and activations at -127 every lane sits at 32512, just inside. Every
 * value here is exact, so ref, both paths and the closed form agree exactly. */
START_TEST(test_q8_0_extremes)
{
    enum { NB = 5, ROWS = 6 };
    fsk_block_q8_0 w[ROWS][NB], x[NB];
    float yb[ROWS], ys[ROWS], yr[ROWS];
    const float dw = 0.25f, dx = 0.5f;
    for (int r = 0; r < ROWS; r++)
        for (int b = 0; b < NB; b++) {
            w[r][b].d = fsk_f32_to_f16(dw);
            memset(w[r][b].qs, r & 1 ? 0x80 : 0x7f, sizeof w[r][b].qs); /* -128 or 127 */
        }
    for (int b = 0; b < NB; b++) {
        x[b].d = fsk_f32_to_f16(dx);
        memset(x[b].qs, 0x81, sizeof x[b].qs); /* -127 */
    }
    fsk_matvec_q8_0__neon_base(yb, w, sizeof w[0], x, NB * FSK_QK, 0, ROWS);
    fsk_matvec_q8_0__ref(yr, w, sizeof w[0], x, NB * FSK_QK, 0, ROWS);
    for (int r = 0; r < ROWS; r++) {
        const float want = (float)NB * dw * dx * FSK_QK * (r & 1 ? 128.0f * 127.0f : -127.0f * 127.0f);
        ck_assert_msg(yb[r] == want && yr[r] == want, "row %d: base %.9g ref %.9g want %.9g", r,
                      yb[r], yr[r], want);
    }
    if (!fsk_neon_has_dotprod())
        return;
    fsk_matvec_q8_0__neon_dotprod(ys, w, sizeof w[0], x, NB * FSK_QK, 0, ROWS);
    for (int r = 0; r < ROWS; r++)
        ck_assert_msg(ys[r] == yb[r], "row %d: dotprod %.9g base %.9g", r, ys[r], yb[r]);
}
END_TEST

/* One block of quantizer input, by kind: random at a random scale, all zero, exact rounding
 * ties at a power-of-two d (amax = 127 * 2^e, so x * (1 / d) is k + 1/2 exactly), and random
 * with a NaN, which both sides leave out of amax and quantize to 0. */
static void quant_input(float *x, size_t block, size_t kind)
{
    const float s = ldexpf(1.0f, (int)(next32() % 41) - 20);
    switch (kind % 4) {
    case 1:
        memset(x, 0, block * sizeof *x);
        break;
    case 2:
        for (size_t j = 0; j < block; j++)
            x[j] = s * ((float)(int)(next32() % 253) - 126.0f + 0.5f);
        x[next32() % block] = (kind & 4 ? 127.0f : -127.0f) * s;
        break;
    default:
        for (size_t j = 0; j < block; j++)
            x[j] = rndf(-s, s);
        if (kind % 4 == 3)
            x[next32() % block] = NAN;
    }
}

/* The verifier lets a quant differ by one at a tie; ours round as ref rounds (FCVTAS is roundf),
 * so the bytes must be ref's, ties and all. */
START_TEST(test_quantizers_exact)
{
    static const struct {
        enum fsk_type t;
        fsk_quantize_q8_0_fn ref, neon;
    } q[] = {
        {FSK_TYPE_Q8_0, fsk_quantize_q8_0__ref, fsk_quantize_q8_0__neon},
        {FSK_TYPE_Q8_1, fsk_quantize_q8_1__ref, fsk_quantize_q8_1__neon},
        {FSK_TYPE_Q8_K, fsk_quantize_q8_k__ref, fsk_quantize_q8_k__neon},
    };
    for (size_t i = 0; i < sizeof q / sizeof *q; i++) {
        const struct fsk_type_traits *tr = fsk_type_traits(q[i].t);
        const size_t nb = 24, n = nb * tr->block, bytes = fsk_type_row_bytes(q[i].t, n);
        float *x = malloc(n * sizeof *x);
        unsigned char *yr = malloc(bytes), *yv = malloc(bytes);
        ck_assert(x && yr && yv);
        for (size_t b = 0; b < nb; b++)
            quant_input(x + b * tr->block, tr->block, b);
        memset(yr, 0xa5, bytes);
        memset(yv, 0x5a, bytes);
        q[i].ref(yr, x, n);
        q[i].neon(yv, x, n);
        for (size_t b = 0; b < nb; b++)
            ck_assert_msg(memcmp(yr + b * tr->block_bytes, yv + b * tr->block_bytes,
                                 tr->block_bytes) == 0,
                          "%s block %zu (input kind %zu) differs from ref", tr->name, b, b % 4);
        free(x);
        free(yr);
        free(yv);
    }
}
END_TEST

int main(void)
{
    const char *why;
    if (!fsk_isa_usable(FSK_ISA_NEON, &why)) {
        fprintf(stderr, "SKIP: neon quantized paths not tested: %s\n", why);
        return 77;
    }
    Suite *s = suite_create("neon_quant");
    TCase *tc = tcase_create("paths");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_q8_0_extremes);
    tcase_add_test(tc, test_quantizers_exact);
    if (fsk_neon_has_dotprod())
        tcase_add_loop_test(tc, test_paths_agree, 0, NPATHS);
    else
        fprintf(stderr, "note: the CPU lacks dotprod: only the baseline path runs here (and in "
                        "test_kernels_neon against ref)\n");
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

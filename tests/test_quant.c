/* test_quant.c: the quantized formats against gguf-py, an implementation we did not write, through tests/data/quant_fixture.bin. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "f16.h"
#include "kernels.h"
#include "quant.h"

#define U (1.0 / 16777216.0)

/* One type's rows as tests/data/make_quant_fixture.py wrote them. */
struct section {
    uint32_t type, rows, cols, flags; /* flags bit 0: data is the package's quantization of src */
    float *src;                       /* rows * cols, or NULL for random blocks */
    unsigned char *data;              /* rows * row_bytes */
    float *deq;                       /* the package's dequantization of data */
    size_t row_bytes;
};

enum { MAX_SECTIONS = 32 };
static struct section sec[MAX_SECTIONS];
static int nsec;
static char load_error[1200] = "fixture not loaded"; /* room for a full path */

/* What we run for each type, all ref. */
struct tinfo {
    uint32_t type;
    fsk_dequantize_q4_0_fn deq;
    fsk_matvec_f32_fn matvec;
    size_t (*quantize)(void *, const float *, size_t); /* NULL where we have none */
};

static const struct tinfo tinfos[] = {
    {FSK_TYPE_Q4_0, fsk_dequantize_q4_0__ref, fsk_matvec_q4_0__ref, fsk_quantize_row_q4_0},
    {FSK_TYPE_Q4_1, fsk_dequantize_q4_1__ref, fsk_matvec_q4_1__ref, fsk_quantize_row_q4_1},
    {FSK_TYPE_Q5_0, fsk_dequantize_q5_0__ref, fsk_matvec_q5_0__ref, fsk_quantize_row_q5_0},
    {FSK_TYPE_Q5_1, fsk_dequantize_q5_1__ref, fsk_matvec_q5_1__ref, fsk_quantize_row_q5_1},
    {FSK_TYPE_Q8_0, fsk_dequantize_q8_0__ref, fsk_matvec_q8_0__ref, fsk_quantize_row_q8_0},
    {FSK_TYPE_Q4_K, fsk_dequantize_q4_k__ref, fsk_matvec_q4_k__ref, NULL},
    {FSK_TYPE_Q5_K, fsk_dequantize_q5_k__ref, fsk_matvec_q5_k__ref, NULL},
    {FSK_TYPE_Q6_K, fsk_dequantize_q6_k__ref, fsk_matvec_q6_k__ref, NULL},
    {FSK_TYPE_BF16, fsk_dequantize_bf16__ref, fsk_matvec_bf16__ref, fsk_quantize_row_bf16},
    {FSK_TYPE_F16, fsk_dequantize_f16__ref, fsk_matvec_f16__ref, NULL},
};
enum { NTYPES = sizeof tinfos / sizeof *tinfos };

static const struct tinfo *tinfo_of(uint32_t type)
{
    for (int i = 0; i < NTYPES; i++)
        if (tinfos[i].type == type)
            return &tinfos[i];
    return NULL;
}

/* ------------------------------------------------------------------ the fixture */

struct reader {
    const unsigned char *p;
    size_t left;
};

static int take(struct reader *r, void *dst, size_t n)
{
    if (n > r->left)
        return -1;
    memcpy(dst, r->p, n);
    r->p += n;
    r->left -= n;
    return 0;
}

/* A copy of the next n bytes in its own (suitably aligned) buffer, or NULL. */
static void *take_copy(struct reader *r, size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p && take(r, p, n)) {
        free(p);
        return NULL;
    }
    return p;
}

static int read_section(struct reader *r, struct section *s)
{
    uint32_t h[4];
    if (take(r, h, sizeof h))
        return snprintf(load_error, sizeof load_error, "truncated section header"), -1;
    s->type = h[0], s->rows = h[1], s->cols = h[2], s->flags = h[3];
    s->row_bytes = fsk_type_row_bytes(s->type, s->cols);
    size_t n = (size_t)s->rows * s->cols;
    if (!s->row_bytes || !tinfo_of(s->type) || s->rows == 0 || s->rows > 64 || s->cols > 65536)
        return snprintf(load_error, sizeof load_error, "bad section: type %u, %u x %u", s->type,
                        s->rows, s->cols), -1;
    s->src = (s->flags & 1) ? take_copy(r, n * sizeof(float)) : NULL;
    s->data = take_copy(r, s->rows * s->row_bytes);
    s->deq = take_copy(r, n * sizeof(float));
    if (((s->flags & 1) && !s->src) || !s->data || !s->deq)
        return snprintf(load_error, sizeof load_error, "section of type %u truncated", s->type), -1;
    return 0;
}

static int parse_fixture(const unsigned char *buf, size_t len)
{
    struct reader r = {buf, len};
    char magic[8];
    uint32_t count;
    if (take(&r, magic, 8) || memcmp(magic, "FSKQFIX1", 8) || take(&r, &count, 4))
        return snprintf(load_error, sizeof load_error, "not a quant fixture (bad magic)"), -1;
    if (count > MAX_SECTIONS)
        return snprintf(load_error, sizeof load_error, "%u sections, at most %d", count, MAX_SECTIONS), -1;
    for (nsec = 0; nsec < (int)count; nsec++)
        if (read_section(&r, &sec[nsec]))
            return -1;
    if (r.left)
        return snprintf(load_error, sizeof load_error, "%zu bytes after the last section", r.left), -1;
    return 0;
}

/* Reads $FSK_TEST_DATA/quant_fixture.bin; on failure load_error says why. */
static int load_fixture(void)
{
    const uint32_t one = 1;
    if (*(const unsigned char *)&one != 1)
        return snprintf(load_error, sizeof load_error, "the fixture is little-endian"), -1;
    const char *dir = getenv("FSK_TEST_DATA");
    if (!dir)
        return snprintf(load_error, sizeof load_error, "FSK_TEST_DATA is not set"), -1;
    char path[1024];
    snprintf(path, sizeof path, "%s/quant_fixture.bin", dir);
    FILE *f = fopen(path, "rb");
    if (!f)
        return snprintf(load_error, sizeof load_error, "cannot open %s", path), -1;
    enum { CAP = 1 << 20 };
    unsigned char *buf = malloc(CAP);
    size_t len = buf ? fread(buf, 1, CAP, f) : 0;
    fclose(f);
    int rc = buf && len < CAP ? parse_fixture(buf, len) : -1;
    if (!buf || len >= CAP)
        snprintf(load_error, sizeof load_error, "%s: unreadable or over 1 MiB", path);
    free(buf);
    return rc;
}

static int fixture_ok;

static void need_fixture(void)
{
    ck_assert_msg(fixture_ok, "quant fixture: %s", load_error);
}

/* ------------------------------------------------------------------ tests */

/* Every type we support is in the file once, and those gguf-py can quantize were quantized by it,
 * so that no check below is skipped by a fixture that lost something. */
START_TEST(test_fixture_covers_every_type)
{
    need_fixture();
    for (int t = 0; t < NTYPES; t++) {
        int seen = 0;
        for (int i = 0; i < nsec; i++)
            if (sec[i].type == tinfos[t].type) {
                seen++;
                if (tinfos[t].quantize || tinfos[t].type == FSK_TYPE_F16)
                    ck_assert_msg(sec[i].flags & 1, "%s: blocks were not made by the package",
                                  fsk_type_traits(sec[i].type)->name);
            }
        ck_assert_msg(seen == 1, "%s appears %d times in the fixture",
                      fsk_type_traits(tinfos[t].type)->name, seen);
    }
}
END_TEST

/* Our dequantize equals the package's, bit for bit. */
START_TEST(test_dequantize_matches_gguf)
{
    need_fixture();
    for (int i = 0; i < nsec; i++) {
        const struct section *s = &sec[i];
        size_t n = (size_t)s->rows * s->cols;
        float *y = malloc(n * sizeof *y);
        ck_assert_ptr_nonnull(y);
        tinfo_of(s->type)->deq(y, s->data, n);
        for (size_t j = 0; j < n; j++)
            ck_assert_msg(fsk_f32_to_bits(y[j]) == fsk_f32_to_bits(s->deq[j]),
                          "%s element %zu: ours %.9g (%#x), gguf %.9g (%#x)",
                          fsk_type_traits(s->type)->name, j, y[j], fsk_f32_to_bits(y[j]),
                          s->deq[j], fsk_f32_to_bits(s->deq[j]));
        free(y);
    }
}
END_TEST

/* Our weight quantizers write the package's bytes exactly, ties included: both compute the
 * codes in float with the same operations, so no difference is allowed. */
START_TEST(test_quantize_matches_gguf)
{
    need_fixture();
    int compared = 0;
    for (int i = 0; i < nsec; i++) {
        const struct section *s = &sec[i];
        const struct tinfo *ti = tinfo_of(s->type);
        if (!(s->flags & 1) || !ti->quantize)
            continue;
        unsigned char *q = malloc(s->row_bytes);
        ck_assert_ptr_nonnull(q);
        for (uint32_t r = 0; r < s->rows; r++) {
            size_t got = ti->quantize(q, s->src + (size_t)r * s->cols, s->cols);
            ck_assert_uint_eq(got, s->row_bytes);
            for (size_t b = 0; b < s->row_bytes; b++)
                ck_assert_msg(q[b] == s->data[r * s->row_bytes + b],
                              "%s row %u byte %zu: ours %#x, gguf %#x",
                              fsk_type_traits(s->type)->name, r, b, q[b],
                              s->data[r * s->row_bytes + b]);
        }
        free(q);
        compared++;
    }
    ck_assert_int_eq(compared, 6); /* q4_0 q4_1 q5_0 q5_1 q8_0 bf16 */
}
END_TEST

/* f16.h's conversion writes numpy's halves (round to nearest even, overflow to inf). */
START_TEST(test_f16_conversion_matches_numpy)
{
    need_fixture();
    for (int i = 0; i < nsec; i++) {
        const struct section *s = &sec[i];
        if (s->type != FSK_TYPE_F16)
            continue;
        for (size_t j = 0; j < (size_t)s->rows * s->cols; j++) {
            uint16_t want;
            memcpy(&want, s->data + 2 * j, 2);
            ck_assert_msg(fsk_f32_to_f16(s->src[j]) == want, "element %zu (%.9g): ours %#x, numpy %#x",
                          j, s->src[j], fsk_f32_to_f16(s->src[j]), want);
        }
    }
}
END_TEST

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static float urand(float lo, float hi)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)((double)(rng_state >> 40) / 16777216.0);
}

/* The activation for weights of type t: x in the form the matvec takes, a its dequantization
 * (exact, in double), and slack: what Q8_1's half s costs against a, sum over blocks of
 * |s - d sum(q)| (it multiplies the block's |m|, which the caller adds). */
static void activation(uint32_t t, void *x, double *a, double *s_err, size_t n)
{
    float *f = malloc(n * sizeof *f);
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++)
        f[i] = urand(-1.0f, 1.0f);
    enum fsk_type act = fsk_type_traits(t)->act;
    if (act == FSK_TYPE_Q8_0) {
        fsk_quantize_q8_0__ref(x, f, n);
        const fsk_block_q8_0 *b = x;
        for (size_t i = 0; i < n; i++)
            a[i] = fsk_f16_to_f32(b[i / FSK_QK].d) * (double)b[i / FSK_QK].qs[i % FSK_QK];
    } else if (act == FSK_TYPE_Q8_1) {
        fsk_quantize_q8_1__ref(x, f, n);
        const fsk_block_q8_1 *b = x;
        for (size_t k = 0; k < n / FSK_QK; k++) {
            double sum = 0;
            for (int j = 0; j < FSK_QK; j++) {
                a[k * FSK_QK + j] = fsk_f16_to_f32(b[k].d) * (double)b[k].qs[j];
                sum += a[k * FSK_QK + j];
            }
            s_err[k] = fabs(fsk_f16_to_f32(b[k].s) - sum);
        }
    } else if (act == FSK_TYPE_Q8_K) {
        fsk_quantize_q8_k__ref(x, f, n);
        const fsk_block_q8_K *b = x;
        for (size_t i = 0; i < n; i++)
            a[i] = b[i / FSK_QK_K].d * (double)b[i / FSK_QK_K].qs[i % FSK_QK_K];
    } else {
        memcpy(x, f, n * sizeof *f);
        for (size_t i = 0; i < n; i++)
            a[i] = f[i];
    }
    free(f);
}

/* |m| of the block holding element c of a row: the offset a min format adds to d*q. */
static double block_min(uint32_t t, const unsigned char *row, size_t c)
{
    const struct fsk_type_traits *tr = fsk_type_traits(t);
    const unsigned char *blk = row + c / tr->block * tr->block_bytes;
    fsk_half h;
    switch (t) {
    case FSK_TYPE_Q4_1: memcpy(&h, blk + offsetof(fsk_block_q4_1, m), 2); return fabs(fsk_f16_to_f32(h));
    case FSK_TYPE_Q5_1: memcpy(&h, blk + offsetof(fsk_block_q5_1, m), 2); return fabs(fsk_f16_to_f32(h));
    case FSK_TYPE_Q4_K: memcpy(&h, blk + offsetof(fsk_block_q4_K, dmin), 2); return 63 * fabs(fsk_f16_to_f32(h));
    case FSK_TYPE_Q5_K: memcpy(&h, blk + offsetof(fsk_block_q5_K, dmin), 2); return 63 * fabs(fsk_f16_to_f32(h));
    default: return 0;
    }
}

/* Our integer matvec against the plain dot, in double, of our dequantized weights (equal to the
 * package's, checked above) and the dequantized activation. Tolerance: the ref rounds at most 5
 * times per block (scale product, int to float, scaling, min term, and the weights' own d*q + m
 * in the dequantized side) and sums nblocks partials left to right, so
 * |got - want| <= (nblocks + 8) u M, M = sum (|w| + 2|m|)|a|; Q8_1 adds |m| |s - d sum(q)| per
 * block, since s is stored as a half. */
static void check_matvec(const struct section *s)
{
    const struct fsk_type_traits *tr = fsk_type_traits(s->type);
    size_t n = s->cols, nb = n / tr->block;
    void *x = malloc(fsk_type_row_bytes(tr->act, n));
    double *a = malloc(n * sizeof *a), *s_err = calloc(nb, sizeof *s_err);
    float *y = malloc(s->rows * sizeof *y), *w = malloc(n * sizeof *w);
    ck_assert(x && a && s_err && y && w);
    activation(s->type, x, a, s_err, n);
    tinfo_of(s->type)->matvec(y, s->data, s->row_bytes, x, n, 0, s->rows);
    for (uint32_t r = 0; r < s->rows; r++) {
        const unsigned char *row = s->data + r * s->row_bytes;
        tinfo_of(s->type)->deq(w, row, n);
        double want = 0, mag = 0, slack = 0;
        for (size_t c = 0; c < n; c++) {
            want += (double)w[c] * a[c];
            mag += (fabs(w[c]) + 2 * block_min(s->type, row, c)) * fabs(a[c]);
        }
        if (tr->act == FSK_TYPE_Q8_1)
            for (size_t k = 0; k < nb; k++)
                slack += block_min(s->type, row, k * tr->block) * s_err[k];
        if (!isfinite(want)) { /* the float types' rows of infinities and NaN */
            ck_assert_msg(isnan(want) ? isnan(y[r]) : y[r] == want, "%s row %u: matvec %.9g, dot %.9g",
                          tr->name, r, y[r], want);
            continue;
        }
        double tol = (double)(nb + 8) * U * mag + slack;
        ck_assert_msg(fabs(y[r] - want) <= tol, "%s row %u: matvec %.9g, dequantized dot %.9g, tol %.3g",
                      tr->name, r, y[r], want, tol);
    }
    free(x); free(a); free(s_err); free(y); free(w);
}

START_TEST(test_matvec_matches_dequantized_dot)
{
    need_fixture();
    for (int i = 0; i < nsec; i++)
        check_matvec(&sec[i]);
}
END_TEST

/* One block of the given kind: plain, all zero, and a wide spread. */
static void q8_input(float *x, size_t n, int kind)
{
    for (size_t j = 0; j < n; j++)
        x[j] = kind == 1 ? 0.0f : urand(-1.0f, 1.0f) * (kind == 2 ? ldexpf(1.0f, (int)(j % 30) - 15) : 3.0f);
}

/* Q8_0/Q8_1: d is amax/127 as a half; each quant reconstructs its x within half a step (plus
 * the 127 * 2u that computing x * (1/d) in float may add); and
 * Q8_1's s is the stored d times sum(q), rounded once to half (that product is exact in float). */
START_TEST(test_q8_1_fields)
{
    enum { N = 4 * FSK_QK };
    float x[N];
    fsk_block_q8_1 b[N / FSK_QK];
    fsk_block_q8_0 b0[N / FSK_QK];
    for (int kind = 0; kind < 3; kind++) {
        q8_input(x, N, kind);
        fsk_quantize_q8_1__ref(b, x, N);
        fsk_quantize_q8_0__ref(b0, x, N);
        for (int k = 0; k < N / FSK_QK; k++) {
            float amax = 0;
            int sum = 0;
            for (int j = 0; j < FSK_QK; j++)
                amax = fmaxf(amax, fabsf(x[k * FSK_QK + j]));
            const float d = amax / 127.0f;
            ck_assert_uint_eq(b[k].d, fsk_f32_to_f16(d));
            ck_assert_uint_eq(b0[k].d, b[k].d);
            ck_assert_mem_eq(b0[k].qs, b[k].qs, FSK_QK); /* one quantizer for both forms */
            for (int j = 0; j < FSK_QK; j++) {
                sum += b[k].qs[j];
                double err = fabs(x[k * FSK_QK + j] - (double)d * b[k].qs[j]);
                ck_assert_msg(err <= d * (0.5 + 512 * U), "kind %d x=%.9g q=%d d=%.9g", kind,
                              x[k * FSK_QK + j], b[k].qs[j], d);
            }
            ck_assert_uint_eq(b[k].s, fsk_f32_to_f16(fsk_f16_to_f32(b[k].d) * (float)sum));
        }
    }
}
END_TEST

/* Q8_K: d = amax/127 in float, quants within half a step, the largest at +-127, bsums their sums. */
START_TEST(test_q8_k_fields)
{
    enum { N = 2 * FSK_QK_K };
    float x[N];
    fsk_block_q8_K b[N / FSK_QK_K];
    for (int kind = 0; kind < 3; kind++) {
        q8_input(x, N, kind);
        fsk_quantize_q8_k__ref(b, x, N);
        for (int k = 0; k < N / FSK_QK_K; k++) {
            const float *xb = x + k * FSK_QK_K;
            float amax = 0;
            for (int j = 0; j < FSK_QK_K; j++)
                amax = fmaxf(amax, fabsf(xb[j]));
            ck_assert(b[k].d == amax / 127.0f);
            for (int j = 0; j < FSK_QK_K; j++) {
                ck_assert(fabs(xb[j] - (double)b[k].d * b[k].qs[j]) <= b[k].d * (0.5 + 512 * U));
                if (amax > 0 && fabsf(xb[j]) == amax)
                    ck_assert_int_eq(abs(b[k].qs[j]), 127);
            }
            for (int g = 0; g < FSK_QK_K / 16; g++) {
                int s = 0;
                for (int l = 0; l < 16; l++)
                    s += b[k].qs[16 * g + l];
                ck_assert_int_eq(b[k].bsums[g], s);
            }
        }
    }
}
END_TEST

/* A length that is not whole blocks is refused, and nothing is written. */
START_TEST(test_quantize_row_rejects_partial_blocks)
{
    unsigned char dst[64];
    float src[33] = {0};
    memset(dst, 0xab, sizeof dst);
    ck_assert_uint_eq(fsk_quantize_row_q4_0(dst, src, 33), 0);
    ck_assert_uint_eq(fsk_quantize_row_q5_1(dst, src, 31), 0);
    ck_assert_uint_eq(fsk_quantize_row_q8_0(dst, src, 1), 0);
    for (size_t i = 0; i < sizeof dst; i++)
        ck_assert_uint_eq(dst[i], 0xab);
    ck_assert_uint_eq(fsk_quantize_row_q4_0(dst, src, 32), sizeof(fsk_block_q4_0));
}
END_TEST

int main(void)
{
    fixture_ok = load_fixture() == 0;
    Suite *s = suite_create("quant");
    TCase *tc = tcase_create("gguf_oracle");
    tcase_add_test(tc, test_fixture_covers_every_type);
    tcase_add_test(tc, test_dequantize_matches_gguf);
    tcase_add_test(tc, test_quantize_matches_gguf);
    tcase_add_test(tc, test_f16_conversion_matches_numpy);
    tcase_add_test(tc, test_matvec_matches_dequantized_dot);
    tcase_add_test(tc, test_q8_1_fields);
    tcase_add_test(tc, test_q8_k_fields);
    tcase_add_test(tc, test_quantize_row_rejects_partial_blocks);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    for (int i = 0; i < nsec; i++) {
        free(sec[i].src);
        free(sec[i].data);
        free(sec[i].deq);
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

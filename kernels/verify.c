/* verify.c: per-op checks of a variant against ref, shared by the unit tests and `ffnskip selftest`.
 *
 * Tolerances are stated per op in units of u = 2^-24 (float's unit roundoff). A sum of n products
 * carries at most about n*u*sum|terms| of error in any order, so reductions are checked against
 * that bound; element-wise ops that both sides round once must match to a few u; add is exact.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "f16.h"
#include "quant.h"
#include "verify.h"

#define U (1.0 / 16777216.0)

struct vctx {
    uint64_t rng;
    int thorough;
    struct fsk_verify_result *res;
    const char *op;
    enum fsk_isa isa; /* the variant's ISA: matmul checks it against that ISA's matvec */
};

static float rnd(struct vctx *v, float lo, float hi)
{
    v->rng = v->rng * 6364136223846793005ull + 1442695040888963407ull;
    double t = (double)(v->rng >> 11) * (1.0 / 9007199254740992.0);
    return (float)(lo + (hi - lo) * t);
}

static void fill(struct vctx *v, float *x, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        x[i] = rnd(v, lo, hi);
}

/* Records one comparison; on failure keeps the first description. */
__attribute__((format(printf, 3, 4))) static void expect(struct vctx *v, int ok, const char *fmt, ...)
{
    v->res->checks++;
    if (ok)
        return;
    if (v->res->failures++ == 0) {
        int k = snprintf(v->res->first, sizeof v->res->first, "%s: ", v->op);
        va_list ap;
        va_start(ap, fmt);
        if (k > 0 && (size_t)k < sizeof v->res->first)
            vsnprintf(v->res->first + k, sizeof v->res->first - (size_t)k, fmt, ap);
        va_end(ap);
    }
}

static int close_to(double got, double want, double tol)
{
    if (isnan(want))
        return isnan(got);
    return fabs(got - want) <= tol;
}

/* Buffers with a chosen misalignment (0 or 1 float past a 64-byte boundary). */
static float *buf(size_t n, int misalign)
{
    float *p = aligned_alloc(64, ((n + 1) * sizeof(float) + 63) / 64 * 64);
    return p ? p + misalign : NULL;
}

static void unbuf(float *p, int misalign)
{
    if (p)
        free(p - misalign);
}

/* The sizes tried: 1..67 (four 16-lane vectors plus a ragged tail), then model-sized vectors. */
static size_t n_sizes(const struct vctx *v)
{
    return v->thorough ? 67 + 4 : 6;
}

static size_t size_at(const struct vctx *v, size_t i)
{
    static const size_t light[] = {1, 7, 16, 33, 64, 576};
    static const size_t big[] = {128, 576, 577, 1536};
    if (!v->thorough)
        return light[i];
    return i < 67 ? i + 1 : big[i - 67];
}

static int alloc_fail(struct vctx *v)
{
    expect(v, 0, "out of memory");
    return 1;
}

static void verify_dot_f32(struct vctx *v, fsk_dot_f32_fn ref, fsk_dot_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si);
        int mis = (int)(si & 1);
        float *a = buf(n, mis), *b = buf(n, 0);
        if (!a || !b) { alloc_fail(v); unbuf(a, mis); unbuf(b, 0); return; }
        fill(v, a, n, -1, 1);
        fill(v, b, n, -1, 1);
        double s = 0;
        for (size_t i = 0; i < n; i++)
            s += fabs((double)a[i] * b[i]);
        float want = ref(a, b, n), got = var(a, b, n);
        expect(v, close_to(got, want, 2.0 * (n + 2) * U * s + 1e-30),
               "n=%zu got %.9g want %.9g", n, got, want);
        unbuf(a, mis);
        unbuf(b, 0);
    }
}

static void verify_cosine_f32(struct vctx *v, fsk_cosine_f32_fn ref, fsk_cosine_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si);
        int mis = (int)(si & 1);
        float *a = buf(n, mis), *b = buf(n, 0);
        if (!a || !b) { alloc_fail(v); unbuf(a, mis); unbuf(b, 0); return; }
        fill(v, a, n, -1, 1);
        /* b near a, so that the cosine sits close to 1 as it does in the skip test */
        for (size_t i = 0; i < n; i++)
            b[i] = a[i] + rnd(v, -0.1f, 0.1f);
        float want = ref(a, b, n), got = var(a, b, n);
        expect(v, close_to(got, want, 4.0 * (n + 8) * U), "n=%zu got %.9g want %.9g", n, got, want);
        /* a zero vector has no direction: both must say 0 */
        memset(b, 0, n * sizeof *b);
        got = var(a, b, n);
        expect(v, got == 0.0f, "n=%zu zero vector gave %.9g, want 0", n, got);
        unbuf(a, mis);
        unbuf(b, 0);
    }
}

static void verify_rmsnorm_f32(struct vctx *v, fsk_rmsnorm_f32_fn ref, fsk_rmsnorm_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si);
        int mis = (int)(si & 1);
        float *x = buf(n, mis), *w = buf(n, 0), *yr = buf(n, 0), *yv = buf(n, mis);
        if (!x || !w || !yr || !yv) { alloc_fail(v); goto out; }
        fill(v, x, n, -3, 3);
        fill(v, w, n, -2, 2);
        ref(yr, x, w, n, 1e-5f);
        var(yv, x, w, n, 1e-5f);
        for (size_t i = 0; i < n; i++)
            expect(v, close_to(yv[i], yr[i], (n + 16) * U * fabs(yr[i]) + 1e-30),
                   "n=%zu i=%zu got %.9g want %.9g", n, i, yv[i], yr[i]);
        /* in place: y == x */
        memcpy(yv, x, n * sizeof *x);
        var(yv, yv, w, n, 1e-5f);
        for (size_t i = 0; i < n; i++)
            expect(v, close_to(yv[i], yr[i], (n + 16) * U * fabs(yr[i]) + 1e-30),
                   "in place n=%zu i=%zu got %.9g want %.9g", n, i, yv[i], yr[i]);
    out:
        unbuf(x, mis); unbuf(w, 0); unbuf(yr, 0); unbuf(yv, mis);
    }
}

static void verify_rope_f32(struct vctx *v, fsk_rope_f32_fn ref, fsk_rope_f32_fn var)
{
    static const size_t dims[] = {2, 4, 8, 16, 32, 64, 128};
    static const size_t heads[] = {1, 3, 9};
    static const size_t positions[] = {0, 1, 17, 511, 4095, 8191};
    static const float bases[] = {10000.0f, 100000.0f, 500000.0f};
    for (size_t di = 0; di < sizeof dims / sizeof *dims; di++)
        for (size_t hi = 0; hi < sizeof heads / sizeof *heads; hi++)
            for (size_t pi = 0; pi < sizeof positions / sizeof *positions; pi++) {
                if (!v->thorough && (hi != 1 || (pi != 2 && pi != 4)))
                    continue;
                size_t hd = dims[di], nh = heads[hi], n = hd * nh, pos = positions[pi];
                float base = bases[(di + pi) % 3];
                int mis = (int)((di + pi) & 1);
                float *x = buf(n, mis), *xr = buf(n, 0), *xv = buf(n, mis);
                if (!x || !xr || !xv) { alloc_fail(v); unbuf(x, mis); unbuf(xr, 0); unbuf(xv, mis); return; }
                fill(v, x, n, -2, 2);
                memcpy(xr, x, n * sizeof *x);
                memcpy(xv, x, n * sizeof *x);
                ref(xr, nh, hd, pos, base);
                var(xv, nh, hd, pos, base);
                for (size_t i = 0; i < n; i++) {
                    size_t p = i & ~(size_t)1;
                    double mag = fabs(x[p]) + fabs(x[p + 1]);
                    expect(v, close_to(xv[i], xr[i], 8 * U * mag + 1e-30),
                           "head_dim=%zu heads=%zu pos=%zu base=%g i=%zu got %.9g want %.9g", hd, nh,
                           pos, base, i, xv[i], xr[i]);
                }
                unbuf(x, mis); unbuf(xr, 0); unbuf(xv, mis);
            }
}

static void verify_softmax_f32(struct vctx *v, fsk_softmax_f32_fn ref, fsk_softmax_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si);
        int mis = (int)(si & 1);
        float *xr = buf(n, 0), *xv = buf(n, mis);
        if (!xr || !xv) { alloc_fail(v); unbuf(xr, 0); unbuf(xv, mis); return; }
        fill(v, xr, n, -10, 10);
        memcpy(xv, xr, n * sizeof *xr);
        ref(xr, n);
        var(xv, n);
        for (size_t i = 0; i < n; i++)
            expect(v, close_to(xv[i], xr[i], (2.0 * n + 16) * U * xr[i] + 1e-37),
                   "n=%zu i=%zu got %.9g want %.9g", n, i, xv[i], xr[i]);
        unbuf(xr, 0);
        unbuf(xv, mis);
    }
}

/* Special values for the F16 conversions: ties between halves (even and odd), the overflow edge
 * 65520, subnormal halves and their rounding edges, values below half the smallest one, inf, NaN. */
static const uint32_t f16_special[] = {
    0x00000000u, 0x80000000u, 0x3f801000u, 0x3f803000u, 0x3f801001u, 0xbf802fffu,
    0x477fe000u, 0x477fefffu, 0x477ff000u, 0xc77ff000u, 0x7f7fffffu, 0x38800000u,
    0x387fc000u, 0x33800000u, 0x33000000u, 0x33000001u, 0xb2ffffffu, 0x35c00000u,
    0x36100000u, 0x00000001u, 0x7f800000u, 0xff800000u, 0x7fc00000u, 0xffa12345u};
#define N_F16_SPECIAL (sizeof f16_special / sizeof f16_special[0])

/* n values: the special ones, then random ones over the half range, a third of them tiny. */
static void f16_inputs(struct vctx *v, float *x, size_t n)
{
    memcpy(x, f16_special, sizeof f16_special);
    fill(v, x + N_F16_SPECIAL, n - N_F16_SPECIAL, -70000, 70000);
    for (size_t i = N_F16_SPECIAL; i < n; i += 3)
        x[i] *= 1e-9f;
}

/* Exact: every variant must give the portable conversion's bits (a NaN only has to stay NaN). */
static void verify_round_f16_f32(struct vctx *v, fsk_round_f16_f32_fn ref, fsk_round_f16_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si) + N_F16_SPECIAL;
        int mis = (int)(si & 1);
        float *xr = buf(n, 0), *xv = buf(n, mis);
        if (!xr || !xv) { alloc_fail(v); unbuf(xr, 0); unbuf(xv, mis); return; }
        f16_inputs(v, xr, n);
        memcpy(xv, xr, n * sizeof *xr);
        ref(xr, n);
        var(xv, n);
        for (size_t i = 0; i < n; i++) {
            uint32_t br, bv;
            memcpy(&br, &xr[i], sizeof br);
            memcpy(&bv, &xv[i], sizeof bv);
            expect(v, br == bv || (xr[i] != xr[i] && xv[i] != xv[i]),
                   "n=%zu i=%zu got %.9g (0x%08x) want %.9g (0x%08x)", n, i, xv[i], (unsigned)bv,
                   xr[i], (unsigned)br);
        }
        unbuf(xr, 0);
        unbuf(xv, mis);
    }
}

static int half_nan(uint16_t h)
{
    return (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu) != 0;
}

/* Exact as above, on the stored halves; the halves past n must stay untouched. */
static void verify_cvt_f16_f32(struct vctx *v, fsk_cvt_f16_f32_fn ref, fsk_cvt_f16_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si) + N_F16_SPECIAL;
        int mis = (int)(si & 1);
        float *x = buf(n, mis);
        uint16_t *hr = malloc((n + 9) * sizeof *hr), *hv = malloc((n + 9) * sizeof *hv);
        if (!x || !hr || !hv) { alloc_fail(v); goto out; }
        f16_inputs(v, x, n);
        for (size_t i = 0; i < n + 9; i++)
            hr[i] = hv[i] = 0xabcd;
        ref(hr, x, n);
        var(hv + mis, x, n); /* odd sizes start at an odd half: stores must not assume alignment */
        for (size_t i = 0; i < n; i++)
            expect(v, hr[i] == hv[mis + i] || (half_nan(hr[i]) && half_nan(hv[mis + i])),
                   "n=%zu i=%zu x=%.9g got 0x%04x want 0x%04x", n, i, x[i], hv[mis + i], hr[i]);
        for (size_t i = n + (size_t)mis; i < n + 9; i++)
            expect(v, hv[i] == 0xabcd, "n=%zu wrote half %zu past the end", n, i - (size_t)mis);
    out:
        unbuf(x, mis);
        free(hr);
        free(hv);
    }
}

/* Weighted sums of F16 rows: bit for bit ref (each variant takes every term by one fused
 * multiply-add, rows in order). Column counts around each vector width and tile (1..130), one to
 * nine weight vectors (tiles of 3 or 4 and a rest), row ranges that are empty, start past row 0 or
 * run to a few hundred, rows further apart than they are long, weights as softmax leaves them
 * (in [0, 1], some zero) and values over the half range with some subnormal; nothing written
 * outside the nw x ncols outputs (ldy wider than ncols). */
static void verify_wsum_f16(struct vctx *v, fsk_wsum_f16_fn ref, fsk_wsum_f16_fn var)
{
    static const size_t cols_light[] = {1, 8, 17, 64, 100}, cols_all[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 80, 96, 100, 127, 128, 130};
    static const size_t nws[] = {1, 2, 3, 4, 5, 9};
    static const size_t spans[][2] = {{0, 0}, {0, 1}, {2, 3}, {0, 16}, {5, 42}, {0, 300}};
    const size_t ncol = v->thorough ? sizeof cols_all / sizeof *cols_all : sizeof cols_light / sizeof *cols_light;
    const size_t *cols = v->thorough ? cols_all : cols_light;
    enum { MAX_ROWS = 300, MAX_COLS = 130, MAX_W = 9, PAD = 5, GUARD = 3 };
    const size_t stride_max = (MAX_COLS + PAD) * sizeof(uint16_t);
    unsigned char *rows = malloc(MAX_ROWS * stride_max);
    float *a = buf(MAX_W * (MAX_ROWS + 1), 0);
    const size_t ldy = MAX_COLS + GUARD, ny = MAX_W * ldy;
    float *yr = buf(ny, 0), *yv = buf(ny, 1);
    if (!rows || !a || !yr || !yv) { alloc_fail(v); goto out; }
    for (size_t i = 0; i < MAX_W * (MAX_ROWS + 1); i++) /* a softmax's weights, a few zero */
        a[i] = i % 11 == 0 ? 0.0f : rnd(v, 0, 1);
    for (size_t ci = 0; ci < ncol; ci++)
        for (int padded = 0; padded < 2; padded++) {
            const size_t nc = cols[ci], stride = (nc + (padded ? PAD : 0)) * sizeof(uint16_t);
            for (size_t r = 0; r < MAX_ROWS; r++)
                for (size_t j = 0; j < nc + (padded ? PAD : 0); j++) {
                    float f = rnd(v, -2, 2);
                    if (j % 13 == 5)
                        f *= 1e-6f; /* subnormal halves */
                    uint16_t h = fsk_f32_to_f16(f);
                    memcpy(rows + r * stride + j * sizeof h, &h, sizeof h);
                }
            for (size_t wi = 0; wi < sizeof nws / sizeof *nws; wi++)
                for (size_t si = 0; si < sizeof spans / sizeof *spans; si++) {
                    const size_t nw = nws[wi], r0 = spans[si][0], r1 = spans[si][1];
                    const size_t as = MAX_ROWS + 1; /* weight vectors further apart than rows */
                    for (size_t i = 0; i < ny; i++)
                        yr[i] = yv[i] = -7.0f;
                    ref(yr, ldy, rows, stride, a, as, nc, nw, r0, r1);
                    var(yv, ldy, rows, stride, a, as, nc, nw, r0, r1);
                    for (size_t t = 0; t < MAX_W; t++)
                        for (size_t j = 0; j < ldy; j++) {
                            const size_t i = t * ldy + j;
                            if (t < nw && j < nc)
                                expect(v, memcmp(&yr[i], &yv[i], sizeof(float)) == 0,
                                       "ncols=%zu stride=%zu nw=%zu rows %zu..%zu: y[%zu][%zu] got %.9g want %.9g",
                                       nc, stride, nw, r0, r1, t, j, yv[i], yr[i]);
                            else
                                expect(v, yv[i] == -7.0f, "ncols=%zu nw=%zu: wrote y[%zu][%zu] outside the output",
                                       nc, nw, t, j);
                        }
                }
        }
out:
    free(rows);
    unbuf(a, 0);
    unbuf(yr, 0);
    unbuf(yv, 1);
}

/* Scores against key tiles: bit for bit ref (each variant takes every dimension by one fused
 * multiply-add, in order). Dimensions around each vector width and the variants' buffer limits
 * (1..520), 1 to 48 queries (a prefill tile's), position ranges that are empty, start or end
 * inside a tile, or span many; queries further apart than they are long; nothing written outside
 * [p0, p1) x nq. */
static void verify_tdot_f16(struct vctx *v, fsk_tdot_f16_fn ref, fsk_tdot_f16_fn var)
{
    static const size_t cols_light[] = {1, 17, 64, 100}, cols_all[] = {1, 2, 7, 16, 31, 64, 65, 100, 128, 129, 256, 300, 520};
    static const size_t nqs[] = {1, 2, 3, 4, 5, 9, 48};
    static const size_t spans[][2] = {{0, 0}, {0, 1}, {0, 16}, {3, 17}, {16, 40}, {5, 300}, {0, 300}, {290, 300}};
    const size_t ncol = v->thorough ? sizeof cols_all / sizeof *cols_all : sizeof cols_light / sizeof *cols_light;
    const size_t *cols = v->thorough ? cols_all : cols_light;
    enum { MAX_POS = 304, MAX_COLS = 520, MAX_Q = 48, QPAD = 3, LDY = MAX_POS + 5 };
    uint16_t *keys = malloc((size_t)MAX_POS * MAX_COLS * sizeof *keys);
    float *q = buf((size_t)MAX_Q * (MAX_COLS + QPAD), 0);
    float *yr = buf((size_t)MAX_Q * LDY, 0), *yv = buf((size_t)MAX_Q * LDY, 1);
    if (!keys || !q || !yr || !yv) { alloc_fail(v); goto out; }
    for (size_t ci = 0; ci < ncol; ci++) {
        const size_t nc = cols[ci], qs = nc + QPAD;
        for (size_t i = 0; i < (size_t)MAX_POS * nc; i++) {
            float f = rnd(v, -2, 2);
            if (i % 13 == 5)
                f *= 1e-6f; /* subnormal halves */
            keys[i] = fsk_f32_to_f16(f);
        }
        for (size_t i = 0; i < (size_t)MAX_Q * qs; i++)
            q[i] = (float)fsk_f16_to_f32(fsk_f32_to_f16(rnd(v, -2, 2))); /* F16-rounded, as attention's */
        for (size_t qi = 0; qi < sizeof nqs / sizeof *nqs; qi++)
            for (size_t si = 0; si < sizeof spans / sizeof *spans; si++) {
                const size_t nq = nqs[qi], p0 = spans[si][0], p1 = spans[si][1];
                for (size_t i = 0; i < (size_t)MAX_Q * LDY; i++)
                    yr[i] = yv[i] = -7.0f;
                ref(yr, LDY, keys, q, qs, nc, nq, p0, p1);
                var(yv, LDY, keys, q, qs, nc, nq, p0, p1);
                for (size_t t = 0; t < MAX_Q; t++)
                    for (size_t p = 0; p < LDY; p++) {
                        const size_t i = t * LDY + p;
                        if (t < nq && p >= p0 && p < p1)
                            expect(v, memcmp(&yr[i], &yv[i], sizeof(float)) == 0,
                                   "ncols=%zu nq=%zu positions %zu..%zu: y[%zu][%zu] got %.9g want %.9g",
                                   nc, nq, p0, p1, t, p, yv[i], yr[i]);
                        else
                            expect(v, yv[i] == -7.0f, "ncols=%zu nq=%zu positions %zu..%zu: wrote y[%zu][%zu]",
                                   nc, nq, p0, p1, t, p);
                    }
            }
    }
out:
    free(keys);
    unbuf(q, 0);
    unbuf(yr, 0);
    unbuf(yv, 1);
}

static void verify_silu_mul_f32(struct vctx *v, fsk_silu_mul_f32_fn ref, fsk_silu_mul_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si);
        int mis = (int)(si & 1);
        float *g = buf(n, mis), *u = buf(n, 0), *yr = buf(n, 0), *yv = buf(n, mis);
        if (!g || !u || !yr || !yv) { alloc_fail(v); goto out; }
        fill(v, g, n, -12, 12);
        fill(v, u, n, -3, 3);
        ref(yr, g, u, n);
        var(yv, g, u, n);
        for (size_t i = 0; i < n; i++)
            expect(v, close_to(yv[i], yr[i], 16 * U * fabs(yr[i]) + 1e-30),
                   "n=%zu i=%zu g=%g got %.9g want %.9g", n, i, g[i], yv[i], yr[i]);
        /* in place over the gate: y == g */
        memcpy(yv, g, n * sizeof *g);
        var(yv, yv, u, n);
        for (size_t i = 0; i < n; i++)
            expect(v, close_to(yv[i], yr[i], 16 * U * fabs(yr[i]) + 1e-30),
                   "in place n=%zu i=%zu got %.9g want %.9g", n, i, yv[i], yr[i]);
    out:
        unbuf(g, mis); unbuf(u, 0); unbuf(yr, 0); unbuf(yv, mis);
    }
}

static void verify_add_f32(struct vctx *v, fsk_add_f32_fn ref, fsk_add_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si);
        int mis = (int)(si & 1);
        float *a = buf(n, mis), *b = buf(n, 0), *yr = buf(n, 0), *yv = buf(n, mis);
        if (!a || !b || !yr || !yv) { alloc_fail(v); goto out; }
        fill(v, a, n, -5, 5);
        fill(v, b, n, -5, 5);
        ref(yr, a, b, n);
        var(yv, a, b, n);
        /* one rounding on both sides: the results must be identical */
        for (size_t i = 0; i < n; i++)
            expect(v, yv[i] == yr[i], "n=%zu i=%zu got %.9g want %.9g", n, i, yv[i], yr[i]);
        memcpy(yv, a, n * sizeof *a); /* in place: y == a */
        var(yv, yv, b, n);
        for (size_t i = 0; i < n; i++)
            expect(v, yv[i] == yr[i], "in place n=%zu i=%zu got %.9g want %.9g", n, i, yv[i], yr[i]);
    out:
        unbuf(a, mis); unbuf(b, 0); unbuf(yr, 0); unbuf(yv, mis);
    }
}

static void verify_axpy_f32(struct vctx *v, fsk_axpy_f32_fn ref, fsk_axpy_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si);
        int mis = (int)(si & 1);
        float *x = buf(n, 0), *y0 = buf(n, 0), *yr = buf(n, 0), *yv = buf(n, mis);
        if (!x || !y0 || !yr || !yv) { alloc_fail(v); goto out; }
        fill(v, x, n, -5, 5);
        fill(v, y0, n, -5, 5);
        float alpha = rnd(v, -2, 2);
        memcpy(yr, y0, n * sizeof *y0);
        memcpy(yv, y0, n * sizeof *y0);
        ref(yr, alpha, x, n);
        var(yv, alpha, x, n);
        /* a fused multiply-add rounds once where ref rounds twice */
        for (size_t i = 0; i < n; i++)
            expect(v, close_to(yv[i], yr[i], 2 * U * (fabs(alpha * x[i]) + fabs(y0[i])) + 1e-30),
                   "n=%zu i=%zu got %.9g want %.9g", n, i, yv[i], yr[i]);
    out:
        unbuf(x, 0); unbuf(y0, 0); unbuf(yr, 0); unbuf(yv, mis);
    }
}

/* One rounding per element: the variant equals ref exactly. */
static void verify_scale_f32(struct vctx *v, fsk_scale_f32_fn ref, fsk_scale_f32_fn var)
{
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t n = size_at(v, si);
        int mis = (int)(si & 1);
        float *yr = buf(n, 0), *yv = buf(n, mis);
        if (!yr || !yv) { alloc_fail(v); goto out; }
        fill(v, yr, n, -50, 50);
        memcpy(yv, yr, n * sizeof *yr);
        float s = rnd(v, -2, 2);
        ref(yr, s, n);
        var(yv, s, n);
        for (size_t i = 0; i < n; i++)
            expect(v, memcmp(&yv[i], &yr[i], sizeof(float)) == 0, "n=%zu i=%zu got %.9g want %.9g", n, i,
                   yv[i], yr[i]);
    out:
        unbuf(yr, 0); unbuf(yv, mis);
    }
}

/* rows random float weight rows in [-1, 1) at w, stride bytes apart, as F32 (elem_bytes 4) or
 * F16 (2, rounded to half); mag[r] = sum_c |w_rc x_c|, the scale of row r's rounding error. */
static void float_rows(struct vctx *v, unsigned char *w, size_t rows, size_t stride, size_t ncols,
                       int elem_bytes, const float *x, double *mag)
{
    for (size_t r = 0; r < rows; r++) {
        mag[r] = 0;
        for (size_t c = 0; c < ncols; c++) {
            float f = rnd(v, -1, 1);
            if (elem_bytes == 2) {
                uint16_t h = fsk_f32_to_f16(f);
                memcpy(w + r * stride + 2 * c, &h, 2);
                f = fsk_f16_to_f32(h);
            } else {
                memcpy(w + r * stride + 4 * c, &f, 4);
            }
            mag[r] += fabs((double)f * x[c]);
        }
    }
}

/* Matvec over a float-activation weight type; elem_bytes 4 (F32) or 2 (F16). */
static void verify_matvec_float(struct vctx *v, fsk_matvec_f32_fn ref, fsk_matvec_f32_fn var,
                                int elem_bytes)
{
    static const size_t rows_list[] = {1, 3, 8, 17};
    for (size_t si = 0; si < n_sizes(v); si++) {
        size_t ncols = size_at(v, si);
        size_t rows = rows_list[si % 4];
        int mis = (int)(si & 1);
        /* rows padded by a few bytes so that row starts are not all aligned */
        size_t stride = ncols * (size_t)elem_bytes + (size_t)(mis ? elem_bytes : 0);
        unsigned char *w = malloc(rows * stride + 64);
        float *x = buf(ncols, mis), *yr = buf(rows, 0), *yv = buf(rows, 0);
        double *mag = malloc(rows * sizeof *mag);
        if (!w || !x || !yr || !yv || !mag) { alloc_fail(v); goto out; }
        fill(v, x, ncols, -1, 1);
        float_rows(v, w, rows, stride, ncols, elem_bytes, x, mag);
        for (size_t r = 0; r < rows; r++)
            yr[r] = yv[r] = -12345.0f;
        size_t r0 = rows > 2 ? 1 : 0, r1 = rows; /* a range not starting at row 0 */
        ref(yr, w, stride, x, ncols, r0, r1);
        var(yv, w, stride, x, ncols, r0, r1);
        for (size_t r = 0; r < rows; r++) {
            if (r < r0) {
                expect(v, yv[r] == -12345.0f, "rows %zu..%zu wrote row %zu", r0, r1, r);
                continue;
            }
            expect(v, close_to(yv[r], yr[r], 2.0 * (ncols + 2) * U * mag[r] + 1e-30),
                   "ncols=%zu row=%zu got %.9g want %.9g", ncols, r, yv[r], yr[r]);
        }
    out:
        free(w); free(mag); unbuf(x, mis); unbuf(yr, 0); unbuf(yv, 0);
    }
}

/* Rows of every short length (each tail size, through the four-row and the single-row paths)
 * packed so that the last one ends where an inaccessible page begins: a tail load that reads
 * past the end of the weights faults here instead of passing unnoticed. */
static void verify_matvec_float_edge(struct vctx *v, fsk_matvec_f32_fn ref, fsk_matvec_f32_fn var,
                                     int elem_bytes)
{
    long psl = sysconf(_SC_PAGESIZE);
    size_t ps = psl > 0 ? (size_t)psl : 4096;
    unsigned char *map = mmap(NULL, 2 * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED || mprotect(map + ps, ps, PROT_NONE) != 0) {
        expect(v, 0, "cannot map a guard page for the tail checks");
        if (map != MAP_FAILED)
            munmap(map, 2 * ps);
        return;
    }
    float x[24], yr[5], yv[5];
    for (size_t ncols = 1; ncols <= 17; ncols++)
        for (size_t rows = 1; rows <= 5; rows++) {
            size_t stride = ncols * (size_t)elem_bytes;
            unsigned char *w = map + ps - rows * stride;
            double mag[5];
            fill(v, x, ncols, -1, 1);
            float_rows(v, w, rows, stride, ncols, elem_bytes, x, mag);
            ref(yr, w, stride, x, ncols, 0, rows);
            var(yv, w, stride, x, ncols, 0, rows);
            for (size_t r = 0; r < rows; r++)
                expect(v, close_to(yv[r], yr[r], 2.0 * (ncols + 2) * U * mag[r] + 1e-30),
                       "ncols=%zu rows=%zu at a page end: row %zu got %.9g want %.9g", ncols, rows, r,
                       yv[r], yr[r]);
        }
    munmap(map, 2 * ps);
}

static void verify_matvec_f32(struct vctx *v, fsk_matvec_f32_fn ref, fsk_matvec_f32_fn var)
{
    verify_matvec_float(v, ref, var, 4);
    verify_matvec_float_edge(v, ref, var, 4);
}

static void verify_matvec_f16(struct vctx *v, fsk_matvec_f16_fn ref, fsk_matvec_f16_fn var)
{
    verify_matvec_float(v, ref, var, 2);
    verify_matvec_float_edge(v, ref, var, 2);
}

/* ------------------------------------------------------------------ quantized formats
 * Weights come from random floats through our weight quantizers, or are random bytes with finite
 * half scales where we have no quantizer (the K formats); activations come from the ref
 * quantizer, so that ref and the variant read the same bytes. */

static uint8_t rbyte(struct vctx *v)
{
    v->rng = v->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint8_t)(v->rng >> 56);
}

static double half_at(const unsigned char *p)
{
    fsk_half h;
    memcpy(&h, p, sizeof h);
    return fsk_f16_to_f32(h);
}

/* Offsets of a block's half-precision scales (d, and m or dmin where the format has one). */
static int half_fields(enum fsk_type t, size_t off[2])
{
    switch (t) {
    case FSK_TYPE_Q4_0: off[0] = offsetof(fsk_block_q4_0, d); return 1;
    case FSK_TYPE_Q5_0: off[0] = offsetof(fsk_block_q5_0, d); return 1;
    case FSK_TYPE_Q8_0: off[0] = offsetof(fsk_block_q8_0, d); return 1;
    case FSK_TYPE_Q6_K: off[0] = offsetof(fsk_block_q6_K, d); return 1;
    case FSK_TYPE_Q4_1: off[0] = offsetof(fsk_block_q4_1, d); off[1] = offsetof(fsk_block_q4_1, m); return 2;
    case FSK_TYPE_Q5_1: off[0] = offsetof(fsk_block_q5_1, d); off[1] = offsetof(fsk_block_q5_1, m); return 2;
    case FSK_TYPE_Q4_K: off[0] = offsetof(fsk_block_q4_K, d); off[1] = offsetof(fsk_block_q4_K, dmin); return 2;
    case FSK_TYPE_Q5_K: off[0] = offsetof(fsk_block_q5_K, d); off[1] = offsetof(fsk_block_q5_K, dmin); return 2;
    default: return 0;
    }
}

/* The largest offset |m| that dequantize adds to d*q for an element of this block: what an
 * integer kernel carries separately, so it counts in the magnitude of the sum. */
static double min_cap(enum fsk_type t, const unsigned char *blk)
{
    switch (t) {
    case FSK_TYPE_Q4_1: return fabs(half_at(blk + offsetof(fsk_block_q4_1, m)));
    case FSK_TYPE_Q5_1: return fabs(half_at(blk + offsetof(fsk_block_q5_1, m)));
    case FSK_TYPE_Q4_K: return 63.0 * fabs(half_at(blk + offsetof(fsk_block_q4_K, dmin)));
    case FSK_TYPE_Q5_K: return 63.0 * fabs(half_at(blk + offsetof(fsk_block_q5_K, dmin)));
    default: return 0.0;
    }
}

/* Random blocks of type t. small: scales in [1e-3, 1e-2] (matvec inputs of a sane size);
 * otherwise any finite half (dequantize must be exact over the whole range). For F16 and BF16,
 * any value but NaN, whose payload conversions may legitimately treat differently. */
static void random_blocks(struct vctx *v, enum fsk_type t, unsigned char *p, size_t nblocks,
                          int small)
{
    const struct fsk_type_traits *tr = fsk_type_traits(t);
    for (size_t i = 0; i < nblocks * tr->block_bytes; i++)
        p[i] = rbyte(v);
    if (t == FSK_TYPE_F16 || t == FSK_TYPE_BF16) {
        uint16_t exp = t == FSK_TYPE_F16 ? 0x7c00u : 0x7f80u;
        for (size_t i = 0; i < nblocks; i++) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            if ((h & exp) == exp)
                h = (uint16_t)(h & (0x8000u | exp)); /* NaN to infinity */
            memcpy(p + 2 * i, &h, 2);
        }
        return;
    }
    size_t off[2];
    int nf = half_fields(t, off);
    for (size_t i = 0; i < nblocks; i++)
        for (int f = 0; f < nf; f++) {
            unsigned char *q = p + i * tr->block_bytes + off[f];
            fsk_half h;
            memcpy(&h, q, sizeof h);
            if (small)
                h = fsk_f32_to_f16(rnd(v, 1e-3f, 1e-2f));
            else if ((h & 0x7c00u) == 0x7c00u)
                h = (fsk_half)(h & ~0x4000u); /* inf or NaN to a finite value */
            memcpy(q, &h, sizeof h);
        }
}

/* The ref dequantizer of a weight type (its quantizer is fsk_row_quantizer). */
static fsk_dequantize_q4_0_fn weight_dequantizer(enum fsk_type t)
{
    switch (t) {
    case FSK_TYPE_Q4_0: return fsk_dequantize_q4_0__ref;
    case FSK_TYPE_Q4_1: return fsk_dequantize_q4_1__ref;
    case FSK_TYPE_Q5_0: return fsk_dequantize_q5_0__ref;
    case FSK_TYPE_Q5_1: return fsk_dequantize_q5_1__ref;
    case FSK_TYPE_Q8_0: return fsk_dequantize_q8_0__ref;
    case FSK_TYPE_Q4_K: return fsk_dequantize_q4_k__ref;
    case FSK_TYPE_Q5_K: return fsk_dequantize_q5_k__ref;
    case FSK_TYPE_Q6_K: return fsk_dequantize_q6_k__ref;
    case FSK_TYPE_BF16: return fsk_dequantize_bf16__ref;
    default: return fsk_dequantize_f16__ref;
    }
}

/* Row lengths tried: whole blocks, 1..9 and some model-sized rows (light: a few). */
static size_t q_count(const struct vctx *v, size_t block)
{
    if (block == 1)
        return n_sizes(v);
    return v->thorough ? (block == FSK_QK ? 13 : 7) : 3;
}

static size_t q_cols_at(const struct vctx *v, size_t block, size_t i)
{
    static const size_t b32[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 64, 128};
    static const size_t bk[] = {1, 2, 3, 4, 5, 8, 16};
    static const size_t light[] = {1, 2, 5};
    if (block == 1)
        return size_at(v, i);
    if (!v->thorough)
        return light[i] * block;
    return (block == FSK_QK ? b32[i] : bk[i]) * block;
}

/* Activation x (in the form act) for ncols random floats; a gets its dequantized values. */
static void make_activation(struct vctx *v, enum fsk_type act, void *x, double *a, float *f,
                            size_t ncols)
{
    fill(v, f, ncols, -1, 1);
    switch (act) {
    case FSK_TYPE_Q8_0:
        fsk_quantize_q8_0__ref(x, f, ncols);
        for (size_t i = 0; i < ncols; i++) {
            const fsk_block_q8_0 *b = (const fsk_block_q8_0 *)x + i / FSK_QK;
            a[i] = fsk_f16_to_f32(b->d) * (double)b->qs[i % FSK_QK];
        }
        break;
    case FSK_TYPE_Q8_1:
        fsk_quantize_q8_1__ref(x, f, ncols);
        for (size_t i = 0; i < ncols; i++) {
            const fsk_block_q8_1 *b = (const fsk_block_q8_1 *)x + i / FSK_QK;
            a[i] = fsk_f16_to_f32(b->d) * (double)b->qs[i % FSK_QK];
        }
        break;
    case FSK_TYPE_Q8_K:
        fsk_quantize_q8_k__ref(x, f, ncols);
        for (size_t i = 0; i < ncols; i++) {
            const fsk_block_q8_K *b = (const fsk_block_q8_K *)x + i / FSK_QK_K;
            a[i] = b->d * (double)b->qs[i % FSK_QK_K];
        }
        break;
    default:
        memcpy(x, f, ncols * sizeof *f);
        for (size_t i = 0; i < ncols; i++)
            a[i] = f[i];
        break;
    }
}

/* Weights for rows rows of type t, and each row's magnitude
 * mag[r] = sum_c (|w_rc| + 2 mcap_rc) |a_c|, which bounds the sum of |terms| either side may
 * round: the d*q products, the min products (m * s reads s ~ d_a * sum a), and their sums. */
static int make_weights(struct vctx *v, enum fsk_type t, unsigned char *w, size_t rows,
                        size_t stride, size_t ncols, const double *a, double *mag)
{
    const struct fsk_type_traits *tr = fsk_type_traits(t);
    const fsk_quantize_row_fn quant = fsk_row_quantizer(t);
    float *f = malloc(ncols * sizeof *f);
    if (!f)
        return -1;
    for (size_t r = 0; r < rows; r++) {
        unsigned char *row = w + r * stride;
        if (quant) {
            float lo = -1.0f + 0.5f * (float)(r % 3); /* rows with and without an offset */
            fill(v, f, ncols, lo, lo + 2.0f);
            quant(row, f, ncols);
        } else {
            random_blocks(v, t, row, ncols / tr->block, 1);
        }
        weight_dequantizer(t)(f, row, ncols);
        mag[r] = 0;
        for (size_t c = 0; c < ncols; c++) {
            double cap = min_cap(t, row + c / tr->block * tr->block_bytes);
            mag[r] += (fabs(f[c]) + 2.0 * cap) * fabs(a[c]);
        }
    }
    free(f);
    return 0;
}

/* Compares rows r0..rows-1 of two matvec results; rows before r0 must be untouched.
 * Tolerance: each side rounds, per block, the scale product, the int-to-float conversion, the
 * scaling and the min term (4 roundings), plus the float sum of at most 16 sub-block partials a
 * variant may keep apart; then sums the nblocks block partials in its own order:
 * |var - ref| <= 2 (nblocks + 20) u sum_k |block partial k| <= 2 (nblocks + 20) u mag. */
static void compare_rows(struct vctx *v, const float *yr, const float *yv, const double *mag,
                         size_t rows, size_t r0, size_t ncols, size_t nblocks)
{
    for (size_t r = 0; r < rows; r++) {
        if (r < r0) {
            expect(v, yv[r] == -12345.0f, "rows %zu..%zu wrote row %zu", r0, rows, r);
            continue;
        }
        expect(v, close_to(yv[r], yr[r], 2.0 * (double)(nblocks + 20) * U * mag[r] + 1e-30),
               "ncols=%zu row=%zu got %.9g want %.9g", ncols, r, yv[r], yr[r]);
    }
}

static void verify_matvec_quant(struct vctx *v, fsk_matvec_f32_fn ref, fsk_matvec_f32_fn var,
                                enum fsk_type t)
{
    static const size_t rows_list[] = {1, 3, 8, 17};
    const struct fsk_type_traits *tr = fsk_type_traits(t);
    for (size_t si = 0; si < q_count(v, tr->block); si++) {
        size_t ncols = q_cols_at(v, tr->block, si), rows = rows_list[si % 4];
        int mis = (int)(si & 1);
        /* an even pad keeps the half fields 2-aligned, as GGUF's 32-byte alignment does */
        size_t stride = fsk_type_row_bytes(t, ncols) + (size_t)(mis ? 2 : 0);
        unsigned char *w = malloc(rows * stride);
        void *x = malloc(fsk_type_row_bytes(tr->act, ncols));
        double *a = malloc(ncols * sizeof *a), *mag = malloc(rows * sizeof *mag);
        float *f = malloc(ncols * sizeof *f), *yr = buf(rows, 0), *yv = buf(rows, 0);
        if (!w || !x || !a || !mag || !f || !yr || !yv) { alloc_fail(v); goto out; }
        make_activation(v, tr->act, x, a, f, ncols);
        if (make_weights(v, t, w, rows, stride, ncols, a, mag)) { alloc_fail(v); goto out; }
        for (size_t r = 0; r < rows; r++)
            yr[r] = yv[r] = -12345.0f;
        size_t r0 = rows > 2 ? 1 : 0; /* a range not starting at row 0 */
        ref(yr, w, stride, x, ncols, r0, rows);
        var(yv, w, stride, x, ncols, r0, rows);
        compare_rows(v, yr, yv, mag, rows, r0, ncols, ncols / tr->block);
    out:
        free(w); free(x); free(a); free(mag); free(f); unbuf(yr, 0); unbuf(yv, 0);
    }
}

/* Dequantization is a pure conversion: every float must be identical, bit for bit. */
static void verify_dequantize(struct vctx *v, fsk_dequantize_q4_0_fn ref,
                              fsk_dequantize_q4_0_fn var, enum fsk_type t)
{
    const struct fsk_type_traits *tr = fsk_type_traits(t);
    for (size_t si = 0; si < q_count(v, tr->block); si++) {
        size_t n = q_cols_at(v, tr->block, si);
        int mis = (int)(si & 1);
        unsigned char *x = malloc(fsk_type_row_bytes(t, n));
        float *yr = buf(n, 0), *yv = buf(n, mis);
        if (!x || !yr || !yv) { alloc_fail(v); goto out; }
        random_blocks(v, t, x, n / tr->block, 0);
        ref(yr, x, n);
        var(yv, x, n);
        for (size_t i = 0; i < n; i++)
            expect(v, fsk_f32_to_bits(yv[i]) == fsk_f32_to_bits(yr[i]),
                   "n=%zu i=%zu got %.9g want %.9g", n, i, yv[i], yr[i]);
    out:
        free(x); unbuf(yr, 0); unbuf(yv, mis);
    }
}

/* Inputs for activation quantizers, one kind per block: random of a random scale, all zero (d
 * must be 0), and exact ties: amax 127 makes d = 1 and x = k + 1/2 sits on a rounding tie. */
static void quant_input(struct vctx *v, float *x, size_t block, size_t b)
{
    switch (b % 4) {
    case 1:
        memset(x, 0, block * sizeof *x);
        break;
    case 2:
        for (size_t j = 0; j < block; j++)
            x[j] = (float)(int)rnd(v, -126, 126) + 0.5f;
        x[b % block] = (b & 4) ? 127.0f : -127.0f;
        break;
    default: {
        float s = ldexpf(1.0f, (int)rnd(v, -20, 20));
        fill(v, x, block, -s, s);
        if (b % 4 == 3) /* a NaN (ref: it leaves the maximum alone and quantizes to 0), anywhere */
            x[(b * 7) % block] = NAN;
    }
    }
}

/* True when x/d (= 127 x / amax) lies within a few ulps of a rounding tie, where computing
 * x * (1/d) or x / d may round either way; there quants may differ by one. */
static int near_tie(float x, float amax)
{
    double t = fabs((double)x * 127.0 / amax);
    return fabs(t - floor(t) - 0.5) <= 4.0 * U * t;
}

static int ulps_apart(uint32_t a, uint32_t b)
{
    return (int)(a > b ? a - b : b - a);
}

/* Quants of one block: equal, or one apart at a tie; zero when amax is zero. */
static void compare_quants(struct vctx *v, const int8_t *qr, const int8_t *qv, const float *x,
                           size_t block, size_t b)
{
    float amax = 0.0f;
    for (size_t j = 0; j < block; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    for (size_t j = 0; j < block; j++) {
        int ok = qv[j] == qr[j] ||
                 (amax > 0.0f && abs(qv[j] - qr[j]) == 1 && near_tie(x[j], amax));
        expect(v, ok, "block %zu j=%zu x=%.9g got %d want %d", b, j, x[j], qv[j], qr[j]);
    }
}

/* Checks of one block of each form; s and bsums against the variant's own quants. */
static void compare_q8_block(struct vctx *v, enum fsk_type act, const unsigned char *br,
                             const unsigned char *bv, const float *x, size_t b)
{
    if (act == FSK_TYPE_Q8_K) {
        const fsk_block_q8_K *r = (const void *)br, *q = (const void *)bv;
        expect(v, ulps_apart(fsk_f32_to_bits(q->d), fsk_f32_to_bits(r->d)) <= 1,
               "block %zu d got %.9g want %.9g", b, q->d, r->d);
        compare_quants(v, r->qs, q->qs, x, FSK_QK_K, b);
        for (int g = 0; g < FSK_QK_K / 16; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++)
                s += q->qs[16 * g + l];
            expect(v, q->bsums[g] == s, "block %zu bsums[%d] %d, quants sum %d", b, g, q->bsums[g], s);
        }
        return;
    }
    /* q8_0 and q8_1 both open with the half d; q8_1 adds s before its quants */
    size_t qoff = act == FSK_TYPE_Q8_1 ? offsetof(fsk_block_q8_1, qs) : offsetof(fsk_block_q8_0, qs);
    fsk_half dr, dv;
    memcpy(&dr, br, sizeof dr);
    memcpy(&dv, bv, sizeof dv);
    expect(v, ulps_apart(dv, dr) <= 1, "block %zu d got %#x want %#x", b, dv, dr);
    compare_quants(v, (const int8_t *)(br + qoff), (const int8_t *)(bv + qoff), x, FSK_QK, b);
    if (act == FSK_TYPE_Q8_1) {
        const fsk_block_q8_1 *q = (const void *)bv;
        int sum = 0;
        for (int j = 0; j < FSK_QK; j++)
            sum += q->qs[j];
        fsk_half want = fsk_f32_to_f16(fsk_f16_to_f32(q->d) * (float)sum);
        expect(v, ulps_apart(q->s, want) <= 1, "block %zu s %#x, d*sum(q) %#x", b, q->s, want);
    }
}

static void verify_quantize(struct vctx *v, fsk_quantize_q8_0_fn ref, fsk_quantize_q8_0_fn var,
                            enum fsk_type act)
{
    const struct fsk_type_traits *tr = fsk_type_traits(act);
    for (size_t si = 0; si < q_count(v, tr->block); si++) {
        size_t n = q_cols_at(v, tr->block, si), nb = n / tr->block;
        int mis = (int)(si & 1);
        float *x = buf(n, mis);
        unsigned char *yr = malloc(fsk_type_row_bytes(act, n)), *yv = malloc(fsk_type_row_bytes(act, n));
        if (!x || !yr || !yv) { alloc_fail(v); goto out; }
        for (size_t b = 0; b < nb; b++)
            quant_input(v, x + b * tr->block, tr->block, b + si);
        ref(yr, x, n);
        var(yv, x, n);
        for (size_t b = 0; b < nb; b++)
            compare_q8_block(v, act, yr + b * tr->block_bytes, yv + b * tr->block_bytes,
                             x + b * tr->block, b);
    out:
        unbuf(x, mis); free(yr); free(yv);
    }
}

#define VERIFY_QUANT_OPS(t, T)                                                                 \
    static void verify_matvec_##t(struct vctx *v, fsk_matvec_##t##_fn ref, fsk_matvec_##t##_fn var) \
    {                                                                                          \
        verify_matvec_quant(v, ref, var, FSK_TYPE_##T);                                        \
    }                                                                                          \
    static void verify_dequantize_##t(struct vctx *v, fsk_dequantize_##t##_fn ref,             \
                                      fsk_dequantize_##t##_fn var)                             \
    {                                                                                          \
        verify_dequantize(v, ref, var, FSK_TYPE_##T);                                          \
    }
VERIFY_QUANT_OPS(q4_0, Q4_0)
VERIFY_QUANT_OPS(q4_1, Q4_1)
VERIFY_QUANT_OPS(q5_0, Q5_0)
VERIFY_QUANT_OPS(q5_1, Q5_1)
VERIFY_QUANT_OPS(q8_0, Q8_0)
VERIFY_QUANT_OPS(q4_k, Q4_K)
VERIFY_QUANT_OPS(q5_k, Q5_K)
VERIFY_QUANT_OPS(q6_k, Q6_K)
VERIFY_QUANT_OPS(bf16, BF16)
#undef VERIFY_QUANT_OPS

static void verify_dequantize_f16(struct vctx *v, fsk_dequantize_f16_fn ref, fsk_dequantize_f16_fn var)
{
    verify_dequantize(v, ref, var, FSK_TYPE_F16);
}

static void verify_quantize_q8_0(struct vctx *v, fsk_quantize_q8_0_fn ref, fsk_quantize_q8_0_fn var)
{
    verify_quantize(v, ref, var, FSK_TYPE_Q8_0);
}

static void verify_quantize_q8_1(struct vctx *v, fsk_quantize_q8_1_fn ref, fsk_quantize_q8_1_fn var)
{
    verify_quantize(v, ref, var, FSK_TYPE_Q8_1);
}

static void verify_quantize_q8_k(struct vctx *v, fsk_quantize_q8_k_fn ref, fsk_quantize_q8_k_fn var)
{
    verify_quantize(v, ref, var, FSK_TYPE_Q8_K);
}

/* ------------------------------------------------------------------ matmul (prefill)
 * Each (row, token) value must be bit for bit what the same ISA's matvec gives for that token
 * over the same row range (prefill then equals decoding token by token), and within the matvec's
 * tolerance of ref. Token counts cover tiles and their remainders; row ranges start at 0, 1 or
 * 2 so that groups of rows and their tails fall differently; y has spare columns (ldy > rows)
 * that must stay untouched. */

struct mm_case {
    size_t ncols, rows, r0, ntok, stride, x_stride, ldy;
    int f16; /* float weights: F16, else F32 */
};

/* Float weights in [-1, 1) (F16: rounded to half); mag[r] = sum_c |w_rc| amax_c. */
static void mm_float_weights(struct vctx *v, const struct mm_case *c, unsigned char *w,
                             const double *amax, double *mag)
{
    for (size_t r = 0; r < c->rows; r++) {
        mag[r] = 0;
        for (size_t k = 0; k < c->ncols; k++) {
            float f = rnd(v, -1, 1);
            if (c->f16) {
                uint16_t h = fsk_f32_to_f16(f);
                memcpy(w + r * c->stride + 2 * k, &h, 2);
                f = fsk_f16_to_f32(h);
            } else {
                memcpy(w + r * c->stride + 4 * k, &f, 4);
            }
            mag[r] += fabs((double)f) * amax[k];
        }
    }
}

/* Runs ref, the variant and the variant's matvec on one case and compares. */
static void mm_compare(struct vctx *v, const struct mm_case *c, fsk_matmul_f32_fn ref,
                       fsk_matmul_f32_fn var, fsk_matvec_f32_fn mv, const unsigned char *w,
                       const unsigned char *x, const double *mag, double tol_units)
{
    size_t n = c->ntok * c->ldy;
    float *yr = malloc(n * sizeof *yr), *yv = malloc(n * sizeof *yv), *ym = malloc(n * sizeof *ym);
    if (!yr || !yv || !ym) { alloc_fail(v); goto out; }
    for (size_t i = 0; i < n; i++)
        yr[i] = yv[i] = ym[i] = -12345.0f;
    ref(yr, c->ldy, w, c->stride, x, c->x_stride, c->ncols, c->ntok, c->r0, c->rows);
    var(yv, c->ldy, w, c->stride, x, c->x_stride, c->ncols, c->ntok, c->r0, c->rows);
    for (size_t k = 0; k < c->ntok; k++)
        mv(ym + k * c->ldy, w, c->stride, x + k * c->x_stride, c->ncols, c->r0, c->rows);
    for (size_t k = 0; k < c->ntok; k++)
        for (size_t r = 0; r < c->ldy; r++) {
            float got = yv[k * c->ldy + r], mvv = ym[k * c->ldy + r], want = yr[k * c->ldy + r];
            if (r < c->r0 || r >= c->rows) {
                expect(v, got == -12345.0f, "rows %zu..%zu of %zu tokens wrote row %zu of token %zu",
                       c->r0, c->rows, c->ntok, r, k);
                continue;
            }
            expect(v, memcmp(&got, &mvv, sizeof got) == 0,
                   "ncols=%zu ntok=%zu rows %zu..%zu: token %zu row %zu got %.9g, the matvec %.9g",
                   c->ncols, c->ntok, c->r0, c->rows, k, r, got, mvv);
            expect(v, close_to(got, want, tol_units * U * mag[r] + 1e-30),
                   "ncols=%zu ntok=%zu token %zu row %zu got %.9g want %.9g", c->ncols, c->ntok,
                   k, r, got, want);
        }
out:
    free(yr); free(yv); free(ym);
}

static void verify_matmul(struct vctx *v, fsk_matmul_f32_fn ref, fsk_matmul_f32_fn var,
                          enum fsk_type t, enum fsk_op matvec_op)
{
    static const size_t tokens[] = {1, 2, 3, 4, 5, 8, 13}, light_tokens[] = {1, 4, 9};
    static const size_t rows_list[] = {1, 3, 8, 17, 6};
    const struct fsk_type_traits *tr = fsk_type_traits(t);
    fsk_matvec_f32_fn mv = (fsk_matvec_f32_fn)fsk_kernel_variant(matvec_op, v->isa);
    if (!mv) {
        expect(v, 0, "no %s matvec to compare with", fsk_isa_name(v->isa));
        return;
    }
    const int quant = tr->act != FSK_TYPE_F32;
    const size_t nsz = quant ? q_count(v, tr->block) : n_sizes(v);
    const size_t ntk = v->thorough ? sizeof tokens / sizeof *tokens : 3;
    /* thorough: one more, a long row (Llama-7B's FFN width) that variants tile differently */
    for (size_t si = 0; si < nsz + (v->thorough ? 1 : 0); si++)
        for (size_t ti = 0; ti < ntk; ti++) {
            struct mm_case c;
            c.ncols = si == nsz ? 11008 : quant ? q_cols_at(v, tr->block, si) : size_at(v, si);
            c.ntok = v->thorough ? tokens[ti] : light_tokens[ti];
            c.rows = rows_list[(si + ti) % 5];
            c.r0 = (si + ti) % 3 < c.rows ? (si + ti) % 3 : 0;
            c.f16 = t == FSK_TYPE_F16;
            int mis = (int)((si + ti) & 1);
            size_t xb = fsk_type_row_bytes(quant ? tr->act : FSK_TYPE_F32, c.ncols);
            /* pads keep F32 rows 4-aligned and half fields 2-aligned, as GGUF does */
            c.stride = fsk_type_row_bytes(t, c.ncols) + (size_t)(mis ? (t == FSK_TYPE_F32 ? 4 : 2) : 0);
            /* misaligned by the activation block's own alignment: Q8_0/Q8_1 hold halves,
             * Q8_K a float and int16 sums */
            c.x_stride = xb + (size_t)(mis ? (quant && tr->act != FSK_TYPE_Q8_K ? 2 : 4) : 0);
            c.ldy = c.rows + 3;
            unsigned char *w = malloc(c.rows * c.stride), *x = malloc(c.ntok * c.x_stride);
            double *a = malloc(c.ncols * sizeof *a), *amax = calloc(c.ncols, sizeof *amax);
            double *mag = malloc(c.rows * sizeof *mag);
            float *f = malloc(c.ncols * sizeof *f);
            if (!w || !x || !a || !amax || !mag || !f) { alloc_fail(v); goto out; }
            for (size_t k = 0; k < c.ntok; k++) {
                make_activation(v, tr->act, x + k * c.x_stride, a, f, c.ncols);
                for (size_t i = 0; i < c.ncols; i++)
                    amax[i] = fabs(a[i]) > amax[i] ? fabs(a[i]) : amax[i];
            }
            /* quantized and BF16 rows are made as for their matvec checks; F32 and F16 here */
            if (quant || t == FSK_TYPE_BF16) {
                if (make_weights(v, t, w, c.rows, c.stride, c.ncols, amax, mag)) { alloc_fail(v); goto out; }
            } else {
                mm_float_weights(v, &c, w, amax, mag);
            }
            mm_compare(v, &c, ref, var, mv, w, x, mag,
                       2.0 * (double)(quant ? c.ncols / tr->block + 20 : c.ncols + 2));
        out:
            free(w); free(x); free(a); free(amax); free(mag); free(f);
        }
}

#define VERIFY_MATMUL(t, T)                                                                    \
    static void verify_matmul_##t(struct vctx *v, fsk_matmul_##t##_fn ref, fsk_matmul_##t##_fn var) \
    {                                                                                          \
        verify_matmul(v, ref, var, FSK_TYPE_##T, FSK_OP_matvec_##t);                           \
    }
VERIFY_MATMUL(f32, F32)
#undef VERIFY_MATMUL

/* Short F16 rows (a head wide) split at a multiple of 16, [0, a) and [a, pos): each value must be
 * bit for bit what one call over [0, pos) gives, for any number of queries on either side. The
 * batched prefill scored attention keys this way until the keys' cache became tiles (tdot_f16,
 * which verify_tdot_f16 checks over any split); matmul_f16 keeps the property for any matrix of
 * short rows. */
static void verify_matmul_key_split(struct vctx *v, fsk_matmul_f32_fn var)
{
    static const size_t widths[] = {16, 64};
    static const size_t ends[] = {1, 15, 16, 17, 35, 50, 64, 70, 97};
    enum { ROWS_MAX = 97, QMAX = 7 };
    for (size_t wi = 0; wi < sizeof widths / sizeof *widths; wi++) {
        const size_t hd = widths[wi], stride = hd * 2;
        uint16_t *w = malloc(ROWS_MAX * stride);
        float *x = malloc(QMAX * hd * sizeof *x), *one = malloc(QMAX * ROWS_MAX * sizeof *one),
              *two = malloc(QMAX * ROWS_MAX * sizeof *two);
        if (!w || !x || !one || !two) { alloc_fail(v); goto out; }
        for (size_t i = 0; i < ROWS_MAX * hd; i++)
            w[i] = fsk_f32_to_f16(rnd(v, -1, 1));
        for (size_t i = 0; i < QMAX * hd; i++)
            x[i] = fsk_f16_to_f32(fsk_f32_to_f16(rnd(v, -1, 1)));
        for (size_t ei = 0; ei < sizeof ends / sizeof *ends; ei++)
            for (size_t a = 0; a <= ends[ei]; a += 16) {
                const size_t pos = ends[ei], nq = 1 + (ei + a / 16) % QMAX, nrest = 1 + ei % 3;
                var(one, ROWS_MAX, w, stride, x, hd * sizeof(float), hd, nq, 0, pos);
                memset(two, 0, QMAX * ROWS_MAX * sizeof *two);
                if (a > 0) /* all nq queries see [0, a) */
                    var(two, ROWS_MAX, w, stride, x, hd * sizeof(float), hd, nq, 0, a);
                for (size_t q = 0; q < nq; q += nrest) /* the rest a few queries at a time */
                    var(two + q * ROWS_MAX, ROWS_MAX, w, stride, x + q * hd, hd * sizeof(float), hd,
                        q + nrest <= nq ? nrest : nq - q, a, pos);
                for (size_t q = 0; q < nq; q++)
                    for (size_t r = 0; r < pos; r++)
                        expect(v, memcmp(&one[q * ROWS_MAX + r], &two[q * ROWS_MAX + r], sizeof(float)) == 0,
                               "keys %zu wide, rows 0..%zu split at %zu: query %zu row %zu got %.9g, "
                               "one call %.9g", hd, pos, a, q, r, two[q * ROWS_MAX + r], one[q * ROWS_MAX + r]);
            }
    out:
        free(w); free(x); free(one); free(two);
    }
}

static void verify_matmul_f16(struct vctx *v, fsk_matmul_f16_fn ref, fsk_matmul_f16_fn var)
{
    verify_matmul(v, ref, var, FSK_TYPE_F16, FSK_OP_matvec_f16);
    verify_matmul_key_split(v, var);
}

#define VERIFY_MATMUL(t, T)                                                                    \
    static void verify_matmul_##t(struct vctx *v, fsk_matmul_##t##_fn ref, fsk_matmul_##t##_fn var) \
    {                                                                                          \
        verify_matmul(v, ref, var, FSK_TYPE_##T, FSK_OP_matvec_##t);                           \
    }
VERIFY_MATMUL(q4_0, Q4_0)
VERIFY_MATMUL(q4_1, Q4_1)
VERIFY_MATMUL(q5_0, Q5_0)
VERIFY_MATMUL(q5_1, Q5_1)
VERIFY_MATMUL(q4_k, Q4_K)
VERIFY_MATMUL(q5_k, Q5_K)
VERIFY_MATMUL(q6_k, Q6_K)
VERIFY_MATMUL(q8_0, Q8_0)
VERIFY_MATMUL(bf16, BF16)
#undef VERIFY_MATMUL

/* ------------------------------------------------------------------ repacked eight-row layouts
 * Q4_1, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K or Q6_K rows made as for their plain checks, then repacked
 * (fsk_repack_r8) at an even offset that is 32-aligned or not. ref's r8 matvec must give the plain ref matvec's floats on
 * the rows before repacking, bit for bit (which checks the repack too); a variant is held to the
 * plain tolerance against that, and its matmul to its own matvec bit for bit, as for every
 * matmul. Row ranges are whole groups of eight, starting at group 0 or 1, one group or an odd
 * count. */

struct r8_kind {
    enum fsk_type t, act;
    enum fsk_type r8; /* the layout, for fsk_repack_r8 */
    fsk_matvec_f32_fn plain_ref;
};

static struct r8_kind r8_kind(enum fsk_type t)
{
    if (t == FSK_TYPE_Q8_0)
        return (struct r8_kind){t, FSK_TYPE_Q8_0, FSK_TYPE_Q8_0_R8, fsk_matvec_q8_0__ref};
    if (t == FSK_TYPE_Q4_0)
        return (struct r8_kind){t, FSK_TYPE_Q8_0, FSK_TYPE_Q4_0_R8, fsk_matvec_q4_0__ref};
    if (t == FSK_TYPE_Q5_0)
        return (struct r8_kind){t, FSK_TYPE_Q8_0, FSK_TYPE_Q5_0_R8, fsk_matvec_q5_0__ref};
    if (t == FSK_TYPE_Q5_1)
        return (struct r8_kind){t, FSK_TYPE_Q8_1, FSK_TYPE_Q5_1_R8, fsk_matvec_q5_1__ref};
    if (t == FSK_TYPE_Q4_K)
        return (struct r8_kind){t, FSK_TYPE_Q8_K, FSK_TYPE_Q4_K_R8, fsk_matvec_q4_k__ref};
    if (t == FSK_TYPE_Q5_K)
        return (struct r8_kind){t, FSK_TYPE_Q8_K, FSK_TYPE_Q5_K_R8, fsk_matvec_q5_k__ref};
    if (t == FSK_TYPE_Q6_K)
        return (struct r8_kind){t, FSK_TYPE_Q8_K, FSK_TYPE_Q6_K_R8, fsk_matvec_q6_k__ref};
    return (struct r8_kind){FSK_TYPE_Q4_1, FSK_TYPE_Q8_1, FSK_TYPE_Q4_1_R8, fsk_matvec_q4_1__ref};
}

struct r8_case {
    size_t ncols, rows, r0, row_bytes;
    unsigned char *w, *wr;  /* plain rows and their repacked copy (wr inside wr_mem) */
    unsigned char *wr_mem;
    double *mag;
};

/* Case number n picks the rows, the range and the offset of the copy. */
static int r8_make(struct vctx *v, const struct r8_kind *kd, struct r8_case *c, size_t ncols, size_t n,
                   const double *amax)
{
    static const size_t rows_list[] = {8, 16, 24, 40};
    c->ncols = ncols;
    c->rows = rows_list[n % 4];
    c->r0 = c->rows > 16 ? FSK_R8 : 0;
    c->row_bytes = fsk_type_row_bytes(kd->t, c->ncols);
    c->w = malloc(c->rows * c->row_bytes);
    c->wr_mem = malloc(c->rows * c->row_bytes + 2);
    c->mag = malloc(c->rows * sizeof *c->mag);
    if (!c->w || !c->wr_mem || !c->mag)
        return -1;
    c->wr = c->wr_mem + (n & 1 ? 2 : 0);
    if (make_weights(v, kd->t, c->w, c->rows, c->row_bytes, c->ncols, amax, c->mag))
        return -1;
    expect(v, fsk_repack_r8(c->wr, c->w, c->rows, c->row_bytes, c->ncols, kd->r8) == 0,
           "repack of %zu rows of %zu columns refused", c->rows, c->ncols);
    return 0;
}

static void r8_free(struct r8_case *c)
{
    free(c->w); free(c->wr_mem); free(c->mag);
}

static void verify_matvec_r8(struct vctx *v, fsk_matvec_f32_fn ref, fsk_matvec_f32_fn var, enum fsk_type t)
{
    const struct r8_kind kd = r8_kind(t);
    const size_t qk = fsk_type_traits(t)->block;
    expect(v, fsk_repack_r8(NULL, NULL, 12, 20, qk, kd.r8) == -1, "repack took 12 rows");
    expect(v, fsk_repack_r8(NULL, NULL, 8, 20, qk / 2, kd.r8) == -1, "repack took half a block");
    for (size_t si = 0; si < q_count(v, qk); si++) {
        struct r8_case c = {0};
        size_t ncols = q_cols_at(v, qk, si);
        void *x = malloc(fsk_type_row_bytes(kd.act, ncols));
        double *a = malloc(ncols * sizeof *a);
        float *f = malloc(ncols * sizeof *f), *yq = buf(40, 0), *yr = buf(40, 0), *yv = buf(40, 0);
        if (!x || !a || !f || !yq || !yr || !yv) { alloc_fail(v); goto out; }
        make_activation(v, kd.act, x, a, f, ncols);
        if (r8_make(v, &kd, &c, ncols, si, a)) { alloc_fail(v); goto out; }
        for (size_t r = 0; r < c.rows; r++)
            yq[r] = yr[r] = yv[r] = -12345.0f;
        kd.plain_ref(yq, c.w, c.row_bytes, x, ncols, c.r0, c.rows);
        ref(yr, c.wr, c.row_bytes, x, ncols, c.r0, c.rows);
        var(yv, c.wr, c.row_bytes, x, ncols, c.r0, c.rows);
        for (size_t r = c.r0; r < c.rows; r++)
            expect(v, memcmp(&yr[r], &yq[r], sizeof yr[r]) == 0,
                   "ncols=%zu row=%zu: ref on the repacked rows %.9g, on the plain rows %.9g", ncols,
                   r, yr[r], yq[r]);
        compare_rows(v, yq, yv, c.mag, c.rows, c.r0, ncols, ncols / qk);
    out:
        r8_free(&c); free(x); free(a); free(f); unbuf(yq, 0); unbuf(yr, 0); unbuf(yv, 0);
    }
}

static void verify_matmul_r8(struct vctx *v, fsk_matmul_f32_fn ref, fsk_matmul_f32_fn var, enum fsk_type t,
                             enum fsk_op matvec_op)
{
    /* 16 tokens and more: where the CPU has AMX-INT8 the matmul takes its tiles (16 tokens by 16
     * rows) and hands what they leave to the VNNI paths */
    static const size_t tokens[] = {1, 2, 3, 5, 8, 16, 21, 35}, light_tokens[] = {1, 3, 17};
    const struct r8_kind kd = r8_kind(t);
    fsk_matvec_f32_fn mv = (fsk_matvec_f32_fn)fsk_kernel_variant(matvec_op, v->isa);
    if (!mv) {
        expect(v, 0, "no %s matvec to compare with", fsk_isa_name(v->isa));
        return;
    }
    const size_t ntk = v->thorough ? sizeof tokens / sizeof *tokens : sizeof light_tokens / sizeof *light_tokens;
    const size_t qk = fsk_type_traits(t)->block;
    for (size_t si = 0; si < q_count(v, qk); si++)
        for (size_t ti = 0; ti < ntk; ti++) {
            struct r8_case rc = {0};
            struct mm_case c;
            c.ncols = q_cols_at(v, qk, si);
            c.ntok = v->thorough ? tokens[ti] : light_tokens[ti];
            c.f16 = 0;
            size_t xb = fsk_type_row_bytes(kd.act, c.ncols);
            /* an even pad, 4 bytes for Q8_K (its d is a float) */
            c.x_stride = xb + (size_t)((si + ti) & 1 ? (kd.act == FSK_TYPE_Q8_K ? 4 : 2) : 0);
            unsigned char *x = malloc(c.ntok * c.x_stride);
            double *a = malloc(c.ncols * sizeof *a), *amax = calloc(c.ncols, sizeof *amax);
            float *f = malloc(c.ncols * sizeof *f);
            if (!x || !a || !amax || !f) { alloc_fail(v); goto out; }
            for (size_t k = 0; k < c.ntok; k++) {
                make_activation(v, kd.act, x + k * c.x_stride, a, f, c.ncols);
                for (size_t i = 0; i < c.ncols; i++)
                    amax[i] = fabs(a[i]) > amax[i] ? fabs(a[i]) : amax[i];
            }
            if (r8_make(v, &kd, &rc, c.ncols, si + ti, amax)) { alloc_fail(v); goto out; }
            c.rows = rc.rows;
            c.r0 = rc.r0;
            c.stride = rc.row_bytes;
            c.ldy = c.rows + 3;
            mm_compare(v, &c, ref, var, mv, rc.wr, x, rc.mag, 2.0 * (double)(c.ncols / qk + 20));
        out:
            r8_free(&rc); free(x); free(a); free(amax); free(f);
        }
}

/* verify_matvec_<t>_r8 and verify_matmul_<t>_r8 for the layout made from plain type T. */
#define VERIFY_R8(t, T)                                                                            \
    static void verify_matvec_##t##_r8(struct vctx *v, fsk_matvec_##t##_r8_fn ref,                 \
                                       fsk_matvec_##t##_r8_fn var)                                 \
    {                                                                                              \
        verify_matvec_r8(v, ref, var, FSK_TYPE_##T);                                               \
    }                                                                                              \
    static void verify_matmul_##t##_r8(struct vctx *v, fsk_matmul_##t##_r8_fn ref,                 \
                                       fsk_matmul_##t##_r8_fn var)                                 \
    {                                                                                              \
        verify_matmul_r8(v, ref, var, FSK_TYPE_##T, FSK_OP_matvec_##t##_r8);                       \
    }
VERIFY_R8(q4_1, Q4_1)
VERIFY_R8(q8_0, Q8_0)
VERIFY_R8(q4_0, Q4_0)
VERIFY_R8(q5_0, Q5_0)
VERIFY_R8(q5_1, Q5_1)
VERIFY_R8(q4_k, Q4_K)
VERIFY_R8(q5_k, Q5_K)
VERIFY_R8(q6_k, Q6_K)
#undef VERIFY_R8

void *fsk_kernel_variant(enum fsk_op op, enum fsk_isa isa)
{
    switch (op) {
#define FSK_IF_1(x) x
#define FSK_IF_0(x)
#define FSK_IF(flag, x) FSK_IF_##flag(x)
#if defined(FSK_BUILD_AVX2)
#define V_AVX2(op, a2) FSK_IF(a2, if (isa == FSK_ISA_AVX2) return (void *)fsk_##op##__avx2;)
#else
#define V_AVX2(op, a2)
#endif
#if defined(FSK_BUILD_AVX512)
#define V_AVX512(op, a5) FSK_IF(a5, if (isa == FSK_ISA_AVX512) return (void *)fsk_##op##__avx512;)
#else
#define V_AVX512(op, a5)
#endif
#if defined(FSK_BUILD_NEON)
#define V_NEON(op, ne) FSK_IF(ne, if (isa == FSK_ISA_NEON) return (void *)fsk_##op##__neon;)
#else
#define V_NEON(op, ne)
#endif
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params)                   \
    case FSK_OP_##op:                                                \
        if (isa == FSK_ISA_REF) return (void *)fsk_##op##__ref;      \
        V_AVX2(op, a2) V_AVX512(op, a5) V_NEON(op, ne) return NULL;
#include "kernels.def"
#undef FSK_KERNEL
    default:
        return NULL;
    }
}

int fsk_verify_op(enum fsk_op op, enum fsk_isa isa, int thorough, struct fsk_verify_result *res)
{
    struct vctx v = {0x9e3779b97f4a7c15ull ^ ((uint64_t)op << 32) ^ (uint64_t)isa, thorough, res,
                     (unsigned)op < FSK_OP_COUNT ? fsk_op_list[op].name : "?", isa};
    memset(res, 0, sizeof *res);
    void *var = fsk_kernel_variant(op, isa);
    void *ref = fsk_kernel_variant(op, FSK_ISA_REF);
    if (!var || !ref) {
        expect(&v, 0, "no %s variant in this build", fsk_isa_name(isa));
        return 1;
    }
    switch (op) {
#define FSK_KERNEL(name, r, a2, a5, ne, ret, params)                           \
    case FSK_OP_##name:                                                        \
        verify_##name(&v, (fsk_##name##_fn)ref, (fsk_##name##_fn)var);         \
        break;
#include "kernels.def"
#undef FSK_KERNEL
    default:
        break;
    }
    return res->failures != 0;
}

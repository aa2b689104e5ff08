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

#include "f16.h"
#include "verify.h"

#define U (1.0 / 16777216.0)

struct vctx {
    uint64_t rng;
    int thorough;
    struct fsk_verify_result *res;
    const char *op;
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
static void expect(struct vctx *v, int ok, const char *fmt, ...)
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

static void verify_matvec_f32(struct vctx *v, fsk_matvec_f32_fn ref, fsk_matvec_f32_fn var)
{
    verify_matvec_float(v, ref, var, 4);
}

static void verify_matvec_f16(struct vctx *v, fsk_matvec_f16_fn ref, fsk_matvec_f16_fn var)
{
    verify_matvec_float(v, ref, var, 2);
}

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
                     (unsigned)op < FSK_OP_COUNT ? fsk_op_list[op].name : "?"};
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

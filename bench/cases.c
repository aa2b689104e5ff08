/* cases.c (bench): the ops the bench knows: their sizes, their data, and a runner that calls each.
 *
 * Handlers are found by op name at run time, and a family handler ("matvec_", "quantize_",
 * "dequantize_") takes every op whose name starts with its prefix, reading the type from the
 * rest of the name. Each handler calls through its own function-pointer type, which bench.c
 * checks against the signature kernels.def declares before calling, so a changed or new kernel
 * line is reported as skipped instead of breaking the build or being called wrongly.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/mman.h>

#include "bench.h"
#include "numa.h"
#include "quant.h"

#define ROW_ALIGN 16 /* rows per thread rounded to 16: whole 64-byte lines of y per thread */

/* "(const float *a, size_t n)" -> "constfloat*,size_t": the parameter types without names or
 * spaces, so that two spellings of one signature compare equal. */
static void sig_types(const char *in, char *out, size_t len)
{
    size_t o = 0;
    const char *p = in + (*in == '(');
    for (;;) {
        const char *end = p;
        while (*end && *end != ',' && *end != ')')
            end++;
        const char *stop = end;
        while (stop > p && isspace((unsigned char)stop[-1]))
            stop--;
        const char *id = stop;
        while (id > p && (isalnum((unsigned char)id[-1]) || id[-1] == '_'))
            id--;
        const char *before = id;
        while (before > p && isspace((unsigned char)before[-1]))
            before--;
        if (id < stop && before > p) /* a type precedes the last word: the word is a name */
            stop = id;
        for (const char *s = p; s < stop; s++)
            if (!isspace((unsigned char)*s) && o + 1 < len)
                out[o++] = *s;
        if (*end != ',')
            break;
        if (o + 1 < len)
            out[o++] = ',';
        p = end + 1;
    }
    out[o < len ? o : len - 1] = '\0';
}

int bench_same_signature(const char *ret_a, const char *params_a, const char *ret_b,
                         const char *params_b)
{
    char a[512], b[512], ra[64], rb[64];
    sig_types(params_a, a, sizeof a);
    sig_types(params_b, b, sizeof b);
    sig_types(ret_a, ra, sizeof ra);
    sig_types(ret_b, rb, sizeof rb);
    return strcmp(a, b) == 0 && strcmp(ra, rb) == 0;
}

static float *falloc(size_t n)
{
    return aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
}

void bench_case_free(struct bcase *c)
{
    free(c->a);
    free(c->b);
    free(c->y);
    if (c->w)
        munmap(c->w, c->w_mapped);
    free(c->x);
    c->a = c->b = c->y = NULL;
    c->w = NULL;
    c->x = NULL;
}

/* SmolLM2-135M: hidden 576, FFN 1536, vocabulary 49152, 9 query and 3 key heads of 64. */
static size_t vec_size(enum shape_kind kind, size_t i)
{
    static const size_t sizes[] = {576, 1536, 49152};
    size_t n = kind == SHAPE_VEC_LOGITS ? 3 : 2;
    return i < n ? sizes[i] : 0;
}

static int setup_vec(struct bcase *c, size_t i, struct bench_env *env, char *why, size_t wl)
{
    size_t n = vec_size(c->h->kind, i);
    if (!n)
        return -1;
    c->rows = 1;
    c->cols = n;
    snprintf(c->shape, sizeof c->shape, "%zu", n);
    c->bytes = c->h->bytes_per_elem * (double)n;
    c->flops = c->h->flops_per_elem * (double)n;
    c->a = falloc(n);
    c->b = falloc(n);
    c->y = falloc(n);
    if (!c->a || !c->b || !c->y) {
        snprintf(why, wl, "out of memory");
        return 0;
    }
    bench_fill_f32(c->a, n, -1.0f, 1.0f, &env->rng);
    bench_fill_f32(c->b, n, -1.0f, 1.0f, &env->rng);
    bench_fill_f32(c->y, n, -1.0f, 1.0f, &env->rng);
    return 1;
}

static int setup_rope(struct bcase *c, size_t i, struct bench_env *env, char *why, size_t wl)
{
    static const size_t heads[] = {9, 3}; /* the query, then the key of one position */
    if (i >= sizeof heads / sizeof *heads)
        return -1;
    c->rows = heads[i];
    c->cols = 64;
    snprintf(c->shape, sizeof c->shape, "%zux%zu", c->rows, c->cols);
    size_t n = c->rows * c->cols;
    c->bytes = c->h->bytes_per_elem * (double)n;
    c->flops = c->h->flops_per_elem * (double)n;
    c->a = falloc(n);
    if (!c->a) {
        snprintf(why, wl, "out of memory");
        return 0;
    }
    bench_fill_f32(c->a, n, -1.0f, 1.0f, &env->rng);
    return 1;
}

int bench_op_type(const char *op, int weights_only, uint32_t *type, char *why, size_t wl)
{
    const char *name = strchr(op, '_') ? strchr(op, '_') + 1 : op;
    for (uint32_t t = 0; t < FSK_TYPE_COUNT; t++) {
        const struct fsk_type_traits *tr = fsk_type_traits(t);
        if (tr && strcasecmp(tr->name, name) == 0) {
            if (weights_only && !tr->weight) {
                snprintf(why, wl, "%s is an activation type, never a weight", tr->name);
                return 0;
            }
            *type = t;
            return 1;
        }
    }
    snprintf(why, wl, "no GGML type named '%s' in kernels/quant.h", name);
    return 0;
}

/* Attention's weighted sum of values at decode: SmolLM2's three query heads per kv group, head_dim
 * 64, over 256 and 2048 earlier positions (one layer's kv group; the cache's rows one after
 * another), from cache as in decoding, where one group's values are a few hundred KiB. */
static int setup_wsum(struct bcase *c, size_t i, struct bench_env *env, char *why, size_t wl)
{
    static const size_t positions[] = {256, 2048};
    if (i >= sizeof positions / sizeof *positions)
        return -1;
    c->ntok = 3;
    c->rows = positions[i];
    c->cols = 64;
    snprintf(c->shape, sizeof c->shape, "%zux%zux%zu", c->ntok, c->rows, c->cols);
    c->bytes = (double)c->rows * c->cols * 2 + (double)c->ntok * (c->rows + c->cols) * 4;
    c->flops = 2.0 * (double)c->ntok * c->rows * c->cols;
    c->a = falloc(c->ntok * c->rows);
    c->y = falloc(c->ntok * c->cols);
    c->x = aligned_alloc(64, (c->rows * c->cols * 2 + 63) / 64 * 64);
    if (!c->a || !c->y || !c->x) {
        snprintf(why, wl, "out of memory");
        return 0;
    }
    bench_fill_f32(c->a, c->ntok * c->rows, 0.0f, 1.0f / (float)c->rows, &env->rng);
    if (!bench_fill_type(FSK_TYPE_F16, c->x, c->rows * c->cols * 2, &env->rng)) {
        snprintf(why, wl, "the bench has no random-data generator for F16");
        return 0;
    }
    return 1;
}

/* Attention's scores against key tiles: a kv group's three query heads at decode over 256 and
 * 2048 positions, and a prefill tile's 48 queries (16 tokens x 3 heads) over 1024; head_dim 64. */
static int setup_tdot(struct bcase *c, size_t i, struct bench_env *env, char *why, size_t wl)
{
    static const size_t shapes[][2] = {{3, 256}, {3, 2048}, {48, 1024}};
    if (i >= sizeof shapes / sizeof *shapes)
        return -1;
    c->ntok = shapes[i][0];
    c->rows = shapes[i][1];
    c->cols = 64;
    snprintf(c->shape, sizeof c->shape, "%zux%zux%zu", c->ntok, c->rows, c->cols);
    c->bytes = (double)c->rows * c->cols * 2 + (double)c->ntok * (c->rows + c->cols) * 4;
    c->flops = 2.0 * (double)c->ntok * c->rows * c->cols;
    c->a = falloc(c->ntok * c->cols);
    c->y = falloc(c->ntok * c->rows);
    c->x = aligned_alloc(64, (c->rows * c->cols * 2 + 63) / 64 * 64);
    if (!c->a || !c->y || !c->x) {
        snprintf(why, wl, "out of memory");
        return 0;
    }
    bench_fill_f32(c->a, c->ntok * c->cols, -1.0f, 1.0f, &env->rng);
    if (!bench_fill_type(FSK_TYPE_F16, c->x, c->rows * c->cols * 2, &env->rng)) {
        snprintf(why, wl, "the bench has no random-data generator for F16");
        return 0;
    }
    return 1;
}

/* Vector sizes for the conversions; the byte and flop counts depend on the type. */
static int setup_convert(struct bcase *c, size_t i, struct bench_env *env, char *why, size_t wl)
{
    size_t n = vec_size(SHAPE_VEC, i);
    if (!n)
        return -1;
    c->rows = 1;
    c->cols = n;
    snprintf(c->shape, sizeof c->shape, "%zu", n);
    uint32_t type;
    if (!bench_op_type(c->op, 0, &type, why, wl))
        return 0;
    const struct fsk_type_traits *tr = fsk_type_traits(type);
    size_t q_bytes = fsk_type_row_bytes(type, n);
    if (!q_bytes) {
        snprintf(why, wl, "%zu is not a whole number of %u-element %s blocks", n, tr->block,
                 tr->name);
        return 0;
    }
    c->bytes = (double)(q_bytes + n * sizeof(float));
    c->flops = c->h->flops_per_elem * (double)n;
    c->a = falloc(n);
    c->y = falloc(n);
    c->x = aligned_alloc(64, (q_bytes + 63) / 64 * 64);
    if (!c->a || !c->y || !c->x) {
        snprintf(why, wl, "out of memory");
        return 0;
    }
    bench_fill_f32(c->a, n, -1.0f, 1.0f, &env->rng);
    /* only dequantize reads the blocks; quantize overwrites them */
    if (c->h->kind == SHAPE_DEQUANTIZE && !bench_fill_type(type, c->x, q_bytes, &env->rng)) {
        snprintf(why, wl, "the bench has no random-data generator for %s", tr->name);
        return 0;
    }
    return 1;
}

/* Allocates and fills the weights: one random copy, duplicated until the copies together reach
 * the working-set size. */
static int matvec_weights(struct bcase *c, uint32_t type, struct bench_env *env, char *why,
                          size_t wl)
{
    size_t bytes = c->rows * c->row_bytes;
    c->copy_stride = (bytes + 4095) / 4096 * 4096;
    c->copies = env->hot ? 1 : (env->ws_bytes + bytes - 1) / bytes;
    if (c->copies < 1)
        c->copies = 1;
    /* mapped like the runtime's weight arena (model/repack.c): 2 MiB pages when env->huge */
    c->w = fsk_arena_map(c->copies * c->copy_stride, env->huge, &c->w_mapped);
    if (!c->w) {
        snprintf(why, wl, "out of memory for %zu MiB of weights", c->copies * c->copy_stride / MIB);
        return 0;
    }
    if (!bench_fill_type(type, c->w, bytes, &env->rng)) {
        snprintf(why, wl, "the bench has no random-data generator for %s",
                 fsk_type_traits(type)->name);
        return 0;
    }
    for (size_t k = 1; k < c->copies; k++)
        memcpy(c->w + k * c->copy_stride, c->w, bytes);
    return 1;
}

static int setup_matvec(struct bcase *c, size_t i, struct bench_env *env, char *why, size_t wl)
{
    /* rows = output features, cols = input features: q/o, k/v, gate/up, down, lm_head */
    static const size_t shapes[][2] = {
        {576, 576}, {192, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
    if (i >= sizeof shapes / sizeof *shapes)
        return -1;
    c->rows = shapes[i][0];
    c->cols = shapes[i][1];
    snprintf(c->shape, sizeof c->shape, "%zux%zu", c->rows, c->cols);
    uint32_t type;
    if (!bench_op_type(c->op, 1, &type, why, wl))
        return 0;
    const struct fsk_type_traits *tr = fsk_type_traits(type);
    c->row_bytes = fsk_type_row_bytes(type, c->cols);
    size_t x_bytes = fsk_type_row_bytes(tr->act, c->cols);
    if (!c->row_bytes || !x_bytes) {
        snprintf(why, wl, "%zu columns are not a whole number of %u-element %s blocks", c->cols,
                 tr->block, tr->name);
        return 0;
    }
    c->bytes = (double)(c->rows * c->row_bytes + x_bytes + c->rows * sizeof(float));
    c->flops = 2.0 * (double)c->rows * (double)c->cols;
    c->x = aligned_alloc(64, (x_bytes + 63) / 64 * 64);
    c->y = falloc(c->rows);
    if (!c->x || !c->y) {
        snprintf(why, wl, "out of memory");
        return 0;
    }
    if (!bench_fill_type(tr->act, c->x, x_bytes, &env->rng)) {
        snprintf(why, wl, "the bench has no random-data generator for activations of type %s",
                 fsk_type_traits(tr->act) ? fsk_type_traits(tr->act)->name : "?");
        return 0;
    }
    return matvec_weights(c, type, env, why, wl);
}

/* Prefill's matmul: the layer shapes of setup_matvec (not the head: prefill wants one token's
 * logits) with MATMUL_TOKENS tokens per call. */
#define MATMUL_TOKENS 64

static int setup_matmul(struct bcase *c, size_t i, struct bench_env *env, char *why, size_t wl)
{
    if (i >= 4)
        return -1;
    int ok = setup_matvec(c, i, env, why, wl);
    if (ok != 1)
        return ok;
    uint32_t type;
    bench_op_type(c->op, 1, &type, why, wl);
    const struct fsk_type_traits *tr = fsk_type_traits(type);
    c->ntok = MATMUL_TOKENS;
    c->x_stride = fsk_type_row_bytes(tr->act, c->cols);
    snprintf(c->shape, sizeof c->shape, "%zux%zux%zu", c->rows, c->cols, c->ntok);
    c->bytes = (double)(c->rows * c->row_bytes + c->ntok * (c->x_stride + c->rows * sizeof(float)));
    c->flops = 2.0 * (double)c->rows * (double)c->cols * (double)c->ntok;
    free(c->x);
    free(c->y);
    c->x = aligned_alloc(64, (c->ntok * c->x_stride + 63) / 64 * 64);
    c->y = falloc(c->ntok * c->rows);
    if (!c->x || !c->y) {
        snprintf(why, wl, "out of memory");
        return 0;
    }
    if (!bench_fill_type(tr->act, c->x, c->ntok * c->x_stride, &env->rng)) {
        snprintf(why, wl, "the bench has no random-data generator for activations of type %s",
                 fsk_type_traits(tr->act) ? fsk_type_traits(tr->act)->name : "?");
        return 0;
    }
    return 1;
}

/* ---------------------------------------------------------------- runners */

/* The signatures run() calls through; same_signature() checks each against kernels.def first. */
typedef float (*dot_like_fn)(const float *, const float *, size_t);
typedef void (*rmsnorm_like_fn)(float *, const float *, const float *, size_t, float);
typedef void (*rope_like_fn)(float *, size_t, size_t, size_t, float);
typedef void (*softmax_like_fn)(float *, size_t);
typedef void (*binary_like_fn)(float *, const float *, const float *, size_t);
typedef void (*axpy_like_fn)(float *, float, const float *, size_t);
typedef void (*quantize_like_fn)(void *, const float *, size_t);
typedef void (*dequantize_like_fn)(float *, const void *, size_t);
typedef void (*matvec_like_fn)(float *, const void *, size_t, const void *, size_t, size_t, size_t);

static double run_dot(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    dot_like_fn f = (dot_like_fn)fn;
    double s = 0;
    for (size_t k = 0; k < calls; k++)
        s += f(c->a, c->b, c->cols);
    return s;
}

static double run_rmsnorm(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    rmsnorm_like_fn f = (rmsnorm_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->y, c->a, c->b, c->cols, 1e-5f);
    return c->y[0];
}

static double run_rope(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    rope_like_fn f = (rope_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->a, c->rows, c->cols, 100, 100000.0f); /* SmolLM2's rope theta */
    return c->a[0];
}

/* In place, over and over: the values flatten towards uniform but stay finite. */
static double run_softmax(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    softmax_like_fn f = (softmax_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->a, c->cols);
    return c->a[0];
}

static double run_binary(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    binary_like_fn f = (binary_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->y, c->a, c->b, c->cols);
    return c->y[0];
}

/* y grows by calls * 1e-7 * |x| at most: finite for any run length the bench allows. */
static double run_axpy(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    axpy_like_fn f = (axpy_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->y, 1e-7f, c->a, c->cols);
    return c->y[0];
}

typedef void (*scale_like_fn)(float *, float, size_t);
typedef void (*wsum_like_fn)(float *, size_t, const void *, size_t, const float *, size_t, size_t, size_t,
                             size_t, size_t);

typedef void (*tdot_like_fn)(float *, size_t, const void *, const float *, size_t, size_t, size_t, size_t,
                             size_t);

static double run_tdot(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    tdot_like_fn f = (tdot_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->y, c->rows, c->x, c->a, c->cols, c->cols, c->ntok, 0, c->rows);
    return c->y[0];
}

static double run_wsum(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    wsum_like_fn f = (wsum_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->y, c->cols, c->x, c->cols * 2, c->a, c->rows, c->cols, c->ntok, 0, c->rows);
    return c->y[0];
}

static double run_scale(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    scale_like_fn f = (scale_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->a, 1.0f, c->cols);
    return c->a[0];
}

static double run_quantize(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    quantize_like_fn f = (quantize_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->x, c->a, c->cols);
    return ((const unsigned char *)c->x)[0];
}

static double run_cvt(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    quantize_like_fn f = (quantize_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->y, c->a, c->cols);
    return c->y[0];
}

static double run_dequantize(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    (void)pool;
    dequantize_like_fn f = (dequantize_like_fn)fn;
    for (size_t k = 0; k < calls; k++)
        f(c->y, c->x, c->cols);
    return c->y[0];
}

struct mv_call {
    const struct bcase *c;
    matvec_like_fn f;
    const unsigned char *w;
};

static void mv_rows(void *arg, size_t r0, size_t r1)
{
    const struct mv_call *m = arg;
    m->f(m->c->y, m->w, m->c->row_bytes, m->c->x, m->c->cols, r0, r1);
}

struct mv_loop {
    const struct bcase *c;
    matvec_like_fn f;
    size_t calls;
};

static void mv_team(fsk_team *t, void *arg)
{
    const struct mv_loop *l = arg;
    struct mv_call m = {l->c, l->f, l->c->w};
    size_t copy = l->c->next_copy;
    for (size_t k = 0; k < l->calls; k++) {
        m.w = l->c->w + copy * l->c->copy_stride;
        fsk_team_for(t, l->c->rows, ROW_ALIGN, mv_rows, &m);
        if (++copy == l->c->copies)
            copy = 0;
    }
}

static double run_matvec(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    struct mv_loop l = {c, (matvec_like_fn)fn, calls};
    fsk_pool_run(pool, mv_team, &l);
    c->next_copy = (c->next_copy + calls) % c->copies;
    return c->y[0] + c->y[c->rows - 1];
}

typedef void (*matmul_like_fn)(float *, size_t, const void *, size_t, const void *, size_t, size_t,
                               size_t, size_t, size_t);

struct mm_call {
    const struct bcase *c;
    matmul_like_fn f;
    const unsigned char *w;
};

static void mm_rows(void *arg, size_t r0, size_t r1)
{
    const struct mm_call *m = arg;
    const struct bcase *c = m->c;
    m->f(c->y, c->rows, m->w, c->row_bytes, c->x, c->x_stride, c->cols, c->ntok, r0, r1);
}

struct mm_loop {
    const struct bcase *c;
    matmul_like_fn f;
    size_t calls;
};

static void mm_team(fsk_team *t, void *arg)
{
    const struct mm_loop *l = arg;
    struct mm_call m = {l->c, l->f, l->c->w};
    size_t copy = l->c->next_copy;
    for (size_t k = 0; k < l->calls; k++) {
        m.w = l->c->w + copy * l->c->copy_stride;
        fsk_team_for(t, l->c->rows, ROW_ALIGN, mm_rows, &m);
        if (++copy == l->c->copies)
            copy = 0;
    }
}

static double run_matmul(struct bcase *c, void *fn, fsk_pool *pool, size_t calls)
{
    struct mm_loop l = {c, (matmul_like_fn)fn, calls};
    fsk_pool_run(pool, mm_team, &l);
    c->next_copy = (c->next_copy + calls) % c->copies;
    return c->y[0] + c->y[c->ntok * c->rows - 1];
}

#define MATMUL_PARAMS                                                                         \
    "(float *y, size_t ldy, const void *w, size_t row_stride, const void *x, size_t x_stride, " \
    "size_t ncols, size_t ntok, size_t r0, size_t r1)"

#define MATVEC_PARAMS \
    "(float *y, const void *w, size_t row_stride, const void *x, size_t ncols, size_t r0, size_t r1)"

/* flops count each add, multiply, divide, compare and transcendental as one; bytes count each
 * array read once and each array written once. */
static const struct handler handlers[] = {
    {"dot_f32", "float", "(const float *a, const float *b, size_t n)", SHAPE_VEC_LOGITS, 8, 2,
     setup_vec, run_dot},
    {"cosine_f32", "float", "(const float *a, const float *b, size_t n)", SHAPE_VEC, 8, 6,
     setup_vec, run_dot},
    {"rmsnorm_f32", "void", "(float *y, const float *x, const float *w, size_t n, float eps)",
     SHAPE_VEC, 12, 4, setup_vec, run_rmsnorm},
    {"rope_f32", "void", "(float *x, size_t n_heads, size_t head_dim, size_t pos, float base)",
     SHAPE_ROPE, 8, 3, setup_rope, run_rope},
    {"softmax_f32", "void", "(float *x, size_t n)", SHAPE_VEC_LOGITS, 8, 5, setup_vec, run_softmax},
    {"round_f16_f32", "void", "(float *x, size_t n)", SHAPE_VEC, 8, 2, setup_vec, run_softmax},
    {"cvt_f16_f32", "void", "(void *y, const float *x, size_t n)", SHAPE_VEC, 6, 1, setup_vec, run_cvt},
    {"silu_mul_f32", "void", "(float *y, const float *g, const float *u, size_t n)", SHAPE_VEC, 12,
     4, setup_vec, run_binary},
    {"add_f32", "void", "(float *y, const float *a, const float *b, size_t n)", SHAPE_VEC, 12, 1,
     setup_vec, run_binary},
    {"axpy_f32", "void", "(float *y, float alpha, const float *x, size_t n)", SHAPE_VEC, 12, 2,
     setup_vec, run_axpy},
    {"scale_f32", "void", "(float *x, float s, size_t n)", SHAPE_VEC, 8, 1, setup_vec, run_scale},
    {"wsum_f16", "void",
     "(float *y, size_t ldy, const void *v, size_t row_stride, const float *a, size_t a_stride, "
     "size_t ncols, size_t nw, size_t r0, size_t r1)",
     SHAPE_WSUM, 0, 0, setup_wsum, run_wsum},
    {"tdot_f16", "void",
     "(float *y, size_t ldy, const void *k, const float *q, size_t q_stride, size_t ncols, size_t nq, "
     "size_t p0, size_t p1)",
     SHAPE_TDOT, 0, 0, setup_tdot, run_tdot},
    /* quantize: max |x|, x/d and a rounding per element; dequantize: the multiply by the scale */
    {"quantize_", "void", "(void *y, const float *x, size_t n)", SHAPE_QUANTIZE, 0, 3,
     setup_convert, run_quantize},
    {"dequantize_", "void", "(float *y, const void *x, size_t n)", SHAPE_DEQUANTIZE, 0, 1,
     setup_convert, run_dequantize},
    {"matvec_", "void", MATVEC_PARAMS, SHAPE_MATVEC, 0, 0, setup_matvec, run_matvec},
    {"matmul_", "void", MATMUL_PARAMS, SHAPE_MATVEC, 0, 0, setup_matmul, run_matmul},
};

const struct handler *bench_find_handler(const char *op)
{
    for (size_t i = 0; i < sizeof handlers / sizeof *handlers; i++) {
        const char *n = handlers[i].name;
        size_t len = strlen(n);
        int family = len > 0 && n[len - 1] == '_';
        if (family ? strncmp(op, n, len) == 0 && op[len] : strcmp(op, n) == 0)
            return &handlers[i];
    }
    return NULL;
}

/* bench.h: the pieces of the kernel microbenchmark (bench/fsk_bench) shared between its files. */
#ifndef FSK_BENCH_H
#define FSK_BENCH_H

#include <stddef.h>
#include <stdint.h>

#include "pool.h"

#define MIB ((size_t)1 << 20)

/* ---------------------------------------------------------------- cases.c */

enum shape_kind {
    SHAPE_VEC,        /* hidden and FFN widths */
    SHAPE_VEC_LOGITS, /* ... and the vocabulary */
    SHAPE_ROPE,
    SHAPE_QUANTIZE,   /* float -> the type named in the op, at the vector widths */
    SHAPE_DEQUANTIZE, /* the type named in the op -> float */
    SHAPE_MATVEC,
    SHAPE_WSUM,       /* attention's values: a kv group's heads x positions x head_dim */
    SHAPE_TDOT        /* attention's scores: queries x positions x head_dim */
};

struct handler;

/* One op at one size, with its buffers. */
struct bcase {
    const struct handler *h;
    const char *op;
    size_t rows, cols; /* vectors: 1 x n; rope: heads x head_dim; matvec: out x in features */
    char shape[32];
    double bytes, flops; /* per call: bytes read + written, adds/multiplies/transcendentals */
    float *a, *b, *y;
    unsigned char *w; /* matvec: `copies` copies of the weights, copy_stride bytes apart */
    void *x;
    size_t row_bytes, copy_stride, copies;
    size_t w_mapped; /* bytes mapped at w (munmap) */
    size_t next_copy; /* the copy the next call reads: rotation carries on across batches */
    size_t ntok, x_stride; /* matmul: tokens per call, bytes from one token's activation to the next */
};

struct bench_env {
    size_t ws_bytes; /* matvec weights per case, summed over copies, unless hot */
    int hot;
    int huge;        /* weights and the bandwidth probe's buffer advised for 2 MiB pages */
    uint64_t rng;
};

struct handler {
    const char *name;          /* an op name, or a prefix ending in '_' that matches a family */
    const char *ret, *params;  /* the signature run() calls through */
    enum shape_kind kind;
    double bytes_per_elem, flops_per_elem; /* vector ops */
    /* returns 1 ready, 0 skipped (why says so), -1 when shape index i is past the last */
    int (*setup)(struct bcase *c, size_t i, struct bench_env *env, char *why, size_t wl);
    /* calls fn `calls` times; returns something derived from the results, to keep them live */
    double (*run)(struct bcase *c, void *fn, fsk_pool *pool, size_t calls);
};

/* The handler for op (by name, or by family prefix such as "matvec_"), or NULL. */
const struct handler *bench_find_handler(const char *op);
/* 1 when two declarations name the same return and parameter types (names and spaces aside). */
int bench_same_signature(const char *ret_a, const char *params_a, const char *ret_b,
                         const char *params_b);
/* The GGML type an op of a type family names ("matvec_q4_k" -> Q4_K), or 0 with why filled.
 * weights_only: refuse activation-only types. */
int bench_op_type(const char *op, int weights_only, uint32_t *type, char *why, size_t wl);
void bench_case_free(struct bcase *c);

/* ---------------------------------------------------------------- data.c */

/* One step of a 64-bit xorshift* generator; state must not be 0. */
uint64_t bench_rand(uint64_t *state);
/* n random floats in [lo, hi). */
void bench_fill_f32(float *x, size_t n, float lo, float hi, uint64_t *rng);
/* Fills nbytes (a whole number of blocks) with random data of GGML type `type`: random quants
 * and small, finite scales, so that kernels see the values a model would give them. Returns 0
 * when the bench has no generator for the type. */
int bench_fill_type(uint32_t type, void *dst, size_t nbytes, uint64_t *rng);

/* ---------------------------------------------------------------- bandwidth.c */

/* A buffer of `bytes` (rounded up to 4 KiB) whose pages have been written, so that reading it
 * touches memory rather than the kernel's shared zero page. NULL when out of memory. */
unsigned char *bench_bw_buffer(fsk_pool *pool, size_t bytes, int huge, size_t *mapped);
/* Streams through buf with every thread of pool reading its own slice; returns the best read
 * rate of `passes` passes in GB/s (1e9 bytes per second). */
double bench_read_bw(fsk_pool *pool, const unsigned char *buf, size_t bytes, int passes);

/* Seconds on a monotonic clock. */
double bench_now(void);

/* ---------------------------------------------------------------- paths.c */

#include "kernels.h"

/* One path of a kernel whose variant picks among several per call. */
struct bench_path {
    const char *label; /* "avx2", "avx2+vnni", "neon+sdot", ... */
    void *fn;
    const char *lacks; /* NULL, or the CPU feature this path needs and this CPU lacks */
};
/* The paths of op's isa variant (up to max), or 0 when that variant has one path only. */
int bench_op_paths(enum fsk_op op, enum fsk_isa isa, struct bench_path *out, int max);

#endif

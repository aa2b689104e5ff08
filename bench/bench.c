/* bench.c: kernel microbenchmarks at SmolLM2-135M sizes; the case list is expanded from kernels/kernels.def.
 *
 * Ops are matched to the handlers of cases.c by name at run time, so the driver builds against
 * any kernel list: an op it has no handler for, or whose signature differs from what its handler
 * calls, is listed as skipped. Every matvec_<type> op shares one handler sized by the type.
 *
 * Matvec is timed the way a decode step runs it: one team for the whole timed loop, the rows of
 * each call split over the threads, a barrier between calls. Unless --hot is given, calls rotate
 * through copies of the weights that together exceed the last-level cache, because in decoding
 * every weight byte comes from memory: the result is compared with the read bandwidth the probe
 * measures in the same run at the same thread count.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench.h"
#include "cpu.h"
#include "dispatch.h"
#include "ffnskip.h"
#include "kernels.h"
#include "numa.h"
#include "pool.h"
#include "verify.h"

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define MAX_THREAD_COUNTS 16
#define MIN_REPS 5
#define MAX_REPS 64
#define BW_PASSES 5
#define NEAR_PASSES 3 /* passes of each read_bw probe taken just before and just after a matvec case */

struct opts {
    int isa;                 /* an enum fsk_isa, or ISA_BEST / ISA_ALL */
    int threads[MAX_THREAD_COUNTS];
    int n_threads;
    int op_selected[FSK_OP_COUNT + 1]; /* +1: never a zero-length array */
    int any_op_selected;
    double min_time;
    size_t bw_mib;
    int csv;
    int hot;
    int pages; /* 0 default, 4 for --pages 4k, 2048 for --pages huge */
};
enum { ISA_BEST = -1, ISA_ALL = -2 };

/* ---------------------------------------------------------------- the ops, from the one list */

struct op_sig {
    const char *name, *ret, *params;
};

static const struct op_sig op_sigs[FSK_OP_COUNT + 1] = {
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) {#op, #ret, #params},
#include "kernels.def"
#undef FSK_KERNEL
    {NULL, NULL, NULL}};

/* The pointer that table t holds for op. */
static void *table_fn(const struct fsk_kernels *t, enum fsk_op op)
{
    switch (op) {
#define FSK_KERNEL(name, r, a2, a5, ne, ret, params) \
    case FSK_OP_##name: return (void *)t->name;
#include "kernels.def"
#undef FSK_KERNEL
    default: return NULL;
    }
}

/* ---------------------------------------------------------------- timing */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns per call over batches of about min_time/10 each, at least MIN_REPS of them and
 * together at least min_time. */
static double time_case(struct bcase *c, void *fn, fsk_pool *pool, double min_time,
                        double *sink)
{
    double samples[MAX_REPS], batch = min_time / 10, spent = 0;
    size_t calls = 1;
    int n = 0;
    *sink += c->h->run(c, fn, pool, 1); /* warm-up: first touch, lazy binding, caches */
    while (n < MAX_REPS && (n < MIN_REPS || spent < min_time)) {
        double t0 = bench_now();
        *sink += c->h->run(c, fn, pool, calls);
        double dt = bench_now() - t0;
        if (n == 0 && dt < batch && calls < SIZE_MAX / 100) {
            double grow = dt > 0 ? 1.2 * batch / dt : 100.0;
            calls = (size_t)((double)calls * (grow < 2 ? 2 : grow > 100 ? 100 : grow));
            continue;
        }
        samples[n++] = dt * 1e9 / (double)calls;
        spent += dt;
    }
    qsort(samples, (size_t)n, sizeof *samples, cmp_double);
    return n % 2 ? samples[n / 2] : 0.5 * (samples[n / 2 - 1] + samples[n / 2]);
}

/* ---------------------------------------------------------------- output */

struct row {
    const char *op, *isa, *shape;
    size_t rows, cols;
    int threads;       /* 0: not applicable */
    double ns, gbs, gflops, pct; /* negative: not applicable */
    double near;       /* read_bw next to the case in time, that pct is of; negative: none */
    const char *skip;  /* NULL, or why the case was not timed */
};

static void csv_field(const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, stdout);
        return;
    }
    putchar('"');
    for (; *s; s++) {
        if (*s == '"')
            putchar('"');
        putchar(*s);
    }
    putchar('"');
}

static void csv_num(double v, int decimals)
{
    putchar(',');
    if (v >= 0)
        printf("%.*f", decimals, v);
}

static void print_row_csv(const struct row *r)
{
    csv_field(r->op);
    putchar(',');
    csv_field(r->isa);
    putchar(',');
    csv_field(r->shape);
    printf(",%zu,%zu,", r->rows, r->cols);
    if (r->threads > 0)
        printf("%d", r->threads);
    csv_num(r->ns, 1);
    csv_num(r->gbs, 3);
    csv_num(r->gflops, 3);
    csv_num(r->pct, 1);
    csv_num(r->near, 3);
    putchar(',');
    if (r->skip) {
        char msg[320];
        snprintf(msg, sizeof msg, "skipped: %s", r->skip);
        csv_field(msg);
    } else {
        fputs("ok", stdout);
    }
    putchar('\n');
}

#define TABLE_FMT_HEAD "%-16s %-12s %-11s %7s %12s %9s %9s %7s %8s\n"

static void print_header(const struct opts *o)
{
    if (o->csv) {
        puts("op,isa,shape,rows,cols,threads,ns_per_call,gb_per_s,gflop_per_s,pct_read_bw,read_bw_near,status");
        return;
    }
    printf(TABLE_FMT_HEAD, "op", "isa", "shape", "threads", "ns/call", "GB/s", "GFLOP/s", "%bw", "bw near");
}

static void print_row(const struct opts *o, const struct row *r)
{
    if (o->csv) {
        print_row_csv(r);
        return;
    }
    char threads[16] = "-";
    if (r->threads > 0)
        snprintf(threads, sizeof threads, "%d", r->threads);
    printf("%-16s %-12s %-11s %7s ", r->op, r->isa, r->shape, threads);
    if (r->skip) {
        printf("skipped: %s\n", r->skip);
        return;
    }
    char pct[16] = "-", near[16] = "-";
    if (r->pct >= 0)
        snprintf(pct, sizeof pct, "%.1f%%", r->pct);
    if (r->near >= 0)
        snprintf(near, sizeof near, "%.2f", r->near);
    printf("%12.1f %9.2f %9.2f %7s %8s\n", r->ns, r->gbs, r->gflops, pct, near);
    fflush(stdout);
}

static void print_skip(const struct opts *o, const char *op, const char *isa, const char *shape,
                       const char *why)
{
    struct row r = {op, isa, shape, 0, 0, 0, -1, -1, -1, -1, -1, why};
    print_row(o, &r);
}

/* ---------------------------------------------------------------- a run */

struct variant {
    int from_table;   /* the process's dispatch table: each op's best variant, FSK_ISA honoured */
    enum fsk_isa isa; /* otherwise exactly this ISA's function */
};

struct run_ctx {
    const struct opts *o;
    const struct fsk_kernels *table;
    struct variant variants[FSK_ISA_COUNT];
    int n_variants;
    fsk_pool *pools[MAX_THREAD_COUNTS];
    double bw[MAX_THREAD_COUNTS]; /* GB/s at each thread count; 0 when not measured */
    unsigned char *bw_buf;        /* the probe's buffer, kept for the probes next to each matvec case */
    size_t bw_bytes, bw_mapped;
    struct bench_env env;
    double sink;
};

#ifdef __GNUC__
static void note(const struct opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#endif

static void note(const struct opts *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (o->csv)
        fputs("# ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

static void time_variant(struct run_ctx *x, struct bcase *c, void *fn, const char *label)
{
    const struct opts *o = x->o;
    int threaded = c->h->kind == SHAPE_MATVEC; /* element-wise ops run on one thread in decode */
    for (int t = 0; t < (threaded ? o->n_threads : 1); t++) {
        fsk_pool *pool = threaded ? x->pools[t] : NULL;
        /* This host's bandwidth drifts between modes over seconds: each case's share is of the
         * higher of two probes taken just before and just after it, at its thread count. */
        int near = threaded && x->bw_buf && x->bw[t] > 0;
        double before = near ? bench_read_bw(pool, x->bw_buf, x->bw_bytes, NEAR_PASSES) : 0.0;
        double ns = time_case(c, fn, pool, o->min_time, &x->sink);
        double after = near ? bench_read_bw(pool, x->bw_buf, x->bw_bytes, NEAR_PASSES) : 0.0;
        struct row r = {c->op, label, c->shape, c->rows, c->cols,
                        threaded ? o->threads[t] : 1, ns, c->bytes / ns, c->flops / ns, -1, -1, NULL};
        if (near && (before > 0 || after > 0)) {
            r.near = before > after ? before : after;
            r.pct = 100.0 * r.gbs / r.near;
        }
        print_row(o, &r);
    }
}

/* Most paths of one variant (bench/paths.c: AVX2's repacked matmuls have five), and most
 * functions to time per op. */
#define MAX_PATHS 6
#define MAX_FNS (MAX_PATHS * FSK_ISA_COUNT)

/* Fills fns/labels with op's variants to time, and of a variant that picks among several paths
 * per call each path the CPU can run, and returns how many; reports the missing ones. */
static int op_variants(struct run_ctx *x, enum fsk_op op, void **fns, const char **labels)
{
    int n = 0;
    for (int v = 0; v < x->n_variants; v++) {
        const struct variant *var = &x->variants[v];
        void *fn = var->from_table ? table_fn(x->table, op) : fsk_kernel_variant(op, var->isa);
        enum fsk_isa isa = var->from_table ? fsk_kernels_op_isa(x->table, op) : var->isa;
        if (!fn) {
            char why[96];
            snprintf(why, sizeof why, "no %s variant of this op in this build", fsk_isa_name(isa));
            print_skip(x->o, op_sigs[op].name, fsk_isa_name(isa), "-", why);
            continue;
        }
        struct bench_path ps[MAX_PATHS];
        int np = bench_op_paths(op, isa, ps, MAX_PATHS);
        for (int k = 0; k < np && n < MAX_FNS; k++) {
            if (ps[k].lacks) {
                char why[96];
                snprintf(why, sizeof why, "the CPU lacks %s", ps[k].lacks);
                print_skip(x->o, op_sigs[op].name, ps[k].label, "-", why);
                continue;
            }
            fns[n] = ps[k].fn;
            labels[n++] = ps[k].label;
        }
        if (np == 0 && n < MAX_FNS) {
            fns[n] = fn;
            labels[n++] = fsk_isa_name(isa);
        }
    }
    return n;
}

/* The handler for op, or NULL after printing why there is none. */
static const struct handler *op_handler(const struct opts *o, enum fsk_op op)
{
    const struct op_sig *s = &op_sigs[op];
    const struct handler *h = bench_find_handler(s->name);
    char why[512];
    if (!h) {
        print_skip(o, s->name, "-", "-",
                   "the bench has no case for this op (add a handler to bench/cases.c)");
        return NULL;
    }
    if (!bench_same_signature(s->ret, s->params, h->ret, h->params)) {
        snprintf(why, sizeof why, "kernels.def declares %s %s but the bench calls %s %s", s->ret,
                 s->params, h->ret, h->params);
        print_skip(o, s->name, "-", "-", why);
        return NULL;
    }
    if (h->kind == SHAPE_MATVEC || h->kind == SHAPE_QUANTIZE || h->kind == SHAPE_DEQUANTIZE) {
        uint32_t type;
        if (!bench_op_type(s->name, h->kind == SHAPE_MATVEC, &type, why, sizeof why)) {
            print_skip(o, s->name, "-", "-", why);
            return NULL;
        }
    }
    return h;
}

static void bench_op(struct run_ctx *x, enum fsk_op op)
{
    const struct handler *h = op_handler(x->o, op);
    void *fns[MAX_FNS];
    const char *labels[MAX_FNS];
    int n = h ? op_variants(x, op, fns, labels) : 0;
    for (size_t i = 0; n > 0; i++) {
        struct bcase c = {.h = h, .op = op_sigs[op].name};
        char why[256] = "";
        int st = h->setup(&c, i, &x->env, why, sizeof why);
        if (st < 0) {
            bench_case_free(&c);
            break;
        }
        if (st == 0) {
            struct row r = {c.op, "-", c.shape, c.rows, c.cols, 0, -1, -1, -1, -1, -1, why};
            print_row(x->o, &r);
        }
        for (int k = 0; st > 0 && k < n; k++)
            time_variant(x, &c, fns[k], labels[k]);
        bench_case_free(&c);
    }
}

static void probe_bandwidth(struct run_ctx *x)
{
    const struct opts *o = x->o;
    size_t bytes = o->bw_mib * MIB;
    int widest = 0;
    for (int t = 1; t < o->n_threads; t++)
        if (o->threads[t] > o->threads[widest])
            widest = t;
    size_t mapped = 0;
    unsigned char *buf = bench_bw_buffer(x->pools[widest], bytes, x->env.huge, &mapped);
    char shape[32];
    snprintf(shape, sizeof shape, "%zuMiB", o->bw_mib);
    if (!buf) {
        print_skip(o, "read_bw", "c", shape, "out of memory for the probe buffer (try --bw-mib)");
        return;
    }
    for (int t = 0; t < o->n_threads; t++) {
        x->bw[t] = bench_read_bw(x->pools[t], buf, bytes, BW_PASSES);
        struct row r = {"read_bw", "c", shape, 0, 0, o->threads[t], -1, x->bw[t], -1, -1, -1, NULL};
        if (!o->csv) {
            printf("%-16s %-12s %-11s %7d %12s %9.2f %9s %7s %8s\n", r.op, r.isa, r.shape, r.threads,
                   "-", r.gbs, "-", "-", "-");
            continue;
        }
        print_row_csv(&r);
    }
    x->bw_buf = buf;
    x->bw_bytes = bytes;
    x->bw_mapped = mapped;
}

/* The variants --isa asks for; an ISA this build or CPU cannot run is reported, not timed. */
static int choose_variants(struct run_ctx *x)
{
    const struct opts *o = x->o;
    if (o->isa == ISA_BEST) {
        const char *msg;
        if (fsk_kernels_get(&x->table, &msg) != FSK_OK) {
            fprintf(stderr, "fsk_bench: %s\n", msg);
            return 0;
        }
        x->variants[x->n_variants++] = (struct variant){1, FSK_ISA_REF};
        return 1;
    }
    for (int i = 0; i < FSK_ISA_COUNT; i++) {
        if (o->isa != ISA_ALL && o->isa != i)
            continue;
        const char *why;
        if (!fsk_isa_usable((enum fsk_isa)i, &why)) {
            print_skip(o, "(all ops)", fsk_isa_name((enum fsk_isa)i), "-", why);
            continue;
        }
        x->variants[x->n_variants++] = (struct variant){0, (enum fsk_isa)i};
    }
    return 1;
}

static int make_pools(struct run_ctx *x)
{
    for (int t = 0; t < x->o->n_threads; t++) {
        fsk_error err;
        if (fsk_pool_create(&x->pools[t], x->o->threads[t], 1, &err) != FSK_OK) {
            fprintf(stderr, "fsk_bench: %s\n", err.message);
            return 0;
        }
    }
    return 1;
}

static void print_machine(const struct opts *o)
{
    size_t len = fsk_cpu_describe(NULL, 0);
    char *text = malloc(len + 1);
    if (!text)
        return;
    fsk_cpu_describe(text, len + 1);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        note(o, "%s", line);
    free(text);
}

static void print_settings(struct run_ctx *x, size_t llc)
{
    const struct opts *o = x->o;
    note(o, "timing: median ns per call of >= %d batches, >= %.3g s per case; element-wise ops "
            "on one thread", MIN_REPS, o->min_time);
    if (o->hot)
        note(o, "matvec weights: one copy, reused (--hot): small matrices are read from cache");
    else
        note(o, "matvec weights: copies rotated so that each case streams >= %zu MiB "
                "(last-level cache: %zu MiB): every call reads memory", x->env.ws_bytes / MIB,
             llc / MIB);
    /* the runtime's rule (context.c) for what the cases stream: the copies, or one reused copy */
    const char *why, *bad = fsk_pf_reach_env_invalid();
    size_t reach = fsk_pf_reach_choose(o->hot ? 1 : x->env.ws_bytes, llc, &why);
    note(o, "record matvecs fetch %zu bytes ahead in software (%s; FSK_PF_REACH=near, far, off or "
            "bytes overrides)", reach, why);
    if (bad)
        note(o, "FSK_PF_REACH: not near, far, off or a byte count up to %d, ignored: %s",
             FSK_PF_REACH_MAX, bad);
    note(o, "read_bw: %zu MiB buffer, best of %d passes at the start; %%bw = matvec GB/s / 'bw near', "
            "the higher of two read_bw probes (best of %d passes each) just before and just after "
            "the case at its thread count", o->bw_mib, BW_PASSES, NEAR_PASSES);
    note(o, "pages: %s", x->env.huge ? "weights and read_bw's buffer advised for 2 MiB pages, as the "
                                       "runtime's weights are (--pages 4k: not)"
                                     : "4 KiB (--pages 4k, or no transparent huge pages here)");
    if (llc && o->bw_mib * MIB < 4 * llc)
        note(o, "warning: --bw-mib %zu is under 4x the last-level cache: read_bw measures cache",
             o->bw_mib);
    note(o, "shape: n for vectors, heads x head_dim for rope, rows (out) x cols (in) for matvec, "
            "heads x positions x head_dim for wsum, queries x positions x head_dim for tdot");
}

/* ---------------------------------------------------------------- options */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: fsk_bench [OPTIONS]\n"
            "\n"
            "Times every kernel in kernels/kernels.def at SmolLM2-135M sizes and measures the\n"
            "machine's read bandwidth in the same run.\n"
            "\n"
            "Options:\n"
            "  --isa ISA         ref, avx2, avx512, neon, all, or best (default: best: each op's\n"
            "                    variant in the dispatch table, honouring FSK_ISA); a variant\n"
            "                    that picks a path per call from the CPU (VNNI, dotprod) is\n"
            "                    timed path by path (avx2, avx2+vnni, ...)\n"
            "  --threads N[,M..] thread counts for matvec and the bandwidth probe\n"
            "                    (default: 1 and the number of physical cores)\n"
            "  --op NAME         only this op (may repeat)\n"
            "  --min-time S      seconds to spend timing each case (default 0.2)\n"
            "  --bw-mib MIB      size of the read-bandwidth probe's buffer (default 512)\n"
            "  --hot             reuse one copy of each weight matrix (cache-resident timings)\n"
            "  --pages huge|4k   memory for weights and the probe: advised for 2 MiB pages, as\n"
            "                    the runtime maps weights (default where the kernel offers them,\n"
            "                    and FSK_HUGEPAGES is not 0), or plain 4 KiB pages\n"
            "  --csv             comma-separated output; notes become '#' lines\n"
            "  -h, --help        show this help\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int bad_value(const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "fsk_bench: %s '%s': %s (see --help)\n", opt, val, want);
    return EXIT_USAGE;
}

static int parse_isa(struct opts *o, const char *s)
{
    enum fsk_isa isa = fsk_isa_from_name(s);
    if (strcmp(s, "best") == 0)
        o->isa = ISA_BEST;
    else if (strcmp(s, "all") == 0)
        o->isa = ISA_ALL;
    else if (isa != FSK_ISA_COUNT)
        o->isa = (int)isa;
    else
        return bad_value("--isa", s, "want ref, avx2, avx512, neon, all or best");
    return 0;
}

static int add_threads(struct opts *o, long n)
{
    for (int i = 0; i < o->n_threads; i++)
        if (o->threads[i] == n)
            return 0;
    if (o->n_threads == MAX_THREAD_COUNTS)
        return -1;
    o->threads[o->n_threads++] = (int)n;
    return 0;
}

static int parse_threads(struct opts *o, const char *s)
{
    const char *p = s;
    o->n_threads = 0;
    for (;;) {
        char *end;
        errno = 0;
        long n = strtol(p, &end, 10);
        if (end == p || errno || n < 1 || n > 1024 || (*end && *end != ','))
            return bad_value("--threads", s,
                             "want a comma-separated list of counts from 1 to 1024");
        if (add_threads(o, n) != 0)
            return bad_value("--threads", s, "at most 16 thread counts");
        if (!*end)
            return 0;
        p = end + 1;
    }
}

static int parse_op(struct opts *o, const char *s)
{
    for (int i = 0; i < FSK_OP_COUNT; i++)
        if (strcmp(s, op_sigs[i].name) == 0) {
            o->op_selected[i] = 1;
            o->any_op_selected = 1;
            return 0;
        }
    fprintf(stderr, "fsk_bench: --op '%s': no such op; kernels/kernels.def lists:", s);
    for (int i = 0; i < FSK_OP_COUNT; i++)
        fprintf(stderr, " %s", op_sigs[i].name);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

static int parse_min_time(struct opts *o, const char *s)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v <= 0 || v > 60)
        return bad_value("--min-time", s, "want seconds, more than 0 and at most 60");
    o->min_time = v;
    return 0;
}

static int parse_bw_mib(struct opts *o, const char *s)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < 1 || v > 65536)
        return bad_value("--bw-mib", s, "want MiB from 1 to 65536");
    o->bw_mib = (size_t)v;
    return 0;
}

/* Returns -1 to go on, or the exit status. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
        {"isa", required_argument, NULL, 'i'},     {"threads", required_argument, NULL, 't'},
        {"op", required_argument, NULL, 'o'},      {"min-time", required_argument, NULL, 'm'},
        {"bw-mib", required_argument, NULL, 'b'},  {"hot", no_argument, NULL, 'H'},
        {"csv", no_argument, NULL, 'c'},           {"help", no_argument, NULL, 'h'},
        {"pages", required_argument, NULL, 'p'},
        {NULL, 0, NULL, 0}};
    *o = (struct opts){.isa = ISA_BEST, .min_time = 0.2, .bw_mib = 512};
    add_threads(o, 1);
    add_threads(o, fsk_physical_cores());
    int c, st = 0;
    while (st == 0 && (c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'i': st = parse_isa(o, optarg); break;
        case 't': st = parse_threads(o, optarg); break;
        case 'o': st = parse_op(o, optarg); break;
        case 'm': st = parse_min_time(o, optarg); break;
        case 'b': st = parse_bw_mib(o, optarg); break;
        case 'H': o->hot = 1; break;
        case 'p':
            if (!strcmp(optarg, "4k"))
                o->pages = 4;
            else if (!strcmp(optarg, "huge"))
                o->pages = 2048;
            else
                st = bad_value("--pages", optarg, "want huge or 4k");
            break;
        case 'c': o->csv = 1; break;
        case 'h': usage(stdout); return 0;
        default: fprintf(stderr, "fsk_bench: see --help\n"); return EXIT_USAGE;
        }
    }
    if (st)
        return st;
    if (optind < argc) {
        fprintf(stderr, "fsk_bench: unexpected argument '%s' (see --help)\n", argv[optind]);
        return EXIT_USAGE;
    }
    return -1;
}

/* ---------------------------------------------------------------- main */

static int selected(const struct opts *o, int op)
{
    return !o->any_op_selected || o->op_selected[op];
}

static int needs_bandwidth(const struct opts *o)
{
    for (int i = 0; i < FSK_OP_COUNT; i++) {
        const struct handler *h = bench_find_handler(op_sigs[i].name);
        if (selected(o, i) && h && h->kind == SHAPE_MATVEC)
            return 1;
    }
    return 0;
}

static void free_pools(struct run_ctx *x)
{
    for (int t = 0; t < MAX_THREAD_COUNTS; t++)
        fsk_pool_free(x->pools[t]);
}

int main(int argc, char **argv)
{
    struct opts o;
    int st = parse_opts(argc, argv, &o);
    if (st >= 0)
        return st;
    size_t llc = fsk_numa_llc_bytes();
    struct run_ctx x = {.o = &o,
                        .env = {.ws_bytes = llc ? 3 * llc : 256 * MIB, .hot = o.hot,
                                .huge = o.pages ? o.pages == 2048 : fsk_huge_pages_enabled(),
                                .rng = 0x853c49e6748fea9bull}};
    if (x.env.ws_bytes < 64 * MIB)
        x.env.ws_bytes = 64 * MIB;
    print_machine(&o);
    if (!make_pools(&x)) {
        free_pools(&x);
        return EXIT_FAIL;
    }
    print_settings(&x, llc);
    print_header(&o);
    if (!choose_variants(&x)) {
        free_pools(&x);
        return EXIT_FAIL;
    }
    if (x.n_variants > 0 && needs_bandwidth(&o))
        probe_bandwidth(&x);
    for (int op = 0; op < FSK_OP_COUNT; op++)
        if (selected(&o, op) && x.n_variants > 0)
            bench_op(&x, (enum fsk_op)op);
    for (int t = 0; t < o.n_threads; t++)
        if (fsk_pool_bind_note(x.pools[t]))
            note(&o, "threads %d: %s", o.threads[t], fsk_pool_bind_note(x.pools[t]));
    volatile double keep = x.sink; /* the results, kept live */
    (void)keep;
    if (x.bw_buf)
        munmap(x.bw_buf, x.bw_mapped);
    free_pools(&x);
    return 0;
}

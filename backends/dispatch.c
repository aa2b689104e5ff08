/* dispatch.c: fills the one kernel table once: ref first, then each ISA the build and the CPU both have. */
#include "config.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "dispatch.h"
#include "quant.h"
#if defined(FSK_BUILD_AVX2) || defined(FSK_BUILD_AVX512)
#include "x86/vnni.h"
#endif

#if !defined(__x86_64__) && !defined(__i386__) && !defined(__aarch64__)
void fsk_cpu_detect(struct fsk_cpu *cpu)
{
    memset(cpu, 0, sizeof *cpu);
    strcpy(cpu->arch, "generic");
    strcpy(cpu->brand, "unknown");
}
#endif

static const char *const isa_names[FSK_ISA_COUNT] = {"ref", "avx2", "avx512", "neon"};

const char *fsk_isa_name(enum fsk_isa isa)
{
    return (unsigned)isa < FSK_ISA_COUNT ? isa_names[isa] : "?";
}

enum fsk_isa fsk_isa_from_name(const char *name)
{
    for (int i = 0; i < FSK_ISA_COUNT; i++)
        if (name && strcmp(name, isa_names[i]) == 0)
            return (enum fsk_isa)i;
    return FSK_ISA_COUNT;
}

const struct fsk_op_info fsk_op_list[FSK_OP_COUNT] = {
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) {#op, {r, a2, a5, ne}},
#include "kernels.def"
#undef FSK_KERNEL
};

static const char *const feature_names[FSK_CPU_FEATURE_COUNT] = {
    "sse4.2", "avx", "avx2", "fma", "f16c", "os-ymm", "avx512f", "avx512bw", "avx512dq",
    "avx512vl", "avx512vnni", "avxvnni", "os-zmm", "amx-int8", "swpf", "neon", "dotprod", "fp16", "i8mm",
};

const char *fsk_cpu_feature_name(enum fsk_cpu_feature f)
{
    return (unsigned)f < FSK_CPU_FEATURE_COUNT ? feature_names[f] : "?";
}

int fsk_cpu_has(const struct fsk_cpu *cpu, enum fsk_cpu_feature f)
{
    return (int)((cpu->features >> f) & 1u);
}

static struct fsk_cpu the_cpu;
static pthread_once_t cpu_once = PTHREAD_ONCE_INIT;

/* FSK_CPU_OFF: features (their names above, comma-separated) to treat as absent, so that a
 * path can be compared with the one it replaces on the same machine. Unknown names are left out
 * and kept, comma-separated, for `ffnskip info` to name (a misspelt feature would otherwise
 * compare a path with itself). */
static char off_unknown[128];

/* The features a variant's kernels may use; all must be present. */
static const enum fsk_cpu_feature avx2_needs[] = {FSK_CPU_AVX2, FSK_CPU_FMA, FSK_CPU_F16C,
                                                  FSK_CPU_OS_YMM};
/* -mavx512f lets the compiler use AVX2 too, and the AVX2 variant fills in under this one. */
static const enum fsk_cpu_feature avx512_needs[] = {
    FSK_CPU_AVX512F, FSK_CPU_AVX512BW, FSK_CPU_AVX512DQ, FSK_CPU_AVX512VL, FSK_CPU_AVX2,
    FSK_CPU_FMA,     FSK_CPU_F16C,     FSK_CPU_OS_YMM,   FSK_CPU_OS_ZMM};
static const enum fsk_cpu_feature neon_needs[] = {FSK_CPU_NEON};

/* The first of n features cpu lacks, or n when it has them all. */
static size_t first_missing(const struct fsk_cpu *cpu, const enum fsk_cpu_feature *needs, size_t n)
{
    size_t i = 0;
    while (i < n && fsk_cpu_has(cpu, needs[i]))
        i++;
    return i;
}

static void cpu_init(void)
{
    fsk_cpu_detect(&the_cpu);
    const char *off = getenv("FSK_CPU_OFF");
    while (off && *off) {
        size_t n = strcspn(off, ",");
        int known = 0;
        for (int f = 0; f < FSK_CPU_FEATURE_COUNT; f++)
            if (strlen(feature_names[f]) == n && strncmp(off, feature_names[f], n) == 0) {
                the_cpu.features &= ~(1ull << f);
                known = 1;
            }
        size_t used = strlen(off_unknown);
        if (!known && n > 0 && used + n + 2 < sizeof off_unknown)
            snprintf(off_unknown + used, sizeof off_unknown - used, "%s%.*s", used ? "," : "", (int)n, off);
        off += n + (off[n] == ',');
    }
#if defined(__x86_64__) || defined(__i386__)
    /* the tile state is asked for only when AMX is still wanted and this build has kernels for
     * it, which also need the AVX-512 variant's features (cpu_x86.c says why); the feature then
     * means the AMX kernels can run */
#ifdef FSK_AMX_R8
    const size_t n512 = sizeof avx512_needs / sizeof *avx512_needs;
    if (fsk_cpu_has(&the_cpu, FSK_CPU_AMX_INT8) &&
        (first_missing(&the_cpu, avx512_needs, n512) < n512 || !fsk_cpu_request_amx()))
        the_cpu.features &= ~(1ull << FSK_CPU_AMX_INT8);
#else
    the_cpu.features &= ~(1ull << FSK_CPU_AMX_INT8);
#endif
#endif
}

/* ------------------------------------------------------------------ record prefetch reach */

atomic_size_t fsk_pf_reach_bytes = FSK_PF_REACH_NEAR;
static pthread_once_t reach_once = PTHREAD_ONCE_INIT;
static size_t reach_env = SIZE_MAX; /* FSK_PF_REACH's reach, or SIZE_MAX: not set or invalid */
static char reach_invalid[32];

static void reach_init(void)
{
    const char *e = getenv("FSK_PF_REACH");
    if (!e || !*e)
        return;
    if (strcmp(e, "near") == 0)
        reach_env = FSK_PF_REACH_NEAR;
    else if (strcmp(e, "far") == 0)
        reach_env = FSK_PF_REACH_FAR;
    else if (strcmp(e, "off") == 0)
        reach_env = 0;
    else {
        char *end;
        unsigned long long v = strtoull(e, &end, 10);
        if (*e >= '0' && *e <= '9' && *end == '\0' && v <= FSK_PF_REACH_MAX)
            reach_env = (size_t)v;
        else
            snprintf(reach_invalid, sizeof reach_invalid, "%.31s", e);
    }
}

size_t fsk_pf_reach_rule(size_t weight_bytes, size_t llc_bytes, const char **why)
{
    pthread_once(&reach_once, reach_init);
    size_t r;
    const char *w;
    if (reach_env != SIZE_MAX) {
        r = reach_env;
        w = "set by FSK_PF_REACH";
    } else if (weight_bytes > 0 && llc_bytes > 0 && weight_bytes <= llc_bytes / 2) {
        r = FSK_PF_REACH_FAR;
        w = "far: the weights fit in half the last-level cache";
    } else {
        r = FSK_PF_REACH_NEAR;
        w = llc_bytes > 0 && weight_bytes > 0 ? "near: the weights exceed half the last-level cache"
                                              : "near: streamed from memory";
    }
    if (why)
        *why = w;
    return r;
}

size_t fsk_pf_reach_choose(size_t weight_bytes, size_t llc_bytes, const char **why)
{
    const size_t r = fsk_pf_reach_rule(weight_bytes, llc_bytes, why);
    atomic_store_explicit(&fsk_pf_reach_bytes, r, memory_order_relaxed);
    return r;
}

const char *fsk_pf_reach_env_invalid(void)
{
    pthread_once(&reach_once, reach_init);
    return reach_invalid[0] ? reach_invalid : NULL;
}

const char *fsk_cpu_off_unknown(void)
{
    fsk_cpu_get();
    return off_unknown[0] ? off_unknown : NULL;
}

const struct fsk_cpu *fsk_cpu_get(void)
{
    pthread_once(&cpu_once, cpu_init);
    return &the_cpu;
}


static int built(enum fsk_isa isa)
{
    switch (isa) {
    case FSK_ISA_REF: return 1;
#ifdef FSK_BUILD_AVX2
    case FSK_ISA_AVX2: return 1;
#endif
#ifdef FSK_BUILD_AVX512
    case FSK_ISA_AVX512: return 1;
#endif
#ifdef FSK_BUILD_NEON
    case FSK_ISA_NEON: return 1;
#endif
    default: return 0;
    }
}

int fsk_isa_usable(enum fsk_isa isa, const char **why)
{
    static const char *const missing_cpu[FSK_CPU_FEATURE_COUNT] = {
        [FSK_CPU_OS_YMM] = "the OS does not enable YMM state (XCR0)",
        [FSK_CPU_OS_ZMM] = "the OS does not enable opmask/ZMM state (XCR0)",
    };
    const enum fsk_cpu_feature *needs = NULL;
    size_t n = 0;
    if (why)
        *why = NULL;
    if ((unsigned)isa >= FSK_ISA_COUNT) {
        if (why) *why = "unknown instruction set";
        return 0;
    }
    if (!built(isa)) {
        if (why) *why = "this build does not contain these kernels (other architecture or configured off)";
        return 0;
    }
    switch (isa) {
    case FSK_ISA_AVX2: needs = avx2_needs; n = sizeof avx2_needs / sizeof *needs; break;
    case FSK_ISA_AVX512: needs = avx512_needs; n = sizeof avx512_needs / sizeof *needs; break;
    case FSK_ISA_NEON: needs = neon_needs; n = sizeof neon_needs / sizeof *needs; break;
    default: return 1;
    }
    const size_t i = first_missing(fsk_cpu_get(), needs, n);
    if (i == n)
        return 1;
    if (why) {
        static const char *const lacks[FSK_CPU_FEATURE_COUNT] = {
            [FSK_CPU_AVX2] = "the CPU lacks avx2",
            [FSK_CPU_FMA] = "the CPU lacks fma",
            [FSK_CPU_F16C] = "the CPU lacks f16c",
            [FSK_CPU_AVX512F] = "the CPU lacks avx512f",
            [FSK_CPU_AVX512BW] = "the CPU lacks avx512bw",
            [FSK_CPU_AVX512DQ] = "the CPU lacks avx512dq",
            [FSK_CPU_AVX512VL] = "the CPU lacks avx512vl",
            [FSK_CPU_NEON] = "the CPU lacks Advanced SIMD",
        };
        *why = missing_cpu[needs[i]] ? missing_cpu[needs[i]] : lacks[needs[i]];
    }
    return 0;
}

/* Conditional expansion on the 0/1 flags of kernels.def. */
#define FSK_IF_1(x) x
#define FSK_IF_0(x)
#define FSK_IF(flag, x) FSK_IF_##flag(x)

/* Overrides every op that isa has; the ref table is the base. */
static void fill_isa(struct fsk_kernels *t, enum fsk_isa isa)
{
    switch (isa) {
    case FSK_ISA_REF:
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) \
    t->op = fsk_##op##__ref;                       \
    t->op##_isa = FSK_ISA_REF;
#include "kernels.def"
#undef FSK_KERNEL
        break;
#ifdef FSK_BUILD_AVX2
    case FSK_ISA_AVX2:
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) \
    FSK_IF(a2, t->op = fsk_##op##__avx2; t->op##_isa = FSK_ISA_AVX2;)
#include "kernels.def"
#undef FSK_KERNEL
        break;
#endif
#ifdef FSK_BUILD_AVX512
    case FSK_ISA_AVX512:
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) \
    FSK_IF(a5, t->op = fsk_##op##__avx512; t->op##_isa = FSK_ISA_AVX512;)
#include "kernels.def"
#undef FSK_KERNEL
        break;
#endif
#ifdef FSK_BUILD_NEON
    case FSK_ISA_NEON:
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) \
    FSK_IF(ne, t->op = fsk_##op##__neon; t->op##_isa = FSK_ISA_NEON;)
#include "kernels.def"
#undef FSK_KERNEL
        break;
#endif
    default:
        break;
    }
}

/* Which ISAs stack on which: within a family, each ISA overrides the ones before it. */
static int family_up_to(enum fsk_isa top, enum fsk_isa isa)
{
    if (isa == FSK_ISA_REF)
        return 1;
    if (top == FSK_ISA_NEON)
        return isa == FSK_ISA_NEON;
    if (top == FSK_ISA_AVX512)
        return isa == FSK_ISA_AVX2 || isa == FSK_ISA_AVX512;
    if (top == FSK_ISA_AVX2)
        return isa == FSK_ISA_AVX2;
    return 0;
}

#if defined(FSK_BUILD_AVX2) && defined(FSK_BUILD_AVX512)
/* The AVX2 variants of the ops fsk_kernels_prefers_avx2 names (below) beat or equal their AVX-512
 * ones on both kinds of AVX-512 CPU measured, so an AVX-512 table takes them. AVX2's Q4_0/Q4_1/Q8_0 matrices are repacked at load
 * into eight-row records (model/repack.c), which the file-layout AVX-512 kernels cannot read.
 * fsk_bench GB/s at 1 thread (matvec) and GFLOP/s (matmul, 64 tokens), AVX2 against AVX-512:
 * - Zen 4 EPYC (512-bit operations issue as two halves; 2026-12-03), 576-column rows: matvec Q4_1
 *   16.9-20.2 vs 10.9-13.2, Q4_0 12.4-14.1 vs 8.3-12.6, Q6_K (1536 columns) 15.0 vs 9.7, Q8_0
 *   level (17.0-22.0 vs 17.7-19.7) and its repacked matmul 85-109 vs 73-77; end to end, Q4_1
 *   prompt 423-465 vs 337-370 tok/s and decode 106-132 vs 101-123.
 * - Intel Xeon with full-width AVX-512, AVX512-VNNI and AVX-VNNI (2026-12-04), both with VNNI:
 *   matvec Q8_0 15.7-16.3 vs 9.7-10.0, Q4_1 14.6-15.0 vs 9.9-13.9, Q4_0 12.3-13.6 vs 8.9-11.9,
 *   Q5_0/Q5_1 level (9.0-12.7 vs 8.8-11.7), Q6_K 11.6 vs 9.5; matmul Q8_0 193-205 vs 106-116,
 *   Q4_1 186-210 vs 98-128, Q4_0 204-205 vs 103-120, Q5_0 113-114 vs 86-104, Q5_1 110-124 vs
 *   81-105, Q6_K 101 vs 90. End to end (117-token prompt, 64 tokens, 1 thread): Q8_0 prompt
 *   352-382 -> 620-627 tok/s and decode 16.6 -> 11.6 ms/token; Q4_1 prompt 381-392 -> 686-692,
 *   decode 8.2-9.4 -> 8.2-8.8 ms/token.
 * A type's matvec and matmul move together: the runtime pairs them only within one variant.
 * F16, F32, BF16, Q4_K and Q5_K keep AVX-512 (as fast or faster). */
static void prefer_avx2(struct fsk_kernels *t)
{
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params)                   \
    FSK_IF(a2, if (fsk_kernels_prefers_avx2(FSK_OP_##op)) {          \
        t->op = fsk_##op##__avx2;                                    \
        t->op##_isa = FSK_ISA_AVX2;                                  \
    })
#include "kernels.def"
#undef FSK_KERNEL
}
#endif

int fsk_kernels_prefers_avx2(enum fsk_op op)
{
    switch (op) {
    case FSK_OP_matvec_q4_0: case FSK_OP_matmul_q4_0: case FSK_OP_matvec_q4_1: case FSK_OP_matmul_q4_1:
    case FSK_OP_matvec_q5_0: case FSK_OP_matmul_q5_0: case FSK_OP_matvec_q5_1: case FSK_OP_matmul_q5_1:
    case FSK_OP_matvec_q6_k: case FSK_OP_matmul_q6_k: case FSK_OP_matvec_q8_0: case FSK_OP_matmul_q8_0:
#if defined(FSK_BUILD_AVX2) && defined(FSK_BUILD_AVX512)
        return 1;
#else
        return 0;
#endif
    default:
        return 0;
    }
}

fsk_status fsk_kernels_build(struct fsk_kernels *t, enum fsk_isa top, char *msg, size_t msglen)
{
    const char *why;
    if (!fsk_isa_usable(top, &why)) {
        snprintf(msg, msglen, "instruction set '%s' cannot be used here: %s", fsk_isa_name(top), why);
        return FSK_ERR_UNSUPPORTED;
    }
    memset(t, 0, sizeof *t);
    for (int i = 0; i < FSK_ISA_COUNT; i++)
        if (family_up_to(top, (enum fsk_isa)i) && fsk_isa_usable((enum fsk_isa)i, NULL))
            fill_isa(t, (enum fsk_isa)i);
#if defined(FSK_BUILD_AVX2) && defined(FSK_BUILD_AVX512)
    if (top == FSK_ISA_AVX512)
        prefer_avx2(t);
#endif
    return FSK_OK;
}

enum fsk_isa fsk_best_isa(void)
{
    enum fsk_isa best = FSK_ISA_REF;
    for (int i = 1; i < FSK_ISA_COUNT; i++)
        if (fsk_isa_usable((enum fsk_isa)i, NULL))
            best = (enum fsk_isa)i;
    return best;
}

static struct fsk_kernels the_table;
static fsk_status the_status = FSK_ERR_INTERNAL;
static char the_message[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
    const char *forced = getenv("FSK_ISA");
    enum fsk_isa top = fsk_best_isa();
    if (forced && *forced) {
        top = fsk_isa_from_name(forced);
        if (top == FSK_ISA_COUNT) {
            snprintf(the_message, sizeof the_message,
                     "FSK_ISA=%s is not one of ref, avx2, avx512, neon", forced);
            the_status = FSK_ERR_INVALID_ARG;
            return;
        }
    }
    the_status = fsk_kernels_build(&the_table, top, the_message, sizeof the_message);
    if (the_status == FSK_OK && forced && *forced)
        snprintf(the_message, sizeof the_message, "forced by FSK_ISA=%s", forced);
    else if (the_status == FSK_OK)
        snprintf(the_message, sizeof the_message, "best available");
}

fsk_status fsk_kernels_get(const struct fsk_kernels **out, const char **message)
{
    pthread_once(&table_once, table_init);
    *out = the_status == FSK_OK ? &the_table : NULL;
    if (message)
        *message = the_message;
    return the_status;
}

enum fsk_isa fsk_kernels_op_isa(const struct fsk_kernels *t, enum fsk_op op)
{
    switch (op) {
#define FSK_KERNEL(name, r, a2, a5, ne, ret, params) \
    case FSK_OP_##name: return t->name##_isa;
#include "kernels.def"
#undef FSK_KERNEL
    default: return FSK_ISA_COUNT;
    }
}

const char *fsk_kernels_op_path(const struct fsk_kernels *t, enum fsk_op op)
{
#if defined(FSK_BUILD_AVX2) || defined(FSK_BUILD_AVX512)
    /* [K format][path]: path as enum fsk_vnni_path (AVX-512 kernels: none or EVEX) */
    static const char *const x86[2][3] = {
        {"maddubs", "vpdpbusd, AVX512-VNNI", "vpdpbusd, AVX-VNNI"},
        {"madd", "vpdpwssd, AVX512-VNNI", "vpdpwssd, AVX-VNNI"},
    };
#endif
#ifdef FSK_AMX_R8
    /* the repacked matmuls' AMX front (kernels/x86/amx.h), for 16 tokens or more */
    static const char *const amx[3] = {"AMX-INT8 from 16 tokens, else maddubs",
                                       "AMX-INT8 from 16 tokens, else vpdpbusd, AVX512-VNNI",
                                       "AMX-INT8 from 16 tokens, else vpdpbusd, AVX-VNNI"};
#endif
    const enum fsk_isa isa = fsk_kernels_op_isa(t, op);
    int r8 = 0, k = 0, q8 = 0;
    switch (op) {
    /* the repacked layouts: r8 1 for a matvec, 2 for a matmul (which AMX may take) */
#define R8_CASES(t)                                                                                \
    case FSK_OP_matvec_##t: r8 = 1; break;                                                         \
    case FSK_OP_matmul_##t: r8 = 2; break;
    FSK_R8_TYPES(R8_CASES)
#undef R8_CASES
    case FSK_OP_matvec_q4_k: case FSK_OP_matvec_q5_k: case FSK_OP_matvec_q6_k:
    case FSK_OP_matmul_q4_k: case FSK_OP_matmul_q5_k: case FSK_OP_matmul_q6_k:
        k = 1;
        break;
    case FSK_OP_matvec_q8_0: case FSK_OP_matmul_q8_0:
        q8 = 1;
        break;
    case FSK_OP_matvec_q4_0: case FSK_OP_matvec_q4_1: case FSK_OP_matvec_q5_0: case FSK_OP_matvec_q5_1:
    case FSK_OP_matmul_q4_0: case FSK_OP_matmul_q4_1: case FSK_OP_matmul_q5_0: case FSK_OP_matmul_q5_1:
        break;
    default:
        return NULL;
    }
    if (isa == FSK_ISA_NEON && !r8) /* kernels/arm/neon/qdot.h */
        return fsk_cpu_has(fsk_cpu_get(), FSK_CPU_DOTPROD) ? "sdot" : "smull";
#ifdef FSK_ZMM_R8
    if (isa == FSK_ISA_AVX2 && r8 == 2 && fsk_zmm_usable()) { /* kernels/x86/zmm.h */
#ifdef FSK_AMX_R8
        if (fsk_amx_usable())
            return "AMX-INT8 from 16 tokens, else vpdpbusd on zmm, AVX512-VNNI";
#endif
        return "vpdpbusd on zmm, AVX512-VNNI";
    }
#endif
#ifdef FSK_AMX_R8
    if (isa == FSK_ISA_AVX2 && r8 == 2 && fsk_amx_usable())
        return amx[fsk_avx2_vnni_path()];
#endif
#ifdef FSK_BUILD_AVX2
    if (isa == FSK_ISA_AVX2 && !q8) /* AVX2's file-layout Q8_0 kernel has a single path */
        return x86[k][fsk_avx2_vnni_path()];
#endif
#ifdef FSK_BUILD_AVX512
    if (isa == FSK_ISA_AVX512 && !r8)
        return x86[k][fsk_avx512_has_vnni() ? FSK_VNNI_EVEX : FSK_VNNI_NONE];
#endif
    (void)k; /* read by the x86 branches only */
    (void)q8;
    return NULL;
}

const char *fsk_kernels_op_label(const struct fsk_kernels *t, enum fsk_op op, char *buf, size_t len)
{
    const char *path = fsk_kernels_op_path(t, op);
    snprintf(buf, len, "%s%s%s%s", fsk_isa_name(fsk_kernels_op_isa(t, op)), path ? " (" : "", path ? path : "",
             path ? ")" : "");
    return buf;
}

const void *fsk_kernels_op_fn(const struct fsk_kernels *t, enum fsk_op op)
{
    switch (op) {
#define FSK_KERNEL(name, r, a2, a5, ne, ret, params) \
    case FSK_OP_##name: return (const void *)t->name;
#include "kernels.def"
#undef FSK_KERNEL
    default: return NULL;
    }
}

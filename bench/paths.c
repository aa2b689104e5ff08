/* paths.c: the kernels whose variant picks one of several paths per call from the CPU bits (VNNI
 * on x86, dotprod on NEON), listed path by path so that fsk_bench times each side by side. */
#include "config.h"

#include <string.h>

#include "bench.h"
#include "cpu.h"
#if (defined(__x86_64__) || defined(__i386__)) && (defined(FSK_BUILD_AVX2) || defined(FSK_BUILD_AVX512))
#include "x86/vnni.h"
#define FSK_X86_PATHS 1
#endif
#ifdef FSK_BUILD_NEON
#include "arm/neon/qdot.h"
#endif

struct path {
    enum fsk_op op;
    enum fsk_isa isa;
    const char *label;   /* the variant's name, and for the second path what it uses */
    void *fn;
    enum fsk_cpu_feature need[4]; /* features it needs beyond its variant's; FEATURE_COUNT ends */
};

#define END FSK_CPU_FEATURE_COUNT
#define NONE {END, END, END, END}
#define NEED1(f) {f, END, END, END} /* the unused slots must say END: 0 is a real feature */
static const struct path paths[] = {
#if defined(FSK_X86_PATHS) && defined(FSK_BUILD_AVX2)
#define AVX2_OP(op)                                                                                     \
    {FSK_OP_##op, FSK_ISA_AVX2, "avx2", (void *)fsk_##op##__avx2_base, NONE},                      \
    AVX2_EVEX(op) AVX2_VEX(op)
#ifdef FSK_HAVE_AVX512VNNI
#define AVX2_EVEX(op)                                                                                \
    {FSK_OP_##op, FSK_ISA_AVX2, "avx2+vnni", (void *)fsk_##op##__avx2_vnni512,                     \
     {FSK_CPU_AVX512VNNI, FSK_CPU_AVX512VL, FSK_CPU_AVX512BW, FSK_CPU_OS_ZMM}},
#else
#define AVX2_EVEX(op)
#endif
#ifdef FSK_HAVE_AVXVNNI
#define AVX2_VEX(op)                                                                                 \
    {FSK_OP_##op, FSK_ISA_AVX2, "avx2+avxvnni", (void *)fsk_##op##__avx2_avxvnni, NEED1(FSK_CPU_AVXVNNI)},
#else
#define AVX2_VEX(op)
#endif
    /* the repacked kernels, the file-layout 4- and 5-bit ones and the K-quant ones */
    AVX2_OP(matvec_q4_1_r8) AVX2_OP(matmul_q4_1_r8) AVX2_OP(matvec_q8_0_r8) AVX2_OP(matmul_q8_0_r8)
    AVX2_OP(matvec_q4_0) AVX2_OP(matmul_q4_0) AVX2_OP(matvec_q4_1) AVX2_OP(matmul_q4_1)
    AVX2_OP(matvec_q5_0) AVX2_OP(matmul_q5_0) AVX2_OP(matvec_q5_1) AVX2_OP(matmul_q5_1)
    AVX2_OP(matvec_q4_0_r8) AVX2_OP(matmul_q4_0_r8) AVX2_OP(matvec_q4_k) AVX2_OP(matmul_q4_k)
    AVX2_OP(matvec_q5_k) AVX2_OP(matmul_q5_k) AVX2_OP(matvec_q6_k) AVX2_OP(matmul_q6_k)
    AVX2_OP(matvec_q5_0_r8) AVX2_OP(matmul_q5_0_r8) AVX2_OP(matvec_q5_1_r8) AVX2_OP(matmul_q5_1_r8)
    AVX2_OP(matvec_q4_k_r8) AVX2_OP(matmul_q4_k_r8) AVX2_OP(matvec_q5_k_r8) AVX2_OP(matmul_q5_k_r8)
    AVX2_OP(matvec_q6_k_r8) AVX2_OP(matmul_q6_k_r8)
#ifdef FSK_AMX_R8
    /* the repacked matmuls' AMX-INT8 front (its post-processing is AVX-512) */
#define AMX_OP(t)                                                                                  \
    {FSK_OP_matmul_##t, FSK_ISA_AVX2, "avx2+amx", (void *)fsk_matmul_##t##__amx,                   \
     NEED1(FSK_CPU_AMX_INT8)}, /* the bit includes AVX-512 (dispatch.c) */
    FSK_R8_TYPES(AMX_OP)
#endif
#ifdef FSK_ZMM_R8
    /* the records' matmuls on zmm registers (AVX512-VNNI), where AMX is not taken */
#define ZMM_OP(t)                                                                                  \
    {FSK_OP_matmul_##t, FSK_ISA_AVX2, "avx2+zmm", (void *)fsk_matmul_##t##__zmm,                   \
     {FSK_CPU_AVX512VNNI, FSK_CPU_AVX512BW, FSK_CPU_AVX512VL, FSK_CPU_OS_ZMM}},
    FSK_R8_TYPES(ZMM_OP)
#endif
#endif
#if defined(FSK_X86_PATHS) && defined(FSK_BUILD_AVX512)
#ifdef FSK_HAVE_AVX512VNNI
#define Z_VNNI(op) {FSK_OP_##op, FSK_ISA_AVX512, "avx512+vnni", (void *)fsk_##op##__avx512_vnni, NEED1(FSK_CPU_AVX512VNNI)},
#else
#define Z_VNNI(op)
#endif
#define Z(t)                                                                                       \
    {FSK_OP_matvec_##t, FSK_ISA_AVX512, "avx512", (void *)fsk_matvec_##t##__avx512_base, NONE},    \
    Z_VNNI(matvec_##t)                                                                             \
    {FSK_OP_matmul_##t, FSK_ISA_AVX512, "avx512", (void *)fsk_matmul_##t##__avx512_base, NONE},    \
    Z_VNNI(matmul_##t)
    Z(q4_0) Z(q4_1) Z(q5_0) Z(q5_1) Z(q8_0) Z(q4_k) Z(q5_k) Z(q6_k)
#endif
#ifdef FSK_BUILD_NEON
#define N(t)                                                                                       \
    {FSK_OP_matvec_##t, FSK_ISA_NEON, "neon", (void *)fsk_matvec_##t##__neon_base, NONE},          \
    {FSK_OP_matvec_##t, FSK_ISA_NEON, "neon+sdot", (void *)fsk_matvec_##t##__neon_dotprod, NEED1(FSK_CPU_DOTPROD)},
    N(q4_0) N(q4_1) N(q5_0) N(q5_1) N(q8_0) N(q4_k) N(q5_k) N(q6_k)
#endif
    {FSK_OP_COUNT, FSK_ISA_COUNT, NULL, NULL, NONE},
};

int bench_op_paths(enum fsk_op op, enum fsk_isa isa, struct bench_path *out, int max)
{
    int n = 0;
    for (const struct path *p = paths; p->label && n < max; p++) {
        if (p->op != op || p->isa != isa)
            continue;
        out[n].label = p->label;
        out[n].fn = p->fn;
        out[n].lacks = NULL;
        for (int k = 0; k < 4 && p->need[k] != END; k++)
            if (!fsk_cpu_has(fsk_cpu_get(), p->need[k])) {
                out[n].lacks = fsk_cpu_feature_name(p->need[k]);
                break;
            }
        n++;
    }
    return n;
}

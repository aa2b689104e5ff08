/* vnni.h (x86): the VNNI paths of the integer kernels (AVX2's repacked ones, AVX-512's 32-element
 * and K formats), and the one this CPU takes. */
#ifndef FSK_X86_VNNI_H
#define FSK_X86_VNNI_H

#include "config.h"

#include <stddef.h>

#include "cpu.h"

/* The paths are built with these targets (their files are built for AVX2 or AVX-512); configure
 * says whether the compiler has each (FSK_HAVE_AVX512VNNI, FSK_HAVE_AVXVNNI). */
#define FSK_TARGET_VNNI512 __attribute__((target("avx512vnni,avx512vl"))) /* ymm, from AVX2 code */
#define FSK_TARGET_VNNI512Z __attribute__((target("avx512vnni")))         /* zmm, from AVX-512 code */
#define FSK_TARGET_AVXVNNI __attribute__((target("avxvnni")))

enum fsk_vnni_path {
    FSK_VNNI_NONE, /* maddubs, madd, add */
    FSK_VNNI_EVEX, /* vpdpbusd on ymm, AVX512-VNNI with AVX512-VL (the OS saving ZMM state) */
    FSK_VNNI_VEX,  /* vpdpbusd on ymm, AVX-VNNI */
};

/* The path the repacked kernels take here: EVEX where the CPU has it, else VEX, else none
 * (FSK_CPU_OFF=avx512vnni,avxvnni turns both off, for comparisons). fsk_cpu_get computes the
 * bits once; this is a few tests per kernel call. */
static inline enum fsk_vnni_path fsk_avx2_vnni_path(void)
{
    const struct fsk_cpu *c = fsk_cpu_get();
#ifdef FSK_HAVE_AVX512VNNI
    if (fsk_cpu_has(c, FSK_CPU_AVX512VNNI) && fsk_cpu_has(c, FSK_CPU_AVX512VL) &&
        fsk_cpu_has(c, FSK_CPU_OS_ZMM))
        return FSK_VNNI_EVEX;
#endif
#ifdef FSK_HAVE_AVXVNNI
    if (fsk_cpu_has(c, FSK_CPU_AVXVNNI) && fsk_cpu_has(c, FSK_CPU_OS_YMM))
        return FSK_VNNI_VEX;
#endif
    (void)c;
    return FSK_VNNI_NONE;
}

/* Whether the AVX-512 kernels take their vpdpbusd path (the AVX-512 variant being usable, only
 * the VNNI bit is left to test). */
static inline int fsk_avx512_has_vnni(void)
{
    return fsk_cpu_has(fsk_cpu_get(), FSK_CPU_AVX512VNNI);
}

/* Each path of each kernel, for tests and benchmarks (fsk_<op>__<isa>_<path>): the same contract
 * as the op. */
#define FSK_PATH_DECLS(t, isa, path)                                                               \
    void fsk_matvec_##t##__##isa##_##path(float *y, const void *w, size_t row_stride,              \
                                          const void *x, size_t ncols, size_t r0, size_t r1);      \
    void fsk_matmul_##t##__##isa##_##path(float *y, size_t ldy, const void *w, size_t row_stride,  \
                                          const void *x, size_t x_stride, size_t ncols,            \
                                          size_t ntok, size_t r0, size_t r1);
/* AVX2: the repacked kernels and the K-quant ones (paths base, vnni512, avxvnni). */
#define FSK_AVX2_PATHS(path)                                                                       \
    FSK_PATH_DECLS(q4_1_r8, avx2, path) FSK_PATH_DECLS(q8_0_r8, avx2, path)                        \
    FSK_PATH_DECLS(q4_0_r8, avx2, path) FSK_PATH_DECLS(q4_k, avx2, path)                           \
    FSK_PATH_DECLS(q5_k, avx2, path) FSK_PATH_DECLS(q6_k, avx2, path)
/* AVX-512: the 32-element formats and the K-quant ones (paths base, vnni). */
#define FSK_AVX512_PATHS(path)                                                                     \
    FSK_PATH_DECLS(q4_0, avx512, path) FSK_PATH_DECLS(q4_1, avx512, path)                          \
    FSK_PATH_DECLS(q5_0, avx512, path) FSK_PATH_DECLS(q5_1, avx512, path)                          \
    FSK_PATH_DECLS(q8_0, avx512, path) FSK_PATH_DECLS(q4_k, avx512, path)                          \
    FSK_PATH_DECLS(q5_k, avx512, path) FSK_PATH_DECLS(q6_k, avx512, path)
FSK_AVX2_PATHS(base)
FSK_AVX512_PATHS(base)
#ifdef FSK_HAVE_AVX512VNNI
FSK_AVX2_PATHS(vnni512)
FSK_AVX512_PATHS(vnni)
#endif
#ifdef FSK_HAVE_AVXVNNI
FSK_AVX2_PATHS(avxvnni)
#endif
#undef FSK_AVX512_PATHS
#undef FSK_AVX2_PATHS
#undef FSK_PATH_DECLS

#endif

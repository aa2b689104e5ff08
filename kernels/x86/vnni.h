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

/* Each path of each kernel, for tests and benchmarks: the same contract as the op. */
#define FSK_R8_PATH_DECLS(path)                                                                    \
    void fsk_matvec_q4_1_r8__avx2_##path(float *y, const void *w, size_t row_stride, const void *x, \
                                         size_t ncols, size_t r0, size_t r1);                      \
    void fsk_matvec_q8_0_r8__avx2_##path(float *y, const void *w, size_t row_stride, const void *x, \
                                         size_t ncols, size_t r0, size_t r1);                      \
    void fsk_matvec_q4_0_r8__avx2_##path(float *y, const void *w, size_t row_stride, const void *x, \
                                         size_t ncols, size_t r0, size_t r1);                      \
    void fsk_matmul_q4_1_r8__avx2_##path(float *y, size_t ldy, const void *w, size_t row_stride,   \
                                         const void *x, size_t x_stride, size_t ncols, size_t ntok, \
                                         size_t r0, size_t r1);                                    \
    void fsk_matmul_q8_0_r8__avx2_##path(float *y, size_t ldy, const void *w, size_t row_stride,   \
                                         const void *x, size_t x_stride, size_t ncols, size_t ntok, \
                                         size_t r0, size_t r1);                                    \
    void fsk_matmul_q4_0_r8__avx2_##path(float *y, size_t ldy, const void *w, size_t row_stride,   \
                                         const void *x, size_t x_stride, size_t ncols, size_t ntok, \
                                         size_t r0, size_t r1);
FSK_R8_PATH_DECLS(base)
#ifdef FSK_HAVE_AVX512VNNI
FSK_R8_PATH_DECLS(vnni512)
#endif
#ifdef FSK_HAVE_AVXVNNI
FSK_R8_PATH_DECLS(avxvnni)
#endif

/* The AVX2 K-quant kernels' paths (madd + add, or vpdpwssd), chosen as the repacked ones are. */
#define FSK_AVX2_K_DECLS(t, path)                                                                  \
    void fsk_matvec_##t##__avx2_##path(float *y, const void *w, size_t row_stride, const void *x,   \
                                       size_t ncols, size_t r0, size_t r1);                        \
    void fsk_matmul_##t##__avx2_##path(float *y, size_t ldy, const void *w, size_t row_stride,     \
                                       const void *x, size_t x_stride, size_t ncols, size_t ntok,  \
                                       size_t r0, size_t r1);
#define FSK_AVX2_K_PATHS(path)                                                                     \
    FSK_AVX2_K_DECLS(q4_k, path) FSK_AVX2_K_DECLS(q5_k, path) FSK_AVX2_K_DECLS(q6_k, path)
FSK_AVX2_K_PATHS(base)
#ifdef FSK_HAVE_AVX512VNNI
FSK_AVX2_K_PATHS(vnni512)
#endif
#ifdef FSK_HAVE_AVXVNNI
FSK_AVX2_K_PATHS(avxvnni)
#endif
#undef FSK_AVX2_K_PATHS
#undef FSK_AVX2_K_DECLS
#undef FSK_R8_PATH_DECLS

#define FSK_AVX512_PATH_DECLS(t, path)                                                             \
    void fsk_matvec_##t##__avx512_##path(float *y, const void *w, size_t row_stride, const void *x, \
                                         size_t ncols, size_t r0, size_t r1);                      \
    void fsk_matmul_##t##__avx512_##path(float *y, size_t ldy, const void *w, size_t row_stride,   \
                                         const void *x, size_t x_stride, size_t ncols, size_t ntok, \
                                         size_t r0, size_t r1);
#define FSK_AVX512_PATHS(path)                                                                     \
    FSK_AVX512_PATH_DECLS(q4_0, path) FSK_AVX512_PATH_DECLS(q4_1, path)                            \
    FSK_AVX512_PATH_DECLS(q5_0, path) FSK_AVX512_PATH_DECLS(q5_1, path)                            \
    FSK_AVX512_PATH_DECLS(q8_0, path) FSK_AVX512_PATH_DECLS(q4_k, path)                            \
    FSK_AVX512_PATH_DECLS(q5_k, path) FSK_AVX512_PATH_DECLS(q6_k, path)
FSK_AVX512_PATHS(base)
#ifdef FSK_HAVE_AVX512VNNI
FSK_AVX512_PATHS(vnni)
#endif
#undef FSK_AVX512_PATHS
#undef FSK_AVX512_PATH_DECLS

#endif

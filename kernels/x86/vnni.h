/* vnni.h (x86): the VNNI paths of the integer kernels (AVX2's repacked ones, AVX-512's 32-element
 * and K formats), and the one this CPU takes. */
#ifndef FSK_X86_VNNI_H
#define FSK_X86_VNNI_H

#include "config.h"

#include <stddef.h>

#include "cpu.h"
#include "amx.h"
#include "zmm.h"

/* The paths are built with these targets (their files are built for AVX2 or AVX-512); configure
 * says whether the compiler has each (FSK_HAVE_AVX512VNNI, FSK_HAVE_AVXVNNI). */
#define FSK_TARGET_VNNI512 __attribute__((target("avx512vnni,avx512vl,avx512bw"))) /* ymm, from AVX2 code */
#define FSK_TARGET_VNNI512Z __attribute__((target("avx512vnni")))         /* zmm, from AVX-512 code */
#define FSK_TARGET_AVXVNNI __attribute__((target("avxvnni")))

enum fsk_vnni_path {
    FSK_VNNI_NONE, /* maddubs, madd, add */
    FSK_VNNI_EVEX, /* vpdpbusd on ymm, AVX512-VNNI with AVX512-VL and -BW (the OS saving ZMM state) */
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
        fsk_cpu_has(c, FSK_CPU_AVX512BW) && fsk_cpu_has(c, FSK_CPU_OS_ZMM))
        return FSK_VNNI_EVEX;
#endif
#ifdef FSK_HAVE_AVXVNNI
    if (fsk_cpu_has(c, FSK_CPU_AVXVNNI) && fsk_cpu_has(c, FSK_CPU_OS_YMM))
        return FSK_VNNI_VEX;
#endif
    (void)c;
    return FSK_VNNI_NONE;
}

/* Whether the AVX-512 kernels take their VNNI path: the build has it and the CPU the VNNI bit
 * (the AVX-512 variant being usable, that is all that is left to test). */
static inline int fsk_avx512_has_vnni(void)
{
#ifdef FSK_HAVE_AVX512VNNI
    return fsk_cpu_has(fsk_cpu_get(), FSK_CPU_AVX512VNNI);
#else
    return 0;
#endif
}

/* A matvec's and a matmul's parameters (kernels.def), and the arguments that pass them on. */
#define FSK_MV_PARAMS                                                                              \
    (float *y, const void *w, size_t row_stride, const void *x, size_t ncols, size_t r0, size_t r1)
#define FSK_MM_PARAMS                                                                              \
    (float *y, size_t ldy, const void *w, size_t row_stride, const void *x, size_t x_stride,       \
     size_t ncols, size_t ntok, size_t r0, size_t r1)
#define FSK_MV_ARGS (y, w, row_stride, x, ncols, r0, r1)
#define FSK_MM_ARGS (y, ldy, w, row_stride, x, x_stride, ncols, ntok, r0, r1)

/* Each path of each kernel, fsk_<op>__<isa>_<path>, for tests and benchmarks: the same contract
 * as the op. */
#define FSK_PATH_DECLS(t, isa, path)                                                               \
    void fsk_matvec_##t##__##isa##_##path FSK_MV_PARAMS;                                           \
    void fsk_matmul_##t##__##isa##_##path FSK_MM_PARAMS;
/* AVX2: the repacked kernels, the file-layout 4- and 5-bit ones and the K-quant ones (paths
 * base, vnni512, avxvnni). */
#define FSK_AVX2_PATHS(path)                                                                       \
    FSK_PATH_DECLS(q4_1_r8, avx2, path) FSK_PATH_DECLS(q8_0_r8, avx2, path)                        \
    FSK_PATH_DECLS(q4_0, avx2, path) FSK_PATH_DECLS(q4_1, avx2, path)                              \
    FSK_PATH_DECLS(q5_0, avx2, path) FSK_PATH_DECLS(q5_1, avx2, path)                              \
    FSK_PATH_DECLS(q4_0_r8, avx2, path) FSK_PATH_DECLS(q5_0_r8, avx2, path)                        \
    FSK_PATH_DECLS(q5_1_r8, avx2, path) FSK_PATH_DECLS(q4_k_r8, avx2, path)                        \
    FSK_PATH_DECLS(q5_k_r8, avx2, path) FSK_PATH_DECLS(q6_k_r8, avx2, path)                        \
    FSK_PATH_DECLS(q4_k, avx2, path)                                                               \
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

/* The exported ops of the kernel files: fsk_<op>__avx2 (params, args: FSK_MV_* or FSK_MM_*)
 * calls the path fsk_avx2_vnni_path names, fsk_<op>__avx512 its vnni path where
 * fsk_avx512_has_vnni; each looked up per call (a load and a test). */
#ifdef FSK_HAVE_AVX512VNNI
#define FSK_CASE_EVEX(call) case FSK_VNNI_EVEX: call; break;
#define FSK_AVX512_DISPATCH(op, params, args)                                                      \
    void fsk_##op##__avx512 params                                                                 \
    {                                                                                              \
        if (fsk_avx512_has_vnni())                                                                 \
            fsk_##op##__avx512_vnni args;                                                          \
        else                                                                                       \
            fsk_##op##__avx512_base args;                                                          \
    }
#else
#define FSK_CASE_EVEX(call)
#define FSK_AVX512_DISPATCH(op, params, args)                                                      \
    void fsk_##op##__avx512 params { fsk_##op##__avx512_base args; }
#endif
#ifdef FSK_HAVE_AVXVNNI
#define FSK_CASE_VEX(call) case FSK_VNNI_VEX: call; break;
#else
#define FSK_CASE_VEX(call)
#endif
#define FSK_AVX2_DISPATCH(op, params, args) FSK_AVX2_DISPATCH_AS(fsk_##op##__avx2, op, params, args)
#define FSK_AVX2_DISPATCH_AS(name, op, params, args)                                               \
    void name params                                                                               \
    {                                                                                              \
        switch (fsk_avx2_vnni_path()) {                                                            \
        FSK_CASE_EVEX(fsk_##op##__avx2_vnni512 args)                                               \
        FSK_CASE_VEX(fsk_##op##__avx2_avxvnni args)                                                \
        default: fsk_##op##__avx2_base args; break;                                                \
        }                                                                                          \
    }
/* Both ops of a type. */
#define FSK_AVX2_DISPATCH_TYPE(t)                                                                  \
    FSK_AVX2_DISPATCH(matvec_##t, FSK_MV_PARAMS, FSK_MV_ARGS)                                      \
    FSK_AVX2_DISPATCH(matmul_##t, FSK_MM_PARAMS, FSK_MM_ARGS)
/* Both ops of a repacked type: the matmul goes through the AMX tiles (kernels/x86/amx.h) for a
 * prompt that fills one where the CPU has them, else through zmm registers (kernels/x86/zmm.h)
 * where the CPU has AVX512-VNNI; fsk_matmul_<t>__avx2_paths is the
 * VNNI choice alone, and fsk_matmul_<t>__avx2_rest the matmul without the AMX front, which the
 * AMX kernel calls for what its tiles leave. */
#ifdef FSK_AMX_R8
#define FSK_AMX_FRONT(t)                                                                           \
    if (ntok >= FSK_AMX_MIN_TOK && fsk_amx_usable()) {                                             \
        fsk_matmul_##t##__amx FSK_MM_ARGS;                                                         \
        return;                                                                                    \
    }
#else
#define FSK_AMX_FRONT(t)
#endif
#ifdef FSK_ZMM_R8
#define FSK_ZMM_FRONT(t)                                                                           \
    if (ntok >= FSK_ZMM_MIN_TOK && fsk_zmm_usable()) {                                             \
        fsk_matmul_##t##__zmm FSK_MM_ARGS;                                                         \
        return;                                                                                    \
    }
#else
#define FSK_ZMM_FRONT(t)
#endif
#define FSK_AVX2_DISPATCH_R8(t)                                                                    \
    FSK_AVX2_DISPATCH(matvec_##t, FSK_MV_PARAMS, FSK_MV_ARGS)                                      \
    FSK_AVX2_DISPATCH_AS(fsk_matmul_##t##__avx2_paths, matmul_##t, FSK_MM_PARAMS, FSK_MM_ARGS)    \
    void fsk_matmul_##t##__avx2_rest FSK_MM_PARAMS                                                 \
    {                                                                                              \
        FSK_ZMM_FRONT(t) fsk_matmul_##t##__avx2_paths FSK_MM_ARGS;                                 \
    }                                                                                              \
    void fsk_matmul_##t##__avx2 FSK_MM_PARAMS                                                      \
    {                                                                                              \
        FSK_AMX_FRONT(t) fsk_matmul_##t##__avx2_rest FSK_MM_ARGS;                                  \
    }
/* the VNNI paths' choice alone, and the exported AVX2 matmul without its AMX front */
#define FSK_PATHS_DECL(t)                                                                          \
    void fsk_matmul_##t##__avx2_paths(float *y, size_t ldy, const void *w, size_t row_stride,      \
                                      const void *x, size_t x_stride, size_t ncols, size_t ntok,   \
                                      size_t r0, size_t r1);                                       \
    void fsk_matmul_##t##__avx2_rest(float *y, size_t ldy, const void *w, size_t row_stride,       \
                                     const void *x, size_t x_stride, size_t ncols, size_t ntok,    \
                                     size_t r0, size_t r1);
FSK_R8_TYPES(FSK_PATHS_DECL)
#undef FSK_PATHS_DECL
#define FSK_AVX512_DISPATCH_TYPE(t)                                                                \
    FSK_AVX512_DISPATCH(matvec_##t, FSK_MV_PARAMS, FSK_MV_ARGS)                                    \
    FSK_AVX512_DISPATCH(matmul_##t, FSK_MM_PARAMS, FSK_MM_ARGS)

#endif

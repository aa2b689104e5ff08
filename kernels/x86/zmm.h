/* zmm.h (x86): the prompt matmuls of the eight-row records on zmm registers through vpdpbusd
 * (kernels/x86/avx512/r8zmm.c), which the AVX2 variant's exported matmuls take where the
 * CPU has AVX512-VNNI and AMX does not take the call (no AMX-INT8, or fewer tokens than a tile). */
#ifndef FSK_X86_ZMM_H
#define FSK_X86_ZMM_H

#include "config.h"

#include <stddef.h>

#include "cpu.h"
#include "quant.h"

#if defined(FSK_HAVE_AVX512VNNI) && defined(FSK_BUILD_AVX2) && defined(FSK_BUILD_AVX512)
#define FSK_ZMM_R8 1

/* Fewer tokens than this go to the AVX2 kernels: with one, the matvec's software fetch pays more
 * than wider registers. */
#define FSK_ZMM_MIN_TOK 2

/* The same contract and the same values, bit for bit, as the AVX2 matmul of each layout (and so as
 * its matvec token by token): the integer sums of two groups' records (16 rows) in the sixteen
 * lanes of a zmm, the integer and float work after them the AVX2 kernel's, operation for
 * operation. */
#define FSK_ZMM_DECLS(t)                                                                           \
    void fsk_matmul_##t##__zmm(float *y, size_t ldy, const void *w, size_t row_stride, const void *x, \
                               size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1);
FSK_R8_TYPES(FSK_ZMM_DECLS)
#undef FSK_ZMM_DECLS

/* Whether the exported matmuls take the zmm kernels here: AVX512-VNNI with the AVX-512 parts they
 * use and the OS saving ZMM state (FSK_CPU_OFF=avx512vnni turns them off with the EVEX paths). */
static inline int fsk_zmm_usable(void)
{
    const struct fsk_cpu *c = fsk_cpu_get();
    return fsk_cpu_has(c, FSK_CPU_AVX512VNNI) && fsk_cpu_has(c, FSK_CPU_AVX512F) &&
           fsk_cpu_has(c, FSK_CPU_AVX512BW) && fsk_cpu_has(c, FSK_CPU_AVX512VL) &&
           fsk_cpu_has(c, FSK_CPU_OS_ZMM);
}
#endif

#endif

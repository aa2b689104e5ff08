/* amx.h (x86): the repacked matmuls through AMX-INT8 tiles (kernels/x86/avx512/amx.c), which the
 * AVX2 variant's exported matmuls take for prompts of at least FSK_AMX_MIN_TOK tokens where the
 * CPU has AMX-INT8 and AVX-512 (every AMX CPU so far has both). */
#ifndef FSK_X86_AMX_H
#define FSK_X86_AMX_H

#include "config.h"

#include <stddef.h>

#include "cpu.h"
#include "quant.h"

#if defined(FSK_HAVE_AMX) && defined(FSK_BUILD_AVX2) && defined(FSK_BUILD_AVX512)
#define FSK_AMX_R8 1

/* A tile covers 16 tokens: fewer do not fill one. */
#define FSK_AMX_MIN_TOK 16

/* The same contract and the same values, bit for bit, as the AVX2 matmul of each layout (and so as
 * its matvec token by token): the integer sums of each 32-element block come from the tiles, and
 * the float work after them is the AVX2 kernel's, operation for operation, 16 rows to a vector.
 * Whole 16-token by 16-row tiles go through AMX, the rest through fsk_matmul_<t>__avx2_rest
 * (kernels/x86/vnni.h). */
#define FSK_AMX_DECLS(t)                                                                           \
    void fsk_matmul_##t##__amx(float *y, size_t ldy, const void *w, size_t row_stride, const void *x, \
                               size_t x_stride, size_t ncols, size_t ntok, size_t r0, size_t r1);
FSK_R8_TYPES(FSK_AMX_DECLS)
#undef FSK_AMX_DECLS

/* Whether the exported matmuls take the AMX kernels here: the CPU bit already says AMX-INT8,
 * the OS's grant and the AVX-512 variant's features (dispatch.c; FSK_CPU_OFF=amx-int8 turns it
 * off). */
static inline int fsk_amx_usable(void)
{
    return fsk_cpu_has(fsk_cpu_get(), FSK_CPU_AMX_INT8);
}
#endif

#endif

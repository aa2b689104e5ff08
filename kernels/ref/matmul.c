/* matmul.c (ref): batched matmul for prefill, defined as the ref matvec of each token in turn. */
#include "kernels.h"

/* One token at a time: ref is the oracle, and its matmul is by definition its matvec. */
#define REF_MATMUL(t)                                                                           \
    void fsk_matmul_##t##__ref(float *y, size_t ldy, const void *w, size_t row_stride,          \
                               const void *x, size_t x_stride, size_t ncols, size_t ntok,       \
                               size_t r0, size_t r1)                                            \
    {                                                                                           \
        for (size_t k = 0; k < ntok; k++)                                                       \
            fsk_matvec_##t##__ref(y + k * ldy, w, row_stride, (const char *)x + k * x_stride,   \
                                  ncols, r0, r1);                                               \
    }

REF_MATMUL(f32)
REF_MATMUL(f16)
REF_MATMUL(q4_0)
REF_MATMUL(q4_1)
REF_MATMUL(q4_1_r8)
REF_MATMUL(q8_0_r8)
REF_MATMUL(q4_0_r8)
REF_MATMUL(q5_0_r8)
REF_MATMUL(q5_1_r8)
REF_MATMUL(q4_k_r8)
REF_MATMUL(q5_k_r8)
REF_MATMUL(q6_k_r8)
REF_MATMUL(q5_0)
REF_MATMUL(q5_1)
REF_MATMUL(q4_k)
REF_MATMUL(q5_k)
REF_MATMUL(q6_k)
REF_MATMUL(q8_0)
REF_MATMUL(bf16)

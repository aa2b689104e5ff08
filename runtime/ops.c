/* ops.c: maps GGML weight types onto the kernel table's ops. */
#include "config.h"

#include <string.h>

#include "ops.h"

static void copy_f32(float *y, const void *x, size_t n)
{
    memcpy(y, x, n * sizeof *y);
}

/* A matmul serves only where it comes from the same variant family as the matvec it mirrors. */
#define MATMUL_IF_SAME(t) (k->matmul_##t##_isa == k->matvec_##t##_isa ? k->matmul_##t : NULL)

static void set_matmul(const struct fsk_kernels *k, uint32_t type, struct fsk_wops *o)
{
    switch (type) {
    case FSK_TYPE_F32: o->matmul = MATMUL_IF_SAME(f32); break;
    case FSK_TYPE_F16: o->matmul = MATMUL_IF_SAME(f16); break;
    case FSK_TYPE_Q4_0: o->matmul = MATMUL_IF_SAME(q4_0); break;
    case FSK_TYPE_Q4_1: o->matmul = MATMUL_IF_SAME(q4_1); break;
    case FSK_TYPE_Q5_0: o->matmul = MATMUL_IF_SAME(q5_0); break;
    case FSK_TYPE_Q5_1: o->matmul = MATMUL_IF_SAME(q5_1); break;
    case FSK_TYPE_Q8_0: o->matmul = MATMUL_IF_SAME(q8_0); break;
    case FSK_TYPE_Q4_K: o->matmul = MATMUL_IF_SAME(q4_k); break;
    case FSK_TYPE_Q5_K: o->matmul = MATMUL_IF_SAME(q5_k); break;
    case FSK_TYPE_Q6_K: o->matmul = MATMUL_IF_SAME(q6_k); break;
    case FSK_TYPE_Q4_1_R8: o->matmul = MATMUL_IF_SAME(q4_1_r8); break;
    case FSK_TYPE_Q8_0_R8: o->matmul = MATMUL_IF_SAME(q8_0_r8); break;
    case FSK_TYPE_Q4_0_R8: o->matmul = MATMUL_IF_SAME(q4_0_r8); break;
    case FSK_TYPE_Q5_0_R8: o->matmul = MATMUL_IF_SAME(q5_0_r8); break;
    case FSK_TYPE_Q5_1_R8: o->matmul = MATMUL_IF_SAME(q5_1_r8); break;
    case FSK_TYPE_Q4_K_R8: o->matmul = MATMUL_IF_SAME(q4_k_r8); break;
    case FSK_TYPE_Q5_K_R8: o->matmul = MATMUL_IF_SAME(q5_k_r8); break;
    case FSK_TYPE_Q6_K_R8: o->matmul = MATMUL_IF_SAME(q6_k_r8); break;
    case FSK_TYPE_BF16: o->matmul = MATMUL_IF_SAME(bf16); break;
    default: break; /* no matmul: one matvec per token */
    }
}

static int wops_fill(const struct fsk_kernels *k, uint32_t type, struct fsk_wops *o);

int fsk_wops_for(const struct fsk_kernels *k, uint32_t type, struct fsk_wops *o)
{
    if (!wops_fill(k, type, o))
        return 0;
    set_matmul(k, type, o);
    return 1;
}

static int wops_fill(const struct fsk_kernels *k, uint32_t type, struct fsk_wops *o)
{
    memset(o, 0, sizeof *o);
    o->act_type = FSK_TYPE_F32;
    switch (type) {
    case FSK_TYPE_F32: o->matvec = k->matvec_f32; o->dequantize = copy_f32; return 1;
    case FSK_TYPE_F16: o->matvec = k->matvec_f16; o->dequantize = k->dequantize_f16; return 1;
    case FSK_TYPE_BF16: o->matvec = k->matvec_bf16; o->dequantize = k->dequantize_bf16; return 1;
    case FSK_TYPE_Q4_0:
        o->matvec = k->matvec_q4_0; o->dequantize = k->dequantize_q4_0; o->quantize = k->quantize_q8_0;
        o->act_type = FSK_TYPE_Q8_0;
        return 1;
    case FSK_TYPE_Q4_1:
        o->matvec = k->matvec_q4_1; o->dequantize = k->dequantize_q4_1; o->quantize = k->quantize_q8_1;
        o->act_type = FSK_TYPE_Q8_1;
        return 1;
    case FSK_TYPE_Q4_1_R8: /* repacked matrices are never the embedding: no dequantize */
        o->matvec = k->matvec_q4_1_r8; o->quantize = k->quantize_q8_1;
        o->act_type = FSK_TYPE_Q8_1;
        return 1;
    case FSK_TYPE_Q8_0_R8:
        o->matvec = k->matvec_q8_0_r8; o->quantize = k->quantize_q8_0;
        o->act_type = FSK_TYPE_Q8_0;
        return 1;
    case FSK_TYPE_Q4_0_R8:
        o->matvec = k->matvec_q4_0_r8; o->quantize = k->quantize_q8_0;
        o->act_type = FSK_TYPE_Q8_0;
        return 1;
    case FSK_TYPE_Q5_0_R8:
        o->matvec = k->matvec_q5_0_r8; o->quantize = k->quantize_q8_0;
        o->act_type = FSK_TYPE_Q8_0;
        return 1;
    case FSK_TYPE_Q5_1_R8:
        o->matvec = k->matvec_q5_1_r8; o->quantize = k->quantize_q8_1;
        o->act_type = FSK_TYPE_Q8_1;
        return 1;
    case FSK_TYPE_Q4_K_R8:
        o->matvec = k->matvec_q4_k_r8; o->quantize = k->quantize_q8_k;
        o->act_type = FSK_TYPE_Q8_K;
        return 1;
    case FSK_TYPE_Q5_K_R8:
        o->matvec = k->matvec_q5_k_r8; o->quantize = k->quantize_q8_k;
        o->act_type = FSK_TYPE_Q8_K;
        return 1;
    case FSK_TYPE_Q6_K_R8:
        o->matvec = k->matvec_q6_k_r8; o->quantize = k->quantize_q8_k;
        o->act_type = FSK_TYPE_Q8_K;
        return 1;
    case FSK_TYPE_Q5_0:
        o->matvec = k->matvec_q5_0; o->dequantize = k->dequantize_q5_0; o->quantize = k->quantize_q8_0;
        o->act_type = FSK_TYPE_Q8_0;
        return 1;
    case FSK_TYPE_Q5_1:
        o->matvec = k->matvec_q5_1; o->dequantize = k->dequantize_q5_1; o->quantize = k->quantize_q8_1;
        o->act_type = FSK_TYPE_Q8_1;
        return 1;
    case FSK_TYPE_Q8_0:
        o->matvec = k->matvec_q8_0; o->dequantize = k->dequantize_q8_0; o->quantize = k->quantize_q8_0;
        o->act_type = FSK_TYPE_Q8_0;
        return 1;
    case FSK_TYPE_Q4_K:
        o->matvec = k->matvec_q4_k; o->dequantize = k->dequantize_q4_k; o->quantize = k->quantize_q8_k;
        o->act_type = FSK_TYPE_Q8_K;
        return 1;
    case FSK_TYPE_Q5_K:
        o->matvec = k->matvec_q5_k; o->dequantize = k->dequantize_q5_k; o->quantize = k->quantize_q8_k;
        o->act_type = FSK_TYPE_Q8_K;
        return 1;
    case FSK_TYPE_Q6_K:
        o->matvec = k->matvec_q6_k; o->dequantize = k->dequantize_q6_k; o->quantize = k->quantize_q8_k;
        o->act_type = FSK_TYPE_Q8_K;
        return 1;
    default:
        return 0;
    }
}

size_t fsk_act_bytes(uint32_t act_type, size_t n)
{
    if (act_type == FSK_TYPE_F32)
        return n * sizeof(float);
    return fsk_type_row_bytes(act_type, n);
}

void fsk_weight_row(const struct fsk_kernels *k, const void *data, uint32_t type, size_t row_bytes,
                    size_t r, size_t ncols, float *y)
{
    const uint32_t plain = fsk_type_plain(type);
    struct fsk_wops o;
    fsk_wops_for(k, plain, &o); /* types were checked when the context was made */
    if (plain == type) {
        o.dequantize(y, (const char *)data + r * row_bytes, ncols);
        return;
    }
    const size_t bb = fsk_type_traits(plain)->block_bytes, qk = fsk_type_traits(plain)->block;
    const unsigned char *g = (const unsigned char *)data + r / FSK_R8 * FSK_R8 * row_bytes;
    for (size_t i = 0; i < ncols / qk; i++) {
        _Alignas(8) unsigned char blk[sizeof(fsk_block_q6_K)]; /* the largest plain block of a record */
        fsk_r8_block(blk, g + i * FSK_R8 * bb, type, r % FSK_R8);
        o.dequantize(y + i * qk, blk, qk);
    }
}

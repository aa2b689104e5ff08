/* ops.h: which kernels serve a weight type: its matvec, its activation quantizer, its row dequantizer. */
#ifndef FSK_OPS_H
#define FSK_OPS_H

#include "kernels.h"
#include "quant.h"

struct fsk_wops {
    fsk_matvec_f32_fn matvec;
    void (*quantize)(void *y, const float *x, size_t n); /* NULL: the matvec takes floats */
    void (*dequantize)(float *y, const void *x, size_t n);
    uint32_t act_type; /* enum fsk_type of the activation */
    /* Prefill's batched matmul, or NULL: the type has none, or the table's matmul comes from
     * another ISA than its matvec and so would not equal it bit for bit; the caller then runs
     * one matvec per token. */
    fsk_matmul_f32_fn matmul;
};

/* The kernels for weights of `type` from table k; 0 when the type has none. */
int fsk_wops_for(const struct fsk_kernels *k, uint32_t type, struct fsk_wops *o);
/* Row r of a weight matrix (data, type, row_bytes as in struct fsk_weight) as ncols floats, the
 * file's values exactly: the embedding's lookup. Repacked layouts give back their row block by
 * block through the plain type's dequantizer. */
void fsk_weight_row(const struct fsk_kernels *k, const void *data, uint32_t type, size_t row_bytes,
                    size_t r, size_t ncols, float *y);
/* Bytes of an activation of n values in the form `act_type` (n a multiple of its block). */
size_t fsk_act_bytes(uint32_t act_type, size_t n);

#endif

/* quant.c: size traits of the GGML tensor types. */
#include "config.h"

#include "quant.h"

static const struct fsk_type_traits traits[FSK_TYPE_COUNT] = {
    [FSK_TYPE_F32] = {"F32", 1, 4, FSK_TYPE_F32, 1},
    [FSK_TYPE_F16] = {"F16", 1, 2, FSK_TYPE_F32, 1},
    [FSK_TYPE_BF16] = {"BF16", 1, 2, FSK_TYPE_F32, 1},
    [FSK_TYPE_Q4_0] = {"Q4_0", FSK_QK, sizeof(fsk_block_q4_0), FSK_TYPE_Q8_0, 1},
    [FSK_TYPE_Q4_1] = {"Q4_1", FSK_QK, sizeof(fsk_block_q4_1), FSK_TYPE_Q8_1, 1},
    [FSK_TYPE_Q5_0] = {"Q5_0", FSK_QK, sizeof(fsk_block_q5_0), FSK_TYPE_Q8_0, 1},
    [FSK_TYPE_Q5_1] = {"Q5_1", FSK_QK, sizeof(fsk_block_q5_1), FSK_TYPE_Q8_1, 1},
    [FSK_TYPE_Q8_0] = {"Q8_0", FSK_QK, sizeof(fsk_block_q8_0), FSK_TYPE_Q8_0, 1},
    [FSK_TYPE_Q8_1] = {"Q8_1", FSK_QK, sizeof(fsk_block_q8_1), FSK_TYPE_Q8_1, 0},
    [FSK_TYPE_Q4_K] = {"Q4_K", FSK_QK_K, sizeof(fsk_block_q4_K), FSK_TYPE_Q8_K, 1},
    [FSK_TYPE_Q5_K] = {"Q5_K", FSK_QK_K, sizeof(fsk_block_q5_K), FSK_TYPE_Q8_K, 1},
    [FSK_TYPE_Q6_K] = {"Q6_K", FSK_QK_K, sizeof(fsk_block_q6_K), FSK_TYPE_Q8_K, 1},
    [FSK_TYPE_Q8_K] = {"Q8_K", FSK_QK_K, sizeof(fsk_block_q8_K), FSK_TYPE_Q8_K, 0},
};

const struct fsk_type_traits *fsk_type_traits(uint32_t t)
{
    if (t >= FSK_TYPE_COUNT || !traits[t].name)
        return NULL;
    return &traits[t];
}

size_t fsk_type_row_bytes(uint32_t t, uint64_t ncols)
{
    const struct fsk_type_traits *tr = fsk_type_traits(t);
    if (!tr || ncols % tr->block != 0)
        return 0;
    uint64_t blocks = ncols / tr->block;
    if (blocks > SIZE_MAX / tr->block_bytes)
        return 0;
    return (size_t)(blocks * tr->block_bytes);
}

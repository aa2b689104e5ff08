/* tiny_llama.h: a small, loadable llama GGUF written in memory, for hostile-input tests and fuzzers. */
#ifndef FSK_TEST_TINY_LLAMA_H
#define FSK_TEST_TINY_LLAMA_H

#include <stddef.h>
#include <stdint.h>

struct tiny_llama {
    uint32_t n_layer, n_embd, n_ff, n_head, n_head_kv, n_ctx;
    uint32_t type;     /* matrices: F32, F16, or Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, BF16 (columns then a
                          multiple of 32); norms are always F32 */
    int tied;          /* no output.weight: the head reuses the embedding */
    int nan_weight;    /* blk.0.ffn_up.weight[0] is a NaN (for --check-weights) */
    int add_bos;       /* tokenizer.ggml.add_bos_token: prompts start with <|endoftext|> */
    uint64_t seed;
};

/* 2 layers of 32, FF 64, 4 heads sharing 2 KV heads, context 64, F32, untied, no BOS, seed 1. */
void tiny_llama_defaults(struct tiny_llama *o);
/* The GGUF file (malloc'd; free it): random weights and a byte-level BPE vocabulary of the 256
 * GPT-2 byte tokens, a few merges and the ChatML control tokens, so every byte string encodes. */
uint8_t *tiny_llama_gguf(const struct tiny_llama *o, size_t *size);

#endif

/* llama.h: the llama architecture as plain structs: hyper-parameters and weight views into the mapped GGUF. */
#ifndef FSK_LLAMA_H
#define FSK_LLAMA_H

#include <stdint.h>

#include "ffnskip.h"
#include "gguf.h"

struct fsk_tokenizer;
struct fsk_numa_plan;

/* A weight matrix of `rows` output features by `cols` input features, row-major in the file. */
struct fsk_weight {
    const void *data;
    uint32_t type;     /* enum fsk_type */
    uint64_t rows, cols;
    size_t row_bytes;
};

struct fsk_layer {
    const float *attn_norm; /* [n_embd] */
    struct fsk_weight wq;   /* [n_head*head_dim x n_embd] */
    struct fsk_weight wk;   /* [n_head_kv*head_dim x n_embd] */
    struct fsk_weight wv;   /* [n_head_kv*head_dim x n_embd] */
    struct fsk_weight wo;   /* [n_embd x n_head*head_dim] */
    const float *ffn_norm;  /* [n_embd] */
    struct fsk_weight gate; /* [n_ff x n_embd] */
    struct fsk_weight up;   /* [n_ff x n_embd] */
    struct fsk_weight down; /* [n_embd x n_ff] */
};

struct fsk_hparams {
    uint32_t n_vocab, n_ctx_train, n_embd, n_ff, n_layer, n_head, n_head_kv, head_dim;
    float rope_base, rms_eps;
};

enum fsk_chat_style { FSK_CHAT_CHATML, FSK_CHAT_LLAMA3, FSK_CHAT_LLAMA2 };

struct fsk_model {
    fsk_gguf *gguf;
    struct fsk_hparams hp;
    struct fsk_weight tok_embd; /* [n_vocab x n_embd] */
    const float *output_norm;   /* [n_embd] */
    struct fsk_weight output;   /* [n_vocab x n_embd]; the embedding when tied */
    int tied_output;
    struct fsk_layer *layers;
    struct fsk_tokenizer *tok;
    enum fsk_chat_style chat;
    char name[128];
    struct fsk_numa_plan *numa; /* the placement plan; NULL when loaded with NUMA off */
    void *numa_arena;           /* the weights copied to their nodes, or NULL */
    size_t numa_arena_bytes;
    void *repack_arena;         /* the matrices repacked or moved at load (repack.c), or NULL */
    size_t repack_arena_bytes;
    int huge_arena;             /* 1 when that arena holds every matrix, advised for huge pages */
};

/* repack.c: 1 when loading rewrites matrices of GGUF type `type` (Q4_1, Q8_0, Q4_0, Q5_0,
 * Q5_1) into their r8 layout for this process's kernel table (and FSK_REPACK is not 0); the rewrite itself,
 * after the
 * weights found their place, which also moves every matrix out of the file mapping into huge
 * pages where the kernel offers them (fsk_huge_pages_enabled); the arena's release. */
int fsk_repack_enabled(uint32_t type);
fsk_status fsk_model_repack(fsk_model *m);
int fsk_model_moves_weights(const fsk_model *m); /* 1 when fsk_model_repack will move them all */
void fsk_model_repack_release(fsk_model *m);

/* fsk_model_load over a caller's GGUF bytes (not copied: they must outlive the model); internal,
 * for the fuzzers and tests. name is used in messages. */
fsk_status fsk_model_load_memory(fsk_model **out, const void *data, size_t size, const char *name,
                                 const fsk_model_params *params, fsk_error *err);

#endif

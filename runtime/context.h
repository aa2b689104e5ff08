/* context.h: a decoding context: the model it reads, its KV cache, thread pool and buffers. */
#ifndef FSK_CONTEXT_H
#define FSK_CONTEXT_H

#include <stdint.h>

#include "kernels.h"
#include "kv.h"
#include "llama.h"
#include "pool.h"
#include "skip.h"

/* Scratch private to one thread: inputs it normalises and quantizes for itself, so that no
 * barrier is needed between an element-wise op and the matvec that reads it. */
struct fsk_scratch {
    float *xb;     /* [n_embd] normalised hidden state */
    void *act;     /* activation in the form of the next matvec's weights */
    float *att;    /* [FSK_ATT_TILE x n_ctx] attention scores: FSK_ATT_HEADS heads when decoding,
                    * a prefill tile's queries */
    float *qtile;  /* [FSK_ATT_TILE x head_dim] a prefill tile's queries, side by side */
    float *kloc;   /* [head_dim] this position's key, after rope */
    float *vloc;   /* [head_dim] this position's value */
    double cos_parts[3]; /* this thread's share of dot(h, h+f), |h|^2, |h+f|^2 */
    char pad[64];
};

/* Tokens per chunk of batched prefill (runtime/prefill.c): each chunk reads every weight once,
 * and its activations are kept whole in struct fsk_prefill. The chunk is the largest of MAX,
 * MIN (halving) whose scratch stays within 4% of the model file: a bigger chunk means fewer
 * passes over the weights per prompt (Intel Xeon with AMX, 662-token prompt, 1 thread: Q4_1
 * 917-957 tok/s at 32, 988-1048 at 64, 1043-1085 at 128; F16 342-349 at 64, 364-376 at 128),
 * while on small files the scratch eats into the peak-RSS budget of file + KV cache + 10%
 * (about 35 KiB a token on SmolLM2-135M: Q4_1 at 64 tokens stays 1.7 MiB inside it at a
 * 512-token context, at 128 it would not). FSK_PREFILL_CHUNK=N (1..MAX) in the environment
 * overrides the choice. */
#define FSK_PREFILL_CHUNK_MIN 32
#define FSK_PREFILL_CHUNK_MAX 256

struct fsk_prefill;

struct fsk_context {
    fsk_model *model;
    const struct fsk_kernels *k;
    fsk_pool *pool;
    uint32_t n_ctx, pos;
    struct fsk_kv kv;
    /* shared activations */
    float *x;      /* [n_embd] residual stream */
    float *qkv;    /* [q_dim + 2 kv_dim] */
    float *ao;     /* [q_dim] attention output, heads concatenated */
    float *hb;     /* [n_ff] silu(gate) * up */
    void *hact;    /* [act_bytes] hb in Wdown's activation form, each thread's blocks its own */
    float *up;     /* [n_ff] */
    float *yout;   /* [n_embd] output rows of Wo and Wdown before the residual add */
    float *logits; /* [n_vocab] */
    struct fsk_scratch *scratch; /* one per thread */
    size_t act_bytes;
    struct fsk_skip_cfg skip;
    /* statistics over counted (generated) tokens: FFN blocks skipped per layer */
    uint64_t stat_tokens;
    uint64_t *ffn_skipped;  /* [n_layer] */
    float *trace_sim;       /* [n_layer] the last token's similarities (NaN: skipped) */
    uint8_t *trace_ran;     /* [n_layer] */
    struct fsk_prefill *prefill; /* batched prefill's scratch */
    int prefill_tokenwise;       /* FSK_PREFILL=token: prompts run token by token */
    size_t prefill_chunk;        /* tokens per prefill chunk (see FSK_PREFILL_CHUNK_MIN) */
};

/* How a token is run: densely or under the policy, counted in the statistics or not. */
enum fsk_fwd_mode {
    FSK_FWD_POLICY = 0,
    FSK_FWD_DENSE = 1,    /* FSK_DECODE_DENSE */
    FSK_FWD_NO_STATS = 2  /* FSK_DECODE_NO_STATS */
};

/* Checks ids against the vocabulary and the room left before anything runs. */
fsk_status fsk_context_check_tokens(const struct fsk_context *c, const int32_t *ids, size_t n, fsk_error *err);

/* One token at position ctx->pos through every layer; logits when want_logits. mode is a set of
 * enum fsk_fwd_mode flags. */
void fsk_forward_token(struct fsk_context *ctx, int32_t token, int want_logits, unsigned mode);
/* Query heads of one kv group attending at position pos, in kv group g of layer l: nq queries
 * (roped and F16-rounded, hd floats apart from q) against the cache's positions < pos and this
 * position's key and value kloc and vloc (roped and F16-rounded, as the cache holds them); each
 * head's output hd floats apart from out. The cache's keys and values are read once for up to
 * FSK_ATT_HEADS heads (the scores by tdot_f16, the values' sum by wsum_f16, each computing every
 * output by itself, bit for bit ref's: batched or not, each head gets the same arithmetic).
 * forward.c and the batched prefill both call it. */
#define FSK_ATT_HEADS 4
void fsk_attend_heads(const struct fsk_context *ctx, uint32_t l, uint32_t g, uint32_t pos, const float *q,
                      uint32_t nq, const float *kloc, const float *vloc, float *out, struct fsk_scratch *s);
/* fsk_attend_heads after the scores: att holds each head's scores against the cache's positions
 * < pos (rows n_ctx apart); adds this position's, then softmax and the sum of values. */
void fsk_attend_finish(const struct fsk_context *ctx, uint32_t l, uint32_t g, uint32_t pos, const float *q,
                       uint32_t nq, const float *kloc, const float *vloc, float *out, float *att);
/* Query rows of a prefill tile: consecutive prompt tokens of one kv group score the cache's keys
 * they all see in one tdot_f16, so each tile of keys is widened from F16 once for all of them. */
#define FSK_ATT_TILE 16
_Static_assert(FSK_ATT_TILE >= FSK_ATT_HEADS, "scratch att holds FSK_ATT_TILE rows, decoding uses FSK_ATT_HEADS");

/* Prefill scratch for ctx's model and threads (prefill.c); freed by fsk_prefill_free. */
fsk_status fsk_prefill_new(struct fsk_context *ctx, fsk_error *err);
void fsk_prefill_free(struct fsk_context *ctx);
/* n prompt tokens from ctx->pos, in chunks of ctx->prefill_chunk, each chunk one parallel region
 * with the matmul kernels; dense only. Logits of the last token when want_logits. Every value
 * (logits, KV cache, hidden state, trace) equals what fsk_forward_token gives token by token. */
void fsk_forward_batch(struct fsk_context *ctx, const int32_t *ids, size_t n, int want_logits,
                       unsigned mode);
/* Runs a prompt: batched when mode is dense (or the policy is) and FSK_PREFILL is not "token",
 * else one fsk_forward_token per token. */
void fsk_forward_prompt(struct fsk_context *ctx, const int32_t *ids, size_t n, int want_logits,
                        unsigned mode);

#endif

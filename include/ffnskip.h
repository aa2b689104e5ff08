/* ffnskip.h: the public C API of libffnskip (every name starts with fsk_). */
#ifndef FFNSKIP_H
#define FFNSKIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FSK_BUILDING_LIBRARY) && defined(__GNUC__)
#define FSK_API __attribute__((visibility("default")))
#else
#define FSK_API
#endif

/* Every call that can fail returns one of these. */
typedef enum fsk_status {
    FSK_OK = 0,
    FSK_ERR_INVALID_ARG,  /* a NULL, out-of-range or inconsistent argument */
    FSK_ERR_IO,           /* the OS refused: open, read, write, mmap */
    FSK_ERR_FORMAT,       /* a file is malformed, truncated or hostile */
    FSK_ERR_UNSUPPORTED,  /* well-formed but not something we can run */
    FSK_ERR_NOMEM,        /* an allocation failed */
    FSK_ERR_CONTEXT_FULL, /* the tokens do not fit in the context window */
    FSK_ERR_INTERNAL      /* a bug: please report it */
} fsk_status;

/* Where a call can explain a failure it fills one of these (the pointer may be NULL). */
typedef struct fsk_error {
    fsk_status status;
    char message[512];
} fsk_error;

/* A short fixed English name for a status ("invalid argument"). Never NULL. */
FSK_API const char *fsk_status_string(fsk_status status);

/* The library version, "MAJOR.MINOR.PATCH". */
FSK_API const char *fsk_version(void);

/* Chooses the kernel table for this process (honouring FSK_ISA). Every other call does this
 * itself; calling it first turns a bad FSK_ISA into a clear error up front. */
FSK_API fsk_status fsk_init(fsk_error *err);

/* Writes a human-readable description of the CPU features found and the kernel variant chosen for
 * each op into buf (always NUL-terminated when len > 0). Returns the length the full text needs,
 * excluding the NUL, like snprintf. */
FSK_API size_t fsk_cpu_describe(char *buf, size_t len);

/* Runs every op of the chosen kernel table against the scalar reference on random inputs.
 * Returns FSK_OK when all agree within their tolerances; otherwise err says which op failed. */
FSK_API fsk_status fsk_selftest(fsk_error *err);


/* ------------------------------------------------------------------ models */

typedef struct fsk_model fsk_model;

/* Where threads run and weights live on a machine of several NUMA nodes (see README, NUMA). */
typedef enum fsk_numa_mode {
    FSK_NUMA_AUTO = 0,   /* model: distribute on a machine of several nodes, else off;
                            context: as its model was placed */
    FSK_NUMA_OFF,        /* threads on cores in order, weights read from the file mapping */
    FSK_NUMA_DISTRIBUTE, /* every node: threads in proportion to its cores, each node's rows of
                            every matrix copied into its own memory */
    FSK_NUMA_ISOLATE,    /* one node only: its cores, its memory */
    FSK_NUMA_MODE_COUNT
} fsk_numa_mode;

/* "auto", "off", "distribute", "isolate". */
FSK_API const char *fsk_numa_mode_name(fsk_numa_mode mode);
FSK_API fsk_status fsk_numa_mode_parse(const char *name, fsk_numa_mode *out);

typedef struct fsk_model_params {
    int check_finite; /* scan every weight for NaN/Inf at load and refuse such a file (slow) */
    fsk_numa_mode numa; /* where weights are placed (default AUTO) */
    int n_threads;      /* threads the placement is planned for; 0: one per core in use. Give
                           contexts the same count, or their rows straddle nodes (still correct) */
} fsk_model_params;

typedef struct fsk_model_info {
    const char *arch;      /* "llama" */
    const char *name;      /* general.name, or "" */
    uint32_t n_vocab, n_ctx_train, n_embd, n_ff, n_layer, n_head, n_head_kv, head_dim;
    float rope_base, rms_eps;
    int tied_output;       /* the output head reuses the token embedding */
    uint64_t weight_bytes; /* bytes of weights read per token (embedding row excluded) */
    uint64_t ffn_bytes;    /* of which FFN weights (gate, up, down) */
} fsk_model_info;

FSK_API void fsk_model_default_params(fsk_model_params *params);
/* Maps a GGUF file and checks it is a model we can run. params may be NULL. On failure *out is
 * NULL, and every call taking a model fails cleanly on NULL (FSK_ERR_INVALID_ARG, 0 or ""). The
 * *_free calls do nothing on NULL; freeing the same handle twice is undefined. */
FSK_API fsk_status fsk_model_load(fsk_model **out, const char *path, const fsk_model_params *params,
                                  fsk_error *err);
FSK_API void fsk_model_free(fsk_model *model);
FSK_API fsk_status fsk_model_get_info(const fsk_model *model, fsk_model_info *info);
/* Metadata, tensor count and bytes per type, architecture parameters and the kernels that will
 * run, as text; returns the length needed like snprintf. */
FSK_API size_t fsk_model_describe(const fsk_model *model, char *buf, size_t len);

/* The machine's NUMA topology and the plan of model (its mode and thread count) or, when model
 * is NULL, of mode and n_threads: threads per node and, with a model, the rows of sample
 * matrices per node. Text; returns the length needed like snprintf (0 when the topology cannot
 * be read). */
FSK_API size_t fsk_numa_describe(const fsk_model *model, fsk_numa_mode mode, int n_threads, char *buf,
                                 size_t len);

/* ------------------------------------------------------------------ tokens */

/* Encodes text (len bytes, need not be NUL-terminated). add_bos prepends the BOS token when the
 * model asks for one; parse_special matches control tokens such as <|im_start|> literally.
 * When cap is too small, fails with FSK_ERR_INVALID_ARG and *n_out is the count needed. */
FSK_API fsk_status fsk_tokenize(const fsk_model *model, const char *text, size_t len, int add_bos,
                                int parse_special, int32_t *ids, size_t cap, size_t *n_out,
                                fsk_error *err);
/* The bytes of ids, concatenated (not NUL-terminated; may end inside a UTF-8 sequence when the
 * ids do). Same cap convention as fsk_tokenize. */
FSK_API fsk_status fsk_detokenize(const fsk_model *model, const int32_t *ids, size_t n, char *buf,
                                  size_t cap, size_t *n_out, fsk_error *err);
/* 1 when id ends a generation (EOS, end-of-turn). */
FSK_API int fsk_token_is_eog(const fsk_model *model, int32_t id);
FSK_API uint32_t fsk_model_n_vocab(const fsk_model *model);

/* ------------------------------------------------------------------ contexts */

typedef struct fsk_context fsk_context;

typedef struct fsk_context_params {
    uint32_t n_ctx;   /* tokens of KV cache; 0: the model's training context, at most 4096 */
    int n_threads;    /* 0: one per physical core */
    int bind_threads; /* pin threads to cores */
    fsk_numa_mode numa; /* AUTO (default): the model's mode and node */
} fsk_context_params;

FSK_API void fsk_context_default_params(fsk_context_params *params);
/* A context owns its KV cache and thread pool; several may share one model, each used from its
 * own thread. params may be NULL. The context keeps a pointer to the model, which must outlive it:
 * free every context before its model. On failure *out is NULL. */
FSK_API fsk_status fsk_context_new(fsk_context **out, fsk_model *model,
                                   const fsk_context_params *params, fsk_error *err);
FSK_API void fsk_context_free(fsk_context *ctx);
/* NULL, or what the machine could not honour of the context's thread binding or its model's
 * NUMA placement (the run goes on without it), said once. */
FSK_API const char *fsk_context_note(const fsk_context *ctx);
FSK_API uint32_t fsk_context_n_ctx(const fsk_context *ctx);
/* Tokens currently in the KV cache. */
FSK_API uint32_t fsk_context_pos(const fsk_context *ctx);
/* Forgets every cached token at position >= pos (pos <= current position). */
FSK_API fsk_status fsk_context_rewind(fsk_context *ctx, uint32_t pos, fsk_error *err);
/* Runs n tokens through the model, appending them to the KV cache, with the context's skip policy
 * active (see fsk_context_set_skip). When logits is not NULL it receives the n_vocab logits after
 * the last token. FSK_ERR_CONTEXT_FULL (nothing is run) when
 * the tokens do not fit. */
FSK_API fsk_status fsk_decode(fsk_context *ctx, const int32_t *ids, size_t n, float *logits,
                              fsk_error *err);

/* ------------------------------------------------------------------ sampling */

typedef struct fsk_sampler fsk_sampler;

typedef struct fsk_sampler_params {
    float temperature;    /* <= 0: greedy */
    int top_k;            /* <= 0: off */
    float top_p;          /* >= 1: off */
    float min_p;          /* <= 0: off */
    float repeat_penalty; /* 1: off */
    int repeat_last_n;    /* tokens of history the penalty looks at */
    uint64_t seed;
} fsk_sampler_params;

FSK_API void fsk_sampler_default_params(fsk_sampler_params *params);
FSK_API fsk_status fsk_sampler_new(fsk_sampler **out, const fsk_sampler_params *params,
                                   uint32_t n_vocab, fsk_error *err);
FSK_API void fsk_sampler_free(fsk_sampler *sampler);
/* Picks the next token from logits (n_vocab values, not modified) given the recent history. */
FSK_API int32_t fsk_sampler_sample(fsk_sampler *sampler, const float *logits,
                                   const int32_t *history, size_t n_history);

/* ------------------------------------------------------------------ generation */

/* Called for each generated token with its text piece (complete UTF-8 only; a piece may be empty
 * while a multi-byte character is pending; a last call with id -1 passes bytes still held when
 * generation ends inside a character). Return nonzero to stop. */
typedef int (*fsk_token_cb)(void *user, int32_t id, const char *piece, size_t len);

typedef struct fsk_gen_stats {
    uint32_t n_prompt, n_generated;
    double prompt_ms, decode_ms;
    int stopped_by_eog;  /* an end-of-generation token came */
    int context_full;    /* generation stopped because the context filled up */
    uint64_t barriers;   /* thread-team barriers passed while decoding the generated tokens */
} fsk_gen_stats;

/* Decodes the prompt densely, runs the first `warmup` generated tokens densely, then applies the
 * context's skip policy. Samples up to n_predict tokens, stopping early at an end-of-generation
 * token (not passed to cb, not cached), when cb returns nonzero, or when the context is full.
 * Every token passed to cb is in the KV cache afterwards, so a conversation can continue.
 * FSK_ERR_CONTEXT_FULL (nothing run) when the prompt itself does not fit. stats may be NULL. */
FSK_API fsk_status fsk_generate(fsk_context *ctx, fsk_sampler *sampler, const int32_t *prompt,
                                size_t n_prompt, uint32_t n_predict, fsk_token_cb cb, void *user,
                                fsk_gen_stats *stats, fsk_error *err);

/* fsk_generate with flags: */
enum {
    /* end-of-generation tokens are never sampled (their logits are set to -inf before sampling,
     * as llama.cpp's --ignore-eos does): all n_predict tokens are generated, for benchmarks */
    FSK_GEN_IGNORE_EOG = 1u << 0
};
FSK_API fsk_status fsk_generate_ex(fsk_context *ctx, fsk_sampler *sampler, const int32_t *prompt,
                                   size_t n_prompt, uint32_t n_predict, unsigned flags, fsk_token_cb cb,
                                   void *user, fsk_gen_stats *stats, fsk_error *err);

/* ------------------------------------------------------------------ chat */

typedef struct fsk_chat_msg {
    const char *role; /* "system", "user" or "assistant" */
    const char *content;
} fsk_chat_msg;

/* Renders messages with the model's chat template family (ChatML, Llama-3 or Llama-2, chosen
 * from the GGUF's tokenizer.chat_template), ending with the assistant's opening when
 * add_assistant. NUL-terminated; same cap convention as fsk_tokenize (cap counts the NUL). */
FSK_API fsk_status fsk_chat_format(const fsk_model *model, const fsk_chat_msg *msgs, size_t n,
                                   int add_assistant, char *buf, size_t cap, size_t *n_out,
                                   fsk_error *err);

/* ------------------------------------------------------------------ FFN skipping */

typedef enum fsk_skip_policy {
    FSK_SKIP_DENSE = 0,    /* every block runs */
    FSK_SKIP_FFN,          /* FFN-SkipLLM: adaptive, per token and layer, on cos(h, h + FFN) */
    FSK_SKIP_FFN_STATIC,   /* a fixed set of layers' FFNs always skipped (ablation) */
    FSK_SKIP_FFN_RANDOM,   /* FFNs skipped at random at the target ratio (ablation) */
    FSK_SKIP_LAYER_DROP,   /* a fixed set of whole layers skipped (baseline) */
    FSK_SKIP_EARLY_EXIT,   /* leave the stack when the intermediate prediction is confident;
                              later layers' KV filled from the exit state (baseline) */
    FSK_SKIP_POLICY_COUNT
} fsk_skip_policy;

#define FSK_MAX_LAYERS 256

typedef struct fsk_skip_params {
    fsk_skip_policy policy;
    float threshold;     /* ffn-skip: tau, skip after an FFN whose similarity reaches it;
                            early-exit: the top probability that ends the stack */
    uint32_t warmup;     /* generated tokens that run dense before the policy starts */
    uint32_t cold_first; /* leading layers never skipped */
    uint32_t cold_last;  /* trailing layers never skipped */
    uint32_t span;       /* ffn-skip: layers skipped per trigger, then one computed and tested
                            again; 0 skips to the end of the skippable region.
                            early-exit: test every span layers (0 or 1: every layer) */
    float target;        /* ffn-random: expected FFN skip ratio; ffn-static and layer-drop:
                            the ratio their layer set is chosen for when layers[] is empty */
    uint64_t seed;       /* ffn-random */
    uint8_t layers[FSK_MAX_LAYERS]; /* ffn-static, layer-drop: 1 marks a skipped layer */
    uint32_t n_profile;  /* layers in profile[] (0: none) */
    float profile[FSK_MAX_LAYERS];  /* mean similarity per layer from calibration */
} fsk_skip_params;

typedef struct fsk_skip_stats {
    uint64_t tokens;       /* generated tokens counted (warm-up included) */
    uint64_t ffn_total;    /* FFN blocks those tokens had */
    uint64_t ffn_skipped;  /* of which skipped */
    double ratio;          /* ffn_skipped / ffn_total */
    uint32_t n_layer;
    const uint64_t *layer_skipped; /* [n_layer], valid until the context changes */
} fsk_skip_stats;

FSK_API void fsk_skip_default_params(fsk_skip_params *params);
/* "dense", "ffn-skip", "ffn-static", "ffn-random", "layer-drop", "early-exit". */
FSK_API const char *fsk_skip_policy_name(fsk_skip_policy policy);
FSK_API fsk_status fsk_skip_policy_parse(const char *name, fsk_skip_policy *out);
/* Sets the policy of later decodes; checked against the model (cold regions, layer sets). */
FSK_API fsk_status fsk_context_set_skip(fsk_context *ctx, const fsk_skip_params *params, fsk_error *err);
FSK_API fsk_status fsk_context_get_skip(const fsk_context *ctx, fsk_skip_params *params);
FSK_API fsk_status fsk_context_skip_stats(const fsk_context *ctx, fsk_skip_stats *stats);
FSK_API void fsk_context_reset_stats(fsk_context *ctx);
/* The similarity cos(h, h + FFN) each layer saw for the last token decoded (NaN where the FFN
 * was skipped) and whether it ran. Either array may be NULL; each holds n_layer entries. */
FSK_API fsk_status fsk_context_last_trace(const fsk_context *ctx, float *similarity, uint8_t *ran,
                                          uint32_t n_layer);

/* Reads a skip profile written by `ffnskip calibrate` (a small documented text file) into params,
 * overriding only what the file sets. */
FSK_API fsk_status fsk_skip_profile_load(const char *path, fsk_skip_params *params, fsk_error *err);
/* Writes params as a profile; the file appears whole or not at all (temporary file, rename). */
FSK_API fsk_status fsk_skip_profile_save(const char *path, const fsk_skip_params *params,
                                         const char *comment, fsk_error *err);

/* Flags of fsk_decode_ex. */
#define FSK_DECODE_DENSE 1u    /* run every block whatever the policy (prompt, warm-up) */
#define FSK_DECODE_NO_STATS 2u /* do not count these tokens in the skip statistics */

/* fsk_decode with flags; fsk_decode applies the context's skip policy to every token. */
FSK_API fsk_status fsk_decode_ex(fsk_context *ctx, const int32_t *ids, size_t n, float *logits,
                                 unsigned flags, fsk_error *err);

#ifdef __cplusplus
}
#endif

#endif

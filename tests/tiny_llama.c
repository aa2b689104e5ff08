/* tiny_llama.c: writes a small random llama GGUF with a byte-level vocabulary (see tiny_llama.h). */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "f16.h"
#include "gguf_writer.h"
#include "quant.h"
#include "tiny_llama.h"

#define SP "\xc4\xa0" /* GPT-2's printable stand-in for the space byte */
static const char *const merges[] = {SP " t", "h e", SP "t he", "i n", "e r", "a n", SP " a", "o n"};
static const char *const specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
enum { N_MERGES = sizeof merges / sizeof *merges, N_SPECIAL = sizeof specials / sizeof *specials,
       N_VOCAB = 256 + N_MERGES + N_SPECIAL };

void tiny_llama_defaults(struct tiny_llama *o)
{
    memset(o, 0, sizeof *o);
    o->n_layer = 2;
    o->n_embd = 32;
    o->n_ff = 64;
    o->n_head = 4;
    o->n_head_kv = 2;
    o->n_ctx = 64;
    o->type = FSK_TYPE_F32;
    o->seed = 1;
}

static double urand(uint64_t *s) /* splitmix64, uniform in [-1, 1) */
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static void add_matrix(gw *w, const struct tiny_llama *o, uint64_t *rng, const char *name, uint64_t rows,
                       uint64_t cols, double scale, int nan_first)
{
    const uint64_t ne[2] = {cols, rows};
    size_t n = (size_t)(rows * cols), es = o->type == FSK_TYPE_F16 ? 2 : 4;
    const fsk_quantize_row_fn quant = fsk_row_quantizer(o->type);
    size_t row_bytes = quant ? fsk_type_row_bytes(o->type, cols) : (size_t)cols * es;
    unsigned char *buf = malloc(n * es);
    float *row = malloc((size_t)cols * sizeof *row);
    if (!buf || !row || !row_bytes)
        abort();
    for (size_t i = 0; i < n; i++) {
        float f = i == 0 && nan_first ? NAN : (float)(urand(rng) * scale);
        if (quant) {
            row[i % cols] = f;
            if ((i + 1) % cols == 0)
                quant(buf + (i / cols) * row_bytes, row, (size_t)cols);
        } else if (es == 2) {
            uint16_t h = fsk_f32_to_f16(f);
            memcpy(buf + 2 * i, &h, 2);
        } else {
            memcpy(buf + 4 * i, &f, 4);
        }
    }
    gw_tensor(w, name, o->type, 2, ne, buf, (size_t)rows * row_bytes);
    free(row);
    free(buf);
}

static void add_norm(gw *w, uint64_t *rng, const char *name, uint32_t n)
{
    float *v = malloc(n * sizeof *v);
    if (!v)
        abort();
    for (uint32_t i = 0; i < n; i++)
        v[i] = (float)(1.0 + 0.1 * urand(rng));
    gw_tensor(w, name, FSK_TYPE_F32, 1, (const uint64_t[]){n}, v, n * sizeof *v);
    free(v);
}

static void add_vocab(gw *w, int add_bos)
{
    static char byte_tok[256][3], merged[N_MERGES][16];
    const char *toks[N_VOCAB];
    int32_t types[N_VOCAB];
    unsigned n = 0;
    for (unsigned b = 0; b < 256; b++) { /* GPT-2's byte -> code point table */
        int self = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
        unsigned c = self ? b : 256 + n++;
        memset(byte_tok[b], 0, 3);
        if (c < 0x80) {
            byte_tok[b][0] = (char)c;
        } else {
            byte_tok[b][0] = (char)(0xc0 | c >> 6);
            byte_tok[b][1] = (char)(0x80 | (c & 0x3f));
        }
        toks[b] = byte_tok[b];
        types[b] = 1;
    }
    for (unsigned i = 0; i < N_MERGES; i++) { /* "a b" makes the token "ab" */
        const char *sp = strchr(merges[i], ' ');
        snprintf(merged[i], sizeof merged[i], "%.*s%s", (int)(sp - merges[i]), merges[i], sp + 1);
        toks[256 + i] = merged[i];
        types[256 + i] = 1;
    }
    for (unsigned i = 0; i < N_SPECIAL; i++) {
        toks[256 + N_MERGES + i] = specials[i];
        types[256 + N_MERGES + i] = 3;
    }
    gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
    gw_kv_str(w, "tokenizer.ggml.pre", "smollm");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", N_VOCAB, toks);
    gw_kv_arr(w, "tokenizer.ggml.token_type", FSK_GGUF_I32, N_VOCAB, types);
    gw_kv_arr_str(w, "tokenizer.ggml.merges", N_MERGES, merges);
    gw_kv_u32(w, "tokenizer.ggml.bos_token_id", 256 + N_MERGES);
    gw_kv_u32(w, "tokenizer.ggml.eos_token_id", 256 + N_MERGES + 2);
    gw_kv_bool(w, "tokenizer.ggml.add_bos_token", add_bos);
}

uint8_t *tiny_llama_gguf(const struct tiny_llama *o, size_t *size)
{
    uint64_t rng = o->seed;
    uint32_t hd = o->n_embd / o->n_head, kvd = o->n_head_kv * hd;
    gw *w = gw_new();
    gw_kv_str(w, "general.architecture", "llama");
    gw_kv_str(w, "general.name", "tiny-llama");
    gw_kv_u32(w, "llama.context_length", o->n_ctx);
    gw_kv_u32(w, "llama.embedding_length", o->n_embd);
    gw_kv_u32(w, "llama.feed_forward_length", o->n_ff);
    gw_kv_u32(w, "llama.block_count", o->n_layer);
    gw_kv_u32(w, "llama.attention.head_count", o->n_head);
    gw_kv_u32(w, "llama.attention.head_count_kv", o->n_head_kv);
    gw_kv_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gw_kv_f32(w, "llama.rope.freq_base", 10000.0f);
    add_vocab(w, o->add_bos);
    add_matrix(w, o, &rng, "token_embd.weight", N_VOCAB, o->n_embd, 1.0, 0);
    add_norm(w, &rng, "output_norm.weight", o->n_embd);
    if (!o->tied)
        add_matrix(w, o, &rng, "output.weight", N_VOCAB, o->n_embd, 0.3, 0);
    for (uint32_t l = 0; l < o->n_layer; l++) {
        char name[64];
#define NAME(s) (snprintf(name, sizeof name, "blk.%u." s, l), name)
        add_norm(w, &rng, NAME("attn_norm.weight"), o->n_embd);
        add_matrix(w, o, &rng, NAME("attn_q.weight"), o->n_embd, o->n_embd, 0.2, 0);
        add_matrix(w, o, &rng, NAME("attn_k.weight"), kvd, o->n_embd, 0.2, 0);
        add_matrix(w, o, &rng, NAME("attn_v.weight"), kvd, o->n_embd, 0.2, 0);
        add_matrix(w, o, &rng, NAME("attn_output.weight"), o->n_embd, o->n_embd, 0.1, 0);
        add_norm(w, &rng, NAME("ffn_norm.weight"), o->n_embd);
        add_matrix(w, o, &rng, NAME("ffn_gate.weight"), o->n_ff, o->n_embd, 0.2, 0);
        add_matrix(w, o, &rng, NAME("ffn_up.weight"), o->n_ff, o->n_embd, 0.2, l == 0 && o->nan_weight);
        add_matrix(w, o, &rng, NAME("ffn_down.weight"), o->n_embd, o->n_ff, 0.2, 0);
#undef NAME
    }
    uint8_t *bytes = gw_finish(w, size);
    gw_free(w);
    return bytes;
}

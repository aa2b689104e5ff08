/* llama.c: maps GGUF metadata and tensors onto the llama architecture, checking every shape. */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "f16.h"
#include "llama.h"
#include "numa.h"
#include "tokenizer.h"

__attribute__((format(printf, 3, 4))) static fsk_status fail(fsk_error *err, fsk_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = st;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* Finds tensor `name` and checks it is a rows x cols matrix (cols contiguous) of a weight type. */
static fsk_status get_weight(const fsk_gguf *g, const char *name, uint64_t rows, uint64_t cols,
                             struct fsk_weight *w, fsk_error *err)
{
    const struct fsk_gguf_tensor *t = fsk_gguf_find_tensor(g, name);
    if (!t)
        return fail(err, FSK_ERR_FORMAT, "%s: tensor %s is missing", fsk_gguf_name(g), name);
    if (t->ne[0] != cols || t->ne[1] != rows || t->ne[2] != 1 || t->ne[3] != 1)
        return fail(err, FSK_ERR_FORMAT,
                    "%s: tensor %s has shape [%llu, %llu, %llu, %llu], expected [%llu, %llu]",
                    fsk_gguf_name(g), name, (unsigned long long)t->ne[0], (unsigned long long)t->ne[1],
                    (unsigned long long)t->ne[2], (unsigned long long)t->ne[3],
                    (unsigned long long)cols, (unsigned long long)rows);
    const struct fsk_type_traits *tr = fsk_type_traits(t->type);
    if (!tr || !tr->weight)
        return fail(err, FSK_ERR_UNSUPPORTED, "%s: tensor %s has type %u, which cannot hold weights",
                    fsk_gguf_name(g), name, t->type);
    w->data = t->data;
    w->type = t->type;
    w->rows = rows;
    w->cols = cols;
    w->row_bytes = fsk_type_row_bytes(t->type, cols);
    return FSK_OK;
}

/* A norm weight: an F32 vector of n. */
static fsk_status get_norm(const fsk_gguf *g, const char *name, uint64_t n, const float **out,
                           fsk_error *err)
{
    const struct fsk_gguf_tensor *t = fsk_gguf_find_tensor(g, name);
    if (!t)
        return fail(err, FSK_ERR_FORMAT, "%s: tensor %s is missing", fsk_gguf_name(g), name);
    if (t->type != FSK_TYPE_F32 || t->ne[0] != n || t->n_dims != 1)
        return fail(err, FSK_ERR_UNSUPPORTED, "%s: tensor %s must be an F32 vector of %llu",
                    fsk_gguf_name(g), name, (unsigned long long)n);
    if (((uintptr_t)t->data & 3u) != 0)
        return fail(err, FSK_ERR_FORMAT, "%s: tensor %s is not 4-byte aligned", fsk_gguf_name(g), name);
    *out = t->data;
    return FSK_OK;
}

static fsk_status read_hparams(const fsk_gguf *g, struct fsk_hparams *hp, fsk_error *err)
{
    struct fsk_gguf_str arch;
    fsk_status st = fsk_gguf_get_str(g, "general.architecture", &arch, err);
    if (st != FSK_OK)
        return st;
    if (arch.len != 5 || memcmp(arch.ptr, "llama", 5) != 0)
        return fail(err, FSK_ERR_UNSUPPORTED, "%s: architecture '%.*s' is not supported (only llama)",
                    fsk_gguf_name(g), (int)(arch.len > 64 ? 64 : arch.len), arch.ptr);
    struct { const char *key; uint32_t *dst; uint32_t lo, hi; } ints[] = {
        {"llama.context_length", &hp->n_ctx_train, 1, 1u << 24},
        {"llama.embedding_length", &hp->n_embd, 1, 1u << 16},
        {"llama.feed_forward_length", &hp->n_ff, 1, 1u << 18},
        {"llama.block_count", &hp->n_layer, 1, 1024},
        {"llama.attention.head_count", &hp->n_head, 1, 1024},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        if ((st = fsk_gguf_get_u32(g, ints[i].key, ints[i].dst, err)) != FSK_OK)
            return st;
        if (*ints[i].dst < ints[i].lo || *ints[i].dst > ints[i].hi)
            return fail(err, FSK_ERR_FORMAT, "%s: %s = %u is out of range", fsk_gguf_name(g),
                        ints[i].key, *ints[i].dst);
    }
    hp->n_head_kv = hp->n_head;
    if (fsk_gguf_find(g, "llama.attention.head_count_kv") &&
        (st = fsk_gguf_get_u32(g, "llama.attention.head_count_kv", &hp->n_head_kv, err)) != FSK_OK)
        return st;
    if (hp->n_head_kv == 0 || hp->n_head % hp->n_head_kv != 0)
        return fail(err, FSK_ERR_FORMAT, "%s: %u attention heads cannot share %u KV heads",
                    fsk_gguf_name(g), hp->n_head, hp->n_head_kv);
    if (hp->n_embd % hp->n_head != 0 || (hp->n_embd / hp->n_head) % 2 != 0)
        return fail(err, FSK_ERR_FORMAT, "%s: embedding %u does not split into %u heads of even size",
                    fsk_gguf_name(g), hp->n_embd, hp->n_head);
    hp->head_dim = hp->n_embd / hp->n_head;
    uint32_t rope_dim = hp->head_dim;
    if (fsk_gguf_find(g, "llama.rope.dimension_count") &&
        (st = fsk_gguf_get_u32(g, "llama.rope.dimension_count", &rope_dim, err)) != FSK_OK)
        return st;
    if (rope_dim != hp->head_dim)
        return fail(err, FSK_ERR_UNSUPPORTED, "%s: partial rotary embedding (%u of %u) is not supported",
                    fsk_gguf_name(g), rope_dim, hp->head_dim);
    hp->rope_base = 10000.0f;
    if (fsk_gguf_find(g, "llama.rope.freq_base") &&
        (st = fsk_gguf_get_f32(g, "llama.rope.freq_base", &hp->rope_base, err)) != FSK_OK)
        return st;
    if ((st = fsk_gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &hp->rms_eps, err)) != FSK_OK)
        return st;
    if (!(hp->rope_base > 1.0f) || !isfinite(hp->rope_base) || !(hp->rms_eps >= 0.0f) ||
        !(hp->rms_eps < 1.0f))
        return fail(err, FSK_ERR_FORMAT, "%s: rope base %g or rms epsilon %g is out of range",
                    fsk_gguf_name(g), hp->rope_base, hp->rms_eps);
    if (fsk_gguf_find(g, "llama.rope.scaling.type")) {
        struct fsk_gguf_str sc;
        if (fsk_gguf_get_str(g, "llama.rope.scaling.type", &sc, NULL) == FSK_OK &&
            !(sc.len == 4 && memcmp(sc.ptr, "none", 4) == 0))
            return fail(err, FSK_ERR_UNSUPPORTED, "%s: rope scaling '%.*s' is not supported",
                        fsk_gguf_name(g), (int)(sc.len > 32 ? 32 : sc.len), sc.ptr);
    }
    return FSK_OK;
}

static fsk_status map_tensors(fsk_model *m, fsk_error *err)
{
    const fsk_gguf *g = m->gguf;
    struct fsk_hparams *hp = &m->hp;
    const struct fsk_gguf_tensor *emb = fsk_gguf_find_tensor(g, "token_embd.weight");
    if (!emb)
        return fail(err, FSK_ERR_FORMAT, "%s: tensor token_embd.weight is missing", fsk_gguf_name(g));
    hp->n_vocab = (uint32_t)emb->ne[1];
    if (emb->ne[1] < 2 || emb->ne[1] > (1u << 24))
        return fail(err, FSK_ERR_FORMAT, "%s: vocabulary of %llu tokens is out of range",
                    fsk_gguf_name(g), (unsigned long long)emb->ne[1]);
    fsk_status st = get_weight(g, "token_embd.weight", hp->n_vocab, hp->n_embd, &m->tok_embd, err);
    if (st != FSK_OK)
        return st;
    if ((st = get_norm(g, "output_norm.weight", hp->n_embd, &m->output_norm, err)) != FSK_OK)
        return st;
    if (fsk_gguf_find_tensor(g, "output.weight")) {
        if ((st = get_weight(g, "output.weight", hp->n_vocab, hp->n_embd, &m->output, err)) != FSK_OK)
            return st;
    } else {
        m->output = m->tok_embd;
        m->tied_output = 1;
    }
    m->layers = calloc(hp->n_layer, sizeof *m->layers);
    if (!m->layers)
        return fail(err, FSK_ERR_NOMEM, "out of memory mapping %u layers", hp->n_layer);
    uint64_t qdim = (uint64_t)hp->n_head * hp->head_dim, kvdim = (uint64_t)hp->n_head_kv * hp->head_dim;
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        struct fsk_layer *L = &m->layers[l];
        char name[64];
#define NAME(s) (snprintf(name, sizeof name, "blk.%u." s, l), name)
        if ((st = get_norm(g, NAME("attn_norm.weight"), hp->n_embd, &L->attn_norm, err)) ||
            (st = get_weight(g, NAME("attn_q.weight"), qdim, hp->n_embd, &L->wq, err)) ||
            (st = get_weight(g, NAME("attn_k.weight"), kvdim, hp->n_embd, &L->wk, err)) ||
            (st = get_weight(g, NAME("attn_v.weight"), kvdim, hp->n_embd, &L->wv, err)) ||
            (st = get_weight(g, NAME("attn_output.weight"), hp->n_embd, qdim, &L->wo, err)) ||
            (st = get_norm(g, NAME("ffn_norm.weight"), hp->n_embd, &L->ffn_norm, err)) ||
            (st = get_weight(g, NAME("ffn_gate.weight"), hp->n_ff, hp->n_embd, &L->gate, err)) ||
            (st = get_weight(g, NAME("ffn_up.weight"), hp->n_ff, hp->n_embd, &L->up, err)) ||
            (st = get_weight(g, NAME("ffn_down.weight"), hp->n_embd, hp->n_ff, &L->down, err)))
            return st;
#undef NAME
    }
    return FSK_OK;
}

static void pick_chat_style(fsk_model *m)
{
    struct fsk_gguf_str t = {NULL, 0};
    m->chat = FSK_CHAT_CHATML;
    if (fsk_gguf_get_str(m->gguf, "tokenizer.chat_template", &t, NULL) != FSK_OK)
        return;
    /* the template is Jinja; we recognise its family by the markers it emits */
    int llama3 = 0, llama2 = 0;
    for (uint64_t i = 0; i + 19 <= t.len; i++) {
        if (memcmp(t.ptr + i, "<|start_header_id|>", 19) == 0)
            llama3 = 1;
    }
    for (uint64_t i = 0; i + 6 <= t.len; i++)
        if (memcmp(t.ptr + i, "[INST]", 6) == 0)
            llama2 = 1;
    if (llama3)
        m->chat = FSK_CHAT_LLAMA3;
    else if (llama2)
        m->chat = FSK_CHAT_LLAMA2;
}

/* Any NaN or Inf among a tensor's values, dequantizing block scales where the type has them. */
static int tensor_finite(const struct fsk_gguf_tensor *t)
{
    const unsigned char *p = t->data;
    switch (t->type) {
    case FSK_TYPE_F32:
        for (size_t i = 0; i + 4 <= t->nbytes; i += 4) {
            float f;
            memcpy(&f, p + i, 4);
            if (!isfinite(f))
                return 0;
        }
        return 1;
    case FSK_TYPE_F16:
        for (size_t i = 0; i + 2 <= t->nbytes; i += 2) {
            uint16_t h;
            memcpy(&h, p + i, 2);
            if ((h & 0x7c00u) == 0x7c00u)
                return 0;
        }
        return 1;
    case FSK_TYPE_BF16:
        for (size_t i = 0; i + 2 <= t->nbytes; i += 2) {
            uint16_t h;
            memcpy(&h, p + i, 2);
            if ((h & 0x7f80u) == 0x7f80u)
                return 0;
        }
        return 1;
    default: {
        /* quantized: the half scales sit at fixed offsets of each block */
        const struct fsk_type_traits *tr = fsk_type_traits(t->type);
        size_t off[2] = {0, 2}, nh = 1;
        if (t->type == FSK_TYPE_Q4_1 || t->type == FSK_TYPE_Q5_1 || t->type == FSK_TYPE_Q4_K ||
            t->type == FSK_TYPE_Q5_K)
            nh = 2;
        if (t->type == FSK_TYPE_Q6_K)
            off[0] = 208;
        for (size_t b = 0; b + tr->block_bytes <= t->nbytes; b += tr->block_bytes)
            for (size_t k = 0; k < nh; k++) {
                uint16_t h;
                memcpy(&h, p + b + off[k], 2);
                if ((h & 0x7c00u) == 0x7c00u)
                    return 0;
            }
        return 1;
    }
    }
}

FSK_API void fsk_model_default_params(fsk_model_params *p)
{
    if (p)
        memset(p, 0, sizeof *p);
}

/* The model over an opened GGUF, which it takes over (closed on failure too). */
static fsk_status load_gguf(fsk_model **out, fsk_gguf *g, const fsk_model_params *params, fsk_error *err)
{
    fsk_model *m = calloc(1, sizeof *m);
    if (!m) {
        fail(err, FSK_ERR_NOMEM, "out of memory loading %s", fsk_gguf_name(g));
        fsk_gguf_close(g);
        return FSK_ERR_NOMEM;
    }
    m->gguf = g;
    fsk_status st = read_hparams(m->gguf, &m->hp, err);
    if (st == FSK_OK)
        st = map_tensors(m, err);
    if (st == FSK_OK && params && params->check_finite)
        for (size_t i = 0; i < fsk_gguf_n_tensors(m->gguf); i++) {
            const struct fsk_gguf_tensor *t = fsk_gguf_tensor_at(m->gguf, i);
            if (!tensor_finite(t)) {
                st = fail(err, FSK_ERR_FORMAT, "%s: tensor %s holds NaN or Inf values",
                          fsk_gguf_name(m->gguf), t->name);
                break;
            }
        }
    if (st == FSK_OK)
        st = fsk_tokenizer_create(&m->tok, m->gguf, err);
    if (st == FSK_OK && fsk_tokenizer_n_vocab(m->tok) != m->hp.n_vocab)
        st = fail(err, FSK_ERR_FORMAT, "%s: the tokenizer has %u tokens but the embedding %u",
                  fsk_gguf_name(m->gguf), fsk_tokenizer_n_vocab(m->tok), m->hp.n_vocab);
    if (st == FSK_OK) /* last: only a model that loaded reads the topology and copies weights */
        st = fsk_numa_model_setup(m, params, err);
    if (st != FSK_OK) {
        fsk_model_free(m);
        return st;
    }
    struct fsk_gguf_str name;
    if (fsk_gguf_get_str(m->gguf, "general.name", &name, NULL) == FSK_OK)
        snprintf(m->name, sizeof m->name, "%.*s", (int)(name.len > 127 ? 127 : name.len), name.ptr);
    pick_chat_style(m);
    *out = m;
    return FSK_OK;
}

/* Maps every page of the tensors into the process now, as part of loading (llama.cpp's default
 * MAP_POPULATE does the same): otherwise the first prompt pays one page fault per 4 KiB of
 * weights inside its timing. MADV_POPULATE_READ (Linux 5.14) fills the page tables; where it is
 * missing, MADV_WILLNEED at least starts reading the file. Advice only: a refusal changes nothing.
 * Skipped when NUMA placement copied the weights out of the file (the mapping is then dropped),
 * and before a move to huge pages (repack.c), which reads and drops them slab by slab: populated
 * first, the whole file would be resident at once next to the growing copy. */
static void populate_weights(const fsk_model *m)
{
    if (m->numa_arena || !fsk_gguf_is_mapped(m->gguf))
        return;
    uintptr_t lo, hi;
    fsk_gguf_data_extent(m->gguf, &lo, &hi);
    if (lo >= hi)
        return;
    lo -= lo % (uintptr_t)fsk_page_size();
#ifdef MADV_POPULATE_READ
    if (madvise((void *)lo, hi - lo, MADV_POPULATE_READ) == 0)
        return;
#endif
    (void)madvise((void *)lo, hi - lo, MADV_WILLNEED);
}

FSK_API fsk_status fsk_model_load(fsk_model **out, const char *path, const fsk_model_params *params,
                                  fsk_error *err)
{
    if (!out || !path)
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_model_load: %s is NULL", out ? "path" : "out");
    *out = NULL;
    fsk_gguf *g;
    fsk_status st = fsk_gguf_open(&g, path, err);
    if (st == FSK_OK)
        st = load_gguf(out, g, params, err);
    if (st == FSK_OK) {
        if (!fsk_model_moves_weights(*out)) /* a move reads each page once anyway */
            populate_weights(*out);
        st = fsk_model_repack(*out);
        if (st != FSK_OK) {
            fsk_model_free(*out);
            *out = NULL;
            fail(err, st, "out of memory repacking the weights of %s", path);
        }
    }
    return st;
}

fsk_status fsk_model_load_memory(fsk_model **out, const void *data, size_t size, const char *name,
                                 const fsk_model_params *params, fsk_error *err)
{
    if (!out)
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_model_load_memory: out is NULL");
    *out = NULL;
    fsk_gguf *g;
    fsk_status st = fsk_gguf_open_memory(&g, data, size, name, err);
    if (st == FSK_OK)
        st = load_gguf(out, g, params, err);
    if (st == FSK_OK && (st = fsk_model_repack(*out)) != FSK_OK) {
        fsk_model_free(*out);
        *out = NULL;
        fail(err, st, "out of memory repacking the weights of %s", name);
    }
    return st;
}

FSK_API void fsk_model_free(fsk_model *m)
{
    if (!m)
        return;
    fsk_tokenizer_free(m->tok);
    fsk_numa_model_release(m);
    fsk_model_repack_release(m);
    free(m->layers);
    fsk_gguf_close(m->gguf);
    free(m);
}

static uint64_t weight_bytes(const struct fsk_weight *w)
{
    return (uint64_t)w->row_bytes * w->rows;
}

FSK_API fsk_status fsk_model_get_info(const fsk_model *m, fsk_model_info *info)
{
    if (!m || !info)
        return FSK_ERR_INVALID_ARG;
    memset(info, 0, sizeof *info);
    info->arch = "llama";
    info->name = m->name;
    info->n_vocab = m->hp.n_vocab;
    info->n_ctx_train = m->hp.n_ctx_train;
    info->n_embd = m->hp.n_embd;
    info->n_ff = m->hp.n_ff;
    info->n_layer = m->hp.n_layer;
    info->n_head = m->hp.n_head;
    info->n_head_kv = m->hp.n_head_kv;
    info->head_dim = m->hp.head_dim;
    info->rope_base = m->hp.rope_base;
    info->rms_eps = m->hp.rms_eps;
    info->tied_output = m->tied_output;
    uint64_t total = weight_bytes(&m->output), ffn = 0;
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        const struct fsk_layer *L = &m->layers[l];
        total += weight_bytes(&L->wq) + weight_bytes(&L->wk) + weight_bytes(&L->wv) + weight_bytes(&L->wo);
        ffn += weight_bytes(&L->gate) + weight_bytes(&L->up) + weight_bytes(&L->down);
    }
    info->weight_bytes = total + ffn;
    info->ffn_bytes = ffn;
    return FSK_OK;
}

FSK_API uint32_t fsk_model_n_vocab(const fsk_model *m)
{
    return m ? m->hp.n_vocab : 0;
}

/* describe.c: `ffnskip info MODEL`: metadata, tensors by type, architecture, and the kernels used. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "dispatch.h"
#include "llama.h"
#include "numa.h"
#include "ops.h"
#include "tokenizer.h"

struct text {
    char *buf;
    size_t len, pos;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = t->pos < t->len ? t->buf + t->pos : NULL;
    size_t room = t->pos < t->len ? t->len - t->pos : 0;
    int k = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        t->pos += (size_t)k;
}

/* Printable form of a metadata string: control bytes escaped, long values cut. */
static void put_str(struct text *t, const char *p, uint64_t len)
{
    uint64_t show = len > 72 ? 72 : len;
    put(t, "\"");
    for (uint64_t i = 0; i < show; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n') put(t, "\\n");
        else if (c < 0x20 || c == 0x7f) put(t, "\\x%02x", c);
        else if (c == '"') put(t, "\\\"");
        else put(t, "%c", c);
    }
    put(t, "\"%s", len > show ? "..." : "");
}

static void put_kv(struct text *t, const struct fsk_gguf_kv *kv)
{
    put(t, "  %-40.*s ", (int)(kv->key.len > 64 ? 64 : kv->key.len), kv->key.ptr);
    switch (kv->type) {
    case FSK_GGUF_STRING: put_str(t, kv->v.s.ptr, kv->v.s.len); break;
    case FSK_GGUF_ARRAY:
        put(t, "[%llu x %s]", (unsigned long long)kv->v.arr.n, fsk_gguf_vtype_name(kv->v.arr.type));
        break;
    case FSK_GGUF_F32:
    case FSK_GGUF_F64: put(t, "%g", kv->v.f); break;
    case FSK_GGUF_I8:
    case FSK_GGUF_I16:
    case FSK_GGUF_I32:
    case FSK_GGUF_I64: put(t, "%lld", (long long)kv->v.i); break;
    case FSK_GGUF_BOOL: put(t, "%s", kv->v.u ? "true" : "false"); break;
    default: put(t, "%llu", (unsigned long long)kv->v.u); break;
    }
    put(t, "\n");
}

/* Matrices counted by the type their matvec reads, and the repacked ones' count and bytes. */
struct weight_tally {
    uint64_t used[FSK_TYPE_COUNT];
    size_t n_r8, r8_bytes;
};

static void tally_weight(struct weight_tally *wt, const struct fsk_weight *w)
{
    if (w->type < FSK_TYPE_COUNT)
        wt->used[w->type]++;
    if (fsk_type_plain(w->type) != w->type) {
        wt->n_r8++;
        wt->r8_bytes += (size_t)w->rows * w->row_bytes;
    }
}

FSK_API size_t fsk_model_describe(const fsk_model *m, char *buf, size_t len)
{
    struct text t = {buf, buf ? len : 0, 0}; /* a NULL buffer: only the length is asked for */
    if (t.len)
        buf[0] = '\0';
    if (!m)
        return 0;
    const fsk_gguf *g = m->gguf;
    put(&t, "model: %s\nfile: %s (GGUF v%u, %zu bytes, alignment %llu)\n", m->name[0] ? m->name : "(unnamed)",
        fsk_gguf_name(g), fsk_gguf_version(g), fsk_gguf_file_size(g),
        (unsigned long long)fsk_gguf_alignment(g));
    put(&t, "metadata (%zu keys):\n", fsk_gguf_n_kv(g));
    for (size_t i = 0; i < fsk_gguf_n_kv(g); i++)
        put_kv(&t, fsk_gguf_kv_at(g, i));

    uint64_t count[FSK_TYPE_COUNT] = {0}, bytes[FSK_TYPE_COUNT] = {0};
    for (size_t i = 0; i < fsk_gguf_n_tensors(g); i++) {
        const struct fsk_gguf_tensor *ts = fsk_gguf_tensor_at(g, i);
        if (ts->type < FSK_TYPE_COUNT) {
            count[ts->type]++;
            bytes[ts->type] += ts->nbytes;
        }
    }
    put(&t, "tensors: %zu\n", fsk_gguf_n_tensors(g));
    for (uint32_t ty = 0; ty < FSK_TYPE_COUNT; ty++)
        if (count[ty])
            put(&t, "  %-6s %5llu tensors %12llu bytes\n", fsk_type_traits(ty)->name,
                (unsigned long long)count[ty], (unsigned long long)bytes[ty]);

    const struct fsk_hparams *hp = &m->hp;
    fsk_model_info info;
    fsk_model_get_info(m, &info);
    put(&t,
        "architecture: llama\n"
        "  layers %u, embedding %u, feed-forward %u, heads %u (KV heads %u, head size %u)\n"
        "  vocabulary %u, training context %u, rope base %g, rms epsilon %g, output head %s\n"
        "  weights read per token %.1f MiB, of which FFN %.1f MiB (%.0f%%)\n",
        hp->n_layer, hp->n_embd, hp->n_ff, hp->n_head, hp->n_head_kv, hp->head_dim, hp->n_vocab,
        hp->n_ctx_train, hp->rope_base, hp->rms_eps, m->tied_output ? "tied to the embedding" : "separate",
        info.weight_bytes / 1048576.0, info.ffn_bytes / 1048576.0,
        info.weight_bytes ? 100.0 * info.ffn_bytes / info.weight_bytes : 0.0);
    put(&t, "tokenizer: %u tokens, pre-tokenizer %s, chat template %s\n", fsk_tokenizer_n_vocab(m->tok),
        fsk_tokenizer_pre_name(m->tok),
        m->chat == FSK_CHAT_LLAMA3 ? "Llama-3" : m->chat == FSK_CHAT_LLAMA2 ? "Llama-2" : "ChatML");

    const struct fsk_kernels *k;
    const char *msg;
    if (fsk_kernels_get(&k, &msg) != FSK_OK) {
        put(&t, "kernels: %s\n", msg);
        return t.pos;
    }
    /* the matrices by the type the matvecs read as loaded (a repacked one by its record layout),
     * and the repacked ones' count and bytes */
    struct weight_tally wt = {{0}, 0, 0};
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const struct fsk_layer *L = &m->layers[l];
        const struct fsk_weight *ws[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
        for (int i = 0; i < 7; i++)
            tally_weight(&wt, ws[i]);
    }
    tally_weight(&wt, &m->output);
    const uint64_t *used = wt.used;
    put(&t, "kernels for this model's weights:\n");
    for (uint32_t ty = 0; ty < FSK_TYPE_COUNT; ty++) {
        struct fsk_wops o;
        if (!used[ty] || !fsk_wops_for(k, ty, &o))
            continue;
        char label[96] = "?";
        for (int op = 0; op < FSK_OP_COUNT; op++)
            if (fsk_kernels_op_fn(k, (enum fsk_op)op) == (const void *)o.matvec)
                fsk_kernels_op_label(k, (enum fsk_op)op, label, sizeof label);
        put(&t, "  %-7s matvec: %s, activations as %s (%llu %s)\n", fsk_type_traits(ty)->name, label,
            fsk_type_traits(o.act_type)->name, (unsigned long long)used[ty],
            used[ty] == 1 ? "matrix" : "matrices");
    }
    if (wt.n_r8)
        put(&t, "  repacked at load: %zu matrices (%.1f MiB) into eight-row records (FSK_REPACK=0 keeps "
                "the file layout)\n",
            wt.n_r8, wt.r8_bytes / 1048576.0);
    if (wt.n_r8) { /* what a context for this model chooses (context.c) */
        const char *why, *bad = fsk_pf_reach_env_invalid();
        const size_t llc = fsk_numa_llc_bytes(), fb = fsk_gguf_file_size(m->gguf);
        size_t reach = fsk_numa_pf_reach(m, 0, &why);
        put(&t, "  records fetched ahead in software: %zu bytes (%s; file %.1f MiB, last-level cache "
                "%.1f MiB; FSK_PF_REACH=near, far, off or bytes overrides)\n",
            reach, why, fb / 1048576.0, llc / 1048576.0);
        if (bad)
            put(&t, "  FSK_PF_REACH: not near, far, off or a byte count up to %d, ignored: %s\n",
                FSK_PF_REACH_MAX, bad);
    }
    if (m->huge_arena) {
        int eligible;
        long long hb = fsk_huge_bytes(m->repack_arena, m->repack_arena_bytes, &eligible);
        if (hb >= 0)
            put(&t, "  weight matrices moved to huge pages: %.1f MiB, %.1f MiB of it in 2 MiB pages "
                    "(FSK_HUGEPAGES=0 reads them from the file mapping)\n",
                m->repack_arena_bytes / 1048576.0, hb / 1048576.0);
        else
            put(&t, "  weight matrices moved to memory advised for huge pages: %.1f MiB "
                    "(FSK_HUGEPAGES=0 reads them from the file mapping)\n",
                m->repack_arena_bytes / 1048576.0);
    } else if (!m->numa_arena) {
        const char *e = getenv("FSK_HUGEPAGES");
        put(&t, "  weight matrices in the system's small pages, not huge ones (%s)\n",
            e && !strcmp(e, "0") ? "FSK_HUGEPAGES=0"
            : !fsk_gguf_is_mapped(m->gguf) ? "loaded from memory, not a file"
                                           : "this kernel gives no transparent huge pages here");
    }
    return t.pos;
}

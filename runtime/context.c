/* context.c: contexts over a model: creation, the KV position, and the public decode call. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "dispatch.h"
#include "numa.h"
#include "ops.h"

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

FSK_API void fsk_context_default_params(fsk_context_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->bind_threads = 1;
}

/* Every weight of the model must have a matvec in the table; returns the largest activation. */
static fsk_status check_weights(const fsk_model *m, const struct fsk_kernels *k, size_t *act_bytes,
                                fsk_error *err)
{
    const struct fsk_hparams *hp = &m->hp;
    size_t best = 0;
    for (uint32_t l = 0; l <= hp->n_layer; l++) {
        const struct fsk_weight *ws[7];
        size_t nw = 0;
        if (l == hp->n_layer) {
            ws[nw++] = &m->output;
            ws[nw++] = &m->tok_embd;
        } else {
            const struct fsk_layer *L = &m->layers[l];
            const struct fsk_weight *all[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
            memcpy(ws, all, sizeof all);
            nw = 7;
        }
        for (size_t i = 0; i < nw; i++) {
            struct fsk_wops o;
            const struct fsk_type_traits *tr = fsk_type_traits(ws[i]->type);
            /* the embedding's rows are dequantized (a repacked one's through its plain type's
             * dequantizer), every other matrix goes through a matvec */
            struct fsk_wops plain;
            if (!fsk_wops_for(k, ws[i]->type, &o) || !o.matvec ||
                (ws[i] == &m->tok_embd &&
                 (!fsk_wops_for(k, fsk_type_plain(ws[i]->type), &plain) || !plain.dequantize)))
                return fail(err, FSK_ERR_UNSUPPORTED, "weights of type %s have no kernel",
                            tr ? tr->name : "?");
            size_t ab = fsk_act_bytes(o.act_type, (size_t)ws[i]->cols);
            if (ab == 0)
                return fail(err, FSK_ERR_UNSUPPORTED,
                            "a %s matrix of %llu columns does not fit its activation blocks",
                            tr ? tr->name : "?", (unsigned long long)ws[i]->cols);
            if (ab > best)
                best = ab;
        }
    }
    *act_bytes = best;
    return FSK_OK;
}

/* The team, planned like the model's placement unless the params ask otherwise. */
static fsk_status make_pool(fsk_context *c, const fsk_context_params *p, fsk_error *err)
{
    const struct fsk_numa_plan *mp = c->model->numa;
    fsk_numa_mode mode = p->numa;
    if ((unsigned)mode >= FSK_NUMA_MODE_COUNT)
        return fail(err, FSK_ERR_INVALID_ARG, "unknown NUMA mode %u", (unsigned)mode);
    if (mode == FSK_NUMA_AUTO)
        mode = mp ? mp->mode : FSK_NUMA_OFF;
    int isolate = -1; /* the model's node, so that threads run where its weights are */
    if (mp && mp->mode == FSK_NUMA_ISOLATE && mp->nodes[0].os_index != UINT_MAX)
        isolate = (int)mp->nodes[0].os_index;
    return fsk_pool_create_numa(&c->pool, p->n_threads, p->bind_threads, mode, isolate,
                                mp ? mp->topo : NULL, err);
}

static void *zalloc(size_t n, size_t size, int *failed)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        *failed = 1;
    return p;
}

FSK_API fsk_status fsk_context_new(fsk_context **out, fsk_model *m, const fsk_context_params *params,
                                   fsk_error *err)
{
    if (out)
        *out = NULL;
    if (!out || !m)
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_context_new: %s is NULL", out ? "model" : "out");
    fsk_context_params p;
    fsk_context_default_params(&p);
    if (params)
        p = *params;
    const struct fsk_hparams *hp = &m->hp;
    uint32_t n_ctx = p.n_ctx ? p.n_ctx : (hp->n_ctx_train < 4096 ? hp->n_ctx_train : 4096);
    if (n_ctx > hp->n_ctx_train)
        return fail(err, FSK_ERR_INVALID_ARG, "context of %u tokens is longer than the model's %u", n_ctx,
                    hp->n_ctx_train);
    const char *msg;
    const struct fsk_kernels *k;
    fsk_status st = fsk_kernels_get(&k, &msg);
    if (st != FSK_OK)
        return fail(err, st, "%s", msg);
    size_t act_bytes = 0;
    if ((st = check_weights(m, k, &act_bytes, err)) != FSK_OK)
        return st;
    if (fsk_act_bytes(FSK_TYPE_F32, hp->n_ff) > act_bytes)
        act_bytes = fsk_act_bytes(FSK_TYPE_F32, hp->n_ff);

    fsk_context *c = calloc(1, sizeof *c);
    if (!c)
        return fail(err, FSK_ERR_NOMEM, "out of memory creating a context");
    c->model = m;
    c->k = k;
    c->n_ctx = n_ctx;
    if ((st = make_pool(c, &p, err)) != FSK_OK ||
        (st = fsk_kv_init(&c->kv, hp->n_layer, hp->n_head_kv, hp->head_dim, n_ctx, err)) != FSK_OK) {
        fsk_context_free(c);
        return st;
    }
    fsk_numa_place_kv(fsk_pool_plan(c->pool), &c->kv, hp->n_head);
    int failed = 0;
    size_t qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    c->x = zalloc(hp->n_embd, sizeof(float), &failed);
    c->qkv = zalloc(qd + 2 * kvd, sizeof(float), &failed);
    c->ao = zalloc(qd, sizeof(float), &failed);
    c->hb = zalloc(hp->n_ff, sizeof(float), &failed);
    c->hact = zalloc(act_bytes, 1, &failed);
    c->up = zalloc(hp->n_ff, sizeof(float), &failed);
    c->yout = zalloc(hp->n_embd, sizeof(float), &failed);
    c->logits = zalloc(hp->n_vocab, sizeof(float), &failed);
    c->ffn_skipped = zalloc(hp->n_layer, sizeof(uint64_t), &failed);
    c->trace_sim = zalloc(hp->n_layer, sizeof(float), &failed);
    c->trace_ran = zalloc(hp->n_layer, 1, &failed);
    int nt = fsk_pool_threads(c->pool);
    c->scratch = zalloc((size_t)nt, sizeof *c->scratch, &failed);
    c->act_bytes = act_bytes;
    for (int i = 0; !failed && i < nt; i++) {
        struct fsk_scratch *s = &c->scratch[i];
        s->xb = zalloc(hp->n_embd, sizeof(float), &failed);
        s->act = zalloc(act_bytes, 1, &failed);
        s->att = zalloc((size_t)FSK_ATT_TILE * n_ctx, sizeof(float), &failed);
        s->qtile = zalloc((size_t)FSK_ATT_TILE * hp->head_dim, sizeof(float), &failed);
        s->kloc = zalloc(hp->head_dim, sizeof(float), &failed);
        s->vloc = zalloc(hp->head_dim, sizeof(float), &failed);
    }
    if (failed) {
        fsk_context_free(c);
        return fail(err, FSK_ERR_NOMEM, "out of memory creating a context");
    }
    const char *pf = getenv("FSK_PREFILL"); /* "token": the old prompt path, for comparisons */
    c->prefill_tokenwise = pf && strcmp(pf, "token") == 0;
    if ((st = fsk_prefill_new(c, err)) != FSK_OK) {
        fsk_context_free(c);
        return st;
    }
    fsk_skip_params dense;
    fsk_skip_default_params(&dense);
    dense.cold_first = dense.cold_last = 0;
    fsk_skip_configure(&c->skip, &dense, hp->n_layer, NULL);
    /* how far the record matvecs fetch ahead: farther when the last-level cache can hold the
     * weights */
    fsk_numa_pf_reach(m, 1, NULL);
    *out = c;
    return FSK_OK;
}

FSK_API void fsk_context_free(fsk_context *c)
{
    if (!c)
        return;
    if (c->scratch && c->pool)
        for (int i = 0; i < fsk_pool_threads(c->pool); i++) {
            struct fsk_scratch *s = &c->scratch[i];
            free(s->xb); free(s->act); free(s->att); free(s->qtile); free(s->kloc); free(s->vloc);
        }
    free(c->scratch);
    fsk_prefill_free(c);
    free(c->x); free(c->qkv); free(c->ao); free(c->hb); free(c->hact); free(c->up); free(c->yout); free(c->logits);
    free(c->ffn_skipped); free(c->trace_sim); free(c->trace_ran);
    fsk_kv_free(&c->kv);
    fsk_pool_free(c->pool);
    free(c);
}

FSK_API const char *fsk_context_note(const fsk_context *c)
{
    if (!c)
        return NULL;
    const char *bn = fsk_pool_bind_note(c->pool);
    if (bn)
        return bn;
    const struct fsk_numa_plan *mp = c->model->numa;
    return mp && mp->note[0] ? mp->note : NULL;
}

FSK_API uint32_t fsk_context_n_ctx(const fsk_context *c)
{
    return c ? c->n_ctx : 0;
}

FSK_API uint32_t fsk_context_pos(const fsk_context *c)
{
    return c ? c->pos : 0;
}

FSK_API fsk_status fsk_context_rewind(fsk_context *c, uint32_t pos, fsk_error *err)
{
    if (!c)
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_context_rewind: ctx is NULL");
    if (pos > c->pos)
        return fail(err, FSK_ERR_INVALID_ARG, "cannot rewind to %u: only %u tokens are cached", pos, c->pos);
    c->pos = pos; /* later positions are overwritten before they are read again */
    return FSK_OK;
}

/* Checks ids against the vocabulary and the context's room before anything runs. */
fsk_status fsk_context_check_tokens(const fsk_context *c, const int32_t *ids, size_t n, fsk_error *err)
{
    if (n > (size_t)(c->n_ctx - c->pos))
        return fail(err, FSK_ERR_CONTEXT_FULL,
                    "%zu tokens do not fit: the context holds %u and %u are used", n, c->n_ctx, c->pos);
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || (uint32_t)ids[i] >= c->model->hp.n_vocab)
            return fail(err, FSK_ERR_INVALID_ARG, "token id %d at %zu is outside the vocabulary of %u",
                        ids[i], i, c->model->hp.n_vocab);
    return FSK_OK;
}

FSK_API fsk_status fsk_decode_ex(fsk_context *c, const int32_t *ids, size_t n, float *logits, unsigned flags,
                                 fsk_error *err)
{
    if (!c || (!ids && n))
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_decode: %s is NULL", c ? "ids" : "ctx");
    if (n == 0)
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_decode: no tokens");
    if (flags & ~(FSK_DECODE_DENSE | FSK_DECODE_NO_STATS))
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_decode_ex: unknown flags 0x%x", flags);
    fsk_status st = fsk_context_check_tokens(c, ids, n, err);
    if (st != FSK_OK)
        return st;
    unsigned mode = (flags & FSK_DECODE_DENSE ? FSK_FWD_DENSE : 0) |
                    (flags & FSK_DECODE_NO_STATS ? FSK_FWD_NO_STATS : 0);
    fsk_forward_prompt(c, ids, n, 1, mode);
    if (logits)
        memcpy(logits, c->logits, c->model->hp.n_vocab * sizeof(float));
    return FSK_OK;
}

FSK_API fsk_status fsk_decode(fsk_context *c, const int32_t *ids, size_t n, float *logits, fsk_error *err)
{
    return fsk_decode_ex(c, ids, n, logits, 0, err);
}

FSK_API fsk_status fsk_context_set_skip(fsk_context *c, const fsk_skip_params *p, fsk_error *err)
{
    if (!c || !p)
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_context_set_skip: NULL argument");
    struct fsk_skip_cfg cfg;
    fsk_status st = fsk_skip_configure(&cfg, p, c->model->hp.n_layer, err);
    if (st == FSK_OK)
        c->skip = cfg;
    return st;
}

FSK_API fsk_status fsk_context_get_skip(const fsk_context *c, fsk_skip_params *p)
{
    if (!c || !p)
        return FSK_ERR_INVALID_ARG;
    *p = c->skip.p; /* with the layer set a static policy chose */
    return FSK_OK;
}

FSK_API fsk_status fsk_context_skip_stats(const fsk_context *c, fsk_skip_stats *s)
{
    if (!c || !s)
        return FSK_ERR_INVALID_ARG;
    memset(s, 0, sizeof *s);
    s->tokens = c->stat_tokens;
    s->n_layer = c->model->hp.n_layer;
    s->ffn_total = c->stat_tokens * s->n_layer;
    for (uint32_t l = 0; l < s->n_layer; l++)
        s->ffn_skipped += c->ffn_skipped[l];
    s->ratio = s->ffn_total ? (double)s->ffn_skipped / (double)s->ffn_total : 0.0;
    s->layer_skipped = c->ffn_skipped;
    return FSK_OK;
}

FSK_API void fsk_context_reset_stats(fsk_context *c)
{
    if (!c)
        return;
    c->stat_tokens = 0;
    memset(c->ffn_skipped, 0, c->model->hp.n_layer * sizeof *c->ffn_skipped);
}

FSK_API fsk_status fsk_context_last_trace(const fsk_context *c, float *sim, uint8_t *ran, uint32_t n_layer)
{
    if (!c || n_layer != c->model->hp.n_layer)
        return FSK_ERR_INVALID_ARG;
    if (sim)
        memcpy(sim, c->trace_sim, n_layer * sizeof *sim);
    if (ran)
        memcpy(ran, c->trace_ran, n_layer);
    return FSK_OK;
}

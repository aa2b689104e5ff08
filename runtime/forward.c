/* forward.c: one decode step of the llama architecture, read top to bottom like the paper.
 *
 *   x = embed(token)
 *   for each layer l:
 *       x += Wo · attention(rope(Wq·rmsnorm(x)), rope(Wk·rmsnorm(x)), Wv·rmsnorm(x))   always
 *       if the skip policy runs layer l's FFN:
 *           h = x;  x += Wdown · (silu(Wgate·rmsnorm(x)) * Wup·rmsnorm(x))
 *           policy observes cos(h, x)
 *   logits = Wout · rmsnorm(x)
 *
 * The whole step is one parallel region. Matvecs split their rows over the team; element-wise
 * inputs (rmsnorm, activation quantization) are recomputed by each thread into its own scratch,
 * which costs less than the barrier it saves. Barriers per layer: 3 with the FFN skipped, 5 with
 * it run. Attention splits query heads over threads; the key and value of the current position
 * are used from thread-local copies, so no thread reads a cache slot another is writing.
 *
 * Numerics follow llama.cpp's CPU path so that logits can be compared closely: activations are
 * quantized to the weight type's int8 form, the KV cache is F16, the query is rounded to F16
 * before the key dot products and the attention weights are rounded to F16 before the value sum.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "context.h"
#include "ops.h"

struct step {
    struct fsk_context *ctx;
    int32_t token;
    uint32_t pos;
    int want_logits;
    unsigned mode; /* enum fsk_fwd_mode flags */
};

/* y[r] = W[r]·act for this thread's rows of W (already quantized into act). */
static void matvec_rows(const struct fsk_weight *w, const struct fsk_wops *o, float *y, const void *act,
                        size_t r0, size_t r1)
{
    if (r0 < r1)
        o->matvec(y, w->data, w->row_bytes, act, (size_t)w->cols, r0, r1);
}

/* Puts x (n floats) into the activation form that w's matvec reads, in this thread's scratch. */
static const void *prepare(const struct fsk_wops *o, const float *x, size_t n, void *act)
{
    if (!o->quantize)
        return x;
    o->quantize(act, x, n);
    return act;
}

static const struct fsk_wops *wops(const struct fsk_context *ctx, const struct fsk_weight *w,
                                   struct fsk_wops *buf)
{
    fsk_wops_for(ctx->k, w->type, buf); /* types were checked when the context was made */
    return buf;
}

/* Q, K and V as one range of rows, so that the three matvecs share one barrier. */
static void qkv_phase(fsk_team *t, struct fsk_context *ctx, const struct fsk_layer *L,
                      struct fsk_scratch *s)
{
    const struct fsk_hparams *hp = &ctx->model->hp;
    struct fsk_wops oq, ok, ov;
    const struct fsk_weight *ws[3] = {&L->wq, &L->wk, &L->wv};
    const struct fsk_wops *os[3] = {wops(ctx, &L->wq, &oq), wops(ctx, &L->wk, &ok), wops(ctx, &L->wv, &ov)};
    size_t qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    size_t starts[3] = {0, qd, qd + kvd}, total = qd + 2 * kvd;
    size_t r0, r1;
    fsk_team_rows(t, total, 16, &r0, &r1);
    const void *act = NULL;
    uint32_t act_type = FSK_TYPE_COUNT;
    for (int m = 0; m < 3; m++) {
        size_t a = starts[m], b = a + ws[m]->rows;
        size_t lo = r0 > a ? r0 : a, hi = r1 < b ? r1 : b;
        if (lo >= hi)
            continue;
        if (os[m]->act_type != act_type) { /* quantize once unless the types differ */
            act = prepare(os[m], s->xb, hp->n_embd, s->act);
            act_type = os[m]->act_type;
        }
        matvec_rows(ws[m], os[m], ctx->qkv + a, act, lo - a, hi - a);
    }
    fsk_team_barrier(t);
}

void fsk_attend_finish(const struct fsk_context *ctx, uint32_t l, uint32_t g, uint32_t pos, const float *q,
                       uint32_t nq, const float *kloc, const float *vloc, float *out, float *att)
{
    const struct fsk_hparams *hp = &ctx->model->hp;
    const struct fsk_kernels *k = ctx->k;
    const uint32_t hd = hp->head_dim, n_ctx = ctx->n_ctx;
    const float scale = 1.0f / sqrtf((float)hd);
    for (uint32_t h = 0; h < nq; h++) { /* this position's score from the local key */
        float *a = att + (size_t)h * n_ctx;
        a[pos] = k->dot_f32(q + (size_t)h * hd, kloc, hd);
        k->scale_f32(a, scale, (size_t)pos + 1);
        k->softmax_f32(a, (size_t)pos + 1);
        k->round_f16_f32(a, (size_t)pos + 1);
    }
    /* the earlier positions' values, each row widened once for the nq heads (zeros at pos 0) */
    k->wsum_f16(out, hd, fsk_kv_v(&ctx->kv, l, g, 0), (size_t)hd * 2, att, n_ctx, hd, nq, 0, pos);
    for (uint32_t h = 0; h < nq; h++)
        k->axpy_f32(out + (size_t)h * hd, att[(size_t)h * n_ctx + pos], vloc, hd);
}

void fsk_attend_heads(const struct fsk_context *ctx, uint32_t l, uint32_t g, uint32_t pos, const float *q,
                      uint32_t nq, const float *kloc, const float *vloc, float *out, struct fsk_scratch *s)
{
    const uint32_t hd = ctx->model->hp.head_dim, n_ctx = ctx->n_ctx;
    for (uint32_t h0 = 0; h0 < nq; h0 += FSK_ATT_HEADS) {
        const uint32_t nb = nq - h0 < FSK_ATT_HEADS ? nq - h0 : FSK_ATT_HEADS;
        const float *qb = q + (size_t)h0 * hd;
        /* scores over earlier positions from the cache, row h of att for head h0 + h */
        ctx->k->tdot_f16(s->att, n_ctx, fsk_kv_ktiles(&ctx->kv, l, g), qb, hd, hd, nb, 0, pos);
        fsk_attend_finish(ctx, l, g, pos, qb, nb, kloc, vloc, out + (size_t)h0 * hd, s->att);
    }
}

/* Attention for this thread's query heads at position pos; writes their slices of ctx->ao. */
static void attention_phase(fsk_team *t, struct fsk_context *ctx, uint32_t l, uint32_t pos,
                            struct fsk_scratch *s)
{
    const struct fsk_hparams *hp = &ctx->model->hp;
    const struct fsk_kernels *k = ctx->k;
    const uint32_t hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    float *q = ctx->qkv;
    const float *kk = q + (size_t)hp->n_head * hd, *vv = kk + (size_t)hp->n_head_kv * hd;
    size_t h0, h1;
    fsk_team_rows(t, hp->n_head, 1, &h0, &h1);
    if (h0 < h1) { /* this thread's query heads, roped in one call (angles per pair, not per head) */
        k->rope_f32(q + h0 * hd, h1 - h0, hd, pos, hp->rope_base);
        k->round_f16_f32(q + h0 * hd, (h1 - h0) * hd);
    }
    for (uint32_t h = (uint32_t)h0; h < h1;) {
        const uint32_t g = h / group, he = (g + 1) * group < h1 ? (g + 1) * group : (uint32_t)h1;
        /* this position's key and value for kv head g, F16-rounded like the cache */
        memcpy(s->kloc, kk + (size_t)g * hd, hd * sizeof(float));
        k->rope_f32(s->kloc, 1, hd, pos, hp->rope_base);
        k->round_f16_f32(s->kloc, hd);
        memcpy(s->vloc, vv + (size_t)g * hd, hd * sizeof(float));
        k->round_f16_f32(s->vloc, hd);
        if (h == g * group) /* the first query head of the group owns the cache write */
            fsk_kv_put(&ctx->kv, k, l, g, pos, s->kloc, s->vloc);
        /* this thread's heads of group g together */
        fsk_attend_heads(ctx, l, g, pos, q + (size_t)h * hd, he - h, s->kloc, s->vloc, ctx->ao + (size_t)h * hd, s);
        h = he;
    }
    fsk_team_barrier(t);
}

/* x[r] += Wo·ao for this thread's rows. */
static void attn_out_phase(fsk_team *t, struct fsk_context *ctx, const struct fsk_layer *L,
                           struct fsk_scratch *s)
{
    const struct fsk_hparams *hp = &ctx->model->hp;
    struct fsk_wops o;
    wops(ctx, &L->wo, &o);
    const void *act = prepare(&o, ctx->ao, (size_t)hp->n_head * hp->head_dim, s->act);
    size_t r0, r1;
    fsk_team_rows(t, hp->n_embd, 16, &r0, &r1);
    if (r0 < r1) { /* this thread's rows of yout: no other thread touches them */
        o.matvec(ctx->yout, L->wo.data, L->wo.row_bytes, act, (size_t)L->wo.cols, r0, r1);
        ctx->k->add_f32(ctx->x + r0, ctx->x + r0, ctx->yout + r0, r1 - r0);
    }
    fsk_team_barrier(t);
}

/* h = x; x += FFN(rmsnorm(x)); returns cos(h, x), the same value in every thread. */
static float ffn_phase(fsk_team *t, struct fsk_context *ctx, const struct fsk_layer *L,
                       struct fsk_scratch *s)
{
    const struct fsk_hparams *hp = &ctx->model->hp;
    const struct fsk_kernels *k = ctx->k;
    struct fsk_wops og, ou, od;
    wops(ctx, &L->gate, &og);
    wops(ctx, &L->up, &ou);
    wops(ctx, &L->down, &od);
    k->rmsnorm_f32(s->xb, ctx->x, L->ffn_norm, hp->n_embd, hp->rms_eps);
    const void *act = prepare(&og, s->xb, hp->n_embd, s->act);
    size_t r0, r1;
    fsk_team_rows(t, hp->n_ff, 16, &r0, &r1);
    /* silu(gate) * up into Wdown's activation form by the thread that makes it, where every
     * thread's rows are whole blocks of that form (the blocks are independent: the same bytes as
     * one pass over the vector), instead of every thread quantizing all of it after the barrier */
    const int fused = od.quantize && fsk_team_rows_whole(t, hp->n_ff, 16, fsk_type_traits(od.act_type)->block);
    matvec_rows(&L->gate, &og, ctx->hb, act, r0, r1);
    if (ou.act_type != og.act_type)
        act = prepare(&ou, s->xb, hp->n_embd, s->act);
    matvec_rows(&L->up, &ou, ctx->up, act, r0, r1);
    if (r0 < r1) {
        k->silu_mul_f32(ctx->hb + r0, ctx->hb + r0, ctx->up + r0, r1 - r0);
        if (fused)
            od.quantize((unsigned char *)ctx->hact + fsk_act_bytes(od.act_type, r0), ctx->hb + r0, r1 - r0);
    }
    fsk_team_barrier(t);

    act = fused ? ctx->hact : prepare(&od, ctx->hb, hp->n_ff, s->act);
    fsk_team_rows(t, hp->n_embd, 16, &r0, &r1);
    double parts[3] = {0, 0, 0};
    if (r0 < r1) {
        const float *f = ctx->yout;
        od.matvec(ctx->yout, L->down.data, L->down.row_bytes, act, (size_t)L->down.cols, r0, r1);
        for (size_t i = r0; i < r1; i++) { /* the skip signal, fused into the residual add */
            double h = ctx->x[i], y = (double)ctx->x[i] + f[i];
            parts[0] += h * y;
            parts[1] += h * h;
            parts[2] += y * y;
        }
        k->add_f32(ctx->x + r0, ctx->x + r0, f + r0, r1 - r0);
    }
    memcpy(s->cos_parts, parts, sizeof parts);
    fsk_team_barrier(t);
    double sum[3] = {0, 0, 0};
    for (int i = 0; i < t->n; i++) /* same order in every thread: the same cosine everywhere */
        for (int j = 0; j < 3; j++)
            sum[j] += ctx->scratch[i].cos_parts[j];
    if (sum[1] == 0.0 || sum[2] == 0.0)
        return 0.0f;
    return (float)(sum[0] / sqrt(sum[1] * sum[2]));
}

static void logits_phase(fsk_team *t, struct fsk_context *ctx, struct fsk_scratch *s)
{
    const fsk_model *m = ctx->model;
    struct fsk_wops o;
    wops(ctx, &m->output, &o);
    ctx->k->rmsnorm_f32(s->xb, ctx->x, m->output_norm, m->hp.n_embd, m->hp.rms_eps);
    const void *act = prepare(&o, s->xb, m->hp.n_embd, s->act);
    size_t r0, r1;
    fsk_team_rows(t, m->hp.n_vocab, 64, &r0, &r1);
    matvec_rows(&m->output, &o, ctx->logits, act, r0, r1);
}

/* Early exit's confidence: the largest probability of the intermediate logits. */
static double top_probability(const float *logits, uint32_t n)
{
    float max = logits[0];
    for (uint32_t i = 1; i < n; i++)
        if (logits[i] > max)
            max = logits[i];
    double sum = 0;
    for (uint32_t i = 0; i < n; i++)
        sum += exp((double)logits[i] - max);
    return 1.0 / sum;
}

/* After an early exit: layer l's keys and values computed from the exit state, so that later
 * tokens find the cache filled (the baseline the paper describes). */
static void kv_fill_phase(fsk_team *t, struct fsk_context *ctx, uint32_t l, uint32_t pos,
                          struct fsk_scratch *s)
{
    const struct fsk_hparams *hp = &ctx->model->hp;
    const struct fsk_layer *L = &ctx->model->layers[l];
    size_t hd = hp->head_dim, kvd = (size_t)hp->n_head_kv * hd, qd = (size_t)hp->n_head * hd;
    struct fsk_wops ok, ov;
    wops(ctx, &L->wk, &ok);
    wops(ctx, &L->wv, &ov);
    ctx->k->rmsnorm_f32(s->xb, ctx->x, L->attn_norm, hp->n_embd, hp->rms_eps);
    size_t r0, r1;
    fsk_team_rows(t, 2 * kvd, 16, &r0, &r1);
    const void *act = prepare(&ok, s->xb, hp->n_embd, s->act);
    if (r0 < kvd)
        matvec_rows(&L->wk, &ok, ctx->qkv + qd, act, r0, r1 < kvd ? r1 : kvd);
    if (r1 > kvd) {
        act = prepare(&ov, s->xb, hp->n_embd, s->act);
        matvec_rows(&L->wv, &ov, ctx->qkv + qd + kvd, act, r0 > kvd ? r0 - kvd : 0, r1 - kvd);
    }
    fsk_team_barrier(t);
    if (t->id == 0)
        for (uint32_t g = 0; g < hp->n_head_kv; g++) {
            float *kk = ctx->qkv + qd + g * hd, *vv = ctx->qkv + qd + kvd + g * hd;
            ctx->k->rope_f32(kk, 1, hd, pos, hp->rope_base);
            fsk_kv_put(&ctx->kv, ctx->k, l, g, pos, kk, vv);
        }
    fsk_team_barrier(t);
}

static void step_body(fsk_team *t, void *arg)
{
    struct step *st = arg;
    struct fsk_context *ctx = st->ctx;
    const fsk_model *m = ctx->model;
    const struct fsk_hparams *hp = &m->hp;
    struct fsk_scratch *s = &ctx->scratch[t->id];
    const int lead = t->id == 0, count = lead && !(st->mode & FSK_FWD_NO_STATS);
    if (lead) {
        fsk_weight_row(ctx->k, m->tok_embd.data, m->tok_embd.type, m->tok_embd.row_bytes,
                       (size_t)st->token, hp->n_embd, ctx->x);
        if (count)
            ctx->stat_tokens++;
    }
    fsk_team_barrier(t);
    struct fsk_skip_tok policy;
    fsk_skip_token_begin(&ctx->skip, &policy, st->mode & FSK_FWD_DENSE, st->pos);
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const struct fsk_layer *L = &m->layers[l];
        float sim = NAN;
        int ran = 0;
        if (fsk_skip_run_layer(&ctx->skip, &policy, l)) {
            ctx->k->rmsnorm_f32(s->xb, ctx->x, L->attn_norm, hp->n_embd, hp->rms_eps);
            qkv_phase(t, ctx, L, s);
            attention_phase(t, ctx, l, st->pos, s);
            attn_out_phase(t, ctx, L, s);
            /* One decision per token and layer, the same in every thread without being shared:
             * each thread's policy state has seen the same similarities, each summed from all
             * threads' parts after ffn_phase's second barrier in thread order (bit for bit alike),
             * and no part is rewritten before the next layer's qkv_phase barrier. A thread taking
             * the other branch would pair barriers wrongly; none can. */
            if (fsk_skip_run_ffn(&ctx->skip, &policy, l)) {
                sim = ffn_phase(t, ctx, L, s);
                ran = 1;
                fsk_skip_observe(&ctx->skip, &policy, l, sim);
            }
        }
        if (lead) {
            ctx->trace_sim[l] = sim;
            ctx->trace_ran[l] = (uint8_t)ran;
            if (count && !ran)
                ctx->ffn_skipped[l]++;
        }
        if (fsk_skip_exit_test(&ctx->skip, &policy, l)) {
            logits_phase(t, ctx, s);
            fsk_team_barrier(t);
            if (top_probability(ctx->logits, hp->n_vocab) >= ctx->skip.p.threshold) {
                for (uint32_t rest = l + 1; rest < hp->n_layer; rest++) {
                    kv_fill_phase(t, ctx, rest, st->pos, s);
                    if (lead) {
                        ctx->trace_sim[rest] = NAN;
                        ctx->trace_ran[rest] = 0;
                        if (count)
                            ctx->ffn_skipped[rest]++;
                    }
                }
                return; /* the exit's logits are the token's logits */
            }
        }
    }
    /* An unconfident exit test at the last layer has left the final logits already, and other
     * threads may still be reading them in top_probability: writing them again would race. */
    if (st->want_logits && !fsk_skip_exit_test(&ctx->skip, &policy, hp->n_layer - 1))
        logits_phase(t, ctx, s);
}

void fsk_forward_token(struct fsk_context *ctx, int32_t token, int want_logits, unsigned mode)
{
    struct step st = {ctx, token, ctx->pos, want_logits, mode};
    fsk_pool_run(ctx->pool, step_body, &st);
    ctx->pos++;
}

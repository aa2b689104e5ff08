/* prefill.c: batched prompt prefill: a chunk of tokens per weight read, equal to token by token.
 *
 *   X[k] = embed(ids[k])                                     k < n, positions p0 + k
 *   for each layer l:
 *       QKV[k] = [Wq; Wk; Wv] · rmsnorm(X[k])                one matmul over the chunk
 *       cache[p0 + k] = rope(K[k]), V[k]                     every token's key and value first
 *       AO[k] = attention(rope(Q[k]), cache[0 .. p0 + k])    causal, per (token, kv group)
 *       X[k] += Wo · AO[k]
 *       X[k] += Wdown · (silu(Wgate · rmsnorm(X[k])) * Wup · rmsnorm(X[k]))     always dense
 *   logits = Wout · rmsnorm(X[n - 1])
 *
 * Decoding a prompt token by token reads every weight once per token; here each weight block is
 * read once per tile of tokens (kernels' matmul_*), which is what makes prefill compute-bound
 * instead of memory-bound. Bitwise equality with forward.c is kept on purpose, so that a prompt's
 * logits and cache never depend on how it was fed:
 *   - matmuls split rows over threads exactly as forward.c's matvecs do (fsk_team_rows with the
 *     same counts and alignment), and the kernels promise each value equals the matvec's over the
 *     same range; weight types without a matmul run the matvec once per token;
 *   - element-wise ops (add, silu_mul) run per token over the same row ranges;
 *   - attention per (token, kv group) is forward.c's own, fed the same roped and F16-rounded
 *     query, key and value (rounded in place in the chunk's rows, which the cache then holds
 *     exactly); only the scores against the keys a tile of tokens all see are computed in one
 *     call for the tile (attend_tile says why each is the same).
 * One parallel region per chunk; barriers between phases. Inputs of a phase (rmsnorm, activation
 * quantization) are split over threads by token, into buffers the whole team reads.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context.h"
#include "ops.h"

/* Activation slots: one per quantized activation form, so that Q, K and V (or gate and up) of
 * different weight types each find their input ready. */
enum { SLOT_Q8_0, SLOT_Q8_1, SLOT_Q8_K, N_SLOTS };

/* The chunk's activations, token k at row k of each [ctx->prefill_chunk][...] array. */
struct fsk_prefill {
    size_t ld_in;        /* floats per row of xn: the widest matrix input */
    size_t act_stride;   /* bytes per row of act[] */
    float *x;            /* [n_embd] residual stream */
    float *xn;           /* [ld_in] rmsnorm(x), the float input of the next matmuls */
    void *act[N_SLOTS];  /* [act_stride] the input in a quantized form */
    void *act_dn;        /* [act_stride] silu(gate) * up quantized where it is made (ffn_phase) */
    float *qkv;          /* [q_dim + 2 kv_dim] */
    float *ao;           /* [q_dim] attention output, heads concatenated */
    float *hb;           /* [n_ff] silu(gate) * up */
    float *up;           /* [n_ff] */
    float *yout;         /* [n_embd] Wo and Wdown outputs before the residual add */
};

struct chunk {
    struct fsk_context *ctx;
    const int32_t *ids;
    size_t n;
    uint32_t p0;
    int want_logits, count;
};

static int act_slot(uint32_t act_type)
{
    switch (act_type) {
    case FSK_TYPE_Q8_0: return SLOT_Q8_0;
    case FSK_TYPE_Q8_1: return SLOT_Q8_1;
    default: return SLOT_Q8_K;
    }
}

/* FSK_PREFILL_CHUNK's value when it is a whole number in 1..MAX, else 0. */
static size_t chunk_from_env(void)
{
    const char *s = getenv("FSK_PREFILL_CHUNK");
    if (!s || !*s)
        return 0;
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    return *end == '\0' && v >= 1 && v <= FSK_PREFILL_CHUNK_MAX ? (size_t)v : 0;
}

fsk_status fsk_prefill_new(struct fsk_context *ctx, fsk_error *err)
{
    const struct fsk_hparams *hp = &ctx->model->hp;
    const size_t qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    struct fsk_prefill *p = calloc(1, sizeof *p);
    if (!p)
        goto nomem;
    ctx->prefill = p;
    p->ld_in = hp->n_embd > qd ? hp->n_embd : qd;
    if (hp->n_ff > p->ld_in)
        p->ld_in = hp->n_ff;
    p->act_stride = (ctx->act_bytes + 63) / 64 * 64;
    /* bytes of scratch per token: the float rows below and the activation slots */
    const size_t per_tok = (2 * (size_t)hp->n_embd + p->ld_in + qd + 2 * kvd + qd + 2 * (size_t)hp->n_ff) *
                               sizeof(float) + (N_SLOTS + 1) * p->act_stride;
    size_t C = chunk_from_env();
    if (!C) {
        const size_t budget = fsk_gguf_file_size(ctx->model->gguf) / 25;
        for (C = FSK_PREFILL_CHUNK_MAX; C > FSK_PREFILL_CHUNK_MIN && C * per_tok > budget; C /= 2)
            ;
    }
    ctx->prefill_chunk = C;
    p->x = calloc(C * hp->n_embd, sizeof(float));
    p->xn = calloc(C * p->ld_in, sizeof(float));
    p->qkv = calloc(C * (qd + 2 * kvd), sizeof(float));
    p->ao = calloc(C * qd, sizeof(float));
    p->hb = calloc(C * hp->n_ff, sizeof(float));
    p->up = calloc(C * hp->n_ff, sizeof(float));
    p->yout = calloc(C * hp->n_embd, sizeof(float));
    int failed = !p->x || !p->xn || !p->qkv || !p->ao || !p->hb || !p->up || !p->yout;
    for (int s = 0; s < N_SLOTS; s++)
        failed |= !(p->act[s] = calloc(C, p->act_stride));
    failed |= !(p->act_dn = calloc(C, p->act_stride));
    if (!failed)
        return FSK_OK;
nomem:
    fsk_prefill_free(ctx);
    if (err) {
        err->status = FSK_ERR_NOMEM;
        snprintf(err->message, sizeof err->message, "out of memory for the prefill buffers");
    }
    return FSK_ERR_NOMEM;
}

void fsk_prefill_free(struct fsk_context *ctx)
{
    struct fsk_prefill *p = ctx->prefill;
    if (!p)
        return;
    free(p->x); free(p->xn); free(p->qkv); free(p->ao); free(p->hb); free(p->up); free(p->yout);
    for (int s = 0; s < N_SLOTS; s++)
        free(p->act[s]);
    free(p->act_dn);
    free(p);
    ctx->prefill = NULL;
}

static void get_wops(const struct fsk_context *ctx, const struct fsk_weight *w, struct fsk_wops *o)
{
    fsk_wops_for(ctx->k, w->type, o); /* types were checked when the context was made */
}

/* Where w's matmul finds the chunk's input: the quantized slot, or the floats themselves. */
static const void *act_of(const struct fsk_prefill *p, const struct fsk_wops *o, const float *src,
                          size_t ld, size_t *stride)
{
    if (!o->quantize) {
        *stride = ld * sizeof(float);
        return src;
    }
    *stride = p->act_stride;
    return p->act[act_slot(o->act_type)];
}

/* Token k's row of src (ncols floats) into the forms the weights in os[] read; each form once. */
static void quantize_token(struct fsk_prefill *p, const float *row, size_t k, size_t ncols,
                           const struct fsk_wops *const *os, int nos)
{
    for (int i = 0; i < nos; i++) {
        int seen = !os[i]->quantize;
        for (int j = 0; j < i && !seen; j++)
            seen = os[j]->quantize && os[j]->act_type == os[i]->act_type;
        if (!seen)
            os[i]->quantize((unsigned char *)p->act[act_slot(os[i]->act_type)] + k * p->act_stride, row, ncols);
    }
}

/* This thread's tokens of src (n rows of ld floats, ncols used) into the forms the weights in
 * os[] read. The caller puts a barrier after. */
static void quantize_rows(const fsk_team *t, struct fsk_prefill *p, const float *src, size_t ld,
                          size_t ncols, size_t n, const struct fsk_wops *const *os, int nos)
{
    size_t k0, k1;
    fsk_team_rows(t, n, 1, &k0, &k1);
    for (size_t k = k0; k < k1; k++)
        quantize_token(p, src + k * ld, k, ncols, os, nos);
}

/* y[k * ldy + r] = W[r] · x_k for the chunk's n tokens and rows [r0, r1). */
static void matmul_rows(const struct fsk_weight *w, const struct fsk_wops *o, float *y, size_t ldy,
                        const void *x, size_t x_stride, size_t n, size_t r0, size_t r1)
{
    if (r0 >= r1)
        return;
    if (o->matmul) {
        o->matmul(y, ldy, w->data, w->row_bytes, x, x_stride, (size_t)w->cols, n, r0, r1);
        return;
    }
    for (size_t k = 0; k < n; k++) /* no matmul for this type: the matvec, token by token */
        o->matvec(y + k * ldy, w->data, w->row_bytes, (const char *)x + k * x_stride,
                  (size_t)w->cols, r0, r1);
}

/* xn[k] = rmsnorm(x[k]) for this thread's tokens, each followed by its quantized forms for os[]. */
static void norm_rows(fsk_team *t, const struct chunk *c, const float *norm,
                      const struct fsk_wops *const *os, int nos)
{
    const struct fsk_hparams *hp = &c->ctx->model->hp;
    struct fsk_prefill *p = c->ctx->prefill;
    size_t k0, k1;
    fsk_team_rows(t, c->n, 1, &k0, &k1);
    for (size_t k = k0; k < k1; k++) { /* each row quantized while it is still in L1 */
        float *xn = p->xn + k * p->ld_in;
        c->ctx->k->rmsnorm_f32(xn, p->x + k * hp->n_embd, norm, hp->n_embd, hp->rms_eps);
        quantize_token(p, xn, k, hp->n_embd, os, nos);
    }
    fsk_team_barrier(t);
}

/* forward.c's qkv_phase for every token: the same row range per thread. */
static void qkv_phase(fsk_team *t, const struct chunk *c, const struct fsk_layer *L)
{
    const struct fsk_hparams *hp = &c->ctx->model->hp;
    struct fsk_prefill *p = c->ctx->prefill;
    struct fsk_wops o[3];
    const struct fsk_weight *ws[3] = {&L->wq, &L->wk, &L->wv};
    const struct fsk_wops *os[3] = {&o[0], &o[1], &o[2]};
    for (int m = 0; m < 3; m++)
        get_wops(c->ctx, ws[m], &o[m]);
    norm_rows(t, c, L->attn_norm, os, 3);
    size_t qd = (size_t)hp->n_head * hp->head_dim, kvd = (size_t)hp->n_head_kv * hp->head_dim;
    size_t starts[3] = {0, qd, qd + kvd}, total = qd + 2 * kvd;
    size_t r0, r1;
    fsk_team_rows(t, total, 16, &r0, &r1);
    for (int m = 0; m < 3; m++) {
        size_t a = starts[m], b = a + ws[m]->rows;
        size_t lo = r0 > a ? r0 : a, hi = r1 < b ? r1 : b, stride;
        if (lo >= hi)
            continue;
        const void *x = act_of(p, &o[m], p->xn, p->ld_in, &stride);
        matmul_rows(ws[m], &o[m], p->qkv + a, total, x, stride, c->n, lo - a, hi - a);
    }
    fsk_team_barrier(t);
}

/* Per token, in place in the chunk's qkv row: the query and key heads (adjacent in the row) roped
 * in one call, which computes each pair's angle, sine and cosine once for all of them and gives
 * every head what a call of its own would; then queries, keys and values F16-rounded, which is
 * what forward.c hands fsk_attend_heads; then keys and values into the cache, whose halves are
 * those rounded values exactly. */
static void kv_phase(fsk_team *t, const struct chunk *c, uint32_t l)
{
    struct fsk_context *ctx = c->ctx;
    const struct fsk_kernels *kn = ctx->k;
    const struct fsk_hparams *hp = &ctx->model->hp;
    const uint32_t hd = hp->head_dim, nkv = hp->n_head_kv;
    const size_t qd = (size_t)hp->n_head * hd, kvd = (size_t)nkv * hd, total = qd + 2 * kvd;
    size_t k0, k1;
    fsk_team_rows(t, c->n, 1, &k0, &k1);
    for (size_t k = k0; k < k1; k++) {
        const uint32_t pos = c->p0 + (uint32_t)k;
        float *row = ctx->prefill->qkv + k * total;
        kn->rope_f32(row, (size_t)hp->n_head + nkv, hd, pos, hp->rope_base);
        kn->round_f16_f32(row, total);
        for (uint32_t g = 0; g < nkv; g++) {
            const float *kk = row + qd + (size_t)g * hd;
            fsk_kv_put(&ctx->kv, kn, l, g, pos, kk, kk + kvd);
        }
    }
    fsk_team_barrier(t);
}

/* Tokens k0 .. k1 - 1 of the chunk in kv group g: their queries side by side in s->qtile, then
 * the scores against the keys all of them see, [0, A) with A the first token's position rounded
 * down to a whole tile, in one tdot_f16 (each tile widened once for all the tile's queries); each
 * token's remaining keys [A, pos) and the rest of its attention as forward.c does it. tdot_f16
 * computes each score by itself, the same for any split of the range and any number of queries,
 * so each is bit for bit the one decoding computes. */
static void attend_tile(const struct chunk *c, uint32_t l, uint32_t g, size_t k0, size_t k1, struct fsk_scratch *s)
{
    const struct fsk_context *ctx = c->ctx;
    const struct fsk_hparams *hp = &ctx->model->hp;
    const struct fsk_prefill *p = ctx->prefill;
    const uint32_t hd = hp->head_dim, nkv = hp->n_head_kv, group = hp->n_head / nkv, n_ctx = ctx->n_ctx;
    const size_t qd = (size_t)hp->n_head * hd, kvd = (size_t)nkv * hd, total = qd + 2 * kvd;
    const size_t gq = (size_t)group * hd; /* a token's queries of group g */
    for (size_t k = k0; k < k1; k++)
        memcpy(s->qtile + (k - k0) * gq, p->qkv + k * total + g * gq, gq * sizeof(float));
    const void *keys = fsk_kv_ktiles(&ctx->kv, l, g);
    const uint32_t a = (c->p0 + (uint32_t)k0) / FSK_KTILE * FSK_KTILE;
    if (a > 0)
        ctx->k->tdot_f16(s->att, n_ctx, keys, s->qtile, hd, hd, (k1 - k0) * group, 0, a);
    for (size_t k = k0; k < k1; k++) {
        const uint32_t pos = c->p0 + (uint32_t)k;
        float *att = s->att + (k - k0) * group * n_ctx;
        const float *q = s->qtile + (k - k0) * gq, *kk = p->qkv + k * total + qd + (size_t)g * hd;
        if (pos > a)
            ctx->k->tdot_f16(att, n_ctx, keys, q, hd, hd, group, a, pos);
        fsk_attend_finish(ctx, l, g, pos, q, group, kk, kk + kvd, p->ao + k * qd + g * gq, att);
    }
}

/* Tiles of FSK_ATT_TILE / group tokens by kv group, strided over threads rather than in blocks:
 * a token's attention costs in proportion to its position. A group wider than a tile attends
 * token by token, as forward.c does. Queries, keys and values come roped and rounded from
 * kv_phase. */
static void attention_phase(fsk_team *t, const struct chunk *c, uint32_t l, struct fsk_scratch *s)
{
    const struct fsk_hparams *hp = &c->ctx->model->hp;
    struct fsk_prefill *p = c->ctx->prefill;
    const uint32_t hd = hp->head_dim, nh = hp->n_head, nkv = hp->n_head_kv, group = nh / nkv;
    const size_t qd = (size_t)nh * hd, total = qd + 2 * (size_t)nkv * hd;
    if (group > FSK_ATT_TILE) {
        for (size_t i = (size_t)t->id; i < c->n * nkv; i += (size_t)t->n) {
            size_t k = i / nkv;
            uint32_t g = (uint32_t)(i % nkv), h = g * group;
            const float *row = p->qkv + k * total, *kk = row + qd + (size_t)g * hd;
            fsk_attend_heads(c->ctx, l, g, c->p0 + (uint32_t)k, row + (size_t)h * hd, group, kk,
                             kk + (size_t)nkv * hd, p->ao + k * qd + (size_t)h * hd, s);
        }
    } else {
        const size_t tile = FSK_ATT_TILE / group, ntiles = (c->n + tile - 1) / tile;
        for (size_t i = (size_t)t->id; i < ntiles * nkv; i += (size_t)t->n) {
            const size_t k0 = i / nkv * tile, k1 = k0 + tile < c->n ? k0 + tile : c->n;
            attend_tile(c, l, (uint32_t)(i % nkv), k0, k1, s);
        }
    }
    fsk_team_barrier(t);
}

/* x[k] += Wo · ao[k] over forward.c's rows per thread. */
static void attn_out_phase(fsk_team *t, const struct chunk *c, const struct fsk_layer *L)
{
    const struct fsk_hparams *hp = &c->ctx->model->hp;
    struct fsk_prefill *p = c->ctx->prefill;
    const size_t qd = (size_t)hp->n_head * hp->head_dim, E = hp->n_embd;
    struct fsk_wops o;
    get_wops(c->ctx, &L->wo, &o);
    const struct fsk_wops *os[1] = {&o};
    if (o.quantize) { /* float weights read ao as it is: no pass, no barrier */
        quantize_rows(t, p, p->ao, qd, qd, c->n, os, 1);
        fsk_team_barrier(t);
    }
    size_t r0, r1, stride;
    fsk_team_rows(t, E, 16, &r0, &r1);
    const void *x = act_of(p, &o, p->ao, qd, &stride);
    matmul_rows(&L->wo, &o, p->yout, E, x, stride, c->n, r0, r1);
    if (r0 < r1)
        for (size_t k = 0; k < c->n; k++)
            c->ctx->k->add_f32(p->x + k * E + r0, p->x + k * E + r0, p->yout + k * E + r0, r1 - r0);
    fsk_team_barrier(t);
}

/* x[k] += FFN(rmsnorm(x[k])); returns the last token's cos(h, x) (forward.c's skip signal, the
 * same per-thread parts summed in the same order), for the trace. */
static float ffn_phase(fsk_team *t, const struct chunk *c, const struct fsk_layer *L)
{
    struct fsk_context *ctx = c->ctx;
    const struct fsk_hparams *hp = &ctx->model->hp;
    struct fsk_prefill *p = ctx->prefill;
    const size_t E = hp->n_embd, F = hp->n_ff, n = c->n;
    struct fsk_wops og, ou, od;
    get_wops(ctx, &L->gate, &og);
    get_wops(ctx, &L->up, &ou);
    get_wops(ctx, &L->down, &od);
    const struct fsk_wops *gu[2] = {&og, &ou}, *dn[1] = {&od};
    norm_rows(t, c, L->ffn_norm, gu, 2);
    size_t r0, r1, stride;
    fsk_team_rows(t, F, 16, &r0, &r1);
    /* forward.c's fusion: each thread quantizes the silu(gate) * up it makes, into its own slot
     * (gate and up may still be reading theirs), and the pass and barrier after it go */
    const int fused = od.quantize && fsk_team_rows_whole(t, F, 16, fsk_type_traits(od.act_type)->block);
    const void *x = act_of(p, &og, p->xn, p->ld_in, &stride);
    matmul_rows(&L->gate, &og, p->hb, F, x, stride, n, r0, r1);
    x = act_of(p, &ou, p->xn, p->ld_in, &stride);
    matmul_rows(&L->up, &ou, p->up, F, x, stride, n, r0, r1);
    if (r0 < r1) {
        const size_t at = fused ? fsk_act_bytes(od.act_type, r0) : 0;
        for (size_t k = 0; k < n; k++) {
            float *h = p->hb + k * F + r0;
            ctx->k->silu_mul_f32(h, h, p->up + k * F + r0, r1 - r0);
            if (fused)
                od.quantize((unsigned char *)p->act_dn + k * p->act_stride + at, h, r1 - r0);
        }
    }
    fsk_team_barrier(t);

    if (od.quantize && !fused) {
        quantize_rows(t, p, p->hb, F, F, n, dn, 1);
        fsk_team_barrier(t);
    }
    fsk_team_rows(t, E, 16, &r0, &r1);
    x = act_of(p, &od, p->hb, F, &stride);
    if (fused)
        x = p->act_dn;
    matmul_rows(&L->down, &od, p->yout, E, x, stride, n, r0, r1);
    double parts[3] = {0, 0, 0};
    if (r0 < r1) {
        const float *xl = p->x + (n - 1) * E, *f = p->yout + (n - 1) * E;
        for (size_t i = r0; i < r1; i++) {
            double h = xl[i], y = (double)xl[i] + f[i];
            parts[0] += h * y;
            parts[1] += h * h;
            parts[2] += y * y;
        }
        for (size_t k = 0; k < n; k++)
            ctx->k->add_f32(p->x + k * E + r0, p->x + k * E + r0, p->yout + k * E + r0, r1 - r0);
    }
    memcpy(ctx->scratch[t->id].cos_parts, parts, sizeof parts);
    fsk_team_barrier(t);
    double sum[3] = {0, 0, 0};
    for (int i = 0; i < t->n; i++)
        for (int j = 0; j < 3; j++)
            sum[j] += ctx->scratch[i].cos_parts[j];
    if (sum[1] == 0.0 || sum[2] == 0.0)
        return 0.0f;
    return (float)(sum[0] / sqrt(sum[1] * sum[2]));
}

/* forward.c's logits_phase on the last token's hidden state. */
static void logits_phase(fsk_team *t, const struct chunk *c, struct fsk_scratch *s)
{
    struct fsk_context *ctx = c->ctx;
    const fsk_model *m = ctx->model;
    const float *xl = ctx->prefill->x + (c->n - 1) * m->hp.n_embd;
    struct fsk_wops o;
    get_wops(ctx, &m->output, &o);
    ctx->k->rmsnorm_f32(s->xb, xl, m->output_norm, m->hp.n_embd, m->hp.rms_eps);
    const void *act = s->xb;
    if (o.quantize) {
        o.quantize(s->act, s->xb, m->hp.n_embd);
        act = s->act;
    }
    size_t r0, r1;
    fsk_team_rows(t, m->hp.n_vocab, 64, &r0, &r1);
    if (r0 < r1)
        o.matvec(ctx->logits, m->output.data, m->output.row_bytes, act, (size_t)m->output.cols, r0, r1);
}

static void embed_rows(fsk_team *t, const struct chunk *c)
{
    const fsk_model *m = c->ctx->model;
    size_t k0, k1;
    fsk_team_rows(t, c->n, 1, &k0, &k1);
    for (size_t k = k0; k < k1; k++)
        fsk_weight_row(c->ctx->k, m->tok_embd.data, m->tok_embd.type, m->tok_embd.row_bytes,
                       (size_t)c->ids[k], m->hp.n_embd, c->ctx->prefill->x + k * m->hp.n_embd);
    fsk_team_barrier(t);
}

static void chunk_body(fsk_team *t, void *arg)
{
    const struct chunk *c = arg;
    struct fsk_context *ctx = c->ctx;
    const struct fsk_hparams *hp = &ctx->model->hp;
    struct fsk_scratch *s = &ctx->scratch[t->id];
    const int lead = t->id == 0;
    embed_rows(t, c);
    for (uint32_t l = 0; l < hp->n_layer; l++) {
        const struct fsk_layer *L = &ctx->model->layers[l];
        qkv_phase(t, c, L);
        kv_phase(t, c, l);
        attention_phase(t, c, l, s);
        attn_out_phase(t, c, L);
        float sim = ffn_phase(t, c, L);
        if (lead) { /* dense: every FFN ran; the trace is the last token's */
            ctx->trace_sim[l] = sim;
            ctx->trace_ran[l] = 1;
        }
    }
    if (c->want_logits)
        logits_phase(t, c, s);
    if (lead) {
        memcpy(ctx->x, ctx->prefill->x + (c->n - 1) * hp->n_embd, hp->n_embd * sizeof(float));
        if (c->count)
            ctx->stat_tokens += c->n;
    }
}

void fsk_forward_batch(struct fsk_context *ctx, const int32_t *ids, size_t n, int want_logits,
                       unsigned mode)
{
    for (size_t done = 0; done < n;) {
        const size_t chunk = ctx->prefill_chunk;
        size_t m = n - done < chunk ? n - done : chunk;
        struct chunk c = {ctx, ids + done, m, ctx->pos, want_logits && done + m == n,
                          !(mode & FSK_FWD_NO_STATS)};
        fsk_pool_run(ctx->pool, chunk_body, &c);
        ctx->pos += (uint32_t)m;
        done += m;
    }
}

void fsk_forward_prompt(struct fsk_context *ctx, const int32_t *ids, size_t n, int want_logits,
                        unsigned mode)
{
    const int dense = (mode & FSK_FWD_DENSE) || ctx->skip.p.policy == FSK_SKIP_DENSE;
    /* one token gains nothing from a matmul and would pay the batch's extra barriers */
    if (dense && n > 1 && ctx->prefill && !ctx->prefill_tokenwise) {
        fsk_forward_batch(ctx, ids, n, want_logits, mode);
        return;
    }
    for (size_t i = 0; i < n; i++)
        fsk_forward_token(ctx, ids[i], want_logits && i + 1 == n, mode);
}

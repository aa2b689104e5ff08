/* generate.c: prompt prefill, then sample-emit-decode one token at a time, with timings. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "context.h"
#include "tokenizer.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static fsk_status fail(fsk_error *err, fsk_status st, const char *msg)
{
    if (err) {
        err->status = st;
        snprintf(err->message, sizeof err->message, "%s", msg);
    }
    return st;
}

/* The end-of-generation ids of the vocabulary (a handful), for FSK_GEN_IGNORE_EOG; NULL with
 * *n 0 when there are none. */
static int32_t *eog_ids(const struct fsk_tokenizer *tok, size_t *n, int *nomem)
{
    uint32_t nv = fsk_tokenizer_n_vocab(tok);
    size_t count = 0;
    for (uint32_t id = 0; id < nv; id++)
        count += fsk_tokenizer_is_eog(tok, (int32_t)id) != 0;
    *n = 0;
    if (!count)
        return NULL;
    int32_t *ids = malloc(count * sizeof *ids);
    if (!ids) {
        *nomem = 1;
        return NULL;
    }
    for (uint32_t id = 0; id < nv; id++)
        if (fsk_tokenizer_is_eog(tok, (int32_t)id))
            ids[(*n)++] = (int32_t)id;
    return ids;
}

FSK_API fsk_status fsk_generate(fsk_context *ctx, fsk_sampler *sampler, const int32_t *prompt,
                                size_t n_prompt, uint32_t n_predict, fsk_token_cb cb, void *user,
                                fsk_gen_stats *stats, fsk_error *err)
{
    return fsk_generate_ex(ctx, sampler, prompt, n_prompt, n_predict, 0, cb, user, stats, err);
}

FSK_API fsk_status fsk_generate_ex(fsk_context *ctx, fsk_sampler *sampler, const int32_t *prompt,
                                   size_t n_prompt, uint32_t n_predict, unsigned flags, fsk_token_cb cb,
                                   void *user, fsk_gen_stats *stats, fsk_error *err)
{
    if (!ctx || !sampler || (!prompt && n_prompt))
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_generate: NULL argument");
    if (flags & ~(unsigned)FSK_GEN_IGNORE_EOG)
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_generate: unknown flags");
    if (n_prompt == 0)
        return fail(err, FSK_ERR_INVALID_ARG, "fsk_generate: the prompt has no tokens");
    fsk_status st = fsk_context_check_tokens(ctx, prompt, n_prompt, err);
    if (st != FSK_OK)
        return st;
    const struct fsk_tokenizer *tok = ctx->model->tok;
    size_t piece_cap = fsk_tokenizer_max_piece_len(tok) + 8;
    char *piece = malloc(piece_cap);
    int32_t *hist = malloc((n_prompt + n_predict + 1) * sizeof *hist);
    size_t n_eog = 0;
    int nomem = 0;
    int32_t *eog = flags & FSK_GEN_IGNORE_EOG ? eog_ids(tok, &n_eog, &nomem) : NULL;
    if (!piece || !hist || nomem) {
        free(piece);
        free(hist);
        free(eog);
        return fail(err, FSK_ERR_NOMEM, "out of memory starting a generation");
    }
    fsk_gen_stats gs;
    memset(&gs, 0, sizeof gs);
    memcpy(hist, prompt, n_prompt * sizeof *hist);
    size_t n_hist = n_prompt;

    double t0 = now_ms();
    fsk_forward_prompt(ctx, prompt, n_prompt, 1, FSK_FWD_DENSE | FSK_FWD_NO_STATS);
    gs.n_prompt = (uint32_t)n_prompt;
    gs.prompt_ms = now_ms() - t0;

    fsk_detok dt;
    fsk_detok_init(&dt, tok, 0);
    double t1 = now_ms();
    unsigned long b0 = fsk_pool_barriers(ctx->pool);
    for (uint32_t i = 0; i < n_predict; i++) {
        for (size_t e = 0; e < n_eog; e++) /* the logits are the context's own scratch */
            ctx->logits[eog[e]] = -INFINITY;
        int32_t id = fsk_sampler_sample(sampler, ctx->logits, hist, n_hist);
        if (fsk_tokenizer_is_eog(tok, id)) {
            gs.stopped_by_eog = 1;
            break;
        }
        if (ctx->pos >= ctx->n_ctx) {
            gs.context_full = 1;
            break;
        }
        /* the first generated tokens run dense: the paper's warm-up against degeneration */
        fsk_forward_token(ctx, id, 1, i < ctx->skip.p.warmup ? FSK_FWD_DENSE : FSK_FWD_POLICY);
        hist[n_hist++] = id;
        gs.n_generated++;
        size_t n = 0;
        fsk_detok_push(&dt, id, piece, piece_cap, &n, NULL);
        if (cb && cb(user, id, piece, n))
            break;
    }
    size_t n = 0;
    fsk_detok_flush(&dt, piece, piece_cap, &n, NULL);
    if (n && cb)
        cb(user, -1, piece, n);
    gs.decode_ms = now_ms() - t1;
    gs.barriers = fsk_pool_barriers(ctx->pool) - b0;
    if (stats)
        *stats = gs;
    free(piece);
    free(hist);
    free(eog);
    return FSK_OK;
}

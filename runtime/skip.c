/* skip.c: FFN skip policies: FFN-SkipLLM and the paper's baselines, each a few lines on one hook.
 *
 * FFN-SkipLLM, per token: inside the skippable region (all layers but the first cold_first and
 * the last cold_last), each FFN that runs reports s = cos(h, h + FFN(rmsnorm(h))). Once s reaches
 * tau the following FFNs are skipped greedily: span 0 skips to the end of the region, span k skips
 * k layers, then computes one and tests again. Attention always runs, so the KV cache is whole.
 */
#include "config.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "skip.h"

static const char *const names[FSK_SKIP_POLICY_COUNT] = {"dense", "ffn-skip", "ffn-static",
                                                         "ffn-random", "layer-drop", "early-exit"};

FSK_API const char *fsk_skip_policy_name(fsk_skip_policy p)
{
    return (unsigned)p < FSK_SKIP_POLICY_COUNT ? names[p] : "?";
}

FSK_API fsk_status fsk_skip_policy_parse(const char *name, fsk_skip_policy *out)
{
    for (int i = 0; name && out && i < FSK_SKIP_POLICY_COUNT; i++)
        if (!strcmp(name, names[i])) {
            *out = (fsk_skip_policy)i;
            return FSK_OK;
        }
    return FSK_ERR_INVALID_ARG;
}

FSK_API void fsk_skip_default_params(fsk_skip_params *p)
{
    if (!p)
        return;
    memset(p, 0, sizeof *p);
    p->policy = FSK_SKIP_DENSE;
    p->threshold = 0.95f;
    p->warmup = 4;
    p->cold_first = 3;
    p->cold_last = 2;
    p->span = 0;
    p->target = 0.25f;
    p->seed = 1;
}

__attribute__((format(printf, 2, 3))) static fsk_status fail(fsk_error *err, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = FSK_ERR_INVALID_ARG;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return FSK_ERR_INVALID_ARG;
}

static int count_layers(const uint8_t *layers, uint32_t n)
{
    int c = 0;
    for (uint32_t i = 0; i < n; i++)
        c += layers[i] != 0;
    return c;
}

void fsk_skip_pick_layers(const struct fsk_skip_cfg *cfg, uint32_t n, uint8_t *layers)
{
    memset(layers, 0, FSK_MAX_LAYERS);
    uint32_t width = cfg->r1 - cfg->r0;
    if (n > width)
        n = width;
    if (cfg->p.n_profile == cfg->n_layer) {
        for (uint32_t k = 0; k < n; k++) { /* the n most similar layers, ties to the later one */
            int best = -1;
            for (uint32_t l = cfg->r0; l < cfg->r1; l++)
                if (!layers[l] && (best < 0 || cfg->p.profile[l] >= cfg->p.profile[best]))
                    best = (int)l;
            layers[best] = 1;
        }
        return;
    }
    for (uint32_t k = 0; k < n; k++) /* evenly spread, centred in the region */
        layers[cfg->r0 + (uint32_t)(((double)k + 0.5) * width / n)] = 1;
}

fsk_status fsk_skip_configure(struct fsk_skip_cfg *cfg, const fsk_skip_params *params, uint32_t n_layer,
                              fsk_error *err)
{
    const fsk_skip_params *p = params;
    if ((unsigned)p->policy >= FSK_SKIP_POLICY_COUNT)
        return fail(err, "unknown skip policy %u", (unsigned)p->policy);
    if (n_layer > FSK_MAX_LAYERS)
        return fail(err, "skipping supports at most %u layers, the model has %u", FSK_MAX_LAYERS, n_layer);
    /* dense skips nothing, so the default cold regions must not make a shallow model unusable */
    int no_region = (uint64_t)p->cold_first + p->cold_last > n_layer;
    if (no_region && p->policy != FSK_SKIP_DENSE)
        return fail(err, "cold regions of %u layers leave nothing of a %u-layer model", p->cold_first + p->cold_last,
                    n_layer);
    if (!(p->threshold == p->threshold) || !(p->target >= 0.0f && p->target <= 1.0f))
        return fail(err, "threshold must be a number and target lie in [0, 1]");
    if (p->n_profile && p->n_profile != n_layer)
        return fail(err, "the profile has %u layers, the model %u", p->n_profile, n_layer);
    memset(cfg, 0, sizeof *cfg);
    cfg->p = *p;
    cfg->n_layer = n_layer;
    cfg->r0 = no_region ? 0 : p->cold_first;
    cfg->r1 = no_region ? 0 : n_layer - p->cold_last;
    uint32_t width = cfg->r1 - cfg->r0;
    for (uint32_t l = n_layer; l < FSK_MAX_LAYERS; l++)
        cfg->p.layers[l] = 0;
    if (p->policy == FSK_SKIP_FFN_RANDOM) {
        if (width == 0 && p->target > 0)
            return fail(err, "no skippable layers between the cold regions");
        cfg->p_random = width ? (double)p->target * n_layer / width : 0.0;
        if (cfg->p_random > 1.0)
            return fail(err, "a random skip ratio this high needs more than the %u skippable layers of %u",
                        width, n_layer);
    }
    if (p->policy == FSK_SKIP_FFN_STATIC || p->policy == FSK_SKIP_LAYER_DROP) {
        if (count_layers(p->layers, n_layer) == 0)
            fsk_skip_pick_layers(cfg, (uint32_t)lround(p->target * n_layer), cfg->p.layers);
        for (uint32_t l = 0; l < n_layer; l++)
            if (cfg->p.layers[l] && (l < cfg->r0 || l >= cfg->r1))
                return fail(err, "layer %u is in a cold region, which is never skipped", l);
    }
    return FSK_OK;
}

void fsk_skip_token_begin(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, int dense, uint64_t pos)
{
    st->skip_left = 0;
    st->pos = pos;
    st->dense = dense || cfg->p.policy == FSK_SKIP_DENSE;
}

static int in_region(const struct fsk_skip_cfg *cfg, uint32_t l)
{
    return l >= cfg->r0 && l < cfg->r1;
}

int fsk_skip_run_layer(const struct fsk_skip_cfg *cfg, const struct fsk_skip_tok *st, uint32_t l)
{
    return st->dense || cfg->p.policy != FSK_SKIP_LAYER_DROP || !cfg->p.layers[l];
}

/* A uniform number in [0, 1) from (seed, position, layer): the same in every thread. */
static double hash01(uint64_t seed, uint64_t pos, uint32_t l)
{
    uint64_t z = seed ^ (pos * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)l << 48);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

int fsk_skip_run_ffn(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, uint32_t l)
{
    if (st->dense || !in_region(cfg, l))
        return 1;
    switch (cfg->p.policy) {
    case FSK_SKIP_FFN:
        if (st->skip_left == 0)
            return 1;
        st->skip_left--;
        return 0;
    case FSK_SKIP_FFN_STATIC:
    case FSK_SKIP_LAYER_DROP:
        return !cfg->p.layers[l];
    case FSK_SKIP_FFN_RANDOM:
        return hash01(cfg->p.seed, st->pos, l) >= cfg->p_random;
    default:
        return 1;
    }
}

void fsk_skip_observe(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, uint32_t l, float cos)
{
    if (st->dense || cfg->p.policy != FSK_SKIP_FFN || !in_region(cfg, l))
        return;
    if (cos >= cfg->p.threshold)
        st->skip_left = cfg->p.span ? cfg->p.span : UINT32_MAX;
}

int fsk_skip_exit_test(const struct fsk_skip_cfg *cfg, const struct fsk_skip_tok *st, uint32_t l)
{
    if (st->dense || cfg->p.policy != FSK_SKIP_EARLY_EXIT || !in_region(cfg, l))
        return 0;
    uint32_t every = cfg->p.span ? cfg->p.span : 1;
    return (l - cfg->r0) % every == every - 1;
}

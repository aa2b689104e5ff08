/* sampler.c: next-token choice: greedy, or temperature with top-k, top-p and min-p, and a
 * repetition penalty; seeded, so a run is reproducible. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffnskip.h"

struct cand {
    float logit;
    int32_t id;
};

struct fsk_sampler {
    fsk_sampler_params p;
    uint32_t n_vocab;
    uint64_t rng;
    struct cand *c; /* [n_vocab] */
    float *work;    /* [n_vocab] logits after the penalty */
};

FSK_API void fsk_sampler_default_params(fsk_sampler_params *p)
{
    if (!p)
        return;
    p->temperature = 0.8f;
    p->top_k = 40;
    p->top_p = 0.95f;
    p->min_p = 0.05f;
    p->repeat_penalty = 1.0f;
    p->repeat_last_n = 64;
    p->seed = 0x5eed;
}

FSK_API fsk_status fsk_sampler_new(fsk_sampler **out, const fsk_sampler_params *params, uint32_t n_vocab,
                                   fsk_error *err)
{
    const char *bad = NULL;
    if (!out)
        bad = "out is NULL";
    else if (n_vocab == 0)
        bad = "the vocabulary is empty";
    else if (params && !(params->temperature >= 0.0f || params->temperature < 0.0f))
        bad = "temperature is NaN";
    else if (params && !(params->top_p > 0.0f))
        bad = "top-p must be above 0";
    else if (params && !(params->min_p >= 0.0f && params->min_p <= 1.0f))
        bad = "min-p must lie in [0, 1]";
    else if (params && !(params->repeat_penalty > 0.0f))
        bad = "the repetition penalty must be above 0";
    else if (params && params->repeat_last_n < 0)
        bad = "repeat-last-n must not be negative";
    if (bad) {
        if (err) {
            err->status = FSK_ERR_INVALID_ARG;
            snprintf(err->message, sizeof err->message, "sampler: %s", bad);
        }
        return FSK_ERR_INVALID_ARG;
    }
    fsk_sampler *s = calloc(1, sizeof *s);
    if (s) {
        s->c = malloc(n_vocab * sizeof *s->c);
        s->work = malloc(n_vocab * sizeof *s->work);
    }
    if (!s || !s->c || !s->work) {
        fsk_sampler_free(s);
        if (err) {
            err->status = FSK_ERR_NOMEM;
            snprintf(err->message, sizeof err->message, "out of memory creating a sampler");
        }
        return FSK_ERR_NOMEM;
    }
    if (params)
        s->p = *params;
    else
        fsk_sampler_default_params(&s->p);
    s->n_vocab = n_vocab;
    s->rng = s->p.seed ^ 0x9e3779b97f4a7c15ull;
    *out = s;
    return FSK_OK;
}

FSK_API void fsk_sampler_free(fsk_sampler *s)
{
    if (!s)
        return;
    free(s->c);
    free(s->work);
    free(s);
}

/* splitmix64: small, fast, and the same on every platform */
static double uniform(fsk_sampler *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static int by_logit_desc(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit < y->logit ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id; /* ties: lower id first, deterministic */
}

/* Sift-down for a min-heap on (logit, -id) of the k best candidates. */
static int worse(const struct cand *a, const struct cand *b)
{
    return a->logit < b->logit || (a->logit == b->logit && a->id > b->id);
}

static void sift(struct cand *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && worse(&h[l], &h[m])) m = l;
        if (r < n && worse(&h[r], &h[m])) m = r;
        if (m == i) return;
        struct cand t = h[i]; h[i] = h[m]; h[m] = t;
        i = m;
    }
}

/* Leaves the k best candidates, sorted best first, in s->c; returns k. */
static size_t top_k(fsk_sampler *s, const float *logits, size_t k)
{
    size_t n = s->n_vocab;
    if (k == 0 || k > n)
        k = n;
    struct cand *h = s->c;
    for (size_t i = 0; i < k; i++)
        h[i] = (struct cand){logits[i], (int32_t)i};
    for (size_t i = k / 2; i-- > 0;)
        sift(h, k, i);
    for (size_t i = k; i < n; i++)
        if (worse(&h[0], &(struct cand){logits[i], (int32_t)i})) {
            h[0] = (struct cand){logits[i], (int32_t)i};
            sift(h, k, 0);
        }
    qsort(h, k, sizeof *h, by_logit_desc);
    return k;
}

/* The first index of the largest value, NaNs never chosen (but index 0 when it is NaN, as a
 * plain scan from 0 keeps it): the maximum with eight independent running maxima, then a scan
 * for its first occurrence. A plain scan's one compare chain was 2% of a Q8_0 decode step at
 * 49152 logits. */
static int32_t argmax_first(const float *l, uint32_t n)
{
    if (n == 0 || l[0] != l[0])
        return 0;
    float m[8];
    for (int j = 0; j < 8; j++)
        m[j] = l[0];
    uint32_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++)
            m[j] = l[i + (uint32_t)j] > m[j] ? l[i + (uint32_t)j] : m[j];
    for (; i < n; i++)
        m[0] = l[i] > m[0] ? l[i] : m[0];
    float top = m[0];
    for (int j = 1; j < 8; j++)
        top = m[j] > top ? m[j] : top;
    for (i = 0; i < n; i++)
        if (l[i] == top)
            break;
    return (int32_t)i;
}

FSK_API int32_t fsk_sampler_sample(fsk_sampler *s, const float *logits, const int32_t *history,
                                   size_t n_history)
{
    if (!s || !logits)
        return -1;
    const float *l = logits;
    if (s->p.repeat_penalty != 1.0f && history && n_history) {
        memcpy(s->work, logits, s->n_vocab * sizeof *s->work);
        size_t from = n_history > (size_t)s->p.repeat_last_n ? n_history - (size_t)s->p.repeat_last_n : 0;
        for (size_t i = from; i < n_history; i++) {
            int32_t id = history[i];
            if (id < 0 || (uint32_t)id >= s->n_vocab)
                continue;
            float *v = &s->work[id];
            /* once per distinct token: a token seen twice is not penalised twice */
            int seen = 0;
            for (size_t j = from; j < i && !seen; j++)
                seen = history[j] == id;
            if (seen)
                continue;
            *v = *v > 0 ? *v / s->p.repeat_penalty : *v * s->p.repeat_penalty;
        }
        l = s->work;
    }
    if (s->p.temperature <= 0.0f)
        return argmax_first(l, s->n_vocab);
    size_t k = top_k(s, l, s->p.top_k > 0 ? (size_t)s->p.top_k : 0);
    struct cand *c = s->c;
    /* softmax at the temperature, over the k kept; reuse logit for the probability */
    double sum = 0;
    float top = c[0].logit;
    for (size_t i = 0; i < k; i++) {
        c[i].logit = (float)exp((double)(c[i].logit - top) / s->p.temperature);
        sum += c[i].logit;
    }
    /* min-p: drop those below min_p times the best probability */
    size_t keep = k;
    if (s->p.min_p > 0.0f)
        for (size_t i = 1; i < k; i++)
            if (c[i].logit < s->p.min_p * c[0].logit) { keep = i; break; }
    /* top-p: the smallest prefix whose mass reaches top_p */
    if (s->p.top_p < 1.0f) {
        double acc = 0, mass = 0;
        for (size_t i = 0; i < keep; i++)
            mass += c[i].logit;
        for (size_t i = 0; i < keep; i++) {
            acc += c[i].logit;
            if (acc >= s->p.top_p * mass) { keep = i + 1; break; }
        }
    }
    sum = 0;
    for (size_t i = 0; i < keep; i++)
        sum += c[i].logit;
    double r = uniform(s) * sum, acc = 0;
    for (size_t i = 0; i < keep; i++) {
        acc += c[i].logit;
        if (r < acc)
            return c[i].id;
    }
    return c[keep - 1].id;
}

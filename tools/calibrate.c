/* calibrate.c: `ffnskip calibrate`: profiles the per-layer FFN similarity on calibration text,
 * picks the cold regions from the profile and tau by bisection so that the realised skip ratio on
 * that text hits a target, and writes a skip profile. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static int cal_extra(void *user, int argc, char **argv, int *i)
{
    struct cal_opts *c = user;
    const char *a = argv[*i];
    long v;
    if (!strcmp(a, "--text") || !strcmp(a, "-o") || !strcmp(a, "--output") || !strcmp(a, "--target") ||
        !strcmp(a, "--tokens") || !strcmp(a, "--window") || !strcmp(a, "--spans")) {
        if (!has_value(*i, argc, "calibrate", a))
            return -1;
        const char *val = argv[++*i];
        if (!strcmp(a, "--text"))
            c->text = val;
        else if (!strcmp(a, "--spans"))
            c->spans = val;
        else if (!strcmp(a, "-o") || !strcmp(a, "--output"))
            c->out = val;
        else if (!strcmp(a, "--target"))
            return parse_float("calibrate", a, val, 0.0, 0.95, &c->target) == EXIT_OK ? 1 : -1;
        else if (parse_long("calibrate", a, val, 8, 1 << 20, &v) != EXIT_OK)
            return -1;
        else if (!strcmp(a, "--tokens"))
            c->tokens = v;
        else
            c->window = v;
        return 1;
    }
    return 0;
}

/* --spans LIST: comma-separated span counts, parsed before any work starts. */
static int parse_spans(struct cal_opts *c)
{
    char buf[128];
    if (snprintf(buf, sizeof buf, "%s", c->spans) >= (int)sizeof buf)
        return usage_error("calibrate", "--spans wants at most 16 short counts, not '%s'", c->spans);
    char *save;
    c->n_spans = 0;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long v;
        if (c->n_spans == sizeof c->span_list / sizeof *c->span_list)
            return usage_error("calibrate", "--spans wants at most 16 counts");
        if (parse_long("calibrate", "--spans", t, 0, 1024, &v) != EXIT_OK)
            return EXIT_USAGE;
        c->span_list[c->n_spans++] = (uint32_t)v;
    }
    if (c->n_spans == 0)
        return usage_error("calibrate", "--spans wants a comma-separated list of counts, not '%s'", c->spans);
    return EXIT_OK;
}

int calibrate_parse(int argc, char **argv, struct opts *o, struct cal_opts *c)
{
    memset(c, 0, sizeof *c);
    c->spans = "2,4,0";
    c->target = 0.25f;
    c->tokens = 1024;
    c->window = 256;
    int rc = parse_opts_ex("calibrate", argc, argv, o, cal_extra, c);
    if (rc != EXIT_OK)
        return rc;
    if (!c->text)
        return usage_error("calibrate", "--text FILE is required");
    return parse_spans(c);
}

/* The profile is written at the very end: refuse an output path that cannot be written before
 * spending minutes on calibration (by creating and removing a file beside it, as the save does). */
static int writable(const char *path)
{
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp) {
        fprintf(stderr, "%s calibrate: out of memory\n", prog);
        return 0;
    }
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    struct stat st;
    int fd = stat(path, &st) == 0 && S_ISDIR(st.st_mode) ? (errno = EISDIR, -1) : mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "%s calibrate: cannot write %s: %s\n", prog, path, strerror(errno));
        free(tmp);
        return 0;
    }
    close(fd);
    unlink(tmp);
    free(tmp);
    return 1;
}

static void progress(const char *what, size_t done, size_t total)
{
    fprintf(stderr, "\r%s: %zu/%zu tokens (%3.0f%%)", what, done, total, total ? 100.0 * done / total : 100.0);
    if (done == total)
        fprintf(stderr, "\n");
}

/* Dense pass: mean similarity per layer over every token past the warm-up of each window. */
static fsk_status profile_pass(struct session *s, const int32_t *ids, size_t n, size_t window, uint32_t warmup,
                               double *mean, uint32_t n_layer, fsk_error *err)
{
    float *sim = malloc(n_layer * sizeof *sim);
    double *sum = calloc(n_layer, sizeof *sum);
    size_t count = 0;
    fsk_status st = sim && sum ? FSK_OK : FSK_ERR_NOMEM;
    for (size_t w = 0; st == FSK_OK && w < n; w += window) {
        fsk_context_rewind(s->ctx, 0, NULL);
        size_t end = w + window < n ? w + window : n;
        for (size_t i = w; st == FSK_OK && i < end; i++) {
            st = fsk_decode_ex(s->ctx, &ids[i], 1, NULL, FSK_DECODE_DENSE | FSK_DECODE_NO_STATS, err);
            if (st != FSK_OK || i - w < warmup)
                continue;
            fsk_context_last_trace(s->ctx, sim, NULL, n_layer);
            for (uint32_t l = 0; l < n_layer; l++)
                sum[l] += sim[l];
            count++;
        }
        progress("profile", end, n);
    }
    for (uint32_t l = 0; l < n_layer; l++)
        mean[l] = count ? sum[l] / (double)count : 0.0;
    free(sim);
    free(sum);
    return st;
}

/* The skip ratio the policy realises on the text, processed as in generation (each window starts
 * with `warmup` dense tokens, then the policy decides), and the mean negative log-likelihood of
 * each next token under it: the quality signal that picks the span. */
static fsk_status ratio_pass(struct session *s, const int32_t *ids, size_t n, size_t window,
                             const fsk_skip_params *p, double *ratio, double *nll, fsk_error *err)
{
    uint32_t nv = fsk_model_n_vocab(s->model);
    float *logits = malloc(nv * sizeof *logits);
    if (!logits)
        return FSK_ERR_NOMEM;
    fsk_status st = fsk_context_set_skip(s->ctx, p, err);
    fsk_context_reset_stats(s->ctx);
    double sum = 0;
    size_t count = 0;
    for (size_t w = 0; st == FSK_OK && w < n; w += window) {
        fsk_context_rewind(s->ctx, 0, NULL);
        size_t end = w + window < n ? w + window : n;
        for (size_t i = w; st == FSK_OK && i < end; i++) {
            st = fsk_decode_ex(s->ctx, &ids[i], 1, logits, i - w < p->warmup ? FSK_DECODE_DENSE : 0, err);
            if (st != FSK_OK || i + 1 >= end)
                continue;
            float max = logits[0];
            for (uint32_t v = 1; v < nv; v++)
                max = logits[v] > max ? logits[v] : max;
            double z = 0;
            for (uint32_t v = 0; v < nv; v++)
                z += exp((double)logits[v] - max);
            sum += log(z) + max - logits[ids[i + 1]];
            count++;
        }
    }
    fsk_skip_stats stats;
    fsk_context_skip_stats(s->ctx, &stats);
    *ratio = stats.ratio;
    *nll = count ? sum / (double)count : 0.0;
    free(logits);
    return st;
}

/* Bisection on tau for one span: the ratio falls as tau rises. Returns the tau whose ratio came
 * closest to the target, with that ratio and the NLL measured there. */
static fsk_status search_tau(struct session *s, const int32_t *ids, size_t n, size_t window, fsk_skip_params *p,
                             float target, float *tau, double *ratio_out, double *nll_out, fsk_error *err)
{
    /* Below the lowest mean similarity of the region, nearly every token triggers at once: start
     * the bracket a little under it rather than at 0, which saves a few passes over the text. */
    double lo = 1.0, hi = 1.0, best_gap = 2.0;
    for (uint32_t l = p->cold_first; l + p->cold_last < p->n_profile; l++)
        lo = p->profile[l] < lo ? p->profile[l] : lo;
    lo = lo - 0.2 > 0.0 ? lo - 0.2 : 0.0;
    fsk_status st = FSK_OK;
    for (int it = 0; st == FSK_OK && it < 14 && best_gap > 0.005; it++) {
        double ratio, nll;
        p->threshold = (float)(0.5 * (lo + hi));
        st = ratio_pass(s, ids, n, window, p, &ratio, &nll, err);
        if (st != FSK_OK)
            break;
        fprintf(stderr, "calibrate: span %u, tau %.5f: skip ratio %.4f (target %.4f), nll %.4f\n", p->span,
                p->threshold, ratio, target, nll);
        if (fabs(ratio - target) < best_gap) {
            best_gap = fabs(ratio - target);
            *tau = p->threshold;
            *ratio_out = ratio;
            *nll_out = nll;
        }
        if (ratio > target)
            lo = p->threshold;
        else
            hi = p->threshold;
    }
    return st;
}

/* Cold regions: the stretch at each end of the stack before the similarity first reaches the
 * profile's median. Those layers turn the residual stream the most (the paper's "cold" layers);
 * the middle of the stack, where the similarity saturates, is where FFNs may be skipped. */
static void pick_cold(const double *m, uint32_t n, uint32_t *first, uint32_t *last)
{
    double *sorted = malloc(n * sizeof *sorted);
    for (uint32_t i = 0; i < n; i++)
        sorted[i] = m[i];
    for (uint32_t i = 1; i < n; i++) /* insertion sort: n is a few dozen */
        for (uint32_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            double t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    double median = sorted[n / 2];
    free(sorted);
    uint32_t f = 0, l = 0;
    while (f < n && m[f] < median)
        f++;
    while (l < n - f && m[n - 1 - l] < median)
        l++;
    *first = f;
    *last = l;
}

int cmd_calibrate(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("Usage: %s calibrate [-m MODEL] --text FILE [--target R] [-o PROFILE] [OPTIONS]\n\n"
                   "Profile the per-layer similarity cos(h, h + FFN) on calibration text (dense), choose\n"
                   "the cold regions from the profile (unless --skip-cold is given), and search the\n"
                   "threshold tau so that ffn-skip's realised FFN skip ratio on the text hits the target.\n"
                   "Writes the profile that run, chat and eval read with --skip-profile.\n\n"
                   "  --text FILE      calibration text (never the text you evaluate on)\n"
                   "  --target R       FFN skip ratio to reach (default 0.25)\n"
                   "  -o, --output F   profile to write (default: print it to stdout)\n"
                   "  --tokens N       tokens of the text to use (default 1024)\n"
                   "  --window N       tokens per window; each starts from an empty cache (default 256)\n"
                   "  --spans LIST     spans to try (default 2,4,0; 0 = to the end of the region): tau is\n"
                   "                   searched for each, and the span whose text NLL is lowest wins\n"
                   "  -m, -t, -c       model, threads, context as for run\n"
                   "  --skip-span K, --skip-warmup N, --skip-cold F,L   fixed instead of searched\n",
                   prog);
            return EXIT_OK;
        }
    struct cal_opts c;
    struct opts o;
    int rc = calibrate_parse(argc, argv, &o, &c);
    if (rc != EXIT_OK)
        return rc;
    if (c.out && !writable(c.out))
        return EXIT_FAIL; /* ffnskip(1): an output that cannot be written */
    char *text = read_file(c.text, "calibrate");
    if (!text)
        return EXIT_INPUT;
    o.n_ctx = c.window;
    struct session s;
    if ((rc = session_begin("calibrate", &o, &s)) != EXIT_OK) {
        free(text);
        return rc;
    }
    fsk_model_info info;
    fsk_model_get_info(s.model, &info);
    fsk_error err;
    int32_t *ids = NULL;
    size_t n = 0;
    fsk_status st = tokenize(s.model, text, 1, &ids, &n, &err);
    free(text);
    if (st == FSK_OK && n < (size_t)c.window / 2) {
        st = FSK_ERR_INVALID_ARG;
        snprintf(err.message, sizeof err.message, "%s has only %zu tokens; calibration wants at least %ld", c.text,
                 n, c.window / 2);
    }
    if (n > (size_t)c.tokens)
        n = (size_t)c.tokens;
    fsk_skip_params p;
    cli_skip_resolve(&o.skip, "calibrate", &p);
    double *mean = calloc(info.n_layer, sizeof *mean);
    if (st == FSK_OK && !mean)
        st = FSK_ERR_NOMEM;
    if (st == FSK_OK)
        st = profile_pass(&s, ids, n, (size_t)c.window, p.warmup, mean, info.n_layer, &err);
    if (st == FSK_OK) {
        fsk_skip_params given;
        cli_skip_resolve(&o.skip, "calibrate", &given);
        int cold_given = 0;
        for (int i = 1; i < argc; i++)
            cold_given |= !strcmp(argv[i], "--skip-cold");
        if (!cold_given)
            pick_cold(mean, info.n_layer, &p.cold_first, &p.cold_last);
        p.policy = FSK_SKIP_FFN;
        p.target = c.target;
        p.n_profile = info.n_layer;
        for (uint32_t l = 0; l < info.n_layer; l++)
            p.profile[l] = (float)mean[l];
        printf("# layer  mean cos(h, h+FFN)\n");
        for (uint32_t l = 0; l < info.n_layer; l++)
            printf("# %5u  %.5f%s\n", l, mean[l],
                   l < p.cold_first || l >= info.n_layer - p.cold_last ? "  cold" : "");
    }
    /* for each candidate span, the tau that hits the target; keep the span that costs the text's
     * likelihood least (an explicit --skip-span fixes it) */
    uint32_t *spans = c.span_list;
    size_t n_spans = c.n_spans;
    int span_given = 0;
    for (int i = 1; i < argc; i++)
        span_given |= !strcmp(argv[i], "--skip-span");
    if (span_given) {
        spans[0] = p.span;
        n_spans = 1;
    }
    double best_nll = INFINITY, best_ratio = 0;
    float best_tau = 1.0f;
    uint32_t best_span = 0;
    char note[512];
    size_t note_len = 0;
    for (size_t k = 0; st == FSK_OK && k < n_spans; k++) {
        float tau = 1.0f;
        double ratio = 0, nll = 0;
        p.span = spans[k];
        st = search_tau(&s, ids, n, (size_t)c.window, &p, c.target, &tau, &ratio, &nll, &err);
        if (st != FSK_OK)
            break;
        int k_note = snprintf(note + note_len, sizeof note - note_len, "span %u: tau %.5f ratio %.4f nll %.4f\n",
                              spans[k], tau, ratio, nll);
        if (k_note > 0 && (size_t)k_note < sizeof note - note_len)
            note_len += (size_t)k_note;
        if (nll < best_nll) {
            best_nll = nll;
            best_tau = tau;
            best_span = spans[k];
            best_ratio = ratio;
        }
    }
    double best_gap = fabs(best_ratio - c.target);
    rc = EXIT_OK;
    int out_failed = 0;
    if (st == FSK_OK) {
        p.threshold = best_tau;
        p.span = best_span;
        snprintf(note + note_len, sizeof note - note_len,
                 "calibrated on %s: %zu tokens in windows of %ld; realised ratio %.4f (target %.2f)", c.text, n,
                 c.window, best_ratio, c.target);
        printf("# span %u, tau %.5f, cold %u,%u, realised ratio %.4f (within %.4f of %.2f), nll %.4f\n", p.span,
               p.threshold, p.cold_first, p.cold_last, best_ratio, best_gap, c.target, best_nll);
        if (c.out) {
            st = fsk_skip_profile_save(c.out, &p, note, &err);
            if (st == FSK_OK)
                fprintf(stderr, "calibrate: wrote %s\n", c.out);
            else
                out_failed = 1;
        } else {
            printf("ffnskip-profile 1\npolicy ffn-skip\nthreshold %.6f\nwarmup %u\ncold %u %u\nspan %u\ntarget %.4f\n",
                   p.threshold, p.warmup, p.cold_first, p.cold_last, p.span, p.target);
        }
    }
    if (st != FSK_OK) {
        fprintf(stderr, "%s calibrate: %s\n", prog, st == FSK_ERR_NOMEM ? "out of memory" : err.message);
        rc = out_failed ? EXIT_FAIL : exit_for(st); /* ffnskip(1): an unwritable output is 1 */
    }
    free(mean);
    free(ids);
    session_end(&s);
    return rc;
}

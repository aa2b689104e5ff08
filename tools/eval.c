/* eval.c: `ffnskip eval`: dense decoding against each skip policy, in one run, on factoid QA,
 * perplexity, agreement with dense and summarization; quality next to skip ratio and speed. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

enum task { TASK_QA, TASK_PPL, TASK_AGREE, TASK_SUM, TASK_COUNT };
static const char *const task_names[TASK_COUNT] = {"qa", "ppl", "agree", "sum"};
static const char *const task_files[TASK_COUNT] = {"qa-dev.tsv", "ppl-dev.txt", "qa-dev.tsv", "sum-dev.tsv"};
static const long task_n_predict[TASK_COUNT] = {32, 0, 64, 64};

/* The prompts, documented in --help. The QA one is the LLM-KICK prompt of PAPER.md without its
 * trailing space, which a byte-level BPE would make a token of its own. */
#define QA_PROMPT "Please give answer to this question: ", "\nThe answer is"
#define SUM_PROMPT "Summarize the following news article in one sentence.\n\n"
#define SUM_RAW_SUFFIX "\n\nSummary:"

#define MAX_POLICIES 8
#define MAX_CAT 16
#define MAX_EXTRA 24
#define DEFAULT_EXIT_CONFIDENCE 0.9f

struct eval_opts {
    int task; /* -1 until given */
    const char *task_arg, *data, *policies;
    long limit, window;
    int json, quiet, verbose, two_turn, raw, exit_given;
    float exit_threshold;
};

/* ------------------------------------------------------------------ data */

struct item {
    char *f[3];  /* fields, pointing into the file's buffer */
    long line;
    int cat;     /* qa: category index */
    long words;  /* sum: article length in words */
};

struct data {
    const char *path;
    char *buf;
    struct item *items;
    size_t n, cap;
    char *cats[MAX_CAT];
    size_t n_cat;
};

static int data_fail(const struct data *d, long line, const char *what)
{
    if (line > 0)
        fprintf(stderr, "%s eval: %s:%ld: %s\n", prog, d->path, line, what);
    else
        fprintf(stderr, "%s eval: %s: %s\n", prog, d->path, what);
    return EXIT_INPUT;
}

static int push_item(struct data *d, const struct item *it)
{
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 64;
        struct item *b = realloc(d->items, cap * sizeof *b);
        if (!b)
            return data_fail(d, 0, "out of memory");
        d->items = b;
        d->cap = cap;
    }
    d->items[d->n++] = *it;
    return EXIT_OK;
}

static int blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return 0;
    return 1;
}

/* Splits the buffer into lines in place; calls `take` on each line that is neither empty nor,
 * in a TSV, a '#' comment. */
static int each_line(struct data *d, int tsv, int (*take)(struct data *, char *, long))
{
    char *p = d->buf;
    for (long line = 1; *p; line++) {
        char *nl = strchr(p, '\n'), *next = nl ? nl + 1 : p + strlen(p);
        if (nl)
            *nl = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[len - 1] = '\0';
        if (!blank(p) && !(tsv && p[0] == '#')) {
            int rc = take(d, p, line);
            if (rc != EXIT_OK)
                return rc;
        }
        p = next;
    }
    return EXIT_OK;
}

/* Cuts a TSV line into exactly `want` non-empty fields. */
static int split_fields(struct data *d, char *p, long line, int want, const char *names, struct item *it)
{
    int n = 0;
    memset(it, 0, sizeof *it);
    it->line = line;
    for (char *f = p; f; n++) {
        char *tab = strchr(f, '\t');
        if (tab)
            *tab = '\0';
        if (n < 3)
            it->f[n] = f;
        f = tab ? tab + 1 : NULL;
    }
    char msg[256];
    if (n != want) {
        snprintf(msg, sizeof msg, "expected %d tab-separated fields (%s), found %d", want, names, n);
        return data_fail(d, line, msg);
    }
    for (int i = 0; i < want; i++)
        if (blank(it->f[i])) {
            snprintf(msg, sizeof msg, "field %d of %d (%s) is empty", i + 1, want, names);
            return data_fail(d, line, msg);
        }
    return EXIT_OK;
}

static int take_qa(struct data *d, char *p, long line)
{
    struct item it;
    int rc = split_fields(d, p, line, 3, "question, answers separated by |, category", &it);
    if (rc != EXIT_OK)
        return rc;
    for (const char *a = it.f[1];;) { /* an empty answer would be a substring of every output */
        const char *bar = strchr(a, '|');
        size_t len = bar ? (size_t)(bar - a) : strlen(a);
        int empty = 1;
        for (size_t i = 0; i < len; i++)
            empty &= isspace((unsigned char)a[i]) != 0;
        if (empty)
            return data_fail(d, line, "an empty gold answer (check the | separators)");
        if (!bar)
            break;
        a = bar + 1;
    }
    size_t c = 0;
    while (c < d->n_cat && strcmp(d->cats[c], it.f[2]))
        c++;
    if (c == d->n_cat && c < MAX_CAT)
        d->cats[d->n_cat++] = it.f[2];
    it.cat = c < MAX_CAT ? (int)c : -1; /* beyond MAX_CAT categories: counted only overall */
    return push_item(d, &it);
}

static long count_words(const char *s)
{
    long n = 0;
    for (int in = 0; *s; s++) {
        int sp = isspace((unsigned char)*s) != 0;
        n += !sp && !in;
        in = !sp;
    }
    return n;
}

static int take_sum(struct data *d, char *p, long line)
{
    struct item it;
    int rc = split_fields(d, p, line, 2, "article, reference headline", &it);
    if (rc != EXIT_OK)
        return rc;
    it.words = count_words(it.f[0]);
    return push_item(d, &it);
}

static int take_prompt(struct data *d, char *p, long line)
{
    struct item it;
    memset(&it, 0, sizeof it);
    it.f[0] = p;
    it.line = line;
    return push_item(d, &it);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

/* Reads the task's data; the text task keeps the buffer whole. */
static int load_data(const struct eval_opts *e, struct data *d)
{
    if (!(d->buf = read_file(d->path, "eval")))
        return EXIT_INPUT;
    int rc = EXIT_OK;
    if (e->task == TASK_PPL)
        return blank(d->buf) ? data_fail(d, 0, "the text is empty") : EXIT_OK;
    if (e->task == TASK_QA || (e->task == TASK_AGREE && ends_with(d->path, ".tsv")))
        rc = each_line(d, 1, take_qa);
    else if (e->task == TASK_SUM)
        rc = each_line(d, 1, take_sum);
    else
        rc = each_line(d, 0, take_prompt);
    if (rc == EXIT_OK && d->n == 0)
        rc = data_fail(d, 0, "no items (only blank or comment lines)");
    if (rc == EXIT_OK && e->limit > 0 && (size_t)e->limit < d->n)
        d->n = (size_t)e->limit;
    if (rc == EXIT_OK && e->two_turn && d->n < 2)
        rc = data_fail(d, 0, "--two-turn needs at least 2 prompts");
    return rc;
}

static void data_free(struct data *d)
{
    free(d->items);
    free(d->buf);
}

static int dir_has(const char *dir, const char *file)
{
    char p[4096];
    if (snprintf(p, sizeof p, "%s/%s", dir, file) >= (int)sizeof p)
        return 0;
    return access(p, R_OK) == 0;
}

/* The development data: $FSK_EVAL_DIR, ../shared/eval, or shared/eval above the program. */
static const char *find_eval_dir(const char *file, char *buf, size_t len)
{
    const char *env = getenv("FSK_EVAL_DIR");
    if (env && *env)
        return env;
    if (dir_has("../shared/eval", file))
        return "../shared/eval";
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    for (int up = 0; up < 4; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash)
            break;
        *slash = '\0';
        snprintf(buf, len, "%s/shared/eval", exe);
        if (dir_has(buf, file))
            return buf;
    }
    return NULL;
}

/* ------------------------------------------------------------------ progress */

struct progress {
    int on;
    size_t total;
    double t0;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void hms(double s, char *buf, size_t len)
{
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

static void progress_show(const struct progress *pg, size_t done)
{
    if (!pg->on)
        return;
    double el = now_s() - pg->t0;
    char a[32], b[32] = "?";
    hms(el, a, sizeof a);
    if (done)
        hms(el / done * (pg->total - done), b, sizeof b);
    char bar[31];
    size_t fill = pg->total ? done * 30 / pg->total : 30;
    for (size_t i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    fprintf(stderr, "\r[%s] %zu/%zu  %s elapsed, ETA %s ", bar, done, pg->total, a, b);
    if (done == pg->total)
        fprintf(stderr, "\n");
}

/* ------------------------------------------------------------------ policies */

struct acc {
    uint64_t ffn_skipped, ffn_total, tokens;
    double ms;
    double num, den;              /* the metric's sum and count */
    double cat_num[MAX_CAT], cat_den[MAX_CAT]; /* qa: per category; sum: per length bucket */
    double div_sum, rep, rep_total; /* agree: first divergence, repeated 4-grams */
    double vs_dense;              /* sum: ROUGE-L against the dense summary */
};

struct policy {
    fsk_skip_params p;
    char settings[96];
    struct acc a;
};

struct eval {
    struct eval_opts e;
    struct opts o;
    struct session s;
    fsk_model_info info;
    struct data d;
    struct policy pol[MAX_POLICIES];
    size_t n_pol;
    long n_predict;
    char data_path[4096];
};

static void add_policy(struct eval *ev, fsk_skip_policy p)
{
    for (size_t i = 0; i < ev->n_pol; i++)
        if (ev->pol[i].p.policy == p)
            return;
    ev->pol[ev->n_pol++].p.policy = p;
}

/* dense first, then --policies in their order, each once. */
static int parse_policies(struct eval *ev)
{
    add_policy(ev, FSK_SKIP_DENSE);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", ev->e.policies);
    char *save, *t = strtok_r(buf, ",", &save);
    if (!t)
        return usage_error("eval", "--policies wants a comma-separated list of policies");
    for (; t; t = strtok_r(NULL, ",", &save)) {
        fsk_skip_policy p;
        if (fsk_skip_policy_parse(t, &p) != FSK_OK)
            return usage_error("eval", "unknown policy '%s' in --policies (dense, ffn-skip, ffn-static, "
                                       "ffn-random, layer-drop, early-exit)", t);
        add_policy(ev, p);
    }
    return EXIT_OK;
}

/* Layers layer-drop removes to save the weight bytes ffn-skip saves at the target ratio: target x
 * FFN bytes over the bytes of one layer. model_info gives the FFN bytes exactly; a layer's
 * attention bytes are taken as its FFN bytes scaled by the parameter ratio (q, k, v, o against
 * gate, up, down), exact when attention and FFN share a weight type (true of the Q4_1 and Q8_0
 * files; close for K-quant mixes). The output head, also in weight_bytes, belongs to no layer. */
static uint32_t layer_drop_count(const fsk_model_info *mi, float target)
{
    double kv = (double)mi->n_head_kv * mi->head_dim, q = (double)mi->n_head * mi->head_dim;
    double attn_params = mi->n_embd * (2.0 * q + 2.0 * kv), ffn_params = 3.0 * mi->n_embd * mi->n_ff;
    double ffn_layer = (double)mi->ffn_bytes / mi->n_layer;
    double layer = ffn_layer * (1.0 + attn_params / ffn_params);
    return (uint32_t)lround(target * (double)mi->ffn_bytes / layer);
}

static int count_set(const uint8_t *layers, uint32_t n)
{
    int c = 0;
    for (uint32_t i = 0; i < n; i++)
        c += layers[i] != 0;
    return c;
}

/* Each policy's parameters: the resolved profile and --skip* options, with the target turned into
 * what each baseline needs; checked against the model now, so that a bad mix fails before a run. */
static int setup_policies(struct eval *ev, const fsk_skip_params *base)
{
    uint32_t nl = ev->info.n_layer;
    for (size_t i = 0; i < ev->n_pol; i++) {
        struct policy *P = &ev->pol[i];
        fsk_skip_policy kind = P->p.policy;
        P->p = *base;
        P->p.policy = kind;
        if (kind == FSK_SKIP_LAYER_DROP && count_set(base->layers, nl) == 0)
            P->p.target = (float)layer_drop_count(&ev->info, base->target) / (float)nl;
        if (kind == FSK_SKIP_EARLY_EXIT)
            P->p.threshold = ev->e.exit_threshold;
        fsk_error err;
        if (fsk_context_set_skip(ev->s.ctx, &P->p, &err) != FSK_OK) {
            fprintf(stderr, "%s eval: %s: %s\n", prog, fsk_skip_policy_name(kind), err.message);
            return EXIT_USAGE;
        }
        fsk_context_get_skip(ev->s.ctx, &P->p); /* with the layer set the library chose */
        const char *sep = "";
        char *s = P->settings;
        size_t cap = sizeof P->settings;
        switch (kind) {
        case FSK_SKIP_FFN:
            snprintf(s, cap, "tau %.4f, cold %u,%u, span %u", P->p.threshold, P->p.cold_first, P->p.cold_last,
                     P->p.span);
            break;
        case FSK_SKIP_FFN_RANDOM:
            snprintf(s, cap, "ratio %.2f, seed %llu", P->p.target, (unsigned long long)P->p.seed);
            break;
        case FSK_SKIP_FFN_STATIC:
        case FSK_SKIP_LAYER_DROP:
            snprintf(s, cap, "%d layers: ", count_set(P->p.layers, nl));
            for (uint32_t l = 0; l < nl; l++)
                if (P->p.layers[l] && strlen(s) + 6 < cap) {
                    snprintf(s + strlen(s), cap - strlen(s), "%s%u", sep, l);
                    sep = ",";
                }
            break;
        case FSK_SKIP_EARLY_EXIT:
            snprintf(s, cap, "confidence %.2f, cold %u,%u", P->p.threshold, P->p.cold_first, P->p.cold_last);
            break;
        default:
            snprintf(s, cap, "-");
        }
        if (kind != FSK_SKIP_DENSE)
            snprintf(s + strlen(s), cap - strlen(s), ", warm-up %u", P->p.warmup);
    }
    return EXIT_OK;
}

static fsk_status use_policy(struct eval *ev, struct policy *P, fsk_error *err)
{
    fsk_context_reset_stats(ev->s.ctx);
    return fsk_context_set_skip(ev->s.ctx, &P->p, err);
}

static void collect_stats(struct eval *ev, struct policy *P)
{
    fsk_skip_stats st;
    if (fsk_context_skip_stats(ev->s.ctx, &st) == FSK_OK) {
        P->a.ffn_skipped += st.ffn_skipped;
        P->a.ffn_total += st.ffn_total;
    }
}

/* ------------------------------------------------------------------ generation */

struct gen_out {
    int32_t *ids;
    size_t n, cap;
    char *text;
    size_t len, tcap;
    int oom;
};

static void gen_clear(struct gen_out *g)
{
    g->n = g->len = 0;
    g->oom = 0;
    if (g->text)
        g->text[0] = '\0';
}

static void gen_free(struct gen_out *g)
{
    free(g->ids);
    free(g->text);
    memset(g, 0, sizeof *g);
}

static int gen_push_id(struct gen_out *g, int32_t id)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 64;
        int32_t *b = realloc(g->ids, cap * sizeof *b);
        if (!b)
            return g->oom = 1;
        g->ids = b;
        g->cap = cap;
    }
    g->ids[g->n++] = id;
    return 0;
}

static int gen_piece(void *user, int32_t id, const char *piece, size_t len)
{
    struct gen_out *g = user;
    if (id >= 0 && gen_push_id(g, id))
        return 1;
    if (g->len + len + 1 > g->tcap) {
        size_t cap = (g->len + len + 1) * 2;
        char *t = realloc(g->text, cap);
        if (!t)
            return g->oom = 1;
        g->text = t;
        g->tcap = cap;
    }
    memcpy(g->text + g->len, piece, len);
    g->len += len;
    g->text[g->len] = '\0';
    return 0;
}

/* Generates greedily after ids (appended to what the cache holds), counting the generated tokens,
 * their decode time and skip statistics to the policy. */
static fsk_status generate(struct eval *ev, struct policy *P, const int32_t *ids, size_t n, struct gen_out *g,
                           fsk_gen_stats *gs, fsk_error *err)
{
    fsk_status st = use_policy(ev, P, err);
    if (st == FSK_OK)
        st = fsk_generate(ev->s.ctx, ev->s.sampler, ids, n, (uint32_t)ev->n_predict, gen_piece, g, gs, err);
    if (st == FSK_OK && g->oom) {
        snprintf(err->message, sizeof err->message, "out of memory");
        st = FSK_ERR_NOMEM;
    }
    if (st != FSK_OK)
        return st;
    collect_stats(ev, P);
    P->a.tokens += gs->n_generated;
    P->a.ms += gs->decode_ms;
    return FSK_OK;
}

/* The text of a prompt: one user turn of the chat template, or the raw text. */
static fsk_status render(struct eval *ev, const fsk_chat_msg *msgs, size_t n, char **out, fsk_error *err)
{
    size_t need = 0;
    fsk_chat_format(ev->s.model, msgs, n, 1, NULL, 0, &need, NULL);
    *out = malloc(need);
    if (!*out)
        return FSK_ERR_NOMEM;
    return fsk_chat_format(ev->s.model, msgs, n, 1, *out, need, &need, err);
}

static fsk_status prompt_ids(struct eval *ev, const char *user_text, int32_t **ids, size_t *n, fsk_error *err)
{
    char *text = NULL;
    fsk_status st = FSK_OK;
    if (!ev->e.raw) {
        fsk_chat_msg m = {"user", user_text};
        st = render(ev, &m, 1, &text, err);
    }
    *ids = NULL;
    if (st == FSK_OK)
        st = tokenize(ev->s.model, text ? text : user_text, ev->e.raw, ids, n, err);
    free(text);
    return st;
}

/* A prompt: a + b + c. */
static char *concat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *s = malloc(la + lb + lc + 1);
    if (s) {
        memcpy(s, a, la);
        memcpy(s + la, b, lb);
        memcpy(s + la + lb, c, lc + 1);
    }
    return s;
}

/* ------------------------------------------------------------------ metrics */

/* Lower-cased with every space removed: the LLM-KICK normalisation. */
static char *squash(const char *s, size_t len)
{
    char *out = malloc(len + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)s[i]))
            *o++ = (char)tolower((unsigned char)s[i]);
    *o = '\0';
    return out;
}

static int qa_hit(const char *output, const char *gold)
{
    char *out = squash(output, strlen(output));
    int hit = 0;
    for (const char *a = gold; out && !hit;) {
        const char *bar = strchr(a, '|');
        size_t len = bar ? (size_t)(bar - a) : strlen(a);
        char *g = squash(a, len);
        hit = g && *g && strstr(out, g) != NULL;
        free(g);
        if (!bar)
            break;
        a = bar + 1;
    }
    free(out);
    return hit;
}

/* Share of a token sequence's 4-grams that already occurred earlier in it. */
static void repeated_4grams(const int32_t *t, size_t n, double *rep, double *total)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !memcmp(t + i, t + j, 4 * sizeof *t);
        *rep += seen;
        *total += 1;
    }
}

/* Word tokens for ROUGE: maximal runs of letters and digits (and non-ASCII bytes), lower-cased. */
static size_t words(const char *s, char ***out)
{
    size_t n = 0, cap = 0;
    char **w = NULL;
    for (const char *p = s; *p;) {
        while (*p && !(isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
            p++;
        const char *b = p;
        while (*p && (isalnum((unsigned char)*p) || (unsigned char)*p >= 0x80))
            p++;
        if (p == b)
            break;
        if (n == cap) {
            char **g = realloc(w, (cap = cap ? 2 * cap : 32) * sizeof *g);
            if (!g)
                break;
            w = g;
        }
        char *word = squash(b, (size_t)(p - b));
        if (!word)
            break;
        w[n++] = word;
    }
    *out = w;
    return n;
}

static void words_free(char **w, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(w[i]);
    free(w);
}

/* ROUGE-L F1: the longest common subsequence of words, as precision and recall's harmonic mean. */
static double rouge_l(const char *cand, const char *ref)
{
    char **a, **b;
    size_t na = words(cand, &a), nb = words(ref, &b);
    double f = na == 0 && nb == 0 ? 1.0 : 0.0;
    size_t *prev = calloc(nb + 1, sizeof *prev), *cur = calloc(nb + 1, sizeof *cur);
    if (na && nb && prev && cur) {
        for (size_t i = 1; i <= na; i++) {
            for (size_t j = 1; j <= nb; j++)
                cur[j] = !strcmp(a[i - 1], b[j - 1]) ? prev[j - 1] + 1
                                                     : (prev[j] > cur[j - 1] ? prev[j] : cur[j - 1]);
            size_t *t = prev;
            prev = cur;
            cur = t;
        }
        double lcs = (double)prev[nb], p = lcs / na, r = lcs / nb;
        f = lcs > 0 ? 2 * p * r / (p + r) : 0.0;
    }
    free(prev);
    free(cur);
    words_free(a, na);
    words_free(b, nb);
    return f;
}

static int bucket_of(long words_n)
{
    return words_n < 150 ? 0 : words_n < 350 ? 1 : 2;
}

/* ------------------------------------------------------------------ tasks */

/* --verbose: one output on one line of stderr, control characters shown as escapes. */
static void show(const struct eval *ev, const struct item *it, const struct policy *P, const char *text)
{
    if (!ev->e.verbose)
        return;
    fprintf(stderr, "%s:%ld %s: ", ev->d.path, it->line, fsk_skip_policy_name(P->p.policy));
    for (const char *p = text ? text : ""; *p; p++)
        if (*p == '\n')
            fputs("\\n", stderr);
        else if ((unsigned char)*p < 0x20)
            fprintf(stderr, "\\x%02x", (unsigned char)*p);
        else
            fputc(*p, stderr);
    fputc('\n', stderr);
}

static int item_fail(const struct eval *ev, const struct item *it, fsk_status st, const fsk_error *err)
{
    fprintf(stderr, "\n%s eval: %s:%ld: %s\n", prog, ev->d.path, it->line,
            st == FSK_ERR_NOMEM ? "out of memory" : err->message);
    return exit_for(st);
}

static int run_qa(struct eval *ev, struct progress *pg)
{
    struct gen_out g = {0};
    for (size_t i = 0; i < ev->d.n; i++) {
        const struct item *it = &ev->d.items[i];
        fsk_error err;
        int32_t *ids = NULL;
        size_t n = 0;
        static const char *const qa[2] = {QA_PROMPT};
        char *q = concat3(qa[0], it->f[0], qa[1]);
        fsk_status st = q ? prompt_ids(ev, q, &ids, &n, &err) : FSK_ERR_NOMEM;
        for (size_t k = 0; st == FSK_OK && k < ev->n_pol; k++) {
            struct policy *P = &ev->pol[k];
            fsk_gen_stats gs;
            gen_clear(&g);
            fsk_context_rewind(ev->s.ctx, 0, NULL);
            st = generate(ev, P, ids, n, &g, &gs, &err);
            if (st != FSK_OK)
                break;
            int hit = qa_hit(g.text ? g.text : "", it->f[1]);
            show(ev, it, P, g.text);
            P->a.num += hit;
            P->a.den += 1;
            if (it->cat >= 0) {
                P->a.cat_num[it->cat] += hit;
                P->a.cat_den[it->cat] += 1;
            }
        }
        free(q);
        free(ids);
        if (st != FSK_OK) {
            gen_free(&g);
            return item_fail(ev, it, st, &err);
        }
        progress_show(pg, i + 1);
    }
    gen_free(&g);
    return EXIT_OK;
}

static double log_sum_exp(const float *x, uint32_t n)
{
    float max = x[0];
    for (uint32_t i = 1; i < n; i++)
        if (x[i] > max)
            max = x[i];
    double s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += exp((double)x[i] - max);
    return max + log(s);
}

/* One window under one policy, from an empty cache: the first warm-up tokens dense, then the
 * policy, as in generation. Scores the next-token predictions the policy made (those after the
 * warm-up; the dense ones are the same under every policy). */
static fsk_status ppl_window(struct eval *ev, struct policy *P, const int32_t *ids, size_t n, float *logits,
                             fsk_error *err)
{
    fsk_context_rewind(ev->s.ctx, 0, NULL);
    fsk_status st = use_policy(ev, P, err);
    uint32_t nv = ev->info.n_vocab;
    for (size_t i = 0; st == FSK_OK && i + 1 < n; i++) {
        int scored = i >= P->p.warmup;
        double t0 = now_s();
        st = fsk_decode_ex(ev->s.ctx, &ids[i], 1, scored ? logits : NULL, scored ? 0 : FSK_DECODE_DENSE, err);
        P->a.ms += 1e3 * (now_s() - t0);
        P->a.tokens++;
        if (st == FSK_OK && scored) {
            P->a.num += log_sum_exp(logits, nv) - logits[ids[i + 1]];
            P->a.den += 1;
        }
    }
    if (st == FSK_OK)
        collect_stats(ev, P);
    return st;
}

static int run_ppl(struct eval *ev, struct progress *pg)
{
    fsk_error err;
    int32_t *ids = NULL;
    size_t n = 0;
    fsk_status st = tokenize(ev->s.model, ev->d.buf, 1, &ids, &n, &err);
    size_t w = (size_t)ev->e.window;
    size_t n_win = (n + w - 1) / w;
    if (st == FSK_OK && ev->e.limit > 0 && (size_t)ev->e.limit < n_win)
        n_win = (size_t)ev->e.limit;
    float *logits = malloc(ev->info.n_vocab * sizeof *logits);
    if (st == FSK_OK && !logits)
        st = FSK_ERR_NOMEM;
    if (st != FSK_OK) {
        fprintf(stderr, "%s eval: %s: %s\n", prog, ev->d.path, st == FSK_ERR_NOMEM ? "out of memory" : err.message);
        free(ids);
        free(logits);
        return exit_for(st);
    }
    pg->total = n_win;
    ev->d.n = n_win;
    for (size_t k = 0; k < n_win && st == FSK_OK; k++) {
        size_t len = n - k * w < w ? n - k * w : w;
        for (size_t p = 0; p < ev->n_pol && st == FSK_OK; p++)
            st = ppl_window(ev, &ev->pol[p], ids + k * w, len, logits, &err);
        progress_show(pg, k + 1);
    }
    int rc = EXIT_OK;
    if (st != FSK_OK) {
        fprintf(stderr, "\n%s eval: %s: %s\n", prog, ev->d.path, err.message);
        rc = exit_for(st);
    } else if (ev->pol[0].a.den == 0) {
        fprintf(stderr, "%s eval: %s: %zu tokens leave nothing to score after the warm-up of each window\n", prog,
                ev->d.path, n);
        rc = EXIT_INPUT;
    }
    free(ids);
    free(logits);
    return rc;
}

/* The tokens of an answer, with a mark for an end of turn, so that stopping counts as a token. */
static void seal(struct gen_out *g, const fsk_gen_stats *gs)
{
    if (gs->stopped_by_eog)
        gen_push_id(g, -2);
}

/* Agreement of b with the dense a: matching positions over the longer length. */
static void agreement(struct acc *A, const struct gen_out *a, const struct gen_out *b)
{
    size_t lo = a->n < b->n ? a->n : b->n, hi = a->n > b->n ? a->n : b->n, first = lo;
    double same = 0;
    for (size_t i = 0; i < lo; i++) {
        if (a->ids[i] == b->ids[i])
            same++;
        else if (first == lo)
            first = i;
    }
    A->num += hi ? same / hi : 1.0;
    A->den += 1;
    A->div_sum += (double)first;
}

/* One prompt (or conversation) under one policy; out receives the measured answer's tokens. */
static fsk_status agree_one(struct eval *ev, struct policy *P, const char *q1, const char *q2, struct gen_out *out,
                            fsk_error *err)
{
    int32_t *ids = NULL;
    size_t n = 0;
    fsk_gen_stats gs;
    fsk_context_rewind(ev->s.ctx, 0, NULL);
    gen_clear(out);
    fsk_status st = prompt_ids(ev, q1, &ids, &n, err);
    if (st == FSK_OK)
        st = generate(ev, P, ids, n, out, &gs, err);
    free(ids);
    ids = NULL;
    if (st != FSK_OK)
        return st;
    if (!q2) {
        seal(out, &gs);
        return FSK_OK;
    }
    /* the second turn: the cache holds turn one and the model's own answer; decode only what the
     * template adds after them, as `ffnskip chat` does */
    fsk_chat_msg m1 = {"user", q1};
    char *first = NULL, *all = NULL;
    st = render(ev, &m1, 1, &first, err);
    char *answer = out->text ? strdup(out->text) : strdup("");
    fsk_chat_msg msgs[3] = {{"user", q1}, {"assistant", answer ? answer : ""}, {"user", q2}};
    if (st == FSK_OK)
        st = answer ? render(ev, msgs, 3, &all, err) : FSK_ERR_NOMEM;
    size_t from = 0, fl = first ? strlen(first) : 0;
    if (st == FSK_OK && !strncmp(all, first, fl) && !strncmp(all + fl, answer, strlen(answer)))
        from = fl + strlen(answer);
    else
        fsk_context_rewind(ev->s.ctx, 0, NULL);
    if (st == FSK_OK)
        st = tokenize(ev->s.model, all + from, 0, &ids, &n, err);
    gen_clear(out);
    if (st == FSK_OK)
        st = generate(ev, P, ids, n, out, &gs, err);
    if (st == FSK_OK)
        seal(out, &gs);
    free(ids);
    free(first);
    free(all);
    free(answer);
    return st;
}

static int run_agree(struct eval *ev, struct progress *pg)
{
    struct gen_out dense = {0}, g = {0};
    int rc = EXIT_OK;
    for (size_t i = 0; i < ev->d.n && rc == EXIT_OK; i++) {
        const struct item *it = &ev->d.items[i];
        const char *q2 = ev->e.two_turn ? ev->d.items[(i + 1) % ev->d.n].f[0] : NULL;
        fsk_error err;
        fsk_status st = FSK_OK;
        for (size_t k = 0; k < ev->n_pol && st == FSK_OK; k++) {
            struct policy *P = &ev->pol[k];
            struct gen_out *out = k == 0 ? &dense : &g;
            st = agree_one(ev, P, it->f[0], q2, out, &err);
            if (st == FSK_OK && (out->oom || dense.oom))
                st = FSK_ERR_NOMEM;
            if (st != FSK_OK)
                break;
            agreement(&P->a, &dense, out);
            show(ev, it, P, out->text);
            size_t len = out->n && out->ids[out->n - 1] == -2 ? out->n - 1 : out->n;
            repeated_4grams(out->ids, len, &P->a.rep, &P->a.rep_total);
        }
        if (st != FSK_OK)
            rc = item_fail(ev, it, st, &err);
        else
            progress_show(pg, i + 1);
    }
    gen_free(&dense);
    gen_free(&g);
    return rc;
}

static int run_sum(struct eval *ev, struct progress *pg)
{
    struct gen_out dense = {0}, g = {0};
    int rc = EXIT_OK;
    for (size_t i = 0; i < ev->d.n && rc == EXIT_OK; i++) {
        const struct item *it = &ev->d.items[i];
        fsk_error err;
        int32_t *ids = NULL;
        size_t n = 0;
        char *q = concat3(SUM_PROMPT, it->f[0], ev->e.raw ? SUM_RAW_SUFFIX : "");
        fsk_status st = q ? prompt_ids(ev, q, &ids, &n, &err) : FSK_ERR_NOMEM;
        int b = bucket_of(it->words);
        for (size_t k = 0; k < ev->n_pol && st == FSK_OK; k++) {
            struct policy *P = &ev->pol[k];
            struct gen_out *out = k == 0 ? &dense : &g;
            fsk_gen_stats gs;
            gen_clear(out);
            fsk_context_rewind(ev->s.ctx, 0, NULL);
            st = generate(ev, P, ids, n, out, &gs, &err);
            if (st != FSK_OK)
                break;
            const char *text = out->text ? out->text : "";
            show(ev, it, P, text);
            double r = rouge_l(text, it->f[1]);
            P->a.num += r;
            P->a.den += 1;
            P->a.cat_num[b] += r;
            P->a.cat_den[b] += 1;
            P->a.vs_dense += rouge_l(text, dense.text ? dense.text : "");
        }
        free(q);
        free(ids);
        if (st != FSK_OK)
            rc = item_fail(ev, it, st, &err);
        else
            progress_show(pg, i + 1);
    }
    gen_free(&dense);
    gen_free(&g);
    return rc;
}

/* ------------------------------------------------------------------ the table */

struct row {
    const char *policy, *settings;
    double skip, metric, delta, tps, speedup;
    double extra[MAX_EXTRA];
};

struct table {
    const char *metric;
    size_t n_rows, n_extra;
    char extra_names[MAX_EXTRA][64];
    struct row rows[MAX_POLICIES];
};

static double ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

static void add_extra(struct table *t, const char *name)
{
    if (t->n_extra < MAX_EXTRA)
        snprintf(t->extra_names[t->n_extra++], sizeof t->extra_names[0], "%s", name);
}

static void build_table(const struct eval *ev, struct table *t)
{
    static const char *const metric_names[TASK_COUNT] = {"accuracy", "perplexity", "agreement", "ROUGE-L"};
    static const char *const buckets[3] = {"R-L short", "R-L medium", "R-L long"};
    memset(t, 0, sizeof *t);
    t->metric = metric_names[ev->e.task];
    char name[64];
    if (ev->e.task == TASK_QA) /* the categories of the items run */
        for (size_t c = 0; c < ev->d.n_cat; c++)
            if (ev->pol[0].a.cat_den[c] > 0) {
                snprintf(name, sizeof name, "acc %s", ev->d.cats[c]);
                add_extra(t, name);
            }
    if (ev->e.task == TASK_PPL)
        add_extra(t, "NLL/token");
    if (ev->e.task == TASK_AGREE) {
        add_extra(t, "first divergence");
        add_extra(t, "repeated 4-grams");
    }
    if (ev->e.task == TASK_SUM) {
        add_extra(t, "R-L vs dense");
        for (int b = 0; b < 3; b++)
            add_extra(t, buckets[b]);
    }
    for (size_t k = 0; k < ev->n_pol; k++) {
        const struct acc *A = &ev->pol[k].a;
        struct row *r = &t->rows[t->n_rows++];
        r->policy = fsk_skip_policy_name(ev->pol[k].p.policy);
        r->settings = ev->pol[k].settings;
        r->skip = ratio((double)A->ffn_skipped, (double)A->ffn_total);
        double mean = ratio(A->num, A->den);
        r->metric = ev->e.task == TASK_PPL ? exp(mean) : mean;
        r->tps = A->tokens ? ratio(1e3 * (double)A->tokens, A->ms) : NAN;
        size_t x = 0;
        if (ev->e.task == TASK_QA)
            for (size_t c = 0; c < ev->d.n_cat; c++)
                if (ev->pol[0].a.cat_den[c] > 0)
                    r->extra[x++] = ratio(A->cat_num[c], A->cat_den[c]);
        if (ev->e.task == TASK_PPL)
            r->extra[x++] = mean;
        if (ev->e.task == TASK_AGREE) {
            r->extra[x++] = ratio(A->div_sum, A->den);
            r->extra[x++] = ratio(A->rep, A->rep_total);
        }
        if (ev->e.task == TASK_SUM) {
            r->extra[x++] = ratio(A->vs_dense, A->den);
            for (int b = 0; b < 3; b++)
                r->extra[x++] = ratio(A->cat_num[b], A->cat_den[b]);
        }
    }
    for (size_t k = 0; k < t->n_rows; k++) {
        t->rows[k].delta = t->rows[k].metric - t->rows[0].metric;
        t->rows[k].speedup = ratio(t->rows[k].tps, t->rows[0].tps);
    }
}

enum style { PERCENT, PLAIN, SIGNED, RATE, TIMES };

static void cell(char *buf, size_t len, enum style how, double v)
{
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else if (how == PERCENT)
        snprintf(buf, len, "%.1f%%", 100 * v);
    else if (how == SIGNED)
        snprintf(buf, len, "%+.4f", v);
    else if (how == RATE)
        snprintf(buf, len, "%.1f", v);
    else if (how == TIMES)
        snprintf(buf, len, "%.2fx", v);
    else
        snprintf(buf, len, "%.4f", v);
}

/* A markdown table, columns padded so that it also reads as plain text. */
static void print_table(const struct table *t, FILE *f)
{
    enum { NC = 7 + MAX_EXTRA };
    static char cells[MAX_POLICIES + 1][NC][128];
    size_t nc = 7 + t->n_extra, w[NC] = {0};
    const char *head[7] = {"policy", "settings", "FFN skip", t->metric, "delta", "tok/s", "speed-up"};
    for (size_t c = 0; c < nc; c++)
        snprintf(cells[0][c], sizeof cells[0][c], "%s", c < 7 ? head[c] : t->extra_names[c - 7]);
    for (size_t r = 0; r < t->n_rows; r++) {
        const struct row *R = &t->rows[r];
        char (*s)[128] = cells[r + 1];
        snprintf(s[0], 128, "%s", R->policy);
        snprintf(s[1], 128, "%s", R->settings);
        cell(s[2], 128, PERCENT, R->skip);
        cell(s[3], 128, PLAIN, R->metric);
        cell(s[4], 128, SIGNED, R->delta);
        cell(s[5], 128, RATE, R->tps);
        cell(s[6], 128, TIMES, R->speedup);
        for (size_t x = 0; x < t->n_extra; x++)
            cell(s[7 + x], 128, PLAIN, R->extra[x]);
    }
    for (size_t r = 0; r <= t->n_rows; r++)
        for (size_t c = 0; c < nc; c++)
            if (strlen(cells[r][c]) > w[c])
                w[c] = strlen(cells[r][c]);
    for (size_t r = 0; r <= t->n_rows; r++) { /* names to the left, numbers to the right */
        for (size_t c = 0; c < nc; c++)
            fprintf(f, c < 2 ? "| %-*s " : "| %*s ", (int)w[c], cells[r][c]);
        fprintf(f, "|\n");
        if (r > 0)
            continue;
        for (size_t c = 0; c < nc; c++) {
            fprintf(f, "|%s", c < 2 ? ":" : "");
            for (size_t i = 0; i <= w[c]; i++)
                fputc('-', f);
            fprintf(f, "%s", c < 2 ? "" : ":");
        }
        fprintf(f, "|\n");
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static void json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}

static void json_field(FILE *f, const char *key, double v)
{
    fprintf(f, ", ");
    json_str(f, key);
    fprintf(f, ": ");
    json_num(f, v);
}

static void print_json(const struct eval *ev, const struct table *t, const char *model, FILE *f)
{
    fprintf(f, "{\"task\": ");
    json_str(f, task_names[ev->e.task]);
    fprintf(f, ", \"data\": ");
    json_str(f, ev->d.path);
    fprintf(f, ", \"model\": ");
    json_str(f, model);
    fprintf(f, ", \"items\": %zu, \"max_new_tokens\": %ld, \"chat_template\": %s, \"metric\": ", ev->d.n,
            ev->e.task == TASK_PPL ? 0 : ev->n_predict, ev->e.raw ? "false" : "true");
    json_str(f, t->metric);
    fprintf(f, ",\n \"rows\": [");
    for (size_t r = 0; r < t->n_rows; r++) {
        const struct row *R = &t->rows[r];
        fprintf(f, "%s\n  {\"policy\": ", r ? "," : "");
        json_str(f, R->policy);
        fprintf(f, ", \"settings\": ");
        json_str(f, R->settings);
        json_field(f, "ffn_skip_ratio", R->skip);
        json_field(f, "metric", R->metric);
        json_field(f, "delta", R->delta);
        json_field(f, "tok_per_s", R->tps);
        json_field(f, "speedup", R->speedup);
        fprintf(f, ", \"extra\": {");
        for (size_t x = 0; x < t->n_extra; x++) {
            fprintf(f, "%s", x ? ", " : "");
            json_str(f, t->extra_names[x]);
            fprintf(f, ": ");
            json_num(f, R->extra[x]);
        }
        fprintf(f, "}}");
    }
    fprintf(f, "\n ]}\n");
}

static void print_caption(const struct eval *ev, const char *model, FILE *f)
{
    const char *base = strrchr(ev->d.path, '/');
    base = base ? base + 1 : ev->d.path;
    const char *m = strrchr(model, '/');
    m = m ? m + 1 : model;
    if (ev->e.task == TASK_PPL)
        fprintf(f, "ppl on %s: %zu window%s of %ld tokens, model %s\n\n", base, ev->d.n, ev->d.n == 1 ? "" : "s",
                ev->e.window, m);
    else
        fprintf(f, "%s%s on %s: %zu items, greedy, up to %ld new tokens, %s, model %s\n\n",
                task_names[ev->e.task], ev->e.two_turn ? " (two turns)" : "", base, ev->d.n, ev->n_predict,
                ev->e.raw ? "raw prompt" : "chat template", m);
}

/* ------------------------------------------------------------------ command line */

static const char eval_help[] =
    "Usage: %s eval TASK [-m MODEL] [--data FILE] [--policies LIST] [--skip-profile F]\n"
    "                    [--skip* options] [--limit N] [--json] [-t N] [OPTIONS]\n\n"
    "Run dense decoding and each skip policy of LIST over the same data in one process, and\n"
    "print one table: the realised FFN skip ratio (over generated tokens), the task's metric\n"
    "and its change against dense, decode speed (generated tokens / decode time) and speed-up.\n"
    "Items are taken one at a time, every policy in turn, so that all see the same machine.\n\n"
    "Tasks:\n"
    "  qa     factoid QA (TSV: question, answers separated by |, category). Prompt, as one user\n"
    "         turn of the chat template: \"Please give answer to this question: {q}\\nThe answer is\";\n"
    "         greedy, up to 32 new tokens, stops at end of turn. A hit: a gold answer, lower-cased\n"
    "         and without spaces, is a substring of the output treated the same. Metric: accuracy,\n"
    "         also per category.\n"
    "  ppl    perplexity of a text, token by token as in generation, in windows of --window\n"
    "         tokens each from an empty cache; the first --skip-warmup tokens of a window run\n"
    "         dense, the rest under the policy; the predictions of the policy's tokens are scored.\n"
    "  agree  greedy continuations (up to 64 tokens) under each policy against dense: share of\n"
    "         positions with the dense token (an end of turn counts as a token), mean position of\n"
    "         the first difference (the answer's length if none), share of repeated 4-grams in the\n"
    "         answers (collapse). Prompts: --data, one per line (a .tsv is read as QA data: its\n"
    "         questions), each as one user turn; default: the questions of qa-dev.tsv.\n"
    "         --two-turn: prompt i, the model's own answer, then prompt i+1 in the same\n"
    "         conversation (KV cache kept); the second answer is compared.\n"
    "  sum    summarization (TSV: article, reference headline). Prompt: \"Summarize the following\n"
    "         news article in one sentence.\\n\\n{article}\"; greedy, up to 64 tokens. ROUGE-L F1\n"
    "         (longest common subsequence of lower-cased words) against the headline, overall and\n"
    "         by article length (short < 150 words, medium < 350, long), and against the dense\n"
    "         model's own summary.\n\n"
    "Options:\n"
    "  --data FILE          the task's data (default: qa-dev.tsv, ppl-dev.txt, sum-dev.tsv in\n"
    "                       $FSK_EVAL_DIR, ../shared/eval, or shared/eval above the program)\n"
    "  --policies LIST      comma list of dense, ffn-skip, ffn-static, ffn-random, layer-drop,\n"
    "                       early-exit (default dense,ffn-skip); dense always runs, first\n"
    "  --limit N            only the first N items (ppl: windows)\n"
    "  --window N           ppl: tokens per window (default 256)\n"
    "  --two-turn           agree: the multi-turn setting above\n"
    "  --raw                no chat template: the prompt text as is, after BOS (base models);\n"
    "                       sum then appends \"\\n\\nSummary:\"\n"
    "  --exit-threshold P   early-exit's confidence (default: --skip-threshold when given, else 0.9)\n"
    "  -n N                 new tokens at most (default: qa 32, agree 64, sum 64)\n"
    "  --json               print the table as a JSON object instead\n"
    "  --quiet              no progress bar (it is shown only when stderr is a terminal)\n"
    "  --verbose            print every output to stderr, one line per item and policy\n"
    "  -m, -t, -c           model, threads, context as for run (ppl: -c at least --window)\n\n"
    "Each policy's parameters come from --skip-profile and the --skip* options (ffn-skip's tau,\n"
    "warm-up, cold regions, span). The target ratio (--skip-target, else the profile's) sets\n"
    "ffn-random's probability and the number of ffn-static's layers (target x layers, the most\n"
    "similar by the profile); layer-drop drops as many whole layers as hold the weight bytes\n"
    "ffn-skip saves at the target (target x FFN bytes / bytes per layer), so both read the same\n"
    "bytes. --skip-layers fixes the set of both static policies.\n\n%s";

static int eval_extra(void *user, int argc, char **argv, int *i)
{
    struct eval_opts *e = user;
    const char *a = argv[*i];
    if (a[0] != '-') {
        if (e->task_arg) {
            usage_error("eval", "unexpected argument '%s' (one TASK only)", a);
            return -1;
        }
        e->task_arg = a;
        return 1;
    }
    static const char *const flags[] = {"--json", "--quiet", "--verbose", "--two-turn", "--raw"};
    int *flag_vars[] = {&e->json, &e->quiet, &e->verbose, &e->two_turn, &e->raw};
    for (size_t k = 0; k < 5; k++)
        if (!strcmp(a, flags[k])) {
            *flag_vars[k] = 1;
            return 1;
        }
    if (strcmp(a, "--data") && strcmp(a, "--policies") && strcmp(a, "--limit") && strcmp(a, "--window") &&
        strcmp(a, "--exit-threshold"))
        return 0;
    if (!has_value(*i, argc, "eval", a))
        return -1;
    const char *v = argv[++*i];
    if (!strcmp(a, "--data"))
        e->data = v;
    else if (!strcmp(a, "--policies"))
        e->policies = v;
    else if (!strcmp(a, "--limit"))
        return parse_long("eval", a, v, 1, 1L << 30, &e->limit) == EXIT_OK ? 1 : -1;
    else if (!strcmp(a, "--window"))
        return parse_long("eval", a, v, 8, 1 << 20, &e->window) == EXIT_OK ? 1 : -1;
    else {
        e->exit_given = 1;
        return parse_float("eval", a, v, 0.0, 1.0, &e->exit_threshold) == EXIT_OK ? 1 : -1;
    }
    return 1;
}

static int given(int argc, char **argv, const char *a, const char *b)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], a) || (b && !strcmp(argv[i], b)))
            return 1;
    return 0;
}

/* Options, task and data: everything that can fail before the model loads. */
static int eval_parse(struct eval *ev, int argc, char **argv)
{
    struct eval_opts *e = &ev->e;
    e->task = -1;
    e->policies = "dense,ffn-skip";
    e->window = 256;
    e->exit_threshold = DEFAULT_EXIT_CONFIDENCE;
    int rc = parse_opts_ex("eval", argc, argv, &ev->o, eval_extra, e);
    if (rc != EXIT_OK)
        return rc;
    if (!e->task_arg)
        return usage_error("eval", "which TASK: qa, ppl, agree or sum?");
    for (int t = 0; t < TASK_COUNT; t++)
        if (!strcmp(e->task_arg, task_names[t]))
            e->task = t;
    if (e->task < 0)
        return usage_error("eval", "unknown task '%s' (qa, ppl, agree or sum)", e->task_arg);
    if (given(argc, argv, "--skip", NULL))
        return usage_error("eval", "eval runs the policies of --policies; --skip is not used");
    if (ev->o.prompt || ev->o.prompt_file || ev->o.system)
        return usage_error("eval", "-p, -f and --system are not used: the prompts come from --data");
    if (e->two_turn && (e->task != TASK_AGREE || e->raw))
        return usage_error("eval", "--two-turn is for agree, through the chat template (not with --raw)");
    if (e->task == TASK_PPL && ev->o.n_ctx && ev->o.n_ctx < e->window)
        return usage_error("eval", "-c %ld is smaller than --window %ld", ev->o.n_ctx, e->window);
    if (!e->exit_given && given(argc, argv, "--skip-threshold", NULL)) {
        fsk_skip_params p;
        if (cli_skip_resolve(&ev->o.skip, "eval", &p) != 0)
            return EXIT_INPUT;
        e->exit_threshold = p.threshold;
    }
    if ((rc = parse_policies(ev)) != EXIT_OK)
        return rc;
    ev->n_predict = given(argc, argv, "-n", "--n-predict") ? ev->o.n_predict : task_n_predict[e->task];
    if (e->task != TASK_PPL && ev->n_predict < 1)
        return usage_error("eval", "-n must be at least 1");
    ev->o.sp.temperature = 0; /* every comparison is greedy */
    ev->o.sp.repeat_penalty = 1;
    if (e->task == TASK_PPL && ev->o.n_ctx == 0)
        ev->o.n_ctx = e->window;
    ev->d.path = e->data;
    if (!ev->d.path) {
        char buf[4096];
        const char *file = task_files[e->task], *dir = find_eval_dir(file, buf, sizeof buf);
        if (!dir)
            return usage_error("eval", "no --data FILE given and no %s found in $FSK_EVAL_DIR, ../shared/eval "
                                       "or shared/eval above the program", file);
        if (snprintf(ev->data_path, sizeof ev->data_path, "%s/%s", dir, file) >= (int)sizeof ev->data_path)
            return usage_error("eval", "the path of %s is too long; give --data", file);
        ev->d.path = ev->data_path;
    }
    return load_data(e, &ev->d);
}

static int eval_run(struct eval *ev, const char *model)
{
    fsk_skip_params base;
    if (cli_skip_resolve(&ev->o.skip, "eval", &base) != 0)
        return EXIT_INPUT;
    fsk_model_get_info(ev->s.model, &ev->info);
    int rc = setup_policies(ev, &base);
    if (rc != EXIT_OK)
        return rc;
    if (ev->e.task == TASK_PPL && base.warmup + 2 > (uint32_t)ev->e.window)
        return usage_error("eval", "--window %ld leaves nothing after a warm-up of %u tokens", ev->e.window,
                           base.warmup);
    struct progress pg = {isatty(2) && !ev->e.quiet && !ev->e.verbose, ev->d.n, now_s()};
    static int (*const runs[TASK_COUNT])(struct eval *, struct progress *) = {run_qa, run_ppl, run_agree, run_sum};
    if ((rc = runs[ev->e.task](ev, &pg)) != EXIT_OK)
        return rc;
    struct table t;
    build_table(ev, &t);
    if (ev->e.json) {
        print_json(ev, &t, model, stdout);
    } else {
        print_caption(ev, model, stdout);
        print_table(&t, stdout);
    }
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

int cmd_eval(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf(eval_help, prog, cli_skip_help);
            return EXIT_OK;
        }
    static struct eval ev; /* the table of policies is large; one per process */
    memset(&ev, 0, sizeof ev);
    int rc = eval_parse(&ev, argc, argv);
    if (rc == EXIT_OK) {
        char buf[4096];
        const char *model = ev.o.model ? ev.o.model : find_model(buf, sizeof buf);
        if ((rc = session_begin("eval", &ev.o, &ev.s)) == EXIT_OK) {
            rc = eval_run(&ev, model ? model : "?");
            session_end(&ev.s);
        }
    }
    data_free(&ev.d);
    return rc;
}

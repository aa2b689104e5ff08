/* test_skip.c: FFN skipping (FFN-SkipLLM and the paper's baselines) through the public API, on a
 * tiny random llama written here as GGUF; the skip profile file; and `ffnskip calibrate`.
 *
 * The model: 8 layers, n_embd 64, n_ff 128, 4 query heads over 2 KV heads, a byte-level BPE
 * vocabulary (256 byte tokens, 32 merges, one control token). Its FFN down-projections are scaled
 * per layer (down_scale) so that some FFNs turn the residual stream a lot and some barely, and
 * the similarity cos(h, h + FFN) differs by layer and by token: the adaptive policy has real
 * decisions to make and calibration has a profile to read. Every check is on the mechanism
 * (which blocks run, which KV rows are written, what is counted), never on output quality.
 *
 * The KV checks include the internal context.h: the tests link the library's convenience archive,
 * and a fresh cache is zeroed, so an unwritten row is visible as all-zero bits.
 */
#include "config.h"

#include <check.h>
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "context.h"
#include "f16.h"
#include "ffnskip.h"
#include "gguf_writer.h"
#include "quant.h"

enum { N_LAYER = 8, N_EMBD = 64, N_FF = 128, N_HEAD = 4, N_HEAD_KV = 2, N_CTX = 512 };
enum { HEAD_DIM = N_EMBD / N_HEAD, KV_DIM = N_HEAD_KV * HEAD_DIM };

/* How far each layer's FFN output reaches: the first and last layers turn h the most (the paper's
 * cold layers), the middle ones little, so the similarity saturates in the middle of the stack. */
static const float down_scale[N_LAYER] = {2.5f, 1.6f, 0.7f, 0.45f, 0.35f, 0.3f, 0.5f, 2.5f};

#define SP "\xc4\xa0" /* GPT-2's printable stand-in for the space byte */
static const char *const merges[] = {
    SP " t", "h e", SP "t he", "i n", "e r", "a n", SP " a", "o n", "r e", SP " s", "e n",
    "a t", "o r", SP " o", "e s", SP " w", "i s", SP " c", "a l", SP " b", "i t", SP " f",
    "a r", SP " p", "e d", "in g", SP "a n", SP "an d", "o u", SP " m", "l e", SP "o f",
};
enum { N_MERGES = sizeof merges / sizeof *merges, N_TEXT_TOKENS = 256 + N_MERGES,
       T_BOS = N_TEXT_TOKENS, N_VOCAB = N_TEXT_TOKENS + 1 };

static char tmpdir[64];
static char model_f32[128], model_q8[128], text_path[128];

/* ------------------------------------------------------------------ the tiny model */

static uint64_t rng;

static double urand(void) /* splitmix64, uniform in [-1, 1) */
{
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

/* Writes a rows x cols matrix of uniform values in [-scale, scale) as type. */
static void add_matrix(gw *w, const char *name, uint32_t type, uint64_t rows, uint64_t cols, double scale)
{
    float *f = malloc(rows * cols * sizeof *f);
    const uint64_t ne[2] = {cols, rows};
    size_t nb = gw_tensor_bytes(type, 2, ne), rb = fsk_type_row_bytes(type, cols);
    unsigned char *buf = malloc(nb);
    if (!f || !buf || nb == 0)
        abort();
    for (uint64_t i = 0; i < rows * cols; i++)
        f[i] = (float)(urand() * scale);
    for (uint64_t r = 0; r < rows; r++) {
        const float *src = f + r * cols;
        unsigned char *dst = buf + r * rb;
        if (type == FSK_TYPE_F32)
            memcpy(dst, src, cols * sizeof *src);
        else if (type == FSK_TYPE_Q8_0)
            fsk_quantize_row_q8_0(dst, src, cols);
        else
            for (uint64_t c = 0; c < cols; c++) {
                uint16_t h = fsk_f32_to_f16(src[c]);
                memcpy(dst + 2 * c, &h, 2);
            }
    }
    gw_tensor(w, name, type, 2, ne, buf, nb);
    free(buf);
    free(f);
}

static void add_norm(gw *w, const char *name)
{
    float v[N_EMBD];
    for (int i = 0; i < N_EMBD; i++)
        v[i] = (float)(1.0 + 0.1 * urand());
    gw_tensor(w, name, FSK_TYPE_F32, 1, (const uint64_t[]){N_EMBD}, v, sizeof v);
}

static void add_vocab(gw *w)
{
    static char byte_tok[256][3], merged[N_MERGES][16];
    const char *toks[N_VOCAB];
    int32_t types[N_VOCAB];
    unsigned n = 0;
    for (unsigned b = 0; b < 256; b++) { /* GPT-2's byte -> code point table */
        int self = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
        unsigned c = self ? b : 256 + n++;
        memset(byte_tok[b], 0, 3);
        if (c < 0x80) {
            byte_tok[b][0] = (char)c;
        } else {
            byte_tok[b][0] = (char)(0xc0 | c >> 6);
            byte_tok[b][1] = (char)(0x80 | (c & 0x3f));
        }
        toks[b] = byte_tok[b];
        types[b] = 1;
    }
    for (unsigned i = 0; i < N_MERGES; i++) { /* "a b" makes the token "ab" */
        const char *sp = strchr(merges[i], ' ');
        snprintf(merged[i], sizeof merged[i], "%.*s%s", (int)(sp - merges[i]), merges[i], sp + 1);
        toks[256 + i] = merged[i];
        types[256 + i] = 1;
    }
    toks[T_BOS] = "<|bos|>";
    types[T_BOS] = 3;
    gw_kv_str(w, "tokenizer.ggml.model", "gpt2");
    gw_kv_str(w, "tokenizer.ggml.pre", "gpt2");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", N_VOCAB, toks);
    gw_kv_arr(w, "tokenizer.ggml.token_type", FSK_GGUF_I32, N_VOCAB, types);
    gw_kv_arr_str(w, "tokenizer.ggml.merges", N_MERGES, merges);
    gw_kv_u32(w, "tokenizer.ggml.bos_token_id", T_BOS);
    gw_kv_bool(w, "tokenizer.ggml.add_bos_token", 1);
}

/* The same weights (one seed) in the given matrix type; norms are always F32. */
static void write_model(const char *path, uint32_t type)
{
    rng = 20240403;
    gw *w = gw_new();
    gw_kv_str(w, "general.architecture", "llama");
    gw_kv_str(w, "general.name", "skiptest-tiny");
    gw_kv_u32(w, "llama.context_length", N_CTX);
    gw_kv_u32(w, "llama.embedding_length", N_EMBD);
    gw_kv_u32(w, "llama.feed_forward_length", N_FF);
    gw_kv_u32(w, "llama.block_count", N_LAYER);
    gw_kv_u32(w, "llama.attention.head_count", N_HEAD);
    gw_kv_u32(w, "llama.attention.head_count_kv", N_HEAD_KV);
    gw_kv_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gw_kv_f32(w, "llama.rope.freq_base", 10000.0f);
    add_vocab(w);
    add_matrix(w, "token_embd.weight", type, N_VOCAB, N_EMBD, 1.0);
    add_norm(w, "output_norm.weight");
    add_matrix(w, "output.weight", type, N_VOCAB, N_EMBD, 0.3);
    for (int l = 0; l < N_LAYER; l++) {
        char name[64];
#define NAME(s) (snprintf(name, sizeof name, "blk.%d." s, l), name)
        add_norm(w, NAME("attn_norm.weight"));
        add_matrix(w, NAME("attn_q.weight"), type, N_EMBD, N_EMBD, 0.2);
        add_matrix(w, NAME("attn_k.weight"), type, KV_DIM, N_EMBD, 0.2);
        add_matrix(w, NAME("attn_v.weight"), type, KV_DIM, N_EMBD, 0.2);
        add_matrix(w, NAME("attn_output.weight"), type, N_EMBD, N_EMBD, 0.1);
        add_norm(w, NAME("ffn_norm.weight"));
        add_matrix(w, NAME("ffn_gate.weight"), type, N_FF, N_EMBD, 0.2);
        add_matrix(w, NAME("ffn_up.weight"), type, N_FF, N_EMBD, 0.2);
        add_matrix(w, NAME("ffn_down.weight"), type, N_EMBD, N_FF, 0.15 * down_scale[l]);
#undef NAME
    }
    if (gw_write_file(w, path) != 0) {
        fprintf(stderr, "test_skip: cannot write %s\n", path);
        exit(1);
    }
    gw_free(w);
}

/* A few KB of English-like text for calibration: any bytes would do, the vocabulary covers all. */
static void write_text(const char *path)
{
    static const char *const words[] = {
        "the", "of", "and", "a", "to", "in", "is", "was", "that", "for", "it", "with", "as", "on",
        "be", "at", "by", "this", "had", "not", "are", "but", "from", "or", "have", "an", "they",
        "which", "one", "you", "were", "her", "all", "she", "there", "would", "their", "river",
        "mountain", "station", "winter", "orchard", "lantern", "harbour", "quietly", "painted",
    };
    FILE *f = fopen(path, "w");
    if (!f)
        exit(1);
    rng = 7;
    size_t n = 0;
    for (int s = 0; n < 6000; s++) {
        int len = 6 + (int)((urand() + 1.0) * 5);
        for (int i = 0; i < len; i++) {
            const char *wd = words[(size_t)((urand() + 1.0) * 0.5 * (sizeof words / sizeof *words))];
            if (i == 0) /* sentences start with a capital */
                n += (size_t)fprintf(f, "%c%s", wd[0] - 32, wd + 1);
            else
                n += (size_t)fprintf(f, " %s", wd);
        }
        n += (size_t)fprintf(f, "%s", s % 5 == 4 ? ".\n" : ". ");
    }
    fclose(f);
}

/* ------------------------------------------------------------------ helpers */

static fsk_model *load(const char *path)
{
    fsk_model *m = NULL;
    fsk_error err;
    fsk_status st = fsk_model_load(&m, path, NULL, &err);
    ck_assert_msg(st == FSK_OK, "%s", err.message);
    return m;
}

static fsk_context *context(fsk_model *m, int threads, uint32_t n_ctx)
{
    fsk_context_params cp;
    fsk_context_default_params(&cp);
    cp.n_ctx = n_ctx;
    cp.n_threads = threads;
    cp.bind_threads = 0;
    fsk_context *c = NULL;
    fsk_error err;
    fsk_status st = fsk_context_new(&c, m, &cp, &err);
    ck_assert_msg(st == FSK_OK, "%s", err.message);
    return c;
}

static fsk_skip_params params(fsk_skip_policy policy, float tau, uint32_t cold_first, uint32_t cold_last,
                              uint32_t span)
{
    fsk_skip_params p;
    fsk_skip_default_params(&p);
    p.policy = policy;
    p.threshold = tau;
    p.cold_first = cold_first;
    p.cold_last = cold_last;
    p.span = span;
    p.warmup = 0;
    return p;
}

static void set_skip(fsk_context *c, const fsk_skip_params *p)
{
    fsk_error err;
    fsk_status st = fsk_context_set_skip(c, p, &err);
    ck_assert_msg(st == FSK_OK, "%s: %s", fsk_skip_policy_name(p->policy), err.message);
}

static void decode(fsk_context *c, int32_t id, float *logits, unsigned flags)
{
    fsk_error err;
    fsk_status st = fsk_decode_ex(c, &id, 1, logits, flags, &err);
    ck_assert_msg(st == FSK_OK, "%s", err.message);
}

static void trace(const fsk_context *c, float *sim, uint8_t *ran)
{
    ck_assert_int_eq(fsk_context_last_trace(c, sim, ran, N_LAYER), FSK_OK);
}

/* A fixed token sequence that uses the whole text vocabulary. */
static int32_t tok(size_t i)
{
    return (int32_t)((i * 97 + 13) % N_TEXT_TOKENS);
}

static int cold(uint32_t l, uint32_t first, uint32_t last)
{
    return l < first || l >= N_LAYER - last;
}

/* What ffn-skip must run when every similarity reaches tau: the first layer of the region runs;
 * span 0 skips the rest of the region, span k skips k, runs one, skips k, ... */
static int span_ran(uint32_t l, uint32_t first, uint32_t last, uint32_t span)
{
    if (cold(l, first, last))
        return 1;
    uint32_t i = l - first;
    return span == 0 ? i == 0 : i % (span + 1) == 0;
}

static const char *const models[2] = {model_f32, model_q8};

/* ------------------------------------------------------------------ exactness */

/* A threshold no similarity reaches never skips, so logits stay bitwise dense; the same with an
 * early exit that is never confident. A threshold every similarity reaches does change them. */
START_TEST(test_unreachable_threshold_is_dense)
{
    fsk_model *m = load(models[_i]);
    fsk_context *dense = context(m, 1, 64), *skip = context(m, 1, 64), *exit_ = context(m, 2, 64),
                *exit2 = context(m, 1, 64), *low = context(m, 1, 64);
    fsk_skip_params p = params(FSK_SKIP_FFN, 1.5f, 1, 1, 0);
    set_skip(skip, &p);
    p = params(FSK_SKIP_EARLY_EXIT, 1.1f, 1, 0, 0); /* tests after every layer, the last included */
    set_skip(exit_, &p);
    p.span = 2; /* tests after layers 2, 4 and 6 */
    set_skip(exit2, &p);
    p = params(FSK_SKIP_FFN, -2.0f, 1, 1, 0);
    set_skip(low, &p);
    float a[N_VOCAB], b[N_VOCAB], e[N_VOCAB], e2[N_VOCAB], d[N_VOCAB];
    uint8_t ran[N_LAYER];
    float sim[N_LAYER];
    int differs = 0;
    for (size_t i = 0; i < 24; i++) {
        decode(dense, tok(i), a, 0);
        decode(skip, tok(i), b, 0);
        decode(exit_, tok(i), e, 0);
        decode(exit2, tok(i), e2, 0);
        decode(low, tok(i), d, 0);
        ck_assert_msg(memcmp(a, b, sizeof a) == 0, "ffn-skip with tau 1.5 differs from dense at token %zu", i);
        ck_assert_msg(memcmp(a, e, sizeof a) == 0 && memcmp(a, e2, sizeof a) == 0,
                      "early-exit that never exits differs at token %zu", i);
        differs |= memcmp(a, d, sizeof a) != 0;
        trace(skip, sim, ran);
        for (int l = 0; l < N_LAYER; l++) {
            ck_assert_int_eq(ran[l], 1);
            ck_assert_msg(sim[l] > -1.0f && sim[l] <= 1.0f, "similarity %g at layer %d", sim[l], l);
        }
    }
    ck_assert_msg(differs, "skipping FFNs did not change any logits: the comparison is blind");
    fsk_skip_stats st;
    ck_assert_int_eq(fsk_context_skip_stats(skip, &st), FSK_OK);
    ck_assert_uint_eq(st.tokens, 24);
    ck_assert_uint_eq(st.ffn_skipped, 0);
    fsk_context_free(dense);
    fsk_context_free(skip);
    fsk_context_free(exit_);
    fsk_context_free(exit2);
    fsk_context_free(low);
    fsk_model_free(m);
}
END_TEST

/* Rows of every matvec are whole in one thread, so the thread count cannot change a logit; with a
 * policy whose decisions do not depend on rounding, traces agree as well. */
START_TEST(test_threads_agree)
{
    fsk_model *m = load(models[_i]);
    static const int threads[2] = {1, 3};
    float logits[2][3][N_VOCAB];
    uint8_t ran[2][3][N_LAYER];
    fsk_context *c[2][3];
    for (int t = 0; t < 2; t++) {
        fsk_skip_params ps[3] = {params(FSK_SKIP_DENSE, 0.95f, 0, 0, 0), params(FSK_SKIP_FFN, -2.0f, 2, 1, 0),
                                 params(FSK_SKIP_FFN_RANDOM, 0.0f, 1, 1, 0)};
        ps[2].target = 0.4f;
        for (int k = 0; k < 3; k++) {
            c[t][k] = context(m, threads[t], 64);
            set_skip(c[t][k], &ps[k]);
        }
    }
    for (size_t i = 0; i < 20; i++)
        for (int t = 0; t < 2; t++)
            for (int k = 0; k < 3; k++) {
                decode(c[t][k], tok(i), logits[t][k], 0);
                trace(c[t][k], NULL, ran[t][k]);
                if (t == 1) {
                    ck_assert_msg(memcmp(logits[0][k], logits[1][k], sizeof logits[0][k]) == 0,
                                  "policy %d: 1 and 3 threads differ at token %zu", k, i);
                    ck_assert_msg(memcmp(ran[0][k], ran[1][k], N_LAYER) == 0,
                                  "policy %d: 1 and 3 threads decide differently at token %zu", k, i);
                }
            }
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < 3; k++)
            fsk_context_free(c[t][k]);
    fsk_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ the signal */

/* A reference of the first token's step in double, from the F32 model's own weights. At position
 * 0 attention is trivial (one key: softmax 1, the output is the F16-rounded value), so the whole
 * step is a few matvecs. */
static void ref_matvec(const struct fsk_weight *w, const double *x, double *y)
{
    ck_assert_int_eq(w->type, FSK_TYPE_F32);
    for (uint64_t r = 0; r < w->rows; r++) {
        const float *row = (const float *)((const char *)w->data + r * w->row_bytes);
        double s = 0;
        for (uint64_t c = 0; c < w->cols; c++)
            s += (double)row[c] * x[c];
        y[r] = s;
    }
}

static void ref_rmsnorm(const double *x, const float *w, double *out)
{
    double ss = 0;
    for (int i = 0; i < N_EMBD; i++)
        ss += x[i] * x[i];
    double k = 1.0 / sqrt(ss / N_EMBD + 1e-5);
    for (int i = 0; i < N_EMBD; i++)
        out[i] = x[i] * k * w[i];
}

/* One layer at position 0 on h; runs the FFN when asked and returns cos(h, h + FFN) (NaN if not). */
static double ref_layer(const fsk_model *m, uint32_t l, double *h, int run_ffn)
{
    const struct fsk_layer *L = &m->layers[l];
    double xn[N_EMBD], v[KV_DIM], ao[N_EMBD], y[N_EMBD], g[N_FF], u[N_FF];
    ref_rmsnorm(h, L->attn_norm, xn);
    ref_matvec(&L->wv, xn, v);
    for (int i = 0; i < N_EMBD; i++) /* query head i/HEAD_DIM reads kv head (i/HEAD_DIM)/group */
        ao[i] = fsk_f16_to_f32(fsk_f32_to_f16((float)v[(i / HEAD_DIM) / (N_HEAD / N_HEAD_KV) * HEAD_DIM + i % HEAD_DIM]));
    ref_matvec(&L->wo, ao, y);
    for (int i = 0; i < N_EMBD; i++)
        h[i] += y[i];
    if (!run_ffn)
        return NAN;
    ref_rmsnorm(h, L->ffn_norm, xn);
    ref_matvec(&L->gate, xn, g);
    ref_matvec(&L->up, xn, u);
    for (int i = 0; i < N_FF; i++)
        g[i] = g[i] / (1.0 + exp(-g[i])) * u[i];
    ref_matvec(&L->down, g, y);
    double hy = 0, hh = 0, yy = 0;
    for (int i = 0; i < N_EMBD; i++) {
        double after = h[i] + y[i];
        hy += h[i] * after;
        hh += h[i] * h[i];
        yy += after * after;
        h[i] = after;
    }
    return hy / sqrt(hh * yy);
}

/* The trace's similarity is cos(h, h + FFN(rmsnorm(h))), and a skipped FFN leaves h exactly as it
 * was: the first token's similarities and logits match the reference, dense and with the FFNs of
 * layers 3..6 skipped (ffn-skip, cold 2,1, every similarity above tau). */
START_TEST(test_similarity_and_skip_match_reference)
{
    fsk_model *m = load(model_f32);
    for (int skipping = 0; skipping < 2; skipping++) {
        fsk_context *c = context(m, 2, 16);
        fsk_skip_params p = params(skipping ? FSK_SKIP_FFN : FSK_SKIP_DENSE, -2.0f, 2, 1, 0);
        set_skip(c, &p);
        static float logits[N_VOCAB];
        const int32_t id = tok(7);
        decode(c, id, logits, 0);
        float sim[N_LAYER];
        uint8_t ran[N_LAYER];
        trace(c, sim, ran);
        double h[N_EMBD], xn[N_EMBD], want[N_VOCAB];
        const float *e = (const float *)((const char *)m->tok_embd.data + (size_t)id * m->tok_embd.row_bytes);
        for (int i = 0; i < N_EMBD; i++)
            h[i] = e[i];
        for (uint32_t l = 0; l < N_LAYER; l++) {
            int run = !skipping || span_ran(l, 2, 1, 0);
            ck_assert_int_eq(ran[l], run);
            double s = ref_layer(m, l, h, run);
            if (run)
                ck_assert_msg(fabs(s - sim[l]) < 1e-5, "layer %u: similarity %.7f, reference %.7f", l, sim[l], s);
            else
                ck_assert(isnan(sim[l]));
        }
        ref_rmsnorm(h, m->output_norm, xn);
        ref_matvec(&m->output, xn, want);
        for (int t = 0; t < N_VOCAB; t++)
            ck_assert_msg(fabs(logits[t] - want[t]) < 1e-3 * (1 + fabs(want[t])), "%s: logit %d is %g, reference %g",
                          skipping ? "skipping" : "dense", t, logits[t], want[t]);
        fsk_context_free(c);
    }
    fsk_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ warm-up */

struct gen_log {
    fsk_context *ctx;
    uint32_t n;
    uint32_t skipped[64];
    int32_t ids[64];
};

static int log_token(void *user, int32_t id, const char *piece, size_t len)
{
    (void)piece;
    (void)len;
    struct gen_log *g = user;
    if (id < 0 || g->n >= 64)
        return 0;
    uint8_t ran[N_LAYER];
    fsk_context_last_trace(g->ctx, NULL, ran, N_LAYER);
    uint32_t s = 0;
    for (int l = 0; l < N_LAYER; l++)
        s += !ran[l];
    g->ids[g->n] = id;
    g->skipped[g->n++] = s;
    return 0;
}

/* Replays a generation by hand (the prompt dense and uncounted, then each generated token dense
 * while i < warmup) and checks the caches agree bitwise: the logits of one more token match. */
static void check_replay(fsk_model *m, fsk_context *gen, const int32_t *prompt, size_t n_prompt,
                         const struct gen_log *g, uint32_t warmup)
{
    fsk_context *c = context(m, 1, 64);
    fsk_skip_params p;
    ck_assert_int_eq(fsk_context_get_skip(gen, &p), FSK_OK);
    set_skip(c, &p);
    fsk_error err;
    ck_assert_int_eq(fsk_decode_ex(c, prompt, n_prompt, NULL, FSK_DECODE_DENSE | FSK_DECODE_NO_STATS, &err), FSK_OK);
    for (uint32_t i = 0; i < g->n; i++)
        decode(c, g->ids[i], NULL, i < warmup ? FSK_DECODE_DENSE : 0);
    static float a[N_VOCAB], b[N_VOCAB];
    decode(c, tok(9), a, FSK_DECODE_DENSE);
    decode(gen, tok(9), b, FSK_DECODE_DENSE);
    ck_assert_msg(memcmp(a, b, sizeof a) == 0, "warmup %u: generation is not prompt-dense-then-policy", warmup);
    fsk_context_free(c);
}

/* The prompt and the first `warmup` generated tokens run dense; every later one skips. */
START_TEST(test_warmup)
{
    static const uint32_t warmups[] = {0, 1, 3, 5};
    fsk_model *m = load(model_f32);
    fsk_sampler *smp;
    fsk_sampler_params sp;
    fsk_sampler_default_params(&sp);
    sp.temperature = 0;
    sp.repeat_penalty = 1.0f;
    ck_assert_int_eq(fsk_sampler_new(&smp, &sp, N_VOCAB, NULL), FSK_OK);
    const int32_t prompt[5] = {tok(1), tok(2), tok(3), tok(4), tok(5)};
    fsk_context *c = context(m, 1, 64);
    for (size_t k = 0; k < sizeof warmups / sizeof *warmups; k++) {
        uint32_t w = warmups[k];
        for (int exact = 0; exact < 2; exact++) { /* W + 6 tokens, then exactly W */
            fsk_skip_params p = params(FSK_SKIP_FFN, -2.0f, 2, 1, 0);
            p.warmup = w;
            set_skip(c, &p);
            fsk_context_rewind(c, 0, NULL);
            fsk_context_reset_stats(c);
            struct gen_log g;
            memset(&g, 0, sizeof g);
            g.ctx = c;
            fsk_gen_stats gs;
            fsk_error err;
            uint32_t n = exact ? w : w + 6;
            if (n == 0)
                continue;
            fsk_status st = fsk_generate(c, smp, prompt, 5, n, log_token, &g, &gs, &err);
            ck_assert_msg(st == FSK_OK, "%s", err.message);
            ck_assert_uint_eq(gs.n_generated, n);
            ck_assert_uint_eq(g.n, n);
            for (uint32_t i = 0; i < n; i++) /* tau -2 after warm-up: all of [2, 7) but layer 2 */
                ck_assert_msg(g.skipped[i] == (i < w ? 0u : 4u), "warmup %u: token %u skipped %u FFNs", w, i,
                              g.skipped[i]);
            fsk_skip_stats ss;
            fsk_context_skip_stats(c, &ss);
            ck_assert_uint_eq(ss.tokens, n); /* the prompt is not counted, the warm-up is */
            ck_assert_uint_eq(ss.ffn_skipped, exact ? 0 : 6 * 4);
            check_replay(m, c, prompt, 5, &g, w);
        }
    }
    fsk_context_free(c);
    fsk_sampler_free(smp);
    fsk_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ cold regions and span */

/* Whatever the policy, the first F and last L layers run every token; the region does skip. */
START_TEST(test_cold_layers_always_run)
{
    static const uint32_t colds[][2] = {{1, 1}, {2, 1}, {3, 2}, {1, 3}, {3, 3}};
    fsk_model *m = load(model_f32);
    fsk_context *c = context(m, 1, 64);
    for (size_t k = 0; k < sizeof colds / sizeof *colds; k++) {
        uint32_t f = colds[k][0], la = colds[k][1], width = N_LAYER - f - la;
        fsk_skip_params ps[6] = {
            params(FSK_SKIP_FFN, -2.0f, f, la, 0),        params(FSK_SKIP_FFN, -2.0f, f, la, 1),
            params(FSK_SKIP_FFN_RANDOM, 0.0f, f, la, 0),  params(FSK_SKIP_FFN_STATIC, 0.0f, f, la, 0),
            params(FSK_SKIP_LAYER_DROP, 0.0f, f, la, 0),  params(FSK_SKIP_FFN_STATIC, 0.0f, f, la, 0),
        };
        ps[2].target = 0.9f * (float)width / N_LAYER; /* nearly every region FFN skipped */
        for (uint32_t l = f; l < N_LAYER - la; l++)
            ps[3].layers[l] = ps[4].layers[l] = 1;
        ps[5].target = (float)width / N_LAYER; /* the layer set picked from the target */
        for (int q = 0; q < 6; q++) {
            set_skip(c, &ps[q]);
            fsk_context_rewind(c, 0, NULL);
            uint32_t region_skips = 0;
            for (size_t i = 0; i < 16; i++) {
                uint8_t ran[N_LAYER];
                decode(c, tok(i), NULL, 0);
                trace(c, NULL, ran);
                for (uint32_t l = 0; l < N_LAYER; l++) {
                    if (cold(l, f, la))
                        ck_assert_msg(ran[l] == 1, "%s cold %u,%u: cold layer %u skipped at token %zu",
                                      fsk_skip_policy_name(ps[q].policy), f, la, l, i);
                    else
                        region_skips += !ran[l];
                }
            }
            ck_assert_msg(region_skips > 0, "%s cold %u,%u skipped nothing", fsk_skip_policy_name(ps[q].policy),
                          f, la);
        }
    }
    fsk_context_free(c);
    fsk_model_free(m);
}
END_TEST

/* Settings the policy cannot honour are refused, and the old policy stays. */
START_TEST(test_bad_settings_refused)
{
    fsk_model *m = load(model_f32);
    fsk_context *c = context(m, 1, 64);
    fsk_error err;
    fsk_skip_params good = params(FSK_SKIP_FFN, 0.9f, 2, 1, 0), p;
    set_skip(c, &good);
    p = params(FSK_SKIP_FFN_STATIC, 0.0f, 2, 1, 0);
    p.layers[1] = 1;
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    ck_assert_ptr_nonnull(strstr(err.message, "layer 1"));
    p = params(FSK_SKIP_LAYER_DROP, 0.0f, 2, 1, 0);
    p.layers[7] = 1;
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    p = params(FSK_SKIP_FFN, 0.9f, 5, 4, 0);
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    p = params(FSK_SKIP_FFN, NAN, 2, 1, 0);
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    p = params(FSK_SKIP_FFN_RANDOM, 0.0f, 2, 1, 0);
    p.target = 0.7f; /* 5.6 of the 5 skippable layers */
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    p = params(FSK_SKIP_FFN, 0.9f, 2, 1, 0);
    p.n_profile = 7;
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    p.n_profile = 0;
    p.policy = FSK_SKIP_POLICY_COUNT;
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    fsk_skip_params now;
    ck_assert_int_eq(fsk_context_get_skip(c, &now), FSK_OK);
    ck_assert_int_eq(now.policy, FSK_SKIP_FFN);
    ck_assert_uint_eq(now.cold_first, 2);
    ck_assert(now.threshold == 0.9f);
    fsk_context_free(c);
    fsk_model_free(m);
}
END_TEST

/* With every similarity above tau the pattern is fixed: span 0 runs the region's first FFN and
 * skips the rest; span k runs one, skips k, runs one, ... Checked with 1 and 2 threads. */
START_TEST(test_span_pattern)
{
    static const uint32_t colds[][2] = {{0, 0}, {1, 1}, {2, 1}, {3, 2}};
    fsk_model *m = load(model_f32);
    for (int threads = 1; threads <= 2; threads++) {
        fsk_context *c = context(m, threads, 64);
        for (size_t k = 0; k < sizeof colds / sizeof *colds; k++)
            for (uint32_t span = 0; span <= 4; span++) {
                fsk_skip_params p = params(FSK_SKIP_FFN, -2.0f, colds[k][0], colds[k][1], span);
                set_skip(c, &p);
                fsk_context_rewind(c, 0, NULL);
                for (size_t i = 0; i < 6; i++) {
                    uint8_t ran[N_LAYER];
                    float sim[N_LAYER];
                    decode(c, tok(i), NULL, 0);
                    trace(c, sim, ran);
                    for (uint32_t l = 0; l < N_LAYER; l++) {
                        int want = span_ran(l, colds[k][0], colds[k][1], span);
                        ck_assert_msg(ran[l] == want, "cold %u,%u span %u: layer %u ran %d, want %d",
                                      colds[k][0], colds[k][1], span, l, ran[l], want);
                        ck_assert_msg(!!isnan(sim[l]) == !want, "layer %u: similarity %g but ran %d", l, sim[l],
                                      ran[l]);
                    }
                }
            }
        fsk_context_free(c);
    }
    fsk_model_free(m);
}
END_TEST

/* The decisions with a real threshold follow the similarities the trace reports: inside the region
 * an FFN runs until one reaches tau, then span layers (or the rest) are skipped. The threshold is
 * the median region similarity of a dense pass, so tokens decide differently. */
START_TEST(test_decisions_follow_similarity)
{
    fsk_model *m = load(model_f32);
    const uint32_t f = 2, la = 1;
    fsk_context *c = context(m, 1, 64);
    float all[40 * N_LAYER];
    size_t n_all = 0;
    for (size_t i = 0; i < 40; i++) {
        float sim[N_LAYER];
        decode(c, tok(i), NULL, 0);
        trace(c, sim, NULL);
        for (uint32_t l = f; l < N_LAYER - la; l++)
            all[n_all++] = sim[l];
    }
    for (size_t i = 1; i < n_all; i++) /* insertion sort for the median */
        for (size_t j = i; j > 0 && all[j - 1] > all[j]; j--) {
            float t = all[j];
            all[j] = all[j - 1];
            all[j - 1] = t;
        }
    const float tau = all[n_all / 2];
    ck_assert_msg(all[n_all - 1] - all[0] > 0.02f, "region similarities %g..%g barely vary", all[0],
                  all[n_all - 1]);
    for (uint32_t span = 0; span <= 2; span++) {
        fsk_skip_params p = params(FSK_SKIP_FFN, tau, f, la, span);
        set_skip(c, &p);
        fsk_context_rewind(c, 0, NULL);
        unsigned seen = 0; /* bit s: some token skipped s FFNs */
        for (size_t i = 0; i < 40; i++) {
            uint8_t ran[N_LAYER];
            float sim[N_LAYER];
            decode(c, tok(i), NULL, 0);
            trace(c, sim, ran);
            uint32_t left = 0, skipped = 0;
            for (uint32_t l = 0; l < N_LAYER; l++) {
                ck_assert_msg(!!isnan(sim[l]) == !ran[l], "layer %u: similarity %g but ran %d", l, sim[l], ran[l]);
                int want = 1;
                if (!cold(l, f, la)) {
                    if (left) {
                        want = 0;
                        left--;
                    } else if (sim[l] >= tau) {
                        left = span ? span : UINT32_MAX;
                    }
                }
                ck_assert_msg(ran[l] == want, "span %u token %zu layer %u: ran %d, want %d (tau %g)", span, i, l,
                              ran[l], want, tau);
                skipped += !ran[l];
            }
            seen |= 1u << skipped;
        }
        ck_assert_msg(__builtin_popcount(seen) >= 2, "span %u: every token skipped alike (mask 0x%x)", span, seen);
    }
    fsk_context_free(c);
    fsk_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ the KV cache */

static int k_written(const fsk_context *c, uint32_t l, uint32_t g, uint32_t t)
{
    for (uint32_t d = 0; d < HEAD_DIM; d++)
        if (fsk_kv_key(&c->kv, l, g, t, d))
            return 1;
    return 0;
}

static int v_written(const fsk_context *c, uint32_t l, uint32_t g, uint32_t t)
{
    const uint16_t *v = fsk_kv_v(&c->kv, l, g, t);
    for (uint32_t d = 0; d < HEAD_DIM; d++)
        if (v[d])
            return 1;
    return 0;
}

/* Runs a dense prompt of 4 then 12 tokens under p in a fresh context; checks every KV row of
 * positions < 16 is written except, under policy, those of layers in holes[]. */
static void check_kv(fsk_model *m, const fsk_skip_params *p, const uint8_t *holes, const uint8_t *ran_want)
{
    fsk_context *c = context(m, 2, 64);
    ck_assert_int_eq(c->kv.n_layer, N_LAYER);
    ck_assert_int_eq(c->kv.head_dim, HEAD_DIM);
    set_skip(c, p);
    for (uint32_t t = 0; t < 16; t++) {
        decode(c, tok(t + 100), NULL, t < 4 ? FSK_DECODE_DENSE : 0);
        if (t >= 4 && ran_want) {
            uint8_t ran[N_LAYER];
            trace(c, NULL, ran);
            ck_assert_msg(memcmp(ran, ran_want, N_LAYER) == 0, "%s: unexpected trace at %u",
                          fsk_skip_policy_name(p->policy), t);
        }
    }
    for (uint32_t l = 0; l < N_LAYER; l++)
        for (uint32_t g = 0; g < N_HEAD_KV; g++)
            for (uint32_t t = 0; t < 17; t++) {
                int want = t < 4 || (t < 16 && !(holes && holes[l]));
                ck_assert_msg(k_written(c, l, g, t) == want && v_written(c, l, g, t) == want,
                              "%s: KV of layer %u head %u position %u is %s", fsk_skip_policy_name(p->policy), l, g,
                              t, want ? "missing" : "written");
            }
    fsk_context_free(c);
}

/* FFN skipping leaves no hole in the cache; layer dropping leaves exactly its layers' rows empty;
 * early exit fills the rows of the layers it left out. */
START_TEST(test_kv_rows)
{
    fsk_model *m = load(model_f32);
    fsk_skip_params p = params(FSK_SKIP_FFN, -2.0f, 1, 1, 0);
    uint8_t ran[N_LAYER] = {1, 1, 0, 0, 0, 0, 0, 1};
    check_kv(m, &p, NULL, ran);

    p = params(FSK_SKIP_LAYER_DROP, 0.0f, 1, 1, 0);
    uint8_t drop[N_LAYER] = {0, 0, 1, 0, 1, 1, 0, 0};
    memcpy(p.layers, drop, sizeof drop);
    uint8_t ran_drop[N_LAYER] = {1, 1, 0, 1, 0, 0, 1, 1};
    check_kv(m, &p, drop, ran_drop);

    p = params(FSK_SKIP_EARLY_EXIT, 0.0f, 1, 1, 0); /* always confident: exits at the first test */
    uint8_t ran_exit[N_LAYER] = {1, 1, 0, 0, 0, 0, 0, 0};
    check_kv(m, &p, NULL, ran_exit);
    fsk_model_free(m);
}
END_TEST

/* Rewinding and decoding the same tokens again under ffn-skip gives the same logits: decisions
 * depend only on the cache and the token, and a rewound cache holds nothing stale. */
START_TEST(test_rewind_reproduces)
{
    fsk_model *m = load(model_f32);
    fsk_context *c = context(m, 2, 64);
    fsk_skip_params p = params(FSK_SKIP_FFN, 0.97f, 2, 1, 1);
    set_skip(c, &p);
    static float first[20][N_VOCAB];
    float again[N_VOCAB];
    for (size_t i = 0; i < 20; i++)
        decode(c, tok(i), first[i], 0);
    for (uint32_t back = 0; back <= 8; back += 8) {
        ck_assert_int_eq(fsk_context_rewind(c, back, NULL), FSK_OK);
        for (size_t i = back; i < 20; i++) {
            decode(c, tok(i), again, 0);
            ck_assert_msg(memcmp(first[i], again, sizeof again) == 0, "rewound to %u: token %zu differs", back, i);
        }
    }
    ck_assert_int_eq(fsk_context_rewind(c, 21, NULL), FSK_ERR_INVALID_ARG);
    fsk_context_free(c);
    fsk_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ baselines and statistics */

static void per_layer(const fsk_context *c, uint64_t *out)
{
    fsk_skip_stats s;
    ck_assert_int_eq(fsk_context_skip_stats(c, &s), FSK_OK);
    ck_assert_uint_eq(s.n_layer, N_LAYER);
    memcpy(out, s.layer_skipped, N_LAYER * sizeof *out);
}

/* ffn-random skips at its target over many tokens, only inside the region, the same way for the
 * same seed and differently for another. */
START_TEST(test_random_target)
{
    static const float targets[] = {0.1f, 0.25f, 0.5f};
    fsk_model *m = load(model_f32);
    fsk_context *c = context(m, 1, N_CTX);
    for (size_t k = 0; k < sizeof targets / sizeof *targets; k++) {
        uint64_t seen[3][N_LAYER];
        for (int run = 0; run < 3; run++) {
            fsk_skip_params p = params(FSK_SKIP_FFN_RANDOM, 0.0f, 2, 1, 0);
            p.target = targets[k];
            p.seed = run == 2 ? 99 : 5;
            set_skip(c, &p);
            fsk_context_rewind(c, 0, NULL);
            fsk_context_reset_stats(c);
            for (size_t i = 0; i < 400; i++)
                decode(c, tok(i), NULL, 0);
            fsk_skip_stats s;
            fsk_context_skip_stats(c, &s);
            ck_assert_uint_eq(s.tokens, 400);
            ck_assert_msg(fabs(s.ratio - targets[k]) < 0.03, "target %g realised %g", targets[k], s.ratio);
            per_layer(c, seen[run]);
            for (uint32_t l = 0; l < N_LAYER; l++)
                if (cold(l, 2, 1))
                    ck_assert_uint_eq(seen[run][l], 0);
        }
        ck_assert_msg(memcmp(seen[0], seen[1], sizeof seen[0]) == 0, "same seed, different skips");
        ck_assert_msg(memcmp(seen[0], seen[2], sizeof seen[0]) != 0, "another seed, the same skips");
    }
    fsk_context_free(c);
    fsk_model_free(m);
}
END_TEST

/* ffn-static skips exactly its set; without a set it picks one for its target: the most similar
 * layers of the profile when there is one, evenly spread otherwise. */
START_TEST(test_static_set)
{
    fsk_model *m = load(model_f32);
    fsk_context *c = context(m, 1, 64);
    fsk_skip_params p = params(FSK_SKIP_FFN_STATIC, 0.0f, 2, 1, 0);
    p.layers[3] = p.layers[5] = 1;
    set_skip(c, &p);
    for (size_t i = 0; i < 10; i++) {
        uint8_t ran[N_LAYER];
        float sim[N_LAYER];
        decode(c, tok(i), NULL, 0);
        trace(c, sim, ran);
        for (uint32_t l = 0; l < N_LAYER; l++) {
            ck_assert_int_eq(ran[l], (l != 3 && l != 5));
            ck_assert_int_eq(!!isnan(sim[l]), (l == 3 || l == 5));
        }
    }
    uint64_t pl[N_LAYER];
    per_layer(c, pl);
    for (uint32_t l = 0; l < N_LAYER; l++)
        ck_assert_uint_eq(pl[l], (l == 3 || l == 5) ? 10 : 0);

    fsk_skip_params q = params(FSK_SKIP_FFN_STATIC, 0.0f, 2, 1, 0), got;
    q.target = 0.25f; /* two of eight layers, in the region [2, 7) */
    set_skip(c, &q);
    fsk_context_get_skip(c, &got);
    for (uint32_t l = 0; l < FSK_MAX_LAYERS; l++)
        ck_assert_msg(got.layers[l] == (l == 3 || l == 5), "spread pick: layer %u is %d", l, got.layers[l]);
    static const float prof[N_LAYER] = {0.99f, 0.99f, 0.5f, 0.9f, 0.6f, 0.8f, 0.95f, 0.99f};
    q.n_profile = N_LAYER;
    memcpy(q.profile, prof, sizeof prof);
    set_skip(c, &q);
    fsk_context_get_skip(c, &got);
    for (uint32_t l = 0; l < FSK_MAX_LAYERS; l++) /* the region's two most similar: 3 and 6 */
        ck_assert_msg(got.layers[l] == (l == 3 || l == 6), "profile pick: layer %u is %d", l, got.layers[l]);
    fsk_context_free(c);
    fsk_model_free(m);
}
END_TEST

/* The statistics count generated tokens (dense ones included, NO_STATS ones not) and agree with
 * the per-token traces layer by layer; a reset empties them. */
START_TEST(test_stats_match_traces)
{
    fsk_model *m = load(model_f32);
    fsk_context *c = context(m, 1, 128);
    fsk_skip_params p = params(FSK_SKIP_FFN, 0.97f, 2, 1, 0);
    set_skip(c, &p);
    uint64_t want[N_LAYER] = {0}, total = 0, tokens = 0;
    for (size_t i = 0; i < 48; i++) {
        unsigned flags = i < 8 ? FSK_DECODE_DENSE : i < 16 ? FSK_DECODE_NO_STATS : 0;
        uint8_t ran[N_LAYER];
        decode(c, tok(i), NULL, flags);
        trace(c, NULL, ran);
        for (uint32_t l = 0; l < N_LAYER; l++) {
            if (flags & FSK_DECODE_DENSE)
                ck_assert_int_eq(ran[l], 1);
            if (!(flags & FSK_DECODE_NO_STATS)) {
                want[l] += !ran[l];
                total += !ran[l];
            }
        }
        tokens += !(flags & FSK_DECODE_NO_STATS);
    }
    fsk_skip_stats s;
    ck_assert_int_eq(fsk_context_skip_stats(c, &s), FSK_OK);
    ck_assert_uint_eq(s.tokens, tokens);
    ck_assert_uint_eq(s.ffn_total, tokens * N_LAYER);
    ck_assert_uint_eq(s.ffn_skipped, total);
    ck_assert_msg(total > 0 && total < tokens * (N_LAYER - 3), "%llu skipped: nothing adaptive to count",
                  (unsigned long long)total);
    ck_assert(s.ratio == (double)total / (double)(tokens * N_LAYER));
    for (uint32_t l = 0; l < N_LAYER; l++)
        ck_assert_uint_eq(s.layer_skipped[l], want[l]);
    fsk_context_reset_stats(c);
    fsk_context_skip_stats(c, &s);
    ck_assert_uint_eq(s.tokens, 0);
    ck_assert_uint_eq(s.ffn_skipped, 0);
    ck_assert(s.ratio == 0.0);
    for (uint32_t l = 0; l < N_LAYER; l++)
        ck_assert_uint_eq(s.layer_skipped[l], 0);
    ck_assert_int_eq(fsk_context_last_trace(c, NULL, NULL, N_LAYER + 1), FSK_ERR_INVALID_ARG);
    fsk_context_free(c);
    fsk_model_free(m);
}
END_TEST

/* ------------------------------------------------------------------ the profile file */

static void path_in(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

static void write_str(const char *path, const char *s)
{
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(s, f);
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_all(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

/* Entries of the test directory whose names contain ".tmp": leftovers of a save. */
static int temp_files(void)
{
    DIR *d = opendir(tmpdir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp") != NULL;
    closedir(d);
    return n;
}

/* Every field survives save and load (values chosen exact at the file's precision). */
START_TEST(test_profile_roundtrip)
{
    char path[192];
    path_in(path, sizeof path, "round.prof");
    for (int pol = 0; pol < FSK_SKIP_POLICY_COUNT; pol++) {
        fsk_skip_params p, q;
        fsk_skip_default_params(&p);
        p.policy = (fsk_skip_policy)pol;
        p.threshold = 0.9375f - 0.125f * (float)pol;
        p.warmup = 7 + (uint32_t)pol;
        p.cold_first = 3;
        p.cold_last = 2 + (uint32_t)pol;
        p.span = (uint32_t)pol;
        p.target = 0.3125f;
        p.seed = 18446744073709551557ull - (uint64_t)pol;
        p.layers[4] = p.layers[9] = p.layers[255] = 1;
        p.n_profile = 12;
        for (int l = 0; l < 12; l++)
            p.profile[l] = (float)(l - 4) / 32.0f;
        fsk_error err;
        ck_assert_int_eq(fsk_skip_profile_save(path, &p, "line one\nline two", &err), FSK_OK);
        memset(&q, 0, sizeof q);
        ck_assert_msg(fsk_skip_profile_load(path, &q, &err) == FSK_OK, "%s", err.message);
        ck_assert_int_eq(q.policy, p.policy);
        ck_assert(q.threshold == p.threshold);
        ck_assert_uint_eq(q.warmup, p.warmup);
        ck_assert_uint_eq(q.cold_first, p.cold_first);
        ck_assert_uint_eq(q.cold_last, p.cold_last);
        ck_assert_uint_eq(q.span, p.span);
        ck_assert(q.target == p.target);
        ck_assert_uint_eq(q.seed, p.seed);
        ck_assert(memcmp(q.layers, p.layers, sizeof p.layers) == 0);
        ck_assert_uint_eq(q.n_profile, p.n_profile);
        for (int l = 0; l < 12; l++)
            ck_assert_msg(q.profile[l] == p.profile[l], "profile[%d] %g, want %g", l, q.profile[l], p.profile[l]);
    }
    /* a threshold not exact in decimal comes back within the file's 6 decimals */
    fsk_skip_params p, q;
    fsk_skip_default_params(&p);
    fsk_skip_default_params(&q);
    p.threshold = 0.123456789f;
    ck_assert_int_eq(fsk_skip_profile_save(path, &p, NULL, NULL), FSK_OK);
    ck_assert_int_eq(fsk_skip_profile_load(path, &q, NULL), FSK_OK);
    ck_assert(fabsf(q.threshold - p.threshold) < 1e-6f);
    ck_assert_uint_eq(q.n_profile, 0);
    for (int l = 0; l < FSK_MAX_LAYERS; l++)
        ck_assert_int_eq(q.layers[l], 0);
    ck_assert_int_eq(temp_files(), 0);
    unlink(path);
}
END_TEST

/* Loading overrides only what the file sets. */
START_TEST(test_profile_partial)
{
    char path[192];
    path_in(path, sizeof path, "partial.prof");
    write_str(path, "ffnskip-profile 1   # version\n\n  # a comment\nthreshold 0.5\r\nspan 3\n");
    fsk_skip_params p = params(FSK_SKIP_FFN_RANDOM, 0.9f, 4, 1, 0);
    p.seed = 42;
    p.layers[5] = 1;
    fsk_error err;
    ck_assert_msg(fsk_skip_profile_load(path, &p, &err) == FSK_OK, "%s", err.message);
    ck_assert(p.threshold == 0.5f);
    ck_assert_uint_eq(p.span, 3);
    ck_assert_int_eq(p.policy, FSK_SKIP_FFN_RANDOM);
    ck_assert_uint_eq(p.cold_first, 4);
    ck_assert_uint_eq(p.seed, 42);
    ck_assert_int_eq(p.layers[5], 1);
    unlink(path);
}
END_TEST

static const struct {
    const char *text;
    fsk_status status;
    unsigned line; /* 0: the message names the file without a line */
} bad_profiles[] = {
    {"ffnskip-profile 2\npolicy dense\n", FSK_ERR_FORMAT, 1},
    {"hello world\n", FSK_ERR_FORMAT, 1},
    {"\nffnskip-profile 1\n", FSK_ERR_FORMAT, 1},
    {"", FSK_ERR_FORMAT, 0},
    {"ffnskip-profile 1\npolicy ffn-skip\nfrobnicate 1\n", FSK_ERR_FORMAT, 3},
    {"ffnskip-profile 1\nthreshold abc\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\nthreshold 0.5x\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\nthreshold nan\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\n# ok\nwarmup -1\n", FSK_ERR_FORMAT, 3},
    {"ffnskip-profile 1\ntarget 1.5\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\ncold 3\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\ncold 3 x\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\nspan\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\nlayers 3 256\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\nseed -4\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\npolicy fast\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\nsimilarity 0.5 zero\n", FSK_ERR_FORMAT, 2},
    {"ffnskip-profile 1\nthreshold 0.5\nwarmup 2\nspan x\n", FSK_ERR_FORMAT, 4},
};

/* A malformed file fails with FSK_ERR_FORMAT, names the file and line, and changes nothing. */
START_TEST(test_profile_malformed)
{
    char path[192], want[256];
    path_in(path, sizeof path, "bad.prof");
    write_str(path, bad_profiles[_i].text);
    fsk_skip_params p = params(FSK_SKIP_FFN, 0.875f, 2, 1, 1), before = p;
    fsk_error err;
    memset(&err, 0, sizeof err);
    ck_assert_int_eq(fsk_skip_profile_load(path, &p, &err), bad_profiles[_i].status);
    ck_assert_int_eq(err.status, bad_profiles[_i].status);
    if (bad_profiles[_i].line)
        snprintf(want, sizeof want, "%s:%u: ", path, bad_profiles[_i].line);
    else
        snprintf(want, sizeof want, "%s: ", path);
    ck_assert_msg(strncmp(err.message, want, strlen(want)) == 0, "message '%s' does not start '%s'", err.message,
                  want);
    ck_assert_msg(memcmp(&p, &before, sizeof p) == 0, "a failed load changed the parameters");
    unlink(path);
}
END_TEST

START_TEST(test_profile_missing)
{
    char path[192];
    path_in(path, sizeof path, "no/such.prof");
    fsk_skip_params p;
    fsk_skip_default_params(&p);
    fsk_error err;
    ck_assert_int_eq(fsk_skip_profile_load(path, &p, &err), FSK_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, path));
    ck_assert_int_eq(fsk_skip_profile_save(path, &p, NULL, &err), FSK_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, path));
    ck_assert_int_eq(fsk_skip_profile_load(NULL, &p, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_skip_profile_save(path, NULL, NULL, &err), FSK_ERR_INVALID_ARG);
}
END_TEST

/* A save replaces the file whole or leaves it as it was, and never leaves its temporary behind:
 * checked on success, on a write cut short by the file-size limit (which binds root too), and
 * when the target is a directory. */
START_TEST(test_profile_save_atomic)
{
    char path[192], dir[192];
    path_in(path, sizeof path, "atomic.prof");
    static const char old[] = "ffnskip-profile 1\npolicy layer-drop\nlayers 3\n";
    write_str(path, old);
    fsk_skip_params p = params(FSK_SKIP_FFN, 0.75f, 2, 1, 0), q;
    fsk_error err;
    ck_assert_int_eq(fsk_skip_profile_save(path, &p, "replaces the old one", &err), FSK_OK);
    fsk_skip_default_params(&q);
    ck_assert_int_eq(fsk_skip_profile_load(path, &q, &err), FSK_OK);
    ck_assert_int_eq(q.policy, FSK_SKIP_FFN);
    ck_assert_int_eq(q.layers[3], 0);
    ck_assert_int_eq(temp_files(), 0);

    write_str(path, old);
    char comment[2048];
    memset(comment, 'x', sizeof comment - 1);
    comment[sizeof comment - 1] = 0;
    struct rlimit was, small;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
    small = was;
    small.rlim_cur = 64;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
    fsk_status st = fsk_skip_profile_save(path, &p, comment, &err);
    setrlimit(RLIMIT_FSIZE, &was);
    signal(SIGXFSZ, old_handler);
    ck_assert_int_eq(st, FSK_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, path));
    const char *now = read_all(path);
    ck_assert_ptr_nonnull(now);
    ck_assert_str_eq(now, old);
    ck_assert_int_eq(temp_files(), 0);

    path_in(dir, sizeof dir, "adir");
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(fsk_skip_profile_save(dir, &p, NULL, &err), FSK_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, dir));
    struct stat sb;
    ck_assert_int_eq(stat(dir, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));
    ck_assert_int_eq(temp_files(), 0);
    rmdir(dir);
    unlink(path);
}
END_TEST

/* ------------------------------------------------------------------ calibration */

/* `ffnskip calibrate --target 0.25` on the tiny model writes a profile whose policy, replayed on
 * the same text the way calibrate measures it (windows from an empty cache, each starting with
 * the warm-up), skips 25% of FFNs within 2 points. */
START_TEST(test_calibrate_hits_target)
{
    const char *bin = getenv("FFNSKIP");
    ck_assert_msg(bin && *bin, "FFNSKIP (the ffnskip program) is not set; run through make check");
    char prof[192], log[192], cmd[1024];
    path_in(prof, sizeof prof, "cal.prof");
    path_in(log, sizeof log, "cal.log");
    enum { TOKENS = 512, WINDOW = 128 };
    snprintf(cmd, sizeof cmd, "'%s' calibrate -m '%s' --text '%s' --target 0.25 -o '%s' -t 1 --tokens %d --window %d >'%s' 2>&1",
             bin, model_f32, text_path, prof, TOKENS, WINDOW, log);
    int rc = system(cmd);
    ck_assert_msg(rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "%s failed:\n%s", cmd,
                  read_all(log) ? read_all(log) : "");
    fsk_skip_params p;
    fsk_skip_default_params(&p);
    fsk_error err;
    ck_assert_msg(fsk_skip_profile_load(prof, &p, &err) == FSK_OK, "%s", err.message);
    ck_assert_int_eq(p.policy, FSK_SKIP_FFN);
    ck_assert(p.target == 0.25f);
    ck_assert_uint_eq(p.n_profile, N_LAYER);
    ck_assert_uint_lt(p.cold_first + p.cold_last, N_LAYER);

    fsk_model *m = load(model_f32);
    FILE *f = fopen(text_path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[16384];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    static int32_t ids[16384];
    size_t n = 0;
    ck_assert_int_eq(fsk_tokenize(m, text, len, 1, 1, ids, 16384, &n, &err), FSK_OK);
    ck_assert_uint_gt(n, TOKENS);
    ck_assert_int_eq(ids[0], T_BOS);
    ck_assert_uint_lt(n, len); /* the merges fire */
    n = TOKENS;
    fsk_context *c = context(m, 1, WINDOW);
    set_skip(c, &p);
    fsk_context_reset_stats(c);
    for (size_t w = 0; w < n; w += WINDOW) {
        fsk_context_rewind(c, 0, NULL);
        for (size_t i = w; i < w + WINDOW && i < n; i++)
            decode(c, ids[i], NULL, i - w < p.warmup ? FSK_DECODE_DENSE : 0);
    }
    fsk_skip_stats s;
    fsk_context_skip_stats(c, &s);
    ck_assert_uint_eq(s.tokens, TOKENS);
    ck_assert_msg(fabs(s.ratio - 0.25) <= 0.02, "realised skip ratio %.4f with tau %g, cold %u,%u\n%s", s.ratio,
                  p.threshold, p.cold_first, p.cold_last, read_all(log) ? read_all(log) : "");
    fsk_context_free(c);
    fsk_model_free(m);
    unlink(prof);
    unlink(log);
}
END_TEST

/* ------------------------------------------------------------------ main */

static Suite *skip_suite(void)
{
    Suite *s = suite_create("skip");
    TCase *tc = tcase_create("policy");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_unreachable_threshold_is_dense, 0, 2);
    tcase_add_loop_test(tc, test_threads_agree, 0, 2);
    tcase_add_test(tc, test_similarity_and_skip_match_reference);
    tcase_add_test(tc, test_warmup);
    tcase_add_test(tc, test_cold_layers_always_run);
    tcase_add_test(tc, test_bad_settings_refused);
    tcase_add_test(tc, test_span_pattern);
    tcase_add_test(tc, test_decisions_follow_similarity);
    tcase_add_test(tc, test_kv_rows);
    tcase_add_test(tc, test_rewind_reproduces);
    tcase_add_test(tc, test_random_target);
    tcase_add_test(tc, test_static_set);
    tcase_add_test(tc, test_stats_match_traces);
    suite_add_tcase(s, tc);
    TCase *pf = tcase_create("profile");
    tcase_add_test(pf, test_profile_roundtrip);
    tcase_add_test(pf, test_profile_partial);
    tcase_add_loop_test(pf, test_profile_malformed, 0, (int)(sizeof bad_profiles / sizeof *bad_profiles));
    tcase_add_test(pf, test_profile_missing);
    tcase_add_test(pf, test_profile_save_atomic);
    suite_add_tcase(s, pf);
    TCase *cal = tcase_create("calibrate");
    tcase_set_timeout(cal, 120);
    tcase_add_test(cal, test_calibrate_hits_target);
    suite_add_tcase(s, cal);
    return s;
}

/* Removes the test directory with whatever a failed test left in it (files, one level of dirs). */
static void remove_tmpdir(void)
{
    DIR *d = opendir(tmpdir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));) {
        char p[sizeof tmpdir + 256];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        if (unlink(p) != 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(tmpdir);
}

int main(void)
{
    strcpy(tmpdir, "/tmp/test_skip.XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("test_skip: mkdtemp");
        return 1;
    }
    snprintf(model_f32, sizeof model_f32, "%s/tiny-f32.gguf", tmpdir);
    snprintf(model_q8, sizeof model_q8, "%s/tiny-q8_0.gguf", tmpdir);
    snprintf(text_path, sizeof text_path, "%s/calibration.txt", tmpdir);
    write_model(model_f32, FSK_TYPE_F32);
    write_model(model_q8, FSK_TYPE_Q8_0);
    write_text(text_path);
    SRunner *sr = srunner_create(skip_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    remove_tmpdir();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_prefill.c: batched prompt prefill equals the token-by-token path bit for bit (logits, the
 * whole KV cache, the trace, and the decode steps after it) on tiny models of each weight type.
 * Built twice: with the dispatched kernels, and with FSK_ISA=ref forced (PREFILL_FORCE_REF). */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "numa.h"
#include "ops.h"
#include "quant.h"
#include "tiny_llama.h"

#define N_CTX 256
#define DECODE_STEPS 4

struct pair {
    fsk_model *m;
    uint8_t *bytes;
    fsk_context *tok, *bat; /* token by token; batched */
};

/* The tiny model's attention shape: width, query heads, kv heads (test_prompt_shapes varies it). */
static uint32_t shape_embd = 64, shape_head = 4, shape_head_kv = 2;

/* A tiny model whose matrices are of `type`: 2 layers, FF 128, by default 64 wide with 4 heads
 * on 2 KV heads. */
static fsk_model *tiny(uint32_t type, uint8_t **bytes)
{
    struct tiny_llama o;
    tiny_llama_defaults(&o);
    o.n_embd = shape_embd;
    o.n_head = shape_head;
    o.n_head_kv = shape_head_kv;
    o.n_ff = 128;
    o.n_ctx = N_CTX;
    o.type = type;
    o.seed = 7 + type;
    size_t n = 0;
    *bytes = tiny_llama_gguf(&o, &n);
    fsk_model *m = NULL;
    fsk_error err;
    ck_assert_msg(fsk_model_load_memory(&m, *bytes, n, "tiny", NULL, &err) == FSK_OK, "%s", err.message);
    return m;
}

static fsk_context *context(fsk_model *m, int threads)
{
    fsk_context_params cp;
    fsk_context_default_params(&cp);
    cp.n_ctx = N_CTX;
    cp.n_threads = threads;
    cp.bind_threads = 0;
    fsk_context *c = NULL;
    fsk_error err;
    ck_assert_msg(fsk_context_new(&c, m, &cp, &err) == FSK_OK, "%s", err.message);
    return c;
}

/* With no_matmul set, the batched context runs on a copy of its table whose matmuls are all
 * marked as from another ISA than their matvecs, so that prefill takes its fallback for such a
 * table (runtime/ops.c pairs them only within one variant): one matvec per token. */
static int no_matmul;
static struct fsk_kernels no_matmul_table;

static void drop_matmuls(struct fsk_context *c)
{
    no_matmul_table = *c->k;
#define NO_MATMUL(t) no_matmul_table.matmul_##t##_isa = FSK_ISA_COUNT
    NO_MATMUL(f32); NO_MATMUL(f16); NO_MATMUL(bf16); NO_MATMUL(q4_0); NO_MATMUL(q4_1);
    NO_MATMUL(q5_0); NO_MATMUL(q5_1); NO_MATMUL(q8_0); NO_MATMUL(q4_k); NO_MATMUL(q5_k);
    NO_MATMUL(q6_k); NO_MATMUL(q4_1_r8); NO_MATMUL(q8_0_r8); NO_MATMUL(q4_0_r8); NO_MATMUL(q5_0_r8);
    NO_MATMUL(q5_1_r8); NO_MATMUL(q4_k_r8);
    NO_MATMUL(q5_k_r8); NO_MATMUL(q6_k_r8);
#undef NO_MATMUL
    c->k = &no_matmul_table;
}

static void pair_open(struct pair *p, uint32_t type, int threads)
{
    p->m = tiny(type, &p->bytes);
    p->tok = context(p->m, threads);
    p->bat = context(p->m, threads);
    p->tok->prefill_tokenwise = 1;
    if (no_matmul)
        drop_matmuls(p->bat);
}

static void pair_close(struct pair *p)
{
    fsk_context_free(p->tok);
    fsk_context_free(p->bat);
    fsk_model_free(p->m);
    free(p->bytes);
}

/* Prompt ids: a fixed pseudo-random walk over the vocabulary. */
static void prompt_ids(int32_t *ids, size_t n, uint32_t n_vocab, uint64_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)((seed >> 33) % n_vocab);
    }
}

static int32_t argmax(const float *x, uint32_t n)
{
    uint32_t best = 0;
    for (uint32_t i = 1; i < n; i++)
        if (x[i] > x[best])
            best = i;
    return (int32_t)best;
}

/* Both contexts' caches, positions < n, bit for bit. */
static void same_cache(const struct pair *p, uint32_t n, const char *what)
{
    const struct fsk_kv *a = &p->tok->kv, *b = &p->bat->kv;
    for (uint32_t l = 0; l < a->n_layer; l++)
        for (uint32_t g = 0; g < a->n_head_kv; g++) {
            /* whole tiles: positions from n to the tile's end are unwritten (zero) in both */
            ck_assert_msg(memcmp(fsk_kv_ktiles(a, l, g), fsk_kv_ktiles(b, l, g),
                                 ((size_t)n + FSK_KTILE - 1) / FSK_KTILE * FSK_KTILE * a->head_dim * 2) == 0,
                          "%s: keys of layer %u head %u differ", what, l, g);
            ck_assert_msg(memcmp(fsk_kv_v(a, l, g, 0), fsk_kv_v(b, l, g, 0),
                                 (size_t)n * a->head_dim * 2) == 0,
                          "%s: values of layer %u head %u differ", what, l, g);
        }
}

static void same_logits(const struct pair *p, const char *what)
{
    const uint32_t nv = p->m->hp.n_vocab;
    for (uint32_t i = 0; i < nv; i++)
        ck_assert_msg(memcmp(&p->tok->logits[i], &p->bat->logits[i], sizeof(float)) == 0,
                      "%s: logit %u: token by token %.9g, batched %.9g", what, i,
                      (double)p->tok->logits[i], (double)p->bat->logits[i]);
}

/* Prompt of n tokens both ways, then DECODE_STEPS greedy tokens under the default policy. */
static void check_prompt(uint32_t type, int threads, size_t n)
{
    char what[96];
    snprintf(what, sizeof what, "type %u, %d threads, %zu tokens", type, threads, n);
    struct pair p;
    pair_open(&p, type, threads);
    int32_t ids[N_CTX];
    prompt_ids(ids, n, p.m->hp.n_vocab, 1000 + n);
    fsk_error err;
    ck_assert_int_eq(fsk_decode_ex(p.tok, ids, n, NULL, FSK_DECODE_DENSE | FSK_DECODE_NO_STATS, &err), FSK_OK);
    /* one token: fsk_decode_ex itself takes the token path, so the batch is called directly */
    if (n == 1)
        fsk_forward_batch(p.bat, ids, n, 1, FSK_FWD_DENSE | FSK_FWD_NO_STATS);
    else
        ck_assert_int_eq(fsk_decode_ex(p.bat, ids, n, NULL, FSK_DECODE_DENSE | FSK_DECODE_NO_STATS, &err),
                         FSK_OK);
    ck_assert_uint_eq(p.tok->pos, n);
    ck_assert_uint_eq(p.bat->pos, n);
    same_logits(&p, what);
    same_cache(&p, (uint32_t)n, what);
    const uint32_t nl = p.m->hp.n_layer;
    ck_assert_msg(memcmp(p.tok->trace_sim, p.bat->trace_sim, nl * sizeof(float)) == 0, "%s: trace", what);
    ck_assert_msg(memcmp(p.tok->trace_ran, p.bat->trace_ran, nl) == 0, "%s: trace", what);
    ck_assert_msg(memcmp(p.tok->x, p.bat->x, p.m->hp.n_embd * sizeof(float)) == 0, "%s: hidden state", what);
    for (int s = 0; s < DECODE_STEPS; s++) {
        int32_t id = argmax(p.tok->logits, p.m->hp.n_vocab);
        ck_assert_int_eq(fsk_decode(p.tok, &id, 1, NULL, &err), FSK_OK);
        ck_assert_int_eq(fsk_decode(p.bat, &id, 1, NULL, &err), FSK_OK);
        snprintf(what, sizeof what, "type %u, %d threads, %zu tokens, decode step %d", type, threads, n, s);
        same_logits(&p, what);
    }
    same_cache(&p, (uint32_t)(n + DECODE_STEPS), what);
    pair_close(&p);
}

static const uint32_t types[] = {FSK_TYPE_F32, FSK_TYPE_F16, FSK_TYPE_Q4_0, FSK_TYPE_Q4_1,
                                 FSK_TYPE_Q8_0, FSK_TYPE_Q5_0, FSK_TYPE_Q5_1, FSK_TYPE_BF16};
/* the tiny model's file is small, so its contexts take the smallest chunk */
static const size_t lengths[] = {1, 2, FSK_PREFILL_CHUNK_MIN - 1, FSK_PREFILL_CHUNK_MIN, FSK_PREFILL_CHUNK_MIN + 1,
                                 3 * FSK_PREFILL_CHUNK_MIN + 5};
#define N_TYPES (sizeof types / sizeof *types)
#define N_LENGTHS (sizeof lengths / sizeof *lengths)

/* _i runs over types x lengths. */
START_TEST(test_prompt_1_thread)
{
    check_prompt(types[_i / N_LENGTHS], 1, lengths[_i % N_LENGTHS]);
}
END_TEST

START_TEST(test_prompt_3_threads)
{
    check_prompt(types[_i / N_LENGTHS], 3, lengths[_i % N_LENGTHS]);
}
END_TEST

/* Other chunk sizes through FSK_PREFILL_CHUNK (the largest, an odd one that no tile size
 * divides, and 128, which splits the 135-token prompt), on the three types bench/decode
 * measures: _i runs over chunks x types x lengths. */
START_TEST(test_prompt_chunks)
{
    static const char *const chunks[] = {"256", "7", "128"};
    _Static_assert(FSK_PREFILL_CHUNK_MAX == 256, "the largest chunk above");
    static const uint32_t ctypes[] = {FSK_TYPE_F16, FSK_TYPE_Q8_0, FSK_TYPE_Q4_1};
    static const size_t clens[] = {63, 64, 65, 135};
    const int nl = 4, nt = 3;
    setenv("FSK_PREFILL_CHUNK", chunks[_i / (nt * nl)], 1);
    struct pair p;
    pair_open(&p, FSK_TYPE_F32, 1);
    ck_assert_uint_eq(p.bat->prefill_chunk, (size_t)atoi(chunks[_i / (nt * nl)]));
    pair_close(&p);
    check_prompt(ctypes[_i / nl % nt], 1 + 2 * (_i % 2), clens[_i % nl]);
    unsetenv("FSK_PREFILL_CHUNK");
}
END_TEST

/* Attention shapes that tile differently: SmolLM2's groups of three 64-wide heads (tiles of five
 * tokens, the last one short), and a group of seventeen, wider than a tile (token by token).
 * _i runs over shapes x types x threads x lengths. */
START_TEST(test_prompt_shapes)
{
    static const uint32_t shapes[][3] = {{192, 3, 1}, {68, 17, 1}};
    static const size_t slens[] = {37, 135};
    const int s = _i / 8, q = _i / 4 % 2;
    shape_embd = shapes[s][0];
    shape_head = shapes[s][1];
    shape_head_kv = shapes[s][2];
    /* quantized rows need whole blocks of 32: the 68-wide model is F32 and F16 */
    const uint32_t type = s == 0 ? (q ? FSK_TYPE_Q8_0 : FSK_TYPE_F16) : (q ? FSK_TYPE_F32 : FSK_TYPE_F16);
    check_prompt(type, 1 + 2 * (_i / 2 % 2), slens[_i % 2]);
    shape_embd = 64;
    shape_head = 4;
    shape_head_kv = 2;
}
END_TEST

/* Without the variable the tiny model gets the smallest chunk; a bad value is ignored. */
START_TEST(test_chunk_default)
{
    static const char *const bad[] = {NULL, "0", "257", "abc", "32x", ""};
    _Static_assert(FSK_PREFILL_CHUNK_MAX == 256, "257 is one past the largest chunk");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (bad[i])
            setenv("FSK_PREFILL_CHUNK", bad[i], 1);
        else
            unsetenv("FSK_PREFILL_CHUNK");
        struct pair p;
        pair_open(&p, FSK_TYPE_F32, 1);
        ck_assert_msg(p.bat->prefill_chunk == FSK_PREFILL_CHUNK_MIN, "FSK_PREFILL_CHUNK=%s: chunk %zu",
                      bad[i] ? bad[i] : "(unset)", p.bat->prefill_chunk);
        pair_close(&p);
    }
    unsetenv("FSK_PREFILL_CHUNK");
}
END_TEST

/* Prompt statistics count when asked to, as token by token does; a second prompt continues the
 * first from its position. */
START_TEST(test_stats_and_continuation)
{
    struct pair p;
    pair_open(&p, FSK_TYPE_Q4_1, 2);
    int32_t ids[100];
    prompt_ids(ids, 100, p.m->hp.n_vocab, 5);
    fsk_error err;
    for (int k = 0; k < 2; k++) {
        fsk_context *c = k ? p.bat : p.tok;
        ck_assert_int_eq(fsk_decode_ex(c, ids, 30, NULL, FSK_DECODE_DENSE, &err), FSK_OK);
        ck_assert_int_eq(fsk_decode_ex(c, ids + 30, 70, NULL, FSK_DECODE_DENSE, &err), FSK_OK);
        ck_assert_uint_eq(c->stat_tokens, 100);
    }
    same_logits(&p, "continued prompt");
    same_cache(&p, 100, "continued prompt");
    pair_close(&p);
}
END_TEST

/* Q4_1, Q8_0, Q4_0, Q5_0 and Q5_1 matrices are repacked at load where the table's matvec for them
 * is AVX2 (repack.c), else kept as in the file; either way the model computes what the file layout
 * computes, up to the order of float sums (and the int8 activation levels that order can tip):
 * within 2% of the largest logit, where a row or scale out of place moves logits by their own
 * size. */
START_TEST(test_repack)
{
    const uint32_t kinds[5][2] = {{FSK_TYPE_Q4_1, FSK_TYPE_Q4_1_R8}, {FSK_TYPE_Q8_0, FSK_TYPE_Q8_0_R8},
                                  {FSK_TYPE_Q4_0, FSK_TYPE_Q4_0_R8}, {FSK_TYPE_Q5_0, FSK_TYPE_Q5_0_R8},
                                  {FSK_TYPE_Q5_1, FSK_TYPE_Q5_1_R8}};
    for (int ti = 0; ti < 5; ti++) {
        struct pair p, q;
        pair_open(&p, kinds[ti][0], 2);
        const uint32_t want = fsk_repack_enabled(kinds[ti][0]) ? kinds[ti][1] : kinds[ti][0];
        for (uint32_t l = 0; l < p.m->hp.n_layer; l++) {
            const struct fsk_layer *L = &p.m->layers[l];
            const struct fsk_weight *ws[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
            for (int i = 0; i < 7; i++)
                ck_assert_msg(ws[i]->type == want, "layer %u matrix %d: type %u, want %u", l, i,
                              ws[i]->type, want);
        }
        /* an embedding of its own keeps the file's layout; a tied one is the output head */
        ck_assert_uint_eq(p.m->tok_embd.type, p.m->tied_output ? p.m->output.type : kinds[ti][0]);
        ck_assert_uint_eq(p.m->output.type, p.m->output.rows % FSK_R8 ? kinds[ti][0] : want);
        setenv("FSK_REPACK", "0", 1);
        pair_open(&q, kinds[ti][0], 2);
        unsetenv("FSK_REPACK");
        ck_assert_uint_eq(q.m->layers[0].wq.type, kinds[ti][0]);
        int32_t ids[24];
        prompt_ids(ids, 24, p.m->hp.n_vocab, 99);
        fsk_error err;
        ck_assert_int_eq(fsk_decode(p.bat, ids, 24, NULL, &err), FSK_OK);
        ck_assert_int_eq(fsk_decode(q.bat, ids, 24, NULL, &err), FSK_OK);
        const uint32_t nv = p.m->hp.n_vocab;
        double top = 0, worst = 0;
        for (uint32_t i = 0; i < nv; i++) {
            double a = p.bat->logits[i], b = q.bat->logits[i];
            top = fabs(b) > top ? fabs(b) : top;
            worst = fabs(a - b) > worst ? fabs(a - b) : worst;
        }
        ck_assert_msg(top > 0 && worst <= 0.02 * top,
                      "type %u repacked vs file layout: max |logit diff| %.6g, largest logit %.6g",
                      kinds[ti][0], worst, top);
        pair_close(&p);
        pair_close(&q);
    }
}
END_TEST

/* Resident bytes of the mapping that holds addr, from /proc/self/smaps; -1 where unreadable. */
static long long mapping_rss(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f)
        return -1;
    char line[512];
    int in = 0;
    long long rss = -1, v;
    unsigned long a, b;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%lx-%lx ", &a, &b) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = (uintptr_t)addr >= a && (uintptr_t)addr < b;
        else if (in && sscanf(line, "Rss: %lld kB", &v) == 1)
            rss = v * 1024;
    }
    fclose(f);
    return rss;
}

static int inside(const void *p, size_t n, const fsk_model *m)
{
    const char *a = m->repack_arena;
    return (const char *)p >= a && (const char *)p + n <= a + m->repack_arena_bytes;
}

/* Loaded from a file where the kernel offers transparent huge pages, every matrix and norm vector
 * is moved into one arena advised for them (repack.c), and the file's pages are dropped: the
 * mapping keeps next to nothing resident. The logits are those of FSK_HUGEPAGES=0, bit for bit
 * (the same bytes, the same kernels). An F16 model with a tied head, and a Q4_1 one with an
 * embedding of its own (copied) and its matrices repacked where the table repacks. */
START_TEST(test_huge_pages)
{
    const uint32_t wtypes[2] = {FSK_TYPE_F16, FSK_TYPE_Q4_1};
    for (int ti = 0; ti < 2; ti++) {
        struct tiny_llama o;
        tiny_llama_defaults(&o);
        o.n_embd = 256;
        o.n_ff = 1024;
        o.n_ctx = N_CTX;
        o.type = wtypes[ti];
        o.n_layer = 4; /* an arena over 2 MiB: at least one aligned 2 MiB span */
        o.tied = ti == 0;
        o.seed = 31 + ti;
        size_t n = 0;
        uint8_t *bytes = tiny_llama_gguf(&o, &n);
        char path[] = "/tmp/fsk_test_hugeXXXXXX";
        int fd = mkstemp(path);
        ck_assert_msg(fd >= 0, "mkstemp failed");
        FILE *f = fdopen(fd, "wb");
        ck_assert(f && fwrite(bytes, 1, n, f) == n && fclose(f) == 0);
        free(bytes);
        fsk_model *m[2];
        fsk_error err;
        for (int h = 0; h < 2; h++) {
            if (h == 0)
                setenv("FSK_HUGEPAGES", "0", 1);
            ck_assert_msg(fsk_model_load(&m[h], path, NULL, &err) == FSK_OK, "%s", err.message);
            unsetenv("FSK_HUGEPAGES");
        }
        unlink(path);
        ck_assert_int_eq(m[0]->huge_arena, 0);
        const int huge = fsk_huge_pages_enabled();
        ck_assert_int_eq(m[1]->huge_arena, huge);
        if (huge) {
            const fsk_model *M = m[1];
            const size_t e = M->hp.n_embd;
            for (uint32_t l = 0; l < M->hp.n_layer; l++) {
                const struct fsk_layer *L = &M->layers[l];
                const struct fsk_weight *ws[7] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->gate, &L->up, &L->down};
                for (int i = 0; i < 7; i++)
                    ck_assert_msg(inside(ws[i]->data, ws[i]->rows * ws[i]->row_bytes, M),
                                  "layer %u matrix %d left outside the arena", l, i);
                ck_assert(inside(L->attn_norm, e * sizeof(float), M));
                ck_assert(inside(L->ffn_norm, e * sizeof(float), M));
            }
            ck_assert(inside(M->output_norm, e * sizeof(float), M));
            ck_assert(inside(M->output.data, M->output.rows * M->output.row_bytes, M));
            ck_assert(inside(M->tok_embd.data, M->tok_embd.rows * M->tok_embd.row_bytes, M));
            int eligible;
            long long hb = fsk_huge_bytes(M->repack_arena, M->repack_arena_bytes, &eligible);
            ck_assert_uint_ge(M->repack_arena_bytes, (size_t)2 << 20);
            if (eligible >= 0) /* kernels that show THPeligible: the advice was taken */
                ck_assert_msg(eligible == 1, "arena of %zu bytes not THP-eligible (%lld in huge pages)",
                              M->repack_arena_bytes, hb);
            const struct fsk_gguf_tensor *t0 = fsk_gguf_tensor_at(M->gguf, 0);
            long long rss = mapping_rss(t0->data);
            if (rss >= 0) /* the copy replaced the file's pages: not held twice */
                ck_assert_msg(rss < (long long)(n / 8), "file mapping still holds %lld of %zu bytes",
                              rss, n);
        }
        fsk_context *c[2];
        int32_t ids[24];
        prompt_ids(ids, 24, m[0]->hp.n_vocab, 5);
        for (int h = 0; h < 2; h++) {
            c[h] = context(m[h], 2);
            ck_assert_int_eq(fsk_decode(c[h], ids, 24, NULL, &err), FSK_OK);
            ck_assert_int_eq(fsk_decode(c[h], ids, 1, NULL, &err), FSK_OK); /* a decode step too */
        }
        ck_assert_msg(memcmp(c[0]->logits, c[1]->logits, m[0]->hp.n_vocab * sizeof(float)) == 0,
                      "type %u: logits differ with the weights in huge pages", wtypes[ti]);
        for (int h = 0; h < 2; h++) {
            fsk_context_free(c[h]);
            fsk_model_free(m[h]);
        }
    }
}
END_TEST

/* The fallback for a table whose matmul and matvec of a type come from different variants: the
 * same results token by token, and the table really offers no matmul (_i runs over types). */
START_TEST(test_prompt_no_matmul)
{
    no_matmul = 1;
    struct pair p;
    pair_open(&p, types[_i], 1);
    for (uint32_t t = 0; t < FSK_TYPE_COUNT; t++) {
        struct fsk_wops o;
        if (fsk_wops_for(p.bat->k, t, &o))
            ck_assert_msg(o.matmul == NULL, "type %u kept a matmul", t);
    }
    pair_close(&p);
    check_prompt(types[_i], 1, 3 * FSK_PREFILL_CHUNK_MIN + 5);
    check_prompt(types[_i], 3, FSK_PREFILL_CHUNK_MIN + 1);
    no_matmul = 0;
}
END_TEST

/* The types promised a matmul get one from the table, from the same ISA as their matvec: every
 * weight type, in every variant (AVX-512 included, since its Q5 and K-type matmuls). */
START_TEST(test_matmul_chosen)
{
    struct pair p;
    pair_open(&p, FSK_TYPE_F32, 1);
    const struct fsk_kernels *k = p.bat->k;
    const uint32_t with[] = {FSK_TYPE_F32, FSK_TYPE_F16, FSK_TYPE_Q4_0, FSK_TYPE_Q4_1,
                             FSK_TYPE_Q5_0, FSK_TYPE_Q5_1, FSK_TYPE_Q8_0, FSK_TYPE_Q4_K,
                             FSK_TYPE_Q5_K, FSK_TYPE_Q6_K, FSK_TYPE_BF16};
    for (size_t i = 0; i < sizeof with / sizeof *with; i++) {
        struct fsk_wops o;
        ck_assert(fsk_wops_for(k, with[i], &o));
        ck_assert_msg(o.matmul != NULL, "type %u has no matmul", with[i]);
    }
    ck_assert(p.bat->prefill != NULL);
    pair_close(&p);
}
END_TEST

int main(void)
{
#ifdef PREFILL_FORCE_REF
    setenv("FSK_ISA", "ref", 1);
#endif
    Suite *s = suite_create("prefill");
    TCase *tc = tcase_create("batched_vs_token");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_prompt_1_thread, 0, (int)(N_TYPES * N_LENGTHS));
    tcase_add_loop_test(tc, test_prompt_3_threads, 0, (int)(N_TYPES * N_LENGTHS));
    tcase_add_loop_test(tc, test_prompt_chunks, 0, 3 * 3 * 4);
    tcase_add_loop_test(tc, test_prompt_shapes, 0, 16);
    tcase_add_test(tc, test_chunk_default);
    tcase_add_test(tc, test_stats_and_continuation);
    tcase_add_loop_test(tc, test_prompt_no_matmul, 0, (int)N_TYPES);
    tcase_add_test(tc, test_matmul_chosen);
    tcase_add_test(tc, test_repack);
    tcase_add_test(tc, test_huge_pages);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_api.c: misuse of the public API: NULL arguments to every call, calls after a failed load,
 * frees of NULL, bad ids and sizes, full contexts; each must fail cleanly with a status. */
#include "config.h"

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ffnskip.h"
#include "llama.h"
#include "tiny_llama.h"

static uint8_t *bytes;
static size_t n_bytes;

/* The tiny model (2 layers, context 64, a byte-level vocabulary), from memory. */
static fsk_model *tiny(int add_bos)
{
    struct tiny_llama o;
    tiny_llama_defaults(&o);
    o.add_bos = add_bos;
    free(bytes);
    bytes = tiny_llama_gguf(&o, &n_bytes);
    fsk_model *m = NULL;
    fsk_error err;
    ck_assert_msg(fsk_model_load_memory(&m, bytes, n_bytes, "tiny", NULL, &err) == FSK_OK, "%s", err.message);
    return m;
}

static void done(fsk_model *m)
{
    fsk_model_free(m);
    free(bytes);
    bytes = NULL;
}

static fsk_context *ctx(fsk_model *m, uint32_t n_ctx)
{
    fsk_context_params cp;
    fsk_context_default_params(&cp);
    cp.n_ctx = n_ctx;
    cp.n_threads = 1;
    cp.bind_threads = 0;
    fsk_context *c = NULL;
    fsk_error err;
    ck_assert_msg(fsk_context_new(&c, m, &cp, &err) == FSK_OK, "%s", err.message);
    return c;
}

/* An error was reported: the status and a message. */
static void assert_err(const fsk_error *err, fsk_status st)
{
    ck_assert_int_eq(err->status, st);
    ck_assert_int_gt((int)strlen(err->message), 0);
}

START_TEST(test_status_and_version)
{
    for (int s = FSK_OK; s <= FSK_ERR_INTERNAL; s++)
        ck_assert_str_ne(fsk_status_string((fsk_status)s), "unknown status");
    ck_assert_str_eq(fsk_status_string((fsk_status)999), "unknown status");
    ck_assert_str_eq(fsk_status_string((fsk_status)-1), "unknown status");
    ck_assert_ptr_nonnull(fsk_version());
    ck_assert_int_eq(fsk_init(NULL), FSK_OK);
}
END_TEST

START_TEST(test_describe_null_buffers)
{
    size_t need = fsk_cpu_describe(NULL, 0);
    ck_assert_uint_gt(need, 0);
    ck_assert_uint_eq(fsk_cpu_describe(NULL, 64), need); /* a NULL buffer with a size: no write */
    char small[8];
    memset(small, 'x', sizeof small);
    ck_assert_uint_eq(fsk_cpu_describe(small, sizeof small), need);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    char buf[16] = "junk";
    ck_assert_uint_eq(fsk_model_describe(NULL, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "");
    fsk_model *m = tiny(0);
    size_t mneed = fsk_model_describe(m, NULL, 0);
    ck_assert_uint_gt(mneed, 0);
    ck_assert_uint_eq(fsk_model_describe(m, NULL, 100), mneed);
    done(m);
}
END_TEST

START_TEST(test_model_null_arguments)
{
    fsk_error err;
    fsk_model *m = (fsk_model *)&err; /* a stale value the call must overwrite */
    ck_assert_int_eq(fsk_model_load(NULL, "x.gguf", NULL, &err), FSK_ERR_INVALID_ARG);
    assert_err(&err, FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_model_load(&m, NULL, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_model_load(&m, NULL, NULL, NULL), FSK_ERR_INVALID_ARG); /* err may be NULL */
    fsk_model_default_params(NULL);
    fsk_model_free(NULL);
    fsk_model_info info;
    ck_assert_int_eq(fsk_model_get_info(NULL, &info), FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(fsk_model_n_vocab(NULL), 0);
    ck_assert_int_eq(fsk_token_is_eog(NULL, 0), 0);
    m = tiny(0);
    ck_assert_int_eq(fsk_model_get_info(m, NULL), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_token_is_eog(m, -1), 0);
    ck_assert_int_eq(fsk_token_is_eog(m, (int32_t)fsk_model_n_vocab(m)), 0);
    ck_assert_int_eq(fsk_token_is_eog(m, INT32_MAX), 0);
    done(m);
}
END_TEST

/* After a failed load the out pointer is NULL, and every call on a NULL model fails cleanly. */
START_TEST(test_use_after_failed_load)
{
    fsk_error err;
    fsk_model *m = (fsk_model *)&err;
    ck_assert_int_eq(fsk_model_load(&m, "/nonexistent/dir/model.gguf", NULL, &err), FSK_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/dir/model.gguf"));
    static const uint8_t junk[] = "GGUF\x03\0\0\0 truncated";
    m = (fsk_model *)&err;
    ck_assert_int_eq(fsk_model_load_memory(&m, junk, sizeof junk - 1, "junk", NULL, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_null(m);
    fsk_context *c = (fsk_context *)&err;
    ck_assert_int_eq(fsk_context_new(&c, m, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_ptr_null(c);
    int32_t ids[4];
    size_t n = 99;
    ck_assert_int_eq(fsk_tokenize(m, "hi", 2, 1, 1, ids, 4, &n, &err), FSK_ERR_INVALID_ARG);
    char buf[8];
    ck_assert_int_eq(fsk_detokenize(m, ids, 0, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    fsk_chat_msg msg = {"user", "hi"};
    ck_assert_int_eq(fsk_chat_format(m, &msg, 1, 1, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    fsk_model_info info;
    ck_assert_int_eq(fsk_model_get_info(m, &info), FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(fsk_model_describe(m, buf, sizeof buf), 0);
    fsk_model_free(m);
}
END_TEST

START_TEST(test_tokenize_misuse)
{
    fsk_model *m = tiny(1);
    fsk_error err;
    int32_t ids[64];
    size_t n = 0;
    ck_assert_int_eq(fsk_tokenize(m, NULL, 3, 0, 0, ids, 64, &n, &err), FSK_ERR_INVALID_ARG);
    assert_err(&err, FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_tokenize(m, "hi", 2, 0, 0, ids, 64, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_tokenize(m, "hi", 2, 0, 0, NULL, 64, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_tokenize(m, NULL, 0, 0, 0, ids, 64, &n, &err), FSK_OK); /* empty text */
    ck_assert_uint_eq(n, 0);
    /* with BOS: a buffer of 0 or 1 ids must not be written past, and says what it needs */
    ck_assert_int_eq(fsk_tokenize(m, "", 0, 1, 0, NULL, 0, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, 1);
    ids[1] = 12345;
    ck_assert_int_eq(fsk_tokenize(m, "hello", 5, 1, 0, ids, 1, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_uint_gt(n, 1);
    ck_assert_int_eq(ids[1], 12345);
    size_t need = n;
    ck_assert_int_eq(fsk_tokenize(m, "hello", 5, 1, 0, ids, need, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, need);
    /* invalid UTF-8 is encoded, not refused */
    ck_assert_int_eq(fsk_tokenize(m, "\xff\xfe", 2, 0, 0, ids, 64, &n, &err), FSK_OK);
    ck_assert_uint_gt(n, 0);
    done(m);
}
END_TEST

START_TEST(test_detokenize_misuse)
{
    fsk_model *m = tiny(0);
    fsk_error err;
    char buf[64];
    size_t n;
    int32_t ok[2] = {'h', 'i'}, bad[2] = {'h', -1};
    ck_assert_int_eq(fsk_detokenize(m, NULL, 2, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_detokenize(m, ok, 2, NULL, 8, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_detokenize(m, ok, 2, buf, sizeof buf, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_detokenize(m, bad, 2, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    assert_err(&err, FSK_ERR_INVALID_ARG);
    bad[1] = (int32_t)fsk_model_n_vocab(m);
    ck_assert_int_eq(fsk_detokenize(m, bad, 2, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_detokenize(m, ok, 2, buf, 1, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, 2); /* the size needed */
    ck_assert_int_eq(fsk_detokenize(m, ok, 2, buf, 2, &n, &err), FSK_OK);
    ck_assert_int_eq(memcmp(buf, "hi", 2), 0);
    done(m);
}
END_TEST

START_TEST(test_context_misuse)
{
    fsk_model *m = tiny(0);
    fsk_error err;
    fsk_context *c = NULL;
    ck_assert_int_eq(fsk_context_new(NULL, m, NULL, &err), FSK_ERR_INVALID_ARG);
    fsk_context_params cp;
    fsk_context_default_params(&cp);
    fsk_context_default_params(NULL);
    cp.n_ctx = 65; /* the model was trained on 64 */
    cp.n_threads = 1;
    ck_assert_int_eq(fsk_context_new(&c, m, &cp, &err), FSK_ERR_INVALID_ARG);
    ck_assert_ptr_null(c);
    cp.n_ctx = 4;
    cp.n_threads = -3;
    ck_assert_int_eq(fsk_context_new(&c, m, &cp, &err), FSK_ERR_INVALID_ARG);
    ck_assert_ptr_null(c);
    fsk_context_free(NULL);
    ck_assert_uint_eq(fsk_context_n_ctx(NULL), 0);
    ck_assert_uint_eq(fsk_context_pos(NULL), 0);
    ck_assert_int_eq(fsk_context_rewind(NULL, 0, &err), FSK_ERR_INVALID_ARG);
    c = ctx(m, 4);
    ck_assert_int_eq(fsk_context_rewind(c, 1, &err), FSK_ERR_INVALID_ARG); /* nothing cached */
    int32_t ids[5] = {'a', 'b', 'c', 'd', 'e'};
    ck_assert_int_eq(fsk_decode(NULL, ids, 1, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_decode(c, NULL, 1, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_decode(c, ids, 0, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_decode_ex(c, ids, 1, NULL, 0x80u, &err), FSK_ERR_INVALID_ARG);
    int32_t bad[2] = {'a', -7};
    ck_assert_int_eq(fsk_decode(c, bad, 2, NULL, &err), FSK_ERR_INVALID_ARG);
    bad[1] = (int32_t)fsk_model_n_vocab(m);
    ck_assert_int_eq(fsk_decode(c, bad, 2, NULL, NULL), FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(fsk_context_pos(c), 0); /* nothing ran */
    ck_assert_int_eq(fsk_decode(c, ids, 5, NULL, &err), FSK_ERR_CONTEXT_FULL);
    assert_err(&err, FSK_ERR_CONTEXT_FULL);
    ck_assert_uint_eq(fsk_context_pos(c), 0);
    float *logits = malloc(fsk_model_n_vocab(m) * sizeof *logits);
    ck_assert_int_eq(fsk_decode(c, ids, 4, logits, &err), FSK_OK);
    for (uint32_t v = 0; v < fsk_model_n_vocab(m); v++)
        ck_assert(isfinite(logits[v]));
    ck_assert_int_eq(fsk_decode(c, ids, 1, NULL, &err), FSK_ERR_CONTEXT_FULL);
    ck_assert_int_eq(fsk_context_rewind(c, 5, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_context_rewind(c, 3, &err), FSK_OK);
    ck_assert_int_eq(fsk_decode(c, ids, 1, NULL, &err), FSK_OK);
    free(logits);
    fsk_context_free(c);
    done(m);
}
END_TEST

START_TEST(test_sampler_misuse)
{
    fsk_error err;
    fsk_sampler *s = NULL;
    fsk_sampler_params sp;
    fsk_sampler_default_params(&sp);
    fsk_sampler_default_params(NULL);
    ck_assert_int_eq(fsk_sampler_new(NULL, &sp, 10, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_sampler_new(&s, &sp, 0, &err), FSK_ERR_INVALID_ARG);
    ck_assert_ptr_null(s);
    sp.temperature = NAN;
    ck_assert_int_eq(fsk_sampler_new(&s, &sp, 10, &err), FSK_ERR_INVALID_ARG);
    assert_err(&err, FSK_ERR_INVALID_ARG);
    fsk_sampler_free(NULL);
    fsk_sampler_default_params(&sp);
    ck_assert_int_eq(fsk_sampler_new(&s, &sp, 10, &err), FSK_OK);
    float logits[10] = {0};
    ck_assert_int_eq(fsk_sampler_sample(NULL, logits, NULL, 0), -1);
    ck_assert_int_eq(fsk_sampler_sample(s, NULL, NULL, 0), -1);
    /* logits a broken model could give: any answer must still be a token */
    for (int i = 0; i < 10; i++)
        logits[i] = NAN;
    int32_t id = fsk_sampler_sample(s, logits, NULL, 0);
    ck_assert(id >= 0 && id < 10);
    for (int i = 0; i < 10; i++)
        logits[i] = i % 2 ? INFINITY : -INFINITY;
    id = fsk_sampler_sample(s, logits, NULL, 0);
    ck_assert(id >= 0 && id < 10);
    fsk_sampler_free(s);
}
END_TEST

static int count_cb(void *user, int32_t id, const char *piece, size_t len)
{
    (void)id;
    (void)piece;
    (void)len;
    ++*(int *)user;
    return 0;
}

/* Greedy picks the first index of the largest logit and never a NaN, at any vocabulary size (the
 * scan runs eight lanes, then a tail). */
START_TEST(test_greedy_argmax)
{
    enum { N = 43 };
    fsk_sampler_params sp;
    fsk_sampler_default_params(&sp);
    sp.temperature = 0;
    sp.repeat_penalty = 1.0f;
    fsk_error err;
    for (uint32_t n = 1; n <= N; n++) {
        fsk_sampler *s = NULL;
        ck_assert_int_eq(fsk_sampler_new(&s, &sp, n, &err), FSK_OK);
        float l[N];
        for (uint32_t at = 0; at < n; at++) {
            for (uint32_t i = 0; i < n; i++)
                l[i] = -(float)((i * 7u) % 5u) - 1.0f; /* all below the winner */
            l[at] = 3.0f;
            if (at + 3 < n)
                l[at + 3] = 3.0f; /* a tie later on: the first wins */
            if (at > 1)
                l[at - 1] = NAN; /* a NaN before the winner (not first) is never chosen */
            ck_assert_int_eq(fsk_sampler_sample(s, l, NULL, 0), (int32_t)at);
        }
        for (uint32_t i = 0; i < n; i++)
            l[i] = -INFINITY;
        ck_assert_int_eq(fsk_sampler_sample(s, l, NULL, 0), 0);
        l[0] = NAN; /* as a scan from index 0 leaves it */
        ck_assert_int_eq(fsk_sampler_sample(s, l, NULL, 0), 0);
        fsk_sampler_free(s);
    }
}
END_TEST

START_TEST(test_generate_misuse)
{
    fsk_model *m = tiny(0);
    fsk_context *c = ctx(m, 8);
    fsk_error err;
    fsk_sampler *s = NULL;
    fsk_sampler_params sp;
    fsk_sampler_default_params(&sp);
    sp.temperature = 0;
    ck_assert_int_eq(fsk_sampler_new(&s, &sp, fsk_model_n_vocab(m), &err), FSK_OK);
    int32_t ids[9] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'};
    ck_assert_int_eq(fsk_generate(NULL, s, ids, 1, 1, NULL, NULL, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_generate(c, NULL, ids, 1, 1, NULL, NULL, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_generate(c, s, NULL, 1, 1, NULL, NULL, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_generate(c, s, ids, 0, 1, NULL, NULL, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_generate(c, s, ids, 9, 1, NULL, NULL, NULL, &err), FSK_ERR_CONTEXT_FULL);
    ck_assert_uint_eq(fsk_context_pos(c), 0);
    /* n_predict 0: the prompt is cached, nothing is generated */
    fsk_gen_stats gs;
    int calls = 0;
    ck_assert_int_eq(fsk_generate(c, s, ids, 3, 0, count_cb, &calls, &gs, &err), FSK_OK);
    ck_assert_uint_eq(gs.n_generated, 0);
    ck_assert_int_eq(calls, 0);
    ck_assert_uint_eq(fsk_context_pos(c), 3);
    /* generation that fills the context stops there and says so; no callback, no stats is fine */
    ck_assert_int_eq(fsk_generate(c, s, ids, 2, 100, NULL, NULL, &gs, &err), FSK_OK);
    ck_assert_uint_eq(fsk_context_pos(c), 8);
    ck_assert(gs.context_full || gs.stopped_by_eog);
    ck_assert_int_eq(fsk_context_rewind(c, 0, &err), FSK_OK);
    ck_assert_int_eq(fsk_generate(c, s, ids, 1, 2, NULL, NULL, NULL, NULL), FSK_OK);
    fsk_sampler_free(s);
    fsk_context_free(c);
    done(m);
}
END_TEST

/* Records whether an end-of-generation id reached the callback. */
static int eog_cb(void *user, int32_t id, const char *piece, size_t len)
{
    (void)piece;
    (void)len;
    struct { const fsk_model *m; int eog; } *u = user;
    u->eog |= id >= 0 && fsk_token_is_eog(u->m, id);
    return 0;
}

/* FSK_GEN_IGNORE_EOG: a seed whose hot sampling stops at an end-of-generation token without the
 * flag generates every token with it, none of them end-of-generation. */
START_TEST(test_generate_ignore_eog)
{
    fsk_model *m = tiny(0);
    fsk_context *c = ctx(m, 64);
    fsk_error err;
    fsk_sampler_params sp;
    fsk_sampler_default_params(&sp);
    sp.temperature = 100.0f; /* near uniform: an EOG id comes within a few hundred draws */
    sp.top_k = 0;
    sp.top_p = 1.0f;
    sp.min_p = 0.0f;
    int32_t prompt[2] = {'h', 'i'};
    int found = 0;
    for (uint64_t seed = 1; seed <= 500 && !found; seed++) {
        fsk_sampler *s = NULL;
        fsk_gen_stats gs;
        sp.seed = seed;
        ck_assert_int_eq(fsk_sampler_new(&s, &sp, fsk_model_n_vocab(m), &err), FSK_OK);
        ck_assert_int_eq(fsk_context_rewind(c, 0, &err), FSK_OK);
        ck_assert_int_eq(fsk_generate_ex(c, s, prompt, 2, 60, 0, NULL, NULL, &gs, &err), FSK_OK);
        fsk_sampler_free(s);
        if (!gs.stopped_by_eog)
            continue;
        found = 1;
        struct { const fsk_model *m; int eog; } u = {m, 0};
        ck_assert_int_eq(fsk_sampler_new(&s, &sp, fsk_model_n_vocab(m), &err), FSK_OK);
        ck_assert_int_eq(fsk_context_rewind(c, 0, &err), FSK_OK);
        ck_assert_int_eq(fsk_generate_ex(c, s, prompt, 2, 60, FSK_GEN_IGNORE_EOG, eog_cb, &u, &gs, &err),
                         FSK_OK);
        ck_assert(!gs.stopped_by_eog);
        ck_assert_uint_eq(gs.n_generated, 60);
        ck_assert(!u.eog);
        fsk_sampler_free(s);
    }
    ck_assert_msg(found, "no seed stopped at an end-of-generation token: the test cannot tell");
    fsk_sampler *s = NULL;
    ck_assert_int_eq(fsk_sampler_new(&s, &sp, fsk_model_n_vocab(m), &err), FSK_OK);
    ck_assert_int_eq(fsk_generate_ex(c, s, prompt, 2, 1, 0x80, NULL, NULL, NULL, &err), FSK_ERR_INVALID_ARG);
    fsk_sampler_free(s);
    fsk_context_free(c);
    done(m);
}
END_TEST

START_TEST(test_chat_misuse)
{
    fsk_model *m = tiny(0);
    fsk_error err;
    size_t n = 0;
    char buf[256];
    fsk_chat_msg ok = {"user", "hi"}, no_role = {NULL, "hi"}, no_text = {"user", NULL}, bogus = {"admin", "hi"};
    ck_assert_int_eq(fsk_chat_format(m, NULL, 1, 1, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_chat_format(m, &ok, 1, 1, buf, sizeof buf, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_chat_format(m, &no_role, 1, 1, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_chat_format(m, &no_text, 1, 1, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_chat_format(m, &bogus, 1, 1, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    assert_err(&err, FSK_ERR_INVALID_ARG);
    /* a NULL buffer with a size is only asked for the size */
    ck_assert_int_eq(fsk_chat_format(m, &ok, 1, 1, NULL, 64, &n, &err), FSK_ERR_INVALID_ARG);
    size_t need = n;
    ck_assert_int_eq(fsk_chat_format(m, &ok, 1, 1, buf, need - 1, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_chat_format(m, &ok, 1, 1, buf, need, &n, &err), FSK_OK);
    ck_assert_uint_eq(strlen(buf) + 1, need);
    ck_assert_int_eq(fsk_chat_format(m, NULL, 0, 1, buf, sizeof buf, &n, &err), FSK_OK);
    done(m);
}
END_TEST

START_TEST(test_skip_misuse)
{
    fsk_error err;
    fsk_skip_params p;
    fsk_skip_default_params(&p);
    fsk_skip_default_params(NULL);
    ck_assert_str_eq(fsk_skip_policy_name((fsk_skip_policy)-1), "?");
    ck_assert_str_eq(fsk_skip_policy_name(FSK_SKIP_POLICY_COUNT), "?");
    fsk_skip_policy pol;
    ck_assert_int_eq(fsk_skip_policy_parse(NULL, &pol), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_skip_policy_parse("ffn-skip", NULL), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_skip_policy_parse("FFN-SKIP", &pol), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_skip_profile_load(NULL, &p, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_skip_profile_load("x", NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_skip_profile_load("/nonexistent/p.profile", &p, &err), FSK_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/p.profile"));
    ck_assert_int_eq(fsk_skip_profile_save(NULL, &p, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_skip_profile_save("x", NULL, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_skip_profile_save("/nonexistent/dir/p.profile", &p, NULL, &err), FSK_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "/nonexistent/dir/p.profile"));
    ck_assert_int_eq(fsk_context_set_skip(NULL, &p, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_context_get_skip(NULL, &p), FSK_ERR_INVALID_ARG);
    fsk_skip_stats st;
    ck_assert_int_eq(fsk_context_skip_stats(NULL, &st), FSK_ERR_INVALID_ARG);
    fsk_context_reset_stats(NULL);
    float sim[2];
    ck_assert_int_eq(fsk_context_last_trace(NULL, sim, NULL, 2), FSK_ERR_INVALID_ARG);
    fsk_model *m = tiny(0);
    fsk_context *c = ctx(m, 4);
    ck_assert_int_eq(fsk_context_set_skip(c, NULL, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_context_get_skip(c, NULL), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_context_skip_stats(c, NULL), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_context_last_trace(c, sim, NULL, 3), FSK_ERR_INVALID_ARG); /* the model has 2 */
    ck_assert_int_eq(fsk_context_last_trace(c, NULL, NULL, 2), FSK_OK);
    p.policy = (fsk_skip_policy)77;
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    fsk_skip_default_params(&p);
    p.policy = FSK_SKIP_FFN;
    p.threshold = NAN;
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    p.threshold = 0.9f;
    p.cold_first = UINT32_MAX; /* must not wrap when added to cold_last */
    p.cold_last = 2;
    ck_assert_int_eq(fsk_context_set_skip(c, &p, &err), FSK_ERR_INVALID_ARG);
    assert_err(&err, FSK_ERR_INVALID_ARG);
    fsk_context_free(c);
    done(m);
}
END_TEST

/* Contexts hold a pointer to their model (ffnskip.h: the model must outlive them): several share
 * one model independently, and may be freed in any order before it. */
START_TEST(test_contexts_share_a_model)
{
    fsk_model *m = tiny(0);
    fsk_context *a = ctx(m, 8), *b = ctx(m, 8);
    fsk_error err;
    uint32_t nv = fsk_model_n_vocab(m);
    float *la = malloc(nv * sizeof *la), *lb = malloc(nv * sizeof *lb);
    int32_t ids[3] = {'x', 'y', 'z'};
    ck_assert_int_eq(fsk_decode(a, ids, 3, la, &err), FSK_OK);
    ck_assert_int_eq(fsk_decode(b, ids, 1, lb, &err), FSK_OK);
    fsk_context_free(a); /* b does not depend on a */
    ck_assert_int_eq(fsk_decode(b, ids + 1, 2, lb, &err), FSK_OK);
    ck_assert_int_eq(memcmp(la, lb, nv * sizeof *la), 0);
    fsk_context_free(b);
    free(la);
    free(lb);
    done(m);
}
END_TEST

/* --check-weights: a NaN weight is refused only when asked, and the message names the tensor. */
START_TEST(test_check_finite)
{
    struct tiny_llama o;
    tiny_llama_defaults(&o);
    o.nan_weight = 1;
    size_t n;
    uint8_t *b = tiny_llama_gguf(&o, &n);
    fsk_model *m = NULL;
    fsk_error err;
    fsk_model_params p;
    fsk_model_default_params(&p);
    ck_assert_int_eq(fsk_model_load_memory(&m, b, n, "nan", &p, &err), FSK_OK);
    fsk_model_free(m);
    p.check_finite = 1;
    ck_assert_int_eq(fsk_model_load_memory(&m, b, n, "nan", &p, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err.message, "blk.0.ffn_up.weight"));
    free(b);
    o.nan_weight = 0;
    o.type = FSK_TYPE_F16;
    b = tiny_llama_gguf(&o, &n);
    ck_assert_int_eq(fsk_model_load_memory(&m, b, n, "finite", &p, &err), FSK_OK);
    fsk_model_free(m);
    free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("api");
    TCase *tc = tcase_create("misuse");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_status_and_version);
    tcase_add_test(tc, test_describe_null_buffers);
    tcase_add_test(tc, test_model_null_arguments);
    tcase_add_test(tc, test_use_after_failed_load);
    tcase_add_test(tc, test_tokenize_misuse);
    tcase_add_test(tc, test_detokenize_misuse);
    tcase_add_test(tc, test_context_misuse);
    tcase_add_test(tc, test_sampler_misuse);
    tcase_add_test(tc, test_greedy_argmax);
    tcase_add_test(tc, test_generate_misuse);
    tcase_add_test(tc, test_generate_ignore_eog);
    tcase_add_test(tc, test_chat_misuse);
    tcase_add_test(tc, test_skip_misuse);
    tcase_add_test(tc, test_contexts_share_a_model);
    tcase_add_test(tc, test_check_finite);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* test_tokenizer.c: the byte-level BPE tokenizer. Built twice: test_tokenizer runs on a tiny
 * hand-made vocabulary (merge order, every pre-tokenizer's splits, special tokens, invalid UTF-8,
 * buffers, the streaming decoder); test_tokenizer_model (-DTOKENIZER_MODEL_TESTS) checks the
 * default model's tokenizer against llama.cpp's ids for every line of
 * tests/data/tokenizer_smollm2.tsv and needs FSK_MODEL (skipped, exit 77, without it). */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#ifndef TOKENIZER_MODEL_TESTS
#include "gguf_writer.h"
#endif

#ifndef TOKENIZER_MODEL_TESTS

/* ------------------------------------------------------------------ a tiny vocabulary */

/* Ids 0..255: the 256 byte tokens in byte order (GPT-2's byte -> code point table, written here
 * independently of the library); then these, in order. */
static const char *const extra_tokens[] = {
    "he", "ll", "hell", "hello", "\xc4\xa0hello", "12", "123", "34", "'S", "\xc4\xa0\xc4\xa0",
    "\xc4\xa0" "b", "aa", "<|im_start|>", "<u>", "<|im_end|>", "dup", "dup",
};
enum {
    T_HE = 256, T_LL, T_HELL, T_HELLO, T_SP_HELLO, T_12, T_123, T_34, T_APOS_S, T_SP_SP, T_SP_B,
    T_AA, T_IM_START, T_USER, T_IM_END, T_DUP1, T_DUP2, N_TINY
};
static const int32_t extra_types[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 3, 4, 1, 1, 1};
static const char *const tiny_merges[] = {
    "h e", "l l", "he ll", "hell o", "\xc4\xa0 hello", "1 2", "12 3", "3 4", "' S",
    "\xc4\xa0 \xc4\xa0", "\xc4\xa0 b", "a a", "x y", "h e", "nospace", "q ",
};

static char byte_tok[256][3];
static const char *tiny_tokens[N_TINY];
static int32_t tiny_types[N_TINY];

static void build_tiny(void)
{
    unsigned n = 0;
    for (unsigned b = 0; b < 256; b++) {
        int self = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
        unsigned c = self ? b : 256 + n++;
        if (c < 0x80) {
            byte_tok[b][0] = (char)c;
        } else {
            byte_tok[b][0] = (char)(0xc0 | c >> 6);
            byte_tok[b][1] = (char)(0x80 | (c & 0x3f));
        }
        tiny_tokens[b] = byte_tok[b];
        tiny_types[b] = FSK_TOKEN_NORMAL;
    }
    for (unsigned i = 256; i < N_TINY; i++) {
        tiny_tokens[i] = extra_tokens[i - 256];
        tiny_types[i] = extra_types[i - 256];
    }
}

static struct fsk_tokenizer_spec tiny_spec(const char *pre)
{
    struct fsk_tokenizer_spec sp = {0};
    sp.n_tokens = N_TINY;
    sp.tokens = tiny_tokens;
    sp.types = tiny_types;
    sp.n_merges = sizeof tiny_merges / sizeof *tiny_merges;
    sp.merges = tiny_merges;
    sp.pre = pre;
    sp.bos = T_IM_START;
    sp.eos = T_DUP1;
    sp.eot = sp.unk = sp.pad = -1;
    sp.add_bos = -1;
    return sp;
}

static fsk_tokenizer *tiny(const char *pre)
{
    fsk_tokenizer *t;
    fsk_error err;
    struct fsk_tokenizer_spec sp = tiny_spec(pre);
    ck_assert_msg(fsk_tokenizer_create_from_spec(&t, &sp, &err) == FSK_OK, "%s", err.message);
    return t;
}

/* Encodes s (parse_special ps) and compares with want[0..n). */
static void expect_ids(fsk_tokenizer *t, const char *s, size_t len, int ps, const int32_t *want,
                       size_t n)
{
    int32_t ids[64];
    size_t got;
    fsk_error err;
    ck_assert_msg(fsk_tokenizer_encode(t, s, len, ps, ids, 64, &got, &err) == FSK_OK, "%s",
                  err.message);
    ck_assert_msg(got == n, "'%s': %zu tokens, want %zu (first %d)", s, got, n, got ? ids[0] : -1);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ids[i] == want[i], "'%s': token %zu is %d, want %d", s, i, ids[i], want[i]);
}

#define EXPECT(t, s, ps, ...)                                                            \
    do {                                                                                 \
        static const int32_t want_[] = {__VA_ARGS__};                                    \
        expect_ids(t, s, sizeof(s) - 1, ps, want_, sizeof want_ / sizeof *want_);        \
    } while (0)

START_TEST(test_merges_by_rank)
{
    fsk_tokenizer *t = tiny("gpt2");
    EXPECT(t, "hello", 0, T_HELLO);
    EXPECT(t, " hello", 0, T_SP_HELLO);
    EXPECT(t, "hello hello", 0, T_HELLO, T_SP_HELLO);
    EXPECT(t, "hel", 0, T_HE, 'l');
    EXPECT(t, "aaa", 0, T_AA, 'a');       /* equal ranks: leftmost first */
    EXPECT(t, "aaaa", 0, T_AA, T_AA);
    EXPECT(t, "xy", 0, 'x', 'y');         /* merged text is no token: its bytes' tokens */
    EXPECT(t, "1234", 0, T_123, '4');     /* "1 2" (5) before "3 4" (7), then "12 3" (6) */
    EXPECT(t, "3412", 0, T_34, T_12);
    ck_assert_str_eq(fsk_tokenizer_pre_name(t), "gpt2");
    fsk_tokenizer_free(t);
}
END_TEST

START_TEST(test_pretokenizers)
{
    fsk_tokenizer *g = tiny("gpt2"), *s = tiny("smollm"), *l = tiny("llama-bpe"), *d = tiny(NULL);
    EXPECT(s, "1234", 0, '1', '2', '3', '4'); /* every digit alone */
    EXPECT(s, "hello12", 0, T_HELLO, '1', '2');
    EXPECT(l, "3412", 0, T_34, '1', '2');     /* digits in threes: "341" "2" */
    EXPECT(d, "3412", 0, T_34, '1', '2');     /* default: [0-9]{3} after \p{N}+ */
    EXPECT(d, "1234", 0, T_123, '4');
    EXPECT(g, "'S", 0, '\'', 'S');            /* GPT-2 contractions are lowercase only */
    EXPECT(l, "'S", 0, T_APOS_S);             /* llama3 folds case */
    EXPECT(g, "a  b", 0, 'a', ' ', T_SP_B);  /* \s+(?!\S): the last blank joins the word */
    EXPECT(g, "a  ", 0, 'a', T_SP_SP);        /* trailing blanks stay one piece */
    EXPECT(l, "a  ", 0, 'a', T_SP_SP);
    EXPECT(s, "a  b", 0, 'a', ' ', T_SP_B);
    ck_assert_str_eq(fsk_tokenizer_pre_name(s), "starcoder");
    ck_assert_str_eq(fsk_tokenizer_pre_name(l), "llama3");
    ck_assert_str_eq(fsk_tokenizer_pre_name(d), "default");
    ck_assert_int_eq(fsk_tokenizer_add_bos(l), 1); /* llama3's default */
    ck_assert_int_eq(fsk_tokenizer_add_bos(g), 0);
    fsk_tokenizer_free(g);
    fsk_tokenizer_free(s);
    fsk_tokenizer_free(l);
    fsk_tokenizer_free(d);
}
END_TEST

START_TEST(test_special_tokens)
{
    fsk_tokenizer *t = tiny("gpt2");
    EXPECT(t, "<|im_start|>hello", 1, T_IM_START, T_HELLO);
    EXPECT(t, "<|im_start|>hello", 0, '<', '|', 'i', 'm', '_', 's', 't', 'a', 'r', 't', '|', '>',
           T_HELLO);
    EXPECT(t, "x<u>y", 0, 'x', T_USER, 'y'); /* user-defined: always */
    EXPECT(t, "x<u>y", 1, 'x', T_USER, 'y');
    EXPECT(t, "<|im_end|><|im_end|>", 1, T_IM_END, T_IM_END);
    ck_assert(fsk_tokenizer_is_control(t, T_IM_START));
    ck_assert(fsk_tokenizer_is_control(t, T_IM_END)); /* normal in the file, control by name */
    ck_assert(fsk_tokenizer_is_eog(t, T_IM_END));
    ck_assert(fsk_tokenizer_is_eog(t, T_DUP1));       /* eos */
    ck_assert(!fsk_tokenizer_is_eog(t, T_HELLO));
    ck_assert(!fsk_tokenizer_is_control(t, T_USER));
    ck_assert_int_eq(fsk_tokenizer_eot(t), T_IM_END);
    ck_assert_int_eq(fsk_tokenizer_find(t, "hello", 5), T_HELLO);
    ck_assert_int_eq(fsk_tokenizer_find(t, "dup", 3), T_DUP2); /* last of equal texts */
    ck_assert_int_eq(fsk_tokenizer_find(t, "nope", 4), -1);
    ck_assert_int_eq(fsk_tokenizer_find(t, "<|im_start|>", 12), T_IM_START);
    size_t n;
    ck_assert_ptr_nonnull(fsk_tokenizer_piece(t, T_IM_START, 0, &n));
    ck_assert_uint_eq(n, 0);
    const char *p = fsk_tokenizer_piece(t, T_IM_START, 1, &n);
    ck_assert_uint_eq(n, 12);
    ck_assert(memcmp(p, "<|im_start|>", 12) == 0);
    p = fsk_tokenizer_piece(t, T_SP_HELLO, 0, &n);
    ck_assert_uint_eq(n, 6);
    ck_assert(memcmp(p, " hello", 6) == 0);
    ck_assert_ptr_null(fsk_tokenizer_piece(t, N_TINY, 1, &n));
    ck_assert_ptr_null(fsk_tokenizer_piece(t, -1, 1, &n));
    p = fsk_tokenizer_token_text(t, T_SP_HELLO, &n);
    ck_assert_uint_eq(n, 7);
    ck_assert(memcmp(p, "\xc4\xa0hello", 7) == 0);
    fsk_tokenizer_free(t);
}
END_TEST

START_TEST(test_invalid_utf8)
{
    fsk_tokenizer *t = tiny("smollm");
    EXPECT(t, "\xff", 0, 0xef, 0xbf, 0xbd);      /* U+FFFD, as llama.cpp reads it */
    EXPECT(t, "a\xe4\xb8", 0, 'a', 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd);
    EXPECT(t, "\xc0\x80", 0, 0x00);               /* overlong NUL, re-encoded shortest */
    EXPECT(t, "\xed\xa0\x80", 0, 0xed, 0xa0, 0x80); /* a surrogate passes */
    EXPECT(t, "\xf4\x90\x80\x80", 0, 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd, 0xef, 0xbf, 0xbd, 0xef,
           0xbf, 0xbd);
    EXPECT(t, "x\0y", 0, 'x', 0, 'y');
    fsk_tokenizer_free(t);
}
END_TEST

START_TEST(test_buffers)
{
    fsk_tokenizer *t = tiny("gpt2");
    fsk_error err;
    int32_t ids[4] = {-7, -7, -7, -7};
    size_t n = 99;
    ck_assert_int_eq(fsk_tokenizer_encode(t, "hello hello", 11, 0, ids, 1, &n, &err),
                     FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(ids[0], T_HELLO);
    ck_assert_int_eq(ids[1], -7); /* nothing past cap */
    ck_assert_int_eq(fsk_tokenizer_encode(t, "hello hello", 11, 0, NULL, 0, &n, &err),
                     FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, 2);
    ck_assert_ptr_nonnull(strstr(err.message, "2 tokens"));
    ck_assert_int_eq(fsk_tokenizer_encode(t, "", 0, 0, NULL, 0, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(fsk_tokenizer_encode(t, NULL, 3, 0, ids, 4, &n, &err), FSK_ERR_INVALID_ARG);
    char buf[16];
    const int32_t two[] = {T_HELLO, T_SP_HELLO};
    ck_assert_int_eq(fsk_tokenizer_decode(t, two, 2, 0, buf, 5, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, 11);
    ck_assert_int_eq(fsk_tokenizer_decode(t, two, 2, 0, buf, 11, &n, &err), FSK_OK);
    ck_assert(memcmp(buf, "hello hello", 11) == 0);
    const int32_t bad[] = {T_HELLO, N_TINY};
    ck_assert_int_eq(fsk_tokenizer_decode(t, bad, 2, 0, buf, 16, &n, &err), FSK_ERR_INVALID_ARG);
    fsk_tokenizer_free(t);
}
END_TEST

START_TEST(test_streaming_decoder)
{
    fsk_tokenizer *t = tiny("gpt2");
    fsk_detok st;
    fsk_error err;
    char buf[64];
    size_t n;
    fsk_detok_init(&st, t, 1);
    /* U+1F600 = F0 9F 98 80 arrives a byte per token: nothing until the last */
    const int32_t emoji[] = {0xf0, 0x9f, 0x98, 0x80};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(fsk_detok_push(&st, emoji[i], buf, sizeof buf, &n, &err), FSK_OK);
        ck_assert_uint_eq(n, 0);
    }
    ck_assert_int_eq(fsk_detok_push(&st, emoji[3], buf, 3, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, 4); /* state unchanged: the same push with room works */
    ck_assert_int_eq(fsk_detok_push(&st, emoji[3], buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert(memcmp(buf, "\xf0\x9f\x98\x80", 4) == 0);
    /* "é" split, then text: the lead is held, then both come out with the rest */
    ck_assert_int_eq(fsk_detok_push(&st, T_HELLO, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 5);
    ck_assert_int_eq(fsk_detok_push(&st, 0xc3, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(fsk_detok_push(&st, 0xa9, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 2);
    /* a lead followed by a non-continuation can never complete: passed on as is */
    ck_assert_int_eq(fsk_detok_push(&st, 0xe4, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(fsk_detok_push(&st, 'a', buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(buf, "\xe4" "a", 2) == 0);
    /* E0 80 can never be valid: not held */
    ck_assert_int_eq(fsk_detok_push(&st, 0xe0, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_int_eq(fsk_detok_push(&st, 0x80, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 2);
    /* held at the end: flush hands it over */
    ck_assert_int_eq(fsk_detok_push(&st, 0xe4, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_int_eq(fsk_detok_push(&st, 0xb8, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(fsk_detok_flush(&st, buf, 1, &n, &err), FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(fsk_detok_flush(&st, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(buf, "\xe4\xb8", 2) == 0);
    ck_assert_int_eq(fsk_detok_flush(&st, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(fsk_detok_push(&st, N_TINY, buf, sizeof buf, &n, &err), FSK_ERR_INVALID_ARG);
    /* control tokens: rendered only when asked */
    ck_assert_int_eq(fsk_detok_push(&st, T_IM_START, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 12);
    fsk_detok_init(&st, t, 0);
    ck_assert_int_eq(fsk_detok_push(&st, T_IM_START, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 0);
    fsk_tokenizer_free(t);
}
END_TEST

START_TEST(test_bad_specs)
{
    fsk_tokenizer *t = NULL;
    fsk_error err;
    struct fsk_tokenizer_spec sp = tiny_spec("no-such-pre");
    ck_assert_int_eq(fsk_tokenizer_create_from_spec(&t, &sp, &err), FSK_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "no-such-pre"));
    ck_assert_ptr_null(t);
    sp = tiny_spec("gpt2");
    sp.eos = N_TINY;
    ck_assert_int_eq(fsk_tokenizer_create_from_spec(&t, &sp, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "eos_token_id"));
    sp = tiny_spec("gpt2");
    int32_t types[N_TINY];
    memcpy(types, tiny_types, sizeof types);
    types[T_HE] = 9;
    sp.types = types;
    ck_assert_int_eq(fsk_tokenizer_create_from_spec(&t, &sp, &err), FSK_ERR_FORMAT);
    sp = tiny_spec("gpt2");
    sp.n_tokens = 0;
    ck_assert_int_eq(fsk_tokenizer_create_from_spec(&t, &sp, &err), FSK_ERR_FORMAT);
    ck_assert_int_eq(fsk_tokenizer_create_from_spec(NULL, &sp, &err), FSK_ERR_INVALID_ARG);
    /* an empty token text becomes "[EMPTY_<id>]", as in llama.cpp */
    sp = tiny_spec("gpt2");
    const char *toks[N_TINY];
    memcpy(toks, tiny_tokens, sizeof toks);
    toks[T_DUP1] = "";
    sp.tokens = toks;
    ck_assert_int_eq(fsk_tokenizer_create_from_spec(&t, &sp, &err), FSK_OK);
    ck_assert_int_eq(fsk_tokenizer_find(t, "[EMPTY_271]", 11), T_DUP1);
    fsk_tokenizer_free(t);
    fsk_tokenizer_free(NULL);
}
END_TEST

/* The tiny vocabulary as a GGUF; what differs from a good file is chosen by flaw. */
enum flaw { GOOD, BERT_MODEL, SHORT_TYPES, NO_MERGES, BAD_EOS, NO_PRE };

static fsk_status tiny_gguf(enum flaw flaw, fsk_tokenizer **t, fsk_error *err)
{
    gw *w = gw_new();
    gw_kv_str(w, "tokenizer.ggml.model", flaw == BERT_MODEL ? "bert" : "gpt2");
    if (flaw != NO_PRE)
        gw_kv_str(w, "tokenizer.ggml.pre", "smollm");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", N_TINY, tiny_tokens);
    gw_kv_arr(w, "tokenizer.ggml.token_type", FSK_GGUF_I32, flaw == SHORT_TYPES ? 10 : N_TINY,
              tiny_types);
    if (flaw != NO_MERGES)
        gw_kv_arr_str(w, "tokenizer.ggml.merges", sizeof tiny_merges / sizeof *tiny_merges,
                      tiny_merges);
    gw_kv_u32(w, "tokenizer.ggml.bos_token_id", T_IM_START);
    gw_kv_u32(w, "tokenizer.ggml.eos_token_id", flaw == BAD_EOS ? 100000 : T_IM_END);
    gw_kv_bool(w, "tokenizer.ggml.add_bos_token", 1);
    size_t size;
    uint8_t *bytes = gw_finish(w, &size);
    gw_free(w);
    fsk_gguf *g;
    fsk_status st = fsk_gguf_open_memory(&g, bytes, size, "tiny-vocab.gguf", err);
    ck_assert_msg(st == FSK_OK, "%s", err->message);
    st = fsk_tokenizer_create(t, g, err);
    fsk_gguf_close(g); /* the tokenizer keeps copies */
    free(bytes);
    return st;
}

START_TEST(test_from_gguf)
{
    fsk_tokenizer *t;
    fsk_error err;
    ck_assert_int_eq(tiny_gguf(GOOD, &t, &err), FSK_OK);
    EXPECT(t, "hello 12", 0, T_HELLO, ' ', '1', '2');
    ck_assert_int_eq(fsk_tokenizer_bos(t), T_IM_START);
    ck_assert_int_eq(fsk_tokenizer_eos(t), T_IM_END);
    ck_assert_int_eq(fsk_tokenizer_add_bos(t), 1);
    ck_assert_str_eq(fsk_tokenizer_pre_name(t), "starcoder");
    fsk_tokenizer_free(t);
    ck_assert_int_eq(tiny_gguf(NO_PRE, &t, &err), FSK_OK);
    ck_assert_str_eq(fsk_tokenizer_pre_name(t), "default");
    fsk_tokenizer_free(t);
    ck_assert_int_eq(tiny_gguf(BERT_MODEL, &t, &err), FSK_ERR_UNSUPPORTED); /* "llama": see
                                                                         * test_tokenizer_spm */
    ck_assert_ptr_nonnull(strstr(err.message, "'bert'"));
    ck_assert_int_eq(tiny_gguf(SHORT_TYPES, &t, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "token_type"));
    ck_assert_int_eq(tiny_gguf(NO_MERGES, &t, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "tokenizer.ggml.merges"));
    ck_assert_int_eq(tiny_gguf(BAD_EOS, &t, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "tiny-vocab.gguf"));
    ck_assert_ptr_nonnull(strstr(err.message, "eos_token_id"));
    ck_assert_ptr_null(t);
}
END_TEST

int main(void)
{
    build_tiny();
    Suite *s = suite_create("tokenizer");
    TCase *tc = tcase_create("tiny");
    tcase_add_test(tc, test_merges_by_rank);
    tcase_add_test(tc, test_pretokenizers);
    tcase_add_test(tc, test_special_tokens);
    tcase_add_test(tc, test_invalid_utf8);
    tcase_add_test(tc, test_buffers);
    tcase_add_test(tc, test_streaming_decoder);
    tcase_add_test(tc, test_bad_specs);
    tcase_add_test(tc, test_from_gguf);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#else /* TOKENIZER_MODEL_TESTS */

/* Whether s[0..n) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned b = s[i];
        size_t k = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3
                 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
        if (!k || i + k > n)
            return 0;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
        unsigned c = s[i + 1];
        if ((b == 0xe0 && c < 0xa0) || (b == 0xed && c > 0x9f) || (b == 0xf0 && c < 0x90) ||
            (b == 0xf4 && c > 0x8f))
            return 0;
        i += k;
    }
    return 1;
}

/* ------------------------------------------------------------------ the default model */

struct tcase_data {
    int special;
    unsigned char *text;
    size_t len;
    int32_t *ids;
    size_t n_ids;
    unsigned char *decoded; /* NULL: equals text */
    size_t n_decoded;
};

static struct {
    struct tcase_data *c;
    size_t n;
    long n_vocab, bos, eos, eot;
    int32_t eog[64], control[256];
    size_t n_eog, n_control;
} fx;

static fsk_tokenizer *tok;
static fsk_gguf *gguf;

#define REQUIRE(c)                                                                           \
    do {                                                                                     \
        if (!(c)) {                                                                          \
            fprintf(stderr, "tokenizer fixture: %s fails (%s:%d)\n", #c, __FILE__, __LINE__); \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

static unsigned char *unhex(const char *h, size_t *n)
{
    size_t len = strlen(h);
    REQUIRE(len % 2 == 0);
    unsigned char *o = malloc(len / 2 + 1);
    REQUIRE(o != NULL);
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        REQUIRE(sscanf(h + 2 * i, "%2x", &v) == 1);
        o[i] = (unsigned char)v;
    }
    *n = len / 2;
    return o;
}

static size_t parse_ids(char *s, int32_t *out, size_t cap)
{
    size_t n = 0;
    for (char *save, *t = strtok_r(s, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        REQUIRE(n < cap);
        out[n++] = (int32_t)strtol(t, NULL, 10);
    }
    return n;
}

static void parse_meta(char *line)
{
    char *save, *key = strtok_r(line + 6, " \n", &save), *rest = strtok_r(NULL, "\n", &save);
    REQUIRE(key && rest);
    if (!strcmp(key, "n_vocab"))
        fx.n_vocab = atol(rest);
    else if (!strcmp(key, "bos"))
        fx.bos = atol(rest);
    else if (!strcmp(key, "eos"))
        fx.eos = atol(rest);
    else if (!strcmp(key, "eot"))
        fx.eot = atol(rest);
    else if (!strcmp(key, "eog"))
        fx.n_eog = parse_ids(rest, fx.eog, 64);
    else if (!strcmp(key, "control"))
        fx.n_control = parse_ids(rest, fx.control, 256);
}

static void parse_case(char *line)
{
    char *f[4];
    char *p = line;
    for (int i = 0; i < 4; i++) {
        f[i] = p;
        p = strchr(p, i < 3 ? '\t' : '\n');
        REQUIRE(p != NULL || i == 3);
        if (p)
            *p++ = 0;
    }
    struct tcase_data *c = &fx.c[fx.n++];
    c->special = f[0][0] == 'P';
    c->text = unhex(f[1], &c->len);
    c->ids = malloc((c->len * 3 + 8) * sizeof *c->ids);
    REQUIRE(c->ids != NULL);
    c->n_ids = parse_ids(f[2], c->ids, c->len * 3 + 8);
    c->decoded = strcmp(f[3], "=") ? unhex(f[3], &c->n_decoded) : NULL;
}

static void load_fixture(void)
{
    char path[4096];
    const char *dir = getenv("FSK_TEST_DATA");
    snprintf(path, sizeof path, "%s/tokenizer_smollm2.tsv", dir ? dir : "tests/data");
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL);
    fx.c = calloc(4096, sizeof *fx.c);
    REQUIRE(fx.c != NULL);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (!strncmp(line, "#meta ", 6))
            parse_meta(line);
        else if (line[0] != '#' && line[0] != '\n')
            parse_case(line);
        REQUIRE(fx.n < 4096);
    }
    free(line);
    fclose(f);
    REQUIRE(fx.n >= 500);
}

START_TEST(test_metadata)
{
    ck_assert_uint_eq(fsk_tokenizer_n_vocab(tok), (unsigned long)fx.n_vocab);
    ck_assert_int_eq(fsk_tokenizer_bos(tok), fx.bos);
    ck_assert_int_eq(fsk_tokenizer_eos(tok), fx.eos);
    ck_assert_str_eq(fsk_tokenizer_pre_name(tok), "starcoder");
    ck_assert_int_eq(fsk_tokenizer_add_bos(tok), 0);
    /* llama.cpp takes the first end-of-turn text its hash map yields; ours is fixed */
    ck_assert(fsk_tokenizer_is_eog(tok, fsk_tokenizer_eot(tok)));
    ck_assert(fsk_tokenizer_is_eog(tok, (int32_t)fx.eot));
    size_t n_eog = 0, n_control = 0;
    for (int32_t id = 0; id < (int32_t)fx.n_vocab; id++) {
        n_eog += (size_t)fsk_tokenizer_is_eog(tok, id);
        n_control += (size_t)fsk_tokenizer_is_control(tok, id);
    }
    ck_assert_uint_eq(n_eog, fx.n_eog);
    ck_assert_uint_eq(n_control, fx.n_control);
    for (size_t i = 0; i < fx.n_eog; i++)
        ck_assert_msg(fsk_tokenizer_is_eog(tok, fx.eog[i]), "id %d should end generation",
                      fx.eog[i]);
    for (size_t i = 0; i < fx.n_control; i++)
        ck_assert(fsk_tokenizer_is_control(tok, fx.control[i]));
    ck_assert_int_eq(fsk_tokenizer_find(tok, "<|im_start|>", 12), 1);
    ck_assert_int_eq(fsk_tokenizer_find(tok, "\xc4\xa0the", 5), 260);
}
END_TEST

START_TEST(test_ids_match_llama_cpp)
{
    size_t bad = 0, cap = 1 << 16;
    int32_t *ids = malloc(cap * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (size_t i = 0; i < fx.n; i++) {
        const struct tcase_data *c = &fx.c[i];
        size_t n;
        fsk_error err;
        ck_assert_int_eq(fsk_tokenizer_encode(tok, (const char *)c->text, c->len, c->special, ids,
                                              cap, &n, &err), FSK_OK);
        int same = n == c->n_ids && (!n || memcmp(ids, c->ids, n * sizeof *ids) == 0);
        if (!same && bad++ < 5)
            fprintf(stderr, "fixture case %zu (%zu bytes, special %d): %zu ids, llama.cpp %zu\n",
                    i, c->len, c->special, n, c->n_ids);
    }
    fprintf(stderr, "tokenizer: %zu of %zu fixture lines match llama.cpp exactly\n", fx.n - bad,
            fx.n);
    free(ids);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

/* Decodes c's ids with fsk_tokenizer_decode; returns a malloc'd buffer. */
static char *decode_case(const struct tcase_data *c, size_t *n)
{
    fsk_error err;
    ck_assert_int_eq(fsk_tokenizer_decode(tok, c->ids, c->n_ids, 1, NULL, 0, n, &err),
                     c->n_ids ? FSK_ERR_INVALID_ARG : FSK_OK);
    char *buf = malloc(*n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fsk_tokenizer_decode(tok, c->ids, c->n_ids, 1, buf, *n, n, &err), FSK_OK);
    return buf;
}

START_TEST(test_decode_matches_llama_cpp)
{
    size_t round_trips = 0;
    for (size_t i = 0; i < fx.n; i++) {
        const struct tcase_data *c = &fx.c[i];
        size_t n;
        char *buf = decode_case(c, &n);
        const unsigned char *want = c->decoded ? c->decoded : c->text;
        size_t wn = c->decoded ? c->n_decoded : c->len;
        ck_assert_msg(n == wn && memcmp(buf, want, n) == 0, "case %zu decodes differently", i);
        /* decode(encode(x)) == x for valid UTF-8, unless (as llama.cpp) the vocabulary lacks a
         * byte: SmolLM2 has no token for 0x1d */
        if (valid_utf8(c->text, c->len) && !memchr(c->text, 0x1d, c->len)) {
            ck_assert_msg(n == c->len && memcmp(buf, c->text, n) == 0, "case %zu: no round trip",
                          i);
            round_trips++;
        }
        free(buf);
    }
    ck_assert_uint_ge(round_trips, 500);
}
END_TEST

START_TEST(test_streaming_whole_characters)
{
    size_t cap = fsk_tokenizer_max_piece_len(tok) + 3;
    char *chunk = malloc(cap), *all = malloc(1 << 16);
    ck_assert_ptr_nonnull(chunk);
    ck_assert_ptr_nonnull(all);
    size_t split_chars = 0;
    for (size_t i = 0; i < fx.n; i++) {
        const struct tcase_data *c = &fx.c[i];
        size_t dn;
        char *whole = decode_case(c, &dn);
        int valid = valid_utf8((unsigned char *)whole, dn);
        fsk_detok st;
        fsk_error err;
        size_t total = 0, n;
        fsk_detok_init(&st, tok, 1);
        for (size_t k = 0; k < c->n_ids; k++) {
            ck_assert_int_eq(fsk_detok_push(&st, c->ids[k], chunk, cap, &n, &err), FSK_OK);
            ck_assert_msg(!valid || valid_utf8((unsigned char *)chunk, n),
                          "case %zu: token %zu emits a partial character", i, k);
            split_chars += st.n_held != 0;
            memcpy(all + total, chunk, n);
            total += n;
        }
        ck_assert_int_eq(fsk_detok_flush(&st, chunk, cap, &n, &err), FSK_OK);
        ck_assert(!valid || n == 0);
        memcpy(all + total, chunk, n);
        total += n;
        ck_assert_msg(total == dn && memcmp(all, whole, dn) == 0, "case %zu: stream differs", i);
        free(whole);
    }
    ck_assert_uint_gt(split_chars, 10); /* the fixture does split characters across tokens */
    free(chunk);
    free(all);
}
END_TEST

START_TEST(test_special_on_off)
{
    static const char chat[] = "<|im_start|>user\nHi<|im_end|>\n";
    int32_t ids[64];
    size_t n;
    fsk_error err;
    ck_assert_int_eq(fsk_tokenizer_encode(tok, chat, sizeof chat - 1, 1, ids, 64, &n, &err),
                     FSK_OK);
    ck_assert_int_eq(ids[0], 1);
    ck_assert_int_eq(ids[n - 2], 2);
    ck_assert_int_eq(fsk_tokenizer_encode(tok, chat, sizeof chat - 1, 0, ids, 64, &n, &err),
                     FSK_OK);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_ge(ids[i], 17); /* no control token without parse_special */
    size_t need;
    ck_assert_int_eq(fsk_tokenizer_encode(tok, chat, sizeof chat - 1, 0, ids, n - 1, &need, &err),
                     FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(need, n);
}
END_TEST

int main(void)
{
    const char *path = getenv("FSK_MODEL");
    if (!path || !*path) {
        fprintf(stderr, "SKIP: FSK_MODEL is not set (scripts/check fetches the default model)\n");
        return 77;
    }
    fsk_error err;
    if (fsk_gguf_open(&gguf, path, &err) != FSK_OK ||
        fsk_tokenizer_create(&tok, gguf, &err) != FSK_OK) {
        fprintf(stderr, "cannot load the tokenizer of %s: %s\n", path, err.message);
        return 1;
    }
    load_fixture();
    Suite *s = suite_create("tokenizer_model");
    TCase *tc = tcase_create("smollm2");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_metadata);
    tcase_add_test(tc, test_ids_match_llama_cpp);
    tcase_add_test(tc, test_decode_matches_llama_cpp);
    tcase_add_test(tc, test_streaming_whole_characters);
    tcase_add_test(tc, test_special_on_off);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    fsk_tokenizer_free(tok);
    fsk_gguf_close(gguf);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif

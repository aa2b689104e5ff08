/* test_tokenizer_spm.c: the SentencePiece ("llama") tokenizer. Checks tests/data/spm-tiny.gguf's
 * tokenizer against llama.cpp's ids and text for every line of tests/data/tokenizer_spm.tsv
 * (written by make_spm_fixture.py through llama-cpp-python), the streaming decoder on byte
 * fallback, llama.cpp's defaults and tie-breaking on hand-made vocabularies, bad files, and that
 * a whole model with such a vocabulary loads. Needs no model: always runs. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ffnskip.h"
#include "gguf_writer.h"
#include "quant.h"
#include "tokenizer.h"

#define REQUIRE(c)                                                                           \
    do {                                                                                     \
        if (!(c)) {                                                                          \
            fprintf(stderr, "spm fixture: %s fails (%s:%d)\n", #c, __FILE__, __LINE__);      \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

/* ------------------------------------------------------------------ the fixture */

struct bytes {
    unsigned char *p; /* NULL: the same as the case's text */
    size_t n;
};

struct ids {
    int32_t *v;
    size_t n;
};

struct tcase {
    int special;
    struct bytes text, pieces, detok;
    struct ids ids, ids_bos;
};

static struct {
    struct tcase *c;
    size_t n;
    long n_vocab, bos, eos, eot, add_bos;
    int32_t eog[64], control[64];
    size_t n_eog, n_control;
} fx;

static fsk_tokenizer *tok;
static fsk_gguf *gguf;

static struct bytes unhex(const char *h)
{
    struct bytes b = {NULL, 0};
    if (!strcmp(h, "="))
        return b;
    size_t len = strlen(h);
    REQUIRE(len % 2 == 0);
    b.p = malloc(len / 2 + 1);
    REQUIRE(b.p != NULL);
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        REQUIRE(sscanf(h + 2 * i, "%2x", &v) == 1);
        b.p[i] = (unsigned char)v;
    }
    b.n = len / 2;
    return b;
}

static size_t parse_list(char *s, int32_t *out, size_t cap)
{
    size_t n = 0;
    for (char *save, *t = strtok_r(s, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        REQUIRE(n < cap);
        out[n++] = (int32_t)strtol(t, NULL, 10);
    }
    return n;
}

static struct ids parse_ids(char *s, size_t cap)
{
    struct ids r;
    r.v = malloc(cap * sizeof *r.v);
    REQUIRE(r.v != NULL);
    r.n = parse_list(s, r.v, cap);
    return r;
}

static void parse_meta(char *line)
{
    char *save, *key = strtok_r(line + 6, " \n", &save), *rest = strtok_r(NULL, "\n", &save);
    REQUIRE(key != NULL);
    if (!rest)
        rest = (char *)"";
    if (!strcmp(key, "n_vocab"))
        fx.n_vocab = atol(rest);
    else if (!strcmp(key, "bos"))
        fx.bos = atol(rest);
    else if (!strcmp(key, "eos"))
        fx.eos = atol(rest);
    else if (!strcmp(key, "eot"))
        fx.eot = atol(rest);
    else if (!strcmp(key, "add_bos"))
        fx.add_bos = atol(rest);
    else if (!strcmp(key, "eog"))
        fx.n_eog = parse_list(rest, fx.eog, 64);
    else if (!strcmp(key, "control"))
        fx.n_control = parse_list(rest, fx.control, 64);
}

/* FLAG TEXT IDS IDS_BOS PIECES DETOK */
static void parse_case(char *line)
{
    char *f[6];
    char *p = line;
    for (int i = 0; i < 6; i++) {
        f[i] = p;
        p = strchr(p, i < 5 ? '\t' : '\n');
        REQUIRE(p != NULL || i == 5);
        if (p)
            *p++ = 0;
    }
    struct tcase *c = &fx.c[fx.n++];
    c->special = f[0][0] == 'P';
    c->text = unhex(f[1]);
    REQUIRE(c->text.p != NULL || c->text.n == 0);
    size_t cap = c->text.n * 4 + 8;
    c->ids = parse_ids(f[2], cap);
    c->ids_bos = parse_ids(f[3], cap);
    c->pieces = unhex(f[4]);
    c->detok = unhex(f[5]);
}

static void load_fixture(void)
{
    char path[4096];
    const char *dir = getenv("FSK_TEST_DATA");
    snprintf(path, sizeof path, "%s/tokenizer_spm.tsv", dir ? dir : "tests/data");
    FILE *f = fopen(path, "r");
    REQUIRE(f != NULL);
    fx.c = calloc(2048, sizeof *fx.c);
    REQUIRE(fx.c != NULL);
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        if (!strncmp(line, "#meta ", 6))
            parse_meta(line);
        else if (line[0] != '#' && line[0] != '\n')
            parse_case(line);
        REQUIRE(fx.n < 2048);
    }
    free(line);
    fclose(f);
    REQUIRE(fx.n >= 300);
}

static const unsigned char *want_of(const struct tcase *c, const struct bytes *b, size_t *n)
{
    *n = b->p ? b->n : c->text.n;
    return b->p ? b->p : c->text.p;
}

static int same_ids(const int32_t *a, size_t na, const struct ids *b)
{
    return na == b->n && (!na || memcmp(a, b->v, na * sizeof *a) == 0);
}

/* Whether s[0..n) is well-formed UTF-8. */
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

/* ------------------------------------------------------------------ against llama.cpp */

START_TEST(test_metadata)
{
    ck_assert_uint_eq(fsk_tokenizer_n_vocab(tok), (unsigned long)fx.n_vocab);
    ck_assert_int_eq(fsk_tokenizer_bos(tok), fx.bos);
    ck_assert_int_eq(fsk_tokenizer_eos(tok), fx.eos);
    ck_assert_int_eq(fsk_tokenizer_eot(tok), fx.eot);
    ck_assert_int_eq(fsk_tokenizer_unk(tok), 0);
    ck_assert_int_eq(fsk_tokenizer_add_bos(tok), (int)fx.add_bos); /* the file leaves it out */
    ck_assert_str_eq(fsk_tokenizer_pre_name(tok), "spm");
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
    ck_assert_int_eq(fsk_tokenizer_find(tok, "<0x0A>", 6), 3 + 0x0a);
    ck_assert_int_eq(fsk_tokenizer_token_type(tok, 3 + 0x0a), FSK_TOKEN_BYTE);
    size_t n;
    const char *p = fsk_tokenizer_piece(tok, 3 + 0x0a, 0, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(p[0], '\n');
    int32_t the = fsk_tokenizer_find(tok, "\xe2\x96\x81the", 6);
    ck_assert_int_ge(the, 259);
    p = fsk_tokenizer_piece(tok, the, 0, &n);
    ck_assert_uint_eq(n, 4);
    ck_assert(memcmp(p, " the", 4) == 0);
}
END_TEST

START_TEST(test_ids_match_llama_cpp)
{
    size_t bad = 0, cap = 1 << 14, fallback = 0;
    int32_t *ids = malloc(cap * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    for (size_t i = 0; i < fx.n; i++) {
        const struct tcase *c = &fx.c[i];
        size_t n;
        fsk_error err;
        /* with BOS as fsk_tokenize adds it: BOS, then the text's ids */
        ids[0] = fsk_tokenizer_bos(tok);
        ck_assert_int_eq(fsk_tokenizer_encode(tok, (const char *)c->text.p, c->text.n, c->special,
                                              ids + 1, cap - 1, &n, &err), FSK_OK);
        int same = same_ids(ids + 1, n, &c->ids) && fsk_tokenizer_add_bos(tok) &&
                   same_ids(ids, n + 1, &c->ids_bos);
        if (!same && bad++ < 5)
            fprintf(stderr, "fixture case %zu (%zu bytes, special %d): %zu ids, llama.cpp %zu\n",
                    i, c->text.n, c->special, n, c->ids.n);
        for (size_t k = 0; k < c->ids.n; k++)
            fallback += fsk_tokenizer_token_type(tok, c->ids.v[k]) == FSK_TOKEN_BYTE;
    }
    fprintf(stderr, "tokenizer_spm: %zu of %zu fixture lines match llama.cpp exactly (ids with "
            "and without BOS); %zu byte-fallback tokens among them\n", fx.n - bad, fx.n, fallback);
    free(ids);
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_gt(fallback, 100); /* the fixture does exercise byte fallback */
}
END_TEST

/* Decodes ids; returns a malloc'd buffer, checking the size-query convention on the way. */
static char *decode(const struct ids *ids, int special, size_t *n)
{
    fsk_error err;
    fsk_status st = fsk_tokenizer_decode(tok, ids->v, ids->n, special, NULL, 0, n, &err);
    ck_assert_int_eq(st, *n ? FSK_ERR_INVALID_ARG : FSK_OK);
    char *buf = malloc(*n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(fsk_tokenizer_decode(tok, ids->v, ids->n, special, buf, *n, n, &err), FSK_OK);
    return buf;
}

START_TEST(test_decode_matches_llama_cpp)
{
    size_t round_trips = 0, stripped = 0;
    for (size_t i = 0; i < fx.n; i++) {
        const struct tcase *c = &fx.c[i];
        size_t n, wn;
        /* the pieces, special tokens shown: llama_token_to_piece concatenated */
        char *buf = decode(&c->ids, 1, &n);
        const unsigned char *want = want_of(c, &c->pieces, &wn);
        ck_assert_msg(n == wn && (!n || memcmp(buf, want, n) == 0), "case %zu: pieces differ", i);
        free(buf);
        /* with BOS, specials hidden: llama-cpp-python's detokenize drops the prefix's space */
        buf = decode(&c->ids_bos, 0, &n);
        want = want_of(c, &c->detok, &wn);
        ck_assert_msg(n == wn && (!n || memcmp(buf, want, n) == 0), "case %zu: detok differs", i);
        round_trips += !c->detok.p;
        free(buf);
        size_t n_plain;
        free(decode(&c->ids, 0, &n_plain)); /* the same without BOS keeps the space */
        stripped += n_plain == n + 1;
    }
    ck_assert_uint_ge(round_trips, 250);
    ck_assert_uint_ge(stripped, 250);
}
END_TEST

/* Streams ids through the decoder; the chunks must join to decode's output and, when that is
 * valid UTF-8, each be valid UTF-8. Returns how often a character was held back. */
static size_t stream(const struct ids *ids, int special, size_t case_no)
{
    size_t cap = fsk_tokenizer_max_piece_len(tok) + 3, dn, total = 0, n, held = 0;
    char *whole = decode(ids, special, &dn), *chunk = malloc(cap), *all = malloc(dn + 8);
    ck_assert_ptr_nonnull(chunk);
    ck_assert_ptr_nonnull(all);
    int valid = valid_utf8((unsigned char *)whole, dn);
    fsk_detok st;
    fsk_error err;
    fsk_detok_init(&st, tok, special);
    for (size_t k = 0; k < ids->n; k++) {
        ck_assert_int_eq(fsk_detok_push(&st, ids->v[k], chunk, cap, &n, &err), FSK_OK);
        ck_assert_msg(!valid || valid_utf8((unsigned char *)chunk, n),
                      "case %zu: token %zu emits a partial character", case_no, k);
        held += st.n_held != 0;
        ck_assert_uint_le(total + n, dn);
        memcpy(all + total, chunk, n);
        total += n;
    }
    ck_assert_int_eq(fsk_detok_flush(&st, chunk, cap, &n, &err), FSK_OK);
    ck_assert(!valid || n == 0);
    ck_assert_uint_le(total + n, dn);
    memcpy(all + total, chunk, n);
    total += n;
    ck_assert_msg(total == dn && (!dn || memcmp(all, whole, dn) == 0), "case %zu: stream differs",
                  case_no);
    free(whole);
    free(chunk);
    free(all);
    return held;
}

START_TEST(test_streaming_matches_decode)
{
    size_t held = 0;
    for (size_t i = 0; i < fx.n; i++) {
        held += stream(&fx.c[i].ids, 1, i);
        held += stream(&fx.c[i].ids_bos, 0, i);
    }
    ck_assert_uint_gt(held, 20); /* byte fallback does split characters across tokens */
}
END_TEST

/* A character the vocabulary lacks arrives as <0xXX> tokens: nothing comes out until it is whole;
 * a BOS-led stream drops the prefix's space once. */
START_TEST(test_streaming_byte_fallback)
{
    static const char text[] = "\xf0\x9f\x98\x80 x\xe4\xb8\xad";
    int32_t ids[32];
    size_t n, got;
    fsk_error err;
    char buf[64];
    ck_assert_int_eq(fsk_tokenizer_encode(tok, text, sizeof text - 1, 0, ids + 1, 31, &n, &err),
                     FSK_OK);
    ids[0] = fsk_tokenizer_bos(tok);
    /* "▁" alone, the emoji's four bytes, then " x" and U+4E2D's three bytes */
    ck_assert_int_eq(ids[2], 3 + 0xf0);
    ck_assert_int_eq(ids[5], 3 + 0x80);
    ck_assert_int_eq(ids[n], 3 + 0xad);
    fsk_detok st;
    fsk_detok_init(&st, tok, 0);
    size_t out = 0;
    for (size_t k = 0; k <= n; k++) {
        ck_assert_int_eq(fsk_detok_push(&st, ids[k], buf + out, sizeof buf - out, &got, &err),
                         FSK_OK);
        if (k == 2 || k == 3 || k == 4 || k == n - 2 || k == n - 1)
            ck_assert_uint_eq(got, 0); /* inside a character */
        out += got;
    }
    ck_assert_uint_eq(out, sizeof text - 1); /* the prefix's space is gone after BOS */
    ck_assert(memcmp(buf, text, out) == 0);
    /* without BOS the piece's space stays: a lone token decodes to its piece */
    fsk_detok_init(&st, tok, 0);
    ck_assert_int_eq(fsk_detok_push(&st, ids[1], buf, sizeof buf, &got, &err), FSK_OK);
    ck_assert_uint_eq(got, 1);
    ck_assert_int_eq(buf[0], ' ');
    /* too small a buffer leaves the state as it was, strip pending included */
    fsk_detok_init(&st, tok, 0);
    ck_assert_int_eq(fsk_detok_push(&st, ids[0], buf, sizeof buf, &got, &err), FSK_OK);
    ck_assert_int_eq(fsk_detok_push(&st, ids[1], buf, sizeof buf, &got, &err), FSK_OK);
    ck_assert_uint_eq(got, 0); /* "▁" after BOS: all of it was the prefix */
    ck_assert_int_eq(fsk_detok_push(&st, ids[2], buf, 0, &got, &err), FSK_ERR_INVALID_ARG);
    ck_assert_uint_eq(got, 1);
    ck_assert_int_eq(fsk_detok_push(&st, ids[2], buf, sizeof buf, &got, &err), FSK_OK);
    ck_assert_uint_eq(got, 0);
    ck_assert_uint_eq(st.n_held, 1);
}
END_TEST

/* ------------------------------------------------------------------ hand-made vocabularies */

/* <unk> <s> </s>, then these (normal unless the name says), scores given. */
enum { V_A = 3, V_B, V_C, V_AB, V_BC, V_SP_A, V_SP, V_BYTE_41, V_USER, N_V };
static const char *const v_tokens[N_V] = {
    "<unk>", "<s>", "</s>", "a", "b", "c", "ab", "bc", "\xe2\x96\x81" "a", "\xe2\x96\x81",
    "<0x41>", "<u>",
};
static const int32_t v_types[N_V] = {2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 6, 4};

static fsk_tokenizer *hand(float score_ab, float score_bc, int add_space_prefix)
{
    float scores[N_V] = {0};
    scores[V_AB] = score_ab;
    scores[V_BC] = score_bc;
    scores[V_SP_A] = -5;
    struct fsk_tokenizer_spec sp = {0};
    sp.model = "llama";
    sp.n_tokens = N_V;
    sp.tokens = v_tokens;
    sp.types = v_types;
    sp.scores = scores;
    sp.bos = 1;
    sp.eos = 2;
    sp.unk = 0;
    sp.eot = sp.pad = -1;
    sp.add_bos = -1;
    sp.add_space_prefix = add_space_prefix;
    fsk_tokenizer *t;
    fsk_error err;
    ck_assert_msg(fsk_tokenizer_create_from_spec(&t, &sp, &err) == FSK_OK, "%s", err.message);
    return t;
}

static void expect(fsk_tokenizer *t, const char *s, int ps, const int32_t *want, size_t n)
{
    int32_t ids[32];
    size_t got;
    fsk_error err;
    ck_assert_int_eq(fsk_tokenizer_encode(t, s, strlen(s), ps, ids, 32, &got, &err), FSK_OK);
    ck_assert_msg(got == n, "'%s': %zu tokens, want %zu", s, got, n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(ids[i] == want[i], "'%s': token %zu is %d, want %d", s, i, ids[i], want[i]);
}

#define EXPECT(t, s, ps, ...)                                                                \
    do {                                                                                     \
        static const int32_t want_[] = {__VA_ARGS__};                                        \
        expect(t, s, ps, want_, sizeof want_ / sizeof *want_);                               \
    } while (0)

START_TEST(test_merge_order)
{
    fsk_tokenizer *t = hand(-1, -1, 0);
    EXPECT(t, "abc", 0, V_AB, V_C);  /* equal scores: leftmost first */
    fsk_tokenizer_free(t);
    t = hand(-1, -0.5f, 0);
    EXPECT(t, "abc", 0, V_A, V_BC);  /* higher score first */
    EXPECT(t, "abab", 0, V_AB, V_AB);
    EXPECT(t, "a b", 0, V_A, V_SP, V_B); /* "▁b" is no token */
    EXPECT(t, " a", 0, V_SP_A);
    /* byte fallback: <0x41> for 'A', else unk (llama.cpp would throw) */
    EXPECT(t, "A", 0, V_BYTE_41);
    EXPECT(t, "Z\n", 0, 0, 0);
    EXPECT(t, "x<u>y", 0, 0, V_USER, 0); /* user-defined: always matched */
    EXPECT(t, "<s>a", 1, 1, V_A);
    EXPECT(t, "<s>a", 0, 0, 0, 0, V_A);
    ck_assert_int_eq(fsk_tokenizer_add_bos(t), 1); /* llama's default */
    fsk_tokenizer_free(t);
    t = hand(-1, -0.5f, -1); /* the default: a space in front, and after special tokens */
    EXPECT(t, "a", 0, V_SP_A);
    EXPECT(t, "<s>a<s>a", 1, 1, V_SP_A, 1, V_SP_A);
    EXPECT(t, "a<u>a", 0, V_SP_A, V_USER, V_SP_A);
    size_t n = 9;
    fsk_error err;
    ck_assert_int_eq(fsk_tokenizer_encode(t, "", 0, 1, NULL, 0, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 0);
    fsk_tokenizer_free(t);
}
END_TEST

/* ------------------------------------------------------------------ from GGUF files */

enum variant { PLAIN, NO_SPACE_PREFIX, NO_ADD_BOS, BERT, SCORES_STR, SCORES_SHORT, NO_MODEL };

static fsk_status hand_gguf(enum variant v, fsk_tokenizer **t, fsk_error *err)
{
    float scores[N_V] = {0};
    gw *w = gw_new();
    if (v != NO_MODEL)
        gw_kv_str(w, "tokenizer.ggml.model", v == BERT ? "bert" : "llama");
    gw_kv_str(w, "tokenizer.ggml.pre", "no-such-pre"); /* llama.cpp reads none for llama */
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", N_V, v_tokens);
    gw_kv_arr(w, "tokenizer.ggml.token_type", FSK_GGUF_I32, N_V, v_types);
    if (v == SCORES_STR)
        gw_kv_arr_str(w, "tokenizer.ggml.scores", N_V, v_tokens);
    else
        gw_kv_arr(w, "tokenizer.ggml.scores", FSK_GGUF_F32, v == SCORES_SHORT ? 3 : N_V, scores);
    if (v == NO_SPACE_PREFIX)
        gw_kv_bool(w, "tokenizer.ggml.add_space_prefix", 0);
    if (v == NO_ADD_BOS)
        gw_kv_bool(w, "tokenizer.ggml.add_bos_token", 0);
    size_t size;
    uint8_t *bytes = gw_finish(w, &size);
    gw_free(w);
    fsk_gguf *g;
    fsk_status st = fsk_gguf_open_memory(&g, bytes, size, "hand-spm.gguf", err);
    ck_assert_msg(st == FSK_OK, "%s", err->message);
    st = fsk_tokenizer_create(t, g, err);
    fsk_gguf_close(g);
    free(bytes);
    return st;
}

START_TEST(test_gguf_defaults_and_errors)
{
    fsk_tokenizer *t;
    fsk_error err;
    ck_assert_int_eq(hand_gguf(PLAIN, &t, &err), FSK_OK);
    /* no id keys: llama.cpp's SentencePiece defaults */
    ck_assert_int_eq(fsk_tokenizer_unk(t), 0);
    ck_assert_int_eq(fsk_tokenizer_bos(t), 1);
    ck_assert_int_eq(fsk_tokenizer_eos(t), 2);
    ck_assert_int_eq(fsk_tokenizer_add_bos(t), 1);
    ck_assert(fsk_tokenizer_is_eog(t, 2));
    EXPECT(t, "a", 0, V_SP_A);
    fsk_tokenizer_free(t);
    ck_assert_int_eq(hand_gguf(NO_SPACE_PREFIX, &t, &err), FSK_OK);
    EXPECT(t, "a", 0, V_A);
    ck_assert_int_eq(fsk_tokenizer_add_bos(t), 1);
    /* no prefix, so no space to drop after BOS: " a" decodes to itself */
    const int32_t ids[] = {1, V_SP_A};
    char buf[8];
    size_t n;
    ck_assert_int_eq(fsk_tokenizer_decode(t, ids, 2, 0, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(buf, " a", 2) == 0);
    fsk_tokenizer_free(t);
    ck_assert_int_eq(hand_gguf(NO_ADD_BOS, &t, &err), FSK_OK);
    ck_assert_int_eq(fsk_tokenizer_add_bos(t), 0);
    fsk_tokenizer_free(t);
    ck_assert_int_eq(hand_gguf(BERT, &t, &err), FSK_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err.message, "'bert'"));
    ck_assert_ptr_nonnull(strstr(err.message, "hand-spm.gguf"));
    ck_assert_int_eq(hand_gguf(SCORES_STR, &t, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "tokenizer.ggml.scores"));
    ck_assert_int_eq(hand_gguf(SCORES_SHORT, &t, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "tokenizer.ggml.scores"));
    ck_assert_int_eq(hand_gguf(NO_MODEL, &t, &err), FSK_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "tokenizer.ggml.model"));
    ck_assert_ptr_null(t);
}
END_TEST

/* ------------------------------------------------------------------ a whole model */

enum { M_EMBD = 32, M_FF = 64, M_HEAD = 4 };

/* An F32 matrix of zeros, or a vector when rows is 0. */
static void zeros(gw *w, const char *name, uint64_t rows, uint64_t cols)
{
    const uint64_t ne[2] = {cols, rows};
    uint32_t n_dims = rows ? 2 : 1;
    gw_tensor(w, name, FSK_TYPE_F32, n_dims, ne, NULL, gw_tensor_bytes(FSK_TYPE_F32, n_dims, ne));
}

/* A one-layer llama of zeros whose vocabulary is the hand-made one, to a temporary file. */
static void write_model(const char *path)
{
    float scores[N_V] = {0};
    scores[V_SP_A] = -5;
    gw *w = gw_new();
    gw_kv_str(w, "general.architecture", "llama");
    gw_kv_str(w, "general.name", "spm-tiny-model");
    gw_kv_u32(w, "llama.context_length", 64);
    gw_kv_u32(w, "llama.embedding_length", M_EMBD);
    gw_kv_u32(w, "llama.feed_forward_length", M_FF);
    gw_kv_u32(w, "llama.block_count", 1);
    gw_kv_u32(w, "llama.attention.head_count", M_HEAD);
    gw_kv_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gw_kv_str(w, "tokenizer.ggml.model", "llama");
    gw_kv_arr_str(w, "tokenizer.ggml.tokens", N_V, v_tokens);
    gw_kv_arr(w, "tokenizer.ggml.token_type", FSK_GGUF_I32, N_V, v_types);
    gw_kv_arr(w, "tokenizer.ggml.scores", FSK_GGUF_F32, N_V, scores);
    zeros(w, "token_embd.weight", N_V, M_EMBD);
    zeros(w, "output_norm.weight", 0, M_EMBD);
    zeros(w, "blk.0.attn_norm.weight", 0, M_EMBD);
    zeros(w, "blk.0.attn_q.weight", M_EMBD, M_EMBD);
    zeros(w, "blk.0.attn_k.weight", M_EMBD, M_EMBD);
    zeros(w, "blk.0.attn_v.weight", M_EMBD, M_EMBD);
    zeros(w, "blk.0.attn_output.weight", M_EMBD, M_EMBD);
    zeros(w, "blk.0.ffn_norm.weight", 0, M_EMBD);
    zeros(w, "blk.0.ffn_gate.weight", M_FF, M_EMBD);
    zeros(w, "blk.0.ffn_up.weight", M_FF, M_EMBD);
    zeros(w, "blk.0.ffn_down.weight", M_EMBD, M_FF);
    ck_assert_int_eq(gw_write_file(w, path), 0);
    gw_free(w);
}

START_TEST(test_model_with_spm_vocab)
{
    char path[] = "/tmp/fsk-spm-model-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    write_model(path);
    fsk_model *m = NULL;
    fsk_error err;
    fsk_status st = fsk_model_load(&m, path, NULL, &err);
    unlink(path);
    ck_assert_msg(st == FSK_OK, "%s", err.message);
    int32_t ids[8];
    size_t n;
    ck_assert_int_eq(fsk_tokenize(m, "a a", 3, 1, 0, ids, 8, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert_int_eq(ids[0], 1); /* BOS: llama's default */
    ck_assert_int_eq(ids[1], V_SP_A);
    ck_assert_int_eq(ids[2], V_SP_A);
    char buf[8];
    ck_assert_int_eq(fsk_detokenize(m, ids, n, buf, sizeof buf, &n, &err), FSK_OK);
    ck_assert_uint_eq(n, 3);
    ck_assert(memcmp(buf, "a a", 3) == 0);
    ck_assert(fsk_token_is_eog(m, 2));
    fsk_model_free(m);
}
END_TEST

int main(void)
{
    char path[4096];
    const char *dir = getenv("FSK_TEST_DATA");
    snprintf(path, sizeof path, "%s/spm-tiny.gguf", dir ? dir : "tests/data");
    fsk_error err;
    if (fsk_gguf_open(&gguf, path, &err) != FSK_OK ||
        fsk_tokenizer_create(&tok, gguf, &err) != FSK_OK) {
        fprintf(stderr, "cannot load the tokenizer of %s: %s\n", path, err.message);
        return 1;
    }
    load_fixture();
    Suite *s = suite_create("tokenizer_spm");
    TCase *tc = tcase_create("spm");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_metadata);
    tcase_add_test(tc, test_ids_match_llama_cpp);
    tcase_add_test(tc, test_decode_matches_llama_cpp);
    tcase_add_test(tc, test_streaming_matches_decode);
    tcase_add_test(tc, test_streaming_byte_fallback);
    tcase_add_test(tc, test_merge_order);
    tcase_add_test(tc, test_gguf_defaults_and_errors);
    tcase_add_test(tc, test_model_with_spm_vocab);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    fsk_tokenizer_free(tok);
    fsk_gguf_close(gguf);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

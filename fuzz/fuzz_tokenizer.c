/* fuzz_tokenizer.c: libFuzzer target: any bytes as text, encoded with and without special tokens
 * and decoded back; any bytes as token ids, decoded at once and streamed. The tokenizer is the
 * default model's ($FSK_MODEL) when set, else the tiny byte-level vocabulary of tests/tiny_llama.c.
 * The first input byte picks the mode; the rest is the text or the ids. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "llama.h"
#include "tiny_llama.h"
#include "tokenizer.h"

static fsk_model *model;
static uint8_t *model_bytes;
/* Whether the vocabulary has the token of each byte: a byte without one is dropped when encoded
 * (as llama.cpp drops it), so only text made of bytes that have one must decode back to itself. */
static uint8_t byte_has_token[256];

/* GPT-2's printable stand-in for each byte, looked up in the vocabulary. */
static void find_byte_tokens(void)
{
    unsigned n = 0;
    for (unsigned b = 0; b < 256; b++) {
        int self = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae;
        unsigned c = self ? b : 256 + n++;
        char s[2] = {(char)c, 0};
        size_t len = 1;
        if (c >= 0x80) {
            s[0] = (char)(0xc0 | c >> 6);
            s[1] = (char)(0x80 | (c & 0x3f));
            len = 2;
        }
        byte_has_token[b] = fsk_tokenizer_find(model->tok, s, len) >= 0;
    }
}

static void release(void)
{
    fsk_model_free(model);
    free(model_bytes);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fsk_error err;
    const char *path = getenv("FSK_MODEL");
    if (path && *path) {
        if (fsk_model_load(&model, path, NULL, &err) != FSK_OK) {
            fprintf(stderr, "fuzz_tokenizer: %s\n", err.message);
            exit(1);
        }
    } else {
        struct tiny_llama o;
        tiny_llama_defaults(&o);
        o.n_layer = 1;
        o.tied = 1;
        size_t n;
        model_bytes = tiny_llama_gguf(&o, &n);
        if (fsk_model_load_memory(&model, model_bytes, n, "tiny-llama", NULL, &err) != FSK_OK) {
            fprintf(stderr, "fuzz_tokenizer: %s\n", err.message);
            exit(1);
        }
    }
    find_byte_tokens();
    atexit(release);
    return 0;
}

/* Whether s is well-formed UTF-8 of bytes the vocabulary has (then decode(encode(s)) must give s
 * back). */
static int utf8_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!byte_has_token[s[i]])
            return 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        size_t more = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2
                    : c >= 0xf0 && c <= 0xf4 ? 3 : 9;
        if (more == 9 || more > n - i - 1)
            return 0;
        uint8_t lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
        uint8_t hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
        if (more && (s[i + 1] < lo || s[i + 1] > hi))
            return 0;
        for (size_t k = 2; k <= more; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
        i += more + 1;
    }
    return 1;
}

static void encode(const uint8_t *text, size_t len, int add_bos, int special)
{
    fsk_error err;
    size_t need = 0, n = 0;
    uint32_t nv = fsk_model_n_vocab(model);
    fsk_status st = fsk_tokenize(model, (const char *)text, len, add_bos, special, NULL, 0, &need, &err);
    FUZZ_CHECK(st == FSK_OK ? need == 0 : st == FSK_ERR_INVALID_ARG && need > 0);
    int32_t *ids = malloc((need ? need : 1) * sizeof *ids);
    FUZZ_CHECK(ids != NULL);
    FUZZ_CHECK(fsk_tokenize(model, (const char *)text, len, add_bos, special, ids, need, &n, &err) == FSK_OK);
    FUZZ_CHECK(n == need);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < nv);
    size_t out_need = 0;
    st = fsk_detokenize(model, ids, n, NULL, 0, &out_need, &err);
    FUZZ_CHECK(st == FSK_OK || st == FSK_ERR_INVALID_ARG);
    char *back = malloc(out_need + 1);
    FUZZ_CHECK(back != NULL);
    size_t got = 0;
    FUZZ_CHECK(fsk_detokenize(model, ids, n, back, out_need, &got, &err) == FSK_OK && got == out_need);
    /* byte-level BPE loses nothing of well-formed text whose bytes all have tokens */
    if (!special && !add_bos && utf8_ok(text, len))
        FUZZ_CHECK(got == len && memcmp(back, text, len) == 0);
    free(back);
    free(ids);
}

/* Ids decoded at once and streamed piece by piece must give the same bytes; bad ids fail. */
static void decode(const uint8_t *data, size_t len)
{
    const struct fsk_tokenizer *tok = model->tok;
    uint32_t nv = fsk_model_n_vocab(model);
    size_t n = len / 3;
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    FUZZ_CHECK(ids != NULL);
    int all_valid = 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = (uint32_t)data[3 * i] | (uint32_t)data[3 * i + 1] << 8 | (uint32_t)data[3 * i + 2] << 16;
        ids[i] = v == 0xffffff ? -1 : (int32_t)(v % (nv + 2)); /* a few out of range */
        all_valid &= ids[i] >= 0 && (uint32_t)ids[i] < nv;
    }
    int special = len % 3 != 0;
    size_t need = 0;
    fsk_error err;
    fsk_status st = fsk_tokenizer_decode(tok, ids, n, special, NULL, 0, &need, &err);
    if (!all_valid) {
        FUZZ_CHECK(st == FSK_ERR_INVALID_ARG);
        FUZZ_CHECK_MESSAGE(err);
        free(ids);
        return;
    }
    char *whole = malloc(need + 1), *streamed = malloc(need + 8);
    FUZZ_CHECK(whole && streamed);
    size_t got = 0;
    FUZZ_CHECK(fsk_tokenizer_decode(tok, ids, n, special, whole, need, &got, &err) == FSK_OK && got == need);
    fsk_detok dt;
    fsk_detok_init(&dt, tok, special);
    size_t cap = fsk_tokenizer_max_piece_len(tok) + 3, at = 0, k;
    char *piece = malloc(cap);
    FUZZ_CHECK(piece != NULL);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(fsk_detok_push(&dt, ids[i], piece, cap, &k, &err) == FSK_OK);
        FUZZ_CHECK(at + k <= need);
        memcpy(streamed + at, piece, k);
        at += k;
    }
    FUZZ_CHECK(fsk_detok_flush(&dt, piece, cap, &k, &err) == FSK_OK && at + k <= need);
    memcpy(streamed + at, piece, k);
    at += k;
    FUZZ_CHECK(at == need && memcmp(whole, streamed, need) == 0);
    free(piece);
    free(whole);
    free(streamed);
    free(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    data++;
    size--;
    if (mode & 4)
        decode(data, size);
    else
        encode(data, size, mode & 1, (mode & 2) != 0);
    return 0;
}

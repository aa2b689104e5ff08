/* fuzz_gguf.c: libFuzzer target: any bytes as a GGUF file, through the reader and every accessor,
 * then through the llama loader; a model that loads is described, tokenizes and decodes a token. */
#include "config.h"

#include <string.h>

#include "context.h"
#include "fuzz.h"
#include "gguf.h"
#include "llama.h"
#include "tokenizer.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void walk_kvs(const fsk_gguf *g)
{
    for (size_t i = 0; i < fsk_gguf_n_kv(g); i++) {
        const struct fsk_gguf_kv *kv = fsk_gguf_kv_at(g, i);
        char key[256];
        snprintf(key, sizeof key, "%.*s", (int)(kv->key.len < 255 ? kv->key.len : 255), kv->key.ptr);
        FUZZ_CHECK(kv->key.len >= 256 || fsk_gguf_find(g, key) == kv);
        uint32_t u;
        float f;
        struct fsk_gguf_str s;
        const struct fsk_gguf_kv *arr;
        fsk_gguf_get_u32(g, key, &u, NULL);
        fsk_gguf_get_f32(g, key, &f, NULL);
        fsk_gguf_get_str(g, key, &s, NULL);
        if (fsk_gguf_get_arr(g, key, FSK_GGUF_VTYPE_COUNT, &arr, NULL) == FSK_OK) {
            volatile double sum = 0;
            for (uint64_t k = 0; k < arr->v.arr.n && k < 4096; k++) {
                struct fsk_gguf_str e = fsk_gguf_arr_str(arr, k);
                if (e.ptr && e.len)
                    sum += (unsigned char)e.ptr[e.len - 1]; /* the last byte is readable */
                sum += fsk_gguf_arr_num(arr, k);
            }
            (void)sum;
        }
    }
}

static void walk_tensors(const fsk_gguf *g)
{
    for (size_t i = 0; i < fsk_gguf_n_tensors(g); i++) {
        const struct fsk_gguf_tensor *t = fsk_gguf_tensor_at(g, i);
        FUZZ_CHECK(fsk_gguf_find_tensor(g, t->name) == t);
        FUZZ_CHECK(t->n_dims >= 1 && t->n_dims <= 4 && t->nbytes > 0);
        /* the first and last byte must be readable: ASan reports it if they are not */
        const volatile uint8_t *p = t->data;
        (void)p[0];
        (void)p[t->nbytes - 1];
    }
}

/* The tokenizer alone, whatever the architecture keys say (tokenizer-only files reach it here). */
static void use_tokenizer(const fsk_gguf *g)
{
    fsk_tokenizer *tok = NULL;
    fsk_error err;
    if (fsk_tokenizer_create(&tok, g, &err) != FSK_OK) {
        FUZZ_CHECK(tok == NULL);
        FUZZ_CHECK_MESSAGE(err);
        return;
    }
    static const char text[] = "<s>Hello <|im_start|> world\n\t 12345 caf\xc3\xa9 \xff\xfe \xe6\x97\xa5";
    int32_t ids[256];
    char buf[4096];
    for (int special = 0; special < 2; special++) {
        size_t n = 0, got = 0;
        if (fsk_tokenizer_encode(tok, text, sizeof text - 1, special, ids, 256, &n, &err) != FSK_OK)
            continue;
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < fsk_tokenizer_n_vocab(tok));
        fsk_tokenizer_decode(tok, ids, n, special, buf, sizeof buf, &got, NULL);
    }
    uint32_t nv = fsk_tokenizer_n_vocab(tok);
    for (uint32_t id = 0; id < nv && id < 512; id++) { /* every piece is readable */
        size_t len = 0;
        const char *p = fsk_tokenizer_piece(tok, (int32_t)id, 1, &len);
        FUZZ_CHECK(p != NULL && len <= fsk_tokenizer_max_piece_len(tok));
        if (len)
            (void)*(const volatile char *)(p + len - 1);
    }
    fsk_tokenizer_free(tok);
}

/* A model that loads must be usable: info, text, and one decoded token when it is small. */
static void use_model(fsk_model *m)
{
    fsk_model_info info;
    FUZZ_CHECK(fsk_model_get_info(m, &info) == FSK_OK);
    size_t need = fsk_model_describe(m, NULL, 0);
    char *text = malloc(need + 1);
    FUZZ_CHECK(text != NULL);
    FUZZ_CHECK(fsk_model_describe(m, text, need + 1) == need && strlen(text) == need);
    free(text);
    int32_t ids[64];
    size_t n = 0;
    fsk_error err;
    static const char prompt[] = "<|im_start|>user Hello, world! 123 \xff\xfe<|im_end|>";
    fsk_status st = fsk_tokenize(m, prompt, sizeof prompt - 1, 1, 1, ids, 64, &n, &err);
    FUZZ_CHECK(st == FSK_OK || st == FSK_ERR_INVALID_ARG);
    if (st != FSK_OK || n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(ids[i] >= 0 && (uint32_t)ids[i] < info.n_vocab);
    char buf[1024];
    size_t got;
    fsk_detokenize(m, ids, n, buf, sizeof buf, &got, NULL);
    if (info.weight_bytes > (1u << 20) || info.n_ctx_train < 2)
        return; /* decoding a big model per input would starve the fuzzer */
    fsk_context_params cp;
    fsk_context_default_params(&cp);
    cp.n_ctx = 2;
    cp.n_threads = 1;
    cp.bind_threads = 0;
    fsk_context *c;
    if (fsk_context_new(&c, m, &cp, &err) != FSK_OK) {
        FUZZ_CHECK_MESSAGE(err);
        return;
    }
    float *logits = malloc(info.n_vocab * sizeof *logits);
    FUZZ_CHECK(logits != NULL);
    FUZZ_CHECK(fsk_decode(c, ids, 1, logits, &err) == FSK_OK);
    free(logits);
    fsk_context_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fsk_gguf *g = NULL;
    fsk_error err;
    if (fsk_gguf_open_memory(&g, data, size, "fuzz.gguf", &err) == FSK_OK) {
        FUZZ_CHECK(g != NULL);
        walk_kvs(g);
        walk_tensors(g);
        use_tokenizer(g);
        fsk_gguf_close(g);
    } else {
        FUZZ_CHECK(g == NULL);
        FUZZ_CHECK_MESSAGE(err);
        FUZZ_CHECK(strncmp(err.message, "fuzz.gguf: ", 11) == 0);
        return 0; /* the loader would refuse it the same way */
    }
    fsk_model_params p;
    fsk_model_default_params(&p);
    p.check_finite = size & 1; /* both paths, chosen by something the fuzzer controls */
    fsk_model *m = NULL;
    fsk_status st = fsk_model_load_memory(&m, data, size, "fuzz.gguf", &p, &err);
    if (st != FSK_OK) {
        FUZZ_CHECK(m == NULL);
        FUZZ_CHECK_MESSAGE(err);
        return 0;
    }
    use_model(m);
    fsk_model_free(m);
    return 0;
}

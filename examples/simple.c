/* simple.c: the smallest program that generates text with libffnskip, built only from the
 * installed header and pkg-config:  cc simple.c $(pkg-config --cflags --libs ffnskip) */
#include <ffnskip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int print_piece(void *user, int32_t id, const char *piece, size_t len)
{
    (void)user;
    (void)id;
    fwrite(piece, 1, len, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : getenv("FSK_MODEL");
    const char *prompt = argc > 2 ? argv[2] : "The capital of France is";
    if (!path) {
        fprintf(stderr, "usage: simple MODEL.gguf [PROMPT]\n");
        return 2;
    }
    fsk_error err;
    fsk_model *model = NULL;
    fsk_context *ctx = NULL;
    fsk_sampler *sampler = NULL;
    int32_t ids[256];
    size_t n = 0;
    fsk_sampler_params sp;
    fsk_sampler_default_params(&sp);
    sp.temperature = 0; /* greedy */
    fsk_gen_stats stats;
    if (fsk_model_load(&model, path, NULL, &err) != FSK_OK ||
        fsk_context_new(&ctx, model, NULL, &err) != FSK_OK ||
        fsk_sampler_new(&sampler, &sp, fsk_model_n_vocab(model), &err) != FSK_OK ||
        fsk_tokenize(model, prompt, strlen(prompt), 1, 0, ids, 256, &n, &err) != FSK_OK ||
        fsk_generate(ctx, sampler, ids, n, 16, print_piece, NULL, &stats, &err) != FSK_OK) {
        fprintf(stderr, "simple: %s (%s)\n", err.message, fsk_status_string(err.status));
        fsk_sampler_free(sampler);
        fsk_context_free(ctx);
        fsk_model_free(model);
        return 1;
    }
    printf("\n[%u prompt tokens, %u generated]\n", stats.n_prompt, stats.n_generated);
    fsk_sampler_free(sampler);
    fsk_context_free(ctx);
    fsk_model_free(model);
    return stats.n_generated > 0 ? 0 : 1;
}

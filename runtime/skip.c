/* skip.c: FFN skip policies. For now only dense; FFN-SkipLLM and its baselines build on this hook. */
#include "config.h"

#include "skip.h"

void fsk_skip_token_begin(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, int dense)
{
    (void)cfg;
    (void)dense;
    st->skip_left = 0;
}

int fsk_skip_run_ffn(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, uint32_t layer)
{
    (void)cfg;
    (void)st;
    (void)layer;
    return 1;
}

void fsk_skip_observe(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, uint32_t layer, float cos)
{
    (void)cfg;
    (void)st;
    (void)layer;
    (void)cos;
}

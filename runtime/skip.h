/* skip.h: the FFN skip policy hook: forward.c asks before each FFN and reports the similarity after. */
#ifndef FSK_SKIP_H
#define FSK_SKIP_H

#include <stdint.h>

/* Policy configuration, fixed during a decode step. */
struct fsk_skip_cfg {
    int policy; /* 0: dense */
};

/* Per-token decision state. Every thread of the team keeps its own copy and feeds it the same
 * inputs in the same order, so all threads reach the same decision without a barrier. */
struct fsk_skip_tok {
    uint32_t skip_left;
};

void fsk_skip_token_begin(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, int dense);
/* 1 when layer's FFN must run for this token. */
int fsk_skip_run_ffn(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, uint32_t layer);
/* The cosine similarity between the hidden state before and after layer's FFN. */
void fsk_skip_observe(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, uint32_t layer, float cos);

#endif

/* skip.h: the FFN skip policy hook: forward.c asks before each layer and FFN and reports the
 * similarity after each FFN that ran. */
#ifndef FSK_SKIP_H
#define FSK_SKIP_H

#include <stdint.h>

#include "ffnskip.h"

/* Policy configuration, fixed during a decode step. */
struct fsk_skip_cfg {
    fsk_skip_params p;
    uint32_t n_layer;
    uint32_t r0, r1;   /* the skippable region [r0, r1) */
    double p_random;   /* ffn-random: skip probability inside the region */
};

/* Per-token decision state. Every thread of the team keeps its own copy and feeds it the same
 * inputs in the same order, so all threads reach the same decisions without sharing any. */
struct fsk_skip_tok {
    uint32_t skip_left; /* ffn-skip: layers still to skip after a trigger */
    uint64_t pos;       /* the token's position, for the seeded random policy */
    int dense;
};

/* Validates params for a model of n_layer layers and fills cfg. */
fsk_status fsk_skip_configure(struct fsk_skip_cfg *cfg, const fsk_skip_params *params, uint32_t n_layer,
                              fsk_error *err);
void fsk_skip_token_begin(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, int dense, uint64_t pos);
/* 0 when the whole layer l is dropped for this token (layer-drop). */
int fsk_skip_run_layer(const struct fsk_skip_cfg *cfg, const struct fsk_skip_tok *st, uint32_t layer);
/* 1 when layer l's FFN must run for this token. */
int fsk_skip_run_ffn(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, uint32_t layer);
/* The cosine similarity between the hidden state before and after layer l's FFN. */
void fsk_skip_observe(const struct fsk_skip_cfg *cfg, struct fsk_skip_tok *st, uint32_t layer, float cos);
/* 1 when early exit tests its confidence after layer l. */
int fsk_skip_exit_test(const struct fsk_skip_cfg *cfg, const struct fsk_skip_tok *st, uint32_t layer);
/* Picks n layers for a static set: those with the highest calibrated similarity inside the
 * region, or evenly spaced in it without a profile. */
void fsk_skip_pick_layers(const struct fsk_skip_cfg *cfg, uint32_t n, uint8_t *layers);

#endif

/* skipopts.c: parsing and applying the --skip* options. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "skipopts.h"

enum {
    SET_POLICY = 1u << 0,
    SET_THRESHOLD = 1u << 1,
    SET_WARMUP = 1u << 2,
    SET_COLD = 1u << 3,
    SET_SPAN = 1u << 4,
    SET_TARGET = 1u << 5,
    SET_SEED = 1u << 6,
    SET_LAYERS = 1u << 7
};

const char cli_skip_help[] =
    "FFN skipping (FFN-SkipLLM and the paper's baselines):\n"
    "      --skip POLICY        dense (default), ffn-skip, ffn-static, ffn-random, layer-drop,\n"
    "                           early-exit\n"
    "      --skip-profile FILE  settings from `ffnskip calibrate` (options below override it)\n"
    "      --skip-threshold T   ffn-skip: skip after an FFN whose cos(h, h+FFN) >= T;\n"
    "                           early-exit: the top probability that ends the stack\n"
    "      --skip-warmup N      generated tokens that run dense first (default 4)\n"
    "      --skip-cold F,L      first F and last L layers are never skipped (default 3,2)\n"
    "      --skip-span K        ffn-skip: skip K layers, then test again; 0: to the end (default)\n"
    "      --skip-target R      ffn-random: skip ratio; ffn-static, layer-drop: fraction of layers\n"
    "      --skip-layers L,...  ffn-static, layer-drop: the layers to skip\n"
    "      --skip-seed S        ffn-random's seed\n";

void cli_skip_init(struct cli_skip *s)
{
    memset(s, 0, sizeof *s);
    fsk_skip_default_params(&s->p);
}

static int bad(const char *cmd, const char *opt, const char *val, const char *want)
{
    fprintf(stderr, "ffnskip %s: %s wants %s, not '%s' (see 'ffnskip %s --help')\n", cmd, opt, want, val, cmd);
    return -1;
}

static int to_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > 100000000ul)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

static int to_f32(const char *s, float lo, float hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return 0;
    *out = (float)v;
    return 1;
}

int cli_skip_parse(struct cli_skip *s, const char *cmd, int argc, char **argv, int *i)
{
    const char *opt = argv[*i];
    if (strncmp(opt, "--skip", 6) != 0)
        return 0;
    static const char *const known[] = {"--skip", "--skip-profile", "--skip-threshold", "--skip-warmup",
                                        "--skip-cold", "--skip-span", "--skip-target", "--skip-layers",
                                        "--skip-seed"};
    int found = 0;
    for (size_t k = 0; k < sizeof known / sizeof *known; k++)
        found |= !strcmp(opt, known[k]);
    if (!found)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "ffnskip %s: %s needs a value (see 'ffnskip %s --help')\n", cmd, opt, cmd);
        return -1;
    }
    const char *v = argv[++*i];
    if (!strcmp(opt, "--skip")) {
        if (fsk_skip_policy_parse(v, &s->p.policy) != FSK_OK)
            return bad(cmd, opt, v, "one of dense, ffn-skip, ffn-static, ffn-random, layer-drop, early-exit");
        s->set |= SET_POLICY;
    } else if (!strcmp(opt, "--skip-profile")) {
        s->profile_path = v;
    } else if (!strcmp(opt, "--skip-threshold")) {
        if (!to_f32(v, -1.0f, 1.0f, &s->p.threshold))
            return bad(cmd, opt, v, "a number in [-1, 1]");
        s->set |= SET_THRESHOLD;
    } else if (!strcmp(opt, "--skip-warmup")) {
        if (!to_u32(v, &s->p.warmup))
            return bad(cmd, opt, v, "a token count");
        s->set |= SET_WARMUP;
    } else if (!strcmp(opt, "--skip-cold")) {
        char buf[64];
        snprintf(buf, sizeof buf, "%s", v);
        char *comma = strchr(buf, ',');
        if (!comma)
            return bad(cmd, opt, v, "FIRST,LAST");
        *comma = '\0';
        if (!to_u32(buf, &s->p.cold_first) || !to_u32(comma + 1, &s->p.cold_last))
            return bad(cmd, opt, v, "FIRST,LAST layer counts");
        s->set |= SET_COLD;
    } else if (!strcmp(opt, "--skip-span")) {
        if (!to_u32(v, &s->p.span))
            return bad(cmd, opt, v, "a layer count");
        s->set |= SET_SPAN;
    } else if (!strcmp(opt, "--skip-target")) {
        if (!to_f32(v, 0.0f, 1.0f, &s->p.target))
            return bad(cmd, opt, v, "a ratio in [0, 1]");
        s->set |= SET_TARGET;
    } else if (!strcmp(opt, "--skip-seed")) {
        char *end;
        errno = 0;
        unsigned long long x = strtoull(v, &end, 10);
        if (errno || end == v || *end || v[0] == '-')
            return bad(cmd, opt, v, "a non-negative integer");
        s->p.seed = x;
        s->set |= SET_SEED;
    } else { /* --skip-layers */
        memset(s->p.layers, 0, sizeof s->p.layers);
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", v);
        char *save, *t = strtok_r(buf, ",", &save);
        if (!t)
            return bad(cmd, opt, v, "a comma-separated list of layers");
        for (; t; t = strtok_r(NULL, ",", &save)) {
            uint32_t l;
            if (!to_u32(t, &l) || l >= FSK_MAX_LAYERS)
                return bad(cmd, opt, v, "layer numbers below 256");
            s->p.layers[l] = 1;
        }
        s->set |= SET_LAYERS;
    }
    return 1;
}

int cli_skip_resolve(const struct cli_skip *s, const char *cmd, fsk_skip_params *out)
{
    fsk_skip_params p;
    fsk_skip_default_params(&p);
    if (s->profile_path) {
        fsk_error err;
        if (fsk_skip_profile_load(s->profile_path, &p, &err) != FSK_OK) {
            fprintf(stderr, "ffnskip %s: %s\n", cmd, err.message);
            return -1;
        }
    }
    if (s->set & SET_POLICY) p.policy = s->p.policy;
    if (s->set & SET_THRESHOLD) p.threshold = s->p.threshold;
    if (s->set & SET_WARMUP) p.warmup = s->p.warmup;
    if (s->set & SET_COLD) { p.cold_first = s->p.cold_first; p.cold_last = s->p.cold_last; }
    if (s->set & SET_SPAN) p.span = s->p.span;
    if (s->set & SET_TARGET) p.target = s->p.target;
    if (s->set & SET_SEED) p.seed = s->p.seed;
    if (s->set & SET_LAYERS) memcpy(p.layers, s->p.layers, sizeof p.layers);
    *out = p;
    return 0;
}

int cli_skip_apply(const struct cli_skip *s, const char *cmd, fsk_context *ctx)
{
    fsk_skip_params p;
    if (cli_skip_resolve(s, cmd, &p) != 0)
        return 3;
    if (p.policy == FSK_SKIP_FFN && !s->profile_path && !(s->set & SET_THRESHOLD))
        fprintf(stderr, "ffnskip %s: note: ffn-skip without --skip-profile or --skip-threshold uses the "
                        "uncalibrated threshold %.2f, which can skip most FFN blocks and spoil the text; "
                        "`ffnskip calibrate` makes a profile for a target ratio\n",
                cmd, (double)p.threshold);
    fsk_error err;
    if (fsk_context_set_skip(ctx, &p, &err) != FSK_OK) {
        fprintf(stderr, "ffnskip %s: %s\n", cmd, err.message);
        return 2;
    }
    return 0;
}

void cli_skip_report(fsk_context *ctx)
{
    fsk_skip_params p;
    fsk_skip_stats st;
    if (fsk_context_get_skip(ctx, &p) != FSK_OK || fsk_context_skip_stats(ctx, &st) != FSK_OK)
        return;
    fprintf(stderr, "skip:   %s, %llu of %llu FFN blocks skipped over %llu generated tokens (%.1f%%)\n",
            fsk_skip_policy_name(p.policy), (unsigned long long)st.ffn_skipped,
            (unsigned long long)st.ffn_total, (unsigned long long)st.tokens, 100.0 * st.ratio);
    if (st.ffn_skipped == 0)
        return;
    fprintf(stderr, "        skipped per layer:");
    for (uint32_t l = 0; l < st.n_layer; l++)
        fprintf(stderr, " %llu", (unsigned long long)st.layer_skipped[l]);
    fprintf(stderr, "\n");
}

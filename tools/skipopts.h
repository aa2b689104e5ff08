/* skipopts.h: the --skip* command-line options shared by run, chat, eval, calibrate and profile. */
#ifndef FSK_SKIPOPTS_H
#define FSK_SKIPOPTS_H

#include "ffnskip.h"

struct cli_skip {
    fsk_skip_params p;        /* explicit options, applied over the profile */
    const char *profile_path; /* --skip-profile */
    unsigned set;             /* which options were given (bits of enum in skipopts.c) */
};

extern const char cli_skip_help[];

void cli_skip_init(struct cli_skip *s);
/* If argv[*i] is a skip option, consumes it (and its value) and returns 1; returns 0 when it is
 * not one; prints a usage message and returns -1 on a bad value. */
int cli_skip_parse(struct cli_skip *s, const char *cmd, int argc, char **argv, int *i);
/* The resulting parameters: defaults, then the profile file, then explicit options. Prints an
 * error and returns -1 on failure (exit status 3 territory: a bad profile file). */
int cli_skip_resolve(const struct cli_skip *s, const char *cmd, fsk_skip_params *out);
/* Resolves and sets the policy on ctx; prints errors. Returns 0, or an exit status. */
int cli_skip_apply(const struct cli_skip *s, const char *cmd, fsk_context *ctx);
/* Prints the realised skip statistics of ctx to stderr. */
void cli_skip_report(fsk_context *ctx);

#endif

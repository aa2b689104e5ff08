/* cli.h: shared plumbing of the ffnskip subcommands. */
#ifndef FSK_CLI_H
#define FSK_CLI_H

#include <stdio.h>

#include "ffnskip.h"
#include "skipopts.h"

/* Exit statuses, documented in ffnskip(1). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,  /* the job ran and failed (a self-test mismatch, an I/O error) */
    EXIT_USAGE = 2, /* bad command line */
    EXIT_INPUT = 3  /* bad input: a missing or malformed model, an over-long prompt */
};

#define DEFAULT_MODEL "SmolLM2-135M-Instruct.Q4_1.gguf"

extern const char *prog;
extern const char run_options_help[];

struct opts {
    const char *model, *prompt, *prompt_file, *system;
    long n_predict;
    int threads, chat_template, show_stats;
    long n_ctx;
    fsk_sampler_params sp;
    int seed_given;
    int check_weights; /* --check-weights: refuse a model with NaN or Inf weights */
    int ignore_eos;    /* --ignore-eos: generate all -n tokens (benchmarks) */
    fsk_numa_mode numa; /* --numa */
    struct cli_skip skip;
};

struct session {
    fsk_model *model;
    fsk_context *ctx;
    fsk_sampler *sampler;
};

__attribute__((format(printf, 2, 3))) int usage_error(const char *cmd, const char *fmt, ...);
int exit_for(fsk_status st);
int parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out);
int parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi, float *out);
int parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
const char *find_model(char *buf, size_t len);
int has_value(int i, int argc, const char *cmd, const char *opt);
/* --numa's value; EXIT_OK or EXIT_USAGE with a message. */
int parse_numa(const char *cmd, const char *s, fsk_numa_mode *out);
/* Options of run and chat (and of any command that loads a model and generates): the model,
 * threads, context, sampling and --skip*. `extra`, when not NULL, is offered each unknown option
 * first (returns 1 consumed, 0 not its own, -1 error). */
typedef int (*extra_opt_fn)(void *user, int argc, char **argv, int *i);
int parse_opts(const char *cmd, int argc, char **argv, struct opts *o);
int parse_opts_ex(const char *cmd, int argc, char **argv, struct opts *o, extra_opt_fn extra, void *user);
void session_end(struct session *s);
/* Loads the model, makes a context with the skip policy and a sampler. */
int session_begin(const char *cmd, const struct opts *o, struct session *s);
fsk_status tokenize(const fsk_model *m, const char *text, int add_bos, int32_t **ids, size_t *n, fsk_error *err);
int print_piece(void *user, int32_t id, const char *piece, size_t len);
void print_stats(const fsk_gen_stats *gs);
char *read_file(const char *path, const char *cmd);

/* Options of calibrate beyond those of run. */
struct cal_opts {
    const char *text, *out, *spans;
    float target;
    long tokens, window;
    uint32_t span_list[16];
    size_t n_spans;
};
/* Parses calibrate's command line (no file is read, no model loaded); EXIT_OK or an exit status. */
int calibrate_parse(int argc, char **argv, struct opts *o, struct cal_opts *c);

/* Subcommands in their own files. */
int cmd_calibrate(int argc, char **argv);
int cmd_profile(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif

/* cli.c: what the subcommands share: option parsing, finding and loading the model, tokenizing,
 * printing tokens and timings. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"


const char *prog = "ffnskip";

int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s %s: ", prog, cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see '%s %s --help')\n", prog, cmd);
    return EXIT_USAGE;
}

/* Status of a failed library call, as an exit status. */
int exit_for(fsk_status st)
{
    switch (st) {
    case FSK_ERR_IO: /* a file that cannot be opened or read is the user's input too */
    case FSK_ERR_FORMAT:
    case FSK_ERR_UNSUPPORTED:
    case FSK_ERR_CONTEXT_FULL:
    case FSK_ERR_INVALID_ARG:
        return EXIT_INPUT;
    default:
        return EXIT_FAIL;
    }
}

/* ------------------------------------------------------------------ option parsing */


int parse_long(const char *cmd, const char *opt, const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return usage_error(cmd, "%s wants an integer in [%ld, %ld], not '%s'", opt, lo, hi, s);
    *out = v;
    return EXIT_OK;
}

int parse_float(const char *cmd, const char *opt, const char *s, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return usage_error(cmd, "%s wants a number in [%g, %g], not '%s'", opt, lo, hi, s);
    *out = (float)v;
    return EXIT_OK;
}

int parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return usage_error(cmd, "%s wants a non-negative integer, not '%s'", opt, s);
    *out = v;
    return EXIT_OK;
}

static int file_exists(const char *p)
{
    return access(p, R_OK) == 0;
}

/* The default model: $FSK_MODEL, ./models/, then models/ above the program's own directory. */
const char *find_model(char *buf, size_t len)
{
    const char *env = getenv("FSK_MODEL");
    if (env && *env)
        return env;
    snprintf(buf, len, "models/" DEFAULT_MODEL);
    if (file_exists(buf))
        return buf;
    char exe[2048];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        for (int up = 0; slash && up < 3; up++) {
            *slash = '\0';
            snprintf(buf, len, "%s/models/" DEFAULT_MODEL, exe);
            if (file_exists(buf))
                return buf;
            slash = strrchr(exe, '/');
        }
    }
    return NULL;
}

int has_value(int i, int argc, const char *cmd, const char *opt)
{
    if (i + 1 >= argc) {
        usage_error(cmd, "%s needs a value", opt);
        return 0;
    }
    return 1;
}

int parse_numa(const char *cmd, const char *s, fsk_numa_mode *out)
{
    if (fsk_numa_mode_parse(s, out) != FSK_OK || *out == FSK_NUMA_AUTO)
        return usage_error(cmd, "--numa wants off, distribute or isolate, not '%s'", s);
    return EXIT_OK;
}

/* Parses the options shared by run and chat; returns EXIT_OK or an exit status. */
int parse_opts(const char *cmd, int argc, char **argv, struct opts *o)
{
    return parse_opts_ex(cmd, argc, argv, o, NULL, NULL);
}

int parse_opts_ex(const char *cmd, int argc, char **argv, struct opts *o, extra_opt_fn extra, void *user)
{
    memset(o, 0, sizeof *o);
    cli_skip_init(&o->skip);
    o->n_predict = 128;
    o->show_stats = 1;
    fsk_sampler_default_params(&o->sp);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = EXIT_OK;
        long v;
#define VALUE() (has_value(i, argc, cmd, a) ? argv[++i] : NULL)
#define NEED(x) do { if (!(x)) return EXIT_USAGE; } while (0)
        if (!strcmp(a, "-m") || !strcmp(a, "--model")) { NEED(o->model = VALUE()); }
        else if (!strcmp(a, "-p") || !strcmp(a, "--prompt")) { NEED(o->prompt = VALUE()); }
        else if (!strcmp(a, "-f") || !strcmp(a, "--file")) { NEED(o->prompt_file = VALUE()); }
        else if (!strcmp(a, "--system")) { NEED(o->system = VALUE()); }
        else if (!strcmp(a, "-n") || !strcmp(a, "--n-predict")) {
            const char *s; NEED(s = VALUE());
            rc = parse_long(cmd, a, s, 0, 1 << 24, &o->n_predict);
        } else if (!strcmp(a, "-t") || !strcmp(a, "--threads")) {
            const char *s; NEED(s = VALUE());
            rc = parse_long(cmd, a, s, 1, 1024, &v);
            o->threads = (int)v;
        } else if (!strcmp(a, "--numa")) {
            const char *s; NEED(s = VALUE());
            rc = parse_numa(cmd, s, &o->numa);
        } else if (!strcmp(a, "-c") || !strcmp(a, "--ctx-size")) {
            const char *s; NEED(s = VALUE());
            rc = parse_long(cmd, a, s, 1, 1 << 24, &o->n_ctx);
        } else if (!strcmp(a, "--temp")) {
            const char *s; NEED(s = VALUE());
            rc = parse_float(cmd, a, s, 0, 100, &o->sp.temperature);
        } else if (!strcmp(a, "--top-k")) {
            const char *s; NEED(s = VALUE());
            rc = parse_long(cmd, a, s, 0, INT_MAX, &v);
            o->sp.top_k = (int)v;
        } else if (!strcmp(a, "--top-p")) {
            const char *s; NEED(s = VALUE());
            rc = parse_float(cmd, a, s, 1e-6, 1, &o->sp.top_p);
        } else if (!strcmp(a, "--min-p")) {
            const char *s; NEED(s = VALUE());
            rc = parse_float(cmd, a, s, 0, 1, &o->sp.min_p);
        } else if (!strcmp(a, "--repeat-penalty")) {
            const char *s; NEED(s = VALUE());
            rc = parse_float(cmd, a, s, 1e-3, 100, &o->sp.repeat_penalty);
        } else if (!strcmp(a, "--repeat-last-n")) {
            const char *s; NEED(s = VALUE());
            rc = parse_long(cmd, a, s, 0, 1 << 24, &v);
            o->sp.repeat_last_n = (int)v;
        } else if (!strcmp(a, "--seed")) {
            const char *s; NEED(s = VALUE());
            rc = parse_u64(cmd, a, s, &o->sp.seed);
            o->seed_given = 1;
        } else if (!strcmp(a, "--greedy")) {
            o->sp.temperature = 0;
        } else if (!strcmp(a, "--chat-template")) {
            o->chat_template = 1;
        } else if (!strcmp(a, "--no-stats")) {
            o->show_stats = 0;
        } else if (!strcmp(a, "--check-weights")) {
            o->check_weights = 1;
        } else if (!strcmp(a, "--ignore-eos")) {
            o->ignore_eos = 1;
        } else if ((rc = cli_skip_parse(&o->skip, cmd, argc, argv, &i)) != 0) {
            if (rc < 0)
                return EXIT_USAGE;
            rc = EXIT_OK;
        } else if (extra && (rc = extra(user, argc, argv, &i)) != 0) {
            if (rc < 0)
                return EXIT_USAGE;
            rc = EXIT_OK;
        } else if (a[0] == '-') {
            return usage_error(cmd, "unknown option '%s'", a);
        } else {
            return usage_error(cmd, "unexpected argument '%s'", a);
        }
        if (rc != EXIT_OK)
            return rc;
#undef VALUE
#undef NEED
    }
    if (!o->seed_given)
        o->sp.seed = (uint64_t)time(NULL);
    return EXIT_OK;
}

const char run_options_help[] =
    "  -m, --model PATH       GGUF model (default: " DEFAULT_MODEL ", see ffnskip --help)\n"
    "  -t, --threads N        threads (default: one per physical core)\n"
    "      --numa MODE        off, distribute (every node, weights in each node's memory: the\n"
    "                         default on a machine of several nodes) or isolate (one node)\n"
    "  -c, --ctx-size N       context length in tokens (default: the model's, at most 4096)\n"
    "  -n, --n-predict N      tokens to generate at most (default 128)\n"
    "      --temp T           temperature; 0 is greedy (default 0.8)\n"
    "      --greedy           same as --temp 0\n"
    "      --top-k K          keep the K most likely tokens; 0 keeps all (default 40)\n"
    "      --top-p P          keep the smallest set with probability >= P (default 0.95)\n"
    "      --min-p P          drop tokens below P x the best probability (default 0.05)\n"
    "      --repeat-penalty R penalise tokens seen in the last --repeat-last-n (default 1: off)\n"
    "      --repeat-last-n N  window of the repetition penalty (default 64)\n"
    "      --seed S           random seed, for reproducible sampling (default: the time)\n"
    "      --no-stats         do not print timings at the end\n"
    "      --ignore-eos       never stop at an end-of-generation token: generate all -n tokens\n"
    "                         (for benchmarks; llama.cpp's option of the same name)\n"
    "      --check-weights    scan every weight for NaN or Inf first; refuse such a model (slow)\n";

/* ------------------------------------------------------------------ shared model plumbing */


void session_end(struct session *s)
{
    fsk_sampler_free(s->sampler);
    fsk_context_free(s->ctx);
    fsk_model_free(s->model);
}

int session_begin(const char *cmd, const struct opts *o, struct session *s)
{
    memset(s, 0, sizeof *s);
    char buf[4096];
    const char *path = o->model ? o->model : find_model(buf, sizeof buf);
    if (!path) {
        fprintf(stderr,
                "%s %s: no model given and the default " DEFAULT_MODEL " was not found;\n"
                "  run scripts/fetch-model, or pass -m PATH\n",
                prog, cmd);
        return EXIT_INPUT;
    }
    fsk_error err;
    fsk_model_params mp;
    fsk_model_default_params(&mp);
    mp.check_finite = o->check_weights;
    mp.numa = o->numa;
    mp.n_threads = o->threads; /* weights placed for the threads the context will run */
    fsk_status st = fsk_model_load(&s->model, path, &mp, &err);
    if (st == FSK_OK) {
        fsk_context_params cp;
        fsk_context_default_params(&cp);
        cp.n_threads = o->threads;
        cp.n_ctx = (uint32_t)o->n_ctx;
        st = fsk_context_new(&s->ctx, s->model, &cp, &err);
    }
    if (st == FSK_OK && fsk_context_note(s->ctx))
        fprintf(stderr, "%s %s: note: %s\n", prog, cmd, fsk_context_note(s->ctx));
    if (st == FSK_OK)
        st = fsk_sampler_new(&s->sampler, &o->sp, fsk_model_n_vocab(s->model), &err);
    if (st != FSK_OK) {
        fprintf(stderr, "%s %s: %s\n", prog, cmd, err.message);
        session_end(s);
        return exit_for(st);
    }
    int rc = cli_skip_apply(&o->skip, cmd, s->ctx);
    if (rc != 0) {
        session_end(s);
        return rc == 2 ? EXIT_USAGE : EXIT_INPUT;
    }
    return EXIT_OK;
}

/* Tokenizes text, growing the buffer as needed. */
fsk_status tokenize(const fsk_model *m, const char *text, int add_bos, int32_t **ids, size_t *n,
                           fsk_error *err)
{
    size_t len = strlen(text), need = 0;
    size_t cap = len + 16;
    *ids = malloc(cap * sizeof **ids);
    if (!*ids)
        return FSK_ERR_NOMEM;
    fsk_status st = fsk_tokenize(m, text, len, add_bos, 1, *ids, cap, &need, err);
    if (st == FSK_ERR_INVALID_ARG && need > cap) {
        int32_t *bigger = realloc(*ids, need * sizeof **ids);
        if (!bigger)
            return FSK_ERR_NOMEM;
        *ids = bigger;
        st = fsk_tokenize(m, text, len, add_bos, 1, *ids, need, &need, err);
    }
    *n = need;
    return st;
}

int print_piece(void *user, int32_t id, const char *piece, size_t len)
{
    (void)user;
    (void)id;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    return 0;
}

void print_stats(const fsk_gen_stats *gs)
{
    fprintf(stderr, "\n\nprompt: %u tokens in %.1f ms (%.1f tok/s)\n", gs->n_prompt, gs->prompt_ms,
            gs->prompt_ms > 0 ? 1000.0 * gs->n_prompt / gs->prompt_ms : 0.0);
    fprintf(stderr, "decode: %u tokens in %.1f ms (%.1f tok/s, %.2f ms/token)%s\n", gs->n_generated,
            gs->decode_ms, gs->decode_ms > 0 ? 1000.0 * gs->n_generated / gs->decode_ms : 0.0,
            gs->n_generated ? gs->decode_ms / gs->n_generated : 0.0,
            gs->stopped_by_eog ? ", stopped at end of turn" : gs->context_full ? ", stopped: context full" : "");
    if (gs->n_generated)
        fprintf(stderr, "threads: %.1f barriers per generated token\n", (double)gs->barriers / gs->n_generated);
}

/* Reads a whole file as a NUL-terminated string. */
char *read_file(const char *path, const char *cmd)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "%s %s: cannot open %s: %s\n", prog, cmd, path, strerror(errno));
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            break;
        if (len + 1 >= cap) {
            char *b = cap > (1u << 30) ? NULL : realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = b;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        fprintf(stderr, "%s %s: cannot read %s\n", prog, cmd, path);
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    if (strlen(buf) != len) {
        fprintf(stderr, "%s %s: %s contains a NUL byte\n", prog, cmd, path);
        free(buf);
        return NULL;
    }
    return buf;
}


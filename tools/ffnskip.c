/* ffnskip.c: the command-line tool; each subcommand is a thin layer over the public API. */
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

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "Decode LLaMA-family GGUF models on the CPU, skipping feed-forward blocks that would\n"
            "barely change the hidden state (FFN-SkipLLM).\n"
            "\n"
            "Commands:\n"
            "  run        generate text from a prompt\n"
            "  chat       talk with an instruct model through its chat template\n"
            "  calibrate  choose the skip threshold and cold layers on calibration text\n"
            "  profile    record each layer's similarity and skip decision per token (CSV, plot)\n"
            "  eval       dense against skip policies: QA, perplexity, agreement, summaries\n"
            "  info       show the CPU, the kernels chosen, and a model's metadata (-m)\n"
            "  selftest   check every chosen kernel against the scalar reference\n"
            "\n"
            "Options:\n"
            "  -h, --help     show this help (also after a command: ffnskip run --help)\n"
            "  -V, --version  show the version\n"
            "\n"
            "Without -m, the default model " DEFAULT_MODEL " is looked up in $FSK_MODEL,\n"
            "./models/ and the models/ folder beside the program's source tree.\n"
            "\n"
            "Environment:\n"
            "  FSK_ISA=ref|avx2|avx512|neon  force a kernel variant (an error if the CPU lacks it)\n"
            "  FSK_CPU_OFF=FEATURE,...       treat these CPU features as absent (names as in info)\n"
            "  FSK_MODEL=PATH                the model used when -m is not given\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage error, 3 bad input.\n",
            prog);
}

/* ------------------------------------------------------------------ run */

static int cmd_run(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("Usage: %s run [-m MODEL] (-p PROMPT | -f FILE) [OPTIONS]\n\n"
                   "Generate text after PROMPT, streaming tokens to stdout as they are made, and\n"
                   "print prompt and decode speeds to stderr at the end.\n\n"
                   "  -p, --prompt TEXT      the prompt\n"
                   "  -f, --file FILE        read the prompt from FILE\n"
                   "      --chat-template    wrap the prompt as one user turn of the model's chat\n"
                   "                         template (for instruct models)\n"
                   "      --system TEXT      system message, with --chat-template\n"
                   "%s\n%s",
                   prog, run_options_help, cli_skip_help);
            return EXIT_OK;
        }
    struct opts o;
    int rc = parse_opts("run", argc, argv, &o);
    if (rc != EXIT_OK)
        return rc;
    if (!o.prompt == !o.prompt_file)
        return usage_error("run", "give exactly one of -p PROMPT or -f FILE");
    char *file_text = NULL;
    if (o.prompt_file && !(file_text = read_file(o.prompt_file, "run")))
        return EXIT_INPUT;
    const char *prompt = o.prompt ? o.prompt : file_text;
    struct session s;
    if ((rc = session_begin("run", &o, &s)) != EXIT_OK) {
        free(file_text);
        return rc;
    }
    char *text = NULL;
    fsk_error err;
    fsk_status st = FSK_OK;
    if (o.chat_template) {
        fsk_chat_msg msgs[2];
        size_t n = 0, need = 0;
        if (o.system)
            msgs[n++] = (fsk_chat_msg){"system", o.system};
        msgs[n++] = (fsk_chat_msg){"user", prompt};
        fsk_chat_format(s.model, msgs, n, 1, NULL, 0, &need, NULL);
        text = malloc(need);
        st = text ? fsk_chat_format(s.model, msgs, n, 1, text, need, &need, &err) : FSK_ERR_NOMEM;
        prompt = text;
    }
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (st == FSK_OK)
        st = tokenize(s.model, prompt, !o.chat_template, &ids, &n_ids, &err);
    if (st == FSK_OK && n_ids == 0) {
        st = FSK_ERR_INVALID_ARG;
        snprintf(err.message, sizeof err.message, "the prompt is empty");
    }
    fsk_gen_stats gs;
    if (st == FSK_OK)
        st = fsk_generate_ex(s.ctx, s.sampler, ids, n_ids, (uint32_t)o.n_predict,
                             o.ignore_eos ? FSK_GEN_IGNORE_EOG : 0, print_piece, NULL, &gs, &err);
    if (st == FSK_OK) {
        if (o.show_stats) {
            print_stats(&gs);
            cli_skip_report(s.ctx);
        } else {
            printf("\n");
        }
    } else {
        fprintf(stderr, "%s run: %s\n", prog, st == FSK_ERR_NOMEM ? "out of memory" : err.message);
        rc = exit_for(st);
    }
    free(ids);
    free(text);
    free(file_text);
    session_end(&s);
    return rc;
}

/* ------------------------------------------------------------------ chat */

static char *read_line(FILE *f)
{
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    int c;
    while (buf && (c = fgetc(f)) != EOF) {
        if (c == '\n')
            break;
        if (len + 2 > cap) {
            char *b = realloc(buf, cap *= 2);
            if (!b) {
                free(buf);
                return NULL;
            }
            buf = b;
        }
        buf[len++] = (char)c;
    }
    if (!buf || (len == 0 && c == EOF)) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

struct reply {
    char *text;
    size_t len, cap;
};

static int collect_piece(void *user, int32_t id, const char *piece, size_t len)
{
    struct reply *r = user;
    (void)id;
    fwrite(piece, 1, len, stdout);
    fflush(stdout);
    if (r->len + len + 1 > r->cap) {
        size_t cap = (r->len + len + 1) * 2;
        char *t = realloc(r->text, cap);
        if (!t)
            return 1;
        r->text = t;
        r->cap = cap;
    }
    memcpy(r->text + r->len, piece, len);
    r->len += len;
    r->text[r->len] = '\0';
    return 0;
}

/* One user turn. The KV cache holds the text rendered up to the last assistant opening plus the
 * reply's tokens; only what the template adds after that is tokenized and decoded. When the
 * rendering does not extend the cached text (a template that rewrites history), start over. */
static fsk_status chat_turn(struct session *s, const fsk_chat_msg *msgs, size_t n, char **cached,
                            size_t *cached_len, uint32_t n_predict, struct reply *r, fsk_gen_stats *gs,
                            fsk_error *err)
{
    size_t need = 0;
    fsk_chat_format(s->model, msgs, n, 1, NULL, 0, &need, NULL);
    char *all = malloc(need);
    if (!all)
        return FSK_ERR_NOMEM;
    fsk_status st = fsk_chat_format(s->model, msgs, n, 1, all, need, &need, err);
    size_t from = 0;
    if (st == FSK_OK && *cached && need - 1 >= *cached_len && !memcmp(all, *cached, *cached_len))
        from = *cached_len;
    else if (st == FSK_OK)
        fsk_context_rewind(s->ctx, 0, NULL);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (st == FSK_OK)
        st = tokenize(s->model, all + from, from == 0, &ids, &n_ids, err);
    if (st == FSK_OK)
        st = fsk_generate(s->ctx, s->sampler, ids, n_ids, n_predict, collect_piece, r, gs, err);
    if (st == FSK_OK) { /* the cache now holds the rendering plus the reply */
        size_t len = need - 1 + r->len;
        char *c = realloc(*cached, len + 1);
        if (!c) {
            st = FSK_ERR_NOMEM;
        } else {
            memcpy(c, all, need - 1);
            if (r->len)
                memcpy(c + need - 1, r->text, r->len);
            c[len] = '\0';
            *cached = c;
            *cached_len = len;
        }
    }
    free(ids);
    free(all);
    return st;
}

static int cmd_chat(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("Usage: %s chat [-m MODEL] [--system TEXT] [OPTIONS]\n\n"
                   "Talk with an instruct model: each line read from stdin is a user turn, answered\n"
                   "through the model's chat template (ChatML, Llama-3 or Llama-2). The KV cache\n"
                   "is kept between turns. An empty line or end of input ends the chat.\n\n"
                   "  -p, --prompt TEXT      ask this first, before reading stdin\n"
                   "      --system TEXT      system message\n"
                   "%s\n%s",
                   prog, run_options_help, cli_skip_help);
            return EXIT_OK;
        }
    struct opts o;
    int rc = parse_opts("chat", argc, argv, &o);
    if (rc != EXIT_OK)
        return rc;
    if (o.prompt_file)
        return usage_error("chat", "-f is not used by chat");
    struct session s;
    if ((rc = session_begin("chat", &o, &s)) != EXIT_OK)
        return rc;
    size_t cap = 16, n = 0;
    fsk_chat_msg *msgs = malloc(cap * sizeof *msgs);
    char **owned = calloc(cap, sizeof *owned);
    int interactive = isatty(0);
    if (o.system && msgs)
        msgs[n++] = (fsk_chat_msg){"system", o.system};
    char *cached = NULL; /* the conversation's text as the KV cache holds it */
    size_t cached_len = 0;
    const char *first = o.prompt;
    while (msgs && owned) {
        char *line = NULL;
        if (first) {
            line = strdup(first);
            first = NULL;
        } else {
            if (interactive)
                fprintf(stderr, "\n> ");
            line = read_line(stdin);
        }
        if (!line || !*line) {
            free(line);
            break;
        }
        if (n + 2 > cap) {
            fsk_chat_msg *m2 = realloc(msgs, 2 * cap * sizeof *msgs);
            char **o2 = m2 ? realloc(owned, 2 * cap * sizeof *owned) : NULL;
            if (m2) msgs = m2;
            if (o2) owned = o2;
            if (!m2 || !o2) { free(line); break; }
            memset(owned + cap, 0, cap * sizeof *owned);
            cap *= 2;
        }
        owned[n] = line;
        msgs[n++] = (fsk_chat_msg){"user", line};
        struct reply r = {NULL, 0, 0};
        fsk_gen_stats gs;
        fsk_error err;
        fsk_status st = chat_turn(&s, msgs, n, &cached, &cached_len, (uint32_t)o.n_predict, &r, &gs, &err);
        printf("\n");
        if (st == FSK_ERR_CONTEXT_FULL) {
            fprintf(stderr, "%s chat: the context is full (%u tokens); start a new chat or use a larger -c\n",
                    prog, fsk_context_n_ctx(s.ctx));
            free(r.text);
            rc = EXIT_INPUT;
            break;
        }
        if (st != FSK_OK) {
            fprintf(stderr, "%s chat: %s\n", prog, err.message);
            free(r.text);
            rc = exit_for(st);
            break;
        }
        if (o.show_stats && interactive) {
            print_stats(&gs);
            cli_skip_report(s.ctx);
        }
        /* the answer joins the conversation; its closing tokens come with the next turn */
        owned[n] = r.text ? r.text : strdup("");
        msgs[n] = (fsk_chat_msg){"assistant", owned[n] ? owned[n] : ""};
        n++;
    }
    free(cached);
    for (size_t i = 0; owned && i < n; i++)
        free(owned[i]);
    free(owned);
    free(msgs);
    session_end(&s);
    return rc;
}

/* ------------------------------------------------------------------ info, selftest */

/* The NUMA topology and plan; a topology hwloc cannot read is said, not fatal. */
static int print_numa(const fsk_model *m, fsk_numa_mode mode, int threads)
{
    size_t need = fsk_numa_describe(m, mode, threads, NULL, 0);
    char *text = need ? malloc(need + 1) : NULL;
    if (!need) {
        printf("\nNUMA: hwloc could not read the topology\n");
        return EXIT_OK;
    }
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return EXIT_FAIL;
    }
    fsk_numa_describe(m, mode, threads, text, need + 1);
    printf("\n%s", text);
    free(text);
    return EXIT_OK;
}

static int cmd_info(int argc, char **argv)
{
    const char *model = NULL;
    fsk_model_params mp;
    fsk_model_default_params(&mp);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("Usage: %s info [--check-weights] [-t N] [--numa MODE] [-m MODEL | MODEL]\n\n"
                   "Print the version, the CPU features found, which kernel variants this build and\n"
                   "CPU can use, and the variant chosen for each op; the NUMA topology and the plan\n"
                   "of -t threads under --numa. With a model: its metadata, tensor count and bytes\n"
                   "per type, architecture parameters and the kernels that will run, and the rows of\n"
                   "sample matrices each NUMA node holds.\n\n"
                   "  --check-weights  scan every weight for NaN or Inf; refuse such a model (slow)\n"
                   "  -t, --threads N  threads to plan for (default: one per physical core)\n"
                   "  --numa MODE      off, distribute or isolate (default: distribute on a machine\n"
                   "                   of several NUMA nodes, else off)\n",
                   prog);
            return EXIT_OK;
        }
        if (!strcmp(argv[i], "--check-weights"))
            mp.check_finite = 1;
        else if (!strcmp(argv[i], "-t") || !strcmp(argv[i], "--threads")) {
            long v;
            if (!has_value(i, argc, "info", argv[i]) ||
                parse_long("info", argv[i], argv[i + 1], 1, 1024, &v) != EXIT_OK)
                return EXIT_USAGE;
            mp.n_threads = (int)v;
            i++;
        } else if (!strcmp(argv[i], "--numa")) {
            if (!has_value(i, argc, "info", argv[i]) || parse_numa("info", argv[i + 1], &mp.numa) != EXIT_OK)
                return EXIT_USAGE;
            i++;
        } else if ((!strcmp(argv[i], "-m") || !strcmp(argv[i], "--model")) && i + 1 < argc && !model)
            model = argv[++i];
        else if (argv[i][0] != '-' && !model)
            model = argv[i];
        else
            return usage_error("info", "unexpected argument '%s'", argv[i]);
    }
    fsk_error err;
    if (fsk_init(&err) != FSK_OK) {
        fprintf(stderr, "%s: %s\n", prog, err.message);
        return EXIT_FAIL;
    }
    size_t need = fsk_cpu_describe(NULL, 0);
    char *text = malloc(need + 1);
    if (!text) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return EXIT_FAIL;
    }
    fsk_cpu_describe(text, need + 1);
    printf("ffnskip %s\n%s", fsk_version(), text);
    free(text);
    if (!model)
        return print_numa(NULL, mp.numa, mp.n_threads);
    fsk_model *m;
    fsk_status st = fsk_model_load(&m, model, &mp, &err);
    if (st != FSK_OK) {
        fprintf(stderr, "%s info: %s\n", prog, err.message);
        return exit_for(st);
    }
    need = fsk_model_describe(m, NULL, 0);
    text = malloc(need + 1);
    if (text) {
        fsk_model_describe(m, text, need + 1);
        printf("\n%s", text);
    }
    free(text);
    int rc = text ? print_numa(m, mp.numa, mp.n_threads) : EXIT_FAIL;
    fsk_model_free(m);
    return rc;
}

static int cmd_selftest(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        printf("Usage: %s selftest\n\nRun every op of the chosen kernel table against the scalar\n"
               "reference on random inputs; exit 1 on any disagreement.\n",
               prog);
        return EXIT_OK;
    }
    if (argc > 1)
        return usage_error("selftest", "unexpected argument '%s'", argv[1]);
    fsk_error err;
    if (fsk_selftest(&err) != FSK_OK) {
        fprintf(stderr, "%s: selftest failed: %s\n", prog, err.message);
        return EXIT_FAIL;
    }
    printf("selftest: every kernel agrees with the reference\n");
    return EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
        printf("ffnskip %s\n", fsk_version());
        return EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"run", cmd_run},           {"chat", cmd_chat},         {"info", cmd_info},
                {"selftest", cmd_selftest}, {"calibrate", cmd_calibrate},
                {"profile", cmd_profile},           {"eval", cmd_eval}};
    for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++)
        if (!strcmp(cmd, cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (see '%s --help')\n", prog, cmd, prog);
    return EXIT_USAGE;
}

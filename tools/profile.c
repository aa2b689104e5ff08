/* profile.c: `ffnskip profile`: records cos(h, h + FFN) and the skip decision of every layer for
 * every token of a generation (or of a teacher-forced text), as CSV and as a gnuplot heatmap. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

extern char **environ;

enum phase { PH_PROMPT, PH_WARMUP, PH_GEN };
static const char *const phase_names[] = {"prompt", "warmup", "generated"};

struct prof_opts {
    const char *text, *csv, *plot;
};

/* What was recorded: one row of n_layer values per decoded token. */
struct trace {
    uint32_t n_layer;
    size_t n, cap;
    int32_t *ids;
    uint32_t *pos;
    uint8_t *phase;
    float *sim;   /* [cap * n_layer], NaN where the FFN did not run */
    uint8_t *ran; /* [cap * n_layer] */
};

/* An output that appears whole or not at all: written to a temporary file beside it, renamed
 * over it once complete, so a failed run never leaves an existing file truncated. */
struct outfile {
    const char *path; /* "-": stdout */
    char *tmp;
    FILE *f;
};

static int prof_extra(void *user, int argc, char **argv, int *i)
{
    struct prof_opts *p = user;
    const char *a = argv[*i];
    const char **slot = !strcmp(a, "--text") ? &p->text
                        : !strcmp(a, "--csv") ? &p->csv
                        : !strcmp(a, "--plot") ? &p->plot
                        : NULL;
    if (!slot)
        return 0;
    if (!has_value(*i, argc, "profile", a))
        return -1;
    *slot = argv[++*i];
    return 1;
}

/* ------------------------------------------------------------------ recording */

static int trace_init(struct trace *t, uint32_t n_layer, size_t cap)
{
    memset(t, 0, sizeof *t);
    t->n_layer = n_layer;
    t->cap = cap ? cap : 1;
    t->ids = malloc(t->cap * sizeof *t->ids);
    t->pos = malloc(t->cap * sizeof *t->pos);
    t->phase = malloc(t->cap);
    t->sim = malloc(t->cap * n_layer * sizeof *t->sim);
    t->ran = malloc(t->cap * n_layer);
    return t->ids && t->pos && t->phase && t->sim && t->ran;
}

static void trace_free(struct trace *t)
{
    free(t->ids);
    free(t->pos);
    free(t->phase);
    free(t->sim);
    free(t->ran);
}

/* Decodes one token with flags and records what each layer saw. */
static fsk_status trace_step(struct trace *t, fsk_context *ctx, int32_t id, enum phase ph, unsigned flags,
                             float *logits, fsk_error *err)
{
    if (t->n == t->cap)
        return FSK_ERR_INTERNAL; /* the caller sized the trace for every token it decodes */
    uint32_t pos = fsk_context_pos(ctx);
    fsk_status st = fsk_decode_ex(ctx, &id, 1, logits, flags, err);
    if (st != FSK_OK)
        return st;
    size_t row = t->n * t->n_layer;
    fsk_context_last_trace(ctx, &t->sim[row], &t->ran[row], t->n_layer);
    t->ids[t->n] = id;
    t->pos[t->n] = pos;
    t->phase[t->n] = (uint8_t)ph;
    t->n++;
    return FSK_OK;
}

static fsk_status context_full(fsk_error *err, size_t n, uint32_t n_ctx)
{
    err->status = FSK_ERR_CONTEXT_FULL;
    snprintf(err->message, sizeof err->message,
             "the prompt has %zu tokens but the context holds %u; use a larger -c or a shorter prompt", n, n_ctx);
    return FSK_ERR_CONTEXT_FULL;
}

/* As fsk_generate does it: the prompt dense and uncounted, the first `warmup` generated tokens
 * dense, then the policy; stops at an end-of-generation token or a full context. */
static fsk_status run_generation(struct session *s, const int32_t *prompt, size_t n_prompt, uint32_t n_predict,
                                 uint32_t warmup, struct trace *t, size_t *n_hist_out, int32_t *hist,
                                 fsk_error *err)
{
    uint32_t n_ctx = fsk_context_n_ctx(s->ctx), n_vocab = fsk_model_n_vocab(s->model);
    if (n_prompt > n_ctx)
        return context_full(err, n_prompt, n_ctx);
    float *logits = malloc(n_vocab * sizeof *logits);
    if (!logits)
        return FSK_ERR_NOMEM;
    fsk_status st = FSK_OK;
    for (size_t i = 0; st == FSK_OK && i < n_prompt; i++)
        st = trace_step(t, s->ctx, prompt[i], PH_PROMPT, FSK_DECODE_DENSE | FSK_DECODE_NO_STATS, logits, err);
    memcpy(hist, prompt, n_prompt * sizeof *hist);
    size_t n_hist = n_prompt;
    for (uint32_t i = 0; st == FSK_OK && i < n_predict && fsk_context_pos(s->ctx) < n_ctx; i++) {
        int32_t id = fsk_sampler_sample(s->sampler, logits, hist, n_hist);
        if (fsk_token_is_eog(s->model, id))
            break;
        int dense = i < warmup;
        st = trace_step(t, s->ctx, id, dense ? PH_WARMUP : PH_GEN, dense ? FSK_DECODE_DENSE : 0, logits, err);
        hist[n_hist++] = id;
    }
    free(logits);
    *n_hist_out = n_hist;
    return st;
}

/* Teacher forcing: the text's own tokens, the first `warmup` dense, then the policy, as
 * `calibrate` and perplexity process text. */
static fsk_status run_text(struct session *s, const int32_t *ids, size_t n, uint32_t warmup, struct trace *t,
                           fsk_error *err)
{
    fsk_status st = FSK_OK;
    for (size_t i = 0; st == FSK_OK && i < n; i++) {
        int dense = i < warmup;
        st = trace_step(t, s->ctx, ids[i], dense ? PH_WARMUP : PH_GEN, dense ? FSK_DECODE_DENSE : 0, NULL, err);
    }
    return st;
}

/* ------------------------------------------------------------------ token text */

/* Length of the valid UTF-8 sequence at s (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3
                               : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n || (len == 2 && s[0] < 0xC2) || (len == 4 && s[0] > 0xF4))
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xC0) != 0x80)
            return 0;
    return len;
}

/* The token's text as valid UTF-8: a token holding part of a character shows its bytes as <0xNN>. */
static void token_text(const fsk_model *m, int32_t id, char *out, size_t cap)
{
    char raw[256];
    size_t n = 0, o = 0;
    if (fsk_detokenize(m, &id, 1, raw, sizeof raw, &n, NULL) != FSK_OK)
        n = 0;
    const unsigned char *u = (const unsigned char *)raw;
    for (size_t i = 0; i < n && o + 8 < cap;) {
        size_t len = utf8_len(u + i, n - i);
        if (len) {
            memcpy(out + o, raw + i, len);
            o += len;
            i += len;
        } else {
            o += (size_t)snprintf(out + o, cap - o, "<0x%02X>", u[i]);
            i++;
        }
    }
    out[o] = '\0';
}

/* ------------------------------------------------------------------ output files */

static void out_abort(struct outfile *o)
{
    if (o->f && o->f != stdout)
        fclose(o->f);
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    o->f = NULL;
    o->tmp = NULL;
}

/* Makes the temporary file now, so an unwritable destination fails before the model runs. */
static int out_open(struct outfile *o, const char *path, int want_stream)
{
    o->path = path;
    o->tmp = NULL;
    o->f = NULL;
    if (!strcmp(path, "-")) {
        o->f = stdout;
        return EXIT_OK;
    }
    const char *slash = strrchr(path, '/');
    size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;
    o->tmp = malloc(dlen + strlen(slash ? slash + 1 : path) + 16);
    if (!o->tmp) {
        fprintf(stderr, "%s profile: out of memory\n", prog);
        return EXIT_FAIL;
    }
    sprintf(o->tmp, "%.*s.%s.XXXXXX", (int)dlen, path, slash ? slash + 1 : path);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        fprintf(stderr, "%s profile: cannot write %s: %s\n", prog, path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        return EXIT_FAIL;
    }
    struct stat old;
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, stat(path, &old) == 0 ? (old.st_mode & 0777) : (0666 & ~mask));
    if (!want_stream) { /* another program writes it by name */
        close(fd);
        return EXIT_OK;
    }
    if (!(o->f = fdopen(fd, "w"))) {
        close(fd);
        fprintf(stderr, "%s profile: cannot write %s: %s\n", prog, path, strerror(errno));
        out_abort(o);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* Closes the stream (if any) and checks that everything reached the file. */
static int out_finish(struct outfile *o)
{
    int bad = 0;
    if (o->f == stdout)
        bad = fflush(stdout) != 0 || ferror(stdout);
    else if (o->f)
        bad = ferror(o->f) | (fclose(o->f) != 0);
    int e = errno;
    o->f = NULL;
    if (bad) {
        fprintf(stderr, "%s profile: cannot write %s: %s\n", prog, o->path, strerror(e));
        out_abort(o);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

static int out_commit(struct outfile *o)
{
    if (!o->tmp)
        return EXIT_OK;
    if (rename(o->tmp, o->path) != 0) {
        fprintf(stderr, "%s profile: cannot replace %s: %s\n", prog, o->path, strerror(errno));
        out_abort(o);
        return EXIT_FAIL;
    }
    free(o->tmp);
    o->tmp = NULL;
    return EXIT_OK;
}

/* ------------------------------------------------------------------ CSV */

static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv_write(FILE *f, const struct trace *t, const fsk_model *m)
{
    char text[2048];
    fputs("token_index,position,token_id,token_text,phase,layer,similarity,ran\n", f);
    for (size_t i = 0; i < t->n; i++) {
        token_text(m, t->ids[i], text, sizeof text);
        for (uint32_t l = 0; l < t->n_layer; l++) {
            size_t k = i * t->n_layer + l;
            fprintf(f, "%zu,%u,%d,", i, t->pos[i], t->ids[i]);
            csv_field(f, text);
            fprintf(f, ",%s,%u,", phase_names[t->phase[i]], l);
            if (t->ran[k] && !isnan(t->sim[k]))
                fprintf(f, "%.6f", t->sim[k]);
            fprintf(f, ",%d\n", t->ran[k] ? 1 : 0);
        }
    }
}

/* ------------------------------------------------------------------ plot */

/* The colour is -log10(1 - cos): 1 at 0.9, 2 at 0.99, 3 at 0.999. The FFNs worth skipping all
 * sit above 0.9, where a linear scale would paint them one colour. */
#define PLOT_TOP 3.0

static double nines(double s)
{
    double gap = 1.0 - s;
    double v = gap <= 1e-3 ? PLOT_TOP : -log10(gap);
    return v < 0 ? 0 : v;
}

static int has_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path || !*path)
        return 0;
    char buf[4096];
    for (const char *p = path; p;) {
        const char *colon = strchr(p, ':');
        int len = colon ? (int)(colon - p) : (int)strlen(p);
        snprintf(buf, sizeof buf, "%.*s%sgnuplot", len, p, len ? "/" : "./");
        if (access(buf, X_OK) == 0)
            return 1;
        p = colon ? colon + 1 : NULL;
    }
    return 0;
}

/* A gnuplot string that means exactly its bytes: double-quoted, every byte but a few safe ones
 * written as an octal escape. A literal backquote would run a shell command even inside quotes,
 * and doubled single quotes confuse gnuplot's lexer; escapes do neither. Newlines and tabs
 * show as \n and \t; other control characters as ?. */
static void gp_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (*u == '\n' || *u == '\t')
            fprintf(f, "\\134%c", *u == '\n' ? 'n' : 't');
        else if (*u < 0x20 || *u == 0x7f)
            fputc('?', f);
        else if ((*u >= 'a' && *u <= 'z') || (*u >= 'A' && *u <= 'Z') || (*u >= '0' && *u <= '9') ||
                 strchr(" .,:;-_+=/()[]<>!?#%*~|^&{}'", *u))
            fputc(*u, f);
        else
            fprintf(f, "\\%03o", *u);
    }
    fputc('"', f);
}

/* The tokens the plot shows: the generated ones (warm-up included), or every token when there
 * were none (a prompt-only run). */
static size_t plot_first(const struct trace *t)
{
    size_t first = 0;
    while (first < t->n && t->phase[first] == PH_PROMPT)
        first++;
    return first < t->n ? first : 0;
}

static int write_plot_data(FILE *f, const struct trace *t, size_t first)
{
    for (size_t i = first; i < t->n; i++) {
        for (uint32_t l = 0; l < t->n_layer; l++) {
            size_t k = i * t->n_layer + l;
            int ran = t->ran[k] && !isnan(t->sim[k]);
            if (ran)
                fprintf(f, "%zu %u %.5f %d\n", i - first, l, nines(t->sim[k]), 1);
            else
                fprintf(f, "%zu %u NaN 0\n", i - first, l);
        }
        fputc('\n', f); /* one scan per token: the grid `with image` wants */
    }
    return ferror(f) ? -1 : 0;
}

static void plot_terminal(FILE *f, int svg, unsigned w, unsigned h)
{
    if (svg) {
        fprintf(f, "set terminal svg size %u,%u dynamic font 'sans,11' noenhanced background rgb 'white'\n", w, h);
        return;
    }
    fprintf(f, "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
               "  set terminal pngcairo size %u,%u font 'sans,10' noenhanced\n"
               "} else {\n"
               "  set terminal png size %u,%u noenhanced\n"
               "}\n",
            w, h, w, h);
}

struct plot_info {
    fsk_skip_params p;
    const char *model_name; /* the file's name */
    double ratio; /* skip ratio over the tokens under the policy */
    size_t n_policy;
};

static void plot_xtics(FILE *f, const struct trace *t, const fsk_model *m, size_t first, size_t cols)
{
    if (cols > 160) { /* too many to label each one legibly */
        fprintf(f, "set xtics out nomirror\n");
        return;
    }
    char text[2048];
    fprintf(f, "set xtics out nomirror rotate by 90 right font ',9' (");
    for (size_t i = first; i < t->n; i++) {
        token_text(m, t->ids[i], text, sizeof text);
        if (strlen(text) > 24)
            strcpy(text + 21, "...");
        fprintf(f, "%s", i > first ? ", " : "");
        gp_string(f, text);
        fprintf(f, " %zu", i - first);
    }
    fprintf(f, ")\n");
}

/* The warm-up boundary and the cold regions; returns which were drawn (1: warm-up, 2: cold). */
static unsigned plot_marks(FILE *f, const struct trace *t, size_t first, size_t cols, const fsk_skip_params *p)
{
    unsigned drawn = 0;
    size_t warm = 0;
    for (size_t i = first; i < t->n && t->phase[i] == PH_WARMUP; i++)
        warm++;
    if (warm && warm < cols) {
        fprintf(f, "set arrow from %zu.5, graph 0 to %zu.5, graph 1 nohead front lc rgb 'black' lw 2 dt 2\n",
                warm - 1, warm - 1);
        drawn |= 1;
    }
    if (p->policy == FSK_SKIP_DENSE)
        return drawn;
    uint32_t edges[2] = {p->cold_first, t->n_layer - p->cold_last};
    for (int e = 0; e < 2; e++)
        if (edges[e] > 0 && edges[e] < t->n_layer) {
            fprintf(f, "set arrow from graph 0, first %u.5 to graph 1, first %u.5 nohead front lc rgb 'white' dt 3\n",
                    edges[e] - 1, edges[e] - 1);
            drawn |= 2;
        }
    return drawn;
}

/* Two lines: the settings and the outcome, then what the marks mean. */
static void plot_title(FILE *f, const struct plot_info *pi, unsigned drawn)
{
    char line[512];
    const fsk_skip_params *p = &pi->p;
    int n = snprintf(line, sizeof line, "%.200s: %s", pi->model_name, fsk_skip_policy_name(p->policy));
    if (p->policy == FSK_SKIP_FFN)
        n += snprintf(line + n, sizeof line - (size_t)n, ", tau %.4g, span %u", p->threshold, p->span);
    snprintf(line + n, sizeof line - (size_t)n, ", cold %u+%u, warm-up %u", p->cold_first, p->cold_last,
             p->warmup);
    fprintf(f, "set title ");
    gp_string(f, line);
    fprintf(f, " . \"\\n%.1f%% of FFNs skipped after the warm-up (%zu tokens)\\ngrey with a red x: skipped%s%s\"\n",
            100.0 * pi->ratio, pi->n_policy, drawn & 1 ? "; dashed: end of the warm-up" : "",
            drawn & 2 ? "; dotted: cold layers" : "");
}

/* The colour bar: labelled in cos, drawn in -log10(1 - cos), tau marked on it. */
static void plot_colours(FILE *f, const fsk_skip_params *p)
{
    fprintf(f, "set cbrange [0:%g]\nset cblabel 'cos(h, h + FFN), log scale in 1 - cos' offset 1,0\n"
               "set cbtics out ('<= 0' 0, '0.5' %g, '0.8' %g, '0.9' 1, '0.95' %g, '0.97' %g, "
               "'0.99' 2, '>= 0.999' 3)\n",
            PLOT_TOP, nines(0.5), nines(0.8), nines(0.95), nines(0.97));
    if (p->policy == FSK_SKIP_FFN)
        fprintf(f, "set cbtics add ('tau %.4g' %g)\n", p->threshold, nines(p->threshold));
    /* viridis-like, with most of its colours between 0.9 and 0.999, where the FFNs live:
     * dark for FFNs that turn the stream, bright where they barely do */
    fprintf(f, "set palette defined (0 '#30123b', 0.7 '#3b0f70', 1 '#31688e', 1.5 '#21918c', 2 '#5ec962', "
               "2.5 '#c8e020', 3 '#fde725')\nset rmargin 16\n");
}

static void plot_script(FILE *f, const char *out, const char *data, int svg, const struct trace *t,
                        const fsk_model *m, size_t first, const struct plot_info *pi)
{
    size_t cols = t->n - first;
    unsigned w = (unsigned)(cols * 18 + 260), h = t->n_layer * 16 + 300;
    w = w < 800 ? 800 : w > 4000 ? 4000 : w;
    h = h < 520 ? 520 : h > 3000 ? 3000 : h;
    plot_terminal(f, svg, w, h);
    fprintf(f, "set output ");
    gp_string(f, out);
    fprintf(f, "\nset xlabel %s\nset ylabel 'layer'\n",
            t->phase[first] == PH_PROMPT ? "'prompt token'" : "'token (warm-up, then under the policy)'");
    fprintf(f, "set xrange [-0.5:%zu.5]\nset yrange [-0.5:%u.5]\n", cols - 1, t->n_layer - 1);
    fprintf(f, "set ytics 0,%u out nomirror font ',9'\n", t->n_layer > 48 ? 4u : t->n_layer > 24 ? 2u : 1u);
    plot_xtics(f, t, m, first, cols);
    plot_colours(f, &pi->p);
    plot_title(f, pi, plot_marks(f, t, first, cols, &pi->p));
    fprintf(f, "unset key\nplot ");
    gp_string(f, data);
    fprintf(f, " using 1:2:3 with image, \\\n  '' using 1:($4 == 0 ? $2 : NaN):(0.5):(0.5) "
               "with boxxyerror fs solid 1.0 noborder lc rgb '#d9d9d9', \\\n"
               "  '' using 1:($4 == 0 ? $2 : NaN) with points pt 2 ps 0.7 lc rgb '#e41a1c'\n"
               "unset output\n");
}

/* Runs gnuplot on the script, its stdout sent to stderr (stdout may carry the CSV). */
static int spawn_gnuplot(const char *script)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    char *argv[] = {"gnuplot", (char *)script, NULL};
    pid_t pid;
    int e = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (e != 0) {
        fprintf(stderr, "%s profile: cannot run gnuplot: %s; install Debian's gnuplot-nox\n", prog, strerror(e));
        return EXIT_FAIL;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) {
            fprintf(stderr, "%s profile: waiting for gnuplot: %s\n", prog, strerror(errno));
            return EXIT_FAIL;
        }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "%s profile: gnuplot failed (status %d)\n", prog, status);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* A file in $TMPDIR for gnuplot to read; its name in *path (free it, unlink it). */
static FILE *temp_file(char **path, const char *what)
{
    const char *dir = getenv("TMPDIR");
    dir = dir && *dir ? dir : "/tmp";
    *path = malloc(strlen(dir) + 40);
    int fd = -1;
    if (*path) {
        sprintf(*path, "%s/ffnskip-profile-%s.XXXXXX", dir, what);
        fd = mkstemp(*path);
    }
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        fprintf(stderr, "%s profile: cannot create a temporary file in %s: %s\n", prog, dir, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(*path);
        }
        free(*path);
        *path = NULL;
    }
    return f;
}

static int render_plot(struct outfile *o, int svg, const struct trace *t, const fsk_model *m,
                       const struct plot_info *pi)
{
    size_t first = plot_first(t);
    char *data_path = NULL, *script_path = NULL;
    FILE *data = temp_file(&data_path, "data");
    FILE *script = data ? temp_file(&script_path, "script") : NULL;
    int rc = data && script ? EXIT_OK : EXIT_FAIL;
    if (rc == EXIT_OK) {
        int bad = write_plot_data(data, t, first) != 0;
        plot_script(script, o->tmp, data_path, svg, t, m, first, pi);
        bad |= ferror(script);
        bad |= fclose(data) != 0;
        bad |= fclose(script) != 0;
        data = script = NULL;
        if (bad) {
            fprintf(stderr, "%s profile: cannot write the plot's temporary files: %s\n", prog, strerror(errno));
            rc = EXIT_FAIL;
        }
    }
    if (rc == EXIT_OK)
        rc = spawn_gnuplot(script_path);
    struct stat sb;
    if (rc == EXIT_OK && (stat(o->tmp, &sb) != 0 || sb.st_size == 0)) {
        fprintf(stderr, "%s profile: gnuplot wrote nothing for %s\n", prog, o->path);
        rc = EXIT_FAIL;
    }
    if (data)
        fclose(data);
    if (script)
        fclose(script);
    if (data_path)
        unlink(data_path);
    if (script_path)
        unlink(script_path);
    free(data_path);
    free(script_path);
    return rc;
}

/* ------------------------------------------------------------------ the command */

static const char profile_help[] =
    "Usage: %s profile [-m MODEL] (-p PROMPT | -f FILE | --text FILE) [-n N] [--csv OUT.csv]\n"
    "                  [--plot OUT.png|OUT.svg] [--skip* options] [-t N]\n\n"
    "Record, for every token and every layer, the similarity cos(h, h + FFN) and whether the\n"
    "FFN ran, as the skip policy decided it. The prompt runs dense, the first --skip-warmup\n"
    "generated tokens run dense, then the policy acts (as in `run`); sampling is greedy unless\n"
    "--temp is given. With --text the text's own tokens are fed instead (teacher forcing): its\n"
    "first --skip-warmup tokens dense, then the policy, at most N tokens.\n\n"
    "  -p, --prompt TEXT   the prompt\n"
    "  -f, --file FILE     read the prompt from FILE\n"
    "      --text FILE     teacher-force the tokens of FILE instead of generating\n"
    "  -n N                tokens to generate, or of --text to feed (default 128)\n"
    "      --csv OUT       write the CSV to OUT ('-': stdout; the default when --plot is not given):\n"
    "                      token_index,position,token_id,token_text,phase,layer,similarity,ran\n"
    "                      phase is prompt, warmup or generated; similarity is empty where the\n"
    "                      FFN was skipped (ran 0)\n"
    "      --plot OUT      draw a heatmap of the similarity by layer and token, skipped FFNs in\n"
    "                      grey with a red x, to OUT.png or OUT.svg; needs gnuplot (Debian's\n"
    "                      gnuplot-nox)\n"
    "      --chat-template, --system TEXT   wrap the prompt as for run\n"
    "  Outputs are replaced only when complete; the generated text goes to stdout unless the CSV\n"
    "  does.\n\n"
    "%s\n%s";

static int has_arg(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], name))
            return 1;
    return 0;
}

static int plot_kind(const char *path, int *svg)
{
    size_t n = strlen(path);
    if (n > 4 && !strcasecmp(path + n - 4, ".png"))
        *svg = 0;
    else if (n > 4 && !strcasecmp(path + n - 4, ".svg"))
        *svg = 1;
    else
        return usage_error("profile", "--plot wants a file ending in .png or .svg, not '%s'", path);
    for (const char *c = path; *c; c++)
        if ((unsigned char)*c < 0x20)
            return usage_error("profile", "--plot: the file name has a control character");
    return EXIT_OK;
}

/* Checks the command line; returns EXIT_OK or an exit status. */
static int check_args(int argc, char **argv, struct opts *o, struct prof_opts *po, int *svg)
{
    memset(po, 0, sizeof *po);
    int rc = parse_opts_ex("profile", argc, argv, o, prof_extra, po);
    if (rc != EXIT_OK)
        return rc;
    if (!has_arg(argc, argv, "--temp"))
        o->sp.temperature = 0;
    if ((o->prompt != NULL) + (o->prompt_file != NULL) + (po->text != NULL) != 1)
        return usage_error("profile", "give exactly one of -p PROMPT, -f FILE or --text FILE");
    if (po->text && o->chat_template)
        return usage_error("profile", "--chat-template does not apply to --text");
    if (po->plot && (rc = plot_kind(po->plot, svg)) != EXIT_OK)
        return rc;
    if (po->csv && po->plot && strcmp(po->csv, "-") && !strcmp(po->csv, po->plot))
        return usage_error("profile", "--csv and --plot name the same file");
    if (!po->csv && !po->plot)
        po->csv = "-";
    if (po->plot && !has_gnuplot()) {
        fprintf(stderr, "%s profile: --plot needs gnuplot, which is not in PATH; install Debian's gnuplot-nox "
                        "(apt-get install gnuplot-nox)\n", prog);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* The prompt's text, through the chat template when asked; *owned is what to free. */
static fsk_status prompt_text(struct session *s, const struct opts *o, const char *prompt, char **owned,
                              fsk_error *err)
{
    *owned = NULL;
    if (!o->chat_template)
        return FSK_OK;
    fsk_chat_msg msgs[2];
    size_t n = 0, need = 0;
    if (o->system)
        msgs[n++] = (fsk_chat_msg){"system", o->system};
    msgs[n++] = (fsk_chat_msg){"user", prompt};
    fsk_chat_format(s->model, msgs, n, 1, NULL, 0, &need, NULL);
    *owned = malloc(need ? need : 1);
    if (!*owned)
        return FSK_ERR_NOMEM;
    return fsk_chat_format(s->model, msgs, n, 1, *owned, need, &need, err);
}

/* Skip ratio over the tokens the policy decided. */
static double policy_ratio(const struct trace *t, size_t *n_policy)
{
    size_t cells = 0, skipped = 0;
    *n_policy = 0;
    for (size_t i = 0; i < t->n; i++) {
        if (t->phase[i] != PH_GEN)
            continue;
        (*n_policy)++;
        for (uint32_t l = 0; l < t->n_layer; l++, cells++)
            skipped += !t->ran[i * t->n_layer + l];
    }
    return cells ? (double)skipped / (double)cells : 0.0;
}

struct job {
    struct opts o;
    struct prof_opts po;
    int svg;
    struct session s;
    struct trace t;
    struct outfile csv, plot;
    char *input; /* the prompt file's or --text's contents */
};

/* The generated text, so the user sees what was profiled (not when stdout carries the CSV). */
static void print_generated(const fsk_model *m, const int32_t *ids, size_t n)
{
    size_t need = 0;
    if (n == 0)
        return;
    fsk_detokenize(m, ids, n, NULL, 0, &need, NULL);
    char *out = malloc(need + 1);
    if (out && fsk_detokenize(m, ids, n, out, need + 1, &need, NULL) == FSK_OK)
        printf("%.*s\n", (int)need, out);
    free(out);
}

/* Tokenizes the input and decodes it, filling the trace. */
static fsk_status profile_run(struct job *j, fsk_error *err)
{
    const char *text = j->o.prompt ? j->o.prompt : j->input;
    char *templated = NULL;
    fsk_status st = prompt_text(&j->s, &j->o, text, &templated, err);
    int32_t *ids = NULL;
    size_t n = 0;
    if (st == FSK_OK)
        st = tokenize(j->s.model, templated ? templated : text, !j->o.chat_template, &ids, &n, err);
    free(templated);
    if (st == FSK_OK && n == 0) {
        st = FSK_ERR_INVALID_ARG;
        snprintf(err->message, sizeof err->message, "the %s is empty", j->po.text ? "text" : "prompt");
    }
    fsk_skip_params p;
    fsk_context_get_skip(j->s.ctx, &p);
    fsk_model_info info;
    fsk_model_get_info(j->s.model, &info);
    uint32_t n_ctx = fsk_context_n_ctx(j->s.ctx);
    if (st == FSK_OK && j->po.text) {
        n = n < (size_t)j->o.n_predict ? n : (size_t)j->o.n_predict;
        n = n < n_ctx ? n : n_ctx;
    }
    size_t cap = j->po.text ? n : n + (size_t)j->o.n_predict;
    int32_t *hist = NULL;
    if (st == FSK_OK && (!trace_init(&j->t, info.n_layer, cap) || !(hist = malloc((cap + 1) * sizeof *hist))))
        st = FSK_ERR_NOMEM;
    size_t n_hist = 0;
    if (st == FSK_OK && cap == 0) {
        st = FSK_ERR_INVALID_ARG;
        snprintf(err->message, sizeof err->message, "-n 0 leaves no tokens of the text to profile");
    }
    if (st == FSK_OK && j->po.text)
        st = run_text(&j->s, ids, n, p.warmup, &j->t, err);
    else if (st == FSK_OK)
        st = run_generation(&j->s, ids, n, (uint32_t)j->o.n_predict, p.warmup, &j->t, &n_hist, hist, err);
    if (st == FSK_OK && !j->po.text && strcmp(j->po.csv ? j->po.csv : "", "-"))
        print_generated(j->s.model, hist + n, n_hist - n);
    free(hist);
    free(ids);
    return st;
}

static int write_outputs(struct job *j)
{
    int rc = EXIT_OK;
    if (j->po.csv) {
        csv_write(j->csv.f, &j->t, j->s.model);
        rc = out_finish(&j->csv);
    }
    if (rc == EXIT_OK && j->po.plot) {
        struct plot_info pi;
        fsk_context_get_skip(j->s.ctx, &pi.p);
        char buf[4096];
        const char *path = j->o.model ? j->o.model : find_model(buf, sizeof buf);
        const char *slash = path ? strrchr(path, '/') : NULL;
        pi.model_name = slash ? slash + 1 : path ? path : "model";
        pi.ratio = policy_ratio(&j->t, &pi.n_policy);
        rc = render_plot(&j->plot, j->svg, &j->t, j->s.model, &pi);
    }
    /* both complete: only now do they replace what was there */
    if (rc == EXIT_OK && j->po.csv)
        rc = out_commit(&j->csv);
    if (rc == EXIT_OK && j->po.plot)
        rc = out_commit(&j->plot);
    return rc;
}

static void report(const struct job *j)
{
    size_t n_policy, counts[3] = {0, 0, 0};
    double ratio = policy_ratio(&j->t, &n_policy);
    for (size_t i = 0; i < j->t.n; i++)
        counts[j->t.phase[i]]++;
    fprintf(stderr, "profile: %zu tokens x %u layers (%zu prompt, %zu warm-up, %zu under the policy); "
                    "%.1f%% of those FFNs skipped\n",
            j->t.n, j->t.n_layer, counts[PH_PROMPT], counts[PH_WARMUP], counts[PH_GEN], 100.0 * ratio);
    if (j->po.csv && strcmp(j->po.csv, "-"))
        fprintf(stderr, "profile: wrote %s\n", j->po.csv);
    if (j->po.plot)
        fprintf(stderr, "profile: wrote %s\n", j->po.plot);
}

int cmd_profile(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf(profile_help, prog, run_options_help, cli_skip_help);
            return EXIT_OK;
        }
    struct job j;
    memset(&j, 0, sizeof j);
    int rc = check_args(argc, argv, &j.o, &j.po, &j.svg);
    if (rc != EXIT_OK)
        return rc;
    const char *file = j.o.prompt_file ? j.o.prompt_file : j.po.text;
    if (file && !(j.input = read_file(file, "profile")))
        return EXIT_INPUT;
    if (j.po.csv && (rc = out_open(&j.csv, j.po.csv, 1)) != EXIT_OK) {
        free(j.input);
        return rc;
    }
    if (j.po.plot && (rc = out_open(&j.plot, j.po.plot, 0)) != EXIT_OK) {
        out_abort(&j.csv);
        free(j.input);
        return rc;
    }
    if ((rc = session_begin("profile", &j.o, &j.s)) == EXIT_OK) {
        fsk_error err;
        fsk_status st = profile_run(&j, &err);
        if (st != FSK_OK) {
            fprintf(stderr, "%s profile: %s\n", prog, st == FSK_ERR_NOMEM ? "out of memory" : err.message);
            rc = exit_for(st);
        } else if ((rc = write_outputs(&j)) == EXIT_OK && j.o.show_stats) {
            report(&j);
            cli_skip_report(j.s.ctx);
        }
        session_end(&j.s);
    }
    out_abort(&j.csv);
    out_abort(&j.plot);
    trace_free(&j.t);
    free(j.input);
    return rc;
}

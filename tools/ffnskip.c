/* ffnskip.c: the command-line tool; each subcommand is a thin layer over the public API. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ffnskip.h"

/* Exit statuses, documented in ffnskip(1). */
enum {
    EXIT_OK = 0,
    EXIT_FAIL = 1,  /* the job ran and failed (a self-test mismatch, an I/O error) */
    EXIT_USAGE = 2, /* bad command line */
    EXIT_INPUT = 3  /* bad input: a malformed model, an over-long prompt */
};

static const char *prog = "ffnskip";

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s COMMAND [OPTIONS]\n"
            "\n"
            "Decode LLaMA-family GGUF models on the CPU, skipping feed-forward blocks that would\n"
            "barely change the hidden state (FFN-SkipLLM).\n"
            "\n"
            "Commands:\n"
            "  info       show the CPU features found and the kernel variant chosen for each op\n"
            "  selftest   check every chosen kernel against the scalar reference\n"
            "\n"
            "Options:\n"
            "  -h, --help     show this help (also after a command: ffnskip info --help)\n"
            "  -V, --version  show the version\n"
            "\n"
            "Environment:\n"
            "  FSK_ISA=ref|avx2|avx512|neon  force a kernel variant (an error if the CPU lacks it)\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage error, 3 bad input.\n",
            prog);
}

static int want_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

static int no_extra_args(const char *cmd, int argc, char **argv)
{
    if (argc > 1) {
        fprintf(stderr, "%s %s: unexpected argument '%s' (see '%s %s --help')\n", prog, cmd, argv[1],
                prog, cmd);
        return 0;
    }
    return 1;
}

static int cmd_info(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        printf("Usage: %s info\n\nPrint the version, the CPU features found, which kernel variants\n"
               "this build and CPU can use, and the variant chosen for each op.\n",
               prog);
        return EXIT_OK;
    }
    if (!no_extra_args("info", argc, argv))
        return EXIT_USAGE;
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
    return EXIT_OK;
}

static int cmd_selftest(int argc, char **argv)
{
    if (want_help(argc, argv)) {
        printf("Usage: %s selftest\n\nRun every op of the chosen kernel table against the scalar\n"
               "reference on random inputs; exit 1 on any disagreement.\n",
               prog);
        return EXIT_OK;
    }
    if (!no_extra_args("selftest", argc, argv))
        return EXIT_USAGE;
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
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ffnskip %s\n", fsk_version());
        return EXIT_OK;
    }
    if (strcmp(cmd, "info") == 0)
        return cmd_info(argc - 1, argv + 1);
    if (strcmp(cmd, "selftest") == 0)
        return cmd_selftest(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s' (see '%s --help')\n", prog, cmd, prog);
    return EXIT_USAGE;
}

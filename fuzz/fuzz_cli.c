/* fuzz_cli.c: libFuzzer target: any bytes as a command line (arguments separated by NUL or newline)
 * through the option parsers of run and calibrate. Parsing reads no file and loads no model; the
 * parsers print usage errors, which the fuzz script silences (-close_fd_mask=2). */
#include "config.h"

#include <string.h>

#include "cli.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char **argv[])
{
    (void)argc;
    (void)argv;
    return 0;
}

enum { MAX_ARGS = 64 };

/* Splits a copy of the input into argv[1..]; argv[0] is the command's name. */
static int split(char *buf, size_t size, const char *cmd, char **argv)
{
    int argc = 0;
    argv[argc++] = (char *)cmd;
    char *p = buf, *end = buf + size;
    while (p <= end && argc < MAX_ARGS) {
        char *q = p;
        while (q < end && *q != '\0' && *q != '\n')
            q++;
        *q = '\0';
        argv[argc++] = p;
        p = q + 1;
    }
    argv[argc] = NULL;
    return argc;
}

static void check_opts(const struct opts *o, int rc)
{
    if (rc != EXIT_OK) {
        FUZZ_CHECK(rc == EXIT_USAGE);
        return;
    }
    FUZZ_CHECK(o->n_predict >= 0 && o->n_predict <= (1 << 24));
    FUZZ_CHECK(o->threads >= 0 && o->threads <= 1024);
    FUZZ_CHECK(o->n_ctx >= 0 && o->n_ctx <= (1 << 24));
    FUZZ_CHECK(o->sp.temperature >= 0 && o->sp.temperature <= 100);
    FUZZ_CHECK(!(o->sp.top_p < 1e-6f) && o->sp.top_p <= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *cmd = data[0] & 1 ? "calibrate" : "run";
    char *buf = malloc(size); /* the command byte's room holds the last terminator */
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data + 1, size - 1);
    char *argv[MAX_ARGS + 1];
    int argc = split(buf, size - 1, cmd, argv);
    struct opts o;
    if (data[0] & 1) {
        struct cal_opts c;
        int rc = calibrate_parse(argc, argv, &o, &c);
        check_opts(&o, rc);
        if (rc == EXIT_OK) {
            FUZZ_CHECK(c.text != NULL && c.n_spans >= 1 && c.n_spans <= 16);
            FUZZ_CHECK(c.target >= 0 && c.target <= 0.95f && c.window >= 8 && c.tokens >= 8);
        }
    } else {
        check_opts(&o, parse_opts("run", argc, argv, &o));
    }
    free(buf);
    return 0;
}

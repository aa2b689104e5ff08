/* fuzz_profile.c: libFuzzer target: any bytes as a skip profile file, loaded with
 * fsk_skip_profile_load; what loads is checked against models of a few depths, saved, and must
 * load back and save to the same text (save/load is a fixed point after one round). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "skip.h"

static char dir[64], in_path[96], out1[96], out2[96];

static void cleanup(void)
{
    unlink(in_path);
    unlink(out1);
    unlink(out2);
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/fsk-fuzz-XXXXXX", tmp && strlen(tmp) < 32 ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("fuzz_profile: mkdtemp");
        exit(1);
    }
    snprintf(in_path, sizeof in_path, "%s/in.profile", dir);
    snprintf(out1, sizeof out1, "%s/out1.profile", dir);
    snprintf(out2, sizeof out2, "%s/out2.profile", dir);
    atexit(cleanup);
    return 0;
}

static void write_all(const char *path, const uint8_t *data, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FUZZ_CHECK(fd >= 0);
    while (size > 0) {
        ssize_t k = write(fd, data, size);
        FUZZ_CHECK(k > 0 || (k < 0 && errno == EINTR));
        if (k > 0) {
            data += k;
            size -= (size_t)k;
        }
    }
    FUZZ_CHECK(close(fd) == 0);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    FUZZ_CHECK(f != NULL);
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    FUZZ_CHECK(buf != NULL);
    *len = fread(buf, 1, cap, f);
    FUZZ_CHECK(*len < cap && !ferror(f));
    fclose(f);
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_all(in_path, data, size);
    fsk_skip_params p;
    fsk_skip_default_params(&p);
    fsk_error err;
    fsk_status st = fsk_skip_profile_load(in_path, &p, &err);
    if (st != FSK_OK) {
        FUZZ_CHECK(st == FSK_ERR_FORMAT || st == FSK_ERR_IO);
        FUZZ_CHECK_MESSAGE(err);
        return 0;
    }
    static const uint32_t depths[] = {1, 8, 30, FSK_MAX_LAYERS};
    for (size_t i = 0; i < sizeof depths / sizeof *depths; i++) {
        struct fsk_skip_cfg cfg;
        if (fsk_skip_configure(&cfg, &p, depths[i], &err) != FSK_OK)
            FUZZ_CHECK_MESSAGE(err);
        else
            FUZZ_CHECK(cfg.r0 <= cfg.r1 && cfg.r1 <= depths[i]);
    }
    if (p.n_profile) {
        struct fsk_skip_cfg cfg;
        if (fsk_skip_configure(&cfg, &p, p.n_profile, &err) != FSK_OK)
            FUZZ_CHECK_MESSAGE(err);
    }
    FUZZ_CHECK(fsk_skip_profile_save(out1, &p, "fuzz\nround trip", &err) == FSK_OK);
    fsk_skip_params q;
    fsk_skip_default_params(&q);
    st = fsk_skip_profile_load(out1, &q, &err);
    if (st != FSK_OK)
        fprintf(stderr, "fuzz_profile: a saved profile does not load: %s\n", err.message);
    FUZZ_CHECK(st == FSK_OK);
    FUZZ_CHECK(fsk_skip_profile_save(out2, &q, "fuzz\nround trip", &err) == FSK_OK);
    size_t n1, n2;
    char *a = slurp(out1, &n1), *b = slurp(out2, &n2);
    FUZZ_CHECK(n1 == n2 && memcmp(a, b, n1) == 0);
    free(a);
    free(b);
    return 0;
}

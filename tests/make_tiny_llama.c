/* make_tiny_llama.c: test helper program: writes a tiny loadable llama GGUF (tests/tiny_llama.h),
 * or prints where each section of a GGUF file ends, for the hostile-input tests. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "tiny_llama.h"

static int usage(void)
{
    fprintf(stderr, "Usage: make_tiny_llama [--f16] [--tied] [--nan] [--layers N] [--embd N] [--ctx N] OUT\n"
                    "       make_tiny_llama --sections FILE\n");
    return 2;
}

struct rd {
    FILE *f;
    long pos;
    int bad;
};

static uint64_t rd_le(struct rd *r, int n)
{
    unsigned char b[8] = {0};
    if (r->bad || fread(b, 1, (size_t)n, r->f) != (size_t)n)
        r->bad = 1;
    r->pos += n;
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static void rd_skip(struct rd *r, uint64_t n)
{
    if (r->bad || n > (1ull << 40) || fseek(r->f, (long)n, SEEK_CUR) != 0)
        r->bad = 1;
    r->pos += (long)n;
}

static void skip_value(struct rd *r, uint32_t t)
{
    static const int size[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    if (t == 8) {
        rd_skip(r, rd_le(r, 8));
    } else if (t == 9) {
        uint32_t et = (uint32_t)rd_le(r, 4);
        uint64_t n = rd_le(r, 8);
        if (et == 8)
            for (uint64_t i = 0; i < n && !r->bad; i++)
                rd_skip(r, rd_le(r, 8));
        else if (et < 13 && size[et])
            rd_skip(r, n * (uint64_t)size[et]);
        else
            r->bad = 1;
    } else if (t < 13 && size[t]) {
        rd_skip(r, (uint64_t)size[t]);
    } else {
        r->bad = 1;
    }
}

/* Offsets just past the header, the metadata, the tensor infos; the data start; the size. */
static int sections(const char *path)
{
    struct rd r = {fopen(path, "rb"), 0, 0};
    if (!r.f) {
        perror(path);
        return 1;
    }
    rd_skip(&r, 8);
    uint64_t nt = rd_le(&r, 8), nkv = rd_le(&r, 8), align = 32;
    long header = r.pos;
    for (uint64_t i = 0; i < nkv && !r.bad; i++) {
        uint64_t klen = rd_le(&r, 8);
        char key[32] = "";
        if (klen < sizeof key) {
            if (fread(key, 1, (size_t)klen, r.f) != klen)
                r.bad = 1;
            r.pos += (long)klen;
        } else {
            rd_skip(&r, klen);
        }
        uint32_t t = (uint32_t)rd_le(&r, 4);
        if (!strcmp(key, "general.alignment") && t == 4)
            align = rd_le(&r, 4);
        else
            skip_value(&r, t);
    }
    long kv = r.pos;
    for (uint64_t i = 0; i < nt && !r.bad; i++) {
        rd_skip(&r, rd_le(&r, 8));
        rd_skip(&r, 8 * rd_le(&r, 4));
        rd_skip(&r, 12);
    }
    long infos = r.pos, data = (long)((infos + align - 1) / align * align);
    fseek(r.f, 0, SEEK_END);
    long end = ftell(r.f);
    fclose(r.f);
    if (r.bad || align == 0) {
        fprintf(stderr, "%s: cannot walk this GGUF\n", path);
        return 1;
    }
    printf("header %ld\nmetadata %ld\ntensor_infos %ld\ndata %ld\nend %ld\n", header, kv, infos, data, end);
    return 0;
}

int main(int argc, char **argv)
{
    struct tiny_llama o;
    tiny_llama_defaults(&o);
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--sections") && i + 1 < argc)
            return sections(argv[i + 1]);
        if (!strcmp(a, "--f16"))
            o.type = FSK_TYPE_F16;
        else if (!strcmp(a, "--tied"))
            o.tied = 1;
        else if (!strcmp(a, "--nan"))
            o.nan_weight = 1;
        else if (!strcmp(a, "--layers") && i + 1 < argc)
            o.n_layer = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--embd") && i + 1 < argc)
            o.n_embd = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--ctx") && i + 1 < argc)
            o.n_ctx = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (a[0] != '-' && !out)
            out = a;
        else
            return usage();
    }
    if (!out || o.n_layer == 0 || o.n_embd == 0 || o.n_embd % o.n_head)
        return usage();
    size_t n;
    uint8_t *p = tiny_llama_gguf(&o, &n);
    FILE *f = fopen(out, "wb");
    int bad = !f || fwrite(p, 1, n, f) != n;
    if (f && fclose(f) != 0)
        bad = 1;
    free(p);
    if (bad) {
        perror(out);
        return 1;
    }
    return 0;
}

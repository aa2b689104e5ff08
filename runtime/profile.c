/* profile.c: the skip profile file that `ffnskip calibrate` writes and run, chat and eval load.
 *
 * Format (text, one setting per line, '#' starts a comment):
 *   ffnskip-profile 1            first line, the format version
 *   policy ffn-skip              any policy name
 *   threshold 0.9412             tau (ffn-skip) or the confidence (early-exit)
 *   warmup 4                     dense generated tokens before skipping starts
 *   cold 3 2                     layers never skipped at the start and at the end
 *   span 0                       0: skip to the end of the region; k: skip k, test again
 *   target 0.25                  the skip ratio calibration aimed for
 *   seed 1                       ffn-random's seed
 *   layers 12 13 17              ffn-static / layer-drop: the skipped layers
 *   similarity 0.41 0.63 ...     mean cos(h, h + FFN) per layer on the calibration text
 */
#include "config.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ffnskip.h"

static fsk_status perr(fsk_error *err, fsk_status st, const char *path, unsigned line, const char *what)
{
    if (err) {
        err->status = st;
        if (line)
            snprintf(err->message, sizeof err->message, "%s:%u: %s", path, line, what);
        else
            snprintf(err->message, sizeof err->message, "%s: %s", path, what);
    }
    return st;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v > 0xffffffffu)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

static int parse_f32(const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || fabs(v) > FLT_MAX) /* finite as a float too */
        return 0;
    *out = (float)v;
    return 1;
}

/* One "key values..." line; returns NULL or what is wrong with it. */
static const char *apply(fsk_skip_params *p, char *key, char *rest)
{
    char *save, *v = strtok_r(rest, " \t", &save);
    uint32_t u;
    if (!strcmp(key, "policy"))
        return v && fsk_skip_policy_parse(v, &p->policy) == FSK_OK ? NULL : "unknown policy";
    if (!strcmp(key, "threshold"))
        return v && parse_f32(v, &p->threshold) ? NULL : "threshold wants a number";
    if (!strcmp(key, "target"))
        return v && parse_f32(v, &p->target) && p->target >= 0 && p->target <= 1 ? NULL
                                                                                 : "target wants a number in [0, 1]";
    if (!strcmp(key, "warmup"))
        return v && parse_u32(v, &p->warmup) ? NULL : "warmup wants a count";
    if (!strcmp(key, "span"))
        return v && parse_u32(v, &p->span) ? NULL : "span wants a count";
    if (!strcmp(key, "seed")) {
        char *end;
        errno = 0;
        unsigned long long s = v ? strtoull(v, &end, 10) : 0;
        if (!v || errno || *end || v[0] == '-')
            return "seed wants a non-negative integer";
        p->seed = s;
        return NULL;
    }
    if (!strcmp(key, "cold")) {
        char *w = strtok_r(NULL, " \t", &save);
        uint32_t a, b;
        if (!v || !w || !parse_u32(v, &a) || !parse_u32(w, &b) || a > FSK_MAX_LAYERS || b > FSK_MAX_LAYERS)
            return "cold wants two layer counts";
        p->cold_first = a;
        p->cold_last = b;
        return NULL;
    }
    if (!strcmp(key, "layers")) {
        memset(p->layers, 0, sizeof p->layers);
        for (; v; v = strtok_r(NULL, " \t", &save)) {
            if (!parse_u32(v, &u) || u >= FSK_MAX_LAYERS)
                return "layers wants layer numbers below 256";
            p->layers[u] = 1;
        }
        return NULL;
    }
    if (!strcmp(key, "similarity")) {
        uint32_t n = 0;
        for (; v; v = strtok_r(NULL, " \t", &save)) {
            if (n >= FSK_MAX_LAYERS || !parse_f32(v, &p->profile[n]))
                return "similarity wants at most 256 finite numbers";
            n++;
        }
        p->n_profile = n;
        return NULL;
    }
    return "unknown setting";
}

FSK_API fsk_status fsk_skip_profile_load(const char *path, fsk_skip_params *p, fsk_error *err)
{
    if (!path || !p)
        return perr(err, FSK_ERR_INVALID_ARG, path ? path : "(null)", 0, "NULL argument");
    FILE *f = fopen(path, "r");
    if (!f)
        return perr(err, FSK_ERR_IO, path, 0, strerror(errno));
    char line[16384]; /* what save writes: 256 similarities of up to 47 characters */
    unsigned no = 0;
    fsk_skip_params q = *p;
    fsk_status st = FSK_OK;
    while (fgets(line, sizeof line, f)) {
        no++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            st = perr(err, FSK_ERR_FORMAT, path, no, "line too long");
            break;
        }
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *save, *key = strtok_r(line, " \t\r\n", &save);
        if (no == 1) {
            char *ver = key ? strtok_r(NULL, " \t\r\n", &save) : NULL;
            if (!key || strcmp(key, "ffnskip-profile") || !ver || strcmp(ver, "1")) {
                st = perr(err, FSK_ERR_FORMAT, path, no, "not an ffnskip profile (want 'ffnskip-profile 1')");
                break;
            }
            continue;
        }
        if (!key)
            continue;
        char *rest = strtok_r(NULL, "\r\n", &save);
        const char *why = apply(&q, key, rest ? rest : (char[]){""});
        if (why) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s: %s", key, why);
            st = perr(err, FSK_ERR_FORMAT, path, no, msg);
            break;
        }
    }
    if (st == FSK_OK && ferror(f))
        st = perr(err, FSK_ERR_IO, path, 0, "read error");
    if (st == FSK_OK && no == 0)
        st = perr(err, FSK_ERR_FORMAT, path, 0, "empty file");
    fclose(f);
    if (st == FSK_OK)
        *p = q;
    return st;
}

FSK_API fsk_status fsk_skip_profile_save(const char *path, const fsk_skip_params *p, const char *comment,
                                         fsk_error *err)
{
    if (!path || !p)
        return perr(err, FSK_ERR_INVALID_ARG, path ? path : "(null)", 0, "NULL argument");
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp)
        return perr(err, FSK_ERR_NOMEM, path, 0, "out of memory");
    snprintf(tmp, n + 16, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fsk_status st = perr(err, FSK_ERR_IO, path, 0, strerror(errno));
        free(tmp);
        return st;
    }
    /* mkstemp makes the file 0600; give it the mode a plain fopen would have */
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        fsk_status st = perr(err, FSK_ERR_IO, path, 0, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return st;
    }
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        unlink(tmp);
        free(tmp);
        return perr(err, FSK_ERR_IO, path, 0, strerror(errno));
    }
    fprintf(f, "ffnskip-profile 1\n");
    if (comment)
        for (const char *c = comment; *c;) {
            size_t k = strcspn(c, "\n");
            fprintf(f, "# %.*s\n", (int)k, c);
            c += k + (c[k] == '\n');
        }
    fprintf(f, "policy %s\nthreshold %.6f\nwarmup %u\ncold %u %u\nspan %u\ntarget %.4f\nseed %llu\n",
            fsk_skip_policy_name(p->policy), p->threshold, p->warmup, p->cold_first, p->cold_last, p->span,
            p->target, (unsigned long long)p->seed);
    int any = 0;
    for (int l = 0; l < FSK_MAX_LAYERS; l++)
        if (p->layers[l])
            fprintf(f, "%s %d", any++ ? "" : "layers", l);
    if (any)
        fprintf(f, "\n");
    if (p->n_profile) {
        fprintf(f, "similarity");
        for (uint32_t l = 0; l < p->n_profile; l++)
            fprintf(f, " %.5f", p->profile[l]);
        fprintf(f, "\n");
    }
    int bad = ferror(f);
    bad |= fflush(f) != 0;
    bad |= fsync(fileno(f)) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fsk_status st = perr(err, FSK_ERR_IO, path, 0, strerror(errno ? errno : EIO));
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return FSK_OK;
}

/* tokenizer.c: GGUF tokenizers exactly as llama.cpp: byte-level BPE (pre-tokenized, merged by
 * rank) and SentencePiece BPE (spaces as U+2581, merged by score, byte fallback). */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"
#include "unicode_tables.h"

/* The pre-tokenizer families: each is one of llama.cpp's lists of split expressions, applied in
 * turn, each splitting the pieces the one before produced. */
enum pre {
    PRE_DEFAULT,   /* [\p{P}$+<=>^~|]+ ; GPT-2 ; \p{N}+ ; [0-9][0-9][0-9] */
    PRE_GPT2,      /* GPT-2 */
    PRE_STARCODER, /* \p{N} (every digit alone) ; GPT-2 */
    PRE_LLAMA3     /* llama3 (digits in threes, any-case contractions); whole-word tokens first */
};

static const struct {
    const char *name;
    enum pre pre;
} pre_names[] = {
    {"default", PRE_DEFAULT},  {"gpt2", PRE_GPT2},           {"gpt-2", PRE_GPT2},
    {"phi-2", PRE_GPT2},       {"mpt", PRE_GPT2},            {"olmo", PRE_GPT2},
    {"jais", PRE_GPT2},        {"starcoder", PRE_STARCODER}, {"smollm", PRE_STARCODER},
    {"refact", PRE_STARCODER}, {"command-r", PRE_STARCODER}, {"codeshell", PRE_STARCODER},
    {"exaone", PRE_STARCODER}, {"minerva-7b", PRE_STARCODER}, {"llama3", PRE_LLAMA3},
    {"llama-v3", PRE_LLAMA3},  {"llama-bpe", PRE_LLAMA3},    {"falcon3", PRE_LLAMA3},
    {"pixtral", PRE_LLAMA3},
};

static const char *const pre_family[] = {"default", "gpt2", "starcoder", "llama3"};

/* Texts llama.cpp takes for end of generation (and forces to control type). */
static const char *const eog_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
    "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>",
};
#define FULL_BAR "\xef\xbd\x9c" /* U+FF5C, DeepSeek's fullwidth bar */
#define LOW_BAR "\xe2\x96\x81"   /* U+2581, SentencePiece's space */
/* Texts for the end-of-turn id when the file names none, in order of preference (llama.cpp takes
 * whichever its hash map yields first). */
static const char *const eot_texts[] = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "<" FULL_BAR "end" LOW_BAR "of" LOW_BAR "sentence" FULL_BAR ">",
    "<end_of_utterance>", NULL,
};
/* Fill-in-the-middle tokens, found by text: all become control; pad, repo and file separator
 * also end generation. */
static const char *const fim_eog_texts[][6] = {
    {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", NULL},
    {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>", NULL},
    {"<|file_sep|>", NULL},
};
static const char *const fim_other_texts[][8] = {
    {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>",
     "<" FULL_BAR "fim" LOW_BAR "begin" FULL_BAR ">", "<PRE>", LOW_BAR "<PRE>", "<|code_prefix|>",
     NULL},
    {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>",
     "<" FULL_BAR "fim" LOW_BAR "hole" FULL_BAR ">", "<SUF>", LOW_BAR "<SUF>", "<|code_suffix|>",
     NULL},
    {"<|fim_middle|>", "<fim-middle>", "<fim_middle>",
     "<" FULL_BAR "fim" LOW_BAR "end" FULL_BAR ">", "<MID>", LOW_BAR "<MID>", "<|code_middle|>",
     NULL},
};

#define N_OF(a) (sizeof(a) / sizeof *(a))

struct merge {
    size_t off;          /* into merge_text: left, then right at off + left_len + 1 */
    uint32_t left_len, right_len;
};

struct fsk_tokenizer {
    uint32_t n_vocab;
    char *text;          /* every token's stored text, back to back */
    size_t *text_off;    /* n_vocab + 1 */
    char *piece;         /* every token's bytes (special rendering), back to back */
    size_t *piece_off;   /* n_vocab + 1 */
    uint8_t *type;       /* enum fsk_token_type, after llama.cpp's overrides */
    uint8_t *eog;
    uint32_t *tok_slot;  /* open addressing: id + 1, 0 empty */
    size_t tok_mask;
    char *merge_text;
    struct merge *merges; /* rank = index */
    size_t n_merges;
    uint32_t *merge_slot; /* rank + 1, 0 empty */
    size_t merge_mask;
    int32_t *special;    /* control / user-defined / unknown ids, longest text first */
    size_t n_special;
    size_t max_piece;
    enum pre pre;
    int spm;             /* SentencePiece ("llama") rather than byte-level BPE ("gpt2") */
    float *score;        /* spm: per token */
    int32_t byte_tok[256]; /* spm: each byte's fallback token, -1 none */
    int32_t bos, eos, eot, unk, pad;
    int add_bos;
    int add_space_prefix;
    uint8_t ascii_flags[128];
    char byte_enc[256][2]; /* GPT-2's byte -> printable code point, as UTF-8 */
    uint8_t byte_enc_len[256];
    int16_t byte_dec[324]; /* code point -> byte, -1 where none */
};

__attribute__((format(printf, 3, 4))) static fsk_status fail(fsk_error *err, fsk_status st, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->status = st;
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return st;
}

/* ------------------------------------------------------------------ code points */

enum { CP_LETTER = 1, CP_NUMBER = 2, CP_PUNCT = 4, CP_SPACE = 8, CP_IN = 16 };
#define CP_OUT 0xFFFFFFFFu /* what a position past the chunk reads as */

static unsigned uclass(uint32_t c)
{
    size_t lo = 0, hi = FSK_UCLASS_RANGES; /* find the last range starting at or before c */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if ((fsk_uclass_ranges[mid] >> 2) <= c)
            lo = mid;
        else
            hi = mid;
    }
    return fsk_uclass_ranges[lo] & 3;
}

static int is_white(uint32_t c)
{
    for (size_t i = 0; i < FSK_WHITESPACE_COUNT; i++)
        if (fsk_whitespace[i] == c)
            return 1;
    return 0;
}

static uint8_t cp_flags_slow(uint32_t c)
{
    static const uint8_t by_class[4] = {0, CP_LETTER, CP_NUMBER, CP_PUNCT};
    return (uint8_t)(CP_IN | by_class[uclass(c)] | (is_white(c) ? CP_SPACE : 0));
}

static uint8_t cp_flags(const fsk_tokenizer *t, uint32_t c)
{
    return c < 128 ? t->ascii_flags[c] : cp_flags_slow(c);
}

/* One code point at s[*i], read as llama.cpp reads it: lead bytes are trusted for the length,
 * continuations only checked for their top bits (so overlong forms and surrogates pass); anything
 * else is U+FFFD for one byte. Values past U+10FFFF, which llama.cpp cannot re-encode and throws
 * on, are U+FFFD for one byte too. */
static uint32_t next_cp(const unsigned char *s, size_t n, size_t *i)
{
    size_t k = *i;
    unsigned b = s[k], need;
    uint32_t c;
    if (b < 0x80) {
        *i = k + 1;
        return b;
    }
    if (!(b & 0x40))
        goto bad;
    if (!(b & 0x20)) {
        need = 1;
        c = b & 0x1f;
    } else if (!(b & 0x10)) {
        need = 2;
        c = b & 0x0f;
    } else if (!(b & 0x08)) {
        need = 3;
        c = b & 0x07;
    } else {
        goto bad;
    }
    if (k + need >= n)
        goto bad;
    for (unsigned j = 1; j <= need; j++) {
        if ((s[k + j] & 0xc0) != 0x80)
            goto bad;
        c = c << 6 | (s[k + j] & 0x3f);
    }
    if (c > 0x10FFFF)
        goto bad;
    *i = k + 1 + need;
    return c;
bad:
    *i = k + 1;
    return 0xFFFD;
}

/* Shortest UTF-8 of c (surrogates included, as llama.cpp writes them); returns the length. */
static unsigned put_utf8(uint32_t c, unsigned char *o)
{
    if (c < 0x80) {
        o[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        o[0] = (unsigned char)(0xc0 | c >> 6);
        o[1] = (unsigned char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        o[0] = (unsigned char)(0xe0 | c >> 12);
        o[1] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
        o[2] = (unsigned char)(0x80 | (c & 0x3f));
        return 3;
    }
    o[0] = (unsigned char)(0xf0 | c >> 18);
    o[1] = (unsigned char)(0x80 | (c >> 12 & 0x3f));
    o[2] = (unsigned char)(0x80 | (c >> 6 & 0x3f));
    o[3] = (unsigned char)(0x80 | (c & 0x3f));
    return 4;
}

/* GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68 bytes take
 * U+0100.. in byte order. */
static void init_byte_maps(fsk_tokenizer *t)
{
    unsigned n = 0;
    for (unsigned i = 0; i < N_OF(t->byte_dec); i++)
        t->byte_dec[i] = -1;
    for (unsigned b = 0; b < 256; b++) {
        int self = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
        uint32_t c = self ? b : 256 + n++;
        unsigned char u[4];
        t->byte_enc_len[b] = (uint8_t)put_utf8(c, u);
        memcpy(t->byte_enc[b], u, t->byte_enc_len[b]);
        t->byte_dec[c] = (int16_t)b;
    }
    for (uint32_t c = 0; c < 128; c++)
        t->ascii_flags[c] = cp_flags_slow(c);
}

/* ------------------------------------------------------------------ hashing */

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ull

static size_t pow2_at_least(size_t n)
{
    size_t p = 16;
    while (p < n)
        p *= 2;
    return p;
}

static const char *tok_text(const fsk_tokenizer *t, uint32_t id, size_t *len)
{
    *len = t->text_off[id + 1] - t->text_off[id];
    return t->text + t->text_off[id];
}

/* The slot holding text, or the empty slot where it would go. */
static size_t tok_probe(const fsk_tokenizer *t, const char *s, size_t n)
{
    size_t i = (size_t)fnv(FNV_INIT, s, n) & t->tok_mask;
    for (; t->tok_slot[i]; i = (i + 1) & t->tok_mask) {
        size_t len;
        const char *x = tok_text(t, t->tok_slot[i] - 1, &len);
        if (len == n && memcmp(x, s, n) == 0)
            break;
    }
    return i;
}

static int32_t tok_find(const fsk_tokenizer *t, const char *s, size_t n)
{
    uint32_t v = t->tok_slot[tok_probe(t, s, n)];
    return v ? (int32_t)(v - 1) : -1;
}

static uint64_t pair_hash(const char *a, size_t an, const char *b, size_t bn)
{
    return fnv(fnv(FNV_INIT, a, an) * 31 + an, b, bn);
}

static size_t merge_probe(const fsk_tokenizer *t, const char *a, size_t an, const char *b,
                          size_t bn)
{
    size_t i = (size_t)pair_hash(a, an, b, bn) & t->merge_mask;
    for (; t->merge_slot[i]; i = (i + 1) & t->merge_mask) {
        const struct merge *m = &t->merges[t->merge_slot[i] - 1];
        const char *x = t->merge_text + m->off;
        if (m->left_len == an && m->right_len == bn && memcmp(x, a, an) == 0 &&
            memcmp(x + an + 1, b, bn) == 0)
            break;
    }
    return i;
}

/* The rank of merging a with b, or -1. */
static int32_t merge_rank(const fsk_tokenizer *t, const char *a, size_t an, const char *b,
                          size_t bn)
{
    uint32_t v = t->merge_slot[merge_probe(t, a, an, b, bn)];
    return v ? (int32_t)(v - 1) : -1;
}

/* ------------------------------------------------------------------ pre-tokenizers */

/* One piece of the previous stage's output: positions [ini, end) of the fragment's code points.
 * Reads past end see no code point and no flags, as in llama.cpp (so \s+(?!\S) stops at a piece's
 * edge). */
struct chunk {
    const uint32_t *cp;
    const uint8_t *fl;
    size_t end;
};

/* Where pieces go: lengths in code points. */
struct pieces {
    uint32_t *len;
    size_t n;
    size_t prev; /* where the next piece starts */
};

static uint8_t fl_at(const struct chunk *c, size_t p)
{
    return p < c->end ? c->fl[p] : 0;
}

static uint32_t cp_at(const struct chunk *c, size_t p)
{
    return p < c->end ? c->cp[p] : CP_OUT;
}

/* Ends the current piece at end (nothing when empty); returns end. */
static size_t emit(struct pieces *o, size_t end)
{
    if (end > o->prev)
        o->len[o->n++] = (uint32_t)(end - o->prev);
    o->prev = end;
    return end;
}

static uint32_t fold(uint32_t c, int ci)
{
    return ci && c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* 's 't 're 've 'm 'll 'd at pos (ASCII case-insensitive when ci): its length, else 0. */
static size_t contraction(const struct chunk *c, size_t pos, int ci)
{
    if (c->cp[pos] != '\'' || pos + 1 >= c->end)
        return 0;
    uint32_t a = fold(c->cp[pos + 1], ci);
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if (pos + 2 >= c->end)
        return 0;
    uint32_t b = fold(c->cp[pos + 2], ci);
    return (a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l') ? 3 : 0;
}

/* [^\s\p{L}\p{N}] and inside the chunk. */
static int is_other(uint8_t f)
{
    return f && !(f & (CP_SPACE | CP_LETTER | CP_NUMBER));
}

/* Whitespace at pos: \s+(?!\S) keeps the last blank for the next word when more follows. */
static size_t blank_run(const struct chunk *c, size_t pos)
{
    size_t n = 0;
    while (fl_at(c, pos + n) & CP_SPACE)
        n++;
    if (n > 1 && pos + n < c->end)
        return pos + n - 1;
    return pos + (n ? n : 1);
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static void split_gpt2(const struct chunk *c, size_t pos, struct pieces *o)
{
    while (pos < c->end) {
        size_t m = contraction(c, pos, 0);
        if (m) {
            pos = emit(o, pos + m);
            continue;
        }
        int sp = c->cp[pos] == ' ';
        uint8_t f2 = sp ? fl_at(c, pos + 1) : c->fl[pos];
        uint8_t want = f2 & CP_LETTER ? CP_LETTER : f2 & CP_NUMBER ? CP_NUMBER : 0;
        if (want) {
            pos += (size_t)sp;
            while (fl_at(c, pos) & want)
                pos++;
            pos = emit(o, pos);
        } else if (is_other(f2)) {
            pos += (size_t)sp;
            while (is_other(fl_at(c, pos)))
                pos++;
            pos = emit(o, pos);
        } else {
            pos = emit(o, blank_run(c, pos));
        }
    }
}

/* llama3's whitespace: \s*[\r\n]+ first (through the last newline of the run), then as GPT-2. */
static size_t blank_run_nl(const struct chunk *c, size_t pos)
{
    size_t last_nl = 0;
    for (size_t p = pos; fl_at(c, p) & CP_SPACE; p++)
        if (c->cp[p] == '\r' || c->cp[p] == '\n')
            last_nl = p + 1;
    return last_nl ? last_nl : blank_run(c, pos);
}

/* \p{N}{1,3}: a run of numbers in threes. */
static size_t number_threes(const struct chunk *c, size_t pos, struct pieces *o)
{
    size_t start = pos;
    while (fl_at(c, pos) & CP_NUMBER)
        if (++pos - start >= 3)
            start = emit(o, pos);
    return emit(o, pos);
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|
 * \s*[\r\n]+|\s+(?!\S)|\s+ */
static void split_llama3(const struct chunk *c, size_t pos, struct pieces *o)
{
    while (pos < c->end) {
        uint32_t cp = c->cp[pos];
        uint8_t f = c->fl[pos];
        size_t m = contraction(c, pos, 1);
        if (m) {
            pos = emit(o, pos + m);
            continue;
        }
        if (cp != '\r' && cp != '\n' && !(f & CP_NUMBER) &&
            ((f & CP_LETTER) || (fl_at(c, pos + 1) & CP_LETTER))) {
            pos++;
            while (fl_at(c, pos) & CP_LETTER)
                pos++;
            pos = emit(o, pos);
            continue;
        }
        if (f & CP_NUMBER) {
            pos = number_threes(c, pos, o);
            continue;
        }
        int sp = cp == ' ';
        uint8_t f2 = sp ? fl_at(c, pos + 1) : f;
        if (!(f2 & (CP_SPACE | CP_LETTER | CP_NUMBER))) { /* f is never 0 inside the chunk */
            pos += (size_t)sp;
            while (is_other(fl_at(c, pos)))
                pos++;
            while (cp_at(c, pos) == '\r' || cp_at(c, pos) == '\n')
                pos++;
            pos = emit(o, pos);
            continue;
        }
        pos = emit(o, blank_run_nl(c, pos));
    }
}

/* The std::regex stages llama.cpp runs on its "collapsed" text: a code point of 128 or more
 * stands for its category, so these classes are what those bracket expressions match. */
static int in_number(uint32_t cp, uint8_t f)
{
    (void)cp;
    return (f & CP_NUMBER) != 0;
}

static int in_punct_default(uint32_t cp, uint8_t f)
{
    return (f & CP_PUNCT) || (cp < 128 && cp && strchr("$+<=>^~|", (int)cp));
}

/* One match of a class X (runs: X+) splits the chunk into gap, match, gap... */
static void split_class(const struct chunk *c, size_t pos, int (*in)(uint32_t, uint8_t), int runs,
                        struct pieces *o)
{
    while (pos < c->end) {
        if (!in(c->cp[pos], c->fl[pos])) {
            pos++;
            continue;
        }
        emit(o, pos);
        pos++;
        while (runs && pos < c->end && in(c->cp[pos], c->fl[pos]))
            pos++;
        emit(o, pos);
    }
    emit(o, c->end);
}

static int ascii_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

/* [0-9][0-9][0-9], matched left to right without overlap. */
static void split_digit_threes(const struct chunk *c, size_t pos, struct pieces *o)
{
    while (pos < c->end) {
        if (pos + 3 <= c->end && ascii_digit(c->cp[pos]) && ascii_digit(c->cp[pos + 1]) &&
            ascii_digit(c->cp[pos + 2])) {
            emit(o, pos);
            pos = emit(o, pos + 3);
        } else {
            pos++;
        }
    }
    emit(o, c->end);
}

enum stage { ST_GPT2, ST_LLAMA3, ST_DIGITS, ST_NUMBERS, ST_PUNCT, ST_DIGIT_THREES };

/* Runs one stage over every piece in (n_in lengths), writing the finer pieces to out. */
static size_t run_stage(enum stage st, const uint32_t *cp, const uint8_t *fl, const uint32_t *in,
                        size_t n_in, uint32_t *out)
{
    struct pieces o = {out, 0, 0};
    size_t start = 0;
    for (size_t i = 0; i < n_in; i++) {
        struct chunk c = {cp, fl, start + in[i]};
        o.prev = start;
        switch (st) {
        case ST_GPT2: split_gpt2(&c, start, &o); break;
        case ST_LLAMA3: split_llama3(&c, start, &o); break;
        case ST_DIGITS: split_class(&c, start, in_number, 0, &o); break;
        case ST_NUMBERS: split_class(&c, start, in_number, 1, &o); break;
        case ST_PUNCT: split_class(&c, start, in_punct_default, 1, &o); break;
        case ST_DIGIT_THREES: split_digit_threes(&c, start, &o); break;
        }
        start = c.end;
    }
    return o.n;
}

/* Splits n code points into words; returns the count, lengths in *a (a and b hold n each). */
static size_t pretokenize(enum pre pre, const uint32_t *cp, const uint8_t *fl, size_t n,
                          uint32_t *a, uint32_t *b)
{
    static const enum stage stages[4][4] = {
        [PRE_DEFAULT] = {ST_PUNCT, ST_GPT2, ST_NUMBERS, ST_DIGIT_THREES},
        [PRE_GPT2] = {ST_GPT2},
        [PRE_STARCODER] = {ST_DIGITS, ST_GPT2},
        [PRE_LLAMA3] = {ST_LLAMA3},
    };
    static const size_t n_stages[4] = {4, 1, 2, 1};
    size_t np = 1;
    a[0] = (uint32_t)n;
    for (size_t s = 0; s < n_stages[pre]; s++) {
        np = run_stage(stages[pre][s], cp, fl, a, np, b);
        memcpy(a, b, np * sizeof *a);
    }
    return np;
}

/* ------------------------------------------------------------------ BPE */

struct sym {
    uint32_t start, len; /* bytes of the word; len 0 once merged into its left neighbour */
    int32_t prev, next;
};

struct bigram {
    int32_t rank, left, right;
    uint32_t len; /* left + right when queued: a changed neighbour makes the entry stale */
};

struct spm_bigram {
    float score; /* the merged token's */
    int32_t left, right;
    uint32_t len;
};

/* Per-call working memory, grown as needed (encode stays thread-safe). */
struct scratch {
    uint32_t *cp, *pa, *pb;
    uint8_t *fl;
    size_t cap_cp;
    char *word;
    size_t cap_word;
    struct sym *sym;
    struct bigram *heap;
    size_t cap_sym, cap_heap, n_heap;
    struct spm_bigram *spm_heap;
    size_t cap_spm_heap;
};

struct out {
    int32_t *ids;
    size_t cap, n;
};

static void put(struct out *o, int32_t id)
{
    if (o->n < o->cap)
        o->ids[o->n] = id;
    o->n++;
}

/* p resized to hold need elements of elem bytes (*cap updated), or NULL when out of memory (p
 * is then still the caller's). Grows by half again, so repeated calls stay linear. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t n = need < 64 ? 64 : need + need / 2;
    void *q = realloc(p, n * elem);
    if (q)
        *cap = n;
    return q;
}

static int bigram_before(const struct bigram *a, const struct bigram *b)
{
    return a->rank < b->rank || (a->rank == b->rank && a->left < b->left);
}

static void heap_push(struct scratch *s, struct bigram b)
{
    size_t i = s->n_heap++;
    while (i > 0 && bigram_before(&b, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = b;
}

static struct bigram heap_pop(struct scratch *s)
{
    struct bigram top = s->heap[0], last = s->heap[--s->n_heap];
    size_t i = 0, n = s->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && bigram_before(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!bigram_before(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (n)
        s->heap[i] = last;
    return top;
}

/* Queues the merge of symbols l and r when the vocabulary has one. */
static void add_bigram(const fsk_tokenizer *t, struct scratch *s, const char *w, int32_t l,
                       int32_t r)
{
    if (l < 0 || r < 0)
        return;
    const struct sym *a = &s->sym[l], *b = &s->sym[r];
    int32_t rank = merge_rank(t, w + a->start, a->len, w + b->start, b->len);
    if (rank >= 0)
        heap_push(s, (struct bigram){rank, l, r, a->len + b->len});
}

static const uint8_t utf8_len_by_high_nibble[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};

/* Symbols = the word's characters (each stands for one byte of the original text). */
static size_t bpe_symbols(struct scratch *s, const char *w, size_t wl)
{
    size_t n = 0;
    for (size_t off = 0; off < wl; n++) {
        size_t cl = utf8_len_by_high_nibble[(unsigned char)w[off] >> 4];
        if (cl > wl - off)
            cl = wl - off;
        s->sym[n] = (struct sym){(uint32_t)off, (uint32_t)cl, (int32_t)n - 1,
                                 off + cl == wl ? -1 : (int32_t)n + 1};
        off += cl;
    }
    return n;
}

/* The final symbol's token, or (as llama.cpp) the tokens of its single bytes that exist. */
static void emit_symbol(const fsk_tokenizer *t, const char *p, size_t n, struct out *o)
{
    int32_t id = tok_find(t, p, n);
    if (id >= 0) {
        put(o, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        id = tok_find(t, p + i, 1);
        if (id >= 0)
            put(o, id);
    }
}

/* Merges the word's symbols lowest rank first (leftmost among equals), as llama.cpp's queue. */
static int bpe_word(const fsk_tokenizer *t, struct scratch *s, const char *w, size_t wl,
                    struct out *o)
{
    if (t->pre == PRE_LLAMA3) { /* ignore_merges: a word that is a token is that token */
        int32_t id = tok_find(t, w, wl);
        if (id >= 0) {
            put(o, id);
            return 0;
        }
    }
    struct sym *sym = grow(s->sym, &s->cap_sym, wl, sizeof *sym);
    if (sym)
        s->sym = sym;
    struct bigram *heap = grow(s->heap, &s->cap_heap, 3 * wl, sizeof *heap);
    if (heap)
        s->heap = heap;
    if (!sym || !heap)
        return -1;
    size_t n = bpe_symbols(s, w, wl);
    s->n_heap = 0;
    for (size_t i = 1; i < n; i++)
        add_bigram(t, s, w, (int32_t)i - 1, (int32_t)i);
    while (s->n_heap) {
        struct bigram b = heap_pop(s);
        struct sym *l = &s->sym[b.left], *r = &s->sym[b.right];
        if (!l->len || !r->len || l->len + r->len != b.len)
            continue;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            s->sym[r->next].prev = b.left;
        add_bigram(t, s, w, l->prev, b.left);
        add_bigram(t, s, w, b.left, l->next);
    }
    for (int32_t i = n ? 0 : -1; i >= 0; i = s->sym[i].next)
        emit_symbol(t, w + s->sym[i].start, s->sym[i].len, o);
    return 0;
}

/* The word's code points, re-encoded as UTF-8 and then each byte as GPT-2's printable stand-in. */
static size_t byte_encode(const fsk_tokenizer *t, const uint32_t *cp, size_t n, char *w)
{
    size_t wl = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char u[4];
        unsigned k = put_utf8(cp[i], u);
        for (unsigned j = 0; j < k; j++) {
            memcpy(w + wl, t->byte_enc[u[j]], t->byte_enc_len[u[j]]);
            wl += t->byte_enc_len[u[j]];
        }
    }
    return wl;
}

/* Room for n code points and their flags and pieces. */
static int grow_text(struct scratch *s, size_t n)
{
    if (n <= s->cap_cp)
        return 0;
    size_t cap = n + n / 2 + 16;
    uint32_t *cp = realloc(s->cp, cap * sizeof *cp);
    if (cp)
        s->cp = cp;
    uint32_t *pa = realloc(s->pa, cap * sizeof *pa);
    if (pa)
        s->pa = pa;
    uint32_t *pb = realloc(s->pb, cap * sizeof *pb);
    if (pb)
        s->pb = pb;
    uint8_t *fl = realloc(s->fl, cap);
    if (fl)
        s->fl = fl;
    if (!cp || !pa || !pb || !fl)
        return -1;
    s->cap_cp = cap;
    return 0;
}

/* Encodes one stretch of plain text (no special tokens in it). */
static int encode_text(const fsk_tokenizer *t, struct scratch *s, const char *text, size_t len,
                       struct out *o)
{
    if (grow_text(s, len))
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < len; n++) {
        s->cp[n] = next_cp((const unsigned char *)text, len, &i);
        s->fl[n] = cp_flags(t, s->cp[n]);
    }
    if (!n)
        return 0;
    size_t np = pretokenize(t->pre, s->cp, s->fl, n, s->pa, s->pb);
    size_t start = 0;
    for (size_t i = 0; i < np; i++) {
        size_t k = s->pa[i];
        char *word = grow(s->word, &s->cap_word, 8 * k, 1);
        if (!word)
            return -1;
        s->word = word;
        size_t wl = byte_encode(t, s->cp + start, k, s->word);
        if (bpe_word(t, s, s->word, wl, o))
            return -1;
        start += k;
    }
    return 0;
}

/* ------------------------------------------------------------------ SentencePiece BPE */

/* Higher score first; equal scores: leftmost first (llama.cpp's llm_bigram_spm comparator). */
static int spm_before(const struct spm_bigram *a, const struct spm_bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void spm_push(struct scratch *s, size_t *n, struct spm_bigram b)
{
    size_t i = (*n)++;
    while (i > 0 && spm_before(&b, &s->spm_heap[(i - 1) / 2])) {
        s->spm_heap[i] = s->spm_heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->spm_heap[i] = b;
}

static struct spm_bigram spm_pop(struct scratch *s, size_t *n)
{
    struct spm_bigram top = s->spm_heap[0], last = s->spm_heap[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && spm_before(&s->spm_heap[c + 1], &s->spm_heap[c]))
            c++;
        if (!spm_before(&s->spm_heap[c], &last))
            break;
        s->spm_heap[i] = s->spm_heap[c];
        i = c;
    }
    if (*n)
        s->spm_heap[i] = last;
    return top;
}

/* Queues the merge of symbols l and r when their text together is a token (of any type, as
 * llama.cpp's text_to_token finds). Symbols are contiguous in w, so the pair is one span. */
static void spm_add(const fsk_tokenizer *t, struct scratch *s, size_t *n, const char *w,
                    int32_t l, int32_t r)
{
    if (l < 0 || r < 0)
        return;
    const struct sym *a = &s->sym[l], *b = &s->sym[r];
    int32_t id = tok_find(t, w + a->start, a->len + b->len);
    if (id >= 0)
        spm_push(s, n, (struct spm_bigram){t->score[id], l, r, a->len + b->len});
}

/* A final symbol: its token, or each byte's fallback token. (llama.cpp also looks the text up
 * among the merges made, but a merge is only ever made into a token, so that never finds one.) */
static void spm_emit(const fsk_tokenizer *t, const char *p, size_t n, struct out *o)
{
    int32_t id = tok_find(t, p, n);
    if (id >= 0) {
        put(o, id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        id = t->byte_tok[(unsigned char)p[i]];
        if (id < 0)
            id = t->unk;
        if (id >= 0)
            put(o, id);
    }
}

/* Symbols = the UTF-8 characters of w (by lead byte, unchecked), merged best score first. */
static int spm_word(const fsk_tokenizer *t, struct scratch *s, const char *w, size_t wl,
                    struct out *o)
{
    struct sym *sym = grow(s->sym, &s->cap_sym, wl, sizeof *sym);
    if (sym)
        s->sym = sym;
    struct spm_bigram *heap = grow(s->spm_heap, &s->cap_spm_heap, 3 * wl, sizeof *heap);
    if (heap)
        s->spm_heap = heap;
    if (!sym || !heap)
        return -1;
    size_t n = bpe_symbols(s, w, wl), n_heap = 0;
    for (size_t i = 1; i < n; i++)
        spm_add(t, s, &n_heap, w, (int32_t)i - 1, (int32_t)i);
    while (n_heap) {
        struct spm_bigram b = spm_pop(s, &n_heap);
        struct sym *l = &s->sym[b.left], *r = &s->sym[b.right];
        if (!l->len || !r->len || l->len + r->len != b.len)
            continue;
        l->len += r->len;
        r->len = 0;
        l->next = r->next;
        if (r->next >= 0)
            s->sym[r->next].prev = b.left;
        spm_add(t, s, &n_heap, w, l->prev, b.left);
        spm_add(t, s, &n_heap, w, b.left, l->next);
    }
    for (int32_t i = n ? 0 : -1; i >= 0; i = s->sym[i].next)
        spm_emit(t, w + s->sym[i].start, s->sym[i].len, o);
    return 0;
}

/* One stretch of plain text: a space in front when asked (add_space_prefix at the start or after
 * a special token), every space as U+2581, then one merge pass over the whole of it. */
static int spm_text(const fsk_tokenizer *t, struct scratch *s, const char *text, size_t len,
                    int space_first, struct out *o)
{
    char *w = grow(s->word, &s->cap_word, 3 * (len + 1), 1);
    if (!w)
        return -1;
    s->word = w;
    size_t wl = 0;
    if (space_first) {
        memcpy(w, LOW_BAR, 3);
        wl = 3;
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') {
            memcpy(w + wl, LOW_BAR, 3);
            wl += 3;
        } else {
            w[wl++] = text[i];
        }
    }
    return spm_word(t, s, w, wl, o);
}

/* ------------------------------------------------------------------ encode */

/* A stretch of the input: plain text (id < 0) or a special token found in it. */
struct frag {
    int32_t id;
    size_t off, len;
};

struct frags {
    struct frag *v;
    size_t n, cap;
};

static int frag_add(struct frags *f, int32_t id, size_t off, size_t len)
{
    if (id < 0 && !len)
        return 0;
    struct frag *v = grow(f->v, &f->cap, f->n + 1, sizeof *v);
    if (!v)
        return -1;
    f->v = v;
    f->v[f->n++] = (struct frag){id, off, len};
    return 0;
}

static const char *find_bytes(const char *h, size_t hn, const char *nd, size_t nn)
{
    while (hn >= nn) {
        const char *p = memchr(h, nd[0], hn - nn + 1);
        if (!p)
            return NULL;
        if (memcmp(p, nd, nn) == 0)
            return p;
        hn -= (size_t)(p - h) + 1;
        h = p + 1;
    }
    return NULL;
}

/* Splits every text fragment of in at each occurrence of special token id, into out. */
static int split_special(const fsk_tokenizer *t, const char *text, int32_t id,
                         const struct frags *in, struct frags *out)
{
    size_t sl;
    const char *st = tok_text(t, (uint32_t)id, &sl);
    out->n = 0;
    for (size_t i = 0; i < in->n; i++) {
        struct frag f = in->v[i];
        if (f.id >= 0) {
            if (frag_add(out, f.id, 0, 0))
                return -1;
            continue;
        }
        const char *p;
        while ((p = find_bytes(text + f.off, f.len, st, sl)) != NULL) {
            size_t at = (size_t)(p - text);
            if (frag_add(out, -1, f.off, at - f.off) || frag_add(out, id, 0, 0))
                return -1;
            f.len -= at + sl - f.off;
            f.off = at + sl;
        }
        if (frag_add(out, -1, f.off, f.len))
            return -1;
    }
    return 0;
}

/* llama.cpp's partition: each special token in turn (longest first) cuts every text fragment
 * left so far. Control and unknown tokens only with parse_special; user-defined always. */
static int partition(const fsk_tokenizer *t, const char *text, size_t len, int parse_special,
                     struct frags *a, struct frags *b)
{
    a->n = 0;
    if (frag_add(a, -1, 0, len))
        return -1;
    for (size_t k = 0; k < t->n_special; k++) {
        int32_t id = t->special[k];
        int ty = t->type[id];
        if (!parse_special && (ty == FSK_TOKEN_CONTROL || ty == FSK_TOKEN_UNKNOWN))
            continue;
        if (split_special(t, text, id, a, b))
            return -1;
        struct frags tmp = *a;
        *a = *b;
        *b = tmp;
    }
    return 0;
}

static void scratch_free(struct scratch *s)
{
    free(s->cp);
    free(s->pa);
    free(s->pb);
    free(s->fl);
    free(s->word);
    free(s->sym);
    free(s->heap);
    free(s->spm_heap);
}

static int encode_all(const fsk_tokenizer *t, const char *text, size_t len, int parse_special,
                      struct out *o)
{
    struct frags a = {0}, b = {0};
    struct scratch s = {0};
    int rc = partition(t, text, len, parse_special, &a, &b);
    int after_special = 1; /* the start counts as one: SentencePiece's dummy prefix */
    for (size_t i = 0; rc == 0 && i < a.n; i++) {
        const struct frag *f = &a.v[i];
        if (f->id >= 0)
            put(o, f->id);
        else if (t->spm)
            rc = spm_text(t, &s, text + f->off, f->len, after_special && t->add_space_prefix, o);
        else
            rc = encode_text(t, &s, text + f->off, f->len, o);
        after_special = f->id >= 0;
    }
    free(a.v);
    free(b.v);
    scratch_free(&s);
    return rc;
}

fsk_status fsk_tokenizer_encode(const fsk_tokenizer *tok, const char *text, size_t len,
                                int parse_special, int32_t *ids, size_t cap, size_t *n_out,
                                fsk_error *err)
{
    if (n_out)
        *n_out = 0;
    if (!tok || !n_out || (!text && len) || (!ids && cap))
        return fail(err, FSK_ERR_INVALID_ARG, "tokenize: NULL tokenizer, text, ids or n_out");
    if (len > INT32_MAX)
        return fail(err, FSK_ERR_INVALID_ARG, "tokenize: %zu bytes of text is more than 2 GiB",
                    len);
    struct out o = {ids, cap, 0};
    if (encode_all(tok, text ? text : "", len, parse_special, &o))
        return fail(err, FSK_ERR_NOMEM, "tokenize: out of memory for %zu bytes of text", len);
    *n_out = o.n;
    if (o.n > cap)
        return fail(err, FSK_ERR_INVALID_ARG, "tokenize: the text needs %zu tokens, room for %zu",
                    o.n, cap);
    return FSK_OK;
}

/* ------------------------------------------------------------------ construction */

void fsk_tokenizer_free(fsk_tokenizer *tok)
{
    if (!tok)
        return;
    free(tok->text);
    free(tok->text_off);
    free(tok->piece);
    free(tok->piece_off);
    free(tok->type);
    free(tok->eog);
    free(tok->tok_slot);
    free(tok->merge_text);
    free(tok->merges);
    free(tok->merge_slot);
    free(tok->special);
    free(tok->score);
    free(tok);
}

static size_t spec_len(const char *const *s, const size_t *lens, size_t i)
{
    return lens ? lens[i] : strlen(s[i]);
}

/* Copies the token texts; an empty one becomes "[EMPTY_<id>]" as in llama.cpp. */
static int copy_texts(fsk_tokenizer *t, const struct fsk_tokenizer_spec *sp)
{
    size_t total = 0;
    char name[32];
    for (size_t i = 0; i < sp->n_tokens; i++) {
        size_t n = spec_len(sp->tokens, sp->token_lens, i);
        total += n ? n : (size_t)snprintf(name, sizeof name, "[EMPTY_%zu]", i);
    }
    t->text = malloc(total + 1);
    t->text_off = malloc((sp->n_tokens + 1) * sizeof *t->text_off);
    if (!t->text || !t->text_off)
        return -1;
    size_t off = 0;
    for (size_t i = 0; i < sp->n_tokens; i++) {
        size_t n = spec_len(sp->tokens, sp->token_lens, i);
        t->text_off[i] = off;
        if (n)
            memcpy(t->text + off, sp->tokens[i], n);
        else
            n = (size_t)snprintf(t->text + off, total + 1 - off, "[EMPTY_%zu]", i);
        off += n;
    }
    t->text_off[sp->n_tokens] = off;
    return 0;
}

/* text -> id; a repeated text maps to its last id, as llama.cpp's map assignment leaves it. */
static int build_token_map(fsk_tokenizer *t)
{
    t->tok_mask = pow2_at_least(2 * (size_t)t->n_vocab) - 1;
    t->tok_slot = calloc(t->tok_mask + 1, sizeof *t->tok_slot);
    if (!t->tok_slot)
        return -1;
    for (uint32_t id = 0; id < t->n_vocab; id++) {
        size_t n;
        const char *s = tok_text(t, id, &n);
        t->tok_slot[tok_probe(t, s, n)] = id + 1;
    }
    return 0;
}

/* "left right" split at the first space after the first byte; a repeated pair keeps its first
 * (lowest) rank. Lines without such a split can never match and are left out of the map. */
static int build_merges(fsk_tokenizer *t, const struct fsk_tokenizer_spec *sp)
{
    size_t total = 0;
    for (size_t i = 0; i < sp->n_merges; i++)
        total += spec_len(sp->merges, sp->merge_lens, i);
    t->merge_text = malloc(total + 1);
    t->merges = malloc((sp->n_merges ? sp->n_merges : 1) * sizeof *t->merges);
    t->merge_mask = pow2_at_least(2 * sp->n_merges) - 1;
    t->merge_slot = calloc(t->merge_mask + 1, sizeof *t->merge_slot);
    if (!t->merge_text || !t->merges || !t->merge_slot)
        return -1;
    size_t off = 0;
    for (size_t i = 0; i < sp->n_merges; i++) {
        size_t n = spec_len(sp->merges, sp->merge_lens, i);
        const char *m = sp->merges[i];
        const char *space = n > 1 ? memchr(m + 1, ' ', n - 1) : NULL;
        memcpy(t->merge_text + off, m, n);
        size_t ln = space ? (size_t)(space - m) : 0;
        t->merges[i] = (struct merge){off, (uint32_t)ln, (uint32_t)(space ? n - ln - 1 : 0)};
        off += n;
        if (!space)
            continue;
        size_t slot = merge_probe(t, m, ln, space + 1, n - ln - 1);
        if (!t->merge_slot[slot])
            t->merge_slot[slot] = (uint32_t)i + 1;
    }
    t->n_merges = sp->n_merges;
    return 0;
}

static void mark_eog(fsk_tokenizer *t, int32_t id)
{
    if (id < 0)
        return;
    t->eog[id] = 1;
    t->type[id] = FSK_TOKEN_CONTROL;
}

/* The first text of the NULL-terminated list that is a token, made a control token; -1 if none. */
static int32_t find_role(fsk_tokenizer *t, const char *const *texts)
{
    for (; *texts; texts++) {
        int32_t id = tok_find(t, *texts, strlen(*texts));
        if (id >= 0) {
            t->type[id] = FSK_TOKEN_CONTROL;
            return id;
        }
    }
    return -1;
}

/* llama.cpp recognises end-of-turn, fill-in-the-middle and end-of-generation tokens by their text
 * and makes them control tokens (so parse_special governs them). */
static void find_eog(fsk_tokenizer *t)
{
    if (t->eot < 0)
        t->eot = find_role(t, eot_texts);
    for (size_t i = 0; i < N_OF(fim_eog_texts); i++)
        mark_eog(t, find_role(t, fim_eog_texts[i]));
    for (size_t i = 0; i < N_OF(fim_other_texts); i++)
        find_role(t, fim_other_texts[i]);
    for (size_t i = 0; i < N_OF(eog_texts); i++)
        mark_eog(t, tok_find(t, eog_texts[i], strlen(eog_texts[i])));
    if (t->eos >= 0)
        t->eog[t->eos] = 1;
    if (t->eot >= 0)
        t->eog[t->eot] = 1;
}

struct by_len {
    size_t len;
    int32_t id;
};

static int by_len_desc(const void *a, const void *b)
{
    const struct by_len *x = a, *y = b;
    if (x->len != y->len)
        return x->len > y->len ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The tokens partition() looks for, longest text first (equal lengths: lower id first, where
 * llama.cpp's unstable sort leaves the order unspecified). */
static int build_special(fsk_tokenizer *t)
{
    struct by_len *v = malloc(t->n_vocab * sizeof *v);
    t->special = malloc(t->n_vocab * sizeof *t->special);
    if (!v || !t->special) {
        free(v);
        return -1;
    }
    size_t n = 0;
    for (uint32_t id = 0; id < t->n_vocab; id++) {
        int ty = t->type[id];
        if (ty == FSK_TOKEN_CONTROL || ty == FSK_TOKEN_USER_DEFINED || ty == FSK_TOKEN_UNKNOWN) {
            v[n].id = (int32_t)id;
            tok_text(t, id, &v[n].len);
            n++;
        }
    }
    qsort(v, n, sizeof *v, by_len_desc);
    for (size_t i = 0; i < n; i++)
        t->special[i] = v[i].id;
    t->n_special = n;
    free(v);
    return 0;
}

/* A normal token's bytes: each character of its text mapped back through GPT-2's table; a
 * character outside the table is written as llama.cpp writes it ("[UNK_BYTE_0x..<text>]"). Writes
 * to o when non-NULL; returns the length. */
static size_t decode_normal(const fsk_tokenizer *t, const char *s, size_t n, char *o)
{
    size_t len = 0;
    for (size_t i = 0; i < n;) {
        uint32_t c = next_cp((const unsigned char *)s, n, &i);
        if (c < N_OF(t->byte_dec) && t->byte_dec[c] >= 0) {
            if (o)
                o[len] = (char)t->byte_dec[c];
            len++;
            continue;
        }
        unsigned char u[4];
        unsigned k = put_utf8(c, u);
        char tmp[32] = "[UNK_BYTE_0x"; /* 12 characters and two hex digits per UTF-8 byte */
        size_t tl = strlen(tmp);
        for (unsigned j = 0; j < k; j++)
            tl += (size_t)snprintf(tmp + tl, sizeof tmp - tl, "%02x", u[j]);
        if (o) {
            memcpy(o + len, tmp, tl);
            memcpy(o + len + tl, s, n);
            o[len + tl + n] = ']';
        }
        len += tl + n + 1;
    }
    return len;
}

/* A SentencePiece token's bytes: U+2581 back to spaces. */
static size_t unescape_spaces(const char *s, size_t n, char *o)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + 3 <= n && memcmp(s + i, LOW_BAR, 3) == 0) {
            if (o)
                o[len] = ' ';
            len++;
            i += 2;
        } else {
            if (o)
                o[len] = s[i];
            len++;
        }
    }
    return len;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* A byte token's byte: the hex digits after "<0x" (llama.cpp's strtol of the two characters
 * there; what no digit starts reads 0). */
static unsigned char byte_of(const char *s, size_t n)
{
    unsigned v = 0;
    for (size_t i = 3; i < 5 && i < n && hex_digit(s[i]) >= 0; i++)
        v = v * 16 + (unsigned)hex_digit(s[i]);
    return (unsigned char)v;
}

/* What token_to_piece gives with special set; special off is handled at lookup. */
static size_t piece_of(const fsk_tokenizer *t, uint32_t id, char *o)
{
    size_t n;
    const char *s = tok_text(t, id, &n);
    switch (t->type[id]) {
    case FSK_TOKEN_NORMAL:
        return t->spm ? unescape_spaces(s, n, o) : decode_normal(t, s, n, o);
    case FSK_TOKEN_BYTE:
        if (!t->spm) /* byte-level BPE has no byte tokens of this kind: left empty */
            return 0;
        if (o)
            o[0] = (char)byte_of(s, n);
        return 1;
    case FSK_TOKEN_CONTROL:
    case FSK_TOKEN_UNKNOWN:
    case FSK_TOKEN_USER_DEFINED:
        if (o)
            memcpy(o, s, n);
        return n;
    default:
        return 0;
    }
}

static int build_pieces(fsk_tokenizer *t)
{
    size_t total = 0;
    t->piece_off = malloc(((size_t)t->n_vocab + 1) * sizeof *t->piece_off);
    if (!t->piece_off)
        return -1;
    for (uint32_t id = 0; id < t->n_vocab; id++) {
        size_t n = piece_of(t, id, NULL);
        t->piece_off[id] = total;
        total += n;
        if (n > t->max_piece)
            t->max_piece = n;
    }
    t->piece_off[t->n_vocab] = total;
    t->piece = malloc(total + 1);
    if (!t->piece)
        return -1;
    for (uint32_t id = 0; id < t->n_vocab; id++)
        piece_of(t, id, t->piece + t->piece_off[id]);
    return 0;
}

static fsk_status check_id(const char *what, int32_t id, size_t n, fsk_error *err)
{
    if (id < -1 || (id >= 0 && (size_t)id >= n))
        return fail(err, FSK_ERR_FORMAT, "tokenizer: %s %d is out of range (%zu tokens)", what, id,
                    n);
    return FSK_OK;
}

/* gpt2's merges and pre-tokenizer. */
static fsk_status check_bpe(const struct fsk_tokenizer_spec *sp, enum pre *pre, fsk_error *err)
{
    if (sp->n_merges >= INT32_MAX || (sp->n_merges && !sp->merges))
        return fail(err, FSK_ERR_FORMAT, "tokenizer: %zu merges (need at most 2^31-2)",
                    sp->n_merges);
    for (size_t i = 0; i < sp->n_merges; i++)
        if (!sp->merges[i])
            return fail(err, FSK_ERR_FORMAT, "tokenizer: merge %zu has no text", i);
    const char *name = sp->pre ? sp->pre : "default";
    size_t k = 0;
    while (k < N_OF(pre_names) && strcmp(pre_names[k].name, name) != 0)
        k++;
    if (k == N_OF(pre_names))
        return fail(err, FSK_ERR_UNSUPPORTED,
                    "tokenizer: pre-tokenizer '%s' is not supported (known: default, gpt2, "
                    "starcoder, smollm, llama3, llama-bpe and their aliases)", name);
    *pre = pre_names[k].pre;
    return FSK_OK;
}

/* *spm: whether the model is SentencePiece ("llama") rather than byte-level BPE ("gpt2"). */
static fsk_status check_spec(const struct fsk_tokenizer_spec *sp, int *spm, enum pre *pre,
                             fsk_error *err)
{
    const char *model = sp->model ? sp->model : "gpt2";
    *spm = strcmp(model, "llama") == 0;
    if (!*spm && strcmp(model, "gpt2") != 0)
        return fail(err, FSK_ERR_UNSUPPORTED, "tokenizer: model '%.64s' is not supported (known: "
                    "'gpt2', byte-level BPE; 'llama', SentencePiece)", model);
    if (!sp->n_tokens || sp->n_tokens >= INT32_MAX || !sp->tokens)
        return fail(err, FSK_ERR_FORMAT, "tokenizer: %zu tokens (need 1 to 2^31-2)", sp->n_tokens);
    for (size_t i = 0; i < sp->n_tokens; i++)
        if (!sp->tokens[i] || (sp->types && (sp->types[i] < 0 || sp->types[i] > FSK_TOKEN_BYTE)))
            return fail(err, FSK_ERR_FORMAT, "tokenizer: token %zu has %s", i,
                        sp->tokens[i] ? "an unknown type" : "no text");
    fsk_status st = *spm ? FSK_OK : check_bpe(sp, pre, err);
    if (st == FSK_OK)
        st = check_id("bos_token_id", sp->bos, sp->n_tokens, err);
    if (st == FSK_OK)
        st = check_id("eos_token_id", sp->eos, sp->n_tokens, err);
    if (st == FSK_OK)
        st = check_id("eot_token_id", sp->eot, sp->n_tokens, err);
    if (st == FSK_OK)
        st = check_id("unknown_token_id", sp->unk, sp->n_tokens, err);
    if (st == FSK_OK)
        st = check_id("padding_token_id", sp->pad, sp->n_tokens, err);
    return st;
}

/* SentencePiece: the scores, and each byte's fallback token: "<0xXX>" (uppercase hex, as
 * llama.cpp's byte_to_token looks it up), else the token of that one byte. */
static int build_spm(fsk_tokenizer *t, const struct fsk_tokenizer_spec *sp)
{
    t->score = malloc(sp->n_tokens * sizeof *t->score);
    if (!t->score)
        return -1;
    for (size_t i = 0; i < sp->n_tokens; i++)
        t->score[i] = sp->scores ? sp->scores[i] : 0.0f;
    for (unsigned b = 0; b < 256; b++) {
        char name[8], one = (char)b;
        snprintf(name, sizeof name, "<0x%02X>", b);
        t->byte_tok[b] = tok_find(t, name, 6);
        if (t->byte_tok[b] < 0 && b > 0) /* llama.cpp's one-byte string for 0 is empty */
            t->byte_tok[b] = tok_find(t, &one, 1);
    }
    return 0;
}

static int build(fsk_tokenizer *t, const struct fsk_tokenizer_spec *sp)
{
    t->type = malloc(sp->n_tokens);
    t->eog = calloc(sp->n_tokens, 1);
    if (!t->type || !t->eog)
        return -1;
    for (size_t i = 0; i < sp->n_tokens; i++)
        t->type[i] = (uint8_t)(sp->types ? sp->types[i] : FSK_TOKEN_NORMAL);
    if (copy_texts(t, sp) || build_token_map(t) ||
        (t->spm ? build_spm(t, sp) : build_merges(t, sp)))
        return -1;
    find_eog(t);
    return build_special(t) || build_pieces(t) ? -1 : 0;
}

fsk_status fsk_tokenizer_create_from_spec(fsk_tokenizer **out, const struct fsk_tokenizer_spec *sp,
                                          fsk_error *err)
{
    enum pre pre = PRE_DEFAULT;
    int spm = 0;
    if (!out || !sp)
        return fail(err, FSK_ERR_INVALID_ARG, "tokenizer: NULL argument");
    *out = NULL;
    fsk_status st = check_spec(sp, &spm, &pre, err);
    if (st != FSK_OK)
        return st;
    fsk_tokenizer *t = calloc(1, sizeof *t);
    if (!t)
        return fail(err, FSK_ERR_NOMEM, "tokenizer: out of memory");
    init_byte_maps(t);
    t->n_vocab = (uint32_t)sp->n_tokens;
    t->pre = pre;
    t->spm = spm;
    t->bos = sp->bos;
    t->eos = sp->eos;
    t->eot = sp->eot;
    t->unk = sp->unk;
    t->pad = sp->pad;
    t->add_bos = sp->add_bos >= 0 ? sp->add_bos != 0 : spm || pre == PRE_LLAMA3;
    t->add_space_prefix = sp->add_space_prefix >= 0 ? sp->add_space_prefix != 0 : spm;
    if (build(t, sp)) {
        fsk_tokenizer_free(t);
        return fail(err, FSK_ERR_NOMEM, "tokenizer: out of memory for %zu tokens", sp->n_tokens);
    }
    *out = t;
    return FSK_OK;
}

/* ------------------------------------------------------------------ from a GGUF */

struct gguf_arrays {
    const char **s;
    size_t *len;
    size_t n;
};

static fsk_status read_strings(const fsk_gguf *g, const char *key, struct gguf_arrays *a,
                               fsk_error *err)
{
    const struct fsk_gguf_kv *kv;
    fsk_status st = fsk_gguf_get_arr(g, key, FSK_GGUF_STRING, &kv, err);
    if (st != FSK_OK)
        return st;
    if (kv->v.arr.n >= INT32_MAX)
        return fail(err, FSK_ERR_FORMAT, "%s: %s has %llu entries", fsk_gguf_name(g), key,
                    (unsigned long long)kv->v.arr.n);
    a->n = (size_t)kv->v.arr.n;
    a->s = malloc((a->n ? a->n : 1) * sizeof *a->s);
    a->len = malloc((a->n ? a->n : 1) * sizeof *a->len);
    if (!a->s || !a->len)
        return fail(err, FSK_ERR_NOMEM, "%s: out of memory reading %s", fsk_gguf_name(g), key);
    for (size_t i = 0; i < a->n; i++) {
        struct fsk_gguf_str s = fsk_gguf_arr_str(kv, i);
        a->s[i] = s.ptr ? s.ptr : "";
        a->len[i] = (size_t)s.len;
    }
    return FSK_OK;
}

static int is_int_vtype(enum fsk_gguf_vtype t)
{
    return t == FSK_GGUF_U8 || t == FSK_GGUF_I8 || t == FSK_GGUF_U16 || t == FSK_GGUF_I16 ||
           t == FSK_GGUF_U32 || t == FSK_GGUF_I32 || t == FSK_GGUF_U64 || t == FSK_GGUF_I64;
}

/* tokenizer.ggml.token_type: optional; one integer per token. */
static fsk_status read_types(const fsk_gguf *g, size_t n_tokens, int32_t **out, fsk_error *err)
{
    static const char key[] = "tokenizer.ggml.token_type";
    const struct fsk_gguf_kv *kv;
    *out = NULL;
    if (!fsk_gguf_find(g, key))
        return FSK_OK;
    fsk_status st = fsk_gguf_get_arr(g, key, FSK_GGUF_VTYPE_COUNT, &kv, err);
    if (st != FSK_OK)
        return st;
    if (!is_int_vtype(kv->v.arr.type) || kv->v.arr.n != n_tokens)
        return fail(err, FSK_ERR_FORMAT, "%s: %s must be %zu integers, is %llu of %s",
                    fsk_gguf_name(g), key, n_tokens, (unsigned long long)kv->v.arr.n,
                    fsk_gguf_vtype_name(kv->v.arr.type));
    int32_t *v = malloc(n_tokens * sizeof *v);
    if (!v)
        return fail(err, FSK_ERR_NOMEM, "%s: out of memory reading %s", fsk_gguf_name(g), key);
    for (size_t i = 0; i < n_tokens; i++) {
        double x = fsk_gguf_arr_num(kv, i);
        v[i] = x >= 0 && x <= FSK_TOKEN_BYTE ? (int32_t)x : -1;
    }
    *out = v;
    return FSK_OK;
}

/* An optional id: dflt when absent. */
static fsk_status read_id(const fsk_gguf *g, const char *key, int32_t dflt, int32_t *out,
                          fsk_error *err)
{
    uint32_t v;
    *out = dflt;
    if (!fsk_gguf_find(g, key))
        return FSK_OK;
    fsk_status st = fsk_gguf_get_u32(g, key, &v, err);
    if (st == FSK_OK)
        *out = v > INT32_MAX ? INT32_MAX : (int32_t)v;
    return st;
}

/* An optional flag: dflt when absent. */
static fsk_status read_flag(const fsk_gguf *g, const char *key, int dflt, int *out, fsk_error *err)
{
    uint32_t v;
    *out = dflt;
    if (!fsk_gguf_find(g, key))
        return FSK_OK;
    fsk_status st = fsk_gguf_get_u32(g, key, &v, err);
    if (st == FSK_OK)
        *out = v != 0;
    return st;
}

/* An optional string key copied to buf (NULL when absent); longer than cap - 1 or holding a NUL:
 * unsupported. */
static fsk_status read_name(const fsk_gguf *g, const char *key, const char **out, char *buf,
                            size_t cap, fsk_error *err)
{
    struct fsk_gguf_str s;
    *out = NULL;
    if (!fsk_gguf_find(g, key))
        return FSK_OK;
    fsk_status st = fsk_gguf_get_str(g, key, &s, err);
    if (st != FSK_OK)
        return st;
    if (s.len >= cap || memchr(s.ptr, 0, (size_t)s.len))
        return fail(err, FSK_ERR_UNSUPPORTED, "%s: %s '%.*s' is not supported", fsk_gguf_name(g),
                    key, (int)(s.len > 64 ? 64 : s.len), s.ptr);
    memcpy(buf, s.ptr, (size_t)s.len);
    buf[s.len] = 0;
    *out = buf;
    return FSK_OK;
}

static fsk_status read_model_kind(const fsk_gguf *g, const char **model, char *model_buf,
                                  const char **pre, char *pre_buf, size_t cap, fsk_error *err)
{
    fsk_status st = read_name(g, "tokenizer.ggml.model", model, model_buf, cap, err);
    if (st == FSK_OK && !*model)
        return fail(err, FSK_ERR_FORMAT, "%s: tokenizer.ggml.model is missing (no vocabulary)",
                    fsk_gguf_name(g));
    if (st == FSK_OK && strcmp(*model, "gpt2") != 0 && strcmp(*model, "llama") != 0)
        return fail(err, FSK_ERR_UNSUPPORTED, "%s: tokenizer.ggml.model is '%s'; supported are "
                    "'gpt2' (byte-level BPE) and 'llama' (SentencePiece)", fsk_gguf_name(g),
                    *model);
    if (st == FSK_OK && strcmp(*model, "gpt2") == 0) /* llama.cpp reads no pre for the others */
        st = read_name(g, "tokenizer.ggml.pre", pre, pre_buf, cap, err);
    return st;
}

/* tokenizer.ggml.scores: optional; 32-bit floats or integers (what llama.cpp accepts), one per
 * token at least. */
static fsk_status read_scores(const fsk_gguf *g, size_t n_tokens, float **out, fsk_error *err)
{
    static const char key[] = "tokenizer.ggml.scores";
    const struct fsk_gguf_kv *kv;
    *out = NULL;
    if (!fsk_gguf_find(g, key))
        return FSK_OK;
    fsk_status st = fsk_gguf_get_arr(g, key, FSK_GGUF_VTYPE_COUNT, &kv, err);
    if (st != FSK_OK)
        return st;
    if ((kv->v.arr.type != FSK_GGUF_F32 && kv->v.arr.type != FSK_GGUF_I32) ||
        kv->v.arr.n < n_tokens)
        return fail(err, FSK_ERR_FORMAT, "%s: %s must be %zu f32 or i32, is %llu of %s",
                    fsk_gguf_name(g), key, n_tokens, (unsigned long long)kv->v.arr.n,
                    fsk_gguf_vtype_name(kv->v.arr.type));
    float *v = malloc((n_tokens ? n_tokens : 1) * sizeof *v);
    if (!v)
        return fail(err, FSK_ERR_NOMEM, "%s: out of memory reading %s", fsk_gguf_name(g), key);
    for (size_t i = 0; i < n_tokens; i++)
        v[i] = (float)fsk_gguf_arr_num(kv, i);
    *out = v;
    return FSK_OK;
}

/* The special ids and flags; absent ids take llama.cpp's defaults for the model (SentencePiece:
 * unk 0, bos 1, eos 2, when the vocabulary has them; BPE: none). */
static fsk_status read_ids(const fsk_gguf *g, int spm, struct fsk_tokenizer_spec *sp,
                           fsk_error *err)
{
    int32_t unk = spm && sp->n_tokens > 0 ? 0 : -1, bos = spm && sp->n_tokens > 1 ? 1 : -1,
            eos = spm && sp->n_tokens > 2 ? 2 : -1;
    fsk_status st = read_id(g, "tokenizer.ggml.bos_token_id", bos, &sp->bos, err);
    if (st == FSK_OK)
        st = read_id(g, "tokenizer.ggml.eos_token_id", eos, &sp->eos, err);
    if (st == FSK_OK)
        st = read_id(g, "tokenizer.ggml.eot_token_id", -1, &sp->eot, err);
    if (st == FSK_OK)
        st = read_id(g, "tokenizer.ggml.unknown_token_id", unk, &sp->unk, err);
    if (st == FSK_OK)
        st = read_id(g, "tokenizer.ggml.padding_token_id", -1, &sp->pad, err);
    if (st == FSK_OK)
        st = read_flag(g, "tokenizer.ggml.add_bos_token", -1, &sp->add_bos, err);
    if (st == FSK_OK)
        st = read_flag(g, "tokenizer.ggml.add_space_prefix", -1, &sp->add_space_prefix, err);
    return st;
}

/* What the spec needs beyond the tokens: merges for BPE, scores for SentencePiece. */
static fsk_status read_model_arrays(const fsk_gguf *g, struct fsk_tokenizer_spec *sp,
                                    struct gguf_arrays *merges, float **scores, fsk_error *err)
{
    int spm = strcmp(sp->model, "llama") == 0;
    fsk_status st = spm ? read_scores(g, sp->n_tokens, scores, err)
                        : read_strings(g, "tokenizer.ggml.merges", merges, err);
    if (st == FSK_OK)
        st = read_ids(g, spm, sp, err);
    sp->scores = *scores;
    sp->n_merges = merges->n;
    sp->merges = merges->s;
    sp->merge_lens = merges->len;
    return st;
}

fsk_status fsk_tokenizer_create(fsk_tokenizer **out, const fsk_gguf *g, fsk_error *err)
{
    if (!out || !g)
        return fail(err, FSK_ERR_INVALID_ARG, "tokenizer: NULL argument");
    *out = NULL;
    struct fsk_tokenizer_spec sp = {0};
    struct gguf_arrays toks = {0}, merges = {0};
    int32_t *types = NULL;
    float *scores = NULL;
    char model[64], pre[64];
    fsk_status st = read_model_kind(g, &sp.model, model, &sp.pre, pre, sizeof pre, err);
    if (st == FSK_OK)
        st = read_strings(g, "tokenizer.ggml.tokens", &toks, err);
    sp.n_tokens = toks.n;
    sp.tokens = toks.s;
    sp.token_lens = toks.len;
    if (st == FSK_OK)
        st = read_types(g, toks.n, &types, err);
    sp.types = types;
    if (st == FSK_OK)
        st = read_model_arrays(g, &sp, &merges, &scores, err);
    if (st == FSK_OK) {
        st = fsk_tokenizer_create_from_spec(out, &sp, err);
        if (st != FSK_OK && err) { /* name the file: the spec constructor cannot */
            char msg[sizeof err->message];
            memcpy(msg, err->message, sizeof msg);
            fail(err, st, "%s: %.400s", fsk_gguf_name(g), msg);
        }
    }
    free(toks.s);
    free(toks.len);
    free(merges.s);
    free(merges.len);
    free(types);
    free(scores);
    return st;
}

/* ------------------------------------------------------------------ queries */

uint32_t fsk_tokenizer_n_vocab(const fsk_tokenizer *tok)
{
    return tok ? tok->n_vocab : 0;
}

int32_t fsk_tokenizer_bos(const fsk_tokenizer *tok)
{
    return tok ? tok->bos : -1;
}

int32_t fsk_tokenizer_eos(const fsk_tokenizer *tok)
{
    return tok ? tok->eos : -1;
}

int32_t fsk_tokenizer_eot(const fsk_tokenizer *tok)
{
    return tok ? tok->eot : -1;
}

int32_t fsk_tokenizer_unk(const fsk_tokenizer *tok)
{
    return tok ? tok->unk : -1;
}

int32_t fsk_tokenizer_pad(const fsk_tokenizer *tok)
{
    return tok ? tok->pad : -1;
}

int fsk_tokenizer_add_bos(const fsk_tokenizer *tok)
{
    return tok && tok->add_bos && tok->bos >= 0;
}

const char *fsk_tokenizer_pre_name(const fsk_tokenizer *tok)
{
    return !tok ? "" : tok->spm ? "spm" : pre_family[tok->pre];
}

static int valid_id(const fsk_tokenizer *tok, int32_t id)
{
    return tok && id >= 0 && (uint32_t)id < tok->n_vocab;
}

const char *fsk_tokenizer_token_text(const fsk_tokenizer *tok, int32_t id, size_t *len)
{
    size_t n = 0;
    const char *s = valid_id(tok, id) ? tok_text(tok, (uint32_t)id, &n) : NULL;
    if (len)
        *len = n;
    return s;
}

const char *fsk_tokenizer_piece(const fsk_tokenizer *tok, int32_t id, int special, size_t *len)
{
    if (len)
        *len = 0;
    if (!valid_id(tok, id))
        return NULL;
    int ty = tok->type[id];
    const char *s = tok->piece + tok->piece_off[id];
    if (!special && (ty == FSK_TOKEN_CONTROL || ty == FSK_TOKEN_UNKNOWN))
        return s;
    if (len)
        *len = tok->piece_off[id + 1] - tok->piece_off[id];
    return s;
}

size_t fsk_tokenizer_max_piece_len(const fsk_tokenizer *tok)
{
    return tok ? tok->max_piece : 0;
}

int fsk_tokenizer_token_type(const fsk_tokenizer *tok, int32_t id)
{
    return valid_id(tok, id) ? tok->type[id] : -1;
}

int fsk_tokenizer_is_control(const fsk_tokenizer *tok, int32_t id)
{
    return valid_id(tok, id) && tok->type[id] == FSK_TOKEN_CONTROL;
}

int fsk_tokenizer_is_eog(const fsk_tokenizer *tok, int32_t id)
{
    return valid_id(tok, id) && tok->eog[id];
}

int32_t fsk_tokenizer_find(const fsk_tokenizer *tok, const char *text, size_t len)
{
    if (!tok || (!text && len))
        return -1;
    return tok_find(tok, text ? text : "", len);
}

/* ------------------------------------------------------------------ decode */

/* Whether output that starts with id drops its first byte when a space: the space a
 * SentencePiece prefix put before the text, when BOS leads (llama-cpp-python's rule). */
static int strips_space(const fsk_tokenizer *t, int32_t id)
{
    return t->spm && t->add_space_prefix && id >= 0 && id == t->bos;
}

/* While *strip is pending, the first non-empty piece loses a leading space and ends it. */
static void drop_space(int *strip, const char **p, size_t *len)
{
    if (!*strip || !*len)
        return;
    if (**p == ' ') {
        (*p)++;
        (*len)--;
    }
    *strip = 0;
}

fsk_status fsk_tokenizer_decode(const fsk_tokenizer *tok, const int32_t *ids, size_t n, int special,
                                char *buf, size_t cap, size_t *n_out, fsk_error *err)
{
    if (n_out)
        *n_out = 0;
    if (!tok || !n_out || (!ids && n) || (!buf && cap))
        return fail(err, FSK_ERR_INVALID_ARG, "detokenize: NULL tokenizer, ids, buf or n_out");
    size_t total = 0;
    int strip = n && strips_space(tok, ids[0]);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *p = fsk_tokenizer_piece(tok, ids[i], special, &len);
        if (!p)
            return fail(err, FSK_ERR_INVALID_ARG, "detokenize: id %d at %zu is not in 0..%u",
                        ids[i], i, tok->n_vocab - 1);
        drop_space(&strip, &p, &len);
        if (len && total + len <= cap)
            memcpy(buf + total, p, len);
        total += len;
    }
    *n_out = total;
    if (total > cap)
        return fail(err, FSK_ERR_INVALID_ARG, "detokenize: needs %zu bytes, room for %zu", total,
                    cap);
    return FSK_OK;
}

void fsk_detok_init(fsk_detok *st, const fsk_tokenizer *tok, int special)
{
    memset(st, 0, sizeof *st);
    st->tok = tok;
    st->special = special;
}

/* How many bytes at the end of p[0..n) are the start of a UTF-8 character that more bytes could
 * still complete (0 when the end is whole or can never be). */
static size_t incomplete_tail(const unsigned char *p, size_t n)
{
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        unsigned b = p[n - back];
        if ((b & 0xc0) == 0x80)
            continue; /* a continuation: its lead is further back */
        size_t need = b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3
                    : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
        if (need <= back)
            return 0;
        if (back >= 2) { /* the second byte narrows the range for E0, ED, F0, F4 */
            unsigned c = p[n - back + 1];
            if ((b == 0xe0 && c < 0xa0) || (b == 0xed && c > 0x9f) || (b == 0xf0 && c < 0x90) ||
                (b == 0xf4 && c > 0x8f))
                return 0;
        }
        return back;
    }
    return 0;
}

fsk_status fsk_detok_push(fsk_detok *st, int32_t id, char *buf, size_t cap, size_t *n_out,
                          fsk_error *err)
{
    if (n_out)
        *n_out = 0;
    if (!st || !n_out || (!buf && cap))
        return fail(err, FSK_ERR_INVALID_ARG, "detok_push: NULL state, buf or n_out");
    size_t len;
    const char *p = fsk_tokenizer_piece(st->tok, id, st->special, &len);
    if (!p)
        return fail(err, FSK_ERR_INVALID_ARG, "detok_push: id %d is not in the vocabulary", id);
    int strip = st->started ? st->strip_space : strips_space(st->tok, id);
    drop_space(&strip, &p, &len);
    size_t total = st->n_held + len;
    if (total > cap) {
        *n_out = total;
        return fail(err, FSK_ERR_INVALID_ARG, "detok_push: needs %zu bytes, room for %zu", total,
                    cap);
    }
    st->started = 1;
    st->strip_space = strip;
    if (!total)
        return FSK_OK;
    memcpy(buf, st->held, st->n_held);
    memcpy(buf + st->n_held, p, len);
    size_t keep = incomplete_tail((const unsigned char *)buf, total);
    memcpy(st->held, buf + total - keep, keep);
    st->n_held = (unsigned)keep;
    *n_out = total - keep;
    return FSK_OK;
}

fsk_status fsk_detok_flush(fsk_detok *st, char *buf, size_t cap, size_t *n_out, fsk_error *err)
{
    if (n_out)
        *n_out = 0;
    if (!st || !n_out || (!buf && cap))
        return fail(err, FSK_ERR_INVALID_ARG, "detok_flush: NULL state, buf or n_out");
    if (st->n_held > cap) {
        *n_out = st->n_held;
        return fail(err, FSK_ERR_INVALID_ARG, "detok_flush: needs %u bytes, room for %zu",
                    st->n_held, cap);
    }
    if (st->n_held)
        memcpy(buf, st->held, st->n_held);
    *n_out = st->n_held;
    st->n_held = 0;
    st->started = st->strip_space = 0; /* the next push begins a new stream */
    return FSK_OK;
}

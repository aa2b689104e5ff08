/* repack.c: Q4_1, Q8_0, Q4_0, Q5_0 and Q5_1 weight matrices rewritten at load into the eight-row
 * layouts (FSK_TYPE_*_R8) that the chosen kernels read best.
 *
 * Only where the table's r8 matvec is a SIMD variant of the same family as its plain one, or the
 * AVX2 one beside an AVX-512 plain one (Q4_K, Q5_K: their file-layout AVX-512 kernels lose to the
 * records):
 * other tables (ref, NEON) keep the file layout. Q4_1's matvec streams faster from the records
 * (one ascending stream, no horizontal sums); Q8_0's streams as fast as before and its matmul,
 * the prompt's, runs faster. The copy replaces the file's: each
 * matrix goes into one anonymous arena and this process's pages of it in the file mapping are
 * dropped as soon as it is done, so resident memory stays about the file's size (the issue's
 * rule: instead of, never in addition to, the mapped copy). Weights already copied to NUMA nodes
 * are rewritten in place, where they are bound. An embedding of its own keeps its layout (only
 * a row per token is read); an output head tied to the embedding is repacked, and the embedding
 * with it (fsk_weight_row reads a row back out of the records). FSK_REPACK=0 turns repacking
 * off.
 *
 * The same arena takes every other matrix a matvec reads, copied as it is, when the kernel gives
 * anonymous memory transparent huge pages (fsk_huge_pages_enabled; FSK_HUGEPAGES=0 turns it off):
 * a file mapping comes in 4 KiB pages, and streaming weights through them costs a TLB walk per
 * page and stops the hardware prefetchers at every page boundary. One thread's streaming read here
 * (Zen 4) goes from 24-27 GB/s to 32-33 GB/s in 2 MiB pages. Same rule: the file's pages go as
 * the copy is written. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dispatch.h"
#include "llama.h"
#include "numa.h"
#include "quant.h"

static size_t bytes_of(const struct fsk_weight *w)
{
    return (size_t)w->rows * w->row_bytes;
}

/* The r8 type of a weight type whose layout is rewritten at load, or 0 (k NULL: repacking off). */
static uint32_t r8_type(uint32_t type, const struct fsk_kernels *k)
{
    static const struct {
        uint32_t plain, r8;
        enum fsk_op matvec, matvec_r8;
    } layouts[] = {
        {FSK_TYPE_Q4_1, FSK_TYPE_Q4_1_R8, FSK_OP_matvec_q4_1, FSK_OP_matvec_q4_1_r8},
        {FSK_TYPE_Q8_0, FSK_TYPE_Q8_0_R8, FSK_OP_matvec_q8_0, FSK_OP_matvec_q8_0_r8},
        {FSK_TYPE_Q4_0, FSK_TYPE_Q4_0_R8, FSK_OP_matvec_q4_0, FSK_OP_matvec_q4_0_r8},
        {FSK_TYPE_Q5_0, FSK_TYPE_Q5_0_R8, FSK_OP_matvec_q5_0, FSK_OP_matvec_q5_0_r8},
        {FSK_TYPE_Q5_1, FSK_TYPE_Q5_1_R8, FSK_OP_matvec_q5_1, FSK_OP_matvec_q5_1_r8},
        {FSK_TYPE_Q4_K, FSK_TYPE_Q4_K_R8, FSK_OP_matvec_q4_k, FSK_OP_matvec_q4_k_r8},
        {FSK_TYPE_Q5_K, FSK_TYPE_Q5_K_R8, FSK_OP_matvec_q5_k, FSK_OP_matvec_q5_k_r8},
        {FSK_TYPE_Q6_K, FSK_TYPE_Q6_K_R8, FSK_OP_matvec_q6_k, FSK_OP_matvec_q6_k_r8},
    };
    for (size_t i = 0; k && i < sizeof layouts / sizeof *layouts; i++)
        if (type == layouts[i].plain) {
            const enum fsk_isa isa = fsk_kernels_op_isa(k, layouts[i].matvec_r8);
            const enum fsk_isa plain = fsk_kernels_op_isa(k, layouts[i].matvec);
            return isa != FSK_ISA_REF && (isa == plain || plain == FSK_ISA_AVX512) ? layouts[i].r8 : 0;
        }
    return 0;
}

/* A matrix to move into the arena: to is its r8 type, or 0 to copy it as it is. */
struct move {
    struct fsk_weight *w;
    uint32_t to;
};

/* The matrices to move into out (NULL: count them): those to repack, and with copy_all every
 * other matrix that a matvec reads. A layer's Q, K and V are split over threads as one range
 * (forward.c), so they are repacked only together, when each has whole groups of rows: then every
 * thread's share of each starts and ends on a group. */
static size_t list(fsk_model *m, const struct fsk_kernels *k, int copy_all, struct move *out)
{
    size_t n = 0;
#define ADD(W, OK)                                                                                 \
    do {                                                                                           \
        const uint32_t to_ = (OK) && (W)->rows % FSK_R8 == 0 ? r8_type((W)->type, k) : 0;          \
        if (to_ || copy_all) {                                                                     \
            if (out)                                                                               \
                out[n] = (struct move){(W), to_};                                                  \
            n++;                                                                                   \
        }                                                                                          \
    } while (0)
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        struct fsk_layer *L = &m->layers[l];
        const int qkv = L->wq.rows % FSK_R8 == 0 && L->wk.rows % FSK_R8 == 0 && L->wv.rows % FSK_R8 == 0;
        ADD(&L->wq, qkv);
        ADD(&L->wk, qkv);
        ADD(&L->wv, qkv);
        ADD(&L->wo, 1);
        ADD(&L->gate, 1);
        ADD(&L->up, 1);
        ADD(&L->down, 1);
    }
    ADD(&m->output, 1); /* tied or not: the embedding's lookup reads repacked rows too */
    if (copy_all && !m->tied_output && out) /* only a row per token is read: copied, never repacked */
        out[n] = (struct move){&m->tok_embd, 0};
    n += copy_all && !m->tied_output;
#undef ADD
    return n;
}

/* Rows per slab of a move from the file: the file's pages of each slab are dropped once it is
 * written, so a large matrix (a 49152-row output head) is never held twice in full. */
#define SLAB_ROWS 512
/* How far around a slab its drop reaches: a fault on the file mapping may map a whole large folio
 * of the page cache, beyond the slab and the matrix, both ways (ext4 on Linux 6.18 here: runs of
 * 4 MiB on 2 MiB boundaries came back mapped); pages of a matrix moved before would stay mapped
 * until the end. Measured: without the margin (and the norms moved too), an F16 model loaded with
 * a peak RSS of 347.6 MB against 272.4 MB from the mapping alone; with it, 274.6 MB. */
#define DROP_MARGIN ((size_t)4 << 20)

/* The tensor data's extent in the file mapping: drops stay inside it. */
struct extent {
    uintptr_t lo, hi;
};

/* Drops the file's pages of [a, b) widened by margin each way, inside x (only whole pages). */
static void drop_around(struct extent x, uintptr_t a, uintptr_t b, size_t margin)
{
    a = a - x.lo > margin ? a - margin : x.lo;
    b = x.hi - b > margin ? b + margin : x.hi;
    if (a < b)
        fsk_drop_file_pages((const void *)a, b - a);
}

/* Writes mv's rows from src into dst, repacked into its r8 layout or copied as they are, and sets
 * its type. drop: x is the file's tensor extent, whose pages are released as the slabs are done. */
static void move_one(const struct move *mv, void *dst, const void *src, const struct extent *drop)
{
    struct fsk_weight *w = mv->w;
    for (size_t r = 0; r < w->rows; r += SLAB_ROWS) {
        const size_t n = w->rows - r < SLAB_ROWS ? w->rows - r : SLAB_ROWS; /* whole groups */
        const size_t off = r * w->row_bytes;
        if (mv->to)
            fsk_repack_r8((char *)dst + off, (const char *)src + off, n, w->row_bytes, w->cols, mv->to);
        else
            memcpy((char *)dst + off, (const char *)src + off, n * w->row_bytes);
        if (drop) /* everything read so far, and what a fault mapped around it */
            drop_around(*drop, (uintptr_t)src, (uintptr_t)src + off + n * w->row_bytes, DROP_MARGIN);
    }
    if (mv->to)
        w->type = mv->to;
}

/* The kernel table when repacking is on (FSK_REPACK is not 0 and a table was chosen), else NULL. */
static const struct fsk_kernels *repack_table(void)
{
    const char *e = getenv("FSK_REPACK");
    const struct fsk_kernels *k;
    if ((e && !strcmp(e, "0")) || fsk_kernels_get(&k, NULL) != FSK_OK)
        return NULL;
    return k;
}

int fsk_repack_enabled(uint32_t type)
{
    return r8_type(type, repack_table()) != 0;
}

/* Moving every matrix pays only where it gets huge pages, and only from a file mapping (a caller's
 * memory would stay: the weights would be held twice). NUMA-placed weights are in an arena of
 * their own already. */
int fsk_model_moves_weights(const fsk_model *m)
{
    return fsk_gguf_is_mapped(m->gguf) && !m->numa_arena && !m->repack_arena && fsk_huge_pages_enabled();
}

fsk_status fsk_model_repack(fsk_model *m)
{
    const struct fsk_kernels *k = repack_table();
    const int mapped = fsk_gguf_is_mapped(m->gguf);
    const int huge = fsk_model_moves_weights(m);
    const size_t n = list(m, k, huge, NULL), ps = fsk_page_size();
    if (n == 0)
        return FSK_OK;
    struct move *mv = calloc(n, sizeof *mv);
    if (!mv)
        return FSK_ERR_NOMEM;
    list(m, k, huge, mv);
    size_t total = 0, largest = 0;
    for (size_t i = 0; i < n; i++) {
        total += (bytes_of(mv[i].w) + ps - 1) / ps * ps;
        largest = bytes_of(mv[i].w) > largest ? bytes_of(mv[i].w) : largest;
    }
    const size_t norm_floats = huge ? (2 * (size_t)m->hp.n_layer + 1) * m->hp.n_embd : 0;
    total += norm_floats * sizeof(float);
    fsk_status st = FSK_OK;
    if (m->numa_arena) { /* our own copy, bound to its nodes: rewrite it where it is */
        void *scratch = malloc(largest);
        if (!scratch) {
            st = FSK_ERR_NOMEM;
        } else {
            for (size_t i = 0; i < n; i++) {
                memcpy(scratch, mv[i].w->data, bytes_of(mv[i].w));
                move_one(&mv[i], (void *)(uintptr_t)mv[i].w->data, scratch, NULL);
            }
            free(scratch);
        }
        if (m->tied_output)
            m->tok_embd = m->output;
        free(mv);
        return st;
    }
    size_t mapped_bytes;
    char *arena = fsk_arena_map(total, huge, &mapped_bytes);
    if (!arena) { /* no memory for the copy: the file layout still works */
        free(mv);
        return FSK_OK;
    }
    struct extent ext;
    fsk_gguf_data_extent(m->gguf, &ext.lo, &ext.hi);
    char *dst = arena;
    for (size_t i = 0; i < n; i++) {
        struct fsk_weight *w = mv[i].w;
        /* memory given by a caller (fsk_model_load_memory) is theirs: left alone */
        move_one(&mv[i], dst, w->data, mapped ? &ext : NULL);
        w->data = dst;
        dst += (bytes_of(w) + ps - 1) / ps * ps;
    }
    if (huge) { /* the norm vectors too, so that nothing a token needs is read from the file */
        float *nv = (float *)(void *)dst;
        const size_t e = m->hp.n_embd;
        for (uint32_t l = 0; l <= m->hp.n_layer; l++) {
            const float **norms[2] = {l < m->hp.n_layer ? &m->layers[l].attn_norm : &m->output_norm,
                                      l < m->hp.n_layer ? &m->layers[l].ffn_norm : NULL};
            for (int j = 0; j < 2 && norms[j]; j++, nv += e) {
                const float *src = *norms[j];
                memcpy(nv, src, e * sizeof *nv);
                *norms[j] = nv;
                /* each read may map a large folio around the vector: megabytes, if left */
                drop_around(ext, (uintptr_t)src, (uintptr_t)(src + e), DROP_MARGIN);
            }
        }
    }
    if (m->tied_output)
        m->tok_embd = m->output;
    (void)mprotect(arena, mapped_bytes, PROT_READ); /* weights are read-only from here on */
    m->repack_arena = arena;
    m->repack_arena_bytes = mapped_bytes;
    m->huge_arena = huge;
    free(mv);
    return FSK_OK;
}

void fsk_model_repack_release(fsk_model *m)
{
    if (m->repack_arena)
        munmap(m->repack_arena, m->repack_arena_bytes);
    m->repack_arena = NULL;
}

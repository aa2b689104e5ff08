/* repack.c: Q4_1 and Q8_0 weight matrices rewritten at load into the eight-row layouts
 * (FSK_TYPE_Q4_1_R8, FSK_TYPE_Q8_0_R8) that the chosen kernels read best.
 *
 * Only where the table's r8 matvec is a SIMD variant of the same family as its plain one (x86
 * AVX2 today): other tables keep the file layout. Q4_1's matvec streams faster from the records
 * (one ascending stream, no horizontal sums); Q8_0's streams as fast as before and its matmul,
 * the prompt's, runs faster. The copy replaces the file's: each
 * matrix goes into one anonymous arena and this process's pages of it in the file mapping are
 * dropped as soon as it is done, so resident memory stays about the file's size (the issue's
 * rule: instead of, never in addition to, the mapped copy). Weights already copied to NUMA nodes
 * are rewritten in place, where they are bound. An embedding of its own keeps its layout (only
 * a row per token is read); an output head tied to the embedding is repacked, and the embedding
 * with it (fsk_weight_row reads a row back out of the records). FSK_REPACK=0 turns repacking
 * off. */
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

/* The r8 type of a weight type whose layout is rewritten at load, or 0. */
static uint32_t r8_type(uint32_t type, const struct fsk_kernels *k)
{
    if (type == FSK_TYPE_Q4_1 && k->matvec_q4_1_r8_isa != FSK_ISA_REF &&
        k->matvec_q4_1_r8_isa == k->matvec_q4_1_isa)
        return FSK_TYPE_Q4_1_R8;
    if (type == FSK_TYPE_Q8_0 && k->matvec_q8_0_r8_isa != FSK_ISA_REF &&
        k->matvec_q8_0_r8_isa == k->matvec_q8_0_isa)
        return FSK_TYPE_Q8_0_R8;
    return 0;
}

/* The matrices to repack into out (NULL: count them). A layer's Q, K and V are split over threads
 * as one range (forward.c), so they go only together, when each has whole groups of rows: then
 * every thread's share of each starts and ends on a group. */
static size_t list(fsk_model *m, const struct fsk_kernels *k, struct fsk_weight **out)
{
    size_t n = 0;
#define ADD(W) do { if (r8_type((W)->type, k) && (W)->rows % FSK_R8 == 0) { if (out) out[n] = (W); n++; } } while (0)
    for (uint32_t l = 0; l < m->hp.n_layer; l++) {
        struct fsk_layer *L = &m->layers[l];
        if (L->wq.rows % FSK_R8 == 0 && L->wk.rows % FSK_R8 == 0 && L->wv.rows % FSK_R8 == 0) {
            ADD(&L->wq);
            ADD(&L->wk);
            ADD(&L->wv);
        }
        ADD(&L->wo);
        ADD(&L->gate);
        ADD(&L->up);
        ADD(&L->down);
    }
    ADD(&m->output); /* tied or not: the embedding's lookup reads repacked rows too */
#undef ADD
    return n;
}

/* Rows per slab of a repack from the file: the file's pages of each slab are dropped once it is
 * written, so a large matrix (a 49152-row output head) is never held twice in full. */
#define SLAB_ROWS 512

/* Rewrites w's rows from src into dst, in w's r8 layout, and sets its type. drop: release the
 * file's pages of src as the slabs are done. */
static void repack_one(struct fsk_weight *w, void *dst, const void *src, const struct fsk_kernels *k,
                       int drop)
{
    const uint32_t t = r8_type(w->type, k);
    for (size_t r = 0; r < w->rows; r += SLAB_ROWS) {
        const size_t n = w->rows - r < SLAB_ROWS ? w->rows - r : SLAB_ROWS; /* whole groups */
        const size_t off = r * w->row_bytes;
        if (t == FSK_TYPE_Q8_0_R8)
            fsk_repack_q8_0_r8((char *)dst + off, (const char *)src + off, n, w->row_bytes, w->cols);
        else
            fsk_repack_q4_1_r8((char *)dst + off, (const char *)src + off, n, w->row_bytes, w->cols);
        if (drop) /* everything read so far: only whole pages inside the range go */
            fsk_drop_file_pages(src, off + n * w->row_bytes);
    }
    w->type = t;
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
    const struct fsk_kernels *k = repack_table();
    return k && r8_type(type, k) != 0;
}

fsk_status fsk_model_repack(fsk_model *m)
{
    const struct fsk_kernels *k = repack_table();
    if (!k)
        return FSK_OK;
    const size_t n = list(m, k, NULL), ps = fsk_page_size();
    if (n == 0)
        return FSK_OK;
    struct fsk_weight **ws = calloc(n, sizeof *ws);
    if (!ws)
        return FSK_ERR_NOMEM;
    list(m, k, ws);
    size_t total = 0, largest = 0;
    for (size_t i = 0; i < n; i++) {
        total += (bytes_of(ws[i]) + ps - 1) / ps * ps;
        largest = bytes_of(ws[i]) > largest ? bytes_of(ws[i]) : largest;
    }
    fsk_status st = FSK_OK;
    if (m->numa_arena) { /* our own copy, bound to its nodes: rewrite it where it is */
        void *scratch = malloc(largest);
        if (!scratch) {
            st = FSK_ERR_NOMEM;
        } else {
            for (size_t i = 0; i < n; i++) {
                memcpy(scratch, ws[i]->data, bytes_of(ws[i]));
                repack_one(ws[i], (void *)(uintptr_t)ws[i]->data, scratch, k, 0);
            }
            free(scratch);
        }
        if (m->tied_output)
            m->tok_embd = m->output;
        free(ws);
        return st;
    }
    char *arena = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arena == MAP_FAILED) { /* no memory for the copy: the file layout still works */
        free(ws);
        return FSK_OK;
    }
    const int mapped = fsk_gguf_is_mapped(m->gguf);
    char *dst = arena;
    for (size_t i = 0; i < n; i++) {
        struct fsk_weight *w = ws[i];
        /* memory given by a caller (fsk_model_load_memory) is theirs: left alone */
        repack_one(w, dst, w->data, k, mapped);
        w->data = dst;
        dst += (bytes_of(w) + ps - 1) / ps * ps;
    }
    if (m->tied_output)
        m->tok_embd = m->output;
    (void)mprotect(arena, total, PROT_READ); /* weights are read-only from here on */
    m->repack_arena = arena;
    m->repack_arena_bytes = total;
    free(ws);
    return FSK_OK;
}

void fsk_model_repack_release(fsk_model *m)
{
    if (m->repack_arena)
        munmap(m->repack_arena, m->repack_arena_bytes);
    m->repack_arena = NULL;
}

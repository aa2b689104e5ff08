/* repack.c: Q4_1 weight matrices rewritten at load into the eight-row layout (FSK_TYPE_Q4_1_R8)
 * that the chosen kernel table streams best.
 *
 * Only where the table's Q4_1_R8 matvec is a SIMD variant of the same family as its plain Q4_1
 * one (x86 AVX2 today): other tables keep the file layout. The copy replaces the file's: each
 * matrix goes into one anonymous arena and this process's pages of it in the file mapping are
 * dropped as soon as it is done, so resident memory stays about the file's size (the issue's
 * rule: instead of, never in addition to, the mapped copy). Weights already copied to NUMA nodes
 * are rewritten in place, where they are bound. The embedding keeps its layout (rows are read
 * one at a time and dequantized); a tied output head is the embedding, so it keeps it too.
 * FSK_REPACK=0 turns repacking off. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "dispatch.h"
#include "llama.h"
#include "numa.h"
#include "quant.h"

static size_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

static size_t bytes_of(const struct fsk_weight *w)
{
    return (size_t)w->rows * w->row_bytes;
}

/* The matrices to repack into out (NULL: count them). A layer's Q, K and V are split over threads
 * as one range (forward.c), so they go only together, when each has whole groups of rows: then
 * every thread's share of each starts and ends on a group. */
static size_t list(fsk_model *m, struct fsk_weight **out)
{
    size_t n = 0;
#define ADD(W) do { if ((W)->type == FSK_TYPE_Q4_1 && (W)->rows % FSK_R8 == 0) { if (out) out[n] = (W); n++; } } while (0)
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
    if (!m->tied_output)
        ADD(&m->output);
#undef ADD
    return n;
}

int fsk_repack_enabled(void)
{
    const char *e = getenv("FSK_REPACK");
    if (e && !strcmp(e, "0"))
        return 0;
    const struct fsk_kernels *k;
    if (fsk_kernels_get(&k, NULL) != FSK_OK)
        return 0;
    return k->matvec_q4_1_r8_isa != FSK_ISA_REF && k->matvec_q4_1_r8_isa == k->matvec_q4_1_isa;
}

fsk_status fsk_model_repack(fsk_model *m)
{
    if (!fsk_repack_enabled())
        return FSK_OK;
    const size_t n = list(m, NULL), ps = page_size();
    if (n == 0)
        return FSK_OK;
    struct fsk_weight **ws = calloc(n, sizeof *ws);
    if (!ws)
        return FSK_ERR_NOMEM;
    list(m, ws);
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
                fsk_repack_q4_1_r8((void *)(uintptr_t)ws[i]->data, scratch, ws[i]->rows,
                                   ws[i]->row_bytes, ws[i]->cols);
                ws[i]->type = FSK_TYPE_Q4_1_R8;
            }
            free(scratch);
        }
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
        fsk_repack_q4_1_r8(dst, w->data, w->rows, w->row_bytes, w->cols);
        if (mapped) /* memory given by a caller (fsk_model_load_memory) is theirs: left alone */
            fsk_drop_file_pages(w->data, bytes_of(w));
        w->data = dst;
        w->type = FSK_TYPE_Q4_1_R8;
        dst += (bytes_of(w) + ps - 1) / ps * ps;
    }
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

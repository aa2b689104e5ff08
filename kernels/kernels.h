/* kernels.h: kernel prototypes, the dispatch table type and the ISA list, all expanded from kernels.def. */
#ifndef FSK_KERNELS_H
#define FSK_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/* Instruction sets, in ascending order of preference within a family. */
enum fsk_isa {
    FSK_ISA_REF = 0,
    FSK_ISA_AVX2,
    FSK_ISA_AVX512,
    FSK_ISA_NEON,
    FSK_ISA_COUNT
};

const char *fsk_isa_name(enum fsk_isa isa);
/* Parses "ref", "avx2", "avx512" or "neon"; returns FSK_ISA_COUNT when unknown. */
enum fsk_isa fsk_isa_from_name(const char *name);

/* Positions per tile of the keys' cache, as tdot_f16 reads it (kernels.def). */
#define FSK_KTILE 16

/* One function-pointer type per op. */
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) typedef ret (*fsk_##op##_fn) params;
#include "kernels.def"
#undef FSK_KERNEL

/* Every variant's prototype; only those marked 1 in kernels.def are defined. */
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) \
    ret fsk_##op##__ref params;                    \
    ret fsk_##op##__avx2 params;                   \
    ret fsk_##op##__avx512 params;                 \
    ret fsk_##op##__neon params;
#include "kernels.def"
#undef FSK_KERNEL

/* The dispatch table: one pointer per op and the ISA it came from. Filled once, then read-only. */
struct fsk_kernels {
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) fsk_##op##_fn op;
#include "kernels.def"
#undef FSK_KERNEL
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) enum fsk_isa op##_isa;
#include "kernels.def"
#undef FSK_KERNEL
};

/* Ops by index, for tools that walk the list (info, verify, bench). */
enum fsk_op {
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) FSK_OP_##op,
#include "kernels.def"
#undef FSK_KERNEL
    FSK_OP_COUNT
};

struct fsk_op_info {
    const char *name;
    int has[FSK_ISA_COUNT]; /* variant exists in the source list */
};
extern const struct fsk_op_info fsk_op_list[FSK_OP_COUNT];

/* The ISA that fills op in table t. */
enum fsk_isa fsk_kernels_op_isa(const struct fsk_kernels *t, enum fsk_op op);
/* The function that fills op in table t. */
const void *fsk_kernels_op_fn(const struct fsk_kernels *t, enum fsk_op op);

#endif

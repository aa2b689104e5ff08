/* dispatch.h: the process-wide kernel table and ways to build a table for one named ISA. */
#ifndef FSK_DISPATCH_H
#define FSK_DISPATCH_H

#include "ffnskip.h"
#include "kernels.h"

/* The table chosen for this process (FSK_ISA honoured), built once. On failure *out is NULL and
 * *message says why (for example FSK_ISA naming an ISA the CPU lacks). */
fsk_status fsk_kernels_get(const struct fsk_kernels **out, const char **message);
/* Builds a table whose best ISA is top (ref underneath). Fails when top is not usable here. With
 * top AVX-512, the ops fsk_kernels_prefers_avx2 names take their AVX2 variant. */
fsk_status fsk_kernels_build(struct fsk_kernels *t, enum fsk_isa top, char *msg, size_t msglen);
/* 1 when op is one that takes its AVX2 variant under an AVX-512 table (where both are built). */
int fsk_kernels_prefers_avx2(enum fsk_op op);
/* The integer dot-product instruction op runs in its variant t has chosen, where that variant has
 * more than one path picked per call from the CPU bits ("vpdpbusd, AVX512-VNNI", "sdot", ...);
 * NULL for ops with one path. */
const char *fsk_kernels_op_path(const struct fsk_kernels *t, enum fsk_op op);
/* "isa" or "isa (path)" for op in t, as `ffnskip info` prints it, into buf (len > 0); returns buf. */
const char *fsk_kernels_op_label(const struct fsk_kernels *t, enum fsk_op op, char *buf, size_t len);
/* The best ISA this build and CPU can run. */
enum fsk_isa fsk_best_isa(void);

#endif

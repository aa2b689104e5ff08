/* verify.h: compares one kernel variant with the scalar reference under each op's stated tolerance. */
#ifndef FSK_VERIFY_H
#define FSK_VERIFY_H

#include "kernels.h"

struct fsk_verify_result {
    long checks;           /* values compared */
    long failures;         /* values outside tolerance */
    char first[256];       /* description of the first failure */
};

/* The function implementing op for exactly isa, or NULL when this build lacks it. */
void *fsk_kernel_variant(enum fsk_op op, enum fsk_isa isa);

/* Runs op's variant for isa against ref. thorough: every size from 1 to 4x the widest vector
 * plus odd tails and model sizes; otherwise a handful of sizes. Caller makes sure the CPU can
 * run isa. Returns 0 when all values are within tolerance. */
int fsk_verify_op(enum fsk_op op, enum fsk_isa isa, int thorough, struct fsk_verify_result *res);

#endif

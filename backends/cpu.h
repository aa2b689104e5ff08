/* cpu.h: what the processor and the OS let us run, detected once. */
#ifndef FSK_CPU_H
#define FSK_CPU_H

#include <stdatomic.h>
#include <stddef.h>

#include "kernels.h"

enum fsk_cpu_feature {
    FSK_CPU_SSE42,
    FSK_CPU_AVX,
    FSK_CPU_AVX2,
    FSK_CPU_FMA,
    FSK_CPU_F16C,
    FSK_CPU_OS_YMM,  /* XCR0 says the OS saves YMM state */
    FSK_CPU_AVX512F,
    FSK_CPU_AVX512BW,
    FSK_CPU_AVX512DQ,
    FSK_CPU_AVX512VL,
    FSK_CPU_AVX512VNNI,
    FSK_CPU_AVXVNNI,
    FSK_CPU_OS_ZMM,  /* XCR0 says the OS saves opmask and ZMM state */
    FSK_CPU_AMX_INT8, /* AMX-TILE and AMX-INT8, tile state enabled in XCR0 and granted to this
                       * process by the OS (Linux: arch_prctl ARCH_REQ_XCOMP_PERM, asked after
                       * FSK_CPU_OFF is read), the AVX-512 variant's features all present and
                       * the AMX kernels built: the AMX kernels can run */
    FSK_CPU_SWPF,     /* not an instruction set: software prefetch of a weight row stream pays
                       * here (Intel; on AMD Zen 4 the hardware prefetchers kept pace and the
                       * F16 fetch-ahead measured level to slower) */
    FSK_CPU_NEON,
    FSK_CPU_DOTPROD,
    FSK_CPU_FP16,
    FSK_CPU_I8MM,
    FSK_CPU_FEATURE_COUNT
};

struct fsk_cpu {
    char arch[16];
    char brand[64];
    unsigned long long features; /* bit i set when feature i is present */
};

/* Fills cpu for this machine (arch-specific file). FSK_CPU_AMX_INT8 there says what the CPU and
 * XCR0 allow; fsk_cpu_get keeps it only once fsk_cpu_request_amx (x86) has the OS's grant. */
void fsk_cpu_detect(struct fsk_cpu *cpu);
int fsk_cpu_request_amx(void);
/* The detected CPU, computed once. */
const struct fsk_cpu *fsk_cpu_get(void);
const char *fsk_cpu_feature_name(enum fsk_cpu_feature f);
/* The names in FSK_CPU_OFF that are not features (comma-separated, as given), or NULL. */
const char *fsk_cpu_off_unknown(void);
int fsk_cpu_has(const struct fsk_cpu *cpu, enum fsk_cpu_feature f);
/* 1 when this build has isa's kernels and this CPU can run them; else 0 and *why says which
 * part is missing (build or CPU feature). */
int fsk_isa_usable(enum fsk_isa isa, const char **why);

/* How far ahead the matvecs over eight-row records fetch in software (kernels/x86/prefetch.h):
 * the bytes fetched end this far past the start of the record being read; 0: no fetching. The
 * distance that keeps a stream at memory's pace is latency times bandwidth, and both depend on
 * where the weights come from: NEAR for weights streamed from DRAM, FAR for weights the
 * last-level cache can hold (higher bandwidth, so more bytes in flight). Process-wide: a prefetch
 * distance changes no result, only speed. Read by the kernels once per group of rows. */
#define FSK_PF_REACH_NEAR 3072
#define FSK_PF_REACH_FAR 8192
#define FSK_PF_REACH_MAX 65536
extern atomic_size_t fsk_pf_reach_bytes;
static inline size_t fsk_pf_reach(void)
{
    return atomic_load_explicit(&fsk_pf_reach_bytes, memory_order_relaxed);
}
/* Sets the reach for weights of weight_bytes on a machine whose last-level cache totals llc_bytes
 * (0: unknown): FAR when they fit in half of it, else NEAR; FSK_PF_REACH (near, far, off or a
 * byte count up to FSK_PF_REACH_MAX), when set and valid, wins. Returns the reach now in force
 * and, in *why (may be NULL), a phrase saying why. */
size_t fsk_pf_reach_choose(size_t weight_bytes, size_t llc_bytes, const char **why);
/* The reach fsk_pf_reach_choose would set, without setting it (ffnskip info). */
size_t fsk_pf_reach_rule(size_t weight_bytes, size_t llc_bytes, const char **why);
/* FSK_PF_REACH's value when it is set but not valid (then ignored), or NULL. */
const char *fsk_pf_reach_env_invalid(void);

#endif

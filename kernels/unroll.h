/* unroll.h: the unrolling and inlining hints the SIMD kernels share.
 *
 * Kernels keep per-row and per-token accumulators in small arrays indexed by loops of constant
 * count; those loops must be unrolled (and the helpers holding them inlined) for the
 * accumulators to live in registers. GCC's -O2 does neither by itself for bodies this big: it
 * kept them in a stack array, a store and a reload per FMA. None of this changes arithmetic. */
#ifndef FSK_UNROLL_H
#define FSK_UNROLL_H

#if defined(__clang__)
#define FSK_UNROLL _Pragma("unroll")
#define FSK_UNROLL16 _Pragma("unroll")
#elif defined(__GNUC__)
#define FSK_UNROLL _Pragma("GCC unroll 8")
#define FSK_UNROLL16 _Pragma("GCC unroll 16") /* loops over 16 accumulators */
#else
#define FSK_UNROLL
#define FSK_UNROLL16
#endif

#if defined(__GNUC__)
#define FSK_FORCE_INLINE static inline __attribute__((always_inline))
#else
#define FSK_FORCE_INLINE static inline
#endif

#endif

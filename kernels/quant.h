/* quant.h: GGML tensor type ids, their block layouts, and size traits (the on-disk formats of GGUF). */
#ifndef FSK_QUANT_H
#define FSK_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* Type ids as stored in GGUF tensor infos. Only the ones we run are named; others are rejected. */
enum fsk_type {
    FSK_TYPE_F32 = 0,
    FSK_TYPE_F16 = 1,
    FSK_TYPE_Q4_0 = 2,
    FSK_TYPE_Q4_1 = 3,
    FSK_TYPE_Q5_0 = 6,
    FSK_TYPE_Q5_1 = 7,
    FSK_TYPE_Q8_0 = 8,
    FSK_TYPE_Q8_1 = 9, /* activations only */
    FSK_TYPE_Q4_K = 12,
    FSK_TYPE_Q5_K = 13,
    FSK_TYPE_Q6_K = 14,
    FSK_TYPE_Q8_K = 15, /* activations only */
    FSK_TYPE_BF16 = 30,
    /* Ids from 64 are ours, never GGUF's: weight layouts made at load (a file holding one is
     * refused as an unknown type). */
    FSK_TYPE_Q4_1_R8 = 64, /* Q4_1 rows repacked eight at a time (fsk_block_q4_1_r8) */
    FSK_TYPE_Q8_0_R8 = 65, /* Q8_0 rows repacked eight at a time (fsk_block_q8_0_r8) */
    FSK_TYPE_Q4_0_R8 = 66, /* Q4_0 rows repacked eight at a time (fsk_block_q4_0_r8) */
    FSK_TYPE_Q5_0_R8 = 67, /* Q5_0 rows repacked eight at a time (fsk_block_q5_0_r8) */
    FSK_TYPE_Q5_1_R8 = 68, /* Q5_1 rows repacked eight at a time (fsk_block_q5_1_r8) */
    FSK_TYPE_Q4_K_R8 = 69, /* Q4_K rows repacked eight at a time (fsk_block_q4_K_r8) */
    FSK_TYPE_Q5_K_R8 = 70, /* Q5_K rows repacked eight at a time (fsk_block_q5_K_r8) */
    FSK_TYPE_Q6_K_R8 = 71, /* Q6_K rows repacked eight at a time (fsk_block_q6_K_r8) */
    FSK_TYPE_COUNT = 72
};

#define FSK_QK 32   /* elements per block of the 32-element formats */
#define FSK_QK_K 256 /* elements per super-block of the K formats */

typedef uint16_t fsk_half; /* IEEE binary16 bits */

typedef struct { fsk_half d; uint8_t qs[FSK_QK / 2]; } fsk_block_q4_0;            /* x = (q-8)*d */
typedef struct { fsk_half d, m; uint8_t qs[FSK_QK / 2]; } fsk_block_q4_1;         /* x = q*d + m */
typedef struct { fsk_half d; uint8_t qh[4]; uint8_t qs[FSK_QK / 2]; } fsk_block_q5_0;     /* (q-16)*d */
typedef struct { fsk_half d, m; uint8_t qh[4]; uint8_t qs[FSK_QK / 2]; } fsk_block_q5_1;  /* q*d + m */
typedef struct { fsk_half d; int8_t qs[FSK_QK]; } fsk_block_q8_0;                 /* x = q*d */
typedef struct { fsk_half d, s; int8_t qs[FSK_QK]; } fsk_block_q8_1;              /* s = d*sum(q) */
typedef struct { fsk_half d, dmin; uint8_t scales[12]; uint8_t qs[FSK_QK_K / 2]; } fsk_block_q4_K;
typedef struct {
    fsk_half d, dmin;
    uint8_t scales[12];
    uint8_t qh[FSK_QK_K / 8];
    uint8_t qs[FSK_QK_K / 2];
} fsk_block_q5_K;
typedef struct {
    uint8_t ql[FSK_QK_K / 2];
    uint8_t qh[FSK_QK_K / 4];
    int8_t scales[FSK_QK_K / 16];
    fsk_half d;
} fsk_block_q6_K;
typedef struct { float d; int8_t qs[FSK_QK_K]; int16_t bsums[FSK_QK_K / 16]; } fsk_block_q8_K;

/* Q4_1 repacked at load for the x86 matvec (FSK_TYPE_Q4_1_R8): block i of rows 8g..8g+7 as one
 * record, so that one load brings eight rows' scales and eight rows' quants sit side by side.
 * d[j], m[j] are row 8g+j's; qs[32k + 4j + b] is byte 4k + b of row 8g+j's qs (k, b < 4), that is
 * its quants 4k+b (low nibble) and 16+4k+b (high nibble). A group of eight rows takes exactly the
 * bytes the eight Q4_1 rows took: group g starts at 8 g row_bytes, its records in block order. */
#define FSK_R8 8
typedef struct { fsk_half d[FSK_R8], m[FSK_R8]; uint8_t qs[FSK_R8 * FSK_QK / 2]; } fsk_block_q4_1_r8;
/* Q8_0 the same way (FSK_TYPE_Q8_0_R8): qs[32k + 4j + b] is quant 4k + b of row 8g+j (k < 8). */
typedef struct { fsk_half d[FSK_R8]; int8_t qs[FSK_R8 * FSK_QK]; } fsk_block_q8_0_r8;
/* Q4_0 as Q4_1 without the minimums (FSK_TYPE_Q4_0_R8). */
typedef struct { fsk_half d[FSK_R8]; uint8_t qs[FSK_R8 * FSK_QK / 2]; } fsk_block_q4_0_r8;
/* Q5_0 as Q4_0 with the fifth bits between the scales and the quants (FSK_TYPE_Q5_0_R8), as one
 * 32-bit mask (little-endian bytes) per half of each quant vector: bit 4j + b of qh[4k..4k+3] is
 * the fifth bit of the low-nibble quant in byte 4j + b of vector k (row 8g+j's quant 4k+b), bit
 * 4j + b of qh[16 + 4k..] that of the high-nibble one (its quant 16+4k+b). A kernel turns a mask
 * into the sixteens of a whole vector at once. */
typedef struct {
    fsk_half d[FSK_R8];
    uint8_t qh[FSK_R8 * 4];
    uint8_t qs[FSK_R8 * FSK_QK / 2];
} fsk_block_q5_0_r8;
/* Q5_1 as Q4_1 with the fifth bits as Q5_0's records hold them (FSK_TYPE_Q5_1_R8). */
typedef struct {
    fsk_half d[FSK_R8], m[FSK_R8];
    uint8_t qh[FSK_R8 * 4];
    uint8_t qs[FSK_R8 * FSK_QK / 2];
} fsk_block_q5_1_r8;
/* Q4_K the same way (FSK_TYPE_Q4_K_R8): super-block i of rows 8g..8g+7 as one record. d[j] and
 * dmin[j] are row 8g+j's. sm holds the eight rows' 128 six-bit numbers u[], u[8s + j] row j's
 * scale of sub-block s and u[64 + 16p + 2j + h] its min of sub-block 2p + h: their low four bits
 * as nibbles (sm[b], b < 64: u[b] in the low nibble, u[64 + b] in the high one), then their top
 * two bits (sm[64 + b], b < 32: bits 2c, 2c + 1 are u[32c + b] >> 4), so that a few vector
 * operations unpack all of them. qs[256p + 32k + 4j + b] is row j's qs[32p + 4k + b]: its quant
 * 64p + 4k + b (sub-block 2p) in the low nibble and 64p + 32 + 4k + b (sub-block 2p + 1) in the
 * high one. */
typedef struct {
    fsk_half d[FSK_R8], dmin[FSK_R8];
    uint8_t sm[96];
    uint8_t qs[FSK_R8 * FSK_QK_K / 2];
} fsk_block_q4_K_r8;
/* Q5_K as Q4_K with the fifth bits between the scales and the quants (FSK_TYPE_Q5_K_R8), as masks
 * like Q5_0's records: for quant vector k = 4q + c of pair p, qh[64p + 32q + 4c..] (32 bits,
 * little-endian) are the fifth bits of its low nibbles (sub-block 2p) and qh[64p + 32q + 16 +
 * 4c..] those of its high ones (2p + 1), bit 4j + b for byte 4j + b of the vector. */
typedef struct {
    fsk_half d[FSK_R8], dmin[FSK_R8];
    uint8_t sm[96];
    uint8_t qh[FSK_R8 * FSK_QK_K / 8];
    uint8_t qs[FSK_R8 * FSK_QK_K / 2];
} fsk_block_q5_K_r8;
/* Q6_K the same way (FSK_TYPE_Q6_K_R8), codes 0..63 (the quant plus 32). sc[16m + 2j + h] is row
 * j's scale of 16-element group 2m + h. The codes of 32-element chunk m (elements 32m..32m+31),
 * as quant vectors k = 0..7 (byte 4j + b: row j's element 32m + 4k + b): their low four bits are
 * the low (m < 4) or high (m >= 4) nibbles of ql[256(m % 4) + 32k..], their top two bits bits
 * 2(m / 2), 2(m / 2) + 1 of qh[256(m % 2) + 32k..]. */
typedef struct {
    fsk_half d[FSK_R8];
    int8_t sc[FSK_R8 * FSK_QK_K / 16];
    uint8_t ql[FSK_R8 * FSK_QK_K / 2];
    uint8_t qh[FSK_R8 * FSK_QK_K / 4];
} fsk_block_q6_K_r8;

_Static_assert(sizeof(fsk_block_q4_0) == 18, "q4_0 layout");
_Static_assert(sizeof(fsk_block_q4_1) == 20, "q4_1 layout");
_Static_assert(sizeof(fsk_block_q5_0) == 22, "q5_0 layout");
_Static_assert(sizeof(fsk_block_q5_1) == 24, "q5_1 layout");
_Static_assert(sizeof(fsk_block_q8_0) == 34, "q8_0 layout");
_Static_assert(sizeof(fsk_block_q8_1) == 36, "q8_1 layout");
_Static_assert(sizeof(fsk_block_q4_K) == 144, "q4_K layout");
_Static_assert(sizeof(fsk_block_q5_K) == 176, "q5_K layout");
_Static_assert(sizeof(fsk_block_q6_K) == 210, "q6_K layout");
_Static_assert(sizeof(fsk_block_q8_K) == 292, "q8_K layout");
_Static_assert(sizeof(fsk_block_q4_1_r8) == FSK_R8 * sizeof(fsk_block_q4_1), "q4_1_r8 layout");
_Static_assert(sizeof(fsk_block_q8_0_r8) == FSK_R8 * sizeof(fsk_block_q8_0), "q8_0_r8 layout");
_Static_assert(sizeof(fsk_block_q4_0_r8) == FSK_R8 * sizeof(fsk_block_q4_0), "q4_0_r8 layout");
_Static_assert(sizeof(fsk_block_q5_0_r8) == FSK_R8 * sizeof(fsk_block_q5_0), "q5_0_r8 layout");
_Static_assert(sizeof(fsk_block_q5_1_r8) == FSK_R8 * sizeof(fsk_block_q5_1), "q5_1_r8 layout");
_Static_assert(sizeof(fsk_block_q4_K_r8) == FSK_R8 * sizeof(fsk_block_q4_K), "q4_K_r8 layout");
_Static_assert(sizeof(fsk_block_q5_K_r8) == FSK_R8 * sizeof(fsk_block_q5_K), "q5_K_r8 layout");
_Static_assert(sizeof(fsk_block_q6_K_r8) == FSK_R8 * sizeof(fsk_block_q6_K), "q6_K_r8 layout");
/* the K records share their first fields (quant.c and the kernels read them alike) */
_Static_assert(offsetof(fsk_block_q5_K_r8, sm) == offsetof(fsk_block_q4_K_r8, sm) &&
                   offsetof(fsk_block_q5_K, qh) == offsetof(fsk_block_q4_K, qs),
               "K records' heads");
/* the kernels read any record's scales at its start and Q4_1's and Q5_1's minimums right after */
_Static_assert(offsetof(fsk_block_q4_1_r8, m) == 2 * FSK_R8 && offsetof(fsk_block_q5_1_r8, m) == 2 * FSK_R8,
               "minimums follow the eight scales");

/* The layouts made at load, each as the stem of its ops (matvec_<t>, matmul_<t>): X(t) for each,
 * wherever code is written once per layout. */
#define FSK_R8_TYPES(X)                                                                            \
    X(q4_1_r8) X(q8_0_r8) X(q4_0_r8) X(q5_0_r8) X(q5_1_r8) X(q4_k_r8) X(q5_k_r8) X(q6_k_r8)

struct fsk_type_traits {
    const char *name;      /* "Q4_1"; NULL for ids we do not know */
    uint32_t block;        /* elements per block */
    uint32_t block_bytes;  /* bytes per block */
    enum fsk_type act;     /* the activation form its matvec takes (F32 for float types) */
    int weight;            /* 1 when it may hold model weights */
    int packed;            /* 1 for a layout made at load (never in a file); block_bytes is then
                            * one row's share of a block record */
};

/* Weight quantizers: n floats of src into n / block blocks at dst, by GGML's round-to-nearest
 * reference scheme (what gguf-py's quantize and llama.cpp's *_ref functions write, byte for byte).
 * Each returns the bytes written, or 0 when n is not a whole number of blocks. */
size_t fsk_quantize_row_q4_0(void *dst, const float *src, size_t n);
size_t fsk_quantize_row_q4_1(void *dst, const float *src, size_t n);
size_t fsk_quantize_row_q5_0(void *dst, const float *src, size_t n);
size_t fsk_quantize_row_q5_1(void *dst, const float *src, size_t n);
size_t fsk_quantize_row_q8_0(void *dst, const float *src, size_t n);
size_t fsk_quantize_row_bf16(void *dst, const float *src, size_t n); /* nearest even, NaN kept quiet */
typedef size_t (*fsk_quantize_row_fn)(void *dst, const float *src, size_t n);
/* The weight quantizer above for type t, or NULL (F32, F16, and the types we have none for). */
fsk_quantize_row_fn fsk_row_quantizer(uint32_t t);

/* Repacks rows rows (a multiple of FSK_R8) of ncols columns of type r8's plain type (fsk_type_plain:
 * Q4_1, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K or Q6_K), row r at src + r * row_stride, into the layout r8 (a *_R8
 * type) at dst (rows * fsk_type_row_bytes(plain, ncols) bytes; no overlap). Returns 0, or -1 when
 * rows or ncols do not fit the layout. */
int fsk_repack_r8(void *dst, const void *src, size_t rows, size_t row_stride, size_t ncols, uint32_t r8);
/* A Q4_K or Q5_K block's 12 scale bytes as its eight 6-bit scales and eight 6-bit mins. */
void fsk_k_scales(const uint8_t s[12], uint8_t sc[8], uint8_t mn[8]);
/* The GGUF type a layout made at load was made from (t itself for GGUF types). */
uint32_t fsk_type_plain(uint32_t t);
/* Row j's block (of the plain type: fsk_block_q4_1, ...) out of a record of type (a *_R8 type). */
void fsk_r8_block(void *blk, const void *rec, uint32_t type, size_t j);

/* Traits of type t, or NULL when t is not a type we know. */
const struct fsk_type_traits *fsk_type_traits(uint32_t t);
/* Bytes of one row of ncols elements of type t; 0 when ncols is not a whole number of blocks or
 * the size would overflow. */
size_t fsk_type_row_bytes(uint32_t t, uint64_t ncols);

#endif

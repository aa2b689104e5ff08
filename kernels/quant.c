/* quant.c: size traits of the GGML tensor types. */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include "quant.h"

static const struct fsk_type_traits traits[FSK_TYPE_COUNT] = {
    [FSK_TYPE_F32] = {"F32", 1, 4, FSK_TYPE_F32, 1, 0},
    [FSK_TYPE_F16] = {"F16", 1, 2, FSK_TYPE_F32, 1, 0},
    [FSK_TYPE_BF16] = {"BF16", 1, 2, FSK_TYPE_F32, 1, 0},
    [FSK_TYPE_Q4_0] = {"Q4_0", FSK_QK, sizeof(fsk_block_q4_0), FSK_TYPE_Q8_0, 1, 0},
    [FSK_TYPE_Q4_1] = {"Q4_1", FSK_QK, sizeof(fsk_block_q4_1), FSK_TYPE_Q8_1, 1, 0},
    [FSK_TYPE_Q5_0] = {"Q5_0", FSK_QK, sizeof(fsk_block_q5_0), FSK_TYPE_Q8_0, 1, 0},
    [FSK_TYPE_Q5_1] = {"Q5_1", FSK_QK, sizeof(fsk_block_q5_1), FSK_TYPE_Q8_1, 1, 0},
    [FSK_TYPE_Q8_0] = {"Q8_0", FSK_QK, sizeof(fsk_block_q8_0), FSK_TYPE_Q8_0, 1, 0},
    [FSK_TYPE_Q8_1] = {"Q8_1", FSK_QK, sizeof(fsk_block_q8_1), FSK_TYPE_Q8_1, 0, 0},
    [FSK_TYPE_Q4_K] = {"Q4_K", FSK_QK_K, sizeof(fsk_block_q4_K), FSK_TYPE_Q8_K, 1, 0},
    [FSK_TYPE_Q5_K] = {"Q5_K", FSK_QK_K, sizeof(fsk_block_q5_K), FSK_TYPE_Q8_K, 1, 0},
    [FSK_TYPE_Q6_K] = {"Q6_K", FSK_QK_K, sizeof(fsk_block_q6_K), FSK_TYPE_Q8_K, 1, 0},
    [FSK_TYPE_Q8_K] = {"Q8_K", FSK_QK_K, sizeof(fsk_block_q8_K), FSK_TYPE_Q8_K, 0, 0},
    [FSK_TYPE_Q4_1_R8] = {"Q4_1_R8", FSK_QK, sizeof(fsk_block_q4_1), FSK_TYPE_Q8_1, 1, 1},
    [FSK_TYPE_Q8_0_R8] = {"Q8_0_R8", FSK_QK, sizeof(fsk_block_q8_0), FSK_TYPE_Q8_0, 1, 1},
    [FSK_TYPE_Q4_0_R8] = {"Q4_0_R8", FSK_QK, sizeof(fsk_block_q4_0), FSK_TYPE_Q8_0, 1, 1},
    [FSK_TYPE_Q5_0_R8] = {"Q5_0_R8", FSK_QK, sizeof(fsk_block_q5_0), FSK_TYPE_Q8_0, 1, 1},
    [FSK_TYPE_Q5_1_R8] = {"Q5_1_R8", FSK_QK, sizeof(fsk_block_q5_1), FSK_TYPE_Q8_1, 1, 1},
    [FSK_TYPE_Q4_K_R8] = {"Q4_K_R8", FSK_QK_K, sizeof(fsk_block_q4_K), FSK_TYPE_Q8_K, 1, 1},
    [FSK_TYPE_Q5_K_R8] = {"Q5_K_R8", FSK_QK_K, sizeof(fsk_block_q5_K), FSK_TYPE_Q8_K, 1, 1},
    [FSK_TYPE_Q6_K_R8] = {"Q6_K_R8", FSK_QK_K, sizeof(fsk_block_q6_K), FSK_TYPE_Q8_K, 1, 1},
};

const struct fsk_type_traits *fsk_type_traits(uint32_t t)
{
    if (t >= FSK_TYPE_COUNT || !traits[t].name)
        return NULL;
    return &traits[t];
}

size_t fsk_type_row_bytes(uint32_t t, uint64_t ncols)
{
    const struct fsk_type_traits *tr = fsk_type_traits(t);
    if (!tr || ncols % tr->block != 0)
        return 0;
    uint64_t blocks = ncols / tr->block;
    if (blocks > SIZE_MAX / tr->block_bytes)
        return 0;
    return (size_t)(blocks * tr->block_bytes);
}

/* A record of type (a *_R8 type) holds eight rows' blocks, each block nhalves leading halves,
 * qh_bytes of fifth bits (Q5_0, Q5_1: 4) and qs_bytes of quants: the halves field by field (field f of
 * row j at 16 f + 2 j), the fifth bits as masks (fsk_block_q5_0_r8), then the quants in 4-byte
 * pieces (piece k of row j at 16 nhalves + 8 qh_bytes + 32 k + 4 j). */
struct r8_geometry {
    size_t nhalves, qh_bytes, qs_bytes;
};

static struct r8_geometry r8_geometry(uint32_t type)
{
    return (struct r8_geometry){
        .nhalves = type == FSK_TYPE_Q4_1_R8 || type == FSK_TYPE_Q5_1_R8 ? 2 : 1, /* d, m; or d */
        .qh_bytes = type == FSK_TYPE_Q5_0_R8 || type == FSK_TYPE_Q5_1_R8 ? 4 : 0,
        .qs_bytes = type == FSK_TYPE_Q8_0_R8 ? FSK_QK : FSK_QK / 2,
    };
}

/* Bit n of a little-endian bit string. */
static unsigned bit_of(const unsigned char *p, size_t n)
{
    return (unsigned)(p[n / 8] >> (n % 8)) & 1u;
}

/* Row j's fifth bits from a Q5_0 block's qh into a record's masks (to_record), or back. Quant
 * 4k + b is bit 4j + b of mask k, quant 16 + 4k + b the same bit of mask 4 + k; to is zeroed
 * before (bits are OR-ed in). */
static void r8_fifth(unsigned char *to, const unsigned char *from, size_t j, int to_record)
{
    for (size_t q = 0; q < FSK_QK; q++) {
        const size_t bit = 32 * (q / 16 * 4 + q % 16 / 4) + 4 * j + q % 4;
        const size_t tn = to_record ? bit : q, fn = to_record ? q : bit;
        to[tn / 8] = (unsigned char)(to[tn / 8] | bit_of(from, fn) << (tn % 8));
    }
}

/* Q4_K and Q5_K keep 8 six-bit scales and 8 six-bit mins in 12 bytes: bytes 0-3 and 4-7 hold
 * the low 6 bits of scales and mins 0-3 and, in their top 2 bits, bits 4-5 of scales and mins
 * 4-7; bytes 8-11 hold bits 0-3 of scale 4+j (low nibble) and min 4+j (high nibble). */
void fsk_k_scales(const uint8_t s[12], uint8_t sc[8], uint8_t mn[8])
{
    for (int j = 0; j < 4; j++) {
        sc[j] = s[j] & 63;
        mn[j] = s[j + 4] & 63;
        sc[j + 4] = (uint8_t)((s[j + 8] & 15) | ((s[j] >> 6) << 4));
        mn[j + 4] = (uint8_t)((s[j + 8] >> 4) | ((s[j + 4] >> 6) << 4));
    }
}

static void k4_pack12(uint8_t s[12], const uint8_t sc[8], const uint8_t mn[8])
{
    for (int j = 0; j < 4; j++) {
        s[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        s[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
        s[j + 8] = (uint8_t)((sc[j + 4] & 15) | (mn[j + 4] & 15) << 4);
    }
}

/* Q4_K and Q5_K records (fsk_block_q4_K_r8, fsk_block_q5_K_r8). Index in a record's u[] of row
 * j's scale (min 0) or min (1) of sub-block s. */
static size_t k4_u(size_t j, size_t s, int min)
{
    return min ? 64 + 16 * (s / 2) + 2 * j + s % 2 : 8 * s + j;
}

/* Where the parts of a K block and of a K record start: the plain block's qh and qs (after d,
 * dmin and the 12 scale bytes), the record's sm, qh and qs (after d[8] and dmin[8]). */
struct k_layout {
    size_t bytes, qh, qs, rec_qh, rec_qs;
};

static struct k_layout k_layout(int five)
{
    return five ? (struct k_layout){sizeof(fsk_block_q5_K), offsetof(fsk_block_q5_K, qh),
                                    offsetof(fsk_block_q5_K, qs), offsetof(fsk_block_q5_K_r8, qh),
                                    offsetof(fsk_block_q5_K_r8, qs)}
                : (struct k_layout){sizeof(fsk_block_q4_K), 0, offsetof(fsk_block_q4_K, qs), 0,
                                    offsetof(fsk_block_q4_K_r8, qs)};
}

/* Bit of a Q5_K record's masks for row j's element e of sub-block 2p + h (its fifth bit: bit
 * 2p + h of the block's qh[e]): mask of quant vector k = e / 4 at 64p + 32(k / 4) + 16h + 4(k % 4),
 * bit 4j + e % 4. */
static size_t k5_bit(size_t j, size_t p, size_t h, size_t e)
{
    const size_t k = e / 4;
    return 8 * (64 * p + 32 * (k / 4) + 16 * h + 4 * (k % 4)) + 4 * j + e % 4;
}

static void repack_k(unsigned char *dst, const void *src, size_t rows, size_t row_stride, size_t nb,
                     int five)
{
    const struct k_layout L = k_layout(five);
    const size_t rec_bytes = FSK_R8 * L.bytes;
    for (size_t g = 0; g < rows / FSK_R8; g++)
        for (size_t i = 0; i < nb; i++, dst += rec_bytes) {
            fsk_block_q4_K_r8 *rec = (fsk_block_q4_K_r8 *)(void *)dst; /* d, dmin, sm alike */
            uint8_t u[128];
            memset(rec->sm, 0, sizeof rec->sm);
            if (five)
                memset(dst + L.rec_qh, 0, 256);
            for (size_t j = 0; j < FSK_R8; j++) {
                const unsigned char *b = (const unsigned char *)src + (g * FSK_R8 + j) * row_stride + i * L.bytes;
                fsk_block_q4_K head; /* d, dmin, scales: the same in both formats */
                memcpy(&head, b, offsetof(fsk_block_q4_K, qs));
                rec->d[j] = head.d;
                rec->dmin[j] = head.dmin;
                uint8_t sc[8], mn[8];
                fsk_k_scales(head.scales, sc, mn);
                for (size_t s = 0; s < 8; s++) {
                    u[k4_u(j, s, 0)] = sc[s];
                    u[k4_u(j, s, 1)] = mn[s];
                }
                for (size_t p = 0; p < 4; p++) {
                    for (size_t k = 0; k < 8; k++)
                        memcpy(dst + L.rec_qs + 256 * p + 32 * k + 4 * j, b + L.qs + 32 * p + 4 * k, 4);
                    for (size_t h = 0; five && h < 2; h++)
                        for (size_t e = 0; e < 32; e++) {
                            const size_t bit = k5_bit(j, p, h, e);
                            dst[L.rec_qh + bit / 8] |= (uint8_t)(((b[L.qh + e] >> (2 * p + h)) & 1) << (bit % 8));
                        }
                }
            }
            for (size_t b = 0; b < 64; b++)
                rec->sm[b] = (uint8_t)((u[b] & 15) | (u[64 + b] & 15) << 4);
            for (size_t b = 0; b < 32; b++)
                for (size_t c = 0; c < 4; c++)
                    rec->sm[64 + b] = (uint8_t)(rec->sm[64 + b] | (u[32 * c + b] >> 4) << (2 * c));
        }
}

/* Row j's plain block out of a K record. */
static void r8_block_k(unsigned char *blk, const unsigned char *r, size_t j, int five)
{
    const struct k_layout L = k_layout(five);
    fsk_block_q4_K_r8 head; /* d, dmin, sm */
    fsk_block_q4_K b;
    memcpy(&head, r, offsetof(fsk_block_q4_K_r8, qs));
    uint8_t sc[8], mn[8];
    b.d = head.d[j];
    b.dmin = head.dmin[j];
    for (size_t s = 0; s < 8; s++)
        for (int min = 0; min < 2; min++) {
            const size_t v = k4_u(j, s, min);
            const uint8_t low = (uint8_t)(v < 64 ? head.sm[v] & 15 : head.sm[v - 64] >> 4);
            const uint8_t top = (uint8_t)((head.sm[64 + v % 32] >> (2 * (v / 32))) & 3);
            (min ? mn : sc)[s] = (uint8_t)(low | top << 4);
        }
    k4_pack12(b.scales, sc, mn);
    memcpy(blk, &b, offsetof(fsk_block_q4_K, qs));
    if (five)
        memset(blk + L.qh, 0, 32);
    for (size_t p = 0; p < 4; p++) {
        for (size_t k = 0; k < 8; k++)
            memcpy(blk + L.qs + 32 * p + 4 * k, r + L.rec_qs + 256 * p + 32 * k + 4 * j, 4);
        for (size_t h = 0; five && h < 2; h++)
            for (size_t e = 0; e < 32; e++) {
                const size_t bit = k5_bit(j, p, h, e);
                blk[L.qh + e] |= (uint8_t)(((r[L.rec_qh + bit / 8] >> (bit % 8)) & 1) << (2 * p + h));
            }
    }
}

/* Q6_K records (fsk_block_q6_K_r8). Element e's code (quant + 32) in a Q6_K block: in its half h
 * = e / 128, quarter c = e % 128 / 32 is the low (c < 2) or high nibble of ql[64h + 32(c % 2) +
 * e % 32] with bits 2c, 2c + 1 of qh[32h + e % 32] on top. */
static void q6_where(size_t e, size_t *ql, int *ql_shift, size_t *qh, int *qh_shift)
{
    const size_t h = e / 128, c = e % 128 / 32, l = e % 32;
    *ql = 64 * h + 32 * (c % 2) + l;
    *ql_shift = c < 2 ? 0 : 4;
    *qh = 32 * h + l;
    *qh_shift = (int)(2 * c);
}

/* The same code's place in a record, for row j: ql byte and nibble, qh byte and bit pair. */
static void q6_r8_where(size_t e, size_t j, size_t *ql, int *ql_shift, size_t *qh, int *qh_shift)
{
    const size_t m = e / 32, k = e % 32 / 4, b = e % 4;
    *ql = 256 * (m % 4) + 32 * k + 4 * j + b;
    *ql_shift = m < 4 ? 0 : 4;
    *qh = 256 * (m % 2) + 32 * k + 4 * j + b;
    *qh_shift = (int)(2 * (m / 2));
}

static void repack_q6_k(unsigned char *dst, const void *src, size_t rows, size_t row_stride, size_t nb)
{
    for (size_t g = 0; g < rows / FSK_R8; g++)
        for (size_t i = 0; i < nb; i++, dst += sizeof(fsk_block_q6_K_r8)) {
            fsk_block_q6_K_r8 rec;
            memset(&rec, 0, sizeof rec);
            for (size_t j = 0; j < FSK_R8; j++) {
                fsk_block_q6_K b;
                memcpy(&b, (const unsigned char *)src + (g * FSK_R8 + j) * row_stride + i * sizeof b, sizeof b);
                rec.d[j] = b.d;
                for (size_t grp = 0; grp < 16; grp++)
                    rec.sc[16 * (grp / 2) + 2 * j + grp % 2] = b.scales[grp];
                for (size_t e = 0; e < FSK_QK_K; e++) {
                    size_t pl, ph, rl, rh;
                    int sl, sh, tl, th;
                    q6_where(e, &pl, &sl, &ph, &sh);
                    q6_r8_where(e, j, &rl, &tl, &rh, &th);
                    rec.ql[rl] = (uint8_t)(rec.ql[rl] | ((b.ql[pl] >> sl) & 15) << tl);
                    rec.qh[rh] = (uint8_t)(rec.qh[rh] | ((b.qh[ph] >> sh) & 3) << th);
                }
            }
            memcpy(dst, &rec, sizeof rec);
        }
}

static void r8_block_q6_k(void *blk, const void *r, size_t j)
{
    fsk_block_q6_K_r8 rec;
    fsk_block_q6_K b;
    memcpy(&rec, r, sizeof rec);
    memset(&b, 0, sizeof b);
    b.d = rec.d[j];
    for (size_t grp = 0; grp < 16; grp++)
        b.scales[grp] = rec.sc[16 * (grp / 2) + 2 * j + grp % 2];
    for (size_t e = 0; e < FSK_QK_K; e++) {
        size_t pl, ph, rl, rh;
        int sl, sh, tl, th;
        q6_where(e, &pl, &sl, &ph, &sh);
        q6_r8_where(e, j, &rl, &tl, &rh, &th);
        b.ql[pl] = (uint8_t)(b.ql[pl] | ((rec.ql[rl] >> tl) & 15) << sl);
        b.qh[ph] = (uint8_t)(b.qh[ph] | ((rec.qh[rh] >> th) & 3) << sh);
    }
    memcpy(blk, &b, sizeof b);
}

int fsk_repack_r8(void *dst, const void *src, size_t rows, size_t row_stride, size_t ncols, uint32_t type)
{
    const int kfmt = type == FSK_TYPE_Q4_K_R8 || type == FSK_TYPE_Q5_K_R8 || type == FSK_TYPE_Q6_K_R8;
    const size_t block = kfmt ? FSK_QK_K : FSK_QK;
    if (rows % FSK_R8 != 0 || ncols % block != 0 || ncols == 0 || fsk_type_plain(type) == type)
        return -1;
    if (type == FSK_TYPE_Q6_K_R8) {
        repack_q6_k(dst, src, rows, row_stride, ncols / block);
        return 0;
    }
    if (kfmt) {
        repack_k(dst, src, rows, row_stride, ncols / block, type == FSK_TYPE_Q5_K_R8);
        return 0;
    }
    const struct r8_geometry ge = r8_geometry(type);
    const size_t nb = ncols / FSK_QK, hb = 2 * ge.nhalves, bb = hb + ge.qh_bytes + ge.qs_bytes;
    const size_t qs_at = 16 * ge.nhalves + FSK_R8 * ge.qh_bytes;
    unsigned char *rec = dst;
    for (size_t g = 0; g < rows / FSK_R8; g++)
        for (size_t i = 0; i < nb; i++, rec += FSK_R8 * bb) {
            memset(rec + 16 * ge.nhalves, 0, FSK_R8 * ge.qh_bytes); /* masks are OR-ed in */
            for (size_t j = 0; j < FSK_R8; j++) {
                const unsigned char *b = (const unsigned char *)src + (g * FSK_R8 + j) * row_stride + i * bb;
                for (size_t f = 0; f < ge.nhalves; f++)
                    memcpy(rec + 16 * f + 2 * j, b + 2 * f, 2);
                if (ge.qh_bytes)
                    r8_fifth(rec + 16 * ge.nhalves, b + hb, j, 1);
                for (size_t k = 0; k < ge.qs_bytes / 4; k++)
                    memcpy(rec + qs_at + 32 * k + 4 * j, b + hb + ge.qh_bytes + 4 * k, 4);
            }
        }
    return 0;
}

void fsk_r8_block(void *blk, const void *rec, uint32_t type, size_t j)
{
    if (type == FSK_TYPE_Q4_K_R8 || type == FSK_TYPE_Q5_K_R8) {
        r8_block_k(blk, rec, j, type == FSK_TYPE_Q5_K_R8);
        return;
    }
    if (type == FSK_TYPE_Q6_K_R8) {
        r8_block_q6_k(blk, rec, j);
        return;
    }
    const struct r8_geometry ge = r8_geometry(type);
    const size_t hb = 2 * ge.nhalves, qs_at = 16 * ge.nhalves + FSK_R8 * ge.qh_bytes;
    unsigned char *b = blk;
    const unsigned char *r = rec;
    for (size_t f = 0; f < ge.nhalves; f++)
        memcpy(b + 2 * f, r + 16 * f + 2 * j, 2);
    if (ge.qh_bytes) {
        memset(b + hb, 0, ge.qh_bytes);
        r8_fifth(b + hb, r + 16 * ge.nhalves, j, 0);
    }
    for (size_t k = 0; k < ge.qs_bytes / 4; k++)
        memcpy(b + hb + ge.qh_bytes + 4 * k, r + qs_at + 32 * k + 4 * j, 4);
}

uint32_t fsk_type_plain(uint32_t t)
{
    return t == FSK_TYPE_Q4_1_R8   ? FSK_TYPE_Q4_1
           : t == FSK_TYPE_Q8_0_R8 ? FSK_TYPE_Q8_0
           : t == FSK_TYPE_Q4_0_R8 ? FSK_TYPE_Q4_0
           : t == FSK_TYPE_Q5_0_R8 ? FSK_TYPE_Q5_0
           : t == FSK_TYPE_Q5_1_R8 ? FSK_TYPE_Q5_1
           : t == FSK_TYPE_Q4_K_R8 ? FSK_TYPE_Q4_K
           : t == FSK_TYPE_Q5_K_R8 ? FSK_TYPE_Q5_K
           : t == FSK_TYPE_Q6_K_R8 ? FSK_TYPE_Q6_K
                                   : t;
}

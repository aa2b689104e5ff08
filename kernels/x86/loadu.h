/* loadu.h (x86): little-endian integers read from any address (a record's masks, a block's half
 * scale), through memcpy so that no unaligned pointer is dereferenced; shared by the kernel files
 * of every x86 variant. */
#ifndef FSK_X86_LOADU_H
#define FSK_X86_LOADU_H

#include <stdint.h>
#include <string.h>

static inline uint16_t load_u16(const void *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint32_t load_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t load_u64(const void *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

#endif

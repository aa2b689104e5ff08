/* cpu_arm.c: aarch64 feature detection through the kernel's hardware capability bits. */
#include "config.h"

#include <string.h>

#include "cpu.h"

#if defined(__aarch64__)
#include <sys/auxv.h>

/* Values from the Linux arm64 uapi hwcap.h, repeated so that old headers still build. */
#define FSK_HWCAP_ASIMD (1ul << 1)
#define FSK_HWCAP_FPHP (1ul << 9)
#define FSK_HWCAP_ASIMDHP (1ul << 10)
#define FSK_HWCAP_ASIMDDP (1ul << 20)
#define FSK_HWCAP2_I8MM (1ul << 13)

void fsk_cpu_detect(struct fsk_cpu *cpu)
{
    memset(cpu, 0, sizeof *cpu);
    strcpy(cpu->arch, "aarch64");
    strcpy(cpu->brand, "aarch64");
    unsigned long hw = getauxval(AT_HWCAP);
    unsigned long hw2 = getauxval(AT_HWCAP2);
    if (hw & FSK_HWCAP_ASIMD)
        cpu->features |= 1ull << FSK_CPU_NEON;
    if (hw & FSK_HWCAP_ASIMDDP)
        cpu->features |= 1ull << FSK_CPU_DOTPROD;
    if ((hw & FSK_HWCAP_FPHP) && (hw & FSK_HWCAP_ASIMDHP))
        cpu->features |= 1ull << FSK_CPU_FP16;
    if (hw2 & FSK_HWCAP2_I8MM)
        cpu->features |= 1ull << FSK_CPU_I8MM;
}
#endif

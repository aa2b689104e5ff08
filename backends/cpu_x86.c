/* cpu_x86.c: x86-64 feature detection with CPUID and XGETBV (the OS must have enabled the vector state). */
#include "config.h"

#include <string.h>

#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

#define SET(cpu, f) ((cpu)->features |= 1ull << (f))

void fsk_cpu_detect(struct fsk_cpu *cpu)
{
    unsigned a, b, c, d;
    memset(cpu, 0, sizeof *cpu);
    strcpy(cpu->arch, "x86_64");
    if (!__get_cpuid(0, &a, &b, &c, &d))
        return;
    unsigned max_leaf = a;
    __get_cpuid(1, &a, &b, &c, &d);
    int osxsave = (c >> 27) & 1;
    if ((c >> 20) & 1) SET(cpu, FSK_CPU_SSE42);
    if ((c >> 28) & 1) SET(cpu, FSK_CPU_AVX);
    if ((c >> 12) & 1) SET(cpu, FSK_CPU_FMA);
    if ((c >> 29) & 1) SET(cpu, FSK_CPU_F16C);
    if (osxsave) {
        unsigned long long xcr0 = xgetbv0();
        if ((xcr0 & 0x6) == 0x6) /* XMM and YMM state */
            SET(cpu, FSK_CPU_OS_YMM);
        if ((xcr0 & 0xe6) == 0xe6) /* plus opmask, ZMM_Hi256 and Hi16_ZMM */
            SET(cpu, FSK_CPU_OS_ZMM);
    }
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if ((b >> 5) & 1) SET(cpu, FSK_CPU_AVX2);
        if ((b >> 16) & 1) SET(cpu, FSK_CPU_AVX512F);
        if ((b >> 17) & 1) SET(cpu, FSK_CPU_AVX512DQ);
        if ((b >> 30) & 1) SET(cpu, FSK_CPU_AVX512BW);
        if ((b >> 31) & 1) SET(cpu, FSK_CPU_AVX512VL);
        if ((c >> 11) & 1) SET(cpu, FSK_CPU_AVX512VNNI);
        __cpuid_count(7, 1, a, b, c, d);
        if ((a >> 4) & 1) SET(cpu, FSK_CPU_AVXVNNI);
    }
    unsigned ext = __get_cpuid_max(0x80000000u, NULL);
    if (ext >= 0x80000004u) {
        unsigned *p = (unsigned *)(void *)cpu->brand;
        for (unsigned leaf = 0; leaf < 3; leaf++)
            __get_cpuid(0x80000002u + leaf, &p[4 * leaf], &p[4 * leaf + 1], &p[4 * leaf + 2],
                        &p[4 * leaf + 3]);
        cpu->brand[48] = '\0';
    }
}
#endif

/* cpu_x86.c: x86-64 feature detection with CPUID and XGETBV (the OS must have enabled the vector state). */
#include "config.h"

#include <string.h>
#ifdef __linux__
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void)
{
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

/* Linux keeps AMX tile data (XCR0 bit 18, 8 KiB of state) off until a process asks for it; a
 * tile instruction before that raises SIGILL. The grant is process-wide and makes every signal
 * frame larger (a thread's sigaltstack must then hold the tile state too), so it is asked only
 * once FSK_CPU_OFF has been read (dispatch.c): FSK_CPU_OFF=amx-int8 leaves the process as it
 * was. A kernel that refuses (before 5.16, a small sigaltstack somewhere, or a tool such as
 * valgrind that does not know the request) leaves AMX unused. */
int fsk_cpu_request_amx(void)
{
#if defined(__linux__) && defined(SYS_arch_prctl)
    enum { ARCH_REQ_XCOMP_PERM = 0x1023, XFEATURE_XTILEDATA = 18 };
    return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
#else
    return 0;
#endif
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
    if (b == 0x756e6547u && d == 0x49656e69u && c == 0x6c65746eu) /* "GenuineIntel" */
        SET(cpu, FSK_CPU_SWPF);
    __get_cpuid(1, &a, &b, &c, &d);
    int osxsave = (c >> 27) & 1, os_tiles = 0;
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
        os_tiles = (xcr0 & 0x60000) == 0x60000; /* XTILECFG and XTILEDATA */
    }
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if ((b >> 5) & 1) SET(cpu, FSK_CPU_AVX2);
        if ((b >> 16) & 1) SET(cpu, FSK_CPU_AVX512F);
        if ((b >> 17) & 1) SET(cpu, FSK_CPU_AVX512DQ);
        if ((b >> 30) & 1) SET(cpu, FSK_CPU_AVX512BW);
        if ((b >> 31) & 1) SET(cpu, FSK_CPU_AVX512VL);
        if ((c >> 11) & 1) SET(cpu, FSK_CPU_AVX512VNNI);
        if (((d >> 24) & 1) && ((d >> 25) & 1) && os_tiles) /* AMX-TILE, -INT8; granted later */
            SET(cpu, FSK_CPU_AMX_INT8);
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

/* api.c: the library-wide public calls: status names, version, CPU description and self-test. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cpu.h"
#include "dispatch.h"
#include "ffnskip.h"
#include "verify.h"

FSK_API const char *fsk_status_string(fsk_status status)
{
    switch (status) {
    case FSK_OK: return "success";
    case FSK_ERR_INVALID_ARG: return "invalid argument";
    case FSK_ERR_IO: return "input/output error";
    case FSK_ERR_FORMAT: return "malformed file";
    case FSK_ERR_UNSUPPORTED: return "unsupported";
    case FSK_ERR_NOMEM: return "out of memory";
    case FSK_ERR_CONTEXT_FULL: return "context full";
    case FSK_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

FSK_API const char *fsk_version(void)
{
    return PACKAGE_VERSION;
}

FSK_API fsk_status fsk_init(fsk_error *err)
{
    const struct fsk_kernels *t;
    const char *msg;
    fsk_status st = fsk_kernels_get(&t, &msg);
    if (err) {
        err->status = st;
        snprintf(err->message, sizeof err->message, "%s", st == FSK_OK ? "" : msg);
    }
    return st;
}

/* snprintf into buf at *pos, tracking the length the whole text needs. */
__attribute__((format(printf, 4, 5))) static void put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *dst = *pos < len ? buf + *pos : NULL;
    size_t room = *pos < len ? len - *pos : 0;
    int k = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    if (k > 0)
        *pos += (size_t)k;
}

FSK_API size_t fsk_cpu_describe(char *buf, size_t len)
{
    size_t pos = 0;
    if (!buf) /* only the length is asked for */
        len = 0;
    if (len > 0)
        buf[0] = '\0';
    const struct fsk_cpu *cpu = fsk_cpu_get();
    put(buf, len, &pos, "cpu: %s (%s)\nfeatures:", cpu->brand[0] ? cpu->brand : "unknown", cpu->arch);
    int any = 0;
    for (int f = 0; f < FSK_CPU_FEATURE_COUNT; f++)
        if (fsk_cpu_has(cpu, (enum fsk_cpu_feature)f)) {
            put(buf, len, &pos, " %s", fsk_cpu_feature_name((enum fsk_cpu_feature)f));
            any = 1;
        }
    put(buf, len, &pos, "%s", any ? "" : " (none)");
    const char *unknown = fsk_cpu_off_unknown();
    if (unknown)
        put(buf, len, &pos, "\nFSK_CPU_OFF: not feature names, ignored: %s", unknown);
    put(buf, len, &pos, "\nvariants:");
    for (int i = 0; i < FSK_ISA_COUNT; i++) {
        const char *why;
        int ok = fsk_isa_usable((enum fsk_isa)i, &why);
        put(buf, len, &pos, "\n  %-7s %s%s", fsk_isa_name((enum fsk_isa)i), ok ? "usable" : "not usable: ",
            ok ? "" : why);
    }
    const struct fsk_kernels *t;
    const char *msg;
    if (fsk_kernels_get(&t, &msg) != FSK_OK) {
        put(buf, len, &pos, "\nkernel table: error: %s\n", msg);
        return pos;
    }
    put(buf, len, &pos, "\nkernels (%s):", msg);
    for (int op = 0; op < FSK_OP_COUNT; op++) {
        char label[96];
        put(buf, len, &pos, "\n  %-14s %s", fsk_op_list[op].name,
            fsk_kernels_op_label(t, (enum fsk_op)op, label, sizeof label));
    }
    put(buf, len, &pos, "\n");
    return pos;
}

FSK_API fsk_status fsk_selftest(fsk_error *err)
{
    const struct fsk_kernels *t;
    const char *msg;
    fsk_status st = fsk_kernels_get(&t, &msg);
    if (st != FSK_OK) {
        if (err) {
            err->status = st;
            snprintf(err->message, sizeof err->message, "%s", msg);
        }
        return st;
    }
    for (int op = 0; op < FSK_OP_COUNT; op++) {
        enum fsk_isa isa = fsk_kernels_op_isa(t, (enum fsk_op)op);
        if (isa == FSK_ISA_REF)
            continue;
        struct fsk_verify_result r;
        if (fsk_verify_op((enum fsk_op)op, isa, 0, &r) != 0) {
            if (err) {
                err->status = FSK_ERR_INTERNAL;
                snprintf(err->message, sizeof err->message, "%s variant disagrees with ref (%ld of %ld values): %s",
                         fsk_isa_name(isa), r.failures, r.checks, r.first);
            }
            return FSK_ERR_INTERNAL;
        }
    }
    if (err) {
        err->status = FSK_OK;
        err->message[0] = '\0';
    }
    return FSK_OK;
}

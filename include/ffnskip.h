/* ffnskip.h: the public C API of libffnskip (every name starts with fsk_). */
#ifndef FFNSKIP_H
#define FFNSKIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(FSK_BUILDING_LIBRARY) && defined(__GNUC__)
#define FSK_API __attribute__((visibility("default")))
#else
#define FSK_API
#endif

/* Every call that can fail returns one of these. */
typedef enum fsk_status {
    FSK_OK = 0,
    FSK_ERR_INVALID_ARG,  /* a NULL, out-of-range or inconsistent argument */
    FSK_ERR_IO,           /* the OS refused: open, read, write, mmap */
    FSK_ERR_FORMAT,       /* a file is malformed, truncated or hostile */
    FSK_ERR_UNSUPPORTED,  /* well-formed but not something we can run */
    FSK_ERR_NOMEM,        /* an allocation failed */
    FSK_ERR_CONTEXT_FULL, /* the tokens do not fit in the context window */
    FSK_ERR_INTERNAL      /* a bug: please report it */
} fsk_status;

/* Where a call can explain a failure it fills one of these (the pointer may be NULL). */
typedef struct fsk_error {
    fsk_status status;
    char message[512];
} fsk_error;

/* A short fixed English name for a status ("invalid argument"). Never NULL. */
FSK_API const char *fsk_status_string(fsk_status status);

/* The library version, "MAJOR.MINOR.PATCH". */
FSK_API const char *fsk_version(void);

/* Chooses the kernel table for this process (honouring FSK_ISA). Every other call does this
 * itself; calling it first turns a bad FSK_ISA into a clear error up front. */
FSK_API fsk_status fsk_init(fsk_error *err);

/* Writes a human-readable description of the CPU features found and the kernel variant chosen for
 * each op into buf (always NUL-terminated when len > 0). Returns the length the full text needs,
 * excluding the NUL, like snprintf. */
FSK_API size_t fsk_cpu_describe(char *buf, size_t len);

/* Runs every op of the chosen kernel table against the scalar reference on random inputs.
 * Returns FSK_OK when all agree within their tolerances; otherwise err says which op failed. */
FSK_API fsk_status fsk_selftest(fsk_error *err);

#ifdef __cplusplus
}
#endif

#endif

/* fuzz.h: what the fuzz targets share: the libFuzzer entry points and a check that crashes. */
#ifndef FSK_FUZZ_H
#define FSK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant the library documents; breaking it is a finding, so it aborts like a crash. */
#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                            \
        }                                                                                       \
    } while (0)

/* An error message must be set, NUL-terminated and non-empty. */
#define FUZZ_CHECK_MESSAGE(err)                                                                 \
    FUZZ_CHECK(memchr((err).message, '\0', sizeof (err).message) && (err).message[0] != '\0')

#endif

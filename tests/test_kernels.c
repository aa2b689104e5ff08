/* test_kernels.c: every kernel variant of one ISA (TEST_ISA, set at build time) against ref.
 * Built once per ISA; a program whose ISA this CPU or build lacks exits 77, which the test
 * harness reports as SKIP, with the reason on stderr. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

#include "cpu.h"
#include "dispatch.h"
#include "verify.h"

#ifndef TEST_ISA
#error "build with -DTEST_ISA=<enum fsk_isa value>"
#endif

static void check_op(enum fsk_op op)
{
    enum fsk_isa isa = TEST_ISA;
    if (!fsk_op_list[op].has[isa]) {
        /* not in the list for this ISA: the dispatcher falls back to ref, nothing to compare */
        return;
    }
    struct fsk_verify_result r;
    int bad = fsk_verify_op(op, isa, 1, &r);
    ck_assert_msg(r.checks > 0, "%s__%s compared nothing", fsk_op_list[op].name, fsk_isa_name(isa));
    ck_assert_msg(!bad, "%s__%s: %ld of %ld values outside tolerance; first: %s", fsk_op_list[op].name,
                  fsk_isa_name(isa), r.failures, r.checks, r.first);
}

#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) \
    START_TEST(test_##op) { check_op(FSK_OP_##op); } END_TEST
#include "kernels.def"
#undef FSK_KERNEL

/* The table built for this ISA points each op at the variant kernels.def promises. */
START_TEST(test_table)
{
    struct fsk_kernels t;
    char msg[256];
    ck_assert_int_eq(fsk_kernels_build(&t, TEST_ISA, msg, sizeof msg), FSK_OK);
    for (int op = 0; op < FSK_OP_COUNT; op++) {
        enum fsk_isa got = fsk_kernels_op_isa(&t, (enum fsk_op)op);
        ck_assert_msg(fsk_op_list[op].has[got], "%s points at a variant that does not exist",
                      fsk_op_list[op].name);
        enum fsk_isa want = TEST_ISA;
        if (TEST_ISA == FSK_ISA_AVX512 && fsk_kernels_prefers_avx2((enum fsk_op)op))
            want = FSK_ISA_AVX2; /* measured faster on AVX-512 CPUs too (dispatch.c) */
        if (fsk_op_list[op].has[want])
            ck_assert_msg(got == want, "%s: table chose %s, want %s", fsk_op_list[op].name,
                          fsk_isa_name(got), fsk_isa_name(want));
    }
}
END_TEST

int main(void)
{
    const char *why;
    if (!fsk_isa_usable(TEST_ISA, &why)) {
        fprintf(stderr, "SKIP: %s kernels not tested: %s\n", fsk_isa_name(TEST_ISA), why);
        return 77;
    }
    char name[64];
    snprintf(name, sizeof name, "kernels_%s", fsk_isa_name(TEST_ISA));
    Suite *s = suite_create(name);
    TCase *tc = tcase_create("vs_ref");
    tcase_set_timeout(tc, 120);
#define FSK_KERNEL(op, r, a2, a5, ne, ret, params) tcase_add_test(tc, test_##op);
#include "kernels.def"
#undef FSK_KERNEL
    tcase_add_test(tc, test_table);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

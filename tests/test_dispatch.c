/* test_dispatch.c: CPU detection, the FSK_ISA override, and the description text. */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cpu.h"
#include "dispatch.h"

START_TEST(test_isa_names_roundtrip)
{
    for (int i = 0; i < FSK_ISA_COUNT; i++)
        ck_assert_int_eq(fsk_isa_from_name(fsk_isa_name((enum fsk_isa)i)), i);
    ck_assert_int_eq(fsk_isa_from_name("sse9"), FSK_ISA_COUNT);
    ck_assert_int_eq(fsk_isa_from_name(NULL), FSK_ISA_COUNT);
}
END_TEST

START_TEST(test_ref_always_usable)
{
    const char *why = "x";
    ck_assert(fsk_isa_usable(FSK_ISA_REF, &why));
    ck_assert_ptr_null(why);
}
END_TEST

START_TEST(test_unusable_isa_is_an_error)
{
    /* Some ISA of the other family is never usable: asking for it must fail cleanly. */
#if defined(__x86_64__)
    enum fsk_isa foreign = FSK_ISA_NEON;
#else
    enum fsk_isa foreign = FSK_ISA_AVX2;
#endif
    const char *why = NULL;
    ck_assert(!fsk_isa_usable(foreign, &why));
    ck_assert_ptr_nonnull(why);
    struct fsk_kernels t;
    char msg[256] = "";
    ck_assert_int_eq(fsk_kernels_build(&t, foreign, msg, sizeof msg), FSK_ERR_UNSUPPORTED);
    ck_assert_msg(strstr(msg, fsk_isa_name(foreign)) != NULL, "message does not name the ISA: %s", msg);
}
END_TEST

START_TEST(test_avx_needs_os_state)
{
    /* the AVX2 variant is only usable when the OS saves YMM state */
    const struct fsk_cpu *cpu = fsk_cpu_get();
    if (fsk_isa_usable(FSK_ISA_AVX2, NULL))
        ck_assert(fsk_cpu_has(cpu, FSK_CPU_OS_YMM) && fsk_cpu_has(cpu, FSK_CPU_AVX2));
    if (fsk_isa_usable(FSK_ISA_AVX512, NULL))
        ck_assert(fsk_cpu_has(cpu, FSK_CPU_OS_ZMM) && fsk_cpu_has(cpu, FSK_CPU_AVX512F));
}
END_TEST

START_TEST(test_best_table_has_every_op)
{
    struct fsk_kernels t;
    char msg[256];
    ck_assert_int_eq(fsk_kernels_build(&t, fsk_best_isa(), msg, sizeof msg), FSK_OK);
    const void *const *p = (const void *const *)(const void *)&t;
    for (int op = 0; op < FSK_OP_COUNT; op++)
        ck_assert_ptr_nonnull(p[op]);
}
END_TEST

START_TEST(test_describe_names_every_op)
{
    size_t need = fsk_cpu_describe(NULL, 0);
    ck_assert_uint_gt(need, 0);
    char *text = malloc(need + 1);
    ck_assert_uint_eq(fsk_cpu_describe(text, need + 1), need);
    ck_assert_uint_eq(strlen(text), need);
    for (int op = 0; op < FSK_OP_COUNT; op++)
        ck_assert_msg(strstr(text, fsk_op_list[op].name), "%s missing from:\n%s", fsk_op_list[op].name, text);
    /* truncation keeps the NUL */
    char small[8];
    ck_assert_uint_eq(fsk_cpu_describe(small, sizeof small), need);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
    free(text);
}
END_TEST

START_TEST(test_selftest_passes)
{
    fsk_error err;
    ck_assert_msg(fsk_selftest(&err) == FSK_OK, "%s", err.message);
}
END_TEST

/* The records' fetch-ahead rule (backends/cpu.h): far only for weights within half the cache. */
START_TEST(test_pf_reach_rule)
{
    unsetenv("FSK_PF_REACH"); /* before the first choice, which reads it once */
    const size_t MiB = 1024 * 1024;
    const char *why = NULL;
    ck_assert_uint_eq(fsk_pf_reach_choose(94 * MiB, 480 * MiB, &why), FSK_PF_REACH_FAR);
    ck_assert_uint_eq(fsk_pf_reach(), FSK_PF_REACH_FAR);
    ck_assert_ptr_nonnull(strstr(why, "fit"));
    ck_assert_uint_eq(fsk_pf_reach_choose(240 * MiB, 480 * MiB, NULL), FSK_PF_REACH_FAR);
    ck_assert_uint_eq(fsk_pf_reach_choose(240 * MiB + 1, 480 * MiB, &why), FSK_PF_REACH_NEAR);
    ck_assert_uint_eq(fsk_pf_reach(), FSK_PF_REACH_NEAR);
    ck_assert_ptr_nonnull(strstr(why, "exceed"));
    ck_assert_uint_eq(fsk_pf_reach_choose(1, 0, NULL), FSK_PF_REACH_NEAR); /* cache unknown */
    ck_assert_uint_eq(fsk_pf_reach_choose(0, 480 * MiB, NULL), FSK_PF_REACH_NEAR);
    ck_assert_uint_eq(fsk_pf_reach_rule(94 * MiB, 480 * MiB, &why), FSK_PF_REACH_FAR); /* not set */
    ck_assert_uint_eq(fsk_pf_reach(), FSK_PF_REACH_NEAR);
    ck_assert_ptr_null(fsk_pf_reach_env_invalid());
}
END_TEST

START_TEST(test_status_strings)
{
    for (int s = FSK_OK; s <= FSK_ERR_INTERNAL; s++) {
        ck_assert_ptr_nonnull(fsk_status_string((fsk_status)s));
        ck_assert_str_ne(fsk_status_string((fsk_status)s), "unknown status");
    }
    ck_assert_str_eq(fsk_status_string((fsk_status)999), "unknown status");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("dispatch");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_isa_names_roundtrip);
    tcase_add_test(tc, test_ref_always_usable);
    tcase_add_test(tc, test_unusable_isa_is_an_error);
    tcase_add_test(tc, test_avx_needs_os_state);
    tcase_add_test(tc, test_best_table_has_every_op);
    tcase_add_test(tc, test_describe_names_every_op);
    tcase_add_test(tc, test_selftest_passes);
    tcase_add_test(tc, test_pf_reach_rule);
    tcase_add_test(tc, test_status_strings);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

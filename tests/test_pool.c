/* test_pool.c: the thread team: row splitting, parallel-for against sequential, barriers, two pools. */
#include "config.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

START_TEST(test_rows_cover_exactly_once)
{
    static const size_t sizes[] = {0, 1, 2, 7, 31, 32, 33, 576, 1537};
    static const size_t aligns[] = {1, 4, 32};
    for (int n = 1; n <= 9; n++)
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
            for (size_t ai = 0; ai < 3; ai++) {
                size_t rows = sizes[si], align = aligns[ai], next = 0;
                for (int id = 0; id < n; id++) {
                    fsk_team t = {NULL, id, n};
                    size_t r0, r1;
                    fsk_team_rows(&t, rows, align, &r0, &r1);
                    ck_assert_uint_eq(r0, next); /* contiguous, in order, no gap or overlap */
                    ck_assert_uint_le(r0, r1);
                    if (r0 < rows)
                        ck_assert_uint_eq(r0 % align, 0);
                    next = r1;
                }
                ck_assert_uint_eq(next, rows);
            }
}
END_TEST

/* fsk_team_rows_whole against the splits themselves, and cases worked out by hand. */
START_TEST(test_rows_whole_blocks)
{
    static const size_t sizes[] = {0, 32, 64, 576, 1536, 11008, 1537};
    static const size_t blocks[] = {0, 1, 16, 32, 256};
    for (int n = 1; n <= 9; n++)
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
            for (size_t bi = 0; bi < sizeof blocks / sizeof *blocks; bi++) {
                const size_t rows = sizes[si], block = blocks[bi];
                int whole = block > 0 && rows % block == 0;
                for (int id = 0; id < n; id++) {
                    fsk_team t = {NULL, id, n};
                    size_t r0, r1;
                    fsk_team_rows(&t, rows, 16, &r0, &r1);
                    if (block == 0 || r0 % block || r1 % block)
                        whole = 0;
                }
                for (int id = 0; id < n; id++) { /* the same answer in every thread */
                    fsk_team t = {NULL, id, n};
                    ck_assert_int_eq(fsk_team_rows_whole(&t, rows, 16, block), whole);
                }
            }
    fsk_team two = {NULL, 1, 2}, four = {NULL, 3, 4};
    ck_assert_int_eq(fsk_team_rows_whole(&two, 1536, 16, 256), 1);  /* 768 + 768 */
    ck_assert_int_eq(fsk_team_rows_whole(&four, 1536, 16, 256), 0); /* 384 each */
    ck_assert_int_eq(fsk_team_rows_whole(&four, 1536, 16, 32), 1);
    ck_assert_int_eq(fsk_team_rows_whole(&two, 11008, 16, 256), 0); /* 5504 + 5504 */
    ck_assert_int_eq(fsk_team_rows_whole(&two, 11008, 16, 32), 1);
    ck_assert_int_eq(fsk_team_rows_whole(&two, 1537, 16, 1), 1);
    ck_assert_int_eq(fsk_team_rows_whole(&two, 1537, 16, 32), 0);   /* a partial last block */
}
END_TEST

struct sq {
    const double *in;
    double *out;
    atomic_int calls;
};

static void square_rows(void *arg, size_t r0, size_t r1)
{
    struct sq *a = arg;
    for (size_t r = r0; r < r1; r++)
        a->out[r] = a->in[r] * a->in[r] + 1.0;
    atomic_fetch_add(&a->calls, 1);
}

START_TEST(test_for_matches_sequential)
{
    enum { N = 1000 };
    double in[N], want[N], got[N];
    for (int i = 0; i < N; i++) {
        in[i] = i * 0.5 - 17;
        want[i] = in[i] * in[i] + 1.0;
    }
    for (int threads = 1; threads <= 8; threads++) {
        fsk_pool *p;
        fsk_error err;
        ck_assert_int_eq(fsk_pool_create(&p, threads, 0, &err), FSK_OK);
        ck_assert_int_eq(fsk_pool_threads(p), threads);
        for (int i = 0; i < N; i++)
            got[i] = -1;
        struct sq a = {in, got, 0};
        fsk_pool_for(p, N, 1, square_rows, &a);
        ck_assert_mem_eq(got, want, sizeof want);
        ck_assert_int_eq(atomic_load(&a.calls), threads);
        fsk_pool_free(p);
    }
}
END_TEST

/* Each phase reads what every thread wrote in the phase before: wrong without a real barrier. */
struct phases {
    int *cells;
    int n_cells;
    int rounds;
    atomic_int errors;
};

static void phase_body(fsk_team *t, void *arg)
{
    struct phases *ph = arg;
    for (int round = 1; round <= ph->rounds; round++) {
        size_t r0, r1;
        fsk_team_rows(t, (size_t)ph->n_cells, 1, &r0, &r1);
        for (size_t i = r0; i < r1; i++)
            ph->cells[i] = round;
        fsk_team_barrier(t);
        for (int i = 0; i < ph->n_cells; i++)
            if (ph->cells[i] != round)
                atomic_fetch_add(&ph->errors, 1);
        fsk_team_barrier(t);
    }
}

START_TEST(test_barrier_orders_phases)
{
    for (int threads = 1; threads <= 6; threads++) {
        fsk_pool *p;
        ck_assert_int_eq(fsk_pool_create(&p, threads, 1, NULL), FSK_OK);
        int cells[64] = {0};
        struct phases ph = {cells, 64, 50, 0};
        unsigned long before = fsk_pool_barriers(p);
        fsk_pool_run(p, phase_body, &ph);
        ck_assert_int_eq(atomic_load(&ph.errors), 0);
        ck_assert_uint_eq(fsk_pool_barriers(p) - before, 100); /* counted once per barrier */
        fsk_pool_free(p);
    }
}
END_TEST

/* Two contexts in one process, each with its own pool, driven from two threads at once. */
struct worker {
    int threads;
    int ok;
};

static void *drive(void *arg)
{
    struct worker *w = arg;
    fsk_pool *p;
    if (fsk_pool_create(&p, w->threads, 0, NULL) != FSK_OK)
        return NULL;
    int cells[256];
    struct phases ph = {cells, 256, 200, 0};
    memset(cells, 0, sizeof cells);
    fsk_pool_run(p, phase_body, &ph);
    w->ok = atomic_load(&ph.errors) == 0 && fsk_pool_barriers(p) == 400;
    fsk_pool_free(p);
    return NULL;
}

START_TEST(test_two_pools_side_by_side)
{
    struct worker a = {2, 0}, b = {3, 0};
    pthread_t ta, tb;
    ck_assert_int_eq(pthread_create(&ta, NULL, drive, &a), 0);
    ck_assert_int_eq(pthread_create(&tb, NULL, drive, &b), 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    ck_assert(a.ok);
    ck_assert(b.ok);
}
END_TEST

START_TEST(test_bad_thread_counts)
{
    fsk_pool *p = (fsk_pool *)1;
    fsk_error err;
    ck_assert_int_eq(fsk_pool_create(&p, -1, 0, &err), FSK_ERR_INVALID_ARG);
    ck_assert_ptr_null(p);
    ck_assert_ptr_nonnull(strstr(err.message, "-1"));
    ck_assert_int_eq(fsk_pool_create(&p, 100000, 0, &err), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_pool_create(NULL, 1, 0, &err), FSK_ERR_INVALID_ARG);
    /* 0 means one per physical core */
    ck_assert_int_eq(fsk_pool_create(&p, 0, 0, &err), FSK_OK);
    ck_assert_int_eq(fsk_pool_threads(p), fsk_physical_cores());
    fsk_pool_free(p);
    fsk_pool_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("pool");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_rows_cover_exactly_once);
    tcase_add_test(tc, test_rows_whole_blocks);
    tcase_add_test(tc, test_for_matches_sequential);
    tcase_add_test(tc, test_barrier_orders_phases);
    tcase_add_test(tc, test_two_pools_side_by_side);
    tcase_add_test(tc, test_bad_thread_counts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

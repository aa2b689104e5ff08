/* test_numa.c: NUMA plans on synthetic topologies, and the same logits whatever the NUMA mode. */
#include "config.h"

#include <check.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "llama.h"
#include "numa.h"
#include "pool.h"
#include "tiny_llama.h"

#define TWO_SOCKETS "pack:2 numa:1 core:4 pu:1"
#define FOUR_NODES "numa:4 core:2 pu:1"

/* 1 + 3 cores: hwloc's synthetic grammar is symmetric, so two nodes of 3 restricted to {0, 3, 4, 5}. */
static hwloc_topology_t asymmetric(void)
{
    hwloc_topology_t t;
    ck_assert_int_eq(fsk_numa_topology_load(&t, "numa:2 core:3 pu:1", NULL), FSK_OK);
    hwloc_bitmap_t keep = hwloc_bitmap_alloc();
    hwloc_bitmap_set(keep, 0);
    hwloc_bitmap_set_range(keep, 3, 5);
    ck_assert_int_eq(hwloc_topology_restrict(t, keep, 0), 0);
    hwloc_bitmap_free(keep);
    return t;
}

static hwloc_topology_t topo_of(int which)
{
    static const char *const desc[] = {TWO_SOCKETS, FOUR_NODES, NULL, "numa:1 core:4 pu:1"};
    if (which == 2)
        return asymmetric();
    hwloc_topology_t t;
    ck_assert_int_eq(fsk_numa_topology_load(&t, desc[which], NULL), FSK_OK);
    return t;
}

static const int topo_nodes[] = {2, 4, 2, 1};
static const int topo_cores[][4] = {{4, 4}, {2, 2, 2, 2}, {1, 3}, {4}};

/* Every row owned by exactly one thread, inside its node's slice; node slices in node order,
 * contiguous, in proportion to their threads. */
static void check_rows(const struct fsk_numa_plan *p, size_t n, size_t align)
{
    unsigned char *owned = calloc(n ? n : 1, 1);
    size_t next = 0;
    for (int k = 0; k < p->n_nodes; k++) {
        size_t a, b;
        fsk_numa_node_rows(p, k, n, align, &a, &b);
        ck_assert_uint_eq(a, next);
        ck_assert_uint_le(a, b);
        next = b;
        double want = (double)n * p->nodes[k].threads / p->n_threads, got = (double)(b - a);
        ck_assert_msg(got >= want - (double)align * (p->nodes[k].threads + 1) &&
                          got <= want + (double)align * (p->nodes[k].threads + 1),
                      "node %d has %zu of %zu rows, want about %.1f", k, b - a, n, want);
    }
    ck_assert_uint_eq(next, n);
    for (int i = 0; i < p->n_threads; i++) {
        size_t r0, r1, a, b;
        fsk_numa_rows(p, n, align, i, &r0, &r1);
        fsk_numa_node_rows(p, p->thread_node[i], n, align, &a, &b);
        ck_assert_msg(r0 >= a && r1 <= b, "thread %d rows %zu-%zu outside its node's %zu-%zu", i, r0, r1, a, b);
        for (size_t r = r0; r < r1; r++)
            owned[r]++;
    }
    for (size_t r = 0; r < n; r++)
        ck_assert_msg(owned[r] == 1, "row %zu of %zu (align %zu) owned %d times", r, n, align, owned[r]);
    free(owned);
}

START_TEST(test_distribute_plans)
{
    static const int threads[] = {1, 2, 3, 4, 5, 7, 8, 13};
    static const size_t sizes[] = {0, 1, 5, 16, 17, 100, 576, 1000};
    static const size_t aligns[] = {1, 16, 64};
    for (int ti = 0; ti < 8; ti++) {
        struct fsk_numa_plan *p;
        fsk_error err;
        ck_assert_int_eq(fsk_numa_plan_create(&p, topo_of(_i), FSK_NUMA_AUTO, threads[ti], -1, &err), FSK_OK);
        ck_assert_int_eq(p->mode, topo_nodes[_i] > 1 ? FSK_NUMA_DISTRIBUTE : FSK_NUMA_OFF);
        ck_assert_int_eq(p->n_nodes, topo_nodes[_i]);
        ck_assert_int_eq(p->this_system, 0);
        ck_assert(p->note[0] != '\0'); /* said once: not this machine, nothing bound */
        int sum = 0, cores = 0;
        for (int k = 0; k < p->n_nodes; k++)
            cores += p->nodes[k].cores;
        for (int k = 0; k < p->n_nodes; k++) {
            ck_assert_int_eq(p->nodes[k].cores, topo_cores[_i][k]);
            ck_assert_int_eq(p->nodes[k].first_thread, sum);
            double want = (double)threads[ti] * p->nodes[k].cores / cores;
            ck_assert_msg(p->nodes[k].threads > want - 1 && p->nodes[k].threads < want + 1,
                          "node %d: %d threads, want about %.2f", k, p->nodes[k].threads, want);
            sum += p->nodes[k].threads;
        }
        ck_assert_int_eq(sum, threads[ti]);
        for (int i = 0; i < p->n_threads; i++) { /* each thread on a core of its node */
            ck_assert_ptr_nonnull(p->thread_cpuset[i]);
            ck_assert(hwloc_bitmap_isincluded(p->thread_cpuset[i], p->nodes[p->thread_node[i]].cpuset));
            ck_assert_int_eq(hwloc_bitmap_weight(p->thread_cpuset[i]), 1);
        }
        for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++)
            for (size_t ai = 0; ai < 3; ai++)
                check_rows(p, sizes[si], aligns[ai]);
        fsk_numa_plan_free(p);
    }
}
END_TEST

/* NUMA off, or one node: exactly the plain split of before, and thread i on core i mod cores. */
START_TEST(test_one_node_is_the_old_split)
{
    for (int mode = FSK_NUMA_OFF; mode <= FSK_NUMA_DISTRIBUTE; mode++)
        for (int threads = 1; threads <= 9; threads++) {
            int which = mode == FSK_NUMA_OFF ? _i : 3;
            struct fsk_numa_plan *p;
            ck_assert_int_eq(fsk_numa_plan_create(&p, topo_of(which), (fsk_numa_mode)mode, threads, -1, NULL),
                             FSK_OK);
            ck_assert_int_eq(p->n_nodes, 1);
            int cores = hwloc_get_nbobjs_by_type(p->topo, HWLOC_OBJ_CORE);
            for (int i = 0; i < threads; i++) {
                hwloc_obj_t core = hwloc_get_obj_by_type(p->topo, HWLOC_OBJ_CORE, (unsigned)(i % cores));
                ck_assert(hwloc_bitmap_isequal(p->thread_cpuset[i], core->cpuset));
            }
            static const size_t sizes[] = {0, 3, 31, 576, 1537};
            for (size_t si = 0; si < 5; si++)
                for (size_t align = 1; align <= 64; align *= 4) {
                    size_t n = sizes[si], units = (n + align - 1) / align, start = 0;
                    for (int i = 0; i < threads; i++) { /* sizes differing by one, larger first */
                        size_t u = units / (size_t)threads + ((size_t)i < units % (size_t)threads);
                        size_t a = start * align, b = (start + u) * align, r0, r1;
                        start += u;
                        fsk_numa_rows(p, n, align, i, &r0, &r1);
                        ck_assert_uint_eq(r0, a < n ? a : n);
                        ck_assert_uint_eq(r1, b < n ? b : n);
                    }
                }
            fsk_numa_plan_free(p);
        }
}
END_TEST

START_TEST(test_isolate)
{
    for (int os = -1; os <= 1; os++) {
        struct fsk_numa_plan *p;
        ck_assert_int_eq(fsk_numa_plan_create(&p, topo_of(0), FSK_NUMA_ISOLATE, 0, os, NULL), FSK_OK);
        ck_assert_int_eq(p->n_nodes, 1);
        ck_assert_int_eq(p->machine_nodes, 2);
        ck_assert_uint_eq(p->nodes[0].os_index, os < 0 ? 0u : (unsigned)os);
        ck_assert_int_eq(p->n_threads, 4); /* 0: one per core of the node */
        for (int i = 0; i < p->n_threads; i++)
            ck_assert(hwloc_bitmap_isincluded(p->thread_cpuset[i], p->nodes[0].cpuset));
        check_rows(p, 100, 16);
        fsk_numa_plan_free(p);
    }
}
END_TEST

START_TEST(test_modes_parse)
{
    fsk_numa_mode m;
    for (int i = 0; i < FSK_NUMA_MODE_COUNT; i++) {
        ck_assert_int_eq(fsk_numa_mode_parse(fsk_numa_mode_name((fsk_numa_mode)i), &m), FSK_OK);
        ck_assert_int_eq(m, i);
    }
    ck_assert_int_eq(fsk_numa_mode_parse("interleave", &m), FSK_ERR_INVALID_ARG);
    ck_assert_int_eq(fsk_numa_mode_parse(NULL, &m), FSK_ERR_INVALID_ARG);
    struct fsk_numa_plan *p;
    fsk_error err;
    ck_assert_int_eq(fsk_numa_plan_create(&p, topo_of(0), (fsk_numa_mode)9, 0, -1, &err), FSK_ERR_INVALID_ARG);
    ck_assert_ptr_null(p);
    hwloc_topology_t t;
    ck_assert_int_eq(fsk_numa_topology_load(&t, "no such thing:3", &err), FSK_ERR_INVALID_ARG);
}
END_TEST

/* ------------------------------------------------------------------ end to end */

static char model_path[64];

/* The model of the logits tests; type 0 keeps tiny_llama's default (F32). */
static void write_model_of(uint32_t type)
{
    struct tiny_llama o;
    tiny_llama_defaults(&o);
    if (type)
        o.type = type;
    o.n_layer = 5;  /* a skippable region between the cold layers */
    o.n_embd = 96;  /* 6 blocks of 16 rows: uneven over 4 threads */
    o.n_ff = 160;
    o.n_head = 4;   /* 2 query heads per KV head, split over threads */
    o.n_head_kv = 2;
    o.tied = 1;     /* the output head is the embedding: both must follow the copy */
    size_t n;
    uint8_t *bytes = tiny_llama_gguf(&o, &n);
    snprintf(model_path, sizeof model_path, "/tmp/test_numa_XXXXXX");
    int fd = mkstemp(model_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, bytes, n), (ssize_t)n);
    close(fd);
    free(bytes);
}

static void write_model(void)
{
    write_model_of(0);
}

/* Logits after each of 12 tokens, and FFN blocks skipped, under the environment as it is now. */
static uint64_t decode(fsk_numa_mode mode, int skip, float *logits, const char **note, int *placed)
{
    fsk_model_params mp;
    fsk_model_default_params(&mp);
    mp.numa = mode;
    mp.n_threads = 4;
    fsk_model *m;
    fsk_error err;
    ck_assert_msg(fsk_model_load(&m, model_path, &mp, &err) == FSK_OK, "%s", err.message);
    *placed = m->numa_arena != NULL;
    if (*placed) { /* every split weight, and the tied embedding, read from the copy */
        const char *lo = m->numa_arena, *hi = lo + m->numa_arena_bytes;
        const char *up = m->layers[2].up.data, *embd = m->tok_embd.data;
        ck_assert(up >= lo && up < hi && embd >= lo && embd < hi && m->tok_embd.data == m->output.data);
    }
    fsk_context_params cp;
    fsk_context_default_params(&cp);
    cp.n_threads = 4;
    fsk_context *c;
    ck_assert_msg(fsk_context_new(&c, m, &cp, &err) == FSK_OK, "%s", err.message);
    if (skip) {
        fsk_skip_params sp;
        fsk_skip_default_params(&sp);
        sp.policy = FSK_SKIP_FFN;
        sp.cold_first = 1;
        sp.cold_last = 1;
        sp.span = 1;
        sp.threshold = -0.5f; /* fires after every FFN it sees: skip one, run one, ... */
        ck_assert_int_eq(fsk_context_set_skip(c, &sp, &err), FSK_OK);
    }
    uint32_t nv = fsk_model_n_vocab(m);
    for (int i = 0; i < 12; i++) {
        int32_t id = (int32_t)((i * 37 + 5) % 256);
        ck_assert_int_eq(fsk_decode(c, &id, 1, logits + (size_t)i * nv, &err), FSK_OK);
    }
    static char keep[400];
    const char *bn = fsk_pool_bind_note(c->pool);
    snprintf(keep, sizeof keep, "%s%s%s", bn ? bn : "", bn && m->numa ? " | " : "",
             m->numa && m->numa->note[0] ? m->numa->note : "");
    *note = keep;
    fsk_skip_stats st;
    fsk_context_skip_stats(c, &st);
    uint64_t skipped = st.ffn_skipped;
    fsk_context_free(c);
    fsk_model_free(m);
    return skipped;
}

/* _i: 0 synthetic two sockets, 1 four nodes, 2 the 1+3 machine as XML, 3 two sockets with hwloc
 * told it is this machine, so that binding to the PUs it lacks really fails. */
START_TEST(test_logits_equal_across_modes)
{
    write_model();
    char xml[64] = "";
    size_t nv = 267, bytes = 12 * nv * sizeof(float);
    float *want = malloc(bytes), *got = malloc(bytes);
    for (int skip = 0; skip <= 1; skip++) {
        const char *note;
        int placed;
        unsetenv("HWLOC_SYNTHETIC");
        unsetenv("HWLOC_XMLFILE");
        unsetenv("HWLOC_THISSYSTEM");
        uint64_t s_off = decode(FSK_NUMA_OFF, skip, want, &note, &placed);
        ck_assert(!placed);
        if (_i == 2) {
            hwloc_topology_t t = asymmetric();
            snprintf(xml, sizeof xml, "/tmp/test_numa_xml_XXXXXX");
            int fd = mkstemp(xml);
            ck_assert_int_ge(fd, 0);
            close(fd);
            ck_assert_int_eq(hwloc_topology_export_xml(t, xml, 0), 0);
            hwloc_topology_destroy(t);
            setenv("HWLOC_XMLFILE", xml, 1);
        } else {
            setenv("HWLOC_SYNTHETIC", _i == 1 ? FOUR_NODES : TWO_SOCKETS, 1);
        }
        if (_i == 3)
            setenv("HWLOC_THISSYSTEM", "1", 1);
        uint64_t s_numa = decode(FSK_NUMA_AUTO, skip, got, &note, &placed);
        ck_assert_msg(placed, "distribute on several nodes copies the weights");
        ck_assert_msg(memcmp(want, got, bytes) == 0, "logits differ with NUMA on (skip %d)", skip);
        ck_assert_uint_eq(s_off, s_numa);
        if (skip)
            ck_assert_uint_gt(s_numa, 0);
        /* what the machine could not honour is said, and the run went on */
        ck_assert_msg(strstr(note, _i == 3 ? "refused" : "not this machine") != NULL, "note: '%s'", note);
        unsetenv("HWLOC_SYNTHETIC");
        unsetenv("HWLOC_XMLFILE");
        unsetenv("HWLOC_THISSYSTEM");
        if (xml[0])
            unlink(xml);
    }
    free(want);
    free(got);
    unlink(model_path);
}
END_TEST

/* isolate on a 2-node synthetic machine: one node's threads, weights copied, same logits. */
START_TEST(test_isolate_logits)
{
    write_model();
    size_t bytes = 12 * 267 * sizeof(float);
    float *want = malloc(bytes), *got = malloc(bytes);
    const char *note;
    int placed;
    decode(FSK_NUMA_OFF, 1, want, &note, &placed);
    setenv("HWLOC_SYNTHETIC", TWO_SOCKETS, 1);
    decode(FSK_NUMA_ISOLATE, 1, got, &note, &placed);
    unsetenv("HWLOC_SYNTHETIC");
    ck_assert(placed);
    ck_assert(memcmp(want, got, bytes) == 0);
    free(want);
    free(got);
    unlink(model_path);
}
END_TEST

/* Q4_1, Q8_0, Q4_0, Q5_0 and Q5_1 matrices copied to their nodes are repacked where they were
 * placed (repack.c), when this kernel table repacks them: the same logits as repacked from the
 * file with NUMA off. */
START_TEST(test_repacked_on_nodes)
{
    const uint32_t kinds[5][2] = {{FSK_TYPE_Q4_1, FSK_TYPE_Q4_1_R8}, {FSK_TYPE_Q8_0, FSK_TYPE_Q8_0_R8},
                                  {FSK_TYPE_Q4_0, FSK_TYPE_Q4_0_R8}, {FSK_TYPE_Q5_0, FSK_TYPE_Q5_0_R8},
                                  {FSK_TYPE_Q5_1, FSK_TYPE_Q5_1_R8}};
    size_t bytes = 12 * 267 * sizeof(float);
    float *want = malloc(bytes), *got = malloc(bytes);
    for (int k = 0; k < 5; k++) {
        write_model_of(kinds[k][0]);
        const char *note;
        int placed;
        decode(FSK_NUMA_OFF, 0, want, &note, &placed);
        ck_assert(!placed);
        setenv("HWLOC_SYNTHETIC", TWO_SOCKETS, 1);
        fsk_model_params mp;
        fsk_model_default_params(&mp);
        mp.n_threads = 4;
        fsk_model *m;
        fsk_error err;
        ck_assert_msg(fsk_model_load(&m, model_path, &mp, &err) == FSK_OK, "%s", err.message);
        ck_assert(m->numa_arena != NULL);
        ck_assert_uint_eq(m->layers[2].up.type, fsk_repack_enabled(kinds[k][0]) ? kinds[k][1] : kinds[k][0]);
        ck_assert(m->repack_arena == NULL); /* rewritten where NUMA placed them, not copied again */
        fsk_model_free(m);
        decode(FSK_NUMA_AUTO, 0, got, &note, &placed);
        unsetenv("HWLOC_SYNTHETIC");
        ck_assert(placed);
        ck_assert_msg(memcmp(want, got, bytes) == 0, "type %u: logits differ with NUMA on", kinds[k][0]);
        unlink(model_path);
    }
    free(want);
    free(got);
}
END_TEST

START_TEST(test_describe)
{
    setenv("HWLOC_SYNTHETIC", TWO_SOCKETS, 1);
    char buf[2048];
    size_t need = fsk_numa_describe(NULL, FSK_NUMA_AUTO, 6, buf, sizeof buf);
    unsetenv("HWLOC_SYNTHETIC");
    ck_assert_uint_gt(need, 0);
    ck_assert_uint_lt(need, sizeof buf);
    ck_assert_ptr_nonnull(strstr(buf, "2 nodes"));
    ck_assert_ptr_nonnull(strstr(buf, "distribute, 6 threads"));
    ck_assert_ptr_nonnull(strstr(buf, "threads 0-2"));
    ck_assert_ptr_nonnull(strstr(buf, "threads 3-5"));
    char small[8];
    setenv("HWLOC_SYNTHETIC", TWO_SOCKETS, 1);
    ck_assert_uint_eq(fsk_numa_describe(NULL, FSK_NUMA_AUTO, 6, small, sizeof small), need);
    unsetenv("HWLOC_SYNTHETIC");
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("numa");
    TCase *tc = tcase_create("plan");
    tcase_add_loop_test(tc, test_distribute_plans, 0, 4);
    tcase_add_loop_test(tc, test_one_node_is_the_old_split, 0, 4);
    tcase_add_test(tc, test_isolate);
    tcase_add_test(tc, test_modes_parse);
    suite_add_tcase(s, tc);
    TCase *e2e = tcase_create("logits");
    tcase_set_timeout(e2e, 60);
    tcase_add_loop_test(e2e, test_logits_equal_across_modes, 0, 4);
    tcase_add_test(e2e, test_isolate_logits);
    tcase_add_test(e2e, test_repacked_on_nodes);
    tcase_add_test(e2e, test_describe);
    suite_add_tcase(s, e2e);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

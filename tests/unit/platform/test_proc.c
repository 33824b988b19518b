/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Portable tests of platform/proc.h using proc_child (a helper built next to this test):
 * exit codes, capture and caps, head + tail capture, stdin, environment scrubbing,
 * timeouts, spawn errors, and the async API's exactly-once callback. POSIX-only cases
 * (run_as, resource limits, cgroups, user lookup) are in test_proc_linux.c.
 */
#include "wtest.h"

#include "platform/proc.h"
#include "proc_test.h"
#include "ward/alloc.h"

const char *child_path(void)
{
    static char *path;
    if (!path) {
        char *self = NULL;
        size_t n;
        char *slash;
        WT_OK(plat_proc_self_path(&self));
        slash = strrchr(self, '/');
        if (!slash || (strrchr(self, '\\') && strrchr(self, '\\') > slash))
            slash = strrchr(self, '\\');
        WT_ASSERT(slash != NULL);
        slash[1] = '\0';
        n = strlen(self) + sizeof("proc_child" PROC_TEST_EXE_SUFFIX);
        path = ward_malloc(n);
        WT_ASSERT(path != NULL);
        snprintf(path, n, "%sproc_child" PROC_TEST_EXE_SUFFIX, self);
        ward_free(self);
    }
    return path;
}

static void run_child(const char *const *actions, struct plat_proc_opts *o,
                      struct plat_proc_result *res)
{
    const char *argv[16];
    size_t i = 0;
    argv[i++] = child_path();
    for (; actions[i - 1] && i < 15; i++)
        argv[i] = actions[i - 1];
    argv[i] = NULL;
    o->argv = argv;
    WT_OK(plat_proc_run(o, res));
}

WT_TEST(proc_exit_codes)
{
    struct plat_proc_opts o = {0};
    struct plat_proc_result r;
    const char *ok[] = {"exit:0", NULL};
    const char *fail[] = {"exit:1", NULL};
    const char *seven[] = {"out:x", "exit:7", NULL};
    run_child(ok, &o, &r);
    WT_EQ_INT(r.exit_status, 0);
    WT_EQ_INT(r.term_signal, 0);
    WT_EQ_INT(r.timed_out, 0);
    plat_proc_result_release(&r);
    run_child(fail, &o, &r);
    WT_EQ_INT(r.exit_status, 1);
    plat_proc_result_release(&r);
    run_child(seven, &o, &r);
    WT_EQ_INT(r.exit_status, 7);
    WT_EQ_STR(r.out, "x");
    plat_proc_result_release(&r);
}

WT_TEST(proc_capture_stdout_stderr)
{
    struct plat_proc_opts o = {0};
    struct plat_proc_result r;
    const char *a[] = {"out:hello ", "err:oops", "out:world", NULL};
    run_child(a, &o, &r);
    WT_EQ_INT(r.exit_status, 0);
    WT_EQ_STR(r.out, "hello world");
    WT_EQ_INT(r.out_len, 11);
    WT_EQ_STR(r.err, "oops");
    WT_EQ_INT(r.out_truncated, 0);
    WT_EQ_INT(r.err_truncated, 0);
    plat_proc_result_release(&r);
    /* No output at all still gives empty strings. */
    {
        const char *none[] = {"exit:0", NULL};
        run_child(none, &o, &r);
        WT_ASSERT(r.out != NULL && r.err != NULL);
        WT_EQ_INT(r.out_len, 0);
        plat_proc_result_release(&r);
    }
}

WT_TEST(proc_output_cap_truncates)
{
    struct plat_proc_opts o = {.stdout_max = 1000};
    struct plat_proc_result r;
    const char *a[] = {"flood:5000000", "err:done", NULL};
    run_child(a, &o, &r);
    /* The child wrote everything (never blocked on a full pipe) and exited normally. */
    WT_EQ_INT(r.exit_status, 0);
    WT_EQ_INT(r.out_len, 1000);
    WT_EQ_INT(r.out_truncated, 1);
    WT_EQ_INT(strspn(r.out, "x"), 1000);
    WT_EQ_STR(r.err, "done");
    WT_EQ_INT(r.err_truncated, 0);
    plat_proc_result_release(&r);
    /* Exactly at the cap is not truncated. */
    {
        const char *b[] = {"flood:1000", NULL};
        run_child(b, &o, &r);
        WT_EQ_INT(r.out_len, 1000);
        WT_EQ_INT(r.out_truncated, 0);
        plat_proc_result_release(&r);
    }
}

/* Byte i of proc_child's seq: output (the same function as in proc_child.c). */
static char pattern(uint64_t i)
{
    static const char chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXY";
    return chars[i % 61];
}

/* out[from, from + n) must be the seq: stream's bytes starting at stream offset `at`. */
static void check_seq(const char *out, size_t from, size_t n, uint64_t at)
{
    for (size_t i = 0; i < n; i++)
        if (out[from + i] != pattern(at + i))
            wt_fail(__FILE__, __LINE__, "byte %zu: '%c', stream offset %llu wants '%c'", from + i,
                    out[from + i], (unsigned long long)(at + i), pattern(at + i));
}

WT_TEST(proc_head_tail_capture)
{
    const uint64_t total = 10 * 1024 * 1024;
    const size_t head = 100000, tail = 50000;
    struct plat_proc_opts o = {
        .stdout_max = head, .stdout_tail = tail, .stderr_max = 1000, .stderr_tail = 2000};
    struct plat_proc_result r;
    const char *a[] = {"seq:10485760", "seqerr:300000", NULL};
    uv_rusage_t before, after;
    WT_ASSERT(uv_getrusage(&before) == 0);
    run_child(a, &o, &r);
    WT_ASSERT(uv_getrusage(&after) == 0);
    WT_EQ_INT(r.exit_status, 0);
    WT_EQ_INT(r.out_total, total);
    WT_EQ_INT(r.out_head_len, head);
    WT_EQ_INT(r.out_len, head + tail);
    WT_EQ_INT(r.out_dropped, total - head - tail);
    WT_EQ_INT(r.out_truncated, 1);
    WT_EQ_INT(strlen(r.out), head + tail);
    check_seq(r.out, 0, head, 0);
    check_seq(r.out, head, tail, total - tail);
    WT_EQ_INT(r.err_total, 300000);
    WT_EQ_INT(r.err_head_len, 1000);
    WT_EQ_INT(r.err_len, 3000);
    WT_EQ_INT(r.err_dropped, 300000 - 3000);
    WT_EQ_INT(r.err_truncated, 1);
    check_seq(r.err, 0, 1000, 0);
    check_seq(r.err, 1000, 2000, 300000 - 2000);
    WT_EQ_STR(r.limits_mechanism, "none");
    WT_EQ_INT(r.limit_exceeded, 0);
    /* 10 MB went through us; what we kept is 150 kB plus a 64 kB read buffer. The peak RSS
     * (kB on every OS libuv supports) would have grown by at least the 10 MB otherwise. */
    WT_ASSERT(after.ru_maxrss - before.ru_maxrss < 4096);
    plat_proc_result_release(&r);
}

WT_TEST(proc_head_tail_partial_and_off)
{
    struct plat_proc_opts o = {.stdout_max = 1000, .stdout_tail = 1000};
    struct plat_proc_result r;
    const char *fits[] = {"seq:1500", NULL};
    const char *small[] = {"seq:10", NULL};
    const char *flood[] = {"seq:5000", NULL};
    /* Between head and head + tail: nothing dropped, out is the whole stream. */
    run_child(fits, &o, &r);
    WT_EQ_INT(r.out_len, 1500);
    WT_EQ_INT(r.out_head_len, 1000);
    WT_EQ_INT(r.out_total, 1500);
    WT_EQ_INT(r.out_dropped, 0);
    WT_EQ_INT(r.out_truncated, 0);
    check_seq(r.out, 0, 1500, 0);
    plat_proc_result_release(&r);
    /* Within the head: no tail at all. */
    run_child(small, &o, &r);
    WT_EQ_INT(r.out_len, 10);
    WT_EQ_INT(r.out_head_len, 10);
    WT_EQ_INT(r.out_dropped, 0);
    plat_proc_result_release(&r);
    /* No tail asked for: today's head-only capture, now with counters. */
    o.stdout_tail = 0;
    run_child(flood, &o, &r);
    WT_EQ_INT(r.out_len, 1000);
    WT_EQ_INT(r.out_head_len, 1000);
    WT_EQ_INT(r.out_total, 5000);
    WT_EQ_INT(r.out_dropped, 4000);
    WT_EQ_INT(r.out_truncated, 1);
    check_seq(r.out, 0, 1000, 0);
    WT_EQ_INT(r.err_total, 0);
    WT_EQ_INT(r.err_head_len, 0);
    plat_proc_result_release(&r);
    /* A tail smaller than one read wraps the ring on every read. */
    o.stdout_tail = 7;
    run_child(flood, &o, &r);
    WT_EQ_INT(r.out_len, 1007);
    check_seq(r.out, 1000, 7, 5000 - 7);
    WT_EQ_INT(r.out_dropped, 5000 - 1007);
    plat_proc_result_release(&r);
}

WT_TEST(proc_run_as_and_limits_where_unsupported)
{
    /* POSIX cases are in test_proc_linux.c; where the OS has no user lookup (Windows),
     * run_as and the limits are refused outright, before anything runs. */
    const char *argv[] = {child_path(), "exit:0", NULL};
    struct plat_proc_opts o = {.argv = argv};
    struct plat_proc_result r;
    uint32_t uid, gid;
    if (plat_user_lookup("root", &uid, &gid, NULL, 0) != WARD_ENOTSUP) {
        printf("skip: this OS supports run_as (see test_proc_linux.c)\n");
        return;
    }
    o.run_as = 1;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ENOTSUP);
    o.run_as = 0;
    o.cpu_seconds = 1;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ENOTSUP);
    o.cpu_seconds = 0;
    o.memory_bytes = 1 << 20;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ENOTSUP);
    o.memory_bytes = 0;
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_STR(r.limits_mechanism, "none");
    plat_proc_result_release(&r);
}

WT_TEST(proc_stdin_passed)
{
    static char big[200000];
    struct plat_proc_opts o = {.stdin_data = "line one\nline two\n", .stdin_len = 18};
    struct plat_proc_result r;
    const char *a[] = {"cat", NULL};
    run_child(a, &o, &r);
    WT_EQ_STR(r.out, "line one\nline two\n");
    plat_proc_result_release(&r);
    /* More than a pipe buffer's worth. */
    memset(big, 'q', sizeof(big));
    o.stdin_data = big;
    o.stdin_len = sizeof(big);
    run_child(a, &o, &r);
    WT_EQ_INT(r.out_len, sizeof(big));
    plat_proc_result_release(&r);
    /* A child that ignores its stdin must not hurt us (EPIPE, no SIGPIPE). */
    {
        const char *b[] = {"exit:0", NULL};
        run_child(b, &o, &r);
        WT_EQ_INT(r.exit_status, 0);
        plat_proc_result_release(&r);
    }
}

WT_TEST(proc_env_scrubbed)
{
    const char *env[] = {"WARD_TEST_PASSED=yes", NULL};
    struct plat_proc_opts o = {.env = env};
    struct plat_proc_result r;
    const char *a[] = {"env:WARD_TEST_SECRET", "env:WARD_TEST_PASSED", "env:PATH", NULL};
    WT_ASSERT(uv_os_setenv("WARD_TEST_SECRET", "leaked") == 0);
    run_child(a, &o, &r);
    WT_CONTAINS(r.out, "WARD_TEST_SECRET=<unset>");
    WT_CONTAINS(r.out, "WARD_TEST_PASSED=yes");
    WT_ASSERT(strstr(r.out, "PATH=<unset>") == NULL);
    plat_proc_result_release(&r);
}

WT_TEST(proc_timeout_kills)
{
    /* 1.5 s: a loaded machine under wine took more than 300 ms to print "started" */
    struct plat_proc_opts o = {.timeout_ms = 1500, .kill_grace_ms = 500};
    struct plat_proc_result r;
    const char *a[] = {"out:started", "sleep:30000", NULL};
    uint64_t t0 = uv_hrtime();
    run_child(a, &o, &r);
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    WT_EQ_INT(r.timed_out, 1);
    WT_ASSERT(ms < 8000);
    WT_EQ_STR(r.out, "started");
    plat_proc_result_release(&r);
}

WT_TEST(proc_relative_path_rejected)
{
    const char *argv[] = {"proc_child", NULL};
    const char *argv2[] = {"./bin/true", NULL};
    struct plat_proc_opts o = {.argv = argv};
    struct plat_proc_result r;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EPATH);
    o.argv = argv2;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EPATH);
}

WT_TEST(proc_bad_options)
{
    const char *argv[] = {NULL};
    const char *env[] = {"NOEQUALS", NULL};
    const char *ok[] = {child_path(), NULL};
    struct plat_proc_opts o = {.argv = argv};
    struct plat_proc_result r;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EINVAL);
    WT_EQ_ERR(plat_proc_run(NULL, &r), WARD_EINVAL);
    o.argv = ok;
    o.env = env;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EINVAL);
    o.env = NULL;
    o.stdin_len = 4;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EINVAL);
}

WT_TEST(proc_missing_executable)
{
    char path[4096];
    const char *argv[] = {path, NULL};
    struct plat_proc_opts o = {.argv = argv};
    struct plat_proc_result r;
    snprintf(path, sizeof(path), "%s/no-such-program", wt_tmpdir());
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ENOENT);
}

struct async_state {
    int calls;
    int64_t status;
    char *out;
    struct plat_proc *proc;
};

static void async_done(struct plat_proc *proc, struct plat_proc_result *res, void *ctx)
{
    struct async_state *s = ctx;
    WT_ASSERT(proc == s->proc);
    s->calls++;
    s->status = res->exit_status;
    s->out = res->out; /* take ownership */
    res->out = NULL;
}

WT_TEST(proc_async_callback_once)
{
    uv_loop_t loop;
    struct async_state s[3];
    const char *a0[] = {child_path(), "out:a", "exit:3", NULL};
    const char *a1[] = {child_path(), "sleep:100", "out:b", NULL};
    const char *a2[] = {child_path(), "sleep:30000", NULL};
    const char *const *argvs[3] = {a0, a1, a2};
    memset(s, 0, sizeof(s));
    WT_ASSERT(uv_loop_init(&loop) == 0);
    for (int i = 0; i < 3; i++) {
        struct plat_proc_opts o = {.argv = argvs[i]};
        WT_OK(plat_proc_spawn(&loop, &o, async_done, &s[i], &s[i].proc));
        WT_ASSERT(plat_proc_pid(s[i].proc) > 0);
    }
    /* Kill the third explicitly: its callback still comes, once, without timed_out. */
    plat_proc_kill(s[2].proc);
    plat_proc_kill(s[2].proc);
    uv_run(&loop, UV_RUN_DEFAULT);
    WT_EQ_INT(uv_loop_close(&loop), 0);
    for (int i = 0; i < 3; i++)
        WT_EQ_INT(s[i].calls, 1);
    WT_EQ_INT(s[0].status, 3);
    WT_EQ_STR(s[0].out, "a");
    WT_EQ_STR(s[1].out, "b");
    for (int i = 0; i < 3; i++)
        ward_free(s[i].out);
}

static void never_called(struct plat_proc *proc, struct plat_proc_result *res, void *ctx)
{
    (void)proc;
    (void)res;
    (void)ctx;
    wt_fail(__FILE__, __LINE__, "callback called after a failed start");
}

WT_TEST(proc_async_failed_start_no_callback)
{
    uv_loop_t loop;
    char path[4096];
    const char *argv[] = {path, NULL};
    const char *rel[] = {"relative", NULL};
    struct plat_proc_opts o = {.argv = argv};
    struct plat_proc *p = (struct plat_proc *)&loop;
    snprintf(path, sizeof(path), "%s/missing", wt_tmpdir());
    WT_ASSERT(uv_loop_init(&loop) == 0);
    WT_EQ_ERR(plat_proc_spawn(&loop, &o, never_called, NULL, &p), WARD_ENOENT);
    WT_ASSERT(p == NULL);
    o.argv = rel;
    WT_EQ_ERR(plat_proc_spawn(&loop, &o, never_called, NULL, NULL), WARD_EPATH);
    uv_run(&loop, UV_RUN_DEFAULT);
    WT_EQ_INT(uv_loop_close(&loop), 0);
}

WT_TEST(proc_alloc_failure_sweep)
{
    /* Every allocation failure on the spawn path surfaces as WARD_ENOMEM, never a crash or
     * a leak (ASan checks the latter). */
    const char *argv[] = {child_path(), "out:x", NULL};
    struct plat_proc_opts o = {.argv = argv, .stdin_data = "in", .stdin_len = 2};
    struct plat_proc_result r;
    int done = 0;
    for (long n = 0; n < 200 && !done; n++) {
        int rc;
        ward_alloc_fail_after(n, 0);
        rc = plat_proc_run(&o, &r);
        if (!ward_alloc_failed()) {
            WT_OK(rc);
            done = 1;
        } else if (rc != 0) {
            WT_EQ_ERR(rc, WARD_ENOMEM);
        }
        if (rc == 0)
            plat_proc_result_release(&r);
        ward_alloc_fail_reset();
    }
    WT_ASSERT(done);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX-only proc cases with system programs: true/false, `sleep 30` under a timeout,
 * a child that ignores SIGTERM (SIGKILL after the grace period), and a grandchild that
 * must die with its process group. /bin/sh appears here only as a test fixture.
 */
#include "wtest.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "platform/proc.h"

static void run(const char *const *argv, struct plat_proc_opts *o, struct plat_proc_result *r)
{
    o->argv = argv;
    WT_OK(plat_proc_run(o, r));
}

WT_TEST(proc_true_false)
{
    const char *t[] = {"/bin/true", NULL};
    const char *f[] = {"/bin/false", NULL};
    struct plat_proc_opts o = {0};
    struct plat_proc_result r;
    run(t, &o, &r);
    WT_EQ_INT(r.exit_status, 0);
    plat_proc_result_release(&r);
    run(f, &o, &r);
    WT_EQ_INT(r.exit_status, 1);
    plat_proc_result_release(&r);
}

WT_TEST(proc_sleep_timeout)
{
    const char *a[] = {"/bin/sleep", "30", NULL};
    struct plat_proc_opts o = {.timeout_ms = 200};
    struct plat_proc_result r;
    uint64_t t0 = uv_hrtime();
    run(a, &o, &r);
    WT_EQ_INT(r.timed_out, 1);
    WT_EQ_INT(r.term_signal, SIGTERM);
    WT_ASSERT((uv_hrtime() - t0) / 1000000 < 2000);
    plat_proc_result_release(&r);
}

WT_TEST(proc_sigterm_ignored_gets_sigkill)
{
    const char *a[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done",
                       NULL};
    struct plat_proc_opts o = {.timeout_ms = 200, .kill_grace_ms = 300};
    struct plat_proc_result r;
    uint64_t t0 = uv_hrtime();
    run(a, &o, &r);
    WT_EQ_INT(r.timed_out, 1);
    WT_EQ_INT(r.term_signal, SIGKILL);
    WT_ASSERT((uv_hrtime() - t0) / 1000000 < 3000);
    WT_EQ_STR(r.out, "ready\n");
    plat_proc_result_release(&r);
}

WT_TEST(proc_timeout_kills_process_group)
{
    /* The shell starts a background sleeper, reports its pid, and waits. */
    const char *a[] = {"/bin/sh", "-c", "sleep 30 & echo $!; wait", NULL};
    struct plat_proc_opts o = {.timeout_ms = 300};
    struct plat_proc_result r;
    long gc;
    int gone = 0;
    run(a, &o, &r);
    WT_EQ_INT(r.timed_out, 1);
    gc = atol(r.out);
    WT_ASSERT(gc > 1);
    for (int i = 0; i < 100 && !gone; i++) {
        if (kill((pid_t)gc, 0) != 0 && errno == ESRCH)
            gone = 1;
        else
            uv_sleep(20);
    }
    WT_ASSERT(gone);
    plat_proc_result_release(&r);
}

WT_TEST(proc_daemonised_grandchild_does_not_hang)
{
    /* A grandchild in its own session keeps stdout open after the child exits: the result
     * must still arrive (after the drain limit), flagged as truncated. */
    const char *a[] = {"/usr/bin/setsid", "-f", "/bin/sleep", "5", NULL};
    struct plat_proc_opts o = {0};
    struct plat_proc_result r;
    uint64_t t0;
    if (access(a[0], X_OK) != 0) {
        printf("skip: no setsid\n");
        return;
    }
    t0 = uv_hrtime();
    run(a, &o, &r);
    WT_EQ_INT(r.exit_status, 0);
    WT_ASSERT((uv_hrtime() - t0) / 1000000 < 3000);
    plat_proc_result_release(&r);
}

WT_TEST(proc_cwd_and_signal_status)
{
    const char *pwd[] = {"/bin/pwd", NULL};
    const char *selfkill[] = {"/bin/sh", "-c", "kill -9 $$", NULL};
    struct plat_proc_opts o = {.cwd = "/usr"};
    struct plat_proc_result r;
    run(pwd, &o, &r);
    WT_EQ_STR(r.out, "/usr\n");
    plat_proc_result_release(&r);
    o.cwd = NULL;
    run(selfkill, &o, &r);
    WT_EQ_INT(r.term_signal, SIGKILL);
    WT_EQ_INT(r.timed_out, 0);
    plat_proc_result_release(&r);
}

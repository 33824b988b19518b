/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX-only proc cases with system programs: true/false, `sleep 30` under a timeout,
 * a child that ignores SIGTERM (SIGKILL after the grace period), and a grandchild that
 * must die with its process group. Then what run_script needs: plat_user_lookup, run_as
 * (as root), RLIMIT_CPU and RLIMIT_AS on proc_child, and a cgroup v2 group per child when
 * a writable cgroup2 hierarchy exists (skipped with a message otherwise). /bin/sh appears
 * here only as a test fixture.
 */
#include "wtest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "platform/proc.h"
#include "proc_test.h"

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

WT_TEST(proc_user_lookup)
{
    static const char *const hostile[] = {
        "a;b",
        "$(id)",
        "-rf",
        "a\nb",
        "",
        "a b",
        "../root",
        "root\t",
        "`id`",
        "a/b",
        "1abc",
        "0123456789012345678901234567890123456789", /* 40 characters */
        "abcdefghijklmnopqrstuvwxyz0123456",        /* 33 characters */
        NULL};
    uint32_t uid = 7, gid = 7;
    char home[256], tiny[2];
    WT_OK(plat_user_lookup("root", &uid, &gid, home, sizeof(home)));
    WT_EQ_INT(uid, 0);
    WT_EQ_INT(gid, 0);
    WT_ASSERT(home[0] == '/');
    WT_OK(plat_user_lookup("root", &uid, &gid, NULL, 0));
    WT_EQ_ERR(plat_user_lookup("root", &uid, &gid, tiny, sizeof(tiny)), WARD_ETOOBIG);
    WT_EQ_ERR(plat_user_lookup("ward_no_such_user.x-1", &uid, &gid, NULL, 0), WARD_ENOENT);
    /* 32 characters is the limit, not an error by itself. */
    WT_EQ_ERR(plat_user_lookup("abcdefghijklmnopqrstuvwxyz012345", &uid, &gid, NULL, 0),
              WARD_ENOENT);
    for (size_t i = 0; hostile[i]; i++) {
        uid = gid = 7;
        if (plat_user_lookup(hostile[i], &uid, &gid, home, sizeof(home)) != WARD_EINVAL)
            wt_fail(__FILE__, __LINE__, "name %zu (\"%s\") was not refused", i, hostile[i]);
        WT_EQ_INT(uid, 7);
    }
    WT_EQ_ERR(plat_user_lookup(NULL, &uid, &gid, NULL, 0), WARD_EINVAL);
    WT_EQ_ERR(plat_user_lookup("root", NULL, &gid, NULL, 0), WARD_EINVAL);
    if (plat_user_lookup("nobody", &uid, &gid, NULL, 0) == 0)
        WT_EQ_INT(uid, 65534);
}

/* Value of a "Key:\t..." line of /proc/<pid>/status output, up to the newline. */
static void status_field(const char *status, const char *key, char *val, size_t size)
{
    const char *p = strstr(status, key);
    size_t n;
    WT_ASSERT(p != NULL);
    p += strlen(key);
    n = strcspn(p, "\n");
    WT_ASSERT(n < size);
    memcpy(val, p, n);
    val[n] = '\0';
}

WT_TEST(proc_run_as_nobody)
{
    const char *a[] = {"/bin/cat", "/proc/self/status", NULL};
    struct plat_proc_opts o = {.run_as = 1, .uid = 65534, .gid = 65534, .cwd = "/"};
    struct plat_proc_result r;
    char val[256];
    o.argv = a;
    if (geteuid() != 0) {
        /* Not root: the child cannot switch users, and says so at spawn time. */
        WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EACCES);
        printf("skip: not root, run_as checked only for refusal\n");
        return;
    }
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_INT(r.exit_status, 0);
    status_field(r.out, "\nUid:", val, sizeof(val));
    WT_EQ_STR(val, "\t65534\t65534\t65534\t65534");
    status_field(r.out, "\nGid:", val, sizeof(val));
    WT_EQ_STR(val, "\t65534\t65534\t65534\t65534");
    /* The user's groups as initgroups would set them (nobody: nogroup alone), never the
     * agent's own (root's). */
    status_field(r.out, "\nGroups:", val, sizeof(val));
    WT_EQ_STR(val, "\t65534 ");
    plat_proc_result_release(&r);
    /* A uid with no passwd entry: its primary group only. */
    o.uid = 4242;
    o.gid = 4343;
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_INT(r.exit_status, 0);
    status_field(r.out, "\nUid:", val, sizeof(val));
    WT_EQ_STR(val, "\t4242\t4242\t4242\t4242");
    status_field(r.out, "\nGroups:", val, sizeof(val));
    WT_EQ_STR(val, "\t4343 ");
    plat_proc_result_release(&r);
    /* Bad ids are refused before anything runs. */
    o.uid = UINT32_MAX;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EINVAL);
}

/* The limits are in place before the program's first instruction: the program itself reads
 * them at once (no sleep, no fork first), and finds its descriptors limited to 0..2. */
WT_TEST(proc_limits_before_exec)
{
    const char *a[] = {"/bin/cat", "/proc/self/limits", NULL};
    const char *fds[] = {"/bin/ls", "/proc/self/fd", NULL};
    struct plat_proc_opts o = {.argv = a, .cpu_seconds = 7, .memory_bytes = 512u << 20};
    struct plat_proc_result r;
    int leak = open("/dev/null", O_RDONLY); /* no O_CLOEXEC: must not reach the child */
    WT_ASSERT(leak >= 3);
    for (int i = 0; i < 20; i++) { /* the old post-exec prlimit lost this race at times */
        WT_OK(plat_proc_run(&o, &r));
        WT_EQ_INT(r.exit_status, 0);
        WT_ASSERT(strstr(r.out, "Max cpu time              7                    8") != NULL);
        WT_ASSERT(strstr(r.out, "Max address space         536870912            536870912") !=
                  NULL);
        plat_proc_result_release(&r);
    }
    memset(&o, 0, sizeof(o));
    o.argv = fds;
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_INT(r.exit_status, 0);
    WT_EQ_STR(r.out, "0\n1\n2\n3\n"); /* 3: ls's own opendir of /proc/self/fd */
    plat_proc_result_release(&r);
    close(leak);
}

WT_TEST(proc_cpu_limit_sigxcpu)
{
    const char *a[] = {child_path(), "out:burning", "burn:20000", NULL};
    struct plat_proc_opts o = {.argv = a, .cpu_seconds = 1, .timeout_ms = 15000};
    struct plat_proc_result r;
    uint64_t t0 = uv_hrtime(), ms;
    WT_OK(plat_proc_run(&o, &r));
    ms = (uv_hrtime() - t0) / 1000000;
    WT_EQ_INT(r.term_signal, SIGXCPU);
    WT_EQ_INT(r.limit_exceeded, 1);
    WT_EQ_INT(r.timed_out, 0);
    WT_EQ_STR(r.limits_mechanism, "rlimit");
    WT_EQ_STR(r.out, "burning");
    WT_ASSERT(ms >= 900 && ms < 10000);
    plat_proc_result_release(&r);
}

WT_TEST(proc_cpu_limit_hard_kill)
{
    /* A child that ignores SIGXCPU meets the hard limit one second later. Without a cgroup
     * that SIGKILL cannot be told from another, so limit_exceeded stays 0 (proc.h). */
    const char *a[] = {"/bin/sh", "-c", "trap '' XCPU; while :; do :; done", NULL};
    struct plat_proc_opts o = {.argv = a, .cpu_seconds = 1, .timeout_ms = 15000};
    struct plat_proc_result r;
    uint64_t t0 = uv_hrtime(), ms;
    WT_OK(plat_proc_run(&o, &r));
    ms = (uv_hrtime() - t0) / 1000000;
    WT_EQ_INT(r.term_signal, SIGKILL);
    WT_EQ_INT(r.timed_out, 0);
    WT_EQ_INT(r.limit_exceeded, 0);
    WT_ASSERT(ms >= 1900 && ms < 10000);
    plat_proc_result_release(&r);
}

WT_TEST(proc_memory_rlimit)
{
    /* dd allocates its block buffer up front. (Not proc_child: under ASan it needs far more
     * address space than any limit a test can set.) The sleep keeps dd out of the window
     * before the limit is applied (proc.h), which a loaded machine widens. */
    const char *big[] = {"/bin/sh", "-c",
                         "sleep 0.2; exec /bin/dd if=/dev/zero of=/dev/null bs=1G count=1", NULL};
    const char *small[] = {"/bin/sh", "-c",
                           "sleep 0.2; exec /bin/dd if=/dev/zero of=/dev/null bs=16M count=1 "
                           "status=none",
                           NULL};
    struct plat_proc_opts o = {.argv = big, .memory_bytes = 256u << 20, .timeout_ms = 15000};
    struct plat_proc_result r;
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_INT(r.term_signal, 0);
    WT_EQ_INT(r.exit_status, 1);
    WT_CONTAINS(r.err, "memory exhausted");
    WT_EQ_STR(r.limits_mechanism, "rlimit");
    WT_EQ_INT(r.limit_exceeded, 0); /* the allocation failed; nothing was killed */
    plat_proc_result_release(&r);
    o.argv = small;
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_INT(r.exit_status, 0);
    plat_proc_result_release(&r);
}

WT_TEST(proc_limit_option_errors)
{
    const char *a[] = {child_path(), "exit:0", NULL};
    struct plat_proc_opts o = {.argv = a, .memory_bytes = 1 << 20, .cgroup_parent = "cg"};
    struct plat_proc_result r;
    struct statfs sf;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EPATH);
    o.cgroup_parent = wt_tmpdir(); /* a directory, but no cgroup */
    WT_ASSERT(statfs(o.cgroup_parent, &sf) == 0 && sf.f_type != 0x63677270);
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ENOTSUP);
    o.cgroup_parent = NULL;
    o.memory_bytes = UINT64_MAX;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EINVAL);
    o.memory_bytes = 0;
    o.cpu_seconds = (uint64_t)UINT32_MAX + 1;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EINVAL);
}

static char scratch_dir[256];

/* A failed assertion exits: the scratch group must not outlive the test all the same. */
static void scratch_cgroup_remove(void)
{
    rmdir(scratch_dir);
}

/* A scratch cgroup under a writable cgroup2 hierarchy, or NULL (with the reason printed). */
static const char *scratch_cgroup(void)
{
    static const char *const roots[] = {"/sys/fs/cgroup", "/sys/fs/cgroup/unified", NULL};
    char *dir = scratch_dir;
    size_t size = sizeof(scratch_dir);
    for (size_t i = 0; roots[i]; i++) {
        struct statfs sf;
        if (statfs(roots[i], &sf) != 0 || sf.f_type != 0x63677270) {
            printf("%s: not cgroup2\n", roots[i]);
            continue;
        }
        snprintf(dir, size, "%s/ward-test-%d", roots[i], (int)getpid());
        if (mkdir(dir, 0755) == 0) {
            atexit(scratch_cgroup_remove);
            return dir;
        }
        printf("%s: cgroup2 but cannot mkdir: %s\n", roots[i], strerror(errno));
    }
    return NULL;
}

static int pid_gone(long pid)
{
    for (int i = 0; i < 100; i++) {
        if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            return 1;
        uv_sleep(20);
    }
    return 0;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    ssize_t n;
    if (fd < 0)
        return -1;
    n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

WT_TEST(proc_cgroup_v2)
{
    /* The child is in <parent>/ward-<agent pid>.<n> from its first instruction (it reads
     * its cgroup at once); a daemonised grandchild that left its process group dies with
     * the group when the child exits; the group is removed. */
    const char *a[] = {"/bin/sh", "-c",
                       "cat /proc/self/cgroup; "
                       "/usr/bin/setsid -f /bin/sh -c 'echo $$; exec sleep 30'; sleep 0.2",
                       NULL};
    const char *burn[] = {"/bin/sh", "-c", "trap '' XCPU; while :; do :; done", NULL};
    const char *alloc[] = {child_path(), "alloc:1073741824", NULL};
    const char *parent = scratch_cgroup();
    struct plat_proc_opts o = {.argv = a, .timeout_ms = 10000};
    struct plat_proc_result r;
    char want[300], path[1024], group[300];
    const char *line;
    struct stat st;
    long gc;
    size_t glen;
    if (!parent) {
        printf("skip: no writable cgroup v2 hierarchy\n");
        return;
    }
    o.cgroup_parent = parent;
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_INT(r.exit_status, 0);
    WT_EQ_STR(r.limits_mechanism, "cgroup");
    snprintf(want, sizeof(want), "%s/ward-%ld.", strrchr(parent, '/'), (long)getpid());
    line = strstr(r.out, want);
    if (!line)
        wt_fail(__FILE__, __LINE__, "no %s in the child's cgroups:\n%s", want, r.out);
    line += strlen(strrchr(parent, '/')) + 1;
    glen = strcspn(line, "\n");
    WT_ASSERT(glen < sizeof(group));
    memcpy(group, line, glen);
    group[glen] = '\0';
    line = strchr(line, '\n');
    WT_ASSERT(line != NULL);
    gc = atol(line + 1);
    WT_ASSERT(gc > 1);
    WT_ASSERT(pid_gone(gc));
    snprintf(path, sizeof(path), "%s/%s", parent, group);
    WT_ASSERT(stat(path, &st) != 0 && errno == ENOENT);
    plat_proc_result_release(&r);

    /* In a cgroup the hard CPU limit's SIGKILL is attributed (cpu.stat). */
    o.argv = burn;
    o.cpu_seconds = 1;
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_INT(r.term_signal, SIGKILL);
    WT_EQ_INT(r.limit_exceeded, 1);
    WT_EQ_STR(r.limits_mechanism, "cgroup");
    plat_proc_result_release(&r);
    o.cpu_seconds = 0;

    /* Memory needs the memory controller delegated to the scratch parent. */
    o.argv = alloc;
    o.memory_bytes = 64u << 20;
    snprintf(path, sizeof(path), "%s/cgroup.subtree_control", parent);
    if (write_file(path, "+memory") != 0) {
        /* Not here (cgroup v1 holds the memory controller, say): refused before the
         * spawn, so nothing ran without its limit. */
        WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ENOTSUP);
        printf("skip: no memory controller in this cgroup v2 hierarchy, memory.max not "
               "exercised\n");
    } else {
        WT_OK(plat_proc_run(&o, &r));
        WT_EQ_INT(r.term_signal, SIGKILL);
        WT_EQ_INT(r.limit_exceeded, 1);
        WT_EQ_STR(r.limits_mechanism, "cgroup");
        plat_proc_result_release(&r);
    }
    WT_ASSERT(rmdir(parent) == 0); /* fails if a child's group were left in it */
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Tests of ward_platform_fake: scripted proc and sysinfo answers come back as set, calls
 * are recorded, the callback rules match the real library, and fs is the real thing. */
#include "wtest.h"

#include "platform/fake.h"
#include "platform/fs.h"
#include "platform/proc.h"
#include "platform/sysinfo.h"
#include "ward/alloc.h"

WT_TEST(fake_proc_scripted_answers)
{
    const char *apt[] = {FAKE_ABS "/usr/bin/apt-get", "update", NULL};
    const char *dpkg[] = {FAKE_ABS "/usr/bin/dpkg", "-l", NULL};
    const char *env[] = {"DEBIAN_FRONTEND=noninteractive", NULL};
    struct plat_fake_proc_reply fail = {
        .argv0 = FAKE_ABS "/usr/bin/dpkg", .exit_status = 2, .err = "dpkg: error"};
    struct plat_proc_opts o = {
        .argv = apt, .env = env, .stdin_data = "y\n", .stdin_len = 2, .timeout_ms = 5000};
    struct plat_proc_result r;
    const struct plat_fake_proc_call *c;

    WT_OK(plat_fake_proc_expect_reply(&fail));
    WT_OK(plat_fake_proc_expect(FAKE_ABS "/usr/bin/apt-get", 0, "Reading package lists...\n"));
    WT_EQ_INT(plat_fake_proc_pending(), 2);
    /* Replies match by program, not only by order. */
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_INT(r.exit_status, 0);
    WT_EQ_STR(r.out, "Reading package lists...\n");
    WT_EQ_STR(r.err, "");
    plat_proc_result_release(&r);
    o.argv = dpkg;
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_INT(r.exit_status, 2);
    WT_EQ_STR(r.err, "dpkg: error");
    plat_proc_result_release(&r);
    WT_EQ_INT(plat_fake_proc_pending(), 0);

    WT_EQ_INT(plat_fake_proc_call_count(), 2);
    c = plat_fake_proc_call_get(0);
    WT_EQ_STR(c->argv[0], FAKE_ABS "/usr/bin/apt-get");
    WT_EQ_STR(c->argv[1], "update");
    WT_ASSERT(c->argv[2] == NULL);
    WT_EQ_STR(c->env[0], "DEBIAN_FRONTEND=noninteractive");
    WT_EQ_STR(c->stdin_data, "y\n");
    WT_EQ_INT(c->timeout_ms, 5000);
    WT_EQ_INT(c->answered, 1);
    WT_ASSERT(plat_fake_proc_call_get(2) == NULL);
    plat_fake_reset();
    WT_EQ_INT(plat_fake_proc_call_count(), 0);
}

WT_TEST(fake_proc_unexpected_and_errors)
{
    const char *prog[] = {FAKE_ABS "/bin/unscripted", NULL};
    const char *rel[] = {"bin/rel", NULL};
    struct plat_fake_proc_reply e = {.argv0 = NULL, .spawn_error = WARD_ENOENT};
    struct plat_proc_opts o = {.argv = prog};
    struct plat_proc_result r;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ESPAWN);
    WT_EQ_INT(plat_fake_proc_call_count(), 1);
    WT_EQ_INT(plat_fake_proc_call_get(0)->answered, 0);
    WT_OK(plat_fake_proc_expect_reply(&e));
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ENOENT);
    /* Same option checks as the real library. */
    o.argv = rel;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EPATH);
    WT_EQ_INT(plat_fake_proc_call_count(), 2);
    plat_fake_reset();
}

WT_TEST(fake_proc_cap_and_timeout)
{
    const char *prog[] = {FAKE_ABS "/bin/chatty", NULL};
    struct plat_fake_proc_reply rep = {
        .argv0 = FAKE_ABS "/bin/chatty", .out = "0123456789", .timed_out = 1, .term_signal = 15};
    struct plat_proc_opts o = {.argv = prog, .stdout_max = 4};
    struct plat_proc_result r;
    WT_OK(plat_fake_proc_expect_reply(&rep));
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_STR(r.out, "0123");
    WT_EQ_INT(r.out_truncated, 1);
    WT_EQ_INT(r.timed_out, 1);
    WT_EQ_INT(r.term_signal, 15);
    plat_proc_result_release(&r);
    plat_fake_reset();
}

/* run_as and the limits exist where plat_user_lookup does (POSIX); elsewhere the fake
 * refuses them with WARD_ENOTSUP, like the real library. */
static int posix_limits(void)
{
    uint32_t uid, gid;
    return plat_user_lookup("root", &uid, &gid, NULL, 0) != WARD_ENOTSUP;
}

WT_TEST(fake_proc_head_tail_and_limits)
{
    const char *prog[] = {FAKE_ABS "/usr/bin/python3", "/var/lib/ward/scripts/x.py", NULL};
    struct plat_fake_proc_reply rep = {.argv0 = FAKE_ABS "/usr/bin/python3",
                                       .out = "0123456789abcdefghij",
                                       .err = "warning: something",
                                       .limit_exceeded = 1,
                                       .term_signal = 24};
    struct plat_proc_opts o = {.argv = prog,
                               .stdout_max = 4,
                               .stdout_tail = 3,
                               .stderr_max = 100,
                               .stderr_tail = 100,
                               .kill_grace_ms = 500,
                               .cpu_seconds = 30,
                               .memory_bytes = 64u << 20,
                               .cgroup_parent = "/sys/fs/cgroup/ward.slice/scripts"};
    struct plat_proc_result r;
    const struct plat_fake_proc_call *c;
    int posix = posix_limits();
    WT_OK(plat_fake_proc_expect_reply(&rep));
    if (!posix) {
        WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ENOTSUP);
        o.cpu_seconds = o.memory_bytes = 0;
        o.cgroup_parent = NULL;
    }
    WT_OK(plat_proc_run(&o, &r));
    /* Head "0123", tail "hij", the middle dropped, as the real library reports it. */
    WT_EQ_STR(r.out, "0123hij");
    WT_EQ_INT(r.out_head_len, 4);
    WT_EQ_INT(r.out_total, 20);
    WT_EQ_INT(r.out_dropped, 13);
    WT_EQ_INT(r.out_truncated, 1);
    WT_EQ_STR(r.err, "warning: something");
    WT_EQ_INT(r.err_head_len, 18);
    WT_EQ_INT(r.err_dropped, 0);
    WT_EQ_INT(r.err_truncated, 0);
    WT_EQ_INT(r.limit_exceeded, 1);
    WT_EQ_INT(r.term_signal, 24);
    WT_EQ_STR(r.limits_mechanism, posix ? "cgroup" : "none"); /* derived from the options */
    plat_proc_result_release(&r);
    if (!posix) {
        plat_fake_reset();
        return;
    }

    c = plat_fake_proc_call_get(0);
    WT_ASSERT(c != NULL);
    WT_EQ_INT(c->stdout_max, 4);
    WT_EQ_INT(c->stdout_tail, 3);
    WT_EQ_INT(c->stderr_max, 100);
    WT_EQ_INT(c->stderr_tail, 100);
    WT_EQ_INT(c->kill_grace_ms, 500);
    WT_EQ_INT(c->cpu_seconds, 30);
    WT_EQ_INT(c->memory_bytes, 64u << 20);
    WT_EQ_STR(c->cgroup_parent, "/sys/fs/cgroup/ward.slice/scripts");
    WT_EQ_INT(c->run_as, 0);

    /* Mechanisms when not scripted: rlimit without a cgroup parent, none without limits;
     * a scripted one wins. */
    o.cgroup_parent = NULL;
    rep.limit_exceeded = 0;
    WT_OK(plat_fake_proc_expect_reply(&rep));
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_STR(r.limits_mechanism, "rlimit");
    WT_EQ_INT(r.limit_exceeded, 0);
    plat_proc_result_release(&r);
    o.cpu_seconds = o.memory_bytes = 0;
    o.stdout_tail = 0;
    WT_OK(plat_fake_proc_expect_reply(&rep));
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_STR(r.limits_mechanism, "none");
    WT_EQ_STR(r.out, "0123");
    WT_EQ_INT(r.out_head_len, 4);
    WT_EQ_INT(r.out_dropped, 16);
    plat_proc_result_release(&r);
    rep.limits_mechanism = "rlimit";
    WT_OK(plat_fake_proc_expect_reply(&rep));
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_STR(r.limits_mechanism, "rlimit");
    plat_proc_result_release(&r);
    plat_fake_reset();
}

WT_TEST(fake_proc_run_as_recorded)
{
    const char *prog[] = {FAKE_ABS "/bin/sh", NULL};
    struct plat_proc_opts o = {.argv = prog, .run_as = 1, .uid = 65534, .gid = 65533};
    struct plat_proc_result r;
    const struct plat_fake_proc_call *c;
    int posix = posix_limits();
    WT_OK(plat_fake_proc_expect(FAKE_ABS "/bin/sh", 0, "ok"));
    if (!posix) {
        /* Same refusal as the real library; recorded nothing. */
        WT_EQ_ERR(plat_proc_run(&o, &r), WARD_ENOTSUP);
        WT_EQ_INT(plat_fake_proc_call_count(), 0);
        plat_fake_reset();
        return;
    }
    WT_OK(plat_proc_run(&o, &r));
    WT_EQ_STR(r.limits_mechanism, "none");
    plat_proc_result_release(&r);
    c = plat_fake_proc_call_get(0);
    WT_EQ_INT(c->run_as, 1);
    WT_EQ_INT(c->uid, 65534);
    WT_EQ_INT(c->gid, 65533);
    WT_ASSERT(c->cgroup_parent == NULL);
    /* The real option rules: bad ids and a relative cgroup parent are refused. */
    o.uid = UINT32_MAX;
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EINVAL);
    o.uid = 1;
    o.cgroup_parent = "relative/cg";
    WT_EQ_ERR(plat_proc_run(&o, &r), WARD_EPATH);
    WT_EQ_INT(plat_fake_proc_call_count(), 1);
    plat_fake_reset();
}

static void count_cb(struct plat_proc *p, struct plat_proc_result *res, void *ctx)
{
    (void)p;
    (void)res;
    ++*(int *)ctx;
}

WT_TEST(fake_proc_async_once)
{
    uv_loop_t loop;
    const char *prog[] = {FAKE_ABS "/bin/x", NULL};
    struct plat_proc_opts o = {.argv = prog};
    struct plat_proc *p = NULL;
    int calls = 0;
    WT_ASSERT(uv_loop_init(&loop) == 0);
    WT_OK(plat_fake_proc_expect(FAKE_ABS "/bin/x", 0, NULL));
    WT_OK(plat_proc_spawn(&loop, &o, count_cb, &calls, &p));
    WT_EQ_INT(calls, 0); /* never synchronously */
    WT_ASSERT(plat_proc_pid(p) > 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    WT_EQ_INT(calls, 1);
    /* Failed start: no callback. */
    WT_EQ_ERR(plat_proc_spawn(&loop, &o, count_cb, &calls, &p), WARD_ESPAWN);
    uv_run(&loop, UV_RUN_DEFAULT);
    WT_EQ_INT(calls, 1);
    WT_EQ_INT(uv_loop_close(&loop), 0);
    plat_fake_reset();
}

WT_TEST(fake_sysinfo)
{
    struct plat_sysinfo si, mine;
    WT_OK(plat_sysinfo_get(NULL, &si));
    WT_EQ_STR(si.hostname, "fake-host");
    WT_EQ_STR(si.os_id, "fakeos");
    memset(&mine, 0, sizeof(mine));
    snprintf(mine.hostname, sizeof(mine.hostname), "laptop-42");
    snprintf(mine.os_id, sizeof(mine.os_id), "windows");
    mine.boot_time = 123;
    plat_fake_sysinfo_set(&mine);
    WT_OK(plat_sysinfo_get("/scratch", &si));
    WT_EQ_STR(si.hostname, "laptop-42");
    WT_EQ_STR(si.os_id, "windows");
    WT_EQ_INT(si.boot_time, 123);
    WT_EQ_STR(plat_fake_sysinfo_last_root(), "/scratch");
    plat_fake_sysinfo_fail(WARD_EIO);
    WT_EQ_ERR(plat_sysinfo_get(NULL, &si), WARD_EIO);
    WT_EQ_INT(plat_fake_sysinfo_calls(), 3);
    plat_fake_reset();
    WT_OK(plat_sysinfo_get(NULL, &si));
    WT_EQ_STR(si.hostname, "fake-host");
    /* The parsers are the real ones. */
    WT_OK(plat_sysinfo_parse_os_release("ID=x\n", 5, &si));
    WT_EQ_STR(si.os_id, "x");
}

WT_TEST(fake_fs_is_real)
{
    const char *root = wt_tmpdir();
    char *data = NULL;
    size_t len;
    WT_OK(plat_fs_write_atomic(root, "f", PLAT_FS_NTS, "real", 4, NULL));
    WT_OK(plat_fs_read_file(root, "f", PLAT_FS_NTS, 10, &data, &len));
    WT_EQ_STR(data, "real");
    ward_free(data);
}

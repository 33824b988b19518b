/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine around the kinds: audit never writes, rollback of a setting whose apply fails
 * halfway (a failure injected before its second write), atomic rollback of a whole run,
 * restore on removal from the SQLite journal (the first prior state wins), hostile paths
 * (.., a symlink leaving the root, one swapped in during apply: DENIED, nothing written
 * outside), and the JSON and table reports.
 */
#include "enf_test.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/store.h"

/* Fails the write to `path` (every time) with `err`; counts writes. */
struct inject {
    const char *path;
    int err;
    int writes;
    void (*before)(struct inject *in, const char *path);
};

static int inject_cb(void *ctx, const char *path)
{
    struct inject *in = ctx;
    in->writes++;
    if (in->before)
        in->before(in, path);
    if (in->path && strcmp(in->path, path) == 0)
        return in->err;
    return 0;
}

WT_TEST(audit_mode_never_writes)
{
    struct enf_baseline *b;
    struct enf_report *r;
    struct inject in = {0};
    struct enf_hooks hooks = {.before_write = inject_cb, .ctx = &in};
    et_put("/etc/login.defs", "PASS_MAX_DAYS 99999\n");
    b = et_doc("{\"id\": \"a\", \"version\": 1, \"mode\": \"audit\", \"settings\": ["
               "{\"id\": \"max\", \"kind\": \"line\", \"path\": \"/etc/login.defs\", \"key\": "
               "\"PASS_MAX_DAYS\", \"value\": 365},"
               "{\"id\": \"min\", \"kind\": \"line\", \"path\": \"/etc/login.defs\", \"key\": "
               "\"PASS_MIN_DAYS\", \"value\": 1, \"mode\": \"enforce\"}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, &hooks);
    ET_RESULT(r, "max", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "max")->error, "not compliant (audit)");
    WT_EQ_STR(et_outcome(r, "max")->expected, "PASS_MAX_DAYS 365");
    WT_EQ_STR(et_outcome(r, "max")->actual, "PASS_MAX_DAYS 99999");
    ET_RESULT(r, "min", ENF_REPAIRED); /* its own mode override */
    WT_EQ_INT(in.writes, 1);
    WT_EQ_INT(r->n_errors, 0);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/login.defs"), "PASS_MAX_DAYS 99999\nPASS_MIN_DAYS 1\n");
    enf_baseline_free(b);
}

WT_TEST(rollback_after_failure_halfway)
{
    /* sysctl writes the runtime value, then the drop-in: failing the second write leaves
     * the first done, and the engine must put the runtime value back. */
    struct inject in = {.path = "/etc/sysctl.d/60-ward.conf", .err = WARD_ENOSPC};
    struct enf_hooks hooks = {.before_write = inject_cb, .ctx = &in};
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/proc/sys/net/ipv4/ip_forward", "1\n");
    et_put("/etc/sysctl.d/60-ward.conf", "# mine\n");
    et_put("/etc/motd", "hi\n");
    b = et_doc("{\"id\": \"r\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"motd\", \"kind\": \"line\", \"path\": \"/etc/motd\", \"line\": \"x\"},"
               "{\"id\": \"fwd\", \"kind\": \"sysctl\", \"key\": \"net.ipv4.ip_forward\", "
               "\"value\": 0}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, &hooks);
    ET_RESULT(r, "motd", ENF_REPAIRED); /* not atomic: the other setting stays */
    ET_RESULT(r, "fwd", ENF_FAILED);
    WT_EQ_ERR(et_outcome(r, "fwd")->err, WARD_ENOSPC);
    WT_CONTAINS(et_outcome(r, "fwd")->error, "apply failed");
    WT_CONTAINS(et_outcome(r, "fwd")->error, "prior state restored");
    WT_EQ_INT(r->rolled_back, 0);
    enf_report_free(r);
    WT_EQ_STR(et_get("/proc/sys/net/ipv4/ip_forward"), "1\n"); /* put back */
    WT_EQ_STR(et_get("/etc/sysctl.d/60-ward.conf"), "# mine\n");
    WT_EQ_STR(et_get("/etc/motd"), "hi\nx\n");
    enf_baseline_free(b);
}

static const char *const ATOMIC_DOC =
    "{\"id\": \"at\", \"version\": 1, \"mode\": \"enforce\", \"atomic\": true, \"settings\": ["
    "{\"id\": \"a\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", \"key\": "
    "\"PermitRootLogin\", \"value\": \"no\"},"
    "{\"id\": \"b\", \"kind\": \"file\", \"path\": \"/etc/shadow\", \"mode\": \"0640\"},"
    "{\"id\": \"kept\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", \"key\": "
    "\"Port\", \"value\": 22},"
    "{\"id\": \"c\", \"kind\": \"kernel_module\", \"name\": \"cramfs\"},"
    "{\"id\": \"d\", \"kind\": \"line\", \"path\": \"/etc/motd\", \"line\": \"x\"}]}";

WT_TEST(atomic_rollback)
{
    struct inject in = {.path = "/etc/modprobe.d/ward-blacklist.conf", .err = WARD_EACCES};
    struct enf_hooks hooks = {.before_write = inject_cb, .ctx = &in};
    struct ward_store *j = et_journal();
    struct enf_baseline *b;
    struct enf_report *r;
    sqlite3_stmt *q;
    et_put("/etc/ssh/sshd_config", "Port 22\nPermitRootLogin yes\n");
    et_put("/etc/shadow", "s\n");
    WT_OK(chmod(et_host("/etc/shadow"), 0644));
    b = et_doc(ATOMIC_DOC);
    r = et_run(b, ENF_RUN_APPLY, j, &hooks);
    WT_EQ_INT(r->rolled_back, 1);
    ET_RESULT(r, "a", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "a")->error, "rolled back: atomic baseline, setting c failed");
    ET_RESULT(r, "b", ENF_FAILED);
    ET_RESULT(r, "kept", ENF_KEPT);
    ET_RESULT(r, "c", ENF_FAILED);
    WT_EQ_ERR(et_outcome(r, "c")->err, WARD_EACCES);
    ET_RESULT(r, "d", ENF_SKIPPED);
    WT_CONTAINS(et_outcome(r, "d")->error, "not attempted");
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/ssh/sshd_config"), "Port 22\nPermitRootLogin yes\n");
    WT_EQ_INT(et_mode("/etc/shadow"), 0644);
    WT_ASSERT(et_get("/etc/modprobe.d/ward-blacklist.conf") == NULL);
    WT_ASSERT(et_get("/etc/motd") == NULL);
    /* nothing was changed for good, so the journal keeps no prior state */
    WT_OK(ward_store_prepare(j, "SELECT count(*) FROM enf_journal", &q));
    WT_EQ_INT(ward_store_step(j, q), WARD_STORE_ROW);
    WT_EQ_INT(sqlite3_column_int(q, 0), 0);
    sqlite3_finalize(q);

    in.path = NULL; /* the same baseline now goes through */
    r = et_run(b, ENF_RUN_APPLY, j, &hooks);
    WT_EQ_INT(r->rolled_back, 0);
    WT_EQ_INT(r->counts[ENF_REPAIRED], 4);
    enf_report_free(r);
    enf_baseline_free(b);
    ward_store_close(j);
}

WT_TEST(restore_on_removal)
{
    struct ward_store *j = et_journal();
    struct enf_run_opts o = {.root = et_root(), .journal = NULL};
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/ssh/sshd_config", "PermitRootLogin yes\nX11Forwarding yes\n");
    et_put("/proc/sys/net/ipv4/ip_forward", "1\n");
    et_put("/etc/shadow", "s\n");
    WT_OK(chmod(et_host("/etc/shadow"), 0644));
    b = et_doc("{\"id\": \"rm\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"root\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", "
               "\"key\": \"PermitRootLogin\", \"value\": \"no\", \"restore_on_removal\": true},"
               "{\"id\": \"x11\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", "
               "\"key\": \"X11Forwarding\", \"value\": \"no\"},"
               "{\"id\": \"fwd\", \"kind\": \"sysctl\", \"key\": \"net.ipv4.ip_forward\", "
               "\"value\": 0, \"restore_on_removal\": true},"
               "{\"id\": \"shadow\", \"kind\": \"file\", \"path\": \"/etc/shadow\", \"mode\": "
               "\"0600\", \"restore_on_removal\": true},"
               "{\"id\": \"udf\", \"kind\": \"kernel_module\", \"name\": \"udf\", "
               "\"restore_on_removal\": true},"
               "{\"id\": \"ini\", \"kind\": \"ini\", \"path\": \"/etc/ward.ini\", \"section\": "
               "\"a\", \"key\": \"k\", \"value\": 1, \"restore_on_removal\": true}]}");
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    et_all(r, ENF_REPAIRED);
    enf_report_free(r);
    /* drift, repaired again: the journal keeps the first prior state */
    et_put("/etc/ssh/sshd_config", "PermitRootLogin prohibit-password\nX11Forwarding no\n");
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "root", ENF_REPAIRED);
    enf_report_free(r);
    enf_baseline_free(b);

    o.journal = j;
    WT_OK(enf_baseline_remove("rm", &o, &r));
    ET_RESULT(r, "root", ENF_REPAIRED);
    ET_RESULT(r, "x11", ENF_SKIPPED);
    ET_RESULT(r, "fwd", ENF_REPAIRED);
    ET_RESULT(r, "shadow", ENF_REPAIRED);
    ET_RESULT(r, "udf", ENF_REPAIRED);
    ET_RESULT(r, "ini", ENF_REPAIRED);
    WT_EQ_STR(r->items[0].setting->id, "ini"); /* latest applied first */
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/ssh/sshd_config"), "PermitRootLogin yes\nX11Forwarding no\n");
    WT_EQ_STR(et_get("/proc/sys/net/ipv4/ip_forward"), "1\n");
    WT_ASSERT(et_get("/etc/sysctl.d/60-ward.conf") == NULL); /* Ward made it: gone */
    WT_EQ_INT(et_mode("/etc/shadow"), 0644);
    WT_ASSERT(et_get("/etc/modprobe.d/ward-blacklist.conf") == NULL);
    WT_ASSERT(et_get("/etc/ward.ini") == NULL);
    /* forgotten: a second removal has nothing to do */
    WT_EQ_ERR(enf_baseline_remove("rm", &o, &r), WARD_ENOENT);
    WT_ASSERT(r == NULL);
    ward_store_close(j);
}

WT_TEST(removal_restores_file_state)
{
    struct ward_store *j = et_journal();
    struct enf_run_opts o = {.root = et_root(), .journal = j};
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/hosts.equiv", "+ +\n");
    et_put("/etc/issue", "Debian\n");
    b = et_doc("{\"id\": \"f\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"equiv\", \"kind\": \"file\", \"path\": \"/etc/hosts.equiv\", "
               "\"state\": \"absent\", \"restore_on_removal\": true},"
               "{\"id\": \"issue\", \"kind\": \"file\", \"path\": \"/etc/issue\", \"content\": "
               "\"Authorized\\n\", \"restore_on_removal\": true},"
               "{\"id\": \"new\", \"kind\": \"file\", \"path\": \"/etc/new\", \"content\": \"n\", "
               "\"restore_on_removal\": true}]}");
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    et_all(r, ENF_REPAIRED);
    enf_report_free(r);
    WT_ASSERT(et_get("/etc/hosts.equiv") == NULL);
    WT_OK(enf_baseline_remove("f", &o, &r));
    et_all(r, ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/hosts.equiv"), "+ +\n");
    WT_EQ_STR(et_get("/etc/issue"), "Debian\n");
    WT_ASSERT(et_get("/etc/new") == NULL);
    enf_baseline_free(b);
    ward_store_close(j);
}

/* ---- hostile paths ---- */

static const char *outside(void)
{
    static char *dir;
    if (!dir)
        WT_OK(plat_fs_make_temp_dir("enf-outside", &dir));
    return dir;
}

WT_TEST(hostile_paths_denied)
{
    char doc[4096], link[4200];
    struct enf_baseline *b;
    struct enf_report *r;
    /* a directory symlink whose relative target climbs out of the root */
    WT_OK(plat_fs_mkdir_p(NULL, et_host("/etc"), PLAT_FS_NTS, 0755));
    snprintf(link, sizeof(link), "../../../../../../../../../../../..%s", outside());
    WT_OK(symlink(link, et_host("/etc/evil")));
    snprintf(doc, sizeof(doc),
             "{\"id\": \"h\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
             "{\"id\": \"dotdot\", \"kind\": \"line\", \"path\": \"/etc/../../x\", \"line\": "
             "\"x\"},"
             "{\"id\": \"escape\", \"kind\": \"file\", \"path\": \"/etc/evil/pwned\", "
             "\"content\": \"x\"},"
             "{\"id\": \"abs\", \"kind\": \"file\", \"path\": \"%s/abs\", \"content\": \"x\"},"
             "{\"id\": \"sysctl\", \"kind\": \"sysctl\", \"key\": \"net.ipv4.ip_forward\", "
             "\"value\": 0, \"file\": \"/etc/evil/60.conf\", \"runtime\": false}]}",
             outside());
    b = et_doc(doc);
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "dotdot", ENF_DENIED);
    WT_EQ_ERR(et_outcome(r, "dotdot")->err, WARD_EPATH);
    ET_RESULT(r, "escape", ENF_DENIED);
    ET_RESULT(r, "sysctl", ENF_DENIED);
    /* an absolute path names something inside the root, never the host's */
    ET_RESULT(r, "abs", ENF_REPAIRED);
    WT_EQ_INT(r->n_errors, 3);
    enf_report_free(r);
    {
        char p[4200];
        snprintf(p, sizeof(p), "%s/pwned", outside());
        WT_ASSERT(access(p, F_OK) != 0);
        snprintf(p, sizeof(p), "%s/abs", outside());
        WT_ASSERT(access(p, F_OK) != 0);
        snprintf(p, sizeof(p), "%s/60.conf", outside());
        WT_ASSERT(access(p, F_OK) != 0);
    }
    plat_fs_remove_tree(outside());
    enf_baseline_free(b);
}

/* Swaps /etc/ssh for a symlink leaving the root just before the engine writes. */
static void swap_in_symlink(struct inject *in, const char *path)
{
    char link[4200];
    (void)in;
    if (strcmp(path, "/etc/ssh/sshd_config") != 0)
        return;
    WT_OK(plat_fs_remove_tree(et_host("/etc/ssh")));
    snprintf(link, sizeof(link), "../../../../../../../../../../../..%s", outside());
    WT_OK(symlink(link, et_host("/etc/ssh")));
}

WT_TEST(symlink_swapped_in_during_apply)
{
    struct inject in = {.before = swap_in_symlink};
    struct enf_hooks hooks = {.before_write = inject_cb, .ctx = &in};
    struct enf_baseline *b;
    struct enf_report *r;
    char p[4200];
    et_put("/etc/ssh/sshd_config", "PermitRootLogin yes\n");
    b = et_doc("{\"id\": \"s\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"root\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", "
               "\"key\": \"PermitRootLogin\", \"value\": \"no\"}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, &hooks);
    ET_RESULT(r, "root", ENF_DENIED);
    WT_EQ_ERR(et_outcome(r, "root")->err, WARD_EPATH);
    enf_report_free(r);
    snprintf(p, sizeof(p), "%s/sshd_config", outside());
    WT_ASSERT(access(p, F_OK) != 0); /* nothing written outside */
    plat_fs_remove_tree(outside());
    enf_baseline_free(b);
}

/* ---- reports ---- */

WT_TEST(report_json_and_table)
{
    struct enf_baseline *b;
    struct enf_report *r;
    struct ward_buf t;
    json_t *j = NULL, *e;
    et_put("/etc/motd", "x\n");
    b = et_doc("{\"id\": \"rep\", \"version\": 1, \"settings\": ["
               "{\"id\": \"ok\", \"kind\": \"line\", \"path\": \"/etc/motd\", \"line\": \"x\"},"
               "{\"id\": \"no\", \"kind\": \"line\", \"path\": \"/etc/motd\", \"line\": \"y\"}]}");
    r = et_run(b, 0, NULL, NULL);
    WT_OK(enf_report_json(r, &j));
    WT_EQ_STR(json_string_value(json_object_get(j, "baseline")), "rep");
    e = json_array_get(json_object_get(j, "results"), 0);
    WT_EQ_STR(json_string_value(json_object_get(e, "id")), "ok");
    WT_EQ_STR(json_string_value(json_object_get(e, "result")), "KEPT");
    WT_EQ_STR(json_string_value(json_object_get(e, "kind")), "line");
    WT_ASSERT(json_is_null(json_object_get(e, "error")));
    e = json_array_get(json_object_get(j, "results"), 1);
    WT_EQ_STR(json_string_value(json_object_get(e, "result")), "FAILED");
    WT_EQ_STR(json_string_value(json_object_get(e, "expected")), "y");
    WT_EQ_STR(json_string_value(json_object_get(e, "actual")), "(absent)");
    WT_EQ_STR(json_string_value(json_object_get(e, "error")), "not compliant (audit)");
    WT_EQ_INT(json_integer_value(json_object_get(json_object_get(j, "summary"), "FAILED")), 1);
    json_decref(j);
    ward_buf_init(&t, 1 << 16);
    WT_OK(enf_report_table(r, &t));
    WT_CONTAINS(t.data, "KEPT      line           ok");
    WT_CONTAINS(t.data, "expected y, found (absent) -- not compliant (audit)");
    WT_CONTAINS(t.data, "2 settings: 1 KEPT, 0 REPAIRED, 1 FAILED, 0 DENIED, 0 SKIPPED");
    ward_buf_release(&t);
    enf_report_free(r);
    enf_baseline_free(b);
}

WT_TEST(run_allocation_failures)
{
    /* Every allocation of a check run fails in turn: WARD_ENOMEM or a report, no leak (ASan). */
    struct enf_baseline *b;
    struct enf_run_opts o = {.root = et_root()};
    et_put("/etc/ssh/sshd_config", "PermitRootLogin yes\n");
    et_put("/proc/sys/net/ipv4/ip_forward", "1\n");
    b = et_doc("{\"id\": \"m\", \"version\": 1, \"settings\": ["
               "{\"id\": \"a\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", \"key\": "
               "\"PermitRootLogin\", \"value\": \"no\"},"
               "{\"id\": \"b\", \"kind\": \"sysctl\", \"key\": \"net.ipv4.ip_forward\", "
               "\"value\": 0}]}");
    for (long n = 0; n < 400; n++) {
        struct enf_report *r = NULL;
        int rc;
        ward_alloc_fail_after(n, 1);
        rc = enf_run(b, &o, &r);
        ward_alloc_fail_reset();
        WT_ASSERT(rc == 0 || rc == WARD_ENOMEM);
        if (rc == 0)
            WT_ASSERT(r != NULL);
        enf_report_free(r);
    }
    enf_baseline_free(b);
}

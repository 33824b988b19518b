/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Each Linux setting kind on real files under a scratch root: check on compliant and
 * non-compliant states, apply, idempotence (a second run is all KEPT and rewrites
 * nothing: mtimes unchanged), and snapshot/restore through a failed-then-restored apply.
 */
#include "enf_test.h"

#include <sched.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ward/alloc.h"
#include "platform/fs.h"
#include "ward/crypto.h"

#define SSHD                                                                                       \
    "# sshd_config\n"                                                                              \
    "Port 22\n"                                                                                    \
    "#PermitRootLogin prohibit-password\n"                                                         \
    "permitrootlogin yes\n"                                                                        \
    "X11Forwarding yes\n"                                                                          \
    "PermitRootLogin without-password\n"                                                           \
    "\n"                                                                                           \
    "Match User backup\n"                                                                          \
    "    X11Forwarding no\n"

static void accounts(void)
{
    et_put("/etc/passwd", "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/bin/false\n");
    et_put("/etc/group", "root:x:0:\nshadow:x:42:\nnogroup:x:65534:\n");
}

/* Applies b, expects `first` for every setting, then a second run all KEPT with no file
 * rewritten (paths: files whose mtimes must not move). */
static void apply_twice(struct enf_baseline *b, enum enf_result first, const char *const *paths)
{
    struct enf_report *r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    int64_t m[8] = {0};
    et_all(r, first);
    enf_report_free(r);
    for (int i = 0; paths && paths[i]; i++)
        m[i] = et_mtime(paths[i]);
    usleep(20000);
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    et_all(r, ENF_KEPT);
    enf_report_free(r);
    for (int i = 0; paths && paths[i]; i++)
        WT_EQ_INT(et_mtime(paths[i]), m[i]);
}

/* ---- file ---- */

WT_TEST(file_check_apply_idempotent)
{
    static const char *const paths[] = {"/etc/shadow", "/etc/issue", NULL};
    struct enf_baseline *b;
    struct enf_report *r;
    accounts();
    et_put("/etc/shadow", "root:*:19000:0:99999:7:::\n");
    WT_OK(chmod(et_host("/etc/shadow"), 0644));
    b = et_doc("{\"id\": \"f\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"shadow\", \"kind\": \"file\", \"path\": \"/etc/shadow\", \"mode\": "
               "\"0640\", \"owner\": \"root\", \"group\": \"shadow\"},"
               "{\"id\": \"issue\", \"kind\": \"file\", \"path\": \"/etc/issue\", \"content\": "
               "\"Authorized use only\\n\", \"mode\": \"0644\"},"
               "{\"id\": \"gone\", \"kind\": \"file\", \"path\": \"/etc/hosts.equiv\", \"state\": "
               "\"absent\"},"
               "{\"id\": \"dir\", \"kind\": \"file\", \"path\": \"/etc/ward.d\", \"state\": "
               "\"directory\", \"mode\": \"0750\"}]}");
    et_put("/etc/hosts.equiv", "+\n");

    r = et_run(b, 0, NULL, NULL); /* check only: nothing changes */
    ET_RESULT(r, "shadow", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "shadow")->expected, "file, mode 0640, owner root, group shadow");
    WT_EQ_STR(et_outcome(r, "shadow")->actual, "file, mode 0644, owner root, group root");
    WT_EQ_STR(et_outcome(r, "shadow")->error, "not compliant (audit)");
    WT_EQ_INT(et_outcome(r, "shadow")->err, 0);
    WT_EQ_STR(et_outcome(r, "issue")->actual, "missing");
    WT_EQ_STR(et_outcome(r, "gone")->actual, "file");
    WT_EQ_INT(et_mode("/etc/shadow"), 0644);
    WT_ASSERT(et_get("/etc/issue") == NULL);
    enf_report_free(r);

    apply_twice(b, ENF_REPAIRED, paths);
    WT_EQ_INT(et_mode("/etc/shadow"), 0640);
    WT_EQ_STR(et_get("/etc/shadow"), "root:*:19000:0:99999:7:::\n");
    WT_EQ_STR(et_get("/etc/issue"), "Authorized use only\n");
    WT_ASSERT(et_get("/etc/hosts.equiv") == NULL);
    WT_EQ_INT(et_mode("/etc/ward.d"), 0750);
    enf_baseline_free(b);
}

WT_TEST(file_mode_at_most)
{
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/crontab", "x\n");
    WT_OK(chmod(et_host("/etc/crontab"), 0600));
    b = et_doc(
        "{\"id\": \"f\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
        "{\"id\": \"c\", \"kind\": \"file\", \"path\": \"/etc/crontab\", \"mode\": \"0640\", "
        "\"mode_policy\": \"at_most\"}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "c", ENF_KEPT); /* 0600 is more restrictive than 0640 */
    enf_report_free(r);
    WT_OK(chmod(et_host("/etc/crontab"), 0755));
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "c", ENF_REPAIRED);
    WT_EQ_INT(et_mode("/etc/crontab"), 0640 & 0755);
    enf_report_free(r);
    enf_baseline_free(b);
}

static int fetch_ok(void *ctx, const char *sha, char **data, size_t *len)
{
    (void)ctx;
    (void)sha;
    *data = ward_strdup("fetched\n");
    *len = 8;
    return 0;
}

WT_TEST(file_content_sha256_needs_fetcher)
{
    uint8_t h[WARD_SHA256_LEN];
    char hex[WARD_SHA256_HEX_SIZE], doc[1024];
    struct enf_baseline *b;
    struct enf_report *r;
    struct enf_hooks hooks = {.fetch = fetch_ok};
    WT_OK(ward_sha256("fetched\n", 8, h));
    WT_OK(ward_hex_encode(h, sizeof(h), hex, sizeof(hex)));
    snprintf(doc, sizeof(doc),
             "{\"id\": \"f\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
             "{\"id\": \"c\", \"kind\": \"file\", \"path\": \"/etc/banner\", "
             "\"content_sha256\": \"%s\"}]}",
             hex);
    b = et_doc(doc);
    et_put("/etc/banner", "old\n");
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL); /* no fetcher: an explicit failure */
    ET_RESULT(r, "c", ENF_FAILED);
    WT_EQ_ERR(et_outcome(r, "c")->err, WARD_ENOTSUP);
    WT_CONTAINS(et_outcome(r, "c")->error, "no content fetcher is available yet");
    WT_EQ_STR(et_get("/etc/banner"), "old\n");
    enf_report_free(r);
    r = et_run(b, ENF_RUN_APPLY, NULL, &hooks);
    ET_RESULT(r, "c", ENF_REPAIRED);
    enf_report_free(r);
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL); /* matching content is checked locally */
    ET_RESULT(r, "c", ENF_KEPT);
    enf_report_free(r);
    enf_baseline_free(b);
}

WT_TEST(file_unknown_owner_fails_clearly)
{
    struct enf_baseline *b;
    struct enf_report *r;
    accounts();
    et_put("/etc/x", "x");
    b = et_doc(
        "{\"id\": \"f\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
        "{\"id\": \"o\", \"kind\": \"file\", \"path\": \"/etc/x\", \"owner\": \"nosuch\"}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "o", ENF_FAILED);
    WT_EQ_ERR(et_outcome(r, "o")->err, WARD_ENOENT);
    WT_CONTAINS(et_outcome(r, "o")->error, "unknown user \"nosuch\"");
    enf_report_free(r);
    enf_baseline_free(b);
}

/* ---- line ---- */

WT_TEST(line_key_value_sshd)
{
    static const char *const paths[] = {"/etc/ssh/sshd_config", NULL};
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/ssh/sshd_config", SSHD);
    b = et_doc("{\"id\": \"l\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"root\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", "
               "\"key\": \"PermitRootLogin\", \"value\": \"no\", \"case_sensitive\": false, "
               "\"duplicates\": \"comment\", \"insert_before\": \"Match\"},"
               "{\"id\": \"x11\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", "
               "\"key\": \"X11Forwarding\", \"value\": \"no\", \"insert_before\": \"Match\"},"
               "{\"id\": \"tries\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", "
               "\"key\": \"MaxAuthTries\", \"value\": 4, \"insert_before\": \"Match\"},"
               "{\"id\": \"port\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\", "
               "\"key\": \"Port\", \"value\": \"22\"}]}");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "port", ENF_KEPT);
    ET_RESULT(r, "root", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "root")->expected, "PermitRootLogin no");
    WT_EQ_STR(et_outcome(r, "root")->actual, "permitrootlogin yes (+1 more)");
    WT_EQ_STR(et_outcome(r, "tries")->actual, "(absent)");
    enf_report_free(r);

    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "root", ENF_REPAIRED);
    ET_RESULT(r, "x11", ENF_REPAIRED);
    ET_RESULT(r, "tries", ENF_REPAIRED);
    ET_RESULT(r, "port", ENF_KEPT);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/ssh/sshd_config"), "# sshd_config\n"
                                              "Port 22\n"
                                              "#PermitRootLogin prohibit-password\n"
                                              "PermitRootLogin no\n"
                                              "X11Forwarding no\n"
                                              "# PermitRootLogin without-password\n"
                                              "\n"
                                              "MaxAuthTries 4\n"
                                              "Match User backup\n"
                                              "    X11Forwarding no\n");
    apply_twice(b, ENF_KEPT, paths);
    enf_baseline_free(b);
}

WT_TEST(line_exact_line_absent_and_create)
{
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/hosts.allow", "ALL: ALL\n# ALL: ALL\nsshd: 10.0.0.0/8");
    b = et_doc("{\"id\": \"l\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"motd\", \"kind\": \"line\", \"path\": \"/etc/motd\", \"line\": "
               "\"Authorized use only\"},"
               "{\"id\": \"no-all\", \"kind\": \"line\", \"path\": \"/etc/hosts.allow\", "
               "\"line\": \"ALL: ALL\", \"state\": \"absent\"},"
               "{\"id\": \"umask\", \"kind\": \"line\", \"path\": \"/etc/login.defs\", \"key\": "
               "\"UMASK\", \"value\": \"027\", \"create\": false},"
               "{\"id\": \"sshd\", \"kind\": \"line\", \"path\": \"/etc/hosts.allow\", \"line\": "
               "\"sshd:   10.0.0.0/8\"}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "motd", ENF_REPAIRED);
    ET_RESULT(r, "no-all", ENF_REPAIRED);
    ET_RESULT(r, "umask", ENF_FAILED); /* create: false and the file is missing */
    WT_CONTAINS(et_outcome(r, "umask")->error, "create is false");
    ET_RESULT(r, "sshd", ENF_KEPT); /* blanks folded */
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/motd"), "Authorized use only\n");
    WT_EQ_STR(et_get("/etc/hosts.allow"), "# ALL: ALL\nsshd: 10.0.0.0/8");
    enf_baseline_free(b);
}

WT_TEST(line_separator_equals)
{
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/default/useradd", "SHELL=/bin/sh\nINACTIVE = 90\n");
    b = et_doc("{\"id\": \"l\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"inactive\", \"kind\": \"line\", \"path\": \"/etc/default/useradd\", "
               "\"key\": \"INACTIVE\", \"value\": 30, \"separator\": \"=\"},"
               "{\"id\": \"shell\", \"kind\": \"line\", \"path\": \"/etc/default/useradd\", "
               "\"key\": \"SHELL\", \"value\": \"/bin/sh\", \"separator\": \"=\"}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "inactive", ENF_REPAIRED);
    ET_RESULT(r, "shell", ENF_KEPT);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/default/useradd"), "SHELL=/bin/sh\nINACTIVE=30\n");
    enf_baseline_free(b);
}

/* ---- ini ---- */

WT_TEST(ini_sections)
{
    static const char *const paths[] = {"/etc/gdm3/custom.conf", NULL};
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/gdm3/custom.conf", "; GDM\n[daemon]\nWaylandEnable=false\n\n[security]\n"
                                    "AllowRoot = true\n\n[debug]\n");
    b = et_doc("{\"id\": \"i\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"root\", \"kind\": \"ini\", \"path\": \"/etc/gdm3/custom.conf\", "
               "\"section\": \"security\", \"key\": \"AllowRoot\", \"value\": \"false\"},"
               "{\"id\": \"xdmcp\", \"kind\": \"ini\", \"path\": \"/etc/gdm3/custom.conf\", "
               "\"section\": \"xdmcp\", \"key\": \"Enable\", \"value\": \"false\"},"
               "{\"id\": \"auto\", \"kind\": \"ini\", \"path\": \"/etc/gdm3/custom.conf\", "
               "\"section\": \"daemon\", \"key\": \"AutomaticLoginEnable\", \"value\": "
               "\"false\", \"spaced\": false},"
               "{\"id\": \"wayland\", \"kind\": \"ini\", \"path\": \"/etc/gdm3/custom.conf\", "
               "\"section\": \"daemon\", \"key\": \"WaylandEnable\", \"state\": \"absent\"}]}");
    r = et_run(b, 0, NULL, NULL);
    WT_EQ_STR(et_outcome(r, "root")->actual, "[security] AllowRoot = true");
    WT_EQ_STR(et_outcome(r, "xdmcp")->actual, "no section [xdmcp]");
    enf_report_free(r);
    apply_twice(b, ENF_REPAIRED, paths);
    WT_EQ_STR(et_get("/etc/gdm3/custom.conf"), "; GDM\n[daemon]\nAutomaticLoginEnable=false\n\n"
                                               "[security]\nAllowRoot = false\n\n[debug]\n"
                                               "[xdmcp]\nEnable = false\n");
    enf_baseline_free(b);
}

/* ---- sysctl ---- */

WT_TEST(sysctl_runtime_and_persist)
{
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/proc/sys/net/ipv4/ip_forward", "1\n");
    et_put("/proc/sys/net/ipv4/tcp_syncookies", "1\n");
    et_put("/proc/sys/net/ipv4/ip_local_port_range", "32768\t60999\n");
    et_put("/etc/sysctl.d/60-ward.conf", "# ward\nnet.ipv4.ip_forward=1\n");
    b = et_doc("{\"id\": \"s\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"fwd\", \"kind\": \"sysctl\", \"key\": \"net.ipv4.ip_forward\", "
               "\"value\": 0},"
               "{\"id\": \"cookies\", \"kind\": \"sysctl\", \"key\": \"net/ipv4/tcp_syncookies\", "
               "\"value\": \"1\"},"
               "{\"id\": \"range\", \"kind\": \"sysctl\", \"key\": "
               "\"net.ipv4.ip_local_port_range\", \"value\": \"32768 60999\", \"persist\": "
               "false}]}");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "fwd", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "fwd")->actual, "runtime 1, /etc/sysctl.d/60-ward.conf 1");
    ET_RESULT(r, "cookies", ENF_FAILED); /* runtime right, not persisted */
    WT_EQ_STR(et_outcome(r, "cookies")->actual,
              "runtime 1, /etc/sysctl.d/60-ward.conf has no line");
    ET_RESULT(r, "range", ENF_KEPT); /* tab vs space */
    enf_report_free(r);
    enf_baseline_free(b);
}

WT_TEST(sysctl_apply_idempotent)
{
    static const char *const paths[] = {"/etc/sysctl.d/60-ward.conf",
                                        "/proc/sys/net/ipv4/ip_forward", NULL};
    struct enf_baseline *b;
    et_put("/proc/sys/net/ipv4/ip_forward", "1\n");
    et_put("/proc/sys/net/ipv4/conf/all/rp_filter", "0\n");
    b = et_doc("{\"id\": \"s\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"fwd\", \"kind\": \"sysctl\", \"key\": \"net.ipv4.ip_forward\", "
               "\"value\": 0},"
               "{\"id\": \"rp\", \"kind\": \"sysctl\", \"key\": \"net.ipv4.conf.all.rp_filter\", "
               "\"value\": 1}]}");
    apply_twice(b, ENF_REPAIRED, paths);
    WT_EQ_STR(et_get("/proc/sys/net/ipv4/ip_forward"), "0\n");
    WT_EQ_STR(et_get("/proc/sys/net/ipv4/conf/all/rp_filter"), "1\n");
    WT_EQ_STR(et_get("/etc/sysctl.d/60-ward.conf"),
              "net.ipv4.ip_forward = 0\nnet.ipv4.conf.all.rp_filter = 1\n");
    enf_baseline_free(b);
}

WT_TEST(sysctl_missing_key_cannot_be_evaluated)
{
    struct enf_baseline *b;
    struct enf_report *r;
    b = et_doc("{\"id\": \"s\", \"version\": 1, \"settings\": ["
               "{\"id\": \"x\", \"kind\": \"sysctl\", \"key\": \"net.nosuch\", \"value\": 0}]}");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "x", ENF_FAILED);
    WT_EQ_ERR(et_outcome(r, "x")->err, WARD_ENOENT);
    WT_CONTAINS(et_outcome(r, "x")->error, "this kernel has no net.nosuch");
    WT_EQ_INT(r->n_errors, 1);
    enf_report_free(r);
    enf_baseline_free(b);
}

/* The real procfs, in a private network namespace (net.ipv4 parameters are per namespace),
 * so the host's value never changes: the in-place write must work where rename cannot. */
WT_TEST(sysctl_real_procfs_in_private_netns)
{
    pid_t pid = fork();
    int status = 0;
    WT_ASSERT(pid >= 0);
    if (pid == 0) {
        struct enf_baseline *b;
        struct enf_run_opts o = {.root = "/", .flags = ENF_RUN_APPLY};
        struct enf_report *r = NULL;
        char *v = NULL;
        size_t len;
        if (unshare(CLONE_NEWNET) != 0) {
            fprintf(stderr, "skip: unshare(CLONE_NEWNET) needs root\n");
            _exit(0);
        }
        b = et_doc("{\"id\": \"p\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
                   "{\"id\": \"fwd\", \"kind\": \"sysctl\", \"key\": \"net.ipv4.ip_forward\", "
                   "\"value\": 1, \"persist\": false}]}");
        if (enf_run(b, &o, &r) != 0 || r->items[0].result != ENF_REPAIRED)
            _exit(2);
        if (plat_fs_read_file("/", "/proc/sys/net/ipv4/ip_forward", PLAT_FS_NTS, 64, &v, &len) !=
                0 ||
            strcmp(v, "1\n") != 0)
            _exit(3);
        _exit(0);
    }
    WT_ASSERT(waitpid(pid, &status, 0) == pid);
    WT_ASSERT(WIFEXITED(status));
    WT_EQ_INT(WEXITSTATUS(status), 0);
}

/* ---- kernel_module ---- */

WT_TEST(kernel_module_blacklist)
{
    static const char *const paths[] = {"/etc/modprobe.d/ward-blacklist.conf", NULL};
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/modprobe.d/ward-blacklist.conf", "# cis\nblacklist cramfs\n"
                                                  "install usb_storage /bin/true\n"
                                                  "blacklist usb-storage\n");
    b = et_doc("{\"id\": \"k\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"cramfs\", \"kind\": \"kernel_module\", \"name\": \"cramfs\"},"
               "{\"id\": \"usb\", \"kind\": \"kernel_module\", \"name\": \"usb-storage\"},"
               "{\"id\": \"udf\", \"kind\": \"kernel_module\", \"name\": \"udf\"},"
               "{\"id\": \"hfs\", \"kind\": \"kernel_module\", \"name\": \"hfs\", \"file\": "
               "\"/etc/modprobe.d/hfs.conf\", \"install_false\": false}]}");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "cramfs", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "cramfs")->actual, "blacklist yes, install no");
    ET_RESULT(r, "usb", ENF_KEPT); /* - and _ are the same module */
    ET_RESULT(r, "udf", ENF_FAILED);
    enf_report_free(r);
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "cramfs", ENF_REPAIRED);
    ET_RESULT(r, "udf", ENF_REPAIRED);
    ET_RESULT(r, "hfs", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/modprobe.d/ward-blacklist.conf"),
              "# cis\nblacklist cramfs\ninstall cramfs /bin/false\n"
              "install usb_storage /bin/true\nblacklist usb-storage\n"
              "blacklist udf\ninstall udf /bin/false\n");
    WT_EQ_STR(et_get("/etc/modprobe.d/hfs.conf"), "blacklist hfs\n");
    apply_twice(b, ENF_KEPT, paths);
    enf_baseline_free(b);

    b = et_doc("{\"id\": \"k\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"udf\", \"kind\": \"kernel_module\", \"name\": \"udf\", \"state\": "
               "\"allowed\"}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "udf", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/modprobe.d/ward-blacklist.conf"),
              "# cis\nblacklist cramfs\ninstall cramfs /bin/false\n"
              "install usb_storage /bin/true\nblacklist usb-storage\n");
    enf_baseline_free(b);
}

/* ---- command ---- */

WT_TEST(command_check_and_fix)
{
    char doc[2048];
    struct enf_baseline *b;
    struct enf_report *r;
    const char *marker = et_host("/var/marker");
    et_put("/var/.keep", "");
    snprintf(doc, sizeof(doc),
             "{\"id\": \"c\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
             "{\"id\": \"ok\", \"kind\": \"command\", \"check\": [\"/bin/true\"]},"
             "{\"id\": \"touch\", \"kind\": \"command\", \"check\": [\"/usr/bin/test\", \"-f\", "
             "\"%s\"], \"fix\": [\"/usr/bin/touch\", \"%s\"], \"timeout\": 10},"
             "{\"id\": \"nofix\", \"kind\": \"command\", \"check\": [\"/bin/false\"]},"
             "{\"id\": \"badfix\", \"kind\": \"command\", \"check\": [\"/bin/false\"], \"fix\": "
             "[\"/bin/true\"]},"
             "{\"id\": \"slow\", \"kind\": \"command\", \"check\": [\"/bin/sleep\", \"5\"], "
             "\"timeout\": 1, \"mode\": \"audit\"}]}",
             marker, marker);
    b = et_doc(doc);
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "ok", ENF_KEPT);
    ET_RESULT(r, "touch", ENF_REPAIRED);
    WT_EQ_STR(et_outcome(r, "touch")->actual, "exit 0");
    ET_RESULT(r, "nofix", ENF_FAILED);
    WT_EQ_ERR(et_outcome(r, "nofix")->err, WARD_ENOTSUP);
    WT_CONTAINS(et_outcome(r, "nofix")->error, "cannot be repaired, only audited");
    ET_RESULT(r, "badfix", ENF_FAILED); /* fix "worked" but check still fails */
    WT_CONTAINS(et_outcome(r, "badfix")->error, "still not compliant after apply");
    ET_RESULT(r, "slow", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "slow")->actual, "timed out after 1s");
    enf_report_free(r);
    WT_ASSERT(access(marker, F_OK) == 0);
    enf_baseline_free(b);
}

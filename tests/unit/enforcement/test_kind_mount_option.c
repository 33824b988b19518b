/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The mount_option kind: fixture fstab and mountinfo in a scratch root (options field
 * edited in place, opposites dropped, an entry added from device/fstype, the live part
 * judged from the fixture and never remounted under a scratch root), and a real remount
 * of a tmpfs in a private mount namespace (root only; skipped with a message otherwise).
 */
#include "enf_test.h"

#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include "platform/fs.h"
#include "ward/store.h"

#define FSTAB                                                                                      \
    "# /etc/fstab\n"                                                                               \
    "UUID=1234 /     ext4 errors=remount-ro 0 1\n"                                                 \
    "UUID=5678 /home ext4 defaults,exec 0 2\n"                                                     \
    "tmpfs      /tmp  tmpfs  defaults,suid,size=1G  0 0\n"
#define MOUNTINFO                                                                                  \
    "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro\n"                  \
    "30 22 0:25 / /tmp rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1048576k\n"  \
    "31 22 254:2 / /home rw,relatime shared:6 - ext4 /dev/vda2 rw\n"

WT_TEST(mount_option_fstab_and_fixture_live)
{
    struct ward_store *j = et_journal();
    struct enf_run_opts o = {.root = et_root(), .journal = j};
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/fstab", FSTAB);
    et_put("/proc/self/mountinfo", MOUNTINFO);
    b = et_doc("{\"id\": \"m\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"tmp\", \"kind\": \"mount_option\", \"mount_point\": \"/tmp\", "
               "\"options\": [\"nodev\", \"nosuid\", \"noexec\"], \"restore_on_removal\": true},"
               "{\"id\": \"home\", \"kind\": \"mount_option\", \"mount_point\": \"/home\", "
               "\"options\": [\"nodev\"], \"fstab\": false},"
               "{\"id\": \"shm\", \"kind\": \"mount_option\", \"mount_point\": \"/dev/shm\", "
               "\"options\": [\"nodev\", \"nosuid\", \"noexec\"], \"device\": \"tmpfs\", "
               "\"fstype\": \"tmpfs\", \"restore_on_removal\": true},"
               "{\"id\": \"var\", \"kind\": \"mount_option\", \"mount_point\": \"/var/tmp\", "
               "\"options\": [\"nodev\"]}]}");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "tmp", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "tmp")->actual,
              "fstab defaults,suid,size=1G, live rw,nosuid,nodev,noexec,relatime");
    ET_RESULT(r, "home", ENF_FAILED);
    ET_RESULT(r, "shm", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "shm")->actual, "fstab has no entry, live: not mounted");
    enf_report_free(r);

    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "tmp", ENF_REPAIRED); /* live already right: fstab only */
    ET_RESULT(r, "shm", ENF_REPAIRED);
    ET_RESULT(r, "home", ENF_FAILED); /* would need a remount of a scratch root's mount */
    WT_CONTAINS(et_outcome(r, "home")->error, "is not a mount of this system: not remounted");
    ET_RESULT(r, "var", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "var")->error, "has no entry for /var/tmp (give device and fstype");
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/fstab"),
              "# /etc/fstab\n"
              "UUID=1234 /     ext4 errors=remount-ro 0 1\n"
              "UUID=5678 /home ext4 defaults,exec 0 2\n"
              "tmpfs      /tmp  tmpfs  defaults,size=1G,nodev,nosuid,noexec  0 0\n"
              "tmpfs\t/dev/shm\ttmpfs\tdefaults,nodev,nosuid,noexec\t0\t0\n");
    enf_baseline_free(b);

    WT_OK(enf_baseline_remove("m", &o, &r));
    ET_RESULT(r, "tmp", ENF_REPAIRED);
    ET_RESULT(r, "shm", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/fstab"), FSTAB);
    ward_store_close(j);
}

WT_TEST(mount_option_no_mount_table)
{
    struct enf_baseline *b;
    struct enf_report *r;
    et_put("/etc/fstab", "tmpfs /tmp tmpfs defaults 0 0\n");
    b = et_doc("{\"id\": \"m\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"tmp\", \"kind\": \"mount_option\", \"mount_point\": \"/tmp\", "
               "\"options\": [\"nodev\"]}]}");
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "tmp", ENF_REPAIRED);
    WT_EQ_STR(et_outcome(r, "tmp")->actual,
              "fstab defaults,nodev, live: no mount table under the root");
    enf_report_free(r);
    enf_baseline_free(b);
}

/* A real remount: a tmpfs mounted in a private mount namespace, root "/" (fstab false so
 * this machine's /etc is never touched). */
WT_TEST(mount_option_remount_in_private_namespace)
{
    pid_t pid;
    int status = 0;
    const char *mp = wt_path("mnt");
    WT_OK(plat_fs_mkdir_p(NULL, mp, PLAT_FS_NTS, 0755));
    pid = fork();
    WT_ASSERT(pid >= 0);
    if (pid == 0) {
        char doc[1024];
        struct enf_baseline *b;
        struct enf_run_opts o = {.root = "/", .flags = ENF_RUN_APPLY};
        struct enf_report *r = NULL;
        if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
            mount("tmpfs", mp, "tmpfs", 0, "size=1m") != 0) {
            fprintf(stderr, "skip: a private mount namespace needs root\n");
            _exit(0);
        }
        snprintf(doc, sizeof(doc),
                 "{\"id\": \"n\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
                 "{\"id\": \"mp\", \"kind\": \"mount_option\", \"mount_point\": \"%s\", "
                 "\"options\": [\"nodev\", \"nosuid\", \"noexec\"], \"fstab\": false}]}",
                 mp);
        b = et_doc(doc);
        if (enf_run(b, &o, &r) != 0)
            _exit(2);
        if (r->items[0].result != ENF_REPAIRED) {
            fprintf(stderr, "%s: %s\n", enf_result_name(r->items[0].result),
                    r->items[0].error ? r->items[0].error : "-");
            _exit(3);
        }
        if (!strstr(r->items[0].actual, "nosuid") || !strstr(r->items[0].actual, "nodev") ||
            !strstr(r->items[0].actual, "noexec"))
            _exit(4);
        enf_report_free(r);
        o.flags = ENF_RUN_APPLY;
        if (enf_run(b, &o, &r) != 0 || r->items[0].result != ENF_KEPT)
            _exit(5);
        _exit(0);
    }
    WT_ASSERT(waitpid(pid, &status, 0) == pid);
    WT_ASSERT(WIFEXITED(status));
    WT_EQ_INT(WEXITSTATUS(status), 0);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The user kind on fixture passwd/shadow/group files in a scratch root: lock and unlock,
 * shell, removal with userdel --root (root and system accounts refused), idempotence, and
 * restore on removal putting a deleted account's lines and group memberships back.
 */
#include "enf_test.h"

#include <unistd.h>

#include "ward/store.h"

#define PASSWD                                                                                     \
    "root:x:0:0:root:/root:/bin/bash\n"                                                            \
    "games:x:5:60:games:/usr/games:/bin/sh\n"                                                      \
    "alice:x:1001:1001:Alice:/home/alice:/bin/bash\n"                                              \
    "bob:x:1002:1002::/home/bob:/bin/sh\n"
#define SHADOW                                                                                     \
    "root:*:19000:0:99999:7:::\n"                                                                  \
    "games:*:19000:0:99999:7:::\n"                                                                 \
    "alice:$6$salt$hash:19000:0:99999:7:::\n"                                                      \
    "bob:!$6$b:19000:0:99999:7:::\n"
#define GROUP "root:x:0:\nsudo:x:27:alice,bob\nusers:x:100:bob\nbob:x:1002:\n"

static void accounts(void)
{
    et_put("/etc/passwd", PASSWD);
    et_put("/etc/shadow", SHADOW);
    et_put("/etc/group", GROUP);
    et_put("/etc/login.defs", "UID_MIN\t1000\n");
}

WT_TEST(user_lock_and_shell)
{
    struct enf_baseline *b;
    struct enf_report *r;
    int64_t m1, m2;
    accounts();
    b = et_doc("{\"id\": \"u\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"lock\", \"kind\": \"user\", \"name\": \"alice\", \"locked\": true},"
               "{\"id\": \"unlock\", \"kind\": \"user\", \"name\": \"bob\", \"locked\": false},"
               "{\"id\": \"shell\", \"kind\": \"user\", \"name\": \"games\", \"shell\": "
               "\"/usr/sbin/nologin\"},"
               "{\"id\": \"ghost\", \"kind\": \"user\", \"name\": \"guest\", \"locked\": true}]}");
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "lock", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "lock")->actual, "unlocked, /bin/bash");
    ET_RESULT(r, "unlock", ENF_FAILED);
    ET_RESULT(r, "shell", ENF_FAILED);
    ET_RESULT(r, "ghost", ENF_KEPT); /* no account: cannot log in */
    WT_EQ_STR(et_outcome(r, "ghost")->actual, "no account guest");
    enf_report_free(r);

    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "lock", ENF_REPAIRED);
    ET_RESULT(r, "unlock", ENF_REPAIRED);
    ET_RESULT(r, "shell", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/shadow"), "root:*:19000:0:99999:7:::\n"
                                     "games:*:19000:0:99999:7:::\n"
                                     "alice:!$6$salt$hash:19000:0:99999:7:::\n"
                                     "bob:$6$b:19000:0:99999:7:::\n");
    WT_EQ_STR(et_get("/etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n"
                                     "games:x:5:60:games:/usr/games:/usr/sbin/nologin\n"
                                     "alice:x:1001:1001:Alice:/home/alice:/bin/bash\n"
                                     "bob:x:1002:1002::/home/bob:/bin/sh\n");
    m1 = et_mtime("/etc/shadow");
    m2 = et_mtime("/etc/passwd");
    usleep(20000);
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    et_all(r, ENF_KEPT);
    enf_report_free(r);
    WT_EQ_INT(et_mtime("/etc/shadow"), m1);
    WT_EQ_INT(et_mtime("/etc/passwd"), m2);
    enf_baseline_free(b);
}

WT_TEST(user_absent_userdel_and_restore)
{
    struct ward_store *j = et_journal();
    struct enf_run_opts o = {.root = et_root(), .journal = j};
    struct enf_baseline *b;
    struct enf_report *r;
    if (access("/usr/sbin/userdel", X_OK) != 0 || geteuid() != 0) {
        fprintf(stderr, "skip: userdel --root needs /usr/sbin/userdel and root\n");
        return;
    }
    accounts();
    b = et_doc("{\"id\": \"u\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"bob\", \"kind\": \"user\", \"name\": \"bob\", \"state\": \"absent\", "
               "\"restore_on_removal\": true},"
               "{\"id\": \"games\", \"kind\": \"user\", \"name\": \"games\", \"state\": "
               "\"absent\"}]}");
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "bob", ENF_REPAIRED);
    ET_RESULT(r, "games", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "games")->error,
                "refusing to remove system account games (uid 5 < UID_MIN 1000)");
    enf_report_free(r);
    WT_ASSERT(strstr(et_get("/etc/passwd"), "bob:") == NULL);
    WT_ASSERT(strstr(et_get("/etc/shadow"), "bob:") == NULL);
    WT_CONTAINS(et_get("/etc/group"), "sudo:x:27:alice\n");
    WT_CONTAINS(et_get("/etc/passwd"), "games:");
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "bob", ENF_KEPT);
    enf_report_free(r);
    enf_baseline_free(b);

    WT_OK(enf_baseline_remove("u", &o, &r));
    ET_RESULT(r, "bob", ENF_REPAIRED);
    enf_report_free(r);
    WT_CONTAINS(et_get("/etc/passwd"), "bob:x:1002:1002::/home/bob:/bin/sh\n");
    WT_CONTAINS(et_get("/etc/shadow"), "bob:!$6$b:19000:0:99999:7:::\n");
    WT_CONTAINS(et_get("/etc/group"), "sudo:x:27:alice,bob\n");
    WT_CONTAINS(et_get("/etc/group"), "users:x:100:bob\n");
    ward_store_close(j);
}

WT_TEST(user_validation)
{
    int rc;
    const char *e = et_doc_errors(
        "{\"id\": \"u\", \"version\": 1, \"settings\": ["
        "{\"id\": \"a\", \"kind\": \"user\", \"name\": \"root\", \"state\": \"absent\"},"
        "{\"id\": \"b\", \"kind\": \"user\", \"name\": \"-r\", \"locked\": true},"
        "{\"id\": \"c\", \"kind\": \"user\", \"name\": \"x\", \"state\": \"absent\", \"locked\": "
        "true},"
        "{\"id\": \"d\", \"kind\": \"user\", \"name\": \"x\"}]}",
        &rc);
    WT_CONTAINS(e, "$.settings[0].name: root is never removed");
    WT_CONTAINS(e, "$.settings[1].name: \"-r\" is not an account name");
    WT_CONTAINS(e, "$.settings[2]: \"locked\" and \"shell\" only with state \"present\"");
    WT_CONTAINS(e, "$.settings[3]: give \"locked\", \"shell\" or state \"absent\"");
}

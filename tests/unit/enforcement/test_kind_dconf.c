/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dconf kind in a scratch root: keyfile, locks file and user profile written, the
 * database compiled with `dconf compile` (skipped with a message where /usr/bin/dconf is
 * missing: then apply must fail with that reason and leave nothing behind), idempotence,
 * a stale database detected, restore on removal.
 */
#include "enf_test.h"

#include <unistd.h>

#include "ward/store.h"

#define DOC                                                                                        \
    "{\"id\": \"d\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["                       \
    "{\"id\": \"idle\", \"kind\": \"dconf\", \"key\": \"/org/gnome/desktop/session/idle-delay\", " \
    "\"value\": \"uint32 900\", \"restore_on_removal\": true},"                                    \
    "{\"id\": \"lock\", \"kind\": \"dconf\", \"key\": "                                            \
    "\"/org/gnome/desktop/screensaver/lock-enabled\", \"value\": \"true\"}]}"

WT_TEST(dconf_apply_compile_restore)
{
    struct ward_store *j = et_journal();
    struct enf_run_opts o = {.root = et_root(), .journal = j};
    struct enf_baseline *b = et_doc(DOC);
    struct enf_report *r;
    int64_t m;

    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "idle", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "idle")->actual,
              "value not set, not locked, not in the user profile, database not compiled since "
              "the change");
    enf_report_free(r);

    if (access("/usr/bin/dconf", X_OK) != 0) {
        fprintf(stderr, "skip: /usr/bin/dconf missing (dconf-cli): checking the refusal only\n");
        r = et_run(b, ENF_RUN_APPLY, j, NULL);
        ET_RESULT(r, "idle", ENF_FAILED);
        WT_CONTAINS(et_outcome(r, "idle")->error, "needs compiling");
        enf_report_free(r);
        WT_ASSERT(et_get("/etc/dconf/db/local.d/00-ward") == NULL);
        enf_baseline_free(b);
        ward_store_close(j);
        return;
    }
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    et_all(r, ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/dconf/db/local.d/00-ward"),
              "[org/gnome/desktop/session]\nidle-delay=uint32 900\n"
              "[org/gnome/desktop/screensaver]\nlock-enabled=true\n");
    WT_EQ_STR(
        et_get("/etc/dconf/db/local.d/locks/00-ward"),
        "/org/gnome/desktop/session/idle-delay\n/org/gnome/desktop/screensaver/lock-enabled\n");
    WT_EQ_STR(et_get("/etc/dconf/profile/user"), "user-db:user\nsystem-db:local\n");
    WT_ASSERT(et_get("/etc/dconf/db/local") != NULL);

    m = et_mtime("/etc/dconf/db/local");
    usleep(20000);
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    et_all(r, ENF_KEPT);
    enf_report_free(r);
    WT_EQ_INT(et_mtime("/etc/dconf/db/local"), m);

    /* a keyfile newer than the database: not effective until compiled */
    usleep(20000);
    et_put("/etc/dconf/db/local.d/00-ward", et_get("/etc/dconf/db/local.d/00-ward"));
    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "idle", ENF_FAILED);
    WT_CONTAINS(et_outcome(r, "idle")->actual, "database not compiled since the change");
    enf_report_free(r);
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "idle", ENF_REPAIRED);
    enf_report_free(r);
    enf_baseline_free(b);

    WT_OK(enf_baseline_remove("d", &o, &r));
    ET_RESULT(r, "idle", ENF_REPAIRED);
    ET_RESULT(r, "lock", ENF_SKIPPED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/dconf/db/local.d/00-ward"),
              "[org/gnome/desktop/session]\n[org/gnome/desktop/screensaver]\nlock-enabled=true\n");
    WT_EQ_STR(et_get("/etc/dconf/db/local.d/locks/00-ward"),
              "/org/gnome/desktop/screensaver/lock-enabled\n");
    WT_ASSERT(et_get("/etc/dconf/profile/user") == NULL); /* Ward created it */
    ward_store_close(j);
}

WT_TEST(dconf_validation)
{
    int rc;
    const char *e = et_doc_errors(
        "{\"id\": \"d\", \"version\": 1, \"settings\": ["
        "{\"id\": \"a\", \"kind\": \"dconf\", \"key\": \"org/x\", \"value\": \"1\"},"
        "{\"id\": \"b\", \"kind\": \"dconf\", \"key\": \"/a/b\", \"value\": \"1\\n2\"},"
        "{\"id\": \"c\", \"kind\": \"dconf\", \"key\": \"/a/b\", \"value\": \"1\", \"db\": "
        "\"../x\"}]}",
        &rc);
    WT_CONTAINS(e, "$.settings[0].key: \"org/x\" is not a dconf key");
    WT_CONTAINS(e, "$.settings[1].value: must be a non-empty single line");
    WT_CONTAINS(e, "$.settings[2]: \"db\" and \"file\" are plain names");
}

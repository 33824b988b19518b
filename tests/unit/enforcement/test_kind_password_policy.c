/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The password_policy kind on login.defs and pwquality.conf in a scratch root: "at least
 * as strict" judgement (a stricter value is KEPT), repair through the line kind, one
 * active line per key, idempotence (mtimes unchanged) and restore on removal.
 */
#include "enf_test.h"

#include <unistd.h>

#include "ward/store.h"

#define DOC(extra)                                                                                 \
    "{\"id\": \"pw\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["                      \
    "{\"id\": \"p\", \"kind\": \"password_policy\", \"pass_max_days\": 365, \"pass_min_days\": "   \
    "1, \"pass_warn_age\": 7, \"minlen\": 14, \"dcredit\": -1, \"ucredit\": -1, \"minclass\": "    \
    "3, \"retry\": 3" extra "}]}"

#define LOGIN_DEFS "# login.defs\nPASS_MAX_DAYS\t99999\nPASS_MIN_DAYS\t0\nPASS_WARN_AGE\t14\n"
#define PWQ "# pwquality\n# minlen = 8\nminlen = 16\nucredit = -2\nminlen = 8\n"

WT_TEST(password_policy_check_apply_restore)
{
    struct ward_store *j = et_journal();
    struct enf_run_opts o = {.root = et_root(), .journal = j};
    struct enf_baseline *b;
    struct enf_report *r;
    int64_t m1, m2;
    et_put("/etc/login.defs", LOGIN_DEFS);
    et_put("/etc/security/pwquality.conf", PWQ);
    b = et_doc(DOC(", \"restore_on_removal\": true"));

    r = et_run(b, 0, NULL, NULL);
    ET_RESULT(r, "p", ENF_FAILED);
    WT_EQ_STR(et_outcome(r, "p")->actual,
              "PASS_MAX_DAYS 99999, PASS_MIN_DAYS 0, PASS_WARN_AGE 14, minlen 16 (duplicated), "
              "dcredit unset, ucredit -2, minclass unset, retry unset");
    enf_report_free(r);

    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "p", ENF_REPAIRED);
    enf_report_free(r);
    /* PASS_WARN_AGE 14 and ucredit -2 are stricter: kept as they were */
    WT_EQ_STR(et_get("/etc/login.defs"),
              "# login.defs\nPASS_MAX_DAYS\t365\nPASS_MIN_DAYS\t1\nPASS_WARN_AGE\t14\n");
    WT_EQ_STR(et_get("/etc/security/pwquality.conf"),
              "# pwquality\n# minlen = 8\nminlen = 14\nucredit = -2\n# minlen = 8\n"
              "dcredit = -1\nminclass = 3\nretry = 3\n");

    m1 = et_mtime("/etc/login.defs");
    m2 = et_mtime("/etc/security/pwquality.conf");
    usleep(20000);
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    et_all(r, ENF_KEPT);
    enf_report_free(r);
    WT_EQ_INT(et_mtime("/etc/login.defs"), m1);
    WT_EQ_INT(et_mtime("/etc/security/pwquality.conf"), m2);
    enf_baseline_free(b);

    WT_OK(enf_baseline_remove("pw", &o, &r));
    ET_RESULT(r, "p", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/login.defs"), LOGIN_DEFS);
    /* the line kind's restore: the prior active lines go back together where the first
     * was (same order, so pwquality's last-wins reading is unchanged); the duplicate Ward
     * commented out stays commented */
    WT_EQ_STR(et_get("/etc/security/pwquality.conf"),
              "# pwquality\n# minlen = 8\nminlen = 16\nminlen = 8\nucredit = -2\n# minlen = 8\n");
    ward_store_close(j);
}

WT_TEST(password_policy_missing_files_created)
{
    struct enf_baseline *b =
        et_doc("{\"id\": \"pw\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
               "{\"id\": \"p\", \"kind\": \"password_policy\", \"minlen\": 14}]}");
    struct enf_report *r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    ET_RESULT(r, "p", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_STR(et_get("/etc/security/pwquality.conf"), "minlen = 14\n");
    WT_ASSERT(et_get("/etc/login.defs") == NULL); /* not asked for: not touched */
    enf_baseline_free(b);
}

WT_TEST(password_policy_validation)
{
    int rc;
    const char *e = et_doc_errors("{\"id\": \"pw\", \"version\": 1, \"settings\": ["
                                  "{\"id\": \"p\", \"kind\": \"password_policy\"},"
                                  "{\"id\": \"q\", \"kind\": \"password_policy\", \"minlen\": 3}]}",
                                  &rc);
    WT_CONTAINS(e, "$.settings[0]: give at least one of pass_max_days");
    WT_CONTAINS(e, "$.settings[1].minlen");
}

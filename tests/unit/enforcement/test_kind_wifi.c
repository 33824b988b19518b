/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The secret field type and the wifi kind in a scratch root, in-process: secrets replaced
 * by their hashes in the journal's setting JSON, absent from the report and the
 * snapshot; a prior profile that held a PSK journaled without it and restored without it
 * (the engine refuses a snapshot that would hold a secret); a file rewritten with another
 * mode is repaired; the generated reference names the type. The interoperability checks
 * (nmcli, GKeyFile) are in test_kind_netprofile.py.
 */
#include "enf_test.h"

#include <string.h>

#include "enforcement/kind.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/store.h"

#define PSK "correct horse battery staple"
#define FILE_ "/etc/NetworkManager/system-connections/ward-corp.nmconnection"

static const char *doc_psk(const char *psk)
{
    static char buf[1024];
    snprintf(buf, sizeof(buf),
             "{\"id\": \"net\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
             "{\"id\": \"w\", \"kind\": \"wifi\", \"name\": \"corp\", \"ssid\": \"Corp\", "
             "\"security\": \"wpa2-personal\", \"psk\": \"%s\", \"restore_on_removal\": true}]}",
             psk);
    return buf;
}

/* Every text column of the journal, concatenated. */
static char *journal_text(struct ward_store *j)
{
    sqlite3_stmt *q = NULL;
    struct ward_buf b;
    ward_buf_init(&b, 1 << 20);
    WT_OK(ward_store_prepare(j, "SELECT setting, snapshot FROM enf_journal", &q));
    while (ward_store_step(j, q) == WARD_STORE_ROW) {
        ward_buf_append_str(&b, (const char *)sqlite3_column_text(q, 0));
        ward_buf_append_str(&b, (const char *)sqlite3_column_text(q, 1));
    }
    sqlite3_finalize(q);
    ward_buf_append_str(&b, "");
    return ward_buf_steal(&b, NULL);
}

static void report_has_no(const struct enf_report *r, const char *secret)
{
    json_t *j = NULL;
    char *text = NULL;
    struct ward_buf t;
    WT_OK(enf_report_json(r, &j));
    WT_OK(ward_json_dumps(j, 0, &text, NULL));
    WT_ASSERT(strstr(text, secret) == NULL);
    ward_buf_init(&t, 1 << 20);
    WT_OK(enf_report_table(r, &t));
    WT_ASSERT(strstr(t.data, secret) == NULL);
    ward_buf_release(&t);
    ward_free(text);
    json_decref(j);
}

WT_TEST(secret_hash_and_redaction)
{
    struct enf_baseline *b = et_doc(doc_psk(PSK));
    json_t *red = NULL;
    char h[ENF_SECRET_HASH_SIZE];
    size_t len = 0;

    enf_secret_hash(PSK, strlen(PSK), h);
    WT_EQ_INT(strlen(h), 19);
    WT_ASSERT(strncmp(h, "sha256:", 7) == 0);
    WT_EQ_STR(enf_secret(&b->settings[0], "psk", &len), PSK);
    WT_EQ_INT(len, strlen(PSK));
    WT_OK(enf_setting_redacted(&b->settings[0], &red));
    WT_EQ_STR(json_string_value(json_object_get(red, "psk")), h);
    WT_EQ_STR(json_string_value(json_object_get(red, "ssid")), "Corp");
    /* the original is untouched */
    WT_EQ_STR(enf_str(&b->settings[0], "psk", NULL), PSK);
    json_decref(red);
    enf_baseline_free(b);
}

WT_TEST(secret_never_quoted_by_validation)
{
    int rc = 0;
    const char *e = et_doc_errors(doc_psk("short"), &rc);
    WT_EQ_INT(rc, WARD_EPARSE);
    WT_CONTAINS(e, "$.settings[0].psk: must be 8 to 63");
    WT_ASSERT(strstr(e, "short\"") == NULL && strstr(e, "\"short") == NULL);
    e = et_doc_errors("{\"id\": \"n\", \"version\": 1, \"settings\": [{\"id\": \"w\", \"kind\": "
                      "\"wifi\", \"name\": \"n\", \"ssid\": \"s\", \"security\": "
                      "\"wpa2-personal\", \"psk\": 12345678}]}",
                      &rc);
    WT_CONTAINS(e, "$.settings[0].psk: must be a string, not integer");
    WT_ASSERT(strstr(e, "12345678") == NULL);
}

WT_TEST(wifi_secret_stays_out_of_journal_and_report)
{
    struct ward_store *j = et_journal();
    struct enf_baseline *b = et_doc(doc_psk(PSK)), *b2;
    struct enf_report *r;
    char *jt, *f;

    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "w", ENF_REPAIRED);
    report_has_no(r, PSK);
    enf_report_free(r);
    f = et_get(FILE_);
    WT_ASSERT(f != NULL && strstr(f, "psk=" PSK "\n") != NULL);
    WT_EQ_INT(et_mode(FILE_), 0600);
    jt = journal_text(j);
    WT_ASSERT(strstr(jt, PSK) == NULL);
    WT_CONTAINS(jt, "\"psk\":\"sha256:");
    ward_free(jt);

    /* a mode change is drift */
    WT_OK(plat_fs_chmod(et_root(), FILE_, strlen(FILE_), 0644));
    r = et_run(b, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "w", ENF_REPAIRED);
    enf_report_free(r);
    WT_EQ_INT(et_mode(FILE_), 0600);

    /* removal restores "missing" from a journal that never saw the PSK */
    r = NULL;
    {
        struct enf_run_opts o = {.root = et_root(), .journal = j};
        WT_OK(enf_baseline_remove("net", &o, &r));
    }
    ET_RESULT(r, "w", ENF_REPAIRED);
    enf_report_free(r);
    WT_ASSERT(et_get(FILE_) == NULL);

    /* a prior profile holding a PSK is journaled, and restored, without it */
    r = et_run(b, ENF_RUN_APPLY, NULL, NULL);
    enf_report_free(r);
    b2 = et_doc(doc_psk("another passphrase"));
    r = et_run(b2, ENF_RUN_APPLY, j, NULL);
    ET_RESULT(r, "w", ENF_REPAIRED);
    report_has_no(r, "another passphrase");
    report_has_no(r, PSK);
    enf_report_free(r);
    jt = journal_text(j);
    WT_ASSERT(strstr(jt, PSK) == NULL && strstr(jt, "another passphrase") == NULL);
    WT_CONTAINS(jt, "\"secrets_withheld\":1");
    ward_free(jt);
    {
        struct enf_run_opts o = {.root = et_root(), .journal = j};
        WT_OK(enf_baseline_remove("net", &o, &r));
    }
    ET_RESULT(r, "w", ENF_REPAIRED);
    enf_report_free(r);
    f = et_get(FILE_);
    WT_ASSERT(f != NULL && strstr(f, "ssid=Corp\n") != NULL && strstr(f, "psk=") == NULL);
    WT_EQ_INT(et_mode(FILE_), 0600);

    enf_baseline_free(b);
    enf_baseline_free(b2);
    ward_store_close(j);
}

WT_TEST(secret_type_in_reference)
{
    struct ward_buf md;
    ward_buf_init(&md, 1 << 22);
    WT_OK(enf_schema_markdown(&md));
    WT_CONTAINS(md.data, "| `psk` | secret (string) | no |");
    WT_CONTAINS(md.data, "Members of each `peers` object:");
    WT_CONTAINS(md.data, "| `preshared_key` | secret (string) | no |");
    ward_buf_release(&md);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The rollback journal: prior states of settings Ward changed, in the agent's SQLite
 * database (table from ENF_JOURNAL_SQL_V1). The first prior state of a setting is kept
 * across later repairs, so removing a baseline puts back what was there before it. The
 * setting's JSON is stored with its secret fields replaced by their hashes.
 */
#define WARD_LOG_TAG "enf-journal"

#include <string.h>
#include <time.h>

#include "internal.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"
#include "ward/store.h"

int enf_journal_put(struct ward_store *st, const char *baseline_id, const struct enf_setting *s,
                    const json_t *snap, int *inserted)
{
    sqlite3_stmt *q = NULL;
    char *setting = NULL, *snapshot = NULL;
    char *old_kind = NULL;
    json_t *shown = NULL;
    int rc, exists = 0;

    *inserted = 0;
    /* secrets are kept as their hashes: removal restores from the snapshot alone */
    rc = enf_setting_redacted(s, &shown);
    if (rc == 0)
        rc = ward_json_dumps(shown, WARD_JSON_SORT_KEYS, &setting, NULL);
    if (rc == 0)
        rc = ward_json_dumps(snap, WARD_JSON_SORT_KEYS, &snapshot, NULL);
    if (rc != 0)
        goto out;
    rc = ward_store_prepare(
        st, "SELECT kind FROM enf_journal WHERE baseline_id = ? AND setting_id = ?", &q);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(q, 1, baseline_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, s->id, -1, SQLITE_STATIC);
    rc = ward_store_step(st, q);
    if (rc == WARD_STORE_ROW) {
        const char *k = (const char *)sqlite3_column_text(q, 0);
        exists = 1;
        old_kind = ward_strdup(k ? k : "");
        rc = old_kind ? 0 : WARD_ENOMEM;
    }
    sqlite3_finalize(q);
    q = NULL;
    if (rc != 0)
        goto out;
    if (exists && strcmp(old_kind, s->kind->name) == 0) {
        /* keep the first prior state; refresh what the setting now says */
        rc = ward_store_prepare(st,
                                "UPDATE enf_journal SET setting = ?, restore_on_removal = ? "
                                "WHERE baseline_id = ? AND setting_id = ?",
                                &q);
        if (rc != 0)
            goto out;
        sqlite3_bind_text(q, 1, setting, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 2, s->restore_on_removal);
        sqlite3_bind_text(q, 3, baseline_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, s->id, -1, SQLITE_STATIC);
    } else {
        /* new, or the id now names a setting of another kind: its old state means nothing */
        rc = ward_store_prepare(st,
                                "INSERT OR REPLACE INTO enf_journal (baseline_id, setting_id, "
                                "kind, setting, snapshot, restore_on_removal, created_at) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                                &q);
        if (rc != 0)
            goto out;
        sqlite3_bind_text(q, 1, baseline_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, s->id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, s->kind->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, setting, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 5, snapshot, -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 6, s->restore_on_removal);
        sqlite3_bind_int64(q, 7, (sqlite3_int64)time(NULL));
        *inserted = 1;
    }
    rc = ward_store_step(st, q);
    if (rc != 0)
        *inserted = 0;
out:
    sqlite3_finalize(q);
    json_decref(shown);
    ward_free(old_kind);
    ward_free(setting);
    ward_free(snapshot);
    return rc;
}

int enf_journal_forget(struct ward_store *st, const char *baseline_id, const char *setting_id)
{
    sqlite3_stmt *q = NULL;
    int rc = ward_store_prepare(
        st, "DELETE FROM enf_journal WHERE baseline_id = ? AND setting_id = ?", &q);
    if (rc == 0) {
        sqlite3_bind_text(q, 1, baseline_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, setting_id, -1, SQLITE_STATIC);
        rc = ward_store_step(st, q);
    }
    sqlite3_finalize(q);
    if (rc != 0)
        WARD_LOG_ERR(rc, "journal: cannot forget %s/%s", baseline_id, setting_id);
    return rc;
}

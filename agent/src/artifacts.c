/* SPDX-License-Identifier: Apache-2.0 */
/* Managed artifacts (agent/artifacts.h) in the state database. */
#include "agent/artifacts.h"

#include <string.h>

#include "agent/state.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/store.h"
#include "ward/time.h"

static int name_ok(const char *kind, const char *name)
{
    return kind && name && kind[0] && name[0] && strlen(kind) < 64 && strlen(name) < 4096;
}

int agent_artifacts_add(struct agent_state *st, const char *kind, const char *name,
                        const json_t *detail, const char *command_id)
{
    struct ward_store *s = agent_state_store(st);
    sqlite3_stmt *q = NULL;
    char *text = NULL;
    int rc;

    if (!name_ok(kind, name))
        return WARD_EINVAL;
    if (detail && (rc = ward_json_dumps(detail, WARD_JSON_SORT_KEYS, &text, NULL)) != 0)
        return rc;
    rc = ward_store_prepare(s,
                            "INSERT INTO managed_artifacts(kind, name, detail, command_id,"
                            " added_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(kind, name) DO"
                            " UPDATE SET detail = excluded.detail, command_id ="
                            " excluded.command_id, added_at = excluded.added_at",
                            &q);
    if (rc == 0) {
        sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 3, text, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 4, command_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, ward_time_now());
        rc = ward_store_step(s, q);
    }
    sqlite3_finalize(q);
    ward_free(text);
    return rc;
}

int agent_artifacts_has(struct agent_state *st, const char *kind, const char *name)
{
    struct ward_store *s = agent_state_store(st);
    sqlite3_stmt *q = NULL;
    int rc;

    if (!name_ok(kind, name))
        return 0;
    rc = ward_store_prepare(s, "SELECT 1 FROM managed_artifacts WHERE kind = ?1 AND name = ?2", &q);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
    rc = ward_store_step(s, q);
    sqlite3_finalize(q);
    return rc == WARD_STORE_ROW ? 1 : rc;
}

int agent_artifacts_remove(struct agent_state *st, const char *kind, const char *name)
{
    struct ward_store *s = agent_state_store(st);
    sqlite3_stmt *q = NULL;
    int rc;

    if (!name_ok(kind, name))
        return 0;
    rc = ward_store_prepare(s, "DELETE FROM managed_artifacts WHERE kind = ?1 AND name = ?2", &q);
    if (rc == 0) {
        sqlite3_bind_text(q, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
        rc = ward_store_step(s, q);
    }
    sqlite3_finalize(q);
    return rc;
}

int agent_artifacts_list(struct agent_state *st, json_t **out)
{
    struct ward_store *s = agent_state_store(st);
    sqlite3_stmt *q = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(s,
                            "SELECT kind, name, detail, command_id, added_at FROM"
                            " managed_artifacts ORDER BY added_at, rowid",
                            &q);
    while (rc == 0 && (rc = ward_store_step(s, q)) == WARD_STORE_ROW) {
        const char *d = (const char *)sqlite3_column_text(q, 2);
        json_t *detail = d ? json_loads(d, 0, NULL) : NULL;
        json_t *row = json_pack("{s:s, s:s, s:o?, s:s?, s:I}", "kind", sqlite3_column_text(q, 0),
                                "name", sqlite3_column_text(q, 1), "detail", detail, "command_id",
                                sqlite3_column_text(q, 3), "added_at",
                                (json_int_t)sqlite3_column_int64(q, 4));
        if (!row || json_array_append_new(arr, row) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
        rc = 0;
    }
    sqlite3_finalize(q);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's state directory and database. The directory holds secrets (the device key
 * arrives with enrollment), so it is created 0700 and tightened to 0700 if it exists
 * looser. Schema changes are numbered migrations appended to the table below; never edit
 * a migration that has shipped.
 */
#define WARD_LOG_TAG "state"

#include "agent/state.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "agent/baselines.h"
#include "enforcement/baseline.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"
#include "ward/store.h"

struct agent_state {
    char *dir;
    struct ward_store *store;
};

static const struct ward_migration migrations[] = {
    {1, "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;"},
    /* Command journal and outbox (agent/src/commands.c, outbox.c). A command row exists
     * before its handler starts, so a restart can tell "never ran" from "was running". */
    {2, "CREATE TABLE commands ("
        " command_id TEXT PRIMARY KEY,"
        " seq INTEGER NOT NULL,"
        " type TEXT NOT NULL,"
        " params TEXT NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN ('received', 'running', 'done')),"
        " status TEXT,"
        " received_at INTEGER NOT NULL,"
        " started_at INTEGER,"
        " finished_at INTEGER) STRICT;"
        "CREATE INDEX commands_state ON commands(state, seq);"
        "CREATE TABLE outbox ("
        " id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " kind INTEGER NOT NULL," /* drop priority: 0 telemetry (first) .. 1 result (last) */
        " ref TEXT,"              /* command_id of a result */
        " body TEXT NOT NULL,"
        " bytes INTEGER NOT NULL,"
        " created_at INTEGER NOT NULL) STRICT;"
        "CREATE INDEX outbox_kind ON outbox(kind, id);"},
    /* Baseline rollback journal (enforcement/: the SQL is the engine's, see baseline.h). */
    {3, ENF_JOURNAL_SQL_V1},
    /* The inventory document the service last acknowledged, with its hash: the base of the
     * next delta (agent/src/invsync.c). One row; device_id ties it to one enrollment. */
    {4, "CREATE TABLE inventory_snapshot ("
        " id INTEGER PRIMARY KEY CHECK (id = 1),"
        " device_id TEXT NOT NULL,"
        " hash TEXT NOT NULL,"
        " doc TEXT NOT NULL,"
        " sent_at INTEGER NOT NULL) STRICT;"},
    /* Baselines assigned by the service and their last evaluation (agent/src/baselines.c). */
    {5, AGENT_BASELINES_SQL_V1},
    /* The job runner's journal states (agent/jobs.h): accepted (validated), running,
     * awaiting_reboot (between the `accepted` result and the final one, with what the
     * handler saved and the boot id), done, interrupted; attempts bounds resumptions and
     * progress is the handler's last word. SQLite cannot change a CHECK: rebuild. */
    {6, "CREATE TABLE commands_v6 ("
        " command_id TEXT PRIMARY KEY,"
        " seq INTEGER NOT NULL,"
        " type TEXT NOT NULL,"
        " params TEXT NOT NULL,"
        " state TEXT NOT NULL CHECK (state IN ('received', 'accepted', 'running',"
        "  'awaiting_reboot', 'done', 'interrupted')),"
        " status TEXT,"
        " received_at INTEGER NOT NULL,"
        " started_at INTEGER,"
        " finished_at INTEGER,"
        " saved TEXT,"
        " boot_id TEXT,"
        " acked INTEGER NOT NULL DEFAULT 0,"
        " attempts INTEGER NOT NULL DEFAULT 0,"
        " progress TEXT) STRICT;"
        "INSERT INTO commands_v6(command_id, seq, type, params, state, status, received_at,"
        " started_at, finished_at) SELECT command_id, seq, type, params,"
        " CASE WHEN state = 'done' AND status = 'interrupted' THEN 'interrupted' ELSE state END,"
        " status, received_at, started_at, finished_at FROM commands;"
        "DROP TABLE commands;"
        "ALTER TABLE commands_v6 RENAME TO commands;"
        "CREATE INDEX commands_state ON commands(state, seq);"},
    /* Managed artifacts (agent/artifacts.h): what Ward put on the device, which
     * selective_wipe removes; listed in insertion (rowid) order. */
    {7, "CREATE TABLE managed_artifacts ("
        " kind TEXT NOT NULL,"
        " name TEXT NOT NULL,"
        " detail TEXT,"
        " command_id TEXT,"
        " added_at INTEGER NOT NULL,"
        " PRIMARY KEY (kind, name)) STRICT;"},
};

static int uv_to_ward(int uvrc)
{
    switch (uvrc) {
    case 0:
        return 0;
    case UV_ENOENT:
        return WARD_ENOENT;
    case UV_EACCES:
    case UV_EPERM:
        return WARD_EACCES;
    case UV_EEXIST:
        return WARD_EEXIST;
    case UV_ENOSPC:
        return WARD_ENOSPC;
    case UV_ENOTDIR:
        return WARD_ENOTDIR;
    case UV_ENOMEM:
        return WARD_ENOMEM;
    default:
        return WARD_EIO;
    }
}

/* mkdir -p with mode 0700 for the last component; parents get 0755. */
static int make_private_dir(const char *dir)
{
    uv_fs_t req;
    char *p = ward_strdup(dir);
    size_t len;
    int rc = 0;

    if (!p)
        return WARD_ENOMEM;
    len = strlen(p);
    while (len > 1 && (p[len - 1] == '/' || p[len - 1] == '\\'))
        p[--len] = '\0';
    for (size_t i = 1; i <= len; i++) {
        if (i < len && p[i] != '/' && p[i] != '\\')
            continue;
        char saved = p[i];
        p[i] = '\0';
        int r = uv_fs_mkdir(NULL, &req, p, i == len ? 0700 : 0755, NULL);
        uv_fs_req_cleanup(&req);
        p[i] = saved;
        if (r != 0 && r != UV_EEXIST && !(i < len && (r == UV_EPERM || r == UV_EACCES))) {
            rc = uv_to_ward(r);
            goto out;
        }
    }
    if (uv_fs_stat(NULL, &req, p, NULL) != 0 || !(req.statbuf.st_mode & S_IFDIR)) {
        uv_fs_req_cleanup(&req);
        rc = WARD_ENOTDIR;
        goto out;
    }
    if ((req.statbuf.st_mode & 0077) != 0) {
        uv_fs_t creq;
        int r = uv_fs_chmod(NULL, &creq, p, 0700, NULL);
        uv_fs_req_cleanup(&creq);
        if (r != 0) {
            rc = uv_to_ward(r);
            uv_fs_req_cleanup(&req);
            goto out;
        }
        WARD_WARN("state directory %s was readable by others; now 0700", p);
    }
    uv_fs_req_cleanup(&req);
out:
    ward_free(p);
    return rc;
}

int agent_state_open(const char *dir, struct agent_state **out)
{
    struct agent_state *st;
    char *dbpath = NULL;
    size_t n;
    int rc;

    *out = NULL;
    st = ward_calloc(1, sizeof(*st));
    if (!st)
        return WARD_ENOMEM;
    st->dir = ward_strdup(dir);
    if (!st->dir) {
        rc = WARD_ENOMEM;
        goto out;
    }
    rc = make_private_dir(dir);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot create state directory %s", dir);
        goto out;
    }
    n = strlen(dir) + sizeof("/state.db");
    dbpath = ward_malloc(n);
    if (!dbpath) {
        rc = WARD_ENOMEM;
        goto out;
    }
    snprintf(dbpath, n, "%s/state.db", dir);
    rc =
        ward_store_open(dbpath, migrations, sizeof(migrations) / sizeof(migrations[0]), &st->store);
    if (rc != 0)
        goto out;
    *out = st;
out:
    ward_free(dbpath);
    if (rc != 0)
        agent_state_close(st);
    return rc;
}

void agent_state_close(struct agent_state *st)
{
    if (!st)
        return;
    ward_store_close(st->store);
    ward_free(st->dir);
    ward_free(st);
}

struct ward_store *agent_state_store(struct agent_state *st)
{
    return st->store;
}

int agent_state_open_store(const struct agent_state *st, struct ward_store **out)
{
    size_t n = strlen(st->dir) + sizeof("/state.db");
    char *dbpath = ward_malloc(n);
    int rc;
    *out = NULL;
    if (!dbpath)
        return WARD_ENOMEM;
    snprintf(dbpath, n, "%s/state.db", st->dir);
    rc = ward_store_open(dbpath, migrations, sizeof(migrations) / sizeof(migrations[0]), out);
    ward_free(dbpath);
    return rc;
}

const char *agent_state_dir(const struct agent_state *st)
{
    return st->dir;
}

int agent_state_get(struct agent_state *st, const char *key, char **out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = ward_store_prepare(st->store, "SELECT value FROM meta WHERE key = ?1", &stmt);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    rc = ward_store_step(st->store, stmt);
    if (rc == WARD_STORE_ROW) {
        *out = ward_strdup((const char *)sqlite3_column_text(stmt, 0));
        rc = *out ? 0 : WARD_ENOMEM;
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    sqlite3_finalize(stmt);
    return rc;
}

int agent_state_set(struct agent_state *st, const char *key, const char *value)
{
    sqlite3_stmt *stmt = NULL;
    int rc = ward_store_prepare(st->store,
                                "INSERT INTO meta(key, value) VALUES (?1, ?2) "
                                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                &stmt);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(stmt, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, value, -1, SQLITE_STATIC);
    rc = ward_store_step(st->store, stmt);
    sqlite3_finalize(stmt);
    return rc;
}

int agent_state_enrolled(struct agent_state *st)
{
    char *v = NULL;
    int enrolled = agent_state_get(st, "device_id", &v) == 0;
    ward_free(v);
    return enrolled;
}

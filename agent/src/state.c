/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's state directory and database. The directory holds secrets (the device key
 * arrives with enrollment), so it is made private each time it is opened
 * (plat_fs_make_private_dir: 0700; on Windows SYSTEM and Administrators only), tightening
 * one that exists looser. Schema changes are numbered migrations appended to the table below; never
 * edit a migration that has shipped.
 */
#define WARD_LOG_TAG "state"

#include "agent/state.h"

#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "agent/baselines.h"
#include "enforcement/baseline.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"
#include "ward/store.h"

struct agent_state {
    char *dir;
    struct ward_store *store;
    /* agent_state_get's statement, prepared once: `ward status` over the local IPC reads
     * a dozen keys per answer and preparing was half its cost. The lock: work threads
     * read meta too. */
    sqlite3_stmt *get;
    uv_mutex_t get_lock;
    int lock_live;
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

int agent_state_open(const char *dir, struct agent_state **out)
{
    struct agent_state *st;
    char *dbpath = NULL, why[512];
    size_t n;
    int rc, repaired = 0;

    *out = NULL;
    st = ward_calloc(1, sizeof(*st));
    if (!st)
        return WARD_ENOMEM;
    st->dir = ward_strdup(dir);
    if (!st->dir) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (uv_mutex_init(&st->get_lock) != 0) {
        rc = WARD_EIO;
        goto out;
    }
    st->lock_live = 1;
    rc = plat_fs_make_private_dir(dir, &repaired, why, sizeof(why));
    if (rc != 0) {
        WARD_LOG_ERR(rc, "state directory: %s", why[0] ? why : dir);
        goto out;
    }
    if (repaired)
        WARD_WARN("state directory: %s", why);
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
    sqlite3_finalize(st->get);
    if (st->lock_live)
        uv_mutex_destroy(&st->get_lock);
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
    int rc = 0;
    uv_mutex_lock(&st->get_lock);
    if (!st->get)
        rc = ward_store_prepare(st->store, "SELECT value FROM meta WHERE key = ?1", &st->get);
    if (rc == 0) {
        sqlite3_bind_text(st->get, 1, key, -1, SQLITE_STATIC);
        rc = ward_store_step(st->store, st->get);
        if (rc == WARD_STORE_ROW) {
            *out = ward_strdup((const char *)sqlite3_column_text(st->get, 0));
            rc = *out ? 0 : WARD_ENOMEM;
        } else if (rc == 0) {
            rc = WARD_ENOENT;
        }
        sqlite3_reset(st->get); /* no read transaction stays open */
        sqlite3_clear_bindings(st->get);
    }
    uv_mutex_unlock(&st->get_lock);
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

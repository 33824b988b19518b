/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The SQLite store: open with integrity check and recovery, migrations, small helpers.
 * Recovery is deliberately blunt: a database that SQLite calls corrupt or "not a database",
 * or that fails quick_check, is renamed to <path>.broken (kept for a post-mortem) and the
 * agent starts with empty state, which it can rebuild from the server. Anything else that
 * goes wrong on open (busy, disk full, permissions, a newer schema) leaves the file alone.
 */
#define WARD_LOG_TAG "store"

#include "ward/store.h"

#include <stdio.h>
#include <string.h>

#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/log.h"

struct ward_store {
    sqlite3 *db;
    int recovered;
};

int ward_store_code(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_FULL:
        return WARD_ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return WARD_EBUSY;
    case SQLITE_NOMEM:
        return WARD_ENOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return WARD_ECORRUPT;
    case SQLITE_PERM:
    case SQLITE_READONLY:
    case SQLITE_AUTH:
        return WARD_EACCES;
    default:
        return WARD_ESTORE;
    }
}

/* Translates a failure and puts SQLite's own words in the debug log. */
static int sq_fail(sqlite3 *db, int rc, const char *what)
{
    WARD_DEBUG("%s: %s (sqlite %d)", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
    return ward_store_code(rc);
}

static int exec_db(sqlite3 *db, const char *sql, const char *what)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sq_fail(db, rc, what);
}

/* Runs a pragma that returns one text row into out. */
static int pragma_text(sqlite3 *db, const char *sql, char *out, size_t outlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW)
        goto fail;
    {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        snprintf(out, outlen, "%s", t ? t : "");
    }
    sqlite3_finalize(st);
    return 0;
fail:
    rc = sq_fail(db, rc, sql);
    sqlite3_finalize(st);
    return rc;
}

static int user_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *v = sqlite3_column_int(st, 0);
        rc = 0;
    } else {
        rc = sq_fail(db, rc, "reading user_version");
    }
    sqlite3_finalize(st);
    return rc;
}

/* Opens and checks one database file. WARD_ECORRUPT means "move it aside"; detail then
 * says why. */
static int open_checked(const char *path, sqlite3 **out, char *detail, size_t detaillen)
{
    sqlite3 *db = NULL;
    char mode[32];
    int rc;

    *out = NULL;
    detail[0] = '\0';
    rc = sqlite3_open_v2(path, &db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_fail(db, rc, "opening database");
        goto out;
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, WARD_STORE_BUSY_TIMEOUT_MS);

    /* quick_check answers "ok" or one row per problem; a file that is not a database
     * fails already in prepare or step with SQLITE_NOTADB. */
    rc = pragma_text(db, "PRAGMA quick_check", detail, detaillen);
    if (rc == 0 && strcmp(detail, "ok") != 0)
        rc = WARD_ECORRUPT;
    else if (rc == WARD_ECORRUPT)
        snprintf(detail, detaillen, "%s", sqlite3_errmsg(db));
    if (rc != 0)
        goto out;
    detail[0] = '\0';

    rc = pragma_text(db, "PRAGMA journal_mode=WAL", mode, sizeof(mode));
    if (rc == 0 && strcmp(mode, "wal") != 0) {
        WARD_DEBUG("journal_mode is %s, not wal", mode);
        rc = WARD_ESTORE;
    }
    if (rc != 0)
        goto out;
    /* FULL: the command journal's sequence high-water mark must survive power loss. */
    rc = exec_db(db, "PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;", "database pragmas");
    if (rc != 0)
        goto out;
    *out = db;
    db = NULL;
out:
    if (rc == WARD_ECORRUPT && !detail[0] && db)
        snprintf(detail, detaillen, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc;
}

/* path + suffix, new string. */
static char *suffixed(const char *path, const char *suffix)
{
    size_t a = strlen(path), b = strlen(suffix);
    char *s = ward_malloc(a + b + 1);
    if (!s)
        return NULL;
    memcpy(s, path, a);
    memcpy(s + a, suffix, b + 1);
    return s;
}

/* Renames from+sfx_from to path+sfx_to, or removes path+sfx_to when sfx_from is NULL. A
 * missing source is fine. */
static int move_one(const char *path, const char *sfx_from, const char *sfx_to)
{
    char *from = sfx_from ? suffixed(path, sfx_from) : NULL;
    char *to = suffixed(path, sfx_to);
    int rc;
    if (!to || (sfx_from && !from)) {
        rc = WARD_ENOMEM;
        goto out;
    }
    rc = sfx_from ? ward_os_rename(from, to) : ward_os_remove(to);
    if (rc == WARD_ENOENT)
        rc = 0;
out:
    ward_free(from);
    ward_free(to);
    return rc;
}

/* The WAL and rollback journal belong to the broken file and go with it (renamed so that
 * SQLite pairs them if someone opens the .broken copy); the shared-memory index is
 * rebuilt from the WAL and is dropped. Stale companions of an older .broken go first. */
static int move_aside(const char *path)
{
    static const char *const stale[] = {".broken-wal", ".broken-shm", ".broken-journal"};
    int rc = 0;

    for (size_t i = 0; i < sizeof(stale) / sizeof(stale[0]) && rc == 0; i++)
        rc = move_one(path, NULL, stale[i]);
    if (rc == 0)
        rc = move_one(path, "", ".broken");
    if (rc == 0)
        rc = move_one(path, "-wal", ".broken-wal");
    if (rc == 0)
        rc = move_one(path, "-journal", ".broken-journal");
    if (rc == 0)
        rc = move_one(path, NULL, "-shm");
    return rc;
}

/* One migration in its own transaction, user_version included, so a crash or a failing
 * statement leaves the schema at the previous version. */
static int apply_one(sqlite3 *db, const char *path, const struct ward_migration *m)
{
    char sql[64];
    int rc = exec_db(db, "BEGIN IMMEDIATE", "begin migration");
    if (rc != 0)
        goto out;
    rc = exec_db(db, m->sql, "migration");
    if (rc != 0)
        goto out;
    snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", m->version);
    rc = exec_db(db, sql, "setting user_version");
    if (rc == 0)
        rc = exec_db(db, "COMMIT", "commit migration");
out:
    if (rc != 0) {
        WARD_LOG_ERR(rc, "database %s: migration to schema version %d failed: %s", path, m->version,
                     sqlite3_errmsg(db));
        if (!sqlite3_get_autocommit(db))
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    return rc;
}

static int migrate(sqlite3 *db, const char *path, const struct ward_migration *migs, size_t n)
{
    int cur = 0, rc;

    rc = user_version(db, &cur);
    if (rc != 0)
        return rc;
    if (cur < 0 || (size_t)cur > n) {
        WARD_LOG_ERR(WARD_ESTATE,
                     "database %s has schema version %d but this Ward knows only up to %d; "
                     "refusing to use it (was Ward downgraded?)",
                     path, cur, (int)n);
        return WARD_ESTATE;
    }
    for (size_t i = (size_t)cur; i < n; i++) {
        rc = apply_one(db, path, &migs[i]);
        if (rc != 0)
            return rc;
    }
    if ((size_t)cur < n)
        WARD_INFO("database %s: schema version %d -> %d", path, cur, (int)n);
    return 0;
}

int ward_store_open(const char *path, const struct ward_migration *migs, size_t n,
                    struct ward_store **out)
{
    struct ward_store *s = NULL;
    char detail[256];
    sqlite3 *db = NULL;
    int rc, recovered = 0;

    *out = NULL;
    if (!path || !*path || (n && !migs))
        return WARD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (migs[i].version != (int)i + 1 || !migs[i].sql) {
            WARD_LOG_ERR(WARD_EINVAL, "migration #%d has version %d, expected %d", (int)i + 1,
                         migs[i].version, (int)i + 1);
            return WARD_EINVAL;
        }
    }
    s = ward_calloc(1, sizeof(*s));
    if (!s)
        return WARD_ENOMEM;

    rc = open_checked(path, &db, detail, sizeof(detail));
    if (rc == WARD_ECORRUPT) {
        rc = move_aside(path);
        if (rc != 0) {
            WARD_LOG_ERR(rc, "database %s is corrupt (%s) and could not be moved aside", path,
                         detail);
            goto out;
        }
        WARD_LOG_WARN_ERR(WARD_ECORRUPT,
                          "database %s is corrupt (%s); moved it to %s.broken and starting "
                          "with a fresh one",
                          path, detail, path);
        recovered = 1;
        rc = open_checked(path, &db, detail, sizeof(detail));
    }
    if (rc != 0)
        goto out;
    rc = migrate(db, path, migs, n);
    if (rc != 0)
        goto out;
    s->db = db;
    s->recovered = recovered;
    db = NULL;
    *out = s;
    s = NULL;
out:
    sqlite3_close(db);
    ward_free(s);
    return rc;
}

void ward_store_close(struct ward_store *s)
{
    if (!s)
        return;
    if (sqlite3_close(s->db) != SQLITE_OK)
        WARD_WARN("closing database: %s (unfinalized statements?)", sqlite3_errmsg(s->db));
    ward_free(s);
}

sqlite3 *ward_store_db(struct ward_store *s)
{
    return s->db;
}

int ward_store_version(struct ward_store *s)
{
    int v = 0;
    return user_version(s->db, &v) == 0 ? v : -1;
}

int ward_store_recovered(const struct ward_store *s)
{
    return s->recovered;
}

int ward_store_exec(struct ward_store *s, const char *sql)
{
    return exec_db(s->db, sql, "exec");
}

int ward_store_begin(struct ward_store *s)
{
    return exec_db(s->db, "BEGIN IMMEDIATE", "begin");
}

int ward_store_commit(struct ward_store *s)
{
    return exec_db(s->db, "COMMIT", "commit");
}

void ward_store_rollback(struct ward_store *s)
{
    if (s && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

int ward_store_prepare(struct ward_store *s, const char *sql, sqlite3_stmt **stmt)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, stmt, NULL);
    if (rc != SQLITE_OK) {
        *stmt = NULL;
        return sq_fail(s->db, rc, "prepare");
    }
    return 0;
}

int ward_store_step(struct ward_store *s, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        return WARD_STORE_ROW;
    if (rc == SQLITE_DONE)
        return 0;
    return sq_fail(s ? s->db : sqlite3_db_handle(stmt), rc, "step");
}

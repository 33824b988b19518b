/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the SQLite store: migrations run once and in order, data survives a reopen, a
 * newer schema is refused without touching the file, a failed migration rolls back, WAL
 * mode and foreign keys are on, and garbage or truncated databases are moved aside to
 * .broken and replaced by a fresh database. */
#include "wtest.h"

#include "ward/alloc.h"
#include "ward/store.h"

static const struct ward_migration migs[] = {
    {1, "CREATE TABLE applied (step INTEGER PRIMARY KEY, at TEXT);"
        "INSERT INTO applied (step) VALUES (1);"},
    {2, "INSERT INTO applied (step) VALUES (2);"
        "CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);"},
    {3, "INSERT INTO applied (step) VALUES (3);"
        "CREATE TABLE child (id INTEGER PRIMARY KEY, k TEXT NOT NULL REFERENCES kv(k));"},
};
#define NMIGS (sizeof(migs) / sizeof(migs[0]))

static long long query_int(struct ward_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    long long v;
    WT_OK(ward_store_prepare(s, sql, &st));
    WT_EQ_INT(ward_store_step(s, st), WARD_STORE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void put(struct ward_store *s, const char *k, const char *v)
{
    sqlite3_stmt *st = NULL;
    WT_OK(ward_store_prepare(s, "INSERT OR REPLACE INTO kv (k, v) VALUES (?1, ?2)", &st));
    WT_EQ_INT(sqlite3_bind_text(st, 1, k, -1, SQLITE_TRANSIENT), SQLITE_OK);
    WT_EQ_INT(sqlite3_bind_text(st, 2, v, -1, SQLITE_TRANSIENT), SQLITE_OK);
    WT_OK(ward_store_step(s, st));
    sqlite3_finalize(st);
}

static int file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f)
        fclose(f);
    return f != NULL;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *d;
    long n;
    WT_ASSERT(f != NULL);
    WT_ASSERT(fseek(f, 0, SEEK_END) == 0);
    n = ftell(f);
    WT_ASSERT(n >= 0);
    rewind(f);
    d = ward_malloc((size_t)n + 1);
    WT_ASSERT(d != NULL);
    WT_EQ_INT(fread(d, 1, (size_t)n, f), n);
    fclose(f);
    *len = (size_t)n;
    return d;
}

static char *with_suffix(const char *path, const char *sfx)
{
    size_t n = strlen(path) + strlen(sfx) + 1;
    char *s = ward_malloc(n);
    WT_ASSERT(s != NULL);
    snprintf(s, n, "%s%s", path, sfx);
    return s;
}

WT_TEST(migrations_applied_once_in_order)
{
    const char *path = wt_path("state.db");
    struct ward_store *s = NULL;
    sqlite3_stmt *st = NULL;
    long long expect = 1;

    WT_OK(ward_store_open(path, migs, 2, &s));
    WT_EQ_INT(ward_store_version(s), 2);
    WT_EQ_INT(ward_store_recovered(s), 0);
    ward_store_close(s);
    s = NULL;

    /* reopening applies only what is new */
    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_EQ_INT(ward_store_version(s), 3);
    WT_EQ_INT(query_int(s, "SELECT count(*) FROM applied"), 3);
    WT_OK(ward_store_prepare(s, "SELECT step FROM applied ORDER BY rowid", &st));
    while (ward_store_step(s, st) == WARD_STORE_ROW)
        WT_EQ_INT(sqlite3_column_int64(st, 0), expect++);
    WT_EQ_INT(expect, 4);
    sqlite3_finalize(st);
    ward_store_close(s);
    s = NULL;

    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_EQ_INT(query_int(s, "SELECT count(*) FROM applied"), 3);
    ward_store_close(s);
}

WT_TEST(reopen_keeps_data)
{
    const char *path = wt_path("state.db");
    struct ward_store *s = NULL;
    sqlite3_stmt *st = NULL;
    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    put(s, "device_id", "d-42");
    ward_store_close(s);
    s = NULL;
    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_OK(ward_store_prepare(s, "SELECT v FROM kv WHERE k = 'device_id'", &st));
    WT_EQ_INT(ward_store_step(s, st), WARD_STORE_ROW);
    WT_EQ_STR((const char *)sqlite3_column_text(st, 0), "d-42");
    WT_OK(ward_store_step(s, st));
    sqlite3_finalize(st);
    ward_store_close(s);
}

WT_TEST(newer_schema_refused_and_untouched)
{
    const char *path = wt_path("state.db");
    char *broken = with_suffix(path, ".broken");
    struct ward_store *s = NULL;
    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    put(s, "keep", "me");
    ward_store_close(s);
    s = NULL;
    WT_EQ_ERR(ward_store_open(path, migs, 2, &s), WARD_ESTATE);
    WT_ASSERT(s == NULL);
    WT_ASSERT(!file_exists(broken));
    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_EQ_INT(query_int(s, "SELECT count(*) FROM kv WHERE k = 'keep'"), 1);
    ward_store_close(s);
    ward_free(broken);
}

WT_TEST(failed_migration_rolls_back)
{
    const char *path = wt_path("state.db");
    struct ward_store *s = NULL;
    const struct ward_migration bad[] = {
        migs[0],
        {2, "INSERT INTO applied (step) VALUES (2); THIS IS NOT SQL;"},
    };
    WT_EQ_ERR(ward_store_open(path, bad, 2, &s), WARD_ESTORE);
    WT_ASSERT(s == NULL);
    WT_OK(ward_store_open(path, migs, 1, &s));
    WT_EQ_INT(ward_store_version(s), 1);
    WT_EQ_INT(query_int(s, "SELECT count(*) FROM applied"), 1); /* step 2 rolled back */
    ward_store_close(s);
    s = NULL;
    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_EQ_INT(ward_store_version(s), 3);
    ward_store_close(s);
}

WT_TEST(bad_migration_list)
{
    const struct ward_migration gap[] = {{1, "SELECT 1"}, {3, "SELECT 1"}};
    const struct ward_migration nosql[] = {{1, NULL}};
    struct ward_store *s = NULL;
    WT_EQ_ERR(ward_store_open(wt_path("a.db"), gap, 2, &s), WARD_EINVAL);
    WT_EQ_ERR(ward_store_open(wt_path("a.db"), nosql, 1, &s), WARD_EINVAL);
    WT_EQ_ERR(ward_store_open(NULL, migs, 1, &s), WARD_EINVAL);
    WT_ASSERT(s == NULL);
}

WT_TEST(wal_and_foreign_keys_on)
{
    struct ward_store *s = NULL;
    sqlite3_stmt *st = NULL;
    WT_OK(ward_store_open(wt_path("state.db"), migs, NMIGS, &s));
    WT_OK(ward_store_prepare(s, "PRAGMA journal_mode", &st));
    WT_EQ_INT(ward_store_step(s, st), WARD_STORE_ROW);
    WT_EQ_STR((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    WT_EQ_INT(query_int(s, "PRAGMA foreign_keys"), 1);
    WT_EQ_INT(query_int(s, "PRAGMA busy_timeout"), WARD_STORE_BUSY_TIMEOUT_MS);
    /* the foreign key is enforced */
    WT_EQ_ERR(ward_store_exec(s, "INSERT INTO child (k) VALUES ('nope')"), WARD_ESTORE);
    ward_store_close(s);
}

WT_TEST(transactions)
{
    struct ward_store *s = NULL;
    WT_OK(ward_store_open(wt_path("state.db"), migs, NMIGS, &s));
    WT_OK(ward_store_begin(s));
    put(s, "a", "1");
    ward_store_rollback(s);
    WT_EQ_INT(query_int(s, "SELECT count(*) FROM kv"), 0);
    WT_OK(ward_store_begin(s));
    put(s, "a", "1");
    WT_OK(ward_store_commit(s));
    WT_EQ_INT(query_int(s, "SELECT count(*) FROM kv"), 1);
    ward_store_rollback(s); /* no transaction: harmless */
    ward_store_rollback(NULL);
    WT_EQ_ERR(ward_store_commit(s), WARD_ESTORE);
    ward_store_close(s);
    ward_store_close(NULL);
}

WT_TEST(busy_maps_to_ebusy)
{
    const char *path = wt_path("state.db");
    struct ward_store *s = NULL;
    sqlite3 *other = NULL;
    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_EQ_INT(sqlite3_open(path, &other), SQLITE_OK);
    WT_EQ_INT(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_busy_timeout(ward_store_db(s), 0);
    WT_EQ_ERR(ward_store_begin(s), WARD_EBUSY);
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    WT_OK(ward_store_begin(s));
    WT_OK(ward_store_commit(s));
    ward_store_close(s);
}

WT_TEST(code_translation)
{
    WT_OK(ward_store_code(SQLITE_OK));
    WT_OK(ward_store_code(SQLITE_DONE));
    WT_EQ_ERR(ward_store_code(SQLITE_FULL), WARD_ENOSPC);
    WT_EQ_ERR(ward_store_code(SQLITE_BUSY), WARD_EBUSY);
    WT_EQ_ERR(ward_store_code(SQLITE_BUSY_SNAPSHOT), WARD_EBUSY);
    WT_EQ_ERR(ward_store_code(SQLITE_LOCKED), WARD_EBUSY);
    WT_EQ_ERR(ward_store_code(SQLITE_IOERR_WRITE), WARD_ESTORE);
    WT_EQ_ERR(ward_store_code(SQLITE_ERROR), WARD_ESTORE);
    WT_EQ_ERR(ward_store_code(SQLITE_CONSTRAINT_FOREIGNKEY), WARD_ESTORE);
    WT_EQ_ERR(ward_store_code(SQLITE_CORRUPT), WARD_ECORRUPT);
    WT_EQ_ERR(ward_store_code(SQLITE_READONLY), WARD_EACCES);
}

WT_TEST(garbage_file_moved_aside)
{
    char garbage[8192];
    const char *path;
    char *broken, *broken_wal, *wal, *back;
    struct ward_store *s = NULL;
    size_t n;

    for (size_t i = 0; i < sizeof(garbage); i++)
        garbage[i] = (char)("not a database! "[i % 16]);
    path = wt_write_file("state.db", garbage, sizeof(garbage));
    wt_write_file("state.db-wal", "stale wal", 9);
    wt_write_file("state.db-shm", "stale shm", 9);
    wt_write_file("state.db.broken-wal", "older", 5); /* left from an earlier recovery */
    broken = with_suffix(path, ".broken");
    broken_wal = with_suffix(path, ".broken-wal");
    wal = with_suffix(path, "-wal");

    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_EQ_INT(ward_store_recovered(s), 1);
    WT_EQ_INT(ward_store_version(s), 3);
    WT_EQ_INT(query_int(s, "SELECT count(*) FROM applied"), 3);
    ward_store_close(s);
    s = NULL;

    back = read_all(broken, &n);
    WT_EQ_INT(n, sizeof(garbage));
    WT_EQ_MEM(back, garbage, n);
    ward_free(back);
    /* The broken file's WAL went with it, or SQLite dropped it on close as invalid; either
     * way it is never paired with the fresh database, and the older .broken-wal is gone. */
    if (file_exists(broken_wal)) {
        back = read_all(broken_wal, &n);
        WT_EQ_INT(n, 9);
        WT_EQ_MEM(back, "stale wal", 9);
        ward_free(back);
    }
    if (file_exists(wal)) {
        back = read_all(wal, &n);
        WT_ASSERT(n != 9 || memcmp(back, "stale wal", 9) != 0);
        ward_free(back);
    }

    /* the fresh database is healthy: the next open is not a recovery */
    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_EQ_INT(ward_store_recovered(s), 0);
    ward_store_close(s);
    ward_free(broken);
    ward_free(broken_wal);
    ward_free(wal);
}

WT_TEST(truncated_db_moved_aside)
{
    const char *path = wt_path("state.db");
    char *broken = with_suffix(path, ".broken");
    struct ward_store *s = NULL;
    char *data, *back;
    size_t n, n2;

    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_OK(ward_store_exec(s, "CREATE TABLE big (id INTEGER PRIMARY KEY, blob BLOB);"
                             "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c "
                             "WHERE i < 400) INSERT INTO big SELECT i, randomblob(600) FROM c;"));
    ward_store_close(s); /* last connection: checkpoints the WAL into the file */
    s = NULL;

    data = read_all(path, &n);
    WT_ASSERT(n > 64 * 4096);
    /* keep the header and the first pages, lose the rest */
    wt_write_file("state.db", data, n / 3);
    ward_free(data);

    WT_OK(ward_store_open(path, migs, NMIGS, &s));
    WT_EQ_INT(ward_store_recovered(s), 1);
    WT_EQ_INT(ward_store_version(s), 3);
    WT_EQ_INT(query_int(s, "SELECT count(*) FROM sqlite_schema WHERE name = 'big'"), 0);
    ward_store_close(s);
    back = read_all(broken, &n2);
    WT_EQ_INT(n2, n / 3);
    ward_free(back);
    ward_free(broken);
}

WT_TEST(unopenable_path_is_not_moved)
{
    struct ward_store *s = NULL;
    int rc = ward_store_open(wt_path("no/such/dir/state.db"), migs, NMIGS, &s);
    WT_ASSERT(rc != 0);
    WT_ASSERT(rc != WARD_ECORRUPT);
    WT_ASSERT(s == NULL);
}

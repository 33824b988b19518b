/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ward's local state: one SQLite database (WAL, foreign keys on, a busy timeout), its
 * schema brought up to date by numbered migrations, each applied in its own transaction and
 * recorded in PRAGMA user_version. A database that SQLite cannot read, or that fails
 * PRAGMA quick_check, is moved aside to <path>.broken (its WAL to <path>.broken-wal) and a
 * fresh one is created, so a corrupt file never leaves the device unmanageable.
 *
 * SQLite result codes become Ward codes through ward_store_code(): SQLITE_FULL is
 * WARD_ENOSPC, SQLITE_BUSY/SQLITE_LOCKED are WARD_EBUSY, SQLITE_NOMEM is WARD_ENOMEM,
 * SQLITE_CORRUPT/SQLITE_NOTADB are WARD_ECORRUPT, SQLITE_PERM/SQLITE_READONLY are
 * WARD_EACCES, anything else is WARD_ESTORE. SQLite's message goes to the debug log.
 */
#ifndef WARD_STORE_H
#define WARD_STORE_H

#include <stddef.h>

#include <sqlite3.h>

#define WARD_STORE_BUSY_TIMEOUT_MS 5000

/* Migration `version` turns a schema at version - 1 into version. Versions start at 1 and
 * increase by one through the array; sql may hold several statements. */
struct ward_migration {
    int version;
    const char *sql;
};

struct ward_store;

/* Opens (creating) the database at path (UTF-8) and applies the migrations it has not
 * seen. *out is new (ward_store_close). Errors: WARD_EINVAL (bad migration list),
 * WARD_ESTATE (the database's schema is newer than the migrations know: a downgrade;
 * logged with both versions, and the file is left untouched), WARD_EBUSY, WARD_ENOSPC,
 * WARD_EACCES, WARD_ESTORE (a migration failed: logged, rolled back, the database stays at
 * the last good version). */
int ward_store_open(const char *path, const struct ward_migration *migs, size_t n,
                    struct ward_store **out);
/* NULL-safe. Finalize your statements first. */
void ward_store_close(struct ward_store *s);

/* The connection, borrowed from s. */
sqlite3 *ward_store_db(struct ward_store *s);
/* Schema version (PRAGMA user_version). */
int ward_store_version(struct ward_store *s);
/* Nonzero if ward_store_open moved a broken database aside to get this one. */
int ward_store_recovered(const struct ward_store *s);

/* Runs one or more statements that return no rows of interest. */
int ward_store_exec(struct ward_store *s, const char *sql);
/* BEGIN IMMEDIATE (takes the write lock up front, so a transaction never fails half way
 * with SQLITE_BUSY), COMMIT, ROLLBACK. Rollback is NULL-safe and safe without a
 * transaction, for cleanup paths. */
int ward_store_begin(struct ward_store *s);
int ward_store_commit(struct ward_store *s);
void ward_store_rollback(struct ward_store *s);

/* Prepares one statement; *stmt is new (sqlite3_finalize, which is NULL-safe). */
int ward_store_prepare(struct ward_store *s, const char *sql, sqlite3_stmt **stmt);
/* sqlite3_step: WARD_STORE_ROW when a row is ready, 0 when done, or a Ward error. */
#define WARD_STORE_ROW 1
int ward_store_step(struct ward_store *s, sqlite3_stmt *stmt);

/* SQLite result code -> Ward code (0 for SQLITE_OK/ROW/DONE). */
int ward_store_code(int sqlite_rc);

#endif

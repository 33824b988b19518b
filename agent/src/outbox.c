/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The outbox: a table of JSON items the service has not acknowledged yet, bounded in rows
 * and bytes with a fixed drop order (telemetry before command results, oldest first), and
 * drop counters in the meta table. Everything runs on the caller's transaction so callers
 * can tie a result to the journal change that produced it.
 */
#define WARD_LOG_TAG "outbox"

#include "agent/outbox.h"

#include <string.h>

#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

static int query_ll(struct ward_store *s, const char *sql, long long *out)
{
    sqlite3_stmt *st = NULL;
    int rc = ward_store_prepare(s, sql, &st);
    if (rc != 0)
        return rc;
    rc = ward_store_step(s, st);
    if (rc == WARD_STORE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = 0;
    } else if (rc == 0) {
        *out = 0;
    }
    sqlite3_finalize(st);
    return rc;
}

static int count_drop(struct ward_store *s, enum agent_outbox_kind kind)
{
    sqlite3_stmt *st = NULL;
    int rc = ward_store_prepare(
        s,
        "INSERT INTO meta(key, value) VALUES (?1, '1') ON CONFLICT(key) DO UPDATE SET "
        "value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)",
        &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1,
                      kind == AGENT_OUTBOX_TELEMETRY ? "outbox_dropped_telemetry"
                                                     : "outbox_dropped_results",
                      -1, SQLITE_STATIC);
    rc = ward_store_step(s, st);
    sqlite3_finalize(st);
    return rc;
}

/* Drops the oldest item of the lowest kind <= max_kind; WARD_ENOENT if none. */
static int drop_one(struct ward_store *s, enum agent_outbox_kind max_kind)
{
    sqlite3_stmt *st = NULL;
    long long id = 0, kind = 0;
    int rc = ward_store_prepare(
        s, "SELECT id, kind FROM outbox WHERE kind <= ?1 ORDER BY kind, id LIMIT 1", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_int(st, 1, (int)max_kind);
    rc = ward_store_step(s, st);
    if (rc == WARD_STORE_ROW) {
        id = sqlite3_column_int64(st, 0);
        kind = sqlite3_column_int64(st, 1);
        rc = 0;
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    sqlite3_finalize(st);
    if (rc != 0)
        return rc;
    rc = ward_store_prepare(s, "DELETE FROM outbox WHERE id = ?1", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = ward_store_step(s, st);
    sqlite3_finalize(st);
    if (rc == 0)
        rc = count_drop(s, (enum agent_outbox_kind)kind);
    if (rc == 0)
        WARD_WARN("outbox full: dropped the oldest %s", kind ? "command result" : "telemetry item");
    return rc;
}

int agent_outbox_put(struct ward_store *s, const struct agent_outbox_limits *lim,
                     enum agent_outbox_kind kind, const char *ref, const char *body, size_t len)
{
    long long max_rows = lim && lim->max_rows > 0 ? lim->max_rows : AGENT_OUTBOX_MAX_ROWS;
    long long max_bytes = lim && lim->max_bytes > 0 ? lim->max_bytes : AGENT_OUTBOX_MAX_BYTES;
    sqlite3_stmt *st = NULL;
    int rc;

    if (len > AGENT_OUTBOX_MAX_ITEM || (long long)len > max_bytes)
        return WARD_ETOOBIG;
    for (;;) {
        long long rows = 0, bytes = 0;
        rc = query_ll(s, "SELECT count(*) FROM outbox", &rows);
        if (rc == 0)
            rc = query_ll(s, "SELECT coalesce(sum(bytes), 0) FROM outbox", &bytes);
        if (rc != 0)
            return rc;
        if (rows + 1 <= max_rows && bytes + (long long)len <= max_bytes)
            break;
        rc = drop_one(s, kind);
        if (rc == WARD_ENOENT) {
            /* Only more important items left: this one is the one to drop. */
            WARD_WARN("outbox full of command results: dropped a new telemetry item");
            return count_drop(s, kind);
        }
        if (rc != 0)
            return rc;
    }
    rc = ward_store_prepare(s,
                            "INSERT INTO outbox(kind, ref, body, bytes, created_at) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)",
                            &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_int(st, 1, (int)kind);
    if (ref)
        sqlite3_bind_text(st, 2, ref, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, body, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)len);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)ward_time_now());
    rc = ward_store_step(s, st);
    sqlite3_finalize(st);
    return rc;
}

static long long meta_ll(struct ward_store *s, const char *key)
{
    sqlite3_stmt *st = NULL;
    long long v = 0;
    if (ward_store_prepare(s, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1", &st) != 0)
        return 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (ward_store_step(s, st) == WARD_STORE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int agent_outbox_stats(struct ward_store *s, struct agent_outbox_stats *out)
{
    int rc;
    memset(out, 0, sizeof(*out));
    rc = query_ll(s, "SELECT count(*) FROM outbox", &out->rows);
    if (rc == 0)
        rc = query_ll(s, "SELECT coalesce(sum(bytes), 0) FROM outbox", &out->bytes);
    if (rc == 0)
        rc = query_ll(s, "SELECT count(*) FROM outbox WHERE kind = 1", &out->results);
    out->dropped_telemetry = meta_ll(s, "outbox_dropped_telemetry");
    out->dropped_results = meta_ll(s, "outbox_dropped_results");
    return rc;
}

int agent_outbox_results_batch(struct ward_store *s, size_t max_bytes, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    size_t total = 0;
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(s, "SELECT body, bytes FROM outbox WHERE kind = 1 ORDER BY id", &st);
    while (rc == 0 && (rc = ward_store_step(s, st)) == WARD_STORE_ROW) {
        const char *body = (const char *)sqlite3_column_text(st, 0);
        size_t n = (size_t)sqlite3_column_int64(st, 1);
        json_t *j = NULL;
        rc = 0;
        if (json_array_size(arr) > 0 && total + n > max_bytes)
            break;
        if (ward_json_loadb(body, strlen(body), NULL, &j, NULL) != 0 || !json_is_object(j)) {
            json_decref(j);
            WARD_WARN("skipping an unreadable outbox entry");
            continue;
        }
        if (json_array_append_new(arr, j) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
        total += n;
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

int agent_outbox_ack(struct ward_store *s, const json_t *ids, long long *deleted)
{
    sqlite3_stmt *st = NULL;
    size_t i;
    json_t *v;
    long long n = 0;
    int rc;

    if (deleted)
        *deleted = 0;
    if (!json_is_array(ids))
        return WARD_EINVAL;
    rc = ward_store_prepare(s, "DELETE FROM outbox WHERE kind = 1 AND ref = ?1", &st);
    if (rc != 0)
        return rc;
    json_array_foreach(ids, i, v)
    {
        if (!json_is_string(v))
            continue;
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, json_string_value(v), -1, SQLITE_TRANSIENT);
        rc = ward_store_step(s, st);
        if (rc != 0)
            break;
        n += sqlite3_changes(ward_store_db(s));
    }
    sqlite3_finalize(st);
    if (deleted)
        *deleted = n;
    return rc;
}

int agent_outbox_checkin_json(struct ward_store *s, json_t **out)
{
    struct agent_outbox_stats os;
    int rc = agent_outbox_stats(s, &os);
    *out = NULL;
    if (rc != 0)
        return rc;
    *out = json_pack("{s:I, s:{s:I, s:I}}", "pending", (json_int_t)os.rows, "dropped", "telemetry",
                     (json_int_t)os.dropped_telemetry, "results", (json_int_t)os.dropped_results);
    return *out ? 0 : WARD_ENOMEM;
}

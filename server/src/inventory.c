/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Device inventories on the service. A full upload replaces the device's rows; a delta is
 * applied only on top of the exact document its base_hash names, and only kept when the
 * result hashes to what the agent says it should (inventory/delta.h computes both sides
 * the same way). Anything that does not fit answers 409 inventory_resync, after which the
 * agent sends everything again, so a lost acknowledgement, a restored database or a
 * tampered row heals itself in one round trip. Storage is one row per device, table and
 * row key with the row's JSON, which keeps `inventory find` a simple scan.
 */
#define WARD_LOG_TAG "srv-inventory"

#include "server/inventory.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/delta.h"
#include "ward/vercmp.h"
#include "server/app.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"

#define KEY_MAX ((size_t)64 << 10)
#define ROW_MAX ((size_t)1 << 20)

/* ---- answers ---------------------------------------------------------------------------- */

static int answer(int *status, json_t **resp, int st, const char *code, const char *message)
{
    *status = st;
    *resp = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", message);
    return *resp ? 0 : WARD_ENOMEM;
}

static int hash_ok(const char *h)
{
    size_t n = 0;
    if (!h)
        return 0;
    for (; h[n]; n++)
        if (!((h[n] >= '0' && h[n] <= '9') || (h[n] >= 'a' && h[n] <= 'f')))
            return 0;
    return n == 64;
}

/* ---- loading ---------------------------------------------------------------------------- */

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* The stored hash into hash (65 bytes); WARD_ENOENT when the device has none. */
static int stored_hash(struct srv_app *app, const char *device_id, char *hash)
{
    sqlite3_stmt *st = NULL;
    int rc = ward_store_prepare(app->store, "SELECT hash FROM inventory WHERE device_id = ?1", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        snprintf(hash, INV_HASH_HEX_LEN, "%s", col_text(st, 0) ? col_text(st, 0) : "");
        rc = 0;
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    sqlite3_finalize(st);
    return rc;
}

/* Sections only (no "collection"), rows unsorted. */
static int load_sections(struct srv_app *app, const char *device_id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *doc = json_object();
    int rc;

    *out = NULL;
    if (!doc)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store, "SELECT tbl FROM inventory_tables WHERE device_id = ?1",
                            &st);
    if (rc == 0)
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    while (rc == 0 && (rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        const struct inv_table *t = inv_table_find(col_text(st, 0));
        rc = 0;
        if (t && !inv_doc_table_get(doc, t, 1))
            rc = WARD_ENOMEM;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == 0)
        rc = ward_store_prepare(app->store,
                                "SELECT tbl, row FROM inventory_rows WHERE device_id = ?1", &st);
    if (rc == 0)
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    while (rc == 0 && (rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        const struct inv_table *t = inv_table_find(col_text(st, 0));
        const char *text = col_text(st, 1);
        json_t *row = NULL, *tv;
        rc = 0;
        if (!t || !text)
            continue;
        tv = inv_doc_table_get(doc, t, 0);
        if (!tv)
            continue; /* a row without its table: not part of the document */
        rc = ward_json_loadb(text, strlen(text), NULL, &row, NULL);
        if (rc != 0 || !json_is_object(row)) {
            /* A damaged row is left out; the hash check then asks for a full upload. */
            WARD_WARN("device %s: unreadable stored %s row", device_id, t->name);
            json_decref(row);
            rc = rc == WARD_ENOMEM ? rc : 0;
            continue;
        }
        if (t->shape == INV_SHAPE_ARRAY)
            rc = json_array_append_new(tv, row) == 0 ? 0 : WARD_ENOMEM;
        else {
            rc = json_object_update(tv, row) == 0 ? 0 : WARD_ENOMEM;
            json_decref(row);
        }
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        json_decref(doc);
        return rc;
    }
    *out = doc;
    return 0;
}

int srv_inventory_load(struct srv_app *app, const char *device_id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *doc = NULL, *sorted = NULL, *coll = NULL;
    char hash[INV_HASH_HEX_LEN];
    int rc;

    *out = NULL;
    rc = stored_hash(app, device_id, hash);
    if (rc == 0)
        rc = load_sections(app, device_id, &doc);
    if (rc != 0)
        return rc;
    /* Schema order of sections and members, collector order of rows: what `ward inventory
     * --json` prints. */
    sorted = json_object();
    if (!sorted) {
        rc = WARD_ENOMEM;
        goto out;
    }
    for (size_t s = 0; inv_sections[s] && rc == 0; s++) {
        for (size_t i = 0; inv_sections[s]->tables[i] && rc == 0; i++) {
            const struct inv_table *t = inv_sections[s]->tables[i];
            json_t *v = inv_doc_table_get(doc, t, 0), *dst;
            if (!v)
                continue;
            if (t->shape == INV_SHAPE_ARRAY)
                rc = inv_table_sort(t, v);
            if (rc != 0)
                break;
            if (!t->member) {
                rc = json_object_set(sorted, t->section, v) == 0 ? 0 : WARD_ENOMEM;
                continue;
            }
            dst = json_object_get(sorted, t->section);
            if (!dst) {
                dst = json_object();
                if (!dst || json_object_set_new(sorted, t->section, dst) != 0) {
                    rc = WARD_ENOMEM;
                    break;
                }
            }
            rc = json_object_set(dst, t->member, v) == 0 ? 0 : WARD_ENOMEM;
        }
    }
    if (rc != 0)
        goto out;
    rc = ward_store_prepare(app->store, "SELECT collection FROM inventory WHERE device_id = ?1",
                            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
        if (ward_store_step(app->store, st) == WARD_STORE_ROW && col_text(st, 0) &&
            ward_json_loadb(col_text(st, 0), strlen(col_text(st, 0)), NULL, &coll, NULL) == 0 &&
            json_is_object(coll))
            rc = json_object_set(sorted, "collection", coll) == 0 ? 0 : WARD_ENOMEM;
    }
    if (rc == 0) {
        *out = sorted;
        sorted = NULL;
    }
out:
    sqlite3_finalize(st);
    json_decref(coll);
    json_decref(doc);
    json_decref(sorted);
    return rc;
}

/* ---- storing ---------------------------------------------------------------------------- */

static int exec_dev(struct srv_app *app, const char *sql, const char *device_id, const char *tbl,
                    const char *key, const char *row)
{
    sqlite3_stmt *st = NULL;
    int rc = ward_store_prepare(app->store, sql, &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    if (tbl)
        sqlite3_bind_text(st, 2, tbl, -1, SQLITE_STATIC);
    if (key)
        sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
    if (row)
        sqlite3_bind_text(st, 4, row, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    sqlite3_finalize(st);
    return rc;
}

static int put_row(struct srv_app *app, const char *device_id, const struct inv_table *t,
                   const json_t *row)
{
    struct ward_buf key, text;
    int rc;
    ward_buf_init(&key, KEY_MAX);
    ward_buf_init(&text, ROW_MAX);
    rc = inv_key_text(t, row, &key);
    if (rc == 0)
        rc = ward_json_dump_buf(row, WARD_JSON_SORT_KEYS, &text);
    if (rc == 0)
        rc = exec_dev(app,
                      "INSERT INTO inventory_rows(device_id, tbl, key, row) VALUES (?1, ?2, ?3, ?4)"
                      " ON CONFLICT(device_id, tbl, key) DO UPDATE SET row = excluded.row",
                      device_id, t->name, key.data, text.data);
    ward_buf_release(&key);
    ward_buf_release(&text);
    return rc;
}

static int put_table(struct srv_app *app, const char *device_id, const struct inv_table *t,
                     const json_t *v)
{
    int rc = exec_dev(app, "INSERT OR IGNORE INTO inventory_tables(device_id, tbl) VALUES (?1, ?2)",
                      device_id, t->name, NULL, NULL);
    if (rc != 0 || !v)
        return rc;
    if (t->shape == INV_SHAPE_OBJECT)
        return put_row(app, device_id, t, v);
    for (size_t i = 0; i < json_array_size(v) && rc == 0; i++)
        rc = put_row(app, device_id, t, json_array_get(v, i));
    return rc;
}

static int drop_table(struct srv_app *app, const char *device_id, const char *tbl)
{
    int rc = exec_dev(app, "DELETE FROM inventory_rows WHERE device_id = ?1 AND tbl = ?2",
                      device_id, tbl, NULL, NULL);
    if (rc == 0)
        rc = exec_dev(app, "DELETE FROM inventory_tables WHERE device_id = ?1 AND tbl = ?2",
                      device_id, tbl, NULL, NULL);
    return rc;
}

/* Mirrors an applied (and verified) delta in the rows. */
static int persist_changes(struct srv_app *app, const char *device_id, const json_t *changes)
{
    const char *name;
    json_t *ch;
    json_object_foreach((json_t *)(uintptr_t)changes, name, ch)
    {
        const struct inv_table *t = inv_table_find(name);
        json_t *present = json_object_get(ch, "present"), *v;
        size_t i;
        int rc = 0;
        if (!t)
            return WARD_EINVAL; /* inv_delta_apply accepted it: cannot happen */
        if (json_is_false(present)) {
            rc = drop_table(app, device_id, t->name);
            if (rc != 0)
                return rc;
            continue;
        }
        if (json_is_true(present))
            rc = put_table(app, device_id, t, NULL);
        json_array_foreach(json_object_get(ch, "removed"), i, v)
        {
            struct ward_buf key;
            if (rc != 0)
                break;
            ward_buf_init(&key, KEY_MAX);
            rc = ward_json_dump_buf(v, 0, &key);
            if (rc == 0)
                rc = exec_dev(app,
                              "DELETE FROM inventory_rows WHERE device_id = ?1 AND tbl = ?2"
                              " AND key = ?3",
                              device_id, t->name, key.data, NULL);
            ward_buf_release(&key);
        }
        json_array_foreach(json_object_get(ch, "changed"), i, v)
        {
            if (rc == 0)
                rc = put_row(app, device_id, t, v);
        }
        json_array_foreach(json_object_get(ch, "added"), i, v)
        {
            if (rc == 0)
                rc = put_row(app, device_id, t, v);
        }
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int replace_all(struct srv_app *app, const char *device_id, const json_t *sections)
{
    int rc = exec_dev(app, "DELETE FROM inventory_rows WHERE device_id = ?1", device_id, NULL, NULL,
                      NULL);
    if (rc == 0)
        rc = exec_dev(app, "DELETE FROM inventory_tables WHERE device_id = ?1", device_id, NULL,
                      NULL, NULL);
    for (size_t s = 0; inv_sections[s] && rc == 0; s++) {
        for (size_t i = 0; inv_sections[s]->tables[i] && rc == 0; i++) {
            const struct inv_table *t = inv_sections[s]->tables[i];
            const json_t *v = inv_doc_table_get((json_t *)(uintptr_t)sections, t, 0);
            if (v)
                rc = put_table(app, device_id, t, v);
        }
    }
    return rc;
}

struct upload_meta {
    const char *kind;
    const char *hash;
    const json_t *collection;
    size_t wire_bytes, body_bytes, changes;
};

static int save_state(struct srv_app *app, const char *device_id, const struct upload_meta *m)
{
    sqlite3_stmt *st = NULL;
    char *coll = NULL;
    int64_t now = srv_now();
    int full = strcmp(m->kind, "full") == 0;
    int rc = 0;

    if (json_is_object(m->collection))
        rc = ward_json_dumps(m->collection, 0, &coll, NULL);
    if (rc == 0)
        rc = ward_store_prepare(
            app->store,
            "INSERT INTO inventory(device_id, hash, collection, updated_at, full_at, uploads,"
            " full_uploads, last_kind, last_wire_bytes, last_body_bytes, last_changes)"
            " VALUES (?1, ?2, ?3, ?4, ?4, 1, 1, ?5, ?6, ?7, ?8)"
            " ON CONFLICT(device_id) DO UPDATE SET hash = excluded.hash,"
            " collection = excluded.collection, updated_at = excluded.updated_at,"
            " full_at = CASE WHEN ?9 THEN excluded.updated_at ELSE full_at END,"
            " uploads = uploads + 1, full_uploads = full_uploads + ?9,"
            " last_kind = excluded.last_kind, last_wire_bytes = excluded.last_wire_bytes,"
            " last_body_bytes = excluded.last_body_bytes, last_changes = excluded.last_changes",
            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, m->hash, -1, SQLITE_STATIC);
        if (coll)
            sqlite3_bind_text(st, 3, coll, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, now);
        sqlite3_bind_text(st, 5, m->kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)m->wire_bytes);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)m->body_bytes);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)m->changes);
        sqlite3_bind_int(st, 9, full);
        rc = ward_store_step(app->store, st);
    }
    sqlite3_finalize(st);
    ward_free(coll);
    return rc;
}

static void note_resync(struct srv_app *app, const char *device_id, const char *why)
{
    char detail[200];
    snprintf(detail, sizeof(detail), "%s", why);
    if (exec_dev(app, "UPDATE inventory SET resyncs = resyncs + 1 WHERE device_id = ?1", device_id,
                 NULL, NULL, NULL) != 0 ||
        srv_event(app, "inventory_resync", device_id, NULL, detail) != 0)
        WARD_WARN("device %s: cannot record the inventory resync", device_id);
    WARD_INFO("device %s: inventory resync requested: %s", device_id, why);
}

static size_t count_changes(const json_t *changes)
{
    const char *k;
    json_t *v;
    size_t n = 0;
    json_object_foreach((json_t *)(uintptr_t)changes, k, v)
    {
        n += json_array_size(json_object_get(v, "added")) +
             json_array_size(json_object_get(v, "removed")) +
             json_array_size(json_object_get(v, "changed")) +
             (json_is_false(json_object_get(v, "present")) ? 1 : 0);
    }
    return n;
}

static int ok_answer(int *status, json_t **resp, const char *hash, const char *applied)
{
    *status = 200;
    *resp = json_pack("{s:s, s:s}", "hash", hash, "applied", applied);
    return *resp ? 0 : WARD_ENOMEM;
}

static int upload_full(struct srv_app *app, const char *device_id, const json_t *req,
                       struct upload_meta *m, int *status, json_t **resp)
{
    json_t *sections = json_object_get(req, "sections");
    char err[256] = "", h[INV_HASH_HEX_LEN];
    int rc;

    rc = inv_sections_check(sections, err, sizeof(err));
    if (rc == WARD_EPARSE)
        return answer(status, resp, 400, "bad_request", err);
    if (rc == 0)
        rc = inv_doc_hash(sections, h);
    if (rc != 0)
        return rc == WARD_ENOMEM ? rc : answer(status, resp, 500, "internal", ward_strerror(rc));
    if (strcmp(h, m->hash) != 0) {
        /* The agent hashes the same text we do; disagreeing is a bug, not drift. */
        WARD_WARN("device %s: full inventory hash %.12s... but its rows hash to %.12s...",
                  device_id, m->hash, h);
        return answer(status, resp, 400, "bad_request",
                      "hash does not match the sections (see docs/protocol.md)");
    }
    rc = ward_store_begin(app->store);
    if (rc == 0)
        rc = replace_all(app, device_id, sections);
    if (rc == 0)
        rc = save_state(app, device_id, m);
    if (rc == 0)
        rc = ward_store_commit(app->store);
    else
        ward_store_rollback(app->store);
    if (rc != 0)
        return rc == WARD_ENOMEM
                   ? rc
                   : answer(status, resp, rc == WARD_EBUSY ? 503 : 500,
                            rc == WARD_EBUSY ? "unavailable" : "internal", ward_strerror(rc));
    WARD_INFO("device %s: full inventory stored (%zu bytes on the wire)", device_id, m->wire_bytes);
    return ok_answer(status, resp, m->hash, "full");
}

static int upload_delta(struct srv_app *app, const char *device_id, const json_t *req,
                        struct upload_meta *m, int *status, json_t **resp)
{
    const char *base = json_string_value(json_object_get(req, "base_hash"));
    json_t *changes = json_object_get(req, "changes"), *doc = NULL;
    char stored[INV_HASH_HEX_LEN], h[INV_HASH_HEX_LEN], err[256] = "", why[300];
    int rc, in_tx = 0;

    if (!hash_ok(base) || !json_is_object(changes))
        return answer(status, resp, 400, "bad_request",
                      "a delta needs base_hash (64 hex digits) and a changes object");
    rc = ward_store_begin(app->store);
    if (rc != 0)
        goto fail;
    in_tx = 1;
    rc = stored_hash(app, device_id, stored);
    if (rc == WARD_ENOENT) {
        ward_store_rollback(app->store);
        note_resync(app, device_id, "no stored inventory");
        return answer(status, resp, 409, "inventory_resync",
                      "no inventory stored for this device; send a full upload");
    }
    if (rc != 0)
        goto fail;
    if (strcmp(base, stored) != 0) {
        ward_store_rollback(app->store);
        if (strcmp(m->hash, stored) == 0) {
            /* The same delta again (its acknowledgement was lost): already applied. */
            return ok_answer(status, resp, stored, "already");
        }
        snprintf(why, sizeof(why), "base %.12s... is not the stored %.12s...", base, stored);
        note_resync(app, device_id, why);
        return answer(status, resp, 409, "inventory_resync",
                      "base_hash is not the stored document's hash; send a full upload");
    }
    rc = load_sections(app, device_id, &doc);
    if (rc != 0)
        goto fail;
    rc = inv_delta_apply(doc, changes, err, sizeof(err));
    if (rc == WARD_EPARSE) {
        ward_store_rollback(app->store);
        json_decref(doc);
        return answer(status, resp, 400, "bad_request", err);
    }
    if (rc == WARD_ESTATE) {
        ward_store_rollback(app->store);
        json_decref(doc);
        note_resync(app, device_id, err);
        return answer(status, resp, 409, "inventory_resync", err);
    }
    if (rc == 0)
        rc = inv_doc_hash(doc, h);
    json_decref(doc);
    if (rc != 0)
        goto fail;
    if (strcmp(h, m->hash) != 0) {
        ward_store_rollback(app->store);
        snprintf(why, sizeof(why), "after the delta the stored rows hash to %.12s..., not %.12s...",
                 h, m->hash);
        note_resync(app, device_id, why);
        return answer(status, resp, 409, "inventory_resync",
                      "the stored inventory differs from the device's; send a full upload");
    }
    m->changes = count_changes(changes);
    rc = persist_changes(app, device_id, changes);
    if (rc == 0)
        rc = save_state(app, device_id, m);
    if (rc == 0) {
        in_tx = 0;
        rc = ward_store_commit(app->store);
    }
    if (rc != 0)
        goto fail;
    WARD_DEBUG("device %s: inventory delta with %zu change(s) applied (%zu bytes on the wire)",
               device_id, m->changes, m->wire_bytes);
    return ok_answer(status, resp, m->hash, "delta");
fail:
    if (in_tx)
        ward_store_rollback(app->store);
    if (rc == WARD_ENOMEM)
        return rc;
    return answer(status, resp, rc == WARD_EBUSY ? 503 : 500,
                  rc == WARD_EBUSY ? "unavailable" : "internal", ward_strerror(rc));
}

int srv_inventory_upload(struct srv_app *app, const char *device_id, const json_t *req,
                         size_t wire_bytes, size_t body_bytes, int *status, json_t **resp)
{
    const char *kind = json_string_value(json_object_get(req, "kind"));
    struct upload_meta m;
    json_t *coll = json_object_get(req, "collection");

    *resp = NULL;
    memset(&m, 0, sizeof(m));
    m.kind = kind;
    m.hash = json_string_value(json_object_get(req, "hash"));
    m.collection = coll;
    m.wire_bytes = wire_bytes;
    m.body_bytes = body_bytes;
    if (!kind || (strcmp(kind, "full") != 0 && strcmp(kind, "delta") != 0))
        return answer(status, resp, 400, "bad_request", "kind must be \"full\" or \"delta\"");
    if (!hash_ok(m.hash))
        return answer(status, resp, 400, "bad_request", "hash must be 64 lowercase hex digits");
    if (coll && !json_is_object(coll))
        return answer(status, resp, 400, "bad_request", "collection must be an object");
    if (strcmp(kind, "full") == 0)
        return upload_full(app, device_id, req, &m, status, resp);
    return upload_delta(app, device_id, req, &m, status, resp);
}

/* ---- summary ---------------------------------------------------------------------------- */

static json_t *get_path(const json_t *doc, const char *section, const char *member, const char *col)
{
    const json_t *v = json_object_get(doc, section);
    if (member)
        v = json_object_get(v, member);
    return col ? json_object_get(v, col) : (json_t *)(uintptr_t)v;
}

static int set_copy(json_t *o, const char *k, const json_t *v)
{
    if (!v)
        return 0;
    return json_object_set(o, k, (json_t *)(uintptr_t)v) == 0 ? 0 : WARD_ENOMEM;
}

int srv_inventory_summary(struct srv_app *app, const char *device_id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *doc = NULL, *s = NULL, *disks = NULL, *apps = NULL, *row, *errors;
    const char *k;
    size_t i;
    int rc;

    *out = NULL;
    rc = srv_inventory_load(app, device_id, &doc);
    if (rc != 0)
        return rc;
    s = json_object();
    disks = json_array();
    apps = json_object();
    if (!s || !disks || !apps) {
        rc = WARD_ENOMEM;
        goto out;
    }
    rc |= set_copy(s, "vendor", get_path(doc, "system", NULL, "vendor"));
    rc |= set_copy(s, "model", get_path(doc, "system", NULL, "product"));
    rc |= set_copy(s, "chassis", get_path(doc, "system", NULL, "chassis_type"));
    rc |= set_copy(s, "cpu", get_path(doc, "cpu", NULL, "model"));
    rc |= set_copy(s, "cpu_cores", get_path(doc, "cpu", NULL, "cores"));
    rc |= set_copy(s, "cpu_threads", get_path(doc, "cpu", NULL, "threads"));
    rc |= set_copy(s, "memory_bytes", get_path(doc, "memory", NULL, "total_bytes"));
    rc |= set_copy(s, "os", get_path(doc, "os", NULL, "pretty_name"));
    rc |= set_copy(s, "kernel", get_path(doc, "os", NULL, "kernel"));
    rc |= set_copy(s, "hostname", get_path(doc, "os", NULL, "hostname"));
    rc |= set_copy(s, "root_encrypted", get_path(doc, "encryption", "summary", "root_encrypted"));
    rc |= set_copy(s, "tpm", get_path(doc, "tpm", NULL, "version"));
    json_array_foreach(get_path(doc, "disks", "devices", NULL), i, row)
    {
        const char *kind = json_string_value(json_object_get(row, "kind"));
        json_t *d;
        if (!kind || strcmp(kind, "disk") != 0)
            continue;
        d = json_object();
        if (!d || json_array_append_new(disks, d) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
        rc |= set_copy(d, "name", json_object_get(row, "name"));
        rc |= set_copy(d, "size_bytes", json_object_get(row, "size_bytes"));
        rc |= set_copy(d, "model", json_object_get(row, "model"));
        rc |= set_copy(d, "transport", json_object_get(row, "transport"));
    }
    json_array_foreach(json_object_get(doc, "apps"), i, row)
    {
        const char *src = json_string_value(json_object_get(row, "source"));
        json_t *n = src ? json_object_get(apps, src) : NULL;
        if (!src)
            continue;
        rc |= json_object_set_new(apps, src, json_integer(n ? json_integer_value(n) + 1 : 1)) == 0
                  ? 0
                  : WARD_ENOMEM;
    }
    rc |= json_object_set_new(
        apps, "total", json_integer((json_int_t)json_array_size(json_object_get(doc, "apps"))));
    rc |= json_object_set(s, "disks", disks);
    if (json_object_get(doc, "apps"))
        rc |= json_object_set(s, "apps", apps);
    errors = json_array();
    {
        json_t *v;
        json_object_foreach(json_object_get(json_object_get(doc, "collection"), "errors"), k, v)
        {
            if (errors)
                json_array_append_new(errors, json_string(k));
        }
    }
    rc |= errors && json_object_set_new(s, "collection_errors", errors) == 0 ? 0 : WARD_ENOMEM;
    if (rc != 0) {
        rc = WARD_ENOMEM;
        goto out;
    }
    rc = ward_store_prepare(app->store,
                            "SELECT hash, updated_at, full_at, uploads, full_uploads, resyncs,"
                            " last_kind, last_wire_bytes, last_body_bytes, last_changes"
                            " FROM inventory WHERE device_id = ?1",
                            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
        rc = ward_store_step(app->store, st);
        if (rc == WARD_STORE_ROW) {
            char up[32], full[32];
            json_t *meta;
            srv_time_iso(sqlite3_column_int64(st, 1), up, sizeof(up));
            srv_time_iso(sqlite3_column_int64(st, 2), full, sizeof(full));
            meta = json_pack("{s:s?, s:s, s:s, s:I, s:I, s:I, s:{s:s?, s:I, s:I, s:I}}", "hash",
                             col_text(st, 0), "updated_at", up, "full_at", full, "uploads",
                             (json_int_t)sqlite3_column_int64(st, 3), "full_uploads",
                             (json_int_t)sqlite3_column_int64(st, 4), "resyncs",
                             (json_int_t)sqlite3_column_int64(st, 5), "last_upload", "kind",
                             col_text(st, 6), "wire_bytes", (json_int_t)sqlite3_column_int64(st, 7),
                             "body_bytes", (json_int_t)sqlite3_column_int64(st, 8), "changes",
                             (json_int_t)sqlite3_column_int64(st, 9));
            rc = meta && json_object_update(s, meta) == 0 ? 0 : WARD_ENOMEM;
            json_decref(meta);
        } else if (rc == 0) {
            rc = WARD_ENOENT;
        }
    }
    if (rc == 0) {
        *out = s;
        s = NULL;
    }
out:
    sqlite3_finalize(st);
    json_decref(doc);
    json_decref(s);
    json_decref(disks);
    json_decref(apps);
    return rc;
}

/* ---- queries ---------------------------------------------------------------------------- */

static int cerr(char *err, size_t errlen, const char *fmt, ...) WARD_PRINTF(3, 4);
static int cerr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return WARD_EINVAL;
}

/* "8G" -> 8 * 2^30; plain integers too. */
static int parse_int(const char *s, long long *out)
{
    char *end;
    long long v, mult = 1;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno || end == s)
        return WARD_EINVAL;
    if (*end) {
        switch (*end) {
        case 'K':
            mult = 1LL << 10;
            break;
        case 'M':
            mult = 1LL << 20;
            break;
        case 'G':
            mult = 1LL << 30;
            break;
        case 'T':
            mult = 1LL << 40;
            break;
        default:
            return WARD_EINVAL;
        }
        if (end[1] && strcmp(end + 1, "i") != 0 && strcmp(end + 1, "iB") != 0 &&
            strcmp(end + 1, "B") != 0)
            return WARD_EINVAL;
        if (v > INT64_MAX / mult || v < INT64_MIN / mult)
            return WARD_EINVAL;
    }
    *out = v * mult;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "1") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "0") == 0)
        *out = 0;
    else
        return WARD_EINVAL;
    return 0;
}

int srv_inv_cond_parse(const char *text, struct srv_inv_cond *out, char *err, size_t errlen)
{
    static const struct {
        const char *tok;
        enum srv_inv_op op;
    } ops[] = {{"!=", SRV_INV_NE}, {"<=", SRV_INV_LE}, {">=", SRV_INV_GE}, {"=", SRV_INV_EQ},
               {"<", SRV_INV_LT},  {">", SRV_INV_GT},  {"~", SRV_INV_GLOB}};
    char ident[160], tname[128];
    const char *p = text, *dot, *val;
    size_t n;
    long long iv;
    int bv;

    memset(out, 0, sizeof(*out));
    if (!text)
        return WARD_EINVAL;
    while (*p && strchr("!<>=~ ", *p) == NULL)
        p++;
    n = (size_t)(p - text);
    if (n == 0 || n >= sizeof(ident))
        return cerr(err, errlen, "'%s': want TABLE.COLUMN OP VALUE", text);
    memcpy(ident, text, n);
    ident[n] = '\0';
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        size_t l = strlen(ops[i].tok);
        if (strncmp(p, ops[i].tok, l) == 0) {
            out->op = ops[i].op;
            p += l;
            goto have_op;
        }
    }
    return cerr(err, errlen, "'%s': no operator (one of = != < <= > >= ~)", text);
have_op:
    while (*p == ' ')
        p++;
    val = p;
    dot = strrchr(ident, '.');
    if (!dot || dot == ident || (size_t)(dot - ident) >= sizeof(tname))
        return cerr(err, errlen, "'%s': want TABLE.COLUMN, e.g. apps.version", ident);
    memcpy(tname, ident, (size_t)(dot - ident));
    tname[dot - ident] = '\0';
    out->table = inv_table_find(tname);
    if (!out->table)
        return cerr(err, errlen, "unknown table '%s' (see docs/inventory.md)", tname);
    for (const struct inv_column *c = out->table->columns; c->name; c++)
        if (strcmp(c->name, dot + 1) == 0)
            out->column = c;
    if (!out->column)
        return cerr(err, errlen, "table %s has no column '%s'", tname, dot + 1);
    if (strlen(val) >= sizeof(out->value))
        return cerr(err, errlen, "'%s': value too long", text);
    snprintf(out->value, sizeof(out->value), "%s", val);
    switch (out->column->type) {
    case INV_STRING:
        return 0;
    case INV_INT:
        if (out->op == SRV_INV_GLOB || parse_int(val, &iv) != 0)
            return cerr(err, errlen, "%s is an integer column; '%s' does not compare",
                        out->column->name, val);
        return 0;
    case INV_REAL: {
        char *end;
        (void)strtod(val, &end);
        if (out->op == SRV_INV_GLOB || end == val || *end)
            return cerr(err, errlen, "%s is a number column; '%s' does not compare",
                        out->column->name, val);
        return 0;
    }
    case INV_BOOL:
        if ((out->op != SRV_INV_EQ && out->op != SRV_INV_NE) || parse_bool(val, &bv) != 0)
            return cerr(err, errlen, "%s is a bool column: use = or != with true or false (%s)",
                        out->column->name, val);
        return 0;
    }
    return WARD_EINVAL;
}

static int ordered(enum srv_inv_op op, int c)
{
    switch (op) {
    case SRV_INV_EQ:
        return c == 0;
    case SRV_INV_NE:
        return c != 0;
    case SRV_INV_LT:
        return c < 0;
    case SRV_INV_LE:
        return c <= 0;
    case SRV_INV_GT:
        return c > 0;
    case SRV_INV_GE:
        return c >= 0;
    case SRV_INV_GLOB:
        return 0;
    }
    return 0;
}

int srv_inv_cond_match(const struct srv_inv_cond *cond, const json_t *row)
{
    const json_t *v = json_object_get(row, cond->column->name);
    if (!v)
        return 0;
    switch (cond->column->type) {
    case INV_STRING: {
        const char *s = json_string_value(v);
        if (!s)
            return 0;
        if (cond->op == SRV_INV_GLOB)
            return fnmatch(cond->value, s, 0) == 0;
        if (cond->op == SRV_INV_EQ || cond->op == SRV_INV_NE)
            return ordered(cond->op, strcmp(s, cond->value));
        /* Ordering on strings is package version order (the row's source decides which). */
        return ordered(cond->op, ward_vercmp(json_string_value(json_object_get(row, "source")), s,
                                             cond->value));
    }
    case INV_INT: {
        long long want = 0, have;
        if (!json_is_integer(v) || parse_int(cond->value, &want) != 0)
            return 0;
        have = json_integer_value(v);
        return ordered(cond->op, (have > want) - (have < want));
    }
    case INV_REAL: {
        double want = strtod(cond->value, NULL), have;
        if (!json_is_number(v))
            return 0;
        have = json_number_value(v);
        return ordered(cond->op, (have > want) - (have < want));
    }
    case INV_BOOL: {
        int want = 0;
        if (!json_is_boolean(v) || parse_bool(cond->value, &want) != 0)
            return 0;
        return ordered(cond->op, json_is_true(v) != want);
    }
    }
    return 0;
}

/* Rows of one table of one device matching every condition on that table. The first
 * string equality is pushed into SQL so `--package openssl` does not parse every row. */
static int match_table(struct srv_app *app, const char *device_id, const struct srv_inv_cond *conds,
                       size_t n, const struct inv_table *t, json_t *matches)
{
    const struct srv_inv_cond *eq = NULL;
    sqlite3_stmt *st = NULL;
    char path[96];
    int rc;

    for (size_t i = 0; i < n; i++)
        if (conds[i].table == t && conds[i].op == SRV_INV_EQ &&
            conds[i].column->type == INV_STRING) {
            eq = &conds[i];
            break;
        }
    rc = ward_store_prepare(app->store,
                            eq ? "SELECT row FROM inventory_rows WHERE device_id = ?1 AND"
                                 " tbl = ?2 AND json_extract(row, ?3) = ?4 ORDER BY key"
                               : "SELECT row FROM inventory_rows WHERE device_id = ?1 AND"
                                 " tbl = ?2 ORDER BY key",
                            &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, t->name, -1, SQLITE_STATIC);
    if (eq) {
        snprintf(path, sizeof(path), "$.\"%s\"", eq->column->name);
        sqlite3_bind_text(st, 3, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, eq->value, -1, SQLITE_STATIC);
    }
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        const char *text = col_text(st, 0);
        json_t *row = NULL;
        int all = 1;
        if (!text || ward_json_loadb(text, strlen(text), NULL, &row, NULL) != 0)
            continue;
        for (size_t i = 0; i < n && all; i++)
            if (conds[i].table == t)
                all = srv_inv_cond_match(&conds[i], row);
        if (all && json_array_append(matches, row) != 0) {
            json_decref(row);
            rc = WARD_ENOMEM;
            break;
        }
        json_decref(row);
    }
    sqlite3_finalize(st);
    return rc;
}

int srv_inventory_find(struct srv_app *app, const struct srv_inv_cond *conds, size_t n,
                       json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store,
                            "SELECT i.device_id, d.hostname FROM inventory i JOIN devices d"
                            " ON d.device_id = i.device_id ORDER BY i.device_id",
                            &st);
    while (rc == 0 && (rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        const char *dev = col_text(st, 0);
        json_t *matches = json_object(), *d;
        int all = 1;
        rc = matches ? 0 : WARD_ENOMEM;
        for (size_t i = 0; i < n && rc == 0 && all; i++) {
            json_t *rows;
            int seen = 0;
            for (size_t k = 0; k < i; k++)
                seen |= conds[k].table == conds[i].table;
            if (seen)
                continue;
            rows = json_array();
            if (!rows || json_object_set_new(matches, conds[i].table->name, rows) != 0) {
                rc = WARD_ENOMEM;
                break;
            }
            rc = match_table(app, dev, conds, n, conds[i].table, rows);
            all = json_array_size(rows) > 0;
        }
        if (rc == 0 && all) {
            d = json_pack("{s:s, s:s?, s:O}", "device_id", dev, "hostname", col_text(st, 1),
                          "matches", matches);
            if (!d || json_array_append_new(arr, d) != 0)
                rc = WARD_ENOMEM;
        }
        json_decref(matches);
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return 0;
}

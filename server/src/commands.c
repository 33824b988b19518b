/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed commands. Each command gets the device's next sequence number inside the same
 * transaction that stores it, and is signed once, at issue time, with the service's Ed25519
 * key: the envelope stored is exactly what every later delivery sends, byte for byte.
 */
#define WARD_LOG_TAG "srv-command"

#include <stdio.h>
#include <string.h>

#include "server/app.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"

/* Types this version of the protocol knows (docs/protocol.md); later work adds more. */
static const char *const known_types[] = {"ping", "sync", "unenroll", "inventory", NULL};

static int type_known(const char *t)
{
    for (const char *const *k = known_types; *k; k++)
        if (strcmp(*k, t) == 0)
            return 1;
    return 0;
}

/* Builds the signed envelope JSON text for a payload. *out new. */
static int sign_envelope(struct srv_app *app, const char *payload, size_t len, char **out)
{
    uint8_t sig[WARD_ED25519_SIG_LEN];
    char *p64 = NULL, *s64 = NULL;
    json_t *env = NULL;
    int rc;

    *out = NULL;
    if ((rc = ward_ed25519_sign(app->command_key, payload, len, sig)) != 0 ||
        (rc = ward_base64_encode(payload, len, 0, &p64)) != 0 ||
        (rc = ward_base64_encode(sig, sizeof(sig), 0, &s64)) != 0)
        goto out;
    env = json_pack("{s:s, s:s, s:s}", "payload", p64, "signature", s64, "key", "online");
    if (!env) {
        rc = WARD_ENOMEM;
        goto out;
    }
    rc = ward_json_dumps(env, 0, out, NULL);
out:
    json_decref(env);
    ward_free(p64);
    ward_free(s64);
    return rc;
}

int srv_command_send(struct srv_app *app, const char *device_id, const char *type, json_t *params,
                     long ttl, json_t **out)
{
    uint8_t idb[12];
    char hex[2 * sizeof(idb) + 1], command_id[32], issued[32], expires[32], detail[96];
    char *payload = NULL, *envelope = NULL, *params_text = NULL;
    sqlite3_stmt *st = NULL;
    json_t *pl = NULL;
    int64_t now = srv_now(), seq = 0;
    size_t plen = 0;
    int in_tx = 0, rc;

    *out = NULL;
    if (!type_known(type)) {
        WARD_ERROR("unknown command type '%s' (known: ping, sync, unenroll, inventory)", type);
        return WARD_EINVAL;
    }
    if (params && !json_is_object(params))
        return WARD_EINVAL;
    if (ttl <= 0)
        ttl = app->settings.command_ttl;
    if ((rc = ward_random_bytes(idb, sizeof(idb))) != 0 ||
        (rc = ward_hex_encode(idb, sizeof(idb), hex, sizeof(hex))) != 0)
        return rc;
    snprintf(command_id, sizeof(command_id), "c-%s", hex);
    srv_time_iso(now, issued, sizeof(issued));
    srv_time_iso(now + ttl, expires, sizeof(expires));

    if ((rc = ward_store_begin(app->store)) != 0)
        return rc;
    in_tx = 1;
    rc = ward_store_prepare(app->store,
                            "UPDATE devices SET next_seq = next_seq + 1 WHERE device_id = ?1"
                            " AND revoked_at IS NULL RETURNING next_seq - 1",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        seq = sqlite3_column_int64(st, 0);
        rc = ward_store_step(app->store, st);
    } else if (rc == 0) {
        rc = WARD_ENOENT; /* no such device, or revoked */
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != 0)
        goto out;

    /* "o" steals the reference, so hand it a new one either way. */
    pl = json_pack("{s:s, s:s, s:I, s:s, s:o, s:s, s:s}", "command_id", command_id, "device_id",
                   device_id, "seq", (json_int_t)seq, "type", type, "params",
                   params ? json_incref(params) : json_object(), "issued_at", issued, "expires_at",
                   expires);
    if (!pl) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if ((rc = ward_json_dumps(pl, 0, &payload, &plen)) != 0 ||
        (rc = sign_envelope(app, payload, plen, &envelope)) != 0 ||
        (rc = ward_json_dumps(json_object_get(pl, "params"), WARD_JSON_SORT_KEYS, &params_text,
                              NULL)) != 0)
        goto out;
    rc = ward_store_prepare(app->store,
                            "INSERT INTO commands(command_id, device_id, seq, type, params,"
                            " issued_at, expires_at, envelope) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                            " ?7, ?8)",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, command_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, seq);
    sqlite3_bind_text(st, 4, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, params_text, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, now);
    sqlite3_bind_int64(st, 7, now + ttl);
    sqlite3_bind_text(st, 8, envelope, -1, SQLITE_STATIC);
    if ((rc = ward_store_step(app->store, st)) != 0)
        goto out;
    snprintf(detail, sizeof(detail), "%s %s seq %lld", command_id, type, (long long)seq);
    if ((rc = srv_event(app, "command_send", device_id, NULL, detail)) != 0 ||
        (rc = ward_store_commit(app->store)) != 0)
        goto out;
    in_tx = 0;
    *out = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "command_id", command_id, "device_id",
                     device_id, "seq", (json_int_t)seq, "type", type, "issued_at", issued,
                     "expires_at", expires);
    rc = *out ? 0 : WARD_ENOMEM;
out:
    if (in_tx)
        ward_store_rollback(app->store);
    sqlite3_finalize(st);
    json_decref(pl);
    ward_free(payload);
    ward_free(envelope);
    ward_free(params_text);
    return rc;
}

int srv_command_list(struct srv_app *app, const char *device_id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int64_t now = srv_now();
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store,
                            "SELECT command_id, device_id, seq, type, params, issued_at,"
                            " expires_at, status, delivered_at, finished_at, result FROM commands"
                            " WHERE ?1 IS NULL OR device_id = ?1 ORDER BY issued_at DESC,"
                            " seq DESC LIMIT 1000",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        char issued[32], expires[32], delivered[32], finished[32];
        const char *status = (const char *)sqlite3_column_text(st, 7);
        const char *result = (const char *)sqlite3_column_text(st, 10);
        json_t *c, *params = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
        json_t *res = result ? json_loads(result, 0, NULL) : NULL;
        srv_time_iso(sqlite3_column_int64(st, 5), issued, sizeof(issued));
        srv_time_iso(sqlite3_column_int64(st, 6), expires, sizeof(expires));
        srv_time_iso(sqlite3_column_int64(st, 8), delivered, sizeof(delivered));
        srv_time_iso(sqlite3_column_int64(st, 9), finished, sizeof(finished));
        if ((strcmp(status, "queued") == 0 || strcmp(status, "delivered") == 0) &&
            sqlite3_column_int64(st, 6) <= now)
            status = "expired";
        c = json_pack("{s:s, s:s, s:I, s:s, s:o?, s:s, s:s, s:s, s:s?, s:s?, s:o?}", "command_id",
                      (const char *)sqlite3_column_text(st, 0), "device_id",
                      (const char *)sqlite3_column_text(st, 1), "seq",
                      (json_int_t)sqlite3_column_int64(st, 2), "type",
                      (const char *)sqlite3_column_text(st, 3), "params", params, "issued_at",
                      issued, "expires_at", expires, "status", status, "delivered_at",
                      delivered[0] ? delivered : NULL, "finished_at", finished[0] ? finished : NULL,
                      "result", res);
        if (!c || json_array_append_new(arr, c) != 0) {
            rc = WARD_ENOMEM;
            goto out;
        }
    }
    if (rc == 0) {
        *out = arr;
        arr = NULL;
    }
out:
    sqlite3_finalize(st);
    json_decref(arr);
    return rc;
}

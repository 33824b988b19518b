/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrollment tokens. The string an administrator hands out is "ward1." + base64url of
 * {"url", "secret", "ca_pin"}; the secret is "<id>.<64 hex digits>". The server keeps the
 * id and SHA-256 of the secret only, with expiry, allowed uses and revocation, so a stolen
 * database does not yield usable tokens. Secrets are compared in constant time.
 */
#define WARD_LOG_TAG "srv-token"

#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "server/app.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"

#define ID_BYTES 4
#define SECRET_BYTES 32

static const char *const grant_names[] = {"full_wipe", "scripts", "packages", NULL};

int srv_grants_normalize(const char *grants, int personal, char *out, size_t outlen, char *msg,
                         size_t msglen)
{
    int seen[3] = {0, 0, 0};
    size_t used = 0;

    if (outlen)
        out[0] = '\0';
    if (msglen)
        msg[0] = '\0';
    if (!grants)
        grants = personal ? "none" : "full_wipe,scripts,packages";
    if (strcmp(grants, "none") == 0)
        return 0;
    for (const char *p = grants; *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        int k = -1;
        for (int i = 0; grant_names[i]; i++)
            if (strlen(grant_names[i]) == n && strncmp(grant_names[i], p, n) == 0)
                k = i;
        if (k < 0) {
            snprintf(msg, msglen,
                     "unknown grant '%.*s' (known: full_wipe, scripts, packages, none)",
                     (int)(n > 40 ? 40 : n), p);
            return WARD_EINVAL;
        }
        if (personal && k < 2) {
            snprintf(msg, msglen, "a personal device never accepts %s; grant it packages at most",
                     grant_names[k]);
            return WARD_EINVAL;
        }
        seen[k] = 1;
        p = e ? e + 1 : p + n;
    }
    for (int i = 0; grant_names[i]; i++) {
        if (!seen[i])
            continue;
        int w = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", grant_names[i]);
        if (w < 0 || (size_t)w >= outlen - used)
            return WARD_ETOOBIG;
        used += (size_t)w;
    }
    return 0;
}

int srv_token_create(struct srv_app *app, const struct srv_token_opts *o, char **token_out,
                     char **id_out)
{
    uint8_t idb[ID_BYTES], sec[SECRET_BYTES], hash[WARD_SHA256_LEN];
    char id[2 * ID_BYTES + 1], sechex[2 * SECRET_BYTES + 1];
    char secret[sizeof(id) + sizeof(sechex) + 1];
    char *json = NULL, *b64 = NULL, *token = NULL;
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    int64_t now = srv_now();
    long ttl = o->ttl ? o->ttl : app->settings.token_ttl;
    int uses = o->uses ? o->uses : 1;
    char grants[64], msg[160];
    size_t n;
    int rc;

    *token_out = NULL;
    *id_out = NULL;
    if (uses < 1 || ttl < 1 ||
        srv_grants_normalize(o->grants, o->personal, grants, sizeof(grants), msg, sizeof(msg)) != 0)
        return WARD_EINVAL;
    if ((rc = ward_random_bytes(idb, sizeof(idb))) != 0 ||
        (rc = ward_random_bytes(sec, sizeof(sec))) != 0 ||
        (rc = ward_hex_encode(idb, sizeof(idb), id, sizeof(id))) != 0 ||
        (rc = ward_hex_encode(sec, sizeof(sec), sechex, sizeof(sechex))) != 0)
        goto out;
    snprintf(secret, sizeof(secret), "%s.%s", id, sechex);
    if ((rc = ward_sha256(secret, strlen(secret), hash)) != 0)
        goto out;

    rc = ward_store_prepare(app->store,
                            "INSERT INTO tokens(id, secret_hash, label, created_at, expires_at,"
                            " uses_allowed, ownership, grants) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
                            " ?7, ?8)",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, hash, sizeof(hash), SQLITE_STATIC);
    sqlite3_bind_text(st, 3, o->label, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now);
    sqlite3_bind_int64(st, 5, now + ttl);
    sqlite3_bind_int(st, 6, uses);
    sqlite3_bind_text(st, 7, o->personal ? "personal" : "corporate", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, grants, -1, SQLITE_TRANSIENT);
    if ((rc = ward_store_step(app->store, st)) != 0)
        goto out;

    j = json_pack("{s:s, s:s, s:s}", "url", app->settings.url, "secret", secret, "ca_pin",
                  app->ca_pin);
    if (!j) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if ((rc = ward_json_dumps(j, 0, &json, &n)) != 0 ||
        (rc = ward_base64_encode(json, n, WARD_BASE64_URL, &b64)) != 0)
        goto out;
    n = strlen(b64) + 7;
    token = ward_malloc(n);
    *id_out = ward_strdup(id);
    if (!token || !*id_out) {
        rc = WARD_ENOMEM;
        goto out;
    }
    snprintf(token, n, "ward1.%s", b64);
    *token_out = token;
    token = NULL;
    srv_event(app, "token_create", NULL, id, o->label);
out:
    sqlite3_finalize(st);
    json_decref(j);
    if (json)
        OPENSSL_cleanse(json, strlen(json));
    OPENSSL_cleanse(secret, sizeof(secret));
    OPENSSL_cleanse(sechex, sizeof(sechex));
    OPENSSL_cleanse(sec, sizeof(sec));
    ward_free(json);
    ward_free(b64);
    ward_free(token);
    if (rc != 0) {
        ward_free(*id_out);
        *id_out = NULL;
    }
    return rc;
}

int srv_token_redeem(struct srv_app *app, const char *secret, char **token_id)
{
    uint8_t hash[WARD_SHA256_LEN];
    const char *dot = strchr(secret, '.');
    char id[2 * ID_BYTES + 1];
    sqlite3_stmt *st = NULL;
    int64_t now = srv_now();
    int rc;

    *token_id = NULL;
    if (!dot || dot - secret != 2 * ID_BYTES || strlen(dot + 1) != 2 * SECRET_BYTES)
        return WARD_ENOENT;
    memcpy(id, secret, 2 * ID_BYTES);
    id[2 * ID_BYTES] = '\0';
    if ((rc = ward_sha256(secret, strlen(secret), hash)) != 0)
        return rc;
    rc = ward_store_prepare(app->store,
                            "SELECT secret_hash, expires_at, uses_allowed, uses, revoked_at"
                            " FROM tokens WHERE id = ?1",
                            &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc != WARD_STORE_ROW) {
        rc = rc == 0 ? WARD_ENOENT : rc;
        goto out;
    }
    if (sqlite3_column_bytes(st, 0) != WARD_SHA256_LEN ||
        CRYPTO_memcmp(sqlite3_column_blob(st, 0), hash, WARD_SHA256_LEN) != 0) {
        rc = WARD_ENOENT;
        goto out;
    }
    /* The secret is right: from here on the id may be named in the audit trail. */
    *token_id = ward_strdup(id);
    if (!*token_id) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (sqlite3_column_type(st, 4) != SQLITE_NULL)
        rc = WARD_EREVOKED;
    else if (sqlite3_column_int64(st, 1) <= now)
        rc = WARD_EEXPIRED;
    else if (sqlite3_column_int64(st, 3) >= sqlite3_column_int64(st, 2))
        rc = WARD_ETOOBIG;
    else
        rc = 0;
    sqlite3_finalize(st);
    st = NULL;
    if (rc != 0)
        goto out;
    rc = ward_store_prepare(app->store, "UPDATE tokens SET uses = uses + 1 WHERE id = ?1", &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = ward_store_step(app->store, st);
    }
out:
    sqlite3_finalize(st);
    return rc;
}

int srv_token_revoke(struct srv_app *app, const char *id)
{
    sqlite3_stmt *st = NULL;
    int rc = ward_store_prepare(
        app->store, "UPDATE tokens SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, srv_now());
    rc = ward_store_step(app->store, st);
    if (rc == 0 && sqlite3_changes(ward_store_db(app->store)) == 0)
        rc = WARD_ENOENT;
    sqlite3_finalize(st);
    if (rc == 0)
        srv_event(app, "token_revoke", NULL, id, NULL);
    return rc;
}

int srv_token_list(struct srv_app *app, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int64_t now = srv_now();
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store,
                            "SELECT id, label, created_at, expires_at, uses_allowed, uses,"
                            " revoked_at, ownership, grants FROM tokens ORDER BY created_at, id",
                            &st);
    if (rc != 0)
        goto out;
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        char created[32], expires[32];
        const char *state;
        int64_t exp = sqlite3_column_int64(st, 3);
        srv_time_iso(sqlite3_column_int64(st, 2), created, sizeof(created));
        srv_time_iso(exp, expires, sizeof(expires));
        if (sqlite3_column_type(st, 6) != SQLITE_NULL)
            state = "revoked";
        else if (exp <= now)
            state = "expired";
        else if (sqlite3_column_int(st, 5) >= sqlite3_column_int(st, 4))
            state = "used_up";
        else
            state = "active";
        json_t *t = json_pack("{s:s, s:s?, s:s, s:s, s:i, s:i, s:s, s:s, s:s}", "id",
                              (const char *)sqlite3_column_text(st, 0), "label",
                              (const char *)sqlite3_column_text(st, 1), "created_at", created,
                              "expires_at", expires, "uses_allowed", sqlite3_column_int(st, 4),
                              "uses", sqlite3_column_int(st, 5), "state", state, "ownership",
                              (const char *)sqlite3_column_text(st, 7), "grants",
                              (const char *)sqlite3_column_text(st, 8));
        if (!t || json_array_append_new(arr, t) != 0) {
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

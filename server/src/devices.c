/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Devices: enrollment (token redeemed, device certificate issued from the device's own CSR,
 * all in one transaction so a failed enrollment consumes nothing), identification from the
 * verified client certificate (current or, within the grace period, previous serial; never
 * a revoked one), check-in with pending commands, renewal, and command results.
 */
#define WARD_LOG_TAG "srv-device"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "server/app.h"
#include "server/offline.h"
#include "server/baselines.h"
#include "server/commands.h"
#include "server/inventory.h"
#include "server/pki.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"

#define MAX_COMMANDS_PER_CHECKIN 100

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Only EC P-256 device keys are accepted: what ward generates, and what the TLS stack and
 * the documentation promise. */
static int csr_key_ok(X509_REQ *req)
{
    EVP_PKEY *pub = ward_csr_pubkey(req);
    char group[64];
    size_t glen = 0;
    if (!pub || !EVP_PKEY_is_a(pub, "EC"))
        return 0;
    if (!EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen))
        return 0;
    return strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0;
}

static int new_id(const char *prefix, char *out, size_t outlen)
{
    uint8_t b[12];
    char hex[2 * sizeof(b) + 1];
    int rc = ward_random_bytes(b, sizeof(b));
    if (rc == 0)
        rc = ward_hex_encode(b, sizeof(b), hex, sizeof(hex));
    if (rc == 0)
        snprintf(out, outlen, "%s%s", prefix, hex);
    return rc;
}

/* Issues a client certificate for device_id from the CSR's key; fills serial and validity. */
static int issue_device_cert(struct srv_app *app, X509_REQ *req, const char *device_id, X509 **cert,
                             char **serial, time_t *nb, time_t *na)
{
    int rc = srv_pki_issue(app->ca_cert, app->ca_key, ward_csr_pubkey(req), device_id, NULL, 0,
                           app->settings.device_cert_ttl, cert);
    if (rc == 0)
        rc = ward_x509_serial_hex(*cert, serial);
    if (rc == 0)
        rc = ward_x509_validity(*cert, nb, na);
    return rc;
}

static int insert_cert(struct srv_app *app, const char *serial, const char *device_id, time_t nb,
                       time_t na)
{
    sqlite3_stmt *st = NULL;
    int rc = ward_store_prepare(app->store,
                                "INSERT INTO certs(serial, device_id, not_before, not_after,"
                                " issued_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                                &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)nb);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)na);
    sqlite3_bind_int64(st, 5, srv_now());
    rc = ward_store_step(app->store, st);
    sqlite3_finalize(st);
    return rc;
}

static const char *token_code(int rc)
{
    switch (rc) {
    case WARD_EEXPIRED:
        return "token_expired";
    case WARD_EREVOKED:
        return "token_revoked";
    case WARD_ETOOBIG:
        return "token_used_up";
    case WARD_ENOENT:
        return "token_invalid";
    default:
        return "internal";
    }
}

/* The token's ownership and grants (inside the enrollment's transaction). */
static int token_grants(struct srv_app *app, const char *token_id, char *own, size_t ownlen,
                        char *grants, size_t grantslen)
{
    sqlite3_stmt *st = NULL;
    int rc =
        ward_store_prepare(app->store, "SELECT ownership, grants FROM tokens WHERE id = ?1", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, token_id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        snprintf(own, ownlen, "%s", (const char *)sqlite3_column_text(st, 0));
        snprintf(grants, grantslen, "%s", (const char *)sqlite3_column_text(st, 1));
        rc = 0;
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    sqlite3_finalize(st);
    return rc;
}

/* "a,b" as ["a", "b"] (new; an empty array for ""). */
static json_t *grants_array(const char *grants)
{
    json_t *arr = json_array();
    for (const char *p = grants; arr && p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        json_array_append_new(arr, json_stringn(p, n));
        p = e ? e + 1 : p + n;
    }
    return arr;
}

int srv_enroll(struct srv_app *app, const struct srv_enroll_req *r, json_t **resp,
               const char **code)
{
    X509_REQ *req = NULL;
    X509 *cert = NULL;
    char device_id[64], *token_id = NULL, *serial = NULL, *pem = NULL, *offline_pub = NULL;
    char now_iso[32], detail[160], ownership[16], grants[64];
    char offline_fp[SRV_OFFLINE_FP_LEN + 1] = "";
    sqlite3_stmt *st = NULL;
    time_t nb = 0, na = 0;
    int in_tx = 0, rc;

    *resp = NULL;
    *code = "internal";
    rc = ward_csr_parse(r->csr_pem, r->csr_len, &req);
    if (rc != 0 || !csr_key_ok(req)) {
        *code = "bad_csr";
        rc = rc ? rc : WARD_EINVAL;
        goto out;
    }
    if ((rc = ward_store_begin(app->store)) != 0)
        goto out;
    in_tx = 1;
    rc = srv_token_redeem(app, r->token, &token_id);
    if (rc != 0) {
        *code = token_code(rc);
        ward_store_rollback(app->store);
        in_tx = 0;
        snprintf(detail, sizeof(detail), "%s from %s", *code, r->peer_addr ? r->peer_addr : "?");
        srv_event(app, "enroll_refused", NULL, token_id, detail);
        goto out;
    }
    if ((rc = token_grants(app, token_id, ownership, sizeof(ownership), grants, sizeof(grants))) !=
        0)
        goto out;
    rc = srv_offline_key_current(app, &offline_pub, offline_fp, sizeof(offline_fp));
    if (rc != 0 && rc != WARD_ENOENT)
        goto out;
    if ((rc = new_id("d-", device_id, sizeof(device_id))) != 0 ||
        (rc = issue_device_cert(app, req, device_id, &cert, &serial, &nb, &na)) != 0)
        goto out;
    rc = ward_store_prepare(app->store,
                            "INSERT INTO devices(device_id, hostname, machine_id, os,"
                            " agent_version, enrolled_at, token_id, cert_serial, cert_not_after,"
                            " last_addr, ownership, grants, offline_key) VALUES (?1, ?2, ?3, ?4,"
                            " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, r->hostname, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, r->machine_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->os, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->agent_version, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, srv_now());
    sqlite3_bind_text(st, 7, token_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 8, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)na);
    sqlite3_bind_text(st, 10, r->peer_addr, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 11, ownership, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, grants, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, offline_pub ? offline_fp : NULL, -1, SQLITE_STATIC);
    if ((rc = ward_store_step(app->store, st)) != 0 ||
        (rc = insert_cert(app, serial, device_id, nb, na)) != 0)
        goto out;
    snprintf(detail, sizeof(detail), "serial %s, host %s", serial, r->hostname ? r->hostname : "?");
    if ((rc = srv_event(app, "enroll", device_id, token_id, detail)) != 0 ||
        (rc = ward_x509_to_pem(cert, &pem, NULL)) != 0)
        goto out;
    srv_time_iso(srv_now(), now_iso, sizeof(now_iso));
    *resp =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:o, s:s*}", "device_id", device_id,
                  "certificate", pem, "ca", app->ca_pem, "command_key", app->command_pub_b64,
                  "server_url", app->settings.url, "checkin_interval",
                  (json_int_t)app->settings.checkin_interval, "server_time", now_iso, "ownership",
                  ownership, "capabilities", grants_array(grants), "offline_key", offline_pub);
    if (!*resp) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if ((rc = ward_store_commit(app->store)) != 0) {
        json_decref(*resp);
        *resp = NULL;
        goto out;
    }
    in_tx = 0;
    WARD_INFO("enrolled %s (%s) with token %s", device_id, r->hostname ? r->hostname : "?",
              token_id);
out:
    if (in_tx)
        ward_store_rollback(app->store);
    sqlite3_finalize(st);
    X509_REQ_free(req);
    X509_free(cert);
    ward_free(token_id);
    ward_free(serial);
    ward_free(pem);
    ward_free(offline_pub);
    return rc;
}

int srv_device_auth(struct srv_app *app, X509 *cert, char **device_id)
{
    char *serial = NULL, *cn = NULL;
    sqlite3_stmt *st = NULL;
    int rc;

    *device_id = NULL;
    if (!cert)
        return WARD_EACCES;
    if ((rc = ward_x509_serial_hex(cert, &serial)) != 0 ||
        (rc = ward_x509_subject_cn(cert, &cn)) != 0)
        goto out;
    rc = srv_stmt(app,
                  "SELECT device_id, cert_serial, prev_cert_serial, prev_valid_until,"
                  " revoked_at FROM devices WHERE device_id = ?1",
                  &st);
    if (rc != 0)
        goto out;
    /* The CA puts the device id in the CN, so this is a primary-key lookup; the serial is
     * then checked against the current and (within its grace period) the previous one. */
    sqlite3_bind_text(st, 1, cn, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc != WARD_STORE_ROW) {
        rc = rc == 0 ? WARD_EREVOKED : rc;
        goto out;
    }
    if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
        rc = WARD_EREVOKED;
        goto out;
    }
    if (strcmp(col_text(st, 1), serial) != 0 &&
        (sqlite3_column_type(st, 2) == SQLITE_NULL || strcmp(col_text(st, 2), serial) != 0 ||
         sqlite3_column_int64(st, 3) <= srv_now())) {
        rc = WARD_EREVOKED; /* an older certificate, or a superseded one past its grace */
        goto out;
    }
    *device_id = ward_strdup(col_text(st, 0));
    rc = *device_id ? 0 : WARD_ENOMEM;
    if (rc == 0 && strcmp(col_text(st, 1), serial) == 0 &&
        sqlite3_column_type(st, 2) != SQLITE_NULL) {
        /* First use of a renewed certificate retires the previous one at once. */
        srv_stmt_done(app, st);
        st = NULL;
        rc = ward_store_prepare(app->store,
                                "UPDATE devices SET prev_cert_serial = NULL,"
                                " prev_valid_until = NULL WHERE device_id = ?1",
                                &st);
        if (rc == 0) {
            sqlite3_bind_text(st, 1, *device_id, -1, SQLITE_STATIC);
            rc = ward_store_step(app->store, st);
        }
    }
out:
    srv_stmt_done(app, st);
    ward_free(serial);
    ward_free(cn);
    if (rc != 0) {
        ward_free(*device_id);
        *device_id = NULL;
    }
    return rc;
}

/* Pending commands for the device above seq_high, oldest first, marked delivered. */
static int pending_commands(struct srv_app *app, const char *device_id, long long seq_high,
                            json_t *arr)
{
    sqlite3_stmt *st = NULL;
    int64_t now = srv_now();
    int rc = srv_stmt(app,
                      "SELECT envelope FROM commands WHERE device_id = ?1 AND seq > ?2"
                      " AND status IN ('queued', 'delivered') AND expires_at > ?3"
                      " ORDER BY seq LIMIT ?4",
                      &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq_high);
    sqlite3_bind_int64(st, 3, now);
    sqlite3_bind_int(st, 4, MAX_COMMANDS_PER_CHECKIN);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        const char *env = col_text(st, 0);
        json_t *e = json_loads(env, 0, NULL);
        if (!e || json_array_append_new(arr, e) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
    }
    srv_stmt_done(app, st);
    if (rc != 0 || json_array_size(arr) == 0)
        return rc;
    rc = srv_stmt(app,
                  "UPDATE commands SET status = 'delivered', delivered_at = ?3"
                  " WHERE device_id = ?1 AND seq > ?2 AND status = 'queued'"
                  " AND expires_at > ?3",
                  &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq_high);
    sqlite3_bind_int64(st, 3, now);
    rc = ward_store_step(app->store, st);
    srv_stmt_done(app, st);
    return rc;
}

int srv_checkin(struct srv_app *app, const char *device_id, const json_t *req,
                const char *peer_addr, json_t **resp)
{
    const char *version = NULL, *hostname = NULL;
    long long seq_high = 0;
    sqlite3_stmt *st = NULL;
    json_t *cmds = NULL, *baselines = NULL;
    char now_iso[32];
    int64_t now = srv_now(), not_after = 0;
    int rc;

    *resp = NULL;
    /* Optional fields; a wrong type is the agent's bug, reported as bad_request upstream. */
    if ((rc = ward_json_get_int(req, "$", "seq_high", 0, 0, INT64_MAX, &seq_high, NULL)) != 0 ||
        (rc = ward_json_get_str(req, "$", "agent_version", 0, &version, NULL)) != 0 ||
        (rc = ward_json_get_str(req, "$", "hostname", 0, &hostname, NULL)) != 0)
        return WARD_EINVAL;
    cmds = json_array();
    baselines = json_array();
    if (!cmds || !baselines) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if ((rc = ward_store_begin(app->store)) != 0)
        goto out;
    rc = srv_stmt(app,
                  "UPDATE devices SET last_checkin = ?2, last_addr = ?3,"
                  " checkins = checkins + 1, seq_high = MAX(seq_high, ?4),"
                  " agent_version = COALESCE(?5, agent_version),"
                  " hostname = COALESCE(?6, hostname) WHERE device_id = ?1"
                  " RETURNING cert_not_after",
                  &st);
    if (rc != 0)
        goto fail;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    sqlite3_bind_text(st, 3, peer_addr, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, seq_high);
    sqlite3_bind_text(st, 5, version, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, hostname, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        not_after = sqlite3_column_int64(st, 0);
        rc = ward_store_step(app->store, st);
    } else if (rc == 0) {
        rc = WARD_EREVOKED;
    }
    srv_stmt_done(app, st);
    st = NULL;
    if (rc != 0)
        goto fail;
    if ((rc = pending_commands(app, device_id, seq_high, cmds)) != 0 ||
        (rc = srv_baselines_for_device(app, device_id, baselines)) != 0)
        goto fail;
    if ((rc = ward_store_commit(app->store)) != 0)
        goto fail;
    srv_time_iso(now, now_iso, sizeof(now_iso));
    *resp = json_pack("{s:I, s:s, s:O, s:b, s:O}", "checkin_interval",
                      (json_int_t)app->settings.checkin_interval, "server_time", now_iso,
                      "commands", cmds, "renew",
                      not_after - now < app->settings.device_cert_ttl / 3, "baselines", baselines);
    rc = *resp ? 0 : WARD_ENOMEM;
    goto out;
fail:
    ward_store_rollback(app->store);
out:
    json_decref(cmds);
    json_decref(baselines);
    return rc;
}

int srv_has_pending(struct srv_app *app, const char *device_id, long long seq_high)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (srv_stmt(app,
                 "SELECT 1 FROM commands WHERE device_id = ?1 AND seq > ?2 AND"
                 " status IN ('queued', 'delivered') AND expires_at > ?3 LIMIT 1",
                 &st) != 0)
        return 0;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, seq_high);
    sqlite3_bind_int64(st, 3, srv_now());
    found = ward_store_step(app->store, st) == WARD_STORE_ROW;
    srv_stmt_done(app, st);
    return found;
}

int srv_renew(struct srv_app *app, const char *device_id, const char *csr_pem, size_t len,
              json_t **resp, const char **code)
{
    X509_REQ *req = NULL;
    X509 *cert = NULL;
    char *serial = NULL, *pem = NULL;
    sqlite3_stmt *st = NULL;
    time_t nb = 0, na = 0;
    int in_tx = 0, rc;

    *resp = NULL;
    *code = "internal";
    rc = ward_csr_parse(csr_pem, len, &req);
    if (rc != 0 || !csr_key_ok(req)) {
        *code = "bad_csr";
        rc = rc ? rc : WARD_EINVAL;
        goto out;
    }
    if ((rc = issue_device_cert(app, req, device_id, &cert, &serial, &nb, &na)) != 0 ||
        (rc = ward_x509_to_pem(cert, &pem, NULL)) != 0 || (rc = ward_store_begin(app->store)) != 0)
        goto out;
    in_tx = 1;
    rc = ward_store_prepare(app->store,
                            "UPDATE devices SET prev_cert_serial = cert_serial,"
                            " prev_valid_until = ?2, cert_serial = ?3, cert_not_after = ?4"
                            " WHERE device_id = ?1 AND revoked_at IS NULL",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, srv_now() + app->settings.renew_grace);
    sqlite3_bind_text(st, 3, serial, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)na);
    if ((rc = ward_store_step(app->store, st)) != 0)
        goto out;
    if (sqlite3_changes(ward_store_db(app->store)) != 1) {
        rc = WARD_EREVOKED;
        *code = "device_revoked";
        goto out;
    }
    if ((rc = insert_cert(app, serial, device_id, nb, na)) != 0 ||
        (rc = srv_event(app, "renew", device_id, NULL, serial)) != 0)
        goto out;
    *resp = json_pack("{s:s, s:s}", "certificate", pem, "ca", app->ca_pem);
    if (!*resp) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if ((rc = ward_store_commit(app->store)) != 0) {
        json_decref(*resp);
        *resp = NULL;
        goto out;
    }
    in_tx = 0;
    WARD_INFO("renewed certificate of %s: serial %s", device_id, serial);
out:
    if (in_tx)
        ward_store_rollback(app->store);
    sqlite3_finalize(st);
    X509_REQ_free(req);
    X509_free(cert);
    ward_free(serial);
    ward_free(pem);
    return rc;
}

/* Stores one result: 0 when stored now, or when the command already holds a final result
 * or this very result (acknowledged again, not overwritten), WARD_ENOENT when the command
 * is not this device's, WARD_EINVAL when the entry is malformed. A non-final result
 * (accepted, running) replaces a queued, delivered or non-final state; a final one
 * replaces anything but a final one (server/commands.h). */
/* A selective_wipe result: the receipt the device signed, checked against the key of the
 * certificate it presented, kept in the device record with whether it verified. */
static int keep_receipt(struct srv_app *app, const char *device_id, EVP_PKEY *key,
                        const char *command_id, const json_t *res)
{
    const json_t *out = json_object_get(res, "output");
    const char *text = json_string_value(json_object_get(out, "receipt"));
    const char *sig = json_string_value(json_object_get(out, "signature"));
    json_t *receipt, *kept;
    sqlite3_stmt *st = NULL;
    char *kept_text = NULL;
    int verified, rc;

    if (!text || !sig)
        return 0;
    verified = key && ward_verify_sha256(key, text, strlen(text), sig) == 0;
    receipt = json_loads(text, 0, NULL);
    if (!json_is_object(receipt) || !json_is_string(json_object_get(receipt, "command_id")) ||
        strcmp(json_string_value(json_object_get(receipt, "command_id")), command_id) != 0)
        verified = 0; /* a receipt for another command proves nothing about this one */
    kept = json_pack("{s:s, s:b, s:O?, s:O?, s:s, s:s}", "command_id", command_id, "verified",
                     verified, "wiped_at", json_object_get(receipt, "wiped_at"), "removed",
                     json_object_get(receipt, "removed"), "receipt", text, "signature", sig);
    json_decref(receipt);
    rc = kept ? ward_json_dumps(kept, WARD_JSON_SORT_KEYS, &kept_text, NULL) : WARD_ENOMEM;
    json_decref(kept);
    if (rc == 0)
        rc = ward_store_prepare(app->store,
                                "UPDATE devices SET wipe_receipt = ?2 WHERE device_id = ?1", &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, kept_text, -1, SQLITE_STATIC);
        rc = ward_store_step(app->store, st);
    }
    sqlite3_finalize(st);
    ward_free(kept_text);
    if (rc == 0 && !verified)
        WARD_WARN("device %s: the selective-wipe receipt of %s does not verify", device_id,
                  command_id);
    return rc;
}

static int store_result(struct srv_app *app, const char *device_id, EVP_PKEY *key, json_t *res,
                        const char **command_id)
{
    const char *status = NULL;
    sqlite3_stmt *st = NULL;
    char *text = NULL, *cur = NULL, *cur_result = NULL;
    int64_t now = srv_now();
    int rc, final, is_wipe = 0;

    *command_id = NULL;
    if (ward_json_get_str(res, NULL, "command_id", WARD_JSON_REQUIRED, command_id, NULL) != 0 ||
        ward_json_get_str(res, NULL, "status", WARD_JSON_REQUIRED, &status, NULL) != 0 ||
        !srv_result_status_known(status))
        return WARD_EINVAL;
    final = srv_result_status_final(status);
    rc = ward_store_prepare(app->store,
                            "SELECT status, result, type FROM commands WHERE command_id = ?1 AND"
                            " device_id = ?2",
                            &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, *command_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, device_id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc != WARD_STORE_ROW) {
        sqlite3_finalize(st);
        return rc == 0 ? WARD_ENOENT : rc;
    }
    is_wipe = col_text(st, 2) && strcmp(col_text(st, 2), "selective_wipe") == 0;
    cur = ward_strdup(col_text(st, 0));
    rc = cur ? 0 : WARD_ENOMEM;
    if (rc == 0 && col_text(st, 1) && !(cur_result = ward_strdup(col_text(st, 1))))
        rc = WARD_ENOMEM;
    sqlite3_finalize(st);
    st = NULL;
    if (rc != 0)
        goto out;
    if (!srv_result_may_replace(cur, status)) {
        rc = 0; /* a final result is kept: acknowledged again, not overwritten */
        goto out;
    }
    if ((rc = ward_json_dumps(res, WARD_JSON_SORT_KEYS, &text, NULL)) != 0)
        goto out;
    if (cur_result && strcmp(cur_result, text) == 0) {
        rc = 0; /* the same progress report again (its acknowledgement was lost) */
        goto out;
    }
    rc = ward_store_prepare(app->store,
                            "UPDATE commands SET status = ?3, result = ?4, result_at = ?5,"
                            " finished_at = CASE WHEN ?6 THEN ?5 ELSE NULL END"
                            " WHERE command_id = ?1 AND device_id = ?2",
                            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, *command_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, status, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, now);
        sqlite3_bind_int(st, 6, final);
        rc = ward_store_step(app->store, st);
    }
    sqlite3_finalize(st);
    if (rc == 0 && is_wipe && final)
        rc = keep_receipt(app, device_id, key, *command_id, res);
    if (rc == 0) {
        char detail[96];
        snprintf(detail, sizeof(detail), "%s %s", *command_id, status);
        rc = srv_event(app, "command_result", device_id, NULL, detail);
    }
out:
    ward_free(text);
    ward_free(cur);
    ward_free(cur_result);
    return rc;
}

int srv_results(struct srv_app *app, const char *device_id, EVP_PKEY *device_key, const json_t *req,
                json_t **resp)
{
    json_t *results = NULL, *ack = json_array(), *rejected = json_array(), *res;
    size_t i;
    int rc;

    *resp = NULL;
    if (!ack || !rejected) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (ward_json_get_array(req, "$", "results", WARD_JSON_REQUIRED, &results, NULL) != 0) {
        rc = WARD_EINVAL;
        goto out;
    }
    if ((rc = ward_store_begin(app->store)) != 0)
        goto out;
    json_array_foreach(results, i, res)
    {
        const char *id = NULL;
        int r =
            json_is_object(res) ? store_result(app, device_id, device_key, res, &id) : WARD_EINVAL;
        if (r == 0) {
            json_array_append_new(ack, json_string(id));
        } else if (r == WARD_ENOENT || r == WARD_EINVAL) {
            if (id)
                json_array_append_new(rejected, json_string(id));
        } else {
            rc = r;
            ward_store_rollback(app->store);
            goto out;
        }
    }
    if ((rc = ward_store_commit(app->store)) != 0)
        goto out;
    *resp = json_pack("{s:O, s:O}", "ack", ack, "rejected", rejected);
    rc = *resp ? 0 : WARD_ENOMEM;
out:
    json_decref(ack);
    json_decref(rejected);
    return rc;
}

static json_t *device_row(sqlite3_stmt *st)
{
    char enrolled[32], last[32], na[32], revoked[32];
    srv_time_iso(sqlite3_column_int64(st, 4), enrolled, sizeof(enrolled));
    srv_time_iso(sqlite3_column_int64(st, 5), last, sizeof(last));
    srv_time_iso(sqlite3_column_int64(st, 7), na, sizeof(na));
    srv_time_iso(sqlite3_column_int64(st, 8), revoked, sizeof(revoked));
    const char *receipt = col_text(st, 16);
    return json_pack("{s:s, s:s?, s:s?, s:s?, s:s, s:s?, s:s, s:s, s:s?, s:I, s:I, s:s?, s:s?,"
                     " s:s, s:o, s:s?, s:o?}",
                     "device_id", col_text(st, 0), "hostname", col_text(st, 1), "os",
                     col_text(st, 2), "agent_version", col_text(st, 3), "enrolled_at", enrolled,
                     "last_checkin", last[0] ? last : NULL, "cert_serial", col_text(st, 6),
                     "cert_not_after", na, "revoked_at", revoked[0] ? revoked : NULL, "checkins",
                     (json_int_t)sqlite3_column_int64(st, 9), "pending_commands",
                     (json_int_t)sqlite3_column_int64(st, 10), "machine_id", col_text(st, 11),
                     "last_addr", col_text(st, 12), "ownership", col_text(st, 13), "grants",
                     grants_array(col_text(st, 14)), "offline_key", col_text(st, 15),
                     "wipe_receipt", receipt ? json_loads(receipt, 0, NULL) : NULL);
}

#define DEVICE_COLUMNS                                                                             \
    "d.device_id, d.hostname, d.os, d.agent_version, d.enrolled_at, d.last_checkin,"               \
    " d.cert_serial, d.cert_not_after, d.revoked_at, d.checkins,"                                  \
    " (SELECT COUNT(*) FROM commands c WHERE c.device_id = d.device_id AND"                        \
    "  c.status IN ('queued', 'delivered')), d.machine_id, d.last_addr, d.ownership, d.grants,"    \
    " d.offline_key, d.wipe_receipt"

int srv_device_list(struct srv_app *app, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc;

    *out = NULL;
    if (!arr)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store,
                            "SELECT " DEVICE_COLUMNS " FROM devices d ORDER BY d.enrolled_at,"
                            " d.device_id",
                            &st);
    while (rc == 0 && (rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        json_t *d = device_row(st);
        if (!d || json_array_append_new(arr, d) != 0)
            rc = WARD_ENOMEM;
        else
            rc = 0;
    }
    sqlite3_finalize(st);
    if (rc == 0)
        *out = arr;
    else
        json_decref(arr);
    return rc;
}

int srv_device_resolve(struct srv_app *app, const char *id, char **out)
{
    sqlite3_stmt *st = NULL;
    size_t n = strlen(id);
    int rc, matches = 0;

    *out = NULL;
    if (n < 4)
        return WARD_EINVAL;
    rc = ward_store_prepare(app->store,
                            "SELECT device_id FROM devices WHERE device_id = ?1 OR"
                            " substr(device_id, 1, ?2) = ?1 ORDER BY device_id = ?1 DESC LIMIT 2",
                            &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        if (matches == 0) {
            *out = ward_strdup(col_text(st, 0));
            if (!*out) {
                rc = WARD_ENOMEM;
                break;
            }
            if (strcmp(*out, id) == 0) {
                rc = 0;
                matches = 1;
                break;
            }
        }
        matches++;
    }
    sqlite3_finalize(st);
    if (rc == 0 && matches != 1)
        rc = matches == 0 ? WARD_ENOENT : WARD_EBUSY; /* EBUSY: ambiguous prefix */
    if (rc != 0) {
        ward_free(*out);
        *out = NULL;
    }
    return rc;
}

int srv_device_show(struct srv_app *app, const char *device_id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *d = NULL, *certs = NULL, *events = NULL;
    int rc;

    *out = NULL;
    rc = ward_store_prepare(app->store,
                            "SELECT " DEVICE_COLUMNS " FROM devices d WHERE d.device_id = ?1", &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        d = device_row(st);
        rc = d ? 0 : WARD_ENOMEM;
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != 0)
        goto out;
    certs = json_array();
    events = json_array();
    if (!certs || !events) {
        rc = WARD_ENOMEM;
        goto out;
    }
    rc = ward_store_prepare(app->store,
                            "SELECT serial, not_before, not_after, revoked_at FROM certs WHERE"
                            " device_id = ?1 ORDER BY issued_at DESC, not_after DESC",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        char nb[32], na[32];
        srv_time_iso(sqlite3_column_int64(st, 1), nb, sizeof(nb));
        srv_time_iso(sqlite3_column_int64(st, 2), na, sizeof(na));
        json_array_append_new(certs, json_pack("{s:s, s:s, s:s, s:b}", "serial", col_text(st, 0),
                                               "not_before", nb, "not_after", na, "revoked",
                                               sqlite3_column_type(st, 3) != SQLITE_NULL));
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc != 0)
        goto out;
    rc = ward_store_prepare(app->store,
                            "SELECT at, kind, detail FROM events WHERE device_id = ?1"
                            " ORDER BY id DESC LIMIT 20",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        char at[32];
        srv_time_iso(sqlite3_column_int64(st, 0), at, sizeof(at));
        json_array_append_new(events, json_pack("{s:s, s:s, s:s?}", "at", at, "kind",
                                                col_text(st, 1), "detail", col_text(st, 2)));
    }
    if (rc != 0)
        goto out;
    json_object_set(d, "certificates", certs);
    json_object_set(d, "events", events);
    {
        json_t *inv = NULL;
        rc = srv_inventory_summary(app, device_id, &inv);
        if (rc == WARD_ENOENT)
            rc = 0;
        if (rc != 0)
            goto out;
        json_object_set_new(d, "inventory", inv ? inv : json_null());
    }
    *out = d;
    d = NULL;
out:
    sqlite3_finalize(st);
    json_decref(d);
    json_decref(certs);
    json_decref(events);
    return rc;
}

int srv_device_revoke(struct srv_app *app, const char *device_id)
{
    sqlite3_stmt *st = NULL;
    int64_t now = srv_now();
    int rc = ward_store_begin(app->store);
    if (rc != 0)
        return rc;
    rc = ward_store_prepare(app->store,
                            "UPDATE devices SET revoked_at = ?2 WHERE device_id = ?1 AND"
                            " revoked_at IS NULL",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    if ((rc = ward_store_step(app->store, st)) != 0)
        goto out;
    if (sqlite3_changes(ward_store_db(app->store)) == 0) {
        rc = WARD_ENOENT;
        goto out;
    }
    sqlite3_finalize(st);
    st = NULL;
    rc = ward_store_prepare(app->store,
                            "UPDATE certs SET revoked_at = ?2 WHERE device_id = ?1 AND"
                            " revoked_at IS NULL",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now);
    if ((rc = ward_store_step(app->store, st)) != 0 ||
        (rc = srv_event(app, "device_revoke", device_id, NULL, NULL)) != 0)
        goto out;
    sqlite3_finalize(st);
    st = NULL;
    rc = ward_store_commit(app->store);
out:
    sqlite3_finalize(st);
    if (rc != 0)
        ward_store_rollback(app->store);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Baselines on the service: versioned documents, assignments (a device id or "*" for every
 * device, so devices enrolled later get fleet-wide baselines too), the per-device view the
 * check-in hands out, and compliance reports, of which the latest evaluation per device and
 * baseline is kept. Documents are stored as the exact bytes the administrator gave, and
 * their SHA-256 travels in the check-in, so the agent can tell a changed or tampered
 * document from the one it holds.
 */
#define WARD_LOG_TAG "srv-baseline"

#include "server/baselines.h"

#include <stdio.h>
#include <string.h>

#include "server/app.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

#define ID_MAX 128
#define ALL_DEVICES "*"

static const char *const result_names[] = {"KEPT", "REPAIRED", "FAILED", "DENIED", "SKIPPED"};
#define N_RESULTS (sizeof(result_names) / sizeof(result_names[0]))

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* Letters, digits and ._:- (the engine's rule for baseline ids). */
static int id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ID_MAX)
        return 0;
    for (; *s; s++) {
        char c = *s;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

static void set_msg(char *msg, size_t msglen, const char *path, const char *text)
{
    if (msg && msglen)
        snprintf(msg, msglen, "%s: %s", path, text);
}

/* ---- documents -------------------------------------------------------------------------- */

/* The outer shape only: the schema of the settings is the agents' business. */
static int check_shape(const json_t *doc, const char **id, long long *version, size_t *n,
                       const char **mode, char *msg, size_t msglen)
{
    struct ward_json_error e;
    json_t *settings = NULL, *s;
    const char *m = NULL;
    size_t i;

    memset(&e, 0, sizeof(e));
    if (!json_is_object(doc)) {
        set_msg(msg, msglen, "$", "a baseline is a JSON object");
        return WARD_EPARSE;
    }
    if (ward_json_get_str(doc, "$", "id", WARD_JSON_REQUIRED, id, &e) != 0 ||
        ward_json_get_int(doc, "$", "version", WARD_JSON_REQUIRED, 1, INT64_MAX, version, &e) !=
            0 ||
        ward_json_get_array(doc, "$", "settings", WARD_JSON_REQUIRED, &settings, &e) != 0 ||
        ward_json_get_str(doc, "$", "mode", 0, &m, &e) != 0) {
        set_msg(msg, msglen, e.path, e.text);
        return WARD_EPARSE;
    }
    if (!id_ok(*id)) {
        set_msg(msg, msglen, "$.id", "letters, digits and ._:- only, 1 to 128 characters");
        return WARD_EPARSE;
    }
    if (m && strcmp(m, "audit") != 0 && strcmp(m, "enforce") != 0) {
        set_msg(msg, msglen, "$.mode", "must be \"audit\" or \"enforce\"");
        return WARD_EPARSE;
    }
    if (json_array_size(settings) > SRV_BASELINE_MAX_SETTINGS) {
        set_msg(msg, msglen, "$.settings", "more than 10000 settings");
        return WARD_EPARSE;
    }
    json_array_foreach(settings, i, s)
    {
        char path[WARD_JSON_PATH_MAX];
        const char *sid = NULL, *kind = NULL;
        ward_json_path_index(path, sizeof(path), "$.settings", i);
        if (!json_is_object(s)) {
            set_msg(msg, msglen, path, "a setting is a JSON object");
            return WARD_EPARSE;
        }
        if (ward_json_get_str(s, path, "id", WARD_JSON_REQUIRED, &sid, &e) != 0 ||
            ward_json_get_str(s, path, "kind", WARD_JSON_REQUIRED, &kind, &e) != 0) {
            set_msg(msg, msglen, e.path, e.text);
            return WARD_EPARSE;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(json_string_value(json_object_get(json_array_get(settings, k), "id")),
                       sid) == 0) {
                char p2[WARD_JSON_PATH_MAX + 8];
                snprintf(p2, sizeof(p2), "%s.id", path);
                set_msg(msg, msglen, p2, "duplicate setting id");
                return WARD_EPARSE;
            }
        }
    }
    *n = json_array_size(settings);
    *mode = m ? m : "audit";
    return 0;
}

int srv_baseline_put(struct srv_app *app, const char *buf, size_t len, json_t **out, char *msg,
                     size_t msglen)
{
    struct ward_json_limits lim = {.max_bytes = SRV_BASELINE_MAX_BYTES,
                                   .max_depth = SRV_BASELINE_MAX_DEPTH};
    struct ward_json_error e;
    json_t *doc = NULL;
    const char *id = NULL, *mode = NULL, *desc = NULL;
    long long version = 0, have = 0;
    uint8_t dg[WARD_SHA256_LEN];
    char sha[WARD_SHA256_HEX_SIZE], detail[256];
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    if (msg && msglen)
        msg[0] = '\0';
    memset(&e, 0, sizeof(e));
    rc = ward_json_loadb(buf, len, &lim, &doc, &e);
    if (rc != 0) {
        if (rc == WARD_ETOOBIG)
            set_msg(msg, msglen, "$", "document larger than 4 MiB");
        else if (e.line > 0) {
            char t[WARD_JSON_TEXT_MAX + 48];
            snprintf(t, sizeof(t), "%s (line %d, column %d)", e.text, e.line, e.column);
            set_msg(msg, msglen, e.path, t);
        } else {
            set_msg(msg, msglen, e.path[0] ? e.path : "$", e.text[0] ? e.text : ward_strerror(rc));
        }
        return rc;
    }
    if ((rc = check_shape(doc, &id, &version, &n, &mode, msg, msglen)) != 0)
        goto out;
    if (ward_json_get_str(doc, "$", "description", 0, &desc, NULL) != 0)
        desc = NULL;
    if ((rc = ward_sha256(buf, len, dg)) != 0 ||
        (rc = ward_hex_encode(dg, sizeof(dg), sha, sizeof(sha))) != 0)
        goto out;
    if ((rc = ward_store_begin(app->store)) != 0)
        goto out;
    rc = ward_store_prepare(app->store, "SELECT MAX(version) FROM baselines WHERE id = ?1", &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        rc = ward_store_step(app->store, st);
        if (rc == WARD_STORE_ROW) {
            have = sqlite3_column_int64(st, 0);
            rc = 0;
        }
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == 0 && have >= version) {
        char t[96];
        snprintf(t, sizeof(t), "version %lld is not above the stored version %lld", version, have);
        set_msg(msg, msglen, "$.version", t);
        rc = WARD_EEXIST;
    }
    if (rc == 0)
        rc = ward_store_prepare(app->store,
                                "INSERT INTO baselines(id, version, sha256, document, description,"
                                " mode, settings, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                                " ?8)",
                                &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, version);
        sqlite3_bind_text(st, 3, sha, -1, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, buf, (int)len, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, desc, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, mode, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, (sqlite3_int64)n);
        sqlite3_bind_int64(st, 8, srv_now());
        rc = ward_store_step(app->store, st);
    }
    sqlite3_finalize(st);
    snprintf(detail, sizeof(detail), "%s version %lld (%zu settings, %s, sha256 %.12s)", id,
             version, n, mode, sha);
    if (rc == 0)
        rc = srv_event(app, "baseline_put", NULL, NULL, detail);
    if (rc == 0)
        rc = ward_store_commit(app->store);
    if (rc != 0) {
        ward_store_rollback(app->store);
        goto out;
    }
    *out = json_pack("{s:s, s:I, s:s, s:I, s:s}", "id", id, "version", (json_int_t)version,
                     "sha256", sha, "settings", (json_int_t)n, "mode", mode);
    rc = *out ? 0 : WARD_ENOMEM;
out:
    json_decref(doc);
    return rc;
}

static int assignments_json(struct srv_app *app, const char *id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *a = json_array();
    int rc;
    *out = NULL;
    if (!a)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store,
                            "SELECT target FROM baseline_assignments WHERE baseline_id = ?1"
                            " ORDER BY target",
                            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW)
            if (json_array_append_new(a, json_string(col_text(st, 0))) != 0) {
                rc = WARD_ENOMEM;
                break;
            }
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

int srv_baseline_list(struct srv_app *app, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *list = json_array();
    char t[32];
    int rc;

    *out = NULL;
    if (!list)
        return WARD_ENOMEM;
    rc = ward_store_prepare(app->store,
                            "SELECT id, version, sha256, mode, settings, description, created_at,"
                            " (SELECT COUNT(*) FROM baselines v WHERE v.id = b.id)"
                            " FROM baselines b WHERE version = (SELECT MAX(version) FROM baselines"
                            " v WHERE v.id = b.id) ORDER BY id",
                            &st);
    while (rc == 0 && (rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        json_t *assigned = NULL, *o;
        rc = assignments_json(app, col_text(st, 0), &assigned);
        if (rc != 0)
            break;
        srv_time_iso(sqlite3_column_int64(st, 6), t, sizeof(t));
        o = json_pack("{s:s, s:I, s:s, s:s, s:I, s:s?, s:s, s:I, s:o}", "id", col_text(st, 0),
                      "version", (json_int_t)sqlite3_column_int64(st, 1), "sha256", col_text(st, 2),
                      "mode", col_text(st, 3), "settings", (json_int_t)sqlite3_column_int64(st, 4),
                      "description", col_text(st, 5), "created_at", t, "versions",
                      (json_int_t)sqlite3_column_int64(st, 7), "assigned", assigned);
        if (!o || json_array_append_new(list, o) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
        rc = 0;
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

static int baseline_exists(struct srv_app *app, const char *id)
{
    sqlite3_stmt *st = NULL;
    int found = 0;
    if (ward_store_prepare(app->store, "SELECT 1 FROM baselines WHERE id = ?1 LIMIT 1", &st) != 0)
        return 0;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    found = ward_store_step(app->store, st) == WARD_STORE_ROW;
    sqlite3_finalize(st);
    return found;
}

static int change_assignment(struct srv_app *app, const char *id, const char *device_id, int assign)
{
    const char *target = device_id ? device_id : ALL_DEVICES;
    sqlite3_stmt *st = NULL;
    char detail[192];
    int rc;

    if (!baseline_exists(app, id))
        return WARD_ENOENT;
    if ((rc = ward_store_begin(app->store)) != 0)
        return rc;
    rc = ward_store_prepare(app->store,
                            assign ? "INSERT INTO baseline_assignments(baseline_id, target,"
                                     " assigned_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING"
                                   : "DELETE FROM baseline_assignments WHERE baseline_id = ?1"
                                     " AND target = ?2 AND ?3 IS NOT NULL",
                            &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, target, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, srv_now());
        rc = ward_store_step(app->store, st);
    }
    sqlite3_finalize(st);
    if (rc == 0 && sqlite3_changes(ward_store_db(app->store)) == 0)
        rc = assign ? WARD_EEXIST : WARD_ENOENT;
    snprintf(detail, sizeof(detail), "%s %s %s", id, assign ? "to" : "from",
             device_id ? "this device" : "all devices");
    if (rc == 0)
        rc = srv_event(app, assign ? "baseline_assign" : "baseline_unassign", device_id, NULL,
                       detail);
    if (rc == 0)
        rc = ward_store_commit(app->store);
    if (rc != 0)
        ward_store_rollback(app->store);
    return rc;
}

int srv_baseline_assign(struct srv_app *app, const char *id, const char *device_id)
{
    return change_assignment(app, id, device_id, 1);
}

int srv_baseline_unassign(struct srv_app *app, const char *id, const char *device_id)
{
    return change_assignment(app, id, device_id, 0);
}

/* ---- what devices see --------------------------------------------------------------------- */

#define ASSIGNED_TO_DEVICE                                                                         \
    "EXISTS (SELECT 1 FROM baseline_assignments a WHERE a.baseline_id = b.id AND a.target IN"      \
    " (?1, '*'))"

int srv_baselines_for_device(struct srv_app *app, const char *device_id, json_t *arr)
{
    sqlite3_stmt *st = NULL;
    /* On every check-in: a cached statement. */
    int rc = srv_stmt(app,
                      "SELECT id, version, sha256 FROM baselines b WHERE version ="
                      " (SELECT MAX(version) FROM baselines v WHERE v.id = b.id)"
                      " AND " ASSIGNED_TO_DEVICE " ORDER BY id",
                      &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        json_t *o = json_pack("{s:s, s:I, s:s}", "id", col_text(st, 0), "version",
                              (json_int_t)sqlite3_column_int64(st, 1), "sha256", col_text(st, 2));
        if (!o || json_array_append_new(arr, o) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
    }
    srv_stmt_done(app, st);
    return rc;
}

int srv_baseline_fetch(struct srv_app *app, const char *device_id, const char *id,
                       long long version, char **doc, size_t *len, char sha256[65])
{
    sqlite3_stmt *st = NULL;
    int rc;

    *doc = NULL;
    *len = 0;
    if (!id_ok(id))
        return WARD_ENOENT;
    rc = ward_store_prepare(app->store,
                            "SELECT document, sha256 FROM baselines b WHERE id = ?2 AND version ="
                            " CASE WHEN ?3 > 0 THEN ?3 ELSE (SELECT MAX(version) FROM baselines v"
                            " WHERE v.id = b.id) END AND " ASSIGNED_TO_DEVICE,
                            &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, version);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        const void *p = sqlite3_column_blob(st, 0);
        *doc = ward_malloc((size_t)n + 1);
        if (!*doc) {
            rc = WARD_ENOMEM;
        } else {
            if (n > 0)
                memcpy(*doc, p, (size_t)n);
            (*doc)[n] = '\0';
            *len = (size_t)n;
            snprintf(sha256, 65, "%s", col_text(st, 1));
            rc = 0;
        }
    } else if (rc == 0) {
        rc = WARD_ENOENT;
    }
    sqlite3_finalize(st);
    return rc;
}

/* ---- compliance ------------------------------------------------------------------------------ */

static int result_index(const char *name)
{
    for (size_t i = 0; i < N_RESULTS; i++)
        if (strcmp(result_names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Checks a report's results and counts them. */
static int check_results(const json_t *results, long long counts[N_RESULTS], char *msg,
                         size_t msglen)
{
    struct ward_json_error e;
    json_t *r;
    size_t i;

    memset(&e, 0, sizeof(e));
    if (json_array_size(results) > SRV_BASELINE_MAX_SETTINGS) {
        set_msg(msg, msglen, "$.results", "more than 10000 results");
        return WARD_EINVAL;
    }
    json_array_foreach(results, i, r)
    {
        char path[WARD_JSON_PATH_MAX];
        const char *id = NULL, *res = NULL;
        int idx;
        ward_json_path_index(path, sizeof(path), "$.results", i);
        if (!json_is_object(r) ||
            ward_json_get_str(r, path, "id", WARD_JSON_REQUIRED, &id, &e) != 0 ||
            ward_json_get_str(r, path, "result", WARD_JSON_REQUIRED, &res, &e) != 0) {
            set_msg(msg, msglen, json_is_object(r) ? e.path : path,
                    json_is_object(r) ? e.text : "a result is a JSON object");
            return WARD_EINVAL;
        }
        idx = result_index(res);
        if (idx < 0) {
            set_msg(msg, msglen, path, "result must be KEPT, REPAIRED, FAILED, DENIED or SKIPPED");
            return WARD_EINVAL;
        }
        for (const char *const *k = (const char *const[]){"expected", "actual", "error", NULL}; *k;
             k++) {
            json_t *v = json_object_get(r, *k);
            if (v && !json_is_string(v) && !json_is_null(v)) {
                char p2[WARD_JSON_PATH_MAX];
                ward_json_path_key(p2, sizeof(p2), path, *k);
                set_msg(msg, msglen, p2, "must be a string or null");
                return WARD_EINVAL;
            }
        }
        counts[idx]++;
    }
    return 0;
}

int srv_compliance_post(struct srv_app *app, const char *device_id, const json_t *req,
                        json_t **resp, char *msg, size_t msglen)
{
    struct ward_json_error e;
    const char *id = NULL, *when = NULL;
    json_t *results = NULL;
    long long version = 0, counts[N_RESULTS] = {0};
    int64_t evaluated_at = 0;
    int removed = 0, stored = 0, rc;
    char *text = NULL;
    sqlite3_stmt *st = NULL;

    *resp = NULL;
    memset(&e, 0, sizeof(e));
    if (ward_json_get_str(req, "$", "baseline", WARD_JSON_REQUIRED, &id, &e) != 0 ||
        ward_json_get_int(req, "$", "version", WARD_JSON_REQUIRED, 1, INT64_MAX, &version, &e) !=
            0 ||
        ward_json_get_str(req, "$", "evaluated_at", WARD_JSON_REQUIRED, &when, &e) != 0 ||
        ward_json_get_array(req, "$", "results", WARD_JSON_REQUIRED, &results, &e) != 0 ||
        ward_json_get_bool(req, "$", "removed", 0, &removed, &e) != 0) {
        set_msg(msg, msglen, e.path, e.text);
        return WARD_EINVAL;
    }
    if (ward_time_parse_iso(when, &evaluated_at) != 0) {
        set_msg(msg, msglen, "$.evaluated_at", "not an ISO 8601 UTC time");
        return WARD_EINVAL;
    }
    if ((rc = check_results(results, counts, msg, msglen)) != 0)
        return rc;
    if (!id_ok(id) || !baseline_exists(app, id)) {
        set_msg(msg, msglen, "$.baseline", "unknown baseline");
        return WARD_ENOENT;
    }
    if ((rc = ward_json_dumps(results, 0, &text, NULL)) != 0)
        return rc;
    /* Idempotent: the same evaluation again replaces itself; an older one changes nothing. */
    rc = ward_store_prepare(
        app->store,
        "INSERT INTO compliance(device_id, baseline_id, version, evaluated_at, received_at,"
        " removed, kept, repaired, failed, denied, skipped, results)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        " ON CONFLICT(device_id, baseline_id) DO UPDATE SET version = excluded.version,"
        " evaluated_at = excluded.evaluated_at, received_at = excluded.received_at,"
        " removed = excluded.removed, kept = excluded.kept, repaired = excluded.repaired,"
        " failed = excluded.failed, denied = excluded.denied, skipped = excluded.skipped,"
        " results = excluded.results WHERE excluded.evaluated_at >= compliance.evaluated_at",
        &st);
    if (rc == 0) {
        sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, version);
        sqlite3_bind_int64(st, 4, evaluated_at);
        sqlite3_bind_int64(st, 5, srv_now());
        sqlite3_bind_int(st, 6, removed);
        for (size_t i = 0; i < N_RESULTS; i++)
            sqlite3_bind_int64(st, 7 + (int)i, counts[i]);
        sqlite3_bind_text(st, 12, text, -1, SQLITE_STATIC);
        rc = ward_store_step(app->store, st);
        stored = rc == 0 && sqlite3_changes(ward_store_db(app->store)) > 0;
    }
    sqlite3_finalize(st);
    ward_free(text);
    if (rc != 0)
        return rc;
    *resp = json_pack("{s:b}", "stored", stored);
    return *resp ? 0 : WARD_ENOMEM;
}

static json_t *counts_json(sqlite3_stmt *st, int first)
{
    json_t *o = json_object();
    for (size_t i = 0; o && i < N_RESULTS; i++)
        if (json_object_set_new(o, result_names[i],
                                json_integer(sqlite3_column_int64(st, first + (int)i))) != 0) {
            json_decref(o);
            return NULL;
        }
    return o;
}

/* Per device assigned to baseline `id` at `version`: compliant, non-compliant or not
 * reported (no report, a report for another version, or a removal). */
static int summarize_one(struct srv_app *app, const char *id, long long version, json_t *o)
{
    sqlite3_stmt *st = NULL;
    long long compliant = 0, noncompliant = 0, missing = 0, sums[N_RESULTS] = {0};
    json_t *counts;
    int rc = ward_store_prepare(
        app->store,
        "SELECT c.version, c.removed, c.kept, c.repaired, c.failed, c.denied, c.skipped"
        " FROM devices d LEFT JOIN compliance c ON c.device_id = d.device_id AND"
        " c.baseline_id = ?2 WHERE d.revoked_at IS NULL AND EXISTS (SELECT 1 FROM"
        " baseline_assignments a WHERE a.baseline_id = ?2 AND a.target IN (d.device_id, '*'))",
        &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_NULL || sqlite3_column_int64(st, 0) != version ||
            sqlite3_column_int(st, 1)) {
            missing++;
            continue;
        }
        for (size_t i = 0; i < N_RESULTS; i++)
            sums[i] += sqlite3_column_int64(st, 2 + (int)i);
        /* FAILED, DENIED or SKIPPED anywhere: not compliant */
        if (sqlite3_column_int64(st, 4) + sqlite3_column_int64(st, 5) +
                sqlite3_column_int64(st, 6) >
            0)
            noncompliant++;
        else
            compliant++;
    }
    sqlite3_finalize(st);
    if (rc != 0)
        return rc;
    counts = json_object();
    for (size_t i = 0; counts && i < N_RESULTS; i++)
        if (json_object_set_new(counts, result_names[i], json_integer(sums[i])) != 0) {
            json_decref(counts);
            counts = NULL;
        }
    if (!counts)
        return WARD_ENOMEM;
    if (json_object_set_new(o, "devices", json_integer(compliant + noncompliant + missing)) ||
        json_object_set_new(o, "compliant", json_integer(compliant)) ||
        json_object_set_new(o, "non_compliant", json_integer(noncompliant)) ||
        json_object_set_new(o, "not_reported", json_integer(missing)) ||
        json_object_set_new(o, "results", counts))
        return WARD_ENOMEM;
    return 0;
}

int srv_compliance_summary(struct srv_app *app, json_t **out)
{
    json_t *list = NULL, *b;
    size_t i;
    int rc;

    *out = NULL;
    if ((rc = srv_baseline_list(app, &list)) != 0)
        return rc;
    json_array_foreach(list, i, b)
    {
        rc = summarize_one(app, json_string_value(json_object_get(b, "id")),
                           json_integer_value(json_object_get(b, "version")), b);
        if (rc != 0) {
            json_decref(list);
            return rc;
        }
        json_object_del(b, "sha256");
        json_object_del(b, "created_at");
        json_object_del(b, "description");
    }
    *out = list;
    return 0;
}

/* The settings of a stored report that are not KEPT/REPAIRED. */
static int failing_of(const char *results_text, json_t **out)
{
    json_t *all = NULL, *r, *f = json_array();
    size_t i;
    int rc;
    *out = NULL;
    if (!f)
        return WARD_ENOMEM;
    rc = ward_json_loadb(results_text, strlen(results_text),
                         &(struct ward_json_limits){.max_bytes = SRV_COMPLIANCE_MAX_BYTES}, &all,
                         NULL);
    if (rc != 0) {
        json_decref(f);
        return rc;
    }
    json_array_foreach(all, i, r)
    {
        const char *res = json_string_value(json_object_get(r, "result"));
        if (res && (strcmp(res, "KEPT") == 0 || strcmp(res, "REPAIRED") == 0))
            continue;
        if (json_array_append(f, r) != 0) {
            rc = WARD_ENOMEM;
            break;
        }
    }
    json_decref(all);
    if (rc != 0) {
        json_decref(f);
        return rc;
    }
    *out = f;
    return 0;
}

int srv_compliance_device(struct srv_app *app, const char *device_id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if (!list)
        return WARD_ENOMEM;
    /* Baselines assigned to the device (latest version) and any it has reported on. */
    rc = ward_store_prepare(
        app->store,
        "SELECT b.id, (SELECT MAX(version) FROM baselines v WHERE v.id = b.id),"
        " " ASSIGNED_TO_DEVICE ", c.version, c.evaluated_at, c.removed, c.kept, c.repaired,"
        " c.failed, c.denied, c.skipped, c.results, c.received_at"
        " FROM (SELECT DISTINCT id FROM baselines) b LEFT JOIN compliance c ON"
        " c.device_id = ?1 AND c.baseline_id = b.id"
        " WHERE " ASSIGNED_TO_DEVICE " OR c.device_id IS NOT NULL ORDER BY b.id",
        &st);
    if (rc != 0) {
        json_decref(list);
        return rc;
    }
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        json_t *o, *failing = NULL, *counts = NULL;
        long long latest = sqlite3_column_int64(st, 1);
        int assigned = sqlite3_column_int(st, 2),
            reported = sqlite3_column_type(st, 3) != SQLITE_NULL;
        const char *status;
        char t[32] = "";
        rc = 0;
        if (!reported) {
            status = "not_reported";
        } else if (sqlite3_column_int(st, 5)) {
            status = "removed";
        } else {
            status = sqlite3_column_int64(st, 8) + sqlite3_column_int64(st, 9) +
                                 sqlite3_column_int64(st, 10) >
                             0
                         ? "non_compliant"
                         : "compliant";
            if (sqlite3_column_int64(st, 3) != latest)
                status = "outdated";
        }
        if (reported) {
            srv_time_iso(sqlite3_column_int64(st, 4), t, sizeof(t));
            counts = counts_json(st, 6);
            rc = counts ? failing_of(col_text(st, 11), &failing) : WARD_ENOMEM;
        }
        o = rc == 0 ? json_pack("{s:s, s:I, s:b, s:s, s:o?, s:s?, s:O?, s:O?}", "baseline",
                                col_text(st, 0), "latest_version", (json_int_t)latest, "assigned",
                                assigned, "status", status, "version",
                                reported ? json_integer(sqlite3_column_int64(st, 3)) : NULL,
                                "evaluated_at", reported ? t : NULL, "results", counts, "failing",
                                failing)
                    : NULL;
        json_decref(counts);
        json_decref(failing);
        if (!o || json_array_append_new(list, o) != 0) {
            rc = rc ? rc : WARD_ENOMEM;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc != 0) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return 0;
}

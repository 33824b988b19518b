/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Signed commands. Each command gets the device's next sequence number inside the same
 * transaction that stores it, and is signed once, at issue time, with the service's Ed25519
 * key: the envelope stored is exactly what every later delivery sends, byte for byte.
 * Before that its parameters are checked against the type's field table (server/commands.h)
 * and files they name must be stored on this service. Also the result status rules.
 */
#define WARD_LOG_TAG "srv-command"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "server/app.h"
#include "server/commands.h"
#include "server/files.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

/* ---- parameter shapes ---------------------------------------------------------------- */

enum param_kind {
    PK_INT,  /* integer in [min, max] */
    PK_BOOL, /* true or false */
    PK_STR,  /* string of min..max bytes, optionally checked by item_ok */
    PK_ENUM, /* one of choices */
    PK_TIME, /* "YYYY-MM-DDTHH:MM:SSZ" */
    PK_STRS, /* array of min..max strings, each checked by item_ok */
    PK_FILE, /* {"url": "/api/v1/files/<sha256>", "sha256": hex, "length": int > 0} */
};

struct param_field {
    const char *name;
    enum param_kind kind;
    int required;
    long long min, max; /* PK_INT: value; PK_STR: bytes; PK_STRS: entries */
    const char *const *choices;
    int (*item_ok)(const char *s); /* PK_STR, PK_STRS: 1 when the text is acceptable */
    const char *item_what;         /* what item_ok wants, for the message */
};

/* A check across members (exactly one of two, ...); writes msg and returns WARD_EPARSE. */
typedef int (*param_rule_fn)(const json_t *params, char *msg, size_t msglen);

struct command_type {
    const char *name;
    const struct param_field *fields; /* terminated by a NULL name; NULL: any object */
    param_rule_fn rule;               /* may be NULL */
};

static int user_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32 || s[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
            return 0;
    return 1;
}

/* Names as dpkg, rpm, flatpak and snap spell them (with ":arch"); never an option. */
static int package_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 255 || !isalnum((unsigned char)s[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".+-_:~@", s[i]))
            return 0;
    return 1;
}

/* "/dev/..." without "." or ".." components, empty components or odd characters. */
static int dev_path_ok(const char *s)
{
    size_t n = strlen(s);
    const char *p;
    if (n <= 5 || n > 255 || strncmp(s, "/dev/", 5) != 0 || s[n - 1] == '/')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("/._:+-", s[i]))
            return 0;
    for (p = s; p; p = strchr(p + 1, '/')) {
        const char *q = p + 1, *e = strchr(q, '/');
        size_t len = e ? (size_t)(e - q) : strlen(q);
        if (len == 0 || (len == 1 && q[0] == '.') || (len == 2 && q[0] == '.' && q[1] == '.'))
            return 0;
    }
    return 1;
}

static const char *const interpreters[] = {"/bin/sh", "/bin/bash", "/usr/bin/python3", NULL};
static const char *const package_actions[] = {"install", "remove", "upgrade", NULL};

static const struct param_field no_params[] = {{.name = NULL}};

static const struct param_field power_params[] = {
    {.name = "grace_seconds", .kind = PK_INT, .min = 0, .max = 86400},
    {.name = "deadline", .kind = PK_TIME},
    {.name = "deferrals", .kind = PK_INT, .min = 0, .max = 10},
    {.name = "defer_seconds", .kind = PK_INT, .min = 60, .max = 86400},
    {.name = "message", .kind = PK_STR, .min = 0, .max = 256},
    {.name = NULL},
};

static const struct param_field script_params[] = {
    {.name = "interpreter", .kind = PK_ENUM, .required = 1, .choices = interpreters},
    {.name = "script", .kind = PK_STR, .min = 0, .max = (long long)SRV_SCRIPT_INLINE_MAX},
    {.name = "file", .kind = PK_FILE},
    {.name = "args", .kind = PK_STRS, .min = 0, .max = 64},
    {.name = "user",
     .kind = PK_STR,
     .min = 1,
     .max = 32,
     .item_ok = user_name_ok,
     .item_what = "a local user name (letters, digits, '.', '_', '-'; not starting with '-')"},
    {.name = "timeout", .kind = PK_INT, .min = 1, .max = 86400},
    {.name = "output_max", .kind = PK_INT, .min = 1024, .max = 1048576},
    /* the agent's limits (enforcement/src/linux/cmd_script.c, same bounds) */
    {.name = "cpu_seconds", .kind = PK_INT, .min = 1, .max = 86400},
    {.name = "memory_mb", .kind = PK_INT, .min = 16, .max = 65536},
    {.name = NULL},
};

static const struct param_field package_params[] = {
    {.name = "action", .kind = PK_ENUM, .required = 1, .choices = package_actions},
    {.name = "names",
     .kind = PK_STRS,
     .min = 1,
     .max = 1000,
     .item_ok = package_name_ok,
     .item_what = "a package name (letters, digits and . + - _ : ~ @, starting with a letter or "
                  "digit)"},
    {.name = "file", .kind = PK_FILE},
    {.name = NULL},
};

static const struct param_field os_update_params[] = {
    {.name = "security_only", .kind = PK_BOOL},
    {.name = "reboot", .kind = PK_BOOL},
    {.name = NULL},
};

static const struct param_field full_wipe_params[] = {
    {.name = "devices",
     .kind = PK_STRS,
     .min = 0,
     .max = 64,
     .item_ok = dev_path_ok,
     .item_what = "an absolute /dev path"},
    {.name = "allow_overwrite", .kind = PK_BOOL},
    {.name = NULL},
};

static int script_rule(const json_t *p, char *msg, size_t msglen)
{
    int has_script = json_object_get(p, "script") != NULL;
    int has_file = json_object_get(p, "file") != NULL;
    if (has_script == has_file) {
        snprintf(msg, msglen,
                 "params: run_script needs exactly one of 'script' (inline text) or"
                 " 'file' ({url, sha256, length})");
        return WARD_EPARSE;
    }
    return 0;
}

static int package_rule(const json_t *p, char *msg, size_t msglen)
{
    const char *action = json_string_value(json_object_get(p, "action"));
    int has_names = json_object_get(p, "names") != NULL;
    int has_file = json_object_get(p, "file") != NULL;
    if (has_names == has_file) {
        snprintf(msg, msglen, "params: package needs exactly one of 'names' or 'file'");
        return WARD_EPARSE;
    }
    if (has_file && strcmp(action, "install") != 0) {
        snprintf(msg, msglen, "params.file: a package file can only be installed, not %s", action);
        return WARD_EPARSE;
    }
    return 0;
}

/* Types this version of the protocol knows (docs/protocol.md, "Command types"). The first
 * four predate typed parameters and keep taking any object. */
static const struct command_type command_types[] = {
    {.name = "ping"},
    {.name = "sync"},
    {.name = "unenroll"},
    {.name = "inventory"},
    {.name = "lock", .fields = no_params},
    {.name = "reboot", .fields = power_params},
    {.name = "shutdown", .fields = power_params},
    {.name = "run_script", .fields = script_params, .rule = script_rule},
    {.name = "package", .fields = package_params, .rule = package_rule},
    {.name = "os_update", .fields = os_update_params},
    {.name = "selective_wipe", .fields = no_params},
    {.name = "full_wipe", .fields = full_wipe_params},
    {.name = NULL},
};

static const struct command_type *type_find(const char *t)
{
    for (const struct command_type *k = command_types; t && k->name; k++)
        if (strcmp(k->name, t) == 0)
            return k;
    return NULL;
}

int srv_command_type_known(const char *type)
{
    return type_find(type) != NULL;
}

const char *srv_command_type_names(void)
{
    return "ping, sync, unenroll, inventory, lock, reboot, shutdown, run_script, package,"
           " os_update, selective_wipe, full_wipe";
}

int srv_sha256_hex_ok(const char *s)
{
    size_t i;
    for (i = 0; s && i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return s && s[64] == '\0';
}

static int bad(char *msg, size_t msglen, const struct ward_json_error *err)
{
    snprintf(msg, msglen, "%s: %s", err->path, err->text);
    return WARD_EPARSE;
}

static int check_file(const json_t *p, const char *path, char *msg, size_t msglen)
{
    static const char *const keys[] = {"url", "sha256", "length", NULL};
    struct ward_json_error err;
    const char *url = NULL, *sha = NULL;
    long long length = 0;
    json_t *f = NULL;
    char fpath[WARD_JSON_PATH_MAX];

    ward_json_path_key(fpath, sizeof(fpath), path, "file");
    if (ward_json_get_object(p, path, "file", WARD_JSON_REQUIRED, &f, &err) != 0 ||
        ward_json_check_keys(f, fpath, keys, &err) != 0 ||
        ward_json_get_str(f, fpath, "url", WARD_JSON_REQUIRED, &url, &err) != 0 ||
        ward_json_get_str(f, fpath, "sha256", WARD_JSON_REQUIRED, &sha, &err) != 0 ||
        ward_json_get_int(f, fpath, "length", WARD_JSON_REQUIRED, 1, INT64_MAX, &length, &err) != 0)
        return bad(msg, msglen, &err);
    if (!srv_sha256_hex_ok(sha)) {
        snprintf(msg, msglen, "%s.sha256: expected 64 lowercase hex digits", fpath);
        return WARD_EPARSE;
    }
    if (strncmp(url, "/api/v1/files/", 14) != 0 || strcmp(url + 14, sha) != 0) {
        snprintf(msg, msglen, "%s.url: expected \"/api/v1/files/%s\"", fpath, sha);
        return WARD_EPARSE;
    }
    return 0;
}

static int check_field(const json_t *p, const struct param_field *f, char *msg, size_t msglen)
{
    struct ward_json_error err;
    char path[WARD_JSON_PATH_MAX];
    unsigned flags = f->required ? WARD_JSON_REQUIRED : 0;
    const char *s = NULL;
    long long n = 0;
    int b = 0;
    json_t *arr = NULL, *v;
    size_t i;

    if (!f->required && !json_object_get(p, f->name))
        return 0;
    ward_json_path_key(path, sizeof(path), "params", f->name);
    switch (f->kind) {
    case PK_INT:
        if (ward_json_get_int(p, "params", f->name, flags, f->min, f->max, &n, &err) != 0)
            return bad(msg, msglen, &err);
        return 0;
    case PK_BOOL:
        if (ward_json_get_bool(p, "params", f->name, flags, &b, &err) != 0)
            return bad(msg, msglen, &err);
        return 0;
    case PK_FILE:
        return check_file(p, "params", msg, msglen);
    case PK_STRS:
        if (ward_json_get_array(p, "params", f->name, flags, &arr, &err) != 0)
            return bad(msg, msglen, &err);
        if ((long long)json_array_size(arr) < f->min || (long long)json_array_size(arr) > f->max) {
            snprintf(msg, msglen, "%s: %zu entries, expected %lld to %lld", path,
                     json_array_size(arr), f->min, f->max);
            return WARD_EPARSE;
        }
        json_array_foreach(arr, i, v)
        {
            char ipath[WARD_JSON_PATH_MAX];
            ward_json_path_index(ipath, sizeof(ipath), path, i);
            if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v)) {
                snprintf(msg, msglen, "%s: expected string, got %s", ipath,
                         json_is_string(v) ? "a string with a NUL" : ward_json_type_name(v));
                return WARD_EPARSE;
            }
            if (f->item_ok && !f->item_ok(json_string_value(v))) {
                snprintf(msg, msglen, "%s: \"%.64s\" is not %s", ipath, json_string_value(v),
                         f->item_what);
                return WARD_EPARSE;
            }
        }
        return 0;
    default:
        break;
    }
    /* The string kinds. */
    if (ward_json_get_str(p, "params", f->name, flags, &s, &err) != 0)
        return bad(msg, msglen, &err);
    if (f->kind == PK_ENUM) {
        struct ward_buf all;
        for (i = 0; f->choices[i]; i++)
            if (strcmp(f->choices[i], s) == 0)
                return 0;
        ward_buf_init(&all, 512);
        for (i = 0; f->choices[i]; i++)
            (void)ward_buf_appendf(&all, "%s%s", i ? ", " : "", f->choices[i]);
        snprintf(msg, msglen, "%s: \"%.64s\" is not one of %s", path, s, all.data ? all.data : "");
        ward_buf_release(&all);
        return WARD_EPARSE;
    }
    if (f->kind == PK_TIME) {
        int64_t t;
        if (ward_time_parse_iso(s, &t) != 0) {
            snprintf(msg, msglen, "%s: \"%.64s\" is not a UTC time like 2026-11-28T10:00:00Z", path,
                     s);
            return WARD_EPARSE;
        }
        return 0;
    }
    if ((long long)strlen(s) < f->min || (long long)strlen(s) > f->max) {
        snprintf(msg, msglen, "%s: %zu bytes, expected %lld to %lld", path, strlen(s), f->min,
                 f->max);
        return WARD_EPARSE;
    }
    if (f->item_ok && !f->item_ok(s)) {
        snprintf(msg, msglen, "%s: \"%.64s\" is not %s", path, s, f->item_what);
        return WARD_EPARSE;
    }
    return 0;
}

/* Every member the table does not name, in one message. */
static int check_unknown(const struct command_type *t, const json_t *p, char *msg, size_t msglen)
{
    struct ward_buf unknown, allowed;
    const char *k;
    json_t *v;
    size_t n = 0;
    int rc = 0;

    ward_buf_init(&unknown, 256);
    ward_buf_init(&allowed, 256);
    json_object_foreach((json_t *)(uintptr_t)p, k, v)
    {
        const struct param_field *f;
        (void)v;
        for (f = t->fields; f->name; f++)
            if (strcmp(f->name, k) == 0)
                break;
        if (!f->name)
            (void)ward_buf_appendf(&unknown, "%s'%.40s'", n++ ? ", " : "", k);
    }
    if (n) {
        for (const struct param_field *f = t->fields; f->name; f++)
            (void)ward_buf_appendf(&allowed, "%s%s", f == t->fields ? "" : ", ", f->name);
        snprintf(msg, msglen, "params: unknown member%s %s for %s (%s%s)", n > 1 ? "s" : "",
                 unknown.data ? unknown.data : "", t->name,
                 allowed.data ? "allowed: " : "it takes no parameters",
                 allowed.data ? allowed.data : "");
        rc = WARD_EPARSE;
    }
    ward_buf_release(&unknown);
    ward_buf_release(&allowed);
    return rc;
}

int srv_command_check_params(const char *type, const json_t *params, char *msg, size_t msglen)
{
    const struct command_type *t = type_find(type);
    json_t *empty = NULL;
    int rc = 0;

    if (msglen)
        msg[0] = '\0';
    if (!t) {
        snprintf(msg, msglen, "unknown command type '%.64s' (known: %s)", type ? type : "",
                 srv_command_type_names());
        return WARD_EINVAL;
    }
    if (params && !json_is_object(params)) {
        snprintf(msg, msglen, "params: expected object, got %s", ward_json_type_name(params));
        return WARD_EPARSE;
    }
    if (!t->fields)
        return 0;
    if (!params)
        params = empty = json_object();
    if (!params)
        return WARD_ENOMEM;
    rc = check_unknown(t, params, msg, msglen);
    for (const struct param_field *f = t->fields; rc == 0 && f->name; f++)
        rc = check_field(params, f, msg, msglen);
    if (rc == 0 && t->rule)
        rc = t->rule(params, msg, msglen);
    json_decref(empty);
    return rc;
}

/* ---- result statuses -------------------------------------------------------------------- */

static const char *const final_statuses[] = {"succeeded", "failed",      "rejected",
                                             "denied",    "interrupted", NULL};
static const char *const progress_statuses[] = {"accepted", "running", NULL};

static int in_list(const char *const *l, const char *s)
{
    for (; s && *l; l++)
        if (strcmp(*l, s) == 0)
            return 1;
    return 0;
}

int srv_result_status_final(const char *status)
{
    return in_list(final_statuses, status);
}

int srv_result_status_known(const char *status)
{
    return in_list(final_statuses, status) || in_list(progress_statuses, status);
}

int srv_result_may_replace(const char *cur, const char *next)
{
    /* queued, delivered, accepted and running are all open: any result may follow them
     * (a final one closes the command; a non-final one reports progress). */
    return srv_result_status_known(next) && !srv_result_status_final(cur);
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

/* A {url, sha256, length} the parameters name must be a file this service stores, with
 * that length: otherwise the device would fail its download a check-in later. */
static int check_files_stored(struct srv_app *app, const json_t *params, char *msg, size_t msglen)
{
    const json_t *f = json_object_get(params, "file");
    const char *sha = json_string_value(json_object_get(f, "sha256"));
    int64_t length = 0;
    int rc;

    if (!f || !sha)
        return 0;
    rc = srv_file_length(app, sha, &length);
    if (rc == WARD_ENOENT) {
        snprintf(msg, msglen,
                 "params.file: no file %s on this service (add it with"
                 " ward-server file add)",
                 sha);
        return WARD_EPARSE;
    }
    if (rc != 0)
        return rc;
    if (length != (int64_t)json_integer_value(json_object_get(f, "length"))) {
        snprintf(msg, msglen, "params.file.length: file %.16s... is %lld bytes, not %lld", sha,
                 (long long)length, (long long)json_integer_value(json_object_get(f, "length")));
        return WARD_EPARSE;
    }
    return 0;
}

int srv_command_check(struct srv_app *app, const char *type, const json_t *params, char *msg,
                      size_t msglen)
{
    int rc = srv_command_check_params(type, params, msg, msglen);
    return rc != 0 ? rc : check_files_stored(app, params, msg, msglen);
}

/* The service's own record of what the device accepts (its enrollment token's ownership
 * and grants, docs/commands.md "Who may do what"): a command the device would refuse as
 * `denied` is refused at once instead. The device still decides by its own record. */
static int authority_refusal(const char *type, const char *ownership, const char *grants, char *msg,
                             size_t msglen)
{
    static const struct {
        const char *type, *grant;
        int corporate_only;
    } needs[] = {
        {"run_script", "scripts", 1},
        {"full_wipe", "full_wipe", 1},
        {"package", "packages", 0},
        {"os_update", "packages", 0},
    };
    for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
        size_t gl = strlen(needs[i].grant);
        const char *g = grants ? grants : "";
        int granted = 0;
        if (strcmp(type, needs[i].type) != 0)
            continue;
        if (needs[i].corporate_only && ownership && strcmp(ownership, "personal") == 0) {
            snprintf(msg, msglen, "the device is personally owned: it never accepts %s", type);
            return WARD_EDENIED;
        }
        for (const char *p = g; *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
            if (strncmp(p, needs[i].grant, gl) == 0 && (p[gl] == ',' || p[gl] == '\0'))
                granted = 1;
        if (!granted) {
            snprintf(msg, msglen,
                     "the device was not granted '%s' at enrollment: it would refuse %s",
                     needs[i].grant, type);
            return WARD_EDENIED;
        }
    }
    return 0;
}

static int send_command(struct srv_app *app, const char *device_id, const char *type,
                        json_t *params, long ttl, const char *fixed_id, const json_t *authorization,
                        int64_t not_after, json_t **out, char *msg, size_t msglen)
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
    if (msglen)
        msg[0] = '\0';
    if ((rc = srv_command_check_params(type, params, msg, msglen)) != 0 ||
        (rc = check_files_stored(app, params, msg, msglen)) != 0)
        return rc;
    if (ttl <= 0)
        ttl = app->settings.command_ttl;
    if (not_after > 0 && now + ttl > not_after)
        ttl = (long)(not_after - now);
    if (ttl <= 0) {
        snprintf(msg, msglen, "the offline authorization has expired");
        return WARD_EEXPIRED;
    }
    if (fixed_id) {
        snprintf(command_id, sizeof(command_id), "%s", fixed_id);
    } else {
        if ((rc = ward_random_bytes(idb, sizeof(idb))) != 0 ||
            (rc = ward_hex_encode(idb, sizeof(idb), hex, sizeof(hex))) != 0)
            return rc;
        snprintf(command_id, sizeof(command_id), "c-%s", hex);
    }
    srv_time_iso(now, issued, sizeof(issued));
    srv_time_iso(now + ttl, expires, sizeof(expires));

    if ((rc = ward_store_begin(app->store)) != 0)
        return rc;
    in_tx = 1;
    rc = ward_store_prepare(app->store,
                            "UPDATE devices SET next_seq = next_seq + 1 WHERE device_id = ?1"
                            " AND revoked_at IS NULL RETURNING next_seq - 1, ownership, grants",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    if (rc == WARD_STORE_ROW) {
        seq = sqlite3_column_int64(st, 0);
        rc = authority_refusal(type, (const char *)sqlite3_column_text(st, 1),
                               (const char *)sqlite3_column_text(st, 2), msg, msglen);
        if (rc == 0)
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
    if (pl && authorization &&
        json_object_set_new(pl, "authorization", json_deep_copy(authorization)) != 0) {
        json_decref(pl);
        pl = NULL;
    }
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
    if ((rc = ward_store_step(app->store, st)) != 0) {
        if (fixed_id &&
            sqlite3_extended_errcode(ward_store_db(app->store)) == SQLITE_CONSTRAINT_PRIMARYKEY) {
            snprintf(msg, msglen, "command %s was queued already; prepare a new request",
                     command_id);
            rc = WARD_EEXIST;
        }
        goto out;
    }
    snprintf(detail, sizeof(detail), "%s %s seq %lld%s", command_id, type, (long long)seq,
             authorization ? " (offline-signed)" : "");
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

int srv_command_send(struct srv_app *app, const char *device_id, const char *type, json_t *params,
                     long ttl, json_t **out, char *msg, size_t msglen)
{
    return send_command(app, device_id, type, params, ttl, NULL, NULL, 0, out, msg, msglen);
}

int srv_command_send_authorized(struct srv_app *app, const char *device_id, const char *type,
                                json_t *params, long ttl, const char *command_id,
                                const json_t *authorization, int64_t not_after, json_t **out,
                                char *msg, size_t msglen)
{
    if (!command_id || !authorization || not_after <= 0)
        return WARD_EINVAL;
    return send_command(app, device_id, type, params, ttl, command_id, authorization, not_after,
                        out, msg, msglen);
}

#define COMMAND_COLUMNS                                                                            \
    "command_id, device_id, seq, type, params, issued_at, expires_at, status, delivered_at,"       \
    " finished_at, result, result_at"

/* One commands row (COMMAND_COLUMNS) as the object `commands list` / `commands show` print;
 * new, NULL on allocation failure. */
static json_t *command_row(sqlite3_stmt *st, int64_t now)
{
    char issued[32], expires[32], delivered[32], finished[32], updated[32];
    const char *status = (const char *)sqlite3_column_text(st, 7);
    const char *result = (const char *)sqlite3_column_text(st, 10);
    json_t *params = json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
    json_t *res = result ? json_loads(result, 0, NULL) : NULL;
    srv_time_iso(sqlite3_column_int64(st, 5), issued, sizeof(issued));
    srv_time_iso(sqlite3_column_int64(st, 6), expires, sizeof(expires));
    srv_time_iso(sqlite3_column_int64(st, 8), delivered, sizeof(delivered));
    srv_time_iso(sqlite3_column_int64(st, 9), finished, sizeof(finished));
    srv_time_iso(sqlite3_column_int64(st, 11), updated, sizeof(updated));
    /* Only a command the device never answered expires; accepted or running ones are the
     * device's now. */
    if ((strcmp(status, "queued") == 0 || strcmp(status, "delivered") == 0) &&
        sqlite3_column_int64(st, 6) <= now)
        status = "expired";
    return json_pack("{s:s, s:s, s:I, s:s, s:o?, s:s, s:s, s:s, s:s?, s:s?, s:s?, s:o?}",
                     "command_id", (const char *)sqlite3_column_text(st, 0), "device_id",
                     (const char *)sqlite3_column_text(st, 1), "seq",
                     (json_int_t)sqlite3_column_int64(st, 2), "type",
                     (const char *)sqlite3_column_text(st, 3), "params", params, "issued_at",
                     issued, "expires_at", expires, "status", status, "delivered_at",
                     delivered[0] ? delivered : NULL, "finished_at", finished[0] ? finished : NULL,
                     "updated_at", updated[0] ? updated : NULL, "result", res);
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
                            "SELECT " COMMAND_COLUMNS " FROM commands WHERE ?1 IS NULL OR"
                            " device_id = ?1 ORDER BY issued_at DESC, seq DESC LIMIT 1000",
                            &st);
    if (rc != 0)
        goto out;
    sqlite3_bind_text(st, 1, device_id, -1, SQLITE_STATIC);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        json_t *c = command_row(st, now);
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

int srv_command_show(struct srv_app *app, const char *id, json_t **out)
{
    sqlite3_stmt *st = NULL;
    size_t n = strlen(id);
    int rc, matches = 0;

    *out = NULL;
    if (n < 6)
        return WARD_EINVAL;
    rc = ward_store_prepare(app->store,
                            "SELECT " COMMAND_COLUMNS " FROM commands WHERE command_id = ?1 OR"
                            " substr(command_id, 1, ?2) = ?1 ORDER BY command_id = ?1 DESC"
                            " LIMIT 2",
                            &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
    while ((rc = ward_store_step(app->store, st)) == WARD_STORE_ROW) {
        if (matches++ == 0) {
            *out = command_row(st, srv_now());
            if (!*out) {
                rc = WARD_ENOMEM;
                break;
            }
            if (strcmp((const char *)sqlite3_column_text(st, 0), id) == 0) {
                matches = 1;
                rc = 0;
                break;
            }
        }
    }
    sqlite3_finalize(st);
    if (rc == 0 && matches != 1)
        rc = matches == 0 ? WARD_ENOENT : WARD_EBUSY; /* EBUSY: ambiguous prefix */
    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

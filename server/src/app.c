/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The server's data directory: first-start creation of the CA, the server certificate,
 * the Ed25519 command-signing key, the settings file and the database; later opens reuse
 * them. Private keys are written with ward_key_write_pem (0600, atomic). Also the audit
 * trail and time formatting shared by the rest of the application.
 */
#define WARD_LOG_TAG "srv-app"

#include "server/app.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>

#include "server/db.h"
#include "server/pki.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/store.h"
#include "ward/time.h"

#define DEFAULT_LISTEN "127.0.0.1:8443"
#define DAY 86400L

char *srv_path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = ward_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *srv_app_path(const struct srv_app *app, const char *name)
{
    return srv_path_join(app->data_dir, name);
}

int64_t srv_now(void)
{
    return ward_time_now();
}

void srv_time_iso(int64_t t, char *out, size_t outlen)
{
    ward_time_iso(t, out, outlen);
}

/* Reads a whole small file (PEM, settings) into a new NUL-terminated buffer. */
static int read_file(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = NULL;
    struct ward_buf b;
    char chunk[4096];
    size_t n;
    int rc = ward_os_fopen_read(path, &f);
    if (rc != 0)
        return rc;
    ward_buf_init(&b, max);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if ((rc = ward_buf_append(&b, chunk, n)) != 0)
            break;
    if (rc == 0 && ferror(f))
        rc = WARD_EIO;
    fclose(f);
    if (rc == 0) {
        *out = ward_buf_steal(&b, len);
        rc = *out ? 0 : WARD_ENOMEM;
    }
    ward_buf_release(&b);
    return rc;
}

/* Writes a public file (certificate, settings) atomically with mode 0644. */
static int write_public(const char *path, const void *data, size_t len)
{
    size_t n = strlen(path) + 8;
    char *tmp = ward_malloc(n);
    FILE *f;
    int rc = 0;
    if (!tmp)
        return WARD_ENOMEM;
    snprintf(tmp, n, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f) {
        ward_free(tmp);
        return errno == ENOSPC ? WARD_ENOSPC : WARD_EIO;
    }
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0)
        rc = errno == ENOSPC ? WARD_ENOSPC : WARD_EIO;
    if (fclose(f) != 0 && rc == 0)
        rc = WARD_EIO;
    if (rc == 0)
        rc = ward_os_rename(tmp, path);
    if (rc != 0)
        ward_os_remove(tmp);
    ward_free(tmp);
    return rc;
}

/* Writes cert, followed by issuer when given: the server sends its whole chain, so a client
 * can check the CA pin during the handshake and OpenSSL does not rebuild the chain (an
 * extra signature verification) on every handshake. */
static int write_cert(const char *dir, const char *name, const X509 *cert, const X509 *issuer)
{
    char *pem = NULL, *ipem = NULL, *path = srv_path_join(dir, name);
    struct ward_buf b;
    size_t len = 0, ilen = 0;
    int rc = path ? ward_x509_to_pem(cert, &pem, &len) : WARD_ENOMEM;
    ward_buf_init(&b, 64 * 1024);
    if (rc == 0 && issuer)
        rc = ward_x509_to_pem(issuer, &ipem, &ilen);
    if (rc == 0)
        rc = ward_buf_append(&b, pem, len);
    if (rc == 0 && ipem)
        rc = ward_buf_append(&b, ipem, ilen);
    if (rc == 0)
        rc = write_public(path, b.data, b.len);
    ward_buf_release(&b);
    ward_free(pem);
    ward_free(ipem);
    ward_free(path);
    return rc;
}

static int write_key(const char *dir, const char *name, const EVP_PKEY *key)
{
    char *path = srv_path_join(dir, name);
    int rc = path ? ward_key_write_pem(key, path) : WARD_ENOMEM;
    ward_free(path);
    return rc;
}

/* Splits "host:port" / "[v6]:port"; host without brackets. */
static int split_listen(const char *listen, char *host, size_t hostlen, int *port)
{
    const char *colon;
    char *end;
    long p;
    if (listen[0] == '[') {
        const char *rb = strchr(listen, ']');
        if (!rb || rb[1] != ':')
            return WARD_EINVAL;
        if ((size_t)(rb - listen - 1) >= hostlen)
            return WARD_EINVAL;
        snprintf(host, hostlen, "%.*s", (int)(rb - listen - 1), listen + 1);
        colon = rb + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= hostlen || colon == listen)
            return WARD_EINVAL;
        snprintf(host, hostlen, "%.*s", (int)(colon - listen), listen);
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno || *end || p < 0 || p > 65535)
        return WARD_EINVAL;
    *port = (int)p;
    return 0;
}

static int is_ip(const char *s)
{
    unsigned char buf[16];
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    (void)buf;
    return uv_ip4_addr(s, 0, &a4) == 0 || uv_ip6_addr(s, 0, &a6) == 0;
}

static int save_settings(const char *dir, const struct srv_settings *s)
{
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "listen", s->listen, "url", s->url,
                          "device_cert_ttl", (json_int_t)s->device_cert_ttl, "checkin_interval",
                          (json_int_t)s->checkin_interval, "token_ttl", (json_int_t)s->token_ttl,
                          "command_ttl", (json_int_t)s->command_ttl, "renew_grace",
                          (json_int_t)s->renew_grace);
    char *text = NULL, *path = NULL;
    size_t len = 0;
    int rc;
    if (!j)
        return WARD_ENOMEM;
    rc = ward_json_dumps(j, WARD_JSON_PRETTY, &text, &len);
    json_decref(j);
    if (rc != 0)
        return rc;
    path = srv_path_join(dir, SRV_FILE_SETTINGS);
    rc = path ? write_public(path, text, len) : WARD_ENOMEM;
    ward_free(path);
    ward_free(text);
    return rc;
}

/* Ranges shared by `init` (which refuses what it could not load back) and the loader. A
 * device certificate may be as short-lived as 10 s, for tests of renewal and expiry. */
#define CERT_TTL_MIN 10L
#define CERT_TTL_MAX (3650L * DAY)
#define INTERVAL_MIN 30L
#define INTERVAL_MAX DAY

static int load_settings(const char *dir, struct srv_settings *s)
{
    static const char *const keys[] = {"listen",           "url",       "device_cert_ttl",
                                       "checkin_interval", "token_ttl", "command_ttl",
                                       "renew_grace",      NULL};
    char *path = srv_path_join(dir, SRV_FILE_SETTINGS), *text = NULL;
    size_t len = 0;
    json_t *j = NULL;
    struct ward_json_error err;
    const char *listen = NULL, *url = NULL;
    long long v;
    int rc;

    if (!path)
        return WARD_ENOMEM;
    rc = read_file(path, 64 * 1024, &text, &len);
    if (rc != 0)
        goto out;
    rc = ward_json_loadb(text, len, NULL, &j, &err);
    if (rc == 0)
        rc = ward_json_check_keys(j, "$", keys, &err);
    if (rc == 0)
        rc = ward_json_get_str(j, "$", "listen", WARD_JSON_REQUIRED, &listen, &err);
    if (rc == 0)
        rc = ward_json_get_str(j, "$", "url", WARD_JSON_REQUIRED, &url, &err);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "%s: %s: %s", path, err.path, err.text);
        goto out;
    }
    snprintf(s->listen, sizeof(s->listen), "%s", listen);
    snprintf(s->url, sizeof(s->url), "%s", url);
#define GET_LONG(name, field, lo, hi)                                                              \
    do {                                                                                           \
        v = s->field;                                                                              \
        rc = ward_json_get_int(j, "$", name, 0, lo, hi, &v, &err);                                 \
        if (rc != 0) {                                                                             \
            WARD_LOG_ERR(rc, "%s: %s: %s", path, err.path, err.text);                              \
            goto out;                                                                              \
        }                                                                                          \
        s->field = (long)v;                                                                        \
    } while (0)
    GET_LONG("device_cert_ttl", device_cert_ttl, CERT_TTL_MIN, CERT_TTL_MAX);
    GET_LONG("checkin_interval", checkin_interval, INTERVAL_MIN, INTERVAL_MAX);
    GET_LONG("token_ttl", token_ttl, 60, 365L * DAY);
    GET_LONG("command_ttl", command_ttl, 60, 365L * DAY);
    GET_LONG("renew_grace", renew_grace, 0, 30L * DAY);
#undef GET_LONG
out:
    json_decref(j);
    ward_free(text);
    ward_free(path);
    return rc;
}

static void settings_defaults(struct srv_settings *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->listen, sizeof(s->listen), "%s", DEFAULT_LISTEN);
    s->device_cert_ttl = 30 * DAY;
    s->checkin_interval = 900;
    s->token_ttl = DAY;
    s->command_ttl = DAY;
    s->renew_grace = DAY;
}

/* mkdir -p: parents 0755, the data directory itself 0700. */
static int make_dir(const char *dir)
{
    char *p = ward_strdup(dir);
    size_t len;
    int r = 0;
    if (!p)
        return WARD_ENOMEM;
    len = strlen(p);
    for (size_t i = 1; i <= len && r == 0; i++) {
        uv_fs_t req;
        if (i < len && p[i] != '/')
            continue;
        p[i] = '\0';
        r = uv_fs_mkdir(NULL, &req, p, i == len ? 0700 : 0755, NULL);
        uv_fs_req_cleanup(&req);
        if (r == UV_EEXIST)
            r = 0;
        if (i < len)
            p[i] = '/';
    }
    ward_free(p);
    if (r != 0)
        return r == UV_EACCES || r == UV_EPERM ? WARD_EACCES : WARD_EIO;
    return 0;
}

int srv_issuing_ca_create(const char *dir)
{
    X509 *ca = NULL;
    EVP_PKEY *key = NULL;
    int rc = srv_pki_make_ca(SRV_ISSUING_CA_CN, 3650L * DAY, &ca, &key);
    if (rc == 0)
        rc = write_key(dir, SRV_FILE_ISSUING_KEY, key);
    if (rc == 0)
        rc = write_cert(dir, SRV_FILE_ISSUING_CERT, ca, NULL);
    if (rc != 0)
        WARD_LOG_ERR(rc, "cannot create the issuing CA in %s", dir);
    X509_free(ca);
    EVP_PKEY_free(key);
    return rc;
}

int srv_app_init(const char *dir, const struct srv_init_opts *o)
{
    struct srv_settings s;
    X509 *ca = NULL, *srv = NULL;
    EVP_PKEY *ca_key = NULL, *srv_key = NULL, *cmd_key = NULL;
    char host[128], *capath = NULL;
    const char *names_buf[3];
    const char *const *names = o->names;
    size_t n_names = o->n_names;
    char **sans = NULL;
    struct ward_store *store = NULL;
    char *dbpath = NULL;
    struct stat sb;
    int port, rc;

    settings_defaults(&s);
    if (o->listen)
        snprintf(s.listen, sizeof(s.listen), "%s", o->listen);
    if (split_listen(s.listen, host, sizeof(host), &port) != 0 || port == 0) {
        WARD_ERROR("bad --listen '%s' (want HOST:PORT with a port)", s.listen);
        return WARD_EINVAL;
    }
    if (o->device_cert_ttl)
        s.device_cert_ttl = o->device_cert_ttl;
    if (o->checkin_interval)
        s.checkin_interval = o->checkin_interval;
    if (s.device_cert_ttl < CERT_TTL_MIN || s.device_cert_ttl > CERT_TTL_MAX) {
        WARD_ERROR("--device-cert-ttl must be between %ld s and %ld s", CERT_TTL_MIN, CERT_TTL_MAX);
        return WARD_EINVAL;
    }
    if (s.checkin_interval < INTERVAL_MIN || s.checkin_interval > INTERVAL_MAX) {
        WARD_ERROR("--checkin-interval must be between %ld s and %ld s", INTERVAL_MIN,
                   INTERVAL_MAX);
        return WARD_EINVAL;
    }
    if (n_names == 0) {
        names_buf[n_names++] = host;
        if (strcmp(host, "localhost") != 0)
            names_buf[n_names++] = "localhost";
        names = names_buf;
    }
    if (o->url)
        snprintf(s.url, sizeof(s.url), "%s", o->url);
    else if (strchr(names[0], ':'))
        snprintf(s.url, sizeof(s.url), "https://[%s]:%d", names[0], port);
    else
        snprintf(s.url, sizeof(s.url), "https://%s:%d", names[0], port);

    rc = make_dir(dir);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot create data directory %s", dir);
        return rc;
    }
    capath = srv_path_join(dir, SRV_FILE_CA_KEY);
    if (!capath)
        return WARD_ENOMEM;
    if (stat(capath, &sb) == 0) {
        WARD_ERROR("%s already holds a CA; refusing to replace it", dir);
        rc = WARD_EEXIST;
        goto out;
    }

    sans = ward_calloc(n_names, sizeof(*sans));
    if (!sans) {
        rc = WARD_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n_names; i++) {
        size_t n = strlen(names[i]) + 5;
        sans[i] = ward_malloc(n);
        if (!sans[i]) {
            rc = WARD_ENOMEM;
            goto out;
        }
        snprintf(sans[i], n, "%s:%s", is_ip(names[i]) ? "IP" : "DNS", names[i]);
    }

    if ((rc = srv_pki_make_ca("Ward Service CA", 3650L * DAY, &ca, &ca_key)) != 0 ||
        (rc = ward_key_generate_p256(&srv_key)) != 0 ||
        (rc = srv_pki_issue(ca, ca_key, srv_key, names[0], (const char *const *)sans, n_names,
                            o->server_cert_ttl ? o->server_cert_ttl : 825 * DAY, &srv)) != 0 ||
        (rc = ward_ed25519_generate(&cmd_key)) != 0)
        goto out;
    if ((rc = write_key(dir, SRV_FILE_SERVER_KEY, srv_key)) != 0 ||
        (rc = write_cert(dir, SRV_FILE_SERVER_CERT, srv, ca)) != 0 ||
        (rc = write_key(dir, SRV_FILE_COMMAND_KEY, cmd_key)) != 0 ||
        (rc = write_cert(dir, SRV_FILE_CA_CERT, ca, NULL)) != 0 ||
        (rc = srv_issuing_ca_create(dir)) != 0 || (rc = save_settings(dir, &s)) != 0)
        goto out;
    dbpath = srv_path_join(dir, SRV_FILE_DB);
    if (!dbpath) {
        rc = WARD_ENOMEM;
        goto out;
    }
    rc = srv_db_open(dbpath, &store);
    if (rc != 0)
        goto out;
    /* The CA key last: its presence is what marks the directory as initialized. */
    rc = write_key(dir, SRV_FILE_CA_KEY, ca_key);
out:
    if (rc != 0)
        WARD_LOG_ERR(rc, "init of %s failed", dir);
    ward_store_close(store);
    ward_free(dbpath);
    if (sans)
        for (size_t i = 0; i < n_names; i++)
            ward_free(sans[i]);
    ward_free(sans);
    ward_free(capath);
    X509_free(ca);
    X509_free(srv);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(srv_key);
    EVP_PKEY_free(cmd_key);
    return rc;
}

int srv_app_open(const char *dir, struct srv_app **out)
{
    struct srv_app *app;
    char *path = NULL;
    size_t len;
    uint8_t pub[WARD_ED25519_PUB_LEN];
    int rc;

    *out = NULL;
    app = ward_calloc(1, sizeof(*app));
    if (!app)
        return WARD_ENOMEM;
    app->data_dir = ward_strdup(dir);
    if (!app->data_dir) {
        rc = WARD_ENOMEM;
        goto out;
    }
    settings_defaults(&app->settings);

#define PATH(name)                                                                                 \
    do {                                                                                           \
        ward_free(path);                                                                           \
        path = srv_app_path(app, name);                                                            \
        if (!path) {                                                                               \
            rc = WARD_ENOMEM;                                                                      \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

    PATH(SRV_FILE_CA_KEY);
    rc = ward_key_load_pem(path, &app->ca_key);
    if (rc == WARD_ENOENT) {
        WARD_ERROR("%s is not an initialized data directory (run: ward-server --data-dir %s "
                   "init)",
                   dir, dir);
        goto out;
    }
    if (rc != 0)
        goto out;
    if ((rc = load_settings(dir, &app->settings)) != 0)
        goto out;
    PATH(SRV_FILE_CA_CERT);
    if ((rc = read_file(path, 64 * 1024, &app->ca_pem, &len)) != 0 ||
        (rc = ward_x509_parse(app->ca_pem, len, &app->ca_cert)) != 0 ||
        (rc = ward_pin_from_cert(app->ca_cert, app->ca_pin)) != 0)
        goto out;
    PATH(SRV_FILE_COMMAND_KEY);
    if ((rc = ward_key_load_pem(path, &app->command_key)) != 0 ||
        (rc = ward_ed25519_public_raw(app->command_key, pub)) != 0 ||
        (rc = ward_base64_encode(pub, sizeof(pub), 0, &app->command_pub_b64)) != 0)
        goto out;
    PATH(SRV_FILE_DB);
    rc = srv_db_open(path, &app->store);
#undef PATH
out:
    ward_free(path);
    if (rc != 0) {
        if (rc != WARD_ENOENT)
            WARD_LOG_ERR(rc, "cannot open data directory %s", dir);
        srv_app_close(app);
        return rc;
    }
    *out = app;
    return 0;
}

int srv_stmt(struct srv_app *app, const char *sql, sqlite3_stmt **out)
{
    struct srv_stmt_slot *free_slot = NULL;
    int rc;
    *out = NULL;
    for (size_t i = 0; i < SRV_STMT_CACHE; i++) {
        struct srv_stmt_slot *sl = &app->stmts[i];
        if (sl->sql == sql && !sl->busy) {
            sl->busy = 1;
            *out = sl->st;
            return 0;
        }
        if (!sl->sql && !free_slot)
            free_slot = sl;
    }
    if (!free_slot)
        return ward_store_prepare(app->store, sql, out);
    rc = ward_store_code(sqlite3_prepare_v3(ward_store_db(app->store), sql, -1,
                                            SQLITE_PREPARE_PERSISTENT, &free_slot->st, NULL));
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot prepare a statement: %s",
                     sqlite3_errmsg(ward_store_db(app->store)));
        return rc;
    }
    free_slot->sql = sql;
    free_slot->busy = 1;
    *out = free_slot->st;
    return 0;
}

void srv_stmt_done(struct srv_app *app, sqlite3_stmt *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < SRV_STMT_CACHE; i++) {
        if (app->stmts[i].st == st) {
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            app->stmts[i].busy = 0;
            return;
        }
    }
    sqlite3_finalize(st);
}

void srv_app_close(struct srv_app *app)
{
    if (!app)
        return;
    for (size_t i = 0; i < SRV_STMT_CACHE; i++)
        sqlite3_finalize(app->stmts[i].st);
    ward_store_close(app->store);
    X509_free(app->ca_cert);
    EVP_PKEY_free(app->ca_key);
    EVP_PKEY_free(app->command_key);
    ward_free(app->ca_pem);
    ward_free(app->command_pub_b64);
    ward_free(app->data_dir);
    ward_free(app);
}

int srv_event(struct srv_app *app, const char *kind, const char *device_id, const char *token_id,
              const char *detail)
{
    sqlite3_stmt *st = NULL;
    int rc = ward_store_prepare(app->store,
                                "INSERT INTO events(at, kind, device_id, token_id, detail) "
                                "VALUES (?1, ?2, ?3, ?4, ?5)",
                                &st);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(st, 1, srv_now());
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, device_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, token_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, detail, -1, SQLITE_STATIC);
    rc = ward_store_step(app->store, st);
    sqlite3_finalize(st);
    if (rc != 0)
        WARD_LOG_ERR(rc, "cannot record %s event", kind);
    return rc;
}

/* See app.h. */
int srv_parse_duration(const char *s, long *out)
{
    char *end;
    long mult = 1, v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || v <= 0)
        return WARD_EPARSE;
    if (*end) {
        if (end[1])
            return WARD_EPARSE;
        switch (*end) {
        case 's':
            mult = 1;
            break;
        case 'm':
            mult = 60;
            break;
        case 'h':
            mult = 3600;
            break;
        case 'd':
            mult = 86400;
            break;
        default:
            return WARD_EPARSE;
        }
    }
    if (v > 100L * 365 * 86400 / mult)
        return WARD_EPARSE;
    *out = v * mult;
    return 0;
}

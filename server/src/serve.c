/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `ward-server serve`: the HTTPS engine with the protocol's routes (a table: method, path,
 * whether a device certificate is required, handler; JSON bodies except on raw-body routes
 * such as EST's, server/est.h), the long-poll registry, and the
 * admin socket through which `ward-server wake` and `command send` (separate processes
 * sharing the database) wake a device's held wait. One libuv loop; SIGTERM/SIGINT stop it
 * cleanly.
 */
#define WARD_LOG_TAG "srv"

#include "server/serve.h"

#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "server/app.h"
#include "server/baselines.h"
#include "server/est.h"
#include "server/files.h"
#include "server/http.h"
#include "server/inventory.h"
#include "server/tls.h"
#include "platform/ipc.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"

#define WAIT_DEFAULT_S 55
#define WAIT_MIN_S 1
#define WAIT_MAX_S 300
#define WAIT_BUCKETS 4096

struct service;

/* A held long-poll request, or a wake that arrived while none was held. */
struct waiter {
    struct waiter *next;
    struct service *svc;
    char device_id[64];
    struct srv_req *req; /* NULL: a wake is pending for the next wait */
    uv_timer_t timer;
    int timer_live;
};

struct service {
    uv_loop_t *loop;
    struct srv_app *app;
    struct srv_est *est;
    SSL_CTX *ssl;
    struct srv_http *http;
    uv_signal_t sig_term, sig_int;
    struct plat_ipc_server *admin;
    char *admin_path;
    struct waiter *waits[WAIT_BUCKETS];
    size_t n_waits;
    int stopping;
};

struct route {
    const char *method;
    const char *path;
    int device_auth;
    void (*fn)(struct service *s, struct srv_req *r, const char *device_id, json_t *body);
    size_t body_max; /* decoded body cap; 0: the engine's default (1 MiB) */
    int prefix;      /* path ends in '/' and names a collection: "<path><id>" matches */
    /* "<path><label><suffix>" matches, label one non-empty segment (RFC 7030 3.2.2). */
    const char *suffix;
    /* The body is not JSON: the handler reads it (srv_req_body), body is NULL; errors the
     * engine's routing answers are text/plain, as the protocol of such a route expects. */
    int raw_body;
};

/* An error from routing, in the form the route's protocol uses. */
static void route_error(struct srv_req *r, const struct route *rt, int status, const char *code,
                        const char *message)
{
    if (rt && rt->raw_body) {
        char text[256];
        int n = snprintf(text, sizeof(text), "%s\n", message);
        srv_req_respond(r, status, "text/plain; charset=utf-8", text,
                        n > 0 && (size_t)n < sizeof(text) ? (size_t)n : strlen(text), NULL, 0);
    } else {
        srv_req_respond_error(r, status, code, message);
    }
}

/* ---- long-poll registry ------------------------------------------------------------- */

static unsigned bucket_of(const char *id)
{
    unsigned h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h % WAIT_BUCKETS;
}

static struct waiter **find_waiter(struct service *s, const char *device_id)
{
    struct waiter **w = &s->waits[bucket_of(device_id)];
    while (*w && strcmp((*w)->device_id, device_id) != 0)
        w = &(*w)->next;
    return w;
}

static void waiter_free_cb(uv_handle_t *h)
{
    ward_free(h->data);
}

/* Unlinks w and frees it (after its timer closes). Does not touch w->req. */
static void waiter_remove(struct service *s, struct waiter *w)
{
    struct waiter **p = find_waiter(s, w->device_id);
    if (*p == w) {
        *p = w->next;
        s->n_waits--;
    }
    if (w->timer_live) {
        w->timer.data = w;
        uv_close((uv_handle_t *)&w->timer, waiter_free_cb);
    } else {
        ward_free(w);
    }
}

static void wait_answer(struct waiter *w, int woken)
{
    struct service *s = w->svc;
    struct srv_req *r = w->req;
    w->req = NULL;
    waiter_remove(s, w);
    if (!r)
        return;
    if (woken) {
        json_t *j = json_pack("{s:s}", "wake", "command");
        if (j)
            srv_req_respond_json(r, 200, j, NULL, 0);
        else
            srv_req_respond_error(r, 500, "internal", "out of memory");
        json_decref(j);
    } else {
        srv_req_respond(r, 204, NULL, NULL, 0, NULL, 0);
    }
}

static void wait_timeout(uv_timer_t *t)
{
    wait_answer(t->data, 0);
}

static void wait_aborted(struct srv_req *r, void *arg)
{
    struct waiter *w = arg;
    (void)r;
    w->req = NULL;
    waiter_remove(w->svc, w);
}

/* Wakes the device's held wait, or remembers the wake for its next one. */
static int wake_device(struct service *s, const char *device_id)
{
    struct waiter **p = find_waiter(s, device_id), *w;
    if (*p) {
        if ((*p)->req) {
            wait_answer(*p, 1);
            return 1;
        }
        return 0; /* a wake is already pending */
    }
    w = ward_calloc(1, sizeof(*w));
    if (!w)
        return WARD_ENOMEM;
    w->svc = s;
    snprintf(w->device_id, sizeof(w->device_id), "%s", device_id);
    w->next = s->waits[bucket_of(device_id)];
    s->waits[bucket_of(device_id)] = w;
    s->n_waits++;
    return 0;
}

static void route_wait(struct service *s, struct srv_req *r, const char *device_id, json_t *body)
{
    const char *ts = srv_req_query(r, "timeout"), *seq = srv_req_query(r, "seq");
    long timeout = WAIT_DEFAULT_S;
    long long seq_high = -1;
    struct waiter **p, *w;
    char *end;
    (void)body;

    if (ts) {
        timeout = strtol(ts, &end, 10);
        if (*end || timeout < WAIT_MIN_S || timeout > WAIT_MAX_S) {
            srv_req_respond_error(r, 400, "bad_request", "timeout must be 1..300 seconds");
            return;
        }
    }
    if (seq) {
        seq_high = strtoll(seq, &end, 10);
        if (*end || seq_high < 0) {
            srv_req_respond_error(r, 400, "bad_request", "seq must be a non-negative integer");
            return;
        }
    }
    p = find_waiter(s, device_id);
    if (*p && !(*p)->req) {
        /* A wake arrived while no wait was held. */
        waiter_remove(s, *p);
        json_t *j = json_pack("{s:s}", "wake", "command");
        srv_req_respond_json(r, 200, j, NULL, 0);
        json_decref(j);
        return;
    }
    /* A command queued between the device's check-in and this wait must not be missed. */
    if (seq_high >= 0 && srv_has_pending(s->app, device_id, seq_high)) {
        json_t *j = json_pack("{s:s}", "wake", "command");
        srv_req_respond_json(r, 200, j, NULL, 0);
        json_decref(j);
        return;
    }
    if (*p)
        wait_answer(*p, 0); /* one wait per device: the older one ends */
    w = ward_calloc(1, sizeof(*w));
    if (!w || uv_timer_init(s->loop, &w->timer) != 0) {
        ward_free(w);
        srv_req_respond_error(r, 503, "unavailable", "cannot hold the request");
        return;
    }
    w->timer_live = 1;
    w->timer.data = w;
    w->svc = s;
    w->req = r;
    snprintf(w->device_id, sizeof(w->device_id), "%s", device_id);
    w->next = s->waits[bucket_of(device_id)];
    s->waits[bucket_of(device_id)] = w;
    s->n_waits++;
    srv_req_set_abort_cb(r, wait_aborted, w);
    uv_timer_start(&w->timer, wait_timeout, (uint64_t)timeout * 1000, 0);
}

/* ---- routes ------------------------------------------------------------------------- */

static const char *str_member(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int status_of_code(const char *code)
{
    static const struct {
        const char *code;
        int status;
    } map[] = {
        {"bad_request", 400},    {"bad_csr", 400},       {"token_invalid", 401},
        {"token_expired", 401},  {"token_used_up", 401}, {"token_revoked", 401},
        {"device_revoked", 403}, {"conflict", 409},      {"internal", 500},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(map[i].code, code) == 0)
            return map[i].status;
    return 500;
}

static const char *code_message(const char *code)
{
    if (strcmp(code, "token_invalid") == 0)
        return "unknown enrollment token or wrong secret";
    if (strcmp(code, "token_expired") == 0)
        return "enrollment token has expired";
    if (strcmp(code, "token_used_up") == 0)
        return "enrollment token has no uses left";
    if (strcmp(code, "token_revoked") == 0)
        return "enrollment token was revoked";
    if (strcmp(code, "bad_csr") == 0)
        return "CSR unparsable, badly signed, or not an EC P-256 key";
    if (strcmp(code, "device_revoked") == 0)
        return "device certificate revoked or superseded";
    return "internal error";
}

static void route_enroll(struct service *s, struct srv_req *r, const char *device_id, json_t *body)
{
    struct srv_enroll_req e = {0};
    const char *code = "internal";
    json_t *resp = NULL;
    int rc;
    (void)device_id;

    e.token = str_member(body, "token");
    e.csr_pem = str_member(body, "csr");
    if (!e.token || !e.csr_pem) {
        srv_req_respond_error(r, 400, "bad_request", "token and csr are required strings");
        return;
    }
    e.csr_len = strlen(e.csr_pem);
    e.hostname = str_member(body, "hostname");
    e.machine_id = str_member(body, "machine_id");
    e.os = str_member(body, "os");
    e.agent_version = str_member(body, "agent_version");
    e.peer_addr = srv_req_peer_addr(r);
    rc = srv_enroll(s->app, &e, &resp, &code);
    if (rc == 0) {
        srv_req_respond_json(r, 201, resp, NULL, 0);
    } else {
        WARD_WARN("enrollment from %s refused: %s", e.peer_addr ? e.peer_addr : "?", code);
        srv_req_respond_error(r, status_of_code(code), code, code_message(code));
    }
    json_decref(resp);
}

static void route_checkin(struct service *s, struct srv_req *r, const char *device_id, json_t *body)
{
    json_t *resp = NULL;
    int rc = srv_checkin(s->app, device_id, body, srv_req_peer_addr(r), &resp);
    if (rc == 0)
        srv_req_respond_json(r, 200, resp, NULL, 0);
    else if (rc == WARD_EINVAL)
        srv_req_respond_error(r, 400, "bad_request", "check-in fields have the wrong type");
    else if (rc == WARD_EREVOKED)
        srv_req_respond_error(r, 403, "device_revoked", code_message("device_revoked"));
    else
        srv_req_respond_error(r, rc == WARD_EBUSY ? 503 : 500,
                              rc == WARD_EBUSY ? "unavailable" : "internal", ward_strerror(rc));
    json_decref(resp);
}

static void route_results(struct service *s, struct srv_req *r, const char *device_id, json_t *body)
{
    json_t *resp = NULL;
    X509 *cert = srv_req_peer_cert(r);
    int rc = srv_results(s->app, device_id, cert ? X509_get0_pubkey(cert) : NULL, body, &resp);
    if (rc == 0)
        srv_req_respond_json(r, 200, resp, NULL, 0);
    else if (rc == WARD_EINVAL)
        srv_req_respond_error(r, 400, "bad_request", "results must be an array");
    else
        srv_req_respond_error(r, 500, "internal", ward_strerror(rc));
    json_decref(resp);
}

static void route_renew(struct service *s, struct srv_req *r, const char *device_id, json_t *body)
{
    const char *csr = str_member(body, "csr"), *code = "internal";
    json_t *resp = NULL;
    int rc;
    if (!csr) {
        srv_req_respond_error(r, 400, "bad_request", "csr is a required string");
        return;
    }
    rc = srv_renew(s->app, device_id, csr, strlen(csr), &resp, &code);
    if (rc == 0)
        srv_req_respond_json(r, 200, resp, NULL, 0);
    else
        srv_req_respond_error(r, status_of_code(code), code, code_message(code));
    json_decref(resp);
}

static void route_inventory(struct service *s, struct srv_req *r, const char *device_id,
                            json_t *body)
{
    const char *cl = srv_req_header(r, "Content-Length");
    size_t body_len = 0, wire = 0;
    json_t *resp = NULL;
    int status = 500, rc;

    srv_req_body(r, &body_len);
    wire = cl ? (size_t)strtoull(cl, NULL, 10) : body_len;
    rc = srv_inventory_upload(s->app, device_id, body, wire, body_len, &status, &resp);
    if (rc == 0)
        srv_req_respond_json(r, status, resp, NULL, 0);
    else
        srv_req_respond_error(r, 500, "internal", ward_strerror(rc));
    json_decref(resp);
}

/* GET /api/v1/baselines/<id>?version=N: the exact document bytes, only for a baseline
 * assigned to this device (anything else is 404, so ids of other baselines do not leak). */
static void route_baseline_get(struct service *s, struct srv_req *r, const char *device_id,
                               json_t *body)
{
    const char *id = srv_req_path(r) + strlen("/api/v1/baselines/"),
               *vs = srv_req_query(r, "version");
    long long version = 0;
    char *doc = NULL, *end, sha[65], etag[80];
    size_t len = 0;
    int rc;
    (void)body;

    if (vs) {
        version = strtoll(vs, &end, 10);
        if (*end || version < 1) {
            srv_req_respond_error(r, 400, "bad_request", "version must be a positive integer");
            return;
        }
    }
    rc = srv_baseline_fetch(s->app, device_id, id, version, &doc, &len, sha);
    if (rc == WARD_ENOENT) {
        srv_req_respond_error(r, 404, "not_found",
                              "no such baseline version assigned to this device");
    } else if (rc != 0) {
        srv_req_respond_error(r, 500, "internal", ward_strerror(rc));
    } else {
        struct srv_header h = {.name = "ETag", .value = etag};
        snprintf(etag, sizeof(etag), "\"sha256:%s\"", sha);
        srv_req_respond(r, 200, "application/json", doc, len, &h, 1);
    }
    ward_free(doc);
}

static void route_compliance(struct service *s, struct srv_req *r, const char *device_id,
                             json_t *body)
{
    json_t *resp = NULL;
    char msg[WARD_JSON_PATH_MAX + 128];
    int rc = srv_compliance_post(s->app, device_id, body, &resp, msg, sizeof(msg));
    if (rc == 0)
        srv_req_respond_json(r, 200, resp, NULL, 0);
    else if (rc == WARD_EINVAL)
        srv_req_respond_error(r, 400, "bad_request", msg);
    else if (rc == WARD_ENOENT)
        srv_req_respond_error(r, 409, "conflict", msg);
    else
        srv_req_respond_error(r, rc == WARD_EBUSY ? 503 : 500,
                              rc == WARD_EBUSY ? "unavailable" : "internal", ward_strerror(rc));
    json_decref(resp);
}

/* GET /api/v1/files/<sha256>: a stored file, whole or one byte range, streamed from disk.
 * Any enrolled device may fetch any stored file: the name is its content's hash, which
 * only a command the device received tells it. */
static void route_file_get(struct service *s, struct srv_req *r, const char *device_id,
                           json_t *body)
{
    const char *sha = srv_req_path(r) + strlen(SRV_FILES_URL_PREFIX);
    char etag[80], crange[96];
    struct srv_header h[4] = {{"Accept-Ranges", "bytes"}, {"ETag", etag}};
    int64_t len = 0, first = 0, last = 0;
    int fd = -1, rc, ranged;
    (void)body;

    rc = srv_file_open(s->app, sha, &fd, &len);
    if (rc == WARD_ENOENT) {
        srv_req_respond_error(r, 404, "not_found", "no such file");
        return;
    }
    if (rc != 0) {
        srv_req_respond_error(r, 500, "internal", ward_strerror(rc));
        return;
    }
    snprintf(etag, sizeof(etag), "\"sha256:%s\"", sha);
    ranged = srv_range_parse(srv_req_header(r, "Range"), len, &first, &last);
    if (ranged == SRV_RANGE_UNSATISFIABLE) {
        json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", "range_not_satisfiable", "message",
                              "the range starts at or beyond the end of the file");
        close(fd);
        snprintf(crange, sizeof(crange), "bytes */%lld", (long long)len);
        h[2] = (struct srv_header){"Content-Range", crange};
        if (j)
            srv_req_respond_json(r, 416, j, h, 3);
        else
            srv_req_respond_error(r, 500, "internal", "out of memory");
        json_decref(j);
        return;
    }
    WARD_DEBUG("%s: file %.16s... %s", device_id, sha, ranged ? "range" : "whole");
    if (ranged) {
        snprintf(crange, sizeof(crange), "bytes %lld-%lld/%lld", (long long)first, (long long)last,
                 (long long)len);
        h[2] = (struct srv_header){"Content-Range", crange};
        srv_req_respond_file(r, 206, "application/octet-stream", fd, (uint64_t)first,
                             (uint64_t)(last - first + 1), h, 3);
    } else {
        srv_req_respond_file(r, 200, "application/octet-stream", fd, 0, (uint64_t)len, h, 2);
    }
}

/* ---- EST (RFC 7030; server/est.h) ---------------------------------------------------- */

static void est_text(struct srv_req *r, int status, const char *text)
{
    char line[300];
    int n = snprintf(line, sizeof(line), "%s\n", text);
    srv_req_respond(r, status, "text/plain; charset=utf-8", line,
                    n > 0 && (size_t)n < sizeof(line) ? (size_t)n : strlen(line), NULL, 0);
}

/* The label of "/.well-known/est/<label>/<op>" into out; "" for the unlabelled form. */
static void est_label(struct srv_req *r, char *out, size_t outlen)
{
    const char *p = srv_req_path(r) + strlen(SRV_EST_PREFIX), *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : 0;
    snprintf(out, outlen, "%.*s", (int)(n < outlen ? n : 0), p);
    if (slash && n >= outlen)
        snprintf(out, outlen, "%s", "?"); /* too long for an id: answered as unknown */
}

static void route_est_cacerts(struct service *s, struct srv_req *r, const char *device_id,
                              json_t *body)
{
    static const struct srv_header cte = {"Content-Transfer-Encoding", "base64"};
    const char *p7;
    char label[80];
    size_t len;
    int rc;
    (void)device_id;
    (void)body;

    est_label(r, label, sizeof(label));
    if (label[0] && (rc = srv_est_profile_exists(s->est, label)) != 1) {
        if (rc == 0)
            est_text(r, 404, "no such certificate profile");
        else
            est_text(r, 500, ward_strerror(rc));
        return;
    }
    p7 = srv_est_cacerts(s->est, &len);
    srv_req_respond(r, 200, "application/pkcs7-mime", p7, len, &cte, 1);
}

static void est_enroll(struct service *s, struct srv_req *r, const char *device_id, int reenroll)
{
    static const struct srv_header cte = {"Content-Transfer-Encoding", "base64"};
    const char *ct = srv_req_header(r, "Content-Type"), *body;
    struct srv_est_answer a;
    char label[80];
    size_t len = 0;
    int rc;

    est_label(r, label, sizeof(label));
    /* RFC 7030 4.2.1: application/pkcs10. A missing type is let through (the body decides). */
    if (ct && (strncasecmp(ct, "application/pkcs10", 18) != 0 ||
               (ct[18] && ct[18] != ';' && ct[18] != ' '))) {
        est_text(r, 415, "Content-Type must be application/pkcs10");
        return;
    }
    body = srv_req_body(r, &len);
    rc = srv_est_enroll(s->est, device_id, label, reenroll, body, len, &a);
    if (rc != 0) {
        est_text(r, rc == WARD_EBUSY ? 503 : 500, ward_strerror(rc));
    } else if (a.status == 200) {
        srv_req_respond(r, 200, "application/pkcs7-mime; smime-type=certs-only", a.body, a.len,
                        &cte, 1);
    } else {
        WARD_INFO("%s: EST %s for '%s' refused: %s", device_id,
                  reenroll ? "simplereenroll" : "simpleenroll", label, a.text);
        est_text(r, a.status, a.text);
    }
    ward_free(a.body);
}

static void route_est_enroll(struct service *s, struct srv_req *r, const char *device_id,
                             json_t *body)
{
    (void)body;
    est_enroll(s, r, device_id, 0);
}

static void route_est_reenroll(struct service *s, struct srv_req *r, const char *device_id,
                               json_t *body)
{
    (void)body;
    est_enroll(s, r, device_id, 1);
}

static const struct route routes[] = {
    {.method = "POST", .path = "/api/v1/enroll", .device_auth = 0, .fn = route_enroll},
    {.method = "POST", .path = "/api/v1/checkin", .device_auth = 1, .fn = route_checkin},
    {.method = "POST", .path = "/api/v1/results", .device_auth = 1, .fn = route_results},
    {.method = "POST", .path = "/api/v1/renew", .device_auth = 1, .fn = route_renew},
    {.method = "GET", .path = "/api/v1/wait", .device_auth = 1, .fn = route_wait},
    {.method = "POST",
     .path = "/api/v1/inventory",
     .device_auth = 1,
     .fn = route_inventory,
     .body_max = SRV_INVENTORY_MAX_BODY},
    {.method = "GET",
     .path = "/api/v1/baselines/",
     .device_auth = 1,
     .fn = route_baseline_get,
     .prefix = 1},
    {.method = "POST",
     .path = "/api/v1/compliance",
     .device_auth = 1,
     .fn = route_compliance,
     .body_max = SRV_COMPLIANCE_MAX_BYTES},
    {.method = "GET",
     .path = SRV_FILES_URL_PREFIX,
     .device_auth = 1,
     .fn = route_file_get,
     .prefix = 1},
    {.method = "GET",
     .path = SRV_EST_PREFIX "cacerts",
     .device_auth = 1,
     .fn = route_est_cacerts,
     .raw_body = 1},
    {.method = "GET",
     .path = SRV_EST_PREFIX,
     .suffix = "/cacerts",
     .device_auth = 1,
     .fn = route_est_cacerts,
     .raw_body = 1},
    {.method = "POST",
     .path = SRV_EST_PREFIX,
     .suffix = "/simpleenroll",
     .device_auth = 1,
     .fn = route_est_enroll,
     .body_max = SRV_EST_MAX_BODY,
     .raw_body = 1},
    {.method = "POST",
     .path = SRV_EST_PREFIX,
     .suffix = "/simplereenroll",
     .device_auth = 1,
     .fn = route_est_reenroll,
     .body_max = SRV_EST_MAX_BODY,
     .raw_body = 1},
    {.method = NULL},
};

static int route_matches(const struct route *rt, const char *path)
{
    size_t n = strlen(rt->path);
    if (rt->suffix) {
        size_t sl = strlen(rt->suffix), pl = strlen(path);
        return pl > n + sl && strncmp(rt->path, path, n) == 0 &&
               strcmp(path + pl - sl, rt->suffix) == 0 && !memchr(path + n, '/', pl - n - sl);
    }
    if (rt->prefix)
        return strncmp(rt->path, path, n) == 0 && path[n] != '\0' && !strchr(path + n, '/');
    return strcmp(rt->path, path) == 0;
}

static void handle(struct srv_req *r, void *ctx)
{
    struct service *s = ctx;
    const char *path = srv_req_path(r), *method = srv_req_method(r);
    const struct route *rt, *match = NULL;
    char *device_id = NULL;
    json_t *body = NULL;
    int rc;

    for (rt = routes; rt->method; rt++) {
        if (!route_matches(rt, path))
            continue;
        match = rt;
        if (strcmp(rt->method, method) == 0)
            break;
    }
    if (!match) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no endpoint %.120s", path);
        srv_req_respond_error(r, 404, "not_found", msg);
        return;
    }
    if (!rt->method) {
        route_error(r, match, 405, "method_not_allowed", "wrong method for this endpoint");
        return;
    }
    if (s->stopping) {
        route_error(r, rt, 503, "unavailable", "shutting down");
        return;
    }
    if (rt->device_auth) {
        X509 *cert = srv_req_peer_cert(r);
        if (!cert) {
            route_error(r, rt, 401, "client_certificate_required",
                        "this endpoint needs a device certificate");
            return;
        }
        rc = srv_device_auth(s->app, cert, &device_id);
        if (rc == WARD_EREVOKED) {
            route_error(r, rt, 403, "device_revoked", code_message("device_revoked"));
            return;
        }
        if (rc != 0) {
            route_error(r, rt, rc == WARD_EBUSY ? 503 : 500,
                        rc == WARD_EBUSY ? "unavailable" : "internal", ward_strerror(rc));
            return;
        }
    }
    if (strcmp(rt->method, "POST") == 0 && !rt->raw_body) {
        struct ward_json_error jerr;
        struct ward_json_limits lim = {.max_bytes = rt->body_max};
        size_t len = 0;
        const char *text = srv_req_body(r, &len);
        rc = ward_json_loadb(text, len, &lim, &body, &jerr);
        if (rc == 0 && !json_is_object(body))
            rc = WARD_EPARSE;
        if (rc != 0) {
            char msg[WARD_JSON_PATH_MAX + WARD_JSON_TEXT_MAX + 8];
            snprintf(msg, sizeof(msg), "%s: %s", jerr.path,
                     rc == WARD_EPARSE && body ? "body must be a JSON object" : jerr.text);
            srv_req_respond_error(r, rc == WARD_ETOOBIG ? 413 : 400,
                                  rc == WARD_ETOOBIG ? "too_large" : "bad_request", msg);
            goto out;
        }
    }
    rt->fn(s, r, device_id, body);
out:
    json_decref(body);
    ward_free(device_id);
}

/* ---- admin socket ------------------------------------------------------------------- */

/* The CLI on this machine wakes a device's long-poll through platform/ipc.h (frames of
 * JSON, the same module as the agent's local IPC): {"verb": "wake", "device": ID} answers
 * {"ok": true, "result": {"woken": true|false}} (false: queued for its next poll), and
 * {"verb": "ping"}. The socket is 0600 in the data directory; a peer that is neither
 * root nor the server's own user is refused as well. */
static void admin_answer(struct plat_ipc_conn *c, const char *text)
{
    plat_ipc_send(c, text, strlen(text));
}

static void admin_frame(void *ctx, struct plat_ipc_conn *c, int rc, const char *buf, size_t len)
{
    struct service *s = ctx;
    const struct plat_ipc_peer *p = plat_ipc_conn_peer(c);
    json_t *j = NULL;
    const char *verb, *dev;
    if (rc != 0 || (!p->admin && p->uid != (int64_t)geteuid())) {
        admin_answer(c, rc != 0 ? "{\"ok\":false,\"error\":{\"code\":\"too_large\"}}"
                                : "{\"ok\":false,\"error\":{\"code\":\"denied\"}}");
        plat_ipc_conn_close(c);
        return;
    }
    if (ward_json_loadb(buf, len, NULL, &j, NULL) != 0 || !json_is_object(j)) {
        admin_answer(c, "{\"ok\":false,\"error\":{\"code\":\"bad_request\"}}");
        json_decref(j);
        return;
    }
    verb = json_string_value(json_object_get(j, "verb"));
    dev = json_string_value(json_object_get(j, "device"));
    if (verb && strcmp(verb, "wake") == 0 && dev && dev[0]) {
        int r = wake_device(s, dev);
        admin_answer(c, r == 1   ? "{\"ok\":true,\"result\":{\"woken\":true}}"
                        : r == 0 ? "{\"ok\":true,\"result\":{\"woken\":false}}"
                                 : "{\"ok\":false,\"error\":{\"code\":\"internal\"}}");
    } else if (verb && strcmp(verb, "ping") == 0) {
        admin_answer(c, "{\"ok\":true,\"result\":{}}");
    } else {
        admin_answer(c, "{\"ok\":false,\"error\":{\"code\":\"unknown_verb\"}}");
    }
    json_decref(j);
}

static int admin_start(struct service *s)
{
    struct plat_ipc_server_opts o = {
        .public_access = 0, .max_frame = 4096, .max_conns = 16, .idle_ms = 10000};
    struct plat_ipc_server_cb cb = {.frame = admin_frame, .ctx = s};
    char why[512];
    int rc;
    s->admin_path = srv_app_path(s->app, SRV_FILE_ADMIN_SOCK);
    if (!s->admin_path)
        return WARD_ENOMEM;
    o.path = s->admin_path;
    rc = plat_ipc_listen(s->loop, &o, &cb, &s->admin, why, sizeof(why));
    if (rc != 0)
        WARD_LOG_ERR(rc, "admin socket %s: %s", s->admin_path, why);
    return rc;
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static void close_cb(uv_handle_t *h)
{
    (void)h;
}

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, close_cb);
}

static void http_closed(void *arg)
{
    struct service *s = arg;
    s->http = NULL;
    plat_ipc_close(s->admin, NULL, NULL);
    s->admin = NULL;
    uv_close((uv_handle_t *)&s->sig_term, close_cb);
    uv_close((uv_handle_t *)&s->sig_int, close_cb);
}

static void drop_pending_wakes(struct service *s)
{
    for (size_t b = 0; b < WAIT_BUCKETS; b++) {
        struct waiter *w = s->waits[b], *next;
        for (; w; w = next) {
            next = w->next;
            if (!w->req)
                waiter_remove(s, w);
        }
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct service *s = h->data;
    if (s->stopping)
        return;
    s->stopping = 1;
    WARD_INFO("stopping (%s)", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    drop_pending_wakes(s);
    srv_http_close(s->http, http_closed, s);
}

static size_t body_limit(const char *method, const char *path, void *ctx)
{
    (void)ctx;
    for (const struct route *rt = routes; rt->method; rt++)
        if (strcmp(rt->method, method) == 0 && route_matches(rt, path))
            return rt->body_max; /* 0: the default 1 MiB */
    return 0;
}

int srv_serve(const char *data_dir, const struct srv_serve_opts *o)
{
    struct service s;
    struct srv_http_opts ho;
    uv_loop_t loop;
    char *cert = NULL, *key = NULL, *ca = NULL;
    int rc;

    memset(&s, 0, sizeof(s));
    if (uv_loop_init(&loop) != 0)
        return WARD_EIO;
    s.loop = &loop;
    rc = srv_app_open(data_dir, &s.app);
    if (rc != 0)
        goto out;
    cert = srv_app_path(s.app, SRV_FILE_SERVER_CERT);
    key = srv_app_path(s.app, SRV_FILE_SERVER_KEY);
    ca = srv_app_path(s.app, SRV_FILE_CA_CERT);
    if (!cert || !key || !ca) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if ((rc = srv_est_open(s.app, &s.est)) != 0)
        goto out;
    if ((rc = srv_tls_ctx_new(cert, key, ca, &s.ssl)) != 0)
        goto out;
    memset(&ho, 0, sizeof(ho));
    ho.listen = o && o->listen ? o->listen : s.app->settings.listen;
    ho.ssl_ctx = s.ssl;
    ho.handler = handle;
    ho.body_limit = body_limit;
    ho.ctx = &s;
    if ((rc = srv_http_new(&loop, &ho, &s.http)) != 0) {
        WARD_LOG_ERR(rc, "cannot listen on %s", ho.listen);
        goto out;
    }
    if ((rc = admin_start(&s)) != 0) {
        srv_http_close(s.http, NULL, NULL);
        uv_run(&loop, UV_RUN_DEFAULT);
        goto out;
    }
    uv_signal_init(&loop, &s.sig_term);
    uv_signal_init(&loop, &s.sig_int);
    s.sig_term.data = s.sig_int.data = &s;
    uv_signal_start(&s.sig_term, on_signal, SIGTERM);
    uv_signal_start(&s.sig_int, on_signal, SIGINT);
    /* Scripts wait for this line: it is printed once the port is bound. */
    printf("ward-server listening on %s (port %d), data in %s\n", ho.listen, srv_http_port(s.http),
           data_dir);
    fflush(stdout);
    WARD_INFO("serving %s on port %d", s.app->settings.url, srv_http_port(s.http));
    uv_run(&loop, UV_RUN_DEFAULT);
    WARD_INFO("stopped");
out:
    /* Let close callbacks of anything a failed start left behind run: first those already
     * queued (they may close more handles their own way: a failed listen closes its grace
     * timer from the listener's close callback), then whatever is still open. */
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_walk(&loop, close_walk, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    ward_free(s.admin_path); /* the socket went with plat_ipc_close */
    if (uv_loop_close(&loop) != 0) {
        WARD_LOG_ERR(WARD_EBUSY, "event loop still had open handles at exit");
        if (rc == 0)
            rc = WARD_EBUSY;
    }
    SSL_CTX_free(s.ssl);
    srv_est_free(s.est);
    srv_app_close(s.app);
    ward_free(cert);
    ward_free(key);
    ward_free(ca);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's session with the service: identity, the shared HTTPS client, renewal, JSON
 * POSTs and the download sink (agent/session.h).
 */
#define WARD_LOG_TAG "session"

#include "agent/session.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "agent/config.h"
#include "agent/state.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/time.h"

#define URL_MAX 1024
#define DL_TRIES 4 /* one download and three resumptions after transport failures */

struct agent_session {
    uv_loop_t *loop;
    struct agent_state *st;
    const struct agent_config *cfg;
    struct agent_identity id;
    int have_id;
    struct agent_http *http;
    EVP_PKEY *renew_key;
    agent_session_renew_fn renew_cb;
    void *renew_ctx;
    int closing;
};

struct agent_session_dl {
    struct agent_session *s;
    struct agent_http_req *req;
    char url[URL_MAX];
    char sha256[65];
    uint64_t length;
    char *dest;
    int fd;
    EVP_MD_CTX *md;
    struct agent_http_sink sink;
    unsigned tries;
    agent_session_dl_fn cb;
    void *ctx;
};

int agent_session_new(uv_loop_t *loop, struct agent_state *st, const struct agent_config *cfg,
                      struct agent_session **out)
{
    struct agent_session *s = ward_calloc(1, sizeof(*s));
    *out = NULL;
    if (!s)
        return WARD_ENOMEM;
    s->loop = loop;
    s->st = st;
    s->cfg = cfg;
    *out = s;
    return 0;
}

static int http_build(struct agent_session *s)
{
    struct agent_http_opts o;
    char *key = NULL;
    size_t keylen = 0;
    int rc;

    rc = agent_identity_key_pem(&s->id, &key, &keylen);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot read the device key %s", s->id.key_path);
        return rc;
    }
    memset(&o, 0, sizeof(o));
    o.ca_pem = s->id.ca_pem;
    o.ca_pem_len = strlen(s->id.ca_pem);
    o.extra_ca_file = s->cfg->extra_ca_file;
    o.client_cert_pem = s->id.cert_pem;
    o.client_cert_pem_len = strlen(s->id.cert_pem);
    o.client_key_pem = key;
    o.client_key_pem_len = keylen;
    o.proxy = s->cfg->proxy;
    o.no_proxy = s->cfg->no_proxy;
    o.connect_timeout_ms = (long)s->cfg->connect_timeout * 1000L;
    o.low_speed_time_s = s->cfg->stall_timeout;
    o.max_response = s->cfg->max_response;
    rc = agent_http_new(s->loop, &o, &s->http);
    memset(key, 0, keylen);
    ward_free(key);
    if (rc != 0)
        WARD_LOG_ERR(rc, "cannot set up the HTTPS client");
    return rc;
}

void agent_session_teardown(struct agent_session *s)
{
    struct agent_http *h = s->http;
    s->http = NULL;
    agent_http_close(h, NULL, NULL); /* in-flight requests see WARD_ECANCELED */
}

int agent_session_load(struct agent_session *s, int quiet)
{
    enum agent_lifecycle l = agent_identity_lifecycle(s->st);
    int rc;

    if (l == AGENT_NOT_ENROLLED) {
        if (!quiet)
            WARD_INFO("not enrolled (a token file or WARD_ENROLL_TOKEN enrolls it at start; or run "
                      "`ward enroll --token TOKEN`, then reload with SIGHUP)");
        return WARD_ESTATE;
    }
    if (l == AGENT_NEEDS_REENROLLMENT) {
        char *why = NULL;
        agent_state_get(s->st, AGENT_META_REENROLL_REASON, &why);
        if (!quiet)
            WARD_LOG_ERR(WARD_EREVOKED,
                         "this device needs re-enrollment (%s); not contacting the service. "
                         "Run: ward enroll --force --token TOKEN",
                         why ? why : "unknown reason");
        ward_free(why);
        return WARD_EREVOKED;
    }
    agent_session_teardown(s);
    agent_identity_release(&s->id);
    s->have_id = 0;
    rc = agent_identity_load(s->st, &s->id);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot load the device identity from the state database");
        return rc;
    }
    s->have_id = 1;
    return http_build(s);
}

int agent_session_ready(const struct agent_session *s)
{
    return s && s->have_id && s->http;
}

const struct agent_identity *agent_session_identity(const struct agent_session *s)
{
    return s && s->have_id ? &s->id : NULL;
}

struct agent_http *const *agent_session_http(const struct agent_session *s)
{
    return &s->http;
}

int agent_session_identity_changed(struct agent_session *s)
{
    char *cert = NULL;
    int changed;
    if (!s->have_id)
        return 1;
    changed =
        agent_state_get(s->st, "device_cert", &cert) != 0 || strcmp(cert, s->id.cert_pem) != 0;
    ward_free(cert);
    return changed;
}

static int build_url(const struct agent_session *s, const char *path, char *out, size_t outlen)
{
    int n;
    if (!s->have_id || path[0] != '/')
        return WARD_EINVAL;
    n = snprintf(out, outlen, "%s%s", s->id.server_url, path);
    return n > 0 && (size_t)n < outlen ? 0 : WARD_ETOOBIG;
}

int agent_session_post(struct agent_session *s, const char *path, const void *body, size_t len,
                       int gzipped, agent_http_done_fn cb, void *ctx, struct agent_http_req **out)
{
    static const char *const plain[] = {"Content-Type: application/json", NULL};
    static const char *const gz[] = {"Content-Type: application/json", "Content-Encoding: gzip",
                                     NULL};
    struct agent_http_request rq;
    char url[URL_MAX];
    int rc = !s->http ? WARD_ESTATE : !body ? WARD_EINVAL : build_url(s, path, url, sizeof(url));
    if (rc != 0)
        return rc;
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = url;
    rq.headers = gzipped ? gz : plain;
    rq.body = body;
    rq.body_len = len;
    rq.gzip_body = !gzipped && len > 1024;
    return agent_http_request(s->http, &rq, cb, ctx, out);
}

int agent_session_post_json(struct agent_session *s, const char *path, const json_t *body,
                            agent_http_done_fn cb, void *ctx, struct agent_http_req **out)
{
    char *text = NULL;
    size_t len = 0;
    int rc = !s->http ? WARD_ESTATE : body ? ward_json_dumps(body, 0, &text, &len) : WARD_ENOMEM;
    if (rc == 0)
        rc = agent_session_post(s, path, text, len, 0, cb, ctx, out);
    ward_free(text);
    return rc;
}

int agent_session_serves(const struct agent_session *s, const char *device_id)
{
    const struct agent_identity *id = agent_session_identity(s);
    return agent_session_ready(s) && id && device_id && strcmp(id->device_id, device_id) == 0;
}

int agent_session_request(struct agent_session *s, const char *path, struct agent_http_request *rq,
                          agent_http_done_fn cb, void *ctx, struct agent_http_req **out)
{
    char url[URL_MAX];
    int rc = !s->http ? WARD_ESTATE : build_url(s, path, url, sizeof(url));
    if (rc != 0)
        return rc;
    rq->url = url;
    return agent_http_request(s->http, rq, cb, ctx, out);
}

int agent_session_get(struct agent_session *s, const char *path, struct agent_http_request *rq,
                      agent_http_done_fn cb, void *ctx, struct agent_http_req **out)
{
    rq->method = "GET";
    return agent_session_request(s, path, rq, cb, ctx, out);
}

/* ---- renewal ----------------------------------------------------------------------------- */

static void on_renew(struct agent_http_response *r, void *ctx)
{
    struct agent_session *s = ctx;
    EVP_PKEY *key = s->renew_key;
    agent_session_renew_fn cb = s->renew_cb;
    json_t *j = NULL;
    const char *cert = NULL, *ca = NULL;
    int64_t nb = 0, na = 0;
    int rc = r->err;

    s->renew_key = NULL;
    s->renew_cb = NULL;
    if (rc == 0) {
        rc = ward_json_loadb(r->body.data, r->body.len, NULL, &j, NULL);
        if (rc == 0 &&
            (ward_json_get_str(j, NULL, "certificate", WARD_JSON_REQUIRED, &cert, NULL) != 0 ||
             ward_json_get_str(j, NULL, "ca", 0, &ca, NULL) != 0))
            rc = WARD_EPROTO;
        if (rc == 0 && !ca)
            ca = s->id.ca_pem;
        /* The CA must stay the one pinned at enrollment, whatever the answer says. */
        if (rc == 0 && strcmp(ca, s->id.ca_pem) != 0) {
            char p1[WARD_PIN_SIZE], p2[WARD_PIN_SIZE];
            X509 *x1 = NULL, *x2 = NULL;
            if (ward_x509_parse(ca, strlen(ca), &x1) != 0 ||
                ward_x509_parse(s->id.ca_pem, strlen(s->id.ca_pem), &x2) != 0 ||
                ward_pin_from_cert(x1, p1) != 0 || ward_pin_from_cert(x2, p2) != 0 ||
                strcmp(p1, p2) != 0)
                rc = WARD_EVERIFY;
            X509_free(x1);
            X509_free(x2);
        }
        if (rc == 0)
            rc = agent_identity_check_cert(cert, s->id.ca_pem, key, &nb, &na);
        if (rc == 0)
            rc = agent_identity_store_renewal(s->st, key, cert, s->id.ca_pem);
    }
    json_decref(j);
    EVP_PKEY_free(key);
    if (rc == WARD_ECANCELED || s->closing) {
        cb(WARD_ECANCELED, r, s->renew_ctx);
        return;
    }
    if (rc == 0) {
        /* The answer's buffers stay valid: only the client is rebuilt after the callback. */
        agent_identity_release(&s->id);
        s->have_id = 0;
        rc = agent_identity_load(s->st, &s->id);
        if (rc == 0) {
            char t[32];
            s->have_id = 1;
            ward_time_iso(s->id.not_after, t, sizeof(t));
            WARD_INFO("device certificate renewed, valid until %s", t);
            /* This callback runs inside the old client: close it and build the new one. */
            agent_session_teardown(s);
            rc = http_build(s);
        }
    }
    cb(rc, r, s->renew_ctx);
}

int agent_session_renew(struct agent_session *s, agent_session_renew_fn cb, void *ctx)
{
    json_t *body = NULL;
    char *csr = NULL;
    int rc;

    if (!s->http || s->renew_key)
        return WARD_ESTATE;
    rc = ward_key_generate_p256(&s->renew_key);
    if (rc == 0)
        rc = ward_csr_create(s->renew_key, s->id.device_id, NULL, 0, &csr, NULL);
    if (rc == 0) {
        body = json_pack("{s:s}", "csr", csr);
        s->renew_cb = cb;
        s->renew_ctx = ctx;
        rc = agent_session_post_json(s, "/api/v1/renew", body, on_renew, s, NULL);
    }
    json_decref(body);
    ward_free(csr);
    if (rc != 0) {
        EVP_PKEY_free(s->renew_key);
        s->renew_key = NULL;
        s->renew_cb = NULL;
    }
    return rc;
}

/* ---- download sink --------------------------------------------------------------------- */

static int fs_rc(int uvrc)
{
    if (uvrc >= 0)
        return 0;
    switch (uvrc) {
    case UV_ENOENT:
        return WARD_ENOENT;
    case UV_EACCES:
    case UV_EPERM:
        return WARD_EACCES;
    case UV_ENOSPC:
        return WARD_ENOSPC;
    default:
        return WARD_EIO;
    }
}

static void dl_free(struct agent_session_dl *d)
{
    uv_fs_t req;
    if (d->fd >= 0) {
        uv_fs_close(NULL, &req, (uv_file)d->fd, NULL);
        uv_fs_req_cleanup(&req);
    }
    EVP_MD_CTX_free(d->md);
    ward_free(d->dest);
    ward_free(d);
}

static void dl_finish(struct agent_session_dl *d, int rc, const char *error)
{
    agent_session_dl_fn cb = d->cb;
    void *ctx = d->ctx;
    char msg[512];
    if (rc != 0) {
        uv_fs_t req;
        uv_fs_close(NULL, &req, (uv_file)d->fd, NULL);
        uv_fs_req_cleanup(&req);
        d->fd = -1;
        uv_fs_unlink(NULL, &req, d->dest, NULL); /* nothing half-downloaded stays */
        uv_fs_req_cleanup(&req);
    }
    snprintf(msg, sizeof(msg), "%s", error ? error : "");
    dl_free(d);
    cb(rc, rc ? msg : NULL, ctx);
}

static int dl_start(struct agent_session_dl *d);

static int transient(int err)
{
    return err == WARD_ETIMEDOUT || err == WARD_ECLOSED || err == WARD_ECONNECT ||
           err == WARD_EPROTO;
}

static void on_dl(struct agent_http_response *r, void *ctx)
{
    struct agent_session_dl *d = ctx;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[65], msg[256];

    d->req = NULL;
    if (r->err == WARD_ECANCELED) {
        dl_finish(d, WARD_ECANCELED, "download cancelled");
        return;
    }
    if (d->sink.err) {
        snprintf(msg, sizeof(msg), "cannot write %s: %s", d->dest, ward_strerror(d->sink.err));
        dl_finish(d, d->sink.err, msg);
        return;
    }
    if (r->err != 0) {
        if (transient(r->err) && ++d->tries < DL_TRIES && d->sink.offset + d->sink.written > 0) {
            WARD_WARN("download of %s interrupted after %llu bytes (%s); resuming", d->url,
                      (unsigned long long)(d->sink.offset + d->sink.written), r->error_detail);
            d->sink.offset += d->sink.written;
            d->sink.written = 0;
            if (dl_start(d) == 0)
                return;
        }
        if (r->err == WARD_ETOOBIG)
            snprintf(msg, sizeof(msg),
                     "download refused: the service offered more than the %llu bytes the"
                     " command signed",
                     (unsigned long long)d->length);
        else
            snprintf(msg, sizeof(msg), "download failed: %s", r->error_detail);
        dl_finish(d, r->err, msg);
        return;
    }
    if (d->sink.offset + d->sink.written != d->length) {
        snprintf(msg, sizeof(msg), "download is %llu bytes, the command signed %llu",
                 (unsigned long long)(d->sink.offset + d->sink.written),
                 (unsigned long long)d->length);
        dl_finish(d, WARD_EVERIFY, msg);
        return;
    }
    EVP_DigestFinal_ex(d->md, md, &mdlen);
    if (ward_hex_encode(md, mdlen, hex, sizeof(hex)) != 0 || strcmp(hex, d->sha256) != 0) {
        snprintf(msg, sizeof(msg), "download has SHA-256 %.64s, the command signed %s", hex,
                 d->sha256);
        dl_finish(d, WARD_EVERIFY, msg);
        return;
    }
    dl_finish(d, 0, NULL);
}

static int dl_start(struct agent_session_dl *d)
{
    struct agent_http_request rq;
    const char *hdrs[2] = {NULL, NULL};
    char range[64];

    if (!d->s->http)
        return WARD_ESTATE;
    memset(&rq, 0, sizeof(rq));
    rq.method = "GET";
    rq.url = d->url;
    rq.timeout_ms = -1;      /* a 500 MB package on a slow link: the low-speed limit decides */
    rq.max_response = 65536; /* error bodies */
    rq.sink = &d->sink;
    d->sink.max = d->length;
    if (d->sink.offset > 0) {
        snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)d->sink.offset);
        hdrs[0] = range;
        rq.headers = hdrs;
    }
    return agent_http_request(d->s->http, &rq, on_dl, d, &d->req);
}

/* Hashes what an earlier try left in the file (resumption after a restart of the job). */
static int dl_hash_existing(struct agent_session_dl *d)
{
    char buf[65536];
    uint64_t off = 0;
    for (;;) {
        uv_fs_t req;
        uv_buf_t b = uv_buf_init(buf, sizeof(buf));
        int n = uv_fs_read(NULL, &req, (uv_file)d->fd, &b, 1, (int64_t)off, NULL);
        uv_fs_req_cleanup(&req);
        if (n < 0)
            return fs_rc(n);
        if (n == 0)
            break;
        if (off + (uint64_t)n > d->length)
            return WARD_ETOOBIG;
        EVP_DigestUpdate(d->md, buf, (size_t)n);
        off += (uint64_t)n;
    }
    d->sink.offset = off;
    return 0;
}

int agent_session_download(struct agent_session *s, const char *path, const char *sha256,
                           uint64_t length, const char *dest, agent_session_dl_fn cb, void *ctx,
                           struct agent_session_dl **out)
{
    struct agent_session_dl *d;
    uv_fs_t req;
    int rc;

    if (out)
        *out = NULL;
    if (!path || path[0] != '/' || path[1] == '/' || strlen(sha256) != 64 || length == 0 || !dest)
        return WARD_EINVAL;
    for (const char *p = sha256; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return WARD_EINVAL;
    d = ward_calloc(1, sizeof(*d));
    if (!d)
        return WARD_ENOMEM;
    d->s = s;
    d->fd = -1;
    d->length = length;
    d->cb = cb;
    d->ctx = ctx;
    memcpy(d->sha256, sha256, 65);
    d->dest = ward_strdup(dest);
    d->md = EVP_MD_CTX_new();
    rc = d->dest && d->md ? build_url(s, path, d->url, sizeof(d->url)) : WARD_ENOMEM;
    if (rc == 0 && EVP_DigestInit_ex(d->md, EVP_sha256(), NULL) != 1)
        rc = WARD_ENOMEM;
    if (rc == 0) {
        int fd = uv_fs_open(NULL, &req, dest, UV_FS_O_RDWR | UV_FS_O_CREAT, 0600, NULL);
        uv_fs_req_cleanup(&req);
        rc = fs_rc(fd);
        d->fd = fd;
    }
    if (rc == 0)
        rc = dl_hash_existing(d);
    if (rc == 0) {
        d->sink.fd = d->fd;
        d->sink.md = d->md;
        rc = dl_start(d);
    }
    if (rc != 0) {
        if (d->fd >= 0) {
            uv_fs_close(NULL, &req, (uv_file)d->fd, NULL);
            uv_fs_req_cleanup(&req);
            d->fd = -1;
            uv_fs_unlink(NULL, &req, dest, NULL);
            uv_fs_req_cleanup(&req);
        }
        dl_free(d);
        return rc;
    }
    if (out)
        *out = d;
    return 0;
}

void agent_session_download_cancel(struct agent_session_dl *d)
{
    if (d && d->req)
        agent_http_cancel(d->req);
}

/* ---- lifecycle -------------------------------------------------------------------------- */

struct close_wait {
    struct agent_session *s;
    void (*cb)(void *);
    void *ctx;
};

static void on_http_closed(void *ctx)
{
    struct close_wait *w = ctx;
    struct agent_session *s = w->s;
    void (*cb)(void *) = w->cb;
    void *cctx = w->ctx;
    ward_free(w);
    agent_identity_release(&s->id);
    EVP_PKEY_free(s->renew_key);
    ward_free(s);
    if (cb)
        cb(cctx);
}

void agent_session_close(struct agent_session *s, void (*cb)(void *ctx), void *ctx)
{
    struct close_wait *w;
    struct agent_http *h;
    if (!s || s->closing)
        return;
    s->closing = 1;
    h = s->http;
    s->http = NULL;
    w = ward_calloc(1, sizeof(*w));
    if (h && w) {
        w->s = s;
        w->cb = cb;
        w->ctx = ctx;
        agent_http_close(h, on_http_closed, w);
        return;
    }
    agent_http_close(h, NULL, NULL);
    ward_free(w);
    agent_identity_release(&s->id);
    EVP_PKEY_free(s->renew_key);
    ward_free(s);
    if (cb)
        cb(ctx);
}

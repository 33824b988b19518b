/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's HTTPS client on libcurl's multi-socket API, driven by libuv: curl tells us
 * which sockets to watch (socket_cb -> one uv_poll per socket) and when to wake it
 * (timer_cb -> the client's one uv_timer); uv tells curl what happened through
 * curl_multi_socket_action, and finished transfers are collected from curl_multi_info_read.
 * User callbacks run only from there (or from cancel/close), never inside a curl callback,
 * so they may start, cancel or close freely. Every easy handle gets the same fixed policy
 * (HTTPS only, TLS >= 1.2, verification on, explicit trust, no redirects, caps, timeouts);
 * curl errors become Ward codes in one table.
 */
#define WARD_LOG_TAG "http"

#include "agent/http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#define ZLIB_CONST
#include <zlib.h>

#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/gzip.h"
#include "ward/log.h"

#define HTTP_CA_FILE_MAX ((size_t)4 * 1024 * 1024)
#define HTTP_URL_LOG_MAX 256

struct http_sock {
    uv_poll_t poll;
    struct agent_http *h;
    curl_socket_t fd;
    int events; /* UV_READABLE | UV_WRITABLE as curl last asked */
    struct http_sock *prev, *next;
};

struct agent_http {
    uv_loop_t *loop;
    CURLM *multi; /* NULL once closing has cleaned it up */
    /* TLS sessions shared by all of this client's requests: libcurl 7.88 otherwise keeps
     * them per easy handle, and every request is a new easy handle, so a new connection
     * would always pay a full handshake. One loop thread: no lock callbacks needed. */
    CURLSH *share;
    uv_timer_t timer;
    struct http_sock *socks;
    struct agent_http_req *reqs;
    unsigned handles; /* uv handles not yet through their close callback */
    int closing;
    agent_http_close_fn close_cb;
    void *close_ctx;

    /* Trust: either a file (ca_file) or an in-memory bundle (ca_blob). */
    char *ca_file;
    char *ca_blob;
    size_t ca_blob_len;
    char *pin;
    char *discover_pin; /* enrollment discovery instead of ca_file / ca_blob */
    char *cert_file, *key_file;
    char *cert_pem, *key_pem;
    size_t cert_pem_len, key_pem_len;
    char *proxy; /* NULL: direct */
    char *proxy_user, *proxy_password;
    char *no_proxy;
    char *proxy_ca_file;
    char *user_agent;
    long connect_timeout_ms, timeout_ms, low_speed_limit, low_speed_time_s;
    size_t max_response;

    uint64_t requests, connects;
    size_t in_flight, nsocks;
};

struct agent_http_req {
    struct agent_http *h;
    struct agent_http_req *prev, *next;
    CURL *easy;
    struct curl_slist *hdrs;
    char *body;
    size_t body_len;
    struct ward_buf resp;
    int write_err; /* why write_cb refused data (WARD_ETOOBIG, WARD_ENOMEM) */
    struct agent_http_sink *sink;
    int sink_checked; /* the status was looked at for the first body bytes */
    int sink_on;      /* this response's body goes to the sink */
    int via_proxy;
    agent_http_done_fn cb;
    void *ctx;
    uint64_t started_ms;
    char method[16];
    char url_log[HTTP_URL_LOG_MAX];
    char content_type[256];
    char location[1024];
    char retry_after[128];
    char date[128];
    char errbuf[CURL_ERROR_SIZE];
    /* Discovery (h->discover_pin): the URL's host, why the check failed, the CA found. */
    char *discover_host;
    int discover_err;
    char *discover_ca_pem;
};

/* ---- global init ---------------------------------------------------------------------- */

static int http_global_refs;

int agent_http_global_init(void)
{
    const curl_version_info_data *vi;
    if (http_global_refs > 0) {
        http_global_refs++;
        return 0;
    }
    /* Before curl, whose init asks OpenSSL for OPENSSL_INIT_LOAD_CONFIG: OpenSSL settles
     * the configuration question once per process, so openssl.cnf (OPENSSLDIR's, or
     * $OPENSSL_CONF's) is never read and cannot change the agent's TLS policy (protocol
     * floor, ciphers, providers), which the agent sets itself. */
    if (!OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG, NULL))
        return WARD_ENOMEM;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return WARD_ENOMEM;
    vi = curl_version_info(CURLVERSION_NOW);
    if (!vi || !(vi->features & CURL_VERSION_SSL) || !(vi->features & CURL_VERSION_LIBZ)) {
        WARD_LOG_ERR(WARD_ENOTSUP, "libcurl %s lacks TLS or zlib support", vi ? vi->version : "?");
        curl_global_cleanup();
        return WARD_ENOTSUP;
    }
    http_global_refs = 1;
    return 0;
}

void agent_http_global_cleanup(void)
{
    if (http_global_refs <= 0)
        return;
    if (--http_global_refs == 0)
        curl_global_cleanup();
}

/* ---- curl error -> Ward error ----------------------------------------------------------- */

static const struct {
    CURLcode cc;
    int err;
} http_err_map[] = {
    {CURLE_SSL_PINNEDPUBKEYNOTMATCH, WARD_EPIN},
    {CURLE_PEER_FAILED_VERIFICATION, WARD_ETLS}, /* also CURLE_SSL_CACERT */
    {CURLE_SSL_CONNECT_ERROR, WARD_ETLS},
    {CURLE_SSL_CACERT_BADFILE, WARD_ETLS},
    {CURLE_SSL_CERTPROBLEM, WARD_ETLS},
    {CURLE_SSL_CIPHER, WARD_ETLS},
    {CURLE_SSL_ISSUER_ERROR, WARD_ETLS},
    {CURLE_SSL_CRL_BADFILE, WARD_ETLS},
    {CURLE_SSL_INVALIDCERTSTATUS, WARD_ETLS},
    {CURLE_SSL_SHUTDOWN_FAILED, WARD_ETLS},
    {CURLE_SSL_CLIENTCERT, WARD_ETLS},
    {CURLE_SSL_ENGINE_INITFAILED, WARD_ETLS},
    {CURLE_USE_SSL_FAILED, WARD_ETLS},
    {CURLE_COULDNT_CONNECT, WARD_ECONNECT},
    {CURLE_COULDNT_RESOLVE_HOST, WARD_ERESOLVE},
    {CURLE_COULDNT_RESOLVE_PROXY, WARD_EPROXY},
    {CURLE_PROXY, WARD_EPROXY},
    {CURLE_OPERATION_TIMEDOUT, WARD_ETIMEDOUT},
    {CURLE_PARTIAL_FILE, WARD_ECLOSED},
    {CURLE_RECV_ERROR, WARD_ECLOSED},
    {CURLE_SEND_ERROR, WARD_ECLOSED},
    {CURLE_GOT_NOTHING, WARD_ECLOSED},
    {CURLE_FILESIZE_EXCEEDED, WARD_ETOOBIG},
    {CURLE_TOO_MANY_REDIRECTS, WARD_EREDIRECT},
    {CURLE_OUT_OF_MEMORY, WARD_ENOMEM},
    {CURLE_UNSUPPORTED_PROTOCOL, WARD_EINVAL},
    {CURLE_URL_MALFORMAT, WARD_EINVAL},
    {CURLE_BAD_CONTENT_ENCODING, WARD_EPROTO},
    {CURLE_WEIRD_SERVER_REPLY, WARD_EPROTO},
    {CURLE_HTTP2, WARD_EPROTO},
    {CURLE_HTTP2_STREAM, WARD_EPROTO},
    {CURLE_ABORTED_BY_CALLBACK, WARD_ECANCELED},
};

static int http_err_from_curl(CURLcode cc)
{
    for (size_t i = 0; i < sizeof(http_err_map) / sizeof(http_err_map[0]); i++)
        if (http_err_map[i].cc == cc)
            return http_err_map[i].err;
    return WARD_EIO;
}

/* The Ward code for a finished transfer. Through a proxy, curl only ever connects to the
 * proxy, and a non-2xx answer to CONNECT, or no answer and no origin response at all, is
 * the proxy's fault, whatever generic code curl reported. */
static int http_result(const struct agent_http_req *r, CURLcode cc, long status, long connect_code)
{
    if (cc == CURLE_OK) {
        if (status >= 200 && status < 300)
            return 0;
        if (status >= 300 && status < 400)
            return WARD_EREDIRECT;
        return WARD_EHTTP;
    }
    if (cc == CURLE_WRITE_ERROR)
        return r->write_err ? r->write_err : WARD_EIO;
    /* A TLS alert from the peer after the handshake (TLS 1.3 reports a rejected or revoked
     * client certificate this way, on the first read) is a TLS refusal, not a dropped
     * connection: callers treat the two very differently. */
    if ((cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR) && strstr(r->errbuf, " alert "))
        return WARD_ETLS;
    if (r->via_proxy) {
        if (connect_code >= 300 || cc == CURLE_COULDNT_CONNECT)
            return WARD_EPROXY;
        /* No tunnel yet: dropped by the proxy, or TLS with an https:// proxy failed. */
        if (connect_code == 0 && status == 0 &&
            (cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR || cc == CURLE_GOT_NOTHING ||
             cc == CURLE_WEIRD_SERVER_REPLY || http_err_from_curl(cc) == WARD_ETLS))
            return WARD_EPROXY;
    }
    return http_err_from_curl(cc);
}

/* ---- small helpers ---------------------------------------------------------------------- */

static int http_dup(const char *s, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = ward_strdup(s);
    return *out ? 0 : WARD_ENOMEM;
}

static int http_dupn(const char *s, size_t n, char **out)
{
    *out = NULL;
    if (!s)
        return 0;
    *out = ward_strndup(s, n);
    return *out ? 0 : WARD_ENOMEM;
}

/* Appends a whole (small) file to b; the files are CA bundles read once at startup. */
static int http_read_file(const char *path, struct ward_buf *b)
{
    char chunk[4096];
    size_t n;
    int rc = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return WARD_EIO;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rc = ward_buf_append(b, chunk, n);
        if (rc != 0)
            goto out;
    }
    if (ferror(f))
        rc = WARD_EIO;
out:
    fclose(f);
    return rc;
}

static void http_copy_field(char *dst, size_t dstlen, const char *v, size_t vlen)
{
    if (vlen >= dstlen)
        vlen = dstlen - 1;
    memcpy(dst, v, vlen);
    dst[vlen] = '\0';
}

static int http_name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && curl_strnequal(name, want, len);
}

/* NO_PROXY matching: "*", exact names or IP literals, and domain suffixes on a label
 * boundary ("example.com" and ".example.com" both match "a.example.com"). Brackets around
 * IPv6 literals are ignored on both sides. CIDR ranges are not supported. */
static int http_no_proxy_match(const char *list, const char *host)
{
    size_t hlen;
    const char *p = list;
    if (!list || !host)
        return 0;
    if (host[0] == '[') {
        host++;
    }
    hlen = strlen(host);
    if (hlen && host[hlen - 1] == ']')
        hlen--;
    while (*p) {
        const char *tok;
        size_t tlen;
        while (*p == ',' || *p == ' ' || *p == '\t')
            p++;
        tok = p;
        while (*p && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        tlen = (size_t)(p - tok);
        if (tlen == 1 && tok[0] == '*')
            return 1;
        if (tlen && tok[0] == '.') {
            tok++;
            tlen--;
        }
        if (tlen && tok[0] == '[') {
            tok++;
            tlen--;
        }
        if (tlen && tok[tlen - 1] == ']')
            tlen--;
        if (!tlen)
            continue;
        if (hlen == tlen && curl_strnequal(host, tok, tlen))
            return 1;
        if (hlen > tlen && host[hlen - tlen - 1] == '.' &&
            curl_strnequal(host + hlen - tlen, tok, tlen))
            return 1;
    }
    return 0;
}

/* Checks that url is https:// and returns its host (curl_free it). */
static int http_url_host(const char *url, char **host)
{
    CURLU *u;
    char *scheme = NULL;
    int rc = 0;
    *host = NULL;
    u = curl_url();
    if (!u)
        return WARD_ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        strcmp(scheme, "https") != 0 || curl_url_get(u, CURLUPART_HOST, host, 0) != CURLUE_OK) {
        rc = WARD_EINVAL;
        goto out;
    }
out:
    curl_free(scheme);
    curl_url_cleanup(u);
    return rc;
}

/* ---- uv <-> curl ------------------------------------------------------------------------ */

static void http_drain(struct agent_http *h);
static void http_req_finish(struct agent_http_req *r, CURLcode cc, int forced_err);

static void http_free(struct agent_http *h)
{
    /* Last, when no easy handle uses the share any more: a close started from a request's
     * completion callback still has that request's easy handle until the callback returns. */
    if (h->share)
        curl_share_cleanup(h->share);
    ward_free(h->ca_file);
    ward_free(h->ca_blob);
    ward_free(h->pin);
    ward_free(h->discover_pin);
    ward_free(h->cert_file);
    ward_free(h->key_file);
    ward_free(h->cert_pem);
    if (h->key_pem) {
        memset(h->key_pem, 0, h->key_pem_len);
        ward_free(h->key_pem);
    }
    ward_free(h->proxy);
    ward_free(h->proxy_user);
    if (h->proxy_password) {
        memset(h->proxy_password, 0, strlen(h->proxy_password));
        ward_free(h->proxy_password);
    }
    ward_free(h->no_proxy);
    ward_free(h->proxy_ca_file);
    ward_free(h->user_agent);
    ward_free(h);
}

static void http_handle_closed(struct agent_http *h)
{
    agent_http_close_fn cb;
    void *ctx;
    h->handles--;
    if (!h->closing || h->handles > 0)
        return;
    cb = h->close_cb;
    ctx = h->close_ctx;
    http_free(h);
    agent_http_global_cleanup();
    if (cb)
        cb(ctx);
}

static void http_sock_closed(uv_handle_t *handle)
{
    struct http_sock *s = handle->data;
    struct agent_http *h = s->h;
    ward_free(s);
    http_handle_closed(h);
}

static void http_sock_close(struct http_sock *s)
{
    struct agent_http *h = s->h;
    if (s->prev)
        s->prev->next = s->next;
    else
        h->socks = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
    h->nsocks--;
    uv_close((uv_handle_t *)&s->poll, http_sock_closed);
}

/* A poll error (POLLERR: reset, or the peer's TLS alert followed by a close) is handed to
 * curl as readiness, not as CURL_CSELECT_ERR: curl then reads the socket and reports what
 * really happened (the alert text, "connection reset") instead of a bare "select/poll
 * returned error". libuv stops the handle on error, so it is restarted; curl closes the
 * socket once its read fails. */
static void http_poll_cb(uv_poll_t *p, int status, int events)
{
    struct http_sock *s = p->data;
    struct agent_http *h = s->h;
    int flags = 0, running = 0;
    if (!h->multi)
        return;
    if (status < 0) {
        events = s->events;
        if (uv_poll_start(&s->poll, s->events, http_poll_cb) != 0)
            flags |= CURL_CSELECT_ERR;
    }
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    /* s may be closed (CURL_POLL_REMOVE) during this call: do not touch it afterwards. */
    curl_multi_socket_action(h->multi, s->fd, flags, &running);
    http_drain(h);
}

static int http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct agent_http *h = userp;
    struct http_sock *s = socketp;
    int events = 0;
    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s)
            http_sock_close(s);
        return 0;
    }
    if (h->closing)
        return -1;
    if (!s) {
        s = ward_calloc(1, sizeof(*s));
        if (!s)
            return -1;
        if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
            ward_free(s);
            return -1;
        }
        s->poll.data = s;
        s->h = h;
        s->fd = fd;
        s->next = h->socks;
        if (h->socks)
            h->socks->prev = s;
        h->socks = s;
        h->nsocks++;
        h->handles++;
        curl_multi_assign(h->multi, fd, s);
    }
    if (what & CURL_POLL_IN)
        events |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        events |= UV_WRITABLE;
    s->events = events;
    if (uv_poll_start(&s->poll, events, http_poll_cb) != 0)
        return -1;
    return 0;
}

static void http_on_timer(uv_timer_t *t)
{
    struct agent_http *h = t->data;
    int running = 0;
    if (!h->multi)
        return;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    http_drain(h);
}

/* curl asks for one wake-up at a time; 0 means "as soon as possible", which we defer to the
 * next loop iteration because socket_action must not be called from inside this callback. */
static int http_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct agent_http *h = userp;
    (void)multi;
    if (h->closing)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&h->timer);
    else if (uv_timer_start(&h->timer, http_on_timer, (uint64_t)timeout_ms, 0) != 0)
        return -1;
    return 0;
}

static void http_timer_closed(uv_handle_t *handle)
{
    http_handle_closed(handle->data);
}

/* Collects finished transfers. The user callback may close the client (multi becomes NULL),
 * which ends the loop; the client's memory stays valid until its handles are closed. */
static void http_drain(struct agent_http *h)
{
    CURLMsg *msg;
    int left;
    while (h->multi && (msg = curl_multi_info_read(h->multi, &left)) != NULL) {
        struct agent_http_req *r;
        CURLcode cc;
        if (msg->msg != CURLMSG_DONE)
            continue;
        cc = msg->data.result;
        for (r = h->reqs; r; r = r->next)
            if (r->easy == msg->easy_handle)
                break;
        if (r)
            http_req_finish(r, cc, 0);
    }
}

/* ---- per-request callbacks ------------------------------------------------------------- */

/* Synchronous uv_fs calls on the sink's file: local-disk writes of curl's chunks (16 KiB),
 * the same cost as the in-memory copy they replace. Errors as Ward codes. */
static int sink_fd_write(int fd, const char *p, size_t len, uint64_t off)
{
    uv_fs_t req;
    uv_buf_t b =
        uv_buf_init((char *)(uintptr_t)p, (unsigned int)(len > (1u << 30) ? (1u << 30) : len));
    int n = uv_fs_write(NULL, &req, (uv_file)fd, &b, 1, (int64_t)off, NULL);
    uv_fs_req_cleanup(&req);
    if (n == UV_ENOSPC)
        return WARD_ENOSPC;
    return n < 0 ? WARD_EIO : n;
}

static int sink_fd_truncate(int fd)
{
    uv_fs_t req;
    int rc = uv_fs_ftruncate(NULL, &req, (uv_file)fd, 0, NULL);
    uv_fs_req_cleanup(&req);
    return rc == 0 ? 0 : WARD_EIO;
}

/* Writes a body chunk to the download sink (see agent_http_sink). */
static int http_sink_write(struct agent_http_req *r, const char *p, size_t len)
{
    struct agent_http_sink *k = r->sink;
    if (!r->sink_checked) {
        long status = 0;
        r->sink_checked = 1;
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
        r->sink_on = status >= 200 && status < 300;
        if (r->sink_on && status != 206 && k->offset > 0) {
            /* The server ignored the Range: start the file and the hash over. */
            if (sink_fd_truncate(k->fd) != 0) {
                k->err = WARD_EIO;
                return WARD_EIO;
            }
            EVP_DigestInit_ex((EVP_MD_CTX *)k->md, EVP_sha256(), NULL);
            k->offset = 0;
            k->restarted = 1;
        }
    }
    if (!r->sink_on)
        return ward_buf_append(&r->resp, p, len);
    if (k->offset + k->written + len > k->max)
        return WARD_ETOOBIG;
    while (len > 0) {
        int w = sink_fd_write(k->fd, p, len, k->offset + k->written);
        if (w < 0) {
            k->err = w;
            return w;
        }
        EVP_DigestUpdate((EVP_MD_CTX *)k->md, p, (size_t)w);
        k->written += (uint64_t)w;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static size_t http_write_cb(char *p, size_t size, size_t n, void *ud)
{
    struct agent_http_req *r = ud;
    size_t len = size * n;
    int rc = r->sink ? http_sink_write(r, p, len) : ward_buf_append(&r->resp, p, len);
    if (rc != 0) {
        r->write_err = rc;
        return 0; /* CURLE_WRITE_ERROR: transfer aborted */
    }
    return len;
}

static size_t http_header_cb(char *buf, size_t size, size_t n, void *ud)
{
    struct agent_http_req *r = ud;
    size_t len = size * n, nlen, vlen;
    const char *colon, *v;
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after a 1xx): forget the previous one's headers. */
        r->content_type[0] = r->location[0] = r->retry_after[0] = r->date[0] = '\0';
        return len;
    }
    colon = memchr(buf, ':', len);
    if (!colon)
        return len;
    nlen = (size_t)(colon - buf);
    v = colon + 1;
    vlen = len - nlen - 1;
    while (vlen && (*v == ' ' || *v == '\t')) {
        v++;
        vlen--;
    }
    while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ' ||
                    v[vlen - 1] == '\t'))
        vlen--;
    if (http_name_is(buf, nlen, "Content-Type"))
        http_copy_field(r->content_type, sizeof(r->content_type), v, vlen);
    else if (http_name_is(buf, nlen, "Location"))
        http_copy_field(r->location, sizeof(r->location), v, vlen);
    else if (http_name_is(buf, nlen, "Retry-After"))
        http_copy_field(r->retry_after, sizeof(r->retry_after), v, vlen);
    else if (http_name_is(buf, nlen, "Date"))
        http_copy_field(r->date, sizeof(r->date), v, vlen);
    return len;
}

/* Retry-After is delta-seconds or an HTTP-date; -1 when absent or unparsable. */
static long http_retry_after(const char *v)
{
    const char *p = v;
    long secs = 0;
    time_t t;
    if (!v[0])
        return -1;
    while (*p >= '0' && *p <= '9') {
        if (secs < 100000000L)
            secs = secs * 10 + (*p - '0');
        p++;
    }
    if (p != v && *p == '\0')
        return secs;
    t = curl_getdate(v, NULL);
    if (t == (time_t)-1)
        return -1;
    t -= time(NULL);
    return t > 0 ? (long)t : 0;
}

/* ---- requests --------------------------------------------------------------------------- */

static void http_req_free(struct agent_http_req *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->hdrs);
    ward_free(r->discover_host);
    ward_free(r->discover_ca_pem);
    ward_free(r->body);
    ward_buf_release(&r->resp);
    ward_free(r);
}

static void http_req_finish(struct agent_http_req *r, CURLcode cc, int forced_err)
{
    struct agent_http *h = r->h;
    struct agent_http_response resp;
    long status = 0, connect_code = 0, num_connects = 0;

    if (r->prev)
        r->prev->next = r->next;
    else
        h->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->prev = r->next = NULL;
    h->in_flight--;

    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_HTTP_CONNECTCODE, &connect_code);
    curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &num_connects);
    /* Detach before the user runs: the callback may close the client. */
    if (h->multi)
        curl_multi_remove_handle(h->multi, r->easy);

    memset(&resp, 0, sizeof(resp));
    resp.err = forced_err ? forced_err : http_result(r, cc, status, connect_code);
    if (!forced_err && cc != CURLE_OK && r->discover_err)
        resp.err = r->discover_err; /* the discovery check refused the server's chain */
    resp.discovered_ca_pem = r->discover_ca_pem;
    resp.status = status;
    resp.content_type = r->content_type[0] ? r->content_type : NULL;
    resp.location = r->location[0] ? r->location : NULL;
    resp.retry_after = http_retry_after(r->retry_after);
    resp.date = 0;
    if (r->date[0]) {
        time_t t = curl_getdate(r->date, NULL);
        resp.date = t == (time_t)-1 ? 0 : (int64_t)t;
    }
    resp.body = r->resp;
    resp.num_connects = num_connects;
    if (resp.err == 0) {
        r->errbuf[0] = '\0';
    } else if (forced_err == WARD_ECANCELED) {
        snprintf(r->errbuf, sizeof(r->errbuf), "request canceled");
    } else if (cc == CURLE_WRITE_ERROR && r->write_err == WARD_ETOOBIG && r->sink_on) {
        snprintf(r->errbuf, sizeof(r->errbuf), "download longer than the signed %llu bytes",
                 (unsigned long long)r->sink->max);
    } else if (cc == CURLE_WRITE_ERROR && r->sink_on) {
        snprintf(r->errbuf, sizeof(r->errbuf), "cannot write the download: %s",
                 ward_strerror(r->write_err));
    } else if (cc == CURLE_WRITE_ERROR && r->write_err == WARD_ETOOBIG) {
        snprintf(r->errbuf, sizeof(r->errbuf), "response body larger than %zu bytes", r->resp.max);
    } else if (cc == CURLE_OK) {
        snprintf(r->errbuf, sizeof(r->errbuf), "HTTP status %ld%s", status,
                 resp.err == WARD_EREDIRECT ? " (redirects are not followed)" : "");
    } else if (resp.err == WARD_EPROXY && connect_code >= 300) {
        snprintf(r->errbuf, sizeof(r->errbuf), "proxy answered CONNECT with %ld", connect_code);
    } else if (r->discover_err && !forced_err && cc != CURLE_OK) {
        snprintf(r->errbuf, sizeof(r->errbuf), "%s",
                 r->discover_err == WARD_EPIN
                     ? "no certificate in the server's chain matches the pinned CA"
                     : "server certificate does not verify against the pinned CA for this host");
    } else if (!r->errbuf[0]) {
        snprintf(r->errbuf, sizeof(r->errbuf), "%s", curl_easy_strerror(cc));
    }
    resp.error_detail = r->errbuf;

    h->requests++;
    h->connects += (uint64_t)(num_connects > 0 ? num_connects : 0);
    /* No %zu here: on mingw the log functions are checked as MS printf. */
    WARD_DEBUG("%s %s -> %ld in %llu ms, %llu bytes, %ld new connection(s)%s%s%s", r->method,
               r->url_log, status, (unsigned long long)(uv_now(h->loop) - r->started_ms),
               (unsigned long long)r->resp.len, num_connects, resp.err ? " [" : "",
               resp.err ? r->errbuf : "", resp.err ? "]" : "");

    r->cb(&resp, r->ctx);
    /* The callback may have stolen the body; resp.body is the buffer it saw. */
    r->resp = resp.body;
    http_req_free(r);
}

static int http_valid_method(const char *m)
{
    size_t n = strlen(m);
    if (n == 0 || n >= 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (m[i] < 'A' || m[i] > 'Z')
            return 0;
    return 1;
}

static int http_valid_header(const char *line)
{
    const char *colon = strchr(line, ':');
    if (!colon || colon == line)
        return 0;
    return strpbrk(line, "\r\n") == NULL;
}

#define HTTP_SETOPT(opt, val)                                                                      \
    do {                                                                                           \
        CURLcode setopt_cc_ = curl_easy_setopt(e, opt, val);                                       \
        if (setopt_cc_ != CURLE_OK) {                                                              \
            WARD_LOG_ERR(WARD_ENOTSUP, "curl rejected %s: %s", #opt,                               \
                         curl_easy_strerror(setopt_cc_));                                          \
            rc = setopt_cc_ == CURLE_OUT_OF_MEMORY ? WARD_ENOMEM : WARD_ENOTSUP;                   \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* ---- enrollment discovery ------------------------------------------------------------- */

/* OpenSSL's whole-chain verification hook for a discovery connection (runs inside the
 * handshake, before any HTTP byte is written): the chain the server sent must hold a CA
 * certificate with the pinned SPKI, and the leaf must verify against exactly that CA and
 * match the URL's host. */
static int http_discover_verify(X509_STORE_CTX *xs, void *arg)
{
    struct agent_http_req *r = arg;
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);
    STACK_OF(X509) *sent = X509_STORE_CTX_get0_untrusted(xs);
    X509 *ca = NULL;
    const char *reason = NULL;
    char *pem = NULL;
    int host_ok;

    if (!leaf) {
        r->discover_err = WARD_ETLS;
        goto fail;
    }
    for (int i = 0; sent && i < sk_X509_num(sent); i++) {
        X509 *c = sk_X509_value(sent, i);
        if (X509_check_ca(c) >= 1 && ward_pin_check_cert(c, r->h->discover_pin) == 0) {
            ca = c;
            break;
        }
    }
    if (!ca) {
        r->discover_err = WARD_EPIN;
        goto fail;
    }
    if (ward_x509_verify(leaf, sent, ca, 0, &reason) != 0) {
        WARD_DEBUG("discovery: server certificate does not verify against the pinned CA: %s",
                   reason ? reason : "?");
        r->discover_err = WARD_ETLS;
        goto fail;
    }
    if (X509_check_ip_asc(leaf, r->discover_host, 0) == 1)
        host_ok = 1;
    else
        host_ok = X509_check_host(leaf, r->discover_host, 0, 0, NULL) == 1;
    if (!host_ok) {
        WARD_DEBUG("discovery: server certificate is not valid for %s", r->discover_host);
        r->discover_err = WARD_ETLS;
        goto fail;
    }
    if (ward_x509_to_pem(ca, &pem, NULL) != 0) {
        r->discover_err = WARD_ENOMEM;
        goto fail;
    }
    ward_free(r->discover_ca_pem);
    r->discover_ca_pem = pem;
    r->discover_err = 0;
    X509_STORE_CTX_set_error(xs, X509_V_OK);
    return 1;
fail:
    X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_UNTRUSTED);
    return 0;
}

static CURLcode http_ssl_ctx_cb(CURL *easy, void *sslctx, void *userptr)
{
    (void)easy;
    SSL_CTX_set_cert_verify_callback((SSL_CTX *)sslctx, http_discover_verify, userptr);
    return CURLE_OK;
}

/* Applies the client policy and this request's parameters to r->easy. */
static int http_req_setup(struct agent_http *h, struct agent_http_req *r,
                          const struct agent_http_request *rq)
{
    CURL *e = r->easy;
    long connect_ms, total_ms, low_time, low_limit;
    size_t max_resp;
    int rc = 0;

    connect_ms = rq->connect_timeout_ms ? rq->connect_timeout_ms : h->connect_timeout_ms;
    total_ms = rq->timeout_ms ? rq->timeout_ms : h->timeout_ms;
    low_time = rq->low_speed_time_s ? rq->low_speed_time_s : h->low_speed_time_s;
    low_limit = h->low_speed_limit;
    max_resp = rq->max_response ? rq->max_response : h->max_response;
    if (connect_ms < 0)
        connect_ms = AGENT_HTTP_DEFAULT_CONNECT_TIMEOUT_MS; /* a connect always has a limit */
    if (total_ms < 0)
        total_ms = 0; /* curl: no total limit */
    if (low_time < 0)
        low_time = low_limit = 0;
    ward_buf_init(&r->resp, max_resp);
    r->sink = rq->sink;

    HTTP_SETOPT(CURLOPT_URL, rq->url);
    HTTP_SETOPT(CURLOPT_PROTOCOLS_STR, "https");
    HTTP_SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "https");
    HTTP_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
    HTTP_SETOPT(CURLOPT_MAXREDIRS, 0L);
    HTTP_SETOPT(CURLOPT_NOSIGNAL, 1L);
    HTTP_SETOPT(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    HTTP_SETOPT(CURLOPT_ERRORBUFFER, r->errbuf);
    HTTP_SETOPT(CURLOPT_USERAGENT, h->user_agent);
    HTTP_SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);

    /* TLS policy: fixed, no switch turns it off. */
    HTTP_SETOPT(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    HTTP_SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
    HTTP_SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
    HTTP_SETOPT(CURLOPT_CAPATH, NULL); /* never the build-time default directory */
    if (h->discover_pin) {
        /* No CA store at all: http_discover_verify replaces chain verification. */
        HTTP_SETOPT(CURLOPT_CAINFO, NULL);
        HTTP_SETOPT(CURLOPT_SSL_SESSIONID_CACHE, 0L);
        HTTP_SETOPT(CURLOPT_SSL_CTX_FUNCTION, http_ssl_ctx_cb);
        HTTP_SETOPT(CURLOPT_SSL_CTX_DATA, (void *)r);
    } else if (h->ca_blob) {
        struct curl_blob blob = {h->ca_blob, h->ca_blob_len, CURL_BLOB_NOCOPY};
        HTTP_SETOPT(CURLOPT_CAINFO_BLOB, &blob);
    } else {
        HTTP_SETOPT(CURLOPT_CAINFO, h->ca_file);
    }
    if (h->pin)
        HTTP_SETOPT(CURLOPT_PINNEDPUBLICKEY, h->pin);
    if (h->cert_pem) {
        struct curl_blob blob = {h->cert_pem, h->cert_pem_len, CURL_BLOB_NOCOPY};
        HTTP_SETOPT(CURLOPT_SSLCERT_BLOB, &blob);
    } else if (h->cert_file) {
        HTTP_SETOPT(CURLOPT_SSLCERT, h->cert_file);
    }
    if (h->cert_pem || h->cert_file)
        HTTP_SETOPT(CURLOPT_SSLCERTTYPE, "PEM");
    if (h->key_pem) {
        struct curl_blob blob = {h->key_pem, h->key_pem_len, CURL_BLOB_NOCOPY};
        HTTP_SETOPT(CURLOPT_SSLKEY_BLOB, &blob);
    } else if (h->key_file) {
        HTTP_SETOPT(CURLOPT_SSLKEY, h->key_file);
    }
    if (h->key_pem || h->key_file)
        HTTP_SETOPT(CURLOPT_SSLKEYTYPE, "PEM");

    /* Proxy: always explicit, so curl never consults the environment on its own. */
    HTTP_SETOPT(CURLOPT_NOPROXY, "");
    HTTP_SETOPT(CURLOPT_PROXY, r->via_proxy ? h->proxy : "");
    if (r->via_proxy) {
        HTTP_SETOPT(CURLOPT_HTTPPROXYTUNNEL, 1L);
        HTTP_SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
        HTTP_SETOPT(CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
        if (h->proxy_user)
            HTTP_SETOPT(CURLOPT_PROXYUSERNAME, h->proxy_user);
        if (h->proxy_password)
            HTTP_SETOPT(CURLOPT_PROXYPASSWORD, h->proxy_password);
        HTTP_SETOPT(CURLOPT_PROXY_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
        HTTP_SETOPT(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
        HTTP_SETOPT(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
        if (h->proxy_ca_file) {
            HTTP_SETOPT(CURLOPT_PROXY_CAINFO, h->proxy_ca_file);
            HTTP_SETOPT(CURLOPT_PROXY_CAPATH, NULL);
        } else {
            /* The OS store (Windows; a no-op with OpenSSL elsewhere, where the system
             * bundle is curl's default): our Windows curl has no built-in bundle path. */
            HTTP_SETOPT(CURLOPT_PROXY_SSL_OPTIONS, (long)CURLSSLOPT_NATIVE_CA);
        }
    }

    /* Limits. */
    HTTP_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
    HTTP_SETOPT(CURLOPT_TIMEOUT_MS, total_ms);
    HTTP_SETOPT(CURLOPT_LOW_SPEED_LIMIT, low_limit);
    HTTP_SETOPT(CURLOPT_LOW_SPEED_TIME, low_time);
    /* curl refuses by Content-Length early; a sink's body may be as long as what is left of
     * the signed length (its writes enforce that exactly), an error body max_resp. */
    {
        uint64_t cap = max_resp;
        if (rq->sink && rq->sink->max > rq->sink->offset && rq->sink->max - rq->sink->offset > cap)
            cap = rq->sink->max - rq->sink->offset;
        HTTP_SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cap);
    }
    HTTP_SETOPT(CURLOPT_ACCEPT_ENCODING, "");

    HTTP_SETOPT(CURLOPT_WRITEFUNCTION, http_write_cb);
    HTTP_SETOPT(CURLOPT_WRITEDATA, (void *)r);
    HTTP_SETOPT(CURLOPT_HEADERFUNCTION, http_header_cb);
    HTTP_SETOPT(CURLOPT_HEADERDATA, (void *)r);

    /* Method and body. */
    if (strcmp(r->method, "GET") == 0) {
        HTTP_SETOPT(CURLOPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        HTTP_SETOPT(CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(r->method, "POST") != 0)
            HTTP_SETOPT(CURLOPT_CUSTOMREQUEST, r->method);
        if (r->body || strcmp(r->method, "POST") == 0 || strcmp(r->method, "PUT") == 0) {
            HTTP_SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
            HTTP_SETOPT(CURLOPT_POSTFIELDS, r->body ? (const void *)r->body : (const void *)"");
        }
    }
    HTTP_SETOPT(CURLOPT_HTTPHEADER, r->hdrs);
out:
    return rc;
}

static int http_req_headers(struct agent_http_req *r, const struct agent_http_request *rq)
{
    struct curl_slist *n;
    /* No "Expect: 100-continue" round trip for bodies. */
    n = curl_slist_append(r->hdrs, "Expect:");
    if (!n)
        return WARD_ENOMEM;
    r->hdrs = n;
    if (rq->gzip_body) {
        n = curl_slist_append(r->hdrs, "Content-Encoding: gzip");
        if (!n)
            return WARD_ENOMEM;
        r->hdrs = n;
    }
    for (const char *const *hp = rq->headers; hp && *hp; hp++) {
        if (!http_valid_header(*hp))
            return WARD_EINVAL;
        n = curl_slist_append(r->hdrs, *hp);
        if (!n)
            return WARD_ENOMEM;
        r->hdrs = n;
    }
    return 0;
}

int agent_http_request(struct agent_http *h, const struct agent_http_request *rq,
                       agent_http_done_fn cb, void *ctx, struct agent_http_req **out)
{
    struct agent_http_req *r = NULL;
    const char *method;
    char *host = NULL;
    int rc = 0;
    CURLMcode mc;

    if (out)
        *out = NULL;
    if (!h || !rq || !rq->url || !cb || (rq->body_len && !rq->body))
        return WARD_EINVAL;
    if (h->closing)
        return WARD_ESTATE;
    method = rq->method ? rq->method : "GET";
    if (!http_valid_method(method))
        return WARD_EINVAL;
    if ((strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0) && rq->body_len)
        return WARD_EINVAL;
    rc = http_url_host(rq->url, &host);
    if (rc != 0)
        return rc;

    r = ward_calloc(1, sizeof(*r));
    if (!r) {
        rc = WARD_ENOMEM;
        goto out;
    }
    r->h = h;
    r->cb = cb;
    r->ctx = ctx;
    snprintf(r->method, sizeof(r->method), "%s", method);
    ward_redact_url(rq->url, r->url_log, sizeof(r->url_log));
    r->via_proxy = h->proxy && !http_no_proxy_match(h->no_proxy, host);
    if (h->discover_pin) {
        /* curl hands IPv6 hosts back in brackets; X509_check_ip_asc wants them bare. */
        const char *hs = host;
        size_t hl = strlen(host);
        if (hl >= 2 && host[0] == '[' && host[hl - 1] == ']') {
            hs++;
            hl -= 2;
        }
        rc = http_dupn(hs, hl, &r->discover_host);
        if (rc != 0)
            goto out;
    }
    rc = http_req_headers(r, rq);
    if (rc != 0)
        goto out;
    if (rq->body_len && rq->gzip_body) {
        rc = ward_gzip(rq->body, rq->body_len, Z_DEFAULT_COMPRESSION, &r->body, &r->body_len);
        if (rc != 0)
            goto out;
    } else if (rq->body || rq->gzip_body) {
        if (rq->gzip_body) {
            rc = ward_gzip("", 0, Z_DEFAULT_COMPRESSION, &r->body, &r->body_len);
            if (rc != 0)
                goto out;
        } else {
            r->body = ward_malloc(rq->body_len ? rq->body_len : 1);
            if (!r->body) {
                rc = WARD_ENOMEM;
                goto out;
            }
            memcpy(r->body, rq->body, rq->body_len);
            r->body_len = rq->body_len;
        }
    }
    r->easy = curl_easy_init();
    if (!r->easy) {
        rc = WARD_ENOMEM;
        goto out;
    }
    rc = http_req_setup(h, r, rq);
    if (rc == 0 && curl_easy_setopt(r->easy, CURLOPT_SHARE, h->share) != CURLE_OK)
        rc = WARD_EIO;
    if (rc != 0)
        goto out;
    r->started_ms = uv_now(h->loop);
    mc = curl_multi_add_handle(h->multi, r->easy);
    if (mc != CURLM_OK) {
        rc = mc == CURLM_OUT_OF_MEMORY ? WARD_ENOMEM : WARD_EIO;
        goto out;
    }
    r->next = h->reqs;
    if (h->reqs)
        h->reqs->prev = r;
    h->reqs = r;
    h->in_flight++;
    if (out)
        *out = r;
    r = NULL;
out:
    curl_free(host);
    http_req_free(r);
    return rc;
}

void agent_http_cancel(struct agent_http_req *r)
{
    if (!r)
        return;
    http_req_finish(r, CURLE_OK, WARD_ECANCELED);
}

/* ---- client ----------------------------------------------------------------------------- */

/* Resolves the proxy from options or the environment into h->proxy / h->no_proxy. */
static int http_setup_proxy(struct agent_http *h, const struct agent_http_opts *o)
{
    const char *p = o->proxy, *np = o->no_proxy, *sep;
    char logurl[HTTP_URL_LOG_MAX];
    struct ward_buf b;
    int rc;

    if (!p)
        p = getenv("https_proxy");
    if (!p)
        p = getenv("HTTPS_PROXY");
    if (!np)
        np = getenv("no_proxy");
    if (!np)
        np = getenv("NO_PROXY");
    if (!p || !*p)
        return 0;
    sep = strstr(p, "://");
    if (sep && !(((size_t)(sep - p) == 4 && curl_strnequal(p, "http", 4)) ||
                 ((size_t)(sep - p) == 5 && curl_strnequal(p, "https", 5)))) {
        ward_redact_url(p, logurl, sizeof(logurl));
        WARD_LOG_ERR(WARD_ECONFIG, "proxy %s: only http:// and https:// proxies are supported",
                     logurl);
        return WARD_ECONFIG;
    }
    ward_buf_init(&b, 8192);
    rc = ward_buf_appendf(&b, "%s%s", sep ? "" : "http://", p);
    if (rc != 0) {
        ward_buf_release(&b);
        return rc == WARD_ETOOBIG ? WARD_ECONFIG : rc;
    }
    h->proxy = ward_buf_steal(&b, NULL);
    if (!h->proxy)
        return WARD_ENOMEM;
    rc = http_dup(np, &h->no_proxy);
    if (rc != 0)
        return rc;
    ward_redact_url(h->proxy, logurl, sizeof(logurl));
    WARD_INFO("using proxy %s%s%s", logurl, h->no_proxy ? ", except for " : "",
              h->no_proxy ? h->no_proxy : "");
    return 0;
}

/* Builds the service trust: a file as is, or an in-memory bundle made of the pinned CA PEM
 * (or file) plus the extra CA bundle, because curl takes one CA source, not two. */
static int http_setup_trust(struct agent_http *h, const struct agent_http_opts *o)
{
    struct ward_buf b;
    int rc = 0;
    if (!o->extra_ca_file) {
        if (o->ca_pem)
            rc = http_dupn(o->ca_pem, o->ca_pem_len, &h->ca_blob);
        else
            rc = http_dup(o->ca_file, &h->ca_file);
        if (rc == 0 && h->ca_blob)
            h->ca_blob_len = o->ca_pem_len;
        return rc;
    }
    ward_buf_init(&b, HTTP_CA_FILE_MAX);
    if (o->ca_pem)
        rc = ward_buf_append(&b, o->ca_pem, o->ca_pem_len);
    else
        rc = http_read_file(o->ca_file, &b);
    if (rc == 0)
        rc = ward_buf_append_str(&b, "\n");
    if (rc == 0)
        rc = http_read_file(o->extra_ca_file, &b);
    if (rc != 0) {
        WARD_LOG_ERR(rc, "cannot load CA bundles %s + %s", o->ca_pem ? "(memory)" : o->ca_file,
                     o->extra_ca_file);
        ward_buf_release(&b);
        return rc;
    }
    h->ca_blob = ward_buf_steal(&b, &h->ca_blob_len);
    return h->ca_blob ? 0 : WARD_ENOMEM;
}

int agent_http_new(uv_loop_t *loop, const struct agent_http_opts *o, struct agent_http **out)
{
    struct agent_http *h = NULL;
    int rc, global = 0;

    if (!out)
        return WARD_EINVAL;
    *out = NULL;
    if (!loop || !o)
        return WARD_EINVAL;
    if (o->discover_ca_pin) {
        if (o->ca_file || o->ca_pem || o->extra_ca_file ||
            ward_pin_check(o->discover_ca_pin, o->discover_ca_pin) != 0)
            return WARD_EINVAL;
    } else if ((!o->ca_file == !o->ca_pem) || (o->ca_pem && !o->ca_pem_len)) {
        return WARD_EINVAL;
    }
    if ((o->client_cert_file && o->client_cert_pem) || (o->client_key_file && o->client_key_pem))
        return WARD_EINVAL;
    if (!(o->client_cert_file || o->client_cert_pem) != !(o->client_key_file || o->client_key_pem))
        return WARD_EINVAL;
    rc = agent_http_global_init();
    if (rc != 0)
        return rc;
    global = 1;
    h = ward_calloc(1, sizeof(*h));
    if (!h) {
        rc = WARD_ENOMEM;
        goto out;
    }
    h->loop = loop;
    h->connect_timeout_ms =
        o->connect_timeout_ms > 0 ? o->connect_timeout_ms : AGENT_HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
    h->timeout_ms = o->timeout_ms ? o->timeout_ms : AGENT_HTTP_DEFAULT_TIMEOUT_MS;
    h->low_speed_limit =
        o->low_speed_limit ? o->low_speed_limit : AGENT_HTTP_DEFAULT_LOW_SPEED_LIMIT;
    h->low_speed_time_s =
        o->low_speed_time_s ? o->low_speed_time_s : AGENT_HTTP_DEFAULT_LOW_SPEED_TIME_S;
    h->max_response = o->max_response ? o->max_response : AGENT_HTTP_DEFAULT_MAX_RESPONSE;

    if (o->discover_ca_pin)
        rc = http_dup(o->discover_ca_pin, &h->discover_pin);
    else
        rc = http_setup_trust(h, o);
    if (rc == 0)
        rc = http_dup(o->pin, &h->pin);
    if (rc == 0)
        rc = http_dup(o->client_cert_file, &h->cert_file);
    if (rc == 0)
        rc = http_dup(o->client_key_file, &h->key_file);
    if (rc == 0 && o->client_cert_pem) {
        rc = http_dupn(o->client_cert_pem, o->client_cert_pem_len, &h->cert_pem);
        h->cert_pem_len = o->client_cert_pem_len;
    }
    if (rc == 0 && o->client_key_pem) {
        rc = http_dupn(o->client_key_pem, o->client_key_pem_len, &h->key_pem);
        h->key_pem_len = o->client_key_pem_len;
    }
    if (rc == 0)
        rc = http_dup(o->proxy_user, &h->proxy_user);
    if (rc == 0)
        rc = http_dup(o->proxy_password, &h->proxy_password);
    if (rc == 0)
        rc = http_dup(o->proxy_ca_file, &h->proxy_ca_file);
    if (rc == 0)
        rc = http_dup(o->user_agent ? o->user_agent : "ward/" WARD_VERSION, &h->user_agent);
    if (rc == 0)
        rc = http_setup_proxy(h, o);
    if (rc != 0)
        goto out;

    h->multi = curl_multi_init();
    if (!h->multi) {
        rc = WARD_ENOMEM;
        goto out;
    }
    h->share = curl_share_init();
    if (!h->share ||
        curl_share_setopt(h->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb) != CURLM_OK ||
        curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, (void *)h) != CURLM_OK ||
        curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, http_timer_cb) != CURLM_OK ||
        curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, (void *)h) != CURLM_OK) {
        rc = WARD_EIO;
        goto out;
    }
    /* Last: from here on the client owns a uv handle and can only go away through close. */
    if (uv_timer_init(loop, &h->timer) != 0) {
        rc = WARD_EIO;
        goto out;
    }
    h->timer.data = h;
    h->handles = 1;
    *out = h;
    h = NULL;
    global = 0;
out:
    if (h) {
        if (h->multi)
            curl_multi_cleanup(h->multi);
        http_free(h);
    }
    if (global)
        agent_http_global_cleanup();
    return rc;
}

void agent_http_close(struct agent_http *h, agent_http_close_fn cb, void *ctx)
{
    if (!h || h->closing)
        return;
    h->closing = 1;
    h->close_cb = cb;
    h->close_ctx = ctx;
    /* Callbacks may cancel other requests; always take the current head. */
    while (h->reqs)
        http_req_finish(h->reqs, CURLE_OK, WARD_ECANCELED);
    /* Closing cached connections reports CURL_POLL_REMOVE for their sockets. */
    curl_multi_cleanup(h->multi);
    h->multi = NULL;
    while (h->socks)
        http_sock_close(h->socks);
    uv_close((uv_handle_t *)&h->timer, http_timer_closed);
}

void agent_http_get_stats(const struct agent_http *h, struct agent_http_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!h)
        return;
    out->requests = h->requests;
    out->connects = h->connects;
    out->in_flight = h->in_flight;
    out->sockets = h->nsocks;
}

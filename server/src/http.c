/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's transport (see server/http.h): a libuv TCP listener, and per connection
 * one uv_tcp_t, one uv_timer_t and an OpenSSL SSL object on two memory BIOs. Bytes from
 * uv_read go into the read BIO; SSL_read's plaintext goes to the HTTP layer (conn.c);
 * response bytes go through SSL_write into the write BIO, which is flushed to the socket
 * with uv_try_write and, for whatever the kernel did not take, one uv_write. The single
 * timer per connection enforces the handshake, slow-request and keep-alive idle limits
 * according to the connection's phase. A file body (srv_req_respond_file) is read in
 * FILE_CHUNK pieces with uv_fs_read on the thread pool, each one started only while the
 * socket backlog is below WRITE_LOW, so a download moves at the peer's pace with a bounded
 * amount in memory; the timer then watches for a stalled peer. Closing is graceful where
 * it can be: TLS close_notify, then a write shutdown and a short lingering read so that a
 * final error response is not destroyed by a reset.
 */
#define WARD_LOG_TAG "srv-http"

#include "server/http.h"

#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define LISTEN_BACKLOG 1024
#define WRITE_HIGH ((size_t)1024 * 1024) /* stop serving new requests above this backlog */
#define WRITE_LOW ((size_t)256 * 1024)
#define OUT_KEEP_MAX ((size_t)256 * 1024)
#define LINGER_MS 1000u
#define FILE_CHUNK ((size_t)64 * 1024)

enum timer_kind { TK_NONE, TK_HANDSHAKE, TK_IDLE, TK_REQUEST, TK_CLOSING, TK_LINGER, TK_SEND };

struct srv_tconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shut;
    struct srv_http *h;
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
    struct srv_conn conn;
    struct srv_tconn *prev, *next;
    uv_fs_t fsreq; /* a file body read in flight (fs_busy) */
    char *fbuf;    /* FILE_CHUNK bytes while a file body is being sent */
    int fs_busy;
    int handles; /* uv handles not yet through their close callback, plus fs_busy */
    int closing; /* uv_close called */
    int handshake_done;
    int reading;
    int pumping;
    int tls_shutdown; /* close_notify queued */
    int lingering;    /* write side shut, discarding input until EOF or timer */
    int truncated;    /* a file body ended early: flush what is queued, then end (no
                       * close_notify, so the peer sees the body was cut short) */
    unsigned writes;  /* uv_write requests in flight */
    size_t backlog;   /* their bytes */
    enum timer_kind timer_kind;
    unsigned long timer_nreq;
};

struct wreq {
    uv_write_t req;
    size_t len;
    char data[];
};

struct srv_http {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_timer_t grace;
    struct srv_conn_env env;
    SSL_CTX *ssl_ctx;
    int port;
    struct srv_tconn *conns;
    size_t nconns; /* allocated tconns, zombies included */
    int closing;
    int listener_closed;
    int grace_closing;
    void (*done)(void *arg);
    void *done_arg;
    char rbuf[64 * 1024];
    char pbuf[16 * 1024];
};

static void tconn_close(struct srv_tconn *t);
static void tconn_sync(struct srv_conn *c);
static void tconn_release(struct srv_conn *c);
static void tconn_pump(struct srv_tconn *t);
static void maybe_done(struct srv_http *h);

static const struct srv_conn_ops tconn_ops = {
    .sync = tconn_sync,
    .release = tconn_release,
};

static void log_tls_errors(struct srv_tconn *t, const char *what)
{
    unsigned long e = ERR_get_error();
    if (e && WARD_LOG_DEBUG <= ward_log_threshold) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof(buf));
        WARD_DEBUG("%s: %s: %s", t->conn.peer_addr, what, buf);
    }
    ERR_clear_error();
}

/* ---- teardown ------------------------------------------------------------------------ */

static void tconn_free(struct srv_tconn *t)
{
    struct srv_http *h = t->h;
    if (t->prev)
        t->prev->next = t->next;
    else
        h->conns = t->next;
    if (t->next)
        t->next->prev = t->prev;
    SSL_free(t->ssl);
    srv_conn_release(&t->conn);
    ward_free(t->fbuf);
    ward_free(t);
    h->nconns--;
    maybe_done(h);
}

/* One handle closed or the file read finished: the last one frees the connection. */
static void tconn_unref(struct srv_tconn *t)
{
    if (--t->handles > 0)
        return;
    if (t->conn.req.state == SRV_REQ_ZOMBIE)
        return; /* the application still holds the request: tconn_release frees */
    tconn_free(t);
}

static void on_tconn_close(uv_handle_t *hd)
{
    tconn_unref(hd->data);
}

static void tconn_release(struct srv_conn *c)
{
    struct srv_tconn *t = c->io;
    if (t->handles == 0)
        tconn_free(t);
}

static void tconn_close(struct srv_tconn *t)
{
    if (t->closing)
        return;
    t->closing = 1;
    uv_read_stop((uv_stream_t *)&t->tcp);
    uv_close((uv_handle_t *)&t->tcp, on_tconn_close);
    uv_close((uv_handle_t *)&t->timer, on_tconn_close);
    /* After the handles are closing: an abort callback sees a connection that is gone. */
    srv_conn_dead(&t->conn);
}

/* ---- timers -------------------------------------------------------------------------- */

static void on_timer(uv_timer_t *tm)
{
    struct srv_tconn *t = tm->data;
    if (t->timer_kind == TK_REQUEST)
        WARD_DEBUG("%s: request not complete in time; closing", t->conn.peer_addr);
    else if (t->timer_kind == TK_HANDSHAKE)
        WARD_DEBUG("%s: TLS handshake not complete in time; closing", t->conn.peer_addr);
    else if (t->timer_kind == TK_SEND)
        WARD_DEBUG("%s: peer took no file body bytes in time; closing", t->conn.peer_addr);
    tconn_close(t);
}

static void arm(struct srv_tconn *t, enum timer_kind k, unsigned ms)
{
    t->timer_kind = k;
    t->timer_nreq = t->conn.nreq;
    if (ms)
        uv_timer_start(&t->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&t->timer);
}

static void update_timer(struct srv_tconn *t)
{
    const struct srv_http_opts *o = &t->h->env.o;
    enum timer_kind k;
    unsigned ms = 0;

    if (t->lingering || !t->handshake_done)
        return; /* their own timers */
    if (t->conn.file_fd >= 0) {
        /* Re-armed at each chunk sent (file_read_done): a stalled peer is dropped. */
        if (t->timer_kind != TK_SEND)
            arm(t, TK_SEND, o->idle_timeout_ms);
        return;
    }
    switch (t->conn.phase) {
    case SRV_PHASE_IDLE:
        k = TK_IDLE;
        ms = o->idle_timeout_ms;
        break;
    case SRV_PHASE_READING:
        k = TK_REQUEST;
        ms = o->request_timeout_ms;
        break;
    case SRV_PHASE_HELD:
        k = TK_NONE;
        break;
    default:
        k = TK_CLOSING; /* bounds the final flush */
        ms = o->close_grace_ms;
        break;
    }
    if (k == t->timer_kind && t->timer_nreq == t->conn.nreq)
        return;
    arm(t, k, ms);
}

/* ---- writing ------------------------------------------------------------------------- */

static void begin_linger(struct srv_tconn *t);
static void file_pump(struct srv_tconn *t);

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct srv_tconn *t = req->data;
    t->writes--;
    t->backlog -= w->len;
    ward_free(w);
    if (t->closing)
        return;
    if (status < 0) {
        WARD_DEBUG("%s: write failed: %s", t->conn.peer_addr, uv_strerror(status));
        tconn_close(t);
        return;
    }
    if (t->conn.out_blocked && t->backlog < WRITE_LOW) {
        t->conn.out_blocked = 0;
        srv_conn_resume(&t->conn);
        return; /* resume synced */
    }
    if ((t->tls_shutdown || t->truncated) && t->writes == 0)
        begin_linger(t);
    else
        file_pump(t);
}

/* Sends what the write BIO holds. Returns -1 if the connection was closed. */
static int flush_wbio(struct srv_tconn *t)
{
    char *p = NULL;
    long n = BIO_get_mem_data(t->wbio, &p);
    struct wreq *w;
    uv_buf_t b;
    int rc;

    if (n <= 0 || t->closing)
        return t->closing ? -1 : 0;
    if (t->writes == 0) {
        b = uv_buf_init(p, (unsigned)n);
        rc = uv_try_write((uv_stream_t *)&t->tcp, &b, 1);
        if (rc == n) {
            (void)BIO_reset(t->wbio);
            return 0;
        }
        if (rc < 0 && rc != UV_EAGAIN) {
            WARD_DEBUG("%s: write failed: %s", t->conn.peer_addr, uv_strerror(rc));
            tconn_close(t);
            return -1;
        }
        if (rc > 0) {
            p += rc;
            n -= rc;
        }
    }
    w = ward_malloc(sizeof(*w) + (size_t)n);
    if (!w) {
        WARD_LOG_ERR(WARD_ENOMEM, "%s: no memory for a write; closing", t->conn.peer_addr);
        tconn_close(t);
        return -1;
    }
    memcpy(w->data, p, (size_t)n);
    w->len = (size_t)n;
    w->req.data = t;
    (void)BIO_reset(t->wbio);
    b = uv_buf_init(w->data, (unsigned)n);
    rc = uv_write(&w->req, (uv_stream_t *)&t->tcp, &b, 1, on_write);
    if (rc < 0) {
        ward_free(w);
        tconn_close(t);
        return -1;
    }
    t->writes++;
    t->backlog += w->len;
    if (t->backlog > WRITE_HIGH)
        t->conn.out_blocked = 1;
    return 0;
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

static void set_reading(struct srv_tconn *t, int want)
{
    if (want == t->reading || t->closing)
        return;
    t->reading = want;
    if (want)
        uv_read_start((uv_stream_t *)&t->tcp, on_alloc, on_read);
    else
        uv_read_stop((uv_stream_t *)&t->tcp);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct srv_tconn *t = req->data;
    if (t->closing)
        return;
    if (status < 0) {
        tconn_close(t);
        return;
    }
    arm(t, TK_LINGER, LINGER_MS);
    set_reading(t, 1);
}

/* All output is out: shut the write side and wait briefly for the peer's EOF, so a final
 * response is not reset by input the peer had still in flight. */
static void begin_linger(struct srv_tconn *t)
{
    if (t->lingering || t->closing)
        return;
    t->lingering = 1;
    if (t->h->closing) {
        tconn_close(t);
        return;
    }
    t->shut.data = t;
    if (uv_shutdown(&t->shut, (uv_stream_t *)&t->tcp, on_shutdown) < 0)
        tconn_close(t);
}

static void tconn_sync(struct srv_conn *c)
{
    struct srv_tconn *t = c->io;
    size_t off = 0;

    if (t->closing || t->lingering)
        return;
    while (off < c->out.len) {
        size_t chunk = c->out.len - off;
        int n = SSL_write(t->ssl, c->out.data + off, chunk > INT_MAX ? INT_MAX : (int)chunk);
        if (n <= 0) {
            log_tls_errors(t, "SSL_write");
            tconn_close(t);
            return;
        }
        off += (size_t)n;
    }
    if (c->out.cap > OUT_KEEP_MAX)
        ward_buf_release(&c->out);
    else
        ward_buf_reset(&c->out);
    if (c->phase == SRV_PHASE_CLOSING && !t->tls_shutdown && c->file_fd < 0) {
        t->tls_shutdown = 1;
        (void)SSL_shutdown(t->ssl); /* queues close_notify; the peer's is not awaited */
        ERR_clear_error();
    }
    if (flush_wbio(t))
        return;
    update_timer(t);
    if (t->tls_shutdown) {
        if (t->writes == 0)
            begin_linger(t);
        return;
    }
    set_reading(t, srv_conn_wants_input(c));
    /* A response released a paused connection: decrypted input may be waiting. */
    if (!t->pumping && srv_conn_wants_input(c) && SSL_pending(t->ssl) + BIO_pending(t->rbio) > 0)
        tconn_pump(t);
    file_pump(t);
}

/* ---- file bodies --------------------------------------------------------------------- */

/* Encrypts n bytes into the write BIO. Returns -1 if the connection was closed. */
static int tls_put(struct srv_tconn *t, const char *p, size_t n)
{
    size_t off = 0;
    while (off < n) {
        size_t chunk = n - off;
        int w = SSL_write(t->ssl, p + off, chunk > INT_MAX ? INT_MAX : (int)chunk);
        if (w <= 0) {
            log_tls_errors(t, "SSL_write");
            tconn_close(t);
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

static void file_read_done(uv_fs_t *req)
{
    struct srv_tconn *t = req->data;
    struct srv_conn *c = &t->conn;
    ssize_t n = req->result;

    uv_fs_req_cleanup(req);
    t->fs_busy = 0;
    if (t->closing) {
        tconn_unref(t);
        return;
    }
    t->handles--; /* the uv handles are open: never the last reference here */
    if (n <= 0 || (uint64_t)n > c->file_left) {
        WARD_WARN("%s: file body: %s with %llu bytes left; closing", c->peer_addr,
                  n < 0 ? uv_strerror((int)n) : "file shorter than announced",
                  (unsigned long long)c->file_left);
        srv_conn_file_done(c, 0);
        /* Not tconn_close: that would cancel the chunks still queued for the peer. */
        t->truncated = 1;
        if (!t->closing && t->writes == 0)
            begin_linger(t);
        return;
    }
    if (tls_put(t, t->fbuf, (size_t)n))
        return;
    c->file_off += (uint64_t)n;
    c->file_left -= (uint64_t)n;
    if (flush_wbio(t))
        return;
    arm(t, TK_SEND, t->h->env.o.idle_timeout_ms); /* progress */
    if (c->file_left == 0) {
        ward_free(t->fbuf);
        t->fbuf = NULL;
        srv_conn_file_done(c, 1); /* resumes: the next request, timers, a final shutdown */
        return;
    }
    file_pump(t);
}

/* Starts reading the next chunk of a file body when the socket has room for it. */
static void file_pump(struct srv_tconn *t)
{
    struct srv_conn *c = &t->conn;
    uv_buf_t b;
    size_t n;
    int rc;

    if (c->file_fd < 0 || t->fs_busy || t->closing || t->lingering || t->backlog >= WRITE_LOW)
        return;
    if (!t->fbuf && !(t->fbuf = ward_malloc(FILE_CHUNK))) {
        WARD_LOG_ERR(WARD_ENOMEM, "%s: no memory for a file body; closing", c->peer_addr);
        tconn_close(t);
        return;
    }
    n = c->file_left < FILE_CHUNK ? (size_t)c->file_left : FILE_CHUNK;
    b = uv_buf_init(t->fbuf, (unsigned)n);
    t->fsreq.data = t;
    rc = uv_fs_read(t->h->loop, &t->fsreq, c->file_fd, &b, 1, (int64_t)c->file_off, file_read_done);
    if (rc < 0) {
        WARD_WARN("%s: file body: %s; closing", c->peer_addr, uv_strerror(rc));
        tconn_close(t);
        return;
    }
    t->fs_busy = 1;
    t->handles++;
}

/* ---- reading ------------------------------------------------------------------------- */

static void tconn_pump(struct srv_tconn *t)
{
    struct srv_http *h = t->h;
    int n;

    if (t->pumping || t->closing)
        return;
    t->pumping = 1;
    if (!t->handshake_done) {
        n = SSL_do_handshake(t->ssl);
        if (n != 1) {
            int e = SSL_get_error(t->ssl, n);
            if (e == SSL_ERROR_WANT_READ) {
                (void)flush_wbio(t);
                goto out;
            }
            log_tls_errors(t, "TLS handshake failed");
            /* Send the alert, then close once it is written. */
            t->tls_shutdown = 1;
            if (flush_wbio(t) == 0 && t->writes == 0)
                begin_linger(t);
            goto out;
        }
        t->handshake_done = 1;
        t->conn.peer_cert = SSL_get0_peer_certificate(t->ssl);
        if (t->conn.peer_cert && SSL_get_verify_result(t->ssl) != X509_V_OK)
            t->conn.peer_cert = NULL; /* cannot happen with SSL_VERIFY_PEER; be strict */
        if (flush_wbio(t))
            goto out;
        update_timer(t);
    }
    while (!t->closing && !t->lingering && srv_conn_wants_input(&t->conn)) {
        n = SSL_read(t->ssl, h->pbuf, (int)sizeof(h->pbuf));
        if (n <= 0) {
            int e = SSL_get_error(t->ssl, n);
            if (e == SSL_ERROR_WANT_READ)
                break;
            if (e != SSL_ERROR_ZERO_RETURN)
                log_tls_errors(t, "SSL_read");
            ERR_clear_error();
            (void)flush_wbio(t);
            tconn_close(t); /* the peer closed or TLS broke */
            goto out;
        }
        srv_conn_feed(&t->conn, h->pbuf, (size_t)n);
    }
    if (!t->closing && !t->tls_shutdown) {
        if (flush_wbio(t) == 0)
            set_reading(t, t->lingering || srv_conn_wants_input(&t->conn));
    }
out:
    t->pumping = 0;
}

static void on_alloc(uv_handle_t *hd, size_t suggested, uv_buf_t *buf)
{
    struct srv_tconn *t = hd->data;
    (void)suggested;
    /* One buffer for the whole engine: on_read consumes it before the next allocation. */
    buf->base = t->h->rbuf;
    buf->len = sizeof(t->h->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct srv_tconn *t = s->data;
    if (nread == 0 || t->closing)
        return;
    if (nread < 0) {
        tconn_close(t); /* EOF or error */
        return;
    }
    if (t->lingering || t->tls_shutdown)
        return; /* discarding until EOF */
    if (BIO_write(t->rbio, buf->base, (int)nread) != (int)nread) {
        log_tls_errors(t, "BIO_write");
        tconn_close(t);
        return;
    }
    tconn_pump(t);
}

/* ---- accepting ----------------------------------------------------------------------- */

static void on_reject_close(uv_handle_t *hd)
{
    ward_free(hd);
}

static void reject(uv_stream_t *server)
{
    uv_tcp_t *tmp = ward_malloc(sizeof(*tmp));
    if (!tmp)
        return;
    uv_tcp_init(server->loop, tmp);
    (void)uv_accept(server, (uv_stream_t *)tmp);
    uv_close((uv_handle_t *)tmp, on_reject_close);
}

static void peer_name(uv_tcp_t *tcp, char *out, size_t outlen)
{
    struct sockaddr_storage ss;
    int len = (int)sizeof(ss);
    char ip[INET6_ADDRSTRLEN] = "?";

    snprintf(out, outlen, "?");
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len) < 0)
        return;
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, ip, sizeof(ip));
        snprintf(out, outlen, "[%s]:%u", ip, (unsigned)ntohs(a->sin6_port));
    } else if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, sizeof(ip));
        snprintf(out, outlen, "%s:%u", ip, (unsigned)ntohs(a->sin_port));
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct srv_http *h = server->data;
    struct srv_tconn *t;

    if (status < 0) {
        WARD_WARN("accept: %s", uv_strerror(status));
        return;
    }
    if (h->closing || h->nconns >= h->env.o.max_connections) {
        reject(server);
        return;
    }
    t = ward_calloc(1, sizeof(*t));
    if (!t) {
        reject(server);
        return;
    }
    t->h = h;
    uv_tcp_init(h->loop, &t->tcp);
    uv_timer_init(h->loop, &t->timer);
    t->tcp.data = t->timer.data = t;
    t->handles = 2;
    srv_conn_init(&t->conn, &h->env, &tconn_ops, t);
    t->next = h->conns;
    if (h->conns)
        h->conns->prev = t;
    h->conns = t;
    h->nconns++;

    if (uv_accept(server, (uv_stream_t *)&t->tcp) < 0)
        goto fail;
    peer_name(&t->tcp, t->conn.peer_addr, sizeof(t->conn.peer_addr));
    (void)uv_tcp_nodelay(&t->tcp, 1);
    t->ssl = SSL_new(h->ssl_ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        t->rbio = t->wbio = NULL;
        log_tls_errors(t, "SSL_new");
        goto fail;
    }
    BIO_set_mem_eof_return(t->rbio, -1); /* empty means "want more", not EOF */
    BIO_set_mem_eof_return(t->wbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    arm(t, TK_HANDSHAKE, h->env.o.handshake_timeout_ms);
    set_reading(t, 1);
    return;
fail:
    tconn_close(t);
}

/* ---- engine -------------------------------------------------------------------------- */

static int parse_listen(const char *s, struct sockaddr_storage *ss)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *colon, *hb = s, *he;
    char *end;
    unsigned long port;

    if (!s)
        return WARD_EINVAL;
    if (*s == '[') {
        hb = s + 1;
        he = strchr(hb, ']');
        if (!he || he[1] != ':')
            return WARD_EINVAL;
        colon = he + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return WARD_EINVAL;
        he = colon;
    }
    if ((size_t)(he - hb) >= sizeof(host) || he == hb)
        return WARD_EINVAL;
    memcpy(host, hb, (size_t)(he - hb));
    host[he - hb] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || port > 65535)
        return WARD_EINVAL;
    memset(ss, 0, sizeof(*ss));
    if (*s == '[')
        return uv_ip6_addr(host, (int)port, (struct sockaddr_in6 *)ss) ? WARD_EINVAL : 0;
    return uv_ip4_addr(host, (int)port, (struct sockaddr_in *)ss) ? WARD_EINVAL : 0;
}

static void on_engine_listener_close(uv_handle_t *hd)
{
    struct srv_http *h = hd->data;
    h->listener_closed = 1;
    maybe_done(h);
}

static void on_grace_close(uv_handle_t *hd)
{
    struct srv_http *h = hd->data;
    void (*done)(void *) = h->done;
    void *arg = h->done_arg;
    srv_conn_env_release(&h->env);
    ward_free(h);
    if (done)
        done(arg);
}

static void maybe_done(struct srv_http *h)
{
    if (!h->closing || !h->listener_closed || h->nconns > 0 || h->grace_closing)
        return;
    h->grace_closing = 1;
    uv_close((uv_handle_t *)&h->grace, on_grace_close);
}

static void on_grace(uv_timer_t *tm)
{
    struct srv_http *h = tm->data;
    struct srv_tconn *t, *next;
    for (t = h->conns; t; t = next) {
        next = t->next;
        tconn_close(t);
    }
}

int srv_http_new(uv_loop_t *loop, const struct srv_http_opts *o, struct srv_http **out)
{
    struct srv_http *h = NULL;
    struct sockaddr_storage ss;
    struct sockaddr_storage bound;
    int len = (int)sizeof(bound), rc;

    if (!out)
        return WARD_EINVAL;
    *out = NULL;
    if (!loop || !o || !o->handler || !o->ssl_ctx)
        return WARD_EINVAL;
    if ((rc = parse_listen(o->listen, &ss))) {
        WARD_LOG_ERR(rc, "listen address \"%s\": expected HOST:PORT or [V6]:PORT",
                     o->listen ? o->listen : "");
        return rc;
    }
    {
        /* A peer that resets mid-write must cost an EPIPE, not the process (libuv writes
         * with write(2)). Only a default disposition is changed. */
        struct sigaction sa;
        if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
            signal(SIGPIPE, SIG_IGN);
    }
    h = ward_calloc(1, sizeof(*h));
    if (!h)
        return WARD_ENOMEM;
    h->loop = loop;
    h->ssl_ctx = o->ssl_ctx;
    srv_conn_env_init(&h->env, o);
    uv_tcp_init(loop, &h->listener);
    uv_timer_init(loop, &h->grace);
    h->listener.data = h->grace.data = h;
    rc = uv_tcp_bind(&h->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&h->listener, LISTEN_BACKLOG, on_connection);
    if (rc == 0)
        rc = uv_tcp_getsockname(&h->listener, (struct sockaddr *)&bound, &len);
    if (rc < 0) {
        WARD_LOG_ERR(WARD_ECONNECT, "listen on %s: %s", o->listen, uv_strerror(rc));
        /* Tear down through the normal path; the caller must run the loop to free. */
        h->closing = 1;
        uv_close((uv_handle_t *)&h->listener, on_engine_listener_close);
        return WARD_ECONNECT;
    }
    h->port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                          : ntohs(((struct sockaddr_in *)&bound)->sin_port);
    *out = h;
    return 0;
}

int srv_http_port(const struct srv_http *h)
{
    return h ? h->port : -1;
}

size_t srv_http_connections(const struct srv_http *h)
{
    return h ? h->nconns : 0;
}

void srv_http_close(struct srv_http *h, void (*done)(void *arg), void *arg)
{
    struct srv_tconn *t, *next;

    if (!h || h->closing)
        return;
    h->closing = 1;
    h->env.draining = 1;
    h->done = done;
    h->done_arg = arg;
    uv_close((uv_handle_t *)&h->listener, on_engine_listener_close);
    uv_timer_start(&h->grace, on_grace, h->env.o.close_grace_ms, 0);
    for (t = h->conns; t; t = next) {
        next = t->next;
        if (t->closing)
            continue;
        if (!t->handshake_done)
            tconn_close(t);
        else
            srv_conn_drain(&t->conn);
    }
    maybe_done(h);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for ward-server's HTTPS engine (server/http.h) over real TLS on loopback. The
 * engine runs on this thread's loop; each case's client runs in a second thread, either
 * libcurl (interoperability: JSON round trip, keep-alive reuse, gzip responses, client
 * certificates) or a raw blocking OpenSSL client where the bytes themselves matter
 * (malformed, oversized, pipelined, chunked, slow). A throwaway PKI is made per case with
 * the server's own srv_pki_* helpers. Every case ends with srv_http_close() and checks
 * that uv_loop_close() succeeds, i.e. that every handle was closed. */
#include "wtest.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <zlib.h>

#include "server/http.h"
#include "server/pki.h"
#include "server/tls.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"
#include "ward/log.h"

/* ---- throwaway PKI -------------------------------------------------------------------- */

static struct {
    const char *chain, *key, *ca;   /* server side */
    const char *cli_cert, *cli_key; /* client from the service CA */
    const char *bad_cert, *bad_key; /* client from another CA */
} pki;

static const char *write_cert(const char *name, X509 *a, X509 *b)
{
    char *p1 = NULL, *p2 = NULL;
    size_t l1 = 0, l2 = 0;
    struct ward_buf buf;
    const char *path;
    ward_buf_init(&buf, 1 << 20);
    WT_OK(ward_x509_to_pem(a, &p1, &l1));
    WT_OK(ward_buf_append(&buf, p1, l1));
    if (b) {
        WT_OK(ward_x509_to_pem(b, &p2, &l2));
        WT_OK(ward_buf_append(&buf, p2, l2));
    }
    path = wt_write_file(name, buf.data, buf.len);
    ward_free(p1);
    ward_free(p2);
    ward_buf_release(&buf);
    return path;
}

static void leaf(X509 *ca, EVP_PKEY *ca_key, const char *cn, const char *certf, const char *keyf,
                 const char **cert_path, const char **key_path, X509 *chain_ca)
{
    EVP_PKEY *k = NULL;
    X509 *c = NULL;
    const char *sans[] = {"DNS:localhost", "IP:127.0.0.1"};
    WT_OK(ward_key_generate_p256(&k));
    WT_OK(srv_pki_issue(ca, ca_key, k, cn, sans, 2, 3600, &c));
    *cert_path = write_cert(certf, c, chain_ca);
    *key_path = wt_path(keyf);
    WT_OK(ward_key_write_pem(k, *key_path));
    X509_free(c);
    EVP_PKEY_free(k);
}

static void make_pki(void)
{
    X509 *ca = NULL, *other = NULL;
    EVP_PKEY *ca_key = NULL, *other_key = NULL;
    WT_OK(srv_pki_make_ca("Ward Test CA", 86400, &ca, &ca_key));
    WT_OK(srv_pki_make_ca("Other CA", 86400, &other, &other_key));
    pki.ca = write_cert("ca.pem", ca, NULL);
    leaf(ca, ca_key, "ward-server", "server.pem", "server.key", &pki.chain, &pki.key, ca);
    leaf(ca, ca_key, "d-client-1", "client.pem", "client.key", &pki.cli_cert, &pki.cli_key, NULL);
    leaf(other, other_key, "d-intruder", "bad.pem", "bad.key", &pki.bad_cert, &pki.bad_key, NULL);
    X509_free(ca);
    X509_free(other);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
}

/* ---- server side (loop thread) ---------------------------------------------------------- */

static uv_loop_t loop;
static struct srv_http *srv;
static int port;
static uv_async_t done_async, close_async;
static uv_timer_t late_timer;
static struct srv_req *held;
static atomic_int held_count, aborted, handled, closed_cb;
/* The file /file* serve (srv_req_respond_file); made by the case before run(). */
static const char *file_path;
static char *file_data;
static size_t file_size;

static void late_cb(uv_timer_t *t)
{
    json_t *j = json_pack("{s:b}", "late", 1);
    (void)t;
    if (held) {
        WT_OK(srv_req_respond_json(held, 200, j, NULL, 0));
        held = NULL;
    }
    json_decref(j);
}

static void on_abort(struct srv_req *r, void *arg)
{
    (void)arg;
    WT_ASSERT(r == held);
    held = NULL;
    atomic_fetch_add(&aborted, 1);
}

static void handler(struct srv_req *r, void *ctx)
{
    const char *path = srv_req_path(r);
    (void)ctx;
    atomic_fetch_add(&handled, 1);
    if (strcmp(path, "/hold") == 0 || strcmp(path, "/hold-abort") == 0) {
        WT_ASSERT(held == NULL);
        held = r;
        srv_req_set_abort_cb(r, on_abort, NULL);
        if (strcmp(path, "/hold") == 0)
            uv_timer_start(&late_timer, late_cb, 150, 0);
        atomic_fetch_add(&held_count, 1);
        return;
    }
    if (strcmp(path, "/big") == 0) {
        char *big = ward_malloc(5000);
        WT_ASSERT(big != NULL);
        memset(big, 'x', 5000);
        WT_OK(srv_req_respond(r, 200, "text/plain", big, 5000, NULL, 0));
        ward_free(big);
        return;
    }
    if (strncmp(path, "/file", 5) == 0 && file_path) {
        int fd = open(file_path, O_RDONLY | O_CLOEXEC);
        WT_ASSERT(fd >= 0);
        if (strcmp(path, "/file-range") == 0) {
            struct srv_header h = {"Content-Range", "bytes 100-1099/x"};
            WT_OK(srv_req_respond_file(r, 206, "application/octet-stream", fd, 100, 1000, &h, 1));
        } else if (strcmp(path, "/file-short") == 0) {
            WT_OK(srv_req_respond_file(r, 200, "application/octet-stream", fd, 0, file_size + 5000,
                                       NULL, 0));
        } else {
            WT_OK(srv_req_respond_file(r, 200, "application/octet-stream", fd, 0, file_size, NULL,
                                       0));
        }
        return;
    }
    if (strcmp(path, "/missing") == 0) {
        WT_OK(srv_req_respond_error(r, 404, "not_found", "no such \"thing\""));
        return;
    }
    {
        size_t len = 0;
        const char *body = srv_req_body(r, &len);
        X509 *cert = srv_req_peer_cert(r);
        char *cn = NULL;
        const char *q = srv_req_query(r, "x"), *h = srv_req_header(r, "x-test");
        struct srv_header extra[] = {{"X-Echo", "1"}};
        json_t *j;
        if (cert)
            WT_OK(ward_x509_subject_cn(cert, &cn));
        j = json_pack("{s:s,s:s,s:s?,s:s?,s:s%,s:I,s:s?,s:s}", "method", srv_req_method(r), "path",
                      path, "x", q, "hdr", h, "body", body, len, "len", (json_int_t)len, "cert", cn,
                      "addr", srv_req_peer_addr(r));
        WT_ASSERT(j != NULL);
        WT_OK(srv_req_respond_json(r, 200, j, extra, 1));
        json_decref(j);
        ward_free(cn);
    }
}

static void on_engine_closed(void *arg)
{
    (void)arg;
    srv = NULL; /* freed */
    atomic_fetch_add(&closed_cb, 1);
}

static void on_close_async(uv_async_t *a)
{
    (void)a;
    srv_http_close(srv, on_engine_closed, NULL);
}

static void on_done_async(uv_async_t *a)
{
    (void)a;
    srv_http_close(srv, on_engine_closed, NULL); /* no-op if closing, NULL once closed */
    uv_close((uv_handle_t *)&done_async, NULL);
    uv_close((uv_handle_t *)&close_async, NULL);
    uv_close((uv_handle_t *)&late_timer, NULL);
}

static void (*client_fn)(void);

static void *client_thread(void *arg)
{
    (void)arg;
    client_fn();
    uv_async_send(&done_async);
    return NULL;
}

static struct srv_http_opts base_opts(void)
{
    struct srv_http_opts o = {.listen = "127.0.0.1:0", .handler = handler};
    return o;
}

/* Runs the engine with o until fn (in a thread) returns, then closes everything. */
static void run(struct srv_http_opts o, void (*fn)(void))
{
    SSL_CTX *ctx = NULL;
    pthread_t th;

    if (getenv("WT_DEBUG"))
        ward_log_set_level(WARD_LOG_DEBUG);
    signal(SIGPIPE, SIG_IGN); /* the client side writes to sockets the server closes */
    make_pki();
    WT_OK(srv_tls_ctx_new(pki.chain, pki.key, pki.ca, &ctx));
    WT_EQ_INT(uv_loop_init(&loop), 0);
    o.ssl_ctx = ctx;
    WT_OK(srv_http_new(&loop, &o, &srv));
    port = srv_http_port(srv);
    WT_ASSERT(port > 0);
    uv_async_init(&loop, &done_async, on_done_async);
    uv_async_init(&loop, &close_async, on_close_async);
    uv_timer_init(&loop, &late_timer);
    client_fn = fn;
    WT_EQ_INT(pthread_create(&th, NULL, client_thread, NULL), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    WT_EQ_INT(pthread_join(th, NULL), 0);
    WT_EQ_INT(atomic_load(&closed_cb), 1);
    WT_EQ_INT(uv_loop_close(&loop), 0);
    SSL_CTX_free(ctx);
}

/* ---- raw TLS client (client thread) -------------------------------------------------------- */

struct cli {
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    char buf[1 << 16];
    size_t len;
};

struct resp {
    int status;
    char head[8192];
    char *body; /* ward_free */
    size_t body_len;
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int tcp_connect(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    struct timeval tv = {.tv_sec = 5};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    WT_ASSERT(fd >= 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    WT_EQ_INT(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

/* Returns 1 on a completed handshake, 0 if it failed. */
static int cli_open_ex(struct cli *c, const char *cert, const char *key, int tls12,
                       SSL_SESSION *resume)
{
    memset(c, 0, sizeof(*c));
    c->ctx = SSL_CTX_new(TLS_client_method());
    WT_ASSERT(c->ctx != NULL);
    WT_EQ_INT(SSL_CTX_load_verify_locations(c->ctx, pki.ca, NULL), 1);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (tls12)
        SSL_CTX_set_max_proto_version(c->ctx, TLS1_2_VERSION);
    if (cert) {
        WT_EQ_INT(SSL_CTX_use_certificate_file(c->ctx, cert, SSL_FILETYPE_PEM), 1);
        WT_EQ_INT(SSL_CTX_use_PrivateKey_file(c->ctx, key, SSL_FILETYPE_PEM), 1);
    }
    c->fd = tcp_connect();
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "localhost");
    if (resume)
        SSL_set_session(c->ssl, resume);
    if (SSL_connect(c->ssl) != 1) {
        ERR_clear_error();
        return 0;
    }
    return 1;
}

static void cli_open(struct cli *c, const char *cert, const char *key)
{
    WT_EQ_INT(cli_open_ex(c, cert, key, 0, NULL), 1);
}

static void cli_close(struct cli *c)
{
    if (c->ssl) {
        /* A session freed without close_notify is marked not resumable by OpenSSL. */
        (void)SSL_shutdown(c->ssl);
        ERR_clear_error();
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    SSL_CTX_free(c->ctx);
    c->ssl = NULL;
    c->fd = -1;
}

static void cli_send(struct cli *c, const void *p, size_t n)
{
    const char *s = p;
    while (n) {
        int w = SSL_write(c->ssl, s, n > 65536 ? 65536 : (int)n);
        WT_ASSERT(w > 0);
        s += w;
        n -= (size_t)w;
    }
}

static void cli_sends(struct cli *c, const char *s)
{
    cli_send(c, s, strlen(s));
}

/* Appends more input; returns 0 on EOF/error/timeout. */
static int cli_fill(struct cli *c)
{
    int n;
    if (c->len >= sizeof(c->buf))
        return 0;
    n = SSL_read(c->ssl, c->buf + c->len, (int)(sizeof(c->buf) - c->len));
    if (n <= 0) {
        ERR_clear_error();
        return 0;
    }
    c->len += (size_t)n;
    return 1;
}

/* Reads one response (Content-Length framed, or headers only for 1xx/204). Returns 0 if
 * the connection ended first. */
static int cli_response(struct cli *c, struct resp *r)
{
    char *end, *cl;
    size_t hlen, blen = 0;

    memset(r, 0, sizeof(*r));
    for (;;) {
        c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
        if ((end = strstr(c->buf, "\r\n\r\n")) != NULL)
            break;
        if (!cli_fill(c))
            return 0;
    }
    hlen = (size_t)(end - c->buf) + 4;
    WT_ASSERT(hlen < sizeof(r->head));
    memcpy(r->head, c->buf, hlen);
    r->head[hlen] = '\0';
    WT_EQ_INT(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    cl = strcasestr(r->head, "\r\nContent-Length: ");
    if (cl)
        blen = strtoul(cl + 18, NULL, 10);
    while (c->len < hlen + blen)
        if (!cli_fill(c))
            return 0;
    r->body = ward_malloc(blen + 1);
    memcpy(r->body, c->buf + hlen, blen);
    r->body[blen] = '\0';
    r->body_len = blen;
    memmove(c->buf, c->buf + hlen + blen, c->len - hlen - blen);
    c->len -= hlen + blen;
    return 1;
}

/* 1 if the server closed the connection within ms (EOF or reset), 0 if still open. */
static int cli_closed_within(struct cli *c, int ms)
{
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    char b[256];
    int n;
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    n = SSL_read(c->ssl, b, sizeof(b));
    if (n > 0)
        return 0;
    if (SSL_get_error(c->ssl, n) == SSL_ERROR_WANT_READ ||
        (SSL_get_error(c->ssl, n) == SSL_ERROR_SYSCALL &&
         (errno == EAGAIN || errno == EWOULDBLOCK))) {
        ERR_clear_error();
        return 0;
    }
    ERR_clear_error();
    return 1;
}

static void resp_free(struct resp *r)
{
    ward_free(r->body);
    r->body = NULL;
}

static json_t *resp_json(const struct resp *r)
{
    json_t *j = NULL;
    WT_OK(ward_json_loadb(r->body, r->body_len, NULL, &j, NULL));
    return j;
}

static const char *jstr(json_t *j, const char *k)
{
    return json_string_value(json_object_get(j, k));
}

/* gzip of data in a new buffer. */
static unsigned char *gzip(const void *data, size_t len, size_t *out_len)
{
    z_stream z;
    size_t cap = len + len / 100 + 1024;
    unsigned char *out = ward_malloc(cap);
    memset(&z, 0, sizeof(z));
    WT_EQ_INT(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (unsigned char *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    WT_EQ_INT(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* ---- libcurl client ------------------------------------------------------------------------- */

static size_t curl_sink(char *p, size_t sz, size_t n, void *ud)
{
    WT_OK(ward_buf_append(ud, p, sz * n));
    return sz * n;
}

static CURL *curl_new(struct ward_buf *body, struct ward_buf *head)
{
    CURL *e = curl_easy_init();
    WT_ASSERT(e != NULL);
    curl_easy_setopt(e, CURLOPT_CAINFO, pki.ca);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, curl_sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, curl_sink);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, head);
    curl_easy_setopt(e, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    return e;
}

static void set_url(CURL *e, const char *path)
{
    char url[256];
    snprintf(url, sizeof(url), "https://localhost:%d%s", port, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
}

/* ---- cases ---------------------------------------------------------------------------------- */

static void c_round_trip(void)
{
    struct ward_buf body, head;
    struct curl_slist *hl = NULL;
    long code = 0;
    json_t *j;
    CURL *e;

    ward_buf_init(&body, 1 << 20);
    ward_buf_init(&head, 1 << 20);
    e = curl_new(&body, &head);
    set_url(e, "/api/v1/echo?x=a%20b&y");
    hl = curl_slist_append(hl, "Content-Type: application/json");
    hl = curl_slist_append(hl, "X-Test: hello");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, "{\"a\":1}");
    WT_EQ_INT(curl_easy_perform(e), CURLE_OK);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    WT_EQ_INT(code, 200);
    WT_CONTAINS(head.data, "Content-Type: application/json");
    WT_CONTAINS(head.data, "X-Echo: 1");
    WT_OK(ward_json_loadb(body.data, body.len, NULL, &j, NULL));
    WT_EQ_STR(jstr(j, "method"), "POST");
    WT_EQ_STR(jstr(j, "path"), "/api/v1/echo");
    WT_EQ_STR(jstr(j, "x"), "a b");
    WT_EQ_STR(jstr(j, "hdr"), "hello");
    WT_EQ_STR(jstr(j, "body"), "{\"a\":1}");
    WT_ASSERT(json_is_null(json_object_get(j, "cert")));
    WT_ASSERT(strncmp(jstr(j, "addr"), "127.0.0.1:", 10) == 0);
    json_decref(j);

    /* Same handle again: a GET on the kept-alive connection, and an error body. */
    ward_buf_reset(&body);
    set_url(e, "/missing");
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    WT_EQ_INT(curl_easy_perform(e), CURLE_OK);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
    WT_EQ_INT(code, 404);
    WT_EQ_STR(body.data,
              "{\"error\":{\"code\":\"not_found\",\"message\":\"no such \\\"thing\\\"\"}}");
    {
        long conns = -1;
        curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns);
        WT_EQ_INT(conns, 0); /* reused */
    }
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    ward_buf_release(&body);
    ward_buf_release(&head);
}

WT_TEST(get_post_round_trip_json)
{
    run(base_opts(), c_round_trip);
}

static void c_gzip_response(void)
{
    struct ward_buf body, head;
    CURL *e;
    ward_buf_init(&body, 1 << 20);
    ward_buf_init(&head, 1 << 20);
    e = curl_new(&body, &head);
    set_url(e, "/big");
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "gzip");
    WT_EQ_INT(curl_easy_perform(e), CURLE_OK);
    WT_CONTAINS(head.data, "Content-Encoding: gzip");
    WT_EQ_INT(body.len, 5000);
    WT_EQ_INT(body.data[4999], 'x');
    curl_easy_cleanup(e);
    ward_buf_release(&body);
    ward_buf_release(&head);
}

WT_TEST(gzip_response_when_accepted)
{
    run(base_opts(), c_gzip_response);
}

static void c_keep_alive_then_close(void)
{
    struct cli c;
    struct resp r;
    cli_open(&c, NULL, NULL);
    for (int i = 0; i < 5; i++) {
        cli_sends(&c, "GET /echo?x=k HTTP/1.1\r\nHost: a\r\n\r\n");
        WT_EQ_INT(cli_response(&c, &r), 1);
        WT_EQ_INT(r.status, 200);
        WT_ASSERT(strstr(r.head, "Connection: close") == NULL);
        resp_free(&r);
    }
    WT_EQ_INT(atomic_load(&handled), 5);
    /* Connection: close is honoured: answered, then closed. */
    cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    WT_EQ_INT(cli_response(&c, &r), 1);
    WT_CONTAINS(r.head, "Connection: close");
    resp_free(&r);
    WT_EQ_INT(cli_closed_within(&c, 2000), 1);
    cli_close(&c);

    /* HTTP/1.0 without keep-alive closes too. */
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GET /echo HTTP/1.0\r\n\r\n");
    WT_EQ_INT(cli_response(&c, &r), 1);
    WT_EQ_INT(r.status, 200);
    resp_free(&r);
    WT_EQ_INT(cli_closed_within(&c, 2000), 1);
    cli_close(&c);
}

WT_TEST(keep_alive_several_requests)
{
    run(base_opts(), c_keep_alive_then_close);
}

static void expect_error_and_close(struct cli *c, int status, const char *code)
{
    struct resp r;
    WT_EQ_INT(cli_response(c, &r), 1);
    WT_EQ_INT(r.status, status);
    WT_CONTAINS(r.head, "Connection: close");
    WT_CONTAINS(r.body, code);
    resp_free(&r);
    WT_EQ_INT(cli_closed_within(c, 3000), 1);
}

static void c_gzip_body(void)
{
    struct cli c;
    struct resp r;
    char head[256];
    const char *doc = "{\"hello\":\"gzip world\",\"n\":[1,2,3]}";
    size_t zlen;
    unsigned char *z = gzip(doc, strlen(doc), &zlen);
    json_t *j;

    cli_open(&c, NULL, NULL);
    snprintf(
        head, sizeof(head),
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
        zlen);
    cli_sends(&c, head);
    cli_send(&c, z, zlen);
    WT_EQ_INT(cli_response(&c, &r), 1);
    WT_EQ_INT(r.status, 200);
    j = resp_json(&r);
    WT_EQ_STR(jstr(j, "body"), doc);
    json_decref(j);
    resp_free(&r);
    ward_free(z);

    /* Truncated gzip: 400. */
    z = gzip(doc, strlen(doc), &zlen);
    snprintf(
        head, sizeof(head),
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
        zlen - 6);
    cli_sends(&c, head);
    cli_send(&c, z, zlen - 6);
    expect_error_and_close(&c, 400, "bad_request");
    ward_free(z);
    cli_close(&c);
}

WT_TEST(gzip_request_body_decoded)
{
    run(base_opts(), c_gzip_body);
}

static void c_gzip_bomb(void)
{
    struct cli c;
    char head[256];
    size_t n = 64u << 20, zlen;
    char *zeros = ward_calloc(1, n);
    unsigned char *z = gzip(zeros, n, &zlen);
    ward_free(zeros);
    WT_ASSERT(zlen < 200 * 1024);
    cli_open(&c, NULL, NULL);
    snprintf(
        head, sizeof(head),
        "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
        zlen);
    cli_sends(&c, head);
    cli_send(&c, z, zlen);
    expect_error_and_close(&c, 413, "too_large");
    WT_EQ_INT(atomic_load(&handled), 0);
    ward_free(z);
    cli_close(&c);
}

WT_TEST(gzip_bomb_413)
{
    run(base_opts(), c_gzip_bomb);
}

static void c_unknown_encoding(void)
{
    struct cli c;
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Encoding: br\r\nContent-Length: "
                  "2\r\n\r\n{}");
    expect_error_and_close(&c, 415, "unsupported_encoding");
    cli_close(&c);
}

WT_TEST(unknown_content_encoding_415)
{
    run(base_opts(), c_unknown_encoding);
}

static void c_big_headers(void)
{
    struct cli c;
    char *big = ward_malloc(20000);
    memset(big, 'a', 19999);
    big[19999] = '\0';
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\nX-Big: ");
    cli_sends(&c, big);
    cli_sends(&c, "\r\n\r\n");
    expect_error_and_close(&c, 431, "too_large");
    cli_close(&c);
    ward_free(big);
    WT_EQ_INT(atomic_load(&handled), 0);
}

WT_TEST(oversized_headers_431)
{
    run(base_opts(), c_big_headers);
}

static void c_many_headers(void)
{
    struct cli c;
    struct resp r;
    char line[64];
    cli_open(&c, NULL, NULL);
    /* 99 headers + Host is exactly the limit: fine. */
    cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 99; i++) {
        snprintf(line, sizeof(line), "X-H%d: v\r\n", i);
        cli_sends(&c, line);
    }
    cli_sends(&c, "\r\n");
    WT_EQ_INT(cli_response(&c, &r), 1);
    WT_EQ_INT(r.status, 200);
    resp_free(&r);
    cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 100; i++) {
        snprintf(line, sizeof(line), "X-H%d: v\r\n", i);
        cli_sends(&c, line);
    }
    cli_sends(&c, "\r\n");
    expect_error_and_close(&c, 431, "too_large");
    cli_close(&c);
}

WT_TEST(too_many_headers_431)
{
    run(base_opts(), c_many_headers);
}

static void c_big_body(void)
{
    struct cli c;
    char *chunk = ward_calloc(1, 4096);
    char line[64];
    /* Announced too large: refused before the body is read. */
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n");
    cli_send(&c, chunk, 4096);
    expect_error_and_close(&c, 413, "too_large");
    cli_close(&c);
    /* Chunked, growing past the cap. */
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
    memset(chunk, 'a', 4096);
    for (int i = 0; i < 300; i++) {
        snprintf(line, sizeof(line), "1000\r\n");
        if (SSL_write(c.ssl, line, (int)strlen(line)) <= 0 || SSL_write(c.ssl, chunk, 4096) <= 0 ||
            SSL_write(c.ssl, "\r\n", 2) <= 0)
            break; /* the server may close while we still write */
    }
    expect_error_and_close(&c, 413, "too_large");
    cli_close(&c);
    ward_free(chunk);
    WT_EQ_INT(atomic_load(&handled), 0);
}

WT_TEST(oversized_body_413)
{
    run(base_opts(), c_big_body);
}

static void c_malformed(void)
{
    struct cli c;
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GARBAGE\r\n\r\n");
    expect_error_and_close(&c, 400, "bad_request");
    cli_close(&c);
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GET /x HTTP/9.9x\r\n\r\n");
    expect_error_and_close(&c, 400, "bad_request");
    cli_close(&c);
    /* Request smuggling shape: both Content-Length and chunked. */
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: "
                  "chunked\r\n\r\n0\r\n\r\n");
    expect_error_and_close(&c, 400, "bad_request");
    cli_close(&c);
    WT_EQ_INT(atomic_load(&handled), 0);
}

WT_TEST(malformed_request_400)
{
    run(base_opts(), c_malformed);
}

static void c_slow_loris(void)
{
    struct cli c;
    long t0;
    cli_open(&c, NULL, NULL);
    t0 = now_ms();
    cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n");
    WT_EQ_INT(cli_closed_within(&c, 3000), 1);
    WT_ASSERT(now_ms() - t0 >= 250);
    cli_close(&c);
    WT_EQ_INT(atomic_load(&handled), 0);
}

WT_TEST(slow_loris_closed_after_request_timeout)
{
    struct srv_http_opts o = base_opts();
    o.request_timeout_ms = 300;
    run(o, c_slow_loris);
}

static void c_idle(void)
{
    struct cli c;
    struct resp r;
    long t0;
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n");
    WT_EQ_INT(cli_response(&c, &r), 1);
    resp_free(&r);
    t0 = now_ms();
    WT_EQ_INT(cli_closed_within(&c, 3000), 1);
    WT_ASSERT(now_ms() - t0 >= 250);
    cli_close(&c);
    /* A connection that never starts a handshake is closed too. */
    {
        int fd = tcp_connect();
        char b[16];
        t0 = now_ms();
        WT_ASSERT(recv(fd, b, sizeof(b), 0) <= 0);
        WT_ASSERT(now_ms() - t0 >= 250 && now_ms() - t0 < 3000);
        close(fd);
    }
}

WT_TEST(idle_keep_alive_timeout_closes)
{
    struct srv_http_opts o = base_opts();
    o.idle_timeout_ms = 300;
    o.handshake_timeout_ms = 300;
    run(o, c_idle);
}

static json_t *echo_once(struct cli *c)
{
    struct resp r;
    json_t *j;
    cli_sends(c, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n");
    WT_EQ_INT(cli_response(c, &r), 1);
    WT_EQ_INT(r.status, 200);
    j = resp_json(&r);
    resp_free(&r);
    return j;
}

static void c_certs(void)
{
    struct cli c;
    struct resp r;
    SSL_SESSION *sess;
    json_t *j;

    /* No certificate: served, peer cert NULL. */
    cli_open(&c, NULL, NULL);
    j = echo_once(&c);
    WT_ASSERT(json_is_null(json_object_get(j, "cert")));
    json_decref(j);
    cli_close(&c);

    /* Right CA: available. Then resume the session: still available. */
    cli_open(&c, pki.cli_cert, pki.cli_key);
    j = echo_once(&c);
    WT_EQ_STR(jstr(j, "cert"), "d-client-1");
    json_decref(j);
    sess = SSL_get1_session(c.ssl);
    WT_ASSERT(sess != NULL && SSL_SESSION_is_resumable(sess));
    cli_close(&c);
    WT_EQ_INT(cli_open_ex(&c, pki.cli_cert, pki.cli_key, 0, sess), 1);
    WT_EQ_INT(SSL_session_reused(c.ssl), 1);
    j = echo_once(&c);
    WT_EQ_STR(jstr(j, "cert"), "d-client-1");
    json_decref(j);
    cli_close(&c);
    SSL_SESSION_free(sess);

    /* TLS 1.2 resumption keeps it as well. */
    WT_EQ_INT(cli_open_ex(&c, pki.cli_cert, pki.cli_key, 1, NULL), 1);
    j = echo_once(&c);
    WT_EQ_STR(jstr(j, "cert"), "d-client-1");
    json_decref(j);
    sess = SSL_get1_session(c.ssl);
    cli_close(&c);
    WT_EQ_INT(cli_open_ex(&c, pki.cli_cert, pki.cli_key, 1, sess), 1);
    WT_EQ_INT(SSL_session_reused(c.ssl), 1);
    j = echo_once(&c);
    WT_EQ_STR(jstr(j, "cert"), "d-client-1");
    json_decref(j);
    cli_close(&c);
    SSL_SESSION_free(sess);

    /* Another CA: TLS 1.2 fails in the handshake; TLS 1.3 (client finishes first) gets the
     * alert on its first read and never a response. */
    WT_EQ_INT(cli_open_ex(&c, pki.bad_cert, pki.bad_key, 1, NULL), 0);
    cli_close(&c);
    if (cli_open_ex(&c, pki.bad_cert, pki.bad_key, 0, NULL)) {
        if (SSL_write(c.ssl, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n", 31) > 0)
            WT_EQ_INT(cli_response(&c, &r), 0);
    }
    cli_close(&c);
    WT_EQ_INT(atomic_load(&handled), 5);
}

WT_TEST(client_certificates)
{
    run(base_opts(), c_certs);
}

static void c_held(void)
{
    struct cli c;
    struct resp r;
    long t0;
    json_t *j;
    cli_open(&c, NULL, NULL);
    t0 = now_ms();
    cli_sends(&c, "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n");
    WT_EQ_INT(cli_response(&c, &r), 1);
    WT_ASSERT(now_ms() - t0 >= 100);
    WT_EQ_INT(r.status, 200);
    j = resp_json(&r);
    WT_ASSERT(json_is_true(json_object_get(j, "late")));
    json_decref(j);
    resp_free(&r);
    /* The connection carries on. */
    j = echo_once(&c);
    json_decref(j);

    /* Held, then the client goes away: abort callback. */
    cli_sends(&c, "GET /hold-abort HTTP/1.1\r\nHost: a\r\n\r\n");
    for (int i = 0; i < 200 && atomic_load(&held_count) < 2; i++)
        usleep(10000);
    WT_EQ_INT(atomic_load(&held_count), 2);
    cli_close(&c);
    for (int i = 0; i < 200 && atomic_load(&aborted) < 1; i++)
        usleep(10000);
    WT_EQ_INT(atomic_load(&aborted), 1);
}

WT_TEST(held_request_answered_later_and_aborted)
{
    run(base_opts(), c_held);
}

static void c_close_held(void)
{
    struct cli c;
    struct resp r;
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GET /hold-abort HTTP/1.1\r\nHost: a\r\n\r\n");
    for (int i = 0; i < 200 && atomic_load(&held_count) < 1; i++)
        usleep(10000);
    WT_EQ_INT(atomic_load(&held_count), 1);
    uv_async_send(&close_async);
    WT_EQ_INT(cli_response(&c, &r), 1);
    WT_EQ_INT(r.status, 503);
    WT_CONTAINS(r.head, "Retry-After: 5");
    WT_CONTAINS(r.head, "Connection: close");
    WT_CONTAINS(r.body, "unavailable");
    resp_free(&r);
    WT_EQ_INT(cli_closed_within(&c, 3000), 1);
    cli_close(&c);
    WT_EQ_INT(atomic_load(&aborted), 1);
}

WT_TEST(close_answers_held_request_503)
{
    run(base_opts(), c_close_held);
}

static void c_pipelined(void)
{
    struct cli c;
    struct resp r;
    json_t *j;
    cli_open(&c, NULL, NULL);
    /* The first is held for a while; the next two must still come after it, in order. */
    cli_sends(&c, "GET /hold HTTP/1.1\r\nHost: a\r\n\r\n"
                  "GET /echo?x=2 HTTP/1.1\r\nHost: a\r\n\r\n"
                  "POST /echo?x=3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
    WT_EQ_INT(cli_response(&c, &r), 1);
    j = resp_json(&r);
    WT_ASSERT(json_is_true(json_object_get(j, "late")));
    json_decref(j);
    resp_free(&r);
    WT_EQ_INT(cli_response(&c, &r), 1);
    j = resp_json(&r);
    WT_EQ_STR(jstr(j, "x"), "2");
    json_decref(j);
    resp_free(&r);
    WT_EQ_INT(cli_response(&c, &r), 1);
    j = resp_json(&r);
    WT_EQ_STR(jstr(j, "x"), "3");
    WT_EQ_STR(jstr(j, "body"), "abc");
    json_decref(j);
    resp_free(&r);
    cli_close(&c);
}

WT_TEST(pipelined_requests_in_order)
{
    run(base_opts(), c_pipelined);
}

static void c_chunked(void)
{
    struct cli c;
    struct resp r;
    json_t *j;
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n");
    WT_EQ_INT(cli_response(&c, &r), 1);
    WT_EQ_INT(r.status, 200);
    j = resp_json(&r);
    WT_EQ_STR(jstr(j, "body"), "hello world");
    json_decref(j);
    resp_free(&r);

    /* Expect: 100-continue gets an interim answer before the body is sent. */
    cli_sends(&c, "POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: "
                  "4\r\n\r\n");
    WT_EQ_INT(cli_response(&c, &r), 1);
    WT_EQ_INT(r.status, 100);
    resp_free(&r);
    cli_sends(&c, "data");
    WT_EQ_INT(cli_response(&c, &r), 1);
    WT_EQ_INT(r.status, 200);
    j = resp_json(&r);
    WT_EQ_STR(jstr(j, "body"), "data");
    json_decref(j);
    resp_free(&r);
    cli_close(&c);
}

WT_TEST(chunked_request_body_and_expect_continue)
{
    run(base_opts(), c_chunked);
}

static void c_max_conns(void)
{
    struct cli a, b;
    json_t *j;
    cli_open(&a, NULL, NULL);
    j = echo_once(&a);
    json_decref(j);
    /* Second connection is over the limit: closed without a handshake. */
    WT_EQ_INT(cli_open_ex(&b, NULL, NULL, 0, NULL), 0);
    cli_close(&b);
    j = echo_once(&a);
    json_decref(j);
    cli_close(&a);
}

WT_TEST(max_connections)
{
    struct srv_http_opts o = base_opts();
    o.max_connections = 1;
    run(o, c_max_conns);
}

WT_TEST(bad_listen_address)
{
    struct srv_http_opts o = base_opts();
    struct srv_http *h = (struct srv_http *)&o;
    SSL_CTX *ctx = NULL;
    make_pki();
    WT_OK(srv_tls_ctx_new(pki.chain, pki.key, pki.ca, &ctx));
    WT_EQ_INT(uv_loop_init(&loop), 0);
    o.ssl_ctx = ctx;
    o.listen = "127.0.0.1";
    WT_EQ_ERR(srv_http_new(&loop, &o, &h), WARD_EINVAL);
    WT_ASSERT(h == NULL);
    o.listen = "[::1:80";
    WT_EQ_ERR(srv_http_new(&loop, &o, &h), WARD_EINVAL);
    o.listen = "192.0.2.1:1"; /* not ours: bind fails */
    WT_EQ_ERR(srv_http_new(&loop, &o, &h), WARD_ECONNECT);
    uv_run(&loop, UV_RUN_DEFAULT);
    WT_EQ_INT(uv_loop_close(&loop), 0);
    SSL_CTX_free(ctx);
    WT_EQ_ERR(srv_tls_ctx_new(wt_path("nope.pem"), pki.key, pki.ca, &ctx), WARD_ENOENT);
    WT_ASSERT(ctx == NULL);
    srv_http_close(NULL, NULL, NULL);
}

/* ---- file bodies (srv_req_respond_file) ---------------------------------------------- */

static void make_file(size_t n)
{
    file_data = ward_malloc(n);
    WT_ASSERT(file_data != NULL);
    WT_OK(ward_random_bytes(file_data, n));
    file_size = n;
    file_path = wt_write_file("body.bin", file_data, n);
}

/* Descriptors of this process open on the served file. */
static int file_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    char link[300], target[4096];
    int n = 0;
    WT_ASSERT(d != NULL);
    while ((e = readdir(d)) != NULL) {
        ssize_t len;
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0)
            continue;
        target[len] = '\0';
        if (strcmp(target, file_path) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Reads one response whose body may be far larger than the client buffer. */
static int cli_big_response(struct cli *c, struct resp *r)
{
    char *end, *cl;
    size_t hlen, blen = 0, got;

    memset(r, 0, sizeof(*r));
    for (;;) {
        c->buf[c->len < sizeof(c->buf) ? c->len : sizeof(c->buf) - 1] = '\0';
        if ((end = strstr(c->buf, "\r\n\r\n")) != NULL)
            break;
        if (!cli_fill(c))
            return 0;
    }
    hlen = (size_t)(end - c->buf) + 4;
    memcpy(r->head, c->buf, hlen);
    r->head[hlen] = '\0';
    WT_EQ_INT(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
    cl = strcasestr(r->head, "\r\nContent-Length: ");
    if (cl)
        blen = strtoul(cl + 18, NULL, 10);
    r->body = ward_malloc(blen + 1);
    WT_ASSERT(r->body != NULL);
    got = c->len - hlen < blen ? c->len - hlen : blen;
    memcpy(r->body, c->buf + hlen, got);
    memmove(c->buf, c->buf + hlen + got, c->len - hlen - got);
    c->len -= hlen + got;
    while (got < blen) {
        int n = SSL_read(c->ssl, r->body + got, (int)(blen - got > 65536 ? 65536 : blen - got));
        if (n <= 0) {
            ERR_clear_error();
            r->body_len = got;
            return 0;
        }
        got += (size_t)n;
    }
    r->body[blen] = '\0';
    r->body_len = blen;
    return 1;
}

static void c_file(void)
{
    struct cli c;
    struct resp r;
    json_t *j;
    char want[64];

    cli_open(&c, NULL, NULL);
    /* A file body with two requests pipelined behind it: they wait, then come in order. */
    cli_sends(&c, "GET /file HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n"
                  "GET /file-range HTTP/1.1\r\nHost: a\r\n\r\n"
                  "GET /echo?x=after HTTP/1.1\r\nHost: a\r\n\r\n");
    WT_EQ_INT(cli_big_response(&c, &r), 1);
    WT_EQ_INT(r.status, 200);
    snprintf(want, sizeof(want), "Content-Length: %zu\r\n", file_size);
    WT_CONTAINS(r.head, want);
    WT_CONTAINS(r.head, "Content-Type: application/octet-stream");
    WT_ASSERT(!strstr(r.head, "Content-Encoding")); /* never gzip */
    WT_EQ_INT(r.body_len, file_size);
    WT_EQ_MEM(r.body, file_data, file_size);
    resp_free(&r);
    WT_EQ_INT(cli_big_response(&c, &r), 1);
    WT_EQ_INT(r.status, 206);
    WT_CONTAINS(r.head, "Partial Content");
    WT_CONTAINS(r.head, "Content-Length: 1000\r\n");
    WT_CONTAINS(r.head, "Content-Range: bytes 100-1099/x");
    WT_EQ_INT(r.body_len, 1000);
    WT_EQ_MEM(r.body, file_data + 100, 1000);
    resp_free(&r);
    WT_EQ_INT(cli_response(&c, &r), 1);
    j = resp_json(&r);
    WT_EQ_STR(jstr(j, "x"), "after");
    json_decref(j);
    resp_free(&r);

    /* HEAD: the length is announced, no body follows; the connection carries on. */
    cli_sends(&c, "HEAD /file HTTP/1.1\r\nHost: a\r\n\r\n");
    for (;;) {
        c.buf[c.len] = '\0';
        if (strstr(c.buf, "\r\n\r\n"))
            break;
        WT_EQ_INT(cli_fill(&c), 1);
    }
    WT_CONTAINS(c.buf, want);
    c.len = 0;
    j = echo_once(&c);
    json_decref(j);
    cli_close(&c);

    /* A client that goes away in the middle of a body. */
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GET /file HTTP/1.1\r\nHost: a\r\n\r\n");
    WT_EQ_INT(cli_fill(&c), 1);
    cli_close(&c);

    /* A file shorter than announced: what there is, then the connection ends. */
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GET /file-short HTTP/1.1\r\nHost: a\r\n\r\n");
    WT_EQ_INT(cli_big_response(&c, &r), 0);
    WT_EQ_INT(r.status, 200);
    WT_EQ_INT(r.body_len, file_size);
    resp_free(&r);
    cli_close(&c);

    /* A reader slower than the disk: everything arrives, in order. */
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GET /file HTTP/1.1\r\nHost: a\r\n\r\n");
    usleep(300000); /* the server fills the socket and must wait, not buffer the file */
    WT_EQ_INT(cli_big_response(&c, &r), 1);
    WT_EQ_MEM(r.body, file_data, file_size);
    resp_free(&r);
    cli_close(&c);
}

WT_TEST(file_body_streamed)
{
    make_file((size_t)5 * 1024 * 1024 + 777);
    run(base_opts(), c_file);
    WT_EQ_INT(file_fds(), 0); /* every descriptor the engine was given is closed */
    ward_free(file_data);
}

static void c_file_stall(void)
{
    struct cli c;
    long t0;
    cli_open(&c, NULL, NULL);
    cli_sends(&c, "GET /file HTTP/1.1\r\nHost: a\r\n\r\n");
    WT_EQ_INT(cli_fill(&c), 1);
    /* Reads nothing more: the engine gives up after the idle timeout. */
    t0 = now_ms();
    usleep(900000);
    c.len = 0;
    while (cli_fill(&c))
        c.len = 0;
    WT_ASSERT(now_ms() - t0 < 5000);
    cli_close(&c);
}

WT_TEST(file_body_stalled_peer_dropped)
{
    struct srv_http_opts o = base_opts();
    o.idle_timeout_ms = 300;
    make_file((size_t)32 * 1024 * 1024);
    run(o, c_file_stall);
    WT_EQ_INT(file_fds(), 0);
    ward_free(file_data);
}

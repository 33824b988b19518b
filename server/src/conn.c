/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's HTTP/1.1 layer (see conn.h): http-parser callbacks that collect one request
 * into per-connection buffers reused from request to request (no allocation per request
 * once a connection has warmed up), limits checked as bytes arrive, gzip request bodies
 * inflated with the cap on the decoded size, dispatch to the application, and response
 * serialization (status line, headers, optional gzip) into the connection's output
 * buffer. A file body is left to the transport (conn.h). It knows nothing of sockets or TLS.
 */
#define WARD_LOG_TAG "srv-http"

#include "conn.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define NO_VALUE UINT32_MAX
#define BODY_KEEP_MAX ((size_t)64 * 1024)  /* body buffers above this are freed after use */
#define GZIP_RAW_SLACK ((size_t)64 * 1024) /* compressed bytes allowed beyond the cap */
#define HEAD_LINE_MAX 512

enum { CB_NONE, CB_URL, CB_FIELD, CB_VALUE };

static const char *reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 206:
        return "Partial Content";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 413:
        return "Content Too Large";
    case 415:
        return "Unsupported Media Type";
    case 416:
        return "Range Not Satisfiable";
    case 422:
        return "Unprocessable Content";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    default:
        return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Engine-made errors: constant codes and messages, no escaping needed. */
static const char *err_code(int status, const char **message)
{
    switch (status) {
    case 400:
        *message = "malformed HTTP request";
        return "bad_request";
    case 413:
        *message = "request body over the limit";
        return "too_large";
    case 415:
        *message = "Content-Encoding must be gzip or identity";
        return "unsupported_encoding";
    case 431:
        *message = "request line or headers over the limit";
        return "too_large";
    case 503:
        *message = "service shutting down";
        return "unavailable";
    default:
        *message = "internal server error";
        return "internal";
    }
}

/* ---- environment ------------------------------------------------------------------ */

void srv_conn_env_init(struct srv_conn_env *env, const struct srv_http_opts *o)
{
    memset(env, 0, sizeof(*env));
    env->o = *o;
    if (!env->o.max_header_bytes)
        env->o.max_header_bytes = SRV_HTTP_DEFAULT_MAX_HEADER_BYTES;
    if (!env->o.max_headers)
        env->o.max_headers = SRV_HTTP_DEFAULT_MAX_HEADERS;
    if (!env->o.max_body_bytes)
        env->o.max_body_bytes = SRV_HTTP_DEFAULT_MAX_BODY_BYTES;
    if (!env->o.idle_timeout_ms)
        env->o.idle_timeout_ms = SRV_HTTP_DEFAULT_IDLE_TIMEOUT_MS;
    if (!env->o.request_timeout_ms)
        env->o.request_timeout_ms = SRV_HTTP_DEFAULT_REQUEST_TIMEOUT_MS;
    if (!env->o.handshake_timeout_ms)
        env->o.handshake_timeout_ms = SRV_HTTP_DEFAULT_HANDSHAKE_TIMEOUT_MS;
    if (!env->o.close_grace_ms)
        env->o.close_grace_ms = SRV_HTTP_DEFAULT_CLOSE_GRACE_MS;
    if (!env->o.max_connections)
        env->o.max_connections = SRV_HTTP_DEFAULT_MAX_CONNECTIONS;
    if (env->o.max_header_bytes > UINT32_MAX / 4)
        env->o.max_header_bytes = UINT32_MAX / 4;
    env->o.listen = NULL; /* not kept: the caller's string */
    ward_buf_init(&env->scratch, SIZE_MAX / 2);
    ward_buf_init(&env->zbuf, SIZE_MAX / 2);
}

void srv_conn_env_release(struct srv_conn_env *env)
{
    if (!env)
        return;
    if (env->deflate_ready)
        deflateEnd(&env->deflate);
    env->deflate_ready = 0;
    ward_buf_release(&env->scratch);
    ward_buf_release(&env->zbuf);
}

/* ---- connection setup --------------------------------------------------------------- */

static http_parser_settings settings;

void srv_conn_init(struct srv_conn *c, struct srv_conn_env *env, const struct srv_conn_ops *ops,
                   void *io)
{
    size_t hmax = 2 * env->o.max_header_bytes + 2 * env->o.max_headers + 64;
    memset(c, 0, sizeof(*c));
    c->env = env;
    c->ops = ops;
    c->io = io;
    c->req.conn = c;
    c->file_fd = -1;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    ward_buf_init(&c->in, SRV_CONN_IN_HIGH + 64 * 1024);
    ward_buf_init(&c->hdr, hmax);
    ward_buf_init(&c->body, env->o.max_body_bytes);
    ward_buf_init(&c->out, SIZE_MAX / 2);
}

void srv_conn_release(struct srv_conn *c)
{
    if (!c)
        return;
    ward_buf_release(&c->in);
    ward_buf_release(&c->hdr);
    ward_buf_release(&c->body);
    ward_buf_release(&c->out);
    ward_free(c->hidx);
    c->hidx = NULL;
    if (c->inflate_ready)
        inflateEnd(&c->inflate);
    c->inflate_ready = 0;
    if (c->file_fd >= 0)
        close(c->file_fd);
    c->file_fd = -1;
}

/* ---- parser callbacks --------------------------------------------------------------- */

static int fail_cb(struct srv_conn *c, int status)
{
    if (!c->err_status)
        c->err_status = status;
    return -1;
}

static int hdr_put(struct srv_conn *c, const void *p, size_t n)
{
    int rc = ward_buf_append(&c->hdr, p, n);
    if (rc == WARD_ETOOBIG)
        return fail_cb(c, 431);
    if (rc)
        return fail_cb(c, 500);
    return 0;
}

static int hdr_count(struct srv_conn *c, size_t n)
{
    c->hdr_bytes += n;
    if (c->hdr_bytes > c->env->o.max_header_bytes)
        return fail_cb(c, 431);
    return 0;
}

static int on_message_begin(http_parser *p)
{
    struct srv_conn *c = p->data;
    struct srv_req *r = &c->req;

    memset(r, 0, sizeof(*r));
    r->conn = c;
    ward_buf_reset(&c->hdr);
    ward_buf_reset(&c->body);
    c->hdr_bytes = 0;
    c->last_cb = CB_NONE;
    c->inflate_done = 0;
    c->inflate_started = 0;
    c->raw_body = 0;
    c->phase = SRV_PHASE_READING;
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct srv_conn *c = p->data;
    if (hdr_count(c, len))
        return -1;
    if (c->last_cb != CB_URL)
        c->req.url_off = (uint32_t)c->hdr.len;
    c->last_cb = CB_URL;
    return hdr_put(c, at, len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct srv_conn *c = p->data;
    struct srv_req *r = &c->req;

    if (c->last_cb != CB_FIELD) {
        if (hdr_count(c, 4)) /* ": " and CRLF */
            return -1;
        if (r->nhdrs >= c->env->o.max_headers)
            return fail_cb(c, 431);
        if (r->nhdrs == c->hidx_cap) {
            size_t ncap = c->hidx_cap ? c->hidx_cap * 2 : 16;
            struct srv_hdr_idx *n;
            if (ncap > c->env->o.max_headers)
                ncap = c->env->o.max_headers;
            n = ward_realloc(c->hidx, ncap * sizeof(*n));
            if (!n)
                return fail_cb(c, 500);
            c->hidx = n;
            c->hidx_cap = ncap;
        }
        if (c->last_cb != CB_NONE && hdr_put(c, "", 1))
            return -1;
        c->hidx[r->nhdrs].name = (uint32_t)c->hdr.len;
        c->hidx[r->nhdrs].value = NO_VALUE;
        r->nhdrs++;
        c->last_cb = CB_FIELD;
    }
    if (hdr_count(c, len))
        return -1;
    return hdr_put(c, at, len);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    struct srv_conn *c = p->data;
    struct srv_req *r = &c->req;

    if (c->last_cb != CB_VALUE) {
        if (c->last_cb != CB_FIELD || !r->nhdrs)
            return fail_cb(c, 400);
        if (hdr_put(c, "", 1))
            return -1;
        c->hidx[r->nhdrs - 1].value = (uint32_t)c->hdr.len;
        c->last_cb = CB_VALUE;
    }
    if (hdr_count(c, len))
        return -1;
    return hdr_put(c, at, len);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Appends s[0..n) percent-decoded and a NUL. */
static int put_decoded(struct srv_conn *c, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (ch == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            ch = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        }
        if (hdr_put(c, &ch, 1))
            return -1;
    }
    return hdr_put(c, "", 1);
}

static int split_query(struct srv_conn *c, const char *q, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t start = i, eq = SIZE_MAX;
        while (i < n && q[i] != '&') {
            if (q[i] == '=' && eq == SIZE_MAX)
                eq = i;
            i++;
        }
        if (i > start) {
            size_t kend = eq == SIZE_MAX ? i : eq;
            if (put_decoded(c, q + start, kend - start))
                return -1;
            if (eq == SIZE_MAX ? hdr_put(c, "", 1) : put_decoded(c, q + eq + 1, i - eq - 1))
                return -1;
        }
        i++;
    }
    return 0;
}

static const char *hdr_str(const struct srv_conn *c, uint32_t off)
{
    return c->hdr.data + off;
}

static const char *find_header(const struct srv_conn *c, const char *name)
{
    const struct srv_req *r = &c->req;
    for (size_t i = 0; i < r->nhdrs; i++)
        if (strcasecmp(hdr_str(c, c->hidx[i].name), name) == 0)
            return hdr_str(c, c->hidx[i].value);
    return NULL;
}

static int token_eq(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && strncasecmp(s, word, n) == 0;
}

/* "gzip", "x-gzip;q=0.5", "*" count; "gzip;q=0" does not. */
static int accepts_gzip(const char *v)
{
    while (v && *v) {
        const char *end = strchr(v, ','), *semi, *tok;
        size_t n, tn;
        if (!end)
            end = v + strlen(v);
        n = (size_t)(end - v);
        while (n && (*v == ' ' || *v == '\t'))
            v++, n--;
        tok = v;
        semi = memchr(v, ';', n);
        tn = semi ? (size_t)(semi - v) : n;
        while (tn && (tok[tn - 1] == ' ' || tok[tn - 1] == '\t'))
            tn--;
        if (token_eq(tok, tn, "gzip") || token_eq(tok, tn, "x-gzip") || token_eq(tok, tn, "*")) {
            int zero = 0;
            if (semi) {
                const char *q = semi + 1;
                while (q < end && (*q == ' ' || *q == '\t'))
                    q++;
                if (end - q >= 3 && (q[0] == 'q' || q[0] == 'Q') && q[1] == '=') {
                    zero = 1;
                    for (const char *d = q + 2; d < end && *d != ' '; d++)
                        if (*d >= '1' && *d <= '9')
                            zero = 0;
                }
            }
            if (!zero)
                return 1;
        }
        v = *end ? end + 1 : end;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    struct srv_conn *c = p->data;
    struct srv_req *r = &c->req;
    struct http_parser_url u;
    const char *v;
    size_t empty_off;

    if (c->last_cb == CB_NONE || hdr_put(c, "", 1))
        return c->last_cb == CB_NONE ? fail_cb(c, 400) : -1;
    empty_off = c->hdr.len - 1;
    for (size_t i = 0; i < r->nhdrs; i++)
        if (c->hidx[i].value == NO_VALUE)
            c->hidx[i].value = (uint32_t)empty_off;

    /* Path and query, from origin-form ("/a?b") or absolute-form ("http://h/a?b"). They
     * are appended to hdr, which holds the URL itself and may move as it grows: work from
     * a copy of the URL. */
    {
        char stack[512];
        size_t ulen = strlen(hdr_str(c, r->url_off));
        char *url = ulen < sizeof(stack) ? stack : ward_malloc(ulen + 1);
        int rc = -1;
        if (!url)
            return fail_cb(c, 500);
        memcpy(url, hdr_str(c, r->url_off), ulen + 1);
        http_parser_url_init(&u);
        if (http_parser_parse_url(url, ulen, p->method == HTTP_CONNECT, &u) != 0) {
            rc = fail_cb(c, 400);
            goto url_out;
        }
        r->path_off = (uint32_t)c->hdr.len;
        if (u.field_set & (1 << UF_PATH)) {
            if (hdr_put(c, url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len))
                goto url_out;
        } else if (p->method != HTTP_OPTIONS && p->method != HTTP_CONNECT && hdr_put(c, "/", 1)) {
            goto url_out;
        }
        if (hdr_put(c, "", 1))
            goto url_out;
        r->query_off = (uint32_t)c->hdr.len;
        if ((u.field_set & (1 << UF_QUERY)) &&
            split_query(c, url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len))
            goto url_out;
        rc = 0;
    url_out:
        if (url != stack)
            ward_free(url);
        if (rc)
            return -1;
    }
    r->query_end = (uint32_t)c->hdr.len;

    r->http_minor = p->http_major == 1 ? p->http_minor : 0;
    r->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    r->is_head = p->method == HTTP_HEAD;
    r->accept_gzip = accepts_gzip(find_header(c, "Accept-Encoding"));

    v = find_header(c, "Content-Encoding");
    if (v) {
        size_t n = strlen(v);
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (token_eq(v, n, "gzip") || token_eq(v, n, "x-gzip"))
            r->body_gzip = 1;
        else if (n && !token_eq(v, n, "identity"))
            return fail_cb(c, 415);
    }

    r->body_max = c->env->o.max_body_bytes;
    if (c->env->o.body_limit) {
        size_t m = c->env->o.body_limit(http_method_str((enum http_method)p->method),
                                        hdr_str(c, r->path_off), c->env->o.ctx);
        if (m)
            r->body_max = m;
    }
    c->body.max = r->body_max;
    if (p->content_length != ULLONG_MAX && p->content_length > 0) {
        unsigned long long lim = r->body_max;
        if (r->body_gzip)
            lim += GZIP_RAW_SLACK;
        if (p->content_length > lim)
            return fail_cb(c, 413);
    }

    v = find_header(c, "Expect");
    if (v && strcasecmp(v, "100-continue") == 0 && p->http_major == 1 && p->http_minor >= 1 &&
        ((p->flags & F_CHUNKED) || (p->content_length != ULLONG_MAX && p->content_length > 0))) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (ward_buf_append(&c->out, cont, sizeof(cont) - 1))
            return fail_cb(c, 500);
    }
    return 0;
}

static int inflate_some(struct srv_conn *c, const char *at, size_t len)
{
    unsigned char tmp[16384];
    z_stream *z = &c->inflate;

    if (!c->inflate_ready) {
        memset(z, 0, sizeof(*z));
        if (inflateInit2(z, 16 + MAX_WBITS) != Z_OK)
            return fail_cb(c, 500);
        c->inflate_ready = 1;
    } else if (!c->inflate_started) {
        inflateReset(z);
    }
    c->inflate_started = 1;
    z->next_in = (const Bytef *)at;
    z->avail_in = (uInt)len;
    while (z->avail_in > 0) {
        int zr;
        if (c->inflate_done) {
            /* Another gzip member follows (concatenated gzip is valid gzip). */
            inflateReset(z);
            c->inflate_done = 0;
        }
        z->next_out = tmp;
        z->avail_out = sizeof(tmp);
        zr = inflate(z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
            return fail_cb(c, zr == Z_MEM_ERROR ? 500 : 400);
        if (sizeof(tmp) - z->avail_out) {
            int rc = ward_buf_append(&c->body, tmp, sizeof(tmp) - z->avail_out);
            if (rc)
                return fail_cb(c, rc == WARD_ETOOBIG ? 413 : 500);
        }
        if (zr == Z_STREAM_END)
            c->inflate_done = 1;
        else if (zr == Z_BUF_ERROR && z->avail_out)
            break; /* no progress possible without more input */
    }
    /* Drain output that did not fit in tmp while input was exhausted. */
    while (!c->inflate_done && z->avail_out == 0) {
        int zr;
        z->next_out = tmp;
        z->avail_out = sizeof(tmp);
        zr = inflate(z, Z_NO_FLUSH);
        if (zr != Z_OK && zr != Z_STREAM_END && zr != Z_BUF_ERROR)
            return fail_cb(c, 400);
        if (sizeof(tmp) - z->avail_out) {
            int rc = ward_buf_append(&c->body, tmp, sizeof(tmp) - z->avail_out);
            if (rc)
                return fail_cb(c, rc == WARD_ETOOBIG ? 413 : 500);
        }
        if (zr == Z_STREAM_END)
            c->inflate_done = 1;
        if (zr == Z_BUF_ERROR)
            break;
    }
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    struct srv_conn *c = p->data;
    struct srv_req *r = &c->req;
    int rc;

    c->raw_body += len;
    if (r->body_gzip) {
        if (c->raw_body > r->body_max + GZIP_RAW_SLACK)
            return fail_cb(c, 413);
        return inflate_some(c, at, len);
    }
    rc = ward_buf_append(&c->body, at, len);
    if (rc)
        return fail_cb(c, rc == WARD_ETOOBIG ? 413 : 500);
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct srv_conn *c = p->data;
    if (c->req.body_gzip && c->inflate_started && !c->inflate_done)
        return fail_cb(c, 400); /* truncated gzip stream */
    c->req.state = SRV_REQ_HELD;
    http_parser_pause(p, 1);
    return 0;
}

static http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

/* ---- responses ---------------------------------------------------------------------- */

static int header_ok(const char *s, int is_name)
{
    if (!s || (is_name && !*s))
        return 0;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '\r' || ch == '\n' || (is_name && (ch <= ' ' || ch == ':' || ch >= 0x7f)))
            return 0;
    }
    return 1;
}

static int gzip_body(struct srv_conn_env *env, const void *body, size_t len)
{
    z_stream *z = &env->deflate;
    size_t bound;
    int rc, zr;

    if (!env->deflate_ready) {
        memset(z, 0, sizeof(*z));
        if (deflateInit2(z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            return WARD_ENOMEM;
        env->deflate_ready = 1;
    } else if (deflateReset(z) != Z_OK) {
        return WARD_EIO;
    }
    if (len > UINT_MAX / 2)
        return WARD_ETOOBIG;
    bound = deflateBound(z, (uLong)len) + 64;
    ward_buf_reset(&env->zbuf);
    if ((rc = ward_buf_reserve(&env->zbuf, bound)))
        return rc;
    z->next_in = (const Bytef *)body;
    z->avail_in = (uInt)len;
    z->next_out = (Bytef *)env->zbuf.data;
    z->avail_out = (uInt)bound;
    zr = deflate(z, Z_FINISH);
    if (zr != Z_STREAM_END)
        return WARD_EIO;
    env->zbuf.len = bound - z->avail_out;
    return 0;
}

/* Serializes a complete response into c->out (all or nothing). With streamed, body is
 * NULL and len only announced: the transport sends the bytes (a file body). */
static int build_response(struct srv_conn *c, int status, const char *ctype, const void *body,
                          size_t len, const struct srv_header *extra, size_t n_extra,
                          int keep_alive, int streamed)
{
    struct srv_req *r = &c->req;
    char line[HEAD_LINE_MAX];
    size_t mark = c->out.len;
    int nobody = status < 200 || status == 204 || status == 304;
    int gz = 0, n, rc = 0;

    if (status < 200 || status > 599 || (ctype && !header_ok(ctype, 0)) ||
        (len && !body && !streamed))
        return WARD_EINVAL;
    for (size_t i = 0; i < n_extra; i++)
        if (!header_ok(extra[i].name, 1) || !header_ok(extra[i].value, 0))
            return WARD_EINVAL;
    if (nobody)
        len = 0;
    if (!nobody && !streamed && r->accept_gzip && len > SRV_HTTP_GZIP_MIN_BYTES &&
        gzip_body(c->env, body, len) == 0) {
        gz = 1;
        body = c->env->zbuf.data;
        len = c->env->zbuf.len;
    }

    n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, reason(status));
    if ((rc = ward_buf_append(&c->out, line, (size_t)n)))
        goto out;
    if (!nobody) {
        n = snprintf(line, sizeof(line), "Content-Length: %zu\r\n", len);
        if ((rc = ward_buf_append(&c->out, line, (size_t)n)))
            goto out;
        if (ctype && ((rc = ward_buf_append_str(&c->out, "Content-Type: ")) ||
                      (rc = ward_buf_append_str(&c->out, ctype)) ||
                      (rc = ward_buf_append(&c->out, "\r\n", 2))))
            goto out;
        if (gz && (rc = ward_buf_append_str(&c->out, "Content-Encoding: gzip\r\n")))
            goto out;
        if (!streamed && r->accept_gzip &&
            (rc = ward_buf_append_str(&c->out, "Vary: Accept-Encoding\r\n")))
            goto out;
    }
    if (!keep_alive)
        rc = ward_buf_append_str(&c->out, "Connection: close\r\n");
    else if (r->http_minor == 0)
        rc = ward_buf_append_str(&c->out, "Connection: keep-alive\r\n");
    if (rc)
        goto out;
    for (size_t i = 0; i < n_extra; i++)
        if ((rc = ward_buf_append_str(&c->out, extra[i].name)) ||
            (rc = ward_buf_append(&c->out, ": ", 2)) ||
            (rc = ward_buf_append_str(&c->out, extra[i].value)) ||
            (rc = ward_buf_append(&c->out, "\r\n", 2)))
            goto out;
    if ((rc = ward_buf_append(&c->out, "\r\n", 2)))
        goto out;
    if (!r->is_head && len && !streamed)
        rc = ward_buf_append(&c->out, body, len);
out:
    if (rc) {
        c->out.len = mark;
        if (c->out.data)
            c->out.data[mark] = '\0';
    }
    return rc;
}

static void engine_error(struct srv_conn *c, int status)
{
    static const struct srv_header retry = {"Retry-After", "5"};
    const char *message, *code = err_code(status, &message);
    char body[256];
    int n = snprintf(body, sizeof(body), "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}", code,
                     message);
    if (build_response(c, status, "application/json", body, (size_t)n, &retry,
                       status == 503 ? 1 : 0, 0, 0))
        WARD_LOG_WARN_ERR(WARD_ENOMEM, "could not queue a %d response", status);
}

static void finish_request(struct srv_conn *c, int keep_alive)
{
    c->req.state = SRV_REQ_NONE;
    c->req.abort_cb = NULL;
    if (c->body.cap > BODY_KEEP_MAX)
        ward_buf_release(&c->body);
    if (keep_alive && !c->env->draining) {
        c->phase = SRV_PHASE_IDLE;
    } else {
        c->phase = SRV_PHASE_CLOSING;
        c->want_close = 1;
    }
}

void srv_conn_fail(struct srv_conn *c, int status)
{
    if (c->phase == SRV_PHASE_CLOSING)
        return;
    c->req.keep_alive = 0;
    engine_error(c, status);
    finish_request(c, 0);
}

/* ---- driving ------------------------------------------------------------------------ */

static int can_parse(const struct srv_conn *c)
{
    return c->phase != SRV_PHASE_CLOSING && c->req.state == SRV_REQ_NONE && !c->out_blocked &&
           !c->dead && c->file_fd < 0;
}

static void dispatch(struct srv_conn *c)
{
    c->phase = SRV_PHASE_HELD;
    c->nreq++;
    if (c->env->draining) {
        srv_conn_fail(c, 503);
        return;
    }
    c->env->o.handler(&c->req, c->env->o.ctx);
}

/* Parses data until it is used up or parsing must wait; returns the bytes consumed. */
static size_t run(struct srv_conn *c, const char *data, size_t len)
{
    size_t done = 0;

    while (done < len && can_parse(c)) {
        size_t n = http_parser_execute(&c->parser, &settings, data + done, len - done);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        done += n;
        if (e == HPE_PAUSED) {
            http_parser_pause(&c->parser, 0);
            dispatch(c);
            continue;
        }
        if (e != HPE_OK) {
            int status = c->err_status ? c->err_status : e == HPE_HEADER_OVERFLOW ? 431 : 400;
            WARD_DEBUG("%s: request refused with %d (%s)", c->peer_addr, status,
                       http_errno_name(e));
            srv_conn_fail(c, status);
            return len;
        }
        if (n == 0)
            break;
    }
    return done;
}

static void process(struct srv_conn *c)
{
    size_t n;
    if (c->in_process)
        return;
    c->in_process = 1;
    if (c->in_off < c->in.len) {
        n = run(c, c->in.data + c->in_off, c->in.len - c->in_off);
        c->in_off += n;
        if (c->in_off == c->in.len) {
            ward_buf_reset(&c->in);
            c->in_off = 0;
        }
    }
    c->in_process = 0;
}

int srv_conn_feed(struct srv_conn *c, const void *buf, size_t len)
{
    const char *p = buf;
    int rc = 0;

    if (c->phase == SRV_PHASE_CLOSING || c->dead)
        return WARD_ECLOSED;
    c->in_process = 1;
    if (c->in_off == c->in.len) {
        /* Nothing buffered: parse straight from the caller's bytes. */
        size_t n = run(c, p, len);
        p += n;
        len -= n;
    }
    if (len && c->phase != SRV_PHASE_CLOSING) {
        if (c->in_off && c->in_off == c->in.len) {
            ward_buf_reset(&c->in);
            c->in_off = 0;
        } else if (c->in_off > c->in.len / 2) {
            memmove(c->in.data, c->in.data + c->in_off, c->in.len - c->in_off);
            c->in.len -= c->in_off;
            c->in_off = 0;
        }
        rc = ward_buf_append(&c->in, p, len);
        if (rc) {
            c->phase = SRV_PHASE_CLOSING;
            c->want_close = 1;
        }
    }
    c->in_process = 0;
    process(c);
    c->ops->sync(c);
    return rc;
}

void srv_conn_resume(struct srv_conn *c)
{
    if (c->dead)
        return;
    process(c);
    c->ops->sync(c);
}

int srv_conn_wants_input(const struct srv_conn *c)
{
    return !c->dead && c->phase != SRV_PHASE_CLOSING && c->in.len - c->in_off < SRV_CONN_IN_HIGH;
}

int srv_conn_dead(struct srv_conn *c)
{
    struct srv_req *r = &c->req;
    c->dead = 1;
    if (r->state == SRV_REQ_HELD) {
        void (*cb)(struct srv_req *, void *) = r->abort_cb;
        if (!cb) {
            r->state = SRV_REQ_ZOMBIE;
            return 1;
        }
        r->state = SRV_REQ_NONE;
        r->abort_cb = NULL;
        cb(r, r->abort_arg);
    }
    return r->state == SRV_REQ_ZOMBIE;
}

void srv_conn_drain(struct srv_conn *c)
{
    struct srv_req *r = &c->req;
    if (c->dead)
        return;
    if (r->state == SRV_REQ_HELD) {
        void (*cb)(struct srv_req *, void *) = r->abort_cb;
        void *arg = r->abort_arg;
        r->keep_alive = 0;
        engine_error(c, 503);
        finish_request(c, 0);
        if (cb)
            cb(r, arg);
        else
            r->state = SRV_REQ_ZOMBIE; /* the application still has it */
    } else if (c->phase != SRV_PHASE_CLOSING) {
        c->phase = SRV_PHASE_CLOSING;
        c->want_close = 1;
    }
    c->ops->sync(c);
}

/* ---- public request API --------------------------------------------------------------- */

const char *srv_req_method(const struct srv_req *r)
{
    return http_method_str((enum http_method)r->conn->parser.method);
}

const char *srv_req_path(const struct srv_req *r)
{
    return hdr_str(r->conn, r->path_off);
}

const char *srv_req_query(const struct srv_req *r, const char *name)
{
    const struct srv_conn *c = r->conn;
    uint32_t off = r->query_off;
    while (off < r->query_end) {
        const char *k = hdr_str(c, off);
        const char *v = k + strlen(k) + 1;
        if (strcmp(k, name) == 0)
            return v;
        off = (uint32_t)((v + strlen(v) + 1) - c->hdr.data);
    }
    return NULL;
}

const char *srv_req_header(const struct srv_req *r, const char *name)
{
    return name ? find_header(r->conn, name) : NULL;
}

const char *srv_req_body(const struct srv_req *r, size_t *len)
{
    const struct srv_conn *c = r->conn;
    if (len)
        *len = c->body.len;
    return c->body.data ? c->body.data : "";
}

X509 *srv_req_peer_cert(const struct srv_req *r)
{
    return r->conn->peer_cert;
}

const char *srv_req_peer_addr(const struct srv_req *r)
{
    return r->conn->peer_addr;
}

int srv_req_http_minor(const struct srv_req *r)
{
    return r->http_minor;
}

void srv_req_set_abort_cb(struct srv_req *r, void (*cb)(struct srv_req *r, void *arg), void *arg)
{
    r->abort_cb = cb;
    r->abort_arg = arg;
}

int srv_req_respond(struct srv_req *r, int status, const char *content_type, const void *body,
                    size_t len, const struct srv_header *extra, size_t n_extra)
{
    struct srv_conn *c;
    int rc, keep;

    if (!r)
        return WARD_EINVAL;
    c = r->conn;
    if (r->state == SRV_REQ_ZOMBIE) {
        r->state = SRV_REQ_NONE;
        c->ops->release(c);
        return WARD_ECLOSED;
    }
    if (r->state != SRV_REQ_HELD)
        return WARD_ECLOSED;
    keep = r->keep_alive && !c->env->draining;
    rc = build_response(c, status, content_type, body, len, extra, n_extra, keep, 0);
    if (rc == WARD_EINVAL) {
        WARD_LOG_ERR(rc, "%s %s: invalid response (status %d or a header)", srv_req_method(r),
                     srv_req_path(r), status);
        engine_error(c, 500);
        keep = 0;
    } else if (rc) {
        WARD_LOG_ERR(rc, "%s: response not queued; closing", c->peer_addr);
        keep = 0;
    }
    finish_request(c, keep);
    if (!c->in_process && !c->dead) {
        process(c);
        c->ops->sync(c);
    }
    return rc;
}

int srv_req_respond_file(struct srv_req *r, int status, const char *content_type, int fd,
                         uint64_t offset, uint64_t len, const struct srv_header *extra,
                         size_t n_extra)
{
    struct srv_conn *c;
    int rc, keep;

    if (!r || fd < 0) {
        if (fd >= 0)
            close(fd);
        return WARD_EINVAL;
    }
    c = r->conn;
    if (r->state != SRV_REQ_HELD || len > SIZE_MAX / 2) {
        close(fd);
        /* A zombie is released (and a request in no state refused) as srv_req_respond does. */
        return r->state == SRV_REQ_HELD ? srv_req_respond_error(r, 500, "internal", "too large")
                                        : srv_req_respond(r, 500, NULL, NULL, 0, NULL, 0);
    }
    keep = r->keep_alive && !c->env->draining;
    rc = build_response(c, status, content_type, NULL, (size_t)len, extra, n_extra, keep, 1);
    if (rc == 0 && !r->is_head && len > 0 && status >= 200 && status != 204 && status != 304) {
        c->file_fd = fd;
        c->file_off = offset;
        c->file_left = len;
        fd = -1;
    }
    if (fd >= 0)
        close(fd);
    if (rc == WARD_EINVAL) {
        WARD_LOG_ERR(rc, "%s %s: invalid response (status %d or a header)", srv_req_method(r),
                     srv_req_path(r), status);
        engine_error(c, 500);
        keep = 0;
    } else if (rc) {
        WARD_LOG_ERR(rc, "%s: response not queued; closing", c->peer_addr);
        keep = 0;
    }
    finish_request(c, keep);
    if (!c->in_process && !c->dead) {
        process(c);
        c->ops->sync(c);
    }
    return rc;
}

void srv_conn_file_done(struct srv_conn *c, int ok)
{
    if (c->file_fd >= 0)
        close(c->file_fd);
    c->file_fd = -1;
    c->file_left = 0;
    if (!ok) {
        c->phase = SRV_PHASE_CLOSING;
        c->want_close = 1;
        return;
    }
    srv_conn_resume(c); /* pipelined requests waited for the body */
}

static int dump_cb(const char *buffer, size_t size, void *data)
{
    return ward_buf_append(data, buffer, size) ? -1 : 0;
}

int srv_req_respond_json(struct srv_req *r, int status, const json_t *body,
                         const struct srv_header *extra, size_t n_extra)
{
    struct ward_buf *s;
    if (!r)
        return WARD_EINVAL;
    s = &r->conn->env->scratch;
    ward_buf_reset(s);
    if (!body || json_dump_callback(body, dump_cb, s, JSON_COMPACT) != 0) {
        WARD_LOG_ERR(body ? WARD_ENOMEM : WARD_EINVAL, "JSON response not serialized");
        static const char fallback[] = "{\"error\":{\"code\":\"internal\",\"message\":\"\"}}";
        return srv_req_respond(r, 500, "application/json", fallback, sizeof(fallback) - 1, NULL, 0);
    }
    return srv_req_respond(r, status, "application/json", s->data, s->len, extra, n_extra);
}

int srv_req_respond_error(struct srv_req *r, int status, const char *code, const char *message)
{
    static const struct srv_header retry = {"Retry-After", "5"};
    json_t *j;
    int rc;

    if (!r)
        return WARD_EINVAL;
    j = json_pack("{s:{s:s,s:s}}", "error", "code", code ? code : "internal", "message",
                  message ? message : "");
    rc = srv_req_respond_json(r, status, j, &retry, status == 429 || status == 503 ? 1 : 0);
    json_decref(j);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ward-server's HTTPS engine: HTTP/1.1 over TLS on libuv, with OpenSSL driven through
 * memory BIOs and requests parsed by http-parser. The application plugs in one handler
 * callback; the engine owns the listener, connections, limits, timeouts, gzip on both
 * directions and clean shutdown, and answers by itself only what the application cannot
 * meaningfully see: 400 (unparsable), 413/431 (over a limit), 415 (unknown
 * Content-Encoding) and 503 (shutting down), each with the JSON error body of
 * docs/protocol.md.
 *
 * Threading: everything runs on the loop thread given to srv_http_new().
 *
 * Request lifetime: the handler gets a struct srv_req that stays valid until the
 * application responds (any srv_req_respond* call; r is gone once it returns) or, for a
 * held request, until its abort callback returns. A handler may return without responding
 * and respond later from the loop thread (long-poll, work queued elsewhere). A held
 * request should get an abort callback: without one, a request whose connection died
 * stays in memory until the application responds (which then returns WARD_ECLOSED), and
 * srv_http_close() waits for it.
 */
#ifndef SERVER_HTTP_H
#define SERVER_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/types.h>
#include <uv.h>

#define SRV_HTTP_DEFAULT_MAX_HEADER_BYTES ((size_t)16 * 1024)
#define SRV_HTTP_DEFAULT_MAX_HEADERS 100
#define SRV_HTTP_DEFAULT_MAX_BODY_BYTES ((size_t)1024 * 1024)
#define SRV_HTTP_DEFAULT_IDLE_TIMEOUT_MS 75000u
#define SRV_HTTP_DEFAULT_REQUEST_TIMEOUT_MS 30000u
#define SRV_HTTP_DEFAULT_HANDSHAKE_TIMEOUT_MS 10000u
#define SRV_HTTP_DEFAULT_MAX_CONNECTIONS 20000
#define SRV_HTTP_DEFAULT_CLOSE_GRACE_MS 2000u
/* Responses with a larger body are gzip-compressed when the request accepts gzip. */
#define SRV_HTTP_GZIP_MIN_BYTES 1024

struct srv_http; /* the engine: listener and connections */
struct srv_req;  /* one request */

struct srv_header {
    const char *name;
    const char *value;
};

typedef void (*srv_http_handler_fn)(struct srv_req *req, void *ctx);
/* Optional per-request body cap (e.g. 8 MiB for inventory uploads), asked once the
 * request line and headers are in; return 0 for max_body_bytes. */
typedef size_t (*srv_http_body_limit_fn)(const char *method, const char *path, void *ctx);

/* Zero fields take the defaults above. */
struct srv_http_opts {
    const char *listen;                /* "127.0.0.1:8443", "[::1]:0" (0: ephemeral port) */
    SSL_CTX *ssl_ctx;                  /* borrowed (srv_tls_ctx_new); must outlive the engine */
    size_t max_header_bytes;           /* request line + headers -> 431 */
    size_t max_headers;                /* -> 431 */
    size_t max_body_bytes;             /* after gzip decoding -> 413 */
    unsigned idle_timeout_ms;          /* keep-alive idle */
    unsigned request_timeout_ms;       /* first byte to complete request (slow loris) */
    unsigned handshake_timeout_ms;     /* TCP accept to TLS handshake done */
    unsigned close_grace_ms;           /* srv_http_close: time left to in-flight writes */
    size_t max_connections;            /* beyond: accepted and closed at once */
    srv_http_handler_fn handler;       /* required */
    srv_http_body_limit_fn body_limit; /* optional */
    void *ctx;                         /* passed to handler and body_limit */
};

/* Binds and listens. *out is new (srv_http_close). Sets SIGPIPE to SIG_IGN if it still has
 * its default disposition (writes to a reset peer must not kill the server). On
 * WARD_ECONNECT the half-made engine frees itself once the loop runs. WARD_EINVAL for a bad listen
 * address or missing handler/ssl_ctx, WARD_ECONNECT if the address cannot be bound. */
int srv_http_new(uv_loop_t *loop, const struct srv_http_opts *o, struct srv_http **out);
/* Bound port (useful with port 0), -1 on error. */
int srv_http_port(const struct srv_http *h);
/* Number of open connections (for tests and metrics). */
size_t srv_http_connections(const struct srv_http *h);
/* Stops accepting; held requests are answered 503 unavailable (Retry-After) and their abort
 * callback runs; idle connections close at once, in-flight responses get close_grace_ms to
 * finish writing; then every handle closes and memory is freed in close callbacks. done
 * (may be NULL) is called once, from the loop, when all of that is over. NULL-safe. */
void srv_http_close(struct srv_http *h, void (*done)(void *arg), void *arg);

/* ---- request accessors (valid while r is) ------------------------------------------- */

const char *srv_req_method(const struct srv_req *r); /* "GET", "POST" ... */
const char *srv_req_path(const struct srv_req *r);   /* without the query; not decoded */
/* Percent-decoded value of the first ?name= in the query, "" for a bare "?name", NULL if
 * absent. */
const char *srv_req_query(const struct srv_req *r, const char *name);
/* First header with that name (case-insensitive), NULL if absent. */
const char *srv_req_header(const struct srv_req *r, const char *name);
/* Request body, decoded if it came with Content-Encoding: gzip; NUL-terminated for
 * convenience (never NULL, "" when empty). len may be NULL. */
const char *srv_req_body(const struct srv_req *r, size_t *len);
/* Client certificate, verified against the client CA during the handshake (a resumed
 * session keeps it); borrowed, NULL when the client sent none. */
X509 *srv_req_peer_cert(const struct srv_req *r);
/* "192.0.2.1:51234" or "[::1]:51234". */
const char *srv_req_peer_addr(const struct srv_req *r);
/* HTTP minor version of the request (0 or 1). */
int srv_req_http_minor(const struct srv_req *r);

/* ---- responding ------------------------------------------------------------------- */

/* Queues the response (status line, Content-Type when content_type is non-NULL,
 * Content-Length, extra headers, body) and releases r, whatever the result. The body is
 * gzip-compressed when the request had Accept-Encoding: gzip and len >
 * SRV_HTTP_GZIP_MIN_BYTES. 1xx/204/304 carry no body, HEAD gets only the headers.
 * Returns 0 (queued), WARD_EINVAL (bad status, CR/LF/NUL in an extra header; the engine
 * answers 500 instead), WARD_ECLOSED (the connection is gone), WARD_ENOMEM. */
int srv_req_respond(struct srv_req *r, int status, const char *content_type, const void *body,
                    size_t len, const struct srv_header *extra, size_t n_extra);
/* Like srv_req_respond, with the body streamed from fd: len bytes from offset, announced
 * with Content-Length: len (never gzip). The engine owns fd from the call on, whatever the
 * result, and closes it when the body is out or the connection is gone. The body is read
 * in chunks on libuv's thread pool (uv_fs_read) as the peer takes the bytes, so neither a
 * large file nor a slow disk holds the loop, and at most a few chunks per connection are in
 * memory; the next request on the connection waits until the body is out. A peer that
 * takes nothing for idle_timeout_ms is dropped; a file that turns out shorter than len
 * ends the connection (the framing cannot be kept). HEAD and bodiless statuses send only
 * the headers. Errors as srv_req_respond. */
int srv_req_respond_file(struct srv_req *r, int status, const char *content_type, int fd,
                         uint64_t offset, uint64_t len, const struct srv_header *extra,
                         size_t n_extra);
/* application/json; body is borrowed (serialized compactly). */
int srv_req_respond_json(struct srv_req *r, int status, const json_t *body,
                         const struct srv_header *extra, size_t n_extra);
/* {"error":{"code":code,"message":message}} (docs/protocol.md); 429 and 503 also get
 * Retry-After: 5 unless you send your own through srv_req_respond_json. */
int srv_req_respond_error(struct srv_req *r, int status, const char *code, const char *message);

/* For a held request: cb is called once if the connection dies (client gone, timeout,
 * srv_http_close) before the application responds; r is gone when cb returns and must not
 * be responded to. cb must not respond. */
void srv_req_set_abort_cb(struct srv_req *r, void (*cb)(struct srv_req *r, void *arg), void *arg);

#endif

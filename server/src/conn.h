/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the HTTP/1.1 connection state machine of the engine, without any transport.
 * Bytes in (srv_conn_feed), response bytes out (the `out` buffer, announced through
 * ops->sync), decisions (close, stop reading, timers) exposed as fields the transport
 * reads. http.c drives it from TLS; the fuzzer drives it with plain bytes.
 *
 * One request at a time per connection: when a request is complete the parser is paused
 * and the request goes to the handler; pipelined bytes behind it wait in `in` until the
 * response has been queued, so responses always leave in request order.
 *
 * A file body (srv_req_respond_file) is not copied into `out`: after the response head is
 * queued, the connection holds the open file (file_fd, file_off, file_left) and parses no
 * further request until the transport has read and sent it all and called
 * srv_conn_file_done(). A transport without file support (the fuzzer) never sees one.
 */
#ifndef SERVER_CONN_H
#define SERVER_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <http_parser.h>
#ifndef ZLIB_CONST
#define ZLIB_CONST
#endif
#include <zlib.h>

#include "server/http.h"
#include "ward/buf.h"

/* Stop reading from the transport while this much unparsed input is buffered. */
#define SRV_CONN_IN_HIGH ((size_t)64 * 1024)

/* Settings shared by all connections of an engine (the fuzzer makes its own). */
struct srv_conn_env {
    struct srv_http_opts o; /* defaults filled in */
    int draining;           /* engine closing: new requests get 503 */
    z_stream deflate;       /* shared response compressor (one loop thread) */
    int deflate_ready;
    struct ward_buf scratch; /* response body staging (JSON) */
    struct ward_buf zbuf;    /* gzip-compressed response body */
};

enum srv_conn_phase {
    SRV_PHASE_IDLE,    /* between requests (keep-alive idle timer) */
    SRV_PHASE_READING, /* a request started arriving (request timer) */
    SRV_PHASE_HELD,    /* the application has the request (no timer) */
    SRV_PHASE_CLOSING, /* no more requests: flush and close */
};

enum srv_req_state {
    SRV_REQ_NONE,
    SRV_REQ_HELD,   /* with the application */
    SRV_REQ_ZOMBIE, /* connection gone, no abort callback: freed on respond */
};

struct srv_hdr_idx {
    uint32_t name, value; /* offsets into conn->hdr */
};

struct srv_conn;

struct srv_req {
    struct srv_conn *conn;
    enum srv_req_state state;
    uint32_t url_off, path_off, query_off; /* query: key\0value\0 pairs up to hdr end */
    uint32_t query_end;
    size_t nhdrs;
    int keep_alive;
    int accept_gzip;
    int is_head;
    int body_gzip;
    int http_minor;
    size_t body_max;
    void (*abort_cb)(struct srv_req *r, void *arg);
    void *abort_arg;
};

struct srv_conn_ops {
    /* Output was queued and/or phase/want_close/read state changed. */
    void (*sync)(struct srv_conn *c);
    /* A zombie request was finally responded to: free the connection's memory. */
    void (*release)(struct srv_conn *c);
};

struct srv_conn {
    struct srv_conn_env *env;
    const struct srv_conn_ops *ops;
    void *io; /* transport */
    http_parser parser;
    enum srv_conn_phase phase;
    struct srv_req req;

    struct ward_buf in;  /* unparsed input (only while paused) */
    size_t in_off;       /* parsed prefix of in */
    struct ward_buf hdr; /* url, header names and values, query pairs, NUL-separated */
    struct srv_hdr_idx *hidx;
    size_t hidx_cap;
    size_t hdr_bytes;     /* request line + header bytes seen (431 accounting) */
    int last_cb;          /* 0 none, 1 url, 2 field, 3 value */
    struct ward_buf body; /* decoded body */
    z_stream inflate;
    int inflate_ready;
    int inflate_started;
    int inflate_done;
    size_t raw_body;     /* body bytes as received (before gzip decoding) */
    struct ward_buf out; /* response bytes not yet taken by the transport */

    int err_status;     /* engine error found inside a parser callback */
    int in_process;     /* re-entrancy guard */
    int out_blocked;    /* transport backlog: do not start new requests */
    int dead;           /* transport gone */
    int want_close;     /* close once out is flushed */
    unsigned long nreq; /* requests dispatched (restarts the idle timer) */
    int file_fd;        /* file body still to send after out; -1 none */
    uint64_t file_off;  /* next byte of it to read */
    uint64_t file_left; /* bytes of it not yet read */
    X509 *peer_cert;    /* borrowed from the TLS session */
    char peer_addr[64]; /* set by the transport */
};

void srv_conn_env_init(struct srv_conn_env *env, const struct srv_http_opts *o);
void srv_conn_env_release(struct srv_conn_env *env);

void srv_conn_init(struct srv_conn *c, struct srv_conn_env *env, const struct srv_conn_ops *ops,
                   void *io);
void srv_conn_release(struct srv_conn *c);
/* Plain request bytes from the peer. Returns 0, or WARD_ECLOSED once the connection is
 * closing (the input is ignored). */
int srv_conn_feed(struct srv_conn *c, const void *buf, size_t len);
/* Continue after out_blocked was cleared or a response was queued. */
void srv_conn_resume(struct srv_conn *c);
/* True while the transport should keep reading. */
int srv_conn_wants_input(const struct srv_conn *c);
/* The transport is gone: a held request's abort callback runs (or it turns zombie).
 * Returns 1 if the connection memory must stay until the zombie is responded to. */
int srv_conn_dead(struct srv_conn *c);
/* Engine shutdown: a held request is answered 503 and aborted; an idle connection moves to
 * CLOSING. */
void srv_conn_drain(struct srv_conn *c);
/* The transport sent the whole file body (ok) or gave up on it (!ok: the connection is
 * closing anyway): closes the file and lets the next request through. */
void srv_conn_file_done(struct srv_conn *c, int ok);
/* Engine-side error response (JSON error body) and close. */
void srv_conn_fail(struct srv_conn *c, int status);

#endif

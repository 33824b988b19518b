/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's HTTPS client: libcurl's multi-socket API driven by the agent's libuv loop
 * (one uv_poll per socket, one uv_timer), so check-in, long-poll and downloads never block
 * the loop. Policy is fixed here, not by callers: HTTPS only, TLS 1.2 minimum, peer and host
 * verification always on against an explicit trust anchor (never the system store), an
 * optional SPKI pin, no redirects, capped responses, connect / low-speed / total timeouts.
 * Proxies come from the options or HTTPS_PROXY / NO_PROXY. One client keeps connections
 * alive and reuses them across requests.
 */
#ifndef AGENT_HTTP_H
#define AGENT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "ward/buf.h"

struct agent_http;     /* opaque client; owns a curl multi handle and uv handles */
struct agent_http_req; /* opaque in-flight request; valid until its callback starts */

/* Built-in defaults, used when an option or per-request limit is 0. */
#define AGENT_HTTP_DEFAULT_CONNECT_TIMEOUT_MS 15000L
#define AGENT_HTTP_DEFAULT_TIMEOUT_MS 120000L
#define AGENT_HTTP_DEFAULT_LOW_SPEED_LIMIT 16L  /* bytes per second ... */
#define AGENT_HTTP_DEFAULT_LOW_SPEED_TIME_S 30L /* ... sustained for this long */
#define AGENT_HTTP_DEFAULT_MAX_RESPONSE ((size_t)4 * 1024 * 1024)

/* Client options. Strings and blobs are copied by agent_http_new. */
struct agent_http_opts {
    /* Trust anchor for the service, required: a CA bundle file or an in-memory PEM (the CA
     * pinned at enrollment). The system store is never consulted. */
    const char *ca_file;
    const char *ca_pem;
    size_t ca_pem_len;
    /* Extra CA bundle added to the service trust, for a TLS-inspecting proxy. This widens
     * trust; only set it when the administrator configured one. */
    const char *extra_ca_file;
    /* Optional pin of the server certificate's public key: "sha256//<base64>", several
     * separated by ';' (rotation). A mismatch fails with WARD_EPIN. */
    const char *pin;
    /* Enrollment discovery ("sha256:<hex>", kubeadm style) instead of ca_file / ca_pem:
     * the TLS handshake succeeds only if the chain the server sends contains a CA
     * certificate whose SPKI pin is this one, and the server certificate verifies against
     * that CA for the URL's host. Nothing is sent on a connection that failed the check;
     * a pin that matches no certificate fails the request with WARD_EPIN, other chain or
     * host failures with WARD_ETLS. The CA found is handed back in
     * agent_http_response.discovered_ca_pem. Excludes ca_file, ca_pem and extra_ca_file. */
    const char *discover_ca_pin;
    /* Optional client identity (mutual TLS), each as a PEM file or an in-memory PEM. */
    const char *client_cert_file;
    const char *client_cert_pem;
    size_t client_cert_pem_len;
    const char *client_key_file;
    const char *client_key_pem;
    size_t client_key_pem_len;
    /* Proxy URL "http://[user:password@]host:port" or "https://...". NULL takes
     * https_proxy / HTTPS_PROXY from the environment; "" means never use a proxy. */
    const char *proxy;
    /* Credentials for the proxy (Basic), overriding any in the URL. */
    const char *proxy_user;
    const char *proxy_password;
    /* Hosts that bypass the proxy: comma-separated names (a name matches itself and its
     * subdomains; a leading '.' is allowed), IP literals, or "*". NULL takes no_proxy /
     * NO_PROXY from the environment. */
    const char *no_proxy;
    /* CA bundle that verifies an https:// proxy itself (default: the system store). A TLS
     * failure with the proxy itself is reported as WARD_EPROXY. */
    const char *proxy_ca_file;
    /* Default limits for every request; 0 selects the AGENT_HTTP_DEFAULT_* value. */
    long connect_timeout_ms;
    long timeout_ms;
    long low_speed_limit;   /* bytes/s */
    long low_speed_time_s;  /* seconds below low_speed_limit before giving up */
    size_t max_response;    /* decoded body bytes */
    const char *user_agent; /* NULL: "ward/<version>" */
};

/* A download-to-file sink (agent/session.h builds on it): a 2xx body is written to fd
 * instead of memory, hashed with SHA-256 as it streams, and never beyond max bytes in the
 * file (offset + written); more is refused with WARD_ETOOBIG. offset is what the file held
 * before (the caller hashed it into md and asked for "Range: bytes=offset-"): a 206 answer
 * appends, a 200 answer starts the file over. Non-2xx bodies go to memory as usual. The
 * caller owns fd and md and keeps them alive until the callback. */
struct agent_http_sink {
    int fd;
    void *md; /* EVP_MD_CTX *, initialised for SHA-256 */
    uint64_t offset;
    uint64_t max;
    uint64_t written; /* filled in: bytes written by this request */
    int restarted;    /* filled in: a 200 answer made the file start over */
    int err;          /* filled in: a write error (WARD_ENOSPC, WARD_EIO) */
};

/* One request. Nothing here needs to outlive agent_http_request: it copies what it keeps. */
struct agent_http_request {
    const char *method; /* "GET", "POST", "PUT", "DELETE", "HEAD"; NULL means GET */
    const char *url;    /* must be https:// */
    /* NULL-terminated array of "Name: value" lines (no CR/LF). Values may be secrets
     * (Authorization): they are never logged. */
    const char *const *headers;
    const void *body; /* sent as-is, or gzip-compressed when gzip_body is set */
    size_t body_len;
    int gzip_body; /* compress the body with zlib and send Content-Encoding: gzip */
    /* Per-request limits: 0 = the client's value; a negative value disables that limit
     * (a long-poll wait that stays silent for minutes sets low_speed_time_s = -1). */
    long connect_timeout_ms;
    long timeout_ms;
    long low_speed_time_s;
    size_t max_response;          /* 0 = the client's value */
    struct agent_http_sink *sink; /* NULL: the body is kept in memory */
};

/* What a completion callback sees. Everything is borrowed for the duration of the callback;
 * steal `body` (ward_buf_steal) or copy fields to keep them. */
struct agent_http_response {
    /* 0 for a 2xx answer; WARD_EREDIRECT for 3xx (never followed); WARD_EHTTP for any other
     * status (status, headers and body are still filled in); otherwise the transport error:
     * WARD_ETLS, WARD_EPIN, WARD_ECONNECT, WARD_ERESOLVE, WARD_EPROXY, WARD_ETIMEDOUT,
     * WARD_ECLOSED, WARD_ETOOBIG, WARD_ECANCELED, WARD_EPROTO, WARD_ENOMEM, WARD_EIO. */
    int err;
    long status;              /* final HTTP status, 0 when none was received */
    const char *content_type; /* NULL when absent */
    const char *location;     /* Location header of a refused redirect, NULL when absent */
    long retry_after;         /* Retry-After in seconds (delta or date), -1 when absent */
    int64_t date;             /* server Date header as Unix time, 0 when absent */
    struct ward_buf body;     /* decoded body, at most the response cap */
    /* Human-readable cause for logs (curl's message or ours); "" on success. Contains no
     * header values, bodies or credentials. */
    const char *error_detail;
    long num_connects; /* new connections this request opened (0: reused one) */
    /* With discover_ca_pin: PEM of the pinned CA found in the server's chain during this
     * request's handshake; NULL otherwise (or when the connection was reused). */
    const char *discovered_ca_pem;
};

/* Called exactly once per started request: on completion, on agent_http_cancel (with
 * WARD_ECANCELED, before agent_http_cancel returns) or when the client is closed. The
 * request handle is invalid from the moment the callback starts. The callback may start
 * new requests, cancel others and close the client. */
typedef void (*agent_http_done_fn)(struct agent_http_response *resp, void *ctx);
/* Called once the client's uv handles are all closed and its memory is freed. */
typedef void (*agent_http_close_fn)(void *ctx);

/* curl_global_init, once per process (reference counted; not thread-safe: call from the
 * main thread before any other thread starts). agent_http_new calls it too. */
int agent_http_global_init(void);
void agent_http_global_cleanup(void);

/* Creates a client on `loop`. WARD_EINVAL without a trust anchor (ca_file, ca_pem or
 * discover_ca_pin), WARD_ECONFIG for an
 * unusable proxy URL, WARD_EIO when a CA file cannot be read, WARD_ENOMEM. */
int agent_http_new(uv_loop_t *loop, const struct agent_http_opts *opts, struct agent_http **out);

/* Cancels every in-flight request (callbacks with WARD_ECANCELED), closes connections and uv
 * handles; memory is freed and `cb` (may be NULL) runs from the loop once all handles are
 * closed. NULL-safe; a second call does nothing. */
void agent_http_close(struct agent_http *h, agent_http_close_fn cb, void *ctx);

/* Starts a request. On success `cb` will be called exactly once and *out (optional) is a
 * handle for agent_http_cancel. On failure (WARD_EINVAL for a non-https URL, a bad method
 * or a header with CR/LF; WARD_ESTATE on a closing client; WARD_ENOMEM) `cb` is never
 * called. */
int agent_http_request(struct agent_http *h, const struct agent_http_request *req,
                       agent_http_done_fn cb, void *ctx, struct agent_http_req **out);

/* Stops an in-flight request; its callback runs with WARD_ECANCELED before this returns.
 * NULL-safe. Must not be called on a request whose callback has started. */
void agent_http_cancel(struct agent_http_req *r);

struct agent_http_stats {
    uint64_t requests; /* requests completed (any outcome) */
    uint64_t connects; /* new connections opened; requests - connects were reuses */
    size_t in_flight;  /* requests started and not yet completed */
    size_t sockets;    /* sockets currently watched by a uv_poll */
};
void agent_http_get_stats(const struct agent_http *h, struct agent_http_stats *out);

#endif

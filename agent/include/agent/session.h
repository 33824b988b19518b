/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's one session with the service (DESIGN section 4): the device identity, the
 * one HTTPS client (agent/http.h) that the check-in, baselines, inventory and jobs share,
 * certificate renewal (a new key, a CSR, the pinned CA kept), JSON POSTs, and the
 * download-to-file sink: a file the service offers is streamed into a 0600 file, hashed
 * with SHA-256 while it streams, never written beyond the signed length, resumed with
 * Range after a transport failure (a few times), and deleted on any final failure.
 */
#ifndef AGENT_SESSION_H
#define AGENT_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "agent/http.h"
#include "agent/identity.h"

struct agent_state;
struct agent_config;
struct agent_session;
struct agent_session_dl;

int agent_session_new(uv_loop_t *loop, struct agent_state *st, const struct agent_config *cfg,
                      struct agent_session **out);
/* Loads (again) the identity from the state database and builds the client. WARD_ESTATE
 * when not enrolled, WARD_EREVOKED when re-enrollment is needed (said in the log unless
 * quiet), other errors when the identity or the client cannot be set up. */
int agent_session_load(struct agent_session *s, int quiet);
/* 1 when an identity is loaded and the client is up. */
int agent_session_ready(const struct agent_session *s);
/* NULL before a successful load. */
const struct agent_identity *agent_session_identity(const struct agent_session *s);
/* The client slot, for subsystems that take one (NULL inside while not ready). */
struct agent_http *const *agent_session_http(const struct agent_session *s);
/* 1 when the database holds another identity than the loaded one (enroll --force). */
int agent_session_identity_changed(struct agent_session *s);
/* Closes the client (in-flight requests complete with WARD_ECANCELED); load builds it
 * again. */
void agent_session_teardown(struct agent_session *s);

/* POSTs body (borrowed) as JSON to path on the service (bodies over 1 KiB gzip'd). Every
 * POST of the agent is one of these two. Fails without calling cb, as agent_http_request. */
int agent_session_post_json(struct agent_session *s, const char *path, const json_t *body,
                            agent_http_done_fn cb, void *ctx, struct agent_http_req **out);
/* The same for JSON text already serialised (len bytes, copied): gzipped says it is gzip
 * already (sent with Content-Encoding: gzip as it is); otherwise over 1 KiB is gzip'd. */
int agent_session_post(struct agent_session *s, const char *path, const void *body, size_t len,
                       int gzipped, agent_http_done_fn cb, void *ctx, struct agent_http_req **out);
/* 1 when the session is ready with the identity of device_id: work begun for one identity
 * (an inventory collected, a baseline sync) is not sent under another after re-enrollment. */
int agent_session_serves(const struct agent_session *s, const char *device_id);
/* A request of any method to path on the service (rq's url is filled in; the rest, method,
 * headers and body included, is as given): for bodies that are not JSON (EST's PKCS#10). */
int agent_session_request(struct agent_session *s, const char *path, struct agent_http_request *rq,
                          agent_http_done_fn cb, void *ctx, struct agent_http_req **out);
/* GET of path with the given limits (rq's url is filled in; the rest is as given). */
int agent_session_get(struct agent_session *s, const char *path, struct agent_http_request *rq,
                      agent_http_done_fn cb, void *ctx, struct agent_http_req **out);

/* Renewal: rc 0 when the new certificate is stored and in use (the client rebuilt); r is
 * the answer when there was one (NULL otherwise), for the caller's 401/403 handling. */
typedef void (*agent_session_renew_fn)(int rc, const struct agent_http_response *r, void *ctx);
int agent_session_renew(struct agent_session *s, agent_session_renew_fn cb, void *ctx);

/* Download of path on the service (it must start with '/': files come from the service
 * the device is enrolled with, over the same mutual TLS) into dest (created 0600; a
 * partial file from an earlier try of the same download is resumed). cb runs once: 0 when
 * dest holds exactly `length` bytes with this SHA-256 (lower-case hex); otherwise the error
 * with a reason, and dest is gone. */
typedef void (*agent_session_dl_fn)(int rc, const char *error, void *ctx);
int agent_session_download(struct agent_session *s, const char *path, const char *sha256,
                           uint64_t length, const char *dest, agent_session_dl_fn cb, void *ctx,
                           struct agent_session_dl **out);
/* Stops a download: cb runs with WARD_ECANCELED before this returns. */
void agent_session_download_cancel(struct agent_session_dl *d);

/* Frees the session (after its client's handles closed); cb may be NULL. */
void agent_session_close(struct agent_session *s, void (*cb)(void *ctx), void *ctx);

#endif

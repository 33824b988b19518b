/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's local IPC (DESIGN section 4, docs/ipc.md): the daemon answers the CLI, the
 * tray and scripts on the machine over platform/ipc.h. One JSON object per frame:
 *
 *   request  {"verb": "status", "id": 7, ...fields of the verb}
 *   answer   {"id": 7, "ok": true, "result": {...}}
 *            {"id": 7, "ok": false, "error": {"code": "unknown_verb", "message": "..."}}
 *   event    {"event": "compliance" | "restart" | "command", "data": ...}   (subscribers)
 *
 * Who may ask what is decided from the peer's OS identity (platform/ipc.h), never from the
 * request: any local user reads status and compliance, asks for a sync (rate-limited) and
 * subscribes; the user of the active graphical session (or root) answers a pending
 * restart (defer, restart_now); root alone uses the administrative verbs. Answers never
 * carry a secret: no key, token, setting parameter or command parameter.
 */
#ifndef AGENT_IPC_H
#define AGENT_IPC_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

struct agent_state;
struct agent_parts;
struct agent_ipc;

#define AGENT_IPC_MAX_REQUEST (64u * 1024) /* bytes of one request frame */
#define AGENT_IPC_MAX_CLIENTS 64
#define AGENT_IPC_IDLE_MS 30000  /* a client that sends nothing for this long is dropped */
#define AGENT_IPC_SYNC_USER_S 60 /* one sync per this many seconds per non-root user */
#define AGENT_IPC_SYNC_ALL_S 10  /* and per this many for all of them together */

struct agent_ipc_env {
    uv_loop_t *loop;
    struct agent_state *st;
    struct agent_parts *parts; /* the daemon's; borrowed, read at each request */
    const char *path;          /* socket or pipe */
    /* the administrative verb `reload` (SIGHUP's work); NULL: refused as unavailable */
    void (*reload)(void *ctx);
    void *ctx;
};

/* Listens (platform/ipc.h's checks: a squatted name fails with why). */
int agent_ipc_start(const struct agent_ipc_env *env, struct agent_ipc **out, char *why,
                    size_t whylen);
/* Stops listening, drops every client; cb (may be NULL) once all is closed. NULL-safe. */
void agent_ipc_close(struct agent_ipc *ipc, void (*cb)(void *ctx), void *ctx);

/* A parsed request. verb points into req (owned by the caller of agent_ipc_parse). */
struct agent_ipc_request {
    const struct agent_ipc_verb *verb;
    json_t *req;
    json_t *id; /* borrowed from req, or NULL */
};

/* Parses and validates one request frame against the verb's schema: 0, or a typed error
 * (code: bad_request, unknown_verb, unknown_field, bad_field; message says which). On
 * success out->req is new; on a refusal it may be too (a valid id to echo), so the caller
 * always json_decref's out->req. Shared by the daemon and the fuzz target. */
int agent_ipc_parse(const char *buf, size_t len, struct agent_ipc_request *out, char *code,
                    size_t codelen, char *msg, size_t msglen);

/* One request and its answer (blocking, for the CLI): fields (borrowed, may be NULL) are
 * the verb's; *answer is the daemon's whole answer object (new), ok or not. WARD_ENOENT /
 * WARD_ECONNECT when no daemon listens, WARD_EACCES when the endpoint is not ours to use,
 * WARD_ETIMEDOUT, WARD_EPROTO for an answer that is not a JSON object. */
int agent_ipc_call(const char *path, const char *verb, const json_t *fields, unsigned timeout_ms,
                   json_t **answer);

/* The default endpoint for a state directory: platform/ipc.h's default for the system's
 * own, else ward.sock inside the state directory (\\.\pipe\ward-<hash> on Windows), so
 * agents with their own state (tests, a second instance) never contend for one name.
 * *out new. */
int agent_ipc_default_path(const char *state_dir, char **out);

#endif

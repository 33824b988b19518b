/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Requests to the service from a worker thread. Enforcement runs happen on the thread pool
 * (they block on files and child processes), while the one HTTP client of the daemon's
 * session lives on the loop thread (DESIGN section 4). A setting that must talk to the
 * service during a run (client_cert's EST exchange) queues a call here and blocks; the loop
 * thread sends it on the session and wakes the worker with the answer. Closing fails every
 * queued or running call with WARD_ECANCELED, so no worker is left waiting.
 */
#ifndef AGENT_LOOPCALL_H
#define AGENT_LOOPCALL_H

#include <stddef.h>

#include <uv.h>

struct agent_session;
struct agent_loopcall;

struct agent_loopcall_req {
    const char *method;       /* "GET", "POST" */
    const char *path;         /* on the service, starting with '/' */
    const char *content_type; /* of body; NULL for none */
    const void *body;
    size_t len;
    size_t max_response; /* 0: the client's default cap */
    long timeout_ms;     /* 0: the client's default */
};

struct agent_loopcall_answer {
    int err;     /* as agent_http_response.err (WARD_EHTTP for a non-2xx status) */
    long status; /* HTTP status, 0 when none */
    char *body;  /* new, NUL-terminated (not counted in len); NULL when empty */
    size_t len;
};

/* sess is borrowed and must outlive the object (the daemon closes it last). */
int agent_loopcall_new(uv_loop_t *loop, struct agent_session *sess, struct agent_loopcall **out);
/* From a thread other than the loop's: runs rq on the session and blocks until it ends. The
 * return value is ans->err; WARD_ECANCELED once closing, WARD_ESTATE while the session has
 * no identity. ans is always filled in (release it). */
int agent_loopcall_run(struct agent_loopcall *lc, const struct agent_loopcall_req *rq,
                       struct agent_loopcall_answer *ans);
void agent_loopcall_answer_release(struct agent_loopcall_answer *ans);
/* Fails what is queued or running, then frees (after the async handle closed); cb may be
 * NULL. NULL-safe. */
void agent_loopcall_close(struct agent_loopcall *lc, void (*cb)(void *ctx), void *ctx);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Worker-to-loop calls on the daemon's session (agent/loopcall.h). A call lives on the
 * waiting worker's stack: the loop thread touches it only until it marks it done under the
 * mutex, after which the worker may return and the memory is gone.
 */
#define WARD_LOG_TAG "loopcall"

#include "agent/loopcall.h"

#include <stdio.h>
#include <string.h>

#include "agent/http.h"
#include "agent/session.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"
#include "ward/log.h"

struct call {
    struct call *next;
    struct agent_loopcall *lc;
    const struct agent_loopcall_req *rq;
    struct agent_loopcall_answer *ans;
    struct agent_http_req *req; /* loop thread only */
    int done;                   /* under lc->mu */
};

struct agent_loopcall {
    uv_loop_t *loop;
    struct agent_session *sess;
    uv_async_t async;
    uv_mutex_t mu;
    uv_cond_t cv;
    struct call *queue;   /* under mu: waiting for the loop */
    struct call *running; /* loop thread only: sent on the session */
    int closing;          /* under mu */
    int waiters;          /* under mu: workers inside agent_loopcall_run */
    void (*close_cb)(void *ctx);
    void *close_ctx;
};

static void complete(struct call *c, int err)
{
    struct agent_loopcall *lc = c->lc;
    uv_mutex_lock(&lc->mu);
    c->ans->err = err;
    c->done = 1;
    uv_cond_broadcast(&lc->cv);
    uv_mutex_unlock(&lc->mu);
}

static void unlink_running(struct agent_loopcall *lc, struct call *c)
{
    for (struct call **p = &lc->running; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            return;
        }
}

static void on_done(struct agent_http_response *r, void *ctx)
{
    struct call *c = ctx;
    size_t len = 0;
    unlink_running(c->lc, c);
    c->req = NULL;
    c->ans->status = r->status;
    if (r->body.len) {
        c->ans->body = ward_buf_steal(&r->body, &len);
        c->ans->len = c->ans->body ? len : 0;
    }
    complete(c, r->err);
}

static void start(struct agent_loopcall *lc, struct call *c)
{
    const struct agent_loopcall_req *rq = c->rq;
    struct agent_http_request h;
    char ct[128];
    const char *headers[2] = {NULL, NULL};
    int rc;

    if (!agent_session_ready(lc->sess)) {
        complete(c, WARD_ESTATE);
        return;
    }
    memset(&h, 0, sizeof(h));
    h.method = rq->method;
    if (rq->content_type) {
        snprintf(ct, sizeof(ct), "Content-Type: %s", rq->content_type);
        headers[0] = ct;
        h.headers = headers;
    }
    h.body = rq->body;
    h.body_len = rq->len;
    h.max_response = rq->max_response;
    h.timeout_ms = rq->timeout_ms;
    c->next = lc->running;
    lc->running = c;
    rc = agent_session_request(lc->sess, rq->path, &h, on_done, c, &c->req);
    if (rc != 0) {
        unlink_running(lc, c);
        complete(c, rc);
    }
}

static void on_async(uv_async_t *a)
{
    struct agent_loopcall *lc = a->data;
    struct call *q, *next;
    int closing;
    uv_mutex_lock(&lc->mu);
    q = lc->queue;
    lc->queue = NULL;
    closing = lc->closing;
    uv_mutex_unlock(&lc->mu);
    for (; q; q = next) {
        next = q->next; /* read before complete: the call may be gone after it */
        if (closing)
            complete(q, WARD_ECANCELED);
        else
            start(lc, q);
    }
}

int agent_loopcall_new(uv_loop_t *loop, struct agent_session *sess, struct agent_loopcall **out)
{
    struct agent_loopcall *lc;
    *out = NULL;
    if (!(lc = ward_calloc(1, sizeof(*lc))))
        return WARD_ENOMEM;
    lc->loop = loop;
    lc->sess = sess;
    if (uv_mutex_init(&lc->mu) != 0) {
        ward_free(lc);
        return WARD_EIO;
    }
    if (uv_cond_init(&lc->cv) != 0) {
        uv_mutex_destroy(&lc->mu);
        ward_free(lc);
        return WARD_EIO;
    }
    if (uv_async_init(loop, &lc->async, on_async) != 0) {
        uv_cond_destroy(&lc->cv);
        uv_mutex_destroy(&lc->mu);
        ward_free(lc);
        return WARD_EIO;
    }
    lc->async.data = lc;
    /* Idle, the handle must not keep a one-shot loop (`ward checkin`) running. */
    uv_unref((uv_handle_t *)&lc->async);
    *out = lc;
    return 0;
}

int agent_loopcall_run(struct agent_loopcall *lc, const struct agent_loopcall_req *rq,
                       struct agent_loopcall_answer *ans)
{
    struct call c;
    memset(ans, 0, sizeof(*ans));
    memset(&c, 0, sizeof(c));
    c.lc = lc;
    c.rq = rq;
    c.ans = ans;
    uv_mutex_lock(&lc->mu);
    if (lc->closing) {
        uv_mutex_unlock(&lc->mu);
        ans->err = WARD_ECANCELED;
        return ans->err;
    }
    c.next = lc->queue;
    lc->queue = &c;
    lc->waiters++;
    /* Sent under the mutex: the handle cannot be closed and freed before it (closing takes
     * the mutex, and the free waits for every waiter to leave). */
    uv_async_send(&lc->async);
    while (!c.done)
        uv_cond_wait(&lc->cv, &lc->mu);
    if (--lc->waiters == 0 && lc->closing)
        uv_cond_broadcast(&lc->cv);
    uv_mutex_unlock(&lc->mu);
    return ans->err;
}

void agent_loopcall_answer_release(struct agent_loopcall_answer *ans)
{
    if (!ans)
        return;
    ward_free(ans->body);
    memset(ans, 0, sizeof(*ans));
}

static void on_closed(uv_handle_t *h)
{
    struct agent_loopcall *lc = h->data;
    void (*cb)(void *ctx) = lc->close_cb;
    void *ctx = lc->close_ctx;
    /* Every call was completed before the close; wait for the workers to wake and leave. */
    uv_mutex_lock(&lc->mu);
    while (lc->waiters > 0)
        uv_cond_wait(&lc->cv, &lc->mu);
    uv_mutex_unlock(&lc->mu);
    uv_cond_destroy(&lc->cv);
    uv_mutex_destroy(&lc->mu);
    ward_free(lc);
    if (cb)
        cb(ctx);
}

void agent_loopcall_close(struct agent_loopcall *lc, void (*cb)(void *ctx), void *ctx)
{
    if (!lc || lc->closing)
        return;
    uv_mutex_lock(&lc->mu);
    lc->closing = 1;
    uv_mutex_unlock(&lc->mu);
    lc->close_cb = cb;
    lc->close_ctx = ctx;
    on_async(&lc->async); /* what is queued fails now */
    while (lc->running) {
        struct call *c = lc->running;
        agent_http_cancel(c->req); /* on_done runs before this returns */
        if (lc->running == c) {    /* not expected; never spin */
            unlink_running(lc, c);
            complete(c, WARD_ECANCELED);
        }
    }
    uv_close((uv_handle_t *)&lc->async, on_closed);
}

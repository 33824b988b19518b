/* SPDX-License-Identifier: Apache-2.0 */
/*
 * platform/ipc.h, the part every OS shares: frames in and out of accepted connections
 * (libuv pipes on both OSes), and the limits that keep a hostile or broken local client
 * from costing the daemon more than a bounded amount: frame size, number of clients, idle
 * time, queued output, and a bounded wait for a close to flush.
 */
#define WARD_LOG_TAG "ipc"

#include <stdint.h>
#include <string.h>

#include "../errmap.h"
#include "../ipc_os.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define IN_INITIAL 4096
#define FLUSH_MS 5000 /* a closing client that does not take its last answer */

static void server_maybe_done(struct plat_ipc_server *s)
{
    void (*cb)(void *) = s->close_cb;
    void *ctx = s->close_ctx;
    if (!s->closing || s->n_conns > 0 || s->os)
        return;
    ward_free(s->path);
    ward_free(s);
    if (cb)
        cb(ctx);
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct plat_ipc_conn *c = h->data;
    struct plat_ipc_server *s = c->srv;
    if (--c->handles > 0)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->n_conns--;
    if (c->started && s->cb.closed)
        s->cb.closed(s->cb.ctx, c);
    ward_free(c->in);
    ward_free(c);
    server_maybe_done(s);
}

static void conn_close_now(struct plat_ipc_conn *c)
{
    c->closing = 1;
    if (!uv_is_closing((uv_handle_t *)&c->pipe))
        uv_close((uv_handle_t *)&c->pipe, conn_handle_closed);
    if (!uv_is_closing((uv_handle_t *)&c->idle))
        uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
}

static void on_idle(uv_timer_t *t)
{
    struct plat_ipc_conn *c = t->data;
    if (!c->closing)
        WARD_DEBUG("ipc: dropping client %s: silent for %u ms", c->peer.name, c->srv->o.idle_ms);
    conn_close_now(c);
}

static void idle_restart(struct plat_ipc_conn *c)
{
    if (c->closing || c->keep || c->srv->o.idle_ms == 0)
        return;
    uv_timer_start(&c->idle, on_idle, c->srv->o.idle_ms, 0);
}

struct plat_ipc_conn *ipc_conn_new(struct plat_ipc_server *s)
{
    struct plat_ipc_conn *c = ward_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->srv = s;
    c->peer.uid = -1;
    c->peer.pid = -1;
    if (uv_pipe_init(s->loop, &c->pipe, 0) != 0) {
        ward_free(c);
        return NULL;
    }
    uv_timer_init(s->loop, &c->idle); /* cannot fail: no system resources */
    c->pipe.data = c;
    c->idle.data = c;
    c->handles = 2;
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->n_conns++;
    return c;
}

void ipc_conn_discard(struct plat_ipc_conn *c)
{
    conn_close_now(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct plat_ipc_conn *c = h->data;
    (void)suggested;
    if (c->in_len == c->in_cap) {
        /* only when a frame's announced length asked for more: see on_read */
        *buf = uv_buf_init(NULL, 0);
        return;
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

/* Delivers every complete frame in the buffer; grows it for a partial one. */
static void deliver(struct plat_ipc_conn *c)
{
    struct plat_ipc_server *s = c->srv;
    while (!c->closing && c->in_len >= PLAT_IPC_HDR) {
        size_t n = ipc_get_len((const unsigned char *)c->in), need = PLAT_IPC_HDR + n;
        if (n > s->o.max_frame) {
            uv_read_stop((uv_stream_t *)&c->pipe);
            s->cb.frame(s->cb.ctx, c, WARD_ETOOBIG, NULL, n);
            if (!c->closing)
                plat_ipc_conn_close(c);
            return;
        }
        if (c->in_len < need) {
            if (c->in_cap < need) {
                char *grown = ward_realloc(c->in, need);
                if (!grown) {
                    conn_close_now(c);
                    return;
                }
                c->in = grown;
                c->in_cap = need;
            }
            return;
        }
        s->cb.frame(s->cb.ctx, c, 0, c->in + PLAT_IPC_HDR, n);
        if (c->closing)
            return;
        memmove(c->in, c->in + need, c->in_len - need);
        c->in_len -= need;
        idle_restart(c);
    }
}

static void on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct plat_ipc_conn *c = st->data;
    (void)buf;
    if (n < 0) {
        conn_close_now(c); /* EOF or error: nothing more to answer */
        return;
    }
    c->in_len += (size_t)n;
    deliver(c);
}

void ipc_conn_start(struct plat_ipc_conn *c)
{
    struct plat_ipc_server *s = c->srv;
    int rc;
    if (s->closing) {
        conn_close_now(c);
        return;
    }
    if (s->n_conns > s->o.max_conns) {
        unsigned held = 0;
        if (ward_log_limit_pass(&s->refused_log, uv_now(s->loop), 10000, &held))
            WARD_WARN("ipc: refusing a client: %u clients connected already (%u more refused "
                      "in the last 10 s)",
                      s->o.max_conns, held);
        conn_close_now(c);
        return;
    }
    rc = ipc_os_peer(c, &c->peer);
    if (rc != 0) {
        WARD_LOG_WARN_ERR(rc, "ipc: refusing a client whose identity cannot be established");
        conn_close_now(c);
        return;
    }
    c->in = ward_malloc(IN_INITIAL);
    if (!c->in) {
        conn_close_now(c);
        return;
    }
    c->in_cap = IN_INITIAL;
    c->started = 1;
    if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) != 0) {
        conn_close_now(c);
        return;
    }
    idle_restart(c);
}

int plat_ipc_listen(uv_loop_t *loop, const struct plat_ipc_server_opts *o,
                    const struct plat_ipc_server_cb *cb, struct plat_ipc_server **out, char *why,
                    size_t whylen)
{
    struct plat_ipc_server *s;
    int rc;
    *out = NULL;
    if (why && whylen)
        why[0] = '\0';
    if (!o->path || !o->path[0] || !cb->frame || o->max_frame == 0 ||
        o->max_frame > PLAT_IPC_FRAME_LIMIT || o->max_conns == 0)
        return WARD_EINVAL;
    s = ward_calloc(1, sizeof(*s));
    if (!s)
        return WARD_ENOMEM;
    s->loop = loop;
    s->o = *o;
    s->cb = *cb;
    s->path = ward_strdup(o->path);
    if (!s->path) {
        ward_free(s);
        return WARD_ENOMEM;
    }
    s->o.path = s->path;
    rc = ipc_os_listen(s, why, whylen);
    if (rc != 0) {
        ward_free(s->path);
        ward_free(s);
        return rc;
    }
    *out = s;
    return 0;
}

void ipc_os_closed(struct plat_ipc_server *s)
{
    s->os = NULL;
    server_maybe_done(s);
}

void plat_ipc_close(struct plat_ipc_server *s, void (*cb)(void *ctx), void *ctx)
{
    if (!s || s->closing)
        return;
    s->closing = 1;
    s->close_cb = cb;
    s->close_ctx = ctx;
    for (struct plat_ipc_conn *c = s->conns; c; c = c->next)
        conn_close_now(c);
    if (s->os)
        ipc_os_close(s); /* calls ipc_os_closed, which may finish */
    else
        server_maybe_done(s);
}

unsigned plat_ipc_conn_count(const struct plat_ipc_server *s)
{
    return s ? s->n_conns : 0;
}

const struct plat_ipc_peer *plat_ipc_conn_peer(const struct plat_ipc_conn *c)
{
    return &c->peer;
}

void plat_ipc_conn_set_data(struct plat_ipc_conn *c, void *data)
{
    c->data = data;
}

void *plat_ipc_conn_data(const struct plat_ipc_conn *c)
{
    return c->data;
}

static void on_written(uv_write_t *w, int status)
{
    (void)status; /* a failed write shows as a read error or EOF */
    ward_free(w);
}

int plat_ipc_send(struct plat_ipc_conn *c, const char *buf, size_t len)
{
    uv_write_t *w;
    unsigned char *p;
    uv_buf_t b;
    int r;
    if (c->closing)
        return WARD_ECANCELED;
    if (len > PLAT_IPC_FRAME_LIMIT)
        return WARD_ETOOBIG;
    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->pipe) + len > PLAT_IPC_OUT_LIMIT) {
        WARD_WARN("ipc: dropping client %s: it does not read what it asked for", c->peer.name);
        conn_close_now(c);
        return WARD_EBUSY;
    }
    w = ward_malloc(sizeof(*w) + PLAT_IPC_HDR + len);
    if (!w)
        return WARD_ENOMEM;
    p = (unsigned char *)(w + 1);
    ipc_put_len(p, len);
    if (len)
        memcpy(p + PLAT_IPC_HDR, buf, len);
    b = uv_buf_init((char *)p, (unsigned)(PLAT_IPC_HDR + len));
    r = uv_write(w, (uv_stream_t *)&c->pipe, &b, 1, on_written);
    if (r != 0) {
        ward_free(w);
        conn_close_now(c);
        return plat_err_from_uv(r);
    }
    return 0;
}

void plat_ipc_conn_keep(struct plat_ipc_conn *c, int keep)
{
    c->keep = keep;
    if (keep)
        uv_timer_stop(&c->idle);
    else
        idle_restart(c);
}

static void on_flush_timeout(uv_timer_t *t)
{
    conn_close_now(t->data);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct plat_ipc_conn *c = req->data;
    (void)status;
    ward_free(req);
    conn_close_now(c);
}

void plat_ipc_conn_close(struct plat_ipc_conn *c)
{
    uv_shutdown_t *req;
    if (c->closing)
        return;
    c->closing = 1;
    uv_read_stop((uv_stream_t *)&c->pipe);
    req = ward_calloc(1, sizeof(*req));
    if (req) {
        req->data = c;
        if (uv_shutdown(req, (uv_stream_t *)&c->pipe, on_shutdown) == 0) {
            uv_timer_start(&c->idle, on_flush_timeout, FLUSH_MS, 0);
            return;
        }
        ward_free(req);
    }
    conn_close_now(c);
}

/* ---- the blocking client's frames (the transport is the OS layer's) ----------------------- */

static int64_t deadline_of(unsigned timeout_ms)
{
    return timeout_ms ? ipc_now_ms() + (int64_t)timeout_ms : 0;
}

int plat_ipc_client_send(struct plat_ipc_client *c, const char *buf, size_t len,
                         unsigned timeout_ms)
{
    unsigned char hdr[PLAT_IPC_HDR];
    int64_t deadline = deadline_of(timeout_ms);
    int rc;
    if (len > PLAT_IPC_FRAME_LIMIT)
        return WARD_ETOOBIG;
    ipc_put_len(hdr, len);
    rc = ipc_os_client_io(c, 1, hdr, sizeof(hdr), deadline);
    return rc != 0 ? rc : ipc_os_client_io(c, 1, (unsigned char *)(uintptr_t)buf, len, deadline);
}

int plat_ipc_client_recv(struct plat_ipc_client *c, size_t max, unsigned timeout_ms, char **buf,
                         size_t *len)
{
    unsigned char hdr[PLAT_IPC_HDR];
    int64_t deadline = deadline_of(timeout_ms);
    size_t n;
    char *p;
    int rc;
    *buf = NULL;
    *len = 0;
    rc = ipc_os_client_io(c, 0, hdr, sizeof(hdr), deadline);
    if (rc != 0)
        return rc;
    n = ipc_get_len(hdr);
    if (n > max || n > PLAT_IPC_FRAME_LIMIT)
        return WARD_ETOOBIG;
    p = ward_malloc(n + 1);
    if (!p)
        return WARD_ENOMEM;
    rc = ipc_os_client_io(c, 0, (unsigned char *)p, n, deadline);
    if (rc != 0) {
        ward_free(p);
        return rc;
    }
    p[n] = '\0';
    *buf = p;
    *len = n;
    return 0;
}

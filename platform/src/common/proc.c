/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child processes on libuv, shared by every OS. One struct plat_proc owns the OS half's
 * watch handle (proc_os.h: the child's exit), up to three pipes and one timer (timeout, then kill
 * grace, then the drain limit after exit, then retries while the child's cgroup empties). The
 * result is delivered from the close callback of the last handle, so the user's callback runs
 * exactly once and nothing touches freed memory afterwards. Each output stream keeps a head (a
 * capped ward_buf) and optionally a tail (a fixed ring buffer), so memory is bounded by
 * construction whatever the child writes.
 */
#define WARD_LOG_TAG "proc"

#include <stddef.h>
#include <string.h>

#include "../errmap.h"
#include "../proc_os.h"
#include "platform/proc.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"
#include "ward/log.h"

/* After the child exits, how long descendants may keep its pipes open before we stop
 * reading (a daemonising grandchild must not hold the result back forever). */
#define PROC_DRAIN_MS 500
#define PROC_READ_CHUNK 65536
/* While the child's cgroup still has dying members: retry removal this often, this long. */
#define PROC_CGROUP_RETRY_MS 10
#define PROC_CGROUP_RETRIES 200

enum proc_timer_phase {
    PHASE_TIMEOUT = 0, /* waiting for the timeout */
    PHASE_GRACE,       /* soft kill sent; hard kill when this fires */
    PHASE_DRAIN,       /* child exited; pipes get PROC_DRAIN_MS more */
    PHASE_CLEANUP,     /* pipes done; waiting for the child's cgroup to empty */
};

struct proc_stream {
    uv_pipe_t pipe;
    struct ward_buf buf; /* the head; buf.max is its cap */
    int head_closed;     /* head full (or out of memory): later bytes go to the tail */
    char *ring;          /* the tail, ring_cap bytes, allocated on first use */
    size_t ring_cap;
    size_t ring_len; /* bytes held, <= ring_cap */
    size_t ring_pos; /* where the next byte goes */
    uint64_t total;  /* bytes read from the pipe */
    int truncated;   /* reading stopped before EOF */
    int eof;
};

struct plat_proc {
    uv_loop_t *loop;
    uv_timer_t timer;
    uv_pipe_t in;
    uv_write_t in_req;
    uv_buf_t in_buf;
    char *in_data;
    struct proc_stream out;
    struct proc_stream err;
    struct plat_proc_os os;
    char read_scratch[PROC_READ_CHUNK];

    plat_proc_done_fn done;
    void *ctx;
    int open_handles;
    int started; /* the child was started: the result is delivered */
    int exited;
    int cleanup_tries;
    int killing; /* a kill sequence has begun */
    enum proc_timer_phase phase;
    int timed_out;
    int has_stdin;
    int64_t exit_status;
    int term_signal;
    uint64_t grace_ms;
    int pid;
};

/* Appends the ring's content, oldest byte first, to the head. */
static int stream_join_tail(struct proc_stream *s)
{
    size_t start = (s->ring_pos + s->ring_cap - s->ring_len) % s->ring_cap;
    size_t first = s->ring_cap - start < s->ring_len ? s->ring_cap - start : s->ring_len;
    int rc;
    s->buf.max = s->buf.len + s->ring_len; /* the head's cap has done its job */
    rc = ward_buf_append(&s->buf, s->ring + start, first);
    if (rc == 0)
        rc = ward_buf_append(&s->buf, s->ring, s->ring_len - first);
    return rc;
}

/* Head + tail into the result fields of one stream. NULL *out: out of memory. */
static void stream_result(struct plat_proc *p, struct proc_stream *s, char **out, size_t *len,
                          size_t *head_len, uint64_t *total, uint64_t *dropped, int *truncated)
{
    size_t head = s->buf.len;
    if (s->ring_len > 0 && stream_join_tail(s) != 0) {
        /* The head may have taken part of the tail: cut back to the head alone. */
        s->buf.len = head;
        if (s->buf.data)
            s->buf.data[head] = '\0';
        s->ring_len = 0;
        WARD_LOG_WARN_ERR(WARD_ENOMEM, "child %d: output tail lost", p->pid);
    }
    *out = ward_buf_steal(&s->buf, len);
    *head_len = head;
    *total = s->total;
    *dropped = s->total - (uint64_t)head - (uint64_t)s->ring_len;
    *truncated = s->truncated || *dropped > 0;
}

static void proc_deliver(struct plat_proc *p)
{
    struct plat_proc_result res;
    memset(&res, 0, sizeof(res));
    if (p->started) {
        res.exit_status = p->exit_status;
        res.term_signal = p->term_signal;
        res.timed_out = p->timed_out;
        stream_result(p, &p->out, &res.out, &res.out_len, &res.out_head_len, &res.out_total,
                      &res.out_dropped, &res.out_truncated);
        stream_result(p, &p->err, &res.err, &res.err_len, &res.err_head_len, &res.err_total,
                      &res.err_dropped, &res.err_truncated);
        if (!res.out || !res.err) {
            /* Out of memory for an empty string: report empty output, still call once. */
            ward_free(res.out);
            ward_free(res.err);
            res.out = res.err = NULL;
            res.out_len = res.err_len = res.out_head_len = res.err_head_len = 0;
            res.out_dropped = res.out_total;
            res.err_dropped = res.err_total;
            res.out_truncated = res.out_total > 0;
            res.err_truncated = res.err_total > 0;
            WARD_LOG_WARN_ERR(WARD_ENOMEM, "child %d output lost", p->pid);
        }
        res.limit_exceeded = p->os.limit_exceeded;
        res.limits_mechanism = p->os.mechanism ? p->os.mechanism : "none";
        p->done((struct plat_proc *)p, &res, p->ctx);
        plat_proc_result_release(&res);
    }
    ward_buf_release(&p->out.buf);
    ward_buf_release(&p->err.buf);
    ward_free(p->out.ring);
    ward_free(p->err.ring);
    plat_proc_os_release(&p->os);
    ward_free(p->in_data);
    ward_free(p);
}

static void on_close(uv_handle_t *h)
{
    struct plat_proc *p = h->data;
    if (--p->open_handles == 0)
        proc_deliver(p);
}

static void close_handle(uv_handle_t *h)
{
    if (h->data && !uv_is_closing(h))
        uv_close(h, on_close);
}

static void start_timer(struct plat_proc *p, enum proc_timer_phase phase, uint64_t ms);

static void proc_maybe_finish(struct plat_proc *p)
{
    if (!p->exited || !p->out.eof || !p->err.eof)
        return;
    /* The child's cgroup goes before the result: its members may still be dying. */
    if (plat_proc_os_cleanup(&p->os) == WARD_EAGAIN && ++p->cleanup_tries <= PROC_CGROUP_RETRIES) {
        start_timer(p, PHASE_CLEANUP, PROC_CGROUP_RETRY_MS);
        return;
    }
    close_handle((uv_handle_t *)&p->timer);
    close_handle((uv_handle_t *)&p->in);
    close_handle((uv_handle_t *)&p->os.watch);
}

static void stream_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct plat_proc *p = h->data;
    (void)suggested;
    /* One scratch buffer serves both pipes: libuv consumes it before the next alloc. */
    buf->base = p->read_scratch;
    buf->len = sizeof(p->read_scratch);
}

/* Keeps the last ring_cap bytes seen. */
static void ring_push(struct plat_proc *p, struct proc_stream *s, const char *src, size_t n)
{
    size_t first;
    if (s->ring_cap == 0)
        return; /* no tail asked for: dropped */
    if (!s->ring && !(s->ring = ward_malloc(s->ring_cap))) {
        WARD_LOG_WARN_ERR(WARD_ENOMEM, "child %d: no room for the output tail", p->pid);
        s->ring_cap = 0;
        return;
    }
    if (n >= s->ring_cap) {
        memcpy(s->ring, src + (n - s->ring_cap), s->ring_cap);
        s->ring_pos = 0;
        s->ring_len = s->ring_cap;
        return;
    }
    first = s->ring_cap - s->ring_pos < n ? s->ring_cap - s->ring_pos : n;
    memcpy(s->ring + s->ring_pos, src, first);
    memcpy(s->ring, src + first, n - first);
    s->ring_pos = (s->ring_pos + n) % s->ring_cap;
    s->ring_len = s->ring_len + n < s->ring_cap ? s->ring_len + n : s->ring_cap;
}

static void stream_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct plat_proc *p = st->data;
    struct proc_stream *s = st == (uv_stream_t *)&p->out.pipe ? &p->out : &p->err;
    if (n > 0) {
        const char *src = buf->base;
        size_t len = (size_t)n;
        s->total += len;
        if (!s->head_closed) {
            size_t room = s->buf.max - s->buf.len;
            size_t take = len < room ? len : room;
            /* Out of memory: the head ends here and the rest counts as past it. */
            if (take > 0 && ward_buf_append(&s->buf, src, take) != 0) {
                take = 0;
                s->head_closed = 1;
            }
            if (s->buf.len == s->buf.max)
                s->head_closed = 1;
            src += take;
            len -= take;
        }
        if (len > 0)
            ring_push(p, s, src, len);
        return;
    }
    if (n == 0)
        return;
    /* UV_EOF or a read error: this stream is done. */
    uv_read_stop(st);
    s->eof = 1;
    close_handle((uv_handle_t *)st);
    proc_maybe_finish(p);
}

static void on_timer(uv_timer_t *t);

static void start_timer(struct plat_proc *p, enum proc_timer_phase phase, uint64_t ms)
{
    uv_timer_stop(&p->timer);
    p->phase = phase;
    uv_timer_start(&p->timer, on_timer, ms, 0);
}

static void begin_kill(struct plat_proc *p)
{
    int no_soft;
    if (p->exited || p->killing)
        return;
    p->killing = 1;
    no_soft = plat_proc_os_kill(&p->os, p->pid, 0);
    if (no_soft)
        uv_timer_stop(&p->timer);
    else
        start_timer(p, PHASE_GRACE, p->grace_ms);
}

static void on_timer(uv_timer_t *t)
{
    struct plat_proc *p = t->data;
    switch (p->phase) {
    case PHASE_TIMEOUT:
        WARD_INFO("child %d timed out, terminating", p->pid);
        p->timed_out = 1;
        begin_kill(p);
        break;
    case PHASE_GRACE:
        WARD_INFO("child %d ignored the soft kill, killing", p->pid);
        plat_proc_os_kill(&p->os, p->pid, 1);
        break;
    case PHASE_CLEANUP:
        proc_maybe_finish(p);
        break;
    case PHASE_DRAIN:
        /* Descendants still hold the pipes: stop reading and report what we have. */
        if (!p->out.eof) {
            p->out.eof = 1;
            p->out.truncated = 1;
            close_handle((uv_handle_t *)&p->out.pipe);
        }
        if (!p->err.eof) {
            p->err.eof = 1;
            p->err.truncated = 1;
            close_handle((uv_handle_t *)&p->err.pipe);
        }
        proc_maybe_finish(p);
        break;
    }
}

static void on_exit(struct plat_proc_os *os, int64_t status, int term_signal)
{
    struct plat_proc *p = (struct plat_proc *)((char *)os - offsetof(struct plat_proc, os));
    p->exited = 1;
    p->exit_status = status;
    p->term_signal = term_signal;
    /* Also kills what the child left in its cgroup, so the pipes those hold close. */
    plat_proc_os_exited(&p->os, term_signal, p->killing);
    close_handle((uv_handle_t *)&p->in);
    if (p->out.eof && p->err.eof)
        proc_maybe_finish(p);
    else
        start_timer(p, PHASE_DRAIN, PROC_DRAIN_MS);
}

static void on_stdin_written(uv_write_t *req, int status)
{
    struct plat_proc *p = req->data;
    if (status != 0 && status != UV_EPIPE && status != UV_ECANCELED)
        WARD_DEBUG("child %d stdin: %s", p->pid, uv_strerror(status));
    close_handle((uv_handle_t *)&p->in);
}

static int check_opts(const struct plat_proc_opts *o)
{
    int rc;
    if (!o || !o->argv || !o->argv[0])
        return WARD_EINVAL;
    if (!o->stdin_data && o->stdin_len)
        return WARD_EINVAL;
    if (o->stdin_len > UINT32_MAX)
        return WARD_ETOOBIG; /* uv_buf_t.len is 32 bits on Windows */
    if ((rc = plat_proc_os_check_exe(o->argv[0])) != 0 || (rc = plat_proc_os_check_opts(o)) != 0)
        return rc;
    /* Touches the filesystem, so last: a cgroup parent that cannot work fails here, before
     * anything runs, rather than after the child has started. */
    return plat_proc_os_check_cgroup(o);
}

static int stream_init(struct plat_proc *p, struct proc_stream *s, size_t max, size_t tail)
{
    int rc = uv_pipe_init(p->loop, &s->pipe, 0);
    if (rc != 0)
        return plat_err_from_uv(rc);
    s->pipe.data = p;
    p->open_handles++;
    ward_buf_init(&s->buf, max ? max : PLAT_PROC_DEFAULT_CAP);
    s->ring_cap = tail;
    return 0;
}

int plat_proc_spawn(uv_loop_t *loop, const struct plat_proc_opts *opts, plat_proc_done_fn done,
                    void *ctx, struct plat_proc **out)
{
    struct plat_proc *p = NULL;
    char **env = NULL;
    int watch_open = 0, rc;

    if (out)
        *out = NULL;
    if (!loop || !done)
        return WARD_EINVAL;
    rc = check_opts(opts);
    if (rc != 0)
        return rc;
    rc = plat_proc_os_env(opts->env, &env);
    if (rc != 0)
        return rc;
    p = ward_calloc(1, sizeof(*p));
    if (!p) {
        rc = WARD_ENOMEM;
        goto out;
    }
    p->loop = loop;
    p->done = done;
    p->ctx = ctx;
    p->grace_ms = opts->kill_grace_ms ? opts->kill_grace_ms : PLAT_PROC_DEFAULT_GRACE_MS;
    if (opts->stdin_data) {
        p->in_data = ward_malloc(opts->stdin_len ? opts->stdin_len : 1);
        if (!p->in_data) {
            rc = WARD_ENOMEM;
            goto fail_free;
        }
        memcpy(p->in_data, opts->stdin_data, opts->stdin_len);
        p->has_stdin = 1;
        plat_proc_os_init();
    }

    /* From here on every initialised handle must be closed, even if the spawn fails; p is
     * freed by the last close callback (without calling done unless started). */
    rc = uv_timer_init(loop, &p->timer);
    if (rc != 0) {
        rc = plat_err_from_uv(rc);
        goto fail_free;
    }
    p->timer.data = p;
    p->open_handles++;
    if ((rc = stream_init(p, &p->out, opts->stdout_max, opts->stdout_tail)) != 0 ||
        (rc = stream_init(p, &p->err, opts->stderr_max, opts->stderr_tail)) != 0)
        goto fail_close;
    if (p->has_stdin) {
        rc = uv_pipe_init(loop, &p->in, 0);
        if (rc != 0) {
            rc = plat_err_from_uv(rc);
            goto fail_close;
        }
        p->in.data = p;
        p->open_handles++;
    }

    rc = plat_proc_os_start(&p->os, loop, opts, env, p->has_stdin ? &p->in : NULL, &p->out.pipe,
                            &p->err.pipe, on_exit, p, &watch_open);
    if (watch_open)
        p->open_handles++;
    if (rc != 0) {
        WARD_DEBUG("spawn %s: %s", opts->argv[0], ward_err_name(rc));
        goto fail_close;
    }
    p->pid = p->os.pid;
    p->started = 1;
    rc = 0;

    uv_read_start((uv_stream_t *)&p->out.pipe, stream_alloc, stream_read);
    uv_read_start((uv_stream_t *)&p->err.pipe, stream_alloc, stream_read);
    if (p->has_stdin) {
        p->in_buf = uv_buf_init(p->in_data, (unsigned int)opts->stdin_len);
        p->in_req.data = p;
        if (uv_write(&p->in_req, (uv_stream_t *)&p->in, &p->in_buf, 1, on_stdin_written) != 0)
            close_handle((uv_handle_t *)&p->in);
    }
    if (opts->timeout_ms)
        start_timer(p, PHASE_TIMEOUT, opts->timeout_ms);
    if (out)
        *out = p;
    goto out;

fail_close:
    p->started = 0;
    close_handle((uv_handle_t *)&p->timer);
    close_handle((uv_handle_t *)&p->out.pipe);
    close_handle((uv_handle_t *)&p->err.pipe);
    close_handle((uv_handle_t *)&p->in);
    if (watch_open)
        close_handle((uv_handle_t *)&p->os.watch);
    p = NULL;
    goto out;
fail_free:
    ward_free(p->in_data);
    ward_free(p);
out:
    plat_proc_os_env_free(env);
    return rc;
}

void plat_proc_kill(struct plat_proc *p)
{
    if (p)
        begin_kill(p);
}

int plat_proc_pid(const struct plat_proc *p)
{
    return p ? p->pid : 0;
}

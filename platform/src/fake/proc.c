/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fake proc: plat_proc_spawn validates its options like the real one (absolute path,
 * environment entries), records the call, and answers from the scripted replies. The
 * answer is delivered asynchronously from a zero-delay timer on the caller's loop, so the
 * exactly-once and never-on-failure callback rules hold as they do for real children.
 * Run-as and limit options are checked by the same pure rules as the real ones (no
 * filesystem look at cgroup_parent) and recorded; nothing is enforced.
 */
#include <string.h>

#include <uv.h>

#include "../proc_os.h"
#include "fake_internal.h"
#include "platform/fake.h"
#include "platform/proc.h"
#include "ward/alloc.h"
#include "ward/error.h"

struct fake_reply {
    struct plat_fake_proc_reply r; /* strings below are owned copies */
    char *argv0;
    char *out;
    char *err;
    struct fake_reply *next;
};

struct plat_proc {
    uv_timer_t timer;
    plat_proc_done_fn done;
    void *ctx;
    struct plat_proc_result res;
    int pid;
};

static struct fake_reply *replies;
static struct plat_fake_proc_call *calls;
static size_t n_calls, cap_calls;
static int next_pid = 40000;

static void free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        ward_free(v[i]);
    ward_free(v);
}

static char **copy_strv(const char *const *v, int *rc)
{
    size_t n = 0;
    char **c;
    while (v && v[n])
        n++;
    c = ward_calloc(n + 1, sizeof(*c));
    if (!c) {
        *rc = WARD_ENOMEM;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!(c[i] = ward_strdup(v[i]))) {
            free_strv(c);
            *rc = WARD_ENOMEM;
            return NULL;
        }
    }
    return c;
}

static void free_reply(struct fake_reply *r)
{
    if (!r)
        return;
    ward_free(r->argv0);
    ward_free(r->out);
    ward_free(r->err);
    ward_free(r);
}

int plat_fake_proc_expect_reply(const struct plat_fake_proc_reply *reply)
{
    struct fake_reply *r, **tail;
    size_t out_len;
    if (!reply)
        return WARD_EINVAL;
    r = ward_calloc(1, sizeof(*r));
    if (!r)
        return WARD_ENOMEM;
    r->r = *reply;
    out_len = reply->out ? (reply->out_len ? reply->out_len : strlen(reply->out)) : 0;
    r->r.out_len = out_len;
    if ((reply->argv0 && !(r->argv0 = ward_strdup(reply->argv0))) ||
        !(r->out = ward_malloc(out_len + 1)) ||
        (reply->err && !(r->err = ward_strdup(reply->err)))) {
        free_reply(r);
        return WARD_ENOMEM;
    }
    if (out_len)
        memcpy(r->out, reply->out, out_len);
    r->out[out_len] = '\0';
    for (tail = &replies; *tail; tail = &(*tail)->next)
        ;
    *tail = r;
    return 0;
}

int plat_fake_proc_expect(const char *argv0, int64_t exit_status, const char *out)
{
    struct plat_fake_proc_reply r = {.argv0 = argv0, .exit_status = exit_status, .out = out};
    return plat_fake_proc_expect_reply(&r);
}

size_t plat_fake_proc_pending(void)
{
    size_t n = 0;
    for (struct fake_reply *r = replies; r; r = r->next)
        n++;
    return n;
}

size_t plat_fake_proc_call_count(void)
{
    return n_calls;
}

const struct plat_fake_proc_call *plat_fake_proc_call_get(size_t i)
{
    return i < n_calls ? &calls[i] : NULL;
}

static void release_call(struct plat_fake_proc_call *c)
{
    free_strv(c->argv);
    free_strv(c->env);
    ward_free(c->cwd);
    ward_free(c->stdin_data);
    ward_free(c->cgroup_parent);
    memset(c, 0, sizeof(*c));
}

void plat_fake_reset(void)
{
    while (replies) {
        struct fake_reply *n = replies->next;
        free_reply(replies);
        replies = n;
    }
    for (size_t i = 0; i < n_calls; i++)
        release_call(&calls[i]);
    ward_free(calls);
    calls = NULL;
    n_calls = cap_calls = 0;
    plat_fake_sysinfo_reset();
}

static int record_call(const struct plat_proc_opts *o, struct plat_fake_proc_call **out)
{
    struct plat_fake_proc_call c;
    int rc = 0;
    memset(&c, 0, sizeof(c));
    if (n_calls == cap_calls) {
        size_t ncap = cap_calls ? cap_calls * 2 : 8;
        struct plat_fake_proc_call *p = ward_realloc(calls, ncap * sizeof(*p));
        if (!p)
            return WARD_ENOMEM;
        calls = p;
        cap_calls = ncap;
    }
    c.argv = copy_strv(o->argv, &rc);
    if (c.argv)
        c.env = copy_strv(o->env, &rc);
    if (rc == 0 && o->cwd && !(c.cwd = ward_strdup(o->cwd)))
        rc = WARD_ENOMEM;
    if (rc == 0 && o->cgroup_parent && !(c.cgroup_parent = ward_strdup(o->cgroup_parent)))
        rc = WARD_ENOMEM;
    if (rc == 0 && o->stdin_data) {
        c.stdin_data = ward_malloc(o->stdin_len + 1);
        if (!c.stdin_data) {
            rc = WARD_ENOMEM;
        } else {
            memcpy(c.stdin_data, o->stdin_data, o->stdin_len);
            c.stdin_data[o->stdin_len] = '\0';
            c.stdin_len = o->stdin_len;
        }
    }
    if (rc != 0) {
        release_call(&c);
        return rc;
    }
    c.timeout_ms = o->timeout_ms;
    c.kill_grace_ms = o->kill_grace_ms;
    c.stdout_max = o->stdout_max;
    c.stderr_max = o->stderr_max;
    c.stdout_tail = o->stdout_tail;
    c.stderr_tail = o->stderr_tail;
    c.run_as = o->run_as;
    c.uid = o->uid;
    c.gid = o->gid;
    c.cpu_seconds = o->cpu_seconds;
    c.memory_bytes = o->memory_bytes;
    calls[n_calls] = c;
    *out = &calls[n_calls++];
    return 0;
}

static struct fake_reply *take_reply(const char *argv0)
{
    for (struct fake_reply **pp = &replies; *pp; pp = &(*pp)->next) {
        struct fake_reply *r = *pp;
        if (!r->argv0 || strcmp(r->argv0, argv0) == 0) {
            *pp = r->next;
            return r;
        }
    }
    return NULL;
}

/* Output as the real library reports it: the first max bytes, then up to tail bytes of
 * the end, with the counters and the truncation flag. */
static int capture(const char *src, size_t len, size_t max, size_t tail, char **dst, size_t *dlen,
                   size_t *head_len, uint64_t *total, uint64_t *dropped, int *trunc)
{
    size_t head, keep_tail;
    if (!max)
        max = PLAT_PROC_DEFAULT_CAP;
    head = len < max ? len : max;
    keep_tail = len - head < tail ? len - head : tail;
    *dst = ward_malloc(head + keep_tail + 1);
    if (!*dst)
        return WARD_ENOMEM;
    if (head)
        memcpy(*dst, src, head);
    if (keep_tail)
        memcpy(*dst + head, src + (len - keep_tail), keep_tail);
    (*dst)[head + keep_tail] = '\0';
    *dlen = head + keep_tail;
    *head_len = head;
    *total = len;
    *dropped = len - head - keep_tail;
    *trunc = *dropped > 0;
    return 0;
}

static const char *mechanism_for(const struct plat_proc_opts *o)
{
    if (o->cgroup_parent)
        return "cgroup";
    return o->cpu_seconds || o->memory_bytes ? "rlimit" : "none";
}

static void fake_closed(uv_handle_t *h)
{
    struct plat_proc *p = h->data;
    p->done(p, &p->res, p->ctx);
    plat_proc_result_release(&p->res);
    ward_free(p);
}

static void fake_fire(uv_timer_t *t)
{
    uv_close((uv_handle_t *)t, fake_closed);
}

int plat_proc_spawn(uv_loop_t *loop, const struct plat_proc_opts *opts, plat_proc_done_fn done,
                    void *ctx, struct plat_proc **out)
{
    struct plat_fake_proc_call *call = NULL;
    struct fake_reply *r = NULL;
    struct plat_proc *p = NULL;
    char **env = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (!loop || !done || !opts || !opts->argv || !opts->argv[0] ||
        (!opts->stdin_data && opts->stdin_len))
        return WARD_EINVAL;
    rc = plat_proc_os_check_exe(opts->argv[0]);
    if (rc == 0)
        rc = plat_proc_os_check_opts(opts);
    if (rc != 0)
        return rc;
    rc = plat_proc_os_env(opts->env, &env); /* same validation as the real one */
    plat_proc_os_env_free(env);
    if (rc != 0)
        return rc;
    rc = record_call(opts, &call);
    if (rc != 0)
        return rc;
    r = take_reply(opts->argv[0]);
    if (!r)
        return WARD_ESPAWN; /* unexpected program: recorded, not answered */
    call->answered = 1;
    if (r->r.spawn_error) {
        rc = r->r.spawn_error;
        goto out;
    }
    p = ward_calloc(1, sizeof(*p));
    if (!p) {
        rc = WARD_ENOMEM;
        goto out;
    }
    p->done = done;
    p->ctx = ctx;
    p->pid = next_pid++;
    p->res.exit_status = r->r.exit_status;
    p->res.term_signal = r->r.term_signal;
    p->res.timed_out = r->r.timed_out;
    p->res.limit_exceeded = r->r.limit_exceeded;
    p->res.limits_mechanism = r->r.limits_mechanism ? r->r.limits_mechanism : mechanism_for(opts);
    rc = capture(r->out, r->r.out_len, opts->stdout_max, opts->stdout_tail, &p->res.out,
                 &p->res.out_len, &p->res.out_head_len, &p->res.out_total, &p->res.out_dropped,
                 &p->res.out_truncated);
    if (rc == 0)
        rc = capture(r->err ? r->err : "", r->err ? strlen(r->err) : 0, opts->stderr_max,
                     opts->stderr_tail, &p->res.err, &p->res.err_len, &p->res.err_head_len,
                     &p->res.err_total, &p->res.err_dropped, &p->res.err_truncated);
    if (rc == 0 && uv_timer_init(loop, &p->timer) != 0)
        rc = WARD_ESPAWN;
    if (rc != 0) {
        plat_proc_result_release(&p->res);
        ward_free(p);
        goto out;
    }
    p->timer.data = p;
    uv_timer_start(&p->timer, fake_fire, 0, 0);
    if (out)
        *out = p;
out:
    free_reply(r);
    return rc;
}

void plat_proc_kill(struct plat_proc *p)
{
    /* Not delivered yet (it is delivered from the loop): report it as killed. */
    if (p && !p->res.term_signal && !p->res.timed_out) {
        p->res.term_signal = 9;
        p->res.exit_status = 0;
    }
}

int plat_proc_pid(const struct plat_proc *p)
{
    return p ? p->pid : 0;
}

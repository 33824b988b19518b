/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The daemon's local IPC (agent/ipc.h, docs/ipc.md): one table of verbs, each with the
 * fields it takes and who may use it; requests are validated against it before anything
 * runs, and every answer is built from the state database and the live parts, on the loop
 * thread. The one blocking question, whether the peer is the user of the active session
 * (logind over D-Bus), is asked on a uv_queue_work thread; a client that leaves meanwhile
 * is remembered as gone and never answered.
 */
#define WARD_LOG_TAG "ipc"

#include "agent/ipc.h"

#include <stdio.h>
#include <string.h>

#include "agent/baselines.h"
#include "agent/checkin.h"
#include "agent/daemon.h"
#include "agent/jobs.h"
#include "agent/state.h"
#include "agent/status.h"
#include "platform/ipc.h"
#include "platform/power.h"
#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/time.h"

enum who {
    WHO_ANY,     /* any local user */
    WHO_SESSION, /* the user of the active graphical session, or root */
    WHO_ADMIN,   /* root / Administrators */
};

enum ftype { F_STRING, F_EVENTS };

struct vfield {
    const char *name;
    enum ftype type;
    int required;
    const char *const *choices; /* F_STRING: allowed values, NULL: any (up to 128 bytes) */
};

struct client;
struct agent_ipc_verb {
    const char *name;
    enum who who;
    const struct vfield *fields; /* terminated by name NULL; NULL: none */
    void (*run)(struct client *cl, const struct agent_ipc_request *rq);
};

#define EV_COMPLIANCE 1u
#define EV_RESTART 2u
#define EV_COMMAND 4u

static const char *const event_names[] = {"compliance", "restart", "command", NULL};

struct agent_ipc {
    struct agent_ipc_env env;
    char *path;
    struct plat_ipc_server *srv;
    struct client *clients;
    json_t *last_compliance; /* what subscribers were told last */
    struct agent_status_cache status_cache;
    int64_t started_at;
    int64_t last_sync_any; /* monotonic ms of the last non-root sync */
    struct sync_mark {
        char name[192];
        int64_t at;
    } marks[16];
    unsigned next_mark;
    unsigned works;                   /* session checks in flight */
    struct ward_log_limit denied_log; /* any local user can ask for a refusal */
    int closing;
    void (*close_cb)(void *ctx);
    void *close_ctx;
};

struct client {
    struct agent_ipc *ipc;
    struct plat_ipc_conn *conn; /* NULL once gone */
    struct client *next;
    unsigned events; /* EV_* subscribed */
    unsigned refs;   /* the connection, each session check */
};

/* ---- answers -------------------------------------------------------------------------------- */

static void send_json(struct client *cl, json_t *j)
{
    char *text = NULL;
    size_t len = 0;
    if (!cl->conn || !j)
        goto out;
    if (ward_json_dumps(j, 0, &text, &len) == 0)
        plat_ipc_send(cl->conn, text, len); /* a client that stops reading is dropped */
    ward_free(text);
out:
    json_decref(j);
}

static void answer_ok(struct client *cl, const json_t *id, json_t *result)
{
    json_t *j =
        json_pack("{s:O?, s:b, s:o}", "id", id, "ok", 1, "result", result ? result : json_object());
    send_json(cl, j);
}

static void answer_err(struct client *cl, const json_t *id, const char *code, const char *msg)
{
    json_t *j = json_pack("{s:O?, s:b, s:{s:s, s:s}}", "id", id, "ok", 0, "error", "code", code,
                          "message", msg);
    send_json(cl, j);
}

static void answer_rc(struct client *cl, const json_t *id, int rc, const char *what)
{
    char msg[200];
    snprintf(msg, sizeof(msg), "%s: %s", what, ward_strerror(rc));
    answer_err(cl, id, "internal", msg);
}

static const struct plat_ipc_peer *peer_of(const struct client *cl)
{
    return plat_ipc_conn_peer(cl->conn);
}

/* ---- verbs ---------------------------------------------------------------------------------- */

static void run_status(struct client *cl, const struct agent_ipc_request *rq)
{
    struct agent_ipc *ipc = cl->ipc;
    const struct plat_ipc_peer *p = peer_of(cl);
    json_t *st = NULL, *running = NULL;
    char t[32];
    int rc = agent_status_collect_cached(ipc->env.st, &ipc->status_cache, &st);
    if (rc == 0)
        rc = agent_jobs_running(ipc->env.parts->jobs, &running);
    if (rc != 0) {
        json_decref(st);
        answer_rc(cl, rq->id, rc, "cannot read the agent's state");
        return;
    }
    ward_time_iso(ipc->started_at, t, sizeof(t));
    json_object_set_new(st, "running", running);
    json_object_set_new(st, "daemon",
                        json_pack("{s:s, s:I, s:s}", "version", WARD_VERSION, "pid",
                                  (json_int_t)uv_os_getpid(), "started_at", t));
    json_object_set_new(st, "you", json_pack("{s:s, s:b}", "user", p->name, "admin", p->admin));
    answer_ok(cl, rq->id, st);
}

static void run_compliance(struct client *cl, const struct agent_ipc_request *rq)
{
    json_t *c = NULL;
    int rc = agent_baselines_compliance(cl->ipc->env.st, peer_of(cl)->admin, &c);
    if (rc != 0) {
        answer_rc(cl, rq->id, rc, "cannot read the compliance state");
        return;
    }
    answer_ok(cl, rq->id, json_pack("{s:o}", "baselines", c));
}

/* Per-user marks in a small ring: a user who asks again within the interval waits. */
static int64_t *sync_mark(struct agent_ipc *ipc, const char *name)
{
    struct sync_mark *m;
    for (size_t i = 0; i < sizeof(ipc->marks) / sizeof(ipc->marks[0]); i++)
        if (strcmp(ipc->marks[i].name, name) == 0)
            return &ipc->marks[i].at;
    m = &ipc->marks[ipc->next_mark++ % (sizeof(ipc->marks) / sizeof(ipc->marks[0]))];
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->at = 0;
    return &m->at;
}

static void run_sync(struct client *cl, const struct agent_ipc_request *rq)
{
    struct agent_ipc *ipc = cl->ipc;
    const struct plat_ipc_peer *p = peer_of(cl);
    int64_t now = (int64_t)uv_now(ipc->env.loop);
    if (!agent_state_enrolled(ipc->env.st)) {
        answer_err(cl, rq->id, "not_enrolled", "the device is not enrolled: nothing to sync with");
        return;
    }
    if (!p->admin) {
        int64_t *mine = sync_mark(ipc, p->name);
        int64_t wait_user = *mine ? *mine + AGENT_IPC_SYNC_USER_S * 1000 - now : 0;
        int64_t wait_all =
            ipc->last_sync_any ? ipc->last_sync_any + AGENT_IPC_SYNC_ALL_S * 1000 - now : 0;
        int64_t wait = wait_user > wait_all ? wait_user : wait_all;
        if (wait > 0) {
            json_t *j = json_pack("{s:O?, s:b, s:{s:s, s:s, s:I}}", "id", rq->id, "ok", 0, "error",
                                  "code", "rate_limited", "message",
                                  "a sync was asked for a moment ago; try again later",
                                  "retry_after", (json_int_t)((wait + 999) / 1000));
            send_json(cl, j);
            return;
        }
        *mine = now;
        ipc->last_sync_any = now;
    }
    WARD_INFO("sync asked for by local user %s", p->name);
    agent_checkin_soon(ipc->env.parts->checkin);
    answer_ok(cl, rq->id, json_pack("{s:b}", "queued", 1));
}

struct session_check {
    uv_work_t work;
    struct client *cl;
    json_t *id;
    char command[130];
    int has_command;
    enum enf_cmd_user_op op;
    int64_t uid;
    int rc; /* 1: the peer is at the active session, 0: not, < 0: cannot tell */
    char why[200];
};

static void client_unref(struct client *cl);

static void user_op(struct client *cl, const json_t *id, const char *command,
                    enum enf_cmd_user_op op)
{
    char why[200] = "";
    int rc = agent_jobs_user_request(cl->ipc->env.parts->jobs, command, op, why, sizeof(why));
    if (rc == 0) {
        WARD_INFO("%s asked by local user %s",
                  op == ENF_USER_DEFER ? "postponement" : "restart now", peer_of(cl)->name);
        answer_ok(cl, id, NULL);
    } else {
        answer_err(cl, id,
                   rc == WARD_ENOENT    ? "nothing_pending"
                   : rc == WARD_EDENIED ? "not_allowed"
                   : rc == WARD_ESTATE  ? "too_late"
                                        : "internal",
                   why[0] ? why : ward_strerror(rc));
    }
}

static void check_work(uv_work_t *w)
{
    struct session_check *sc = w->data;
    struct plat_session *ss = NULL;
    size_t n = 0;
    int rc = plat_power_sessions(&ss, &n, sc->why, sizeof(sc->why));
    sc->rc = rc != 0 ? rc : 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (ss[i].active && (int64_t)ss[i].uid == sc->uid)
            sc->rc = 1;
    ward_free(ss);
}

static void check_after(uv_work_t *w, int status)
{
    struct session_check *sc = w->data;
    struct client *cl = sc->cl;
    struct agent_ipc *ipc = cl->ipc;
    ipc->works--;
    if (cl->conn && !ipc->closing) {
        if (status == 0 && sc->rc == 1) {
            user_op(cl, sc->id, sc->has_command ? sc->command : NULL, sc->op);
        } else {
            char msg[300];
            snprintf(msg, sizeof(msg),
                     sc->rc < 0 ? "only the user of the active session may answer a pending "
                                  "restart, and that cannot be told now: %s"
                                : "only the user of the active session (or root) may answer a "
                                  "pending restart%s",
                     sc->rc < 0 ? (sc->why[0] ? sc->why : ward_strerror(sc->rc)) : "");
            unsigned held = 0;
            if (ward_log_limit_pass(&ipc->denied_log, uv_now(ipc->env.loop), 10000, &held))
                WARD_INFO("refused a restart answer from local user %s: not at the active "
                          "session (%u more refusals in the last 10 s)",
                          peer_of(cl)->name, held);
            answer_err(cl, sc->id, "denied", msg);
        }
    }
    json_decref(sc->id);
    ward_free(sc);
    client_unref(cl);
}

static void run_user_op(struct client *cl, const struct agent_ipc_request *rq,
                        enum enf_cmd_user_op op)
{
    const struct plat_ipc_peer *p = peer_of(cl);
    const char *command = json_string_value(json_object_get(rq->req, "command"));
    struct session_check *sc;
    if (p->admin) {
        user_op(cl, rq->id, command, op);
        return;
    }
    sc = ward_calloc(1, sizeof(*sc));
    if (!sc) {
        answer_rc(cl, rq->id, WARD_ENOMEM, "cannot check the session");
        return;
    }
    sc->work.data = sc;
    sc->cl = cl;
    sc->id = json_incref(rq->id);
    sc->op = op;
    sc->uid = p->uid;
    if (command) {
        snprintf(sc->command, sizeof(sc->command), "%s", command);
        sc->has_command = 1;
    }
    if (uv_queue_work(cl->ipc->env.loop, &sc->work, check_work, check_after) != 0) {
        json_decref(sc->id);
        ward_free(sc);
        answer_rc(cl, rq->id, WARD_EIO, "cannot check the session");
        return;
    }
    cl->refs++;
    cl->ipc->works++;
}

static void run_defer(struct client *cl, const struct agent_ipc_request *rq)
{
    run_user_op(cl, rq, ENF_USER_DEFER);
}

static void run_restart_now(struct client *cl, const struct agent_ipc_request *rq)
{
    run_user_op(cl, rq, ENF_USER_NOW);
}

static void run_subscribe(struct client *cl, const struct agent_ipc_request *rq)
{
    const json_t *ev = json_object_get(rq->req, "events");
    json_t *v, *names = json_array();
    size_t i;
    unsigned mask = 0;
    if (!ev) {
        mask = EV_COMPLIANCE | EV_RESTART | EV_COMMAND;
    } else {
        json_array_foreach(ev, i, v)
        {
            for (unsigned k = 0; event_names[k]; k++)
                if (strcmp(json_string_value(v), event_names[k]) == 0)
                    mask |= 1u << k;
        }
    }
    for (unsigned k = 0; names && event_names[k]; k++)
        if (mask & (1u << k))
            json_array_append_new(names, json_string(event_names[k]));
    cl->events = mask;
    plat_ipc_conn_keep(cl->conn, mask != 0);
    answer_ok(cl, rq->id, json_pack("{s:o?}", "events", names));
}

static void run_reload(struct client *cl, const struct agent_ipc_request *rq)
{
    if (!cl->ipc->env.reload) {
        answer_err(cl, rq->id, "unavailable", "this agent cannot reload");
        return;
    }
    WARD_INFO("reload asked for by local user %s", peer_of(cl)->name);
    cl->ipc->env.reload(cl->ipc->env.ctx);
    answer_ok(cl, rq->id, NULL);
}

static const char *const levels[] = {"error", "warn", "info", "debug", "trace", NULL};

static void run_log_level(struct client *cl, const struct agent_ipc_request *rq)
{
    const char *name = json_string_value(json_object_get(rq->req, "level"));
    int level = 0;
    if (ward_log_level_parse(name, &level) != 0) {
        answer_err(cl, rq->id, "bad_field", "$.level: unknown level");
        return;
    }
    WARD_INFO("log level set to %s by local user %s", name, peer_of(cl)->name);
    ward_log_set_level(level);
    answer_ok(cl, rq->id, json_pack("{s:s}", "level", name));
}

static const struct vfield f_command[] = {{.name = "command", .type = F_STRING}, {.name = NULL}};
static const struct vfield f_subscribe[] = {{.name = "events", .type = F_EVENTS}, {.name = NULL}};
static const struct vfield f_level[] = {
    {.name = "level", .type = F_STRING, .required = 1, .choices = levels}, {.name = NULL}};

static const struct agent_ipc_verb verbs[] = {
    {"status", WHO_ANY, NULL, run_status},
    {"compliance", WHO_ANY, NULL, run_compliance},
    {"sync", WHO_ANY, NULL, run_sync},
    {"subscribe", WHO_ANY, f_subscribe, run_subscribe},
    {"defer", WHO_SESSION, f_command, run_defer},
    {"restart_now", WHO_SESSION, f_command, run_restart_now},
    {"reload", WHO_ADMIN, NULL, run_reload},
    {"log_level", WHO_ADMIN, f_level, run_log_level},
    {NULL, WHO_ANY, NULL, NULL},
};

/* ---- parsing -------------------------------------------------------------------------------- */

/* The message is "<what><name><rest>": a field's path or a parser's text. */
static int fail(char *code, size_t codelen, const char *c, char *msg, size_t msglen,
                const char *what, const char *name, const char *rest)
{
    snprintf(code, codelen, "%s", c);
    snprintf(msg, msglen, "%s%.64s%s", what, name, rest);
    return WARD_EPARSE;
}

static int check_field(const struct vfield *f, const json_t *v, char *code, size_t codelen,
                       char *msg, size_t msglen)
{
    size_t i;
    json_t *e;
    if (f->type == F_STRING) {
        const char *s = json_string_value(v);
        if (!s || strlen(s) > 128)
            return fail(code, codelen, "bad_field", msg, msglen, "$.", f->name,
                        ": must be a string of at most 128 bytes");
        for (i = 0; f->choices && f->choices[i]; i++)
            if (strcmp(s, f->choices[i]) == 0)
                return 0;
        return f->choices ? fail(code, codelen, "bad_field", msg, msglen, "$.", f->name,
                                 ": not one of the allowed values")
                          : 0;
    }
    if (!json_is_array(v) || json_array_size(v) > 8)
        return fail(code, codelen, "bad_field", msg, msglen, "$.", f->name,
                    ": must be an array of event names (compliance, restart, command)");
    json_array_foreach(v, i, e)
    {
        int known = 0;
        for (unsigned k = 0; event_names[k] && json_is_string(e); k++)
            known |= strcmp(json_string_value(e), event_names[k]) == 0;
        if (!known)
            return fail(code, codelen, "bad_field", msg, msglen, "$.", f->name,
                        ": unknown event (compliance, restart, command)");
    }
    return 0;
}

int agent_ipc_parse(const char *buf, size_t len, struct agent_ipc_request *out, char *code,
                    size_t codelen, char *msg, size_t msglen)
{
    struct ward_json_limits lim = {.max_bytes = AGENT_IPC_MAX_REQUEST, .max_depth = 4};
    struct ward_json_error err;
    const struct agent_ipc_verb *v = NULL;
    json_t *j = NULL, *id;
    const char *name, *key;
    json_t *val;
    int rc;

    memset(out, 0, sizeof(*out));
    rc = ward_json_loadb(buf, len, &lim, &j, &err);
    if (rc != 0)
        return fail(code, codelen, rc == WARD_ETOOBIG ? "too_large" : "bad_request", msg, msglen,
                    "not a JSON object: ", err.text, "");
    if (!json_is_object(j)) {
        json_decref(j);
        return fail(code, codelen, "bad_request", msg, msglen,
                    "a request is a JSON object with a \"verb\"", "", "");
    }
    id = json_object_get(j, "id");
    if (id &&
        !(json_is_integer(id) || (json_is_string(id) && strlen(json_string_value(id)) <= 64))) {
        json_decref(j);
        return fail(code, codelen, "bad_field", msg, msglen,
                    "$.id: must be an integer or a string of at most 64 bytes", "", "");
    }
    name = json_string_value(json_object_get(j, "verb"));
    for (size_t i = 0; name && verbs[i].name; i++)
        if (strcmp(verbs[i].name, name) == 0)
            v = &verbs[i];
    if (!v) {
        rc = name
                 ? fail(code, codelen, "unknown_verb", msg, msglen, "$.verb: unknown verb \"", name,
                        "\" (status, compliance, sync, subscribe, defer, restart_now, "
                        "reload, log_level)")
                 : fail(code, codelen, "bad_request", msg, msglen, "$.verb: required, a string", "",
                        "");
        goto keep;
    }
    json_object_foreach(j, key, val)
    {
        const struct vfield *f = NULL;
        if (strcmp(key, "verb") == 0 || strcmp(key, "id") == 0)
            continue;
        for (size_t i = 0; v->fields && v->fields[i].name; i++)
            if (strcmp(v->fields[i].name, key) == 0)
                f = &v->fields[i];
        if (!f) {
            rc = fail(code, codelen, "unknown_field", msg, msglen, "$.", key,
                      ": not a field of this verb");
            goto keep;
        }
        if ((rc = check_field(f, val, code, codelen, msg, msglen)) != 0) {
            goto keep;
        }
    }
    for (size_t i = 0; v->fields && v->fields[i].name; i++)
        if (v->fields[i].required && !json_object_get(j, v->fields[i].name)) {
            rc = fail(code, codelen, "bad_field", msg, msglen, "$.", v->fields[i].name,
                      ": required");
            goto keep;
        }
    out->verb = v;
    out->req = j;
    out->id = id;
    return 0;
keep:
    /* refused, but the id can be echoed: the caller releases out->req */
    out->req = j;
    out->id = id;
    return rc;
}

/* ---- connections ---------------------------------------------------------------------------- */

static void ipc_maybe_done(struct agent_ipc *ipc);

static void client_unref(struct client *cl)
{
    struct agent_ipc *ipc = cl->ipc;
    if (--cl->refs > 0)
        return;
    for (struct client **p = &ipc->clients; *p; p = &(*p)->next)
        if (*p == cl) {
            *p = cl->next;
            break;
        }
    ward_free(cl);
    ipc_maybe_done(ipc);
}

static void on_frame(void *ctx, struct plat_ipc_conn *c, int rc, const char *buf, size_t len)
{
    struct agent_ipc *ipc = ctx;
    struct client *cl = plat_ipc_conn_data(c);
    struct agent_ipc_request rq;
    const struct plat_ipc_peer *p = plat_ipc_conn_peer(c);
    char code[32], msg[256];

    if (!cl) {
        cl = ward_calloc(1, sizeof(*cl));
        if (!cl) {
            plat_ipc_conn_close(c);
            return;
        }
        cl->ipc = ipc;
        cl->conn = c;
        cl->refs = 1;
        cl->next = ipc->clients;
        ipc->clients = cl;
        plat_ipc_conn_set_data(c, cl);
    }
    if (rc == WARD_ETOOBIG) {
        snprintf(msg, sizeof(msg), "a request is at most %u bytes; this one announced %zu",
                 AGENT_IPC_MAX_REQUEST, len);
        answer_err(cl, NULL, "too_large", msg);
        plat_ipc_conn_close(c);
        return;
    }
    if (agent_ipc_parse(buf, len, &rq, code, sizeof(code), msg, sizeof(msg)) != 0) {
        answer_err(cl, rq.id, code, msg);
        json_decref(rq.req);
        return;
    }
    if ((rq.verb->who == WHO_ADMIN && !p->admin)) {
        unsigned held = 0;
        if (ward_log_limit_pass(&ipc->denied_log, uv_now(ipc->env.loop), 10000, &held))
            WARD_INFO("refused \"%s\" from local user %s: root only (%u more refusals in the "
                      "last 10 s)",
                      rq.verb->name, p->name, held);
        answer_err(cl, rq.id, "denied", "only root may use this verb");
    } else {
        rq.verb->run(cl, &rq);
    }
    json_decref(rq.req);
}

static void on_closed(void *ctx, struct plat_ipc_conn *c)
{
    struct client *cl = plat_ipc_conn_data(c);
    (void)ctx;
    if (!cl)
        return;
    cl->conn = NULL;
    client_unref(cl);
}

/* ---- events --------------------------------------------------------------------------------- */

static void broadcast(struct agent_ipc *ipc, unsigned ev, const char *name, json_t *data)
{
    for (struct client *cl = ipc->clients; cl; cl = cl->next)
        if (cl->conn && (cl->events & ev))
            send_json(cl, json_pack("{s:s, s:O}", "event", name, "data", data));
    json_decref(data);
}

static void on_job(void *ctx, const char *id, const char *type, const char *what)
{
    struct agent_ipc *ipc = ctx;
    json_t *running = NULL, *e;
    size_t i;
    if (ipc->closing)
        return;
    broadcast(ipc, EV_COMMAND, "command",
              json_pack("{s:s, s:s, s:s}", "id", id, "type", type, "state", what));
    /* a restart's countdown starts, moves or ends */
    if (agent_jobs_running(ipc->env.parts->jobs, &running) != 0)
        return;
    json_array_foreach(running, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "id")), id) == 0 &&
            json_object_get(e, "notice")) {
            json_t *n = json_deep_copy(json_object_get(e, "notice"));
            json_object_set_new(n, "command", json_string(id));
            broadcast(ipc, EV_RESTART, "restart", n);
            json_decref(running);
            return;
        }
    }
    json_decref(running);
    if (strcmp(what, "finished") == 0 || strcmp(what, "progress") == 0) {
        /* no notice (any more): the countdown is over; say so for a power command */
        if (strcmp(type, "reboot") == 0 || strcmp(type, "shutdown") == 0 ||
            strcmp(type, "os_update") == 0)
            broadcast(ipc, EV_RESTART, "restart",
                      json_pack("{s:s, s:s}", "command", id, "state", "over"));
    }
}

static void on_stored(void *ctx)
{
    struct agent_ipc *ipc = ctx;
    json_t *c = NULL;
    if (ipc->closing || agent_baselines_compliance(ipc->env.st, 0, &c) != 0)
        return;
    /* the evaluation time changes every run: compare what a person would notice */
    {
        json_t *b;
        size_t i;
        json_array_foreach(c, i, b) json_object_del(b, "evaluated_at");
    }
    if (ipc->last_compliance && json_equal(ipc->last_compliance, c)) {
        json_decref(c);
        return;
    }
    json_decref(ipc->last_compliance);
    ipc->last_compliance = json_incref(c);
    broadcast(ipc, EV_COMPLIANCE, "compliance", json_pack("{s:o}", "baselines", c));
}

/* ---- lifecycle ------------------------------------------------------------------------------ */

int agent_ipc_default_path(const char *state_dir, char **out)
{
    const char *def = plat_ipc_default_path();
    char buf[4200];
    *out = NULL;
    if (strcmp(state_dir, WARD_DEFAULT_STATE_DIR) == 0) {
        snprintf(buf, sizeof(buf), "%s", def);
    } else if (strncmp(def, "\\\\.\\pipe\\", 9) == 0) {
        uint8_t h[WARD_SHA256_LEN];
        char hex[17];
        if (ward_sha256(state_dir, strlen(state_dir), h) != 0 ||
            ward_hex_encode(h, 8, hex, sizeof(hex)) != 0)
            return WARD_ECRYPTO;
        snprintf(buf, sizeof(buf), "%s-%s", def, hex);
    } else {
        if ((size_t)snprintf(buf, sizeof(buf), "%s/ward.sock", state_dir) >= sizeof(buf))
            return WARD_EPATH;
    }
    *out = ward_strdup(buf);
    return *out ? 0 : WARD_ENOMEM;
}

int agent_ipc_start(const struct agent_ipc_env *env, struct agent_ipc **out, char *why,
                    size_t whylen)
{
    struct plat_ipc_server_opts o = {.public_access = 1,
                                     .max_frame = AGENT_IPC_MAX_REQUEST,
                                     .max_conns = AGENT_IPC_MAX_CLIENTS,
                                     .idle_ms = AGENT_IPC_IDLE_MS};
    struct plat_ipc_server_cb cb = {.frame = on_frame, .closed = on_closed};
    struct agent_ipc *ipc = ward_calloc(1, sizeof(*ipc));
    int rc;
    *out = NULL;
    if (!ipc)
        return WARD_ENOMEM;
    ipc->env = *env;
    ipc->path = ward_strdup(env->path);
    if (!ipc->path) {
        ward_free(ipc);
        return WARD_ENOMEM;
    }
    ipc->env.path = ipc->path;
    ipc->started_at = ward_time_now();
    o.path = ipc->path;
    cb.ctx = ipc;
    rc = plat_ipc_listen(env->loop, &o, &cb, &ipc->srv, why, whylen);
    if (rc != 0) {
        ward_free(ipc->path);
        ward_free(ipc);
        return rc;
    }
    agent_jobs_watch(env->parts->jobs, on_job, ipc);
    agent_baselines_on_stored(env->parts->baselines, on_stored, ipc);
    WARD_INFO("local IPC on %s", ipc->path);
    *out = ipc;
    return 0;
}

static void ipc_maybe_done(struct agent_ipc *ipc)
{
    void (*cb)(void *) = ipc->close_cb;
    void *ctx = ipc->close_ctx;
    if (!ipc->closing || ipc->srv || ipc->clients || ipc->works)
        return;
    json_decref(ipc->last_compliance);
    agent_status_cache_release(&ipc->status_cache);
    ward_free(ipc->path);
    ward_free(ipc);
    if (cb)
        cb(ctx);
}

static void srv_closed(void *ctx)
{
    struct agent_ipc *ipc = ctx;
    ipc->srv = NULL;
    ipc_maybe_done(ipc);
}

void agent_ipc_close(struct agent_ipc *ipc, void (*cb)(void *ctx), void *ctx)
{
    if (!ipc || ipc->closing)
        return;
    ipc->closing = 1;
    ipc->close_cb = cb;
    ipc->close_ctx = ctx;
    if (ipc->env.parts) {
        agent_jobs_watch(ipc->env.parts->jobs, NULL, NULL);
        agent_baselines_on_stored(ipc->env.parts->baselines, NULL, NULL);
    }
    plat_ipc_close(ipc->srv, srv_closed, ipc); /* each client's closed drops its ref */
}

/* ---- client --------------------------------------------------------------------------------- */

int agent_ipc_call(const char *path, const char *verb, const json_t *fields, unsigned timeout_ms,
                   json_t **answer)
{
    struct plat_ipc_client *c = NULL;
    json_t *req = fields ? json_deep_copy(fields) : json_object();
    char *text = NULL, *reply = NULL;
    size_t len = 0, rlen = 0;
    int rc;

    *answer = NULL;
    if (!req || json_object_set_new(req, "verb", json_string(verb)) != 0) {
        json_decref(req);
        return WARD_ENOMEM;
    }
    rc = ward_json_dumps(req, 0, &text, &len);
    json_decref(req);
    if (rc == 0)
        rc = plat_ipc_connect(path, timeout_ms, &c);
    if (rc == 0)
        rc = plat_ipc_client_send(c, text, len, timeout_ms);
    /* events may come first on a subscribed connection; this one is not */
    if (rc == 0)
        rc = plat_ipc_client_recv(c, PLAT_IPC_FRAME_LIMIT, timeout_ms, &reply, &rlen);
    if (rc == 0) {
        struct ward_json_limits lim = {.max_bytes = PLAT_IPC_FRAME_LIMIT};
        rc = ward_json_loadb(reply, rlen, &lim, answer, NULL);
        if (rc == 0 && !json_is_object(*answer)) {
            json_decref(*answer);
            *answer = NULL;
            rc = WARD_EPROTO;
        }
        if (rc == WARD_EPARSE)
            rc = WARD_EPROTO;
    }
    plat_ipc_client_close(c);
    ward_free(text);
    ward_free(reply);
    return rc;
}

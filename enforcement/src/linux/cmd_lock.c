/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `lock` command: locks every graphical user session through logind
 * (plat_power_lock_all, a blocking D-Bus call, so on a uv_queue_work thread) and reports
 * which sessions the lock reached. A device where nobody is logged in graphically has
 * nothing to lock: that is success with an empty list and a note, not an error.
 */
#define WARD_LOG_TAG "enf-cmd"

#include <stdio.h>
#include <string.h>

#include "cmd_util.h"
#include "cmds.h"
#include "platform/power.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

struct lock_job {
    uv_work_t work;
    struct enf_cmd_job *j;
    int rc;
    struct plat_session *sessions;
    size_t n;
    char why[256];
};

static void lock_work(uv_work_t *w)
{
    struct lock_job *lj = w->data;
    lj->rc = plat_power_lock_all(&lj->sessions, &lj->n, lj->why, sizeof(lj->why));
}

static json_t *lock_output(const struct plat_session *s, size_t n)
{
    json_t *out = json_object(), *list = json_array();
    int bad = !out || !list;

    for (size_t i = 0; i < n && !bad; i++) {
        json_t *e = json_object();
        bad |= json_object_set_new(e, "session", json_string(s[i].id)) != 0;
        bad |= json_object_set_new(e, "user", json_string(s[i].user)) != 0;
        bad |= json_object_set_new(e, "uid", json_integer((json_int_t)s[i].uid)) != 0;
        bad |= json_object_set_new(e, "seat", json_string(s[i].seat)) != 0;
        bad |= json_object_set_new(e, "type", json_string(s[i].type)) != 0;
        bad |= json_array_append_new(list, e) != 0;
    }
    if (!bad) {
        bad = json_object_set(out, "locked", list) != 0;
        if (!bad && n == 0)
            bad = json_object_set_new(out, "note", json_string("no graphical session")) != 0;
    }
    json_decref(list);
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static void lock_after(uv_work_t *w, int status)
{
    struct lock_job *lj = w->data;
    struct enf_cmd_job *j = lj->j;
    int rc = status != 0 ? enf_cmdu_uv_err(status) : lj->rc;
    json_t *out = NULL;
    char why[sizeof(lj->why)];

    memcpy(why, lj->why, sizeof(why));
    if (rc == 0 && !(out = lock_output(lj->sessions, lj->n))) {
        rc = WARD_ENOMEM;
        snprintf(why, sizeof(why), "out of memory building the result");
    }
    ward_free(lj->sessions);
    ward_free(lj);
    j->priv = NULL;
    if (rc != 0)
        WARD_LOG_WARN_ERR(rc, "lock %s: %s", j->id, why);
    enf_job_done(j, rc, out, rc != 0 ? (why[0] ? why : ward_strerror(rc)) : NULL);
}

static int lock_start(struct enf_cmd_job *j)
{
    struct lock_job *lj = ward_calloc(1, sizeof(*lj));
    int r;
    if (!lj)
        return WARD_ENOMEM;
    lj->j = j;
    lj->work.data = lj;
    j->priv = lj;
    r = uv_queue_work(j->loop, &lj->work, lock_work, lock_after);
    if (r != 0) {
        j->priv = NULL;
        ward_free(lj);
        return enf_cmdu_uv_err(r);
    }
    return 0;
}

static const struct enf_field lock_fields[] = {{.name = NULL}};

const struct enf_cmd enf_cmd_lock = {
    .name = "lock",
    .summary = "Locks every graphical user session (X11, Wayland) through systemd-logind and "
               "reports the sessions it locked in `locked` (session, user, uid, seat, type). "
               "A device where nobody is logged in graphically succeeds with an empty list and "
               "a `note`. Needs logind on the system bus: without it the command fails with "
               "WARD_ENOTSUP.",
    .fields = lock_fields,
    .start = lock_start,
};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `reboot` and `shutdown` commands. Both finish across a power cycle, so they run in
 * three steps (enforcement/command.h): start waits out the grace period on a uv_timer and
 * then hands the host the pending action with the current boot id (enf_job_await_ack);
 * once the service acknowledged, resume(ENF_PHASE_ACKED) asks logind to reboot or power off
 * (a blocking D-Bus call, on a uv_queue_work thread) and reports nothing more when logind
 * accepted, since the machine is going down; after the next boot resume(ENF_PHASE_BOOTED)
 * compares the boot ids and reports the final result.
 *
 * Handler state lives in j->priv only while a timer or a work request is in flight: the
 * resumed steps rebuild everything from j->params and j->saved, because after a reboot
 * they run in a new agent process.
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
#include "ward/time.h"

#define BOOT_ID_LEN 37

enum power_state {
    PW_GRACE,   /* the grace timer runs */
    PW_CLOSING, /* the timer fired or was cancelled; its close callback finishes */
    PW_ACTING,  /* plat_power_act on a work thread */
};

struct power_job {
    uv_timer_t timer;
    uv_work_t work;
    struct enf_cmd_job *j;
    enum plat_power_action action;
    enum power_state state;
    int cancelled;
    uint64_t grace_ms;   /* the wait, as it stands after deferrals */
    uint64_t started_ms; /* uv_now when the grace period began */
    int64_t due;         /* wall clock of the action, for the person at the device */
    int64_t deadline;    /* 0: none */
    unsigned deferred;   /* how often the user postponed it */
    char boot_id[BOOT_ID_LEN];
    int rc;
    char why[256];
};

static const char *action_name(enum plat_power_action a)
{
    return a == PLAT_POWER_REBOOT ? "reboot" : "poweroff";
}

/* ---- validate ---------------------------------------------------------------------------- */

static int power_validate(const json_t *params, struct ward_buf *err)
{
    const char *deadline = enf_param_str(params, "deadline", NULL);
    int64_t t;
    if (deadline && ward_time_parse_iso(deadline, &t) != 0) {
        enf_cmdu_diag(err, "$.deadline",
                      "must be a UTC time such as \"2026-11-28T10:00:00Z\" "
                      "(YYYY-MM-DDTHH:MM:SSZ)");
        return WARD_EINVAL;
    }
    return 0;
}

/* ---- start: the grace period ------------------------------------------------------------- */

static json_t *pending_output(const struct enf_cmd_job *j, const struct power_job *pj)
{
    json_t *out = json_object();
    const char *deadline = enf_param_str(j->params, "deadline", NULL);
    int bad = !out;
    bad |= json_object_set_new(out, "action", json_string(action_name(pj->action))) != 0;
    bad |= json_object_set_new(out, "grace_seconds",
                               json_integer(enf_param_int(j->params, "grace_seconds", 0))) != 0;
    bad |= json_object_set_new(out, "waited_seconds",
                               json_integer((json_int_t)(pj->grace_ms / 1000))) != 0;
    bad |= json_object_set_new(out, "deferred", json_integer((json_int_t)pj->deferred)) != 0;
    if (deadline)
        bad |= json_object_set_new(out, "deadline", json_string(deadline)) != 0;
    bad |= json_object_set_new(out, "deferrals",
                               json_integer(enf_param_int(j->params, "deferrals", 0))) != 0;
    bad |= json_object_set_new(out, "boot_id", json_string(pj->boot_id)) != 0;
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static void grace_closed(uv_handle_t *h)
{
    struct power_job *pj = h->data;
    struct enf_cmd_job *j = pj->j;
    json_t *out = NULL, *saved = NULL;
    int rc;

    j->priv = NULL;
    if (pj->cancelled) {
        ward_free(pj);
        enf_job_done(j, WARD_ECANCELED, NULL, "cancelled: the agent is stopping");
        return;
    }
    out = pending_output(j, pj);
    saved = json_pack("{s:s}", "boot_id", pj->boot_id);
    WARD_INFO("%s %s: grace period over, waiting for the service to acknowledge", j->cmd->name,
              j->id);
    ward_free(pj);
    if (!out || !saved) {
        json_decref(out);
        json_decref(saved);
        enf_job_done(j, WARD_ENOMEM, NULL, "out of memory building the result");
        return;
    }
    rc = enf_job_await_ack(j, out, saved); /* out is the host's now, saved is copied */
    json_decref(saved);
    if (rc != 0) {
        WARD_LOG_WARN_ERR(rc, "%s %s: the pending %s could not be recorded", j->cmd->name, j->id,
                          j->cmd->name);
        enf_job_done(j, rc, NULL, "the pending power action could not be recorded");
    }
}

static void grace_fired(uv_timer_t *t)
{
    struct power_job *pj = t->data;
    pj->state = PW_CLOSING;
    uv_close((uv_handle_t *)&pj->timer, grace_closed);
}

static void free_closed(uv_handle_t *h)
{
    ward_free(h->data);
}

static int power_start(struct enf_cmd_job *j, enum plat_power_action action)
{
    struct power_job *pj;
    const char *deadline = enf_param_str(j->params, "deadline", NULL);
    const char *message = enf_param_str(j->params, "message", NULL);
    uint64_t grace_ms = (uint64_t)enf_param_int(j->params, "grace_seconds", 0) * 1000u;
    char why[160], note[512];
    int rc, r;

    int64_t t = 0, now = ward_time_now();

    if (deadline && ward_time_parse_iso(deadline, &t) == 0) {
        uint64_t left = t > now ? (uint64_t)(t - now) * 1000u : 0;
        if (left < grace_ms)
            grace_ms = left;
    } else {
        t = 0;
    }
    pj = ward_calloc(1, sizeof(*pj));
    if (!pj)
        return WARD_ENOMEM;
    pj->j = j;
    pj->action = action;
    pj->grace_ms = grace_ms;
    pj->started_ms = uv_now(j->loop);
    pj->due = now + (int64_t)(grace_ms / 1000);
    pj->deadline = t;
    rc = plat_boot_id(j->root, pj->boot_id, sizeof(pj->boot_id));
    if (rc != 0) {
        ward_free(pj);
        snprintf(why, sizeof(why),
                 "cannot read the current boot id (/proc/sys/kernel/random/boot_id): %s",
                 ward_strerror(rc));
        WARD_LOG_WARN_ERR(rc, "%s %s: %s", j->cmd->name, j->id, why);
        enf_job_done(j, rc, NULL, why);
        return 0;
    }
    r = uv_timer_init(j->loop, &pj->timer);
    if (r != 0) {
        ward_free(pj);
        return enf_cmdu_uv_err(r);
    }
    pj->timer.data = pj;
    pj->state = PW_GRACE;
    j->priv = pj;
    r = uv_timer_start(&pj->timer, grace_fired, grace_ms, 0);
    if (r != 0) {
        /* the close callback would report: nothing is under way, so just free */
        j->priv = NULL;
        uv_close((uv_handle_t *)&pj->timer, free_closed);
        return enf_cmdu_uv_err(r);
    }
    snprintf(note, sizeof(note), "%s in %llu s%s%s",
             action == PLAT_POWER_REBOOT ? "reboot" : "shutdown",
             (unsigned long long)(grace_ms / 1000), message ? ": " : "", message ? message : "");
    enf_job_progress(j, note);
    return 0;
}

static int reboot_start(struct enf_cmd_job *j)
{
    return power_start(j, PLAT_POWER_REBOOT);
}

static int shutdown_start(struct enf_cmd_job *j)
{
    return power_start(j, PLAT_POWER_POWEROFF);
}

/* ---- the person at the device: the pending action, deferrals, "now" ------------------------- */

static json_t *power_notice(struct enf_cmd_job *j)
{
    struct power_job *pj = j->priv;
    const char *message = enf_param_str(j->params, "message", NULL);
    long long allowed = enf_param_int(j->params, "deferrals", 0);
    char due[32], deadline[32];
    if (!pj || pj->state != PW_GRACE)
        return NULL; /* past the grace period: nothing left to decide */
    ward_time_iso(pj->due, due, sizeof(due));
    if (pj->deadline)
        ward_time_iso(pj->deadline, deadline, sizeof(deadline));
    return json_pack("{s:s, s:s, s:s?, s:I, s:I, s:I, s:s?}", "action", action_name(pj->action),
                     "due", due, "deadline", pj->deadline ? deadline : NULL, "deferrals",
                     (json_int_t)allowed, "deferred", (json_int_t)pj->deferred, "defer_seconds",
                     (json_int_t)enf_param_int(j->params, "defer_seconds", 3600), "message",
                     message);
}

static void progress_due(struct enf_cmd_job *j, struct power_job *pj, const char *what)
{
    char note[160], due[32];
    ward_time_iso(pj->due, due, sizeof(due));
    snprintf(note, sizeof(note), "%s at %s (%s)", action_name(pj->action), due, what);
    enf_job_progress(j, note);
}

static int power_user_request(struct enf_cmd_job *j, enum enf_cmd_user_op op, char *why,
                              size_t whylen)
{
    struct power_job *pj = j->priv;
    long long allowed = enf_param_int(j->params, "deferrals", 0);
    uint64_t step = (uint64_t)enf_param_int(j->params, "defer_seconds", 3600);
    uint64_t elapsed, left;
    char what[64];

    if (!pj || pj->state != PW_GRACE) {
        snprintf(why, whylen, "the %s is under way already", action_name(pj ? pj->action : 0));
        return WARD_ESTATE;
    }
    if (op == ENF_USER_NOW) {
        WARD_INFO("%s %s: the user asked for it now", j->cmd->name, j->id);
        elapsed = uv_now(j->loop) - pj->started_ms;
        pj->grace_ms = elapsed;
        pj->due = ward_time_now();
        progress_due(j, pj, "the user asked for it now");
        uv_timer_stop(&pj->timer);
        grace_fired(&pj->timer);
        return 0;
    }
    if ((long long)pj->deferred >= allowed) {
        snprintf(why, whylen,
                 allowed == 0 ? "the administrator allows no postponement of this %s"
                              : "this %s was postponed as often as allowed already",
                 action_name(pj->action));
        return WARD_EDENIED;
    }
    if (pj->deadline && pj->due >= pj->deadline) {
        snprintf(why, whylen, "the %s is due at its deadline and cannot move later",
                 action_name(pj->action));
        return WARD_EDENIED;
    }
    pj->due += (int64_t)step;
    if (pj->deadline && pj->due > pj->deadline)
        pj->due = pj->deadline;
    pj->deferred++;
    elapsed = uv_now(j->loop) - pj->started_ms;
    left = pj->due > ward_time_now() ? (uint64_t)(pj->due - ward_time_now()) * 1000u : 0;
    pj->grace_ms = elapsed + left;
    uv_timer_start(&pj->timer, grace_fired, left, 0);
    WARD_INFO("%s %s: postponed by the user (%u of %lld)", j->cmd->name, j->id, pj->deferred,
              allowed);
    snprintf(what, sizeof(what), "postponed by the user, %u of %lld", pj->deferred, allowed);
    progress_due(j, pj, what);
    return 0;
}

static void power_cancel(struct enf_cmd_job *j)
{
    struct power_job *pj = j->priv;
    if (!pj)
        return; /* nothing in flight (waiting for the acknowledgement or the power cycle) */
    pj->cancelled = 1;
    if (pj->state == PW_GRACE) {
        pj->state = PW_CLOSING;
        uv_timer_stop(&pj->timer);
        uv_close((uv_handle_t *)&pj->timer, grace_closed);
    }
    /* PW_CLOSING: the close callback sees the flag. PW_ACTING: logind has the request
     * already; the work request ends on its own and reports a failure, if any. */
}

/* ---- resume: the action, then the result after the boot ----------------------------------- */

static void act_work(uv_work_t *w)
{
    struct power_job *pj = w->data;
    pj->rc = plat_power_act(pj->action, pj->why, sizeof(pj->why));
}

static void act_after(uv_work_t *w, int status)
{
    struct power_job *pj = w->data;
    struct enf_cmd_job *j = pj->j;
    int rc = status != 0 ? enf_cmdu_uv_err(status) : pj->rc;
    char why[sizeof(pj->why) + 64];

    snprintf(why, sizeof(why), "cannot %s: %s",
             pj->action == PLAT_POWER_REBOOT ? "reboot" : "power off",
             pj->why[0] ? pj->why : ward_strerror(rc));
    j->priv = NULL;
    ward_free(pj);
    if (rc != 0) {
        /* a command that did its work before the reboot (os_update) keeps that report */
        const json_t *first = j->saved ? json_object_get(j->saved, "output") : NULL;
        WARD_LOG_WARN_ERR(rc, "%s %s: %s", j->cmd->name, j->id, why);
        enf_job_done(j, rc, json_is_object(first) ? json_deep_copy(first) : NULL, why);
        return;
    }
    /* logind accepted: the machine goes down, the host resumes after the boot */
    WARD_INFO("%s %s: logind accepted the %s", j->cmd->name, j->id, j->cmd->name);
}

static int resume_acked(struct enf_cmd_job *j, enum plat_power_action action)
{
    struct power_job *pj = ward_calloc(1, sizeof(*pj));
    int r;
    if (!pj)
        return WARD_ENOMEM;
    pj->j = j;
    pj->action = action;
    pj->state = PW_ACTING;
    pj->work.data = pj;
    j->priv = pj;
    r = uv_queue_work(j->loop, &pj->work, act_work, act_after);
    if (r != 0) {
        j->priv = NULL;
        ward_free(pj);
        return enf_cmdu_uv_err(r);
    }
    return 0;
}

static int resume_booted(struct enf_cmd_job *j, enum plat_power_action action)
{
    const char *before = j->saved ? enf_param_str(j->saved, "boot_id", NULL) : NULL;
    char now[BOOT_ID_LEN];
    int rc = plat_boot_id(j->root, now, sizeof(now));
    const json_t *first = j->saved ? json_object_get(j->saved, "output") : NULL;
    /* a command that rebooted at its end (os_update) keeps what it reported before */
    json_t *out = json_is_object(first) ? json_deep_copy(first) : json_object();
    int bad = !out;

    bad |= json_object_set_new(out, action == PLAT_POWER_REBOOT ? "rebooted" : "powered_off",
                               json_true()) != 0;
    bad |=
        json_object_set_new(out, "boot_id_before", before ? json_string(before) : json_null()) != 0;
    bad |= json_object_set_new(out, "boot_id_after", rc == 0 ? json_string(now) : json_null()) != 0;
    if (bad) {
        json_decref(out);
        return WARD_ENOMEM;
    }
    if (rc == 0 && before && strcmp(before, now) == 0) {
        /* the host resumes BOOTED only for a new boot id: this is its mistake, say so */
        enf_job_done(j, WARD_ESTATE, out, "the boot id did not change: no power cycle happened");
        return 0;
    }
    if (rc != 0)
        WARD_LOG_WARN_ERR(rc, "%s %s: cannot read the boot id after the boot", j->cmd->name, j->id);
    enf_job_done(j, 0, out, NULL);
    return 0;
}

int enf_cmd_power_resume(struct enf_cmd_job *j, enum enf_cmd_phase phase, int reboot)
{
    enum plat_power_action action = reboot ? PLAT_POWER_REBOOT : PLAT_POWER_POWEROFF;
    return phase == ENF_PHASE_ACKED ? resume_acked(j, action) : resume_booted(j, action);
}

static int reboot_resume(struct enf_cmd_job *j, enum enf_cmd_phase phase)
{
    return enf_cmd_power_resume(j, phase, 1);
}

static int shutdown_resume(struct enf_cmd_job *j, enum enf_cmd_phase phase)
{
    return enf_cmd_power_resume(j, phase, 0);
}

/* ---- tables ------------------------------------------------------------------------------ */

static const struct enf_field power_fields[] = {
    {.name = "grace_seconds",
     .type = ENF_F_INT,
     .min = 0,
     .max = 86400,
     .def = "0",
     .description = "Seconds to wait before the action (0: at once). The wait starts when the "
                    "device receives the command."},
    {.name = "deadline",
     .type = ENF_F_STRING,
     .description = "Latest time for the action, UTC, `YYYY-MM-DDTHH:MM:SSZ`: when it comes "
                    "before the end of the grace period it cuts the wait short; a past deadline "
                    "means at once."},
    {.name = "deferrals",
     .type = ENF_F_INT,
     .min = 0,
     .max = 10,
     .def = "0",
     .description = "How often the person at the device may postpone the action (the tray's "
                    "\"Later\", `ward defer`), each time by `defer_seconds`, never past the "
                    "deadline. The result says how often it was (`deferred`)."},
    {.name = "defer_seconds",
     .type = ENF_F_INT,
     .min = 60,
     .max = 86400,
     .def = "3600",
     .description = "How much later one postponement moves the action."},
    {.name = "message",
     .type = ENF_F_STRING,
     .description = "Text for the person at the device, shown by the tray with the countdown "
                    "and kept in the command's progress."},
    {.name = NULL},
};

const struct enf_cmd enf_cmd_reboot = {
    .name = "reboot",
    .summary = "Reboots the device through systemd-logind after the grace period (or at the "
               "deadline, whichever comes first). The result is first `accepted` with "
               "`action`, `grace_seconds`, `waited_seconds`, `deferrals`, `deferred` and the "
               "current `boot_id`; the reboot happens once the service acknowledged that, and "
               "after the boot the final result is `{\"rebooted\": true, \"boot_id_before\", "
               "\"boot_id_after\"}`. During the grace period the person at the device sees "
               "the countdown in the tray and may postpone it (`deferrals`) or restart at "
               "once. A stopping agent cancels the grace period (WARD_ECANCELED).",
    .flags = ENF_CMD_REBOOTS,
    .fields = power_fields,
    .validate = power_validate,
    .start = reboot_start,
    .cancel = power_cancel,
    .resume = reboot_resume,
    .notice = power_notice,
    .user_request = power_user_request,
};

const struct enf_cmd enf_cmd_shutdown = {
    .name = "shutdown",
    .summary = "Powers the device off through systemd-logind after the grace period (or at "
               "the deadline, whichever comes first). Like `reboot`: first `accepted` with "
               "`action` \"poweroff\" and the current `boot_id`, the power-off once the "
               "service acknowledged, and when the device is next switched on the final "
               "result `{\"powered_off\": true, \"boot_id_before\", \"boot_id_after\"}`. "
               "Deferrals work as for `reboot`.",
    .flags = ENF_CMD_REBOOTS,
    .fields = power_fields,
    .validate = power_validate,
    .start = shutdown_start,
    .cancel = power_cancel,
    .resume = shutdown_resume,
    .notice = power_notice,
    .user_request = power_user_request,
};

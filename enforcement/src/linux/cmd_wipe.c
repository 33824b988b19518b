/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `full_wipe` command: makes the device's data unrecoverable, then powers it off.
 * When the root filesystem sits on a LUKS container the wipe is a crypto-erase (every key
 * slot and the whole header area destroyed: plat_disk_crypto_erase, platform/disk.h says
 * exactly what that covers); otherwise the administrator must name the devices and allow
 * them to be overwritten with zeros. Refused on personally owned devices.
 *
 * Steps (enforcement/command.h): start finds the container on a work thread and hands the
 * host the plan (enf_job_await_ack); once the service acknowledged, resume(ACKED) does the
 * destruction and the power-off on a work thread and reports nothing more on success (the
 * device is gone). A device that boots again afterwards (one whose root was not on the
 * wiped disk, a test root) gets resume(BOOTED) and reports `wiped`. An ACKED resumption
 * after a crash finds the header already gone and goes on to the power-off.
 *
 * Cancel (the agent stops) is honoured before anything is destroyed and between overwritten
 * devices; once a crypto-erase has begun it runs to the power-off. Progress of long
 * overwrites is marshalled to the loop thread through a uv_async.
 */
#define WARD_LOG_TAG "enf-cmd"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd_util.h"
#include "cmds.h"
#include "platform/disk.h"
#include "platform/fs.h"
#include "platform/power.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define WIPE_MAX_DEVICES 64
#define WIPE_DEVICE_MAX 255
#define NOT_ENCRYPTED "the root filesystem is not encrypted; name the devices and allow overwriting"

enum wipe_step {
    WP_PLAN, /* start: find what to wipe */
    WP_ACT,  /* resume(ACKED): wipe, then power off */
};

struct wipe_job {
    uv_work_t work;
    uv_async_t async;
    uv_mutex_t lock; /* guards progress / progress_new */
    char progress[320];
    int progress_new;
    struct enf_cmd_job *j;
    enum wipe_step step;
    atomic_int cancelled;

    /* the plan */
    int allow_overwrite;        /* params, read on the loop thread */
    int crypto;                 /* 1: crypto-erase of info.device, 0: overwrite devices */
    struct plat_luks_info info; /* crypto */
    char uuid[64];              /* resume: the container's uuid when the plan was made */
    char **devices;             /* overwrite */
    size_t ndev;

    /* what happened (work thread, read after it) */
    int rc;
    char why[1024];
    int erased, already_erased;
    struct plat_disk_erase_report rep;
    size_t overwritten;
    const char *current;
};

/* ---- validate ---------------------------------------------------------------------------- */

static int valid_device(const char *s, size_t n)
{
    if (n <= 5 || n > WIPE_DEVICE_MAX || strlen(s) != n || strncmp(s, "/dev/", 5) != 0)
        return 0;
    if (strstr(s, "/../") || strstr(s, "/./") || strstr(s, "//") || s[n - 1] == '/' ||
        (n >= 3 && strcmp(s + n - 3, "/..") == 0) || (n >= 2 && strcmp(s + n - 2, "/.") == 0))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static int wipe_validate(const json_t *params, struct ward_buf *err)
{
    const json_t *devs = json_object_get(params, "devices");
    size_t i, k;
    json_t *d;
    int bad = 0;

    if (json_array_size(devs) > WIPE_MAX_DEVICES) {
        enf_cmdu_diag(err, "$.devices", "more than %d devices", WIPE_MAX_DEVICES);
        bad = 1;
    }
    json_array_foreach((json_t *)(uintptr_t)devs, i, d)
    {
        char path[64];
        snprintf(path, sizeof(path), "$.devices[%zu]", i);
        if (!valid_device(json_string_value(d), json_string_length(d))) {
            enf_cmdu_diag(err, path,
                          "must be an absolute device path under /dev/ (such as /dev/sdb), at "
                          "most %d bytes",
                          WIPE_DEVICE_MAX);
            bad = 1;
            continue;
        }
        for (k = 0; k < i; k++)
            if (strcmp(json_string_value(json_array_get(devs, k)), json_string_value(d)) == 0) {
                enf_cmdu_diag(err, path, "names the same device as $.devices[%zu]", k);
                bad = 1;
            }
    }
    if (enf_param_bool(params, "allow_overwrite", 0) && json_array_size(devs) == 0) {
        enf_cmdu_diag(err, "$.allow_overwrite",
                      "allows overwriting devices, but no devices are named");
        bad = 1;
    }
    return bad ? WARD_EINVAL : 0;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static void wipe_free(struct wipe_job *wj)
{
    if (!wj)
        return;
    for (size_t i = 0; i < wj->ndev; i++)
        ward_free(wj->devices[i]);
    ward_free(wj->devices);
    ward_free(wj);
}

static int copy_devices(struct wipe_job *wj, const json_t *arr)
{
    size_t n = json_array_size(arr);
    if (n == 0)
        return 0;
    wj->devices = ward_calloc(n, sizeof(*wj->devices));
    if (!wj->devices)
        return WARD_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(arr, i));
        if (!s || !valid_device(s, strlen(s)))
            return WARD_EINVAL;
        if (!(wj->devices[i] = ward_strdup(s)))
            return WARD_ENOMEM;
        wj->ndev = i + 1;
    }
    return 0;
}

static json_t *devices_json(const struct wipe_job *wj, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(wj->devices[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static void set_progress(struct wipe_job *wj, const char *fmt, ...) WARD_PRINTF(2, 3);

static void set_progress(struct wipe_job *wj, const char *fmt, ...)
{
    va_list ap;
    uv_mutex_lock(&wj->lock);
    va_start(ap, fmt);
    vsnprintf(wj->progress, sizeof(wj->progress), fmt, ap);
    va_end(ap);
    wj->progress_new = 1;
    uv_mutex_unlock(&wj->lock);
    uv_async_send(&wj->async);
}

static void flush_progress(struct wipe_job *wj)
{
    char text[sizeof(wj->progress)];
    int have;
    uv_mutex_lock(&wj->lock);
    have = wj->progress_new;
    wj->progress_new = 0;
    memcpy(text, wj->progress, sizeof(text));
    uv_mutex_unlock(&wj->lock);
    if (have)
        enf_job_progress(wj->j, text);
}

static void on_async(uv_async_t *a)
{
    flush_progress(a->data);
}

static void overwrite_progress(long long done, long long total, void *ctx)
{
    struct wipe_job *wj = ctx;
    set_progress(wj, "overwriting %s: %lld of %lld MiB", wj->current, done >> 20, total >> 20);
}

/* ---- start: the plan (work thread, then the loop) ----------------------------------------- */

static void plan_work(uv_work_t *w)
{
    struct wipe_job *wj = w->data;
    struct enf_cmd_job *j = wj->j;
    struct plat_luks_info hdr;
    char why[256];
    int rc;

    rc = plat_disk_root_luks(j->root, "/", &wj->info, why, sizeof(why));
    if (rc == 0) {
        wj->crypto = 1;
        rc = plat_disk_luks_inspect(wj->info.device, &hdr, why, sizeof(why));
        if (rc != 0) {
            snprintf(wj->why, sizeof(wj->why),
                     "the root filesystem is on the LUKS container %s, but its header cannot "
                     "be read: %s",
                     wj->info.device, why[0] ? why : ward_strerror(rc));
        } else {
            /* the header is the authority (sysfs only named the mapping's uuid) */
            wj->info.keyslots = hdr.keyslots;
            wj->info.version = hdr.version;
            memcpy(wj->info.uuid, hdr.uuid, sizeof(wj->info.uuid));
        }
        wj->rc = rc;
        return;
    }
    if (rc != WARD_ENOENT) {
        snprintf(wj->why, sizeof(wj->why), "cannot tell whether the root filesystem is on LUKS: %s",
                 why[0] ? why : ward_strerror(rc));
        wj->rc = rc;
        return;
    }
    if (wj->ndev == 0 || !wj->allow_overwrite) {
        snprintf(wj->why, sizeof(wj->why), "%s (%s)", NOT_ENCRYPTED, why);
        wj->rc = WARD_EINVAL;
        return;
    }
    for (size_t i = 0; i < wj->ndev; i++) {
        struct plat_fs_info st;
        rc = plat_fs_stat(NULL, wj->devices[i], PLAT_FS_NTS, 0, &st);
        if (rc == 0 && st.type != PLAT_FS_OTHER)
            rc = WARD_EINVAL;
        if (rc != 0) {
            snprintf(wj->why, sizeof(wj->why), "%s: %s", wj->devices[i],
                     rc == WARD_ENOENT   ? "no such device"
                     : rc == WARD_EINVAL ? "not a device"
                                         : ward_strerror(rc));
            wj->rc = rc;
            return;
        }
    }
    wj->crypto = 0;
    wj->rc = 0;
}

static void plan_report(struct wipe_job *wj)
{
    struct enf_cmd_job *j = wj->j;
    json_t *out = NULL, *saved = NULL;
    char why[sizeof(wj->why)];
    int rc = wj->rc;

    memcpy(why, wj->why, sizeof(why));
    if (rc == 0 && atomic_load(&wj->cancelled)) {
        rc = WARD_ECANCELED;
        snprintf(why, sizeof(why), "cancelled: the agent is stopping (nothing was wiped)");
    }
    if (rc == 0 && wj->crypto) {
        out = json_pack("{s:s, s:s, s:i, s:i}", "method", "crypto_erase", "device", wj->info.device,
                        "luks_version", wj->info.version, "keyslots", wj->info.keyslots);
        saved = json_pack("{s:s, s:s, s:s}", "method", "crypto_erase", "device", wj->info.device,
                          "uuid", wj->info.uuid);
    } else if (rc == 0) {
        out = json_pack("{s:s, s:o}", "method", "overwrite", "devices", devices_json(wj, wj->ndev));
        saved =
            json_pack("{s:s, s:o}", "method", "overwrite", "devices", devices_json(wj, wj->ndev));
    }
    if (rc == 0 && (!out || !saved)) {
        rc = WARD_ENOMEM;
        snprintf(why, sizeof(why), "out of memory building the result");
    }
    j->priv = NULL;
    wipe_free(wj);
    if (rc != 0) {
        json_decref(out);
        json_decref(saved);
        WARD_LOG_WARN_ERR(rc, "full_wipe %s refused: %s", j->id, why);
        enf_job_done(j, rc, NULL, why);
        return;
    }
    WARD_INFO("full_wipe %s: plan ready, waiting for the service to acknowledge", j->id);
    rc = enf_job_await_ack(j, out, saved); /* out is the host's now, saved is copied */
    json_decref(saved);
    if (rc != 0) {
        WARD_LOG_WARN_ERR(rc, "full_wipe %s: the pending wipe could not be recorded", j->id);
        enf_job_done(j, rc, NULL, "the pending wipe could not be recorded");
    }
}

/* ---- resume(ACKED): the wipe and the power-off (work thread, then the loop) --------------- */

static int same_uuid(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'F' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'F' ? (char)(*b - 'A' + 'a') : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

static void act_work(uv_work_t *w)
{
    struct wipe_job *wj = w->data;
    struct enf_cmd_job *j = wj->j;
    char why[256];
    int rc = 0;

    if (atomic_load(&wj->cancelled)) {
        wj->rc = WARD_ECANCELED;
        snprintf(wj->why, sizeof(wj->why), "cancelled: the agent is stopping (nothing was wiped)");
        return;
    }
    if (wj->crypto) {
        struct plat_luks_info now;
        const char *dev = wj->info.device;
        /* the same container as when the plan was made, or one already erased */
        rc = plat_disk_luks_inspect(dev, &now, why, sizeof(why));
        if (rc == WARD_EPARSE) {
            wj->already_erased = 1;
        } else if (rc != 0) {
            snprintf(wj->why, sizeof(wj->why), "cannot read the LUKS header of %s: %s", dev,
                     why[0] ? why : ward_strerror(rc));
            wj->rc = rc;
            return;
        } else if (wj->uuid[0] && !same_uuid(now.uuid, wj->uuid)) {
            snprintf(wj->why, sizeof(wj->why),
                     "%s now holds the LUKS container %s, not %s as planned: nothing was wiped",
                     dev, now.uuid, wj->uuid);
            wj->rc = WARD_ESTATE;
            return;
        }
        if (!wj->already_erased) {
            set_progress(wj, "crypto-erasing %s", dev);
            rc = plat_disk_crypto_erase(dev, &wj->rep, why, sizeof(why));
            if (rc == WARD_EPARSE) {
                wj->already_erased = 1; /* lost a race with an earlier attempt */
                rc = 0;
            }
            if (rc != 0) {
                snprintf(wj->why, sizeof(wj->why), "crypto-erase of %s failed: %s", dev,
                         why[0] ? why : ward_strerror(rc));
                wj->rc = rc;
                return;
            }
        }
        wj->erased = 1;
    } else {
        for (size_t i = 0; i < wj->ndev; i++) {
            if (atomic_load(&wj->cancelled)) {
                snprintf(wj->why, sizeof(wj->why),
                         "cancelled: the agent is stopping (%zu of %zu devices overwritten)", i,
                         wj->ndev);
                wj->rc = WARD_ECANCELED;
                return;
            }
            wj->current = wj->devices[i];
            set_progress(wj, "overwriting %s", wj->current);
            rc =
                plat_disk_overwrite(j->root, wj->current, overwrite_progress, wj, why, sizeof(why));
            if (rc != 0) {
                snprintf(wj->why, sizeof(wj->why), "overwriting %s failed: %s", wj->current,
                         why[0] ? why : ward_strerror(rc));
                wj->rc = rc;
                return;
            }
            wj->overwritten = i + 1;
        }
        wj->erased = 1;
    }
    /* the volume key of the open root mapping stays in RAM until the power goes */
    set_progress(wj, "wiped; powering off");
    rc = plat_power_act(PLAT_POWER_POWEROFF, why, sizeof(why));
    if (rc != 0)
        snprintf(wj->why, sizeof(wj->why), "the data is wiped, but the power-off failed: %s",
                 why[0] ? why : ward_strerror(rc));
    wj->rc = rc;
}

static json_t *act_output(const struct wipe_job *wj)
{
    json_t *out;
    if (wj->crypto)
        out =
            json_pack("{s:s, s:s, s:b, s:b, s:i, s:I, s:b, s:b}", "method", "crypto_erase",
                      "device", wj->info.device, "erased", wj->erased, "already_erased",
                      wj->already_erased, "slots_before", wj->rep.slots_before,
                      "header_bytes_overwritten", (json_int_t)wj->rep.header_bytes_overwritten,
                      "verified", wj->rep.verified, "cryptsetup_erased", wj->rep.cryptsetup_erased);
    else
        out = json_pack("{s:s, s:o, s:o, s:b}", "method", "overwrite", "devices",
                        devices_json(wj, wj->ndev), "overwritten",
                        devices_json(wj, wj->overwritten), "erased", wj->erased);
    return out;
}

static void act_report(struct wipe_job *wj)
{
    struct enf_cmd_job *j = wj->j;
    json_t *out = NULL;
    char why[sizeof(wj->why)];
    int rc = wj->rc;

    memcpy(why, wj->why, sizeof(why));
    if (rc != 0)
        out = act_output(wj);
    j->priv = NULL;
    wipe_free(wj);
    if (rc != 0) {
        WARD_LOG_WARN_ERR(rc, "full_wipe %s: %s", j->id, why);
        enf_job_done(j, rc, out, why);
        return;
    }
    /* success: the device powers off now; the host hears no more of this job in this boot */
    WARD_INFO("full_wipe %s: wiped, power-off accepted", j->id);
}

/* ---- the loop side of both steps ---------------------------------------------------------- */

static void async_closed(uv_handle_t *h)
{
    struct wipe_job *wj = h->data;
    uv_mutex_destroy(&wj->lock);
    if (wj->step == WP_PLAN)
        plan_report(wj);
    else
        act_report(wj);
}

static void work_after(uv_work_t *w, int status)
{
    struct wipe_job *wj = w->data;
    if (status != 0) {
        wj->rc = enf_cmdu_uv_err(status);
        snprintf(wj->why, sizeof(wj->why), "the wipe's work request failed");
    }
    flush_progress(wj);
    uv_close((uv_handle_t *)&wj->async, async_closed);
}

static void discard_closed(uv_handle_t *h)
{
    struct wipe_job *wj = h->data;
    uv_mutex_destroy(&wj->lock);
    wipe_free(wj);
}

/* Allocates the job state with its async handle and queues fn. */
static int wipe_queue(struct enf_cmd_job *j, struct wipe_job *wj, uv_work_cb fn)
{
    int r, rc;
    if (uv_mutex_init(&wj->lock) != 0) {
        wipe_free(wj);
        return WARD_ENOMEM;
    }
    r = uv_async_init(j->loop, &wj->async, on_async);
    if (r != 0) {
        uv_mutex_destroy(&wj->lock);
        wipe_free(wj);
        return enf_cmdu_uv_err(r);
    }
    wj->async.data = wj;
    wj->work.data = wj;
    j->priv = wj;
    r = uv_queue_work(j->loop, &wj->work, fn, work_after);
    if (r != 0) {
        /* nothing is under way: close the handle and free without reporting */
        j->priv = NULL;
        rc = enf_cmdu_uv_err(r);
        uv_close((uv_handle_t *)&wj->async, discard_closed);
        return rc;
    }
    return 0;
}

static int wipe_start(struct enf_cmd_job *j)
{
    struct wipe_job *wj;
    int rc;

    if (enf_cmdu_personal(j)) {
        WARD_INFO("full_wipe %s refused: personally owned device", j->id);
        enf_job_done(j, WARD_EDENIED, NULL,
                     "full wipe is not allowed on a personally owned device");
        return 0;
    }
    wj = ward_calloc(1, sizeof(*wj));
    if (!wj)
        return WARD_ENOMEM;
    wj->j = j;
    wj->step = WP_PLAN;
    wj->allow_overwrite = enf_param_bool(j->params, "allow_overwrite", 0);
    rc = copy_devices(wj, json_object_get(j->params, "devices"));
    if (rc != 0) {
        wipe_free(wj);
        return rc;
    }
    return wipe_queue(j, wj, plan_work);
}

static int resume_acked(struct enf_cmd_job *j)
{
    const char *method = j->saved ? enf_param_str(j->saved, "method", NULL) : NULL;
    struct wipe_job *wj;
    int rc = 0;

    if (enf_cmdu_personal(j)) {
        enf_job_done(j, WARD_EDENIED, NULL,
                     "full wipe is not allowed on a personally owned device");
        return 0;
    }
    if (!method || (strcmp(method, "crypto_erase") != 0 && strcmp(method, "overwrite") != 0)) {
        enf_job_done(j, WARD_ESTATE, NULL, "the saved wipe plan is missing or unreadable");
        return 0;
    }
    wj = ward_calloc(1, sizeof(*wj));
    if (!wj)
        return WARD_ENOMEM;
    wj->j = j;
    wj->step = WP_ACT;
    if (strcmp(method, "crypto_erase") == 0) {
        const char *dev = enf_param_str(j->saved, "device", "");
        const char *uuid = enf_param_str(j->saved, "uuid", "");
        wj->crypto = 1;
        if (!valid_device(dev, strlen(dev)) || strlen(uuid) >= sizeof(wj->uuid))
            rc = WARD_EINVAL;
        snprintf(wj->info.device, sizeof(wj->info.device), "%s", dev);
        snprintf(wj->uuid, sizeof(wj->uuid), "%s", uuid);
    } else {
        rc = copy_devices(wj, json_object_get(j->saved, "devices"));
        if (rc == 0 && wj->ndev == 0)
            rc = WARD_EINVAL;
    }
    if (rc != 0) {
        wipe_free(wj);
        enf_job_done(j, rc == WARD_ENOMEM ? rc : WARD_ESTATE, NULL,
                     "the saved wipe plan is missing or unreadable");
        return 0;
    }
    return wipe_queue(j, wj, act_work);
}

static int resume_booted(struct enf_cmd_job *j)
{
    const char *method = j->saved ? enf_param_str(j->saved, "method", NULL) : NULL;
    json_t *out = json_object();
    int bad = !out;
    bad |= json_object_set_new(out, "wiped", json_true()) != 0;
    bad |= json_object_set_new(out, "method", json_string(method ? method : "unknown")) != 0;
    if (j->saved && json_object_get(j->saved, "device"))
        bad |= json_object_set(out, "device", json_object_get(j->saved, "device")) != 0;
    if (j->saved && json_object_get(j->saved, "devices"))
        bad |= json_object_set(out, "devices", json_object_get(j->saved, "devices")) != 0;
    if (bad) {
        json_decref(out);
        return WARD_ENOMEM;
    }
    enf_job_done(j, 0, out, NULL);
    return 0;
}

static int wipe_resume(struct enf_cmd_job *j, enum enf_cmd_phase phase)
{
    return phase == ENF_PHASE_ACKED ? resume_acked(j) : resume_booted(j);
}

static void wipe_cancel(struct enf_cmd_job *j)
{
    struct wipe_job *wj = j->priv;
    if (wj)
        atomic_store(&wj->cancelled, 1); /* the work thread looks between steps */
}

/* ---- table ------------------------------------------------------------------------------- */

static const struct enf_field wipe_fields[] = {
    {.name = "devices",
     .type = ENF_F_STRINGS,
     .description = "Only for a device whose root filesystem is not on LUKS: the block "
                    "devices to overwrite with zeros (absolute paths under /dev/, at most 64), "
                    "together with `allow_overwrite`. Mounted or otherwise busy devices are "
                    "refused. Ignored when the root is on LUKS (the crypto-erase covers it)."},
    {.name = "allow_overwrite",
     .type = ENF_F_BOOL,
     .def = "false",
     .description = "Allows the zero overwrite of `devices` when the root filesystem is not "
                    "encrypted. Without it such a device refuses the wipe."},
    {.name = NULL},
};

const struct enf_cmd enf_cmd_full_wipe = {
    .name = "full_wipe",
    .summary = "Makes the device's data unrecoverable and powers it off. With the root "
               "filesystem on LUKS it is a crypto-erase: every key slot and the whole LUKS "
               "header area are destroyed, so the encrypted data can never be decrypted again "
               "(the data area itself is not rewritten). Without LUKS it refuses unless "
               "`devices` and `allow_overwrite` name devices to overwrite with zeros. The "
               "result is first `accepted` with the plan (`method` \"crypto_erase\" with "
               "`device`, `luks_version`, `keyslots`; or \"overwrite\" with `devices`); the "
               "wipe runs once the service acknowledged it, and a failure is reported with "
               "what was done. Refused on personally owned devices.",
    .flags =
        ENF_CMD_DESTRUCTIVE | ENF_CMD_NEEDS_OFFLINE_KEY | ENF_CMD_REBOOTS | ENF_CMD_CORPORATE_ONLY,
    .capability = ENF_CAP_FULL_WIPE,
    .fields = wipe_fields,
    .validate = wipe_validate,
    .start = wipe_start,
    .cancel = wipe_cancel,
    .resume = wipe_resume,
};

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * selective_wipe (Intune's Retire): removes what Ward put on the device and nothing else,
 * then reports a receipt the device key signed and forgets the identity.
 *
 *   1. The host retires the baselines (agent_baselines_retire): no more enforcement or drift
 *      repair, and every restore_on_removal setting gets its prior state back.
 *   2. Every managed artifact (agent/artifacts.h) is removed off the loop thread: a file
 *      Ward created is unlinked (under the job's root, never following a path out of it);
 *      a package Ward installed is removed with the OS package manager (live system only,
 *      as the package setting kind) unless the removal would take along a package that is
 *      not itself an artifact (apt-get's plan is read first); each removed one leaves the
 *      table.
 *   3. The receipt, {"format": "ward-selective-wipe-receipt-1", "command_id", "wiped_at",
 *      "removed": [{kind, name, result, error}]}, is signed with the device key; the result
 *      carries its exact text and the signature, and ward-server verifies it against the
 *      device certificate and keeps it (ward-server device show).
 *   4. When everything was removed the command succeeds and asks for ENF_REQ_UNENROLL (the
 *      identity goes once the service acknowledged the result). When something could not be
 *      removed it fails with the same receipt and the identity stays, so it can be retried.
 */
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "cmd_portable.h"
#include "platform/fs.h"
#include "platform/proc.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/time.h"

#define RECEIPT_FORMAT "ward-selective-wipe-receipt-1"

struct retire {
    uv_work_t work;
    json_t *removed;   /* [{kind, name, result, error}] */
    json_t *artifacts; /* from the host */
    int canceled;
};

static void add_item(json_t *list, const char *kind, const char *name, const char *result,
                     const char *error)
{
    json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s?}", "kind", kind, "name", name,
                                          "result", result, "error", error));
}

static void retire_work(uv_work_t *w)
{
    struct enf_cmd_job *j = w->data;
    struct retire *r = j->priv;
    const json_t *a;
    size_t i;

    json_array_foreach(r->artifacts, i, a)
    {
        const char *kind = json_string_value(json_object_get(a, "kind"));
        const char *name = json_string_value(json_object_get(a, "name"));
        char err[320] = "";
        int rc;

        if (!kind || !name)
            continue;
        if (strcmp(kind, "file") == 0) {
            rc = name[0] == '/' ? plat_fs_unlink(j->root, name, strlen(name)) : WARD_EPATH;
            if (rc == WARD_ENOENT)
                rc = 0; /* already gone: nothing of Ward's is left there */
            if (rc != 0)
                snprintf(err, sizeof(err), "%s", ward_strerror(rc));
        } else if (strcmp(kind, "package") == 0) {
            rc = enf_os_package_remove(j->root, name, r->artifacts, err, sizeof(err));
        } else {
            rc = WARD_ENOTSUP;
            snprintf(err, sizeof(err), "this agent cannot remove a '%s' artifact", kind);
        }
        add_item(r->removed, kind, name, rc == 0 ? "removed" : "failed", rc == 0 ? NULL : err);
    }
}

static void finish(struct enf_cmd_job *j, int rc, const char *error)
{
    struct retire *r = j->priv;
    json_t *out = NULL, *receipt;
    char *text = NULL, *sig = NULL, now[32], msg[160];
    size_t failed = 0, i;
    const json_t *x;

    j->priv = NULL;
    if (rc == 0) {
        json_array_foreach(r->removed, i, x)
        {
            const char *res = json_string_value(json_object_get(x, "result"));
            failed += res && strcmp(res, "failed") == 0;
        }
        ward_time_iso(ward_time_now(), now, sizeof(now));
        receipt = json_pack("{s:s, s:s, s:s, s:O}", "format", RECEIPT_FORMAT, "command_id", j->id,
                            "wiped_at", now, "removed", r->removed);
        rc = receipt ? ward_json_dumps(receipt, WARD_JSON_SORT_KEYS, &text, NULL) : WARD_ENOMEM;
        json_decref(receipt);
        if (rc == 0)
            rc = j->host->sign(j, text, strlen(text), &sig);
        if (rc == 0)
            out = json_pack("{s:s, s:s, s:I, s:I}", "receipt", text, "signature", sig, "removed",
                            (json_int_t)(json_array_size(r->removed) - failed), "failed",
                            (json_int_t)failed);
        if (rc == 0 && !out)
            rc = WARD_ENOMEM;
        if (rc != 0)
            error = "cannot sign the receipt";
        else if (failed > 0) {
            snprintf(msg, sizeof(msg),
                     "%zu item(s) could not be removed; the device stays enrolled so the wipe"
                     " can be retried",
                     failed);
            rc = WARD_EIO;
            error = msg;
        } else {
            j->requests |= ENF_REQ_UNENROLL;
        }
    }
    json_decref(r->removed);
    json_decref(r->artifacts);
    ward_free(r);
    ward_free(text);
    ward_free(sig);
    enf_job_done(j, rc, out, rc == 0 ? NULL : error);
}

static void retire_after(uv_work_t *w, int status)
{
    struct enf_cmd_job *j = w->data;
    struct retire *r = j->priv;
    if (status != 0 || r->canceled) {
        finish(j, WARD_ECANCELED, "canceled");
        return;
    }
    finish(j, 0, NULL);
}

static void on_settings(struct enf_cmd_job *j, int rc, json_t *list)
{
    struct retire *r = j->priv;
    size_t i;
    json_t *x;

    if (rc == WARD_ESTATE) {
        rc = 0; /* nothing enforces baselines here */
    } else if (rc != 0) {
        json_decref(list);
        finish(j, rc, "cannot restore the baselines' settings");
        return;
    }
    json_array_foreach(list, i, x)
    {
        json_array_append(r->removed, x);
    }
    json_decref(list);
    if (r->canceled) {
        finish(j, WARD_ECANCELED, "canceled");
        return;
    }
    enf_job_progress(j, "baselines retired; removing managed artifacts");
    rc = j->host->artifact_list(j, &r->artifacts);
    if (rc == 0) {
        /* What leaves the table is decided here, on the loop: the worker only acts. */
        r->work.data = j;
        rc = uv_queue_work(j->loop, &r->work, retire_work, retire_after);
        if (rc != 0)
            rc = WARD_EIO;
    }
    if (rc != 0)
        finish(j, rc, "cannot list the managed artifacts");
}

static int retire_start(struct enf_cmd_job *j)
{
    struct retire *r = ward_calloc(1, sizeof(*r));
    int rc;
    if (!r || !(r->removed = json_array())) {
        ward_free(r);
        return WARD_ENOMEM;
    }
    j->priv = r;
    enf_job_progress(j, "retiring the baselines");
    rc = j->host->retire_settings(j, on_settings);
    if (rc == WARD_ESTATE) {
        on_settings(j, rc, NULL);
        return 0;
    }
    if (rc != 0) {
        json_decref(r->removed);
        ward_free(r);
        j->priv = NULL;
    }
    return rc;
}

static void retire_cancel(struct enf_cmd_job *j)
{
    struct retire *r = j->priv;
    if (r)
        r->canceled = 1; /* a removal under way finishes; nothing new starts */
}

const struct enf_cmd enf_cmd_selective_wipe = {
    .name = "selective_wipe",
    .summary = "Removes what Ward put on the device and nothing else (Intune's Retire): every "
               "baseline stops being enforced and its `restore_on_removal` settings get their "
               "prior state back, every managed artifact (a file Ward created, a package it "
               "installed; certificates and network profiles when they exist) is removed, and "
               "a package whose removal would take along one Ward did not install (apt-get's "
               "plan is read first) is left in place and reported as failed, and "
               "the result carries a receipt listing each item, signed with the device key, "
               "which the service verifies and keeps (`ward-server device show`). When all of "
               "it was removed the device then unenrolls; when something could not be, the "
               "command fails with the receipt and the device stays enrolled for a retry. "
               "Accepted on personal devices: it is how one leaves management.",
    .flags = ENF_CMD_DESTRUCTIVE,
    .fields = (const struct enf_field[]){{.name = NULL}},
    .start = retire_start,
    .cancel = retire_cancel,
};

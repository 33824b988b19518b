/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device-command contract (DESIGN section 4), for whoever adds a command. A command is
 * a const table (struct enf_cmd) listed in its OS's command registry
 * (enforcement/src/<os>/commands.c): a name, flags, a parameter field table (the same
 * struct enf_field as setting kinds: it validates the params before the command is
 * journaled as accepted, and docs/commands.md is generated from it), and the slots below.
 *
 * The agent's job runner (agent/src/jobs.c) is the host: it journals each command, calls
 * start on the loop thread, and records what the handler reports through the host table
 * (struct enf_cmd_host) in the command journal. Slot rules:
 *   - validate (optional) checks what the field table cannot; the table passed already.
 *   - start begins the work and returns at once (never blocks the loop: children through
 *     plat_proc_spawn, blocking calls through uv_queue_work). It returns 0 when the command
 *     is under way, and then enf_job_done is called exactly once later (or from within
 *     start); a non-zero return means it failed to start and done will not be called.
 *   - cancel (optional) asks a running handler to stop (agent shutdown); done still comes.
 *   - resume is for commands that finish across a power cycle (REBOOTS). Such a handler
 *     calls enf_job_await_ack instead of done: the host persists the command as
 *     awaiting_reboot with the boot id, sends the result `accepted`, and once the service
 *     acknowledged it calls resume(ENF_PHASE_ACKED) (the reboot, the wipe). After the agent
 *     starts again it calls resume(ENF_PHASE_BOOTED) when the boot id changed, or
 *     resume(ENF_PHASE_ACKED) again when it did not (the action was cut short by a crash or
 *     power loss and resumes); the handler then calls enf_job_done or starts the action
 *     again. The host bounds the number of ACKED resumptions.
 *   - done and await_ack take ownership of output (a reference is stolen, NULL allowed);
 *     saved is borrowed (the host copies it into the journal). done with WARD_EDENIED
 *     reports the status `denied` (the device's own policy refused, e.g. a personal device
 *     asked to remove a package the organisation did not install); any other error is
 *     `failed`.
 *
 * Authority (docs/commands.md, "Who may do what"): before a command is journaled as
 * accepted the agent checks it against what enrollment granted: `capability` names the
 * grant the device must hold (NULL: none needed), ENF_CMD_CORPORATE_ONLY refuses it on a
 * personal device whatever the grants, and a destructive command (the flag, or
 * destructive_for(params) for a command only some of whose forms are) needs the offline
 * administrator's signature when the device pinned an offline key at enrollment;
 * ENF_CMD_NEEDS_OFFLINE_KEY needs it always, so a device without one refuses the command.
 * A refusal is the result `denied` with the reason; the handler never runs.
 */
#ifndef ENFORCEMENT_COMMAND_H
#define ENFORCEMENT_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "enforcement/kind.h"
#include "ward/buf.h"

enum enf_cmd_flags {
    ENF_CMD_DESTRUCTIVE = 1u << 0,       /* loses data or code runs: may need the offline key */
    ENF_CMD_NEEDS_OFFLINE_KEY = 1u << 1, /* always needs the offline administrator signature */
    ENF_CMD_REBOOTS = 1u << 2,           /* ends in a power cycle; implements resume */
    ENF_CMD_LONG_RUNNING = 1u << 3,      /* minutes or hours: runs beside quick commands */
    ENF_CMD_CORPORATE_ONLY = 1u << 4,    /* a personal (BYOD) device always refuses it */
};

/* Grants a device holds from enrollment (the token's --allow). */
#define ENF_CAP_FULL_WIPE "full_wipe"
#define ENF_CAP_SCRIPTS "scripts"
#define ENF_CAP_PACKAGES "packages"

enum enf_cmd_phase {
    ENF_PHASE_ACKED,  /* the service acknowledged `accepted`: do the action */
    ENF_PHASE_BOOTED, /* the device booted since: report the final result */
};

/* What the agent does besides the result (applied in the result's transaction). */
/* What the person at the device asks of a running command (local IPC, the tray). */
enum enf_cmd_user_op {
    ENF_USER_DEFER, /* postpone it, within the deferrals the command allows */
    ENF_USER_NOW,   /* do not wait out the rest of the grace period */
};

enum enf_cmd_request {
    ENF_REQ_SYNC = 1u << 0,      /* check in again at once */
    ENF_REQ_INVENTORY = 1u << 1, /* a full inventory upload after this check-in */
    ENF_REQ_UNENROLL = 1u << 2,  /* forget the identity once the result is acknowledged */
};

struct enf_cmd_job;

/* Download of a file the service offers (by path on the service, SHA-256 and the signed
 * length), into a 0600 file in the job's directory. cb gets 0 and the path (borrowed for
 * the callback), or the error and a reason; a failed download leaves no file behind. */
typedef void (*enf_cmd_download_fn)(struct enf_cmd_job *j, int rc, const char *path,
                                    const char *error);

/* A list the host produced for a handler (list new, or NULL with rc != 0). */
typedef void (*enf_cmd_list_fn)(struct enf_cmd_job *j, int rc, json_t *list);

/* What the job runner provides; handlers call the enf_job_* wrappers below. */
struct enf_cmd_host {
    void (*done)(struct enf_cmd_job *j, int rc, json_t *output, const char *error);
    int (*await_ack)(struct enf_cmd_job *j, json_t *output, const json_t *saved);
    void (*progress)(struct enf_cmd_job *j, const char *text);
    int (*download)(struct enf_cmd_job *j, const char *url, const char *sha256, uint64_t length,
                    enf_cmd_download_fn cb);
    /* Managed artifacts: what Ward put on the device, which selective_wipe removes and a
     * personal device lets Ward remove again. kind is "package", "file", ...; name the
     * package name or absolute path; detail (borrowed, may be NULL) what removal needs.
     * artifact_add replaces an existing (kind, name); artifact_has answers 1 or 0 (or a
     * negative error); artifact_remove forgets one (0 also when it was not there). */
    int (*artifact_add)(struct enf_cmd_job *j, const char *kind, const char *name,
                        const json_t *detail);
    int (*artifact_has)(struct enf_cmd_job *j, const char *kind, const char *name);
    int (*artifact_remove)(struct enf_cmd_job *j, const char *kind, const char *name);
    /* [{kind, name, detail, command_id, added_at}] (new). */
    int (*artifact_list)(struct enf_cmd_job *j, json_t **out);
    /* selective_wipe: the agent stops enforcing baselines for good and restores every
     * restore_on_removal setting; cb gets [{kind: "setting", name, result, error}] (new)
     * or an error. */
    int (*retire_settings)(struct enf_cmd_job *j, enf_cmd_list_fn cb);
    /* The device key's signature (SHA-256; ECDSA for the P-256 device key) over msg,
     * base64 in *sig (new), so the service can keep a receipt the device signed. */
    int (*sign)(struct enf_cmd_job *j, const void *msg, size_t len, char **sig);
};

struct enf_cmd;

/* One running command. The host owns it; handlers read the fields and keep their own state
 * in priv (freed by the handler before it calls done). */
struct enf_cmd_job {
    const struct enf_cmd *cmd;
    const struct enf_cmd_host *host;
    void *host_ctx;
    uv_loop_t *loop;
    const char *root;      /* the managed system's root ("/" or a test root) */
    const char *id;        /* command id */
    const char *workdir;   /* private 0700 directory of this job (removed after it) */
    const json_t *params;  /* validated */
    const json_t *saved;   /* resume: what await_ack stored; NULL otherwise */
    const char *ownership; /* "corporate" or "personal" */
    /* A cgroup v2 directory delegated to the agent (plat_proc_cgroup_delegated) whose
     * children get groups of their own with memory.max; NULL: rlimits only. */
    const char *cgroup_parent;
    unsigned requests; /* enum enf_cmd_request bits the handler sets */
    void *priv;
};

struct enf_cmd {
    const char *name;
    const char *summary; /* one line for docs/commands.md */
    unsigned flags;
    const struct enf_field *fields; /* terminated by an entry with name NULL */
    const char *capability;         /* ENF_CAP_*: the grant it needs, or NULL */
    int (*validate)(const json_t *params, struct ward_buf *err);
    /* Optional: 1 when these (validated) params make the command destructive although the
     * command is not flagged so (a package installed from a file). */
    int (*destructive_for)(const json_t *params);
    int (*start)(struct enf_cmd_job *j);
    void (*cancel)(struct enf_cmd_job *j);
    int (*resume)(struct enf_cmd_job *j, enum enf_cmd_phase phase);
    /* Optional, for a command the person at the device should hear about while it runs (a
     * pending reboot): a new object {action, due, deadline, deferrals, deferred, message}
     * with due and deadline as UTC times, or NULL when there is nothing to show now. */
    json_t *(*notice)(struct enf_cmd_job *j);
    /* Optional: the person at the device asks (enum enf_cmd_user_op). 0 when done (the
     * handler calls enf_job_progress with what changed, so the host can tell listeners);
     * WARD_ESTATE with why when the command is past the point where it could, WARD_EDENIED
     * when the command does not allow it (no deferrals left, the deadline). */
    int (*user_request)(struct enf_cmd_job *j, enum enf_cmd_user_op op, char *why, size_t whylen);
};

/* This OS's commands, NULL-terminated (enforcement/src/<os>/commands.c). */
extern const struct enf_cmd *const enf_os_commands[];
const struct enf_cmd *enf_cmd_find(const char *name);

/* Validates params (an object) against the command's field table and its validate slot.
 * 0, or WARD_EINVAL with one line per problem in err ("$.timeout: must be ..."). */
int enf_cmd_validate(const struct enf_cmd *c, const json_t *params, struct ward_buf *err);

/* 1 when the command, with these validated params, counts as destructive. */
int enf_cmd_destructive(const struct enf_cmd *c, const json_t *params);

/* docs/commands.md's generated part. */
int enf_cmd_markdown(struct ward_buf *out);

static inline void enf_job_done(struct enf_cmd_job *j, int rc, json_t *output, const char *error)
{
    j->host->done(j, rc, output, error);
}
static inline int enf_job_await_ack(struct enf_cmd_job *j, json_t *output, const json_t *saved)
{
    return j->host->await_ack(j, output, saved);
}
static inline void enf_job_progress(struct enf_cmd_job *j, const char *text)
{
    j->host->progress(j, text);
}
static inline int enf_job_artifact_add(struct enf_cmd_job *j, const char *kind, const char *name,
                                       const json_t *detail)
{
    return j->host->artifact_add(j, kind, name, detail);
}
static inline int enf_job_artifact_has(struct enf_cmd_job *j, const char *kind, const char *name)
{
    return j->host->artifact_has(j, kind, name);
}
static inline int enf_job_artifact_remove(struct enf_cmd_job *j, const char *kind, const char *name)
{
    return j->host->artifact_remove(j, kind, name);
}
static inline int enf_job_download(struct enf_cmd_job *j, const char *url, const char *sha256,
                                   uint64_t length, enf_cmd_download_fn cb)
{
    return j->host->download(j, url, sha256, length, cb);
}

/* Params getters (validated: types are right). */
const char *enf_param_str(const json_t *p, const char *name, const char *def);
long long enf_param_int(const json_t *p, const char *name, long long def);
int enf_param_bool(const json_t *p, const char *name, int def);

#endif

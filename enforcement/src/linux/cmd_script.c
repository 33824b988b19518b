/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `run_script` command: an administrator's script, given inline or as a file the
 * service offers (downloaded and verified by the host), run by one of a fixed set of
 * interpreters as a child process: argv only ({interpreter, script, args...}, never a
 * shell command line), the job's private directory as working directory, a scrubbed
 * environment, a timeout that kills the whole process group, optional run-as user and CPU
 * and memory limits, and the head and the tail of stdout and stderr kept.
 *
 * Steps, none blocking the loop: (download) -> prepare on a work thread (user lookup,
 * script file written 0700 and owned by the run-as user) -> plat_proc_spawn -> result.
 * The script is named "./script" relative to the working directory: the child enters that
 * directory while still root, so a run-as user can read the script even when the job
 * directory's ancestors (the agent's state directory) are closed to it.
 */
#define WARD_LOG_TAG "enf-cmd"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd_util.h"
#include "cmds.h"
#include "platform/fs.h"
#include "platform/proc.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define SCRIPT_MAX 262144
#define ARGS_MAX 64
#define ARG_MAX_BYTES 4096
/* a downloaded script outside the job directory is copied; bigger ones are refused */
#define COPY_MAX (64u * 1024u * 1024u)
#define KILL_GRACE_MS 5000u

/* error.h has no "the program failed" code; EIO ("input/output error") is the closest
 * generic failure. Timeouts use WARD_ETIMEDOUT. */
#define SCRIPT_FAILED WARD_EIO

enum script_phase {
    SC_DOWNLOAD, /* the host fetches the file */
    SC_PREPARE,  /* the work thread writes the script */
    SC_RUNNING,  /* the child runs */
};

struct script_job {
    uv_work_t work;
    struct enf_cmd_job *j;
    enum script_phase phase;
    int cancelled;
    struct plat_proc *proc;
    uint64_t started_ns;

    const char *user;     /* borrowed from params */
    char *download;       /* host path of the downloaded file, NULL for an inline script */
    char script_rel[512]; /* "./script" */
    uint32_t uid, gid;
    char home[PLAT_FS_MAX_PATH];

    int rc;
    char why[512];

    /* kept until the child is done */
    const char **argv;
    char *env_store[4];
    const char *env[5];
};

/* ---- validate ---------------------------------------------------------------------------- */

/* POSIX portable user name, as plat_user_lookup accepts it. */
static int valid_user(const char *s, size_t n)
{
    if (n == 0 || n > PLAT_USER_NAME_MAX || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                 (i > 0 && ((c >= '0' && c <= '9') || c == '.' || c == '-'));
        if (!ok)
            return 0;
    }
    return 1;
}

static int script_validate(const json_t *params, struct ward_buf *err)
{
    const json_t *script = json_object_get(params, "script"),
                 *file = json_object_get(params, "file"), *args = json_object_get(params, "args"),
                 *user = json_object_get(params, "user");
    int bad = 0;

    if (script && file) {
        enf_cmdu_diag(err, "$", "give either script or file, not both");
        bad = 1;
    } else if (!script && !file) {
        enf_cmdu_diag(err, "$", "missing the script: give script (inline text) or file");
        bad = 1;
    }
    if (script && json_string_length(script) > SCRIPT_MAX) {
        enf_cmdu_diag(err, "$.script", "longer than %d bytes: offer it as a file instead",
                      SCRIPT_MAX);
        bad = 1;
    }
    if (file)
        bad |= enf_cmdu_validate_file(file, "$.file", err);
    if (args) {
        size_t i;
        json_t *a;
        if (json_array_size(args) > ARGS_MAX) {
            enf_cmdu_diag(err, "$.args", "more than %d arguments", ARGS_MAX);
            bad = 1;
        }
        json_array_foreach((json_t *)(uintptr_t)args, i, a)
        {
            char path[64];
            snprintf(path, sizeof(path), "$.args[%zu]", i);
            if (json_string_length(a) > ARG_MAX_BYTES) {
                enf_cmdu_diag(err, path, "longer than %d bytes", ARG_MAX_BYTES);
                bad = 1;
            } else if (strlen(json_string_value(a)) != json_string_length(a)) {
                enf_cmdu_diag(err, path, "contains a NUL byte");
                bad = 1;
            }
        }
    }
    if (user && !valid_user(json_string_value(user), json_string_length(user))) {
        enf_cmdu_diag(err, "$.user",
                      "must be a user name of 1 to %d characters from [A-Za-z0-9_.-], not "
                      "starting with a digit, '.' or '-'",
                      PLAT_USER_NAME_MAX);
        bad = 1;
    }
    return bad ? WARD_EINVAL : 0;
}

/* ---- result ------------------------------------------------------------------------------ */

static json_t *script_output(const struct plat_proc_result *r, uint64_t duration_ms)
{
    json_t *out = json_object();
    int bad = !out;
    bad |= json_object_set_new(out, "exit_code",
                               r->term_signal ? json_null() : json_integer(r->exit_status)) != 0;
    bad |= json_object_set_new(out, "signal", json_integer(r->term_signal)) != 0;
    bad |= json_object_set_new(out, "timed_out", json_boolean(r->timed_out)) != 0;
    bad |= json_object_set_new(out, "limit_exceeded", json_boolean(r->limit_exceeded)) != 0;
    bad |= json_object_set_new(
               out, "limits", json_string(r->limits_mechanism ? r->limits_mechanism : "none")) != 0;
    bad |= json_object_set_new(
               out, "stdout",
               enf_cmdu_stream_text(r->out, r->out_len, r->out_head_len, r->out_dropped)) != 0;
    bad |= json_object_set_new(
               out, "stderr",
               enf_cmdu_stream_text(r->err, r->err_len, r->err_head_len, r->err_dropped)) != 0;
    bad |= json_object_set_new(out, "stdout_bytes", json_integer((json_int_t)r->out_total)) != 0;
    bad |= json_object_set_new(out, "stderr_bytes", json_integer((json_int_t)r->err_total)) != 0;
    bad |=
        json_object_set_new(out, "stdout_dropped", json_integer((json_int_t)r->out_dropped)) != 0;
    bad |=
        json_object_set_new(out, "stderr_dropped", json_integer((json_int_t)r->err_dropped)) != 0;
    bad |= json_object_set_new(out, "duration_ms", json_integer((json_int_t)duration_ms)) != 0;
    if (bad) {
        json_decref(out);
        return NULL;
    }
    return out;
}

static void script_free(struct script_job *sj)
{
    if (!sj)
        return;
    for (size_t i = 0; i < sizeof(sj->env_store) / sizeof(sj->env_store[0]); i++)
        ward_free(sj->env_store[i]);
    ward_free(sj->argv);
    ward_free(sj->download);
    ward_free(sj);
}

/* Ends the job: frees the handler's state first (the contract), then reports. */
static void script_finish(struct script_job *sj, int rc, json_t *out, const char *why)
{
    struct enf_cmd_job *j = sj->j;
    j->priv = NULL;
    script_free(sj);
    if (rc != 0)
        WARD_LOG_WARN_ERR(rc, "run_script %s: %s", j->id, why ? why : ward_strerror(rc));
    enf_job_done(j, rc, out, rc != 0 ? (why ? why : ward_strerror(rc)) : NULL);
}

static void proc_done(struct plat_proc *proc, struct plat_proc_result *r, void *ctx)
{
    struct script_job *sj = ctx;
    uint64_t ms = (uv_hrtime() - sj->started_ns) / 1000000u;
    json_t *out = script_output(r, ms);
    char why[128];
    int rc = 0;

    (void)proc;
    sj->proc = NULL;
    why[0] = '\0';
    if (!out) {
        rc = WARD_ENOMEM;
        snprintf(why, sizeof(why), "out of memory building the result");
    } else if (sj->cancelled) {
        rc = WARD_ECANCELED;
        snprintf(why, sizeof(why), "cancelled: the agent is stopping");
    } else if (r->timed_out) {
        rc = WARD_ETIMEDOUT;
        snprintf(why, sizeof(why), "timed out after %lld s",
                 enf_param_int(sj->j->params, "timeout", 600));
    } else if (r->term_signal) {
        rc = SCRIPT_FAILED;
        snprintf(why, sizeof(why), "killed by signal %d%s", r->term_signal,
                 r->limit_exceeded ? " (a resource limit was exceeded)" : "");
    } else if (r->exit_status != 0) {
        rc = SCRIPT_FAILED;
        snprintf(why, sizeof(why), "exit code %lld", (long long)r->exit_status);
    }
    script_finish(sj, rc, out, why[0] ? why : NULL);
}

/* ---- spawn ------------------------------------------------------------------------------- */

static int env_add(struct script_job *sj, size_t *n, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 2;
    char *e = ward_malloc(len);
    if (!e)
        return WARD_ENOMEM;
    snprintf(e, len, "%s=%s", name, value);
    sj->env_store[*n] = e;
    sj->env[*n] = e;
    (*n)++;
    sj->env[*n] = NULL;
    return 0;
}

static void spawn_child(struct script_job *sj)
{
    struct enf_cmd_job *j = sj->j;
    const json_t *args = json_object_get(j->params, "args");
    struct plat_proc_opts o;
    size_t nargs = json_array_size(args), n = 0;
    size_t cap = (size_t)enf_param_int(j->params, "output_max", 65536);
    long long mem = enf_param_int(j->params, "memory_mb", 0);
    char why[256];
    int rc;

    sj->argv = ward_calloc(nargs + 3, sizeof(*sj->argv));
    if (!sj->argv) {
        script_finish(sj, WARD_ENOMEM, NULL, NULL);
        return;
    }
    sj->argv[0] = enf_param_str(j->params, "interpreter", "/bin/sh");
    sj->argv[1] = sj->script_rel;
    for (size_t i = 0; i < nargs; i++)
        sj->argv[2 + i] = json_string_value(json_array_get(args, i));
    sj->argv[nargs + 2] = NULL;

    rc = env_add(sj, &n, "HOME", sj->user ? sj->home : j->workdir);
    if (rc == 0)
        rc = env_add(sj, &n, "WARD_COMMAND_ID", j->id ? j->id : "");
    if (rc == 0 && sj->user)
        rc = env_add(sj, &n, "USER", sj->user);
    if (rc == 0 && sj->user)
        rc = env_add(sj, &n, "LOGNAME", sj->user);
    if (rc != 0) {
        script_finish(sj, rc, NULL, NULL);
        return;
    }

    memset(&o, 0, sizeof(o));
    o.argv = sj->argv;
    o.env = sj->env;
    o.cwd = j->workdir;
    o.stdout_max = o.stderr_max = cap;
    o.stdout_tail = o.stderr_tail = cap;
    o.timeout_ms = (uint64_t)enf_param_int(j->params, "timeout", 600) * 1000u;
    o.kill_grace_ms = KILL_GRACE_MS;
    if (sj->user) {
        o.run_as = 1;
        o.uid = sj->uid;
        o.gid = sj->gid;
    }
    o.cpu_seconds = (uint64_t)enf_param_int(j->params, "cpu_seconds", 0);
    o.memory_bytes = mem > 0 ? (uint64_t)mem << 20 : 0;
    /* A group of its own when the agent has a delegated subtree: memory.max for the whole
     * script, and whatever it leaves behind dies with the group. */
    o.cgroup_parent = j->cgroup_parent;

    sj->phase = SC_RUNNING;
    sj->started_ns = uv_hrtime();
    rc = plat_proc_spawn(j->loop, &o, proc_done, sj, &sj->proc);
    if (rc != 0) {
        snprintf(why, sizeof(why), "cannot start %s%s%s: %s", sj->argv[0], sj->user ? " as " : "",
                 sj->user ? sj->user : "", ward_strerror(rc));
        script_finish(sj, rc, NULL, why);
    }
}

/* ---- prepare (work thread) --------------------------------------------------------------- */

static int prepare_inline(struct script_job *sj, const struct plat_fs_attrs *attrs)
{
    struct enf_cmd_job *j = sj->j;
    const json_t *script = json_object_get(j->params, "script");
    char path[PLAT_FS_MAX_PATH];
    int rc;
    if ((size_t)snprintf(path, sizeof(path), "%s/script", j->workdir) >= sizeof(path))
        return WARD_EPATH;
    rc = plat_fs_write_atomic(NULL, path, PLAT_FS_NTS, json_string_value(script),
                              json_string_length(script), attrs);
    if (rc != 0)
        snprintf(sj->why, sizeof(sj->why), "cannot write the script to %.300s: %s", path,
                 ward_strerror(rc));
    snprintf(sj->script_rel, sizeof(sj->script_rel), "./script");
    return rc;
}

static int prepare_download(struct script_job *sj, const struct plat_fs_attrs *attrs)
{
    struct enf_cmd_job *j = sj->j;
    size_t wl = strlen(j->workdir);
    char path[PLAT_FS_MAX_PATH], *data = NULL;
    size_t len = 0;
    int rc;

    /* normally the host downloads into the job directory: use the file where it is */
    if (strncmp(sj->download, j->workdir, wl) == 0 && sj->download[wl] == '/' &&
        !strstr(sj->download + wl, "/../") &&
        strlen(sj->download + wl) + 2 < sizeof(sj->script_rel)) {
        rc = plat_fs_set_attrs(NULL, sj->download, PLAT_FS_NTS, attrs);
        if (rc != 0)
            snprintf(sj->why, sizeof(sj->why), "cannot set the mode and owner of %s: %s",
                     sj->download, ward_strerror(rc));
        snprintf(sj->script_rel, sizeof(sj->script_rel), ".%s", sj->download + wl);
        return rc;
    }
    rc = plat_fs_read_file(NULL, sj->download, PLAT_FS_NTS, COPY_MAX, &data, &len);
    if (rc == 0) {
        if ((size_t)snprintf(path, sizeof(path), "%s/script", j->workdir) >= sizeof(path))
            rc = WARD_EPATH;
        else
            rc = plat_fs_write_atomic(NULL, path, PLAT_FS_NTS, data, len, attrs);
    }
    ward_free(data);
    if (rc != 0)
        snprintf(sj->why, sizeof(sj->why), "cannot copy the downloaded script %s: %s", sj->download,
                 ward_strerror(rc));
    snprintf(sj->script_rel, sizeof(sj->script_rel), "./script");
    return rc;
}

static void prepare_work(uv_work_t *w)
{
    struct script_job *sj = w->data;
    struct enf_cmd_job *j = sj->j;
    /* No fsync: a crash makes the job interrupted, never run again, so the file is
     * worthless afterwards (a 0.3 ms saving on the way from envelope to exec). */
    struct plat_fs_attrs attrs = {.set = PLAT_FS_ATTR_MODE | PLAT_FS_WRITE_NOSYNC, .mode = 0700};
    int rc;

    if (sj->user) {
        rc = plat_user_lookup(sj->user, &sj->uid, &sj->gid, sj->home, sizeof(sj->home));
        if (rc != 0) {
            snprintf(sj->why, sizeof(sj->why), "%s user \"%s\"",
                     rc == WARD_ENOENT ? "no such" : "cannot look up the", sj->user);
            sj->rc = rc;
            return;
        }
        attrs.set |= PLAT_FS_ATTR_UID | PLAT_FS_ATTR_GID;
        attrs.uid = sj->uid;
        attrs.gid = sj->gid;
        /* the script may write into its working directory */
        rc = plat_fs_chown(NULL, j->workdir, PLAT_FS_NTS, sj->uid, sj->gid);
        if (rc != 0) {
            snprintf(sj->why, sizeof(sj->why), "cannot give %s to user \"%s\": %s", j->workdir,
                     sj->user, ward_strerror(rc));
            sj->rc = rc;
            return;
        }
    }
    sj->rc = sj->download ? prepare_download(sj, &attrs) : prepare_inline(sj, &attrs);
}

static void prepare_after(uv_work_t *w, int status)
{
    struct script_job *sj = w->data;
    int rc = status != 0 ? enf_cmdu_uv_err(status) : sj->rc;
    if (sj->cancelled) {
        script_finish(sj, WARD_ECANCELED, NULL, "cancelled: the agent is stopping");
        return;
    }
    if (rc != 0) {
        char why[sizeof(sj->why)];
        memcpy(why, sj->why, sizeof(why));
        script_finish(sj, rc, NULL, why[0] ? why : NULL);
        return;
    }
    spawn_child(sj);
}

static int queue_prepare(struct script_job *sj)
{
    int r;
    sj->phase = SC_PREPARE;
    sj->work.data = sj;
    r = uv_queue_work(sj->j->loop, &sj->work, prepare_work, prepare_after);
    return r != 0 ? enf_cmdu_uv_err(r) : 0;
}

static void downloaded(struct enf_cmd_job *j, int rc, const char *path, const char *error)
{
    struct script_job *sj = j->priv;
    char why[512];
    if (sj->cancelled) {
        script_finish(sj, WARD_ECANCELED, NULL, "cancelled: the agent is stopping");
        return;
    }
    if (rc != 0) {
        snprintf(why, sizeof(why), "cannot download the script: %s",
                 error && error[0] ? error : ward_strerror(rc));
        script_finish(sj, rc, NULL, why);
        return;
    }
    sj->download = ward_strdup(path);
    if (!sj->download) {
        script_finish(sj, WARD_ENOMEM, NULL, NULL);
        return;
    }
    rc = queue_prepare(sj);
    if (rc != 0)
        script_finish(sj, rc, NULL, "cannot queue the script's preparation");
}

/* ---- slots ------------------------------------------------------------------------------- */

static int script_start(struct enf_cmd_job *j)
{
    const json_t *file = json_object_get(j->params, "file");
    struct script_job *sj;
    int rc;

    if (enf_cmdu_personal(j)) {
        WARD_INFO("run_script %s refused: personally owned device", j->id);
        enf_job_done(j, WARD_EDENIED, NULL, "scripts are not allowed on a personally owned device");
        return 0;
    }
    if (!j->workdir || j->workdir[0] != '/')
        return WARD_EINVAL;
    sj = ward_calloc(1, sizeof(*sj));
    if (!sj)
        return WARD_ENOMEM;
    sj->j = j;
    sj->user = enf_param_str(j->params, "user", NULL);
    j->priv = sj;
    if (file) {
        sj->phase = SC_DOWNLOAD;
        rc = enf_job_download(j, json_string_value(json_object_get(file, "url")),
                              json_string_value(json_object_get(file, "sha256")),
                              (uint64_t)json_integer_value(json_object_get(file, "length")),
                              downloaded);
    } else {
        rc = queue_prepare(sj);
    }
    if (rc != 0) {
        j->priv = NULL;
        script_free(sj);
    }
    return rc;
}

static void script_cancel(struct enf_cmd_job *j)
{
    struct script_job *sj = j->priv;
    if (!sj)
        return;
    sj->cancelled = 1;
    if (sj->phase == SC_RUNNING && sj->proc)
        plat_proc_kill(sj->proc); /* proc_done reports, with what the script printed */
}

/* ---- table ------------------------------------------------------------------------------- */

static const char *const interpreters[] = {"/bin/sh", "/bin/bash", "/usr/bin/python3", NULL};

static const struct enf_field script_fields[] = {
    {.name = "interpreter",
     .type = ENF_F_ENUM,
     .required = 1,
     .allowed = interpreters,
     .description = "Program that runs the script; it is started as `interpreter script "
                    "args...` (an argument vector, never through a shell command line)."},
    {.name = "script",
     .type = ENF_F_STRING,
     .description = "The script's text, at most 262144 bytes. Give either `script` or `file`."},
    {.name = "file",
     .type = ENF_F_OBJECT,
     .description = "A script file the service offers, instead of `script`: `{\"url\": "
                    "\"/api/v1/files/<id>\", \"sha256\": \"<64 lowercase hex digits>\", "
                    "\"length\": <bytes, 1 to 2^40>}`. The agent downloads it and runs it only "
                    "when its length and SHA-256 match."},
    {.name = "args",
     .type = ENF_F_STRINGS,
     .description = "Arguments passed to the script verbatim, at most 64, each at most 4096 "
                    "bytes and without NUL bytes. Nothing is expanded or split."},
    {.name = "user",
     .type = ENF_F_STRING,
     .description = "Run as this local or directory user (POSIX name: 1 to 32 characters "
                    "from `[A-Za-z0-9_.-]`, first a letter or `_`) instead of root, with HOME "
                    "set to the user's home. The child gets the user's primary group and its "
                    "supplementary groups (as `initgroups` sets them), never the agent's."},
    {.name = "timeout",
     .type = ENF_F_INT,
     .min = 1,
     .max = 86400,
     .def = "600",
     .description = "Seconds the script may run. Then it and every process it started in "
                    "its process group get SIGTERM, and SIGKILL 5 s later; the result says "
                    "`timed_out`."},
    {.name = "output_max",
     .type = ENF_F_INT,
     .min = 1024,
     .max = 1048576,
     .def = "65536",
     .description = "Bytes kept of the start and, again, of the end of stdout and of stderr "
                    "each; what lies between is counted in `stdout_dropped`/`stderr_dropped` "
                    "and replaced by a `[... N bytes dropped ...]` line."},
    {.name = "cpu_seconds",
     .type = ENF_F_INT,
     .min = 1,
     .max = 86400,
     .description = "CPU time limit per process (RLIMIT_CPU): SIGXCPU at the limit, SIGKILL "
                    "a second later; the result says `limit_exceeded`."},
    {.name = "memory_mb",
     .type = ENF_F_INT,
     .min = 16,
     .max = 65536,
     .description = "Memory limit in MiB. Where the service manager delegated a cgroup v2 "
                    "subtree to the agent (the shipped unit's `Delegate=yes`), the script "
                    "and everything it starts share one group with this `memory.max` "
                    "(the kernel OOM-kills inside it: `limit_exceeded`); elsewhere it is the "
                    "address space of each process (RLIMIT_AS), so allocations beyond it "
                    "fail. `limits` in the result names the mechanism used (\"cgroup\" or "
                    "\"rlimit\")."},
    {.name = NULL},
};

const struct enf_cmd enf_cmd_run_script = {
    .name = "run_script",
    .summary = "Runs an administrator's script (inline or a verified file from the service) "
               "with /bin/sh, /bin/bash or /usr/bin/python3 in a private working directory "
               "(also HOME unless `user` is given), with a scrubbed environment plus "
               "WARD_COMMAND_ID. The result has `exit_code` (null when a signal ended it), "
               "`signal`, `timed_out`, `limit_exceeded`, `limits`, `stdout`, `stderr` (text; "
               "invalid UTF-8 replaced by U+FFFD), `stdout_bytes`, `stderr_bytes`, "
               "`stdout_dropped`, `stderr_dropped` and `duration_ms`; it fails (with that "
               "output) on a non-zero exit code, a signal or the timeout. Refused on "
               "personally owned devices.",
    .flags = ENF_CMD_DESTRUCTIVE | ENF_CMD_LONG_RUNNING | ENF_CMD_CORPORATE_ONLY,
    .capability = ENF_CAP_SCRIPTS,
    .fields = script_fields,
    .validate = script_validate,
    .start = script_start,
    .cancel = script_cancel,
};

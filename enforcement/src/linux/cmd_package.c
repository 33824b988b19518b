/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The `package` and `os_update` commands on Debian-family systems: apt-get and dpkg run by
 * argv as child processes (plat_proc_spawn, never a shell), one step after another, none
 * blocking the loop:
 *
 *   (download the .deb) -> prepare on a work thread (the dpkg status before, the
 *   security-only sources) -> [dpkg-deb --field FILE Package] -> [dpkg --configure -a,
 *   only when an earlier run was interrupted] -> [apt-get update] -> the action ->
 *   the dpkg status after on a work thread -> the result.
 *
 * apt-get gets DEBIAN_FRONTEND=noninteractive, keeps changed configuration files
 * (--force-confdef/--force-confold), waits up to 120 s for another package manager's lock
 * (DPkg::Lock::Timeout) and gets "--" before the names. The result is the difference of
 * the whole dpkg database before and after ({name, arch, before, after}), whatever apt
 * pulled in, with each step's exit code and the tail of its output.
 *
 * Managed artifacts: only the packages the command named (or the .deb's own Package) that
 * were not installed before it are registered, never their dependencies and never a
 * package the user had already installed, so selective_wipe removes what the organisation
 * added and nothing of the user's. A personally owned device refuses (`denied`) to remove
 * a package that is not such an artifact, and checks apt-get's plan first (apt-get -s):
 * apt-get also removes the packages that depend on a removed one, and a user's own package
 * must not go with Ward's.
 *
 * Runs only on the live root "/": under another root apt-get would run this host's
 * maintainer scripts against the wrong tree, as the package setting kind explains.
 * rpm-based systems answer WARD_ENOTSUP with that reason; a dnf path nobody here can test
 * is not shipped.
 */
#define WARD_LOG_TAG "enf-cmd"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <uv.h>

#include "../cmd/cmd_portable.h"
#include "cmd_util.h"
#include "cmds.h"
#include "helpers.h"
#include "platform/fs.h"
#include "platform/power.h"
#include "platform/proc.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define APT_GET "/usr/bin/apt-get"
#define DPKG "/usr/bin/dpkg"
#define DPKG_DEB "/usr/bin/dpkg-deb"
#define DPKG_STATUS "/var/lib/dpkg/status"
#define DPKG_UPDATES "/var/lib/dpkg/updates"
#define REBOOT_REQUIRED "/run/reboot-required"
#define REBOOT_PKGS "/run/reboot-required.pkgs"
#define SOURCES_LIST "/etc/apt/sources.list"
#define SOURCES_PARTS "/etc/apt/sources.list.d"

#define NAMES_MAX 1000
#define STATUS_MAX (256u * 1024u * 1024u)
#define SOURCES_MAX (1024u * 1024u)
#define OUT_HEAD 2048u
#define OUT_TAIL 8192u
#define UPDATE_TIMEOUT_MS (900u * 1000u)
#define ACTION_TIMEOUT_MS (4u * 3600u * 1000u)
#define KILL_GRACE_MS 30000u          /* dpkg in the middle of an unpack gets time to stop */
#define STEP_ARGS 24                  /* fixed arguments of one step, besides the names */
#define PLAN_MAX (4u * 1024u * 1024u) /* apt-get -s output read whole, never cut */

enum pk_op { OP_INSTALL, OP_REMOVE, OP_UPGRADE, OP_OS_UPDATE };

enum pk_step {
    ST_DOWNLOAD,  /* the host fetches the .deb */
    ST_PREPARE,   /* work thread */
    ST_DEB_FIELD, /* dpkg-deb --field FILE Package */
    ST_CONFIGURE, /* dpkg --configure -a */
    ST_UPDATE,    /* apt-get update */
    ST_SIMULATE,  /* apt-get -s remove: what a removal on a personal device would take */
    ST_ACTION,    /* apt-get install/remove/upgrade */
    ST_FINISH,    /* work thread */
};

static const char *const step_names[] = {"download", "prepare",  "deb-field", "configure",
                                         "update",   "simulate", "action",    "finish"};

struct pkg_job {
    uv_work_t work;
    struct enf_cmd_job *j;
    enum pk_op op;
    enum pk_step step;
    int cancelled;
    int security_only;
    struct plat_proc *proc;
    uint64_t step_started;

    char *download;               /* host path of the downloaded file */
    char deb[PLAT_FS_MAX_PATH];   /* the .deb apt-get installs (job directory) */
    char deb_name[160];           /* its Package field */
    char list[PLAT_FS_MAX_PATH];  /* security-only sources: one-line file ... */
    char parts[PLAT_FS_MAX_PATH]; /* ... and a parts directory */
    char list_opt[PLAT_FS_MAX_PATH + 32], parts_opt[PLAT_FS_MAX_PATH + 32];
    size_t sources_kept;
    int needs_configure;

    char *before; /* dpkg status */
    size_t before_len;
    char *after;
    size_t after_len;
    int reboot_file; /* /run/reboot-required exists */
    json_t *reboot_pkgs;
    char boot_id[64];

    json_t *steps; /* [{step, argv0, exit_code, ...}] */
    const char **argv;
    int rc; /* first failure */
    char why[512];
};

static const char *const apt_env[] = {"DEBIAN_FRONTEND=noninteractive",
                                      "DEBCONF_NONINTERACTIVE_SEEN=true",
                                      "APT_LISTCHANGES_FRONTEND=none", "LC_ALL=C.UTF-8", NULL};

/* ---- validate ---------------------------------------------------------------------------- */

static int package_validate(const json_t *params, struct ward_buf *err)
{
    const char *action = enf_param_str(params, "action", "");
    const json_t *names = json_object_get(params, "names"), *file = json_object_get(params, "file");
    int bad = 0;

    if (!!names == !!file) {
        enf_cmdu_diag(err, "$", "give either names or file, not both and not neither");
        bad = 1;
    }
    if (file && strcmp(action, "install") != 0) {
        enf_cmdu_diag(err, "$.file", "a package file can only be installed, not %.16s", action);
        bad = 1;
    }
    if (file)
        bad |= enf_cmdu_validate_file(file, "$.file", err);
    if (names) {
        size_t i;
        json_t *n;
        if (json_array_size(names) == 0 || json_array_size(names) > NAMES_MAX) {
            enf_cmdu_diag(err, "$.names", "must hold 1 to %d package names", NAMES_MAX);
            bad = 1;
        }
        json_array_foreach((json_t *)(uintptr_t)names, i, n)
        {
            char path[64];
            if (enf_deb_name_ok(json_string_value(n)) &&
                strlen(json_string_value(n)) == json_string_length(n))
                continue;
            snprintf(path, sizeof(path), "$.names[%zu]", i);
            enf_cmdu_diag(err, path,
                          "\"%.64s\" is not a Debian package name (lowercase letters, digits "
                          "and + - ., starting with a letter or digit; \"name:arch\" allowed)",
                          json_string_value(n));
            bad = 1;
        }
    }
    return bad ? WARD_EINVAL : 0;
}

static int package_destructive(const json_t *params)
{
    /* code from a file runs as root in its maintainer scripts: like run_script */
    return json_object_get(params, "file") != NULL;
}

/* ---- steps ------------------------------------------------------------------------------- */

static void pkg_free(struct pkg_job *pj)
{
    if (!pj)
        return;
    ward_free(pj->download);
    ward_free(pj->before);
    ward_free(pj->after);
    ward_free(pj->argv);
    json_decref(pj->steps);
    json_decref(pj->reboot_pkgs);
    ward_free(pj);
}

static void fail(struct pkg_job *pj, int rc, const char *fmt, ...) WARD_PRINTF(3, 4);
static void fail(struct pkg_job *pj, int rc, const char *fmt, ...)
{
    va_list ap;
    if (pj->rc != 0)
        return; /* the first failure is the reason */
    pj->rc = rc;
    va_start(ap, fmt);
    vsnprintf(pj->why, sizeof(pj->why), fmt, ap);
    va_end(ap);
}

static void run_next(struct pkg_job *pj);
static void queue_finish(struct pkg_job *pj);

static int listed(const json_t *artifacts, const char *name);

/* The packages in apt-get's removal plan (`apt-get -s remove` output) that are not Ward's:
 * managed artifacts of job j, or (j NULL) package entries of artifacts. 0 with *n counted
 * and the first eight named in list, WARD_ETOOBIG when the plan was cut (a refusal, never
 * a guess), WARD_ENOMEM. */
static int plan_foreign(const struct plat_proc_result *r, struct enf_cmd_job *j,
                        const json_t *artifacts, size_t *n, struct ward_buf *list)
{
    json_t *plan = NULL;
    const json_t *name;
    size_t i;

    *n = 0;
    if (r->out_dropped > 0)
        return WARD_ETOOBIG;
    if (enf_apt_removals(r->out, r->out_len, &plan) != 0)
        return WARD_ENOMEM;
    json_array_foreach(plan, i, name)
    {
        const char *pkg = json_string_value(name);
        if (j ? enf_job_artifact_has(j, "package", pkg) == 1 : listed(artifacts, pkg))
            continue;
        if ((*n)++ < 8)
            ward_buf_appendf(list, "%s%s", *n > 1 ? ", " : "", pkg);
    }
    json_decref(plan);
    return 0;
}

/* A personal device: the removal may take only what Ward installed. apt-get removes the
 * packages that depend on a removed one too, so its plan is checked first. */
static void check_plan(struct pkg_job *pj, const struct plat_proc_result *r)
{
    struct ward_buf extra;
    size_t n;
    int rc;

    ward_buf_init(&extra, 4096);
    rc = plan_foreign(r, pj->j, NULL, &n, &extra);
    if (rc == WARD_ETOOBIG)
        fail(pj, WARD_EDENIED,
             "the removal plan is too long to check on a personally owned device");
    else if (rc != 0)
        fail(pj, rc, "out of memory reading the removal plan");
    else if (n > 0)
        fail(pj, WARD_EDENIED,
             "the removal would also take %zu package%s the organisation did not install (%s%s): "
             "refused on a personally owned device",
             n, n == 1 ? "" : "s", extra.data ? extra.data : "", n > 8 ? ", ..." : "");
    ward_buf_release(&extra);
}

static const char *step_label(const struct pkg_job *pj)
{
    if (pj->step != ST_ACTION)
        return step_names[pj->step];
    switch (pj->op) {
    case OP_INSTALL:
        return "install";
    case OP_REMOVE:
        return "remove";
    case OP_UPGRADE:
        return "upgrade";
    default:
        return "upgrade-all";
    }
}

static void proc_done(struct plat_proc *proc, struct plat_proc_result *r, void *ctx)
{
    struct pkg_job *pj = ctx;
    uint64_t ms = (uv_hrtime() - pj->step_started) / 1000000u;
    json_t *rec;
    char line[320];

    (void)proc;
    pj->proc = NULL;
    rec = json_pack("{s:s, s:o, s:i, s:b, s:o, s:o, s:I}", "step", step_label(pj), "exit_code",
                    r->term_signal ? json_null() : json_integer(r->exit_status), "signal",
                    r->term_signal, "timed_out", r->timed_out, "stdout",
                    enf_cmdu_stream_text(r->out, r->out_len, r->out_head_len, r->out_dropped),
                    "stderr",
                    enf_cmdu_stream_text(r->err, r->err_len, r->err_head_len, r->err_dropped),
                    "duration_ms", (json_int_t)ms);
    if (!rec || json_array_append_new(pj->steps, rec) != 0)
        fail(pj, WARD_ENOMEM, "out of memory recording the %s step", step_label(pj));

    if (pj->cancelled) {
        fail(pj, WARD_ECANCELED, "cancelled during %s: the agent is stopping", step_label(pj));
    } else if (r->timed_out) {
        fail(pj, WARD_ETIMEDOUT, "%s timed out", step_label(pj));
    } else if (r->term_signal || r->exit_status != 0) {
        enf_proc_last_line(r, line, sizeof(line));
        if (r->term_signal)
            fail(pj, WARD_EIO, "%s killed by signal %d", step_label(pj), r->term_signal);
        else
            fail(pj, WARD_EIO, "%s failed (exit %lld): %s", step_label(pj),
                 (long long)r->exit_status, line[0] ? line : "no message");
    } else if (pj->step == ST_SIMULATE) {
        check_plan(pj, r);
    } else if (pj->step == ST_DEB_FIELD) {
        size_t n = r->out_len;
        while (n > 0 && (r->out[n - 1] == '\n' || r->out[n - 1] == ' '))
            n--;
        snprintf(pj->deb_name, sizeof(pj->deb_name), "%.*s", (int)n, r->out);
        if (n >= sizeof(pj->deb_name) || !enf_deb_name_ok(pj->deb_name))
            fail(pj, WARD_EPARSE, "the file is not a Debian package with a valid Package field");
    }
    if (pj->rc != 0) {
        queue_finish(pj);
        return;
    }
    pj->step++;
    run_next(pj);
}

/* argv of the current step (pj->argv, NULL-terminated); 0 or an error. */
static int build_argv(struct pkg_job *pj)
{
    const json_t *names = json_object_get(pj->j->params, "names");
    size_t nn = json_array_size(names), n = 0;
    const char **a;

    ward_free(pj->argv);
    pj->argv = a = ward_calloc(STEP_ARGS + nn + 1, sizeof(*a));
    if (!a)
        return WARD_ENOMEM;
    if (pj->step == ST_DEB_FIELD) {
        a[n++] = DPKG_DEB;
        a[n++] = "--field";
        a[n++] = pj->deb;
        a[n++] = "Package";
        return 0;
    }
    if (pj->step == ST_CONFIGURE) {
        a[n++] = DPKG;
        a[n++] = "--force-confdef";
        a[n++] = "--force-confold";
        a[n++] = "--configure";
        a[n++] = "-a";
        return 0;
    }
    a[n++] = APT_GET;
    a[n++] = pj->step == ST_SIMULATE ? "-s" : "-y";
    a[n++] = "-q";
    a[n++] = "-o";
    a[n++] = "DPkg::Lock::Timeout=120";
    if (pj->security_only) {
        snprintf(pj->list_opt, sizeof(pj->list_opt), "Dir::Etc::SourceList=%s", pj->list);
        snprintf(pj->parts_opt, sizeof(pj->parts_opt), "Dir::Etc::SourceParts=%s", pj->parts);
        a[n++] = "-o";
        a[n++] = pj->list_opt;
        a[n++] = "-o";
        a[n++] = pj->parts_opt;
        /* the other sources' lists stay: this update sees only the security ones */
        a[n++] = "-o";
        a[n++] = "APT::Get::List-Cleanup=false";
    }
    if (pj->step == ST_UPDATE) {
        a[n++] = "update";
        return 0;
    }
    a[n++] = "-o";
    a[n++] = "Dpkg::Options::=--force-confdef";
    a[n++] = "-o";
    a[n++] = "Dpkg::Options::=--force-confold";
    switch (pj->op) {
    case OP_INSTALL:
        a[n++] = "install";
        break;
    case OP_REMOVE:
        a[n++] = "remove";
        break;
    case OP_UPGRADE:
        a[n++] = "install";
        a[n++] = "--only-upgrade";
        break;
    case OP_OS_UPDATE:
        a[n++] = "--with-new-pkgs";
        a[n++] = "upgrade";
        return 0;
    }
    a[n++] = "--";
    if (json_object_get(pj->j->params, "file"))
        a[n++] = pj->deb;
    for (size_t i = 0; i < nn; i++)
        a[n++] = json_string_value(json_array_get(names, i));
    return 0;
}

static int step_wanted(const struct pkg_job *pj)
{
    switch (pj->step) {
    case ST_DEB_FIELD:
        return json_object_get(pj->j->params, "file") != NULL;
    case ST_CONFIGURE:
        return pj->needs_configure;
    case ST_UPDATE:
        return pj->op != OP_REMOVE;
    case ST_SIMULATE:
        return pj->op == OP_REMOVE && enf_cmdu_personal(pj->j);
    case ST_ACTION:
        return 1;
    default:
        return 0;
    }
}

static void run_next(struct pkg_job *pj)
{
    struct plat_proc_opts o;
    int rc;

    while (pj->step < ST_FINISH && !step_wanted(pj))
        pj->step++;
    if (pj->step >= ST_FINISH) {
        queue_finish(pj);
        return;
    }
    rc = build_argv(pj);
    if (rc != 0) {
        fail(pj, rc, "out of memory");
        queue_finish(pj);
        return;
    }
    {
        char msg[128];
        snprintf(msg, sizeof(msg), "%s: %s", pj->j->cmd->name, step_label(pj));
        enf_job_progress(pj->j, msg);
    }
    memset(&o, 0, sizeof(o));
    o.argv = pj->argv;
    o.env = apt_env;
    o.cwd = pj->j->workdir;
    o.stdout_max = o.stderr_max = OUT_HEAD;
    o.stdout_tail = o.stderr_tail = OUT_TAIL;
    if (pj->step == ST_SIMULATE) {
        o.stdout_max = PLAN_MAX; /* the whole plan, or a refusal: never a guess */
        o.stdout_tail = 0;
    }
    o.timeout_ms = pj->step == ST_ACTION ? ACTION_TIMEOUT_MS : UPDATE_TIMEOUT_MS;
    o.kill_grace_ms = KILL_GRACE_MS;
    pj->step_started = uv_hrtime();
    rc = plat_proc_spawn(pj->j->loop, &o, proc_done, pj, &pj->proc);
    if (rc != 0) {
        fail(pj, rc, "cannot start %s: %s", pj->argv[0], ward_strerror(rc));
        queue_finish(pj);
    }
}

/* ---- prepare (work thread) --------------------------------------------------------------- */

static int read_opt(const char *root, const char *path, size_t max, char **data, size_t *len)
{
    int rc = plat_fs_read_file(root, path, PLAT_FS_NTS, max, data, len);
    if (rc == WARD_ENOENT) {
        *data = NULL;
        *len = 0;
        return 0;
    }
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The apt sources with only the security suites, written into the job directory. */
static int build_security_sources(struct pkg_job *pj)
{
    struct enf_cmd_job *j = pj->j;
    struct ward_buf list, deb822;
    struct plat_fs_attrs attrs = {.set = PLAT_FS_ATTR_MODE | PLAT_FS_WRITE_NOSYNC, .mode = 0644};
    char **names = NULL, *data = NULL, path[PLAT_FS_MAX_PATH + 32];
    size_t count = 0, len = 0;
    int rc;

    ward_buf_init(&list, SOURCES_MAX);
    ward_buf_init(&deb822, SOURCES_MAX);
    rc = read_opt(j->root, SOURCES_LIST, SOURCES_MAX, &data, &len);
    if (rc == 0 && data)
        rc = enf_apt_security_list(data, len, &list, &pj->sources_kept);
    ward_free(data);
    data = NULL;
    if (rc == 0) {
        rc = plat_fs_listdir(j->root, SOURCES_PARTS, PLAT_FS_NTS, 4096, &names, &count);
        if (rc == WARD_ENOENT)
            rc = 0;
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        int is_list = ends_with(names[i], ".list"), is_deb822 = ends_with(names[i], ".sources");
        if (!is_list && !is_deb822)
            continue; /* apt ignores other names too */
        snprintf(path, sizeof(path), "%s/%s", SOURCES_PARTS, names[i]);
        rc = read_opt(j->root, path, SOURCES_MAX, &data, &len);
        if (rc == 0 && data)
            rc = is_list ? enf_apt_security_list(data, len, &list, &pj->sources_kept)
                         : enf_apt_security_sources(data, len, &deb822, &pj->sources_kept);
        if (rc == 0 && is_deb822 && deb822.len && deb822.data[deb822.len - 1] != '\n')
            rc = ward_buf_append_str(&deb822, "\n");
        if (rc == 0 && is_deb822 && deb822.len)
            rc = ward_buf_append_str(&deb822, "\n");
        ward_free(data);
        data = NULL;
    }
    plat_fs_names_free(names, count);
    if (rc != 0) {
        fail(pj, rc, "cannot read the apt sources: %s", ward_strerror(rc));
    } else if (pj->sources_kept == 0) {
        rc = WARD_ENOENT;
        fail(pj, rc,
             "security_only: no security suite (\"*-security\") in %s or %s/*.list|*.sources",
             SOURCES_LIST, SOURCES_PARTS);
    } else {
        snprintf(pj->list, sizeof(pj->list), "%s/security.list", j->workdir);
        snprintf(pj->parts, sizeof(pj->parts), "%s/security.d", j->workdir);
        snprintf(path, sizeof(path), "%s/security.sources", pj->parts);
        rc = plat_fs_write_atomic(NULL, pj->list, PLAT_FS_NTS, list.data ? list.data : "", list.len,
                                  &attrs);
        if (rc == 0)
            rc = plat_fs_mkdir_p(NULL, pj->parts, PLAT_FS_NTS, 0755);
        if (rc == 0 && deb822.len)
            rc = plat_fs_write_atomic(NULL, path, PLAT_FS_NTS, deb822.data, deb822.len, &attrs);
        if (rc != 0)
            fail(pj, rc, "cannot write the security-only sources: %s", ward_strerror(rc));
    }
    ward_buf_release(&list);
    ward_buf_release(&deb822);
    return rc;
}

static void prepare_work(uv_work_t *w)
{
    struct pkg_job *pj = w->data;
    struct enf_cmd_job *j = pj->j;
    char **names = NULL;
    size_t count = 0;
    int rc;

    rc = plat_fs_read_file(j->root, DPKG_STATUS, PLAT_FS_NTS, STATUS_MAX, &pj->before,
                           &pj->before_len);
    if (rc != 0) {
        fail(pj, rc, "cannot read %s: %s", DPKG_STATUS, ward_strerror(rc));
        return;
    }
    /* dpkg leaves journal files here when a run was cut short: finish that first */
    if (plat_fs_listdir(j->root, DPKG_UPDATES, PLAT_FS_NTS, 64, &names, &count) == 0) {
        pj->needs_configure = count > 0;
        plat_fs_names_free(names, count);
    }
    if (pj->download) {
        /* apt-get installs a local file only when its name ends in .deb */
        uv_fs_t req;
        int r;
        snprintf(pj->deb, sizeof(pj->deb), "%s/package.deb", j->workdir);
        r = uv_fs_rename(NULL, &req, pj->download, pj->deb, NULL);
        uv_fs_req_cleanup(&req);
        if (r != 0) {
            fail(pj, WARD_EIO, "cannot move the downloaded package to %s: %s", pj->deb,
                 uv_strerror(r));
            return;
        }
    }
    if (pj->security_only)
        build_security_sources(pj);
}

static void prepare_after(uv_work_t *w, int status);

/* ---- finish (work thread) and the result --------------------------------------------------- */

static void finish_work(uv_work_t *w)
{
    struct pkg_job *pj = w->data;
    struct enf_cmd_job *j = pj->j;
    struct plat_fs_info info;
    char *pkgs = NULL;
    size_t len = 0;
    int rc;

    rc = plat_fs_read_file(j->root, DPKG_STATUS, PLAT_FS_NTS, STATUS_MAX, &pj->after,
                           &pj->after_len);
    if (rc != 0)
        fail(pj, rc, "cannot read %s afterwards: %s", DPKG_STATUS, ward_strerror(rc));
    if (pj->op != OP_OS_UPDATE)
        return;
    pj->reboot_file = plat_fs_stat(j->root, REBOOT_REQUIRED, PLAT_FS_NTS, 0, &info) == 0;
    if (read_opt(j->root, REBOOT_PKGS, 65536, &pkgs, &len) == 0 && pkgs) {
        size_t pos = 0;
        struct enf_line l;
        pj->reboot_pkgs = json_array();
        while (pj->reboot_pkgs && enf_text_next(pkgs, len, &pos, &l))
            if (enf_text_trim(l).len > 0)
                json_array_append_new(pj->reboot_pkgs,
                                      enf_cmdu_text(enf_text_trim(l).p, enf_text_trim(l).len));
    }
    ward_free(pkgs);
    if (plat_boot_id(j->root, pj->boot_id, sizeof(pj->boot_id)) != 0)
        pj->boot_id[0] = '\0';
}

/* Packages whose change means the running system is not what is installed any more. */
static int needs_reboot(const char *name)
{
    return strncmp(name, "linux-image-", 12) == 0 || strcmp(name, "libc6") == 0 ||
           strcmp(name, "systemd") == 0 || strcmp(name, "dbus") == 0;
}

/* 1 when `name` ("hello" or "hello:amd64") is installed in the diff's after side, 0 when
 * not, -1 when the diff does not mention it (unchanged). */
static int change_of(const json_t *changes, const char *name, int *was)
{
    const char *colon = strchr(name, ':');
    size_t nlen = colon ? (size_t)(colon - name) : strlen(name), i;
    const json_t *c;
    json_array_foreach(changes, i, c)
    {
        const char *n = json_string_value(json_object_get(c, "name"));
        const char *a = json_string_value(json_object_get(c, "arch"));
        if (!n || strlen(n) != nlen || strncmp(n, name, nlen) != 0)
            continue;
        if (colon && (!a || strcmp(a, colon + 1) != 0))
            continue;
        *was = !json_is_null(json_object_get(c, "before"));
        return !json_is_null(json_object_get(c, "after"));
    }
    return -1;
}

/* The artifacts table follows what the command changed (loop thread). */
static void track_artifacts(struct pkg_job *pj, const json_t *changes, json_t *out)
{
    struct enf_cmd_job *j = pj->j;
    const json_t *names = json_object_get(j->params, "names");
    json_t *added = json_array(), *forgotten = json_array();
    size_t n = json_object_get(j->params, "file") ? 1 : json_array_size(names);

    for (size_t i = 0; added && forgotten && i < n; i++) {
        const char *name = json_object_get(j->params, "file")
                               ? pj->deb_name
                               : json_string_value(json_array_get(names, i));
        int was = 0, now;
        if (!name || !name[0])
            continue;
        now = change_of(changes, name, &was);
        if (pj->op == OP_INSTALL && now == 1 && !was) {
            json_t *detail = json_pack("{s:s}", "installed_by", j->id ? j->id : "");
            if (enf_job_artifact_add(j, "package", name, detail) == 0)
                json_array_append_new(added, json_string(name));
            json_decref(detail);
        } else if (pj->op == OP_REMOVE && now == 0) {
            /* only what was managed is listed as no longer managed */
            if (enf_job_artifact_has(j, "package", name) == 1 &&
                enf_job_artifact_remove(j, "package", name) == 0)
                json_array_append_new(forgotten, json_string(name));
        }
    }
    json_object_set_new(out, "managed_added", added ? added : json_array());
    json_object_set_new(out, "managed_removed", forgotten ? forgotten : json_array());
}

static void finish_after(uv_work_t *w, int status)
{
    struct pkg_job *pj = w->data;
    struct enf_cmd_job *j = pj->j;
    json_t *out = json_object(), *changes = NULL;
    int rc, reboot = 0;

    if (status != 0)
        fail(pj, enf_cmdu_uv_err(status), "the finishing step did not run");
    if (!out) {
        fail(pj, WARD_ENOMEM, "out of memory");
    } else {
        if (pj->before && pj->after) {
            rc = enf_dpkg_diff(pj->before, pj->before_len, pj->after, pj->after_len, &changes);
            if (rc != 0)
                fail(pj, rc, "cannot compare the package database: %s", ward_strerror(rc));
        }
        json_object_set_new(out, "steps", json_incref(pj->steps));
        json_object_set_new(out, "changes", changes ? json_incref(changes) : json_array());
        if (json_object_get(j->params, "file") && pj->deb_name[0])
            json_object_set_new(out, "package", json_string(pj->deb_name));
        if (changes && pj->op != OP_OS_UPDATE && pj->op != OP_UPGRADE)
            track_artifacts(pj, changes, out);
        if (pj->op == OP_OS_UPDATE) {
            json_t *why = json_array();
            size_t i;
            const json_t *c;
            if (pj->reboot_file)
                json_array_append_new(why, json_string(REBOOT_REQUIRED));
            json_array_foreach(changes, i, c)
            {
                const char *n = json_string_value(json_object_get(c, "name"));
                if (n && needs_reboot(n))
                    json_array_append_new(why, json_string(n));
            }
            reboot = json_array_size(why) > 0;
            json_object_set_new(out, "security_only", json_boolean(pj->security_only));
            json_object_set_new(out, "reboot_required", json_boolean(reboot));
            json_object_set_new(out, "reboot_reasons", why);
            if (pj->reboot_pkgs)
                json_object_set_new(out, "reboot_required_pkgs", json_incref(pj->reboot_pkgs));
        }
    }
    json_decref(changes);

    rc = pj->rc;
    if (rc == 0 && pj->op == OP_OS_UPDATE && enf_param_bool(j->params, "reboot", 0)) {
        if (!reboot) {
            json_object_set_new(out, "reboot", json_string("not_required"));
        } else {
            /* the power command's path: reboot once the service has this result */
            json_t *saved;
            json_object_set_new(out, "reboot", json_string("pending"));
            saved = json_pack("{s:s, s:O}", "boot_id", pj->boot_id, "output", out);
            j->priv = NULL;
            pkg_free(pj);
            if (!saved) {
                enf_job_done(j, WARD_ENOMEM, out, "out of memory");
                return;
            }
            WARD_INFO("os_update %s: updated; rebooting once the service acknowledges", j->id);
            rc = enf_job_await_ack(j, out, saved); /* out is the host's now */
            if (rc != 0) {
                /* no reboot then; the result still tells what the update changed */
                json_t *report = json_deep_copy(json_object_get(saved, "output"));
                WARD_LOG_WARN_ERR(rc, "os_update %s: cannot record the pending reboot", j->id);
                enf_job_done(j, rc, report,
                             "updated, but the pending reboot could not be recorded");
            }
            json_decref(saved);
            return;
        }
    }
    {
        char why[sizeof(pj->why)];
        memcpy(why, pj->why, sizeof(why));
        j->priv = NULL;
        pkg_free(pj);
        if (rc != 0)
            WARD_LOG_WARN_ERR(rc, "%s %s: %s", j->cmd->name, j->id, why);
        enf_job_done(j, rc, out, rc != 0 ? why : NULL);
    }
}

static void queue_finish(struct pkg_job *pj)
{
    int r;
    pj->step = ST_FINISH;
    pj->work.data = pj;
    r = uv_queue_work(pj->j->loop, &pj->work, finish_work, finish_after);
    if (r != 0) {
        fail(pj, enf_cmdu_uv_err(r), "cannot queue the finishing step");
        finish_after(&pj->work, 0);
    }
}

static void prepare_after(uv_work_t *w, int status)
{
    struct pkg_job *pj = w->data;
    if (status != 0)
        fail(pj, enf_cmdu_uv_err(status), "the preparation did not run");
    if (pj->cancelled)
        fail(pj, WARD_ECANCELED, "cancelled: the agent is stopping");
    if (pj->rc != 0) {
        queue_finish(pj);
        return;
    }
    pj->step = ST_DEB_FIELD;
    run_next(pj);
}

static int queue_prepare(struct pkg_job *pj)
{
    int r;
    pj->step = ST_PREPARE;
    pj->work.data = pj;
    r = uv_queue_work(pj->j->loop, &pj->work, prepare_work, prepare_after);
    return r != 0 ? enf_cmdu_uv_err(r) : 0;
}

static void downloaded(struct enf_cmd_job *j, int rc, const char *path, const char *error)
{
    struct pkg_job *pj = j->priv;
    if (pj->cancelled)
        rc = WARD_ECANCELED;
    if (rc == 0 && !(pj->download = ward_strdup(path)))
        rc = WARD_ENOMEM;
    if (rc == 0)
        rc = queue_prepare(pj);
    if (rc != 0) {
        char why[512];
        snprintf(why, sizeof(why), "cannot download the package: %s",
                 error && error[0] ? error : ward_strerror(rc));
        j->priv = NULL;
        pkg_free(pj);
        enf_job_done(j, rc, NULL, why);
    }
}

/* ---- start ------------------------------------------------------------------------------- */

/* Why this system cannot run the command (0 when it can), in why. */
static int unsupported(const struct enf_cmd_job *j, char *why, size_t len)
{
    struct plat_fs_info info;
    if (strcmp(j->root, "/") != 0) {
        snprintf(why, len,
                 "package changes run only on the live system (root /): apt-get under root "
                 "%.200s would run maintainer scripts against this host",
                 j->root);
        return WARD_ENOTSUP;
    }
    if (plat_fs_stat(NULL, APT_GET, PLAT_FS_NTS, 0, &info) == 0 &&
        plat_fs_stat(NULL, DPKG, PLAT_FS_NTS, 0, &info) == 0)
        return 0;
    if (plat_fs_stat(NULL, "/var/lib/rpm", PLAT_FS_NTS, 0, &info) == 0)
        snprintf(why, len, "rpm-based system: %s supports apt/dpkg systems only so far",
                 j->cmd->name);
    else
        snprintf(why, len, "no apt-get (%s) and dpkg (%s) on this system", APT_GET, DPKG);
    return WARD_ENOTSUP;
}

static int start(struct enf_cmd_job *j, enum pk_op op)
{
    const json_t *file = json_object_get(j->params, "file");
    struct pkg_job *pj;
    char why[512];
    int rc;

    if (!j->workdir || j->workdir[0] != '/')
        return WARD_EINVAL;
    if (op == OP_REMOVE && enf_cmdu_personal(j)) {
        /* a BYOD device lets Ward take away only what Ward put there */
        const json_t *names = json_object_get(j->params, "names");
        size_t i;
        const json_t *n;
        json_array_foreach(names, i, n)
        {
            int has = enf_job_artifact_has(j, "package", json_string_value(n));
            if (has == 1)
                continue;
            if (has < 0) {
                snprintf(why, sizeof(why), "cannot read the managed artifacts: %s",
                         ward_strerror(has));
                enf_job_done(j, has, NULL, why);
                return 0;
            }
            snprintf(why, sizeof(why),
                     "\"%.64s\" was not installed by the organisation: a personally owned "
                     "device lets Ward remove only packages Ward installed",
                     json_string_value(n));
            WARD_INFO("package %s refused: %s", j->id, why);
            enf_job_done(j, WARD_EDENIED, NULL, why);
            return 0;
        }
    }
    rc = unsupported(j, why, sizeof(why));
    if (rc != 0) {
        enf_job_done(j, rc, NULL, why);
        return 0;
    }
    pj = ward_calloc(1, sizeof(*pj));
    if (!pj || !(pj->steps = json_array())) {
        ward_free(pj);
        return WARD_ENOMEM;
    }
    pj->j = j;
    pj->op = op;
    pj->security_only = op == OP_OS_UPDATE && enf_param_bool(j->params, "security_only", 0);
    j->priv = pj;
    if (file) {
        pj->step = ST_DOWNLOAD;
        rc = enf_job_download(j, json_string_value(json_object_get(file, "url")),
                              json_string_value(json_object_get(file, "sha256")),
                              (uint64_t)json_integer_value(json_object_get(file, "length")),
                              downloaded);
    } else {
        rc = queue_prepare(pj);
    }
    if (rc != 0) {
        j->priv = NULL;
        pkg_free(pj);
    }
    return rc;
}

static int package_start(struct enf_cmd_job *j)
{
    const char *a = enf_param_str(j->params, "action", "install");
    return start(j, strcmp(a, "remove") == 0    ? OP_REMOVE
                    : strcmp(a, "upgrade") == 0 ? OP_UPGRADE
                                                : OP_INSTALL);
}

static int os_update_start(struct enf_cmd_job *j)
{
    return start(j, OP_OS_UPDATE);
}

static void pkg_cancel(struct enf_cmd_job *j)
{
    struct pkg_job *pj = j->priv;
    if (!pj)
        return;
    pj->cancelled = 1;
    if (pj->proc)
        plat_proc_kill(pj->proc); /* proc_done records the step and finishes */
}

static int os_update_resume(struct enf_cmd_job *j, enum enf_cmd_phase phase)
{
    return enf_cmd_power_resume(j, phase, 1);
}

/* ---- selective_wipe's package removal (cmd_portable.h) ------------------------------------ */

static int listed(const json_t *artifacts, const char *name)
{
    const json_t *a;
    size_t i;
    json_array_foreach(artifacts, i, a)
    {
        const char *kind = json_string_value(json_object_get(a, "kind"));
        const char *n = json_string_value(json_object_get(a, "name"));
        if (kind && n && strcmp(kind, "package") == 0 && strcmp(n, name) == 0)
            return 1;
    }
    return 0;
}

/* One apt-get run for the wipe: "-s" for the plan (read whole), "-y" for the removal. */
static int wipe_apt(const char *mode, const char *name, struct plat_proc_result *r, char *err,
                    size_t errlen)
{
    const char *argv[] = {APT_GET,
                          mode,
                          "-q",
                          "-o",
                          "DPkg::Lock::Timeout=120",
                          "-o",
                          "Dpkg::Options::=--force-confdef",
                          "-o",
                          "Dpkg::Options::=--force-confold",
                          "remove",
                          "--",
                          name,
                          NULL};
    struct plat_proc_opts o;
    char line[240];
    int rc;

    memset(&o, 0, sizeof(o));
    o.argv = argv;
    o.env = apt_env;
    o.timeout_ms = ACTION_TIMEOUT_MS;
    o.kill_grace_ms = KILL_GRACE_MS;
    o.stdout_max = strcmp(mode, "-s") == 0 ? PLAN_MAX : 4096;
    o.stderr_max = 4096;
    rc = plat_proc_run(&o, r);
    if (rc != 0) {
        snprintf(err, errlen, "cannot run %s: %s", APT_GET, ward_strerror(rc));
        return rc;
    }
    if (r->timed_out || r->exit_status != 0 || r->term_signal != 0) {
        enf_proc_last_line(r, line, sizeof(line));
        snprintf(err, errlen, "apt-get %s remove %s: %s %lld: %s", mode, name,
                 r->timed_out     ? "timed out,"
                 : r->term_signal ? "signal"
                                  : "exit",
                 (long long)(r->term_signal ? r->term_signal : r->exit_status), line);
        rc = r->timed_out ? WARD_ETIMEDOUT : WARD_EIO;
        plat_proc_result_release(r);
        return rc;
    }
    return 0;
}

int enf_os_package_remove(const char *root, const char *name, const json_t *artifacts, char *err,
                          size_t errlen)
{
    struct plat_proc_result r;
    struct enf_cmd_job probe = {.root = root, .cmd = &enf_cmd_package};
    struct ward_buf extra;
    size_t n = 0;
    int rc;

    rc = unsupported(&probe, err, errlen);
    if (rc != 0)
        return rc;
    if (!enf_deb_name_ok(name)) {
        snprintf(err, errlen, "\"%.64s\" is not a Debian package name", name);
        return WARD_EINVAL;
    }
    /* "Nothing else": apt-get also removes what depends on the package, so its plan may
     * take only what the wipe removes anyway. */
    rc = wipe_apt("-s", name, &r, err, errlen);
    if (rc != 0)
        return rc;
    ward_buf_init(&extra, 4096);
    rc = plan_foreign(&r, NULL, artifacts, &n, &extra);
    plat_proc_result_release(&r);
    if (rc == WARD_ETOOBIG)
        snprintf(err, errlen, "apt-get's removal plan for %s is too long to check; not removed",
                 name);
    else if (rc != 0)
        snprintf(err, errlen, "out of memory reading the removal plan");
    else if (n > 0) {
        rc = WARD_EDENIED;
        snprintf(err, errlen,
                 "removing %s would also take %zu package%s Ward did not install (%s%s); not "
                 "removed",
                 name, n, n == 1 ? "" : "s", extra.data ? extra.data : "", n > 8 ? ", ..." : "");
    }
    ward_buf_release(&extra);
    if (rc != 0)
        return rc;
    rc = wipe_apt("-y", name, &r, err, errlen);
    if (rc == 0)
        plat_proc_result_release(&r);
    return rc;
}

/* ---- tables ------------------------------------------------------------------------------ */

static const char *const actions[] = {"install", "remove", "upgrade", NULL};

static const struct enf_field package_fields[] = {
    {.name = "action",
     .type = ENF_F_ENUM,
     .required = 1,
     .allowed = actions,
     .description = "`install` (apt-get install, after apt-get update), `remove` (apt-get "
                    "remove: configuration files stay, as dpkg's `rc` state) or `upgrade` "
                    "(apt-get install --only-upgrade, after apt-get update: installs nothing "
                    "that is not installed)."},
    {.name = "names",
     .type = ENF_F_STRINGS,
     .description = "Debian package names (`hello`, `libc6:amd64`), 1 to 1000. Give either "
                    "`names` or `file`."},
    {.name = "file",
     .type = ENF_F_OBJECT,
     .description = "A .deb the service offers, for `install` only: `{\"url\": "
                    "\"/api/v1/files/<id>\", \"sha256\": \"<64 lowercase hex digits>\", "
                    "\"length\": <bytes>}`. Downloaded and verified, then installed with "
                    "apt-get (which also fetches its dependencies). Its maintainer scripts "
                    "run as root, so this form counts as destructive (it needs the offline "
                    "key where the device pinned one)."},
    {.name = NULL},
};

static const struct enf_field os_update_fields[] = {
    {.name = "security_only",
     .type = ENF_F_BOOL,
     .def = "false",
     .description = "Only the security suites (`*-security`) of the apt sources: apt-get "
                    "update and upgrade see a source list made of those entries alone, so "
                    "an update that needs a package from another suite is held back."},
    {.name = "reboot",
     .type = ENF_F_BOOL,
     .def = "false",
     .description = "Reboot when the update needs it (`reboot_required`): the result is "
                    "first `accepted` with everything below and `reboot` \"pending\", the "
                    "reboot comes once the service acknowledged, and the final result after "
                    "the boot adds `rebooted`, `boot_id_before` and `boot_id_after`. "
                    "`reboot` is \"not_required\" when nothing needed one."},
    {.name = NULL},
};

const struct enf_cmd enf_cmd_package = {
    .name = "package",
    .summary = "Installs, removes or upgrades Debian packages with apt-get (non-interactive, "
               "changed configuration files kept, waiting up to 120 s for another package "
               "manager), after `dpkg --configure -a` when an earlier run was interrupted. The "
               "result has `steps` (each step's `step`, `exit_code`, `signal`, `timed_out`, "
               "`duration_ms` and the start and end of its `stdout` and `stderr`) and "
               "`changes`, every package whose installed version differs from before "
               "(`name`, `arch`, `before`, `after`; null where it was not installed), "
               "dependencies included. The named packages that were not installed before "
               "become managed artifacts (`managed_added`; selective_wipe removes them), a "
               "removed one leaves the table (`managed_removed`). On a personally owned "
               "device `remove` is refused (`denied`) for a package Ward did not install, and "
               "also when apt-get's plan (`apt-get -s remove`, the `simulate` step) would take "
               "along a package Ward did not install (one that depends on it). "
               "Live system (root /) with apt and dpkg only; rpm-based systems are not "
               "supported yet (WARD_ENOTSUP).",
    .flags = ENF_CMD_LONG_RUNNING,
    .capability = ENF_CAP_PACKAGES,
    .fields = package_fields,
    .validate = package_validate,
    .destructive_for = package_destructive,
    .start = package_start,
    .cancel = pkg_cancel,
};

const struct enf_cmd enf_cmd_os_update = {
    .name = "os_update",
    .summary = "Updates the operating system's packages: `apt-get update`, then `apt-get "
               "--with-new-pkgs upgrade` (new dependencies installed, nothing removed), "
               "non-interactive with changed configuration files kept. The result has "
               "`steps` and `changes` as for `package`, `security_only`, `reboot_required` "
               "with `reboot_reasons` (/run/reboot-required, or a changed linux-image-*, "
               "libc6, systemd or dbus package) and, when the system lists them, "
               "`reboot_required_pkgs`. Live system (root /) with apt and dpkg only.",
    .flags = ENF_CMD_LONG_RUNNING | ENF_CMD_REBOOTS,
    .capability = ENF_CAP_PACKAGES,
    .fields = os_update_fields,
    .start = os_update_start,
    .cancel = pkg_cancel,
    .resume = os_update_resume,
};

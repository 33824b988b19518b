/* SPDX-License-Identifier: Apache-2.0 */
/* systemd notifications (Type=notify units) with the datagram protocol of sd_notify(3),
 * which the man page documents for independent implementations: one AF_UNIX datagram of
 * "KEY=VALUE\n" lines to the socket named by $NOTIFY_SOCKET (a path, or "@name" in the
 * abstract namespace). Not linking libsystemd for this keeps its pages out of the agent.
 * Without NOTIFY_SOCKET these are no-ops that succeed, which is what a foreground run
 * wants. */
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "platform/fs.h"
#include "platform/proc.h"
#include "platform/service.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"

static int notify(const char *msg)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa;
    size_t plen, len = strlen(msg);
    socklen_t salen;
    ssize_t n;
    int fd;

    if (!path || !*path)
        return 0;
    plen = strlen(path);
    /* Other address families (vsock:) are newer than the protocol we implement. */
    if ((path[0] != '/' && path[0] != '@') || plen < 2 || plen >= sizeof(sa.sun_path))
        return WARD_ENOTSUP;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, path, plen);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0';
    /* Abstract names are exactly plen bytes long; paths are NUL-terminated. */
    salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + (path[0] == '/'));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return WARD_EIO;
    do {
        n = sendto(fd, msg, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, salen);
    } while (n < 0 && errno == EINTR);
    close(fd);
    return n == (ssize_t)len ? 0 : WARD_EIO;
}

int plat_service_supervised(void)
{
    const char *s = getenv("NOTIFY_SOCKET");
    return s && *s;
}

int plat_service_ready(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", status ? status : "running");
    return notify(msg);
}

int plat_service_status(const char *status)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "STATUS=%s", status ? status : "");
    return notify(msg);
}

int plat_service_stopping(void)
{
    return notify("STOPPING=1");
}

int plat_service_reloading(void)
{
    return notify("RELOADING=1");
}

unsigned long long plat_service_watchdog_usec(void)
{
    const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
    char *end;
    unsigned long long v;
    if (!usec || !*usec || !plat_service_supervised())
        return 0;
    /* sd_watchdog_enabled(3): WATCHDOG_PID, when set, names the process that must ping */
    if (pid && *pid && strtoll(pid, &end, 10) != (long long)getpid())
        return 0;
    errno = 0;
    v = strtoull(usec, &end, 10);
    if (errno != 0 || *end != '\0' || usec[0] == '-')
        return 0;
    return v;
}

int plat_service_watchdog(void)
{
    return notify("WATCHDOG=1");
}

int plat_service_dispatch(const char *name, int (*run)(void *ctx), void *ctx)
{
    (void)name;
    return run(ctx);
}

void plat_service_set_stop(void (*stop)(void *ctx), void *ctx)
{
    (void)stop; /* systemd stops the service with SIGTERM, which the daemon handles */
    (void)ctx;
}

int plat_policy_get(const char *name, char **out)
{
    (void)name;
    if (out)
        *out = NULL;
    return WARD_ENOENT;
}

int plat_policy_delete(const char *name)
{
    (void)name;
    return WARD_ENOENT;
}

/* ---- registration ----------------------------------------------------------------------- */

#define UNIT_DIR "/etc/systemd/system"
#define UNIT_MARK "# Written by `ward service install`; `ward service uninstall` removes it.\n"
#define UNIT_MAX (64 * 1024)

static const char *systemctl_path(void)
{
    static const char *const paths[] = {"/usr/bin/systemctl", "/bin/systemctl", NULL};
    for (int i = 0; paths[i]; i++)
        if (access(paths[i], X_OK) == 0)
            return paths[i];
    return NULL;
}

static int is_host_root(const char *root)
{
    return !root || !*root || strcmp(root, "/") == 0;
}

/* systemd runs as the service manager of this root (sd_booted(3)'s test). */
static int manager_running(const char *root)
{
    return is_host_root(root) && access("/run/systemd/system", F_OK) == 0 && systemctl_path();
}

static int unit_name(const char *name, char *out, size_t outlen)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") != n)
        return WARD_EINVAL;
    return (size_t)snprintf(out, outlen, "%s.service", name) < outlen ? 0 : WARD_EINVAL;
}

/* A systemd-quoted word: "..." with \ and " escaped, % and $ doubled (specifiers and
 * environment expansion would otherwise apply). */
static int append_word(struct ward_buf *b, const char *w, int first)
{
    int rc = ward_buf_append(b, first ? "\"" : " \"", first ? 1 : 2);
    for (const char *c = w; rc == 0 && *c; c++) {
        if (*c == '\n' || *c == '\r')
            return WARD_EINVAL;
        if (*c == '\\' || *c == '"')
            rc = ward_buf_append(b, "\\", 1);
        else if (*c == '%' || *c == '$')
            rc = ward_buf_append(b, c, 1);
        if (rc == 0)
            rc = ward_buf_append(b, c, 1);
    }
    return rc == 0 ? ward_buf_append(b, "\"", 1) : rc;
}

/* def->unit with the marker first and ExecStart= replaced. */
static int render_unit(const struct plat_service_def *def, struct ward_buf *b)
{
    const char *u = def->unit, *line;
    int rc = ward_buf_append(b, UNIT_MARK, strlen(UNIT_MARK)), seen = 0;
    for (line = u; rc == 0 && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
        if (strncmp(line, "ExecStart=", 10) == 0) {
            rc = ward_buf_append(b, "ExecStart=", 10);
            if (rc == 0)
                rc = append_word(b, def->exe, 1);
            for (size_t i = 0; rc == 0 && def->args && def->args[i]; i++)
                rc = append_word(b, def->args[i], 0);
            if (rc == 0)
                rc = ward_buf_append(b, "\n", 1);
            seen = 1;
        } else {
            rc = ward_buf_append(b, line, len);
        }
        line += len;
    }
    return rc == 0 && !seen ? WARD_EINVAL : rc;
}

static int systemctl(char *msg, size_t msglen, const char *a1, const char *a2, const char *a3,
                     const char *a4)
{
    const char *argv[] = {systemctl_path(), a1, a2, a3, a4, NULL};
    struct plat_proc_opts o;
    struct plat_proc_result r;
    int rc;
    memset(&o, 0, sizeof(o));
    o.argv = argv;
    o.timeout_ms = 120000;
    rc = plat_proc_run(&o, &r);
    if (rc == 0 && (r.exit_status != 0 || r.term_signal != 0 || r.timed_out)) {
        snprintf(msg, msglen, "systemctl %s %s failed: %.300s", a1, a2 ? a2 : "",
                 r.err && *r.err ? r.err : "(no message)");
        rc = WARD_EIO;
    } else if (rc != 0) {
        snprintf(msg, msglen, "cannot run systemctl: %s", ward_strerror(rc));
    }
    plat_proc_result_release(&r);
    return rc;
}

/* The unit path of a package (under /usr/lib or /lib), if one is there. */
static int package_unit(const char *root, const char *unit, char *path, size_t pathlen)
{
    static const char *const dirs[] = {"/usr/lib/systemd/system", "/lib/systemd/system", NULL};
    struct plat_fs_info fi;
    for (int i = 0; dirs[i]; i++) {
        snprintf(path, pathlen, "%s/%s", dirs[i], unit);
        if (plat_fs_stat(root, path, PLAT_FS_NTS, 0, &fi) == 0)
            return 1;
    }
    return 0;
}

/* 1: ours (marker), 0: none, WARD_EEXIST: someone else's. */
static int our_unit(const char *root, const char *path)
{
    char *data = NULL;
    size_t len = 0;
    int rc = plat_fs_read_file(root, path, PLAT_FS_NTS, UNIT_MAX, &data, &len);
    if (rc == WARD_ENOENT)
        return 0;
    if (rc == 0)
        rc = strncmp(data, UNIT_MARK, strlen(UNIT_MARK)) == 0 ? 1 : WARD_EEXIST;
    ward_free(data);
    return rc;
}

int plat_service_install(const char *root, const struct plat_service_def *def, char *msg,
                         size_t msglen)
{
    char unit[80], path[160], pkg[160];
    struct ward_buf b;
    struct plat_fs_attrs attrs = {.set = PLAT_FS_ATTR_MODE, .mode = 0644};
    int rc;

    msg[0] = '\0';
    if (!def || !def->exe || def->exe[0] != '/' || !def->unit ||
        unit_name(def->name, unit, sizeof(unit)) != 0) {
        snprintf(msg, msglen, "no service name, absolute program path or unit text");
        return WARD_EINVAL;
    }
    if (package_unit(root, unit, pkg, sizeof(pkg))) {
        snprintf(msg, msglen, "%s comes from a package (%s): manage it with systemctl", unit, pkg);
        return WARD_EEXIST;
    }
    snprintf(path, sizeof(path), UNIT_DIR "/%s", unit);
    rc = our_unit(root, path);
    if (rc < 0) {
        snprintf(msg, msglen, "%s exists and was not written by ward; not replacing it", path);
        return rc;
    }
    ward_buf_init(&b, UNIT_MAX);
    rc = render_unit(def, &b);
    if (rc == 0)
        rc = plat_fs_mkdir_p(root, UNIT_DIR, PLAT_FS_NTS, 0755);
    if (rc == 0)
        rc = plat_fs_write_atomic(root, path, PLAT_FS_NTS, b.data, b.len, &attrs);
    ward_buf_release(&b);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot write %s: %s", path, ward_strerror(rc));
        return rc;
    }
    if (!manager_running(root)) {
        snprintf(msg, msglen,
                 "wrote %s%s; systemd is not running here, so nothing was started (it starts "
                 "at boot once enabled: systemctl enable %s)",
                 is_host_root(root) ? "" : root, path, unit);
        return 0;
    }
    rc = systemctl(msg, msglen, "daemon-reload", NULL, NULL, NULL);
    if (rc == 0)
        rc = systemctl(msg, msglen, "enable", "--now", unit, NULL);
    if (rc == 0)
        snprintf(msg, msglen, "installed %s, enabled and started", path);
    return rc;
}

int plat_service_uninstall(const char *root, const char *name, char *msg, size_t msglen)
{
    char unit[80], path[160], pkg[160];
    int rc;

    msg[0] = '\0';
    if (unit_name(name, unit, sizeof(unit)) != 0) {
        snprintf(msg, msglen, "bad service name");
        return WARD_EINVAL;
    }
    snprintf(path, sizeof(path), UNIT_DIR "/%s", unit);
    rc = our_unit(root, path);
    if (rc == 0) {
        if (package_unit(root, unit, pkg, sizeof(pkg))) {
            snprintf(msg, msglen, "%s comes from a package (%s): remove the package", unit, pkg);
            return WARD_EEXIST;
        }
        snprintf(msg, msglen, "%s is not installed", unit);
        return WARD_ENOENT;
    }
    if (rc < 0) {
        snprintf(msg, msglen, "%s was not written by ward; not removing it", path);
        return rc;
    }
    if (manager_running(root) && (rc = systemctl(msg, msglen, "disable", "--now", unit, NULL)) != 0)
        return rc;
    rc = plat_fs_unlink(root, path, PLAT_FS_NTS);
    if (rc != 0 && rc != WARD_ENOENT) {
        snprintf(msg, msglen, "cannot remove %s: %s", path, ward_strerror(rc));
        return rc;
    }
    if (!manager_running(root)) {
        snprintf(msg, msglen, "removed %s%s (systemd is not running here: nothing to stop)",
                 is_host_root(root) ? "" : root, path);
        return 0;
    }
    if ((rc = systemctl(msg, msglen, "daemon-reload", NULL, NULL, NULL)) != 0)
        return rc;
    snprintf(msg, msglen, "stopped, disabled and removed %s", path);
    return 0;
}

static void copy_field(char *dst, size_t dstlen, const char *v, size_t n)
{
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

int plat_service_query(const char *root, const char *name, struct plat_service_info *out)
{
    char unit[80], path[160];
    struct plat_fs_info fi;
    int rc;

    if (!out || unit_name(name, unit, sizeof(unit)) != 0)
        return WARD_EINVAL;
    memset(out, 0, sizeof(*out));
    snprintf(path, sizeof(path), UNIT_DIR "/%s", unit);
    if (plat_fs_stat(root, path, PLAT_FS_NTS, 0, &fi) == 0 ||
        package_unit(root, unit, path, sizeof(path))) {
        out->installed = 1;
        copy_field(out->path, sizeof(out->path), path, strlen(path));
    }
    if (!manager_running(root))
        return 0;
    {
        const char *argv[] = {systemctl_path(), "show", unit,          "-p", "LoadState",    "-p",
                              "UnitFileState",  "-p",   "ActiveState", "-p", "SubState",     "-p",
                              "MainPID",        "-p",   "NRestarts",   "-p", "FragmentPath", NULL};
        struct plat_proc_opts o;
        struct plat_proc_result r;
        memset(&o, 0, sizeof(o));
        o.argv = argv;
        o.timeout_ms = 30000;
        rc = plat_proc_run(&o, &r);
        if (rc != 0)
            return rc;
        if (r.exit_status != 0) {
            plat_proc_result_release(&r);
            return WARD_EIO;
        }
        out->manager = 1;
        for (char *line = r.out; line && *line;) {
            char *nl = strchr(line, '\n');
            char *eq = strchr(line, '=');
            size_t n = nl ? (size_t)(nl - line) : strlen(line);
            if (eq && eq < line + n) {
                size_t k = (size_t)(eq - line);
                const char *v = eq + 1;
                size_t vn = n - k - 1;
                if (k == 9 && strncmp(line, "LoadState", k) == 0)
                    out->installed = vn == 6 && strncmp(v, "loaded", 6) == 0;
                else if (k == 13 && strncmp(line, "UnitFileState", k) == 0)
                    copy_field(out->enabled, sizeof(out->enabled), v, vn);
                else if (k == 11 && strncmp(line, "ActiveState", k) == 0)
                    copy_field(out->active, sizeof(out->active), v, vn);
                else if (k == 8 && strncmp(line, "SubState", k) == 0)
                    copy_field(out->sub, sizeof(out->sub), v, vn);
                else if (k == 7 && strncmp(line, "MainPID", k) == 0)
                    out->main_pid = strtoll(v, NULL, 10);
                else if (k == 9 && strncmp(line, "NRestarts", k) == 0)
                    out->restarts = strtoll(v, NULL, 10);
                else if (k == 12 && strncmp(line, "FragmentPath", k) == 0 && vn > 0)
                    copy_field(out->path, sizeof(out->path), v, vn);
            }
            line = nl ? nl + 1 : NULL;
        }
        plat_proc_result_release(&r);
    }
    return 0;
}

void plat_service_memory_init(void)
{
    /* The agent's threads are one loop and a few workers with short bursts: one arena
     * costs no contention worth measuring, and several keep several peaks resident. */
    mallopt(M_ARENA_MAX, 1);
    setenv("UV_THREADPOOL_SIZE", "2", 0);
}

void plat_service_memory_trim(void)
{
    malloc_trim(0);
}

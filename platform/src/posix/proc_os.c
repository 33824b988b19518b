/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX half of platform/proc.h: absolute paths start with '/', the child environment is
 * a fixed safe PATH and LANG=C plus the caller's additions, and children run detached in
 * their own session (uv's UV_PROCESS_DETACHED calls setsid) so that a timeout can signal
 * the whole process group, not just the direct child. Resource limits are applied to the
 * running child from outside (prlimit, a cgroup v2 group of its own) because libuv offers
 * no hook between fork and exec; plat_user_lookup serves run_as.
 */
#define WARD_LOG_TAG "proc"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <unistd.h>

#include <uv.h>

#include "../errmap.h"
#include "../proc_os.h"
#include "platform/proc.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

#define CGROUP2_MAGIC 0x63677270 /* CGROUP2_SUPER_MAGIC in <linux/magic.h> */

static const char *const default_env[] = {
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LANG=C",
    NULL,
};

int plat_proc_os_check_exe(const char *path)
{
    return path && path[0] == '/' ? 0 : WARD_EPATH;
}

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry, '=');
    return eq ? (size_t)(eq - entry) : 0;
}

static int overridden(const char *def, const char *const *extra)
{
    size_t n = name_len(def);
    for (size_t i = 0; extra && extra[i]; i++)
        if (name_len(extra[i]) == n && strncmp(extra[i], def, n) == 0)
            return 1;
    return 0;
}

int plat_proc_os_env(const char *const *extra, char ***out)
{
    size_t n_extra = 0, n_def = sizeof(default_env) / sizeof(default_env[0]) - 1, k = 0;
    char **env;
    *out = NULL;
    for (; extra && extra[n_extra]; n_extra++)
        if (name_len(extra[n_extra]) == 0)
            return WARD_EINVAL; /* no '=' or an empty name */
    env = ward_calloc(n_def + n_extra + 1, sizeof(*env));
    if (!env)
        return WARD_ENOMEM;
    for (size_t i = 0; i < n_def; i++) {
        if (overridden(default_env[i], extra))
            continue;
        if (!(env[k++] = ward_strdup(default_env[i])))
            goto oom;
    }
    for (size_t i = 0; i < n_extra; i++)
        if (!(env[k++] = ward_strdup(extra[i])))
            goto oom;
    *out = env;
    return 0;
oom:
    plat_proc_os_env_free(env);
    return WARD_ENOMEM;
}

void plat_proc_os_env_free(char **env)
{
    if (!env)
        return;
    for (size_t i = 0; env[i]; i++)
        ward_free(env[i]);
    ward_free(env);
}

int plat_proc_os_check_opts(const struct plat_proc_opts *o)
{
    if (o->run_as && (o->uid == UINT32_MAX || o->gid == UINT32_MAX))
        return WARD_EINVAL; /* (uid_t)-1 means "unchanged" to setuid's relatives */
    if (o->cpu_seconds > UINT32_MAX)
        return WARD_EINVAL; /* 136 years; keeps hard = soft + 1 far from RLIM_INFINITY */
    if (o->memory_bytes == UINT64_MAX)
        return WARD_EINVAL; /* RLIM_INFINITY: "no limit" has a name, 0 */
    if (o->cgroup_parent && o->cgroup_parent[0] != '/')
        return WARD_EPATH;
    return 0;
}

/* Reads a small file of a cgroup directory into buf (NUL-terminated). */
static int cg_read(const char *dir, const char *file, char *buf, size_t size)
{
    char path[PATH_MAX];
    size_t len = 0;
    int fd, rc = 0;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
        return WARD_EPATH;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return plat_err_from_errno(errno);
    while (len + 1 < size) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = plat_err_from_errno(errno);
            break;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(fd);
    return rc;
}

/* Writes one value to a cgroup control file (a single write, as the kernel expects). The
 * errno is kept for callers that care about ESRCH / ENOENT. */
static int cg_write(const char *dir, const char *file, const char *value)
{
    char path[PATH_MAX];
    size_t len = strlen(value);
    ssize_t n;
    int fd, saved;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path)) {
        errno = ENAMETOOLONG;
        return WARD_EPATH;
    }
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return plat_err_from_errno(errno);
    do
        n = write(fd, value, len);
    while (n < 0 && errno == EINTR);
    saved = errno;
    close(fd);
    errno = saved;
    if (n < 0)
        return plat_err_from_errno(saved);
    return (size_t)n == len ? 0 : WARD_EIO;
}

/* Value of "key N" in a flat-keyed cgroup file (memory.events, cpu.stat); 0 if absent. */
static uint64_t cg_key(const char *dir, const char *file, const char *key)
{
    char buf[2048];
    size_t klen = strlen(key);
    if (cg_read(dir, file, buf, sizeof(buf)) != 0)
        return 0;
    for (char *line = buf; *line;) {
        char *nl = strchr(line, '\n');
        if (strncmp(line, key, klen) == 0 && line[klen] == ' ')
            return strtoull(line + klen + 1, NULL, 10);
        if (!nl)
            break;
        line = nl + 1;
    }
    return 0;
}

/* Whether a space-separated controller list names `word`. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\n' || p[n] == '\0'))
            return 1;
    return 0;
}

int plat_proc_os_check_cgroup(const struct plat_proc_opts *o)
{
    struct statfs sf;
    char ctl[512];
    int rc;
    if (!o->cgroup_parent)
        return 0;
    if (statfs(o->cgroup_parent, &sf) != 0)
        return plat_err_from_errno(errno);
    if ((unsigned long)sf.f_type != CGROUP2_MAGIC)
        return WARD_ENOTSUP; /* cgroup v1 or not a cgroup at all */
    if (access(o->cgroup_parent, W_OK) != 0)
        return plat_err_from_errno(errno);
    if (o->memory_bytes) {
        rc = cg_read(o->cgroup_parent, "cgroup.subtree_control", ctl, sizeof(ctl));
        if (rc != 0)
            return rc;
        if (!has_word(ctl, "memory"))
            return WARD_ENOTSUP; /* the child group would have no memory.max */
    }
    return 0;
}

unsigned int plat_proc_os_spawn_flags(void)
{
    return UV_PROCESS_DETACHED;
}

int plat_proc_os_started(struct plat_proc_os *os, int pid)
{
    (void)os;
    (void)pid;
    return 0;
}

/* Kills every member of the child's cgroup: cgroup.kill (Linux 5.14+) also reaches
 * processes forked while it runs; the fallback signals each listed pid, and the cleanup
 * retries catch what was forked meanwhile. */
static void cgroup_kill(struct plat_proc_os *os)
{
    char buf[8192];
    if (!os->cgroup)
        return;
    if (cg_write(os->cgroup, "cgroup.kill", "1") == 0)
        return;
    if (cg_read(os->cgroup, "cgroup.procs", buf, sizeof(buf)) != 0)
        return;
    for (char *p = buf; *p;) {
        char *end;
        long pid = strtol(p, &end, 10);
        if (end == p)
            break;
        if (pid > 0)
            kill((pid_t)pid, SIGKILL);
        p = end;
        while (*p == '\n')
            p++;
    }
}

/* prlimit on our own child. ESRCH: it already exited, nothing left to limit. */
static int set_limit(int pid, int resource, uint64_t soft, uint64_t hard)
{
    struct rlimit rl;
    rl.rlim_cur = (rlim_t)soft;
    rl.rlim_max = (rlim_t)hard;
    if (prlimit((pid_t)pid, resource, &rl, NULL) == 0 || errno == ESRCH)
        return 0;
    return plat_err_from_errno(errno);
}

/* <parent>/ward-<pid> with memory.max, then the child moved in. */
static int cgroup_attach(struct plat_proc_os *os, int pid, const struct plat_proc_opts *o)
{
    char path[PATH_MAX], val[32];
    int rc;
    if ((size_t)snprintf(path, sizeof(path), "%s/ward-%d", o->cgroup_parent, pid) >= sizeof(path))
        return WARD_EPATH;
    if (mkdir(path, 0755) != 0) {
        /* A group of an earlier agent whose child had the same pid: gone if empty. */
        if (errno != EEXIST || rmdir(path) != 0 || mkdir(path, 0755) != 0)
            return plat_err_from_errno(errno);
    }
    if (o->memory_bytes) {
        snprintf(val, sizeof(val), "%" PRIu64, o->memory_bytes);
        if ((rc = cg_write(path, "memory.max", val)) != 0)
            goto fail;
        /* Without this the group would swap instead of staying within memory_bytes. */
        if (cg_write(path, "memory.swap.max", "0") != 0 && errno != ENOENT)
            WARD_DEBUG("child %d: memory.swap.max: %s", pid, strerror(errno));
    }
    snprintf(val, sizeof(val), "%d", pid);
    if ((rc = cg_write(path, "cgroup.procs", val)) != 0 && errno != ESRCH)
        goto fail;
    if (!(os->cgroup = ward_strdup(path))) {
        rc = WARD_ENOMEM;
        goto fail;
    }
    return 0;
fail:
    rmdir(path);
    return rc;
}

int plat_proc_os_limit(struct plat_proc_os *os, int pid, const struct plat_proc_opts *o)
{
    int rc = 0, stopped = 0, need_as = o->memory_bytes != 0;
    if (o->cgroup_parent) {
        /* Creating a cgroup and moving a task can take milliseconds (RCU grace periods):
         * hold the child still meanwhile so that it forks nothing outside the group. */
        stopped = kill(-(pid_t)pid, SIGSTOP) == 0;
        rc = cgroup_attach(os, pid, o);
        if (rc == 0) {
            os->mechanism = "cgroup";
            need_as = 0;
        } else {
            WARD_LOG_WARN_ERR(rc, "child %d: no cgroup under %s%s", pid, o->cgroup_parent,
                              need_as ? ", memory limit falls back to RLIMIT_AS" : "");
        }
        rc = 0;
    }
    if (o->cpu_seconds) {
        rc = set_limit(pid, RLIMIT_CPU, o->cpu_seconds, o->cpu_seconds + 1);
        if (rc != 0) {
            WARD_LOG_ERR(rc, "child %d: cannot set RLIMIT_CPU", pid);
            goto out;
        }
        os->cpu_seconds = o->cpu_seconds;
    }
    if (need_as) {
        rc = set_limit(pid, RLIMIT_AS, o->memory_bytes, o->memory_bytes);
        if (rc != 0) {
            WARD_LOG_ERR(rc, "child %d: cannot set RLIMIT_AS", pid);
            goto out;
        }
    }
    if (!os->mechanism && (o->cpu_seconds || o->memory_bytes))
        os->mechanism = "rlimit";
out:
    if (stopped)
        kill(-(pid_t)pid, SIGCONT);
    return rc;
}

void plat_proc_os_exited(struct plat_proc_os *os, int term_signal, int killed)
{
    if (os->cpu_seconds && term_signal == SIGXCPU)
        os->limit_exceeded = 1;
    if (!os->cgroup)
        return;
    /* memory.events is hierarchical and counts a kill of any member, not just the child. */
    if (cg_key(os->cgroup, "memory.events", "oom_kill") > 0)
        os->limit_exceeded = 1;
    /* The hard CPU limit's SIGKILL looks like any other: attribute it when it was not our
     * kill and the group has used about that much CPU time (the group's accounting runs
     * ~1% behind the rlimit's, and missed the child's first microseconds). */
    if (os->cpu_seconds && term_signal == SIGKILL && !killed &&
        cg_key(os->cgroup, "cpu.stat", "usage_usec") >= (os->cpu_seconds + 1) * 900000)
        os->limit_exceeded = 1;
    cgroup_kill(os);
}

int plat_proc_os_cleanup(struct plat_proc_os *os)
{
    if (!os->cgroup)
        return 0;
    if (rmdir(os->cgroup) == 0 || errno == ENOENT) {
        ward_free(os->cgroup);
        os->cgroup = NULL;
        return 0;
    }
    if (errno == EBUSY) {
        cgroup_kill(os); /* members forked since the last kill */
        return WARD_EAGAIN;
    }
    return 0; /* release logs it */
}

int plat_proc_os_kill(struct plat_proc_os *os, int pid, int hard)
{
    int sig = hard ? SIGKILL : SIGTERM;
    if (pid <= 0)
        return 0;
    /* The child leads its own process group (setsid); fall back to the child alone. */
    if (kill(-(pid_t)pid, sig) != 0)
        kill((pid_t)pid, sig);
    if (hard)
        cgroup_kill(os); /* what left the process group but not the cgroup */
    return 0;
}

void plat_proc_os_release(struct plat_proc_os *os)
{
    if (!os || !os->cgroup)
        return;
    if (rmdir(os->cgroup) != 0 && errno != ENOENT)
        WARD_WARN("cgroup %s left behind: %s", os->cgroup, strerror(errno));
    ward_free(os->cgroup);
    os->cgroup = NULL;
}

void plat_proc_os_init(void)
{
    /* A child that exits without reading its stdin must not kill us with SIGPIPE: libuv
     * then reports UV_EPIPE instead. Only a default disposition is changed. */
    struct sigaction sa;
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL) {
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
    }
}

int plat_proc_self_path(char **out)
{
    char buf[4096];
    ssize_t n;
    if (!out)
        return WARD_EINVAL;
    *out = NULL;
    n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n < 0)
        return errno == ENOENT ? WARD_ENOTSUP : WARD_EIO;
    buf[n] = '\0';
    *out = ward_strdup(buf);
    return *out ? 0 : WARD_ENOMEM;
}

/* POSIX portable user names: [A-Za-z_][A-Za-z0-9_.-]*, so never an option ("-rf"), never
 * shell or control characters. */
static int user_name_ok(const char *name)
{
    size_t i = 0;
    if (!name)
        return 0;
    for (; name[i]; i++) {
        char c = name[i];
        int alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        int other = (c >= '0' && c <= '9') || c == '.' || c == '-';
        if (i >= PLAT_USER_NAME_MAX || !(alpha || (i > 0 && other)))
            return 0;
    }
    return i > 0;
}

int plat_user_lookup(const char *name, uint32_t *uid, uint32_t *gid, char *home, size_t homelen)
{
    struct passwd pw, *found = NULL;
    long hint = sysconf(_SC_GETPW_R_SIZE_MAX);
    size_t size = hint > 0 ? (size_t)hint : 1024;
    char *buf = NULL;
    int err, rc;

    if (!user_name_ok(name) || !uid || !gid || (home && !homelen))
        return WARD_EINVAL;
    for (;;) {
        char *nb = ward_realloc(buf, size);
        if (!nb) {
            rc = WARD_ENOMEM;
            goto out;
        }
        buf = nb;
        err = getpwnam_r(name, &pw, buf, size, &found);
        if (err != ERANGE)
            break;
        if (size >= 1024 * 1024) {
            rc = WARD_ETOOBIG;
            goto out;
        }
        size *= 2;
    }
    if (!found) {
        /* POSIX lets "not found" come back as 0 or as one of these. */
        rc = err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM
                 ? WARD_ENOENT
                 : plat_err_from_errno(err);
        goto out;
    }
    if (home) {
        const char *dir = pw.pw_dir ? pw.pw_dir : "";
        if (strlen(dir) >= homelen) {
            rc = WARD_ETOOBIG;
            goto out;
        }
        memcpy(home, dir, strlen(dir) + 1);
    }
    *uid = (uint32_t)pw.pw_uid;
    *gid = (uint32_t)pw.pw_gid;
    rc = 0;
out:
    ward_free(buf);
    return rc;
}

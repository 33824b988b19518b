/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX half of platform/proc.h: absolute paths start with '/', the child environment is
 * a fixed safe PATH and LANG=C plus the caller's additions, and children run in their own
 * session (setsid) so that a timeout can signal the whole process group, not just the
 * direct child. The child is started here rather than by uv_spawn: clone(CLONE_VM |
 * CLONE_VFORK) instead of libuv's fork() (milliseconds less per child), and between the
 * clone and the exec it joins its cgroup, takes its rlimits and switches user (with the
 * user's supplementary groups), so no limit starts late. Its exit is seen through SIGCHLD
 * (a uv_signal_t per child, waitpid on its own pid only, as libuv does for its children);
 * plat_user_lookup serves run_as.
 */
#define WARD_LOG_TAG "proc"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stddef.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
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

/* <parent>/ward-<agent pid>.<n> with memory.max, made before the child exists; *procs_fd
 * is its cgroup.procs, open for writing: the child writes "0" to it to move itself in. */
static int cgroup_make(struct plat_proc_os *os, const struct plat_proc_opts *o, int *procs_fd)
{
    static unsigned long seq; /* guarded by nothing: any distinct-enough name will do */
    char path[PATH_MAX], val[32];
    int rc;
    *procs_fd = -1;
    if ((size_t)snprintf(path, sizeof(path), "%s/ward-%ld.%lu", o->cgroup_parent, (long)getpid(),
                         __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED)) >= sizeof(path))
        return WARD_EPATH;
    if (mkdir(path, 0755) != 0) {
        /* A group of an earlier agent that had the same pid: gone if empty. */
        if (errno != EEXIST || rmdir(path) != 0 || mkdir(path, 0755) != 0)
            return plat_err_from_errno(errno);
    }
    if (o->memory_bytes) {
        snprintf(val, sizeof(val), "%" PRIu64, o->memory_bytes);
        if ((rc = cg_write(path, "memory.max", val)) != 0)
            goto fail;
        /* Without this the group would swap instead of staying within memory_bytes. */
        if (cg_write(path, "memory.swap.max", "0") != 0 && errno != ENOENT)
            WARD_DEBUG("%s: memory.swap.max: %s", path, strerror(errno));
    }
    {
        char procs[PATH_MAX + 16];
        snprintf(procs, sizeof(procs), "%s/cgroup.procs", path);
        *procs_fd = open(procs, O_WRONLY | O_CLOEXEC);
        if (*procs_fd < 0) {
            rc = plat_err_from_errno(errno);
            goto fail;
        }
    }
    if (!(os->cgroup = ward_strdup(path))) {
        close(*procs_fd);
        *procs_fd = -1;
        rc = WARD_ENOMEM;
        goto fail;
    }
    return 0;
fail:
    rmdir(path);
    return rc;
}

/* The user's groups as initgroups(3) would set them: the primary group plus every group
 * that lists the user; just the primary group when the uid has no passwd entry. */
static int user_groups(uint32_t uid, uint32_t gid, gid_t **out, int *n)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    int cap = 32;
    gid_t *g = NULL;
    *out = NULL;
    *n = 0;
    if (getpwuid_r((uid_t)uid, &pw, buf, sizeof(buf), &found) != 0 || !found) {
        if (!(g = ward_malloc(sizeof(*g))))
            return WARD_ENOMEM;
        g[0] = (gid_t)gid;
        *out = g;
        *n = 1;
        return 0;
    }
    for (;;) {
        int got = cap;
        gid_t *ng = ward_realloc(g, (size_t)cap * sizeof(*g));
        if (!ng) {
            ward_free(g);
            return WARD_ENOMEM;
        }
        g = ng;
        if (getgrouplist(found->pw_name, (gid_t)gid, g, &got) >= 0) {
            *out = g;
            *n = got;
            return 0;
        }
        if (got <= cap || cap >= 65536) { /* no growth asked for, or absurdly many */
            ward_free(g);
            return WARD_ETOOBIG;
        }
        cap = got;
    }
}

/* What the child does between clone and exec, all decided by the parent beforehand. It
 * shares the parent's memory (CLONE_VM) while the parent waits (CLONE_VFORK), so it
 * allocates nothing, and it changes credentials with raw system calls: glibc's setuid()
 * and relatives would broadcast the change to the parent's other threads. */
struct spawn_req {
    const char *path;
    char *const *argv;
    char *const *env;
    const char *cwd;
    int fds[3];   /* stdin, stdout, stderr of the child */
    int procs_fd; /* cgroup.procs to join, -1: none */
    int as_fallback;
    int set_cpu, set_as;
    struct rlimit cpu, as;
    int run_as;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    int ngroups;
    /* written by the child */
    int err;
    const char *step;
    int cg_errno;
};

static int spawn_fail(struct spawn_req *r, const char *step)
{
    r->err = errno ? errno : EINVAL;
    r->step = step;
    _exit(127);
}

static int spawn_child(void *arg)
{
    struct spawn_req *r = arg;
    struct sigaction dfl;
    sigset_t none;

    /* Default dispositions (the agent ignores SIGPIPE, libuv handles SIGCHLD) before any
     * signal is let through; the parent blocked all of them around clone(). */
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL); /* glibc's internal signals answer EINVAL: fine */
    if (setsid() < 0)
        spawn_fail(r, "setsid");
    /* Keep every source clear of 0..2 before placing them there. */
    for (int i = 0; i < 3; i++)
        if (r->fds[i] < 3 && r->fds[i] != i) {
            int fd = fcntl(r->fds[i], F_DUPFD_CLOEXEC, 3);
            if (fd < 0)
                spawn_fail(r, "dup");
            r->fds[i] = fd;
        }
    for (int i = 0; i < 3; i++) {
        if (r->fds[i] == i ? fcntl(i, F_SETFD, 0) < 0 : dup2(r->fds[i], i) < 0)
            spawn_fail(r, "dup2");
    }
    if (r->procs_fd >= 0 && write(r->procs_fd, "0", 1) != 1) {
        r->cg_errno = errno ? errno : EIO;
        if (!r->as_fallback)
            spawn_fail(r, "cgroup");
        r->set_as = 1;
    }
    if (r->set_cpu && setrlimit(RLIMIT_CPU, &r->cpu) != 0)
        spawn_fail(r, "RLIMIT_CPU");
    if (r->set_as && setrlimit(RLIMIT_AS, &r->as) != 0)
        spawn_fail(r, "RLIMIT_AS");
    if (r->cwd && chdir(r->cwd) != 0)
        spawn_fail(r, "chdir");
    if (r->run_as) {
        if (syscall(SYS_setgroups, (size_t)r->ngroups, r->groups) != 0)
            spawn_fail(r, "setgroups");
        if (syscall(SYS_setresgid, r->gid, r->gid, r->gid) != 0)
            spawn_fail(r, "setgid");
        if (syscall(SYS_setresuid, r->uid, r->uid, r->uid) != 0)
            spawn_fail(r, "setuid");
    }
    /* Descriptors someone opened without O_CLOEXEC do not reach the program. */
    syscall(SYS_close_range, 3U, ~0U, 0U);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(r->path, r->argv, r->env);
    return spawn_fail(r, "exec");
}

#define SPAWN_STACK (64 * 1024)

/* clone(CLONE_VM | CLONE_VFORK): the child borrows the parent's page tables instead of
 * copying them as fork() does (which costs milliseconds in an agent with a few hundred
 * mappings), and the parent resumes once the child has exec'd or failed. */
static int spawn_clone(struct spawn_req *r, pid_t *pid)
{
    sigset_t all, old;
    void *stack = mmap(NULL, SPAWN_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    int e = 0;
    if (stack == MAP_FAILED)
        return WARD_ENOMEM;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    *pid = clone(spawn_child, (char *)stack + SPAWN_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, r);
    if (*pid < 0)
        e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, SPAWN_STACK);
    if (*pid < 0)
        return e == ENOMEM || e == EAGAIN ? WARD_ENOMEM : WARD_ESPAWN;
    return 0;
}

static void on_sigchld(uv_signal_t *h, int signum)
{
    struct plat_proc_os *os =
        (struct plat_proc_os *)((char *)h - offsetof(struct plat_proc_os, watch.chld));
    int status;
    pid_t got;
    (void)signum;
    if (os->pid <= 0)
        return;
    do
        got = waitpid((pid_t)os->pid, &status, WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got != (pid_t)os->pid)
        return; /* another child's SIGCHLD, or ours is not done yet */
    uv_signal_stop(h);
    os->exited_cb(os, WIFEXITED(status) ? WEXITSTATUS(status) : 0,
                  WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* A pipe whose parent end goes to `h` (nonblocking) and whose other end is *child. */
static int pipe_for(uv_pipe_t *h, int parent_reads, int *child)
{
    int fds[2], rc;
    if (pipe2(fds, O_CLOEXEC) != 0)
        return plat_err_from_errno(errno);
    rc = uv_pipe_open(h, parent_reads ? fds[0] : fds[1]);
    if (rc != 0) {
        close(fds[0]);
        close(fds[1]);
        return plat_err_from_uv(rc);
    }
    *child = parent_reads ? fds[1] : fds[0];
    return 0;
}

static int spawn_errno(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return WARD_ENOENT;
    case EACCES:
    case EPERM:
        return WARD_EACCES;
    case ENOMEM:
        return WARD_ENOMEM;
    default:
        return WARD_ESPAWN;
    }
}

int plat_proc_os_start(struct plat_proc_os *os, uv_loop_t *loop, const struct plat_proc_opts *o,
                       char **env, uv_pipe_t *in, uv_pipe_t *out, uv_pipe_t *err,
                       plat_proc_os_exit_fn exited, void *data, int *watch_open)
{
    struct spawn_req r;
    pid_t pid = -1;
    int rc;

    memset(&r, 0, sizeof(r));
    r.fds[0] = r.fds[1] = r.fds[2] = r.procs_fd = -1;
    *watch_open = 0;
    os->exited_cb = exited;
    os->pid = 0;
    rc = uv_signal_init(loop, &os->watch.chld);
    if (rc != 0)
        return plat_err_from_uv(rc);
    os->watch.chld.data = data;
    *watch_open = 1;
    /* Before the child exists, so that its SIGCHLD cannot come unwatched. */
    rc = uv_signal_start(&os->watch.chld, on_sigchld, SIGCHLD);
    if (rc != 0)
        return plat_err_from_uv(rc);

    if (in)
        rc = pipe_for(in, 0, &r.fds[0]);
    else if ((r.fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
        rc = plat_err_from_errno(errno);
    if (rc == 0)
        rc = pipe_for(out, 1, &r.fds[1]);
    if (rc == 0)
        rc = pipe_for(err, 1, &r.fds[2]);
    if (rc == 0 && o->run_as)
        rc = user_groups(o->uid, o->gid, &r.groups, &r.ngroups);
    if (rc != 0)
        goto out;

    r.as_fallback = o->memory_bytes != 0;
    if (o->cgroup_parent) {
        rc = cgroup_make(os, o, &r.procs_fd);
        if (rc == 0) {
            os->mechanism = "cgroup";
        } else {
            WARD_LOG_WARN_ERR(rc, "no cgroup under %s for the child%s", o->cgroup_parent,
                              r.as_fallback ? ", memory limit falls back to RLIMIT_AS" : "");
            rc = 0;
        }
    }
    if (o->cpu_seconds) {
        /* soft: SIGXCPU; hard a second later: SIGKILL for a child that ignores SIGXCPU */
        r.set_cpu = 1;
        r.cpu.rlim_cur = (rlim_t)o->cpu_seconds;
        r.cpu.rlim_max = (rlim_t)o->cpu_seconds + 1;
        os->cpu_seconds = o->cpu_seconds;
    }
    r.as.rlim_cur = r.as.rlim_max = (rlim_t)o->memory_bytes;
    r.set_as = o->memory_bytes && r.procs_fd < 0;
    if (!os->mechanism && (o->cpu_seconds || o->memory_bytes))
        os->mechanism = "rlimit";

    r.path = o->argv[0];
    /* execve's argv and envp are char *const * for historical reasons; nothing writes. */
    r.argv = (char *const *)(uintptr_t)o->argv;
    r.env = env;
    r.cwd = o->cwd;
    r.run_as = o->run_as;
    r.uid = (uid_t)o->uid;
    r.gid = (gid_t)o->gid;
    rc = spawn_clone(&r, &pid);
    if (rc == 0 && r.err) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        WARD_DEBUG("spawn %s: %s: %s", r.path, r.step, strerror(r.err));
        rc = spawn_errno(r.err);
        pid = -1;
    }
    if (rc != 0) {
        plat_proc_os_release(os); /* the group, still empty */
        os->mechanism = NULL;
        goto out;
    }
    if (r.cg_errno) {
        errno = r.cg_errno;
        WARD_WARN("child %d: cannot join %s (%s), memory limit falls back to RLIMIT_AS", (int)pid,
                  os->cgroup, strerror(r.cg_errno));
        plat_proc_os_release(os);
        os->mechanism = "rlimit";
    }
    os->pid = (int)pid;
out:
    for (int i = 0; i < 3; i++)
        if (r.fds[i] >= 0)
            close(r.fds[i]);
    if (r.procs_fd >= 0)
        close(r.procs_fd);
    ward_free(r.groups);
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

int plat_proc_cgroup_delegated(char **parent)
{
    char *self = NULL, dir[PATH_MAX], leaf[PATH_MAX + 8], ctl[512], want[64];
    char xv[8];
    size_t len = 0;
    struct statfs sf;
    const char *path;
    int fd, rc;
    ssize_t xn;

    *parent = NULL;
    fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return WARD_ENOTSUP;
    self = ward_malloc(4096);
    if (!self) {
        close(fd);
        return WARD_ENOMEM;
    }
    for (ssize_t n; len < 4095 && (n = read(fd, self + len, 4095 - len)) > 0;)
        len += (size_t)n;
    close(fd);
    self[len] = '\0';
    /* the unified hierarchy's line is "0::/path" */
    path = strstr(self, "0::/");
    if (!path || (path != self && path[-1] != '\n')) {
        ward_free(self);
        return WARD_ENOTSUP;
    }
    path += 3;
    {
        size_t plen = strcspn(path, "\n");
        if (plen <= 1 || (size_t)snprintf(dir, sizeof(dir), "/sys/fs/cgroup%.*s", (int)plen,
                                          path) >= sizeof(dir)) {
            ward_free(self);
            return WARD_ENOTSUP; /* the root group is never delegated */
        }
    }
    ward_free(self);
    if (statfs(dir, &sf) != 0 || (unsigned long)sf.f_type != CGROUP2_MAGIC)
        return WARD_ENOTSUP;
    xn = getxattr(dir, "trusted.delegate", xv, sizeof(xv) - 1);
    if (xn <= 0)
        return WARD_ENOTSUP;
    xv[xn] = '\0';
    if (strcmp(xv, "1") != 0)
        return WARD_ENOTSUP;
    if (cg_read(dir, "cgroup.controllers", ctl, sizeof(ctl)) != 0 || !has_word(ctl, "memory"))
        return WARD_ENOTSUP;
    snprintf(want, sizeof(want), "+memory%s%s", has_word(ctl, "cpu") ? " +cpu" : "",
             has_word(ctl, "pids") ? " +pids" : "");
    snprintf(leaf, sizeof(leaf), "%s/agent", dir);
    if (mkdir(leaf, 0755) != 0 && errno != EEXIST)
        return plat_err_from_errno(errno);
    if ((rc = cg_write(leaf, "cgroup.procs", "0")) != 0) {
        WARD_LOG_WARN_ERR(rc, "cannot move into %s", leaf);
        return rc;
    }
    if ((rc = cg_write(dir, "cgroup.subtree_control", want)) != 0) {
        WARD_LOG_WARN_ERR(rc, "cannot enable %s in %s", want, dir);
        return rc;
    }
    *parent = ward_strdup(dir);
    return *parent ? 0 : WARD_ENOMEM;
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

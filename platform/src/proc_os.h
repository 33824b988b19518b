/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the OS half of platform/proc.h. src/common/proc.c drives the pipes, the timer
 * and the result; src/{posix,win}/proc_os.c start the child and watch for its exit (POSIX:
 * clone(CLONE_VM | CLONE_VFORK) with run-as and resource limits applied between the fork
 * and the exec, and SIGCHLD; Windows: uv_spawn and a job object), say what an absolute
 * path is, build the scrubbed environment, and terminate a child and its descendants. The
 * fake shares the pure checks (check_exe, env, check_opts).
 */
#ifndef PLATFORM_SRC_PROC_OS_H
#define PLATFORM_SRC_PROC_OS_H

#include <stdint.h>

#include <uv.h>

struct plat_proc_opts;
struct plat_proc_os;

/* The child has been reaped (called from the loop, once). */
typedef void (*plat_proc_os_exit_fn)(struct plat_proc_os *os, int64_t status, int term_signal);

/* Per-child OS state: the handle that watches the child (a uv_process_t on Windows, a
 * SIGCHLD uv_signal_t on POSIX), a job object on Windows; the limits and the child's own
 * cgroup on POSIX. Zeroed before use. */
struct plat_proc_os {
    union {
        uv_process_t process;
        uv_signal_t chld;
    } watch;
    plat_proc_os_exit_fn exited_cb;
    int pid;
    void *job;
    char *cgroup;          /* directory of the child's cgroup, NULL when it has none */
    uint64_t cpu_seconds;  /* RLIMIT_CPU soft limit applied, 0: none */
    const char *mechanism; /* "cgroup", "rlimit", or NULL for "none" */
    int limit_exceeded;
};

/* 0 if `path` is an absolute executable path, WARD_EPATH otherwise. */
int plat_proc_os_check_exe(const char *path);
/* Builds the child's environment: safe defaults overridden by `extra` ("NAME=value").
 * *out is NULL-terminated; free with plat_proc_os_env_free. WARD_EINVAL on a bad entry. */
int plat_proc_os_env(const char *const *extra, char ***out);
void plat_proc_os_env_free(char **env);
/* Pure option checks shared with the fake: run_as and limits (WARD_ENOTSUP where the OS
 * has none), uid/gid values, cgroup_parent shape (WARD_EPATH if not absolute). */
int plat_proc_os_check_opts(const struct plat_proc_opts *o);
/* Real library only, before the spawn: is cgroup_parent usable (cgroup2, writable, memory
 * controller when memory_bytes)? 0 when no cgroup is asked for. */
int plat_proc_os_check_cgroup(const struct plat_proc_opts *o);
/* Starts o's child with `env`. `in` (NULL: stdin is the null device), `out` and `err` are
 * pipes initialised on `loop` and not yet opened: they become the parent's ends of the
 * child's stdin, stdout and stderr. On success os->pid is the child's pid and exited is
 * called once from the loop after it has been reaped. os->watch is initialised (and must be
 * closed by the caller, data set to `data`) whenever *watch_open is 1 on return, success or
 * not. Errors: WARD_ENOENT / WARD_EACCES (the program, cwd, or the user switch refused),
 * WARD_ENOMEM, WARD_ESPAWN. The resource limits and the cgroup are in place before the
 * program's first instruction; a limit that cannot be applied in any way fails the spawn
 * (WARD_ESPAWN) before the program runs. */
int plat_proc_os_start(struct plat_proc_os *os, uv_loop_t *loop, const struct plat_proc_opts *o,
                       char **env, uv_pipe_t *in, uv_pipe_t *out, uv_pipe_t *err,
                       plat_proc_os_exit_fn exited, void *data, int *watch_open);
/* The child was reaped: decides limit_exceeded and kills what it left in its cgroup.
 * killed: we terminated it ourselves (timeout or plat_proc_kill). */
void plat_proc_os_exited(struct plat_proc_os *os, int term_signal, int killed);
/* Removes the child's cgroup: 0 when done (or nothing to do), WARD_EAGAIN while members
 * are still dying (call again a little later). */
int plat_proc_os_cleanup(struct plat_proc_os *os);
/* Soft (hard == 0) or hard termination of the child's tree (hard also kills its cgroup).
 * Returns nonzero if the OS has no soft step (the caller then skips the grace period). */
int plat_proc_os_kill(struct plat_proc_os *os, int pid, int hard);
/* Frees the state; a cgroup that could not be removed is logged and left behind. */
void plat_proc_os_release(struct plat_proc_os *os);
/* Once per process before the first child with stdin data (POSIX: ignore SIGPIPE). */
void plat_proc_os_init(void);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the OS half of platform/proc.h. src/common/proc.c drives uv_spawn and the
 * pipes; src/{posix,win}/proc_os.c say what an absolute path is, build the scrubbed
 * environment, apply run-as and resource limits, and terminate a child and its
 * descendants. The fake shares the pure checks (check_exe, env, check_opts).
 */
#ifndef PLATFORM_SRC_PROC_OS_H
#define PLATFORM_SRC_PROC_OS_H

#include <stdint.h>

struct plat_proc_opts;

/* Per-child OS state: a job object on Windows; the limits and the child's own cgroup on
 * POSIX. Zeroed before use. */
struct plat_proc_os {
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
/* uv_process_flags to add to every spawn. */
unsigned int plat_proc_os_spawn_flags(void);
/* Called once after a successful uv_spawn (POSIX: nothing; Windows: job object). */
int plat_proc_os_started(struct plat_proc_os *os, int pid);
/* Then: applies o's resource limits to the running child (cgroup, prlimit). Nonzero when
 * a requested limit could not be applied in any way (the caller kills the child). */
int plat_proc_os_limit(struct plat_proc_os *os, int pid, const struct plat_proc_opts *o);
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

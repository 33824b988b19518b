/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child processes on the libuv loop. No shell is ever involved: the caller gives an argv array
 * whose argv[0] is an absolute executable path (a relative one is WARD_EPATH). The child
 * gets a scrubbed environment: a safe PATH, LANG=C (on Windows the few variables a process
 * needs to start: SystemRoot, SystemDrive, windir, TEMP, TMP) plus exactly what the caller
 * passes. stdout and stderr are captured up to a cap each (the head), optionally plus the
 * last bytes of the stream (the tail, kept in a fixed ring buffer); everything between is
 * read and discarded (the child never blocks on a full pipe, memory stays bounded by head +
 * tail however much the child writes) and flagged as truncated. A timeout terminates the
 * child and what it started: POSIX sends SIGTERM to its process group, then SIGKILL after a
 * grace period; Windows terminates the job object the child was put in.
 *
 * For administrator scripts (POSIX) the child can also run as another user and under CPU
 * and memory limits; see the option fields. Windows answers WARD_ENOTSUP for those.
 *
 * plat_proc_spawn runs on the caller's loop and calls its callback exactly once, after the
 * child has exited and its pipes are drained and every handle is closed. If it returns an
 * error the callback is never called. plat_proc_run is the blocking convenience on a
 * private loop (for CLI tools and tests; never call it on the agent's loop thread).
 */
#ifndef PLATFORM_PROC_H
#define PLATFORM_PROC_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define PLAT_PROC_DEFAULT_CAP (1024 * 1024)
#define PLAT_PROC_DEFAULT_GRACE_MS 2000

struct plat_proc_opts {
    const char *const *argv; /* NULL-terminated; argv[0] is the absolute executable path */
    const char *const *env;  /* NULL-terminated "NAME=value" additions, or NULL */
    const char *cwd;         /* working directory, NULL to inherit */
    const void *stdin_data;  /* bytes fed to stdin, then closed; NULL: stdin is the null device */
    size_t stdin_len;
    size_t stdout_max; /* head caps: first bytes kept; 0 means PLAT_PROC_DEFAULT_CAP */
    size_t stderr_max;
    uint64_t timeout_ms;    /* 0: no timeout */
    uint64_t kill_grace_ms; /* SIGTERM -> SIGKILL delay; 0 means PLAT_PROC_DEFAULT_GRACE_MS */

    /* Tail caps: bytes of the END of each stream kept besides the head (0: none, only the
     * head is kept). Memory for a stream never exceeds head + tail. */
    size_t stdout_tail;
    size_t stderr_tail;

    /* Run as another user (POSIX; Windows: WARD_ENOTSUP). run_as = 1 makes the child set
     * its supplementary groups to the user's (as initgroups(3) would: the groups that list
     * the user's passwd name, plus gid; just gid for a uid without a passwd entry), then
     * its gid and uid, before the exec; this needs root (otherwise the spawn fails with
     * WARD_EACCES). cwd is entered (chdir) while still root, before the switch. The
     * environment stays the scrubbed one: pass HOME, USER etc. yourself (plat_user_lookup
     * gives the home directory). uid/gid (uint32_t)-1 are WARD_EINVAL. */
    int run_as;
    uint32_t uid;
    uint32_t gid;

    /* Resource limits (POSIX; Windows: WARD_ENOTSUP), 0 = none. They are in place before
     * the program's first instruction: the child applies them between its clone and its
     * exec. A root child could raise its own rlimits or leave its cgroup; the limits bind
     * scripts that run as another user (run_as).
     *
     * cpu_seconds: RLIMIT_CPU, soft = cpu_seconds (SIGXCPU), hard = one second
     * more (SIGKILL for a child that catches or ignores SIGXCPU). Per process, inherited by
     * the processes the child starts.
     *
     * memory_bytes: with cgroup_parent, memory.max of the child's own cgroup (and
     * memory.swap.max = 0 where swap accounting exists), so the kernel OOM-kills inside the
     * group when it is exceeded. Without cgroup_parent, RLIMIT_AS (address space, per
     * process): allocations beyond it fail inside the child, nothing is killed.
     *
     * cgroup_parent: absolute path of a writable cgroup v2 directory (with "memory" in its
     * cgroup.subtree_control when memory_bytes is set; else WARD_ENOTSUP before anything
     * runs; not cgroup2: WARD_ENOTSUP; not writable: WARD_EACCES). The group
     * <cgroup_parent>/ward-<agent pid>.<n> is made before the child exists and the child
     * moves itself in before its exec. After it exits, whatever it left in the group is
     * killed (cgroup.kill, or SIGKILL to each member on kernels before 5.14) and the group
     * is removed. A timeout's hard kill also kills the whole group, reaching processes that
     * left the process group. If the group cannot be made or joined, memory falls back to
     * RLIMIT_AS (a warning is logged and limits_mechanism says "rlimit"). */
    uint64_t cpu_seconds;
    uint64_t memory_bytes;
    const char *cgroup_parent;
};

struct plat_proc_result {
    int64_t exit_status; /* exit code (meaningful when term_signal == 0) */
    int term_signal;     /* signal that ended the child (POSIX), else 0 */
    int timed_out;       /* the timeout fired and the child was killed */
    char *out;           /* captured stdout, NUL-terminated (never NULL after a run) */
    size_t out_len;
    int out_truncated; /* bytes were dropped (out_dropped > 0), or reading stopped early
                        * because descendants held the pipe after the child exited */
    char *err;         /* captured stderr, NUL-terminated */
    size_t err_len;
    int err_truncated;

    /* out[0, out_head_len) is the start of the stream, out[out_head_len, out_len) its end
     * (the tail); out_head_len == out_len when no tail was kept. When out_dropped is 0 the
     * two are contiguous and out is the whole stream. Always out_dropped == out_total -
     * out_len. out_total counts the bytes read from the child's pipe. Same for err. */
    size_t out_head_len;
    uint64_t out_total;
    uint64_t out_dropped;
    size_t err_head_len;
    uint64_t err_total;
    uint64_t err_dropped;

    /* A resource limit ended the child or something it started: its cgroup's memory.events
     * counted an oom_kill, or the child died of SIGXCPU, or (in a cgroup) of a SIGKILL that
     * was not ours while the group's CPU time was near the hard limit. RLIMIT_AS never
     * sets it (the allocation just fails), nor a descendant's SIGXCPU, nor a SIGKILL from
     * the hard CPU limit outside a cgroup (it cannot be told from any other SIGKILL). */
    int limit_exceeded;
    /* How the limits were enforced: "cgroup" (the child had its own cgroup), "rlimit", or
     * "none" (no limit asked, or none could be applied). Static; NULL only after release. */
    const char *limits_mechanism;
};

/* Opaque running child. Valid from a successful plat_proc_spawn until its callback returns. */
struct plat_proc;

/* Completion: res is owned by the library and released after the callback returns; to keep
 * out/err, take the pointers and set the fields to NULL. */
typedef void (*plat_proc_done_fn)(struct plat_proc *proc, struct plat_proc_result *res, void *ctx);

/* Starts a child on `loop`. *out (optional) receives the handle for plat_proc_kill/pid.
 * Errors: WARD_EINVAL (bad options), WARD_EPATH (relative executable path or cgroup_parent),
 * WARD_ENOENT / WARD_EACCES (executable missing / not executable, or run_as refused),
 * WARD_ENOTSUP (run_as or limits on Windows, unusable cgroup_parent), WARD_ESPAWN (other
 * start failures), WARD_ENOMEM. On error nothing runs and done is never called. */
int plat_proc_spawn(uv_loop_t *loop, const struct plat_proc_opts *opts, plat_proc_done_fn done,
                    void *ctx, struct plat_proc **out);

/* Terminates a running child now (same sequence as a timeout, without setting timed_out).
 * The callback still comes, once. */
void plat_proc_kill(struct plat_proc *proc);
/* Process id of the child. */
int plat_proc_pid(const struct plat_proc *proc);

/* Runs a child to completion on a private loop. Returns 0 when it ran (whatever its exit
 * status: look at res), or the spawn error. res is filled in on success only; release it
 * with plat_proc_result_release. */
int plat_proc_run(const struct plat_proc_opts *opts, struct plat_proc_result *res);

/* Absolute path of the running executable (ward_malloc'd): /proc/self/exe on Linux,
 * GetModuleFileNameW on Windows. Used to re-exec the agent and to find helper programs. */
int plat_proc_self_path(char **out);

/* For a service whose manager delegated a cgroup v2 subtree to it (systemd's Delegate=yes,
 * which marks the group with the trusted.delegate extended attribute): moves this process
 * into <own group>/agent (cgroup v2 lets only leaves hold processes when controllers are
 * enabled below), enables the memory controller (and cpu, pids where offered) for the
 * subtree, and returns the own group's directory (ward_malloc'd) as the cgroup_parent for
 * children. WARD_ENOTSUP when there is nothing delegated (no cgroup2, no attribute, no
 * memory controller offered) and nothing was changed; Windows: WARD_ENOTSUP. */
int plat_proc_cgroup_delegated(char **parent);

/* Frees out/err and zeroes res. NULL-safe. */
void plat_proc_result_release(struct plat_proc_result *res);

#define PLAT_USER_NAME_MAX 32

/* Looks up a local or directory user (getpwnam_r, so NSS sources count) for run_as: uid,
 * primary gid and, when home is not NULL, the home directory (NUL-terminated; WARD_ETOOBIG
 * when it does not fit homelen). The name must match the POSIX portable user-name grammar
 * [A-Za-z_][A-Za-z0-9_.-]* with at most PLAT_USER_NAME_MAX characters, so no leading '-',
 * no shell or control characters: WARD_EINVAL otherwise. Unknown user: WARD_ENOENT.
 * Windows: WARD_ENOTSUP. */
int plat_user_lookup(const char *name, uint32_t *uid, uint32_t *gid, char *home, size_t homelen);

#endif

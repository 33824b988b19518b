/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Child processes on uv_spawn. No shell is ever involved: the caller gives an argv array
 * whose argv[0] is an absolute executable path (a relative one is WARD_EPATH). The child
 * gets a scrubbed environment: a safe PATH, LANG=C (on Windows the few variables a process
 * needs to start: SystemRoot, SystemDrive, windir, TEMP, TMP) plus exactly what the caller
 * passes. stdout and stderr are captured up to a cap each; the excess is read and discarded
 * (the child never blocks on a full pipe) and flagged as truncated. A timeout terminates
 * the child and what it started: POSIX sends SIGTERM to its process group, then SIGKILL
 * after a grace period; Windows terminates the job object the child was put in.
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
    size_t stdout_max; /* capture caps; 0 means PLAT_PROC_DEFAULT_CAP */
    size_t stderr_max;
    uint64_t timeout_ms;    /* 0: no timeout */
    uint64_t kill_grace_ms; /* SIGTERM -> SIGKILL delay; 0 means PLAT_PROC_DEFAULT_GRACE_MS */
};

struct plat_proc_result {
    int64_t exit_status; /* exit code (meaningful when term_signal == 0) */
    int term_signal;     /* signal that ended the child (POSIX), else 0 */
    int timed_out;       /* the timeout fired and the child was killed */
    char *out;           /* captured stdout, NUL-terminated (never NULL after a run) */
    size_t out_len;
    int out_truncated;
    char *err; /* captured stderr, NUL-terminated */
    size_t err_len;
    int err_truncated;
};

/* Opaque running child. Valid from a successful plat_proc_spawn until its callback returns. */
struct plat_proc;

/* Completion: res is owned by the library and released after the callback returns; to keep
 * out/err, take the pointers and set the fields to NULL. */
typedef void (*plat_proc_done_fn)(struct plat_proc *proc, struct plat_proc_result *res, void *ctx);

/* Starts a child on `loop`. *out (optional) receives the handle for plat_proc_kill/pid.
 * Errors: WARD_EINVAL (bad options), WARD_EPATH (relative executable path), WARD_ENOENT /
 * WARD_EACCES (executable missing / not executable), WARD_ESPAWN (other start failures),
 * WARD_ENOMEM. On error nothing runs and done is never called. */
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

/* Frees out/err and zeroes res. NULL-safe. */
void plat_proc_result_release(struct plat_proc_result *res);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the OS half of platform/proc.h. src/common/proc.c drives uv_spawn and the
 * pipes; src/{posix,win}/proc_os.c say what an absolute path is, build the scrubbed
 * environment and terminate a child and its descendants.
 */
#ifndef PLATFORM_SRC_PROC_OS_H
#define PLATFORM_SRC_PROC_OS_H

/* Per-child OS state (a job object on Windows). */
struct plat_proc_os {
    void *job;
};

/* 0 if `path` is an absolute executable path, WARD_EPATH otherwise. */
int plat_proc_os_check_exe(const char *path);
/* Builds the child's environment: safe defaults overridden by `extra` ("NAME=value").
 * *out is NULL-terminated; free with plat_proc_os_env_free. WARD_EINVAL on a bad entry. */
int plat_proc_os_env(const char *const *extra, char ***out);
void plat_proc_os_env_free(char **env);
/* uv_process_flags to add to every spawn. */
unsigned int plat_proc_os_spawn_flags(void);
/* Called once after a successful uv_spawn (POSIX: nothing; Windows: job object). */
int plat_proc_os_started(struct plat_proc_os *os, int pid);
/* Soft (hard == 0) or hard termination of the child's tree. Returns nonzero if the OS has
 * no soft step (the caller then skips the grace period). */
int plat_proc_os_kill(struct plat_proc_os *os, int pid, int hard);
void plat_proc_os_release(struct plat_proc_os *os);
/* Once per process before the first child with stdin data (POSIX: ignore SIGPIPE). */
void plat_proc_os_init(void);

#endif

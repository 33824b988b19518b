/* SPDX-License-Identifier: Apache-2.0 */
/*
 * POSIX half of platform/proc.h: absolute paths start with '/', the child environment is
 * a fixed safe PATH and LANG=C plus the caller's additions, and children run detached in
 * their own session (uv's UV_PROCESS_DETACHED calls setsid) so that a timeout can signal
 * the whole process group, not just the direct child.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <uv.h>

#include "../proc_os.h"
#include "platform/proc.h"
#include "ward/alloc.h"
#include "ward/error.h"

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

int plat_proc_os_kill(struct plat_proc_os *os, int pid, int hard)
{
    int sig = hard ? SIGKILL : SIGTERM;
    (void)os;
    if (pid <= 0)
        return 0;
    /* The child leads its own process group (setsid); fall back to the child alone. */
    if (kill(-(pid_t)pid, sig) != 0)
        kill((pid_t)pid, sig);
    return 0;
}

void plat_proc_os_release(struct plat_proc_os *os)
{
    (void)os;
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

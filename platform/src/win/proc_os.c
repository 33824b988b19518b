/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows half of platform/proc.h. An absolute path has a drive and a separator ("C:\")
 * or is UNC. The child environment is rebuilt from the few system-defined variables
 * processes need to start (SystemRoot above all) plus a system-only PATH; nothing of the
 * agent's own environment leaks through. Each child is put in its own job object so a
 * timeout terminates everything it started; Windows has no soft "SIGTERM" for arbitrary
 * processes, so termination is immediate. Running as another user and resource limits are
 * not implemented (WARD_ENOTSUP; job object limits would be the way).
 */
#define WARD_LOG_TAG "proc"

#include <windows.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include <uv.h>

#include "../errmap.h"
#include "../proc_os.h"
#include "platform/proc.h"
#include "wstr.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

/* System-defined variables copied from the agent's environment when present. */
static const wchar_t *const keep_vars[] = {
    L"SystemRoot",
    L"SystemDrive",
    L"windir",
    L"TEMP",
    L"TMP",
    L"ProgramData",
    L"ProgramFiles",
    L"ProgramFiles(x86)",
    L"ProgramW6432",
    L"CommonProgramFiles",
    L"ALLUSERSPROFILE",
    L"COMPUTERNAME",
    L"PATHEXT",
    L"NUMBER_OF_PROCESSORS",
    L"PROCESSOR_ARCHITECTURE",
    L"OS",
    NULL,
};

static int is_sep(char c)
{
    return c == '\\' || c == '/';
}

int plat_proc_os_check_exe(const char *p)
{
    if (!p)
        return WARD_EPATH;
    if (((p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) && p[1] == ':' &&
        is_sep(p[2]))
        return 0;
    if (is_sep(p[0]) && is_sep(p[1]) && p[2] && !is_sep(p[2]))
        return 0; /* UNC or \\?\ */
    return WARD_EPATH;
}

static size_t name_len(const char *entry)
{
    const char *eq = strchr(entry[0] == '=' ? entry + 1 : entry, '=');
    return eq ? (size_t)(eq - entry) : 0;
}

/* Windows variable names are case-insensitive. */
static int overridden(const char *name, size_t n, const char *const *extra)
{
    for (size_t i = 0; extra && extra[i]; i++)
        if (name_len(extra[i]) == n && _strnicmp(extra[i], name, n) == 0)
            return 1;
    return 0;
}

static int push(char **env, size_t *k, const wchar_t *name, const wchar_t *value)
{
    char *n = NULL, *v = NULL;
    size_t need;
    int rc = plat_win_wide_to_utf8(name, &n);
    if (rc == 0)
        rc = plat_win_wide_to_utf8(value, &v);
    if (rc == 0) {
        need = strlen(n) + 1 + strlen(v) + 1;
        env[*k] = ward_malloc(need);
        if (!env[*k])
            rc = WARD_ENOMEM;
        else
            snprintf(env[(*k)++], need, "%s=%s", n, v);
    }
    ward_free(n);
    ward_free(v);
    return rc;
}

int plat_proc_os_env(const char *const *extra, char ***out)
{
    size_t n_extra = 0, k = 0, n_keep = sizeof(keep_vars) / sizeof(keep_vars[0]) - 1;
    wchar_t val[1024], sysroot[MAX_PATH], path[4 * MAX_PATH];
    char **env = NULL;
    int rc = 0;

    *out = NULL;
    for (; extra && extra[n_extra]; n_extra++)
        if (name_len(extra[n_extra]) == 0)
            return WARD_EINVAL;
    env = ward_calloc(n_keep + 2 + n_extra + 1, sizeof(*env));
    if (!env)
        return WARD_ENOMEM;
    for (size_t i = 0; keep_vars[i]; i++) {
        char name8[64];
        DWORD n = GetEnvironmentVariableW(keep_vars[i], val, sizeof(val) / sizeof(val[0]));
        if (n == 0 || n >= sizeof(val) / sizeof(val[0]))
            continue;
        if (plat_win_wide_to_utf8_buf(keep_vars[i], name8, sizeof(name8)) != 0 ||
            overridden(name8, strlen(name8), extra))
            continue;
        if ((rc = push(env, &k, keep_vars[i], val)) != 0)
            goto fail;
    }
    /* SystemRoot is what a process cannot start without; never rely on inheriting it. */
    if (!overridden("SystemRoot", 10, extra) &&
        GetEnvironmentVariableW(L"SystemRoot", val, sizeof(val) / sizeof(val[0])) == 0) {
        UINT n = GetWindowsDirectoryW(sysroot, MAX_PATH);
        if (n > 0 && n < MAX_PATH && (rc = push(env, &k, L"SystemRoot", sysroot)) != 0)
            goto fail;
    }
    if (!overridden("PATH", 4, extra)) {
        UINT n = GetWindowsDirectoryW(sysroot, MAX_PATH);
        if (n > 0 && n < MAX_PATH) {
            _snwprintf(path, sizeof(path) / sizeof(path[0]),
                       L"%ls\\system32;%ls;%ls\\System32\\Wbem;"
                       L"%ls\\System32\\WindowsPowerShell\\v1.0",
                       sysroot, sysroot, sysroot, sysroot);
            path[sizeof(path) / sizeof(path[0]) - 1] = L'\0';
            if ((rc = push(env, &k, L"PATH", path)) != 0)
                goto fail;
        }
    }
    for (size_t i = 0; i < n_extra; i++)
        if (!(env[k++] = ward_strdup(extra[i]))) {
            rc = WARD_ENOMEM;
            goto fail;
        }
    *out = env;
    return 0;
fail:
    plat_proc_os_env_free(env);
    return rc;
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
    if (o->run_as || o->cpu_seconds || o->memory_bytes || o->cgroup_parent)
        return WARD_ENOTSUP;
    return 0;
}

int plat_proc_os_check_cgroup(const struct plat_proc_opts *o)
{
    return o->cgroup_parent ? WARD_ENOTSUP : 0;
}

/* Puts the child in a job object of its own, so that a kill reaches what it started. */
static int job_attach(struct plat_proc_os *os, int pid)
{
    HANDLE job, proc;
    int rc = 0;
    os->job = NULL;
    job = CreateJobObjectW(NULL, NULL);
    if (!job)
        return plat_err_from_win32(GetLastError());
    proc = OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, FALSE, (DWORD)pid);
    if (!proc) {
        rc = plat_err_from_win32(GetLastError());
        CloseHandle(job);
        return rc;
    }
    /* Nested jobs (Windows 8+) let this coexist with libuv's own kill-on-close job. */
    if (!AssignProcessToJobObject(job, proc)) {
        rc = plat_err_from_win32(GetLastError());
        CloseHandle(job);
    } else {
        os->job = job;
    }
    CloseHandle(proc);
    return rc;
}

static void on_uv_exit(uv_process_t *proc, int64_t status, int term_signal)
{
    struct plat_proc_os *os =
        (struct plat_proc_os *)((char *)proc - offsetof(struct plat_proc_os, watch.process));
    os->exited_cb(os, status, term_signal);
}

int plat_proc_os_start(struct plat_proc_os *os, uv_loop_t *loop, const struct plat_proc_opts *o,
                       char **env, uv_pipe_t *in, uv_pipe_t *out, uv_pipe_t *err,
                       plat_proc_os_exit_fn exited, void *data, int *watch_open)
{
    uv_process_options_t uo;
    uv_stdio_container_t stdio[3];
    int rc;

    memset(&uo, 0, sizeof(uo));
    stdio[0].flags = in ? (uv_stdio_flags)(UV_CREATE_PIPE | UV_READABLE_PIPE) : UV_IGNORE;
    stdio[0].data.stream = (uv_stream_t *)in;
    stdio[1].flags = (uv_stdio_flags)(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[1].data.stream = (uv_stream_t *)out;
    stdio[2].flags = (uv_stdio_flags)(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[2].data.stream = (uv_stream_t *)err;
    uo.exit_cb = on_uv_exit;
    uo.file = o->argv[0];
    /* libuv's args are char ** for historical reasons; it never writes through them. */
    uo.args = (char **)(uintptr_t)o->argv;
    uo.env = env;
    uo.cwd = o->cwd;
    uo.flags = UV_PROCESS_WINDOWS_HIDE;
    uo.stdio_count = 3;
    uo.stdio = stdio;
    os->exited_cb = exited;
    os->watch.process.data = data;
    rc = uv_spawn(loop, &os->watch.process, &uo);
    *watch_open = 1; /* the process handle is initialised even when uv_spawn fails */
    if (rc != 0)
        return rc == UV_ENOENT || rc == UV_EACCES || rc == UV_EPERM ? plat_err_from_uv(rc)
               : rc == UV_ENOMEM                                    ? WARD_ENOMEM
                                                                    : WARD_ESPAWN;
    os->pid = os->watch.process.pid;
    rc = job_attach(os, os->pid);
    if (rc != 0)
        WARD_LOG_WARN_ERR(rc, "child %d: cannot confine its descendants", os->pid);
    return 0;
}

void plat_proc_os_exited(struct plat_proc_os *os, int term_signal, int killed)
{
    (void)os;
    (void)term_signal;
    (void)killed;
}

int plat_proc_os_cleanup(struct plat_proc_os *os)
{
    (void)os;
    return 0;
}

int plat_proc_os_kill(struct plat_proc_os *os, int pid, int hard)
{
    (void)hard;
    if (os->job && TerminateJobObject((HANDLE)os->job, 1))
        return 1;
    if (pid > 0) {
        HANDLE h = OpenProcess(PROCESS_TERMINATE, FALSE, (DWORD)pid);
        if (h) {
            TerminateProcess(h, 1);
            CloseHandle(h);
        }
    }
    return 1; /* no soft step on Windows */
}

void plat_proc_os_release(struct plat_proc_os *os)
{
    if (os && os->job) {
        CloseHandle((HANDLE)os->job);
        os->job = NULL;
    }
}

void plat_proc_os_init(void)
{
}

int plat_proc_cgroup_delegated(char **parent)
{
    if (parent)
        *parent = NULL;
    return WARD_ENOTSUP; /* job objects, not cgroups */
}

int plat_proc_self_path(char **out)
{
    DWORD size = MAX_PATH, n;
    wchar_t *buf = NULL;
    int rc;
    if (!out)
        return WARD_EINVAL;
    *out = NULL;
    for (;;) {
        wchar_t *nb = ward_realloc(buf, size * sizeof(wchar_t));
        if (!nb) {
            ward_free(buf);
            return WARD_ENOMEM;
        }
        buf = nb;
        n = GetModuleFileNameW(NULL, buf, size);
        if (n == 0) {
            rc = plat_err_from_win32(GetLastError());
            ward_free(buf);
            return rc;
        }
        if (n < size)
            break;
        if (size >= 32768) {
            ward_free(buf);
            return WARD_ETOOBIG;
        }
        size *= 2;
    }
    rc = plat_win_wide_to_utf8(buf, out);
    ward_free(buf);
    return rc;
}

int plat_user_lookup(const char *name, uint32_t *uid, uint32_t *gid, char *home, size_t homelen)
{
    (void)name;
    (void)uid;
    (void)gid;
    (void)home;
    (void)homelen;
    return WARD_ENOTSUP; /* run_as is POSIX only */
}

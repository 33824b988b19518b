/* SPDX-License-Identifier: Apache-2.0 */
/* Windows: the service control manager. plat_service_dispatch runs the daemon under the
 * SCM's dispatcher and reports its state; without the dispatcher (a console run) nobody
 * listens and the status calls are no-ops, as on Linux without NOTIFY_SOCKET.
 * Registration (`ward service install`) creates an auto-start service with delayed start,
 * recovery actions restart/restart/restart (reset after a day) also for non-crash
 * failures, and starts it. */
#define WARD_LOG_TAG "service"

#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "platform/fs.h"
#include "platform/service.h"
#include "wstr.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/error.h"
#include "ward/log.h"

#define NAME_MAX_W 64

static SERVICE_STATUS_HANDLE g_handle;
static SERVICE_STATUS g_status;
static CRITICAL_SECTION g_lock;
static INIT_ONCE g_lock_once = INIT_ONCE_STATIC_INIT;
static void (*g_stop)(void *ctx);
static void *g_stop_ctx;
static int (*g_run)(void *ctx);
static void *g_run_ctx;
static int g_rc;
static wchar_t g_name[NAME_MAX_W];

static BOOL CALLBACK init_lock(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
    (void)once;
    (void)param;
    (void)ctx;
    InitializeCriticalSection(&g_lock);
    return TRUE;
}

static void lock_init(void)
{
    InitOnceExecuteOnce(&g_lock_once, init_lock, NULL, NULL);
}

static void report(DWORD state, DWORD wait_hint)
{
    if (!g_handle)
        return;
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = state;
    g_status.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
    g_status.dwWaitHint = wait_hint;
    if (state == SERVICE_RUNNING || state == SERVICE_STOPPED)
        g_status.dwCheckPoint = 0;
    else
        g_status.dwCheckPoint++;
    SetServiceStatus(g_handle, &g_status);
}

static DWORD WINAPI on_control(DWORD control, DWORD type, LPVOID data, LPVOID ctx)
{
    (void)type;
    (void)data;
    (void)ctx;
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        report(SERVICE_STOP_PENDING, 90000); /* running commands report first */
        EnterCriticalSection(&g_lock);
        if (g_stop)
            g_stop(g_stop_ctx);
        LeaveCriticalSection(&g_lock);
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

static void configure_self(void);

static void WINAPI service_main(DWORD argc, LPWSTR *argv)
{
    (void)argc;
    (void)argv;
    g_handle = RegisterServiceCtrlHandlerExW(g_name, on_control, NULL);
    if (!g_handle) {
        g_rc = WARD_EIO;
        return;
    }
    report(SERVICE_START_PENDING, 30000);
    configure_self();
    g_rc = g_run(g_run_ctx);
    if (g_rc != 0) {
        g_status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
        g_status.dwServiceSpecificExitCode = (DWORD)(g_rc < 0 ? -g_rc : g_rc);
    }
    report(SERVICE_STOPPED, 0);
}

int plat_service_dispatch(const char *name, int (*run)(void *ctx), void *ctx)
{
    SERVICE_TABLE_ENTRYW table[2];
    wchar_t *wname = NULL;
    DWORD err;
    int rc;

    lock_init();
    rc = plat_win_utf8_to_wide(name, strlen(name), &wname);
    if (rc != 0)
        return rc;
    if (wcslen(wname) >= NAME_MAX_W) {
        ward_free(wname);
        return WARD_EINVAL;
    }
    wcscpy(g_name, wname);
    ward_free(wname);
    g_run = run;
    g_run_ctx = ctx;
    memset(table, 0, sizeof(table));
    table[0].lpServiceName = g_name;
    table[0].lpServiceProc = service_main;
    if (!StartServiceCtrlDispatcherW(table)) {
        err = GetLastError();
        if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
            WARD_ERROR("--service: not started by the service control manager (run `ward run` "
                       "in a console instead)");
            return WARD_ESTATE;
        }
        WARD_ERROR("cannot connect to the service control manager (error %lu)", (unsigned long)err);
        return WARD_EIO;
    }
    return g_rc;
}

void plat_service_set_stop(void (*stop)(void *ctx), void *ctx)
{
    lock_init();
    EnterCriticalSection(&g_lock);
    g_stop = stop;
    g_stop_ctx = ctx;
    LeaveCriticalSection(&g_lock);
}

int plat_service_supervised(void)
{
    return g_handle != NULL;
}

int plat_service_ready(const char *status)
{
    (void)status; /* the SCM has no status text; the event log has the agent's lines */
    report(SERVICE_RUNNING, 0);
    return 0;
}

int plat_service_status(const char *status)
{
    (void)status;
    return 0;
}

int plat_service_stopping(void)
{
    report(SERVICE_STOP_PENDING, 90000);
    return 0;
}

int plat_service_reloading(void)
{
    return 0;
}

unsigned long long plat_service_watchdog_usec(void)
{
    return 0; /* the SCM has no watchdog; recovery actions restart a failed service */
}

int plat_service_watchdog(void)
{
    return 0;
}

/* ---- registration ------------------------------------------------------------------------- */

/* A command-line word for CreateService's binary path: quoted, with the backslashes before
 * a quote doubled and the quote escaped (CommandLineToArgvW's rules). */
static int append_arg(struct ward_buf *b, const char *w)
{
    size_t bs = 0;
    int rc = ward_buf_append(b, b->len ? " \"" : "\"", b->len ? 2 : 1);
    for (const char *c = w; rc == 0 && *c; c++) {
        if (*c == '\\') {
            bs++;
            rc = ward_buf_append(b, c, 1);
            continue;
        }
        if (*c == '"') {
            for (size_t i = 0; rc == 0 && i < bs + 1; i++)
                rc = ward_buf_append(b, "\\", 1);
        }
        bs = 0;
        if (rc == 0)
            rc = ward_buf_append(b, c, 1);
    }
    for (size_t i = 0; rc == 0 && i < bs; i++) /* before the closing quote */
        rc = ward_buf_append(b, "\\", 1);
    return rc == 0 ? ward_buf_append(b, "\"", 1) : rc;
}

/* Recovery actions restart/restart/restart (5 s, 30 s, 60 s; the count resets after a
 * day), also when the service stops with an error, delayed automatic start, and the
 * description. Best effort: the service works without them, and wine answers some with
 * ERROR_CALL_NOT_IMPLEMENTED. */
static void set_recovery(SC_HANDLE svc)
{
    SC_ACTION actions[3] = {
        {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000}, {SC_ACTION_RESTART, 60000}};
    SERVICE_FAILURE_ACTIONSW fa;
    SERVICE_FAILURE_ACTIONS_FLAG faf = {TRUE};
    SERVICE_DELAYED_AUTO_START_INFO delayed = {TRUE};
    SERVICE_DESCRIPTIONW desc;
    wchar_t desc_text[] = L"Ward device management agent: enrollment, inventory, baselines "
                          L"and signed commands.";

    memset(&fa, 0, sizeof(fa));
    fa.dwResetPeriod = 86400;
    fa.cActions = 3;
    fa.lpsaActions = actions;
    desc.lpDescription = desc_text;
    if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc))
        WARD_WARN("service description not set (error %lu)", (unsigned long)GetLastError());
    if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &fa))
        WARD_WARN("recovery actions not set (error %lu)", (unsigned long)GetLastError());
    if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &faf))
        WARD_WARN("recovery on non-crash failures not set (error %lu)",
                  (unsigned long)GetLastError());
    if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed))
        WARD_WARN("delayed start not set (error %lu)", (unsigned long)GetLastError());
}

/* An unquoted program path with a space (C:\Program Files\Ward\ward.exe run ...) would let
 * C:\Program.exe run in its place: quote it. */
static void quote_image_path(SC_HANDLE svc)
{
    union {
        QUERY_SERVICE_CONFIGW c;
        char raw[8192];
    } cfg;
    DWORD need = 0;
    const wchar_t *p, *exe;
    wchar_t fixed[2048];
    size_t n;

    if (!QueryServiceConfigW(svc, &cfg.c, sizeof(cfg), &need) || !cfg.c.lpBinaryPathName)
        return;
    p = cfg.c.lpBinaryPathName;
    if (p[0] == L'"')
        return;
    for (exe = p; *exe; exe++)
        if (_wcsnicmp(exe, L".exe", 4) == 0 && (exe[4] == L' ' || exe[4] == L'\0'))
            break;
    if (!*exe)
        return;
    n = (size_t)(exe + 4 - p);
    if (!wmemchr(p, L' ', n) || wcslen(p) + 3 > sizeof(fixed) / sizeof(fixed[0]))
        return;
    fixed[0] = L'"';
    wmemcpy(fixed + 1, p, n);
    fixed[n + 1] = L'"';
    wcscpy(fixed + n + 2, p + n);
    if (ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, SERVICE_NO_CHANGE, fixed,
                             NULL, NULL, NULL, NULL, NULL, NULL))
        WARD_INFO("quoted the service's program path (it had a space and no quotes)");
    else
        WARD_WARN("cannot quote the service's program path (error %lu)",
                  (unsigned long)GetLastError());
}

/* Whoever registered the service (ward service install, the MSI, an administrator's sc
 * create), it gets the same recovery and a safe path when it starts. */
static void configure_self(void)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT), svc = NULL;
    if (scm)
        svc = OpenServiceW(scm, g_name, SERVICE_CHANGE_CONFIG | SERVICE_QUERY_CONFIG);
    if (svc) {
        set_recovery(svc);
        quote_image_path(svc);
        CloseServiceHandle(svc);
    } else {
        WARD_WARN("cannot open the own service to set its recovery (error %lu)",
                  (unsigned long)GetLastError());
    }
    if (scm)
        CloseServiceHandle(scm);
}

static int win_err(DWORD e)
{
    switch (e) {
    case ERROR_ACCESS_DENIED:
        return WARD_EACCES;
    case ERROR_SERVICE_EXISTS:
    case ERROR_DUPLICATE_SERVICE_NAME:
        return WARD_EEXIST;
    case ERROR_SERVICE_DOES_NOT_EXIST:
        return WARD_ENOENT;
    default:
        return WARD_EIO;
    }
}

static int wide(const char *s, wchar_t **out)
{
    return plat_win_utf8_to_wide(s, strlen(s), out);
}

int plat_service_install(const char *root, const struct plat_service_def *def, char *msg,
                         size_t msglen)
{
    struct ward_buf cmd;
    wchar_t *wname = NULL, *wcmd = NULL, *wdisplay = NULL;
    SC_HANDLE scm = NULL, svc = NULL;
    int rc, secured = 0;

    msg[0] = '\0';
    if (root && *root && strcmp(root, "/") != 0 && strcmp(root, "\\") != 0) {
        snprintf(msg, msglen,
                 "a service is registered with this machine's manager, not under "
                 "a root directory");
        return WARD_ENOTSUP;
    }
    if (!def || !def->name || !def->exe) {
        snprintf(msg, msglen, "no service name or program path");
        return WARD_EINVAL;
    }
    if (def->state_dir && def->state_dir[0]) {
        int repaired = 0;
        rc = plat_fs_make_private_dir(def->state_dir, &repaired, msg, msglen);
        if (rc != 0)
            return rc;
        if (repaired)
            WARD_WARN("state directory: %s", msg);
        secured = 1;
    }
    ward_buf_init(&cmd, 32 * 1024);
    rc = append_arg(&cmd, def->exe);
    for (size_t i = 0; rc == 0 && def->args && def->args[i]; i++)
        rc = append_arg(&cmd, def->args[i]);
    if (rc == 0)
        rc = append_arg(&cmd, "--service");
    if (rc == 0)
        rc = ward_buf_append(&cmd, "", 1) == 0 ? wide(cmd.data, &wcmd) : WARD_ENOMEM;
    if (rc == 0)
        rc = wide(def->name, &wname);
    if (rc == 0)
        rc = wide("Ward device management agent", &wdisplay);
    ward_buf_release(&cmd);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot build the service command line: %s", ward_strerror(rc));
        goto out;
    }
    scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CREATE_SERVICE | SC_MANAGER_CONNECT);
    if (!scm) {
        rc = win_err(GetLastError());
        snprintf(msg, msglen,
                 "cannot open the service control manager (run as an "
                 "administrator)");
        goto out;
    }
    svc = CreateServiceW(scm, wname, wdisplay, SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                         SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, wcmd, NULL, NULL, NULL, NULL,
                         NULL);
    if (!svc) {
        DWORD e = GetLastError();
        rc = win_err(e);
        snprintf(msg, msglen,
                 rc == WARD_EEXIST ? "the service %s exists already"
                                   : "cannot create the service %s (error %lu)",
                 def->name, (unsigned long)e);
        goto out;
    }
    set_recovery(svc);
    if (!StartServiceW(svc, 0, NULL)) {
        DWORD e = GetLastError();
        rc = win_err(e);
        snprintf(msg, msglen, "registered the service %s, but it did not start (error %lu)",
                 def->name, (unsigned long)e);
        goto out;
    }
    snprintf(msg, msglen,
             "registered the service %s (automatic, delayed start; restarts on "
             "failure) and started it%s%s%s",
             def->name, secured ? "; state in " : "", secured ? def->state_dir : "",
             secured ? " (SYSTEM and Administrators only)" : "");
    rc = 0;
out:
    if (svc)
        CloseServiceHandle(svc);
    if (scm)
        CloseServiceHandle(scm);
    ward_free(wcmd);
    ward_free(wname);
    ward_free(wdisplay);
    return rc;
}

static SC_HANDLE open_service(const char *name, DWORD access, SC_HANDLE *scm, int *rc)
{
    wchar_t *wname = NULL;
    SC_HANDLE svc = NULL;
    *scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    if (!*scm) {
        *rc = win_err(GetLastError());
        return NULL;
    }
    *rc = wide(name, &wname);
    if (*rc != 0)
        return NULL;
    svc = OpenServiceW(*scm, wname, access);
    if (!svc)
        *rc = win_err(GetLastError());
    ward_free(wname);
    return svc;
}

int plat_service_uninstall(const char *root, const char *name, char *msg, size_t msglen)
{
    SC_HANDLE scm = NULL, svc;
    SERVICE_STATUS st;
    int rc;

    (void)root;
    msg[0] = '\0';
    svc = open_service(name, SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE, &scm, &rc);
    if (!svc) {
        snprintf(msg, msglen,
                 rc == WARD_ENOENT ? "the service %s is not installed"
                                   : "cannot open the service %s",
                 name);
        goto out;
    }
    if (ControlService(svc, SERVICE_CONTROL_STOP, &st)) {
        for (int i = 0;
             i < 100 && QueryServiceStatus(svc, &st) && st.dwCurrentState != SERVICE_STOPPED; i++)
            Sleep(100);
    }
    if (!DeleteService(svc)) {
        rc = win_err(GetLastError());
        snprintf(msg, msglen, "cannot delete the service %s", name);
    } else {
        snprintf(msg, msglen, "stopped and removed the service %s", name);
        rc = 0;
    }
    CloseServiceHandle(svc);
out:
    if (scm)
        CloseServiceHandle(scm);
    return rc;
}

static const char *state_name(DWORD s)
{
    switch (s) {
    case SERVICE_STOPPED:
        return "stopped";
    case SERVICE_START_PENDING:
        return "start_pending";
    case SERVICE_STOP_PENDING:
        return "stop_pending";
    case SERVICE_RUNNING:
        return "running";
    default:
        return "other";
    }
}

int plat_service_query(const char *root, const char *name, struct plat_service_info *out)
{
    SC_HANDLE scm = NULL, svc;
    SERVICE_STATUS_PROCESS sp;
    DWORD need = 0;
    union {
        QUERY_SERVICE_CONFIGW c;
        char raw[8192];
    } cfg;
    int rc;

    (void)root;
    if (!out)
        return WARD_EINVAL;
    memset(out, 0, sizeof(*out));
    svc = open_service(name, SERVICE_QUERY_STATUS | SERVICE_QUERY_CONFIG, &scm, &rc);
    if (scm)
        out->manager = 1;
    if (!svc) {
        if (scm)
            CloseServiceHandle(scm);
        return rc == WARD_ENOENT ? 0 : rc;
    }
    out->installed = 1;
    if (QueryServiceStatusEx(svc, SC_STATUS_PROCESS_INFO, (LPBYTE)&sp, sizeof(sp), &need)) {
        snprintf(out->active, sizeof(out->active), "%s",
                 sp.dwCurrentState == SERVICE_RUNNING ? "active" : "inactive");
        snprintf(out->sub, sizeof(out->sub), "%s", state_name(sp.dwCurrentState));
        out->main_pid = (long long)sp.dwProcessId;
    }
    if (QueryServiceConfigW(svc, &cfg.c, sizeof(cfg), &need)) {
        snprintf(out->enabled, sizeof(out->enabled), "%s",
                 cfg.c.dwStartType == SERVICE_AUTO_START     ? "auto"
                 : cfg.c.dwStartType == SERVICE_DEMAND_START ? "manual"
                 : cfg.c.dwStartType == SERVICE_DISABLED     ? "disabled"
                                                             : "other");
        if (cfg.c.lpBinaryPathName)
            plat_win_wide_to_utf8_buf(cfg.c.lpBinaryPathName, out->path, sizeof(out->path));
    }
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return 0;
}

/* ---- what the installer left ------------------------------------------------------------ */

#define POLICY_KEY L"SOFTWARE\\Ward"

int plat_policy_get(const char *name, char **out)
{
    wchar_t *wname = NULL, buf[4096];
    DWORD size = sizeof(buf), type = 0;
    LSTATUS st;
    int rc;

    *out = NULL;
    rc = wide(name, &wname);
    if (rc != 0)
        return rc;
    st = RegGetValueW(HKEY_LOCAL_MACHINE, POLICY_KEY, wname, RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY,
                      &type, buf, &size);
    ward_free(wname);
    if (st == ERROR_FILE_NOT_FOUND)
        return WARD_ENOENT;
    if (st == ERROR_MORE_DATA)
        return WARD_ETOOBIG;
    if (st != ERROR_SUCCESS)
        return WARD_EIO;
    if (buf[0] == L'\0')
        return WARD_ENOENT; /* the MSI writes an empty value for a property not given */
    return plat_win_wide_to_utf8(buf, out);
}

int plat_policy_delete(const char *name)
{
    wchar_t *wname = NULL;
    HKEY key;
    LSTATUS st;
    int rc = wide(name, &wname);
    if (rc != 0)
        return rc;
    st = RegOpenKeyExW(HKEY_LOCAL_MACHINE, POLICY_KEY, 0, KEY_SET_VALUE | KEY_WOW64_64KEY, &key);
    if (st == ERROR_SUCCESS) {
        st = RegDeleteValueW(key, wname);
        RegCloseKey(key);
    }
    ward_free(wname);
    if (st == ERROR_FILE_NOT_FOUND)
        return WARD_ENOENT;
    return st == ERROR_SUCCESS ? 0 : WARD_EIO;
}

void plat_service_memory_init(void)
{
}

void plat_service_memory_trim(void)
{
}

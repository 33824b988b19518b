/* SPDX-License-Identifier: Apache-2.0 */
/*
 * platform/ipc.h on Windows: a named pipe Ward creates itself, because libuv's pipe server
 * takes the default security and accepts remote clients. Every instance is made with an
 * explicit protected DACL (SYSTEM and Administrators full control; when public, Everyone
 * read and write-data but not FILE_CREATE_PIPE_INSTANCE, so no one else can serve on the
 * name), PIPE_REJECT_REMOTE_CLIENTS, and the first one with FILE_FLAG_FIRST_PIPE_INSTANCE:
 * a name another process created first makes the listener fail, and the service with it.
 *
 * A thread waits for each client (ConnectNamedPipe, overlapped, beside a stop event) and
 * hands the connected handle to the loop through a uv_async; the loop opens it as a libuv
 * pipe. The client's identity comes from its process token (GetNamedPipeClientProcessId):
 * impersonating the client is not possible before it has written, and the answer must
 * come first.
 */
#define WARD_LOG_TAG "ipc"

#include <windows.h>
#include <io.h>
#include <sddl.h>
#include <stdio.h>
#include <string.h>

#include "../errmap.h"
#include "../ipc_os.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"
#include "wstr.h"

#define QUEUE_MAX 64

/* FILE_GENERIC_READ | FILE_WRITE_DATA | FILE_WRITE_ATTRIBUTES: no FILE_CREATE_PIPE_INSTANCE */
#define SDDL_PUBLIC L"D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;0x0012018b;;;WD)"
#define SDDL_PRIVATE L"D:P(A;;GA;;;SY)(A;;GA;;;BA)"

struct win_listener {
    uv_async_t async;
    struct plat_ipc_server *s;
    wchar_t *name;
    PSECURITY_DESCRIPTOR sd;
    HANDLE first; /* the first instance, made in ipc_os_listen */
    HANDLE stop;  /* manual-reset event: the thread ends */
    HANDLE thread;
    CRITICAL_SECTION lock;
    HANDLE queue[QUEUE_MAX]; /* connected instances the loop has not opened yet */
    unsigned n_queue;
};

const char *plat_ipc_default_path(void)
{
    return "\\\\.\\pipe\\ward";
}

static HANDLE make_instance(struct win_listener *l, int first)
{
    SECURITY_ATTRIBUTES sa = {sizeof(sa), l->sd, FALSE};
    return CreateNamedPipeW(
        l->name,
        PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | (first ? FILE_FLAG_FIRST_PIPE_INSTANCE : 0),
        PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
        PIPE_UNLIMITED_INSTANCES, 65536, 65536, 0, &sa);
}

static void enqueue(struct win_listener *l, HANDLE h)
{
    int queued = 0;
    EnterCriticalSection(&l->lock);
    if (l->n_queue < QUEUE_MAX) {
        l->queue[l->n_queue++] = h;
        queued = 1;
    }
    LeaveCriticalSection(&l->lock);
    if (!queued) {
        DisconnectNamedPipe(h); /* the loop is behind: a flood, not a client to keep */
        CloseHandle(h);
        return;
    }
    uv_async_send(&l->async);
}

static DWORD WINAPI accept_thread(LPVOID arg)
{
    struct win_listener *l = arg;
    HANDLE h = l->first, ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    l->first = INVALID_HANDLE_VALUE;
    if (!ev) {
        CloseHandle(h);
        return 1;
    }
    for (;;) {
        OVERLAPPED ov;
        HANDLE waits[2];
        DWORD r, n;
        int connected = 0;
        if (h == INVALID_HANDLE_VALUE) {
            h = make_instance(l, 0);
            if (h == INVALID_HANDLE_VALUE) {
                /* out of resources: try again shortly unless told to stop */
                if (WaitForSingleObject(l->stop, 1000) == WAIT_OBJECT_0)
                    break;
                continue;
            }
        }
        memset(&ov, 0, sizeof(ov));
        ResetEvent(ev);
        ov.hEvent = ev;
        if (ConnectNamedPipe(h, &ov)) {
            connected = 1;
        } else {
            DWORD e = GetLastError();
            if (e == ERROR_PIPE_CONNECTED) {
                connected = 1;
            } else if (e == ERROR_IO_PENDING) {
                waits[0] = l->stop;
                waits[1] = ev;
                r = WaitForMultipleObjects(2, waits, FALSE, INFINITE);
                if (r == WAIT_OBJECT_0) {
                    CancelIo(h);
                    GetOverlappedResult(h, &ov, &n, TRUE);
                    break;
                }
                connected = GetOverlappedResult(h, &ov, &n, FALSE) != 0;
            }
        }
        if (connected) {
            enqueue(l, h);
        } else {
            CloseHandle(h);
        }
        h = INVALID_HANDLE_VALUE;
        if (WaitForSingleObject(l->stop, 0) == WAIT_OBJECT_0)
            break;
    }
    if (h != INVALID_HANDLE_VALUE)
        CloseHandle(h);
    CloseHandle(ev);
    return 0;
}

static void on_async(uv_async_t *a)
{
    struct win_listener *l = a->data;
    for (;;) {
        HANDLE h = INVALID_HANDLE_VALUE;
        struct plat_ipc_conn *c;
        int fd;
        EnterCriticalSection(&l->lock);
        if (l->n_queue > 0) {
            h = l->queue[0];
            memmove(l->queue, l->queue + 1, (l->n_queue - 1) * sizeof(l->queue[0]));
            l->n_queue--;
        }
        LeaveCriticalSection(&l->lock);
        if (h == INVALID_HANDLE_VALUE)
            return;
        c = l->s->closing ? NULL : ipc_conn_new(l->s);
        fd = c ? _open_osfhandle((intptr_t)h, 0) : -1;
        if (fd < 0) {
            CloseHandle(h);
            if (c)
                ipc_conn_discard(c);
            continue;
        }
        if (uv_pipe_open(&c->pipe, fd) != 0) {
            _close(fd);
            ipc_conn_discard(c);
            continue;
        }
        ipc_conn_start(c);
    }
}

static void listener_free(struct win_listener *l)
{
    for (unsigned i = 0; i < l->n_queue; i++)
        CloseHandle(l->queue[i]);
    if (l->first != INVALID_HANDLE_VALUE)
        CloseHandle(l->first);
    if (l->stop)
        CloseHandle(l->stop);
    if (l->sd)
        LocalFree(l->sd);
    DeleteCriticalSection(&l->lock);
    ward_free(l->name);
    ward_free(l);
}

static void async_freed(uv_handle_t *h)
{
    listener_free(h->data);
}

int ipc_os_listen(struct plat_ipc_server *s, char *why, size_t whylen)
{
    struct win_listener *l;
    int rc;
    if (strncmp(s->path, "\\\\.\\pipe\\", 9) != 0 || !s->path[9]) {
        snprintf(why, whylen, "pipe name \"%s\" must look like \\\\.\\pipe\\NAME", s->path);
        return WARD_EPATH;
    }
    l = ward_calloc(1, sizeof(*l));
    if (!l)
        return WARD_ENOMEM;
    InitializeCriticalSection(&l->lock);
    l->s = s;
    l->first = INVALID_HANDLE_VALUE;
    rc = plat_win_utf8_to_wide(s->path, strlen(s->path), &l->name);
    if (rc != 0) {
        snprintf(why, whylen, "pipe name \"%s\" is not valid UTF-8", s->path);
        listener_free(l);
        return rc;
    }
    if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(
            s->o.public_access ? SDDL_PUBLIC : SDDL_PRIVATE, SDDL_REVISION_1, &l->sd, NULL)) {
        rc = plat_err_from_win32(GetLastError());
        snprintf(why, whylen, "cannot build the pipe's security descriptor");
        listener_free(l);
        return rc;
    }
    /* Someone serving the name already: FILE_FLAG_FIRST_PIPE_INSTANCE refuses that on
     * Windows, but wine lets a second server in, so ask first (a client that opens and
     * closes at once is all the other server sees). The flag still closes the race. */
    {
        HANDLE probe = CreateFileW(l->name, GENERIC_READ, 0, NULL, OPEN_EXISTING,
                                   SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, NULL);
        DWORD e = probe == INVALID_HANDLE_VALUE ? GetLastError() : 0;
        if (probe != INVALID_HANDLE_VALUE)
            CloseHandle(probe);
        if (probe != INVALID_HANDLE_VALUE || e == ERROR_PIPE_BUSY || e == ERROR_ACCESS_DENIED) {
            snprintf(why, whylen,
                     "the pipe %s exists already: another process (another agent, or one "
                     "squatting the name) serves it, so the service does not start",
                     s->path);
            listener_free(l);
            return WARD_EEXIST;
        }
    }
    l->first = make_instance(l, 1);
    if (l->first == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        if (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY) {
            snprintf(why, whylen,
                     "the pipe %s exists already: another process (another agent, or one "
                     "squatting the name) serves it, so the service does not start",
                     s->path);
            rc = WARD_EEXIST;
        } else {
            snprintf(why, whylen, "cannot create the pipe %s (Windows error %lu)", s->path,
                     (unsigned long)e);
            rc = plat_err_from_win32(e);
        }
        listener_free(l);
        return rc;
    }
    l->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!l->stop || uv_async_init(s->loop, &l->async, on_async) != 0) {
        snprintf(why, whylen, "cannot set up the pipe's accept thread");
        listener_free(l);
        return WARD_EIO;
    }
    l->async.data = l;
    l->thread = CreateThread(NULL, 0, accept_thread, l, 0, NULL);
    if (!l->thread) {
        snprintf(why, whylen, "cannot start the pipe's accept thread");
        uv_close((uv_handle_t *)&l->async, async_freed);
        return WARD_EIO;
    }
    s->os = l;
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    struct win_listener *l = h->data;
    struct plat_ipc_server *s = l->s;
    listener_free(l);
    ipc_os_closed(s);
}

void ipc_os_close(struct plat_ipc_server *s)
{
    struct win_listener *l = s->os;
    SetEvent(l->stop);
    WaitForSingleObject(l->thread, INFINITE); /* it ends at once: the stop event wakes it */
    CloseHandle(l->thread);
    l->thread = NULL;
    uv_close((uv_handle_t *)&l->async, listener_closed);
}

static int token_admin(HANDLE tok)
{
    SID_IDENTIFIER_AUTHORITY nt = {SECURITY_NT_AUTHORITY};
    PSID admins = NULL, system = NULL;
    BOOL is_admin = FALSE, is_system = FALSE;
    HANDLE imp = NULL;
    if (!DuplicateToken(tok, SecurityIdentification, &imp))
        return 0;
    if (AllocateAndInitializeSid(&nt, 2, SECURITY_BUILTIN_DOMAIN_RID, DOMAIN_ALIAS_RID_ADMINS, 0, 0,
                                 0, 0, 0, 0, &admins))
        CheckTokenMembership(imp, admins, &is_admin); /* deny-only when not elevated */
    if (AllocateAndInitializeSid(&nt, 1, SECURITY_LOCAL_SYSTEM_RID, 0, 0, 0, 0, 0, 0, 0, &system))
        CheckTokenMembership(imp, system, &is_system);
    if (admins)
        FreeSid(admins);
    if (system)
        FreeSid(system);
    CloseHandle(imp);
    return is_admin || is_system;
}

int ipc_os_peer(struct plat_ipc_conn *c, struct plat_ipc_peer *peer)
{
    uv_os_fd_t h;
    ULONG pid = 0;
    HANDLE proc = NULL, tok = NULL;
    union {
        TOKEN_USER u;
        char raw[256];
    } tu;
    DWORD n = 0;
    wchar_t *sid = NULL;
    int rc = WARD_EACCES;

    if (uv_fileno((uv_handle_t *)&c->pipe, &h) != 0)
        return WARD_EIO;
    if (!GetNamedPipeClientProcessId(h, &pid))
        return plat_err_from_win32(GetLastError());
    proc = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
    if (!proc)
        return plat_err_from_win32(GetLastError());
    if (!OpenProcessToken(proc, TOKEN_QUERY | TOKEN_DUPLICATE, &tok)) {
        rc = plat_err_from_win32(GetLastError());
        goto out;
    }
    if (!GetTokenInformation(tok, TokenUser, &tu, sizeof(tu), &n) ||
        !ConvertSidToStringSidW(tu.u.User.Sid, &sid)) {
        rc = plat_err_from_win32(GetLastError());
        goto out;
    }
    peer->uid = -1;
    peer->pid = (int64_t)pid;
    peer->admin = token_admin(tok);
    rc = plat_win_wide_to_utf8_buf(sid, peer->name, sizeof(peer->name));
out:
    if (sid)
        LocalFree(sid);
    if (tok)
        CloseHandle(tok);
    CloseHandle(proc);
    return rc;
}

/* ---- client ------------------------------------------------------------------------------ */

struct plat_ipc_client {
    HANDLE h;
    HANDLE ev;
};

int plat_ipc_connect(const char *path, unsigned timeout_ms, struct plat_ipc_client **out)
{
    struct plat_ipc_client *c;
    wchar_t *name = NULL;
    HANDLE h;
    int rc;
    *out = NULL;
    rc = plat_win_utf8_to_wide(path, strlen(path), &name);
    if (rc != 0)
        return rc;
    for (;;) {
        DWORD e;
        /* SECURITY_IDENTIFICATION: the server may learn who we are, not act as us */
        h = CreateFileW(name, GENERIC_READ | GENERIC_WRITE, 0, NULL, OPEN_EXISTING,
                        FILE_FLAG_OVERLAPPED | SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION,
                        NULL);
        if (h != INVALID_HANDLE_VALUE)
            break;
        e = GetLastError();
        if (e == ERROR_PIPE_BUSY && WaitNamedPipeW(name, timeout_ms ? timeout_ms : 5000))
            continue;
        ward_free(name);
        return e == ERROR_FILE_NOT_FOUND  ? WARD_ENOENT
               : e == ERROR_PIPE_BUSY     ? WARD_ETIMEDOUT
               : e == ERROR_ACCESS_DENIED ? WARD_EACCES
                                          : plat_err_from_win32(e);
    }
    ward_free(name);
    c = ward_calloc(1, sizeof(*c));
    if (c)
        c->ev = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (!c || !c->ev) {
        CloseHandle(h);
        ward_free(c);
        return WARD_ENOMEM;
    }
    c->h = h;
    *out = c;
    return 0;
}

/* One overlapped ReadFile or WriteFile, waited for up to timeout_ms (0: no limit). */
static int io_once(struct plat_ipc_client *c, int write, void *p, DWORD n, DWORD *done,
                   unsigned timeout_ms)
{
    OVERLAPPED ov;
    BOOL ok;
    memset(&ov, 0, sizeof(ov));
    ResetEvent(c->ev);
    ov.hEvent = c->ev;
    ok = write ? WriteFile(c->h, p, n, NULL, &ov) : ReadFile(c->h, p, n, NULL, &ov);
    if (!ok && GetLastError() != ERROR_IO_PENDING) {
        DWORD e = GetLastError();
        return e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA ? WARD_ECONNECT
                                                            : plat_err_from_win32(e);
    }
    if (WaitForSingleObject(c->ev, timeout_ms ? timeout_ms : INFINITE) != WAIT_OBJECT_0) {
        CancelIo(c->h);
        GetOverlappedResult(c->h, &ov, done, TRUE);
        return WARD_ETIMEDOUT;
    }
    if (!GetOverlappedResult(c->h, &ov, done, FALSE)) {
        DWORD e = GetLastError();
        return e == ERROR_BROKEN_PIPE ? WARD_ECONNECT : plat_err_from_win32(e);
    }
    return *done == 0 && !write ? WARD_ECONNECT : 0;
}

int ipc_os_client_io(struct plat_ipc_client *c, int write, unsigned char *p, size_t n,
                     int64_t deadline)
{
    while (n > 0) {
        DWORD done = 0, left = 0;
        int rc;
        if (deadline) {
            int64_t ms = deadline - ipc_now_ms();
            if (ms <= 0)
                return WARD_ETIMEDOUT;
            left = ms > 0x7fffffff ? 0x7fffffff : (DWORD)ms;
        }
        rc = io_once(c, write, p, n > 65536 ? 65536 : (DWORD)n, &done, left);
        if (rc != 0)
            return rc;
        p += done;
        n -= done;
    }
    return 0;
}

intptr_t plat_ipc_client_waitable(const struct plat_ipc_client *c)
{
    return (intptr_t)c->h;
}

void plat_ipc_client_close(struct plat_ipc_client *c)
{
    if (!c)
        return;
    CloseHandle(c->h);
    CloseHandle(c->ev);
    ward_free(c);
}

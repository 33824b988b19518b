/* SPDX-License-Identifier: Apache-2.0 */
/*
 * platform/ipc.h on POSIX: a Unix stream socket. Before it binds, the listener makes sure
 * the name is its own to take: the directory (created 0755 when missing) belongs to this
 * user or root and no one else may write to it unless it is sticky; an existing name is
 * removed only when it is this user's socket and nothing answers on it. Anything else (a
 * file or socket of another user, a live daemon) is refused with what is in the way, so a
 * squatted name makes the daemon fail closed instead of talking to an impostor's socket or
 * deleting another program's. The peer is SO_PEERCRED's.
 */
#define WARD_LOG_TAG "ipc"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../errmap.h"
#include "../ipc_os.h"
#include "../proc_os.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/log.h"

struct posix_listener {
    uv_pipe_t pipe;
    dev_t dev; /* the socket inode we bound, removed at close only if still there */
    ino_t ino;
    struct plat_ipc_server *s;
};

const char *plat_ipc_default_path(void)
{
    return "/run/ward/ward.sock";
}

static int fill_sun(const char *path, struct sockaddr_un *sa)
{
    size_t n = strlen(path);
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    if (n == 0 || n >= sizeof(sa->sun_path))
        return WARD_EPATH;
    memcpy(sa->sun_path, path, n + 1);
    return 0;
}

/* 1 when something accepts connections at path. */
static int answers(const char *path)
{
    struct sockaddr_un sa;
    int fd, ok;
    if (fill_sun(path, &sa) != 0)
        return 0;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN;
    close(fd);
    return ok;
}

static int check_dir(const char *dir, char *why, size_t whylen)
{
    struct stat st;
    uid_t me = geteuid();
    if (lstat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0755) != 0 || lstat(dir, &st) != 0) {
            int e = errno;
            snprintf(why, whylen, "cannot create the directory %s for the socket: %s", dir,
                     strerror(e));
            return plat_err_from_errno(e);
        }
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "%s (for the socket) is not a directory", dir);
        return WARD_ENOTDIR;
    }
    if (st.st_uid != me && st.st_uid != 0) {
        snprintf(why, whylen,
                 "the socket's directory %s belongs to uid %lu, not to this daemon (uid %lu) or "
                 "root: another user could replace the socket",
                 dir, (unsigned long)st.st_uid, (unsigned long)me);
        return WARD_EACCES;
    }
    if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
        snprintf(why, whylen,
                 "the socket's directory %s is writable by others (mode %04o) and not sticky: "
                 "another user could replace the socket",
                 dir, (unsigned)(st.st_mode & 07777));
        return WARD_EACCES;
    }
    return 0;
}

static int check_name(const char *path, char *why, size_t whylen)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(why, whylen, "cannot inspect %s: %s", path, strerror(errno));
        return plat_err_from_errno(errno);
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, whylen,
                 "%s already exists and belongs to uid %lu: another program holds the agent's "
                 "socket name, so the daemon does not start (remove it once you know what "
                 "created it)",
                 path, (unsigned long)st.st_uid);
        return WARD_EEXIST;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(why, whylen,
                 "%s already exists and is not a socket: the daemon does not start (remove it "
                 "once you know what created it)",
                 path);
        return WARD_EEXIST;
    }
    if (answers(path)) {
        snprintf(why, whylen, "another daemon already answers on %s", path);
        return WARD_EBUSY;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(why, whylen, "cannot remove the stale socket %s: %s", path, strerror(errno));
        return plat_err_from_errno(errno);
    }
    return 0;
}

static void on_connection(uv_stream_t *server, int status)
{
    struct posix_listener *l = server->data;
    struct plat_ipc_conn *c;
    if (status != 0)
        return;
    c = ipc_conn_new(l->s);
    if (!c) {
        /* take it off the backlog anyway, or libuv calls again at once */
        uv_pipe_t tmp;
        if (uv_pipe_init(server->loop, &tmp, 0) == 0) {
            uv_accept(server, (uv_stream_t *)&tmp);
            uv_close((uv_handle_t *)&tmp, NULL);
        }
        return;
    }
    if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
        ipc_conn_discard(c);
        return;
    }
    ipc_conn_start(c);
}

static void listener_free(uv_handle_t *h)
{
    ward_free(h->data);
}

int ipc_os_listen(struct plat_ipc_server *s, char *why, size_t whylen)
{
    struct posix_listener *l;
    struct sockaddr_un sa;
    struct stat st;
    char *dir, *slash;
    int rc, r;

    /* A client that leaves before its answer is written must not kill the daemon with
     * SIGPIPE (libuv reports UV_EPIPE then): the same default disposition change as for
     * children's stdin. */
    plat_proc_os_init();
    if (fill_sun(s->path, &sa) != 0) {
        snprintf(why, whylen, "socket path \"%s\" must be under %zu bytes", s->path,
                 sizeof(sa.sun_path));
        return WARD_EPATH;
    }
    /* a relative path is relative to the working directory, as for bind(2) */
    dir = ward_strdup(strchr(s->path, '/') ? s->path : "./x");
    if (!dir)
        return WARD_ENOMEM;
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    rc = check_dir(dir, why, whylen);
    ward_free(dir);
    if (rc == 0)
        rc = check_name(s->path, why, whylen);
    if (rc != 0)
        return rc;
    l = ward_calloc(1, sizeof(*l));
    if (!l)
        return WARD_ENOMEM;
    l->s = s;
    uv_pipe_init(s->loop, &l->pipe, 0);
    l->pipe.data = l;
    r = uv_pipe_bind(&l->pipe, s->path);
    /* The mode bits decide who may connect (connect needs write permission). Until chmod,
     * the umask's mode applies, which never grants others write. */
    if (r == 0 && chmod(s->path, s->o.public_access ? 0666 : 0600) != 0)
        r = uv_translate_sys_error(errno);
    if (r == 0 && lstat(s->path, &st) == 0) {
        l->dev = st.st_dev;
        l->ino = st.st_ino;
    }
    if (r == 0)
        r = uv_listen((uv_stream_t *)&l->pipe, 128, on_connection);
    if (r != 0) {
        snprintf(why, whylen, "cannot listen on %s: %s", s->path, uv_strerror(r));
        if (l->ino)
            unlink(s->path);
        uv_close((uv_handle_t *)&l->pipe, listener_free);
        return plat_err_from_uv(r);
    }
    s->os = l;
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    struct posix_listener *l = h->data;
    struct plat_ipc_server *s = l->s;
    ward_free(l);
    ipc_os_closed(s);
}

void ipc_os_close(struct plat_ipc_server *s)
{
    struct posix_listener *l = s->os;
    struct stat st;
    /* only the socket this daemon made: a successor may have bound its own by now */
    if (l->ino && lstat(s->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
        unlink(s->path);
    uv_close((uv_handle_t *)&l->pipe, listener_closed);
}

int ipc_os_peer(struct plat_ipc_conn *c, struct plat_ipc_peer *peer)
{
    struct ucred cr;
    socklen_t n = sizeof(cr);
    uv_os_fd_t fd;
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0)
        return WARD_EIO;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &n) != 0 || n != sizeof(cr))
        return plat_err_from_errno(errno);
    peer->uid = (int64_t)cr.uid;
    peer->pid = (int64_t)cr.pid;
    peer->admin = cr.uid == 0;
    snprintf(peer->name, sizeof(peer->name), "%lu", (unsigned long)cr.uid);
    return 0;
}

/* ---- client ------------------------------------------------------------------------------ */

struct plat_ipc_client {
    int fd;
};

static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = events};
        int timeout = -1, r;
        if (deadline_ms > 0) {
            int64_t left = deadline_ms - ipc_now_ms();
            if (left <= 0)
                return WARD_ETIMEDOUT;
            timeout = left > 1000000 ? 1000000 : (int)left;
        }
        r = poll(&p, 1, timeout);
        if (r > 0)
            return 0;
        if (r == 0)
            return WARD_ETIMEDOUT;
        if (errno != EINTR)
            return plat_err_from_errno(errno);
    }
}

int plat_ipc_connect(const char *path, unsigned timeout_ms, struct plat_ipc_client **out)
{
    struct sockaddr_un sa;
    struct plat_ipc_client *c;
    int fd, rc;
    (void)timeout_ms; /* connect(2) on a Unix socket does not wait for the peer */
    *out = NULL;
    if ((rc = fill_sun(path, &sa)) != 0)
        return rc;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return plat_err_from_errno(errno);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        int e = errno;
        close(fd);
        return e == ENOENT                        ? WARD_ENOENT
               : e == ECONNREFUSED || e == EAGAIN ? WARD_ECONNECT
                                                  : plat_err_from_errno(e);
    }
    c = ward_calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return WARD_ENOMEM;
    }
    c->fd = fd;
    *out = c;
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_fd(fd, POLLOUT, deadline);
            if (rc != 0)
                return rc;
            continue;
        }
        return errno == EPIPE || errno == ECONNRESET ? WARD_ECONNECT : plat_err_from_errno(errno);
    }
    return 0;
}

static int read_all(int fd, unsigned char *p, size_t n, int64_t deadline)
{
    while (n > 0) {
        ssize_t r = recv(fd, p, n, MSG_DONTWAIT);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
            continue;
        }
        if (r == 0)
            return WARD_ECONNECT;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(fd, POLLIN, deadline);
            if (rc != 0)
                return rc;
            continue;
        }
        return errno == ECONNRESET ? WARD_ECONNECT : plat_err_from_errno(errno);
    }
    return 0;
}

int ipc_os_client_io(struct plat_ipc_client *c, int write, unsigned char *p, size_t n,
                     int64_t deadline)
{
    return write ? write_all(c->fd, p, n, deadline) : read_all(c->fd, p, n, deadline);
}

intptr_t plat_ipc_client_waitable(const struct plat_ipc_client *c)
{
    return c->fd;
}

void plat_ipc_client_close(struct plat_ipc_client *c)
{
    if (!c)
        return;
    close(c->fd);
    ward_free(c);
}

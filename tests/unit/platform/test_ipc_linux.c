/* SPDX-License-Identifier: Apache-2.0 */
/*
 * platform/ipc.h on Linux with real Unix sockets: the server runs on a libuv loop in the
 * test's thread, the clients in a second thread (raw sockets where byte-level control is
 * the point, plat_ipc_client otherwise). Frames split into single bytes and several in one
 * write, an empty frame, an announced oversize, the client bound, the idle limit, peer
 * credentials, and the checks that keep another user's name from being taken over.
 */
#include "wtest.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <uv.h>

#include "platform/fs.h"
#include "platform/ipc.h"
#include "ward/alloc.h"
#include "ward/error.h"

struct echo {
    uv_loop_t loop;
    uv_async_t done;
    struct plat_ipc_server *srv;
    const char *path;
    char *own; /* path, to free */
    void (*client)(struct echo *e);
    int frames, too_big, closed;
    struct plat_ipc_peer peer;
};

/* Echoes each frame; "silent" gets no answer; an oversize gets "big" and a close. */
static void on_frame(void *ctx, struct plat_ipc_conn *c, int rc, const char *buf, size_t len)
{
    struct echo *e = ctx;
    e->peer = *plat_ipc_conn_peer(c);
    if (rc == WARD_ETOOBIG) {
        e->too_big++;
        plat_ipc_send(c, "big", 3);
        plat_ipc_conn_close(c);
        return;
    }
    e->frames++;
    if (len == 6 && memcmp(buf, "silent", 6) == 0)
        return;
    plat_ipc_send(c, buf, len);
}

static void on_closed(void *ctx, struct plat_ipc_conn *c)
{
    struct echo *e = ctx;
    (void)c;
    e->closed++;
}

static void on_done(uv_async_t *a)
{
    struct echo *e = a->data;
    plat_ipc_close(e->srv, NULL, NULL);
    uv_close((uv_handle_t *)&e->done, NULL);
}

static void client_thread(void *arg)
{
    struct echo *e = arg;
    e->client(e);
    uv_async_send(&e->done);
}

static void run_echo(struct echo *e, unsigned max_conns, unsigned idle_ms)
{
    struct plat_ipc_server_opts o = {.path = e->path,
                                     .public_access = 1,
                                     .max_frame = 1024,
                                     .max_conns = max_conns,
                                     .idle_ms = idle_ms};
    struct plat_ipc_server_cb cb = {.frame = on_frame, .closed = on_closed, .ctx = e};
    char why[512];
    uv_thread_t t;
    WT_ASSERT(uv_loop_init(&e->loop) == 0);
    WT_OK(plat_ipc_listen(&e->loop, &o, &cb, &e->srv, why, sizeof(why)));
    WT_ASSERT(uv_async_init(&e->loop, &e->done, on_done) == 0);
    e->done.data = e;
    WT_ASSERT(uv_thread_create(&t, client_thread, e) == 0);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_thread_join(&t);
    WT_ASSERT(uv_loop_close(&e->loop) == 0);
}

static int raw_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    size_t n = strlen(path);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (n < sizeof(sa.sun_path))
        memcpy(sa.sun_path, path, n + 1);
    if (fd < 0 || n >= sizeof(sa.sun_path) ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* A socket bound at path by hand (listening or not); the fd. */
static int bind_at(const char *path, int listening)
{
    struct sockaddr_un sa;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    size_t n = strlen(path);
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    if (fd < 0 || n >= sizeof(sa.sun_path))
        return -1;
    memcpy(sa.sun_path, path, n + 1);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || (listening && listen(fd, 1) != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void put_frame(unsigned char *p, const char *s, size_t n)
{
    p[0] = (unsigned char)(n >> 24);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
    memcpy(p + 4, s, n);
}

/* Reads one frame with a 5 s limit; its length, or -1 at EOF / timeout. */
static long read_frame(int fd, char *out, size_t cap)
{
    struct timeval tv = {5, 0};
    unsigned char h[4];
    size_t got = 0, n;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (got < 4) {
        ssize_t r = recv(fd, h + got, 4 - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    n = ((size_t)h[0] << 24) | ((size_t)h[1] << 16) | ((size_t)h[2] << 8) | h[3];
    if (n > cap)
        return -1;
    for (got = 0; got < n;) {
        ssize_t r = recv(fd, out + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return (long)n;
}

static char *scratch_sock(const char *name)
{
    const char *d = wt_tmpdir();
    size_t n = strlen(d) + strlen(name) + 2;
    char *p = ward_malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", d, name);
    return p;
}

static int framing_ok;

static void client_framing(struct echo *e)
{
    unsigned char buf[256];
    char out[64];
    int fd = raw_connect(e->path);
    int ok = fd >= 0;
    /* "hello" a byte at a time */
    put_frame(buf, "hello", 5);
    for (int i = 0; ok && i < 9; i++)
        ok = send(fd, buf + i, 1, MSG_NOSIGNAL) == 1 && usleep(2000) == 0;
    ok = ok && read_frame(fd, out, sizeof(out)) == 5 && memcmp(out, "hello", 5) == 0;
    /* three frames in one write, the middle one empty */
    put_frame(buf, "a", 1);
    put_frame(buf + 5, "", 0);
    put_frame(buf + 9, "bcd", 3);
    ok = ok && send(fd, buf, 16, MSG_NOSIGNAL) == 16;
    ok = ok && read_frame(fd, out, sizeof(out)) == 1 && out[0] == 'a';
    ok = ok && read_frame(fd, out, sizeof(out)) == 0;
    ok = ok && read_frame(fd, out, sizeof(out)) == 3 && memcmp(out, "bcd", 3) == 0;
    /* an announced 2000-byte frame over max_frame 1024: answered, then closed */
    put_frame(buf, "", 0);
    buf[2] = 0x07;
    buf[3] = 0xd0;
    ok = ok && send(fd, buf, 4, MSG_NOSIGNAL) == 4;
    ok = ok && read_frame(fd, out, sizeof(out)) == 3 && memcmp(out, "big", 3) == 0;
    ok = ok && read_frame(fd, out, sizeof(out)) == -1;
    if (fd >= 0)
        close(fd);
    framing_ok = ok;
}

WT_TEST(ipc_frames_split_batched_empty_oversize)
{
    struct echo e;
    memset(&e, 0, sizeof(e));
    e.path = e.own = scratch_sock("f.sock");
    e.client = client_framing;
    run_echo(&e, 8, 0);
    WT_ASSERT(framing_ok);
    WT_EQ_INT(e.frames, 4);
    WT_EQ_INT(e.too_big, 1);
    WT_EQ_INT((long long)e.peer.uid, (long long)getuid());
    WT_EQ_INT((long long)e.peer.pid, (long long)getpid());
    WT_EQ_INT(e.peer.admin, getuid() == 0);
    ward_free(e.own);
}

static int client_rc[4];

static void client_blocking(struct echo *e)
{
    struct plat_ipc_client *c = NULL;
    char *ans = NULL;
    size_t len = 0;
    client_rc[0] = plat_ipc_connect(e->path, 1000, &c);
    if (client_rc[0] != 0)
        return;
    client_rc[1] = plat_ipc_client_send(c, "{\"x\":1}", 7, 1000);
    if (plat_ipc_client_recv(c, 100, 1000, &ans, &len) != 0 || len != 7 ||
        strcmp(ans, "{\"x\":1}") != 0)
        client_rc[1] = WARD_EPROTO;
    ward_free(ans);
    /* no answer comes: the timeout */
    plat_ipc_client_send(c, "silent", 6, 1000);
    client_rc[2] = plat_ipc_client_recv(c, 100, 200, &ans, &len);
    /* an answer larger than the caller takes */
    plat_ipc_client_send(c, "0123456789", 10, 1000);
    client_rc[3] = plat_ipc_client_recv(c, 5, 1000, &ans, &len);
    plat_ipc_client_close(c);
}

WT_TEST(ipc_blocking_client)
{
    struct echo e;
    struct plat_ipc_client *c = NULL;
    memset(&e, 0, sizeof(e));
    e.path = e.own = scratch_sock("b.sock");
    e.client = client_blocking;
    run_echo(&e, 8, 0);
    WT_OK(client_rc[0]);
    WT_OK(client_rc[1]);
    WT_EQ_ERR(client_rc[2], WARD_ETIMEDOUT);
    WT_EQ_ERR(client_rc[3], WARD_ETOOBIG);
    /* the server is gone and took its socket with it */
    WT_EQ_ERR(plat_ipc_connect(e.path, 100, &c), WARD_ENOENT);
    ward_free(e.own);
}

static int bound_ok;

static void client_bound(struct echo *e)
{
    char out[8];
    int a = raw_connect(e->path), b = raw_connect(e->path), x = raw_connect(e->path);
    unsigned char buf[8];
    int ok = a >= 0 && b >= 0 && x >= 0;
    /* the third of max_conns 2 is closed at once */
    ok = ok && read_frame(x, out, sizeof(out)) == -1;
    /* one that talks is answered; then the idle limit (300 ms) drops it once it is
     * silent, as it drops one that sent half a header */
    put_frame(buf, "k", 1);
    ok = ok && send(b, buf, 5, MSG_NOSIGNAL) == 5 && read_frame(b, out, sizeof(out)) == 1;
    ok = ok && send(a, "\0\0", 2, MSG_NOSIGNAL) == 2 && read_frame(a, out, sizeof(out)) == -1;
    ok = ok && read_frame(b, out, sizeof(out)) == -1;
    bound_ok = ok;
    if (a >= 0)
        close(a);
    if (b >= 0)
        close(b);
    if (x >= 0)
        close(x);
}

WT_TEST(ipc_client_bound_and_idle_limit)
{
    struct echo e;
    memset(&e, 0, sizeof(e));
    e.path = e.own = scratch_sock("l.sock");
    e.client = client_bound;
    run_echo(&e, 2, 300);
    WT_ASSERT(bound_ok);
    ward_free(e.own);
}

static void listen_expect(const char *path, int want, const char *needle)
{
    uv_loop_t loop;
    struct plat_ipc_server *s = NULL;
    struct plat_ipc_server_opts o = {.path = path, .max_frame = 64, .max_conns = 1};
    struct plat_ipc_server_cb cb = {.frame = on_frame};
    char why[512] = "";
    WT_ASSERT(uv_loop_init(&loop) == 0);
    WT_EQ_ERR(plat_ipc_listen(&loop, &o, &cb, &s, why, sizeof(why)), want);
    if (needle)
        WT_CONTAINS(why, needle);
    plat_ipc_close(s, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    WT_ASSERT(uv_loop_close(&loop) == 0);
}

WT_TEST(ipc_refuses_names_not_its_own)
{
    const char *d = wt_tmpdir();
    char dir[1024], path[1100];
    int fd;
    snprintf(dir, sizeof(dir), "%s/run", d);
    snprintf(path, sizeof(path), "%s/ward.sock", dir);
    /* the directory is made 0755 when missing; a stale socket of ours is replaced */
    listen_expect(path, 0, NULL);
    fd = bind_at(path, 0); /* the listener above removed its socket when it closed */
    WT_ASSERT(fd >= 0);
    close(fd); /* bound, never listening: stale */
    listen_expect(path, 0, NULL);
    /* one that answers: another daemon */
    fd = bind_at(path, 1);
    WT_ASSERT(fd >= 0);
    listen_expect(path, WARD_EBUSY, "already answers");
    close(fd);
    WT_ASSERT(unlink(path) == 0);
    /* a plain file of ours: not a socket */
    WT_OK(plat_fs_write_file_mkdirs(path, "x", 1));
    listen_expect(path, WARD_EEXIST, "is not a socket");
    if (geteuid() == 0) {
        WT_ASSERT(chown(path, 65534, 65534) == 0);
        listen_expect(path, WARD_EEXIST, "belongs to uid 65534");
    }
    WT_ASSERT(unlink(path) == 0);
    /* others may write the directory: refused unless sticky */
    WT_ASSERT(chmod(dir, 0777) == 0);
    listen_expect(path, WARD_EACCES, "writable by others");
    WT_ASSERT(chmod(dir, 01777) == 0);
    listen_expect(path, 0, NULL);
    WT_ASSERT(chmod(dir, 0755) == 0);
    /* too long for sun_path */
    {
        char lng[200];
        memset(lng, 'a', sizeof(lng) - 1);
        lng[0] = '/';
        lng[sizeof(lng) - 1] = '\0';
        listen_expect(lng, WARD_EPATH, "under 108 bytes");
    }
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Local IPC: a framed message channel between a daemon and local clients, with the
 * client's identity taken from the OS, never from what it sends.
 *
 *   - Linux: a Unix stream socket; the peer's uid and pid from SO_PEERCRED. Before binding,
 *     the listener refuses a directory another user may write to (unless sticky), and a
 *     name that already exists as anything but a dead socket of its own: another user's
 *     file or socket, or a socket where a daemon answers, makes it fail with the reason.
 *   - Windows: a named pipe (\\.\pipe\NAME) created with FILE_FLAG_FIRST_PIPE_INSTANCE (a
 *     squatted name fails), PIPE_REJECT_REMOTE_CLIENTS and an explicit DACL (SYSTEM and
 *     Administrators full, Everyone read/write when public); the client's token decides
 *     admin.
 *
 * A frame is a 4-byte big-endian length and that many bytes (Ward puts JSON in them). The
 * server bounds what a client may send (max_frame), how many clients it holds (more are
 * closed at once), how long one may stay silent (idle_ms, unless kept, for subscribers),
 * and how much unread output it queues for one (a client that stops reading is dropped).
 * Everything runs on the loop thread; nothing here blocks it. The client side is blocking
 * with timeouts, for the CLI and the tray.
 */
#ifndef PLATFORM_IPC_H
#define PLATFORM_IPC_H

#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define PLAT_IPC_HDR 4
#define PLAT_IPC_FRAME_LIMIT (4u << 20) /* no frame, either way, is ever larger */
#define PLAT_IPC_OUT_LIMIT (8u << 20)   /* unread output queued for one client */

struct plat_ipc_peer {
    int64_t uid; /* Linux: the peer's uid; Windows: -1 */
    int64_t pid;
    int admin;      /* root; on Windows LocalSystem or an elevated Administrators member */
    char name[192]; /* for logs and for matching a session's user: "1000" or a SID */
};

struct plat_ipc_server;
struct plat_ipc_conn;

struct plat_ipc_server_opts {
    const char *path;  /* socket path, or \\.\pipe\NAME */
    int public_access; /* 1: any local user may connect; 0: only the daemon's own user */
    size_t max_frame;  /* largest frame a client may send (<= PLAT_IPC_FRAME_LIMIT) */
    unsigned max_conns;
    unsigned idle_ms; /* 0: no limit */
};

struct plat_ipc_server_cb {
    /* One frame from c (buf borrowed for the call). rc is 0, or WARD_ETOOBIG when the
     * client announced a frame over max_frame (buf NULL, len the announced size): answer
     * and close, the stream cannot be resynchronised. */
    void (*frame)(void *ctx, struct plat_ipc_conn *c, int rc, const char *buf, size_t len);
    /* c is gone (either side closed it); drop every reference to it. May be NULL. */
    void (*closed)(void *ctx, struct plat_ipc_conn *c);
    void *ctx;
};

/* Listens at o->path. On failure why says what is in the way (a squatted name, a daemon
 * that already answers, a directory others can write). */
int plat_ipc_listen(uv_loop_t *loop, const struct plat_ipc_server_opts *o,
                    const struct plat_ipc_server_cb *cb, struct plat_ipc_server **out, char *why,
                    size_t whylen);
/* Closes the listener and every client (no more callbacks but closed), removes the socket
 * it created; cb (may be NULL) once every handle is gone. NULL-safe. */
void plat_ipc_close(struct plat_ipc_server *s, void (*cb)(void *ctx), void *ctx);
unsigned plat_ipc_conn_count(const struct plat_ipc_server *s);

const struct plat_ipc_peer *plat_ipc_conn_peer(const struct plat_ipc_conn *c);
void plat_ipc_conn_set_data(struct plat_ipc_conn *c, void *data);
void *plat_ipc_conn_data(const struct plat_ipc_conn *c);
/* Queues one frame (copied). WARD_ETOOBIG over PLAT_IPC_FRAME_LIMIT; WARD_EBUSY when the
 * client left too much unread (it is then closed); WARD_ECANCELED once it is closing. */
int plat_ipc_send(struct plat_ipc_conn *c, const char *buf, size_t len);
/* keep = 1: the idle limit no longer applies (a subscriber waits for events). */
void plat_ipc_conn_keep(struct plat_ipc_conn *c, int keep);
/* Closes after what was queued is written. */
void plat_ipc_conn_close(struct plat_ipc_conn *c);

/* ---- client (blocking) ------------------------------------------------------------------- */

struct plat_ipc_client;

/* WARD_ENOENT: nothing listens at path (no daemon); WARD_ECONNECT: refused; WARD_EACCES. */
int plat_ipc_connect(const char *path, unsigned timeout_ms, struct plat_ipc_client **out);
int plat_ipc_client_send(struct plat_ipc_client *c, const char *buf, size_t len,
                         unsigned timeout_ms);
/* One frame: *buf new (NUL-terminated), *len its length. WARD_ETIMEDOUT, WARD_ECONNECT when
 * the daemon closed, WARD_ETOOBIG over max. timeout_ms 0: wait without limit. */
int plat_ipc_client_recv(struct plat_ipc_client *c, size_t max, unsigned timeout_ms, char **buf,
                         size_t *len);
/* What a poll loop waits on: a POSIX fd (readable); on Windows the pipe HANDLE (read in a
 * thread of its own). */
intptr_t plat_ipc_client_waitable(const struct plat_ipc_client *c);
void plat_ipc_client_close(struct plat_ipc_client *c);

/* The agent's default endpoint: /run/ward/ward.sock, \\.\pipe\ward. */
const char *plat_ipc_default_path(void);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internal: the split of platform/ipc.h between the framing and limits every OS shares
 * (src/common/ipc.c) and what differs (src/posix/ipc_os.c, src/win/ipc_os.c): how the
 * endpoint is made safe and listened on, how a client's identity is read, and the blocking
 * client's transport.
 */
#ifndef PLATFORM_SRC_IPC_OS_H
#define PLATFORM_SRC_IPC_OS_H

#include "platform/ipc.h"
#include "ward/log.h"

struct plat_ipc_conn {
    uv_pipe_t pipe;
    uv_timer_t idle;
    struct plat_ipc_server *srv;
    struct plat_ipc_peer peer;
    char *in;      /* header + frame being received */
    size_t in_len; /* bytes in `in` */
    size_t in_cap; /* allocated */
    int keep;      /* no idle limit */
    int closing;   /* no more reads or callbacks */
    int started;   /* the frame callback may be called */
    int handles;   /* open handles (pipe, timer): freed at 0 */
    void *data;
    struct plat_ipc_conn *prev, *next;
};

struct plat_ipc_server {
    uv_loop_t *loop;
    struct plat_ipc_server_opts o;
    char *path;
    struct plat_ipc_server_cb cb;
    struct plat_ipc_conn *conns;
    unsigned n_conns;
    int closing;
    unsigned pending; /* handles still to close before close_cb */
    void (*close_cb)(void *ctx);
    void *close_ctx;
    void *os;                          /* the OS layer's listener */
    struct ward_log_limit refused_log; /* a flood must not flood the log too */
};

/* Common layer, for the OS layer: a connection whose pipe is uv_pipe_init'ed (ipc = 0) on
 * s->loop, to be accepted or opened into; then ipc_conn_start (peer filled, reading
 * begins; refused clients closed), or ipc_conn_discard when that failed. */
struct plat_ipc_conn *ipc_conn_new(struct plat_ipc_server *s);
void ipc_conn_start(struct plat_ipc_conn *c);
void ipc_conn_discard(struct plat_ipc_conn *c);
/* The OS layer's listener is gone (after ipc_os_close). */
void ipc_os_closed(struct plat_ipc_server *s);

/* The frame header: 4 bytes, big-endian. */
static inline void ipc_put_len(unsigned char *p, size_t n)
{
    p[0] = (unsigned char)(n >> 24);
    p[1] = (unsigned char)(n >> 16);
    p[2] = (unsigned char)(n >> 8);
    p[3] = (unsigned char)n;
}
static inline size_t ipc_get_len(const unsigned char *p)
{
    return ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | (size_t)p[3];
}

/* Monotonic milliseconds (uv_hrtime), for the blocking client's deadlines. */
static inline int64_t ipc_now_ms(void)
{
    return (int64_t)(uv_hrtime() / 1000000u);
}

/* OS layer. */
int ipc_os_listen(struct plat_ipc_server *s, char *why, size_t whylen);
/* Closes the listener; calls ipc_os_closed once its handles are gone. */
void ipc_os_close(struct plat_ipc_server *s);
/* The peer of an accepted connection; an error refuses it (a remote pipe client). */
int ipc_os_peer(struct plat_ipc_conn *c, struct plat_ipc_peer *peer);
/* The blocking client: all n bytes written (write = 1) or read, by deadline (ipc_now_ms
 * milliseconds; 0: none). WARD_ETIMEDOUT, WARD_ECONNECT when the other end closed. */
int ipc_os_client_io(struct plat_ipc_client *c, int write, unsigned char *p, size_t n,
                     int64_t deadline);

#endif

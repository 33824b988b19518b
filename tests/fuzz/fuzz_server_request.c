/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for ward-server's request parsing: the engine's HTTP/1.1 connection
 * layer (server/src/conn.c) driven with plain bytes, no TLS and no sockets. The first
 * input byte picks the chunk size the rest is fed in (so requests split at every possible
 * point) and whether the handler answers at once or holds requests and answers them later
 * (the long-poll path, with pipelined input waiting behind a paused parser). Checks: the
 * accessors return consistent values for every request, every response the engine
 * produces starts with a status line, the body never exceeds its cap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "ward/json.h"

#define MAX_BODY 4096

static struct srv_conn_env env;
static struct srv_conn conn;
static struct srv_req *held;
static int hold_mode;

static void check(int cond)
{
    if (!cond)
        abort();
}

static void on_sync(struct srv_conn *c)
{
    if (c->out.len)
        check(memcmp(c->out.data, "HTTP/1.1 ", 9) == 0);
    ward_buf_reset(&c->out);
}

static void on_release(struct srv_conn *c)
{
    (void)c;
}

static const struct srv_conn_ops ops = {.sync = on_sync, .release = on_release};

static void handler(struct srv_req *r, void *ctx)
{
    size_t len = 0;
    const char *body = srv_req_body(r, &len);
    const char *m = srv_req_method(r), *p = srv_req_path(r);
    (void)ctx;
    check(m && p && body && len <= MAX_BODY && body[len] == '\0');
    (void)srv_req_query(r, "timeout");
    (void)srv_req_query(r, "");
    (void)srv_req_header(r, "Host");
    (void)srv_req_header(r, "content-type");
    if (hold_mode) {
        held = r;
        return;
    }
    if (len > 8) {
        json_t *j = json_pack("{s:s,s:I}", "path", p, "len", (json_int_t)len);
        check(srv_req_respond_json(r, 200, j, NULL, 0) == 0);
        json_decref(j);
    } else {
        check(srv_req_respond(r, 404, "text/plain", "nope", 4, NULL, 0) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    size_t chunk, off = 1;

    if (!init) {
        struct srv_http_opts o = {
            .max_header_bytes = 2048,
            .max_headers = 20,
            .max_body_bytes = MAX_BODY,
            .handler = handler,
        };
        ward_json_init();
        srv_conn_env_init(&env, &o);
        init = 1;
    }
    if (size < 1)
        return 0;
    chunk = (size_t)(data[0] & 0x3f) + 1;
    hold_mode = (data[0] & 0x40) != 0;
    held = NULL;
    srv_conn_init(&conn, &env, &ops, NULL);
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (srv_conn_feed(&conn, data + off, n) != 0)
            break;
        off += n;
        if (held && (data[0] & 0x80)) {
            struct srv_req *r = held;
            held = NULL;
            (void)srv_req_respond_error(r, 503, "unavailable", "later \"quoted\"");
        }
    }
    if (held && (data[0] & 0x80) == 0)
        srv_conn_drain(&conn);
    srv_conn_dead(&conn);
    if (conn.req.state == SRV_REQ_ZOMBIE)
        (void)srv_req_respond(&conn.req, 200, NULL, NULL, 0, NULL, 0);
    srv_conn_release(&conn);
    return 0;
}

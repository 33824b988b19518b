/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tests of the agent HTTP client against real loopback peers: a Python HTTPS server
 * (peers/https_peer.py) and a CONNECT proxy (peers/connect_proxy.py), with a test PKI made
 * by peers/mkpki.sh in the case's scratch directory. Every case runs the real client on a
 * real uv loop and ends by closing it and checking that uv_loop_close succeeds. The peers
 * are POSIX children (this file is built only outside Windows) and exit on their own when
 * the test process goes away (their stdin closes).
 */
#define WARD_LOG_TAG "test_http"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "agent/http.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/log.h"
#include "wtest.h"

extern char **environ;

#define PYTHON "/usr/bin/python3"
#define KIB 1024
#define MIB (1024 * 1024)
/* Body of the peer's /gzip answer: "ward gzip response line\n" * 2000. */
#define GZIP_LINE "ward gzip response line\n"
#define GZIP_LEN (24 * 2000)

/* ---- child processes -------------------------------------------------------------------- */

struct peer {
    pid_t pid;
    int port;
    int in_fd; /* our end of the peer's stdin: closing it makes the peer exit */
    int out_fd;
};

#define MAX_PEERS 8
static struct peer *live_peers[MAX_PEERS];

static void peer_stop(struct peer *p)
{
    int status;
    if (!p || p->pid <= 0)
        return;
    kill(p->pid, SIGTERM);
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(p->in_fd);
    close(p->out_fd);
    p->pid = 0;
    for (int i = 0; i < MAX_PEERS; i++)
        if (live_peers[i] == p)
            live_peers[i] = NULL;
}

static void peers_stop_all(void)
{
    for (int i = 0; i < MAX_PEERS; i++)
        peer_stop(live_peers[i]);
}

/* posix_spawn wants char *const argv[]; keep private mutable copies. */
static char **argv_dup(const char *const *argv)
{
    size_t n = 0;
    char **v;
    while (argv[n])
        n++;
    v = calloc(n + 1, sizeof(*v));
    WT_ASSERT(v != NULL);
    for (size_t i = 0; i < n; i++) {
        v[i] = strdup(argv[i]);
        WT_ASSERT(v[i] != NULL);
    }
    return v;
}

static void argv_free(char **v)
{
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

static pid_t spawn(const char *const *argv, int in_fd, int out_fd)
{
    posix_spawn_file_actions_t fa;
    char **v = argv_dup(argv);
    pid_t pid;
    int rc;
    WT_EQ_INT(posix_spawn_file_actions_init(&fa), 0);
    if (in_fd >= 0)
        WT_EQ_INT(posix_spawn_file_actions_adddup2(&fa, in_fd, 0), 0);
    if (out_fd >= 0)
        WT_EQ_INT(posix_spawn_file_actions_adddup2(&fa, out_fd, 1), 0);
    rc = posix_spawn(&pid, v[0], &fa, NULL, v, environ);
    posix_spawn_file_actions_destroy(&fa);
    argv_free(v);
    if (rc != 0)
        wt_fail(__FILE__, __LINE__, "cannot spawn %s: %s", argv[0], strerror(rc));
    return pid;
}

static void run_ok(const char *const *argv)
{
    int status;
    pid_t pid = spawn(argv, -1, -1);
    WT_EQ_INT(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        wt_fail(__FILE__, __LINE__, "%s %s failed (status %d)", argv[0], argv[1], status);
}

/* Starts a peer and reads the port it prints on its first stdout line. */
static void peer_start(struct peer *p, const char *const *argv)
{
    int in[2], out[2], slot = -1;
    char line[32];
    size_t n = 0;

    for (int i = 0; i < MAX_PEERS && slot < 0; i++)
        if (!live_peers[i])
            slot = i;
    WT_ASSERT(slot >= 0);
    WT_EQ_INT(pipe2(in, O_CLOEXEC), 0);
    WT_EQ_INT(pipe2(out, O_CLOEXEC), 0);
    p->pid = spawn(argv, in[0], out[1]);
    close(in[0]);
    close(out[1]);
    p->in_fd = in[1];
    p->out_fd = out[0];
    live_peers[slot] = p;
    if (slot == 0) {
        static int registered;
        if (!registered++)
            atexit(peers_stop_all);
    }
    while (n < sizeof(line) - 1) {
        struct pollfd pfd = {.fd = p->out_fd, .events = POLLIN};
        ssize_t r;
        if (poll(&pfd, 1, 15000) <= 0)
            wt_fail(__FILE__, __LINE__, "peer %s did not print its port", argv[1]);
        r = read(p->out_fd, line + n, 1);
        if (r <= 0)
            wt_fail(__FILE__, __LINE__, "peer %s exited before printing its port", argv[1]);
        if (line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    p->port = atoi(line);
    WT_ASSERT(p->port > 0 && p->port < 65536);
}

static const char *peer_script(const char *name)
{
    static char buf[4][512];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, sizeof(buf[0]), "%s/%s", WARD_HTTP_PEERS_DIR, name);
    return b;
}

/* ---- test PKI --------------------------------------------------------------------------- */

static const char *pki(const char *file)
{
    static int made;
    char rel[128];
    if (!made) {
        const char *argv[] = {"/bin/sh", peer_script("mkpki.sh"), wt_path("pki"), NULL};
        run_ok(argv);
        made = 1;
    }
    snprintf(rel, sizeof(rel), "pki/%s", file);
    return wt_path(rel);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *d;
    long n;
    WT_ASSERT(f != NULL);
    WT_EQ_INT(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    WT_ASSERT(n >= 0);
    rewind(f);
    d = malloc((size_t)n + 1);
    WT_ASSERT(d != NULL);
    WT_EQ_INT(fread(d, 1, (size_t)n, f), n);
    d[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return d;
}

/* An HTTPS peer with the named certificate ("server", "other", "wrong-server"). */
static void start_https(struct peer *p, const char *cert, int require_client_cert)
{
    char c[64], k[64];
    const char *argv[12];
    int i = 0;
    snprintf(c, sizeof(c), "%s.pem", cert);
    snprintf(k, sizeof(k), "%s.key", cert);
    argv[i++] = PYTHON;
    argv[i++] = peer_script("https_peer.py");
    argv[i++] = "--cert";
    argv[i++] = pki(c);
    argv[i++] = "--key";
    argv[i++] = pki(k);
    if (require_client_cert) {
        argv[i++] = "--client-ca";
        argv[i++] = pki("ca.pem");
    }
    argv[i] = NULL;
    peer_start(p, argv);
}

static void start_proxy_tls(struct peer *p, const char *user, const char *password, int tls)
{
    const char *argv[16];
    int i = 0;
    argv[i++] = PYTHON;
    argv[i++] = peer_script("connect_proxy.py");
    argv[i++] = "--count-file";
    argv[i++] = wt_path("proxy-count");
    if (tls) {
        argv[i++] = "--cert";
        argv[i++] = pki("server.pem");
        argv[i++] = "--key";
        argv[i++] = pki("server.key");
    }
    if (user) {
        argv[i++] = "--user";
        argv[i++] = user;
        argv[i++] = "--password";
        argv[i++] = password;
    }
    argv[i] = NULL;
    peer_start(p, argv);
}

static void start_proxy(struct peer *p, const char *user, const char *password)
{
    start_proxy_tls(p, user, password, 0);
}

/* CONNECT requests the proxy received, and tunnels it opened. */
static void proxy_counts(int *connects, int *tunnels)
{
    char *s = slurp(wt_path("proxy-count"), NULL);
    WT_EQ_INT(sscanf(s, "connects=%d tunnels=%d", connects, tunnels), 2);
    free(s);
}

/* A loopback port with nothing listening (bound, then released). */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    WT_ASSERT(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    WT_EQ_INT(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    WT_EQ_INT(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static void clear_proxy_env(void)
{
    unsetenv("https_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("no_proxy");
    unsetenv("NO_PROXY");
}

/* ---- client harness --------------------------------------------------------------------- */

struct t {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps uv_run(ONCE) returning while we wait */
    struct agent_http *h;
    int closed;
};

struct res {
    int calls;
    int err;
    long status;
    char ctype[256];
    char location[256];
    long retry_after;
    int64_t date;
    char *body;
    size_t body_len;
    char detail[512];
    long num_connects;
};

static void noop_tick(uv_timer_t *t)
{
    (void)t;
}

static void on_done(struct agent_http_response *resp, void *ctx)
{
    struct res *r = ctx;
    r->calls++;
    r->err = resp->err;
    r->status = resp->status;
    snprintf(r->ctype, sizeof(r->ctype), "%s", resp->content_type ? resp->content_type : "");
    snprintf(r->location, sizeof(r->location), "%s", resp->location ? resp->location : "");
    r->retry_after = resp->retry_after;
    r->date = resp->date;
    snprintf(r->detail, sizeof(r->detail), "%s", resp->error_detail);
    r->num_connects = resp->num_connects;
    free(r->body);
    r->body = NULL;
    r->body_len = resp->body.len;
    if (resp->body.len) {
        r->body = malloc(resp->body.len + 1);
        WT_ASSERT(r->body != NULL);
        memcpy(r->body, resp->body.data, resp->body.len + 1);
    }
}

static void res_free(struct res *r)
{
    free(r->body);
    memset(r, 0, sizeof(*r));
}

static struct agent_http_opts base_opts(void)
{
    struct agent_http_opts o;
    memset(&o, 0, sizeof(o));
    o.ca_file = pki("ca.pem");
    o.proxy = ""; /* no proxy from the test runner's environment */
    o.connect_timeout_ms = 5000;
    o.timeout_ms = 30000;
    return o;
}

static void t_open(struct t *t, const struct agent_http_opts *o)
{
    memset(t, 0, sizeof(*t));
    WT_EQ_INT(uv_loop_init(&t->loop), 0);
    WT_EQ_INT(uv_timer_init(&t->loop, &t->tick), 0);
    WT_EQ_INT(uv_timer_start(&t->tick, noop_tick, 50, 50), 0);
    WT_OK(agent_http_new(&t->loop, o, &t->h));
}

static void on_closed(void *ctx)
{
    struct t *t = ctx;
    t->closed++;
    t->h = NULL;
}

/* Closes the client and proves every uv handle it owned is gone. */
static void t_close(struct t *t)
{
    if (t->h)
        agent_http_close(t->h, on_closed, t);
    uv_close((uv_handle_t *)&t->tick, NULL);
    WT_EQ_INT(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
    WT_EQ_INT(t->closed, 1);
    WT_EQ_INT(uv_loop_close(&t->loop), 0);
}

static void t_wait(struct t *t, struct res *r, int calls)
{
    uint64_t start;
    uv_update_time(&t->loop);
    start = uv_now(&t->loop);
    while (r->calls < calls) {
        uv_run(&t->loop, UV_RUN_ONCE);
        if (uv_now(&t->loop) - start > 40000)
            wt_fail(__FILE__, __LINE__, "request did not complete within 40 s");
    }
}

static void t_sleep(struct t *t, uint64_t ms)
{
    uint64_t start;
    uv_update_time(&t->loop);
    start = uv_now(&t->loop);
    while (uv_now(&t->loop) - start < ms)
        uv_run(&t->loop, UV_RUN_ONCE);
}

static const char *url(int port, const char *path)
{
    static char buf[4][256];
    static int i;
    char *b = buf[i++ % 4];
    snprintf(b, sizeof(buf[0]), "https://127.0.0.1:%d%s", port, path);
    return b;
}

static void fetch_req(struct t *t, const struct agent_http_request *rq, struct res *r)
{
    int before = r->calls;
    WT_OK(agent_http_request(t->h, rq, on_done, r, NULL));
    t_wait(t, r, before + 1);
    WT_EQ_INT(r->calls, before + 1);
}

static void fetch(struct t *t, const char *u, struct res *r)
{
    struct agent_http_request rq;
    memset(&rq, 0, sizeof(rq));
    rq.url = u;
    fetch_req(t, &rq, r);
}

/* One request with a fresh client; returns the Ward error. */
static int fetch_once(const struct agent_http_opts *o, const char *u, struct res *r)
{
    struct t t;
    t_open(&t, o);
    fetch(&t, u, r);
    t_close(&t);
    return r->err;
}

/* ---- cases ------------------------------------------------------------------------------- */

WT_TEST(success)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    start_https(&p, "server", 0);
    o = base_opts();
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    WT_EQ_INT(r.status, 200);
    WT_EQ_STR(r.body, "{\"ok\": true}");
    WT_EQ_STR(r.ctype, "application/json");
    WT_EQ_STR(r.detail, "");
    WT_EQ_INT(r.retry_after, -1);
    WT_ASSERT(r.date > (int64_t)time(NULL) - 300 && r.date < (int64_t)time(NULL) + 300);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(http_error_status_keeps_body_and_retry_after)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    start_https(&p, "server", 0);
    o = base_opts();
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/status?code=503"), &r), WARD_EHTTP);
    WT_EQ_INT(r.status, 503);
    WT_EQ_INT(r.retry_after, 7);
    WT_EQ_STR(r.ctype, "application/json");
    WT_CONTAINS(r.body, "busy");
    WT_CONTAINS(r.detail, "503");
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(wrong_server_certificate)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    start_https(&p, "wrong-server", 0);
    o = base_opts();
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_ETLS);
    WT_EQ_INT(r.status, 0);
    WT_ASSERT(r.detail[0] != '\0');
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(wrong_hostname)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    /* Issued by the trusted CA, but for other.example, not 127.0.0.1. */
    start_https(&p, "other", 0);
    o = base_opts();
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_ETLS);
    WT_EQ_INT(r.status, 0);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(pin_mismatch)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    char *pin = slurp(pki("wrong-server.pin"), NULL);
    start_https(&p, "server", 0);
    o = base_opts();
    o.pin = pin;
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_EPIN);
    WT_EQ_INT(r.status, 0);
    free(pin);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(pin_match)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    char *pin = slurp(pki("server.pin"), NULL);
    char pins[256];
    start_https(&p, "server", 0);
    o = base_opts();
    o.pin = pin;
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    WT_EQ_INT(r.status, 200);
    res_free(&r);
    /* Rotation: any one of several pins will do. */
    char *other = slurp(pki("wrong-server.pin"), NULL);
    snprintf(pins, sizeof(pins), "%s;%s", other, pin);
    o.pin = pins;
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    free(other);
    free(pin);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(ca_from_memory)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    size_t len;
    char *pem = slurp(pki("ca.pem"), &len);
    start_https(&p, "server", 0);
    o = base_opts();
    o.ca_file = NULL;
    o.ca_pem = pem;
    o.ca_pem_len = len;
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    res_free(&r);
    free(pem);
    /* The in-memory CA is the only anchor: another CA's server is refused. */
    pem = slurp(pki("ca.pem"), &len);
    peer_stop(&p);
    start_https(&p, "wrong-server", 0);
    o.ca_pem = pem;
    o.ca_pem_len = len;
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_ETLS);
    res_free(&r);
    free(pem);
    peer_stop(&p);
}

WT_TEST(extra_ca_for_inspecting_proxy)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    size_t len;
    char *pem = slurp(pki("ca.pem"), &len);
    /* A TLS-inspecting proxy re-signs with its own CA (here: wrongca). */
    start_https(&p, "wrong-server", 0);
    o = base_opts();
    o.ca_file = NULL;
    o.ca_pem = pem;
    o.ca_pem_len = len;
    o.extra_ca_file = pki("wrongca.pem");
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    res_free(&r);
    peer_stop(&p);
    /* ... and the pinned CA still works alongside it. */
    start_https(&p, "server", 0);
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    /* A missing extra bundle is a startup error, not silently ignored. */
    {
        struct agent_http *h = NULL;
        uv_loop_t loop;
        WT_EQ_INT(uv_loop_init(&loop), 0);
        o.extra_ca_file = wt_path("missing.pem");
        WT_EQ_ERR(agent_http_new(&loop, &o, &h), WARD_EIO);
        WT_ASSERT(h == NULL);
        WT_EQ_INT(uv_loop_close(&loop), 0);
    }
    res_free(&r);
    free(pem);
    peer_stop(&p);
}

WT_TEST(redirect_not_followed)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct t t;
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    fetch(&t, url(p.port, "/redirect"), &r);
    WT_EQ_ERR(r.err, WARD_EREDIRECT);
    WT_EQ_INT(r.status, 302);
    WT_EQ_STR(r.location, "/target");
    fetch(&t, url(p.port, "/stats"), &r);
    WT_OK(r.err);
    WT_CONTAINS(r.body, "\"/redirect\": 1");
    WT_ASSERT(strstr(r.body, "/target") == NULL);
    t_close(&t);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(oversized_body_with_length)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    start_https(&p, "server", 0);
    o = base_opts();
    o.max_response = 64 * KIB;
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/big?n=52428800"), &r), WARD_ETOOBIG);
    WT_ASSERT(r.body_len <= 64 * KIB);
    res_free(&r);
    /* Exactly at the cap is fine. */
    WT_OK(fetch_once(&o, url(p.port, "/big?n=65536"), &r));
    WT_EQ_INT(r.body_len, 64 * KIB);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(oversized_body_chunked)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct agent_http_request rq;
    struct t t;
    uint64_t start;
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.url = url(p.port, "/bigchunked?n=52428800");
    rq.max_response = 64 * KIB; /* per-request cap below the client's 4 MiB */
    start = uv_now(&t.loop);
    fetch_req(&t, &rq, &r);
    WT_EQ_ERR(r.err, WARD_ETOOBIG);
    WT_ASSERT(r.body_len <= 64 * KIB);
    WT_CONTAINS(r.detail, "larger than");
    /* Cut off, not downloaded to the end. */
    WT_ASSERT(uv_now(&t.loop) - start < 10000);
    t_close(&t);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(gzip_response_cap_applies_after_decoding)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    start_https(&p, "server", 0);
    o = base_opts();
    o.max_response = 10000; /* compressed it is far smaller, decoded it is 48000 */
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/gzip"), &r), WARD_ETOOBIG);
    WT_ASSERT(r.body_len <= 10000);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(trickling_server_cut_off)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct t t;
    uint64_t start, took;
    start_https(&p, "server", 0);
    o = base_opts();
    o.low_speed_limit = 100; /* the peer sends 5 bytes/s */
    o.low_speed_time_s = 2;
    o.timeout_ms = 60000;
    t_open(&t, &o);
    uv_update_time(&t.loop);
    start = uv_now(&t.loop);
    fetch(&t, url(p.port, "/trickle"), &r);
    took = uv_now(&t.loop) - start;
    WT_EQ_ERR(r.err, WARD_ETIMEDOUT);
    WT_EQ_INT(r.status, 200);
    WT_ASSERT(r.body_len > 0 && r.body_len < 1000);
    if (took < 1500 || took > 8000)
        wt_fail(__FILE__, __LINE__, "cut off after %llu ms, expected about 2000",
                (unsigned long long)took);
    t_close(&t);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(total_timeout)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct agent_http_request rq;
    struct t t;
    uint64_t start;
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.url = url(p.port, "/slow?ms=5000");
    rq.timeout_ms = 700;
    uv_update_time(&t.loop);
    start = uv_now(&t.loop);
    fetch_req(&t, &rq, &r);
    WT_EQ_ERR(r.err, WARD_ETIMEDOUT);
    WT_ASSERT(uv_now(&t.loop) - start < 3000);
    t_close(&t);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(long_poll_disables_low_speed_limit)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct agent_http_request rq;
    struct t t;
    start_https(&p, "server", 0);
    o = base_opts();
    o.low_speed_limit = 100;
    o.low_speed_time_s = 1;
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.url = url(p.port, "/slow?ms=2500");
    /* A silent wait trips the client's low-speed limit ... */
    fetch_req(&t, &rq, &r);
    WT_EQ_ERR(r.err, WARD_ETIMEDOUT);
    /* ... unless the request turns it off, as a long-poll does. */
    rq.low_speed_time_s = -1;
    fetch_req(&t, &rq, &r);
    WT_OK(r.err);
    WT_EQ_STR(r.body, "slow");
    t_close(&t);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(server_closes_mid_body)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    start_https(&p, "server", 0);
    o = base_opts();
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/closemid"), &r), WARD_ECLOSED);
    WT_EQ_INT(r.status, 200);
    WT_EQ_INT(r.body_len, 100);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(gzip_request_body)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct agent_http_request rq;
    struct t t;
    const char *hdrs[] = {"X-Test: hello", "Content-Type: text/plain", NULL};
    size_t n = 100 * KIB, raw = 0;
    char *body = malloc(n), *nl;
    char want[128];
    WT_ASSERT(body != NULL);
    for (size_t i = 0; i < n; i++)
        body[i] = "inventory line\n"[i % 15];
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = url(p.port, "/echo");
    rq.headers = hdrs;
    rq.body = body;
    rq.body_len = n;
    rq.gzip_body = 1;
    fetch_req(&t, &rq, &r);
    WT_OK(r.err);
    WT_ASSERT(r.body != NULL);
    nl = strchr(r.body, '\n');
    WT_ASSERT(nl != NULL);
    WT_EQ_INT(sscanf(r.body, "method=POST enc=gzip raw=%zu", &raw), 1);
    WT_ASSERT(raw > 0 && raw < n / 10); /* really compressed on the wire */
    WT_CONTAINS(r.body, "x-test=hello\n");
    WT_EQ_INT(r.body_len - (size_t)(nl + 1 - r.body), n);
    WT_EQ_MEM(nl + 1, body, n);
    /* Without gzip_body the bytes go as they are. */
    rq.method = "PUT";
    rq.body = "hello";
    rq.body_len = 5;
    rq.gzip_body = 0;
    fetch_req(&t, &rq, &r);
    WT_OK(r.err);
    snprintf(want, sizeof(want), "method=PUT enc=identity raw=5 x-test=hello\nhello");
    WT_EQ_STR(r.body, want);
    t_close(&t);
    free(body);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(gzip_response_decoded)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    start_https(&p, "server", 0);
    o = base_opts();
    WT_OK(fetch_once(&o, url(p.port, "/gzip"), &r));
    WT_EQ_INT(r.body_len, GZIP_LEN);
    WT_EQ_MEM(r.body, GZIP_LINE GZIP_LINE, 48);
    WT_EQ_MEM(r.body + GZIP_LEN - 24, GZIP_LINE, 24);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(proxy_connect)
{
    struct peer p, px;
    struct agent_http_opts o;
    struct res r = {0};
    char proxy[64];
    int connects, tunnels;
    start_https(&p, "server", 0);
    start_proxy(&px, NULL, NULL);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", px.port);
    o = base_opts();
    o.proxy = proxy;
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    WT_EQ_STR(r.body, "{\"ok\": true}");
    proxy_counts(&connects, &tunnels);
    WT_EQ_INT(connects, 1);
    WT_EQ_INT(tunnels, 1);
    res_free(&r);
    peer_stop(&px);
    peer_stop(&p);
}

WT_TEST(proxy_origin_certificate_still_checked)
{
    struct peer p, px;
    struct agent_http_opts o;
    struct res r = {0};
    char proxy[64];
    int connects, tunnels;
    /* The tunnel is fine; the server at its end is not ours: a TLS error, not a proxy one. */
    start_https(&p, "wrong-server", 0);
    start_proxy(&px, NULL, NULL);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", px.port);
    o = base_opts();
    o.proxy = proxy;
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_ETLS);
    proxy_counts(&connects, &tunnels);
    WT_EQ_INT(tunnels, 1);
    res_free(&r);
    peer_stop(&px);
    peer_stop(&p);
}

WT_TEST(https_proxy)
{
    struct peer p, px;
    struct agent_http_opts o;
    struct res r = {0};
    char proxy[64];
    int connects, tunnels;
    start_https(&p, "server", 0);
    start_proxy_tls(&px, "agent", "pw", 1);
    snprintf(proxy, sizeof(proxy), "https://agent:pw@127.0.0.1:%d", px.port);
    o = base_opts();
    o.proxy = proxy;
    /* The proxy's certificate is from the test CA, which the system store lacks. */
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_EPROXY);
    res_free(&r);
    proxy_counts(&connects, &tunnels);
    WT_EQ_INT(connects, 0);
    o.proxy_ca_file = pki("ca.pem");
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    WT_EQ_STR(r.body, "{\"ok\": true}");
    proxy_counts(&connects, &tunnels);
    WT_EQ_INT(tunnels, 1);
    res_free(&r);
    peer_stop(&px);
    peer_stop(&p);
}

WT_TEST(proxy_authenticated)
{
    struct peer p, px;
    struct agent_http_opts o;
    struct res r = {0};
    char proxy[96];
    int connects, tunnels;
    start_https(&p, "server", 0);
    start_proxy(&px, "agent", "s3cret-proxy-pw");
    o = base_opts();
    /* Credentials in the URL ... */
    snprintf(proxy, sizeof(proxy), "http://agent:s3cret-proxy-pw@127.0.0.1:%d", px.port);
    o.proxy = proxy;
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    res_free(&r);
    /* ... or as options. */
    snprintf(proxy, sizeof(proxy), "127.0.0.1:%d", px.port);
    o.proxy_user = "agent";
    o.proxy_password = "s3cret-proxy-pw";
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    proxy_counts(&connects, &tunnels);
    WT_EQ_INT(tunnels, 2);
    res_free(&r);
    peer_stop(&px);
    peer_stop(&p);
}

WT_TEST(proxy_wrong_password)
{
    struct peer p, px;
    struct agent_http_opts o;
    struct res r = {0};
    char proxy[96];
    int connects, tunnels;
    start_https(&p, "server", 0);
    start_proxy(&px, "agent", "s3cret-proxy-pw");
    snprintf(proxy, sizeof(proxy), "http://agent:wrong@127.0.0.1:%d", px.port);
    o = base_opts();
    o.proxy = proxy;
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_EPROXY);
    WT_CONTAINS(r.detail, "407");
    proxy_counts(&connects, &tunnels);
    WT_ASSERT(connects >= 1);
    WT_EQ_INT(tunnels, 0);
    res_free(&r);
    /* No credentials at all: same answer. */
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", px.port);
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_EPROXY);
    res_free(&r);
    peer_stop(&px);
    peer_stop(&p);
}

WT_TEST(proxy_unreachable)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    char proxy[64];
    start_https(&p, "server", 0);
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", closed_port());
    o = base_opts();
    o.proxy = proxy;
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_EPROXY);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(proxy_from_environment)
{
    struct peer p, px;
    struct agent_http_opts o;
    struct res r = {0};
    char proxy[64];
    int connects, tunnels;
    start_https(&p, "server", 0);
    start_proxy(&px, NULL, NULL);
    clear_proxy_env();
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", px.port);
    setenv("HTTPS_PROXY", proxy, 1);
    o = base_opts();
    o.proxy = NULL;
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    proxy_counts(&connects, &tunnels);
    WT_EQ_INT(tunnels, 1);
    res_free(&r);
    /* Lower case wins, as in curl. */
    setenv("https_proxy", "http://127.0.0.1:1", 1);
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_EPROXY);
    res_free(&r);
    clear_proxy_env();
    peer_stop(&px);
    peer_stop(&p);
}

WT_TEST(no_proxy_bypass)
{
    struct peer p, px;
    struct agent_http_opts o;
    struct res r = {0};
    char proxy[64];
    int connects, tunnels;
    start_https(&p, "server", 0);
    start_proxy(&px, NULL, NULL);
    clear_proxy_env();
    snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", px.port);
    /* From the environment ... */
    setenv("HTTPS_PROXY", proxy, 1);
    setenv("NO_PROXY", "example.com, 127.0.0.1", 1);
    o = base_opts();
    o.proxy = NULL;
    o.no_proxy = NULL;
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    res_free(&r);
    clear_proxy_env();
    /* ... and from options; a suffix that is not on a label boundary does not match. */
    o.proxy = proxy;
    o.no_proxy = ".0.0.1,localhost";
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    res_free(&r);
    proxy_counts(&connects, &tunnels);
    WT_EQ_INT(connects, 0);
    o.no_proxy = "27.0.0.1,example.org";
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    res_free(&r);
    proxy_counts(&connects, &tunnels);
    WT_EQ_INT(connects, 1);
    o.no_proxy = "*";
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    res_free(&r);
    proxy_counts(&connects, &tunnels);
    WT_EQ_INT(connects, 1);
    peer_stop(&px);
    peer_stop(&p);
}

WT_TEST(client_certificate_required)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    size_t clen, klen;
    char *cert, *key;
    start_https(&p, "server", 1);
    o = base_opts();
    /* Without a certificate the server refuses us; over TLS 1.3 we learn it from its alert
     * on the first read, which must still read as a TLS error, not a dropped connection. */
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_ETLS);
    WT_CONTAINS(r.detail, "alert");
    WT_EQ_INT(r.status, 0);
    res_free(&r);
    /* A certificate from a CA the server does not trust is refused the same way. */
    o.client_cert_file = pki("wrong-client.pem");
    o.client_key_file = pki("wrong-client.key");
    WT_EQ_ERR(fetch_once(&o, url(p.port, "/json"), &r), WARD_ETLS);
    res_free(&r);
    /* From files. */
    o.client_cert_file = pki("client.pem");
    o.client_key_file = pki("client.key");
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    WT_EQ_INT(r.status, 200);
    res_free(&r);
    /* From memory. */
    cert = slurp(pki("client.pem"), &clen);
    key = slurp(pki("client.key"), &klen);
    o.client_cert_file = o.client_key_file = NULL;
    o.client_cert_pem = cert;
    o.client_cert_pem_len = clen;
    o.client_key_pem = key;
    o.client_key_pem_len = klen;
    WT_OK(fetch_once(&o, url(p.port, "/json"), &r));
    WT_EQ_INT(r.status, 200);
    free(cert);
    free(key);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(connection_reuse)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct agent_http_stats st;
    struct t t;
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    fetch(&t, url(p.port, "/json"), &r);
    WT_OK(r.err);
    WT_EQ_INT(r.num_connects, 1);
    fetch(&t, url(p.port, "/json"), &r);
    WT_OK(r.err);
    WT_EQ_INT(r.num_connects, 0);
    fetch(&t, url(p.port, "/json"), &r);
    WT_OK(r.err);
    WT_EQ_INT(r.num_connects, 0);
    agent_http_get_stats(t.h, &st);
    WT_EQ_INT(st.requests, 3);
    WT_EQ_INT(st.connects, 1);
    WT_EQ_INT(st.in_flight, 0);
    WT_EQ_INT(st.sockets, 0); /* curl does not watch an idle kept-alive connection */
    /* The server saw one TLS connection for all of them (and this one). */
    fetch(&t, url(p.port, "/stats"), &r);
    WT_CONTAINS(r.body, "\"connections\": 1,");
    WT_CONTAINS(r.body, "\"/json\": 3");
    t_close(&t);
    res_free(&r);
    peer_stop(&p);
}

/* A new connection resumes the TLS session of an earlier one (a shared session cache):
 * the check-in after a closed long-poll costs a fraction of a full handshake. */
WT_TEST(tls_session_resumed_on_new_connection)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct t t;
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    fetch(&t, url(p.port, "/session"), &r);
    WT_OK(r.err);
    WT_CONTAINS(r.body, "\"reused\": false");
    for (int i = 0; i < 2; i++) {
        fetch(&t, url(p.port, "/session"), &r);
        WT_OK(r.err);
        WT_EQ_INT(r.num_connects, 1);
        WT_CONTAINS(r.body, "\"reused\": true");
    }
    t_close(&t);
    res_free(&r);
    peer_stop(&p);
}

struct cancel_ctx {
    struct agent_http_req *req;
    struct res *r;
    int calls_at_return;
};

static void cancel_now(uv_timer_t *tm)
{
    struct cancel_ctx *c = tm->data;
    agent_http_cancel(c->req);
    c->calls_at_return = c->r->calls;
}

WT_TEST(cancel_in_flight)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct agent_http_request rq;
    struct agent_http_stats st;
    struct cancel_ctx c = {0};
    uv_timer_t tm;
    struct t t;
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.url = url(p.port, "/slow?ms=10000");
    WT_OK(agent_http_request(t.h, &rq, on_done, &r, &c.req));
    WT_ASSERT(c.req != NULL);
    c.r = &r;
    WT_EQ_INT(uv_timer_init(&t.loop, &tm), 0);
    tm.data = &c;
    WT_EQ_INT(uv_timer_start(&tm, cancel_now, 300, 0), 0);
    t_wait(&t, &r, 1);
    WT_EQ_INT(c.calls_at_return, 1); /* the callback ran inside agent_http_cancel */
    WT_EQ_ERR(r.err, WARD_ECANCELED);
    agent_http_get_stats(t.h, &st);
    WT_EQ_INT(st.in_flight, 0);
    t_sleep(&t, 300);
    WT_EQ_INT(r.calls, 1);
    uv_close((uv_handle_t *)&tm, NULL);
    t_close(&t);
    WT_EQ_INT(r.calls, 1);
    res_free(&r);
    peer_stop(&p);
}

WT_TEST(close_with_request_in_flight)
{
    struct peer p;
    struct agent_http_opts o;
    struct res r = {0};
    struct agent_http_request rq;
    struct agent_http_stats st;
    struct t t;
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.url = url(p.port, "/slow?ms=10000");
    WT_OK(agent_http_request(t.h, &rq, on_done, &r, NULL));
    t_sleep(&t, 300);
    agent_http_get_stats(t.h, &st);
    WT_EQ_INT(st.in_flight, 1);
    WT_EQ_INT(st.sockets, 1);
    agent_http_close(t.h, on_closed, &t);
    WT_EQ_INT(r.calls, 1);
    WT_EQ_ERR(r.err, WARD_ECANCELED);
    WT_EQ_INT(t.closed, 0); /* memory goes in the close callback, from the loop */
    t_close(&t);
    WT_EQ_INT(r.calls, 1);
    res_free(&r);
    peer_stop(&p);
}

static void close_from_callback(struct agent_http_response *resp, void *ctx)
{
    struct t *t = ctx;
    WT_OK(resp->err);
    /* Steal the body: the client must not free it again. */
    {
        struct ward_buf *b = &resp->body;
        size_t len;
        char *d = ward_buf_steal(b, &len);
        WT_EQ_STR(d, "{\"ok\": true}");
        ward_free(d);
    }
    agent_http_close(t->h, on_closed, t);
}

WT_TEST(close_from_completion_callback)
{
    struct peer p;
    struct agent_http_opts o;
    struct agent_http_request rq;
    struct t t;
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.url = url(p.port, "/json");
    WT_OK(agent_http_request(t.h, &rq, close_from_callback, &t, NULL));
    uv_close((uv_handle_t *)&t.tick, NULL);
    WT_EQ_INT(uv_run(&t.loop, UV_RUN_DEFAULT), 0);
    WT_EQ_INT(t.closed, 1);
    WT_EQ_INT(uv_loop_close(&t.loop), 0);
    peer_stop(&p);
}

WT_TEST(connect_refused)
{
    struct agent_http_opts o = base_opts();
    struct res r = {0};
    WT_EQ_ERR(fetch_once(&o, url(closed_port(), "/json"), &r), WARD_ECONNECT);
    res_free(&r);
}

WT_TEST(bad_requests_never_call_back)
{
    struct agent_http_opts o = base_opts();
    struct agent_http_request rq;
    struct res r = {0};
    struct agent_http_req *req = (struct agent_http_req *)&r;
    const char *crlf[] = {"X-Ok: 1", "X-Bad: a\r\nInjected: b", NULL};
    const char *noname[] = {": value", NULL};
    struct t t;
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.url = "http://127.0.0.1:1/json";
    WT_EQ_ERR(agent_http_request(t.h, &rq, on_done, &r, &req), WARD_EINVAL);
    WT_ASSERT(req == NULL);
    rq.url = "ftp://127.0.0.1/x";
    WT_EQ_ERR(agent_http_request(t.h, &rq, on_done, &r, NULL), WARD_EINVAL);
    rq.url = "not a url";
    WT_EQ_ERR(agent_http_request(t.h, &rq, on_done, &r, NULL), WARD_EINVAL);
    rq.url = "https://127.0.0.1:1/json";
    rq.headers = crlf;
    WT_EQ_ERR(agent_http_request(t.h, &rq, on_done, &r, NULL), WARD_EINVAL);
    rq.headers = noname;
    WT_EQ_ERR(agent_http_request(t.h, &rq, on_done, &r, NULL), WARD_EINVAL);
    rq.headers = NULL;
    rq.method = "get me";
    WT_EQ_ERR(agent_http_request(t.h, &rq, on_done, &r, NULL), WARD_EINVAL);
    rq.method = "GET";
    rq.body = "x";
    rq.body_len = 1;
    WT_EQ_ERR(agent_http_request(t.h, &rq, on_done, &r, NULL), WARD_EINVAL);
    WT_EQ_ERR(agent_http_request(t.h, &rq, NULL, &r, NULL), WARD_EINVAL);
    t_sleep(&t, 100);
    WT_EQ_INT(r.calls, 0);
    agent_http_close(t.h, on_closed, &t);
    /* A closing client takes no new work. */
    rq.method = NULL;
    rq.body = NULL;
    rq.body_len = 0;
    WT_EQ_ERR(agent_http_request(t.h, &rq, on_done, &r, NULL), WARD_ESTATE);
    t.h = NULL;
    t_close(&t);
    WT_EQ_INT(r.calls, 0);
}

WT_TEST(bad_options)
{
    struct agent_http_opts o = base_opts();
    struct agent_http *h = (struct agent_http *)&o;
    uv_loop_t loop;
    WT_EQ_INT(uv_loop_init(&loop), 0);
    o.ca_file = NULL; /* no trust anchor: refused, never "trust the system" */
    WT_EQ_ERR(agent_http_new(&loop, &o, &h), WARD_EINVAL);
    WT_ASSERT(h == NULL);
    o = base_opts();
    o.client_cert_file = pki("client.pem"); /* certificate without key */
    WT_EQ_ERR(agent_http_new(&loop, &o, &h), WARD_EINVAL);
    o = base_opts();
    o.proxy = "socks5://127.0.0.1:1080";
    WT_EQ_ERR(agent_http_new(&loop, &o, &h), WARD_ECONFIG);
    WT_EQ_INT(uv_loop_close(&loop), 0);
    agent_http_close(NULL, NULL, NULL);
    agent_http_cancel(NULL);
}

struct log_capture {
    struct ward_buf all;
};

static void capture_log(int level, const char *tag, int err, const char *msg, void *ctx)
{
    struct log_capture *c = ctx;
    (void)level;
    (void)err;
    ward_buf_appendf(&c->all, "%s: %s\n", tag, msg);
}

WT_TEST(secrets_never_logged)
{
    struct peer p, px;
    struct agent_http_opts o;
    struct res r = {0};
    struct agent_http_request rq;
    struct log_capture cap;
    const char *hdrs[] = {"Authorization: Bearer tok-SECRET-1234", NULL};
    char proxy[96];
    struct t t;
    start_https(&p, "server", 0);
    start_proxy(&px, "agent", "pw-SECRET-5678");
    ward_buf_init(&cap.all, 1 * MIB);
    ward_log_set_level(WARD_LOG_TRACE);
    ward_log_set_hook(capture_log, &cap);
    snprintf(proxy, sizeof(proxy), "http://agent:pw-SECRET-5678@127.0.0.1:%d", px.port);
    o = base_opts();
    o.proxy = proxy;
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = url(p.port, "/echo");
    rq.headers = hdrs;
    rq.body = "body-SECRET-9999";
    rq.body_len = strlen(rq.body);
    fetch_req(&t, &rq, &r);
    WT_OK(r.err);
    t_close(&t);
    ward_log_set_hook(NULL, NULL);
    /* Something was logged (the proxy, the request), but none of the secrets. */
    WT_CONTAINS(cap.all.data, "agent:***@127.0.0.1");
    WT_CONTAINS(cap.all.data, "/echo");
    WT_ASSERT(strstr(cap.all.data, "SECRET") == NULL);
    ward_buf_release(&cap.all);
    res_free(&r);
    peer_stop(&px);
    peer_stop(&p);
}

static void count_done(struct agent_http_response *resp, void *ctx)
{
    int *ok = ctx;
    if (resp->err == 0 && resp->status == 200 && resp->body.len == 12)
        ok[0]++;
    ok[1]++;
}

WT_TEST(concurrent_requests)
{
    struct peer p;
    struct agent_http_opts o;
    struct agent_http_request rq;
    struct agent_http_stats st;
    struct t t;
    int counts[2] = {0, 0}; /* successes, callbacks */
    uint64_t start;
    start_https(&p, "server", 0);
    o = base_opts();
    t_open(&t, &o);
    memset(&rq, 0, sizeof(rq));
    rq.url = url(p.port, "/json");
    for (int i = 0; i < 24; i++)
        WT_OK(agent_http_request(t.h, &rq, count_done, counts, NULL));
    agent_http_get_stats(t.h, &st);
    WT_EQ_INT(st.in_flight, 24);
    uv_update_time(&t.loop);
    start = uv_now(&t.loop);
    while (counts[1] < 24 && uv_now(&t.loop) - start < 30000)
        uv_run(&t.loop, UV_RUN_ONCE);
    WT_EQ_INT(counts[1], 24);
    WT_EQ_INT(counts[0], 24);
    agent_http_get_stats(t.h, &st);
    WT_EQ_INT(st.requests, 24);
    WT_EQ_INT(st.in_flight, 0);
    t_close(&t);
    peer_stop(&p);
}

static void never_called(struct agent_http_response *resp, void *ctx)
{
    int *calls = ctx;
    (void)resp;
    (*calls)++;
}

/* Every allocation of ours that fails on the way to a started request gives WARD_ENOMEM, no
 * callback and no leak (the ASan build checks the leaks). */
WT_TEST(allocation_failure_sweep)
{
    struct agent_http_opts o = base_opts();
    struct agent_http_request rq;
    const char *hdrs[] = {"X-Test: 1", NULL};
    size_t len;
    char *pem = slurp(pki("ca.pem"), &len);
    int completed = 0;
    long n;
    o.ca_file = NULL;
    o.ca_pem = pem;
    o.ca_pem_len = len;
    o.extra_ca_file = pki("wrongca.pem");
    o.proxy = "http://user:pw@127.0.0.1:1";
    o.no_proxy = "example.com";
    memset(&rq, 0, sizeof(rq));
    rq.method = "POST";
    rq.url = "https://127.0.0.1:1/x";
    rq.headers = hdrs;
    rq.body = "payload payload payload";
    rq.body_len = strlen(rq.body);
    rq.gzip_body = 1;
    for (n = 0; !completed; n++) {
        struct t t;
        int calls = 0, rc;
        WT_ASSERT(n < 1000);
        memset(&t, 0, sizeof(t));
        WT_EQ_INT(uv_loop_init(&t.loop), 0);
        WT_EQ_INT(uv_timer_init(&t.loop, &t.tick), 0);
        ward_alloc_fail_after(n, 1);
        rc = agent_http_new(&t.loop, &o, &t.h);
        WT_ASSERT(rc == 0 || t.h == NULL);
        if (rc == 0) {
            rc = agent_http_request(t.h, &rq, never_called, &calls, NULL);
            completed = ward_alloc_failed() == 0;
        }
        ward_alloc_fail_reset();
        if (rc != 0) {
            WT_EQ_ERR(rc, WARD_ENOMEM);
            WT_EQ_INT(calls, 0);
        }
        /* A started request is canceled by the close: exactly one callback. */
        if (t.h)
            agent_http_close(t.h, on_closed, &t);
        uv_close((uv_handle_t *)&t.tick, NULL);
        WT_EQ_INT(uv_run(&t.loop, UV_RUN_DEFAULT), 0);
        WT_EQ_INT(uv_loop_close(&t.loop), 0);
        WT_EQ_INT(calls, rc == 0 ? 1 : 0);
    }
    fprintf(stderr, "allocation points swept: %ld\n", n - 1);
    WT_ASSERT(n > 10); /* the sweep really went through the client's allocations */
    free(pem);
}

/* ---- enrollment discovery (discover_ca_pin; agent/src/enroll.c uses it) ---------------- */

/* A peer certificate file holding `leaf` followed by `ca` (as ward-server's server.pem),
 * served under the name "<name>". */
static void make_chain(const char *name, const char *leaf, const char *ca)
{
    char rel[64], src[64];
    size_t l1, l2, lk;
    char *a, *b, *k, *both;
    snprintf(src, sizeof(src), "%s.pem", leaf);
    a = slurp(pki(src), &l1);
    snprintf(src, sizeof(src), "%s.pem", ca);
    b = slurp(pki(src), &l2);
    snprintf(src, sizeof(src), "%s.key", leaf);
    k = slurp(pki(src), &lk);
    both = malloc(l1 + l2 + 1);
    WT_ASSERT(both != NULL);
    memcpy(both, a, l1);
    memcpy(both + l1, b, l2);
    snprintf(rel, sizeof(rel), "pki/%s.pem", name);
    wt_write_file(rel, both, l1 + l2);
    snprintf(rel, sizeof(rel), "pki/%s.key", name);
    wt_write_file(rel, k, lk);
    free(a);
    free(b);
    free(k);
    free(both);
}

static void pin_of(const char *pem_file, char out[WARD_PIN_SIZE])
{
    size_t n;
    char *pem = slurp(pki(pem_file), &n);
    X509 *x = NULL;
    WT_OK(ward_x509_parse(pem, n, &x));
    WT_OK(ward_pin_from_cert(x, out));
    X509_free(x);
    free(pem);
}

static char discovered[8192];

static void on_discover_done(struct agent_http_response *resp, void *ctx)
{
    snprintf(discovered, sizeof(discovered), "%s",
             resp->discovered_ca_pem ? resp->discovered_ca_pem : "");
    on_done(resp, ctx);
}

static int discover_once(const char *peer_cert, const char *pin, struct res *r)
{
    struct peer p;
    struct agent_http_opts o;
    struct agent_http_request rq;
    struct t t;
    start_https(&p, peer_cert, 0);
    memset(&o, 0, sizeof(o));
    o.discover_ca_pin = pin;
    o.proxy = "";
    o.connect_timeout_ms = 5000;
    o.timeout_ms = 30000;
    memset(&rq, 0, sizeof(rq));
    rq.url = url(p.port, "/json");
    discovered[0] = '\0';
    t_open(&t, &o);
    WT_OK(agent_http_request(t.h, &rq, on_discover_done, r, NULL));
    t_wait(&t, r, 1);
    t_close(&t);
    peer_stop(&p);
    return r->err;
}

WT_TEST(discover_pinned_ca)
{
    struct res r = {0};
    char pin[WARD_PIN_SIZE], got[WARD_PIN_SIZE];
    X509 *x = NULL;
    pin_of("ca.pem", pin);
    make_chain("chain", "server", "ca");
    WT_OK(discover_once("chain", pin, &r));
    WT_EQ_INT(r.status, 200);
    /* The CA found is handed back. */
    WT_OK(ward_x509_parse(discovered, strlen(discovered), &x));
    WT_OK(ward_pin_from_cert(x, got));
    WT_EQ_STR(got, pin);
    X509_free(x);
    res_free(&r);
}

WT_TEST(discover_wrong_pin_fails_handshake)
{
    struct res r = {0};
    char pin[WARD_PIN_SIZE];
    pin_of("wrongca.pem", pin);
    make_chain("chain", "server", "ca");
    WT_EQ_ERR(discover_once("chain", pin, &r), WARD_EPIN);
    WT_EQ_INT(r.status, 0); /* no HTTP exchange at all */
    WT_EQ_STR(discovered, "");
    WT_CONTAINS(r.detail, "pinned CA");
    res_free(&r);
    /* A server that sends no CA certificate cannot be matched either. */
    pin_of("ca.pem", pin);
    WT_EQ_ERR(discover_once("server", pin, &r), WARD_EPIN);
    res_free(&r);
}

WT_TEST(discover_rejects_leaf_not_issued_by_pinned_ca)
{
    struct res r = {0};
    char pin[WARD_PIN_SIZE];
    /* An impostor sends the genuine CA certificate along with its own leaf. */
    pin_of("ca.pem", pin);
    make_chain("impostor", "wrong-server", "ca");
    WT_EQ_ERR(discover_once("impostor", pin, &r), WARD_ETLS);
    WT_EQ_INT(r.status, 0);
    res_free(&r);
    /* Issued by the pinned CA, but for another host name. */
    make_chain("otherchain", "other", "ca");
    WT_EQ_ERR(discover_once("otherchain", pin, &r), WARD_ETLS);
    WT_EQ_INT(r.status, 0);
    res_free(&r);
}

WT_TEST(discover_option_validation)
{
    uv_loop_t loop;
    struct agent_http *h = NULL;
    struct agent_http_opts o;
    char pin[WARD_PIN_SIZE];
    pin_of("ca.pem", pin);
    WT_EQ_INT(uv_loop_init(&loop), 0);
    memset(&o, 0, sizeof(o));
    o.discover_ca_pin = "sha256:nothex";
    WT_EQ_ERR(agent_http_new(&loop, &o, &h), WARD_EINVAL);
    o.discover_ca_pin = pin;
    o.ca_file = pki("ca.pem"); /* discovery and a fixed anchor exclude each other */
    WT_EQ_ERR(agent_http_new(&loop, &o, &h), WARD_EINVAL);
    WT_ASSERT(h == NULL);
    WT_EQ_INT(uv_loop_close(&loop), 0);
}
/* ---- end enrollment discovery --------------------------------------------------------- */

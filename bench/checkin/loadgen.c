/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Load generator for the check-in benchmark (bench/checkin/run drives it). One thread, one
 * epoll loop, C non-blocking TLS connections (OpenSSL on the socket), so it spends its CPU
 * on TLS and not on scheduling. It talks to ward-server on 127.0.0.1 only.
 *
 *   loadgen --port P --dir D enroll --token ward1... --n N [--conc C]
 *       enrolls N simulated devices (P-256 key + CSR each, POST /api/v1/enroll) and keeps
 *       their certificates and keys in D/devices.pem, the CA in D/ca.pem, and device 0 as
 *       D/dev0.pem + D/dev0.key for curl.
 *   loadgen --port P --dir D [--server-pid PID] checkin [--phases full,keepalive,resume]
 *           [--conc C] [--duration S] [--reps R] [--n N]
 *       check-ins with each device's own certificate: "full" opens a connection per
 *       check-in (full handshake, no resumption); "keepalive" keeps C connections (their
 *       devices spread over the whole table) and sends check-ins back to back; "resume"
 *       opens a connection per check-in and resumes the device's TLS session (cycling over
 *       the devices that got one in an earlier phase, so that nearly every handshake
 *       resumes). One "result" line per phase and repetition, then one "median" line per
 *       phase (the median of each figure over the repetitions).
 *   loadgen cpu-of --runs R -- CMD ARGS...
 *       runs CMD R times (fork/exec, stdout and stderr to /dev/null) and prints the median
 *       CPU (user + system, from wait4) and wall time per run; any failed run is an error.
 *
 * The generator does not verify the server certificate (that is the agent's cost, which
 * the run script measures separately): it would only take CPU away from the server.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"

#define LG_HOST "127.0.0.1" /* loopback only, never configurable */
#define LG_INBUF 65536
#define LG_OUTBUF 8192
#define LG_MAX_PHASES 8
#define LG_MAX_REPS 16
#define LG_GRACE_NS (15ULL * 1000000000ULL) /* in-flight requests after the deadline */

enum mode { MODE_ENROLL, MODE_FULL, MODE_KEEPALIVE, MODE_RESUME };

enum cstate { ST_CONNECT, ST_HANDSHAKE, ST_SEND, ST_RECV, ST_DRAIN };

struct device {
    X509 *cert;
    EVP_PKEY *key;
    SSL_SESSION *sess; /* latest session ticket, for the resume phase */
    char id[64];
};

struct conn {
    int fd;
    SSL *ssl;
    enum cstate st;
    size_t dev;
    uint32_t events; /* registered epoll events, 0 = not registered */
    uint64_t t0;     /* start of the current request (ns) */
    size_t outlen, outoff;
    size_t inlen, need;
    int active;
    char out[LG_OUTBUF];
    char in[LG_INBUF];
};

struct lat {
    uint32_t *us;
    size_t n, cap;
};

struct result {
    double secs, rate, p50_ms, p99_ms, srv_cpu_s, srv_ms_per, gen_ms_per, resumed_pct;
    uint64_t ok, errors, handshakes, resumed;
    long srv_hwm_kib, srv_rss_kib;
};

static struct {
    int port;
    const char *dir;
    long server_pid;
    SSL_CTX *ctx;
    int ep;
    enum mode mode;
    struct device *devs;
    size_t ndev, devcap;
    size_t next_dev;
    size_t *with_sess; /* devices holding a session, in the order they got one */
    size_t nsess, next_sess;
    struct conn *conns;
    size_t nconn;
    size_t active;
    int stopping;
    uint64_t deadline;
    uint64_t ok, errors, handshakes, resumed;
    struct lat lat;
    /* enrollment */
    const char *token_secret;
    size_t enroll_target, enroll_started;
    char *ca_pem;
    char last_error[256];
} g;

/* ---- small helpers ------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static double rusage_self_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void note_error(const char *what)
{
    g.errors++;
    if (!g.last_error[0])
        snprintf(g.last_error, sizeof(g.last_error), "%s", what);
}

static void die(const char *what)
{
    fprintf(stderr, "loadgen: %s\n", what);
    ERR_print_errors_fp(stderr);
    exit(1);
}

/* CPU seconds (utime + stime) of a process from /proc/PID/stat; -1 when unknown. */
static double proc_cpu_s(long pid)
{
    char path[64], buf[1024];
    FILE *f;
    size_t n;
    const char *p;
    unsigned long ut = 0, st = 0;
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Fields after the command name, which is in parentheses and may contain spaces. */
    if (!(p = strrchr(buf, ')')))
        return -1;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* A "Name:   123 kB" line of /proc/PID/status, in KiB; -1 when unknown. */
static long proc_status_kib(long pid, const char *name)
{
    char path[64], line[256];
    size_t nl = strlen(name);
    long v = -1;
    FILE *f;
    if (pid <= 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    if (!(f = fopen(path, "r")))
        return -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, name, nl) == 0 && line[nl] == ':') {
            v = strtol(line + nl + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return v;
}

static void lat_add(uint64_t ns)
{
    uint64_t us = ns / 1000;
    if (g.lat.n == g.lat.cap) {
        size_t cap = g.lat.cap ? g.lat.cap * 2 : 1 << 16;
        uint32_t *p = ward_realloc(g.lat.us, cap * sizeof(*p));
        if (!p)
            die("out of memory");
        g.lat.us = p;
        g.lat.cap = cap;
    }
    g.lat.us[g.lat.n++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (cap - n < 65536) {
            char *p = ward_realloc(buf, cap + (1 << 20));
            if (!p) {
                ward_free(buf);
                fclose(f);
                return NULL;
            }
            buf = p;
            cap += 1 << 20;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0)
            break;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static int write_text(const char *name, const char *text, size_t len, int secret)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", g.dir, name);
    if (secret)
        return ward_secfile_write(path, text, len);
    if (!(f = fopen(path, "wb")))
        return -1;
    if (fwrite(text, 1, len, f) != len) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- devices file ----------------------------------------------------------------------- */

static void devs_reserve(size_t n)
{
    if (n <= g.devcap)
        return;
    struct device *p = ward_realloc(g.devs, n * sizeof(*p));
    if (!p)
        die("out of memory");
    memset(p + g.devcap, 0, (n - g.devcap) * sizeof(*p));
    g.devs = p;
    g.devcap = n;
}

/* D/devices.pem: certificate then private key for each device, in enrollment order. */
static void devices_save(void)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *data;
    long len;
    if (!b)
        die("out of memory");
    for (size_t i = 0; i < g.ndev; i++)
        if (!PEM_write_bio_X509(b, g.devs[i].cert) ||
            !PEM_write_bio_PrivateKey(b, g.devs[i].key, NULL, NULL, 0, NULL, NULL))
            die("writing devices.pem");
    len = BIO_get_mem_data(b, &data);
    if (write_text("devices.pem", data, (size_t)len, 1) != 0)
        die("cannot write devices.pem");
    BIO_free(b);

    /* Device 0 for curl and the in-agent driver. */
    if (g.ndev > 0) {
        BIO *c = BIO_new(BIO_s_mem()), *k = BIO_new(BIO_s_mem());
        if (!c || !k || !PEM_write_bio_X509(c, g.devs[0].cert) ||
            !PEM_write_bio_PrivateKey(k, g.devs[0].key, NULL, NULL, 0, NULL, NULL))
            die("writing device 0");
        len = BIO_get_mem_data(c, &data);
        if (write_text("dev0.pem", data, (size_t)len, 0) != 0)
            die("cannot write dev0.pem");
        len = BIO_get_mem_data(k, &data);
        if (write_text("dev0.key", data, (size_t)len, 1) != 0)
            die("cannot write dev0.key");
        BIO_free(c);
        BIO_free(k);
    }
}

static void devices_load(size_t want)
{
    char path[4096];
    size_t len = 0;
    char *text;
    BIO *b;
    snprintf(path, sizeof(path), "%s/devices.pem", g.dir);
    if (!(text = read_file(path, &len)))
        die("cannot read devices.pem (run enroll first)");
    if (!(b = BIO_new_mem_buf(text, (int)len)))
        die("out of memory");
    for (;;) {
        X509 *cert;
        EVP_PKEY *key;
        char *cn = NULL;
        if (want && g.ndev >= want)
            break;
        if (!(cert = PEM_read_bio_X509(b, NULL, NULL, NULL)))
            break;
        if (!(key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)))
            die("devices.pem: certificate without a key");
        devs_reserve(g.ndev + 1 > g.devcap ? g.devcap * 2 + 1024 : g.devcap);
        g.devs[g.ndev].cert = cert;
        g.devs[g.ndev].key = key;
        if (ward_x509_subject_cn(cert, &cn) == 0) {
            snprintf(g.devs[g.ndev].id, sizeof(g.devs[g.ndev].id), "%s", cn);
            ward_free(cn);
        }
        g.ndev++;
    }
    ERR_clear_error();
    BIO_free(b);
    ward_free(text);
    if (g.ndev == 0 || (want && g.ndev < want)) {
        fprintf(stderr, "loadgen: devices.pem holds %zu devices, %zu wanted\n", g.ndev, want);
        exit(1);
    }
}

/* ---- TLS ----------------------------------------------------------------------------- */

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    struct conn *c = SSL_get_app_data(ssl);
    struct device *d;
    if (!c || g.mode == MODE_ENROLL)
        return 0;
    d = &g.devs[c->dev];
    if (d->sess)
        SSL_SESSION_free(d->sess);
    else
        g.with_sess[g.nsess++] = c->dev;
    d->sess = sess;
    return 1; /* we keep the reference */
}

static void tls_init(void)
{
    static const unsigned char alpn[] = "\x08http/1.1";
    if (!(g.ctx = SSL_CTX_new(TLS_client_method())))
        die("SSL_CTX_new");
    SSL_CTX_set_min_proto_version(g.ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(g.ctx, SSL_VERIFY_NONE, NULL);
    SSL_CTX_set_options(g.ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_alpn_protos(g.ctx, alpn, sizeof(alpn) - 1);
    SSL_CTX_set_session_cache_mode(g.ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(g.ctx, new_session_cb);
}

/* ---- requests ------------------------------------------------------------------------ */

static const char *iso_not_after(const struct device *d, char *buf, size_t len)
{
    const ASN1_TIME *t = X509_get0_notAfter(d->cert);
    struct tm tm;
    if (!t || !ASN1_TIME_to_tm(t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, len, "2099-01-01T00:00:00Z");
    return buf;
}

static void build_checkin(struct conn *c)
{
    const struct device *d = &g.devs[c->dev];
    char body[512], na[32];
    int blen = snprintf(body, sizeof(body),
                        "{\"agent_version\":\"0.1.0\",\"hostname\":\"bench-%06zu\","
                        "\"seq_high\":0,\"cert_not_after\":\"%s\",\"uptime\":%llu,"
                        "\"outbox\":{\"pending\":0,\"dropped\":{\"telemetry\":0,"
                        "\"results\":0}}}",
                        c->dev, iso_not_after(d, na, sizeof(na)),
                        (unsigned long long)(now_ns() / 1000000000ULL));
    int n = snprintf(c->out, sizeof(c->out),
                     "POST /api/v1/checkin HTTP/1.1\r\nHost: " LG_HOST ":%d\r\n"
                     "User-Agent: ward-bench/0.1\r\nAccept: application/json\r\n"
                     "Content-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s",
                     g.port, blen, g.mode == MODE_KEEPALIVE ? "" : "Connection: close\r\n", body);
    c->outlen = (size_t)n;
    c->outoff = 0;
}

/* A fresh key and CSR for device c->dev, and the enrollment request. */
static int build_enroll(struct conn *c)
{
    struct device *d = &g.devs[c->dev];
    char *csr = NULL, *body = NULL, host[32], mid[40];
    json_t *j;
    int n;
    if (ward_key_generate_p256(&d->key) != 0 ||
        ward_csr_create(d->key, "bench", NULL, 0, &csr, NULL) != 0)
        return -1;
    snprintf(host, sizeof(host), "bench-%06zu", c->dev);
    snprintf(mid, sizeof(mid), "%032zx", c->dev + 0xbe0000);
    j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "token", g.token_secret, "csr", csr, "hostname",
                  host, "machine_id", mid, "os", "Debian GNU/Linux 12 (bench)", "agent_version",
                  "0.1.0");
    ward_free(csr);
    if (!j || !(body = json_dumps(j, JSON_COMPACT))) {
        json_decref(j);
        return -1;
    }
    json_decref(j);
    n = snprintf(c->out, sizeof(c->out),
                 "POST /api/v1/enroll HTTP/1.1\r\nHost: " LG_HOST ":%d\r\n"
                 "User-Agent: ward-bench/0.1\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 g.port, strlen(body), body);
    ward_free(body); /* jansson allocates through ward_malloc (ward_json_init) */
    if (n < 0 || (size_t)n >= sizeof(c->out))
        return -1;
    c->outlen = (size_t)n;
    c->outoff = 0;
    return 0;
}

static void enroll_done(struct conn *c, const char *body, size_t len)
{
    struct device *d = &g.devs[c->dev];
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "device_id"));
    const char *cert = json_string_value(json_object_get(j, "certificate"));
    const char *ca = json_string_value(json_object_get(j, "ca"));
    if (!id || !cert || !ca || ward_x509_parse(cert, strlen(cert), &d->cert) != 0) {
        note_error("enroll: bad 201 body");
        json_decref(j);
        return;
    }
    snprintf(d->id, sizeof(d->id), "%s", id);
    if (!g.ca_pem)
        g.ca_pem = ward_strdup(ca);
    g.ok++;
    json_decref(j);
}

/* ---- connection state machine -------------------------------------------------------- */

static void conn_watch(struct conn *c, uint32_t ev)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (c->events == ev)
        return;
    if (epoll_ctl(g.ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &e) != 0)
        die("epoll_ctl");
    c->events = ev;
}

static void conn_close(struct conn *c)
{
    if (c->ssl)
        SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0)
        close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->events = 0;
    if (c->active) {
        c->active = 0;
        g.active--;
    }
}

static int want_more(void)
{
    if (g.stopping)
        return 0;
    if (g.mode == MODE_ENROLL)
        return g.enroll_started < g.enroll_target;
    if (now_ns() >= g.deadline) {
        g.stopping = 1;
        return 0;
    }
    return 1;
}

static void conn_start(struct conn *c);

/* Waits for what OpenSSL wants; returns 1 when the call must be retried later, 0 on error. */
static int ssl_wait(struct conn *c, int r, const char *what)
{
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
        conn_watch(c, EPOLLIN);
        return 1;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        conn_watch(c, EPOLLOUT);
        return 1;
    }
    char msg[200];
    unsigned long oe = ERR_peek_error();
    snprintf(msg, sizeof(msg), "%s: ssl error %d (%s)", what, e,
             oe ? ERR_reason_error_string(oe) : strerror(errno));
    note_error(msg);
    return 0;
}

static void fail(struct conn *c)
{
    int refused = c->st == ST_CONNECT;
    conn_close(c);
    /* A refused connection leaves its slot idle: no busy loop against a server that is
     * gone; the phase ends once every slot is idle. */
    if (!refused && want_more())
        conn_start(c);
}

/* Once a whole response is in c->in: its status, and where its body starts. */
static int response_complete(struct conn *c, int *status, size_t *body_off)
{
    char *hdr_end, *p;
    size_t hlen, clen = 0;
    c->in[c->inlen] = 0;
    if (!(hdr_end = strstr(c->in, "\r\n\r\n")))
        return 0;
    hlen = (size_t)(hdr_end - c->in) + 4;
    if (!c->need) {
        for (p = strstr(c->in, "\r\n"); p && p < hdr_end; p = strstr(p + 2, "\r\n")) {
            if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
                clen = strtoul(p + 17, NULL, 10);
        }
        c->need = hlen + clen;
    }
    if (c->inlen < c->need)
        return 0;
    *status = (int)strtol(c->in + 9, NULL, 10);
    *body_off = hlen;
    return 1;
}

static void request_start(struct conn *c)
{
    if (g.mode == MODE_ENROLL) {
        if (build_enroll(c) != 0)
            die("cannot build an enrollment request");
    } else {
        build_checkin(c);
    }
    c->inlen = 0;
    c->need = 0;
    c->st = ST_SEND;
}

static void conn_step(struct conn *c)
{
    for (;;) {
        int r;
        ERR_clear_error();
        switch (c->st) {
        case ST_CONNECT: {
            int err = 0;
            socklen_t el = sizeof(err);
            if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
                note_error("connect failed");
                fail(c);
                return;
            }
            c->st = ST_HANDSHAKE;
            break;
        }
        case ST_HANDSHAKE:
            r = SSL_connect(c->ssl);
            if (r != 1) {
                if (!ssl_wait(c, r, "handshake"))
                    fail(c);
                return;
            }
            g.handshakes++;
            if (SSL_session_reused(c->ssl))
                g.resumed++;
            c->st = ST_SEND;
            break;
        case ST_SEND:
            r = SSL_write(c->ssl, c->out + c->outoff, (int)(c->outlen - c->outoff));
            if (r <= 0) {
                if (!ssl_wait(c, r, "write"))
                    fail(c);
                return;
            }
            c->outoff += (size_t)r;
            if (c->outoff == c->outlen)
                c->st = ST_RECV;
            break;
        case ST_RECV: {
            int status = 0;
            size_t off = 0;
            if (c->inlen >= sizeof(c->in) - 1) {
                note_error("response too large");
                fail(c);
                return;
            }
            r = SSL_read(c->ssl, c->in + c->inlen, (int)(sizeof(c->in) - 1 - c->inlen));
            if (r <= 0) {
                if (!ssl_wait(c, r, "read"))
                    fail(c);
                return;
            }
            c->inlen += (size_t)r;
            if (!response_complete(c, &status, &off))
                break;
            if (g.mode == MODE_ENROLL) {
                if (status == 201)
                    enroll_done(c, c->in + off, c->need - off);
                else {
                    char msg[200];
                    snprintf(msg, sizeof(msg), "enroll: status %d: %.120s", status, c->in + off);
                    note_error(msg);
                }
            } else if (status == 200) {
                g.ok++;
                lat_add(now_ns() - c->t0);
            } else {
                char msg[200];
                snprintf(msg, sizeof(msg), "check-in: status %d: %.120s", status, c->in + off);
                note_error(msg);
            }
            if (g.mode == MODE_KEEPALIVE && status == 200) {
                if (want_more()) {
                    c->t0 = now_ns();
                    request_start(c);
                    break;
                }
                SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
                conn_close(c); /* the phase is over */
                return;
            }
            c->st = ST_DRAIN; /* the server closes after Connection: close */
            break;
        }
        case ST_DRAIN: {
            char tmp[512];
            r = SSL_read(c->ssl, tmp, sizeof(tmp));
            if (r > 0)
                break;
            int e = SSL_get_error(c->ssl, r);
            if (e == SSL_ERROR_WANT_READ) {
                conn_watch(c, EPOLLIN);
                return;
            }
            if (e == SSL_ERROR_WANT_WRITE) {
                conn_watch(c, EPOLLOUT);
                return;
            }
            /* EOF or close_notify: a clean end. Without marking the shutdown done, SSL_free
             * would take the session for a broken one and make it unresumable. */
            SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
            conn_close(c);
            if (want_more())
                conn_start(c);
            return;
        }
        }
    }
}

static void conn_start(struct conn *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port)};
    int one = 1;
    struct device *d;

    inet_pton(AF_INET, LG_HOST, &sa.sin_addr);
    if (g.mode == MODE_ENROLL)
        c->dev = g.enroll_started++;
    else if (g.mode == MODE_RESUME && g.nsess > 0)
        c->dev = g.with_sess[g.next_sess++ % g.nsess]; /* devices that have a session */
    else if (g.mode == MODE_KEEPALIVE)
        /* Spread over the whole device table, so that a cost that depends on where the
         * device sits in the server's database shows its average, not the phase order. */
        c->dev = ((size_t)(c - g.conns) * g.ndev / g.nconn + g.next_dev++) % g.ndev;
    else
        c->dev = g.next_dev++ % g.ndev;
    d = &g.devs[c->dev];
    c->t0 = now_ns();
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        die("socket");
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    c->active = 1;
    g.active++;
    if (!(c->ssl = SSL_new(g.ctx)))
        die("SSL_new");
    SSL_set_app_data(c->ssl, c);
    if (g.mode != MODE_ENROLL) {
        if (SSL_use_certificate(c->ssl, d->cert) != 1 || SSL_use_PrivateKey(c->ssl, d->key) != 1)
            die("device certificate/key");
        if (g.mode == MODE_RESUME && d->sess)
            SSL_set_session(c->ssl, d->sess);
    }
    SSL_set_fd(c->ssl, c->fd);
    request_start(c);
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
        char msg[128];
        snprintf(msg, sizeof(msg), "connect: %s", strerror(errno));
        note_error(msg);
        conn_close(c);
        return; /* do not spin: this slot stays idle (ports exhausted, server gone) */
    }
    c->st = ST_CONNECT;
    conn_watch(c, EPOLLOUT);
}

static void run_loop(size_t conc)
{
    struct epoll_event evs[256];
    uint64_t hard_end = 0;
    g.conns = ward_calloc(conc, sizeof(*g.conns));
    if (!g.conns)
        die("out of memory");
    g.nconn = conc;
    g.stopping = 0;
    g.active = 0;
    for (size_t i = 0; i < conc; i++) {
        g.conns[i].fd = -1;
        if (want_more())
            conn_start(&g.conns[i]);
    }
    while (g.active > 0) {
        int n = epoll_wait(g.ep, evs, 256, 200);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (c->active)
                conn_step(c);
        }
        if (g.mode != MODE_ENROLL)
            want_more(); /* sets stopping at the deadline even when nothing completes */
        if (g.stopping && !hard_end)
            hard_end = now_ns() + LG_GRACE_NS;
        if (hard_end && now_ns() > hard_end) {
            for (size_t i = 0; i < conc; i++)
                if (g.conns[i].active) {
                    note_error("request still in flight after the grace period");
                    conn_close(&g.conns[i]);
                }
        }
    }
    ward_free(g.conns);
    g.conns = NULL;
}

/* ---- enroll -------------------------------------------------------------------------- */

/* The "<id>.<secret>" part of a ward1.<base64url(JSON)> token. */
static char *token_secret(const char *token)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    json_t *j;
    char *s = NULL;
    if (strncmp(token, "ward1.", 6) != 0 ||
        ward_base64_decode(token + 6, strlen(token + 6), WARD_BASE64_URL, &raw, &rawlen) != 0)
        return NULL;
    j = json_loadb((const char *)raw, rawlen, 0, NULL);
    ward_free(raw);
    if (json_is_string(json_object_get(j, "secret")))
        s = ward_strdup(json_string_value(json_object_get(j, "secret")));
    json_decref(j);
    return s;
}

static int cmd_enroll(const char *token, size_t n, size_t conc)
{
    uint64_t t0;
    double secs, c0, s0;
    char *secret = token_secret(token);
    if (!secret)
        die("not a ward1 enrollment token");
    g.token_secret = secret;
    g.mode = MODE_ENROLL;
    devs_reserve(n);
    g.enroll_target = n;
    s0 = proc_cpu_s(g.server_pid);
    c0 = rusage_self_s();
    t0 = now_ns();
    run_loop(conc < n ? conc : n);
    secs = (double)(now_ns() - t0) / 1e9;
    if (g.ok != n) {
        fprintf(stderr, "loadgen: %llu of %zu enrollments succeeded; first error: %s\n",
                (unsigned long long)g.ok, n, g.last_error);
        return 1;
    }
    g.ndev = n;
    devices_save();
    if (write_text("ca.pem", g.ca_pem, strlen(g.ca_pem), 0) != 0)
        die("cannot write ca.pem");
    printf("enroll devices=%zu secs=%.2f rate=%.1f srv_cpu_s=%.3f gen_cpu_s=%.3f "
           "srv_hwm_kib=%ld srv_rss_kib=%ld\n",
           n, secs, (double)n / secs, g.server_pid > 0 ? proc_cpu_s(g.server_pid) - s0 : -1.0,
           rusage_self_s() - c0, proc_status_kib(g.server_pid, "VmHWM"),
           proc_status_kib(g.server_pid, "VmRSS"));
    ward_free(secret);
    return 0;
}

/* ---- check-in phases ----------------------------------------------------------------- */

static const char *mode_name(enum mode m)
{
    return m == MODE_FULL ? "full" : m == MODE_KEEPALIVE ? "keepalive" : "resume";
}

static struct result run_phase(enum mode m, size_t conc, double duration)
{
    struct result r = {0};
    double s0 = proc_cpu_s(g.server_pid), c0 = rusage_self_s();
    uint64_t t0 = now_ns();
    g.mode = m;
    g.ok = g.errors = g.handshakes = g.resumed = 0;
    g.lat.n = 0;
    g.last_error[0] = 0;
    g.deadline = t0 + (uint64_t)(duration * 1e9);
    run_loop(conc);
    r.secs = (double)(now_ns() - t0) / 1e9;
    r.ok = g.ok;
    r.errors = g.errors;
    r.handshakes = g.handshakes;
    r.resumed = g.resumed;
    r.rate = (double)g.ok / r.secs;
    if (g.lat.n) {
        qsort(g.lat.us, g.lat.n, sizeof(*g.lat.us), cmp_u32);
        r.p50_ms = g.lat.us[g.lat.n / 2] / 1000.0;
        r.p99_ms = g.lat.us[(g.lat.n * 99) / 100] / 1000.0;
    }
    r.srv_cpu_s = g.server_pid > 0 ? proc_cpu_s(g.server_pid) - s0 : -1;
    r.srv_ms_per = g.ok ? r.srv_cpu_s * 1000.0 / (double)g.ok : 0;
    r.gen_ms_per = g.ok ? (rusage_self_s() - c0) * 1000.0 / (double)g.ok : 0;
    r.resumed_pct = g.handshakes ? 100.0 * (double)g.resumed / (double)g.handshakes : 0;
    r.srv_hwm_kib = proc_status_kib(g.server_pid, "VmHWM");
    r.srv_rss_kib = proc_status_kib(g.server_pid, "VmRSS");
    return r;
}

static void print_result(const char *kind, const char *phase, const struct result *r)
{
    printf("%s phase=%s ok=%llu errors=%llu secs=%.2f rate=%.1f p50_ms=%.3f p99_ms=%.3f "
           "srv_cpu_s=%.3f srv_ms_per=%.4f gen_ms_per=%.4f handshakes=%llu resumed_pct=%.1f "
           "srv_hwm_kib=%ld srv_rss_kib=%ld\n",
           kind, phase, (unsigned long long)r->ok, (unsigned long long)r->errors, r->secs, r->rate,
           r->p50_ms, r->p99_ms, r->srv_cpu_s, r->srv_ms_per, r->gen_ms_per,
           (unsigned long long)r->handshakes, r->resumed_pct, r->srv_hwm_kib, r->srv_rss_kib);
    fflush(stdout);
}

#define MEDIAN_OF(field)                                                                           \
    do {                                                                                           \
        double v[LG_MAX_REPS];                                                                     \
        for (size_t i = 0; i < n; i++)                                                             \
            v[i] = (double)rs[i].field;                                                            \
        qsort(v, n, sizeof(v[0]), cmp_double);                                                     \
        m.field = (n % 2) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;                              \
    } while (0)

static struct result median(const struct result *rs, size_t n)
{
    struct result m = {0};
    MEDIAN_OF(secs);
    MEDIAN_OF(rate);
    MEDIAN_OF(p50_ms);
    MEDIAN_OF(p99_ms);
    MEDIAN_OF(srv_cpu_s);
    MEDIAN_OF(srv_ms_per);
    MEDIAN_OF(gen_ms_per);
    MEDIAN_OF(resumed_pct);
    for (size_t i = 0; i < n; i++) {
        m.ok += rs[i].ok;
        m.errors += rs[i].errors; /* totals, not medians */
        m.handshakes += rs[i].handshakes;
        if (rs[i].srv_hwm_kib > m.srv_hwm_kib)
            m.srv_hwm_kib = rs[i].srv_hwm_kib;
        m.srv_rss_kib = rs[i].srv_rss_kib;
    }
    return m;
}

static int cmd_checkin(const char *phases, size_t conc, double duration, size_t reps, size_t n)
{
    enum mode ms[LG_MAX_PHASES];
    struct result rs[LG_MAX_PHASES][LG_MAX_REPS];
    size_t nm = 0;
    char buf[128], *save = NULL, *tok;
    uint64_t errors = 0;

    snprintf(buf, sizeof(buf), "%s", phases);
    for (tok = strtok_r(buf, ",", &save); tok && nm < LG_MAX_PHASES;
         tok = strtok_r(NULL, ",", &save)) {
        if (strcmp(tok, "full") == 0)
            ms[nm++] = MODE_FULL;
        else if (strcmp(tok, "keepalive") == 0)
            ms[nm++] = MODE_KEEPALIVE;
        else if (strcmp(tok, "resume") == 0)
            ms[nm++] = MODE_RESUME;
        else
            die("unknown phase (full, keepalive, resume)");
    }
    if (reps < 1 || reps > LG_MAX_REPS)
        die("--reps must be 1..16");
    devices_load(n);
    if (!(g.with_sess = ward_calloc(g.ndev, sizeof(*g.with_sess))))
        die("out of memory");
    fprintf(stderr, "loadgen: %zu devices loaded\n", g.ndev);
    for (size_t rep = 0; rep < reps; rep++) {
        for (size_t i = 0; i < nm; i++) {
            rs[i][rep] = run_phase(ms[i], conc, duration);
            print_result("result", mode_name(ms[i]), &rs[i][rep]);
            if (rs[i][rep].errors)
                fprintf(stderr, "loadgen: %s: first error: %s\n", mode_name(ms[i]), g.last_error);
            errors += rs[i][rep].errors;
        }
    }
    for (size_t i = 0; i < nm; i++) {
        struct result m = median(rs[i], reps);
        print_result("median", mode_name(ms[i]), &m);
    }
    return errors ? 2 : 0;
}

/* ---- cpu-of -------------------------------------------------------------------------- */

static int cmd_cpu_of(int runs, char **argv)
{
    double *cpu = ward_calloc((size_t)runs, sizeof(double));
    double *wall = ward_calloc((size_t)runs, sizeof(double));
    if (!cpu || !wall)
        die("out of memory");
    for (int i = 0; i < runs; i++) {
        struct rusage ru;
        int status = 0;
        uint64_t t0 = now_ns();
        pid_t pid = fork();
        if (pid < 0)
            die("fork");
        if (pid == 0) {
            int fd = open("/dev/null", O_RDWR);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
            }
            execvp(argv[0], argv);
            _exit(127);
        }
        if (wait4(pid, &status, 0, &ru) != pid)
            die("wait4");
        wall[i] = (double)(now_ns() - t0) / 1e6;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "loadgen: run %d of %s failed (status %d)\n", i, argv[0], status);
            return 1;
        }
        cpu[i] = ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e3 +
                 ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e3;
    }
    qsort(cpu, (size_t)runs, sizeof(double), cmp_double);
    qsort(wall, (size_t)runs, sizeof(double), cmp_double);
    printf("cpu-of runs=%d cpu_ms=%.3f wall_ms=%.3f cpu_min_ms=%.3f cpu_max_ms=%.3f\n", runs,
           cpu[runs / 2], wall[runs / 2], cpu[0], cpu[runs - 1]);
    ward_free(cpu);
    ward_free(wall);
    return 0;
}

/* ---- main ---------------------------------------------------------------------------- */

static void usage(void)
{
    fprintf(stderr,
            "usage: loadgen --port P --dir D [--server-pid PID] enroll --token T --n N [--conc C]\n"
            "       loadgen --port P --dir D [--server-pid PID] checkin [--phases LIST]\n"
            "               [--conc C] [--duration S] [--reps R] [--n N]\n"
            "       loadgen cpu-of --runs R -- CMD ARGS...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *cmd = NULL, *token = NULL, *phases = "full,keepalive,resume";
    size_t n = 0, conc = 64, reps = 1;
    double duration = 10;
    int runs = 50, i;

    signal(SIGPIPE, SIG_IGN);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-') {
            if (cmd)
                usage();
            cmd = a;
            continue;
        }
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--port") == 0)
            g.port = atoi(v);
        else if (strcmp(a, "--dir") == 0)
            g.dir = v;
        else if (strcmp(a, "--server-pid") == 0)
            g.server_pid = atol(v);
        else if (strcmp(a, "--token") == 0)
            token = v;
        else if (strcmp(a, "--n") == 0)
            n = strtoul(v, NULL, 10);
        else if (strcmp(a, "--conc") == 0)
            conc = strtoul(v, NULL, 10);
        else if (strcmp(a, "--duration") == 0)
            duration = atof(v);
        else if (strcmp(a, "--reps") == 0)
            reps = strtoul(v, NULL, 10);
        else if (strcmp(a, "--phases") == 0)
            phases = v;
        else if (strcmp(a, "--runs") == 0)
            runs = atoi(v);
        else
            usage();
    }
    if (!cmd)
        usage();
    if (strcmp(cmd, "cpu-of") == 0) {
        if (i >= argc || runs < 1)
            usage();
        return cmd_cpu_of(runs, argv + i);
    }
    if (g.port <= 0 || g.port > 65535 || !g.dir || conc < 1 || conc > 4096)
        usage();
    ward_json_init();
    if ((g.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
        die("epoll_create1");
    tls_init();
    if (strcmp(cmd, "enroll") == 0) {
        if (!token || n == 0)
            usage();
        return cmd_enroll(token, n, conc);
    }
    if (strcmp(cmd, "checkin") == 0)
        return cmd_checkin(phases, conc, duration, reps, n);
    usage();
    return 2;
}

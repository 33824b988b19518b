/* SPDX-License-Identifier: Apache-2.0 */
/*
 * In-agent CPU per check-in (bench/checkin/run drives it): M sequential mutual-TLS
 * check-ins from one process, CPU from getrusage(RUSAGE_SELF) around them, after a few
 * warm-up requests. Modes:
 *   keepalive    the agent's HTTP client (agent/http.h), one connection reused
 *   newconn      the agent's HTTP client, "Connection: close" so every check-in opens a new
 *                connection; libcurl keeps TLS sessions per easy handle and the client
 *                makes a new one per request, so nothing is resumed (as the agent is today)
 *   curl-new     plain libcurl with the agent's TLS settings, one easy handle, a new
 *                connection per check-in and its session cache off
 *   curl-resume  the same with curl's session cache on: every connection after the first
 *                resumes (checked with curl's own "re-using session" message first)
 * Prints one line: "agentcpu mode=... n=... cpu_ms=... wall_ms=... connects=... resumed=...".
 * The server is on 127.0.0.1; the CA, certificate and key are PEM files read into memory
 * (the agent holds them in memory too).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>
#include <uv.h>

#include "agent/http.h"
#include "ward/alloc.h"
#include "ward/buf.h"

#define AC_WARMUP 3

static const char body[] =
    "{\"agent_version\":\"0.1.0\",\"hostname\":\"bench-agent\",\"seq_high\":0,"
    "\"cert_not_after\":\"2099-01-01T00:00:00Z\",\"uptime\":12345,"
    "\"outbox\":{\"pending\":0,\"dropped\":{\"telemetry\":0,\"results\":0}}}";

struct pem {
    char *data;
    size_t len;
};

struct run {
    struct agent_http *h;
    const char *url;
    int close_conn;
    long left;
    long connects;
    long errors;
    char first_error[256];
};

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e3 +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e3;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int load_pem(const char *path, struct pem *out)
{
    FILE *f = fopen(path, "rb");
    long n;
    if (!f)
        return -1;
    if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) != 0 ||
        !(out->data = ward_malloc((size_t)n + 1)) ||
        fread(out->data, 1, (size_t)n, f) != (size_t)n) {
        fclose(f);
        return -1;
    }
    fclose(f);
    out->data[n] = 0;
    out->len = (size_t)n;
    return 0;
}

/* ---- the agent's HTTP client ----------------------------------------------------------- */

static void next_request(struct run *r);

static void done(struct agent_http_response *resp, void *ctx)
{
    struct run *r = ctx;
    r->connects += resp->num_connects;
    if (resp->err != 0 || resp->status != 200) {
        if (!r->errors)
            snprintf(r->first_error, sizeof(r->first_error), "status %ld err %d: %s", resp->status,
                     resp->err, resp->error_detail ? resp->error_detail : "");
        r->errors++;
    }
    if (--r->left > 0)
        next_request(r);
}

static void next_request(struct run *r)
{
    const char *hdrs[] = {"Content-Type: application/json", "Accept: application/json",
                          r->close_conn ? "Connection: close" : NULL, NULL};
    struct agent_http_request rq = {
        .method = "POST", .url = r->url, .headers = hdrs, .body = body, .body_len = strlen(body)};
    if (agent_http_request(r->h, &rq, done, r, NULL) != 0) {
        r->errors++;
        r->left = 0;
    }
}

static int run_agent(uv_loop_t *loop, struct run *r, long n)
{
    r->left = n;
    next_request(r);
    uv_run(loop, UV_RUN_DEFAULT); /* returns when no request is left in flight */
    return r->errors ? -1 : 0;
}

static int mode_agent(const char *url, const struct pem *ca, const struct pem *cert,
                      const struct pem *key, int close_conn, long n)
{
    uv_loop_t loop;
    struct agent_http_opts o = {.ca_pem = ca->data,
                                .ca_pem_len = ca->len,
                                .client_cert_pem = cert->data,
                                .client_cert_pem_len = cert->len,
                                .client_key_pem = key->data,
                                .client_key_pem_len = key->len,
                                .proxy = "",
                                .no_proxy = ""};
    struct run r = {.url = url, .close_conn = close_conn};
    double c0, w0;
    int rc;

    if (uv_loop_init(&loop) != 0 || agent_http_new(&loop, &o, &r.h) != 0) {
        fprintf(stderr, "agentcpu: cannot create the HTTP client\n");
        return 1;
    }
    rc = run_agent(&loop, &r, AC_WARMUP);
    r.connects = 0;
    c0 = cpu_ms();
    w0 = wall_ms();
    if (rc == 0)
        rc = run_agent(&loop, &r, n);
    if (rc != 0) {
        fprintf(stderr, "agentcpu: %ld errors; first: %s\n", r.errors, r.first_error);
        return 1;
    }
    printf("agentcpu mode=%s n=%ld cpu_ms=%.3f wall_ms=%.3f connects=%ld resumed=0\n",
           close_conn ? "newconn" : "keepalive", n, (cpu_ms() - c0) / (double)n,
           (wall_ms() - w0) / (double)n, r.connects);
    agent_http_close(r.h, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return 0;
}

/* ---- plain libcurl ----------------------------------------------------------------------- */

static size_t discard(char *p, size_t sz, size_t nm, void *ctx)
{
    (void)p;
    (void)ctx;
    return sz * nm;
}

static int debug_cb(CURL *e, curl_infotype type, char *data, size_t size, void *ctx)
{
    long *resumed = ctx;
    (void)e;
    if (type == CURLINFO_TEXT && size >= 22 && memmem(data, size, "re-using session", 16))
        (*resumed)++;
    return 0;
}

static CURL *curl_setup(const char *url, const struct pem *ca, const struct pem *cert,
                        const struct pem *key, int resume, struct curl_slist *hdrs)
{
    CURL *e = curl_easy_init();
    struct curl_blob bca = {ca->data, ca->len, CURL_BLOB_COPY};
    struct curl_blob bcert = {cert->data, cert->len, CURL_BLOB_COPY};
    struct curl_blob bkey = {key->data, key->len, CURL_BLOB_COPY};
    if (!e)
        return NULL;
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_PROXY, "");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
    curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &bca);
    curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &bcert);
    curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &bkey);
    curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, resume ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    return e;
}

static int curl_batch(CURL *e, long n, long *errors, long *connects)
{
    for (long i = 0; i < n; i++) {
        long status = 0, nc = 0;
        CURLcode cc = curl_easy_perform(e);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &nc);
        *connects += nc;
        if (cc != CURLE_OK || status != 200) {
            if (!*errors)
                fprintf(stderr, "agentcpu: curl %d (%s), status %ld\n", (int)cc,
                        curl_easy_strerror(cc), status);
            (*errors)++;
        }
    }
    return *errors ? -1 : 0;
}

static int mode_curl(const char *url, const struct pem *ca, const struct pem *cert,
                     const struct pem *key, int resume, long n)
{
    struct curl_slist *hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    long errors = 0, resumed = 0, connects = 0;
    double c0, w0;
    CURL *e;

    if (!hdrs || !(e = curl_setup(url, ca, cert, key, resume, hdrs)))
        return 1;
    /* Check that resumption happens (or not) with curl's own message, outside the timing. */
    curl_easy_setopt(e, CURLOPT_VERBOSE, 1L);
    curl_easy_setopt(e, CURLOPT_DEBUGFUNCTION, debug_cb);
    curl_easy_setopt(e, CURLOPT_DEBUGDATA, &resumed);
    curl_batch(e, AC_WARMUP, &errors, &connects);
    connects = 0;
    curl_easy_setopt(e, CURLOPT_VERBOSE, 0L);
    c0 = cpu_ms();
    w0 = wall_ms();
    if (errors == 0 && curl_batch(e, n, &errors, &connects) == 0) {
        printf("agentcpu mode=%s n=%ld cpu_ms=%.3f wall_ms=%.3f connects=%ld resumed=%ld/%d\n",
               resume ? "curl-resume" : "curl-new", n, (cpu_ms() - c0) / (double)n,
               (wall_ms() - w0) / (double)n, connects, resumed, AC_WARMUP - 1);
    }
    curl_easy_cleanup(e);
    curl_slist_free_all(hdrs);
    if (errors || (resume && resumed == 0) || (!resume && resumed != 0)) {
        fprintf(stderr, "agentcpu: %s: %ld errors, %ld resumed warm-up connections\n",
                resume ? "curl-resume" : "curl-new", errors, resumed);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct pem ca = {0}, cert = {0}, key = {0};
    char url[128];
    const char *mode;
    long n;
    int port, rc;

    if (argc != 7) {
        fprintf(stderr, "usage: agentcpu MODE PORT CA.pem CERT.pem KEY.pem N\n"
                        "  MODE: keepalive | newconn | curl-new | curl-resume\n");
        return 2;
    }
    mode = argv[1];
    port = atoi(argv[2]);
    n = atol(argv[6]);
    if (port <= 0 || port > 65535 || n <= 0 || load_pem(argv[3], &ca) != 0 ||
        load_pem(argv[4], &cert) != 0 || load_pem(argv[5], &key) != 0) {
        fprintf(stderr, "agentcpu: bad arguments or unreadable PEM files\n");
        return 2;
    }
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/api/v1/checkin", port);
    if (agent_http_global_init() != 0)
        return 1;
    if (strcmp(mode, "keepalive") == 0)
        rc = mode_agent(url, &ca, &cert, &key, 0, n);
    else if (strcmp(mode, "newconn") == 0)
        rc = mode_agent(url, &ca, &cert, &key, 1, n);
    else if (strcmp(mode, "curl-new") == 0)
        rc = mode_curl(url, &ca, &cert, &key, 0, n);
    else if (strcmp(mode, "curl-resume") == 0)
        rc = mode_curl(url, &ca, &cert, &key, 1, n);
    else
        rc = 2;
    agent_http_global_cleanup();
    ward_free(ca.data);
    ward_free(cert.data);
    ward_free(key.data);
    return rc;
}

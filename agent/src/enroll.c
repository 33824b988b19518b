/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Enrollment. The order matters for the trust model: the token is validated, the existing
 * identity is protected unless --force, the key and CSR are made locally, and the one HTTP
 * request that carries the secret runs on a client in discovery mode, whose TLS handshake
 * fails (WARD_EPIN) unless the server's chain holds the pinned CA and its certificate
 * verifies against that CA for the URL's host. The answer is checked again (CA pin,
 * certificate for our key, issued by that CA) before anything is stored.
 */
#define WARD_LOG_TAG "enroll"

#include "agent/enroll.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <uv.h>

#include "agent/authority.h"
#include "agent/checkin.h"
#include "agent/config.h"
#include "agent/http.h"
#include "agent/identity.h"
#include "agent/state.h"
#include "agent/token.h"
#include "platform/sysinfo.h"
#include "ward/alloc.h"
#include "ward/config.h"
#include "ward/crypto.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/time.h"

#define TOKEN_FILE_MAX 8192

struct enroll_wait {
    int done;
    int err;
    long status;
    char detail[256];
    char code[64];
    char *body;
    size_t body_len;
    char *ca_pem;
};

static void on_enrolled(struct agent_http_response *r, void *ctx)
{
    struct enroll_wait *w = ctx;
    w->done = 1;
    w->err = r->err;
    w->status = r->status;
    snprintf(w->detail, sizeof(w->detail), "%s", r->error_detail ? r->error_detail : "");
    if (r->err == WARD_EHTTP)
        agent_proto_error_code(r->body.data, r->body.len, w->code, sizeof(w->code));
    if (r->err == 0) {
        w->body = ward_buf_steal(&r->body, &w->body_len);
        if (r->discovered_ca_pem)
            w->ca_pem = ward_strdup(r->discovered_ca_pem);
        if (!w->body || !w->ca_pem)
            w->err = WARD_ENOMEM;
    }
}

static int read_token_file(const char *path, char **out, size_t *len, char *msg, size_t msglen)
{
    uv_fs_t req;
    uv_file fd;
    char *buf = NULL;
    size_t have = 0;
    int rc = ward_secfile_check(path);

    *out = NULL;
    if (rc == WARD_EACCES) {
        snprintf(msg, msglen,
                 "token file %s is readable by other users; refusing it (make it private: "
                 "chmod 600)",
                 path);
        return rc;
    }
    if (rc == WARD_ENOENT) {
        snprintf(msg, msglen, "token file %s does not exist", path);
        return rc;
    }
    if (rc == WARD_ENOTSUP) {
        /* No way to tell on this system (Wine has no DACLs): say so and go on. */
        WARD_WARN("cannot check who may read the token file %s on this system", path);
        rc = 0;
    }
    if (rc != 0) {
        snprintf(msg, msglen, "cannot check token file %s: %s", path, ward_strerror(rc));
        return rc;
    }
    fd = uv_fs_open(NULL, &req, path, UV_FS_O_RDONLY, 0, NULL);
    uv_fs_req_cleanup(&req);
    if (fd < 0) {
        snprintf(msg, msglen, "cannot open token file %s: %s", path, uv_strerror(fd));
        return WARD_EIO;
    }
    buf = ward_malloc(TOKEN_FILE_MAX + 1);
    if (!buf) {
        rc = WARD_ENOMEM;
        goto out;
    }
    for (;;) {
        uv_buf_t b = uv_buf_init(buf + have, (unsigned)(TOKEN_FILE_MAX + 1 - have));
        int n = uv_fs_read(NULL, &req, fd, &b, 1, -1, NULL);
        uv_fs_req_cleanup(&req);
        if (n < 0) {
            snprintf(msg, msglen, "cannot read token file %s: %s", path, uv_strerror(n));
            rc = WARD_EIO;
            goto out;
        }
        if (n == 0)
            break;
        have += (size_t)n;
        if (have > TOKEN_FILE_MAX) {
            snprintf(msg, msglen, "token file %s is too large to hold a token", path);
            rc = WARD_ETOOBIG;
            goto out;
        }
    }
    buf[have] = '\0';
    *out = buf;
    *len = have;
    buf = NULL;
out:
    uv_fs_close(NULL, &req, fd, NULL);
    uv_fs_req_cleanup(&req);
    if (buf) {
        memset(buf, 0, TOKEN_FILE_MAX + 1);
        ward_free(buf);
    }
    return rc;
}

static int explain_http(const struct enroll_wait *w, const char *url, char *msg, size_t msglen)
{
    static const struct {
        const char *code;
        int err;
        const char *text;
    } codes[] = {
        {"token_invalid", WARD_EACCES,
         "the enrollment token is invalid (unknown token or wrong secret)"},
        {"token_expired", WARD_EEXPIRED, "the enrollment token has expired; create a new one"},
        {"token_used_up", WARD_EACCES, "the enrollment token has no uses left; create a new one"},
        {"token_revoked", WARD_EREVOKED, "the enrollment token was revoked"},
        {"bad_csr", WARD_EPROTO, "the server refused the certificate request (bad_csr)"},
        {"bad_request", WARD_EPROTO, "the server refused the enrollment request (bad_request)"},
    };
    switch (w->err) {
    case WARD_EPIN:
        snprintf(msg, msglen,
                 "the server at %s does not present the CA pinned in the token; refusing to "
                 "send the secret (wrong server or wrong token)",
                 url);
        return WARD_EPIN;
    case WARD_ECONNECT:
    case WARD_ERESOLVE:
    case WARD_ETIMEDOUT:
    case WARD_ECLOSED:
    case WARD_EPROXY:
        snprintf(msg, msglen, "cannot reach the server at %s: %s", url, w->detail);
        return WARD_ECONNECT;
    case WARD_ETLS:
        snprintf(msg, msglen, "TLS with the server at %s failed: %s", url, w->detail);
        return WARD_ETLS;
    case WARD_EHTTP:
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
            if (strcmp(w->code, codes[i].code) == 0) {
                snprintf(msg, msglen, "enrollment refused: %s", codes[i].text);
                return codes[i].err;
            }
        snprintf(msg, msglen, "enrollment refused by %s: HTTP %ld%s%s", url, w->status,
                 w->code[0] ? " " : "", w->code);
        return WARD_EHTTP;
    default:
        snprintf(msg, msglen, "enrollment with %s failed: %s%s%s", url, ward_strerror(w->err),
                 w->detail[0] ? ": " : "", w->detail);
        return w->err;
    }
}

/* Sends the request and runs a private loop until the answer is in. */
static int post_enroll(const struct agent_config *cfg, const struct agent_token *t,
                       const char *body, size_t len, struct enroll_wait *w)
{
    uv_loop_t loop;
    struct agent_http *h = NULL;
    struct agent_http_opts o;
    struct agent_http_request rq;
    static const char *const hdrs[] = {"Content-Type: application/json", NULL};
    char url[AGENT_TOKEN_URL_MAX + 32];
    int rc;

    if (uv_loop_init(&loop) != 0)
        return WARD_EIO;
    memset(&o, 0, sizeof(o));
    o.discover_ca_pin = t->ca_pin;
    o.proxy = cfg->proxy;
    o.no_proxy = cfg->no_proxy;
    o.connect_timeout_ms = (long)cfg->connect_timeout * 1000L;
    o.timeout_ms = 60000;
    o.max_response = 1u << 20;
    rc = agent_http_new(&loop, &o, &h);
    if (rc == 0) {
        snprintf(url, sizeof(url), "%s/api/v1/enroll", t->url);
        memset(&rq, 0, sizeof(rq));
        rq.method = "POST";
        rq.url = url;
        rq.headers = hdrs;
        rq.body = body;
        rq.body_len = len;
        rc = agent_http_request(h, &rq, on_enrolled, w, NULL);
    }
    if (rc == 0)
        uv_run(&loop, UV_RUN_DEFAULT);
    agent_http_close(h, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0 && rc == 0)
        rc = WARD_EBUSY;
    return rc;
}

int agent_enroll(const struct agent_config *cfg, const struct agent_enroll_opts *o, char *msg,
                 size_t msglen)
{
    struct agent_token t;
    struct agent_state *st = NULL;
    struct enroll_wait w;
    struct plat_sysinfo si;
    struct agent_authority auth;
    EVP_PKEY *key = NULL;
    json_t *req = NULL, *ans = NULL;
    char *text = NULL, *csr = NULL, *file_buf = NULL, ca_pin[WARD_PIN_SIZE], until[32];
    const char *token = o->token, *device_id = NULL, *cert = NULL, *ca = NULL, *cmdkey = NULL;
    size_t token_len = token ? strlen(token) : 0, len = 0, klen = 0;
    uint8_t *kraw = NULL;
    X509 *cax = NULL;
    long long interval = 0;
    int64_t nb = 0, na = 0;
    int rc;

    memset(&w, 0, sizeof(w));
    memset(&t, 0, sizeof(t));
    msg[0] = '\0';
    if (o->token_file) {
        rc = read_token_file(o->token_file, &file_buf, &token_len, msg, msglen);
        if (rc != 0)
            goto out;
        token = file_buf;
    }
    if (!token) {
        snprintf(msg, msglen, "no enrollment token (--token, --token-file or WARD_ENROLL_TOKEN)");
        rc = WARD_EINVAL;
        goto out;
    }
    rc = agent_token_parse(token, token_len, &t);
    if (rc != 0) {
        snprintf(msg, msglen,
                 "the enrollment token is malformed (expected ward1.<...> as "
                 "printed by `ward-server token create`)");
        goto out;
    }
    /* A configured server_url locks the device to one service: a token for any other URL
     * (a rogue or test service) is refused before anything is sent anywhere. */
    if (cfg->server_url && strcmp(cfg->server_url, t.url) != 0) {
        snprintf(msg, msglen,
                 "the token is for %s, but this agent is configured for %s (server_url)", t.url,
                 cfg->server_url);
        rc = WARD_ECONFIG;
        goto out;
    }

    rc = agent_state_open(cfg->state_dir, &st);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot open the state directory %s: %s", cfg->state_dir,
                 ward_strerror(rc));
        goto out;
    }
    if (agent_identity_lifecycle(st) != AGENT_NOT_ENROLLED && !o->force) {
        char *dev = NULL, *srv = NULL;
        agent_state_get(st, "device_id", &dev);
        agent_state_get(st, "server_url", &srv);
        snprintf(msg, msglen,
                 "already enrolled as %s with %s; use --force to replace this identity",
                 dev ? dev : "?", srv ? srv : "?");
        ward_free(dev);
        ward_free(srv);
        rc = WARD_EEXIST;
        goto out;
    }

    memset(&si, 0, sizeof(si));
    plat_sysinfo_get(cfg->root, &si);
    rc = ward_key_generate_p256(&key);
    if (rc == 0)
        rc =
            ward_csr_create(key, si.hostname[0] ? si.hostname : "ward-device", NULL, 0, &csr, NULL);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot create the device key: %s", ward_strerror(rc));
        goto out;
    }
    req = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "token", t.secret, "csr", csr, "hostname",
                    si.hostname, "machine_id", si.machine_id, "os",
                    si.os_pretty[0] ? si.os_pretty : si.os_name, "agent_version", WARD_VERSION);
    if (!req || ward_json_dumps(req, 0, &text, &len) != 0) {
        rc = WARD_ENOMEM;
        snprintf(msg, msglen, "out of memory");
        goto out;
    }
    WARD_DEBUG("enrolling with %s (token %s)", t.url, t.id);
    rc = post_enroll(cfg, &t, text, len, &w);
    if (rc == 0 && w.err != 0)
        rc = explain_http(&w, t.url, msg, msglen);
    else if (rc != 0)
        snprintf(msg, msglen, "cannot send the enrollment request: %s", ward_strerror(rc));
    if (rc != 0)
        goto out;

    /* The answer came over the pinned connection; still check what it hands us. */
    rc = WARD_EPROTO;
    if (ward_json_loadb(w.body, w.body_len, NULL, &ans, NULL) != 0 ||
        ward_json_get_str(ans, NULL, "device_id", WARD_JSON_REQUIRED, &device_id, NULL) != 0 ||
        ward_json_get_str(ans, NULL, "certificate", WARD_JSON_REQUIRED, &cert, NULL) != 0 ||
        ward_json_get_str(ans, NULL, "ca", 0, &ca, NULL) != 0 ||
        ward_json_get_str(ans, NULL, "command_key", WARD_JSON_REQUIRED, &cmdkey, NULL) != 0 ||
        ward_json_get_int(ans, NULL, "checkin_interval", 0, 1, 86400, &interval, NULL) != 0 ||
        !device_id[0] || strlen(device_id) > 128) {
        snprintf(msg, msglen, "the server's enrollment answer is malformed");
        goto out;
    }
    if (!ca)
        ca = w.ca_pem;
    if (ward_x509_parse(ca, strlen(ca), &cax) != 0 || ward_pin_from_cert(cax, ca_pin) != 0 ||
        ward_pin_check(t.ca_pin, ca_pin) != 0) {
        snprintf(msg, msglen, "the server's CA in the answer does not match the token's pin");
        rc = WARD_EPIN;
        goto out;
    }
    if (ward_base64_decode(cmdkey, strlen(cmdkey), 0, &kraw, &klen) != 0 ||
        klen != WARD_ED25519_PUB_LEN) {
        snprintf(msg, msglen, "the server's command key is malformed");
        goto out;
    }
    rc = agent_authority_from_answer(ans, &auth, msg, msglen);
    if (rc != 0)
        goto out;
    rc = agent_identity_check_cert(cert, ca, key, &nb, &na);
    if (rc != 0) {
        snprintf(msg, msglen, "the issued device certificate does not check out: %s",
                 ward_strerror(rc));
        goto out;
    }
    /* The URL the agent verified is the one it keeps using. */
    rc = agent_identity_store_new(st, key, device_id, t.url, cert, ca, kraw, &auth);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot store the device identity in %s: %s", cfg->state_dir,
                 ward_strerror(rc));
        goto out;
    }
    if (interval > 0) {
        char iv[32];
        snprintf(iv, sizeof(iv), "%lld", interval);
        agent_state_set(st, AGENT_META_INTERVAL, iv);
    }
    if (o->token_file) {
        int drc = ward_os_remove(o->token_file);
        if (drc != 0 && drc != WARD_ENOENT)
            WARD_LOG_WARN_ERR(drc, "enrolled, but cannot delete the token file %s", o->token_file);
    }
    ward_time_iso(na, until, sizeof(until));
    snprintf(msg, msglen, "enrolled as %s with %s; certificate valid until %s", device_id, t.url,
             until);
    rc = 0;
out:
    agent_token_wipe(&t);
    if (file_buf) {
        memset(file_buf, 0, token_len);
        ward_free(file_buf);
    }
    if (text) {
        memset(text, 0, len);
        ward_free(text);
    }
    json_decref(req);
    json_decref(ans);
    ward_free(csr);
    ward_free(w.body);
    ward_free(w.ca_pem);
    ward_free(kraw);
    X509_free(cax);
    EVP_PKEY_free(key);
    agent_state_close(st);
    return rc;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for ward-server's typed command parameters and result statuses
 * (server/commands.h), the Range header parser and stored files (server/files.h), and the
 * result transitions as srv_results stores them in a real data directory (init, a device
 * enrolled from a CSR made here, commands queued and answered). */
#include "wtest.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/app.h"
#include "server/commands.h"
#include "server/files.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"
#include "ward/log.h"

static json_t *J(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    if (!j)
        wt_fail(__FILE__, __LINE__, "bad JSON in the test: %s", text);
    return j;
}

/* Checks type+params; want NULL means accepted, else a substring of the message. */
static void expect(const char *type, const char *params, const char *want)
{
    char msg[SRV_COMMAND_MSG_MAX];
    json_t *p = params ? J(params) : NULL;
    int rc = srv_command_check_params(type, p, msg, sizeof(msg));
    if (!want && rc != 0)
        wt_fail(__FILE__, __LINE__, "%s %s refused: %s", type, params ? params : "NULL", msg);
    if (want && rc == 0)
        wt_fail(__FILE__, __LINE__, "%s %s accepted, wanted \"%s\"", type, params ? params : "NULL",
                want);
    if (want && !strstr(msg, want))
        wt_fail(__FILE__, __LINE__, "%s %s: message \"%s\" lacks \"%s\"", type,
                params ? params : "NULL", msg, want);
    json_decref(p);
}

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define FILE_OK "{\"url\": \"/api/v1/files/" SHA "\", \"sha256\": \"" SHA "\", \"length\": 10}"

WT_TEST(types_known)
{
    static const char *const types[] = {
        "ping",       "sync",    "unenroll",  "inventory",      "lock",      "reboot", "shutdown",
        "run_script", "package", "os_update", "selective_wipe", "full_wipe", NULL};
    char msg[SRV_COMMAND_MSG_MAX];
    for (size_t i = 0; types[i]; i++) {
        WT_ASSERT(srv_command_type_known(types[i]));
        WT_CONTAINS(srv_command_type_names(), types[i]);
    }
    WT_ASSERT(!srv_command_type_known("format-disk"));
    WT_ASSERT(!srv_command_type_known(""));
    WT_EQ_ERR(srv_command_check_params("format-disk", NULL, msg, sizeof(msg)), WARD_EINVAL);
    WT_CONTAINS(msg, "unknown command type 'format-disk'");
    WT_EQ_ERR(srv_command_check_params("reboot", NULL, msg, sizeof(msg)), 0);
}

WT_TEST(untyped_commands_take_any_object)
{
    expect("ping", "{}", NULL);
    expect("sync", "{\"why\": \"test\", \"n\": 1}", NULL);
    expect("inventory", NULL, NULL);
    expect("sync", "[1]", "params: expected object, got array");
}

WT_TEST(no_parameter_types)
{
    expect("lock", "{}", NULL);
    expect("selective_wipe", NULL, NULL);
    expect("lock", "{\"now\": true}", "params: unknown member 'now' for lock (it takes no");
    expect("selective_wipe", "{\"a\": 1, \"b\": 2}", "unknown members 'a', 'b'");
}

WT_TEST(reboot_and_shutdown)
{
    expect("reboot", "{}", NULL);
    expect("shutdown",
           "{\"grace_seconds\": 0, \"deadline\": \"2030-01-01T00:00:00Z\","
           " \"deferrals\": 10, \"message\": \"bye\"}",
           NULL);
    expect("reboot", "{\"grace_seconds\": 86400}", NULL);
    expect("reboot", "{\"grace_seconds\": 86401}", "params.grace_seconds: 86401 is out of range");
    expect("reboot", "{\"grace_seconds\": -1}", "params.grace_seconds");
    expect("reboot", "{\"grace_seconds\": \"30\"}", "params.grace_seconds: expected integer");
    expect("reboot", "{\"deferrals\": 99}", "params.deferrals: 99 is out of range [0, 10]");
    expect("reboot", "{\"deadline\": \"2030-01-01 00:00:00\"}", "params.deadline:");
    expect("reboot", "{\"deadline\": \"2030-02-30T00:00:00Z\"}", "params.deadline:");
    expect("reboot", "{\"deadline\": 1}", "params.deadline: expected string");
    {
        char big[400];
        char text[512];
        memset(big, 'x', 257);
        big[257] = '\0';
        snprintf(text, sizeof(text), "{\"message\": \"%s\"}", big);
        expect("reboot", text, "params.message: 257 bytes, expected 0 to 256");
        big[256] = '\0';
        snprintf(text, sizeof(text), "{\"message\": \"%s\"}", big);
        expect("reboot", text, NULL);
    }
    expect("shutdown", "{\"grace\": 5}",
           "unknown member 'grace' for shutdown (allowed: grace_seconds, deadline, deferrals,"
           " defer_seconds, message)");
}

WT_TEST(run_script)
{
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"echo hi\"}", NULL);
    expect("run_script",
           "{\"interpreter\": \"/usr/bin/python3\", \"file\": " FILE_OK ", \"args\": [\"-u\"],"
           " \"user\": \"www-data\", \"timeout\": 86400, \"output_max\": 1024}",
           NULL);
    expect("run_script", "{\"script\": \"x\"}", "params.interpreter: missing required member");
    expect("run_script", "{\"interpreter\": \"/usr/bin/perl\", \"script\": \"x\"}",
           "params.interpreter: \"/usr/bin/perl\" is not one of /bin/sh, /bin/bash,"
           " /usr/bin/python3");
    expect("run_script", "{\"interpreter\": \"/bin/sh\"}", "exactly one of 'script'");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"file\": " FILE_OK "}",
           "exactly one of");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"user\": \"-r\"}",
           "params.user: \"-r\" is not a local user name");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"user\": \"a b\"}",
           "params.user");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"timeout\": 0}",
           "params.timeout: 0 is out of range [1, 86400]");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"output_max\": 1023}",
           "params.output_max");
    expect("run_script",
           "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"output_max\": 1048577}",
           "params.output_max");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"args\": [1]}",
           "params.args[0]: expected string, got integer");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"args\": \"a\"}",
           "params.args: expected array");
    /* the agent's limits, with its bounds */
    expect("run_script",
           "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"memory_mb\": 64, "
           "\"cpu_seconds\": 30}",
           NULL);
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"memory_mb\": 15}",
           "params.memory_mb: 15 is out of range [16, 65536]");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"cpu_seconds\": 0}",
           "params.cpu_seconds: 0 is out of range [1, 86400]");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"script\": \"x\", \"env\": {}}",
           "unknown member 'env' for run_script");
    /* File references. */
    expect("run_script",
           "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/" SHA
           "\", \"sha256\": \"" SHA "\", \"length\": 0}}",
           "params.file.length: 0 is out of range");
    expect("run_script",
           "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"https://x/" SHA
           "\", \"sha256\": \"" SHA "\", \"length\": 1}}",
           "params.file.url: expected \"/api/v1/files/" SHA "\"");
    expect("run_script",
           "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/ABC\","
           " \"sha256\": \"ABC\", \"length\": 1}}",
           "params.file.sha256: expected 64 lowercase hex digits");
    expect("run_script",
           "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/" SHA
           "\", \"sha256\": \"" SHA "\", \"length\": 1, \"mode\": 1}}",
           "params.file.mode: unknown member");
    expect("run_script", "{\"interpreter\": \"/bin/sh\", \"file\": \"x\"}",
           "params.file: expected object");
}

WT_TEST(run_script_args_and_size_limits)
{
    char msg[SRV_COMMAND_MSG_MAX];
    json_t *p = J("{\"interpreter\": \"/bin/sh\"}"), *args = json_array();
    char *big = ward_malloc(SRV_SCRIPT_INLINE_MAX + 2);
    WT_ASSERT(big && args);
    for (int i = 0; i < 64; i++)
        json_array_append_new(args, json_string("a"));
    json_object_set(p, "args", args);
    memset(big, 'x', SRV_SCRIPT_INLINE_MAX);
    big[SRV_SCRIPT_INLINE_MAX] = '\0';
    json_object_set_new(p, "script", json_string(big));
    WT_OK(srv_command_check_params("run_script", p, msg, sizeof(msg)));
    json_array_append_new(args, json_string("a"));
    WT_EQ_ERR(srv_command_check_params("run_script", p, msg, sizeof(msg)), WARD_EPARSE);
    WT_CONTAINS(msg, "params.args: 65 entries, expected 0 to 64");
    json_array_remove(args, 64);
    big[SRV_SCRIPT_INLINE_MAX] = 'x';
    big[SRV_SCRIPT_INLINE_MAX + 1] = '\0';
    json_object_set_new(p, "script", json_string(big));
    WT_EQ_ERR(srv_command_check_params("run_script", p, msg, sizeof(msg)), WARD_EPARSE);
    WT_CONTAINS(msg, "params.script: 262145 bytes");
    ward_free(big);
    json_decref(args);
    json_decref(p);
}

WT_TEST(package)
{
    expect("package", "{\"action\": \"install\", \"names\": [\"jq\", \"libssl3:amd64\"]}", NULL);
    expect("package", "{\"action\": \"remove\", \"names\": [\"g++\"]}", NULL);
    expect("package", "{\"action\": \"upgrade\", \"names\": [\"org.gnome.Maps\"]}", NULL);
    expect("package", "{\"action\": \"install\", \"file\": " FILE_OK "}", NULL);
    expect("package", "{\"action\": \"frobnicate\", \"names\": [\"jq\"]}",
           "params.action: \"frobnicate\" is not one of install, remove, upgrade");
    expect("package", "{\"names\": [\"jq\"]}", "params.action: missing required member");
    expect("package", "{\"action\": \"install\"}", "exactly one of 'names' or 'file'");
    expect("package", "{\"action\": \"install\", \"names\": []}",
           "params.names: 0 entries, expected 1 to 1000");
    expect("package", "{\"action\": \"install\", \"names\": [\"-y\"]}",
           "params.names[0]: \"-y\" is not a package name");
    expect("package", "{\"action\": \"install\", \"names\": [\"jq\", \"a b\"]}", "params.names[1]");
    expect("package", "{\"action\": \"install\", \"names\": [\"../x\"]}", "params.names[0]");
    expect("package", "{\"action\": \"remove\", \"file\": " FILE_OK "}",
           "params.file: a package file can only be installed, not remove");
    expect("package", "{\"action\": \"install\", \"names\": [\"jq\"], \"file\": " FILE_OK "}",
           "exactly one of");
}

WT_TEST(os_update_and_full_wipe)
{
    expect("os_update", "{}", NULL);
    expect("os_update", "{\"security_only\": true, \"reboot\": false}", NULL);
    expect("os_update", "{\"reboot\": \"yes\"}", "params.reboot: expected boolean, got string");
    expect("full_wipe", "{}", NULL);
    expect("full_wipe",
           "{\"devices\": [\"/dev/nvme0n1\", \"/dev/disk/by-path/pci-0000:00:1f.2-ata-1\"],"
           " \"allow_overwrite\": true}",
           NULL);
    expect("full_wipe", "{\"devices\": [\"/etc/shadow\"]}",
           "params.devices[0]: \"/etc/shadow\" is not an absolute /dev path");
    expect("full_wipe", "{\"devices\": [\"/dev/../etc/shadow\"]}", "params.devices[0]");
    expect("full_wipe", "{\"devices\": [\"/dev/sda\", \"/dev//sda\"]}", "params.devices[1]");
    expect("full_wipe", "{\"devices\": [\"/dev/\"]}", "params.devices[0]");
    expect("full_wipe", "{\"devices\": [\"/dev/sda/\"]}", "params.devices[0]");
    expect("full_wipe", "{\"devices\": [\"/dev/./sda\"]}", "params.devices[0]");
    expect("full_wipe", "{\"allow_overwrite\": 1}", "params.allow_overwrite: expected boolean");
}

WT_TEST(sha256_hex)
{
    WT_ASSERT(srv_sha256_hex_ok(SHA));
    WT_ASSERT(!srv_sha256_hex_ok(NULL));
    WT_ASSERT(!srv_sha256_hex_ok(""));
    WT_ASSERT(!srv_sha256_hex_ok(SHA "0"));
    WT_ASSERT(
        !srv_sha256_hex_ok("0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    WT_ASSERT(
        !srv_sha256_hex_ok("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"));
}

WT_TEST(result_status_transitions)
{
    static const char *const open_states[] = {"queued", "delivered", "accepted", "running", NULL};
    static const char *const finals[] = {"succeeded", "failed", "rejected", "interrupted", NULL};
    static const char *const progress[] = {"accepted", "running", NULL};
    for (size_t i = 0; finals[i]; i++) {
        WT_ASSERT(srv_result_status_known(finals[i]));
        WT_ASSERT(srv_result_status_final(finals[i]));
    }
    for (size_t i = 0; progress[i]; i++) {
        WT_ASSERT(srv_result_status_known(progress[i]));
        WT_ASSERT(!srv_result_status_final(progress[i]));
    }
    WT_ASSERT(!srv_result_status_known("queued"));
    WT_ASSERT(!srv_result_status_known("delivered"));
    WT_ASSERT(!srv_result_status_known("paused"));
    WT_ASSERT(!srv_result_status_known(NULL));
    for (size_t i = 0; open_states[i]; i++) {
        for (size_t k = 0; progress[k]; k++)
            WT_ASSERT(srv_result_may_replace(open_states[i], progress[k]));
        for (size_t k = 0; finals[k]; k++)
            WT_ASSERT(srv_result_may_replace(open_states[i], finals[k]));
        WT_ASSERT(!srv_result_may_replace(open_states[i], "paused"));
        WT_ASSERT(!srv_result_may_replace(open_states[i], "queued"));
    }
    for (size_t i = 0; finals[i]; i++) {
        for (size_t k = 0; progress[k]; k++)
            WT_ASSERT(!srv_result_may_replace(finals[i], progress[k]));
        for (size_t k = 0; finals[k]; k++)
            WT_ASSERT(!srv_result_may_replace(finals[i], finals[k]));
    }
}

WT_TEST(range_header)
{
    int64_t a = -1, b = -1;
    WT_EQ_INT(srv_range_parse(NULL, 100, &a, &b), 0);
    WT_EQ_INT(srv_range_parse("bytes=0-", 100, &a, &b), 1);
    WT_EQ_INT(a, 0);
    WT_EQ_INT(b, 99);
    WT_EQ_INT(srv_range_parse("bytes=10-19", 100, &a, &b), 1);
    WT_EQ_INT(a, 10);
    WT_EQ_INT(b, 19);
    WT_EQ_INT(srv_range_parse("bytes=50-1000", 100, &a, &b), 1);
    WT_EQ_INT(b, 99);
    WT_EQ_INT(srv_range_parse(" Bytes = 99-99 ", 100, &a, &b), 1);
    WT_EQ_INT(a, 99);
    WT_EQ_INT(b, 99);
    WT_EQ_INT(srv_range_parse("bytes=-10", 100, &a, &b), 1);
    WT_EQ_INT(a, 90);
    WT_EQ_INT(b, 99);
    WT_EQ_INT(srv_range_parse("bytes=-1000", 100, &a, &b), 1);
    WT_EQ_INT(a, 0);
    WT_EQ_INT(srv_range_parse("bytes=100-", 100, &a, &b), SRV_RANGE_UNSATISFIABLE);
    WT_EQ_INT(srv_range_parse("bytes=100-200", 100, &a, &b), SRV_RANGE_UNSATISFIABLE);
    WT_EQ_INT(srv_range_parse("bytes=99999999999999999999999-", 100, &a, &b),
              SRV_RANGE_UNSATISFIABLE);
    WT_EQ_INT(srv_range_parse("bytes=-0", 100, &a, &b), SRV_RANGE_UNSATISFIABLE);
    /* Ignored: the whole body. */
    WT_EQ_INT(srv_range_parse("bytes=20-10", 100, &a, &b), 0);
    WT_EQ_INT(srv_range_parse("bytes=0-1,5-6", 100, &a, &b), 0);
    WT_EQ_INT(srv_range_parse("items=0-1", 100, &a, &b), 0);
    WT_EQ_INT(srv_range_parse("bytes=abc", 100, &a, &b), 0);
    WT_EQ_INT(srv_range_parse("bytes=-", 100, &a, &b), 0);
    WT_EQ_INT(srv_range_parse("bytes=1-2x", 100, &a, &b), 0);
    WT_EQ_INT(srv_range_parse("bytes 1-2", 100, &a, &b), 0);
}

/* ---- against a real data directory ------------------------------------------------- */

static struct srv_app *make_app(void)
{
    struct srv_init_opts o = {.listen = "127.0.0.1:18443"};
    struct srv_app *app = NULL;
    ward_json_init();
    ward_log_set_level(WARD_LOG_ERROR);
    WT_OK(srv_app_init(wt_path("data"), &o));
    WT_OK(srv_app_open(wt_path("data"), &app));
    return app;
}

static char *enroll(struct srv_app *app)
{
    struct srv_token_opts to = {0};
    struct srv_enroll_req e = {0};
    char *token = NULL, *tid = NULL, *pem = NULL, *secret, *dev;
    const char *code = NULL;
    EVP_PKEY *key = NULL;
    json_t *resp = NULL, *tf = NULL;
    uint8_t *raw = NULL;
    size_t rawlen = 0, plen = 0;

    WT_OK(srv_token_create(app, &to, &token, &tid));
    WT_OK(ward_base64_decode(token + 6, strlen(token + 6), WARD_BASE64_URL, &raw, &rawlen));
    tf = json_loadb((const char *)raw, rawlen, 0, NULL);
    WT_ASSERT(tf != NULL);
    secret = ward_strdup(json_string_value(json_object_get(tf, "secret")));
    WT_OK(ward_key_generate_p256(&key));
    WT_OK(ward_csr_create(key, "ignored", NULL, 0, &pem, &plen));
    e.token = secret;
    e.csr_pem = pem;
    e.csr_len = plen;
    e.hostname = "unit";
    WT_OK(srv_enroll(app, &e, &resp, &code));
    dev = ward_strdup(json_string_value(json_object_get(resp, "device_id")));
    WT_ASSERT(dev != NULL);
    json_decref(resp);
    json_decref(tf);
    EVP_PKEY_free(key);
    ward_free(raw);
    ward_free(secret);
    ward_free(pem);
    ward_free(token);
    ward_free(tid);
    return dev;
}

static const char *status_of(struct srv_app *app, const char *cid, json_t **keep)
{
    json_t *c = NULL;
    WT_OK(srv_command_show(app, cid, &c));
    json_decref(*keep);
    *keep = c;
    return json_string_value(json_object_get(c, "status"));
}

/* Posts one result; returns 1 if acknowledged, 0 if rejected. */
static int post(struct srv_app *app, const char *dev, const char *cid, const char *status,
                const char *output)
{
    json_t *req = json_pack("{s:[{s:s, s:s, s:o}]}", "results", "command_id", cid, "status", status,
                            "output", J(output));
    json_t *resp = NULL;
    int acked;
    WT_OK(srv_results(app, dev, NULL, req, &resp));
    acked = json_array_size(json_object_get(resp, "ack")) == 1;
    WT_EQ_INT(json_array_size(json_object_get(resp, "rejected")), acked ? 0 : 1);
    json_decref(req);
    json_decref(resp);
    return acked;
}

static long long count_events(struct srv_app *app)
{
    sqlite3_stmt *st = NULL;
    long long n;
    WT_OK(srv_stmt(app, "SELECT COUNT(*) FROM events WHERE kind = 'command_result'", &st));
    WT_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    n = sqlite3_column_int64(st, 0);
    srv_stmt_done(app, st);
    return n;
}

WT_TEST(results_stored_by_status)
{
    struct srv_app *app = make_app();
    char *dev = enroll(app), msg[SRV_COMMAND_MSG_MAX];
    json_t *out = NULL, *c = NULL, *params = J("{\"grace_seconds\": 30}");
    const char *cid;

    WT_OK(srv_command_send(app, dev, "reboot", params, 0, &out, msg, sizeof(msg)));
    cid = json_string_value(json_object_get(out, "command_id"));
    WT_EQ_STR(status_of(app, cid, &c), "queued");
    WT_ASSERT(json_equal(json_object_get(c, "params"), params));

    /* accepted, running (replacing each other), then final. */
    WT_ASSERT(post(app, dev, cid, "accepted", "{\"at\": 1}"));
    WT_EQ_STR(status_of(app, cid, &c), "accepted");
    WT_ASSERT(json_is_null(json_object_get(c, "finished_at")) ||
              !json_object_get(c, "finished_at"));
    WT_ASSERT(json_is_string(json_object_get(c, "updated_at")));
    WT_EQ_INT(count_events(app), 1);
    WT_ASSERT(post(app, dev, cid, "running", "{\"progress\": 50}"));
    WT_EQ_STR(status_of(app, cid, &c), "running");
    WT_EQ_INT(json_integer_value(json_object_get(
                  json_object_get(json_object_get(c, "result"), "output"), "progress")),
              50);
    WT_EQ_INT(count_events(app), 2);
    /* The very same progress again (a lost acknowledgement): acked, no new event. */
    WT_ASSERT(post(app, dev, cid, "running", "{\"progress\": 50}"));
    WT_EQ_INT(count_events(app), 2);
    WT_ASSERT(post(app, dev, cid, "accepted", "{\"at\": 2}"));
    WT_EQ_STR(status_of(app, cid, &c), "accepted");
    WT_ASSERT(post(app, dev, cid, "succeeded", "{\"booted\": true}"));
    WT_EQ_STR(status_of(app, cid, &c), "succeeded");
    WT_ASSERT(json_is_string(json_object_get(c, "finished_at")));
    WT_EQ_INT(count_events(app), 4);
    /* Nothing replaces a final result; each is still acknowledged. */
    WT_ASSERT(post(app, dev, cid, "running", "{}"));
    WT_ASSERT(post(app, dev, cid, "failed", "{}"));
    WT_ASSERT(post(app, dev, cid, "accepted", "{}"));
    WT_EQ_STR(status_of(app, cid, &c), "succeeded");
    WT_ASSERT(json_is_true(
        json_object_get(json_object_get(json_object_get(c, "result"), "output"), "booted")));
    WT_EQ_INT(count_events(app), 4);
    /* Unknown or pseudo statuses are refused. */
    WT_ASSERT(!post(app, dev, cid, "paused", "{}"));
    WT_ASSERT(!post(app, dev, cid, "queued", "{}"));
    /* A final result straight after delivery, as before. */
    json_decref(out);
    WT_OK(srv_command_send(app, dev, "lock", NULL, 0, &out, msg, sizeof(msg)));
    cid = json_string_value(json_object_get(out, "command_id"));
    WT_ASSERT(post(app, dev, cid, "failed", "{}"));
    WT_EQ_STR(status_of(app, cid, &c), "failed");
    WT_ASSERT(!post(app, "d-other", cid, "succeeded", "{}")); /* not that device's */

    /* Bad parameters are refused before anything is queued. */
    json_decref(out);
    out = NULL;
    json_decref(params);
    params = J("{\"deferrals\": 99}");
    WT_EQ_ERR(srv_command_send(app, dev, "reboot", params, 0, &out, msg, sizeof(msg)), WARD_EPARSE);
    WT_CONTAINS(msg, "params.deferrals");
    WT_EQ_ERR(srv_command_send(app, dev, "nope", NULL, 0, &out, msg, sizeof(msg)), WARD_EINVAL);
    WT_CONTAINS(msg, "unknown command type 'nope'");
    /* A file reference must name a stored file of that length. */
    json_decref(params);
    params = J("{\"interpreter\": \"/bin/sh\", \"file\": " FILE_OK "}");
    WT_EQ_ERR(srv_command_send(app, dev, "run_script", params, 0, &out, msg, sizeof(msg)),
              WARD_EPARSE);
    WT_CONTAINS(msg, "no file " SHA);

    json_decref(params);
    json_decref(out);
    json_decref(c);
    ward_free(dev);
    srv_app_close(app);
}

WT_TEST(files_added_and_opened)
{
    struct srv_app *app = make_app();
    char *dev = enroll(app), msg[SRV_COMMAND_MSG_MAX], text[512], buf[16];
    static const char data[] = "#!/bin/sh\necho from a file\n";
    const char *src = wt_write_file("script.sh", data, sizeof(data) - 1);
    const char *sha;
    json_t *f = NULL, *f2 = NULL, *list = NULL, *p = NULL, *out = NULL;
    int64_t len = 0;
    struct stat sb;
    int fd = -1;

    WT_OK(srv_file_add(app, src, &f));
    sha = json_string_value(json_object_get(f, "sha256"));
    WT_ASSERT(srv_sha256_hex_ok(sha));
    WT_EQ_INT(json_integer_value(json_object_get(f, "length")), sizeof(data) - 1);
    WT_EQ_STR(json_string_value(json_object_get(f, "name")), "script.sh");
    snprintf(text, sizeof(text), "data/files/%s", sha);
    WT_EQ_INT(stat(wt_path(text), &sb), 0);
    WT_EQ_INT(sb.st_mode & 0777, 0600);
    /* The same bytes under another name: one record, the first name. */
    src = wt_write_file("again.sh", data, sizeof(data) - 1);
    WT_OK(srv_file_add(app, src, &f2));
    WT_EQ_STR(json_string_value(json_object_get(f2, "name")), "script.sh");
    WT_OK(srv_file_list(app, &list));
    WT_EQ_INT(json_array_size(list), 1);

    WT_OK(srv_file_open(app, sha, &fd, &len));
    WT_EQ_INT(len, sizeof(data) - 1);
    WT_EQ_INT(read(fd, buf, 9), 9);
    WT_EQ_MEM(buf, "#!/bin/sh", 9);
    close(fd);
    WT_EQ_ERR(srv_file_open(app, SHA, &fd, &len), WARD_ENOENT);
    WT_EQ_ERR(srv_file_open(app, "../server.db", &fd, &len), WARD_ENOENT);
    WT_EQ_INT(fd, -1);

    /* A command naming it is queued; with a wrong length it is not. */
    snprintf(text, sizeof(text),
             "{\"interpreter\": \"/bin/sh\", \"file\": {\"url\": \"/api/v1/files/%s\","
             " \"sha256\": \"%s\", \"length\": %zu}}",
             sha, sha, sizeof(data) - 1);
    p = J(text);
    WT_OK(srv_command_send(app, dev, "run_script", p, 0, &out, msg, sizeof(msg)));
    json_decref(out);
    out = NULL;
    json_object_set_new(json_object_get(p, "file"), "length", json_integer(5));
    WT_EQ_ERR(srv_command_send(app, dev, "run_script", p, 0, &out, msg, sizeof(msg)), WARD_EPARSE);
    WT_CONTAINS(msg, "params.file.length");

    /* A stored copy that went wrong is not served. */
    snprintf(text, sizeof(text), "data/files/%s", sha);
    WT_EQ_INT(truncate(wt_path(text), 3), 0);
    WT_EQ_ERR(srv_file_open(app, sha, &fd, &len), WARD_ECORRUPT);
    /* Adding it again repairs it. */
    json_decref(f2);
    WT_OK(srv_file_add(app, src, &f2));
    WT_OK(srv_file_open(app, sha, &fd, &len));
    close(fd);

    /* Not a regular file, empty, missing. */
    json_decref(f2);
    f2 = NULL;
    WT_EQ_ERR(srv_file_add(app, wt_tmpdir(), &f2), WARD_EINVAL);
    WT_EQ_ERR(srv_file_add(app, wt_write_file("empty", "", 0), &f2), WARD_EINVAL);
    WT_EQ_ERR(srv_file_add(app, wt_path("nothing-here"), &f2), WARD_ENOENT);

    json_decref(p);
    json_decref(f);
    json_decref(f2);
    json_decref(list);
    ward_free(dev);
    srv_app_close(app);
}

/* A selective_wipe receipt is kept with the device, verified against the key the device
 * presented: a forged signature, another key or a receipt for another command is kept as
 * not verified. */
static int receipt_verified(struct srv_app *app, const char *dev, EVP_PKEY *key,
                            const char *receipt_cid, int forge)
{
    json_t *out = NULL, *params = json_object(), *d = NULL, *req, *resp = NULL;
    char msg[SRV_COMMAND_MSG_MAX], text[256], *sig = NULL;
    const char *cid;
    int v;

    WT_OK(srv_command_send(app, dev, "selective_wipe", params, 0, &out, msg, sizeof(msg)));
    cid = json_string_value(json_object_get(out, "command_id"));
    snprintf(text, sizeof(text),
             "{\"command_id\":\"%s\",\"format\":\"ward-selective-wipe-receipt-1\","
             "\"removed\":[{\"kind\":\"file\",\"name\":\"/etc/x\",\"result\":\"removed\"}],"
             "\"wiped_at\":\"2026-12-06T10:00:00Z\"}",
             receipt_cid ? receipt_cid : cid);
    WT_OK(ward_sign_sha256(key, text, strlen(text), &sig));
    if (forge)
        sig[5] = sig[5] == 'A' ? 'B' : 'A';
    req = json_pack("{s:[{s:s, s:s, s:{s:s, s:s}}]}", "results", "command_id", cid, "status",
                    "succeeded", "output", "receipt", text, "signature", sig);
    WT_OK(srv_results(app, dev, key, req, &resp));
    WT_OK(srv_device_show(app, dev, &d));
    WT_EQ_STR(json_string_value(json_object_get(json_object_get(d, "wipe_receipt"), "command_id")),
              cid);
    v = json_is_true(json_object_get(json_object_get(d, "wipe_receipt"), "verified"));
    WT_EQ_INT((int)json_array_size(json_object_get(json_object_get(d, "wipe_receipt"), "removed")),
              1);
    json_decref(req);
    json_decref(resp);
    json_decref(out);
    json_decref(params);
    json_decref(d);
    ward_free(sig);
    return v;
}

WT_TEST(selective_wipe_receipt)
{
    struct srv_app *app = make_app();
    char *dev = enroll(app);
    EVP_PKEY *key = NULL;

    WT_OK(ward_key_generate_p256(&key));
    WT_EQ_INT(receipt_verified(app, dev, key, NULL, 0), 1);
    WT_EQ_INT(receipt_verified(app, dev, key, NULL, 1), 0);
    WT_EQ_INT(receipt_verified(app, dev, key, "c-000000000000000000000000", 0), 0);
    EVP_PKEY_free(key);
    ward_free(dev);
    srv_app_close(app);
}

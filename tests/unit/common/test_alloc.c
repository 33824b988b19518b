/* SPDX-License-Identifier: Apache-2.0 */
/* The ENOMEM sweep: for n = 0, 1, 2, ... make allocation n fail while a real code path runs
 * (load a realistic agent config through ward_json, walk it with the typed getters, build a
 * report in a ward_buf, serialize it), until the path runs without hitting the failure.
 * Every run that hit it must return WARD_ENOMEM; the ASan build's LeakSanitizer checks that
 * none of them leaks. Both injection modes are swept: one failure only (a path must not
 * swallow it) and every allocation from n on (a path must not crash on repeated failure). */
#include "wtest.h"

#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/json.h"

static const char agent_config[] =
    "{\n"
    "  \"server\": {\n"
    "    \"url\": \"https://mdm.example.com:8443/ward/v1\",\n"
    "    \"ca_pin\": \"sha256:6d2a0b9d0e1f4e2c8a6b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f\",\n"
    "    \"connect_timeout_s\": 10,\n"
    "    \"checkin_interval_s\": 900,\n"
    "    \"verify\": true\n"
    "  },\n"
    "  \"log\": {\"level\": \"info\", \"sink\": \"journal\"},\n"
    "  \"proxy\": {\n"
    "    \"url\": \"http://proxy.corp.example:3128\",\n"
    "    \"no_proxy\": [\"localhost\", \"127.0.0.1\", \".corp.example\"]\n"
    "  },\n"
    "  \"inventory\": {\"interval_s\": 86400, \"collectors\": [\"os\", \"hardware\", \"apps\"]},\n"
    "  \"settings\": [\n"
    "    {\"kind\": \"file\", \"path\": \"/etc/motd\", \"mode\": \"0644\", \"content\": "
    "\"Managed\"},\n"
    "    {\"kind\": \"sysctl\", \"path\": \"net.ipv4.ip_forward\", \"mode\": \"enforce\", "
    "\"value\": 0},\n"
    "    {\"kind\": \"service\", \"path\": \"sshd\", \"mode\": \"enabled\", \"restart\": true}\n"
    "  ],\n"
    "  \"labels\": {\"site\": \"berlin\", \"owner\": \"it-ops\", \"tier\": \"standard\"}\n"
    "}\n";

static int walk_config(struct ward_buf *out)
{
    struct ward_json_error err;
    json_t *root = NULL, *server = NULL, *settings = NULL, *labels = NULL;
    const char *url = NULL, *level = "info";
    long long interval = 0;
    int verify = 0, rc;
    char path[WARD_JSON_PATH_MAX];

    rc = ward_json_loadb(agent_config, sizeof(agent_config) - 1, NULL, &root, &err);
    if (rc != 0)
        goto out;
    rc = ward_json_get_object(root, NULL, "server", WARD_JSON_REQUIRED, &server, &err);
    if (rc == 0)
        rc = ward_json_get_str(server, "$.server", "url", WARD_JSON_REQUIRED, &url, &err);
    if (rc == 0)
        rc = ward_json_get_int(server, "$.server", "checkin_interval_s", 0, 60, 86400, &interval,
                               &err);
    if (rc == 0)
        rc = ward_json_get_bool(server, "$.server", "verify", 0, &verify, &err);
    if (rc == 0)
        rc = ward_json_get_array(root, NULL, "settings", WARD_JSON_REQUIRED, &settings, &err);
    if (rc == 0)
        rc = ward_json_get_object(root, NULL, "labels", 0, &labels, &err);
    if (rc != 0)
        goto out;
    rc = ward_buf_appendf(out, "server=%s interval=%lld verify=%d level=%s\n", url, interval,
                          verify, level);
    for (size_t i = 0; rc == 0 && i < json_array_size(settings); i++) {
        const char *kind = NULL, *target = NULL, *mode = NULL;
        ward_json_path_index(path, sizeof(path), "$.settings", i);
        rc = ward_json_get_str(json_array_get(settings, i), path, "kind", WARD_JSON_REQUIRED, &kind,
                               &err);
        if (rc == 0)
            rc = ward_json_get_str(json_array_get(settings, i), path, "path", WARD_JSON_REQUIRED,
                                   &target, &err);
        if (rc == 0)
            rc = ward_json_get_str(json_array_get(settings, i), path, "mode", 0, &mode, &err);
        if (rc == 0)
            rc = ward_buf_appendf(out, "%s: %s %s (%s)\n", path, kind, target, mode);
    }
    if (rc == 0)
        rc = ward_json_dump_buf(labels, WARD_JSON_SORT_KEYS, out);
    if (rc == 0)
        rc = ward_json_dump_buf(root, WARD_JSON_SORT_KEYS | WARD_JSON_PRETTY, out);
out:
    json_decref(root);
    return rc;
}

/* The operation under test: returns 0 or a Ward code and owns nothing afterwards. */
static int config_report(void)
{
    struct ward_buf b;
    char *s;
    int rc;
    ward_buf_init(&b, 1 << 20);
    rc = walk_config(&b);
    if (rc != 0)
        goto out;
    s = ward_buf_steal(&b, NULL);
    if (!s) {
        rc = WARD_ENOMEM;
        goto out;
    }
    if (!strstr(s, "$.settings[2]: service sshd (enabled)") || !strstr(s, "\"tier\":\"standard\""))
        rc = WARD_EINVAL;
    ward_free(s);
out:
    ward_buf_release(&b);
    return rc;
}

/* A buffer built from many small appends, as child-process output capture does. */
static int build_buffer(void)
{
    struct ward_buf b;
    char *s = NULL;
    int rc = 0;
    ward_buf_init(&b, 1 << 16);
    for (int i = 0; rc == 0 && i < 400; i++)
        rc = i % 2 ? ward_buf_appendf(&b, "line %d: %s\n", i, "inventory collector output")
                   : ward_buf_append_str(&b, "-- separator --\n");
    if (rc == 0) {
        s = ward_buf_steal(&b, NULL);
        rc = s ? 0 : WARD_ENOMEM;
    }
    ward_free(s);
    ward_buf_release(&b);
    return rc;
}

static void sweep(int (*op)(void), int sticky)
{
    long total, n;
    ward_alloc_fail_reset();
    WT_OK(op());
    total = ward_alloc_count();
    WT_ASSERT(total > 3);
    for (n = 0;; n++) {
        int rc;
        ward_alloc_fail_after(n, sticky);
        rc = op();
        if (!ward_alloc_failed()) {
            WT_OK(rc);
            break;
        }
        if (rc != WARD_ENOMEM)
            wt_fail(__FILE__, __LINE__,
                    "allocation %ld failed (sticky=%d): got %s, want WARD_ENOMEM", n, sticky,
                    ward_err_name(rc));
        WT_ASSERT(n <= total);
    }
    ward_alloc_fail_reset();
    WT_ASSERT(n >= total); /* every allocation point was visited */
    /* and the path still works after all that */
    WT_OK(op());
}

WT_TEST(enomem_sweep_json_config_single)
{
    ward_json_init();
    sweep(config_report, 0);
}

WT_TEST(enomem_sweep_json_config_sticky)
{
    ward_json_init();
    sweep(config_report, 1);
}

WT_TEST(enomem_sweep_buf)
{
    sweep(build_buffer, 0);
    sweep(build_buffer, 1);
}

WT_TEST(injection_basics)
{
    void *p;
    ward_alloc_fail_after(0, 0);
    WT_ASSERT(ward_malloc(8) == NULL);
    WT_ASSERT(ward_alloc_failed());
    p = ward_malloc(8); /* not sticky: the next one works */
    WT_ASSERT(p != NULL);
    ward_free(p);
    ward_alloc_fail_after(1, 1);
    p = ward_strdup("x");
    WT_ASSERT(p != NULL);
    WT_ASSERT(ward_strdup("y") == NULL);
    WT_ASSERT(ward_calloc(1, 1) == NULL);
    ward_free(p);
    ward_alloc_fail_reset();
    WT_ASSERT(!ward_alloc_failed());
    ward_free(NULL);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for logging: the level is tested before any argument is evaluated, the hook sees
 * every line with its tag and code, error lines carry the Ward code, and the redaction
 * helpers keep secrets and proxy passwords out of log lines. */
#define WARD_LOG_TAG "logtest"

#include "wtest.h"

#include "ward/log.h"

static int side_effects;

static int bump(void)
{
    return ++side_effects;
}

struct captured {
    int count;
    int level;
    int err;
    char tag[32];
    char msg[1024];
};

static void hook(int level, const char *tag, int err, const char *msg, void *ctx)
{
    struct captured *c = ctx;
    c->count++;
    c->level = level;
    c->err = err;
    snprintf(c->tag, sizeof(c->tag), "%s", tag);
    snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

WT_TEST(level_checked_before_arguments_are_evaluated)
{
    struct captured c = {0};
    ward_log_set_hook(hook, &c);
    ward_log_set_level(WARD_LOG_WARN);
    side_effects = 0;
    WARD_DEBUG("value %d", bump());
    WARD_TRACE("value %d", bump());
    WARD_INFO("value %d", bump());
    WT_EQ_INT(side_effects, 0);
    WT_EQ_INT(c.count, 0);
    WARD_WARN("value %d", bump());
    WT_EQ_INT(side_effects, 1);
    WT_EQ_INT(c.count, 1);
    WT_EQ_STR(c.msg, "value 1");
    WARD_LOG_WARN_ERR(WARD_EIO, "value %d", bump());
    WT_EQ_INT(side_effects, 2);
    ward_log_set_level(WARD_LOG_ERROR);
    WARD_LOG_WARN_ERR(WARD_EIO, "value %d", bump());
    WT_EQ_INT(side_effects, 2);
    ward_log_set_level(WARD_LOG_TRACE);
    WARD_TRACE("value %d", bump());
    WT_EQ_INT(side_effects, 3);
    ward_log_set_hook(NULL, NULL);
}

WT_TEST(hook_captures_lines)
{
    struct captured c = {0};
    ward_log_set_level(WARD_LOG_INFO);
    ward_log_set_hook(hook, &c);
    WARD_INFO("hello %s #%d", "world", 3);
    WT_EQ_INT(c.count, 1);
    WT_EQ_INT(c.level, WARD_LOG_INFO);
    WT_EQ_INT(c.err, 0);
    WT_EQ_STR(c.tag, "logtest");
    WT_EQ_STR(c.msg, "hello world #3");
    ward_log_set_hook(NULL, NULL);
    WARD_INFO("not captured");
    WT_EQ_INT(c.count, 1);
}

WT_TEST(error_lines_carry_the_code)
{
    struct captured c = {0};
    ward_log_set_hook(hook, &c);
    WARD_LOG_ERR(WARD_ENOSPC, "writing %s", "state.db");
    WT_EQ_INT(c.level, WARD_LOG_ERROR);
    WT_EQ_ERR(c.err, WARD_ENOSPC);
    WT_CONTAINS(c.msg, "writing state.db");
    WT_CONTAINS(c.msg, "WARD_ENOSPC");
    WT_CONTAINS(c.msg, "no space left on device");
    ward_log_set_hook(NULL, NULL);
}

WT_TEST(levels_and_sinks_parse)
{
    int level = -1;
    enum ward_log_sink sink;
    for (int l = WARD_LOG_ERROR; l <= WARD_LOG_TRACE; l++) {
        WT_OK(ward_log_level_parse(ward_log_level_name(l), &level));
        WT_EQ_INT(level, l);
    }
    WT_EQ_ERR(ward_log_level_parse("loud", &level), WARD_EINVAL);
    WT_OK(ward_log_sink_parse("file", &sink));
    WT_EQ_INT(sink, WARD_LOG_SINK_FILE);
    WT_EQ_ERR(ward_log_sink_parse("carrier-pigeon", &sink), WARD_EINVAL);
    ward_log_set_level(99);
    WT_EQ_INT(ward_log_threshold, WARD_LOG_TRACE);
    ward_log_set_level(-5);
    WT_EQ_INT(ward_log_threshold, WARD_LOG_ERROR);
}

WT_TEST(redact_secret)
{
    const char *secret = "tok_4f9a1c77e0b2";
    struct captured c = {0};
    char out[64];
    ward_redact(secret, out, sizeof(out));
    WT_EQ_STR(out, "[redacted 16 bytes]");
    WT_ASSERT(strstr(out, "4f9a") == NULL);
    ward_redact(NULL, out, sizeof(out));
    WT_EQ_STR(out, "[redacted 0 bytes]");
    ward_redact(secret, out, 5);
    WT_EQ_STR(out, "[red");

    ward_log_set_level(WARD_LOG_INFO);
    ward_log_set_hook(hook, &c);
    ward_redact(secret, out, sizeof(out));
    WARD_INFO("enrolling with token %s", out);
    WT_ASSERT(strstr(c.msg, secret) == NULL);
    WT_CONTAINS(c.msg, "[redacted");
    ward_log_set_hook(NULL, NULL);
}

WT_TEST(redact_proxy_url)
{
    char out[128];
    ward_redact_url("http://alice:s3cr3t@proxy.corp:3128/", out, sizeof(out));
    WT_EQ_STR(out, "http://alice:***@proxy.corp:3128/");
    ward_redact_url("https://bob:p%40ss@10.0.0.1", out, sizeof(out));
    WT_EQ_STR(out, "https://bob:***@10.0.0.1");
    /* no password: unchanged */
    ward_redact_url("http://proxy.corp:3128", out, sizeof(out));
    WT_EQ_STR(out, "http://proxy.corp:3128");
    ward_redact_url("http://carol@proxy.corp:3128", out, sizeof(out));
    WT_EQ_STR(out, "http://carol@proxy.corp:3128");
    /* an @ in the path is not userinfo */
    ward_redact_url("http://proxy/a:b@c", out, sizeof(out));
    WT_EQ_STR(out, "http://proxy/a:b@c");
    ward_redact_url(NULL, out, sizeof(out));
    WT_EQ_STR(out, "");
    /* truncation never leaks the password */
    ward_redact_url("http://alice:s3cr3t@proxy.corp:3128/", out, 16);
    WT_EQ_INT(strlen(out), 15);
    WT_ASSERT(strstr(out, "s3cr") == NULL);
}

WT_TEST(log_limit_once_per_interval)
{
    struct ward_log_limit l;
    unsigned held = 99;
    memset(&l, 0, sizeof(l));
    WT_EQ_INT(ward_log_limit_pass(&l, 1000, 10000, &held), 1);
    WT_EQ_INT(held, 0);
    WT_EQ_INT(ward_log_limit_pass(&l, 1001, 10000, &held), 0);
    WT_EQ_INT(ward_log_limit_pass(&l, 10999, 10000, &held), 0);
    WT_EQ_INT(ward_log_limit_pass(&l, 11000, 10000, &held), 1);
    WT_EQ_INT(held, 2);
    WT_EQ_INT(ward_log_limit_pass(&l, 30000, 10000, &held), 1);
    WT_EQ_INT(held, 0);
}

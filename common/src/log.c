/* SPDX-License-Identifier: Apache-2.0 */
/* Log front end: level filter, formatting, the stderr and file sinks, and redaction. The
 * OS sinks (syslog, journal, Event Log) live in common/src/<os>/log_sink.c. */
#include "ward/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ward/error.h"
#include "ward/time.h"

int ward_log_threshold = WARD_LOG_INFO;

static enum ward_log_sink cur_sink = WARD_LOG_SINK_STDERR;
static FILE *log_file;
static ward_log_hook_fn log_hook;
static void *log_hook_ctx;

static const char *const level_names[] = {"error", "warn", "info", "debug", "trace"};
static const char *const sink_names[] = {"stderr", "syslog", "journal", "eventlog", "file"};

const char *ward_log_level_name(int level)
{
    if (level < 0 || level > WARD_LOG_TRACE)
        return "?";
    return level_names[level];
}

int ward_log_limit_pass(struct ward_log_limit *l, uint64_t now_ms, uint64_t every_ms,
                        unsigned *suppressed)
{
    if (l->logged && now_ms - l->last_ms < every_ms) {
        l->held++;
        return 0;
    }
    *suppressed = l->held;
    l->held = 0;
    l->logged = 1;
    l->last_ms = now_ms;
    return 1;
}

int ward_log_level_parse(const char *s, int *level)
{
    for (int i = 0; i <= WARD_LOG_TRACE; i++) {
        if (strcmp(s, level_names[i]) == 0) {
            *level = i;
            return 0;
        }
    }
    return WARD_EINVAL;
}

int ward_log_sink_parse(const char *s, enum ward_log_sink *sink)
{
    for (size_t i = 0; i < sizeof(sink_names) / sizeof(sink_names[0]); i++) {
        if (strcmp(s, sink_names[i]) == 0) {
            *sink = (enum ward_log_sink)i;
            return 0;
        }
    }
    return WARD_EINVAL;
}

void ward_log_set_level(int level)
{
    if (level < WARD_LOG_ERROR)
        level = WARD_LOG_ERROR;
    if (level > WARD_LOG_TRACE)
        level = WARD_LOG_TRACE;
    ward_log_threshold = level;
}

void ward_log_set_hook(ward_log_hook_fn cb, void *ctx)
{
    log_hook = cb;
    log_hook_ctx = ctx;
}

int ward_log_open(enum ward_log_sink sink, const char *arg)
{
    int rc;
    ward_log_close();
    switch (sink) {
    case WARD_LOG_SINK_STDERR:
        break;
    case WARD_LOG_SINK_FILE:
        if (!arg)
            return WARD_EINVAL;
        log_file = fopen(arg, "a");
        if (!log_file)
            return WARD_EIO;
        break;
    default:
        rc = ward_log_os_open(sink, arg ? arg : "ward");
        if (rc != 0)
            return rc;
        break;
    }
    cur_sink = sink;
    return 0;
}

void ward_log_close(void)
{
    if (cur_sink == WARD_LOG_SINK_FILE && log_file) {
        fclose(log_file);
        log_file = NULL;
    } else if (cur_sink != WARD_LOG_SINK_STDERR) {
        ward_log_os_close(cur_sink);
    }
    cur_sink = WARD_LOG_SINK_STDERR;
}

static void write_stream(FILE *f, int level, const char *tag, const char *msg, int stamp)
{
    if (stamp) {
        char ts[32];
        ward_time_iso(ward_time_now(), ts, sizeof(ts));
        fprintf(f, "%s ", ts);
    }
    fprintf(f, "ward %s [%s] %s\n", ward_log_level_name(level), tag, msg);
    fflush(f);
}

void ward_log_write(int level, const char *tag, int err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (err != 0) {
        size_t len = strlen(msg);
        if (len < sizeof(msg))
            snprintf(msg + len, sizeof(msg) - len, " (%s: %s)", ward_err_name(err),
                     ward_strerror(err));
    }
    if (log_hook)
        log_hook(level, tag, err, msg, log_hook_ctx);

    switch (cur_sink) {
    case WARD_LOG_SINK_STDERR:
        write_stream(stderr, level, tag, msg, 0);
        break;
    case WARD_LOG_SINK_FILE:
        write_stream(log_file ? log_file : stderr, level, tag, msg, 1);
        break;
    default:
        ward_log_os_write(cur_sink, level, tag, err, msg);
        break;
    }
}

void ward_redact(const char *secret, char *out, size_t outlen)
{
    if (!outlen)
        return;
    snprintf(out, outlen, "[redacted %zu bytes]", secret ? strlen(secret) : (size_t)0);
}

void ward_redact_url(const char *url, char *out, size_t outlen)
{
    const char *scheme, *auth, *at, *colon, *slash;
    if (!outlen)
        return;
    if (!url) {
        out[0] = '\0';
        return;
    }
    scheme = strstr(url, "://");
    auth = scheme ? scheme + 3 : url;
    slash = strchr(auth, '/');
    at = strchr(auth, '@');
    if (!at || (slash && at > slash)) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    colon = memchr(auth, ':', (size_t)(at - auth));
    if (!colon) {
        snprintf(out, outlen, "%s", url);
        return;
    }
    snprintf(out, outlen, "%.*s:***%s", (int)(colon - url), url, at);
}

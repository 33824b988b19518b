/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Logging. Each .c file defines WARD_LOG_TAG (its component tag) before including this
 * header. The macros test the level before any argument is evaluated or formatted, so a
 * disabled debug line costs one comparison. Error lines carry the Ward error code.
 * Secrets never go into a log: pass them through ward_redact() / ward_redact_url().
 */
#ifndef WARD_LOG_H
#define WARD_LOG_H

#include <stdint.h>

#include <stddef.h>

#include "ward/config.h"

#ifndef WARD_LOG_TAG
#define WARD_LOG_TAG "ward"
#endif

enum ward_log_level {
    WARD_LOG_ERROR = 0,
    WARD_LOG_WARN = 1,
    WARD_LOG_INFO = 2,
    WARD_LOG_DEBUG = 3,
    WARD_LOG_TRACE = 4,
};

enum ward_log_sink {
    WARD_LOG_SINK_STDERR = 0,
    WARD_LOG_SINK_SYSLOG,   /* Linux: syslog(3) */
    WARD_LOG_SINK_JOURNAL,  /* Linux: systemd journal with structured fields */
    WARD_LOG_SINK_EVENTLOG, /* Windows: Event Log */
    WARD_LOG_SINK_FILE,     /* any OS: append to a file */
};

/* Current threshold; read by the macros, set with ward_log_set_level(). */
extern int ward_log_threshold;

/* Opens a sink. `arg` is the ident for syslog/journal/eventlog and the path for FILE.
 * Returns WARD_ENOTSUP for a sink this OS does not have. */
int ward_log_open(enum ward_log_sink sink, const char *arg);
void ward_log_close(void);
void ward_log_set_level(int level);
/* "error", "warn", "info", "debug", "trace" -> level. */
int ward_log_level_parse(const char *s, int *level);
const char *ward_log_level_name(int level);
/* Parses "stderr", "syslog", "journal", "eventlog", "file". */
int ward_log_sink_parse(const char *s, enum ward_log_sink *sink);

/* A line that anyone on the machine can cause (a refused local client) is logged at most
 * once per `every_ms`: ward_log_limit_pass(l, now_ms, every_ms) answers 1 when this one may
 * be logged, with *suppressed set to how many were held back since the last one (to say
 * so in it), else 0 and counts it. Zero-initialise; now_ms is any monotonic clock. */
struct ward_log_limit {
    uint64_t last_ms;
    unsigned held, logged;
};
int ward_log_limit_pass(struct ward_log_limit *l, uint64_t now_ms, uint64_t every_ms,
                        unsigned *suppressed);

/* Test hook: every formatted line also goes to cb (NULL to remove). */
typedef void (*ward_log_hook_fn)(int level, const char *tag, int err, const char *msg, void *ctx);
void ward_log_set_hook(ward_log_hook_fn cb, void *ctx);

void ward_log_write(int level, const char *tag, int err, const char *fmt, ...) WARD_PRINTF(4, 5);

#define WARD_LOG(level, ...)                                                                       \
    do {                                                                                           \
        if ((level) <= ward_log_threshold)                                                         \
            ward_log_write((level), WARD_LOG_TAG, 0, __VA_ARGS__);                                 \
    } while (0)

/* Error line with its Ward code appended: "... (WARD_EIO: input/output error)". */
#define WARD_LOG_ERR(err, ...)                                                                     \
    do {                                                                                           \
        if (WARD_LOG_ERROR <= ward_log_threshold)                                                  \
            ward_log_write(WARD_LOG_ERROR, WARD_LOG_TAG, (err), __VA_ARGS__);                      \
    } while (0)
#define WARD_LOG_WARN_ERR(err, ...)                                                                \
    do {                                                                                           \
        if (WARD_LOG_WARN <= ward_log_threshold)                                                   \
            ward_log_write(WARD_LOG_WARN, WARD_LOG_TAG, (err), __VA_ARGS__);                       \
    } while (0)

#define WARD_ERROR(...) WARD_LOG(WARD_LOG_ERROR, __VA_ARGS__)
#define WARD_WARN(...) WARD_LOG(WARD_LOG_WARN, __VA_ARGS__)
#define WARD_INFO(...) WARD_LOG(WARD_LOG_INFO, __VA_ARGS__)
#define WARD_DEBUG(...) WARD_LOG(WARD_LOG_DEBUG, __VA_ARGS__)
#define WARD_TRACE(...) WARD_LOG(WARD_LOG_TRACE, __VA_ARGS__)

/* Redaction. ward_redact() writes "[redacted N bytes]" for a secret (never any of its
 * characters). ward_redact_url() copies a URL with the userinfo password replaced by
 * "***". Both always NUL-terminate and truncate to outlen. */
void ward_redact(const char *secret, char *out, size_t outlen);
void ward_redact_url(const char *url, char *out, size_t outlen);

/* OS sink back ends (common/src/<os>/log_sink.c). */
int ward_log_os_open(enum ward_log_sink sink, const char *ident);
void ward_log_os_write(enum ward_log_sink sink, int level, const char *tag, int err,
                       const char *msg);
void ward_log_os_close(enum ward_log_sink sink);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/* Linux log sinks: syslog(3), and the systemd journal with structured fields (the Ward
 * tag and error code) through journald's native protocol (systemd.io/JOURNAL_NATIVE_PROTOCOL,
 * documented for independent clients): one AF_UNIX datagram of "FIELD=value\n" entries to
 * /run/systemd/journal/socket. Not linking libsystemd for this keeps its pages out of the
 * agent. Log lines are short (log.c formats at most 1 KiB), so every entry fits one
 * datagram and the memfd path for huge entries is not needed. No Event Log here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "ward/error.h"
#include "ward/log.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
static const char *journal_ident = "ward";
static int journal_fd = -1;

int ward_log_os_open(enum ward_log_sink sink, const char *ident)
{
    switch (sink) {
    case WARD_LOG_SINK_SYSLOG:
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
        return 0;
    case WARD_LOG_SINK_JOURNAL:
        journal_ident = ident;
        if (journal_fd < 0)
            journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        return journal_fd < 0 ? WARD_EIO : 0;
    default:
        return WARD_ENOTSUP;
    }
}

/* Appends one field. Values with a newline use the binary form: name, '\n', the value's
 * length as 64-bit little endian, the value, '\n'. Returns the new length, or len unchanged
 * (field dropped) when it does not fit. */
static size_t journal_field(char *buf, size_t cap, size_t len, const char *name, const char *val)
{
    size_t nl = strlen(name), vl = strlen(val);
    if (!strchr(val, '\n')) {
        if (len + nl + 1 + vl + 1 > cap)
            return len;
        memcpy(buf + len, name, nl);
        buf[len + nl] = '=';
        memcpy(buf + len + nl + 1, val, vl);
        buf[len + nl + 1 + vl] = '\n';
        return len + nl + vl + 2;
    }
    if (len + nl + 1 + 8 + vl + 1 > cap)
        return len;
    memcpy(buf + len, name, nl);
    len += nl;
    buf[len++] = '\n';
    for (int i = 0; i < 8; i++)
        buf[len++] = (char)(((unsigned long long)vl >> (8 * i)) & 0xff);
    memcpy(buf + len, val, vl);
    len += vl;
    buf[len++] = '\n';
    return len;
}

static void journal_write(int prio, const char *tag, int err, const char *msg)
{
    static const struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET};
    char buf[2048], text[1200], num[8];
    size_t len = 0;
    ssize_t n;

    snprintf(text, sizeof(text), "[%s] %s", tag, msg);
    snprintf(num, sizeof(num), "%d", prio);
    len = journal_field(buf, sizeof(buf), len, "PRIORITY", num);
    len = journal_field(buf, sizeof(buf), len, "SYSLOG_IDENTIFIER", journal_ident);
    len = journal_field(buf, sizeof(buf), len, "WARD_TAG", tag);
    if (err)
        len = journal_field(buf, sizeof(buf), len, "WARD_CODE", ward_err_name(err));
    len = journal_field(buf, sizeof(buf), len, "MESSAGE", text);
    do {
        n = sendto(journal_fd, buf, len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, sizeof(sa));
    } while (n < 0 && errno == EINTR);
    /* No journald (a container, early boot): syslog is the documented fallback sink. */
    if (n < 0)
        syslog(prio, "[%s] %s", tag, msg);
}

void ward_log_os_write(enum ward_log_sink sink, int level, const char *tag, int err,
                       const char *msg)
{
    int prio = syslog_prio[level < 0 ? 0 : level > 4 ? 4 : level];
    if (sink == WARD_LOG_SINK_SYSLOG)
        syslog(prio, "[%s] %s", tag, msg);
    else if (sink == WARD_LOG_SINK_JOURNAL && journal_fd >= 0)
        journal_write(prio, tag, err, msg);
}

void ward_log_os_close(enum ward_log_sink sink)
{
    if (sink == WARD_LOG_SINK_SYSLOG) {
        closelog();
    } else if (sink == WARD_LOG_SINK_JOURNAL && journal_fd >= 0) {
        close(journal_fd);
        journal_fd = -1;
    }
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Linux log sinks: syslog(3), and the systemd journal with structured fields (the Ward
 * tag and error code) through sd_journal_send. No Event Log here. */
#include <syslog.h>
#include <systemd/sd-journal.h>

#include "ward/error.h"
#include "ward/log.h"

static const int syslog_prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG, LOG_DEBUG};
static const char *journal_ident = "ward";

int ward_log_os_open(enum ward_log_sink sink, const char *ident)
{
    switch (sink) {
    case WARD_LOG_SINK_SYSLOG:
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
        return 0;
    case WARD_LOG_SINK_JOURNAL:
        journal_ident = ident;
        return 0;
    default:
        return WARD_ENOTSUP;
    }
}

void ward_log_os_write(enum ward_log_sink sink, int level, const char *tag, int err,
                       const char *msg)
{
    int prio = syslog_prio[level < 0 ? 0 : level > 4 ? 4 : level];
    if (sink == WARD_LOG_SINK_SYSLOG) {
        syslog(prio, "[%s] %s", tag, msg);
    } else if (sink == WARD_LOG_SINK_JOURNAL) {
        sd_journal_send("MESSAGE=[%s] %s", tag, msg, "PRIORITY=%d", prio, "SYSLOG_IDENTIFIER=%s",
                        journal_ident, "WARD_TAG=%s", tag, "WARD_CODE=%s",
                        err ? ward_err_name(err) : "", NULL);
    }
}

void ward_log_os_close(enum ward_log_sink sink)
{
    if (sink == WARD_LOG_SINK_SYSLOG)
        closelog();
}

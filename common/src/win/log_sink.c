/* SPDX-License-Identifier: Apache-2.0 */
/* Windows log sink: the Application Event Log through ReportEventW. Syslog and the
 * journal do not exist here and say so. */
#include <stdio.h>
#include <windows.h>

#include "ward/error.h"
#include "ward/log.h"

static HANDLE event_source;

int ward_log_os_open(enum ward_log_sink sink, const char *ident)
{
    wchar_t wident[64];
    if (sink != WARD_LOG_SINK_EVENTLOG)
        return WARD_ENOTSUP;
    if (MultiByteToWideChar(CP_UTF8, 0, ident, -1, wident, 64) == 0)
        return WARD_EINVAL;
    event_source = RegisterEventSourceW(NULL, wident);
    return event_source ? 0 : WARD_EIO;
}

void ward_log_os_write(enum ward_log_sink sink, int level, const char *tag, int err,
                       const char *msg)
{
    wchar_t wmsg[1200];
    const wchar_t *strings[1] = {wmsg};
    char line[1100];
    WORD type = level == WARD_LOG_ERROR  ? EVENTLOG_ERROR_TYPE
                : level == WARD_LOG_WARN ? EVENTLOG_WARNING_TYPE
                                         : EVENTLOG_INFORMATION_TYPE;
    (void)err;
    if (sink != WARD_LOG_SINK_EVENTLOG || !event_source)
        return;
    snprintf(line, sizeof(line), "[%s] %s", tag, msg);
    if (MultiByteToWideChar(CP_UTF8, 0, line, -1, wmsg, 1200) == 0)
        return;
    ReportEventW(event_source, type, 0, 0, NULL, 1, 0, strings, NULL);
}

void ward_log_os_close(enum ward_log_sink sink)
{
    if (sink == WARD_LOG_SINK_EVENTLOG && event_source) {
        DeregisterEventSource(event_source);
        event_source = NULL;
    }
}

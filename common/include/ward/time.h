/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Time helpers: UTC broken-down time on every OS (gmtime_r / gmtime_s), ISO 8601 text,
 * parsing it back, and a monotonic clock for timers (wall time is for expiry checks only).
 */
#ifndef WARD_TIME_H
#define WARD_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Thread-safe UTC conversion; WARD_EINVAL for a time the OS cannot represent. */
int ward_gmtime(time_t t, struct tm *out);
/* The same in the machine's time zone (TZ), for what people read. */
int ward_localtime(time_t t, struct tm *out);
/* "2026-11-28T10:00:00Z" into out (at least 21 bytes); "" for t <= 0 or a bad time. */
void ward_time_iso(int64_t t, char *out, size_t outlen);
/* Parses exactly "YYYY-MM-DDTHH:MM:SSZ"; WARD_EPARSE otherwise. */
int ward_time_parse_iso(const char *s, int64_t *out);
/* Wall clock, seconds since the Unix epoch. */
int64_t ward_time_now(void);

#endif

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Scripting API of ward_platform_fake, the test double that unit tests of upper layers link
 * instead of ward_platform. It implements proc.h and sysinfo.h from answers the test sets
 * up in advance, and records every call with every option; fs.h and plat_user_lookup are
 * the real implementations (point fs at a scratch root). Scripted output goes through the
 * same head/tail capture as real output. Single-threaded, like the loop that uses it.
 *
 *   plat_fake_proc_expect("/usr/bin/apt-get", 0, "ok\n");
 *   ... code under test spawns /usr/bin/apt-get ...
 *   WT_EQ_INT(plat_fake_proc_call_count(), 1);
 *   WT_EQ_STR(plat_fake_proc_call_get(0)->argv[1], "update");
 *   plat_fake_reset();
 */
#ifndef PLATFORM_FAKE_H
#define PLATFORM_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include "platform/sysinfo.h"

/* One scripted answer for plat_proc_spawn / plat_proc_run. */
struct plat_fake_proc_reply {
    const char *argv0; /* matches this exact argv[0]; NULL matches any program */
    int spawn_error;   /* nonzero: the spawn fails with this code, no callback */
    int64_t exit_status;
    int term_signal;
    int timed_out;
    const char *out; /* stdout; NULL means empty */
    size_t out_len;  /* 0 means strlen(out) */
    const char *err; /* stderr (NUL-terminated); NULL means empty */
    int limit_exceeded;
    /* Reported as limits_mechanism; must outlive the run (a literal). NULL: what the real
     * library would say for the options ("cgroup" with cgroup_parent, else "rlimit" with
     * cpu_seconds or memory_bytes, else "none"). */
    const char *limits_mechanism;
};

/* A spawn the code under test made. Strings are copies owned by the fake. */
struct plat_fake_proc_call {
    char **argv;      /* NULL-terminated */
    char **env;       /* the caller's additions only, NULL-terminated */
    char *cwd;        /* NULL if inherited */
    char *stdin_data; /* NULL if none */
    size_t stdin_len;
    uint64_t timeout_ms;
    uint64_t kill_grace_ms;
    size_t stdout_max; /* capture caps as given (0: default) */
    size_t stderr_max;
    size_t stdout_tail;
    size_t stderr_tail;
    int run_as;
    uint32_t uid;
    uint32_t gid;
    uint64_t cpu_seconds;
    uint64_t memory_bytes;
    char *cgroup_parent; /* NULL if none */
    int answered;        /* a scripted reply matched; 0: unexpected, it failed WARD_ESPAWN */
};

/* Queues an answer: the first queued reply whose argv0 matches answers the next spawn and
 * is consumed. A spawn that matches nothing fails with WARD_ESPAWN (and is recorded).
 * Returns 0 or WARD_ENOMEM. */
int plat_fake_proc_expect(const char *argv0, int64_t exit_status, const char *out);
int plat_fake_proc_expect_reply(const struct plat_fake_proc_reply *reply);
/* Replies queued and not used yet. */
size_t plat_fake_proc_pending(void);
size_t plat_fake_proc_call_count(void);
/* i-th recorded call (0-based), NULL past the end. Valid until plat_fake_reset. */
const struct plat_fake_proc_call *plat_fake_proc_call_get(size_t i);

/* What plat_sysinfo_get returns from now on (copied). The default is a fixed record:
 * hostname "fake-host", os_id "fakeos", kernel "1.0.0-fake", arch "x86_64", ... */
void plat_fake_sysinfo_set(const struct plat_sysinfo *si);
/* Makes plat_sysinfo_get fail with err (0 to stop failing). */
void plat_fake_sysinfo_fail(int err);
/* Calls to plat_sysinfo_get so far, and the root the last one passed ("" for NULL). */
int plat_fake_sysinfo_calls(void);
const char *plat_fake_sysinfo_last_root(void);

/* Forgets every reply, call record and sysinfo setting. */
void plat_fake_reset(void);

#endif

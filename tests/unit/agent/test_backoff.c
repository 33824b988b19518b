/* SPDX-License-Identifier: Apache-2.0 */
/* Schedule math (jitter band, exponential backoff with full jitter, caps, Retry-After,
 * renewal at two thirds of the lifetime) and the check-in answer / error body parsers. */
#include <string.h>

#include "agent/checkin.h"
#include "ward/json.h"
#include "wtest.h"

WT_TEST(jitter_band)
{
    uint64_t lo = UINT64_MAX, hi = 0;
    for (uint32_t r = 0; r < 200000; r += 7) {
        uint64_t d = agent_sched_jitter(900000, r * 2654435761u);
        if (d < lo)
            lo = d;
        if (d > hi)
            hi = d;
    }
    WT_ASSERT(lo >= 810000);
    WT_ASSERT(hi <= 990000);
    WT_ASSERT(lo < 820000 && hi > 980000); /* the whole band is used */
    WT_EQ_INT(agent_sched_jitter(900000, 0), 810000);
    WT_EQ_INT(agent_sched_jitter(900000, 180000), 990000);
    WT_EQ_INT(agent_sched_jitter(0, 12345), 0);
}

WT_TEST(backoff_growth_cap_and_jitter)
{
    const uint64_t base = 5000, cap = 900000;
    /* The largest value for each attempt: base * 2^(n-1), until the cap. */
    WT_EQ_INT(agent_sched_backoff(1, base, cap, 5000, -1), 5000);
    WT_EQ_INT(agent_sched_backoff(2, base, cap, 10000, -1), 10000);
    WT_EQ_INT(agent_sched_backoff(3, base, cap, 20000, -1), 20000);
    WT_EQ_INT(agent_sched_backoff(8, base, cap, 640000, -1), 640000);
    /* 5 s * 2^8 = 1280 s > cap: capped. */
    for (uint32_t r = 0; r < 3000000; r += 997)
        WT_ASSERT(agent_sched_backoff(9, base, cap, r, -1) <= cap);
    WT_EQ_INT(agent_sched_backoff(9, base, cap, (uint32_t)cap, -1), cap);
    WT_EQ_INT(agent_sched_backoff(4000000000u, base, cap, (uint32_t)cap, -1), cap);
    /* Full jitter: anywhere in [1 s, ceiling] (never below one second). */
    WT_EQ_INT(agent_sched_backoff(5, base, cap, 0, -1), 1000);
    for (uint32_t r = 0; r < 100000; r += 13) {
        uint64_t d = agent_sched_backoff(3, base, cap, r, -1);
        WT_ASSERT(d >= 1000 && d <= 20000);
    }
    WT_EQ_INT(agent_sched_backoff(0, base, cap, 5000, -1), 5000); /* 0 treated as 1 */
}

WT_TEST(backoff_retry_after)
{
    /* Larger Retry-After wins; smaller does not shorten the backoff; a day at most. */
    WT_EQ_INT(agent_sched_backoff(1, 5000, 900000, 3000, 120), 120000);
    WT_EQ_INT(agent_sched_backoff(8, 5000, 900000, 600000, 2), 600000);
    WT_EQ_INT(agent_sched_backoff(1, 5000, 900000, 3000, 10L * 86400), 86400000);
    WT_EQ_INT(agent_sched_backoff(1, 5000, 900000, 3000, 0), 3000);
}

WT_TEST(backoff_cap_rule)
{
    WT_EQ_INT(agent_sched_backoff_cap(900000, 0), 900000);
    WT_EQ_INT(agent_sched_backoff_cap(30000, 0), 60000);    /* at least 60 s */
    WT_EQ_INT(agent_sched_backoff_cap(900000, 4000), 4000); /* configured (tests) */
}

WT_TEST(renewal_time)
{
    /* 30-day certificate: due after 20 days. */
    int64_t nb = 1795860000, na = nb + 30 * 86400;
    WT_EQ_INT(agent_sched_renew_at(nb, na), nb + 20 * 86400);
    WT_EQ_INT(agent_sched_renew_due(nb, na, nb + 20 * 86400 - 1), 0);
    WT_EQ_INT(agent_sched_renew_due(nb, na, nb + 20 * 86400), 1);
    WT_EQ_INT(agent_sched_renew_due(nb, na, na + 5), 1);
    /* Short-lived (test) certificate: 90 s -> 60 s. */
    WT_EQ_INT(agent_sched_renew_at(nb, nb + 90), nb + 60);
    /* Nonsense window: due at once. */
    WT_EQ_INT(agent_sched_renew_due(nb, nb - 1, nb), 1);
}

WT_TEST(checkin_answer)
{
    struct agent_checkin_answer a;
    const char *ok = "{\"checkin_interval\": 60, \"server_time\": \"2026-11-28T10:00:00Z\","
                     " \"commands\": [{\"payload\": \"x\"}], \"renew\": true, \"future\": 1}";
    WT_OK(agent_checkin_parse_answer(ok, strlen(ok), &a));
    WT_EQ_INT(a.checkin_interval, 60);
    WT_EQ_INT(a.renew, 1);
    WT_EQ_INT(json_array_size(a.commands), 1);
    agent_checkin_answer_release(&a);
    WT_OK(agent_checkin_parse_answer("{}", 2, &a));
    WT_EQ_INT(a.checkin_interval, 0);
    WT_ASSERT(json_is_array(a.commands));
    agent_checkin_answer_release(&a);

    const char *bad[] = {
        "",
        "<html>hi</html>",
        "[]",
        "{\"checkin_interval\": \"60\"}",
        "{\"checkin_interval\": 0}",
        "{\"checkin_interval\": 99999999}",
        "{\"commands\": {}}",
        "{\"renew\": 1}",
        "{\"server_time\": \"yesterday\"}",
        "{\"commands\": [",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        WT_EQ_ERR(agent_checkin_parse_answer(bad[i], strlen(bad[i]), &a), WARD_EPARSE);
        agent_checkin_answer_release(&a);
    }
}

WT_TEST(error_codes)
{
    char code[32];
    const char *b = "{\"error\": {\"code\": \"token_expired\", \"message\": \"m\"}}";
    agent_proto_error_code(b, strlen(b), code, sizeof(code));
    WT_EQ_STR(code, "token_expired");
    agent_proto_error_code("<html>", 6, code, sizeof(code));
    WT_EQ_STR(code, "");
    b = "{\"error\": {\"code\": \"Evil\\nLine\"}}";
    agent_proto_error_code(b, strlen(b), code, sizeof(code));
    WT_EQ_STR(code, "");
    agent_proto_error_code(NULL, 0, code, sizeof(code));
    WT_EQ_STR(code, "");
}

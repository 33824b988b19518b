/* SPDX-License-Identifier: Apache-2.0 */
/*
 * agent/authority.h: what an enrollment answer grants (and what a personal device never
 * holds, whatever the answer says), what is stored, and the managed-artifacts table that
 * selective_wipe and personal package removal rely on.
 */
#include <string.h>

#include "agent/artifacts.h"
#include "agent/authority.h"
#include "agent/state.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "wtest.h"

static json_t *answer(const char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    WT_ASSERT(j != NULL);
    return j;
}

static int from(const char *text, struct agent_authority *a)
{
    char msg[200];
    json_t *j = answer(text);
    int rc = agent_authority_from_answer(j, a, msg, sizeof(msg));
    json_decref(j);
    return rc;
}

WT_TEST(answer_grants)
{
    struct agent_authority a;
    char caps[64];

    /* An older service: what it could already do. */
    WT_OK(from("{}", &a));
    WT_ASSERT(!a.personal && a.caps == AGENT_CAP_ALL && !a.has_offline_key);
    WT_OK(
        from("{\"ownership\": \"corporate\", \"capabilities\": [\"packages\", \"teleport\"]}", &a));
    WT_ASSERT(a.caps == AGENT_CAP_PACKAGES); /* unknown names ignored */
    /* A personal device never holds full_wipe or scripts, even when granted. */
    WT_OK(from("{\"ownership\": \"personal\", \"capabilities\": [\"full_wipe\", \"scripts\","
               " \"packages\"]}",
               &a));
    WT_ASSERT(a.personal && a.caps == AGENT_CAP_PACKAGES);
    WT_OK(from("{\"ownership\": \"personal\"}", &a));
    WT_ASSERT(a.caps == 0);
    agent_authority_caps_text(AGENT_CAP_ALL, caps, sizeof(caps));
    WT_EQ_STR(caps, "full_wipe,scripts,packages");

    WT_EQ_INT(from("{\"ownership\": \"mine\"}", &a), WARD_EPROTO);
    WT_EQ_INT(from("{\"capabilities\": \"scripts\"}", &a), WARD_EPROTO);
    WT_EQ_INT(from("{\"capabilities\": [1]}", &a), WARD_EPROTO);
    WT_EQ_INT(from("{\"offline_key\": \"AAAA\"}", &a), WARD_EPROTO);
    WT_EQ_INT(from("{\"offline_key\": 7}", &a), WARD_EPROTO);
    WT_OK(from("{\"offline_key\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}", &a));
    WT_ASSERT(a.has_offline_key && a.offline_key[31] == 31);
}

WT_TEST(stored_and_loaded)
{
    struct agent_state *st = NULL;
    struct agent_authority a, b;

    WT_OK(agent_state_open(wt_path("state"), &st));
    WT_OK(agent_authority_load(st, &b)); /* enrolled before grants existed */
    WT_ASSERT(!b.personal && b.caps == AGENT_CAP_ALL && !b.has_offline_key);
    WT_OK(from("{\"ownership\": \"personal\", \"capabilities\": [\"packages\"], \"offline_key\":"
               " \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\"}",
               &a));
    WT_OK(agent_authority_store(st, &a));
    WT_OK(agent_authority_load(st, &b));
    WT_ASSERT(b.personal && b.caps == AGENT_CAP_PACKAGES && b.has_offline_key);
    WT_ASSERT(memcmp(a.offline_key, b.offline_key, sizeof(a.offline_key)) == 0);
    /* A tampered row widening a personal device's grants does not widen them. */
    WT_OK(agent_state_set(st, AGENT_META_CAPABILITIES, "full_wipe,scripts,packages"));
    WT_OK(agent_authority_load(st, &b));
    WT_ASSERT(b.caps == AGENT_CAP_PACKAGES);
    WT_OK(agent_state_set(st, AGENT_META_OFFLINE_KEY, "not base64"));
    WT_EQ_INT(agent_authority_load(st, &b), WARD_ECORRUPT);
    agent_state_close(st);
}

WT_TEST(artifacts)
{
    struct agent_state *st = NULL;
    json_t *list = NULL, *d = json_pack("{s:s}", "version", "1.2");

    WT_OK(agent_state_open(wt_path("state"), &st));
    WT_EQ_INT(agent_artifacts_has(st, "package", "htop"), 0);
    WT_OK(agent_artifacts_add(st, "package", "htop", d, "c-1"));
    WT_OK(agent_artifacts_add(st, "file", "/etc/x.conf", NULL, NULL));
    WT_OK(agent_artifacts_add(st, "package", "htop", d, "c-2")); /* replaces */
    WT_EQ_INT(agent_artifacts_has(st, "package", "htop"), 1);
    WT_EQ_INT(agent_artifacts_has(st, "file", "htop"), 0);
    WT_OK(agent_artifacts_list(st, &list));
    WT_EQ_INT((int)json_array_size(list), 2);
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *r = json_array_get(list, i);
        if (strcmp(json_string_value(json_object_get(r, "name")), "htop") == 0)
            WT_EQ_STR(json_string_value(json_object_get(r, "command_id")), "c-2");
    }
    json_decref(list);
    WT_OK(agent_artifacts_remove(st, "package", "htop"));
    WT_OK(agent_artifacts_remove(st, "package", "htop"));
    WT_EQ_INT(agent_artifacts_has(st, "package", "htop"), 0);
    WT_EQ_INT(agent_artifacts_add(st, "", "x", NULL, NULL), WARD_EINVAL);
    json_decref(d);
    agent_state_close(st);
}

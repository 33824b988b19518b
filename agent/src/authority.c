/* SPDX-License-Identifier: Apache-2.0 */
/* Grants, ownership and the offline key (agent/authority.h). */
#define WARD_LOG_TAG "authority"

#include "agent/authority.h"

#include <stdio.h>
#include <string.h>

#include "agent/commands.h"
#include "agent/state.h"
#include "enforcement/command.h"
#include "ward/alloc.h"
#include "ward/error.h"
#include "ward/json.h"
#include "ward/log.h"
#include "ward/time.h"

static const struct {
    unsigned bit;
    const char *name;
} cap_names[] = {
    {AGENT_CAP_FULL_WIPE, ENF_CAP_FULL_WIPE},
    {AGENT_CAP_SCRIPTS, ENF_CAP_SCRIPTS},
    {AGENT_CAP_PACKAGES, ENF_CAP_PACKAGES},
};

#define NCAPS (sizeof(cap_names) / sizeof(cap_names[0]))

unsigned agent_authority_cap_bit(const char *name)
{
    for (size_t i = 0; name && i < NCAPS; i++)
        if (strcmp(cap_names[i].name, name) == 0)
            return cap_names[i].bit;
    return 0;
}

void agent_authority_caps_text(unsigned caps, char *out, size_t outlen)
{
    size_t used = 0;
    if (outlen == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < NCAPS; i++) {
        if (!(caps & cap_names[i].bit))
            continue;
        int n = snprintf(out + used, outlen - used, "%s%s", used ? "," : "", cap_names[i].name);
        if (n < 0 || (size_t)n >= outlen - used)
            return;
        used += (size_t)n;
    }
}

/* "a,b" into bits; unknown names are ignored (a newer service may grant more). */
static unsigned caps_parse(const char *text)
{
    unsigned caps = 0;
    char name[32];
    for (const char *p = text; p && *p;) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n < sizeof(name)) {
            memcpy(name, p, n);
            name[n] = '\0';
            caps |= agent_authority_cap_bit(name);
        }
        p = e ? e + 1 : NULL;
    }
    return caps;
}

static void legacy(struct agent_authority *a)
{
    memset(a, 0, sizeof(*a));
    a->caps = AGENT_CAP_ALL;
}

int agent_authority_from_answer(const json_t *ans, struct agent_authority *out, char *msg,
                                size_t msglen)
{
    const char *own = NULL, *key = NULL;
    json_t *caps = NULL, *v;
    uint8_t *raw = NULL;
    size_t i, rawlen = 0;

    legacy(out);
    if (ward_json_get_str(ans, NULL, "ownership", 0, &own, NULL) != 0 ||
        (own && strcmp(own, "corporate") != 0 && strcmp(own, "personal") != 0)) {
        snprintf(msg, msglen, "the enrollment answer's ownership is not corporate or personal");
        return WARD_EPROTO;
    }
    out->personal = own && strcmp(own, "personal") == 0;
    if (ward_json_get_array(ans, NULL, "capabilities", 0, &caps, NULL) != 0) {
        snprintf(msg, msglen, "the enrollment answer's capabilities are not a list");
        return WARD_EPROTO;
    }
    if (caps) {
        out->caps = 0;
        json_array_foreach(caps, i, v)
        {
            if (!json_is_string(v)) {
                snprintf(msg, msglen, "the enrollment answer's capabilities are not names");
                return WARD_EPROTO;
            }
            if (!agent_authority_cap_bit(json_string_value(v)))
                WARD_WARN("the service granted '%.40s', which this agent does not know; ignored",
                          json_string_value(v));
            out->caps |= agent_authority_cap_bit(json_string_value(v));
        }
    } else if (out->personal) {
        out->caps = 0;
    }
    /* Whatever the service says, a personal device never holds these. */
    if (out->personal)
        out->caps &= ~(unsigned)(AGENT_CAP_FULL_WIPE | AGENT_CAP_SCRIPTS);
    if (ward_json_get_str(ans, NULL, "offline_key", 0, &key, NULL) != 0) {
        snprintf(msg, msglen, "the enrollment answer's offline key is not a string");
        return WARD_EPROTO;
    }
    if (key) {
        int rc = ward_base64_decode(key, strlen(key), 0, &raw, &rawlen);
        if (rc == WARD_ENOMEM)
            return rc;
        if (rc != 0 || rawlen != WARD_ED25519_PUB_LEN) {
            ward_free(raw);
            snprintf(msg, msglen, "the enrollment answer's offline key is malformed");
            return WARD_EPROTO;
        }
        memcpy(out->offline_key, raw, WARD_ED25519_PUB_LEN);
        out->has_offline_key = 1;
        ward_free(raw);
    }
    return 0;
}

int agent_authority_load(struct agent_state *st, struct agent_authority *out)
{
    char *v = NULL;
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    int rc;

    legacy(out);
    rc = agent_state_get(st, AGENT_META_OWNERSHIP, &v);
    if (rc == 0)
        out->personal = strcmp(v, "personal") == 0;
    ward_free(v);
    v = NULL;
    if (rc != 0 && rc != WARD_ENOENT)
        return rc;
    rc = agent_state_get(st, AGENT_META_CAPABILITIES, &v);
    if (rc == 0)
        out->caps = caps_parse(v);
    else if (out->personal)
        out->caps = 0;
    ward_free(v);
    v = NULL;
    if (rc != 0 && rc != WARD_ENOENT)
        return rc;
    if (out->personal)
        out->caps &= ~(unsigned)(AGENT_CAP_FULL_WIPE | AGENT_CAP_SCRIPTS);
    rc = agent_state_get(st, AGENT_META_OFFLINE_KEY, &v);
    if (rc == 0) {
        rc = ward_base64_decode(v, strlen(v), 0, &raw, &rawlen);
        if (rc == 0 && rawlen == WARD_ED25519_PUB_LEN) {
            memcpy(out->offline_key, raw, WARD_ED25519_PUB_LEN);
            out->has_offline_key = 1;
        } else if (rc != WARD_ENOMEM) {
            rc = WARD_ECORRUPT;
        }
        ward_free(raw);
    } else if (rc == WARD_ENOENT) {
        rc = 0;
    }
    ward_free(v);
    return rc;
}

int agent_authority_store(struct agent_state *st, const struct agent_authority *a)
{
    char caps[64], *key = NULL;
    int rc;

    agent_authority_caps_text(a->caps, caps, sizeof(caps));
    rc = agent_state_set(st, AGENT_META_OWNERSHIP, a->personal ? "personal" : "corporate");
    if (rc == 0)
        rc = agent_state_set(st, AGENT_META_CAPABILITIES, caps);
    if (rc == 0 && a->has_offline_key) {
        rc = ward_base64_encode(a->offline_key, WARD_ED25519_PUB_LEN, 0, &key);
        if (rc == 0)
            rc = agent_state_set(st, AGENT_META_OFFLINE_KEY, key);
        ward_free(key);
    }
    return rc;
}

/* Checks the offline authorization against the command itself. */
static const char *check_offline(const struct agent_authority *a, const struct agent_command *c,
                                 int64_t now, char *why, size_t whylen)
{
    static const char *const keys[] = {"purpose", "command_id", "device_id", "type",
                                       "params",  "not_after",  NULL};
    const json_t *auth = c->authorization;
    const char *doc = NULL, *sig = NULL, *s = NULL;
    uint8_t *raw = NULL, *sigraw = NULL;
    size_t rawlen = 0, siglen = 0;
    json_t *d = NULL, *params = NULL;
    int64_t not_after = 0;
    const char *res = why;

    if (!auth) {
        snprintf(why, whylen,
                 "%s needs the offline administrator's signature (ward-server command prepare,"
                 " sign, send --signed); this one has only the service's",
                 c->type);
        return why;
    }
    if (ward_json_get_str(auth, NULL, "document", WARD_JSON_REQUIRED, &doc, NULL) != 0 ||
        ward_json_get_str(auth, NULL, "signature", WARD_JSON_REQUIRED, &sig, NULL) != 0 ||
        strlen(doc) > 96 * 1024 || ward_base64_decode(doc, strlen(doc), 0, &raw, &rawlen) != 0 ||
        ward_base64_decode(sig, strlen(sig), 0, &sigraw, &siglen) != 0 ||
        siglen != WARD_ED25519_SIG_LEN) {
        snprintf(why, whylen, "the offline authorization is malformed");
        goto out;
    }
    if (ward_ed25519_verify(a->offline_key, raw, rawlen, sigraw) != 0) {
        snprintf(why, whylen,
                 "the offline authorization's signature does not verify against the offline key"
                 " pinned at enrollment");
        goto out;
    }
    if (ward_json_loadb((const char *)raw, rawlen, NULL, &d, NULL) != 0 || !json_is_object(d) ||
        ward_json_check_keys(d, NULL, keys, NULL) != 0 ||
        ward_json_get_str(d, NULL, "purpose", WARD_JSON_REQUIRED, &s, NULL) != 0 ||
        strcmp(s, AGENT_OFFLINE_PURPOSE) != 0 ||
        ward_json_get_object(d, NULL, "params", WARD_JSON_REQUIRED, &params, NULL) != 0 ||
        ward_json_get_str(d, NULL, "not_after", WARD_JSON_REQUIRED, &s, NULL) != 0 ||
        ward_time_parse_iso(s, &not_after) != 0) {
        snprintf(why, whylen, "the offline-signed document is malformed");
        goto out;
    }
    static const char *const same[] = {"command_id", "device_id", "type"};
    const char *mine[] = {c->command_id, c->device_id, c->type};
    for (size_t i = 0; i < 3; i++) {
        if (ward_json_get_str(d, NULL, same[i], WARD_JSON_REQUIRED, &s, NULL) != 0 ||
            strcmp(s, mine[i]) != 0) {
            snprintf(why, whylen,
                     "the offline authorization is for another command (its %s is %.80s)", same[i],
                     s ? s : "missing");
            goto out;
        }
    }
    if (!json_equal(params, c->params)) {
        snprintf(why, whylen, "the offline authorization's parameters differ from the command's");
        goto out;
    }
    if (not_after + AGENT_CMD_CLOCK_SKEW <= now) {
        snprintf(why, whylen, "the offline authorization expired at %s", s);
        goto out;
    }
    res = NULL;
out:
    json_decref(d);
    ward_free(raw);
    ward_free(sigraw);
    return res;
}

const char *agent_authority_check(const struct agent_authority *a, const struct enf_cmd *cmd,
                                  const struct agent_command *c, int64_t now, char *why,
                                  size_t whylen)
{
    if (a->personal && (cmd->flags & ENF_CMD_CORPORATE_ONLY)) {
        snprintf(why, whylen, "this is a personal device: %s is never accepted here", cmd->name);
        return why;
    }
    if (cmd->capability && !(a->caps & agent_authority_cap_bit(cmd->capability))) {
        snprintf(why, whylen, "this device was not granted '%s' at enrollment", cmd->capability);
        return why;
    }
    if ((cmd->flags & ENF_CMD_NEEDS_OFFLINE_KEY) && !a->has_offline_key) {
        snprintf(why, whylen,
                 "%s needs the offline administrator's signature and this device pinned no"
                 " offline key at enrollment",
                 cmd->name);
        return why;
    }
    if (a->has_offline_key && enf_cmd_destructive(cmd, c->params))
        return check_offline(a, c, now, why, whylen);
    return NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Agent configuration: schema-driven validation, one error per problem with its JSON path,
 * nothing applied from a document with errors, command-line overrides, reload copies. */
#include "agent/config.h"
#include "ward/alloc.h"
#include "ward/buf.h"
#include "ward/json.h"
#include "ward/log.h"
#include "wtest.h"

static int count_lines(const char *s)
{
    int n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

static int load(struct agent_config *cfg, const char *doc, struct ward_buf *errs)
{
    ward_json_init();
    ward_buf_init(errs, 64 * 1024);
    return agent_config_load_buf(cfg, doc, strlen(doc), errs);
}

WT_TEST(defaults)
{
    struct agent_config c;
    WT_OK(agent_config_init(&c));
    WT_EQ_INT(c.checkin_interval, 900);
    WT_EQ_INT(c.log_level, WARD_LOG_INFO);
    WT_EQ_STR(c.root, "/");
    WT_ASSERT(c.state_dir && c.state_dir[0]);
    WT_ASSERT(c.server_url == NULL);
    agent_config_release(&c);
}

WT_TEST(valid_document_applies_every_key)
{
    struct agent_config c;
    struct ward_buf e;
    WT_OK(agent_config_init(&c));
    WT_OK(load(&c,
               "{\"server_url\": \"https://mdm.example:8443\", \"log_level\": \"debug\","
               " \"log_sink\": \"journal\", \"checkin_interval\": 60, \"state_dir\": \"/s\","
               " \"proxy\": \"http://u:p@proxy:3128\", \"no_proxy\": \"localhost\","
               " \"max_response\": 65536, \"connect_timeout\": 5}",
               &e));
    WT_EQ_INT(e.len, 0);
    WT_EQ_STR(c.server_url, "https://mdm.example:8443");
    WT_EQ_INT(c.log_level, WARD_LOG_DEBUG);
    WT_EQ_INT(c.log_sink, WARD_LOG_SINK_JOURNAL);
    WT_EQ_INT(c.checkin_interval, 60);
    WT_EQ_STR(c.state_dir, "/s");
    WT_EQ_STR(c.proxy, "http://u:p@proxy:3128");
    WT_EQ_INT(c.max_response, 65536);
    WT_EQ_INT(c.connect_timeout, 5);
    ward_buf_release(&e);
    agent_config_release(&c);
}

WT_TEST(every_problem_reported_once_with_path_and_nothing_applied)
{
    struct agent_config c;
    struct ward_buf e;
    WT_OK(agent_config_init(&c));
    WT_EQ_ERR(load(&c,
                   "{\"log_level\": \"loud\", \"checkin_interval\": 5, \"colour\": true,"
                   " \"server_url\": \"http://plain\", \"state_dir\": 3,"
                   " \"connect_timeout\": \"10\"}",
                   &e),
              WARD_ECONFIG);
    WT_EQ_INT(count_lines(e.data), 6);
    WT_CONTAINS(e.data, "$.log_level: \"loud\" is not one of the allowed values");
    WT_CONTAINS(e.data, "$.checkin_interval: 5 is outside 30..86400");
    WT_CONTAINS(e.data, "$.colour: unknown key");
    WT_CONTAINS(e.data, "$.server_url: \"http://plain\" is not an https:// URL");
    WT_CONTAINS(e.data, "$.state_dir: expected a string, got integer");
    WT_CONTAINS(e.data, "$.connect_timeout: expected an integer, got string");
    /* Nothing from the bad document was applied. */
    WT_EQ_INT(c.log_level, WARD_LOG_INFO);
    WT_EQ_INT(c.checkin_interval, 900);
    ward_buf_release(&e);
    agent_config_release(&c);
}

WT_TEST(one_bad_key_blocks_the_good_ones)
{
    struct agent_config c;
    struct ward_buf e;
    WT_OK(agent_config_init(&c));
    WT_EQ_ERR(load(&c, "{\"checkin_interval\": 60, \"log_level\": 1}", &e), WARD_ECONFIG);
    WT_EQ_INT(c.checkin_interval, 900);
    WT_EQ_INT(count_lines(e.data), 1);
    ward_buf_release(&e);
    agent_config_release(&c);
}

WT_TEST(syntax_error_has_line_and_column)
{
    struct agent_config c;
    struct ward_buf e;
    WT_OK(agent_config_init(&c));
    WT_EQ_ERR(load(&c, "{\"log_level\": \"info\",\n  \"checkin_interval\": }", &e), WARD_ECONFIG);
    WT_CONTAINS(e.data, "line 2, column");
    WT_CONTAINS(e.data, "$.checkin_interval");
    ward_buf_release(&e);
    agent_config_release(&c);
}

WT_TEST(duplicate_key_and_non_object_refused)
{
    struct agent_config c;
    struct ward_buf e;
    WT_OK(agent_config_init(&c));
    WT_EQ_ERR(load(&c, "{\"log_level\": \"info\", \"log_level\": \"debug\"}", &e), WARD_ECONFIG);
    WT_CONTAINS(e.data, "log_level");
    ward_buf_release(&e);
    WT_EQ_ERR(load(&c, "[1, 2]", &e), WARD_ECONFIG);
    WT_CONTAINS(e.data, "must be a JSON object");
    ward_buf_release(&e);
    WT_EQ_ERR(load(&c, "{\"no_proxy\": {\"a\": {\"b\": {\"c\": {\"d\": 1}}}}}", &e), WARD_ECONFIG);
    ward_buf_release(&e);
    WT_EQ_INT(c.log_level, WARD_LOG_INFO);
    agent_config_release(&c);
}

WT_TEST(oversized_file_refused)
{
    struct agent_config c;
    struct ward_buf e;
    size_t n = 300 * 1024;
    char *big = ward_malloc(n + 1);
    WT_ASSERT(big);
    memset(big, ' ', n);
    big[0] = '{';
    big[n - 1] = '}';
    big[n] = '\0';
    WT_OK(agent_config_init(&c));
    WT_EQ_ERR(load(&c, big, &e), WARD_ECONFIG);
    WT_ASSERT(e.len > 0);
    ward_free(big);
    ward_buf_release(&e);
    agent_config_release(&c);
}

WT_TEST(overrides_validate_like_the_file)
{
    struct agent_config c;
    struct ward_buf e;
    WT_OK(agent_config_init(&c));
    ward_buf_init(&e, 4096);
    WT_OK(agent_config_set(&c, "state_dir", "/tmp/x", &e));
    WT_EQ_STR(c.state_dir, "/tmp/x");
    WT_OK(agent_config_set(&c, "checkin_interval", "120", &e));
    WT_EQ_INT(c.checkin_interval, 120);
    WT_EQ_ERR(agent_config_set(&c, "checkin_interval", "12x", &e), WARD_ECONFIG);
    WT_EQ_ERR(agent_config_set(&c, "log_level", "chatty", &e), WARD_ECONFIG);
    WT_EQ_ERR(agent_config_set(&c, "nonsense", "1", &e), WARD_ECONFIG);
    WT_EQ_INT(count_lines(e.data), 3);
    WT_EQ_INT(c.checkin_interval, 120);
    ward_buf_release(&e);
    agent_config_release(&c);
}

WT_TEST(file_loading_prefixes_the_file_name)
{
    struct agent_config c;
    struct ward_buf e;
    const char *p = wt_write_file("agent.json", "{\"log_level\": 3}", 16);
    WT_OK(agent_config_init(&c));
    ward_buf_init(&e, 4096);
    WT_EQ_ERR(agent_config_load_file(&c, p, &e), WARD_ECONFIG);
    WT_CONTAINS(e.data, p);
    WT_CONTAINS(e.data, "$.log_level: expected a string, got integer");
    ward_buf_reset(&e);
    WT_EQ_ERR(agent_config_load_file(&c, wt_path("missing.json"), &e), WARD_ENOENT);
    ward_buf_release(&e);
    agent_config_release(&c);
}

WT_TEST(copy_is_deep)
{
    struct agent_config a, b;
    struct ward_buf e;
    WT_OK(agent_config_init(&a));
    ward_buf_init(&e, 4096);
    WT_OK(agent_config_set(&a, "server_url", "https://one", &e));
    WT_OK(agent_config_copy(&b, &a));
    WT_OK(agent_config_set(&a, "server_url", "https://two", &e));
    WT_EQ_STR(b.server_url, "https://one");
    ward_buf_release(&e);
    agent_config_release(&a);
    agent_config_release(&b);
}

WT_TEST(enomem_sweep_never_half_applies)
{
    static const char doc[] = "{\"server_url\": \"https://a:1\", \"log_level\": \"debug\","
                              " \"state_dir\": \"/var/x\", \"checkin_interval\": 300}";
    ward_json_init();
    for (long n = 0;; n++) {
        struct agent_config c;
        struct ward_buf e;
        int rc;
        WT_OK(agent_config_init(&c));
        ward_buf_init(&e, 4096);
        ward_alloc_fail_after(n, 1);
        rc = agent_config_load_buf(&c, doc, sizeof(doc) - 1, &e);
        int fired = ward_alloc_failed();
        ward_alloc_fail_reset();
        if (!fired) {
            WT_OK(rc);
            WT_EQ_STR(c.server_url, "https://a:1");
            ward_buf_release(&e);
            agent_config_release(&c);
            WT_ASSERT(n > 3);
            break;
        }
        WT_ASSERT(rc != 0);
        /* Either unchanged or fully applied, never in between. */
        WT_ASSERT(c.server_url == NULL);
        WT_EQ_INT(c.checkin_interval, 900);
        ward_buf_release(&e);
        agent_config_release(&c);
    }
}

/* SPDX-License-Identifier: Apache-2.0 */
/* Tests for the JSON helpers: limits (size, depth checked before parsing), duplicate keys,
 * error positions and JSON paths, valid documents, typed getters, path formatting and
 * serialization. */
#include "wtest.h"

#include "ward/alloc.h"
#include "ward/json.h"

static int load(const char *text, const struct ward_json_limits *lim, json_t **out,
                struct ward_json_error *err)
{
    return ward_json_loadb(text, strlen(text), lim, out, err);
}

WT_TEST(valid_documents)
{
    static const char *docs[] = {
        "{}",
        "[]",
        " {\"a\": 1, \"b\": [true, false, null, 1.5, \"x\"]}\n",
        "[[[[\"deep\"]]]]",
        "{\"unicode\": \"gr\\u00fc\\u00df \xc3\xa9\", \"emoji\": \"\xf0\x9f\x94\x92\"}",
        "{\"a\": {\"a\": {\"a\": 1}}, \"b\": {\"a\": 2}}", /* same key in different objects */
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *j = NULL;
        struct ward_json_error err;
        int rc = load(docs[i], NULL, &j, &err);
        if (rc != 0)
            wt_fail(__FILE__, __LINE__, "doc %d: %s at %s: %s", (int)i, ward_err_name(rc), err.path,
                    err.text);
        WT_ASSERT(j != NULL);
        json_decref(j);
    }
}

WT_TEST(values_are_parsed)
{
    json_t *j = NULL;
    const char text[] = "{\"name\": \"ward\", \"n\": 42}";
    /* not NUL-terminated: only len bytes may be read */
    char buf[sizeof(text) - 1];
    memcpy(buf, text, sizeof(buf));
    WT_OK(ward_json_loadb(buf, sizeof(buf), NULL, &j, NULL));
    WT_EQ_STR(json_string_value(json_object_get(j, "name")), "ward");
    WT_EQ_INT(json_integer_value(json_object_get(j, "n")), 42);
    json_decref(j);
}

WT_TEST(size_cap)
{
    struct ward_json_limits lim = {16, 0};
    struct ward_json_error err;
    json_t *j = NULL;
    WT_OK(load("{\"abcdefghij\":1}", &lim, &j, &err)); /* exactly 16 bytes */
    json_decref(j);
    j = NULL;
    WT_EQ_ERR(load("{\"abcdefghijk\":1}", &lim, &j, &err), WARD_ETOOBIG);
    WT_ASSERT(j == NULL);
    WT_EQ_STR(err.path, "$");
    WT_CONTAINS(err.text, "limit is 16");
}

static char *nested(int depth)
{
    char *s = ward_malloc((size_t)depth * 2 + 1);
    WT_ASSERT(s != NULL);
    for (int i = 0; i < depth; i++) {
        s[i] = '[';
        s[depth * 2 - 1 - i] = ']';
    }
    s[depth * 2] = '\0';
    return s;
}

WT_TEST(depth_cap_default)
{
    struct ward_json_error err;
    json_t *j = NULL;
    char *ok = nested(WARD_JSON_DEFAULT_MAX_DEPTH);
    char *deep = nested(WARD_JSON_DEFAULT_MAX_DEPTH + 1);
    char *huge = nested(5000); /* past jansson's own limit: still our clean error */
    WT_OK(load(ok, NULL, &j, &err));
    json_decref(j);
    j = NULL;
    WT_EQ_ERR(load(deep, NULL, &j, &err), WARD_EDEPTH);
    WT_ASSERT(j == NULL);
    WT_EQ_INT(err.position, WARD_JSON_DEFAULT_MAX_DEPTH);
    WT_EQ_INT(err.line, 1);
    WT_EQ_INT(err.column, WARD_JSON_DEFAULT_MAX_DEPTH + 1);
    WT_ASSERT(strncmp(err.path, "$[0][0][0]", 10) == 0);
    WT_EQ_ERR(load(huge, NULL, &j, &err), WARD_EDEPTH);
    ward_free(ok);
    ward_free(deep);
    ward_free(huge);
}

WT_TEST(depth_cap_with_path)
{
    struct ward_json_limits lim = {0, 3};
    struct ward_json_error err;
    json_t *j = NULL;
    const char *doc =
        "{\n  \"settings\": [\n    {\"kind\": \"x\"},\n    {\"mode\": {\"x\": 1}}\n  ]\n}";
    WT_EQ_ERR(load(doc, &lim, &j, &err), WARD_EDEPTH);
    WT_EQ_STR(err.path, "$.settings[1].mode");
    WT_EQ_INT(err.line, 4);
    WT_EQ_INT(err.column, 14);
    WT_EQ_INT(doc[err.position], '{');
    WT_CONTAINS(err.text, "3");
    /* brackets inside strings do not count */
    WT_OK(load("{\"a\": \"[[[[{{{{\", \"b\\\"[\": 1}", &lim, &j, &err));
    json_decref(j);
}

WT_TEST(duplicate_key_with_path)
{
    struct ward_json_error err;
    json_t *j = NULL;
    WT_EQ_ERR(load("{\"a\": 1, \"a\": 2}", NULL, &j, &err), WARD_EDUP);
    WT_ASSERT(j == NULL);
    WT_EQ_STR(err.path, "$.a");
    WT_EQ_ERR(load("{\"settings\": [{\"mode\": 1}, {\"mode\": 2, \"mode\": 3}]}", NULL, &j, &err),
              WARD_EDUP);
    WT_EQ_STR(err.path, "$.settings[1].mode");
    WT_CONTAINS(err.text, "duplicate");
    WT_EQ_ERR(load("{\"x\": {\"odd key\": 1, \"odd key\": 2}}", NULL, &j, &err), WARD_EDUP);
    WT_EQ_STR(err.path, "$.x[\"odd key\"]");
}

WT_TEST(syntax_error_line_column_path)
{
    struct ward_json_error err;
    json_t *j = NULL;
    const char *doc = "{\n"
                      "  \"server\": {\n"
                      "    \"url\": \"https://mdm.example\",\n"
                      "    \"timeout\": tru\n"
                      "  }\n"
                      "}\n";
    WT_EQ_ERR(load(doc, NULL, &j, &err), WARD_EPARSE);
    WT_ASSERT(j == NULL);
    WT_EQ_INT(err.line, 4);
    WT_EQ_INT(err.column, 18);
    WT_EQ_STR(err.path, "$.server.timeout");
    WT_ASSERT(err.position > 0 && err.position <= strlen(doc));
    WT_ASSERT(err.text[0] != '\0');
}

WT_TEST(syntax_error_paths)
{
    static const struct {
        const char *doc;
        const char *path;
    } cases[] = {
        {"{\"a\": [1, 2, ]}", "$.a[2]"},
        {"{\"a\": [1, ", "$.a[1]"},
        {"{\"a\": {\"b\": }}", "$.a.b"},
        {"{\"odd key\": {\"x\": }}", "$[\"odd key\"].x"},
        {"[{\"k\": 1}, {\"k\" 2}]", "$[1].k"},
        {"{\"a\": 1,}", "$"},
        {"{} x", "$"},
        {"", "$"},
        {"42", "$"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct ward_json_error err;
        json_t *j = NULL;
        int rc = load(cases[i].doc, NULL, &j, &err);
        if (rc != WARD_EPARSE || strcmp(err.path, cases[i].path) != 0)
            wt_fail(__FILE__, __LINE__, "case %d (%s): %s path %s (want %s), %s", (int)i,
                    cases[i].doc, ward_err_name(rc), err.path, cases[i].path, err.text);
        WT_ASSERT(j == NULL);
    }
}

WT_TEST(bad_text_rejected)
{
    struct ward_json_error err;
    json_t *j = NULL;
    WT_EQ_ERR(load("{\"a\": \"\xff\xfe\"}", NULL, &j, &err), WARD_EPARSE);
    WT_EQ_ERR(load("{\"a\": \"nul\\u0000inside\"}", NULL, &j, &err), WARD_EPARSE);
    WT_EQ_ERR(ward_json_loadb("{\"a\": 1}\0", 9, NULL, &j, &err), WARD_EPARSE);
    WT_EQ_ERR(ward_json_loadb(NULL, 3, NULL, &j, &err), WARD_EINVAL);
}

WT_TEST(long_keys_truncate_path)
{
    struct ward_json_error err;
    json_t *j = NULL;
    char doc[2048];
    size_t o = 0;
    /* 30 levels of 40-character keys: the path does not fit and ends with "..." */
    for (int i = 0; i < 30; i++)
        o += (size_t)snprintf(doc + o, sizeof(doc) - o, "{\"k%039d\":", i);
    o += (size_t)snprintf(doc + o, sizeof(doc) - o, "bad");
    WT_EQ_ERR(ward_json_loadb(doc, o, NULL, &j, &err), WARD_EPARSE);
    WT_EQ_INT(strlen(err.path), WARD_JSON_PATH_MAX - 1);
    WT_ASSERT(strcmp(err.path + strlen(err.path) - 3, "...") == 0);
}

WT_TEST(path_helpers)
{
    char p[64], q[64], small[12];
    ward_json_path_key(p, sizeof(p), NULL, "settings");
    WT_EQ_STR(p, "$.settings");
    ward_json_path_index(q, sizeof(q), p, 3);
    WT_EQ_STR(q, "$.settings[3]");
    ward_json_path_key(p, sizeof(p), q, "mode");
    WT_EQ_STR(p, "$.settings[3].mode");
    ward_json_path_key(p, sizeof(p), "$", "with \"quote\" and space");
    WT_EQ_STR(p, "$[\"with \\\"quote\\\" and space\"]");
    ward_json_path_key(p, sizeof(p), "$", "9lives");
    WT_EQ_STR(p, "$[\"9lives\"]");
    ward_json_path_key(small, sizeof(small), "$", "averyveryverylongkey");
    WT_EQ_STR(small, "$.averyv...");
}

static const char config[] = "{\"server\": {\"url\": \"https://mdm.example\", \"port\": 8443,"
                             " \"verify\": true, \"extra\": null},"
                             " \"tags\": [\"a\", \"b\"], \"n\": \"7\"}";

WT_TEST(typed_getters)
{
    struct ward_json_error err;
    json_t *root = NULL, *server = NULL, *tags = NULL;
    const char *url = NULL, *dflt = "keep";
    long long port = 0;
    int verify = 0;

    WT_OK(load(config, NULL, &root, &err));
    WT_OK(ward_json_get_object(root, NULL, "server", WARD_JSON_REQUIRED, &server, &err));
    WT_OK(ward_json_get_str(server, "$.server", "url", WARD_JSON_REQUIRED, &url, &err));
    WT_EQ_STR(url, "https://mdm.example");
    WT_OK(ward_json_get_int(server, "$.server", "port", 0, 1, 65535, &port, &err));
    WT_EQ_INT(port, 8443);
    WT_OK(ward_json_get_bool(server, "$.server", "verify", 0, &verify, &err));
    WT_EQ_INT(verify, 1);
    WT_OK(ward_json_get_array(root, "$", "tags", 0, &tags, &err));
    WT_EQ_INT(json_array_size(tags), 2);

    /* optional and missing: default kept */
    WT_OK(ward_json_get_str(server, "$.server", "proxy", 0, &dflt, &err));
    WT_EQ_STR(dflt, "keep");
    /* required and missing */
    WT_EQ_ERR(ward_json_get_str(server, "$.server", "proxy", WARD_JSON_REQUIRED, &dflt, &err),
              WARD_ENOENT);
    WT_EQ_STR(err.path, "$.server.proxy");
    WT_CONTAINS(err.text, "missing");
    WT_EQ_INT(err.line, 0);
    /* wrong types */
    WT_EQ_ERR(ward_json_get_int(root, "$", "n", 0, 0, 10, &port, &err), WARD_EPARSE);
    WT_EQ_STR(err.path, "$.n");
    WT_CONTAINS(err.text, "expected integer, got string");
    WT_EQ_ERR(ward_json_get_str(server, "$.server", "port", 0, &url, &err), WARD_EPARSE);
    WT_CONTAINS(err.text, "expected string, got integer");
    WT_EQ_ERR(ward_json_get_bool(server, "$.server", "extra", 0, &verify, &err), WARD_EPARSE);
    WT_CONTAINS(err.text, "got null");
    WT_EQ_ERR(ward_json_get_object(root, "$", "tags", 0, &server, &err), WARD_EPARSE);
    WT_CONTAINS(err.text, "expected object, got array");
    /* out of range */
    WT_EQ_ERR(ward_json_get_int(server, "$.server", "port", 0, 1, 1024, &port, &err), WARD_EPARSE);
    WT_EQ_STR(err.path, "$.server.port");
    WT_CONTAINS(err.text, "8443 is out of range [1, 1024]");
    WT_EQ_INT(port, 8443);
    /* not an object */
    WT_EQ_ERR(ward_json_get_str(tags, "$.tags", "x", 0, &url, &err), WARD_EPARSE);
    WT_EQ_STR(err.path, "$.tags");
    json_decref(root);
}

WT_TEST(check_keys)
{
    static const char *const allowed[] = {"url", "port", "verify", "extra", NULL};
    static const char *const fewer[] = {"url", "port", NULL};
    struct ward_json_error err;
    json_t *root = NULL, *server = NULL;
    WT_OK(load(config, NULL, &root, &err));
    WT_OK(ward_json_get_object(root, NULL, "server", WARD_JSON_REQUIRED, &server, &err));
    WT_OK(ward_json_check_keys(server, "$.server", allowed, &err));
    WT_EQ_ERR(ward_json_check_keys(server, "$.server", fewer, &err), WARD_EPARSE);
    WT_EQ_STR(err.path, "$.server.verify");
    WT_CONTAINS(err.text, "unknown");
    json_decref(root);
}

WT_TEST(dump)
{
    json_t *j = NULL;
    struct ward_buf b;
    char *s = NULL;
    size_t len = 0;
    WT_OK(load("{\"b\": [true, null], \"a\": 1, \"c\": {\"z\": \"\\u00e9\", \"y\": 2.5}}", NULL, &j,
               NULL));
    WT_OK(ward_json_dumps(j, WARD_JSON_SORT_KEYS, &s, &len));
    WT_EQ_STR(s, "{\"a\":1,\"b\":[true,null],\"c\":{\"y\":2.5,\"z\":\"\xc3\xa9\"}}");
    WT_EQ_INT(len, strlen(s));
    ward_free(s);
    WT_OK(ward_json_dumps(j, 0, &s, NULL));
    WT_EQ_STR(s, "{\"b\":[true,null],\"a\":1,\"c\":{\"z\":\"\xc3\xa9\",\"y\":2.5}}");
    ward_free(s);
    WT_OK(ward_json_dumps(j, WARD_JSON_PRETTY | WARD_JSON_SORT_KEYS, &s, NULL));
    WT_CONTAINS(s, "{\n  \"a\": 1,\n");
    ward_free(s);

    ward_buf_init(&b, 20);
    WT_OK(ward_buf_append_str(&b, "pre:"));
    WT_EQ_ERR(ward_json_dump_buf(j, WARD_JSON_SORT_KEYS, &b), WARD_ETOOBIG);
    WT_EQ_STR(b.data, "pre:"); /* unchanged on error */
    WT_EQ_INT(b.len, 4);
    ward_buf_release(&b);
    json_decref(j);
}

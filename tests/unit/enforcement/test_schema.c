/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Baseline documents: the issue's example is valid; malformed documents (unknown kind or
 * field, wrong types, bad enum values, duplicate ids, oversized, too deep, duplicate JSON
 * keys, broken syntax) are refused with one line per problem carrying its JSON path; the
 * field reference in docs/baselines.md matches the schema tables.
 */
#include "enf_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enforcement/kind.h"
#include "ward/alloc.h"
#include "ward/buf.h"

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

WT_TEST(issue_example_is_valid)
{
    struct enf_baseline *b = et_doc(
        "{\"id\": \"example\", \"version\": 1, \"mode\": \"enforce\", \"settings\": ["
        "{\"id\": \"shadow-mode\", \"kind\": \"file\", \"path\": \"/etc/shadow\", \"state\": "
        "\"present\", \"mode\": \"0640\", \"owner\": \"root\", \"group\": \"shadow\"},"
        "{\"id\": \"ssh-root\", \"kind\": \"line\", \"path\": \"/etc/ssh/sshd_config\","
        " \"key\": \"PermitRootLogin\", \"value\": \"no\", \"separator\": \" \"},"
        "{\"id\": \"motd-line\", \"kind\": \"line\", \"path\": \"/etc/motd\", \"line\": "
        "\"Authorized use only\"},"
        "{\"id\": \"syncookies\", \"kind\": \"sysctl\", \"key\": \"net.ipv4.tcp_syncookies\", "
        "\"value\": \"1\"}]}");
    WT_EQ_STR(b->id, "example");
    WT_EQ_INT(b->version, 1);
    WT_EQ_INT(b->mode, ENF_MODE_ENFORCE);
    WT_EQ_INT(b->n_settings, 4);
    WT_EQ_STR(b->settings[0].kind->name, "file");
    WT_EQ_INT(b->settings[0].mode, ENF_MODE_ENFORCE); /* file's mode is permission bits */
    WT_EQ_STR(b->settings[3].id, "syncookies");
    WT_ASSERT(enf_baseline_find(b, "ssh-root") == &b->settings[1]);
    enf_baseline_free(b);
}

WT_TEST(mode_override_and_defaults)
{
    struct enf_baseline *b = et_doc(
        "{\"id\": \"x\", \"version\": 0, \"settings\": ["
        "{\"id\": \"a\", \"kind\": \"line\", \"path\": \"/f\", \"line\": \"x\", \"mode\": "
        "\"enforce\"},"
        "{\"id\": \"b\", \"kind\": \"file\", \"path\": \"/f\", \"mode\": \"600\", "
        "\"setting_mode\": \"enforce\", \"restore_on_removal\": true, \"refs\": [\"CIS 1\"]},"
        "{\"id\": \"c\", \"kind\": \"line\", \"path\": \"/f\", \"line\": \"y\"}]}");
    WT_EQ_INT(b->mode, ENF_MODE_AUDIT); /* the default mode is audit */
    WT_EQ_INT(b->atomic, 0);
    WT_EQ_INT(b->settings[0].mode, ENF_MODE_ENFORCE);
    WT_EQ_INT(b->settings[1].mode, ENF_MODE_ENFORCE);
    WT_EQ_INT(b->settings[1].restore_on_removal, 1);
    WT_EQ_INT(b->settings[2].mode, ENF_MODE_AUDIT);
    enf_baseline_free(b);
}

WT_TEST(unknown_kind_and_field)
{
    int rc;
    const char *e = et_doc_errors(
        "{\"id\": \"x\", \"version\": 1, \"settings\": ["
        "{\"id\": \"a\", \"kind\": \"registry\", \"hive\": \"HKLM\"},"
        "{\"id\": \"b\", \"kind\": \"line\", \"path\": \"/f\", \"line\": \"x\", \"colour\": 1}],"
        " \"extra\": true}",
        &rc);
    WT_EQ_ERR(rc, WARD_EPARSE);
    WT_CONTAINS(e, "$.settings[0].kind: unknown kind \"registry\"");
    WT_CONTAINS(e, "$.settings[1].colour: unknown field for kind \"line\"");
    WT_CONTAINS(e, "$.extra: unknown field");
    WT_EQ_INT(count_lines(e), 3); /* the unknown kind's fields are not listed one by one */
}

WT_TEST(wrong_types_and_values)
{
    int rc;
    const char *e = et_doc_errors(
        "{\"id\": \"x\", \"version\": \"1\", \"mode\": \"force\", \"atomic\": 1, \"settings\": ["
        "{\"id\": \"a\", \"kind\": \"file\", \"path\": \"etc/x\", \"mode\": 640, \"state\": "
        "\"gone\"},"
        "{\"id\": \"b\", \"kind\": \"sysctl\", \"key\": \"net..x\", \"value\": [1]},"
        "{\"id\": \"c\", \"kind\": \"command\", \"check\": [\"true\"], \"timeout\": 0},"
        "{\"id\": \"d\", \"kind\": \"file\", \"path\": \"/x\", \"content_sha256\": \"abc\"},"
        "{\"id\": \"e f\", \"kind\": \"line\", \"path\": \"/f\", \"line\": \"x\", \"key\": "
        "\"k\"},"
        "{\"id\": \"g\", \"kind\": \"line\", \"path\": \"/f\", \"line\": \"x\", \"refs\": "
        "\"CIS\"}]}",
        &rc);
    WT_EQ_ERR(rc, WARD_EPARSE);
    WT_CONTAINS(e, "$.version: must be an integer, not string");
    WT_CONTAINS(e, "$.mode: \"force\" is not one of \"audit\", \"enforce\"");
    WT_CONTAINS(e, "$.atomic: must be true or false");
    WT_CONTAINS(e, "$.settings[0].path: must be an absolute path");
    WT_CONTAINS(e, "$.settings[0].mode: must be an octal string");
    WT_CONTAINS(e, "$.settings[0].state: \"gone\" is not one of \"present\", \"absent\", "
                   "\"directory\"");
    WT_CONTAINS(e, "$.settings[1].value: must be a string or an integer, not array");
    WT_CONTAINS(e, "$.settings[2].check[0]: must be an absolute executable path");
    WT_CONTAINS(e, "$.settings[2].timeout: must be between 1 and 3600");
    WT_CONTAINS(e, "$.settings[3].content_sha256: must be 64 hex digits");
    WT_CONTAINS(e, "$.settings[4].id: \"e f\" is not a valid id");
    WT_CONTAINS(e, "$.settings[5].refs: must be an array of strings");
}

WT_TEST(kind_cross_field_rules)
{
    int rc;
    const char *e = et_doc_errors(
        "{\"id\": \"x\", \"version\": 1, \"settings\": ["
        "{\"id\": \"a\", \"kind\": \"line\", \"path\": \"/f\", \"line\": \"x\", \"key\": \"k\"},"
        "{\"id\": \"b\", \"kind\": \"line\", \"path\": \"/f\", \"key\": \"k\"},"
        "{\"id\": \"c\", \"kind\": \"file\", \"path\": \"/f\", \"content\": \"x\", "
        "\"content_sha256\": "
        "\"0000000000000000000000000000000000000000000000000000000000000000\"},"
        "{\"id\": \"d\", \"kind\": \"sysctl\", \"key\": \"net.x\", \"value\": 1, \"runtime\": "
        "false, \"persist\": false},"
        "{\"id\": \"e\", \"kind\": \"kernel_module\", \"name\": \"bad name\"},"
        "{\"id\": \"f\", \"kind\": \"line\", \"path\": \"/f\", \"line\": \"x\", \"mode\": "
        "\"audit\", \"setting_mode\": \"audit\"}]}",
        &rc);
    WT_EQ_ERR(rc, WARD_EPARSE);
    WT_CONTAINS(e, "$.settings[0]: give exactly one of \"line\" and \"key\"");
    WT_CONTAINS(e, "$.settings[1]: missing \"value\" for \"key\"");
    WT_CONTAINS(e, "$.settings[2].content_sha256: give either content or content_sha256");
    WT_CONTAINS(e, "$.settings[3]: runtime and persist cannot both be false");
    WT_CONTAINS(e, "$.settings[4].name: \"bad name\" is not a module name");
    WT_CONTAINS(e, "$.settings[5].setting_mode: give either mode or setting_mode");
}

WT_TEST(missing_required_and_duplicates)
{
    int rc;
    const char *e =
        et_doc_errors("{\"settings\": [{\"id\": \"a\", \"kind\": \"line\", \"line\": \"x\"},"
                      "{\"id\": \"a\", \"kind\": \"sysctl\", \"key\": \"k\", \"value\": 1},"
                      "{\"kind\": \"ini\"}, 7]}",
                      &rc);
    WT_EQ_ERR(rc, WARD_EPARSE);
    WT_CONTAINS(e, "$: missing required field \"id\"");
    WT_CONTAINS(e, "$: missing required field \"version\"");
    WT_CONTAINS(e, "$.settings[0]: missing required field \"path\" for kind \"line\"");
    WT_CONTAINS(e, "$.settings[1].id: duplicate setting id \"a\" (first at $.settings[0])");
    WT_CONTAINS(e, "$.settings[2]: missing required field \"id\"");
    WT_CONTAINS(e, "$.settings[2]: missing required field \"path\" for kind \"ini\"");
    WT_CONTAINS(e, "$.settings[3]: a setting must be an object, not integer");
}

WT_TEST(syntax_duplicate_key_depth_size)
{
    int rc;
    const char *e = et_doc_errors("{\"id\": \"x\", \"version\": 1, \"settings\": [", &rc);
    WT_EQ_ERR(rc, WARD_EPARSE);
    WT_CONTAINS(e, "line 1");

    e = et_doc_errors("{\"id\": \"x\", \"id\": \"y\", \"version\": 1, \"settings\": []}", &rc);
    WT_EQ_ERR(rc, WARD_EDUP);
    WT_CONTAINS(e, "$.id");

    e = et_doc_errors("{\"id\": \"x\", \"version\": 1, \"settings\": [{\"id\": \"a\", \"kind\": "
                      "\"line\", \"path\": \"/f\", \"line\": \"x\", \"refs\": [[[[[[[[1]]]]]]]]}]}",
                      &rc);
    WT_EQ_ERR(rc, WARD_EDEPTH);

    {
        size_t n = ENF_DOC_MAX_BYTES + 16;
        char *big = ward_malloc(n + 1);
        WT_ASSERT(big);
        memset(big, ' ', n);
        memcpy(big, "{\"id\": \"x\"", 10);
        big[n - 1] = '}';
        big[n] = '\0';
        e = et_doc_errors(big, &rc);
        WT_EQ_ERR(rc, WARD_ETOOBIG);
        ward_free(big);
    }

    e = et_doc_errors("[1, 2]", &rc);
    WT_EQ_ERR(rc, WARD_EPARSE);
    WT_CONTAINS(e, "$: a baseline must be a JSON object, not array");
}

WT_TEST(errors_stay_one_line_each)
{
    /* found by fuzz_baseline: a value with a newline split its error in two lines */
    int rc;
    const char *e = et_doc_errors("{\"id\": \"x\", \"version\": 1, \"settings\": [{\"id\": "
                                  "\"a\", \"kind\": \"line\", \"path\": \"/f\", \"line\": \"x\", "
                                  "\"duplicates\": \"comm\\nt\", \"a\\nb\": 1}]}",
                                  &rc);
    WT_EQ_ERR(rc, WARD_EPARSE);
    WT_CONTAINS(e, "\"comm\\x0at\" is not one of");
    WT_EQ_INT(count_lines(e), 2);
}

WT_TEST(too_many_errors_are_capped)
{
    struct ward_buf doc;
    int rc;
    const char *e;
    ward_buf_init(&doc, 1 << 20);
    ward_buf_append_str(&doc, "{\"id\": \"x\", \"version\": 1, \"settings\": [");
    for (int i = 0; i < 300; i++)
        ward_buf_appendf(&doc, "%s{\"id\": \"s%d\", \"kind\": \"nope\"}", i ? "," : "", i);
    ward_buf_append_str(&doc, "]}");
    e = et_doc_errors(doc.data, &rc);
    WT_EQ_ERR(rc, WARD_EPARSE);
    WT_EQ_INT(count_lines(e), ENF_DOC_MAX_ERRORS + 1);
    WT_CONTAINS(e, "(further problems not listed)");
    ward_buf_release(&doc);
}

/* docs/baselines.md embeds the generated reference between these markers. Run with
 * WARD_UPDATE_DOCS=1 to rewrite it. */
#define DOC_BEGIN "<!-- BEGIN GENERATED FIELD REFERENCE (ward baseline schema) -->\n"
#define DOC_END "<!-- END GENERATED FIELD REFERENCE -->"

WT_TEST(docs_field_reference_up_to_date)
{
    struct ward_buf gen;
    ward_buf_init(&gen, 1 << 20);
    WT_OK(enf_schema_markdown(&gen));
    wt_check_generated(WARD_DOCS_BASELINES, DOC_BEGIN, DOC_END, gen.data, gen.len);
    /* every kind of the table is documented */
    for (const struct enf_kind *const *k = enf_os_kinds; *k; k++) {
        char h[64];
        snprintf(h, sizeof(h), "### Kind `%s`", (*k)->name);
        WT_CONTAINS(gen.data, h);
    }
    ward_buf_release(&gen);
}

WT_TEST(schema_json_lists_kinds)
{
    json_t *j = NULL;
    WT_OK(enf_schema_json(&j));
    WT_ASSERT(json_object_get(json_object_get(j, "kinds"), "sysctl"));
    WT_ASSERT(json_array_size(json_object_get(j, "setting")) >= 6);
    json_decref(j);
}

WT_TEST(kind_tables_are_well_formed)
{
    for (const struct enf_kind *const *k = enf_os_kinds; *k; k++) {
        WT_ASSERT((*k)->name && (*k)->summary && (*k)->fields);
        WT_ASSERT((*k)->check && (*k)->apply && (*k)->snapshot && (*k)->restore);
        WT_ASSERT(enf_kind_find((*k)->name) == *k);
        for (const struct enf_field *f = (*k)->fields; f->name; f++) {
            WT_ASSERT(f->description && f->description[0]);
            WT_ASSERT(f->type != ENF_F_ENUM || f->allowed);
        }
    }
    WT_ASSERT(enf_kind_find("registry") == NULL);
}

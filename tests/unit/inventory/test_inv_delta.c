/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Inventory hashes and deltas (inventory/delta.h) and package version ordering
 * (ward/vercmp.h): the canonical text pinned byte for byte (it is protocol), volatile
 * columns ignored, deltas between real fixture documents that, applied, reproduce the
 * target's hash, tables appearing and disappearing, deltas that do not fit or break the
 * schema, merges after failed or cheap collections, and dpkg/rpm version vectors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/delta.h"
#include "inventory/inventory.h"
#include "ward/vercmp.h"
#include "ward/alloc.h"
#include "ward/crypto.h"
#include "ward/json.h"
#include "wtest.h"

static json_t *collect(const char *fixture)
{
    struct inv_options o = {0};
    struct inv_doc *d = NULL;
    char root[1024];
    json_t *copy;
    snprintf(root, sizeof(root), "%s/inventory/%s", wt_data_dir(), fixture);
    o.root = root;
    ward_json_init();
    WT_OK(inv_collect(&o, &d));
    copy = json_deep_copy(inv_doc_json(d));
    WT_ASSERT(copy);
    inv_doc_free(d);
    return copy;
}

static json_t *parse(const char *text)
{
    json_t *j = NULL;
    ward_json_init();
    WT_OK(ward_json_loadb(text, strlen(text), NULL, &j, NULL));
    return j;
}

static void hash_of(const json_t *doc, char hex[INV_HASH_HEX_LEN])
{
    WT_OK(inv_doc_hash(doc, hex));
    WT_EQ_INT(strlen(hex), 64);
}

static json_t *apps_of(json_t *doc)
{
    json_t *a = json_object_get(doc, "apps");
    WT_ASSERT(json_is_array(a));
    return a;
}

/* Applies delta(from, to) to a copy of from and checks the result hashes as to does. */
static json_t *roundtrip(const json_t *from, const json_t *to, struct inv_delta_stats *st)
{
    json_t *changes = NULL, *work = from ? json_deep_copy(from) : json_object();
    char h1[INV_HASH_HEX_LEN], h2[INV_HASH_HEX_LEN], err[256] = "";
    WT_OK(inv_delta_compute(from, to, &changes, st));
    if (inv_delta_apply(work, changes, err, sizeof(err)) != 0)
        wt_fail(__FILE__, __LINE__, "apply: %s", err);
    hash_of(work, h1);
    if (to) {
        hash_of(to, h2);
    } else {
        json_t *empty = json_object();
        hash_of(empty, h2);
        json_decref(empty);
    }
    WT_EQ_STR(h1, h2);
    json_decref(work);
    return changes;
}

WT_TEST(canonical_text_pinned)
{
    /* Tables in bytewise name order, rows in key-text order, members sorted, volatile
     * columns (memory.available_bytes) and "collection" left out. */
    json_t *doc = parse("{\"os\": {\"id\": \"debian\", \"hostname\": \"h\\u00e9\"},"
                        " \"memory\": {\"total_bytes\": 5, \"available_bytes\": 3},"
                        " \"apps\": [{\"source\": \"dpkg\", \"name\": \"b b\", \"arch\": \"all\","
                        " \"version\": \"1\"}, {\"source\": \"dpkg\", \"name\": \"b\", \"arch\":"
                        " \"all\", \"version\": \"2\"}],"
                        " \"network\": {\"dns\": []},"
                        " \"collection\": {\"total_ms\": 1.5}}");
    const char *want = "T apps\n"
                       "R [\"dpkg\",\"b b\",\"all\"] "
                       "{\"arch\":\"all\",\"name\":\"b b\",\"source\":\"dpkg\",\"version\":\"1\"}\n"
                       "R [\"dpkg\",\"b\",\"all\"] "
                       "{\"arch\":\"all\",\"name\":\"b\",\"source\":\"dpkg\",\"version\":\"2\"}\n"
                       "T memory\n"
                       "R [] {\"total_bytes\":5}\n"
                       "T network.dns\n"
                       "T os\n"
                       "R [] {\"hostname\":\"h\xc3\xa9\",\"id\":\"debian\"}\n";
    struct ward_buf b;
    uint8_t md[WARD_SHA256_LEN];
    char hex[INV_HASH_HEX_LEN], want_hex[INV_HASH_HEX_LEN];

    ward_buf_init(&b, 1 << 20);
    WT_OK(inv_doc_canonical(doc, &b));
    WT_EQ_STR(b.data, want);
    ward_buf_release(&b);
    WT_OK(ward_sha256(want, strlen(want), md));
    WT_OK(ward_hex_encode(md, sizeof(md), want_hex, sizeof(want_hex)));
    hash_of(doc, hex);
    WT_EQ_STR(hex, want_hex);
    /* An empty document hashes the empty string. */
    json_decref(doc);
    doc = json_object();
    hash_of(doc, hex);
    WT_EQ_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    json_decref(doc);
}

WT_TEST(hash_ignores_volatile_and_order)
{
    json_t *a = collect("laptop-luks"), *b = collect("laptop-luks");
    char h1[INV_HASH_HEX_LEN], h2[INV_HASH_HEX_LEN];
    json_t *bat, *apps;

    hash_of(a, h1);
    hash_of(b, h2);
    WT_EQ_STR(h1, h2);
    /* Volatile values and collection timings do not count. */
    json_object_set_new(json_object_get(b, "memory"), "available_bytes", json_integer(12345));
    bat = json_array_get(json_object_get(b, "battery"), 0);
    WT_ASSERT(bat);
    json_object_set_new(bat, "capacity_percent", json_integer(3));
    json_object_set_new(bat, "status", json_string("Discharging"));
    json_object_set_new(json_object_get(b, "collection"), "total_ms", json_real(999.0));
    hash_of(b, h2);
    WT_EQ_STR(h1, h2);
    /* Row order does not count either. */
    apps = apps_of(b);
    WT_ASSERT(json_array_size(apps) > 2);
    json_array_insert(apps, 0, json_array_get(apps, json_array_size(apps) - 1));
    json_array_remove(apps, json_array_size(apps) - 1);
    hash_of(b, h2);
    WT_EQ_STR(h1, h2);
    /* Anything else does. */
    json_object_set_new(json_array_get(apps, 1), "version", json_string("0.0.1"));
    hash_of(b, h2);
    WT_ASSERT(strcmp(h1, h2) != 0);
    json_decref(a);
    json_decref(b);
}

WT_TEST(delta_unchanged_is_empty)
{
    json_t *a = collect("desktop-dmi"), *b = collect("desktop-dmi"), *ch;
    struct inv_delta_stats st;
    json_object_set_new(json_object_get(b, "memory"), "available_bytes", json_integer(1));
    ch = roundtrip(a, b, &st);
    WT_EQ_INT(json_object_size(ch), 0);
    WT_EQ_INT(st.tables + st.added + st.removed + st.changed, 0);
    json_decref(ch);
    json_decref(a);
    json_decref(b);
}

WT_TEST(delta_package_added_changed_removed)
{
    json_t *a = collect("vm-debian12"), *b = json_deep_copy(a), *ch, *apps, *e;
    struct inv_delta_stats st;
    char *text = NULL;
    size_t len = 0;

    apps = apps_of(b);
    json_array_append_new(apps, json_pack("{s:s, s:s, s:s, s:s, s:s}", "source", "dpkg", "name",
                                          "zzz-new", "arch", "amd64", "version", "1.0-1", "status",
                                          "installed"));
    json_object_set_new(json_array_get(apps, 0), "version", json_string("99:1.0"));
    json_array_remove(apps, 1);
    ch = roundtrip(a, b, &st);
    WT_EQ_INT(st.tables, 1);
    WT_EQ_INT(st.added, 1);
    WT_EQ_INT(st.changed, 1);
    WT_EQ_INT(st.removed, 1);
    e = json_object_get(ch, "apps");
    WT_ASSERT(e);
    WT_EQ_INT(json_array_size(json_object_get(e, "added")), 1);
    WT_EQ_INT(json_array_size(json_object_get(e, "changed")), 1);
    WT_EQ_INT(json_array_size(json_object_get(e, "removed")), 1);
    WT_EQ_STR(
        json_string_value(json_object_get(json_array_get(json_object_get(e, "added"), 0), "name")),
        "zzz-new");
    /* A removed row is named by its key values only. */
    WT_ASSERT(json_is_array(json_array_get(json_object_get(e, "removed"), 0)));
    WT_EQ_INT(json_array_size(json_array_get(json_object_get(e, "removed"), 0)), 3);
    WT_OK(ward_json_dumps(ch, 0, &text, &len));
    WT_ASSERT(len < 1024);
    ward_free(text);
    json_decref(ch);
    json_decref(a);
    json_decref(b);
}

WT_TEST(delta_between_machines)
{
    static const char *const roots[] = {"laptop-luks", "desktop-dmi", "vm-debian12"};
    json_t *docs[3];
    for (size_t i = 0; i < 3; i++)
        docs[i] = collect(roots[i]);
    for (size_t i = 0; i < 3; i++) {
        json_t *ch = roundtrip(NULL, docs[i], NULL);
        json_decref(ch);
        ch = roundtrip(docs[i], NULL, NULL);
        json_decref(ch);
        for (size_t k = 0; k < 3; k++) {
            ch = roundtrip(docs[i], docs[k], NULL);
            if (i == k)
                WT_EQ_INT(json_object_size(ch), 0);
            json_decref(ch);
        }
    }
    for (size_t i = 0; i < 3; i++)
        json_decref(docs[i]);
}

WT_TEST(delta_tables_appear_and_disappear)
{
    json_t *a = collect("laptop-luks"), *b = json_deep_copy(a), *ch;
    struct inv_delta_stats st;
    json_object_del(b, "battery");
    json_object_del(b, "tpm");
    ch = roundtrip(a, b, &st);
    WT_ASSERT(json_is_false(json_object_get(json_object_get(ch, "battery"), "present")));
    WT_ASSERT(json_is_false(json_object_get(json_object_get(ch, "tpm"), "present")));
    WT_EQ_INT(json_object_size(ch), 2);
    json_decref(ch);
    ch = roundtrip(b, a, &st);
    WT_ASSERT(json_is_true(json_object_get(json_object_get(ch, "tpm"), "present")));
    WT_EQ_INT(json_array_size(json_object_get(json_object_get(ch, "tpm"), "added")), 1);
    json_decref(ch);
    /* A member table alone (network.dns) goes and comes back. */
    json_decref(b);
    b = json_deep_copy(a);
    json_object_del(json_object_get(b, "network"), "dns");
    ch = roundtrip(a, b, NULL);
    WT_ASSERT(json_is_false(json_object_get(json_object_get(ch, "network.dns"), "present")));
    json_decref(ch);
    ch = roundtrip(b, a, NULL);
    json_decref(ch);
    json_decref(a);
    json_decref(b);
}

static void apply_fails(const char *doc_text, const char *changes_text, int want)
{
    json_t *doc = parse(doc_text), *ch = parse(changes_text);
    char err[256] = "";
    int rc = inv_delta_apply(doc, ch, err, sizeof(err));
    if (rc != want)
        wt_fail(__FILE__, __LINE__, "%s: %s, want %s", changes_text, ward_err_name(rc),
                ward_err_name(want));
    WT_ASSERT(err[0]);
    json_decref(doc);
    json_decref(ch);
}

WT_TEST(delta_that_does_not_fit)
{
    const char *doc = "{\"apps\": [{\"source\": \"dpkg\", \"name\": \"a\", \"arch\": \"all\"}],"
                      " \"os\": {\"id\": \"debian\"}}";
    apply_fails(doc,
                "{\"apps\": {\"added\": [{\"source\": \"dpkg\", \"name\": \"a\", \"arch\":"
                " \"all\"}]}}",
                WARD_ESTATE);
    apply_fails(doc,
                "{\"apps\": {\"added\": [{\"source\": \"dpkg\", \"name\": \"b\", \"arch\":"
                " \"all\"}, {\"source\": \"dpkg\", \"name\": \"b\", \"arch\": \"all\"}]}}",
                WARD_ESTATE);
    apply_fails(doc, "{\"apps\": {\"removed\": [[\"dpkg\", \"b\", \"all\"]]}}", WARD_ESTATE);
    apply_fails(doc,
                "{\"apps\": {\"removed\": [[\"dpkg\", \"a\", \"all\"], [\"dpkg\", \"a\", "
                "\"all\"]]}}",
                WARD_ESTATE);
    apply_fails(doc,
                "{\"apps\": {\"changed\": [{\"source\": \"rpm\", \"name\": \"a\", \"arch\":"
                " \"all\"}]}}",
                WARD_ESTATE);
    apply_fails(doc, "{\"apps\": {\"present\": true}}", WARD_ESTATE);
    apply_fails(doc, "{\"battery\": {\"present\": false}}", WARD_ESTATE);
    apply_fails(doc, "{\"cpu\": {\"changed\": [{\"cores\": 2}]}}", WARD_ESTATE);
    /* Malformed or off-schema. */
    apply_fails(doc, "{\"nope\": {\"present\": false}}", WARD_EPARSE);
    apply_fails(doc, "{\"apps\": {\"bogus\": []}}", WARD_EPARSE);
    apply_fails(doc, "{\"apps\": {\"added\": {}}}", WARD_EPARSE);
    apply_fails(doc, "{\"apps\": {\"removed\": [[\"dpkg\", \"a\"]]}}", WARD_EPARSE);
    apply_fails(doc, "{\"apps\": {\"removed\": [\"dpkg\"]}}", WARD_EPARSE);
    apply_fails(doc,
                "{\"apps\": {\"added\": [{\"source\": \"dpkg\", \"name\": \"c\", \"arch\":"
                " \"all\", \"version\": 3}]}}",
                WARD_EPARSE);
    apply_fails(doc, "{\"apps\": {\"added\": [{\"source\": \"dpkg\", \"name\": \"c\"}]}}",
                WARD_EPARSE);
    apply_fails(doc,
                "{\"apps\": {\"added\": [{\"source\": \"dpkg\", \"name\": \"c\", \"arch\":"
                " \"all\", \"color\": \"red\"}]}}",
                WARD_EPARSE);
    apply_fails(doc, "{\"os\": {\"changed\": [{\"id\": \"x\"}, {\"id\": \"y\"}]}}", WARD_EPARSE);
    apply_fails(doc, "{\"tpm\": {\"present\": true, \"added\": []}}", WARD_EPARSE);
    apply_fails(doc, "{\"apps\": {\"present\": false, \"added\": []}}", WARD_EPARSE);
    apply_fails(doc, "[]", WARD_EPARSE);
}

WT_TEST(merge_keeps_failed_and_uncollected_sections)
{
    json_t *prev = collect("laptop-luks"), *cur = collect("desktop-dmi"), *m = NULL;
    /* A cheap run: only some sections; a failed section is absent. */
    json_object_del(cur, "apps");
    json_object_del(cur, "system");
    WT_OK(inv_doc_merge(prev, cur, &m));
    WT_ASSERT(json_object_get(m, "apps") == json_object_get(prev, "apps"));
    WT_ASSERT(json_object_get(m, "system") == json_object_get(prev, "system"));
    WT_ASSERT(json_object_get(m, "os") == json_object_get(cur, "os"));
    WT_ASSERT(json_object_get(m, "collection") == json_object_get(cur, "collection"));
    json_decref(m);
    /* Without a previous document nothing is invented. */
    WT_OK(inv_doc_merge(NULL, cur, &m));
    WT_ASSERT(!json_object_get(m, "apps"));
    WT_ASSERT(json_object_get(m, "os"));
    json_decref(m);
    json_decref(prev);
    json_decref(cur);
}

WT_TEST(sections_check)
{
    json_t *doc = collect("laptop-luks");
    char err[256] = "";
    json_object_del(doc, "collection");
    WT_OK(inv_sections_check(doc, err, sizeof(err)));
    json_array_append(apps_of(doc), json_array_get(apps_of(doc), 0));
    WT_EQ_ERR(inv_sections_check(doc, err, sizeof(err)), WARD_EPARSE);
    WT_CONTAINS(err, "twice");
    json_array_remove(apps_of(doc), json_array_size(apps_of(doc)) - 1);
    json_object_set_new(doc, "collection", json_object());
    WT_EQ_ERR(inv_sections_check(doc, err, sizeof(err)), WARD_EPARSE);
    json_object_del(doc, "collection");
    json_object_set_new(json_object_get(doc, "network"), "bogus", json_array());
    WT_EQ_ERR(inv_sections_check(doc, err, sizeof(err)), WARD_EPARSE);
    json_object_del(json_object_get(doc, "network"), "bogus");
    json_object_set_new(json_object_get(doc, "os"), "hostname", json_integer(1));
    WT_EQ_ERR(inv_sections_check(doc, err, sizeof(err)), WARD_EPARSE);
    WT_CONTAINS(err, "os.hostname");
    json_decref(doc);
}

WT_TEST(table_sort_matches_collector_order)
{
    json_t *a = collect("laptop-luks"), *copy;
    const struct inv_table *t = inv_table_find("apps");
    copy = json_deep_copy(apps_of(a));
    /* Reverse, then sort back. */
    for (size_t i = 0, n = json_array_size(copy); i < n / 2; i++) {
        json_t *x = json_incref(json_array_get(copy, i));
        json_array_set(copy, i, json_array_get(copy, n - 1 - i));
        json_array_set_new(copy, n - 1 - i, x);
    }
    WT_OK(inv_table_sort(t, copy));
    WT_ASSERT(json_equal(copy, apps_of(a)));
    json_decref(copy);
    json_decref(a);
}

struct vec {
    const char *a, *b;
    int want;
};

static void check_vectors(int (*cmp)(const char *, const char *), const struct vec *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int r = cmp(v[i].a, v[i].b), back = cmp(v[i].b, v[i].a);
        r = (r > 0) - (r < 0);
        back = (back > 0) - (back < 0);
        if (r != v[i].want || back != -v[i].want)
            wt_fail(__FILE__, __LINE__, "cmp(\"%s\", \"%s\") = %d (reverse %d), want %d", v[i].a,
                    v[i].b, r, back, v[i].want);
    }
}

WT_TEST(vercmp_dpkg)
{
    static const struct vec v[] = {
        {"1.0", "1.0", 0},
        {"1.0", "1.0-0", 0}, /* a missing revision is the empty one, like "0" */
        {"1.0-1", "1.0-2", -1},
        {"1.0~rc1", "1.0", -1},
        {"1.0~~", "1.0~~a", -1},
        {"1.0~~a", "1.0~", -1},
        {"1.0~", "1.0", -1},
        {"1.0", "1.0a", -1},
        {"1.0", "1.0+b1", -1},
        {"1.0a", "1.0+", -1}, /* letters before other characters */
        {"1.0.9", "1.0.10", -1},
        {"1.002", "1.2", 0},
        {"1:0.1", "2.0", 1},
        {"0:2.0", "2.0", 0},
        {"2:1", "10:0", -1},
        {"3.0.11-1~deb12u2", "3.0.15", -1},
        {"3.0.15-1~deb12u1", "3.0.15", 1},
        {"3.0.14-1~deb12u2", "3.0.15-1~deb12u1", -1},
        {"1.2.3-4ubuntu0.1", "1.2.3-4", 1},
        {"2.36-9+deb12u7", "2.36-9+deb12u10", -1},
        {"7.88.1-10+deb12u8", "7.88.1-10+deb12u12", -1},
        {"1:9.18.28-1~deb12u2", "9.18.30", 1},
        {"a:1", "b:1", -1}, /* a non-numeric "epoch" is part of the version */
        {"", "0", 0},
        {"1.0-1-1", "1.0-1-2", -1}, /* the revision is after the last '-' */
        {"1.0-1-1", "1.0-2", 1},    /* upstream "1.0-1" > "1.0" */
    };
    check_vectors(ward_vercmp_dpkg, v, sizeof(v) / sizeof(v[0]));
}

WT_TEST(vercmp_rpm)
{
    static const struct vec segs[] = {
        /* rpmvercmp on version strings (the rpm test suite's own vectors). */
        {"1.0", "1.0", 0},
        {"1.0", "2.0", -1},
        {"2.0.1", "2.0.1", 0},
        {"2.0", "2.0.1", -1},
        {"2.0.1a", "2.0.1", 1},
        {"5.5p1", "5.5p2", -1},
        {"5.5p10", "5.5p1", 1},
        {"10xyz", "10.1xyz", -1},
        {"xyz10", "xyz10.1", -1},
        {"xyz.4", "8", -1},
        {"xyz.4", "2", -1},
        {"5.5p2", "5.6p1", -1},
        {"6.0.rc1", "6.0", 1},
        {"10b2", "10a1", 1},
        {"1.0aa", "1.0a", 1},
        {"10.0001", "10.1", 0},
        {"10.0001", "10.0039", -1},
        {"4.999.9", "5.0", -1},
        {"20101121", "20101122", -1},
        {"2_0", "2_0", 0},
        {"2.0", "2_0", 0},
        {"a", "a", 0},
        {"a+", "a_", 0},
        {"+a", "_a", 0},
        {"+_", "_+", 0},
        {"1.0~rc1", "1.0~rc1", 0},
        {"1.0~rc1", "1.0", -1},
        {"1.0~rc1", "1.0~rc2", -1},
        {"1.0~rc1~git123", "1.0~rc1", -1},
        {"1.0^", "1.0", 1},
        {"1.0^git1", "1.0", 1},
        {"1.0^git1", "1.01", -1},
        {"1.0^20160101", "1.0.1", -1},
        {"1.0^20160101^git1", "1.0^20160101", 1},
        {"1.0~rc1^git1", "1.0~rc1", 1},
        {"1.0^git1~pre", "1.0^git1", -1},
        {"a", "1", -1},
    };
    static const struct vec evr[] = {
        {"3.0.7-27.el9", "3.0.7", 0}, /* no release on one side: releases not compared */
        {"3.0.7-27.el9", "3.0.7-28.el9", -1}, {"1:3.0.7-27.el9", "3.0.15", 1},
        {"3.0.1-47.el9_1", "3.0.15", -1},     {"0:3.2.2-6.fc40", "3.2.2-6.fc40", 0},
    };
    check_vectors(ward_rpmvercmp, segs, sizeof(segs) / sizeof(segs[0]));
    check_vectors(ward_vercmp_rpm, evr, sizeof(evr) / sizeof(evr[0]));
    WT_ASSERT(ward_vercmp("rpm", "1.0^git1", "1.0") > 0);
    WT_ASSERT(ward_vercmp("dpkg", "1.0~rc1", "1.0") < 0);
    WT_ASSERT(ward_vercmp(NULL, "1.10", "1.9") > 0);
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Collector and document tests: whole inventories of the fixture roots (a LUKS laptop, a
 * DMI desktop, the captured DMI-less VM) and of this machine, validated against the schema
 * and checked field by field; time budgets, section filters, row keys, determinism,
 * allocation failures, and docs/inventory.md kept equal to the generator's output.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inventory/inventory.h"
#include "platform/fs.h"
#include "ward/alloc.h"
#include "ward/json.h"
#include "wtest.h"

static const char *fixture_root(const char *name)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/inventory/%s", wt_data_dir(), name);
    return path;
}

static struct inv_doc *collect(const char *root, unsigned flags)
{
    struct inv_options o = {0};
    struct inv_doc *d = NULL;
    char err[256] = "";
    o.root = root;
    o.flags = flags;
    ward_json_init();
    WT_OK(inv_collect(&o, &d));
    if (inv_validate(inv_doc_json(d), err, sizeof(err)) != 0)
        wt_fail(__FILE__, __LINE__, "invalid document: %s", err);
    return d;
}

static const json_t *row_where(const json_t *arr, const char *col, const char *val)
{
    size_t i;
    const json_t *r;
    json_array_foreach(arr, i, r) if (json_string_value(json_object_get(r, col)) &&
                                      strcmp(json_string_value(json_object_get(r, col)), val) ==
                                          0) return r;
    return NULL;
}

static const char *s(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static long long n(const json_t *o, const char *k)
{
    WT_ASSERT(json_is_integer(json_object_get(o, k)));
    return json_integer_value(json_object_get(o, k));
}

WT_TEST(laptop_luks)
{
    struct inv_doc *d = collect(fixture_root("laptop-luks"), 0);
    const json_t *sys = inv_doc_section(d, "system"), *v, *r;
    const char *msg;
    int partial;

    WT_EQ_STR(s(sys, "vendor"), "LENOVO");
    WT_EQ_STR(s(sys, "chassis_type"), "notebook");
    WT_EQ_STR(s(sys, "uuid"), "4c4c4544-0042-3510-8052-b7c04f4e3732");
    v = inv_doc_section(d, "cpu");
    WT_EQ_INT(n(v, "cores"), 10);
    WT_EQ_INT(n(v, "threads"), 12);
    WT_EQ_INT(n(v, "max_mhz"), 5000);
    WT_EQ_STR(s(v, "virtualization"), "vt-x");
    v = inv_doc_section(d, "battery");
    WT_EQ_INT(json_array_size(v), 1); /* not AC, not the mouse */
    r = json_array_get(v, 0);
    WT_EQ_STR(s(r, "name"), "BAT0");
    WT_ASSERT(json_real_value(json_object_get(r, "health_percent")) == 91.0);
    WT_EQ_INT(n(r, "cycle_count"), 187);
    WT_EQ_INT(n(r, "capacity_percent"), 77);
    WT_EQ_STR(s(r, "serial"), "1234");
    v = inv_doc_section(d, "tpm");
    WT_EQ_STR(s(v, "version"), "2.0");
    WT_ASSERT(json_is_true(json_object_get(v, "present")));
    v = inv_doc_section(d, "encryption");
    WT_ASSERT(json_is_true(json_object_get(json_object_get(v, "summary"), "root_encrypted")));
    r = json_array_get(json_object_get(v, "volumes"), 0);
    WT_EQ_STR(s(r, "type"), "LUKS2");
    WT_EQ_STR(s(r, "uuid"), "7a3b1f5e-2c0d-4e8f-9a1b-2c3d4e5f6a7b");
    WT_EQ_STR(s(r, "backing_devices"), "nvme0n1p3");
    WT_EQ_STR(s(r, "mountpoints"), "/");
    v = inv_doc_section(d, "disks");
    WT_EQ_INT(json_array_size(json_object_get(v, "partitions")), 3);
    r = row_where(json_object_get(v, "devices"), "name", "nvme0n1");
    WT_EQ_STR(s(r, "transport"), "nvme");
    WT_EQ_STR(s(r, "serial"), "S64PNX0T123456");
    WT_ASSERT(row_where(json_object_get(v, "filesystems"), "mountpoint", "/media/anna/USB STICK"));
    WT_ASSERT(!row_where(json_object_get(v, "filesystems"), "mountpoint", "/proc"));
    WT_ASSERT(!json_object_get(row_where(json_object_get(v, "filesystems"), "mountpoint", "/"),
                               "size_bytes")); /* no statvfs under --root */
    v = inv_doc_section(d, "network");
    WT_EQ_STR(s(row_where(json_object_get(v, "interfaces"), "name", "wlp0s20f3"), "kind"), "wifi");
    WT_EQ_STR(s(row_where(json_object_get(v, "interfaces"), "name", "docker0"), "kind"), "bridge");
    WT_EQ_STR(s(row_where(json_object_get(v, "interfaces"), "name", "lo"), "kind"), "loopback");
    r = row_where(json_object_get(v, "addresses"), "address", "192.168.1.57");
    WT_EQ_STR(s(r, "interface"), "wlp0s20f3");
    WT_EQ_INT(n(r, "prefix_len"), 24);
    WT_ASSERT(row_where(json_object_get(v, "addresses"), "address", "2a01:4f8:c0c1:2345::a1"));
    WT_EQ_STR(s(row_where(json_object_get(v, "routes"), "family", "ipv4"), "gateway"),
              "192.168.1.1");
    WT_EQ_STR(s(row_where(json_object_get(v, "routes"), "family", "ipv6"), "gateway"), "fe80::1");
    WT_EQ_INT(json_array_size(json_object_get(v, "dns")), 2); /* resolved upstreams, not stub */
    WT_ASSERT(row_where(json_object_get(v, "dns"), "server", "192.168.1.1"));
    v = inv_doc_section(d, "os");
    WT_EQ_STR(s(v, "hostname"), "anna-t14s");
    WT_EQ_STR(s(v, "timezone"), "Europe/Berlin");
    WT_EQ_STR(s(v, "kernel"), "6.8.0-45-generic");
    WT_EQ_INT(n(v, "boot_time"), 1732780800);
    WT_ASSERT(json_is_true(json_object_get(v, "reboot_required")));
    v = inv_doc_section(d, "users");
    WT_EQ_INT(json_array_size(json_object_get(v, "accounts")), 3); /* root, anna, svc-backup */
    r = row_where(json_object_get(v, "accounts"), "name", "anna");
    WT_ASSERT(json_is_true(json_object_get(r, "admin")));
    WT_EQ_STR(s(r, "full_name"), "Anna Schmidt");
    r = row_where(json_object_get(v, "accounts"), "name", "svc-backup");
    WT_ASSERT(json_is_false(json_object_get(r, "can_login")));
    WT_EQ_INT(json_array_size(json_object_get(v, "sessions")), 2);
    r = row_where(json_object_get(v, "sessions"), "tty", "pts/0");
    WT_EQ_STR(s(r, "host"), "192.168.1.20");
    WT_EQ_INT(n(r, "login_time"), 1732781000);
    v = inv_doc_section(d, "apps");
    WT_EQ_INT(json_array_size(v), 5);
    r = row_where(v, "source", "flatpak");
    WT_EQ_STR(s(r, "name"), "org.mozilla.firefox");
    WT_EQ_STR(s(r, "version"), "131.0.3");
    WT_EQ_STR(s(r, "arch"), "x86_64");
    WT_EQ_STR(s(r, "branch"), "stable");
    r = row_where(v, "name", "core22");
    WT_EQ_STR(s(r, "revision"), "1663");
    WT_EQ_STR(s(r, "arch"), "amd64");
    r = row_where(v, "name", "libssl3t64");
    WT_EQ_STR(s(r, "source_package"), "openssl");
    WT_EQ_INT(n(r, "installed_size_bytes"), 6544LL * 1024);
    WT_EQ_ERR(inv_doc_section_error(d, "services", &msg, &partial), WARD_ENOTSUP);
    WT_ASSERT(!partial);
    WT_ASSERT(!inv_doc_section(d, "services"));
    WT_OK(inv_doc_section_error(d, "apps", &msg, &partial));
    inv_doc_free(d);
}

WT_TEST(desktop_dmi)
{
    struct inv_doc *d = collect(fixture_root("desktop-dmi"), 0);
    const json_t *v = inv_doc_section(d, "system"), *r;
    WT_ASSERT(!json_object_get(v, "vendor")); /* "System manufacturer" is a placeholder */
    WT_ASSERT(!json_object_get(v, "serial"));
    WT_EQ_STR(s(v, "board_vendor"), "ASUSTeK COMPUTER INC.");
    WT_EQ_STR(s(v, "chassis_type"), "desktop");
    v = inv_doc_section(d, "disks");
    WT_EQ_INT(json_array_size(json_object_get(v, "devices")), 3); /* sda, dm-0, dm-1; no loop0 */
    r = row_where(json_object_get(v, "devices"), "name", "sda");
    WT_EQ_STR(s(r, "serial"), "WD-WCC4M1234567");
    WT_EQ_STR(s(r, "vendor"), "ATA");
    WT_EQ_STR(s(r, "transport"), "sata");
    WT_ASSERT(json_is_true(json_object_get(r, "rotational")));
    r = row_where(json_object_get(v, "filesystems"), "mountpoint", "/srv/nfs");
    WT_EQ_STR(s(r, "device"), "fileserver:/export2"); /* the upper of two stacked mounts */
    WT_EQ_INT(json_array_size(json_object_get(v, "filesystems")), 3);
    v = inv_doc_section(d, "encryption");
    r = json_object_get(v, "summary");
    WT_ASSERT(json_is_false(json_object_get(r, "root_encrypted")));
    WT_EQ_INT(n(r, "encrypted_filesystems"), 1);
    r = json_array_get(json_object_get(v, "volumes"), 0);
    WT_EQ_STR(s(r, "type"), "PLAIN");
    WT_EQ_STR(s(r, "mountpoints"), "/home"); /* btrfs on LVM on dm-crypt */
    v = inv_doc_section(d, "tpm");
    WT_EQ_STR(s(v, "version"), "1.2");
    WT_EQ_STR(s(v, "manufacturer"), "IFX");
    WT_EQ_STR(s(inv_doc_section(d, "os"), "timezone"), "America/New_York");
    WT_EQ_STR(s(inv_doc_section(d, "os"), "id"), "fedora");
    r = row_where(json_object_get(inv_doc_section(d, "users"), "accounts"), "name", "bob");
    WT_ASSERT(json_is_true(json_object_get(r, "admin")));
    WT_EQ_INT(json_array_size(inv_doc_section(d, "apps")), 0);
    inv_doc_free(d);
}

WT_TEST(vm_without_dmi_tpm_battery)
{
    struct inv_doc *d = collect(fixture_root("vm-debian12"), 0);
    WT_ASSERT(json_is_false(json_object_get(inv_doc_section(d, "system"), "dmi_present")));
    WT_ASSERT(json_is_false(json_object_get(inv_doc_section(d, "tpm"), "present")));
    WT_EQ_INT(json_array_size(inv_doc_section(d, "battery")), 0);
    WT_EQ_INT(json_array_size(inv_doc_section(d, "apps")), 120);
    WT_EQ_STR(s(row_where(json_object_get(inv_doc_section(d, "disks"), "devices"), "name", "vda"),
                "transport"),
              "virtio");
    WT_OK(inv_doc_section_error(d, "system", NULL, NULL));
    inv_doc_free(d);
}

WT_TEST(live_document_valid)
{
    struct inv_doc *d = collect(NULL, 0);
    const json_t *os = inv_doc_section(d, "os");
    WT_ASSERT(os && s(os, "kernel"));
    WT_ASSERT(inv_doc_section(d, "apps"));
    inv_doc_free(d);
}

WT_TEST(zero_budget_keeps_partial_rows)
{
    struct inv_doc *d = collect(fixture_root("laptop-luks"), INV_F_ZERO_BUDGET);
    const char *msg;
    int partial = 0;
    WT_EQ_ERR(inv_doc_section_error(d, "apps", &msg, &partial), WARD_ETIMEDOUT);
    WT_ASSERT(partial);
    WT_ASSERT(inv_doc_section(d, "apps"));
    WT_EQ_ERR(inv_doc_section_error(d, "disks", &msg, &partial), WARD_ETIMEDOUT);
    WT_ASSERT(inv_doc_section(d, "os")); /* no rows to check the clock between */
    inv_doc_free(d);
}

WT_TEST(sections_filter)
{
    static const char *const only[] = {"os", "memory", NULL};
    static const char *const bad[] = {"nope", NULL};
    struct inv_options o = {0};
    struct inv_doc *d = NULL;
    const char *k;
    json_t *v;
    size_t count = 0;
    ward_json_init();
    o.root = fixture_root("vm-debian12");
    o.sections = only;
    WT_OK(inv_collect(&o, &d));
    json_object_foreach((json_t *)(uintptr_t)inv_doc_json(d), k, v) count++;
    WT_EQ_INT(count, 3); /* memory, os, collection */
    WT_ASSERT(inv_doc_section(d, "memory"));
    inv_doc_free(d);
    o.sections = bad;
    WT_EQ_ERR(inv_collect(&o, &d), WARD_EINVAL);
    WT_ASSERT(!d);
}

struct walk {
    size_t rows;
    int saw_key;
};

static int walk_cb(const struct inv_table *t, const char *key, const json_t *row, void *ctx)
{
    struct walk *w = ctx;
    (void)row;
    w->rows++;
    if (strcmp(t->name, "apps") == 0 && strcmp(key, "[\"dpkg\",\"libssl3t64\",\"amd64\"]") == 0)
        w->saw_key = 1;
    return 0;
}

WT_TEST(row_keys_and_walk)
{
    struct inv_doc *d = collect(fixture_root("laptop-luks"), 0);
    struct walk w = {0, 0};
    const json_t *apps;
    char *key = NULL;
    WT_OK(inv_doc_table(inv_doc_json(d), inv_table_find("apps"), &apps));
    WT_OK(inv_row_key(inv_table_find("apps"), json_array_get(apps, 0), &key));
    WT_EQ_STR(key, "[\"dpkg\",\"libssl3t64\",\"amd64\"]"); /* sorted: dpkg < flatpak < snap */
    ward_free(key);
    WT_OK(inv_row_key(inv_table_find("os"), inv_doc_section(d, "os"), &key));
    WT_EQ_STR(key, "[]");
    ward_free(key);
    WT_OK(inv_doc_foreach_row(inv_doc_json(d), walk_cb, &w));
    WT_ASSERT(w.saw_key);
    WT_ASSERT(w.rows > 30);
    WT_EQ_ERR(inv_doc_table(inv_doc_json(d), inv_table_find("services"), &apps), WARD_ENOENT);
    inv_doc_free(d);
}

WT_TEST(deterministic_output)
{
    struct inv_doc *a = collect(fixture_root("laptop-luks"), 0);
    struct inv_doc *b = collect(fixture_root("laptop-luks"), 0);
    json_t *ja = json_deep_copy(inv_doc_json(a)), *jb = json_deep_copy(inv_doc_json(b));
    char *sa = NULL, *sb = NULL;
    json_object_del(ja, "collection");
    json_object_del(jb, "collection");
    WT_OK(ward_json_dumps(ja, 0, &sa, NULL));
    WT_OK(ward_json_dumps(jb, 0, &sb, NULL));
    WT_EQ_STR(sa, sb);
    ward_free(sa);
    ward_free(sb);
    json_decref(ja);
    json_decref(jb);
    inv_doc_free(a);
    inv_doc_free(b);
}

WT_TEST(validate_rejects)
{
    char err[256];
    json_t *doc =
        json_pack("{s:[{s:s,s:s,s:s},{s:s,s:s,s:s}],s:{s:s,s:{},s:{}}}", "apps", "source", "dpkg",
                  "name", "b", "arch", "all", "source", "dpkg", "name", "a", "arch", "all",
                  "collection", "agent_version", "x", "errors", "duration_ms");
    WT_EQ_ERR(inv_validate(doc, err, sizeof(err)), WARD_EPARSE);
    WT_CONTAINS(err, "not sorted");
    json_array_remove(json_object_get(doc, "apps"), 0);
    WT_OK(inv_validate(doc, err, sizeof(err)));
    json_object_set_new(json_array_get(json_object_get(doc, "apps"), 0), "version",
                        json_integer(1));
    WT_EQ_ERR(inv_validate(doc, err, sizeof(err)), WARD_EPARSE);
    WT_CONTAINS(err, "want string");
    json_object_del(json_array_get(json_object_get(doc, "apps"), 0), "version");
    json_object_set_new(json_array_get(json_object_get(doc, "apps"), 0), "colour",
                        json_string("x"));
    WT_EQ_ERR(inv_validate(doc, err, sizeof(err)), WARD_EPARSE);
    WT_CONTAINS(err, "unknown column");
    json_object_set_new(doc, "gpu", json_object());
    WT_EQ_ERR(inv_validate(doc, err, sizeof(err)), WARD_EPARSE);
    json_decref(doc);
}

/* Every allocation failure surfaces as WARD_ENOMEM (ASan checks nothing leaks). */
WT_TEST(allocation_failures)
{
    static const char *const only[] = {"disks", "encryption", "network", "users", "apps", NULL};
    struct inv_options o = {0};
    long total;
    ward_json_init();
    o.root = fixture_root("laptop-luks");
    o.sections = only;
    ward_alloc_fail_reset();
    {
        struct inv_doc *d = NULL;
        WT_OK(inv_collect(&o, &d));
        inv_doc_free(d);
    }
    total = ward_alloc_count();
    for (long i = 0; i < total; i += 1 + total / 400) {
        struct inv_doc *d = NULL;
        int rc;
        ward_alloc_fail_after(i, 1);
        rc = inv_collect(&o, &d);
        ward_alloc_fail_reset();
        if (rc != 0) {
            WT_EQ_ERR(rc, WARD_ENOMEM);
            WT_ASSERT(!d);
        }
        inv_doc_free(d);
    }
}

WT_TEST(docs_inventory_md_up_to_date)
{
    struct ward_buf b;
    char *file = NULL;
    size_t len = 0;
    ward_buf_init(&b, 1u << 20);
    WT_OK(inv_schema_markdown(&b));
    WT_OK(plat_fs_read_file(NULL, WARD_SOURCE_DIR "/docs/inventory.md", PLAT_FS_NTS, 1u << 20,
                            &file, &len));
    if (len != b.len || memcmp(file, b.data, len) != 0)
        wt_fail(__FILE__, __LINE__,
                "docs/inventory.md is out of date: run `ward inventory --schema-markdown > "
                "docs/inventory.md`");
    ward_free(file);
    ward_buf_release(&b);
}

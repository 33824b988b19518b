/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Text views of the inventory: the compact human summary `ward inventory` prints without
 * --json, and docs/inventory.md generated from the schema tables (a test keeps the
 * committed file equal to this output).
 */
#include <stdio.h>
#include <string.h>

#include "collector.h"
#include "inventory/inventory.h"
#include "ward/error.h"

static const char *sget(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static long long iget(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static void human_bytes(long long b, char *out, size_t n)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)b;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, n, u ? "%.1f %s" : "%.0f %s", v, units[u]);
}

int inv_doc_summary(const struct inv_doc *d, struct ward_buf *b)
{
    const json_t *doc = inv_doc_json(d), *sys, *cpu, *mem, *os, *disks, *net, *apps, *errs, *v;
    const char *k;
    char x[32], y[32];
    int rc = 0;

    if (!doc || !b)
        return WARD_EINVAL;
    os = inv_doc_section(d, "os");
    if (os)
        rc |= ward_buf_appendf(b, "host:       %s, %s, kernel %s, %s\n", sget(os, "hostname"),
                               sget(os, "pretty_name"), sget(os, "kernel"), sget(os, "arch"));
    sys = inv_doc_section(d, "system");
    if (sys) {
        if (json_is_true(json_object_get(sys, "dmi_present")))
            rc |= ward_buf_appendf(
                b, "system:     %s %s%s%s\n", sget(sys, "vendor"), sget(sys, "product"),
                json_object_get(sys, "chassis_type") ? ", " : "", sget(sys, "chassis_type"));
        else
            rc |= ward_buf_append_str(b, "system:     no DMI data (virtual machine?)\n");
    }
    cpu = inv_doc_section(d, "cpu");
    if (cpu)
        rc |= ward_buf_appendf(b, "cpu:        %s, %lld sockets, %lld cores, %lld threads\n",
                               sget(cpu, "model"), iget(cpu, "sockets"), iget(cpu, "cores"),
                               iget(cpu, "threads"));
    mem = inv_doc_section(d, "memory");
    if (mem) {
        human_bytes(iget(mem, "total_bytes"), x, sizeof(x));
        human_bytes(iget(mem, "swap_total_bytes"), y, sizeof(y));
        rc |= ward_buf_appendf(b, "memory:     %s RAM, %s swap\n", x, y);
    }
    disks = inv_doc_section(d, "disks");
    if (disks) {
        size_t i;
        json_array_foreach(json_object_get(disks, "devices"), i, v)
        {
            if (strcmp(sget(v, "kind"), "disk") != 0)
                continue;
            human_bytes(iget(v, "size_bytes"), x, sizeof(x));
            rc |= ward_buf_appendf(b, "disk:       %s %s %s %s\n", sget(v, "name"), x,
                                   sget(v, "transport"), sget(v, "model"));
        }
        json_array_foreach(json_object_get(disks, "filesystems"), i, v)
        {
            human_bytes(iget(v, "size_bytes"), x, sizeof(x));
            human_bytes(iget(v, "available_bytes"), y, sizeof(y));
            if (json_object_get(v, "size_bytes"))
                rc |= ward_buf_appendf(b, "filesystem: %s %s %s (%s free)\n", sget(v, "mountpoint"),
                                       sget(v, "fstype"), x, y);
            else
                rc |= ward_buf_appendf(b, "filesystem: %s %s\n", sget(v, "mountpoint"),
                                       sget(v, "fstype"));
        }
    }
    v = json_object_get(inv_doc_section(d, "encryption"), "summary");
    if (v)
        rc |= ward_buf_appendf(b, "encryption: root %s, %lld encrypted volumes\n",
                               json_is_true(json_object_get(v, "root_encrypted")) ? "encrypted"
                                                                                  : "NOT encrypted",
                               iget(v, "encrypted_volumes"));
    net = inv_doc_section(d, "network");
    if (net) {
        size_t i, j;
        const json_t *a;
        json_array_foreach(json_object_get(net, "interfaces"), i, v)
        {
            if (strcmp(sget(v, "kind"), "loopback") == 0)
                continue;
            rc |= ward_buf_appendf(b, "network:    %s %s %s %s", sget(v, "name"), sget(v, "kind"),
                                   sget(v, "operstate"), sget(v, "mac"));
            json_array_foreach(json_object_get(net, "addresses"), j,
                               a) if (strcmp(sget(a, "interface"), sget(v, "name")) == 0) rc |=
                ward_buf_appendf(b, " %s/%lld", sget(a, "address"), iget(a, "prefix_len"));
            rc |= ward_buf_append_str(b, "\n");
        }
        json_array_foreach(json_object_get(net, "routes"), i, v) rc |= ward_buf_appendf(
            b, "gateway:    %s via %s\n", sget(v, "gateway"), sget(v, "interface"));
        json_array_foreach(json_object_get(net, "dns"), i, v) rc |=
            ward_buf_appendf(b, "dns:        %s\n", sget(v, "server"));
    }
    v = inv_doc_section(d, "battery");
    if (v) {
        size_t i;
        const json_t *bat;
        json_array_foreach(v, i, bat) rc |=
            ward_buf_appendf(b, "battery:    %s %lld%% %s, health %.1f%%\n", sget(bat, "name"),
                             iget(bat, "capacity_percent"), sget(bat, "status"),
                             json_number_value(json_object_get(bat, "health_percent")));
    }
    v = inv_doc_section(d, "tpm");
    if (v)
        rc |= ward_buf_appendf(b, "tpm:        %s%s %s\n",
                               json_is_true(json_object_get(v, "present")) ? "TPM " : "none",
                               sget(v, "version"), sget(v, "manufacturer"));
    v = inv_doc_section(d, "users");
    if (v)
        rc |= ward_buf_appendf(b, "users:      %zu accounts, %zu sessions\n",
                               json_array_size(json_object_get(v, "accounts")),
                               json_array_size(json_object_get(v, "sessions")));
    v = inv_doc_section(d, "services");
    if (v)
        rc |= ward_buf_appendf(b, "services:   %zu\n", json_array_size(v));
    apps = inv_doc_section(d, "apps");
    if (apps) {
        static const char *const sources[] = {"dpkg", "rpm", "flatpak", "snap", NULL};
        size_t i, installed = 0;
        rc |= ward_buf_appendf(b, "apps:       %zu", json_array_size(apps));
        for (size_t s = 0; sources[s]; s++) {
            size_t n = 0;
            json_array_foreach(apps, i, v) if (strcmp(sget(v, "source"), sources[s]) == 0) n++;
            if (n)
                rc |= ward_buf_appendf(b, ", %s %zu", sources[s], n);
        }
        json_array_foreach(apps, i, v) if (strcmp(sget(v, "status"), "installed") == 0) installed++;
        rc |= ward_buf_appendf(b, " (%zu installed)\n", installed);
    }
    errs = json_object_get(json_object_get(doc, "collection"), "errors");
    json_object_foreach((json_t *)(uintptr_t)errs, k, v) rc |=
        ward_buf_appendf(b, "error:      %s: %s (%s%s)\n", k, sget(v, "message"), sget(v, "code"),
                         json_is_true(json_object_get(v, "partial")) ? ", partial" : "");
    return rc ? WARD_ETOOBIG : 0;
}

/* Markdown table cells: no pipes or newlines. */
static int md_cell(struct ward_buf *b, const char *s)
{
    int rc = 0;
    for (; *s && rc == 0; s++)
        rc = *s == '|' ? ward_buf_append_str(b, "\\|") : ward_buf_append(b, s, 1);
    return rc;
}

int inv_schema_markdown(struct ward_buf *b)
{
    int rc = 0;
    if (!b)
        return WARD_EINVAL;
    rc |= ward_buf_append_str(
        b, "<!-- SPDX-License-Identifier: Apache-2.0 -->\n"
           "<!-- Generated by `ward inventory --schema-markdown` from inventory/src/schema.c; "
           "do not edit. -->\n"
           "# Inventory document\n\n"
           "`ward inventory --json` prints one JSON object. Each collected *section* is a "
           "top-level key; a section holds one or more *tables*. A table is either one row (a "
           "JSON object) or an array of rows. Rows only hold the scalar columns listed below; a "
           "column whose value is unknown on a machine is left out of the row (never null). "
           "Key columns (marked **key**) are always present and identify a row within its "
           "table: rows are sorted by them and no two rows share them, so two documents can be "
           "diffed row by row (`inv_row_key()` gives the key as a JSON array text, e.g. "
           "`[\"dpkg\",\"openssl\",\"amd64\"]`).\n\n"
           "The `collection` member describes the run: `agent_version`, `os`, `root` (only with "
           "`--root`), `errors` (per failed section: `code` such as `WARD_ENOTSUP`, `message`, "
           "and `partial`: true when the section's rows were kept anyway, e.g. after a time-out "
           "or when one package manager failed), `duration_ms` per section, `total_ms` and "
           "`dropped_rows` (per table: rows without keys or with a repeated key). A failed "
           "section without partial rows is absent from the document.\n\n"
           "Each collector has a time budget checked between rows; over budget it stops with "
           "`WARD_ETIMEDOUT`, keeps the rows it had and is marked partial. Under `--root DIR` "
           "the files are read below DIR; filesystem sizes (statvfs), live addresses "
           "(getifaddrs) and services (the system bus) are about the running machine and are "
           "left out or reported as `WARD_ENOTSUP` there.\n\n"
           "Columns marked *volatile* change on their own from one minute to the next (free "
           "memory, battery charge). They are left out of the inventory hash and of delta "
           "comparisons (docs/protocol.md, `POST /api/v1/inventory`), so an unchanged machine "
           "uploads an empty delta; the service keeps the value last sent with the row.\n");
    for (size_t s = 0; inv_sections[s]; s++) {
        const struct inv_section *sec = inv_sections[s];
        rc |= ward_buf_appendf(b, "\n## %s\n\n%s.\n", sec->name, sec->description);
        for (size_t i = 0; sec->tables[i]; i++) {
            const struct inv_table *t = sec->tables[i];
            rc |= ward_buf_appendf(b, "\n### `%s` (%s)\n\n%s\n\n", t->name,
                                   t->shape == INV_SHAPE_ARRAY ? "array of rows" : "one row",
                                   t->description);
            rc |= ward_buf_append_str(b, "| column | type | flags | description |\n"
                                         "|---|---|---|---|\n");
            for (const struct inv_column *c = t->columns; c->name; c++) {
                rc |= ward_buf_appendf(b, "| `%s` | %s | %s | ", c->name, inv_type_name(c->type),
                                       (c->flags & INV_COL_KEY)        ? "**key**"
                                       : (c->flags & INV_COL_VOLATILE) ? "*volatile*"
                                                                       : "");
                rc |= md_cell(b, c->description);
                rc |= ward_buf_append_str(b, " |\n");
            }
        }
    }
    return rc ? WARD_ETOOBIG : 0;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * plat_boot_id against boot_id files in a scratch root: a valid one, missing ones, garbage,
 * overlong lines, and the running machine's own. The D-Bus half of platform/power.h is
 * tested by test_power.py against python-dbusmock's logind. Where the OS has no boot id
 * (Windows, POWER_BOOT_ID 0) every call must be WARD_ENOTSUP instead.
 */
#include <string.h>

#include "platform/power.h"
#include "wtest.h"

#define REL "proc/sys/kernel/random/boot_id"
#define GOOD "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"

/* A fresh scratch root holding a boot_id file with data[len]; returns the root. */
static const char *root_with(const char *name, const char *data, size_t len)
{
    char rel[128];
    snprintf(rel, sizeof(rel), "%s/%s", name, REL);
    wt_write_file(rel, data, len);
    return wt_path(name);
}

/* plat_boot_id(root) must give want (and, on success, id). */
static void expect(const char *root, int want, const char *id)
{
    char out[64];
    memset(out, 'x', sizeof(out));
    if (!POWER_BOOT_ID) {
        WT_EQ_ERR(plat_boot_id(root, out, sizeof(out)), WARD_ENOTSUP);
        return;
    }
    WT_EQ_ERR(plat_boot_id(root, out, sizeof(out)), want);
    WT_EQ_STR(out, want == 0 ? id : "");
}

WT_TEST(valid)
{
    expect(root_with("a", GOOD "\n", 37), 0, GOOD);
    /* no newline at the end, later lines ignored, upper case folded */
    expect(root_with("b", GOOD, 36), 0, GOOD);
    expect(root_with("c", GOOD "\nsecond line\n", 49), 0, GOOD);
    expect(root_with("d", "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0\n", 37), 0, GOOD);
    /* a trailing slash on the root changes nothing */
    expect(wt_path("a/"), 0, GOOD);
}

WT_TEST(missing)
{
    expect(wt_path("no-such-root"), WARD_ENOENT, NULL);
    wt_write_file("empty/proc/sys/kernel/other", "", 0);
    expect(wt_path("empty"), WARD_ENOENT, NULL);
    /* a file where the random directory should be */
    wt_write_file("file/proc/sys/kernel/random", "x", 1);
    expect(wt_path("file"), WARD_ENOENT, NULL);
}

WT_TEST(garbage)
{
    static const struct {
        const char *data;
        size_t len;
    } bad[] = {
        {"", 0},
        {"\n", 1},
        {"hello\n", 6},
        {"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f\n", 36},    /* one short */
        {"0f1e2d3c4b5a-6978-8796-a5b4c3d2e1f0a\n", 37},   /* dash moved */
        {"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg\n", 37},   /* not hex */
        {"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\r\n", 38}, /* CRLF */
        {" 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n", 38},  /* leading space */
        {"0f1e2d3c-4b5a-6978-8796-a5b4c3d2\0e1f0\n", 38}, /* NUL inside */
        {"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\0\n", 38}, /* NUL after */
        {"------------------------------------\n", 37},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char name[32];
        snprintf(name, sizeof(name), "g%zu", i);
        expect(root_with(name, bad[i].data, bad[i].len), WARD_EPARSE, NULL);
    }
    /* a directory in the file's place */
    wt_write_file("dir/" REL "/x", "", 0);
    expect(wt_path("dir"), WARD_EPARSE, NULL);
}

WT_TEST(overlong)
{
    static char big[8192];
    expect(root_with("l1", GOOD "0\n", 38), WARD_EPARSE, NULL);
    memset(big, 'a', sizeof(big));
    memcpy(big, GOOD "\n", 37); /* a valid first line in a file far too long for one */
    expect(root_with("l2", big, sizeof(big)), WARD_EPARSE, NULL);
}

WT_TEST(small_buffer)
{
    const char *root = root_with("s", GOOD "\n", 37);
    char out[37];
    if (!POWER_BOOT_ID) {
        WT_EQ_ERR(plat_boot_id(root, out, sizeof(out)), WARD_ENOTSUP);
        return;
    }
    WT_EQ_ERR(plat_boot_id(root, out, sizeof(out) - 1), WARD_EINVAL);
    WT_EQ_ERR(plat_boot_id(root, NULL, 64), WARD_EINVAL);
    WT_OK(plat_boot_id(root, out, sizeof(out)));
    WT_EQ_STR(out, GOOD);
}

WT_TEST(live)
{
    char a[37], b[37];
    if (!POWER_BOOT_ID) {
        WT_EQ_ERR(plat_boot_id(NULL, a, sizeof(a)), WARD_ENOTSUP);
        return;
    }
    /* NULL and "" both mean "/": the running kernel's id, the same on every read */
    WT_OK(plat_boot_id(NULL, a, sizeof(a)));
    WT_OK(plat_boot_id("", b, sizeof(b)));
    WT_EQ_STR(a, b);
    WT_EQ_INT(strlen(a), 36);
}

/* SPDX-License-Identifier: Apache-2.0 */
/* The wtest runner: case registry, main(), failure reporting and scratch directories. */
#include "wtest.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "platform/fs.h"
#include "ward/alloc.h"

static struct wt_case *wt_head;
static struct wt_case **wt_tail = &wt_head;
static char *wt_dir;
static const char *wt_current = "?";

struct wt_str {
    char *s;
    struct wt_str *next;
};
static struct wt_str *wt_strings;

void wt_register(struct wt_case *c)
{
    *wt_tail = c;
    wt_tail = &c->next;
}

static void wt_cleanup(void)
{
    if (wt_dir && !getenv("WT_KEEP"))
        plat_fs_remove_tree(wt_dir);
    else if (wt_dir)
        fprintf(stderr, "wtest: kept %s\n", wt_dir);
    free(wt_dir);
    wt_dir = NULL;
    while (wt_strings) {
        struct wt_str *n = wt_strings->next;
        free(wt_strings->s);
        free(wt_strings);
        wt_strings = n;
    }
}

_Noreturn void wt_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "FAIL %s at %s:%d\n  ", wt_current, file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    /* Keep the scratch tree of a failed case for inspection. */
    if (wt_dir)
        fprintf(stderr, "  scratch dir: %s\n", wt_dir);
    exit(1);
}

static const char *wt_keep(char *s)
{
    struct wt_str *n = malloc(sizeof(*n));
    if (!s || !n)
        wt_fail(__FILE__, __LINE__, "out of memory in test helper");
    n->s = s;
    n->next = wt_strings;
    wt_strings = n;
    return s;
}

const char *wt_tmpdir(void)
{
    if (!wt_dir) {
        int rc = plat_fs_make_temp_dir("wtest", &wt_dir);
        if (rc != 0)
            wt_fail(__FILE__, __LINE__, "cannot create scratch dir: %s", ward_err_name(rc));
    }
    return wt_dir;
}

const char *wt_path(const char *rel)
{
    const char *d = wt_tmpdir();
    size_t n = strlen(d) + strlen(rel) + 2;
    char *p = malloc(n);
    if (!p)
        wt_fail(__FILE__, __LINE__, "out of memory in test helper");
    snprintf(p, n, "%s/%s", d, rel);
    return wt_keep(p);
}

const char *wt_write_file(const char *rel, const char *data, size_t len)
{
    const char *p = wt_path(rel);
    int rc = plat_fs_write_file_mkdirs(p, data, len);
    if (rc != 0)
        wt_fail(__FILE__, __LINE__, "cannot write %s: %s", p, ward_err_name(rc));
    return p;
}

void wt_check_generated(const char *path, const char *begin, const char *end, const char *gen,
                        size_t genlen)
{
    char *doc = NULL, *b, *e;
    size_t len;
    if (plat_fs_read_file(NULL, path, PLAT_FS_NTS, 1 << 22, &doc, &len) != 0)
        wt_fail(__FILE__, __LINE__, "cannot read %s", path);
    b = strstr(doc, begin);
    e = b ? strstr(b, end) : NULL;
    if (!b || !e) {
        ward_free(doc);
        wt_fail(__FILE__, __LINE__, "%s lacks the markers %s ... %s", path, begin, end);
    }
    b += strlen(begin);
    if (getenv("WARD_UPDATE_DOCS")) {
        size_t head = (size_t)(b - doc), tail = strlen(e);
        char *out = ward_malloc(head + genlen + tail);
        if (!out)
            wt_fail(__FILE__, __LINE__, "out of memory");
        memcpy(out, doc, head);
        memcpy(out + head, gen, genlen);
        memcpy(out + head + genlen, e, tail);
        if (plat_fs_write_file_mkdirs(path, out, head + genlen + tail) != 0)
            wt_fail(__FILE__, __LINE__, "cannot write %s", path);
        ward_free(out);
    } else if ((size_t)(e - b) != genlen || memcmp(b, gen, genlen) != 0) {
        ward_free(doc);
        wt_fail(__FILE__, __LINE__,
                "the generated part of %s is out of date: rerun this case with "
                "WARD_UPDATE_DOCS=1",
                path);
    }
    ward_free(doc);
}

const char *wt_data_dir(void)
{
    const char *d = getenv("WARD_TEST_DATA");
    return d ? d : WARD_TEST_DATA_DIR;
}

int main(int argc, char **argv)
{
    int ran = 0;
    atexit(wt_cleanup);
    if (argc > 1 && strcmp(argv[1], "--list") == 0) {
        for (struct wt_case *c = wt_head; c; c = c->next)
            printf("%s\n", c->name);
        return 0;
    }
    for (struct wt_case *c = wt_head; c; c = c->next) {
        if (argc > 1 && strcmp(argv[1], c->name) != 0)
            continue;
        wt_current = c->name;
        c->fn();
        ward_alloc_fail_reset();
        printf("ok %s\n", c->name);
        ran++;
    }
    if (ran == 0) {
        fprintf(stderr, "wtest: no case named %s\n", argc > 1 ? argv[1] : "(any)");
        return 2;
    }
    return 0;
}

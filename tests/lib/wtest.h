/* SPDX-License-Identifier: Apache-2.0 */
/*
 * wtest: Ward's small unit-test runner. A test file defines cases with WT_TEST(name); the
 * build registers each case as its own ctest test (one process per case, with a timeout),
 * found by scanning the source for WT_TEST( lines. A failed assertion prints the
 * expression and both sides, then exits non-zero.
 *
 *   test_x            run every case in the file
 *   test_x NAME       run one case
 *   test_x --list     print the case names
 */
#ifndef WARD_WTEST_H
#define WARD_WTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ward/config.h"
#include "ward/error.h"

struct wt_case {
    const char *name;
    void (*fn)(void);
    struct wt_case *next;
};

void wt_register(struct wt_case *c);
_Noreturn void wt_fail(const char *file, int line, const char *fmt, ...) WARD_PRINTF(3, 4);

/* Scratch directory for the running case, created on first use and removed at exit
 * unless WT_KEEP is set in the environment. Returns an absolute path. */
const char *wt_tmpdir(void);
/* Joins wt_tmpdir() and a relative name into a static-per-call heap string the runner
 * frees at exit. */
const char *wt_path(const char *rel);
/* Writes a file (creating parent directories) under the scratch dir; returns its path. */
const char *wt_write_file(const char *rel, const char *data, size_t len);
/* A generated part of a document in the source tree (under docs/) must equal gen: the text
 * between the lines begin and end of the file at path. With WARD_UPDATE_DOCS=1 in the
 * environment the file is rewritten instead. A stale document fails the case, naming
 * path and how to regenerate it. */
void wt_check_generated(const char *path, const char *begin, const char *end, const char *gen,
                        size_t genlen);
/* Directory of the test's data fixtures (tests/data in the source tree). */
const char *wt_data_dir(void);

#define WT_TEST(name)                                                                              \
    static void wt_fn_##name(void);                                                                \
    static struct wt_case wt_case_##name = {#name, wt_fn_##name, NULL};                            \
    __attribute__((constructor)) static void wt_reg_##name(void)                                   \
    {                                                                                              \
        wt_register(&wt_case_##name);                                                              \
    }                                                                                              \
    static void wt_fn_##name(void)

#define WT_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond))                                                                               \
            wt_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);                            \
    } while (0)

#define WT_EQ_INT(a, b)                                                                            \
    do {                                                                                           \
        long long wt_a_ = (long long)(a), wt_b_ = (long long)(b);                                  \
        if (wt_a_ != wt_b_)                                                                        \
            wt_fail(__FILE__, __LINE__, "%s == %s\n  left:  %lld\n  right: %lld", #a, #b, wt_a_,   \
                    wt_b_);                                                                        \
    } while (0)

#define WT_NE_INT(a, b)                                                                            \
    do {                                                                                           \
        long long wt_a_ = (long long)(a), wt_b_ = (long long)(b);                                  \
        if (wt_a_ == wt_b_)                                                                        \
            wt_fail(__FILE__, __LINE__, "%s != %s\n  both: %lld", #a, #b, wt_a_);                  \
    } while (0)

/* Compares Ward error codes and prints their names. */
#define WT_EQ_ERR(a, b)                                                                            \
    do {                                                                                           \
        int wt_a_ = (a), wt_b_ = (b);                                                              \
        if (wt_a_ != wt_b_)                                                                        \
            wt_fail(__FILE__, __LINE__, "%s == %s\n  left:  %d (%s)\n  right: %d (%s)", #a, #b,    \
                    wt_a_, ward_err_name(wt_a_), wt_b_, ward_err_name(wt_b_));                     \
    } while (0)

#define WT_OK(expr) WT_EQ_ERR((expr), 0)

#define WT_EQ_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *wt_a_ = (a), *wt_b_ = (b);                                                     \
        if (!wt_a_ || !wt_b_ ? wt_a_ != wt_b_ : strcmp(wt_a_, wt_b_) != 0)                         \
            wt_fail(__FILE__, __LINE__, "%s == %s\n  left:  \"%s\"\n  right: \"%s\"", #a, #b,      \
                    wt_a_ ? wt_a_ : "(null)", wt_b_ ? wt_b_ : "(null)");                           \
    } while (0)

#define WT_CONTAINS(hay, needle)                                                                   \
    do {                                                                                           \
        const char *wt_h_ = (hay), *wt_n_ = (needle);                                              \
        if (!wt_h_ || !strstr(wt_h_, wt_n_))                                                       \
            wt_fail(__FILE__, __LINE__, "%s contains %s\n  haystack: \"%s\"\n  needle:   \"%s\"",  \
                    #hay, #needle, wt_h_ ? wt_h_ : "(null)", wt_n_);                               \
    } while (0)

#define WT_EQ_MEM(a, b, n)                                                                         \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0)                                                            \
            wt_fail(__FILE__, __LINE__, "memcmp(%s, %s, %s) == 0", #a, #b, #n);                    \
    } while (0)

#endif

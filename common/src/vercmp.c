/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Package version comparison: dpkg's verrevcmp (lib/dpkg/version.c) and rpm's rpmvercmp
 * (rpmio/rpmvercmp.c) re-implemented on (pointer, length) segments without changing the
 * strings, plus the epoch/revision splitting around them. Character classes are ASCII
 * only, as in both originals (c_isdigit/c_isalpha and risdigit/risalpha).
 */
#include "ward/vercmp.h"

#include <stddef.h>
#include <string.h>

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* ---- dpkg ------------------------------------------------------------------------------ */

/* dpkg's order of a non-digit character: '~' before the end, the end before letters,
 * letters before everything else. */
static int dpkg_order(int c)
{
    if (is_digit(c))
        return 0;
    if (is_alpha(c))
        return c;
    if (c == '~')
        return -1;
    if (c)
        return c + 256;
    return 0;
}

/* verrevcmp on [a, ae) and [b, be). */
static int verrevcmp(const char *a, const char *ae, const char *b, const char *be)
{
#define A (a < ae ? (unsigned char)*a : 0)
#define B (b < be ? (unsigned char)*b : 0)
    while (a < ae || b < be) {
        int first_diff = 0;
        while ((A && !is_digit(A)) || (B && !is_digit(B))) {
            int ac = dpkg_order(A), bc = dpkg_order(B);
            if (ac != bc)
                return ac - bc;
            a++;
            b++;
        }
        while (A == '0')
            a++;
        while (B == '0')
            b++;
        while (is_digit(A) && is_digit(B)) {
            if (!first_diff)
                first_diff = A - B;
            a++;
            b++;
        }
        if (is_digit(A))
            return 1;
        if (is_digit(B))
            return -1;
        if (first_diff)
            return first_diff;
    }
    return 0;
#undef A
#undef B
}

struct evr {
    unsigned long long epoch;
    const char *ver, *ver_end;
    const char *rel, *rel_end; /* rel == NULL: no revision/release */
};

/* "[epoch:]version[-release]": the epoch is the digits before the first ':', the release
 * what follows the last '-'. */
static void split_evr(const char *s, struct evr *e)
{
    const char *colon = strchr(s, ':'), *dash;
    size_t n = strlen(s);
    e->epoch = 0;
    e->ver = s;
    if (colon && colon > s) {
        const char *p = s;
        unsigned long long v = 0;
        while (p < colon && is_digit((unsigned char)*p) && v < 1000000000ULL)
            v = v * 10 + (unsigned long long)(*p++ - '0');
        if (p == colon) {
            e->epoch = v;
            e->ver = colon + 1;
        }
    }
    e->ver_end = s + n;
    dash = strrchr(e->ver, '-');
    if (dash) {
        e->rel = dash + 1;
        e->rel_end = s + n;
        e->ver_end = dash;
    } else {
        e->rel = e->rel_end = NULL;
    }
}

static int sign(int v)
{
    return (v > 0) - (v < 0);
}

int ward_vercmp_dpkg(const char *a, const char *b)
{
    struct evr x, y;
    int r;
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    split_evr(a, &x);
    split_evr(b, &y);
    if (x.epoch != y.epoch)
        return x.epoch > y.epoch ? 1 : -1;
    r = verrevcmp(x.ver, x.ver_end, y.ver, y.ver_end);
    if (r)
        return sign(r);
    /* A missing revision is the empty one (dpkg: "" sorts like "0"). */
    return sign(verrevcmp(x.rel ? x.rel : "", x.rel ? x.rel_end : "", y.rel ? y.rel : "",
                          y.rel ? y.rel_end : ""));
}

/* ---- rpm ------------------------------------------------------------------------------- */

static int rpm_segcmp(const char *a, const char *ae, const char *b, const char *be)
{
#define A (a < ae ? (unsigned char)*a : 0)
#define B (b < be ? (unsigned char)*b : 0)
    while (a < ae || b < be) {
        const char *s1, *s2;
        size_t l1, l2;
        int isnum, r;
        while (A && !is_digit(A) && !is_alpha(A) && A != '~' && A != '^')
            a++;
        while (B && !is_digit(B) && !is_alpha(B) && B != '~' && B != '^')
            b++;
        /* '~' sorts before everything, even the end. */
        if (A == '~' || B == '~') {
            if (A != '~')
                return 1;
            if (B != '~')
                return -1;
            a++;
            b++;
            continue;
        }
        /* '^' sorts after the end but before anything else. */
        if (A == '^' || B == '^') {
            if (!A)
                return -1;
            if (!B)
                return 1;
            if (A != '^')
                return 1;
            if (B != '^')
                return -1;
            a++;
            b++;
            continue;
        }
        if (!(A && B))
            break;
        s1 = a;
        s2 = b;
        if (is_digit(A)) {
            while (A && is_digit(A))
                a++;
            while (B && is_digit(B))
                b++;
            isnum = 1;
        } else {
            while (A && is_alpha(A))
                a++;
            while (B && is_alpha(B))
                b++;
            isnum = 0;
        }
        /* b's segment is empty when the classes differ: numbers beat letters. */
        if (b == s2)
            return isnum ? 1 : -1;
        if (isnum) {
            while (s1 < a && *s1 == '0')
                s1++;
            while (s2 < b && *s2 == '0')
                s2++;
            l1 = (size_t)(a - s1);
            l2 = (size_t)(b - s2);
            if (l1 != l2)
                return l1 > l2 ? 1 : -1;
        }
        l1 = (size_t)(a - s1);
        l2 = (size_t)(b - s2);
        r = memcmp(s1, s2, l1 < l2 ? l1 : l2);
        if (r)
            return sign(r);
        if (l1 != l2)
            return l1 > l2 ? 1 : -1;
    }
    if (!A && !B)
        return 0;
    return !A ? -1 : 1;
#undef A
#undef B
}

int ward_rpmvercmp(const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    if (strcmp(a, b) == 0)
        return 0;
    return rpm_segcmp(a, a + strlen(a), b, b + strlen(b));
}

int ward_vercmp_rpm(const char *a, const char *b)
{
    struct evr x, y;
    int r;
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    split_evr(a, &x);
    split_evr(b, &y);
    if (x.epoch != y.epoch)
        return x.epoch > y.epoch ? 1 : -1;
    r = rpm_segcmp(x.ver, x.ver_end, y.ver, y.ver_end);
    if (r || !x.rel || !y.rel)
        return r;
    return rpm_segcmp(x.rel, x.rel_end, y.rel, y.rel_end);
}

int ward_vercmp(const char *source, const char *a, const char *b)
{
    if (source && strcmp(source, "rpm") == 0)
        return ward_vercmp_rpm(a, b);
    return ward_vercmp_dpkg(a, b);
}

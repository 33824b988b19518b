/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Package version ordering, as the package managers themselves define it, so that "which
 * devices have openssl below 3.0.15" gives the answer apt or dnf would: dpkg's algorithm
 * (epoch, upstream version, Debian revision; `~` sorts before everything, even the end of
 * the string) and rpm's rpmvercmp (alphanumeric segments, numbers by value, `~` before
 * and `^` after the end). Pure functions on C strings, ASCII rules, no locale.
 */
#ifndef WARD_VERCMP_H
#define WARD_VERCMP_H

/* Full dpkg comparison of "[epoch:]upstream[-revision]": < 0, 0 or > 0 like strcmp. An
 * epoch that is not a number counts as part of the upstream version. */
int ward_vercmp_dpkg(const char *a, const char *b);

/* rpm's rpmvercmp on two version (or release) strings: < 0, 0, > 0. */
int ward_rpmvercmp(const char *a, const char *b);

/* rpm comparison of "[epoch:]version[-release]": epochs as numbers (absent = 0), then
 * versions with rpmvercmp, then releases only when both have one (so "3.0.7" matches any
 * release of 3.0.7, as `rpm -q --whatprovides 'openssl = 3.0.7'` does). */
int ward_vercmp_rpm(const char *a, const char *b);

/* The comparison for a package source: "rpm" uses ward_vercmp_rpm, everything else
 * (dpkg, flatpak, snap, NULL) ward_vercmp_dpkg. */
int ward_vercmp(const char *source, const char *a, const char *b);

#endif

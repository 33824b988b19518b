/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Certificate trust stores: checking that a PEM text is exactly one usable CA certificate
 * (portable, OpenSSL; src/common/trust_cert.c), and the operating system's trust store of a
 * root: where an added anchor goes and how the bundle programs read is rebuilt from it.
 *
 * Linux picks the system store at run time by what the tree under `root` has (Debian's
 * ca-certificates, then Fedora's ca-trust) and rebuilds it with the distribution's own tool
 * (argv through platform/proc.h, no shell). Callers write and remove the anchor files
 * themselves (enforcement does it through its run context, so writes are confined to the
 * root and visible to its hooks); this module only names them and runs the rebuild.
 * Windows (the certificate store API) is not written yet: WARD_ENOTSUP.
 */
#ifndef PLATFORM_TRUST_H
#define PLATFORM_TRUST_H

#include <stddef.h>
#include <stdint.h>

/* Largest PEM text accepted: a CA certificate is a few kB; anything bigger is refused
 * before it is parsed (a 10,000-certificate chain, a 100 MB answer). */
#define PLAT_TRUST_PEM_MAX ((size_t)64 * 1024)
/* Longest anchor name (file name without its suffix). */
#define PLAT_TRUST_NAME_MAX 64

/* not_before_unix/not_after_unix of a time OpenSSL cannot convert. */
#define PLAT_TRUST_TIME_UNKNOWN INT64_MIN

/* A checked certificate. */
struct plat_trust_cert {
    char *pem; /* canonical PEM (OpenSSL's encoding, one block, ending "\n"), ward_malloc'd */
    size_t pem_len;
    char sha256[65];   /* SHA-256 of the DER, lower-case hex */
    char subject[256]; /* RFC 2253 subject, cut to fit */
    char issuer[256];  /* RFC 2253 issuer, cut to fit */
    char serial[66];   /* serial number, upper-case hex (RFC 5280: at most 20 octets) */
    char not_after[40];
    int64_t not_before_unix; /* validity, seconds since the Unix epoch (or unknown) */
    int64_t not_after_unix;
    int is_ca; /* basicConstraints CA:TRUE (and keyCertSign when keyUsage is present) */
    int expired;
    int not_yet_valid;
};

#define PLAT_TRUST_REQUIRE_CA 0x1u    /* refuse a certificate that is not a CA */
#define PLAT_TRUST_REQUIRE_VALID 0x2u /* refuse one outside notBefore..notAfter at `now` */

/* Parses pem (len bytes, NUL not needed) as exactly one certificate: optional surrounding
 * whitespace, one "CERTIFICATE" block without headers, nothing else (no second certificate,
 * no private key, no trailing text). `now` is Unix seconds for the validity test. On
 * success out is filled (release it); on failure why says which rule refused it and the
 * code is WARD_ETOOBIG (over PLAT_TRUST_PEM_MAX), WARD_EPARSE (not one certificate),
 * WARD_EINVAL (not a CA, with PLAT_TRUST_REQUIRE_CA), WARD_EEXPIRED (outside its validity,
 * with PLAT_TRUST_REQUIRE_VALID) or WARD_ENOMEM. */
int plat_trust_cert_parse(const char *pem, size_t len, int64_t now, unsigned flags,
                          struct plat_trust_cert *out, char *why, size_t whylen);
/* NULL-safe. */
void plat_trust_cert_release(struct plat_trust_cert *c);

/* 1 when name can be an anchor file name: 1..PLAT_TRUST_NAME_MAX characters of
 * [A-Za-z0-9._-], not starting with '.' or '-' (no path separator, "..", NUL, control or
 * shell characters). */
int plat_trust_name_ok(const char *name, size_t len);

/* One system trust store. Paths are root-relative. */
struct plat_trust_system {
    const char *name;       /* "debian" (ca-certificates), "fedora" (ca-trust) */
    const char *anchor_dir; /* where Ward's anchors go */
    const char *prefix;     /* anchor file name: prefix NAME suffix */
    const char *suffix;
    const char *bundle; /* the PEM bundle the rebuild writes (TLS clients read it) */
    const char *tool;   /* the rebuild program, for messages */
};

/* The system store of the tree at root (NULL: "/"), by what it has: Debian's
 * /etc/ca-certificates.conf, else Fedora's /etc/pki/ca-trust. *out is static.
 * WARD_ENOTSUP (why says what was looked for) when it has neither. */
int plat_trust_system_detect(const char *root, const struct plat_trust_system **out, char *why,
                             size_t whylen);

/* Rebuilds the bundle of st under root from its anchors (blocking; not on the loop
 * thread). Root "/": `update-ca-certificates --fresh` (its hooks run) or
 * `update-ca-trust extract`. Another root: Debian runs this host's update-ca-certificates
 * with its directory options pointed into the root and without hooks (the tree's hooks
 * are never run on this host; the hash links it makes in etc/ssl/certs name host paths,
 * the bundle itself is right); Fedora runs the tree's update-ca-trust under chroot(8).
 * Errors: WARD_ENOENT (the tool is missing), WARD_EIO (it failed; why has its last line),
 * spawn errors as plat_proc_run; WARD_ENOTSUP on Windows. */
int plat_trust_system_update(const char *root, const struct plat_trust_system *st, char *why,
                             size_t whylen);

#endif

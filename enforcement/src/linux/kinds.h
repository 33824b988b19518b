/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux setting kinds, each defined in its own kind_<name>.c and listed in this OS's
 * registry (registry.c). A new kind adds its table here and one line to the registry.
 */
#ifndef ENFORCEMENT_LINUX_KINDS_H
#define ENFORCEMENT_LINUX_KINDS_H

#include "enforcement/kind.h"

extern const struct enf_kind enf_kind_file;
extern const struct enf_kind enf_kind_line;
extern const struct enf_kind enf_kind_ini;
extern const struct enf_kind enf_kind_sysctl;
extern const struct enf_kind enf_kind_kernel_module;
extern const struct enf_kind enf_kind_command;
extern const struct enf_kind enf_kind_service;
extern const struct enf_kind enf_kind_package;
extern const struct enf_kind enf_kind_firewall;
extern const struct enf_kind enf_kind_user;
extern const struct enf_kind enf_kind_dconf;
extern const struct enf_kind enf_kind_mount_option;
extern const struct enf_kind enf_kind_password_policy;
extern const struct enf_kind enf_kind_trust_root;
extern const struct enf_kind enf_kind_client_cert;
extern const struct enf_kind enf_kind_wifi;
extern const struct enf_kind enf_kind_vpn;

/* Where a client_cert setting keeps its certificate and key (for a wifi or vpn setting
 * that names it); WARD_ETOOBIG when a path does not fit in len. */
int enf_client_cert_paths(const struct enf_setting *s, char *cert, char *key, size_t len);
/* The refs slot of a kind with a `client_cert` field naming a client_cert setting of the
 * same document. */
int enf_client_cert_refs(const struct enf_setting *s, struct enf_diags *d);
/* Validation of a setting that names a client_cert: the path fields it replaces are
 * refused (one problem each); returns how many. */
int enf_client_cert_not_paths(const struct enf_setting *s, struct enf_diags *d);
/* The paths of the client_cert setting s names in its `client_cert` field: WARD_ENOENT when
 * it names none (cert and key then ""). */
int enf_client_cert_ref_paths(const struct enf_setting *s, char *cert, char *key, size_t len);

#endif

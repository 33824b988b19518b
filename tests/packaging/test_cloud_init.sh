#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# packaging/cloud-init/user-data.yaml against cloud-init's own schema (cloud-init schema
# --config-file), and a broken copy of it, which must be refused (the check is live).
# Only the document is checked here: cloud-init does not run. Exit 77 without cloud-init.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
doc=$top/packaging/cloud-init/user-data.yaml
command -v cloud-init >/dev/null || {
    echo "SKIP: cloud-init is not installed (apt-get install cloud-init)"
    exit 77
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cloud-init schema --config-file "$doc"
# the token's mode as a number, and packages as a string: both outside the schema
sed -e 's/permissions: "0600"/permissions: 600/' -e 's/^packages:$/packages: ward/' \
    -e '/^  - ward$/d' "$doc" >"$tmp/broken.yaml"
if cloud-init schema --config-file "$tmp/broken.yaml" >"$tmp/out" 2>&1; then
    echo "FAIL: cloud-init accepted the broken copy:"
    cat "$tmp/out"
    exit 1
fi
grep -q "packages: 'ward' is not of type 'array'" "$tmp/out" &&
    grep -q "permissions: 600 is not of type 'string'" "$tmp/out" || {
    echo "FAIL: cloud-init refused the broken copy, but not for packages:"
    cat "$tmp/out"
    exit 1
}
echo "ok: user-data.yaml is valid cloud-config; the broken copy is refused: $(grep -o 'errors: .*' "$tmp/out")"

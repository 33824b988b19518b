#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# packaging/ansible without a target: ansible-playbook --syntax-check of the example
# playbook and ansible-lint (production profile) over the role. The role's behaviour
# against a real host is vm.ansible (tests/vm/run ansible). Exit 77 without the tools.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
for t in ansible-playbook ansible-lint; do
    command -v "$t" >/dev/null || {
        echo "SKIP: $t is not installed (apt-get install ansible-core ansible-lint)"
        exit 77
    }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export ANSIBLE_HOME=$tmp/home ANSIBLE_LOCAL_TEMP=$tmp/lt ANSIBLE_NOCOLOR=1
export ANSIBLE_ROLES_PATH=$top/packaging/ansible/roles
cd "$top/packaging/ansible"
printf '[laptops]\nexample ansible_connection=local\n' >"$tmp/inventory"
ansible-playbook -i "$tmp/inventory" --syntax-check site.yml
ansible-lint --offline --nocolor --profile production -p roles/ward site.yml
echo "ok: the role passes ansible-playbook --syntax-check and ansible-lint (production)"

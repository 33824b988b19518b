# SPDX-License-Identifier: Apache-2.0
# What the ward package does when it is installed, upgraded, removed and purged: one
# description that scripts/package puts into the deb's maintainer scripts and the rpm's
# scriptlets (each calls one of these functions with the package manager's own meaning
# translated). The service verbs come from the format's part in front of this file:
# svc_enable, svc_disable, svc_start, svc_stop, svc_try_restart, svc_reload_units (deb:
# deb-systemd-helper and deb-systemd-invoke; rpm: systemctl). POSIX sh; nothing here may
# prompt.

ward_systemd_running() { [ -d /run/systemd/system ]; }

# provisioned: a token is waiting, or the device is enrolled already
ward_provisioned() {
    [ -s /etc/ward/enroll.token ] || [ -s /var/lib/ward/state.db ]
}

ward_after_install() {
    svc_reload_units
    svc_enable ward.service
    # started only once it can enroll (or is enrolled): an unprovisioned install waits
    if ward_systemd_running && ward_provisioned; then
        svc_start ward.service
    fi
}

ward_after_upgrade() {
    svc_reload_units
    # the identity and the journal are in /var/lib/ward: a restart keeps them
    svc_try_restart ward.service
    if ward_systemd_running && ward_provisioned; then
        svc_start ward.service
    fi
}

ward_before_remove() {
    if ward_systemd_running; then
        svc_stop ward.service
    fi
}

ward_after_remove() {
    svc_disable ward.service
    svc_reload_units
}

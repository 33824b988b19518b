# SPDX-License-Identifier: Apache-2.0
# The deb's service verbs for hooks.sh (Debian's init-system-helpers, as dh_installsystemd
# uses them: they also work in a chroot and respect a local disable), and the debconf
# token.
svc_enable() { deb-systemd-helper enable "$1" >/dev/null || :; }
svc_disable() { deb-systemd-helper disable "$1" >/dev/null || :; }
svc_purge() { deb-systemd-helper purge "$1" >/dev/null || :; }
svc_start() { deb-systemd-invoke start "$1" || :; }
svc_stop() { deb-systemd-invoke stop "$1" || :; }
svc_try_restart() { deb-systemd-invoke try-restart "$1" || :; }
svc_reload_units() {
    if [ -d /run/systemd/system ]; then systemctl --system daemon-reload >/dev/null || :; fi
}

# purge (deb only: rpm has no purge, `rpm -e` keeps /var/lib/ward): identity, journal,
# configuration and a waiting token go
ward_after_purge() {
    rm -rf /var/lib/ward /etc/ward
}

# a preseeded token (debconf ward/enroll_token) becomes /etc/ward/enroll.token, once
ward_token_from_debconf() {
    token=$1
    [ -n "$token" ] || return 0
    [ -e /etc/ward/enroll.token ] && return 0
    [ -s /var/lib/ward/state.db ] && return 0
    mkdir -p /etc/ward
    (umask 077 && printf '%s\n' "$token" > /etc/ward/enroll.token)
}

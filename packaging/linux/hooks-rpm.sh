# SPDX-License-Identifier: Apache-2.0
# The rpm's service verbs for hooks.sh (what the %systemd_* macros expand to).
svc_enable() { systemctl enable "$1" >/dev/null 2>&1 || :; }
svc_disable() { systemctl disable "$1" >/dev/null 2>&1 || :; }
svc_start() { if [ -d /run/systemd/system ]; then systemctl start "$1" || :; fi; }
svc_stop() { if [ -d /run/systemd/system ]; then systemctl stop "$1" || :; fi; }
svc_try_restart() { if [ -d /run/systemd/system ]; then systemctl try-restart "$1" || :; fi; }
svc_reload_units() { if [ -d /run/systemd/system ]; then systemctl daemon-reload || :; fi; }

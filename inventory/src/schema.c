/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The inventory schema as data: every section, table and column of the document. These
 * tables drive the JSON output (collectors look their tables up here), validation,
 * row keys for deltas and docs/inventory.md. Changing a column here is changing the
 * document format: regenerate docs/inventory.md (`ward inventory --schema-markdown`).
 */
#include <string.h>

#include "collector.h"

#define KEY INV_COL_KEY
#define V INV_COL_VOLATILE
#define S INV_STRING
#define I INV_INT
#define B INV_BOOL
#define R INV_REAL
#define COL(n, t, f, d)                                                                            \
    {                                                                                              \
        .name = (n), .type = (t), .flags = (f), .description = (d)                                 \
    }
#define END                                                                                        \
    {                                                                                              \
        .name = NULL                                                                               \
    }

/* ---- system ---- */
static const struct inv_column system_cols[] = {
    COL("dmi_present", B, 0, "DMI/SMBIOS data is available (false on many VMs and ARM boards)"),
    COL("vendor", S, 0, "system manufacturer (sys_vendor)"),
    COL("product", S, 0, "product name"),
    COL("version", S, 0, "product version"),
    COL("serial", S, 0, "system serial number (readable by root only)"),
    COL("uuid", S, 0, "system UUID (readable by root only)"),
    COL("sku", S, 0, "product SKU"),
    COL("family", S, 0, "product family"),
    COL("board_vendor", S, 0, "mainboard manufacturer"),
    COL("board_product", S, 0, "mainboard name"),
    COL("board_serial", S, 0, "mainboard serial number (root only)"),
    COL("bios_vendor", S, 0, "firmware vendor"),
    COL("bios_version", S, 0, "firmware version"),
    COL("bios_date", S, 0, "firmware release date as the firmware writes it (MM/DD/YYYY)"),
    COL("chassis_type_id", I, 0, "SMBIOS chassis type number"),
    COL("chassis_type", S, 0, "chassis type name: desktop, laptop, notebook, server ..."),
    END,
};
const struct inv_table inv_t_system = {
    .name = "system",
    .section = "system",
    .member = NULL,
    .shape = INV_SHAPE_OBJECT,
    .description = "The machine from DMI/SMBIOS. Absent DMI gives {\"dmi_present\": false}.",
    .columns = system_cols,
};

/* ---- cpu ---- */
static const struct inv_column cpu_cols[] = {
    COL("vendor", S, 0, "vendor id: GenuineIntel, AuthenticAMD, or the ARM implementer"),
    COL("model", S, 0, "model name"),
    COL("family", I, 0, "x86 family number"),
    COL("model_id", I, 0, "x86 model number"),
    COL("stepping", I, 0, "x86 stepping"),
    COL("sockets", I, 0, "physical packages"),
    COL("cores", I, 0, "physical cores over all sockets"),
    COL("threads", I, 0, "logical CPUs (online)"),
    COL("max_mhz", I, V,
        "highest maximum frequency of any CPU (cpufreq), else the highest "
        "current frequency /proc/cpuinfo reports"),
    COL("virtualization", S, 0, "hardware virtualization: vt-x or amd-v (absent if none)"),
    COL("hypervisor", B, 0, "running under a hypervisor (the cpuid hypervisor flag)"),
    END,
};
const struct inv_table inv_t_cpu = {
    .name = "cpu",
    .section = "cpu",
    .shape = INV_SHAPE_OBJECT,
    .description = "Processors, from /proc/cpuinfo and /sys/devices/system/cpu.",
    .columns = cpu_cols,
};

/* ---- memory ---- */
static const struct inv_column memory_cols[] = {
    COL("total_bytes", I, 0, "usable RAM (MemTotal)"),
    COL("available_bytes", I, V, "RAM available for new work (MemAvailable)"),
    COL("swap_total_bytes", I, 0, "swap space"),
    COL("swap_free_bytes", I, V, "unused swap space"),
    END,
};
const struct inv_table inv_t_memory = {
    .name = "memory",
    .section = "memory",
    .shape = INV_SHAPE_OBJECT,
    .description = "Memory, from /proc/meminfo.",
    .columns = memory_cols,
};

/* ---- disks ---- */
static const struct inv_column disk_cols[] = {
    COL("name", S, KEY, "kernel name: sda, nvme0n1, vda, dm-0"),
    COL("kind", S, 0, "disk, loop, dm, md, zram, ram or other"),
    COL("model", S, 0, "model"),
    COL("vendor", S, 0, "vendor (SCSI/SATA)"),
    COL("serial", S, 0, "serial number"),
    COL("size_bytes", I, 0, "capacity"),
    COL("rotational", B, 0, "spinning disk"),
    COL("removable", B, 0, "removable medium"),
    COL("read_only", B, 0, "read-only device"),
    COL("transport", S, 0, "nvme, sata, scsi, usb, mmc, virtio, or virtual"),
    END,
};
const struct inv_table inv_t_disks_devices = {
    .name = "disks.devices",
    .section = "disks",
    .member = "devices",
    .shape = INV_SHAPE_ARRAY,
    .description = "Block devices from /sys/block with a non-zero size.",
    .columns = disk_cols,
};
static const struct inv_column part_cols[] = {
    COL("name", S, KEY, "kernel name: sda1, nvme0n1p2"),
    COL("disk", S, 0, "the block device holding it"),
    COL("number", I, 0, "partition number"),
    COL("start_sector", I, 0, "first 512-byte sector"),
    COL("size_bytes", I, 0, "size"),
    COL("read_only", B, 0, "read-only"),
    END,
};
const struct inv_table inv_t_disks_partitions = {
    .name = "disks.partitions",
    .section = "disks",
    .member = "partitions",
    .shape = INV_SHAPE_ARRAY,
    .description = "Partitions of the block devices.",
    .columns = part_cols,
};
static const struct inv_column fs_cols[] = {
    COL("mountpoint", S, KEY, "where it is mounted (the topmost mount when stacked)"),
    COL("device", S, 0, "mount source: /dev/vda1, /dev/mapper/root, server:/export"),
    COL("fstype", S, 0, "filesystem type"),
    COL("dev", S, 0, "major:minor of the filesystem"),
    COL("read_only", B, 0, "mounted read-only"),
    COL("size_bytes", I, 0, "size (statvfs; only for the live system, not under --root)"),
    COL("free_bytes", I, V, "free space (statvfs; live system only)"),
    COL("available_bytes", I, V, "space available to unprivileged users (live system only)"),
    END,
};
const struct inv_table inv_t_disks_filesystems = {
    .name = "disks.filesystems",
    .section = "disks",
    .member = "filesystems",
    .shape = INV_SHAPE_ARRAY,
    .description = "Mounted filesystems from /proc/self/mountinfo, without pseudo filesystems "
                   "(proc, sysfs, cgroup, tmpfs, devpts ...).",
    .columns = fs_cols,
};

/* ---- encryption ---- */
static const struct inv_column enc_cols[] = {
    COL("root_encrypted", B, 0, "the root filesystem sits on dm-crypt (directly or below LVM)"),
    COL("encrypted_volumes", I, 0, "dm-crypt mappings"),
    COL("encrypted_filesystems", I, 0, "mounted filesystems sitting on dm-crypt"),
    END,
};
const struct inv_table inv_t_encryption = {
    .name = "encryption.summary",
    .section = "encryption",
    .member = "summary",
    .shape = INV_SHAPE_OBJECT,
    .description = "Disk encryption summary (dm-crypt/LUKS from /sys/block/dm-*/dm).",
    .columns = enc_cols,
};
static const struct inv_column encvol_cols[] = {
    COL("name", S, KEY, "device-mapper device: dm-0"),
    COL("mapper_name", S, 0, "mapping name: /dev/mapper/<name>"),
    COL("type", S, 0, "LUKS1, LUKS2, PLAIN, BITLK, TCRYPT ... (from the dm uuid)"),
    COL("uuid", S, 0, "LUKS header UUID when the dm uuid carries one"),
    COL("backing_devices", S, 0, "comma-separated devices below it (slaves): sda3"),
    COL("mountpoints", S, 0, "comma-separated mountpoints of filesystems on it or above it"),
    COL("holds_root", B, 0, "the root filesystem is on it or above it"),
    END,
};
const struct inv_table inv_t_encryption_volumes = {
    .name = "encryption.volumes",
    .section = "encryption",
    .member = "volumes",
    .shape = INV_SHAPE_ARRAY,
    .description = "dm-crypt mappings (dm uuid starting with CRYPT-).",
    .columns = encvol_cols,
};

/* ---- network ---- */
static const struct inv_column netif_cols[] = {
    COL("name", S, KEY, "interface name"),
    COL("kind", S, 0, "ethernet, wifi, loopback, bridge, bond, vlan, tun, virtual or other"),
    COL("mac", S, 0, "hardware address"),
    COL("mtu", I, 0, "MTU"),
    COL("operstate", S, 0, "up, down, dormant, unknown ... (RFC 2863)"),
    COL("speed_mbps", I, 0, "link speed (absent when down or unknown)"),
    COL("driver", S, 0, "kernel driver"),
    END,
};
const struct inv_table inv_t_net_interfaces = {
    .name = "network.interfaces",
    .section = "network",
    .member = "interfaces",
    .shape = INV_SHAPE_ARRAY,
    .description = "Network interfaces from /sys/class/net.",
    .columns = netif_cols,
};
static const struct inv_column netaddr_cols[] = {
    COL("interface", S, KEY, "interface name"),
    COL("address", S, KEY, "IPv4 or IPv6 address"),
    COL("family", S, 0, "ipv4 or ipv6"),
    COL("prefix_len", I, 0, "prefix length"),
    COL("scope", S, 0, "global, link, host or site"),
    END,
};
const struct inv_table inv_t_net_addresses = {
    .name = "network.addresses",
    .section = "network",
    .member = "addresses",
    .shape = INV_SHAPE_ARRAY,
    .description = "Addresses: getifaddrs(3) on the live system; under --root from "
                   "/proc/net/if_inet6, /proc/net/fib_trie and /proc/net/route.",
    .columns = netaddr_cols,
};
static const struct inv_column route_cols[] = {
    COL("family", S, KEY, "ipv4 or ipv6"),
    COL("interface", S, KEY, "outgoing interface"),
    COL("gateway", S, KEY, "next hop"),
    COL("metric", I, 0, "route metric"),
    END,
};
const struct inv_table inv_t_net_routes = {
    .name = "network.routes",
    .section = "network",
    .member = "routes",
    .shape = INV_SHAPE_ARRAY,
    .description = "Default gateways from /proc/net/route and /proc/net/ipv6_route.",
    .columns = route_cols,
};
static const struct inv_column dns_cols[] = {
    COL("server", S, KEY, "name server address"),
    COL("priority", I, 0, "position in the resolver configuration, 0 first"),
    COL("source", S, 0, "file it came from"),
    END,
};
const struct inv_table inv_t_net_dns = {
    .name = "network.dns",
    .section = "network",
    .member = "dns",
    .shape = INV_SHAPE_ARRAY,
    .description = "DNS servers from /etc/resolv.conf (the systemd-resolved upstream list in "
                   "/run/systemd/resolve/resolv.conf when resolv.conf only names the stub).",
    .columns = dns_cols,
};

/* ---- battery ---- */
static const struct inv_column bat_cols[] = {
    COL("name", S, KEY, "power supply name: BAT0"),
    COL("manufacturer", S, 0, "manufacturer"),
    COL("model", S, 0, "model name"),
    COL("serial", S, 0, "serial number"),
    COL("technology", S, 0, "Li-ion, Li-poly ..."),
    COL("status", S, V, "Charging, Discharging, Full, Not charging, Unknown"),
    COL("present", B, 0, "battery present"),
    COL("capacity_percent", I, V, "charge level"),
    COL("health_percent", R, 0, "full capacity / design capacity (energy_* or charge_*)"),
    COL("cycle_count", I, 0, "charge cycles"),
    END,
};
const struct inv_table inv_t_batteries = {
    .name = "battery",
    .section = "battery",
    .member = NULL,
    .shape = INV_SHAPE_ARRAY,
    .description = "System batteries from /sys/class/power_supply (type Battery, scope not "
                   "Device). Empty on machines without one.",
    .columns = bat_cols,
};

/* ---- tpm ---- */
static const struct inv_column tpm_cols[] = {
    COL("present", B, 0, "a TPM is visible"),
    COL("device", S, 0, "kernel device: tpm0"),
    COL("version", S, 0, "2.0 or 1.2"),
    COL("manufacturer", S, 0, "manufacturer (TPM 1.2 caps; vendor id or ACPI description)"),
    COL("description", S, 0, "firmware description of the device (ACPI)"),
    END,
};
const struct inv_table inv_t_tpm = {
    .name = "tpm",
    .section = "tpm",
    .shape = INV_SHAPE_OBJECT,
    .description = "Trusted Platform Module from /sys/class/tpm. Absent gives "
                   "{\"present\": false}.",
    .columns = tpm_cols,
};

/* ---- os ---- */
static const struct inv_column os_cols[] = {
    COL("hostname", S, 0, "host name"),
    COL("id", S, 0, "os-release ID: debian, ubuntu, fedora; windows"),
    COL("name", S, 0, "os-release NAME"),
    COL("version", S, 0, "os-release VERSION_ID"),
    COL("pretty_name", S, 0, "os-release PRETTY_NAME"),
    COL("build", S, 0, "os-release BUILD_ID; Windows build"),
    COL("kernel", S, 0, "kernel release"),
    COL("arch", S, 0, "machine architecture"),
    COL("machine_id", S, 0, "machine id"),
    COL("boot_time", I, 0, "boot time, seconds since the Unix epoch"),
    COL("timezone", S, 0, "IANA time zone (/etc/localtime link, else /etc/timezone)"),
    COL("reboot_required", B, 0, "a package asked for a reboot (/run/reboot-required)"),
    END,
};
const struct inv_table inv_t_os = {
    .name = "os",
    .section = "os",
    .shape = INV_SHAPE_OBJECT,
    .description = "Operating system.",
    .columns = os_cols,
};

/* ---- users ---- */
static const struct inv_column acct_cols[] = {
    COL("name", S, KEY, "login name"),
    COL("uid", I, 0, "user id"),
    COL("gid", I, 0, "primary group id"),
    COL("full_name", S, 0, "first GECOS field"),
    COL("home", S, 0, "home directory"),
    COL("shell", S, 0, "login shell"),
    COL("can_login", B, 0, "the shell is not nologin/false"),
    COL("admin", B, 0, "uid 0, or member of sudo, wheel or admin"),
    END,
};
const struct inv_table inv_t_users_accounts = {
    .name = "users.accounts",
    .section = "users",
    .member = "accounts",
    .shape = INV_SHAPE_ARRAY,
    .description = "Local human accounts (UID_MIN..UID_MAX from /etc/login.defs) and root, "
                   "from /etc/passwd.",
    .columns = acct_cols,
};
static const struct inv_column sess_cols[] = {
    COL("user", S, KEY, "login name"),
    COL("tty", S, KEY, "terminal line: tty1, pts/0, :0"),
    COL("host", S, 0, "remote host, if any"),
    COL("login_time", I, 0, "seconds since the Unix epoch"),
    COL("pid", I, 0, "session leader process"),
    END,
};
const struct inv_table inv_t_users_sessions = {
    .name = "users.sessions",
    .section = "users",
    .member = "sessions",
    .shape = INV_SHAPE_ARRAY,
    .description = "Logged-in users: USER_PROCESS records of /run/utmp.",
    .columns = sess_cols,
};

/* ---- services ---- */
static const struct inv_column svc_cols[] = {
    COL("name", S, KEY, "unit name: ssh.service"),
    COL("description", S, 0, "unit description"),
    COL("load_state", S, 0, "loaded, not-found, masked ... (not-loaded: only a unit file)"),
    COL("active_state", S, 0, "active, inactive, failed, activating ..."),
    COL("sub_state", S, 0, "running, exited, dead ..."),
    COL("enabled", S, 0, "unit file state: enabled, disabled, static, masked ..."),
    END,
};
const struct inv_table inv_t_services = {
    .name = "services",
    .section = "services",
    .shape = INV_SHAPE_ARRAY,
    .description = "systemd service units, from org.freedesktop.systemd1 ListUnits and "
                   "ListUnitFiles over the system bus (sd-bus).",
    .columns = svc_cols,
};

/* ---- apps ---- */
static const struct inv_column app_cols[] = {
    COL("source", S, KEY, "package manager: dpkg, rpm, flatpak, snap"),
    COL("name", S, KEY, "package name (flatpak: application id)"),
    COL("arch", S, KEY, "architecture: amd64, x86_64, noarch, all ..."),
    COL("version", S, 0, "version (rpm: [epoch:]version-release)"),
    COL("status", S, 0,
        "installed, or dpkg's state for a package that is not fully "
        "installed (config-files, unpacked, half-configured ...)"),
    COL("installed_size_bytes", I, 0, "installed size"),
    COL("source_package", S, 0, "source package (dpkg Source, rpm source rpm name)"),
    COL("branch", S, 0, "flatpak branch"),
    COL("revision", S, 0, "snap revision"),
    END,
};
const struct inv_table inv_t_apps = {
    .name = "apps",
    .section = "apps",
    .shape = INV_SHAPE_ARRAY,
    .description = "Installed software from every package manager found at run time. dpkg "
                   "rows are exactly the packages `dpkg-query -W` lists (every state but "
                   "not-installed); filter on status = installed for installed ones.",
    .columns = app_cols,
};

/* ---- sections ---- */
#define TABLES(...)                                                                                \
    (const struct inv_table *const[])                                                              \
    {                                                                                              \
        __VA_ARGS__, NULL                                                                          \
    }
const struct inv_section inv_sec_system = {"system", "Hardware identity (DMI)",
                                           TABLES(&inv_t_system)};
const struct inv_section inv_sec_cpu = {"cpu", "Processors", TABLES(&inv_t_cpu)};
const struct inv_section inv_sec_memory = {"memory", "Memory", TABLES(&inv_t_memory)};
const struct inv_section inv_sec_disks = {
    "disks", "Block devices, partitions and filesystems",
    TABLES(&inv_t_disks_devices, &inv_t_disks_partitions, &inv_t_disks_filesystems)};
const struct inv_section inv_sec_encryption = {
    "encryption", "Disk encryption", TABLES(&inv_t_encryption, &inv_t_encryption_volumes)};
const struct inv_section inv_sec_network = {
    "network", "Network configuration",
    TABLES(&inv_t_net_interfaces, &inv_t_net_addresses, &inv_t_net_routes, &inv_t_net_dns)};
const struct inv_section inv_sec_battery = {"battery", "Batteries", TABLES(&inv_t_batteries)};
const struct inv_section inv_sec_tpm = {"tpm", "Trusted Platform Module", TABLES(&inv_t_tpm)};
const struct inv_section inv_sec_os = {"os", "Operating system", TABLES(&inv_t_os)};
const struct inv_section inv_sec_users = {"users", "Accounts and sessions",
                                          TABLES(&inv_t_users_accounts, &inv_t_users_sessions)};
/* ---- certificates ---- */
static const struct inv_column cert_cols[] = {
    COL("path", S, KEY, "file the certificate is in"),
    COL("store", S, 0,
        "system: an addition to the distribution's trust store (Debian's "
        "/usr/local/share/ca-certificates, Fedora's /etc/pki/ca-trust/source/anchors); "
        "firefox: a copy Firefox's enterprise policy installs (Ward's trust_root); "
        "client: a certificate a client_cert setting enrolled (/var/lib/ward/certs/<id>/)"),
    COL("managed", B, 0, "Ward put it there (a trust_root or client_cert setting)"),
    COL("subject", S, 0, "subject, RFC 2253"),
    COL("issuer", S, 0, "issuer, RFC 2253"),
    COL("serial", S, 0, "serial number, hex"),
    COL("sha256", S, 0, "SHA-256 of the DER, hex"),
    COL("not_before", I, 0, "start of validity, seconds since the Unix epoch"),
    COL("not_after", I, 0, "end of validity, seconds since the Unix epoch"),
    COL("is_ca", B, 0, "basicConstraints CA:TRUE (and keyCertSign where keyUsage is present)"),
    COL("problem", S, 0,
        "why the file is not one readable certificate (then only path, store "
        "and managed are set)"),
    END,
};
const struct inv_table inv_t_certificates = {
    .name = "certificates",
    .section = "certificates",
    .shape = INV_SHAPE_ARRAY,
    .description = "Certificates added to the system's trust stores, by Ward or by anyone "
                   "else (the distribution's own bundle is not listed), and Ward's "
                   "Firefox policy copies; one row per file. Linux only so far.",
    .columns = cert_cols,
};

const struct inv_section inv_sec_services = {"services", "System services",
                                             TABLES(&inv_t_services)};
const struct inv_section inv_sec_apps = {"apps", "Installed software", TABLES(&inv_t_apps)};
const struct inv_section inv_sec_certificates = {"certificates", "Certificates",
                                                 TABLES(&inv_t_certificates)};

const struct inv_section *const inv_sections[] = {
    &inv_sec_system,   &inv_sec_cpu,     &inv_sec_memory,       &inv_sec_disks, &inv_sec_encryption,
    &inv_sec_network,  &inv_sec_battery, &inv_sec_tpm,          &inv_sec_os,    &inv_sec_users,
    &inv_sec_services, &inv_sec_apps,    &inv_sec_certificates, NULL,
};

const struct inv_section *inv_section_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; inv_sections[i]; i++)
        if (strcmp(inv_sections[i]->name, name) == 0)
            return inv_sections[i];
    return NULL;
}

const struct inv_table *inv_table_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; inv_sections[i]; i++)
        for (size_t j = 0; inv_sections[i]->tables[j]; j++)
            if (strcmp(inv_sections[i]->tables[j]->name, name) == 0)
                return inv_sections[i]->tables[j];
    return NULL;
}

size_t inv_table_ncolumns(const struct inv_table *t)
{
    size_t n = 0;
    while (t && t->columns[n].name)
        n++;
    return n;
}

const char *inv_type_name(enum inv_type t)
{
    switch (t) {
    case INV_STRING:
        return "string";
    case INV_INT:
        return "int";
    case INV_BOOL:
        return "bool";
    case INV_REAL:
        return "real";
    }
    return "?";
}

const struct inv_column *inv_table_column(const struct inv_table *t, const char *name)
{
    for (const struct inv_column *c = t->columns; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Windows sysinfo: RtlGetVersion (looked up in ntdll, because GetVersionEx lies to
 * unmanifested programs), the CurrentVersion registry key for product name, display
 * version, build and UBR (any of which may be missing, e.g. under Wine), MachineGuid from
 * the 64-bit registry view, GetNativeSystemInfo for the architecture and GetTickCount64
 * for the boot time. The root prefix is a Linux notion and is ignored here.
 */
#define WARD_LOG_TAG "sysinfo"

#include <windows.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "platform/sysinfo.h"
#include "wstr.h"
#include "ward/error.h"
#include "ward/log.h"

typedef LONG(WINAPI *rtl_get_version_fn)(OSVERSIONINFOEXW *);

static const wchar_t cur_ver_key[] = L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion";

static int reg_string(const wchar_t *key, const wchar_t *value, char *out, size_t outlen)
{
    wchar_t buf[512];
    DWORD size = sizeof(buf) - sizeof(wchar_t);
    LSTATUS st;
    out[0] = '\0';
    st = RegGetValueW(HKEY_LOCAL_MACHINE, key, value, RRF_RT_REG_SZ | RRF_SUBKEY_WOW6464KEY, NULL,
                      buf, &size);
    if (st != ERROR_SUCCESS)
        return WARD_ENOENT;
    buf[size / sizeof(wchar_t) < 511 ? size / sizeof(wchar_t) : 511] = L'\0';
    return plat_win_wide_to_utf8_buf(buf, out, outlen);
}

static int reg_dword(const wchar_t *key, const wchar_t *value, DWORD *out)
{
    DWORD size = sizeof(*out);
    return RegGetValueW(HKEY_LOCAL_MACHINE, key, value, RRF_RT_REG_DWORD | RRF_SUBKEY_WOW6464KEY,
                        NULL, out, &size) == ERROR_SUCCESS
               ? 0
               : WARD_ENOENT;
}

static void get_version(OSVERSIONINFOEXW *vi)
{
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    FARPROC fp = ntdll ? GetProcAddress(ntdll, "RtlGetVersion") : NULL;
    rtl_get_version_fn fn;
    memset(vi, 0, sizeof(*vi));
    vi->dwOSVersionInfoSize = sizeof(*vi);
    if (!fp)
        return;
    /* GetProcAddress returns a generic FARPROC; this is the documented signature. */
    memcpy(&fn, &fp, sizeof(fn));
    if (fn(vi) != 0)
        memset(vi, 0, sizeof(*vi));
}

static const char *arch_name(WORD a)
{
    switch (a) {
    case PROCESSOR_ARCHITECTURE_AMD64:
        return "x86_64";
    case PROCESSOR_ARCHITECTURE_ARM64:
        return "aarch64";
    case PROCESSOR_ARCHITECTURE_INTEL:
        return "x86";
    case PROCESSOR_ARCHITECTURE_ARM:
        return "arm";
    default:
        return "";
    }
}

int plat_sysinfo_get(const char *root, struct plat_sysinfo *out)
{
    OSVERSIONINFOEXW vi;
    SYSTEM_INFO si;
    wchar_t host[256];
    DWORD n = sizeof(host) / sizeof(host[0]), ubr = 0, build = 0;
    char cur_build[32];

    (void)root;
    if (!out)
        return WARD_EINVAL;
    memset(out, 0, sizeof(*out));

    if (GetComputerNameExW(ComputerNameDnsHostname, host, &n) ||
        (n = sizeof(host) / sizeof(host[0]), GetComputerNameW(host, &n)))
        plat_win_wide_to_utf8_buf(host, out->hostname, sizeof(out->hostname));

    snprintf(out->os_id, sizeof(out->os_id), "windows");
    get_version(&vi);
    if (vi.dwMajorVersion) {
        snprintf(out->kernel, sizeof(out->kernel), "%lu.%lu.%lu", (unsigned long)vi.dwMajorVersion,
                 (unsigned long)vi.dwMinorVersion, (unsigned long)vi.dwBuildNumber);
        build = vi.dwBuildNumber;
    }
    if (reg_string(cur_ver_key, L"ProductName", out->os_name, sizeof(out->os_name)) != 0)
        snprintf(out->os_name, sizeof(out->os_name), "Windows");
    /* Windows 11 still says "Windows 10" in ProductName; the build number tells. */
    if (build >= 22000 && strncmp(out->os_name, "Windows 10", 10) == 0)
        out->os_name[9] = '1';
    if (reg_string(cur_ver_key, L"DisplayVersion", out->os_version, sizeof(out->os_version)) != 0 &&
        reg_string(cur_ver_key, L"ReleaseId", out->os_version, sizeof(out->os_version)) != 0 &&
        vi.dwMajorVersion)
        snprintf(out->os_version, sizeof(out->os_version), "%lu.%lu",
                 (unsigned long)vi.dwMajorVersion, (unsigned long)vi.dwMinorVersion);
    if (reg_string(cur_ver_key, L"CurrentBuild", cur_build, sizeof(cur_build)) != 0 && build)
        snprintf(cur_build, sizeof(cur_build), "%lu", (unsigned long)build);
    if (cur_build[0]) {
        if (reg_dword(cur_ver_key, L"UBR", &ubr) == 0)
            snprintf(out->os_build, sizeof(out->os_build), "%s.%lu", cur_build, (unsigned long)ubr);
        else
            snprintf(out->os_build, sizeof(out->os_build), "%s", cur_build);
    }
    snprintf(out->os_pretty, sizeof(out->os_pretty), "%s%s%s%s%s%s", out->os_name,
             out->os_version[0] ? " " : "", out->os_version, out->os_build[0] ? " (build " : "",
             out->os_build, out->os_build[0] ? ")" : "");

    GetNativeSystemInfo(&si);
    snprintf(out->arch, sizeof(out->arch), "%s", arch_name(si.wProcessorArchitecture));

    if (reg_string(L"SOFTWARE\\Microsoft\\Cryptography", L"MachineGuid", out->machine_id,
                   sizeof(out->machine_id)) != 0)
        WARD_DEBUG("no MachineGuid");

    out->boot_time = (int64_t)time(NULL) - (int64_t)(GetTickCount64() / 1000);
    return 0;
}

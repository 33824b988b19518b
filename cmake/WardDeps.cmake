# SPDX-License-Identifier: Apache-2.0
# Third-party libraries as imported targets: ward::uv, ward::curl, ward::ssl (libssl +
# libcrypto; ward::crypto too with static deps), ward::jansson, ward::z, ward::sqlite, and
# on Linux ward::systemd (sd-bus, loaded at run time).
# - Native development build: Debian's shared -dev packages through pkg-config.
# - WARD_STATIC_DEPS=ON (the Linux release build) and every Windows build: STATIC IMPORTED
#   targets from the prefix that packaging/build-deps produces (WARD_DEPS_PREFIX;
#   WARD_WINDEPS_PREFIX is the older name for Windows), linked with --gc-sections.
option(WARD_STATIC_DEPS "Link the third-party libraries statically from WARD_DEPS_PREFIX" OFF)
set(WARD_DEPS_PREFIX "" CACHE PATH "Static dependency prefix (output of packaging/build-deps)")
if(WIN32)
    set(WARD_STATIC_DEPS ON)
    if(NOT WARD_DEPS_PREFIX AND WARD_WINDEPS_PREFIX)
        set(WARD_DEPS_PREFIX ${WARD_WINDEPS_PREFIX})
    endif()
endif()

if(NOT WIN32)
    find_package(PkgConfig REQUIRED)
    find_package(Threads REQUIRED)
    # libsystemd: its headers at build time, the library only at run time. ward::systemd is
    # platform/src/linux/sdbus_dl.c, which dlopens libsystemd.so.0 on the first sd-bus call
    # (sd_notify and the journal have their own implementations), so neither build maps it
    # unless the services collector or a service/firewall setting runs.
    pkg_check_modules(WARD_SYSTEMD REQUIRED libsystemd)
    add_library(ward_sdbus_dl STATIC
        ${CMAKE_CURRENT_LIST_DIR}/../platform/src/linux/sdbus_dl.c)
    target_include_directories(ward_sdbus_dl SYSTEM PUBLIC ${WARD_SYSTEMD_INCLUDE_DIRS})
    target_link_libraries(ward_sdbus_dl PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
    add_library(ward::systemd ALIAS ward_sdbus_dl)
endif()

if(NOT WARD_STATIC_DEPS)
    pkg_check_modules(WARD_UV REQUIRED IMPORTED_TARGET libuv)
    pkg_check_modules(WARD_CURL REQUIRED IMPORTED_TARGET libcurl)
    pkg_check_modules(WARD_SSL REQUIRED IMPORTED_TARGET openssl>=3.0)
    pkg_check_modules(WARD_JANSSON REQUIRED IMPORTED_TARGET jansson)
    pkg_check_modules(WARD_Z REQUIRED IMPORTED_TARGET zlib)
    pkg_check_modules(WARD_SQLITE REQUIRED IMPORTED_TARGET sqlite3)
    foreach(dep uv curl ssl jansson z sqlite)
        string(TOUPPER ${dep} DEP)
        add_library(ward::${dep} ALIAS PkgConfig::WARD_${DEP})
    endforeach()
    return()
endif()

# Static libraries only, linked by absolute path: nothing here can resolve to a shared or
# import library (Debian's mingw zlib1.dll, the build host's libcurl.so). scripts/test-windows
# and bench/footprint/run check the result.
if(NOT WARD_DEPS_PREFIX)
    message(FATAL_ERROR "static deps: set WARD_DEPS_PREFIX (output of packaging/build-deps"
                        " --target linux|windows)")
endif()
if(NOT EXISTS ${WARD_DEPS_PREFIX}/.complete)
    message(FATAL_ERROR "${WARD_DEPS_PREFIX} is not a complete build-deps prefix")
endif()
# Our prefix goes first so Debian's mingw zlib import library cannot shadow it.
list(PREPEND CMAKE_FIND_ROOT_PATH ${WARD_DEPS_PREFIX})
set(_inc ${WARD_DEPS_PREFIX}/include)
# STATIC IMPORTED (not INTERFACE with raw paths): CMake then knows libcurl.a needs libssl.a
# after it, and orders (and repeats) the archives on every link line.
function(ward_static_dep name lib)
    cmake_parse_arguments(A "" "" "DEPS;DEFS" ${ARGN})
    set(p ${WARD_DEPS_PREFIX}/lib/${lib})
    if(NOT EXISTS ${p})
        message(FATAL_ERROR "missing ${p}: run packaging/build-deps")
    endif()
    add_library(ward::${name} STATIC IMPORTED GLOBAL)
    set_target_properties(ward::${name} PROPERTIES
        IMPORTED_LOCATION ${p}
        INTERFACE_INCLUDE_DIRECTORIES ${_inc}
        INTERFACE_LINK_LIBRARIES "${A_DEPS}"
        INTERFACE_COMPILE_DEFINITIONS "${A_DEFS}")
endfunction()
# System libraries as the dependencies' own static link lines list them (.pc files).
if(WIN32)
    set(_crypto_sys ws2_32 gdi32 crypt32 bcrypt advapi32 user32)
    set(_uv_sys ws2_32 iphlpapi userenv psapi user32 advapi32 ole32 shell32 dbghelp)
    set(_curl_sys ws2_32 crypt32 bcrypt advapi32 shell32 user32 winmm)
else()
    set(_crypto_sys Threads::Threads ${CMAKE_DL_LIBS})
    set(_uv_sys Threads::Threads ${CMAKE_DL_LIBS} rt)
    set(_curl_sys Threads::Threads)
    # Each function and datum in its own section (Ward's objects here, the dependencies' in
    # build-deps), so the linker drops what nothing calls.
    add_compile_options(-ffunction-sections -fdata-sections)
    # DT_RELR (glibc 2.36, binutils 2.38): PIE's relative relocations as a bitmap, so the
    # agent does not map (and read at every start) 450 KiB of .rela.dyn.
    add_link_options(LINKER:--gc-sections LINKER:-z,pack-relative-relocs)
endif()
ward_static_dep(z libz.a)
ward_static_dep(crypto libcrypto.a DEPS ${_crypto_sys})
ward_static_dep(ssl libssl.a DEPS ward::crypto)
ward_static_dep(uv libuv.a DEPS ${_uv_sys})
ward_static_dep(jansson libjansson.a)
ward_static_dep(sqlite libsqlite3.a)
ward_static_dep(curl libcurl.a DEPS ward::ssl ward::z ${_curl_sys} DEFS CURL_STATICLIB)
if(WIN32)
    add_library(ward::systemd INTERFACE IMPORTED GLOBAL)
endif()

# SPDX-License-Identifier: Apache-2.0
# Third-party libraries as imported targets: ward::uv, ward::curl, ward::ssl (libssl +
# libcrypto; ward::crypto too on Windows), ward::jansson, ward::z, ward::sqlite, and on Linux
# ward::systemd.
# Natively they come from Debian's -dev packages through pkg-config; for Windows from the
# static prefix that packaging/windows/build-deps produces (WARD_WINDEPS_PREFIX).
if(NOT WIN32)
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(WARD_UV REQUIRED IMPORTED_TARGET libuv)
    pkg_check_modules(WARD_CURL REQUIRED IMPORTED_TARGET libcurl)
    pkg_check_modules(WARD_SSL REQUIRED IMPORTED_TARGET openssl>=3.0)
    pkg_check_modules(WARD_JANSSON REQUIRED IMPORTED_TARGET jansson)
    pkg_check_modules(WARD_Z REQUIRED IMPORTED_TARGET zlib)
    pkg_check_modules(WARD_SQLITE REQUIRED IMPORTED_TARGET sqlite3)
    pkg_check_modules(WARD_SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
    foreach(dep uv curl ssl jansson z sqlite systemd)
        string(TOUPPER ${dep} DEP)
        add_library(ward::${dep} ALIAS PkgConfig::WARD_${DEP})
    endforeach()
else()
    # Static libraries only, linked by absolute path: nothing here can resolve to an import
    # library (Debian's mingw zlib1.dll above all). scripts/test-windows checks the result.
    if(NOT WARD_WINDEPS_PREFIX)
        message(FATAL_ERROR
            "Windows build: set WARD_WINDEPS_PREFIX (output of packaging/windows/build-deps)")
    endif()
    if(NOT EXISTS ${WARD_WINDEPS_PREFIX}/.complete)
        message(FATAL_ERROR "${WARD_WINDEPS_PREFIX} is not a complete build-deps prefix")
    endif()
    # Our prefix goes first so Debian's mingw zlib import library cannot shadow it.
    list(PREPEND CMAKE_FIND_ROOT_PATH ${WARD_WINDEPS_PREFIX})
    set(_inc ${WARD_WINDEPS_PREFIX}/include)
    # STATIC IMPORTED (not INTERFACE with raw paths): CMake then knows libcurl.a needs
    # libssl.a after it, and orders (and repeats) the archives on every link line.
    function(ward_static_dep name lib)
        cmake_parse_arguments(A "" "" "DEPS;DEFS" ${ARGN})
        set(p ${WARD_WINDEPS_PREFIX}/lib/${lib})
        if(NOT EXISTS ${p})
            message(FATAL_ERROR "missing ${p}: run packaging/windows/build-deps")
        endif()
        add_library(ward::${name} STATIC IMPORTED GLOBAL)
        set_target_properties(ward::${name} PROPERTIES
            IMPORTED_LOCATION ${p}
            INTERFACE_INCLUDE_DIRECTORIES ${_inc}
            INTERFACE_LINK_LIBRARIES "${A_DEPS}"
            INTERFACE_COMPILE_DEFINITIONS "${A_DEFS}")
    endfunction()
    # System libraries as the dependencies' own static link lines list them (.pc files).
    ward_static_dep(z libz.a)
    ward_static_dep(crypto libcrypto.a DEPS ws2_32 gdi32 crypt32 bcrypt advapi32 user32)
    ward_static_dep(ssl libssl.a DEPS ward::crypto)
    ward_static_dep(uv libuv.a
        DEPS ws2_32 iphlpapi userenv psapi user32 advapi32 ole32 shell32 dbghelp)
    ward_static_dep(jansson libjansson.a)
    ward_static_dep(sqlite libsqlite3.a)
    ward_static_dep(curl libcurl.a
        DEPS ward::ssl ward::z ws2_32 crypt32 bcrypt advapi32 shell32 user32 winmm
        DEFS CURL_STATICLIB)
    add_library(ward::systemd INTERFACE IMPORTED GLOBAL)
endif()

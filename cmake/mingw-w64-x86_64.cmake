# SPDX-License-Identifier: Apache-2.0
# Cross toolchain: Debian's gcc-mingw-w64-x86-64-win32. Tests run under wine through the
# emulator wrapper (scripts/wine-run) so ctest drives them like native ones.
# Use: cmake -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake \
#            -DWARD_WINDEPS_PREFIX=$(packaging/windows/build-deps | tail -1) ...
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)

# try_compile projects re-read this file: hand them the deps prefix too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES WARD_WINDEPS_PREFIX)

# The static deps prefix goes first, so Debian's mingw import libraries (libz-mingw-w64's
# zlib1.dll above all) can never shadow the static libraries ward.exe must contain.
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
if(WARD_WINDEPS_PREFIX)
    list(PREPEND CMAKE_FIND_ROOT_PATH ${WARD_WINDEPS_PREFIX})
endif()
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Static only: a stray -lfoo must not resolve to an import library.
set(CMAKE_FIND_LIBRARY_SUFFIXES .a)

# Source paths in __FILE__ (OpenSSL's ERR_raise, assertions) relative, not the build host's.
get_filename_component(_ward_src ${CMAKE_CURRENT_LIST_DIR}/.. ABSOLUTE)
set(CMAKE_C_FLAGS_INIT "-ffile-prefix-map=${_ward_src}/=")

get_filename_component(_ward_wine_run ${CMAKE_CURRENT_LIST_DIR}/../scripts/wine-run ABSOLUTE)
set(CMAKE_CROSSCOMPILING_EMULATOR ${_ward_wine_run})

# Static libgcc (and everything else) so every .exe imports only system DLLs; the import
# check in scripts/test-windows enforces it.
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc")

# SPDX-License-Identifier: Apache-2.0
# Hardening of every binary (the install gate of docs/security.md checks the packaged ones
# with readelf): position-independent executables, full RELRO (-z relro -z now), the
# strong stack protector, stack clash protection, CET where the compiler has it, and
# _FORTIFY_SOURCE=2 in optimised builds (glibc only fortifies when optimising, and warns
# otherwise). Sanitizer builds keep their own instrumentation instead of FORTIFY.
if(WIN32)
    return()
endif()
set(CMAKE_POSITION_INDEPENDENT_CODE ON)
include(CheckPIESupported)
check_pie_supported()
add_compile_options(-fstack-protector-strong -fstack-clash-protection)
include(CheckCCompilerFlag)
check_c_compiler_flag(-fcf-protection WARD_HAVE_CF_PROTECTION)
if(WARD_HAVE_CF_PROTECTION)
    add_compile_options(-fcf-protection)
endif()
if(NOT WARD_ASAN AND NOT WARD_UBSAN)
    add_compile_options($<$<NOT:$<CONFIG:Debug>>:-D_FORTIFY_SOURCE=2>)
endif()
add_link_options(LINKER:-z,relro LINKER:-z,now)

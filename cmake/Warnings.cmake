# SPDX-License-Identifier: Apache-2.0
# Project-wide warning flags (DESIGN section 3); -Werror when WARD_WERROR is on.
set(WARD_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla
    -Wformat=2 -Wpointer-arith -Wcast-qual -Wundef)
add_compile_options(${WARD_WARNINGS})
if(WARD_WERROR)
    add_compile_options(-Werror)
endif()
if(WIN32)
    # mingw-w64: modern API level and UTF-8 aware code paths only.
    add_compile_definitions(_WIN32_WINNT=0x0A00 WINVER=0x0A00 UNICODE _UNICODE
                            WIN32_LEAN_AND_MEAN __USE_MINGW_ANSI_STDIO=1)
else()
    add_compile_definitions(_GNU_SOURCE)
endif()

# SPDX-License-Identifier: Apache-2.0
# ASan / UBSan / libFuzzer switches. Sanitizer builds abort on the first report so ctest
# sees the failure.
set(_ward_san "")
if(WARD_ASAN)
    list(APPEND _ward_san address)
endif()
if(WARD_UBSAN)
    list(APPEND _ward_san undefined)
endif()
if(_ward_san)
    list(JOIN _ward_san "," _ward_san_list)
    add_compile_options(-fsanitize=${_ward_san_list} -fno-omit-frame-pointer
                        -fno-sanitize-recover=all)
    add_link_options(-fsanitize=${_ward_san_list})
    add_compile_definitions(WARD_SANITIZED=1)
endif()
if(WARD_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
        message(FATAL_ERROR "WARD_FUZZ needs clang (CC=clang)")
    endif()
    add_compile_options(-fsanitize=fuzzer-no-link)
endif()

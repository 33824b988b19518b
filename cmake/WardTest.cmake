# SPDX-License-Identifier: Apache-2.0
# ward_add_unit_test(NAME SOURCES ... LIBS ...): builds one test executable and registers
# every WT_TEST(case) in its sources as its own ctest test "NAME.case" (one process each).
set(WARD_TEST_TIMEOUT 60 CACHE STRING "Per-test timeout in seconds")

function(ward_add_unit_test name)
    cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
    add_executable(${name} ${A_SOURCES})
    target_link_libraries(${name} PRIVATE wtest ${A_LIBS})
    set(timeout ${WARD_TEST_TIMEOUT})
    if(A_TIMEOUT)
        set(timeout ${A_TIMEOUT})
    endif()
    set(cases "")
    foreach(src ${A_SOURCES})
        file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/${src} lines REGEX "^WT_TEST\\(")
        foreach(l ${lines})
            string(REGEX REPLACE "^WT_TEST\\(([A-Za-z0-9_]+)\\).*" "\\1" c "${l}")
            list(APPEND cases ${c})
        endforeach()
        set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
                     ${CMAKE_CURRENT_SOURCE_DIR}/${src})
    endforeach()
    if(NOT cases)
        message(FATAL_ERROR "${name}: no WT_TEST cases found")
    endif()
    foreach(c ${cases})
        add_test(NAME ${name}.${c} COMMAND ${name} ${c})
        set_tests_properties(${name}.${c} PROPERTIES TIMEOUT ${timeout}
                             LABELS "unit;${A_LABELS}")
    endforeach()
endfunction()

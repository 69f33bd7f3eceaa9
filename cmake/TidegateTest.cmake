# SPDX-License-Identifier: Apache-2.0
# tidegate_add_test(NAME SOURCES ... LIBS ...): one Catch2 v2 test binary registered with
# ctest, each TEST_CASE its own ctest test. A binary without LABELS in PROPERTIES is a unit
# test: labelled "unit" (`ctest -L unit`) and built by the target `unit_tests` (which the
# fuzz replays join), so a cross build (scripts/cross-build.sh) can build and run just those.
find_package(Catch2 REQUIRED)
include(Catch)

add_library(tidegate_catch_main STATIC ${PROJECT_SOURCE_DIR}/tests/support/catch_main.cc)
target_link_libraries(tidegate_catch_main PUBLIC Catch2::Catch2)
add_custom_target(unit_tests)

function(tidegate_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBS;PROPERTIES" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE tidegate_catch_main tidegate_warnings ${ARG_LIBS})
  target_compile_definitions(${name} PRIVATE
    TG_BINARY_DIR="${PROJECT_BINARY_DIR}" TG_SOURCE_DIR="${PROJECT_SOURCE_DIR}")
  if(TIDEGATE_FAST_TEST_BUILD)
    # On a fresh CI machine the tree with tests is compiled once and its tests run once, and
    # compiling took longer than running. A test source's own code is glue around the product
    # code, which keeps its optimization. Only Catch2 is precompiled: every test includes it
    # first, so the headers a test sees are those of a build without this option, and a
    # missing #include still fails in CI. Measured on filters_test and buffer_test (clang 14,
    # ASan+UBSan, 2 cores): 63 s of CPU to compile at -O2, 23 at -O0 with Catch2
    # precompiled; running both binaries took 14.3 s of CPU instead of 8.4.
    target_precompile_headers(${name} PRIVATE <catch2/catch.hpp>)
    target_compile_options(${name} PRIVATE -O0)
  endif()
  set(properties ${ARG_PROPERTIES})
  if(NOT "LABELS" IN_LIST properties)
    list(PREPEND properties LABELS unit)
    add_dependencies(unit_tests ${name})
  endif()
  catch_discover_tests(${name} WORKING_DIRECTORY ${PROJECT_BINARY_DIR}
    PROPERTIES ${properties})
endfunction()

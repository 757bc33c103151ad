# Helpers every folder uses: keel_library, keel_test, keel_binary.
#
# Warnings are errors on keel's own code (not on generated protobuf code,
# which gets its own target in proto/).

set(KEEL_WARNINGS -Wall -Wextra -Werror -Wno-unused-parameter
    -Wno-missing-field-initializers)

if(KEEL_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer
                      -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()
if(KEEL_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KEEL_FUZZ needs clang (libFuzzer): configure with CC=clang-16 CXX=clang++-16 (clang 14 lacks std::source_location)")
  endif()
  # -O1 with line tables only: the fuzz build is a second build of most of
  # keel inside `make test`, so it is kept cheap to compile; line tables
  # still symbolize sanitizer reports.
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined
                      -fno-sanitize-recover=undefined -fno-omit-frame-pointer
                      -O1 -gline-tables-only)
  add_link_options(-fsanitize=address,undefined)
  # keel's warnings are GCC's: clang's extra ones in the libraries stay
  # warnings here (fuzz/ itself keeps -Werror).
  list(APPEND KEEL_WARNINGS -Wno-error)
endif()

include(${CMAKE_CURRENT_LIST_DIR}/failpoints.cmake)

function(_keel_static_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}
                             ${PROJECT_BINARY_DIR})
  target_compile_options(${name} PRIVATE ${KEEL_WARNINGS})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
endfunction()

# keel_library(NAME [FAILPOINT_TWIN] SOURCES a.cc b.cc DEPS x y)
# FAILPOINT_TWIN also creates NAME_fp, the failpoint build of the same
# sources (cmake/failpoints.cmake): declare it on every library whose code
# or headers differ under KEEL_FAILPOINTS, and on every library that links
# one of those and is itself linked into keel-sim or a bug-injecting test.
function(keel_library name)
  cmake_parse_arguments(ARG "FAILPOINT_TWIN" "" "SOURCES;DEPS" ${ARGN})
  _keel_static_library(${name} SOURCES ${ARG_SOURCES} DEPS ${ARG_DEPS})
  if(ARG_FAILPOINT_TWIN)
    keel_failpoint_deps(fp_deps ${ARG_DEPS})
    _keel_static_library(${name}_fp SOURCES ${ARG_SOURCES} DEPS ${fp_deps})
    keel_register_failpoint_twin(${name})
  endif()
endfunction()

# keel_test(NAME LABEL unit SOURCES a_test.cc DEPS x [TIMEOUT s] [ARGS ...])
# Every test is labelled unit, property, sim, integration or fuzz so that
# `ctest -L unit` and friends pick a tier.
function(keel_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS;ARGS" ${ARGN})
  if(NOT ARG_LABEL MATCHES "^(unit|property|sim|integration|fuzz)$")
    message(FATAL_ERROR "keel_test(${name}): LABEL must be unit, property, sim, integration or fuzz")
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${KEEL_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest
                        GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL}
                       TIMEOUT ${ARG_TIMEOUT})
endfunction()

# keel_binary(NAME SOURCES main.cc DEPS x)
function(keel_binary name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${KEEL_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
endfunction()

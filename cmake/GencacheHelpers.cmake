# Warnings and sanitizers are interface targets every project target links.
add_library(gencache_warnings INTERFACE)
target_compile_options(gencache_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
  -Wno-missing-field-initializers
  $<$<BOOL:${GENCACHE_WERROR}>:-Werror>)

add_library(gencache_sanitizers INTERFACE)
if(GENCACHE_SANITIZE)
  target_compile_options(gencache_sanitizers INTERFACE
    -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  target_link_options(gencache_sanitizers INTERFACE -fsanitize=address,undefined)
endif()

# gencache_library(NAME SOURCES a.cpp ... DEPS target ...)
function(gencache_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE gencache_warnings gencache_sanitizers)
  if(GENCACHE_SANITIZE)
    target_link_libraries(${name} PUBLIC gencache_sanitizers)
  endif()
endfunction()

# gencache_test(NAME SOURCES a_test.cpp ... DEPS target ... LABELS unit|integration|e2e)
function(gencache_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT GENCACHE_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main
                        gencache_warnings gencache_sanitizers)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 120)
  endif()
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
  if("unit" IN_LIST ARG_LABELS)
    set_property(GLOBAL APPEND PROPERTY GENCACHE_UNIT_TESTS ${name})
  endif()
endfunction()

# Warnings, hardening and sanitizers for every veil target (STYLE.md 3.8).
set(VEIL_WARNINGS
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wformat=2 -Wvla
  -Wimplicit-fallthrough -Wstrict-prototypes -Wmissing-prototypes -Wundef)
if(VEIL_WERROR)
  list(APPEND VEIL_WARNINGS -Werror)
endif()
add_compile_options(${VEIL_WARNINGS})
add_compile_definitions(_GNU_SOURCE)

if(VEIL_HARDEN)
  add_compile_options(-fstack-protector-strong -fstack-clash-protection -fcf-protection)
  # FORTIFY needs optimisation and fights ASan's interceptors.
  if(NOT VEIL_SANITIZE AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
    add_compile_options(-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3)
  endif()
  add_link_options(-Wl,-z,relro,-z,now -Wl,-z,noexecstack)
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  include(CheckPIESupported)
  check_pie_supported()
endif()

if(VEIL_SANITIZE)
  add_compile_options(-fsanitize=${VEIL_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  add_link_options(-fsanitize=${VEIL_SANITIZE})
endif()

if(VEIL_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "VEIL_FUZZ needs clang (libFuzzer)")
  endif()
  # The library gets coverage instrumentation; only fuzz targets link the fuzzer main.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

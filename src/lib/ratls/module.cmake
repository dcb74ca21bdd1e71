# libcbor (Debian libcbor-dev ships libcbor.pc): the RA-TLS evidence extension.
pkg_check_modules(LIBCBOR REQUIRED IMPORTED_TARGET libcbor)
target_link_libraries(veil_obj PUBLIC PkgConfig::LIBCBOR)

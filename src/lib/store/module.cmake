# The store links SQLite (Debian 12: libsqlite3-dev 3.40).
pkg_check_modules(SQLITE3 REQUIRED IMPORTED_TARGET sqlite3)
target_link_libraries(veil_obj PUBLIC PkgConfig::SQLITE3)

# libevent (HTTP server, TLS through bufferevent_openssl, threads).
pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET
  libevent_core libevent_extra libevent_openssl libevent_pthreads)
target_link_libraries(veil_obj PUBLIC PkgConfig::LIBEVENT)

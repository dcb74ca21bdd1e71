# image: PNG decoding through libpng (Debian libpng-dev). Only the CLI's tensor tool uses this
# module; --as-needed keeps libpng out of the programs that never call it (veil-serve, veil-kbs).
find_package(PNG REQUIRED)
target_link_libraries(veil_obj PUBLIC "-Wl,--push-state,--as-needed" PNG::PNG "-Wl,--pop-state")

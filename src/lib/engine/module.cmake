# engine: the ONNX runtime. onnx.proto (Debian libonnx-dev) is compiled with protoc-c at build
# time; the generated code is part of veil_obj and links libprotobuf-c.
find_program(VEIL_PROTOC_C protoc-c REQUIRED)
find_file(VEIL_ONNX_PROTO onnx.proto PATHS /usr/include/onnx NO_DEFAULT_PATH REQUIRED
  DOC "onnx.proto from Debian libonnx-dev")
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)

get_filename_component(veil_onnx_proto_dir ${VEIL_ONNX_PROTO} DIRECTORY)
set(veil_onnx_gen_dir ${CMAKE_CURRENT_BINARY_DIR}/engine/gen)
add_custom_command(
  OUTPUT ${veil_onnx_gen_dir}/onnx.pb-c.c ${veil_onnx_gen_dir}/onnx.pb-c.h
  COMMAND ${CMAKE_COMMAND} -E make_directory ${veil_onnx_gen_dir}
  COMMAND ${VEIL_PROTOC_C} --c_out=${veil_onnx_gen_dir} --proto_path=${veil_onnx_proto_dir}
          ${VEIL_ONNX_PROTO}
  DEPENDS ${VEIL_ONNX_PROTO}
  COMMENT "protoc-c onnx.proto")
# Generated code is not ours to warn about.
set_source_files_properties(${veil_onnx_gen_dir}/onnx.pb-c.c PROPERTIES GENERATED TRUE
  COMPILE_OPTIONS "-w")
target_sources(veil_obj PRIVATE ${veil_onnx_gen_dir}/onnx.pb-c.c)
target_include_directories(veil_obj SYSTEM PUBLIC ${veil_onnx_gen_dir})
target_link_libraries(veil_obj PUBLIC PkgConfig::PROTOBUF_C m)

# OpenBLAS (Debian libopenblas-dev) for large float GEMMs when present; the reference kernel in
# ops.c is always built and used for small products (bench/engine/bench_sgemm compares them).
option(VEIL_OPENBLAS "Use OpenBLAS for large GEMMs in the engine when available" ON)
if(VEIL_OPENBLAS)
  pkg_check_modules(OPENBLAS IMPORTED_TARGET openblas)
  if(OPENBLAS_FOUND)
    target_compile_definitions(veil_obj PRIVATE VEIL_HAVE_OPENBLAS=1)
    target_link_libraries(veil_obj PUBLIC PkgConfig::OPENBLAS)
  endif()
endif()

# vmath.c passes vector types by value between static inline helpers (never across a real
# call): the compilers' note that their ABI differs with AVX-512 (-Wpsabi) does not apply.
set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/engine/vmath.c PROPERTIES
  COMPILE_OPTIONS "-Wno-psabi")

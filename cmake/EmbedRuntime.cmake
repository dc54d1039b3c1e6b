# Embeds the runtime headers (runtime/kiln/**.h) into a generated C++ source
# defining kiln::runtimeSources(), so that `kiln` writes self-contained
# folders wherever it is installed.
file(GLOB_RECURSE KILN_RUNTIME_HEADERS CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/runtime/kiln/*.h)
set(KILN_RUNTIME_EMBED_CPP ${CMAKE_BINARY_DIR}/generated/runtime_sources.cpp)
add_custom_command(
  OUTPUT ${KILN_RUNTIME_EMBED_CPP}
  COMMAND ${CMAKE_COMMAND} -DROOT=${CMAKE_SOURCE_DIR}/runtime
          -DOUT=${KILN_RUNTIME_EMBED_CPP}
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_runtime_script.cmake
  DEPENDS ${KILN_RUNTIME_HEADERS} ${CMAKE_SOURCE_DIR}/cmake/embed_runtime_script.cmake
  COMMENT "Embedding the runtime headers")

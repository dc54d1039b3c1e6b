# Compiles the runtime kernels (runtime/llvm/kernels.cpp over the headers of
# runtime/kiln) to LLVM bitcode once per target family of the LLVM backend,
# with the clang of the LLVM Kiln links (its bitcode must be readable by that
# LLVM), and embeds each .bc into a generated C++ source defining
# kiln::runtimeBitcode(). Sets KILN_RUNTIME_BITCODE_CPP.
# A family is a triple, optionally +ISA for a micro-kernel ISA of that
# architecture (runtime/kiln/ukernels): the backend picks the widest one the
# target CPU has (codegen/llvm_target.cpp).
set(KILN_BITCODE_TARGETS x86_64-linux-gnu x86_64-linux-gnu+avx2
    x86_64-linux-gnu+avx512 aarch64-linux-gnu thumbv7em-none-eabihf)
set(KILN_BITCODE_FLAGS_avx2 -mavx2 -mfma)
set(KILN_BITCODE_FLAGS_avx512 -mavx512f -mavx512vl -mavx512dq -mavx512bw -mavx2 -mfma)

find_program(KILN_CLANGXX NAMES clang++ PATHS ${LLVM_TOOLS_BINARY_DIR} NO_DEFAULT_PATH)
if(NOT KILN_CLANGXX)
  find_program(KILN_CLANGXX NAMES clang++-${LLVM_VERSION_MAJOR})
endif()
if(NOT KILN_CLANGXX)
  message(FATAL_ERROR "clang++-${LLVM_VERSION_MAJOR} not found: the LLVM backend's "
          "runtime bitcode needs it (Debian: apt-get install clang-${LLVM_VERSION_MAJOR}, "
          "or run tools/install-deps.sh)")
endif()
message(STATUS "Runtime bitcode compiler: ${KILN_CLANGXX}")

file(GLOB_RECURSE KILN_BITCODE_DEPS CONFIGURE_DEPENDS
     ${CMAKE_SOURCE_DIR}/runtime/kiln/kernels/*.h
     ${CMAKE_SOURCE_DIR}/runtime/kiln/ukernels/*.h)
list(APPEND KILN_BITCODE_DEPS ${CMAKE_SOURCE_DIR}/runtime/kiln/runtime.h
     ${CMAKE_SOURCE_DIR}/runtime/llvm/kernels.cpp)

set(KILN_BITCODE_FILES)
foreach(family ${KILN_BITCODE_TARGETS})
  string(REGEX REPLACE "\\+.*" "" target ${family})
  set(isa_flags)
  if(family MATCHES "\\+(.*)$")
    set(isa_flags ${KILN_BITCODE_FLAGS_${CMAKE_MATCH_1}})
  endif()
  set(bc ${CMAKE_BINARY_DIR}/generated/bitcode/kernels-${family}.bc)
  add_custom_command(
    OUTPUT ${bc}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/generated/bitcode
    COMMAND ${KILN_CLANGXX} --target=${target} ${isa_flags} -O2 -Xclang -disable-llvm-passes
            -emit-llvm -c -std=c++17
            -fno-exceptions -fno-rtti -ffp-contract=off -DKILN_FREESTANDING
            -nostdinc++ -nostdlibinc -Wall -Wextra -Werror
            -I ${CMAKE_SOURCE_DIR}/runtime
            ${CMAKE_SOURCE_DIR}/runtime/llvm/kernels.cpp -o ${bc}
    DEPENDS ${KILN_BITCODE_DEPS}
    COMMENT "Compiling the runtime kernels to LLVM bitcode for ${family}"
    VERBATIM)
  list(APPEND KILN_BITCODE_FILES ${bc})
endforeach()

set(KILN_RUNTIME_BITCODE_CPP ${CMAKE_BINARY_DIR}/generated/runtime_bitcode.cpp)
add_custom_command(
  OUTPUT ${KILN_RUNTIME_BITCODE_CPP}
  COMMAND ${CMAKE_COMMAND} "-DTARGETS=${KILN_BITCODE_TARGETS}"
          -DDIR=${CMAKE_BINARY_DIR}/generated/bitcode
          -DOUT=${KILN_RUNTIME_BITCODE_CPP}
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_bitcode_script.cmake
  DEPENDS ${KILN_BITCODE_FILES} ${CMAKE_SOURCE_DIR}/cmake/embed_bitcode_script.cmake
  COMMENT "Embedding the runtime bitcode"
  VERBATIM)

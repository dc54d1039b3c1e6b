// The runtime kernels (runtime/llvm/kernels.cpp) as LLVM bitcode, one module
// per target family, compiled and embedded in the compiler at build time
// (cmake/EmbedBitcode.cmake) for the LLVM backend.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kiln {

/// One target family's bitcode.
struct RuntimeBitcode {
  /// The triple it was compiled for (`x86_64-linux-gnu`, ...).
  std::string family;
  std::string_view bitcode;
};

/// All embedded runtime bitcode modules.
const std::vector<RuntimeBitcode> &runtimeBitcodes();

} // namespace kiln

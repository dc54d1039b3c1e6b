// The LLVM backend: a graph to LLVM IR, bitcode, an object file or assembly
// for a host or microcontroller target, with the same ABI and header as the
// C++ backend (NAME_run(inputs..., outputs..., arena)).
//
// What each op computes has one source: the runtime kernels of runtime/kiln,
// compiled to bitcode at build time (runtime/llvm/kernels.cpp) and embedded
// in the compiler. NAME_run calls one wrapper `kiln_rt_KERNEL` per
// KernelCall with a constant parameter global; LLVM's O2/O3 pipeline
// inlines and specialises the kernels on those constants (at -Os / -Oz,
// specialised or shared, whichever makes less code). docs/llvm-backend.md.
#pragma once

#include "ir/graph.h"
#include "support/file_output.h"

#include <string>
#include <vector>

namespace kiln {

/// What the LLVM backend writes beside NAME.h.
enum class LlvmEmit {
  IR,       ///< NAME.ll, textual LLVM IR
  Bitcode,  ///< NAME.bc
  Object,   ///< NAME.o
  Assembly, ///< NAME.s
};

/// LLVM backend options.
struct LlvmOptions {
  LlvmEmit emit = LlvmEmit::Object;
  /// Target triple (empty: the host's).
  std::string triple;
  /// Target CPU (empty: the target's generic CPU; `native`: the host's CPU
  /// and its features).
  std::string cpu;
  /// Target features, comma-separated `+feature` / `-feature`.
  std::string features;
  /// LLVM's optimisation pipeline and code generation level, 0 to 3.
  int optLevel = 2;
  /// Optimise for size instead (optLevel 2): 1 `-Os`, 2 `-Oz` (LLVM's Os /
  /// Oz pipeline, functions `optsize` / `minsize`).
  int sizeLevel = 0;
  /// Section of the weights constant (empty: `.rodata.kiln.NAME`).
  std::string weightsSection;
  /// Name of the model file, for the header's banner.
  std::string sourceName;
};

/// NAME.h (the C++ backend's header) and NAME.ll / .bc / .o / .s. Throws
/// kiln::Error for an unknown triple or CPU, a target family without runtime
/// bitcode, or a target that cannot emit the file asked for.
GeneratedFiles generateLlvm(const Graph &g, const LlvmOptions &options);

/// The target families that have runtime bitcode (e.g. `x86_64-linux-gnu`).
std::vector<std::string> llvmTargetFamilies();

/// The micro-kernel ISA (runtime/kiln/ukernels) of the options' target and
/// CPU: `avx512`, `avx2`, `neon`, `portable` (4-float vectors) or `scalar`.
/// Throws kiln::Error as generateLlvm does for a bad target or CPU.
std::string microKernelIsa(const LlvmOptions &options);

/// The file extension of `emit` (`ll`, `bc`, `o`, `s`).
const char *llvmEmitExtension(LlvmEmit emit);

} // namespace kiln

// The LLVM backend's targets: the target machine for a triple, CPU and
// features, and the runtime bitcode module of the target's family.
#pragma once

#include "codegen/llvm_backend.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace kiln {

/// The target machine of the options' triple (empty: the host's), CPU
/// (empty: the one clang and GCC default to for the triple, e.g. x86-64 or
/// cortex-m4 for thumbv7em; `native`: the host's, with its features) and
/// features, at the options' code generation level. Throws kiln::Error for
/// an unknown triple or CPU, a big-endian target, or features that are
/// malformed or unknown to the target (naming the close matches).
std::unique_ptr<llvm::TargetMachine> llvmTargetMachine(const LlvmOptions &o);

/// The micro-kernel ISA of runtime/kiln/ukernels that `tm` has (see
/// microKernelIsa).
std::string llvmMicroKernelIsa(const llvm::TargetMachine &tm);

/// The CPU to tune for when it is not the target CPU (the `tune-cpu`
/// function attribute; empty: none): `generic` on x86 without --cpu, as
/// clang and GCC tune.
std::string llvmTuneCpu(const LlvmOptions &o, const llvm::TargetMachine &tm);

/// The embedded runtime bitcode of `tm`'s target family parsed into `ctx`,
/// with `tm`'s triple and data layout. Throws kiln::Error when the family
/// has no runtime bitcode.
std::unique_ptr<llvm::Module> llvmRuntimeModule(const llvm::TargetMachine &tm,
                                                llvm::LLVMContext &ctx);

} // namespace kiln

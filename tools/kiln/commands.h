// The `kiln` subcommands.
#pragma once

#include "codegen/llvm_backend.h"
#include "tools/kiln/cli.h"

#include <memory>

namespace kiln::commands {

/// Loads the model named on the command line (printing warnings) and runs
/// the optimisation pipeline the options ask for; `optimizeByDefault`:
/// whether the command optimises when no -O / --passes is given.
std::unique_ptr<Graph> load(const cli::Options &o, bool optimizeByDefault);

/// The passes the options ask for, in order (empty: -O0).
std::vector<std::string> pipeline(const cli::Options &o,
                                  bool optimizeByDefault);

/// The micro-kernel ISA of the options' target and CPU (`avx512`, ...).
std::string microKernelIsa(const cli::Options &o);
/// Runs the passes the options ask for on `g`.
void optimize(Graph &g, const cli::Options &o, bool optimizeByDefault);

/// `kiln --list-passes`.
int listPasses();

/// `kiln opt FILE.kir`: parse, run passes, print.
int opt(const cli::Options &o);

/// The LLVM backend options of the command line (the -O level is LLVM's
/// too; no -O: O2).
LlvmOptions llvmOptions(const cli::Options &o);

/// `kiln compile`: C++ folder or textual IR.
int compile(const cli::Options &o);
/// `kiln build`: a static executable.
int build(const cli::Options &o);
/// `kiln --version`.
int version();
/// `kiln run`: the reference interpreter on .npy inputs.
int run(const cli::Options &o);
/// `kiln info`: per-layer parameters, MACs and shapes, and memory totals.
int info(const cli::Options &o);

} // namespace kiln::commands

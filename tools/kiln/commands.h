// The `kiln` subcommands.
#pragma once

#include "tools/kiln/cli.h"

#include <memory>

namespace kiln::commands {

/// Loads the model named on the command line, printing warnings.
std::unique_ptr<Graph> load(const cli::Options &o);

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

// Command-line parsing for the `kiln` driver.
#pragma once

#include "codegen/cpp_backend.h"
#include "frontend/model_loader.h"
#include "passes/pass_manager.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln::cli {

/// Everything the subcommands take.
struct Options {
  std::string command;
  std::string model;
  std::string output;
  std::string emit = "cpp";
  LoadOptions load;
  WeightsEmbed embed = WeightsEmbed::Incbin;
  std::string weightsSection;
  bool printLocations = false;
  /// `--input NAME=FILE` / `--output NAME=FILE` (run).
  std::vector<std::pair<std::string, std::string>> inputs, outputs;
  /// `--dump-values DIR` (run): every intermediate value as DIR/NAME.npy
  /// plus DIR/index.json.
  std::string dumpValues;
  /// build: the C++ compiler, extra flags, and where to keep the sources.
  std::string cxx;
  std::vector<std::string> cxxFlags;
  std::string keepSources;
  /// build: `cpp` (C++ backend and the system compiler) or `llvm` (an
  /// object from the LLVM backend, linked with the generated main).
  std::string backend = "cpp";
  /// The LLVM backend's target triple, CPU and features (empty: defaults).
  std::string target, cpu, features;
  /// Optimisation: -O level (-1: the command's default), an explicit
  /// --passes list, and the dump / verify instrumentation.
  int optLevel = -1;
  /// -Os (1) or -Oz (2): optimise the generated code for size (optLevel 2).
  int sizeLevel = 0;
  std::optional<std::vector<std::string>> passes;
  PassInstrumentation instr;
};

/// Parses argv; throws kiln::Error("kiln", "", message) on a usage error.
Options parse(int argc, char **argv);

/// Whether the command goes through the LLVM backend (compile
/// --emit=llvm|bc|obj|asm, build --backend=llvm).
bool usesLlvm(const Options &o);

/// The usage text.
const char *usage();

} // namespace kiln::cli

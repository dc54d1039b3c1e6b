// The C++ backend: a graph to a standalone folder (NAME.h, NAME.cpp, the
// weights, and the runtime headers they include).
#pragma once

#include "codegen/buffer_plan.h"
#include "ir/graph.h"
#include "support/file_output.h"

#include <string>

namespace kiln {

/// How weights are embedded in the generated C++.
enum class WeightsEmbed {
  /// A binary blob pulled in by the assembler (`.incbin`): compiles fast at
  /// any size. The blob sits beside NAME.cpp; compile from that folder or
  /// with `-I FOLDER`.
  Incbin,
  /// A `const float` array initialiser: portable, slow to compile when big.
  Array,
};

/// C++ backend options.
struct CppOptions {
  WeightsEmbed embed = WeightsEmbed::Incbin;
  /// Name of the model file, for the banner.
  std::string sourceName;
  /// Section of the weights (incbin only).
  std::string weightsSection;
  /// The micro-kernel ISA the pipeline packed the weights for (recorded in
  /// NAME.h).
  std::string isa = "portable";
};

/// The generated header, source, weights blob and runtime headers.
GeneratedFiles generateCpp(const Graph &g, const CppOptions &options);

/// The interface header NAME.h (NAME_run's declaration, arena and weight
/// sizes, tensor names and shapes): the same for the C++ and LLVM backends.
/// `sourceName` is the model file's name, for the banner.
std::string generateHeader(const Graph &g, const BufferPlan &plan,
                           const std::string &isa,
                           const std::string &sourceName);

/// The blob of all weights, float32 little-endian, each at its plan offset
/// (NAME.weights.bin of the C++ backend, the LLVM backend's constant).
std::string weightBlob(const Graph &g, const BufferPlan &plan);

/// The names used for each input and output parameter of NAME_run (the
/// JSON names when they are safe identifiers, else inputN / outputN).
std::vector<std::string> runParameterNames(const Graph &g);

/// A main() for a static executable running the model (`--input`,
/// `--output`, `--bench`), to compile with the generated folder.
GeneratedFile generateProgramMain(const Graph &g);

} // namespace kiln

// Entry point of the frontend: a model file (JSON + safetensors) to IR.
#pragma once

#include "ir/graph.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// Command-line choices that affect loading.
struct LoadOptions {
  /// `-D name=value` option values.
  std::map<std::string, std::string> defines;
  /// `--weights FILE`: overrides the JSON's `weights`.
  std::optional<std::string> weightsFile;
  /// Called with the weights file's path before it is read (the driver
  /// may prepare the process for a large file; see tools/kiln/huge_pages.h).
  std::function<void(const std::string &weightsPath)> beforeReadingWeights;
};

/// Reads `jsonPath` and its weights and builds the IR graph (verified).
/// Throws kiln::Error for any problem with the input; non-fatal findings
/// (unused tensors in the weights file) are appended to `warnings`.
std::unique_ptr<Graph> loadModel(const std::string &jsonPath,
                                 const LoadOptions &options,
                                 std::vector<std::string> *warnings = nullptr);

} // namespace kiln

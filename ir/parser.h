// The textual IR parser (format in docs/ir.md): the inverse of printGraph,
// so that printing, parsing and printing again gives the same text.
#pragma once

#include "ir/graph.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// Parsing options.
struct ParseOptions {
  /// Weight data: called for each `weight` line; return the data
  /// (numElements floats) or nullptr to use zeros.
  std::function<std::shared_ptr<const std::vector<float>>(
      const std::string &name, const Shape &shape)>
      weightData;
};

/// Parses one graph from `text` (reported as `file`). Every error is a
/// kiln::Error(file, "line L, column C", message) saying what was expected
/// and what was found. Ops are located at `loc(...)` when given, else at
/// "line N" of `file`. The result passes verifyGraph.
std::unique_ptr<Graph> parseGraph(const std::string &text,
                                  const std::string &file,
                                  const ParseOptions &opts = {});

} // namespace kiln

// The textual IR printer (format in docs/ir.md): one line per weight and per
// op, stable and diff-friendly.
#pragma once

#include "ir/graph.h"

#include <string>

namespace kiln {

/// Printing options.
struct PrintOptions {
  /// Append `loc("json.path")` to each op.
  bool locations = false;
};

/// The textual form of a whole graph.
std::string printGraph(const Graph &g, const PrintOptions &opts = {});

/// One op, as it appears in the graph listing (without indentation).
std::string printOp(const Op &op, const PrintOptions &opts = {});

/// `%name` or `@name` for a weight.
std::string valueRef(const Value *v);

} // namespace kiln

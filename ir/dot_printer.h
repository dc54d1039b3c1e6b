// Graphviz output of the IR (`kiln compile --emit=dot`): one node per op
// with its kind, result shape and fused epilogue, edges along data flow.
#pragma once

#include "ir/graph.h"

#include <string>

namespace kiln {

/// The graph in the DOT language.
std::string printDot(const Graph &g);

} // namespace kiln

// The reference interpreter: evaluates a graph with each op's plain-loop
// reference evaluation, independent of the runtime kernels and codegen.
#pragma once

#include "ir/graph.h"

#include <vector>

namespace kiln {

/// Evaluates `g` on `inputs` (one float32 vector per graph input, C order)
/// and returns one vector per output.
std::vector<std::vector<float>>
interpret(const Graph &g, const std::vector<std::vector<float>> &inputs);

} // namespace kiln

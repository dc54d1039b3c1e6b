// The reference interpreter: evaluates a graph with each op's plain-loop
// reference evaluation, independent of the runtime kernels and codegen.
#pragma once

#include "ir/graph.h"

#include <functional>
#include <vector>

namespace kiln {

/// Called with each op result as soon as it is computed, in op order (an
/// I32 value holds int32 bit patterns in its float-sized slots).
using ValueObserver =
    std::function<void(const Value &value, const std::vector<float> &data)>;

/// Evaluates `g` on `inputs` (one float32 vector per graph input, C order)
/// and returns one vector per output; `observe`, if given, sees every
/// intermediate value.
std::vector<std::vector<float>>
interpret(const Graph &g, const std::vector<std::vector<float>> &inputs,
          const ValueObserver &observe = nullptr);

} // namespace kiln

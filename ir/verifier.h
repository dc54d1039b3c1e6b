// The IR verifier: structural checks of a graph (operands defined before
// use, attributes of the right kinds, shapes equal to what shape inference
// gives).
#pragma once

#include "ir/graph.h"

namespace kiln {

/// Checks `g`; throws kiln::Error located at the first offending op.
void verifyGraph(const Graph &g);

} // namespace kiln
